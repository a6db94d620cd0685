"""progress=False silences every bar of a learner, the inner solvers' included (their
automatic bars appear once a call has run PROGRESS_DELAY seconds: 0 here, so that any
bar a solver would draw on a slow minibatch shows)."""

import numpy as np
import pytest

import v1model.progress
from v1model.learning import (SparseDictionaryLearner, learn_dictionary, learn_ksvd, learn_mod,
                              learn_online)

X = np.random.default_rng(0).standard_normal((300, 16))

LEARNERS = {
    "olshausen-field fista": lambda: learn_dictionary(X, 8, lam=0.1, n_updates=2,
                                                      batch_size=50, progress=False, seed=0),
    "olshausen-field lca": lambda: learn_dictionary(X, 8, lam=0.1, n_updates=2, batch_size=50,
                                                    inference="lca", progress=False, seed=0),
    "mod": lambda: learn_mod(X, 8, lam=0.1, n_updates=2, progress=False, seed=0),
    "ksvd": lambda: learn_ksvd(X, 8, n_nonzero=2, n_updates=2, progress=False, seed=0),
    "online": lambda: learn_online(X, 8, lam=0.1, n_updates=2, progress=False, seed=0),
    "estimator": lambda: SparseDictionaryLearner(8, lam=0.1, n_updates=2, seed=0,
                                                 progress=False).fit(X).transform(X),
    "estimator partial_fit": lambda: SparseDictionaryLearner(
        8, lam=0.1, batch_size=50, seed=0, progress=False).partial_fit(X),
}


@pytest.mark.parametrize("name", list(LEARNERS))
def test_progress_false_draws_no_bar(name, monkeypatch, capsys):
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    LEARNERS[name]()
    err = capsys.readouterr().err
    assert "%|" not in err, err[-300:]


def test_long_partial_fit_draws_a_bar_with_progress(monkeypatch, capsys):
    """A chunk of many minibatches (a whole memmap) is one long call: with
    progress=True its bar shows once it has run PROGRESS_DELAY (0 here)."""
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    SparseDictionaryLearner(8, lam=0.1, batch_size=50, seed=0, progress=True).partial_fit(X)
    err = capsys.readouterr().err
    assert "partial_fit" in err and "/6 " in err, err[-300:]
