"""Input validation shared by every public function.

Validation happens once, at the public boundary; inner kernels trust their
inputs. Every error names the argument, the value that was given and what was
expected, so that a bad input fails at once instead of turning into NaNs an
hour later.
"""

from __future__ import annotations

import numbers
import os
import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = [
    "CheckedAttribute",
    "as_generator",
    "check_array",
    "by_dim_names",
    "DATA_DIMS",
    "DICTIONARY_DIMS",
    "CODE_DIMS",
    "CODE_TIME_DIMS",
    "ATOM_IMAGE_DIMS",
    "code_dims",
    "code_rows_coord",
    "dim_coord",
    "row_coords",
    "sample_rate_by_labels",
    "atoms_by_dim_names",
    "axis_by_dim_name",
    "check_dense",
    "ComplexDataError",
    "complex_data_error",
    "refuse_bare_bool",
    "numeric_kind",
    "array_shape",
    "check_dictionary",
    "check_data_and_dictionary",
    "flatten_image_atoms",
    "image_atom_shape",
    "check_same_features",
    "check_dtype",
    "check_bool",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_positive_or_auto",
    "check_choice",
    "refuse_unused_settings",
    "did_you_mean",
    "check_path",
    "check_axis",
    "check_shape",
    "check_probability",
    "check_fits_in_memory",
    "memory_exceeded",
    "check_no_missing",
    "pandas_labels",
    "describe",
    "physical_memory",
    "cgroup_memory_limit",
    "address_space_limit",
]


