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

from v1model import _cf_encoding
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
    assert back.attrs.pop("v1model_format_version") == 1
    xr.testing.assert_identical(back, ds)
    np.testing.assert_array_equal(back["v"].values, VALUES)


def test_the_timedelta_probe_agrees_with_a_plain_xarray_round_trip(tmp_path):
    """Whether this xarray loads numbers in "seconds" as timedeltas (older versions did by
    default), measured with xarray's own to_netcdf and open_dataset."""
    path = tmp_path / "plain.nc"
    _float(units="seconds").to_netcdf(path, engine=v1io.NETCDF_ENGINE)
    with xr.open_dataset(path, engine=v1io.NETCDF_ENGINE) as plain:
        as_timedelta = plain["v"].dtype.kind == "m"
    assert _cf_encoding._reads_units_as_timedelta() is as_timedelta


@pytest.mark.parametrize("units", ["seconds", "s", "days"])
def test_time_units_are_refused_only_where_xarray_reads_them_as_timedeltas(
        units, monkeypatch, tmp_path):
    path = save_dataset(_float(units=units), tmp_path / "r.nc")
    if not _cf_encoding._reads_units_as_timedelta():  # this xarray: kept as they are
        np.testing.assert_array_equal(load_dataset(path)["v"].values, VALUES)
    # an xarray version that reads them as timedeltas: refused
    monkeypatch.setattr(_cf_encoding, "_reads_units_as_timedelta", lambda: True)
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


#: (values, encoding): a variable's encoding that xarray applies to its values on saving,
#: and what a save and load did with it before (save_dataset wrote them unsaid)
CHANGING_ENCODINGS = [
    (VALUES, {"_FillValue": 1}),  # [0, nan, 2, 3]
    (np.arange(4), {"_FillValue": 1}),  # [0, nan, 2, 3] as floats
    (np.arange(4), {"_FillValue": 9}),  # no value is 9: [0, 1, 2, 3], but as floats
    (VALUES, {"missing_value": 2.0}),  # [0, 1, nan, 3]
    (np.array([0.0, 1.0, 2.0, 3.3]), {"scale_factor": 0.1}),  # 3.3 as 3.2999999999999994
    (np.array([0.0, 1.5, 2.0, 3.0]), {"dtype": "int16"}),  # 1.5 as 2
    (np.array([0.0, 0.1]), {"dtype": "float32"}),  # 0.1 rounded to float32
    (np.array([0, 1, 200, 3]), {"dtype": "int8"}),  # 200 as -56
    (np.array([0.0, 3.33]), {"dtype": "int16", "scale_factor": 0.1}),  # 3.33 as 3.3
]


def _encoded(values, encoding, name="v"):
    ds = xr.Dataset({name: ("x", values)})
    ds[name].encoding.update(encoding)
    return ds


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
# xarray's own write of the premise, of floats as integers
@pytest.mark.filterwarnings("ignore:saving variable:xarray.SerializationWarning")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("values, encoding", CHANGING_ENCODINGS,
                         ids=[f"{v.dtype}-{e}" for v, e in CHANGING_ENCODINGS])
def test_an_encoding_that_changes_the_values_is_refused_before_writing(values, encoding,
                                                                       suffix, tmp_path):
    # the premise, from xarray itself: its own save and load change the values or dtype
    plain = tmp_path / f"plain{suffix}"
    if suffix == ".nc":
        _encoded(values, encoding).to_netcdf(plain, engine=v1io.NETCDF_ENGINE)
    else:
        _encoded(values, encoding).to_zarr(plain, consolidated=True)
    with (xr.open_dataset(plain, engine=v1io.NETCDF_ENGINE) if suffix == ".nc"
          else xr.open_zarr(plain)) as back:
        loaded = back["v"].values
    assert loaded.dtype != values.dtype or not np.array_equal(loaded, values, equal_nan=True)
    path = tmp_path / f"r{suffix}"
    with pytest.raises(ValueError) as info:
        save_dataset(_encoded(values, encoding), path)
    message = str(info.value)
    keys = ", ".join(f"{key}={value!r}" for key, value in encoding.items())
    assert message.startswith(f"ds['v'].encoding has {keys}, which xarray applies to the "
                              "values on saving: "), message
    assert message.endswith("; nothing was written") and "ds.drop_encoding()" in message
    assert not path.exists()
    # as the message says: without the encoding the values round-trip exactly
    back = load_dataset(save_dataset(_encoded(values, encoding).drop_encoding(), path))
    assert back["v"].dtype == values.dtype
    np.testing.assert_array_equal(back["v"].values, values)


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_encodings_that_keep_the_values_are_written_as_before(suffix, tmp_path):
    """NaN as the fill of floats, a scale of 0.5 on values it keeps exact, the variable's
    own dtype, and CF-packed data loaded from a file (int16, scale_factor, _FillValue:
    its decoded values pack back to the same integers): saved and loaded exactly."""
    packed = tmp_path / "packed.nc"
    ints = np.array([0, 7, -1, 300], dtype=np.int16)
    raw = xr.Dataset({"p": ("x", ints, {"scale_factor": 0.25, "_FillValue": np.int16(-1)})})
    raw.to_netcdf(packed, engine=v1io.NETCDF_ENGINE)  # the attrs as a packed file has them
    ds = load_dataset(packed)
    assert ds["p"].encoding["scale_factor"] == 0.25 and np.isnan(ds["p"].values[2])
    ds["a"] = ("x", VALUES)
    ds["a"].encoding.update(_FillValue=np.nan, dtype="float64")
    ds["b"] = ("x", VALUES)
    ds["b"].encoding.update(scale_factor=0.5)
    back = load_dataset(save_dataset(ds, tmp_path / f"r{suffix}"))
    for name in ("p", "a", "b"):
        assert back[name].dtype == ds[name].dtype
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    np.testing.assert_array_equal(back["p"].values, [0.0, 1.75, np.nan, 75.0])


