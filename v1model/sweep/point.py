"""One point of a sweep, as it runs on a worker.

:func:`run_point` is the only function executors send to workers. It never
raises for a failing study: the exception becomes a failed
:class:`PointOutcome` with a traceback summary, so that one bad point does not
stop the others.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field

import xarray as xr

from ..progress import quiet_auto_bars
from .point_warnings import collect_warnings, portable
from .studyref import StudyRef

__all__ = ["PointTask", "PointOutcome", "run_point", "PER_POINT_VARIABLES"]

#: Variables the sweep adds for every point; study outputs cannot use these names.
PER_POINT_VARIABLES = ("status", "error", "warnings", "point_seed", "duration", "cpu_time")
#: Suffix of a study output that has the name of a swept parameter.
OUTPUT_SUFFIX = "_output"
#: Frames kept in a failed point's traceback summary.
TRACEBACK_FRAMES = 8


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to run one point (small and picklable).

    Parameters
    ----------
    index : int
        Flat index of the point in the grid.
    study : str
        Reference a worker resolves to the study function (:class:`StudyRef`).
    params : dict
        Fixed and swept parameters of the point.
    seed : int
        The point's seed.
    quick : bool, default False
    swept : tuple of str, default ()
        Names of the swept parameters.
    dims : tuple of str, default ()
        Dimensions of the grid.
    threads : int, optional
        numba and BLAS/OpenMP threads of the point, set for its duration in the
        worker (:func:`point_threads`), for workers whose environment the sweep
        cannot set (a dask cluster of the user's own); None: as the worker has them.
    """

    index: int
    study: str
    params: dict
    seed: int
    quick: bool = False
    swept: tuple = ()
    dims: tuple = ()
    threads: int | None = None


@dataclass
class PointOutcome:
    """What came back from a point: its Dataset, or the error.

    Parameters
    ----------
    index : int
        Flat index of the point in the grid.
    ok : bool
        Whether the study returned a valid Dataset.
    dataset : xarray.Dataset or None, default None
        The study's result (None on failure).
    error : str, default ""
        ``"ExceptionType: message"`` of a failure.
    traceback : str, default ""
        The last frames of a failure's traceback.
    duration, cpu_time : float, default 0.0
        Wall-clock and CPU time of the point, in seconds.
    host : str, optional
        Host that ran it (default this one).
    pid : int, optional
        Process that ran it (default this one).
    attempts : int, default 1
        Tries this run made of the point: more than one when its worker died
        and it was run again (the failure record counts them).
    warnings : tuple of PointWarning, default ()
        The warnings the point raised, the first
        :data:`~v1model.sweep.point_warnings.MAX_POINT_WARNINGS`; the sweep shows them
        naming the point (:func:`~v1model.sweep.point_warnings.show_point_warnings`) and
        keeps them in its result's ``warnings`` variable
        (:func:`~v1model.sweep.point_warnings.warnings_text`).
    warnings_dropped : int, default 0
        Warnings raised beyond those.
    """

    index: int
    ok: bool
    dataset: xr.Dataset | None = None
    error: str = ""
    traceback: str = ""
    duration: float = 0.0
    cpu_time: float = 0.0
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    attempts: int = 1
    warnings: tuple = ()
    warnings_dropped: int = 0

    @classmethod
    def failure(cls, index: int, error: str, tb: str = "", duration: float = 0.0,
                cpu_time: float = 0.0, attempts: int = 1):
        """The outcome of a failed point (``ok=False``, no dataset).

        Parameters
        ----------
        index : int
        error : str
        tb : str, default ""
            The traceback.
        duration, cpu_time : float, default 0.0
            In seconds.
        attempts : int, default 1
            Tries made of the point (its worker died ``attempts`` times).

        Returns
        -------
        PointOutcome
        """
        return cls(index=index, ok=False, error=error, traceback=tb, duration=duration,
                   cpu_time=cpu_time, attempts=attempts)


