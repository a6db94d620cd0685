"""Exact LASSO codes by a batched active-set method.

Dense first-order iterations (FISTA) are cheap per step but need hundreds of
steps to converge; the LASSO solution itself is simple once its support and
signs are known: on the support ``S`` with signs ``s``

    a_S = G_SS^{-1} (b_S - lam s_S),        G = D D^T,  b = D x,

and it is optimal iff the KKT conditions hold:

    |b_j - (G a)_j| <= lam  off the support,   b_j - (G a)_j = lam s_j  on it.

:func:`lasso_active_set` runs a few FISTA steps (a backtracked step per
sample, :mod:`v1model.inference.fista_backtracking`) to find a support close
to the final one, then repeats, for the samples whose KKT conditions fail,

1. one dense gradient ``c = b - G a`` (one matmul for every sample at once),
2. a proximal-gradient step ``p = T_{lam/L}(a + c/L)`` (adds the atoms that
   violate the KKT conditions, drops those the gradient pushes to zero),
3. the exact solve on the support of ``p`` with its signs (batched
   ``numpy.linalg.solve`` over padded supports). If coefficients change sign,
   two candidates compete per sample: the feature-sign step (Lee et al. 2007:
   stop where the first coefficient crosses zero, drop it), and the Newton
   point after dropping every coefficient that flipped (re-solved until its
   signs are consistent); the better one is kept, and where the feature-sign
   step wins, feature-sign steps continue.

Dense codes (a small ``lam`` on an overcomplete dictionary) give supports ``p``
near or beyond the rank of ``D``, where the solve has no unique answer or the
feature-sign steps drop only a few atoms a round. A sample whose support
exceeds ``DENSE_FRACTION`` (1/2) of the rank (when ``D`` has rank >=
``DENSE_MIN_RANK``) therefore runs FISTA once to convergence (relative step
``DENSE_TOL``, at most ``DENSE_MAX_ITER`` iterations), and the solves start from
that support, the optimum's or close to it. Supports still beyond the rank (a
degenerate problem, e.g. duplicate atoms; or any at lower rank) are reduced to
it by null-space steps, one eigendecomposition per dropped atom. That
reduction alone was far from the optimum on dense codes: one whitened 16x16
patch, 512 data-initialised atoms, ``lam`` 0.01 (optimum on 186 atoms)
stopped at ``max_rounds`` 14.8% above the optimum; now it ends on it. Exact,
but not fast there: ``benchmarks/bench_lasso.py --dense`` (table "LASSO on
dense codes" in benchmarks/README.md, 2026-12-07, 10 patches, the learned
512-atom dictionary, ``lam`` 0.01 and 0.0025, 28-34% of the atoms active)
timed it at 0.2-1.1x scikit-learn's ``sparse_encode`` (lasso_cd, ``max_iter``
10000) at a relative objective gap <= 1e-6, and FISTA at ``tol`` 1e-5 or 1e-6
2.4-11x faster than it at that gap (two runs on a loaded box). Sparse codes
(16x16, 512 atoms, 10% active) never meet this path: their codes are unchanged.

Every step decreases the objective (the solve minimises the objective over
the orthant of ``p``, the prox step is a descent step, a candidate is kept
only if it beats the feature-sign step), and a sample stops only when its KKT
conditions hold to ``tol * lam``. A sample whose last solve found the optimal
support and signs ends at the LASSO optimum up to floating-point precision;
but the test is a tolerance, and a sample may also pass it straight from the
FISTA warm start, or on a support that is nearly degenerate: its objective is
then above the optimum by at most about ``tol * lam * ||a - a*||_1``. At the
default ``tol=1e-3`` on 1000 whitened 8x8 patches (128 data-initialised
atoms) that is a relative gap, summed over samples, of 1e-8 and 5e-8 at
``lam`` 0.1 and 0.3 (6e-11 at 1), and at most 1.4e-6 for one sample, in
float64 as in float32; a random problem with 15 atoms in 3 dimensions kept
FISTA's 4-atom point at a gap of 1.4e-4. ``tol=1e-5`` gives ~1e-12 (1.4e-10
at worst for one sample), ``tol=1e-7`` in float64 the optimum to rounding.
"""

