"""Parameter sweeps: run any study over a grid of parameters, on this machine
(process pool), on a dask cluster or on SLURM / PBS jobs (dask-jobqueue), with
every finished point saved at once so that nothing is lost.

From Python::

    from v1model import sweep
    ds = sweep.run("lca-sweep",
                   {"lam": {"start": 0.05, "stop": 0.8, "num": 5, "log": True},
                    "overcompleteness": [1, 2, 4]},
                   n_seeds=3, output="results/lca", executor="local")

From the command line, with a TOML spec (see :mod:`v1model.sweep.spec`)::

    v1model sweep run examples/sweeps/lca_sweep.toml
    v1model sweep status results/lca-sweep
    v1model sweep resume results/lca-sweep
    v1model sweep retry-failed results/lca-sweep
    v1model sweep jobscript my_slurm_sweep.toml

The result is one ``xarray.Dataset``: the swept parameters as dimensions
(``replicate`` for seeds), every study output, and per-point ``status``,
``error``, ``warnings`` (what the point warned, one per line, a message's further
lines indented by two spaces, "" if nothing; kept in ``sweep.nc``; one string per
warning: :func:`split_warnings`), ``point_seed``, ``duration`` and ``cpu_time``.
"""

# Each public name is imported from its submodule on first use (PEP 562): the
# runner pulls in xarray and pandas (about 0.5 s), which building the command
# line's parser and `v1model sweep --help` do not need.
_SUBMODULE_OF = {
    **dict.fromkeys(["ExecutorStartError", "OutputLockedError", "OutputWriteError",
                     "SpecError", "SweepWarning", "WorkersLostError"], "errors"),
    **dict.fromkeys(["DaskExecutor", "Executor", "JobQueueExecutor", "LocalExecutor",
                     "SerialExecutor", "make_executor"], "executors"),
    **dict.fromkeys(["Grid", "point_seed", "zipped"], "grid"),
    **dict.fromkeys(["check_points", "checks_parameters", "parameters_checked"],
                    "preflight"),
    "split_warnings": "point_warnings",
    **dict.fromkeys(["SweepStatus", "load", "resume", "retry_failed", "run",
                     "run_spec", "status"], "runner"),
    **dict.fromkeys(["SweepSpec", "load_spec", "parse_spec"], "spec"),
}

__all__ = [
    "run",
    "run_spec",
    "resume",
    "retry_failed",
    "status",
    "load",
    "load_spec",
    "parse_spec",
    "zipped",
    "point_seed",
    "Grid",
    "SweepSpec",
    "SweepStatus",
    "SweepWarning",
    "SpecError",
    "OutputLockedError",
    "ExecutorStartError",
    "WorkersLostError",
    "OutputWriteError",
    "Executor",
    "SerialExecutor",
    "LocalExecutor",
    "DaskExecutor",
    "JobQueueExecutor",
    "make_executor",
    "checks_parameters",
    "parameters_checked",
    "check_points",
    "split_warnings",
]


def __getattr__(name):
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
