"""The sparsity each activation promises: TopK's k per sample, BatchTopK's
k * batch per batch and its per-sample inference threshold, matching
pursuit's k steps (against v1model.inference.matching_pursuit and a plain
loop)."""

import numpy as np
import pytest

from v1model.inference import matching_pursuit
from v1model.sae import SparseAutoencoder, batch_topk, jumprelu, topk

#: the SAEs' seed, never the planted data's (0): the initial decoder rows are Gaussian,
#: drawn first from default_rng(seed) as the planted atoms are, so with seed 0 the models
#: started at the planted dictionary (see test_recovery.py)
SAE_SEED = 1000


def test_topk_keeps_exactly_the_k_largest_per_sample():
    pre = np.random.default_rng(0).uniform(0.1, 5.0, (200, 50))  # all positive
    assert (pre > 0).all()
    z, mask = topk(pre, 7)
    np.testing.assert_array_equal(np.count_nonzero(z, axis=1), 7)
    kth = np.sort(pre, axis=1)[:, -7][:, None]  # reference: the 7th largest per row
    np.testing.assert_array_equal(z != 0, pre >= kth)
    np.testing.assert_array_equal(z[mask], pre[mask])


def test_topk_keeps_fewer_only_where_pre_activations_are_not_positive():
    pre = np.random.default_rng(1).standard_normal((300, 20)) - 1.5
    z, _ = topk(pre, 5)
    expected = np.minimum(np.count_nonzero(pre > 0, axis=1), 5)
    np.testing.assert_array_equal(np.count_nonzero(z, axis=1), expected)
    assert (expected < 5).any() and (expected == 5).any()
    assert (z >= 0).all()


def test_batch_topk_keeps_exactly_k_times_batch_in_the_batch():
    pre = np.random.default_rng(2).uniform(0.1, 5.0, (64, 40))
    z, mask, smallest = batch_topk(pre, 3)
    assert np.count_nonzero(z) == 3 * 64
    cut = np.sort(pre.ravel())[-3 * 64]  # reference: the (k * batch)-th largest value
    np.testing.assert_array_equal(z != 0, pre >= cut)
    assert smallest == cut
    # per sample the count varies: that is the point of BatchTopK
    assert np.count_nonzero(z, axis=1).std() > 0


def test_jumprelu_passes_values_above_each_latents_threshold():
    pre = np.array([[0.1, 0.5, 2.0], [0.3, 0.2, 0.9]])
    z, _ = jumprelu(pre, np.array([0.2, 0.4, 1.0]))
    np.testing.assert_array_equal(z, [[0.0, 0.5, 2.0], [0.3, 0.0, 0.0]])


