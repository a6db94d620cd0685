"""v1model: sparse coding in primary visual cortex.

The Locally Competitive Algorithm and the Olshausen-Field model, simulated as
ODEs (rate units) or as spiking neurons (Brian2), with dictionary learning,
receptive-field analysis, reproducible studies and parameter sweeps.
"""

__version__ = "0.1.0"

__all__ = ["SparseCodingNetwork", "__version__"]


def __getattr__(name):
    # The network is imported on first use (PEP 562): it pulls in xarray and
    # pandas (about 0.5 s), which `v1model --help` and a mistyped command
    # should not wait for.
    if name == "SparseCodingNetwork":
        from .network import SparseCodingNetwork

        return SparseCodingNetwork
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
