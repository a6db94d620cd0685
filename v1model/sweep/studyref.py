"""Which study a sweep runs, as a reference that worker processes can resolve.

A sweep's study is sent to workers (other processes, other machines) as a
string, never as a pickled function:

- a registered study name, ``"lca-sweep"`` (see ``v1model study list``);
- an importable function, ``"mypackage.mymodule:run"``;
- a function in a Python file, ``"/path/to/my_study.py:run"`` (the file must
  be readable where the workers run: on a cluster, a shared file system).

From Python a function or a study module may be given instead; it is turned
into one of these strings. A study function is called as
``run(quick=..., seed=..., **params)`` and returns an ``xarray.Dataset``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..validation import describe
from .errors import SpecError

__all__ = ["StudyRef", "resolve_study"]

#: Arguments the sweep passes itself; they cannot be fixed or swept parameters.
RESERVED_PARAMETERS = ("quick", "seed")
#: module name under which a study given as "file.py:function" is imported
STUDY_MODULE_PREFIX = "_v1model_sweep_"
#: held while a study file is imported (re-entrant: the file may import itself)
_IMPORT_LOCK = threading.RLock()


@dataclass(frozen=True)
class StudyRef:
    """A resolvable study reference (see the module docstring).

    Parameters
    ----------
    ref : str
        A registry name (``"olshausen-field-1996"``), ``"module:function"``
        or ``"path/to/file.py:function"``.
    """

    ref: str

    @property
    def kind(self) -> str:
        """``"name"``, ``"module"`` or ``"file"``: which form ``ref`` has."""
        if ":" not in self.ref:
            return "name"
        target = self.ref.rsplit(":", 1)[0]
        return "file" if target.endswith(".py") else "module"

    @property
    def label(self) -> str:
        """Short display name."""
        if self.kind == "name":
            return self.ref
        target, func = self.ref.rsplit(":", 1)
        return f"{Path(target).stem if self.kind == 'file' else target}:{func}"

    def module(self) -> ModuleType:
        """The module that holds the study (imported, or found in the registry).

        Returns
        -------
        module
        """
        kind = self.kind
        if kind == "name":
            from studies import get_study

            return get_study(self.ref)
        target = self.ref.rsplit(":", 1)[0]
        if kind == "module":
            return importlib.import_module(target)
        return _import_file(Path(target))

    def worker_ref(self) -> str:
        """The reference sent to workers: a registry name becomes its module's
        ``run`` (so workers import that one study, not the whole registry).

        Returns
        -------
        str
            ``"module:function"`` or ``"file.py:function"``.
        """
        if self.kind != "name":
            return self.ref
        return f"{self.module().__name__}:run"

    def function(self):
        """The callable ``run(quick, seed, **params) -> xr.Dataset``.

        Returns
        -------
        callable
        """
        module = self.module()
        attr = "run" if self.kind == "name" else self.ref.rsplit(":", 1)[1]
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def parameters(self) -> tuple[set, bool]:
        """Accepted keyword parameter names (without quick/seed) and whether
        the function also takes ``**kwargs``.

        Returns
        -------
        names : set of str
        var_kw : bool
        """
        if self.kind == "name":
            from studies import study_parameters

            names = set(study_parameters(self.ref))
            sig = inspect.signature(self.function())
        else:
            sig = inspect.signature(self.function())
            names = {
                p.name for p in sig.parameters.values()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
            }
        var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
        return names - set(RESERVED_PARAMETERS), var_kw

    def units(self) -> dict:
        """Units of the study's parameters, from its optional ``PARAMETER_UNITS``.

        Returns
        -------
        dict of str to str
            Empty when the study gives none.
        """
        units = getattr(self.module(), "PARAMETER_UNITS", None)
        return dict(units) if isinstance(units, dict) else {}

    def path_parameters(self) -> dict | None:
        """The study's parameters that take a file or folder path, from its optional
        ``PATH_PARAMETERS``, each with the texts it also takes that are no path.

        ``PATH_PARAMETERS`` is a tuple of parameter names, or a dict of parameter
        name to those texts: ``{"images": ("skimage",), "dictionary": ("none",)}``.

        Returns
        -------
        dict of str to frozenset of str, or None
            Parameter name -> its texts that are no path (lower case); None when
            the study declares nothing (the sweep then guesses, see
            :mod:`v1model.sweep.spec`).

        Raises
        ------
        SpecError
            Naming ``study`` for a ``PATH_PARAMETERS`` of another shape.
        """
        declared = getattr(self.module(), "PATH_PARAMETERS", None)
        if declared is None:
            return None
        if isinstance(declared, (tuple, list)):
            declared = dict.fromkeys(declared, ())
        if not isinstance(declared, dict) or not all(
                isinstance(name, str) and isinstance(texts, (tuple, list))
                and all(isinstance(t, str) for t in texts)
                for name, texts in declared.items()):
            raise SpecError("study", f"{self.label}: PATH_PARAMETERS must be a tuple of "
                                     "parameter names, or a dict of parameter name to the "
                                     "texts it takes that are no path, got "
                                     f"{describe(declared)}")
        return {name: frozenset(t.strip().lower() for t in texts)
                for name, texts in declared.items()}

    def defaults(self, quick: bool | None = None) -> dict:
        """The defaults of the study's keyword parameters (without ``quick`` and
        ``seed``), as its signature gives them, or as its run with ``quick`` does.

        Parameters
        ----------
        quick : bool, optional
            The variant: a default None that the study replaces by the variant's
            value (``n_updates=None``: 40 quick, 2000 full), declared in its
            optional ``QUICK_DEFAULTS = {"n_updates": (40, 2000)}`` (name ->
            (quick, full)), is given as that value. None: as the signature has it.

        Returns
        -------
        dict
            Parameter name -> default, for the parameters that have one; empty
            when the function's signature cannot be read.

        Raises
        ------
        SpecError
            Naming ``study`` for a ``QUICK_DEFAULTS`` of another shape.
        """
        try:
            sig = inspect.signature(self.function())
        except (TypeError, ValueError):
            return {}
        out = {p.name: p.default for p in sig.parameters.values()
               if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is not p.empty and p.name not in RESERVED_PARAMETERS}
        if quick is None:
            return out
        variants = self.quick_defaults()
        return {name: variants[name][0 if quick else 1]
                if value is None and name in variants else value
                for name, value in out.items()}

    def quick_defaults(self) -> dict:
        """The study's optional ``QUICK_DEFAULTS``: parameter name -> (its default when
        ``quick``, its default otherwise), for the parameters whose default None the
        study replaces (see :meth:`defaults`).

        Returns
        -------
        dict of str to tuple
            Empty when the study declares none.

        Raises
        ------
        SpecError
            Naming ``study`` for a ``QUICK_DEFAULTS`` that is not such a dict.
        """
        declared = getattr(self.module(), "QUICK_DEFAULTS", None)
        if declared is None:
            return {}
        if not isinstance(declared, dict) or not all(
                isinstance(name, str) and isinstance(pair, tuple) and len(pair) == 2
                for name, pair in declared.items()):
            raise SpecError("study", f"{self.label}: QUICK_DEFAULTS must be a dict of "
                                     "parameter name to (quick default, full default), got "
                                     f"{describe(declared)}")
        return dict(declared)

    def defaults_follow(self) -> dict:
        """The study's optional ``DEFAULTS_FOLLOW``: parameter name -> the parameters its
        default is computed from (``{"n_atoms": ("patch_size",)}``: ``patch_size**2``),
        whose ``QUICK_DEFAULTS`` value holds only while those are left unset (see
        :meth:`v1model.sweep.SweepSpec.study_defaults`).

        Returns
        -------
        dict of str to tuple of str
            Empty when the study declares none.

        Raises
        ------
        SpecError
            Naming ``study`` for a ``DEFAULTS_FOLLOW`` that is not such a dict.
        """
        declared = getattr(self.module(), "DEFAULTS_FOLLOW", None)
        if declared is None:
            return {}
        if not isinstance(declared, dict) or not all(
                isinstance(name, str) and isinstance(sources, tuple)
                and all(isinstance(source, str) for source in sources)
                for name, sources in declared.items()):
            raise SpecError("study", f"{self.label}: DEFAULTS_FOLLOW must be a dict of "
                                     "parameter name to a tuple of the parameter names its "
                                     f"default is computed from, got {describe(declared)}")
        return dict(declared)

    def sweep_plotter(self):
        """The study's optional ``plot_sweep(ds, outdir) -> list[Path]``.

        Returns
        -------
        callable or None
        """
        return getattr(self.module(), "plot_sweep", None)


def _import_file(path: Path) -> ModuleType:
    """Import a .py file under a private, stable module name (cached)."""
    path = path.resolve()
    # the path's bytes: a folder named in another encoding (Latin-1 "caf\xe9") is not UTF-8
    name = STUDY_MODULE_PREFIX + hashlib.sha1(os.fsencode(path)).hexdigest()[:12]
    # one import at a time: the threads of a dask worker (threads_per_worker > 1) start
    # their first points together, and the others took the module from sys.modules while
    # the first was still executing it ("module ... has no attribute 'run'")
    with _IMPORT_LOCK:
        if name in sys.modules:
            return sys.modules[name]
        if not path.is_file():
            raise FileNotFoundError(f"study: no such file: {str(path)!r}")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        # like running a script: sibling modules of the file are importable
        if str(path.parent) not in sys.path:
            sys.path.append(str(path.parent))
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module


def resolve_study(study, base_dir: Path | None = None) -> StudyRef:
    """Turn a study name, reference string, module or function into a checked
    :class:`StudyRef`.

    Parameters
    ----------
    study : str, module or callable
    base_dir : Path, optional
        Folder that relative ``file.py:function`` references are relative to
        (the spec file's folder); default the current directory.

    Returns
    -------
    StudyRef

    Raises
    ------
    SpecError
        Naming the field ``study``: unknown study, missing file or function,
        a function that workers could not import, or one that does not take
        ``quick`` and ``seed``.
    """
    if isinstance(study, ModuleType):
        ref = _ref_from_module(study)
    elif callable(study) and not isinstance(study, str):
        ref = _ref_from_function(study)
    elif isinstance(study, str) and study.strip():
        ref = study.strip()
        if ":" in ref:
            target, func = ref.rsplit(":", 1)
            if target.endswith(".py"):
                path = Path(target).expanduser()
                if not path.is_absolute():
                    path = (base_dir or Path.cwd()) / path
                ref = f"{path.resolve()}:{func}"
    else:
        raise SpecError(
            "study",
            f"must be a study name, 'module:function', 'file.py:function' or a function, "
            f"got {describe(study)}",
        )
    out = StudyRef(ref)
    try:
        func = out.function()
    except SpecError:
        raise
    except ValueError as exc:  # unknown registry name: the message lists valid ones
        raise SpecError("study", str(exc)) from None
    except (ImportError, FileNotFoundError, AttributeError) as exc:
        raise SpecError("study", f"cannot load {out.ref!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the user's file failed to import (SyntaxError, ...)
        raise SpecError("study", f"cannot load {out.ref!r}: importing it raised "
                                 f"{type(exc).__name__}: {exc}") from exc
    if not callable(func):
        raise SpecError("study", f"{out.ref!r} is not callable")
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return out
    has_var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    missing = [p for p in RESERVED_PARAMETERS if p not in sig.parameters and not has_var_kw]
    if missing:
        raise SpecError("study", f"{out.label} must accept the keyword argument(s) "
                                 f"{', '.join(missing)} (a study is run(quick, seed, **params))")
    return out


def _ref_from_module(module: ModuleType) -> str:
    name = getattr(module, "NAME", None)
    if name is not None:
        from studies import list_studies

        if list_studies().get(name) is module:
            return name
    if not hasattr(module, "run"):
        raise SpecError("study", f"module {module.__name__} has no run() function")
    return _ref_from_function(module.run)


def _ref_from_function(func) -> str:
    qualname = getattr(func, "__qualname__", None)
    modname = getattr(func, "__module__", None)
    if qualname is None or modname is None:
        raise SpecError("study", f"cannot refer to {describe(func)} by name; pass a "
                                 "module-level function or 'module:function'")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise SpecError("study", f"{qualname} is a nested function or lambda, which worker "
                                 "processes cannot import; define it at module level")
    module = sys.modules.get(modname)
    file = getattr(module, "__file__", None)
    if modname != "__main__" and not modname.startswith(STUDY_MODULE_PREFIX):
        try:
            spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and file is not None and spec.origin is not None and \
                Path(spec.origin).resolve() == Path(file).resolve():
            return f"{modname}:{qualname}"
    if file is None:
        raise SpecError("study", f"{qualname} was defined interactively; worker processes "
                                 "can only run functions saved in a .py file")
    return f"{Path(file).resolve()}:{qualname}"
