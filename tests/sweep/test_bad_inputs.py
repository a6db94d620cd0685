"""Bad sweep inputs found by fuzzing the spec and the command line: each is refused
with its field named, before a sweep folder exists or is left behind."""

from pathlib import Path

import pytest

from v1model.cli import main
from v1model.sweep import SpecError, parse_spec, run
from v1model.sweep.grid import values_from_range
from v1model.sweep.tomlio import dumps_toml


@pytest.mark.parametrize("spec, field, message", [
    # stop - start beyond float's range: linspace gave NaN values, a step range an
    # OverflowError traceback from math.floor
    ({"start": -1.7e308, "stop": 1.7e308, "num": 3}, "sweep.x", "spans more than a float"),
    ({"start": -1.7e308, "stop": 1.7e308, "step": 1e308}, "sweep.x",
     "spans more than a float"),
    # a tiny step over a wide range: inf steps (OverflowError), -inf for a negative step
    ({"start": 0, "stop": 1e308, "step": 1e-308}, "sweep.x", "more than a sweep can hold"),
    ({"start": 0, "stop": 1e308, "step": -1e-308}, "sweep.x", "is empty"),
    # Python ints beyond float's range (math.isfinite raised OverflowError)
    ({"start": 0, "stop": 10**400, "num": 3}, "sweep.x.stop", "finite number"),
    ({"start": 0, "stop": 10, "step": 10**400}, "sweep.x.step", "finite number"),
])
def test_ranges_beyond_float_are_refused(spec, field, message):
    with pytest.raises(SpecError, match=message) as info:
        values_from_range(spec, "sweep.x")
    assert info.value.field == field


@pytest.mark.parametrize("executor, field, message", [
    # dask refused these only once the cluster was built, after the sweep folder was
    # made: "Could not interpret 'lots' as a byte unit", or "Nanny failed to start"
    ({"kind": "dask", "memory_limit": "lots"}, "executor.memory_limit", "'lots'"),
    ({"kind": "dask", "memory_limit": -5}, "executor.memory_limit", "got -5"),
    ({"kind": "slurm", "cores": 1, "memory": "lots", "jobs": 1}, "executor.memory", "'lots'"),
])
def test_memory_sizes_are_checked_with_the_spec(study, executor, field, message):
    with pytest.raises(SpecError, match=message) as info:
        parse_spec({"study": study(), "sweep": {"x": [1, 2]}, "executor": executor})
    assert info.value.field == field


@pytest.mark.parametrize("memory", ["auto", "2GB", "512MiB", 0, 2**30])
def test_memory_sizes_dask_takes_are_accepted(study, memory):
    spec = parse_spec({"study": study(), "sweep": {"x": [1, 2]},
                       "executor": {"kind": "dask", "memory_limit": memory}})
    assert spec.executor["memory_limit"] == memory


def test_a_dask_scheduler_that_cannot_be_reached_leaves_no_folder(study, tmp_path):
    # was: "missing port number in address 'not a url'" (no option named) and a sweep
    # folder holding the bad executor, which refused a corrected spec of another grid
    import dask

    out = tmp_path / "out"
    scheduler = dask.config.get("scheduler", None)
    # refused with the spec now, a bad spec (exit code 2): it failed as the sweep connected
    with pytest.raises(SpecError, match=r"executor.address: must be a dask scheduler address "
                                        r"such as 'tcp://HOST:PORT', got 'not a url' \(missing "
                                        r"port number"):
        run(study(), {"x": [1, 2]}, executor={"kind": "dask", "address": "not a url"},
            output=out, progress=False)
    assert not out.exists()
    # the failed client did not become the process's default scheduler (every later
    # netCDF save failed on "missing port number in address 'not a url'")
    assert dask.config.get("scheduler", None) == scheduler


def test_a_scheduler_address_without_a_port_ends_the_command_at_once(study, tmp_path):
    """`--address tcp://login1` (the port forgotten): after its one-line error the command
    waited 60 s, then printed "Exception ignored in: <function Client.__del__>" and a
    TimeoutError traceback: the half-made dask Client was collected at exit, after its
    event loop had stopped."""
    import os
    import subprocess
    import sys

    import v1model

    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": study(), "sweep": {"x": [1, 2]},
                                "executor": {"kind": "serial"}}))
    root = str(Path(v1model.__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "v1model", "sweep", "run", str(spec), "--output",
         str(tmp_path / "out"), "--address", "tcp://localhost", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    # a bad spec, refused before any connection (it was exit code 1, as a start failure)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip() == (
        "v1model: error: executor.address: must be a dask scheduler address such as "
        "'tcp://HOST:PORT', got 'tcp://localhost' (missing port number in address "
        "'localhost')")
    assert not (tmp_path / "out").exists()


def test_an_empty_output_option_is_refused(study, tmp_path, monkeypatch, capsys):
    # --output '' was the current folder: an empty one became the sweep folder unsaid
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": study(), "sweep": {"x": [1, 2]},
                                "executor": {"kind": "serial"}}))
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["sweep", "run", str(spec), "--output", "", "--no-progress"]) == 2
    assert "error: output: must be a folder path, got ''" in capsys.readouterr().err
    assert not any(here.iterdir())


