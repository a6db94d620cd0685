"""How sparse is a code? Activity ratios, local/sparse/dense classes and the
classic sparseness indices.

Codes are ``(n_samples, n_units)`` (one row per stimulus). An
``xarray.DataArray`` is read by dim name, ``(sample, atom)`` or, for rates or
counts over time, ``(time, atom)``, in any order. A unit is *active* on a
stimulus when ``|a| > tol``.

- activity ratio: mean fraction of units active per stimulus;
- mean active count: mean number of active units per stimulus;
- class (Foldiak & Young 1995): *local* when about one unit answers each
  stimulus (mean active count <= ``local_max_count``, default 1.5, i.e.
  closer to one unit than to two; checked first, so a one-hot code is local
  however few the units), *dense* when about half the units do
  (activity ratio >= ``dense_min_ratio``, default 0.25, i.e. closer to one
  half than to none), *sparse* in between; *silent* when the mean active
  count is below 0.5, closer to no unit than to one (e.g. a threshold above
  most inputs);
- Treves-Rolls sparseness ``a = (mean r)^2 / mean(r^2)`` (Rolls & Tovee 1995),
  in (0, 1], small = sparse: 1/n for one active unit out of n, 1 for equal
  responses;
- Vinje-Gallant sparseness ``S = (1 - a) / (1 - 1/n)`` (Vinje & Gallant 2000),
  in [0, 1], large = sparse;
- lifetime sparseness: S of one unit's responses across stimuli;
  population sparseness: the Treves-Rolls ``a`` of one stimulus' responses
  across units (and its Vinje-Gallant form);
- Hoyer sparseness ``(sqrt(n) - ||r||_1 / ||r||_2) / (sqrt(n) - 1)`` (Hoyer
  2004), in [0, 1], large = sparse;
- excess kurtosis of each unit's response distribution (Fisher, 0 for a
  Gaussian);
- dead units: never active on any stimulus.

Treves-Rolls and Vinje-Gallant are defined for non-negative rates; signed
codes are rectified first (``rectify="abs"``, default).

The indices (:func:`treves_rolls`, :func:`vinje_gallant`,
:func:`hoyer_sparseness`, :func:`kurtosis`, :func:`lifetime_sparseness`,
:func:`population_sparseness`) take a 1-D vector as well as codes; the
per-stimulus ones run over the last axis (the units), :func:`kurtosis` over
the first (the stimuli). An ``xarray.DataArray`` gives a DataArray over its
other dims, with their coordinates (atom and sample labels, a ``time`` in s),
named after the function, ``attrs["units"] = "1"`` and a ``long_name``; a
plain array gives a plain array. Rounding never takes them out of their
ranges, and equal responses get the exact values (Treves-Rolls 1,
Vinje-Gallant and Hoyer 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..validation import axis_by_dim_name, check_array, check_axis, check_choice, \
    check_nonnegative, check_positive, check_probability, code_dims, code_rows_coord, \
    dim_coord
from ..scaling import pow2_scale

__all__ = [
    "activity_ratio",
    "mean_active_count",
    "code_class",
    "treves_rolls",
    "vinje_gallant",
    "lifetime_sparseness",
    "population_sparseness",
    "hoyer_sparseness",
    "kurtosis",
    "dead_units",
    "sparseness",
    "CODE_CLASSES",
]

CODE_CLASSES = ("local", "sparse", "dense", "silent")
#: mean active count below which a code is "silent" (closer to none than to one unit)
SILENT_MAX_COUNT = 0.5
_RECTIFY = ("abs", "positive", "none")


def _codes(codes, name="codes"):
    # a DataArray by dim name: (sample, atom), or (time, atom) for rates over time
    try:
        shape = np.shape(codes)
    except ValueError:  # ragged: check_array names it
        shape = ()
    if len(shape) > 2:  # "must have 2 dimension(s)" said nothing of convolutional codes
        raise ValueError(f"{name} must be (n_samples, n_units), got {len(shape)} dims (shape "
                         f"{shape}); convolutional codes (sample, kernel, y, x) have every "
                         f"kernel copy as a unit: pass np.reshape({name}, ({shape[0]}, -1))")
    return check_array(codes, name, ndim=2, dims=code_dims(codes))


def _responses(values, name, axis, default, min_count=1):
    """A float array of at least one dimension (the statistics run along an axis),
    ``axis`` checked, and ``values`` as read, for :func:`_labelled`.

    ``axis`` None is ``default`` on codes of at most 2 dims and refused on more
    (convolutional codes (sample, kernel, y, x): the default -1 ran over x alone, one
    value per stimulus, kernel and row, unsaid). A tuple of axes (ints or dim names)
    is read as one axis: those axes flattened together, last (a DataArray's stacked).

    ``axis`` is a dim name of a DataArray, or an int counting the order of
    :func:`~v1model.validation.code_dims` (``(sample, atom)``, or ``(time, atom)``)
    for a DataArray naming them (:func:`~v1model.validation.axis_by_dim_name`; an int
    other than the caller's ``default`` that the two orders read differently is
    refused). A 1-D array has one axis, which the defaults (-1 and 0) both name.
    Fewer than ``min_count`` values along ``axis`` are refused."""
    if isinstance(axis, (tuple, list)):
        values, axis = _over_axes(values, name, axis), -1
    given, axis = axis, default if axis is None else axis
    values, index = axis_by_dim_name(values, axis, name, dims=code_dims(values),
                                     default=default)
    arr = check_array(values, name, ndim=None)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array with at least 1 dimension (the index runs "
                         f"along an axis), got a scalar {values!r}")
    if given is None and arr.ndim > 2:
        dims = f"dims {tuple(values.dims)}" if isinstance(values, xr.DataArray) else "dims"
        raise ValueError(
            f"{name} has {arr.ndim} {dims} (shape {arr.shape}): say which axis or axes the "
            "index runs over, e.g. axis=(1, 2, 3) or axis=('kernel', 'y', 'x') for "
            "convolutional codes (sample, kernel, y, x), one value per stimulus over every "
            "kernel copy")
    index = check_axis(index, arr.ndim)
    n = arr.shape[index]
    if n < min_count:  # named as given: a dim name, or the int
        raise ValueError(f"{name} needs at least {min_count} values along axis "
                         f"{_named(axis)}, got {n}")
    return arr, index, values


def _over_axes(values, name, axes):
    """``values`` with the ``axes`` (ints or dim names of a DataArray) flattened into its
    last axis, in their order: a DataArray stacked into the dim ``"units"``, which
    :func:`_labelled` drops; a plain array reshaped. An int counts a DataArray's dims
    as :func:`~v1model.validation.axis_by_dim_name` does (``(sample, atom)`` order for
    codes naming those dims, ambiguous ints refused)."""
    if not axes:
        raise ValueError(f"axis=() names no axis of {name}: give one or more")
    if isinstance(values, xr.DataArray):
        dims = []
        for a in axes:  # a str is a dim name
            if isinstance(a, str):
                dims.append(a)
                continue
            check_axis(a, values.ndim)
            # an int counts (sample, atom) as a lone int axis does, refused where the
            # DataArray's own order reads it otherwise: axis=(0,) of codes (atom, sample)
            # ran over the atoms where axis=0 is the samples
            try:
                ordered, _ = axis_by_dim_name(values, a, name, dims=code_dims(values))
            except ValueError as err:  # it says axis=0: name the tuple the user gave
                raise ValueError(f"in axis={tuple(axes)!r}: {err}") from None
            dims.append(ordered.dims[a])
        missing = [d for d in dims if d not in values.dims]
        if missing:
            raise ValueError(f"axis={tuple(axes)!r}: {missing} not dims of {name}, whose dims "
                             f"are {tuple(values.dims)}")
    else:
        values = check_array(values, name, ndim=None)
        dims = [check_axis(a, values.ndim) % values.ndim if not isinstance(a, str) else a
                for a in axes]
        if any(isinstance(d, str) for d in dims):  # as axis_by_dim_name says of a str axis
            axis_by_dim_name(values, next(d for d in dims if isinstance(d, str)), name)
    if len(set(dims)) != len(dims):
        raise ValueError(f"axis={tuple(axes)!r} names an axis of {name} twice")
    if isinstance(values, xr.DataArray):
        # "units" only when the dim name is free; the stacked coordinates are dropped
        stacked = "units" if "units" not in values.dims else "_units"
        return values.drop_vars([c for c in values.coords if set(values[c].dims) & set(dims)]
                                ).stack({stacked: dims}, create_index=False)
    moved = np.moveaxis(values, dims, range(-len(dims), 0))
    return moved.reshape(moved.shape[:values.ndim - len(dims)] + (-1,))


#: the long names of the indices, as labelled results and :func:`sparseness` give them
_LONG_NAMES = {
    "treves_rolls": "Treves-Rolls sparseness (small = sparse)",
    "vinje_gallant": "Vinje-Gallant sparseness (large = sparse)",
    "hoyer_sparseness": "Hoyer sparseness (large = sparse)",
    "kurtosis": "excess kurtosis of responses",
    "lifetime_sparseness": "Vinje-Gallant lifetime sparseness (large = sparse)",
    "population_sparseness": "Treves-Rolls population sparseness (small = sparse)",
}


def _labelled(result, values, axis, name, long_name=None, **attrs):
    """``result`` (``values`` reduced over ``axis``, a dim name or the index of one)
    as a DataArray over the other dims
    of a DataArray ``values``, with their coordinates, named ``name``, units ``"1"``,
    ``long_name`` (default: the index's own, :data:`_LONG_NAMES`) and ``attrs``;
    ``result`` itself for a plain ``values`` (a plain array lost the atom and sample
    labels: xarray then paired units 0, 1, ... with the input's atoms 10, 11, ...)."""
    if not isinstance(values, xr.DataArray):
        return result
    dim = axis if isinstance(axis, str) else values.dims[axis]
    coords = {k: c for k, c in values.coords.items() if dim not in c.dims}
    return xr.DataArray(result, dims=tuple(d for d in values.dims if d != dim),
                        coords=coords, name=name,
                        attrs={"units": "1", "long_name": long_name or _LONG_NAMES[name],
                               **attrs})


def _code_dim(codes, position):
    """The dim of a DataArray ``codes`` that :func:`_codes` reads as its axis
    ``position`` (0: samples or time bins, 1: units): by name when it has it, else
    by position (dims such as ``dim_0``); None for a plain array."""
    if not isinstance(codes, xr.DataArray):
        return None
    dim = code_dims(codes)[position]
    return dim if dim in codes.dims else codes.dims[position]


def _units_of(codes):
    """The units of ``codes`` (those of ``tol``): a DataArray's ``attrs["units"]``
    (e.g. "Hz" for rates) when it names them, else ``"units of codes"``."""
    units = codes.attrs.get("units") if isinstance(codes, xr.DataArray) else None
    return units if isinstance(units, str) and units.strip() else "units of codes"


def _all_equal(r, axis):
    """Where the (non-negative) responses along ``axis`` are all equal: the indices
    take their analytic value there (1 for Treves-Rolls, 0 for Hoyer), which the
    rounding of the sums missed by up to ~1e-15."""
    return r.max(axis=axis) == r.min(axis=axis)


def _named(axis):
    """``axis`` for a message: a dim name quoted, an int as it reads (not np.int64(0))."""
    return repr(axis) if isinstance(axis, str) else str(axis)


def _rect(A, rectify):
    rectify = check_choice(rectify, "rectify", _RECTIFY)
    if rectify == "abs":
        return np.abs(A)
    if rectify == "positive":
        return np.maximum(A, 0.0)
    if np.any(A < 0):  # the message named neither the argument nor the value
        raise ValueError(f"rectify='none' needs non-negative responses, got a minimum of "
                         f"{A.min():.6g}; pass rectify='abs' or 'positive' for signed codes")
    return A


def activity_ratio(codes, tol: float = 0.0) -> float:
    """Mean fraction of units active (``|a| > tol``) per stimulus.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    tol : float, default 0.0
        Activity threshold on ``|a|``, >= 0.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        For codes that are not a finite 2-D array, or ``tol < 0``.
    """
    A = _codes(codes)
    tol = check_nonnegative(tol, "tol")
    return float(np.mean(np.abs(A) > tol))


def mean_active_count(codes, tol: float = 0.0) -> float:
    """Mean number of active units (``|a| > tol``) per stimulus.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    tol : float, default 0.0
        Activity threshold on ``|a|``, >= 0.

    Returns
    -------
    float
        In [0, n_units].

    Raises
    ------
    ValueError
        For codes that are not a finite 2-D array, or ``tol < 0``.
    """
    A = _codes(codes)
    tol = check_nonnegative(tol, "tol")
    return float(np.mean(np.count_nonzero(np.abs(A) > tol, axis=1)))


def code_class(codes, tol: float = 0.0, local_max_count: float = 1.5,
               dense_min_ratio: float = 0.25) -> str:
    """``"local"``, ``"sparse"``, ``"dense"`` or ``"silent"`` (thresholds in the module
    docstring).

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    tol : float, default 0.0
        Activity threshold on ``|a|``, >= 0.
    local_max_count : float, default 1.5
        Largest mean active count still called local, > 0.
    dense_min_ratio : float, default 0.25
        Smallest activity ratio called dense, in (0, 1).

    Returns
    -------
    str
        One of :data:`CODE_CLASSES`.

    Raises
    ------
    ValueError
        For codes that are not a finite 2-D array or a parameter out of range.
    """
    A = _codes(codes)
    local_max_count = check_positive(local_max_count, "local_max_count")
    dense_min_ratio = check_probability(dense_min_ratio, "dense_min_ratio")
    return _classify(mean_active_count(A, tol), activity_ratio(A, tol), local_max_count,
                     dense_min_ratio)


def _classify(count, ratio, local_max_count, dense_min_ratio):
    if count < SILENT_MAX_COUNT:
        return "silent"
    if count <= local_max_count:
        return "local"
    if ratio >= dense_min_ratio:
        return "dense"
    return "sparse"


def treves_rolls(responses, axis: int | str | tuple | None = None, rectify: str = "abs"):
    """Treves-Rolls sparseness ``(mean r)^2 / mean(r^2)`` along ``axis``.

    NaN where all responses are zero. Scale-invariant: computed on the
    responses divided by (a power of two near) their largest value along
    ``axis``, so that it holds for responses of any magnitude.

    Parameters
    ----------
    responses : array_like, at least 1-D
        Responses (e.g. codes ``(n_samples, n_units)``).
    axis : int, str or tuple, optional
        The axis the index runs over (``atom`` for codes). Default: the last axis
        of responses of 1 or 2 dims (-1); refused for more dims, where it is not
        the units' (convolutional codes ``(sample, kernel, y, x)``: give
        ``axis=(1, 2, 3)``, every kernel copy, for one value per stimulus). A
        tuple runs the index over those axes together.
        For an ``xarray.DataArray``, a dim name may be given instead
        (e.g. ``"sample"``); an int counts the dims ``(sample, atom)`` in that
        order for a DataArray with those dims in any order (the default
        means the same dim as for the plain array; another int that this
        order and the DataArray's own read as different dims is refused:
        pass a dim name), else its axes; ``time``
        stands for ``sample`` in a DataArray without one (rates over time,
        ``(time, atom)`` in any order).
    rectify : {"abs", "positive", "none"}, default "abs"
        How signed responses become rates (``"none"`` rejects negative ones).

    Returns
    -------
    ndarray or xarray.DataArray
        The shape of ``responses`` without ``axis`` (0-d for a vector);
        values in (0, 1], exactly 1 for equal responses. For a DataArray,
        a DataArray over its other dims with their coordinates, named
        ``treves_rolls``, units ``"1"``.

    Raises
    ------
    TypeError
        For an ``axis`` that is neither an int nor a str, or a str one for
        ``responses`` that is not a DataArray.
    ValueError
        For a scalar or non-finite ``responses``, an invalid ``axis`` (out of
        range, not a dim of the DataArray, or an ambiguous int) or
        ``rectify``, or negative
        responses with ``rectify="none"``.
    """
    r, index, values = _responses(responses, "responses", axis, default=-1)
    return _labelled(_treves_rolls(_rect(r, rectify), index), values, index, "treves_rolls")


def _treves_rolls(r, axis):
    """Treves-Rolls of non-negative responses ``r`` along ``axis`` (NaN for all zeros)."""
    scaled = r / pow2_scale(r, axis=axis, keepdims=True)
    m1 = scaled.mean(axis=axis)
    m2 = (scaled**2).mean(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        # (mean r)^2 <= mean(r^2): above 1 (by up to 2e-15) only by rounding
        a = np.where(_all_equal(r, axis), 1.0, np.minimum(m1**2 / m2, 1.0))
    return np.where(m2 > 0, a, np.nan)


def _vinje_gallant(r, axis):
    """Vinje-Gallant of non-negative responses ``r`` along ``axis``, at least 2 values."""
    n = r.shape[axis]
    # Treves-Rolls is in [1/n, 1]: out of [0, 1] (by ~1e-15) only by rounding; NaN kept
    return np.clip((1.0 - _treves_rolls(r, axis)) / (1.0 - 1.0 / n), 0.0, 1.0)


def vinje_gallant(responses, axis: int | str | tuple | None = None, rectify: str = "abs"):
    """Vinje-Gallant sparseness ``(1 - a) / (1 - 1/n)`` with ``a`` Treves-Rolls.

    Scale invariance as in :func:`treves_rolls`. NaN where all responses
    are zero.

    Parameters
    ----------
    responses : array_like, at least 1-D
        Responses, with at least 2 values along ``axis``.
    axis : int, str or tuple, optional
        The axis the index runs over (``n`` is its length); the default, a dim
        name and a tuple of axes as in :func:`treves_rolls`.
    rectify : {"abs", "positive", "none"}, default "abs"
        As in :func:`treves_rolls`.

    Returns
    -------
    ndarray or xarray.DataArray
        The shape of ``responses`` without ``axis``; values in [0, 1],
        exactly 0 for equal responses. For a DataArray, as
        :func:`treves_rolls` (named ``vinje_gallant``).

    Raises
    ------
    TypeError, ValueError
        For fewer than 2 values along ``axis`` (ValueError), and as
        :func:`treves_rolls`.
    """
    r, index, values = _responses(responses, "responses", axis, default=-1, min_count=2)
    return _labelled(_vinje_gallant(_rect(r, rectify), index), values, index,
                     "vinje_gallant")


def lifetime_sparseness(codes, rectify: str = "abs"):
    """Vinje-Gallant sparseness of each unit over stimuli (large = sparse).

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus; at least 2 stimuli.
    rectify : {"abs", "positive", "none"}, default "abs"
        As in :func:`treves_rolls`.

    Returns
    -------
    ndarray or xarray.DataArray, shape (n_units,)
        Values in [0, 1]; NaN for a unit that never responds. For a
        DataArray, a DataArray over ``atom`` with its coordinate, named
        ``lifetime_sparseness``, units ``"1"``.
    """
    life = vinje_gallant(_codes(codes), axis=0, rectify=rectify)
    return _labelled(life, codes, _code_dim(codes, 0), "lifetime_sparseness")


def population_sparseness(codes, rectify: str = "abs"):
    """Treves-Rolls sparseness of each stimulus over units (small = sparse).

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    rectify : {"abs", "positive", "none"}, default "abs"
        As in :func:`treves_rolls`.

    Returns
    -------
    ndarray or xarray.DataArray, shape (n_samples,)
        Values in (0, 1]; NaN for a stimulus no unit answers. For a
        DataArray, a DataArray over ``sample`` (``time`` for rates over
        time) with its coordinate, named ``population_sparseness``, units
        ``"1"``.
    """
    pop = treves_rolls(_codes(codes), axis=1, rectify=rectify)
    return _labelled(pop, codes, _code_dim(codes, 1), "population_sparseness")


def hoyer_sparseness(codes, axis: int | str | tuple | None = None):
    """Hoyer (2004) sparseness along ``axis`` (default: per stimulus over units).

    1 for a single non-zero value, 0 for equal magnitudes; NaN for all zeros.
    Scale-invariant, and computed so for codes of any magnitude.

    Parameters
    ----------
    codes : array_like, at least 1-D
        Typically ``(n_samples, n_units)``; at least 2 values along ``axis``.
    axis : int, str or tuple, optional
        The axis the index runs over (``atom`` for codes; the only one of a
        vector). The default (-1, refused for codes of more than 2 dims), a
        DataArray's dim name and a tuple of axes, as in :func:`treves_rolls`:
        convolutional codes ``(sample, kernel, y, x)`` take ``axis=(1, 2, 3)``
        (or ``("kernel", "y", "x")``), one value per stimulus over every kernel
        copy.

    Returns
    -------
    ndarray or xarray.DataArray
        The shape of ``codes`` without ``axis`` (``(n_samples,)`` by
        default); values in [0, 1], exactly 0 for equal magnitudes and 1
        for a single non-zero value. For a DataArray, as :func:`treves_rolls`
        (named ``hoyer_sparseness``).

    Raises
    ------
    TypeError
        As :func:`treves_rolls` for ``axis``.
    ValueError
        For fewer than 2 values along ``axis``, an invalid ``axis`` (as
        :func:`treves_rolls`) or non-finite codes.
    """
    A, index, values = _responses(codes, "codes", axis, default=-1, min_count=2)
    n = A.shape[index]
    A = np.abs(A)
    scaled = A / pow2_scale(A, axis=index, keepdims=True)  # exact; l2 cannot overflow
    l1 = scaled.sum(axis=index)
    l2 = np.sqrt((scaled**2).sum(axis=index))
    with np.errstate(invalid="ignore", divide="ignore"):
        # l1 / l2 is in [1, sqrt(n)]: out of [0, 1] (by ~1e-15) only by rounding
        h = np.clip((np.sqrt(n) - l1 / l2) / (np.sqrt(n) - 1), 0.0, 1.0)
        h = np.where(_all_equal(A, index), 0.0, h)
    return _labelled(np.where(l2 > 0, h, np.nan), values, index, "hoyer_sparseness")


def kurtosis(codes, axis: int | str | tuple = 0):
    """Excess (Fisher) kurtosis along ``axis`` (default: per unit over stimuli).

    NaN for constant responses. Scale-invariant, and computed so for codes
    of any magnitude (the fourth powers of 1e100 would overflow).

    Parameters
    ----------
    codes : array_like, at least 1-D
        Typically ``(n_samples, n_units)``; at least 2 values along ``axis``.
    axis : int, str or tuple, default 0
        The axis the statistic runs over (``sample`` for codes).
        A DataArray's dim name, or a tuple of axes, may be given instead, as in
        :func:`treves_rolls`.

    Returns
    -------
    ndarray or xarray.DataArray
        The shape of ``codes`` without ``axis`` (``(n_units,)`` by default).
        For a DataArray, as :func:`treves_rolls` (named ``kurtosis``).

    Raises
    ------
    TypeError
        As :func:`treves_rolls` for ``axis``.
    ValueError
        For fewer than 2 values along ``axis``, an invalid ``axis`` (as
        :func:`treves_rolls`) or non-finite codes.
    """
    # fewer than 2 values refused: one has no spread (all NaN), as for hoyer_sparseness
    A, axis, values = _responses(codes, "codes", axis, default=0, min_count=2)
    A = A / pow2_scale(A, axis=axis, keepdims=True)  # exact; largest |value| in [1, 2)
    d = A - A.mean(axis=axis, keepdims=True)
    d2 = np.square(d, out=d)  # d**4 would go through pow(): squaring twice is ~5x faster
    m2 = d2.mean(axis=axis)
    m4 = np.square(d2, out=d2).mean(axis=axis)
    # constant responses leave a variance of rounding errors only (~1e-34 for 0.1)
    scale = np.abs(A).max(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        kurt = np.where(m2 > (1e-12 * scale) ** 2, m4 / m2**2 - 3.0, np.nan)
    return _labelled(kurt, values, axis, "kurtosis")


def dead_units(codes, tol: float = 0.0):
    """Units never active (``|a| <= tol`` on every stimulus).

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    tol : float, default 0.0
        Activity threshold on ``|a|``, >= 0.

    Returns
    -------
    ndarray of bool or xarray.DataArray, shape (n_units,)
        True for a dead unit. For a DataArray ``codes``, a DataArray over
        ``atom`` with its coordinate, named ``dead_units``, units ``"1"``,
        with ``tol`` and ``tol_units`` (those of ``codes``) in its attrs, as
        :func:`lifetime_sparseness` labels its result.

    Raises
    ------
    ValueError
        For codes that are not a finite 2-D array, or ``tol < 0``.
    """
    A = _codes(codes)
    tol = check_nonnegative(tol, "tol")
    # labelled as the other measures: a plain array lost the DataArray's atom labels
    return _labelled(~np.any(np.abs(A) > tol, axis=0), codes, _code_dim(codes, 0),
                     "dead_units", long_name="never active (|a| <= tol on every stimulus)",
                     tol=tol, tol_units=_units_of(codes))


def sparseness(
    codes,
    *,
    tol: float = 0.0,
    local_max_count: float = 1.5,
    dense_min_ratio: float = 0.25,
    rectify: str = "abs",
) -> xr.Dataset:
    """Every sparseness statistic of a code in one Dataset.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_units)
        One row per stimulus.
    tol : float, default 0.0
        Activity threshold on ``|a|`` (see :func:`code_class`), in the units
        of ``codes``.
    local_max_count : float, default 1.5
        See :func:`code_class`.
    dense_min_ratio : float, default 0.25
        See :func:`code_class`.
    rectify : {"abs", "positive", "none"}, default "abs"
        How signed codes become rates for Treves-Rolls and Vinje-Gallant.

    Returns
    -------
    xarray.Dataset
        Over dims ``sample`` and ``atom`` (``time`` and ``atom`` for codes
        ``(time, atom)``), with the coordinates of a DataArray ``codes`` on
        those dims when it has them (else numbered from 0):
        per sample (time bin) ``active_count``,
        ``population_sparseness`` (Treves-Rolls), ``hoyer``; per unit
        ``lifetime_sparseness`` (Vinje-Gallant), ``kurtosis``,
        ``unit_activity`` (fraction of stimuli a unit answers), ``dead``;
        scalars ``activity_ratio``, ``mean_active_count``, ``n_dead``,
        ``mean_lifetime_sparseness`` (the mean over the units whose
        ``lifetime_sparseness`` is defined: units with no response at all, NaN,
        are left out and counted in ``n_units_left_out``, so that the means of
        two codes (e.g. at two ``lam``) may be over different units; ``n_dead``
        counts those with none above ``tol``), ``mean_population_sparseness`` (likewise over the
        stimuli some unit answers; ``n_stimuli_left_out``);
        ``attrs["code_class"]``; ``attrs["tol"]`` with ``attrs["tol_units"]``
        (a DataArray ``codes``' own ``attrs["units"]``, e.g. ``"Hz"``, else
        ``"units of codes"``). With a single stimulus ``lifetime_sparseness``,
        ``kurtosis`` and their mean are NaN, with a single unit ``hoyer`` is
        (their own functions refuse such codes); a ``UserWarning`` says so.

    Raises
    ------
    ValueError
        For codes that are not a finite 2-D array or a parameter out of range.

    Warns
    -----
    UserWarning
        For a single stimulus or a single unit (the NaN statistics above).
    """
    A = _codes(codes)
    tol = check_nonnegative(tol, "tol")
    local_max_count = check_positive(local_max_count, "local_max_count")
    dense_min_ratio = check_probability(dense_min_ratio, "dense_min_ratio")
    n, k = A.shape
    active = np.abs(A) > tol
    count = active.sum(axis=1)
    ratio = float(active.mean())
    dead = ~active.any(axis=0)
    # the per-unit indices need 2 stimuli and Hoyer 2 units (their functions refuse fewer)
    short = ["lifetime_sparseness and kurtosis (1 stimulus)"] * (n < 2) + [
        "hoyer (1 unit)"] * (k < 2)
    if short:
        warnings.warn(f"codes has shape {A.shape}: NaN for {' and for '.join(short)}, which "
                      "need at least 2 values", UserWarning,
                      stacklevel=user_stacklevel())
    life = lifetime_sparseness(A, rectify) if n > 1 else np.full(k, np.nan)
    pop = population_sparseness(A, rectify)
    hoyer = hoyer_sparseness(A, axis=1) if k > 1 else np.full(n, np.nan)
    # rates over time: per time bin, on the input's own time coordinate
    rows, coord = code_rows_coord(codes, n)
    ds = xr.Dataset(coords={rows: coord, "atom": dim_coord(codes, "atom", k)})
    ds["active_count"] = (rows, count, {"units": "1", "long_name": "active units"})
    ds["population_sparseness"] = (rows, pop, {"units": "1", "long_name":
                                   _LONG_NAMES["population_sparseness"]})
    ds["hoyer"] = (rows, hoyer, {"units": "1", "long_name": _LONG_NAMES["hoyer_sparseness"]})
    ds["lifetime_sparseness"] = ("atom", life, {"units": "1", "long_name":
                                 _LONG_NAMES["lifetime_sparseness"]})
    kurt = kurtosis(A, axis=0) if n > 1 else np.full(k, np.nan)
    ds["kurtosis"] = ("atom", kurt, {"units": "1", "long_name": _LONG_NAMES["kurtosis"]})
    ds["unit_activity"] = ("atom", active.mean(axis=0), {"units": "1", "long_name":
                           "fraction of stimuli the unit answers"})
    ds["dead"] = ("atom", dead, {"units": "1", "long_name": "never active"})
    ds["activity_ratio"] = ((), ratio, {"units": "1", "long_name": "mean fraction active"})
    ds["mean_active_count"] = ((), float(count.mean()), {
        "units": "1", "long_name": "mean number of active units per stimulus"})
    ds["n_dead"] = ((), int(dead.sum()), {"units": "1", "long_name": "dead units"})
    # the means skip the NaN of units (stimuli) with no response at all: said, and counted,
    # since means at two lam are then over different sets (7 of 64 units at a high lam)
    ds["mean_lifetime_sparseness"] = ((), float(np.nanmean(life)) if np.isfinite(life).any()
                                      else np.nan, {"units": "1", "long_name":
                                                    "mean lifetime sparseness over the units "
                                                    "that respond (n_units_left_out left out)"})
    ds["n_units_left_out"] = ((), int(np.isnan(life).sum()), {"units": "1", "long_name":
                              "units left out of mean_lifetime_sparseness (lifetime "
                              "sparseness NaN: no response to any stimulus)"})
    ds["mean_population_sparseness"] = ((), float(np.nanmean(pop)) if np.isfinite(pop).any()
                                        else np.nan, {"units": "1", "long_name":
                                                      "mean population sparseness over the "
                                                      "stimuli some unit answers "
                                                      "(n_stimuli_left_out left out)"})
    ds["n_stimuli_left_out"] = ((), int(np.isnan(pop).sum()), {"units": "1", "long_name":
                                "stimuli left out of mean_population_sparseness (population "
                                "sparseness NaN: no unit responds)"})
    ds.attrs.update(
        analysis="sparseness", tol=tol, tol_units=_units_of(codes),
        local_max_count=local_max_count, dense_min_ratio=dense_min_ratio, rectify=rectify,
        code_class=_classify(float(count.mean()), ratio, local_max_count, dense_min_ratio),
    )
    return ds
