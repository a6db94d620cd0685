"""What LCA derives from its dictionary alone (the top eigenvalue of the Gram matrix, the
stable step, the Gram matrix in the working dtype, duplicated atoms) is kept for the next
call with the same dictionary (v1model.inference._dictionary_cache): an encode loop built
them at every call (~60% of a one-sample call on 1024 x 256 atoms). The cache is keyed
on the dictionary's values, not its id, so that a dictionary changed in place is seen;
its codes are those of an uncached call, to the bit."""

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from v1model.inference import lca, max_stable_dt
from v1model.inference import _dictionary_cache
from v1model.inference._common import validate_problem
from v1model.inference._dictionary_cache import (bypassing_cache, clear_dictionary_cache,
                                                 values_of)

lca_module = importlib.import_module("v1model.inference.lca")  # not the function

#: the settings that take each of lca's Euler paths: the adaptive step (soft, nonneg), the
#: fixed step (n_steps, dt) and the hard threshold's guarded loop
PATHS = {"soft": {}, "nonneg": dict(threshold="nonneg"), "hard": dict(threshold="hard"),
         "n_steps": dict(n_steps=40)}


def planted(n_atoms, n_features, n_samples, seed):
    """Unit atoms and samples of a few atoms each, plus a little noise."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.where(rng.random((n_samples, n_atoms)) < 4 / n_atoms,
                 rng.standard_normal((n_samples, n_atoms)), 0.0)
    return A @ D + 0.01 * rng.standard_normal((n_samples, n_features)), D


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts, and leaves, with nothing kept."""
    clear_dictionary_cache()
    yield
    clear_dictionary_cache()


def test_top_eigenvalue_is_computed_once_over_calls_with_one_dictionary(monkeypatch):
    """10 calls with one dictionary took its Gram matrix's top eigenvalue 10 times; now
    once, also for the same values in another array, and again for other values."""
    calls = []

    def counting(D, G=None):
        calls.append(D.shape)
        return spectral_norm_gram(D, G)

    spectral_norm_gram = lca_module.spectral_norm_gram
    monkeypatch.setattr(lca_module, "spectral_norm_gram", counting)
    X, D = planted(64, 16, 2, seed=0)
    for _ in range(10):
        lca(X, D, 0.1, n_steps=5, progress=False)
    lca(X, D.copy(), 0.1, n_steps=5, progress=False)
    assert max_stable_dt(D, 0.01) == max_stable_dt(D.copy(), 0.01)
    assert len(calls) == 1
    lca(X, 0.5 * D, 0.1, n_steps=5, progress=False)
    assert len(calls) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_repeated_call_builds_no_gram_matrix_and_no_copy_of_the_dictionary(dtype,
                                                                              peak_memory):
    """A one-sample call with a float64 dictionary of 512 x 64 atoms built its Gram matrix
    (2 MB in float64, 8x the dictionary) at every call, and two |D| temporaries of the
    dictionary's size in validation; now it allocates less than the dictionary's size
    (the finite check's and the cache comparison's booleans, an eighth of it each, and
    in float32 the working copy of D, half of it)."""
    X, D = planted(512, 64, 1, seed=1)
    _, peak = peak_memory(lambda: lca(X, D, 0.1, dtype=dtype, progress=False))
    assert peak < (0.3 if dtype == np.float64 else 0.8) * D.nbytes


@pytest.mark.parametrize("shape", [(1024, 256), (256, 256)])
def test_validation_of_a_float64_dictionary_allocates_no_copy_of_it(shape, peak_memory):
    """validate_problem took two float64 |D| temporaries of the dictionary's size (its
    row maxima, in check_dictionary and again in the range check; for a square one, a
    third and a scaled copy in the test for a transposed dictionary); the D it returns
    in float64 is the caller's array."""
    X, D = planted(*shape, 1, seed=2)
    (Xv, Dv, *_), peak = peak_memory(lambda: validate_problem(X, D, 0.1, np.float64))
    assert Dv is D
    assert peak <= 0.2 * D.nbytes  # the finite check's booleans: an eighth of D


@pytest.mark.parametrize("path", PATHS)
def test_dictionary_changed_in_place_gives_the_codes_of_a_fresh_array(path):
    """A cache keyed on id(D) would give the codes (and step limit) of the dictionary as
    it was before the change: the codes are those of a fresh array with the new values,
    and those of the old values are different."""
    X, D = planted(48, 16, 6, seed=3)
    before = lca(X, D, 0.1, dtype=np.float64, progress=False, **PATHS[path])
    limit_before = max_stable_dt(D, 0.01)
    D[:8] += 0.5 * D[8:16]  # more coherent atoms: a larger top eigenvalue
    D[:8] /= np.linalg.norm(D[:8], axis=1, keepdims=True)
    after = lca(X, D, 0.1, dtype=np.float64, progress=False, **PATHS[path])
    clear_dictionary_cache()
    fresh = lca(X, D.copy(), 0.1, dtype=np.float64, progress=False, **PATHS[path])
    np.testing.assert_array_equal(after, fresh)
    assert not np.allclose(after, before, atol=1e-3)
    assert max_stable_dt(D, 0.01) == max_stable_dt(D.copy(), 0.01) < limit_before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", PATHS)
