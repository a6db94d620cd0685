"""v1model: sparse coding in primary visual cortex.

The Locally Competitive Algorithm and the Olshausen-Field model, simulated as
ODEs (rate units) or as spiking neurons (Brian2), with dictionary learning,
receptive-field analysis, reproducible studies and parameter sweeps.
"""

__version__ = "0.1.0"

from .network import SparseCodingNetwork  # noqa: E402

__all__ = ["SparseCodingNetwork", "__version__"]
