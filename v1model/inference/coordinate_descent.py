"""LASSO codes by compiled coordinate descent on the Gram matrix, one sample per thread.

Per sample, with ``G = D D^T``, ``b = D x`` and the negative gradient
``c = b - G a`` kept up to date, a coordinate update is

    a_j <- T_lam(a_j G_jj + c_j) / G_jj,        c <- c - (a_j,new - a_j) G_j,

so one update costs one length-``n_atoms`` axpy, and only the ~5-10% of
coordinates that are non-zero move once the support is found. Active sweeps
visit the non-zeros only; a full sweep (after ``full_every`` active sweeps, and
whenever the active sweeps have settled) visits every atom whose correlation
passes the threshold, which is where atoms enter. A sample is done when a full
sweep moves no coefficient by more than ``tol * lam`` (in the units of the
correlations ``D x``), i.e. when every KKT condition

    |c_j| <= lam  where a_j = 0,        c_j = lam sign(a_j)  where a_j != 0

holds to about that tolerance.

This is the algorithm of scikit-learn's ``sparse_encode(algorithm="lasso_cd")``
(Friedman et al. 2007; Gram-matrix "covariance updates"), compiled with numba,
in float32 by default, over samples in parallel threads, with active-set
sweeps (over-relaxed), a first sweep in decreasing order of correlation,
gradient updates fused four at a time, and a stopping rule on the coefficient
moves instead of the duality gap (which is loose here: it certifies 1e-3 when
the true gap is 1e-6). On whitened 16x16 patches with 512 atoms the default ``tol=1e-2``
leaves a relative objective gap of about 5e-6 (``benchmarks/README.md``).
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from .._numba import cached_njit
from ..progress import check_progress, progress_bar
from ..validation import check_bool, check_int, check_positive
from . import _common
from ._dictionary_cache import gram_of, values_of
from ._common import (check_warm_start, drive_scale, history_dataset, history_record,
                      relative_duality_gaps, use_method, validate_problem,
                      warn_not_converged)

__all__ = ["lasso_cd"]

#: bins of the first sweep's ordering by |correlation|
N_BINS = 32
#: over-relaxation of the active sweeps (moves that keep their sign go OMEGA times as
#: far; for a coefficient that keeps its sign the objective along that coordinate is a
#: parabola, so any OMEGA in (0, 2) still decreases it): 1.3-1.5 save ~18% of the
#: moves on natural patches, see benchmarks/README.md
OMEGA = 1.4
#: numba's workqueue threading layer (used when no OpenMP/TBB is found) must not run
#: two parallel kernels at once; the kernel uses every core anyway
_KERNEL_LOCK = threading.Lock()


def lasso_cd(
    X,
    D,
    lam,
    *,
    tol: float = 1e-2,
    max_sweeps: int = 1000,
    full_every: int = 3,
    positive: bool = False,
    A0=None,
    dtype=np.float32,
    return_history: bool = False,
    return_n_iter: bool = False,
    progress: bool | None = None,
    _stats: dict | None = None,
    _names: tuple[str, str] = ("X", "D"),
):
    """LASSO codes by coordinate descent, compiled and parallel over samples.

    Minimises, per sample, ``0.5 * ||x - D^T a||^2 + lam * ||a||_1`` (with
    ``a >= 0`` when ``positive``): the objective of :func:`fista`,
    :func:`lasso_active_set` and scikit-learn's
    ``sparse_encode(..., algorithm="lasso_cd", alpha=lam)``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (atoms with zero norm are refused).
    lam : float
        L1 penalty, >= 0.
    tol : float, default 1e-2
        A sample stops when a full sweep moves no coefficient by more than
        ``tol * lam`` in the units of the correlations ``D x`` (the KKT
        conditions then hold to about that); at ``lam = 0`` (least squares)
        by more than ``tol * 1e-3`` times the sample's own largest ``|D x|``
        (for ``x = 0``, the warm start's largest ``|D D^T a0|``).
        1e-2 gives a relative objective gap of ~1e-5 on natural image
        patches; 1e-4 gives the optimum to float32 precision (smaller values
        need ``dtype=float64``: float32 correlations carry rounding errors of
        ~1e-6 of their size).
    max_sweeps : int, default 1000
        Limit on sweeps per sample (a warning names the samples that hit it).
        Coordinate descent needs many sweeps where many atoms are active and
        nearly collinear (small ``lam`` on an overcomplete dictionary: 1,650
        for a sample with 16 of 24 random atoms active in 16 dimensions,
        scikit-learn's ``Lasso`` 3,300); :func:`lasso_active_set` solves
        such samples in a few rounds.
    full_every : int, default 3
        Active sweeps (over the non-zeros only) between two full sweeps (over
        every atom past the threshold), at most; fewer when they settle.
    positive : bool, default False
        Non-negative LASSO.
    A0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Warm start; ``(n_atoms,)`` for a single sample. With ``positive`` its
        negative entries are set to zero (the projection onto the feasible set,
        as in every solver here; the codes do not depend on the start).
    dtype : {float32, float64}, default float32
        Working precision (float32 is about twice as fast).
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (one record per
        ``full_every + 1`` sweeps: a full sweep and the active sweeps after
        it) with objective, data term, penalty and mean
        active count. Recording restarts the sweeps at every record, so it is
        slower; use it to look at convergence, not for speed.
    return_n_iter : bool, default False
        Also return the largest number of sweeps any sample needed.
    progress : bool or None, default None
        A tqdm bar over the samples, solved in chunks of
        :data:`~v1model.inference._common.SOLVER_CHUNK` (bit-identical to one
        chunk: the product ``X D^T`` is made once for all the rows; calls on
        another split of the rows can differ at rounding level, as BLAS may
        round a row's product differently for another number of rows, e.g. a
        single row): None shows it once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never. With
        ``return_history``, one chunk.
    _stats : dict, optional
        Private (benchmarks): receives ``updates`` (coordinate updates that
        moved a coefficient), ``flops`` (their axpys and the
        two products that form ``D D^T`` and ``D X``) and ``sweeps``.
    _names : (str, str), default ("X", "D")
        Private (front doors that pass their own arguments): the names of
        ``X`` and ``D`` in error messages, e.g. ``("X", "dictionary")`` for a
        network's own dictionary, which its caller never passed.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms)
        Codes in ``dtype`` (``(1, n_atoms)`` for a single sample).
    history : xarray.Dataset, optional
        With ``return_history``: dim ``iteration``.
    n_sweeps : int, optional
        With ``return_n_iter``.

    Raises
    ------
    ValueError
        For invalid ``X``/``D``/``A0`` (including an all-zero atom),
        ``lam < 0``, or a non-positive ``tol``, ``max_sweeps`` or
        ``full_every``.

    Notes
    -----
    The first call compiles the kernel (a few seconds; cached on disk
    afterwards); the codes are the same to the bit whether a process compiled it
    or loaded it from the cache. Threads: numba's (``NUMBA_NUM_THREADS``, default
    all cores).

    References
    ----------
    Friedman, J., Hastie, T., Hoefling, H. & Tibshirani, R. (2007). Pathwise
    coordinate optimization. Ann. Appl. Stat. 1, 302-332.
    Friedman, J., Hastie, T. & Tibshirani, R. (2010). Regularization paths for
    generalized linear models via coordinate descent. J. Stat. Softw. 33(1)
    (the "covariance updates" on the Gram matrix, section 2.2). Its objective
    is ``1/(2 n) ||y - X b||^2 + alpha ||b||_1`` over ``n`` observations
    (scikit-learn's ``Lasso``): here ``alpha = lam / n_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.inference import lasso_cd
    >>> lasso_cd(np.array([[3.0, -0.5, 0.0, 1.5]]), np.eye(4), lam=1.0).round(3)
    array([[2. , 0. , 0. , 0.5]], dtype=float32)
    """
    X, D, lam, dtype = validate_problem(X, D, lam, dtype, flags=dict(
        positive=positive, return_history=return_history, return_n_iter=return_n_iter),
        x_name=_names[0], d_name=_names[1])
    tol = check_positive(tol, "tol")
    max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    full_every = check_int(full_every, "full_every", minimum=1)
    check_bool(positive, "positive")
    check_progress(progress)
    n, k = X.shape[0], D.shape[0]
    # validate_problem refuses zero atoms: the diagonal is positive. Kept for the next
    # call with the same dictionary (_dictionary_cache), and copied: the kept one is
    # read-only, and numba would compile (and cache) another kernel for a read-only G
    G = np.array(gram_of(values_of(D), dtype))
    A0 = check_warm_start(A0, (n, k), dtype, positive=positive)
    A = np.zeros((n, k), dtype) if A0 is None else np.array(A0, dtype=dtype)
    B = X @ D.T
    lam_t = dtype.type(lam)
    # KKT tolerance per sample, in the units of D x; lam = 0 is least squares: relative to
    # each sample's own largest correlation, so that a sample's codes do not depend on the
    # others in the batch (the batch's max|D x| stopped a small sample beside a 1e4 times
    # larger one early, 12% off its codes); a zero x relative to its warm start's gradient
    kkt_tol = (np.full(n, tol * lam, dtype) if lam > 0
               else (tol * 1e-3 * drive_scale(B, A, G)).astype(dtype))
    sweeps = np.zeros(n, np.int64)
    updates = np.zeros(n, np.int64)
    left = np.zeros(n, np.bool_)
    records = [history_record(X, D, A, lam)] if return_history else None
    with progress_bar(progress, total=n, desc="lasso_cd") as bar:
        if return_history:
            # one record per cycle of a full sweep and `full_every` active ones: restart from the
            # current codes each time
            budget = max_sweeps
            left[:] = True
            while budget > 0 and left.any():
                step = min(full_every + 1, budget)
                rows = np.flatnonzero(left)
                A_rows = A[rows]
                C = B[rows] - A_rows @ G
                done_sweeps = np.zeros(rows.size, np.int64)
                done_updates = np.zeros(rows.size, np.int64)
                still = np.zeros(rows.size, np.bool_)
                with _KERNEL_LOCK:
                    _cd_kernel(C, G, A_rows, lam_t, kkt_tol[rows], full_every, step, positive,
                               done_sweeps, done_updates, still)
                A[rows] = A_rows
                sweeps[rows] += done_sweeps
                updates[rows] += done_updates
                left[rows] = still
                budget -= step
                records.append(history_record(X, D, A, lam))
                bar.update(rows.size - int(still.sum()))  # the samples that converged
            # and those max_sweeps stopped unconverged (warned of below): the bar ended short
            # of its total by them
            bar.update(int(left.sum()))
        else:
            C = B - A @ G if A0 is not None else B  # B is not needed afterwards
            # chunks of samples, for the bar: each sample's sweeps are its own. Four times
            # the others' chunk: the threads of a chunk wait for its slowest sample (157
            # sweeps against 18 on average), which cost 10-20% at 4096 (10,000 patches)
            chunk = 4 * _common.SOLVER_CHUNK
            for start in range(0, n, chunk):
                rows = slice(start, min(start + chunk, n))
                with _KERNEL_LOCK:
                    _cd_kernel(C[rows], G, A[rows], lam_t, kkt_tol[rows], full_every, max_sweeps,
                               positive, sweeps[rows], updates[rows], left[rows])
                bar.update(rows.stop - rows.start)
    n_left = int(left.sum())
    if n_left:
        # not a faulty stop rule: scikit-learn's coordinate descent needs as many sweeps
        # there (3,300 for a sample with 16 of 24 atoms active in 16 dimensions, where
        # this solver's over-relaxed sweeps take 1,650 and the active-set solver one round)
        warn_not_converged(
            "lasso_cd", max_sweeps, n_left, n, "max_sweeps", samples=np.flatnonzero(left),
            unit="sweeps over the coordinates",
            gaps=relative_duality_gaps(X[left], D, A[left], lam, positive),
            advice=(" (coordinate descent is slow where many atoms are active and nearly "
                    "collinear, as with a small lam on an overcomplete dictionary), or use "
                    f"lasso_active_set ({use_method('active_set')}), which solves "
                    "each support exactly"))
    if _stats is not None:
        n_upd = int(updates.sum())
        n_sw = int(sweeps.sum())
        _stats.update(
            updates=n_upd, sweeps=n_sw,
            flops=2.0 * n_upd * k + 2.0 * n * k * D.shape[1]
            + 2.0 * k * k * D.shape[1])
    out = [A]
    if return_history:
        out.append(history_dataset(records, "lasso_cd", lam=lam, tol=tol,
                                   positive=int(positive), full_every=full_every,
                                   max_sweeps=max_sweeps, dtype=dtype))
    if return_n_iter:
        out.append(int(sweeps.max()) if n else 0)
    return out[0] if len(out) == 1 else tuple(out)


# fastmath: only the flags that change no value of finite inputs. With fastmath=True
# (reassociation, fused multiply-adds) the codes depended on how the kernel came into the
# process: numba optimises the prange body on its own, then again inside the kernel's
# module; a process that compiled the kernel ran codes equal to those of a serial kernel,
# one that loaded it from the disk cache other ones (40 samples at tol 1e-4: 1.2e-13 apart
# in float64, 5.8e-5 in float32; a seeded float64 MOD dictionary learned on them up to
# 4.9e-4, 2026-12-08). Without reassociation every copy computes each value in the order
# written: in float64 the bits of the kernel's Python definition, however it is loaded
@cached_njit(parallel=True, fastmath={"nnan", "ninf"}, nogil=True)
def _cd_kernel(C, G, A, lam, kkt_tol, full_every, max_sweeps, positive, sweeps, updates,
               left):
    """Coordinate descent for every row of ``A`` in place.

    ``C`` (n, k) holds the negative gradient ``B - A G`` at the start and is
    overwritten; ``kkt_tol`` (n,) is each sample's tolerance (correlation units);
    ``sweeps`` and ``updates`` receive per-sample counts and
    ``left`` marks the samples that hit ``max_sweeps`` unconverged. Inputs
    are finite (validated by the caller), which ``fastmath`` relies on.

    Per sample:

    - a full sweep visits the non-zeros and the atoms whose correlation passes
      the threshold (the first one in decreasing order of |correlation|, so
      that strong atoms explain weak ones away before those enter);
    - active sweeps visit the non-zeros only, over-relaxed by ``OMEGA`` where
      a coefficient keeps its sign, until no coefficient moves by more than
      the sample's ``kkt_tol`` (in correlation units); then a full sweep (plain
      coordinate descent) checks, and a sample is done when a full sweep moves nothing
      by more than that;
    - the gradient updates of up to four consecutive coordinate moves are
      applied in one pass over ``c`` (each coordinate first corrects its own
      ``c_j`` for the moves still pending): the same iterates as one axpy per
      move, with a quarter of the stores.
    """
    n, k = C.shape
    zero = lam - lam  # a zero of the working dtype (keeps the loops in float32)
    diag = np.empty(k, C.dtype)
    inv_diag = np.empty(k, C.dtype)
    for j in range(k):
        diag[j] = G[j, j]
        inv_diag[j] = 1 / G[j, j]
    n_chunks = min(n, 256)  # per-chunk work arrays, reused by the chunk's samples
    for chunk in numba.prange(n_chunks):
        visit = np.empty(k, np.int64)
        bins = np.empty(k, np.int64)
        counts = np.empty(N_BINS, np.int64)
        spare = np.empty(k, np.int64)
        rows = np.zeros(4, np.int64)
        moves = np.zeros(4, C.dtype)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            a = A[i]
            c = C[i]
            tol_i = kkt_tol[i]
            n_upd = 0
            s = 0
            converged = False
            full = True
            since_full = 0
            n_visit = 0
            n_pending = 0
            for s in range(max_sweeps):
                if full:
                    n_visit = 0
                    for j in range(k):
                        if a[j] != 0 or c[j] > lam or (c[j] < -lam and not positive):
                            visit[n_visit] = j
                            n_visit += 1
                    if s == 0 and n_visit > 1:
                        # strongest correlations first: a counting sort into N_BINS bins
                        # of |c| (linear time; the order within a bin hardly matters)
                        top = abs(c[visit[0]])
                        low = top
                        for q in range(1, n_visit):
                            top = max(top, abs(c[visit[q]]))
                            low = min(low, abs(c[visit[q]]))
                        # no absolute guard: correlations of 1e-100 are sorted too
                        span = top - low
                        scale = (N_BINS - 1) / span if span > 0 else zero
                        counts[:] = 0
                        for q in range(n_visit):
                            bin_q = min(int((top - abs(c[visit[q]])) * scale), N_BINS - 1)
                            bins[q] = bin_q
                            counts[bin_q] += 1
                        start = 0
                        for b in range(N_BINS):
                            count_b = counts[b]
                            counts[b] = start
                            start += count_b
                        for q in range(n_visit):
                            spare[counts[bins[q]]] = visit[q]
                            counts[bins[q]] += 1
                        visit[:n_visit] = spare[:n_visit]
                worst = zero
                for q in range(n_visit + 1):
                    if q < n_visit:
                        j = visit[q]
                        aj = a[j]
                        cj = c[j]
                        for p in range(n_pending):
                            cj -= moves[p] * G[rows[p], j]
                        z = aj * diag[j] + cj
                        if z > lam:
                            new = (z - lam) * inv_diag[j]
                        elif z < -lam and not positive:
                            new = (z + lam) * inv_diag[j]
                        else:
                            new = zero
                        if not full and aj * new > 0:
                            over = aj + OMEGA * (new - aj)
                            if over * new > 0:
                                new = over
                        delta = new - aj
                        if delta != 0:
                            a[j] = new
                            rows[n_pending] = j
                            moves[n_pending] = delta
                            n_pending += 1
                            n_upd += 1
                            moved = abs(delta) * diag[j]
                            if moved > worst:
                                worst = moved
                    if n_pending == 4 or (q == n_visit and n_pending > 0):
                        for p in range(n_pending, 4):
                            rows[p] = rows[0]
                            moves[p] = zero
                        g0 = G[rows[0]]
                        g1 = G[rows[1]]
                        g2 = G[rows[2]]
                        g3 = G[rows[3]]
                        m0 = moves[0]
                        m1 = moves[1]
                        m2 = moves[2]
                        m3 = moves[3]
                        for t in range(k):
                            c[t] -= m0 * g0[t] + m1 * g1[t] + m2 * g2[t] + m3 * g3[t]
                        n_pending = 0
                if full:  # the active sweeps visit the non-zeros only
                    m = 0
                    for q in range(n_visit):
                        if a[visit[q]] != 0:
                            visit[m] = visit[q]
                            m += 1
                    n_visit = m
                if worst <= tol_i:
                    if full:
                        converged = True
                        break
                    full = True
                else:
                    since_full = 0 if full else since_full + 1
                    full = since_full >= full_every
            sweeps[i] = s + 1
            updates[i] += n_upd
            left[i] = not converged
