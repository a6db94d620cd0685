"""Sweep specs: grids, ranges, seeds, TOML round trip, and bad specs that must
fail before any work, naming the field."""

import itertools
import math
import re

import numpy as np
import pytest

from v1model.cli import main
from v1model.sweep import (SpecError, load_spec, parse_spec, point_seed, resume, run,
                           zipped)
from v1model.sweep.grid import REPLICATE_DIM, values_from_range
from v1model.sweep.tomlio import dumps_toml, loads_toml


def spec_dict(study, **extra):
    data = {"study": study(), "sweep": {"x": [1.0, 2.0], "label": ["a", "b", "c"]}}
    data.update(extra)
    return data


# ----------------------------------------------------------------------------- grid
def test_point_seeds_are_seedsequence_spawn_children():
    children = np.random.SeedSequence(42).spawn(10)
    expected = [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]
    assert [point_seed(42, i) for i in range(10)] == expected
    assert len(set(expected)) == 10


def test_point_order_is_c_order_product_with_replicates_last(study):
    spec = parse_spec(spec_dict(study, n_seeds=2, seed=7))
    g = spec.grid
    assert g.dims == ("x", "label", REPLICATE_DIM) and g.shape == (2, 3, 2)
    expected = list(itertools.product([1.0, 2.0], ["a", "b", "c"], [0, 1]))
    got = [(g.parameters(i)["x"], g.parameters(i)["label"], g.replicate(i))
           for i in range(g.n_points)]
    assert got == expected
    assert [g.seed(i) for i in range(12)] == [point_seed(7, i) for i in range(12)]


def test_common_seeds_share_the_replicate_seed(study):
    g = parse_spec(spec_dict(study, n_seeds=3, common_seeds=True)).grid
    seeds = np.array([g.seed(i) for i in range(g.n_points)]).reshape(g.shape)
    for r in range(3):
        assert np.all(seeds[..., r] == point_seed(0, r))


@pytest.mark.parametrize("seed", [None, np.random.default_rng(0), np.random.SeedSequence(3)])
def test_a_root_seed_that_is_not_a_fixed_integer_says_why_a_sweep_needs_one(study, seed):
    # seed=None (fresh entropy) or a Generator, as a study's own seed takes them, was refused
    # with "must be an integer in [0, 2**63), got None", not saying why a sweep refuses
    # them: each point's seed is derived from the root, to run any point again
    with pytest.raises(SpecError, match=r"^seed: the root seed must be an integer in "
                                        r"\[0, 2\*\*63\), got .*: a sweep needs a fixed root "
                                        r"seed, from which each point's seed is derived "
                                        r"\(sweep.point_seed\), so that any point can be run "
                                        r"again with its own seed \(resume, retry-failed\); "
                                        r"give e.g. seed=0$"):
        run(study(), {"x": [1.0, 2.0]}, seed=seed, executor="serial", progress=False)


@pytest.mark.parametrize("axis, field", [
    ({"sweep": {"x": [0.3, 0.1 * 3, 0.5]}}, "sweep.x"),
    ({"sweep": {"x": [np.float64(0.3), 2.0, 0.1 * 3]}}, "sweep.x"),
    ({"zip": {"x": {"x": [0.1 * 3, 0.3], "label": ["a", "b"]}}}, "zip.x.x"),
])
def test_values_equal_up_to_float_rounding_are_refused_naming_both(study, axis, field):
    # [0.3, 0.1 * 3] were two points, the coordinate printing 0.3 0.3 (xarray, status)
    with pytest.raises(SpecError, match=r"must be distinct \(they become a coordinate\), got "
                                        r"0\.3 and 0\.30000000000000004, one value up to "
                                        r"float rounding") as info:
        parse_spec({"study": study(), **axis})
    assert info.value.field == field


def test_values_apart_by_more_than_float_rounding_stay_distinct(study):
    # a relative 1e-12 apart is not rounding (16 units in the last place are 3.6e-15), nor
    # are large integers one apart (exact), nor 0 and the smallest normal float
    grid = parse_spec({"study": study(), "sweep": {"x": [0.3, 0.3 * (1 + 1e-12), 0.0,
                                                        np.finfo(float).tiny]}}).grid
    assert grid.axes[0].params["x"] == (0.3, 0.3 * (1 + 1e-12), 0.0, np.finfo(float).tiny)
    grid = parse_spec({"study": study(), "sweep": {"n": [2**60, 2**60 + 1]}}).grid
    assert grid.axes[0].params["n"] == (2**60, 2**60 + 1)


