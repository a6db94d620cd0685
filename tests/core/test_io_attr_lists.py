"""Lists of NumPy unsigned integers in attrs: NumPy makes float64 of a uint64 among
other ints, so the list must not be stored as that array (it rounded every value
beyond 2**53), and a value beyond int64 must not crash the save. Lists of bools are
int arrays of 0/1, as a single bool is an int."""

import numpy as np
import pytest
import xarray as xr

from v1model.io import clean_attrs, load_dataset, save_dataset


@pytest.mark.parametrize("values", [[np.uint64(2**63 + 1), 1], [np.uint64(2**62 + 1), 1],
                                    [np.uint64(2**53 + 1), np.int64(-1)]])
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_uint64_lists_come_back_exactly(tmp_path, values, suffix):
    expected = [int(v) for v in values]
    ds = xr.Dataset({"v": ("x", [1.0])}, attrs={"seeds": values})
    back = load_dataset(save_dataset(ds, tmp_path / f"r{suffix}"))
    stored = back.attrs["seeds"]
    if isinstance(stored, str):  # kept exactly as JSON text
        import json

        stored = json.loads(stored)
    assert [int(v) for v in stored] == expected


def test_lists_numpy_keeps_as_integers_stay_arrays():
    for values, dtype in (([1, 2, 3], np.int64), ([np.uint64(2**64 - 1)], np.uint64),
                          ([np.int64(-5), 2**63 - 1], np.int64)):
        out = clean_attrs({"a": values})["a"]
        assert isinstance(out, np.ndarray) and out.dtype == dtype
        assert [int(v) for v in out] == [int(v) for v in values]


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_lists_of_bools_are_int_arrays_as_a_bool_is_an_int(tmp_path, suffix):
    # [True, False] was stored as the JSON text '[true, false]', a single True as 1
    attrs = {"flags": [True, False, np.True_], "one": True, "pair": (False, True)}
    out = clean_attrs(attrs)
    assert out["one"] == 1
    for key, expected in (("flags", [1, 0, 1]), ("pair", [0, 1])):
        assert isinstance(out[key], np.ndarray) and out[key].dtype.kind == "i"
        np.testing.assert_array_equal(out[key], expected)
    ds = xr.Dataset({"v": ("x", [1.0])}, attrs=attrs)
    back = load_dataset(save_dataset(ds, tmp_path / f"r{suffix}"))
    np.testing.assert_array_equal(back.attrs["flags"], [1, 0, 1])
    np.testing.assert_array_equal(back.attrs["pair"], [0, 1])
    assert int(back.attrs["one"]) == 1
