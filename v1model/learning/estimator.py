"""A scikit-learn compatible dictionary learner.

:class:`SparseDictionaryLearner` is a thin layer over :func:`learn_online`,
:func:`learn_mod` and :func:`learn_ksvd` with the estimator protocol
(``fit`` / ``partial_fit`` / ``transform`` / ``get_params`` /
``set_params``), so that it drops into a :class:`sklearn.pipeline.Pipeline`
or a grid search. scikit-learn is not needed to use it: ``get_params`` and
``set_params`` are implemented here from the signature of ``__init__`` (duck
typing, as scikit-learn's own protocol allows), and the one hook that returns
scikit-learn objects, ``__sklearn_tags__``, imports scikit-learn only when
scikit-learn itself calls it.
"""

from __future__ import annotations

import inspect

import numpy as np

from .._estimator_params import set_checked_params
from ..io import SavedAsDataset, seed_attr
from ..progress import inner_progress, progress_bar
from ..validation import (as_generator, check_bool, check_choice, check_dtype, check_int,
                          check_positive, describe)
from ..inference._common import SolverSettings, solver_settings, tally_not_converged
from ..inference.encode import GREEDY_METHODS, L1_METHODS
from ._atoms import AtomUsage, check_min_usage, check_reseeding, initial_dictionary
from ._coding import check_lam_below_data, check_tol_resolution, make_coder
from ._data import check_training_data, check_training_rows
from ._frames import (check_feature_names, feature_names, output_feature_names,
                      requested_output, set_transform_output, transform_output, wrap_output)
from .ksvd import learn_ksvd
from .mod import learn_mod
from .._blas import blas_threads_for_step
from .online import (OnlineState, check_online_params, minibatch_flops, online_attrs,
                     run_epochs, warn_online_atoms_exceed_samples)

__all__ = ["SparseDictionaryLearner", "NotFittedError", "ALGORITHMS"]

ALGORITHMS = ("online", "mod", "ksvd", "ksvd-approx")
#: L1 penalty when ``lam`` is not given and the method is an L1 method
DEFAULT_LAM = 0.1
#: default number of updates: minibatches (online) or full passes (MOD, K-SVD)
DEFAULT_UPDATES = {"online": 1000, "mod": 30, "ksvd": 30, "ksvd-approx": 30}
#: default re-seeding patience (updates without use)
DEFAULT_PATIENCE = {"online": 10, "mod": 1, "ksvd": 1, "ksvd-approx": 1}
#: how partial_fit's refusal of a changed n_atoms tells a user to start again (a user who
#: can only stream, with no whole X to fit, needs the clone: fit said nothing to them)
START_AFRESH = ("call fit to start afresh, or, to stream from scratch, partial_fit a "
                "sklearn.base.clone(learner) (the same parameters, nothing learned)")


