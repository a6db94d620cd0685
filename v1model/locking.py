"""One run at a time in an output folder.

A sweep writes its points into one folder and a study its result and figures;
two runs at once would overwrite each other's files one by one.
:func:`folder_lock` holds the folder for a run and names the holder to the
next one.
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["folder_lock", "folder_holder", "check_can_create", "OutputLockedError",
           "stale_pid_lock", "touch_pid_lock"]

#: seconds between two touches of a held ``.lock.pid`` by its holder's thread (a sign of
#: life for :func:`stale_pid_lock`, however long one step of the run takes)
PID_LOCK_BEAT = 60.0


class OutputLockedError(RuntimeError):
    """Another process is running into the same output folder."""


@contextmanager
def folder_lock(path, field: str = "output", what: str = "sweep run"):
    """Hold the output folder ``path`` (created if missing) for one run.

    A POSIX ``flock`` on ``path/.lock``, which the system drops when the run
    dies however it dies. On file systems without flock (Lustre mounted
    without ``-o flock``, some NFS) an exclusively created ``.lock.pid`` file
    stands in; one left by a run that died on this host is taken over.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    field : str, default "output"
        The folder's argument name in error messages.
    what : str, default "sweep run"
        The kind of run, in error messages.

    Yields
    ------
    None
        While the folder is held.

    Raises
    ------
    ValueError
        ``path`` is a file, or the folder cannot be created or written.
    OutputLockedError
        Another run holds the folder (still after 1 s: a ``sweep status``
        holds it for an instant, see :func:`folder_holder`). ``field`` and
        ``what`` name the folder's argument and the kind of run in the messages.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise _is_a_file(path, field, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fh = open(path / ".lock", "a+", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{field}: cannot write in {str(path)!r}: "
                         f"{exc.strerror or exc}") from exc
    with fh:
        try:
            import fcntl

            _lock_exclusive(fh, fcntl)
        except BlockingIOError:
            fh.seek(0)
            # the holder wrote what it runs; ``what`` is this run, not the holder
            raise OutputLockedError(
                f"{field}: {str(path)!r} is in use by another run "
                f"({fh.read().strip() or 'unknown process'}); wait for it to finish or stop it"
            ) from None
        except (ImportError, OSError):  # no flock here: a lock file instead
            with _pid_file_lock(path, field):
                yield
            return
        fh.seek(0)
        fh.truncate()
        fh.write(f"{_me()}, {what}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()


def check_can_create(path, field: str = "output", what: str = "sweep run") -> None:
    """Refuse, writing nothing, a folder ``path`` that :func:`folder_lock` could not
    create or write in, with its message ("cannot write in", or "is a file" for a
    ``path`` that is itself a file), naming ``path`` as given, as it does.

    A dry run calls it: it said a spec was fine whose run was then refused at once
    (an output on a read-only file system, or under a file).

    Parameters
    ----------
    path : str or path-like
        The output folder, existing or not.
    field : str, default "output"
        The folder's argument name in the message.
    what : str, default "sweep run"
        The kind of run, in the message for a ``path`` that is a file.

    Raises
    ------
    ValueError
        When the nearest existing folder of ``path`` (itself or an ancestor) is a
        file, or this process may not create files in it.
    """
    given = Path(path)  # named as given: folder_lock's messages do (they said 'out' here
    # and '/home/me/out' there)
    base = given.absolute()
    while not base.exists() and base.parent != base:
        base = base.parent
    if base == given.absolute() and base.exists() and not base.is_dir():
        raise _is_a_file(given, field, what)
    reason = None
    if not base.is_dir():
        reason = os.strerror(errno.ENOTDIR)
    elif not os.access(base, os.W_OK | os.X_OK):
        # statvfs tells a read-only mount from a folder of someone else's (POSIX only)
        read_only = hasattr(os, "statvfs") and os.statvfs(base).f_flag & os.ST_RDONLY
        reason = os.strerror(errno.EROFS if read_only else errno.EACCES)
    if reason is not None:
        raise ValueError(f"{field}: cannot write in {str(given)!r}: {reason}")


def _is_a_file(path: Path, field: str, what: str) -> ValueError:
    return ValueError(f"{field}: {str(path)!r} is a file; a {what} writes into a folder")


def folder_holder(path) -> str | None:
    """The run that holds the output folder ``path`` now, as it named itself
    (``"pid 812 on login2, sweep run"``), or None when no run holds it. Reads
    only.

    A run writes its name into ``path/.lock`` and empties it when it ends; a name
    left there by a run that was killed is that of a process gone from this
    host, or, from another host, is tested by taking the lock for an instant
    (shared: another reader's test is not refused, and a run starting at that
    very instant tries again, see :func:`folder_lock`).

    Parameters
    ----------
    path : str or path-like
        The output folder.

    Returns
    -------
    str or None
    """
    path = Path(path)
    holder = _read_text(path / ".lock.pid")  # a file system without flock
    if holder:
        return None if _died_here(holder) else holder
    holder = _read_text(path / ".lock")
    if not holder:  # never held, or let go by the run that held it
        return None
    if _died_here(holder.split(",", 1)[0]):  # killed: its name stayed behind
        return None
    try:
        import fcntl

        with open(path / ".lock", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return holder
    except (ImportError, OSError):  # cannot tell: the name is all there is
        return holder
    return None


def stale_pid_lock(path, max_age: float) -> str | None:
    """``"possibly stale (host H, pid P, since T)"`` when the output folder ``path`` is
    held by a ``.lock.pid`` (a file system without flock) of a run on another host,
    untouched for more than ``max_age`` seconds; None otherwise. Reads only.

    A process of another host cannot be tested from here: :func:`folder_holder` names
    it as the holder however long ago it died. The holder touches its ``.lock.pid``
    every :data:`PID_LOCK_BEAT` seconds from a thread while it holds the folder
    (:func:`folder_lock`), so an old one is that of a run that died, was stopped
    (``SIGSTOP``, a suspended job) or lost the file system. Nothing acts on it.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    max_age : float
        Seconds, > 0.

    Returns
    -------
    str or None
        T is the lock file's modification time, local, ISO 8601.
    """
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) \
            or not math.isfinite(max_age) or max_age <= 0:
        raise ValueError(f"max_age must be a number of seconds > 0, got {max_age!r}")
    lock = Path(path) / ".lock.pid"
    found = re.fullmatch(r"pid (\d+) on (\S+)", _read_text(lock))
    if not found or found.group(2) == socket.gethostname():
        return None  # unnamed, or of this host: folder_holder tests the process
    try:
        modified = lock.stat().st_mtime
    except OSError:
        return None
    if time.time() - modified <= max_age:
        return None
    since = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(modified))
    return f"possibly stale (host {found.group(2)}, pid {found.group(1)}, since {since})"


