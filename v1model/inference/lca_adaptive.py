"""The LCA's Euler loop with a step per sample (soft and non-negative thresholds).

``R = b - u - T(u) (G - I)`` is ``tau du/dt``. Every sample keeps its own
step ``eta_i = dt_i / tau``: a trial step ``u + eta_i R`` is accepted when it
lowers ``||R||`` (a stable step of a linear system shrinks every mode) without
turning it back (``R_new . R >= 0``: a step at the stability limit of a mode
flips that mode with no decrease, e.g. the sum of two copies of an atom, whose
eigenvalue 2 meets ``eta_i = 1``, and lowering ``||R||`` through the other modes
alone kept such samples oscillating until ``max_steps``), or unconditionally at
``eta_0 = 1 / max(lambda_max(D D^T), 1)``, the fixed path's step, which is always
stable. An accepted step lets ``eta_i`` grow by ``STEP_GROW``,
a rejected one cuts it by ``STEP_CUT``; it stays in ``[eta_0, 1]`` (beyond
``dt = tau`` the inactive units, whose linearised rate is ``-1/tau``, would
start to overshoot). The fixed point is the LASSO solution, as for any
stable step; the step only changes how fast a sample gets there. The
element-wise work around the one product per step is fused in two compiled
loops (serial: they run between BLAS's threaded products), the second one
also testing the duality gap of each row that meets the step test: with
coherent atoms a few rows meet the step test for thousands of steps before
their gap, and a NumPy gap check per step was two thirds of a small batch's
time (``benchmarks/bench_lca_small_batch.py``).
"""

from __future__ import annotations

import numpy as np

from .._numba import cached_njit
from ._common import (apply_threshold, gram_gap_met, lca_duality_gaps, relaxation_scale,
                      warn_not_converged)

#: a sample's step grows by STEP_GROW after an accepted step, is cut by STEP_CUT after
#: a rejected one (benchmarks/README.md, "LCA's adaptive step")
STEP_GROW = 1.25
STEP_CUT = 0.5
#: converged rows leave the batch once they are this fraction of it (each compaction
#: copies the working arrays; until then they ride along with a zero step)
COMPACT_FRACTION = 0.05
#: samples per block (as :data:`v1model.inference.fista.BLOCK_SIZE`): the working arrays
#: are a few (block, n_atoms) arrays whatever the number of samples
BLOCK_SIZE = 2048
#: float64's smallest normal number (the gap's dual scaling, as in _common)
_TINY64 = float(np.finfo(np.float64).tiny)


def euler_adaptive(X, D, lam, threshold, eta0, tol, max_steps, u0, stats=None,
                   block_size=BLOCK_SIZE, on_block=None, W=None):
    """Final LCA states ``U`` (n, k) for ``threshold`` in {"soft", "nonneg"}.

    ``X`` (n, m) and ``D`` (k, m) share the working dtype; a sample stops
    when ``max|R| <= tol max|b|`` (the fixed path's rule) and its duality gap is at
    most ``tol * ||x||^2`` (:func:`gap_met`). ``stats``
    receives ``products`` (rows multiplied by the Gram matrix, rejected
    trials and riding converged rows included) and ``steps``; ``on_block(n)``
    (a progress bar's update) is called with the rows of each finished block. ``W``,
    optional, is ``D D^T - I`` in the working dtype, read only (the caller's kept one:
    :mod:`~v1model.inference._dictionary_cache`), else built here.
    """
    dtype = X.dtype
    n, k = X.shape[0], D.shape[0]
    if W is None:
        W = D @ D.T
        W[np.diag_indices(k)] -= 1
    U = np.zeros((n, k), dtype) if u0 is None else np.array(u0, dtype=dtype)
    products, steps, left_rows = 0, 0, []
    # samples are independent: row blocks bound the working arrays (B, R, trial
    # outputs and products: several times the codes when taken over all rows at once)
    for start in range(0, n, block_size):
        rows = slice(start, min(start + block_size, n))
        p, s, left = _euler_adaptive_block(X[rows], D, W, U[rows], lam, threshold, eta0, tol,
                                           max_steps)
        products, steps = products + p, max(steps, s)
        left_rows.append(start + left)
        if on_block is not None:
            on_block(rows.stop - rows.start)
    left = np.concatenate(left_rows) if left_rows else np.zeros(0, np.intp)
    if left.size:  # named, so that a user can find them (as lasso_cd's)
        warn_not_converged("lca", max_steps, left.size, n, "max_steps", samples=left,
                           unit="steps", gaps=lca_duality_gaps(X[left], D, U[left], lam, threshold))
    if stats is not None:
        stats.update(products=products, steps=steps)
    return U


