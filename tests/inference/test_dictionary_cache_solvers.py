"""What fista/ista, iht, lasso_active_set, lasso_cd and the pursuits derive from their
dictionary alone (its Gram matrix in the working dtype; fista's, iht's and the active
set's top eigenvalue; iht's iteration matrix I - mu D D^T) is kept for the next call
with the same dictionary, in LCA's cache (v1model.inference._dictionary_cache): an encode
loop built them at every call (a one-sample fista call on 1024 x 256 float32 atoms:
14.4 ms of CPU before, 3.4 ms with the cache, 2026-12-07). Keyed on the dictionary's
values; the codes are those of an uncached call, to the bit; cached arrays are
read-only."""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.linalg

from v1model.inference import _dictionary_cache, encode
from v1model.inference._dictionary_cache import clear_dictionary_cache

from .test_dictionary_cache import planted

#: encode's settings of each solver that takes a Gram matrix (mp, omp and nn-omp, the
#: constant and the backtracking step of fista)
METHODS = {
    "fista": dict(method="fista", lam=0.1),
    "fista-constant": dict(method="fista", lam=0.1, step="constant"),
    "ista": dict(method="ista", lam=0.1, max_iter=300),
    "iht": dict(method="iht", n_nonzero=4),
    "iht-lam": dict(method="iht", lam=0.2),
    "active_set": dict(method="active_set", lam=0.1),
    "cd": dict(method="cd", lam=0.1),
    "omp": dict(method="omp", n_nonzero=4),
    "nn-omp": dict(method="omp", n_nonzero=4, positive=True),
    "mp": dict(method="mp", n_nonzero=4),
}
#: the solvers that take the top eigenvalue of the Gram matrix (the step size)
EIGENVALUE_METHODS = ("fista", "iht", "active_set")


def code(X, D, name, dtype=np.float32):
    """``encode`` by ``name`` (:data:`METHODS`), its convergence warnings off (the tests
    compare codes, not convergence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return encode(X, D, dtype=dtype, progress=False, **METHODS[name])


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts, and leaves, with nothing kept."""
    clear_dictionary_cache()
    yield
    clear_dictionary_cache()


@pytest.mark.parametrize("name", EIGENVALUE_METHODS)
def test_top_eigenvalue_is_computed_once_over_calls_with_one_dictionary(monkeypatch, name):
    """8 calls with one dictionary took the top eigenvalue of its Gram matrix 8 times;
    now once, also for the same values in another array, and again for other values."""
    calls = []
    eigh = scipy.linalg.eigh

    def counting(*args, **kwargs):
        calls.append(1)
        return eigh(*args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "eigh", counting)
    X, D = planted(64, 16, 2, seed=0)
    for _ in range(8):
        code(X, D, name)
    code(X, D.copy(), name)
    assert len(calls) == 1
    code(X, 0.5 * D, name)
    assert len(calls) == 2


@pytest.mark.parametrize("name", METHODS)
def test_a_repeated_call_builds_no_gram_matrix(name, peak_memory):
    """A one-sample call on 600 x 64 float32 atoms built their Gram matrix (1.44 MB, 9.4x
    the dictionary) at every call; a repeated call now allocates less than half of it
    (validation's float64 check of D, 0.2 Gram, and small work arrays), except fista's
    constant step, whose iteration matrix I - G / L is made per call from the kept G, and
    lasso_cd, which copies the kept G (one Gram, as before, but no product)."""
    X, D = planted(600, 64, 1, seed=1)
    D = D.astype(np.float32)
    gram = 600 * 600 * 4
    _, peak = peak_memory(lambda: code(X, D, name))
    limit = 1.5 if name in ("fista-constant", "cd") else 0.5
    assert peak < limit * gram, f"{name}: {peak / gram:.2f} Grams"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", METHODS)
def test_codes_from_the_cache_are_those_of_an_uncached_call(name, dtype, monkeypatch):
    """Seeded problems, over- and undercomplete: the codes of a call that computes the
    dictionary's values (from the cache's copy of D), of one that finds them kept and of
    one with the cache off (from D itself, as before the cache) are equal to the bit."""
    for k, p in ((96, 24), (20, 40)):
        X, D = planted(k, p, 12, seed=4)
        computed = code(X, D, name, dtype)
        kept = code(X, D, name, dtype)
        with monkeypatch.context() as off:
            off.setattr(_dictionary_cache, "MAX_CACHE_BYTES", 0)
            clear_dictionary_cache()
            uncached = code(X, D, name, dtype)
            assert _dictionary_cache._entry is None
        np.testing.assert_array_equal(kept, computed)
        np.testing.assert_array_equal(uncached, computed)
        assert np.count_nonzero(computed) > 0


@pytest.mark.parametrize("name", METHODS)
def test_dictionary_changed_in_place_gives_the_codes_of_a_fresh_array(name):
    """A cache keyed on id(D) would give the codes of the dictionary as it was before the
    change: the codes are those of a fresh array with the new values, and those of the
    old values are different."""
    X, D = planted(48, 16, 6, seed=3)
    before = code(X, D, name, np.float64)
    D[:8] += 0.5 * D[8:16]  # more coherent atoms: another Gram matrix and top eigenvalue
    D[:8] /= np.linalg.norm(D[:8], axis=1, keepdims=True)
    after = code(X, D, name, np.float64)
    clear_dictionary_cache()
    fresh = code(X, D.copy(), name, np.float64)
    np.testing.assert_array_equal(after, fresh)
    assert not np.allclose(after, before, atol=1e-3)


def test_kept_values_are_read_only_and_those_of_the_dictionary():
    """The solvers share what is kept: every kept array is read-only (a solver that wrote
    into its Gram matrix, as iht built its step matrix in G, would change the next
    call's), and the Gram matrix is D D^T."""
    X, D = planted(64, 16, 2, seed=5)
    for name in METHODS:
        code(X, D, name)
    values = _dictionary_cache._entry.values
    assert {("gram", "float32"), ("iht_step", "float32"),
            ("spectral_norm_gram", "float32"), ("step_and_rank", "float32")} <= set(values)
    arrays = [a for v in values.values() for a in (v if isinstance(v, tuple) else (v,))
              if isinstance(a, np.ndarray)]
    assert arrays and not any(a.flags.writeable for a in arrays)
    D32 = D.astype(np.float32)
    np.testing.assert_array_equal(values[("gram", "float32")], D32 @ D32.T)


def test_threads_alternating_two_dictionaries_get_each_ones_codes():
    """Threads coding with two dictionaries at once (the cache swapping between them),
    by every method, get the codes each dictionary gives alone."""
    problems = [planted(40, 12, 4, seed=s) for s in (7, 8)]
    names = list(METHODS)
    expected = {}
    for which, (X, D) in enumerate(problems):
        for name in names:
            clear_dictionary_cache()
            expected[which, name] = code(X, D, name, np.float64)
    barrier = threading.Barrier(4)

    def run(i):
        if i < 4:
            barrier.wait()  # the first four threads start together
        which, name = i % 2, names[(i // 2) % len(names)]
        X, D = problems[which]
        return which, name, code(X, D, name, np.float64)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4 * len(names))))
    for which, name, A in results:
        np.testing.assert_array_equal(A, expected[which, name], err_msg=name)
