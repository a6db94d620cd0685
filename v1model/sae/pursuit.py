"""Matching pursuit as the encoder of a sparse autoencoder (Costa et al.
2025): a batched forward pass that records what the backward pass needs,
and the backward pass through the pursuit steps.

Step ``t`` of non-negative matching pursuit of the residual ``r`` in the
dictionary ``D`` (rows ``d_j``, any non-zero norms) picks, per sample, the
atom with the largest positive normalised correlation and removes its
projection::

    j_t = argmax_j (d_j . r_{t-1}) / ||d_j||,    a_t = (d_j . r_{t-1}) / ||d_j||^2
    r_t = r_{t-1} - a_t d_{j_t}

so that ``x_hat = b_dec + z D = x - r_k``. A sample whose best correlation
is not positive stops (its later steps change nothing). The forward pass
gives the codes of :func:`v1model.inference.matching_pursuit` with
``n_nonzero=k, max_iter=k, positive=True`` (an atom may be picked again).

The reference code of Costa et al. (``MpSAE`` of KempnerInstitute/overcomplete)
picks the same atom, the largest signed correlation, but pursues ``x``
itself (here ``x - b_dec``, as the other activations encode) and, where
every correlation is negative, adds that negative coefficient and goes on
instead of stopping: codes here stay non-negative like every other SAE
latent. From the same residual and with unit-norm rows the two give the
same codes wherever some correlation is positive at every step: for
Gaussian signals and atoms, all of them with 16 atoms in 8 features
(``k`` = 4 to 40) and 64 in 32 (``k = 16``), all but 0.04% (``k = 8``)
and 0.24% (``k = 30``) with 10 atoms in 8 features.

The backward pass differentiates ``r_k`` with the selections ``j_t`` held
fixed, as automatic differentiation does: with ``g = dL/dr_t``,
``s = ||d_j||^2`` and ``d = d_{j_t}``::

    dL/dr_{t-1} = g - (g . d) d / s
    dL/dd      += -a_t g - (g . d) (r_{t-1} - 2 a_t d) / s

The forward pass has two routes to the same codes. The plain one multiplies
the residuals with ``D`` at every step (``k`` products of ``n_samples x
n_features x n_atoms``). Given the Gram matrix ``D D^T``
(:func:`pursuit_gram`), one product gives the first correlations and each
step updates them with the selected atom's Gram row, ``c <- c - a_t
G[j_t]`` (kept divided by the atom norms), sample by sample in a compiled loop (as
:func:`v1model.inference.matching_pursuit` does): the Gram matrix costs one
product of ``n_atoms`` rows, ``n_atoms^2`` numbers of memory, and pays when
the ``k - 1`` products it saves are more rows than that. The updated
correlations differ from recomputed ones by rounding only, so the two routes
select the same atoms except at near-ties.
"""

from __future__ import annotations

import numpy as np

from .._numba import cached_njit

__all__ = ["pursuit_forward", "pursuit_backward", "pursuit_gram"]

#: the largest Gram matrix ``D D^T`` (bytes) that :func:`pursuit_gram` makes for the
#: correlation updates: 64 MB at 4,096 float32 atoms, 1 GB at 16,384 (then the plain
#: route, one product with ``D`` per step)
GRAM_MAX_BYTES = 256 * 2**20


def pursuit_gram(D, n_rows, k):
    """The Gram matrix for :func:`pursuit_forward`, or None where it does not pay or
    does not fit.

    Parameters
    ----------
    D : ndarray, shape (n_atoms, n_features)
    n_rows : int
        Samples that the pursuit will code with this ``D`` (all the blocks of
        one encode call, or one training batch).
    k : int
        Pursuit steps.

    Returns
    -------
    G : ndarray, shape (n_atoms, n_atoms), or None
        ``D D^T`` with column ``j`` divided by ``||d_j||``: the change of the
        normalised correlations that the pursuit compares. None when
        ``n_atoms^2`` numbers exceed :data:`GRAM_MAX_BYTES` or the Gram
        product (``n_atoms`` rows) costs at least the ``(k - 1) * n_rows``
        rows of products it saves.
    """
    n_atoms = D.shape[0]
    if n_atoms * n_atoms * D.dtype.itemsize > GRAM_MAX_BYTES or (k - 1) * n_rows <= n_atoms:
        return None
    G = D @ D.T
    G /= np.sqrt(np.einsum("ij,ij->i", D, D))
    return G


