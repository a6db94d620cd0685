"""An online learner pickled before its stream tallied the solvers' shortfalls
(``OnlineState.not_converged``) continues with ``partial_fit``.

Unpickled, its state lacked the tally and ``partial_fit`` failed at the end of the
chunk with ``AttributeError: 'OnlineState' object has no attribute 'not_converged'``
(after the updates were made). It starts a new tally, as a stream loaded from a file
does. The "old" pickle is a new one with the attribute deleted.
"""

import pickle

import numpy as np
import pytest

from v1model.inference import ConvergenceWarning
from v1model.learning import SparseDictionaryLearner


def _pickled(learner, old):
    """The learner's pickle, as written before the tally existed when ``old``."""
    copy = pickle.loads(pickle.dumps(learner))  # the learner keeps its own state
    if old:
        del copy._state.not_converged
    blob = pickle.dumps(copy)
    assert (b"NotConvergedStream" in blob) is not old
    return pickle.loads(blob)


def test_an_old_pickle_continues_as_a_new_one_does():
    X = np.random.default_rng(0).standard_normal((300, 16))
    learner = SparseDictionaryLearner(24, lam=0.2, batch_size=50, seed=0).partial_fit(X[:150])
    old, new = _pickled(learner, old=True), _pickled(learner, old=False)
    old.partial_fit(X[150:])
    new.partial_fit(X[150:])
    np.testing.assert_array_equal(old.components_, new.components_, strict=True)
    assert old.n_iter_ == new.n_iter_ == 6
    assert old._state.not_converged.n_calls == 1  # a fresh tally, counting from here


def test_an_old_pickle_warns_of_a_shortfall_as_a_reloaded_stream_does():
    X = np.random.default_rng(0).standard_normal((300, 16))
    learner = SparseDictionaryLearner(24, method="fista", lam=0.1, batch_size=100,
                                      method_params={"max_iter": 2}, seed=0)
    with pytest.warns(ConvergenceWarning, match=r"partial_fit chunk 1 of this stream"):
        learner.partial_fit(X[:150])
    old = _pickled(learner, old=True)
    # the tally starts afresh: its first chunk is warned of (not silent, not chunk 2)
    with pytest.warns(ConvergenceWarning, match=r"partial_fit chunk 1 of this stream"):
        old.partial_fit(X[150:])
