"""Convolutional sparse coding: kernels replicated at every position of a
whole image or sound, coded by the LCA or FISTA and learned from data.

- :class:`ConvolutionalDictionary`: the linear map from coefficient maps to
  signals (and its adjoint), for 1-D, 2-D and 3-D signals, any stride.
- :func:`encode`: the codes of whole signals by the LCA, ISTA or FISTA;
  :func:`reconstruct` and :func:`objective` the signals and the LASSO
  objective they give.
"""

from .inference import METHODS, encode, objective, reconstruct
from .operator import BOUNDARIES, ConvolutionalDictionary

__all__ = ["BOUNDARIES", "METHODS", "ConvolutionalDictionary", "encode", "objective",
           "reconstruct"]
