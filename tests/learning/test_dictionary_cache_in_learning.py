"""The dictionary learners code every minibatch with a dictionary that the update then
changes, so that what a solver derives from it alone (Gram matrix, top eigenvalue, step
matrices) is never read again. They run their loop inside ``bypassing_cache()``
(:mod:`v1model.inference._dictionary_cache`): nothing of theirs is kept, and the
dictionary a user codes with before and after a learning run stays kept (its Gram matrix
was built again after every run: a one-sample OMP call on 1024 x 256 atoms right after a
learning run took 7.8 ms of CPU, 1.6 ms now, 2026-12-07), also in another thread while a
learner runs. The learned dictionaries are those of the cached path, to the bit. The
bypass replaced a private ``_cache`` keyword threaded through the solvers, which a
``_cache`` in a learner's ``method_params`` met twice (a TypeError about a duplicate
keyword, from inside the solver)."""

import contextlib
import threading

import numpy as np
import pytest

from v1model.inference import _dictionary_cache, encode
from v1model.inference._dictionary_cache import clear_dictionary_cache
from v1model.learning import (SparseDictionaryLearner, learn_dictionary, learn_ksvd,
                              learn_mod, learn_online)
from v1model.learning import _loop, olshausen_field, online
from v1model.learning._coding import Coder

from .conftest import make_planted

# the few updates of the iht run stop short of its tol: beside the point here
pytestmark = pytest.mark.filterwarnings("ignore:iht stopped after")

#: the learner modules that enter bypassing_cache around their updates
LEARNER_MODULES = (_loop, olshausen_field, online)

