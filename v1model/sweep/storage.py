"""Where finished points live: a sweep folder on disk (or memory, for a run
without output).

Layout of a sweep folder::

    OUTPUT/
      spec.toml         the normalised spec (what `resume` reads)
      sweep.json        fingerprint, grid size and values, and the study's defaults:
                        marks the folder as a sweep
      points/000012.nc  one netCDF file per finished point, written atomically
      points/.markers.json  the completion markers of the point files, with their
                        size and modification time (``sweep status`` reads a file
                        only when they differ)
      failed/000013.json  one record per failed point (error, traceback summary,
                        the warnings it raised first)
      corrupt/          unreadable point files, moved aside before recomputing
      sweep.nc          the assembled result (or sweep.zarr)

Once the sweep has finished, ``sweep.nc`` is its result: when no point file is
left (``rm -r OUTPUT/points`` to save quota), a readable one with no point
pending stands for the point files and failure records, so that the sweep
stays finished rather than running every point again. (A single point file
removed is recomputed: that is how a point is run again.)

A point counts as finished only if its file opens and carries the completion
marker attributes (``sweep_complete = 1``, its index and the sweep's
fingerprint). Files are written to a temporary name and renamed into place
(:func:`v1model.io.atomic_path`), so a crash leaves no half-written point;
anything else that does not pass the check is moved to ``corrupt/`` and the
point is recomputed. Only the process running the sweep writes here, under a
lock file.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..io import (NETCDF_ENGINE, _cleaned_attrs, _netcdf_ready, _netcdf_restored,
                  atomic_path, load_dataset, netcdf_bytes, save_dataset)
from ..locking import folder_holder
from .errors import SpecError
from .grid import REPLICATE_DIM
from .labels import grid_fields
from .point_warnings import warnings_text

__all__ = ["DirectoryStore", "MemoryStore", "StoreState", "POINT_ATTRS"]

MANIFEST = "sweep.json"
#: the point files' markers (:meth:`DirectoryStore.save_markers`), in ``points/``
MARKERS = ".markers.json"
#: seconds between two saves of the markers while points are written
MARKERS_EVERY = 30.0
SPEC = "spec.toml"
FORMATS = {"netcdf": "sweep.nc", "zarr": "sweep.zarr"}
#: the lock files of :func:`v1model.locking.folder_lock`
LOCK_FILES = (".lock", ".lock.pid")
#: differing spec fields shown with their values in the "holds another sweep" error
MAX_NAMED_DIFFERENCES = 3
#: Attributes the store adds to every point file (stripped when assembling).
POINT_ATTRS = ("sweep_point_index", "sweep_fingerprint", "sweep_point_seed", "sweep_duration",
               "sweep_cpu_time", "sweep_host", "sweep_warnings", "sweep_complete")


@dataclass
class StoreState:
    """What a scan of the store found.

    Parameters
    ----------
    n_points : int
    done : set of int
        Indices of the points with a valid file.
    failed : dict
        Index of each failed point to its failure record.
    corrupt : list of Path
        Files that failed the check.
    kept : set of int
        Indices of points done whose files were removed after the sweep
        finished: only its assembled result holds them (not in ``done``, whose
        files are read to assemble).
    lost : dict
        Path of an assembled result that cannot be read to why not, found when
        no point file is left: the points it held (if any) are lost and run
        again.
    warned : dict
        Index of each point done (or kept) that raised warnings to their text
        (:func:`~v1model.sweep.point_warnings.warnings_text`); a sweep folder's scan
        fills it, :class:`MemoryStore`'s leaves it empty.
    """

    n_points: int
    done: set = field(default_factory=set)
    failed: dict = field(default_factory=dict)
    corrupt: list = field(default_factory=list)
    kept: set = field(default_factory=set)
    lost: dict = field(default_factory=dict)
    warned: dict = field(default_factory=dict)

    @property
    def pending(self) -> list:
        """Indices of the points neither done (nor kept in the result) nor failed,
        ascending."""
        return [i for i in range(self.n_points)
                if i not in self.done and i not in self.failed and i not in self.kept]


def point_attrs(outcome, fingerprint: str, seed: int) -> dict:
    return {
        "sweep_point_index": int(outcome.index),
        "sweep_fingerprint": fingerprint,
        "sweep_point_seed": int(seed),
        "sweep_duration": float(outcome.duration),
        "sweep_cpu_time": float(outcome.cpu_time),
        "sweep_host": str(outcome.host),
        # the sweep shows them as they come; kept, the result says which points warned
        "sweep_warnings": warnings_text(outcome),
        "sweep_complete": 1,
    }


def failure_record(outcome, task, attempts: int) -> dict:
    return {
        "index": int(outcome.index),
        "params": {k: v for k, v in task.params.items() if k in task.swept},
        "point_seed": int(task.seed),
        "error": outcome.error,
        "traceback": outcome.traceback,
        "duration": float(outcome.duration),
        "cpu_time": float(outcome.cpu_time),
        "host": outcome.host,
        "attempts": int(attempts),
        "warnings": warnings_text(outcome),  # raised before it failed
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@contextmanager
def local_io():
    """File I/O with in-process locks even when a dask.distributed client is
    active (xarray would otherwise take distributed locks on the scheduler for
    every file, and fails for in-memory files)."""
    import dask

    with dask.config.set(scheduler="synchronous"):
        yield


class MemoryStore:
    """Points kept in memory (a run without ``output``); nothing survives a crash.

    Points are kept as netCDF bytes so that the result is the same as from a
    sweep folder. The methods are those of :class:`DirectoryStore`.

    Parameters
    ----------
    fingerprint : str
        The spec's :meth:`SweepSpec.fingerprint`.
    n_points : int
        Points of the grid.
    """

    def __init__(self, fingerprint: str, n_points: int):
        self.fingerprint = fingerprint
        self.n_points = n_points
        self._points: dict[int, bytes] = {}
        self._failed: dict[int, dict] = {}
        self.path = None

    def scan(self, repair: bool = True) -> StoreState:
        """The points done and failed so far (``repair`` has nothing to do)."""
        return StoreState(self.n_points, set(self._points), dict(self._failed))

    def write_point(self, outcome, seed):
        """Keep a successful point (a :class:`PointOutcome`) with its seed."""
        ds = _with_attrs(outcome.dataset, point_attrs(outcome, self.fingerprint, seed))
        with local_io():
            # widened as save_dataset widens a folder's point: float16 variables were
            # written as HDF5's half floats, which netCDF-C readers crash on
            self._points[outcome.index] = netcdf_bytes(_netcdf_ready(ds))
        self._failed.pop(outcome.index, None)

    def write_failure(self, record):
        """Keep the failure record (a dict with ``index``) of a point."""
        self._failed[record["index"]] = record

    def failures(self) -> dict:
        """Index of each failed point to its record."""
        return dict(self._failed)

    def load_point(self, index) -> xr.Dataset:
        """The Dataset of point ``index``, loaded into memory."""
        with local_io(), xr.open_dataset(io.BytesIO(self._points[index]),
                                         engine=NETCDF_ENGINE) as ds:
            # as load_dataset reads a sweep folder's point: its one-element lists were
            # scalars here, so a sweep run without a folder assembled another Dataset
            return _netcdf_restored(ds.load())

    def save_result(self, ds, fmt):
        """Nothing to save in memory: returns None."""
        return None


def _with_attrs(ds, attrs):
    ds = ds.copy()
    # _cleaned_attrs, as save_dataset cleans: it names the one-element lists, which netCDF
    # reads back as scalars (the in-memory store's points lost them)
    ds.attrs = {**_cleaned_attrs(ds.attrs, "ds.attrs"), **attrs}
    for name in ds.variables:
        ds[name].attrs = _cleaned_attrs(ds[name].attrs, f"ds[{name!r}].attrs")
    return ds


class DirectoryStore:
    """A sweep folder (see the module docstring).

    Parameters
    ----------
    path : str or path-like
        The folder.
    fingerprint : str
        The spec's :meth:`SweepSpec.fingerprint`.
    n_points : int
        Points of the grid.
    """

    def __init__(self, path, fingerprint: str, n_points: int):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.n_points = n_points
        self.width = max(6, len(str(max(n_points - 1, 0))))
        # file name -> [size, mtime_ns, warnings] of the valid point files known
        self._markers: dict = {}
        self._markers_saved = None  # time.monotonic() of the last save

    # -- creation and opening -------------------------------------------------------
    @staticmethod
    def check_folder(path, spec) -> bool:
        """Whether ``path`` already holds this sweep (False: it can be created there).

        Writes nothing (``sweep run --dry-run`` calls it).

        Parameters
        ----------
        path : str or path-like
            The output folder.
        spec : SweepSpec

        Returns
        -------
        bool
            True when ``path`` holds this sweep, False when it is missing or
            an empty folder.

        Raises
        ------
        SpecError
            As :meth:`create_or_open`.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise SpecError("output", f"{str(path)!r} is a file; a sweep output is a folder")
        if (path / MANIFEST).exists():
            info = read_manifest(path)
            if not holds_sweep_of(info, spec):
                if spec.source is not None and \
                        Path(spec.source).resolve() == (path / SPEC).resolve():
                    # `resume` reads that file: "resume that sweep" below went in a circle
                    raise SpecError(
                        "output",
                        f"{str(path)!r}: its {SPEC} was edited after the sweep began, in "
                        "what determines the points (study, parameters, grid or seeds; "
                        "[executor] may change): undo that edit, or run the edited spec "
                        "into a new output folder")
                holder = folder_holder(path)
                # a resume of that sweep would be refused while it runs: "resume that
                # sweep" sent the user from one refusal to the next
                then = (f"It is running now (held by {holder}): choose a new output folder"
                        if holder else
                        f"Choose a new output folder, or resume that sweep with "
                        f"`v1model sweep resume {shlex.quote(str(path))}`")
                raise SpecError(
                    "output",
                    f"{str(path)!r} holds another sweep (study {info.get('study')!r}, "
                    f"{info.get('n_points')} points, created {info.get('created')}); its spec "
                    f"differs from this one{_differences(path, spec)}. {then}",
                )
            # the fingerprint holds the [sweep] table with its keys sorted: the same sweep
            # with its dimensions in another order passed, and its points (stored by flat
            # index) were assembled under other parameter values
            dims = info.get("dims")
            if dims is not None and list(dims) != list(spec.grid.dims):
                order = [d for d in dims if d != REPLICATE_DIM]
                raise SpecError(
                    "output",
                    f"{str(path)!r} holds this sweep with its dimensions in another order "
                    f"({list(spec.grid.dims)} here, {list(dims)} in the folder): a point's "
                    f"index would stand for other parameter values. Give `order = "
                    f"{json.dumps(order)}` in the spec (or its [sweep] entries in that "
                    f"order), or choose a new output folder",
                )
            return True
        if path.is_dir() and any(p for p in path.iterdir() if not p.name.startswith(".")):
            raise SpecError("output", f"{str(path)!r} exists, is not empty and is not a sweep "
                                      "folder (no sweep.json); choose a new or empty folder")
        return False

    @classmethod
    def create_or_open(cls, path, spec) -> "DirectoryStore":
        """Open the sweep folder of ``spec``, creating it if new.

        Parameters
        ----------
        path : str or path-like
            The output folder.
        spec : SweepSpec

        Returns
        -------
        DirectoryStore

        Raises
        ------
        SpecError
            ``output`` is a file, a non-empty folder that is not a sweep, or a
            sweep folder of a *different* sweep (other study, parameters, grid
            or seeds).
        """
        path = Path(path)
        fingerprint = spec.fingerprint()
        if cls.check_folder(path, spec):
            # the folder's own: its points carry it (it differs for a study that moved)
            info = read_manifest(path)
            if "axes" not in info:  # begun before the manifest held the grid's values
                info.update(grid_fields(spec.grid))
                write_manifest(path, info)
            return cls(path, info["fingerprint"], spec.grid.n_points)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / SPEC) as tmp:
            tmp.write_text(spec.to_toml(), encoding="utf-8")
        info = {
            "fingerprint": fingerprint,
            "study": spec.study.ref,
            "n_points": spec.grid.n_points,
            "dims": list(spec.grid.dims),
            "shape": list(spec.grid.shape),
            # the values, so that `sweep status` names points without running the study
            **grid_fields(spec.grid),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "v1model_version": _version(),
            # what the points run with besides the spec: a resume after an upgrade that
            # changed one mixed the points of both unsaid (runner._check_defaults)
            "study_defaults": spec.study_defaults(),
        }
        write_manifest(path, info)  # written last: its presence marks a sweep
        return cls(path, fingerprint, spec.grid.n_points)

    def record_defaults(self, defaults: dict) -> None:
        """Record ``defaults`` (:meth:`SweepSpec.study_defaults`) as the study's defaults
        in ``sweep.json``, in place of those recorded when the sweep began. Call while
        holding :func:`folder_lock`.

        Parameters
        ----------
        defaults : dict of str to str
        """
        info = read_manifest(self.path)
        info["study_defaults"] = dict(defaults)
        write_manifest(self.path, info)

    def remove_if_unused(self, created=()) -> bool:
        """Undo :meth:`create_or_open` of a new sweep whose start failed.

        Removes ``spec.toml`` and ``sweep.json`` only while the folder holds
        nothing else (no point, no failure record, no file of anyone else's),
        so that a corrected spec can run there; finished work is never
        removed. Call while holding :func:`folder_lock`.

        Parameters
        ----------
        created : sequence of Path
            The folders this run created, deepest first (``self.path``, then
            its ancestors that were missing): removed when left empty.

        Returns
        -------
        bool
            Whether the sweep's files were removed.
        """
        if not {p.name for p in _listing(self.path)} <= {SPEC, MANIFEST, *LOCK_FILES}:
            return False
        _remove(self.path / MANIFEST)  # first: without it the folder is no sweep
        _remove(self.path / SPEC)
        if created and Path(created[0]) == self.path:
            for name in LOCK_FILES:  # ours: the folder did not exist before this run
                _remove(self.path / name)
        for folder in created:
            try:
                Path(folder).rmdir()
            except OSError:  # not empty (another run came in): keep it and its parents
                break
        return True

    # -- points ------------------------------------------------------------------------
    def point_path(self, index: int) -> Path:
        """The file of point ``index`` (``points/000123.nc``)."""
        return self.path / "points" / f"{index:0{self.width}d}.nc"

    def failure_path(self, index: int) -> Path:
        """The failure record of point ``index`` (``failed/000123.json``)."""
        return self.path / "failed" / f"{index:0{self.width}d}.json"

    def scan(self, repair: bool = True, markers: bool | None = None) -> StoreState:
        """Classify every point as done, failed or pending.

        With ``repair``, point files that fail the check are moved to
        ``corrupt/`` (they will be recomputed) and leftover temporary files
        of an interrupted write are removed from every folder of the sweep.
        Only call with ``repair`` while holding :func:`folder_lock`.

        Parameters
        ----------
        repair : bool, default True
        markers : bool, optional
            Take a point file's marker from ``points/.markers.json`` when the file's
            size and modification time are those recorded there (one ``stat``, not
            an HDF5 open: 1,200 points took 1.4 s), reading only the other files.
            Default: without ``repair`` (a run's own scan reads every file).

        Returns
        -------
        StoreState
        """
        state = StoreState(self.n_points)
        if repair:  # writes cut short: points, the result, failure records, figures
            for folder in ("points", ".", "failed", "figures"):
                for path in _listing(self.path / folder):
                    if path.name.startswith(".") and ".tmp" in path.name:
                        _remove(path)
        known = self._read_markers() if (not repair if markers is None else markers) else {}
        self._markers = {}
        for path in _listing(self.path / "points"):
            if path.name.startswith("."):
                continue
            index = _index_of(path, ".nc")
            if index is None or index >= self.n_points:
                state.corrupt.append(path)
                continue
            stamp = _stamp(path)
            entry = known.get(path.name)
            if entry is not None and stamp is not None and entry[:2] == stamp:
                warned = entry[2]
            else:
                attrs = _point_marker(path)
                if attrs is None or not self._valid_point(attrs, index):
                    state.corrupt.append(path)
                    continue
                # read with the marker: `sweep status` counted a point that warned (a
                # solver that did not converge) as done and said nothing of it
                warned = str(_text(attrs.get("sweep_warnings", "")) or "")
            state.done.add(index)
            if warned:
                state.warned[index] = warned
            if stamp is not None:
                self._markers[path.name] = [*stamp, warned]
        for path in _listing(self.path / "failed"):
            index = _index_of(path, ".json")
            if path.name.startswith(".") or index is None:
                continue
            if index in state.done:
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if int(record["index"]) != index:
                    raise ValueError("index mismatch")
            except (OSError, ValueError, KeyError, TypeError):
                state.corrupt.append(path)
                continue
            state.failed[index] = record
        if repair and state.corrupt:
            target = self.path / "corrupt"
            target.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            for path in state.corrupt:
                os.replace(path, target / f"{path.name}.{stamp}")
        if state.pending and not state.done and \
                not any(p.parent.name == "points" for p in state.corrupt):
            self._settle_from_result(state)
        return state

    def _settle_from_result(self, state: StoreState) -> None:
        """Count as done (``kept``) or failed the pending points that a finished result
        of this sweep holds, once no point file is left: ``points/`` was removed after
        the result was assembled (a sweep with points to run has no result: it is
        removed before they run). Single point files removed are recomputed, as
        before: that is how a point is run again. A result that cannot be read is
        recorded in ``state.lost``."""
        from ..io import load_dataset

        for name in FORMATS.values():
            path = self.path / name
            if not path.exists():
                continue
            try:
                with local_io():
                    ds = load_dataset(path)  # all of it: a copy cut short is no result
            except ValueError as exc:
                # the points it held are gone with it: the caller says so (it was
                # removed without a word, and every point run again)
                state.lost[path] = str(exc)
                continue
            # not its sweep_fingerprint: results assembled before it was the folder's
            # carry the spec's, which differs for a study that moved; only this sweep
            # writes a result here
            if int(_one(ds.attrs.get("sweep_n_pending", 1))) != 0 or \
                    "status" not in ds or ds["status"].size != self.n_points:
                continue
            statuses = ds["status"].values.ravel()  # grid order: flat index = point index
            errors = ds["error"].values.ravel() if "error" in ds else None
            # a result assembled before the sweep kept them has none
            warned = ds["warnings"].values.ravel() if "warnings" in ds else None
            for i in state.pending:
                if statuses[i] == "ok":
                    state.kept.add(i)
                    if warned is not None and str(warned[i]):
                        state.warned[i] = str(warned[i])
                elif statuses[i] == "failed":
                    state.failed[i] = {"index": i, "params": _point_params(ds, i),
                                       "error": str(errors[i]) if errors is not None else "",
                                       "warnings": str(warned[i]) if warned is not None
                                       else ""}
            return

    def _valid_point(self, attrs: dict, index: int) -> bool:
        """Whether a point file's marker ``attrs`` (:func:`_point_marker`) say it is the
        finished point ``index`` of this sweep."""
        try:
            return (
                int(attrs.get("sweep_complete", 0)) == 1
                and _text(attrs.get("sweep_fingerprint")) == self.fingerprint
                and int(attrs.get("sweep_point_index", -1)) == index
            )
        except (TypeError, ValueError):
            return False

    def write_point(self, outcome, seed) -> Path:
        """Save a successful point (a :class:`PointOutcome`) with its seed and
        remove its failure record, if any; returns the file written."""
        ds = _with_attrs(outcome.dataset, point_attrs(outcome, self.fingerprint, seed))
        with local_io():
            path = save_dataset(ds, self.point_path(outcome.index))
        failure = self.failure_path(outcome.index)
        if failure.exists():
            failure.unlink()
        stamp = _stamp(path)
        if stamp is not None:
            self._markers[path.name] = [*stamp, str(ds.attrs["sweep_warnings"])]
        if self._markers_saved is None or \
                time.monotonic() - self._markers_saved >= MARKERS_EVERY:
            self.save_markers()
        return path

    def save_markers(self) -> None:
        """Save the markers of the valid point files known to this store (found by
        :meth:`scan`, written by :meth:`write_point`) as ``points/.markers.json``,
        atomically; ``scan(markers=True)`` trusts an entry only while its file's size
        and modification time are the recorded ones. Call while holding
        :func:`folder_lock`; a file system that refuses it costs only the speed."""
        self._markers_saved = time.monotonic()
        folder = self.path / "points"
        if not folder.is_dir():
            return
        text = json.dumps({"fingerprint": self.fingerprint, "points": self._markers},
                          sort_keys=True)
        try:
            if (folder / MARKERS).read_text(encoding="utf-8") == text:
                return  # a run that ran nothing leaves the folder as it was
        except (OSError, ValueError):
            pass
        try:
            with atomic_path(folder / MARKERS) as tmp:
                tmp.write_text(text, encoding="utf-8")
        except OSError:
            pass

    def _read_markers(self) -> dict:
        """The entries of ``points/.markers.json`` (name -> [size, mtime_ns, warnings]),
        {} when it is missing, unreadable or of another sweep."""
        try:
            saved = json.loads((self.path / "points" / MARKERS).read_text(encoding="utf-8"))
            if saved.get("fingerprint") != self.fingerprint:
                return {}
            return {str(name): (int(entry[0]), int(entry[1]), str(entry[2]))
                    for name, entry in saved["points"].items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return {}

    def write_failure(self, record) -> Path:
        """Save the failure record (a dict with ``index``) of a point as JSON;
        returns the file written."""
        path = self.failure_path(record["index"])
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        return path

    def failures(self) -> dict:
        """Index of each failed point to its record (a scan without repair)."""
        return self.scan(repair=False).failed

    def load_point(self, index) -> xr.Dataset:
        """The Dataset of point ``index``."""
        with local_io():
            return load_dataset(self.point_path(index))

    def result_path(self, fmt: str) -> Path:
        """The assembled result's file for format ``fmt`` ("netcdf" or "zarr")."""
        return self.path / FORMATS[fmt]

    def save_result(self, ds, fmt) -> Path:
        """Save the assembled sweep ``ds`` in format ``fmt``; returns its path."""
        if fmt == "zarr":
            # variable-length strings: zarr v3 has no stable fixed-width unicode type
            ds = ds.copy()
            for name, var in ds.variables.items():
                if var.dtype.kind == "U":
                    ds[name] = var.astype(object)
        with local_io():
            return save_dataset(ds, self.result_path(fmt))


def _point_marker(path: Path) -> dict | None:
    """The completion marker attributes (and the warnings) of the point file ``path``,
    or None when it cannot be read (corrupt)."""
    import h5py  # the completion marker is a plain HDF5 attribute: 3x faster than h5netcdf

    try:
        with h5py.File(path, "r") as f:
            # h5py gives netCDF's numeric attributes as 1-element arrays
            return {k: _one(f.attrs[k]) for k in ("sweep_complete", "sweep_fingerprint",
                                                  "sweep_point_index", "sweep_warnings")
                    if k in f.attrs}
    except Exception:  # noqa: BLE001 - any unreadable file is corrupt
        return None


def _stamp(path: Path):
    """``(size, mtime_ns)`` of the file ``path``, or None when it cannot be read."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def write_manifest(path, info: dict) -> None:
    """Write ``info`` as the ``sweep.json`` of sweep folder ``path`` (temporary name, then
    rename): one top-level key a line, each value on its line. ``indent=2`` put every
    value of a list on its own line: 3 MB for an axis of 100,000 values.

    Parameters
    ----------
    path : str or path-like
        The sweep folder.
    info : dict
        The manifest (JSON-able; read back by :func:`read_manifest`).
    """
    lines = [f"  {json.dumps(str(key))}: {json.dumps(value)}" for key, value in info.items()]
    text = "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"
    with atomic_path(Path(path) / MANIFEST) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_manifest(path) -> dict:
    """The ``sweep.json`` of a sweep folder."""
    manifest = Path(path) / MANIFEST
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError("output", f"{str(manifest)!r} is not a readable sweep manifest: "
                                  f"{exc}") from None


def manifest_list(info: dict, key: str, manifest: Path) -> tuple:
    """``info[key]`` of the manifest file ``manifest`` (a list: ``dims``, ``shape``) as a
    tuple, () when absent.

    Raises
    ------
    SpecError
        When it is there but not a list, naming the manifest file, the key and the value
        (``tuple(3)`` raised a bare TypeError, and a text became its letters).
    """
    value = info.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError("output", f"{str(manifest)!r} is not a readable sweep manifest: its "
                                  f"{key!r} must be a list, got {json.dumps(value)}")
    return tuple(value)


def _differences(path: Path, spec) -> str:
    """``" (KEY: A here, B in the folder; ...)"``: the fields of ``spec`` that
    differ from the folder's ``spec.toml`` (empty when it cannot be read)."""
    from .spec import spec_differences
    from .tomlio import read_toml

    try:
        stored = read_toml(path / SPEC)
    except (OSError, ValueError):  # a damaged spec.toml: the message goes without
        return ""
    found = spec_differences(spec, stored)
    if not found:
        return ""
    keys = list(found)
    shown = [f"{key}: {found[key][0]} here, {found[key][1]} in the folder"
             for key in keys[:MAX_NAMED_DIFFERENCES]]
    rest = keys[MAX_NAMED_DIFFERENCES:]
    if rest:  # only their names: the message stays a few lines long
        names = rest[:MAX_NAMED_DIFFERENCES] + (["..."] if len(rest) > MAX_NAMED_DIFFERENCES
                                                else [])
        shown.append(f"and {len(rest)} more: {', '.join(names)}")
    return f" ({'; '.join(shown)})"


def holds_sweep_of(info: dict, spec) -> bool:
    """Whether the sweep folder whose manifest is ``info`` holds the sweep of ``spec``:
    the same fingerprint, or the same one but for the path of a ``file.py:function``
    study that moved with the folder (:func:`_study_moved`)."""
    return info.get("fingerprint") in spec.fingerprints() or _study_moved(info, spec)


def _study_moved(info: dict, spec) -> bool:
    """Whether the folder (manifest ``info``) holds the sweep of ``spec`` but for the
    folder of its ``file.py:function`` study: a sweep folder copied with its study from
    a laptop to a cluster, whose path ``spec.toml`` then gives anew. Same file name and
    function, no file at the former path here (else it is another study, a copy that may
    have been changed), and the same fingerprint with the former path."""
    from .studyref import StudyRef

    before = StudyRef(str(info.get("study", "")))
    return (spec.study.kind == "file" and before.kind == "file"
            and before.label == spec.study.label
            and not Path(before.ref.rsplit(":", 1)[0]).exists()
            and info.get("fingerprint") in spec.fingerprints(study=before.ref))


def _point_params(ds: xr.Dataset, index: int) -> dict:
    """The swept parameter values of point ``index`` read from an assembled result:
    the coordinates along the sweep dimensions (those of ``status``)."""
    position = dict(zip(ds["status"].dims, np.unravel_index(index, ds["status"].shape)))
    out = {}
    for name, coord in ds.coords.items():
        if len(coord.dims) == 1 and coord.dims[0] in position \
                and coord.dims[0] != REPLICATE_DIM:
            out[name] = coord.values[position[coord.dims[0]]].item()
    return out


def is_sweep_folder(path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def count_point_files(path) -> int:
    """How many point files sweep folder ``path`` holds: a listing, no file opened (an
    interrupted run says it at once, within the batch system's grace before SIGKILL)."""
    return sum(1 for p in _listing(Path(path) / "points")
               if not p.name.startswith(".") and _index_of(p, ".nc") is not None)


def _listing(folder: Path) -> list:
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []


def _index_of(path: Path, suffix: str):
    if path.suffix != suffix or not path.stem.isdigit():
        return None
    return int(path.stem)


def _remove(path: Path):
    try:
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


def _one(value):
    """The element of a 1-element attribute array (h5py), anything else as it is."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(()).item()
    return value


def _text(value):
    value = _one(value)
    return value.decode() if isinstance(value, bytes) else value


def _version() -> str:
    from .. import __version__

    return __version__
