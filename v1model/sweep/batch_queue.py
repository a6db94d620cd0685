"""What the batch system says of a sweep's worker jobs.

dask-jobqueue submits the worker jobs and then only watches the scheduler for
workers to join: a job that ends before its worker connects (the worker's
Python cannot be found on the compute node, a module is not loaded, the job is
killed at once) leaves the sweep waiting for ever, and a job pending in a busy
queue looks the same from the outside. These functions ask the queue
(``squeue`` for SLURM, ``qstat`` for PBS) about the jobs, so that the executor
can say which of the two it is, and find the job's log.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

__all__ = ["job_states", "has_ended", "describe_states", "job_log_tail"]

#: SLURM job states after which the job will not run (``squeue --states``);
#: COMPLETING is the moment a job ends
SLURM_ENDED = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "COMPLETING", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})
#: PBS job states after which the job will not run: exiting, completed (Torque),
#: finished (PBS Pro, with ``qstat -x``)
PBS_ENDED = frozenset({"E", "C", "F"})
#: seconds a queue query may take before the state counts as unknown
QUERY_TIMEOUT = 60


def job_states(kind: str, job_ids) -> dict | None:
    """The queue state of each job: ``{job_id: (state, reason)}``.

    A job the queue no longer lists has ended (state ``"GONE"``). Returns
    None when the queue cannot be asked (command missing, controller not
    answering), so that a caller never takes "unknown" for "ended".

    Parameters
    ----------
    kind : {"slurm", "pbs"}
    job_ids : sequence of str
        Job ids as the submission printed them.
    """
    job_ids = [str(j) for j in job_ids]
    if not job_ids:
        return {}
    if kind == "slurm":
        command = ["squeue", "--noheader", "--format=%i %T %r", "--jobs", ",".join(job_ids)]
    else:
        command = ["qstat", *job_ids]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=QUERY_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # both say so when none (squeue) or some (qstat) of the jobs are unknown to them
    unknown = re.search(r"invalid job id|unknown job id", done.stderr, re.IGNORECASE)
    if done.returncode != 0 and not unknown:
        return None
    listed = _parse_slurm(done.stdout) if kind == "slurm" else _parse_pbs(done.stdout)
    states = {}
    for job in job_ids:
        # PBS prints ids shortened or with the server name; compare the leading number
        match = listed.get(job) or listed.get(_number(job))
        states[job] = match if match is not None else ("GONE", "")
    return states


def _parse_slurm(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            out[parts[0]] = (parts[1], parts[2].strip() if len(parts) == 3 else "")
    return out


def _parse_pbs(text: str) -> dict:
    # Job id / Name / User / Time Use / S / Queue: the state is the fifth column
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and _number(parts[0]):
            out[_number(parts[0])] = (parts[4], "")
    return out


def _number(job_id: str) -> str:
    match = re.match(r"\d+", job_id)
    return match.group(0) if match else ""


def has_ended(kind: str, state: str) -> bool:
    """True for a state after which the job will never run a worker."""
    return state == "GONE" or state in (SLURM_ENDED if kind == "slurm" else PBS_ENDED)


def describe_states(states: dict) -> str:
    """``"2 PENDING (Priority), 1 RUNNING"``: job states counted, reasons kept."""
    counts = Counter(f"{s} ({r})" if r and r not in ("None", "(null)") else s
                     for s, r in states.values())
    return ", ".join(f"{n} {label}" for label, n in counts.most_common())


def job_log_tail(job_id: str, folders, lines: int = 5) -> str:
    """The last ``lines`` lines of the job's output files, or "".

    SLURM and PBS put the job's number in the names of its output files
    (``slurm-123.out``, ``dask-worker-123.err``, ``dask-worker.o123``); the
    files of ``folders`` (the executor's ``log_directory``, else the folder
    the jobs were submitted from) that do are read, error files first.
    """
    number = _number(str(job_id))
    if not number:
        return ""
    pattern = re.compile(rf"(?<!\d){number}(?!\d)")
    found = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found += [p for p in folder.iterdir() if p.is_file() and pattern.search(p.name)]
    found.sort(key=lambda p: (not re.search(r"err|\.e\d", p.name), p.name))
    parts = []
    for path in found[:2]:
        try:
            text = path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            continue
        if text:
            parts.append(f"{path}:\n    " + "\n    ".join(text))
    return "\n".join(parts)