from __future__ import annotations

import numpy as np

from ..progress import check_progress, progress_bar
from ..validation import (CODE_DIMS, check_array, check_bool, check_int, check_nonnegative,
                          check_positive, check_shape)
from ._common import (
    STEP_MARGIN,
    check_warm_start,
    drive_scale,
    eigenvalues_in_place,
    history_dataset,
    history_record,
    relative_duality_gaps,
    validate_problem,
    warn_not_converged,
)
from ._dictionary_cache import gram_of, values_of
from .fista_backtracking import fista_block_backtracking

__all__ = ["lasso_active_set", "kkt_violation"]

#: samples per block (cache-sized work arrays, as in FISTA)
BLOCK_SIZE = 2048
#: samples per batched solve; they are sorted by support size so that padding
#: to the largest support of a chunk wastes little
SOLVE_CHUNK = 128
#: FISTA's tolerance (relative step, as ``fista``'s ``tol``) and iteration limit for a
#: sample whose support exceeds DENSE_FRACTION of the rank of D (dense codes: small lam,
#: overcomplete D):
#: FISTA runs to convergence once, then the exact solves start from its support (whitened
#: 16x16 patches, 512 atoms, lam 0.01 and 0.0025: the optimum's support)
DENSE_TOL = 1e-6
DENSE_MAX_ITER = 5000
#: ... only where D has at least this rank: below, the reduction to the rank costs
#: little (an eigendecomposition of at most ~2 rank atoms per dropped atom) and reaches
#: the optimum in a few rounds, where a FISTA point on exactly ``rank`` atoms could keep
#: the float32 solves creeping (random 40 atoms in 20 dimensions, lam 0.01: 100 rounds)
DENSE_MIN_RANK = 64
#: a support counts as dense beyond this fraction of the rank: supports near the rank
#: but well above the optimum's (221-244 atoms for 150-190) also crept, the solves
#: dropping a few atoms a round (99 rounds for 40 such patches)
DENSE_FRACTION = 0.5


