"""ISTA and FISTA (Beck & Teboulle 2009) for the LASSO, batched over samples.

The non-neural reference solver for the objective LCA minimises. Works on the
Gram matrix G = D D^T so that one iteration costs one (n_samples, n_atoms) x
(n_atoms, n_atoms) matmul; samples that have converged are dropped from the
batch, and momentum is restarted per sample when it stops helping
(O'Donoghue & Candès 2015, gradient scheme).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int, check_positive
from ._common import (
    apply_threshold,
    history_dataset,
    history_record,
    spectral_norm_gram,
    validate_problem,
    warn_not_converged,
)

__all__ = ["fista", "ista"]


def fista(
    X,
    D,
    lam,
    *,
    max_iter: int = 5000,
    tol: float = 1e-6,
    positive: bool = False,
    restart: bool = True,
    accelerated: bool = True,
    A0=None,
    dtype=np.float32,
    return_history: bool = False,
    return_n_iter: bool = False,
):
    """Solve the LASSO for every sample with (F)ISTA.

    Minimises, per sample, ``0.5 * ||x - D^T a||^2 + lam * ||a||_1``
    (with ``a >= 0`` when ``positive``).

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (normally unit norm).
    lam : float
        L1 penalty, >= 0 (same units as ``X``).
    max_iter : int
        Iteration limit.
    tol : float
        Stop a sample when ``max|a_k+1 - a_k| <= tol * max(max|a_k+1|, 1e-12)``.
        The default reaches a relative objective gap well below 1e-4 on
        whitened natural patches.
    positive : bool
        Non-negative LASSO.
    restart : bool
        Adaptive momentum restart (FISTA only).
    accelerated : bool
        False gives plain ISTA.
    A0 : array_like, shape (n_samples, n_atoms), optional
        Warm start.
    dtype : {float32, float64}
        Working precision.
    return_history : bool
        Also return an xarray Dataset over ``iteration`` with objective, data
        term, penalty and mean active count (costs one extra matmul per
        iteration).
    return_n_iter : bool
        Also return the number of iterations run.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms)
        Codes in ``dtype``.
    history : xarray.Dataset, optional
    n_iter : int, optional

    References
    ----------
    Beck, A. & Teboulle, M. (2009). A fast iterative shrinkage-thresholding
    algorithm for linear inverse problems. SIAM J. Imaging Sci. 2, 183-202.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.inference import fista
    >>> D = np.eye(4)
    >>> fista(np.array([[3.0, -0.5, 0.0, 1.5]]), D, lam=1.0).round(3)
    array([[ 2. , -0. ,  0. ,  0.5]], dtype=float32)
    """
    X, D, lam, dtype = validate_problem(X, D, lam, dtype)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    n, k = X.shape[0], D.shape[0]
    if A0 is not None:
        from ..validation import check_array

        A0 = check_array(A0, "A0", ndim=2, dtype=dtype)
        if A0.shape != (n, k):
            raise ValueError(f"A0 must have shape {(n, k)}, got {A0.shape}")
    return _fista_kernel(
        X, D, lam, max_iter, tol, positive, restart, accelerated, A0, return_history,
        return_n_iter, "fista" if accelerated else "ista",
    )


def ista(X, D, lam, **kwargs):
    """Plain iterative shrinkage-thresholding; see :func:`fista` for parameters."""
    kwargs.setdefault("max_iter", 20000)
    return fista(X, D, lam, accelerated=False, **kwargs)


def _fista_kernel(X, D, lam, max_iter, tol, positive, restart, accelerated, A0,
                  return_history, return_n_iter, name):
    dtype = X.dtype
    n, k = X.shape[0], D.shape[0]
    G = D @ D.T
    B = X @ D.T  # feed-forward drive, (n, k)
    L = spectral_norm_gram(D) * 1.0001
    step = dtype.type(1.0 / L)
    thr = lam / L
    kind = "nonneg" if positive else "soft"

    A = np.zeros((n, k), dtype) if A0 is None else np.array(A0, dtype=dtype)
    Y = A.copy()
    t = np.ones(n, dtype=np.float64)
    idx = np.arange(n)  # samples still iterating
    records = [history_record(X, D, A, lam)] if return_history else None
    it = 0
    for it in range(1, max_iter + 1):
        Yi = Y[idx]
        Ai_old = A[idx]
        grad = Yi @ G
        grad -= B[idx]
        Z = Yi - step * grad
        Ai = apply_threshold(Z, thr, kind, out=Z)
        diff = Ai - Ai_old
        if accelerated:
            t_old = t[idx]
            if restart:
                # restart momentum where the step goes against the momentum
                bad = np.einsum("ij,ij->i", Yi - Ai, diff) > 0
                t_old = np.where(bad, 1.0, t_old)
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_old**2))
            beta = ((t_old - 1.0) / t_new).astype(dtype)
            Y[idx] = Ai + beta[:, None] * diff
            t[idx] = t_new
        else:
            Y[idx] = Ai
        A[idx] = Ai
        if return_history:
            records.append(history_record(X, D, A, lam))
        change = np.abs(diff).max(axis=1)
        scale = np.maximum(np.abs(Ai).max(axis=1), 1e-12)
        done = change <= tol * scale
        if done.any():
            idx = idx[~done]
            if idx.size == 0:
                break
    else:
        if idx.size:
            warn_not_converged(name, max_iter, idx.size, n)
    out = [A]
    if return_history:
        out.append(history_dataset(records, name, lam=lam, tol=tol, positive=int(positive)))
    if return_n_iter:
        out.append(it)
    return out[0] if len(out) == 1 else tuple(out)
