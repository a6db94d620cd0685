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

__all__ = ["job_states", "has_ended", "is_exiting", "describe_states", "job_log_tail"]

#: SLURM job states after which the job will not run (``squeue --states``);
#: COMPLETING is the moment a job ends
SLURM_ENDED = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "COMPLETING", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})
#: PBS job states after which the job will not run: exiting, completed (Torque),
#: finished (PBS Pro, with ``qstat -x``)
PBS_ENDED = frozenset({"E", "C", "F"})
#: states of a job that has ended but whose output files may still be on their way
#: (PBS copies them from the node while the job is exiting)
EXITING = frozenset({"COMPLETING", "E"})
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

    Returns
    -------
    dict or None
        Each job id to ``(state, reason)`` (str, str); None when the queue
        cannot be asked.
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
    # both say so when none (squeue) or some (qstat) of the jobs are unknown to them; PBS
    # Pro keeping finished jobs (job_history_enable) says "<id> Job has finished, use -x"
    # (Torque's qstat -x prints XML instead: not an option)
    unknown = re.search(r"invalid job id|unknown job id|job has finished", done.stderr,
                        re.IGNORECASE)
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
    """True for a state after which the job will never run a worker.

    Parameters
    ----------
    kind : {"slurm", "pbs"}
    state : str
        A state from :func:`job_states` (``"GONE"`` included).

    Returns
    -------
    bool
    """
    return state == "GONE" or state in (SLURM_ENDED if kind == "slurm" else PBS_ENDED)


def is_exiting(state: str) -> bool:
    """True for an ended job whose output files may not be written yet.

    Parameters
    ----------
    state : str
        A state from :func:`job_states`.

    Returns
    -------
    bool
    """
    return state in EXITING


def describe_states(states: dict) -> str:
    """``"2 PENDING (Priority), 1 RUNNING"``: job states counted, reasons kept.

    Parameters
    ----------
    states : dict
        As :func:`job_states` returns it.

    Returns
    -------
    str
    """
    counts = Counter(f"{s} ({r})" if r and r not in ("None", "(null)") else s
                     for s, r in states.values())
    return ", ".join(f"{n} {label}" for label, n in counts.most_common())


def job_log_tail(job_id: str, folders, lines: int = 5) -> str:
    """The last ``lines`` lines of the job's output files, or "".

    SLURM and PBS put the job's number in the names of its output files
    (``slurm-123.out``, ``dask-worker-123.err``, ``dask-worker.o123``, and in a
    ``#PBS -o`` folder ``123.server.OU``); the
    files of ``folders`` (the executor's ``log_directory``, else the folder
    the jobs were submitted from) that do are read, error files first.

    Parameters
    ----------
    job_id : str
    folders : sequence of str or path-like
        Folders searched for the job's output files.
    lines : int, default 5
        Lines kept from the end of each file.

    Returns
    -------
    str
        The tails, or "" when no file is found.
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
    # error files first: slurm-1.err, dask-worker.e123, 123.server.ER (PBS Pro's name
    # in a -e folder)
    found.sort(key=lambda p: (not re.search(r"err|\.e\d|\.ER$", p.name, re.IGNORECASE),
                              p.name))
    parts = []
    for path in found[:2]:
        try:
            text = path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            continue
        if text:
            parts.append(f"{path}:\n    " + "\n    ".join(text))
    return "\n".join(parts)
