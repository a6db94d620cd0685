"""LISTA against ISTA and FISTA at equal depth (Gregor & LeCun 2010, Fig. 3): the
codes' error to the optimal LASSO codes and their LASSO objective."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._blas import blas_threads_for_step, coding_iteration_flops
from .._frames import user_stacklevel
from ..inference._common import (STEP_MARGIN, check_products_in_range, spectral_norm_gram,
                                 validate_problem)
from ..inference.fista import fista_iterate
from ..io import ITERATIONS_DONE, NOT_RECORDED_COUNT, clean_attrs, count_coord, seed_attr
from ..progress import check_progress, progress_bar
from ..validation import (CODE_DIMS, DATA_DIMS, as_generator, check_array, check_choice,
                          check_fits_in_memory, check_int, check_positive, check_same_features,
                          check_shape)
from ._unrolled import code_loss, lasso_loss
from .lista import (LISTA, OBJECTIVES, PARAMETRIZATIONS, _learning_rate, _one_sample_target,
                    optimal_codes_with_names)

__all__ = ["lista_error_by_depth", "solver_error_by_iteration", "check_depths", "SOLVERS"]

#: the solvers compared, in the order of the ``solver`` coordinate
SOLVERS = ("ista", "fista", "lista")
#: units of the LASSO objective
OBJECTIVE_UNITS = "(units of X)^2"


def _mean_objective(Z, X, D, lam):
    """Mean LASSO objective per sample, in float64."""
    return lasso_loss(*(np.asarray(a, np.float64) for a in (Z, X, D)), lam, grad=False)[0]


def _thresholds_below_zero(net, start):
    """``(thresholds below zero, the smallest threshold / start)`` of a fitted
    ``"full"`` network, ``start`` its thresholds' start ``lam / L``;
    ``(NOT_RECORDED_COUNT, NaN)`` for ``"step"`` (one threshold ``alpha_t lam`` per
    layer, of its step's sign: a step at or below zero is warned of as a failed run)."""
    if net.parametrization_ != "full":
        return NOT_RECORDED_COUNT, np.nan
    theta = np.asarray(net.threshold_, np.float64)
    return int(np.sum(theta < 0)), float(theta.min()) / start


def lista_error_by_depth(X_train, X_test, D, lam, depths=(1, 2, 3), *, seed=0,
                         target_tol=1e-8, target_test=None, dtype="float32",
                         **lista_params) -> xr.Dataset:
    """Error to the optimal LASSO codes, and LASSO objective, after ``T`` iterations or layers.

    For each ``T`` in ``depths``: ISTA and FISTA (constant step ``1 / L``,
    ``L = 1.0001 lambda_max(D D^T)`` as in :func:`v1model.inference.ista` and
    an untrained LISTA, no momentum restart, from zero codes) run
    exactly ``T`` iterations on ``X_test``, and a :class:`LISTA` with
    ``n_layers=T`` is trained on ``X_train`` and applied to ``X_test``. The
    error of codes ``Z`` is ``0.5 * mean_i ||z_i - z*_i||^2`` with ``z*``
    from :func:`optimal_codes`; their objective is the LASSO's,
    ``mean_i 0.5 ||x_i - z_i D||^2 + lam ||z_i||_1`` (what
    ``objective="lasso"`` trains for). FISTA's codes of ``X_train`` are
    computed only for ``objective="supervised"``.

    Parameters
    ----------
    X_train : array_like, shape (n_train, n_features) or (n_features,)
        Signals LISTA is trained on (1-D: one signal).
    X_test : array_like, shape (n_test, n_features) or (n_features,)
        Held-out signals the errors are measured on (1-D: one signal, as in
        :meth:`LISTA.encode` and :func:`v1model.inference.encode`).
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    lam : float
        L1 penalty, > 0 (units of ``X``).
    depths : sequence of int, default (1, 2, 3)
        Iterations / layers, each >= 1, at least one, none repeated.
    seed : int, Generator or None, default 0
        Seed of LISTA's minibatch order (one generator for all depths).
    target_tol : float, default 1e-8
        FISTA's tolerance for ``z*``.
    target_test : array_like, shape (n_test, n_atoms) or (n_atoms,), optional
        The optimal codes ``z*`` of ``X_test`` (one row when 1-D, with a 1-D
        ``X_test``), when the caller has them
        (e.g. from :func:`optimal_codes`, also given to
        :func:`solver_error_by_iteration`); default :func:`optimal_codes`
        of ``X_test`` to ``target_tol``. Cast to ``dtype``, as the computed
        ones are.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the three methods (``z*`` is computed in float64).
    **lista_params
        Other parameters of :class:`LISTA` (``parametrization``,
        ``objective``, ``n_steps``, ``batch_size``, ``learning_rate``, ...).
        ``progress`` also covers the bars of ``z*`` and of ISTA and FISTA:
        False draws none; True, None or not given, one once a stage has run 2 s.

    Returns
    -------
    xarray.Dataset
        ``prediction_error`` (solver, n_iter) in (units of codes)^2;
        ``zero_code_error`` (the error of all-zero codes,
        ``0.5 mean ||z*||^2``, a scale for the others); ``objective``
        (solver, n_iter) and ``optimal_objective`` (that of ``z*``) in
        (units of X)^2; ``n_negative_thresholds`` (n_iter), how many of
        LISTA's ``n_atoms`` thresholds ``theta`` were trained below zero (its
        codes are then dense: such a layer expands small values), and
        ``lowest_threshold`` (n_iter), its smallest threshold in units of its
        start ``lam / L`` (-1 and NaN for ``parametrization="step"``,
        :data:`v1model.io.NOT_RECORDED_COUNT`); the settings in attrs (every
        LISTA setting, given or default, as ``lista_<name>``), with ``learning_rate_used``
        (Adam's step per depth, in the order of ``depths``: resolved for
        ``learning_rate="auto"``, lower for deep ``"full"`` networks) and
        ``target_test``, where ``z*`` of ``X_test`` came from
        (``"optimal_codes"`` or ``"target_test"``, given); ``target_tol`` is
        "None" when no ``z*`` was computed (``objective="lasso"`` with
        ``target_test`` given).

    Warns
    -----
    UserWarning
        When a deeper LISTA ends with a held-out error more than 1% above a
        shallower one's: it holds the shallower network (more layers of the same weights
        start nearer ``z*``), so its training did not converge at that
        ``learning_rate`` and ``n_steps``.
    NegativeThresholdWarning
        (a UserWarning, from :meth:`LISTA.fit`) When a ``"full"`` LISTA's
        thresholds are trained below zero; their count is kept in
        ``n_negative_thresholds``.
    """
    lam = check_positive(lam, "lam")
    depths = check_depths(depths)
    target_tol = check_positive(target_tol, "target_tol")
    supervised = check_choice(lista_params.get("objective", "supervised"), "objective",
                              OBJECTIVES) == "supervised"
    check_choice(lista_params.get("parametrization", "full"), "parametrization",
                 tuple(PARAMETRIZATIONS))
    # named: the messages said "X" for either data set
    X_train, D, _, dt = validate_problem(X_train, D, lam, dtype, x_name="X_train")
    # LISTA.fit refuses these too, but as "X" and only after the FISTA solves below
    if not X_train.any():
        raise ValueError("X_train: every sample is zero; there is nothing to learn from")
    # a 1-D target_test with a 1-D X_test is one row, as LISTA.fit and code_error take it
    # (it was refused: "target_test must have 2 dimension(s), got 1")
    target_test = _one_sample_target(target_test, X_test, D.shape[0], "target_test", "X_test")
    # 1-D: one signal, as X_train (validate_problem), LISTA.encode and inference take it
    X_test = check_array(X_test, "X_test", ndim=(1, 2), dtype=dt, dims=DATA_DIMS)
    check_same_features(X_test, D, "X_test", "D")  # before the reshape: the user's shape
    X_test = X_test[None, :] if X_test.ndim == 1 else X_test
    check_products_in_range(X_test, D, dt, x_name="X_test")
    if target_test is not None:  # checked, as the rest, before the FISTA solves
        target_test = check_shape(check_array(target_test, "target_test", ndim=2, dtype=dt,
                                              dims=CODE_DIMS),
                                  "target_test", (X_test.shape[0], D.shape[0]))
    settings = _check_lista_params(lista_params, D, lam, target_tol, dt)
    # recorded before the networks draw: a Generator's state is then the call's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    # progress=False drew the bars of z* and of the baseline all the same
    inner = False if lista_params.get("progress") is False else None
    target_train = (optimal_codes_with_names(("X_train", "target_tol", None), X_train, D,
                                             lam, target_tol, dt, progress=inner)
                    if supervised else None)
    source = "optimal_codes" if target_test is None else "target_test"
    if target_test is None:
        target_test = optimal_codes_with_names(("X_test", "target_tol", "target_test"),
                                               X_test, D, lam, target_tol, dt, progress=inner)
    baseline = solver_error_by_iteration(X_test, D, lam, max(depths), target=target_test,
                                         dtype=dt, progress=inner)
    error = np.empty((len(SOLVERS), len(depths)))
    objective = np.empty_like(error)
    rates = np.empty(len(depths))
    n_negative = np.empty(len(depths), np.int64)
    lowest = np.empty(len(depths))
    # the thresholds' start lam / L, as ista_weights makes it (L from D in float64)
    start = lam / (spectral_norm_gram(np.asarray(D, np.float64)) * STEP_MARGIN)
    error[:2] = baseline["prediction_error"].sel(iteration=depths).values
    objective[:2] = baseline["objective"].sel(iteration=depths).values
    for j, T in enumerate(depths):
        net = LISTA(T, lam, target_tol=target_tol, dtype=dt, **lista_params)
        net.fit(X_train, D, seed=rng, target=target_train)
        rates[j] = net.history_.attrs["learning_rate"]
        n_negative[j], lowest[j] = _thresholds_below_zero(net, start)
        Z = np.asarray(net.encode(X_test))  # once for both (code_error encoded X_test again)
        error[2, j] = code_loss(Z, target_test)[0]
        objective[2, j] = _mean_objective(Z, X_test, D, lam)
    _warn_if_deeper_is_worse(depths, error[2], rates)
    units = "(units of codes)^2"
    ds = xr.Dataset(
        {"prediction_error": (("solver", "n_iter"), error, {
            "long_name": "0.5 mean ||z - z*||^2 on held-out signals", "units": units}),
         "zero_code_error": baseline["zero_code_error"],
         "objective": (("solver", "n_iter"), objective, {
             "long_name": "mean LASSO objective 0.5 ||x - z D||^2 + lam ||z||_1 on held-out "
                          "signals", "units": OBJECTIVE_UNITS}),
         "optimal_objective": baseline["optimal_objective"],
         # LISTA warns of these once per fit; kept, as a study's user may not act on it
         "n_negative_thresholds": ("n_iter", n_negative, {
             "long_name": "LISTA thresholds theta trained below zero (of n_atoms; such a "
                          "layer expands small values: dense codes)", "units": "1",
             "comment": f"{NOT_RECORDED_COUNT}: not recorded (parametrization='step')"}),
         "lowest_threshold": ("n_iter", lowest, {
             "long_name": "LISTA's smallest threshold theta, in units of its start lam / L "
                          "(below 0: dense codes; NaN: parametrization='step')",
             "units": "lam / L"})},
        coords={"solver": list(SOLVERS), "n_iter": depths})
    ds["n_iter"].attrs.update(long_name="iterations (ISTA, FISTA) or layers (LISTA)", units="1")
    # the tolerance of the z* FISTA computed, "None" when it computed none (objective="lasso"
    # and target_test given), as solver_error_by_iteration and LISTA's history_ record it:
    # the unused 1e-8 said that codes nobody solved for were solved to it
    computed = supervised or source == "optimal_codes"
    ds.attrs.update(lam=lam, target_tol=float(target_tol) if computed else "None",
                    target_test=source,
                    dtype=dt.name, seed=seed_record,
                    n_train=X_train.shape[0], n_test=X_test.shape[0], n_atoms=D.shape[0],
                    n_features=D.shape[1],
                    learning_rate_used=rates,  # Adam's steps (resolved ones for "auto")
                    # every LISTA setting, given or default: those left at their defaults
                    # (n_steps, batch_size, ...) were not recorded; cleaned: xarray's
                    # to_netcdf refused a bool (e.g. progress=False)
                    **clean_attrs({f"lista_{k}": v for k, v in settings.items()}))
    return ds


def _warn_if_deeper_is_worse(depths, errors, rates):
    """Warn when a LISTA of more layers ended with a larger error than one of fewer
    (``errors`` and Adam's ``rates`` in the order of ``depths``) by more than 1%: a
    10-layer network at the 5-layer step ended 5-14% worse than the 5-layer one, unsaid."""
    order = np.argsort(depths)
    for a, i in enumerate(order):
        for j in order[a + 1:]:
            if errors[j] > 1.01 * errors[i]:  # 1%: beyond the noise of stochastic training
                warnings.warn(
                    f"LISTA with {depths[j]} layers ended with a larger held-out error "
                    f"({errors[j]:.4g}) than with {depths[i]} ({errors[i]:.4g}; learning_rate "
                    f"{rates[j]:.3g} and {rates[i]:.3g}): the deeper network has not "
                    "converged; raise n_steps or lower learning_rate", UserWarning,
                    stacklevel=user_stacklevel())
                return


def _check_lista_params(lista_params, D, lam, target_tol, dtype):
    """Refuse LISTA settings before the minutes of FISTA for ``z*``: names
    LISTA lacks or that the comparison sets, invalid values, and a
    ``learning_rate`` above the initial thresholds (``fit`` refused these only
    after ``z*`` of both sets had been computed). Returns the LISTA settings,
    given or default, but those the comparison sets (``n_layers``, ``lam``,
    ``target_tol``, ``dtype``), by name."""
    if "n_layers" in lista_params:
        raise TypeError(f"lista_error_by_depth: n_layers={lista_params['n_layers']!r} must not "
                        "be given: the networks' depths come from depths")
    try:
        net = LISTA(1, lam, target_tol=target_tol, dtype=dtype, **lista_params)
    except TypeError as exc:  # an unknown name
        raise TypeError(f"lista_error_by_depth: {exc} (**lista_params are LISTA's)") from None
    net._validated()
    # the bound (lam / L or 1 / L) does not depend on the depth: checked once
    _learning_rate(net.learning_rate, net._layers(D, lam).initial(dtype), 1)
    return {k: v for k, v in net.get_params().items()
            if k not in ("n_layers", "lam", "target_tol", "dtype")}


def check_depths(depths, name="depths") -> list[int]:
    """Depths (iterations / layers) as a non-empty list of distinct ints >= 1.

    Parameters
    ----------
    depths : int or array_like of int
        One depth or several.
    name : str, default "depths"
        The argument's name in error messages.

    Returns
    -------
    list of int
        The depths, in the order given.

    Raises
    ------
    TypeError
        For a depth that is not an integer.
    ValueError
        For a depth below 1, no depth, or a repeated one.
    """
    values = [check_int(t, name, minimum=1) for t in np.atleast_1d(depths)]
    if not values:
        raise ValueError(f"{name} must hold at least one depth, got {depths!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a depth (each is one coordinate of the "
                         f"result), got {values}")
    return values


def solver_error_by_iteration(X, D, lam, n_iter, *, target=None, target_tol=1e-8,
                              dtype="float32", progress=None) -> xr.Dataset:
    """Error to the optimal LASSO codes after each of ``n_iter`` ISTA and FISTA iterations.

    Both run from zero codes with the constant step ``1 / L``,
    ``L = 1.0001 lambda_max(D D^T)`` (the step of :func:`v1model.inference.ista`
    and of an untrained :class:`LISTA`), and no momentum restart (the
    textbook schemes of Beck & Teboulle 2009,
    as in Gregor & LeCun's comparison); the error of codes ``Z`` is
    ``0.5 * mean_i ||z_i - z*_i||^2``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals; a 1-D ``X`` is one sample (``n_samples = 1``).
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    lam : float
        L1 penalty, > 0 (units of ``X``).
    n_iter : int
        Iterations, >= 1.
    target : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        The optimal codes ``z*`` (one row when 1-D, with a 1-D ``X``);
        default :func:`optimal_codes` (FISTA to ``target_tol``).
    target_tol : float, default 1e-8
    dtype : {"float32", "float64"}, default "float32"
        Precision of the iterations.
    progress : bool or None, default None
        tqdm bars over the samples (computing ``z*``) and the iterations:
        None shows them once a stage has run 2 s (:mod:`v1model.progress`),
        True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``prediction_error`` (solver, iteration) with solver ``"ista"``,
        ``"fista"`` and iteration ``1 .. n_iter``, in (units of codes)^2;
        ``zero_code_error`` (``0.5 mean ||z*||^2``, the error at iteration 0);
        ``objective`` (solver, iteration), the mean LASSO objective
        ``0.5 ||x - z D||^2 + lam ||z||_1`` of the codes, and
        ``optimal_objective``, that of ``z*``, in (units of X)^2.
    """
    lam = check_positive(lam, "lam")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    # error and objective of both solvers per iteration: numpy's MemoryError named no argument
    check_fits_in_memory((n_iter, 4), np.float64, "n_iter", n_iter,
                         "iterations of 2 solvers x 2 curves (float64)")
    target_tol = check_positive(target_tol, "target_tol")
    X_given = X
    X, D, _, dt = validate_problem(X, D, lam, dtype)
    # a 1-D target with a 1-D X is one row, as LISTA.fit and code_error take it
    target = _one_sample_target(target, X_given, D.shape[0])
    check_progress(progress)
    # what z* is: the caller's codes, or FISTA's to target_tol
    target_source = "optimal_codes" if target is None else "target"
    if target is None:
        target = optimal_codes_with_names(("X", "target_tol", "target"), X, D, lam,
                                          target_tol, np.float64, progress=progress)
    target = check_shape(check_array(target, "target", ndim=2, dims=CODE_DIMS), "target",
                         (X.shape[0], D.shape[0]))
    G, B = D @ D.T, X @ D.T
    L = spectral_norm_gram(D, G)  # from G where it is the smaller Gram, as fista's
    error, objective = np.empty((2, n_iter)), np.empty((2, n_iter))
    X64, D64 = X.astype(np.float64), D.astype(np.float64)
    # every iteration is a few products of all the samples with small matrices: one BLAS
    # thread when they are small (v1model._blas, as fista)
    with blas_threads_for_step(coding_iteration_flops(X.shape[0], D.shape[0], D.shape[1])), \
            progress_bar(progress, total=2 * n_iter, desc="ista, fista", unit="iteration") as bar:
        for i, accelerated in enumerate((False, True)):
            Z = np.zeros(target.shape, dt)
            it = iter(range(n_iter))

            def record(live, A, i=i, it=it):  # called after every iteration
                j = next(it)
                A64 = A.astype(np.float64)
                error[i, j] = code_loss(A64, target)[0]
                objective[i, j] = lasso_loss(A64, X64, D64, lam, grad=False)[0]
                bar.update()

            fista_iterate(Z, B, G, lam, max_iter=n_iter, tol=0, accelerated=accelerated,
                          restart=False, L=L, on_iter=record, block_size=max(X.shape[0], 1))
    units = "(units of codes)^2"
    ds = xr.Dataset(
        {"prediction_error": (("solver", "iteration"), error, {
            "long_name": "0.5 mean ||z - z*||^2", "units": units}),
         "zero_code_error": ((), code_loss(np.zeros_like(target), target)[0], {
             "long_name": "error of all-zero codes, 0.5 mean ||z*||^2", "units": units}),
         "objective": (("solver", "iteration"), objective, {
             "long_name": "mean LASSO objective 0.5 ||x - z D||^2 + lam ||z||_1",
             "units": OBJECTIVE_UNITS}),
         "optimal_objective": ((), _mean_objective(target, X, D, lam), {
             "long_name": "mean LASSO objective of z*", "units": OBJECTIVE_UNITS})},
        # counted from zero codes: iteration k is the codes after k iterations
        coords={"solver": ["ista", "fista"],
                "iteration": count_coord("iteration", np.arange(1, n_iter + 1),
                                         ITERATIONS_DONE)})
    ds.attrs.update(lam=lam, dtype=dt.name, n_samples=X.shape[0], n_atoms=D.shape[0],
                    n_features=D.shape[1], step="constant", restart=0,
                    target=target_source,
                    target_tol=float(target_tol) if target_source == "optimal_codes" else "None")
    return ds
