"""Online dictionary learning (Mairal, Bach, Ponce & Sapiro 2009).

Each minibatch is coded with the current dictionary and folded into two
sufficient statistics of fixed size,

    A = sum_t a_t a_t^T     (n_atoms, n_atoms)
    B = sum_t a_t x_t^T     (n_atoms, n_features)

(running weighted averages here, so their scale does not grow). The
dictionary then minimises the surrogate ``0.5 tr(D^T A D) - tr(D^T B)`` by
block coordinate descent, one atom at a time with the others fixed:

    u_j = d_j + (B_j - A_j D) / A_jj,     d_j = u_j / ||u_j||

(unit-norm atoms; Mairal et al. project onto the unit ball, which the L1
objective saturates anyway). Memory is O(n_atoms * (n_atoms + n_features)),
whatever the number of samples streamed.

Forgetting: before adding batch ``t`` the old statistics are weighted by
``beta_t = (1 - 1/t) ** forget_factor``, so that batch ``s`` weighs
``(s / t) ** forget_factor`` at update ``t`` and the statistics average over
roughly the last ``t / (forget_factor + 1)`` updates. This is Mairal et al.'s
(2010) scaling of the past data (Sec. 3.4.2, their ``rho``) with ``t`` counting
minibatches (Sec. 3.4.3); the averages kept here are their sums divided by
the discounted sample count, which leaves the dictionary update unchanged.
``forget_factor = 0`` weights all batches equally (the plain running
average, their Algorithm 1); larger values forget the codes computed with
early, poor dictionaries faster. The default 10 gave a lower held-out
objective after 110-160 updates on whitened 16x16 natural patches (256 atoms,
batches of 256) than 1, 3, 30 or 100.
"""

from __future__ import annotations

import time

import numpy as np

from .._blas import blas_threads_for_step, coding_iteration_flops
from ..inference._common import NotConvergedStream, run_tally, tally_not_converged
from ..inference._dictionary_cache import bypassing_cache
from ..progress import check_progress, progress_bar
from ..validation import (as_generator, check_array, check_bool, check_int,
                          check_nonnegative, check_shape, describe)
from ._atoms import AtomUsage, check_min_usage, check_reseeding, initial_dictionary, reseed
from ._coding import check_lam_below_data, make_coder
from ._data import Minibatches, check_training_rows, warn_if_more_atoms_than_samples
from ._history import History, batch_statistics
from ..io import seed_attr

__all__ = ["learn_online", "OnlineState", "block_coordinate_update", "run_epochs"]


def block_coordinate_update(D, A, B, n_passes=1) -> np.ndarray:
    """Minimise ``0.5 tr(D^T A D) - tr(D^T B)`` over unit-norm rows of ``D``
    by block coordinate descent (Mairal et al. 2009, Algorithm 2).

    Parameters
    ----------
    D : ndarray, shape (n_atoms, n_features), float64
        Dictionary, one atom per row; updated in place.
    A : array_like, shape (n_atoms, n_atoms)
        Sufficient statistic ``sum_t a_t a_t^T`` of the codes.
    B : array_like, shape (n_atoms, n_features)
        Sufficient statistic ``sum_t a_t x_t^T``.
    n_passes : int, default 1
        Sweeps over the atoms, >= 1.

    Returns
    -------
    D : ndarray, shape (n_atoms, n_features)
        The same array. Atoms with no statistics (``A_jj`` = 0: never used
        since the last reset) are left as they are, and so are atoms with
        ``A_jj <= 1e-10 max(A_kk)``, whose division by ``A_jj`` would move
        them mostly by rounding.

    Raises
    ------
    TypeError
        For a ``D`` that is not a float64 NumPy array.
    ValueError
        For a read-only ``D``, or ``A`` and ``B`` whose shapes do not match it.
    """
    if not (isinstance(D, np.ndarray) and D.dtype == np.float64):
        raise TypeError(f"D must be a float64 numpy array (it is updated in place), got "
                        f"{describe(D)}")
    if not D.flags.writeable:  # read-only, a memmap opened with mode 'r', a broadcast
        raise ValueError(f"D must be writable (it is updated in place), got a read-only "
                         f"array of shape {D.shape}; pass a copy, e.g. D.copy()")
    check_array(D, "D", ndim=2)
    A = check_shape(check_array(A, "A", ndim=2), "A", (D.shape[0], D.shape[0]))
    B = check_shape(check_array(B, "B", ndim=2), "B", D.shape)
    return _block_coordinate_update(D, A, B, check_int(n_passes, "n_passes", minimum=1))