class SparseDictionaryLearner(SavedAsDataset):
    """Learn a sparse-coding dictionary; transform data into sparse codes.

    Minimises ``sum_i 0.5 ||x_i - a_i D||^2 + penalty(a_i)`` over codes and
    unit-norm atoms (the rows of ``components_``).

    Parameters
    ----------
    n_atoms : int, optional
        Number of atoms; default ``n_features`` (a complete dictionary).
    algorithm : {"online", "mod", "ksvd", "ksvd-approx"}, default "online"
        Dictionary update: online (Mairal et al. 2009; supports
        ``partial_fit``), Method of Optimal Directions, exact or approximate
        K-SVD.
    method : {"fista", "ista", "lca", "omp", "mp", "iht", "cd", "active_set"}, default "fista"
        Sparse inference used while learning (and in ``transform`` unless
        ``transform_method`` is given).
    lam : float, optional
        L1 penalty (units of ``X``) for the L1 methods (default 0.1); hard
        threshold for ``"iht"`` (give ``lam`` or ``n_nonzero``); not passed
        to ``"omp"`` and ``"mp"``. Equal to scikit-learn's ``alpha`` in
        ``MiniBatchDictionaryLearning``.
    n_nonzero : int, optional
        Non-zeros per code for ``"omp"``, ``"mp"`` and ``"iht"``; not passed
        to the L1 methods. ``method`` and ``transform_method`` each take the
        one they use, so a learner can learn with an L1 method and transform
        with OMP (scikit-learn's ``transform_algorithm="omp"``), or the
        reverse; ``"iht"`` takes ``n_nonzero`` when it is given, else
        ``lam`` as its hard threshold.
    positive : bool or None, default None
        Non-negative codes. None: False, except with ``method="lca"`` and a
        ``threshold`` in ``method_params``, whose codes follow it (``"nonneg"``:
        non-negative); given with one, the two must agree (``True`` with
        ``"nonneg"``, ``False`` with ``"soft"`` or ``"hard"``), as in
        :func:`v1model.inference.encode`. ``transform`` and ``score`` code with the
        sign the dictionary was learned with, whatever ``transform_method``,
        unless ``transform_method="lca"`` is given its own ``threshold`` in
        ``transform_params``.
    method_params : dict, optional
        Extra keyword arguments of :func:`v1model.inference.encode` while
        learning (default ``tol`` for FISTA 1e-2, ISTA and LCA 1e-3: see
        ``v1model.learning._coding.LEARNING_TOL``), and in ``transform`` and
        ``score`` when they code with the same method (see
        ``transform_params``). Not ``lam``, ``n_nonzero``, ``positive``,
        ``dtype``, ``seed`` (the learner's own arguments), ``return_history``,
        ``return_n_iter``, ``return_trajectory``, nor a warm start ``A0`` /
        ``u0`` (one row per sample of a single batch, while the learner codes
        batches of other sizes).
    n_updates : int, optional
        Minibatch updates (online, default 1000) or full passes (MOD, K-SVD,
        default 30) made by ``fit``.
    batch_size : int, default 256
        Samples per minibatch (online); MOD and K-SVD use all samples.
    forget_factor : float, default 10.0
        Online: weight ``(1 - 1/t)**forget_factor`` of the old statistics.
    n_passes : int, default 1
        Online: block-coordinate-descent passes per update.
    shuffle : bool, default True
        Online ``fit``: reshuffle the samples every epoch.
    ridge : float, default 1e-6
        MOD: relative ridge on ``A^T A``.
    init : {"data", "random"} or array_like, shape (n_atoms, n_features), default "data"
        Initial dictionary.
        Atoms as images (n_atoms, height, width) are flattened row-major, as
        patches are (:func:`~v1model.validation.flatten_image_atoms`). Online, a
        learned dictionary given here starts with empty statistics, as
        scikit-learn's ``dict_init``: its first minibatches move it towards
        their few samples (the README's measurements); ``partial_fit`` on the
        learner itself keeps them.
    reseed_patience : int, "auto" or None, default "auto"
        Re-seed atoms unused for this many updates ("auto": 10 online, 1
        otherwise; None: never). In ``partial_fit`` a minibatch shorter than
        ``batch_size`` counts for its share of an update (a chunk of one sample
        for 1 / ``batch_size``).
    duplicate_tol : float or None, default 0.99
        Re-seed atoms whose |cosine| with an earlier atom exceeds this (with
        ``positive`` their cosine: ``d`` and ``-d`` are two atoms then).
    min_usage : int, default 1
        An atom that fewer than this many samples use in an update counts as
        unused for ``reseed_patience`` (1: only atoms no sample uses; 4 is the
        "clear dictionary" rule of Aharon et al.'s K-SVD toolbox, see
        :func:`v1model.learning.learn_ksvd`). Online, it counts the codes of a
        minibatch; in ``partial_fit`` a minibatch shorter than ``batch_size``
        asks for its share of it. Refused above the samples an update codes
        (all of ``X`` for MOD and K-SVD, ``batch_size`` online, or fewer
        training samples) and above 1 with ``reseed_patience=None``.
    transform_method : str, optional
        Inference method of ``transform`` (default ``method``).
    transform_params : dict, optional
        Extra ``encode`` arguments for ``transform`` and ``score``. When they
        code with the learning ``method`` (no ``transform_method``, or the
        same one), they start from ``method_params`` and these override it
        key by key, so that the codes are those the dictionary was learned
        with (e.g. ``method_params={"threshold": "hard"}`` with
        ``method="lca"``); the solver's own defaults otherwise (for FISTA,
        ISTA and LCA a tolerance tighter than while learning, unless
        ``method_params`` sets one; the other solvers learn at their default
        tolerance too, e.g. ``"cd"``'s 1e-2: ``transform_params={"tol": ...}``
        to code tighter). The keys refused in ``method_params`` (``lam``,
        ``n_nonzero``, ``positive``, ...) are refused here too.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the coding, of ``components_`` and of the codes; the two
        learn atoms that agree to the solver's tolerance (tighten it with
        ``method_params={"tol": ...}``: :func:`v1model.learning.learn_mod`).
    seed : int, SeedSequence, Generator or None
        Seed of the initial dictionary, minibatch order and re-seeding. An
        int or a SeedSequence gives the same dictionary at every ``fit``. A
        Generator is used as it is, not copied: ``fit`` advances it (a second
        ``fit`` differs from the first) and the online stream draws from it
        in ``partial_fit``; a pickled or deep-copied learner holds its own
        copy of it. The history's ``attrs["seed"]`` records its state at the
        start of the ``fit`` (or of the stream), from which
        :func:`v1model.io.seed_from_attr` makes a Generator that learns the same
        dictionary again. None: fresh entropy at every ``fit``.
    progress : bool, default False
        Show a progress bar in ``fit`` (and, once it has run 2 s, in a long
        ``partial_fit`` or the solver's of a long ``transform`` or ``score``);
        False: none anywhere.

    Attributes
    ----------
    components_ : ndarray, shape (n_atoms, n_features)
        The dictionary, one unit-norm atom per row.
    n_iter_ : int
        Dictionary updates made so far (``partial_fit`` keeps counting): for
        ``algorithm="online"`` minibatches, scikit-learn's ``n_steps_``, not
        its ``n_iter_`` (passes over the data).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Column names of the pandas DataFrame given to ``fit`` (only when it
        had string column names); ``transform`` then checks them.
    history_ : xarray.Dataset
        Learning history over ``update`` (objective, reconstruction error,
        mean |a|, fraction active, atoms re-seeded, samples coded, samples the
        solver left short of its ``tol`` (``n_unconverged``), wall time), parameters in
        attrs (``batch_size``: the minibatch size ``fit`` used, at most the
        number of samples; ``batch_size_requested``: the parameter; in
        ``partial_fit`` both are the parameter, the slice each update coded
        is in the ``n_samples`` column). ``fit`` starts it afresh, as it does the dictionary;
        ``partial_fit`` appends one row per update, the ``update`` index,
        ``wall_time`` and ``attrs["n_updates"]`` carrying on (after
        :meth:`load` too). After ``set_params`` between ``partial_fit`` calls the attrs
        give the settings of the latest chunk and ``settings_changed_at``
        the updates after which they changed.

    Notes
    -----
    ``set_output(transform="pandas")`` (or scikit-learn's global
    ``set_config(transform_output="pandas")``) makes ``transform`` return a
    DataFrame with the columns of ``get_feature_names_out()``.

    Where it differs from scikit-learn's ``MiniBatchDictionaryLearning``
    (``lam`` is its ``alpha``, ``n_atoms`` its ``n_components``, ``seed`` its
    ``random_state``, an ``init`` array its ``dict_init``, ``positive`` its
    ``positive_code``):

    - ``transform`` codes with the learning ``method`` at ``lam`` unless
      ``transform_method`` is given; scikit-learn's default is OMP with
      ``n_features // 10`` atoms per sample (``transform_algorithm="omp"``),
      whatever ``alpha``.
    - ``n_updates`` counts minibatch updates, with no early stop;
      scikit-learn's ``max_iter`` counts passes over the data and stops
      early on ``tol`` / ``max_no_improvement``.
    - ``partial_fit(X)`` makes one update per ``batch_size`` rows of ``X``;
      scikit-learn's makes one update from all of ``X``.
    - ``components_`` and the codes are float32 by default, for float64
      ``X`` too (``dtype="float64"`` for float64); scikit-learn keeps the
      dtype of ``X``.
    - The initial dictionary is drawn from the samples (``init="data"``), not
      from an SVD of ``X``.
    - There is no ``n_jobs``: the solvers use the BLAS threads and, for
      ``"cd"``, numba's (``NUMBA_NUM_THREADS``); learning runs a small
      minibatch step on one BLAS thread (:mod:`v1model._blas`).

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.learning import SparseDictionaryLearner
    >>> X = np.random.default_rng(0).standard_normal((300, 16))
    >>> learner = SparseDictionaryLearner(24, lam=0.5, n_updates=20, batch_size=50, seed=0)
    >>> codes = learner.fit_transform(X)
    >>> codes.shape, learner.components_.shape
    ((300, 24), (24, 16))
    """

    def __init__(
        self,
        n_atoms=None,
        *,
        algorithm="online",
        method="fista",
        lam=None,
        n_nonzero=None,
        positive=None,
        method_params=None,
        n_updates=None,
        batch_size=256,
        forget_factor=10.0,
        n_passes=1,
        shuffle=True,
        ridge=1e-6,
        init="data",
        reseed_patience="auto",
        duplicate_tol=0.99,
        min_usage=1,
        transform_method=None,
        transform_params=None,
        dtype="float32",
        seed=None,
        progress=False,
    ):
        self.n_atoms = n_atoms
        self.algorithm = algorithm
        self.method = method
        self.lam = lam
        self.n_nonzero = n_nonzero
        self.positive = positive
        self.method_params = method_params
        self.n_updates = n_updates
        self.batch_size = batch_size
        self.forget_factor = forget_factor
        self.n_passes = n_passes
        self.shuffle = shuffle
        self.ridge = ridge
        self.init = init
        self.reseed_patience = reseed_patience
        self.duplicate_tol = duplicate_tol
        self.min_usage = min_usage
        self.transform_method = transform_method
        self.transform_params = transform_params
        self.dtype = dtype
        self.seed = seed
        self.progress = progress

    # ------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self"]

    def get_params(self, deep=True):
        """Parameters of the estimator, as passed to ``__init__``.

        Parameters
        ----------
        deep : bool, default True
            Ignored (the learner holds no sub-estimators); kept for the
            scikit-learn protocol.

        Returns
        -------
        params : dict
            Parameter name -> current value, for every argument of ``__init__``.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters (no validation until ``fit``); returns ``self``.

        Parameters
        ----------
        **params
            New values of arguments of ``__init__``, by name; an unknown name
            raises ValueError.

        Returns
        -------
        self : SparseDictionaryLearner
        """
        return set_checked_params(self, params, {})  # the settings are checked by fit

    def __repr__(self):
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for key, value in self.get_params().items():
            default = defaults[key]
            if value is default or (isinstance(value, (str, int, float, bool, type(None)))
                                    and type(value) is type(default) and value == default):
                continue
            # an array (init) by its shape: its values ran the repr over thousands of characters
            text = (f"<{describe(value)}>" if isinstance(value, np.ndarray)
                    else describe(value, limit=80))
            changed.append(f"{key}={text}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # called by scikit-learn only, so scikit-learn is importable here
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        try:
            preserved = [check_dtype(self.dtype).name]
        except (TypeError, ValueError):
            preserved = ["float32"]
        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=preserved),
            input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
            non_deterministic=self.seed is None,
        )

    # ------------------------------------------------------------- fitting
    def _validated(self, n_features):
        """Validated copies of the parameters (never stored on ``self``)."""
        algorithm = check_choice(self.algorithm, "algorithm", ALGORITHMS)
        n_atoms = n_features if self.n_atoms is None else check_int(self.n_atoms, "n_atoms",
                                                                     minimum=1)
        coder = self._coder(self.method, self.method_params, learning=True)
        _check_n_nonzero(coder, n_atoms, n_features, "learning")
        # a bad transform setting fails here, not after the fit
        _check_n_nonzero(self._transform_coder(), n_atoms, n_features, "transform")
        n_updates = (DEFAULT_UPDATES[algorithm] if self.n_updates is None
                     else check_int(self.n_updates, "n_updates", minimum=1))
        batch_size = check_int(self.batch_size, "batch_size", minimum=1)
        forget_factor, n_passes = check_online_params(self.forget_factor, self.n_passes)
        # checked whatever the algorithm, as the online settings are: ridge=-1 passed
        # unsaid with "online" or "ksvd" and failed only once set_params chose "mod"
        ridge = check_positive(self.ridge, "ridge")
        patience = (DEFAULT_PATIENCE[algorithm] if isinstance(self.reseed_patience, str)
                    and self.reseed_patience == "auto" else self.reseed_patience)
        patience, duplicate_tol = check_reseeding(patience, self.duplicate_tol)
        # checked against the samples an update codes by fit and partial_fit (online), by
        # learn_mod and learn_ksvd otherwise
        min_usage = check_int(self.min_usage, "min_usage", minimum=1)
        check_bool(self.shuffle, "shuffle")
        check_bool(self.progress, "progress")
        return dict(algorithm=algorithm, n_atoms=n_atoms, coder=coder, n_updates=n_updates,
                    batch_size=batch_size, forget_factor=forget_factor, n_passes=n_passes,
                    ridge=ridge, reseed_patience=patience, duplicate_tol=duplicate_tol,
                    min_usage=min_usage)

    def fit(self, X, y=None):
        """Learn the dictionary from ``X`` (n_samples, n_features); returns ``self``.

        Starts afresh (``partial_fit`` continues from the current state).

        Parameters
        ----------
        X : array_like or DataFrame, shape (n_samples, n_features)
            Training samples, one per row.
        y : ignored

        Returns
        -------
        self : SparseDictionaryLearner
            The fitted learner (``components_``, ``n_iter_``, ``history_`` set).
        """
        names = feature_names(X)
        # a memmap stays one: online reads it per minibatch, MOD and K-SVD convert it
        X = check_training_rows(X, dtype=check_dtype(self.dtype))
        v = self._validated(X.shape[1])
        # the seed as this fit starts from it (a Generator's state before any draw): what
        # save keeps, so that the loaded learner's fit starts where this one did
        self._seed_at_fit = (self.seed, seed_attr(self.seed, before_use=True))
        coder = v["coder"]
        common = dict(method=coder.method, lam=coder.lam, n_nonzero=coder.n_nonzero,
                      positive=self.positive, method_params=self.method_params,
                      n_updates=v["n_updates"], init=self.init,
                      reseed_patience=v["reseed_patience"], duplicate_tol=v["duplicate_tol"],
                      dtype=self.dtype, seed=self.seed, progress=self.progress)
        if v["algorithm"] == "online":
            # learn_mod and learn_ksvd check it themselves
            check_lam_below_data(X, coder, v["n_atoms"])
            check_min_usage(v["min_usage"], v["reseed_patience"],
                            min(v["batch_size"], X.shape[0]))
            # as learn_online warns (fit said nothing of 64 atoms on 10 samples)
            warn_online_atoms_exceed_samples(v["n_atoms"], X.shape[0], v["reseed_patience"],
                                             v["duplicate_tol"])
            state = self._new_state(X, v, n_samples=X.shape[0])
            run_epochs(state, X, v["n_updates"], v["batch_size"], bool(self.shuffle), state.rng,
                       self.progress)
            state.history.warn_if_nothing_coded(coder)
            self._state = state
            self._set_fitted(state.D, state.n_updates, X.shape[1], None, names)
        else:
            # they refuse a min_usage above the samples, or above 1 without reseed_patience
            common["min_usage"] = v["min_usage"]
            if v["algorithm"] == "mod":
                D, history = learn_mod(X, v["n_atoms"], ridge=v["ridge"], **common)
            else:
                D, history = learn_ksvd(X, v["n_atoms"],
                                        approximate=v["algorithm"] == "ksvd-approx", **common)
            self._state = None  # only now: a refused or interrupted fit keeps the last one whole
            self._set_fitted(D, history.sizes["update"], X.shape[1], history, names)
        return self

    @property
    def partial_fit(self):
        """``partial_fit(X, y=None)``: only for ``algorithm="online"`` (for the
        other algorithms the attribute does not exist, so that
        ``hasattr(learner, "partial_fit")`` tells whether streaming works)."""
        if self.algorithm != "online":
            raise AttributeError(f"partial_fit is only available with algorithm='online', not "
                                 f"algorithm={self.algorithm!r} (MOD and K-SVD are batch methods)")
        return self._partial_fit

    def _partial_fit(self, X, y=None):
        """Update the dictionary with one more chunk ``X`` of a stream
        (``algorithm="online"`` only); returns ``self``.

        The chunk is cut into consecutive minibatches of ``batch_size`` (the
        last one may be smaller), each one update. The first call initialises
        the dictionary from the chunk (``init``), or, on a learner fitted (or
        loaded) with ``algorithm="mod"``, ``"ksvd"`` or ``"ksvd-approx"`` and
        then set to ``"online"``, starts the stream from its ``components_``
        (fresh statistics; ``n_atoms`` and the features must match it, and
        ``n_iter_`` and ``history_`` are the stream's from then on). With
        ``init="data"``, a first chunk of fewer samples than ``n_atoms`` (the
        initial atoms are drawn from it) is warned of, as ``fit`` warns of a
        training set that small; later chunks are not.
        Memory stays constant however many
        chunks are streamed. A first chunk that fails (or is interrupted)
        leaves no stream behind; a later one that fails before its first
        update leaves the stream and its settings as they were, and one
        stopped after some updates keeps them (``components_``, ``n_iter_``
        and ``history_`` included).

        Samples the solver leaves short of its ``tol`` are warned of (a
        ``ConvergenceWarning`` naming ``method_params`` keys) at the first
        chunk they come in, and then, while they keep coming, once at each
        doubling of the chunk count (at chunks ``2c``, ``4c``, ... after one
        warned of at chunk ``c``), counting the updates since the last warning:
        about 10 warnings for a stream of 1,000 chunks, not 1,000. A changed
        setting (``set_params``) is warned of afresh; a reloaded learner
        (``from_dataset``) starts the count again.
        """
        state = getattr(self, "_state", None)
        # fitted by MOD or K-SVD: the stream starts from that dictionary (it started from
        # init="data" on the chunk, dropping the fitted one unsaid)
        fitted = self._batch_fitted() if state is None else None
        if state is None and fitted is None:
            names = feature_names(X)
        else:  # a stream keeps the columns of its first chunk (or of the fit)
            names = getattr(self, "feature_names_in_", None)
            check_feature_names(self, X, names)
        # a later chunk may be all zero: a quiet stretch of a stream, idling no atom
        X = check_training_rows(X, allow_zero=state is not None or fitted is not None,
                                dtype=check_dtype(self.dtype))
        D_now = state.D if state is not None else fitted
        if D_now is not None and X.shape[1] != D_now.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {D_now.shape[1]} features as input")
        v = self._validated(X.shape[1] if D_now is None else D_now.shape[1])
        if fitted is not None and v["n_atoms"] != fitted.shape[0]:
            raise ValueError(f"n_atoms={self.n_atoms} but the fitted dictionary has "
                             f"{fitted.shape[0]} atoms; {START_AFRESH}")
        # a chunk's minibatches ask for their share of it: batch_size, whatever the chunk
        check_min_usage(v["min_usage"], v["reseed_patience"], v["batch_size"])
        fresh = state is None
        if fresh:
            if fitted is None:
                # as fit: a lam that zeroes every code of the first chunk learns nothing
                # (later chunks are not checked: a quiet stretch of a stream is not an error)
                check_lam_below_data(X, v["coder"], v["n_atoms"])
                if isinstance(self.init, str) and self.init == "data":
                    # as fit warns, once per stream: a one-sample first chunk made 24 atoms
                    # of one sample and noise, unsaid (later chunks are a stream's pace, not
                    # its size; a given or random init draws nothing from the chunk)
                    warn_online_atoms_exceed_samples(
                        v["n_atoms"], X.shape[0], v["reseed_patience"], v["duplicate_tol"],
                        "samples of the first chunk, from which init='data' draws the atoms")
            else:
                check_tol_resolution(X, v["coder"])
            # kept only once the chunk is learned: a first chunk refused by the solver (an
            # unstable LCA dt) left a stream that no transform saw as fitted but that fixed
            # n_features for the next partial_fit
            state = self._new_state(X, v, init=fitted)
        elif v["n_atoms"] != state.D.shape[0]:
            raise ValueError(f"n_atoms={self.n_atoms} but the streamed dictionary has "
                             f"{state.D.shape[0]} atoms; {START_AFRESH}")
        else:  # parameters changed with set_params take effect from this chunk on
            # a later chunk's larger sample: refused here, naming its row of this X (the
            # solver named the row of a minibatch, after the updates before it)
            check_tol_resolution(X, v["coder"])
            previous = (state.coder, state.forget_factor, state.n_passes,
                        state.usage.patience, state.usage.duplicate_tol,
                        state.usage.min_usage, state.attrs)
            state.coder, state.forget_factor, state.n_passes = (
                v["coder"], v["forget_factor"], v["n_passes"])
            state.usage.patience, state.usage.duplicate_tol, state.usage.min_usage = (
                v["reseed_patience"], v["duplicate_tol"], v["min_usage"])
            self._describe_settings(state, v, X.shape[1])
        done = state.n_updates
        # a chunk that takes long (a whole memmap) draws a bar after 2 s when told progress
        starts = range(0, X.shape[0], v["batch_size"])
        bar = progress_bar(inner_progress(self.progress), total=len(starts), desc="partial_fit",
                           unit="update", iterable=starts)
        try:
            # the solver's shortfalls are tallied over the chunk (not warned per minibatch)
            with tally_not_converged("method_params", state.coder.params) as tally, \
                    blas_threads_for_step(minibatch_flops(state, min(v["batch_size"],
                                                                     X.shape[0]))):
                for start in bar:
                    batch = np.asarray(X[start : start + v["batch_size"]], dtype=state.D.dtype)
                    # a short minibatch (a small chunk, a chunk's tail) idles atoms by its share
                    state.step(batch, share=len(batch) / v["batch_size"])
        except BaseException:
            if not fresh and state.n_updates == done:
                # no update used the new settings: the history's attrs named them (and a
                # change at this update) all the same, and again once set back
                (state.coder, state.forget_factor, state.n_passes, state.usage.patience,
                 state.usage.duplicate_tol, state.usage.min_usage, state.attrs) = previous
            elif not fresh:  # the minibatches learned before the failure stay in the stream
                self._set_fitted(state.D, state.n_updates, X.shape[1], None, names)
            raise
        self._state = state
        self._set_fitted(state.D, state.n_updates, X.shape[1], None, names)
        # and warned of for the stream: at the first chunk with one, then at doubling chunks
        state.not_converged.warn(tally, len(starts))
        return self

    def _new_state(self, X, v, n_samples=None, init=None):
        """A new stream, its generator made from ``self.seed`` (its draws: the initial
        dictionary, then the minibatch order and re-seeding). ``init``: the dictionary of
        a MOD or K-SVD fit to start from, in place of ``self.init``."""
        # recorded before anything draws: a Generator's state is then the run's start (it
        # was recorded after the initial dictionary was drawn, "not reproducible")
        seed_record = seed_attr(self.seed, before_use=True)
        self._seed_at_fit = (self.seed, seed_record)  # what save keeps of a Generator seed
        rng = as_generator(self.seed)
        D = initial_dictionary(X, v["n_atoms"], self.init if init is None else init, rng)
        usage = AtomUsage(v["n_atoms"], v["reseed_patience"], v["duplicate_tol"], v["min_usage"])
        state = OnlineState(D, v["coder"], v["forget_factor"], v["n_passes"], usage, rng)
        state.attrs = {}
        self._describe_settings(state, v, X.shape[1], n_samples, seed_record)
        if init is not None:
            learner = self._history.attrs.get("learner", "batch")
            state.attrs["init"] = f"components_ of the {learner} fit"
        return state

    def _batch_fitted(self):
        """``components_`` (float64) of a learner fitted (or loaded) with MOD or K-SVD,
        which has no stream; None for an unfitted learner."""
        if getattr(self, "_state", None) is not None or not hasattr(self, "components_"):
            return None
        return np.array(self.components_, dtype=np.float64)

    def _describe_settings(self, state, v, n_features, n_samples=None, seed_record=None):
        """Set the history attrs of ``state`` to the current settings,
        recording the update after which they changed, if they did.
        ``n_samples``: the training set of ``fit``, whose minibatches hold at
        most that many samples (``batch_size`` records the size used).
        ``seed_record``: a new stream's seed as :func:`v1model.io.seed_attr` recorded
        it before the first draw (a stream going on keeps its first chunk's)."""
        attrs = online_attrs(state, v["n_atoms"], n_features, v["batch_size"], self.init,
                             v["reseed_patience"], v["duplicate_tol"], seed_record, n_samples)
        if state.attrs:  # the stream's generator and start were fixed by its first chunk
            attrs.update(seed=state.attrs["seed"], init=state.attrs["init"])
        old = dict(state.attrs)
        # a stream saved before batch_size_requested was recorded
        old.setdefault("batch_size_requested", old.get("batch_size"))
        old.setdefault("min_usage", 1)  # and before online learning took min_usage
        old.setdefault("lam_units", attrs.get("lam_units"))  # and before lam had its unit
        changed = list(state.attrs.get("settings_changed_at", []))
        # the setting is batch_size_requested; batch_size is what a fit on fewer samples used
        counters = ("n_updates", "n_samples_seen", "settings_changed_at", "batch_size")
        if state.attrs and any(attrs.get(key) != old.get(key)
                               for key in set(attrs) | set(old) if key not in counters):
            changed.append(state.n_updates)
        if changed:
            attrs["settings_changed_at"] = changed
        state.attrs = attrs

    def _set_fitted(self, D, n_iter, n_features, history, names):
        self.components_ = np.array(D, dtype=check_dtype(self.dtype))
        self.n_iter_ = int(n_iter)
        self.n_features_in_ = int(n_features)
        self._history = history
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    @property
    def history_(self):
        """Learning history (xarray Dataset over ``update``)."""
        self._check_fitted()
        if self._history is not None:
            return self._history
        state = self._state
        attrs = dict(state.attrs, n_updates=state.n_updates,
                     n_samples_seen=state.n_samples_seen)
        return state.history.to_dataset(attrs)

    # ----------------------------------------------------------- transform
    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise _not_fitted(self)

    def _check_input(self, X, float64=True):
        """``X`` checked, as float64 (``float64=False``: of its own real dtype, no copy)."""
        self._check_fitted()
        check_feature_names(self, X, getattr(self, "feature_names_in_", None))
        check = check_training_data if float64 else check_training_rows
        X = check(X, allow_zero=True, dtype=check_dtype(self.dtype))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input")
        return X

    def _transform_coder(self):
        method = self.method if self.transform_method is None else self.transform_method
        names = (("transform_method", "transform_params") if self.transform_method is not None
                 else ("method", "transform_params"))
        params = self.transform_params
        if (method == self.method and isinstance(self.method_params, dict)
                and (params is None or isinstance(params, dict))):
            # the code the dictionary was learned with (a hard threshold, a time constant),
            # not the solver's default one; transform_params override it key by key
            params = {**self.method_params, **(params or {})}
        positive = self.positive
        if positive is None and not (method == "lca" and isinstance(params, dict)
                                     and "threshold" in params):
            # the sign the codes were learned with (LCA's "nonneg" threshold): a
            # transform_method="fista" gave signed codes of a non-negative dictionary
            positive = self._coder(self.method, self.method_params, learning=True).positive or None
        return self._coder(method, params, learning=False, names=names, positive=positive)

    def _transform_settings(self, coder):
        """How the user sets the knobs of ``transform``'s solver, for its warnings: the
        keys of ``transform_params`` (a solver's "raise max_iter" named an argument the
        learner does not take), their values in use read from ``method_params`` when
        ``transform`` codes with the learning method and ``transform_params`` does not
        set them."""
        own = self.transform_params if isinstance(self.transform_params, dict) else {}
        inherited = {}
        if coder.method == self.method and isinstance(self.method_params, dict):
            inherited = {key: "method_params" for key in self.method_params if key not in own}
        # the solver transform uses is picked by transform_method, also when it is None
        return SolverSettings("transform_params", coder.params, inherited=inherited,
                              method_name="transform_method")

    def _coder(self, method, params, learning, names=("method", "method_params"),
               positive=None):
        """The validated setting of ``method``, given the parameters it uses.

        ``lam`` (default DEFAULT_LAM for the L1 methods) goes to the L1 methods,
        ``n_nonzero`` to the greedy ones; ``"iht"`` takes ``n_nonzero`` when it
        is given, else ``lam`` as its hard threshold. Both are checked even
        when ``method`` does not use them, since ``transform_method`` may.
        ``positive``: the sign constraint to use (None: the ``positive`` parameter).
        """
        lam = None if self.lam is None else check_positive(self.lam, "lam")
        n_nonzero = (None if self.n_nonzero is None
                     else check_int(self.n_nonzero, "n_nonzero", minimum=1))
        if method in L1_METHODS and lam is None:
            lam = DEFAULT_LAM
        elif method in ("mp", "omp") or (method == "iht" and n_nonzero is not None):
            lam = None
        if method not in GREEDY_METHODS:
            n_nonzero = None
        positive = self.positive if positive is None else positive
        return make_coder(method, lam, n_nonzero, positive, self.dtype, params,
                          learning=learning, names=names)

    def transform(self, X):
        """Sparse codes (n_samples, n_atoms) of ``X`` in the learned dictionary
        (a DataFrame after ``set_output(transform="pandas")``).

        Parameters
        ----------
        X : array_like or DataFrame, shape (n_samples, n_features)
            Samples to encode, with the ``n_features_in_`` features seen in ``fit``.

        Returns
        -------
        codes : ndarray or DataFrame, shape (n_samples, n_atoms)
            Codes in units of ``X`` (the atoms have unit norm), of dtype
            ``dtype``; a pandas or polars DataFrame with the columns of
            ``get_feature_names_out()`` when ``set_output`` asks for one.
        """
        output = requested_output(transform_output(self))
        frame = X
        X = self._check_input(X, float64=False)  # encode converts it to dtype (a memmap: once)
        coder = self._transform_coder()
        # a long transform draws the solver's bar unless the learner was told progress=False
        with solver_settings(self._transform_settings(coder)):
            codes = coder.encode(X, self.components_, as_generator(self.seed),
                                 progress=inner_progress(self.progress), float64=False)
        codes = codes.astype(coder.dtype, copy=False)
        if output == "default":
            return codes
        return wrap_output(codes, frame, self.get_feature_names_out(), output)

    def set_output(self, *, transform=None):
        """Container of ``transform``'s output: ``"default"`` (ndarray),
        ``"pandas"`` or ``"polars"`` (a DataFrame with the columns of
        ``get_feature_names_out()``); None keeps the current setting. Returns
        ``self``. Without a setting, scikit-learn's global
        ``transform_output`` applies.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default None
            Output container of ``transform`` and ``fit_transform``.

        Returns
        -------
        self : SparseDictionaryLearner
        """
        return set_transform_output(self, transform)

    def fit_transform(self, X, y=None):
        """``fit(X)`` then ``transform(X)``.

        Parameters
        ----------
        X : array_like or DataFrame, shape (n_samples, n_features)
            Training samples, one per row.
        y : ignored

        Returns
        -------
        codes : ndarray or DataFrame, shape (n_samples, n_atoms)
            Codes of ``X`` in the learned dictionary, as :meth:`transform`.
        """
        return self.fit(X, y).transform(X)

    def inverse_transform(self, codes):
        """Reconstructions ``codes @ components_`` (n_samples, n_features).

        Parameters
        ----------
        codes : array_like, shape (n_samples, n_atoms)
            Sparse codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_hat : ndarray, shape (n_samples, n_features)
            Reconstructed samples (units of the training data), of the dtype
            of ``components_``.
        """
        self._check_fitted()
        from ..validation import check_array

        codes = check_array(codes, "codes", ndim=2)
        if codes.shape[1] != self.components_.shape[0]:
            raise ValueError(f"codes has {codes.shape[1]} columns, but the dictionary has "
                             f"{self.components_.shape[0]} atoms")
        return (codes @ self.components_.astype(np.float64)).astype(self.components_.dtype)

    def score(self, X, y=None):
        """Minus the mean objective per sample of ``transform(X)`` (higher is better).

        Parameters
        ----------
        X : array_like or DataFrame, shape (n_samples, n_features)
            Samples to encode and score.
        y : ignored

        Returns
        -------
        score : float
            ``-mean_i(0.5 ||x_i - a_i D||^2 + penalty(a_i))``, computed in float64.

        Notes
        -----
        The objective depends on ``lam`` (and on ``n_nonzero`` for the greedy
        methods): a smaller ``lam`` always scores higher, so ``GridSearchCV``
        over ``lam`` or ``n_nonzero`` with this default score picks the
        smallest value, whatever the data. Compare those with a scorer of your
        own (e.g. the accuracy of a classifier after the codes in a
        ``Pipeline``); ``n_atoms``, ``algorithm`` or ``forget_factor`` at a fixed
        ``lam`` are compared on the same objective.
        """
        X = self._check_input(X)
        coder = self._transform_coder()
        D = self.components_.astype(np.float64)
        with solver_settings(self._transform_settings(coder)):
            codes = coder.encode(X, D, as_generator(self.seed),
                                 progress=inner_progress(self.progress))
        return -float(coder.objective(X, D, codes).mean())

    # ------------------------------------------------------------------- io
    def to_dataset(self):
        """The fitted learner as an xarray Dataset: ``components`` (atom,
        feature), the history (update), the parameters (and the ``set_output``
        setting, if any) in attrs and, for
        ``algorithm="online"``, the stream state, so that a reloaded learner
        continues ``partial_fit`` exactly.

        Returns
        -------
        xarray.Dataset
            Read back by :meth:`from_dataset`.
        """
        from ._persist import learner_to_dataset

        return learner_to_dataset(self)

    @classmethod
    def from_dataset(cls, ds):
        """The learner saved by :meth:`to_dataset` (fitted, ready to transform).

        Parameters
        ----------
        ds : xarray.Dataset
            A Dataset written by :meth:`to_dataset`.

        Returns
        -------
        learner : SparseDictionaryLearner
        """
        from ._persist import learner_from_dataset

        return learner_from_dataset(cls, ds)

    def get_feature_names_out(self, input_features=None):
        """Names of the code columns: ``sparsedictionarylearner0`` ... .

        ``input_features`` (optional) is only checked against the input
        columns: the codes' columns are atoms, not input features.

        Parameters
        ----------
        input_features : array_like of str, shape (n_features_in_,), optional
            Input column names; must equal ``feature_names_in_`` when that is set.

        Returns
        -------
        names : ndarray of str (object dtype), shape (n_atoms,)
            One name per code column.
        """
        self._check_fitted()
        return output_feature_names(self, self.components_.shape[0], input_features)


def _check_n_nonzero(coder, n_atoms, n_features, step):
    """Refuse an ``n_nonzero`` that the greedy solver of ``coder`` would refuse on
    a dictionary of ``n_atoms`` atoms of ``n_features`` features (``step``, e.g.
    "transform", names where it would have failed)."""
    n_nonzero = coder.n_nonzero
    if n_nonzero is None:
        return
    if coder.method == "omp" and n_nonzero > n_features:
        raise ValueError(f"n_nonzero={n_nonzero} exceeds n_features={n_features}: 'omp' (used "
                         f"in {step}) cannot select more linearly independent atoms than "
                         "features")
    if n_nonzero > n_atoms:
        raise ValueError(f"n_nonzero={n_nonzero} exceeds n_atoms={n_atoms}: {coder.method!r} "
                         f"(used in {step}) cannot select more atoms than the dictionary has")


class NotFittedError(ValueError, AttributeError):
    """The learner has no dictionary yet (call ``fit`` or ``partial_fit``).

    Subclasses ValueError and AttributeError, like scikit-learn's own."""


def _not_fitted(estimator):
    return NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet; call "
                          "'fit' or 'partial_fit' first")