#: seeded runs of every learner, with the solvers of their defaults and others; each
#: returns the learned dictionary (a few updates of a planted 24-atom problem)
LEARNERS = {
    "olshausen-field fista": lambda X: learn_dictionary(
        X, 24, lam=0.1, n_updates=6, batch_size=50, seed=0, progress=False)[0],
    "olshausen-field lca": lambda X: learn_dictionary(
        X, 24, lam=0.1, inference="lca", n_updates=4, batch_size=50, seed=0,
        progress=False)[0],
    "olshausen-field iht": lambda X: learn_dictionary(
        X, 24, lam=0.1, inference="iht", n_updates=4, batch_size=50, seed=0,
        progress=False)[0],
    "mod fista": lambda X: learn_mod(
        X, 24, lam=0.1, n_updates=4, batch_size=100, seed=0, progress=False)[0],
    "mod cd": lambda X: learn_mod(
        X, 24, method="cd", lam=0.1, n_updates=4, batch_size=100, seed=0, progress=False)[0],
    "ksvd omp": lambda X: learn_ksvd(
        X, 24, method="omp", n_nonzero=3, n_updates=4, batch_size=100, seed=0,
        progress=False)[0],
    "ksvd active_set": lambda X: learn_ksvd(
        X, 24, method="active_set", lam=0.1, n_updates=3, batch_size=100, seed=0,
        progress=False)[0],
    "online fista": lambda X: learn_online(
        X, 24, lam=0.1, n_updates=6, batch_size=50, seed=0, progress=False)[0],
    "online mp": lambda X: learn_online(
        X, 24, method="mp", n_nonzero=3, n_updates=6, batch_size=50, seed=0,
        progress=False)[0],
    "estimator online": lambda X: SparseDictionaryLearner(
        24, lam=0.1, n_updates=6, batch_size=50, seed=0, progress=False).fit(X).components_,
    "estimator partial_fit": lambda X: SparseDictionaryLearner(
        24, lam=0.1, batch_size=50, seed=0, progress=False).partial_fit(X[:200]).components_,
    "estimator ksvd": lambda X: SparseDictionaryLearner(
        24, algorithm="ksvd", method="omp", n_nonzero=3, n_updates=3, batch_size=100, seed=0,
        progress=False).fit(X).components_,
}


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts, and leaves, with nothing kept."""
    clear_dictionary_cache()
    yield
    clear_dictionary_cache()


@pytest.fixture(scope="module")
def planted_X():
    return make_planted(n_samples=400, seed=2)[0]


def count_builds(monkeypatch):
    """A list that receives ``(name, shape of D)`` for every value computed into the cache
    (a value of a kept dictionary: a Gram matrix, a top eigenvalue, a step matrix)."""
    builds = []
    get = _dictionary_cache._Entry.get

    def counting_get(self, name, compute):
        def counted(D):
            builds.append((name, D.shape))
            return compute(D)
        return get(self, name, counted)

    monkeypatch.setattr(_dictionary_cache._Entry, "get", counting_get)
    return builds


@pytest.mark.parametrize("learner", LEARNERS)
def test_a_learning_run_keeps_nothing_and_leaves_the_users_dictionary_kept(
        learner, planted_X, monkeypatch):
    """encode(X, D_user) before and after a learning run: the user's Gram matrix is built
    once (twice before: every minibatch's dictionary replaced it in the cache, and each
    was hashed, copied and its values kept for nothing), and the learner kept nothing."""
    builds = count_builds(monkeypatch)
    rng = np.random.default_rng(0)
    D_user = rng.standard_normal((40, 16))  # a shape no learner here uses
    D_user /= np.linalg.norm(D_user, axis=1, keepdims=True)
    X_user = planted_X[:3]
    first = encode(X_user, D_user, "omp", n_nonzero=3)
    LEARNERS[learner](planted_X)
    assert [b for b in builds if b[1] != D_user.shape] == []  # nothing of the learner's
    again = encode(X_user, D_user, "omp", n_nonzero=3)
    assert builds == [(("gram", "float32"), D_user.shape)]
    np.testing.assert_array_equal(_dictionary_cache._entry.key, D_user.astype(np.float32))
    np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize("learner", LEARNERS)
def test_learned_dictionaries_are_those_of_the_cached_path_to_the_bit(
        learner, planted_X, monkeypatch):
    """The same seeded run with the cache on (the learners' ``bypassing_cache`` made a
    no-op: every minibatch's dictionary compared, copied and its values kept, the path
    before the bypass) learns the same dictionary, to the bit."""
    bypassed = LEARNERS[learner](planted_X)
    assert _dictionary_cache._entry is None
    for module in LEARNER_MODULES:
        monkeypatch.setattr(module, "bypassing_cache", contextlib.nullcontext)
    cached = LEARNERS[learner](planted_X)
    assert _dictionary_cache._entry is not None  # the cache path did keep them
    np.testing.assert_array_equal(bypassed, cached)
    assert bypassed.dtype == cached.dtype
    assert np.all(np.isfinite(bypassed)) and np.ptp(bypassed) > 0


#: a learner given ``_cache`` among its solver parameters (the key the solvers took)
GIVEN_CACHE = {
    "learn_dictionary": lambda X: learn_dictionary(
        X, 24, lam=0.1, n_updates=2, batch_size=50, seed=0, progress=False,
        inference_params={"_cache": True}),
    "learn_mod": lambda X: learn_mod(
        X, 24, lam=0.1, n_updates=2, batch_size=50, seed=0, progress=False,
        method_params={"_cache": True}),
    "learn_ksvd": lambda X: learn_ksvd(
        X, 24, method="omp", n_nonzero=3, n_updates=2, batch_size=50, seed=0,
        progress=False, method_params={"_cache": False}),
    "learn_online": lambda X: learn_online(
        X, 24, lam=0.1, n_updates=2, batch_size=50, seed=0, progress=False,
        method_params={"_cache": True}),
    "estimator": lambda X: SparseDictionaryLearner(
        24, lam=0.1, n_updates=2, batch_size=50, seed=0, progress=False,
        method_params={"_cache": True}).fit(X),
}


@pytest.mark.parametrize("learner", GIVEN_CACHE)
def test_a_cache_key_in_method_params_is_an_unknown_parameter(learner, planted_X):
    """``_cache`` in a learner's solver parameters passed the check (a private parameter
    of the solver) and met the learner's own ``_cache=False`` in the solver call: "got
    multiple values for keyword argument '_cache'", naming no parameter of the caller's,
    at the first minibatch. It is the usual unknown-parameter TypeError now, naming the
    key and the parameters the solver takes, before any update."""
    with pytest.raises(TypeError, match=r"params: method='(fista|omp)' takes no parameter "
                                        r"'_cache'; its parameters are .*tol") as error:
        GIVEN_CACHE[learner](planted_X)
    assert "multiple values" not in str(error.value)


def test_a_learner_in_one_thread_leaves_the_cache_on_in_another(planted_X, monkeypatch):
    """Two threads: a learning run paused inside its loop (its bypass entered) while the
    other thread codes twice with its own dictionary, which is kept (its Gram matrix
    built once; a global switch would have built it twice and kept nothing). The run
    learns what it learns alone, and keeps nothing of its own."""
    alone = LEARNERS["mod fista"](planted_X)
    clear_dictionary_cache()
    builds = count_builds(monkeypatch)
    paused, coded = threading.Event(), threading.Event()
    coder_encode = Coder.encode

    def pausing_encode(self, *args, **kwargs):
        if not paused.is_set():  # the first minibatch: inside the learner's loop
            paused.set()
            assert coded.wait(60)
        return coder_encode(self, *args, **kwargs)

    monkeypatch.setattr(Coder, "encode", pausing_encode)
    learned = {}

    def learn():
        try:
            learned["D"] = LEARNERS["mod fista"](planted_X)
        finally:
            paused.set()  # a run that failed first does not leave the other thread waiting

    thread = threading.Thread(target=learn)
    thread.start()
    try:
        assert paused.wait(60)
        rng = np.random.default_rng(0)
        D_user = rng.standard_normal((40, 16))
        D_user /= np.linalg.norm(D_user, axis=1, keepdims=True)
        first = encode(planted_X[:3], D_user, "omp", n_nonzero=3)
        again = encode(planted_X[:3], D_user, "omp", n_nonzero=3)
    finally:
        coded.set()
        thread.join(120)
    assert builds == [(("gram", "float32"), D_user.shape)]
    np.testing.assert_array_equal(_dictionary_cache._entry.key, D_user.astype(np.float32))
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(learned["D"], alone)


def test_transform_and_score_of_a_float32_learner_share_one_entry(planted_X, monkeypatch):
    """``score`` codes with ``components_`` in float64, ``transform`` with the float32
    array itself: the entry matches values, not dtypes, so alternating them builds the
    Gram matrix once (a key with the dtype would evict it at every call), and the codes
    and scores repeat to the bit."""
    learner = SparseDictionaryLearner(24, method="cd", lam=0.1, n_updates=2, batch_size=100,
                                      seed=0, progress=False).fit(planted_X)
    assert learner.components_.dtype == np.float32
    builds = count_builds(monkeypatch)
    X = planted_X[:5]
    codes, scores = [], []
    for _ in range(3):
        codes.append(learner.transform(X))
        scores.append(learner.score(X))
    assert builds == [(("gram", "float32"), learner.components_.shape)]
    for A, s in zip(codes[1:], scores[1:]):
        np.testing.assert_array_equal(A, codes[0])
        assert s == scores[0]