def test_ranges_match_numpy():
    log = values_from_range({"start": 0.01, "stop": 1.0, "num": 5, "log": True}, "f")
    np.testing.assert_allclose(log, 10.0 ** np.linspace(-2, 0, 5), rtol=1e-12)
    lin = values_from_range({"start": 0.0, "stop": 1.0, "num": 3}, "f")
    assert lin == [0.0, 0.5, 1.0]
    assert values_from_range({"start": 2, "stop": 10, "step": 4}, "f") == [2, 6, 10]
    np.testing.assert_allclose(values_from_range({"start": 0.1, "stop": 0.5, "step": 0.1}, "f"),
                               [0.1, 0.2, 0.3, 0.4, 0.5], rtol=1e-12)
    assert values_from_range({"values": ["a", "b"]}, "f") == ["a", "b"]


def test_float32_values_become_the_numbers_they_read(study):
    """A float32 array of values (``np.arange(..., dtype=np.float32)``, values read from
    a float32 file) was unwrapped as it is: the coordinate, the study's argument and the
    labels of `sweep status` read 0.10000000149011612 for 0.1."""
    f32 = np.array([0.1, 0.2, 0.7], dtype=np.float32)
    spec = parse_spec({"study": study("kwargs_study"),
                       "sweep": {"x": f32, "y": {"start": np.float32(0.1),
                                                 "stop": np.float32(0.3), "num": 3}},
                       "params": {"z": np.float32(0.3), "w": [np.float32(1e-7)]}})
    x = [spec.grid.parameters(i)["x"] for i in range(0, spec.grid.n_points, 3)]
    assert x == [0.1, 0.2, 0.7] and all(type(v) is float for v in x)
    # the same float32 numbers: a study that computes in float32 gets its values back
    np.testing.assert_array_equal(np.array(x, dtype=np.float32), f32)
    assert spec.grid.axes[1].params["y"] == (0.1, 0.2, 0.3)
    assert spec.params == {"z": 0.3, "w": [1e-7]}
    assert values_from_range({"start": 0.5, "stop": np.float32(0.1), "step": np.float32(-0.2)},
                             "f") == [0.5, 0.3, 0.1]


def test_float64_values_keep_their_values_fingerprint_and_seeds(study):
    """Only float32 (and float16) scalars are read by their text: NumPy float64 and
    integer values are the Python ones, bit for bit, so that a sweep folder begun with
    them is still the same sweep (its fingerprint) with the same seeds."""
    odd = float(np.nextafter(0.1, 1.0))  # a float64 whose 17 digits matter
    as_numpy = parse_spec({"study": study(), "seed": 5,
                           "sweep": {"x": np.array([odd, 0.2]), "n": [np.int64(2), 3]}})
    as_python = parse_spec({"study": study(), "seed": 5,
                            "sweep": {"x": [odd, 0.2], "n": [2, 3]}})
    assert as_numpy.fingerprint() == as_python.fingerprint()
    assert as_numpy.grid.parameters(1) == {"x": odd, "n": 3}
    assert [as_numpy.grid.seed(i) for i in range(4)] == [point_seed(5, i) for i in range(4)]


def test_zipped_parameters_share_one_dimension(study):
    spec = parse_spec({"study": study(),
                       "sweep": {"x": [1.0, 2.0],
                                 "pair": zipped(label=["a", "b", "c"], n=[2, 3, 4])}})
    g = spec.grid
    assert g.dims == ("x", "pair") and g.shape == (2, 3)
    assert g.parameters(4) == {"x": 2.0, "label": "b", "n": 3}
    # the TOML form keeps the dimension order (written as `order`)
    again = parse_spec(loads_toml(spec.to_toml()))
    assert again.grid.dims == ("x", "pair") and again.fingerprint() == spec.fingerprint()
    ds = run(study(), {"x": [1.0, 2.0], "pair": zipped(label=["a", "b", "c"], n=[2, 3, 4])},
             executor="serial", progress=False)
    assert ds["pair"].values.tolist() == [0, 1, 2]
    assert ds["label"].dims == ("pair",) and ds["label"].values.tolist() == ["a", "b", "c"]
    assert ds["name"].sel(x=2.0).values.tolist() == ["a2", "b3", "c4"]


