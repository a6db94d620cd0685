"""Edges of the dictionary learners found by comparing them with scikit-learn
and planted dictionaries (odd solver settings, streams, reloads)."""

import numpy as np
import pytest

from v1model.learning import SparseDictionaryLearner, learn_dictionary, learn_online


def test_return_trajectory_in_solver_params_is_refused_before_learning():
    """lca(..., return_trajectory=True) returns (codes, Dataset): as method_params it
    crashed the first update in xarray ("cannot directly convert an xarray.Dataset
    into a numpy array"), as inference_params with "'tuple' object has no attribute
    'astype'", and as transform_params it passed fit and crashed transform."""
    X = np.random.default_rng(0).standard_normal((100, 16))
    with pytest.raises(ValueError, match="method_params must not contain 'return_trajectory'"):
        learn_online(X, 8, method="lca", lam=0.3, n_updates=2, batch_size=50,
                     method_params={"return_trajectory": True}, progress=False)
    learner = SparseDictionaryLearner(8, method="lca", lam=0.3, n_updates=2, batch_size=50,
                                      seed=0, transform_params={"return_trajectory": True})
    with pytest.raises(ValueError,
                       match="transform_params must not contain 'return_trajectory'"):
        learner.fit(X)
    assert not hasattr(learner, "components_")
    with pytest.raises(ValueError,
                       match="inference_params must not contain 'return_trajectory'"):
        learn_dictionary(X * 0.3, 8, inference="lca", n_updates=2,
                         inference_params={"return_trajectory": True}, progress=False)


def test_pursuit_tol_that_codes_nothing_is_refused_or_warned():
    """MP / OMP give a sample no atom once its squared residual is at most tol: a tol
    in method_params at or above every ||x||^2 learned nothing (every code zero, the
    atoms only re-seeded) without an error or a warning, as the lam that zeroes every
    code is refused. Below max ||x||^2 but above every other sample's, the minibatches
    without the one large sample code nothing: warned, as for lam."""
    from v1model.learning import learn_ksvd, learn_mod

    X = np.random.default_rng(0).standard_normal((200, 16))
    top2 = float(np.max(np.sum(X**2, axis=1)))
    for learn in (learn_mod, learn_ksvd, learn_online):
        for method in ("omp", "mp"):
            with pytest.raises(ValueError, match=r"tol=.* max \|\|x\|\|\^2 = 35\.4"):
                learn(X, 8, method=method, method_params={"tol": top2}, n_updates=2,
                      progress=False)
    with pytest.raises(ValueError, match="tol=1000.0 in method_params"):
        SparseDictionaryLearner(8, method="omp", n_nonzero=2,
                                method_params={"tol": 1e3}).partial_fit(X)
    X[0] *= 10  # one sample above tol, in few minibatches
    with pytest.warns(UserWarning, match=r"every code .* was zero \(method='omp', tol=100"):
        _, history = learn_online(X, 8, method="omp", method_params={"tol": 100.0},
                                  n_updates=8, batch_size=10, seed=0, progress=False)
    assert np.all(history["fraction_active"].values[-2:] == 0)


def test_refused_first_partial_fit_leaves_the_learner_unfitted():
    """A first chunk that the solver refuses (an unstable LCA step) kept its half-built
    stream: transform said "not fitted", yet the next partial_fit, on data with another
    number of features, was refused with "expecting 16 features"."""
    from v1model.learning import NotFittedError

    rng = np.random.default_rng(0)
    learner = SparseDictionaryLearner(8, method="lca", lam=0.3, method_params={"dt": 1.0},
                                      seed=0)
    with pytest.raises(ValueError, match="dt=1.0"):
        learner.partial_fit(rng.standard_normal((100, 16)))
    with pytest.raises(NotFittedError):
        learner.transform(rng.standard_normal((3, 16)))
    X = rng.standard_normal((100, 9))
    learner.set_params(method_params=None).partial_fit(X)
    fresh = SparseDictionaryLearner(8, method="lca", lam=0.3, seed=0).partial_fit(X)
    assert learner.n_features_in_ == 9
    np.testing.assert_array_equal(learner.components_, fresh.components_)
    assert "settings_changed_at" not in learner.history_.attrs


