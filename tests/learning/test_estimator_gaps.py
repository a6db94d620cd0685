"""SparseDictionaryLearner behaviours the older tests ran but never checked."""

import json

import numpy as np

from v1model.learning.estimator import SparseDictionaryLearner


def test_a_forget_factor_set_between_chunks_takes_effect(planted):
    # reference: the same stream saved after the first chunk and reloaded with the new
    # forget_factor in its parameters (the loader builds the stream state from them)
    X, _, _ = planted
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=100, seed=0, forget_factor=10.0)
    learner.partial_fit(X[:300])
    ds = learner.to_dataset()
    params = json.loads(ds.attrs["estimator_params"])
    ds.attrs["estimator_params"] = json.dumps(dict(params, forget_factor=0.0))
    reloaded = SparseDictionaryLearner.from_dataset(ds)
    unchanged = SparseDictionaryLearner.from_dataset(learner.to_dataset())

    learner.set_params(forget_factor=0.0)
    for est in (learner, reloaded, unchanged):
        est.partial_fit(X[300:700])
    np.testing.assert_allclose(learner.components_, reloaded.components_, rtol=0, atol=1e-12)
    # and the setting matters: kept at 10 the dictionary comes out otherwise
    assert np.abs(learner.components_ - unchanged.components_).max() > 1e-6


def test_inverse_transform_of_a_float32_learner_is_float32(planted):
    X, _, _ = planted
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=100, seed=0,
                                      dtype="float32").fit(X[:400])
    codes = learner.transform(X[:5])
    back = learner.inverse_transform(codes)
    assert learner.components_.dtype == np.float32 and back.dtype == np.float32
    expected = codes.astype(np.float64) @ learner.components_.astype(np.float64)
    np.testing.assert_allclose(back, expected, rtol=1e-6, atol=1e-6)


def test_online_fit_with_more_atoms_than_samples_warns_as_learn_online_does():
    # fit (algorithm="online") said nothing of 64 atoms on 10 samples, where learn_online,
    # MOD and K-SVD warn; the estimator's own MOD fit warns through learn_mod
    import pytest

    X = np.random.default_rng(0).standard_normal((10, 8))
    message = r"n_atoms=64 is more than the 10 training samples"
    with pytest.warns(UserWarning, match=message + r".*reseed_patience=10"):
        SparseDictionaryLearner(64, lam=0.1, batch_size=5, n_updates=2, seed=0).fit(X)
    with pytest.warns(UserWarning, match=message + r".*every update"):
        SparseDictionaryLearner(64, lam=0.1, algorithm="mod", n_updates=2, seed=0).fit(X)


def test_partial_fit_after_a_mod_or_ksvd_fit_starts_the_stream_from_its_dictionary(planted):
    # fit with MOD, set_params(algorithm="online"), partial_fit: the stream started from
    # init="data" on the chunk and dropped the fitted dictionary unsaid (held-out
    # objective of 64 atoms on whitened 8x8 patches: 0.830 after MOD, 0.948 after one
    # partial_fit update). Reference: learn_online from that dictionary on the same slices
    import pytest

    from v1model.learning import learn_online

    X, _, _ = planted
    common = dict(lam=0.3, batch_size=100, seed=0)
    for algorithm in ("mod", "ksvd"):
        learner = SparseDictionaryLearner(24, algorithm=algorithm, n_updates=3, **common)
        learner.fit(X[:600])
        fitted = learner.components_.copy()
        loaded = SparseDictionaryLearner.from_dataset(learner.to_dataset())
        for est in (learner, loaded):
            est.set_params(algorithm="online").partial_fit(X[600:800])
        D, _ = learn_online(X[600:800], 24, init=fitted, n_updates=2, shuffle=False,
                            progress=False, **common)
        np.testing.assert_array_equal(learner.components_, D)
        np.testing.assert_array_equal(loaded.components_, D)
        assert learner.n_iter_ == 2 and learner.history_.sizes["update"] == 2
        assert learner.history_.attrs["init"] == f"components_ of the {algorithm} fit"
    # the fitted dictionary fixes the features and the number of atoms
    learner = SparseDictionaryLearner(24, algorithm="mod", n_updates=2, **common).fit(X)
    learner.set_params(algorithm="online")
    with pytest.raises(ValueError, match=r"^X has 10 features, but SparseDictionaryLearner "
                                         r"is expecting 16"):
        learner.partial_fit(X[:100, :10])
    with pytest.raises(ValueError, match=r"^n_atoms=30 but the fitted dictionary has 24 atoms"):
        learner.set_params(n_atoms=30).partial_fit(X[:100])
    np.testing.assert_array_equal(learner.set_params(n_atoms=24).components_,
                                  SparseDictionaryLearner(24, algorithm="mod", n_updates=2,
                                                          **common).fit(X).components_)