def test_toml_round_trip_keeps_the_sweep(study, tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(f"""
study = "{study()}"
output = "out"
seed = 3
n_seeds = 2
[params]
n = 4
log_dir = "{tmp_path}"
[sweep]
x = {{ start = 0.1, stop = 10.0, num = 3, log = true, units = "m" }}
[zip.pair]
label = ["a", "b"]
sleep = [0.0, 0.0]
[executor]
kind = "local"
workers = 2
""")
    spec = load_spec(path)
    assert spec.output == tmp_path / "out"
    assert spec.grid.units["x"] == "m"
    np.testing.assert_allclose(spec.grid.axes[0].params["x"], [0.1, 1.0, 10.0], rtol=1e-12)
    text = spec.to_toml()
    again = parse_spec(loads_toml(text))
    assert again.fingerprint() == spec.fingerprint()
    assert again.to_toml() == text
    assert again.executor == {"kind": "local", "workers": 2}


def test_output_expands_the_environment_and_refuses_unset_variables(study, tmp_path,
                                                                      monkeypatch):
    """An unset variable used to leave a folder literally named "$SCRATCH_UNSET"."""
    monkeypatch.setenv("V1MODEL_TEST_SCRATCH", str(tmp_path))
    monkeypatch.delenv("V1MODEL_TEST_UNSET", raising=False)
    spec = parse_spec({"study": study(), "sweep": {"x": [1.0]},
                       "output": "$V1MODEL_TEST_SCRATCH/a/${V1MODEL_TEST_SCRATCH}"})
    assert spec.output == tmp_path / "a" / str(tmp_path).lstrip("/")
    for output in ("$V1MODEL_TEST_UNSET/lca", "/scratch/${V1MODEL_TEST_UNSET}/lca"):
        with pytest.raises(SpecError, match=r"output: .* uses the environment variable "
                                            r"V1MODEL_TEST_UNSET, which is not set$"):
            parse_spec({"study": study(), "sweep": {"x": [1.0]}, "output": output})
    # the rule of check_path, that of every path: a "${" closing no name, set or not
    # (the sweep's own copy said "V1MODEL_TEST_SCRATCH ... is not set" of a set one)
    for output in ("$V1MODEL_TEST_SCRATCH/${V1MODEL_TEST_SCRATCH", "a/${}"):
        with pytest.raises(SpecError, match=rf"^output: '{re.escape(output)}' has a '\$\{{' "
                                            r"that is not closed after a variable name"):
            parse_spec({"study": study(), "sweep": {"x": [1.0]}, "output": output})
    assert not list(tmp_path.glob("*V1MODEL*"))


def test_dumps_toml_is_read_back_exactly():
    data = {"a": 1, "b": 0.1 + 0.2, "c": "q\"uo\\te é", "d": [1e-300, -2.5, math.inf],
            "t": {"x": True, "y": [1, 2], "inner": {"k": "v"}},
            # beyond U+FFFF (JSON's surrogate escapes are not TOML), control characters, DEL
            "emoji 🚀": "quick test 🚀 \t\n\x01\x7f", "u": ["café 😀"]}
    assert loads_toml(dumps_toml(data)) == data


# ----------------------------------------------------------------------------- bad specs
@pytest.mark.parametrize("change, field, message", [
    ({"study": "no-such-study"}, "study", "unknown study 'no-such-study'"),
    ({"sweep": {"nope": [1, 2]}}, "sweep.nope", "has no parameter 'nope'"),
    ({"params": {"nope": 1}}, "params.nope", "has no parameter 'nope'"),
    ({"sweep": {"x": []}}, "sweep.x", "the grid is empty"),
    ({"sweep": {}}, "sweep", "the grid is empty"),
    ({"sweep": {"x": {"start": 1, "stop": 0, "step": 1}}}, "sweep.x", "is empty"),
    ({"sweep": {"x": {"start": 1, "stop": 2}}}, "sweep.x", "exactly one of 'num' or 'step'"),
    ({"sweep": {"x": {"start": float("inf"), "stop": 2, "step": 1}}}, "sweep.x.start",
     "must be a finite number"),
    ({"sweep": {"x": {"start": 0, "stop": 2, "step": float("nan")}}}, "sweep.x.step",
     "non-zero finite number"),
    ({"sweep": {"x": [1, 2]}, "units": {"y": "s"}}, "units", "not swept"),
    # units label the coordinate but are not converted: tau = 10 with "ms" ran 10 s
    ({"sweep": {"x": {"values": [1, 2], "units": "mm"}}}, "sweep.x.units",
     "x is given in 'mm' but the study takes it in 'm' \\(its PARAMETER_UNITS\\); units only "
     "label the coordinate and are not converted: give the values of x in 'm'"),
    ({"sweep": {"x": [1, 2]}, "units": {"x": "cm"}}, "units.x", "given in 'cm' but the study"),
    # a unit xarray reads as a date's: every point ran, then its save was refused
    ({"sweep": {"n": [1, 2]}, "units": {"n": "seconds since onset"}}, "units.n",
     r"^units\.n: the units 'seconds since onset' of the swept parameter 'n' label its "
     r"coordinate in every point's file, where xarray reads them as encoding: units with "
     r"'since' are a date's: numbers would load as dates, text would fail to load; reword "
     r"it without 'since' \(e\.g\. 's after onset'\)$"),
    ({"sweep": {"n": {"values": [1, 2], "units": "days since start"}}}, "sweep.n.units",
     "the units 'days since start' of the swept parameter 'n'"),
    ({"zip": {"p": {"n": [1, 2], "label": {"values": ["a", "b"], "units": "trials since 0"}}},
      "sweep": {"x": [1.0]}}, "zip.p.label.units",
     r"the units 'trials since 0' of the swept parameter 'label' \(zipped along the axis "
     r"'p'\) .* text would fail to load"),
    ({"zip": {"p": {"x": {"values": [1, 2], "units": "km"}, "label": ["a", "b"]}},
      "sweep": {"n": [1]}}, "zip.p.x.units", "given in 'km' but the study takes it in 'm'"),
    # huge grids are refused before anything is allocated (one used to wrap to "0 points")
    ({"sweep": {"x": {"start": 0, "stop": 1, "num": 10**11}}}, "sweep.x.num",
     "more than a sweep can hold"),
    ({"sweep": {"x": {"start": 0, "stop": 1e12, "step": 1e-3}}}, "sweep.x",
     "more than a sweep can hold"),
    ({"sweep": {"x": [1, 2, 3, 4]}, "n_seeds": 2**62}, "sweep", "more than a sweep can hold"),
    ({"sweep": {"x": {"start": 0, "stop": 2, "num": 3, "log": True}}}, "sweep.x", "start > 0"),
    ({"sweep": {"x": [1, "a"]}}, "sweep.x", "a mix"),
    ({"sweep": {"x": [1, 1]}}, "sweep.x", "distinct"),
    ({"sweep": {"seed": [1, 2]}}, "sweep.seed", "set by the sweep itself"),
    ({"params": {"x": 1}}, "params.x", "both fixed and swept"),
    ({"zip": {"p": {"x": [1, 2], "label": ["a"]}}, "sweep": {"n": [1]}}, "zip.p",
     "same number of values"),
    ({"n_seeds": 0}, "n_seeds", "positive integer"),
    ({"seed": -1}, "seed", r"integer in \[0, 2\*\*63\), got -1"),
    ({"seed": 2**64}, "seed", r"integer in \[0, 2\*\*63\), got 18446744073709551616"),
    ({"format": "csv"}, "format", "'netcdf', 'zarr'"),
    ({"colour": "red"}, "colour", "unknown key"),
    ({"executor": {"kind": "cloud"}}, "executor.kind", "must be one of"),
    ({"executor": {"kind": "local", "cores": 4}}, "executor.cores", "unknown option"),
    ({"executor": {"kind": "local", "workers": 0}}, "executor.workers", ">= 1"),
    ({"executor": {"kind": "slurm", "memory": "4GB", "jobs": 1}}, "executor.cores", "required"),
    ({"executor": {"kind": "slurm", "cores": 2, "memory": "4GB"}}, "executor.adapt",
     "exactly one of"),
    # 3 workers of 8 // 3 = 2 threads: 6 points at a time on the 8 CPUs the job asked for
    ({"executor": {"kind": "slurm", "cores": 8, "processes": 3, "memory": "4GB", "jobs": 1}},
     "executor.processes", r"\(3\) does not divide cores \(8\): each worker process runs "
     r"cores // processes = 2 point\(s\) at a time, 6 in all, and 2 of the job's 8 CPUs "
     r"would stay idle"),
    # 8 points at a time on the 4 CPUs SLURM gave the job (--cpus-per-task=4)
    ({"executor": {"kind": "slurm", "cores": 8, "job_cpu": 4, "memory": "4GB", "jobs": 1}},
     "executor.job_cpu", r"\(4\) is below cores \(8\): each job runs cores = 8 point\(s\) "
     r"at a time on the 4 CPU\(s\) SLURM gives it"),
    # SLURM gives the job 3 GiB (--mem=3G); its workers count on 4 GB and are OOM-killed
    ({"executor": {"kind": "slurm", "cores": 2, "job_mem": "3G", "memory": "4GB", "jobs": 1}},
     "executor.job_mem", r"\('3G' = 3221225472 bytes\) is below memory \('4GB' = 4000000000 "
     r"bytes\): SLURM gives each job 3.00 GiB \(--mem\) while its workers count on 3.73 GiB"),
    # a memory request in job_extra_directives overrode job_mem (sbatch takes the last
    # --mem) or contradicted it, unchecked; PBS's resource_spec mem went unchecked
    ({"executor": {"kind": "slurm", "cores": 2, "memory": "4GB", "jobs": 1,
                   "job_extra_directives": ["--qos=normal", "--mem=2G"]}},
     "executor.job_extra_directives", r"'--mem=2G' asks SLURM for the job's memory beside "
     r"the job script's own --mem line \(from job_mem, else memory\), which it overrides or "
     r"contradicts unchecked; give it as job_mem instead \(checked against memory\)"),
    ({"executor": {"kind": "slurm", "cores": 2, "memory": "4GB", "jobs": 1, "job_mem": "8G",
                   "job_extra_directives": ["--exclusive --mem-per-cpu 1G"]}},
     "executor.job_extra_directives", r"'--mem-per-cpu 1G' asks SLURM .* give the job's "
     r"whole memory \(per CPU or GPU times their number\) as job_mem instead"),
    ({"executor": {"kind": "pbs", "cores": 2, "memory": "4GB", "jobs": 1,
                   "resource_spec": "select=1:ncpus=2:mem=2gb"}},
     "executor.resource_spec", r"\('select=1:ncpus=2:mem=2gb'\) asks for mem=2gb \(= "
     r"2147483648 bytes\), below memory \('4GB' = 4000000000 bytes\): PBS gives the first "
     r"chunk's node, where the job's workers run, 2.00 GiB while they count on 3.73 GiB"),
    ({"executor": {"kind": "pbs", "cores": 2, "memory": "4GB", "jobs": 1,
                   "job_extra_directives": ["-m abe", "-l mem=1gb"]}},
     "executor.job_extra_directives", r"'-l mem=1gb' asks PBS for memory beside the job "
     r"script's own #PBS -l line .* give it in resource_spec instead"),
    ({"executor": {"kind": "slurm", "cores": 2, "memory": "4GB", "jobs": 1,
                   "scheduler_options": {"dashbord_address": ":8787"}}},
     "executor.scheduler_options.dashbord_address",
     "not an option of dask's Scheduler \\(did you mean 'dashboard_address'\\?\\)"),
    ({"study": "TEST:no_seed"}, "study", "must accept the keyword argument"),
    ({"study": "/no/such/file.py:run"}, "study", "no such file"),
])
def test_bad_spec_names_the_field(study, calls, tmp_path, capsys, change, field, message):
    log = tmp_path / "log"  # the test studies record every call here
    log.mkdir()
    data = spec_dict(study, params={"log_dir": str(log)})
    if change.get("study", "").startswith("TEST:"):
        change = {**change, "study": study(change["study"][5:])}
    for key, value in change.items():
        if key == "params":
            data["params"] = {**data["params"], **value}
        else:
            data[key] = value
    with pytest.raises(SpecError, match=message) as info:
        parse_spec(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")
    # the runner refuses the same spec (as a TOML file) before any work: exit
    # status 2, the field named, no study call, no output folder
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml(data))
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec), "--output", str(out), "--no-progress"]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
    assert not calls(log, "start") and not out.exists()


