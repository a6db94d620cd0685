"""Reproductions of classic results, one module per paper or claim.

Each study module defines

- ``NAME``: the command-line name (``olshausen-field-1996``),
- ``TITLE`` and ``REFERENCE``: what it reproduces,
- ``run(quick=False, seed=0, **params) -> xarray.Dataset``,
- ``plot(ds, outdir) -> list[pathlib.Path]``: the figures of ``run``'s Dataset
  ``ds`` as PNG files in the folder ``outdir`` (str or path-like), their paths
  returned,
- optionally ``PARAMETER_UNITS = {"lam": "units of X", ...}`` (units of the sweep
  coordinates, of the parameters in ``v1model study show``, and of the scalar attrs
  that vary between a sweep's points,
  e.g. a derived ``n_atoms``), ``plot_sweep(ds, outdir) -> list[Path]`` (drawn by
  ``v1model sweep run`` on the assembled result) and ``REQUIRED = ("audio_dir",)``
  (parameters whose default, None, stops the run: ``v1model study show`` marks
  them required) and ``PATH_PARAMETERS = {"images": ("skimage",), ...}`` (the
  parameters that take a file or folder path, each with the texts it takes that
  are no path: a sweep makes the relative paths of these, and only these,
  absolute; see :mod:`v1model.sweep.spec`) and ``QUICK_DEFAULTS = {"n_updates":
  (40, 2000), ...}`` (the parameters whose default None ``run`` replaces by its
  quick or full value, with those values, which ``run`` reads from it through
  ``studies._defaults.quick_default``: a sweep records them among the study's
  defaults, :meth:`v1model.sweep.SweepSpec.study_defaults`, and ``v1model study
  show`` prints both beside the None) and ``NONE_MEANS = {"prewhitened": "guessed
  from images ...", ...}`` (what a default None stands for where it is no one value
  per variant: guessed from the data, or set by another parameter; ``v1model study
  show`` prints it beside the None; every default None of a built-in study is in
  ``QUICK_DEFAULTS``, ``NONE_MEANS`` or ``REQUIRED``),

and uses only the public API. ``v1model study list`` lists them and
``v1model study run NAME`` runs one; ``v1model.sweep`` runs any of them over a
parameter grid.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

__all__ = ["list_studies", "get_study", "study_parameters"]


def _modules() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if all(hasattr(module, attr) for attr in ("NAME", "run", "plot")):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def list_studies() -> dict[str, ModuleType]:
    """All studies by name.

    Returns
    -------
    dict of str to module
        Each study's ``NAME`` (e.g. ``"olshausen-field-1996"``) to its module.
    """
    return _modules()


def get_study(name: str) -> ModuleType:
    """The study module called ``name`` (hyphens or underscores both accepted).

    Parameters
    ----------
    name : str
        The study's ``NAME`` (e.g. ``"olshausen-field-1996"``).

    Returns
    -------
    module
        With ``NAME``, ``run`` and ``plot``.

    Raises
    ------
    ValueError
        For an unknown name (the message suggests the closest names and lists
        the valid ones). Case and ``_`` for ``-`` do not matter.
    """
    studies = _modules()
    key = str(name).replace("_", "-").lower()  # Olshausen-Field-1996 as the paper writes it
    if key not in studies:
        from v1model.validation import did_you_mean

        # a part of a name ("rozell"), else a near spelling ("olshausen-field-96")
        hint = did_you_mean(key, studies, n=3, parts=True)
        valid = ", ".join(studies) or "(none)"
        raise ValueError(f"unknown study {name!r}{hint}; valid studies: {valid}")
    return studies[key]


def study_parameters(name: str) -> dict:
    """The keyword parameters of a study's ``run`` with their defaults.

    Parameters
    ----------
    name : str
        A study name, as for :func:`get_study`.

    Returns
    -------
    dict
        Parameter name -> default, in signature order (including ``quick``
        and ``seed``); ``inspect.Parameter.empty`` for one without a default.
    """
    sig = inspect.signature(get_study(name).run)
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
