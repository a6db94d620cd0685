"""Memory of the learners on data larger than their working set: a float32
``np.memmap`` of many samples is read one minibatch at a time, not converted
to a float64 copy nor centred into a temporary the size of the data.

Peaks are Python-level allocations traced by ``tracemalloc`` (NumPy reports
its buffers to it): deterministic, no timing, no RSS.
"""

import numpy as np
import pytest

from v1model.learning import (
    SparseDictionaryLearner,
    init_dictionary,
    learn_dictionary,
    learn_ksvd,
    learn_mod,
    learn_online,
)

#: 200,000 samples of 64 float32 features: 51 MB on disk, a float64 copy 102 MB
N_SAMPLES, N_FEATURES = 200_000, 64
DATA_BYTES = N_SAMPLES * N_FEATURES * 4


@pytest.fixture(scope="module")
def memmap_data(tmp_path_factory):
    """A float32 memmap of unit-variance Gaussian samples (written in blocks)."""
    path = tmp_path_factory.mktemp("memmap") / "X.f32"
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(N_SAMPLES, N_FEATURES))
    rng = np.random.default_rng(0)
    for start in range(0, N_SAMPLES, 50_000):
        X[start:start + 50_000] = rng.standard_normal((50_000, N_FEATURES))
    X.flush()
    del X
    return np.memmap(path, dtype=np.float32, mode="r", shape=(N_SAMPLES, N_FEATURES))


LEARNERS = {
    "learn_online": lambda X: learn_online(X, 32, lam=1.0, n_updates=3, batch_size=64,
                                           seed=0, progress=False)[0],
    "learn_dictionary": lambda X: learn_dictionary(X, 32, lam=1.0, n_updates=3,
                                                   batch_size=64, seed=0, progress=False)[0],
    "learn_mod, batch_size": lambda X: learn_mod(X, 32, lam=1.0, n_updates=2, batch_size=256,
                                                 seed=0, progress=False)[0],
    "learn_ksvd, batch_size": lambda X: learn_ksvd(X, 32, method="omp", n_nonzero=3,
                                                   n_updates=2, batch_size=256, seed=0,
                                                   progress=False)[0],
    "SparseDictionaryLearner.fit": lambda X: SparseDictionaryLearner(
        32, lam=1.0, n_updates=3, batch_size=64, seed=0).fit(X).components_,
}


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_learner_does_not_load_a_memmap(memmap_data, name, peak_memory):
    # before: a float64 copy of X (2x the memmap) and, in the data initialisation,
    # X.std()'s temporary X - mean (2x more): 4x the memmap, 205 MB here
    # the same dictionary as from the data in memory, as float64 (first: its imports
    # and first-call caches are not the memmap's run's)
    D_ref = LEARNERS[name](np.array(memmap_data[:], dtype=np.float64))
    # warmed up by the reference run above; each learner starts anew from its seed
    D, peak = peak_memory(lambda: LEARNERS[name](memmap_data), warm_up=False)
    assert peak < DATA_BYTES / 10, f"{name} peaked at {peak / 2**20:.1f} MB"
    np.testing.assert_array_equal(D, D_ref)


def test_data_initialisation_noise_scale_is_the_std():
    """The 1% noise of ``init="data"`` is scaled by X.std(), now read in blocks."""
    from v1model.learning.olshausen_field import _std

    X = np.random.default_rng(1).standard_normal((3001, 7)) * 3 + 5
    assert _std(X, block_elements=50) == pytest.approx(X.std(), rel=1e-12)
    assert _std(X.astype(np.float32)) == pytest.approx(X.astype(np.float32).astype(float).std(),
                                                       rel=1e-12)


def test_partial_fit_does_not_load_a_memmap_chunk(memmap_data, peak_memory):
    chunk = memmap_data[:20_000]  # still a memmap: a float64 copy would be 10 MB

    def stream(X):
        return SparseDictionaryLearner(32, lam=1.0, batch_size=256, seed=0).partial_fit(
            X).components_

    D_ref = stream(np.array(chunk, dtype=np.float64))
    # one measure: a partial_fit of the 20,000 rows takes ~1 s (the least of three
    # added 2 s); its bound, half the chunk, is far above the few blocks it holds
    D, peak = peak_memory(lambda: stream(chunk), repeats=1, warm_up=False)
    assert peak < chunk.nbytes / 2, f"partial_fit peaked at {peak / 2**20:.1f} MB"
    np.testing.assert_array_equal(D, D_ref)


def test_transform_of_a_memmap_makes_no_float64_copies(memmap_data, peak_memory):
    """transform converts X once, to the working float32, and returns the
    solver's float32 codes (before: a float64 copy of X and of the codes too,
    4.8x the codes here)."""
    learner = SparseDictionaryLearner(64, lam=1.0, n_nonzero=5, transform_method="omp",
                                      n_updates=3, batch_size=64, seed=0).fit(memmap_data[:2000])
    ref = learner.transform(np.array(memmap_data[:1000], dtype=np.float64))
    # one measure: OMP codes of the whole memmap take over 1 s
    codes, peak = peak_memory(lambda: learner.transform(memmap_data), repeats=1,
                              warm_up=False)
    assert codes.dtype == np.float32
    assert peak < 3 * codes.nbytes, f"transform peaked at {peak / codes.nbytes:.1f}x the codes"
    # the same codes up to float32 rounding: BLAS may round 1000 rows' products otherwise
    # than a larger block's (4.8e-7 on an AMD EPYC)
    np.testing.assert_allclose(codes[:1000], ref, rtol=1e-5,
                               atol=1e-6 * float(np.abs(ref).max()))


@pytest.mark.parametrize("call, match", [
    (lambda X: learn_mod(X, 3, lam=0.1, n_updates=10**12, progress=False),
     r"n_updates=1000000000000 history rows \(float64\) would take 6\.4e\+13 bytes"),
    (lambda X: init_dictionary(X, 10**12),
     r"n_atoms=1000000000000 atoms of 16 features \(float64\) would take 1\.28e\+14 bytes"),
    # the Olshausen-Field rule draws batch_size patches with replacement: numpy's "Maximum
    # allowed dimension exceeded" named nothing (3 atoms + 16 features = 152 bytes a row)
    (lambda X: learn_dictionary(X, 3, lam=0.1, batch_size=10**20, progress=False),
     r"batch_size=100000000000000000000 patches and their codes per update \(float64\) "
     r"would take 1\.52e\+22 bytes"),
])
def test_huge_counts_are_refused_by_name(call, match):
    """NumPy's "Unable to allocate 50.9 TiB" named no argument; the history holds 7 float64
    values per update and the dictionary 16 per atom (10**12 * 7 * 8 = 5.6e13 bytes)."""
    X = np.random.default_rng(0).standard_normal((40, 16))
    with pytest.raises(ValueError, match=match + r".* more than the"):
        call(X)


def test_init_dictionary_bound_is_the_memory(monkeypatch):
    import v1model.validation

    X = np.random.default_rng(0).standard_normal((40, 16))
    # 1 MiB holds 8192 atoms of 16 float64 values
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    assert init_dictionary(X, 8192, seed=0).shape == (8192, 16)
    with pytest.raises(ValueError, match=r"n_atoms=8193 atoms .* \(at most 8192 would fit\)"):
        init_dictionary(X, 8193, seed=0)