def describe(value, limit: int = 60) -> str:
    """Short human-readable description of ``value`` for error messages.

    Parameters
    ----------
    value : object
        Anything; an ndarray is described by its shape and dtype (a 0-d one
        as its one value; a Brian2 quantity by its value with its units), a
        NumPy number, bool or string by its value
        (``1.5``, not ``np.float64(1.5)``; a float32 with NumPy's digits for
        its precision, ``0.1``), a pandas DataFrame by its shape and its first
        columns' dtypes, a Series by its shape and dtype, anything else (a
        ``np.datetime64`` too) by its ``repr``, put on one line when it runs
        over several.
    limit : int
        Longest ``repr`` kept whole, in characters (default 60); a longer one
        is cut to ``limit`` characters ending in "...".

    Returns
    -------
    str
    """
    if _is_brian2_quantity(value):  # not "array of shape () and dtype float64"
        text = f"the Brian2 quantity {value!r}"
        return text if len(text) <= limit else text[: limit - 3] + "..."
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]  # its value: "lam must be ..., got -0.5", not its dtype alone
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if _is_pandas_table(value):  # its repr, put on one line, pasted its rows unreadably
        return _describe_pandas(value)
    if isinstance(value, np.floating):  # "0.1" for float32 0.1: item() gave 0.10000000149...
        return str(value)
    if isinstance(value, (np.number, np.bool_, np.str_, np.bytes_)):
        # "1.5", not NumPy 2's "np.float64(1.5)"; a datetime64's item() is a bare int
        value = value.item()
    text = repr(value)
    if "\n" in text:  # one line: a Dataset's repr runs over many
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_generator(seed) -> np.random.Generator:
    """Turn ``seed`` (None, int, SeedSequence or Generator) into a Generator.

    Never touches NumPy's global random state.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        A Generator is returned as it is; None gives fresh OS entropy; an int
        (or a 0-d integer array or DataArray) must be non-negative (bools are rejected).
        Results record the seed with :func:`v1model.io.seed_attr`: an int or a
        SeedSequence so that :func:`v1model.io.seed_from_attr` gives it back and the
        run can be made again; a Generator by its bit generator's state before the
        call drew from it (the package's learners, simulators, mapping, LISTA,
        autoencoders and the studies), and ``seed_from_attr`` makes a Generator that
        re-runs the call.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        For a bool or any other type.
    ValueError
        For a negative int.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (np.ndarray, xr.DataArray)) and seed.dtype.kind in "biu":
        seed = _unwrap_0d(seed)  # a seed read from a result (ds["seed"] or its .values)
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be None, an int, a numpy SeedSequence or a numpy "
                        f"Generator, got {seed!r}")
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(seed)
    # a seed read back from attrs is text (a SeedSequence's JSON, an int beyond 64 bits)
    hint = ("; a seed recorded in attrs is given back by v1model.io.seed_from_attr"
            if isinstance(seed, str) else "")
    raise TypeError(
        f"seed must be None, an int, a numpy SeedSequence or a numpy Generator, "
        f"got {describe(seed)}{hint}"
    )


def smallest_safe_value(dtype) -> float:
    """The smallest largest-magnitude a non-zero ``X`` may have in ``dtype``.

    Products of smaller values (codes times ``lam``, squared residuals) fall
    below the dtype's smallest normal number: ``1e-4 * sqrt(tiny)``, ~1e-23 in
    float32 and ~1e-158 in float64. Measured in float32: learning is unchanged
    down to values ~4e-23 and degrades 5x at ~4e-24; FISTA's codes are off by
    4e-4 at 1e-20 and by 20x at 1e-25. The learners and the solvers refuse
    data below it alike, so that a learner never passes its own check and
    then fails inside its solver.

    Parameters
    ----------
    dtype : numpy dtype
        A float dtype.

    Returns
    -------
    float
    """
    return float(np.sqrt(np.finfo(dtype).tiny)) * 1e-4


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Accept float32 or float64 (the two precisions the kernels support).

    Parameters
    ----------
    dtype : dtype_like
        Anything :class:`numpy.dtype` accepts (e.g. ``np.float32``, "float64",
        or ``X.dtype`` of a big-endian array, ``">f4"``, as .mat, netCDF and
        sparsenet's raw files give: the same precision).
    name : str
        Argument name used in error messages (default "dtype").

    Returns
    -------
    numpy.dtype
        ``float32`` or ``float64``, in the machine's byte order.

    Raises
    ------
    TypeError
        When ``dtype`` is not a dtype.
    ValueError
        For a dtype other than float32 and float64.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if dt.kind == "f":  # ">f4" (dtype=X.dtype of a big-endian X) is float32 too
        dt = dt.newbyteorder("=")
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} must be float32 or float64, got {dt}")
    # NumPy's own descriptor, not an equal copy: np.asarray(X, dtype=copy) copied an X
    # that already was float32 (a new descriptor object made by newbyteorder)
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


#: the package's dim names (those of its own Datasets) of data, dictionaries and codes:
#: a DataArray argument that names them is read by name (:func:`by_dim_names`)
DATA_DIMS = ("sample", "feature")
DICTIONARY_DIMS = ("atom", "feature")
CODE_DIMS = ("sample", "atom")
#: codes over time (a run's rates or counts per time bin): ``time`` stands for ``sample``
CODE_TIME_DIMS = ("time", "atom")
#: atoms as images (fit_gabor's model, a saved network's dictionary)
ATOM_IMAGE_DIMS = ("atom", "y", "x")
#: the dim names the package's own arrays carry (those above, and the autoencoders'
#: ``latent``, the convolutional package's, stimuli's ``image``, older tuning results'
#: ``unit``, SAILnet's ``neuron``): one of them never stands in for another dim
#: (:func:`by_dim_names`)
PACKAGE_DIM_NAMES = frozenset(DATA_DIMS + DICTIONARY_DIMS + CODE_DIMS + CODE_TIME_DIMS
                              + ATOM_IMAGE_DIMS) | {"z", "image", "latent", "kernel", "ky",
                                                    "kx", "lag", "unit", "neuron"}


def by_dim_names(value, dims, name: str, strict: bool = False):
    """``value`` with its axes in the order ``dims`` when it is a DataArray naming them.

    An ``xarray.DataArray`` with ``len(dims)`` dims is read by dim name: with
    exactly the dims ``dims``, in any order, it is transposed to that order
    (read by position, a transposed DataArray gave wrong numbers unsaid); with
    all of them but one and one name of its own (not one of
    :data:`PACKAGE_DIM_NAMES`), in any order, it is transposed so that its own
    name takes the missing one's place (``("pixel", "sample")`` is read as
    ``(sample, feature)``, as ``("sample", "pixel")`` is); with
    some of them, each in its place, or none (xarray's ``dim_0``, ..., or
    names of the caller's own), it is read by position, unless ``strict``.
    Anything else is returned as it is.

    Parameters
    ----------
    value : object
        The argument as given.
    dims : tuple of str
        Its expected dims, in the order wanted, e.g. :data:`DATA_DIMS`.
    name : str
        Argument name used in error messages.
    strict : bool, default False
        Refuse a DataArray whose dims are not ``dims`` (in any order), whatever
        their number, but for xarray's unnamed ``dim_0``, ``dim_1``, ... in order,
        read by position as the plain array they wrap: for arguments the package
        makes only with ``dims`` (a figure's inputs), where other names say that
        the wrong array was given or which axis is which cannot be told.

    Returns
    -------
    object
        ``value``, transposed to ``dims`` when it names them all, or all but one.

    Raises
    ------
    ValueError
        For a DataArray naming some of ``dims`` at other positions beside two or
        more names of its own (e.g. dims ``("x", "row", "col")`` for ``("atom",
        "y", "x")``) or beside one of :data:`PACKAGE_DIM_NAMES` (``("latent",
        "feature")`` for ``("sample", "latent")``): which axis is which cannot be
        told; naming its dims and the expected ones. With
        ``strict``, for a DataArray with any other dims than ``dims``.
    """
    if not isinstance(value, xr.DataArray):
        return value
    given = tuple(value.dims)
    unnamed = tuple(f"dim_{i}" for i in range(len(given)))
    if strict and set(given) != set(dims) and given != unnamed:
        raise ValueError(
            f"{name} is a DataArray with dims {given}: expected {tuple(dims)}"
            f"{' in any order' if len(dims) > 1 else ''} (read by name); rename its dims "
            f"(e.g. {name}.rename(...)) or pass {name}.values to read it by position")
    if value.ndim != len(dims):
        return value
    if set(given) == set(dims):
        return value.transpose(*dims)
    misplaced = [d for i, d in enumerate(given) if d in dims and dims[i] != d]
    others = [d for d in given if d not in dims]
    if misplaced and len(others) == 1 and others[0] not in PACKAGE_DIM_NAMES:
        # all of dims named but one, whose place the one other name takes: X over
        # ("pixel", "sample") is read as (sample, pixel), as ("sample", "pixel") is (it
        # was refused); not a name of the package's own, which means another axis
        # (codes Z over (latent, feature) are not (sample, latent))
        missing = next(d for d in dims if d not in given)
        return value.transpose(*(others[0] if d == missing else d for d in dims))
    if misplaced:
        raise ValueError(
            f"{name} is a DataArray with dims {given}: expected {dims} in any order (read "
            f"by name), got {misplaced} at other positions; rename its dims (e.g. "
            f"{name}.rename(...)) or pass {name}.transpose(...) ordered {dims}")
    return value


def code_dims(codes) -> tuple[str, str]:
    """The dims by which a codes argument is read: :data:`CODE_TIME_DIMS` for a
    DataArray with a ``time`` dim and no ``sample`` one (rates over time), else
    :data:`CODE_DIMS`: read by position, codes (atom, time) were refused and
    ``treves_rolls`` ran over time instead of over units, unsaid.

    Parameters
    ----------
    codes : object
        The argument as given.

    Returns
    -------
    tuple of str
    """
    dims = codes.dims if isinstance(codes, xr.DataArray) else ()
    return CODE_TIME_DIMS if "time" in dims and "sample" not in dims else CODE_DIMS


def code_rows_coord(codes, n: int):
    """The dim and coordinate of the per-stimulus results of codes (one value per row):
    ``time`` for codes read as :data:`CODE_TIME_DIMS`, with the input's own ``time``
    coordinate and its attrs (e.g. seconds) when it has one, so that the result lines
    up with the input; else ``sample``, with the input's own coordinate too when it
    has one (:func:`dim_coord`), numbered from 0 otherwise (plain arrays).

    Parameters
    ----------
    codes : object
        The codes argument as given.
    n : int
        Its number of rows (stimuli or time bins).

    Returns
    -------
    dim : str
    coord : tuple or ndarray
        A value for ``xr.Dataset(coords={dim: coord})``.
    """
    dim = code_dims(codes)[0]
    return dim, dim_coord(codes, dim, n)


def dim_coord(value, dim: str, n: int):
    """The coordinate of a result's ``dim``: the input's own, when ``value`` is a
    DataArray with a 1-D coordinate of that dim (its values and attrs), else 0 ... n - 1.

    Numbered from 0, the results of ``fit_gabor(rf.isel(atom=[3, 7]))`` or of codes
    labelled by atom came back as atoms 0 and 1: combined with the input (xarray
    aligns by label), they were paired with other atoms, unsaid.

    Parameters
    ----------
    value : object
        The argument as given.
    dim : str
        The dim of the result, e.g. ``"atom"``.
    n : int
        Its length.

    Returns
    -------
    tuple or ndarray
        A value for ``xr.Dataset(coords={dim: ...})``.
    """
    if isinstance(value, xr.DataArray) and dim in value.coords:
        coord = value.coords[dim]
        index = value.indexes.get(dim)
        if coord.dims == (dim,) and coord.size == n and not hasattr(index, "levels"):
            return (dim, coord.values, dict(coord.attrs))
    return np.arange(n)


def row_coords(value, n: int, dims=DATA_DIMS) -> dict:
    """The coordinates of a result with one row per sample of ``value``: its labels.

    For a DataArray ``value`` with ``len(dims)`` dims (read as :func:`by_dim_names`
    reads it), every coordinate along its rows' dim alone (the index, and labels
    such as a class per sample) and its scalar coordinates; for a DataArray of one
    sample (one dim fewer), its scalar coordinates, that named ``dims[0]`` (left by
    ``X.isel(sample=i)``) as the one row's label. Without such labels (a plain
    array), the rows are numbered 0 ... n - 1. Without them, the codes of
    ``X.isel(sample=[3, 7])`` came back as samples 0 and 1, their labels gone.

    Parameters
    ----------
    value : object
        The argument as given, already checked (``n`` rows).
    n : int
        Number of rows of the result.
    dims : tuple of str
        The argument's dims, rows first (default :data:`DATA_DIMS`); the
        result's rows are ``dims[0]``.

    Returns
    -------
    dict
        Coordinates for ``xr.Dataset(coords=...)`` or ``assign_coords``: always
        ``dims[0]``; its own index's attrs kept (:func:`dim_coord`), a MultiIndex
        (stacked samples) kept with its levels; a row index
        of another name (rows read by position) and the labels kept under their
        own names along ``dims[0]``.
    """
    rows = dims[0]
    coords = {rows: np.arange(n)}
    if not isinstance(value, xr.DataArray):
        return coords
    value = by_dim_names(value, dims, "value")
    if value.ndim == len(dims) and value.shape[0] == n:
        own = value.dims[0]
        index = value.indexes.get(own)
        if own == rows and hasattr(index, "levels"):
            # stacked samples (X.stack(sample=("image", "patch"))): the MultiIndex and its
            # levels, which were dropped (the rows numbered 0 ... n - 1, unsaid)
            coords.update({name: value.coords[name].variable
                           for name in (rows, *index.names)})
        elif own == rows:
            coords[rows] = dim_coord(value, rows, n)
        for name, coord in value.coords.items():
            if name == rows:
                continue
            if coord.dims == (own,) and not hasattr(value.indexes.get(name), "levels"):
                coords[name] = (rows, coord.values, dict(coord.attrs))
            elif coord.ndim == 0:
                coords[name] = coord.variable
    elif value.ndim == len(dims) - 1 and n == 1:
        for name, coord in value.coords.items():
            if coord.ndim == 0:
                coords[name] = ((rows, coord.values[None], dict(coord.attrs)) if name == rows
                                else coord.variable)
    return coords


def label_positions(values, labels) -> np.ndarray:
    """The positions in ``labels`` of each of ``values``, -1 where it is not there.

    Records that name rows by label (the ``spike_sample`` and ``spike_atom`` of
    :func:`v1model.spiking.spiking_lca`, labels of its ``sample`` and ``atom``
    coordinates) turned into the rows' positions, as drawing or indexing needs them.

    Parameters
    ----------
    values : array_like, shape (n,)
        Labels to look up (a DataArray's values are read).
    labels : array_like, shape (n_rows,)
        The rows' labels in row order, unique (e.g. ``ds["atom"]``).

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Row of each value, -1 for a value not among ``labels``.
    """
    import pandas as pd

    index = pd.Index(np.asarray(getattr(labels, "values", labels)).reshape(-1))
    return index.get_indexer(np.asarray(getattr(values, "values", values)).reshape(-1)
                             ).astype(np.int64)


#: ``units`` of a time coordinate that say seconds
_SECONDS = ("s", "second", "seconds", "sec")
#: ``units`` of a time coordinate in fractions of a second, and their value in s: an
#: excerpt's time in ms (as auditory data often is) carried no rate, so sounds at 16 kHz
#: were coded with kernels for 8 kHz unsaid
_SUBSECONDS = {**dict.fromkeys(("ms", "msec", "millisecond", "milliseconds"), 1e-3),
               **dict.fromkeys(("us", "\u00b5s", "\u03bcs", "microsecond", "microseconds"),
                               1e-6)}


def sample_rate_by_labels(value, sample_rate, name: str, time_dims=("lag", "time"),
                          rate_name: str = "sample_rate"):
    """The sample rate (Hz) of a signal: ``sample_rate`` as given, checked against the
    one an ``xarray.DataArray`` ``value`` carries, or that one when none is given.

    A DataArray carries a rate in ``attrs["sample_rate_hz"]`` or as a coordinate of
    one of ``time_dims`` whose ``units`` say seconds (the ``lag`` of learned sound
    kernels), milliseconds (``"ms"``) or microseconds (``"us"``, ``"µs"``): its rate
    is the number of steps over the span. Lags in samples (no units, or other units)
    carry none.

    Parameters
    ----------
    value : object
        The signal argument as given.
    sample_rate : float or None
        The rate given (Hz), already checked (> 0 and finite), or None; named
        in messages as given.
    name : str
        Name of ``value`` in error messages.
    time_dims : tuple of str
        The dims that may hold a time coordinate (default ``("lag", "time")``).
    rate_name : str
        Name of ``sample_rate`` in error messages.

    Returns
    -------
    float or None
        ``sample_rate`` as a float, else the rate ``value`` carries, else None.

    Raises
    ------
    ValueError
        For a ``sample_rate`` other than the one ``value`` carries (relative
        difference over 1e-6), a time coordinate in seconds that is not evenly
        increasing, or a non-positive ``attrs["sample_rate_hz"]``.
    """
    if not isinstance(value, xr.DataArray):
        return sample_rate
    found = where = None
    if value.attrs.get("sample_rate_hz") is not None:
        where = f"{name}.attrs['sample_rate_hz']"
        found = check_positive(value.attrs["sample_rate_hz"], where)
    else:
        for dim in time_dims:
            if dim not in value.dims or dim not in value.coords or value.sizes[dim] < 2:
                continue
            units = value[dim].attrs.get("units")
            unit = units.strip().lower() if isinstance(units, str) else None
            scale = 1.0 if unit in _SECONDS else _SUBSECONDS.get(unit)
            if scale is None:
                continue
            t = np.asarray(value[dim].values, dtype=np.float64)
            steps = np.diff(t)
            if not (np.all(steps > 0) and np.allclose(steps, steps[0], rtol=1e-6, atol=0)):
                raise ValueError(f"the {dim!r} coordinate of {name} (in {units.strip()}) is "
                                 f"not evenly increasing, so it has no sample rate: got "
                                 f"{describe(t.tolist())}")
            where = f"the {dim!r} coordinate of {name} (in {units.strip()})"
            found = (len(t) - 1) / ((t[-1] - t[0]) * scale)
            if abs(found - round(found)) <= 1e-9 * found:  # 8000 Hz, not 7999.999999999999
                found = float(round(found))
            break
    if sample_rate is None:
        return found
    if found is not None and abs(float(sample_rate) - found) > 1e-6 * found:
        raise ValueError(f"{rate_name}={sample_rate!r} contradicts {where}, which says "
                         f"{found:g} Hz: pass {rate_name}={found:g}, or None to take it "
                         f"from {name}")
    return float(sample_rate)


def atoms_by_dim_names(atoms, name: str):
    """:func:`by_dim_names` for atoms as images (3-D, :data:`ATOM_IMAGE_DIMS`) or as
    rows (2-D, :data:`DICTIONARY_DIMS`): read by position, ``da.transpose("atom", "x",
    "y")`` was fitted (and drawn) as transposed images, orientation pi/2 - theta, unsaid.

    Parameters
    ----------
    atoms : object
        The argument as given.
    name : str
        Argument name used in error messages.

    Returns
    -------
    object
        ``atoms``, transposed to those dims when it is a DataArray naming them.
    """
    return by_dim_names(by_dim_names(atoms, ATOM_IMAGE_DIMS, name), DICTIONARY_DIMS, name)


def axis_by_dim_name(value, axis, name: str, dims=None, axis_name: str = "axis", default=None):
    """``value`` and the position of ``axis`` in it, for an ``axis`` given by dim name.

    A str ``axis`` names a dim of the ``xarray.DataArray`` ``value`` and becomes
    its position (``value`` as given). An int ``axis`` is returned as it is,
    with a DataArray ``value`` read by name (:func:`by_dim_names` with ``dims``):
    it counts ``dims``' order, so that a default axis means the same dim for
    a DataArray with exactly the dims ``dims``, in any order, as for the plain
    array (read by position, ``kurtosis(codes_da.T)`` was the kurtosis per
    sample, unsaid); any other DataArray is read by position. On a DataArray
    whose dims are ``dims`` in another order, an int other than ``default`` is
    refused when ``dims``' order and the DataArray's own order read it as
    different dims (``circular_variance(curves_da, axis=0)`` of curves
    (orientation, atom) ran over the atoms, unsaid): the dim name says which.
    The int is checked by the caller (:func:`check_axis`), once ``value`` is
    an array.

    Parameters
    ----------
    value : object
        The array argument as given.
    axis : int or str
        An axis index, or a dim name of a DataArray ``value``.
    name : str
        Name of ``value`` in error messages.
    dims : tuple of str, optional
        The dim names of ``value``'s axes in order (e.g. :data:`CODE_DIMS`);
        default: an int axis counts a DataArray's axes by position.
    axis_name : str
        Name of ``axis`` in error messages (default "axis").
    default : int, optional
        The caller's default ``axis``, documented to mean a dim of ``dims``:
        taken by ``dims``' order on any DataArray (it cannot be told from the
        same int given explicitly).

    Returns
    -------
    value : object
        ``value``, transposed to ``dims`` for an int axis when it names them.
    axis : int or object
        The position of a named dim; any other ``axis`` as given.

    Raises
    ------
    TypeError
        For a str ``axis`` with a ``value`` that is not a DataArray (a plain
        array has no dim names).
    ValueError
        For a str ``axis`` that is not one of the DataArray's dims (naming
        them), or an int other than ``default`` that ``dims``' order and the
        DataArray's own read as different dims.
    """
    if not isinstance(axis, str):
        # only a DataArray with exactly ``dims`` is reordered: any other is read by
        # position, as before (treves_rolls of a tuning curve (atom, orientation))
        if (dims is not None and isinstance(value, xr.DataArray)
                and value.ndim == len(dims) and set(value.dims) == set(dims)):
            given = tuple(value.dims)
            if (isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_))
                    and axis != default and -len(dims) <= axis < len(dims)
                    and given[axis] != dims[axis]):
                raise ValueError(
                    f"{axis_name}={int(axis)} is ambiguous for {name} with dims {given}: an "
                    f"int counts the dims {tuple(dims)} in that order, where it is "
                    f"{dims[axis]!r}, but axis {int(axis)} of {name} is {given[axis]!r}; "
                    f"pass the dim name, {axis_name}={dims[axis]!r} or "
                    f"{axis_name}={given[axis]!r}")
            value = value.transpose(*dims)
        return value, axis
    if not isinstance(value, xr.DataArray):
        raise TypeError(f"{axis_name}={axis!r} is a dim name, which only an xarray.DataArray "
                        f"has; {name} is {describe(value)}: pass {axis_name} as an int")
    if axis not in value.dims:
        raise ValueError(f"{axis_name}={axis!r} is not a dim of {name}, whose dims are "
                         f"{tuple(value.dims)}")
    return value, value.dims.index(axis)


def check_array(
    value,
    name: str,
    ndim: int | tuple[int, ...] | None = None,
    dtype=np.float64,
    allow_empty: bool = False,
    finite: bool = True,
    copy: bool = False,
    dims: tuple[str, ...] | None = None,
) -> np.ndarray:
    """Convert ``value`` to a float array and check its shape and values.

    Parameters
    ----------
    value : array_like
        Real numeric values, any shape (complex values are rejected).
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Accepted numbers of dimensions (default: any).
    dtype : dtype
        Target floating dtype (default float64).
    allow_empty : bool
        Whether an array with a zero-length axis is accepted (default False).
    finite : bool
        Reject NaN and infinity (default True).
    copy : bool
        Always return a copy (default False: the result is ``value`` itself
        when that is already an ndarray of ``dtype``).
    dims : tuple of str, optional
        The dim names of ``value``'s axes, in order (e.g. :data:`DATA_DIMS`):
        an ``xarray.DataArray`` naming them is read by name
        (:func:`by_dim_names`); default: by position.

    Returns
    -------
    ndarray
        ``value`` as an array of ``dtype``, of the shape of ``value`` (its
        axes in the order ``dims``).

    Raises
    ------
    TypeError
        For None, a bool alone (``True``, ``np.True_`` or a 0-d bool array;
        an array of bools is read as 0 and 1), complex values (a
        :class:`ComplexDataError`, a ValueError too) or values that
        are not numeric (strings, dates and durations included, and ragged
        nested lists), and for a scipy.sparse matrix (:func:`check_dense`).
    ValueError
        For a wrong number of dimensions, an empty array (unless
        ``allow_empty``), a masked array with masked values
        (:func:`check_dense`), a DataArray whose dims contradict ``dims``, or,
        with ``finite``, NaN or infinite values, including values beyond the
        range of ``dtype``.
    """
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    refuse_bare_bool(value, name)
    if dims is not None:
        value = by_dim_names(value, dims, name)
    check_dense(value, name)
    converted, kind = numeric_kind(value, name)
    try:
        with np.errstate(over="ignore"):  # values beyond dtype's range: reported below
            arr = (np.array(converted, dtype=dtype, copy=True) if copy
                   else np.asarray(converted, dtype=dtype))
    except (TypeError, ValueError) as exc:
        check_no_missing(value, name)  # as given: a DataFrame's labels name the place
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}") from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimension(s), got {arr.ndim} (shape {arr.shape})"
            )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and arr.size and not _all_finite(arr):
        n_bad, first = _count_non_finite(converted, arr, name)
        raise ValueError(f"{name} contains {n_bad} non-finite value(s) (NaN or inf)" + (
            f", the first at index {first[0]} ({first[1]}){pandas_labels(value, first[0])}"
            if first is not None else ""))
    source = getattr(converted, "dtype", None)
    if (arr.size and source is not None and np.dtype(source).kind == "f"
            and np.dtype(source).itemsize > arr.itemsize):
        _check_not_underflowed(converted, arr, name)
    return arr


#: elements per block of rows in the finite check: a 1 MB bool temporary, not one the
#: size of the data (1e6 x 256 float32 samples made a 256 MB one for every input check)
_FINITE_BLOCK = 2 ** 20


def array_shape(value, name: str) -> tuple[int, ...]:
    """The shape of array_like ``value``, without converting it to floats.

    Parameters
    ----------
    value : array_like
        Anything ``np.shape`` takes.
    name : str
        Argument name used in error messages.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        For a ragged nested list (numpy's own message named no argument), as
        :func:`check_array` refuses it.
    """
    try:
        return np.shape(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}"
                        f"{_ragged_note(value)}") from exc


class ComplexDataError(TypeError, ValueError):
    """Complex values where real numbers are needed (casting would drop the imaginary
    part with only a warning): a TypeError, as :func:`check_array` refuses every value
    that is not real numbers, and a ValueError, as scikit-learn's estimator checks
    expect of a ``fit`` given complex data (``check_complex_data``)."""


def complex_data_error(name: str, shown: str, note: str = "",
                       expected: str = "") -> ComplexDataError:
    """The one error for complex values where real numbers are needed, for the caller
    to raise: "``name`` must be real [``expected``], got complex values (``shown``)
    ``note``".

    Parameters
    ----------
    name : str
        Argument name (or e.g. ``"encoder(X)"``).
    shown : str
        What was given, e.g. :func:`describe` of it.
    note : str, optional
        Appended to the message.
    expected : str, optional
        What the real values are, e.g. ``"contrasts"``.

    Returns
    -------
    ComplexDataError
    """
    what = f"real {expected}" if expected else "real"
    return ComplexDataError(f"{name} must be {what}, got complex values ({shown}){note}")


def refuse_bare_bool(value, name: str) -> None:
    """Refuse a bare bool (or 0-d bool array or DataArray) where numbers are needed.

    Raises
    ------
    TypeError
        For ``True``, ``np.bool_(False)``, ``np.array(True)`` and the like,
        naming ``name``.
    """
    if isinstance(_unwrap_0d(value), (bool, np.bool_)):
        # a bare bool was read as 0.0 or 1.0: grating(..., contrast=True) drew a grating,
        # frequency=True was refused as "got 1.0"; the scalar checks (_as_real) refuse it
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{describe(value)} (a bool)")


def numeric_kind(value, name: str, complex_note: str = ""):
    """``value`` (converted to an array where it has no dtype of its own) and its dtype
    kind, refused unless it can hold real numbers: the type checks of
    :func:`check_array`, which the learners' data checks share.

    Parameters
    ----------
    value : array_like
        Not None, dense (see :func:`check_dense`).
    name : str
        Argument name used in error messages.
    complex_note : str, optional
        Appended to the message for complex values (the learners add the words
        scikit-learn's estimator checks look for).

    Returns
    -------
    converted : array_like
        ``value`` itself when it has a dtype numpy understands, else
        ``np.asarray(value)``.
    kind : str
        Its dtype kind: "f", "i", "u", "b" or "O" (an object array, which the
        caller converts).

    Raises
    ------
    TypeError
        For values numpy cannot convert (ragged nested lists, an
        ``xarray.Dataset``), strings, dates and durations.
    ComplexDataError
        For complex values (a TypeError and a ValueError).
    """
    try:
        # np.iscomplexobj converts value too: a ragged list or an xarray.Dataset failed
        # there with numpy's or xarray's message, which named no argument
        converted, kind = _with_dtype_kind(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}"
                        f"{_ragged_note(value)}") from exc
    if kind == "c":  # casting would drop the imaginary part with only a warning
        raise complex_data_error(name, describe(value), complex_note)
    if kind in "USMm":  # strings, dates and durations were cast to floats unsaid
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}")
    return converted, kind


def _ragged_note(value) -> str:
    """For a list or tuple of arrays of different shapes, a note naming them (sounds
    of different lengths, as ``stimuli.audio.load_wav_folder`` returns them, were told
    only that they were "not a numeric array"); else ""."""
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        return ""
    try:
        shapes = [np.shape(item) for item in value]
    except (TypeError, ValueError):  # ragged deeper down: nothing short to say
        return ""
    if len(set(shapes)) < 2:
        return ""
    shown = ", ".join(map(str, shapes[:3])) + (", ..." if len(shapes) > 3 else "")
    return (f"; its {len(shapes)} items have different shapes ({shown}): give items of "
            "one shape (cut or pad them to one length)")


def check_dense(value, name: str) -> None:
    """Refuse a scipy.sparse matrix, and a NumPy masked array with masked values.

    Neither fails a conversion to an array in a way that says so: a sparse
    matrix became a 0-d object array, refused as "not a numeric array" with
    scipy's description cut off, and a masked array lost its mask, so that
    the masked values were used as numbers without a word. A masked array
    with nothing masked is an array like any other and passes.

    Parameters
    ----------
    value : object
        The input as given.
    name : str
        Argument name used in the message.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``value`` is a scipy.sparse matrix or array: pass
        ``value.toarray()``.
    ValueError
        If ``value`` is a masked array with masked values (their count and
        the first one's index are given): fill or drop them first.
    """
    if hasattr(value, "tocsr"):  # scipy.sparse matrices and arrays
        raise TypeError(f"{name} is a sparse matrix ({type(value).__name__}, shape "
                        f"{value.shape}); a dense array is needed: pass {name}.toarray()")
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value)
        if mask.any():
            first = tuple(int(i) for i in np.argwhere(mask)[0])
            # a 0-d masked array (np.ma.masked) has no index: first[0] raised IndexError
            where = ("" if not first else
                     f", the first at index {first if len(first) > 1 else first[0]}")
            raise ValueError(
                f"{name} is a masked array with {int(mask.sum())} masked value(s){where}; "
                f"masks are not used (the "
                f"masked values would be taken as numbers): fill them ({name}.filled(value)) "
                "or drop the samples that hold them")


def _all_finite(arr) -> bool:
    """Whether every value of the float array ``arr`` is finite, read in blocks of rows
    of about :data:`_FINITE_BLOCK` elements (``np.isfinite`` of the whole array was a
    bool temporary of its size; the details of a failure are counted only on failure)."""
    if arr.ndim < 2:
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr.reshape(1, 1)
    step = max(1, _FINITE_BLOCK // max(1, arr[0].size))
    return all(np.isfinite(arr[i:i + step]).all() for i in range(0, arr.shape[0], step))


def _check_not_underflowed(value, arr, name) -> None:
    """Refuse a cast to a narrower float that lost a non-zero ``value`` entirely: every
    value below the smallest normal number of ``arr``'s dtype (1e-300 in float32 became
    zeros, and the codes of zeros, without a word)."""
    tiny = float(np.finfo(arr.dtype).tiny)
    if max(float(arr.max()), -float(arr.min())) >= tiny:  # no |arr| temporary
        return
    top = float(np.max(np.abs(value)))
    if top > 0:
        raise ValueError(
            f"{name} has values of at most {top:.3g}, below the range of {arr.dtype} "
            f"(smallest normal number {tiny:.3g}): they would be lost to zero; rescale "
            f"{name} or use float64")


def check_no_missing(value, name: str) -> None:
    """Refuse pandas' missing values (``pd.NA`` of the nullable ``Float64`` /
    ``Int64`` dtypes, ``pd.NaT``) in ``value``, naming the first one's position
    (and its row and column labels, see :func:`pandas_labels`).

    Call it where converting ``value`` to floats failed: ``pd.NA`` does not
    convert (``float(pd.NA)`` raises), and the message said only that ``value``
    did not hold real numbers. Does nothing when pandas is not loaded (then
    ``value`` cannot hold its missing values) or ``value`` has none.

    Parameters
    ----------
    value : array_like
        The input as given, e.g. a DataFrame, or an object array of it.
    name : str
        Argument name used in the message.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        If ``value`` holds a missing value.
    """
    pd = sys.modules.get("pandas")
    if pd is None:
        return
    try:
        missing = np.asarray(pd.isna(np.asarray(value, dtype=object)), dtype=bool)
    except (TypeError, ValueError):
        return
    if missing.any():
        first = tuple(int(i) for i in np.argwhere(missing)[0])
        raise ValueError(
            f"{name} contains {int(missing.sum())} missing value(s) (pd.NA, NaN or None), the "
            f"first at index {first}{pandas_labels(value, first)}; drop or fill them (e.g. "
            f"{name}.dropna() or {name}.fillna(value)) before passing {name}")


def pandas_labels(value, index) -> str:
    """The labels of the element at position ``index`` of a pandas DataFrame or
    Series, for an error message that gives the position too.

    A user with a labelled index ("s17") looks a row up by its label, not by its
    position: each axis whose labels are not its positions (the default
    ``RangeIndex``) names its label.

    Parameters
    ----------
    value : object
        The input as given; anything but a DataFrame or Series gives "".
    index : int or tuple of int
        Position of the element (row, column for a DataFrame).

    Returns
    -------
    str
        ``", row label 's17', column 'a'"`` (only the axes with labels of
        their own), or "".

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, None]}, index=["s16", "s17"])
    >>> pandas_labels(frame, (1, 0))
    ", row label 's17', column 'a'"
    """
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(value, (pd.DataFrame, pd.Series)):
        return ""
    position = index if isinstance(index, tuple) else (index,)
    axes = [("row label", value.index)]
    if isinstance(value, pd.DataFrame):
        axes.append(("column", value.columns))
    parts = []
    for (what, labels), i in zip(axes, position):
        if isinstance(labels, pd.RangeIndex) and labels.start == 0 and labels.step == 1:
            continue  # the labels are the positions
        try:
            label = labels[i]
        except IndexError:  # a position of another shape: the message goes without
            return ""
        if isinstance(label, np.generic):  # 5, not np.int64(5)
            label = label.item()
        parts.append(f"{what} {label!r}")
    return "".join(f", {part}" for part in parts)


def _with_dtype_kind(value):
    """``value`` and its dtype kind ("f", "c", "U", ...): from its own ``dtype`` where it
    has one numpy understands (no conversion: a dask-backed DataArray is not computed
    twice), else ``value`` converted to an array (which may raise), so that a list is
    converted once."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        try:
            return value, np.dtype(dtype).kind
        except TypeError:  # e.g. torch's or pandas' own dtypes
            pass
    value = np.asarray(value)
    return value, value.dtype.kind


