"""Pieces every sparse-inference solver shares: validation, thresholds, the
LASSO objective and the per-iteration history Dataset.

The objective used throughout the package is, per sample,

    E(a) = 0.5 * ||x - D^T a||^2 + lam * ||a||_1

with ``D`` of shape (n_atoms, n_features) holding one atom per row. This is the
objective of scikit-learn's ``sparse_encode(..., algorithm="lasso_cd",
alpha=lam)`` and of ``Lasso(alpha=lam / n_features)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..io import ITERATIONS_DONE, count_coord
from ..validation import (ATOM_IMAGE_DIMS, CODE_DIMS, DATA_DIMS, DICTIONARY_DIMS, abs_max,
                          check_array, check_bool, check_choice, check_dictionary,
                          check_dtype, check_nonnegative, check_same_features, check_shape,
                          dim_coord, flatten_image_atoms, row_coords, smallest_safe_value)

THRESHOLDS = ("soft", "hard", "nonneg")


class ConvergenceWarning(UserWarning):
    """A solver stopped at its iteration limit before reaching its tolerance."""


#: samples per chunk of the solvers that otherwise take all the samples at once (lasso_cd,
#: matching_pursuit): the steps of their progress bar. Their codes do not depend on it
#: (each sample is solved on its own); mp's chunks are faster than none (20,000 samples,
#: 512 atoms: 0.75 s vs 1.5 s, in cache), lasso_cd takes four of them at a time
SOLVER_CHUNK = 4096


def validate_problem(X, D, lam, dtype, positive_lam_name="lam", flags=None, x_name="X",
                     d_name="D", *, d_float64=False):
    """Validate ``X``, ``D`` and ``lam`` once and cast to ``dtype``.

    Returns ``X`` and ``D`` as contiguous 2-D arrays of ``dtype``, finite and
    with matching features. Atoms are neither renormalised nor required to
    have unit norm: a scaled atom is a different, equally valid problem.
    ``x_name`` and ``d_name`` are the names of ``X`` and ``D`` in the messages
    (``X_train`` for a caller that takes two data sets, ``dictionary_`` for a
    fitted model's own dictionary, which its caller never passed). DataArrays
    with the package's dim names are read by name (:func:`~v1model.validation.by_dim_names`).
    Atoms given as images, ``(n_atoms, height, width)``, and then ``X`` as patches of
    their shape, are flattened row-major (:func:`~v1model.validation.flatten_image_atoms`).
    With ``d_float64`` the validated ``D`` in float64 (before the cast) is returned
    last, for a caller that needs a quantity of ``D`` as given (LCA's step limit).
    """
    dtype = check_dtype(dtype)
    # atoms as images (n_atoms, height, width), e.g. a network's ds["dictionary"], were
    # refused as "D must have 2 dimension(s)": flattened row-major, as patches are
    X, D = flatten_image_atoms(X, D, x_name, d_name)
    # as check_data_and_dictionary, but X goes straight to ``dtype`` when that cast is
    # exact (no float64 copy of a float32 X, and X itself back when it already is
    # contiguous ``dtype``); other X, and D (small), are checked in float64, where
    # values beyond ``dtype``'s range still meet the range check below, not a cast to inf
    D = check_dictionary(D, d_name, dtype=np.float64)
    X = check_array(X, x_name, ndim=(1, 2), dtype=_exact_check_dtype(X, dtype),
                    dims=DATA_DIMS)
    check_dictionary_layout(X, D, x_name, d_name)  # before the reshape: the user's shape
    if X.ndim == 1:
        X = X[None, :]
    lam = check_nonnegative(lam, positive_lam_name)
    for name, value in (flags or {}).items():  # positive="no" would be truthy
        check_bool(value, name)
    check_products_in_range(X, D, dtype, d_name=d_name, x_name=x_name)
    out = (np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(D, dtype=dtype), lam,
           dtype)
    return out + (D,) if d_float64 else out


#: ``long_name`` of labelled codes (:func:`labelled_codes`)
CODES_LONG_NAME = "sparse codes"
#: the priors :func:`lam_units` knows
LAM_PRIORS = ("l1", "cauchy")


def lam_units(prior: str = "l1", x_units: str | None = None) -> str:
    """The unit of ``lam``, as the learners, studies and codes record it (``lam_units``).

    The energy ``0.5 ||x - a D||^2 + penalty`` is in (units of X)^2. The L1 prior's
    ``lam ||a||_1`` (and the hard threshold's ``lam^2/2 ||a||_0``) weighs codes of
    unit-norm atoms, which carry X's units: ``lam`` is in units of X. The Cauchy
    prior's ``lam sum log(1 + (a/sigma)^2)`` weighs a dimensionless cost: ``lam`` is in
    (units of X)^2.

    Parameters
    ----------
    prior : {"l1", "cauchy"}, default "l1"
        The sparseness prior ``lam`` weighs.
    x_units : str, optional
        X's own units (e.g. a DataArray's ``attrs["units"]``); default "units of X".

    Returns
    -------
    str
        ``x_units`` (``"units of X"``) for ``"l1"``, ``"(x_units)^2"`` for ``"cauchy"``.
    """
    if prior not in LAM_PRIORS:
        raise ValueError(f"prior must be one of {LAM_PRIORS}, got {prior!r}")
    x = x_units or "units of X"
    return x if prior == "l1" else f"({x})^2"


def with_lam_units(history):
    """A learner's ``history`` (an xarray.Dataset) recorded before ``lam`` had its unit,
    given the ``lam_units`` its ``prior`` (default "l1") and ``lam`` say ("None" with a
    ``lam`` of "None"), so that the next call's ``continue_history`` does not name
    ``lam_units`` as a changed setting; ``history`` itself when it has one, is None, or
    changed its ``prior`` or ``lam`` between calls (the unit of each call is not kept)."""
    if history is None or "lam_units" in history.attrs or any(
            f"{key}_per_call" in history.attrs for key in ("prior", "lam", "lam_units")):
        return history
    lam = history.attrs.get("lam")
    prior = history.attrs.get("prior", "l1")
    if prior not in LAM_PRIORS:  # an unknown prior: leave the record as it was
        return history
    out = history.copy()
    out.attrs["lam_units"] = "None" if lam is None or lam == "None" else lam_units(prior)
    return out


def labelled_codes(out, X, atoms, **attrs):
    """The codes in ``out`` as a DataArray over (sample, atom) when ``X`` is a DataArray.

    ``out`` is a solver's return: the codes ``(n_samples, n_atoms)``, or a tuple
    whose first entry they are (``return_history``); only they are labelled. The
    ``sample`` coordinates are ``X``'s own (:func:`~v1model.validation.row_coords`:
    the codes of ``X.isel(sample=[3, 7])`` keep the labels 3 and 7, and any other
    labels of the rows), the ``atom`` coordinate is ``atoms``: labels ``(n_atoms,)``,
    or the dictionary (a DataArray's ``atom`` coordinate; 0, 1, ... without one, or for
    an array). The attrs hold ``long_name``, ``units`` (``X``'s, else "units of X":
    codes of unit-norm atoms carry the units of ``X``; a ``units`` in ``attrs`` wins, as
    the Cauchy prior's dimensionless codes give "1"), with a ``lam`` its
    ``lam_units`` (:func:`lam_units` of the ``prior`` in attrs, "l1" without one, in
    ``X``'s units), those of codes labelled already
    (``encode``'s, relabelled by the network), ``attrs`` (None dropped, bools as ints,
    as netCDF keeps them) and the codes' ``dtype``. Anything but a DataArray ``X`` gives
    ``out`` as it is: plain arrays in, plain arrays out. Returned bare, the codes of a
    labelled ``X`` lost its sample labels (rows numbered by position, which xarray then
    aligns with other samples' labels).
    """
    if not isinstance(X, xr.DataArray):
        return out
    rest = out[1:] if isinstance(out, tuple) else None
    codes = out[0] if rest is not None else out
    A = np.asarray(codes)
    coords = code_coords(X, atoms, *A.shape)
    attrs = {name: int(value) if isinstance(value, (bool, np.bool_)) else value
             for name, value in attrs.items() if value is not None}
    # codes labelled already (encode's, relabelled by the network) keep their settings,
    # but not their units: those of the X encode saw, which the network builds from
    # patches (sample, y, x) without their attrs (a.u. patches gave codes in "units of X")
    kept = dict(codes.attrs) if isinstance(codes, xr.DataArray) else {}
    # the codes' own dtype: lca's ivp path returns float64 whatever dtype was asked
    attrs = {"long_name": CODES_LONG_NAME, **kept,
             "units": X.attrs.get("units", "units of X"), **attrs, "dtype": A.dtype.name}
    if attrs.get("lam") is not None:
        # lam had no unit beside the codes' own (the learners' histories record one)
        attrs["lam_units"] = lam_units(attrs.get("prior", "l1"), X.attrs.get("units"))
    codes = xr.DataArray(A, dims=CODE_DIMS, coords=coords, attrs=attrs)
    return codes if rest is None else (codes, *rest)


def code_coords(X, atoms, n_samples: int, n_atoms: int) -> dict:
    """The ``sample`` and ``atom`` coordinates of codes of ``X`` in ``atoms``.

    ``sample``: ``X``'s own labels (:func:`~v1model.validation.row_coords`, a stack of
    patches ``(sample, y, x)`` read as such), ``atom``: ``atoms`` as labels
    ``(n_atoms,)``, or a dictionary's ``atom`` coordinate
    (:func:`~v1model.validation.dim_coord`); each numbered 0, 1, ... without labels (plain
    arrays). Shared by :func:`labelled_codes` and the results of the spiking LCA, whose
    samples and atoms came back renumbered from 0 (``X.isel(sample=[2, 0])`` as samples
    0 and 1).

    Returns
    -------
    dict
        Coordinates for ``xr.Dataset(coords=...)``: ``sample`` (with any other labels of
        ``X``'s rows) and ``atom``.
    """
    dims = (("sample",) + ATOM_IMAGE_DIMS[1:] if isinstance(X, xr.DataArray) and X.ndim == 3
            else DATA_DIMS)
    coords = row_coords(X, n_samples, dims)
    if isinstance(atoms, xr.DataArray) or np.ndim(atoms) != 1:  # a dictionary
        coords["atom"] = dim_coord(atoms, "atom", n_atoms)
    else:
        coords["atom"] = np.asarray(atoms)
    return coords


#: a row or column counts as unit-norm when its squared norm is within this of 1 (float32
#: dictionaries written to disk and read back keep ~1e-7)
_UNIT_TOL = 1e-5


def check_dictionary_layout(X, D, x_name: str = "X", d_name: str = "D") -> None:
    """``X`` (n_samples, n_features) and ``D`` (n_atoms, n_features) agree, and ``D``
    does not look transposed.

    scikit-learn's ``orthogonal_mp`` and ``Lasso`` take the dictionary as a
    design matrix, one atom per *column* (n_features, n_atoms). Given that
    way, ``D`` either has the wrong number of columns, and
    :func:`~v1model.validation.check_same_features` says ``D`` looks
    transposed when its rows match the features of ``X``, or, for a square dictionary,
    passes every shape check and gives wrong codes; that case is warned of
    when the columns of ``D`` have unit norm and its rows do not (atoms are
    rows here, so unit-norm atoms given as columns).
    """
    check_same_features(X, D, x_name, d_name)
    rows = looks_transposed(D)
    if rows is not None:
        warnings.warn(
            f"{d_name} (shape {D.shape}) has unit-norm columns but its rows, the atoms, "
            f"are not unit-norm (norms {np.sqrt(rows.min()):.3g} to "
            f"{np.sqrt(rows.max()):.3g}): {d_name} looks transposed. Dictionaries here "
            f"are (n_atoms, n_features), one atom per row (scikit-learn's components_; "
            f"orthogonal_mp and Lasso take the transpose): pass {d_name}.T",
            UserWarning, stacklevel=user_stacklevel())


def looks_transposed(D):
    """The squared row norms of a square ``D`` whose columns have unit norm and rows do
    not (unit-norm atoms given as columns), else None."""
    if D.shape[0] == D.shape[1] and D.shape[0] > 1:
        # norms as (max) * ||v / max||: no overflow for the huge entries the range check
        # refuses later with its own message
        scale = float(abs_max(D))
        if not np.isfinite(scale) or scale == 0:
            return None
        # no scaled copy of D where its squares cannot overflow or underflow
        if 1e-100 < scale < 1e100:
            scale = 1.0
        Ds = D if scale == 1.0 else D / scale
        rows = np.einsum("ij,ij->i", Ds, Ds) * scale**2
        cols = np.einsum("ij,ij->j", Ds, Ds) * scale**2
        if np.all(np.abs(cols - 1) <= _UNIT_TOL) and np.any(np.abs(rows - 1) > 1e-2):
            return rows
    return None


def _exact_check_dtype(X, dtype):
    """``dtype`` when ``X`` is an array that casts to it exactly (float32 to float32,
    float32 to float64, small ints), else float64 (lists, float64 to float32, ...)."""
    src = getattr(X, "dtype", None)
    if isinstance(X, np.ndarray) and np.can_cast(src, dtype, casting="safe"):
        return dtype
    return np.float64


#: Head room left between the largest product a solver forms (an entry of ``D D^T`` or
#: ``D x``, or a squared norm) and the largest number of the working dtype: sums over
#: samples and iterations, steps of 1 / lambda_max and objectives grow from there.
RANGE_HEADROOM = 1e-6


def check_products_in_range(X, D, dtype, d_name: str = "D", atom: str = "atom",
                            x_name: str = "X") -> None:
    """Refuse data whose products ``D D^T``, ``D x`` or ``||x||^2`` leave ``dtype``'s range
    (too large, or a non-zero ``X`` so small that they underflow).

    The check is done in logarithms, so that it does not overflow itself. A
    dictionary whose smallest atom has a squared norm near the dtype's
    smallest normal number is refused too: its diagonal of ``D D^T`` would
    underflow to zero, and the solvers divide by it.
    """
    info = np.finfo(dtype)
    log_max = np.log10(float(info.max) * RANGE_HEADROOM)
    log_min = np.log10(float(info.tiny) / RANGE_HEADROOM)
    p = X.shape[1]
    row_max = abs_max(D, axis=1)
    d_max = float(row_max.max())
    # max |X| without an |X| the size of X
    x_max = abs(max(float(X.max()), -float(X.min()))) if X.size else 0.0
    # |<u, v>| <= p max|u| max|v|: a bound that cannot overflow when taken in logs
    log_dd = 2 * np.log10(d_max) + np.log10(p)
    log_dx = np.log10(d_max) + np.log10(x_max) + np.log10(p) if x_max > 0 else -np.inf
    log_xx = 2 * np.log10(x_max) + np.log10(p) if x_max > 0 else -np.inf
    worst = max(log_dd, log_dx, log_xx)
    if worst > log_max:
        safely = (f"beyond what {np.dtype(dtype).name} holds safely "
                  f"(~{float(info.max) * RANGE_HEADROOM:.1e})")
        or_wider = "" if np.dtype(dtype) == np.float64 else " or use dtype=float64"
        if not X.size:  # the dictionary alone (no data given)
            raise ValueError(f"{d_name}: values up to |{d_name}| = {d_max:.3g} make "
                             f"{d_name} {d_name}^T reach ~1e{log_dd:.0f}, {safely}; rescale "
                             f"{d_name}{or_wider}")
        raise ValueError(
            f"{x_name} and {d_name}: values up to |{x_name}| = {x_max:.3g} and |{d_name}| = "
            f"{d_max:.3g} make products up to ~1e{worst:.0f}, {safely}; rescale {x_name} and "
            f"{d_name} (codes scale with |{x_name}| / |{d_name}|){or_wider}"
        )
    # ||row||^2 >= (row max)^2: unless that is small, no atom can underflow
    if 2 * np.log10(row_max.min()) < log_min:
        # squared norm of the smallest atom, in logs: (row max)^2 * ||row / row max||^2
        scaled = D / row_max[:, None]
        log_norm2 = 2 * np.log10(row_max) + np.log10(np.einsum("ij,ij->i", scaled, scaled))
        k = int(np.argmin(log_norm2))
        if log_norm2[k] < log_min:
            raise ValueError(
                f"{d_name}: {atom} {k} has a squared norm of ~1e{log_norm2[k]:.0f}, too small "
                f"for {np.dtype(dtype).name} (its products would underflow); rescale {d_name}"
            )
    # and the other end: squared residuals of values this small underflow (omp in
    # float64 at 1e-170 returned zeros without a word); the learners' limit, so that a
    # learner's data never passes its check and then fails in its solver
    if 0 < x_max < smallest_safe_value(dtype):
        raise ValueError(
            f"{x_name} and {d_name}: values of at most |{x_name}| = {x_max:.3g} and "
            f"|{d_name}| = {d_max:.3g} are too small for {np.dtype(dtype).name} (their "
            f"products and squared residuals underflow its smallest normal number "
            f"{float(info.tiny):.1e}); rescale {x_name}, "
            f"e.g. {x_name} / {x_name}.std(), or {d_name} (codes scale with |{x_name}| / "
            f"|{d_name}|)"
            + ("" if np.dtype(dtype) == np.float64 else " or use dtype=float64")
        )


def check_warm_start(A0, shape, dtype, name="A0", positive=False):
    """A solver's optional starting point: ``None``, or a finite array of ``shape``
    (n_samples, n_atoms) in ``dtype``; the error names ``name``. As ``X`` may be a single
    sample ``(n_features,)``, the start of a single sample may be ``(n_atoms,)``: it is
    returned as ``(1, n_atoms)``, the shape of the codes (a 1-D start for a 1-D ``X`` was
    refused). A DataArray naming ``sample`` and ``atom`` (an LCA trajectory's ``u``) is
    read by those names, as ``X`` is (read by position, a transposed one of square shape
    ran unsaid).

    With ``positive`` (a non-negative LASSO) negative entries are set to zero: the
    projection onto the feasible set, which the first proximal step of every such solver
    applies anyway, so the codes do not depend on it. One rule for every solver: fista,
    ista, lasso_active_set and iht clipped through that step while lasso_cd refused a
    negative start, although a start from an unconstrained solution (another ``lam``, a
    signed run) is a natural warm start. ``u0`` of the LCA is a membrane state, not codes,
    and is never clipped.
    """
    if A0 is None:
        return None
    A0 = check_array(A0, name, ndim=(1, 2), dtype=dtype, dims=CODE_DIMS)
    if A0.ndim == 1:
        if shape[0] != 1:
            raise ValueError(f"{name} is 1-D (shape {A0.shape}), which is the start of a "
                             f"single sample, but X has {shape[0]} samples: {name} must "
                             f"have shape {tuple(shape)}")
        A0 = A0[None, :]
    A0 = check_shape(A0, name, shape)
    return np.maximum(A0, 0) if positive else A0


def drive_scale(B, A, G):
    """Per-sample size of the least-squares (``lam = 0``) problem, for relative
    tolerances: ``max|D x|``, or for an all-zero ``x`` the warm start's
    ``max|D D^T a0|`` (its gradient; zero only at an optimum), float64.

    ``B`` is ``X D^T``, ``A`` the starting codes and ``G`` ``D D^T``. A zero
    scale made the tolerance zero, which rounding never lets a warm-started
    zero sample meet.
    """
    scale = np.abs(B).max(axis=1, initial=0).astype(np.float64)
    zero = np.flatnonzero(scale == 0)
    if zero.size and A.any():
        scale[zero] = np.abs(A[zero].astype(np.float64) @ G).max(axis=1, initial=0)
    return scale


def relaxation_scale(b_max, U0, floor):
    """Per-sample scale of the LCA's tolerance stop: ``b_max`` (``max|b|``, the drive),
    or for a sample with no drive the start's ``max|u0|``, from which its state relaxes
    to rest; at least ``floor``. In ``b_max``'s dtype.

    The LCA's analogue of :func:`drive_scale`: relative to a zero drive the stop
    needed ``|u|`` to underflow (a stimulus switched off after a warm start took
    hundreds of tau on the Euler path, and the ivp path warned that the decayed
    state was short of its fixed point).
    """
    scale = np.array(b_max)
    zero = np.flatnonzero(scale == 0)
    if zero.size:
        scale[zero] = np.abs(U0[zero]).max(axis=1, initial=0)
    return np.maximum(scale, floor)


def check_threshold(threshold):
    return check_choice(threshold, "threshold", THRESHOLDS)


def check_threshold_positive(threshold, positive, threshold_name="threshold"):
    """Refuse an LCA threshold and a sign constraint given together that contradict each
    other: "nonneg" is the non-negative threshold, "soft" and "hard" are signed (shared
    by :func:`~v1model.inference.encode`, ``SparseCodingNetwork.encode`` and the
    dictionary learners, whose threshold is ``threshold_name="method_params['threshold']"``)."""
    check_threshold(threshold)
    if (threshold == "nonneg") != positive:
        want = "'nonneg'" if positive else "'soft' or 'hard'"
        raise ValueError(f"{threshold_name}={threshold!r} contradicts positive={positive!r}: "
                         f"positive={positive!r} needs {threshold_name}={want}; give one of "
                         f"the two")


def apply_threshold(u, lam, kind, out=None):
    """Elementwise thresholding T_lam(u) for the three LCA nonlinearities.

    soft   : sign(u) * max(|u| - lam, 0)   (L1 / LASSO)
    hard   : u * (|u| > lam)               (approximate L0)
    nonneg : max(u - lam, 0)               (non-negative LASSO)
    """
    if kind == "soft":
        s = np.sign(u)
        a = np.abs(u, out=out)
        a -= lam
        np.maximum(a, 0, out=a)
        a *= s
        return a
    if kind == "nonneg":
        a = np.subtract(u, lam, out=out)
        np.maximum(a, 0, out=a)
        return a
    if kind == "hard":
        if out is None:
            return np.where(np.abs(u) > lam, u, 0).astype(u.dtype, copy=False)
        np.copyto(out, u)
        out[np.abs(u) <= lam] = 0
        return out
    raise ValueError(f"threshold must be one of {THRESHOLDS}, got {kind!r}")


def penalty(A, lam, kind="soft"):
    """Per-sample penalty: lam*||a||_1 (soft/nonneg) or lam^2/2 * ||a||_0 (hard)."""
    if kind == "hard":
        return 0.5 * lam**2 * np.count_nonzero(A, axis=1)
    return lam * np.abs(A).sum(axis=1)


def objective(X, D, A, lam, kind="soft"):
    """Per-sample objective ``0.5 ||x - D^T a||^2 + penalty(a)``, float64.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals, one per row (a single sample counts as ``n_samples = 1``).
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (atoms need not have unit norm here).
    A : array_like, shape (n_samples, n_atoms) or (n_atoms,)
        Codes. DataArrays with dims ``(sample, feature)``, ``(atom, feature)``
        and ``(sample, atom)`` are read by dim name, in any order, as the
        solvers read them (:func:`~v1model.validation.by_dim_names`).
    lam : float
        Penalty weight, >= 0.
    kind : {"soft", "nonneg", "hard"}, default "soft"
        ``lam ||a||_1`` (soft, nonneg) or ``lam^2 / 2 ||a||_0`` (hard).

    Returns
    -------
    ndarray, shape (n_samples,), float64
        The objective of each sample.

    Raises
    ------
    ValueError
        For non-finite inputs, mismatched shapes, ``lam < 0`` or an unknown
        ``kind``.
    """
    # by dim name, as the solvers read them: a transposed DataArray X of square shape gave
    # 211 for a LASSO objective of 49, unsaid
    X = check_array(X, "X", ndim=(1, 2), dims=DATA_DIMS)
    D = check_array(D, "D", ndim=2, dims=DICTIONARY_DIMS)
    check_dictionary_layout(X, D)  # before the reshape: the user's shape
    X = np.atleast_2d(X)
    A = np.atleast_2d(check_array(A, "A", ndim=(1, 2), dims=CODE_DIMS))
    check_shape(A, "A", (X.shape[0], D.shape[0]))
    lam = check_nonnegative(lam, "lam")
    kind = check_choice(kind, "kind", THRESHOLDS)
    R = X - A @ D
    return 0.5 * np.einsum("ij,ij->i", R, R) + penalty(A, lam, kind)


def lasso_objective(X, D, A, lam):
    """Total LASSO objective ``sum_i 0.5 ||x_i - D^T a_i||^2 + lam ||a_i||_1``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals, one per row.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    A : array_like, shape (n_samples, n_atoms) or (n_atoms,)
        Codes.
    lam : float
        L1 penalty weight, >= 0.

    Returns
    -------
    float
        The objective summed over samples.

    Raises
    ------
    ValueError
        As :func:`objective`.
    """
    return float(objective(X, D, A, lam, "soft").sum())


#: the step-size rules divide by ``STEP_MARGIN * lambda_max(D D^T)``: strictly below the
#: stability limit 1 / lambda_max despite rounding
STEP_MARGIN = 1.0001


#: np.finfo's constants, looked up once (np.finfo costs microseconds a call, and the gap
#: check runs once per iteration of small solves)
_TINY64 = np.finfo(np.float64).tiny
_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float32, np.float64)}


def duality_gap_met(rr, xr, l1, corr, xx, lam, tol, rounding):
    """Per sample, whether the LASSO duality gap is at most ``tol * ||x||^2``.

    Confirms the (F)ISTA step test, which bounds one step, not the objective:
    after a momentum restart the steps are plain ISTA steps, several times
    shorter, that passed it far from the optimum. The rule and the dual point
    ``nu = s r``, ``s = min(1, lam / max_j |(D r)_j|)`` (``max_j (D r)_j`` for
    the non-negative LASSO), are scikit-learn's Lasso's (the gap is ``tol *
    ||x||^2`` there too). A gap below ``rounding`` (the error of the working
    precision in it) is always met: it cannot be resolved.

    Parameters
    ----------
    rr, xr, l1, corr, xx : ndarray, shape (n,)
        ``||r||^2``, ``x.r``, ``||a||_1``, the largest correlation of ``r``
        with an atom and ``||x||^2``, with ``r = x - D^T a``, in float64.
    lam, tol : float
    rounding : ndarray, shape (n,)

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    return duality_gap(rr, xr, l1, corr, lam) <= tol * xx + rounding


def duality_gap(rr, xr, l1, corr, lam):
    """Per sample, the LASSO duality gap at the dual point ``s r`` of
    :func:`duality_gap_met` (its arguments, float64 arrays of shape (n,))."""
    # lam / max(corr, lam): 1 where corr <= lam, without lam / tiny overflowing (a
    # RuntimeWarning for a zero residual, e.g. an all-zero x)
    s = np.minimum(1.0, lam / np.maximum(corr, max(lam, _TINY64)))
    # primal 0.5 ||r||^2 + lam ||a||_1 minus dual 0.5 ||x||^2 - 0.5 ||x - s r||^2
    return 0.5 * (1.0 + s * s) * rr + lam * l1 - s * xr


def gram_gap_met(A, GA, B, sq_norms, lam, tol, positive):
    """Whether the duality gap of the codes ``A`` is at most ``tol * ||x||^2``, per row.

    From the products the iteration has: ``GA = A G`` and ``B = X D^T``
    (``||x - D^T a||^2 = ||x||^2 - 2 a.b + a.Ga``, in float64), ``sq_norms``
    the rows' ``||x||^2`` (:func:`duality_gap_met`).
    """
    eps = _EPS.get(A.dtype) or float(np.finfo(A.dtype).eps)
    A, GA, B = (v.astype(np.float64) for v in (A, GA, B))
    abs_A = np.abs(A)
    # a.b and a.Ga add products rounded to eps: their sums of magnitudes bound the error
    rounding = 16 * eps * (sq_norms + np.einsum("ij,ij->i", abs_A, np.abs(B) + np.abs(GA)))
    ab = np.einsum("ij,ij->i", A, B)
    xr = sq_norms - ab
    rr = np.maximum(xr - ab + np.einsum("ij,ij->i", A, GA), 0.0)
    corr = B - GA  # D r
    corr = corr.max(axis=1) if positive else np.abs(corr).max(axis=1)
    return duality_gap_met(rr, xr, abs_A.sum(axis=1), corr, sq_norms, lam, tol,
                           rounding)


def confirm_by_gap(done, A, GA, B, sq_norms, lam, tol, positive, *, G=None, B_rows=None):
    """Keep, of the rows of ``A`` that met (F)ISTA's step test (``done``, bool, changed in
    place), those whose duality gap is at most ``tol * ||x||^2`` too (:func:`gram_gap_met`'s
    test, row by row in a compiled loop:
    :func:`~v1model.inference.lca_adaptive.confirm_rows`).

    ``GA`` is ``A G`` when the iteration has it (backtracking), else None and the
    candidates' ``A G`` is formed from ``G``; ``B`` holds ``X D^T`` of the rows of ``A``,
    or of all samples with ``B_rows`` the samples the rows of ``A`` are. ``sq_norms``
    (the rows' ``||x||^2``) None skips the check. Returns the rows multiplied by ``G``.
    """
    if sq_norms is None or not done.any():
        return 0
    extra = 0
    if GA is None:  # one product of the candidates, as BLAS rounds it for those rows
        GA = A[np.flatnonzero(done)] @ G
        extra = GA.shape[0]
    confirm_rows, all_rows = _CONFIRM_ROWS or _confirm_rows_kernel()
    eps = _EPS.get(A.dtype) or float(np.finfo(A.dtype).eps)
    confirm_rows(done, A, GA, B, all_rows if B_rows is None else B_rows, sq_norms,
                 float(lam), float(tol), eps, bool(positive))
    return extra


#: :func:`confirm_by_gap`'s compiled test and its "every row" ``B_rows``, from lca_adaptive
#: at the first call (that module imports this one): it lives beside the LCA's step
#: kernel, which shares its sums, as numba's disk cache of a kernel is renewed only when
#: the kernel's own file changes. Looked up once: an import statement per call cost
#: about as much as the test of a few rows
_CONFIRM_ROWS = None


def _confirm_rows_kernel():
    global _CONFIRM_ROWS
    from .lca_adaptive import ALL_ROWS, confirm_rows

    _CONFIRM_ROWS = confirm_rows, ALL_ROWS
    return _CONFIRM_ROWS


def spectral_norm_gram(D, G=None):
    """Largest eigenvalue of the Gram matrix D D^T (= ||D||_2^2), in float64.

    From the smaller of ``D D^T`` and ``D^T D`` (the same non-zero eigenvalues).
    ``G``, optional, is the ``D D^T`` (any float dtype) the caller already holds:
    when it is the smaller one (``n_atoms <= n_features``) its float64 copy is the
    only Gram-sized array built here, where building ``D D^T`` again, and
    ``np.linalg.eigvalsh``'s copy of it, held two more; with ``G`` in float32 the
    value is that of the matrix the solver iterates with (it differs from the
    float64 Gram's by float32 rounding, ~1e-7 relative, far inside
    :data:`STEP_MARGIN`). When ``D D^T`` is the larger one, ``G`` is not used: its
    eigenvalue costs ``n_atoms**3`` against the small Gram's ``n_features**3``.
    """
    k, p = np.shape(D)
    if G is not None and k <= p:
        return gram_top_eigenvalue(G)
    D64 = np.asarray(D, dtype=np.float64)
    small = D64 @ D64.T if k <= p else D64.T @ D64
    return _top_eigenvalue_in_place(small)


def gram_top_eigenvalue(G):
    """Largest eigenvalue, in float64, of a symmetric matrix ``G`` (n, n), any float
    dtype, left unchanged: one float64 copy of ``G`` is all this allocates of its
    size (LAPACK works in that copy, which ``np.linalg.eigvalsh`` would copy again).
    """
    return _top_eigenvalue_in_place(np.array(G, dtype=np.float64, order="F"))


def _top_eigenvalue_in_place(S):
    return float(eigenvalues_in_place(S)[-1])


def eigenvalues_in_place(S):
    """Eigenvalues, ascending (n,), of the symmetric float64 matrix ``S`` (n, n),
    destroying it.

    LAPACK's ``dsyevd``, as ``np.linalg.eigvalsh`` (the same value to the bit on the
    dictionaries measured, 2026-12-07, so the same steps and codes), but on ``S``
    itself: a symmetric C-ordered array is its own Fortran-ordered transpose, so
    ``S.T`` passes without the copy ``eigvalsh`` makes. (``dsyevr`` for the top
    eigenvalue alone moved it by ~1e-15 relative, and float64 codes by ~1e-14, for no
    saving: without eigenvectors both need O(n) workspace.)
    """
    from scipy.linalg import eigh

    S = S if S.flags.f_contiguous else S.T
    return eigh(S, eigvals_only=True, overwrite_a=True, check_finite=False, driver="evd")


#: values of the Gram matrix :func:`duplicate_pairs` holds at once (8 MB in float64)
DUPLICATE_BLOCK_VALUES = 1 << 20


def duplicate_pairs(D, min_cosine):
    """Pairs ``(i, j)``, ``i < j``, of atoms (rows of ``D``, any non-zero norms) whose
    ``|cosine|`` is at least ``min_cosine``: a duplicated or sign-flipped atom, or one
    that close to it, in the order ``(i, j)`` sorted. The Gram matrix in float64, a block
    of rows at a time (:data:`DUPLICATE_BLOCK_VALUES`): whole, with its ``|.|`` and mask,
    it took ~16 n_atoms^2 bytes (1.1 GB for 8192 atoms) at every hard-threshold
    :func:`~v1model.inference.lca` call, on top of the solver's own."""
    D64 = np.asarray(D, dtype=np.float64)
    D64 = D64 / np.linalg.norm(D64, axis=1, keepdims=True)
    n = D64.shape[0]
    step = max(1, DUPLICATE_BLOCK_VALUES // max(n, 1))
    pairs = []
    for start in range(0, n, step):
        close = np.abs(D64[start:start + step] @ D64.T) >= min_cosine
        rows, cols = np.nonzero(close)
        later = cols > rows + start  # each pair once, i < j
        pairs.extend(zip((rows[later] + start).tolist(), cols[later].tolist()))
    return pairs


def describe_pairs(pairs, max_pairs=5):
    """``"atoms 3 and 1, 7 and 2"``: the later atom of each pair first (the copy), the
    first ``max_pairs`` of them."""
    shown = ", ".join(f"{j} and {i}" for i, j in pairs[:max_pairs])
    return f"atoms {shown}{', ...' if len(pairs) > max_pairs else ''}"


#: at most this many unconverged samples are named in the warning
N_SAMPLES_NAMED = 10


def rows_of_x(samples, x_name="X"):
    """``"rows 0, 2, 4 of X"`` (``"row 2 of X"`` for one): the rows ``samples`` of X (the
    caller's ``x_name``) a warning is about, the first :data:`N_SAMPLES_NAMED` of them."""
    shown = ", ".join(str(int(i)) for i in samples[:N_SAMPLES_NAMED])
    more = ", ..." if len(samples) > N_SAMPLES_NAMED else ""
    return f"row{'s' if len(samples) > 1 else ''} {shown}{more} of {x_name}"


def relative_duality_gaps(X, D, A, lam, positive=False):
    """Per sample, the LASSO duality gap of the codes ``A`` over ``||x||^2``, float64.

    The gap bounds how far ``0.5 ||x - D^T a||^2 + lam ||a||_1`` is above the optimum;
    the dual point is :func:`duality_gap_met`'s (scikit-learn's Lasso's). For the
    warnings of solvers stopped at their limit, which said how many samples were short
    but not how far (the step and KKT tests they missed are in no unit a user can weigh).

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
    D : ndarray, shape (n_atoms, n_features)
    A : ndarray, shape (n, n_atoms)
    lam : float
    positive : bool, default False
        The non-negative LASSO's gap (its dual constraint is ``D r <= lam``).

    Returns
    -------
    ndarray, shape (n,)
        0 for an all-zero ``x`` (and its zero codes).
    """
    X, D, A = (np.asarray(v, dtype=np.float64) for v in (X, D, A))
    R = X - A @ D
    corr = R @ D.T  # D r
    corr = corr.max(axis=1) if positive else np.abs(corr).max(axis=1)
    gap = duality_gap(np.einsum("ij,ij->i", R, R), np.einsum("ij,ij->i", X, R),
                      np.abs(A).sum(axis=1), corr, lam)
    return np.maximum(gap, 0.0) / np.maximum(np.einsum("ij,ij->i", X, X), _TINY64)


def lca_duality_gaps(X, D, U, lam, threshold):
    """:func:`relative_duality_gaps` of the LCA's outputs ``T(U)`` for the states ``U``;
    None for the hard threshold, whose energy is not the LASSO's."""
    if threshold == "hard":
        return None
    return relative_duality_gaps(X, D, apply_threshold(U, lam, threshold), lam,
                                 threshold == "nonneg")


def warn_not_converged(solver, n_iter, n_left, n_total, limit_name="max_iter", *,
                       samples=None, advice="", unit="iterations", gaps=None):
    """Warn that ``n_left`` of ``n_total`` samples hit ``limit_name`` after ``n_iter``
    ``unit`` (what ``limit_name`` counts: "iterations", "sweeps over the coordinates" for
    ``max_sweeps``, "rounds" for ``max_rounds``, "steps" for LCA's
    ``max_steps``; singular for one); ``samples`` (the rows of X left
    unconverged) are named, the first :data:`N_SAMPLES_NAMED` of them, and ``advice``
    (what else to do, or why) is appended to the remedies. ``gaps``, for the LASSO
    solvers, holds the unconverged samples' :func:`relative_duality_gaps`: the largest is
    named, so that the user can tell a near miss from codes far off.

    Inside a learner's run (:func:`tally_not_converged`) nothing is warned here: the
    shortfall is added to the run's tally, which warns once at its end."""
    if n_iter == 1:  # "after 1 rounds" read wrong
        first, space, rest = unit.partition(" ")
        unit = first.removesuffix("s") + space + rest
    settings = _TALLY.get()
    if isinstance(settings, NotConvergedTally):
        settings.add(f"{solver} stopped after {n_iter} {unit}", n_left, n_total,
                     settings.remedy(limit_name, n_iter) + advice)
        return
    if settings is not None:  # counted even where the user filters the warning out
        settings.n_left += int(n_left)
    x_name = "X" if settings is None else settings.x_name
    which = (f" ({rows_of_x(samples, x_name)})" if samples is not None and len(samples)
             else "")
    # last, after the remedy, which callers' messages (and users' filters) lead with
    reached = ("" if gaps is None or not len(gaps) else
               f". Their LASSO duality gap is up to {float(np.max(gaps)):.2g} ||x||^2, a "
               f"bound on their objective's excess over the optimum")
    remedy = (f"raise {limit_name} or loosen tol" if settings is None
              else settings.remedy(limit_name, n_iter))
    warnings.warn(
        f"{solver} stopped after {n_iter} {unit} with {n_left} of {n_total} samples "
        f"not converged{which}; {remedy}{advice}{reached}",
        ConvergenceWarning,
        # the user's line, whether it called the solver, encode or a learner's transform
        # (or a study, whose parameters the remedy names)
        stacklevel=shortfall_stacklevel(),
    )


def shortfall_stacklevel() -> int:
    """``stacklevel`` for the ``ConvergenceWarning`` of the calling function: the user's
    line (:func:`~v1model._frames.user_stacklevel`), past the packages of the caller's
    :class:`SolverSettings` ``skip`` too. Under a study's settings, whose remedy names
    the study's parameters (``run(NAME=VALUE)``), that is the line that called the
    study's ``run``, not the study's own line, which its user did not write."""
    return user_stacklevel(getattr(_TALLY.get(), "skip", ()), depth=2)


#: the :class:`SolverSettings` of the caller a solver is called by (a learner's run: its
#: :class:`NotConvergedTally`; None: called by the user)
_TALLY = contextvars.ContextVar("v1model_not_converged_tally", default=None)


#: solver settings that every caller takes as its own argument, never in its dict of solver
#: settings (the learners and the estimator refuse them there: learning._coding.make_coder)
OWN_ARGUMENTS = ("lam", "n_nonzero")


class SolverSettings:
    """How the user of a caller (a learner's ``transform``, :func:`optimal_codes
    <v1model.amortized.optimal_codes>`) sets the settings of the solver it calls, for the
    remedies its warnings name: the solver's own ``max_iter`` is not what that user sets.

    Parameters
    ----------
    params_name : str or None
        The caller's dict of solver settings (``"method_params"``,
        ``"transform_params"``): the knobs are named as its keys; None: as the
        caller's own arguments.
    params : dict
        The settings in use, for the values named in the remedies.
    names : dict, optional
        The caller's names of knobs it takes under another name (``{"tol":
        "target_tol"}``); None for a knob the user cannot set (a limit the caller fixes).
    inherited : dict, optional
        Knob -> the dict its value in use came from, when not ``params_name`` itself
        (a transform coding with the learning method's ``method_params``).
    advice : str, default ""
        Appended to the remedies (what else the user can do).
    x_name : str, default "X"
        The caller's name of the data whose rows are named (``"X_val"``).
    method_name : str or None, default None
        The caller's own argument that picks the solver (``"method"``,
        ``"transform_method"``, ``"inference"``), for advice to use another one
        (:meth:`use_method`); None: ``encode``'s ``method``.
    skip : tuple of str, default ()
        Top-level packages of the caller whose frames the warnings pass over
        (:func:`shortfall_stacklevel`): ``("studies",)`` for a study, whose remedies name
        its parameters, set at the line that called it.

    Attributes
    ----------
    n_left : int
        The samples the solvers called under these settings left short of their
        stopping rule (:func:`warn_not_converged`), for the caller to keep.
    """

    def __init__(self, params_name, params, names=None, inherited=None, advice="",
                 x_name="X", method_name=None, skip=()):
        self.x_name = x_name
        self.skip = tuple(skip)
        self.method_name = method_name
        self.params_name = params_name
        self.params = params
        self.names = {} if names is None else names
        self.inherited = {} if inherited is None else inherited
        self.advice = advice
        # samples the solvers called within left short (warned of, or tallied): what a
        # caller keeps of its shortfall (a study's held-out count)
        self.n_left = 0

    def setting(self, name, value=None, now=True):
        """``"method_params['max_iter'] (now 2)"``: a knob as the caller's user sets it,
        with its value in use (``value``, else the one given, if any; none with
        ``now=False``); None when the user cannot set it."""
        own = self.names.get(name, name)
        if own is None:
            return None
        if value is None:
            value = self.params.get(name)
        if isinstance(value, np.generic):  # "(now 0.001)", not "(now np.float64(0.001))"
            value = value.item()
        knob = (own if self.params_name is None or name in OWN_ARGUMENTS
                else f"{self.params_name}[{own!r}]")
        if not now or value is None:
            return knob
        source = f", from {self.inherited[name]}" if name in self.inherited else ""
        return f"{knob} (now {value!r}{source})"

    def use_method(self, method):
        """``"method='active_set'"``: the solver ``method`` as the caller's user picks it
        (``"encode(..., method='active_set')"`` when the caller names no argument)."""
        if self.method_name is None:
            return f"encode(..., method={method!r})"
        return f"{self.method_name}={method!r}"

    def remedy(self, limit_name, n_iter):
        """``"raise <limit> or loosen <tol>"`` in the caller's names, leaving out (and
        saying so) a knob the caller fixes, and the caller's advice."""
        limit, tol = self.setting(limit_name, n_iter), self.setting("tol")
        # a fixed knob was named as "None" ("or loosen None")
        if limit is None and tol is None:
            return (f"{limit_name}={n_iter} and tol={self.params.get('tol')!r} are fixed "
                    f"here{self.advice}")
        if limit is None:
            return f"loosen {tol} ({limit_name}={n_iter} is fixed here){self.advice}"
        if tol is None:
            return f"raise {limit} (tol is fixed here){self.advice}"
        return f"raise {limit} or loosen {tol}{self.advice}"


class NotConvergedTally(SolverSettings):
    """The solver calls of a learner's run that left samples unconverged, warned of once
    at the run's end (:meth:`warn`) rather than once per minibatch.

    Per minibatch, the solver's own warning named rows of the minibatch (a random draw,
    not the rows of the user's ``X``) and a ``max_iter`` that the learner takes in a dict
    of solver settings, and it came again at every update of a long run.

    Parameters
    ----------
    params_name : str or None
        The learner's name of its dict of solver settings (``"method_params"``,
        ``"inference_params"``): the knobs are named as its keys; None: as the
        learner's own arguments (:func:`~v1model.convolutional.learn_kernels`).
    params : dict
        The settings in use, for the values named in the remedies.
    method_name : str, default "method"
        The learner's argument that picks the solver (``"inference"`` for
        :func:`~v1model.learning.learn_dictionary`), for the advice to use another.
    names : dict, optional
        The names its caller gives the knobs (:class:`SolverSettings`; a study's
        parameters, :func:`caller_settings`).
    advice : str, default ""
        Appended to the remedies (:class:`SolverSettings`).
    skip : tuple of str, default ()
        The caller's packages its warning passes over (:class:`SolverSettings`).
    """

    def __init__(self, params_name, params, method_name="method", names=None, advice="",
                 skip=()):
        super().__init__(params_name, params, names=names, advice=advice,
                         method_name=method_name, skip=skip)
        self.kinds = {}  # (what, remedy) -> [solver calls, samples left, samples coded]
        self.n_left = 0  # samples left short since the last take_unconverged()

    def add(self, what, n_left, n_total, remedy):
        """One solver call (one update's minibatch) that left ``n_left`` of its
        ``n_total`` samples short: ``what`` happened, ``remedy`` is the advice."""
        counts = self.kinds.setdefault((what, remedy), [0, 0, 0])
        counts[0] += 1
        counts[1] += int(n_left)
        counts[2] += int(n_total)
        self.n_left += int(n_left)

    def take_unconverged(self) -> int:
        """The samples left short since the last call (one update's: the learner's
        history variable :data:`UNCONVERGED_HISTORY`), and start counting afresh."""
        n_left, self.n_left = self.n_left, 0
        return n_left

    def warn(self, n_updates):
        """One :class:`ConvergenceWarning` per kind of shortfall of the run's
        ``n_updates`` updates (none if none), at the user's line."""
        for (what, remedy), (n_calls, n_left, n_coded) in self.kinds.items():
            warnings.warn(
                _shortfall(what, n_calls, n_updates, n_left, n_coded, remedy),
                ConvergenceWarning, stacklevel=user_stacklevel(self.skip))
        self.kinds = {}


def _shortfall(what, n_calls, n_updates, n_left, n_coded, remedy) -> str:
    """The text of a tallied shortfall: ``n_calls`` of ``n_updates`` updates left
    ``n_left`` of their ``n_coded`` samples short (a run's, or a stream's since its last
    warning)."""
    return (f"{what} with samples not converged in {n_calls} of {n_updates} updates "
            f"({n_left} of the {n_coded} samples coded in them); {remedy}")


class NotConvergedStream:
    """The shortfalls of a learner's stream of calls (``partial_fit`` chunks), each
    call's :class:`NotConvergedTally` warned of (:meth:`warn`) at once for a kind of
    shortfall not warned of before in the stream (a new setting, a first chunk), and then
    collected and warned of at doubling call numbers (after a warning at chunk ``c``, at
    ``2c``, ``4c``, ...). A warning per chunk (the counts differ, so Python's filter
    repeats it) gave a stream of 1,000 chunks 1,000 warnings of one setting; this gives
    about 10, each counting the updates of the chunks since the last one.
    """

    def __init__(self):
        self.n_calls = 0
        # (what, remedy) -> [call last warned at, calls, updates, samples left, samples
        # coded]: the counts since that warning
        self.kinds = {}

    def warn(self, tally, n_updates):
        """Add the tally of one call of ``n_updates`` updates; warn of the kinds due."""
        self.n_calls += 1
        for counts in self.kinds.values():
            counts[2] += n_updates
        for key, (n_calls, n_left, n_coded) in tally.kinds.items():
            counts = self.kinds.setdefault(key, [None, 0, n_updates, 0, 0])
            counts[1] += n_calls
            counts[3] += n_left
            counts[4] += n_coded
        tally.kinds = {}
        now = self.n_calls
        for (what, remedy), counts in self.kinds.items():
            last, n_calls, n_updates_since, n_left, n_coded = counts
            if n_calls == 0 or (last is not None and now < 2 * last):
                continue
            first = now if last is None else last + 1
            chunks = f"chunk {now}" if first == now else f"chunks {first}-{now}"
            warnings.warn(
                _shortfall(what, n_calls, n_updates_since, n_left, n_coded, remedy)
                + f" (partial_fit {chunks} of this stream; while they go on, the next "
                f"warnings come at chunks {2 * now}, {4 * now}, ...)",
                ConvergenceWarning, stacklevel=user_stacklevel())
            counts[:] = [now, 0, 0, 0, 0]


#: a learner's history variable of the samples its solver left short at each update: its
#: name, and its attrs (the same for every learner, patch and convolutional)
UNCONVERGED_HISTORY = ("n_unconverged", {
    "long_name": "samples of the update's minibatch whose codes the solver left short of its "
                 "stopping rule (stopped at its iteration limit)",
    "units": "1"})


@contextlib.contextmanager
def tally_not_converged(params_name="method_params", params=None, method_name="method"):
    """Within the block, the solvers add their shortfalls to a :class:`NotConvergedTally`
    (yielded) instead of warning; the learner calls its ``warn`` once at the end of the
    run (not on an error: the error is the news), and its ``take_unconverged`` after
    each update, for its history. Under a caller's :func:`solver_settings` (a study),
    the knobs are named as that caller names them (its parameters), not as the
    learner's ``params_name``, which the caller's user does not set."""
    caller = caller_settings()
    if caller is not None:
        params_name, names, advice, skip = None, caller.names, caller.advice, caller.skip
    else:
        names, advice, skip = None, "", ()
    tally = NotConvergedTally(params_name, {} if params is None else params, method_name,
                              names=names, advice=advice, skip=skip)
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


@contextlib.contextmanager
def run_tally(params_name="method_params", params=None):
    """The :class:`NotConvergedTally` of the learner's run in progress, or, outside one
    (one update made by itself), a tally of the block's own, warned of at its end as an
    update of one."""
    tally = current_tally()
    if tally is not None:
        yield tally
        return
    with tally_not_converged(params_name, params) as tally:
        yield tally
    tally.warn(1)


@contextlib.contextmanager
def discard_not_converged():
    """Within the block, the solvers' shortfalls go to a tally that is dropped, not
    warned of: a solver's own second pass (in float64), whose samples still short its
    caller warns of (or tallies) itself.

    The tally lives in this thread's context (a ContextVar): ``warnings.catch_warnings``,
    one per process, also silenced (or re-filtered) every other thread's warnings while
    the pass ran.
    """
    with tally_not_converged(None, {}):
        yield


@contextlib.contextmanager
def solver_settings(settings):
    """Within the block, the solvers' warnings name the knobs as ``settings`` (a
    :class:`SolverSettings`) says the caller's user sets them, and warn at once."""
    token = _TALLY.set(settings)
    try:
        yield
    finally:
        _TALLY.reset(token)


def caller_settings():
    """The :class:`SolverSettings` a caller set around a learner's run with
    :func:`solver_settings` (a study naming the learner's knobs as its own parameters),
    or None. A learner's own tally (a learner inside another's run) is not one."""
    settings = _TALLY.get()
    return None if isinstance(settings, NotConvergedTally) else settings


def current_tally():
    """The :class:`NotConvergedTally` of the learner's run in progress, or None."""
    settings = _TALLY.get()
    return settings if isinstance(settings, NotConvergedTally) else None


def use_method(method):
    """Advice to use the solver ``method`` instead, as the caller's user picks it:
    ``"encode(..., method='active_set')"`` when called by the user, else
    :meth:`SolverSettings.use_method` (a learner's ``method='active_set'``, a
    transform's ``transform_method='active_set'``)."""
    settings = _TALLY.get()
    if settings is None:
        return f"encode(..., method={method!r})"
    return settings.use_method(method)


def limit_knob(name, value):
    """``"max_iter (now 30)"``: a solver's limit ``name`` as its user sets it (called by
    the user: ``name`` itself; else as :meth:`SolverSettings.setting` names it), with the
    ``value`` that stopped it; None when the caller fixes the limit."""
    settings = _TALLY.get()
    if settings is None:
        return SolverSettings(None, {}).setting(name, value)
    return settings.setting(name, value)


def knob(name, now=True):
    """A solver's knob ``name`` as its user sets it: ``name`` itself when called by the
    user, else as :meth:`SolverSettings.setting` names it (``name`` when it cannot)."""
    settings = _TALLY.get()
    if settings is None:
        return name
    return settings.setting(name, now=now) or name


def history_dataset(records, solver, *, iterations=None, counts=ITERATIONS_DONE, **attrs):
    """Per-iteration history as a Dataset with dim ``iteration``.

    ``records`` is a list of dicts (:func:`history_record`) with keys
    objective, data_term, penalty (summed over samples) and n_active (mean
    per sample). The ``iteration`` coordinate (:func:`~v1model.io.count_coord`)
    holds ``iterations`` (default 0, 1, ...: the first record is the start) with
    the long_name ``counts``. A ``dtype`` attr is recorded by its name
    (``"float32"``), whatever form the solver was given it in."""
    if "dtype" in attrs:
        attrs["dtype"] = np.dtype(attrs["dtype"]).name
    it = np.arange(len(records)) if iterations is None else iterations
    data = {
        key: ("iteration", np.array([r[key] for r in records], dtype=float))
        for key in ("objective", "data_term", "penalty", "n_active")
    }
    ds = xr.Dataset(data, coords={"iteration": count_coord("iteration", it, counts)})
    ds["objective"].attrs.update(long_name="objective summed over samples",
                                 units="(units of X)^2")
    ds["data_term"].attrs.update(long_name="0.5 ||x - D^T a||^2 summed over samples",
                                 units="(units of X)^2")
    ds["penalty"].attrs.update(long_name="penalty summed over samples", units="(units of X)^2")
    ds["n_active"].attrs.update(long_name="mean number of non-zero coefficients per sample",
                                units="1")
    ds.attrs.update(solver=solver, **attrs)
    return ds


def history_record(X, D, A, lam, kind="soft"):
    R = X.astype(np.float64) - A.astype(np.float64) @ D.astype(np.float64)
    data = 0.5 * float(np.einsum("ij,ij->", R, R))
    pen = float(penalty(A.astype(np.float64), lam, kind).sum())
    return {
        "objective": data + pen,
        "data_term": data,
        "penalty": pen,
        "n_active": float(np.count_nonzero(A)) / max(A.shape[0], 1),
    }
