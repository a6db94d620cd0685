"""A fitted SparseAutoencoder on held-out data: ``evaluate``, the metrics of the SAE
literature (FVU, explained variance, MSE, L0, firing frequency, dead latents), checked
against scikit-learn's variance-weighted R² and against counts of ``encode``'s latents;
``encode``/``reconstruct``/``evaluate`` at another ``k`` (TopK against the public
``topk`` activation, MP against ``v1model.inference.matching_pursuit``); ``decode`` of
latents labelled by dim name."""

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import r2_score

from v1model.io import load_dataset, save_dataset
from v1model.sae import SparseAutoencoder, autoencoder

SETTINGS = {"topk": dict(k=3), "batchtopk": dict(k=3), "relu": dict(lam=0.05),
            "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05), "mp": dict(k=3)}


@pytest.fixture(scope="module")
def split(planted_factory):
    """Planted training and held-out samples, offset far from 0 (as a language model's
    activations): a variance taken as E[x^2] - E[x]^2 would lose its digits."""
    X = planted_factory(n_samples=1500, n_features=16, n_atoms=24, k=3, seed=5)[0] + 1e3
    return X[:1000], X[1000:]


@pytest.fixture(scope="module")
def models(split):
    return {act: SparseAutoencoder(40, act, n_steps=30, batch_size=100, lr=3e-3, seed=1,
                                   dtype="float64", progress=False, **settings).fit(split[0])
            for act, settings in SETTINGS.items()}


@pytest.mark.parametrize("activation", list(SETTINGS))
def test_fvu_is_one_minus_sklearn_variance_weighted_r2(models, split, activation):
    sae, X = models[activation], split[1]
    ev = sae.evaluate(X)
    X_hat = sae.reconstruct(X)
    reference = 1.0 - r2_score(X, X_hat, multioutput="variance_weighted")
    assert 0.0 < reference < 1.0  # a model that explains some, not all, of the variance
    assert float(ev["fvu"]) == pytest.approx(reference, rel=1e-9)
    assert float(ev["explained_variance"]) == pytest.approx(1.0 - reference, rel=1e-9)
    assert float(ev["mse"]) == pytest.approx(np.mean(np.sum((X - X_hat) ** 2, axis=1)),
                                             rel=1e-12)
    assert ev.attrs["n_samples"] == len(X) and ev.attrs["activation"] == activation
    assert all(ev[name].attrs["units"] for name in ev.data_vars)


@pytest.mark.parametrize("activation", list(SETTINGS))
def test_sparsity_metrics_count_the_latents_of_encode(models, split, activation):
    sae = models[activation]
    X = split[1][:6]  # 6 samples of at most 3 (topk, mp) active latents: most of 40 silent
    Z = sae.encode(X)
    ev = sae.evaluate(X)
    active = Z != 0
    np.testing.assert_array_equal(ev["firing_frequency"].values, active.mean(axis=0))
    assert float(ev["l0"]) == pytest.approx(active.sum() / len(X), rel=1e-12)
    assert int(ev["n_dead"]) == int(np.sum(~active.any(axis=0)))
    if activation in ("topk", "mp"):
        assert int(ev["n_dead"]) >= 40 - 6 * 3
    assert ev["firing_frequency"].dims == ("latent",)


def test_blocks_give_the_metrics_of_one_pass(models, split, monkeypatch):
    sae, X = models["topk"], split[1]
    whole = sae.evaluate(X)
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 40 * 37)  # blocks of 37 rows
    blocked = sae.evaluate(X)
    for name in ("fvu", "mse", "l0"):
        assert float(blocked[name]) == pytest.approx(float(whole[name]), rel=1e-10)
    np.testing.assert_array_equal(blocked["firing_frequency"], whole["firing_frequency"])


def test_float32_model_measures_x_as_it_encodes_it(split):
    # the model's dtype is what it sees: the reference is taken on X rounded to float32
    X_train, X = split
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=30, batch_size=100, seed=1,
                            progress=False).fit(X_train)
    X32 = X.astype(np.float32).astype(np.float64)
    reference = 1.0 - r2_score(X32, sae.reconstruct(X).astype(np.float64),
                               multioutput="variance_weighted")
    assert float(sae.evaluate(X)["fvu"]) == pytest.approx(reference, rel=1e-6)