def _count_non_finite(value, arr, name):
    """The number of non-finite values of the input ``value`` (not those of ``arr``
    that the cast to a narrower dtype made infinite) and the first one's index and
    value (None for a 0-d array); where the input is all finite, a ValueError that
    says its values exceed the dtype's range."""
    wide = arr
    if arr.dtype != np.float64:
        try:
            wide = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            wide = arr
        if wide is not arr and np.all(np.isfinite(wide)):
            raise ValueError(
                f"{name} has values up to {float(np.max(np.abs(wide))):.3g}, beyond the range "
                f"of {arr.dtype} (largest {float(np.finfo(arr.dtype).max):.3g}); rescale "
                f"{name} or use float64")
    finite = np.isfinite(wide)
    n_bad = int(np.size(wide) - np.count_nonzero(finite))
    # the first one's place: a count alone left the user searching a large array
    where = np.argwhere(~finite)
    if not n_bad or where.shape[1] == 0:
        return n_bad, None
    index = tuple(int(i) for i in where[0])
    return n_bad, (index if len(index) > 1 else index[0], float(wide[index]))


def abs_max(arr, axis=None):
    """``np.abs(arr).max(axis)`` without the ``|arr|`` temporary, the size of ``arr``
    (a float64 copy of every dictionary at every solver call): as the larger of the
    largest value and minus the smallest, the same numbers.

    Parameters
    ----------
    arr : ndarray
        Real values, not empty along ``axis``.
    axis : int, optional
        Axis to reduce (default: all of them).

    Returns
    -------
    ndarray or float
        The largest ``|value|``, along ``axis``.
    """
    return np.maximum(arr.max(axis=axis), -arr.min(axis=axis))


