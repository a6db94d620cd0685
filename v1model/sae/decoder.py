"""Unit-norm decoder rows during gradient training (Bricken et al. 2023; Gao
et al. 2024): the gradient component parallel to each row is removed before
the step (it could only change the row's norm), and the rows are projected
back onto the unit sphere after it."""

from __future__ import annotations

import numpy as np

from ..learning._atoms import normalize_rows

__all__ = ["remove_parallel_gradient", "project_rows"]


def remove_parallel_gradient(grad, D):
    """``grad - <grad_i, d_i> d_i`` per row (in place); ``D`` has unit rows."""
    grad -= np.einsum("ij,ij->i", grad, D)[:, None] * D
    return grad


def project_rows(D, previous):
    """Rescale the rows of ``D`` to unit norm (in place); a row that collapsed
    to zero gets its ``previous`` value back."""
    return normalize_rows(D, previous)
