"""Atomic writes: a failure leaves no half-written file behind."""

import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.io import atomic_path, load_dataset, save_dataset


def test_round_trip_netcdf_and_zarr(tmp_path):
    ds = xr.Dataset({"a": (("sample", "atom"), np.arange(6.0).reshape(2, 3))},
                    attrs={"lam": 0.1, "flag": True, "shape": [2, 3], "none": None,
                           "nested": {"x": 1}})
    for name in ("r.nc", "r.zarr"):
        back = load_dataset(save_dataset(ds, tmp_path / name))
        xr.testing.assert_equal(back["a"], ds["a"])
        assert back.attrs["lam"] == 0.1 and back.attrs["flag"] == 1


def test_zarr_store_opens_with_plain_xarray_without_warnings(tmp_path):
    # consolidated metadata: xarray's default open finds it, no fallback warning
    ds = xr.Dataset({"a": ("sample", np.arange(4.0))}, attrs={"lam": 0.1})
    path = save_dataset(ds, tmp_path / "r.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = xr.open_zarr(path).load()
    xr.testing.assert_identical(back, ds)


def test_failed_write_leaves_previous_file(tmp_path):
    path = tmp_path / "x.nc"
    save_dataset(xr.Dataset({"a": ("t", [1.0])}), path)
    with pytest.raises(RuntimeError, match="crash mid-write"):
        with atomic_path(path) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash mid-write")
    assert load_dataset(path)["a"].values.tolist() == [1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nc"]


def test_load_dataset_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "notes.nc"
    bad.write_text("not a netCDF file")
    with pytest.raises(ValueError, match="path: cannot read .*notes.nc' as a netCDF file"):
        load_dataset(bad)
    with pytest.raises(FileNotFoundError, match="path: no such file"):
        load_dataset(tmp_path / "missing.nc")
