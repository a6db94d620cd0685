"""Iterative hard thresholding (Blumensath & Davies 2008, 2009), batched over samples.

    a <- H(a + mu * D (x - D^T a)),     mu = 1 / lambda_max(D D^T)

with ``H`` keeping the ``n_nonzero`` largest coefficients of each sample
(sparsity-constrained least squares), or zeroing those below ``lam *
sqrt(mu)`` (the proximal step of the penalty ``lam^2 / 2 * ||a||_0``, the
objective whose local minima the hard-threshold LCA also finds). This is
Blumensath & Davies' penalised iteration on the rescaled dictionary
``sqrt(mu) D`` (their ``||Phi|| < 1`` with unit step): their ``lambda`` is
``mu * lam^2`` here. ``D`` is the unit-norm atoms (a dictionary of other norms is
normalised, and its codes divided by the norms). Its fixed points are not the LCA's:
see :func:`iht`, Notes.
"""

from __future__ import annotations

import numpy as np

from ..progress import check_progress, progress_bar
from ..validation import check_int, check_positive
from ._common import (
    STEP_MARGIN,
    check_warm_start,
    history_dataset,
    history_record,
    spectral_norm_gram,
    validate_problem,
    warn_not_converged,
)
from ._dictionary_cache import values_of

__all__ = ["iht"]


