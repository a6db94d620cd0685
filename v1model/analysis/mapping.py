"""Mapping receptive fields by reverse correlation, for any encoder.

An encoder is any callable ``f(X) -> codes`` taking stimuli ``X`` of shape
(n_samples, n_features) and returning responses (n_samples, n_units): the ODE
LCA (``lambda X: lca(X, D, lam)``), ``SparseCodingNetwork.encode``, the spiking
backend (spike counts), a sparse autoencoder. The encoder is probed with
white or sparse noise as a physiologist would; nothing about its dictionary
is used to compute the map.

The spike-triggered average (STA) of unit ``k`` is the response-weighted mean
stimulus, i.e. the stimulus-response cross-covariance ``C_xr``. Divided by the
(per-pixel) stimulus variance it estimates the unit's linear filter: for a
linear unit ``r = w . x`` with white stimuli, ``C_xr / sigma^2 -> w`` as the
number of stimuli grows (error ~ 1/sqrt(n)). ``method="regression"`` instead
solves ``(C_xx + ridge * sigma^2 I) rf = C_xr`` with the empirical stimulus
covariance (the whitened STA; exact for a linear unit as soon as
``n_stimuli > n_features`` and ``ridge = 0``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..validation import (
    as_generator,
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)
from ._common import atoms_as_images, call_encoder, check_encoder, image_shape

__all__ = ["map_receptive_fields", "cosine_similarity", "NOISE_KINDS", "MAPPING_METHODS"]

NOISE_KINDS = ("white", "sparse")
MAPPING_METHODS = ("sta", "regression")


def cosine_similarity(a, b):
    """Row-wise cosine similarity of two stacks of images or vectors.

    Parameters
    ----------
    a, b : array_like, shape (n, ...) with the same shape

    Returns
    -------
    ndarray, shape (n,) in [-1, 1]; NaN where a row is all zeros.
    """
    a = check_array(a, "a", ndim=None)
    b = check_array(b, "b", ndim=None)
    if a.ndim == 0:
        raise ValueError(f"a must be a stack of vectors or images (n, ...), got a scalar {a!r}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return _cosine_similarity(a, b)


def _cosine_similarity(a, b):
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
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
    distribution: str = "gaussian",
    n_pixels: int = 1,
    method: str = "sta",
    ridge: float = 0.0,
    dictionary=None,
    batch_size: int = 1000,
    seed=None,
    progress: bool = False,
) -> xr.Dataset:
    """Receptive fields of every unit of ``encoder`` by reverse correlation.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R`` with ``X`` (n, height * width) row-major images
        and ``R`` (n, n_units) responses.
    shape : int or (height, width)
        Stimulus size in pixels.
    noise : {"white", "sparse"}
        White noise (:func:`stimuli.white_noise`) or sparse noise
        (:func:`stimuli.sparse_noise`).
    n_stimuli : int
        Number of noise images shown.
    contrast : float
        Pixel s.d. (white) or the value of the lit pixels (sparse), in the
        units of the encoder's input. Sparse codes are nonlinear: map them at
        a contrast that drives them into their working range.
    distribution : {"gaussian", "binary"}
        White-noise pixel distribution.
    n_pixels : int
        Lit pixels per sparse-noise image.
    method : {"sta", "regression"}
        Plain STA divided by the pixel variance, or the whitened STA
        (regression on the empirical stimulus covariance, see the module
        docstring).
    ridge : float
        Ridge of the regression, relative to the pixel variance.
    dictionary : array_like, shape (n_units, n_features) or (n_units, h, w), optional
        The units' atoms; adds ``similarity`` (cosine of each mapped RF with
        its atom) and ``similarity_trace`` (the same after each batch).
    batch_size : int
        Stimuli per encoder call.
    seed : int, Generator or None
    progress : bool
        Show a progress bar over batches.

    Returns
    -------
    xarray.Dataset with
        ``rf`` (unit, y, x): mapped receptive fields (response per unit of
        stimulus); ``mean_response``, ``response_sd``, ``fraction_active``
        (unit); ``similarity`` (unit) and ``similarity_trace``
        (n_stimuli_used, unit) when ``dictionary`` is given; the number of
        stimuli in ``attrs["n_stimuli"]``.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.random.default_rng(0).standard_normal((3, 64))
    >>> ds = map_receptive_fields(lambda X: X @ W.T, 8, n_stimuli=2000,
    ...                           method="regression", seed=0)
    >>> bool(np.allclose(ds.rf.values.reshape(3, -1), W))
    True
    """
    check_encoder(encoder)
    h, w = image_shape(shape)
    noise = check_choice(noise, "noise", NOISE_KINDS)
    method = check_choice(method, "method", MAPPING_METHODS)
    n_stimuli = check_int(n_stimuli, "n_stimuli", minimum=2)
    contrast = check_positive(contrast, "contrast")
    n_pixels = check_int(n_pixels, "n_pixels", minimum=1, maximum=h * w)
    ridge = check_nonnegative(ridge, "ridge")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    atoms = None
    if dictionary is not None:
        atoms = atoms_as_images(dictionary, (h, w), name="dictionary")
    rng = as_generator(seed)
    from stimuli.gratings import sparse_noise, white_noise

    from tqdm.auto import tqdm

    P = h * w
    sum_x = np.zeros(P)
    sum_xx = np.zeros((P, P)) if method == "regression" else None
    sum_x2 = np.zeros(P)
    sum_xr = sum_r = sum_r2 = n_active = None
    n_units = None
    used, trace = [], []
    n_done = 0
    n_batches = -(-n_stimuli // batch_size)
    for _ in tqdm(range(n_batches), desc="reverse correlation", disable=not progress,
                  leave=False):
        m = min(batch_size, n_stimuli - n_done)
        if noise == "white":
            S = white_noise(m, (h, w), contrast, distribution, seed=rng)
        else:
            S = sparse_noise(m, (h, w), n_pixels, contrast, seed=rng)
        Xb = S.reshape(m, P)
        R = call_encoder(encoder, Xb, n_units)
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
        sum_x += Xb.sum(axis=0)
        sum_x2 += np.einsum("ij,ij->j", Xb, Xb)
        if sum_xx is not None:
            sum_xx += Xb.T @ Xb
        sum_xr += Xb.T @ R
        sum_r += R.sum(axis=0)
        sum_r2 += np.einsum("ij,ij->j", R, R)
        n_active += np.count_nonzero(R, axis=0)
        n_done += m
        if atoms is not None:
            rf = _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n_done, ridge)
            used.append(n_done)
            trace.append(_cosine_similarity(rf.T, atoms.reshape(n_units, -1)))
    rf = _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n_done, ridge)
    mean_r = sum_r / n_done
    sd_r = np.sqrt(np.maximum(sum_r2 / n_done - mean_r**2, 0.0))

    ds = xr.Dataset(coords={"unit": np.arange(n_units), "y": np.arange(h), "x": np.arange(w)})
    ds["rf"] = (("unit", "y", "x"), rf.T.reshape(n_units, h, w),
                {"units": "1", "long_name": f"mapped receptive field ({method})"})
    ds["mean_response"] = ("unit", mean_r, {"units": "1", "long_name": "mean response to noise"})
    ds["response_sd"] = ("unit", sd_r, {"units": "1", "long_name": "s.d. of responses to noise"})
    ds["fraction_active"] = ("unit", n_active / n_done,
                             {"units": "1", "long_name": "fraction of stimuli with a response"})
    if atoms is not None:
        ds["similarity"] = ("unit", trace[-1],
                            {"units": "1", "long_name": "cosine(mapped RF, atom)"})
        ds = ds.assign_coords(n_stimuli_used=("n_stimuli_used", np.array(used)))
        ds["similarity_trace"] = (("n_stimuli_used", "unit"), np.array(trace),
                                  {"units": "1", "long_name": "cosine(mapped RF, atom)"})
    ds.attrs.update(analysis="reverse correlation", noise=noise, method=method,
                    n_stimuli=n_done, contrast=contrast, ridge=ridge, batch_size=batch_size)
    if noise == "white":
        ds.attrs["distribution"] = distribution
    else:
        ds.attrs["n_pixels"] = n_pixels
    return ds


def _estimate(sum_x, sum_x2, sum_xx, sum_xr, sum_r, n, ridge):
    """RF estimate (n_features, n_units) from running sums."""
    mx = sum_x / n
    C_xr = sum_xr / n - np.outer(mx, sum_r / n)
    var = float(np.mean(sum_x2 / n - mx**2))
    if sum_xx is None:
        return C_xr / var
    C_xx = sum_xx / n - np.outer(mx, mx)
    C_xx[np.diag_indices_from(C_xx)] += ridge * var
    return np.linalg.lstsq(C_xx, C_xr, rcond=None)[0]
