"""Validation shared by the analysis functions: atoms as images, encoders."""

from __future__ import annotations

import functools
import sys

import numpy as np
import xarray as xr

from ..validation import (ATOM_IMAGE_DIMS, _ragged_note, atoms_by_dim_names, check_array,
                          complex_data_error, describe)

__all__ = ["atoms_as_images", "check_encoder", "call_encoder", "check_real",
           "encoder_stimulus_shape",
           "check_response_units", "response_units_of", "units_from_labels", "RESPONSE_UNITS",
           "STIMULUS_UNITS"]

#: The units of a probe's responses when the caller does not name them: an encoder is
#: any callable, whose output may be LCA codes (units of X), spike counts or rates (Hz)
RESPONSE_UNITS = "units of the encoder's output"
#: The units of a probe's stimulus amplitudes (contrasts): the encoder's input, whatever
#: it is (whitened pixels for the studies' LCA, i.e. units of X)
STIMULUS_UNITS = "units of the encoder's input"


def atoms_as_images(atoms, shape=None, name: str = "atoms", dtype=np.float64):
    """Atoms ``(n, n_features)`` (with ``shape``) or ``(n, h, w)`` -> ``(n, h, w)``.

    A 2-D input of non-square atoms needs ``shape=(height, width)``. A 3-D
    ``xarray.DataArray`` with dims named ``atom``, ``y``, ``x`` is read by name,
    in any order (:data:`IMAGE_DIMS`), and a 2-D one with dims ``atom``, ``feature``
    too (:data:`~v1model.validation.DICTIONARY_DIMS`), also with one dim of another
    name in the place of the one it lacks; one naming some of them at other positions
    beside two or more other names is refused, and one with xarray's unnamed dims
    (``dim_0``, ...) is read by position.
    """
    atoms = atoms_by_dim_names(atoms, name)
    arr = check_array(atoms, name, ndim=(2, 3), dtype=dtype)
    if arr.ndim == 3:
        if shape is not None:
            # Normalise first: ``shape`` may be an int (square side) as documented.
            shape = image_shape(shape)
            if shape != arr.shape[1:]:
                raise ValueError(
                    f"shape={shape} does not match {name} of shape {arr.shape} "
                    "(already images)"
                )
        return arr
    n, p = arr.shape
    if shape is None:
        side = int(round(np.sqrt(p)))
        if side * side != p:
            row_side = int(round(np.sqrt(n)))
            # (n_features, n_atoms), one atom per column (A144.mat, a PyTorch decoder's
            # weight): "pass shape" led to fitting its pixels as atoms
            hint = (f"; or, if {name} holds one atom per column (n_features, n_atoms), pass "
                    f"{name}.T" if row_side * row_side == n else "")
            raise ValueError(
                f"{name} have {p} features each (shape {arr.shape}), which is not a square "
                f"patch; pass shape=(height, width){hint}"
            )
        shape = (side, side)
    shape = image_shape(shape)
    if shape[0] * shape[1] != p:
        hint = (f": {name} looks transposed (n_features, n_atoms); atoms are rows here, "
                f"pass {name}.T" if shape[0] * shape[1] == n else "")
        raise ValueError(
            f"shape={shape} has {shape[0] * shape[1]} pixels but {name} have {p} features each "
            f"({name} shape {arr.shape}){hint}"
        )
    return arr.reshape(n, *shape)


#: the dims of atoms as images (fit_gabor's model, a saved network's dictionary)
IMAGE_DIMS = ATOM_IMAGE_DIMS


def image_shape(shape, name: str = "shape") -> tuple[int, int]:
    """An int (square side) or (height, width) of positive ints."""
    from stimuli.gratings import check_shape

    return check_shape(shape, name)


def check_real(values, name: str, expected: str):
    """Refuse complex ``values``: numpy's float conversion would drop the imaginary
    part with only a ComplexWarning.

    Parameters
    ----------
    values : object
        Anything; only a complex array or scalar is refused.
    name : str
        What ``values`` is, for the message (an argument, or e.g. ``"encoder(X)"``).
    expected : str
        What real ``values`` should be, e.g. ``"contrasts"``.

    Returns
    -------
    object
        ``values`` unchanged.

    Raises
    ------
    ComplexDataError
        For complex ``values`` (a TypeError and a ValueError, as
        :func:`~v1model.validation.check_array` raises), naming ``name`` and
        describing ``values``.
    TypeError
        For values numpy cannot make an array of (a ragged nested list), naming
        ``name`` (as :func:`~v1model.validation.check_array` does).
    """
    try:
        # np.iscomplexobj converts values: a ragged list failed here with numpy's
        # "inhomogeneous shape" message, which named no argument
        is_complex = np.iscomplexobj(values)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {expected} (a numeric array), got "
                        f"{describe(values)}{_ragged_note(values)}") from exc
    if is_complex:
        raise complex_data_error(name, describe(values), expected=expected)
    return values


