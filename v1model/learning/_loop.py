"""The alternating loop shared by the batch learners (MOD, K-SVD): code the
batch with the dictionary held fixed, update the dictionary, re-seed dead and
duplicate atoms, record the statistics."""

from __future__ import annotations

import time

import numpy as np

from .._blas import blas_threads_for_step, coding_iteration_flops
from ..inference._common import tally_not_converged
from ..inference._dictionary_cache import bypassing_cache
from ..io import seed_attr
from ..progress import check_progress, progress_bar
from ..validation import as_generator, check_fits_in_memory, check_int
from ._atoms import (AtomUsage, check_min_usage, check_reseeding, initial_dictionary,
                     normalize_rows, reseed)
from ._coding import check_lam_below_data
from ._data import Minibatches, check_training_rows, warn_if_more_atoms_than_samples
from ._history import FIELDS, History, batch_statistics


def run_batch_learner(name, step, X, n_atoms, coder, *, n_updates, batch_size, init,
                      reseed_patience, duplicate_tol, seed, progress, attrs, min_usage=1):
    """Validate the common arguments, then alternate coding and ``step``.

    ``step(X, A, D) -> (D_new, A_new)`` returns the updated dictionary (rows
    of any norm; they are renormalised here) and the codes after the update
    (K-SVD changes them, MOD returns ``A``).

    Returns ``(D, history)`` with ``D`` in ``coder.dtype``.
    """

    X = check_training_rows(X, dtype=coder.dtype)  # a memmap stays one: read per minibatch
    n, p = X.shape
    n_atoms = check_int(n_atoms, "n_atoms", minimum=1)
    warn_if_more_atoms_than_samples(n_atoms, n, "every update")
    check_lam_below_data(X, coder, n_atoms)
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    # the history holds a row per update: numpy's "Unable to allocate" named no argument
    check_fits_in_memory((n_updates, len(FIELDS)), np.float64, "n_updates", n_updates,
                         "history rows (float64)")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    else:  # every update codes all of X: converted once
        X = np.asarray(X, dtype=np.float64)
    reseed_patience, duplicate_tol = check_reseeding(reseed_patience, duplicate_tol)
    min_usage = check_min_usage(min_usage, reseed_patience,
                                n if batch_size is None else min(batch_size, n))
    check_progress(progress)
    # recorded before anything draws: a Generator's state is then the run's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    D = initial_dictionary(X, n_atoms, init, rng)
    usage = AtomUsage(n_atoms, reseed_patience, duplicate_tol, min_usage)
    history = History(n_updates)
    batches = Minibatches(n, batch_size, True, rng) if batch_size is not None else None
    bar = progress_bar(progress, total=n_updates, desc=name, unit="update",
                       iterable=range(n_updates))
    # small batches: BLAS threads only contend (v1model._blas)
    flops = coding_iteration_flops(n if batch_size is None else min(batch_size, n), n_atoms, p)
    # the solver's shortfalls are warned of once, for the run (not per minibatch); D
    # changes at every update: the solvers keep nothing of it, and the user's D stays kept
    with tally_not_converged("method_params", coder.params) as tally, \
            blas_threads_for_step(flops), bypassing_cache():
        for _ in bar:
            start = time.perf_counter()
            batch = X if batches is None else np.asarray(X[batches.next()], dtype=np.float64)
            A = coder.encode(batch, D, rng)
            stats = batch_statistics(batch, D, A, coder)
            D_old = D
            D, A = step(batch, A, D)
            D = normalize_rows(D, D_old)
            dead = usage.to_reseed(A, D, signed=coder.positive)
            reseed(D, dead, batch, A, rng, duplicate_tol, coder.positive)
            usage.reset(dead)
            history.record(stats, len(dead), tally.take_unconverged(),
                           time.perf_counter() - start)
            bar.set_postfix(obj=f"{stats['objective']:.4g}", reseeded=len(dead), refresh=False)
    tally.warn(n_updates)
    history.warn_if_nothing_coded(coder)
    attrs = dict(
        learner=name, n_atoms=n_atoms, n_features=p, n_training_samples=n, n_updates=n_updates,
        # the minibatches hold at most n samples (Minibatches); None: all of X
        batch_size=min(batch_size, n) if batch_size is not None else n,
        batch_size_requested=batch_size,
        init=init if isinstance(init, str) else "array", reseed_patience=reseed_patience,
        min_usage=min_usage, duplicate_tol=duplicate_tol, seed=seed_record,
        **coder.describe(), **attrs,
    )
    return D.astype(coder.dtype), history.to_dataset(attrs)

