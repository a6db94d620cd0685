"""The sparse autoencoder estimator: ``fit``, ``encode``, ``decode``, ``evaluate``,
``reconstruct``, and saving as a labelled Dataset."""

from __future__ import annotations

import collections
import copy
import dataclasses
import json
import math
import warnings
from functools import partial

import numpy as np
import xarray as xr

from .._blas import blas_threads_for_step
from .._estimator_params import ScikitLearnParams
from .._frames import user_stacklevel
from ..io import (SavedAsDataset, _jsonable, check_dims, check_saved_kind, continue_calls,
                  generator_from_json, generator_to_json, recorded_at_fit, seed_attr,
                  seed_from_json, seed_param, values_by_dims)
from ..progress import inner_progress, progress_bar
from ..learning._data import _BLOCK_ELEMENTS, Minibatches, check_training_rows
from ..learning._frames import (check_feature_names, feature_names, output_feature_names,
                                requested_output, saved_transform_output, set_transform_output,
                                transform_output, wrap_output)
from ..learning.estimator import NotFittedError
from ..validation import (DATA_DIMS, as_generator, by_dim_names, check_array, check_bool,
                          check_choice, check_dense, check_dtype, check_fits_in_memory, check_int,
                          check_nonnegative, check_positive_or_auto, check_probability,
                          complex_data_error, describe, refuse_unused_settings, row_coords)
from .activations import LATENT_DIMS, _check_k
from .objective import ACTIVATIONS, Objective, decode_latents, encode, parameter_names
from .pursuit import pursuit_gram
from .training import (HISTORY_FIELDS, TrainingState, check_training_memory, history_dataset,
                       initial_parameters, lr_schedule, threshold_at_end, train)

__all__ = ["SparseAutoencoder"]

#: attrs["kind"] of a saved autoencoder
SAE_KIND = "v1model.SparseAutoencoder"
#: prefix of the training history's attrs among the saved model's attrs
HISTORY_PREFIX = "training_"
#: parameter array -> (dims, long_name, units) in the saved Dataset
_VARIABLES = {
    "decoder": (("latent", "feature"), "decoder D: one unit-norm atom per row (components_)",
                "units of X per unit of z"),
    "encoder": (("latent", "feature"), "encoder weights W_enc",
                "units of pre-activations per unit of X"),
    "b_enc": (("latent",), "encoder bias b_enc", "units of pre-activations"),
    "b_dec": (("feature",), "decoder bias b_dec (subtracted before encoding)", "units of X"),
    "log_theta": (("latent",), "log of the JumpReLU thresholds theta",
                  "log units of pre-activations"),
}
#: variable -> (long_name, units) of the saved training state (``{}``: a parameter's name)
_STATE_VARIABLES = {
    "adam_m_{}": ("Adam first moment (running mean of the scale-free gradient: divided by "
                  "adam_gradient_scale for b_enc, b_dec, by its square otherwise) of {}",
                  "1"),
    "adam_v_{}": ("Adam second moment (running mean of the squared scale-free gradient) of {}",
                  "1"),
}
#: the rule of :func:`_warn_if_heavy_rows`: at least HEAVY_MIN_SAMPLES rows, of which the
#: top HEAVY_TOP_FRACTION by squared norm about the mean hold more than HEAVY_SHARE of the
#: total (in Gaussian, Student-t3 (256 features), planted and whitened-patch data they hold
#: 0.1-3%; 10 rows x100 among 20,000 planted ones hold 82%). Student-t3 data with few
#: features draw, on 0.5-1.5% of seeds, one row holding 50-90%: warned of too, since the
#: loss is then that row's as much as a corrupted row's (one row x1000 among 1,000)
HEAVY_MIN_SAMPLES = 1000
HEAVY_TOP_FRACTION = 1e-3
HEAVY_SHARE = 0.5

#: long_name of encode's and decode's DataArray results
LATENTS_LONG_NAME = "latents z of the sparse autoencoder"
RECONSTRUCTION_LONG_NAME = "reconstruction z D + b_dec"

_NEEDS_K = ("topk", "batchtopk", "mp")
_NEEDS_LAM = ("relu", "jumprelu")
#: the activations trained with the AuxK loss (k_aux, aux_coef)
_AUXK = ("topk", "batchtopk")
#: the settings with a default that only some activations use: name -> (those
#: activations, the constructor's default, why the others ignore it). Given to another
#: activation they were dropped without a word and recorded in history_.attrs as if they
#: had counted (aux_coef=0.5 of a relu, a topk's bandwidth resolved from "auto")
_ACTIVATION_SETTINGS = {
    "aux_coef": (_AUXK, 1 / 32, "it has no AuxK loss (only topk and batchtopk revive dead "
                                "latents)"),
    "threshold_rate": (("batchtopk",), 0.01, "it learns no inference threshold (only "
                                             "batchtopk does)"),
    "bandwidth": (("jumprelu",), "auto", "it has no thresholds to train (only jumprelu "
                                         "does)"),
    "theta_init": (("jumprelu",), "auto", "it has no thresholds (only jumprelu does)"),
}


def _unused_by(activation) -> tuple[str, ...]:
    """The settings ``activation`` does not use: ``k_aux`` and those of
    :data:`_ACTIVATION_SETTINGS` that other activations use."""
    return (("k_aux",) if activation not in _AUXK else ()) + tuple(
        name for name, (users, _, _) in _ACTIVATION_SETTINGS.items()
        if activation not in users)


def _loss_definition(activation) -> str:
    """The training loss of ``activation`` in words (``history_.attrs["loss_definition"]``):
    its sparsity term, and the AuxK term only for the activations that have one (the
    text of every activation ended "+ aux_coef * AuxK loss", relu's, jumprelu's and mp's
    too)."""
    sparsity = {"relu": " + lam * sum z (L1)", "jumprelu": " + lam * ||z||_0 (L0)"}
    text = "mean over samples of ||x - x_hat||^2" + sparsity.get(
        activation, " (no sparsity term: k sets the active latents)")
    return text + (" + aux_coef * AuxK loss" if activation in _AUXK else "")


def _refit_hint(name, value) -> str:
    """How to clear a refused setting, also on a loaded model whose saved parameters hold
    it (the model keeps it; its next fit refuses it)."""
    return f"set_params({name}={value!r}) before fitting"


def _recorded_lam(activation, lam):
    """``lam`` as attrs record it: ``"None"`` for the activations that take none
    (``k`` sets their sparsity; 0.0 read as an unpenalised run), as for ``k``."""
    return lam if activation in _NEEDS_LAM else "None"


def _given_unused(name, value, activation) -> bool:
    """Whether the setting ``name`` of :data:`_ACTIVATION_SETTINGS` was given a value
    other than its default for an ``activation`` that does not use it."""
    users, default, _ = _ACTIVATION_SETTINGS[name]
    if activation in users:
        return False
    # "auto" against a number, or a number against a number (np.float32(1/32) is 1/32)
    return not (isinstance(value, str) == isinstance(default, str) and value == default)


def _optional(check):
    """``check`` for a parameter that may also be None (decided by another one)."""
    return lambda value: None if value is None else check(value)


def _check_lr(lr):
    """``lr``: positive and at most 1, or ``"auto"`` (:data:`AUTO_LR`, :func:`_learning_rate`)."""
    checked = check_positive_or_auto(lr, "lr")
    if checked != "auto" and checked > 1:
        raise ValueError(f"lr={lr!r} is above 1: Adam would move the unit-norm decoder rows by "
                         "more than their norm per step (and the biases by more than the "
                         "spread of X); use lr <= 1 (1e-3 to 3e-3 is usual)")
    return checked


def _check_lr_decay(lr_decay):
    """``lr_decay``: a fraction of ``n_steps``, in [0, 1)."""
    checked = check_nonnegative(lr_decay, "lr_decay")
    if checked >= 1:
        raise ValueError(f"lr_decay must be in [0, 1) (a fraction of n_steps), got {lr_decay!r}")
    return checked


#: each constructor parameter's own check, in the order ``fit`` applies them
#: (:meth:`SparseAutoencoder.set_params` applies the same); its keys are the parameters
_PARAM_CHECKS = {
    "n_latents": partial(check_int, name="n_latents", minimum=1),
    "activation": partial(check_choice, name="activation", choices=ACTIVATIONS),
    "k": _optional(partial(check_int, name="k", minimum=1)),
    "lam": _optional(partial(check_nonnegative, name="lam")),
    "k_aux": _optional(partial(check_int, name="k_aux", minimum=1)),
    "aux_coef": partial(check_nonnegative, name="aux_coef"),
    "dead_after": partial(check_int, name="dead_after", minimum=1),
    "bandwidth": partial(check_positive_or_auto, name="bandwidth"),
    "theta_init": partial(check_positive_or_auto, name="theta_init"),
    "threshold_rate": partial(check_probability, name="threshold_rate"),
    "n_steps": partial(check_int, name="n_steps", minimum=1),
    "batch_size": partial(check_int, name="batch_size", minimum=1),
    "lr": _check_lr,
    "lr_warmup": partial(check_int, name="lr_warmup", minimum=0),
    "lr_decay": _check_lr_decay,
    "dtype": check_dtype,
    "seed": as_generator,
    "progress": partial(check_bool, name="progress"),
}
_PARAM_NAMES = tuple(_PARAM_CHECKS)
#: the settings that count something (latents, samples, steps): stored as Python ints
_INT_PARAMS = ("n_latents", "k", "k_aux", "dead_after", "n_steps", "batch_size", "lr_warmup")


def _stored_int(value, name):
    """An integer setting as the constructor and ``set_params`` store it: a Python int
    for any integral number :func:`~v1model.validation.check_int` takes (a NumPy int,
    ``3.0``, ``np.float32(3)``), so that ``get_params``, the repr and a saved file hold
    ints (they held 32.0 and ``np.float32(3.0)``); anything else as given, for ``fit``
    (and ``set_params``) to refuse by name. An int is returned as the same object, which
    :func:`sklearn.base.clone` checks."""
    try:
        return check_int(value, name)
    except TypeError:  # None (k, k_aux unset), 3.5, "3": as given
        return value


