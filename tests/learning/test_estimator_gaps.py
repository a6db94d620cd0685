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


def test_a_changed_n_atoms_refusal_names_the_clone_that_streams_afresh(planted):
    # "call fit to start afresh" left a user who can only stream (no whole X to fit)
    # without a way on; the refusal names sklearn.base.clone, and following it gives the
    # stream a fresh learner of those parameters gives (the reference)
    import pytest
    from sklearn.base import clone

    X, _, _ = planted
    common = dict(lam=0.3, batch_size=100, seed=0)
    streamed = SparseDictionaryLearner(24, **common).partial_fit(X[:200])
    batch = SparseDictionaryLearner(24, algorithm="mod", n_updates=2, **common).fit(X[:200])
    batch.set_params(algorithm="online")
    for learner, which in ((streamed, "streamed"), (batch, "fitted")):
        learner.set_params(n_atoms=12)
        with pytest.raises(ValueError, match=(
                rf"^n_atoms=12 but the {which} dictionary has 24 atoms; call fit to start "
                r"afresh, or, to stream from scratch, partial_fit a "
                r"sklearn\.base\.clone\(learner\)")):
            learner.partial_fit(X[200:300])
        fresh = clone(learner).partial_fit(X[200:300])
        reference = SparseDictionaryLearner(12, **common).partial_fit(X[200:300])
        np.testing.assert_array_equal(fresh.components_, reference.components_)


def test_a_first_chunk_with_fewer_samples_than_atoms_warns_once_as_fit_does(planted):
    # fit warned of 24 atoms on 10 samples; partial_fit said nothing of a one-sample first
    # chunk, from which init="data" made all 24 initial atoms (that sample plus 1% noise).
    # Warned at the first chunk only: a stream's later chunks are its pace, not its size
    import warnings

    import pytest

    X, D_true, _ = planted
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=8, seed=0)
    with pytest.warns(UserWarning, match=r"^n_atoms=24 is more than the 1 samples of the first "
                                         r"chunk, from which init='data' draws the atoms: .*as "
                                         r"reseed_patience=10 and duplicate_tol=0\.99 say"
                      ) as caught:
        learner.partial_fit(X[:1])
    assert sum("is more than the" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learner.partial_fit(X[1:3])  # a later small chunk: no warning
        SparseDictionaryLearner(24, lam=0.3, batch_size=8, seed=0).partial_fit(X[:24])
        # a stream from a MOD fit's 24 atoms draws none from its first chunk
        fitted = SparseDictionaryLearner(24, lam=0.3, algorithm="mod", n_updates=2,
                                         seed=0).fit(X[:200])
        fitted.set_params(algorithm="online", batch_size=8).partial_fit(X[200:201])
        # a given or random init draws nothing from the chunk
        for init in (D_true, "random"):
            SparseDictionaryLearner(24, lam=0.3, batch_size=8, init=init,
                                    seed=0).partial_fit(X[:1])


def test_the_history_gives_lam_its_unit_that_of_x(planted):
    # lam had no unit while objective carried (units of X)^2: lam |a| with codes in units
    # of X makes lam one of X's. Checked: X and lam scaled by 10 give the same atoms and
    # 100x the objective
    X, _, _ = planted
    runs = {}
    for scale in (1.0, 10.0):
        learner = SparseDictionaryLearner(24, lam=0.3 * scale, algorithm="mod", n_updates=2,
                                          seed=0, dtype="float64").fit(X[:300] * scale)
        runs[scale] = learner
        assert learner.history_.attrs["lam_units"] == "units of X"
        assert learner.history_["objective"].attrs["units"] == "(units of X)^2"
    np.testing.assert_allclose(runs[10.0].components_, runs[1.0].components_, atol=1e-8)
    np.testing.assert_allclose(runs[10.0].history_["objective"],
                               100 * runs[1.0].history_["objective"], rtol=1e-8)
    for algorithm in ("online", "ksvd"):
        learner = SparseDictionaryLearner(24, lam=0.3, algorithm=algorithm, n_updates=2,
                                          batch_size=100, seed=0).fit(X[:300])
        assert learner.history_.attrs["lam_units"] == "units of X"
    streamed = SparseDictionaryLearner(24, lam=0.3, batch_size=100, seed=0).partial_fit(X[:200])
    assert streamed.history_.attrs["lam_units"] == "units of X"
    # no lam, no unit for it
    omp = SparseDictionaryLearner(24, method="omp", n_nonzero=3, algorithm="mod", n_updates=2,
                                  seed=0).fit(X[:300])
    assert "lam_units" not in omp.history_.attrs
    # a stream saved before lam had its unit goes on with no "changed setting"
    ds = streamed.to_dataset()
    stream_attrs = json.loads(ds.attrs["stream_attrs"])
    del stream_attrs["lam_units"]
    ds.attrs["stream_attrs"] = json.dumps(stream_attrs)
    reloaded = SparseDictionaryLearner.from_dataset(ds).partial_fit(X[200:300])
    assert "settings_changed_at" not in reloaded.history_.attrs
    assert reloaded.history_.attrs["lam_units"] == "units of X"