def _euler_adaptive_block(X, D, W, U, lam, threshold, eta0, tol, max_steps):
    """:func:`euler_adaptive` on one block of rows: ``U`` (the block's rows of the
    states, holding their start) is updated in place. Returns the products, the
    steps and the rows (of the block) left above ``tol``."""
    dtype = X.dtype
    n = X.shape[0]
    nonneg = threshold == "nonneg"
    B = X @ D.T
    lam = dtype.type(lam)
    eta0 = dtype.type(eta0)
    live = np.arange(n)
    Uw, Bw = U.copy(), B
    # lam = 0: least squares, whose gap with an incomplete D never falls to 0 (as FISTA)
    xx = np.einsum("ij,ij->i", X, X, dtype=np.float64) if lam > 0 else None
    # relative to the drive, or without one to the start's state (relaxation_scale)
    stop = (tol * relaxation_scale(np.abs(B).max(axis=1), U, np.finfo(dtype).tiny)
            ).astype(dtype)
    R = apply_threshold(Uw, lam, threshold) @ W
    np.subtract(Bw, R, out=R)
    R -= Uw
    r2 = np.einsum("ij,ij->i", R, R)
    rmax = np.abs(R).max(axis=1)
    eta = np.full(n, eta0, dtype)
    done = rmax <= stop
    _confirm(done, Uw, R, Bw, xx, lam, threshold, tol)
    n_done = int(done.sum())
    # the gap of a row that meets the step test is tested inside the step's kernel (a
    # NumPy check per step was 2/3 of a small batch's time: module docstring)
    xx_k = np.zeros(0) if xx is None else xx
    gap = (xx is not None, float(tol), float(np.finfo(dtype).eps))
    A_trial = np.empty_like(Uw)
    P = np.empty_like(Uw)
    products = n
    step = 0
    for step in range(1, max_steps + 1):
        if n_done == live.size:
            break
        if n_done and n_done >= COMPACT_FRACTION * live.size:
            U[live[done]] = Uw[done]
            keep = ~done
            live, Uw, Bw, R = live[keep], Uw[keep], Bw[keep], R[keep]
            xx_k = xx_k[keep] if xx_k.size else xx_k
            r2, rmax, eta, stop, done = r2[keep], rmax[keep], eta[keep], stop[keep], done[keep]
            A_trial, P = A_trial[: live.size], P[: live.size]
            n_done = 0
        _trial_outputs(Uw, R, eta, done, lam, nonneg, A_trial)
        np.matmul(A_trial, W, out=P)
        products += live.size
        n_done += _accept_or_reject(Uw, R, r2, rmax, eta, done, Bw, P, stop, eta0,
                                    dtype.type(STEP_GROW), dtype.type(STEP_CUT), lam, nonneg,
                                    xx_k, *gap)
    U[live] = Uw
    return products, step, live[~done]


def gap_met(U, R, B, sq_norms, lam, threshold, tol):
    """Per row, whether the codes ``T(U)`` have a LASSO duality gap of at most
    ``tol * ||x||^2`` (FISTA's and scikit-learn's rule), from ``R = b - u - T(u) (G - I)``
    without a product: ``T(u) G = B - U - R + T(u)``
    (:func:`~v1model.inference._common.gram_gap_met`).

    ``max|R|`` bounds the speed of the state, not its distance to the fixed point:
    along the slow modes of coherent atoms (small eigenvalues of the active atoms'
    Gram matrix) a small ``R`` is still far from it (atom pairs of coherence 0.999:
    a summed objective gap of 1e-3, 4.7e-3 for one sample, at ``tol=1e-3``). The gap
    bounds the objective's distance to the optimum whatever the conditioning.
    """
    A = apply_threshold(U, lam, threshold)
    GA = B - U
    GA -= R
    GA += A
    return gram_gap_met(A, GA, B, sq_norms, lam, tol, threshold == "nonneg")