def _block_coordinate_update(D, A, B, n_passes):
    diag = np.diag(A)
    floor = 1e-10 * max(float(diag.max()), 1e-300)
    for _ in range(n_passes):
        for j in np.flatnonzero(diag > floor):
            u = D[j] + (B[j] - A[j] @ D) / diag[j]
            norm = np.linalg.norm(u)
            if norm > 1e-12:
                D[j] = u / norm
    return D


class OnlineState:
    """The whole state of an online learner: dictionary, sufficient
    statistics, atom usage and history. ``step(X_batch)`` performs one update.

    Built by :func:`learn_online` and by
    :class:`v1model.learning.SparseDictionaryLearner`; trusted inputs.

    Parameters
    ----------
    D : ndarray, shape (n_atoms, n_features)
        Initial dictionary, one unit-norm atom per row; updated in place.
    coder : Coder
        The sparse-inference setting (from ``make_coder``).
    forget_factor : float
        ``rho >= 0`` in ``beta_t = (1 - 1/t)**rho`` (as in :func:`learn_online`).
    n_passes : int
        Block-coordinate-descent passes over the atoms per update.
    usage : AtomUsage
        Tracks which atoms the codes use, for re-seeding.
    rng : numpy.random.Generator
        Source of the re-seeded atoms.
    """

    def __init__(self, D, coder, forget_factor, n_passes, usage, rng):
        k, p = D.shape
        self.D = D
        self.coder = coder
        self.forget_factor = forget_factor
        self.n_passes = n_passes
        self.usage = usage
        self.rng = rng
        self.A = np.zeros((k, k))
        self.B = np.zeros((k, p))
        self.weight = 0.0  # total (discounted) number of samples behind A and B
        self.n_updates = 0
        self.n_samples_seen = 0
        self.history = History()
        # the solver's shortfalls over partial_fit's chunks (not saved: a reloaded stream
        # warns of its first one again)
        self.not_converged = NotConvergedStream()

    def __setstate__(self, state):
        # a state pickled before the stream tallied its solver shortfalls lacks the
        # tally: partial_fit of the unpickled learner failed with an AttributeError
        # at its end. It starts afresh, as a reloaded stream's does (not saved)
        self.__dict__.update(state)
        if "not_converged" not in state:
            self.not_converged = NotConvergedStream()

    def step(self, X, share=1.0) -> None:
        """Code ``X`` (n_batch, n_features), fold it into the statistics,
        update the dictionary and re-seed unused atoms.

        Parameters
        ----------
        X : ndarray, shape (n_batch, n_features)
            One minibatch, in the dtype of ``D`` (not checked).
        share : float, default 1.0
            ``n_batch / batch_size`` for a minibatch shorter than the learner's
            ``batch_size``: what the update adds to the idle count of an atom
            it does not use (``reseed_patience`` counts full minibatches).

        Returns
        -------
        None
            ``D``, the statistics, ``usage`` and ``history`` are updated in place.
        """
        start = time.perf_counter()
        # the run's tally (run_epochs, partial_fit), or this step's own; D changes at every
        # step: the solvers keep nothing of it, and the user's D stays kept
        with run_tally("method_params", self.coder.params) as tally, bypassing_cache():
            codes = self.coder.encode(X, self.D, self.rng)
            n_unconverged = tally.take_unconverged()
        stats = batch_statistics(X, self.D, codes, self.coder)
        self.n_updates += 1
        beta = (1.0 - 1.0 / self.n_updates) ** self.forget_factor
        old = beta * self.weight
        self.weight = old + X.shape[0]
        keep = old / self.weight
        self.A *= keep
        self.A += (codes.T @ codes) / self.weight
        self.B *= keep
        self.B += (codes.T @ X) / self.weight
        _block_coordinate_update(self.D, self.A, self.B, self.n_passes)
        # a minibatch with no non-zero code (a quiet stretch of a stream) idles no atom
        dead = self.usage.to_reseed(codes, self.D, count_silent=False, share=share,
                                    signed=self.coder.positive)
        if dead.size:
            reseed(self.D, dead, X, codes, self.rng, self.usage.duplicate_tol,
                   self.coder.positive)
            # the old statistics describe the old atom: start the new one afresh
            self.A[dead, :] = 0.0
            self.A[:, dead] = 0.0
            self.B[dead] = 0.0
            self.usage.reset(dead)
        self.n_samples_seen += X.shape[0]
        self.history.record(stats, dead.size, n_unconverged, time.perf_counter() - start)


