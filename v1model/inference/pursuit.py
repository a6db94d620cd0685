"""Greedy sparse coding: Matching Pursuit and Orthogonal Matching Pursuit.

Both are batched over samples: one step selects one atom for every sample at
once, so the work per step is a few matrix products on the whole batch, not a
Python loop over samples.

- :func:`matching_pursuit` (Mallat & Zhang 1993) adds the projection on the
  best atom and updates the correlations with one row of the Gram matrix.
- :func:`orthogonal_mp` (Pati, Rezaiifar & Krishnaprasad 1993) keeps the
  residual orthogonal to every selected atom. It is Batch-OMP (Rubinstein,
  Zibulevsky & Elad 2008): everything happens on the Gram matrix, whose
  Cholesky factor on the selected atoms grows by one row per step, and the
  correlations with the residual are updated with one Gram row and
  ``O(i * n_atoms)`` work per sample and step; the coefficients come from one
  batched back-substitution at the end.

Non-negative variants: NN-MP picks the largest positive correlation; NN-OMP
(Bruckstein, Elad & Zibulevsky 2008) also keeps the coefficients
non-negative by solving the non-negative least-squares problem on the support
after each selection (Lawson-Hanson steps warm-started from the previous
coefficients), and drops atoms whose coefficient reaches zero (or its
rounding).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._frames import user_stacklevel
from ..progress import check_progress, progress_bar
from ..validation import check_int, check_nonnegative
from . import _common
from ._dictionary_cache import gram_of, values_of
from ._common import (ConvergenceWarning, current_tally, describe_pairs, duplicate_pairs,
                      discard_not_converged, history_dataset, knob, limit_knob, rows_of_x,
                      shortfall_stacklevel, validate_problem)

__all__ = ["matching_pursuit", "orthogonal_mp"]


def _check_pursuit(X, D, n_nonzero, tol, dtype, method, cap_features, flags, names):
    X, D, _, dtype = validate_problem(X, D, 0.0, dtype, flags=flags, x_name=names[0],
                                      d_name=names[1])
    n_atoms, n_features = D.shape
    if n_nonzero is None and tol is None:
        raise ValueError(f"{method} needs n_nonzero (atoms per sample) or tol (squared "
                         "residual norm to reach), got neither")
    limit = min(n_atoms, n_features) if cap_features else n_atoms
    if n_nonzero is not None:
        n_nonzero = check_int(n_nonzero, "n_nonzero", minimum=1)
        if n_nonzero > n_atoms:
            raise ValueError(f"n_nonzero={n_nonzero} exceeds the number of atoms "
                             f"n_atoms={n_atoms}")
        if n_nonzero > limit:
            raise ValueError(f"n_nonzero={n_nonzero} exceeds n_features={n_features}: {method} "
                             "cannot select more linearly independent atoms than features")
    else:
        n_nonzero = limit
    if tol is not None:
        tol = check_nonnegative(tol, "tol")
        _check_tol_resolution(X, tol, dtype, method)
    return X, D, n_nonzero, tol, dtype


def _check_tol_resolution(X, tol, dtype, method, tol_name="tol"):
    """Refuse a ``tol`` below the rounding of the squared residual of every sample of
    ``X`` in ``dtype``, ``(ROUNDOFF_UNITS eps ||x||)^2`` per sample (no sample could meet
    it), and warn once (``UserWarning``) of the rows whose own floor is above ``tol``
    when others can meet it: those run to their step limit. With ``tol=0`` every
    sample (20 of 20, unit atoms 32 x 16, float32 and float64 alike) ran to its step
    limit and was then warned of with the advice to raise ``max_iter``; in float32,
    ``tol`` at 1e-2 of that floor still left 6 of 20 samples above it (OMP, after its
    float64 pass). The floor of the largest sample alone refused a ``tol`` that every
    other sample met when one outlier had 1e6 times their energy.
    ``tol_name``: the caller's name of ``tol`` (a learner's ``method_params['tol']``,
    checked on all of its ``X`` before the minibatches, whose rows are not the user's;
    inside a learner's run the solver's calls on its minibatches are not checked again).
    """
    if current_tally() is not None and tol_name == "tol":
        return  # a learner's minibatch: the learner checked all of its X up front
    res2 = _row_norms2(X)
    if res2.size == 0:
        return
    unit = (ROUNDOFF_UNITS * float(np.finfo(dtype).eps)) ** 2
    floors = unit * res2
    above = np.flatnonzero(floors > tol)
    if above.size == 0:
        return
    if above.size < res2.size:  # some samples can meet tol: run, and say which cannot
        worst = int(above[np.argmax(res2[above])])
        warnings.warn(
            f"{method}: {tol_name}={tol!r} is below the resolution of "
            f"{np.dtype(dtype).name} for {above.size} of {res2.size} samples "
            f"({rows_of_x(above)}): the squared residual of a sample is known only to "
            f"({ROUNDOFF_UNITS} eps ||x||)^2 (up to {floors[worst]:.2g}, units of X squared, "
            f"for row {worst}, ||x||^2={res2[worst]:.3g}), so they will run to their step "
            f"limit; pass {tol_name} >= {floors[worst]:.2g}, or scale those samples down",
            UserWarning, stacklevel=user_stacklevel())
        return
    row = int(np.argmin(res2))  # the sample nearest to meeting tol
    floor = floors[row]
    finer = ("" if np.dtype(dtype) == np.float64 else
             f", or dtype=np.float64 (there {tol_name} >= "
             f"{(ROUNDOFF_UNITS * float(np.finfo(np.float64).eps)) ** 2 * res2[row]:.2g})")
    raise ValueError(
        f"{method}: {tol_name}={tol!r} is below the resolution of {np.dtype(dtype).name} "
        f"for every sample of X: the squared residual of even the smallest, row {row} of X "
        f"(||x||^2={res2[row]:.3g}), is known only to ({ROUNDOFF_UNITS} eps ||x||)^2 = "
        f"{floor:.2g} (units of X squared), and samples would run to their step limit; "
        f"pass {tol_name} >= {floor:.2g} (e.g. 1e-6 * ||x||^2 = {1e-6 * res2[row]:.2g})"
        f"{finer}")


def matching_pursuit(X, D, n_nonzero=None, *, tol=None, positive=False, max_iter=None,
                     dtype=np.float32, return_history=False, progress=None,
                     _names=("X", "D")):
    """Matching Pursuit codes, batched over samples.

    Each step picks, for every sample, the atom with the largest normalised
    correlation with the residual and adds the projection on it; an atom can
    be picked again. The residual norm never increases.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (any non-zero norms).
    n_nonzero : int, optional
        Stop a sample when its code has this many non-zero coefficients
        (distinct atoms: an atom picked again does not count twice, so a
        sample may take more steps than ``n_nonzero``; ``max_iter`` bounds
        the steps, which are what Mallat & Zhang count). A sample also stops
        once no correlation is above its own rounding (``16 eps |x| . |d_j|
        / ||d_j||``, :data:`ROUNDOFF_UNITS`): a signal already coded exactly
        gets no atoms of ~1e-8 (float32) for the residual's rounding, while a
        weak component beside a strong one is still taken.
    tol : float, optional
        Stop a sample when its squared residual norm ``||x - D^T a||^2`` is at
        most ``tol`` (units of X squared, not relative: scale it with ``X``;
        scikit-learn's convention for ``orthogonal_mp``), tested
        before every step: a sample with ``||x||^2 <= tol`` gets no atom. With
        ``tol`` alone, the number of atoms is not limited; with
        ``n_nonzero`` as well, a sample stops at whichever comes first. The
        residual tracked step by step is checked against the exact one at the
        end: a sample that rounding left above ``tol`` is solved again in
        float64.
    positive : bool, default False
        Non-negative MP: pick the largest positive correlation; stop when none
        is positive.
    max_iter : int, optional
        Step limit (default ``10 * n_nonzero``, or ``10 * n_atoms`` with
        ``tol`` alone). Samples it stops short of ``n_nonzero`` atoms (or above
        ``tol``) are warned of (``ConvergenceWarning``): on coherent atoms MP
        takes many steps per new atom.
    dtype : {float32, float64}, default float32
        Working precision.
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (step) with objective = data
        term ``0.5 ||x - D^T a||^2`` summed over samples, penalty (zero) and
        mean active count; ``iteration`` k holds the codes after k steps (0:
        the start). ``returned_objective``, ``returned_data_term`` and
        ``returned_n_active`` (no ``iteration`` dim) give the returned codes'
        exact data term (float64, from ``X`` and ``D`` in ``dtype``) and active
        count. They are the last entry's, unless samples that float32 rounding
        left above ``tol`` were solved again in float64 after the steps (their
        number in ``attrs["n_recoded"]``): the steps' entries are then the
        float32 pass's.
    progress : bool or None, default None
        A tqdm bar over the samples, coded in chunks of
        :data:`~v1model.inference._common.SOLVER_CHUNK` (bit-identical to one
        chunk: the product ``X D^T`` is made once for all the rows; calls on
        another split of the rows can differ at rounding level, as BLAS may
        round a row's product differently for another number of rows, e.g. a
        single row): None shows it once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never. With
        ``return_history``, one chunk.
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

    Raises
    ------
    ValueError
        With neither ``n_nonzero`` nor ``tol``, for ``n_nonzero > n_atoms``,
        a negative ``tol``, a ``tol`` below the resolution of ``dtype`` for
        every sample (``(16 eps ||x||)^2``: ``tol=0`` ran every sample
        to ``max_iter``), or invalid ``X``/``D``.

    Warns
    -----
    UserWarning
        For a ``tol`` below the resolution of some samples but not all, naming
        those rows (they run to ``max_iter``).
    ConvergenceWarning
        For samples that end above ``tol``, or, without ``tol``, that used
        all ``max_iter`` steps with fewer than ``n_nonzero`` atoms while atoms
        still lowered their residual, naming their rows.

    References
    ----------
    Mallat, S. G. & Zhang, Z. (1993). Matching pursuits with time-frequency
    dictionaries. IEEE Trans. Signal Process. 41, 3397-3415.
    """
    only_tol = n_nonzero is None
    X, D, n_nonzero, tol, dtype = _check_pursuit(X, D, n_nonzero, tol, dtype,
                                                  "matching_pursuit", cap_features=False,
                                                  flags=dict(positive=positive,
                                                             return_history=return_history),
                                                  names=_names)
    max_iter = 10 * n_nonzero if max_iter is None else check_int(max_iter, "max_iter", minimum=1)
    if only_tol:  # atoms may be picked again until the residual is small enough
        n_nonzero = np.iinfo(np.intp).max
    check_progress(progress)
    n, k = X.shape[0], D.shape[0]
    # kept for the next call (_dictionary_cache)
    G = gram_of(values_of(D), D.dtype)
    norms = np.sqrt(np.diag(G)).astype(dtype)
    inv_sq = (1.0 / np.diag(G)).astype(dtype)
    alpha = X @ D.T  # correlations of the residual with every atom
    A = np.zeros((n, k), dtype)
    res2 = _row_norms2(X)
    count = np.zeros(n, np.intp)
    records = [_pursuit_record(res2, count)] if return_history else None
    # chunks of samples, for the bar (each sample's steps are its own); the history
    # sums every sample at each step: one chunk
    chunk = n if return_history else _common.SOLVER_CHUNK
    out_of_steps = []  # rows still short of their stop when max_iter ran out
    last_drop = np.zeros(n)  # what each row's last step took off its squared residual
    with progress_bar(progress, total=n, desc="matching_pursuit") as bar:
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            live = np.arange(start, stop)
            if tol is not None:
                live = live[res2[live] > tol]
            out_of_steps.append(_mp_steps(X, D, G, norms, inv_sq, alpha, A, res2, count, live,
                                          max_iter, n_nonzero, tol, positive, records,
                                          last_drop))
            bar.update(stop - start)
    if tol is None:  # with tol, the samples left above it are warned of below
        rows = np.concatenate(out_of_steps)
        # a sample that re-picks the atoms of its code, its residual settled (all the
        # signal it can code: with positive=True, often with few atoms), is done
        moving = last_drop[rows] > STILL_MOVING * _row_norms2(X[rows])
        _warn_steps_used_up(rows[moving], n, max_iter, n_nonzero)
    n_recoded = 0
    if tol is not None:  # n_nonzero alone is a cap ("at most"), not a target
        res2, recoded = _meet_tol_exactly(matching_pursuit, X, D, A, res2, tol, records,
                                          positive=positive,
                                          n_nonzero=None if only_tol else n_nonzero,
                                          max_iter=max_iter)
        n_recoded = recoded.size
        # the samples max_iter stopped, for the warning; a sample solved again in float64
        # (it had met tol in float32's rounding) and still above tol ran out of steps
        # there, as far as can be told from here
        at_max_iter = np.zeros(n, bool)
        at_max_iter[np.concatenate(out_of_steps)] = True
        at_max_iter[recoded] = True
        # a sample at n_nonzero atoms counts there (recoded ones too), whatever its steps
        limits = {} if only_tol else {
            "n_nonzero": (n_nonzero, "atoms", np.count_nonzero(A, axis=1) >= n_nonzero)}
        limits["max_iter"] = (max_iter, "steps", at_max_iter)
        _warn_tol_not_met("matching_pursuit", res2, tol, limits, positive)
    if return_history:  # each step's record is of the exact residual (_mp_steps)
        return A, pursuit_history(records, _returned_record(X, D, A), "mp",
                                  n_nonzero="None" if only_tol else n_nonzero,
                                  tol=_attr(tol), positive=int(positive), max_iter=max_iter,
                                  dtype=dtype, n_recoded=n_recoded)
    return A


def _mp_steps(X, D, G, norms, inv_sq, alpha, A, res2, count, live, max_iter, n_nonzero,
              tol, positive, records, last_drop):
    """Matching-pursuit steps for the samples ``live`` (indices into the rows of ``X``,
    ``alpha``, ``A``, ``res2`` and ``count``, which are updated in place), until each
    stops or ``max_iter`` steps; with ``records`` (a list), one history record a step.
    ``last_drop`` (per row of ``X``) gets what each step takes off the squared residual.
    Returns the samples that had not stopped when the ``max_iter`` steps ran out."""
    for _ in range(max_iter):
        if live.size == 0:
            break
        al = alpha[live]
        score = al / norms if positive else np.abs(al) / norms
        j = np.argmax(score, axis=1)
        best = score[np.arange(live.size), j]
        stalled = best <= np.maximum(1e-12 * np.sqrt(res2[live]),
                                     roundoff_floor(X[live], D, norms, j))
        stalled |= best <= 0
        z = al[np.arange(live.size), j] * inv_sq[j]
        z[stalled] = 0
        rows = live
        new = A[rows, j] == 0
        A[rows, j] += z
        count[rows] += new & ~stalled
        alpha[rows] = al - z[:, None] * G[j]
        last_drop[rows] = (z.astype(np.float64) ** 2) * np.diag(G)[j]
        res2[rows] = np.maximum(res2[rows] - last_drop[rows], 0.0)
        done = stalled | (count[rows] >= n_nonzero)
        if tol is not None:
            done |= res2[rows] <= tol
        live = live[~done]
        if records is not None:
            records.append(_pursuit_record(_residual_sq(X, D, A), count))
    return live


#: a sample out of steps is warned of when its last step still took more than this
#: fraction of ``||x||^2`` off its squared residual: on coherent pairs (correlation
#: ~0.999) the last steps took 4e-5 to 1e-3, on random problems whose samples only
#: re-picked the atoms of their code (residual settled, as with positive=True and few
#: positively correlated atoms) at most 8e-9
STILL_MOVING = 1e-6


def _warn_steps_used_up(rows, n_total, max_iter, n_nonzero):
    """Warn that the samples ``rows`` used all ``max_iter`` steps short of ``n_nonzero``
    distinct atoms, their residual still falling (:data:`STILL_MOVING`; a stall stops a
    sample before). MP picks coherent atoms in turn, each step a small part of the
    residual: on 16 atoms in 16 dimensions, pairs of correlation ~0.999, 92 of 200
    samples ended with 8 to 11 of ``n_nonzero=12`` atoms at the default ``10 *
    n_nonzero`` steps, unsaid (every other iterative solver here warns at its limit)."""
    if rows.size == 0:
        return
    what = (f"matching_pursuit used all max_iter={max_iter} steps with fewer than "
            f"n_nonzero={n_nonzero} distinct atoms (an atom picked again takes a step but "
            "adds no atom: coherent atoms are picked in turn), their residual still falling")
    tally = current_tally()
    if tally is not None:  # a learner's minibatch: warned of once, at the run's end
        tally.add(what, rows.size, n_total, f"raise {tally.setting('max_iter', max_iter)}")
        return
    warnings.warn(
        f"{what}: {rows.size} of {n_total} samples ({rows_of_x(np.sort(rows))}); raise "
        f"{limit_knob('max_iter', max_iter)}, or use orthogonal_mp, which takes a new atom "
        "at every step", ConvergenceWarning, stacklevel=shortfall_stacklevel())


def orthogonal_mp(X, D, n_nonzero=None, *, tol=None, positive=False, dtype=np.float32,
                  return_history=False, progress=None, _names=("X", "D")):
    """Orthogonal Matching Pursuit codes, batched over samples.

    Each step picks, for every sample, the atom most correlated with the
    residual (correlations normalised by the atom norms) and projects the
    sample on all the atoms picked so far.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    n_nonzero : int, optional
        Number of atoms per sample (at most ``min(n_atoms, n_features)``);
        default ``min(n_atoms, n_features)`` when only ``tol`` is given. Fewer
        when the signal is coded exactly before: no correlation of the
        residual above its own rounding (``16 eps |x| . |d_j| / ||d_j||``);
        scikit-learn's ``orthogonal_mp`` stops there too, at an absolute
        ``|correlation| < sqrt(eps)``.
    tol : float, optional
        Stop a sample once its squared residual norm is at most ``tol``
        (units of X squared, not relative: scale it with ``X``;
        scikit-learn's ``orthogonal_mp`` meaning of ``tol``). The test comes
        before every step, the first included: a sample with ``||x||^2 <=
        tol`` gets no atom (scikit-learn's always picks at least one). With
        ``n_nonzero`` as well, a sample stops at whichever comes first;
        scikit-learn instead ignores ``n_nonzero_coefs`` when ``tol`` is
        given. The residual tracked step by step is checked against the exact
        one at the end: a sample that rounding left above ``tol`` is solved
        again in float64.
    positive : bool, default False
        Non-negative OMP: select only positive correlations and keep the
        coefficients non-negative (NNLS on the support after each step).
    dtype : {float32, float64}, default float32
        Working precision.
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (step) with the summed data
        term as objective, zero penalty and the mean active count. The steps'
        entries hold the residual each step updates, which drifts by rounding
        (in float32, up to 8% under the exact one near ``tol``); the last
        entry holds the returned codes' exact data term (float64, from ``X``
        and ``D`` in ``dtype``); ``iteration`` k holds the codes after k steps
        (0: the start). ``returned_objective``, ``returned_data_term`` and
        ``returned_n_active`` (no ``iteration`` dim) give the returned codes'
        own, the last entry's unless samples that float32 rounding left above
        ``tol`` were solved again in float64 after the steps (their number in
        ``attrs["n_recoded"]``): the steps' entries are then the float32
        pass's, and the returned codes no step's.
    progress : bool or None, default None
        A tqdm bar over the samples, coded in blocks of rows (those that bound
        the memory of the work arrays, with or without the bar; with
        ``positive``, one block): None shows it once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never. With
        ``return_history``, one block. A block's codes are bit-identical to
        those of a call on the same rows; codes of another split of the rows
        (a single row, or one block for all) can differ at rounding level,
        since each block makes its own product ``X D^T`` and BLAS may round a
        row differently for another number of rows (a single row: 5e-7 to
        1.4e-6 in float32, 128 unit atoms, 64 features, ``n_nonzero=10``).
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

    Raises
    ------
    ValueError
        With neither ``n_nonzero`` nor ``tol``, for ``n_nonzero`` above
        ``min(n_atoms, n_features)``, a negative ``tol``, a ``tol`` below the
        resolution of ``dtype`` for every sample (``(16 eps
        ||x||)^2``: ``tol=0`` was never met) or invalid ``X``/``D``.

    Warns
    -----
    UserWarning
        For a ``tol`` below the resolution of some samples but not all, naming
        those rows (they run to the step limit).
    ConvergenceWarning
        Once, for samples that end with fewer than ``n_nonzero`` atoms and a
        residual left (above ``tol``, given one) when the dictionary's rank
        is below ``n_nonzero`` or it has duplicated atoms, naming the rank,
        the duplicates and the setting to change (scikit-learn's
        ``orthogonal_mp`` warns of linear dependence once per sample); with
        ``tol``, in the warning of the samples above it. With ``positive``
        for a rank below ``n_nonzero`` only, counting the samples that took
        ``rank`` atoms (NN-OMP's samples end early whenever no correlation is
        positive, but never past the rank).

    Notes
    -----
    A sample stops early, with fewer atoms, when the next atom lies in the span
    of those already picked (numerically) or when the residual is orthogonal
    to every atom.

    References
    ----------
    Pati, Y. C., Rezaiifar, R. & Krishnaprasad, P. S. (1993). Orthogonal
    matching pursuit. 27th Asilomar Conference, 40-44.
    Rubinstein, R., Zibulevsky, M. & Elad, M. (2008). Efficient implementation
    of the K-SVD algorithm using batch orthogonal matching pursuit. Technion
    CS-2008-08.
    Bruckstein, A. M., Elad, M. & Zibulevsky, M. (2008). On the uniqueness of
    nonnegative sparse solutions to underdetermined systems of equations.
    IEEE Trans. Inf. Theory 54, 4813-4820.
    """
    X, D, n_nonzero, tol, dtype = _check_pursuit(X, D, n_nonzero, tol, dtype,
                                                  "orthogonal_mp", cap_features=True,
                                                  flags=dict(positive=positive,
                                                             return_history=return_history),
                                                  names=_names)
    check_progress(progress)
    with progress_bar(progress, total=X.shape[0], desc="orthogonal_mp") as bar:
        if positive:
            A, records, res2 = _nn_omp(X, D, n_nonzero, tol, return_history, bar.update)
        else:
            A, records, res2 = _omp(X, D, n_nonzero, tol, return_history, bar.update)
    n_recoded = 0
    if tol is not None:
        res2, recoded = _meet_tol_exactly(orthogonal_mp, X, D, A, res2, tol, records,
                                          positive=positive, n_nonzero=n_nonzero)
        n_recoded = recoded.size
        # n_nonzero at OMP's most (min(n_atoms, n_features): tol alone sets that) cannot
        # be raised
        most = n_nonzero == min(D.shape)
        # samples that stalled above tol: the dependent atoms that stopped them, if any
        cause = _dependence(X, D, A, n_nonzero, tol, res2, positive)[0]
        _warn_tol_not_met("orthogonal_mp", res2, tol,
                          {"n_nonzero": (n_nonzero, "atoms",
                                         np.count_nonzero(A, axis=1) >= n_nonzero)},
                          positive, fixed=("n_nonzero",) if most else (), stall_cause=cause)
    else:
        _warn_dependent_atoms(X, D, A, n_nonzero, positive)
        if return_history:  # with tol, _meet_tol_exactly did it
            _make_last_record_exact(records, _exact_residual_sq(X, D, A))
    if return_history:
        return A, pursuit_history(records, _returned_record(X, D, A), "omp",
                                  n_nonzero=n_nonzero, tol=_attr(tol), positive=int(positive),
                                  dtype=dtype, n_recoded=n_recoded)
    return A


#: OMP takes an atom whose part outside the span of those picked is below this fraction of
#: its norm as lying in that span (the stop in ``_omp_block``), per working dtype
SPAN_EPS = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-7}
#: a residual norm within this many units of roundoff (``eps ||x||``) is a signal coded
#: exactly (float32 leaves 1e-7 to 1e-6 of ``||x||``), not one the atoms could not reach
CODED_EXACTLY_UNITS = 1000


def _dependence(X, D, A, n_nonzero, tol, res2, positive=False):
    """Why OMP's samples ended short of ``n_nonzero`` atoms (and above ``tol``, given
    one) with a residual left, when the dictionary's linear dependence explains it.

    Returns ``(cause, rows, rank, pairs)``: ``cause`` is None when no sample ended so,
    or when ``D`` has rank at least ``n_nonzero`` and no duplicated atoms (the residual
    then lies outside the atoms' span: all the signal they can code). ``rank`` is that
    of the unit-norm atoms (singular values above :data:`SPAN_EPS` of the largest),
    ``pairs`` the duplicated atoms (the part of one outside the other's span below
    ``SPAN_EPS``). An SVD of ``D`` only when samples ended short. scikit-learn's
    ``orthogonal_mp`` warns of such an early end too (linear dependence in the
    dictionary), once per sample and without naming the atoms.

    With ``positive`` (NN-OMP) the rank alone: NN-OMP ends short whenever no
    correlation is positive, which says nothing of the dictionary, but never takes more
    atoms than the rank (atoms 32, rank 8, ``n_nonzero=12``: 8 atoms per sample, without
    a word before); a duplicated atom, whose copy's correlation is zero once the first
    is in the support, does not end it early on its own. Only its samples that took
    ``rank`` atoms ended at the rank."""
    short = np.count_nonzero(A, axis=1) < n_nonzero
    if tol is not None:
        short &= res2 > tol
    rows = np.flatnonzero(short)
    eps = SPAN_EPS[np.dtype(X.dtype)]
    if rows.size and tol is None:  # a signal coded exactly needs no more atoms
        left = _exact_residual_sq(X[rows], D, A[rows])
        floor = (CODED_EXACTLY_UNITS * float(np.finfo(X.dtype).eps)) ** 2
        rows = rows[left > floor * _row_norms2(X[rows])]
    if rows.size == 0:
        return None, rows, None, []
    D64 = D.astype(np.float64)
    s = np.linalg.svd(D64 / np.linalg.norm(D64, axis=1, keepdims=True), compute_uv=False)
    rank = int(np.count_nonzero(s > eps * s[0]))
    pairs = [] if positive else duplicate_pairs(D, np.sqrt(1 - eps ** 2))
    if rank >= n_nonzero and not pairs:
        return None, rows, rank, pairs
    if positive:
        # NN-OMP's samples that found no positive correlation ended with fewer atoms than
        # the rank (0 for a sample anti-correlated with every atom): they were counted as
        # stopped by the rank, 20 of 20 where 10 had 0 atoms
        rows = rows[np.count_nonzero(A[rows], axis=1) >= rank]
        if rows.size == 0:
            return None, rows, rank, pairs
    cause = (f"the dictionary has rank {rank} (n_atoms={D.shape[0]}, n_features="
             f"{D.shape[1]}): past {rank} atoms every atom lies in the span of those picked")
    if pairs:
        cause += f"; duplicate {describe_pairs(pairs)} (|cosine| above 1 - {eps ** 2 / 2:.0e})"
    return cause, rows, rank, pairs


def _warn_dependent_atoms(X, D, A, n_nonzero, positive=False):
    """Warn once (or add to a learner's tally) when samples end with fewer than
    ``n_nonzero`` atoms and a residual left because the dictionary is rank-deficient
    or has duplicated atoms (:func:`_dependence`), naming the rank, the duplicates and
    the setting to change. OMP used to return fewer atoms without a word."""
    cause, rows, rank, pairs = _dependence(X, D, A, n_nonzero, None, None, positive)
    if cause is None:
        return
    remedies = []
    if rank < n_nonzero:
        remedies.append(f"lower {limit_knob('n_nonzero', n_nonzero)} to at most {rank}")
    if pairs:
        remedies.append("remove one atom of each duplicate pair")
    what = f"orthogonal_mp ended short of n_nonzero={n_nonzero} atoms ({cause})"
    tally = current_tally()
    if tally is not None:  # a learner's minibatch: warned of once, at the run's end
        tally.add(what, rows.size, X.shape[0], " or ".join(remedies))
        return
    warnings.warn(
        f"orthogonal_mp: {rows.size} of {X.shape[0]} samples end with fewer than "
        f"n_nonzero={n_nonzero} atoms and a residual left ({rows_of_x(rows)}): {cause}; "
        f"{' or '.join(remedies)}", ConvergenceWarning, stacklevel=shortfall_stacklevel())


#: relative slack on ``tol`` below which an exact squared residual counts as at ``tol``
TOL_SLACK = 1e-6


def _meet_tol_exactly(solver, X, D, A, res2, tol, records, **params):
    """The exact squared residuals ``||x - D^T a||^2`` (float64) of the codes ``A``, after
    solving again in float64 the samples that stopped on ``tol`` but are above it, and
    the samples solved again (their indices; none for float64 ``X``).

    Both pursuits stop on the squared residual they track step by step (``res2``),
    which drifts from the exact one by rounding: in float32, at ``tol`` near 1e-6
    ``||x||^2``, matching pursuit left 182 of 300 samples above ``tol`` (up to 1.5
    times it) and OMP 22, where their trackers had reached it or gone to zero, with no
    warning. ``A`` is updated in place; ``records`` (the history, or None) gets its
    last record made exact when no sample was solved again (its codes are those
    returned; else they are the first pass's, and the returned codes' own figures go
    beside the steps: :func:`pursuit_history`); ``params`` are the solver's other
    arguments.
    """
    exact = _exact_residual_sq(X, D, A)
    # within TOL_SLACK of tol is at tol (the rounding of the trackers in float64)
    above = (exact > tol * (1 + TOL_SLACK)) & (res2 <= tol)
    redo = np.flatnonzero(above)
    if redo.size and X.dtype != np.float64:
        # the samples still above tol are warned of below (or tallied, in a learner)
        with discard_not_converged():
            A[redo] = solver(X[redo], D, tol=tol, dtype=np.float64, progress=False, **params)
        exact[redo] = _exact_residual_sq(X[redo], D, A[redo])
    if X.dtype == np.float64:
        redo = redo[:0]
    # with samples solved again, the steps' records stay the float32 pass's (0.16% off
    # the returned codes' data term with 2 of 64 samples solved again): an extra
    # record for the returned codes was numbered as one more step, which it is not
    if records is not None and not redo.size:
        _make_last_record_exact(records, exact)
    at_tol = (res2 <= tol) & (exact <= tol * (1 + TOL_SLACK))
    return np.where(at_tol, np.minimum(exact, tol), exact), redo


def _make_last_record_exact(records, exact):
    """Put the exact squared residuals ``exact`` (float64, one per sample) of the returned
    codes in the history's last record, in place of the solver's step-by-step tracker:
    in float32 that drifts by rounding, 7.5% under the exact data term for OMP with
    as many atoms as features (32) stopping near tol=1e-4 (1e-6 of ||x||^2)."""
    data = 0.5 * float(np.sum(exact))
    records[-1].update(objective=data, data_term=data)


def _exact_residual_sq(X, D, A, block=4096):
    """``||x - D^T a||^2`` per row in float64, a block of rows at a time."""
    out = np.empty(X.shape[0])
    D64 = D.astype(np.float64)
    for start in range(0, X.shape[0], block):
        rows = slice(start, start + block)
        R = X[rows].astype(np.float64) - A[rows].astype(np.float64) @ D64
        out[rows] = np.einsum("ij,ij->i", R, R)
    return out


def _warn_tol_not_met(solver, res2, tol, limits, positive, fixed=(), stall_cause=None):
    """Warn when samples end above ``tol`` (as scikit-learn's ``orthogonal_mp``
    warns when it ends early), naming the limit that stopped them and its value, or that
    no atom lowers the residual any more (with non-negative codes, long before).

    ``res2`` is the squared residual each solver tracks for its own stopping rule;
    ``limits`` maps a limit's name (``"max_iter"``, ``"n_nonzero"``) to its value, its
    unit and the samples it stopped (boolean, one per sample); ``fixed`` names limits
    the user cannot raise (OMP's ``n_nonzero`` at ``min(n_atoms, n_features)``);
    ``stall_cause`` (OMP's :func:`_dependence`) says why no atom lowers the residual.
    The remedies used to say "raise the limit", not which setting nor its value."""
    left = res2 > tol
    if not left.any():
        return
    stall = "no atom left that lowers the residual" + (" with a positive coefficient"
                                                       if positive else "")
    if stall_cause is not None:
        stall += f" ({stall_cause})"
    # each sample left above tol, by what stopped it: the first limit it met, else no atom
    groups, rest = {}, left.copy()
    for name, (value, unit, stopped) in limits.items():
        groups[name] = rest & stopped
        rest &= ~stopped
    groups[None] = rest
    tally = current_tally()
    tol_knob = tally.setting("tol") if tally is not None else knob("tol")
    shortfalls = []  # (samples, what stopped them, the setting to raise or None, note)
    for name, rows in groups.items():
        if not rows.any():
            continue
        if name is None:
            shortfalls.append((rows, stall, None, "no limit stopped them"))
            continue
        value, unit, _ = limits[name]
        setting = None if name in fixed else limit_knob(name, value)
        note = (f"{name}={value} is the most it can pick: min(n_atoms, n_features)"
                if name in fixed else f"{name}={value} is fixed here")
        shortfalls.append((rows, f"{name}={value} {unit} used", setting, note))
    if tally is not None:  # a learner's minibatch: warned of once, at the run's end
        for rows, why, setting, note in shortfalls:
            tally.add(f"{solver} stopped above tol={tol} ({why})", np.count_nonzero(rows),
                      res2.size, _remedy([setting], [note], tol_knob))
        return
    why = "; ".join(f"{np.count_nonzero(rows)} with {why}" for rows, why, _, _ in shortfalls)
    remedy = _remedy([setting for _, _, setting, _ in shortfalls],
                     [note for _, _, _, note in shortfalls], tol_knob)
    warnings.warn(  # the rows named, as the L1 solvers name theirs
        f"{solver}: {np.count_nonzero(left)} of {res2.size} samples end with a squared "
        f"residual above tol={tol} ({why}; {rows_of_x(np.flatnonzero(left))}); {remedy}",
        ConvergenceWarning, stacklevel=shortfall_stacklevel())


def _remedy(settings, notes, tol_knob):
    """``"raise max_iter (now 3) or loosen tol"``: the settings that stopped samples and
    that the user can raise (None for those it cannot: ``notes`` say why), or ``tol``
    (None when the caller fixes it: left out, as "loosen None" read)."""
    raisable = [setting for setting in settings if setting is not None]
    if tol_knob is None:
        fixed = "; ".join([*(notes if not raisable else []), "tol is fixed here"])
        return (f"raise {' or '.join(raisable)} ({fixed})" if raisable
                else f"nothing to set ({fixed})")
    if raisable:
        return f"raise {' or '.join(raisable)}{',' * (len(raisable) > 1)} or loosen {tol_knob}"
    return f"loosen {tol_knob} ({'; '.join(notes)})"


#: A correlation below this many units of roundoff of the products that make it is the
#: rounding left of a signal already coded exactly, not a component: picking it would only
#: add atoms of ~1e-8 (float32) or ~1e-16 (float64) to the code. The spurious correlations
#: of exactly sparse signals measured up to 6 units (256 features); the roundoff is that of
#: each atom's own product with the signal, |x| . |d_j|, not of ||x||, so that a weak
#: component beside a strong one (or far from it in a long signal) is still taken.
ROUNDOFF_UNITS = 16


def roundoff_floor(X, D, norms, j):
    """Smallest normalised correlation ``|<r, d_j>| / ||d_j||`` pursuit still takes for
    the atoms ``j`` picked for the rows ``X`` (one each): ``ROUNDOFF_UNITS`` units of
    roundoff of ``|x| . |d_j| / ||d_j||`` in ``X``'s dtype. For the picks only:
    O(n_features) per sample and step, not a product with every atom."""
    scale = ROUNDOFF_UNITS * float(np.finfo(X.dtype).eps)
    return scale * np.einsum("ij,ij->i", np.abs(X), np.abs(D[j]), dtype=np.float64) / norms[j]


def _attr(tol):
    return "None" if tol is None else tol


def pursuit_history(records, returned, solver, **attrs):
    """A pursuit's history: :func:`~v1model.inference._common.history_dataset` of the
    steps' ``records`` (``iteration`` k: k steps done, 0 the start), and the returned
    codes' own figures (``returned``, a record of them: :func:`_returned_record`) in
    ``returned_objective``, ``returned_data_term`` and ``returned_n_active``, without
    the ``iteration`` dim.

    They equal the last step's entry unless samples were coded again in float64 after
    the steps (``attrs["n_recoded"]`` of them): the returned codes are then no step's
    (such a last entry was numbered as one more step, which it was not).
    """
    ds = history_dataset(records, solver, **attrs)
    for key in ("objective", "data_term", "n_active"):
        ds[f"returned_{key}"] = ((), returned[key], {
            "long_name": f"{ds[key].attrs['long_name']}, of the returned codes "
                         "(float64; after any samples coded again)",
            "units": ds[key].attrs["units"]})
    return ds


def _returned_record(X, D, A):
    """The history record of the returned codes ``A``: their exact squared residuals
    (float64, from ``X`` and ``D`` as the solver holds them) and active counts."""
    return _pursuit_record(_exact_residual_sq(X, D, A), np.count_nonzero(A, axis=1))


def _pursuit_record(res2, count):
    data = 0.5 * float(np.sum(res2))
    return {"objective": data, "data_term": data, "penalty": 0.0,
            "n_active": float(np.mean(count)) if count.size else 0.0}


def _residual_sq(X, D, A):
    R = X.astype(np.float64) - A.astype(np.float64) @ D.astype(np.float64)
    return np.einsum("ij,ij->i", R, R)


def _omp(X, D, K, tol, return_history, on_block):
    """Batch-OMP on the Gram matrix (Rubinstein et al. 2008), vectorised over samples.

    For the residual ``r``, the correlations ``alpha = D r`` are updated with
    ``v_i = D q_i`` (``q_i`` the i-th orthonormalised selected atom), built
    from one Gram row per step: ``v_i = (G[j] - sum_m coef_m v_m) / nrm`` with
    ``coef_m = v_m[j]`` and ``nrm^2 = G_jj - |coef|^2``. ``(coef, nrm)`` is the
    new row of the Cholesky factor of ``G_II``; no product with ``X`` after
    the first. ``on_block`` (a progress bar's update) is called with the rows of
    each finished block.
    """
    dtype = X.dtype
    n, f = X.shape
    k = D.shape[0]
    G = gram_of(values_of(D), D.dtype)  # kept for the next call (_dictionary_cache)
    g_diag = np.diag(G).astype(np.float64)
    norms = np.sqrt(g_diag).astype(dtype)
    unit = bool(np.all(np.abs(norms - 1) < 1e-6))  # skip the normalisation of scores
    eps = 1e-4 if dtype == np.float32 else 1e-7
    n_sel = np.zeros(n, np.intp)
    res2 = _row_norms2(X)
    records = [_pursuit_record(res2, n_sel)] if return_history else None
    A = np.zeros((n, k), dtype)
    block = n if return_history else _omp_block_size(n, k, K, dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        # the block's Cholesky factors (upper-triangular: G_II = Rf^T Rf), coordinates of
        # the projection in the orthonormal basis and selected atoms; views of the
        # per-sample residuals and counts
        Rf = np.zeros((stop - start, K, K), dtype)
        z = np.zeros((stop - start, K), dtype)
        sel = np.zeros((stop - start, K), np.intp)
        res2_b, n_sel_b = res2[start:stop], n_sel[start:stop]
        _omp_block(X[start:stop], D, G, g_diag, norms, unit, eps, K, tol, res2_b, n_sel_b,
                   Rf, z, sel, records, res2, n_sel)
        _back_substitute(Rf, z, sel, n_sel_b, A[start:stop])
        on_block(stop - start)
    return A, records, res2


def _omp_block_size(n, k, K, dtype):
    """Rows per block of :func:`_omp`: its (block, K, n_atoms) + (block, K, K) work
    arrays take half the codes' size, kept between 16 MB and 64 MB (with only ``tol``,
    ``K = min(n_atoms, n_features)``: all the factors at once were many times the codes)."""
    budget = min(2**26, max(2**24, n * k * np.dtype(dtype).itemsize // 2))
    return max(1, int(budget // (K * (k + K) * np.dtype(dtype).itemsize)))


def _row_norms2(X, block=4096):
    """``||x||^2`` per row in float64, without a float64 copy of all of ``X``."""
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], block):
        Xb = X[start:start + block].astype(np.float64)
        np.einsum("ij,ij->i", Xb, Xb, out=out[start:start + block])
    return out


def _omp_block(X, D, G, g_diag, norms, unit, eps, K, tol, res2, n_sel, Rf, z, sel, records,
               res2_all, n_sel_all):
    """Batch-OMP steps on one block of rows (``X``, ``res2`` and ``n_sel`` are the
    block's; ``Rf``, ``z`` and ``sel`` are filled in); ``records`` (history) gets the
    summary of ``res2_all`` and ``n_sel_all`` after every step."""
    dtype = X.dtype
    k = D.shape[0]
    live = np.arange(X.shape[0])
    if tol is not None:
        live = live[res2[live] > tol]
    alpha = X[live] @ D.T
    V = np.zeros((live.size, K, k), dtype)
    for i in range(K):
        if live.size == 0:
            break
        ar = np.arange(live.size)
        score = np.abs(alpha)
        if not unit:
            score /= norms
        if i:
            score[ar[:, None], sel[live, :i]] = -1.0  # never pick an atom twice
        j = np.argmax(score, axis=1)
        best = score[ar, j]
        coef = V[ar, :i, j]  # (live, i): v_m[j] = <q_m, d_j>
        nrm2 = g_diag[j] - np.einsum("ni,ni->n", coef, coef, dtype=np.float64)
        nrm = np.sqrt(np.maximum(nrm2, 0)).astype(dtype)
        stalled = (nrm <= eps * norms[j]) | (best <= np.maximum(
            1e-12 * np.sqrt(np.maximum(res2[live], 1e-300)),
            roundoff_floor(X[live], D, norms, j)))
        ok = ~stalled
        inv = np.where(ok, 1.0 / np.where(ok, nrm, 1), 0).astype(dtype)
        v = G[j]
        if i:
            v = v - np.einsum("ni,nik->nk", coef, V[:, :i])
        v *= inv[:, None]
        zi = alpha[ar, j] * inv
        alpha -= zi[:, None] * v
        V[:, i] = v
        g = live[ok]
        Rf[g, :i, i] = coef[ok]
        Rf[g, i, i] = nrm[ok]
        z[g, i] = zi[ok]
        sel[g, i] = j[ok]
        n_sel[g] += 1
        res2[live] = np.maximum(res2[live] - zi.astype(np.float64) ** 2, 0)
        done = stalled | (n_sel[live] >= K)
        if tol is not None:
            done |= res2[live] <= tol
        if done.any():
            keep = ~done
            live, alpha, V = live[keep], alpha[keep], V[keep]
        if records is not None:
            records.append(_pursuit_record(res2_all, n_sel_all))


def _back_substitute(Rf, z, sel, n_sel, A):
    """Solve ``Rf gamma = z`` on each row's selected atoms; ``A`` (zeros) gets the codes."""
    n, K = z.shape
    gamma = np.zeros((n, K), z.dtype)
    used = np.arange(K)[None, :] < n_sel[:, None]
    diag = np.where(used, Rf[:, np.arange(K), np.arange(K)], 1)
    for i in range(K - 1, -1, -1):
        acc = z[:, i] - np.einsum("nj,nj->n", Rf[:, i, i + 1:], gamma[:, i + 1:])
        gamma[:, i] = np.where(used[:, i], acc / diag[:, i], 0)
    rows, slots = np.nonzero(used)
    A[rows, sel[rows, slots]] = gamma[rows, slots]


def _nn_omp(X, D, K, tol, return_history, on_done):
    """NN-OMP (Bruckstein et al. 2008), vectorised over all the samples at once (not in
    chunks: the batched NNLS solves, padded to the batch's largest support, round
    differently in another batch); ``on_done`` (a progress bar's update) is called with
    the number of samples at the end."""
    dtype = X.dtype
    n, f = X.shape
    k = D.shape[0]
    G = gram_of(values_of(D), D.dtype)  # kept for the next call (_dictionary_cache)
    norms = np.sqrt(np.diag(G))
    B = X @ D.T
    A = np.zeros((n, k), dtype)
    res2 = _row_norms2(X)
    live = np.arange(n)
    if tol is not None:
        live = live[res2 > tol]
    count = np.zeros(n, np.intp)
    records = [_pursuit_record(res2, count)] if return_history else None
    # each selection can be undone by the NNLS step, so allow a few more steps than K
    for _ in range(2 * K + 10):
        if live.size == 0:
            break
        Al = A[live]
        alpha = B[live] - Al @ G
        score = alpha / norms
        score[Al != 0] = -np.inf
        j = np.argmax(score, axis=1)
        best = score[np.arange(live.size), j]
        ok = best > np.maximum(1e-7 * np.sqrt(np.maximum(res2[live], 1e-300)),
                               roundoff_floor(X[live], D, norms, j))
        rows = live[ok]
        if rows.size:
            support = A[rows] != 0
            support[np.arange(rows.size), j[ok]] = True
            A[rows] = _nnls_on_support(A[rows], B[rows], G, support)
            count[rows] = np.count_nonzero(A[rows], axis=1)
            res2[rows] = _residual_sq(X[rows], D, A[rows])
        done = ~ok
        done[ok] = count[rows] >= K
        if tol is not None:
            done |= res2[live] <= tol
        live = live[~done]
        if return_history:
            records.append(_pursuit_record(res2, count))
    on_done(n)
    return A, records, res2


def _nnls_on_support(A, B, G, support, max_steps=None):
    """Non-negative least squares restricted to ``support``, batched (Lawson-Hanson).

    ``A`` (n, k) is feasible (>= 0, zero off the support). Returns the NNLS
    solution on the support; coordinates that reach zero, or come within
    ``ROUNDOFF_UNITS`` units of the roundoff of their own equation
    (``(|G_S| |y|)_i / G_ii``), are dropped.
    """
    n, k = A.shape
    dtype = A.dtype
    sizes = support.sum(axis=1)
    m = int(sizes.max())
    r, c = np.nonzero(support)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(r.size) - starts[r]
    idx = np.zeros((n, m), np.intp)
    valid = np.zeros((n, m), bool)
    idx[r, pos] = c
    valid[r, pos] = True
    GS = G[idx[:, :, None], idx[:, None, :]]
    bS = np.take_along_axis(B, idx, 1)
    x = np.where(valid, np.take_along_axis(A, idx, 1), 0)
    P = valid.copy()
    diag = np.arange(m)
    act = np.arange(n)
    for _ in range(max_steps or m + 1):
        Pa = P[act]
        Msys = np.where(Pa[:, :, None] & Pa[:, None, :], GS[act], 0)
        Msys[:, diag, diag] += ~Pa
        try:
            y = np.linalg.solve(Msys, np.where(Pa, bS[act], 0)[..., None])[..., 0]
        except np.linalg.LinAlgError:
            y = np.einsum("cij,cj->ci", np.linalg.pinv(Msys), np.where(Pa, bS[act], 0))
        # a coefficient within the rounding of its own equation, ROUNDOFF_UNITS units of
        # (|G_S| |y|)_i / G_ii, is zero: float32 kept a wrongly picked atom at 2.6e-8
        # (beside coherent ones up to 0.79) that float64 drops. Its own equation, not the
        # largest coefficient: 1 beside 1e6 on orthogonal atoms is a component
        floor = ROUNDOFF_UNITS * np.finfo(dtype).eps * np.einsum(
            "cij,cj->ci", np.abs(Msys), np.abs(y)) / Msys[:, diag, diag]
        neg = Pa & (y <= floor)
        bad = neg.any(axis=1)
        xa = x[act]
        if not bad.any():
            x[act] = y
            break
        # move from the feasible point towards y until the first coefficient hits zero
        with np.errstate(divide="ignore", invalid="ignore"):
            t_j = np.where(neg, xa / (xa - y), np.inf)
        t = np.where(bad, np.clip(t_j.min(axis=1), 0, 1), 1).astype(dtype)
        x_new = xa + t[:, None] * (y - xa)
        # a coefficient left between 0 and its floor is zero too (its t_j > 1: x_new = y)
        hit = Pa & (x_new <= np.maximum(floor, 1e-12 * np.maximum(
            np.abs(xa).max(axis=1, keepdims=True), np.finfo(xa.dtype).tiny)))
        hit |= neg & (t_j <= t[:, None] * (1 + 1e-6))
        x_new[hit] = 0
        P[act] = Pa & ~hit
        x[act] = np.where(P[act], x_new, 0)
        act = act[bad]
    out = np.zeros((n, k), dtype)
    rr, pp = np.nonzero(valid)
    out[rr, idx[rr, pp]] = np.maximum(x[rr, pp], 0)
    return out
