"""The warnings a study raises about its own arguments name the line that called the
study, whether the user called its ``run`` directly, through another function of the
package, or swept it in this process (``v1model.sweep.run`` with the serial executor).

They had fixed stack levels counted as if the user called ``run`` itself: but every
study's ``run`` is wrapped by the package's ``quiet_when_told``, so ``stacklevel=2``
(olshausen-field-1996's lam=0) and a144_path's ``stacklevel=3`` named a line of
v1model/progress.py, and schultz-2014's ``stacklevel=3`` was right for a direct call
only. ``user_stacklevel(skip=("studies",))`` passes over the study's frames and the
package's.
"""

import re
from contextlib import nullcontext

import numpy as np
import pytest

import stimuli.images
import studies._learned as learned
from studies import olshausen_field_1996, ringach_2002, schultz_2014_replicating_kernels
from v1model import sweep


def _a144_missing(tmp_path, monkeypatch):
    # no A144.mat beside the checkout nor beside the working directory (two levels down:
    # /tmp/../shared may hold one)
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    monkeypatch.setattr(learned, "SHARED_DATA", tmp_path / "nowhere")
    # progress="x" stops the run at its progress check, after the lookup, before learning
    return ringach_2002.run, dict(quick=True, progress="x"), TypeError


def _schultz_codes_nothing(tmp_path, monkeypatch):
    # four small noise images instead of the photographs, one update of each learner,
    # and eval_lams no code reaches
    monkeypatch.setattr(stimuli.images, "load_whitened", lambda *a, **k: (
        np.random.default_rng(0).standard_normal((3, 40, 40)), True))
    tiny = dict(kernel_size=4, strides=[4, 2], extra_kernel_size=None, n_heldout=1,
                n_updates=1, patch_updates=1, n_patches=200, n_eval=1, max_iter=20,
                batch_size=2, eval_max_iter=20, matched_rate=None, progress=False)
    return (schultz_2014_replicating_kernels.run,
            dict(quick=True, seed=0, eval_lams=[50.0, 100.0], **tiny), None)


#: name -> (make(tmp_path, monkeypatch) -> (function, kwargs, the error the call raises
#: after warning or None), category, the start of the message)
WARNING_CALLS = {
    # an empty image folder stops the run right after the warning (the images load next)
    "olshausen-field-1996: lam=0 with prior='l1'": (
        lambda tmp_path, mp: (olshausen_field_1996.run,
                              dict(quick=True, lam=0, images=str(tmp_path), progress=False),
                              ValueError),
        UserWarning, "lam=0 with prior='l1'"),
    "olshausen-field-1996: lam=0 with prior='cauchy'": (
        lambda tmp_path, mp: (olshausen_field_1996.run,
                              dict(quick=True, lam=0, prior="cauchy", images=str(tmp_path),
                                   progress=False), ValueError),
        UserWarning, "lam=0 with prior='cauchy'"),
    "ringach-2002: no A144.mat": (_a144_missing, UserWarning, "reference: no A144.mat"),
    "schultz-2014: eval_lams that code nothing": (
        _schultz_codes_nothing, RuntimeWarning,
        r".*: no active coefficient at any of eval_lams=\[50\.0, 100\.0\]"),
}


@pytest.mark.filterwarnings("ignore:convolutional fista stopped")  # schultz's one update
@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_study_warnings_name_the_callers_file(case, nested, call_from_the_package, tmp_path,
                                              monkeypatch):
    make, category, match = WARNING_CALLS[case]
    function, kwargs, error = make(tmp_path, monkeypatch)
    with pytest.warns(category, match=match) as record:
        with pytest.raises(error) if error else nullcontext():
            if nested:
                call_from_the_package(function, **kwargs)
            else:
                function(**kwargs)
    assert [w.filename for w in record if re.match(match, str(w.message))] == [__file__]


def test_a_swept_study_names_the_line_that_started_the_sweep(tmp_path):
    # the serial executor runs the point in this process, under the sweep's frames; the
    # point fails on the empty image folder after warning (recorded, not raised)
    with pytest.warns(UserWarning, match="lam=0 with prior='l1'") as record:
        ds = sweep.run("olshausen-field-1996", {"lam": [0.0]},
                       params={"images": str(tmp_path)}, quick=True, executor="serial",
                       progress=False)
    assert ds["status"].values.tolist() == ["failed"]
    assert [w.filename for w in record if "lam=0" in str(w.message)] == [__file__]


# --- the solvers' and learners' ConvergenceWarnings inside a study ------------------------
# Their remedies name the study's parameters ("-p NAME=VALUE ..., run(NAME=VALUE) in
# Python"), but they named the study's own line (schultz-2014's learn_kernels and encode
# calls, lines 590 and 609), which its user did not write: now the line that called run.