def pursuit_forward(R, D, k, keep_trace=True, gram=None):
    """``k`` steps of non-negative matching pursuit of ``R`` in ``D``, batched.

    Parameters
    ----------
    R : ndarray, shape (n_samples, n_features)
        Signals (for the autoencoder, ``X - b_dec``).
    D : ndarray, shape (n_atoms, n_features)
    k : int
    keep_trace : bool, default True
        Record the residual before every step for :func:`pursuit_backward`
        (``k * n_samples * n_features`` numbers); False at inference, where
        ``trace`` is None.
    gram : ndarray, shape (n_atoms, n_atoms), optional
        ``D D^T / ||d||`` from :func:`pursuit_gram` (of this ``D``): update the
        correlations with its rows instead of multiplying the residuals with
        ``D`` at every step.

    Returns
    -------
    Z : ndarray, shape (n_samples, n_atoms)
        Codes (``R = Z D + residual``), non-negative.
    residual : ndarray, shape (n_samples, n_features)
    trace : tuple
        ``(selected, coefficients, residuals_before)``: per step the atom
        picked by each sample (-1 once it stopped), its coefficient, and the
        residual before the step, shapes (n, k), (n, k), (k, n, n_features).
    """
    n = R.shape[0]
    sq = np.einsum("ij,ij->i", D, D)
    norms = np.sqrt(sq)
    rows = np.arange(n)
    Z = np.zeros((n, D.shape[0]), R.dtype)
    selected = np.full((n, k), -1, dtype=np.intp)
    coefficients = np.zeros((n, k), R.dtype)
    # the residual before each step: the backward pass's, not inference's (at
    # k = 32 and 768 features, 800 MB for a block of 8,192 rows of encode)
    before = np.empty((k,) + R.shape, R.dtype) if keep_trace else None
    R = R.copy()
    if gram is not None:
        S = R @ D.T
        S /= norms
        _gram_pursuit(S, gram, norms, R, D, k, Z, selected, coefficients,
                      before if keep_trace else np.empty((0, 0, 0), R.dtype), keep_trace)
        return Z, R, ((selected, coefficients, before) if keep_trace else None)
    for t in range(k):
        if keep_trace:
            before[t] = R
        corr = R @ D.T
        j = np.argmax(corr / norms, axis=1)
        best = corr[rows, j] / norms[j]
        # the stopping rule of v1model.inference.matching_pursuit
        tiny = np.finfo(np.float64).tiny
        ok = best > 1e-12 * np.maximum(np.sqrt(np.einsum("ij,ij->i", R, R, dtype=np.float64)),
                                       tiny)
        a = np.where(ok, corr[rows, j] / sq[j], 0).astype(R.dtype, copy=False)
        selected[:, t] = np.where(ok, j, -1)
        coefficients[:, t] = a
        Z[rows, j] += a
        R -= a[:, None] * D[j]
    return Z, R, ((selected, coefficients, before) if keep_trace else None)


