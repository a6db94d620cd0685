"""Attrs and encodings that xarray's CF conventions apply to a variable's values on a
save and load (netCDF and zarr alike), refused before :func:`v1model.io.save_dataset`
writes anything: they changed the data on reload (``_FillValue=1``: the values 1 loaded as
NaN; ``scale_factor``, ``_Unsigned``, units with "since": scaled, reinterpreted, dates),
failed the load (``_Encoding``) or vanished (``coordinates``)."""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

__all__ = ["check_no_encoding_attrs", "ENCODING_ATTRS", "TIMEDELTA_UNITS", "VALUE_ENCODINGS"]

#: Attrs of a variable that xarray's CF decoding (netCDF and zarr alike) takes as how
#: the values were encoded, whatever their value, with what the round trip did to
#: them and a name to keep the attr under instead
ENCODING_ATTRS = {
    "_FillValue": ("values equal to it would load as NaN (integers as floats)",
                   "fill_value"),
    "missing_value": ("values equal to it would load as NaN (integers as floats)",
                      "missing"),
    "scale_factor": ("the values would load multiplied by it", "scale"),
    "add_offset": ("the values would load with it added", "offset"),
    "_Unsigned": ("integers would load reinterpreted (-1 as 255, or 255 as -1)",
                  "unsigned"),
    "_Encoding": ("the load would fail (xarray decodes the values as bytes with it)",
                  "text_encoding"),
    "coordinates": ("the variables it names would load as coordinates",
                    "coordinate_names"),
    # zarr v2 (zarr 2) keeps a variable's dims under this name: overwritten by them
    "_ARRAY_DIMENSIONS": ("the zarr v2 format overwrites it with the variable's dims",
                          "array_dimensions"),
}
#: The units xarray reads as a timedelta's (``"seconds"``, not ``"s"``)
TIMEDELTA_UNITS = frozenset({"days", "hours", "minutes", "seconds", "milliseconds",
                             "microseconds", "nanoseconds"})


@functools.lru_cache(maxsize=None)
def _reads_units_as_timedelta() -> bool:
    """Whether this xarray loads numbers with ``units="seconds"`` (:data:`TIMEDELTA_UNITS`)
    as timedeltas: xarray did by default (from 2025.1 with a FutureWarning) until
    pydata/xarray#11173 (2026); 2026.9 does not (measured 2026-12-07).

    Asked of a default ``CFTimedeltaCoder()`` (what the default decoding uses, where
    xarray has one), which decodes as the default does without its FutureWarning: a
    ``warnings.catch_warnings`` around the default's, one per process, hid every other
    thread's warnings meanwhile."""
    var = xr.Variable(("x",), np.zeros(1), {"units": "seconds"})
    coder = getattr(xr.coding.times, "CFTimedeltaCoder", None)
    # xarray 2025.1.1 has none, and no FutureWarning
    given = {} if coder is None else {"decode_timedelta": coder()}
    return xr.conventions.decode_cf_variable("x", var, **given).dtype.kind == "m"


def _encoding_attr_problem(ds: xr.Dataset, var: xr.Variable, key, value) -> tuple | None:
    """What a save and load would do to ``var`` (of ``ds``) through its attr ``key`` =
    ``value`` (cleaned), and what to do instead; None when it round-trips."""
    kind = var.dtype.kind
    own = {"M": ("units", "calendar"), "m": ("units", "dtype"), "b": ("dtype",)}
    if key in ENCODING_ATTRS:
        happens, other = ENCODING_ATTRS[key]
        return happens + ", and the attr would not be kept", f"rename it (e.g. {other!r})"
    if key in own.get(kind, ()):
        return (f"it writes a {var.dtype} variable's own {key!r}, and the write fails",
                f"drop it (del ds[name].attrs[{key!r}]): xarray records the values' own")
    if key == "units" and isinstance(value, str) and "since" in value:
        return ("units with 'since' are a date's: numbers would load as dates, text would "
                "fail to load", "reword it without 'since' (e.g. 's after onset')")
    # isinstance first: an array value (units per column) is unhashable in the set test
    if key == "units" and isinstance(value, str) and value in TIMEDELTA_UNITS and (
            kind in "iuf" and _reads_units_as_timedelta()):
        return (f"this xarray version ({xr.__version__}) loads numbers in these units as "
                "timedeltas",
                f"write it as a symbol (e.g. {value[0]!r} for {value!r})")
    if key == "dtype" and isinstance(value, str) and (
            value == "bool" or value.startswith("timedelta64")):
        return (f"it is read as the dtype the values were saved from: they would load as "
                f"{value}", "rename it (e.g. 'saved_dtype')")
    if key == "bounds" and kind == "M" and isinstance(value, str) and value in ds.variables \
            and ds.variables[value].dtype.kind != "M":
        return (f"the variable {value!r} (its bounds) gets this one's time units: its "
                "values would load as dates", "rename it (e.g. 'bounds_variable')")
    return None


