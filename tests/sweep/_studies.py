"""Tiny study functions for the sweep tests (loaded by the sweep as
"path/to/_studies.py:function", the way users give their own studies).

``log_dir`` makes every call leave files behind, so that tests can count how
often each point started and finished in any process: ``start-<tag>-<uuid>``
when a call begins (holding the pid) and ``finish-<tag>-<uuid>`` when it ends.
"""

import os
import time
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

PARAMETER_UNITS = {"x": "m"}


def _log(log_dir, kind, tag):
    if log_dir:
        name = f"{kind}-{tag}-{uuid.uuid4().hex}"
        tmp = Path(log_dir) / f".{name}"
        tmp.write_text(str(os.getpid()))
        os.replace(tmp, Path(log_dir) / name)  # readers never see an empty file


def tiny(quick=False, seed=0, x=1.0, label="a", n=3, log_dir=None, sleep=0.0, fail_flag=None,
         fail_x=None):
    """y = x * N(0, 1) drawn with ``seed``; v = x + arange(n) + uniform noise; a
    label-dependent string. Fails when ``fail_x == x`` while the file
    ``fail_flag`` exists."""
    tag = f"{x}-{label}-{seed}"
    _log(log_dir, "start", tag)
    if sleep:
        time.sleep(sleep)
    if fail_x is not None and x == fail_x and fail_flag and Path(fail_flag).exists():
        raise ValueError(f"boom at x={x}")
    rng = np.random.default_rng(seed)
    y = x * rng.normal()
    v = x + np.arange(n) + rng.uniform(size=n)
    ds = xr.Dataset(
        {
            "y": ((), y, {"units": "m"}),
            "v": (("k",), v, {"units": "m"}),
            "count": ((), np.int64(n)),
            "name": ((), f"{label}{n}"),
        },
        coords={"k": np.arange(n)},
        attrs={"study": "tiny", "x": x, "quick": int(quick)},
    )
    _log(log_dir, "finish", tag)
    return ds


def with_bar(quick=False, seed=0, x=1.0, label="a", n=3, log_dir=None, sleep=0.0):
    """``tiny`` under a disabled progress bar, as the studies make one (tqdm's first
    bar in a process made a multiprocessing lock: a named semaphore)."""
    from v1model.progress import progress_bar

    with progress_bar(False, total=1, desc="point"):
        return tiny(quick, seed, x, label, n, log_dir, sleep)


def retiring(quick=False, seed=0, x=1.0, label="a", n=3, log_dir=None, hold=60.0):
    """``tiny`` on workers that retire as ``--lifetime`` retires them, in an order that
    does not depend on the machine's load: on the first job to run a point
    (``SLURM_JOB_ID``, ``PBS_JOBID``), each worker process finishes its first point at
    once; at its next one, once the sweep has received the first, it retires its worker
    and holds the point until the worker is gone (each wait at most ``hold`` s), so
    that point cannot finish there. Points on later jobs finish at once. (A wall-clock
    ``--lifetime 10s`` raced the workers' start: on a loaded machine, importing the study
    took 5 s and its first point 4 s more, the first points finished as the lifetime
    ended, or not at all, and the sweep stopped: WorkersLostError.)"""
    job = os.environ.get("SLURM_JOB_ID") or os.environ["PBS_JOBID"]
    first = Path(log_dir) / "first-job"
    tmp = Path(log_dir) / f".first-job-{uuid.uuid4().hex}"
    tmp.write_text(job)
    try:
        os.link(tmp, first)  # the first job to get here claims the name, whole
    except FileExistsError:
        pass
    tmp.unlink()
    finished = Path(log_dir) / f"finished-{os.getpid()}"
    if first.read_text() == job and finished.exists():
        _retire(hold)
    ds = tiny(quick, seed, x, label, n)
    finished.touch()
    return ds


def _retire(hold):
    """Retire this task's dask worker the way ``--lifetime`` does when it ends, once the
    sweep has received the results the worker holds (a result left on a retiring worker
    is lost, and its point runs again on the next job), then wait until it has retired;
    each wait at most ``hold`` s."""
    from distributed import get_worker

    worker, deadline = get_worker(), time.monotonic() + hold
    while len(worker.data) and time.monotonic() < deadline:  # released once received
        time.sleep(0.02)
    worker.loop.add_callback(worker.close_gracefully, reason="worker-lifetime-reached")
    _until_retired(hold)