def _confirm(done, U, R, B, sq_norms, lam, threshold, tol):
    """Keep, of the rows marked in ``done`` (changed in place), those whose gap is met."""
    idx = np.flatnonzero(done)
    if idx.size and sq_norms is not None:
        done[idx] = gap_met(U[idx], R[idx], B[idx], sq_norms[idx], lam, threshold, tol)


@cached_njit(fastmath=True, nogil=True)
def _trial_outputs(U, R, eta, done, lam, nonneg, A):
    """``A = T(U + eta R)`` row by row (done rows: ``T(U)``)."""
    n, k = U.shape
    zero = lam - lam
    for i in range(n):
        e = zero if done[i] else eta[i]
        for j in range(k):
            u = U[i, j] + e * R[i, j]
            if u > lam:
                A[i, j] = u - lam
            elif u < -lam and not nonneg:
                A[i, j] = u + lam
            else:
                A[i, j] = zero


@cached_njit(fastmath=True, nogil=True)
def _accept_or_reject(U, R, r2, rmax, eta, done, B, P, stop, eta0, grow, cut, lam, nonneg,
                      sq_norms, check_gap, tol, eps):
    """Per row: the trial's residual ``B - u_trial - P`` (written over ``P``);
    accept it (``U``, ``R``, ``r2``, ``rmax`` move on, ``eta`` grows) when it
    lowers ``||R||`` and does not turn it back (``R_new . R >= 0``), or the step is
    already ``eta0``, else cut ``eta``. An accepted row is done when ``max|R| <= stop``
    and, with ``check_gap``, its gap is met (:func:`_gap_row_met`). Returns how many
    rows became done."""
    n, k = U.shape
    one = eta0 / eta0
    n_new = 0
    for i in range(n):
        if done[i]:
            continue
        e = eta[i]
        s = e - e
        dot = s
        for j in range(k):
            rn = B[i, j] - (U[i, j] + e * R[i, j]) - P[i, j]
            P[i, j] = rn
            s += rn * rn
            dot += rn * R[i, j]
        if (s <= r2[i] and dot >= 0) or e <= eta0:
            m = s - s
            for j in range(k):
                U[i, j] += e * R[i, j]
                R[i, j] = P[i, j]
                m = max(m, abs(P[i, j]))
            r2[i] = s
            rmax[i] = m
            eta[i] = min(e * grow, one)
            met = m <= stop[i]
            if met and check_gap:
                met = _gap_row_met(U[i], R[i], B[i], sq_norms[i], lam, tol, eps,
                                   nonneg)
            done[i] = met
            n_new += met
        else:
            eta[i] = max(e * cut, eta0)
    return n_new


# fastmath=False said explicitly (as the sums below): numba compiles a function
# that does not set it with its caller's, and _accept_or_reject's reordered these sums
@cached_njit(nogil=True, fastmath=False)
def _gap_row_met(u, r, b, xx, lam, tol, eps, positive):
    """:func:`gap_met` of one row (``u``, ``r``, ``b`` its state, ``R`` and drive):
    :func:`~v1model.inference._common.gram_gap_met`'s sums and rounding bound, and
    :func:`~v1model.inference._common.duality_gap_met`'s dual point, in float64."""
    sums = gap_sums_start(positive)
    for j in range(u.size):
        sums = _lca_terms_add(sums, u[j], r[j], b[j], lam, positive)
    return gap_sums_met(sums, xx, np.float64(lam), tol, eps)


@cached_njit(nogil=True, fastmath=False)
def confirm_euler_rows(done, U, Z, Bs, eta, sq_norms, lam, lam64, tol, eps, positive):
    """Keep, of the rows marked in ``done`` (changed in place), those whose gap is met,
    for the fixed-step loop, which holds ``Z = -eta R`` and ``Bs = eta B``: :func:`gap_met`
    of ``U``, ``Z / -eta`` and ``Bs / eta`` (divided in the working dtype, as that loop
    passed them), row by row. ``lam`` thresholds in the working dtype, ``lam64`` is the
    gap's."""
    neg = -eta
    for i in range(done.size):
        if done[i]:
            sums = gap_sums_start(positive)
            for j in range(U.shape[1]):
                sums = _lca_terms_add(sums, U[i, j], Z[i, j] / neg, Bs[i, j] / eta, lam,
                                      positive)
            done[i] = gap_sums_met(sums, sq_norms[i], lam64, tol, eps)