def warn_online_atoms_exceed_samples(n_atoms, n_samples, reseed_patience, duplicate_tol,
                                     samples="training samples"):
    """:func:`~._data.warn_if_more_atoms_than_samples` with the online re-seeding settings
    (one wording for :func:`learn_online`, ``SparseDictionaryLearner.fit`` and the first
    chunk of its ``partial_fit``, whose rows ``samples`` names)."""
    warn_if_more_atoms_than_samples(
        n_atoms, n_samples, f"as reseed_patience={reseed_patience} and "
                            f"duplicate_tol={duplicate_tol} say", samples)


def check_online_params(forget_factor, n_passes):
    forget_factor = check_nonnegative(forget_factor, "forget_factor")
    n_passes = check_int(n_passes, "n_passes", minimum=1)
    return forget_factor, n_passes


def learn_online(
    X,
    n_atoms: int,
    *,
    method: str = "fista",
    lam: float | None = None,
    n_nonzero: int | None = None,
    positive: bool | None = None,
    method_params: dict | None = None,
    n_updates: int = 1000,
    batch_size: int = 256,
    forget_factor: float = 10.0,
    n_passes: int = 1,
    shuffle: bool = True,
    init="data",
    reseed_patience: int | None = 10,
    duplicate_tol: float | None = 0.99,
    min_usage: int = 1,
    dtype=np.float32,
    seed=None,
    progress: bool | None = True,
):
    """Learn a dictionary online from minibatches of ``X`` (Mairal et al. 2009).

    For a stream that does not fit in memory use
    :meth:`v1model.learning.SparseDictionaryLearner.partial_fit` chunk by
    chunk: the learner's memory does not grow with the number of samples.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Training signals (an ``np.memmap`` is read one minibatch at a time,
        not loaded).
    n_atoms : int
        Number of atoms.
    method : {"fista", "ista", "lca", "omp", "mp", "iht", "cd", "active_set"}, default "fista"
        Sparse-inference method, as in :func:`v1model.learning.learn_mod`.
    lam : float, optional
        L1 penalty (L1 methods) or hard threshold (``"iht"``), units of ``X``.
    n_nonzero : int, optional
        Non-zeros per code (``"omp"``, ``"mp"``, ``"iht"``).
    positive : bool or None, default None
        Non-negative codes. None: False, except with ``method="lca"`` and a
        ``threshold`` in ``method_params``, whose codes follow it (``"nonneg"``:
        non-negative); given with one, the two must agree (``True`` with
        ``"nonneg"``, ``False`` with ``"soft"`` or ``"hard"``), as in
        :func:`v1model.inference.encode`.
    method_params : dict, optional
        Extra keyword arguments for ``encode``, as in
        :func:`v1model.learning.learn_mod`.
    n_updates : int, default 1000
        Number of minibatch updates.
    batch_size : int, default 256
        Samples per minibatch (at most ``n_samples``).
    forget_factor : float, default 10.0
        ``rho >= 0`` in ``beta_t = (1 - 1/t)**rho``, the weight of the old
        statistics at update ``t``; 0 = no forgetting.
    n_passes : int, default 1
        Block-coordinate-descent passes over the atoms per update.
    shuffle : bool, default True
        Draw minibatches from a fresh permutation every epoch; False takes
        consecutive slices of ``X`` in order, wrapping around at its end so
        that every sample is used (then a stream cut into the same slices
        gives the same dictionary when it starts from the same one, an
        ``init`` array: ``init="data"`` draws the atoms from all of ``X``
        here, from the first chunk in ``partial_fit``).
    init : {"data", "random"} or array_like, shape (n_atoms, n_features), default "data"
        Atoms as images (n_atoms, height, width) are flattened row-major, as
        patches are (:func:`~v1model.validation.flatten_image_atoms`).
    reseed_patience : int or None, default 10
        Re-seed an atom that no code used in this many consecutive
        minibatches (a rarely used atom may miss one small batch, hence 10;
        in ``SparseDictionaryLearner.partial_fit`` a minibatch shorter than
        ``batch_size`` counts for its share of one).
        A minibatch whose codes are all zero (a quiet stretch of a stream)
        does not count.
    duplicate_tol : float or None, default 0.99
        Also re-seed an atom whose |cosine| with an earlier atom exceeds this
        (with ``positive`` its cosine: ``d`` and ``-d`` are two atoms then).
    min_usage : int, default 1
        An atom that fewer than this many codes of a minibatch use counts as
        unused for ``reseed_patience`` (1: only atoms no code uses): the rule of
        :func:`v1model.learning.learn_ksvd`, counted per minibatch; in
        ``SparseDictionaryLearner.partial_fit`` a minibatch shorter than
        ``batch_size`` asks for its share of it. Refused above
        ``min(batch_size, n_samples)`` and above 1 with ``reseed_patience=None``.
    dtype : {float32, float64}, default float32
        Precision of the coding and of the returned dictionary. The two
        agree to the solver's tolerance, as in
        :func:`v1model.learning.learn_mod` (the planted problem there, 20
        minibatches of 256, 8 seeds: atoms up to 8.7e-3 apart with FISTA at
        its learning ``tol=1e-2``, 4e-4 with ``method_params={"tol": 1e-4}``,
        1.3e-5 with 1e-6; the active set 3e-4 at its default, 3.4e-6 at 1e-6).
    seed : int, Generator or None
    progress : bool or None, default True
        Show a tqdm bar over the updates (None: once the call has run 2 s,
        :mod:`v1model.progress`).

    Returns
    -------
    D : ndarray, shape (n_atoms, n_features)
    history : xarray.Dataset
        As in :func:`v1model.learning.learn_mod` (``attrs["batch_size"]``:
        the minibatch size used, ``min(batch_size, n_samples)``;
        ``attrs["batch_size_requested"]``: the argument).

    References
    ----------
    Mairal, J., Bach, F., Ponce, J. & Sapiro, G. (2009). Online dictionary
    learning for sparse coding. Proc. ICML, 689-696.
    Mairal, J., Bach, F., Ponce, J. & Sapiro, G. (2010). Online learning for
    matrix factorization and sparse coding. JMLR 11, 19-60.
    """
    coder = make_coder(method, lam, n_nonzero, positive, dtype, method_params)
    X = check_training_rows(X, dtype=coder.dtype)  # a memmap stays one: read per minibatch
    n, p = X.shape
    n_atoms = check_int(n_atoms, "n_atoms", minimum=1)
    check_lam_below_data(X, coder, n_atoms)
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    forget_factor, n_passes = check_online_params(forget_factor, n_passes)
    reseed_patience, duplicate_tol = check_reseeding(reseed_patience, duplicate_tol)
    min_usage = check_min_usage(min_usage, reseed_patience, min(batch_size, n))
    # MOD and K-SVD warned of it, online learning said nothing
    warn_online_atoms_exceed_samples(n_atoms, n, reseed_patience, duplicate_tol)
    # shuffle="no" is truthy: bool() shuffled it (the estimator refused it)
    shuffle = check_bool(shuffle, "shuffle")
    check_progress(progress)
    # recorded before anything draws: a Generator's state is then the run's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    state = OnlineState(initial_dictionary(X, n_atoms, init, rng), coder, forget_factor,
                        n_passes, AtomUsage(n_atoms, reseed_patience, duplicate_tol, min_usage),
                        rng)
    run_epochs(state, X, n_updates, batch_size, shuffle, rng, progress)
    state.history.warn_if_nothing_coded(coder)
    attrs = online_attrs(state, n_atoms, p, batch_size, init, reseed_patience, duplicate_tol,
                         seed_record, n_samples=n)
    attrs.update(n_training_samples=n, shuffle=shuffle)
    return state.D.astype(coder.dtype), state.history.to_dataset(attrs)