def check_dictionary(D, name: str = "D", dtype=np.float64, normalized: bool = False) -> np.ndarray:
    """Validate a dictionary of shape ``(n_atoms, n_features)``.

    Rejects all-zero atoms (they have no direction). With ``normalized=True``
    the atoms are rescaled to unit norm in a copy.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row; finite, not empty (a DataArray with dims
        :data:`DICTIONARY_DIMS` is read by name, :func:`by_dim_names`).
    name : str
        Argument name used in error messages (default "D").
    dtype : dtype
        Target floating dtype (default float64).
    normalized : bool
        Rescale every atom to unit Euclidean norm (default False).

    Returns
    -------
    ndarray, shape (n_atoms, n_features)
        The dictionary as an array of ``dtype``; with ``normalized``, a copy
        whose rows have unit norm.

    Raises
    ------
    TypeError
        For values that are not a real numeric array.
    ValueError
        For an array that is not 2-D, is empty, holds NaN or infinite values,
        or has an atom of zero norm.
    """
    D = check_array(D, name, ndim=2, dtype=dtype, dims=DICTIONARY_DIMS)
    # norms taken as (row max) * ||row / row max||: no overflow for huge entries; an
    # atom is zero only when it is (a tiny atom is valid: the solvers check that their
    # products stay in their precision's range)
    row_max = abs_max(D, axis=1)
    zero = np.flatnonzero(row_max == 0)
    if zero.size:
        raise ValueError(
            f"{name} has {zero.size} atom(s) (rows) with zero norm, e.g. row {int(zero[0])}; "
            "every atom needs a direction"
        )
    if normalized:
        scaled = D / row_max[:, None]
        D = scaled / np.sqrt(np.einsum("ij,ij->i", scaled, scaled))[:, None]
    return D


