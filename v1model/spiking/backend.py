"""``SparseCodingNetwork.encode(X, backend="spiking")``: the network spec on Brian2.

The network's dictionary, ``lam`` and ``tau`` define a spiking LCA
(:func:`v1model.spiking.spiking_lca`) with ``tau_m = network.tau`` (passed as
``tau``, its alias, so that an error about it names the network's ``tau``); the codes
returned are the firing rates scaled to code units, ``code = rate * tau_m``
(a code of 1 is a unit firing at ``1 / tau`` Hz, 100 Hz for ``tau`` = 10 ms).

- ``threshold="nonneg"``: one neuron per atom; the rates converge to the
  non-negative LASSO codes, the fixed points of the ODE backend.
- ``threshold="soft"``: spikes cannot be negative, so each atom gets an
  ON and an OFF neuron with atoms ``+d`` and ``-d`` (a dictionary ``[D; -D]``);
  the non-negative LASSO in that dictionary is the LASSO in ``D`` and the
  code is ``rate_on * tau - rate_off * tau``.
- ``threshold="hard"`` has no spiking counterpart and is refused.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..validation import check_data_and_dictionary, check_positive
from .lca import spiking_lca

__all__ = ["encode"]


def encode(network, X, return_dataset: bool = False, **kwargs):
    """Codes of ``X`` from the spiking LCA defined by ``network``.

    Parameters
    ----------
    network : v1model.network.SparseCodingNetwork
        Provides ``dictionary``, ``lam``, ``threshold`` and ``tau`` (used as
        ``tau_m`` unless ``tau_m`` is given).
    X : array_like, shape (n_samples, n_features)
    return_dataset : bool, default False
        Also return the full :func:`spiking_lca` Dataset (rates, counts,
        optional spikes) — with doubled atoms for ``threshold="soft"``.
    **kwargs
        Passed to :func:`spiking_lca` (``duration``, ``dt``, ``tau_syn``,
        ``target``, ``seed``, ...); ``lam`` and ``tau`` (or ``tau_m``) override
        the network's.

    Returns
    -------
    codes : ndarray, shape (n_samples, n_atoms), float64
        ``rate * tau_m``, in the units of ``X`` (the LASSO codes'; the
        ``code`` of :func:`spiking_lca`).
    """
    if network.threshold == "hard":
        raise ValueError(
            "backend='spiking' supports threshold='nonneg' (rates converge to the "
            "non-negative LASSO) and 'soft' (ON/OFF neuron pairs); got threshold='hard'"
        )
    if network.prior != "l1":
        raise ValueError(f"backend='spiking' needs prior='l1', got prior={network.prior!r}")
    D = network.dictionary
    X, _ = check_data_and_dictionary(X, D, d_name="dictionary")  # the network's, not passed
    refuse_unknown_arguments(kwargs, spiking_lca, {"X", "D", "lam"})
    membrane_time_constant(kwargs, network.tau)
    lam = kwargs.pop("lam", network.lam)
    if network.threshold == "soft":
        ds = spiking_lca(X, np.concatenate([D, -D]), lam, **kwargs)
        code = ds["code"].values
        k = D.shape[0]
        codes = code[:, :k] - code[:, k:]
    else:
        ds = spiking_lca(X, D, lam, **kwargs)
        codes = ds["code"].values
    return (codes, ds) if return_dataset else codes


def refuse_unknown_arguments(kwargs: dict, simulator, fixed: set) -> None:
    """Refuse the ``kwargs`` of a network's spiking ``encode`` that ``simulator``
    does not take (e.g. the ODE backend's ``method``, ``positive`` or
    ``threshold``), listing those it takes: passed on, they failed as a bare
    ``TypeError`` inside the simulator's call.

    Parameters
    ----------
    kwargs : dict
        The keyword arguments of ``encode``; ``lam`` and ``tau`` (the ODE
        backend's name of ``tau_m``) are the network's and always allowed.
    simulator : callable
        :func:`spiking_lca` or :func:`spiking_convolutional_lca`.
    fixed : set of str
        The simulator's arguments the network sets itself (data, dictionary,
        ``lam``, geometry).

    Raises
    ------
    ValueError
        Naming the unknown arguments and listing the allowed ones.
    """
    allowed = set(inspect.signature(simulator).parameters) - set(fixed)
    unknown = sorted(set(kwargs) - allowed - {"lam", "tau"})
    if unknown:
        raise ValueError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                         f"for backend='spiking' ({simulator.__name__} takes "
                         f"{', '.join(sorted(allowed))}; the threshold is the network's)")


def membrane_time_constant(kwargs: dict, default: float) -> None:
    """Give the spiking simulators the membrane time constant (s), in place: ``tau`` or
    ``tau_m`` as the caller gave it, else ``default`` (the network's ``tau``) as ``tau``.

    The simulators take ``tau`` as the alias of ``tau_m`` and name the one they were
    given in their errors: renamed to ``tau_m`` here, a network's ``tau=5e-5`` was refused
    as "tau_m=5e-05 s", an argument the user never gave.

    Raises
    ------
    ValueError
        For ``tau`` given with ``tau_m``, or a ``tau`` that is not a positive
        finite number (named ``tau``, as the caller gave it).
    """
    if "tau" in kwargs:
        if "tau_m" in kwargs:
            raise ValueError("give tau or tau_m (the same membrane time constant), not both")
        kwargs["tau"] = check_positive(kwargs["tau"], "tau")
    elif "tau_m" not in kwargs:
        kwargs["tau"] = default