def run_epochs(state, X, n_updates, batch_size, shuffle, rng, progress):
    """``n_updates`` steps of ``state`` on minibatches of ``X`` (trusted inputs).

    Parameters
    ----------
    state : OnlineState
        Updated in place.
    X : ndarray, shape (n_samples, n_features)
        Training samples (not checked), of any real dtype: each minibatch is
        converted to the dtype of ``state.D``.
    n_updates : int
        Minibatch updates to make.
    batch_size : int
        Samples per minibatch (at most ``n_samples``).
    shuffle : bool
        Take the minibatches from a fresh permutation every epoch, else in order.
    rng : numpy.random.Generator
        Source of the minibatch permutations (``state`` has its own for re-seeding).
    progress : bool or None
        Show a tqdm bar over the updates (None: once the call has run 2 s,
        :mod:`v1model.progress`).

    Returns
    -------
    None
    """

    batches = Minibatches(X.shape[0], batch_size, shuffle, rng)
    bar = progress_bar(progress, total=n_updates, desc="online", unit="update",
                       iterable=range(n_updates))
    # the solver's shortfalls are warned of once, for the run (not per minibatch)
    with tally_not_converged("method_params", state.coder.params) as tally, \
            blas_threads_for_step(minibatch_flops(state, min(batch_size, X.shape[0]))):
        for _ in bar:
            state.step(np.asarray(X[batches.next()], dtype=state.D.dtype))
            bar.set_postfix(obj=f"{state.history.last('objective'):.4g}", refresh=False)
    tally.warn(n_updates)


