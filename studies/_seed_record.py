"""How a study's ``attrs["seed"]`` records a Generator seed: its state before the
study draws from it, which :func:`v1model.io.seed_from_attr` turns back into a
Generator that re-runs the study bit for bit."""

from __future__ import annotations

import functools
import inspect

import numpy as np
import xarray as xr

__all__ = ["records_seed", "is_recording_seed"]


def records_seed(run):
    """Decorator: a study's ``run(..., seed=...)`` given a numpy Generator records
    in its result's ``attrs["seed"]`` the Generator's state at the call's start.

    A study writes its attrs after it has drawn, where :func:`v1model.io.seed_attr`
    can only record a Generator as "not reproducible"; this takes the record before
    the study runs (``seed_attr(seed, before_use=True)``) and puts it in place of
    that one. Other seeds (int, SeedSequence, None) are recorded by the study as
    they were.

    Parameters
    ----------
    run : callable
        A study's ``run``, with a ``seed`` parameter, returning an xarray.Dataset
        with ``attrs["seed"]``.

    Returns
    -------
    callable
        ``run`` with the same signature (``inspect.signature`` follows it), marked
        with ``records_seed = True`` (:func:`is_recording_seed`), so that a test over
        the registry can tell a study whose ``run`` lacks the decorator.
    """
    from v1model.io import seed_attr

    signature = inspect.signature(run)
    if "seed" not in signature.parameters:
        raise TypeError(f"run must take a seed parameter, got {run.__qualname__}{signature}")
    default = signature.parameters["seed"].default

    @functools.wraps(run)
    def run_recording_seed(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs)  # bad calls: the study's own error
        seed = bound.arguments.get("seed", default)
        if not isinstance(seed, np.random.Generator):
            return run(*args, **kwargs)
        record = seed_attr(seed, before_use=True)  # before the study draws
        ds = run(*args, **kwargs)
        if isinstance(ds, xr.Dataset) and "seed" in ds.attrs:
            ds.attrs["seed"] = record
        return ds

    run_recording_seed.records_seed = True
    return run_recording_seed


def is_recording_seed(run) -> bool:
    """Whether ``run`` is wrapped by :func:`records_seed` (its mark, not a name: a
    study's own wrapper that copied ``__wrapped__`` would pass a name check)."""
    return getattr(run, "records_seed", False) is True
