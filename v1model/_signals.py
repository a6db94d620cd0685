"""Installing a signal handler for a block and putting the one before back."""

from __future__ import annotations

import signal

__all__ = ["swap_handler"]


def swap_handler(signum: int, handler):
    """Install ``handler`` for the signal ``signum``; return the handler to restore.

    Parameters
    ----------
    signum : int
        The signal, e.g. ``signal.SIGTERM``.
    handler : callable or signal.Handlers
        The handler to install (as for :func:`signal.signal`).

    Returns
    -------
    callable or signal.Handlers
        The handler before, for ``signal.signal(signum, previous)`` at the end of the
        block; ``signal.SIG_DFL`` when Python does not know it (``signal.signal``
        returns None for a handler an embedding host or a job launcher installed
        outside Python, and ``signal.signal(signum, None)`` raised TypeError, which
        replaced the KeyboardInterrupt of a SIGTERM met while a figure was drawn).
        Such a handler cannot be put back from Python.
    """
    previous = signal.signal(signum, handler)
    return signal.SIG_DFL if previous is None else previous