def lasso_active_set(
    X,
    D,
    lam,
    *,
    tol: float = 1e-3,
    max_rounds: int = 100,
    n_warm: int = 50,
    max_inner: int = 10,
    positive: bool = False,
    A0=None,
    dtype=np.float32,
    return_history: bool = False,
    return_n_iter: bool = False,
    progress: bool | None = None,
    _stats: dict | None = None,
    _names: tuple[str, str] = ("X", "D"),
):
    """Exact LASSO codes: FISTA warm start, then batched support solves checked by KKT.

    Minimises, per sample, ``0.5 * ||x - D^T a||^2 + lam * ||a||_1`` (with
    ``a >= 0`` when ``positive``), the objective of :func:`fista` and of
    scikit-learn's ``sparse_encode(..., algorithm="lasso_cd", alpha=lam)``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    lam : float
        L1 penalty, >= 0.
    tol : float, default 1e-3
        A sample is done when every KKT condition holds within ``tol * lam``
        (in the units of the correlations ``D x``); at ``lam = 0`` (least
        squares) within ``tol * max|D x|`` (for ``x = 0``, ``tol`` times the
        warm start's ``max|D D^T a0|``). The objective is then within about
        ``tol * lam * ||a - a*||_1`` of the optimum, and usually at it
        (module docstring: relative gaps near 1e-8 on natural patches at the
        default, 1e-12 at 1e-5).
    max_rounds : int, default 100
        Limit on gradient + solve rounds after the warm start (the round in
        which a sample with dense codes runs FISTA to convergence, module
        docstring, counts as one).
    n_warm : int, default 50
        FISTA iterations (backtracked step per sample) before the first solve
        (0 starts from ``A0`` or zero). More warm-up gives smaller, more
        accurate supports to solve on; too little costs many rounds (16x16
        patches, 512 atoms: 3.1 s at 50, 4.1 s at 25, 28 s at 15; see
        ``benchmarks/README.md``).
    max_inner : int, default 10
        Re-solves per round after coefficients changed sign.
    positive : bool, default False
        Non-negative LASSO.
    A0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Warm start; ``(n_atoms,)`` for a single sample. With ``positive`` its
        negative entries are set to zero (the projection onto the feasible set,
        as in every solver here; the codes do not depend on the start).
    dtype : {float32, float64}, default float32
        Working precision.
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (warm-start iterations, then
        rounds) with objective, data term, penalty and mean active count.
    return_n_iter : bool, default False
        Also return the number of rounds run (largest over blocks).
    progress : bool or None, default None
        Show a tqdm bar over the samples: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.
    _stats : dict, optional
        Private (benchmarks): receives the floating-point operation count
        ``flops`` (matrix products, padded solves) and the number of solves.
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
    n_rounds : int, optional
        With ``return_n_iter``.

    Raises
    ------
    ValueError
        For invalid ``X``/``D``/``A0``, ``lam < 0``, a non-positive ``tol``,
        ``max_rounds`` or ``max_inner``, or a negative ``n_warm``.

    References
    ----------
    Lee, H., Battle, A., Raina, R. & Ng, A. Y. (2007). Efficient sparse coding
    algorithms. NIPS 19 (the feature-sign line search).
    Beck, A. & Teboulle, M. (2009). SIAM J. Imaging Sci. 2, 183-202 (FISTA).

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.inference import lasso_active_set
    >>> lasso_active_set(np.array([[3.0, -0.5, 0.0, 1.5]]), np.eye(4), lam=1.0).round(3)
    array([[2. , 0. , 0. , 0.5]], dtype=float32)
    """
    X, D, lam, dtype = validate_problem(X, D, lam, dtype, flags=dict(
        positive=positive, return_history=return_history, return_n_iter=return_n_iter),
        x_name=_names[0], d_name=_names[1])
    tol = check_positive(tol, "tol")
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    n_warm = check_int(n_warm, "n_warm", minimum=0)
    max_inner = check_int(max_inner, "max_inner", minimum=1)
    check_progress(progress)
    n, k = X.shape[0], D.shape[0]
    A0 = check_warm_start(A0, (n, k), dtype, positive=positive)
    A = np.zeros((n, k), dtype) if A0 is None else np.array(A0, dtype=dtype)
    # D D^T, the step and the rank, kept for the next call with the same dictionary
    # (_dictionary_cache: a one-sample call spent most of its CPU on them); G is
    # read-only, shared with the calls to come
    values = values_of(D)
    G = gram_of(values, dtype)
    B = X @ D.T
    # the most atoms a support can hold independently is the rank of D, not n_features:
    # a dictionary in a subspace (PCA-reduced patches kept in pixel space) left the
    # supports between the two singular, never reduced, and LU's meaningless steps on
    # them kept samples at gaps of 1e-2 until max_rounds
    L, rank = values.get(("step_and_rank", dtype.name), lambda K: _step_and_rank(
        np.ascontiguousarray(K, dtype=dtype), dtype))
    stats = _stats if _stats is not None else {}
    stats.update(flops=2.0 * n * k * D.shape[1] + 2.0 * k * k * D.shape[1], n_solves=0)
    records = [history_record(X, D, A, lam)] if return_history else None

    def record(rows, A_all):
        records.append(history_record(X, D, A_all, lam))

    block = n if return_history else BLOCK_SIZE
    n_rounds, left = 0, []
    with progress_bar(progress, total=n, desc="lasso_active_set") as bar:
        for start in range(0, n, block):
            rows = np.arange(start, min(start + block, n))
            r, stalled = _solve_block(A, B, G, L, lam, rows, tol, max_rounds, n_warm,
                                      max_inner, positive, record if return_history else None,
                                      stats, rank=rank)
            n_rounds = max(n_rounds, r)
            left.append(stalled)
            bar.update(rows.size)
    left = np.concatenate(left) if left else np.empty(0, dtype=np.intp)
    if left.size:
        # the rows named, as lca/fista/iht name theirs
        warn_not_converged("lasso_active_set", max_rounds, left.size, n, "max_rounds",
                           samples=left, unit="rounds",
                           gaps=relative_duality_gaps(X[left], D, A[left], lam, positive))
    out = [A]
    if return_history:
        out.append(history_dataset(records, "lasso_active_set", lam=lam, tol=tol,
                                   positive=int(positive), n_warm=n_warm,
                                   max_rounds=max_rounds, max_inner=max_inner,
                                   dtype=dtype))
    if return_n_iter:
        out.append(n_rounds)
    return out[0] if len(out) == 1 else tuple(out)


