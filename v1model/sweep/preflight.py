"""Check a sweep's parameter values before any point runs.

A value the study refuses (``lam = -1``, ``n_updates = 0``) would otherwise
fail every point that has it, after the jobs were queued on a cluster. A
study that wants its values checked up front marks its function with
:func:`checks_parameters` and calls :func:`parameters_checked` right after
its own input checks, before any real work::

    @checks_parameters
    def run(quick=False, seed=0, *, lam=0.1):
        lam = check_positive(lam, "lam")
        parameters_checked()  # a sweep's pre-flight stops here
        ...

:func:`check_points` then calls the study once per value of every swept
parameter (the other parameters at their first value) with the work switched
off: the call returns at :func:`parameters_checked`. Studies without the mark
are not called (their points report their own errors). Outside a pre-flight,
:func:`when_checked` runs a callback there (``v1model study run`` announces the
run only once its parameters passed).
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from .errors import SpecError

__all__ = ["checks_parameters", "parameters_checked", "check_points", "when_checked",
           "is_checking_parameters"]

_ONLY_CHECKING = contextvars.ContextVar("v1model_sweep_only_checking", default=False)
_ON_CHECKED = contextvars.ContextVar("v1model_sweep_on_checked", default=None)
_MARK = "__v1model_checks_parameters__"


class _ParametersChecked(Exception):
    """Raised by :func:`parameters_checked` during a pre-flight: the checks passed."""


def checks_parameters(func):
    """Mark a study function that calls :func:`parameters_checked`.

    Parameters
    ----------
    func : callable
        The study's ``run``.

    Returns
    -------
    callable
        ``func`` itself, marked.
    """
    setattr(func, _MARK, True)
    return func


def is_checking_parameters(func) -> bool:
    """Whether ``func`` (a study's ``run``) is marked with :func:`checks_parameters`."""
    return bool(getattr(func, _MARK, False))


def parameters_checked() -> None:
    """End of the study's input checks: during a sweep's pre-flight the study
    stops here; within :func:`when_checked` the callback runs; otherwise this
    does nothing."""
    if _ONLY_CHECKING.get():
        raise _ParametersChecked
    callback = _ON_CHECKED.get()
    if callback is not None:
        callback()


@contextlib.contextmanager
def when_checked(callback):
    """Within this block, the next :func:`parameters_checked` calls ``callback()``.

    Parameters
    ----------
    callback : callable
        Called with no argument; again by a study that runs another (make it
        idempotent).
    """
    token = _ON_CHECKED.set(callback)
    try:
        yield
    finally:
        _ON_CHECKED.reset(token)


def _probe_indices(grid) -> list[int]:
    """One point per value of each axis, the other axes at their first value:
    sum(shape) points rather than prod(shape)."""
    shape = grid.shape
    if not shape:
        return [0] if grid.n_points else []
    indices = {0}
    for axis, size in enumerate(shape):
        for i in range(1, size):
            position = [0] * len(shape)
            position[axis] = i
            indices.add(int(np.ravel_multi_index(position, shape)))
    return sorted(indices)


def check_points(spec) -> int:
    """Run the input checks of ``spec``'s study on every swept value.

    One point per value of each axis is checked, the other axes at their
    first value.

    Parameters
    ----------
    spec : SweepSpec

    Returns
    -------
    int
        The number of points checked (0 when the study is not marked with
        :func:`checks_parameters`).

    Raises
    ------
    SpecError
        A value the study refuses: the message names the point, its
        parameters and the study's own error.
    RuntimeError
        For a study marked with :func:`checks_parameters` that returned
        without calling :func:`parameters_checked`.
    """
    func = spec.study.function()
    if not is_checking_parameters(func):
        return 0
    indices = _probe_indices(spec.grid)
    token = _ONLY_CHECKING.set(True)
    try:
        for index in indices:
            task = spec.task(index)
            try:
                func(quick=task.quick, seed=task.seed, **task.params)
            except _ParametersChecked:
                continue
            except (ValueError, TypeError, OSError) as exc:  # what input checks raise
                swept = {name: task.params[name] for name in spec.grid.parameters(index)}
                raise SpecError(
                    "sweep", f"point {index} ({', '.join(f'{k}={v!r}' for k, v in swept.items())}"
                    f") is refused by the study: {type(exc).__name__}: {exc}") from exc
            raise RuntimeError(f"the study {spec.study.ref!r} is marked with "
                               "checks_parameters but returned without calling "
                               "parameters_checked()")
    finally:
        _ONLY_CHECKING.reset(token)
    return len(indices)
