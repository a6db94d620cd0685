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
