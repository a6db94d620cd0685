"""Attrs that xarray's CF decoding takes for encoding are refused before anything is
written; attrs that only look like them save and load exactly.

xarray reads a variable's ``_FillValue``, ``missing_value``, ``scale_factor``,
``add_offset``, ``_Unsigned``, ``_Encoding``, ``coordinates``, a ``units`` with "since",
a ``dtype`` of "bool" or "timedelta64[...]" (and a datetime's ``bounds``) as how the
values were encoded, from netCDF and zarr alike. Before, ``save_dataset`` wrote them and
the round trip changed the data without a word (``_FillValue=1``: [0, 1, 2, 3] loaded as
[0, nan, 2, 3], and the attr was gone; ``scale_factor=2``: [0, 2, 4, 6]; ``_Unsigned``:
int8 -1 loaded as uint8 255; ``units="days since 2000-01-01"``: dates; ``dtype="bool"``:
[False, True, True, True]), or the load failed (``_Encoding``: "'numpy.float64' object
has no attribute 'decode'"; a text variable with units "... since ...").
"""

import numpy as np
import pytest
import xarray as xr

from v1model import io as v1io
from v1model.io import load_dataset, save_dataset

VALUES = np.array([0.0, 1.0, 2.0, 3.0])
DATES = np.array(["2000-01-01", "2000-01-02"], dtype="datetime64[ns]")


def _float(**attrs):
    return xr.Dataset({"v": ("x", VALUES, attrs)}, coords={"x": np.arange(4.0)})


def _int_coordinate(**attrs):
    return xr.Dataset({"v": ("x", VALUES)}, coords={"x": ("x", np.arange(4), attrs)})


def _int8(**attrs):
    return xr.Dataset({"v": ("x", np.array([-1, 0, 1, 127], dtype=np.int8), attrs)})


def _text(**attrs):
    return xr.Dataset({"v": ("x", np.array(["a", "b"]), attrs)})


def _two(**attrs):
    return xr.Dataset({"v": ("x", VALUES, attrs), "w": ("x", VALUES + 1)})


def _dates(**attrs):
    return xr.Dataset({"v": ("x", DATES, attrs), "w": ("x", np.array([5.0, 6.0]))})


def _bools(**attrs):
    return xr.Dataset({"v": ("x", np.array([True, False]), attrs)})


#: (Dataset, variable, attr, value): what each did to a save and load before
REFUSED = [
    (_float, "v", "_FillValue", 1.0),  # [0, nan, 2, 3], the attr gone
    (_float, "v", "_FillValue", np.nan),  # the attr gone
    (_int_coordinate, "x", "_FillValue", 1),  # the index [0, nan, 2, 3], float
    (_float, "v", "missing_value", 1.0),  # [0, nan, 2, 3]
    (_float, "v", "scale_factor", 2.0),  # [0, 2, 4, 6]
    (_float, "v", "add_offset", 1.0),  # [1, 2, 3, 4]
    (_int8, "v", "_Unsigned", "true"),  # uint8 [255, 0, 1, 127]
    (_float, "v", "_Encoding", "utf-8"),  # the load failed
    (_text, "v", "_Encoding", "utf-8"),  # the load failed
    (_float, "v", "units", "days since 2000-01-01"),  # datetime64 2000-01-01 ...
    (_int_coordinate, "x", "units", "hours since 2000-01-01"),  # the index as dates
    (_text, "v", "units", "trials since onset"),  # the load failed
    (_float, "v", "dtype", "bool"),  # [False, True, True, True]
    (_float, "v", "dtype", "timedelta64[s]"),  # with units "seconds": timedeltas
    (_two, "v", "coordinates", "w"),  # w loaded as a coordinate, the attr gone
    (_dates, "v", "bounds", "w"),  # w [5., 6.] loaded as dates
    (_dates, "v", "units", "days since 2000-01-01"),  # xarray's write failed
    (_bools, "v", "dtype", "float32"),  # "unsupported dtype for netCDF4 variable: bool"
    (_float, "v", "_ARRAY_DIMENSIONS", "x"),  # zarr v2 overwrote it with the dims
]


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("make, name, key, value", REFUSED,
                         ids=[f"{m.__name__}-{k}-{v}" for m, _, k, v in REFUSED])
