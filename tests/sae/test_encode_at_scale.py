"""The SAE at scale: memory of the matching-pursuit encoder and backward pass, and
the messages of encode on arrays larger than one block."""

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder


def test_mp_encode_memory_does_not_grow_with_k_times_block_rows(peak_memory):
    # encode is documented to add a few tens of MB at any n_samples; the matching-pursuit
    # encoder kept the backward pass's trace (k residuals of every block: k * rows * d)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4096, 256)).astype(np.float32)
    sae = SparseAutoencoder(64, "mp", k=32, n_steps=1, batch_size=256, progress=False,
                            seed=0).fit(X)
    expected = sae.encode(X[:100])
    Z, peak = peak_memory(lambda: sae.encode(X))
    # a trace would be 32 * 4096 * 256 * 4 bytes = 134 MB; the result is 1 MB
    assert peak - Z.nbytes < 40e6
    # equal up to float32 rounding: BLAS may round a block's products otherwise than
    # 100 rows' (1.2e-6 on an AMD EPYC)
    np.testing.assert_allclose(Z[:100], expected, rtol=1e-5,
                               atol=1e-5 * float(np.abs(expected).max()))


def test_encode_type_errors_of_a_large_array_name_its_shape(monkeypatch):
    # arrays of more rows than one block are type-checked on an empty view: the message
    # gave that view's shape (0, n_features) instead of X's
    import pytest

    import v1model.sae.autoencoder as autoencoder

    X = np.random.default_rng(0).standard_normal((300, 8))
    sae = SparseAutoencoder(16, "topk", k=2, n_steps=2, batch_size=64, progress=False,
                            seed=0).fit(X)
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 16 * 100)  # 100 rows a block
    with pytest.raises(TypeError, match=r"shape \(300, 8\)"):
        sae.encode(X.astype(str))
    with pytest.raises(TypeError, match=r"shape \(300, 8\)"):
        sae.encode(X.astype(complex))


