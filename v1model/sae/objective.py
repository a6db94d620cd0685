"""The training objective of a sparse autoencoder and its gradient.

The model, for a batch ``X`` (n_samples, n_features) and ``n_latents`` latents::

    pre   = (X - b_dec) W_enc^T + b_enc            (n_samples, n_latents)
    z     = f(pre)                                  (n_samples, n_latents)
    X_hat = z D + b_dec                             (n_samples, n_features)

with ``W_enc`` and the decoder ``D`` both of shape (n_latents, n_features).
Every activation subtracts ``b_dec`` before encoding (the pre-encoder bias
of Bricken et al. 2023 and Gao et al. 2024), JumpReLU included, although
Rajamanoharan et al. (2024) encode ``x`` itself, ``pre = x W_enc^T +
b_enc``: the two are the same family of models (``b_enc`` absorbs
``-b_dec W_enc^T``), trained along different paths (here ``b_dec`` also
gets a gradient through the encoder).
The objective is the mean over samples of the squared reconstruction error
plus the activation's sparsity term::

    L = (1/n) sum_i ||x_i - x_hat_i||^2 + (1/n) sum_i S(z_i)

- ``relu``: ``S(z) = lam * sum_j |z_j|`` (Anthropic, Bricken et al. 2023);
  with the decoder rows held at unit norm this is also the decoder-norm
  weighted ``lam * sum_j |z_j| ||d_j||`` of Anthropic's 2024 update, whose
  extra decoder gradient is parallel to each row and removed before the step
  (the update trains that form with free row norms instead);
- ``topk``, ``batchtopk``: ``S = 0``, sparsity by construction (Gao et al.
  2024; Bussmann et al. 2024), plus the optional AuxK term
  (:func:`auxk_loss`) added by the trainer;
- ``jumprelu``: ``S(z) = lam * ||z||_0`` (Rajamanoharan et al. 2024), whose
  gradient is defined by straight-through pseudo-derivatives, see
  :func:`loss_and_gradients`;
- ``mp``: ``z`` = ``k`` steps of non-negative matching pursuit of
  ``x - b_dec`` in ``D`` (Costa et al. 2025), ``S = 0``; the gradient runs
  through the pursuit steps with the selected atoms held fixed, as automatic
  differentiation does in the paper (:mod:`v1model.sae.pursuit`).

All functions are plain NumPy on trusted inputs in one dtype (float32 or
float64); :class:`v1model.sae.SparseAutoencoder` validates at its boundary.
Large models with few non-zero latents take SciPy's sparse products with the
decoder instead of dense ones (:data:`LARGE_PRODUCT_FLOPS`), which change only
the rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..validation import check_choice, check_int, check_nonnegative, check_positive
from .activations import _batch_topk, _jumprelu, _relu, _topk, rectangle
from .pursuit import pursuit_backward, pursuit_forward, pursuit_gram

__all__ = ["ACTIVATIONS", "Objective", "pre_activations", "encode", "loss_and_gradients",
           "auxk_loss", "auxk_dead", "encoder_gradients", "parameter_names",
           "LARGE_PRODUCT_FLOPS", "ACTIVE_FRACTION", "is_large_product",
           "use_active_products", "decode_latents"]

ACTIVATIONS = ("relu", "topk", "batchtopk", "jumprelu", "mp")

#: Floating-point operations of a product of the minibatch with the encoder
#: (``2 n_samples n_latents n_features``) from which the products with the decoder
#: use only the non-zero latents when they are few (:data:`ACTIVE_FRACTION`):
#: training's decoder output and gradients (:func:`loss_and_gradients`; JumpReLU
#: counts the latents within the kernel's reach of their threshold too), ``decode``
#: and ``reconstruct``; and from which
#: AuxK's gradients are computed in the dead rows only
#: (:func:`~v1model.sae.training.train_step`). At 8,192 latents on 768 features
#: and batches of 256 (3.2e9) that leaves one dense product per TopK step, the
#: encoder's, of five. Below, the dense formulas: they differ from the sparse ones
#: only in rounding (sums in another order), and the small models of the studies
#: and the README keep their numbers bit for bit.
LARGE_PRODUCT_FLOPS = 4e8

#: Largest fraction of non-zero latents (of all ``n_samples * n_latents``) for which
#: the products over the non-zeros are used: with more, dense BLAS is faster.
ACTIVE_FRACTION = 1 / 16


@dataclass(frozen=True)
class Objective:
    """The settings the objective depends on.

    Parameters
    ----------
    activation : str
        One of :data:`ACTIVATIONS`.
    k : int or None
        Active latents per sample (``topk``, ``mp``) or on average
        (``batchtopk``).
    lam : float, default 0.0
        Sparsity coefficient: L1 (``relu``) or L0 (``jumprelu``), units of
        ``X**2`` per unit of ``z`` (L1) or per active latent (L0).
    bandwidth : float, default 0.001
        ``epsilon`` of the JumpReLU pseudo-derivatives (units of ``pre``).

    Raises
    ------
    ValueError
        For an unknown ``activation``, a ``k`` below 1 (or None where the
        activation needs one), a negative ``lam`` or a non-positive
        ``bandwidth``.
    TypeError
        For a ``k``, ``lam`` or ``bandwidth`` that is not a number.
    """

    activation: str
    k: int | None = None
    lam: float = 0.0
    bandwidth: float = 1e-3

    def __post_init__(self):
        check_choice(self.activation, "activation", ACTIVATIONS)
        if self.k is None and self.activation in ("topk", "batchtopk", "mp"):
            raise ValueError(f"activation={self.activation!r} needs k, got k=None")
        # frozen: the checked values are stored through object.__setattr__
        if self.k is not None:
            object.__setattr__(self, "k", check_int(self.k, "k", minimum=1))
        object.__setattr__(self, "lam", check_nonnegative(self.lam, "lam"))
        object.__setattr__(self, "bandwidth", check_positive(self.bandwidth, "bandwidth"))


def parameter_names(activation) -> tuple[str, ...]:
    """Names of the trained arrays of an autoencoder with ``activation``.

    Parameters
    ----------
    activation : str
        One of the activations of :class:`v1model.sae.SparseAutoencoder`.

    Returns
    -------
    tuple of str
        Keys of its parameter dict (e.g. ``("decoder", "b_dec")`` for ``"mp"``).
    """
    if activation == "mp":
        return ("decoder", "b_dec")
    names = ("encoder", "b_enc", "decoder", "b_dec")
    return names + ("log_theta",) if activation == "jumprelu" else names


def pre_activations(params, X):
    """``(X - b_dec) W_enc^T + b_enc`` (n_samples, n_latents).

    Parameters
    ----------
    params : dict of ndarray
        With ``encoder`` (n_latents, n_features), ``b_enc`` (n_latents,) and
        ``b_dec`` (n_features,).
    X : ndarray, shape (n_samples, n_features)

    Returns
    -------
    pre : ndarray, shape (n_samples, n_latents)
    """
    return (X - params["b_dec"]) @ params["encoder"].T + params["b_enc"]


def mp_codes(params, X, k, gram=None):
    """``k`` steps of non-negative matching pursuit of ``X - b_dec`` in the decoder
    (with its Gram matrix ``gram``, if given: :func:`~v1model.sae.pursuit.pursuit_gram`)."""
    return pursuit_forward(X - params["b_dec"], params["decoder"], k, keep_trace=False,
                           gram=gram)[0]


def encode(params, X, objective, threshold=None, gram=None):
    """Latents of ``X`` at inference, one sample independent of the others.

    BatchTopK is the only activation that differs from training: each sample
    keeps the pre-activations above the single ``threshold`` learned during
    training (Bussmann et al. 2024).

    Parameters
    ----------
    params : dict of ndarray
        The model's arrays, as in :func:`loss_and_gradients`.
    X : ndarray, shape (n_samples, n_features)
    objective : Objective
    threshold : float, optional
        BatchTopK's inference threshold (units of the pre-activations);
        unused by the other activations.
    gram : ndarray, shape (n_latents, n_latents), optional
        ``mp``: the decoder's Gram matrix (:func:`~v1model.sae.pursuit.pursuit_gram`,
        made once for all the blocks of an encode call); unused by the others.

    Returns
    -------
    z : ndarray, shape (n_samples, n_latents)
        Non-negative latents.
    """
    act = objective.activation
    if act == "mp":
        return mp_codes(params, X, objective.k, gram)
    pre = pre_activations(params, X)
    if act == "relu":
        return _relu(pre)[0]
    if act == "topk":
        return _topk(pre, objective.k)[0]
    if act == "batchtopk":
        return _jumprelu(pre, max(threshold, 0.0))[0]
    return _jumprelu(pre, np.exp(params["log_theta"]))[0]


def loss_and_gradients(params, X, objective, loss_scale=1.0):
    """Training loss of the batch ``X`` and its gradient with respect to ``params``.

    Parameters
    ----------
    params : dict of ndarray
        ``encoder`` (n_latents, n_features), ``b_enc`` (n_latents,),
        ``decoder`` (n_latents, n_features), ``b_dec`` (n_features,), and
        ``log_theta`` (n_latents,) for ``jumprelu``; ``mp`` has only
        ``decoder`` and ``b_dec``.
    X : ndarray, shape (n_samples, n_features)
    objective : Objective
    loss_scale : float, default 1.0
        The gradients are those of ``loss_scale * loss``: the trainer's power
        of two ~``1 / spread of X``, which keeps the weights' gradients (~X
        squared) above the dtype's smallest normal number for tiny ``X``
        (:class:`~v1model.sae.training.TrainingState`); ``loss`` and ``cache``
        are unscaled.

    Returns
    -------
    loss : float
        ``mse + sparsity`` (see the module docstring).
    grads : dict of ndarray
        One gradient per entry of ``params`` (of ``loss_scale * loss``), same
        shapes and dtype.
    cache : dict
        ``z`` (latents), ``residual`` (``X - X_hat``), ``pre`` (None for
        ``mp``), ``mse``, ``sparsity`` and, for ``batchtopk``, ``smallest``
        (smallest kept activation).

    Notes
    -----
    JumpReLU (Rajamanoharan et al. 2024, eqs. 11-12): with
    ``theta = exp(log_theta)`` and the rectangle kernel
    ``K(u) = 1[|u| < 1/2]`` of bandwidth ``epsilon``, the forward pass is
    exact and the backward pass uses the pseudo-derivatives::

        d/dpre   JumpReLU(pre)    = H(pre - theta)
        d/dtheta JumpReLU(pre)    = -(theta / epsilon) K((pre - theta) / epsilon)
        d/dpre   H(pre - theta)   = 0
        d/dtheta H(pre - theta)   = -(1 / epsilon) K((pre - theta) / epsilon)

    and ``d/dlog_theta = theta * d/dtheta``. Everything except ``log_theta``
    therefore gets the exact gradient of the loss wherever it is
    differentiable (the L0 term is piecewise constant in them).
    """
    act = objective.activation
    if act == "mp":
        return _mp_loss_and_gradients(params, X, objective.k, loss_scale)
    n = X.shape[0]
    D = params["decoder"]
    dtype = D.dtype
    smallest = None
    pre = pre_activations(params, X)
    if act == "relu":
        z, mask = _relu(pre)
    elif act == "topk":
        z, mask = _topk(pre, objective.k)
    elif act == "batchtopk":
        z, mask, smallest = _batch_topk(pre, objective.k)
    else:
        theta = np.exp(params["log_theta"])
        z, mask = _jumprelu(pre, theta)
        kernel = rectangle((pre - theta) / objective.bandwidth) / objective.bandwidth
    lam, sparsity = objective.lam, 0.0
    if act == "relu":
        sparsity = lam * float(z.sum(dtype=np.float64)) / n
    elif act == "jumprelu":
        sparsity = lam * np.count_nonzero(z) / n
    cache = {"z": z, "pre": pre, "sparsity": sparsity, "smallest": smallest}
    if is_large_product(n, *D.shape):
        # dL/dpre is 0 off the mask; JumpReLU's thresholds also need dL/dz where the kernel is
        entries = mask | (kernel != 0) if act == "jumprelu" else mask
        if use_active_products(entries, D.shape[1]):
            return _active_loss_and_gradients(
                params, X, objective, cache, mask, entries, loss_scale,
                *((theta, kernel) if act == "jumprelu" else (None, None)))
    residual = X - (z @ D + params["b_dec"])
    mse = float(np.einsum("ij,ij->", residual, residual, dtype=np.float64)) / n
    g_out = (-2.0 * loss_scale / n) * residual  # dL/dX_hat (of loss_scale * L)
    grads = {"decoder": z.T @ g_out, "b_dec": g_out.sum(axis=0)}
    dz = g_out @ D.T
    if act == "relu":
        dz += lam * loss_scale / n
    elif act == "jumprelu":
        # d/dtheta through z (pseudo) and through the L0 term (pseudo)
        dtheta = -(dz * theta + lam * loss_scale / n) * kernel
        grads["log_theta"] = (theta * dtheta.sum(axis=0)).astype(dtype, copy=False)
    dpre = np.where(mask, dz, 0).astype(dtype, copy=False)
    for name, g in encoder_gradients(dpre, X, params).items():
        grads[name] = grads[name] + g if name in grads else g
    return _finished(grads, cache, residual, mse, dtype)


def _finished(grads, cache, residual, mse, dtype):
    """``(loss, grads, cache)`` of :func:`loss_and_gradients`, grads in ``dtype``."""
    cache.update(residual=residual, mse=mse)
    grads = {name: np.asarray(g, dtype=dtype) for name, g in grads.items()}
    return mse + cache["sparsity"], grads, cache


def is_large_product(n_samples, n_latents, n_features):
    """Whether a product of a batch with the encoder takes :data:`LARGE_PRODUCT_FLOPS`
    or more (the size from which training works on the active or dead latents only)."""
    return 2.0 * n_samples * n_latents * n_features >= LARGE_PRODUCT_FLOPS


def use_active_products(z, n_features):
    """Whether products of the latents ``z`` (n_samples, n_latents) with the decoder
    go over their non-zeros only: a large product with few non-zeros.

    Parameters
    ----------
    z : ndarray, shape (n_samples, n_latents)
        Latents, or the mask of the non-zero ones.
    n_features : int

    Returns
    -------
    bool
    """
    n, m = z.shape
    return (is_large_product(n, m, n_features)
            and np.count_nonzero(z) <= ACTIVE_FRACTION * z.size)


def decode_latents(z, D):
    """``z @ D``, over the non-zeros of ``z`` when :func:`use_active_products`.

    Parameters
    ----------
    z : ndarray, shape (n_samples, n_latents)
    D : ndarray, shape (n_latents, n_features)

    Returns
    -------
    ndarray, shape (n_samples, n_features)
    """
    if use_active_products(z, D.shape[1]):
        return sparse.csr_array(z) @ D
    return z @ D


def _active_loss_and_gradients(params, X, objective, cache, mask, entries, loss_scale=1.0,
                                theta=None, kernel=None):
    """:func:`loss_and_gradients` from the few latents that matter (ReLU, TopK,
    BatchTopK, JumpReLU).

    The latents ``z`` and the gradient ``dL/dpre`` are non-zero only where
    ``mask`` is (TopK: at most ``k`` per sample), so the decoder's output and
    the gradients of the decoder and the encoder are sums over those entries
    (sparse products), and ``dL/dz`` is needed only at ``entries``: ``mask``,
    and for JumpReLU also where the rectangle ``kernel`` is non-zero (the
    thresholds' pseudo-gradient); one dot product of the output gradient with a
    decoder row per entry, instead of a dense product with the whole decoder.
    The same values as the dense formulas up to rounding. ``cache``: the dense
    path's, with the latents ``z``, ``pre``, ``sparsity`` and ``smallest``;
    the gradients are those of ``loss_scale`` times the loss.
    """
    z = cache["z"]
    n, m = z.shape
    act = objective.activation
    D, b_dec = params["decoder"], params["b_dec"]
    dtype = D.dtype
    rows, cols = np.nonzero(entries)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(entries, axis=1), out=indptr[1:])
    Z = sparse.csr_array((z[rows, cols], cols, indptr), shape=z.shape)  # 0 off the mask
    residual = X - (Z @ D + b_dec)
    mse = float(np.einsum("ij,ij->", residual, residual, dtype=np.float64)) / n
    g_out = (-2.0 * loss_scale / n) * residual  # dL/dX_hat (of loss_scale * L)
    dz = np.empty(cols.size, dtype=dtype)  # dL/dz at the entries: <g_out_i, d_j>
    chunk = max(1, 2 ** 22 // D.shape[1])  # gathered rows of at most ~16 MB (float32)
    for start in range(0, cols.size, chunk):
        part = slice(start, start + chunk)
        dz[part] = np.einsum("ij,ij->i", g_out[rows[part]], D[cols[part]])
    grads, lam = {}, objective.lam
    if act == "relu":
        dz += lam * loss_scale / n
    elif act == "jumprelu":
        # d/dtheta through z and the L0 term (pseudo-derivatives, see loss_and_gradients)
        dtheta = -(dz * theta[cols] + lam * loss_scale / n) * kernel[rows, cols]
        grads["log_theta"] = theta * np.bincount(cols, weights=dtheta, minlength=m)
        dz = np.where(mask[rows, cols], dz, 0).astype(dtype, copy=False)
    dpre = sparse.csr_array((dz, cols, indptr), shape=z.shape)
    grads.update({"decoder": Z.T @ g_out, "b_dec": g_out.sum(axis=0)})
    for name, g in encoder_gradients(dpre, X, params).items():
        grads[name] = grads[name] + g if name in grads else g
    return _finished(grads, cache, residual, mse, dtype)


def _mp_loss_and_gradients(params, X, k, loss_scale=1.0):
    """Squared error of the matching-pursuit autoencoder and the gradient of
    ``loss_scale`` times it through the pursuit (``x_hat = x - r_k``, so
    ``L = mean ||r_k||^2``)."""
    n = X.shape[0]
    D = params["decoder"]
    # the Gram matrix of this step's decoder: one product of n_latents rows for the k - 1
    # products of the batch it saves (4,096 latents, batch 4,096, k = 32: 31x)
    z, residual, trace = pursuit_forward(X - params["b_dec"], D, k,
                                         gram=pursuit_gram(D, n, k))
    mse = float(np.einsum("ij,ij->", residual, residual, dtype=np.float64)) / n
    ddec, dR0 = pursuit_backward((2.0 * loss_scale / n) * residual, D, trace)
    grads = {"decoder": ddec, "b_dec": -dR0.sum(axis=0)}  # r_0 = x - b_dec
    cache = {"z": z, "residual": residual, "pre": None, "mse": mse, "sparsity": 0.0,
             "smallest": None}
    return mse, {name: np.asarray(g, dtype=D.dtype) for name, g in grads.items()}, cache


def encoder_gradients(dpre, X, params):
    """``dL/dpre`` back-propagated into ``encoder``, ``b_enc`` and ``b_dec``
    (the part of ``b_dec``'s gradient that flows through the encoder).

    Parameters
    ----------
    dpre : ndarray, shape (n_samples, n_latents)
        Gradient of the loss with respect to the pre-activations.
    X : ndarray, shape (n_samples, n_features)
    params : dict of ndarray
        With ``encoder`` (n_latents, n_features) and ``b_dec`` (n_features,).

    Returns
    -------
    dict of ndarray
        ``encoder`` (n_latents, n_features), ``b_enc`` (n_latents,) and
        ``b_dec`` (n_features,).
    """
    return {"encoder": dpre.T @ (X - params["b_dec"]), "b_enc": dpre.sum(axis=0),
            "b_dec": -(dpre.sum(axis=0) @ params["encoder"])}


def auxk_loss(pre, decoder, residual, dead, k_aux, loss_scale=1.0):
    """AuxK loss of Gao et al. (2024) and its gradient.

    The ``k_aux`` largest pre-activations among the ``dead`` latents (ReLU
    after) reconstruct the main model's ``residual`` ``X - X_hat`` (held
    fixed, as in the paper)::

        L_aux = (1/n) sum_i ||r_i - z_aux_i D_dead||^2

    This is the paper's ``||e - e_hat||^2``, in the units of the main
    squared error, so that ``aux_coef`` weighs the two alike. The reference
    code of Gao et al. (openai/sparse_autoencoder) divides ``L_aux`` by the
    residual's own variance, ``mean_i ||r_i - mean(r)||^2``, and the main
    loss by that of ``X`` (saprmarks/dictionary_learning divides ``L_aux``
    alike): the same ``aux_coef`` there weighs AuxK about ``1 / FVU`` times
    more than here (10x at an FVU of 0.1). Multiply ``aux_coef`` by
    ``1 / FVU`` to approach their weighting.

    Parameters
    ----------
    pre : ndarray, shape (n_samples, n_latents)
    decoder : ndarray, shape (n_latents, n_features)
    residual : ndarray, shape (n_samples, n_features)
    dead : ndarray of bool, shape (n_latents,)
    k_aux : int
    loss_scale : float, default 1.0
        The gradients are those of ``loss_scale * loss`` (see
        :func:`loss_and_gradients`); ``loss`` is unscaled.

    Returns
    -------
    loss : float
    dpre : ndarray, shape (n_samples, n_latents)
        Non-zero only in the dead latents' columns.
    ddecoder : ndarray, shape (n_latents, n_features)
        Non-zero only in the dead latents' rows.
    """
    cols = np.flatnonzero(dead)
    dpre = np.zeros_like(pre)
    ddecoder = np.zeros_like(decoder)
    if cols.size == 0:
        return 0.0, dpre, ddecoder
    loss, dpre[:, cols], ddecoder[cols] = auxk_dead(pre, decoder, residual, cols, k_aux,
                                                    loss_scale)
    return loss, dpre, ddecoder


def auxk_dead(pre, decoder, residual, cols, k_aux, loss_scale=1.0):
    """:func:`auxk_loss` with its gradients in the dead latents' columns only.

    What the trainer uses: the gradients of the other latents are zero, and
    the full-size arrays of :func:`auxk_loss` cost, at 16,384 latents, two
    (n_samples, n_latents) and two (n_latents, n_features) arrays and a
    product of the full encoder per step however few latents are dead.

    Parameters
    ----------
    pre : ndarray, shape (n_samples, n_latents)
    decoder : ndarray, shape (n_latents, n_features)
    residual : ndarray, shape (n_samples, n_features)
    cols : ndarray of int, shape (n_dead,)
        The dead latents, at least one.
    k_aux : int
    loss_scale : float, default 1.0
        As for :func:`auxk_loss`.

    Returns
    -------
    loss : float
    dpre : ndarray, shape (n_samples, n_dead)
        Gradient with respect to ``pre[:, cols]``.
    ddecoder : ndarray, shape (n_dead, n_features)
        Gradient with respect to ``decoder[cols]``.
    """
    n = pre.shape[0]
    z_aux, mask = _topk(pre[:, cols], min(k_aux, cols.size))
    D_dead = decoder[cols]
    err = residual - z_aux @ D_dead
    loss = float(np.einsum("ij,ij->", err, err, dtype=np.float64)) / n
    g = (-2.0 * loss_scale / n) * err
    return loss, np.where(mask, g @ D_dead.T, 0).astype(pre.dtype, copy=False), z_aux.T @ g
