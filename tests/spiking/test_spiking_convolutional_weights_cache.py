"""The spiking convolutional LCA's lateral weights ``ΦᵀΦ - I`` are kept for the next call
with the same kernels, stride, boundary and signal shape, in the rate solvers' cache
(v1model.inference._dictionary_cache), and the identity is subtracted in CSR: a loop of
calls built ``gram_matrix`` and a ``tolil``/``setdiag``/``tocsr`` round trip at every call
(94 + 146 ms of CPU on 16x16 crops, 262 + 512 ms on 32x32, against 0.76 s of Brian2's
build and run). The weights are those of the round trip, to the bit (the reference
below); kept ones are read-only; kernels changed in place get their own; the spikes are
the same."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from v1model.convolutional import ConvolutionalDictionary
from v1model.convolutional.gram import gram_matrix
from v1model.inference import _dictionary_cache
from v1model.inference._dictionary_cache import clear_dictionary_cache
from v1model.spiking import convolutional as spiking_module
from v1model.spiking import spiking_convolutional_lca

# empty_cache: every test starts, and leaves, with nothing kept (autouse)
from ..inference.test_dictionary_cache import empty_cache  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")


def round_trip_weights(phi):
    """The weights as spiking_convolutional_lca built them at every call before the
    cache: the Gram matrix through lil, its diagonal less 1, back to CSR."""
    weights = gram_matrix(phi).tolil()
    weights.setdiag(weights.diagonal() - 1.0)
    weights = weights.tocsr()
    weights.data[np.abs(weights.data) < 1e-12] = 0.0
    weights.eliminate_zeros()
    return weights


def assert_same_csr(actual, expected):
    """The same CSR arrays to the bit (the order Brian2's synapses are built from)."""
    assert actual.shape == expected.shape
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(actual, part), getattr(expected, part))


def kernels(n_kernels, kernel_shape, seed):
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((n_kernels,) + kernel_shape)
    return K / np.linalg.norm(K.reshape(n_kernels, -1), axis=1).reshape(
        (-1,) + (1,) * len(kernel_shape))


@pytest.fixture
def networks(stub_networks):
    """The weights each spiking_convolutional_lca call hands to its network, in order (nothing is
    built or run)."""
    return stub_networks(spiking_module)


@pytest.fixture
def gram_builds(monkeypatch):
    """The dictionaries whose Gram matrix spiking_convolutional_lca builds, in order."""
    built = []

    def counting(phi):
        built.append(phi)
        return gram_matrix(phi)

    monkeypatch.setattr(spiking_module, "gram_matrix", counting)
    return built


