"""Checks added by a mutation-testing audit of v1model.sweep: each one pins a behaviour
that a plausible slip in the code (a flipped comparison, a dropped check, a wrong default)
left untested, against values written out by hand, the documented defaults and messages,
or the files and records read back (xarray, json)."""

import io

import numpy as np
import pytest
import xarray as xr

from v1model.sweep import SpecError, parse_spec, point_seed
from v1model.sweep.grid import Grid, make_axis, values_from_range
from v1model.sweep.spec import spec_differences
from v1model.sweep.tomlio import loads_toml


# ----------------------------------------------------------------------------- ranges
def test_a_values_table_needs_a_list_not_a_string():
    """{values = "abc"} is not three one-letter values: the field and the value are named."""
    with pytest.raises(SpecError, match=r"must be a list, got 'abc'") as info:
        values_from_range({"values": "abc"}, "sweep.x")
    assert info.value.field == "sweep.x.values"
    assert values_from_range({"values": ("a", "b"), "units": "m"}, "sweep.x") == ["a", "b"]


def test_a_range_with_an_unknown_key_is_refused_naming_the_key():
    """A typo such as "nun" must not be ignored (the range would then miss 'num')."""
    with pytest.raises(SpecError, match=r"unknown key\(s\) \['colour', 'nun'\] in a range"
                       ) as info:
        values_from_range({"start": 0, "stop": 1, "num": 2, "nun": 3, "colour": 1}, "sweep.x")
    assert info.value.field == "sweep.x"


@pytest.mark.parametrize("num", [0, -2, 1.5, True, "3"])
def test_num_must_be_a_positive_integer(num):
    with pytest.raises(SpecError, match=f"must be a positive integer, got {num!r}") as info:
        values_from_range({"start": 0.0, "stop": 1.0, "num": num}, "sweep.lam")
    assert info.value.field == "sweep.lam.num"


def test_a_range_of_one_value_is_its_start():
    """num = 1 is valid: numpy.linspace(2, 5, 1) and geomspace(2, 5, 1) are [2.0]."""
    assert values_from_range({"start": 2, "stop": 5, "num": 1}, "sweep.x") == [2.0]
    assert values_from_range({"start": 2, "stop": 5, "num": 1, "log": True}, "f") == [2.0]


def test_a_range_by_step_includes_a_stop_that_rounding_puts_just_past_it():
    """(0.3 - 0) / 0.1 is 2.9999999999999996 in floats: the stop is still included, and
    the values are the ones written (0.3, not 0.30000000000000004: they are coordinates
    that ``sel`` looks up)."""
    assert values_from_range({"start": 0.0, "stop": 0.3, "step": 0.1}, "f") == [
        0.0, 0.1, 0.2, 0.3]
    assert values_from_range({"start": 0.7, "stop": 0.1, "step": -0.2}, "f") == [
        0.7, 0.5, 0.3, 0.1]


def test_a_log_range_by_step_is_refused():
    """log = true only goes with num (geomspace); with step it would silently be linear."""
    with pytest.raises(SpecError, match="a log range is given by 'num', not 'step'") as info:
        values_from_range({"start": 1, "stop": 100, "step": 10, "log": True}, "sweep.x")
    assert info.value.field == "sweep.x.log"


# ----------------------------------------------------------------------------- grid
def test_grid_defaults_are_the_documented_ones():
    """Grid(axes): n_seeds 1, root_seed 0, common_seeds False (the class docstring)."""
    axis = make_axis("x", [1.0, 2.0], "sweep.x")
    grid = Grid((axis,))
    assert (grid.n_seeds, grid.root_seed, grid.common_seeds) == (1, 0, False)
    assert grid.dims == ("x",) and grid.shape == (2,)
    assert [grid.seed(i) for i in range(2)] == [point_seed(0, 0), point_seed(0, 1)]


def test_a_parameter_swept_in_sweep_and_in_a_zip_group_is_refused(study):
    with pytest.raises(SpecError, match=r"parameter\(s\) \['x'\] are swept twice") as info:
        parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]},
                    "zip": {"pair": {"x": [3.0, 4.0], "label": ["a", "b"]}}})
    assert info.value.field == "sweep"


def test_common_seeds_without_replicates_give_every_point_the_replicate_0_seed():
    """n_seeds = 1: every point is replicate 0, so common seeds give all point_seed(root, 0)."""
    axis = make_axis("x", [1.0, 2.0, 3.0], "sweep.x")
    grid = Grid((axis,), n_seeds=1, root_seed=9, common_seeds=True)
    assert [grid.replicate(i) for i in range(3)] == [0, 0, 0]
    assert [grid.seed(i) for i in range(3)] == [point_seed(9, 0)] * 3