def image_atom_shape(D, d_name: str = "D"):
    """The ``(height, width)`` of a dictionary of atoms as images ``(n_atoms, height,
    width)`` (a DataArray over :data:`ATOM_IMAGE_DIMS` read by dim name), as
    :func:`flatten_image_atoms` reads them; None for anything else (rows, or values
    the callers' own checks refuse).

    Parameters
    ----------
    D : array_like
        Dictionary as given.
    d_name : str
        Argument name used in error messages (default "D").

    Returns
    -------
    tuple of int or None
    """
    try:
        shape = array_shape(atoms_by_dim_names(D, d_name), d_name)
    except (TypeError, ValueError):  # ragged or unreadable: check_dictionary says so
        return None
    return tuple(int(s) for s in shape[1:]) if len(shape) == 3 else None


def flatten_image_atoms(X, D, x_name: str = "X", d_name: str = "D"):
    """``X`` and ``D`` with atoms given as images flattened to rows, as the dense solvers
    take them.

    A dictionary of atoms as images, ``(n_atoms, height, width)`` (a network's or a
    study's ``ds["dictionary"]`` over :data:`ATOM_IMAGE_DIMS`, read by dim name), becomes
    ``(n_atoms, height * width)``, each atom flattened row-major: the order in which the
    package flattens patches (:func:`stimuli.sample_patches`,
    :class:`~v1model.network.SparseCodingNetwork`), so ``X`` of such patches matches it.
    ``X`` given as a stack of patches ``(n_samples, height, width)`` of the atoms' shape
    (a DataArray over ``(sample, y, x)`` read by dim name) is flattened the same way.
    ``X`` whose features are not the atoms' ``height * width`` pixels is refused here,
    naming ``D``'s shape as given (convolutional kernels passed to a dense solver, or a
    3-D dictionary that is not of images). Anything else is returned as given, for the
    callers' own checks.

    Parameters
    ----------
    X : array_like or None
        Data as given: ``(n_samples, n_features)``, ``(n_features,)``, or, with atoms as
        images, ``(n_samples, height, width)``; None for a caller that takes a dictionary
        alone (:func:`~v1model.inference.max_stable_dt`, the coherence measures), returned
        as None.
    D : array_like
        Dictionary as given: ``(n_atoms, n_features)`` or ``(n_atoms, height, width)``.
    x_name, d_name : str
        Argument names used in error messages (default "X" and "D").

    Returns
    -------
    X, D : array_like
        As given, or flattened to ``(n_samples, height * width)`` and
        ``(n_atoms, height * width)``.

    Raises
    ------
    ValueError
        For ``X`` whose patches or features are not of the atoms' shape.
    """
    atoms = atoms_by_dim_names(D, d_name)
    try:
        d_shape = array_shape(atoms, d_name)
    except (TypeError, ValueError):  # ragged or unreadable: check_dictionary says so
        return X, D
    if len(d_shape) != 3:
        return X, D
    n_atoms, h, w = d_shape
    D = np.asarray(atoms).reshape(n_atoms, h * w)
    X_images = by_dim_names(X, ("sample",) + ATOM_IMAGE_DIMS[1:], x_name)
    try:
        x_shape = array_shape(X_images, x_name)
    except (TypeError, ValueError):
        return X, D
    # with atoms as images, other data meant something else: the solvers' own message
    # named D of shape (n_atoms, h * w), a shape the caller never passed
    not_dense = (f"{d_name} of shape {d_shape} is read as {n_atoms} atoms, images of "
                 f"{h}x{w} = {h * w} pixels; kernels to convolve with whole images go to "
                 f"v1model.convolutional, and a dictionary that is not of images must be "
                 f"2-D (n_atoms, n_features)")
    if len(x_shape) == 3:
        if x_shape[1:] != (h, w):
            raise ValueError(f"{x_name} has patches of shape {x_shape[1:]} (shape {x_shape}) "
                             f"but {not_dense}; pass patches of the atoms' shape")
        X = np.asarray(X_images).reshape(x_shape[0], h * w)
    elif len(x_shape) in (1, 2):
        n_features = array_shape(by_dim_names(X, DATA_DIMS, x_name), x_name)[-1]
        if n_features != h * w:
            one_patch = ("; one patch as an image: pass it as shape (1, height, width)"
                         if x_shape == (h, w) else "")
            raise ValueError(f"{x_name} has {n_features} features per sample (shape "
                             f"{x_shape}) but {not_dense}{one_patch}")
    return X, D


