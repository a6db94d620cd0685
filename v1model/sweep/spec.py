"""The sweep specification: what to run (study, fixed and swept parameters,
seeds), where to keep it (output, format) and how (executor).

A spec comes from a TOML file or from :func:`v1model.sweep.run`'s arguments;
both go through :func:`parse_spec`, which checks everything that can be
checked before any point runs and names the offending field in its error.

TOML layout (every key but ``study`` and a sweep is optional)::

    study = "lca-sweep"          # name, "module:function" or "file.py:function"
    output = "results/lca"       # sweep folder (relative to this file)
    format = "netcdf"            # assembled result: "netcdf" or "zarr"
    quick = false                # passed to every point
    seed = 0                     # root seed: every point's seed derives from it
    n_seeds = 3                  # replicates of each combination (dim "replicate")
    common_seeds = false         # true: replicate r has one seed at every combination
    order = ["lam", "shape", "overcompleteness"]  # dimension order (default: the
                                 # [sweep] entries, then the [zip.*] groups)

    [params]                     # fixed parameters of every point
    n_train = 20000
    dictionary = "../atoms.nc"   # a relative path: relative to this file (see below)
    n_test = "none"              # None (TOML has no null), as `-p n_test=none`: for a
                                 # parameter that takes None; a text one gets "none"

    [sweep]                      # the full product of these
    lam = { start = 0.05, stop = 0.8, num = 5, log = true }
    overcompleteness = [1, 2, 4]

    [zip.shape]                  # parameters varying together along dim "shape"
    height = [8, 12]
    width = [8, 12]

    [units]                      # units of swept parameters (coordinates' attrs): labels,
    lam = "1"                    # not conversions; one contradicting the study's
                                 # PARAMETER_UNITS (tau in "ms", the study's in "s") is
                                 # refused; its "units of X" may be named; one that xarray
                                 # reads as encoding ("s since onset": dates) is refused

    [executor]                   # see v1model.sweep.executors
    kind = "local"
    workers = 4

A relative path in ``[params]`` is relative to the spec file, like ``output``
(to the current directory for a spec built by :func:`v1model.sweep.run`), and
is recorded as an absolute path in the sweep folder's ``spec.toml``, so that a
``sweep resume`` from any directory reads the same files. Which parameters
take a path, the study says in its ``PATH_PARAMETERS`` (every built-in study
does: ``images``, ``dictionary``, ``reference``, ``audio_dir``), with the
texts such a parameter takes that are no path (``images = "skimage"``,
``audio_dir = "synthetic"``, ``"none"``), which are passed as written, as are
values starting with ``~`` or holding a ``$VAR`` (``${VAR}``; any other ``$``,
as in ``data$1``, is part of a name), which the built-in studies expand where the
points run (:func:`v1model.validation.check_path`, which refuses an unset variable
by name); its other parameters are never paths (``prior = "cauchy"`` stays so
beside a folder named ``cauchy``).
For a study that declares nothing (one of your own), the sweep guesses: a value
counts as a path when its parameter takes only text (annotated ``str`` or
``Path``) and it holds a ``/`` or names a file or folder that exists there;
other text, and a glob pattern (holding ``*``, ``?`` or ``[``: ``pattern =
"*/*.wav"``, relative to ``audio_dir``), is passed as written. Swept values are
the sweep's coordinates and stay as written (relative to the current directory
when the points run): sweep over absolute paths.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import numbers
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..io import flatten_nested
from ..validation import check_bool, check_path, describe, did_you_mean
from .errors import SpecError
from .executor_config import check_executor_config, check_pbs_words
from .grid import (MAX_POINTS, REPLICATE_DIM, Grid, Zipped, _coordinate_values, make_axis,
                   plain_scalar)
from .point import PER_POINT_VARIABLES, PointTask
from .studyref import RESERVED_PARAMETERS, StudyRef, resolve_study
from .tomlio import dumps_toml, loads_toml, read_toml, toml_value

__all__ = ["SweepSpec", "parse_spec", "load_spec", "spec_differences", "changed_defaults",
           "FORMATS"]

FORMATS = ("netcdf", "zarr")
TOP_LEVEL = ("study", "output", "format", "quick", "seed", "n_seeds", "common_seeds", "params",
             "sweep", "zip", "order", "units", "executor", "description")


@dataclass
class SweepSpec:
    """A checked sweep specification (build it with :func:`parse_spec`).

    Parameters
    ----------
    study : StudyRef
    grid : Grid
    params : dict, optional
        Fixed parameters passed to every point.
    quick : bool, default False
    output : Path or None, default None
        The sweep folder; None keeps the points in memory.
    format : {"netcdf", "zarr"}, default "netcdf"
        Format of the assembled result.
    executor : dict, default {"kind": "local"}
        The checked ``[executor]`` table.
    description : str, default ""
    source : Path or None, default None
        The TOML file the spec was read from.
    """

    study: StudyRef
    grid: Grid
    params: dict = field(default_factory=dict)
    quick: bool = False
    output: Path | None = None
    format: str = "netcdf"
    executor: dict = field(default_factory=lambda: {"kind": "local"})
    description: str = ""
    source: Path | None = None

    @property
    def _worker_ref(self) -> str:
        if not hasattr(self, "_worker_ref_cache"):
            self._worker_ref_cache = self.study.worker_ref()
        return self._worker_ref_cache

    @property
    def _none_parameters(self) -> frozenset:
        if not hasattr(self, "_none_parameters_cache"):
            self._none_parameters_cache = none_parameters(self.study)
        return self._none_parameters_cache

    def task(self, index: int) -> PointTask:
        """The work of point ``index`` (fixed and swept parameters, seed).

        Parameters
        ----------
        index : int
            Flat index of the point.

        Returns
        -------
        PointTask
        """
        return PointTask(
            index=index,
            study=self._worker_ref,
            # each point its own copy: a study that changed a list it was given would
            # change the next point's (the serial executor runs in this process)
            params=copy.deepcopy(_nones({**self.params, **self.grid.parameters(index)},
                                        self._none_parameters)),
            seed=self.grid.seed(index),
            quick=self.quick,
            swept=self.grid.swept_parameters,
            dims=self.grid.dims,
        )

    def what(self) -> dict:
        """The part of the spec that determines the results (TOML-able).

        Returns
        -------
        dict
        """
        out = {"study": self.study.ref}
        if self.description:
            out["description"] = self.description
        out.update(quick=self.quick, seed=self.grid.root_seed, n_seeds=self.grid.n_seeds,
                   common_seeds=self.grid.common_seeds)
        sweep, zips = {}, {}
        for axis in self.grid.axes:
            if axis.zipped:
                zips[axis.dim] = {k: list(v) for k, v in axis.params.items()}
            else:
                sweep[axis.dim] = list(axis.params[axis.dim])
        default_order = list(sweep) + list(zips)
        order = [a.dim for a in self.grid.axes]
        if order != default_order:
            out["order"] = order
        out["params"] = dict(self.params)
        if sweep:
            out["sweep"] = sweep
        if zips:
            out["zip"] = zips
        if self.grid.units:
            out["units"] = dict(self.grid.units)
        return out

    def to_dict(self) -> dict:
        """The whole normalised spec: explicit values, absolute study path.

        Returns
        -------
        dict
        """
        out = self.what()
        if self.output is not None:
            out = {**{k: v for k, v in out.items() if not isinstance(v, dict)},
                   "output": str(self.output), "format": self.format,
                   **{k: v for k, v in out.items() if isinstance(v, dict)}}
        out["executor"] = dict(self.executor)
        return out

    def to_toml(self) -> str:
        """:meth:`to_dict` as a TOML document (what ``spec.toml`` holds)."""
        return dumps_toml(self.to_dict())

    def study_defaults(self) -> dict:
        """The defaults the study gives the parameters this spec leaves unset (neither
        fixed nor swept): what its points run with besides the spec's own values,
        recorded in a sweep folder's ``sweep.json`` (see :func:`changed_defaults`).

        A default None that the study replaces by its quick or full variant's value
        is that value when the study declares it in its ``QUICK_DEFAULTS``
        (:meth:`StudyRef.defaults`; every built-in study does, but for the defaults
        computed from other parameters, such as ``control_updates = n_updates // 3``,
        which stay ``"None"``). A default the study computes from parameters this spec
        fixes or sweeps, as its ``DEFAULTS_FOLLOW`` says (``n_atoms`` of
        ``olshausen-field-1996``, ``patch_size**2``), is ``"None"`` too: its
        ``QUICK_DEFAULTS`` value is the one at their defaults only.

        Returns
        -------
        dict of str to str
            Parameter name -> its default's ``repr`` (``"0.2"``, ``"'skimage'"``,
            ``"None"``); a default that has no plain value (a sentinel object,
            whose ``repr`` holds its address) is left out.
        """
        given = set(self.params) | set(self.grid.swept_parameters)
        follow = self.study.defaults_follow()
        out = {}
        for name, value in self.study.defaults(self.quick).items():
            if given.intersection(follow.get(name, ())):
                value = None  # computed from a given value: no one default to record
            text = _default_text(value)
            if name not in given and text is not None:
                out[name] = text
        return out

    def fingerprint(self, study: str | None = None, as_written: bool = False) -> str:
        """Hash of what determines the points (not output, format or executor).

        The texts that mean None for a parameter that takes it (``"none"``,
        ``"null"``, ``"None"``, see :func:`none_parameters`) are hashed as
        ``"none"``: one sweep whichever is written, and the fingerprint of a
        spec that writes ``"none"`` is the one it always had.

        Parameters
        ----------
        study : str, optional
            A study reference to hash instead of this spec's (the path a
            ``file.py:function`` study had where the sweep began).
        as_written : bool, default False
            Hash those texts as written: the fingerprint that sweep folders
            created before they were spelled alike hold for ``"null"`` or
            ``"None"``.

        Returns
        -------
        str
            16 hexadecimal digits.
        """
        what = self.what()
        if study is not None:
            what["study"] = study
        what.pop("description", None)
        what.pop("units", None)
        if not as_written:
            what = _none_spelled(what, self._none_parameters)
        text = json.dumps(what, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def fingerprints(self, study: str | None = None) -> set:
        """The fingerprints a sweep folder of this spec may hold: :meth:`fingerprint`,
        the one with the texts for None as written (a folder created before they
        were spelled alike), and those with the relative paths of ``params`` as
        written (a folder created before they were made absolute).

        Parameters
        ----------
        study : str, optional
            As in :meth:`fingerprint`.

        Returns
        -------
        set of str
        """
        out = {self.fingerprint(study), self.fingerprint(study, as_written=True)}
        written = getattr(self, "_params_as_written", None)
        if written is not None and written != self.params:
            before = dataclasses.replace(self, params=written)
            out |= {before.fingerprint(study), before.fingerprint(study, as_written=True)}
        return out


def _default_text(value) -> str | None:
    """The ``repr`` of the plain value ``value`` (None, bool, number, text, path, or a
    list, tuple or dict of them), the same from run to run; None for anything else."""
    def plain(v):
        if isinstance(v, np.generic):
            v = v.item()  # repr np.float64(0.2) with NumPy 2, 0.2 before
        if isinstance(v, Path):
            return str(v)
        if v is None or isinstance(v, (bool, numbers.Number, str)):
            return v
        if isinstance(v, (list, tuple)):
            return (list if isinstance(v, list) else tuple)(plain(x) for x in v)
        if isinstance(v, dict) and all(isinstance(k, str) for k in v):
            return {k: plain(x) for k, x in v.items()}
        raise TypeError(type(v).__name__)

    try:
        return repr(plain(value))
    except TypeError:
        return None


def changed_defaults(recorded: dict, spec: SweepSpec) -> dict:
    """The study defaults that differ from those a sweep folder recorded when it began.

    Parameters
    ----------
    recorded : dict of str to str
        The ``study_defaults`` of the folder's ``sweep.json``
        (:meth:`SweepSpec.study_defaults` then).
    spec : SweepSpec
        The folder's spec, with the study as it is now.

    Returns
    -------
    dict
        Parameter name -> (its default when the sweep began, its default now),
        as ``repr`` text, in the study's order (a default now computed from
        parameters the spec gives, its ``DEFAULTS_FOLLOW``, as ``"computed from
        patch_size"``). A parameter the study gained or
        lost since is not compared, nor one recorded as ``"None"`` that the study
        now declares in its ``QUICK_DEFAULTS`` (recorded before they were).
    """
    now = spec.study_defaults()
    declared = spec.study.quick_defaults()
    follow = _followed(spec)
    # a default computed from given parameters is recorded as "None": shown as such, the
    # refusal said n_atoms was None now, where it is patch_size**2 at each point
    return {name: (recorded[name], follow.get(name, text)) for name, text in now.items()
            if name in recorded and recorded[name] != text
            and not (recorded[name] == "None" and name in declared)}


def _followed(spec: SweepSpec) -> dict:
    """Parameter name -> how to show its default, for the defaults that ``spec``'s study
    computes from parameters the spec gives (its ``DEFAULTS_FOLLOW``)."""
    given = set(spec.params) | set(spec.grid.swept_parameters)
    return {name: "computed from " + " and ".join(sources)
            for name, sources in spec.study.defaults_follow().items()
            if given.intersection(sources)}


#: the parts of :meth:`SweepSpec.what` that do not enter the fingerprint
NOT_FINGERPRINTED = ("description", "units")
#: longest value shown in a difference, in characters
MAX_SHOWN = 40


def spec_differences(spec: SweepSpec, stored: dict) -> dict:
    """The fingerprinted fields in which ``spec`` differs from a stored spec.

    Parameters
    ----------
    spec : SweepSpec
    stored : dict
        A parsed ``spec.toml`` of a sweep folder.

    Returns
    -------
    dict
        Differing field -> (its value in ``spec``, its value in ``stored``),
        both as TOML text (``"not set"`` where missing, long ones cut), with
        dotted keys for tables (``params.n_updates``), in the order of
        ``spec``'s fields.
    """
    # through TOML and back: the values compared are what the folder would hold
    here = loads_toml(dumps_toml({k: v for k, v in spec.what().items()
                                  if k not in NOT_FINGERPRINTED}))
    there = {k: v for k, v in stored.items() if k in TOP_LEVEL and k not in NOT_FINGERPRINTED
             and k not in ("output", "format", "executor")}
    mine, theirs = flatten_nested(here), flatten_nested(there)
    keys = list(mine) + [k for k in theirs if k not in mine]
    return {key: (_shown(mine, key), _shown(theirs, key))
            for key in keys if _written(mine, key) != _written(theirs, key)}


def _written(table: dict, key: str) -> str | None:
    """``table[key]`` as TOML text, None when missing: compared so, ``[1, 2]`` and
    ``[1.0, 2.0]`` (or ``true`` and ``1``), equal in Python but other sweeps (their
    fingerprints differ), are a difference to name ("its spec differs from this one"
    named none)."""
    return toml_value(table[key]) if key in table else None


def _shown(table: dict, key: str) -> str:
    if key not in table:
        return "not set"
    text = toml_value(table[key])
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."


def load_spec(path, output=None, executor=None, quick=None, *,
              resolve_paths: bool = True) -> SweepSpec:
    """Read and check a TOML sweep spec.

    Parameters
    ----------
    path : str or Path
    output : str or Path, optional
        Override the spec's ``output`` (relative to the current directory).
    executor : dict or str, optional
        Override the spec's ``[executor]`` table.
    quick : bool, optional
        Override the spec's ``quick`` (a different sweep: use another output).
    resolve_paths : bool, default True
        As in :func:`parse_spec` (False for a sweep folder's own ``spec.toml``).

    Returns
    -------
    SweepSpec
        The checked spec (:func:`parse_spec`).

    Raises
    ------
    SpecError
        Naming the field, as :func:`parse_spec`; also for an empty ``output``
        or a file that cannot be read or parsed.
    FileNotFoundError
        For a ``path`` that is not a file.
    """
    path = Path(path).expanduser()
    data = read_toml(path)
    if output is not None:
        if not str(output).strip():  # Path("") is the current folder: a sweep there unsaid
            raise SpecError("output", f"must be a folder path, got {str(output)!r}")
        data["output"] = str(Path(output).expanduser().resolve())
    if executor is not None:
        data["executor"] = executor
    if quick is not None:
        data["quick"] = quick
    return parse_spec(data, source=path, resolve_paths=resolve_paths)


def parse_spec(data: dict, source=None, *, resolve_paths: bool = True) -> SweepSpec:
    """Check a spec dict (parsed TOML, or built by :func:`v1model.sweep.run`).

    Relative paths (``output``, ``executor.log_directory``, ``file.py:function``
    studies, and paths in ``params``: see the module docstring) are relative to
    the folder of ``source`` (the TOML file), else to the current directory;
    those of ``params`` are made absolute in the spec.

    Parameters
    ----------
    data : dict
        The spec: ``study``, ``sweep``, ``params``, ``seed``, ``executor``, ...
    source : str or path-like, optional
        The TOML file ``data`` was read from.
    resolve_paths : bool, default True
        Make relative paths in ``params`` absolute. False keeps them as written
        (relative to the current directory when the points run): a sweep
        folder's ``spec.toml`` holds the absolute paths its sweep began with,
        or, written before they were recorded so, the ones its points ran with.

    Returns
    -------
    SweepSpec
        The checked spec.

    Raises
    ------
    SpecError
        Naming the field: unknown top-level key, unknown study, unknown
        parameter, empty grid, bad range, bad executor option, ...
    """
    if not isinstance(data, dict):
        raise SpecError("spec", f"must be a table, got {describe(data)}")
    source = Path(source) if source is not None else None
    base = source.parent.resolve() if source is not None else Path.cwd()
    unknown = [k for k in data if k not in TOP_LEVEL]
    if unknown:
        raise SpecError(unknown[0], f"unknown key; valid keys: {', '.join(TOP_LEVEL)}")
    if "study" not in data:
        raise SpecError("study", "missing: name the study to sweep (see `v1model study list`)")
    study = resolve_study(data["study"], base_dir=base)

    quick = _bool(data.get("quick", False), "quick")
    fmt = data.get("format", "netcdf")
    if fmt not in FORMATS:
        raise SpecError("format", f"must be one of {', '.join(map(repr, FORMATS))}; got {fmt!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise SpecError("description", f"must be a string, got {describe(description)}")

    grid = spec_grid(data, study.units())

    params = _table(data.get("params", {}), "params")
    # None (from Python) is checked below, against the study
    params = {name: value if value is None else _plain(value, f"params.{name}")
              for name, value in params.items()}
    accepted, var_kw = study.parameters()
    swept = grid.swept_parameters
    for name in list(params) + list(swept):
        where = f"params.{name}" if name in params else _field_of(name, grid)
        if name in RESERVED_PARAMETERS:
            hint = ("set the top-level 'seed' (root seed) and 'n_seeds' instead"
                    if name == "seed" else "set the top-level 'quick' instead")
            raise SpecError(where, f"{name!r} is set by the sweep itself; {hint}")
        if name not in accepted and not var_kw:
            valid = ", ".join(sorted(accepted)) or "(none)"
            # a misspelt key got the list alone, as `study run -p` did
            raise SpecError(where, f"study {study.label!r} has no parameter {name!r}"
                                   f"{did_you_mean(name, sorted(accepted), n=3)}; "
                                   f"valid parameters: {valid}")
        # a swept parameter becomes a coordinate of the result, which must not take the
        # name of a per-point variable; a fixed one is only recorded in the spec
        if name in swept and (name in PER_POINT_VARIABLES or name == REPLICATE_DIM):
            raise SpecError(where, f"{name!r} cannot be swept: the sweep's result uses that "
                                   f"name ({', '.join(PER_POINT_VARIABLES)}, {REPLICATE_DIM}); "
                                   f"it can be fixed under [params]")
    takes_none = none_parameters(study)
    for name, value in params.items():
        if value is None:  # from Python: kept as TOML keeps it, the text "none"
            if name not in takes_none:
                raise SpecError(f"params.{name}", f"study {study.label!r} does not take None "
                                                  f"for {name!r}; leave it out to keep its "
                                                  "default")
            params[name] = "none"
    written = dict(params)
    if check_bool(resolve_paths, "resolve_paths"):
        params = _absolute_paths(params, study, base)
    both = set(params) & set(swept)
    if both:
        name = sorted(both)[0]
        raise SpecError(f"params.{name}", f"{name!r} is both fixed and swept "
                                          f"({_field_of(name, grid)})")
    for axis in grid.axes:
        if axis.zipped and axis.dim not in axis.params and \
                (axis.dim in PER_POINT_VARIABLES or axis.dim in params):
            raise SpecError(f"zip.{axis.dim}", f"dimension name {axis.dim!r} is already used")

    output = data.get("output")
    if output is not None:
        # blank: a folder named "  " beside the spec
        if not isinstance(output, (str, Path)) or not str(output).strip():
            raise SpecError("output", f"must be a folder path, got {describe(output)}")
        output = _folder(output, "output", base)
    executor = check_executor_config(data.get("executor"))
    if executor.get("log_directory") is not None:
        # expanded here, like output: SLURM and PBS read it from #SBATCH / #PBS lines,
        # where no shell expands a variable, and dask-jobqueue creates it on this machine
        # (a "$SCRATCH/logs" left as it was became a folder named "$SCRATCH" here)
        executor["log_directory"] = str(_folder(executor["log_directory"],
                                                "executor.log_directory", base))
        check_pbs_words(executor)  # a relative one under a folder with a space
    spec = SweepSpec(study, grid, params, quick, output, fmt, executor, description, source)
    # a sweep folder created before the paths were made absolute holds their fingerprint
    spec._params_as_written = written
    _check_utf8(spec.to_dict())
    return spec


def spec_grid(data: dict, study_units: dict) -> Grid:
    """The grid of spec dict ``data`` (its ``sweep``, ``zip``, ``units``, ``order``,
    ``seed``, ``n_seeds`` and ``common_seeds``), checked; :func:`parse_spec`'s, and that
    of a sweep folder's ``spec.toml`` read without importing its study
    (:mod:`v1model.sweep.labels`), so that the two cannot differ.

    Parameters
    ----------
    data : dict
        The spec (parsed TOML, or built by :func:`v1model.sweep.run`).
    study_units : dict
        The study's ``PARAMETER_UNITS`` (:meth:`StudyRef.units`); {} for a ``spec.toml``,
        whose ``[units]`` holds every unit its grid had.

    Returns
    -------
    Grid

    Raises
    ------
    SpecError
        Naming the field: bad seed, n_seeds, range, unit or order, an empty grid, ...
    """
    common = _bool(data.get("common_seeds", False), "common_seeds")
    root_seed = data.get("seed", 0)
    # below 2**63: the result records it as an int64 netCDF attribute
    if (isinstance(root_seed, bool) or not isinstance(root_seed, numbers.Integral)
            or not 0 <= root_seed < 2**63):
        # None and a Generator are what a study's seed takes: say why a sweep does not
        raise SpecError("seed", f"the root seed must be an integer in [0, 2**63), got "
                                f"{describe(root_seed)}: a sweep needs a fixed root seed, "
                                f"from which each point's seed is derived (sweep.point_seed), "
                                f"so that any point can be run again with its own seed "
                                f"(resume, retry-failed); give e.g. seed=0")
    n_seeds = data.get("n_seeds", 1)
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, numbers.Integral) or n_seeds < 1:
        raise SpecError("n_seeds", f"must be a positive integer, got {describe(n_seeds)}")
    units = _table(data.get("units", {}), "units")
    for name, unit in units.items():
        if not isinstance(unit, str):
            raise SpecError(f"units.{name}", f"must be a string, got {describe(unit)}")

    axes, swept = [], []
    sweep = _table(data.get("sweep", {}), "sweep")
    for name, values in sweep.items():
        if isinstance(values, Zipped):
            names, field_name = list(values.params), f"zip.{name}"
        else:
            names, field_name = [name], f"sweep.{name}"
        swept += names
        axes.append(make_axis(name, values, field_name, _units_for(names, units, study_units)))
    for dim, group in _table(data.get("zip", {}), "zip").items():
        if not isinstance(group, dict):
            raise SpecError(f"zip.{dim}", f"must be a table of parameter = values, got "
                                          f"{describe(group)}")
        swept += list(group)
        axes.append(make_axis(dim, group, f"zip.{dim}", _units_for(group, units, study_units)))
    for axis in axes:
        _check_units_agree(axis, units, study_units)
        _check_units_saveable(axis, units, study_units)
    unknown = sorted(set(units) - set(swept))
    if unknown:  # a typo here would silently leave a coordinate without its unit
        raise SpecError("units", f"unit(s) given for {unknown}, which are not swept; swept "
                                 f"parameters: {sorted(swept)}")
    if "order" in data:
        order = data["order"]
        dims = [a.dim for a in axes]
        if not isinstance(order, list) or sorted(map(str, order)) != sorted(dims):
            raise SpecError("order", f"must list every swept dimension once: {dims}; got "
                                     f"{describe(order)}")
        axes = [axes[dims.index(d)] for d in order]
    if not axes and n_seeds == 1:
        raise SpecError("sweep", "the grid is empty: give at least one swept parameter in "
                                 "[sweep] (or [zip.NAME]), or n_seeds > 1")
    grid = Grid(tuple(axes), int(n_seeds), int(root_seed), common)
    if grid.n_points > MAX_POINTS:
        raise SpecError("sweep", f"the grid has {grid.n_points:.3g} points (shape "
                                 f"{grid.shape}), more than a sweep can hold ({MAX_POINTS:,} "
                                 "at most)")
    return grid


def _check_utf8(table: dict, prefix: str = "") -> None:
    """Refuse text that UTF-8 cannot write, naming its field: a path under a folder
    named in another encoding (Latin-1 ``caf\\xe9``, which Python reads as a lone
    surrogate) cannot go into spec.toml or the result's attributes."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _check_utf8(value, f"{name}.")
        elif isinstance(value, (list, tuple)):
            _check_utf8({f"[{i}]": v for i, v in enumerate(value)}, name)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise SpecError(name.replace(".[", "["),
                                f"{value!r} is not valid UTF-8 (a file or folder name in "
                                "another encoding, such as Latin-1?): spec.toml and the "
                                "result's attributes cannot record it; rename it, or use a "
                                "path without it") from None


def _folder(value, name, base) -> Path:
    """Folder ``value`` with its environment variables and ``~`` expanded, relative to
    ``base``; an unset variable is refused, naming ``name``, by the rule of every path
    (:func:`v1model.validation.check_path`)."""
    try:
        path = check_path(str(value), name, "folder")
    except ValueError as exc:  # "NAME: '$SCRATCH/x' uses ...": the field comes first
        raise SpecError(name, str(exc).removeprefix(f"{name}: ")) from None
    return path if path.is_absolute() else base / path


def _absolute_paths(params: dict, study: StudyRef, base: Path) -> dict:
    """``params`` with each relative path made absolute against ``base``. Passed as
    written, ``audio_dir = "../odd"`` was read from the current directory, while
    ``output`` was relative to the spec file, and a ``sweep resume`` from another
    directory read another folder.

    A study that declares its ``PATH_PARAMETERS`` (:meth:`StudyRef.path_parameters`)
    has the text of those parameters, and only those, made absolute, but for the
    texts each declares as no path (``images = "skimage"``): nothing is guessed, so a
    text option (``prior = "cauchy"``) stays as written whatever lies beside the spec.
    For a study that declares nothing, see :func:`_guessed_paths`."""
    declared = study.path_parameters()
    if declared is None:
        return _guessed_paths(params, study, base)
    out = dict(params)
    for name, value in params.items():
        if name not in declared or not isinstance(value, str) or not value.strip():
            continue
        if value.strip().lower() in declared[name] or _left_to_the_study(value):
            continue
        out[name] = os.path.normpath(base / value)
    return out


#: the start of an environment variable in a path, as check_path expands them: ``$NAME``
#: or ``${NAME}`` (a ``${`` closing no name is refused by it, naming the text as written)
_VARIABLE = re.compile(r"\$(?:[A-Za-z_]|\{)")


def _left_to_the_study(value: str) -> bool:
    """Whether the path ``value`` is passed as written: absolute, or with ``~`` or a
    ``$VAR`` (``${VAR}``), which the study expands where it runs. Any other ``$`` is part
    of a name (``data$1/imgs``, which check_path takes as written): passed as written, such
    a relative path was read from the current directory, not beside the spec."""
    return (Path(value).is_absolute() or value.startswith("~")
            or _VARIABLE.search(value) is not None)


def _guessed_paths(params: dict, study: StudyRef, base: Path) -> dict:
    """:func:`_absolute_paths` for a study that declares no ``PATH_PARAMETERS`` (one of
    the user's own): a guess. The text value of a text-only parameter (annotated
    ``str`` or ``Path``) that holds a ``/`` or names something that exists under
    ``base``, and is no glob pattern, is made absolute."""
    from ..cli import _is_text_only

    try:
        signature = inspect.signature(study.function())
    except (TypeError, ValueError):
        return params
    text_only = {name for name, p in signature.parameters.items() if _is_text_only(p)}
    out = dict(params)
    for name, value in params.items():
        if name not in text_only or not isinstance(value, str) or not value.strip():
            continue
        if _left_to_the_study(value):
            continue
        if re.search(r"[*?[]", value):
            # a glob pattern, relative to its folder parameter (pattern = "*/*.wav" under
            # audio_dir): made absolute, the study refused it as not relative
            continue
        path = Path(value)
        if "/" in value or os.sep in value or (base / path).exists():
            out[name] = os.path.normpath(base / path)
    return out


#: the text that stands for None in a spec (TOML has no null), as in ``-p KEY=none``
NONE_TEXTS = ("none", "null")


def none_parameters(study: StudyRef) -> frozenset:
    """The study's parameters for which the text ``"none"`` (``"None"``, ``"null"``) of a
    spec means None: those ``v1model study run -p KEY=none`` gives None to (default None
    or annotated ``... | None``, and not text parameters, which read "none" themselves).

    Parameters
    ----------
    study : StudyRef

    Returns
    -------
    frozenset of str
    """
    from ..cli import _takes_none

    try:
        signature = inspect.signature(study.function())
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(name for name, p in signature.parameters.items()
                     if name not in RESERVED_PARAMETERS and _takes_none(p))


def _nones(params: dict, takes_none) -> dict:
    """``params`` with the text "none" of a parameter in ``takes_none`` made None."""
    return {name: None if (name in takes_none and isinstance(value, str)
                           and value.strip().lower() in NONE_TEXTS) else value
            for name, value in params.items()}


def _none_spelled(what: dict, takes_none) -> dict:
    """:meth:`SweepSpec.what` with every text for None of a parameter in ``takes_none``
    (fixed, swept or zipped) written ``"none"``, the spelling hashed since the start."""
    def spelled(name, value):
        if name in takes_none and isinstance(value, str) and \
                value.strip().lower() in NONE_TEXTS:
            return "none"
        return value

    out = dict(what)
    out["params"] = {k: spelled(k, v) for k, v in what["params"].items()}
    if "sweep" in what:
        out["sweep"] = {k: [spelled(k, v) for v in values]
                        for k, values in what["sweep"].items()}
    if "zip" in what:
        out["zip"] = {dim: {k: [spelled(k, v) for v in values] for k, values in group.items()}
                      for dim, group in what["zip"].items()}
    return out


def _units_for(names, units, study_units) -> dict:
    """Units of parameters ``names``: [units] table > the study's PARAMETER_UNITS
    (units given inside a range table take precedence, in make_axis)."""
    out = {}
    for name in names:
        if name in units:
            out[name] = units[name]
        elif name in study_units:
            out[name] = str(study_units[name])
    return out


def _check_units_agree(axis, units, study_units) -> None:
    """Refuse a unit that contradicts the study's PARAMETER_UNITS: units only label the
    coordinate, the values reach the study as written (tau = 10 with "ms" runs 10 s).

    A study unit "units of ..." is relative to the user's data, so naming it (lam = "1"
    for whitened patches, "V" for recordings in volts) is allowed.
    """
    for name, unit in axis.units.items():
        declared = study_units.get(name)
        if declared is None or str(declared) == unit or str(declared).startswith("units of"):
            continue
        where = f"units.{name}" if name in units else f"{_axis_field(axis, name)}.units"
        raise SpecError(where, f"{name} is given in {unit!r} but the study takes it in "
                               f"{str(declared)!r} (its PARAMETER_UNITS); units only label the "
                               f"coordinate and are not converted: give the values of {name} "
                               f"in {str(declared)!r}")


def _check_units_saveable(axis, units, study_units) -> None:
    """Refuse a unit that xarray would read as encoding from every point's file (a
    "since" in it: dates; "seconds" where this xarray reads timedeltas): each point's
    save refused it (:func:`v1model.io.save_dataset`), after the point had run."""
    from .._cf_encoding import _encoding_attr_problem

    for name, unit in axis.units.items():
        values = _coordinate_values(axis.params[name])
        problem = _encoding_attr_problem(xr.Dataset(), xr.Variable(("p",), values), "units",
                                         unit)
        if problem is None:
            continue
        happens, remedy = problem
        source = ""
        if name in units:
            where = f"units.{name}"
        elif str(study_units.get(name)) == unit:  # the study's own: say so
            where, source = _axis_field(axis, name), ", from the study's PARAMETER_UNITS,"
        else:
            where = f"{_axis_field(axis, name)}.units"
        along = "" if name == axis.dim else f" (zipped along the axis {axis.dim!r})"
        raise SpecError(where, f"the units {unit!r}{source} of the swept parameter {name!r}"
                               f"{along} label its coordinate in every point's file, where "
                               f"xarray reads them as encoding: {happens}; {remedy}")


def _axis_field(axis, name) -> str:
    if list(axis.params) == [axis.dim]:
        return f"sweep.{axis.dim}"
    return f"zip.{axis.dim}.{name}"


def _field_of(name, grid) -> str:
    for axis in grid.axes:
        if name in axis.params:
            return f"zip.{axis.dim}.{name}" if axis.zipped else f"sweep.{name}"
    return name


def _bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise SpecError(name, f"must be true or false, got {describe(value)}")
    return bool(value)


def _table(value, name) -> dict:
    if not isinstance(value, dict):
        raise SpecError(name, f"must be a table, got {describe(value)}")
    return dict(value)


def _plain(value, name):
    """A parameter value as plain TOML-able Python (numpy scalars unwrapped, a
    float32 one as the number it reads, :func:`plain_scalar`; tuples as lists), so
    that the spec survives a round trip through spec.toml."""
    value = plain_scalar(value)
    if isinstance(value, (bool, numbers.Integral, numbers.Real, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{name}.{k}") for k, v in value.items()}
    raise SpecError(name, f"must be a number, string, boolean, list or table (it is written "
                          f"to spec.toml so the sweep can be resumed); got {describe(value)}. "
                          "Pass a file path instead of an array")
