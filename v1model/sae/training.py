"""Minibatch Adam training of a sparse autoencoder, with the decoder rows kept
unit-norm, dead latents tracked (and revived by AuxK for the TopK
activations) and one row of statistics per step.

One step is :func:`train_step`; :func:`train` runs the steps of one call of
``fit`` or ``partial_fit``, continuing a :class:`TrainingState` (so that a
stream of chunks trains as one run would), at the rates of
:func:`lr_schedule`."""

from __future__ import annotations

import math
import time

import numpy as np
import xarray as xr

from ..io import clean_attrs, count_coord
from ..adam import Adam
from ..validation import check_fits_in_memory
from .decoder import project_rows, remove_parallel_gradient
from .activations import _batch_topk
from .objective import (auxk_dead, auxk_loss, encoder_gradients, is_large_product,
                        loss_and_gradients, pre_activations)
from .pursuit import GRAM_MAX_BYTES

__all__ = ["initial_parameters", "training_memory", "check_training_memory", "BIASES",
           "TrainingState", "lr_schedule", "train", "train_step", "threshold_at_end",
           "HISTORY_FIELDS"]

#: history variable -> (long_name, units); one value per training step
HISTORY_FIELDS = {
    "loss": ("training loss of the minibatch: mse + sparsity term (+ aux_coef * aux_loss)",
             "(units of X)^2"),
    "mse": ("mean over samples of the squared reconstruction error ||x - x_hat||^2",
            "(units of X)^2"),
    "fvu": ("fraction of variance unexplained: sum ||x - x_hat||^2 / sum ||x - mean||^2 over "
            "the minibatch, mean: of every sample trained on so far, the minibatch's included "
            "(not the minibatch's own, which a minibatch of a few samples shrank); NaN when "
            "the denominator is 0", "1"),
    "l0": ("mean number of non-zero latents per sample", "1"),
    "n_dead": ("latents that fired on none of the last dead_after training samples, counted "
               "after the step (its minibatch included; whole minibatches: silent for at "
               "least dead_after samples), in the training codes (batchtopk: the top k * "
               "batch_size of each minibatch); not evaluate(X).n_dead, the latents zero on "
               "every sample of X, which counts a latent that fires once in more than "
               "dead_after samples as alive", "1"),
    "aux_loss": ("AuxK loss (Gao et al. 2024) of the latents dead before the step (n_dead of "
                 "the previous step); 0 when none was or AuxK is off", "(units of X)^2"),
    "threshold": ("BatchTopK running estimate of the inference threshold: the weighted mean "
                  "sum_i w_i s_i / sum_i w_i of the smallest kept activation s_i of each "
                  "batch so far, w_i = (1 - threshold_rate)^(steps after i) (NaN for other "
                  "activations; threshold_ measures the last batches again with the trained "
                  "model)", "units of pre-activations"),
    "lr": ("learning rate of the step's Adam update of the weights (after warm-up and "
           "decay); the biases b_enc and b_dec move at lr * x_spread", "1 per step"),
    "wall_time": ("cumulative training time", "s"),
}
#: long_name of the history's ``step`` coordinate (units "1")
STEP_LONG_NAME = "training step: Adam steps taken before this one"