def test_dims_one_sample_and_a_saved_round_trip(models, split, tmp_path):
    sae, X = models["batchtopk"], split[1]
    ev = sae.evaluate(X)
    turned = sae.evaluate(xr.DataArray(X.T, dims=("feature", "sample")))
    xr.testing.assert_identical(turned, ev)
    one = sae.evaluate(X[0])  # one sample: no variance about its own mean
    assert np.isnan(float(one["fvu"])) and one.attrs["n_samples"] == 1
    assert float(one["mse"]) == pytest.approx(np.sum((X[0] - sae.reconstruct(X[0])) ** 2))
    again = load_dataset(save_dataset(ev, tmp_path / "ev.nc"))
    again.attrs.pop("v1model_version")  # added by save_dataset
    again.attrs.pop("v1model_format_version")
    xr.testing.assert_identical(again, ev)


def test_mse_carries_the_units_of_a_labelled_x(models, split):
    """encode and reconstruct of a DataArray in mV give mV; evaluate's mse said
    "(units of X)^2" whatever X's units were."""
    sae, X = models["topk"], split[1]
    in_mv = xr.DataArray(X, dims=("sample", "feature"), attrs={"units": "mV"})
    assert sae.reconstruct(in_mv).attrs["units"] == "mV"
    ev = sae.evaluate(in_mv)
    assert ev["mse"].attrs["units"] == "(mV)^2"
    assert float(ev["mse"]) == float(sae.evaluate(X)["mse"])
    assert sae.evaluate(X)["mse"].attrs["units"] == "(units of X)^2"  # plain arrays: unnamed


def test_refuses_what_encode_refuses(models, split):
    sae = models["topk"]
    with pytest.raises(ValueError, match=r"X has 5 features per sample"):
        sae.evaluate(split[1][:, :5])
    bad = split[1].copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"non-finite"):
        sae.evaluate(bad)
    with pytest.raises(Exception, match="not fitted"):
        SparseAutoencoder(8, "topk", k=2).evaluate(split[1])


# ---- encoding at another k (Gao et al. 2024, sec. 5.3; Costa et al. 2025)

