"""scikit-learn's get_params / set_params protocol of LISTA and SparseAutoencoder:
scikit-learn's own checks, clone, a grid search, and refused names and values."""

import warnings

import numpy as np
import pytest

from v1model.amortized import LISTA
from v1model.sae import SparseAutoencoder


def _estimators():
    return [LISTA(2, 0.3, objective="lasso", n_steps=20, batch_size=20, progress=False),
            SparseAutoencoder(16, "topk", k=2, n_steps=20, batch_size=32, seed=0,
                              progress=False)]


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_scikit_learns_checks_of_get_and_set_params(estimator):
    # set_params did not exist: GridSearchCV and scikit-learn's checks failed with
    # AttributeError
    from sklearn.utils.estimator_checks import check_get_params_invariance, check_set_params

    name = type(estimator).__name__
    check_get_params_invariance(name, estimator)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_set_params(name, estimator)  # asserts the round trip of every value it sets
    messages = [str(w.message) for w in record]
    # its fuzz values (-inf, inf, None) are refused at the boundary, naming the argument,
    # and a refused call leaves every parameter as it was
    assert not [m for m in messages if "changed after set_params" in m]
    assert any("occurred during set_params" in m for m in messages)


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_set_params_returns_self_and_clone_carries_the_values(estimator):
    from sklearn.base import clone

    assert estimator.set_params(n_steps=7, batch_size=10) is estimator
    copy = clone(estimator)
    assert copy is not estimator
    assert copy.get_params() == estimator.get_params()
    assert (copy.n_steps, copy.batch_size) == (7, 10)


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_set_params_refuses_unknown_names_and_bad_values_setting_nothing(estimator):
    before = estimator.get_params()
    with pytest.raises(ValueError, match=r"Invalid parameter 'n_stepz' for estimator "
                                         rf"{type(estimator).__name__} \(did you mean "
                                         r"'n_steps'\?\); valid parameters: .*batch_size"):
        estimator.set_params(n_steps=5, n_stepz=5)
    with pytest.raises(ValueError, match=r"batch_size must be >= 1, got 0"):
        estimator.set_params(n_steps=5, batch_size=0)
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64"):
        estimator.set_params(dtype="float16")
    assert estimator.get_params() == before  # n_steps=5 was not set either


def test_set_params_checks_each_value_as_fit_does():
    # the same check, so the same message, whether the value comes by set_params or fit
    X = np.random.default_rng(0).standard_normal((40, 8))
    D = np.eye(8)
    for bad in (dict(lam=-1.0), dict(n_layers=1.5), dict(learning_rate=0),
                dict(parametrization="ful"), dict(progress="yes")):
        with pytest.raises((TypeError, ValueError)) as by_fit:
            LISTA(**{"n_layers": 2, **bad}).fit(X, D)
        with pytest.raises(type(by_fit.value)) as by_set:
            LISTA(2).set_params(**bad)
        assert str(by_set.value) == str(by_fit.value)
    for bad in (dict(lr=2.0), dict(lr_decay=1.0), dict(k=0), dict(threshold_rate=1.5),
                dict(seed=-1)):
        with pytest.raises((TypeError, ValueError)) as by_fit:
            SparseAutoencoder(**{"n_latents": 16, "k": 2, "batch_size": 8, **bad}).fit(X)
        with pytest.raises(type(by_fit.value)) as by_set:
            SparseAutoencoder(16, k=2).set_params(**bad)
        assert str(by_set.value) == str(by_fit.value)
    # settings checked together stay in fit: a grid sets them one at a time
    sae = SparseAutoencoder(16, "relu", lam=0.1).set_params(activation="topk")
    with pytest.raises(ValueError, match=r"activation='topk' needs k"):
        sae.fit(X)
    sae.set_params(k=20)  # no n_latents=16 bound here: it may change in the same grid
    with pytest.raises(ValueError, match=r"k=20 exceeds n_latents=16"):
        sae.fit(X)


def test_grid_search_over_lista_depth_picks_the_deeper_network():
    # GridSearchCV clones and calls set_params; D goes to fit by name (its 32 rows are
    # not samples). Untrained LISTA is ISTA, whose objective falls with each iteration,
    # and 20 Adam steps keep that order: 3 layers score better than 1
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 16))
    D = rng.standard_normal((32, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    net = LISTA(1, 0.3, objective="lasso", n_steps=20, batch_size=20, progress=False)
    search = GridSearchCV(net, {"n_layers": [1, 3]}, cv=2,
                          scoring=lambda est, X, y=None: -est.lasso_objective(X))
    search.fit(X, D=D, seed=0)
    assert search.best_params_ == {"n_layers": 3}
    by_hand = LISTA(3, 0.3, objective="lasso", n_steps=20, batch_size=20,
                    progress=False).fit(X, D, seed=0)
    np.testing.assert_array_equal(search.best_estimator_.encode(X), by_hand.encode(X))


def test_grid_search_over_sparse_autoencoder_steps_picks_the_trained_model():
    # GridSearchCV clones and calls set_params (and asks __sklearn_tags__); 100 Adam
    # steps reconstruct held-out data better than 2
    from sklearn.model_selection import GridSearchCV

    X = np.random.default_rng(1).standard_normal((256, 8))
    sae = SparseAutoencoder(16, "topk", k=4, n_steps=2, batch_size=32, seed=0, lr=3e-3,
                            progress=False)
    search = GridSearchCV(sae, {"n_steps": [2, 100]}, cv=2,
                          scoring=lambda est, X, y=None: -np.mean((est.reconstruct(X) - X) ** 2))
    search.fit(X)
    assert search.best_params_ == {"n_steps": 100}
    by_hand = SparseAutoencoder(16, "topk", k=4, n_steps=100, batch_size=32, seed=0, lr=3e-3,
                                progress=False).fit(X)
    np.testing.assert_array_equal(search.best_estimator_.components_, by_hand.components_)
