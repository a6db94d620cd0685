"""Where the points of a sweep run: in this process, in a local process pool,
on a dask cluster, or on SLURM / PBS jobs through dask-jobqueue.

Every executor has one method that matters, :meth:`Executor.map`: it takes
point tasks and yields their outcomes *as they finish*, in any order, so that
the runner can save each point at once. Executors re-run the point of a worker
that died (a killed process, a lost node); a point that keeps killing its
worker is reported as failed after ``max_attempts`` tries.

The configuration (the ``[executor]`` table of a spec) is checked by
:func:`v1model.sweep.executor_config.check_executor_config` before any work
starts.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import multiprocessing
import sys
import os
import queue
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext

from .._signals import swap_handler
from .executor_config import (
    EXECUTOR_KINDS,
    available_cpus,
    check_executor_config,
    check_job_cpu,
    check_job_mem,
    check_memory_directives,
    check_processes,
    check_resource_spec_mem,
    check_worker_extra_args,
    int_option,
    start_method_option,
    warn_lifetime_past_walltime,
    warn_oversubscribed,
)
from .errors import ExecutorStartError, SweepWarning, WorkersLostError
from .point import THREAD_VARIABLES, PointOutcome, run_point

__all__ = [
    "Executor",
    "SerialExecutor",
    "LocalExecutor",
    "DaskExecutor",
    "JobQueueExecutor",
    "make_executor",
    "check_executor_config",
    "EXECUTOR_KINDS",
]


def make_executor(config) -> "Executor":
    """An executor from a checked config dict (or a kind name, or an Executor).

    Parameters
    ----------
    config : dict, str, Executor or None
        An ``[executor]`` table (with ``kind``), a kind name (``"local"``,
        ``"serial"``, ``"dask"``, ``"slurm"``, ``"pbs"``), None for ``"local"``,
        or an Executor, returned as is.

    Returns
    -------
    Executor
        Not started yet (use it as a context manager, or call ``start``).
    """
    if isinstance(config, Executor):
        return config
    config = check_executor_config(config)
    kind = config.pop("kind")
    if kind == "serial":
        return SerialExecutor()
    if kind == "local":
        return LocalExecutor(**config)
    if kind == "dask":
        return DaskExecutor(**config)
    return JobQueueExecutor(kind, **config)


# ----------------------------------------------------------------------------- executors
class Executor:
    """Base class: a context manager whose :meth:`map` yields outcomes as they finish."""

    kind = "base"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(interrupted=exc_type is not None)
        return False

    def check_can_start(self) -> None:
        """Refuse now what would make :meth:`start` fail, using no resources.

        Called before the sweep folder is created, so that a sweep that
        cannot start leaves nothing behind.

        Raises
        ------
        ExecutorStartError
            The executor cannot start here.
        """

    def check_submission(self) -> None:
        """What ``v1model sweep run --dry-run`` checks: by default what
        :meth:`check_can_start` checks; executors that reach other machines also
        check that they answer, starting nothing that stays.

        Raises
        ------
        ExecutorStartError
            The executor cannot start here.
        """
        self.check_can_start()
        self.warn_oversubscribed()

    def warn_oversubscribed(self) -> None:
        """Warn (:class:`~v1model.sweep.SweepWarning`) when the points this executor runs
        at once on this machine need more threads than its CPUs; :meth:`start` and, for a
        dry run, :meth:`check_submission` call it. Nothing for executors that run points
        elsewhere or one at a time."""

    def start(self) -> None:
        """Acquire resources (pools, clusters)."""

    def close(self, interrupted: bool = False) -> None:
        """Release them; ``interrupted`` asks to stop running points at once.

        Parameters
        ----------
        interrupted : bool, default False
            Stop the points still running instead of waiting for them.
        """

    def map(self, tasks):
        """Yield a :class:`PointOutcome` per task, in completion order.

        Parameters
        ----------
        tasks : iterable of PointTask
            The points to run.

        Yields
        ------
        PointOutcome
            One per task, as each finishes (in any order).
        """
        raise NotImplementedError

    def describe(self) -> dict:
        """Configuration recorded in the result's attrs.

        Returns
        -------
        dict
            ``kind`` and the executor's options.
        """
        return {"kind": self.kind}


class SerialExecutor(Executor):
    """Run points one after the other in this process (reference and debugging)."""

    kind = "serial"

    def map(self, tasks):
        for task in tasks:
            yield run_point(task)


def _thread_exports() -> list:
    """Job-script lines that set :data:`~v1model.sweep.point.THREAD_VARIABLES` to 1 (one
    thread per point) before the user's prologue, which may set them otherwise. dask's
    worker would set OMP, OpenBLAS and MKL but leaves a variable the job's environment
    already holds, and numba's it never sets: PBS Pro puts ``OMP_NUM_THREADS=ncpus`` in
    every job's environment, SLURM the submitter's variables, and numba takes every CPU
    of the job. Lines of the script run after the batch system set up that environment,
    so theirs override it."""
    return ["export " + " ".join(f"{name}=1" for name in THREAD_VARIABLES)]


# Worker-side record of which point each pool worker is running: slot k of the
# shared table holds (pid, point index or -1); set up by _init_worker.
_TABLE = None
_SLOT = None


def _init_worker(threads: int, table, sweep_pid: int) -> None:
    """Process-pool worker setup: BLAS threads per worker, a slot in the shared
    table of running points, Ctrl-C left to the parent (which stops the pool)
    instead of killing points midway, no named semaphore for tqdm's bars (a
    terminated worker would leave it to the resource tracker, which warns of
    it), and an end when the sweep process is gone."""
    import signal
    import threading

    threading.Thread(target=_exit_with, args=(sweep_pid, os.getppid()), daemon=True,
                     name="v1model-exit-with-sweep").start()

    global _TABLE, _SLOT
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before the variable was set (forkserver preload)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's first bar (even a disabled one) made a multiprocessing RLock: a named
    # semaphore registered with the resource tracker, which a worker stopped with SIGTERM
    # (Ctrl-C, a broken pool) never unregisters, so the tracker warned of "2 leaked
    # semaphore objects" after the sweep's "interrupted:" line. Made after the fork, the
    # lock was this worker's alone anyway: a thread lock guards the same.
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    with table.get_lock():
        for k in range(len(table) // 2):
            if table[2 * k] == 0:
                table[2 * k], table[2 * k + 1] = os.getpid(), -1
                _TABLE, _SLOT = table, k
                break


#: seconds between a pool worker's checks that the sweep process still runs
ORPHAN_CHECK_PERIOD = 2.0


def _exit_with(sweep_pid: int, parent_pid: int) -> None:
    """End this pool worker when the sweep process or the worker's own parent
    (the fork server) is gone: killed with SIGKILL, the sweep cannot stop its
    pool, whose workers would otherwise idle on (holding their memory) or
    finish a point nobody will save."""
    while True:
        time.sleep(ORPHAN_CHECK_PERIOD)
        if _is_gone(sweep_pid) or os.getppid() != parent_pid:  # parent died: re-parented
            os._exit(1)


def _is_gone(pid: int) -> bool:
    """True when process ``pid`` has ended, including a zombie nobody has reaped
    yet (its parent may be waiting for the pipes our worker holds open)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process under a reused pid: still there
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):  # no /proc (macOS): a zombie counts as alive
        return False