def test_topk_autoencoder_codes_have_k_nonzeros(planted):
    X = planted[0][:1000]
    sae = SparseAutoencoder(48, "topk", k=4, n_steps=100, batch_size=100, seed=SAE_SEED,
                            progress=False).fit(X)
    Z = sae.encode(X)
    assert (Z >= 0).all()
    counts = np.count_nonzero(Z, axis=1)
    assert counts.max() == 4
    # fewer than k only where the k-th largest pre-activation is <= 0
    pre = (X.astype(np.float32) - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    kth = np.sort(pre, axis=1)[:, -4]
    np.testing.assert_array_equal(counts < 4, kth <= 0)


@pytest.fixture(scope="module")
def batchtopk_model(planted):
    X = planted[0]
    return SparseAutoencoder(128, "batchtopk", k=3, n_steps=1500, lr=3e-3, seed=SAE_SEED,
                             progress=False).fit(X), X


def test_the_models_do_not_start_at_the_planted_atoms(planted, recovery_score):
    # the guard of SAE_SEED: one step of the BatchTopK model recovers no planted atom (with
    # seed 0 it recovered all 96)
    X, D_true, _ = planted
    sae = SparseAutoencoder(128, "batchtopk", k=3, n_steps=1, seed=SAE_SEED,
                            progress=False).fit(X)
    assert recovery_score(sae.components_, D_true) == 0.0


def test_batchtopk_trains_with_k_times_batch_nonzeros(batchtopk_model):
    sae, X = batchtopk_model
    # the training statistic: mean non-zeros per sample of every batch is exactly k
    np.testing.assert_array_equal(sae.history_.l0.values, 3.0)


def test_batchtopk_inference_threshold_gives_about_k_per_sample(batchtopk_model):
    sae, X = batchtopk_model
    Z = sae.encode(X)
    mean_l0 = np.count_nonzero(Z, axis=1).mean()
    # measured 2.983 (SAE_SEED; 3,923 of 4,000 samples have exactly 3, and 96 of the 96
    # planted atoms recovered); tolerance 5% of k
    assert mean_l0 == pytest.approx(3.0, rel=0.05)
    # per-sample: a sample's code does not depend on the rest of the batch (the same
    # latents; values to float32 rounding, as BLAS sums in another order)
    alone = sae.encode(X[:5])
    np.testing.assert_array_equal(alone != 0, Z[:5] != 0)
    np.testing.assert_allclose(alone, Z[:5], rtol=1e-5)
    assert sae.threshold_ > 0


def _naive_nonnegative_mp(x, D, steps):
    """Reference: ``steps`` steps of non-negative MP, one sample, plain loop."""
    r = x.copy()
    a = np.zeros(D.shape[0])
    for _ in range(steps):
        c = D @ r
        j = int(np.argmax(c))
        if c[j] <= 0:
            break
        a[j] += c[j]
        r -= c[j] * D[j]
    return a


def test_mp_encoder_equals_matching_pursuit(planted):
    X = planted[0][:600]
    sae = SparseAutoencoder(80, "mp", k=5, n_steps=30, batch_size=100, lr=3e-4,
                            dtype="float64", seed=SAE_SEED, progress=False).fit(X)
    Z = sae.encode(X)
    D, b = sae.components_, sae.decoder_bias_
    reference = matching_pursuit(X - b, D, n_nonzero=5, max_iter=5, positive=True,
                                 dtype=np.float64)
    np.testing.assert_allclose(Z, reference, rtol=0, atol=1e-6)
    naive = np.array([_naive_nonnegative_mp(x - b, D, 5) for x in X])
    np.testing.assert_allclose(Z, naive, rtol=0, atol=1e-6)
    assert np.count_nonzero(Z, axis=1).max() <= 5


def test_batchtopk_inference_is_the_threshold_rule(batchtopk_model):
    # at inference a sample keeps exactly its pre-activations above the learned threshold
    # (Bussmann et al. 2024), not its own top k: recomputed here from the attributes
    sae, X = batchtopk_model
    X32 = X[:500].astype(np.float32)
    pre = (X32 - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    Z = sae.encode(X32)
    np.testing.assert_array_equal(Z != 0, pre > sae.threshold_)
    np.testing.assert_allclose(Z[Z != 0], pre[Z != 0], rtol=1e-6)
    counts = np.count_nonzero(Z, axis=1)
    assert counts.min() < 3 < counts.max()  # measured 2 to 4 around k = 3


def test_mp_encoder_stops_where_no_atom_correlates_positively():
    # non-negative MP: a sample whose correlations with every atom are <= 0 gets no atom
    # (v1model.inference.matching_pursuit, positive=True); a sample with one positive
    # correlation takes that atom once, then stops at the residual orthogonal to it
    from v1model.sae.pursuit import pursuit_forward

    D = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.6, 0.8]])
    R = np.array([[-1.0, -2.0, -0.5],    # every correlation negative
                  [3.0, -1.0, -1.0]])   # only atom 0 positive
    Z, residual, (selected, coefficients, _) = pursuit_forward(R, D, 3)
    np.testing.assert_array_equal(Z, [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(residual, [[-1.0, -2.0, -0.5], [0.0, -1.0, -1.0]])
    np.testing.assert_array_equal(selected, [[-1, -1, -1], [0, -1, -1]])
    reference = matching_pursuit(R, D, n_nonzero=3, max_iter=3, positive=True,
                                 dtype=np.float64)
    np.testing.assert_array_equal(Z, reference)


@pytest.mark.parametrize("call, error, match", [
    # exported from v1model.sae, they trusted their input: numpy's "kth(=8) out of bounds"
    (lambda: topk(np.ones((2, 8)), 0), ValueError, r"^k must be >= 1, got 0"),
    (lambda: batch_topk(np.ones((2, 8)), 2.5), TypeError, r"^k must be an integer, got 2.5"),
    (lambda: topk(np.ones(8), 2), ValueError, r"^pre must have 2 dimension\(s\), got 1"),
    (lambda: topk([[1.0, np.nan]], 1), ValueError, r"^pre contains 1 non-finite"),
    (lambda: jumprelu(np.ones((2, 8)), -0.1), ValueError, r"^theta must be a positive"),
    (lambda: jumprelu(np.ones((2, 8)), np.ones(3)), ValueError,
     r"^theta must be one positive threshold per latent \(shape \(8,\)\), got shape \(3,\)"),
])
def test_exported_activations_check_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_exported_activations_keep_float32_and_take_lists():
    from v1model.sae import relu

    pre = np.array([[0.5, -1.0, 2.0]], np.float32)
    assert topk(pre, 1)[0].dtype == np.float32 and relu(pre)[0].dtype == np.float32
    np.testing.assert_array_equal(topk([[0.5, -1.0, 2.0]], np.int64(2))[0], [[0.5, 0.0, 2.0]])
    np.testing.assert_array_equal(jumprelu(pre, np.float32(1.0))[0], [[0.0, 0.0, 2.0]])


def test_exported_activations_read_a_dataarray_by_its_dims():
    """Pre-activations over (latent, sample), as ``encode(X).T`` gives them: read by
    position, TopK kept the 2 largest samples of each latent (a sample with none, one with
    5), unsaid; the per-sample reference is the sorted plain array's."""
    import xarray as xr

    from v1model.sae import relu

    pre = np.random.default_rng(3).uniform(0.1, 5.0, (6, 40))  # (sample, latent)
    transposed = xr.DataArray(pre.T, dims=("latent", "sample"))
    z, _ = topk(transposed, 2)
    kth = np.sort(pre, axis=1)[:, -2][:, None]
    np.testing.assert_array_equal(z != 0, pre >= kth)
    np.testing.assert_array_equal(batch_topk(transposed, 2)[0], batch_topk(pre, 2)[0])
    np.testing.assert_array_equal(relu(transposed)[0], pre)
    theta = np.linspace(0.5, 4.0, 40)
    np.testing.assert_array_equal(jumprelu(transposed, theta)[0], jumprelu(pre, theta)[0])


@pytest.mark.parametrize("activation", [topk, batch_topk])
def test_exported_activations_refuse_k_above_n_latents(activation):
    """As SparseAutoencoder does: k=9 of 4 latents was taken as "all of them"; k = 4 is."""
    pre = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.raises(ValueError, match=r"^k=9 exceeds n_latents=4 \(pre.shape\[1\]\): a "
                                         r"sample cannot have more active latents than there "
                                         r"are latents$"):
        activation(pre, 9)
    np.testing.assert_array_equal(activation(pre, 4)[0], np.maximum(pre, 0))


def test_jumprelu_inference_is_the_rule_of_its_documented_thresholds(planted):
    """threshold_ of a JumpReLU model is exp(log_theta), one positive threshold per
    latent, and encode keeps exactly the pre-activations above it (recomputed here from
    the attributes), as the BatchTopK rule is checked above."""
    X = planted[0]
    # thresholds near the pre-activations (0.1): "auto" ones (3e-4) gate only those near 0
    sae = SparseAutoencoder(32, "jumprelu", lam=1e-3, n_steps=30, batch_size=128,
                            theta_init=0.1, bandwidth=0.05,
                            progress=False).fit(X[:1000], seed=SAE_SEED)
    theta = sae.threshold_
    assert theta.shape == (32,) and np.all(theta > 0)
    X32 = X[:200].astype(np.float32)  # the model's dtype
    pre = (X32 - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    Z = sae.encode(X32)
    np.testing.assert_array_equal(Z != 0, pre > theta)
    assert 0 < np.count_nonzero(Z) < Z.size
    np.testing.assert_allclose(Z[Z != 0], pre[Z != 0], rtol=1e-6)
