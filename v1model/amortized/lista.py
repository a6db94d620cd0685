"""LISTA: a trained, fixed-depth approximation of the LASSO codes.

:class:`LISTA` unrolls ``n_layers`` ISTA iterations into a network and
trains it by minibatch Adam. Two parametrisations: Gregor & LeCun's (2010)
``"full"`` one (encoder ``W_e``, lateral ``S``, thresholds ``theta``, shared
by the layers; :mod:`._unrolled`) and Ablin et al.'s (2019) ``"step"`` one
(ISTA with the true dictionary and one learned step per layer; :mod:`._slista`).
Two objectives: ``"supervised"``, Gregor & LeCun's
``0.5 * mean_i ||z_i - z*_i||^2`` to the optimal LASSO codes ``z*``
(computed once by the project's FISTA), and ``"lasso"``, the LASSO objective
of the network's codes itself (Sprechmann et al. 2015; Ablin et al. 2019),
which needs no ``z*``. The optimiser is :mod:`v1model.adam`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import warnings
from contextlib import nullcontext
from functools import partial

import numpy as np
import xarray as xr

from ..inference._common import (RANGE_HEADROOM, ConvergenceWarning, SolverSettings,
                                 labelled_codes,
                                 check_products_in_range, solver_settings, validate_problem)
from ..inference.encode import encode
from ..io import SavedAsDataset, continue_calls, seed_attr
from ..learning._data import Minibatches
from ..learning.estimator import NotFittedError
from ..validation import (CODE_DIMS, DATA_DIMS, as_generator, by_dim_names, check_array,
                          check_choice, check_dictionary, check_dtype, check_int,
                          check_positive, check_positive_or_auto, check_same_features,
                          check_shape, flatten_image_atoms, image_atom_shape)
from .._blas import blas_threads_for_step
from .._estimator_params import ScikitLearnParams
from .._frames import user_stacklevel
from ..adam import Adam
from ..progress import check_progress, progress_bar
from ._records import (LOSSES, PARAM_DEFAULTS, WEIGHTS, history_dataset, network_dataset,
                       read_network)
from ._slista import StepLayers, slista_forward
from ._unrolled import FullLayers, code_loss, lasso_loss, lista_forward

__all__ = ["LISTA", "NotFittedError", "NegativeThresholdWarning", "optimal_codes", "OBJECTIVES",
           "PARAMETRIZATIONS"]


class NegativeThresholdWarning(UserWarning):
    """``"full"`` thresholds trained below zero (dense codes): a category of its own, so
    that a caller that fixes the parametrisation (a study reproducing the paper's
    ``"full"`` LISTA) can word it in its own terms, the count kept in its result
    (:func:`negative_thresholds_worded_by_caller`)."""


#: True within :func:`negative_thresholds_worded_by_caller`
_CALLER_WORDS_NEGATIVE = contextvars.ContextVar("v1model_lista_caller_words_negative",
                                                default=False)


@contextlib.contextmanager
def negative_thresholds_worded_by_caller():
    """Within the block, LISTA training does not warn of thresholds trained below zero
    (:class:`NegativeThresholdWarning`): the caller words it itself, from the count its
    result keeps (``n_negative_thresholds``). Its other warnings are given as ever.

    Said in this thread's context (a ContextVar): a ``warnings.catch_warnings`` filter,
    one per process, also hid or re-filtered every other thread's warnings meanwhile.
    """
    token = _CALLER_WORDS_NEGATIVE.set(True)
    try:
        yield
    finally:
        _CALLER_WORDS_NEGATIVE.reset(token)


#: training objectives: the error to the optimal codes, or the LASSO objective itself
OBJECTIVES = ("supervised", "lasso")
#: the layers' parametrisations and their training-loop classes
PARAMETRIZATIONS = {"full": FullLayers, "step": StepLayers}
#: constructor parameters, in order (saved with the weights)
PARAMS = ("n_layers", "lam", "n_steps", "batch_size", "learning_rate", "target_tol",
          "record_every", "dtype", "progress", "objective", "parametrization")


#: each constructor parameter's own check, in the order :meth:`LISTA.fit` applies them
#: (:meth:`LISTA.set_params` applies the same)
PARAM_CHECKS = {
    "n_layers": partial(check_int, name="n_layers", minimum=1),
    "lam": partial(check_positive, name="lam"),
    "parametrization": partial(check_choice, name="parametrization",
                               choices=tuple(PARAMETRIZATIONS)),
    "objective": partial(check_choice, name="objective", choices=OBJECTIVES),
    "n_steps": partial(check_int, name="n_steps", minimum=1),
    "batch_size": partial(check_int, name="batch_size", minimum=1),
    "learning_rate": partial(check_positive_or_auto, name="learning_rate"),
    "target_tol": partial(check_positive, name="target_tol"),
    "record_every": partial(check_int, name="record_every", minimum=1),
    "progress": check_progress,
    "dtype": check_dtype,
}


#: :func:`optimal_codes`' iteration limit (FISTA's max_iter)
OPTIMAL_CODES_MAX_ITER = 100000


def optimal_codes(X, D, lam, tol=1e-8, dtype=np.float64, progress=None):
    """The LASSO codes LISTA learns to predict: FISTA to a tight tolerance.

    Minimises ``0.5 ||x - z D||^2 + lam ||z||_1`` per sample with
    :func:`v1model.inference.encode` (``method="fista"``, float64, up to
    100000 iterations).

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    D : array_like, shape (n_atoms, n_features)
    lam : float
        L1 penalty, > 0 (units of ``X``), as :class:`LISTA` takes it.
    tol : float, default 1e-8
        FISTA's relative-change tolerance.
    dtype : {float32, float64}, default float64
        dtype of the returned codes (they are computed in float64).
    progress : bool or None, default None
        A tqdm bar over the samples (10,000 16x16 patches with 512 atoms take
        ~30 s): None shows it once the call has run 2 s, True at once.

    Returns
    -------
    Z : ndarray, shape (n_samples, n_atoms), ``dtype``

    Warns
    -----
    ConvergenceWarning
        When samples are not converged at the iteration limit (a small
        ``lam`` on an overcomplete dictionary): it names ``tol`` (the limit is
        fixed) and the exact solver to use instead.
    """
    return optimal_codes_with_names(("X", "tol", None), X, D, lam, tol, dtype, progress)


def optimal_codes_with_names(names, X, D, lam, tol=1e-8, dtype=np.float64, progress=None):
    """:func:`optimal_codes`, for the package's callers (:class:`LISTA`, the comparisons),
    whose users know ``X``, ``tol`` and the codes by other names: given here rather than
    as a private ``_names`` keyword of :func:`optimal_codes`, where a user could pass it
    and be shown other names than their own.

    Parameters
    ----------
    names : (str, str, str or None)
        The caller's names of ``X``, of ``tol`` and of its argument that takes the codes
        instead (None: none), for the ``ConvergenceWarning``.
    X, D, lam, tol, dtype, progress
        As for :func:`optimal_codes`.

    Returns
    -------
    Z : ndarray, shape (n_samples, n_atoms), ``dtype``
    """
    dtype = check_dtype(dtype)  # an int dtype would truncate the codes
    # encode takes lam = 0 (least squares): here that gave dense codes, one of infinitely
    # many on an overcomplete D, as "the LASSO codes", which LISTA and both comparisons
    # refuse to learn or to measure against
    lam = check_positive(lam, "lam")
    x_name, tol_name, target_name = names
    # FISTA's "raise max_iter" named a limit the user cannot set here
    instead = (f"code {x_name} with" if target_name is None
               else f"give {target_name} yourself, e.g. from")
    advice = f", or {instead} encode(..., method='active_set'), which solves each support exactly"
    settings = SolverSettings(None, {"tol": tol}, names={"tol": tol_name, "max_iter": None},
                              advice=advice, x_name=x_name)
    with solver_settings(settings):
        Z = encode(X, D, "fista", lam=lam, tol=tol, dtype=np.float64,
                   max_iter=OPTIMAL_CODES_MAX_ITER, progress=progress)
    # an array, as LISTA's targets are (encode labels the codes of a DataArray X)
    return np.asarray(Z).astype(dtype, copy=False)


#: the "auto" learning rate: this, or AUTO_FRACTION of the initial thresholds / steps
AUTO_LEARNING_RATE = 1e-3
AUTO_FRACTION = 0.5
#: "full" networks deeper than this get the "auto" rate times AUTO_DEPTH / n_layers: their
#: weights are shared by the layers, so one Adam step moves the codes ~n_layers times as
#: far. Held-out error after 1000 steps on whitened 8x8 patches (128 atoms, two
#: dictionaries) was lowest at 1e-3 up to 3 layers, 6e-4 at 5, 4.3e-4 at 7 and 3e-4 at 10;
#: at a fixed 1e-3, 10 layers ended worse than 5 (0.267 against 0.255, 0.169 against 0.150)
AUTO_DEPTH = 3
#: rows per block of ``encode`` (a block's layer temporaries: rows x n_atoms each)
ENCODE_BLOCK = 16384


def _learning_rate(learning_rate, weights, n_layers) -> float:
    """Adam's step: a given one checked against the initial weights, or the
    ``"auto"`` one (1e-3, or half the initial thresholds / steps if smaller;
    for ``"full"``, times ``min(1, AUTO_DEPTH / n_layers)``)."""
    if isinstance(learning_rate, str):  # "auto", checked by _validated
        name = "theta" if "theta" in weights else "step"
        rate = min(AUTO_LEARNING_RATE, AUTO_FRACTION * float(np.min(weights[name])))
        # Step-LISTA's steps are one layer's each; "full" weights act in every layer
        return rate * min(1.0, AUTO_DEPTH / n_layers) if name == "theta" else rate
    _check_step_against_weights(float(learning_rate), weights)
    return float(learning_rate)


def _check_step_against_weights(learning_rate, weights):
    """Refuse an Adam step that is not small against the initial thresholds
    ``lam / L`` (``"full"``) or steps ``1 / L`` (``"step"``).

    Adam moves every weight by up to ``learning_rate`` per step, so that a
    larger step can flip a threshold's or a step's sign at once. Measured on
    whitened patches (held-out loss after 300 Adam steps, relative to the
    untrained network): ``"full"``, supervised, 0.62 at ``learning_rate =
    0.84 lam / L``, 1.00 at 2.5 and 1.49 at 25 times it; ``"step"``, LASSO
    objective, 0.93-0.94 up to ``2.5 / L``, 1.35 at ``5 / L`` and 3.1 at
    ``11 / L`` (a negative step). The limit is necessary, not sufficient:
    deeper networks fail below it (:func:`_warn_if_training_failed`). The
    thresholds carry the units of the codes (those of ``X``), so small data
    make the same step large; the steps ``1 / L`` those of ``1 / D^2``.
    """
    name, text = (("theta", "thresholds lam / L") if "theta" in weights
                  else ("step", "steps 1 / L"))
    initial = float(np.min(weights[name]))
    if learning_rate > initial:
        advice = ("rescale X and lam together (the codes scale with them)" if name == "theta"
                  else "rescale D")
        raise ValueError(
            f"learning_rate={learning_rate!r} exceeds the initial {text} = {initial:.3g} "
            "(L = lambda_max(D D^T)): Adam moves every weight by up to learning_rate per "
            f"step, and steps that large wipe them out; {advice} or lower learning_rate "
            f"below {initial:.3g}")


def _diverged(step, loss, learning_rate, what="loss") -> FloatingPointError:
    """The error for a non-finite training loss (``what``: or the validation
    loss) after ``step`` Adam steps."""
    return FloatingPointError(f"LISTA training diverged at step {step}: {what} {loss}; "
                              f"lower learning_rate (now {learning_rate!r})")


def _check_row(row, learning_rate):
    """Raise for a history ``row`` whose validation loss (or code error) is not finite.

    X_val passed the same range checks as X, so codes that overflow on it mean the
    network does (encode would refuse it): recorded silently, an inf or NaN at an
    intermediate row went unnoticed (only the training loss was checked).
    """
    for key in ("validation_loss", "validation_code_error"):
        if key in row and not np.isfinite(row[key]):
            raise _diverged(row["step"], row[key], learning_rate,
                            what=key.replace("_", " ") + " on X_val")


def _check_network_features(X, D, name):
    """Refuse ``X`` (array_like, (n_samples, n_features) or (n_features,)) whose
    features are not those of the network's dictionary ``D`` (n_atoms,
    n_features), naming it as the network's ``dictionary_``. A DataArray naming
    ``sample`` and ``feature`` is read by name, as everywhere."""
    try:
        shape = np.shape(by_dim_names(X, DATA_DIMS, name))
    except ValueError:  # ragged nested lists: check_array says what is wrong
        return
    if len(shape) in (1, 2) and shape[-1] != D.shape[1]:
        raise ValueError(f"{name} has {shape[-1]} features per sample (shape {shape}) but the "
                         f"network's dictionary_ has {D.shape[1]} features per atom (shape "
                         f"{D.shape}): it was trained on signals of {D.shape[1]} features; "
                         f"expected {name} of shape (n_samples, {D.shape[1]})")


def _saved_patch_shape(ds, D):
    """The ``patch_shape`` a saved network's attrs hold (None when absent: atoms given
    as rows, or a file saved before it was kept), checked against its dictionary
    ``D`` (n_atoms, n_features)."""
    saved = ds.attrs.get("patch_shape")
    if saved is None:
        return None
    shape = tuple(np.atleast_1d(saved).tolist())
    if (len(shape) != 2 or not all(isinstance(n, int) and n > 0 for n in shape)
            or shape[0] * shape[1] != D.shape[1]):
        raise ValueError(f"ds.attrs['patch_shape'] is {saved!r}: expected [height, width] of "
                         f"positive ints with height * width = {D.shape[1]}, the dictionary's "
                         f"features")
    return shape


def _one_sample_target(target, X, n_atoms, name="target", x_name="X"):
    """``target`` (array_like, (n_atoms,)) as one row (1, n_atoms) when ``X`` is one
    1-D sample (n_features,), as ``X`` itself is taken; else ``target`` unchanged.
    A 1-D one of another length is refused here, in the shapes given: as a row, its
    message said "must have shape (1, n_atoms), got (1, n)"."""
    try:
        one = target is not None and np.ndim(X) == 1 and np.ndim(target) == 1
    except ValueError:  # ragged nested lists: check_array says what is wrong
        return target
    if not one:
        return target
    if np.shape(target) != (n_atoms,):
        raise ValueError(f"{name} has shape {np.shape(target)} but {x_name} is one sample "
                         f"(shape {np.shape(X)}), whose codes have shape ({n_atoms},); "
                         f"expected {name} of shape ({n_atoms},)")
    return np.asarray(target)[None, :]


def _overflow_error(X, dtype, parametrization) -> ValueError:
    """The error for codes of ``X`` (n_samples, n_features) that overflow ``dtype``
    (the network's): blamed on ``X`` when its values are within RANGE_HEADROOM of
    ``dtype``'s largest number (the remedies, float64 or a smaller scale, both mean
    training the network again), else on the network's weights (a moderate ``X``
    amplified layer by layer, e.g. by steps trained far above ``1 / L``)."""
    x_max = float(np.max(np.abs(X))) if X.size else 0.0
    largest = float(np.finfo(dtype).max)
    if x_max >= largest * RANGE_HEADROOM:
        # the network computes in the dtype it was trained in: "use dtype='float64'"
        # read as a setting of encode, but it means training the network again
        wider = "retrain it with dtype='float64', or " if dtype == np.float32 else ""
        return ValueError(f"X: the codes overflow {dtype}, the network's dtype (values of X up "
                          f"to |X| = {x_max:.3g}, near its largest number {largest:.3g}): "
                          f"this network cannot code X at this scale; {wider}rescale X and "
                          "lam together and retrain it (its thresholds are in units of X: it "
                          "does not code c X as c times the codes of X)")
    weights = ("steps step_size_" if parametrization == "step"
               else "weights encoder_weight_ and lateral_weight_")
    return ValueError(f"X: the codes overflow {dtype} although X is moderate (values up to "
                      f"|X| = {x_max:.3g}): the network's {weights} amplify the codes layer "
                      "after layer; such a network is unusable: retrain it with a lower "
                      "learning_rate (or fewer layers)")


#: a run whose loss at the end exceeds this times its start is reported as failed
FAILED_LOSS_RATIO = 2.0
#: a run whose loss at the end exceeds this times its start (but not FAILED_LOSS_RATIO
#: times) is warned of as not having trained (ConvergenceWarning): 1% above, beyond the
#: rounding of a run that barely moves (learning_rate 1e-6) and the noise of minibatches
#: (as in compare.py's check of depths)
WORSE_LOSS_RATIO = 1.01
#: training samples a run without X_val is judged on (its start and trained networks)
JUDGED_ROWS = 1024
#: the learned weights whose sign is checked after a run: name in the training loop ->
#: (attribute, its start's unit after a multiple, allowed at zero, what a wrong sign makes
#: of a layer)
SIGNED_WEIGHTS = {
    "step": ("step_size_", "/ L", False,
             "where a layer is no longer an ISTA step (it climbs the data term, and its "
             "threshold alpha_t lam is negative)"),
    "theta": ("threshold_", "lam / L", True,
              "where a layer expands small values instead of shrinking them (a code near "
              "zero comes out at least |theta| away from it: every code is non-zero)"),
}


def _judged_rows(n_samples):
    """Indices of at most :data:`JUDGED_ROWS` training samples, evenly spread over
    the ``n_samples`` (all of them when fewer; no random draw, which would change
    the minibatch order). The last minibatch alone was too few: at
    ``batch_size=2`` on whitened patches, two patches with all-zero ``z*`` and
    codes "rose from 0" and a run whose training error fell from 0.479 to 0.41
    was reported as failed."""
    return np.unique(np.linspace(0, n_samples - 1, min(n_samples, JUDGED_ROWS)).astype(np.intp))


def _wrong_signs(weights, layers):
    """Which learned weights have the wrong sign: steps at or below zero (``"step"``)
    or thresholds below zero (``"full"``), as ``{name: sentence}`` with their values
    as multiples of their start (``1 / L`` or ``lam / L``, from ``layers``); ``{}``
    when none.

    ``"full"`` thresholds do go negative, and not only at a large ``learning_rate``:
    with a small ``lam`` (0.01 on 400 Gaussian signals of 16 features, 32 atoms,
    minibatches of 20, objective ``"lasso"``) three layers at ``learning_rate =
    0.5 lam / L`` (the "auto" rate) drove 29 of the 32 to -18 ``lam / L`` in 200
    steps, and at 0.05 and 0.01 ``lam / L`` 28 and 32 of them to -16 ``lam / L`` in
    2000 steps, while the held-out objective fell (2.12 -> 0.20-0.55): a few
    layers undershoot the near least-squares codes, and expanding them pays. The
    gregor-lecun-2010-lista study at its tests' small sizes (lam = 0.3, learning_rate
    1e-3) leaves one of its 128 at -0.032 ``lam / L``; its ``--quick`` run leaves none
    (lowest 1.97 ``lam / L``; both measured 2026-12-07).
    """
    problems = {}
    for name, (attr, unit, zero_ok, meaning) in SIGNED_WEIGHTS.items():
        if name not in weights:
            continue
        values = weights[name]
        wrong = values < 0 if zero_ok else values <= 0
        if np.any(wrong):
            start = float(np.min(layers.initial(np.float64)[name]))
            what = "below zero" if zero_ok else "at or below zero"
            problems[name] = (f"{int(np.sum(wrong))} of the {values.size} learned "
                              f"{'thresholds' if name == 'theta' else 'steps'} {attr} are "
                              f"{what} (down to {float(values.min()) / start:.2g} {unit}), "
                              + meaning)
    return problems


def _warn_if_training_failed(rows, weights, layers, learning_rate, train_losses=None):
    """Warn of a run that ended far worse than it started, or with learned steps
    at or below zero (``"step"``), although no loss overflowed (UserWarning,
    "failed"); of one that ended somewhat worse than it started
    (ConvergenceWarning); and of learned thresholds below zero (``"full"``;
    UserWarning, whatever the loss: the codes are then dense).

    ``rows`` are the run's history rows (the first before any step), ``weights``
    the trained weights, ``layers`` the parametrisation (whose initial steps
    are ``1 / L``, thresholds ``lam / L``). ``train_losses``: ``(start, end, n)``,
    the losses of the network before and after the run on the same ``n`` training
    samples (:func:`_judged_rows`), compared when the rows hold no validation loss
    (their first training loss is one minibatch's, the last an interval's mean:
    with small batches, their spread alone passed for a rise); with one, they tell
    overfitting (the validation loss rose while the training loss fell) from too
    high a learning rate: 3 layers trained on 40 Gaussian signals (16 features, 32
    atoms, lam = 0.5) at 1e-3 for 300 steps took the training loss from 1.34 to 0.022
    and the validation loss on 360 others from 1.27 to 1.58 (measured 2026-12-07),
    which a lower learning_rate does not mend.
    Refusing a ``learning_rate`` above the initial steps or thresholds is not
    enough for deep networks: on whitened 8x8 patches with
    128 atoms, 20-layer Step-LISTA at ``learning_rate = 0.63 / L`` drove the
    first steps to ~ -0.5 / L and ended with a held-out objective above its
    start (1.87 -> 1.90-2.23, through 6-11 on the way). Nor for shallow ones: a
    3-layer ``"full"`` network (128 atoms, lam = 0.5) trained on z* for the default
    2000 steps at ``learning_rate = 0.5 lam / L`` ended with a held-out error of
    0.754 where ISTA's (the untrained network) is 0.392: below twice it, so that
    only the ConvergenceWarning tells.
    """
    overfit = None
    if "validation_loss" in rows[0]:
        key, (first, last) = "validation loss", (rows[0]["validation_loss"],
                                                 rows[-1]["validation_loss"])
        if train_losses is not None and train_losses[1] < train_losses[0]:
            overfit = train_losses
    else:
        first, last, n = train_losses
        key = f"training loss on {n} training samples"
    signs = _wrong_signs(weights, layers)
    problems = [] if last <= FAILED_LOSS_RATIO * first else [  # NaN too
        f"the {key} rose from {first:.4g} at the start (the untrained network) to {last:.4g}"]
    problems += [signs["step"]] if "step" in signs else []
    if problems:
        warnings.warn(f"LISTA training at learning_rate={learning_rate!r} failed: "
                      + "; ".join(problems) + ". The limit on learning_rate (the initial "
                      "steps or thresholds) does not make deep networks safe: lower "
                      "learning_rate (e.g. 10x)", UserWarning, stacklevel=user_stacklevel())
    elif last > WORSE_LOSS_RATIO * first and overfit is not None:
        train_first, train_last, n = overfit
        warnings.warn(f"LISTA training at learning_rate={learning_rate!r} overfit: the "
                      f"validation loss rose from {first:.4g} at the start of the run (for "
                      f"fit, the untrained network, i.e. ISTA) to {last:.4g}, {last / first:.3g} "
                      f"times it, while the training loss on {n} training samples fell from "
                      f"{train_first:.4g} to {train_last:.4g}: the network learned its "
                      "training samples, not the code; train on more samples, take fewer "
                      "steps (n_steps), or stop early on X_val (refit with n_steps where "
                      "history_'s validation_loss is lowest); a lower learning_rate does not "
                      "mend it", ConvergenceWarning,
                      stacklevel=user_stacklevel())
    elif last > WORSE_LOSS_RATIO * first:
        warnings.warn(f"LISTA training at learning_rate={learning_rate!r} ended worse than it "
                      f"started: the {key} rose from {first:.4g} at the start of the run "
                      f"(for fit, the untrained network, i.e. ISTA) to {last:.4g}, "
                      f"{last / first:.3g} times it: the trained network codes worse than "
                      f"the one it started from; lower learning_rate (e.g. to "
                      f"{learning_rate / 10:.3g}, 10x lower)", ConvergenceWarning,
                      stacklevel=user_stacklevel())
    if "theta" in signs and not _CALLER_WORDS_NEGATIVE.get():
        warnings.warn(f"LISTA training at learning_rate={learning_rate!r}: "
                      + signs["theta"] + ": the network's codes are dense, not the LASSO's, "
                      "whatever its loss. A lower learning_rate need not prevent it (with a "
                      "small lam a few layers undershoot the codes, and expanding them "
                      "pays); parametrization='step' keeps its thresholds alpha_t lam of "
                      "the steps' sign", NegativeThresholdWarning, stacklevel=user_stacklevel())


def _merge_target_sources(keep, attrs):
    """The targets' provenance in ``keep`` (a history's attrs) after a
    :meth:`LISTA.partial_fit` call whose run recorded ``attrs``, in place.

    Each of ``target`` and ``target_val`` lists its sources over the calls
    (``"optimal_codes"``, or the argument's name when given), e.g.
    ``"optimal_codes, target"``; ``"unrecorded"`` stands for calls saved by a
    v1model that did not record them. ``target_tol`` is the loosest tolerance
    of the codes FISTA computed ("None" when every z* was given).
    """
    for name in ("target", "target_val"):
        if name in attrs:
            sources = str(keep.get(name, "unrecorded")).split(", ")
            if attrs[name] not in sources:
                sources.append(attrs[name])
            keep[name] = ", ".join(sources)
    if "target_tol" in attrs:
        tols = [float(t) for t in (keep.get("target_tol"), attrs["target_tol"])
                if t is not None and t != "None"]
        keep["target_tol"] = max(tols) if tols else "None"


class LISTA(ScikitLearnParams, SavedAsDataset):
    """Learned ISTA (Gregor & LeCun 2010): ``n_layers`` trained shrinkage layers.

    With ``h`` the soft threshold, the codes are those of the last of
    ``n_layers`` layers, in one of two parametrisations:

    - ``"full"`` (Gregor & LeCun): ``Z_1 = h(X W_e^T, theta)`` and
      ``Z_t = h(X W_e^T + Z_{t-1} S^T, theta)``, with one threshold per atom,
      the weights shared by the layers and started at ISTA's (``W_e = D / L``,
      ``S = I - D D^T / L``, ``theta = lam / L``, with ``L = 1.0001 lambda_max(D D^T)``,
      the step of :func:`v1model.inference.ista`: a textbook ISTA with
      ``L = lambda_max(D D^T)`` differs by ~1e-4 relative);
    - ``"step"`` (Step-LISTA, Ablin et al. 2019): ISTA with the true
      dictionary and a learned step per layer,
      ``Z_t = h(Z_{t-1} - alpha_t (Z_{t-1} D - X) D^T, alpha_t lam)`` from
      ``Z_0 = 0``, the steps started at ``1 / L``.

    Untrained, both *are* ``n_layers`` ISTA iterations from zero codes. They
    are trained for the LASSO ``0.5 ||x - z D||^2 + lam ||z||_1`` (the
    objective of :mod:`v1model.inference`), with one of two losses:

    - ``"supervised"`` (Gregor & LeCun): ``0.5 mean_i ||z_i - z*_i||^2`` to
      the optimal codes ``z*`` (FISTA on the training set, or ``target=``);
    - ``"lasso"`` (Sprechmann et al. 2015; Ablin et al. 2019): the LASSO
      objective of the codes, ``mean_i 0.5 ||x_i - z_i D||^2 + lam ||z_i||_1``;
      no ``z*`` is needed.

    Parameters
    ----------
    n_layers : int, default 3
        Thresholding layers, >= 1 (the paper's ``T`` is ``n_layers - 1``,
        the number of products with ``S``).
    lam : float, default 0.1
        L1 penalty of the LASSO whose codes are learnt, > 0 (units of ``X``).
    parametrization : {"full", "step"}, default "full"
        The layers' trained weights (see above).
    objective : {"supervised", "lasso"}, default "supervised"
        The training loss (see above).
    n_steps : int, default 2000
        Adam steps (minibatches) made by :meth:`fit`.
    batch_size : int, default 100
        Samples per minibatch (all of them when there are fewer).
    learning_rate : float or "auto", default "auto"
        Adam's step size (units of the weights; for ``"step"``, of ``alpha_t``,
        which starts at ``1 / L``). At most the initial thresholds ``lam / L``
        (``"full"``; they carry the units of the codes) or steps ``1 / L``
        (``"step"``): ``fit`` refuses a larger step, which would wipe them out.
        That limit does not make deep networks safe: 20-layer Step-LISTA on
        whitened 8x8 patches (128 atoms) at ``0.63 / L`` drove its first
        steps below zero and ended worse than untrained (``0.06 / L`` trained
        well); ``fit`` and ``partial_fit`` warn (UserWarning) when the loss
        (held-out with ``X_val``, else on up to 1024 training samples) ends
        above twice its start or a learned step is at or below zero, and
        (ConvergenceWarning) when it ends more than 1% above its start (for
        ``fit``, the untrained network's: ISTA's), suggesting a lower
        ``learning_rate``: 3 ``"full"`` layers on whitened patches at
        ``0.5 lam / L`` ended at 0.754 against ISTA's 0.392. Thresholds
        (``"full"``) trained below zero are warned of (UserWarning) whatever
        the loss: such a layer expands small values instead of shrinking them
        (seen at a small ``lam`` at any step, the loss falling).
        ``"auto"``: 1e-3, or half of that bound when it is smaller (a small
        ``lam`` or a strongly overcomplete ``D``), and for ``"full"`` networks
        of more than 3 layers times ``3 / n_layers`` (their weights are shared
        by the layers: at 1e-3, 10 layers trained on whitened patches ended
        worse than 5); the value used is ``history_.attrs["learning_rate"]``.
        The same step moves the thresholds (units of X) and the dimensionless
        weights, so training is
        not scale-free: X and ``lam`` scaled together by 1e-3 or 1e3 ended
        1.9x and 1.6x worse relative to their scale (README); keep X near
        unit spread.
    target_tol : float, default 1e-8
        FISTA's relative tolerance for the target codes (:func:`optimal_codes`)
        it computes (none for given ``target`` and ``target_val``).
    record_every : int, default 20
        Steps between rows of :attr:`history_`.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the weights, the training and the codes.
    progress : bool or None, default None
        tqdm bars during :meth:`fit`, over the training steps and the samples
        of the FISTA solves for the target codes ``z*``: None once a stage has
        run 2 s (:mod:`v1model.progress`), True at once, False never; and
        over the samples of a long :meth:`encode` (once it has run 2 s, unless
        False).

    Attributes
    ----------
    encoder_weight_ : ndarray, shape (n_atoms, n_features)
        ``W_e`` (``"full"`` only).
    lateral_weight_ : ndarray, shape (n_atoms, n_atoms)
        ``S`` (``"full"`` only).
    threshold_ : ndarray, shape (n_atoms,) or (n_layers,)
        ``theta`` (``"full"``); ``alpha_t * lam`` per layer (``"step"``).
    step_size_ : ndarray, shape (n_layers,)
        ``alpha_t`` (``"step"`` only).
    dictionary_ : ndarray, shape (n_atoms, n_features)
        The dictionary ``D`` the network was initialised from, as rows.
    patch_shape_ : tuple of int or None
        ``(height, width)`` of ``D``'s atoms when they were given as images
        (``height * width == n_features``), else None: :meth:`encode` (and
        the methods that encode, :meth:`partial_fit`) then also take ``X`` as
        patches ``(n_samples, height, width)`` of that shape, flattened
        row-major as the atoms were (kept by :meth:`save`).
    parametrization_ : str
        The parametrisation of the weights (used by :meth:`encode`).
    n_layers_ : int
        The depth the weights were trained for (used by :meth:`encode`).
    lam_ : float
        The ``lam`` the weights were made for (the step thresholds,
        :meth:`lasso_objective`, :meth:`save`), even if ``lam`` changes later.
    n_features_in_ : int
    history_ : xarray.Dataset or None
        Over ``step`` (Adam steps made before the row): ``train_loss`` (at
        step 0 the loss of the first minibatch; at step ``s`` the mean loss of
        the minibatches of steps ``s_prev`` to ``s - 1``, before their
        updates, ``s_prev`` the previous row's step), with held-out data
        ``validation_loss`` and, for ``objective="lasso"`` with ``target_val``,
        ``validation_code_error``
        (``0.5 mean ||z - z*||^2``); the parameters and the loss's formula
        in attrs, with where the codes ``z*`` came from: ``target`` and
        ``target_val`` are ``"optimal_codes"`` (FISTA to ``target_tol``) or
        the argument's name when they were given (``"target"``,
        ``"target_val"``), as in :func:`solver_error_by_iteration`;
        ``target_tol`` is "None" when every ``z*`` was given; none of the
        three when no ``z*`` was used. None after :meth:`initialize` alone.

    Notes
    -----
    :meth:`fit` trains small networks (under 0.4 GFLOP per step) on one BLAS
    thread, where threads only contend (:mod:`v1model._blas`).

    References
    ----------
    Gregor, K. & LeCun, Y. (2010). Learning fast approximations of sparse
    coding. Proc. 27th ICML, 399-406.

    Sprechmann, P., Bronstein, A. M. & Sapiro, G. (2015). Learning efficient
    sparse and low rank models. IEEE TPAMI 37(9), 1821-1833.

    Ablin, P., Moreau, T., Massias, M. & Gramfort, A. (2019). Learning step
    sizes for unfolded sparse coding. NeurIPS 32, 13100-13110.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.amortized import LISTA
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 10))
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> X = rng.standard_normal((200, 10))
    >>> net = LISTA(n_layers=2, lam=0.5, n_steps=50).fit(X, D, seed=0)
    >>> net.encode(X[:3]).shape
    (3, 20)
    >>> slista = LISTA(4, 0.5, parametrization="step", objective="lasso", n_steps=50)
    >>> slista.fit(X, D, seed=0).step_size_.shape
    (4,)
    """

    _param_checks = PARAM_CHECKS

    def __init__(self, n_layers=3, lam=0.1, *, parametrization="full", objective="supervised",
                 n_steps=2000, batch_size=100, learning_rate="auto", target_tol=1e-8,
                 record_every=20, dtype="float32", progress=None):
        self.n_layers = n_layers
        self.lam = lam
        self.parametrization = parametrization
        self.objective = objective
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.target_tol = target_tol
        self.record_every = record_every
        self.dtype = dtype
        self.progress = progress

    def __repr__(self):
        extra = "".join(f", {k}={getattr(self, k)!r}" for k, v in PARAM_DEFAULTS.items()
                        if getattr(self, k) != v)
        return f"{type(self).__name__}(n_layers={self.n_layers!r}, lam={self.lam!r}{extra})"

    def get_params(self, deep=True) -> dict:
        """The constructor's parameters.

        Parameters
        ----------
        deep : bool, default True
            Ignored (LISTA holds no sub-estimators); accepted so that
            :func:`sklearn.base.clone` works.

        Returns
        -------
        dict
            Each constructor parameter's name to its current value.
        """
        return {name: getattr(self, name) for name in PARAMS}

    # ------------------------------------------------------------ fitting
    def _validated(self):
        checked = {name: check(getattr(self, name)) for name, check in PARAM_CHECKS.items()}
        return checked["dtype"]

    def _layers(self, D, lam):
        return PARAMETRIZATIONS[self.parametrization](D, lam, int(self.n_layers))

    def initialize(self, D):
        """Set the weights (or steps) to ISTA's for ``D`` (no training); returns ``self``.

        Then :meth:`encode` gives exactly ``n_layers`` iterations of
        :func:`v1model.inference.ista` (``step="constant"``) from zero codes.

        Parameters
        ----------
        D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
            Dictionary, one (normally unit-norm) atom per row; atoms as images
            are flattened row-major, as :meth:`fit` flattens them
            (:func:`~v1model.validation.flatten_image_atoms`).

        Returns
        -------
        self : LISTA
            With its weights set and ``history_`` None.
        """
        dtype = self._validated()
        # atoms as images, which fit takes, were refused as "D must have 2 dimension(s)"
        patch_shape = image_atom_shape(D)
        _, D = flatten_image_atoms(None, D)
        D = check_dictionary(D, "D")
        # as fit: atoms whose D D^T over- or underflows the dtype give infinite thresholds
        check_products_in_range(np.zeros((0, D.shape[1])), D, dtype)
        D = np.ascontiguousarray(D, dtype=dtype)
        lam = float(self.lam)
        self._set_weights(self._layers(D, lam).initial(dtype), D, lam, patch_shape)
        self._adam = None  # partial_fit starts Adam afresh
        self.history_ = None
        return self

    def fit(self, X, D, *, seed=None, target=None, X_val=None, target_val=None):
        """Train the network on ``X`` for the LASSO codes in ``D``; returns ``self``.

        Training starts from ISTA's weights, also on a fitted network (use
        :meth:`partial_fit` to train one further).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Training signals (one sample when 1-D); with atoms as images, also
            patches ``(n_samples, height, width)`` of their shape.
        D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
            Dictionary, one (normally unit-norm) atom per row; atoms as images
            are flattened row-major, as patches are
            (:func:`~v1model.validation.flatten_image_atoms`), and
            :attr:`dictionary_` keeps them as rows.
        seed : int, SeedSequence, Generator or None
            Seed of the minibatch order; a Generator is advanced (and not
            kept by the network).
        target : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
            ``objective="supervised"`` only: the codes to predict (one row
            when 1-D, with a 1-D ``X``); default :func:`optimal_codes` of ``X``.
        X_val : array_like, shape (n_val, n_features) or (n_features,), optional
            Held-out signals (one sample when 1-D): their loss is recorded in
            :attr:`history_`. With atoms as images, also patches ``(n_val,
            height, width)`` of their shape, as ``X``.
        target_val : array_like, shape (n_val, n_atoms) or (n_atoms,), optional
            Their codes (one row when 1-D, with a 1-D ``X_val``).
            ``"supervised"``: default :func:`optimal_codes` of ``X_val``;
            ``"lasso"``: when given, the error of the codes to them is
            recorded too (``validation_code_error``).

        Returns
        -------
        self : LISTA
            The trained network (weights, ``dictionary_``, ``history_`` set).

        Raises
        ------
        ValueError
            For invalid parameters, non-finite or mismatched ``X``/``X_val``/
            ``D``/targets, an all-zero ``X``, ``target_val`` without ``X_val``,
            ``target`` with ``objective="lasso"``, or a ``learning_rate`` above
            the initial thresholds (``"full"``) or steps (``"step"``); all
            before ``z*`` is computed.
        FloatingPointError
            When training diverges (a training loss, or a recorded validation
            loss or code error, that is not finite) or its squared gradients
            overflow the dtype.

        Warns
        -----
        UserWarning
            When the loss (held-out when ``X_val`` is given, else that of up
            to 1024 training samples, before and after the run) ends above
            twice its start, or a learned step (``"step"``) is at or below
            zero: a ``learning_rate`` too large for the depth.
        NegativeThresholdWarning
            (a UserWarning) When learned thresholds (``"full"``) are below
            zero: the codes are dense.
        ConvergenceWarning
            When that loss ends more than 1% above its start (the untrained
            network, i.e. ISTA) but not above twice it: the trained network
            codes worse than ISTA; the message names ``learning_rate`` and a
            10x lower one.
        """

        dtype = self._validated()
        # recorded before anything draws: a Generator's state is then the run's start
        seed_record = seed_attr(seed, before_use=True)
        rng = as_generator(seed)
        X_given = X
        # held-out patches (n, height, width) of the atoms' shape, as X (were refused)
        X_val, _ = flatten_image_atoms(X_val, D, "X_val")
        patch_shape = image_atom_shape(D)
        X, D, lam, _ = validate_problem(X, D, self.lam, dtype)
        target = _one_sample_target(target, X_given, D.shape[0])
        # zero signals have zero codes and zero gradients: training would end at ISTA's
        # weights, reported as trained (SparseAutoencoder refuses them the same way)
        if not X.any():
            raise ValueError("X: every sample is zero; there is nothing to learn from")
        layers = self._layers(D, lam)
        weights = layers.initial(dtype)  # Adam updates them in place
        learning_rate = _learning_rate(self.learning_rate, weights, int(self.n_layers))
        adam = Adam(weights, lr=learning_rate)
        rows, attrs = self._train(X, D, lam, layers, weights, adam, rng, target, X_val,
                                  target_val, dtype, first_step=0)
        attrs["seed"] = seed_record
        self._set_weights(weights, D, lam, patch_shape)
        self._adam = adam
        self.history_ = history_dataset(rows, attrs)
        return self

    def partial_fit(self, X, *, seed=None, target=None, X_val=None, target_val=None):
        """Train the fitted network ``n_steps`` more Adam steps on ``X``; returns ``self``.

        Training continues from the current weights (or steps) with the
        dictionary, ``lam``, depth and parametrisation they were made for, and
        with Adam's moments and step count as the last :meth:`fit` or
        ``partial_fit`` left them, so that ``fit`` then ``partial_fit`` is one
        run of Adam (the minibatch order aside, drawn from ``seed``).
        :meth:`save` keeps Adam's state: a loaded network continues as the
        saved one would have. A file saved without it (by a v1model without
        ``partial_fit``) or a network from :meth:`initialize` starts Adam
        afresh from the current weights. Adam's step is the one the network
        was trained with (``history_.attrs["learning_rate"]``) for
        ``learning_rate="auto"``, else ``learning_rate``. ``history_`` grows by
        the new rows, its ``step`` counting on; its attrs keep the first
        call's settings, with ``n_steps``, ``n_training_samples`` and
        ``wall_time`` summed over the calls, ``learning_rate`` the last
        call's, ``target`` and ``target_val`` the sources of ``z*`` over the
        calls (e.g. ``"optimal_codes, target"``), ``target_tol`` the
        loosest tolerance FISTA computed them to, ``steps_per_call`` the
        steps of each call and, when the calls' seeds differ,
        ``seed_per_call`` each call's (``seed`` is the first call's; "None":
        fresh entropy; :func:`v1model.io.continue_calls`), and so for the
        settings that may be changed between calls (``net.batch_size = 16``):
        ``batch_size_per_call``, ``learning_rate_per_call``,
        ``record_every_per_call`` and ``target_tol_per_call`` (``"None"``:
        z* given): ``fit(X, D, seed=s0)``, then ``partial_fit(X2, seed=s1)``
        with the ``n_steps`` of ``steps_per_call`` and these settings make the
        same weights again. A history recorded with
        ``X_val`` (or without) goes on only with it (or without).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Training signals (any, e.g. a new chunk of a stream); patches of
            :attr:`patch_shape_` too, as :meth:`encode` takes them.
        seed : int, SeedSequence, Generator or None
            Seed of this call's minibatch order.
        target, X_val, target_val
            As in :meth:`fit` (the targets ``z*`` computed for
            :attr:`dictionary_` and :attr:`lam_`).

        Returns
        -------
        self : LISTA

        Raises
        ------
        NotFittedError
            When the network was neither fitted, initialised nor loaded.
        ValueError
            For invalid parameters, non-finite ``X``/``X_val``/targets or ones
            whose features or shapes do not match :attr:`dictionary_`,
            ``target_val`` without ``X_val``, ``target`` with
            ``objective="lasso"``, a ``learning_rate`` above the initial
            thresholds (``"full"``) or steps (``"step"``), ``X_val`` (or,
            for ``"lasso"``, ``target_val``) given when the history was
            recorded without it or missing when it was recorded with it, or
            when ``lam``, ``n_layers``, ``parametrization``, ``objective`` or
            ``dtype`` differ from those the weights were trained with (call
            :meth:`fit` to start afresh); all before ``z*`` is computed. An
            all-zero ``X``, which :meth:`fit` refuses, is accepted: a zero
            chunk of a stream is legitimate.
        FloatingPointError
            When training diverges (a training loss, or a recorded validation
            loss or code error, that is not finite) or its squared gradients
            overflow the dtype.

        Warns
        -----
        UserWarning
            When the loss (held-out when ``X_val`` is given, else that of up
            to 1024 training samples) ends above twice its value before this
            call's steps, or a learned step (``"step"``) is at or below zero.
        NegativeThresholdWarning
            (a UserWarning) When a learned threshold (``"full"``) is below zero.
        ConvergenceWarning
            When that loss ends more than 1% above its value before this
            call's steps but not above twice it (a lower ``learning_rate``).
        """
        self._check_fitted()
        dtype = self._validated()
        D = self.dictionary_
        X, X_val = self._flat_patches(X, "X"), self._flat_patches(X_val, "X_val")
        # the caller never passed D: named as the network's dictionary_, before the checks
        # below (check_same_features would call a D of n_features atoms transposed)
        _check_network_features(X, D, "X")
        if X_val is not None:
            _check_network_features(X_val, D, "X_val")
        history = getattr(self, "history_", None)
        made = {"lam": self.lam_, "n_layers": self.n_layers_,
                "parametrization": self.parametrization_, "dtype": D.dtype.name}
        if history is not None:
            made["objective"] = history.attrs.get("objective", "supervised")
        now = {"lam": float(self.lam), "n_layers": int(self.n_layers),
               "parametrization": self.parametrization, "dtype": dtype.name,
               "objective": self.objective}
        for name, value in made.items():
            if now[name] != value:
                raise ValueError(f"{name}={getattr(self, name)!r} but the network was trained "
                                 f"with {name}={value!r}: partial_fit continues that training; "
                                 f"set {name} back or call fit to start afresh")
        if history is not None:  # the history's columns go on: before the training, not after
            had = ("validation_loss" in history, "validation_code_error" in history)
            gets = (X_val is not None, X_val is not None and target_val is not None
                    and self.objective == "lasso")
            if had != gets:
                raise ValueError(f"the history records {sorted(history.data_vars)}; give X_val "
                                 "(and, for objective='lasso', target_val) to every fit and "
                                 "partial_fit call or to none")
        seed_record = seed_attr(seed, before_use=True)  # a Generator's state before the draws
        rng = as_generator(seed)
        target = _one_sample_target(target, X, D.shape[0])
        X, D, lam, _ = validate_problem(X, D, self.lam_, dtype, d_name="dictionary_")
        layers = self._layers(D, lam)
        names = WEIGHTS[self.parametrization_]
        # copies: a refused or diverged step must not leave the network half-trained
        weights = {name: np.array(getattr(self, attr), order="C")
                   for name, (attr, *_) in names.items()}
        adam = getattr(self, "_adam", None)
        if isinstance(self.learning_rate, str):  # "auto": the rate the weights were trained at
            used = None if history is None else history.attrs.get("learning_rate")
            learning_rate = (float(used) if used is not None
                             else _learning_rate("auto", layers.initial(dtype),
                                              int(self.n_layers)))
        else:
            _check_step_against_weights(float(self.learning_rate), layers.initial(dtype))
            learning_rate = float(self.learning_rate)
        fresh = Adam(weights, lr=learning_rate)
        if adam is not None:
            fresh.t = adam.t
            fresh.m = {k: np.array(v, order="C") for k, v in adam.m.items()}
            fresh.v = {k: np.array(v, order="C") for k, v in adam.v.items()}
        first = 0 if history is None else int(history["step"].values[-1])
        rows, attrs = self._train(X, D, lam, layers, weights, fresh, rng, target, X_val,
                                  target_val, dtype, first_step=first, d_name="dictionary_")
        if history is not None:
            # the lists copied: continue_calls extends them, and history_ may be held
            keep = {k: list(v) if isinstance(v, list) else v for k, v in history.attrs.items()}
            # a file saved before the objectives existed lacks these (KeyError: 'loss_units'
            # in history_dataset): this run's, of the objective and parametrisation checked
            # above to be the saved ones
            for key in ("parametrization", "objective", "loss", "loss_units"):
                keep.setdefault(key, attrs[key])
            keep["n_steps"] = int(keep.get("n_steps", first))
            # every call's seed and the settings that may change between calls
            # (attrs["seed"] and the others alone kept the first's, learning_rate the
            # last's): the weights can be made again from the attrs
            call = {"seed": seed_record, **{name: attrs.get(name, "None") for name in (
                "batch_size", "learning_rate", "record_every", "target_tol")}}
            keep.update(continue_calls(keep, call, attrs["n_steps"]))
            keep["n_steps"] += attrs["n_steps"]
            keep["n_training_samples"] = (int(keep.get("n_training_samples", 0))
                                          + attrs["n_training_samples"])
            keep["wall_time"] = float(keep.get("wall_time", 0.0)) + attrs["wall_time"]
            keep["learning_rate"] = learning_rate
            _merge_target_sources(keep, attrs)
            new = history_dataset(rows[1:], keep)  # rows[0]: the start, history_'s last row
            merged = xr.concat([history, new], dim="step", combine_attrs="override")
            # keep's as netCDF stores them (clean_attrs): seed_per_call [0, "None"] failed
            # xarray's own to_netcdf ("No conversion path for dtype: dtype('<U21')")
            merged.attrs = new.attrs
        else:
            attrs["seed"] = seed_record
            merged = history_dataset(rows, attrs)
        self._set_weights(weights, D, lam, getattr(self, "patch_shape_", None))
        self._adam = fresh
        self.history_ = merged
        return self

    def _train(self, X, D, lam, layers, weights, adam, rng, target, X_val, target_val, dtype,
               first_step, d_name="D"):
        """Adam steps on ``weights`` (in place): the rows of the history (the first
        at ``first_step``, before any step) and the run's attrs; ``D`` is named
        ``d_name`` in the messages on ``X_val``."""
        supervised = self.objective == "supervised"
        learning_rate = adam.lr
        if not supervised and target is not None:
            raise ValueError("target was given with objective='lasso', which trains on X alone; "
                             "give target_val (with X_val) to record the error to z*")
        if X_val is None and target_val is not None:
            raise ValueError("target_val was given without X_val")
        # the held-out data are checked as X is, before the FISTA solves for z* (minutes
        # on real data): a bad X_val or target_val was refused only after them
        # where each z* came from, as solver_error_by_iteration records it: a network
        # trained on given codes could not be told from one trained on FISTA's
        sources = {}
        if X_val is not None:
            target_val = _one_sample_target(target_val, X_val, D.shape[0], "target_val",
                                            "X_val")
            X_val = check_array(X_val, "X_val", ndim=(1, 2), dtype=dtype, dims=DATA_DIMS)
            check_same_features(X_val, D, "X_val", d_name)  # the user's shape, not (1, n)
            X_val = X_val[None, :] if X_val.ndim == 1 else X_val  # one sample, as X
            check_products_in_range(X_val, D, dtype, d_name=d_name, x_name="X_val")
            if target_val is not None:
                target_val = self._targets(X_val, D, target_val, "target_val", dtype)
                sources["target_val"] = "target_val"
        if supervised:
            sources["target"] = "optimal_codes" if target is None else "target"
            target = self._targets(X, D, target, "target", dtype)
            if X_val is not None and target_val is None:
                target_val = self._targets(X_val, D, None, "target_val", dtype)
                sources["target_val"] = "optimal_codes"
        n_steps, every = int(self.n_steps), int(self.record_every)
        batches = Minibatches(X.shape[0], int(self.batch_size), True, rng)
        rows, since = [], []
        # the weights this call starts from (Adam updates them in place): the run is judged
        # by their loss and the trained ones' on the same minibatch
        start_weights = {name: np.copy(value) for name, value in weights.items()}
        start = time.perf_counter()
        # forward (X W_e^T, then a product with S or D D^T per layer), backward ~3x that
        n_atoms, n_features = D.shape
        flops = 6.0 * int(batches.batch_size) * n_atoms * (
            n_features + (int(self.n_layers) - 1) * n_atoms)
        # a blow-up overflows inside the layers: NumPy's RuntimeWarnings came before, and
        # added nothing to, the FloatingPointError that the non-finite loss (or Adam's
        # check of the gradients) then raises
        with blas_threads_for_step(flops), np.errstate(over="ignore", invalid="ignore"):
            for step in progress_bar(self.progress, total=n_steps, desc="LISTA", unit="step",
                                     iterable=range(n_steps)):
                idx = batches.next()
                Xb = X[idx]
                Z, cache = layers.forward(Xb, weights, keep=True)
                loss, grad_Z = (code_loss(Z, target[idx]) if supervised
                                else lasso_loss(Z, Xb, D, lam))
                if not np.isfinite(loss):
                    raise _diverged(first_step + step, loss, learning_rate)
                since.append(loss)
                if step == 0:  # the start; its loss also opens the first interval
                    rows.append(self._record(first_step, since, layers, weights, D, lam,
                                             X_val, target_val, clear=False))
                    _check_row(rows[-1], learning_rate)
                try:
                    adam.step(weights, layers.gradients(Xb, weights, cache, grad_Z))
                except FloatingPointError as exc:  # gradients beyond the dtype's range
                    raise FloatingPointError(
                        f"LISTA training stopped at step {first_step + step}: {exc}; "
                        + (f"lower learning_rate (now {learning_rate!r}) or "
                           if first_step + step else "")  # at step 0: the data alone
                        + "rescale X and lam together (the codes scale with them)"
                        + (" or use dtype='float64'" if dtype == np.float32 else "")) from exc
                if (step + 1) % every == 0 or step + 1 == n_steps:
                    rows.append(self._record(first_step + step + 1, since, layers, weights, D,
                                             lam, X_val, target_val))
                    _check_row(rows[-1], learning_rate)
            # the last update is checked as the others are, by the loss it gives (there the
            # last minibatch's): unchecked, a step that blew the network up was returned as
            # trained, and encode blamed the overflowing codes on X
            Z = layers.forward(Xb, weights)
            loss = (code_loss(Z, target[idx]) if supervised
                    else lasso_loss(Z, Xb, D, lam, grad=False))[0]
            if not np.isfinite(loss):
                raise _diverged(first_step + n_steps, loss, learning_rate)
            judged = None
            # judged on X_val alone unless its loss rose (1024 rows encoded twice for nothing
            # doubled the time of a partial_fit of 10 steps of 16 layers); when it rose, the
            # training loss tells overfitting from too high a learning_rate
            if X_val is None or not (rows[-1]["validation_loss"]
                                     <= WORSE_LOSS_RATIO * rows[0]["validation_loss"]):
                judged = _judged_rows(X.shape[0])
                Xj = X[judged]
                losses = []
                for w in (start_weights, weights):
                    Z = layers.forward(Xj, w)
                    losses.append((code_loss(Z, target[judged]) if supervised
                                   else lasso_loss(Z, Xj, D, lam, grad=False))[0])
        _warn_if_training_failed(rows, weights, layers, learning_rate,
                                 None if judged is None else (*losses, judged.size))
        loss_text, loss_units = LOSSES[self.objective]
        attrs = dict(model="LISTA", n_layers=int(self.n_layers), lam=lam,
                     parametrization=self.parametrization, objective=self.objective,
                     n_steps=n_steps, batch_size=int(batches.batch_size),
                     record_every=int(self.record_every),
                     learning_rate=learning_rate, dtype=dtype.name,
                     n_training_samples=X.shape[0], n_atoms=D.shape[0], n_features=D.shape[1],
                     seed="None", wall_time=time.perf_counter() - start,
                     loss=loss_text, loss_units=loss_units)
        if sources:
            attrs.update(sources)
            # the tolerance of the codes FISTA computed; "None" when every z* was given
            attrs["target_tol"] = (float(self.target_tol) if "optimal_codes" in sources.values()
                                   else "None")
        return rows, attrs

    def _targets(self, X, D, target, name, dtype):
        if target is None:
            x_name = "X" if name == "target" else "X_val"
            return optimal_codes_with_names((x_name, "target_tol", name), X, D, self.lam,
                                            self.target_tol, dtype, progress=self.progress)
        target = check_array(target, name, ndim=2, dtype=dtype, dims=CODE_DIMS)
        return check_shape(target, name, (X.shape[0], D.shape[0]))

    def _record(self, step, since, layers, weights, D, lam, X_val, target_val, clear=True):
        row = {"step": step, "train_loss": float(np.mean(since))}
        if clear:
            since.clear()
        if X_val is not None:
            Z = layers.forward(X_val, weights)
            if self.objective == "supervised":
                row["validation_loss"] = code_loss(Z, target_val)[0]
            else:
                row["validation_loss"] = lasso_loss(Z, X_val, D, lam, grad=False)[0]
                if target_val is not None:
                    row["validation_code_error"] = code_loss(Z, target_val)[0]
        return row

    def _set_weights(self, weights, D, lam, patch_shape):
        """The fitted state from the training loop's ``weights`` (a dict as in
        :data:`WEIGHTS`) for ``D`` (rows) and ``lam``; ``patch_shape`` the (height,
        width) of its atoms given as images, else None."""
        for other in WEIGHTS.values():  # a refit may change the parametrisation
            for attr, *_ in other.values():
                self.__dict__.pop(attr, None)
        self.__dict__.pop("threshold_", None)
        kind = self.parametrization
        for name, (attr, *_) in WEIGHTS[kind].items():
            setattr(self, attr, weights[name])
        if kind == "step":
            self.threshold_ = weights["step"] * D.dtype.type(lam)  # as in StepLayers.forward
        self.parametrization_ = kind
        self.n_layers_ = int(self.n_layers)  # encode's depth, even if n_layers changes later
        self.lam_ = float(lam)  # the objective trained for (the step thresholds' lam)
        # a copy: D may be the caller's array (float64 and contiguous passes through the
        # checks as it is), which, changed later, changed the step network's codes unsaid
        self.dictionary_ = np.array(D, order="C")
        self.n_features_in_ = D.shape[1]
        self.patch_shape_ = None if patch_shape is None else tuple(int(n) for n in patch_shape)

    # ------------------------------------------------------------ using
    def _check_fitted(self):
        if not hasattr(self, "parametrization_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call "
                                 "'fit' or 'initialize' first")

    def _flat_patches(self, X, name):
        """``X`` (named ``name``) given as patches ``(n_samples, height, width)`` of the
        atoms' shape flattened row-major, for a network whose atoms were given as images
        (:attr:`patch_shape_`); refused naming both shapes when theirs differs.
        Anything else is returned as given, for the callers' own checks."""
        shape = getattr(self, "patch_shape_", None)  # None for a network fitted on rows
        if shape is None:
            return X
        X, _ = flatten_image_atoms(X, self.dictionary_.reshape(-1, *shape), name,
                                   "dictionary_")
        return X

    def encode(self, X):
        """Codes of ``X`` after the network's ``n_layers`` layers.

        Labelled in, labelled out, as :func:`v1model.inference.encode`: the codes
        of a DataArray ``X`` are a DataArray over (sample, atom) with ``X``'s
        sample labels and units and the network's settings in attrs.

        A tqdm bar over the samples is shown once the call has run 2 s, unless
        the network was made with ``progress=False`` (in blocks of
        :data:`ENCODE_BLOCK` rows: none for fewer).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Signals; for a network made with atoms as images, also patches
            ``(n_samples, height, width)`` of :attr:`patch_shape_`, flattened
            row-major as the atoms were (a DataArray over (sample, y, x) by
            dim name).

        Returns
        -------
        ndarray or xarray.DataArray, shape (n_samples, n_atoms)
            In the network's dtype (``(1, n_atoms)`` for a single sample); for a
            DataArray ``X`` a DataArray over (sample, atom), attrs ``method``
            ("LISTA"), ``lam`` (:attr:`lam_`, with ``lam_units``), ``n_layers``,
            ``parametrization``, ``units`` (``X``'s) and ``dtype``.
        """
        # a DataArray's codes came back bare, their samples numbered by position, where
        # encode() and the autoencoders label them
        return labelled_codes(self._codes(X), X, self.dictionary_, method="LISTA",
                              lam=self.lam_, n_layers=self.n_layers_,
                              parametrization=self.parametrization_)

    def _codes(self, X):
        """:meth:`encode`'s codes as an ndarray (n_samples, n_atoms), for the methods
        that compute with them."""
        self._check_fitted()
        D = self.dictionary_
        # patches of the atoms' shape, as the solvers take them (were refused: "X must
        # have 1 or 2 dimension(s)")
        X = self._flat_patches(X, "X")
        X = check_array(X, "X", ndim=(1, 2), dtype=D.dtype, dims=DATA_DIMS)
        # before the reshape: the message showed one sample (n,) as (1, n)
        if X.shape[-1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[-1]} features per sample (shape {X.shape}) but "
                             f"this LISTA was fitted with {self.n_features_in_}; expected X "
                             f"of shape (n_samples, {self.n_features_in_})")
        X = X[None, :] if X.ndim == 1 else X
        G = D @ D.T if self.parametrization_ == "step" else None
        Z = np.empty((X.shape[0], D.shape[0]), dtype=D.dtype)
        # a bar once the call has run 2 s (1M 16x16 patches, 512 atoms, 3 layers: ~2 min
        # on one core, without one), none for a network made with progress=False nor for
        # one block (it would move once, at the end, and even disabled it cost a
        # single sample's call ~20 us, most of its time)
        shown = check_progress(self.progress) is not False and X.shape[0] > ENCODE_BLOCK
        with (progress_bar(None, total=X.shape[0], desc="LISTA encode", unit="sample")
              if shown else nullcontext()) as bar:
            # in blocks of rows: each layer's temporaries are (rows, n_atoms), several of
            # them; all the rows at once peaked at 5x a 256 MB memmap (1M 16x16 patches)
            for start in range(0, X.shape[0], ENCODE_BLOCK):
                rows = slice(start, start + ENCODE_BLOCK)
                # an overflow is found and reported below: NumPy's RuntimeWarnings
                # came before the ValueError and added nothing to it
                with np.errstate(over="ignore", invalid="ignore"):
                    if G is not None:
                        Z[rows] = slista_forward(X[rows], D, G, self.step_size_,
                                                 self.threshold_)
                    else:
                        Z[rows] = lista_forward(X[rows], self.encoder_weight_,
                                                self.lateral_weight_, self.threshold_,
                                                self.n_layers_)
                if not np.all(np.isfinite(Z[rows])):
                    raise _overflow_error(X[rows], Z.dtype, self.parametrization_)
                if bar is not None:
                    bar.update(Z[rows].shape[0])
        return Z

    def code_error(self, X, target):
        """``0.5 * mean_i ||z_i - z*_i||^2``: the codes' error to ``target`` (the
        supervised loss).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Signals to encode.
        target : array_like, shape (n_samples, n_atoms) or (n_atoms,)
            Reference codes ``z*`` (e.g. :func:`optimal_codes` of ``X``); one row
            when 1-D, with a 1-D ``X`` (as :meth:`fit` takes them).

        Returns
        -------
        error : float
            In squared units of the codes.
        """
        # a 1-D X is one sample: its 1-D target one row, as fit takes it (was refused)
        self._check_fitted()
        target = _one_sample_target(target, X, self.dictionary_.shape[0])
        Z = self._codes(X)
        target = check_array(target, "target", ndim=2, dtype=Z.dtype, dims=CODE_DIMS)
        return code_loss(Z, check_shape(target, "target", Z.shape))[0]

    def lasso_objective(self, X):
        """``mean_i 0.5 ||x_i - z_i D||^2 + lam ||z_i||_1`` of the codes (the
        ``"lasso"`` loss) in the network's dictionary, at the ``lam`` it was
        made for (:attr:`lam_`).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Signals to encode.

        Returns
        -------
        objective : float
            Mean LASSO objective per sample (squared units of ``X`` for a
            unit-norm dictionary).
        """
        Z = self._codes(X)
        X = check_array(self._flat_patches(X, "X"), "X", ndim=(1, 2), dtype=Z.dtype,
                        dims=DATA_DIMS).reshape(Z.shape[0], -1)
        return lasso_loss(Z, X, self.dictionary_, self.lam_, grad=False)[0]

    def loss(self, X, target=None):
        """The training loss on ``X``: :meth:`code_error` to ``target``
        (``objective="supervised"``, target required) or :meth:`lasso_objective`
        (``"lasso"``, no target).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Signals to encode.
        target : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
            Reference codes (one row when 1-D, with a 1-D ``X``); required for
            ``"supervised"``, refused for ``"lasso"``.

        Returns
        -------
        loss : float
        """
        if self.objective == "lasso":
            if target is not None:
                raise ValueError("target was given to the loss of objective='lasso' (the LASSO "
                                 "objective of the codes); use code_error(X, target)")
            return self.lasso_objective(X)
        if target is None:
            raise ValueError("the loss of objective='supervised' needs target (the optimal "
                             "codes of X); use lasso_objective(X) for the LASSO objective")
        return self.code_error(X, target)

    # ------------------------------------------------------------ persistence
    def to_dataset(self) -> xr.Dataset:
        """The network as a Dataset: weights, dictionary, history, parameters in attrs.

        Returns
        -------
        ds : xarray.Dataset
            ``dictionary`` (atom, feature), the weights of the parametrisation,
            the history over ``step`` when there is one, parameters in attrs
            (and ``patch_shape``, [height, width], for atoms given as images).
        """
        self._check_fitted()
        params = self.get_params()
        # what the weights were made with, even if the settings changed since
        params["dtype"] = self.dictionary_.dtype.name
        params["n_layers"] = self.n_layers_  # the depth of the weights
        params["parametrization"] = self.parametrization_
        params["lam"] = self.lam_
        ds = network_dataset(self, params)
        if getattr(self, "patch_shape_", None) is not None:  # encode takes such patches
            ds.attrs["patch_shape"] = list(self.patch_shape_)
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> LISTA:
        """The network saved by :meth:`to_dataset` (files saved before ``objective`` and
        ``parametrization`` existed load as ``"supervised"`` and ``"full"``; a history
        saved before it recorded ``record_every`` gets the saved network's, the
        setting of its calls, unless its steps are spaced wider: then ``"None"``).

        Parameters
        ----------
        ds : xarray.Dataset
            A Dataset written by :meth:`to_dataset`.

        Returns
        -------
        net : LISTA
            The fitted network, ready to encode.
        """
        params, weights, D, history, adam = read_network(ds, PARAMS)
        net = cls(**params)
        dtype = net._validated()  # e.g. n_layers=0 encoded one layer
        D = check_array(D, "ds['dictionary']", ndim=2, dtype=dtype)
        k, p = D.shape
        shapes = {"W_e": (k, p), "S": (k, k), "theta": (k,), "step": (int(net.n_layers),)}
        for name, (_, var, *_) in WEIGHTS[params["parametrization"]].items():
            # NaN weights gave NaN codes; a wrong shape failed inside a product
            # copies: the network must not share memory with the Dataset it was read from
            weights[name] = check_shape(np.array(check_array(weights[name], f"ds[{var!r}]",
                                                             dtype=dtype), order="C"),
                                        f"ds[{var!r}]", shapes[name])
        net._set_weights(weights, D, float(params["lam"]), _saved_patch_shape(ds, D))
        net._adam = None
        if adam is not None:  # Adam's state, for partial_fit
            t, moments = adam
            net._adam = Adam(weights, lr=0.0)
            net._adam.t = t
            for key in ("m", "v"):
                getattr(net._adam, key).update(
                    {name: check_shape(np.array(check_array(moments[key][name],
                                                            f"ds['adam_{key}_{name}']",
                                                            dtype=dtype), order="C"),
                                       f"ds['adam_{key}_{name}']", shapes[name])
                     for name in weights})
        net.history_ = history
        return net
