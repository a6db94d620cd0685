"""The spiking LCA's lateral weights ``D D^T - I`` are kept for the next call with the
same dictionary, in the rate solvers' cache (v1model.inference._dictionary_cache): a loop
of calls with one dictionary built them at every call (11 ms of a ~230 ms one-sample
call on 1024 x 256 atoms, Brian2's numpy target, 2026-12-07). Keyed on the dictionary's
values; the weights handed to Brian2 are read-only and those of an uncached call, to the
bit, and so are the spikes."""

import warnings

import numpy as np
import pytest

from v1model.inference import _dictionary_cache
from v1model.inference._dictionary_cache import clear_dictionary_cache
from v1model.spiking import lca as spiking_module
from v1model.spiking import spiking_lca

# empty_cache: every test starts, and leaves, with nothing kept (autouse)
from ..inference.test_dictionary_cache import empty_cache, planted  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")


def reference_weights(D):
    """The weights as spiking_lca built them at every call before the cache: ``D D^T``
    less the identity, entries below 1e-12 in magnitude set to 0."""
    G = D @ D.T - np.eye(D.shape[0])
    G[np.abs(G) < 1e-12] = 0.0
    return G


@pytest.fixture
def networks(stub_networks):
    """The weights each spiking_lca call hands to its network, in order (nothing is
    built or run)."""
    return stub_networks(spiking_module)


def run(X, D, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # few spikes: not what is tested
        return spiking_lca(X, D, 0.1, duration=0.02, target="numpy", seed=0,
                           progress=False, **kwargs)


def test_weights_are_built_once_over_calls_with_one_dictionary(monkeypatch, networks):
    """8 calls with one dictionary built D D^T - I 8 times (counted by the diagonal it
    subtracts the identity from); now once, also for the same values in another array,
    and again for other values."""
    X, D = planted(40, 16, 3, seed=0)
    builds = []
    diag_indices = np.diag_indices

    def counting(n, *args, **kwargs):
        builds.append(n)
        return diag_indices(n, *args, **kwargs)

    monkeypatch.setattr(np, "diag_indices", counting)
    for _ in range(8):
        run(X, D)
    run(X, D.copy())
    assert builds.count(40) == 1
    run(X, -D)  # another dictionary (the same Gram matrix: still a new key)
    assert builds.count(40) == 2
    for weights in networks:
        np.testing.assert_array_equal(weights, reference_weights(D))


def test_weights_handed_to_the_network_are_read_only_and_exact(networks):
    """The kept weights are shared with later calls: read-only, and equal to the bit to
    those of the formula, over- and undercomplete, with non-unit atoms (an autapse of
    |d_i|^2 - 1) and orthogonal ones (no synapse)."""
    X, D = planted(48, 24, 2, seed=1)
    D[3] *= 0.5
    run(X, D)
    run(X[:1], D)
    eye = np.eye(8, 16)  # orthogonal atoms: every weight 0 but for rounding
    run(np.ones((1, 16)), eye)
    for weights, dictionary in zip(networks, (D, D, eye)):
        assert not weights.flags.writeable
        np.testing.assert_array_equal(weights, reference_weights(dictionary))
    assert networks[0] is networks[1]  # kept, not rebuilt
    assert np.count_nonzero(networks[2]) == 0


def test_a_dictionary_changed_in_place_gets_its_own_weights(networks):
    """A call after D was changed in place (an atom replaced, one sign flipped) gets the
    weights of the new values, not those kept for the old ones."""
    X, D = planted(32, 16, 2, seed=2)
    run(X, D)
    old = reference_weights(D)
    D[5] = D[6]
    D[7] *= -1.0
    run(X, D)
    np.testing.assert_array_equal(networks[1], reference_weights(D))
    assert not np.array_equal(networks[1], old)


def test_weights_after_a_float32_call_with_the_same_values_are_float64(networks):
    """A float32 solver (an estimator's float32 ``components_``) keeps the values as
    float32, and the float64 dictionary of a spiking call matches them: its weights were
    then built from the float32 copy (float32, ~3e-7 off, 1e-8 autapses rounded away).
    They are those of the float64 dictionary, to the bit."""
    from v1model.inference import fista

    X, D = planted(40, 16, 3, seed=5)
    D32 = D.astype(np.float32)
    D64 = D32.astype(np.float64)  # the float32 values, as spiking_lca takes them
    fista(X, D32, 0.1)
    assert _dictionary_cache._entry.key.dtype == np.float32
    run(X, D64)
    assert _dictionary_cache._entry.key.dtype == np.float32  # the same entry, hit
    assert networks[0].dtype == np.float64
    np.testing.assert_array_equal(networks[0], reference_weights(D64))


def test_no_weights_without_inhibition(networks, monkeypatch):
    """inhibition=False builds no weights and keeps nothing."""
    X, D = planted(32, 16, 2, seed=3)
    run(X, D, inhibition=False)
    assert networks == [None]
    assert _dictionary_cache._entry is None


@pytest.mark.brian2
def test_spikes_with_kept_weights_are_those_of_an_uncached_run(monkeypatch):
    """Brian2's numpy target on a tiny seeded problem: the spikes of a call that builds the
    weights, of one that finds them kept and of one with the cache off (weights built
    from D itself, as before the cache) are the same, to the bit."""
    X, D = planted(12, 8, 2, seed=4)
    X = 4.0 * np.abs(X)  # drives worth several spikes in the 14 ms window

    def spikes():
        ds = run(X, D, record_spikes=True)
        return [ds[name].values for name in ("spike_time", "spike_sample", "spike_atom",
                                             "spike_count")]

    built = spikes()
    kept = spikes()
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", 0)
    clear_dictionary_cache()
    uncached = spikes()
    assert built[3].sum() > 20  # a run with spikes to compare
    for a, b, c in zip(built, kept, uncached):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
