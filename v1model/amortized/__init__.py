"""Learned approximate sparse inference (amortized coding).

A network trained once maps a signal to (an approximation of) its sparse code
in a fixed, small number of steps, instead of iterating a solver to
convergence for every signal:

- :class:`LISTA`: learned ISTA (Gregor & LeCun 2010), ``n_layers`` shrinkage
  layers initialised at ISTA's weights and trained to predict the LASSO codes
  of :mod:`v1model.inference` (``objective="supervised"``) or to minimise
  their LASSO objective (``"lasso"``, Sprechmann et al. 2015); all weights
  learned (``parametrization="full"``) or only one ISTA step per layer
  (``"step"``: Step-LISTA, Ablin et al. 2019);
- :func:`lista_error_by_depth`: LISTA's error to the optimal codes, and LASSO
  objective, against ISTA's and FISTA's after the same number of iterations
  (the paper's comparison), as an xarray Dataset;
- :func:`solver_error_by_iteration`: ISTA's and FISTA's error and objective
  after each iteration;
- :func:`optimal_codes`: the target codes (FISTA to a tight tolerance).
"""

from .compare import lista_error_by_depth, solver_error_by_iteration
from .lista import LISTA, NotFittedError, optimal_codes

__all__ = ["LISTA", "NotFittedError", "lista_error_by_depth", "optimal_codes",
           "solver_error_by_iteration"]