def test_grid_coordinates_and_their_attrs_by_hand():
    """A swept parameter's coordinate says "swept parameter NAME" (with its unit); a zip group
    not named after a parameter is indexed 0..n-1 and names its parameters; each zipped
    parameter is a coordinate along the group's dimension, with its unit."""
    lam = make_axis("lam", {"values": [0.1, 0.2], "units": "1"}, "sweep.lam")
    pair = make_axis("pair", {"h": [8, 12, 16], "w": [4, 6, 8]}, "zip.pair", {"w": "px"})
    coords = Grid((lam, pair), n_seeds=2).coords()
    assert list(coords) == ["lam", "pair", "h", "w", "replicate"]
    dim, values, attrs = coords["lam"]
    assert dim == "lam" and values.tolist() == [0.1, 0.2]
    assert attrs == {"long_name": "swept parameter lam", "units": "1"}
    dim, values, attrs = coords["pair"]
    assert dim == "pair" and values.tolist() == [0, 1, 2]
    assert attrs == {"long_name": "index along the zipped parameters h, w"}
    assert coords["h"][0] == "pair" and coords["h"][1].tolist() == [8, 12, 16]
    assert coords["h"][2] == {"long_name": "swept parameter h (zipped along pair)"}
    assert coords["w"][2] == {"long_name": "swept parameter w (zipped along pair)",
                              "units": "px"}
    assert coords["replicate"][1].tolist() == [0, 1] and coords["replicate"][2]["units"] == "1"


# ----------------------------------------------------------------------------- spec
def test_units_are_not_named_among_the_differences_of_another_sweep(study):
    """Units do not enter the fingerprint, so a folder differing in units and grid is named
    for its grid alone."""
    # n: the study declares no unit for it (x is in "m", which a spec may not contradict)
    here = parse_spec({"study": study(), "sweep": {"n": [2, 3]}, "units": {"n": "cm"}})
    there = parse_spec({"study": study(), "sweep": {"n": [2, 4]}, "units": {"n": "mm"},
                        "description": "old"})
    assert spec_differences(here, loads_toml(there.to_toml())) == {
        "sweep.n": ("[2, 3]", "[2, 4]")}


def test_the_root_seed_takes_any_integer_below_two_to_the_63(study):
    """[0, 2**63): the largest int64 is a valid root seed, 2**63 is not."""
    for seed in (127, 2**40, 2**63 - 1):
        spec = parse_spec({"study": study(), "sweep": {"x": [1.0]}, "seed": seed})
        assert spec.grid.root_seed == seed
        assert spec.grid.seed(0) == point_seed(seed, 0)
    with pytest.raises(SpecError, match=r"got 9223372036854775808"):
        parse_spec({"study": study(), "sweep": {"x": [1.0]}, "seed": 2**63})


def test_a_unit_that_is_not_a_string_is_refused_naming_the_parameter(study):
    with pytest.raises(SpecError, match="must be a string, got 3") as info:
        parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]}, "units": {"x": 3}})
    assert info.value.field == "units.x"


def test_units_of_zipped_parameters_are_accepted_and_recorded(study):
    """[units] may name a parameter of a [zip.NAME] group: it is swept."""
    spec = parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]},
                       "zip": {"pair": {"label": ["a", "b"], "n": [2, 3]}},
                       "units": {"n": "1", "x": "m"}})
    assert spec.grid.units == {"x": "m", "n": "1"}
    assert spec.grid.coords()["n"][2]["units"] == "1"


def test_a_zip_dimension_named_like_a_fixed_parameter_is_refused(study):
    """[zip.n] (parameters x and label) would give the result a dimension 'n' beside the fixed
    parameter n = 4 that the spec records."""
    with pytest.raises(SpecError, match="dimension name 'n' is already used") as info:
        parse_spec({"study": study(), "params": {"n": 4},
                    "zip": {"n": {"x": [1.0, 2.0], "label": ["a", "b"]}}})
    assert info.value.field == "zip.n"
    with pytest.raises(SpecError, match="dimension name 'status' is already used"):
        parse_spec({"study": study(), "zip": {"status": {"x": [1.0, 2.0], "n": [1, 2]}}})


def test_a_relative_log_directory_is_relative_to_the_spec_file(study, tmp_path, monkeypatch):
    """As output is: a job's log folder given as "logs" in /a/b/spec.toml is /a/b/logs, and
    its environment variables are expanded here. No shell reads the #SBATCH / #PBS lines
    the folder goes in, and dask-jobqueue creates it on this machine: "$SCRATCH/logs" left
    as it was became a folder named "$SCRATCH" in the current directory."""
    source = tmp_path / "specs" / "s.toml"
    executor = {"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1}
    spec = parse_spec({"study": study(), "sweep": {"x": [1.0]},
                       "executor": {**executor, "log_directory": "logs"}}, source=source)
    assert spec.executor["log_directory"] == str(tmp_path / "specs" / "logs")
    monkeypatch.setenv("SCRATCH", str(tmp_path / "scratch"))
    spec = parse_spec({"study": study(), "sweep": {"x": [1.0]},
                       "executor": {**executor, "log_directory": "$SCRATCH/logs"}},
                      source=source)
    assert spec.executor["log_directory"] == str(tmp_path / "scratch" / "logs")
    monkeypatch.delenv("SCRATCH")
    with pytest.raises(SpecError, match=r"'\$SCRATCH/logs' uses the environment variable "
                                        r"SCRATCH, which is not set$") as info:
        parse_spec({"study": study(), "sweep": {"x": [1.0]},
                    "executor": {**executor, "log_directory": "$SCRATCH/logs"}},
                   source=source)
    assert info.value.field == "executor.log_directory"


def test_printing_a_job_script_leaves_no_log_folder_behind(tmp_path, monkeypatch):
    """dask-jobqueue creates the log folder with its parents: `sweep jobscript` removed
    the folder itself but left the parents it had created."""
    pytest.importorskip("dask_jobqueue")
    from v1model.sweep.executors import make_executor

    monkeypatch.chdir(tmp_path)
    script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                            "log_directory": str(tmp_path / "a" / "b" / "logs")}).job_script()
    assert f"#SBATCH -e {tmp_path}/a/b/logs/" in script
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["quick", "common_seeds"])
def test_flags_must_be_booleans(study, key):
    with pytest.raises(SpecError, match="must be true or false, got 'yes'") as info:
        parse_spec({"study": study(), "sweep": {"x": [1.0]}, key: "yes"})
    assert info.value.field == key


