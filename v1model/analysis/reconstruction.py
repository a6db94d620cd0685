"""How well reconstructions of held-out samples explain them: the fraction of
variance unexplained (FVU) of any coder, one definition for every study."""

from __future__ import annotations

import numpy as np

from ..validation import check_array

__all__ = ["fraction_variance_unexplained"]


def fraction_variance_unexplained(X, X_hat) -> float:
    """The fraction of the variance of ``X`` that the reconstructions ``X_hat``
    leave unexplained.

    ``sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(X)||^2``, the mean taken per
    feature over the samples: the squared error over that of predicting each
    feature's mean (the normalised MSE of the SAE literature, and what
    :meth:`SparseAutoencoder.evaluate <v1model.sae.SparseAutoencoder.evaluate>`
    reports for its own reconstructions). It is ``1 - r2_score(X, X_hat,
    multioutput="variance_weighted")`` of scikit-learn whenever every feature
    varies (scikit-learn leaves out the error on a constant feature; here it
    counts). Sums in float64.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        The samples (held-out ones, say), finite.
    X_hat : array_like, shape (n_samples, n_features)
        Their reconstructions, finite, in the units of ``X``.

    Returns
    -------
    float
        >= 0 (1: no better than the mean, 0: exact); NaN when ``X`` has no
        variance about its mean (one sample, or identical ones).

    Raises
    ------
    ValueError
        For arrays that are not finite and 2-D, or whose shapes differ.
    """
    X = check_array(X, "X", ndim=2)
    X_hat = check_array(X_hat, "X_hat", ndim=2)
    if X_hat.shape != X.shape:
        raise ValueError(f"X_hat must have the shape of X {X.shape}, got {X_hat.shape}")
    residual = X - X_hat
    centred = X - X.mean(axis=0)
    variance = float(np.einsum("ij,ij->", centred, centred))
    if variance == 0:
        return float("nan")
    return float(np.einsum("ij,ij->", residual, residual)) / variance
