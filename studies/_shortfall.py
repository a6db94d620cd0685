"""The training shortfall of a study's convolutional learner: its warning in the study's
own parameters, and the summary the study keeps of it; the warnings of a study run for
another (:func:`run_for`) in the calling study's.

:func:`v1model.convolutional.learn_kernels` counts, per update, the crops whose solver
stopped at ``max_iter`` short of its stopping rule (``n_unconverged``), and warns once
per run with a remedy in its own arguments. A study user sets the study's parameters
instead (``-p NAME=VALUE``), some under other names (``learning_tol``); the block of
:func:`named_by_study` names them so, and says which of the study's runs it was.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

#: the knobs a solver's or learner's warning may name: its limits and its tolerances
#: (all fixed for a study run for another, :func:`run_for`)
SOLVER_KNOBS = ("max_iter", "max_steps", "max_sweeps", "max_rounds", "tol", "snr_db")

#: ``(study, run)`` of the study another study's run is made for (:func:`run_for`), or None
_RUN_FOR = contextvars.ContextVar("studies_run_for", default=None)


@contextlib.contextmanager
def run_for(study: str, run: str):
    """Within the block, the warnings of :func:`named_by_study` of another study run for
    ``study`` (the ``olshausen-field-1996`` run that learns an analysis study's
    dictionary) name ``study`` and say that the solver settings of that run are fixed
    there: its user sets ``study``'s parameters, not those of the study it runs (which
    ``study`` may take under other names, or not at all).

    Parameters
    ----------
    study : str
        The calling study's name, in the message.
    run : str
        What the inner run is to it (``"the olshausen-field-1996 run learning its
        dictionary"``), with how to change its settings if there is a way.
    """
    token = _RUN_FOR.set((study, run))
    try:
        yield
    finally:
        _RUN_FOR.reset(token)


@contextlib.contextmanager
def named_by_study(study: str, run: str, names: dict | None = None,
                   kept_in: str | None = None, params: dict | None = None,
                   x_name: str = "X", derived: dict | None = None,
                   note: str | None = None):
    """Within the block, the ``ConvergenceWarning`` of a learner (or solver) the study
    calls names its knobs as the study's parameters. Inside :func:`run_for` (this study
    run for another) it names the calling study instead, every knob fixed there.

    Parameters
    ----------
    study : str
        The study's name, in the message.
    run : str
        Which of the study's calls it is (``"configuration '8 @ s=2'"``).
    names : dict, optional
        The callee's argument -> the study's parameter that sets it, for those the
        study names otherwise (``{"tol": "learning_tol"}``); the others keep their name.
    kept_in : str, optional
        Where the result keeps the shortfall (a variable or attr), in the message.
    params : dict, optional
        The values in use, for a solver's remedy (``"tol (now 0.0001)"``); a learner
        names its own.
    x_name : str, default "X"
        What a solver's rows named in the message are (``"the held-out crops"``).
    derived : dict, optional
        The callee's argument -> how the study derives its value in use from the
        study's parameters (``{"max_iter": "max_iter=200 * excerpt_length /
        crop_length"}``), said beside that value (``"max_iter (now 400, from ...)"``).
    note : str, optional
        What the study's user should know of this shortfall, appended to the remedy
        (``"; expected at the default max_iter: ..."``, with the measurement that says
        so and the setting to change); left out inside :func:`run_for`.

    Yields
    ------
    v1model.inference._common.SolverSettings
        The settings in force; its ``n_left`` counts the samples the solvers called in
        the block left short (what a study keeps, ``kept_in``).
    """
    from v1model.inference._common import SolverSettings, solver_settings

    outer = _RUN_FOR.get()
    if outer is not None:
        # run for another study, whose user sets none of this study's parameters
        study, run = outer[0], f"{outer[1]}: {run}"
        names = dict.fromkeys((*SOLVER_KNOBS, *(names or {})))
        kept_in = derived = note = None
    where = f"; {run}" + (f", kept in {kept_in}" if kept_in else "")
    advice = (f" (the study's parameters: -p NAME=VALUE on `v1model study run {study}`, "
              f"run(NAME=VALUE) in Python{where}){note or ''}")
    # its warnings name the line that called the study's run, where its user set them
    settings = SolverSettings(None, params or {}, names=names, advice=advice, x_name=x_name,
                              inherited=derived, skip=("studies",))
    with solver_settings(settings):
        yield settings


@contextlib.contextmanager
def count_shortfall(params: dict | None = None):
    """Within the block, the solvers the study calls count the samples they leave short
    of their stopping rule instead of warning of them: the study keeps or acts on the
    count (``lca_converged``, a NaN rate), or warns once of many calls' (the tally's
    ``kinds``), and the warning would say nothing more.

    The count lives in this thread's context (a ContextVar), so that another thread's
    solver (another point of a dask worker with ``threads_per_worker > 1``) neither adds
    to it nor has its ConvergenceWarning hidden; ``warnings.catch_warnings``, one per
    process, did both.

    Parameters
    ----------
    params : dict, optional
        The solver's values in use, for the remedies (``{"tol": 1e-4}``: ``"loosen tol
        (now 0.0001)"``); under :func:`named_by_study` the knobs are named as it names
        them, with its advice.

    Yields
    ------
    v1model.inference._common.NotConvergedTally
        Its ``take_unconverged()`` returns the samples left short in the block so far
        (the solvers' rows, summed over calls) and counts afresh; its ``kinds`` maps
        ``(what, remedy)`` to ``[solver calls, samples left, samples coded]``.
    """
    from v1model.inference._common import tally_not_converged

    with tally_not_converged(None, params or {}) as tally:
        yield tally


def shortfall_summary(n_unconverged, batch_size: int) -> tuple:
    """``(crops short, fraction of the crops coded)`` of a learner's history variable
    ``n_unconverged`` (update,) of minibatches of ``batch_size`` crops: an int, and a
    float in [0, 1]."""
    counts = np.asarray(n_unconverged)
    total = int(counts.sum())
    return total, total / (counts.size * batch_size)
