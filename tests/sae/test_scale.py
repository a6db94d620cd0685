"""The sparse autoencoder at the sizes of interpretability work, in miniature:
``encode`` and ``reconstruct`` run in blocks of rows (memory: the result and
a block, not n_samples x n_latents temporaries), a sparse result, a memmap
that is not copied, and AuxK computed in the dead latents' rows only. The
block size is shrunk (monkeypatched) so that small shapes take the blocked
paths; memory is measured with tracemalloc, which sees NumPy's allocations (the least
of three measures, ``peak_memory`` of tests/conftest.py)."""

import numpy as np
import pytest
import scipy.sparse as sp

from v1model.sae import SparseAutoencoder, autoencoder, objective, training
from v1model.sae.objective import auxk_loss, encoder_gradients

SETTINGS = {"topk": dict(k=4), "batchtopk": dict(k=4), "relu": dict(lam=0.05),
            "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05), "mp": dict(k=3)}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((96, 16))
    Z = rng.uniform(1, 2, (6000, 96)) * (rng.random((6000, 96)) < 0.03)
    return Z @ D + 0.01 * rng.standard_normal((6000, 16))


@pytest.fixture(scope="module")
def models(data):
    return {act: SparseAutoencoder(512 if act != "mp" else 64, act, n_steps=20, batch_size=100,
                                   seed=0, progress=False, **settings).fit(data[:2000])
            for act, settings in SETTINGS.items()}


@pytest.mark.parametrize("activation", list(SETTINGS))
def test_encode_in_blocks_equals_each_sample_alone(models, data, activation, monkeypatch):
    sae = models[activation]
    X = data[2000:2300]
    whole = sae.encode(X)
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 7 * sae.components_.shape[0],
                        raising=False)  # blocks of 7 rows, the last one shorter
    blocked = sae.encode(X)
    np.testing.assert_allclose(blocked, whole, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(blocked[:5], np.vstack([sae.encode(x) for x in X[:5]]),
                               rtol=1e-5, atol=1e-5)
    assert blocked.dtype == np.float32 and blocked.shape == (300, sae.components_.shape[0])
    np.testing.assert_allclose(sae.reconstruct(X), sae.decode(whole), rtol=1e-5, atol=1e-5)


def test_encode_memory_is_the_result_and_one_block(models, data, monkeypatch, peak_memory):
    # 6000 x 512 latents: float32 codes of 12.3 MB. Encoded whole, topk's pre-activations
    # (12.3 MB), argpartition's indices (24.6 MB), masks and the float32 copy of X came
    # on top (measured 45 MB above the result); in blocks of 64 rows, ~0.5 MB
    sae = models["topk"]
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 64 * 512, raising=False)
    Z, peak = peak_memory(lambda: sae.encode(data))  # float64 X: converted block by block
    assert peak - Z.nbytes < 2e6, f"{(peak - Z.nbytes) / 1e6:.1f} MB above the result"
    # reconstruct holds the latents of one block, not of all of X
    R, peak = peak_memory(lambda: sae.reconstruct(data))
    assert peak - R.nbytes < 2e6, f"{(peak - R.nbytes) / 1e6:.1f} MB above the result"


def test_encode_of_a_memmap_reads_it_in_blocks(models, data, tmp_path, monkeypatch,
                                               peak_memory):
    sae = models["batchtopk"]
    path = tmp_path / "acts.npy"
    np.save(path, data.astype(np.float32))
    X = np.load(path, mmap_mode="r")
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 64 * 512, raising=False)
    codes, peak = peak_memory(lambda: sae.encode(X, sparse=True))
    assert sp.issparse(codes) and codes.format == "csr" and codes.dtype == np.float32
    assert peak < 2e6 + 12 * codes.nnz  # a block, and the non-zeros (CSR and their copy)
    np.testing.assert_array_equal(codes.toarray(), sae.encode(X))


@pytest.mark.parametrize("activation", ["topk", "jumprelu", "mp"])
def test_sparse_encode_equals_dense_and_decodes(models, data, activation):
    sae = models[activation]
    X = data[:500]
    dense = sae.encode(X)
    codes = sae.encode(X, sparse=True)
    assert isinstance(codes, sp.csr_matrix) and codes.shape == dense.shape
    np.testing.assert_array_equal(codes.toarray(), dense)
    np.testing.assert_allclose(sae.decode(codes), sae.decode(dense), rtol=1e-5, atol=1e-5)
    one = sae.encode(X[0], sparse=True)
    assert one.shape == (1, dense.shape[1])
    with pytest.raises(TypeError, match="sparse"):
        sae.encode(X, sparse="yes")


def test_a_non_finite_value_in_a_later_block_is_named_by_its_rows(models, data, monkeypatch):
    sae = models["topk"]
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 100 * 512, raising=False)
    X = data[:1000].copy()
    X[345, 3] = np.nan
    with pytest.raises(ValueError, match=r"X\[300:400\] contains 1 non-finite"):
        sae.encode(X)
    with pytest.raises(ValueError, match="features per sample"):
        sae.encode(data[:1000, :8])


