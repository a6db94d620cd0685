"""Assemble the points of a sweep into one Dataset.

The result has the sweep dimensions first (in grid order, ``replicate``
last), then each output's own dimensions:

- a scalar output becomes a variable over the sweep dimensions;
- an array output keeps its own dimensions after the sweep dimensions;
- when an output dimension has *different sizes at different points* (e.g.
  one value per atom with a swept number of atoms), points are padded with
  NaN to the largest size: aligned on the dimension's coordinate (outer
  join) when the points give one, else by position. Integer and boolean
  outputs that need padding or that are missing at failed points become
  float with NaN; string outputs get "". The padded dimensions are listed in
  ``attrs["sweep_padded_dims"]``. A dimension with a coordinate at some
  points and none at others (a sweep folder begun before its study named it)
  takes the coordinate the others give, when they all give the same one and
  the sizes match; otherwise the points cannot be lined up (``ValueError``).
- a floating-point coordinate (times, frequencies) that differs between points
  so that an outer join would interleave NaN between a point's values (a swept
  ``dt`` or sample rate: 0, 0.1, ... and 0, 0.05, ...) is not joined: each
  point keeps its own values, lined up by position (padded with NaN at the
  end when the sizes differ), in the coordinate ``point_<dim>`` over the sweep
  dimensions and ``<dim>``, which has no index; such dimensions are listed in
  ``attrs["sweep_point_axis_dims"]``. Coordinates that only extend one
  another (a swept number of steps: 0, 0.1, 0.2 and 0, 0.1, ..., 0.4), and
  integer and text ones (atoms, names), are joined as above.
- non-index coordinates equal at every point stay as they are; ones that
  vary get the sweep dimensions too;
- study attrs equal at every point become the result's attrs; scalar attrs
  that vary between points (a fitted fraction, a class label) become
  variables over the sweep dimensions (suffix ``_attr`` on a name clash),
  with the units the study's ``PARAMETER_UNITS`` gives them; integer and
  boolean ones stay int64 (booleans as 0/1) when every point of the grid has
  one, and become float with NaN, as outputs do, when a point lacks it (failed,
  pending, or an attr the point did not set); other varying attrs are listed
  in ``attrs["sweep_varying_attrs_dropped"]`` (their names joined by ``", "``).
  The attrs that :func:`v1model.io.save_dataset` adds to a point's file
  (``v1model_version``, ``v1model_format_version``) are not the study's: the
  result records its own, however the points' files differ.

Per-point variables: ``status`` ("ok", "failed" or "pending"), ``error``
(the failed point's exception, "" otherwise), ``warnings`` (the warnings the
point raised, ok or failed, one ``"Category: message"`` per line, a message's
further lines indented by two spaces, "" for none and for a pending point; see
:func:`~v1model.sweep.point_warnings.warnings_text` and
:func:`~v1model.sweep.point_warnings.split_warnings`), ``point_seed`` (the seed
the study got), ``duration`` (wall-clock, s) and ``cpu_time`` (s).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .. import __version__
from ..io import _SAVED_ATTRS, FORMAT_VERSION
from .storage import POINT_ATTRS

__all__ = ["assemble", "without_text_units"]

#: the per-point text variables of an assembled result
TEXT_VARIABLES = ("status", "error", "warnings")


def assemble(spec, points: dict, failures: dict, executor_info: dict | None = None,
             fingerprint: str | None = None) -> xr.Dataset:
    """Build the sweep Dataset.

    Parameters
    ----------
    spec : SweepSpec
    points : dict
        Point index -> the point's Dataset (as saved, with the store's attrs).
    failures : dict
        Point index -> failure record (``error``, ``duration``, ...).
    executor_info : dict, optional
        Recorded as JSON in ``attrs["sweep_executor"]``.
    fingerprint : str, optional
        Recorded in ``attrs["sweep_fingerprint"]``: the fingerprint of the sweep
        folder (its ``sweep.json``, which its points carry). Default
        ``spec.fingerprint()``, which differs from a folder's for a
        ``file.py:function`` study that moved since the sweep began, or a
        folder begun with "null" before the texts for None were spelled alike.

    Returns
    -------
    xarray.Dataset
        Over the grid's dimensions: every study output, per-point
        ``status``, ``error``, ``warnings``, ``point_seed``, ``duration`` and ``cpu_time``
        (as :func:`v1model.sweep.run` returns it).
    """
    grid = spec.grid
    shape, dims = grid.shape, grid.dims
    n = grid.n_points
    order = sorted(points)
    datasets = [_strip(points[i]) for i in order]
    datasets, padded, own = _align(datasets)
    positions = [grid.position(i) for i in order]
    complete = len(order) == n

    data_vars, coords = {}, dict(grid.coords())
    if datasets:
        # every output's index, whichever points give it (after _align they agree)
        for ds in datasets:
            for dim in ds.indexes:
                if dim not in coords:
                    coords[dim] = (dim, ds[dim].values, dict(ds[dim].attrs))
        for name in _names(datasets, data=True):
            data_vars[name] = _stack(name, datasets, positions, shape, dims, complete)
        for name in _names(datasets, data=False):
            having = [ds[name] for ds in datasets if name in ds.coords]
            # compare the variables alone: a DataArray brings its scalar coordinates along, and
            # one that varies (a fitted scale) made every other coordinate look varying
            if len(having) == len(datasets) and all(
                    v.variable.equals(having[0].variable) for v in having[1:]):
                v = having[0]
                coords[name] = (v.dims, v.values, dict(v.attrs))
            else:
                coords[name] = _stack(name, datasets, positions, shape, dims, complete)

    status = np.full(shape, "pending", dtype=object)
    error = np.full(shape, "", dtype=object)
    warned = np.full(shape, "", dtype=object)
    duration = np.full(shape, np.nan)
    cpu_time = np.full(shape, np.nan)
    seeds = np.array([grid.seed(i) for i in range(n)], dtype=np.int64).reshape(shape)
    for i, ds in zip(order, (points[i] for i in order)):
        pos = grid.position(i)
        status[pos] = "ok"
        # "" also for a point saved before the sweep kept its warnings
        warned[pos] = str(ds.attrs.get("sweep_warnings", ""))
        duration[pos] = float(ds.attrs.get("sweep_duration", np.nan))
        cpu_time[pos] = float(ds.attrs.get("sweep_cpu_time", np.nan))
    for i, record in failures.items():
        if i in points:
            continue
        pos = grid.position(i)
        status[pos] = "failed"
        error[pos] = str(record.get("error", ""))
        warned[pos] = str(record.get("warnings", ""))
        duration[pos] = float(record.get("duration", np.nan))
        cpu_time[pos] = float(record.get("cpu_time", np.nan))
    status, error, warned = _as_text(status), _as_text(error), _as_text(warned)
    # text has no units (CF): "1" on these said they were dimensionless numbers
    data_vars["status"] = (dims, status, {"long_name": "point status: ok, failed or pending"})
    data_vars["error"] = (dims, error, {"long_name": "exception of a failed point"})
    data_vars["warnings"] = (dims, warned, {
        "long_name": "warnings the point raised, one 'Category: message' per line "
                     "(a message's further lines indented by two spaces)"})
    data_vars["point_seed"] = (dims, seeds, {"long_name": "seed passed to the study",
                                             "units": "1"})
    data_vars["duration"] = (dims, duration, {"long_name": "wall-clock time of the point",
                                              "units": "s"})
    data_vars["cpu_time"] = (dims, cpu_time, {
        "long_name": "CPU time of the point's process (all its threads)", "units": "s"})

    point_sets = [points[i] for i in order]
    # recorded already; and the attrs save_dataset adds to a point's file, not the study's:
    # a sweep resumed over points saved before v1model_format_version was recorded got a
    # variable of it (1, and NaN at those points)
    skip = set(POINT_ATTRS) | set(grid.swept_parameters) | {"seed"} | set(_SAVED_ATTRS)
    varying, dropped = _varying_attrs(point_sets, positions, shape, dims, skip,
                                      taken=set(data_vars) | set(coords),
                                      units=spec.study.units())
    data_vars.update(varying)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(_common_attrs(point_sets))
    if dropped:
        # one text, as sweep_padded_dims: a list was saved as its JSON, so the result
        # that run() returned held a list and the one load() read back a str
        ds.attrs["sweep_varying_attrs_dropped"] = ", ".join(sorted(dropped))
    from .tomlio import dumps_toml

    counts = {s: int(np.count_nonzero(status == s)) for s in ("ok", "failed", "pending")}
    ds.attrs.update(
        sweep_study=spec.study.ref,
        sweep_spec=dumps_toml(spec.what()),
        sweep_fingerprint=fingerprint if fingerprint is not None else spec.fingerprint(),
        sweep_root_seed=spec.grid.root_seed,
        sweep_n_seeds=spec.grid.n_seeds,
        sweep_quick=int(spec.quick),
        v1model_version=__version__,
        # as save_dataset records it: run() and load() of the sweep give the same attrs
        v1model_format_version=FORMAT_VERSION,
        sweep_n_points=n,
        sweep_n_ok=counts["ok"],
        sweep_n_failed=counts["failed"],
        sweep_n_pending=counts["pending"],
        sweep_executor=json.dumps(executor_info or {}, default=str),
    )
    if padded:
        ds.attrs["sweep_padded_dims"] = ", ".join(sorted(padded))
    if own:
        ds.attrs["sweep_point_axis_dims"] = ", ".join(sorted(own))
    return ds


def _strip(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in POINT_ATTRS}
    for name in ds.variables:
        ds[name].encoding = {}
    return ds


def _names(datasets, data: bool) -> list:
    """Variable names in first-seen order (data variables or non-index coordinates)."""
    seen = {}
    for ds in datasets:
        names = ds.data_vars if data else [c for c in ds.coords if c not in ds.indexes]
        for name in names:
            seen.setdefault(name, None)
    return list(seen)


def _align(datasets):
    """Make output dimensions agree across points (see the module docstring)."""
    if len(datasets) < 2:
        return datasets, set(), []
    sizes, indexed = {}, {}
    for ds in datasets:
        for dim, size in ds.sizes.items():
            sizes.setdefault(dim, set()).add(size)
            indexed.setdefault(dim, set()).add(dim in ds.indexes)
    mixed = [d for d, kinds in indexed.items() if len(kinds) > 1]
    if mixed:
        # a folder begun before its study named a dimension (lca-sweep's atom, y, x and
        # update): its earlier points take the later ones' coordinate where all of those
        # agree and the sizes match, else the points cannot be lined up
        datasets = [_adopt_coords(ds, mixed, datasets) for ds in datasets]
    own = _interleaved(datasets)
    if own:
        # an outer join of time axes 0, 0.1, ... and 0, 0.05, ... (a swept dt) left every
        # other value NaN: each point keeps its own axis, lined up by position
        datasets = [_own_axis(ds, own) for ds in datasets]
        for dim in own:
            indexed[dim] = {False}
    padded = set()
    unindexed = {d: max(s) for d, s in sizes.items() if len(s) > 1 and True not in indexed[d]}
    if unindexed:
        padded |= set(unindexed)
        datasets = [
            ds.pad({d: (0, m - ds.sizes[d]) for d, m in unindexed.items()
                    if d in ds.dims and ds.sizes[d] < m})
            for ds in datasets
        ]
    reference, differ = {}, set()
    for ds in datasets:
        for dim, index in ds.indexes.items():
            if dim not in reference:
                reference[dim] = index
            elif not index.equals(reference[dim]):
                differ.add(dim)
    if differ:
        padded |= differ
        datasets = list(xr.align(*datasets, join="outer"))
    if padded:  # pad and align fill text with NaN; the result (and the file) holds ""
        datasets = [_text_fill(ds) for ds in datasets]
    return datasets, padded, own


def _interleaved(datasets) -> list:
    """The output dimensions with a floating-point coordinate (times, frequencies: values
    measured on a grid, not labels) that an outer join would interleave: at some point
    the union of all points' coordinates holds values between the point's own (a swept
    ``dt`` or sample rate), where it would be NaN. Integer and text coordinates (atoms,
    kernels, names) stay aligned by label."""
    indexes = {}
    for ds in datasets:
        for dim, index in ds.indexes.items():
            indexes.setdefault(dim, []).append(index)
    out = []
    for dim, found in indexes.items():
        if (found[0].dtype.kind not in "fmM"
                or all(index.equals(found[0]) for index in found[1:])):
            continue
        union = found[0]
        for index in found[1:]:
            union = union.union(index)
        for index in found:
            at = union.get_indexer(index)
            if len(at) and (at.min() < 0 or at.max() - at.min() + 1 != len(index)):
                out.append(dim)
                break
    return out


def _own_axis(ds, dims):
    """``ds`` with the index coordinate of each of ``dims`` moved to a non-index
    coordinate ``point_<dim>`` (same values and attrs) over the same dimension."""
    for dim in dims:
        if dim not in ds.indexes:
            continue
        name = f"point_{dim}"
        if name in ds.variables:
            raise ValueError(
                f"output dimension {dim!r} has other coordinates at other points, which the "
                f"result would keep as {name!r}, but the study already returns a variable "
                f"{name!r}; rename it in the study")
        var = ds[dim].variable
        ds = ds.drop_vars(dim).assign_coords(
            {name: (dim, var.values, dict(var.attrs, long_name=(
                f"{dim} of each point ({var.attrs['long_name']})" if "long_name" in var.attrs
                else f"{dim} of each point")))})
    return ds


def _adopt_coords(ds, dims, datasets):
    """``ds`` with the coordinate the other points give each of ``dims`` it lacks (the
    same at all of them, of ``ds``'s size); a ``ValueError`` when there is none."""
    for dim in dims:
        if dim in ds.indexes or dim not in ds.dims:
            continue
        coords = [other[dim] for other in datasets if dim in other.indexes]
        if (any(not c.to_index().equals(coords[0].to_index()) for c in coords[1:])
                or coords[0].size != ds.sizes[dim]):
            raise ValueError(
                f"output dimension {dim!r} has a coordinate at some points and none at "
                f"others, and the points with one do not all give one coordinate of the "
                f"size {ds.sizes[dim]} of a point without; cannot line the points up "
                "(the points were likely run by different versions of the study: run the "
                "sweep again into a new output folder)")
        ds = ds.assign_coords({dim: coords[0].variable})
    return ds


def _text_fill(ds):
    """``ds`` with the NaN that padding put into text variables replaced by ""."""
    for name, var in ds.variables.items():
        if var.dtype != object or name in ds.indexes:
            continue
        values = var.values
        gap = np.array([isinstance(v, float) and v != v for v in values.flat],
                       dtype=bool).reshape(values.shape)
        if gap.any() and all(isinstance(v, str) for v in values[~gap].flat):
            values = values.copy()
            values[gap] = ""
            filled = var.copy(data=values.astype(str))
            ds = (ds.assign_coords({name: filled}) if name in ds.coords
                  else ds.assign({name: filled}))
    return ds


def _fill_dtype(dtype):
    if dtype.kind in "iub":
        return np.dtype(np.float64), np.nan
    if dtype.kind in "fc":
        return dtype, np.nan
    if dtype.kind in "mM":
        return dtype, np.array("NaT", dtype=dtype)
    return np.dtype(object), ""


def _stack(name, datasets, positions, shape, dims, complete):
    """One variable of all points as an array of shape ``shape + its own shape``."""
    having = [(pos, ds[name]) for pos, ds in zip(positions, datasets) if name in ds.variables]
    ref = having[0][1]
    for pos, var in having[1:]:
        if var.dims != ref.dims or var.shape != ref.shape:
            raise ValueError(
                f"output {name!r} has dims {dict(zip(var.dims, var.shape))} at one point and "
                f"{dict(zip(ref.dims, ref.shape))} at another; outputs must keep their "
                "dimension names across points"
            )
    kinds = {v.dtype.kind for _, v in having}
    if kinds & set("US") and kinds & set("biufc"):
        # xarray's own words, at the write: "unable to infer dtype on variable ...;
        # object array contains mixed native types", as if the spec were wrong
        text = next(pos for pos, v in having if v.dtype.kind in "US")
        number = next(pos for pos, v in having if v.dtype.kind in "biufc")
        raise ValueError(
            f"output {name!r} is text at one point ({_where(dims, text)}) and a number at "
            f"another ({_where(dims, number)}); a study must return each output as the "
            "same kind of value at every point: fix the study and run the sweep into a "
            "new folder"
        )
    dtype = np.result_type(*[v.dtype for _, v in having])
    if dtype.kind in "USO":
        dtype = np.dtype(object)
    if len(having) < len(positions) or not complete:
        dtype, fill = _fill_dtype(dtype)
    else:
        fill = None
    arr = np.empty(shape + ref.shape, dtype=dtype)
    if fill is not None:
        arr[...] = fill
    for pos, var in having:
        values = var.values
        if arr.dtype == object:
            values = values.astype(object)
        # a 0-d array would be stored as one object in an object array: take its element
        arr[pos] = values[()] if values.ndim == 0 else values
    return (tuple(dims) + ref.dims, _as_text(arr), dict(ref.attrs))


def _where(dims, pos) -> str:
    """A point's place in the grid, as "lam index 2, replicate index 0"."""
    return ", ".join(f"{d} index {i}" for d, i in zip(dims, pos))


def _as_text(arr):
    """Object arrays holding only strings become fixed-width unicode arrays
    (what xarray reads back from netCDF and zarr)."""
    if arr.dtype == object and all(isinstance(v, str) for v in arr.flat):
        return arr.astype(str)
    return arr


def _varying_attrs(datasets, positions, shape, dims, skip, taken, units=None):
    """Study attrs whose value differs between points, as variables over the
    sweep dimensions (a study that reports a number in its attrs, e.g. a
    fitted fraction, keeps it per point). Scalars only (numbers, strings,
    bools as int); other varying attrs are returned by name in ``dropped``.
    Integers stay int64 when every cell of the grid has one, else the
    variable is float with NaN where a point lacks the attr (as for outputs:
    netCDF has no integer "missing"). ``units`` (attr name -> units, the
    study's ``PARAMETER_UNITS``) gives the variables their units.
    A name already used by a variable or coordinate gets the suffix ``_attr``.
    """
    out, dropped = {}, []
    if len(datasets) < 2:
        return out, dropped
    units = units or {}
    keys = {k for ds in datasets for k in ds.attrs} - set(skip)
    for key in sorted(keys):
        values = [ds.attrs.get(key) for ds in datasets]
        if all(v is not None for v in values) and all(_same(v, values[0]) for v in values[1:]):
            continue  # common to every point: a Dataset attr
        scalars = [np.asarray(v)[()] if np.ndim(v) == 0 else None for v in values if v is not None]
        if any(s is None or not isinstance(s, (str, int, float, np.number, np.bool_))
               for s in scalars):
            dropped.append(key)
            continue
        text = any(isinstance(s, str) for s in scalars)
        if text and not all(isinstance(s, str) for s in scalars):
            dropped.append(key)
            continue
        # every cell of the grid holds an integer (or bool): no NaN needed
        whole = (len(scalars) == int(np.prod(shape))
                 and all(isinstance(s, (int, np.integer, np.bool_)) for s in scalars))
        if text:
            arr = np.full(shape, "", dtype=object)
        else:
            arr = np.full(shape, 0 if whole else np.nan, dtype=np.int64 if whole else float)
        for pos, v in zip(positions, values):
            if v is not None:
                arr[pos] = str(v) if text else int(v) if whole else float(v)
        name = key if key not in taken else f"{key}_attr"
        attrs = {"long_name": f"study attribute {key!r}, which varies between points"}
        if key in units:
            attrs["units"] = str(units[key])
        out[name] = (tuple(dims), _as_text(arr) if text else arr, attrs)
    return out, dropped


def _common_attrs(datasets) -> dict:
    """Attributes that every point has with the same value (the study's fixed
    settings); per-point ones (e.g. the swept parameters) are left out."""
    if not datasets:
        return {}
    out = {}
    first = datasets[0].attrs
    for key, value in first.items():
        if key in POINT_ATTRS:
            continue
        if all(key in ds.attrs and _same(ds.attrs[key], value) for ds in datasets[1:]):
            out[key] = value
    return out


def _same(a, b) -> bool:
    try:
        x, y = np.asarray(a), np.asarray(b)
        # NaN at every point is one value (a fit that failed alike): it was "varying", and
        # became a variable of NaN in place of the attr
        nan = x.dtype.kind in "fc" and y.dtype.kind in "fc"
        return bool(np.array_equal(x, y, equal_nan=nan))
    except Exception:  # noqa: BLE001
        return a == b


def without_text_units(ds: xr.Dataset) -> xr.Dataset:
    """``ds``, a sweep's assembled result, with no ``units`` on its per-point text
    variables (``status``, ``error``, ``warnings``): a result written before they lost
    them carries ``units: "1"``, and reloaded it would differ from one assembled now.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, changed in place.
    """
    for name in TEXT_VARIABLES:
        if name in ds.data_vars and ds[name].dtype.kind in "USO":
            ds[name].attrs.pop("units", None)
    return ds