def initial_parameters(X, n_latents, activation, theta_init, rng, dtype, mean=None):
    """Starting point of training (after Gao et al. 2024).

    Decoder: Gaussian rows, unit norm; encoder: the decoder itself (tied at
    initialisation); ``b_enc = 0``; ``b_dec`` = mean of ``X``; JumpReLU
    thresholds ``theta_init``.

    Two deliberate differences from the reference code of Gao et al.
    (openai/sparse_autoencoder): ``b_dec`` starts at the mean, not the
    geometric median of a sample of ``X`` (Bricken et al. 2023 and Gao et
    al. 2024 use the median), because the mean comes from the one pass that
    also checks ``X`` (a memmap or the first chunk of a stream is not read
    again); and the encoder is not rescaled after tying (their code divides
    it by the mean norm of the reconstructions of random unit vectors, which
    they found of no clear benefit).

    ``mean`` (n_features,), when given, is the mean of ``X`` over samples
    already measured (the estimator's single pass over the data); ``X`` is
    then not read.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Training data (only its shape is used when ``mean`` is given).
    n_latents : int
        Number of latents.
    activation : str
        One of :data:`v1model.sae.objective.ACTIVATIONS`.
    theta_init : float
        JumpReLU initial threshold (units of the pre-activations), > 0;
        ignored by the other activations.
    rng : numpy.random.Generator
        Source of the decoder's Gaussian rows.
    dtype : numpy dtype
        Precision of the returned arrays.
    mean : array_like, shape (n_features,), optional
        Mean of ``X`` over samples.

    Returns
    -------
    params : dict of ndarray
        ``decoder`` (n_latents, n_features) and ``b_dec`` (n_features,);
        except for ``mp``, ``encoder`` (n_latents, n_features) and ``b_enc``
        (n_latents,); for ``jumprelu``, ``log_theta`` (n_latents,).

    Raises
    ------
    ValueError
        When the weights and their Adam moments would not fit in the memory
        this process may use (:func:`v1model.validation.check_fits_in_memory`).
    """
    n_features = X.shape[1]
    _check_weights_fit(n_latents, n_features, activation, dtype)
    # drawn (float64), normalised and cast a block of rows at a time: the same numbers as
    # one draw of the whole (the generator's stream and each row's norm do not depend on the
    # block), without the float64 decoder, its copy and their casts (3x the weights) at once
    D = np.empty((n_latents, n_features), dtype)
    rows = max(1, _INIT_BLOCK_ELEMENTS // n_features)
    for start in range(0, n_latents, rows):
        block = rng.standard_normal((min(rows, n_latents - start), n_features))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        D[start:start + rows] = block
    if mean is None:
        mean = X.mean(axis=0, dtype=np.float64)
    params = {"decoder": D, "b_dec": np.asarray(mean, dtype=np.float64)}
    if activation != "mp":
        params["encoder"] = D.copy()
        params["b_enc"] = np.zeros(n_latents)
    if activation == "jumprelu":
        params["log_theta"] = np.full(n_latents, np.log(theta_init))
    return {name: np.ascontiguousarray(p, dtype=dtype) for name, p in params.items()}


#: float64 numbers of the decoder drawn at a time by :func:`initial_parameters`
_INIT_BLOCK_ELEMENTS = 2**16


def _check_weights_fit(n_latents, n_features, activation, dtype):
    """Refuse (naming ``n_latents``) weights that, with their two Adam moments, would
    not fit in memory: numpy's "Unable to allocate 5.82 TiB" named no argument."""
    n_weights = 1 if activation == "mp" else 2
    check_fits_in_memory((n_latents, 3 * n_weights * n_features), dtype, "n_latents",
                         n_latents, f"latents of {n_features} features ({3 * n_weights} "
                         f"arrays: the weights and their Adam moments, {np.dtype(dtype).name})")


def training_memory(batch_size, n_latents, n_features, activation, dtype, *, k=1,
                    auxk=False):
    """Bytes that training holds at the peak of a step: ``fixed + batch_size * per_sample``.

    Counted from the code of :func:`train_step` (each phase's arrays, summed
    over phases: an upper bound, 5-40% above the peak tracemalloc measures
    at the worst, AuxK with every latent dead, and up to ~75% above a TopK
    step with few dead), with ``s`` the dtype's bytes, ``m = n_latents`` and
    ``p = n_features``:

    - ``fixed``: the weights and their two Adam moments, the weights'
      gradients, the decoder before the step and two weight-sized
      temporaries; ``mp``: and the decoder's Gram matrix where
      :func:`~v1model.sae.pursuit.pursuit_gram` makes it for this batch size
      (:data:`~v1model.sae.pursuit.GRAM_MAX_BYTES` at most).
    - ``per_sample``: the (batch, latents) arrays, per latent ``relu``: the
      pre-activations, latents, their mask, ``dL/dz`` and ``dL/dpre`` of the
      dense backward (``4 s + 1``); ``topk``, ``batchtopk``: the
      pre-activations, mask and latents and the int64 indices of
      ``np.argpartition`` (``2 s + 10``), or the dense backward's ``4 s + 1``,
      and with AuxK, for every latent dead (training can reach that), a copy
      of the pre-activations, its own indices, masks and latents and the full
      formula's ``dL/dpre`` (``5 s + 11``); ``jumprelu``: the kernel and the
      thresholds' gradient too (``6 s + 1``); ``mp``: the codes and two
      arrays of correlations (``3 s``). Plus, per feature, the batch and ~8
      arrays of its size (``mp``: and the ``k`` residuals of the trace).

    At 16,384 float32 ``topk`` latents on 768 features with AuxK: 0.55 GB
    fixed and 0.54 MB per sample, 2.7 GB in batches of 4,096 (of which the
    weights and their Adam moments are 0.3 GB).

    Parameters
    ----------
    batch_size : int
        Samples per step (``mp``: whether the Gram matrix pays).
    n_latents, n_features : int
    activation : str
        One of :data:`v1model.sae.objective.ACTIVATIONS`.
    dtype : numpy dtype
        Precision of training.
    k : int, default 1
        Pursuit steps (``mp``; unused by the others).
    auxk : bool, default False
        Whether AuxK trains (``topk``, ``batchtopk`` with ``aux_coef > 0``).

    Returns
    -------
    fixed : float
        Bytes whatever the batch size.
    per_sample : float
        Bytes per sample of a batch.
    """
    s = np.dtype(dtype).itemsize
    m, p = float(n_latents), float(n_features)
    n_weights = 1 if activation == "mp" else 2
    fixed = (3 * n_weights + n_weights + 3) * s * m * p
    per_feature = 9 * s
    if activation == "relu":
        per_latent = 4 * s + 1
    elif activation in ("topk", "batchtopk"):
        per_latent = 5 * s + 11 if auxk else max(2 * s + 10, 4 * s + 1)
    elif activation == "jumprelu":
        per_latent = 6 * s + 1
    else:  # mp
        per_latent = 3 * s
        per_feature += k * s
        if m * m * s <= GRAM_MAX_BYTES and (k - 1) * batch_size > m:  # as pursuit_gram
            fixed += m * m * s
    return fixed, per_latent * m + per_feature * p


def check_training_memory(batch_size, n_latents, n_features, activation, dtype, *, k=1,
                          auxk=False, name="batch_size", remedy=None):
    """Refuse a training run whose steps would not fit in the memory this process
    may use (:func:`v1model.validation.physical_memory`), before anything is
    allocated: the weights and their Adam moments, then what a step holds at any
    batch size (both naming ``n_latents``), then a whole step
    (:func:`training_memory`, naming ``batch_size``).

    Parameters
    ----------
    batch_size : int
        Samples per step: those the steps hold (a stream's chunk shorter than the
        minibatches is one step of its rows).
    n_latents, n_features, activation, dtype, k, auxk
        As for :func:`training_memory`.
    name : str, default "batch_size"
        What sets ``batch_size``, named in the message (``"len(X)"`` for such a chunk).
    remedy : callable, optional
        ``remedy(fit) -> str``: what else mends it, given the samples per step that
        would fit (:func:`~v1model.validation.check_fits_in_memory`).

    Raises
    ------
    ValueError
        With the bytes needed and the batch size that would fit.
    """
    _check_weights_fit(n_latents, n_features, activation, dtype)
    # the bytes no batch size avoids (one sample: no Gram matrix) name n_latents: weights
    # that fit beside their moments (6 arrays) but not a step's 11 were refused by
    # batch_size, "at most 0 would fit", which no batch size mends
    least, _ = training_memory(1, n_latents, n_features, activation, dtype, k=k, auxk=auxk)
    check_fits_in_memory(
        (n_latents, math.ceil(least / n_latents)), np.uint8, "n_latents", n_latents,
        f"latents of {n_features} features ({np.dtype(dtype).name}: the weights, their "
        "gradients and Adam moments and a training step's weight-sized temporaries, at any "
        "batch_size)")
    fixed, per_sample = training_memory(batch_size, n_latents, n_features, activation, dtype,
                                        k=k, auxk=auxk)
    check_fits_in_memory(
        (batch_size, math.ceil(per_sample)), np.uint8, name, batch_size,
        f"samples per training step of {n_latents} {activation} latents on {n_features} "
        f"features ({np.dtype(dtype).name}: {per_sample:.4g} bytes per sample, besides "
        f"{fixed:.4g} bytes of weights, their gradients and Adam moments)", plus=fixed,
        remedy=remedy)


class _Tracker:
    """Samples since each latent last fired; a latent is dead after ``dead_after``."""

    def __init__(self, n_latents, dead_after):
        self.since = np.zeros(n_latents, dtype=np.int64)
        self.dead_after = dead_after

    def dead(self):
        return self.since >= self.dead_after

    def update(self, z):
        fired = np.any(z != 0, axis=0)
        self.since[fired] = 0
        self.since[~fired] += z.shape[0]


#: the parameters in units of X (the others, weights and log-thresholds, have none)
BIASES = ("b_enc", "b_dec")


class TrainingState:
    """What training carries from one step to the next, and from one call of
    ``partial_fit`` to the next: the Adam moments and step count, the
    dead-latent tracker, the BatchTopK threshold's running estimate and its
    weight (:meth:`observe_smallest`), the running mean of the samples (the
    centre of the history's FVU), the minibatch order's generator, the scale
    of the data and the training time so far.

    Training is the same at every scale of the data, as if it ran on
    ``X / scale``: the biases (:data:`BIASES`, in units of X) move at
    ``lr * scale`` per step while the weights (no units: the decoder rows
    have unit norm, the encoder starts as the decoder, the JumpReLU
    log-thresholds) move at ``lr``, and before Adam sees the gradients (of a
    loss in units of X squared) they are divided by ``scale`` (biases) or
    ``scale**2`` (weights), so that its ``eps`` acts alike at every scale.
    Fitting ``c * X`` (with ``lam``, ``bandwidth`` and ``theta_init`` scaled
    alike) then gives the model of ``X`` with its biases and codes times
    ``c``.

    The gradients are those of ``loss_scale`` times the loss, ``loss_scale``
    a power of two within a factor 2 of ``1 / scale``: the weights' gradients
    are then ~scale and the biases' ~1, where those of the loss itself
    (~scale**2 and ~scale) fall below the dtype's smallest normal number for
    tiny data (float32 data of spread below ~1e-19: subnormal gradients lost
    their precision and training degraded). A power of two scales exactly:
    wherever the unscaled gradients are normal numbers, the steps are bit for
    bit theirs.

    Parameters
    ----------
    params : dict of ndarray
        The trained arrays (the Adam moments take their shapes and dtypes).
    rng : numpy.random.Generator
        Draws the order of the minibatches.
    scale : float, default 1.0
        Spread of the data (units of X): root mean square of ``X - mean(X)``
        of the first data trained on; positive.
    """

    def __init__(self, params, rng, scale=1.0):
        self.adam = Adam(params)
        self._set_scale(scale, params)
        self.tracker = _Tracker(params["decoder"].shape[0], 1)  # dead_after: set by train
        self.rng = rng
        self.threshold = float("nan")
        self.threshold_weight = 0.0
        self.x_mean = None
        self.x_count = 0
        self.last_smallest = float("nan")  # of the latest step's batch (NaN: none kept)
        self.elapsed = 0.0  # s

    #: states pickled before the weight existed held the plain running average, started at
    #: the first batch's value: weight 1 continues it as it was
    threshold_weight = 1.0
    #: and no running mean of X: it restarts at the next batch
    x_mean = None
    x_count = 0

    def observe_smallest(self, smallest, rate):
        """Fold one batch's smallest kept activation into the BatchTopK threshold.

        The threshold is the weighted mean ``sum_i w_i s_i / sum_i w_i`` of the
        batches' smallest kept activations ``s_i``, with ``w_i = rate_i
        prod_{j > i} (1 - rate_j)``: the running average of Bussmann et al.'s
        code (started at 0) divided by its total weight, as Adam corrects its
        moments' bias. For ``n << 1 / rate`` batches that is their plain mean
        (the paper's definition, an average over batches), for ``n >> 1 /
        rate`` the exponential running average; a rate changed between calls
        weighs the later batches by the new one. The plain running average
        started at the first batch's value gave that batch a weight
        ``(1 - rate)**(n - 1)``: 61% after 50 steps at rate 0.01.

        Parameters
        ----------
        smallest : float
            The batch's smallest kept positive activation (units of the
            pre-activations), finite.
        rate : float
            The step's ``threshold_rate``, in (0, 1).
        """
        if not np.isfinite(self.threshold):  # no batch kept a positive activation before
            self.threshold, self.threshold_weight = float(smallest), rate
            return
        weight = (1.0 - rate) * self.threshold_weight + rate
        self.threshold += rate * (float(smallest) - self.threshold) / weight
        self.threshold_weight = weight

    def observe_mean(self, batch):
        """Fold ``batch`` (n, n_features) into the running mean of the samples
        trained on, and return it (n_features,), float64: the centre of the
        history's FVU."""
        n = batch.shape[0]
        batch_mean = batch.mean(axis=0, dtype=np.float64)
        self.x_count += n
        if self.x_mean is None:
            self.x_mean = batch_mean
        else:
            self.x_mean = self.x_mean + (batch_mean - self.x_mean) * (n / self.x_count)
        return self.x_mean

    def _set_scale(self, scale, params):
        self.scale = float(scale)
        #: what each gradient of the loss is multiplied by before the Adam step
        self.gradient_factors = {name: 1.0 / self.scale if name in BIASES
                                 else 1.0 / (self.scale * self.scale) for name in params}
        #: factor of the loss whose gradients train_step computes (a power of two, ~1 / scale)
        self.loss_scale = math.ldexp(1.0, -math.frexp(self.scale)[1])
        # gradient_factors / loss_scale, without 1 / scale**2 (inf in float64 below ~1e-154)
        unit = self.scale * self.loss_scale  # in [0.5, 1), exact
        self._factors = {name: 1.0 / unit if name in BIASES else 1.0 / (self.scale * unit)
                         for name in params}
        self.adam.rates = {name: self.scale for name in BIASES}

    def rescale(self, scale, params):
        """Train at ``scale`` from the next step on (a stream whose first chunk
        had no spread settles its scale at the first chunk that has one).

        The Adam moments, of the gradients divided by the old scale (biases)
        or its square (weights), are converted to the new one, so that the
        moments carry over the gradients seen so far.

        Parameters
        ----------
        scale : float
            The new scale (units of X), positive.
        params : dict of ndarray
            The trained arrays (their names).
        """
        ratio = self.scale / float(scale)
        for name in self.adam.m:
            factor = ratio if name in BIASES else ratio * ratio
            for moments, power in ((self.adam.m, 1), (self.adam.v, 2)):
                old = moments[name]
                big = float(np.finfo(old.dtype).max)
                # in float64 (factors up to ~1e88 for float32 data of 1e-22), the
                # moments clipped to the dtype: an infinite v would freeze the parameter
                moments[name] = np.clip(old.astype(np.float64) * factor ** power,
                                        -big, big).astype(old.dtype)
        self._set_scale(scale, params)

    @property
    def n_steps(self):
        """Steps taken so far."""
        return self.adam.t

    def scale_gradient(self, name, g):
        """``g`` (the gradient of ``loss_scale`` times the loss with respect to
        ``name``) times ``gradient_factors[name] / loss_scale``, in place.

        That factor is ~``1 / scale`` for the weights and ~1 for the biases:
        within the dtype's range at every scale of data that passes the range
        check (:func:`v1model.validation.smallest_safe_value`).

        Parameters
        ----------
        name : str
            The parameter's name (:data:`BIASES` take one power of the scale).
        g : ndarray
            Its gradient; modified in place.

        Returns
        -------
        g : ndarray
            The same array.
        """
        g *= self._factors[name]
        return g


def lr_schedule(lr, steps, n_steps, warmup=0, decay=0.0):
    """Learning rate at the 0-based ``steps``: linear warm-up, then constant,
    then linear decay to zero.

    ``lr * min(1, (s + 1) / warmup, (n_steps - s) / (decay * n_steps))``, the
    second term only when ``warmup > 0``, the third only when ``decay > 0``:
    the first step takes ``lr / warmup``, and the last of ``n_steps`` steps
    ``lr / (decay * n_steps)``.

    Parameters
    ----------
    lr : float
        Peak learning rate (units of the parameters per step).
    steps : ndarray of int, shape (n,)
    n_steps : int
        Steps of the whole run (used by the decay only).
    warmup : int, default 0
        Steps of the warm-up.
    decay : float, default 0.0
        Fraction of ``n_steps`` over which the rate decays, in [0, 1).

    Returns
    -------
    ndarray, shape (n,)
        The learning rate of each of ``steps``.
    """
    factor = np.ones(len(steps))
    if warmup > 0:
        factor = np.minimum(factor, (np.asarray(steps) + 1.0) / warmup)
    if decay > 0:
        factor = np.minimum(factor, (n_steps - np.asarray(steps)) / (decay * n_steps))
    return lr * factor


def train(params, batches, objective, state, *, lrs, k_aux, aux_coef, dead_after,
          threshold_rate, progress=False):
    """Train ``params`` (in place) by Adam on each minibatch of ``batches``,
    continuing ``state``; yields one history row per step.

    Each step (:func:`train_step`) takes the step's learning rate from
    ``lrs``. Stops after ``len(lrs)`` steps or when ``batches`` ends.

    Parameters
    ----------
    params : dict of ndarray
    batches : iterable of ndarray, each (batch, n_features), of the params' dtype
    objective : Objective
    state : TrainingState
    lrs : ndarray, shape (n_steps,)
        Learning rate of each step (units of the parameters per step).
    k_aux, aux_coef : int, float
        AuxK latents and the weight of their loss (``topk``/``batchtopk``; see
        :class:`~v1model.sae.SparseAutoencoder`).
    dead_after : int
        Training samples without firing after which a latent counts as dead.
    threshold_rate : float
        BatchTopK: rate of the running average of the inference threshold.
    progress : bool or None, default False
        Show a tqdm bar over the steps (None: once it has run 2 s).

    Yields
    ------
    row : ndarray, shape (len(HISTORY_FIELDS),)
    """
    from ..progress import progress_bar

    state.tracker.dead_after = dead_after
    batches = iter(batches)
    bar = progress_bar(progress, iterable=lrs, total=len(lrs),
                       desc=f"sae ({objective.activation})", unit="step")
    for i, lr in enumerate(bar):
        start = time.perf_counter()
        batch = next(batches, None)  # reading X (a memmap: from disk) counts as training time
        if batch is None:
            break
        state.elapsed += time.perf_counter() - start
        row = train_step(params, batch, objective, state, lr=lr, k_aux=k_aux,
                         aux_coef=aux_coef, threshold_rate=threshold_rate)
        if i % 50 == 0 or i == len(lrs) - 1:
            bar.set_postfix(mse=f"{row[1]:.4g}", l0=f"{row[3]:.3g}", dead=int(row[4]),
                            refresh=False)
        yield row


def train_step(params, batch, objective, state, *, lr, k_aux, aux_coef, threshold_rate):
    """One Adam step on ``batch`` (n, n_features); updates ``params`` and ``state``.

    The loss and its gradient (:func:`v1model.sae.objective.loss_and_gradients`),
    the AuxK term for ``topk``/``batchtopk`` when some latents are dead (before this
    batch: silent for the last ``dead_after`` samples of the earlier steps) and
    ``aux_coef > 0`` (computed and added in the dead latents' rows only when a
    product of the batch and the encoder is large,
    :func:`~v1model.sae.objective.is_large_product`), removal of the decoder
    gradient's component parallel to each row, an Adam step at rate ``lr``, and
    projection of the decoder rows back to unit norm.

    Parameters
    ----------
    params : dict of ndarray
        Updated in place.
    batch : ndarray, shape (n, n_features), of the params' dtype
    objective : Objective
    state : TrainingState
        Adam's moments, the dead-latent tracker and the step count; updated.
    lr : float
        Learning rate of this step (units of the parameters per step).
    k_aux, aux_coef, threshold_rate : int, float, float
        As for :func:`train`.

    Returns
    -------
    row : ndarray, shape (len(HISTORY_FIELDS),)
        The step's statistics, in the order of :data:`HISTORY_FIELDS`;
        ``n_dead`` counts the latents dead after the step (this batch's codes
        included), as ``state.tracker`` holds them when the step returns.
    """
    start = time.perf_counter()
    act = objective.activation
    # gradients of loss_scale * loss: ~scale (weights), not subnormal at tiny scales
    loss, grads, cache = loss_and_gradients(params, batch, objective,
                                            loss_scale=state.loss_scale)
    dead = state.tracker.dead()
    aux = 0.0
    if act in ("topk", "batchtopk") and aux_coef > 0 and dead.any():
        m, p = params["decoder"].shape
        if not is_large_product(batch.shape[0], m, p):  # small: the full formula
            aux, dpre, ddec = auxk_loss(cache["pre"], params["decoder"], cache["residual"],
                                        dead, k_aux, loss_scale=state.loss_scale)
            grads["decoder"] += aux_coef * ddec
            for name, g in encoder_gradients(aux_coef * dpre, batch, params).items():
                grads[name] += g
        else:  # the gradients in the dead latents' rows only
            cols = np.flatnonzero(dead)
            aux, dpre, ddec = auxk_dead(cache["pre"], params["decoder"], cache["residual"],
                                        cols, k_aux, loss_scale=state.loss_scale)
            dpre *= aux_coef
            grads["decoder"][cols] += aux_coef * ddec
            grads["encoder"][cols] += dpre.T @ (batch - params["b_dec"])
            dsum = np.zeros_like(grads["b_enc"])
            dsum[cols] = dpre.sum(axis=0)
            grads["b_enc"] += dsum
            grads["b_dec"] -= dsum @ params["encoder"]  # as the full formula's sum
        loss += aux_coef * aux
    if not np.isfinite(loss):
        raise FloatingPointError(f"training diverged at step {state.n_steps}: loss {loss}; "
                                 f"lower lr (now {lr}) or rescale X")
    remove_parallel_gradient(grads["decoder"], params["decoder"])
    for name, g in grads.items():  # scale-free gradients of the loss (TrainingState)
        state.scale_gradient(name, g)
    previous = params["decoder"].copy()
    state.adam.lr = lr
    try:
        state.adam.step(params, grads)
    except FloatingPointError as exc:  # gradients beyond the dtype's range
        raise FloatingPointError(
            f"training stopped at step {state.n_steps}: {exc}; "
            + (f"lower lr (now {lr}) or " if state.n_steps else "")  # at step 0: X alone
            + "rescale X, e.g. X / X.std()"
            + (" or use dtype='float64'" if batch.dtype == np.float32 else "")) from exc
    project_rows(params["decoder"], previous)
    state.tracker.update(cache["z"])
    # recorded after this batch's codes are counted, so that n_dead of the last step is the
    # saved state's count (samples_since_fired >= dead_after); ``dead`` (AuxK's mask) was
    # the count before them, one batch behind
    n_dead = int(state.tracker.dead().sum())
    smallest = cache["smallest"]
    state.last_smallest = float("nan") if smallest is None else smallest
    if np.isfinite(state.last_smallest):
        state.observe_smallest(smallest, threshold_rate)
    state.elapsed += time.perf_counter() - start
    # FVU about the mean of every sample trained on (this batch included), not the batch's
    # own: about its own mean a stream's last minibatch of 2 samples lost half its variance
    # on average (n / (n - 1)), all of it for two samples alike (FVU 1.3-1.8 beside 0.8 for
    # whitened patches, 3.5e4 for two samples 1% apart)
    centred = batch - state.observe_mean(batch).astype(batch.dtype)
    total = float(np.einsum("ij,ij->", centred, centred, dtype=np.float64))
    fvu = cache["mse"] * batch.shape[0] / total if total > 0 else float("nan")
    l0 = np.count_nonzero(cache["z"]) / batch.shape[0]
    return np.array([loss, cache["mse"], fvu, l0, n_dead, aux, state.threshold, lr,
                     state.elapsed])


def threshold_at_end(params, k, state, recent, read):
    """The BatchTopK inference threshold at the trained parameters: the running
    estimate of ``state`` with the batches of ``recent`` measured again.

    Each batch's smallest kept activation ``s_i`` entered the running estimate
    (:meth:`TrainingState.observe_smallest`) as measured before its step, by
    parameters that training then moved; in a run of a few hundred steps the
    estimate averaged over a model that kept changing (a planted problem, k = 3:
    inference L0 3.8 after 100 steps). Here each batch of ``recent`` keeps its
    weight but its ``s_i`` is measured again by ``params``. A call of at most
    ``len(recent)`` steps (the caller keeps ``3 / rate``, 95% of the weight)
    has all of its batches measured again: for ``n << 1 / rate`` steps, the
    plain mean over them of the smallest kept activation of the trained model
    (the definition of Bussmann et al. 2024).

    Parameters
    ----------
    params : dict of ndarray
        The trained parameters.
    k : int
        Active latents per sample on average.
    state : TrainingState
        Its running estimate (``threshold``, ``threshold_weight``) includes the
        batches of ``recent``, which are its latest.
    recent : sequence of (rows, smallest, rate)
        The latest training batches, oldest first: what ``read`` takes, the
        smallest kept activation recorded at the step (NaN: it did not move the
        estimate) and the step's ``threshold_rate``.
    read : callable
        ``read(rows)`` -> the batch (n, n_features), of the params' dtype.

    Returns
    -------
    float
        Units of the pre-activations; NaN when no batch has set the estimate.
    """
    if not np.isfinite(state.threshold):
        return state.threshold
    total = state.threshold * state.threshold_weight
    later = 1.0  # product of (1 - rate) over the later batches that moved the estimate
    for rows, smallest, rate in reversed(recent):
        if not np.isfinite(smallest):
            continue
        now = _batch_topk(pre_activations(params, read(rows)), k)[2]
        if np.isfinite(now):
            total += rate * later * (now - smallest)
        later *= 1.0 - rate
    return total / state.threshold_weight


def history_dataset(rows, attrs, first_step=0) -> xr.Dataset:
    """The history rows (n_steps, len(HISTORY_FIELDS)) as a Dataset over ``step``
    (``first_step``, ``first_step + 1``, ...)."""
    data = {}
    for j, (name, (long_name, units)) in enumerate(HISTORY_FIELDS.items()):
        col = rows[:, j].astype(np.int64) if name == "n_dead" else rows[:, j]
        data[name] = ("step", col, {"long_name": long_name, "units": units})
    ds = xr.Dataset(data, coords={"step": count_coord("step", first_step + np.arange(len(rows)),
                                                      STEP_LONG_NAME)})
    ds.attrs.update(clean_attrs(attrs))
    return ds