def test_fixed_parameters_become_plain_toml_values(study):
    """Tuples become lists, numpy scalars Python numbers, nested tables stay tables: what
    spec.toml holds and reads back."""
    spec = parse_spec({"study": study("kwargs_study"), "sweep": {"a": [1.0]},
                       "params": {"sizes": (1, np.int64(2)), "lam": np.float32(0.5),
                                  "opts": {"k": (np.bool_(True), "s")}}})
    assert spec.params == {"sizes": [1, 2], "lam": 0.5, "opts": {"k": [True, "s"]}}
    assert type(spec.params["sizes"][1]) is int and type(spec.params["lam"]) is float
    assert loads_toml(spec.to_toml())["params"] == spec.params
    with pytest.raises(SpecError, match=r"must be a number, string.*Pass a file path") as info:
        parse_spec({"study": study("kwargs_study"), "sweep": {"a": [1.0]},
                    "params": {"opts": {"w": [1, np.zeros(3)]}}})
    assert info.value.field == "params.opts.w[1]"


# ----------------------------------------------------------------------------- points
def test_point_times_are_within_the_run_that_made_them(study):
    """duration and cpu_time are what the point took: between 0 and the wall-clock and CPU
    time of the whole serial run around it (not times since some epoch)."""
    import time

    from v1model.sweep import run

    t0, c0 = time.perf_counter(), time.process_time()
    ds = run(study(), {"x": [1.0, 2.0]}, executor="serial", progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert ((ds["duration"] >= 0) & (ds["duration"] <= wall)).all()
    assert ((ds["cpu_time"] >= 0) & (ds["cpu_time"] <= cpu)).all()


AUTO_BAR_STUDY = '''
import xarray as xr
from v1model.progress import progress_bar

def run(quick=False, seed=0, x=0.0, progress=None):
    """Records whether an automatic bar (progress=None) and its own bar would draw."""
    auto = progress_bar(None, total=1, desc="auto")
    own = progress_bar(progress, total=1, desc="own")
    out = xr.Dataset({"auto_on": ((), int(not auto.disable)),
                      "own_on": ((), int(not own.disable))})
    auto.close()
    own.close()
    return out
'''


def test_automatic_bars_are_quiet_in_a_point_unless_the_study_is_asked_for_bars(tmp_path):
    """A sweep point runs with progress=False and the solvers' automatic bars (progress=None)
    off; progress=True given as a parameter turns both on."""
    from v1model.sweep import run

    path = tmp_path / "bar_study.py"
    path.write_text(AUTO_BAR_STUDY)
    quiet = run(f"{path}:run", {"x": [1.0]}, executor="serial", progress=False)
    assert (int(quiet["auto_on"][0]), int(quiet["own_on"][0])) == (0, 0)
    asked = run(f"{path}:run", {"x": [1.0]}, params={"progress": True}, executor="serial",
                progress=False)
    assert (int(asked["auto_on"][0]), int(asked["own_on"][0])) == (1, 1)


# ----------------------------------------------------------------------------- stores
@pytest.mark.parametrize("kind", ["memory", "folder"])
def test_a_saved_point_replaces_its_failure_record_in_either_store(kind, tmp_path):
    """Both stores keep the same books: a point that failed, then succeeded (retry-failed), is
    done and no longer failed; failures() gives the records as written."""
    from v1model.sweep.point import PointOutcome
    from v1model.sweep.storage import DirectoryStore, MemoryStore

    store = (MemoryStore("fp", 3) if kind == "memory"
             else DirectoryStore(tmp_path / "s", "fp", 3))
    records = {i: {"index": i, "error": f"ValueError: {i}", "attempts": 1} for i in (1, 2)}
    for record in records.values():
        store.write_failure(record)
    assert store.failures() == records
    store.write_point(PointOutcome(1, True, xr.Dataset({"y": ((), 2.5)})), seed=77)
    state = store.scan(repair=False)
    assert state.done == {1} and set(state.failed) == {2} and state.pending == [0]
    assert store.failures() == {2: records[2]}
    point = store.load_point(1)
    assert float(point["y"]) == 2.5
    assert (point.attrs["sweep_point_index"], point.attrs["sweep_point_seed"],
            point.attrs["sweep_fingerprint"], point.attrs["sweep_complete"]) == (1, 77, "fp", 1)


def test_a_float16_point_is_kept_as_netcdf_readers_can_read_it(study, tmp_path):
    """The in-memory store kept a float16 point as HDF5's half floats (netCDF-C readers
    crash on them); it is widened to float32 marked float16, as save_dataset writes a
    folder's point, read back float16, and the joined sweep saves and reloads."""
    import h5py

    from v1model.io import load_dataset, save_dataset
    from v1model.sweep import run
    from v1model.sweep.point import PointOutcome
    from v1model.sweep.storage import MemoryStore

    values = np.array([1.5, 0.1], dtype=np.float16)
    store = MemoryStore("fp", 1)
    store.write_point(PointOutcome(0, True, xr.Dataset({"h": (("atom",), values)})), seed=1)
    with h5py.File(io.BytesIO(store._points[0]), "r") as f:
        assert f["h"].dtype == np.float32
        assert f["h"].attrs["v1model_saved_from_dtype"] == "float16"
    point = store.load_point(0)
    assert point["h"].dtype == np.float16 and "v1model_saved_from_dtype" not in point["h"].attrs
    np.testing.assert_array_equal(point["h"].values, values)
    ds = run(study("half"), {"x": [1.5, 2.5]}, executor="serial", progress=False)
    assert ds["h"].dtype == np.float16
    np.testing.assert_array_equal(ds["h"].sel(x=1.5).values, values)
    back = load_dataset(save_dataset(ds, tmp_path / "sweep.nc"))
    assert back["h"].dtype == np.float16
    xr.testing.assert_identical(back["h"], ds["h"])


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8,
                    reason="long double is float64 here")
