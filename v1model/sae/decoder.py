"""Unit-norm decoder rows during gradient training (Bricken et al. 2023; Gao
et al. 2024): the gradient component parallel to each row is removed before
the step (it could only change the row's norm), and the rows are projected
back onto the unit sphere after it."""

from __future__ import annotations

import numpy as np

from ..learning._atoms import normalize_rows

__all__ = ["remove_parallel_gradient", "project_rows"]


def remove_parallel_gradient(grad, D):
    """``grad - <grad_i, d_i> d_i`` per row (in place); ``D`` has unit rows.

    Parameters
    ----------
    grad : ndarray, shape (n_latents, n_features)
        Gradient with respect to ``D``; modified in place.
    D : ndarray, shape (n_latents, n_features)
        Decoder with unit-norm rows.

    Returns
    -------
    grad : ndarray, shape (n_latents, n_features)
        The same array, each row orthogonal to its row of ``D``.
    """
    grad -= np.einsum("ij,ij->i", grad, D)[:, None] * D
    return grad


def project_rows(D, previous):
    """Rescale the rows of ``D`` to unit norm (in place); a row that collapsed
    to zero gets its ``previous`` value back.

    Parameters
    ----------
    D : ndarray, shape (n_latents, n_features)
        Decoder after a step; modified in place.
    previous : ndarray, shape (n_latents, n_features)
        Decoder before the step.

    Returns
    -------
    D : ndarray, shape (n_latents, n_features)
        The same array, with unit-norm rows.
    """
    return normalize_rows(D, previous)
