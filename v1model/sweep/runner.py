"""Running a sweep: pick the points still to do, send them to an executor, save
each one as it finishes, assemble the result.

Entry points: :func:`run` (Python arguments), :func:`run_spec` (a checked
spec), :func:`resume` and :func:`retry_failed` (a sweep folder),
:func:`status` and :func:`load`.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import threading
import time
import warnings
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from .._frames import user_stacklevel
from .._signals import swap_handler
from ..io import (load_dataset, missing_chunks_text, missing_zarr_chunks, netcdf_engine,
                  storage_fault)
from ..validation import check_bool, check_path, describe
from .assemble import assemble, without_text_units
from .errors import ExecutorStartError, OutputWriteError, SpecError, SweepWarning
from .executors import Executor, make_executor
from .point_warnings import coordinates_text, show_point_warnings, split_warnings
from .preflight import check_points
from .spec import SweepSpec, changed_defaults, load_spec, parse_spec
from .studyref import STUDY_MODULE_PREFIX
from ..locking import check_can_create, folder_holder, folder_lock, stale_pid_lock
from .labels import point_labels
from .storage import (
    MANIFEST,
    SPEC,
    _remove,
    DirectoryStore,
    MemoryStore,
    failure_record,
    local_io,
    is_sweep_folder,
    manifest_list,
    read_manifest,
)

__all__ = ["run", "run_spec", "resume", "retry_failed", "status", "load", "SweepStatus",
           "SweepWarning"]


def run(
    study,
    grid=None,
    *,
    params=None,
    n_seeds: int = 1,
    seed: int = 0,
    common_seeds: bool = False,
    quick: bool = False,
    executor="local",
    output=None,
    format: str = "netcdf",
    units=None,
    progress: bool = True,
    allow_changed_defaults: bool = False,
) -> xr.Dataset:
    """Run ``study`` over a parameter grid and return one Dataset.

    Parameters
    ----------
    study : str, module or callable
        A registered study name (``"lca-sweep"``), ``"module:function"``,
        ``"file.py:function"``, a study module or a module-level function
        ``run(quick=False, seed=0, **params) -> xr.Dataset``.
    grid : dict
        Swept parameter -> values: a list, or a range dict
        (``{"start": .01, "stop": 1, "num": 7, "log": True}``, or with
        ``"step"``); the full product is run. A value
        ``v1model.sweep.zipped(a=[...], b=[...])`` sweeps ``a`` and ``b``
        together along one dimension named by its key.
    params : dict, optional
        Fixed parameters of every point.
    n_seeds : int, default 1
        Replicates of every combination (dimension ``replicate`` if > 1).
    seed : int, default 0
        Root seed, in [0, 2**63); point ``i`` gets ``SeedSequence(seed).spawn(...)[i]``'s
        32-bit state (see :func:`v1model.sweep.grid.point_seed`). None or a
        Generator is refused (``SpecError``): each point's seed must be derivable
        again from the root, to resume the sweep or re-run a point.
    common_seeds : bool, default False
        Give replicate ``r`` the same seed at every combination.
    quick : bool, default False
        Passed to every point.
    executor : str, dict or Executor
        ``"local"`` (process pool, default), ``"serial"``, ``"dask"``,
        ``"slurm"``, ``"pbs"``, a dict like a spec's ``[executor]`` table, or an
        executor instance (e.g. ``DaskExecutor(client=client)``).
    output : str or Path, optional
        Sweep folder (created with its missing parents): every finished point is
        saved there at once, and a run into an existing folder of the same sweep
        only runs the missing points. Without it, nothing is saved. An empty or
        blank name is refused (``SpecError``): "" was the current folder.
    format : {"netcdf", "zarr"}, default "netcdf"
        Format of the assembled result ``OUTPUT/sweep.nc`` / ``sweep.zarr``.
    units : dict, optional
        Units of swept parameters, labels of the coordinates (the values are not
        converted): for a parameter the study's ``PARAMETER_UNITS`` gives a unit, the
        same one (or any, for its "units of X"), else a SpecError.
    progress : bool, default True
        Show a progress bar.
    allow_changed_defaults : bool, default False
        Run the remaining points of a sweep folder whose study defaults changed
        since it began (see :func:`run_spec`).

    Returns
    -------
    xarray.Dataset
        Swept parameters as dimensions, every study output, per-point
        ``status``, ``error``, ``warnings`` (the warnings each point raised, one
        ``"Category: message"`` per line, a message's further lines indented by two
        spaces (:func:`split_warnings`), "" for none: they are shown as the points
        finish and kept in the saved result), ``point_seed``, ``duration`` and
        ``cpu_time``, the spec in ``attrs["sweep_spec"]``.

    Examples
    --------
    >>> from v1model import sweep
    >>> ds = sweep.run("lca-sweep", {"lam": {"start": 0.05, "stop": 0.5, "num": 4,
    ...                                      "log": True}, "overcompleteness": [1, 2]},
    ...                n_seeds=2, quick=True, output="results/lca", executor="local")
    ... # doctest: +SKIP
    """
    instance = executor if isinstance(executor, Executor) else None
    check_bool(progress, "progress")
    for name, value in (("grid", grid), ("params", params), ("units", units)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict of parameter name -> "
                            f"{'values' if name == 'grid' else 'value'}, got "
                            f"{type(value).__name__}: {value!r:.60}")
    data = {
        "study": study,
        "sweep": dict(grid or {}),
        "params": dict(params or {}),
        "n_seeds": n_seeds,
        "seed": seed,
        "common_seeds": common_seeds,
        "quick": quick,
        "format": format,
        "units": dict(units or {}),
        "executor": {"kind": instance.kind} if instance is not None else executor,
    }
    if output is not None:
        data["output"] = str(_output_path(output).resolve())
    spec = parse_spec(data)
    return run_spec(spec, executor=instance, progress=progress,
                    allow_changed_defaults=allow_changed_defaults)


def _refuse_in_reimported_main():
    """Refuse a sweep started by the import of the user's script.

    The local pool's workers (and its fork server) import the main script as
    ``__mp_main__``, and a study given as ``"file.py:function"`` is imported
    from that file; an unguarded ``sweep.run`` at the top of the script would
    then start a sweep inside every import, and the points would die with no
    hint why.
    """
    from .._frames import user_module_name

    caller = user_module_name()
    if caller == "__mp_main__" or caller.startswith(STUDY_MODULE_PREFIX):
        raise RuntimeError(
            "v1model.sweep.run was called while your script was being imported (by a worker "
            "process, or to load a study from it): put the sweep.run(...) call under "
            "`if __name__ == \"__main__\":`")


def run_spec(spec: SweepSpec, *, executor=None, only: str = "pending",
             progress: bool = True, stop_on_sigterm: bool = False,
             allow_changed_defaults: bool = False) -> xr.Dataset:
    """Run the points of ``spec`` that still need running and assemble the result.

    Parameters
    ----------
    spec : SweepSpec
    executor : Executor, optional
        Overrides ``spec.executor``.
    only : {"pending", "failed", "all-unfinished"}, default "pending"
        Which points to run: not yet run (default: a finished sweep does
        nothing), the failed ones alone, or both.
    progress : bool, default True
    stop_on_sigterm : bool, default False
        Treat SIGTERM (what batch systems send before killing a job) like
        Ctrl-C while the points run (a point being saved is saved first). The
        command line sets it, and takes SIGTERM for Ctrl-C before and after
        the points too (pre-flight checks, assembly of the result).
    allow_changed_defaults : bool, default False
        Run the points of a sweep folder whose study gives other defaults than
        when the sweep began (an upgrade of v1model), beside the finished points
        that ran with the old ones, with a ``SweepWarning``. By default that is
        refused (``SpecError``, naming each parameter and both defaults).

    Returns
    -------
    xarray.Dataset
        The assembled sweep, as :func:`run` returns it.

    Notes
    -----
    Interrupting (Ctrl-C) stops the workers and raises KeyboardInterrupt;
    every point saved so far is kept and a later run or :func:`resume` does
    the rest. A new sweep folder interrupted while it is being made is removed
    again (a ``spec.toml`` without its ``sweep.json`` was refused by the next run).

    A sweep folder records in its ``sweep.json`` the defaults of the study's
    parameters the spec leaves unset (:meth:`SweepSpec.study_defaults`); they
    are compared before any point of the folder runs. A folder begun before
    they were recorded runs as before, with a one-line ``SweepWarning``.
    """
    check_bool(allow_changed_defaults, "allow_changed_defaults")
    if only not in ("pending", "failed", "all-unfinished"):
        raise ValueError(f"only must be 'pending', 'failed' or 'all-unfinished', got {only!r}")
    _refuse_in_reimported_main()
    executor = make_executor(executor if executor is not None else spec.executor)
    if spec.output is not None:
        finished = _finished_read_only(spec, only)
        if finished is not None:
            return finished
    if spec.output is None or not DirectoryStore.check_folder(spec.output, spec):
        check_points(spec)  # a new sweep: refuse values the study refuses, before any point
        # and, before its folder exists, an executor that cannot start here (no `sbatch`):
        # the folder left behind would refuse the corrected spec
        executor.check_can_start()
    created = _missing_folders(spec.output) if spec.output is not None else []
    # the folder is held before it is checked or created: two runs started together
    # cannot both write their spec into a new folder
    lock = folder_lock(spec.output) if spec.output is not None else nullcontext()
    with lock:
        if spec.output is None:
            return _run_in_store(spec, MemoryStore(spec.fingerprint(), spec.grid.n_points),
                                 executor, only, progress, stop_on_sigterm)
        new = not is_sweep_folder(spec.output)
        try:
            store = DirectoryStore.create_or_open(spec.output, spec)
        except KeyboardInterrupt:
            # a Ctrl-C between its files (spec.toml written, sweep.json not yet) left a
            # folder that the next run refused ("not empty and is not a sweep folder")
            if new:
                DirectoryStore(spec.output, spec.fingerprint(),
                               spec.grid.n_points).remove_if_unused(created)
            raise
        try:
            return _run_in_store(spec, store, executor, only, progress, stop_on_sigterm,
                                 allow_changed_defaults)
        except ExecutorStartError:
            # the workers never started (the batch system refused the job): leave no
            # sweep behind to refuse the corrected spec; remove_if_unused keeps any point
            # or failure record. Other errors (Ctrl-C, lost workers, a full disk) keep
            # the folder: their messages point to `sweep resume`
            if new:
                store.remove_if_unused(created)
            raise


def _finished_read_only(spec: SweepSpec, only: str):
    """The result of a sweep with no point of kind ``only`` left to run, in a folder this
    process cannot write (a read-only mount, another user's folder), or None. Such a
    resume has nothing to run nor to write: it was refused at the lock ("cannot write
    in ...")."""
    output = Path(spec.output)
    if not output.is_dir() or os.access(output, os.W_OK) or not is_sweep_folder(output) \
            or not DirectoryStore.check_folder(output, spec):
        return None
    info = read_manifest(output)
    store = DirectoryStore(output, info["fingerprint"], int(info["n_points"]))
    result = store.result_path(spec.format)
    state = store.scan(repair=False)
    if not result.exists() or state.pending or (only != "pending" and state.failed):
        return None
    try:
        with local_io():
            return without_text_units(load_dataset(result))
    except ValueError as exc:  # cut short, and this process cannot write it again
        warnings.warn(f"{exc}; the result is assembled from the points", SweepWarning,
                      stacklevel=user_stacklevel())
        return assemble(spec, _read_points(store, state.done, progress=False), state.failed,
                        {}, fingerprint=store.fingerprint)


def _missing_folders(path) -> list:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    out = []
    path = Path(path).absolute()
    while not path.exists() and path.parent != path:
        out.append(path)
        path = path.parent
    return out


def _run_in_store(spec, store, executor, only, progress, stop_on_sigterm,
                  allow_changed_defaults=False) -> xr.Dataset:
    """:func:`run_spec` once the store is open (and its folder held)."""
    state = store.scan()
    if state.corrupt:
        warnings.warn(
            f"{len(state.corrupt)} unreadable or incomplete file(s) in {store.path} were "
            "moved to corrupt/; their points run again", SweepWarning,
            stacklevel=user_stacklevel(),
        )
    todo = []
    if only in ("pending", "all-unfinished"):
        todo += state.pending
    if only in ("failed", "all-unfinished"):
        todo += sorted(state.failed)
    todo.sort()
    if todo and store.path is not None:
        _check_defaults(spec, store, state, allow_changed_defaults)
    if store.path is not None:  # all read: `status` need not (a folder begun before them)
        store.save_markers()
    result_path = getattr(store, "result_path", lambda fmt: None)(spec.format)
    if not todo and result_path is not None and result_path.exists():
        try:
            with local_io():
                return without_text_units(load_dataset(result_path))
        except ValueError as exc:  # a copy of the folder cut short: the points are whole
            _set_aside(result_path, store.path / "corrupt")
            warnings.warn(f"{exc}; it was moved to corrupt/ and is assembled again from "
                          "the points", SweepWarning, stacklevel=user_stacklevel())
    if todo and state.kept:
        # the new result is assembled from the point files: removing the old one would
        # lose the points only it holds
        raise SpecError(
            "output", f"{str(store.path)!r}: the files of {len(state.kept)} finished points "
                      f"were removed from points/ and only {result_path.name} holds them, so "
                      f"the {len(todo)} point(s) to run cannot be assembled with them; restore "
                      "points/, or run the sweep into a new output folder")
    for lost, reason in (state.lost.items() if todo else ()):
        # no point file is left and the result that held them cannot be read: say so
        # before running them all again, and keep the file (it was deleted silently)
        _set_aside(lost, store.path / "corrupt")
        warnings.warn(
            f"{reason}: the assembled result is damaged and no point file is left "
            f"(points/ was removed), so {len(todo)} point(s) run again; the damaged "
            "result was moved to corrupt/", SweepWarning, stacklevel=user_stacklevel())
    if todo:
        if result_path is not None and result_path.exists():
            # about to change: never leave a stale result behind a crash
            _remove(result_path)
        try:
            with _catch_interrupts(stop_on_sigterm) as stop:
                _execute(spec, store, executor, todo, state, progress, stop)
        finally:  # interrupted too: the points saved so far are read cheaply by `status`
            if store.path is not None:
                store.save_markers()
    # the state follows from what this run wrote (_execute updates it): no second scan
    points = _read_points(store, state.done, progress)
    # the folder's fingerprint, as its points: the result is this folder's sweep
    ds = assemble(spec, points, state.failed, executor.describe(), fingerprint=store.fingerprint)
    if not state.pending:
        try:
            store.save_result(ds, spec.format)
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                raise
            # as a point's file: the bare OSError said nothing of the points, all saved
            raise _output_write_error(
                exc, f"the assembled result {store.result_path(spec.format).name}",
                spec.output, len(state.done), result=True) from exc
    return ds


def _check_defaults(spec, store, state, allow: bool) -> None:
    """Refuse to run points of the sweep folder ``store`` beside finished ones that ran
    with other study defaults than the study gives now (an upgrade of v1model changed
    one): the points of both were mixed unsaid. With ``allow``, warn and go on; with
    no point finished, record the new defaults and go on."""
    recorded = read_manifest(store.path).get("study_defaults")
    finished = len(state.done | state.kept)
    if not finished:  # no point ran with the old ones: the points to run make the record
        if recorded != spec.study_defaults():
            store.record_defaults(spec.study_defaults())
        return
    if recorded is None:  # begun before they were recorded: run as before, not unsaid
        warnings.warn(
            f"{store.path}: this sweep folder was begun before sweeps recorded the study's "
            "defaults, so a default that changed since (an upgrade of v1model) cannot be "
            "found: its points may mix the old and the new", SweepWarning,
            stacklevel=user_stacklevel())
        return
    changed = changed_defaults(recorded, spec)
    if not changed:
        return
    shown = "; ".join(f"{name}: {then} when the sweep began, {now} now"
                      for name, (then, now) in changed.items())
    if allow:
        warnings.warn(f"{store.path}: the study's defaults changed since the sweep began "
                      f"({shown}); the points to run use the new ones, the {finished} "
                      "finished point(s) used the old ones", SweepWarning,
                      stacklevel=user_stacklevel())
        return
    raise SpecError(
        "output",
        f"{str(store.path)!r}: the study's defaults changed since the sweep began ({shown}), "
        f"and its {finished} finished point(s) ran with the old ones, so the points to run "
        "would not be comparable with them. Run the spec into a new output folder (giving "
        "the old value under [params] keeps it), or pass --allow-changed-defaults "
        "(allow_changed_defaults=True) to run them with the new defaults all the same")


def _set_aside(path: Path, folder: Path) -> None:
    """Move the unreadable ``path`` into ``folder`` (``corrupt/``), time-stamped as the
    point files the store sets aside."""
    folder.mkdir(exist_ok=True)
    os.replace(path, folder / f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}")


class _Stop:
    """What the run loop's signal handler knows: whether a stop was asked for, and
    whether a point is being saved just now."""

    requested = False
    saving = False

    @contextmanager
    def while_saving(self):
        """Hold a Ctrl-C back until the point's file is whole: raised in the middle of
        opening it, the KeyboardInterrupt left a half-made netCDF file object whose
        finaliser printed a traceback after the sweep's "interrupted:" line, and the
        finished point was lost. A second Ctrl-C stops at once."""
        self.saving = True
        try:
            yield
        finally:
            self.saving = False


@contextmanager
def _catch_interrupts(sigterm: bool):
    """Remember a Ctrl-C (and SIGTERM) as well as raising KeyboardInterrupt:
    Python drops an exception raised while a finaliser runs, so the run loop
    also checks the flag after every point."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.saving and not stop.requested:
            stop.requested = True  # raised by the run loop once the file is saved
            return
        stop.requested = True
        raise KeyboardInterrupt

    signals = [signal.SIGINT] + ([signal.SIGTERM] if sigterm else [])
    previous = {}
    for sig in signals:
        previous[sig] = swap_handler(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


#: errors of the file system, not of the point: no later point could be saved either
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO,
                            errno.EACCES, errno.EPERM})


def _output_write_error(exc: OSError, what: str, output, n_saved: int, *,
                        result: bool = False) -> OutputWriteError:
    """The :class:`OutputWriteError` of ``exc`` (an errno of :data:`STORAGE_ERRNOS`), met
    saving ``what`` in the sweep folder ``output`` with ``n_saved`` points saved: its advice
    fits the errno ("make room" is no help for a read-only folder). ``result``: ``what``
    is the assembled result, after the last point: nothing is left to run."""
    folder = shlex.quote(str(output))  # a command to copy: a space stays in the path
    resume = f"`v1model sweep resume {folder}`"
    if result:
        # the run's points are all saved: "the sweep stops" suggested work was lost
        kept = (f"every point has run and is saved (the {n_saved} finished one"
                f"{'' if n_saved == 1 else 's'} in {Path(output) / 'points'})")
        resume += ", which runs no point and assembles the result from them"
    else:
        kept = (f"the sweep stops, keeping the {n_saved} point{'' if n_saved == 1 else 's'} "
                "saved so far")
    advice = {
        "space": f"make room, then {resume}",
        "size": f"raise the limit on a file's size (`ulimit -f`), then {resume}",
        "read-only": (f"once the file system is writable again, {resume}; or copy the "
                      "folder to a writable one and resume the copy"),
        "permission": (f"make it writable for you (`chmod -R u+w {folder}`), then {resume}; "
                       "or copy the folder to one you can write and resume the copy"),
        "other": f"check its disk or file system, then {resume}",  # EIO: disk or network
    }[storage_fault(exc.errno)]
    # the errno's text, not exc's: that of v1model.io begins "path: cannot write ...",
    # naming the argument of a function the user never called
    return OutputWriteError(exc.errno, (
        f"cannot save {what} in {output}: {os.strerror(exc.errno)}; {kept}: {advice}"))


def _execute(spec, store, executor, todo, state, progress, stop):
    from tqdm import tqdm

    attempts = {i: int(r.get("attempts", 0)) for i, r in state.failed.items()}
    wanted, seen, n_failed = set(todo), set(), 0
    tasks = (spec.task(i) for i in todo)
    with executor, tqdm(total=len(todo), desc=f"sweep {spec.study.label}", unit="point",
                        disable=not progress, dynamic_ncols=True) as bar:
        for outcome in executor.map(tasks):
            i = outcome.index
            if i not in wanted or i in seen:  # never store a point twice
                continue
            seen.add(i)
            if outcome.ok:
                try:
                    with stop.while_saving():
                        store.write_point(outcome, spec.grid.seed(i))
                        state.done.add(i)
                        state.failed.pop(i, None)
                except OSError as exc:
                    if exc.errno not in STORAGE_ERRNOS:
                        raise
                    # every later point would fail the same way, its result lost
                    raise _output_write_error(exc, f"point {i}", spec.output,
                                              len(state.done)) from exc
                except Exception as exc:  # noqa: BLE001 - e.g. an output netCDF cannot hold
                    outcome.ok = False
                    outcome.error = f"cannot save the point: {type(exc).__name__}: {exc}"
            if not outcome.ok:
                n_failed += 1
                # a point whose worker died N times was tried N times in this run
                record = failure_record(outcome, spec.task(i),
                                        attempts.get(i, 0) + outcome.attempts)
                try:
                    with stop.while_saving():
                        store.write_failure(record)
                except OSError as exc:
                    if exc.errno not in STORAGE_ERRNOS:
                        raise
                    raise _output_write_error(exc, f"the failure record of point {i}",
                                              spec.output, len(state.done)) from exc
                state.failed[i] = record
            # after the point is saved: an "error" filter stops the sweep with it kept
            show_point_warnings(outcome, spec.grid)
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed, refresh=False)
            if stop.requested:
                raise KeyboardInterrupt


def _read_points(store, done, progress: bool) -> dict:
    """The saved Datasets of the finished points (a bar: ~20 ms per point file)."""
    from tqdm.auto import tqdm

    return {i: store.load_point(i) for i in tqdm(
        sorted(done), desc="sweep: reading points", unit="point", leave=False,
        disable=not progress or len(done) < 100, dynamic_ncols=True)}


def _output_path(output) -> Path:
    """``output``, a sweep folder's name, as a Path (``$VAR`` and ``~`` expanded).

    Refused naming ``output`` and the value: not a path (``TypeError``), or empty or
    blank (``SpecError``, as a spec's ``output``): ``check_path`` asked for a "file
    name", and ``"  "`` became a folder of that name in the current one.
    """
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a folder path (str or os.PathLike), got "
                        f"{describe(output)}")
    if not str(os.fspath(output)).strip():
        raise SpecError("output", f"must be a folder path, got {os.fspath(output)!r}")
    return check_path(output, "output", "folder")


def _check_sweep_folder(output) -> Path:
    """``output`` as a Path, refused unless it is a sweep folder."""
    output = _output_path(output)
    if not output.exists():
        raise SpecError("output", f"{str(output)!r} does not exist (give the sweep's output "
                                  "folder)")
    if not is_sweep_folder(output):
        raise SpecError("output", f"{str(output)!r} is not a sweep folder (no sweep.json)")
    return output


def _open_folder(output) -> tuple[Path, SweepSpec]:
    output = _check_sweep_folder(output)
    # its params hold the absolute paths the sweep began with (older folders: as written)
    spec = load_spec(output / SPEC, output=output, resolve_paths=False)
    return output, spec


def resume(output, *, executor=None, progress: bool = True,
           allow_changed_defaults: bool = False) -> xr.Dataset:
    """Run the points of the sweep in folder ``output`` that have not run yet.

    ``executor`` (a kind name, dict or Executor) overrides the one in the
    folder's spec, e.g. to finish on a cluster a sweep started locally.

    Parameters
    ----------
    output : str or path-like
        A sweep folder (holding ``sweep.json``).
    executor : str, dict or Executor, optional
        Overrides the folder's executor.
    progress : bool, default True
        Show progress bars.
    allow_changed_defaults : bool, default False
        Run the points although the study's defaults changed since the sweep
        began (see :func:`run_spec`).

    Returns
    -------
    xarray.Dataset
        The assembled result of the sweep.

    Raises
    ------
    SpecError
        When the study's defaults changed since the sweep began and some of its
        points finished with the old ones (unless ``allow_changed_defaults``).

    Warns
    -----
    SweepWarning
        When files cannot be read: point files (moved to ``corrupt/``, their
        points run again), the assembled result (moved to ``corrupt/`` and
        assembled again), and the result when no point file is left
        (``points/`` removed): moved to ``corrupt/``, every point runs again.
        When the folder was begun before the study's defaults were recorded
        (a change of one cannot be found).
    """
    _, spec = _open_folder(output)
    return run_spec(spec, executor=executor, only="pending", progress=progress,
                    allow_changed_defaults=allow_changed_defaults)


def retry_failed(output, *, executor=None, progress: bool = True,
                 allow_changed_defaults: bool = False) -> xr.Dataset:
    """Run again only the failed points of the sweep in folder ``output``.

    Parameters
    ----------
    output : str or path-like
        A sweep folder (holding ``sweep.json``).
    executor : str, dict or Executor, optional
        Overrides the folder's executor.
    progress : bool, default True
        Show progress bars.
    allow_changed_defaults : bool, default False
        Run the points although the study's defaults changed since the sweep
        began (see :func:`run_spec`).

    Returns
    -------
    xarray.Dataset
        The assembled result of the sweep.

    Raises
    ------
    SpecError
        When the files of finished points were removed (``rm -r OUTPUT/points``)
        and only the result holds them: a new result could not be assembled;
        when the study's defaults changed since the sweep began (as
        :func:`resume`).
    """
    _, spec = _open_folder(output)
    return run_spec(spec, executor=executor, only="failed", progress=progress,
                    allow_changed_defaults=allow_changed_defaults)


@dataclass
class SweepStatus:
    """Progress of a sweep folder.

    Parameters
    ----------
    path : Path
        The sweep folder.
    study : str
        The study's reference.
    dims, shape : tuple
        Dimension names and sizes of the grid.
    n_points : int
    done : set of int
        Indices of the points done.
    failed : dict
        Index of each failed point to its failure record (``params``, ``error``, ...).
    pending : list of int
        Indices of the points neither done nor failed.
    corrupt : list
        Point files that could not be read (recomputed on resume).
    result : Path or None
        The assembled result, once written.
    removed : set of int
        Indices of points done (in ``done``) whose files were removed after the
        sweep finished: only ``result`` holds them.
    damaged : str or None
        Why the assembled result on disk cannot be loaded (a zarr store with
        chunk files missing, which zarr would read as NaN, or a netCDF file
        that cannot be opened, e.g. cut short); ``result`` is then None, and
        :func:`resume` or :func:`load` assemble it again from the points.
    lost : bool
        True when the result is ``damaged`` and no point file is left
        (``points/`` was removed): :func:`resume` moves it to ``corrupt/`` and
        runs every pending point again, with a ``SweepWarning``.
    running : str or None
        The run that holds the folder now (``"pid 812 on login2, sweep run"``,
        see :func:`v1model.locking.folder_holder`), or None: while it runs,
        ``resume`` and ``retry-failed`` would be refused.
    read_only : str or None
        Why this process cannot write in the folder (a read-only copy or file system,
        another user's folder, see :func:`v1model.locking.check_can_create`), or None:
        ``resume`` and ``retry-failed`` would be refused with it, so the summary says
        to resume a writable copy instead.
    warned : dict
        Index of each point done (in ``done``) that raised warnings to their text, as
        the result's ``warnings`` variable keeps it (:func:`split_warnings`); a failed
        point's warnings are in its record (``failed[i]["warnings"]``).
    coordinates : dict
        Index of each point in ``failed`` or ``warned`` to its values
        (:meth:`Grid.coordinates`: the swept parameters, then ``replicate`` when there
        are several), read from the folder's manifest, no study run
        (:func:`v1model.sweep.labels.point_labels`); for a folder begun before the
        manifest held them, from its spec.toml unless it was edited since, else from a
        failed point's record and the assembled result (a warned point of an unfinished
        sweep then has none).
    stale_lock : str or None
        ``"possibly stale (host H, pid P, since T)"``: a ``.lock.pid`` (a file system
        without flock) of a run on another host, untouched for longer than
        :data:`STALE_LOCK_AGE`, which cannot be tested from here; ``running`` still
        names its holder (the lock still refuses a resume). None otherwise.
    """

    path: Path
    study: str
    dims: tuple
    shape: tuple
    n_points: int
    done: set = field(default_factory=set)
    failed: dict = field(default_factory=dict)
    pending: list = field(default_factory=list)
    corrupt: list = field(default_factory=list)
    result: Path | None = None
    removed: set = field(default_factory=set)
    damaged: str | None = None
    lost: bool = False
    running: str | None = None
    read_only: str | None = None
    warned: dict = field(default_factory=dict)
    coordinates: dict = field(default_factory=dict)
    stale_lock: str | None = None

    @property
    def complete(self) -> bool:
        """True when no point is pending (failed points may remain)."""
        return not self.pending

    def summary(self, max_failures: int = 10) -> str:
        """A human-readable report, as ``v1model sweep status`` prints it.

        Parameters
        ----------
        max_failures : int, default 10
            Failed points listed with their error at most.

        Returns
        -------
        str
            Several lines: counts, the result's path, failed points, and the
            command that retries or finishes the sweep, or, while a run holds
            the folder, that the sweep is running and who runs it.
        """
        dims = " x ".join(f"{d}={s}" for d, s in zip(self.dims, self.shape))
        lines = [
            f"sweep {self.path}",
            f"  study    {self.study}",
            f"  grid     {dims}  ({self.n_points} points)",
            f"  done     {len(self.done)}",
            f"  failed   {len(self.failed)}",
            f"  pending  {len(self.pending)}",
        ]
        if self.warned:
            # counted among the done: a point whose solver did not converge read as
            # one that had nothing to say
            lines.append(f"  warned   {len(self.warned)} of the done (the `warnings` "
                         "variable of the result)")
        if self.corrupt:
            lines.append(f"  corrupt  {len(self.corrupt)} file(s) (recomputed on resume)")
        if self.lost:
            lines.append(f"  result   {self.damaged}, and no point file is left (points/ "
                         f"was removed): `v1model sweep resume` moves it to corrupt/ and "
                         f"runs all {len(self.pending)} pending points again")
        elif self.damaged:
            lines.append(f"  result   {self.damaged}: `v1model sweep resume` writes it "
                         "again")
        else:
            lines.append(f"  result   {self.result if self.result else '(not assembled yet)'}")
        if self.removed:
            lines.append(f"  points   files of {len(self.removed)} done points removed "
                         "(the result holds them): the sweep is complete")
        for i, (index, record) in enumerate(sorted(self.failed.items())):
            if i == max_failures:
                lines.append(f"  ... and {len(self.failed) - max_failures} more failed points")
                break
            lines.append(f"  {self._label('failed', index)}: {record.get('error', '')}")
        for i, (index, text) in enumerate(sorted(self.warned.items())):
            if i == max_failures:
                lines.append(f"  ... and {len(self.warned) - max_failures} more points "
                             "that warned")
                break
            first, *others = split_warnings(text) or [""]
            head, *cut = first.splitlines() or [""]  # one line each: a long message is cut
            more = f" (and {len(others)} more)" if others else ""
            lines.append(f"  {self._label('warned', index)}: {head}{' ...' if cut else ''}"
                         f"{more}")
        folder = shlex.quote(str(self.path))  # a command to copy: a space stays in the path
        if self.stale_lock:
            # "running now" of a run that died on another host sent users to wait forever
            # a live run touches its lock every minute, however long its points take
            lines.append(f"  lock     {self.stale_lock}: a run on another host held the "
                         "folder and has not touched its lock since (a live one does every "
                         "minute): it may have died or been stopped; if it is not running, delete "
                         f"{shlex.quote(str(self.path / '.lock.pid'))}, then resume")
            return "\n".join(lines)
        if self.running:
            # a resume or retry-failed now would be refused: the folder is held
            lines.append(f"  running  the sweep is running now (held by {self.running}): "
                         "wait for it to finish, or stop it, before resuming it")
            return "\n".join(lines)
        if self.read_only and (self.failed or self.pending):
            # resume and retry-failed would be refused at the lock ("cannot write in ...")
            lines.append(f"  read-only {self.read_only}: to finish the sweep, copy the folder "
                         f"to one you can write (cp -r {folder} COPY) and resume the copy "
                         "(v1model sweep resume COPY)")
            return "\n".join(lines)
        if self.failed and self.removed:  # it would assemble a result without them
            lines.append("  retry them once points/ is restored (retry-failed needs the "
                         "removed files)")
        elif self.failed:
            lines.append(f"  retry them with: v1model sweep retry-failed {folder}")
        if self.pending:
            lines.append(f"  finish with:     v1model sweep resume {folder}")
        return "\n".join(lines)

    def _label(self, kind: str, index: int) -> str:
        # by its values: two replicates of one failed combination read as one point
        # listed twice, and a warned point said only its index
        values = coordinates_text(self.coordinates.get(index, {}))
        return f"{kind} point {index}" + (f" ({values})" if values else "")


#: seconds after which the ``.lock.pid`` of a run on another host, untouched, reads as
#: possibly stale in :func:`status` (its holder touches it every
#: :data:`v1model.locking.PID_LOCK_BEAT` seconds from a thread, however long a point runs)
STALE_LOCK_AGE = 3600.0


def status(output) -> SweepStatus:
    """What is done, failed and pending in sweep folder ``output`` (reads only).

    Parameters
    ----------
    output : str or path-like
        A sweep folder (holding ``sweep.json``).

    Returns
    -------
    SweepStatus
        Point indices done, failed (with their records) and pending, the warnings
        of the points done that warned, the values of the failed and warned points,
        and the path of the assembled result once nothing is pending.
    """
    output = _check_sweep_folder(output)
    info = read_manifest(output)
    manifest = output / MANIFEST
    dims = manifest_list(info, "dims", manifest)
    shape = manifest_list(info, "shape", manifest)
    store = DirectoryStore(output, info["fingerprint"], int(info["n_points"]))
    state = store.scan(repair=False)
    result = next((output / name for name in ("sweep.nc", "sweep.zarr")
                   if (output / name).exists()), None)
    damaged = _result_damage(result) if result is not None else None
    holder = folder_holder(output)
    stale = stale_pid_lock(output, STALE_LOCK_AGE) if holder else None
    # read from the manifest (or spec.toml), not by importing the study: a file.py
    # study was executed just to print the status
    labels = point_labels(output, info, set(state.failed) | set(state.warned), state.failed)
    return SweepStatus(output, info.get("study", "?"), dims, shape, store.n_points,
                       state.done | state.kept, state.failed, state.pending, state.corrupt,
                       result if not state.pending and damaged is None else None,
                       set(state.kept), damaged, damaged is not None and result in state.lost,
                       # the holder even when possibly stale: a script polling `running`
                       # read None as "free" while a resume is still refused by the lock
                       holder, _unwritable(output), state.warned,
                       labels, stale)


def _unwritable(output: Path) -> str | None:
    """Why a resume could not write in ``output`` (check_can_create's words), or None."""
    try:
        check_can_create(output, field="folder")
    except ValueError as exc:
        return str(exc)
    return None


def _result_damage(result: Path) -> str | None:
    """Why the assembled ``result`` cannot be loaded, or None, read cheaply: the chunk
    files a zarr store lacks (zarr reads them as NaN), a netCDF file's header (HDF5
    checks the file's length on opening: a copy cut short fails), not the data."""
    if result.suffix == ".zarr":
        missing = missing_zarr_chunks(result)
        if missing:
            return f"{result} is incomplete ({missing_chunks_text(missing, show=str)})"
        return None
    try:
        with xr.open_dataset(result, engine=netcdf_engine(result)):
            pass
    except (OSError, ValueError) as exc:
        return f"{result} cannot be read as a netCDF file ({exc})"
    return None


def load(output) -> xr.Dataset:
    """The result of the sweep in folder ``output``: the assembled file when the
    sweep is finished, else the points so far (unfinished ones ``pending``).

    Parameters
    ----------
    output : str or path-like
        A sweep folder (holding ``sweep.json``).

    Returns
    -------
    xarray.Dataset
        Loaded into memory.

    Warns
    -----
    SweepWarning
        When the assembled file cannot be read (the points are assembled), and
        when no point file is left either (``points/`` removed): its points
        are then pending.
    """
    output, spec = _open_folder(output)
    # the folder's fingerprint, which its points carry (a study that moved changes the spec's)
    store = DirectoryStore(output, read_manifest(output)["fingerprint"], spec.grid.n_points)
    path = store.result_path(spec.format)
    state = store.scan(repair=False)
    if path.exists() and not state.pending:
        try:
            with local_io():
                return without_text_units(load_dataset(path))
        except ValueError as exc:  # cut short: the points give the same result
            warnings.warn(f"{exc}; the result is assembled from the points (`v1model "
                          "sweep resume` writes it again)", SweepWarning,
                          stacklevel=user_stacklevel())
    for reason in state.lost.values():  # all pending: not without a word
        warnings.warn(f"{reason}: the assembled result is damaged and no point file is left "
                      "(points/ was removed), so its points are pending (`v1model sweep "
                      "resume` runs them again)", SweepWarning, stacklevel=user_stacklevel())
    points = _read_points(store, state.done, progress=True)
    return assemble(spec, points, state.failed, {}, fingerprint=store.fingerprint)