def test_a_long_double_point_fails_with_the_save_message(study):
    """The in-memory store kept a float128 point as HDF5's 128-bit floats, and the joined
    sweep saved them too: netCDF-C readers died on the file (a segmentation fault). The
    point fails, as save_dataset refuses it, with the message that says what to do."""
    from v1model.sweep import run

    ds = run(study("long_double"), {"x": [1.5]}, executor="serial", progress=False)
    assert ds["status"].values.tolist() == ["failed"]
    assert ds["error"].values.tolist() == [
        f"cannot save the point: ValueError: ds: variable 'w' is {np.dtype(np.longdouble)} "
        "(a long double), "
        "which netCDF and zarr have no type for (netCDF-C readers crash on HDF5's 128-bit "
        "floats): convert it first: ds['w'] = ds['w'].astype('float64')"]


def test_files_in_failed_that_are_not_failure_records_are_left_alone(tmp_path):
    """Only failed/NNNNNN.json are failure records: someone's notes there are neither counted
    nor moved to corrupt/ by a scan with repair; a damaged record is."""
    from v1model.sweep.storage import DirectoryStore

    store = DirectoryStore(tmp_path, "fp", 4)
    store.write_failure({"index": 3, "error": "E"})
    (tmp_path / "failed" / "notes.txt").write_text("point 3 needs more memory")
    (tmp_path / "failed" / "000002.json").write_text("{half a record")
    state = store.scan(repair=True)
    assert set(state.failed) == {3} and state.pending == [0, 1, 2]
    assert [p.name for p in state.corrupt] == ["000002.json"]
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == ["000003.json",
                                                                       "notes.txt"]
    assert [p.name.split(".")[0] for p in (tmp_path / "corrupt").iterdir()] == ["000002"]


def test_write_failure_returns_its_file_and_failures_repairs_nothing(tmp_path):
    """failures() is a scan without repair: a corrupt point file and a temporary file stay
    where they are (only the process holding the folder's lock may move them)."""
    from v1model.sweep.storage import DirectoryStore

    store = DirectoryStore(tmp_path, "fp", 2)
    path = store.write_failure({"index": 1, "error": "E"})
    assert path == tmp_path / "failed" / "000001.json" and path.is_file()
    (tmp_path / "points").mkdir()
    (tmp_path / "points" / "000000.nc").write_bytes(b"\x89HDF half a file")
    (tmp_path / "points" / ".000000.nc.ab.tmp.nc").write_bytes(b"cut short")
    assert store.failures() == {1: {"index": 1, "error": "E"}}
    assert sorted(p.name for p in (tmp_path / "points").iterdir()) == [".000000.nc.ab.tmp.nc",
                                                                       "000000.nc"]
    assert not (tmp_path / "corrupt").exists()


def test_an_unreadable_manifest_is_a_spec_error_naming_it(tmp_path):
    from v1model.sweep import status

    (tmp_path / "sweep.json").write_text("{not json")
    with pytest.raises(SpecError, match=r"sweep.json' is not a readable sweep manifest") as info:
        status(tmp_path)
    assert info.value.field == "output"


