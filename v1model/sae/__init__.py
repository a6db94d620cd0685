"""Sparse autoencoders: a linear encoder and a sparsifying activation (ReLU +
L1, TopK, BatchTopK, JumpReLU) or matching pursuit, and a unit-norm linear
decoder, trained by minibatch Adam on NumPy.

:class:`SparseAutoencoder` is the entry point; its decoder ``components_`` is
a dictionary like any other (one unit-norm atom per row), so that
:mod:`v1model.analysis` applies to it unchanged. The activations are exported
here and check their arguments (:mod:`~v1model.sae.activations`). The
training loop's pieces, on trusted arrays the estimator validated once, are
importable from their modules: :mod:`~v1model.sae.objective` (loss and
gradients), :mod:`~v1model.sae.pursuit` (matching pursuit as an encoder,
forward and backward), :mod:`v1model.adam`, :mod:`~v1model.sae.training` (the
loop).
"""

from .activations import batch_topk, jumprelu, relu, topk
from .autoencoder import SparseAutoencoder
from .objective import ACTIVATIONS, Objective

__all__ = ["SparseAutoencoder", "ACTIVATIONS", "Objective", "relu", "topk", "batch_topk",
           "jumprelu"]