def check_data_and_dictionary(X, D, dtype=np.float64, x_name="X", d_name="D"):
    """Validate data ``X`` (n_samples, n_features) against ``D`` (n_atoms, n_features).

    A single sample of shape ``(n_features,)`` is accepted and promoted to 2-D.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Data, one sample per row; finite, not empty (a DataArray with dims
        :data:`DATA_DIMS` is read by name, :func:`by_dim_names`). With atoms
        as images, also ``(n_samples, height, width)`` patches of their shape
        (:func:`flatten_image_atoms`).
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row (checked by :func:`check_dictionary`,
        not normalised), or atoms as images, flattened row-major
        (:func:`flatten_image_atoms`; a DataArray over :data:`ATOM_IMAGE_DIMS`
        by dim name).
    dtype : dtype
        Target floating dtype of both (default float64).
    x_name, d_name : str
        Argument names used in error messages (default "X" and "D").

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
        The data as an array of ``dtype`` (``n_samples = 1`` for a single
        sample).
    D : ndarray, shape (n_atoms, n_features)
        The dictionary as an array of ``dtype``.

    Raises
    ------
    TypeError
        For values that are not real numeric arrays.
    ValueError
        For arrays of the wrong dimensions, empty or non-finite ones, an atom
        of zero norm, or different numbers of features.
    """
    X, D = flatten_image_atoms(X, D, x_name, d_name)
    D = check_dictionary(D, d_name, dtype=dtype)
    X = check_array(X, x_name, ndim=(1, 2), dtype=dtype, dims=DATA_DIMS)
    check_same_features(X, D, x_name, d_name)  # before the reshape: the user's shape
    if X.ndim == 1:
        X = X[None, :]
    return X, D


def check_same_features(X, D, x_name: str = "X", d_name: str = "D") -> None:
    """Data (n_samples, n_features) and a dictionary (n_atoms, n_features) agree.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features) or (n_features,)
        Data, one sample per row, or one sample as the user gave it (checked
        before it becomes a row: the messages show the user's shape, not
        ``(1, n_features)``).
    D : ndarray, shape (n_atoms, n_features)
        Dictionary, one atom per row (already 2-D).
    x_name, d_name : str
        Argument names used in error messages (default "X" and "D").

    Returns
    -------
    None

    Raises
    ------
    ValueError
        When ``X`` and ``D`` have different numbers of features (columns); the
        message says ``D`` looks transposed when its *rows* match the features
        of ``X`` (scikit-learn's ``orthogonal_mp`` and ``Lasso`` take the
        dictionary one atom per column).
    """
    n_features = X.shape[-1]
    if D.shape[1] != n_features and D.shape[0] == n_features:
        raise ValueError(
            f"{d_name} has shape {D.shape} but {x_name} has {n_features} features per sample "
            f"(shape {X.shape}): {d_name} looks transposed. Dictionaries here are "
            f"(n_atoms, n_features), one atom per row (scikit-learn's components_; "
            f"orthogonal_mp and Lasso take the transpose, one atom per column): pass "
            f"{d_name}.T, of shape {D.shape[::-1]}"
        )
    if n_features != D.shape[1]:
        raise ValueError(
            f"{x_name} has {n_features} features per sample (shape {X.shape}) but "
            f"{d_name} has {D.shape[1]} features per atom (shape {D.shape}); "
            f"expected {x_name} of shape (n_samples, {D.shape[1]})"
        )