class SparseAutoencoder(ScikitLearnParams, SavedAsDataset):
    r"""A sparse autoencoder trained by minibatch Adam.

    ``z = f(W_enc (x - b_dec) + b_enc)``, ``x_hat = z D + b_dec``, with the
    rows of the decoder ``D`` (``components_``) kept at unit norm. Training
    minimises the mean over samples of ``||x - x_hat||^2`` plus the
    activation's sparsity term (see :mod:`v1model.sae.objective`).

    Parameters
    ----------
    n_latents : int
        Number of latents (dictionary atoms). The counts (``n_latents``, ``k``,
        ``k_aux``, ``dead_after``, ``n_steps``, ``batch_size``, ``lr_warmup``)
        take any integral number (``np.int64(32)``, ``32.0``) and are kept as
        Python ints (in ``get_params``, the repr and a saved file); ``fit``
        refuses any other (``3.5``), naming the setting.
    activation : {"topk", "batchtopk", "relu", "jumprelu", "mp"}, default "topk"
        ``"topk"``: the ``k`` largest pre-activations of each sample, ReLU
        after (Gao et al. 2024). ``"batchtopk"``: the ``k * batch_size``
        largest of the batch while training, a single learned threshold at
        inference (Bussmann et al. 2024). ``"relu"``: ReLU with the L1 penalty
        ``lam * sum_j z_j`` (Bricken et al. 2023). ``"jumprelu"``:
        ``z = pre * H(pre - theta_j)`` with the L0 penalty
        ``lam * ||z||_0``, trained with straight-through pseudo-derivatives
        (Rajamanoharan et al. 2024, who encode ``x`` without the
        pre-encoder bias: the same models, see :mod:`v1model.sae.objective`).
        ``"mp"``: ``k`` steps of non-negative matching pursuit of
        ``x - b_dec`` in ``D`` (Costa et al. 2025), differentiated through
        the pursuit steps; no encoder weights. Its correlations are updated
        from the Gram matrix ``D D^T`` where it pays and takes at most
        :data:`~v1model.sae.pursuit.GRAM_MAX_BYTES` (256 MB: 8,192 float32
        latents), else recomputed at every step (see :mod:`v1model.sae.pursuit`).
    k : int, optional
        Active latents per sample (``topk``, ``mp``: at most ``k``) or per
        sample on average (``batchtopk``); needed by these three, refused
        (ValueError at fit) by the others.
    lam : float, optional
        Sparsity coefficient for ``relu`` (L1, units of X**2 per unit of z)
        and ``jumprelu`` (L0, units of X**2 per active latent); needed by
        these two, >= 0; refused (ValueError at fit) by the others.
    k_aux : int, optional
        AuxK latents (``topk``, ``batchtopk``; refused, ValueError at fit, by the
        others, which have no AuxK loss), in [1, ``n_latents``] (AuxK takes at
        most every latent: a larger ``k_aux`` would train alike and be recorded
        as another setting); default ``n_features // 2`` (Gao et al. 2024), at
        least 1 and at most ``n_latents``.
    aux_coef : float, default 0.03125
        Weight of the AuxK loss (``topk``, ``batchtopk``; another value than the
        default is refused, ValueError at fit, by the others, which have no AuxK
        loss); 1/32 as in Gao et al. (2024); 0 turns it off.
        The AuxK loss is the paper's squared error, in units of X squared
        like the main loss; their code normalises both by variances, which
        weighs AuxK about 1 / FVU times more at the same coefficient
        (:func:`v1model.sae.objective.auxk_loss`).
    dead_after : int
        A latent that fired on none of the last ``dead_after`` training
        samples (whole minibatches) is dead: ``history_.n_dead`` counts them
        after each step, that step's minibatch included (the last step's
        count is the saved ``samples_since_fired >= dead_after``). Dead
        latents are revived by AuxK for ``topk`` and ``batchtopk`` only (the
        neuron resampling of Bricken et al. 2023 is not implemented; dead
        ``relu``, ``jumprelu`` and ``mp`` latents are only counted). Gao et
        al. (2024) use 10 million tokens; the default 10,000 suits data sets
        of thousands to millions of samples.
    bandwidth : float or "auto", default "auto"
        JumpReLU: width ``epsilon`` of the rectangle kernel of the
        pseudo-derivatives (units of the pre-activations). ``bandwidth``,
        ``theta_init`` and ``threshold_rate`` other than their defaults are
        refused (ValueError at fit) by the activations that do not use them,
        and ``history_.attrs`` records them, like ``k_aux`` and ``aux_coef``
        there, as ``"None"`` (before 2026-12-07 they were dropped without a
        word, and a topk history recorded the bandwidth resolved from
        ``"auto"``). ``"auto"``, for
        ``bandwidth`` and ``theta_init``: 1e-3 times the spread of ``X``
        (see ``lr``), i.e. the 1e-3 of Rajamanoharan et al. (2024) for data
        scaled to a mean squared norm of ``n_features``, at any scale of the
        data (a fixed 1e-3 silenced every latent of data of spread 1e-4);
        the planted test uses 0.05 and 0.1 for coefficients of 1 to 2.
        Thresholds that start at 1e-3 of the spread barely move in runs of
        thousands of steps (the L0 gradient reaches a threshold only through
        the pre-activations within ``bandwidth / 2`` of it): the model stays a
        ReLU whatever ``lam``, and ``fit`` warns when the median threshold ends
        below 1% of the spread; start them near the pre-activations then.
    theta_init : float or "auto", default "auto"
        JumpReLU: initial threshold of every latent (units of the
        pre-activations); ``"auto"``, and its refusal by the other
        activations: see ``bandwidth``.
    threshold_rate : float, default 0.01
        BatchTopK, in (0, 1) (another value refused by the others, see
        ``bandwidth``): the inference threshold estimates the mean over
        batches of the smallest activation BatchTopK keeps (Bussmann et al.
        2024). Training keeps the running average ``m <- (1 - rate) m + rate
        * s`` of each batch's ``s`` (0.01 as in the code of Bussmann et al.),
        divided by its total weight ``1 - (1 - rate)**n`` as Adam corrects its
        moments (their code starts ``m`` at 0 and does not): the plain mean
        over the batches of a run of ``n << 1 / rate`` steps, the running
        average of a long one (``history_.threshold``). At the end of each
        ``fit`` or ``partial_fit`` call, the ``s`` of its last ``3 / rate``
        batches (95% of the weight) are measured again with the trained model,
        so that the threshold is that model's, not an average over a model that
        training still moved (planted data, k = 3: held-out L0 2.99-3.06 after
        50 or 100 steps, where the running average gave 1.95-3.51); this reads
        those minibatches of ``X`` again (forward passes only) and holds their
        row indices (8 bytes per sample) during the call. Only the call's own
        batches: ``partial_fit`` in chunks of a few steps keeps the average over
        a moving model (same problem, 100 one-step chunks: held-out L0 up to
        3.85 where ``fit`` gave 3.02; README).
    n_steps : int, default 1000
        Adam steps (minibatches) of ``fit``; for :meth:`partial_fit`, the
        planned total over all calls, used only by ``lr_decay``.
    batch_size : int, default 256
        Samples per minibatch; ``fit`` needs at least this many samples. A
        training step holds 12-31 bytes per sample and latent in float32
        (24-51 in float64; 2.2 GB at 16,384 latents and 4,096 samples, beside
        0.55 GB for the model: :func:`~v1model.sae.training.training_memory`);
        ``fit`` and :meth:`partial_fit` refuse one that would not fit in memory
        (:meth:`partial_fit` by the steps of its chunk, whose minibatches hold at
        most ``len(X)`` samples).
    lr : float or "auto", default "auto"
        Peak Adam learning rate of the weights, which have no units (the
        unit-norm decoder rows, the encoder, the JumpReLU log-thresholds), in
        (0, 1]; the biases ``b_enc`` and ``b_dec`` (units of X) move at
        ``lr`` times the spread of ``X`` (root mean square of
        ``X - mean(X)``), and their gradients are divided by the spread (the
        others' by its square) before Adam, as if it trained on ``X`` divided
        by the spread, so that training is the same at any scale of the data:
        ``c * X`` (with ``lam``, ``bandwidth`` and ``theta_init`` scaled
        alike) gives the same decoder and ``c`` times the biases and codes.
        ``"auto"``: 1e-3; 3e-3 trains every activation well on the planted
        problem of tests/sae. The spread is that of ``fit``'s ``X`` or of the
        first :meth:`partial_fit` chunk that has one (a stream whose first
        chunk is one sample, identical samples or zeros trains at the root
        mean square of that chunk's values, or 1 for zeros, until a chunk
        with a spread comes; the Adam moments are converted then),
        recorded in ``history_.attrs["x_spread"]``; the rate used is
        ``history_.attrs["lr"]`` (and per step ``history_["lr"]``).
    lr_warmup : int, default 0
        Steps of linear warm-up: step ``s`` (from 0) takes
        ``lr * (s + 1) / lr_warmup`` until the rate reaches ``lr``; 0: none.
    lr_decay : float, default 0.0
        Fraction of ``n_steps``, in [0, 1), over which the rate decays
        linearly to zero at the end of training: step ``s`` takes at most
        ``lr * (n_steps - s) / (lr_decay * n_steps)`` (0.2 in Anthropic's
        April 2024 update); 0: none. The warm-up and the decay must fit in
        ``n_steps`` (:func:`v1model.sae.training.lr_schedule`), except for a
        :meth:`partial_fit` stream without decay, which ``n_steps`` does not
        bound.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the parameters, the training and the codes.
    seed : int, SeedSequence, Generator or None
        Seed of the initial parameters and the minibatch order (``fit``'s
        ``seed`` overrides it). An int or a SeedSequence gives the same model
        at every ``fit``. A Generator is used as it is, not copied: ``fit``
        advances it (a second ``fit`` differs from the first) and
        :meth:`partial_fit` goes on drawing the minibatch order from it; a
        pickled or deep-copied model holds its own copy of it. The history's
        ``attrs["seed"]`` records its state at the start of the ``fit``
        (:func:`v1model.io.seed_from_attr` makes a Generator that trains the same
        model again). :meth:`to_dataset` saves as ``seed`` the seed the weights
        were made from, so that the loaded model's ``fit`` trains the saved model
        again: that of the last ``fit`` (or of the first :meth:`partial_fit`), a
        Generator as its state at that call's start, and the call's own ``seed``
        when it was given one (before 2026-12-07 the constructor's was saved
        then, and the loaded model's ``fit`` trained another model; the
        constructor's is kept in ``attrs["constructor_seed"]``, read by
        ``v1model.io.seed_from_json(json.loads(...))``). A ``seed`` set since
        that call is saved instead, as
        :class:`~v1model.learning.SparseDictionaryLearner` saves it (the
        weights' seed stays in ``attrs["training_seed"]``).
    progress : bool, default True
        Show a progress bar in ``fit``, and in ``partial_fit``, ``encode`` and
        ``reconstruct`` once the call has run 2 s (False: none).

    Attributes
    ----------
    components_ : ndarray, shape (n_latents, n_features)
        The decoder, unit-norm rows (a dictionary for :mod:`v1model.analysis`).
    encoder_ : ndarray, shape (n_latents, n_features) or None
        Encoder weights (None for ``mp``).
    encoder_bias_ : ndarray, shape (n_latents,) or None
    decoder_bias_ : ndarray, shape (n_features,)
    threshold_ : float or ndarray or None
        BatchTopK: the inference threshold (units of the pre-activations; see
        ``threshold_rate``); JumpReLU: the per-latent thresholds
        ``exp(log_theta)``; None otherwise.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        The column names of a DataFrame ``X`` given to ``fit`` (or to the first
        ``partial_fit``); absent after an array.
    history_ : xarray.Dataset
        Over ``step`` (0 to the number of steps taken - 1, over all
        ``partial_fit`` calls): ``loss``, ``mse``, ``fvu``, ``l0``,
        ``n_dead``, ``aux_loss``, ``threshold``, ``lr``, ``wall_time``
        (cumulative; units in each variable's attrs), the settings in
        ``attrs``.

    Notes
    -----
    :meth:`fit` trains small models (under 0.4 GFLOP per step, e.g. 128
    latents on 64 features in batches of 256) on one BLAS thread: on 2 cores
    that was 0.8-1.1x the speed of two threads on an idle machine and 2.4-3x
    beside one other busy process (``benchmarks/bench_sae.py``;
    :mod:`v1model._blas`).

    Data larger than memory: ``fit`` and :meth:`partial_fit` read ``X``
    (any array, e.g. an ``np.memmap``) one minibatch at a time and check its
    values in blocks of rows, in one pass that also measures the mean
    (the initial ``b_dec``) and the spread (the scale of training), so that the
    memory they add is that of a training step (the model, its gradients and
    Adam moments, and the minibatch's arrays of latents; see ``batch_size``)
    and the order of the rows (8 bytes per sample), not a copy of ``X``. A
    stream of chunks (activations of a language model, say) is trained with
    one :meth:`partial_fit` per chunk.

    References
    ----------
    Bricken, T. et al. (2023). Towards monosemanticity: decomposing language
    models with dictionary learning. Transformer Circuits Thread.
    Gao, L. et al. (2024). Scaling and evaluating sparse autoencoders.
    arXiv:2406.04093.
    Bussmann, B., Leask, P. & Nanda, N. (2024). BatchTopK sparse
    autoencoders. arXiv:2412.06410.
    Rajamanoharan, S. et al. (2024). Jumping ahead: improving reconstruction
    fidelity with JumpReLU sparse autoencoders. arXiv:2407.14435.
    Costa, V., Fel, T., Lubana, E. S., Tolooshams, B. & Ba, D. (2025). From
    flat to hierarchical: extracting sparse representations with matching
    pursuit. arXiv:2506.03093.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.sae import SparseAutoencoder
    >>> X = np.random.default_rng(0).standard_normal((512, 16))
    >>> sae = SparseAutoencoder(32, "topk", k=4, n_steps=50, batch_size=64, progress=False)
    >>> codes = sae.fit(X, seed=0).encode(X)
    >>> codes.shape, int((codes != 0).sum(axis=1).max()), sae.components_.shape
    ((512, 32), 4, (32, 16))
    """

    _param_checks = _PARAM_CHECKS

    def __init__(self, n_latents, activation="topk", *, k=None, lam=None, k_aux=None,
                 aux_coef=1 / 32, dead_after=10_000, bandwidth="auto", theta_init="auto",
                 threshold_rate=0.01, n_steps=1000, batch_size=256, lr="auto", lr_warmup=0,
                 lr_decay=0.0, dtype="float32", seed=None, progress=True):
        # integral counts as Python ints (_stored_int); the rest as given, checked by fit
        self.n_latents = _stored_int(n_latents, "n_latents")
        self.activation = activation
        self.k = _stored_int(k, "k")
        self.lam = lam
        self.k_aux = _stored_int(k_aux, "k_aux")
        self.aux_coef = aux_coef
        self.dead_after = _stored_int(dead_after, "dead_after")
        self.bandwidth = bandwidth
        self.theta_init = theta_init
        self.threshold_rate = threshold_rate
        self.n_steps = _stored_int(n_steps, "n_steps")
        self.batch_size = _stored_int(batch_size, "batch_size")
        self.lr = lr
        self.lr_warmup = _stored_int(lr_warmup, "lr_warmup")
        self.lr_decay = lr_decay
        self.dtype = dtype
        self.seed = seed
        self.progress = progress

    def get_params(self, deep=True):
        """The constructor's parameters, as given.

        Parameters
        ----------
        deep : bool, default True
            Ignored (the model holds no sub-estimators); accepted so that
            :func:`sklearn.base.clone` works.

        Returns
        -------
        dict
            Each constructor parameter's name to its value, as given.
        """
        return {name: getattr(self, name) for name in _PARAM_NAMES}

    @staticmethod
    def _stored_param(name, value):
        # the integer settings stored as Python ints by set_params, as the constructor does
        return _stored_int(value, name) if name in _INT_PARAMS else value

    def __repr__(self):
        given = "".join(f", {name}={getattr(self, name)!r}" for name in ("k", "lam")
                        if getattr(self, name) is not None)
        return f"{type(self).__name__}({self.n_latents!r}, {self.activation!r}{given})"

    # ------------------------------------------------------------- fitting
    def _validated(self, n_features, streaming=False):
        """Validated settings (never stored on ``self``); ``streaming``
        (:meth:`partial_fit`): ``n_steps`` bounds the schedule only when it
        decays (``lr_decay > 0``)."""
        # each parameter alone (as set_params checks it), then the checks that take several
        v = {name: check(getattr(self, name)) for name, check in _PARAM_CHECKS.items()}
        del v["seed"]  # fit and partial_fit turn it into a Generator themselves
        n_latents, act = v["n_latents"], v["activation"]
        if act in _NEEDS_K:
            if v["k"] is None:
                raise ValueError(f"activation={act!r} needs k (active latents per sample), "
                                 "got k=None")
            _check_k(v["k"], n_latents)
        if act in _NEEDS_LAM and v["lam"] is None:
            what = "L1" if act == "relu" else "L0"
            raise ValueError(f"activation={act!r} needs lam (the {what} coefficient), "
                             "got lam=None")
        # a setting the activation ignores was dropped without a word (and kept in the
        # model's parameters as if it had counted)
        refuse_unused_settings(act, [
            ("k", self.k if act not in _NEEDS_K else None,
             f"it sets no number of active latents (lam sets its sparsity); activations "
             f"that take k: {', '.join(_NEEDS_K)}; {_refit_hint('k', None)}"),
            ("lam", self.lam if act not in _NEEDS_LAM else None,
             f"k sets its sparsity; activations that take lam: {', '.join(_NEEDS_LAM)}; "
             f"{_refit_hint('lam', None)}")],
            name="activation")
        # AuxK (topk, batchtopk) takes at most every latent: a larger k_aux is the same run
        # recorded as another, and the other activations have no AuxK
        refuse_unused_settings(act, [
            ("k_aux", self.k_aux if act not in _AUXK else None,
             f"it has no AuxK loss (only {' and '.join(_AUXK)} revive dead latents); "
             f"{_refit_hint('k_aux', None)}")],
            name="activation")
        refuse_unused_settings(act, [
            (name, getattr(self, name) if _given_unused(name, getattr(self, name), act)
             else None, f"{why}; leave {name} at its default: {_refit_hint(name, default)}")
            for name, (_, default, why) in _ACTIVATION_SETTINGS.items()], name="activation")
        if v["k_aux"] is not None and v["k_aux"] > n_latents:
            raise ValueError(f"k_aux={self.k_aux!r} is above n_latents={n_latents}: AuxK "
                             f"keeps the k_aux largest pre-activations of the dead latents, at "
                             f"most all {n_latents}, so it would train as k_aux={n_latents}; "
                             f"give k_aux <= {n_latents}")
        if v["k_aux"] is None:  # Gao et al.: n_features / 2, and no more than there are
            v["k_aux"] = min(max(n_features // 2, 1), n_latents)
        n_steps, lr_warmup, lr_decay = v["n_steps"], v["lr_warmup"], v["lr_decay"]
        # a stream without decay never ends: its warm-up may outlast n_steps
        if (not streaming or lr_decay > 0) and lr_warmup + lr_decay * n_steps > n_steps:
            raise ValueError(f"lr_warmup={lr_warmup} steps and lr_decay={self.lr_decay!r} (the "
                             f"last {lr_decay * n_steps:g} steps) do not fit in n_steps="
                             f"{n_steps}; shorten them or raise n_steps")
        return v

    def _objective(self, v):
        return Objective(v["activation"], k=v["k"], lam=v["lam"] or 0.0,
                         bandwidth=v["bandwidth"])

    def fit(self, X, y=None, *, seed=None):
        """Train on ``X`` (n_samples, n_features) from a fresh start; returns ``self``.

        ``n_steps`` minibatches of ``batch_size`` samples: consecutive slices
        of a fresh permutation of the samples each epoch (the
        ``n_samples % batch_size`` left at the end of a permutation sit that
        epoch out), at the learning rate of ``lr``, ``lr_warmup`` and
        ``lr_decay``. The decoder bias
        starts at the mean of ``X``. The training state is kept, so that
        :meth:`partial_fit` can continue from here.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            At least ``batch_size`` samples, finite. Read one minibatch at a
            time: an ``np.memmap`` is not loaded into memory.
        y : ignored
        seed : int, SeedSequence, Generator or None
            Overrides the constructor's ``seed`` when given (and is what
            :meth:`to_dataset` saves as the model's seed, see ``seed`` above).

        Returns
        -------
        self : SparseAutoencoder
            The fitted model (``components_``, ``history_``, ... set).

        Raises
        ------
        ValueError
            For invalid settings or data: fewer samples than ``batch_size``,
            samples all alike, or ``n_steps`` whose history, ``n_latents``
            whose weights and Adam moments (or a training step's arrays of
            their size), or ``batch_size`` whose training step
            (:func:`~v1model.sae.training.training_memory`) would not fit in
            memory.
        FloatingPointError
            When training diverges or its squared gradients overflow the dtype.

        Warns
        -----
        UserWarning
            When no latent fired in the last quarter of the steps: every code
            is zero and nothing was learned. When a ``jumprelu`` model with
            ``lam > 0`` ended with its median threshold below 1% of the spread of
            ``X``: it gates only pre-activations near 0, a ReLU whatever
            ``lam`` (thresholds that start far below the pre-activations, as
            ``theta_init="auto"`` does, barely move in a short run; the warning
            gives the steps Adam needs to take them to 0.1 times the spread). When
            a ``jumprelu`` model's median log-threshold moved by at least 0.9 of
            the most Adam moves it (the sum of the steps' ``lr``): the thresholds
            were still rising or falling at full speed, so the run's length, not
            ``lam``, set the sparsity. And, before training, when a handful
            of rows dominate the data's energy: of at least 1,000 rows, the top
            0.1% by squared norm (about the mean) hold more than half of the total
            (10 rows scaled x100 among 20,000: the loss, and the reported FVE, are
            then those rows', and the other rows' atoms are not learned); clip or
            normalise the rows (e.g. divide each by its norm) before fitting.
        """
        dtype = check_dtype(self.dtype)
        names = feature_names(X)  # a DataFrame's columns, as scikit-learn records them
        # one pass over X: the value check, the mean (b_dec) and the spread (the scale)
        X, stats = check_training_rows(X, dtype=dtype, moments=True)
        v = self._validated(X.shape[1])
        if X.shape[0] < v["batch_size"]:
            raise ValueError(f"X has {X.shape[0]} samples, fewer than batch_size="
                             f"{v['batch_size']}; give more samples or a smaller batch_size")
        # a learning rate and a history row per step: numpy's MemoryError named no argument
        check_fits_in_memory((v["n_steps"], len(HISTORY_FIELDS)), np.float64, "n_steps",
                             v["n_steps"], "history rows (float64)")
        _check_step_memory(v, X.shape[1], dtype)
        v["lr"] = _learning_rate(v["lr"])
        spread = _model_spread(stats, dtype)
        if np.isnan(spread):
            _refuse_alike(stats, dtype)
        _warn_if_heavy_rows(X, stats.mean)
        scale = _data_scale(spread)
        _resolve_scaled(v, scale)
        seed = self.seed if seed is None else seed
        # recorded before anything draws: a Generator's state (the constructor's too, which
        # each fit draws on from) is then this run's start
        seed_record = seed_attr(seed, before_use=True)
        rng = as_generator(seed)
        params = initial_parameters(X, v["n_latents"], v["activation"], v["theta_init"], rng,
                                    dtype, mean=stats.mean)
        state = TrainingState(params, rng, scale)
        order = Minibatches(X.shape[0], v["batch_size"], True, rng)
        rows = []
        threshold = self._train(params, state, v, X, (order.next() for _ in range(v["n_steps"])),
                                v["n_steps"], rows)
        self._set_fitted(params, state, history_dataset(
            np.array(rows), self._attrs(v, X, seed_record, spread)), self._objective(v),
            threshold)
        self._remember_seed(seed, seed_record)
        self._set_feature_names(names)
        _warn_at_end_of_training(rows, v, params, spread)
        return self

    def partial_fit(self, X, y=None, *, seed=None):
        """Train on one more chunk ``X`` (n_samples, n_features) of a stream;
        returns ``self``.

        One pass over the chunk: its rows in a random order, cut into
        minibatches of ``batch_size``; the last minibatch holds the
        ``n_samples % batch_size`` samples left over, if any (a chunk smaller
        than ``batch_size`` is one smaller minibatch). A chunk of
        ``n_samples`` therefore takes ``ceil(n_samples / batch_size)`` steps.

        Everything training carries from step to step persists across calls
        (and from a previous :meth:`fit`): the parameters, the Adam moments
        and step count, the dead-latent tracker, the BatchTopK running
        threshold and the generator of the minibatch order. ``history_``
        grows by one row per step, its ``step`` coordinate and ``wall_time``
        continuing; its attrs keep the first call's settings, with
        ``n_training_samples`` counting the samples of all calls,
        ``steps_per_call`` the steps of each call (a ``fit`` before is one)
        and, when the calls' seeds differ, ``seed_per_call`` each call's
        (``seed`` is the first call's; ``"continued"``: a later call without
        a seed, which went on with the generator; :func:`v1model.io.continue_calls`);
        so for the settings that may be changed between calls (``sae.k = 5``; ``k``,
        ``lam``, ``k_aux``, ``aux_coef``, ``dead_after``, ``bandwidth``,
        ``threshold_rate``, ``n_steps``, ``batch_size``, ``lr``, ``lr_warmup``,
        ``lr_decay``; as used, e.g. ``lr="auto"`` resolved): ``k_per_call``, ...
        when they differ. The same calls with these seeds and settings make the
        same model again. The first
        call (on a model that was never fitted) initialises the parameters
        as :meth:`fit` does, the decoder bias from the mean of this chunk,
        and the scale of training (the biases' rate, ``lr``) from its spread
        (or from the first later chunk that has one; see ``X``),
        in this call and the later ones (``history_.attrs["x_spread"]``, kept
        by :meth:`save`). A
        model read by :meth:`load` continues as the saved one would have,
        unless it was saved with ``training_state=False`` (or by a v1model
        without ``partial_fit``): then this raises ValueError. A stream keeps
        the column names of its first DataFrame chunk (or of ``fit``'s) and
        checks each later chunk's as :meth:`transform` does: other names or
        another order raise ValueError before the model is touched.

        The learning rate follows the schedule of :meth:`fit`, counted in
        steps over all calls: the warm-up applies as is; the decay, when
        ``lr_decay > 0``, ends at ``n_steps`` steps in all, and a chunk that
        would take training past ``n_steps`` is refused (with
        ``lr_decay = 0``, ``n_steps`` does not limit ``partial_fit``). Settings
        changed between calls (``lr``, ``k``, ``lam``, ...) take effect from
        the next step; ``n_latents``, ``activation`` and ``dtype`` are fixed
        by the first call.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            At least one sample, finite (any chunk, the first too, may be all
            zeros); ``n_features`` as in the first call. A first chunk of one
            sample, of identical samples or of zeros has no spread: training
            runs at the root mean square of its values (1 for zeros) and
            ``x_spread`` stays NaN until the first chunk with a spread sets
            the scale (and, for ``"auto"``, ``bandwidth`` and moves the
            thresholds from ``theta_init``) from then on.
            Read one minibatch at a time (an ``np.memmap`` is not loaded).
            A BatchTopK stream whose batches kept no positive activation yet
            (a first chunk of one sample or of identical samples: the decoder
            bias starts at it) warns,
            and :meth:`encode` refuses until a later chunk sets the threshold.
        y : ignored
        seed : int, SeedSequence, Generator or None
            First call: seeds the initial parameters and the minibatch order
            (overrides the constructor's ``seed``). Later calls: replaces the
            generator of the minibatch order when given (None: continue the
            current one).

        Returns
        -------
        self : SparseAutoencoder

        Warns
        -----
        UserWarning
            Before training on a chunk of at least 1,000 rows of which a handful
            dominate the energy, as :meth:`fit` does for its ``X``. And, in the
            call that takes the stream past a multiple of ``n_steps`` steps in all
            (once per ``n_steps`` steps, not on every chunk), :meth:`fit`'s
            end-of-training warnings on all the steps so far
            (:meth:`check_training`, which a stream that ends between two such
            calls can call itself; before 2026-12-07 a stream never got them: a
            JumpReLU stream whose thresholds gated nothing, 58 of 128 latents
            active after 1,000 steps, went without a word).

        Examples
        --------
        >>> import numpy as np
        >>> from v1model.sae import SparseAutoencoder
        >>> sae = SparseAutoencoder(32, "topk", k=4, batch_size=64, seed=0, progress=False)
        >>> for chunk in np.random.default_rng(0).standard_normal((5, 300, 16)):
        ...     _ = sae.partial_fit(chunk)  # 300 samples: 4 steps of 64, one of 44
        >>> sae.history_.sizes["step"], int(sae.history_.step[-1])
        (25, 24)
        """
        dtype = check_dtype(self.dtype)
        fitted = hasattr(self, "_params")
        # a chunk of zeros is data too (the reconstruction of 0 is b_dec), the first one too
        unsettled = not fitted or (self._state is not None
                                   and np.isnan(self._history_attrs["x_spread"]))
        if fitted:  # a stream keeps the columns of its first chunk (or of the fit), checked
            names = getattr(self, "feature_names_in_", None)
            check_feature_names(self, X, names)
        else:
            names = feature_names(X)
        # one pass over the chunk: the value check, its mean (the heavy rows' check, as
        # fit's) and its spread (the scale, while unsettled)
        X, stats = check_training_rows(X, dtype=dtype, allow_zero=True, moments=True)
        if fitted:
            self._check_continuable(X, dtype)
        v = self._validated(X.shape[1], streaming=True)
        n_steps = -(-X.shape[0] // v["batch_size"])
        done = self._state.n_steps if fitted else 0
        if v["lr_decay"] > 0 and done + n_steps > v["n_steps"]:
            raise ValueError(f"X has {X.shape[0]} samples, {n_steps} steps of batch_size="
                             f"{v['batch_size']} after the {done} taken, past n_steps="
                             f"{v['n_steps']} where lr_decay={self.lr_decay!r} brings the "
                             "learning rate to zero; raise n_steps (the planned total) or set "
                             "lr_decay=0")
        _check_step_memory(v, X.shape[1], dtype, n_rows=X.shape[0])
        # each chunk as fit's X (from 1,000 rows), before the model is touched: a warning
        # raised as an error leaves it as it was
        _warn_if_heavy_rows(X, stats.mean)
        if not fitted:
            # the first chunk sets the scale; one sample, or identical samples (a stream's
            # BOS activations), have no spread: NaN, training at their magnitude until a
            # chunk with a spread settles it (at 1, a first step moved the biases by lr
            # whatever the size of X: ~1e19 times data of 1e-22)
            spread = _model_spread(stats, dtype)
            v["lr"] = _learning_rate(v["lr"])
            scale = _data_scale(spread, stats)
            _resolve_scaled(v, scale)
            seed = self.seed if seed is None else seed
            seed_record = seed_attr(seed, before_use=True)  # a Generator's state before use
            rng = as_generator(seed)
            params = initial_parameters(X, v["n_latents"], v["activation"], v["theta_init"],
                                        rng, dtype, mean=stats.mean)
            attrs = self._attrs(v, X, seed_record, spread)
            attrs["n_training_samples"] = 0
            history = history_dataset(np.empty((0, len(HISTORY_FIELDS))), attrs)
            self._set_fitted(params, TrainingState(params, rng, scale), history,
                             self._objective(v))
            self._remember_seed(seed, seed_record)
            self._set_feature_names(names)
        else:
            if unsettled and not np.isnan(spread := _model_spread(stats, dtype)):
                self._settle_scale(spread)
            v["lr"] = _learning_rate(v["lr"])
            _resolve_scaled(v, self._state.scale)
            # a later call's Generator: its state before this call's permutation
            seed_record = "continued" if seed is None else seed_attr(seed, before_use=True)
            if seed is not None:
                self._state.rng = as_generator(seed)
        self._fitted_objective = self._objective(v)
        # a later call's seed and settings (changed between calls: k, lr, batch_size,
        # ...), recorded per call (the first call's are attrs[name]); a seed None went on
        # with the generator, which "None" (fresh entropy) would not say
        call = None
        if fitted:
            now = self._attrs(v, X, seed_record, np.nan)
            call = {"seed": seed_record,  # an unused setting is "None" in every call
                    **{name: now[name] for name in _PER_CALL
                       if name not in _unused_by(v["activation"])}}
        order = self._state.rng.permutation(X.shape[0])
        batches = (order[start:start + v["batch_size"]]
                   for start in range(0, X.shape[0], v["batch_size"]))
        rows = []
        self._threshold = float("nan")  # the running estimate, if training stops early
        try:
            self._threshold = self._train(self._params, self._state, v, X, batches, n_steps,
                                          rows, streaming=True)
        finally:  # also after a divergence: the history of the steps that were taken
            if np.isnan(self._threshold):
                self._threshold = self._state.threshold
            self._append_history(np.array(rows).reshape(-1, len(HISTORY_FIELDS)), X.shape[0],
                                 call, done)
        # fit's end-of-training checks, once per n_steps steps of the stream (after every
        # call they would repeat on each chunk; never, as before, a stream of a JumpReLU
        # whose thresholds gated nothing, 58 of 128 latents active, went without a word)
        if (done + n_steps) // v["n_steps"] > done // v["n_steps"]:
            self.check_training()
        return self

    def check_training(self):
        """Run :meth:`fit`'s end-of-training checks on every step taken so far
        (all :meth:`partial_fit` calls, and a ``fit`` before them); returns ``self``.

        :meth:`fit` runs them when it ends; :meth:`partial_fit` runs them in the
        call that takes the stream past a multiple of ``n_steps`` steps in all
        (once per ``n_steps`` steps, not on every chunk). Call this when a stream
        ends between two such points.

        Returns
        -------
        self : SparseAutoencoder

        Raises
        ------
        NotFittedError
            Before the first ``fit`` or ``partial_fit``.

        Warns
        -----
        UserWarning
            As :meth:`fit` warns at its end, read from ``history_`` (its last
            quarter of steps) and the current parameters: no latent fired in
            the last quarter of the steps; a ``jumprelu`` model's median
            threshold below 1% of the spread of the data (``x_spread``); or its
            median log-threshold moved by at least 0.9 of the sum of the steps'
            ``lr`` since ``theta_init``. The threshold checks wait for a chunk
            with a spread (``x_spread`` NaN: none yet).
        """
        self._check_fitted()
        history = self._materialised_history()
        if history.sizes["step"] == 0:
            return self
        rows = np.column_stack([history[name].values.astype(np.float64)
                                for name in HISTORY_FIELDS])
        objective = self._fitted_objective
        attrs = self._history_attrs
        # the rate setting (the last call's), as fit's checks take it: the last step's rate
        # is lr / (lr_decay * n_steps) after a decay (5e-05 for 0.001), and the steps the
        # threshold warning asked for came out that many times too many (92,093, not 4,605)
        lr = attrs.get("lr_per_call", attrs.get("lr"))
        lr = (float(np.atleast_1d(lr)[-1]) if lr is not None
              else float(np.max(history["lr"].values)))  # a file without it: the top rate
        v = dict(activation=objective.activation, lam=objective.lam,
                 n_latents=int(self._params["decoder"].shape[0]),
                 bandwidth=objective.bandwidth, lr=lr, theta_init=attrs.get("theta_init"))
        spread = float(attrs.get("x_spread", np.nan))
        if v["activation"] == "jumprelu" and (np.isnan(spread)
                                              or isinstance(v["theta_init"], str)):
            v["lam"] = 0.0  # no scale yet (or a file without theta_init): silence check only
        _warn_at_end_of_training(list(rows), v, self._params, spread)
        return self

    def _set_feature_names(self, names):
        """Record ``feature_names_in_`` (the columns of a DataFrame ``X``, checked by
        :meth:`transform`, a later :meth:`partial_fit` and ``get_feature_names_out``), or
        forget those of an earlier fit."""
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _remember_seed(self, seed, seed_record):
        """Keep what :meth:`to_dataset` saves as the seed: ``seed``, the one that made the
        initial parameters (``fit``'s or a first ``partial_fit``'s own, else the
        constructor's), with its :func:`~v1model.io.seed_attr` record before use (a
        Generator's state then), and the constructor's seed at the time, to tell whether
        it was replaced since."""
        self._seed_at_fit = (seed, seed_record)  # as v1model.io.recorded_at_fit reads it
        self._constructor_seed_at_fit = self.seed

    def _saved_seed(self):
        """The seed :meth:`to_dataset` saves as the parameter: the one the weights were
        made from (:meth:`_remember_seed`), unless ``seed`` was set since that fit (then
        the setting, as the dictionary learner saves it); and its record before use."""
        made = getattr(self, "_seed_at_fit", None)
        if made is None or not _same_seed(getattr(self, "_constructor_seed_at_fit", None),
                                          self.seed):
            return self.seed, recorded_at_fit(self, self.seed)
        return made

    def _settle_scale(self, spread):
        """Train at the ``spread`` of this chunk from now on: the first chunk
        of the stream had none (one sample, identical samples or zeros), and
        training ran at a provisional scale (:func:`_data_scale`) until now."""
        old = self._state.scale
        self._state.rescale(spread, self._params)
        if self.theta_init == "auto" and "log_theta" in self._params:
            # the thresholds started at AUTO_JUMP_FRACTION times the provisional scale
            self._params["log_theta"] += self._params["log_theta"].dtype.type(
                np.log(spread / old))
        for attrs in (self._history_attrs, self._history.attrs):
            attrs["x_spread"] = spread
            for name in ("bandwidth", "theta_init"):
                if getattr(self, name) == "auto" and "log_theta" in self._params:
                    attrs[name] = AUTO_JUMP_FRACTION * spread

    def _append_history(self, rows, n_samples, call=None, done=0):
        """Add one call's history ``rows`` (n_steps, len(HISTORY_FIELDS)) and its
        ``n_samples`` to the history, in time proportional to the call: the rows
        wait in a list until ``history_`` is read (:meth:`_materialised_history`).
        ``call``: the settings of a call after the first, which follows ``done``
        steps, recorded per call (:func:`v1model.io.continue_calls`).

        Concatenating the Dataset on every call cost ~2.2 ms of xarray overhead
        plus ~0.06 us per step already taken (a stream of many small chunks:
        quadratic in its length).
        """
        attrs = self._history_attrs
        if call is not None:  # its lists are this model's own (history_ gets copies)
            # attrs["n_steps"] is the setting (the schedule's length), not the steps made
            attrs.setdefault("steps_per_call", [done])
            attrs.update(continue_calls(attrs, call, len(rows)))
        self._pending_rows.append(rows)
        attrs["n_training_samples"] = int(attrs["n_training_samples"]) + n_samples

    def _materialised_history(self):
        """The history Dataset with the pending rows of :meth:`partial_fit` appended
        (one concatenation for all of them; cached until the next call)."""
        if self._pending_rows:
            new = history_dataset(np.concatenate(self._pending_rows), self._history_attrs,
                                  first_step=self._history.sizes["step"])
            self._history = xr.concat([self._history, new], "step")
            self._history.attrs = new.attrs
            self._pending_rows = []
        return self._history

    def _check_continuable(self, X, dtype):
        """``partial_fit`` can continue this model on ``X``."""
        if self._state is None:
            raise ValueError(
                f"this {type(self).__name__} has no training state to continue (it was loaded "
                "from a file saved with training_state=False or by a v1model without "
                "partial_fit): partial_fit needs its Adam moments; call fit to train afresh")
        m, p = self._params["decoder"].shape
        if X.shape[1] != p:
            raise ValueError(f"X has {X.shape[1]} features per sample (shape {X.shape}) but "
                             f"the autoencoder was fitted on {p}; expected shape "
                             f"(n_samples, {p})")
        fixed = {"n_latents": m, "activation": self._fitted_objective.activation,
                 "dtype": self._params["decoder"].dtype}
        for name, value in fixed.items():
            now = dtype if name == "dtype" else getattr(self, name)
            if now != value:
                raise ValueError(f"{name}={getattr(self, name)!r} but the fitted model has "
                                 f"{name} {value}; partial_fit continues the fitted model: call "
                                 "fit to start afresh")

    def _train(self, params, state, v, X, batches, n_steps, rows, streaming=False):
        """Train ``params`` and ``state`` on ``n_steps`` minibatches ``X[index]``
        for the row-index arrays of ``batches``, appending one history row per
        step to ``rows``; returns the BatchTopK inference threshold (NaN for
        the other activations): the running estimate with the last ``3 /
        threshold_rate`` batches of the call measured again by the trained model
        (:func:`~v1model.sae.training.threshold_at_end`).
        ``streaming`` (:meth:`partial_fit`): a BatchTopK model whose batches kept
        no positive activation yet warns instead of raising (a later chunk can
        set its threshold; :meth:`encode` refuses until then)."""
        dtype = params["decoder"].dtype

        def read(index):
            return np.asarray(X[index], dtype=dtype)

        # BatchTopK's latest batches' row indices, recorded smallest kept activations and
        # rates: the last 3 / rate hold 95% of the running estimate's weight. The other
        # activations have no threshold to measure again: they keep none (8 bytes per
        # sample of up to 300 batches at the default rate)
        recent = (collections.deque(maxlen=math.ceil(3 / v["threshold_rate"]))
                  if v["activation"] == "batchtopk" else None)
        taken = []

        def batch_rows():
            for index in batches:
                if recent is not None:
                    taken[:] = [index]
                yield read(index)
        lrs = lr_schedule(v["lr"], state.n_steps + np.arange(n_steps), v["n_steps"],
                          v["lr_warmup"], v["lr_decay"])
        # forward and backward: about six products of (batch, n_features) x (n_features, n_latents)
        flops = 12.0 * v["batch_size"] * v["n_latents"] * params["decoder"].shape[1]
        with blas_threads_for_step(flops):
            for row in train(params, batch_rows(),
                             self._objective(v), state, lrs=lrs, k_aux=v["k_aux"],
                             aux_coef=v["aux_coef"], dead_after=v["dead_after"],
                             threshold_rate=v["threshold_rate"],
                             # a stream's chunk (often a fraction of a second): a bar only
                             # once it runs 2 s, as the estimator's partial_fit
                             progress=(inner_progress(v["progress"]) if streaming
                                       else v["progress"])):
                rows.append(row)
                if recent is not None:
                    recent.append((taken[0], state.last_smallest, v["threshold_rate"]))
        if v["activation"] != "batchtopk":
            return float("nan")
        if not np.isfinite(state.threshold):
            if streaming:
                warnings.warn(f"batchtopk: no training batch so far kept a positive activation "
                              f"(after {state.n_steps} steps), so there is no inference threshold "
                              "yet; continue partial_fit on more samples (a first chunk of one "
                              "sample, or of identical ones, cannot set it: the decoder bias "
                              "starts at that sample)",
                              UserWarning, stacklevel=user_stacklevel())
                return state.threshold
            raise FloatingPointError("batchtopk: no training batch kept a positive activation, "
                                     "so there is no inference threshold; X may have too little "
                                     "spread between samples")
        with blas_threads_for_step(flops / 3):  # forward passes only
            return threshold_at_end(params, v["k"], state, recent, read)

    def _attrs(self, v, X, seed_record, spread):
        """The history's attrs; ``seed_record`` is the seed as
        :func:`v1model.io.seed_attr` recorded it before the call drew from it."""
        attrs = {key: value for key, value in v.items() if key != "dtype"}
        attrs.update(model="sparse autoencoder", dtype=v["dtype"].name,
                     lam=_recorded_lam(v["activation"], v["lam"]),
                     x_spread=spread, lr_auto=f"lr='auto': {AUTO_LR:g}; lr is the rate used",
                     lr_units=("lr: Adam step of the weights (no units); the biases b_enc and "
                               "b_dec move at lr * x_spread (x_spread NaN: lr), their gradients "
                               "are divided by x_spread and the others' by x_spread**2: "
                               "training is the same at any scale of X"),
                     k=v["k"] if v["k"] is not None else "None",
                     n_features=X.shape[1], n_training_samples=X.shape[0],
                     seed=seed_record, lr_schedule=(
                         "lr * min(1, (step + 1) / lr_warmup, (n_steps - step) / (lr_decay * "
                         "n_steps)), a term only when lr_warmup > 0 or lr_decay > 0"),
                     loss_definition=_loss_definition(v["activation"]))
        # what the activation does not use did not count: not recorded as if it had
        for name in _unused_by(v["activation"]):
            attrs[name] = "None"
        return attrs

    def _set_fitted(self, params, state, history, objective, threshold=None):
        self._params = params
        self._state = state  # None: loaded without the training state
        self._fitted_objective = objective
        self._threshold = float(state.threshold if threshold is None else threshold)
        self._history = history
        self._history_attrs = dict(history.attrs)  # attrs including the pending rows' calls
        self._pending_rows = []  # partial_fit's rows (one array per call) not in _history yet
        self.n_features_in_ = int(params["decoder"].shape[1])

    # ----------------------------------------------------------- attributes
    def _check_fitted(self):
        if not hasattr(self, "_params"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call 'fit' first")

    @property
    def components_(self):
        self._check_fitted()
        return self._params["decoder"]

    @property
    def encoder_(self):
        self._check_fitted()
        return self._params.get("encoder")

    @property
    def encoder_bias_(self):
        self._check_fitted()
        return self._params.get("b_enc")

    @property
    def decoder_bias_(self):
        self._check_fitted()
        return self._params["b_dec"]

    @property
    def threshold_(self):
        self._check_fitted()
        if self._fitted_objective.activation == "batchtopk":
            return self._threshold
        if "log_theta" in self._params:
            return np.exp(self._params["log_theta"])
        return None

    @property
    def history_(self):
        """Training history (xarray Dataset over ``step``)."""
        self._check_fitted()
        return self._materialised_history()

    # ------------------------------------------------------- encode / decode
    def encode(self, X, *, sparse=False, k=None):
        """Latents (n_samples, n_latents) of ``X``; each sample on its own.

        The model encodes with the settings it was trained with (those of its
        last training step): a ``k`` or ``lam`` changed on the estimator since
        takes effect at the next :meth:`partial_fit` or :meth:`fit`. To encode a
        ``topk`` or ``mp`` model with another number of active latents, as Gao
        et al. (2024, sec. 5.3) and Costa et al. (2025) do at inference, pass
        ``k`` here.

        ``X`` is (n_samples, n_features) or one sample (n_features,). It is
        read, checked and encoded in blocks of rows (:data:`ENCODE_BLOCK_ELEMENTS`
        latents per block, e.g. 512 rows of 8,192 latents), so that the memory
        added to the result is a few tens of MB at any ``n_samples``: an
        ``np.memmap`` is not loaded, nor converted to the model's dtype as a
        whole; ``mp`` adds the decoder's Gram matrix (``n_latents^2`` numbers,
        at most :data:`~v1model.sae.pursuit.GRAM_MAX_BYTES`), made once per call
        when the call codes more than ``n_latents / (k - 1)`` rows. The dense
        result itself is ``n_samples * n_latents`` numbers
        (200,000 x 16,384 float32: 13 GB), refused (ValueError naming
        ``len(X)``) before any block is encoded when it exceeds the memory this
        process may use; ``sparse=True`` keeps only the non-zeros (``topk``:
        ``k`` per sample, 8 bytes each), or encode a slice of the rows at a time.
        The sparse result is refused alike: for ``topk`` and ``mp`` before any
        block, by its upper bound of ``k`` non-zeros per sample; for the others
        (whose codes may be dense, a ReLU early in training, where a float32
        non-zero and its column index take twice a dense latent's 4 bytes) as
        soon as the rows encoded so far predict that the whole would not fit,
        before its arrays grow to it.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            At least one sample, finite, with the ``n_features_in_`` features of training.
        sparse : bool, default False
            Return a ``scipy.sparse.csr_matrix`` (built block by block, its arrays
            grown in place: the dense latents of one block at a time plus the
            result, not twice the result) instead of a dense array.
        k : int, optional
            ``topk``: latents kept per sample; ``mp``: pursuit steps; in [1,
            n_latents]. Default: the ``k`` the model was trained with. Refused
            for the other activations (``relu`` and ``jumprelu`` have no ``k``),
            and for ``batchtopk`` unless it is the trained ``k`` (it encodes with
            its learned threshold, the same codes as without ``k``).

        Returns
        -------
        Z : ndarray, xarray.DataArray or scipy.sparse.csr_matrix, shape (n_samples, n_latents)
            Latents in units of ``X`` (the decoder rows have unit norm), in the
            model's dtype; a single sample gives ``n_samples = 1``. For a
            DataArray ``X`` (dense), a DataArray over (sample, latent) with
            ``X``'s sample labels (:func:`~v1model.validation.row_coords`; a
            stacked MultiIndex kept, so that ``Z.unstack("sample")`` works),
            ``latent`` numbered as in :meth:`to_dataset`, and ``long_name`` and
            ``units`` (``X``'s own, else "units of X") in its attrs.

        Raises
        ------
        ValueError
            When the result (dense, or sparse as above) would not fit in the memory
            this process may use, naming ``len(X)``, the bytes and the rows that
            would fit; for an ``X`` of the wrong shape, empty or not finite.
        """
        sparse = check_bool(sparse, "sparse")
        self._check_can_encode()
        objective = self._inference_objective(k)
        blocks = self._blocks_of_rows(X)
        gram = self._pursuit_gram(blocks.n_samples, objective)
        with self._rows_bar(blocks.n_samples, "SAE encode") as bar:
            def encoded():
                for block in blocks:
                    yield self._encode_block(block, gram, objective)
                    bar.update(len(block))

            if sparse:
                if objective.k is not None and objective.activation != "batchtopk":
                    # topk, mp: at most k non-zeros per sample, an upper bound before any
                    # block (the others' are checked as the rows come, _csr_by_blocks)
                    k = min(objective.k, self._params["decoder"].shape[0])
                    _check_sparse_fits(blocks.n_samples, k, blocks.dtype,
                                       f"samples' sparse latents (at most k={k} non-zeros "
                                       f"each, {blocks.dtype.name} and their column indices)")
                    return _csr_by_blocks(encoded(), blocks.n_samples, max_per_row=k)
                return _csr_by_blocks(encoded(), blocks.n_samples)
            # before the first block is encoded: numpy's MemoryError came after it, named no
            # argument, and a swapping machine may not raise at all
            m = self._params["decoder"].shape[0]
            check_fits_in_memory((blocks.n_samples, m), blocks.dtype, "len(X)",
                                 blocks.n_samples, f"samples' dense latents ({m} "
                                 f"{blocks.dtype.name} each; sparse=True keeps only the "
                                 "non-zeros)")
            out = None
            for Z, rows in zip(encoded(), blocks.slices):
                if out is None:
                    out = np.empty((blocks.n_samples, Z.shape[1]), Z.dtype)
                out[rows] = Z
        return _labelled_like(out, X, DATA_DIMS, "latent", LATENTS_LONG_NAME)

    def _rows_bar(self, n_samples, desc):
        """A bar over the rows of an encode or a reconstruction, shown once the call
        has run 2 s (200,000 rows of 16,384 latents take minutes), never for a model
        made with ``progress=False``."""
        return progress_bar(None if check_bool(self.progress, "progress") else False,
                            total=n_samples, desc=desc, unit="sample")

    def _check_can_encode(self):
        """Fitted, and a batchtopk model has its inference threshold."""
        self._check_fitted()
        if self._fitted_objective.activation == "batchtopk" and not np.isfinite(self._threshold):
            raise ValueError("this batchtopk autoencoder has no inference threshold yet: no "
                             "training batch so far kept a positive activation; continue "
                             "partial_fit on more samples before encoding")

    def _inference_objective(self, k=None):
        """The fitted objective, with ``k`` (given to an encoding method) in place of the
        trained one for ``topk`` and ``mp``."""
        objective = self._fitted_objective
        if k is None:
            return objective
        if objective.activation not in ("topk", "mp", "batchtopk"):
            raise ValueError(f"k={k!r}: only a 'topk' or 'mp' model encodes with another k; "
                             f"this {objective.activation!r} model has no k")
        k = _check_k(k, self._params["decoder"].shape[0])
        if objective.activation == "batchtopk":
            # the trained k is what encoding without k does (a loop over k values that
            # includes it was refused); another k has no threshold to encode with
            if k == objective.k:
                return objective
            raise ValueError(f"k={k!r}: only a 'topk' or 'mp' model encodes with another k; "
                             f"this 'batchtopk' model encodes with its learned threshold "
                             f"(threshold_), trained for k={objective.k}: give k="
                             f"{objective.k} or no k")
        return dataclasses.replace(objective, k=k)

    def _encode_block(self, X, gram=None, objective=None):
        """Latents of the checked 2-D block ``X`` (the model's dtype); ``gram`` from
        :meth:`_pursuit_gram`; ``objective``: the fitted one unless given
        (:meth:`_inference_objective`)."""
        objective = self._fitted_objective if objective is None else objective
        return _guarded(lambda: encode(self._params, X, objective, self._threshold, gram),
                        "X", "the latents", X)

    def _pursuit_gram(self, n_samples, objective=None):
        """``mp``: the decoder's Gram matrix for the pursuit of ``n_samples`` rows, once
        for all their blocks, where it pays and fits (:func:`pursuit_gram`); else None."""
        objective = self._fitted_objective if objective is None else objective
        if objective.activation != "mp":
            return None
        return pursuit_gram(self._params["decoder"], n_samples, objective.k)

    def _blocks_of_rows(self, X):
        """``X`` (validated shape) as an iterable of checked blocks of rows of the
        model's dtype (:class:`_RowBlocks`)."""
        dtype = self._params["decoder"].dtype
        rows = max(1, ENCODE_BLOCK_ELEMENTS // self._params["decoder"].shape[0])
        if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > rows):
            # small or not an array (a list): checked and converted whole, as always
            X = check_array(X, "X", ndim=(1, 2), dtype=dtype, dims=DATA_DIMS)
            if X.ndim == 1:
                X = X[None, :]
        else:  # type and dtype checked without reading the values; those per block
            check_dense(X, "X")  # a masked array's mask, whole (the blocks' would be X[a:b])
            try:
                check_array(X[:0], "X", ndim=2, dtype=dtype, allow_empty=True)
            except TypeError as exc:  # told of X's shape, not of the empty view checked
                raise TypeError(str(exc).replace(describe(X[:0]), describe(X))) from None
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features per sample (shape {X.shape}) but "
                             f"the autoencoder was fitted on {self.n_features_in_}; expected "
                             f"shape (n_samples, {self.n_features_in_})")
        return _RowBlocks(X, rows, dtype)

    def decode(self, Z):
        """Reconstructions ``Z D + b_dec`` (n_samples, n_features) of latents ``Z``.

        Parameters
        ----------
        Z : array_like or scipy.sparse matrix, shape (n_samples, n_latents) or (n_latents,)
            Latents, e.g. from :meth:`encode` (also its ``sparse=True`` output);
            at least one sample (an empty ``Z`` is refused, as an empty ``X``
            by :meth:`encode`), real, finite, within the range of the model's
            dtype. A DataArray with dims ``sample`` and ``latent`` is read by
            name, in either order.

        Returns
        -------
        X_hat : ndarray or xarray.DataArray, shape (n_samples, n_features)
            Reconstructions in units of ``X``, in the model's dtype; a single
            latent vector gives ``n_samples = 1``. For a DataArray ``Z``, a
            DataArray over (sample, feature) with ``Z``'s sample labels,
            ``feature`` numbered as in :meth:`to_dataset`, and ``long_name`` and
            ``units`` (``Z``'s own, else "units of X") in its attrs.

        Raises
        ------
        ValueError
            For a ``Z`` of the wrong shape, empty, non-finite or beyond the
            dtype's range, or whose reconstructions overflow the dtype (one
            error naming the largest ``|Z|``, no NumPy warning first).
        TypeError
            For a ``Z`` that is not real numbers (complex values included).
        """
        self._check_fitted()
        D = self._params["decoder"]
        given = Z
        is_sparse = hasattr(Z, "tocsr")  # scipy.sparse, e.g. encode(X, sparse=True)
        if is_sparse:
            Z = (Z.reshape(1, -1) if Z.ndim == 1 else Z).tocsr()  # one sample, as a dense Z
            if Z.shape[0] == 0:  # as a dense Z, encode and v1model.inference.encode
                raise ValueError(f"Z must not be empty, got shape {Z.shape}")
            # the non-zeros real, finite and within D's dtype before the cast (a cast of 1e40
            # to float32 warned, and the infs it made were reported as Z's own); no non-zero:
            # all-zero codes
            _check_sparse_latents(Z, given)
            check_array(Z.data, "Z", allow_empty=True, dtype=D.dtype)
            Z = Z.astype(D.dtype, copy=False)
        else:
            # a DataArray by dim name, as encode reads X (a transposed square Z was
            # decoded by position, unsaid)
            Z = check_array(Z, "Z", ndim=(1, 2), dtype=D.dtype, dims=LATENT_DIMS)
            if Z.ndim == 1:
                Z = Z[None, :]
        if Z.shape[1] != D.shape[0]:
            raise ValueError(f"Z has {Z.shape[1]} latents per sample (shape {Z.shape}) but the "
                             f"autoencoder has {D.shape[0]}; expected shape (n_samples, "
                             f"{D.shape[0]})")
        X_hat = _guarded(lambda: np.asarray(Z @ D if is_sparse else decode_latents(Z, D))
                         + self._params["b_dec"], "Z", "the reconstructions",
                         Z.data if is_sparse else Z)
        return _labelled_like(X_hat, given, LATENT_DIMS, "feature", RECONSTRUCTION_LONG_NAME)

    # scikit-learn's transformer protocol, so that the model is a step of a Pipeline
    # (before, Pipeline(SparseAutoencoder, LogisticRegression) refused it: no transform)
    def transform(self, X):
        """Latents of ``X`` (scikit-learn's name for :meth:`encode`, with the
        settings the model was trained with), e.g. as a step of a
        :class:`sklearn.pipeline.Pipeline`; a DataFrame after
        ``set_output(transform="pandas")``.

        Parameters
        ----------
        X : array_like or DataFrame, shape (n_samples, n_features) or (n_features,)
            Samples, as :meth:`encode` takes them.

        Returns
        -------
        Z : ndarray, xarray.DataArray or DataFrame, shape (n_samples, n_latents)
            ``encode(X)``: dense, in the model's dtype (a DataArray for a
            DataArray ``X``); a pandas (with the index of a pandas ``X``) or
            polars DataFrame with the columns of ``get_feature_names_out()``
            when ``set_output`` (or scikit-learn's global ``transform_output``)
            asks for one.

        Raises
        ------
        ValueError
            For a DataFrame ``X`` whose column names are not those of the
            DataFrame the model was fitted on (other names, or another order),
            as scikit-learn's transformers and the dictionary learner refuse it.

        Warns
        -----
        UserWarning
            For a DataFrame ``X`` when the model was fitted on an array, or an
            array when it was fitted on a DataFrame (the columns are then
            matched by position).
        """
        output = requested_output(transform_output(self))
        self._check_fitted()
        # a DataFrame's columns against fit's, as the dictionary learner and scikit-learn's
        # transformers check them (before 2026-12-07 renamed or reordered columns coded
        # silently, matched by position)
        check_feature_names(self, X, getattr(self, "feature_names_in_", None))
        Z = self.encode(X)
        if output == "default":
            return Z
        return wrap_output(np.atleast_2d(np.asarray(Z)), X, self.get_feature_names_out(),
                           output)

    def set_output(self, *, transform=None):
        """Container of :meth:`transform`'s output: ``"default"`` (as
        :meth:`encode` returns it), ``"pandas"`` or ``"polars"`` (a DataFrame
        with the columns of ``get_feature_names_out()``); None keeps the current
        setting. Without a setting, scikit-learn's global ``transform_output``
        applies (so that ``Pipeline.set_output`` can configure the model, as it
        does the dictionary learner).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default None
            Output container of :meth:`transform` and :meth:`fit_transform`.

        Returns
        -------
        self : SparseAutoencoder
        """
        return set_transform_output(self, transform)

    def get_feature_names_out(self, input_features=None):
        """Names of the latent columns: ``sparseautoencoder0`` ... .

        Parameters
        ----------
        input_features : array_like of str, shape (n_features_in_,), optional
            Input column names, only checked (their number, and that they equal
            ``feature_names_in_``, set by fitting on a DataFrame): the columns of
            the output are latents, not input features.

        Returns
        -------
        names : ndarray of str (object dtype), shape (n_latents,)
            One name per latent.
        """
        self._check_fitted()
        return output_feature_names(self, self.components_.shape[0], input_features)

    def fit_transform(self, X, y=None, *, seed=None):
        """``fit(X, seed=seed)`` then ``transform(X)``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training samples, as :meth:`fit` takes them.
        y : ignored
        seed : int, SeedSequence, Generator or None
            As in :meth:`fit`.

        Returns
        -------
        Z : ndarray or xarray.DataArray, shape (n_samples, n_latents)
            The trained model's latents of ``X``.
        """
        return self.fit(X, seed=seed).transform(X)

    def inverse_transform(self, Z):
        """Reconstructions of latents ``Z`` (scikit-learn's name for :meth:`decode`).

        Parameters
        ----------
        Z : array_like or scipy.sparse matrix, shape (n_samples, n_latents) or (n_latents,)
            Latents, as :meth:`decode` takes them.

        Returns
        -------
        X_hat : ndarray or xarray.DataArray, shape (n_samples, n_features)
            ``decode(Z)``, in units of ``X``.
        """
        return self.decode(Z)

    def __sklearn_tags__(self):
        # a transformer whose output keeps the model's dtype (scikit-learn's checks)
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        try:
            preserved = [check_dtype(self.dtype).name]
        except (TypeError, ValueError):  # an invalid dtype: fit refuses it by name
            preserved = ["float32"]
        tags.transformer_tags = TransformerTags(preserves_dtype=preserved)
        return tags

    def reconstruct(self, X, *, k=None):
        """``decode(encode(X, k=k))``, block by block of rows (the latents of one block
        at a time: the memory of the result and a few tens of MB).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Samples to reconstruct.
        k : int, optional
            ``topk`` and ``mp``: the number of active latents, as for
            :meth:`encode` (default: the trained ``k``; ``batchtopk``: that one only).

        Returns
        -------
        X_hat : ndarray or xarray.DataArray, shape (n_samples, n_features)
            Reconstructions in units of ``X``, in the model's dtype. For a 2-D
            DataArray ``X``, a DataArray with ``X``'s dims (in the order
            (sample, feature) when it names them) and coordinates, so that
            ``X - X_hat`` is the residual whatever its dims are named (``dim_0``,
            ``pixel``) or its features labelled; ``long_name`` and ``units``
            as :meth:`decode`. For a single sample (a 1-D DataArray over its
            features), over (sample, its feature dim) with its feature
            coordinates and its sample label, if any.
        """
        self._check_can_encode()
        objective = self._inference_objective(k)
        blocks = self._blocks_of_rows(X)
        D, b_dec = self._params["decoder"], self._params["b_dec"]
        out = np.empty((blocks.n_samples, self.n_features_in_), D.dtype)
        # each block is checked once, as it is read (encode and decode would check it and
        # its latents again)
        gram = self._pursuit_gram(blocks.n_samples, objective)
        with self._rows_bar(blocks.n_samples, "SAE reconstruct") as bar:
            for block, rows in zip(blocks, blocks.slices):
                out[rows] = _guarded(lambda block=block: decode_latents(
                    self._encode_block(block, gram, objective), D) + b_dec, "X",
                    "the reconstructions", block)
                bar.update(len(block))
        return _labelled_as_data(out, X)

    def evaluate(self, X, *, k=None) -> xr.Dataset:
        """The reconstruction and sparsity metrics of the SAE literature on ``X``
        (held-out samples, say), each sample encoded on its own as by :meth:`encode`.

        ``fvu``, the fraction of variance unexplained, is
        ``sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(X)||^2`` (the normalised
        MSE of Gao et al. 2024: the squared error over that of predicting the
        mean of ``X``; ``1 - fvu`` is scikit-learn's
        ``r2_score(X, X_hat, multioutput="variance_weighted")``), and
        ``explained_variance`` is ``1 - fvu``. A latent is dead here when it is
        zero on every sample of ``X`` (``history_.n_dead`` counts instead the
        latents silent for the last ``dead_after`` training samples, in the training
        codes: a latent that fires on fewer than one in ``dead_after`` samples is
        dead there and alive here, and a ``batchtopk`` model trains with each
        minibatch's top ``k * batch_size`` but encodes at its threshold; e.g. 34
        against 24 of 128 latents on the training samples after a ``batchtopk``
        fit with ``dead_after=300``: ``n_dead.attrs["definition"]``). ``X`` is read,
        converted to the model's dtype and encoded in blocks of rows, as by
        :meth:`reconstruct` (an ``np.memmap`` is not loaded); the sums are in
        float64, the mean and the variance about it by Chan et al.'s pairwise
        update (no cancellation for data far from 0, such as a language
        model's activations).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            At least one sample, finite, with the ``n_features_in_`` features of
            training; a DataArray is read by its dims ``sample``, ``feature``.
        k : int, optional
            ``topk`` and ``mp``: the number of active latents, as for
            :meth:`encode` (default: the trained ``k``; ``batchtopk``: that one only).

        Returns
        -------
        ds : xarray.Dataset
            Scalars ``fvu`` and ``explained_variance`` (NaN when ``X`` has no
            variance about its mean: one sample, or identical ones), ``mse``
            (mean over samples of ``||x - x_hat||^2``, units of X squared: those of
            a DataArray ``X``'s ``attrs["units"]``, as :meth:`encode` gives them),
            ``l0`` (mean non-zero latents per sample) and ``n_dead``; over
            ``latent``, ``firing_frequency`` (fraction of the samples on which
            each latent is non-zero). Units and long names in each variable's
            attrs; the settings it encoded with (``k`` as used, ``lam``, each
            ``"None"`` for an activation that takes none; ``batchtopk``: the
            ``threshold`` it encoded with, ``threshold_`` in units of the
            pre-activations) and ``n_samples`` in ``ds.attrs``.
        """
        self._check_can_encode()
        objective = self._inference_objective(k)
        blocks = self._blocks_of_rows(X)
        D, b_dec = self._params["decoder"], self._params["b_dec"]
        m, p = D.shape
        gram = self._pursuit_gram(blocks.n_samples, objective)
        squared_error, n_seen = 0.0, 0
        mean, scatter = np.zeros(p), np.zeros(p)  # of X, per feature (Chan et al.)
        fired = np.zeros(m, dtype=np.int64)
        with self._rows_bar(blocks.n_samples, "SAE evaluate") as bar:
            for block in blocks:
                Z = self._encode_block(block, gram, objective)
                residual = block - _guarded(lambda: decode_latents(Z, D) + b_dec, "X",
                                            "the reconstructions", block)
                squared_error += float(np.einsum("ij,ij->", residual, residual,
                                                 dtype=np.float64))
                fired += np.count_nonzero(Z, axis=0)
                n_block = len(block)
                block_mean = block.mean(axis=0, dtype=np.float64)
                centred = block - block_mean
                block_scatter = np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
                delta = block_mean - mean
                total = n_seen + n_block
                scatter += block_scatter + delta * delta * (n_seen * n_block / total)
                mean += delta * (n_block / total)
                n_seen = total
                bar.update(n_block)
        variance = float(scatter.sum())
        fvu = squared_error / variance if variance > 0 else float("nan")
        ds = xr.Dataset(coords={"latent": np.arange(m)})
        ds["fvu"] = ((), fvu, {
            "long_name": "fraction of variance unexplained: sum ||x - x_hat||^2 / "
                         "sum ||x - mean(X)||^2", "units": "1"})
        ds["explained_variance"] = ((), 1.0 - fvu, {
            "long_name": "fraction of variance explained (1 - fvu)", "units": "1"})
        # X's own units, as encode and reconstruct give them ("units of X" named none)
        units = X.attrs.get("units") if isinstance(X, xr.DataArray) else None
        ds["mse"] = ((), squared_error / n_seen, {
            "long_name": "mean over samples of ||x - x_hat||^2",
            "units": f"({units})^2" if units else "(units of X)^2"})
        ds["l0"] = ((), float(fired.sum()) / n_seen, {
            "long_name": "mean number of non-zero latents per sample", "units": "1"})
        # history_.n_dead is another count (34 there, 24 here on the training X of a
        # batchtopk run): named apart, so that the two do not read as a contradiction
        dead_after = self._history_attrs.get("dead_after", "dead_after")
        ds["n_dead"] = ((), int(np.count_nonzero(fired == 0)), {
            "long_name": "latents that are zero on every sample of X", "units": "1",
            "definition": (
                "latents whose codes, as encode gives them (batchtopk: at the inference "
                "threshold), are zero on all the samples of X; not history_.n_dead, which "
                f"counts during training the latents silent for the last {dead_after} "
                "training samples (batchtopk: in the top k * batch_size of each minibatch), "
                "so that a latent firing on fewer than one in that many samples is dead "
                "there and alive here")})
        ds["firing_frequency"] = ("latent", fired / n_seen, {
            "long_name": "fraction of the samples on which the latent is non-zero",
            "units": "1"})
        ds.attrs.update(
            model="sparse autoencoder", activation=objective.activation,
            k=objective.k if objective.k is not None else "None",
            lam=_recorded_lam(objective.activation, objective.lam),
            n_latents=m, n_features=p, dtype=D.dtype.name, n_samples=n_seen,
            fvu_definition=("sum over samples of ||x - x_hat||^2 / sum over samples of "
                            "||x - mean(X)||^2, X converted to the model's dtype"))
        if objective.activation == "batchtopk":  # the codes are those of this threshold
            ds.attrs.update(threshold=self._threshold,
                            threshold_units="units of the pre-activations")
        return ds

    # ------------------------------------------------------------------- io
    def to_dataset(self, training_state=True) -> xr.Dataset:
        """The fitted model as a Dataset: its arrays (``latent``, ``feature``),
        the history (``step``), the parameters in attrs and, with
        ``training_state`` (if the model has it), what :meth:`partial_fit`
        needs to continue: the Adam moments ``adam_m_*`` and ``adam_v_*`` of
        each array (twice the parameters' size), ``samples_since_fired``
        (latent), ``training_mean`` (feature: the centre of the history's FVU)
        and, in attrs, the Adam step count, the state of the minibatch order's
        generator and the BatchTopK running estimate and its weight (a file
        from before these loads with the running estimate = the threshold, its
        weight 1, and a running mean that restarts at the next batch). The
        ``set_output`` setting, if any, is ``attrs["transform_output"]`` and the
        names of a DataFrame's columns, if fitted on one, the ``feature_name``
        coordinate (a file without them loads with the default output and no
        names; before 2026-12-07 neither was saved).

        Parameters
        ----------
        training_state : bool, default True
            Include the training state (ignored when the model has none).

        Returns
        -------
        ds : xarray.Dataset
            Dims ``latent`` (n_latents), ``feature`` (n_features) and
            ``step`` (steps taken); copies of the model's arrays.
        """
        self._check_fitted()
        training_state = check_bool(training_state, "training_state")
        params = self.get_params()
        # the seed the weights were made from (fit's own seed too: the constructor's was
        # saved, and the loaded model's fit trained another model), a SeedSequence as what
        # makes it, a Generator as its state before this model drew from it: the loaded
        # model's fit trains as the fit that made this model did
        seed, record = self._saved_seed()
        params["seed"], kept = seed_param(seed, record)
        if not kept:  # a bit generator not NumPy's: no state to keep
            warnings.warn(
                f"SparseAutoencoder.to_dataset: the model's seed is a Generator of "
                f"{type(seed.bit_generator).__name__}, whose state a file cannot hold: "
                "fit of the loaded model starts unseeded (seed with an int, a "
                "SeedSequence or a NumPy bit generator to keep it)", UserWarning,
                stacklevel=user_stacklevel())
        constructor_seed = None
        if seed is not self.seed:  # fit's own seed replaced the constructor's: kept beside
            constructor_seed = json.dumps(seed_param(self.seed)[0], default=_jsonable)
            if constructor_seed == json.dumps(params["seed"], default=_jsonable):
                constructor_seed = None  # the same seed given twice (1000 is not 1000)
        params["dtype"] = check_dtype(params["dtype"]).name
        m, p = self._params["decoder"].shape
        data = {}
        # copies, here and below: training continues in place, and a Dataset that
        # partial_fit changes after the fact is no record (nor is a model loaded from it)
        for name, array in self._params.items():
            dims, long_name, units = _VARIABLES[name]
            data[name] = (dims, array.copy(), {"long_name": long_name, "units": units})
        # the settings encode uses (those of the last training step), which may differ
        # from the constructor's parameters changed since: the file encodes as the model
        fitted = dataclasses.asdict(self._fitted_objective)
        fitted["dtype"] = self._params["decoder"].dtype.name
        # the fitted count: n_latents changed since (refused by partial_fit) must not make
        # the file unloadable, while a damaged file (latents cut off) is still refused
        fitted["n_latents"] = m
        attrs = {"kind": SAE_KIND, "estimator_params": json.dumps(params, default=_jsonable),
                 "fitted_objective": json.dumps(fitted, default=_jsonable),
                 "batchtopk_threshold": self._threshold}
        if constructor_seed is not None:
            attrs["constructor_seed"] = constructor_seed
        if transform_output(self) is not None:  # set_output(transform=...), as the learner's
            attrs["transform_output"] = transform_output(self)
        state = self._state if training_state else None
        if (state is None and self._fitted_objective.activation == "batchtopk"
                and not np.isfinite(self._threshold)):
            # from_dataset could not load it: no threshold to encode with, no state to set one
            raise ValueError("this batchtopk autoencoder has no inference threshold yet (no "
                             "training batch so far kept a positive activation); saved with "
                             "training_state=False it could neither encode nor continue: save "
                             "with training_state=True, or continue partial_fit first")
        if state is not None:
            for name, array in self._params.items():
                for template, moments in zip(_STATE_VARIABLES, (state.adam.m, state.adam.v)):
                    long_name, units = _STATE_VARIABLES[template]
                    data[template.format(name)] = (_VARIABLES[name][0], moments[name].copy(), {
                        "long_name": long_name.format(name), "units": units.format(name)})
            data["samples_since_fired"] = ("latent", state.tracker.since.copy(), {
                "long_name": "training samples since the latent last fired", "units": "1"})
            if state.x_mean is not None:
                data["training_mean"] = ("feature", state.x_mean.copy(), {
                    "long_name": "mean of the training samples so far (the centre of "
                                 "history fvu)", "units": "units of X"})
            attrs.update(adam_step=state.adam.t, rng_state=generator_to_json(state.rng),
                         adam_gradient_scale=state.scale,
                         batchtopk_running_threshold=state.threshold,
                         batchtopk_threshold_weight=state.threshold_weight,
                         n_training_mean_samples=state.x_count)
        full = self._materialised_history()
        history = full.copy(deep=True)  # the record shares no array with the model
        history.attrs = {}
        coords = {"latent": np.arange(m), "feature": np.arange(p)}
        names = getattr(self, "feature_names_in_", None)
        if names is not None:  # fitted on a DataFrame: its columns, as the learner saves them
            coords["feature_name"] = ("feature", np.asarray(names, dtype=str))
        ds = xr.Dataset(data, coords=coords)
        ds = ds.merge(history)
        attrs.update({HISTORY_PREFIX + key: value for key, value in full.attrs.items()})
        ds.attrs = attrs
        return ds

    @classmethod
    def from_dataset(cls, ds):
        """The model saved by :meth:`to_dataset` (fitted, ready to encode, and
        to continue with :meth:`partial_fit` if saved with its training state).

        Parameters
        ----------
        ds : xarray.Dataset
            A Dataset written by :meth:`to_dataset` (``attrs["kind"]`` is
            ``"v1model.SparseAutoencoder"``).

        Returns
        -------
        model : SparseAutoencoder
        """
        check_saved_kind(ds, SAE_KIND, cls.__name__)
        try:
            params = json.loads(ds.attrs["estimator_params"])
            params["seed"] = seed_from_json(params.get("seed"))
            model = cls(**params)
            threshold = float(ds.attrs["batchtopk_threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("ds.attrs['estimator_params'] or ['batchtopk_threshold'] is "
                             f"missing or unreadable ({exc}); not a saved {cls.__name__}") from exc
        fitted = _saved_objective(ds, model)
        dtype = check_dtype(fitted.pop("dtype"))
        n_latents = fitted.pop("n_latents")
        act = check_choice(fitted["activation"], "the saved activation", ACTIVATIONS)
        names = parameter_names(act)
        required = list(names) + [name for name in HISTORY_FIELDS if name != "lr"]
        if "samples_since_fired" in ds:  # saved with the training state
            required += [t.format(name) for name in names for t in _STATE_VARIABLES]
        missing = [name for name in required if name not in ds]
        if missing:
            raise ValueError(f"ds lacks {', '.join(missing)}: not a complete saved "
                             f"{cls.__name__} ({act})")

        def array(name, dims):
            # a saved model holds finite arrays: NaN weights would give NaN or zero codes
            return np.array(  # a copy: training continues in place
                check_array(values_by_dims(ds, name, dims), f"ds[{name!r}]", dtype=dtype),
                order="C")

        params = {name: array(name, _VARIABLES[name][0]) for name in names}
        if params["decoder"].shape[0] != n_latents:
            raise ValueError(f"ds['decoder'] has {params['decoder'].shape[0]} latents but the "
                             f"saved parameters say n_latents={n_latents}")
        # NaN: a stream whose batches have not set it yet; it can only be set (and encode
        # refuses until it is) by continuing, which needs the training state
        unset = np.isnan(threshold) and "samples_since_fired" in ds
        if act == "batchtopk" and not (unset or 0 < threshold < np.inf):
            raise ValueError(f"ds.attrs['batchtopk_threshold'] must be a positive number for a "
                             f"batchtopk model, got {threshold!r}"
                             + (" (a NaN threshold loads only with the training state, to "
                                "continue partial_fit)" if np.isnan(threshold) else ""))
        history = ds[[name for name in HISTORY_FIELDS if name in ds]].drop_vars(
            ["latent", "feature"], errors="ignore").copy(deep=True)  # not the Dataset's arrays
        for name in history.data_vars:  # a renamed dim failed later as KeyError: 'step'
            check_dims(history, name, ("step",))
        if "lr" not in history:  # saved before the schedule existed: a constant rate
            history["lr"] = ("step", np.full(history.sizes["step"], _saved_lr(ds, model)),
                             {"long_name": HISTORY_FIELDS["lr"][0],
                              "units": HISTORY_FIELDS["lr"][1]})
        history.attrs = {key[len(HISTORY_PREFIX):]: value for key, value in ds.attrs.items()
                         if key.startswith(HISTORY_PREFIX)}
        state = None
        if "samples_since_fired" in ds:
            try:
                rng = generator_from_json(ds.attrs["rng_state"], "ds.attrs['rng_state']")
                adam_step = int(ds.attrs["adam_step"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError("ds.attrs['rng_state'] or ['adam_step'] of the saved training "
                                 f"state is missing or unreadable ({exc})") from exc
            state = TrainingState(params, rng, _saved_scale(ds))
            # files saved without adam_gradient_scale hold the moments of the raw gradients
            legacy = "adam_gradient_scale" not in ds.attrs
            for name in params:
                dims = _VARIABLES[name][0]
                factor = state.gradient_factors[name] if legacy else 1.0
                state.adam.m[name] = array("adam_m_" + name, dims) * factor
                state.adam.v[name] = array("adam_v_" + name, dims) * factor ** 2
            state.adam.t = adam_step
            state.tracker.since = values_by_dims(ds, "samples_since_fired",
                                                 ("latent",)).astype(np.int64)
            # files saved before these held the plain running average (weight 1), which
            # was also the inference threshold, and no running mean of X (it restarts at
            # the next batch)
            state.threshold = _saved_running_threshold(ds, threshold)
            state.threshold_weight = check_probability(
                ds.attrs.get("batchtopk_threshold_weight", 1.0),
                "ds.attrs['batchtopk_threshold_weight']", open_interval=False)
            if "training_mean" in ds:
                # a copy: the model's running mean must not write into the caller's Dataset
                state.x_mean = np.array(check_array(values_by_dims(
                    ds, "training_mean", ("feature",)), "ds['training_mean']"), np.float64)
                state.x_count = check_int(ds.attrs.get("n_training_mean_samples"),
                                          "ds.attrs['n_training_mean_samples']", minimum=1)
            state.elapsed = float(history["wall_time"][-1]) if history.sizes["step"] else 0.0
        model._set_fitted(params, state, history, Objective(**fitted), threshold)
        # files from before these were saved load without them: default output, no names
        output = saved_transform_output(ds.attrs)
        if output is not None:
            model.set_output(transform=output)
        model._set_feature_names(ds["feature_name"].values.astype(object)
                                 if "feature_name" in ds.coords else None)
        return model

    def save(self, path, *, training_state=True):
        """Save the fitted model as netCDF (atomically, :func:`v1model.io.save_dataset`);
        returns the path.

        With ``training_state`` (default) the file also holds what
        :meth:`partial_fit` needs to continue exactly where this model is
        (the Adam moments, twice the size of the parameters); without it,
        the file is about a third of the size and the loaded model encodes but
        cannot continue training.

        Parameters
        ----------
        path : str or path-like
            Destination file (``.nc``; a ``.zarr`` path writes a zarr store).
        training_state : bool, default True
            Also save the state :meth:`partial_fit` needs to continue.

        Returns
        -------
        path : pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            For a ``path`` with another format's suffix (``.npy``, ``.pkl``, ...;
            :data:`v1model.io.OTHER_FORMAT_SUFFIXES`), as every ``save`` of the
            package, before anything is written.
        """
        from ..io import save_dataset

        return save_dataset(self.to_dataset(training_state), path)



def _saved_objective(ds, model) -> dict:
    """The settings a saved model encodes with (``Objective``'s fields, the
    dtype and the number of latents), from ``ds.attrs["fitted_objective"]``;
    files saved before it (or the number of latents) was recorded: the saved
    constructor parameters of ``model``, validated."""
    raw = ds.attrs.get("fitted_objective")
    if raw is None:
        n_features = ds.sizes.get("feature", 1)
        # a k or lam its activation ignores, kept in the parameters of files saved before
        # fit refused them, did not count then: validated without it (the model keeps it,
        # and its next fit says so)
        probe = copy.copy(model)
        for name, needs in (("k", _NEEDS_K), ("lam", _NEEDS_LAM), ("k_aux", _AUXK)):
            if probe.activation not in needs:
                setattr(probe, name, None)
        for name, (_, default, _) in _ACTIVATION_SETTINGS.items():
            if _given_unused(name, getattr(probe, name), probe.activation):
                setattr(probe, name, default)
        v = probe._validated(n_features)
        _resolve_scaled(v, _saved_scale(ds))
        return {**dataclasses.asdict(model._objective(v)), "dtype": v["dtype"].name,
                "n_latents": v["n_latents"]}
    try:
        saved = json.loads(raw)
        fitted = {"activation": str(saved["activation"]),
                  "k": None if saved["k"] is None else int(saved["k"]),
                  "lam": float(saved["lam"]), "bandwidth": float(saved["bandwidth"]),
                  "dtype": str(saved["dtype"]),
                  "n_latents": int(saved["n_latents"]) if "n_latents" in saved else None}
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"ds.attrs['fitted_objective'] is unreadable ({exc!r}): not a "
                         "complete saved SparseAutoencoder") from exc
    if fitted["n_latents"] is None:  # saved before it was recorded: the saved parameter
        fitted["n_latents"] = check_int(model.n_latents, "n_latents", minimum=1)
    return fitted


def _saved_running_threshold(ds, threshold) -> float:
    """The BatchTopK running estimate saved with the training state (``threshold``,
    the inference one, for a file from before): positive, or NaN with a NaN
    ``threshold`` (a stream that has not set it yet)."""
    given = ds.attrs.get("batchtopk_running_threshold", threshold)
    try:
        value = float(given)
    except (TypeError, ValueError):
        value = -1.0
    if not (0 < value < np.inf or (np.isnan(value) and np.isnan(threshold))):
        raise ValueError("ds.attrs['batchtopk_running_threshold'] must be a positive number "
                         f"(NaN only with a NaN batchtopk_threshold), got {given!r}")
    return value


def _saved_scale(ds) -> float:
    """The scale a saved model trained at: the one saved with its training
    state (provisional for a stream whose chunks had no spread yet), else its
    recorded spread of X, 1 when there is none (a file from before)."""
    scale = float(ds.attrs.get("adam_gradient_scale", np.nan))
    if scale > 0:
        return scale
    spread = float(ds.attrs.get(HISTORY_PREFIX + "x_spread", np.nan))
    return spread if spread > 0 else 1.0


def _saved_lr(ds, model) -> float:
    """The constant rate of a file saved without the history's ``lr`` (written
    before the schedule existed): the saved ``lr``, or for ``"auto"`` the rate
    recorded in ``attrs["training_lr"]``."""
    a = ds.attrs
    warmup, decay = a.get(HISTORY_PREFIX + "lr_warmup", 0), a.get(HISTORY_PREFIX + "lr_decay", 0)
    # a schedule varied the rate: one number would be a false record of it
    if warmup or decay:
        raise ValueError(f"ds lacks the history variable lr, which its schedule (lr_warmup="
                         f"{warmup}, lr_decay={decay}) varied: not a complete saved "
                         "SparseAutoencoder")
    rate = a.get(HISTORY_PREFIX + "lr") if model.lr == "auto" else model.lr
    try:
        return float(rate)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ds lacks the history variable lr, and its lr={model.lr!r} has no "
                         f"rate recorded in attrs['{HISTORY_PREFIX}lr'] (got {rate!r}): not a "
                         "complete saved SparseAutoencoder") from exc


#: latents (rows x n_latents) per block of ``encode`` and ``reconstruct``: 16 MB per
#: float32 temporary of the activations (argpartition's indices of ``topk``: 32 MB)
ENCODE_BLOCK_ELEMENTS = 2**22


class _RowBlocks:
    """The rows of a 2-D ``X`` in blocks of ``rows``, each converted to ``dtype``
    and checked (finite) when it is read; ``slices`` gives each block's rows."""

    def __init__(self, X, rows, dtype):
        self.X, self.rows, self.dtype = X, rows, dtype
        self.n_samples = X.shape[0]
        self.slices = [slice(start, min(start + rows, self.n_samples))
                       for start in range(0, self.n_samples, rows)]

    def __iter__(self):
        for s in self.slices:
            if s.start == 0 and s.stop == self.n_samples:
                name = "X"
            else:
                name = f"X[{s.start}:{s.stop}]"
            yield check_array(self.X[s], name, ndim=2, dtype=self.dtype)


def _labelled_like(values, given, given_dims, column, long_name):
    """``values`` (one row per sample of ``given``) as a DataArray when ``given`` is one:
    over (sample, ``column``), with ``given``'s sample labels (:func:`row_coords`),
    ``column`` numbered from 0 (as the saved model's ``latent`` and ``feature``), and
    ``long_name`` and ``units`` (``given``'s own, else "units of X": the decoder's rows
    have unit norm, so latents and reconstructions both carry X's units) in attrs;
    ``values`` itself otherwise. Returned bare, the codes of ``X.isel(sample=[3, 7])``
    were rows 0 and 1, their labels lost."""
    if not isinstance(given, xr.DataArray):
        return values
    coords = row_coords(given, len(values), given_dims)
    coords[column] = np.arange(values.shape[1])
    # row_coords keeps a stacked MultiIndex (X.stack(sample=("batch", "token"))) with its
    # levels, so that .unstack("sample") works on the latents
    return xr.DataArray(values, dims=("sample", column), coords=coords,
                        attrs={"long_name": long_name,
                               "units": given.attrs.get("units", "units of X")})


def _labelled_as_data(X_hat, X):
    """Reconstructions ``X_hat`` of a 2-D DataArray ``X`` as a DataArray with ``X``'s own
    dims and coordinates (rows by :func:`~v1model.validation.by_dim_names`'s reading):
    labelled (sample, feature) with features numbered 0, 1, ..., ``X - X_hat`` of an
    ``X`` with dims (dim_0, dim_1) or (sample, pixel) broadcast to 4-D or 3-D, and of
    features labelled 100 ... 115 aligned to nothing, unsaid. Otherwise as
    :func:`_labelled_like`; for one sample (a 1-D ``X`` over its features), over
    (sample, X's feature dim) with X's feature coordinates: numbered 0, 1, ..., ``X -
    X_hat`` of features labelled 100 ... 115 aligned to nothing too."""
    if isinstance(X, xr.DataArray) and X.ndim == 1 and X.dims[0] != DATA_DIMS[0]:
        own = X.dims[0]
        coords = row_coords(X, 1, DATA_DIMS)  # the sample's label (X.isel(sample=i))
        coords.update({name: coord.variable for name, coord in X.coords.items()
                       if coord.dims == (own,)})
        return xr.DataArray(X_hat, dims=(DATA_DIMS[0], own), coords=coords,
                            attrs={"long_name": RECONSTRUCTION_LONG_NAME,
                                   "units": X.attrs.get("units", "units of X")})
    if not (isinstance(X, xr.DataArray) and X.ndim == 2):
        return _labelled_like(X_hat, X, DATA_DIMS, "feature", RECONSTRUCTION_LONG_NAME)
    ordered = by_dim_names(X, DATA_DIMS, "X")
    return xr.DataArray(X_hat, dims=ordered.dims, coords=ordered.coords,
                        attrs={"long_name": RECONSTRUCTION_LONG_NAME,
                               "units": X.attrs.get("units", "units of X")})


def _same_seed(kept, seed) -> bool:
    """Whether the ``seed`` setting is still ``kept``, the one it was at the last fit: the
    same object, or an equal integer. By identity alone, an int seed came back from a
    pickle (joblib, dask, multiprocessing) as another object, and :meth:`to_dataset`
    saved the constructor's seed instead of the fit's, which trained another model (a
    Generator or SeedSequence stays one object: pickle restores a shared object once)."""
    if kept is seed:
        return True
    ints = (int, np.integer)
    return (isinstance(kept, ints) and isinstance(seed, ints) and not isinstance(kept, bool)
            and not isinstance(seed, bool) and int(kept) == int(seed))


def _csr_by_blocks(blocks, n_samples, max_per_row=None):
    """The ``scipy.sparse.csr_matrix`` of the dense 2-D ``blocks`` stacked, built in
    place.

    ``sp.vstack`` of one CSR matrix per block held the result twice at its peak (the
    blocks and their join); here ``data`` and ``indices`` grow by ``ndarray.resize``
    (a ``realloc``, which moves large buffers without a second copy) to the number of
    non-zeros the rows so far predict for all ``n_samples`` rows, and are cut to
    size at the end, so that the peak is about the result plus one block.

    Parameters
    ----------
    blocks : iterable of ndarray, shape (n_rows_i, n_cols)
        Consecutive blocks of rows, the ``n_rows_i`` summing to ``n_samples``.
    n_samples : int
        Total number of rows.
    max_per_row : int, optional
        At most this many non-zeros per row (``topk``, ``mp``: ``k``), which caps the
        arrays' growth; default: ``n_cols``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_samples, n_cols)
        Equal to ``sp.vstack([sp.csr_matrix(b) for b in blocks], format="csr")``,
        index dtype included (int32 while the non-zeros fit, as scipy's).
    """
    import scipy.sparse as sp

    idx = np.int32
    indptr = np.zeros(n_samples + 1, idx)
    data = indices = None
    nnz = rows_done = n_cols = 0
    for Z in blocks:
        n_cols = Z.shape[1]
        mask = Z != 0
        block_data = Z[mask]  # row-major: the order of csr_matrix(Z)
        block_cols = np.nonzero(mask)[1]
        if data is None:
            data, indices = np.empty(0, Z.dtype), np.empty(0, idx)
        end = nnz + block_data.size
        if idx is np.int32 and end > np.iinfo(np.int32).max:  # as scipy: int64 beyond
            idx = np.int64
            indptr, indices = indptr.astype(idx), indices.astype(idx)
        if end > data.size:
            # the rows so far predict the total: one reallocation for topk's k per row
            expected = int(end / (rows_done + Z.shape[0]) * n_samples * 1.01) + 1
            bound = Z.shape[1] if max_per_row is None else min(max_per_row, Z.shape[1])
            # the last block knows the total: no margin (nor one past the bound) to refuse
            capacity = (end if rows_done + Z.shape[0] == n_samples
                        else min(max(end, expected), n_samples * bound))
            # refused before the growth that would not fit, from the first block's density
            # on (dense codes, a ReLU early in training, outgrew memory partway through)
            _check_sparse_fits(n_samples, capacity / n_samples, Z.dtype,
                               f"samples' sparse latents ({end / (rows_done + Z.shape[0]):.4g} "
                               f"non-zeros each of {Z.shape[1]} latents over the first "
                               f"{rows_done + Z.shape[0]} rows, {Z.dtype.name} and their column "
                               "indices)")
            data.resize(capacity, refcheck=False)  # owned here, never shared yet
            indices.resize(capacity, refcheck=False)
        data[nnz:end] = block_data
        indices[nnz:end] = block_cols
        indptr[rows_done + 1:rows_done + Z.shape[0] + 1] = nnz + np.cumsum(mask.sum(axis=1))
        nnz, rows_done = end, rows_done + Z.shape[0]
        del Z, mask, block_data, block_cols  # not held while the next block is encoded
    data.resize(nnz, refcheck=False)
    indices.resize(nnz, refcheck=False)
    return sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_cols), copy=False)


def _check_sparse_fits(n_samples, per_row, dtype, what):
    """Refuse (ValueError naming ``len(X)``) a CSR result of ``n_samples`` rows of
    ``per_row`` non-zeros on average larger than the memory this process may use: the
    non-zeros of ``dtype``, their column indices and the row pointers (int32, or int64
    beyond 2**31 non-zeros, as scipy's); ``what`` describes the rows, as
    :func:`~v1model.validation.check_fits_in_memory` takes it."""
    index = np.int64 if n_samples * per_row > np.iinfo(np.int32).max else np.int32
    stored = np.dtype([("value", dtype), ("column", index)])  # one non-zero and its column
    check_fits_in_memory((n_samples, per_row), stored, "len(X)", n_samples, what,
                         plus=(n_samples + 1) * np.dtype(index).itemsize,
                         remedy=lambda fit: "encode a slice of the rows at a time")


def _warn_if_heavy_rows(X, mean):
    """Warn when the top 0.1% of the rows of ``X`` by squared norm about ``mean`` hold
    more than half of the total (at least 1,000 rows; see HEAVY_SHARE): the squared
    loss is then theirs, the other rows' atoms go unlearned, and the FVE still looks
    good. One more pass over ``X`` in blocks (an ``np.memmap`` is not loaded)."""
    n_samples, n_features = X.shape
    if n_samples < HEAVY_MIN_SAMPLES:
        return
    energy = np.empty(n_samples)
    rows = min(n_samples, max(1, _BLOCK_ELEMENTS // n_features))  # as the one pass's
    buffer = np.empty((rows, n_features))  # reused: no copy of X, nor a temporary per block
    for start in range(0, n_samples, rows):
        block = buffer[:min(rows, n_samples - start)]
        np.subtract(X[start:start + rows], mean, out=block)
        energy[start:start + len(block)] = np.einsum("ij,ij->i", block, block)
    total = float(energy.sum())
    n_top = int(np.ceil(HEAVY_TOP_FRACTION * n_samples))
    top = np.partition(energy, n_samples - n_top)[n_samples - n_top:]
    share = float(top.sum()) / total if total > 0 else 0.0
    if share <= HEAVY_SHARE:
        return
    warnings.warn(f"X: the top 0.1% of its {n_samples} rows by squared norm ({n_top} rows) "
                  f"hold {share:.0%} of its energy: training fits them and learns little "
                  "of the other rows, while "
                  "the FVE, weighted by energy, still looks good; clip or normalise the rows "
                  "(e.g. X / np.linalg.norm(X, axis=1, keepdims=True)) before fitting",
                  UserWarning, stacklevel=user_stacklevel())


def _warn_at_end_of_training(rows, v, params, spread):
    """The checks that end :meth:`SparseAutoencoder.fit` (and
    :meth:`~SparseAutoencoder.check_training`) on the history ``rows`` of the
    steps taken: :func:`_warn_if_silent`, then :func:`_warn_if_ungated_jumprelu` or,
    when that one did not warn, :func:`_warn_if_jumprelu_unsettled`."""
    _warn_if_silent(rows, v)
    if not _warn_if_ungated_jumprelu(rows, v, params, spread):
        _warn_if_jumprelu_unsettled(rows, v, params)


def _warn_if_silent(rows, v):
    """Warn when no latent fired in any step of the last quarter of ``fit``'s
    steps (at least one): every code is zero, so the decoder had no gradient
    and nothing was learned (e.g. a JumpReLU ``theta_init`` far above the
    pre-activations, or a ``lam`` that silenced every latent)."""
    column = list(HISTORY_FIELDS).index("l0")
    l0 = np.array([row[column] for row in rows])
    tail = l0[len(l0) - max(len(l0) // 4, 1):]
    if not np.all(tail == 0):
        return
    act = v["activation"]
    lower = {"relu": f"lower lam (now {v['lam']!r})",
             "jumprelu": f"lower lam (now {v['lam']!r}) or theta_init (now "
                         f"{v['theta_init']!r}, units of the pre-activations)"}.get(
        act, "check X and the settings")
    warnings.warn(f"activation={act!r}: no latent fired in the last {tail.size} of {len(l0)} "
                  "training steps (history_.l0 is 0): every code is zero and nothing was "
                  f"learned; {lower}", UserWarning, stacklevel=user_stacklevel())


#: a JumpReLU ``fit`` with ``lam > 0`` whose median threshold ended below this fraction of
#: the spread of X warns (:func:`_warn_if_ungated_jumprelu`)
UNGATED_THRESHOLD_FRACTION = 0.01


def _warn_if_ungated_jumprelu(rows, v, params, spread):
    """Warn when a JumpReLU ``fit`` with ``lam > 0`` ended with its median threshold below
    :data:`UNGATED_THRESHOLD_FRACTION` of the ``spread`` of X: such thresholds gate
    only pre-activations near 0, so most latents are ReLUs whatever ``lam`` (the median,
    not the largest: after 6,000 steps from "auto" one threshold crept past 1% while 47
    of 48 latents stayed active). The L0
    penalty moves a threshold only through the pre-activations within
    ``bandwidth / 2`` of it, so thresholds that start far below the pre-activations
    (``"auto"``: 1e-3 of the spread) barely move in a short run: on the planted
    problem of tests/sae (128 latents, 1,000 steps) ``lam`` 0.05 and 5 both kept 123
    of 128 latents active (thresholds 3.3e-4 -> at most 4.5e-4, spread 0.33), where
    ``theta_init=0.1, bandwidth=0.05`` kept 21."""
    if v["activation"] != "jumprelu" or not v["lam"]:
        return False
    theta = float(np.exp(np.median(params["log_theta"])))
    if not theta < UNGATED_THRESHOLD_FRACTION * spread:
        return False
    column = list(HISTORY_FIELDS).index("l0")
    tail = [row[column] for row in rows[len(rows) - max(len(rows) // 4, 1):]]
    # Adam moves a log-threshold by about lr per step at most: "train longer" said not
    # how much longer (from "auto", 0.1 times the spread is ln(100) / lr = 4,605 steps away)
    lr = v["lr"]
    steps = math.ceil(math.log(0.1 * spread / theta) / lr)
    warnings.warn(
        f"activation='jumprelu': the median threshold ended below "
        f"{UNGATED_THRESHOLD_FRACTION:g} times the spread of X ({spread:.3g}), at "
        f"{theta:.3g} from theta_init={v['theta_init']:.3g}: most gate only "
        f"pre-activations near 0, and lam={v['lam']!r} "
        f"had little effect ({np.mean(tail):.3g} of {v['n_latents']} latents active on "
        f"average over the last {len(tail)} steps, history_.l0); its L0 gradient moves a "
        f"threshold only through the pre-activations within bandwidth/2 "
        f"({v['bandwidth'] / 2:.3g}) of it. Start them nearer the pre-activations (e.g. "
        "theta_init and bandwidth 0.1 and 0.05 times the spread; 'auto' is 1e-3 of it, a "
        f"start for far longer runs) or train longer: Adam moves a log-threshold by at most "
        f"about lr={lr:.3g} per step, so reaching 0.1 times the spread from {theta:.3g} takes "
        f"at least {steps:,} more steps", UserWarning,
        stacklevel=user_stacklevel())
    return True


#: a JumpReLU ``fit`` whose median log-threshold moved by at least this fraction of the
#: most Adam can move it (the sum of the steps' ``lr``) warns
#: (:func:`_warn_if_jumprelu_unsettled`): measured on whitened 8x8 patches (128 latents,
#: ``theta_init`` and ``bandwidth`` 0.1 and 0.05 times the spread), 300 steps moved it by
#: 0.96 and 1.04 of that at lam 0.01 and 1 (same L0, 40 of 128, and FVU 0.092 at both),
#: 3,000 steps by 0.40 and 0.84 (L0 19.5 and 5.1): still moving at Adam's top speed, the
#: thresholds had not met lam's balance with the reconstruction
UNSETTLED_THRESHOLD_FRACTION = 0.9


def _warn_if_jumprelu_unsettled(rows, v, params):
    """Warn when a JumpReLU ``fit`` with ``lam > 0`` moved its median log-threshold by
    at least :data:`UNSETTLED_THRESHOLD_FRACTION` of the sum of its steps' learning
    rates, about the most Adam can move it: the thresholds were still rising (or
    falling) at full speed when training stopped, so the model is where the run's length
    left it, not where ``lam`` puts it (on whitened patches, 300 steps from theta_init =
    0.1 times the spread gave the same 40 of 128 active latents at lam 0.01 and 1, with
    no warning: the thresholds were above 1% of the spread)."""
    if v["activation"] != "jumprelu" or not v["lam"]:
        return
    start = math.log(v["theta_init"])
    moved = float(np.median(params["log_theta"])) - start
    most = float(sum(row[list(HISTORY_FIELDS).index("lr")] for row in rows))
    if not abs(moved) >= UNSETTLED_THRESHOLD_FRACTION * most:
        return
    column = list(HISTORY_FIELDS).index("l0")
    tail = [row[column] for row in rows[len(rows) - max(len(rows) // 4, 1):]]
    warnings.warn(
        f"activation='jumprelu': the median threshold {'rose' if moved > 0 else 'fell'} "
        f"from theta_init={v['theta_init']:.3g} to {math.exp(start + moved):.3g} "
        f"in {len(rows)} steps, {abs(moved) / most:.2f} of the most Adam moves a "
        f"log-threshold (lr per step, {most:.3g} in all): the thresholds were still moving "
        f"at full speed, so lam={v['lam']!r} has not yet set the sparsity ({np.mean(tail):.3g} "
        f"of {v['n_latents']} latents active on average over the last {len(tail)} steps, "
        "history_.l0, may be the same at another lam). Train for more steps (n_steps), or "
        "start theta_init nearer where lam puts the thresholds", UserWarning,
        stacklevel=user_stacklevel())


def _check_sparse_latents(Z, given):
    """Refuse complex or non-finite stored values of the CSR latents ``Z`` (``given``
    as passed, maybe 1-D) with the message a dense ``Z`` gets: the errors of
    ``check_array(Z.data)`` described ``Z.data`` (a 1-D array) and placed a NaN by
    its rank among the stored values instead of by its (row, column) in ``Z``."""
    if Z.dtype.kind == "c":
        raise complex_data_error("Z", f"sparse {type(given).__name__} of shape "
                                 f"{given.shape} and dtype {given.dtype}")
    if Z.dtype.kind != "f" or np.isfinite(Z.data).all():
        return
    bad = np.flatnonzero(~np.isfinite(Z.data))
    rows = np.repeat(np.arange(Z.shape[0]), np.diff(Z.indptr))[bad]
    cols = Z.indices[bad]
    first = np.lexsort((cols, rows))[0]  # row-major, as for a dense Z (indices may be unsorted)
    place = ((int(rows[first]), int(cols[first])) if given.ndim == 2
             else int(cols[first]))
    raise ValueError(f"Z contains {bad.size} non-finite value(s) (NaN or inf), the first at "
                     f"index {place} ({float(Z.data[bad[first]])})")


def _guarded(compute, name, what, values):
    """``compute()``, or one ValueError where it overflowed the dtype.

    ``compute`` gives ``what`` ("the latents" or "the reconstructions") of the
    finite ``values`` of the argument ``name`` (a block of its rows, or the
    non-zeros of a sparse ``Z``). NumPy's overflow and invalid-value flags are
    recorded (errstate ``"call"``) instead of warned about, so that the user
    gets this one message, naming the largest ``|values|``, and no
    RuntimeWarning before it. A flag is enough: an ``inf - inf`` in a
    pre-activation is NaN, which the activations turn into a zero latent
    without a trace; the result is checked too (scipy's sparse products
    raise no flag).

    Parameters
    ----------
    compute : callable
        Returns the result, an ndarray.
    name : str
        The argument's name ("X" or "Z").
    what : str
        What ``compute`` gives, for the message.
    values : ndarray
        The values of ``name`` it was computed from.

    Returns
    -------
    out : ndarray
        ``compute()``, finite.
    """
    flags = []
    with np.errstate(over="call", invalid="call", call=lambda kind, flag: flags.append(kind)):
        out = compute()
    if flags or not np.all(np.isfinite(out)):
        top = float(np.max(np.abs(values))) if np.size(values) else 0.0
        raise ValueError(f"{name}: {what} overflow {out.dtype} ({name} has values up to "
                         f"{top:.3g}, largest {out.dtype} {float(np.finfo(out.dtype).max):.3g})"
                         f"; rescale {name}"
                         + (" or fit with dtype='float64'" if out.dtype == np.float32 else ""))
    return out


#: lr="auto": the Adam step of the weights (Gao et al. 2024 use lr of this order)
AUTO_LR = 1e-3


def _check_step_memory(v, n_features, dtype, n_rows=None):
    """Refuse settings (``v``, validated) whose training steps would not fit in memory,
    before the model is made or touched (:func:`~v1model.sae.training.check_training_memory`):
    only the weights and Adam moments were checked, and a step of 32,768 latents in
    batches of 4,096 (5.4 GB, of which they are 0.6 GB) was left to the out-of-memory
    killer. ``n_rows``: the rows of a ``partial_fit`` chunk, whose steps hold at most
    that many (a chunk shorter than ``batch_size`` is one step of its rows: a batch_size
    too large for memory refused a small chunk that trains within it)."""
    auxk = v["activation"] in ("topk", "batchtopk") and v["aux_coef"] > 0
    step, name, remedy = v["batch_size"], "batch_size", None
    if n_rows is not None and n_rows < step:
        step, name = n_rows, "len(X)"

        # the chunk's size alone said nothing of what else mends it: a chunk of at least
        # batch_size rows is trained in steps of batch_size
        def remedy(fit):
            return (f"split X into chunks of at most {fit} rows, or lower "
                    f"batch_size={v['batch_size']!r} to at most {fit} (a chunk is trained "
                    "in steps of batch_size rows)")
    check_training_memory(step, v["n_latents"], n_features, v["activation"], dtype,
                          k=v["k"] or 1, auxk=auxk, name=name, remedy=remedy)


def _learning_rate(lr) -> float:
    """The peak Adam step of the weights (no units): a given ``lr`` (validated
    by :meth:`SparseAutoencoder._validated`) or ``AUTO_LR`` for ``"auto"``."""
    return AUTO_LR if lr == "auto" else lr


#: bandwidth and theta_init "auto": this fraction of the spread of X
AUTO_JUMP_FRACTION = 1e-3


def _resolve_scaled(v, scale) -> None:
    """Settle the JumpReLU settings given as ``"auto"`` in the validated settings
    ``v`` (in place): ``AUTO_JUMP_FRACTION`` times the ``scale`` of X."""
    for name in ("bandwidth", "theta_init"):
        if v[name] == "auto":
            v[name] = AUTO_JUMP_FRACTION * scale


def _data_scale(spread, stats=None) -> float:
    """The scale training runs at (:class:`~v1model.sae.training.TrainingState`):
    the ``spread`` of X (root mean square of ``X - mean(X)``); when it is
    unknown (NaN: a first chunk of one sample or of identical samples), the
    root mean square of the values (their mean, ``stats`` of
    :func:`~v1model.learning._data.check_training_rows`), provisional until a
    chunk with a spread comes; 1 for zeros (no scale at all)."""
    if not np.isnan(spread):
        return float(spread)
    magnitude = 0.0 if stats is None else float(np.sqrt(np.mean(np.square(stats.mean))))
    return magnitude if magnitude > 0 else 1.0


def _model_spread(stats, dtype) -> float:
    """The spread of X (``stats`` of :func:`~v1model.learning._data.check_training_rows`)
    as a model of ``dtype`` sees it: NaN when its samples are all alike once converted
    to ``dtype`` (one sample, identical samples, or differences below the resolution of
    ``dtype``: every feature's smallest and largest value round to the same number),
    where the spread measured in float64 is 0, a rounding error of the mean, or
    invisible to the training."""
    if np.array_equal(stats.low.astype(dtype), stats.high.astype(dtype)):
        return float("nan")
    return float(stats.spread)


def _refuse_alike(stats, dtype):
    """The ValueError of ``fit`` for samples all alike in the model's ``dtype``."""
    if np.array_equal(stats.low, stats.high):
        raise ValueError("X: every sample is the same (no spread around the mean); there is "
                         "nothing to learn")
    raise ValueError(f"X: its samples differ by less than the resolution of {dtype.name} "
                     f"(spread {stats.spread:.3g} around values up to {stats.max_abs:.3g}): "
                     f"converted to {dtype.name}, every sample is the same and there is "
                     "nothing to learn; use dtype='float64' or centre X "
                     "(X - X.mean(axis=0))")


#: the settings that take effect in each partial_fit call, recorded per call where they
#: differ (n_latents, activation and dtype are fixed by the first; theta_init only starts
#: it; progress changes no number)
_PER_CALL = ("k", "lam", "k_aux", "aux_coef", "dead_after", "bandwidth", "threshold_rate",
             "n_steps", "batch_size", "lr", "lr_warmup", "lr_decay")
