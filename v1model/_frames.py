"""Where the user's code is on the call stack: the first frame outside v1model and stimuli.

Warnings raised deep inside a solver should point at the user's line, whether
it called a solver directly, through ``encode`` or through a learner, or imported
the package (a warning raised while a module of it was imported); and the
sweep runner needs the module that called it to refuse a sweep started by the
re-import of the user's script.
"""

from __future__ import annotations

import os
import sys
import sysconfig

__all__ = ["user_stacklevel", "user_module_name"]

#: the packages whose frames are never the user's: v1model and the stimuli it calls (a
#: warning of stimuli/gratings.py raised through v1model.analysis named a line of
#: v1model/analysis). Not ``studies``: a study's line is where the settings were chosen,
#: and a user's own study module is theirs; a study's warning about its own arguments
#: passes it over (``user_stacklevel(skip=("studies",))``), as does a solver's shortfall
#: that names the study's parameters (``studies._shortfall.named_by_study``)
PACKAGES = ("v1model", "stimuli")

#: where Python's own modules and the installed packages are: no one's line to name (a
#: thread's start, a process pool's worker, dask's), resolved as a frame's file is
PYTHON_DIRS = tuple(sorted({os.path.realpath(sysconfig.get_paths()[key])
                            for key in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _in_package(name: str, packages: tuple) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _skipped_by_warnings(frame) -> bool:
    """Whether ``warnings.warn`` leaves ``frame`` out when it counts ``stacklevel``: the
    import system's own frames (``<frozen importlib._bootstrap>``, by the file-name test
    of warnings.py's ``_is_internal_frame``)."""
    filename = frame.f_code.co_filename
    return "importlib" in filename and "_bootstrap" in filename


def _not_the_users(frame, packages: tuple) -> bool:
    # the import system is no one's line either: a warning raised while `import v1model`
    # ran the package's modules (numba's kernels decorated) passes through its frames
    name = frame.f_globals.get("__name__", "")
    return _in_package(name, packages) or name == "importlib" or name.startswith("importlib.")


def _first_user_frame(frame, packages: tuple = PACKAGES):
    """``(frame, level)``: the innermost frame at or above ``frame`` whose module is
    neither part of ``packages`` nor the import system, and its ``stacklevel`` from
    ``frame`` (1: ``frame``), counted as ``warnings.warn`` counts: without the frames
    it skips (:func:`_skipped_by_warnings`)."""
    level = 1
    while frame is not None and _not_the_users(frame, packages):
        frame = frame.f_back
        level += frame is None or not _skipped_by_warnings(frame)
    return frame, level


def _python_or_installed(frame) -> bool:
    """Whether ``frame`` is no user's: None (past the outermost frame), a frozen module
    of Python's (``<frozen runpy>``) or a file of :data:`PYTHON_DIRS`."""
    if frame is None:
        return True
    filename = frame.f_code.co_filename
    if filename.startswith("<frozen "):
        return True
    if filename.startswith("<"):  # a user's exec'd or interactive code
        return False
    path = os.path.realpath(filename)
    return any(path.startswith(d + os.sep) for d in PYTHON_DIRS)


def user_stacklevel(skip: tuple = (), *, depth: int = 1) -> int:
    """``stacklevel`` for a ``warnings.warn`` in the calling function that names the
    user's line (the first caller outside v1model and stimuli).

    Parameters
    ----------
    skip : tuple of str, default ()
        More top-level packages whose frames are passed over too: ``("studies",)`` for
        a warning a study raises about its own arguments, which then names the line
        that called the study's ``run`` (through the package's decorators), not the
        study's own line. When no user's line lies past them (a thread, a process pool
        or dask ran the study's ``run`` itself), the level is that without ``skip``:
        the study's line, not one of ``threading.py`` or the pool's.
    depth : int, default 1
        Whose ``warnings.warn`` the level is for: 1, the calling function's; 2, its
        caller's (a helper that computes the level for the function that warns).
    """
    if isinstance(skip, str):  # tuple("studies") would pass over packages named by letters
        raise TypeError(f"skip must be a tuple of package names, got {skip!r}")
    start = sys._getframe(depth)
    frame, level = _first_user_frame(start, PACKAGES + tuple(skip))
    if skip and _python_or_installed(frame):
        # past the study, only Python's frames: threading.py's or the pool's line named
        # nothing of the user's; the study's own line at least says where it warned
        return _first_user_frame(start)[1]
    return level


def user_module_name() -> str:
    """``__name__`` of the module of the first caller outside v1model and stimuli ("" if
    none)."""
    frame = _first_user_frame(sys._getframe(1))[0]
    return frame.f_globals.get("__name__", "") if frame is not None else ""