def iht(X, D, n_nonzero=None, *, lam=None, positive=False, tol=1e-4, max_iter=1000, A0=None,
        dtype=np.float32, return_history=False, return_n_iter=False, progress=None,
        _names=("X", "D")):
    """Iterative hard thresholding codes.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row, of any (non-zero) norms: the iteration
        runs on the unit-norm atoms ``d_j / ||d_j||`` and the codes are
        divided by the norms, as OMP's and MP's are, so that they do not
        depend on the atoms' lengths (both problems, the sparsity-constrained
        one and the ``lam`` one, are unchanged by rescaling an atom and its
        coefficient). Before 2026-12-08 the step and the threshold acted on the
        raw coefficients, with a warning: 40 random atoms in 20 dimensions,
        half of norm 2 and half of norm 0.5, and the long ones took all
        ``n_nonzero=4`` places in 10 codes, the short ones none.
    n_nonzero : int, optional
        Keep this many coefficients per sample (at most ``n_atoms``).
    lam : float, optional
        Instead of ``n_nonzero``: the weight of the penalised problem
        ``0.5 ||x - D^T a||^2 + lam^2 / 2 * ||a||_0`` (the hard-threshold
        LCA's energy at threshold ``lam``); each step zeroes coefficients of
        the unit-norm atoms at or below ``lam * sqrt(mu)``. Exactly one of the two. The codes are
        sparser than the hard-threshold LCA's at the same ``lam`` (Notes).
    positive : bool, default False
        Keep only positive coefficients.
    tol : float, default 1e-4
        Stop a sample when ``max|a_k+1 - a_k| <= tol * max|a_k+1|`` and the
        step moves the reconstruction ``D^T a`` by at most ``10 tol`` of its
        largest entry (the second test only holds back warm starts with
        large codes along the null space of ``D^T``, which IHT never shrinks:
        their steps look small beside the codes).
    max_iter : int, default 1000
        Iteration limit.
    A0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Starting point (default zeros); ``(n_atoms,)`` for a single sample. With ``positive`` its
        negative entries are set to zero (the projection onto the feasible set,
        as in every solver here, which the first step applies anyway).
    dtype : {float32, float64}, default float32
        Working precision.
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (objective with the L0 penalty
        when ``lam`` is given, data term only otherwise).
    return_n_iter : bool, default False
        Also return the number of iterations run.
    progress : bool or None, default None
        Show a tqdm bar over the samples as they stop: None once the call
        has run 2 s (:mod:`v1model.progress`), True at once, False never.
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
    n_iter : int, optional
        With ``return_n_iter``.

    Raises
    ------
    ValueError
        Unless exactly one of ``n_nonzero`` and ``lam`` is given; for
        ``n_nonzero > n_atoms``, invalid ``X``/``D``/``A0``, or a
        non-positive ``tol`` or ``max_iter``.

    Notes
    -----
    Here ``D`` stands for the unit-norm atoms and ``mu = 1 / lambda_max(D D^T)``
    for theirs. With ``lam``, a fixed point keeps ``|a_j| > lam sqrt(mu)`` on its support,
    where the residual is orthogonal to the atoms, and has ``|c_j| <= lam /
    sqrt(mu)`` off it (``c = D (x - D^T a)``). Both are local minima of the
    L0 energy, but for unit-norm atoms the hard-threshold LCA's fixed points
    let no atom with ``|c_j| > lam`` stay out: an atom may enter IHT's code
    only when its correlation passes ``lam sqrt(lambda_max(D D^T))``, and
    IHT stops at minima that adding one atom would improve. The two agree
    for an orthonormal dictionary; on overcomplete ones IHT at ``lam`` gives
    far sparser codes of higher energy (300 whitened 8x8 patches, 128
    data-initialised unit atoms, ``lambda_max = 12.5``: at ``lam = 0.5``,
    1.4 active atoms per patch and mean energy 1.82 against the LCA's 4.0
    and 1.02; at ``lam = 1``, 0.06 against 1.4). Match sparsity by
    ``n_nonzero``, or use :func:`~v1model.inference.lca` with
    ``threshold="hard"`` for the LCA's fixed points.

    References
    ----------
    Blumensath, T. & Davies, M. E. (2008). Iterative thresholding for sparse
    approximations. J. Fourier Anal. Appl. 14, 629-654.
    Blumensath, T. & Davies, M. E. (2009). Iterative hard thresholding for
    compressed sensing. Appl. Comput. Harmon. Anal. 27, 265-274.
    """
    if (n_nonzero is None) == (lam is None):
        raise ValueError("iht needs exactly one of n_nonzero (atoms per sample) and lam "
                         f"(hard threshold); got n_nonzero={n_nonzero!r}, lam={lam!r}")
    X, D, lam_checked, dtype = validate_problem(
        X, D, 0.0 if lam is None else lam, dtype, flags=dict(
            positive=positive, return_history=return_history, return_n_iter=return_n_iter),
        x_name=_names[0], d_name=_names[1])
    n, k = X.shape[0], D.shape[0]
    if n_nonzero is not None:
        n_nonzero = check_int(n_nonzero, "n_nonzero", minimum=1)
        if n_nonzero > k:
            raise ValueError(f"n_nonzero={n_nonzero} exceeds the number of atoms n_atoms={k}")
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    check_progress(progress)
    A0 = check_warm_start(A0, (n, k), dtype, positive=positive)
    # I - mu U U^T (U the unit-norm atoms), mu and the atoms' norms, kept for the next
    # call with the same dictionary (_dictionary_cache: their Gram matrix and its top
    # eigenvalue were most of a one-sample call); M is read-only, shared with the calls
    # to come
    M, mu, norms = values_of(D).get(("iht_step", dtype.name), _step_matrix_of(dtype))
    # the iteration runs on the unit-norm atoms' codes A * norms, divided by the norms
    # at the end: a step and a threshold on the raw coefficients let long atoms crowd out
    # short ones (the problem itself does not depend on the atoms' lengths). D is not
    # copied: its products take the codes divided by the norms
    if A0 is not None:
        A0 = A0 * norms
    Bs = (X @ D.T) * (dtype.type(mu) / norms)
    thr = None if lam is None else dtype.type(lam_checked * np.sqrt(mu))
    kind = "hard" if lam is not None else "soft"  # penalty used in the history
    A = np.zeros((n, k), dtype) if A0 is None else np.array(A0, dtype=dtype)
    live = np.arange(n)
    records = [_record(X, D, A / norms, lam_checked, kind)] if return_history else None
    it = 0
    with progress_bar(progress, total=n, desc="iht") as bar:
        for it in range(1, max_iter + 1):
            Al = A[live]
            Z = Al @ M
            Z += Bs[live]
            if positive:
                np.maximum(Z, 0, out=Z)
            if thr is not None:
                Z[np.abs(Z) <= thr] = 0
            else:
                _keep_largest(Z, n_nonzero)
            change = np.abs(Z - Al).max(axis=1)
            A[live] = Z
            if return_history:
                records.append(_record(X, D, A / norms, lam_checked, kind))
            done = change <= tol * np.maximum(np.abs(Z).max(axis=1), np.finfo(Z.dtype).tiny)
            if done.any():
                done[done] = _step_small_in_signal_space(Z[done] / norms, Al[done] / norms,
                                                         D, tol)
            live = live[~done]
            bar.update(int(done.sum()))
            if live.size == 0:
                break
        else:
            if live.size:
                warn_not_converged("iht", max_iter, live.size, n, samples=live)
    A /= norms
    out = [A]
    if return_history:
        out.append(history_dataset(records, "iht", n_nonzero="None" if n_nonzero is None
                                   else n_nonzero, lam="None" if lam is None else lam,
                                   positive=int(positive), tol=tol, max_iter=max_iter,
                                   dtype=dtype))
    if return_n_iter:
        out.append(it)
    return out[0] if len(out) == 1 else tuple(out)