def test_an_attr_taken_for_encoding_is_refused_before_writing(make, name, key, value,
                                                               suffix, tmp_path):
    extra = {"units": "seconds"} if str(value).startswith("timedelta64") else {}
    ds = make(**{key: value, **extra})
    with pytest.raises(ValueError) as info:
        save_dataset(ds, tmp_path / f"r{suffix}")
    message = str(info.value)
    # names the variable, the attr and its value, and says what to do
    for part in (f"ds[{name!r}].attrs", repr(key), repr(v1io.clean_attrs({"a": value})["a"]),
                 "nothing was written"):
        assert part in message, (part, message)
    assert any(word in message for word in ("rename", "reword", "drop"))
    assert list(tmp_path.iterdir()) == []  # not even a temporary file


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_global_coordinates_attr_is_refused(suffix, tmp_path):
    """``ds.attrs["coordinates"] = "w"`` made the data variable w load as a coordinate,
    and the attr was gone."""
    ds = _two().assign_attrs(coordinates="w")
    with pytest.raises(ValueError, match=r"ds.attrs has 'coordinates' = 'w'.*set_coords"):
        save_dataset(ds, tmp_path / f"r{suffix}")
    assert list(tmp_path.iterdir()) == []


#: attrs that only look like encoding: kept as they are
KEPT = {"units": "s", "calendar": "noleap", "dtype": "float32", "bounds": "w",
        "compress": "x", "valid_range": np.array([0.0, 3.0]), "fill_value": 1.0,
        "scale": 2.0, "standard_name": "time", "axis": "T", "grid_mapping": "crs",
        "long_name": "time since onset"}


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_look_alike_attrs_and_dataset_attrs_round_trip_exactly(suffix, tmp_path):
    """The same names as Dataset attrs (xarray decodes none of them there), and names
    that only resemble the variable attrs, save and load exactly, values equal to 1.0
    included."""
    ds = _two(**KEPT)
    ds["x"] = ("x", np.arange(4), {"units": "pixel", "calendar": "noleap"})
    ds.attrs.update(_FillValue=1.0, missing_value=1.0, scale_factor=2.0, add_offset=1.0,
                    _Unsigned="true", _Encoding="utf-8", units="days since 2000-01-01",
                    dtype="bool", seed=0)
    back = load_dataset(save_dataset(ds, tmp_path / f"r{suffix}"))
    assert back.attrs.pop("v1model_version")
    xr.testing.assert_identical(back, ds)
    np.testing.assert_array_equal(back["v"].values, VALUES)


def test_the_timedelta_probe_agrees_with_a_plain_xarray_round_trip(tmp_path):
    """Whether this xarray loads numbers in "seconds" as timedeltas (older versions did by
    default), measured with xarray's own to_netcdf and open_dataset."""
    path = tmp_path / "plain.nc"
    _float(units="seconds").to_netcdf(path, engine=v1io.NETCDF_ENGINE)
    with xr.open_dataset(path, engine=v1io.NETCDF_ENGINE) as plain:
        as_timedelta = plain["v"].dtype.kind == "m"
    assert v1io._reads_units_as_timedelta() is as_timedelta


@pytest.mark.parametrize("units", ["seconds", "s", "days"])
def test_time_units_are_refused_only_where_xarray_reads_them_as_timedeltas(
        units, monkeypatch, tmp_path):
    path = save_dataset(_float(units=units), tmp_path / "r.nc")
    if not v1io._reads_units_as_timedelta():  # this xarray: kept as they are
        np.testing.assert_array_equal(load_dataset(path)["v"].values, VALUES)
    # an xarray version that reads them as timedeltas: refused
    monkeypatch.setattr(v1io, "_reads_units_as_timedelta", lambda: True)
    if units == "s":  # a symbol is no timedelta unit to xarray
        save_dataset(_float(units=units), tmp_path / "s.nc")
    else:
        with pytest.raises(ValueError, match=rf"'units' = '{units}'.*as a symbol"):
            save_dataset(_float(units=units), tmp_path / "t.nc")


@pytest.mark.parametrize("kind", ["memory", "folder"])
def test_a_sweep_point_with_one_is_refused_by_either_store(kind, tmp_path):
    """The in-memory store wrote its points without save_dataset: a point with
    ``_FillValue=1`` loaded back [0, nan, 2, 3]."""
    from v1model.sweep.point import PointOutcome
    from v1model.sweep.storage import DirectoryStore, MemoryStore

    store = (MemoryStore("fp", 1) if kind == "memory"
             else DirectoryStore(tmp_path / "s", "fp", 1))
    with pytest.raises(ValueError, match=r"ds\['v'\].attrs has '_FillValue' = 1.0"):
        store.write_point(PointOutcome(0, True, _float(_FillValue=1.0)), seed=1)
    assert store.scan(repair=False).done == set()


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_an_array_valued_units_attr_saves_and_loads_as_before(suffix, tmp_path):
    """A variable's ``units`` holding an array (one value per column) names no encoding:
    it saved and loaded before the refusals came, then failed with a bare "unhashable
    type: 'numpy.ndarray'" from the check for timedelta units."""
    units = np.array([1.0, 2.0])
    ds = xr.Dataset({"v": (("x", "c"), np.ones((4, 2)), {"units": units})})
    back = load_dataset(save_dataset(ds, tmp_path / f"r{suffix}"))
    np.testing.assert_array_equal(back["v"].attrs["units"], units)