def kkt_violation(A, C, lam, positive=False):
    """Largest KKT violation of LASSO codes per sample, in units of the correlations.

    Parameters
    ----------
    A : array_like, shape (n_samples, n_atoms)
        Codes.
    C : array_like, shape (n_samples, n_atoms)
        Negative gradient of the data term, ``X D^T - A D D^T``. DataArrays with
        dims ``(sample, atom)``, in any order, are read by dim name (both).
    lam : float
        Penalty weight, >= 0.
    positive : bool, default False
        Codes constrained to be non-negative.

    Returns
    -------
    ndarray, shape (n_samples,)
        Zero at the LASSO optimum; ``<= tol * lam`` is the stopping rule of
        :func:`lasso_active_set`.
    """
    A = check_array(A, "A", ndim=2, dims=CODE_DIMS)
    C = check_shape(check_array(C, "C", ndim=2, dims=CODE_DIMS), "C", A.shape)
    return _kkt_violation(A, C, check_nonnegative(lam, "lam"), check_bool(positive, "positive"))


def _kkt_violation(A, C, lam, positive):
    on = A != 0
    if positive:
        off = np.maximum(C - lam, 0)
        onv = np.abs(C - lam)
    else:
        off = np.maximum(np.abs(C) - lam, 0)
        onv = np.abs(C - lam * np.sign(A))
    return np.where(on, onv, off).max(axis=1)


def _step_and_rank(D, dtype):
    """``lambda_max(D D^T) * STEP_MARGIN`` and the numerical rank of ``D``.

    Both from the eigenvalues of the smaller Gram matrix (float64), as
    :func:`spectral_norm_gram` (an SVD of a 512 x 256 ``D`` took twice as long). A
    singular value counts when above ``sigma_max`` times numpy's ``matrix_rank``
    tolerance at the working precision (``max(D.shape) * eps``), and above the
    resolution of singular values taken from eigenvalues (``sqrt(max(D.shape) * eps)``
    in float64).
    """
    D64 = np.asarray(D, dtype=np.float64)
    small = D64 @ D64.T if D64.shape[0] <= D64.shape[1] else D64.T @ D64
    ev = eigenvalues_in_place(small)  # not eigvalsh's copy of small, beside the solver's G
    sv = np.sqrt(np.clip(ev, 0.0, None))
    size = max(D.shape)
    cutoff = sv[-1] * max(size * np.finfo(dtype).eps, np.sqrt(size * np.finfo(np.float64).eps))
    return float(ev[-1]) * STEP_MARGIN, int(np.count_nonzero(sv > cutoff))