def test_interrupted_partial_fit_keeps_components_with_the_stream(monkeypatch):
    """The minibatches of a chunk learned before an interruption stay in the stream
    (its dictionary, n_updates, history): components_ and n_iter_ said the chunk
    before, so transform and save disagreed with the stream partial_fit goes on from."""
    from v1model.learning.online import OnlineState

    X = np.random.default_rng(0).standard_normal((300, 16))
    learner = SparseDictionaryLearner(8, lam=0.3, batch_size=50, seed=0).partial_fit(X[:100])
    step, calls = OnlineState.step, []

    def interrupted(self, batch, share=1.0):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        step(self, batch, share)

    monkeypatch.setattr(OnlineState, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        learner.partial_fit(X[100:])
    assert learner.n_iter_ == 4 == learner.history_.sizes["update"]
    np.testing.assert_array_equal(learner.components_,
                                  learner._state.D.astype(np.float32))


def test_refused_chunk_leaves_the_stream_settings_as_they_were():
    """A chunk refused before any update (set_params gave an unstable LCA dt) left the
    new settings in the history's attrs, as if they had been used from that update on
    (method_params.dt = 1.0, settings_changed_at [2]), and [2, 2] once set back."""
    X = np.random.default_rng(0).standard_normal((200, 16))
    learner = SparseDictionaryLearner(8, method="lca", lam=0.3, batch_size=50, seed=0)
    learner.partial_fit(X[:100])
    learner.set_params(method_params={"dt": 1.0})
    with pytest.raises(ValueError, match="dt=1.0"):
        learner.partial_fit(X[100:])
    attrs = learner.history_.attrs
    assert "settings_changed_at" not in attrs and "method_params.dt" not in attrs
    learner.set_params(method_params=None).partial_fit(X[100:])
    same = SparseDictionaryLearner(8, method="lca", lam=0.3, batch_size=50, seed=0)
    same.partial_fit(X[:100]).partial_fit(X[100:])
    assert "settings_changed_at" not in learner.history_.attrs
    np.testing.assert_array_equal(learner.components_, same.components_)


@pytest.mark.parametrize("tol", ["1e-3", True])
def test_pursuit_tol_that_is_no_number_is_refused_by_name(tol):
    """The check of a tol that codes nothing compared it with max ||x||^2 before the
    solver checked it: a text tol failed as "'>=' not supported between instances of
    'str' and 'float'", naming nothing."""
    X = np.random.default_rng(0).standard_normal((100, 16))
    with pytest.raises(TypeError, match=rf"^tol must be a real number, got {tol!r}$"):
        learn_online(X, 8, method="omp", n_nonzero=2, method_params={"tol": tol},
                     n_updates=2, progress=False)


@pytest.mark.parametrize("learn", [
    lambda X: learn_online(X, 6, lam=0.3, n_updates=3, batch_size=16, seed=0,
                           progress=False)[0],
    lambda X: learn_dictionary(X, 6, lam=0.3, n_updates=3, batch_size=16, seed=0,
                               progress=False)[0],
    lambda X: SparseDictionaryLearner(6, lam=0.3, n_updates=3, batch_size=16, seed=0,
                                      dtype="float64").fit(X).components_,
], ids=["online", "olshausen_field", "estimator"])
def test_longdouble_data_learns_as_float64(learn):
    # the scale checks' float64 sums refused a longdouble X with NumPy's "Iterator
    # operand 0 dtype could not be cast from dtype('float128') ... 'safe'"
    X = np.random.default_rng(0).standard_normal((64, 8))
    np.testing.assert_allclose(learn(X.astype(np.longdouble)), learn(X), atol=1e-10)
