"""The sparsifying activations of a sparse autoencoder, forward and backward.

Each activation maps the pre-activations ``pre`` (n_samples, n_latents) to
non-negative latents ``z`` of the same shape, and returns what its backward
pass needs. All are plain NumPy on whole batches. The public functions check
their arguments; the training loop calls the unchecked ``_relu``, ``_topk``,
``_batch_topk`` and ``_jumprelu`` on the batches the estimator validated once.

- :func:`relu`: ``z = max(pre, 0)``, sparse through an L1 penalty.
- :func:`topk` (Gao et al. 2024): the ``k`` largest pre-activations of each
  sample, ReLU after.
- :func:`batch_topk` (Bussmann et al. 2024): the ``k * n_samples`` largest
  pre-activations of the whole batch, ReLU after.
- :func:`jumprelu` (Rajamanoharan et al. 2024): ``z = pre * H(pre - theta)``
  with one threshold per latent (also BatchTopK's inference rule, with one
  threshold for all latents).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_array, check_int, check_positive

__all__ = ["relu", "topk", "batch_topk", "jumprelu", "rectangle", "LATENT_DIMS"]

#: the dims by which a DataArray of pre-activations or latents is read (the
#: autoencoder's Dataset calls the latents ``latent``)
LATENT_DIMS = ("sample", "latent")


def _relu(pre):
    """Unchecked :func:`relu` (``pre`` a 2-D float array)."""
    mask = pre > 0
    return np.where(mask, pre, 0).astype(pre.dtype, copy=False), mask


def _topk(pre, k):
    """Unchecked :func:`topk` (``pre`` a 2-D float array, ``k >= 1``)."""
    n, m = pre.shape
    mask = np.zeros(pre.shape, dtype=bool)
    if k >= m:
        mask[:] = True
    else:
        idx = np.argpartition(pre, m - k, axis=1)[:, m - k:]
        np.put_along_axis(mask, idx, True, axis=1)
    mask &= pre > 0
    return np.where(mask, pre, 0).astype(pre.dtype, copy=False), mask


def _batch_topk(pre, k):
    """Unchecked :func:`batch_topk` (``pre`` a 2-D float array, ``k >= 1``)."""
    n, m = pre.shape
    keep = min(k * n, n * m)
    flat = pre.ravel()
    mask = np.zeros(flat.shape, dtype=bool)
    idx = np.argpartition(flat, flat.size - keep)[flat.size - keep:]
    mask[idx] = True
    mask = mask.reshape(pre.shape) & (pre > 0)
    z = np.where(mask, pre, 0).astype(pre.dtype, copy=False)
    smallest = float(pre[mask].min()) if mask.any() else float("nan")
    return z, mask, smallest


def _jumprelu(pre, theta):
    """Unchecked :func:`jumprelu` (``theta`` a number or one per latent)."""
    mask = pre > theta
    return np.where(mask, pre, 0).astype(pre.dtype, copy=False), mask


def rectangle(u):
    """Rectangle kernel ``K(u) = 1`` for ``|u| < 1/2``, else 0 (float, shape of ``u``).

    Parameters
    ----------
    u : ndarray
        Any shape, float.

    Returns
    -------
    ndarray
        Same shape and dtype as ``u``.
    """
    return (np.abs(u) < 0.5).astype(u.dtype)


def _check_pre(pre) -> np.ndarray:
    """``pre`` as a finite 2-D float array, float32 kept (the latents take its dtype); a
    DataArray read by its dims :data:`LATENT_DIMS` (read by position, ``pre.T`` over
    (latent, sample) was sparsified across samples, unsaid)."""
    dtype = np.float32 if getattr(pre, "dtype", None) == np.float32 else np.float64
    return check_array(pre, "pre", ndim=2, dtype=dtype, dims=LATENT_DIMS)


def _check_k(k, n_latents, source=None) -> int:
    """``k`` (active latents per sample) as an int in [1, ``n_latents``]; the one
    check of the activations and :class:`SparseAutoencoder`. ``source``: where
    ``n_latents`` was read (``"pre.shape[1]"``), named in the message."""
    k = check_int(k, "k", minimum=1)
    if k > n_latents:
        where = f" ({source})" if source else ""
        raise ValueError(f"k={k} exceeds n_latents={n_latents}{where}: a sample cannot have "
                         "more active latents than there are latents")
    return k


def relu(pre):
    """``max(pre, 0)`` and the mask where it passes gradient (``pre > 0``).

    Parameters
    ----------
    pre : array_like, shape (n_samples, n_latents)
        Pre-activations, finite; a DataArray is read by its dims ``sample``,
        ``latent`` (in any order).

    Returns
    -------
    z : ndarray, shape (n_samples, n_latents)
        Latents, float32 for float32 ``pre``, else float64.
    mask : ndarray of bool, shape (n_samples, n_latents)
    """
    return _relu(_check_pre(pre))


def topk(pre, k):
    """Keep, per sample, the ``k`` largest pre-activations, then ReLU.

    Returns ``(z, mask)``: ``z`` has at most ``k`` non-zeros per row (fewer
    only where fewer than ``k`` pre-activations are positive); ``mask`` marks
    the entries that pass gradient (kept and positive). Ties at the k-th
    value are broken by ``np.argpartition``'s order.

    Parameters
    ----------
    pre : array_like, shape (n_samples, n_latents)
        Pre-activations, finite; a DataArray is read by its dims ``sample``,
        ``latent`` (in any order).
    k : int
        Latents kept per sample, in [1, n_latents] (all of them when
        ``k = n_latents``).

    Returns
    -------
    z : ndarray, shape (n_samples, n_latents)
        Latents, float32 for float32 ``pre``, else float64.
    mask : ndarray of bool, shape (n_samples, n_latents)

    Raises
    ------
    ValueError
        For ``pre`` that is not a finite 2-D array, or ``k`` outside
        [1, n_latents].
    """
    pre = _check_pre(pre)
    return _topk(pre, _check_k(k, pre.shape[1], "pre.shape[1]"))


def batch_topk(pre, k):
    """Keep the ``k * n_samples`` largest pre-activations of the whole batch, then ReLU.

    Returns ``(z, mask, smallest)``: ``smallest`` is the smallest kept
    positive activation (NaN if none is positive), the statistic whose
    running average becomes the inference threshold.

    Parameters
    ----------
    pre : array_like, shape (n_samples, n_latents)
        Pre-activations, finite; a DataArray is read by its dims ``sample``,
        ``latent`` (in any order).
    k : int
        Latents kept per sample on average, in [1, n_latents].

    Returns
    -------
    z : ndarray, shape (n_samples, n_latents)
        Latents, float32 for float32 ``pre``, else float64.
    mask : ndarray of bool, shape (n_samples, n_latents)
    smallest : float
        In units of ``pre``.

    Raises
    ------
    ValueError
        For ``pre`` that is not a finite 2-D array, or ``k`` outside
        [1, n_latents].
    """
    pre = _check_pre(pre)
    return _batch_topk(pre, _check_k(k, pre.shape[1], "pre.shape[1]"))


def jumprelu(pre, theta):
    """``z = pre * H(pre - theta)``: pass ``pre`` where it exceeds ``theta``.

    Parameters
    ----------
    pre : array_like, shape (n_samples, n_latents)
        Pre-activations, finite; a DataArray is read by its dims ``sample``,
        ``latent`` (in any order).
    theta : float or array_like, shape (n_latents,)
        Thresholds, > 0, in units of ``pre``.

    Returns
    -------
    z : ndarray, shape (n_samples, n_latents)
        Latents, float32 for float32 ``pre``, else float64.
    mask : ndarray of bool, shape (n_samples, n_latents)
        ``pre > theta``.
    """
    pre = _check_pre(pre)
    if np.ndim(theta) == 0:
        theta = check_positive(theta, "theta")
    else:
        theta = check_array(theta, "theta", ndim=1)
        if theta.shape != (pre.shape[1],) or not np.all(theta > 0):
            raise ValueError(f"theta must be one positive threshold per latent (shape "
                             f"({pre.shape[1]},)), got shape {theta.shape} and a minimum of "
                             f"{theta.min():g}")
    return _jumprelu(pre, theta)