def _solve_block(A, B, G, L, lam, rows, tol, max_rounds, n_warm, max_inner, positive,
                 on_iter, stats, rank):
    dtype = A.dtype
    k = G.shape[0]
    # KKT violations are measured against lam; at lam = 0 (least squares) against the
    # drive max|Φᵀx| (a zero x: its warm start's gradient), else the test "> 0" would never
    # pass
    limit = (np.full(len(rows), tol * lam) if lam > 0
             else tol * drive_scale(B[rows], A[rows], G))  # rows are consecutive
    if n_warm:
        warm = {}
        fista_block_backtracking(A, B, G, lam, rows, L, max_iter=n_warm, tol=0.0,
                                 positive=positive, restart=True, accelerated=True,
                                 on_iter=on_iter, stats=warm)
        stats["flops"] += 2.0 * warm["matmul_rows"] * k * k
    live = rows
    # the samples that ran FISTA to convergence after a dense support (once each)
    fista_done = np.zeros(len(rows), bool)
    thr = dtype.type(lam / L)
    inv_L = dtype.type(1.0 / L)
    for rnd in range(max_rounds + 1):
        Al = A[live]
        C = B[live] - Al @ G
        stats["flops"] += 2.0 * len(live) * k * k
        bad = _kkt_violation(Al, C, lam, positive) > limit[live - rows[0]]
        if not bad.any() or rnd == max_rounds:
            return rnd, live[bad]  # the rows of X left
        live, Al, C = live[bad], Al[bad], C[bad]
        P = _prox_step(Al, C, inv_L, thr, positive)
        if lam > 0 and rank >= DENSE_MIN_RANK:
            # a support beyond the rank of D is far from the optimum's (a unique LASSO
            # solution has at most rank atoms), and one near it often: reducing it to the
            # rank took one
            # eigendecomposition per dropped atom and left supports far larger than the
            # optimum's, which the solves then shrank by a few atoms a round (a whitened
            # 16x16 patch, 512 atoms, lam 0.01: max_rounds after 393 s, 14.8% above the
            # optimum). Such a sample runs FISTA to convergence once, whose support is
            # then the optimum's or close to it, and is solved exactly from there
            dense = ((np.count_nonzero(P, axis=1) > DENSE_FRACTION * rank)
                     & ~fista_done[live - rows[0]])
            if dense.any():
                more = live[dense]
                warm = {}
                fista_block_backtracking(A, B, G, lam, more, L, max_iter=DENSE_MAX_ITER,
                                         tol=DENSE_TOL, positive=positive, restart=True,
                                         accelerated=True, on_iter=on_iter, stats=warm)
                fista_done[more - rows[0]] = True
                Al[dense] = A[more]
                C[dense] = B[more] - Al[dense] @ G
                stats["flops"] += 2.0 * (warm["matmul_rows"] + more.size) * k * k
                P[dense] = _prox_step(Al[dense], C[dense], inv_L, thr, positive)
        A[live] = _support_solve(P, Al, C, G, lam, positive, max_inner, stats, rank)
        if on_iter is not None:
            on_iter(live, A)
    return max_rounds, live[:0]  # pragma: no cover - the loop always returns


def _prox_step(A, C, inv_L, thr, positive):
    """Proximal-gradient step ``T_{lam/L}(A + C/L)`` (``C``: negative gradient at ``A``)."""
    P = A + inv_L * C
    if positive:
        P -= thr
        np.maximum(P, 0, out=P)
    else:
        P -= np.clip(P, -thr, thr)
    return P


def _padded_support(mask):
    """Column indices of the True entries of each row, padded; and the padding mask."""
    sizes = mask.sum(axis=1)
    m = max(int(sizes.max()), 1)
    r, c = np.nonzero(mask)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(r.size) - starts[r]
    idx = np.zeros((mask.shape[0], m), np.intp)
    valid = np.zeros((mask.shape[0], m), bool)
    idx[r, pos] = c
    valid[r, pos] = True
    return idx, valid


def _support_solve(P, A_old, C, G, lam, positive, max_inner, stats, rank):
    """Exact solve on the support of ``P`` with the feature-sign line search.

    ``C`` is the negative gradient at ``A_old``; every quantity is restricted to
    ``U = supp(P) | supp(A_old)`` and padded per chunk of samples.
    """
    n, k = P.shape
    # the small systems are solved in float64 whatever the working precision: with
    # supports near the number of features G_SS is ill-conditioned, and float32 LU
    # steps then missed the optimum by percents (random 2-4x overcomplete problems)
    dtype = np.dtype(np.float64)
    U = (P != 0) | (A_old != 0)
    sizes = U.sum(axis=1)
    order = np.argsort(sizes, kind="stable")
    out = np.zeros_like(P)
    G_flat = G.astype(dtype).ravel()
    for start in range(0, n, SOLVE_CHUNK):
        rows = order[start:start + SOLVE_CHUNK]
        if sizes[rows[-1]] == 0:
            continue  # p = 0 for every sample of the chunk
        idx, valid = _padded_support(U[rows])
        GU = np.take(G_flat, idx[:, :, None] * k + idx[:, None, :])
        x = np.where(valid, np.take_along_axis(P[rows], idx, 1), 0).astype(dtype)
        a0 = np.where(valid, np.take_along_axis(A_old[rows], idx, 1), 0).astype(dtype)
        # negative gradient at p, from the one at A_old (exact: the data term is quadratic)
        c = np.where(valid, np.take_along_axis(C[rows], idx, 1), 0).astype(dtype)
        c -= _matvec(GU, x - a0)
        x = _feature_sign(GU, x, c, np.sign(x), x != 0, lam, max_inner, dtype, stats, rank)
        rr, pp = np.nonzero(valid)
        block = np.zeros((len(rows), k), dtype)
        block[rr, idx[rr, pp]] = x[rr, pp]
        out[rows] = block
    return out


