"""BatchTopK's inference threshold against its definition (Bussmann et al. 2024:
the mean over batches of the smallest activation BatchTopK keeps), recomputed
here from the public model on the same batches, and the history's FVU of a
minibatch of two samples."""

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder

SAE_SEED = 1000  # not the planted data's seed (its atoms would be the initial decoder)


def smallest_kept(sae, X, k):
    """Reference: the smallest positive value among the ``k * len(X)`` largest
    pre-activations of the batch ``X``, from the model's public attributes."""
    pre = (X - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    kept = np.sort(pre, axis=None)[::-1][:k * len(X)]
    return kept[kept > 0].min()


def _stream(rate=0.01, **settings):
    return SparseAutoencoder(40, "batchtopk", k=3, batch_size=100, lr=3e-3, dtype="float64",
                             threshold_rate=rate, seed=SAE_SEED, progress=False, **settings)


@pytest.mark.parametrize("rate", [0.01, 0.2])
def test_running_threshold_is_the_weighted_mean_of_each_batchs_smallest_kept(planted, rate):
    # one minibatch per partial_fit call: the model before each call is the one that
    # measured that batch. The running estimate after n batches is
    # sum_i w_i s_i / sum_i w_i, w_i = (1 - rate)**(n - i): for n << 1 / rate the plain
    # mean over batches. Before, it started at s_1 and gave it (1 - rate)**(n - 1) of the
    # weight (0.83 after 20 batches at rate 0.01): 0.4699 where this mean is 0.4644
    X = planted[0][:2000]
    sae = _stream(rate).partial_fit(X[:100])
    smallest = [float(sae.history_.threshold[0])]  # the first batch's own value
    for start in range(100, 2000, 100):
        smallest.append(smallest_kept(sae, X[start:start + 100], 3))
        sae.partial_fit(X[start:start + 100])
    s = np.array(smallest)
    running = sae.history_.threshold.values
    for n in range(1, len(s) + 1):
        w = (1 - rate) ** np.arange(n - 1, -1, -1)
        np.testing.assert_allclose(running[n - 1], (w * s[:n]).sum() / w.sum(), rtol=1e-9)
    # the inference threshold: the last batch measured again by the trained model, with
    # its weight (the earlier batches are those of earlier calls)
    w = (1 - rate) ** np.arange(len(s) - 1, -1, -1)
    again = s.copy()
    again[-1] = smallest_kept(sae, X[1900:2000], 3)
    np.testing.assert_allclose(sae.threshold_, (w * again).sum() / w.sum(), rtol=1e-9)


def test_fit_threshold_is_the_trained_models_smallest_kept_activation(planted):
    # every minibatch is the whole of X (batch_size = n_samples): the definition at the
    # trained model is the smallest kept activation of X itself. Before, the running
    # average over the 20 steps: 0.479 where the trained model's is 0.568
    X = planted[0][:300]
    sae = SparseAutoencoder(40, "batchtopk", k=3, n_steps=20, batch_size=300, lr=3e-3,
                            dtype="float64", seed=SAE_SEED, progress=False).fit(X)
    np.testing.assert_allclose(sae.threshold_, smallest_kept(sae, X, 3), rtol=1e-9)
    # it encodes about the k * n_samples largest of X (the rule BatchTopK trained with):
    # all but the one at the threshold, give or take its rounding
    assert abs(np.count_nonzero(sae.encode(X)) - 3 * 300) <= 1


@pytest.mark.parametrize("n_steps", [50, 100])
def test_held_out_l0_is_k_after_a_short_run(planted, n_steps):
    # a model still moving: the running average over the run gave a held-out L0 of 1.95 to
    # 2.72 after 50 steps (data seed 0, SAE seeds 0-2) and 2.82 to 3.51 after 100; the
    # trained model's threshold gives 2.99 to 3.06 (2.99 to 3.00 on the training samples).
    # Tolerance 5% of k: held-out samples are other samples of the same distribution
    X = planted[0]
    sae = SparseAutoencoder(128, "batchtopk", k=3, n_steps=n_steps, seed=1, progress=False)
    sae.fit(X[:3000])
    assert float(sae.evaluate(X[:3000])["l0"]) == pytest.approx(3.0, rel=0.02)
    assert float(sae.evaluate(X[3000:])["l0"]) == pytest.approx(3.0, rel=0.05)


def test_a_saved_model_continues_the_same_estimate(planted, tmp_path):
    # the running estimate and its weight are saved with the training state: a loaded
    # model continues as the saved one does
    X = planted[0][:800]
    sae = _stream().partial_fit(X[:400])
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    assert loaded.threshold_ == sae.threshold_
    for model in (sae, loaded):
        model.partial_fit(X[400:])
    np.testing.assert_array_equal(loaded.history_.threshold, sae.history_.threshold)
    np.testing.assert_array_equal(loaded.history_.fvu, sae.history_.fvu)
    assert loaded.threshold_ == sae.threshold_


def test_a_file_from_before_continues_its_plain_running_average(planted, tmp_path):
    # files saved before the estimate's weight held the plain running average (and no
    # running mean of X): they load, and continue it as t + rate * (s - t)
    X = planted[0][:500]
    ds = _stream().partial_fit(X[:400]).to_dataset()
    ds = ds.drop_vars("training_mean")
    for name in ("batchtopk_running_threshold", "batchtopk_threshold_weight",
                 "n_training_mean_samples"):
        del ds.attrs[name]
    old = SparseAutoencoder.from_dataset(ds)
    t, s = old.threshold_, smallest_kept(old, X[400:], 3)
    old.partial_fit(X[400:])  # one step
    np.testing.assert_allclose(old.history_.threshold[-1], t + 0.01 * (s - t), rtol=1e-9)


def test_fvu_of_a_two_sample_minibatch_is_about_the_mean_of_the_data(planted):
    # a stream's last minibatch of 2 samples: about its own mean the FVU divided by half
    # the pair's squared distance (3.5e4 here; 1.3-1.8 beside 0.76-0.79 for whitened 12x12
    # patches in chunks of 258, and 13-16 in another helper's measurement);
    # now by their squared distances to the mean of every sample trained on, this batch
    # included
    X = planted[0]
    sae = SparseAutoencoder(40, "topk", k=3, batch_size=100, dtype="float64", seed=SAE_SEED,
                            progress=False).partial_fit(X[:300])
    pair = np.stack([X[300], X[300] + 0.01 * X[301]])  # two samples close together
    before = sae.reconstruct(pair)
    sae.partial_fit(pair)
    seen = np.concatenate([X[:300], pair])
    expected = ((pair - before) ** 2).sum() / ((pair - seen.mean(axis=0)) ** 2).sum()
    fvu = sae.history_.fvu.values
    np.testing.assert_allclose(fvu[-1], expected, rtol=1e-9)
    # measured 0.853 beside 0.845-0.862 for the three minibatches of 100
    assert fvu[-1] < 2 * fvu[:-1].max()
    # a full minibatch: about the mean of the samples so far, its own included
    sae.partial_fit(X[302:402])  # one step of 100
    seen = np.concatenate([seen, X[302:402]])
    batch = X[302:402]
    total = ((batch - seen.mean(axis=0)) ** 2).sum()
    np.testing.assert_allclose(fvu_of := sae.history_.fvu.values[-1],
                               sae.history_.mse.values[-1] * 100 / total, rtol=1e-9)
    assert 0 < fvu_of < 1


def test_a_damaged_saved_estimate_is_named(planted):
    ds = _stream().partial_fit(planted[0][:400]).to_dataset()
    for name, value, message in (
            ("batchtopk_threshold_weight", 1.5, "batchtopk_threshold_weight"),
            ("batchtopk_running_threshold", -0.2, r"batchtopk_running_threshold'\] must be a "
                                                  r"positive number .*got -0.2"),
            ("n_training_mean_samples", 0, "n_training_mean_samples")):
        damaged = ds.copy()
        damaged.attrs = {**ds.attrs, name: value}
        with pytest.raises(ValueError, match=message):
            SparseAutoencoder.from_dataset(damaged)


@pytest.mark.filterwarnings("ignore:activation='jumprelu'")  # a short run: thresholds near 0
@pytest.mark.parametrize("activation, setting", [
    ("batchtopk", dict(k=3)), ("topk", dict(k=3)), ("relu", dict(lam=0.1)),
    ("jumprelu", dict(lam=0.1)), ("mp", dict(k=3))])
def test_only_batchtopk_keeps_its_latest_batches(planted, monkeypatch, activation, setting):
    # the row indices of the latest 3 / threshold_rate batches are read again at the end of
    # a call to measure BatchTopK's threshold: the other activations have none to measure.
    # Before, every activation kept them (here 15 batches of 50 rows for topk, relu, ...)
    import collections
    from types import SimpleNamespace

    from v1model.sae import autoencoder

    made = []

    class Recorded(collections.deque):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(autoencoder, "collections", SimpleNamespace(deque=Recorded))
    X = planted[0][:200]
    # the others refuse a threshold_rate; at the default 0.01 they would keep all 20 batches
    rate = {"threshold_rate": 0.2} if activation == "batchtopk" else {}
    SparseAutoencoder(40, activation, n_steps=20, batch_size=50, dtype="float64",
                      seed=SAE_SEED, progress=False, **rate, **setting).fit(X)
    held = [entry for kept in made for entry in kept]
    if activation != "batchtopk":
        assert held == []
        return
    assert len(held) == 15  # ceil(3 / 0.2) of the 20 batches: the last ones
    for rows, smallest, rate in held:
        assert np.shape(rows) == (50,) and 0 <= np.min(rows) and np.max(rows) < 200
        assert smallest > 0 and rate == 0.2