def check_bool(value, name: str) -> bool:
    """A Python or NumPy bool (not 0/1 or a string: ``positive="no"`` is truthy).

    Parameters
    ----------
    value : bool or numpy.bool_
    name : str
        Argument name used in error messages.

    Returns
    -------
    bool
        ``value`` as a Python bool.

    Raises
    ------
    TypeError
        For anything that is not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {describe(value)}")
    return bool(value)


def check_positive(value, name: str, allow_inf: bool = False) -> float:
    """A real number > 0.

    Parameters
    ----------
    value : int or float
        A real number (Python or NumPy, or a 0-d array or DataArray of one; bools are
        rejected).
    name : str
        Argument name used in error messages.
    allow_inf : bool
        Accept ``+inf`` (default False: finite only).

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    TypeError
        For a bool or a value that is not a real number.
    ValueError
        For a value that is not > 0, NaN, or infinity without ``allow_inf``.
    """
    v = _as_real(value, name)
    if not (v > 0) or (not allow_inf and not np.isfinite(v)):
        raise ValueError(f"{name} must be a positive finite number, got {describe(value)}")
    return v


def check_nonnegative(value, name: str) -> float:
    """A real number >= 0.

    Parameters
    ----------
    value : int or float
        A finite real number (Python or NumPy, or a 0-d array or DataArray of one; bools
        are rejected).
    name : str
        Argument name used in error messages.

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    TypeError
        For a bool or a value that is not a real number.
    ValueError
        For a negative, NaN or infinite value.
    """
    v = _as_real(value, name)
    if not (v >= 0) or not np.isfinite(v):
        raise ValueError(f"{name} must be a non-negative finite number, got {describe(value)}")
    return v


def check_probability(value, name: str, open_interval: bool = True) -> float:
    """A real number in (0, 1) (or [0, 1] with ``open_interval=False``).

    Parameters
    ----------
    value : int or float
        A real number (Python or NumPy, or a 0-d array or DataArray of one; bools are
        rejected).
    name : str
        Argument name used in error messages.
    open_interval : bool
        Exclude 0 and 1 (default True).

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    TypeError
        For a bool or a value that is not a real number.
    ValueError
        For a value outside the interval (NaN included).
    """
    v = _as_real(value, name)
    ok = (0 < v < 1) if open_interval else (0 <= v <= 1)
    if not ok:
        rng = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be in {rng}, got {describe(value)}")
    return v


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer within ``[minimum, maximum]``.

    Parameters
    ----------
    value : int
        An integer (Python or NumPy, or a 0-d array or DataArray of one), or a real number
        with an integer value such as ``3.0``; bools are rejected.
    name : str
        Argument name used in error messages.
    minimum, maximum : int, optional
        Inclusive bounds (default: none).

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    TypeError
        For a bool, a non-integral number or a value that is not a number.
    ValueError
        For a value below ``minimum`` or above ``maximum``.
    """
    value = _unwrap_0d(value)
    if isinstance(value, (bool, np.bool_)):  # True is an Integral, but never a count
        raise TypeError(f"{name} must be an integer, got {describe(value)}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_axis(axis, ndim: int, name: str = "axis") -> int:
    """An axis of an array with ``ndim`` dimensions (negative counts from the end).

    Parameters
    ----------
    axis : int
        Axis index, in ``[-ndim, ndim - 1]``.
    ndim : int
        Number of dimensions of the array.
    name : str
        Argument name used in error messages (default "axis").

    Returns
    -------
    int
        ``axis`` as a Python int, not wrapped (a negative axis stays
        negative).

    Raises
    ------
    TypeError
        For an axis that is not an integer.
    ValueError
        For an axis outside ``[-ndim, ndim - 1]``.
    """
    axis = check_int(axis, name)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} must be in [{-ndim}, {ndim - 1}] for an array of {ndim} "
                         f"dimension(s), got {axis}")
    return axis


def check_shape(arr, name: str, shape) -> np.ndarray:
    """``arr`` with exactly ``shape``; the error names ``name`` and both shapes.

    Parameters
    ----------
    arr : ndarray
        Array whose shape is checked.
    name : str
        Argument name used in error messages.
    shape : tuple of int
        The required shape.

    Returns
    -------
    ndarray
        ``arr`` itself, unchanged.

    Raises
    ------
    ValueError
        When ``arr.shape`` differs from ``shape``.
    """
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr


def check_positive_or_auto(value, name: str):
    """``"auto"``, or a positive finite number (as :func:`check_positive`).

    Parameters
    ----------
    value : float or "auto"
    name : str
        Argument name used in error messages.

    Returns
    -------
    float or str
        The number as a float, or ``"auto"``.

    Raises
    ------
    ValueError
        For another string, or a number that is not positive and finite.
    TypeError
        For a value that is neither a string nor a real number.
    """
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be a positive float or 'auto', got {describe(value)}")
        return value
    return check_positive(value, name)


#: what :func:`check_path` may be asked for, as its message words it
_PATH_KINDS = ("file", "folder", "file or folder")


def check_path(path, name: str = "path", kind: str = "file") -> Path:
    """A file or folder name as a ``Path``, its ``$VAR`` (``${VAR}``) and ``~`` expanded.

    Every path a study takes (``images``, ``dictionary``, ``reference``,
    ``audio_dir``, ``v1model study run --out``) comes through here, so that a
    sweep spec's ``images = "$SCRATCH/imgs"``, which no shell expanded, names the
    same folder as on a command line.

    Parameters
    ----------
    path : str or os.PathLike
        Not empty.
    name : str, default "path"
        Argument name used in error messages.
    kind : {"file", "folder", "file or folder"}, default "file"
        What ``path`` names, for the message of a value that is no path
        ("folder must be a folder name ...": a folder argument was asked for a
        "file name"). Whether it exists, and is of that kind, is the caller's
        to check.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        For anything else (None, a number: pathlib's own message named no argument)
        or an empty name.
    ValueError
        For a ``$VAR`` that is not set (``os.path.expandvars`` left it as written: a
        folder literally named ``$SCRATCH`` was looked for) unless a file or folder
        of that name, as written, exists (``run$a.nc``: it is that one), and for a ``${`` not
        closed by ``}`` after a variable name (``"a/${SCRATCH"``, ``"${}"``), which it
        left as written too.
    """
    check_choice(kind, "kind", _PATH_KINDS)
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise TypeError(f"{name} must be a {kind} name (str or os.PathLike), got {path!r}")
    # a "${" that is no "${NAME}": a typo, read as a folder literally named "${SCRATCH"
    if re.search(r"\$\{(?![A-Za-z_]\w*\})", os.fspath(path)):
        raise ValueError(f"{name}: {os.fspath(path)!r} has a '${{' that is not closed "
                         "after a variable name; write ${VAR} (or $VAR)")
    expanded = os.path.expandvars(os.fspath(path))
    unset = re.search(r"\$(\{)?([A-Za-z_]\w*)(?(1)\})", expanded)
    if unset:
        # a file that exists under that name ("run$a.nc", "$HOME/run$a.nc") is that file:
        # a `$` in a file name is no variable to refuse, and it could not be read otherwise
        if Path(expanded).expanduser().exists():
            return Path(expanded).expanduser()
        raise ValueError(f"{name}: {os.fspath(path)!r} uses the environment variable "
                         f"{unset.group(2)}, which is not set")
    # "~/r.nc" must be the same file for the writer and for the readers (h5py and
    # xarray expand it; a literal "~" folder would be created otherwise)
    return Path(expanded).expanduser()


def check_choice(value, name: str, choices) -> str:
    """One of a fixed set of names; the error lists the valid ones.

    Parameters
    ----------
    value : str
        The name given.
    name : str
        Argument name used in error messages.
    choices : sequence of str
        The valid names.

    Returns
    -------
    str
        ``value`` itself, unchanged.

    Raises
    ------
    ValueError
        When ``value`` is not in ``choices``.
    """
    try:
        valid_choice = bool(value in choices)
    except (TypeError, ValueError):  # an array compared element-wise: numpy's message
        valid_choice = False
    if not valid_choice:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {describe(value)}")
    return value


def refuse_unused_settings(value, settings, name: str = "method") -> None:
    """Refuse, by name, the first of ``settings`` given that the choice ``name=value``
    does not use (it was ignored, and recorded in attrs as if the run had used it).

    Parameters
    ----------
    value : str
        The choice that runs, e.g. ``"mp"`` (of ``method``) or ``"cauchy"`` (of a
        network's ``prior``).
    settings : iterable of (str, object, str)
        Each setting the choice does not use: its name as the caller's user knows it
        (an argument, a study's ``-p`` parameter), its value (None: not given) and why
        it does not apply, with what to do instead.
    name : str, default "method"
        The name of the choice (an argument or a network's attribute).

    Raises
    ------
    ValueError
        ``"{setting}={given!r} does not apply to {name}={value!r}: {why}"``, for the
        first setting given.
    """
    for setting, given, why in settings:
        if given is not None:
            raise ValueError(f"{setting}={given!r} does not apply to {name}={value!r}: {why}")