def check_response_units(response_units, name: str = "response_units") -> str:
    """A non-empty string naming the units of an encoder's output, e.g. ``"units of X"``.

    Raises
    ------
    TypeError
        For anything but a non-empty ``str`` (``None``, a number, bytes).
    """
    if not isinstance(response_units, str) or not response_units.strip():
        raise TypeError(f"{name} must be a non-empty string naming the units of the "
                        f"encoder's output (e.g. 'units of X' for LCA codes, 'Hz' for rates), "
                        f"got {describe(response_units)}")
    return response_units


def response_units_of(variable) -> str:
    """The units a probe recorded on ``variable`` (a DataArray of responses), or
    :data:`RESPONSE_UNITS` for one built by hand without them: the summaries of a
    probe's result keep the responses' units."""
    units = variable.attrs.get("units")
    return units if isinstance(units, str) and units.strip() else RESPONSE_UNITS


def units_from_labels(units, *named):
    """The units a probe measures: ``units`` as given, or the ``atom`` labels of the
    per-unit values when they are DataArrays that carry them.

    A selection such as ``tuning.preferred_orientation.sel(atom=[3, 7])`` (or a scalar
    ``.sel(atom=3)``) says which units its values belong to: read as units 0 ... n - 1,
    unit 0 was shown unit 3's grating and came out labelled 0 (``"no response"`` for a
    unit tuned elsewhere), unsaid.

    Parameters
    ----------
    units : array_like of int or None
        The caller's ``units`` argument.
    *named : (object, str)
        Each per-unit argument as given and its name (``(orientation, "orientation")``).

    Returns
    -------
    array_like or None
        ``units`` when given (after checking that it agrees with any labels), else the
        labels as an int array, else None (no labels: the caller's default).

    Raises
    ------
    ValueError
        For two arguments labelled with different atoms, labels that are not
        non-negative integers (they cannot index the encoder's units) when ``units``
        is None, or ``units`` that differ from integer labels. With labels that are not
        unit indices (names), ``units`` gives the encoder's unit of each value in the
        labels' order, and only its length must match theirs.
    """
    labelled = []
    for value, name in named:
        if isinstance(value, xr.DataArray) and "atom" in value.coords:
            coord = value.coords["atom"]
            if coord.dims in ((), ("atom",)) and value.dims in ((), ("atom",)):
                labelled.append((name, np.atleast_1d(coord.values)))
    if not labelled:
        return units
    name, labels = labelled[0]
    for other, more in labelled[1:]:
        if more.shape != labels.shape or np.any(more != labels):
            raise ValueError(f"{name} is labelled atoms {describe(labels.tolist())} but {other} "
                             f"atoms {describe(more.tolist())}: give the values of the same "
                             "units")
    indices = np.issubdtype(labels.dtype, np.integer) and not np.any(labels < 0)
    if units is None:
        if not indices:
            raise ValueError(f"{name} is labelled atoms {describe(labels.tolist())}, which are "
                             "not unit indices of the encoder; pass units= (the encoder's "
                             "unit of each value, in the labels' order)")
        return labels.astype(int)
    given = np.atleast_1d(np.asarray(units))
    if not indices:
        # names, not indices: units says which unit each labelled value belongs to (it was
        # refused as differing from the labels, and without it the labels were refused)
        if given.shape != labels.shape:
            raise ValueError(f"units={describe(units)} gives {given.size} units but {name} "
                             f"holds the values of {labels.size} atoms labelled "
                             f"{describe(labels.tolist())}, which are not unit indices: "
                             "pass one unit of the encoder per value, in the labels' order")
        return units
    if given.shape != labels.shape or np.any(given != labels):
        raise ValueError(f"units={describe(units)} but {name} holds the values of atoms "
                         f"{describe(labels.tolist())}; leave units out to measure those")
    return units


def check_encoder(encoder, name: str = "encoder"):
    if not callable(encoder):
        raise TypeError(
            f"{name} must be a callable f(X) -> codes taking X of shape (n_samples, n_features) "
            f"and returning (n_samples, n_units), got {describe(encoder)}"
        )
    return encoder


#: the networks that record the shape of the patches their encode reads: (module, class,
#: attribute). Checked with isinstance, so that a user's subclass is checked too (the
#: class's module was: a subclass defined outside v1model ran scrambled stimuli unsaid)
_PATCH_SHAPE_RECORDS = (("v1model.network", "SparseCodingNetwork", "patch_shape"),
                        ("v1model.amortized.lista", "LISTA", "patch_shape_"))