def _matvec(M, v):
    """Batched ``M @ v`` for M (c, m, m), v (c, m)."""
    return np.matmul(M, v[:, :, None])[:, :, 0]


def _feature_sign(GU, x, c, s, S, lam, max_inner, dtype, stats, rank):
    """Newton steps on the sign-fixed problem, safeguarded by the feature-sign line search.

    ``x`` (c, m) is consistent with the signs ``s`` on ``S``; ``c`` is the
    negative gradient of the data term at ``x``. The Newton systems
    ``G_SS delta = c_S - lam s_S`` are solved with LAPACK, batched over the
    chunk. When the Newton point changes signs, two candidates are formed:

    - the feature-sign point (stop at the first zero crossing, drop that
      coefficient): always at least as good as ``x``;
    - the sign-consistent Newton point after dropping every coefficient
      whose sign flips (re-solving up to ``max_inner`` times): usually far
      better when ``x`` came from a support much larger than the optimum's;

    and each sample keeps the one with the lower objective. Supports larger
    than ``rank`` (the rank of ``D``, at most the number of features) are
    first reduced to it by :func:`_reduce_to_rank`. Returns the new ``x``.
    """
    x_in, c_in = x, c
    x, c, S = x.copy(), c.copy(), S.copy()
    _reduce_to_rank(GU, x, c, s, S, lam, rank, stats)
    x0, c0 = x.copy(), c.copy()
    y, wrong = _newton(GU, x0, c0, s, S, lam, stats)
    crossing = wrong.any(axis=1)
    out = np.where(crossing[:, None], x0, y)
    rows = np.flatnonzero(crossing)
    if rows.size:
        _feature_sign_crossing(out, rows, GU, x0, c0, y, wrong, s, S, lam, max_inner, dtype,
                               stats)
    # every step above descends in exact arithmetic; keep the entry point where rounding
    # (ill-conditioned or rank-deficient supports) made the result worse, so that a round
    # never raises the objective
    worse = _delta_objective(GU, x_in, c_in, out, lam) > 0
    out[worse] = x_in[worse]
    return out


def _feature_sign_crossing(out, rows, GU, x0, c0, y, wrong, s, S, lam, max_inner, dtype,
                           stats):
    """The two candidates of :func:`_feature_sign` for the samples ``rows`` whose
    Newton point changes signs; writes the better one into ``out``."""
    xa, ya, wa, sa, Sa = x0[rows], y[rows], wrong[rows], s[rows], S[rows]
    GA = GU[rows]
    # safe candidate: first zero crossing of the segment xa -> ya
    with np.errstate(divide="ignore", invalid="ignore"):
        t_j = np.where(wa, xa / (xa - ya), np.inf)
    t = t_j.min(axis=1).astype(dtype)
    safe = xa + t[:, None] * (ya - xa)
    safe[wa & (t_j <= t[:, None] * (1 + 1e-6))] = 0
    # aggressive candidate: drop every flipped coefficient and solve again
    z = np.where(wa, 0, xa).astype(dtype)
    cz = c0[rows] - _matvec(GA, z - xa)
    Sz = Sa & ~wa
    cand = safe.copy()
    live = np.arange(rows.size)
    for _ in range(max_inner):
        yz, wz = _newton(GA[live], z[live], cz[live], sa[live], Sz[live], lam, stats)
        ok = ~wz.any(axis=1)
        cand[live[ok]] = yz[ok]
        bad = live[~ok]
        if bad.size == 0:
            break
        wb = wz[~ok]
        z_new = np.where(wb, 0, z[bad])
        cz[bad] -= _matvec(GA[bad], z_new - z[bad])
        z[bad] = z_new
        Sz[bad] &= ~wb
        live = bad
    # keep the aggressive candidate where it beats the first feature-sign step; elsewhere
    # go on with feature-sign steps (objective differences from xa, restricted to U)
    c_rows = c0[rows]
    better = (_delta_objective(GA, xa, c_rows, cand, lam)
              <= _delta_objective(GA, xa, c_rows, safe, lam))
    out[rows] = cand
    slow = np.flatnonzero(~better)
    if slow.size:
        S_safe = safe[slow] != 0
        c_safe = c_rows[slow] - _matvec(GA[slow], safe[slow] - xa[slow])
        out[rows[slow]] = _line_search_steps(GA[slow], safe[slow], c_safe, sa[slow], S_safe,
                                             lam, max_inner - 1, dtype, stats)