def test_an_output_that_is_a_file_is_refused_by_name(study, tmp_path, capsys):
    # was "v1model: error: [Errno 20] Not a directory: '.../notes.txt/sweep.nc'", exit 1
    # (a failed run), from the look for an earlier result before the folder was checked
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": study(), "sweep": {"x": [1, 2]},
                                "executor": {"kind": "serial"}}))
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert main(["sweep", "run", str(spec), "--output", str(notes), "--no-progress"]) == 2
    assert f"error: output: {str(notes)!r} is a file" in capsys.readouterr().err
    assert notes.read_text() == "my notes"


def test_a_folder_given_as_the_spec_is_said_to_be_a_folder(study, tmp_path, monkeypatch,
                                                           capsys):
    """`v1model sweep run .` said "spec: no such file: '.'" of a folder that is there; a
    sweep folder gets the command that continues it."""
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "run", "."]) == 2
    assert capsys.readouterr().err.strip() == (
        "v1model: error: spec: '.' is a folder; a sweep spec is a TOML file (e.g. "
        "examples/sweeps/lca_sweep.toml)")
    run(study(), {"x": [1.0]}, output=tmp_path / "my sweep", executor="serial",
        progress=False)
    assert main(["sweep", "run", "my sweep"]) == 2
    assert capsys.readouterr().err.strip() == (
        "v1model: error: spec: 'my sweep' is a folder; a sweep spec is a TOML file (e.g. "
        "examples/sweeps/lca_sweep.toml); to continue the sweep in it: `v1model sweep "
        "resume 'my sweep'`")


def test_threads_that_load_a_study_file_together_all_get_its_function(tmp_path):
    # the threads of a dask worker (threads_per_worker > 1) load a "file.py:function"
    # study at their first points together: all but the first took the module while it
    # was still executing, and failed with "module ... has no attribute 'run'"
    import threading

    from v1model.sweep.studyref import StudyRef

    path = tmp_path / "slow_import_study.py"
    path.write_text("import time\ntime.sleep(0.5)  # a heavy import\n\n"
                    "def run(quick=False, seed=0, x=1.0):\n    return x\n")
    found, errors = [], []

    def load():
        try:
            found.append(StudyRef(f"{path}:run").function())
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and len(found) == 4 and len({id(f) for f in found}) == 1


def test_an_executor_override_drops_the_options_it_replaces(study, tmp_path, monkeypatch,
                                                            capsys):
    """A cluster's spec run on a laptop with `--executor serial`: its SLURM options are
    dropped, so they must not be checked here. `log_directory = "$SCRATCH/logs"` was
    refused ("uses the environment variable SCRATCH, which is not set"), so the
    override could not be used where it is meant for."""
    import xarray as xr

    monkeypatch.delenv("SCRATCH", raising=False)
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({
        "study": study(), "sweep": {"x": [1.0, 2.0]},
        "executor": {"kind": "slurm", "cores": 2, "memory": "4GB", "jobs": 1,
                     "log_directory": "$SCRATCH/logs"}}))
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec), "--executor", "serial", "--output", str(out),
                 "--no-progress"]) == 0, capsys.readouterr().err
    ds = xr.load_dataset(out / "sweep.nc")
    assert ds["x"].values.tolist() == [1.0, 2.0]
    assert list(ds["status"].values) == ["ok", "ok"]
    assert '"kind": "serial"' in ds.attrs["sweep_executor"]
    # without the override, the spec's own executor is checked, and refused by name
    assert main(["sweep", "run", str(spec), "--output", str(tmp_path / "other"),
                 "--dry-run"]) == 2
    assert "executor.log_directory: '$SCRATCH/logs' uses the environment variable " \
           "SCRATCH" in capsys.readouterr().err