def test_every_offending_attr_and_encoding_is_listed_in_one_refusal(tmp_path):
    # the refusal named the first attr only: each further one cost another failed save
    ds = _two(_FillValue=1.0)
    ds["w"].attrs["scale_factor"] = 2.0
    ds["u"] = ("x", np.array([0.0, 1.5, 2.0, 3.0]))
    ds["u"].encoding["dtype"] = "int16"
    ds.attrs["coordinates"] = "w"
    with pytest.raises(ValueError) as info:
        save_dataset(ds, tmp_path / "r.nc")
    lines = str(info.value).split("\n")
    assert lines[0] == ("4 attrs or encodings that xarray would apply on a save and load "
                        "(netCDF and zarr alike); nothing was written:")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "- ds.attrs has 'coordinates' = 'w'", "- ds['v'].attrs has '_FillValue' = 1.0",
        "- ds['w'].attrs has 'scale_factor' = 2.0",
        "- ds['u'].encoding has dtype='int16'"]
    assert "1 of 4 values would load changed (1.5 as 2 at [1])" in lines[4]
    assert list(tmp_path.iterdir()) == []


def test_the_simulated_round_trip_holds_no_copy_of_the_variable(peak_memory):
    """The check of an encoding's round trip encoded and decoded the whole variable:
    2-3 copies of it at every save (peak 36 MB for a 16 MB variable, 2026-12-07). In
    blocks, its peak stays a fraction of the variable's size (a 16 MB one here, laid out
    transposed), and it finds and counts the one value the packing changes, far from the
    first block, as the whole-variable comparison did."""
    values = (np.arange(2_000_000) % 1000 * 0.5).reshape(1000, 2000).T  # not C-contiguous
    encoding = {"dtype": "int16", "scale_factor": 0.5, "_FillValue": -1}
    ds = xr.Dataset({"v": (("y", "x"), values)})
    ds["v"].encoding.update(encoding)
    # every value a multiple of 0.5: kept
    _, accepted_peak = peak_memory(lambda: _cf_encoding.check_no_encoding_attrs(ds))
    ds["v"].values[1700, 3] = 0.3  # packs to 1, loads as 0.5

    def refused():
        with pytest.raises(ValueError, match=r"1 of 2000000 values would load changed "
                                             r"\(0\.3 as 0\.5 at \[1700, 3\]\)"):
            _cf_encoding.check_no_encoding_attrs(ds)

    _, refused_peak = peak_memory(refused)
    assert max(accepted_peak, refused_peak) < values.nbytes / 4, (accepted_peak, refused_peak)


#: CF packing that keeps multiples of 0.5 (and changes 0.3 into 0.5)
HALVES = {"dtype": "int16", "scale_factor": 0.5, "_FillValue": -1}


