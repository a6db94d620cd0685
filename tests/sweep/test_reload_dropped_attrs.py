"""A sweep's assembled result: its attrs, and reading it back as run() returned it."""

import pytest
import xarray as xr

STUDY = '''
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    ds = xr.Dataset({"err": ((), x / 10, {"units": "1"})})
    ds.attrs["shape"] = (int(x), 2)  # a list that varies: not a variable, listed as dropped
    return ds
'''


def test_the_dropped_attrs_read_back_as_run_returned_them(tmp_path):
    # run() returned ['shape'] and load() the JSON text '["shape"]' (iterating it gave
    # characters); both now give the names as one text, as sweep_padded_dims
    from v1model import sweep

    path = tmp_path / "study.py"
    path.write_text(STUDY)
    ds = sweep.run(f"{path}:run", {"x": [1.0, 2.0]}, output=tmp_path / "out",
                   executor="serial", progress=False)
    assert ds.attrs["sweep_varying_attrs_dropped"] == "shape"
    assert sweep.load(tmp_path / "out").attrs["sweep_varying_attrs_dropped"] == "shape"
    saved = xr.load_dataset(tmp_path / "out" / "sweep.nc")
    assert saved.attrs["sweep_varying_attrs_dropped"] == "shape"


ONE_ELEMENT_STUDY = '''
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    ds = xr.Dataset({"curve": (("k",), [1.0, 2.0], {"units": "1", "window": [3]})})
    ds.attrs["depths"] = [2]          # one-element lists, equal at every point
    ds.attrs["order"] = [int(x)]      # and varying: a list, so dropped, not a variable
    return ds
'''


def test_one_element_list_attrs_assemble_alike_with_and_without_a_folder(tmp_path):
    # without a folder the points' one-element lists came back as scalars: depths was 2
    # (not [2]) and order became a variable, where the folder's run kept [2] and dropped it
    import numpy as np

    from v1model import sweep

    path = tmp_path / "study.py"
    path.write_text(ONE_ELEMENT_STUDY)
    kept = sweep.run(f"{path}:run", {"x": [1.0, 2.0]}, output=tmp_path / "out",
                     executor="serial", progress=False)
    memory = sweep.run(f"{path}:run", {"x": [1.0, 2.0]}, executor="serial", progress=False)
    for ds in (memory, kept, sweep.load(tmp_path / "out")):
        assert isinstance(ds.attrs["depths"], np.ndarray) and ds.attrs["depths"].tolist() == [2]
        assert ds["curve"].attrs["window"].tolist() == [3]
        assert "order" not in ds.data_vars
        assert ds.attrs["sweep_varying_attrs_dropped"] == "order"


NAN_STUDY = '''
import xarray as xr

def run(quick=False, seed=0, x=1.0):
    ds = xr.Dataset({"err": ((), x / 10, {"units": "1"})})
    ds.attrs["median_c50"] = float("nan")                 # NaN at every point
    ds.attrs["fitted"] = float("nan") if x == 1.0 else x  # NaN at one point only
    return ds
'''


def test_an_attr_that_is_nan_at_every_point_stays_an_attr(tmp_path):
    # NaN != NaN made it "varying": a variable of NaN whose long_name said it varies
    # between points (receptive-field-mapping's median_c50 is NaN for LCA units)
    import numpy as np

    from v1model import sweep

    path = tmp_path / "study.py"
    path.write_text(NAN_STUDY)
    ds = sweep.run(f"{path}:run", {"x": [1.0, 2.0]}, output=tmp_path / "out",
                   executor="serial", progress=False)
    for result in (ds, sweep.load(tmp_path / "out")):
        assert "median_c50" not in result.data_vars and np.isnan(result.attrs["median_c50"])
        assert "fitted" not in result.attrs
        np.testing.assert_array_equal(result["fitted"].values, [np.nan, 2.0])



@pytest.mark.parametrize("grid", [{"label": ["a", "bbbbb"]},
                                  {"pair": "zipped"}])
def test_a_swept_text_coordinate_reads_back_as_run_returned_it(tmp_path, study, grid):
    # run() returned swept texts as an object array and load() of the same sweep as
    # '<U5' (equal values): their .dtype differed, with or without a folder
    import numpy as np

    from v1model import sweep

    if "pair" in grid:  # a text zipped with a number: a coordinate that is no index
        grid = {"pair": sweep.zipped(x=[1.0, 2.0], label=["a", "bbbbb"])}
    kept = sweep.run(study(), grid, output=tmp_path / "out", executor="serial",
                     progress=False)
    back = sweep.load(tmp_path / "out")
    xr.testing.assert_identical(kept, back)
    memory = sweep.run(study(), grid, executor="serial", progress=False)
    timing = ["duration", "cpu_time"]  # the only differences between two runs
    xr.testing.assert_identical(memory.drop_vars(timing), back.drop_vars(timing))
    for ds in (kept, back, memory):
        assert ds["label"].dtype == np.dtype("<U5")
        assert ds["label"].values.tolist() == ["a", "bbbbb"]
