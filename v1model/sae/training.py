"""Minibatch Adam training of a sparse autoencoder, with the decoder rows kept
unit-norm, dead latents tracked (and revived by AuxK for the TopK
activations) and one row of statistics per step."""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from ..io import clean_attrs
from ..learning._data import Minibatches
from ..adam import Adam
from .decoder import project_rows, remove_parallel_gradient
from .objective import auxk_loss, encoder_gradients, loss_and_gradients

__all__ = ["initial_parameters", "train", "HISTORY_FIELDS"]

#: history variable -> (long_name, units); one value per training step
HISTORY_FIELDS = {
    "loss": ("training loss of the minibatch: mse + sparsity term (+ aux_coef * aux_loss)",
             "(units of X)^2"),
    "mse": ("mean over samples of the squared reconstruction error ||x - x_hat||^2",
            "(units of X)^2"),
    "fvu": ("fraction of variance unexplained: sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 "
            "over the minibatch", "1"),
    "l0": ("mean number of non-zero latents per sample", "1"),
    "n_dead": ("latents that fired on none of the last dead_after training samples", "1"),
    "aux_loss": ("AuxK loss (Gao et al. 2024; 0 when no latent is dead or AuxK is off)",
                 "(units of X)^2"),
    "threshold": ("BatchTopK inference threshold, running average of the smallest kept "
                  "activation (NaN for other activations)", "units of pre-activations"),
    "wall_time": ("cumulative training time", "s"),
}


def initial_parameters(X, n_latents, activation, theta_init, rng, dtype):
    """Starting point of training (as in Gao et al. 2024).

    Decoder: Gaussian rows, unit norm; encoder: the decoder itself (tied at
    initialisation); ``b_enc = 0``; ``b_dec`` = mean of ``X``; JumpReLU
    thresholds ``theta_init``.
    """
    n_features = X.shape[1]
    D = rng.standard_normal((n_latents, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    params = {"decoder": D, "b_dec": X.mean(axis=0, dtype=np.float64)}
    if activation != "mp":
        params["encoder"] = D.copy()
        params["b_enc"] = np.zeros(n_latents)
    if activation == "jumprelu":
        params["log_theta"] = np.full(n_latents, np.log(theta_init))
    return {name: np.ascontiguousarray(p, dtype=dtype) for name, p in params.items()}


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


def train(params, X, objective, *, n_steps, batch_size, lr, k_aux, aux_coef, dead_after,
          threshold_rate, rng, progress=False, attrs=None):
    """Train ``params`` (in place) on ``X`` by minibatch Adam.

    Each step: a minibatch (a fresh permutation every epoch), the loss and
    its gradient (:func:`v1model.sae.objective.loss_and_gradients`), the
    AuxK term for ``topk``/``batchtopk`` when some latents are dead and
    ``aux_coef > 0``, removal of the decoder gradient's component parallel to
    each row, an Adam step, and projection of the decoder rows back to unit
    norm.

    Returns
    -------
    threshold : float
        The BatchTopK inference threshold (NaN for the other activations).
    history : xarray.Dataset
        Over ``step``: the variables of :data:`HISTORY_FIELDS`, ``attrs``
        as its attributes.
    """
    from tqdm.auto import tqdm

    act = objective.activation
    n = X.shape[0]
    batches = Minibatches(n, batch_size, True, rng)
    adam = Adam(params, lr=lr)
    tracker = _Tracker(params["decoder"].shape[0], dead_after)
    rows = np.full((n_steps, len(HISTORY_FIELDS)), np.nan)
    threshold = float("nan")
    elapsed = 0.0
    bar = tqdm(range(n_steps), desc=f"sae ({act})", disable=not progress, leave=False)
    for step in bar:
        start = time.perf_counter()
        batch = X[batches.next()]
        loss, grads, cache = loss_and_gradients(params, batch, objective)
        dead = tracker.dead()
        aux = 0.0
        if act in ("topk", "batchtopk") and aux_coef > 0 and dead.any():
            aux, dpre, ddec = auxk_loss(cache["pre"], params["decoder"], cache["residual"],
                                        dead, k_aux)
            grads["decoder"] += aux_coef * ddec
            for name, g in encoder_gradients(aux_coef * dpre, batch, params).items():
                grads[name] += g
            loss += aux_coef * aux
        if not np.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {step}: loss {loss}; lower lr "
                                     f"(now {lr}) or rescale X")
        remove_parallel_gradient(grads["decoder"], params["decoder"])
        previous = params["decoder"].copy()
        adam.step(params, grads)
        project_rows(params["decoder"], previous)
        tracker.update(cache["z"])
        smallest = cache["smallest"]
        if smallest is not None and np.isfinite(smallest):
            threshold = (smallest if not np.isfinite(threshold)
                         else (1 - threshold_rate) * threshold + threshold_rate * smallest)
        elapsed += time.perf_counter() - start
        centred = batch - batch.mean(axis=0)
        total = float(np.einsum("ij,ij->", centred, centred, dtype=np.float64))
        l0 = np.count_nonzero(cache["z"]) / batch.shape[0]
        rows[step] = [loss, cache["mse"], cache["mse"] * batch.shape[0] / max(total, 1e-300),
                      l0, int(dead.sum()), aux, threshold, elapsed]
        if step % 50 == 0 or step == n_steps - 1:
            bar.set_postfix(mse=f"{cache['mse']:.4g}", l0=f"{l0:.3g}", dead=int(dead.sum()),
                            refresh=False)
    return threshold, history_dataset(rows, attrs or {})


def history_dataset(rows, attrs) -> xr.Dataset:
    """The history rows (n_steps, len(HISTORY_FIELDS)) as a Dataset over ``step``."""
    data = {}
    for j, (name, (long_name, units)) in enumerate(HISTORY_FIELDS.items()):
        col = rows[:, j].astype(np.int64) if name == "n_dead" else rows[:, j]
        data[name] = ("step", col, {"long_name": long_name, "units": units})
    ds = xr.Dataset(data, coords={"step": np.arange(len(rows))})
    ds.attrs.update(clean_attrs(attrs))
    return ds