def test_unreadable_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('study = "tiny"\n[sweep\nx = [1, 2]\n')
    with pytest.raises(SpecError, match="not valid TOML") as info:
        load_spec(path)
    assert info.value.field == str(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_spec(tmp_path / "missing.toml")


def test_registered_study_parameters_are_checked():
    with pytest.raises(SpecError, match="has no parameter 'lambda_'") as info:
        parse_spec({"study": "lca-sweep", "sweep": {"lambda_": [0.1, 0.2]}})
    assert info.value.field == "sweep.lambda_"


def test_kwargs_study_accepts_any_parameter(study):
    ds = run(study("kwargs_study"), {"a": [1.0, 2.0]}, params={"b": 10.0}, executor="serial",
             progress=False)
    np.testing.assert_array_equal(ds["total"].values, [11.0, 12.0])


@pytest.mark.parametrize("name", ["duration", "error", "replicate"])
def test_a_parameter_named_like_a_per_point_variable_is_fixed_not_swept(study, name):
    # spiking-lca's `duration` (simulated seconds) was refused even as a fixed parameter,
    # which only the spec records; swept, it would be a coordinate beside the sweep's own
    ds = run(study("kwargs_study"), {"a": [1.0, 2.0]}, params={name: 10.0}, executor="serial",
             progress=False)
    np.testing.assert_array_equal(ds["total"].values, [11.0, 12.0])
    match = ("is reserved" if name == "replicate"  # the grid's own dimension
             else f"'{name}' cannot be swept.*fixed under")
    with pytest.raises(SpecError, match=match):
        parse_spec({"study": study("kwargs_study"), "sweep": {name: [1.0, 2.0]}})


def test_interactive_function_is_refused():
    def local_study(quick=False, seed=0, x=0):  # not importable by workers
        return None

    with pytest.raises(SpecError, match="nested function"):
        run(local_study, {"x": [1, 2]}, executor="serial")


def test_output_holding_another_sweep_is_refused_before_work(study, tmp_path, calls):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out"
    params = {"log_dir": str(log)}
    run(study(), {"x": [1.0, 2.0]}, params=params, output=out, executor="serial",
        progress=False)
    before = sorted(p.name for p in (out / "points").iterdir())
    n_calls = sum(calls(log, "start").values())
    with pytest.raises(SpecError, match="holds another sweep") as info:
        run(study(), {"x": [1.0, 3.0]}, params=params, output=out, executor="serial",
            progress=False)
    assert info.value.field == "output"
    assert sum(calls(log, "start").values()) == n_calls
    assert sorted(p.name for p in (out / "points").iterdir()) == before
    other = tmp_path / "not_a_sweep"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="not a sweep folder"):
        run(study(), {"x": [1.0]}, params=params, output=other, executor="serial",
            progress=False)
    assert sum(calls(log, "start").values()) == n_calls