def test_the_round_trip_of_a_dask_variable_computes_it_chunk_by_chunk(monkeypatch):
    """A dask-backed variable (a Dataset opened with chunks=..., then saved) was computed
    whole by the check (``var.values``: one compute of its full (400, 1000) shape); now
    one chunk at a time, with the same decisions: kept, and the one changed value found
    at its place in a chunk far from the first."""
    da = pytest.importorskip("dask.array")
    computed = []
    compute = da.Array.compute
    monkeypatch.setattr(da.Array, "compute",
                        lambda self, **kw: computed.append(self.shape) or compute(self, **kw))
    values = np.arange(400_000) % 1000 * 0.5
    ds = xr.Dataset({"v": (("y", "x"), da.from_array(values.reshape(400, 1000),
                                                     chunks=(150, 300)))})
    ds["v"].encoding.update(HALVES)
    _cf_encoding.check_no_encoding_attrs(ds)  # every value a multiple of 0.5: kept
    assert computed and max(np.prod(shape) for shape in computed) == 150 * 300, computed
    values[170_003] = 0.3  # [170, 3]: in the second chunk down
    ds["v"] = (("y", "x"), da.from_array(values.reshape(400, 1000), chunks=(150, 300)))
    ds["v"].encoding.update(HALVES)
    computed.clear()
    with pytest.raises(ValueError, match=r"1 of 400000 values would load changed "
                                         r"\(0\.3 as 0\.5 at \[170, 3\]\)"):
        _cf_encoding.check_no_encoding_attrs(ds)
    assert max(np.prod(shape) for shape in computed) == 150 * 300, computed
    # a 0-d dask variable (whose blocks[()] is not its block) as a NumPy one
    scalar = xr.Dataset({"v": ((), da.from_array(np.array(0.3)))})
    scalar["v"].encoding.update(HALVES)
    with pytest.raises(ValueError, match=r"1 of 1 values would load changed \(0\.3 as 0\.5"):
        _cf_encoding.check_no_encoding_attrs(scalar)


def test_the_round_trip_of_a_lazily_read_variable_reads_it_in_blocks(tmp_path, peak_memory):
    """A variable of a file opened without loading (xr.open_dataset, CF-packed: its
    encoding is checked) was read whole by the check (peak 32 MB for a 16 MB variable,
    2026-12-07); its blocks are read one at a time, and it is still kept."""
    values = (np.arange(2_000_000) % 1000 * 0.5).reshape(2000, 1000)
    path = tmp_path / "packed.nc"
    xr.Dataset({"v": (("y", "x"), values)}).to_netcdf(path, engine=v1io.NETCDF_ENGINE,
                                                       encoding={"v": HALVES})
    with xr.open_dataset(path, engine=v1io.NETCDF_ENGINE) as lazy:
        assert lazy["v"].encoding["scale_factor"] == 0.5
        # one measure, the first: a check that read the variable whole would leave it in
        # xarray's cache, and a warm-up or a repeat would then measure no reading at all
        _, peak = peak_memory(lambda: _cf_encoding.check_no_encoding_attrs(lazy),
                              repeats=1, warm_up=False)  # every value a multiple of 0.5
    assert peak < values.nbytes / 4, peak


@pytest.mark.parametrize("values, encoding", CHANGING_ENCODINGS,
                         ids=[f"{v.dtype}-{e}" for v, e in CHANGING_ENCODINGS])
def test_the_encoding_check_leaves_the_process_warning_filters_alone(
        values, encoding, monkeypatch, forbid_catch_warnings, with_a_neighbour):
    """The check's round trip of the values through xarray's encoding ignored every
    warning in a warnings.catch_warnings block, one per process: a warning another thread
    gave meanwhile (another point of a sweep saving its result) was hidden too. The round
    trip gives none of its own now (NumPy's casts in this thread's errstate; a probe xarray
    does not warn of): the check enters no catch_warnings, refuses as before, and each
    neighbour's warning reaches the caller, the only warnings given."""
    import warnings

    with pytest.raises(ValueError) as alone:
        _cf_encoding.check_no_encoding_attrs(_encoded(values, encoding))
    forbid_catch_warnings(_cf_encoding)
    text = "another point's warning"
    probes = []

    def encode(*args, **kwargs):
        probes.append(1)
        return real(*args, **kwargs)

    real = xr.conventions.encode_cf_variable
    monkeypatch.setattr(xr.conventions, "encode_cf_variable", with_a_neighbour(encode, text))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ValueError) as info:
        warnings.simplefilter("always")
        _cf_encoding.check_no_encoding_attrs(_encoded(values, encoding))
    assert str(info.value) == str(alone.value)
    assert probes and [str(w.message) for w in caught] == [text] * len(probes)


def test_the_timedelta_probe_leaves_the_process_warning_filters_alone(forbid_catch_warnings):
    """It asked xarray's default decoding inside a warnings.catch_warnings block (one per
    process, hiding other threads' warnings) to quiet the FutureWarning of xarray 2025.x;
    it asks a default CFTimedeltaCoder now, which decodes as the default does, unwarned."""
    import warnings

    forbid_catch_warnings(_cf_encoding)
    var = xr.Variable(("x",), np.zeros(1), {"units": "seconds"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # xarray 2025.x's, of the default
        default = xr.conventions.decode_cf_variable("x", var).dtype.kind == "m"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _cf_encoding._reads_units_as_timedelta.__wrapped__() is default
    assert caught == []