def _step_matrix_of(dtype):
    """``D -> (M, mu, norms)`` for ``D`` cast to ``dtype``, with ``U`` its unit-norm
    atoms: the iteration matrix ``M = I - mu U U^T`` (n_atoms, n_atoms) in ``dtype``, the
    step ``mu = 1 / (lambda_max(U U^T) * STEP_MARGIN)`` and the atoms' norms (n_atoms,)
    in ``dtype``."""
    def step_matrix(D):
        Dw = np.ascontiguousarray(D, dtype=dtype)
        G = Dw @ Dw.T
        norms = np.sqrt(np.diag(G))
        G /= norms[:, None]  # U U^T in place
        G /= norms
        # from G where it is the smaller Gram (else from U, the size of D: smaller than G
        # then); M overwrites G, which nothing reads past here: eye(k) - mu G beside G
        # held three Gram-sized arrays (the same values: 0 - x = -x and 1 - x = -x + 1
        # exactly)
        k, p = Dw.shape
        mu = 1.0 / (spectral_norm_gram(Dw if k <= p else Dw / norms[:, None], G)
                    * STEP_MARGIN)
        M = G
        del G
        M *= dtype.type(-mu)
        M[np.diag_indices(M.shape[0])] += dtype.type(1.0)
        return M, mu, norms

    return step_matrix


#: the reconstruction's step may be this many times ``tol`` of its size when the codes'
#: step passes ``tol`` (stops from zeros on natural patches reach ~2)
SIGNAL_SLACK = 10.0


def _step_small_in_signal_space(Z, A, D, tol):
    """Which rows' step ``Z - A`` also moves the reconstruction ``Z D`` by at most
    ``SIGNAL_SLACK * tol`` of its largest entry.

    The hard threshold never shrinks a code along the null space of ``D^T``: a warm
    start with large such components made every step small beside the codes while the
    reconstruction was still moving (``A0 = 1e3`` on 6 atoms in 4 dimensions: a stop
    40% above the fixed point's energy, the reconstruction's step 670 ``tol`` of its
    size). Checked only for rows that pass the test on the codes (each sample once, as
    a rule)."""
    step = np.abs((Z - A) @ D).max(axis=1)
    size = np.abs(Z @ D).max(axis=1)
    return step <= SIGNAL_SLACK * tol * np.maximum(size, np.finfo(Z.dtype).tiny)


def _keep_largest(Z, n_keep):
    """Zero all but the ``n_keep`` largest-magnitude entries of each row, in place."""
    k = Z.shape[1]
    if n_keep >= k:
        return
    drop = np.argpartition(np.abs(Z), k - n_keep, axis=1)[:, : k - n_keep]
    np.put_along_axis(Z, drop, 0, axis=1)


def _record(X, D, A, lam, kind):
    rec = history_record(X, D, A, lam, "hard" if kind == "hard" else "soft")
    if kind != "hard":  # sparsity-constrained: the objective is the data term
        rec["objective"] = rec["data_term"]
        rec["penalty"] = 0.0
    return rec
