"""FISTA with a step size per sample, found by backtracking.

The global step ``1/L`` with ``L = lambda_max(D D^T)`` is set by the worst
direction of the whole dictionary; a sample's iterates live on a few atoms,
where the curvature is often several times smaller. On whitened 16x16 patches
with 512 learned atoms ``lambda_max`` is 36 (a cluster of 71 similar atoms)
while the median over samples of ``lambda_max`` on the optimal support is 3.4,
so a constant step is about ten times shorter than it needs to be.

Each sample keeps its own ``L_i``: every iteration first tries ``0.9 L_i``,
and a sample whose step breaks the quadratic upper bound

    f(a+) <= f(y) + <grad f(y), a+ - y> + L_i/2 ||a+ - y||^2

doubles ``L_i`` (never beyond the global ``L``, where the bound always holds)
and redoes its step (Beck & Teboulle 2009, section 4; the trial decrease is
that of Scheinberg, Goldfarb & Bai 2014). The momentum keeps Beck & Teboulle's
``t_k`` sequence, not Scheinberg et al.'s, which adjusts it to the ratio of
consecutive ``L_i`` to keep the O(1/k^2) bound when ``L_i`` falls: the adaptive restart
(O'Donoghue & Candès 2015) guards convergence instead, and the stopping rule
is :func:`v1model.inference.fista`'s. The check costs no extra matmul:
with ``G = D D^T``, ``G a+`` is the iteration's one product, ``G y`` a linear
combination of the last two, and the bound reads ``d.(G a+ - G y) <= L_i |d|^2``
with ``d = a+ - y``. The element-wise passes are fused in compiled loops.
"""

from __future__ import annotations

import numpy as np

from .._numba import cached_njit
from ._common import confirm_by_gap

#: a sample's step first tries L_i * SHRINK every iteration
SHRINK = 0.9
#: first L_i as a fraction of the global L
START = 1.0 / 8.0
#: L_i never goes below this fraction of the global L
FLOOR = 1e-3
#: float32 rounding slack of the quadratic bound (a step up to 0.1% longer)
SLACK = 1.001


