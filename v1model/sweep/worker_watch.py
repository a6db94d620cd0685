"""Watching a dask sweep's workers while its points run.

A dask scheduler whose workers are all gone waits for ever, silently.
:class:`WorkerWatch` (a cluster the user started, given by its address) says
so every ten minutes. For batch jobs, dask-jobqueue submits the jobs and then
watches only the scheduler, and three cases look the same from there:

- the jobs are pending in a busy queue: worth waiting for, and the user should
  hear so;
- the jobs ended before their worker could start (its Python or a module is
  missing on the compute node): they never will; the job's log says why;
- the jobs ran and ended, at their walltime or when their workers retired
  (``--lifetime``): dask-jobqueue does not submit new ones, neither at a fixed
  scale nor (with several worker processes per job) adaptively, so the sweep
  would stop making progress with points left;
- the batch system refused the jobs (``qsub`` or ``sbatch`` failed: a queue or
  account it does not know, a limit on jobs): dask-jobqueue only logs that, and
  there is no job to wait for.

:class:`JobWatch` asks the queue about the jobs whenever no worker is
connected; it submits a fresh set of jobs when all of them ended after
finishing points, and stops the sweep with an error when a set of jobs ended
without finishing any (so that a point longer than the walltime cannot cycle
jobs for ever) or when every job of a set was refused, quoting the batch system.
"""

from __future__ import annotations

import os
import re
import sys
import threading

from .batch_queue import (
    describe_states,
    has_ended,
    is_exiting,
    job_log_tail,
    job_states,
)
from .errors import ExecutorStartError, WorkersLostError

__all__ = ["WorkerWatch", "JobWatch"]


class WorkerWatch(threading.Thread):
    """Say when no worker has been connected for a while.

    Parameters
    ----------
    executor : DaskExecutor
        Its ``connected_workers()``, ``queue_poll`` (s between two looks),
        ``notice_every`` (s between two notices), ``finished`` and
        ``n_tasks`` are read.
    """

    def __init__(self, executor):
        super().__init__(name="v1model-worker-watch", daemon=True)
        self.executor = executor
        self.stopped = threading.Event()

    def stop(self) -> None:
        """Ask the thread to end (at once, or after its current look)."""
        self.stopped.set()

    def run(self) -> None:
        """Look at the connected workers every ``queue_poll`` s until stopped (or the
        client closes), printing a notice while none is connected."""
        ex = self.executor
        idle, noticed = 0.0, None
        while not self.stopped.wait(ex.queue_poll):
            try:
                workers = ex.connected_workers()
            except Exception:  # noqa: BLE001 - the client is closing
                return
            if workers:
                idle, noticed = 0.0, None
                continue
            idle += ex.queue_poll
            if (noticed is None or idle - noticed >= ex.notice_every) and \
                    not self.stopped.is_set():
                noticed = idle
                _say(f"no worker connected to the dask scheduler {ex.address} for "
                     f"{idle:.0f} s; {ex.n_tasks - ex.finished} point(s) left wait for one")