def test_topk_encodes_at_another_k_as_the_activation_would(models, split):
    # the reference is recomputed from the public attributes: the k largest of the
    # pre-activations (x - b_dec) W_enc^T + b_enc, ReLU after (v1model.sae.topk)
    from v1model.sae import topk

    sae, X = models["topk"], split[1]
    pre = (X - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    for k in (1, 3, 8):
        Z = sae.encode(X, k=k)
        np.testing.assert_allclose(Z, topk(pre, k)[0], rtol=0, atol=1e-9)
        assert np.count_nonzero(Z, axis=1).max() == k
        np.testing.assert_allclose(sae.reconstruct(X, k=k), sae.decode(Z), rtol=0, atol=1e-9)
        ev = sae.evaluate(X, k=k)
        assert float(ev["l0"]) == pytest.approx(np.count_nonzero(Z) / len(X), rel=1e-12)
        assert ev.attrs["k"] == k
    np.testing.assert_array_equal(sae.encode(X, k=3), sae.encode(X))  # the trained k
    # more active latents explain more of the variance here (FVU 0.69 at k=1, 0.38 at 8)
    assert float(sae.evaluate(X, k=8)["fvu"]) < float(sae.evaluate(X, k=1)["fvu"])


def test_mp_encodes_at_another_k_as_matching_pursuit(models, split):
    from v1model.inference import matching_pursuit

    sae, X = models["mp"], split[1][:200]
    D, b = sae.components_, sae.decoder_bias_
    for k in (1, 6):
        reference = matching_pursuit(X - b, D, n_nonzero=k, max_iter=k, positive=True,
                                     dtype=np.float64)
        np.testing.assert_allclose(sae.encode(X, k=k), reference, rtol=0, atol=1e-6)


@pytest.mark.parametrize("activation, message", [
    ("batchtopk", r"k=2: only a 'topk' or 'mp' model encodes with another k; this "
                  r"'batchtopk' model encodes with its learned threshold"),
    ("relu", r"k=2: .* this 'relu' model has no k")])
def test_k_is_refused_where_the_model_has_no_k_at_inference(models, split, activation,
                                                            message):
    sae = models[activation]
    for method in (sae.encode, sae.reconstruct, sae.evaluate):
        with pytest.raises(ValueError, match=message):
            method(split[1], k=2)


def test_batchtopk_takes_its_trained_k(models, split):
    # a loop over k values that included the trained one was refused at it: the trained
    # k gives the codes of no k (the learned threshold); another k is refused with why
    sae, X = models["batchtopk"], split[1]
    np.testing.assert_array_equal(sae.encode(X, k=3), sae.encode(X))
    np.testing.assert_array_equal(sae.reconstruct(X, k=np.int64(3)), sae.reconstruct(X))
    assert float(sae.evaluate(X, k=3)["fvu"]) == float(sae.evaluate(X)["fvu"])
    with pytest.raises(ValueError, match=r"k=4: .*learned threshold \(threshold_\), trained "
                                         r"for k=3: give k=3 or no k"):
        sae.encode(X, k=4)
    with pytest.raises(TypeError, match=r"k must be an integer, got 3.5"):
        sae.encode(X, k=3.5)


def test_k_out_of_range_is_refused_by_name(models, split):
    sae = models["topk"]
    with pytest.raises(ValueError, match=r"k=41 exceeds n_latents=40"):
        sae.encode(split[1], k=41)
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        sae.reconstruct(split[1], k=0)
    with pytest.raises(TypeError, match=r"k must be an integer, got 2.5"):
        sae.evaluate(split[1], k=2.5)


# ---- decode reads a DataArray of latents by dim name

def test_decode_reads_a_transposed_dataarray_by_dim_name(models, split):
    # 40 samples of 40 latents: a square Z, which read by position was decoded transposed
    sae = models["relu"]
    Z = sae.encode(split[1][:40])
    labelled = xr.DataArray(Z, dims=("sample", "latent"))
    expected = sae.decode(Z)
    np.testing.assert_array_equal(sae.decode(labelled.T), expected)
    np.testing.assert_array_equal(sae.decode(labelled), expected)
    with pytest.raises(ValueError, match=r"Z is a DataArray with dims \('latent', 'feature'\)"):
        sae.decode(xr.DataArray(Z.T, dims=("latent", "feature")))


@pytest.mark.parametrize("activation", ["topk", "relu"])
def test_encode_and_decode_keep_the_sample_labels_of_a_dataarray(models, split, activation):
    """encode and decode of DataArrays returned bare arrays: the samples' labels (their
    coordinate, a class per sample) were lost, and the codes of X.isel(sample=[3, 7])
    read as samples 0 and 1. They now return DataArrays over (sample, latent) and
    (sample, feature) with the input's labels, units and a long_name; the values are
    those of the plain arrays, and sparse=True still gives a csr_matrix."""
    sae = models[activation]
    X = split[1][:6]
    labelled = xr.DataArray(X, dims=("sample", "feature"),
                            coords={"sample": ("sample", np.arange(100, 106), {"units": "1"}),
                                    "digit": ("sample", [3, 1, 4, 1, 5, 9])},
                            attrs={"units": "mV"})
    Z_plain, X_hat_plain = sae.encode(X), sae.decode(sae.encode(X))
    for given in (labelled, labelled.T):  # read by dim name
        Z = sae.encode(given)
        assert isinstance(Z, xr.DataArray) and Z.dims == ("sample", "latent")
        np.testing.assert_array_equal(Z.values, Z_plain)
        assert Z["sample"].values.tolist() == list(range(100, 106))
        assert Z["sample"].attrs == {"units": "1"}
        assert Z["digit"].dims == ("sample",) and Z["digit"].values.tolist() == [3, 1, 4, 1,
                                                                                  5, 9]
        assert Z["latent"].values.tolist() == list(range(40))
        assert Z.attrs["units"] == "mV" and Z.attrs["long_name"]
        for X_hat in (sae.decode(Z), sae.decode(Z.T), sae.reconstruct(given)):
            assert isinstance(X_hat, xr.DataArray) and X_hat.dims == ("sample", "feature")
            np.testing.assert_allclose(X_hat.values, X_hat_plain, rtol=1e-12)
            assert X_hat["sample"].values.tolist() == list(range(100, 106))
            assert X_hat["digit"].values.tolist() == [3, 1, 4, 1, 5, 9]
            assert X_hat.attrs["units"] == "mV" and X_hat.attrs["long_name"]
    # one sample picked by label: its label kept; an unlabelled DataArray: numbered
    one = sae.encode(labelled.sel(sample=104))
    assert one["sample"].values.tolist() == [104] and int(one["digit"]) == 5
    np.testing.assert_allclose(one.values, Z_plain[4:5], rtol=1e-12, atol=1e-12)  # 1 row
    bare = sae.decode(xr.DataArray(Z_plain, dims=("sample", "latent")))
    assert bare["sample"].values.tolist() == list(range(6))
    assert bare.attrs["units"] == "units of X"
    assert hasattr(sae.encode(labelled, sparse=True), "tocsr")


def test_stacked_samples_keep_their_multiindex(models, split):
    """Activations over (batch, token) stacked into one sample dim, as a language model's
    are encoded: the latents came back over samples 0 ... n - 1 (the MultiIndex dropped),
    so that .unstack("sample") refused them; reconstruct kept it. Each (batch, token)
    latent row is the plain encode of that row of X."""
    sae = models["topk"]
    X = split[1][:12]
    acts = xr.DataArray(X.reshape(3, 4, 16), dims=("batch", "token", "feature"),
                        coords={"batch": [7, 8, 9], "token": np.arange(4)})
    stacked = acts.stack(sample=("batch", "token"))  # dims (feature, sample)
    Z = sae.encode(stacked)
    per_token = Z.unstack("sample")
    assert per_token.sizes == {"latent": 40, "batch": 3, "token": 4}
    np.testing.assert_array_equal(
        per_token.sel(batch=8, token=2).values, sae.encode(X)[1 * 4 + 2])
    X_hat = sae.decode(Z)
    assert X_hat.indexes["sample"].equals(stacked.indexes["sample"])
    np.testing.assert_allclose(X_hat.unstack("sample").sel(batch=9, token=0).values,
                               sae.reconstruct(X)[8], rtol=1e-12)


def test_encode_keeps_the_multiindex_of_stacked_samples(models, split):
    """Samples stacked from (image, patch) carry a pandas MultiIndex on ``sample``:
    row_coords skipped it, and the codes came back over samples numbered 0 ... 5, the
    image and patch of each row gone. Now the codes keep the MultiIndex and its levels
    (selectable by image), and a code selected by (image, patch) is that row's."""
    sae = models["topk"]
    X = split[1][:6]
    grid = xr.DataArray(X.reshape(2, 3, -1), dims=("image", "patch", "feature"),
                        coords={"image": [10, 20], "patch": [0, 1, 2]})
    stacked = grid.stack(sample=("image", "patch")).transpose("sample", "feature")
    Z = sae.encode(stacked)
    assert Z.dims == ("sample", "latent")
    assert Z.indexes["sample"].equals(stacked.indexes["sample"])
    assert Z["image"].values.tolist() == [10, 10, 10, 20, 20, 20]
    np.testing.assert_array_equal(Z.sel(image=20, patch=1).values, sae.encode(X[4:5])[0])
    X_hat = sae.reconstruct(stacked)
    assert X_hat.indexes["sample"].equals(stacked.indexes["sample"])
    # unstacked back to the grid: the residual is over (image, patch), as the input
    residual = (stacked - X_hat).unstack("sample")
    assert dict(residual.sizes) == {"feature": X.shape[1], "image": 2, "patch": 3}


@pytest.mark.parametrize("dims, feature_labels", [
    (("dim_0", "dim_1"), None),        # xr.DataArray(X): read by position
    (("sample", "pixel"), None),       # a feature dim of the user's own name
    (("sample", "feature"), np.arange(100, 116)),  # labelled features
])
def test_reconstruct_of_a_dataarray_subtracts_from_it(models, split, dims, feature_labels):
    """reconstruct of a DataArray came back over (sample, feature), features numbered
    0 ... n - 1, whatever X's dims and labels: X - sae.reconstruct(X), the residual,
    of 8 samples of 16 features broadcast to (8, 16, 8, 16) for dims (dim_0, dim_1),
    to (8, 16, 16) for (sample, pixel), and aligned to (8, 0) for features labelled
    100 ... 115. The
    reconstruction now keeps X's dims and coordinates; the residual is the plain one."""
    sae = models["topk"]
    X = split[1][:8]
    coords = {} if feature_labels is None else {dims[1]: feature_labels}
    given = xr.DataArray(X, dims=dims, coords=coords, attrs={"units": "mV"})
    X_hat = sae.reconstruct(given)
    assert X_hat.dims == dims and X_hat.attrs["units"] == "mV"
    residual = given - X_hat
    assert residual.shape == X.shape
    np.testing.assert_allclose(residual.values, X - sae.reconstruct(X), rtol=0, atol=1e-12)


def test_reconstruct_of_one_labelled_sample_keeps_its_features(models, split):
    """reconstruct of one sample (a 1-D DataArray over its features) numbered the
    features 0 ... n - 1 whatever their labels: x - sae.reconstruct(x) for features
    labelled 100 ... 115 aligned to 0 features, and over a dim "pixel" broadcast to
    3-D. The features keep x's dim and coordinates now, the sample its label;
    decode, whose latents carry no feature labels (nor does the model), numbers them."""
    sae = models["topk"]
    X = split[1][:3]
    plain = sae.reconstruct(X)
    for dim in ("feature", "pixel"):
        labelled = xr.DataArray(X, dims=("sample", dim), coords={
            "sample": [7, 8, 9], dim: (dim, np.arange(100, 116), {"units": "1"}),
            "y": (dim, np.arange(16) // 4)})
        one = labelled.sel(sample=8)
        x_hat = sae.reconstruct(one)
        assert x_hat.dims == ("sample", dim) and x_hat["sample"].values.tolist() == [8]
        assert x_hat[dim].values.tolist() == list(range(100, 116))
        assert x_hat[dim].attrs == {"units": "1"}
        assert x_hat["y"].values.tolist() == (np.arange(16) // 4).tolist()
        residual = (one - x_hat).transpose("sample", dim)
        assert residual.shape == (1, 16)
        np.testing.assert_allclose(residual.values, X[1:2] - plain[1:2], rtol=0, atol=1e-12)
    assert sae.decode(sae.encode(one))["feature"].values.tolist() == list(range(16))


def test_evaluate_and_history_name_their_two_dead_counts_apart(planted):
    # a BatchTopK fit: history_.n_dead 34 of 128 latents, evaluate(X_train).n_dead 24
    # (600 steps on 4,000 samples), and both attrs said only what each counted, so the
    # two read as a contradiction; now each names the other and the dead_after it uses
    X = planted[0][:2000]
    sae = SparseAutoencoder(128, "batchtopk", k=3, dead_after=300, n_steps=200,
                            batch_size=100, seed=1, progress=False).fit(X)
    ev = sae.evaluate(X)
    history_dead, evaluate_dead = int(sae.history_.n_dead[-1]), int(ev.n_dead)
    assert history_dead > evaluate_dead  # measured 6 and 0 (2026-12-07)
    # evaluate's count is encode's: the latents zero on every sample
    assert evaluate_dead == int(np.sum(~(sae.encode(X) != 0).any(axis=0)))
    assert "not history_.n_dead" in ev.n_dead.attrs["definition"]
    assert "silent for the last 300 training samples" in ev.n_dead.attrs["definition"]
    assert "not evaluate(X).n_dead" in sae.history_.n_dead.attrs["long_name"]