def fista_block_backtracking(A, B, G, lam, rows, L, *, max_iter, tol, positive, restart,
                             accelerated, on_iter, stats=None, code_bound=None,
                             sq_norms=None):
    """(F)ISTA on ``rows`` of ``A`` in place, a backtracked step per sample.

    Parameters
    ----------
    A : ndarray, shape (n, k)
        Codes, updated in place (their rows ``rows`` are the warm start).
    B : ndarray, shape (n, k)
        ``X D^T``.
    G : ndarray, shape (k, k)
        ``D D^T``.
    lam : float
    rows : ndarray of int
    L : float
        Largest eigenvalue of ``G`` (the bound every sample's ``L_i`` stays under).
    max_iter, tol, positive, restart, accelerated, on_iter, stats, code_bound, sq_norms
        As in :func:`v1model.inference.fista.fista_iterate`.

    Returns
    -------
    n_iter : int
    left : ndarray of int
        The rows (of ``A``, among ``rows``) that did not meet ``tol`` (none with
        ``tol=0``).
    """
    dtype = A.dtype
    lam_t = dtype.type(lam)
    L_max = dtype.type(L)
    eps = dtype.type(np.finfo(dtype).eps)
    Aw = A[rows]
    Ap = Aw.copy()
    warm = bool(Aw.any())
    GA = Aw @ G if warm else np.zeros_like(Aw)
    GAp = GA.copy()
    Bw = B[rows]  # fancy indexing: copies, compacted in place below
    Li = np.full(len(rows), L * START, dtype)
    # iteration k takes y_k = x_{k-1} + (t_{k-1} - 1) / t_k (x_{k-1} - x_{k-2}), advancing
    # t_{k-1} to t_k: t_0 = 0 gives Beck & Teboulle's t_1 = 1, so y_2 = x_1 (t starting at 1
    # ran the momentum one term ahead of theirs and of the constant step's)
    t = np.zeros(len(rows), dtype)
    live = rows.copy()
    Sw = (np.full(len(rows), np.inf, dtype) if code_bound is None
          else np.asarray(code_bound, dtype=dtype)[rows])
    XXw = None if sq_norms is None or lam <= 0 else np.asarray(sq_norms)[rows]
    work = _Work(Aw)
    matmul_rows = len(rows) if warm else 0
    # loop invariants as scalars of the working precision, cast once per solve
    shrink, floor = dtype.type(SHRINK), dtype.type(L * FLOOR)
    tol_t, tiny = dtype.type(tol), dtype.type(np.finfo(dtype).tiny)
    it = 0
    for it in range(1, max_iter + 1):
        _extrapolate_prox(Aw, Ap, GA, GAp, Bw, Li, t, work.t_new, work.Y, work.GY, work.An,
                          lam_t, positive, accelerated, shrink, floor)
        np.matmul(work.An, G, out=work.GN)
        matmul_rows += Aw.shape[0]
        n_bad = _check_rows(work.all_rows, Aw, work.Y, work.GY, work.An, work.GN, Li, L_max,
                            eps, work.bad, work.restart, work.change, work.scale)
        while n_bad:
            idx = np.flatnonzero(work.bad)
            _backtrack_rows(idx, work.Y, work.GY, Bw, Li, L_max, work.An, lam_t, positive)
            work.GN[idx] = work.An[idx] @ G
            matmul_rows += idx.size
            n_bad = _check_rows(idx, Aw, work.Y, work.GY, work.An, work.GN, Li, L_max, eps,
                                work.bad, work.restart, work.change, work.scale)
        n_done = _next_momentum_and_done(t, work.t_new, work.restart, restart, accelerated,
                                         work.change, work.scale, Sw, tol_t, tiny, work.done)
        if n_done:
            # confirmed by the duality gap (free: G a+ is the iteration's product)
            confirm_by_gap(work.done, work.An, work.GN, Bw, XXw, lam, tol, positive)
            n_done = work.done.any()
        # rotate the buffers: the new iterate and its product become current
        Ap, GAp, Aw, GA, work.An, work.GN = Aw, GA, work.An, work.GN, Ap, GAp
        if on_iter is not None:
            A[live] = Aw
            on_iter(live, A)
        if n_done:
            done = work.done
            A[live[done]] = Aw[done]
            m = _compact_rows(done, live, Aw, Ap, GA, GAp, Bw, Li, t, Sw,
                              _NO_NORMS if XXw is None else XXw)
            if m == 0:
                live = live[:0]
                break
            # the live rows are a prefix of the same buffers: no new arrays
            live, Aw, Ap, GA, GAp, Bw, Li, t, Sw = (
                v[:m] for v in (live, Aw, Ap, GA, GAp, Bw, Li, t, Sw))
            XXw = None if XXw is None else XXw[:m]
            work.shrink(m)
    else:
        A[live] = Aw
    if stats is not None:
        stats["matmul_rows"] = stats.get("matmul_rows", 0) + matmul_rows
    # a copy: live is a prefix of the work buffers
    return it, (live.copy() if tol > 0 else live[:0].copy())


class _Work:
    """Per-iteration buffers for the live rows of a block."""

    def __init__(self, Aw):
        m = Aw.shape[0]
        self.Y = np.empty_like(Aw)
        self.GY = np.empty_like(Aw)
        self.An = np.empty_like(Aw)
        self.GN = np.empty_like(Aw)
        self.all_rows = np.arange(m)
        self.t_new = np.empty(m, Aw.dtype)
        self.bad = np.zeros(m, np.bool_)
        self.restart = np.zeros(m, np.bool_)
        self.change = np.zeros(m, Aw.dtype)
        self.scale = np.zeros(m, Aw.dtype)
        self.done = np.zeros(m, np.bool_)

    def shrink(self, m):
        """Keep the first ``m`` rows (views: every buffer is overwritten before it is read)."""
        for name in ("Y", "GY", "An", "GN", "all_rows", "t_new", "bad", "restart", "change",
                     "scale", "done"):
            setattr(self, name, getattr(self, name)[:m])


#: stands for absent ``||x||^2`` in :func:`_compact_rows`
_NO_NORMS = np.zeros(0, np.float64)


# The element-wise kernels are serial on purpose: they alternate with BLAS's
# threaded matmul, and numba's parallel threads spinning against BLAS's made
# the whole solver 6x slower on 2 cores (benchmarks/README.md).

@cached_njit(fastmath=True, nogil=True)
def _soft(z, th, positive):
    if z > th:
        return z - th
    if z < -th and not positive:
        return z + th
    return z - z


