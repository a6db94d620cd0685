"""ISTA and FISTA (Beck & Teboulle 2009) for the LASSO, batched over samples.

The non-neural reference solver for the objective LCA minimises. Works on the
Gram matrix G = D D^T: one iteration is one (n_samples, n_atoms) x
(n_atoms, n_atoms) matmul with the step folded in (``Z = Y (I - G/L) + B/L``).
Samples are processed in blocks that fit in cache; inside a block, samples
that have converged are dropped, and momentum is restarted per sample when it
stops helping (O'Donoghue & Candès 2015, gradient scheme). By default each
sample also gets its own step, found by backtracking
(:mod:`v1model.inference.fista_backtracking`): on natural patches about twice
as fast at equal objective as the global step ``1/lambda_max(D D^T)``.
"""

from __future__ import annotations

import numpy as np

from .._blas import blas_threads_for_step, coding_iteration_flops
from ..progress import check_progress, progress_bar
from ..validation import check_choice, check_int, check_positive
from ._common import (
    STEP_MARGIN,
    check_warm_start,
    confirm_by_gap,
    gram_top_eigenvalue,
    history_dataset,
    history_record,
    relative_duality_gaps,
    validate_problem,
    warn_not_converged,
)
from ._dictionary_cache import gram_of, spectral_norm_of, values_of
from .fista_backtracking import fista_block_backtracking

__all__ = ["fista", "ista"]

#: samples per block: big enough for an efficient matmul, small enough that
#: the (block, n_atoms) work arrays stay in cache
BLOCK_SIZE = 2048
#: step-size rules of :func:`fista`
STEPS = ("backtracking", "constant")


