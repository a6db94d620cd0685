"""Convolutional sparse coding: kernels replicated at every position of a
whole image or sound, coded by the LCA, FISTA or matching pursuit and learned
from data.

- :class:`ConvolutionalDictionary`: the linear map from coefficient maps to
  signals (and its adjoint), for 1-D, 2-D and 3-D signals, any stride.
- :func:`encode`: the codes of whole signals by the LCA, ISTA or FISTA;
  :func:`reconstruct` and :func:`objective` the signals and the LASSO
  objective they give; :class:`ConvergenceWarning` (that of
  :mod:`v1model.inference`) when a signal misses the tolerance.
- :func:`matching_pursuit`: the greedy spike code of whole signals
  (Smith & Lewicki 2006), stopped at a spike count or a fidelity.
- :func:`learn_kernels`: kernels learned from random crops of images or
  sounds, as an ``xarray.Dataset`` with the learning history.
- :class:`ConvolutionalNetwork`: the layer's spec (kernels, stride, boundary,
  lambda, threshold, tau) with ``encode`` on the ODE or the spiking backend,
  ``learn`` and ``save``/``load``.
- :func:`gram_matrix`: ``ΦᵀΦ`` as a sparse matrix, one window per copy (the
  lateral inhibition of :func:`v1model.spiking.spiking_convolutional_lca`).
"""

from .gram import gram_matrix
from .inference import METHODS, ConvergenceWarning, encode, objective, reconstruct
from .learning import learn_kernels
from .network import ConvolutionalNetwork
from .operator import BOUNDARIES, ConvolutionalDictionary, kernel_dims
from .pursuit import matching_pursuit

__all__ = ["BOUNDARIES", "METHODS", "ConvergenceWarning", "ConvolutionalDictionary",
           "ConvolutionalNetwork", "encode", "gram_matrix", "kernel_dims", "learn_kernels",
           "matching_pursuit", "objective", "reconstruct"]