@cached_njit(fastmath=True, nogil=True)
def _extrapolate_prox(Aw, Ap, GA, GAp, B, Li, t, t_new, Y, GY, An, lam, positive,
                      accelerated, shrink, floor):
    """Momentum point ``y``, its product ``G y`` and the trial step, row by row."""
    n, k = Aw.shape
    for i in range(n):
        L = max(Li[i] * shrink, floor)
        Li[i] = L
        beta = lam - lam
        if accelerated:
            ti = t[i]
            tn = 0.5 * (1 + np.sqrt(1 + 4 * ti * ti))
            t_new[i] = tn
            beta = (ti - 1) / tn
        inv = 1 / L
        th = lam * inv
        for j in range(k):
            a = Aw[i, j]
            y = a + beta * (a - Ap[i, j])
            gy = GA[i, j] + beta * (GA[i, j] - GAp[i, j])
            Y[i, j] = y
            GY[i, j] = gy
            An[i, j] = _soft(y - (gy - B[i, j]) * inv, th, positive)


@cached_njit(fastmath=True, nogil=True)
def _backtrack_rows(idx, Y, GY, B, Li, L_max, An, lam, positive):
    """Double ``L_i`` of rows ``idx`` (at most ``L_max``) and redo their step."""
    k = Y.shape[1]
    for r in range(idx.size):
        i = idx[r]
        Li[i] = min(Li[i] + Li[i], L_max)
        inv = 1 / Li[i]
        th = lam * inv
        for j in range(k):
            An[i, j] = _soft(Y[i, j] - (GY[i, j] - B[i, j]) * inv, th, positive)


@cached_njit(fastmath=True, nogil=True)
def _check_row(i, Aw, Y, GY, An, GN, Li, L_max, eps, bad, restart, change, scale):
    k = Aw.shape[1]
    zero = Li[i] - Li[i]
    curv = zero
    norm2 = zero
    against = zero
    move = zero
    size = zero
    d_sum = zero
    g_max = zero
    for j in range(k):
        an = An[i, j]
        d = an - Y[i, j]
        curv += d * (GN[i, j] - GY[i, j])
        norm2 += d * d
        d_sum += abs(d)
        g_max = max(g_max, abs(GN[i, j]))
        step = an - Aw[i, j]
        against -= d * step  # (y - a+).(a+ - a) > 0: the step goes against the momentum
        move = max(move, abs(step))
        size = max(size, abs(an))
    # G a+ - G y is a difference of two products: below its rounding the test is noise
    noise = 16 * eps * g_max * d_sum
    bad[i] = curv > SLACK * Li[i] * norm2 + noise and Li[i] < L_max
    restart[i] = against > 0
    change[i] = move
    scale[i] = size


@cached_njit(fastmath=True, nogil=True)
def _check_rows(idx, Aw, Y, GY, An, GN, Li, L_max, eps, bad, restart, change, scale):
    """Quadratic-bound test, restart test and step size of the rows ``idx``
    (the other rows keep their flags); returns how many of them break the bound."""
    n_bad = 0
    for r in range(idx.size):
        _check_row(idx[r], Aw, Y, GY, An, GN, Li, L_max, eps, bad, restart, change, scale)
        n_bad += bad[idx[r]]
    return n_bad


# no fastmath: the code bound may be inf, and NaNs must fail the test as in NumPy
@cached_njit(nogil=True)
def _next_momentum_and_done(t, t_new, restarted, restart, accelerated, change, scale, bound,
                            tol, tiny, done):
    """Advance ``t`` (to 1 where the momentum restarts) and flag the rows whose step
    meets ``change <= tol * max(min(scale, bound), tiny)`` (none when ``tol`` is 0);
    returns how many are flagged."""
    n_done = 0
    for i in range(t.size):
        if accelerated:
            t[i] = 1 if restarted[i] and restart else t_new[i]
        if tol > 0:
            s, b = scale[i], bound[i]
            # np.minimum and np.maximum: NaN in, NaN out
            m = s if s != s or s < b else b
            m = m if m != m or m > tiny else tiny
            done[i] = change[i] <= tol * m
            n_done += done[i]
        else:
            done[i] = False
    return n_done


@cached_njit(nogil=True)
def _compact_rows(done, live, Aw, Ap, GA, GAp, B, Li, t, bound, sq_norms):
    """Move the rows not ``done`` to the front of each array, in order; returns their
    number (``sq_norms`` may be empty)."""
    k = Aw.shape[1]
    m = 0
    for i in range(done.size):
        if done[i]:
            continue
        if m < i:
            live[m] = live[i]
            for j in range(k):
                Aw[m, j] = Aw[i, j]
                Ap[m, j] = Ap[i, j]
                GA[m, j] = GA[i, j]
                GAp[m, j] = GAp[i, j]
                B[m, j] = B[i, j]
            Li[m] = Li[i]
            t[m] = t[i]
            bound[m] = bound[i]
            if sq_norms.size:
                sq_norms[m] = sq_norms[i]
        m += 1
    return m
