"""Every study that learns a dictionary names, in its learner's ConvergenceWarning, what
a study user sets (or says the solver's limits are fixed), not the learner's own
``inference_params`` / ``method_params``, which no study takes; and the run it was.
(The learner's solver is limited to 1 iteration, which the studies fix, to fall short.)"""

import functools
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
