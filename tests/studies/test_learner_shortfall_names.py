"""Every study that learns a dictionary names, in its learner's ConvergenceWarning, what
a study user sets (or says the solver's limits are fixed), not the learner's own
``inference_params`` / ``method_params``, which no study takes; and the run it was.
(The learner's solver is limited to 1 iteration, which the studies fix, to fall short.)"""

import functools
import re
import warnings

import pytest

from studies import get_study

#: the studies whose learning was not named (olshausen-field-1997, schultz-2014 and
#: smith-lewicki-2006 have tests of their own), and the learner each calls
LEARNERS = [
    ("gregor-lecun-2010-lista", "learn_dictionary"),
    ("lca-sweep", "learn_dictionary"),
    ("rozell-2008-lca", "learn_dictionary"),
    ("olshausen-field-1996", "learn_dictionary"),
    # slow: spiking-lca's run simulates Brian2 (numpy target; 7.5 s), lewicki-2002-speech's
    # reads audio (2.5 s); olshausen-field-1997's test covers learn_online quickly
    pytest.param("spiking-lca", "learn_dictionary", marks=pytest.mark.slow),
    pytest.param("lewicki-2002-speech", "learn_online", marks=pytest.mark.slow),
]


def _one_iteration(monkeypatch, learner):
    """Replaces the learner (where the studies import it) by itself with its solver
    limited to 1 iteration; wraps keeps its signature, which SparseCodingNetwork.learn
    checks its arguments against."""
    import v1model.learning
    import v1model.learning.olshausen_field
    import v1model.learning.online

    module = (v1model.learning.olshausen_field if learner == "learn_dictionary"
              else v1model.learning.online)
    key = "inference_params" if learner == "learn_dictionary" else "method_params"
    real = getattr(module, learner)

    @functools.wraps(real)
    def short(*args, **kwargs):
        return real(*args, **{**kwargs, key: {**(kwargs.get(key) or {}), "max_iter": 1}})

    monkeypatch.setattr(module, learner, short)
    monkeypatch.setattr(v1model.learning, learner, short)


@pytest.mark.parametrize("name, learner", LEARNERS)
def test_the_learners_warning_names_no_setting_the_study_hides(name, learner, monkeypatch,
                                                               smallest):
    from v1model.inference import ConvergenceWarning

    params = smallest(name, brian2=False)  # SMALL in tests/studies/conftest.py
    _one_iteration(monkeypatch, learner)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study(name).run(quick=True, progress=False, **params)
    short = [str(w.message) for w in caught if w.category is ConvergenceWarning
             and "with samples not converged in" in str(w.message)]  # the learner's
    assert len(short) == 1, [str(w.message) for w in caught]
    text = short[0]
    # was "raise inference_params['max_iter'] (now 1) or loosen inference_params['tol']"
    assert "_params[" not in text, text
    assert "max_iter=1 and tol=" in text and "are fixed here" in text, text
    assert f"-p NAME=VALUE on `v1model study run {name}`" in text, text
    assert "learning the dictionary" in text, text


@pytest.mark.parametrize("prior, tol", [("l1", "0.0001"), ("cauchy", "1e-06")])
def test_olshausen_field_1996_heldout_warning_names_its_heldout_parameters(prior, tol,
                                                                           smallest):
    """The held-out codes' warning said "raise max_iter or loosen tol", the solver's
    arguments; the study sets them as heldout_max_iter and heldout_tol."""
    from v1model.inference import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("olshausen-field-1996").run(quick=True, prior=prior, heldout_max_iter=1,
                                              progress=False,
                                              **smallest("olshausen-field-1996"))
    held_out = [str(w.message) for w in caught if w.category is ConvergenceWarning
                and "stopped after 1 iteration with" in str(w.message)]
    assert len(held_out) == 1, [str(w.message) for w in caught]
    text = held_out[0]
    assert f"raise heldout_max_iter (now 1) or loosen heldout_tol (now {tol})" in text, text
    assert "of the held-out patches" in text and "coding the held-out patches" in text, text
    assert "raise max_iter" not in text, text