def test_a_zarr_result_holds_strings_zarr_v3_can_describe(study, tmp_path):
    """Fixed-width unicode has no zarr v3 specification (zarr warns, and other readers may
    not read it): the result's text variables are written as variable-length strings."""
    import warnings

    from v1model.sweep import run

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = run(study(), {"x": [1.0, 2.0], "label": ["a", "bb"]}, output=tmp_path / "z",
                 format="zarr", executor="serial", progress=False)
    assert not [w for w in caught if "Zarr V3 specification" in str(w.message)
                and "data type" in str(w.message)]
    saved = xr.open_zarr(tmp_path / "z" / "sweep.zarr").load()
    assert saved["status"].values.tolist() == [["ok", "ok"], ["ok", "ok"]]
    np.testing.assert_array_equal(saved["y"].values, ds["y"].values)
    assert saved["y"].dtype == np.float64


# ----------------------------------------------------------------------------- assembly
ATTRS_STUDY = '''
import numpy as np
import xarray as xr

def run(quick=False, seed=0, x=1.0, mixed_index=False, with_scale=False):
    """A constant non-index coordinate (k_label), a varying scalar one (scale), and attrs:
    common, varying numbers and text, one named like an output, and unusable ones."""
    ds = xr.Dataset({"y": ((), 2.0 * x), "v": (("k",), x + np.arange(3.0))},
                    coords={"k": [0, 1, 2], "k_label": ("k", ["p", "q", "r"])})
    if with_scale:
        ds = ds.assign_coords(scale=3.0 * x)
    ds.attrs = {"fixed": "same", "fraction": x / 4, "tag": f"t{x:g}", "y": 10.0 * x,
                "shape": [x, x], "mixed": "a" if x == 1.0 else 2}
    if x == 1.0:
        ds.attrs["first_only"] = 7
    if mixed_index and x == 2.0:
        ds = ds.drop_vars("k")
        if mixed_index == "longer":
            ds = ds.isel(k=[0, 1, 2, 2])
    return ds
'''


@pytest.fixture()
def attrs_study(tmp_path):
    path = tmp_path / "attrs_study.py"
    path.write_text(ATTRS_STUDY)
    return f"{path}:run"


def test_coordinates_and_attrs_that_vary_get_the_sweep_dimensions(attrs_study, tmp_path):
    """The module docstring of assemble, by hand: a non-index coordinate equal at every point
    stays as it is, one that varies is stacked over the sweep dimensions; attrs common to all
    points are the result's attrs; varying scalar attrs become variables (suffix _attr on a
    clash); varying lists or mixed kinds are listed as dropped; an attr that some points lack is NaN
    there. The saved file agrees."""
    from v1model.sweep import run

    ds = run(attrs_study, {"x": [1.0, 2.0]}, output=tmp_path / "out", executor="serial",
             progress=False)
    assert ds["k_label"].dims == ("k",) and ds["k_label"].values.tolist() == ["p", "q", "r"]
    assert ds.attrs["fixed"] == "same"
    assert ds["fraction"].dims == ("x",) and ds["fraction"].values.tolist() == [0.25, 0.5]
    assert ds["tag"].values.tolist() == ["t1", "t2"]
    np.testing.assert_array_equal(ds["first_only"].values, [7.0, np.nan])  # missing: NaN
    assert ds["y_attr"].values.tolist() == [10.0, 20.0] and ds["y"].values.tolist() == [2, 4]
    assert ds.attrs["sweep_varying_attrs_dropped"] == "mixed, shape"
    for name in ("fraction", "tag", "y", "shape", "mixed", "first_only"):
        assert name not in ds.attrs
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc")
    assert saved["fraction"].values.tolist() == [0.25, 0.5]
    assert saved["k_label"].dims == ("k",)
    scaled = run(attrs_study, {"x": [1.0, 2.0]}, params={"with_scale": True},
                 executor="serial", progress=False)
    assert "scale" in scaled.coords and scaled["scale"].dims == ("x",)
    assert scaled["scale"].values.tolist() == [3.0, 6.0]
    # the varying scalar coordinate does not make the constant k_label vary (it did when
    # the DataArrays, which carry scale along, were compared instead of their values)
    assert scaled["k_label"].dims == ("k",)


