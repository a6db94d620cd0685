"""The LISTA network as plain NumPy: ISTA's weights, the forward pass through
the unrolled layers and its hand-written backpropagation.

Row convention (``X`` is (n_samples, n_features), codes are (n_samples,
n_atoms)); with ``h`` the soft threshold at ``theta`` (one per atom),

    B   = X W_e^T
    Z_1 = h(B)
    Z_t = h(B + Z_{t-1} S^T),   t = 2 .. n_layers

``W_e`` is (n_atoms, n_features), ``S`` is (n_atoms, n_atoms) and ``theta``
is (n_atoms,), shared by all layers (Gregor & LeCun 2010). With ISTA's
weights (:func:`ista_weights`) ``Z_t`` is exactly the ``t``-th ISTA iterate
started from zero codes, so ``n_layers`` thresholding layers are
``n_layers`` ISTA iterations (and ``n_layers - 1`` products with ``S``: the
paper's ``T``).

The two training losses are functions of the last layer's codes only:
:func:`code_loss` (Gregor & LeCun's supervised loss against target codes) and
:func:`lasso_loss` (the LASSO objective itself, needing no targets).
:class:`FullLayers` bundles these weights for :class:`~v1model.amortized.LISTA`'s
training loop; :mod:`._slista` has the step-size parametrisation with the same
interface.
"""

from __future__ import annotations

import numpy as np

from ..inference._common import STEP_MARGIN, apply_threshold, spectral_norm_gram

__all__ = ["ista_weights", "lista_forward", "lista_gradients", "code_loss", "lasso_loss",
           "FullLayers"]


def ista_weights(D, lam, dtype=np.float64):
    """LISTA's weights that make it ISTA: ``W_e = D / L``, ``S = I - D D^T / L``,
    ``theta = lam / L`` for every atom.

    ``L`` is the step rule of :func:`v1model.inference.fista` with
    ``step="constant"``: ``lambda_max(D D^T)`` times
    :data:`~v1model.inference._common.STEP_MARGIN`, so that an untrained
    network reproduces the project's ISTA to rounding.

    Returns
    -------
    W_e : ndarray, shape (n_atoms, n_features)
    S : ndarray, shape (n_atoms, n_atoms)
    theta : ndarray, shape (n_atoms,)
    """
    D64 = np.asarray(D, dtype=np.float64)
    L = spectral_norm_gram(D64) * STEP_MARGIN
    k = D64.shape[0]
    W_e = D64 / L
    # I - G / L in place (the same values: 0 - x = -x and 1 - x = -x + 1 exactly): eye(k)
    # and G / L beside G held three float64 Grams
    S = D64 @ D64.T
    S /= -L
    S[np.diag_indices(k)] += 1.0
    theta = np.full(k, lam / L)
    return W_e.astype(dtype), S.astype(dtype), theta.astype(dtype)


def lista_forward(X, W_e, S, theta, n_layers, keep_inputs=False):
    """Codes after ``n_layers`` layers; with ``keep_inputs`` also the list of
    every layer's input ``C_t`` (before the threshold), which
    :func:`lista_gradients` needs."""
    B = X @ W_e.T
    C = B
    Z = apply_threshold(C, theta, "soft")
    inputs = [C]
    for _ in range(1, n_layers):
        C = Z @ S.T
        C += B
        Z = apply_threshold(C, theta, "soft")
        if keep_inputs:
            inputs.append(C)
    return (Z, inputs) if keep_inputs else Z


def code_loss(Z, target):
    """``0.5 * mean_i ||z_i - z*_i||^2`` (float) and its gradient in ``Z``."""
    R = Z - target
    n = Z.shape[0]
    return 0.5 * float(np.einsum("ij,ij->", R, R, dtype=np.float64)) / n, R / Z.dtype.type(n)


def lasso_loss(Z, X, D, lam, grad=True):
    """``mean_i 0.5 ||x_i - z_i D||^2 + lam ||z_i||_1`` (float) and its gradient
    in ``Z`` (None unless ``grad``).

    The gradient ``((Z D - X) D^T + lam sign(Z)) / n_samples`` takes the L1
    term's derivative at ``z = 0`` as 0: the codes are soft-threshold outputs,
    and a zero code's input lies inside the threshold, where backpropagation
    stops any gradient anyway.
    """
    R = Z @ D
    R -= X
    n = Z.shape[0]
    value = (0.5 * float(np.einsum("ij,ij->", R, R, dtype=np.float64))
             + lam * float(np.abs(Z).sum(dtype=np.float64))) / n
    if not grad:
        return value, None
    G = R @ D.T
    G += Z.dtype.type(lam) * np.sign(Z)
    G /= Z.dtype.type(n)
    return value, G


def lista_gradients(X, S, theta, inputs, grad_Z):
    """Backpropagate ``grad_Z`` (dLoss/dZ of the last layer) through the layers.

    ``inputs`` are the layer inputs from ``lista_forward(..., keep_inputs=True)``.
    The soft threshold ``h(c) = sign(c) max(|c| - theta, 0)`` has
    ``dh/dc = [|c| > theta]`` and ``dh/dtheta = -sign(c) [|c| > theta]``
    (its kinks, a set of measure zero, get the one-sided value 0).

    Returns
    -------
    grad_W_e, grad_S, grad_theta : ndarrays shaped like ``W_e``, ``S``, ``theta``
    """
    grad_B = np.zeros_like(inputs[0])
    grad_S = np.zeros_like(S)
    grad_theta = np.zeros_like(theta)
    grad = grad_Z
    for t in range(len(inputs) - 1, -1, -1):
        C = inputs[t]
        grad_C = np.where(np.abs(C) > theta, grad, 0).astype(C.dtype, copy=False)
        grad_theta -= np.einsum("ij,ij->j", grad_C, np.sign(C))
        grad_B += grad_C
        if t > 0:
            # C_t = B + Z_{t-1} S^T
            grad_S += grad_C.T @ apply_threshold(inputs[t - 1], theta, "soft")
            grad = grad_C @ S
    return grad_B.T @ X, grad_S, grad_theta


class FullLayers:
    """Gregor & LeCun's parametrisation for the training loop: the weights as a
    dict (``W_e``, ``S``, ``theta``), the forward pass and the gradients."""

    def __init__(self, D, lam, n_layers):
        self.D, self.lam, self.n_layers = D, lam, n_layers

    def initial(self, dtype):
        """ISTA's weights (:func:`ista_weights`)."""
        return dict(zip(("W_e", "S", "theta"), ista_weights(self.D, self.lam, dtype)))

    def forward(self, X, w, keep=False):
        return lista_forward(X, w["W_e"], w["S"], w["theta"], self.n_layers, keep_inputs=keep)

    def gradients(self, X, w, cache, grad_Z):
        return dict(zip(("W_e", "S", "theta"),
                        lista_gradients(X, w["S"], w["theta"], cache, grad_Z)))