def _heldout_one_iteration(monkeypatch):
    """olshausen-field-1996's run (where get_study finds it) with its held-out codes
    limited to 1 iteration; wraps keeps its signature, which learned_dictionary reads."""
    import studies.olshausen_field_1996 as of96

    real = of96.run

    @functools.wraps(real)
    def short(*args, **kwargs):
        return real(*args, **{**kwargs, "heldout_max_iter": 1})

    monkeypatch.setattr(of96, "run", short)


def test_a_dictionary_learned_for_another_study_warns_in_that_studys_parameters(
        monkeypatch, smallest):
    """learned_dictionary runs olshausen-field-1996, whose warnings (its learner's, its
    held-out codes') named that study ("-p NAME=VALUE on `v1model study run
    olshausen-field-1996`", "raise heldout_max_iter"), inside activity-ratio, which takes
    no such parameter. They now name activity-ratio, say the solver settings are fixed
    there, and how to set them (learn the dictionary with that study, pass it as -p
    dictionary=PATH). (Both solvers limited to 1 iteration, to fall short.)"""
    from v1model.inference import ConvergenceWarning

    _one_iteration(monkeypatch, "learn_dictionary")
    _heldout_one_iteration(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("activity-ratio").run(quick=True, progress=False,
                                        **smallest("activity-ratio"))
    learning = [str(w.message) for w in caught if w.category is ConvergenceWarning
                and "olshausen-field-1996" in str(w.message)]
    assert len(learning) == 2, [str(w.message) for w in caught]
    for text, run in zip(learning, ("learning the dictionary", "coding the held-out patches")):
        assert "-p NAME=VALUE on `v1model study run activity-ratio`" in text, text
        assert "study run olshausen-field-1996`" not in text, text
        assert "heldout_" not in text and "_params[" not in text, text
        assert "max_iter=1 and tol=" in text and "are fixed here" in text, text
        # a solver's own closing sentence (how far its stopped rows are) stays last
        text = re.sub(r"\. Their LASSO duality gap is up to [0-9.e+-]+ \|\|x\|\|\^2, "
                      r"a bound on their objective's excess over the optimum$", "", text)
        assert text.endswith("the olshausen-field-1996 run learning its dictionary (to set "
                             "them, run that study and pass its result as -p "
                             f"dictionary=PATH): {run})"), text


def test_named_by_study_inside_a_run_for_another_names_the_caller_and_counts():
    """The quick check of the block run_for sets around another study's run: a solver's
    warning inside that study's named_by_study names the calling study, its settings
    fixed (not the inner study's heldout_max_iter), the inner study's values in use
    and rows; the settings count the samples left short, also when the warning is
    filtered out. Outside run_for the inner study's own names stay."""
    import numpy as np

    from studies._shortfall import named_by_study, run_for
    from v1model.inference import ConvergenceWarning, fista

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, 6))
    names = {"max_iter": "heldout_max_iter", "tol": "heldout_tol"}
    inner = dict(params={"max_iter": 1, "tol": 1e-4}, x_name="the held-out patches")
    with pytest.warns(ConvergenceWarning) as caught:
        with run_for("ringach-2002", "its dictionary's run"):
            with named_by_study("olshausen-field-1996", "coding", names, **inner) as s:
                fista(X, D, 0.1, max_iter=1, tol=1e-4)
    (text,) = [str(w.message) for w in caught]
    assert ("4 of 4 samples not converged (rows 0, 1, 2, 3 of the held-out patches); "
            "max_iter=1 and tol=0.0001 are fixed here (the study's parameters: -p "
            "NAME=VALUE on `v1model study run ringach-2002`, run(NAME=VALUE) in Python; "
            "its dictionary's run: coding)") in text, text
    assert s.n_left == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with named_by_study("olshausen-field-1996", "coding", names, **inner) as s:
            fista(X, D, 0.1, max_iter=1, tol=1e-4)
            fista(X[:3], D, 0.1, max_iter=1, tol=1e-4)
    assert s.n_left == 4 + 3
    with pytest.warns(ConvergenceWarning, match=r"raise heldout_max_iter \(now 1\) or "
                                                r"loosen heldout_tol .* run olshausen-field"):
        with named_by_study("olshausen-field-1996", "coding", names, **inner):
            fista(X, D, 0.1, max_iter=1, tol=1e-4)
