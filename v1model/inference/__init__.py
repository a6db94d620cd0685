"""Sparse inference: every solver takes ``(X, D, ...)`` with ``X`` of shape
(n_samples, n_features) and ``D`` of shape (n_atoms, n_features) and returns
codes of shape (n_samples, n_atoms).

:func:`encode` is the single entry point (``method`` in :data:`METHODS`); the
solvers are importable on their own:

- :func:`lca`: the Locally Competitive Algorithm (neural dynamics),
- :func:`fista`, :func:`ista`: proximal gradient for the LASSO,
- :func:`lasso_cd`: compiled coordinate descent, the fastest LASSO solver here,
- :func:`lasso_active_set`: LASSO by exact support solves, KKT-checked to ``tol * lam``,
- :func:`matching_pursuit`, :func:`orthogonal_mp`: greedy pursuits,
- :func:`iht`: iterative hard thresholding.
"""

from ._common import ConvergenceWarning, lasso_objective, objective
from .active_set import kkt_violation, lasso_active_set
from .coordinate_descent import lasso_cd
from .encode import GREEDY_METHODS, L1_METHODS, METHODS, encode
from .fista import fista, ista
from .iht import iht
from .lca import lca, max_stable_dt
from .pursuit import matching_pursuit, orthogonal_mp

__all__ = ["encode", "METHODS", "L1_METHODS", "GREEDY_METHODS", "lca", "fista", "ista",
           "lasso_active_set", "lasso_cd", "matching_pursuit", "orthogonal_mp", "iht",
           "max_stable_dt", "objective", "lasso_objective", "kkt_violation",
           "ConvergenceWarning"]