def test_an_output_dimension_indexed_at_some_points_only_takes_their_coordinate(
        attrs_study):
    """A sweep folder begun before its study named a dimension (lca-sweep's atom, y, x,
    update) and resumed after: the earlier points take the later ones' coordinate (the
    resume failed with 'cannot line the points up')."""
    from v1model.sweep import run

    ds = run(attrs_study, {"x": [1.0, 2.0]}, params={"mixed_index": True}, executor="serial",
             progress=False)
    assert ds["k"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(ds["v"].values, [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])


def test_an_output_dimension_indexed_at_some_points_only_of_another_size_is_an_error(
        attrs_study):
    from v1model.sweep import run

    with pytest.raises(ValueError, match="output dimension 'k' has a coordinate at some points "
                                         "and none at others.*size 4"):
        run(attrs_study, {"x": [1.0, 2.0]}, params={"mixed_index": "longer"},
            executor="serial", progress=False)


# ----------------------------------------------------------------------------- runner
SIGNAL_STUDY = '''
import signal
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    """Whether SIGTERM is handled like Ctrl-C while the point runs (serial: in-process)."""
    same = signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT)
    return xr.Dataset({"sigterm_is_sigint": ((), int(same))})
'''


def test_only_the_command_line_turns_sigterm_into_ctrl_c(tmp_path):
    """run_spec(stop_on_sigterm=False) by default (documented): a Python program keeps its own
    SIGTERM handling during a sweep; True handles SIGTERM like SIGINT, and both are restored."""
    import signal

    from v1model.sweep import parse_spec, run, run_spec

    path = tmp_path / "signal_study.py"
    path.write_text(SIGNAL_STUDY)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    ds = run(f"{path}:run", {"x": [1.0]}, executor="serial", progress=False)
    assert ds["sigterm_is_sigint"].values.tolist() == [0]
    spec = parse_spec({"study": f"{path}:run", "sweep": {"x": [1.0]}, "executor": "serial"})
    assert run_spec(spec, progress=False)["sigterm_is_sigint"].values.tolist() == [0]
    ds = run_spec(spec, progress=False, stop_on_sigterm=True)
    assert ds["sigterm_is_sigint"].values.tolist() == [1]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_failure_records_count_the_attempts(study, tmp_path):
    """Each retry of a point that fails again adds one attempt; a record without a count (an
    older or hand-made one) counts as no attempt before this one."""
    import json

    from v1model.sweep import retry_failed, run

    flag = tmp_path / "fail"
    flag.write_text("")
    out = tmp_path / "out"
    run(study(), {"x": [1.0, 2.0]}, params={"fail_flag": str(flag), "fail_x": 2.0}, output=out,
        executor="serial", progress=False)
    record_path = out / "failed" / "000001.json"
    assert json.loads(record_path.read_text())["attempts"] == 1
    retry_failed(out, progress=False)
    record = json.loads(record_path.read_text())
    assert record["attempts"] == 2 and record["params"] == {"x": 2.0}
    del record["attempts"]
    record_path.write_text(json.dumps(record))
    ds = retry_failed(out, progress=False)
    assert json.loads(record_path.read_text())["attempts"] == 1
    assert ds["status"].values.tolist() == ["ok", "failed"]
    assert ds["error"].values.tolist() == ["", "ValueError: boom at x=2.0"]


def test_the_progress_bar_counts_every_point_and_the_failed_ones(study, tmp_path, capsys):
    """The sweep's bar ends at 3/3 points with failed=1 (the one point that failed)."""
    from v1model.sweep import run

    flag = tmp_path / "fail"
    flag.write_text("")
    run(study(), {"x": [1.0, 2.0, 3.0]}, params={"fail_flag": str(flag), "fail_x": 2.0},
        executor="serial", progress=True)
    states = [s for s in capsys.readouterr().err.replace("\r", "\n").splitlines()
              if s.startswith("sweep _studies:tiny:")]
    assert " 3/3 " in states[-1] and states[-1].rstrip().endswith("failed=1]")
    assert not any("failed=2" in s for s in states)


def test_load_of_an_unfinished_sweep_assembles_the_points_so_far(study, tmp_path):
    """load() of a folder with a point missing: the saved points, the other one pending."""
    from v1model.sweep import load, run

    out = tmp_path / "out"
    full = run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    (out / "points" / "000001.nc").unlink()
    (out / "sweep.nc").unlink()
    ds = load(out)
    assert ds["status"].values.tolist() == ["ok", "pending"]
    assert float(ds["y"][0]) == float(full["y"][0]) and np.isnan(float(ds["y"][1]))
    assert (ds.attrs["sweep_n_ok"], ds.attrs["sweep_n_pending"]) == (1, 1)


# ----------------------------------------------------------------------------- TOML, studies
def test_toml_errors_name_the_spec_by_default_and_paths_are_written_as_strings():
    from pathlib import Path

    from v1model.sweep.tomlio import dumps_toml, toml_value

    with pytest.raises(SpecError, match="not valid TOML") as info:
        loads_toml("a = ")
    assert info.value.field == "spec"
    assert toml_value(Path("/data/run 1")) == '"/data/run 1"'
    assert loads_toml(dumps_toml({"p": Path("/a/b"), "t": {"q": Path("c")}})) == {
        "p": "/a/b", "t": {"q": "c"}}


STUDY_MODULE = '''
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    return xr.Dataset({"y": ((), 2.0 * x)})
'''


def test_a_study_module_or_its_function_is_referred_to_by_module_name(tmp_path, monkeypatch):
    """An importable module (or its run) becomes "module:run", which workers import; a module
    without run() is refused naming it."""
    import importlib
    import types

    from v1model.sweep.studyref import resolve_study

    (tmp_path / "gap_study_module.py").write_text(STUDY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("gap_study_module")
    assert resolve_study(module).ref == "gap_study_module:run"
    assert resolve_study(module.run).ref == "gap_study_module:run"
    with pytest.raises(SpecError, match="module empty_module has no run"):
        resolve_study(types.ModuleType("empty_module"))


# ----------------------------------------------------------------------------- executor table
SLURM = {"kind": "slurm", "cores": 1, "memory": "1GB"}


@pytest.mark.parametrize("config, field, message", [
    (3, "executor", "must be a table or an executor name, got 3"),
    (["local"], "executor", r"must be a table or an executor name, got \['local'\]"),
    ({**SLURM, "adapt": {"maximum_jobs": 0}}, "executor.adapt.maximum_jobs",
     "must be an integer >= 1, got 0"),
    ({**SLURM, "jobs": 1, "memory": "0B"}, "executor.memory", "got '0B'"),
])
def test_bad_executor_tables_are_refused_naming_the_key(config, field, message):
    from v1model.sweep.executor_config import check_executor_config

    with pytest.raises(SpecError, match=message) as info:
        check_executor_config(config)
    assert info.value.field == field


def test_the_smallest_executor_values_are_accepted():
    """One byte of memory, adapt from 0 to 1 job: the lower bounds are inclusive."""
    from v1model.sweep.executor_config import check_executor_config

    assert check_executor_config({**SLURM, "jobs": 1, "memory": "1B"})["memory"] == "1B"
    adapt = check_executor_config({**SLURM, "adapt": {"minimum_jobs": 0, "maximum_jobs": 1}})
    assert adapt["adapt"] == {"minimum_jobs": 0, "maximum_jobs": 1}


def test_local_executor_defaults_are_the_documented_ones():
    """workers: the CPUs available; threads per worker: cpus // workers, at least 1 (more
    workers than CPUs still get one thread each); max_attempts 3; forkserver where available."""
    import multiprocessing

    from v1model.sweep import LocalExecutor
    from v1model.sweep.executors import available_cpus

    cpus = available_cpus()
    default = LocalExecutor()
    assert (default.workers, default.threads_per_worker, default.max_attempts) == (cpus, 1, 3)
    assert LocalExecutor(workers=1).threads_per_worker == cpus
    assert LocalExecutor(workers=cpus + 1).threads_per_worker == 1
    assert LocalExecutor(workers=2 * cpus + 3).threads_per_worker == 1
    methods = multiprocessing.get_all_start_methods()
    assert default.start_method == ("forkserver" if "forkserver" in methods else "spawn")


def test_a_pool_worker_marks_its_own_slot_while_a_point_runs_and_clears_it_after(
        monkeypatch):
    """The shared table holds (pid, running point or -1) per worker slot; a crash is
    charged to the point in the dead worker's slot, so a worker must write and clear its
    own slot and no other (by hand: slot 1 of two is entries 2 and 3)."""
    from types import SimpleNamespace

    from v1model.sweep import executors

    table = [101, 7, 202, -1]  # slot 0 runs point 7; this worker has slot 1
    seen = []
    monkeypatch.setattr(executors, "_TABLE", table)
    monkeypatch.setattr(executors, "_SLOT", 1)
    monkeypatch.setattr(executors, "run_point", lambda task: seen.append(list(table)) or "r")
    assert executors._run_tracked(SimpleNamespace(index=5)) == "r"
    assert seen == [[101, 7, 202, 5]]
    assert table == [101, 7, 202, -1]


# ----------------------------------------------------------------------------- command line
PLOTTING_STUDY = '''
from pathlib import Path
import xarray as xr

def run(quick=False, seed=0, x=1.0, fail=False):
    if fail:
        raise ValueError("refused")
    return xr.Dataset({"y": ((), 2.0 * x)})

def plot_sweep(ds, outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "called.txt"
    path.write_text(str(int(ds.attrs["sweep_n_ok"])))
    return [path]
'''


@pytest.mark.parametrize("fail, flags, plotted, code", [
    (False, [], True, 0),
    (False, ["--no-plot"], False, 0),
    (True, [], False, 1),  # no point to plot
])
def test_cli_draws_the_sweep_figure_only_with_points_and_without_no_plot(tmp_path, capsys,
                                                                         fail, flags, plotted,
                                                                         code):
    from v1model.cli import main
    from v1model.sweep.tomlio import dumps_toml

    study_file = tmp_path / "plotting_study.py"
    study_file.write_text(PLOTTING_STUDY)
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": f"{study_file}:run", "output": "out",
                                "params": {"fail": fail}, "sweep": {"x": [1.0, 2.0]},
                                "executor": {"kind": "serial"}}))
    assert main(["sweep", "run", str(spec), "--no-progress", *flags]) == code
    marker = tmp_path / "out" / "figures" / "called.txt"
    assert marker.exists() == plotted
    if plotted:
        assert marker.read_text() == "2" and f"wrote {marker}" in capsys.readouterr().out