def test_another_sweep_into_the_folder_of_a_running_one_is_not_told_to_resume_it(
        study, tmp_path):
    """A second sweep, of another spec, into the folder of one still running was told
    "... or resume that sweep with `v1model sweep resume OUT`", which the lock then
    refused ("is in use by another run"): it says that sweep is running, and by whom."""
    import os
    import socket

    from v1model.locking import folder_lock

    out = tmp_path / "out"
    run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    with folder_lock(out):  # as the first sweep's run holds it
        with pytest.raises(SpecError, match="holds another sweep") as info:
            run(study(), {"x": [1.0, 3.0]}, output=out, executor="serial", progress=False)
    message = str(info.value)
    assert "sweep resume" not in message, message
    assert f"It is running now (held by pid {os.getpid()} on {socket.gethostname()}" \
        in message, message
    assert message.endswith("choose a new output folder"), message
    # and once it has ended, resuming it is the advice again
    with pytest.raises(SpecError, match=f"resume that sweep with `v1model sweep resume "
                                        f"{re.escape(str(out))}`"):
        run(study(), {"x": [1.0, 3.0]}, output=out, executor="serial", progress=False)


def test_a_lock_left_by_a_killed_sweep_is_not_called_running(study, tmp_path):
    """A sweep killed with SIGKILL leaves its name in the folder's `.lock`: that run is
    not "running now", and resuming it is the advice (folder_holder's staleness)."""
    import os
    import socket

    out = tmp_path / "out"
    run(study(), {"x": [1.0]}, output=out, executor="serial", progress=False)
    gone = os.fork()
    if gone == 0:  # the child ends at once
        os._exit(0)
    os.waitpid(gone, 0)  # and, reaped, its pid names no process of this host
    (out / ".lock").write_text(f"pid {gone} on {socket.gethostname()}, sweep run\n")
    with pytest.raises(SpecError, match="holds another sweep") as info:
        run(study(), {"x": [3.0]}, output=out, executor="serial", progress=False)
    assert "running now" not in str(info.value)
    assert f"resume that sweep with `v1model sweep resume {out}`" in str(info.value)


