"""Step-LISTA (Ablin et al. 2019): ISTA with a learned step size per layer.

Each layer keeps ISTA's structure with the true dictionary ``D`` and learns
only its step ``alpha_t`` (its threshold is ``alpha_t * lam``); with
``G = D D^T`` and ``B = X D^T``,

    Z_0 = 0
    C_t = Z_{t-1} + alpha_t (B - Z_{t-1} G)        (a gradient step on 0.5 ||x - z D||^2)
    Z_t = h(C_t, alpha_t lam),                      t = 1 .. n_layers

with ``h`` the soft threshold. With every ``alpha_t = 1 / L``
(:func:`ista_steps`) ``Z_t`` is the ``t``-th iterate of the project's ISTA.
Ablin et al. show that trained on the LASSO objective the steps grow beyond
``1 / L`` (towards ``1 / L_S``, the Lipschitz constant of the data term
restricted to the support ``S``), while each layer stays an ISTA step: the
network is still a convergent method.

Reference: Ablin, P., Moreau, T., Massias, M. & Gramfort, A. (2019).
Learning step sizes for unfolded sparse coding. NeurIPS 32, 13100-13110.
"""

from __future__ import annotations

import numpy as np

from ..inference._common import STEP_MARGIN, apply_threshold, spectral_norm_gram

__all__ = ["ista_steps", "slista_forward", "slista_gradients", "StepLayers"]


def ista_steps(D, n_layers, dtype=np.float64):
    """``n_layers`` copies of ISTA's constant step ``1 / L``, ``L`` as in
    :func:`._unrolled.ista_weights` (``lambda_max(D D^T)`` times
    :data:`~v1model.inference._common.STEP_MARGIN`)."""
    L = spectral_norm_gram(D) * STEP_MARGIN
    return np.full(n_layers, 1.0 / L).astype(dtype)


def slista_forward(X, D, G, steps, thresholds, keep=False):
    """Codes after ``len(steps)`` layers; with ``keep`` also the list of
    ``(C_t, R_t)`` per layer (the threshold's input and ``R_t = B - Z_{t-1} G``),
    which :func:`slista_gradients` needs.

    ``thresholds`` is ``steps * lam`` (one per layer), passed in so that a
    fitted network does not depend on a ``lam`` changed later.
    """
    B = X @ D.T
    C = steps[0] * B  # Z_0 = 0: R_1 = B
    Z = apply_threshold(C, thresholds[0], "soft")
    cache = [(C, B)]
    for t in range(1, len(steps)):
        R = Z @ G
        np.subtract(B, R, out=R)
        C = steps[t] * R
        C += Z
        Z = apply_threshold(C, thresholds[t], "soft")
        if keep:
            cache.append((C, R))
    return (Z, cache) if keep else Z


def slista_gradients(G, steps, thresholds, lam, cache, grad_Z):
    """Backpropagate ``grad_Z`` (dLoss/dZ of the last layer) to the steps.

    Through layer ``t``: ``dh/dC = [|C| > theta_t]`` and
    ``dh/dtheta_t = -sign(C) [|C| > theta_t]`` with ``theta_t = alpha_t lam``;
    ``dC_t/dalpha_t = R_t`` and ``dC_t/dZ_{t-1} = I - alpha_t G`` (``G``
    symmetric).

    Returns
    -------
    ndarray, shape (n_layers,)
        dLoss/dalpha_t.
    """
    grad_steps = np.zeros_like(steps)
    grad = grad_Z
    for t in range(len(cache) - 1, -1, -1):
        C, R = cache[t]
        grad_C = np.where(np.abs(C) > thresholds[t], grad, 0).astype(C.dtype, copy=False)
        grad_steps[t] = (np.einsum("ij,ij->", grad_C, R)
                         - lam * np.einsum("ij,ij->", grad_C, np.sign(C)))
        if t > 0:
            grad = grad_C @ G
            grad *= -steps[t]
            grad += grad_C
    return grad_steps


class StepLayers:
    """The step parametrisation for :class:`~v1model.amortized.LISTA`'s training
    loop: the weights as a dict (``step``), the forward pass and the gradients."""

    def __init__(self, D, lam, n_layers):
        self.D, self.lam, self.n_layers = D, lam, n_layers
        self.G = D @ D.T
        self.lam_d = D.dtype.type(lam)

    def initial(self, dtype):
        """ISTA's steps (:func:`ista_steps`)."""
        return {"step": ista_steps(self.D, self.n_layers, dtype)}

    def forward(self, X, w, keep=False):
        return slista_forward(X, self.D, self.G, w["step"], w["step"] * self.lam_d, keep)

    def gradients(self, X, w, cache, grad_Z):
        steps = w["step"]
        return {"step": slista_gradients(self.G, steps, steps * self.lam_d, self.lam_d, cache,
                                         grad_Z)}