def _run_tracked(task):
    """run_point, with the point's index in this worker's slot while it runs."""
    if _TABLE is not None:
        _TABLE[2 * _SLOT + 1] = task.index
    try:
        return run_point(task)
    finally:
        if _TABLE is not None:
            _TABLE[2 * _SLOT + 1] = -1


class LocalExecutor(Executor):
    """A pool of worker processes on this machine.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: the CPUs available to this process).
    start_method : {"forkserver", "spawn"}, optional
        How workers start (default ``forkserver`` where available, else
        ``spawn``); ``fork`` is refused (unsafe with threads).
    threads_per_worker : int, optional
        BLAS/OpenMP/numba threads per worker (default ``cpus // workers``, at least
        1; :data:`THREAD_VARIABLES`).
    max_attempts : int, default 3
        A point whose worker dies this many times is recorded as failed.

    Notes
    -----
    ``workers * threads_per_worker`` above the CPUs this process may use gives a
    :class:`~v1model.sweep.SweepWarning` when the pool starts (points that wait on I/O
    may share CPUs on purpose).

    If a worker process dies (killed, out of memory), the pool breaks; the
    points that were in flight are re-submitted to a fresh pool. Only the
    point that was running in the process that died counts an attempt (the
    pool terminates the other workers with SIGTERM, so the dead one is the
    one with another exit code); when that cannot be told, every point in
    flight (at most ``2 * workers``) counts one.
    """

    kind = "local"

    def __init__(self, workers=None, start_method=None, threads_per_worker=None,
                 max_attempts=3):
        cpus = available_cpus()
        self.workers = int_option(1)(workers, "workers") if workers is not None else cpus
        if start_method is None:
            methods = multiprocessing.get_all_start_methods()
            start_method = "forkserver" if "forkserver" in methods else "spawn"
        self.start_method = start_method_option(start_method, "start_method")
        if threads_per_worker is None:
            threads_per_worker = max(1, cpus // self.workers)
        self.threads_per_worker = int_option(1)(threads_per_worker, "threads_per_worker")
        self.max_attempts = int_option(1)(max_attempts, "max_attempts")
        self._pool = None
        self._table = None
        self.pool_restarts = 0

    def describe(self):
        return {"kind": self.kind, "workers": self.workers, "start_method": self.start_method,
                "threads_per_worker": self.threads_per_worker}

    def _new_pool(self):
        ctx = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # workers fork from a server that already imported the heavy modules
            ctx.set_forkserver_preload(["v1model.sweep.executors"])
        self._table = ctx.Array("q", 2 * self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self.threads_per_worker, self._table,
                                             os.getpid()))

    def warn_oversubscribed(self):
        warn_oversubscribed(self.kind, ("workers", self.workers),
                            ("threads_per_worker", self.threads_per_worker),
                            "threads of points (BLAS, OpenMP, numba)")

    def start(self):
        # once per run, before any point: a pool replaced after a crash says nothing
        self.warn_oversubscribed()
        self._pool = self._new_pool()

    def close(self, interrupted=False):
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        if interrupted:
            # shutdown() does not stop running points; the workers ignore SIGINT
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(timeout=5)  # reap them: no zombies left behind

    def map(self, tasks):
        if self._pool is None:
            self.start()
        pending = deque(tasks)
        inflight = {}
        attempts = Counter()
        limit = 2 * self.workers
        while pending or inflight:
            broken = False
            while pending and len(inflight) < limit:
                task = pending.popleft()
                try:
                    inflight[self._submit(task)] = task
                except BrokenProcessPool:
                    # a worker died since the last wait (killed mid-point, or idle): the
                    # error ended the whole sweep; the pool is replaced below
                    pending.appendleft(task)
                    broken = True
                    break
            # the processes as they are now: after a break we need their exit codes
            processes = dict(getattr(self._pool, "_processes", None) or {})
            done = wait(inflight, return_when=FIRST_COMPLETED)[0] if inflight else set()
            lost = []
            for future in done:
                task = inflight.pop(future)
                outcome = self._outcome(future, task)
                if outcome is None:
                    lost.append(task)
                else:
                    yield outcome
            if not lost and not broken:
                continue
            # the pool is broken: every other in-flight future fails too
            wait(inflight)
            for future, task in inflight.items():
                outcome = self._outcome(future, task)
                if outcome is None:
                    lost.append(task)
                else:
                    yield outcome
            inflight.clear()
            # read the exit codes only after the pool's manager thread has joined its
            # workers: a forkserver child's status is read once from a pipe, and a second
            # thread polling at the same time gets EOF and records 255 (seen: a bystander
            # killed by the pool's SIGTERM taken for a crash, failing after max_attempts)
            self._stop_pool()
            culprits = self._culprits(processes, {t.index for t in lost})
            self._pool = self._new_pool()
            self.pool_restarts += 1
            for task in sorted(lost, key=lambda t: t.index, reverse=True):
                if culprits and task.index not in culprits:
                    pending.appendleft(task)  # an innocent bystander: no attempt counted
                    continue
                attempts[task.index] += 1
                if attempts[task.index] >= self.max_attempts:
                    yield PointOutcome.failure(
                        task.index,
                        f"WorkerDied: the worker process died {attempts[task.index]} times "
                        "while this point was running (killed, out of memory or crashed)",
                        attempts=attempts[task.index],
                    )
                else:
                    pending.appendleft(task)

    def _submit(self, task):
        """Submit ``task`` to the pool; while the pool may still start a process on the
        way (it starts them as points come, the fork server with the first), with SIGINT
        held back (:func:`_sigint_held`).

        A Ctrl-C in a terminal signals the whole process group: a worker or the fork
        server still importing, before :func:`_init_worker` (or the fork server itself)
        ignored SIGINT, printed a KeyboardInterrupt traceback after the sweep's
        "interrupted:" line. Started with SIGINT blocked, they never see it; the sweep
        gets the Ctrl-C once the process has started."""
        processes = getattr(self._pool, "_processes", None)
        starting = processes is None or len(processes) < self.workers
        with _sigint_held() if starting else nullcontext():
            return self._pool.submit(_run_tracked, task)

    def _culprits(self, processes, lost) -> set:
        """Indices of the lost points whose worker died by itself (an exit code
        other than the pool's SIGTERM); empty if that cannot be told."""
        import signal

        table = self._table
        running = {table[2 * k]: table[2 * k + 1] for k in range(len(table) // 2)}
        culprits = set()
        for pid, proc in processes.items():
            proc.join(timeout=5)
            # exit code 0 too: a worker still in the middle of a point (its slot says which)
            # that exited by itself (os._exit(0), a library's exit(0)) is the culprit; left
            # out, every point in flight counted an attempt and innocent ones failed
            if proc.exitcode not in (None, -signal.SIGTERM) and running.get(pid, -1) in lost:
                culprits.add(running[pid])
        return culprits

    @staticmethod
    def _outcome(future, task):
        """The future's outcome, or None when its worker died."""
        try:
            return future.result()
        except BrokenProcessPool:
            return None
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            return PointOutcome.failure(task.index, f"{type(exc).__name__}: {exc}")

    def _stop_pool(self):
        old, self._pool = self._pool, None
        old.shutdown(wait=True, cancel_futures=True)


def dask_setup(worker) -> None:
    """Preload hook of the workers of the sweep's own dask LocalCluster: Ctrl-C is left to
    the sweep, which stops the cluster, as the local pool's workers leave it
    (:func:`_init_worker`). A Ctrl-C in a terminal signals the whole process group, and
    every worker process printed a KeyboardInterrupt traceback after the sweep's
    "interrupted:" line.

    Parameters
    ----------
    worker : distributed.Worker
        The worker being started (unused).
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _sigint_held():
    """Hold SIGINT back (block it in the main thread, where signal masks exist, and note
    it in a handler of its own) while the sweep's own dask LocalCluster starts; a Ctrl-C
    meanwhile goes to the handler of before (KeyboardInterrupt) when the hold ends, once
    the cluster is up.

    A Ctrl-C in a terminal signals the whole process group: in the first seconds of the
    start, before :func:`dask_setup` ran in them, the worker processes were still
    importing and each printed a KeyboardInterrupt traceback ("Fatal Python error:
    init_import_site"), and the KeyboardInterrupt stopped LocalCluster midway, leaving a
    half-made cluster whose close at exit printed more. The signal mask is inherited by
    the threads started meanwhile (dask's event loop, which starts the worker processes)
    and by those processes, which thus never see that SIGINT either. The threads started
    before (NumPy's BLAS threads, one per core) still take it, and Python runs its handler
    in the main thread all the same: that handler only notes the Ctrl-C meanwhile. A start
    that hangs holds Ctrl-C back as long; SIGTERM, not held, still stops it.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # no signal masks on Windows, nor the resource tracker (it starts with POSIX's
    # _posixsubprocess: a ModuleNotFoundError stopped every start there): the handler
    # below holds the Ctrl-C all the same
    masks = hasattr(signal, "pthread_sigmask")
    if masks:
        from multiprocessing import resource_tracker

        # started meanwhile, the resource tracker unblocks SIGINT in the thread that starts
        # it (multiprocessing blocks, then unblocks it around the start): the main thread
        # and the threads it started next got the signal, and the worker processes with them
        resource_tracker.ensure_running()
    # the mask alone held nothing once another thread was running: the kernel gives the
    # signal to a thread that does not block it (a BLAS thread), and the KeyboardInterrupt
    # was raised in the middle of LocalCluster, whose half-made cluster was left unclosed
    caught = []
    previous = swap_handler(signal.SIGINT, lambda signum, frame: caught.append(signum))
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masks else None
    try:
        yield
    finally:
        if masks:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a pending SIGINT is noted here
        signal.signal(signal.SIGINT, previous)
        if caught:  # to the handler of before, now: KeyboardInterrupt (the sweep's own)
            signal.raise_signal(signal.SIGINT)


def _worker_preloads(preload, preload_argv) -> dict:
    """The ``preload`` (and ``preload_argv``) of the sweep's own LocalCluster: the user's
    dask config's ``distributed.worker.preload`` and ``preload-argv``, then
    ``v1model.sweep.executors`` (:func:`dask_setup`).

    Parameters
    ----------
    preload : str, list of str or None
        The config's preloads: one name may be given as text (dask takes it so;
        unpacked, its letters were preloaded as modules and no worker started).
    preload_argv : list of str, list of list of str or None
        Their arguments: a list for every preload, or one list per preload, to
        which an empty one for ``v1model.sweep.executors`` is added (dask refused
        one list fewer than preloads, and no worker started).

    Returns
    -------
    dict
        Keyword arguments of ``LocalCluster``.
    """
    preload = [preload] if isinstance(preload, str) else list(preload or [])
    out = {"preload": [*preload, "v1model.sweep.executors"]}
    if preload_argv and not isinstance(preload_argv[0], str):  # one list per preload
        out["preload_argv"] = [*preload_argv, []]
    return out


#: results :meth:`DaskExecutor.map`'s thread takes from the workers ahead of the sweep's
#: saving: beyond them it waits, and the finished points' results stay on their workers
#: (which spill them to disk), not all in this process's memory while a slow file
#: system saves them one by one (netCDF and two fsyncs a point)
RESULTS_AHEAD = 16


def _take_results(futures, client, taken, stop) -> None:
    """Thread body of :meth:`DaskExecutor.map`: put ``(key, result)`` into the queue
    ``taken`` as each future finishes, and release it at once (its worker may then retire
    without losing it); the result is the point's PointOutcome, the task's error
    (KilledWorker, ...), the error of a result that cannot travel back, or None for a
    cancelled future. An error of the thread itself is put as ``(None, error)``. It
    returns once the event ``stop`` is set (the sweep took its last result, or stopped),
    also while it waits for room in ``taken`` (bounded: :data:`RESULTS_AHEAD`)."""
    from distributed import as_completed

    def put(item) -> bool:  # False: the sweep stopped, and takes nothing more
        while not stop.is_set():
            try:
                taken.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        # without its results: as_completed(with_results=True) fetches each result in a
        # background task, and a result that cannot travel back (it does not pickle)
        # raised there, so that its future never came out and the sweep waited for ever
        for future in as_completed(futures, loop=client.loop):
            if stop.is_set():  # the sweep stopped (Ctrl-C, ...): no more fetching
                return
            try:
                if future.status == "cancelled":
                    result = None
                elif future.status == "error":  # KilledWorker, ...: returned, not raised
                    result = future.exception()
                else:
                    result = future.result()
            except Exception as exc:  # noqa: BLE001 - a result that cannot travel back
                result = exc
            if not put((future.key, result)):
                return
            future.release()
    except BaseException as exc:  # noqa: BLE001 - raised in the sweep instead
        put((None, exc))


class DaskExecutor(Executor):
    """Points as tasks on a dask.distributed cluster.

    Parameters
    ----------
    address : str, optional
        Scheduler address of a running cluster (``tcp://host:8786``). If
        omitted, a ``LocalCluster`` is started for the run and closed after.
    n_workers : int, optional
        Worker processes of that LocalCluster (default: available CPUs).
    threads_per_worker : int
        Threads per LocalCluster worker (default 1: one point per process). Each
        point gets one BLAS/OpenMP/numba thread (:data:`THREAD_VARIABLES`); on a
        cluster given by ``address`` or ``client``, one for each library whose
        variable the worker's environment does not set, while the point runs.
    memory_limit : str or int
        Per-worker memory limit of the LocalCluster (default ``"auto"``).
    client : distributed.Client, optional
        Use this client (and its cluster) instead; it is not closed.

    Notes
    -----
    A LocalCluster of ``n_workers * threads_per_worker`` points at once above the CPUs
    this process may use gives a :class:`~v1model.sweep.SweepWarning` when it starts.

    When a worker dies, the scheduler re-runs its tasks on other workers; a
    point whose workers die ``distributed.scheduler.allowed-failures`` times
    (dask's default: 3) comes back as failed (``KilledWorker``).
    """

    kind = "dask"
    #: seconds between two looks at the workers (batch jobs: with none connected,
    #: at the queue too); a cluster of the sweep's own is not watched
    queue_poll = 30.0
    #: seconds between two notices that the sweep waits for a worker
    notice_every = 600.0

    def __init__(self, address=None, n_workers=None, threads_per_worker=1, memory_limit="auto",
                 client=None):
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.memory_limit = memory_limit
        self.client = client
        self._own_client = client is None
        self.cluster = None

    def describe(self):
        out = {"kind": self.kind}
        if self.address:
            out["address"] = self.address
        elif self._own_client:
            out.update(n_workers=self.n_workers or available_cpus(),
                       threads_per_worker=self.threads_per_worker)
        return out

    def _make_cluster(self):
        import dask
        from distributed import LocalCluster

        # numba's threads are not added to dask's pre-spawn-environ: each nanny writes it
        # into this process's os.environ for good, and numba, its threads launched at
        # another count, raised on its next compile; each point limits them (map)
        return LocalCluster(
            n_workers=self.n_workers or available_cpus(),
            threads_per_worker=self.threads_per_worker,
            processes=True,
            memory_limit=self.memory_limit,
            dashboard_address=None,
            # no dashboard, but the scheduler's HTTP server (health, metrics) still took
            # port 8787 and, with it in use (another sweep, a notebook's cluster), printed
            # dask's "Port 8787 is already in use" into the sweep's output: any free port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            # CRITICAL, not ERROR: the scheduler runs in this process and wrote its errors
            # ("Task ... marked as failed because 4 workers died") into the sweep's output,
            # which records them itself (the point's KilledWorker in failed/INDEX.json)
            silence_logs=logging.CRITICAL,
            # in every worker process: Ctrl-C left to the sweep (see dask_setup), after
            # the preloads of the user's dask config, which these replace
            **_worker_preloads(dask.config.get("distributed.worker.preload", None),
                               dask.config.get("distributed.worker.preload-argv", None)),
        )

    def warn_oversubscribed(self):
        if not self.address and self.client is None:  # a cluster of our own, on our CPUs
            warn_oversubscribed(self.kind, ("n_workers", self.n_workers or available_cpus()),
                                ("threads_per_worker", self.threads_per_worker), "points")

    def check_submission(self):
        """Connect to the scheduler at ``address``, if one is given, and disconnect: an
        address the run cannot reach passed a dry run, and the run then failed."""
        super().check_submission()
        if self.address:
            self.start()  # the run's own connection, with its message
            self.close()

    def start(self):
        if self.client is not None:
            return
        from distributed import Client

        self.warn_oversubscribed()
        try:
            # not the process's default client: the executor submits through self.client,
            # and a client that failed to connect stayed the default of every later dask
            # call (a plain netCDF save then failed on 'not a url')
            if self.address:
                self.client = Client(self.address, set_as_default=False)
            else:
                with _sigint_held():
                    self.cluster = self._make_cluster()
                    self.client = Client(self.cluster, set_as_default=False)
        except KeyboardInterrupt:
            # a Ctrl-C held back while the cluster started, raised once it is up: start()
            # runs in `with executor`'s __enter__, so __exit__ would not close it, and
            # dask's exit hook failed to (an AssertionError traceback)
            self.close(interrupted=True)
            raise
        except Exception as exc:  # noqa: BLE001 - dask's own errors name no option
            # an ExecutorStartError: a new sweep folder is removed again, so that the
            # corrected spec can run there
            self.close()
            what = (f"executor.address: cannot connect to the dask scheduler at "
                    f"{self.address!r}" if self.address else
                    f"executor: cannot start a dask LocalCluster ({self.describe()}, "
                    f"memory_limit={self.memory_limit!r})")
            error = ExecutorStartError(f"{what}: {type(exc).__name__}: {exc}")
        else:
            return
        # dask's error held the half-made Client (`tcp://host` without a port: "missing
        # port number"), whose reference cycles outlived the command: collected at exit,
        # once its event loop had stopped, it waited 60 s to close and printed a
        # TimeoutError traceback after the message. With the error dropped (not chained),
        # collect it now, while its loop still runs
        import gc

        gc.collect()
        raise error

    def close(self, interrupted=False):
        if self._own_client and self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def map(self, tasks):
        if self.client is None:
            self.start()
        tasks = list(tasks)
        if not tasks:
            return
        # one point per dask thread: each limits its numba threads (and, on a cluster of the
        # user's own, whose workers' environment the sweep did not set, BLAS's) to one itself
        tasks = [dataclasses.replace(task, threads=1) for task in tasks]
        token = uuid.uuid4().hex[:8]
        keys = [f"v1model-sweep-{token}-{task.index}" for task in tasks]
        futures = self.client.map(run_point, tasks, key=keys, pure=False)
        by_key = dict(zip(keys, tasks))
        cancelled = 0
        self.finished, self.n_tasks = 0, len(tasks)
        # points the scheduler saw finish, their results taken or not: a job whose workers
        # retired (--lifetime) before the sweep took its results had finished them all the
        # same, and the watch stopped the sweep as if a point outlasted the walltime
        self.completed = 0

        def count(future):  # in dask's one callback thread
            if future.status in ("finished", "error", "lost"):  # lost: after it finished
                self.completed += 1

        for future in futures:
            future.add_done_callback(count)
        stopped_by = []

        def stop_sweep(error):
            stopped_by.append(error)
            self.client.cancel(futures)  # wakes the wait below

        watch = self._start_watch(stop_sweep)
        # each result is taken from its worker as its point finishes, by a thread of its
        # own, not when the sweep has saved the points before it: a worker that retired
        # meanwhile (--lifetime, adaptive scaling, its job's end) took the result with it,
        # and dask computed the point again on the next one
        # bounded: unbounded, a sweep saving slower than its cluster ran held every
        # finished point's Dataset in this process (RESULTS_AHEAD)
        taken, stop_taking = queue.Queue(maxsize=RESULTS_AHEAD), threading.Event()
        taker = threading.Thread(target=_take_results,
                                 args=(futures, self.client, taken, stop_taking),
                                 daemon=True, name="v1model-sweep-results")
        taker.start()
        try:
            for _ in futures:
                key, result = taken.get()
                if key is None:  # the taking thread failed: its error
                    raise result
                task = by_key[key]
                if isinstance(result, PointOutcome):
                    self.finished += 1
                    yield result
                elif result is None or isinstance(result, CancelledError):
                    cancelled += 1
                else:
                    self.finished += 1
                    # KilledWorker: the scheduler ran it on allowed_failures + 1 workers
                    tries = getattr(result, "allowed_failures", None)
                    yield PointOutcome.failure(
                        task.index, f"{type(result).__name__}: {result}",
                        attempts=tries + 1 if isinstance(tries, int) else 1)
        finally:
            # a thread waiting for room in the queue (the sweep stopped: Ctrl-C, an error
            # in saving) returns, one fetching a result stops after it, and one waiting
            # for its next future stops once the cancelled futures come out
            stop_taking.set()
            if watch is not None:
                watch.stop()
            for future in futures:
                if not future.done():
                    future.cancel()
            taker.join(timeout=5)
        if stopped_by:
            raise stopped_by[0]
        if cancelled:
            # a WorkersLostError, not a bare RuntimeError: the command line reports it in one
            # line (exit code 1) instead of a traceback
            raise WorkersLostError(
                f"{cancelled} point(s) were cancelled by the dask scheduler (restarted or "
                "lost?); they are still pending: resume the sweep to run them"
            )

    def _start_watch(self, stop_sweep):
        """Start watching the workers while points run; ``stop_sweep(error)``
        ends the map with that error. A cluster of our own restarts its
        workers; one given by address is watched for having none."""
        if not self.address:
            return None
        from .worker_watch import WorkerWatch

        watch = WorkerWatch(self)
        watch.start()
        return watch

    def connected_workers(self) -> int:
        """Number of workers connected to the scheduler now.

        Returns
        -------
        int
        """
        return len(self.client.nthreads())


def _pbs_prologue() -> list:
    """First lines of a PBS job script: where SLURM starts a job in the folder it
    was submitted from and with the submitter's environment, PBS starts it in the
    user's home with a fresh one, so the workers would not find a study module
    that the sweep imports from its folder or from PYTHONPATH (every point failed
    with ModuleNotFoundError)."""
    lines = ['cd "$PBS_O_WORKDIR"']
    if os.environ.get("PYTHONPATH"):
        lines.append(f"export PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])}")
    return lines


def _shell_word(value: str) -> str:
    """``value`` as one word of the job script's shell, with its ``$VARIABLES`` (and a
    leading ``~``) still expanded on the compute node: double-quoted. Written as it was,
    an unset ``$TMPDIR`` left ``--local-directory`` without its value, which took the next
    option's (``--local-directory --lifetime 110m``: every worker died on "Got unexpected
    extra argument (110m)"), and a value with a space became two arguments."""
    home = re.match(r"~[\w.-]*(/|$)", value)  # the shell expands only an unquoted ~/
    home, rest = (home.group(), value[home.end():]) if home else ("", value)
    return home + ('"' + re.sub(r'(["\\`])', r"\\\1", rest) + '"' if rest else "")


def _worker_argument(value) -> str:
    """``value`` (an item of ``worker_extra_args``) as one word of the worker command:
    dask-jobqueue joins the items with spaces as they are, so ``"GPU=1 MEM=2"`` (after
    ``--resources``) became two arguments and the worker refused the second. A plain word
    is written as it is, anything else as :func:`_shell_word` (``$VARIABLES`` still
    expanded on the compute node)."""
    value = str(value)
    return value if re.fullmatch(r"[\w@%+=:,./-]+", value) else _shell_word(value)


def _slurm_filename(value: str) -> str:
    """``value`` in an ``#SBATCH -e/-o`` path with its ``%`` escaped (``%%``): sbatch
    reads ``%`` there as the start of a filename pattern (``%j`` the job id, ``%x`` the
    job name, ``%5a`` ...), so ``/logs/100%x`` named another file."""
    return value.replace("%", "%%")


def _directive_value(value: str) -> str:
    """``value`` as one argument of an ``#SBATCH`` line. sbatch splits those lines at
    white space, honours single and double quotes and backslash escapes, and takes an
    unquoted ``#`` for the start of a comment (SLURM's ``_get_argument`` in
    ``src/sbatch/opt.c``); a value that needs none of that is written as it is."""
    if value and not re.search(r"[\s\"'\\#]", value):
        return value
    return '"' + re.sub(r'(["\\])', r"\\\1", value) + '"'


def _quote_slurm_header(header: str, job_name, log_directory) -> str:
    """dask-jobqueue's ``#SBATCH -J/-e/-o`` lines with their values quoted where sbatch
    needs it: ``#SBATCH -e /home/ada/my work/logs/...`` made sbatch read ``-e
    /home/ada/my`` and an unknown argument ``work/logs/...``. The lines of
    ``job_extra_directives`` are the user's own and are left as they are. A ``%`` of
    the folder or job name in the log paths is escaped (:func:`_slurm_filename`)."""
    name = job_name or "worker"
    ours = {}
    if job_name is not None:
        ours[f"#SBATCH -J {job_name}"] = f"#SBATCH -J {_directive_value(job_name)}"
    if log_directory is not None:
        for flag, ext in (("-e", "err"), ("-o", "out")):
            path = f"{log_directory}/{name}-%J.{ext}"
            escaped = f"{_slurm_filename(log_directory)}/{_slurm_filename(name)}-%J.{ext}"
            ours[f"#SBATCH {flag} {path}"] = f"#SBATCH {flag} {_directive_value(escaped)}"
    lines = header.split("\n")
    for i, line in enumerate(lines):
        if line in ours:
            lines[i] = ours.pop(line)
    return "\n".join(lines)


@functools.cache
def _recording_job_class(job_cls):
    """``job_cls`` (dask-jobqueue's SLURMJob, PBSJob) keeping the error of a failed
    submission as ``submit_error``: dask-jobqueue submits in the background and
    only logs a refused job, which leaves no job id to ask the queue about."""

    from distributed.core import Status

    class RecordingJob(job_cls):
        submit_error = None

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if job_cls.submit_command == "sbatch":
                self.job_header = _quote_slurm_header(self.job_header, self.job_name,
                                                      self.log_directory)

        async def start(self):
            try:
                await super().start()
            except Exception as exc:  # kept for JobWatch, then raised on
                self.submit_error = str(exc) or type(exc).__name__
                # "failed", not "created": closing the cluster asserts that every job it
                # made has ended one way or the other
                self.status = Status.failed
                raise

    RecordingJob.__name__ = RecordingJob.__qualname__ = job_cls.__name__
    return RecordingJob


class JobQueueExecutor(DaskExecutor):
    """Dask workers in SLURM or PBS jobs, through dask-jobqueue.

    Parameters
    ----------
    kind : {"slurm", "pbs"}
    jobs : int, optional
        Submit this many jobs (fixed scale).
    adapt : dict, optional
        ``{"minimum_jobs": m, "maximum_jobs": M}``: let dask submit and cancel
        jobs between m and M with the work left.
    **cluster_options
        Passed to ``SLURMCluster`` / ``PBSCluster``: queue, account, cores,
        processes, memory, walltime, job_cpu and job_mem (SLURM; not below cores
        and memory), job_extra_directives,
        job_script_prologue, worker_extra_args, interface, local_directory,
        log_directory, scheduler_options, ... The scheduler (in this process)
        serves its dashboard on any free port, not dask's 8787, unless
        ``scheduler_options`` gives a ``dashboard_address``.

    Notes
    -----
    While points run, a :class:`~v1model.sweep.worker_watch.JobWatch` asks the
    queue about the jobs whenever no worker is connected: pending jobs are
    reported every ``notice_every`` s; jobs that all ended after finishing
    points (their walltime, or their workers' ``--lifetime``) are replaced by
    new ones, which dask-jobqueue does not do; jobs that all ended before
    finishing any point stop the sweep with :class:`ExecutorStartError` (no
    worker ever joined) or :class:`WorkersLostError`, quoting the job's log;
    so does a set of jobs the batch system refused (quoting ``qsub`` /
    ``sbatch``: PBS has no dry run to check the job script before the sweep).
    """

    def __init__(self, kind, jobs=None, adapt=None, **cluster_options):
        super().__init__()
        self._names_warned = False  # resubmit's warning, once per sweep
        self._lifetime_warned = False  # _warn_lifetime's, once (checked again at start)
        self.kind = kind
        self.jobs = jobs
        self.adapt = adapt
        self.cluster_options = cluster_options

    def describe(self):
        out = {"kind": self.kind, **self.cluster_options}
        if self.jobs is not None:
            out["jobs"] = self.jobs
        if self.adapt is not None:
            out["adapt"] = dict(self.adapt)
        return out

    def _check_processes(self) -> None:
        """:func:`~v1model.sweep.executor_config.check_processes` of the worker processes
        per job the cluster will have: the spec's ``processes`` (checked with the spec,
        but not when this executor was built in Python), else dask's
        ``jobqueue.<kind>.processes`` config, which dask-jobqueue reads and no check saw
        (``cores = 8`` with a config's 3 ran 6 points on 8 CPUs). Without either,
        dask-jobqueue picks a divisor of cores itself. On SLURM, the CPUs the job asks for
        (``job_cpu``, from the spec or ``jobqueue.slurm.job-cpu``) too:
        :func:`~v1model.sweep.executor_config.check_job_cpu`, and the memory it asks for
        (``job_mem``, or ``jobqueue.slurm.job-mem``) against ``memory`` (the spec's or
        ``jobqueue.slurm.memory``): :func:`~v1model.sweep.executor_config.check_job_mem`;
        on PBS the ``mem`` of ``resource_spec`` (or ``jobqueue.pbs.resource-spec``):
        :func:`~v1model.sweep.executor_config.check_resource_spec_mem`. On both, no memory
        request in ``job_extra_directives`` (or ``jobqueue.<kind>.job-extra-directives``),
        which would override or contradict those unchecked:
        :func:`~v1model.sweep.executor_config.check_memory_directives`."""
        import dask

        def given(key):  # (value, where it comes from)
            if self.cluster_options.get(key) is not None:
                return self.cluster_options[key], f"executor.{key}"
            config = f"jobqueue.{self.kind}.{key.replace('_', '-')}"  # dask's spelling
            return dask.config.get(config, None), f"{config} (dask config)"

        directives, directives_field = given("job_extra_directives")
        if directives is not None:
            check_memory_directives(self.kind, directives, directives_field)
        (memory, _), (resource_spec, resource_field) = given("memory"), given("resource_spec")
        if self.kind == "pbs" and resource_spec is not None and memory is not None:
            check_resource_spec_mem(memory, resource_spec, resource_field)
        (cores, cores_field), (processes, field) = given("cores"), given("processes")
        if cores is None:
            return  # dask-jobqueue's own error
        cores = int_option(1)(cores, cores_field)
        if processes is not None:  # else dask-jobqueue's own default
            check_processes(cores, int_option(1)(processes, field), field)
        if self.kind == "slurm":
            job_cpu, job_cpu_field = given("job_cpu")
            if job_cpu is not None:
                check_job_cpu(cores, int_option(1)(job_cpu, job_cpu_field), job_cpu_field)
            job_mem, job_mem_field = given("job_mem")
            if job_mem is not None and memory is not None:  # else dask-jobqueue's own
                check_job_mem(memory, job_mem, job_mem_field)

    def _worker_extra_args(self) -> list:
        """The ``worker_extra_args`` the jobs' workers get: the spec's, else dask's
        ``jobqueue.<kind>.worker-extra-args`` config, which dask-jobqueue reads; checked
        (:func:`~v1model.sweep.executor_config.check_worker_extra_args`) here too, as
        neither an executor built in Python nor the config went through the spec's check.
        """
        import dask

        if self.cluster_options.get("worker_extra_args") is not None:
            value, field = self.cluster_options["worker_extra_args"], "executor.worker_extra_args"
        else:
            field = f"jobqueue.{self.kind}.worker-extra-args"
            value, field = dask.config.get(field, None), f"{field} (dask config)"
        return [] if value is None else check_worker_extra_args(value, field)

    def _warn_lifetime(self, args) -> None:
        """:func:`~v1model.sweep.executor_config.warn_lifetime_past_walltime` of the
        workers' arguments ``args`` and the walltime the jobs get: the spec's, else dask's
        ``jobqueue.<kind>.walltime`` config (dask-jobqueue's default: 30 minutes); once
        per executor."""
        import dask

        if self._lifetime_warned:
            return
        self._lifetime_warned = True
        try:
            import dask_jobqueue  # noqa: F401 - it adds its defaults to dask's config
        except ImportError:
            return  # the run says it is missing
        args_field = ("executor.worker_extra_args"
                      if self.cluster_options.get("worker_extra_args") is not None
                      else f"jobqueue.{self.kind}.worker-extra-args (dask config)")
        if self.cluster_options.get("walltime") is not None:
            walltime, field = self.cluster_options["walltime"], "executor.walltime"
        else:
            field = f"jobqueue.{self.kind}.walltime"
            walltime, field = dask.config.get(field, None), f"{field} (dask config)"
        warn_lifetime_past_walltime(args, walltime, self.kind, args_field, field)

    def _make_cluster(self, **extra):
        import dask_jobqueue

        self._check_processes()  # also for `sweep jobscript`, which does not start
        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[self.kind]
        # CRITICAL, as DaskExecutor's: the sweep reports what the scheduler logs as errors
        options = {"silence_logs": logging.CRITICAL, **self.cluster_options, **extra}
        import dask

        if options.get("python") is None and \
                dask.config.get(f"jobqueue.{self.kind}.python", None) is None:
            # dask-jobqueue writes this interpreter's path into the job script unquoted:
            # under a folder with a space ("/home/ada/My Projects/venv") every job failed
            options["python"] = shlex.quote(sys.executable)
        # the scheduler runs on the login node, where dask's default port 8787 is often
        # taken (dask then warns and picks another) or forbidden: any free port, unless
        # the spec's scheduler_options (or dask's jobqueue config) name one
        configured = options.get("scheduler_options")
        if configured is None:
            configured = dask.config.get(f"jobqueue.{self.kind}.scheduler-options", None) or {}
        options["scheduler_options"] = {"dashboard_address": ":0", **configured}
        if options.get("local_directory") is not None:
            options["local_directory"] = _shell_word(options["local_directory"])
        extra_args = self._worker_extra_args()
        if extra_args:
            options["worker_extra_args"] = [_worker_argument(a) for a in extra_args]
        prologue = options.get("job_script_prologue")
        if prologue is None:  # dask-jobqueue's own fallbacks, which the lines below replace
            prologue = (dask.config.get(f"jobqueue.{self.kind}.job-script-prologue", None)
                        or dask.config.get(f"jobqueue.{self.kind}.env-extra", None) or [])
        # one thread per point, before the user's lines, which may set other counts
        prologue = [*_thread_exports(), *prologue]
        if self.kind == "pbs":
            prologue = [*_pbs_prologue(), *prologue]
        options["job_script_prologue"] = prologue
        try:
            return cls(job_cls=_recording_job_class(cls.job_cls), **options)
        except OSError as exc:
            log_dir = options.get("log_directory")
            if log_dir is None or exc.filename is None:
                raise
            # dask-jobqueue creates the log folder here: its bare "[Errno 13] Permission
            # denied" named no option, and left the new sweep folder behind
            raise ExecutorStartError(
                f"executor.log_directory: cannot create {log_dir!r}, where the jobs write "
                f"their logs: {exc.strerror or exc} ({exc.filename})") from exc

    def job_script(self) -> str:
        """The batch script one job of this executor would submit.

        Returns
        -------
        str
        """
        log_dir = self.cluster_options.get("log_directory")
        created = []  # the log folder and its missing parents, deepest first
        folder = os.path.abspath(log_dir) if log_dir is not None else None
        while folder is not None and not os.path.exists(folder) and \
                os.path.dirname(folder) != folder:
            created.append(folder)
            folder = os.path.dirname(folder)
        cluster = self._make_cluster()  # its scheduler on any free port, as a run's
        try:
            return cluster.job_script()
        finally:
            cluster.close()
            # dask-jobqueue makes them (os.makedirs); printing a script should not
            for folder in created:
                try:
                    os.rmdir(folder)
                except OSError:
                    break

    def job_ids(self) -> list:
        """Ids of the jobs submitted so far (dask-jobqueue's Job objects).

        Returns
        -------
        list of str
        """
        if self.cluster is None:
            return []
        return [str(job.job_id) for job in list(self.cluster.workers.values())
                if getattr(job, "job_id", None)]

    def submit_errors(self) -> list:
        """The messages of this cluster's job submissions that failed (``qsub`` or
        ``sbatch`` refused the job), which dask-jobqueue only logs.

        Returns
        -------
        list of str
        """
        if self.cluster is None:
            return []
        return [job.submit_error for job in list(self.cluster.workers.values())
                if getattr(job, "submit_error", None) is not None]

    def worker_joined_since(self, since: float) -> bool:
        """Whether a worker connected to the scheduler at or after ``since``.

        The watch looks at the connected workers only every ``queue_poll`` s: a
        job whose workers joined and were killed in between (out of memory at
        the first point, a short walltime) looked like one whose worker never
        started. The scheduler records every change of its thread count.

        Parameters
        ----------
        since : float
            A time of :func:`distributed.metrics.time` (seconds since the epoch).

        Returns
        -------
        bool
            False also when the scheduler keeps no such record.
        """
        from itertools import pairwise

        scheduler = getattr(self.cluster, "scheduler", None)
        history = list(getattr(scheduler, "total_nthreads_history", None) or [])
        return any(when >= since and nthreads > before
                   for (_, before), (when, nthreads) in pairwise(history))

    def _start_watch(self, stop_sweep):
        from .worker_watch import JobWatch

        watch = JobWatch(self, stop_sweep)
        watch.start()
        return watch

    def resubmit(self) -> None:
        """Replace every job by a new one (all of them ended).

        dask-jobqueue keeps an ended job in its plan (with several worker
        processes per job it never notices it ended), so scaling to the same
        size does nothing: scale to zero, which drops the ended jobs (none of
        them has a worker left), and once they are gone scale back up, which
        submits new ones (scaling up before they are gone would find the jobs
        it asks for already there), under names no ended job had: dask closes
        the job of a worker's name ``distributed.deploy.lost-worker-timeout``
        (15 s) after that worker left, and a new job of the same name (one
        worker process per job) whose worker had not joined by then (pending
        in the queue) was cancelled, and the sweep stopped: WorkersLostError.
        """
        if self.adapt is not None:
            # adaptive scaling would scale up in between; it restarts below
            self._adaptive.stop()
            jobs = max(1, int(self.adapt.get("minimum_jobs") or 0))
        else:
            jobs = self.jobs
        cluster = self.cluster
        ended = set(cluster.worker_spec)
        cluster.scale(jobs=0)
        deadline = time.monotonic() + 120
        while cluster.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        # SpecCluster names a new job after its counter _i, which stays at the last name;
        # dask has no public way to skip names
        if isinstance(getattr(cluster, "_i", None), int) and \
                callable(getattr(cluster, "_new_worker_name", None)):
            while cluster._new_worker_name(cluster._i) in ended:
                cluster._i += 1
        elif not self._names_warned:
            self._names_warned = True
            warnings.warn(
                f"executor kind {self.kind!r}: this dask's {type(cluster).__name__} has no "
                "SpecCluster._i counter to give the new jobs names no ended job had: a new "
                "job that takes an ended job's name is cancelled by dask "
                "(distributed.deploy.lost-worker-timeout, 15 s, after that job's worker "
                "left) unless its worker has joined by then, and a sweep whose new jobs "
                "wait in the queue stops (WorkersLostError; resume it)",
                # a fixed level: the sweep's JobWatch thread calls this, and no frame of
                # that thread is the user's (user_stacklevel would name threading.py); 2
                # names the watch's line
                SweepWarning, stacklevel=2)
        cluster.scale(jobs=jobs)
        if self.adapt is not None:
            self._adaptive = self.cluster.adapt(**self.adapt)

    def submit_command(self) -> str:
        """The command that submits this executor's jobs (`sbatch`, `qsub`).

        Returns
        -------
        str
        """
        import dask_jobqueue

        job = {"slurm": dask_jobqueue.slurm.SLURMJob, "pbs": dask_jobqueue.pbs.PBSJob}[self.kind]
        return job.submit_command

    def warn_oversubscribed(self):
        """Nothing: the points run in the jobs, whose processes must divide their cores
        (:meth:`_check_processes`)."""

    def check_submission(self) -> None:
        """What :meth:`start` checks before it submits a job, submitting none: the
        submit command is on PATH and (SLURM) ``sbatch --test-only`` accepts the
        job script. ``v1model sweep run --dry-run`` calls it.

        Raises
        ------
        ExecutorStartError
            Naming the command and quoting the batch system's message.
        """
        self.check_can_start()
        if self.kind == "slurm":
            self._check_submission(self.submit_command(), self.job_script())

    def _check_submission(self, command: str, script: str):
        """Let SLURM validate the job script without submitting it.

        dask-jobqueue submits in the background, where a refused job (a wrong
        account, partition or memory request) is only a log line and the sweep
        would wait for workers that never come. PBS has no such check.
        """
        if self.kind != "slurm":
            return
        fd, path = tempfile.mkstemp(prefix="v1model-sweep-job-", suffix=".sh")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(script)
            done = subprocess.run([command, "--test-only", path], capture_output=True,
                                  text=True, timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise ExecutorStartError(
                f"executor kind 'slurm': `{command} --test-only` did not answer within "
                f"{exc.timeout:.0f} s (is the SLURM controller reachable from here?)") from exc
        finally:
            os.unlink(path)
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()
            raise ExecutorStartError(
                f"executor kind 'slurm': `{command} --test-only` refused the job script "
                f"(exit code {done.returncode}): {' '.join(said[-3:])}; "
                "see the script with `v1model sweep jobscript SPEC`")

    def check_can_start(self):
        """Refuse worker processes that do not divide a job's cores (:meth:`_check_processes`),
        worker arguments that override the job script's (:meth:`_worker_extra_args`) and a
        machine without the batch system's submit command; warn of a worker ``--lifetime``
        that does not end before the walltime (:meth:`_warn_lifetime`)."""
        self._check_processes()
        self._warn_lifetime(self._worker_extra_args())
        command = self.submit_command()
        if shutil.which(command) is None:
            raise ExecutorStartError(
                f"executor kind {self.kind!r} submits its workers with `{command}`, which is "
                "not on PATH: start the sweep on the cluster's login node, or run it here "
                "with executor kind 'local' (`--executor local`)")

    def start(self):
        from distributed import Client

        self.check_can_start()  # start() may be called without the sweep's pre-flight
        command = self.submit_command()
        self.cluster = self._make_cluster()
        try:
            self._check_submission(command, self.cluster.job_script())
        except BaseException:
            self.cluster.close()
            self.cluster = None
            raise
        if self.adapt is not None:
            self._adaptive = self.cluster.adapt(**self.adapt)
        else:
            self.cluster.scale(jobs=self.jobs)
        self.client = Client(self.cluster, set_as_default=False)