def test_another_sweep_in_the_folder_is_refused_naming_what_differs(study, tmp_path):
    out = tmp_path / "out"
    run(study(), {"x": [1.0, 2.0]}, params={"n": 3}, output=out, executor="serial",
        progress=False)

    def refusal(**changes):
        args = {"grid": {"x": [1.0, 2.0]}, "params": {"n": 3}, **changes}
        with pytest.raises(SpecError, match="holds another sweep") as info:
            run(study(), output=out, executor="serial", progress=False, **args)
        return str(info.value)

    assert "differs from this one (quick: true here, false in the folder)." in refusal(
        quick=True)
    assert ("(params.label: \"b\" here, not set in the folder; sweep.x: [1.0, 3.0] here, "
            "[1.0, 2.0] in the folder)") in refusal(grid={"x": [1.0, 3.0]},
                                                 params={"n": 3, "label": "b"})
    # many differences: the first few with their values, then the names of the rest
    text = refusal(seed=1, n_seeds=2, common_seeds=True, quick=True,
                   params={"n": 4, "label": "b"}, grid={"x": [2.0]})
    assert "(quick: true here, false in the folder; seed: 1 here, 0 in the folder; " in text
    assert text.count(" in the folder") == 3
    assert "and 4 more: common_seeds, params.n, params.label, ...)" in text


def test_values_equal_in_python_but_of_another_type_are_named_as_the_difference(
        study, tmp_path):
    """``x = [1, 2]`` after ``[1.0, 2.0]`` is another sweep (the study gets ints, its
    fingerprint differs) and was refused, but "its spec differs from this one" named
    nothing: 1 == 1.0 (and True == 1) in the comparison that finds what differs."""
    out = tmp_path / "out"
    run(study(), {"x": [1.0, 2.0]}, params={"n": 1}, output=out, executor="serial",
        progress=False)
    for grid, params, named in [
            ({"x": [1, 2]}, {"n": 1}, "(sweep.x: [1, 2] here, [1.0, 2.0] in the folder)."),
            ({"x": [1.0, 2.0]}, {"n": True}, "(params.n: true here, 1 in the folder).")]:
        with pytest.raises(SpecError, match="holds another sweep") as info:
            run(study(), grid, params=params, output=out, executor="serial", progress=False)
        assert named in str(info.value)