def run(X, K, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # few spikes: not what is tested
        return spiking_convolutional_lca(X, K, 0.1, duration=0.02, target="numpy", seed=0,
                                         progress=False, **kwargs)


def test_weights_are_built_once_over_calls_with_one_geometry(networks, gram_builds):
    """8 calls on images of one shape built the Gram matrix 8 times; now once, also for
    the same kernels in another array, and again for another signal shape, stride,
    boundary or kernels; every call gets the round trip's weights."""
    K = kernels(3, (4, 4), seed=0)
    X = np.ones((2, 12, 12))
    for _ in range(8):
        run(X, K, stride=2)
    run(X, K.copy(), stride=2)
    assert len(gram_builds) == 1
    expected = round_trip_weights(ConvolutionalDictionary(K, (12, 12), stride=2,
                                                          dtype=np.float64))
    for weights in networks:
        assert_same_csr(weights, expected)
    for other in (dict(X=np.ones((1, 12, 13)), K=K, stride=2),
                  dict(X=X, K=K, stride=1), dict(X=X, K=K, stride=2, boundary="valid"),
                  dict(X=X, K=-K, stride=2)):
        count = len(gram_builds)
        run(**other)
        assert len(gram_builds) == count + 1, other
        phi = ConvolutionalDictionary(other["K"], other["X"].shape[1:],
                                      stride=other["stride"],
                                      boundary=other.get("boundary", "full"),
                                      dtype=np.float64)
        assert_same_csr(networks[-1], round_trip_weights(phi))


@pytest.mark.parametrize("shape, kernel_shape, stride, boundary", [
    ((40,), (6,), 2, "full"), ((40,), (6,), 3, "valid"), ((9,), (6,), 1, "circular"),
    ((13, 11), (4, 3), (2, 1), "full"), ((10, 10), (3, 3), 2, "circular"),
])
def test_weights_are_those_of_the_round_trip_to_the_bit(shape, kernel_shape, stride,
                                                         boundary):
    """Sounds and images, every boundary (circular windows that fold), a kernel of norm
    0.5 (an autapse of -0.75) and a kernel whose first taps are 0 ("full" copies with
    nothing inside the signal: no Gram diagonal, weight -1): the same CSR arrays as the
    lil round trip, cold and kept."""
    K = kernels(3, kernel_shape, seed=1)
    K[1] *= 0.5
    K[2].reshape(-1)[:2] = 0.0
    phi = ConvolutionalDictionary(K, shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    expected = round_trip_weights(phi)
    cold = spiking_module._lateral_weights(phi)
    kept = spiking_module._lateral_weights(phi)
    assert_same_csr(cold, expected)
    assert_same_csr(kept, expected)
    assert expected.nnz > 0
    if boundary == "full" and len(shape) == 1:  # the case with an empty copy (measured)
        assert np.any(expected.diagonal() == -1.0)


def test_kept_weights_are_read_only_and_each_call_gets_its_own_object():
    """The kept CSR arrays are shared with later calls: writing into them fails, and a
    call's matrix is its own object, so replacing its arrays leaves the kept ones."""
    phi = ConvolutionalDictionary(kernels(2, (5,), seed=2), (30,), stride=2,
                                  dtype=np.float64)
    first = spiking_module._lateral_weights(phi)
    second = spiking_module._lateral_weights(phi)
    assert first is not second
    assert np.shares_memory(first.data, second.data)  # kept, not rebuilt
    for part in (second.data, second.indices, second.indptr):
        assert not part.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        second.data[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        second.eliminate_zeros()
    second.data = np.zeros_like(second.data)  # this call's object alone
    assert_same_csr(spiking_module._lateral_weights(phi), round_trip_weights(phi))


def test_kernels_changed_in_place_get_the_weights_of_their_new_values(networks, gram_builds):
    """A call after the caller's kernels were changed in place (one scaled, one sign
    flipped) gets the weights of the new values, as a fresh array would."""
    K = kernels(3, (5,), seed=3)
    X = np.ones((1, 32))
    run(X, K, stride=2)
    old = networks[-1]
    K[0] *= 0.7
    K[2] *= -1.0
    run(X, K, stride=2)
    assert len(gram_builds) == 2
    expected = round_trip_weights(ConvolutionalDictionary(K, (32,), stride=2,
                                                          dtype=np.float64))
    assert_same_csr(networks[-1], expected)
    assert not np.array_equal(networks[-1].data, old.data)


def test_weights_too_large_to_keep_are_built_at_every_call(networks, gram_builds,
                                                            monkeypatch):
    """The cache counts the CSR arrays' bytes: weights that do not fit beside the kernels
    are built at every call (counted as 0 bytes, every geometry's were kept, unbounded),
    and keep nothing, not even the kernels."""
    K = kernels(2, (6,), seed=4)
    X = np.ones((1, 64))
    run(X, K, stride=1)
    entry = _dictionary_cache._entry
    weights = networks[0]
    sparse_bytes = weights.data.nbytes + weights.indices.nbytes + weights.indptr.nbytes
    assert entry.nbytes == entry.key.nbytes + sparse_bytes
    clear_dictionary_cache()
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", entry.nbytes - 1)
    run(X, K, stride=1)
    run(X, K, stride=1)
    assert len(gram_builds) == 3
    assert _dictionary_cache._entry is None
    assert_same_csr(networks[-1], weights)


def test_weights_too_large_to_keep_leave_the_users_dictionary_kept(networks, gram_builds,
                                                                   monkeypatch):
    """Weights larger than the bound (a monkeypatched small one; 128 MB: many kernels on a
    large image) replaced the dictionary a user codes with by the kernels alone, keeping
    nothing: the user's next call built its Gram matrix again. Now the user's entry stays,
    with its values; the weights are built at every call."""
    from v1model.inference import encode

    K = kernels(2, (6,), seed=4)
    X = np.ones((1, 64))
    run(X, K, stride=1)
    weights = networks[0]
    sparse_bytes = weights.data.nbytes + weights.indices.nbytes + weights.indptr.nbytes
    clear_dictionary_cache()
    monkeypatch.setattr(_dictionary_cache, "MAX_CACHE_BYTES", sparse_bytes)
    D_user = kernels(40, (16,), seed=7)  # 5 KB, its float32 Gram matrix 6.4 KB: both fit
    x = np.linspace(-1.0, 1.0, 16)[None]
    computed = []  # the values computed into the cache, by name
    get = _dictionary_cache._Entry.get

    def counting_get(self, name, compute):
        return get(self, name, lambda key: computed.append(name) or compute(key))

    monkeypatch.setattr(_dictionary_cache._Entry, "get", counting_get)
    first = encode(x, D_user, "omp", n_nonzero=3)
    kept = _dictionary_cache._entry
    assert sparse_bytes > kept.nbytes > D_user.nbytes  # the user's key and Gram matrix
    run(X, K, stride=1)
    run(X, K, stride=1)
    assert len(gram_builds) == 3  # the kernels' weights: built at every call
    assert_same_csr(networks[-1], weights)
    assert _dictionary_cache._entry is kept and list(kept.values) == [("gram", "float32")]
    np.testing.assert_array_equal(encode(x, D_user, "omp", n_nonzero=3), first)
    weights_name = ("spiking_convolutional_weights", (64,), (1,), "full")
    assert computed == [("gram", "float32"), weights_name, weights_name]


def test_no_weights_without_inhibition(networks, gram_builds):
    """inhibition=False builds no weights and keeps nothing."""
    run(np.ones((1, 32)), kernels(2, (5,), seed=5), inhibition=False)
    assert networks == [None] and gram_builds == []
    assert _dictionary_cache._entry is None


@pytest.mark.brian2
def test_spikes_with_kept_weights_are_those_of_the_round_trip(monkeypatch):
    """Brian2's numpy target on a tiny seeded problem: the spikes of a call that builds the
    weights, of one that finds them kept and of one wired by the lil round trip are the
    same, to the bit."""
    rng = np.random.default_rng(6)
    K = kernels(2, (6,), seed=6)
    X = 4.0 * rng.standard_normal((2, 24))

    def spikes():
        ds = run(X, K, stride=2, record_spikes=True)
        return [ds[name].values for name in ("spike_time", "spike_sample", "spike_kernel",
                                             "spike_position", "spike_count")]

    built = spikes()
    kept = spikes()
    monkeypatch.setattr(spiking_module, "_lateral_weights", round_trip_weights)
    before = spikes()
    assert built[4].sum() > 20  # a run with spikes to compare
    for a, b, c in zip(built, kept, before):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csc_matrix, sp.csc_array])
def test_brian_pairs_leave_kept_and_given_weights_as_they_were(kind):
    """block_diagonal_pairs sorts and drops stored zeros in a copy of its own. The
    transpose of a CSC matrix is CSR on the same arrays, which ``tocsr()`` returned as
    they were: kept (read-only) CSC weights raised ValueError, and a caller's writable
    ones (unsorted, with a stored zero) were sorted and lost the zero in place."""
    from v1model.inference._dictionary_cache import _freeze, shared_sparse
    from v1model.spiking._brian import block_diagonal_pairs

    W = np.array([[0.0, 2.0, 0.0], [-1.0, 0.0, 0.5], [3.0, 0.0, 0.0]])  # weights[post, pre]
    compressed = kind(W)
    # indices reversed within each row/column, and a stored zero: not canonical
    order = np.concatenate([np.arange(a, b)[::-1] for a, b in
                            zip(compressed.indptr[:-1], compressed.indptr[1:])])
    data, indices = np.append(compressed.data[order], 0.0), compressed.indices[order]
    indptr = compressed.indptr.copy()
    indices = np.append(indices, 0 if indices[-1] else 1)  # a zero in the last row/column
    indptr[-1] += 1
    given = kind((data, indices, indptr), shape=W.shape)
    before = [part.copy() for part in (given.data, given.indices, given.indptr)]
    kept = kind((data.copy(), indices.copy(), indptr.copy()), shape=W.shape)
    _freeze(kept)
    for weights in (given, shared_sparse(kept)):
        i, j, w = block_diagonal_pairs(weights, 2)
        dense = np.zeros((6, 6))
        np.add.at(dense, (j, i), w)
        np.testing.assert_array_equal(dense, np.kron(np.eye(2), W))
        assert w.size == 2 * 4 and np.all(np.diff(i) >= 0)
    for part, old in zip((given.data, given.indices, given.indptr), before):
        np.testing.assert_array_equal(part, old)


@pytest.mark.parametrize("kind", [sp.coo_matrix, sp.lil_matrix, sp.dok_array])
def test_a_sparse_value_without_compressed_arrays_is_refused(kind):
    """The cache counts a sparse value by its ``data``, ``indices`` and ``indptr`` and makes
    them read-only; a COO, LIL or DOK value was kept as 0 bytes (unbounded) and writable."""
    D = np.eye(3)
    with pytest.raises(TypeError, match=f"CSR, CSC or BSR.*got {kind.__name__}"):
        _dictionary_cache.values_of(D).get("sparse", lambda key: kind(key))
    assert _dictionary_cache._entry is None  # nothing kept, not even the key