class JobWatch(WorkerWatch):
    """Watch the workers and jobs of a :class:`JobQueueExecutor` during a map.

    Parameters
    ----------
    executor : JobQueueExecutor
        Its ``client``, ``cluster``, ``kind``, ``queue_poll`` (s between two
        looks), ``notice_every`` (s between two "still waiting" notices),
        ``finished`` (outcomes received so far) and ``completed`` (points the scheduler
        saw finish, received or not; optional) are read, and its ``job_ids()``,
        ``connected_workers()`` and ``submit_errors()`` called; its
        ``resubmit()`` submits a fresh set of jobs.
    on_error : callable
        Called once with the exception that ends the sweep (the map then
        cancels the points left and raises it).
    """

    def __init__(self, executor, on_error):
        super().__init__(executor)
        self.on_error = on_error
        self.resubmissions = 0

    #: consecutive failed looks (a scheduler that does not answer) after which
    #: the watch gives up, and the sweep goes on unwatched
    max_failures = 10
    #: looks at the queue an error waits for the log of jobs still exiting (PBS
    #: copies a job's output files while the job is in state E)
    exit_waits = 2

    def run(self) -> None:
        """Look at the workers and the queue every ``queue_poll`` s until stopped:
        resubmit jobs that all ended, or report them through ``on_error``."""
        ex = self.executor
        jobs: dict = {}  # the current set of jobs, in submission order
        replaced: set = set()  # ended jobs the cluster may list a while longer
        finished_before = self._finished()
        waited, noticed, seen_worker, exit_waits = 0.0, None, False, 0
        failures = 0
        set_since = _now()  # when the current set of jobs was submitted
        while not self.stopped.wait(ex.queue_poll):
            try:
                jobs.update(dict.fromkeys(j for j in ex.job_ids() if j not in replaced))
                connected = ex.connected_workers()
                failures = 0
                if connected:
                    waited, noticed, seen_worker = 0.0, None, True
                    continue
                # a worker that joined and left between two looks was seen all the same
                joined = getattr(ex, "worker_joined_since", None)
                seen_worker = seen_worker or bool(joined is not None and joined(set_since))
                waited += ex.queue_poll
                refused = ex.submit_errors()
                if refused and not jobs:
                    # the batch system refused every job of the set (PBS has no dry run
                    # like SLURM's --test-only): no job will ever come
                    self.on_error(self._refused(refused[0]))
                    return
                states = job_states(ex.kind, list(jobs))
                ended = bool(states) and all(has_ended(ex.kind, s) for s, _ in states.values())
                if self.stopped.is_set():
                    return
                finished = self._finished()
                if ended and finished == finished_before:
                    exiting = any(is_exiting(s) for s, _ in states.values())
                    if exiting and exit_waits < self.exit_waits and not self._log_tails(states):
                        exit_waits += 1  # the job's output is on its way
                        continue
                    self.on_error(self._error(states, waited, seen_worker))
                    return
                if ended:
                    _say(f"all {len(states)} worker job(s) ended ({describe_states(states)}) "
                         f"after {finished - finished_before} point(s) finished; "
                         f"submitting new job(s) for the points left")
                    set_since = _now()
                    ex.resubmit()
                    self.resubmissions += 1
                    replaced.update(jobs)
                    jobs, finished_before = {}, finished
                    waited, noticed, seen_worker, exit_waits = 0.0, None, False, 0
                elif noticed is None or waited - noticed >= ex.notice_every:
                    noticed = waited
                    since = (f"no worker connected for {waited:.0f} s" if seen_worker
                             else f"no worker has joined after {waited:.0f} s")
                    _say(f"{since}: {self._waiting_for(list(jobs), states)}; the points "
                         "go on when a job runs")
            except Exception as exc:  # noqa: BLE001 - a watch that fails must not end the sweep
                failures += 1
                if failures == 1 or failures == self.max_failures:
                    _say(f"warning: could not check the worker jobs ({type(exc).__name__}: "
                         f"{exc})" + ("; the sweep goes on without that check"
                                      if failures == self.max_failures else ""))
                if failures == self.max_failures:
                    return

    def _finished(self) -> int:
        """Points finished so far: those the scheduler saw finish (a retiring worker's
        results may never reach the sweep: dask computes them again on the next job, but
        its job did finish them), at least those the sweep received."""
        ex = self.executor
        return max(ex.finished, getattr(ex, "completed", 0))

    @staticmethod
    def _waiting_for(jobs, states) -> str:
        if not jobs:
            return "no job submitted yet"
        if states is None:
            return f"{len(jobs)} job(s) submitted ({', '.join(jobs)}); the queue did not say " \
                   "their state"
        return f"{len(jobs)} job(s) submitted ({', '.join(jobs)}): {describe_states(states)}"

    def _log_folders(self) -> list:
        log_dir = self.executor.cluster_options.get("log_directory")
        return [log_dir] if log_dir else [os.getcwd()]

    def _log_tails(self, states) -> list:
        folders = self._log_folders()
        return [t for t in (job_log_tail(job, folders) for job in states) if t]

    def _refused(self, text: str) -> Exception:
        """The error for a set of jobs that could not be submitted; ``text`` is the
        submission's error (dask-jobqueue's "Command exited with non-zero exit
        code.\nExit code: N\nCommand:\n...\nstdout:\n...\nstderr:\n...")."""
        ex = self.executor
        command = ex.submit_command()
        code = re.search(r"Exit code: (-?\d+)", text)
        output = re.search(r"stdout:\n(.*)\nstderr:\n(.*)", text, re.DOTALL)
        if output:  # what the command said: its stderr, else its stdout
            text = output.group(2).strip() or output.group(1).strip()
        said = " ".join(line.strip() for line in text.splitlines()[-3:] if line.strip())
        what = (f"`{command}` refused the worker job (exit code {code.group(1)})" if code
                else f"the worker job could not be submitted with `{command}`")
        if self.resubmissions:
            return WorkersLostError(
                f"executor kind {ex.kind!r}: {what}: {said or 'no message'}; the finished "
                "points are saved: `v1model sweep resume` the sweep when jobs can be "
                "submitted again")
        return ExecutorStartError(
            f"executor kind {ex.kind!r}: {what}: {said or 'no message'}; see the script "
            "with `v1model sweep jobscript SPEC`")

    def _error(self, states, waited, seen_worker) -> Exception:
        ex = self.executor
        folders = self._log_folders()
        tails = self._log_tails(states)
        if tails:
            log = "; the end of the job's log:\n" + tails[0]
        elif ex.cluster_options.get("log_directory"):
            log = (f"; no job log found in {folders[0]} (the batch system may not have "
                   "copied it there yet)")
        else:
            log = ("; no job log found in " + folders[0] + " (set log_directory in the "
                   "[executor] table to keep the jobs' output)")
        jobs = f"{len(states)} worker job(s) ({', '.join(states)})"
        if seen_worker:
            walltime = ex.cluster_options.get("walltime")
            limit = f" of {walltime}" if walltime else ""
            return WorkersLostError(
                f"executor kind {ex.kind!r}: all {jobs} ended ({describe_states(states)}) "
                f"before any point finished on them"
                f"{' (they replaced jobs that had ended)' if self.resubmissions else ''}: "
                f"a point may take longer than the jobs' walltime{limit} or their workers' "
                f"--lifetime; the finished points are saved, raise the limit and `v1model "
                f"sweep resume` the sweep{log}")
        cls = WorkersLostError if self.resubmissions else ExecutorStartError
        return cls(
            f"executor kind {ex.kind!r}: all {jobs} left the queue within {waited:.0f} s "
            f"without a worker joining the scheduler ({describe_states(states)}): the "
            f"worker could not start on the compute node (is the job script's Python, from "
            f"`v1model sweep jobscript SPEC`, installed there?){log}")


def _now() -> float:
    """The scheduler's clock (:func:`distributed.metrics.time`)."""
    from distributed.metrics import time

    return time()


def _say(text: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"v1model: {text}", file=sys.stderr)