def test_codes_from_the_cache_are_those_of_an_uncached_call(path, dtype, monkeypatch):
    """Seeded problems: the codes of a call that finds its values kept, of one that
    computes them (from the cache's copy of D) and of one with the cache off (from D
    itself, as before the cache) are equal to the bit."""
    X, D = planted(96, 24, 12, seed=4)
    kwargs = dict(dtype=dtype, progress=False, **PATHS[path])
    computed = lca(X, D, 0.1, **kwargs)
    kept = lca(X, D, 0.1, **kwargs)
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", 0)
    clear_dictionary_cache()
    uncached = lca(X, D, 0.1, **kwargs)
    assert _dictionary_cache._entry is None
    np.testing.assert_array_equal(kept, computed)
    np.testing.assert_array_equal(uncached, computed)
    assert np.count_nonzero(computed) > 0


def test_cache_is_bounded_in_memory(monkeypatch):
    """A dictionary whose copy exceeds MAX_CACHE_BYTES is not kept; a value that does not
    fit beside the copy is computed but not kept; kept arrays are read-only."""
    X, D = planted(64, 16, 2, seed=5)  # D: 8 KB; its float64 Gram matrix: 32 KB
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", D.nbytes - 1)
    lca(X, D, 0.1, n_steps=5, dtype=np.float64, progress=False)
    assert _dictionary_cache._entry is None
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", D.nbytes + 1000)
    lca(X, D, 0.1, n_steps=5, dtype=np.float64, progress=False)
    entry = _dictionary_cache._entry
    assert entry.nbytes <= D.nbytes + 1000
    assert "spectral_norm_gram" in entry.values  # a float: kept
    assert ("gram_off", "float64") not in entry.values  # 32 KB: computed, not kept
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", 2**20)
    clear_dictionary_cache()
    lca(X, D, 0.1, n_steps=5, dtype=np.float64, progress=False)
    G = _dictionary_cache._entry.values[("gram_off", "float64")]
    np.testing.assert_allclose(G, D @ D.T - np.eye(64), rtol=0, atol=1e-14)
    assert not G.flags.writeable and not _dictionary_cache._entry.key.flags.writeable


def test_values_are_computed_from_the_cache_copy_not_the_callers_array():
    """The value kept for a key is the key's own: a dictionary changed after it was
    matched (another thread writing into it) cannot leave a value of other values."""
    D = planted(8, 4, 1, seed=6)[1]
    values = values_of(D)
    D[0] *= 3.0  # after the match
    norm = values.get("norm", lambda K: float(np.linalg.norm(K)))
    clear_dictionary_cache()
    assert norm == float(np.linalg.norm(values.key)) != float(np.linalg.norm(D))


def test_threads_alternating_two_dictionaries_get_each_ones_codes():
    """Threads coding with two dictionaries at once (the cache swapping between them)
    get the codes each dictionary gives alone."""
    problems = [planted(40, 12, 4, seed=s) for s in (7, 8)]
    expected = []
    for X, D in problems:
        clear_dictionary_cache()
        expected.append(lca(X, D, 0.1, n_steps=30, dtype=np.float64, progress=False))
    barrier = threading.Barrier(4)

    def code(i):
        if i < 4:
            barrier.wait()  # all four threads start together
        X, D = problems[i % 2]
        return i % 2, lca(X, D, 0.1, n_steps=30, dtype=np.float64, progress=False)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(code, range(24)))
    for which, A in results:
        np.testing.assert_array_equal(A, expected[which])


def test_values_not_kept_leave_the_kept_dictionary_and_are_computed_once_per_name():
    """``values_of(D)`` in :func:`bypassing_cache` (a learner's dictionary, changed at
    every update) neither copies ``D`` nor replaces the kept dictionary, whose values stay;
    its own values are computed once per name, from ``D``, and read-only as kept ones."""
    rng = np.random.default_rng(9)
    D_user, D_learner = rng.standard_normal((2, 30, 8))
    values_of(D_user).get("gram", lambda D: D @ D.T)
    kept = _dictionary_cache._entry
    calls = []

    def gram(D):
        calls.append(D)
        return D @ D.T

    with bypassing_cache():
        values = values_of(D_learner)
    first, second = values.get("gram", gram), values.get("gram", gram)
    assert len(calls) == 1 and calls[0] is D_learner  # no copy of the learner's D
    assert second is first and not first.flags.writeable
    np.testing.assert_array_equal(first, D_learner @ D_learner.T)
    assert _dictionary_cache._entry is kept and list(kept.values) == ["gram"]
    np.testing.assert_array_equal(kept.key, D_user)
    assert values_of(D_user) is kept  # the user's next call finds its values