def touch_pid_lock(path) -> None:
    """Set the modification time of the ``.lock.pid`` of the output folder ``path`` to
    now (a sign of life for :func:`stale_pid_lock`) when it names this process; nothing
    otherwise: none (a file system with flock), or another run's (a stale one copied
    with the folder, or one that replaced it after it was deleted by hand)."""
    lock = Path(path) / ".lock.pid"
    if _read_text(lock) != _me():
        return
    try:
        os.utime(lock)
    except OSError:
        pass


def _touch_while(folder: Path, held: threading.Event) -> None:
    """Touch the ``.lock.pid`` of ``folder`` every :data:`PID_LOCK_BEAT` seconds until
    ``held`` is set (the body of :func:`_pid_file_lock`'s thread)."""
    while not held.wait(PID_LOCK_BEAT):
        touch_pid_lock(folder)


def _lock_exclusive(fh, fcntl, wait: float = 1.0) -> None:
    """``flock`` the open ``.lock`` file ``fh`` exclusively, trying again for up to
    ``wait`` seconds while it is held.

    :func:`folder_holder` (``sweep status``) holds it for an instant to test it:
    not tried again, a run starting at that instant was refused as though another
    run held the folder (naming "unknown process", or a killed run's name).

    Raises
    ------
    BlockingIOError
        When it is still held after ``wait`` seconds (another run holds it).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


@contextmanager
def _pid_file_lock(folder: Path, field: str):
    """An exclusively created ``.lock.pid`` naming its holder, removed at the end."""
    lock = folder / ".lock.pid"
    for attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            holder = _read_text(lock)
            if attempt == 0 and _died_here(holder):
                lock.unlink(missing_ok=True)
                continue
            # as folder_lock's: ``what`` is this run, not the holder (a study's run called a
            # sweep holding its folder "another run of" that study)
            holder = holder or "unknown process"
            raise OutputLockedError(
                f"{field}: {str(folder)!r} is in use by another run ({holder}); wait for it "
                f"to finish or stop it; this file system has no flock, so the lock is the "
                f"file {str(lock)!r}: delete it if that run is no longer running") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"{_me()}\n")
    # touched from a thread, not as a run's steps end: a sweep point longer than the
    # stale age made a live run read "possibly stale", with advice to delete its lock
    released = threading.Event()
    beat = threading.Thread(target=_touch_while, args=(folder, released), daemon=True,
                            name="v1model-lock-beat")
    beat.start()
    try:
        yield
    finally:
        released.set()
        beat.join()
        # only its own: one deleted by hand as stale may have been taken by another run
        if _read_text(lock) == _me():
            lock.unlink(missing_ok=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _died_here(holder: str) -> bool:
    """True when ``holder`` ("pid N on HOST") is a process of this host that is gone."""
    found = re.fullmatch(r"pid (\d+) on (\S+)", holder)
    if not found or found.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False