def minibatch_flops(state, batch_size) -> float:
    """Work of one inference iteration on a minibatch of ``batch_size``: below
    :data:`v1model._blas.SMALL_STEP_FLOPS` the steps run on one BLAS thread."""
    return coding_iteration_flops(batch_size, *state.D.shape)


def online_attrs(state, n_atoms, n_features, batch_size, init, reseed_patience, duplicate_tol,
                 seed_record, n_samples=None) -> dict:
    """History attrs of an online run. ``seed_record`` is the seed as
    ``seed_attr(seed, before_use=True)`` recorded it before the run drew (a Generator's
    state at the start). ``batch_size`` is the requested one; with
    ``n_samples`` (the training set of ``learn_online`` / ``fit``) the minibatches
    hold ``min(batch_size, n_samples)`` samples, and that is recorded as
    ``batch_size`` (a stream, ``n_samples=None``, is cut into slices of
    ``batch_size``: its short slices are in the ``n_samples`` column)."""
    return dict(
        learner="online", n_atoms=n_atoms, n_features=n_features, n_updates=state.n_updates,
        n_samples_seen=state.n_samples_seen,
        batch_size=batch_size if n_samples is None else min(batch_size, n_samples),
        batch_size_requested=batch_size,
        forget_factor=state.forget_factor, n_passes=state.n_passes,
        init=init if isinstance(init, str) else "array", reseed_patience=reseed_patience,
        min_usage=state.usage.min_usage, duplicate_tol=duplicate_tol, seed=seed_record,
        **state.coder.describe(),
    )