def _until_retired(hold):
    """Wait until this task's dask worker has retired (the scheduler removed it: its
    status went past ``closing_gracefully``), at most ``hold`` s. Not a fixed ``hold``:
    a retiring worker waits for its running points, and so did the job's end."""
    from distributed import get_worker
    from distributed.core import Status

    worker, deadline = get_worker(), time.monotonic() + hold
    while worker.status in (Status.running, Status.closing_gracefully) and \
            time.monotonic() < deadline:
        time.sleep(0.02)


def outliving(quick=False, seed=0, x=1.0, hold=60.0):
    """``tiny`` in a point that cannot finish on its worker: it runs until the worker
    has retired (``--lifetime``, as at a walltime; at most ``hold`` s), and its result
    goes with the worker. (A fixed 60 s point kept the retired worker's job alive
    while the worker waited for it.)"""
    _until_retired(hold)
    return tiny(quick, seed, x)


def unindexed(quick=False, seed=0, n=2):
    """An output whose length depends on the parameter and has no coordinate."""
    return xr.Dataset({"w": (("atom",), np.arange(n, dtype=np.int64) + 1)})


def labelled(quick=False, seed=0, n=2):
    """Text outputs whose length depends on the parameter (one with a coordinate,
    one without), and an indexed output that only n > 1 gives."""
    ds = xr.Dataset({"tag": (("atom",), [f"L{i}" for i in range(n)]),
                     "name": (("k",), [f"k{i}" for i in range(n)])},
                    coords={"k": np.arange(n) * 10})
    if n > 1:
        ds["extra"] = (("j",), np.arange(3.0) * n)
        ds = ds.assign_coords(j=[5, 6, 7])
    return ds


def not_a_dataset(quick=False, seed=0, x=0):
    return {"y": x}


def clashing(quick=False, seed=0, x=0):
    """Outputs named like the sweep's per-point variables (schultz-2014 has an `error`)."""
    return xr.Dataset({"status": ((), 1.0), "error": (("eval",), [0.5, x])})


def clashing_twice(quick=False, seed=0, x=0):
    """A per-point variable's name and the name it would be renamed to."""
    return xr.Dataset({"status": ((), 1.0), "status_output": ((), 2.0)})


def own_name(quick=False, seed=0, x=0):
    """An output variable and a dimension named like the swept parameter."""
    return xr.Dataset({"x": (("atom",), np.arange(2.0) + x), "w": (("x",), np.ones(3))})


def no_seed(quick=False, x=0):
    return xr.Dataset()


def kwargs_study(quick=False, seed=0, **params):
    return xr.Dataset({"total": ((), float(sum(params.values())))})


def half(quick=False, seed=0, x=0.0):
    """A float16 result (one value float16 rounds: 0.1 is not exact in it)."""
    return xr.Dataset({"h": (("atom",), np.array([x, 0.1], dtype=np.float16))})


def long_double(quick=False, seed=0, x=0.0):
    """A long double result (float128 where the platform has it)."""
    return xr.Dataset({"w": (("atom",), np.array([x, 0.1], dtype=np.longdouble))})


def noop(quick=False, seed=0, x=0):
    """A trivial point (executor overhead)."""
    return xr.Dataset({"y": ((), float(x))})


def crashing(quick=False, seed=0, x=0.0, crash_x=None, log_dir=None, sleep=0.0, exit_code=3):
    """Kills its own process (like a segfault or the OOM killer) when x == crash_x."""
    tag = f"{x}-a-{seed}"
    _log(log_dir, "start", tag)
    if x == crash_x:
        time.sleep(sleep / 2)
        os._exit(exit_code)
    time.sleep(sleep)
    _log(log_dir, "finish", tag)
    return xr.Dataset({"y": ((), float(x))})


from v1model.sweep import checks_parameters, parameters_checked  # noqa: E402


@checks_parameters
def checked(quick=False, seed=0, x=1.0, log_dir=None):
    """Refuses x <= 0 before its work; logs "work-<x>" when it does the work."""
    if x <= 0:
        raise ValueError(f"x must be > 0, got {x}")
    parameters_checked()
    _log(log_dir, "work", f"{x}-{seed}")
    return xr.Dataset({"y": ((), 2.0 * x, {"units": "m"})})