def run_point(task: PointTask) -> PointOutcome:
    """Run ``task``'s study at its parameters and seed; never raises
    (except KeyboardInterrupt).

    Parameters
    ----------
    task : PointTask

    Returns
    -------
    PointOutcome
        With the checked Dataset, or the error and traceback of a failure.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    # caught here and shown by the sweep, naming the point: in a worker they went to its
    # stderr (a job's log) naming a line of the library or of the process pool
    with collect_warnings() as caught:
        outcome = _run_study(task, t0, c0)
    outcome.warnings, outcome.warnings_dropped = portable(caught)
    return outcome


def _run_study(task: PointTask, t0: float, c0: float) -> PointOutcome:
    try:
        study = StudyRef(task.study)
        func = study.function()
        params = dict(task.params)
        if "progress" not in params and "progress" in study.parameters()[0]:
            # the sweep's bar counts the points; the studies' own bars, from every worker,
            # interleaved on one terminal (or filled a cluster job's log)
            params["progress"] = False
        # and the solvers' bars that show when a call runs long (progress=None)
        quiet = quiet_auto_bars() if params.get("progress") is not True else nullcontext()
        with quiet, point_threads(task.threads):
            ds = func(quick=task.quick, seed=task.seed, **params)
        ds = check_output(ds, task)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure is recorded
        tb = "".join(traceback.format_exception(exc, limit=-TRACEBACK_FRAMES))
        error = f"{type(exc).__name__}: {exc}".strip()
        return PointOutcome.failure(task.index, error, tb, time.perf_counter() - t0,
                                    time.process_time() - c0)
    return PointOutcome(task.index, True, ds, duration=time.perf_counter() - t0,
                        cpu_time=time.process_time() - c0)


#: the variables that set the BLAS/OpenMP threads of a worker (numba's is its own)
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: The variables that set a library's thread count: OpenMP, OpenBLAS, MKL and numba (the
#: parallel kernel of ``encode(method="cd")``, which otherwise takes every CPU of the
#: process). Every executor sets them to the threads of one point in each worker: the local
#: pool to ``threads_per_worker`` (:func:`~v1model.sweep.executors._init_worker`), dask's
#: workers to 1 (dask sets the first three, each point limits numba's itself:
#: :func:`point_threads`; job scripts export all four:
#: :func:`~v1model.sweep.executors._thread_exports`); on a cluster of the user's own
#: (``address``), whose environment the sweep cannot set, each point limits the libraries
#: whose variable is unset to 1 thread while it runs (:func:`point_threads`)
THREAD_VARIABLES = (*BLAS_VARIABLES, "NUMBA_NUM_THREADS")
#: points of this process inside :func:`point_threads`' BLAS limit, and its limiter:
#: the limit is process-wide, so it is lifted when the last concurrent point ends
_BLAS_LOCK = threading.Lock()
_BLAS_USERS = [0, None]


@contextmanager
def point_threads(threads):
    """Run a point with ``threads`` numba and BLAS/OpenMP threads, restored after.

    A remote dask worker's environment is its owner's: dask's nanny sets the BLAS
    variables to 1 but not numba's, whose parallel kernels (``encode(method="cd")``)
    then took every CPU of the worker in each concurrent point. A library whose
    variable the worker's environment sets (:data:`THREAD_VARIABLES`) keeps it: that
    is a choice of the cluster's owner.

    Parameters
    ----------
    threads : int or None
        None: nothing is changed.
    """
    if threads is None:
        yield
        return
    with ExitStack() as stack:
        if "NUMBA_NUM_THREADS" not in os.environ:
            import numba

            # per calling thread in numba: a dask worker's other points keep theirs
            previous = numba.get_num_threads()
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            stack.callback(numba.set_num_threads, previous)
        if not any(name in os.environ for name in BLAS_VARIABLES):
            _enter_blas_limit(threads)
            stack.callback(_leave_blas_limit)
        yield


def _enter_blas_limit(threads):
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK:
        if _BLAS_USERS[0] == 0:
            _BLAS_USERS[1] = threadpool_limits(threads)
        _BLAS_USERS[0] += 1


def _leave_blas_limit():
    with _BLAS_LOCK:
        _BLAS_USERS[0] -= 1
        if _BLAS_USERS[0] == 0:
            _BLAS_USERS[1].restore_original_limits()
            _BLAS_USERS[1] = None


def check_output(ds, task: PointTask) -> xr.Dataset:
    """Check a study's return value and load it into memory.

    Scalar coordinates named after a swept parameter (a study recording its own
    parameter) are dropped: the sweep provides that coordinate. Any other
    output (variable or dimension) named like a swept parameter, a sweep
    dimension or one of the per-point variables is renamed ``<name>_output``
    (e.g. the ``dictionary`` variable of ``activity-ratio`` in a sweep over
    ``dictionary=FILE.nc``, the ``error`` of ``schultz-2014-replicating-kernels``).
    An output that already uses the new name too is an error.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"study returned {type(ds).__name__}, expected an xarray.Dataset")
    sweep_names = set(task.swept) | set(task.dims)
    drop = [n for n in ds.coords if n in sweep_names and ds[n].ndim == 0]
    ds = ds.drop_vars(drop)
    # a name the sweep gives its own dimensions or per-point variables (a study may
    # well report an `error` or a `duration`) is kept under <name>_output
    reserved = sweep_names | set(PER_POINT_VARIABLES)
    shared = sorted((set(ds.variables) | set(ds.dims)) & reserved)
    if shared:
        renames = {name: name + OUTPUT_SUFFIX for name in shared}
        taken = sorted((set(ds.variables) | set(ds.dims)) & set(renames.values()))
        if taken:
            raise ValueError(
                f"study output uses the name(s) {shared}, which the sweep uses for its "
                f"dimensions, swept parameters or per-point variables "
                f"({', '.join(PER_POINT_VARIABLES)}), and also {taken}; rename them in "
                f"the study")
        ds = ds.rename(renames)
    return ds.load()
