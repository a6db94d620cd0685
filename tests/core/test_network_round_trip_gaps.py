"""SparseCodingNetwork round trips that the older tests left open: the Cauchy
prior's ``sigma`` and the independence of a saved record from the network."""

import numpy as np

from v1model import SparseCodingNetwork
from v1model.learning import cauchy_inference


def test_a_cauchy_networks_sigma_survives_save_and_load(tmp_path, rng):
    D = rng.standard_normal((12, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    net = SparseCodingNetwork(D, lam=0.05, prior="cauchy", sigma=0.7)  # not the default
    back = SparseCodingNetwork.load(net.save(tmp_path / "cauchy.nc"))
    assert back.sigma == 0.7 and back.prior == "cauchy"
    X = rng.standard_normal((3, 16))
    # the reloaded network encodes with the saved sigma, as the MAP solver does directly
    np.testing.assert_allclose(back.encode(X), cauchy_inference(X, D, 0.05, 0.7),
                               rtol=1e-10, atol=1e-12)


def test_changing_a_saved_record_leaves_the_networks_history_alone(rng):
    X = rng.standard_normal((200, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    net.learn(X, n_updates=4, seed=0, progress=False)
    before = net.history_["objective"].values.copy()
    ds = net.to_dataset()
    ds["objective"].values[:] = -1.0
    np.testing.assert_array_equal(net.history_["objective"].values, before)


def test_tau_threshold_and_sigma_given_to_encode_override_the_spec(rng):
    """The documented per-call overrides, each against the solver called directly."""
    from v1model.inference import lca

    D = rng.standard_normal((12, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, 16))
    net = SparseCodingNetwork(D, lam=0.3, tau=0.01)
    # at a fixed dt (the default step scales with tau, which then changes nothing)
    np.testing.assert_array_equal(net.encode(X, tau=0.05, dt=1e-3, n_steps=30),
                                  lca(X, D, 0.3, tau=0.05, dt=1e-3, n_steps=30))
    assert not np.allclose(net.encode(X, tau=0.05, dt=1e-3, n_steps=30),
                           net.encode(X, dt=1e-3, n_steps=30))
    np.testing.assert_array_equal(net.encode(X, threshold="hard", n_steps=30),
                                  lca(X, D, 0.3, threshold="hard", n_steps=30))
    cauchy = SparseCodingNetwork(D, lam=0.05, prior="cauchy", sigma=0.3)
    np.testing.assert_allclose(cauchy.encode(X, sigma=0.8), cauchy_inference(X, D, 0.05, 0.8),
                               rtol=1e-10, atol=1e-12)
    assert not np.allclose(cauchy.encode(X, sigma=0.8), cauchy.encode(X))
