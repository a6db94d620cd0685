"""Attrs that the netCDF library keeps for itself (``_NCProperties``, ``_nc3_strict``,
``_Netcdf4Dimid``, ``_IsNetcdf4``, ...) do not stop a result from saving again.

A Dataset read by another tool carries them (netCDF4-python gave ``_NCProperties``; a
zarr copy of a netCDF file keeps whatever was copied), and ``save_dataset``, a
continued model's ``save`` and the histories' own ``to_netcdf`` failed with h5netcdf's
``AttributeError: cannot write attribute with reserved name '_NCProperties'``. They
describe the file read, not the result: loading leaves them out, saving drops them
(the new file gets its own). The names HDF5 keeps for dimension scales (``CLASS``,
``NAME``, ...) are refused by name before anything is written.
"""

import h5py
import numpy as np
import pytest
import xarray as xr

from v1model.amortized import LISTA
from v1model.io import (HDF5_RESERVED_ATTRS, NETCDF_LIBRARY_ATTRS, clean_attrs, load_dataset,
                        save_dataset)

#: what netCDF-C writes (and netCDF4-python reported) for a file of its own
LIBRARY = {"_NCProperties": "version=2,netcdf=4.9.2,hdf5=1.14.3", "_nc3_strict": 1,
           "_IsNetcdf4": 1, "_SuperblockVersion": 2, "_Format": "netCDF-4"}


def _result():
    return xr.Dataset({"x": ("a", np.arange(3.0), {"units": "1", "_Netcdf4Dimid": 0,
                                                   "_Netcdf4Coordinates": [0]})},
                      attrs={"seed": 1, **LIBRARY})


def test_every_library_attr_is_named():
    assert set(LIBRARY) | {"_Netcdf4Dimid", "_Netcdf4Coordinates"} == NETCDF_LIBRARY_ATTRS


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_result_carrying_them_saves_and_loads_without_them(suffix, tmp_path):
    path = save_dataset(_result(), tmp_path / f"r{suffix}")
    loaded = load_dataset(path)
    assert dict(loaded.attrs) == {"seed": 1, "v1model_version": loaded.attrs["v1model_version"],
                                  "v1model_format_version": 1}
    assert dict(loaded["x"].attrs) == {"units": "1"}
    np.testing.assert_array_equal(loaded["x"], np.arange(3.0))
    # and the loaded result saves again, in the other format too
    again = load_dataset(save_dataset(loaded, tmp_path / "again.nc"))
    xr.testing.assert_identical(again, loaded)


# zarr 3 warns that consolidated metadata is not in its spec yet
@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
def test_a_zarr_copy_of_a_netcdf4_file_loads_and_saves_as_netcdf(tmp_path):
    # xarray's own to_zarr keeps every attr, the library's too (no save_dataset here)
    store = tmp_path / "copy.zarr"
    _result().to_zarr(store, mode="w", consolidated=True)
    loaded = load_dataset(store)
    assert not NETCDF_LIBRARY_ATTRS & (set(loaded.attrs) | set(loaded["x"].attrs))
    again = load_dataset(save_dataset(loaded, tmp_path / "r.nc"))
    xr.testing.assert_identical(again, loaded.assign_attrs(
        v1model_version=again.attrs["v1model_version"],
        v1model_format_version=again.attrs["v1model_format_version"]))


def test_a_netcdf_file_with_them_as_real_hdf5_attrs_loads_without_them(tmp_path):
    # netCDF-C reports _IsNetcdf4 and _SuperblockVersion without storing them; a file that
    # stores them (another tool's copy) showed them in attrs, where h5netcdf hides not them
    path = save_dataset(xr.Dataset({"x": ("a", np.arange(3.0))}, attrs={"seed": 1}),
                        tmp_path / "r.nc")
    with h5py.File(path, "a") as f:
        f.attrs["_IsNetcdf4"] = np.int32(1)
        f.attrs["_SuperblockVersion"] = np.int32(2)
        f.attrs["_NCProperties"] = np.bytes_(b"version=2,netcdf=4.9.2,hdf5=1.14.3")
    loaded = load_dataset(path)
    assert set(loaded.attrs) == {"seed", "v1model_version", "v1model_format_version"}
    load_dataset(save_dataset(loaded, tmp_path / "again.nc"))


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
def test_a_model_whose_file_carries_them_continues_and_saves_again(tmp_path):
    rng = np.random.default_rng(3)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((40, 8))
    net = LISTA(n_layers=2, lam=0.3, n_steps=4, batch_size=10, progress=False).fit(X, D, seed=0)
    ds = net.to_dataset()
    ds.attrs.update(LIBRARY)  # as a copy made by another tool has them
    store = tmp_path / "net.zarr"
    ds.to_zarr(store, mode="w", consolidated=True)
    loaded = LISTA.load(store)
    loaded.history_.attrs["_NCProperties"] = LIBRARY["_NCProperties"]  # and its history
    loaded.partial_fit(X, seed=1)
    again = LISTA.load(loaded.save(tmp_path / "net.nc"))
    np.testing.assert_array_equal(again.encode(X), loaded.encode(X), strict=True)
    assert again.history_.attrs["steps_per_call"].tolist() == [4, 4]
    loaded.history_.to_netcdf(tmp_path / "history.nc", engine="h5netcdf")  # xarray's own


@pytest.mark.parametrize("key", sorted(HDF5_RESERVED_ATTRS))
def test_a_name_hdf5_keeps_is_refused_by_name(key, tmp_path):
    with pytest.raises(ValueError, match=rf"^ds\['x'\]\.attrs has a key '{key}', a name that "
                                         r"netCDF-4 files keep for HDF5's dimension scales"):
        save_dataset(xr.Dataset({"x": ("a", [1.0], {key: "mine"})}), tmp_path / "r.nc")
    with pytest.raises(ValueError, match=rf"^attrs has a key '{key}'"):
        clean_attrs({key: 1})
    assert not list(tmp_path.iterdir())  # nothing written