_A_STUDY_CODING = compile(
    "import numpy as np\n"
    "from studies._shortfall import named_by_study\n"
    "from v1model.inference import fista\n"
    "from v1model.learning import learn_dictionary\n"
    "def run(X, D):\n"
    "    with named_by_study('a-study', 'coding', {'tol': 'coding_tol'}):\n"
    "        fista(X, D, 0.01, max_iter=2, tol=1e-12)\n"
    "    with named_by_study('a-study', 'learning', {'max_iter': None, 'tol': None}):\n"
    "        learn_dictionary(X, 4, lam=0.01, n_updates=2, batch_size=5, seed=0,\n"
    "                         inference_params={'max_iter': 2, 'tol': 1e-12},\n"
    "                         progress=False)\n",
    "<a study's module>", "exec")


def _a_study_coding():
    """``(run, X, D)``: :data:`_A_STUDY_CODING`'s ``run``, as a module of ``studies``, and
    data whose 2 FISTA steps and 2 learning updates leave samples short."""
    namespace = {"__name__": "studies._a_study_coding"}
    exec(_A_STUDY_CODING, namespace)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 6))
    D = rng.standard_normal((4, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return namespace["run"], X, D


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
def test_a_solvers_and_a_learners_shortfall_in_a_study_name_the_caller(
        nested, call_from_the_package):
    run, X, D = _a_study_coding()
    with pytest.warns(UserWarning) as record:
        if nested:
            call_from_the_package(run, X, D)
        else:
            run(X, D)
    shortfalls = [w for w in record if "not converged" in str(w.message)]
    # the solver's, warned at once, and the learner's tally, once for its run
    assert [("updates" in str(w.message)) for w in shortfalls] == [False, True], \
        [str(w.message) for w in shortfalls]
    assert "loosen coding_tol" in str(shortfalls[0].message)
    assert [w.filename for w in shortfalls] == [__file__] * 2


def test_a_solvers_shortfall_outside_a_study_still_names_a_studys_line():
    """Outside named_by_study a study's line is the one that chose the solver's settings
    (its remedy names the solver's own max_iter): it stays the line named."""
    code = compile("from v1model.inference import fista\n"
                   "def run(X, D):\n"
                   "    fista(X, D, 0.01, max_iter=2, tol=1e-12)\n",
                   "<a study's module>", "exec")
    namespace = {"__name__": "studies._a_study_coding"}
    exec(code, namespace)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((4, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    with pytest.warns(UserWarning, match="raise max_iter") as record:
        namespace["run"](rng.standard_normal((10, 6)), D)
    assert [w.filename for w in record if "not converged" in str(w.message)] == [
        "<a study's module>"]


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
def test_schultz_learning_and_evaluation_shortfalls_name_the_caller(
        nested, call_from_the_package, monkeypatch):
    monkeypatch.setattr(stimuli.images, "load_whitened", lambda *a, **k: (
        np.random.default_rng(0).standard_normal((3, 40, 40)), True))
    tiny = dict(quick=True, seed=0, kernel_size=4, strides=[4, 2], n_heldout=1,
                n_updates=2, patch_updates=0, control_kernels=0, extra_kernel_size=0,
                n_eval=1, max_iter=3, batch_size=2, eval_lams=[0.5, 1.0], eval_max_iter=3,
                matched_rate=None, progress=False)
    run = schultz_2014_replicating_kernels.run
    with pytest.warns(UserWarning) as record:
        call_from_the_package(run, **tiny) if nested else run(**tiny)
    shortfalls = [w for w in record if "not converged" in str(w.message)]
    learning = [w for w in shortfalls if "learning_tol" in str(w.message)]
    evaluation = [w for w in shortfalls if "eval_max_iter" in str(w.message)]
    assert learning and evaluation, [str(w.message) for w in record]
    assert {w.filename for w in shortfalls} == {__file__}


def test_a_study_run_by_a_thread_names_the_studys_line_not_pythons():
    """With no user's line past the study (a thread, a process pool or dask ran its
    ``run`` itself), passing over the study named threading.py's line (a pool's:
    concurrent/futures/process.py:261): the study's own line is named instead."""
    import threading

    run, X, D = _a_study_coding()
    with pytest.warns(UserWarning) as record:
        thread = threading.Thread(target=run, args=(X, D))
        thread.start()
        thread.join()
    shortfalls = [w for w in record if "not converged" in str(w.message)]
    assert len(shortfalls) == 2, [str(w.message) for w in record]
    assert [w.filename for w in shortfalls] == ["<a study's module>"] * 2