def test_the_same_sweep_with_its_dimensions_swapped_is_refused(study, tmp_path):
    """Point i is the i-th combination in C order over the dimensions: a second run with
    the [sweep] entries (or a Python grid's keys) in another order must not assemble the
    folder's points under other values. Its fingerprint, which sorts the keys, was the
    same, and the finished points were relabelled: y at x=2.0 was the value of x=1.0."""
    out = tmp_path / "out"
    grid = {"x": [1.0, 2.0], "label": ["a", "b", "c"]}
    ds = run(study(), grid, output=out, executor="serial", progress=False)
    for name in ("points/000001.nc", "points/000004.nc", "sweep.nc"):  # an interrupted run
        (out / name).unlink()
    swapped = {"label": grid["label"], "x": grid["x"]}
    with pytest.raises(SpecError, match=r"dimensions in another order \(\['label', 'x'\] "
                                        r"here, \['x', 'label'\] in the folder\).*"
                                        r"Give `order = \[\"x\", \"label\"\]`") as info:
        run(study(), swapped, output=out, executor="serial", progress=False)
    assert info.value.field == "output"
    assert sorted(p.name for p in (out / "points").glob("*.nc")) == [
        "000000.nc", "000002.nc", "000003.nc", "000005.nc"]
    # in the folder's order it resumes, and every point keeps its values
    again = run(study(), grid, output=out, executor="serial", progress=False)
    np.testing.assert_array_equal(again["y"].values, ds["y"].values)


def test_a_sweep_figure_that_does_not_fit_the_grid_is_a_warning(tmp_path, capsys):
    # every point ran: the exit status says so even when the study's sweep figure
    # refuses the grid (it used to end the run with status 2, "bad spec")
    module = tmp_path / "figure_study.py"
    module.write_text(
        "import xarray as xr\n"
        "def run(quick=False, seed=0, x=0.0):\n"
        "    return xr.Dataset({'y': ((), 2.0 * x)})\n"
        "def plot_sweep(ds, outdir):\n"
        "    raise ValueError('plot_sweep needs a sweep over lam')\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": f"{module}:run", "sweep": {"x": [1.0, 2.0]},
                                "executor": "serial"}))
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec), "--output", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning: no sweep figure: plot_sweep needs a sweep over lam" in captured.err
    assert "2 ok, 0 failed" in captured.out
    assert (out / "sweep.nc").exists()


def test_point_seed_and_grid_arguments_are_checked(study):
    from v1model import sweep
    from v1model.sweep import point_seed

    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="root_seed must be a non-negative integer"):
            point_seed(bad, 0)
    with pytest.raises(TypeError, match="grid must be a dict of parameter name -> values, "
                                        "got list"):
        sweep.run(study, [1, 2])


def test_integer_step_range_by_hand():
    """{start, stop, step} includes stop only when it is on the grid: 0..10 by 3 is 0, 3, 6, 9."""
    from v1model.sweep.grid import values_from_range

    assert values_from_range({"start": 0, "stop": 10, "step": 3}, "n") == [0, 3, 6, 9]
    assert values_from_range({"start": 2, "stop": 8, "step": 2}, "n") == [2, 4, 6, 8]
    assert values_from_range({"start": 0.0, "stop": 0.5, "step": 0.2}, "x") == [0.0, 0.2, 0.4]


# ------------------------------------------------------------------------ None, UTF-8


def test_none_text_in_a_spec_gives_none_as_on_the_command_line(study, tmp_path):
    """TOML has no null: "none"/"null" gives None to a parameter that takes it (default
    None), as `-p KEY=none`; a text parameter (``str | None``) gets the text; spec.toml
    keeps the text, so the sweep resumes as it began."""
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(f'study = "{study("optional")}"\noutput = "out"\n'
                         '[params]\nrate = "null"\nname = "none"\n'
                         '[sweep]\nx = [1.0, 2.0]\n[executor]\nkind = "serial"\n')
    assert main(["sweep", "run", str(spec_file)]) == 0
    assert 'rate = "null"' in (tmp_path / "out" / "spec.toml").read_text()
    (tmp_path / "out" / "points" / "000001.nc").unlink()
    ds = resume(tmp_path / "out", progress=False)  # point 1 again, from spec.toml
    assert ds.attrs["rate_is_none"] == 1 and ds.attrs["rate"] == "None"
    assert ds.attrs["name"] == "none"
    # from Python, None is taken for such a parameter and refused, naming it, for others
    ds = run(study("optional"), {"x": [1.0]}, params={"rate": None}, executor="serial",
             progress=False)
    assert ds.attrs["rate_is_none"] == 1
    with pytest.raises(SpecError, match=r"params\.x.*does not take None"):
        parse_spec({"study": study("optional"), "params": {"x": None},
                    "sweep": {"rate": [1.0, 2.0]}})
    with pytest.raises(SpecError, match=r'sweep\.rate: .*got None; give the text "none"'):
        parse_spec({"study": study("optional"), "sweep": {"rate": [None]}})