@cached_njit(nogil=True, fastmath=False)
def _lca_terms_add(sums, u, r, b, lam, positive):
    """:func:`gap_terms_add` of one unit of state ``u``, ``R`` entry ``r`` and drive
    ``b``: its code ``T(u)`` and ``(T(u) G)_j = b - u - r + T(u)``, in the working dtype
    as :func:`gap_met` forms them."""
    a = u - lam if u > lam else (u + lam if u < -lam and not positive else lam - lam)
    ga = b - u
    ga -= r
    ga += a
    return gap_terms_add(sums, a, ga, b, positive)


#: ``B_rows`` of :func:`confirm_rows` when ``B`` has the rows of ``A``
ALL_ROWS = np.zeros(0, np.intp)


# The gap test of one row in compiled loops, for FISTA (confirm_rows, called by
# _common.confirm_by_gap) and the LCA (the step kernel above, confirm_euler_rows) alike,
# here in one file: numba's disk cache of a kernel holds the kernels it calls compiled in,
# and is renewed only when the kernel's own file changes (tests/core/test_numba_cache.py).
# On small batches a few rows are candidates per iteration, and a NumPy check per
# iteration (casts, einsums, fancy indexing) was a third of FISTA's learning time and half
# the fixed-step LCA's (benchmarks/README.md).
# The sums in float64 and the rounding bound as gram_gap_met has them; fastmath=False said
# explicitly: numba compiles a function that does not set it with its caller's fastmath
# (the LCA's step kernel), which reordered the terms of (a G)_j and the sums.

@cached_njit(nogil=True, fastmath=False)
def gap_sums_start(positive):
    """The empty sums of :func:`gap_terms_add`."""
    return 0.0, 0.0, 0.0, 0.0, -np.inf if positive else 0.0


@cached_njit(nogil=True, fastmath=False)
def gap_terms_add(sums, a, ga, b, positive):
    """``sums`` with one coefficient's terms added, in float64: ``a``, ``ga = (a G)_j``
    and ``b = (D x)_j`` give ``a.b``, ``a.Ga``, ``||a||_1``, the rounding bound's sum of
    magnitudes and the largest correlation ``(D r)_j = b - ga`` (signed when ``positive``)
    of :func:`~v1model.inference._common.gram_gap_met`; :func:`gap_sums_met` tests
    them."""
    ab, aga, l1, mag, corr = sums
    a64, ga64, b64 = np.float64(a), np.float64(ga), np.float64(b)
    c = b64 - ga64
    return (ab + a64 * b64, aga + a64 * ga64, l1 + abs(a64),
            mag + abs(a64) * (abs(b64) + abs(ga64)), max(corr, c if positive else abs(c)))


@cached_njit(nogil=True, fastmath=False)
def gap_sums_met(sums, xx, lam, tol, eps):
    """:func:`~v1model.inference._common.duality_gap_met` of one row from the sums of
    :func:`gap_terms_add` and its ``||x||^2`` (``xx``); ``lam`` in float64, ``eps`` that
    of the working dtype."""
    ab, aga, l1, mag, corr = sums
    rounding = 16 * eps * (xx + mag)
    xr = xx - ab
    rr = max(xr - ab + aga, 0.0)
    s = min(1.0, lam / max(corr, max(lam, _TINY64)))
    return 0.5 * (1.0 + s * s) * rr + lam * l1 - s * xr <= tol * xx + rounding


@cached_njit(nogil=True, fastmath=False)
def confirm_rows(done, A, GA, B, B_rows, sq_norms, lam, tol, eps, positive):
    """:func:`~v1model.inference._common.confirm_by_gap`'s test of the rows ``i`` with
    ``done[i]``: ``GA`` holds the products of all rows of ``A``, or of those rows alone,
    in order (the two agree when every row is one); ``B``'s row ``B_rows[i]`` (``i`` when
    ``B_rows`` is empty)."""
    aligned = GA.shape[0] == A.shape[0]
    r = 0
    for i in range(done.size):
        if not done[i]:
            continue
        g = i if aligned else r
        bi = B_rows[i] if B_rows.size else i
        sums = gap_sums_start(positive)
        for j in range(A.shape[1]):
            sums = gap_terms_add(sums, A[i, j], GA[g, j], B[bi, j], positive)
        done[i] = gap_sums_met(sums, sq_norms[i], lam, tol, eps)
        r += 1
