"""Errors of the sweep machinery."""

from __future__ import annotations

from ..locking import OutputLockedError

__all__ = ["SpecError", "OutputLockedError", "ExecutorStartError", "WorkersLostError",
           "OutputWriteError", "SweepWarning"]


class SweepWarning(UserWarning):
    """Something the user should know about a sweep (e.g. corrupt files in its folder,
    more points or threads at once than CPUs)."""


class SpecError(ValueError):
    """A sweep specification that cannot run; ``field`` names the culprit.

    Raised before any point runs.

    Parameters
    ----------
    field : str
        The offending field (e.g. ``"executor.cores"``); the message starts with it.
    message : str
        What is wrong with it.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ExecutorStartError(RuntimeError):
    """The executor could not start its workers (e.g. the batch system refused
    the job submission); no point has run."""


class WorkersLostError(RuntimeError):
    """The executor's workers are gone and new ones cannot finish points
    (batch jobs that keep ending before any point finished); the sweep stops,
    keeping the points finished so far, and can be resumed."""


class OutputWriteError(OSError):
    """The sweep folder cannot take more files (a full disk, a quota, a folder
    made read-only, one the user may not write); the sweep stops, keeping the
    points saved so far. Built as ``OutputWriteError(errno, message)``; the
    message says what to do for that errno, and ``str()`` is the message
    alone, without OSError's ``[Errno N]``."""

    def __str__(self):
        return self.strerror if self.strerror else super().__str__()
