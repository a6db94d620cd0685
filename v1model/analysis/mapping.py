"""Mapping receptive fields by reverse correlation, for any encoder.

An encoder is any callable ``f(X) -> codes`` taking stimuli ``X`` of shape
(n_samples, n_features) and returning responses (n_samples, n_units): the ODE
LCA (``lambda X: lca(X, D, lam)``), ``SparseCodingNetwork.encode``, the spiking
backend (spike counts), a sparse autoencoder. The encoder is probed with
white or sparse noise as a physiologist would; nothing about its dictionary
is used to compute the map.

The map is built from the stimulus-response cross-covariance ``C_xr`` (the
mean of ``(x - mean x) r``). The classic spike-triggered average (STA), the
response-weighted mean stimulus ``sum_n r_n x_n / sum_n r_n`` (Chichilnisky
2001), has the same shape: for zero-mean noise it is ``C_xr / mean(r)``.
The map reported is neither scaled by the mean response nor in stimulus
units: ``C_xr`` divided by the (per-pixel) stimulus variance, which estimates
the unit's linear filter (response per unit of stimulus): for a linear unit
``r = w . x`` with white stimuli, ``C_xr / sigma^2 -> w`` as the number of
stimuli grows (error ~ 1/sqrt(n)), whatever the contrast. The classic STA is
``rf * sigma^2 / mean_response``, with ``sigma^2`` the pixel variance of the
noise: ``contrast^2`` for white noise, ``contrast^2 * n_pixels / (height *
width)`` for sparse noise, whose pixels (one or a few lit at ``+-contrast``)
are uncorrelated too, so the same estimate holds.

``method="regression"`` instead solves ``(C_xx + ridge * sigma^2 I) rf = C_xr``
with the empirical stimulus covariance (the whitened STA; exact for a linear
unit as soon as ``n_stimuli > n_features`` and ``ridge = 0``).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..io import seed_attr
from ..progress import check_progress, progress_bar
from ..validation import (
    as_generator,
    by_dim_names,
    check_array,
    check_choice,
    check_dictionary,
    check_int,
    check_nonnegative,
    check_positive,
    dim_coord,
)
from ..scaling import pow2_scale
from ._common import (RESPONSE_UNITS, atoms_as_images, call_encoder, check_encoder,
                      check_response_units, encoder_stimulus_shape)

__all__ = ["map_receptive_fields", "cosine_similarity", "NOISE_KINDS", "MAPPING_METHODS"]

NOISE_KINDS = ("white", "sparse")
MAPPING_METHODS = ("sta", "regression")
#: stimuli per draw of the noise, whatever ``batch_size``: a seed gives the same stimuli
#: (sparse noise draws a block's pixels, then its signs) for every batch size
NOISE_BLOCK = 1000


def cosine_similarity(a, b):
    """Row-wise cosine similarity of two stacks of images or vectors.

    Parameters
    ----------
    a, b : array_like, shape (n, ...) with the same shape
        At least 2-D: row ``i`` of ``a`` is compared with row ``i`` of ``b``.
        For two single vectors pass ``a[None]`` and ``b[None]``. Two
        ``xarray.DataArray`` with the same dims in different orders are
        compared by dim name (``b`` transposed to ``a``'s order, a single dim of
        its own name taking the place of the one it lacks); ``b`` naming some of
        ``a``'s dims at other positions beside two or more of its own is refused;
        else by position.

    Returns
    -------
    ndarray, shape (n,)
        Cosines in [-1, 1]; NaN where a row is all zeros. Rows of any
        magnitude (1e-300 or 1e200) are handled.

    Raises
    ------
    ValueError
        For inputs with fewer than 2 dimensions, of different shapes, or
        non-finite, or a DataArray ``b`` naming ``a``'s dims at other positions
        beside two or more dims of its own.
    """
    if isinstance(a, xr.DataArray):
        # b in a's dim order, by name (read by position, rfs (atom, x, y) beside atoms
        # (atom, y, x) were compared transposed, unsaid); one naming a's dims at other
        # positions is refused
        b = by_dim_names(b, tuple(a.dims), "b")
    a = check_array(a, "a", ndim=None)
    b = check_array(b, "b", ndim=None)
    if a.ndim < 2:
        raise ValueError(f"a must be a stack of vectors or images (n, ...) with at least 2 "
                         f"dimensions, got shape {a.shape}; for two single vectors pass "
                         "a[None] and b[None]")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return _cosine_similarity(a, b)


def _cosine_similarity(a, b):
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    # rows divided by a power of two near their largest |value| (exact; the cosine does
    # not change): the norms neither overflow nor underflow
    a = a / pow2_scale(a, axis=1, keepdims=True)
    b = b / pow2_scale(b, axis=1, keepdims=True)
    num = np.einsum("ij,ij->i", a, b)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def map_receptive_fields(
    encoder,
    shape,
    *,
    noise: str = "white",
    n_stimuli: int = 20000,
    contrast: float = 1.0,
    distribution: str | None = None,
    n_pixels: int | None = None,
    method: str = "sta",
    ridge: float = 0.0,
    dictionary=None,
    response_units: str = RESPONSE_UNITS,
    batch_size: int = 1000,
    seed=None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Receptive fields of every unit of ``encoder`` by reverse correlation.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R`` with ``X`` (n, height * width) row-major images
        and ``R`` (n, n_units) responses.
    shape : int or (height, width)
        Stimulus size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    noise : {"white", "sparse"}, default "white"
        White noise (:func:`stimuli.white_noise`) or sparse noise
        (:func:`stimuli.sparse_noise`).
    n_stimuli : int, default 20000
        Number of noise images shown (at least 2).
    contrast : float, default 1.0
        Pixel s.d. (white) or the magnitude of the lit pixels, which are
        ``+contrast`` or ``-contrast`` (sparse), in the
        units of the encoder's input. Sparse codes are nonlinear: map them at
        a contrast that drives them into their working range.
    distribution : {"gaussian", "binary"}, optional
        White-noise pixel distribution; default ``"gaussian"``. Only with
        ``noise="white"``.
    n_pixels : int, optional
        Lit pixels per sparse-noise image; default 1. Only with
        ``noise="sparse"``.
    method : {"sta", "regression"}, default "sta"
        Plain STA divided by the pixel variance, or the whitened STA
        (regression on the empirical stimulus covariance, see the module
        docstring).
    ridge : float, default 0.0
        Ridge of the regression, relative to the pixel variance.
    dictionary : array_like, shape (n_units, n_features) or (n_units, h, w), optional
        The units' atoms (none of them all zeros); a DataArray with dims
        ``atom``, ``y``, ``x`` is read by name, in any order, as by
        :func:`~v1model.analysis.fit_gabor`. Adds ``similarity``
        (cosine of each mapped RF with its atom) and ``similarity_trace``
        (the same after each batch); the result's ``atom`` coordinate is
        a DataArray dictionary's own (unit ``i`` is the unit of its atom
        ``i``), so that it lines up with ``fit_gabor(dictionary)``.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``mean_response`` and ``response_sd``; ``rf`` is in
        ``response_units`` per unit of the encoder's input. E.g.
        ``"units of X"`` for LCA codes (:mod:`v1model.inference`), ``"Hz"``
        for rates.
    batch_size : int, default 1000
        Stimuli per encoder call; the noise is drawn in blocks of
        :data:`NOISE_BLOCK` stimuli whatever ``batch_size``, so a seed gives
        the same stimuli, and maps equal to rounding, for every batch size.
    seed : int, Generator or None, optional
        Seed of the noise.
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        Over ``atom`` (the encoder's unit index 0 ... n_units - 1, or the
        labels of a DataArray ``dictionary``):
        ``rf`` (atom, y, x): mapped receptive fields (response per unit of
        stimulus: ``response_units`` per unit of the encoder's input);
        ``mean_response``, ``response_sd`` (``response_units``),
        ``fraction_active`` (1) (atom); ``similarity`` (atom) and ``similarity_trace``
        (n_stimuli_used, atom) when ``dictionary`` is given (NaN for a unit
        whose mapped RF is exactly zero: a unit whose response never changes,
        e.g. one that never responds or always gives the same value);
        the number of stimuli in ``attrs["n_stimuli"]``.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For ``distribution`` with sparse noise or ``n_pixels`` with white
        noise (they would be ignored), a dictionary with an all-zero atom,
        and receptive fields too large for float64 (responses huge compared
        with ``contrast``).

    Warns
    -----
    UserWarning
        ``method="regression"`` with ``ridge=0`` when the stimulus covariance
        is singular (``n_stimuli`` at most the number of pixels, or sparse
        noise that never lit some pixel): the fit is underdetermined.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).standard_normal((3, 64))
    >>> ds = map_receptive_fields(lambda X: X @ W.T, 8, n_stimuli=2000,
    ...                           method="regression", seed=0)
    >>> bool(np.allclose(ds.rf.values.reshape(3, -1), W))
    True
    """
    from stimuli.gratings import NOISE_DISTRIBUTIONS, sparse_noise, white_noise

    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    noise = check_choice(noise, "noise", NOISE_KINDS)
    method = check_choice(method, "method", MAPPING_METHODS)
    n_stimuli = check_int(n_stimuli, "n_stimuli", minimum=2)
    contrast = check_positive(contrast, "contrast")
    if noise == "white":
        if n_pixels is not None:
            raise ValueError(f"n_pixels={n_pixels!r} applies to sparse noise only; it would be "
                             "ignored with noise='white'")
        distribution = check_choice("gaussian" if distribution is None else distribution,
                                    "distribution", NOISE_DISTRIBUTIONS)
    else:
        if distribution is not None:
            raise ValueError(f"distribution={distribution!r} applies to white noise only; it "
                             "would be ignored with noise='sparse' (pixels are +-contrast)")
        n_pixels = check_int(1 if n_pixels is None else n_pixels, "n_pixels", minimum=1,
                             maximum=h * w)
    ridge = check_nonnegative(ridge, "ridge")
    response_units = check_response_units(response_units)
    # the empirical covariance of n stimuli has rank < n: with no ridge, the regression
    # has many exact solutions and lstsq returns the minimum-norm one, not the filter
    underdetermined = method == "regression" and ridge == 0 and n_stimuli <= h * w
    if underdetermined:
        _warn_underdetermined(f"n_stimuli={n_stimuli} <= {h * w} pixels leaves the stimulus "
                              "covariance singular")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_progress(progress)
    atoms = None
    if dictionary is not None:
        atoms = atoms_as_images(dictionary, (h, w), name="dictionary")
        check_dictionary(atoms.reshape(len(atoms), -1), "dictionary")  # no all-zero atom
    # recorded before anything draws: a Generator's state is then the map's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)

    # Statistics are gathered on unit-contrast noise S (the encoder sees contrast * S) and
    # on each unit's responses divided by a power of two near its largest response so far
    # (``ref``; the sums are rescaled exactly when it grows): no square or sum overflows,
    # whatever the contrast or the responses' magnitude.
    P = h * w
    sum_x = np.zeros(P)
    sum_xx = np.zeros((P, P)) if method == "regression" else None
    sum_x2 = np.zeros(P)
    sum_xr = sum_r = sum_r2 = n_active = ref = r_min = r_max = None
    n_units = None
    used, trace = [], []
    n_done = 0
    n_batches = -(-n_stimuli // batch_size)
    drawn, n_drawn = np.empty((0, P)), 0  # stimuli drawn and not shown yet

    def draw(k):
        if noise == "white":
            return white_noise(k, (h, w), 1.0, distribution, seed=rng).reshape(k, P)
        return sparse_noise(k, (h, w), n_pixels, 1.0, seed=rng).reshape(k, P)

    for _ in progress_bar(progress, total=n_batches, desc="reverse correlation", unit="batch",
                          iterable=range(n_batches)):
        m = min(batch_size, n_stimuli - n_done)
        while len(drawn) < m:
            k = min(NOISE_BLOCK, n_stimuli - n_drawn)
            drawn, n_drawn = np.concatenate([drawn, draw(k)]), n_drawn + k
        Sb, drawn = drawn[:m], drawn[m:]
        R = call_encoder(encoder, contrast * Sb, n_units)
        if n_units is None:
            n_units = R.shape[1]
            if atoms is not None and atoms.shape[0] != n_units:
                raise ValueError(
                    f"dictionary has {atoms.shape[0]} atoms but the encoder returned "
                    f"{n_units} units"
                )
            sum_xr = np.zeros((P, n_units))
            sum_r = np.zeros(n_units)
            sum_r2 = np.zeros(n_units)
            n_active = np.zeros(n_units)
            r_min, r_max = R.min(axis=0), R.max(axis=0)
            ref = np.zeros(n_units)
        new_ref = np.maximum(ref, pow2_scale(R, axis=0))
        ratio = ref / new_ref  # a power of two (or 0 on the first batch)
        sum_xr *= ratio
        sum_r *= ratio
        sum_r2 *= ratio**2
        ref = new_ref
        Rs = R / ref
        sum_x += Sb.sum(axis=0)
        sum_x2 += np.einsum("ij,ij->j", Sb, Sb)
        if sum_xx is not None:
            sum_xx += Sb.T @ Sb
        sum_xr += Sb.T @ Rs
        sum_r += Rs.sum(axis=0)
        sum_r2 += np.einsum("ij,ij->j", Rs, Rs)
        n_active += np.count_nonzero(R, axis=0)
        r_min, r_max = np.minimum(r_min, R.min(axis=0)), np.maximum(r_max, R.max(axis=0))
        n_done += m
        if atoms is not None:
            # the cosine does not depend on each unit's scale (ref / contrast)
            rf = _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n_done, ridge, r_min == r_max)
            used.append(n_done)
            trace.append(_cosine_similarity(rf.T, atoms.reshape(n_units, -1)))
    with np.errstate(over="ignore"):
        rf = _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n_done, ridge,
                       r_min == r_max) * (ref / contrast)
    if sum_xx is not None and ridge == 0 and not underdetermined:
        rank = np.linalg.matrix_rank(sum_xx / n_done - np.outer(sum_x, sum_x) / n_done**2)
        if rank < P:  # e.g. sparse noise that never lit some pixels
            _warn_underdetermined(f"the stimulus covariance of {n_done} stimuli has rank "
                                  f"{rank} < {P} pixels")
    if not np.all(np.isfinite(rf)):
        raise ValueError(
            f"the mapped receptive fields overflow float64: responses up to {ref.max():.3g} "
            f"per stimulus of contrast={contrast!r}; rescale the encoder's output or raise "
            "contrast"
        )
    mean_r = sum_r / n_done * ref
    sd_r = np.sqrt(np.maximum(sum_r2 / n_done - (sum_r / n_done) ** 2, 0.0)) * ref

    # the units are the dictionary's atoms: a DataArray's atom labels carry over (numbered
    # from 0, the map of dictionary=D.isel(atom=[1, 3]) met fit_gabor of the same atoms,
    # labelled 1 and 3, at other atoms when xarray aligned them)
    atom_coord = dim_coord(dictionary, "atom", n_units) if atoms is not None \
        else np.arange(n_units)
    ds = xr.Dataset(coords={"atom": atom_coord,
                            "y": ("y", np.arange(h), {"units": "pixel", "long_name": "row"}),
                            "x": ("x", np.arange(w), {"units": "pixel", "long_name": "column"})})
    ds["rf"] = (("atom", "y", "x"), rf.T.reshape(n_units, h, w),
                {"units": f"{response_units} per unit of the encoder's input",
                 "long_name": f"mapped receptive field ({method})"})
    ds["mean_response"] = ("atom", mean_r, {"units": response_units,
                                            "long_name": "mean response to noise"})
    ds["response_sd"] = ("atom", sd_r, {"units": response_units,
                                        "long_name": "s.d. of responses to noise"})
    ds["fraction_active"] = ("atom", n_active / n_done,
                             {"units": "1", "long_name": "fraction of stimuli with a response"})
    if atoms is not None:
        ds["similarity"] = ("atom", trace[-1],
                            {"units": "1", "long_name": "cosine(mapped RF, atom)"})
        ds = ds.assign_coords(n_stimuli_used=("n_stimuli_used", np.array(used), {
            "units": "1", "long_name": "stimuli averaged so far"}))
        ds["similarity_trace"] = (("n_stimuli_used", "atom"), np.array(trace),
                                  {"units": "1", "long_name": "cosine(mapped RF, atom)"})
    ds.attrs.update(analysis="reverse correlation", noise=noise, method=method,
                    n_stimuli=n_done, contrast=contrast, ridge=ridge, batch_size=batch_size,
                    seed=seed_record)  # seed_from_attr(seed) maps the same noise again
    if noise == "white":
        ds.attrs["distribution"] = distribution
    else:
        ds.attrs["n_pixels"] = n_pixels
    return ds


def _warn_underdetermined(why):
    """The regression's warning that its fit is not unique (``why``: the cause)."""
    warnings.warn(f"method='regression' with ridge=0: {why}, so the fit is underdetermined "
                  "(the minimum-norm solution is returned); give more stimuli or a ridge > 0",
                  UserWarning, stacklevel=user_stacklevel())


def _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n, ridge, constant):
    """RF estimate (n_features, n_units) from running sums of stimuli and responses.

    ``constant`` (n_units,) marks the units whose response never changed: their
    cross-covariance is exactly 0, but the two sums it is the difference of are
    rounded differently (a unit at 3.0 throughout got an RF of 3e-16 and a cosine of
    0.11 with its atom, not NaN).
    """
    mx = sum_x / n
    C_xr = sum_xr / n - np.outer(mx, sum_r / n)
    C_xr[:, constant] = 0.0
    var = float(np.mean(sum_x2 / n - mx**2))
    if sum_xx is None:
        return C_xr / var
    C_xx = sum_xx / n - np.outer(mx, mx)
    C_xx[np.diag_indices_from(C_xx)] += ridge * var
    return np.linalg.lstsq(C_xx, C_xr, rcond=None)[0]