def test_the_texts_for_none_are_one_sweep_and_old_folders_still_resume(study, tmp_path,
                                                                       old_null_sweep):
    """"none", "null" and "None" give None alike to a parameter that takes it, but had
    three fingerprints: resuming with another spelling was refused as another sweep. They
    hash as "none", whose fingerprint is the one it always had (sha256 of the spec's JSON),
    and a folder begun with "null" before (its fingerprint of the text as written) still
    resumes."""
    import hashlib
    import json

    def spec(rate, name="x"):
        return parse_spec({"study": study("optional"), "params": {"rate": rate, "name": name},
                           "sweep": {"x": [1.0, 2.0]}, "executor": {"kind": "serial"}})

    what = {k: v for k, v in spec("none").what().items() if k not in ("description", "units")}
    before = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
    assert {spec(t).fingerprint() for t in ("none", "null", "None", " NULL ")} == {before[:16]}
    assert spec("none", name="none").fingerprint() != spec("none", name="null").fingerprint()
    swept = [parse_spec({"study": study("optional"), "sweep": {"rate": [t]}}).fingerprint()
             for t in ("none", "null")]
    assert swept[0] == swept[1]

    out = tmp_path / "out"
    run(study("optional"), {"x": [1.0, 2.0]}, params={"rate": "none"}, output=out,
        executor="serial", progress=False)
    stamps = sorted(p.stat().st_mtime_ns for p in (out / "points").iterdir())
    again = run(study("optional"), {"x": [1.0, 2.0]}, params={"rate": "null"}, output=out,
                executor="serial", progress=False)  # the same sweep: nothing runs
    assert again.attrs["rate_is_none"] == 1 and list(again["y"].values) == [1.0, 2.0]
    assert sorted(p.stat().st_mtime_ns for p in (out / "points").iterdir()) == stamps

    old = tmp_path / "old"
    old_null_sweep(old)  # a folder begun before the texts were spelled alike
    assert json.loads((old / "sweep.json").read_text())["fingerprint"] != before[:16]
    (old / "points" / "000001.nc").unlink()
    (old / "sweep.nc").unlink()
    resumed = resume(old, progress=False)  # was refused: "its spec.toml was edited"
    assert list(resumed["status"].values) == ["ok", "ok"] and resumed.attrs["rate_is_none"] == 1


def test_a_path_that_is_not_utf8_is_refused_naming_the_field(study, tmp_path):
    """A folder named in Latin-1 (b"caf\\xe9") cannot go into spec.toml: the spec is
    refused at once, naming the field, and leaves no folder behind."""
    import os
    import shutil

    folder = tmp_path / os.fsdecode(b"caf\xe9")
    try:
        folder.mkdir()
    except (UnicodeEncodeError, OSError):
        pytest.skip("the file system does not take a Latin-1 name")
    with pytest.raises(SpecError, match=r"^output: .*not valid UTF-8"):
        parse_spec(spec_dict(study, output=str(folder / "out")))
    shutil.copy(study().rsplit(":", 1)[0], folder / "mine.py")
    with pytest.raises(SpecError, match=r"^study: .*not valid UTF-8"):
        parse_spec(spec_dict(lambda: f"{folder / 'mine.py'}:tiny"))
    assert main(["sweep", "run", "--output", str(folder / "out2"),
                 str(_write(tmp_path / "s.toml", study))]) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["mine.py"]


def _write(path, study):
    path.write_text(dumps_toml(spec_dict(study, executor={"kind": "serial"})))
    return path


@pytest.mark.parametrize("unit", ["seconds", "s after onset"])
def test_time_units_are_refused_where_this_xarray_reads_them_as_timedeltas(
        study, unit, monkeypatch):
    """xarray versions before pydata/xarray#11173 loaded numbers in "seconds" as
    timedeltas: save_dataset refuses them there, so the spec does, naming the field."""
    from v1model import _cf_encoding

    data = {"study": study(), "sweep": {"n": [1, 2]}, "units": {"n": unit}}
    if not _cf_encoding._reads_units_as_timedelta():  # this xarray: kept as a label
        assert parse_spec(data).grid.units["n"] == unit
    monkeypatch.setattr(_cf_encoding, "_reads_units_as_timedelta", lambda: True)
    if unit != "seconds":  # no timedelta unit to xarray
        assert parse_spec(data).grid.units["n"] == unit
        return
    with pytest.raises(SpecError, match=r"^units\.n: the units 'seconds' of the swept "
                                        r"parameter 'n' .* as timedeltas; write it as a "
                                        r"symbol \(e\.g\. 's' for 'seconds'\)$"):
        parse_spec(data)


def test_a_unit_may_name_what_a_study_calls_units_of_x():
    """A study's "units of X" is relative to the user's data: naming it is no conversion
    (lam = "1" for whitened patches), while a unit contradicting "s" is refused."""
    spec = parse_spec({"study": "lca-sweep", "sweep": {"lam": [0.1, 0.2]},
                       "units": {"lam": "1"}})
    assert spec.grid.units["lam"] == "1"
    with pytest.raises(SpecError, match=r"^sweep\.tau\.units: tau is given in 'ms' but the "
                                        r"study takes it in 's'") as info:
        parse_spec({"study": "lca-sweep", "sweep": {"tau": {"values": [1, 10], "units": "ms"}}})
    assert info.value.field == "sweep.tau.units"