def test_mp_backward_scatters_into_the_selected_atoms_only(peak_memory):
    # the backward pass built a dense one-hot (n_samples, n_atoms) matrix per pursuit step
    # and multiplied it with the contributions: 2 n n_atoms n_features flops a step (as much
    # as the forward pass; MP training at 8,192 latents ran 2x slower) and n * n_atoms memory
    from v1model.sae.pursuit import pursuit_backward, pursuit_forward

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8192, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    R = rng.standard_normal((256, 8))
    _, residual, trace = pursuit_forward(R, D, 3)
    G = 2 * residual / len(R)
    (dD, dR), peak = peak_memory(lambda: pursuit_backward(G, D, trace))
    assert peak < 4e6  # a one-hot matrix alone: 256 * 8192 * 8 bytes = 16.8 MB
    # the same gradient as the one-hot product
    selected, coefficients, before = trace
    expected = np.zeros_like(D)
    G_t = G
    for t in range(2, -1, -1):
        used = selected[:, t] >= 0
        j = np.where(used, selected[:, t], 0)
        d, a = D[j], coefficients[:, t][:, None]
        gd = (np.einsum("ij,ij->i", G_t, d) * used)[:, None]
        contribution = np.where(used[:, None], -a * G_t - gd * (before[t] - 2 * a * d), 0)
        onehot = np.zeros((len(R), len(D)))
        onehot[np.arange(len(R)), j] = used
        expected += onehot.T @ contribution
        G_t = G_t - gd * d
    np.testing.assert_allclose(dD, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dR, G_t, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation, params", [("topk", dict(k=4)), ("relu", dict(lam=1e-3))])
def test_sparse_encode_holds_its_result_once(monkeypatch, activation, params, peak_memory):
    # sp.vstack of one CSR matrix per block held the result twice at its peak (the blocks
    # and their join); the arrays now grow in place: about the result plus one block
    import scipy.sparse as sp

    import v1model.sae.autoencoder as autoencoder

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60_000, 8)).astype(np.float32)
    sae = SparseAutoencoder(32, activation, n_steps=5, batch_size=256, progress=False,
                            seed=0, **params).fit(X[:2000])
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 32 * 1000)  # 1,000 rows a block
    reference = sp.vstack([sp.csr_matrix(sae.encode(X[i:i + 1000]))
                           for i in range(0, len(X), 1000)], format="csr")
    Z, peak = peak_memory(lambda: sae.encode(X, sparse=True))
    size = Z.data.nbytes + Z.indices.nbytes + Z.indptr.nbytes
    assert reference.nnz > 40_000 and size > 1e6
    assert peak < 1.5 * size  # the join alone made it 2x
    assert isinstance(Z, sp.csr_matrix) and Z.shape == reference.shape
    for name in ("data", "indices", "indptr"):
        got, want = getattr(Z, name), getattr(reference, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("progress", [True, False])
def test_encode_and_reconstruct_show_a_bar_over_the_rows(monkeypatch, capsys, progress):
    """200,000 rows of 16,384 latents encode for minutes with no bar: encode (dense and
    sparse) and reconstruct advance one over the rows, block by block, once the call has
    run PROGRESS_DELAY (0 here); a model made with progress=False shows none. The values
    are those of one block (to float32 rounding: BLAS may round blocks of other sizes
    differently)."""
    import v1model.progress
    import v1model.sae.autoencoder as autoencoder

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8))
    sae = SparseAutoencoder(16, "topk", k=2, n_steps=2, batch_size=64, progress=progress,
                            seed=0).fit(X)
    capsys.readouterr()
    expected = sae.encode(X)  # one block
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 16 * 50)  # 6 blocks of 50 rows
    Z, Zs, R = sae.encode(X), sae.encode(X, sparse=True), sae.reconstruct(X)
    err = capsys.readouterr().err
    for desc in ("SAE encode", "SAE reconstruct"):
        assert (f"{desc}:" in err and "/300 [" in err) == progress, err
    np.testing.assert_allclose(Z, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(Zs.toarray(), Z)
    np.testing.assert_allclose(R, sae.decode(Z), rtol=1e-6)


def _planted_mp_problem(n=600, m=96, d=24, active=4, seed=0):
    """Signals of ``active`` planted unit-norm atoms each, plus a little noise (float32)."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, d))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.zeros((n, m))
    for i in range(n):
        Z[i, rng.choice(m, active, replace=False)] = rng.uniform(0.5, 2.0, active)
    X = Z @ D + 0.01 * rng.standard_normal((n, d))
    return X.astype(np.float32), D.astype(np.float32)


def _count_gram_routes(monkeypatch):
    import v1model.sae.pursuit as pursuit

    calls = []
    kernel = pursuit._gram_pursuit
    monkeypatch.setattr(pursuit, "_gram_pursuit", lambda *a: calls.append(1) or kernel(*a))
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mp_gram_route_gives_the_plain_routes_codes_and_trace(monkeypatch, dtype):
    # encode redid the product of the residuals with the decoder at every pursuit step
    # (k products a block); the Gram route updates the correlations with one Gram row a
    # step and must select the same atoms, with the same coefficients up to rounding
    from v1model.inference import matching_pursuit
    from v1model.sae.pursuit import pursuit_forward, pursuit_gram

    X, D = _planted_mp_problem()
    X, D = X.astype(dtype), D.astype(dtype)
    X[:2] = 0  # nothing to code: no atom on either route
    X[2] = -D[0] - D[1] - D[2]  # negative on its atoms
    calls = _count_gram_routes(monkeypatch)
    gram = pursuit_gram(D, len(X), 8)
    assert gram is not None
    plain = pursuit_forward(X, D, 8)
    fast = pursuit_forward(X, D, 8, gram=gram)
    assert calls == [1]
    np.testing.assert_array_equal(fast[2][0], plain[2][0])  # the selections
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for got, expected in [(fast[0], plain[0]), (fast[1], plain[1]), (fast[2][1], plain[2][1]),
                          (fast[2][2], plain[2][2])]:
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, **tol)
    # and the codes of the package's independent matching pursuit (k steps, non-negative)
    reference = matching_pursuit(X, D, n_nonzero=8, max_iter=8, positive=True,
                                 dtype=np.float64)
    np.testing.assert_array_equal(fast[0] != 0, reference != 0)
    np.testing.assert_allclose(fast[0], reference, **tol)


def test_mp_encode_forced_onto_each_route_by_the_gram_memory_bound(monkeypatch):
    # the Gram matrix is made once per encode call where it fits GRAM_MAX_BYTES; above
    # it, the plain route: both give the same codes and reconstructions
    import v1model.sae.pursuit as pursuit

    X, D = _planted_mp_problem()
    sae = SparseAutoencoder(96, "mp", k=8, n_steps=1, batch_size=128, progress=False,
                            seed=0).fit(X)
    sae._params["decoder"][...] = D
    calls = _count_gram_routes(monkeypatch)
    monkeypatch.setattr(pursuit, "GRAM_MAX_BYTES", 96 * 96 * 4)  # just fits
    Z_fast, X_fast = sae.encode(X), sae.reconstruct(X)
    assert calls == [1, 1]
    monkeypatch.setattr(pursuit, "GRAM_MAX_BYTES", 96 * 96 * 4 - 1)
    Z_plain, X_plain = sae.encode(X), sae.reconstruct(X)
    assert calls == [1, 1]  # the plain route
    np.testing.assert_array_equal(Z_fast != 0, Z_plain != 0)
    np.testing.assert_allclose(Z_fast, Z_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X_fast, X_plain, rtol=1e-5, atol=1e-5)
    # the planted atoms are found (4 per sample, 8 steps: at least those 4)
    assert np.mean(np.count_nonzero(Z_fast, axis=1) >= 4) > 0.99


def test_mp_pursuit_gram_only_where_it_fits_and_pays(monkeypatch):
    import v1model.sae.pursuit as pursuit

    D = np.ones((64, 8), np.float32)
    monkeypatch.setattr(pursuit, "GRAM_MAX_BYTES", 64 * 64 * 4)
    # D D^T with column j divided by the norm of atom j
    np.testing.assert_allclose(pursuit.pursuit_gram(D, 100, 4), D @ D.T / np.sqrt(8), rtol=1e-6)
    assert pursuit.pursuit_gram(D, 21, 4) is None  # 3 * 21 <= 64 rows saved: costs more
    assert pursuit.pursuit_gram(D.astype(np.float64), 100, 4) is None  # 32 kB > bound


def test_mp_training_gradients_are_the_same_on_both_routes(monkeypatch):
    # training builds the Gram matrix of each step's decoder (one product of n_latents
    # rows for the k - 1 products of the batch it saves); the gradient through the
    # pursuit must not change
    import v1model.sae.pursuit as pursuit
    from v1model.sae.objective import Objective, loss_and_gradients

    X, D = _planted_mp_problem(n=256)
    params = {"decoder": D, "b_dec": np.full(D.shape[1], 0.01, np.float32)}
    calls = _count_gram_routes(monkeypatch)
    fast = loss_and_gradients(params, X, Objective("mp", k=6))
    assert calls == [1]
    monkeypatch.setattr(pursuit, "GRAM_MAX_BYTES", 0)
    plain = loss_and_gradients(params, X, Objective("mp", k=6))
    assert calls == [1]
    np.testing.assert_allclose(fast[0], plain[0], rtol=1e-5)
    for name in ("decoder", "b_dec"):
        np.testing.assert_allclose(fast[1][name], plain[1][name], rtol=1e-4,
                                   atol=1e-5 * np.abs(plain[1][name]).max())