def test_the_worker_watch_counts_idle_time_afresh_after_a_worker_came_and_went(capsys):
    """No worker at the first look (0.01 s in): a notice saying 0 s, naming the scheduler and
    the 5 - 2 points left; a worker connects, then goes: the idle time starts again from 0,
    and so does the notice."""
    import threading
    from types import SimpleNamespace

    from v1model.sweep.worker_watch import WorkerWatch

    answers, done = [[], ["tcp://worker:2"], []], threading.Event()

    def connected_workers():  # a look's notice is out before the next look
        if not answers:
            done.set()
            return []
        return answers.pop(0)

    executor = SimpleNamespace(queue_poll=0.01, notice_every=1e9, address="tcp://here:1",
                               n_tasks=5, finished=2, connected_workers=connected_workers)
    watch = WorkerWatch(executor)
    watch.start()
    assert done.wait(60)
    watch.stop()
    watch.join(60)
    notice = ("v1model: no worker connected to the dask scheduler tcp://here:1 for 0 s; "
              "3 point(s) left wait for one")
    assert capsys.readouterr().err.splitlines() == [notice, notice]


def test_a_boolean_output_of_an_unfinished_sweep_is_float_with_nan_for_the_pending(tmp_path):
    """A pending point has no value for a boolean output: the output becomes float (1.0,
    0.0) with NaN there, as an integer one does, not text with "" for the gap."""
    from v1model.sweep import load, run

    path = tmp_path / "flag_study.py"
    path.write_text("import xarray as xr\n\n"
                    "def run(quick=False, seed=0, x=1.0):\n"
                    "    return xr.Dataset({'big': ((), bool(x > 1.5), {'units': '1'})})\n")
    out = tmp_path / "out"
    full = run(f"{path}:run", {"x": [1.0, 2.0, 3.0]}, output=out, executor="serial",
               progress=False)
    assert full["big"].values.tolist() == [False, True, True]
    (out / "points" / "000001.nc").unlink()
    (out / "sweep.nc").unlink()
    ds = load(out)
    assert ds["status"].values.tolist() == ["ok", "pending", "ok"]
    assert ds["big"].dtype == np.float64
    np.testing.assert_array_equal(ds["big"].values, [0.0, np.nan, 1.0])