def test_fit_and_partial_fit_do_not_copy_a_memmap(data, tmp_path, peak_memory):
    big = np.tile(data.astype(np.float32), (8, 2))  # 48,000 x 32 float32: 6.1 MB
    path = tmp_path / "acts.npy"
    np.save(path, big)
    X = np.load(path, mmap_mode="r")
    sae = SparseAutoencoder(64, "topk", k=4, n_steps=5, batch_size=64, seed=0, progress=False)
    _, peak = peak_memory(lambda: sae.fit(X))  # each fit starts anew
    assert peak < X.nbytes / 4, f"fit allocated {peak / 1e6:.1f} MB for a {X.nbytes / 1e6} MB X"
    # one measure: partial_fit continues the training, a repeat would measure other calls
    _, peak = peak_memory(lambda: [sae.partial_fit(X[i:i + 16000])
                                   for i in range(0, 48000, 16000)], repeats=1, warm_up=False)
    assert peak < X.nbytes / 4
    assert sae.components_.dtype == np.float32 and sae.encoder_.dtype == np.float32


@pytest.mark.parametrize("activation", ["topk", "batchtopk"])
def test_auxk_is_computed_in_the_dead_rows_only(activation, monkeypatch):
    # 2 dead latents of 1,024: the AuxK gradients are those of the full-size formula
    # (auxk_loss, encoder_gradients), computed without (n, n_latents) products (which
    # took ~10% of a step of 8,192 latents on 768 features)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 24)).astype(np.float32)
    sae = SparseAutoencoder(1024, activation, k=4, n_steps=2, batch_size=100, seed=0,
                            progress=False).fit(X)
    params, state = sae._params, sae._state
    state.tracker.since[:] = 0
    state.tracker.since[[5, 700]] = 10**9
    seen, products = {}, []
    original_step = state.adam.step

    def spy_step(p, grads):
        seen.update({name: g.copy() for name, g in grads.items()})
        return original_step(p, grads)

    def spy_gradients(dpre, batch, p):
        products.append(dpre.shape)
        return encoder_gradients(dpre, batch, p)

    monkeypatch.setattr(state.adam, "step", spy_step)
    monkeypatch.setattr(training, "encoder_gradients", spy_gradients, raising=False)
    # every size takes the dead-rows path (by default from 4e8 flops, 8,192 x 768 latents)
    monkeypatch.setattr(objective, "LARGE_PRODUCT_FLOPS", 0)
    before = {name: a.copy() for name, a in params.items()}
    batch = X[:100]
    training.train_step(params, batch, sae._fitted_objective, state, lr=1e-3, k_aux=12,
                        aux_coef=0.5, threshold_rate=0.01)
    assert products == [], f"AuxK multiplied full-size (n, n_latents) arrays: {products}"
    # the expected gradients: the main ones plus the full-size AuxK formula
    from v1model.sae.decoder import remove_parallel_gradient
    from v1model.sae.objective import loss_and_gradients

    _, grads, cache = loss_and_gradients(before, batch, sae._fitted_objective)
    dead = np.zeros(1024, bool)
    dead[[5, 700]] = True
    _, dpre, ddec = auxk_loss(cache["pre"], before["decoder"], cache["residual"], dead, 12)
    grads["decoder"] += 0.5 * ddec
    for name, g in encoder_gradients(0.5 * dpre, batch, before).items():
        grads[name] += g
    remove_parallel_gradient(grads["decoder"], before["decoder"])
    for name, g in grads.items():
        np.testing.assert_allclose(seen[name], g * state.gradient_factors[name], rtol=1e-5,
                                   atol=1e-7 * np.abs(g).max(), err_msg=name)
    assert np.any(ddec[[5, 700]] != 0) and not np.any(np.delete(ddec, [5, 700], 0))


@pytest.mark.parametrize("activation", ["topk", "relu", "jumprelu"])
def test_decode_and_reconstruct_over_the_non_zero_latents(models, data, activation,
                                                          monkeypatch):
    # large models multiply only the non-zero latents with the decoder (a sparse product);
    # forced here, decode and reconstruct must equal Z D + b_dec computed densely in float64
    sae = models[activation]
    X = data[2000:2600]
    Z = sae.encode(X)
    assert np.count_nonzero(Z) > 0
    expected = Z.astype(np.float64) @ sae.components_.astype(np.float64) + sae.decoder_bias_
    products, csr_array = [], sp.csr_array
    monkeypatch.setattr(objective, "LARGE_PRODUCT_FLOPS", 0)
    monkeypatch.setattr(objective, "ACTIVE_FRACTION", 1.0)  # any density takes the sparse path
    monkeypatch.setattr(sp, "csr_array", lambda *a, **kw: products.append(1) or csr_array(*a, **kw))
    for out in (sae.decode(Z), sae.reconstruct(X)):
        assert out.dtype == sae.components_.dtype
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert products, "the sparse product was not used"
