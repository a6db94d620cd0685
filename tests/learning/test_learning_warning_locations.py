"""The warnings of the learners' input checks and of the Olshausen-Field learner name
the user's line, whether the user called the public function directly or through
another function of the package.

They had fixed stack levels: the estimator's feature-name warnings named a line of
v1model/learning/estimator.py even for a direct ``transform`` or ``score`` (two levels
counted from a helper of a helper), and ``learn_dictionary``'s scale and settling
warnings named v1model/network.py when ``SparseCodingNetwork.learn`` called it;
:func:`v1model._frames.user_stacklevel` finds the first frame outside the package.
"""

import pytest

from v1model import SparseCodingNetwork
from v1model.learning import learn_dictionary
from v1model.learning.estimator import SparseDictionaryLearner

pd = pytest.importorskip("pandas")

NAMES = [f"pixel{i}" for i in range(16)]


def _fitted(X, frame):
    """A learner fitted (3 updates) on ``X``, as a DataFrame with NAMES or as an array."""
    learner = SparseDictionaryLearner(24, lam=0.2, n_updates=3, batch_size=50, seed=0)
    return learner.fit(pd.DataFrame(X, columns=NAMES) if frame else X)


def _streamed(X):
    """An online learner that has seen one array chunk of ``X``."""
    learner = SparseDictionaryLearner(24, lam=0.2, algorithm="online", batch_size=50, seed=0)
    return learner.partial_fit(X[:100])


#: name -> (make(X) -> (function, args, kwargs), the start of the message); X is the
#: planted data (1,000 samples, 16 features, mean square ~0.1)
WARNING_CALLS = {
    "SparseDictionaryLearner.transform: an array after names": (
        lambda X: (_fitted(X, frame=True).transform, (X[:5],), {}),
        "X does not have valid feature names, but SparseDictionaryLearner was fitted with"),
    "SparseDictionaryLearner.transform: names after an array": (
        lambda X: (_fitted(X, frame=False).transform,
                   (pd.DataFrame(X[:5], columns=NAMES),), {}),
        "X has feature names, but SparseDictionaryLearner was fitted without"),
    "SparseDictionaryLearner.score: names after an array": (
        lambda X: (_fitted(X, frame=False).score, (pd.DataFrame(X[:5], columns=NAMES),), {}),
        "X has feature names, but SparseDictionaryLearner was fitted without"),
    "SparseDictionaryLearner.partial_fit: names after an array chunk": (
        lambda X: (_streamed(X).partial_fit, (pd.DataFrame(X[100:200], columns=NAMES),), {}),
        "X has feature names, but SparseDictionaryLearner was fitted without"),
    "learn_dictionary: data off the scale of its step": (
        lambda X: (learn_dictionary, (X * 1e2, 24),
                   dict(lam=10.0, n_updates=2, progress=False, seed=0)),
        r"X has a mean square of .* lr=1 will throw the dictionary around"),
    "SparseCodingNetwork.learn: data off the scale of its step": (
        lambda X: (SparseCodingNetwork(n_atoms=24, patch_shape=(4, 4), lam=10.0).learn,
                   (X * 1e2,), dict(n_updates=2, progress=False, seed=0)),
        r"X has a mean square of .* lr=1 will throw the dictionary around"),
    "learn_dictionary: steps that never settle": (
        lambda X: (learn_dictionary, (X, 24),
                   dict(lam=0.1, lr=1e6, n_updates=20, batch_size=50, progress=False,
                        seed=0)),
        r"the dictionary changed by 1\.\d+ of its norm per update"),
}


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_learning_warnings_name_the_callers_file(case, nested, planted,
                                                 call_from_the_package):
    make, match = WARNING_CALLS[case]
    function, args, kwargs = make(planted[0])
    with pytest.warns(UserWarning, match=match) as record:
        if nested:
            call_from_the_package(function, *args, **kwargs)
        else:
            function(*args, **kwargs)
    assert [w.filename for w in record if w.category is UserWarning] == [__file__]
