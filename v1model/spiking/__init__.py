"""Spiking simulators on Brian2: the spiking LCA and SAILnet.

- :func:`spiking_lca` — integrate-and-fire units with lateral inhibition
  whose firing rates converge to the non-negative LASSO codes (Tang, Lin &
  Davies 2017); also behind ``SparseCodingNetwork.encode(X, backend="spiking")``.
- :func:`spiking_convolutional_lca` — the same units, one per kernel copy of
  a convolutional dictionary, inhibiting only the copies that overlap theirs.
- :func:`learn_sailnet`, :func:`sailnet_inference` — SAILnet (Zylberberg,
  Murphy & DeWeese 2011): leaky integrate-and-fire inference with learned
  lateral inhibition, homeostatic thresholds and Oja's rule.

Brian2 is imported only when a simulation runs.
"""

from .convolutional import spiking_convolutional_lca
from .lca import spiking_lca, windowed_rates
from .sailnet import learn_sailnet, rf_overlap, rf_spread, sailnet_inference

__all__ = ["spiking_lca", "spiking_convolutional_lca", "windowed_rates", "learn_sailnet",
           "sailnet_inference", "rf_overlap", "rf_spread"]