#: Values per block of :func:`_encoding_problem`'s simulated round trip: its temporaries
#: (a few arrays of a block each) stay a few MB whatever the size of the variable
ROUND_TRIP_BLOCK = 1 << 16

#: Keys of a variable's ``encoding`` that xarray applies to its values on saving (netCDF
#: and zarr alike), and that a load reads back: checked by a simulated round trip
VALUE_ENCODINGS = ("_FillValue", "missing_value", "scale_factor", "add_offset", "dtype")


def _encoding_problem(name, var: xr.Variable) -> str | None:
    """What a save and load would do to the values of ``var`` through the keys of its
    ``encoding`` that xarray applies to them (:data:`VALUE_ENCODINGS`), with what to do
    instead; None when they come back as they are (a widening, float32 packed data
    loading as float64, included)."""
    used = {key: value for key, value in var.encoding.items() if key in VALUE_ENCODINGS}
    if not used or var.dtype.kind not in "biufc":  # dates, text: xarray's own encodings
        return None
    # the usual encoding of a variable loaded from a file: its own dtype, NaN as the fill
    fill = used.get("_FillValue")
    try:
        same_dtype = "dtype" not in used or np.dtype(used["dtype"]) == var.dtype
    except TypeError:  # not a dtype: xarray's own error names it
        return None
    if set(used) <= {"_FillValue", "dtype"} and same_dtype and (
            fill is None or (var.dtype.kind in "fc" and _is_nan(fill))):
        return None
    # xarray's own encoding and decoding of the values, as a save and load make them, one
    # block at a time: the whole variable's round trip held 2-3 copies of it (a 1 GB
    # variable needed 2-3 GB more to be checked), and a dask or lazily read variable was
    # read whole. Both act value by value, and the loaded dtype follows from the dtypes
    # and the encoding alone
    n_changed, first, loaded_dtype = 0, None, None
    for offset, block in _value_blocks(var):
        values = block.ravel()  # C order, any layout
        loaded = _round_trip(values, used)
        if loaded is None:  # xarray's own error at the write
            return None
        loaded_dtype = loaded.dtype if loaded_dtype is None else np.result_type(
            loaded_dtype, loaded.dtype)
        changed = values != loaded
        if np.result_type(var.dtype, loaded.dtype).kind in "fc":
            changed &= ~(np.isnan(values) & np.isnan(loaded))  # NaN back as NaN: no change
        count = int(np.count_nonzero(changed))
        if count:
            # a block is a box of the variable: its first change in C order is the box's
            # first, and the variable's is the first of the boxes'
            at = int(np.argmax(changed))
            index = tuple(int(o + i) for o, i in zip(offset, np.unravel_index(at, block.shape)))
            if first is None or index < first[0]:
                first = (index, values[at], loaded[at])
        n_changed += count
    wider = np.result_type(var.dtype, loaded_dtype)
    kept = not n_changed and (loaded_dtype == var.dtype or (
        loaded_dtype.kind == var.dtype.kind and wider == loaded_dtype))
    if kept:
        return None
    keys = ", ".join(f"{key}={value!r}" for key, value in used.items())
    if n_changed:
        index, before, after = first
        where = ", ".join(str(i) for i in index)
        happens = (f"{n_changed} of {var.size} values would load changed "
                   f"({before.item()!r} as {after.item()!r} at [{where}])")
    else:
        happens = f"the {var.dtype} values would load as {loaded_dtype}"
    drop = " and ".join(f"del ds[{name!r}].encoding[{key!r}]" for key in used)
    remedy = (f"drop {'them' if len(used) > 1 else 'it'} ({drop}, or "
              "ds = ds.drop_encoding()) to save the values as they are")
    if set(used) == {"dtype"}:  # packed (scaled) values are not the dtype's own
        remedy += (f", or convert them yourself (ds[{name!r}] = "
                   f"ds[{name!r}].astype({str(np.dtype(used['dtype']))!r}))")
    return (f"ds[{name!r}].encoding has {keys}, which xarray applies to the values on "
            f"saving: {happens}; {remedy}")


