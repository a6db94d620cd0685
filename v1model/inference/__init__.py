"""Sparse inference: every solver takes ``(X, D, ...)`` with ``X`` of shape
(n_samples, n_features) and ``D`` of shape (n_atoms, n_features) and returns
codes of shape (n_samples, n_atoms)."""

from ._common import ConvergenceWarning, lasso_objective, objective
from .fista import fista, ista
from .lca import lca, max_stable_dt

__all__ = ["lca", "fista", "ista", "max_stable_dt", "objective", "lasso_objective",
           "ConvergenceWarning"]
