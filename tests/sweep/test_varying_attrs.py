"""Study attrs that vary between the points of a sweep: their dtype and units in the
assembled result and in the saved file (v1model.sweep.assemble)."""

import numpy as np
import xarray as xr

VARYING_STUDY = '''
import xarray as xr

PARAMETER_UNITS = {"x": "1", "n_atoms": "1", "width": "pixel"}

def run(quick=False, seed=0, x=1, fail_at=None):
    """n_atoms (int) and width (float, with units), flag (bool) and label (no units)
    derived from x; fails at x == fail_at."""
    if x == fail_at:
        raise ValueError(f"boom at x={x}")
    return xr.Dataset({"y": ((), float(x))},
                      attrs={"n_atoms": 64 * x, "width": 0.5 * x, "flag": x > 1,
                             "label": f"x{x}"})
'''


def _study(tmp_path):
    path = tmp_path / "varying_study.py"
    path.write_text(VARYING_STUDY)
    return f"{path}:run"


def test_an_integer_attr_that_varies_stays_an_integer_with_its_units(tmp_path):
    """n_atoms = 64 * overcompleteness came back as 64.0 (float64, no units): an int attr
    given at every point stays int64 and gets the study's PARAMETER_UNITS, in the file too."""
    from v1model.sweep import run

    ds = run(_study(tmp_path), {"x": [1, 2]}, output=tmp_path / "out", executor="serial",
             progress=False)
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc")
    for result in (ds, saved):
        assert result["n_atoms"].dtype == np.int64
        assert result["n_atoms"].values.tolist() == [64, 128]
        assert result["n_atoms"].attrs["units"] == "1"
        assert result["width"].dtype == np.float64
        assert result["width"].values.tolist() == [0.5, 1.0]
        assert result["width"].attrs["units"] == "pixel"
        assert result["flag"].dtype == np.int64 and result["flag"].values.tolist() == [0, 1]
        assert "units" not in result["flag"].attrs  # not declared: none guessed
        assert result["label"].values.tolist() == ["x1", "x2"]


def test_an_integer_attr_missing_at_a_failed_point_is_float_with_nan(tmp_path):
    """netCDF has no integer 'missing': the failed point's n_atoms is NaN (as for outputs),
    the others keep their values and the units."""
    from v1model.sweep import run

    ds = run(_study(tmp_path), {"x": [1, 2, 3]}, params={"fail_at": 3},
             output=tmp_path / "out", executor="serial", progress=False)
    assert ds["status"].values.tolist() == ["ok", "ok", "failed"]
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc")
    for result in (ds, saved):
        assert result["n_atoms"].dtype == np.float64
        np.testing.assert_array_equal(result["n_atoms"].values, [64.0, 128.0, np.nan])
        assert result["n_atoms"].attrs["units"] == "1"



def test_the_attrs_a_point_file_records_are_not_varying_study_attrs(tmp_path):
    """A sweep resumed over a point saved before save_dataset recorded
    v1model_format_version (and by another v1model_version) got the variables
    v1model_format_version ([nan, 1.]) and v1model_version: they describe the file, not
    the study, and the result records its own in attrs."""
    import h5netcdf

    from v1model.io import FORMAT_VERSION
    from v1model.sweep import run

    output = tmp_path / "out"
    run(_study(tmp_path), {"x": [1, 2]}, output=output, executor="serial", progress=False)
    with h5netcdf.File(output / "points" / "000000.nc", "a") as f:  # as an older v1model
        del f.attrs["v1model_format_version"]
        f.attrs["v1model_version"] = "0.0.9"
    (output / "sweep.nc").unlink()  # assembled again from the points
    ds = run(_study(tmp_path), {"x": [1, 2]}, output=output, executor="serial",
             progress=False)
    saved = xr.load_dataset(output / "sweep.nc")
    for result in (ds, saved):
        assert "v1model_format_version" not in result.variables
        assert "v1model_version" not in result.variables
        assert result.attrs["v1model_format_version"] == FORMAT_VERSION
        assert "v1model_version" not in result.attrs.get("sweep_varying_attrs_dropped", "")
        assert result["n_atoms"].values.tolist() == [64, 128]  # the study's still vary

def test_lca_sweep_declares_the_units_of_n_atoms():
    """lca-sweep's n_atoms (overcompleteness * patch_size**2) varies over a sweep of
    overcompleteness: the study gives it units."""
    from studies import lca_sweep

    assert lca_sweep.PARAMETER_UNITS["n_atoms"] == "1"


def test_schultz_declares_the_units_of_matched_rate():
    """matched_rate (None: picked per point) is active coefficients per pixel, as the
    study's rate output: swept or varying between points, it carries the same units."""
    from studies import schultz_2014_replicating_kernels as study

    assert study.PARAMETER_UNITS["matched_rate"] == "1/pixel"


TIMED_STUDY = '''
import numpy as np
import xarray as xr

PARAMETER_UNITS = {"dt": "s", "n_steps": "1"}

def run(quick=False, seed=0, dt=0.1, n_steps=4):
    """u = the step index on the time axis 0, dt, ..., (n_steps - 1) dt, and an atom
    axis of integer labels 0 .. n_steps - 1."""
    t = np.arange(n_steps) * dt
    return xr.Dataset({"u": ("time", np.arange(n_steps, dtype=float), {"units": "1"}),
                       "w": ("atom", np.ones(n_steps), {"units": "1"})},
                      coords={"time": ("time", t, {"units": "s", "long_name": "time"}),
                              "atom": np.arange(n_steps)})
'''


def test_time_axes_that_differ_between_points_are_kept_per_point_not_interleaved(tmp_path):
    """A sweep over dt joined the points' time axes (0, 0.1, ... and 0, 0.05, ...) into
    their union, with NaN at every other time of each point: each point keeps its own
    axis, lined up by position, in point_time (dt, time) with the units; axes that only
    extend one another (a swept n_steps) and integer labels (atom) are still joined."""
    from v1model.sweep import run

    path = tmp_path / "timed_study.py"
    path.write_text(TIMED_STUDY)
    ds = run(f"{path}:run", {"dt": [0.1, 0.05], "n_steps": [3, 5]}, output=tmp_path / "out",
             executor="serial", progress=False)
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc")
    for result in (ds, saved):
        assert result["u"].dims == ("dt", "n_steps", "time") and "time" not in result.indexes
        # every point's own values, in order from its first sample: NaN only past its end
        for i, dt in enumerate([0.1, 0.05]):
            for j, n in enumerate([3, 5]):
                want = np.full(5, np.nan)
                want[:n] = np.arange(n)
                np.testing.assert_array_equal(result["u"].values[i, j], want)
                np.testing.assert_array_equal(result["point_time"].values[i, j],
                                              want * dt)
        assert result["point_time"].dims == ("dt", "n_steps", "time")
        assert result["point_time"].attrs["units"] == "s"
        assert result.attrs["sweep_point_axis_dims"] == "time"
        assert result["atom"].values.tolist() == [0, 1, 2, 3, 4]
    one = run(f"{path}:run", {"n_steps": [3, 5]}, executor="serial", progress=False)
    assert one["time"].values.tolist() == [0.0, 0.1, 0.2, 0.30000000000000004, 0.4]
    np.testing.assert_array_equal(one["u"].values[0], [0, 1, 2, np.nan, np.nan])
    assert "sweep_point_axis_dims" not in one.attrs