@checks_parameters
def forgets_checkpoint(quick=False, seed=0, x=1.0):
    """Marked, but never calls parameters_checked (a study bug)."""
    return xr.Dataset({"y": ((), x)})


def appends(quick=False, seed=0, x=1.0, sizes=(0,)):
    """A careless study that appends to the list it is given: the sweep must give
    every point its own copy (records what it saw)."""
    seen = len(sizes)
    if isinstance(sizes, list):
        sizes.append(x)
    return xr.Dataset({"n_sizes": ((), seen, {"units": "1"})})


def records_progress(quick=False, seed=0, x=1.0, progress=True):
    """Records the ``progress`` it was called with (a sweep turns study bars off)."""
    return xr.Dataset({"progress_on": ((), int(bool(progress)), {"units": "1"})})


def unpicklable(quick=False, seed=0, x=1.0):
    """A Dataset holding an object that cannot be pickled when x == 2 (it can be
    returned in this process, but cannot travel back from a worker)."""
    import threading

    value = np.array(threading.Lock() if x == 2.0 else 0.0, dtype=object)
    return xr.Dataset({"y": ((), float(x)), "f": ((), value)})


def mixed_kinds(quick=False, seed=0, x=0.0):
    """Returns its output as text at x == 2 and as a number elsewhere."""
    return xr.Dataset({"y": ((), "two" if x == 2.0 else int(x))})


def blas_threads(quick=False, seed=0, x=0.0):
    """The threads the BLAS libraries loaded in this process use, numba's (the parallel
    kernel of ``encode(method="cd")``), and the variables that set them."""
    import numba
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return xr.Dataset({
        "blas_threads": ((), np.int64(max(blas, default=-1))),
        "numba_threads": ((), np.int64(numba.get_num_threads())),
        **{name.lower(): ((), os.environ.get(name, "")) for name in
           ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "NUMBA_NUM_THREADS")},
    })


def optional(quick=False, seed=0, x=1.0, rate=None, name: str | None = None):
    """Records whether ``rate`` came as None and the text ``name`` as it came."""
    return xr.Dataset({"y": ((), float(x))},
                      attrs={"rate_is_none": int(rate is None), "rate": str(rate),
                             "name": str(name)})


def reads_folder(quick=False, seed=0, x=1.0, folder: str = "none"):
    """The number of files in ``folder`` (a path, as the studies' ``audio_dir``)."""
    return xr.Dataset({"n_files": ((), np.int64(len(list(Path(folder).iterdir()))),
                                   {"units": "1"})}, attrs={"folder": folder})


class StudyWarning(RuntimeWarning):
    """A warning class of the study file (its module is named only where it is loaded)."""


def warns(quick=False, seed=0, x=1.0, n_distinct=1, repeats=1):
    """Warns ``n_distinct`` different messages (each ``repeats`` times, at one line), a
    :class:`StudyWarning` about ``x``, and one warning that names no line of this file
    (``stacklevel`` past the study: a line of the sweep, or of the process pool)."""
    import warnings

    for k in range(n_distinct):
        for _ in range(repeats):
            warnings.warn(f"message {k}", UserWarning)
    warnings.warn(f"x={x} is large", StudyWarning)
    warnings.warn("from below the study", UserWarning, stacklevel=3)
    return xr.Dataset({"y": ((), float(x))})


def warns_some(quick=False, seed=0, x=1.0, fail_flag=None):
    """Silent at x < 2; warns, as a solver that stopped short of its tolerance, at
    x >= 2; after warning, fails at x == 3 while the file ``fail_flag`` exists."""
    import warnings

    if x >= 2:
        warnings.warn(f"solver did not converge at x={x}", RuntimeWarning)
    if x == 3 and fail_flag and Path(fail_flag).exists():
        raise ValueError(f"diverged at x={x}")
    return xr.Dataset({"y": ((), float(x))})


def warns_lines(quick=False, seed=0, x=1.0):
    """Warns a message of three lines (the second looks like a warning of its own, the
    third follows a Windows line break), then a one-line one."""
    import warnings

    warnings.warn(f"table at x={x}:\nUserWarning: not a warning\r\n  indented row",
                  UserWarning)
    warnings.warn(f"x={x} is fine", RuntimeWarning)
    return xr.Dataset({"y": ((), float(x))})