def _line_search_steps(GU, x, c, s, S, lam, n_steps, dtype, stats):
    """Plain feature-sign steps: Newton point, stop at the first zero crossing, drop."""
    act = np.arange(x.shape[0])
    for _ in range(n_steps):
        y, wrong = _newton(GU[act], x[act], c[act], s[act], S[act], lam, stats)
        crossing = wrong.any(axis=1)
        xa = x[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_j = np.where(wrong, xa / (xa - y), np.inf)
        t = np.where(crossing, t_j.min(axis=1), 1).astype(dtype)
        x_new = xa + t[:, None] * (y - xa)
        drop = wrong & (t_j <= t[:, None] * (1 + 1e-6))
        x_new[drop] = 0
        S[act] &= ~drop
        c[act] -= _matvec(GU[act], x_new - xa)
        x[act] = x_new
        act = act[crossing]
        if act.size == 0:
            break
    return x


def _system(GU, c, s, S, lam):
    """The sign-fixed Newton systems ``G_SS delta = c_S - lam s_S``, padded."""
    m = GU.shape[1]
    diag = np.arange(m)
    rhs = np.where(S, c - lam * s, 0)
    Msys = np.where(S[:, :, None] & S[:, None, :], GU, 0)
    Msys[:, diag, diag] += ~S  # identity on the padding keeps the system regular
    return Msys, rhs


def _newton(GU, x, c, s, S, lam, stats):
    """Newton point of the sign-fixed problem on ``S`` and where its signs are wrong."""
    m = GU.shape[1]
    Msys, rhs = _system(GU, c, s, S, lam)
    delta = _solve(Msys, rhs, x, S)
    stats["flops"] += len(x) * (2.0 / 3.0 * m**3 + 4.0 * m * m)
    stats["n_solves"] += len(x)
    y = np.where(S, x + delta, 0)
    return y, S & (y * s <= 0)


def _solve(M, rhs, x, S):
    """Batched exact solves; singular systems (duplicate atoms) one by one."""
    try:
        return np.linalg.solve(M, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return _null_space_steps(M, rhs, _solve_each(M, rhs), x, S)


def _solve_each(M, rhs):
    """Solve every system on its own; least squares only where one is singular.

    The pseudo-inverse of the whole batch would also replace the exact solves of the
    regular systems by truncated ones, and a sample could then stall for as long as
    another sample of its chunk kept a singular support.
    """
    delta = np.empty_like(rhs)
    for i in range(len(M)):
        try:
            delta[i] = np.linalg.solve(M[i], rhs[i])
        except np.linalg.LinAlgError:
            delta[i] = np.linalg.lstsq(M[i], rhs[i], rcond=None)[0]
    return delta


def _reduce_to_rank(GU, x, c, s, S, lam, rank, stats):
    """Drop coefficients, in place, until no support exceeds ``rank`` atoms.

    With more atoms than features the atoms of ``S`` are dependent and the
    sign-fixed problem has no unique minimiser: along a null direction ``v``
    of G_SS the data term is constant and the objective changes linearly,
    by ``lam * s.v`` per unit step. Each pass moves every such sample along
    the null direction in which the penalty falls (or, when it is flat along
    the whole null space, along any null direction) to the first zero
    crossing and drops that coefficient: the objective never rises and the
    support loses one atom. LAPACK's LU rarely notices these singular
    systems in floating point, it returns huge meaningless steps instead.
    """
    act = np.flatnonzero(S.sum(axis=1) > rank)
    while act.size:
        Msys, rhs = _system(GU[act], c[act], s[act], S[act], lam)
        w, V = np.linalg.eigh(Msys)  # ascending eigenvalues
        stats["flops"] += len(act) * 9.0 * GU.shape[1] ** 3
        # at least |S| - rank eigenvalues are zero but for the rounding of G (float32:
        # ~1e-7 of the largest), so they are counted, not compared with a threshold
        n_null = S[act].sum(axis=1) - rank
        null = ((np.arange(w.shape[1]) < n_null[:, None])
                | (w < np.sqrt(np.finfo(w.dtype).eps) * w.max(axis=1, keepdims=True)))
        # rhs projected on the null space: the direction of steepest descent there
        coef = np.einsum("rij,ri->rj", V, rhs) * null
        d = np.einsum("rij,rj->ri", V, coef)
        flat = np.abs(d).max(axis=1) <= np.sqrt(np.finfo(w.dtype).eps) * (
            np.abs(rhs).max(axis=1) + np.finfo(w.dtype).tiny)
        if flat.any():  # any null vector: the objective is constant along it
            first_null = np.argmax(null[flat], axis=1)
            d[flat] = V[flat, :, first_null]
        xa, Sa = x[act], S[act]
        # first zero crossing along +d (descent) or, when flat, whichever sign is nearer
        with np.errstate(divide="ignore", invalid="ignore"):
            t_j = np.where(Sa & (d * xa < 0), -xa / d, np.inf)
            t_neg = np.where(Sa & (d * xa > 0), xa / d, np.inf)
        use_neg = flat & (t_neg.min(axis=1) < t_j.min(axis=1))
        d[use_neg] *= -1
        t_j[use_neg] = t_neg[use_neg]
        t = t_j.min(axis=1)
        ok = np.isfinite(t)  # a bounded objective always has a crossing; guard rounding
        j = t_j.argmin(axis=1)
        step = np.where(ok, t, 0)[:, None] * d  # not inf * 0
        r = np.arange(len(act))
        step[r[ok], j[ok]] = -xa[r[ok], j[ok]]  # exactly to zero
        x[act] = np.where(Sa, xa + step, 0)
        c[act] -= _matvec(GU[act], step)
        S[act[ok], j[ok]] = False
        x[act[ok], j[ok]] = 0
        act = act[ok]
        act = act[S[act].sum(axis=1) > rank]


def _null_space_steps(M, rhs, delta, x, S):
    """Steps for the systems whose right-hand side is not in the range of G_SS.

    There the sign-fixed objective has no minimiser: its least-squares
    residual ``r = rhs - G_SS delta`` lies in the null space of G_SS (the
    atoms of S are dependent), and along ``r`` the data term is constant
    while the penalty falls. The step goes along ``r`` to the first zero
    crossing, where the coefficient is dropped by the caller's feature-sign
    logic; the least-squares point would not even be a descent step.
    Consistent systems keep their least-squares (minimum-norm) solution.
    """
    res = np.where(S, rhs - _matvec(M, delta), 0)
    eps = np.sqrt(np.finfo(delta.dtype).eps)
    scale = np.abs(rhs).max(axis=1) + np.abs(_matvec(M, delta)).max(axis=1)
    inconsistent = np.abs(res).max(axis=1) > eps * scale
    if not inconsistent.any():
        return delta
    r, xr = res[inconsistent], x[inconsistent]
    shrinking = S[inconsistent] & (r * xr < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_j = np.where(shrinking, -xr / r, np.inf)
    t = t_j.min(axis=1)
    # no shrinking coefficient cannot happen at a bounded objective with lam > 0; keep least
    # squares then (lam = 0: any least-squares point is a minimiser)
    finite = np.isfinite(t)
    step = np.where(finite, t, 0)[:, None] * r
    first = t_j.argmin(axis=1)
    step[np.arange(len(r)), first] = -xr[np.arange(len(r)), first]  # exactly to zero
    out = delta.copy()
    rows = np.flatnonzero(inconsistent)[finite]
    out[rows] = step[finite]
    return out


def _delta_objective(GU, x, c, v, lam):
    """F(v) - F(x) for vectors on the padded support (``c``: negative gradient at x)."""
    d = v - x
    return (-np.einsum("ij,ij->i", c, d) + 0.5 * np.einsum("ij,ij->i", d, _matvec(GU, d))
            + lam * (np.abs(v).sum(axis=1) - np.abs(x).sum(axis=1)))