def test_a_dry_run_refuses_an_output_the_run_cannot_create(study, tmp_path, monkeypatch,
                                                           capsys):
    """`sweep run --dry-run` said a spec was fine whose run was then refused at once
    (exit 2) for an output it could not create: under a file, or on a read-only file
    system (here simulated: root may write anywhere else). It gives the run's message
    now, and still writes nothing."""
    import os

    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": study(), "sweep": {"x": [1.0, 2.0]},
                                "executor": "serial"}))
    (tmp_path / "a file").write_text("")
    under_file = tmp_path / "a file" / "out"
    for args in (["--dry-run"], ["--no-progress"]):  # the dry run says what the run says
        assert main(["sweep", "run", str(spec), "--output", str(under_file), *args]) == 2
        assert capsys.readouterr().err == (f"v1model: error: output: cannot write in "
                                           f"{str(under_file)!r}: Not a directory\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
        False if Path(path) == tmp_path / "locked" else real_access(path, mode, **kw)))
    (tmp_path / "locked").mkdir()
    out = tmp_path / "locked" / "new" / "out"
    assert main(["sweep", "run", str(spec), "--output", str(out), "--dry-run"]) == 2
    assert capsys.readouterr().err == (f"v1model: error: output: cannot write in "
                                       f"{str(out)!r}: Permission denied\n")
    assert list((tmp_path / "locked").iterdir()) == []
    # a writable place passes, and is not created by the dry run
    assert main(["sweep", "run", str(spec), "--output", str(tmp_path / "new" / "out"),
                 "--dry-run"]) == 0
    assert not (tmp_path / "new").exists()


def test_a_dry_run_refuses_to_resume_an_unfinished_sweep_in_a_read_only_folder(
        study, tmp_path, monkeypatch, capsys):
    """`sweep run --dry-run` checked only a new output folder: an unfinished sweep in a
    read-only folder passed (exit 0) and its run was refused at the lock ("cannot write
    in ..."). A finished one still passes: the run loads its result, writing nothing."""
    import os

    spec, out = tmp_path / "spec.toml", tmp_path / "out"
    spec.write_text(dumps_toml({"study": study(), "sweep": {"x": [1.0, 2.0]},
                                "executor": "serial"}))
    assert main(["sweep", "run", str(spec), "--output", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    real_access = os.access  # a read-only mount (as root, chmod would not do)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if (
        mode & os.W_OK and str(path).startswith(str(out))) else real_access(path, mode, **kw))
    assert main(["sweep", "run", str(spec), "--output", str(out), "--dry-run"]) == 0
    capsys.readouterr()
    (out / "points" / "000000.nc").unlink()  # one point pending
    (out / "sweep.nc").unlink()
    assert main(["sweep", "run", str(spec), "--output", str(out), "--dry-run"]) == 2
    assert capsys.readouterr().err == (f"v1model: error: output: cannot write in "
                                       f"{str(out)!r}: Permission denied\n")


@pytest.mark.parametrize("address", ["tcp://login1", "login1", "tcp://login1:abc", "tls://h"])
def test_a_scheduler_address_without_a_port_is_a_bad_spec(study, address):
    # refused only when the sweep connected: exit code 1, as a scheduler that is down
    pytest.importorskip("distributed")
    with pytest.raises(SpecError, match=f"must be a dask scheduler address such as "
                                        f"'tcp://HOST:PORT', got '{address}'") as info:
        parse_spec({"study": study(), "sweep": {"x": [1, 2]},
                    "executor": {"kind": "dask", "address": address}})
    assert info.value.field == "executor.address"


@pytest.mark.parametrize("address", ["tcp://login1:8786", "login1:8786", "tls://[::1]:8786",
                                     "inproc://10.0.0.1/123/1"])
def test_scheduler_addresses_dask_takes_are_accepted(study, address):
    spec = parse_spec({"study": study(), "sweep": {"x": [1, 2]},
                       "executor": {"kind": "dask", "address": address}})
    assert spec.executor["address"] == address


@pytest.mark.parametrize("output", ["", "  "])
@pytest.mark.parametrize("call", ["run", "resume", "retry_failed", "status", "load"])
def test_an_empty_or_blank_output_is_refused_naming_it(study, tmp_path, monkeypatch, output,
                                                       call):
    # run(output="") said "output must be a file name (str or os.PathLike), got ''" (a
    # TypeError, asking for a file); run(output="  ") made a sweep folder named "  " in
    # the current one, which status("  ") then read
    import re

    from v1model import sweep

    monkeypatch.chdir(tmp_path)
    args = ((study(), {"x": [1.0]}) if call == "run" else ())
    kwargs = {"executor": "serial", "progress": False} if call == "run" else {}
    with pytest.raises(SpecError, match=rf"^output: must be a folder path, got "
                                        rf"{re.escape(repr(output))}$"):
        getattr(sweep, call)(*args, output=output, **kwargs)
    assert not any(tmp_path.iterdir())


def test_a_blank_output_in_a_spec_is_refused(study, tmp_path):
    # it was a folder named "  " beside the spec file
    with pytest.raises(SpecError, match=r"^output: must be a folder path, got '  '$"):
        parse_spec({"study": study(), "sweep": {"x": [1.0]}, "output": "  "},
                   source=tmp_path / "spec.toml")