def is_kept(D):
    """Whether ``values_of(D)`` keeps what is derived from ``D`` (one value asked)."""
    values_of(D).get("norm", lambda K: float(np.linalg.norm(K)))
    entry = _dictionary_cache._entry
    return entry is not None and entry.key.shape == D.shape and entry.matches(D)


def test_the_bypass_nests_and_ends_with_its_block_even_on_an_error():
    """A learner inside a learner (an estimator's fit calling a learning function): the
    inner block's end leaves the outer bypass on, the outer one's turns the cache back
    on, and so does a block left by an exception."""
    D = np.eye(4)
    with bypassing_cache():
        with bypassing_cache():
            assert not is_kept(D)
        assert not is_kept(D)
        assert _dictionary_cache._entry is None
    assert is_kept(D)
    clear_dictionary_cache()
    with pytest.raises(RuntimeError, match="in the loop"):
        with bypassing_cache():
            raise RuntimeError("in the loop")
    assert is_kept(D)


def test_a_bypass_in_one_thread_leaves_the_cache_on_in_another():
    """Two threads: while one is inside its bypass (a learner's loop), the other's calls
    keep their dictionary (a global flag would have turned the cache off for both);
    the bypassing thread keeps nothing, and the kept entry is the other thread's."""
    D_user, D_learner = np.eye(6), 2.0 * np.eye(6)
    entered, coded = threading.Event(), threading.Event()
    seen = {}

    def learner():
        with bypassing_cache():
            entered.set()
            assert coded.wait(30)
            seen["learner"] = is_kept(D_learner)

    def user():
        assert entered.wait(30)
        seen["user"] = is_kept(D_user)
        coded.set()

    threads = [threading.Thread(target=f) for f in (learner, user)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen == {"user": True, "learner": False}
    np.testing.assert_array_equal(_dictionary_cache._entry.key, D_user)


def test_a_dictionary_whose_values_do_not_fit_leaves_the_kept_one(monkeypatch):
    """A dictionary that fits but whose value does not fit beside it (the spiking
    convolutional LCA's weights of many kernels on a large signal) replaced the kept
    dictionary with its key alone: the user's dictionary and its values were evicted for
    nothing. Now it leaves them; its value is computed at every call, theirs once."""
    rng = np.random.default_rng(10)
    D_user, K = rng.standard_normal((20, 8)), rng.standard_normal((3, 5))
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", 4 * D_user.nbytes)
    builds = []

    def counted(name, size):
        def compute(D):
            builds.append(name)
            return np.zeros(size)
        return compute

    values_of(D_user).get("gram", counted("user", 20 * 20))  # 3.2 KB beside 1.3 KB: kept
    kept = _dictionary_cache._entry
    for _ in range(2):  # 8 KB: does not fit beside K
        assert values_of(K).get("weights", counted("large", 1000)).shape == (1000,)
    assert _dictionary_cache._entry is kept and list(kept.values) == ["gram"]
    values_of(D_user).get("gram", counted("user", 20 * 20))
    assert builds == ["user", "large", "large"]


def test_a_call_under_way_when_the_cache_is_cleared_keeps_nothing():
    """``clear_dictionary_cache`` while a solver in another thread computes its new
    dictionary's Gram matrix: since a dictionary is kept only when its first value is,
    that call filled the cache again right after the clear (its 64 x 32 dictionary and
    Gram matrix kept). Now it keeps nothing, gets its own value all the same, and the
    next call keeps its dictionary as usual."""
    D = np.random.default_rng(11).standard_normal((64, 32))
    computing, cleared = threading.Event(), threading.Event()
    got = {}

    def slow_gram(K):
        computing.set()
        assert cleared.wait(30)
        return K @ K.T

    def solver():
        got["G"] = values_of(D).get("gram", slow_gram)

    thread = threading.Thread(target=solver)
    thread.start()
    assert computing.wait(30)
    clear_dictionary_cache()
    cleared.set()
    thread.join(60)
    np.testing.assert_allclose(got["G"], D @ D.T, rtol=1e-12, atol=1e-12)
    assert _dictionary_cache._entry is None
    assert is_kept(D)  # a call after the clear keeps it
