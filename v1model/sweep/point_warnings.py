"""The warnings of a point: caught where it runs, shown by the sweep, naming the point.

A warning a study raised in a worker went to that worker's stderr (a cluster job's
log) as Python prints it, naming a line inside the library or the process pool and
not the point whose parameters caused it; from the serial executor it named no point
either. :func:`collect_warnings` catches them around one point (safe with the points
a dask worker runs at once in its threads) and :func:`show_point_warnings` raises
them again in the sweep's own process, at the line that started the sweep, each
message led by the point (``point 3 (lam=0.1, overcompleteness=1): ...``).
The sweep's result keeps them too, per point (:func:`warnings_text`: its
``warnings`` variable), so that a result reloaded later still says which points warned.

Not safe from a ``warnings.catch_warnings`` inside a study: Python's filters and hooks
are one per process, so while one thread's point is in such a block (a
``record=True`` or ``"ignore"`` around a call), the warnings of the points other
threads of that dask worker run go to that block (recorded there, or hidden by its
``"ignore"``), not to their own points. (lca-sweep reads ``lca_converged`` from the
solver's own count of its shortfall, kept per thread, not from a ``record=True``.)
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._frames import PYTHON_DIRS, user_stacklevel
from .errors import SweepWarning
from .studyref import STUDY_MODULE_PREFIX

__all__ = ["PointWarning", "collect_warnings", "show_point_warnings", "warnings_text",
           "split_warnings", "MAX_POINT_WARNINGS"]

#: warnings of one point carried back to the sweep; the rest are counted (a study that
#: warns in a loop would otherwise fill the terminal and the results' transfer)
MAX_POINT_WARNINGS = 20

#: folders whose lines tell a sweep's user nothing: the package, its studies and stimuli,
#: the standard library and the installed packages (the process pool's frames)
_LIBRARY_DIRS = tuple(
    {str(Path(__file__).resolve().parents[2] / name) for name in ("v1model", "stimuli",
                                                                     "studies")}
    | set(PYTHON_DIRS))


@dataclass(frozen=True)
class PointWarning:
    """One warning raised while a point ran (small and picklable).

    Parameters
    ----------
    category : type
        The warning's class (a class of the user's study file is replaced by its
        nearest base class the sweep's process can import).
    message : str
    filename : str
        File of the line the warning names when it is a line of the user's own study,
        "" when it is the library's (judged where the point ran: a pool worker may
        import v1model from another folder than the sweep's process, e.g. the checkout
        beside an installed copy).
    lineno : int
    """

    category: type
    message: str
    filename: str
    lineno: int


_state = threading.local()  # .sink: the list the current thread's point collects into,
# .seen: the warnings in it (a repeat is not kept again)
_hook_lock = threading.Lock()
_hook_users = [0, warnings.showwarning]  # points collecting here, the showwarning replaced


def _show(message, category, filename, lineno, file=None, line=None):
    sink = getattr(_state, "sink", None)
    if sink is None:  # a thread that runs no point (or the sweep itself, serially)
        return _hook_users[1](message, category, filename, lineno, file, line)
    # kept once: a study warning in a loop of 10^6 steps held 10^6 copies (80 bytes and
    # the message each) until the point ended, :func:`portable` keeping one of them
    key = (category, str(message), filename, lineno)
    if key not in _state.seen:
        _state.seen.add(key)
        sink.append(key)
    # the points a dask worker runs at once share the registries of what was shown: one
    # point's warning hid the same warning of another; forgotten, each point sees its own
    # (repeats within a point are merged by :func:`portable`)
    _forget_shown()


def _forget_shown() -> None:
    """Forget which warnings were shown, as ``catch_warnings`` does on entry (CPython's
    private hook; absent elsewhere, a repeat is shown once per process, as before)."""
    getattr(warnings, "_filters_mutated", lambda: None)()


@contextmanager
def collect_warnings():
    """Catch the warnings raised in this thread while the block runs.

    Python's filters still apply (an ``"error"`` filter still raises, ``"ignore"``
    hides), but not its memory of what was shown: each point shows a warning an earlier
    or concurrent point of this process showed too (repeats within one point are merged
    by :func:`portable`). The ``showwarning`` of the process is replaced while any
    point collects, and restored when the last ends (unless something replaced it
    meanwhile); other threads' warnings pass through to it.

    Yields
    ------
    list of tuple
        ``(category, message, filename, lineno)`` of each distinct warning, in the
        order first raised (a repeat with the same message at the same line is not
        kept again: the memory is that of the distinct ones).
    """
    caught = []
    with _hook_lock:
        if warnings.showwarning is not _show:
            _hook_users[1] = warnings.showwarning
            warnings.showwarning = _show
        _hook_users[0] += 1
        _forget_shown()  # a point warning as an earlier point of this process did was silent
    _state.sink, _state.seen = caught, set()
    try:
        yield caught
    finally:
        _state.sink, _state.seen = None, None
        with _hook_lock:
            _hook_users[0] -= 1
            # the replaced one is kept: a catch_warnings entered meanwhile (in another
            # thread) puts this hook back when it ends, and it then passes warnings on
            if _hook_users[0] == 0 and warnings.showwarning is _show:
                warnings.showwarning = _hook_users[1]


def portable(caught: list) -> tuple:
    """The first :data:`MAX_POINT_WARNINGS` distinct warnings of ``caught`` (from
    :func:`collect_warnings`) as :class:`PointWarning`, and how many distinct ones were
    left out. A warning repeated with the same message at the same line is kept once,
    as Python's ``"default"`` filter shows it."""
    distinct = list(dict.fromkeys(
        PointWarning(_importable(category), message,
                     filename if _users_line(filename) else "", lineno)
        for category, message, filename, lineno in caught))
    return tuple(distinct[:MAX_POINT_WARNINGS]), max(len(distinct) - MAX_POINT_WARNINGS, 0)