def fista(
    X,
    D,
    lam,
    *,
    max_iter: int = 5000,
    tol: float = 1e-4,
    positive: bool = False,
    restart: bool = True,
    accelerated: bool = True,
    step: str = "backtracking",
    A0=None,
    dtype=np.float32,
    return_history: bool = False,
    return_n_iter: bool = False,
    progress: bool | None = None,
    _stats: dict | None = None,
    _names: tuple[str, str] = ("X", "D"),
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
    max_iter : int, default 5000
        Iteration limit.
    tol : float, default 1e-4
        Stop a sample when ``max|a_k+1 - a_k| <= tol * min(max|a_k+1|,
        ||x||^2 / (2 lam))`` (all-zero codes stop when they no longer move)
        and its duality gap (scikit-learn's Lasso's dual point) is at most
        ``tol * ||x||^2``, which then bounds its objective gap.
        The second term bounds every LASSO solution's ``max|a*|``: a warm
        start far larger than any solution, whose steps are small beside its
        own size (an L1 shrink of ``lam / L`` per step), is not taken for
        converged. The step test alone bounds one step, not the objective
        gap: right after a momentum restart the step is a plain ISTA step,
        several times shorter, and it stopped random problems (128 unit
        atoms of 64 features) at relative gaps up to 4e-4; the gap check
        costs nothing with ``step="backtracking"`` (one product per
        candidate with ``"constant"``).
        The default reaches a relative objective gap below 1e-4 on whitened
        natural patches (``tests/inference`` checks it against scikit-learn).
        The test is per sample and uses nothing of the other samples, but at
        float32 a code's rounding depends on which samples share its call
        (BLAS rounded ``X D^T`` differently for one row than for several):
        that rounding can move the step at which a sample stops, as the
        README says for ``SparseDictionaryLearner``. Use float64, or a
        smaller ``tol``, for codes that must not depend on the batch beyond
        rounding.
    positive : bool, default False
        Non-negative LASSO.
    restart : bool, default True
        Adaptive momentum restart (FISTA only).
    accelerated : bool, default True
        False gives plain ISTA.
    step : {"backtracking", "constant"}, default "backtracking"
        ``"backtracking"``: a step ``1/L_i`` per sample, tried 10% longer every
        iteration and halved where it breaks the quadratic upper bound (never
        shorter than the constant step). ``"constant"``: ``1/lambda_max(D D^T)``
        for every sample, the textbook scheme.
    A0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Warm start; ``(n_atoms,)`` for a single sample. With ``positive`` its
        negative entries are set to zero (the projection onto the feasible set,
        as in every solver here; the codes do not depend on the start).
    dtype : {float32, float64}, default float32
        Working precision.
    return_history : bool, default False
        Also return an xarray Dataset over ``iteration`` with objective, data
        term, penalty and mean active count (costs one extra matmul per
        iteration and runs all samples as one block).
    return_n_iter : bool, default False
        Also return the number of iterations run (the largest over blocks).
    progress : bool or None, default None
        Show a tqdm bar over the samples: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.
    _stats : dict, optional
        Private (benchmarks, tests): receives work counters.
    _names : (str, str), default ("X", "D")
        Private (front doors that pass their own arguments): the names of
        ``X`` and ``D`` in error messages, e.g. ``("X", "dictionary")`` for a
        network's own dictionary, which its caller never passed.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms)
        Codes in ``dtype`` (``(1, n_atoms)`` for a single sample).
    history : xarray.Dataset, optional
        With ``return_history``: dim ``iteration``. Its attrs hold the run's
        settings (``restart`` only with ``accelerated``: ISTA has no momentum).
    n_iter : int, optional
        With ``return_n_iter``.

    Raises
    ------
    ValueError
        For invalid ``X``/``D``/``A0``, ``lam < 0``, an unknown ``step`` or
        ``dtype``, or a non-positive ``max_iter`` or ``tol``.

    See Also
    --------
    v1model.inference.lasso_active_set : Exact (KKT-checked) codes at about the
        speed of this function's default (``benchmarks/README.md``).

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
    array([[2. , 0. , 0. , 0.5]], dtype=float32)
    """
    X, D, lam, dtype = validate_problem(X, D, lam, dtype, flags=dict(
        positive=positive, restart=restart, accelerated=accelerated,
        return_history=return_history, return_n_iter=return_n_iter),
        x_name=_names[0], d_name=_names[1])
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    n, k = X.shape[0], D.shape[0]
    A0 = check_warm_start(A0, (n, k), dtype, positive=positive)
    check_choice(step, "step", STEPS)
    check_progress(progress)
    name = "fista" if accelerated else "ista"
    # D D^T and its top eigenvalue, kept for the next call with the same dictionary
    # (_dictionary_cache: a one-sample call on 1024 x 256 atoms spent most of its CPU
    # on them); G is read-only, shared with the calls to come
    values = values_of(D)
    G = gram_of(values, dtype)
    A = np.zeros((n, k), dtype) if A0 is None else np.array(A0, dtype=dtype)
    records = None
    if return_history:
        records = [history_record(X, D, A, lam)]

        def on_iter(rows, A_rows):  # rows is all samples when recording
            records.append(history_record(X, D, A_rows, lam))
    else:
        on_iter = None
    block = n if return_history else BLOCK_SIZE
    if _stats is not None:  # counts of this call only
        _stats["matmul_rows"] = 0
    # from G itself where it is the smaller Gram: not a second D D^T and eigvalsh's copy
    L = spectral_norm_of(values, dtype, G)
    n_iter, left_rows = 0, []
    # B = X D^T one block at a time (samples are independent): not an (n, n_atoms) array;
    # one BLAS thread when an iteration's products are small (v1model._blas, as lca)
    with blas_threads_for_step(coding_iteration_flops(min(n, block), k, D.shape[1])), \
            progress_bar(progress, total=n, desc=name) as bar:
        for start in range(0, n, block):
            rows = slice(start, min(start + block, n))
            # ||x||^2 once: the code bound and the duality gap both read it
            sq_norms = np.einsum("ij,ij->i", X[rows], X[rows], dtype=np.float64)
            it, _ = fista_iterate(
                A[rows], X[rows] @ D.T, G, lam, max_iter=max_iter, tol=tol, positive=positive,
                restart=restart, accelerated=accelerated, block_size=block, L=L,
                on_iter=on_iter, step=step, stats=_stats,
                code_bound=_bound_from_sq_norms(sq_norms, lam, dtype), sq_norms=sq_norms,
                left_rows=left_rows, row_offset=start,
            )
            n_iter = max(n_iter, it)
            bar.update(rows.stop - rows.start)
    if _stats is not None:  # the products B = X D^T and G = D D^T
        _stats["flops"] = (2.0 * _stats.get("matmul_rows", 0) * k * k
                           + 2.0 * (n + k) * k * D.shape[1])
    left = np.concatenate(left_rows) if left_rows else np.zeros(0, np.intp)
    if left.size:  # named, so that a user can find them (as lasso_cd's)
        warn_not_converged(name, max_iter, left.size, n, samples=left,
                           gaps=relative_duality_gaps(X[left], D, A[left], lam, positive))
    out = [A]
    if return_history:
        # restart only with momentum: ISTA's history read restart=1 for a run without it
        momentum = dict(restart=int(restart)) if accelerated else {}
        out.append(history_dataset(records, name, lam=lam, tol=tol, positive=int(positive),
                                   step=step, max_iter=max_iter, **momentum,
                                   accelerated=int(accelerated), dtype=dtype))
    if return_n_iter:
        out.append(n_iter)
    return out[0] if len(out) == 1 else tuple(out)


def ista(X, D, lam, **kwargs):
    """Plain iterative shrinkage-thresholding: :func:`fista` with ``accelerated=False``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    lam : float
        L1 penalty, >= 0.
    **kwargs
        Keyword arguments of :func:`fista`; ``max_iter`` defaults to 20000
        here (ISTA converges more slowly). ``tol`` is FISTA's rule on the
        change per iteration, and ISTA's shorter moves meet it further from
        the optimum: relative gaps of 2e-5 (backtracking) and 1.7e-4
        (``step="constant"``) at ``lam=0.1`` on whitened 8x8 patches with 128
        data-initialised atoms, against FISTA's 6e-7 and 5e-6, measured
        before the rule's duality-gap check (which caps every gap at ``tol *
        ||x||^2``); lower ``tol`` for the same accuracy.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms)
        Codes, followed by the optional outputs of :func:`fista`.
    """
    kwargs.setdefault("max_iter", 20000)
    return fista(X, D, lam, accelerated=False, **kwargs)


def fista_iterate(A, B, G, lam, *, max_iter, tol, positive=False, restart=True,
                  accelerated=True, block_size=BLOCK_SIZE, L=None, on_iter=None,
                  check_every=1, step="constant", stats=None, code_bound=None,
                  sq_norms=None, left_rows=None, row_offset=0):
    """(F)ISTA iterations on precomputed ``B = X D^T`` and ``G = D D^T``, in place.

    Updates ``A`` (n, k) row block by row block. With ``tol=0`` every sample
    runs exactly ``max_iter`` iterations (a fixed-length warm start). ``L`` is
    the largest eigenvalue of ``G`` (computed when not given). ``step`` is
    ``"constant"`` (``1/L``) or ``"backtracking"`` (one step per sample, see
    :mod:`v1model.inference.fista_backtracking`; ``check_every`` is then 1).
    ``stats``, a dict, receives ``matmul_rows``: rows multiplied by ``G``.
    ``code_bound`` (n,), optional (:func:`code_bound`), caps the code size the
    ``tol`` test is relative to. ``sq_norms`` (n,), optional, the samples'
    ``||x||^2``: given, a sample that meets the ``tol`` test stops only when its
    duality gap is at most ``tol * ||x||^2`` too
    (:func:`v1model.inference._common.duality_gap_met`). ``left_rows``, a list,
    optional, receives an array per row block of the rows that did not meet ``tol``,
    numbered from ``row_offset`` (the first row of ``A`` in the caller's ``X``).

    Returns
    -------
    n_iter : int
        Largest number of iterations run by a block.
    n_left : int
        Samples that did not meet ``tol``.
    """
    n, k = A.shape
    dtype = A.dtype
    if L is None:
        L = gram_top_eigenvalue(G)
    L *= STEP_MARGIN
    n_iter_max, n_left = 0, 0
    if step == "constant":
        # Z = Y - (Y G - B) / L = Y (I - G / L) + B / L : one matmul, one add; M built
        # in place (eye(k) - G / L held eye and G / L beside G: three Gram-sized arrays;
        # the same values, as 0 - x = -x and 1 - x = -x + 1 exactly)
        M = G * dtype.type(-1.0 / L)
        M[np.diag_indices(k)] += dtype.type(1.0)
        thr = dtype.type(lam / L)
    for start in range(0, n, block_size):
        rows = np.arange(start, min(start + block_size, n))
        if step == "backtracking":
            it, left = fista_block_backtracking(
                A, B, G, lam, rows, L, max_iter=max_iter, tol=tol, positive=positive,
                restart=restart, accelerated=accelerated, on_iter=on_iter, stats=stats,
                code_bound=code_bound, sq_norms=sq_norms)
        else:
            it, left = _fista_block(A, B, M, thr, 1.0 / L, rows, max_iter, tol, positive,
                                    restart, accelerated, on_iter, check_every, stats,
                                    code_bound, G, lam, sq_norms)
        n_iter_max, n_left = max(n_iter_max, it), n_left + left.size
        if left_rows is not None and left.size:
            left_rows.append(row_offset + left)
    return n_iter_max, n_left


def _fista_block(A, B, M, thr, step, rows, max_iter, tol, positive, restart, accelerated,
                 on_iter, check_every, stats=None, code_bound=None, G=None, lam=0.0,
                 sq_norms=None):
    dtype = A.dtype
    Sw = _bound_rows(code_bound, rows, dtype)
    XXw = None if sq_norms is None or lam <= 0 else np.asarray(sq_norms)[rows]
    Aw = A[rows]  # working copies of the rows still iterating
    Yw = Aw.copy()
    Bs = B[rows] * dtype.type(step)
    t = np.ones(len(rows))
    live = rows.copy()
    Z = np.empty_like(Aw)
    it = 0
    for it in range(1, max_iter + 1):
        np.matmul(Yw, M, out=Z)
        if stats is not None:
            stats["matmul_rows"] = stats.get("matmul_rows", 0) + Yw.shape[0]
        Z += Bs
        if positive:
            Z -= thr
            np.maximum(Z, 0, out=Z)
        else:
            clipped = np.clip(Z, -thr, thr)
            Z -= clipped
        A_new = Z
        diff = np.subtract(A_new, Aw, out=Aw)  # Aw is reused as the step buffer
        if accelerated:
            if restart:
                # restart where the step goes against the momentum
                Yw -= A_new
                bad = np.einsum("ij,ij->i", Yw, diff) > 0
                t[bad] = 1.0
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = ((t - 1.0) / t_new).astype(dtype)
            np.multiply(diff, beta[:, None], out=Yw)
            Yw += A_new
            t = t_new
        else:
            np.copyto(Yw, A_new)
        if on_iter is not None:
            A[live] = A_new
            on_iter(live, A)
        done = None
        if tol > 0 and (it % check_every == 0 or it == max_iter):
            change = np.abs(diff).max(axis=1)
            # the floor only lets all-zero codes stop: the test is relative at any scale
            scale = np.maximum(np.minimum(np.abs(A_new).max(axis=1), Sw),
                               np.finfo(A_new.dtype).tiny)
            done = change <= tol * scale
            # one more product per candidate: G a for its duality gap
            extra = confirm_by_gap(done, A_new, None, B, XXw, lam, tol, positive, G=G,
                                   B_rows=live)
            if stats is not None and extra:
                stats["matmul_rows"] = stats.get("matmul_rows", 0) + extra
        # swap buffers: the new iterate becomes Aw, the old buffer becomes Z
        Aw, Z = A_new, Aw
        if done is not None and done.any():
            A[live[done]] = Aw[done]
            keep = ~done
            live, Aw, Yw, Bs, t, Sw = (live[keep], Aw[keep], Yw[keep], Bs[keep], t[keep],
                                       Sw[keep])
            XXw = None if XXw is None else XXw[keep]
            Z = np.empty_like(Aw)
            if live.size == 0:
                return it, live
    A[live] = Aw
    return it, (live if tol > 0 else live[:0])


def code_bound(X, lam, dtype):
    """Largest code entry a LASSO solution can have, per sample: ``||x||^2 / (2 lam)``.

    Any solution ``a*`` has ``lam ||a*||_1 <= E(a*) <= E(0) = ||x||^2 / 2``, so
    ``max|a*|`` is at most this (``inf`` at ``lam = 0``). The stopping rules
    measure steps relative to ``min(max|a|, code_bound)``: an iterate larger
    than any solution (a warm start far off) does not make its steps look small.
    """
    X = np.asarray(X, dtype=np.float64)
    return _bound_from_sq_norms(np.einsum("ij,ij->i", X, X), lam, dtype)


def _bound_from_sq_norms(sq_norms, lam, dtype):
    """:func:`code_bound` from the samples' ``||x||^2`` (float64)."""
    if lam <= 0:
        return np.full(len(sq_norms), np.inf, dtype)
    bound = 0.5 * sq_norms / lam
    return np.minimum(bound, float(np.finfo(dtype).max)).astype(dtype)


def _bound_rows(code_bound, rows, dtype):
    """``code_bound[rows]``, or ``inf`` everywhere when no bound is given."""
    if code_bound is None:
        return np.full(len(rows), np.inf, dtype)
    return np.asarray(code_bound, dtype=dtype)[rows]