def test_ctrl_c_while_a_point_is_saved_waits_for_its_file(study, tmp_path, monkeypatch):
    """A Ctrl-C that lands while a finished point is being written is held back until the
    file is whole: raised midway (seen in h5netcdf's File.__init__), it left a half-made
    file object whose finaliser printed a traceback after "interrupted:", and the point was
    lost. The sweep stops after that point; a second Ctrl-C would stop at once."""
    import os
    import signal

    from v1model.sweep import run, status
    from v1model.sweep.storage import DirectoryStore

    original = DirectoryStore.write_point

    def interrupted_write(self, outcome, seed):
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs at the next bytecode
        return original(self, outcome, seed)

    monkeypatch.setattr(DirectoryStore, "write_point", interrupted_write)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(study(), {"x": [1.0, 2.0, 3.0]}, output=out, executor="serial", progress=False)
    st = status(out)
    assert sorted(st.done) == [0] and sorted(st.pending) == [1, 2]


def test_a_second_ctrl_c_while_a_point_is_saved_stops_at_once(study, tmp_path, monkeypatch):
    import os
    import signal

    from v1model.sweep import run, status
    from v1model.sweep.storage import DirectoryStore

    def stuck_write(self, outcome, seed):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the second Ctrl-C did not stop the save")

    monkeypatch.setattr(DirectoryStore, "write_point", stuck_write)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    assert not status(out).done


FAILING_PLOT_STUDY = '''
from pathlib import Path
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    return xr.Dataset({"y": ((), 2.0 * x)})

def plot_sweep(ds, outdir):
    outdir = Path(outdir)
    if (outdir.parent / "break_plots").exists():
        raise RuntimeError("boom")
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "tradeoff.png"
    path.write_text(str(float(ds["y"].sum())))
    return [path]
'''


def test_cli_a_sweep_figure_that_fails_says_the_result_is_saved_and_leaves_no_old_one(
        tmp_path, capsys):
    """A plot_sweep raising RuntimeError printed a traceback after "wrote sweep.nc",
    without saying the result was saved; and a new sweep.nc whose figures failed kept the
    previous result's PNG beside it. Now: exit 1 as `study run`, the result named, and
    the old PNG gone."""
    from v1model.cli import main
    from v1model.io import load_dataset
    from v1model.sweep.tomlio import dumps_toml

    study_file = tmp_path / "failing_plot_study.py"
    study_file.write_text(FAILING_PLOT_STUDY)
    spec = tmp_path / "spec.toml"
    spec.write_text(dumps_toml({"study": f"{study_file}:run", "output": "out",
                                "sweep": {"x": [1.0, 2.0]}, "executor": {"kind": "serial"}}))
    out = tmp_path / "out"
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 0
    old = out / "figures" / "tradeoff.png"
    assert old.read_text() == "6.0"  # 2 * (1 + 2): the first result's figure
    capsys.readouterr()
    (out / "break_plots").touch()
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1  # loaded, plot fails
    err = capsys.readouterr().err
    assert ("v1model: error: plotting failed (RuntimeError: boom); the result is saved in "
            f"{out / 'sweep.nc'}") in err and "v1model sweep resume" in err
    assert old.exists()  # the same result, loaded: its figure stays
    (out / "sweep.nc").unlink()  # assembled and written again, then its figure fails
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert f"wrote {out / 'sweep.nc'}" in captured.out and "plotting failed" in captured.err
    assert float(load_dataset(out / "sweep.nc")["y"].sum()) == 6.0
    assert not old.exists()  # not left beside a result that is not its own