@cached_njit(nogil=True)
def _gram_pursuit(S, G, norms, R, D, k, Z, selected, coefficients, before, keep_trace):
    """The steps of :func:`pursuit_forward` row by row from the normalised correlations
    ``S = R D^T / norms``, updated with the rows of ``G`` (:func:`pursuit_gram`); all
    arrays written in place but ``G``, ``D``, ``norms``. The first maximum wins a tie,
    as ``np.argmax``."""
    n, m = S.shape
    d = R.shape[1]
    tiny = np.finfo(np.float64).tiny
    for i in range(n):
        s = S[i]
        r = R[i]
        # the first step's best atom; later ones are found while updating s
        j = 0
        best = s[0]
        for q in range(1, m):
            if s[q] > best:
                best = s[q]
                j = q
        for t in range(k):
            if keep_trace:
                before[t, i] = r
            norm2 = 0.0
            for f in range(d):
                norm2 += np.float64(r[f]) * np.float64(r[f])
            # the stopping rule of v1model.inference.matching_pursuit; a stopped row's
            # residual, hence its correlations, no longer change
            if not best > 1e-12 * max(np.sqrt(norm2), tiny):
                if keep_trace:
                    for later in range(t + 1, k):
                        before[later, i] = r
                break
            a = best / norms[j]
            selected[i, t] = j
            coefficients[i, t] = a
            Z[i, j] += a
            for f in range(d):
                r[f] -= a * D[j, f]
            g = G[j]
            j = 0
            best = s[0] - a * g[0]
            for q in range(m):
                s[q] -= a * g[q]
                if s[q] > best:
                    best = s[q]
                    j = q


@cached_njit(nogil=True)
def _add_rows(dD, j, used, contribution):
    """``dD[j[i]] += contribution[i]`` for the rows ``used``, in order (``np.add.at``
    without its per-element overhead: 6 s of a 4,096-row step at 4,096 latents)."""
    for i in range(j.shape[0]):
        if used[i]:
            row = dD[j[i]]
            c = contribution[i]
            for f in range(row.shape[0]):
                row[f] += c[f]


def pursuit_backward(G, D, trace):
    """Gradients through the pursuit: from ``G = dL/dresidual`` (n, n_features)
    to ``(dL/dD, dL/dR)`` with the selections of ``trace`` held fixed.

    Parameters
    ----------
    G : ndarray, shape (n_samples, n_features)
        Gradient of the loss with respect to the final residual.
    D : ndarray, shape (n_atoms, n_features)
        The dictionary of the forward pass.
    trace : tuple
        The ``trace`` returned by :func:`pursuit_forward`.

    Returns
    -------
    dD : ndarray, shape (n_atoms, n_features)
        Gradient with respect to ``D``.
    dR : ndarray, shape (n_samples, n_features)
        Gradient with respect to the signals ``R`` of the forward pass.
    """
    sq = np.einsum("ij,ij->i", D, D)
    dD = np.zeros_like(D)
    for t in range(trace[0].shape[1] - 1, -1, -1):
        j, used, contribution, G = backward_step(G, D, sq, trace, t)
        # scattered into the selected rows: a dense one-hot (n, n_atoms) product cost
        # 2 n n_atoms n_features per step, more than the forward pass at 8,192 atoms
        _add_rows(dD, j, used, contribution)
    return dD, G


def backward_step(G, D, sq, trace, t):
    """Step ``t`` of :func:`pursuit_backward`, without adding into ``dL/dD``.

    Parameters
    ----------
    G : ndarray, shape (n_samples, n_features)
        Gradient with respect to the residual after step ``t``.
    D : ndarray, shape (n_atoms, n_features)
    sq : ndarray, shape (n_atoms,)
        Squared norms of the atoms.
    trace : tuple
        The ``trace`` returned by :func:`pursuit_forward`.
    t : int
        The step, counted from 0.

    Returns
    -------
    j : ndarray of int, shape (n_samples,)
        The atom each sample selected at step ``t`` (0 where it selected none).
    used : ndarray of bool, shape (n_samples,)
        Whether the sample selected an atom at step ``t``.
    contribution : ndarray, shape (n_samples, n_features)
        Each sample's term of ``dL/dD[j]``; meaningful where ``used``.
    G : ndarray, shape (n_samples, n_features)
        Gradient with respect to the residual before step ``t``.
    """
    selected, coefficients, before = trace
    used = selected[:, t] >= 0
    j = np.where(used, selected[:, t], 0)
    d = D[j]
    a = coefficients[:, t][:, None]
    gd = (np.einsum("ij,ij->i", G, d) * used / sq[j])[:, None]
    contribution = -a * G - gd * (before[t] - 2 * a * d)
    return j, used, contribution, G - gd * d