def _value_blocks(var: xr.Variable):
    """The values of ``var`` as (offset, block) pairs: boxes of it in C order, each a
    NumPy array of at most :data:`ROUND_TRIP_BLOCK` values (a whole dask chunk at most,
    cut further), with the index of its first value; neither a dask nor a lazily read
    (backend) variable is read whole.

    Yields
    ------
    offset : tuple of int, length ``var.ndim``
    block : ndarray, a box of ``var``'s values
    """
    # var.data of a lazily read variable reads it whole: chunks first (None but for dask)
    data = var.data if var.chunks is not None else None
    if hasattr(data, "blocks") and hasattr(data, "numblocks"):  # dask: chunk by chunk
        starts = [np.concatenate([[0], np.cumsum(sizes)[:-1]]) for sizes in data.chunks]
        for chunk_index in np.ndindex(*data.numblocks):
            # a 0-d array's blocks[()] is not its one block
            chunk = np.asarray((data.blocks[chunk_index] if data.ndim else data).compute())
            origin = [int(starts[axis][i]) for axis, i in enumerate(chunk_index)]
            for box in _boxes(chunk.shape, ROUND_TRIP_BLOCK):
                yield (tuple(o + s.start for o, s in zip(origin, box)), np.asarray(chunk[box]))
        return
    # NumPy data: views of the variable's own array; a lazily read one reads each box
    for box in _boxes(var.shape, ROUND_TRIP_BLOCK):
        yield tuple(s.start for s in box), np.asarray(var[box].values)


def _boxes(shape, size):
    """Slices (one per axis, ``start`` set) that cut an array of ``shape`` into boxes of
    at most ``size`` values (one value at least), in C order: the trailing axes whole as
    far as they fit, the axis before them in runs."""
    inner, axis = 1, len(shape)
    while axis > 0 and inner * shape[axis - 1] <= size:
        inner *= shape[axis - 1]
        axis -= 1
    whole = tuple(slice(0, n) for n in shape[axis:])
    if axis == 0:
        yield whole
        return
    step = max(1, size // inner)
    for outer in np.ndindex(*shape[:axis - 1]):
        for start in range(0, shape[axis - 1], step):
            yield (tuple(slice(i, i + 1) for i in outer) + (slice(start, start + step),)
                   + whole)


def _round_trip(values, encoding) -> np.ndarray | None:
    """The 1-d ``values`` as xarray's CF encoding (``encoding``, :data:`VALUE_ENCODINGS`
    keys) and decoding give them back; None where xarray's encoding fails (it names the
    problem itself at the write).

    Quietly, without touching the process's warning filters (a ``catch_warnings``, one
    per process, hid every other thread's warnings meanwhile): NumPy's warnings of the
    casts (NaN or out-of-range values to integers) are off in this thread's ``errstate``,
    and the probe is a dimension coordinate (its dim is its name), for which xarray does
    not warn of floats saved as integers without a ``_FillValue`` (the write warns of
    the variable itself)."""
    probe = xr.Variable(("value",), values, {}, encoding)
    try:
        with np.errstate(all="ignore"):
            back = xr.conventions.decode_cf_variable(
                "value", xr.conventions.encode_cf_variable(probe, name="value"))
            return np.asarray(back.values)
    except (TypeError, ValueError, OverflowError):
        return None


def _is_nan(value) -> bool:
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def check_no_encoding_attrs(ds: xr.Dataset) -> None:
    """Refuse attrs that xarray reads back as encoding (:data:`ENCODING_ATTRS`, a
    ``units`` with "since", ...), and encodings that change the values
    (:func:`_encoding_problem`), before anything is written, every one of them in one
    message: they changed the data on a save and load (``_FillValue=1``, attr or
    encoding: the values 1 loaded as NaN; ``scale_factor``, ``_Unsigned``,
    ``units="days since ..."``: scaled, reinterpreted, dates; ``encoding["dtype"]``:
    rounded), failed the load (``_Encoding``), or vanished (``coordinates``,
    ``ds.attrs["coordinates"]``). A refusal named one attr per save before."""
    problems = []
    if "coordinates" in ds.attrs:
        problems.append(
            f"ds.attrs has 'coordinates' = {ds.attrs['coordinates']!r}, which xarray reads "
            "back as the names of coordinates (the variables it names would load as "
            "coordinates, and the attr would not be kept); rename it (e.g. "
            "'coordinate_names'), or make them coordinates with ds.set_coords(...)")
    for name, var in ds.variables.items():
        for key, value in var.attrs.items():
            problem = _encoding_attr_problem(ds, var, key, value)
            if problem is not None:
                happens, remedy = problem
                problems.append(
                    f"ds[{name!r}].attrs has {key!r} = {value!r}, which xarray takes for "
                    f"encoding (netCDF and zarr alike): {happens}; "
                    f"{remedy.replace('ds[name]', f'ds[{name!r}]')}")
        problem = _encoding_problem(name, var)
        if problem is not None:
            problems.append(problem)
    if len(problems) == 1:
        raise ValueError(f"{problems[0]}; nothing was written")
    if problems:
        raise ValueError(
            f"{len(problems)} attrs or encodings that xarray would apply on a save and load "
            "(netCDF and zarr alike); nothing was written:\n- " + "\n- ".join(problems))