def _importable(category: type) -> type:
    """``category``, or its nearest base the sweep's process can unpickle: a class of a
    ``"file.py:function"`` study lives in a module named only in the worker."""
    for cls in category.__mro__:
        module = getattr(cls, "__module__", "")
        if not (module.startswith(STUDY_MODULE_PREFIX) or module in ("__main__",
                                                                     "__mp_main__")):
            return cls
    return UserWarning  # pragma: no cover - every warning class derives from Warning


def _users_line(filename: str) -> bool:
    """Whether ``filename`` is the user's (a study of their own), not the library's."""
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return not filename.startswith("<") and not any(
        path == d or path.startswith(d + "/") for d in _LIBRARY_DIRS)


def point_label(grid, index: int) -> str:
    """``"point 3 (lam=0.1, overcompleteness=1, replicate=1)"``: the point ``index`` of
    ``grid`` by its swept values (and replicate, when there are several)."""
    values = coordinates_text(grid.coordinates(index))
    return f"point {index} ({values})" if values else f"point {index}"


def coordinates_text(coordinates: dict) -> str:
    """``"lam=0.1, overcompleteness=1, replicate=1"``: a point's values
    (:meth:`Grid.coordinates`) as :func:`point_label` and ``sweep status`` name it."""
    return ", ".join(f"{name}={value!r}" for name, value in coordinates.items())


def show_point_warnings(outcome, grid) -> None:
    """Raise again, in the sweep's process, the warnings ``outcome``'s point raised.

    Each keeps its category and is led by the point (:func:`point_label`); a line of
    the user's own study is named after the message. The warning names the line that
    started the sweep (``sweep.run(...)``).

    Parameters
    ----------
    outcome : PointOutcome
    grid : Grid
        The sweep's grid, for the point's values.
    """
    if not outcome.warnings and not outcome.warnings_dropped:
        return
    label = point_label(grid, outcome.index)
    for w in outcome.warnings:
        warnings.warn(f"{label}: {w.message}{_where(w)}", w.category,
                      stacklevel=user_stacklevel())
    if outcome.warnings_dropped:
        warnings.warn(f"{label}: {outcome.warnings_dropped} more warning(s) not shown "
                      f"(the first {MAX_POINT_WARNINGS} are)", SweepWarning,
                      stacklevel=user_stacklevel())


#: what leads the further lines of a warning whose message has several
CONTINUATION_INDENT = "  "


def warnings_text(outcome) -> str:
    """The warnings of ``outcome``'s point as the sweep's result keeps them (its
    ``warnings`` variable): one line ``"Category: message (at file:line)"`` each, the
    line only when it is the user's, then ``"and N more warning(s)"`` for those beyond
    :data:`MAX_POINT_WARNINGS`; "" for a point that raised none. A message of several
    lines goes on over lines led by :data:`CONTINUATION_INDENT`, so that each warning
    is a line that does not begin with a space (:func:`split_warnings`).

    Parameters
    ----------
    outcome : PointOutcome

    Returns
    -------
    str
    """
    lines = [_one_entry(f"{w.category.__name__}: {w.message}{_where(w)}")
             for w in outcome.warnings]
    if outcome.warnings_dropped:
        lines.append(f"and {outcome.warnings_dropped} more warning(s)")
    return "\n".join(lines)


def _one_entry(text: str) -> str:
    """``text`` with every line after its first led by :data:`CONTINUATION_INDENT`
    (and any line break, ``\\r`` too, made a ``\\n``): a message of two lines read
    as two warnings, the second of no category."""
    first, *rest = text.splitlines() or [""]
    return "\n".join([first, *(CONTINUATION_INDENT + line for line in rest)])


def split_warnings(text: str) -> list:
    """The warnings of one point, one string each, from the text of a sweep result's
    ``warnings`` variable (:func:`warnings_text`): a line led by
    :data:`CONTINUATION_INDENT` goes on the warning above it.

    Parameters
    ----------
    text : str
        One element of ``ds["warnings"]`` ("" for a point that raised none).

    Returns
    -------
    list of str
        ``"Category: message (at file:line)"`` each, a message of several lines with
        its line breaks (without the indent added); the last may be
        ``"and N more warning(s)"``.

    Examples
    --------
    >>> split_warnings("UserWarning: two\\n  lines\\nRuntimeWarning: one")
    ['UserWarning: two\\nlines', 'RuntimeWarning: one']
    """
    entries = []
    for line in str(text).split("\n"):
        if entries and line.startswith(CONTINUATION_INDENT):
            entries[-1] += "\n" + line[len(CONTINUATION_INDENT):]
        elif line:
            entries.append(line)
    return entries


def _where(w: PointWarning) -> str:
    """`` (at FILE:LINE)`` for a line of the user's own study, else ""."""
    return f" (at {w.filename}:{w.lineno})" if w.filename else ""