def did_you_mean(name, names, n: int = 1, parts: bool = False) -> str:
    """The hint an error gives after a name it does not know: the closest of ``names``.

    Parameters
    ----------
    name : str
        The name given (a misspelt parameter, option or study).
    names : iterable of str
        The valid names.
    n : int, default 1
        At most this many names are suggested, the closest first.
    parts : bool, default False
        Suggest first the names that contain ``name`` (in the order of ``names``:
        "rozell" for "zhu-rozell-2013-ncrf"), then, when none does, the near
        spellings.

    Returns
    -------
    str
        ``" (did you mean 'a'?)"`` or ``" (did you mean 'a' or 'b'?)"``, to follow
        the name in a message; ``""`` when no name is close (difflib's ratio
        below 0.6).

    Examples
    --------
    >>> did_you_mean("n_stepz", ["n_steps", "tol", "dt"])
    " (did you mean 'n_steps'?)"
    >>> did_you_mean("xyz", ["n_steps", "tol"])
    ''
    """
    import difflib

    key, names = str(name), [str(c) for c in names]
    close = [c for c in names if key and key in c][:n] if parts else []
    close = close or difflib.get_close_matches(key, names, n=n, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def physical_memory() -> float | None:
    """The memory this process may use, in bytes; None where it cannot be told.

    The machine's physical memory (``os.sysconf`` on Linux and macOS, else
    psutil when it is installed), or its control group's limit when that is
    lower: a SLURM job's ``--mem`` on a large node, a container's limit (the
    node's RAM let a 100 GB allocation through in a 16 GB job, which the
    out-of-memory killer then ended), or the address-space limit (``ulimit -v``)
    when that is lower: past it every allocation fails, NumPy's with a
    MemoryError, and those inside a BLAS call may end the process (OpenBLAS does
    not check all of its own).
    """
    total = None
    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        try:
            import psutil

            total = float(psutil.virtual_memory().total)
        except ImportError:
            pass
    for limit in (cgroup_memory_limit(), address_space_limit()):
        if limit is not None and (total is None or limit < total):
            total = limit
    return total


def address_space_limit() -> float | None:
    """This process's address-space limit in bytes (``ulimit -v``, the soft
    ``RLIMIT_AS``); None without one or where it cannot be told (Windows)."""
    try:
        import resource
    except ImportError:  # not Unix
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY or soft < 0 else float(soft)


def cgroup_memory_limit(proc_cgroup="/proc/self/cgroup", root="/sys/fs/cgroup") -> float | None:
    """This process's control-group memory limit in bytes (cgroup v2 ``memory.max``
    or v1 ``memory.limit_in_bytes``, the tightest along its path); None without one.

    Parameters
    ----------
    proc_cgroup : str or Path
        The file listing the process's control groups.
    root : str or Path
        Where the control-group file systems are mounted.
    """
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:  # not Linux
        return None
    limits = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # v2: one unified hierarchy
            base, name = Path(root), "memory.max"
        elif "memory" in controllers.split(","):  # v1: the memory controller's own
            base, name = Path(root) / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts) + 1):  # every level: a parent's limit binds too
            try:
                text = (base.joinpath(*parts[:depth]) / name).read_text().strip()
            except OSError:
                continue
            if text.isdigit() and int(text) < 2**62:  # "max" or v1's huge "no limit"
                limits.append(float(text))
    return min(limits) if limits else None


def memory_exceeded(nbytes: float) -> float | None:
    """The memory this process may use, in bytes, when ``nbytes`` exceed it.

    Parameters
    ----------
    nbytes : float
        Bytes about to be allocated (or grown to).

    Returns
    -------
    float or None
        :func:`physical_memory` when ``nbytes`` is larger; None when it fits
        or the memory cannot be told (no check then).
    """
    memory = physical_memory()
    return memory if memory is not None and nbytes > memory else None


def check_fits_in_memory(shape, dtype, name: str, value, what: str, plus: float = 0.0,
                         remedy=None) -> None:
    """Refuse an output array larger than the memory this process may use.

    That is :func:`physical_memory`: the RAM, or a job's or container's limit.

    NumPy's own error ("Unable to allocate 1.14 PiB for an array with shape ...")
    names no argument; a swapping machine may not raise at all.

    Parameters
    ----------
    shape : tuple of int
        Shape of the array about to be allocated.
    dtype : dtype
        Its element type.
    name : str
        The argument that sets its size (e.g. ``"n"``), named in the message.
    value : object
        That argument's value.
    what : str
        What the array holds, e.g. ``"patches of 16x16 pixels (float64)"``.
    plus : float, default 0.0
        Bytes held at the same time whatever ``shape[0]`` (a model's weights
        beside a batch of rows): counted in the total, and not in the rows
        that would fit.
    remedy : callable, optional
        ``remedy(fit) -> str``, given the rows that would fit (at least 1): what
        the user can change to make them fit, appended to the message.

    Raises
    ------
    ValueError
        When the array's bytes (plus ``plus``) exceed :func:`physical_memory`
        (no check when that is unknown).
    """
    rows = float(np.prod([float(s) for s in shape])) * np.dtype(dtype).itemsize
    nbytes = rows + float(plus)
    memory = memory_exceeded(nbytes)
    if memory is not None:
        per_row = rows / shape[0] if shape[0] else 0.0
        # rows of no bytes (a 0 in shape[1:]): only ``plus`` did not fit (was a
        # ZeroDivisionError)
        fit = max(int((memory - plus) // per_row), 0) if per_row > 0 else 0
        advice = f"; {remedy(fit)}" if remedy is not None and fit > 0 else ""
        raise ValueError(
            f"{name}={value!r} {what} would take {nbytes:.4g} bytes ({nbytes / 2**30:.4g} GiB), "
            f"more than the {memory / 2**30:.4g} GiB of memory this process may use (at most "
            f"{fit} would fit){advice}")


def _is_pandas_table(value) -> bool:
    """Whether ``value`` is a pandas DataFrame or Series, told without importing pandas
    (it may not be installed)."""
    return (type(value).__module__.split(".")[0] == "pandas"
            and type(value).__name__ in ("DataFrame", "Series"))


def _describe_pandas(value, columns_shown: int = 4) -> str:
    """A DataFrame by its shape and its first ``columns_shown`` columns' dtypes, a Series
    by its shape and dtype."""
    kind = type(value).__name__
    if kind == "Series":
        return f"pandas Series of shape {value.shape} and dtype {value.dtype}"
    shown = ", ".join(f"{label!r}: {dtype}" for label, dtype
                      in list(value.dtypes.items())[:columns_shown])
    more = ", ..." if value.shape[1] > columns_shown else ""
    return f"pandas DataFrame of shape {value.shape} with dtypes {{{shown}{more}}}"


def _unwrap_0d(value):
    """The element of a 0-d ndarray or 0-d xarray.DataArray (a scalar read from a
    result, ``ds["lam"].values`` or ``ds["lam"]``, was refused as "array of shape ()"),
    anything else as it is."""
    if isinstance(value, xr.DataArray) and value.ndim == 0:
        value = value.values
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _is_brian2_quantity(value) -> bool:
    """Whether ``value`` is a Brian2 ``Quantity`` (an ndarray with physical units), told
    without importing Brian2."""
    return (isinstance(value, np.ndarray) and hasattr(value, "dim")
            and type(value).__module__.startswith("brian2."))


def _as_real(value, name: str) -> float:
    if _is_brian2_quantity(value) and not getattr(value.dim, "is_dimensionless", False):
        # times and rates are plain SI floats here (Brian2 units only inside the
        # simulators): dt=0.1*ms was refused as "got array of shape () and dtype float64"
        si = f"; pass {float(np.asarray(value)):g} ({value.dim})" if value.size == 1 else ""
        raise TypeError(f"{name} must be a plain number in SI units (times in s, rates in Hz), "
                        f"got {describe(value)}{si}")
    if _is_brian2_quantity(value):  # dimensionless: its number
        value = np.asarray(value)
    value = _unwrap_0d(value)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    return float(value)


class CheckedAttribute:
    """An attribute checked whenever it is set, as the constructor checks it.

    For the spec of an object that may be changed after it is built (a loaded
    network's ``lam``): set unchecked, a bad value surfaced later, if at all
    (a file that ``save`` wrote and ``load`` refused).

    Parameters
    ----------
    check : callable
        ``check(value, name) -> value``: the value to keep, or an error naming
        ``name`` (e.g. :func:`check_positive`).
    joint : callable, optional
        ``joint(obj, value)``, called with the checked value before it is kept:
        raises when it contradicts another attribute of ``obj``.

    Deleting the attribute raises an AttributeError naming it: the spec needs
    a value.
    """

    def __init__(self, check, joint=None):
        self.check = check
        self.joint = joint

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(f"{type(obj).__name__!r} object has no attribute "
                                 f"{self.name!r}") from None

    def __set__(self, obj, value):
        value = self.check(value, self.name)
        if self.joint is not None:
            self.joint(obj, value)
        obj.__dict__[self.name] = value

    def __delete__(self, obj):
        # without it, ``del`` raised a bare "AttributeError: __delete__"
        raise AttributeError(f"cannot delete {self.name!r} of a {type(obj).__name__}: the "
                             "spec needs it; set another value instead")