def _patch_shape_attribute(owner):
    """The attribute in which ``owner`` records its patch shape, or None for an object
    that is none of the networks of :data:`_PATCH_SHAPE_RECORDS`."""
    for module_name, class_name, attr in _PATCH_SHAPE_RECORDS:
        module = sys.modules.get(module_name)  # not imported: owner is not one of them
        if module is not None and isinstance(owner, getattr(module, class_name)):
            return attr
    return None


def encoder_stimulus_shape(encoder, shape, name: str = "shape") -> tuple[int, int]:
    """``shape`` as ``(height, width)`` (:func:`image_shape`), checked against the patch
    shape of the network ``encoder`` belongs to, when it says one.

    An encoder is any callable, but a bound method (or a :func:`functools.partial` of
    one) of a v1model network that records its patches' shape -- a
    ``SparseCodingNetwork``'s ``patch_shape``, a ``LISTA``'s ``patch_shape_``, or
    those of an instance of a subclass of either --
    reads every stimulus, flattened row by row, as a patch of that shape. A ``shape``
    with the same pixel count and other sides (``(4, 16)`` for 8x8 atoms) ran unsaid,
    the network seeing scrambled stimuli: gratings of 4x16 shown to eight 8x8 Gabor
    atoms gave preferred orientations up to 52 degrees from the atoms'. A network
    shape with a side of 1 is the one a ``SparseCodingNetwork`` takes for a
    non-square feature count, a row of features with no image geometry, and checks
    nothing.

    Raises
    ------
    ValueError
        For a ``shape`` other than the network's patch shape, naming both.
    """
    h, w = image_shape(shape, name)
    func = encoder
    while isinstance(func, functools.partial):
        func = func.func
    owner = getattr(func, "__self__", None)
    attr = _patch_shape_attribute(owner)
    if attr is None:
        return h, w
    try:
        patch = tuple(int(n) for n in getattr(owner, attr))
    except Exception:  # a property that cannot answer (an unfitted network), None, ...
        return h, w
    if len(patch) == 2 and min(patch) > 1 and patch != (h, w):
        remedy = (f"; or, if its atoms are {h}x{w}, set its {attr}=({h}, {w})"
                  if attr == "patch_shape" else "")
        raise ValueError(
            f"{name}={shape!r} but the encoder is {type(owner).__name__}."
            f"{getattr(func, '__name__', 'encode')} of a network whose patches are "
            f"{patch[0]}x{patch[1]} ({attr}): stimuli of {h}x{w}, flattened row by "
            f"row, are read as scrambled {patch[0]}x{patch[1]} patches; pass "
            f"{name}=({patch[0]}, {patch[1]}){remedy}")
    return h, w


def call_encoder(encoder, X, n_units=None, name: str = "encoder"):
    """Call ``encoder(X)`` and check that it returned finite (n_samples, n_units) codes.

    An exception raised by the encoder itself is re-raised with a note giving the shape
    of ``X``: most often the stimulus ``shape`` does not match the encoder's input (the
    encoder's own message, e.g. a matmul mismatch, names neither).
    """
    try:
        out = encoder(X)
    except Exception as exc:
        if not hasattr(exc, "add_note"):  # Python 3.10: the encoder's error as it is
            raise
        exc.add_note(f"(raised by {name}(X) with X of shape {X.shape}: {X.shape[0]} stimuli "
                     f"of {X.shape[1]} pixels each, flattened row by row from the stimulus "
                     f"shape given; does {name} take {X.shape[1]} features per sample?)")
        raise
    out = check_real(out, f"{name}(X)", "(n_samples, n_units) codes")
    try:
        R = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} returned {describe(out)}, not a numeric array") from exc
    if R.ndim != 2 or R.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name} returned shape {R.shape} for X of shape {X.shape}; expected "
            f"(n_samples={X.shape[0]}, n_units)"
        )
    if n_units is not None and R.shape[1] != n_units:
        raise ValueError(
            f"{name} returned {R.shape[1]} units for this batch but {n_units} before"
        )
    if not np.all(np.isfinite(R)):
        raise ValueError(f"{name} returned non-finite codes (NaN or inf)")
    return R


def pearson_r(a, b) -> float:
    """Pearson correlation of two arrays (flattened), NaN without numpy's
    warning when either is constant (e.g. the codes of a run too short for a
    spike): the one definition the studies and figures use."""
    a = np.ravel(a) - np.mean(a)
    b = np.ravel(b) - np.mean(b)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else float("nan")
