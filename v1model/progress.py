"""Progress bars for calls whose length depends on the data.

Every call that can run long (the solvers behind ``encode``, the Cauchy MAP
codes, the convolutional solvers, the spiking simulators, the analysis
probes and fits, ``stimuli.dead_leaves``, ``pink_noise``, ``sample_patches``,
``whiten``, ``stimuli.audio.sample_segments`` and ``harmonic_ensemble``) takes
``progress``: ``True`` shows a bar at once, ``False`` never, and the default
``None`` shows one only once
the call has run for :data:`PROGRESS_DELAY` seconds, so that the many short
calls of a learning loop never draw one and a long call (10,000 patches
coded to a tight tolerance) is not silent. Inside :func:`quiet_auto_bars` (a sweep's points,
whose workers share one terminal or a cluster job's log) ``None`` shows
none. A job decorated with :func:`quiet_when_told` (every study's ``run``) runs
inside that block when its own ``progress`` is False, so that no call it makes
draws a bar, whether or not the job passes its flag on.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import sys

import numpy as np

from .validation import did_you_mean

__all__ = ["PROGRESS_DELAY", "check_progress", "inner_progress", "progress_bar", "quiet_auto_bars",
           "quiet_when_told"]

#: seconds a call with ``progress=None`` runs before its bar appears
PROGRESS_DELAY = 2.0

_QUIET = contextvars.ContextVar("v1model_quiet_auto_bars", default=False)


def check_progress(progress, name: str = "progress"):
    """``progress`` if it is True, False or None, else a TypeError naming it.

    Parameters
    ----------
    progress : object
        The value given.
    name : str, default "progress"
        Argument name used in the error message.

    Returns
    -------
    bool or None
        ``progress`` itself (a NumPy bool as a Python bool).

    Raises
    ------
    TypeError
        For anything but True, False (Python or NumPy) and None (``1``, ``"yes"``).
    """
    if progress is None or isinstance(progress, bool):
        return progress
    if isinstance(progress, np.bool_):  # a flag read from an array or a netCDF attribute
        return bool(progress)
    raise TypeError(f"{name} must be True, False or None (a bar once the call runs "
                    f"{PROGRESS_DELAY:g} s), got {progress!r}")


def inner_progress(progress: bool) -> bool | None:
    """The ``progress`` a long job passes to its short inner calls (loading, whitening,
    a transform): None (a bar only once a call has run :data:`PROGRESS_DELAY`) when the
    job shows progress, False (none) when it was told not to.

    Parameters
    ----------
    progress : bool
        The job's own setting.

    Returns
    -------
    None or False
    """
    return None if progress else False


def progress_bar(progress, *, total, desc: str, unit: str = "sample", **kwargs):
    """A tqdm bar over ``total`` ``unit``\\s that leaves the screen when done.

    Parameters
    ----------
    progress : bool or None
        True: shown at once; False: never; None: shown once the call has run
        :data:`PROGRESS_DELAY` s, unless inside :func:`quiet_auto_bars`
        (NumPy bools as Python bools).
    total : int or float
        Units of work, advanced by the caller's ``bar.update(n)``.
    desc : str
        Label in front of the bar.
    unit : str, default "sample"
    **kwargs
        Other arguments of ``tqdm`` (e.g. ``bar_format``, ``iterable``,
        ``mininterval``).

    Returns
    -------
    tqdm.auto.tqdm
        The bar (a context manager; disabled bars draw nothing).
    """
    from tqdm.auto import tqdm

    # np.False_ (a flag read from an array or a netCDF attribute) is not False: it drew
    # the bar at once, as True does
    progress = check_progress(progress)
    disable = progress is False or (progress is None and _QUIET.get())
    options = dict(leave=False, disable=disable, mininterval=0.5,
                   delay=PROGRESS_DELAY if progress is None else 0.0)
    options.update(kwargs)
    return _delayed(tqdm)(total=total, desc=desc, unit=unit, **options)


_DELAYED = {}


def _delayed(base):
    """``base`` (a tqdm class) whose explicit refreshes wait for ``delay`` too.

    tqdm's ``delay`` holds back only the bar's own updates: ``reset``,
    ``set_description`` and ``set_postfix`` draw it at once, so that a call of
    milliseconds (e.g. a few Gabor fits, whose bar is reset between its two
    stages) flashed its bar. Once shown, a bar refreshes as usual.
    """
    if base not in _DELAYED:
        class DelayedBar(base):
            _shown = False

            def refresh(self, *args, **kwargs):
                if not self.disable and not self._shown:
                    start = getattr(self, "start_t", None)  # unset while tqdm starts
                    if start is not None and self._time() - start < self.delay:
                        return None
                    self._shown = True
                return super().refresh(*args, **kwargs)

        DelayedBar.__name__ = DelayedBar.__qualname__ = f"Delayed{base.__name__}"
        _DELAYED[base] = DelayedBar
    return _DELAYED[base]


@contextlib.contextmanager
def quiet_auto_bars():
    """Within this block, ``progress=None`` shows no bar (explicit True still does)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def quiet_when_told(job):
    """Decorator: ``job(..., progress=False)`` runs inside :func:`quiet_auto_bars`.

    A long job (a study's ``run``) passes its ``progress`` to its main loop and
    leaves its inner calls (loading, sampling, solvers, fits) at their default
    None: a bar once slow when the job shows progress, none when it was told
    not to. No inner call has to be handed the flag for the job to stay silent.

    Parameters
    ----------
    job : callable
        A function with a ``progress`` parameter (True, False or None).

    Returns
    -------
    callable
        ``job`` with the same signature (``inspect.signature`` follows it). A
        call it cannot take (an unknown keyword) raises a TypeError naming the
        job (and the study, for a study's ``run``), the keyword, its close
        matches and the parameters the job takes.
    """
    signature = inspect.signature(job)
    if "progress" not in signature.parameters:
        raise TypeError(f"job must take a progress parameter, got {job.__qualname__}"
                        f"{signature}")
    default = signature.parameters["progress"].default

    @functools.wraps(job)
    def run_quietly_when_told(*args, **kwargs):
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError as exc:  # bind_partial's message names no function
            raise TypeError(_binding_error(job, signature, kwargs, exc)) from None
        progress = bound.arguments.get("progress", default)
        # np.False_ (a flag read from an attribute) is False too; the job checks the type
        quiet = progress is False or (isinstance(progress, np.bool_) and not progress)
        with quiet_auto_bars() if quiet else contextlib.nullcontext():
            return job(*args, **kwargs)

    return run_quietly_when_told


def _binding_error(job, signature, kwargs, exc) -> str:
    """The message of a call ``job`` cannot take: ``Signature.bind_partial`` says only
    "got an unexpected keyword argument 'tau'", without the job or what it takes."""
    study = getattr(sys.modules.get(job.__module__), "NAME", None)
    where = f"{job.__module__}.{job.__qualname__}()"
    if isinstance(study, str):
        where = f"study {study!r} ({where})"
    params = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = [name for name, p in params.items()
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = [key for key in kwargs if key not in params and not takes_any]
    if not unknown:  # too many positional arguments, a keyword given twice: Python's words
        return f"{where}: {exc}"
    key = unknown[0]
    return (f"{where} has no parameter {key!r}{did_you_mean(key, named, n=3)}; valid parameters: "
            f"{', '.join(sorted(named))}")
