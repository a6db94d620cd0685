"""The training loop's bookkeeping: dead-latent counts, unit-norm decoder rows
after every step, AuxK, determinism (Adam itself: tests/core/test_adam.py)."""

import re
import warnings

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder
from v1model.sae.autoencoder import HISTORY_FIELDS, _warn_if_ungated_jumprelu
from v1model.sae.training import _Tracker


def test_dead_latents_are_those_silent_for_dead_after_samples():
    tracker = _Tracker(3, dead_after=100)
    z = np.zeros((40, 3))
    z[:, 0] = 1.0  # latent 0 fires in every batch
    z[5, 1] = 1.0  # latent 1 fires once, in the first batch
    tracker.update(z)
    for _ in range(2):
        tracker.update(np.where(np.arange(3) == 0, z, 0))
    # 120 samples: latent 2 silent for all of them, latent 1 for the last 80
    np.testing.assert_array_equal(tracker.dead(), [False, False, True])
    tracker.update(np.where(np.arange(3) == 0, z, 0))
    np.testing.assert_array_equal(tracker.dead(), [False, True, True])


def test_history_counts_dead_latents(planted):
    X = planted[0][:1000]
    # 200 latents for 96 true atoms and k=1: some latents never win the top 1. (The seed is
    # not the planted data's: with seed 0 the first 96 decoder rows started at the planted
    # atoms and the other 104 lost to them, 42 dead at step 9; from an independent start
    # with k=3 none died by step 9. With k=1, measured at seeds 1000-1002: 12-15 dead at
    # step 9, 18-19 at the end, as many as unused by X)
    sae = SparseAutoencoder(200, "topk", k=1, n_steps=60, batch_size=100, dead_after=1000,
                            aux_coef=0.0, seed=1000, progress=False).fit(X)
    n_dead = sae.history_["n_dead"].values
    # nobody is dead before dead_after = 1000 samples (10 batches) have been seen; the
    # count of step 9 is taken after its batch, the 1000th sample
    assert n_dead[:9].max() == 0 and n_dead[9] > 0
    assert 0 < n_dead[-1] < 200
    # a latent that no training sample uses now has been silent for a while: the
    # final count is at least the number unused by all of X, up to latents that died
    # or revived within the last 10 batches
    unused_now = int(np.sum(~(sae.encode(X) != 0).any(axis=0)))
    assert abs(n_dead[-1] - unused_now) <= 0.25 * unused_now


def test_n_dead_of_a_step_counts_its_own_minibatch(planted):
    # dead_after = batch_size: the latents dead after step t are those silent on batch
    # t, whose codes are those of the parameters before the step (the reference: encode
    # of a copy taken then). It was the count before the step (0 at step 0, then the
    # previous batch's), one batch behind the dictionary and the saved state
    from v1model.sae.objective import Objective, encode
    from v1model.sae.training import TrainingState, initial_parameters, train

    X = planted[0][:600].astype(np.float32)
    rng = np.random.default_rng(0)
    params = initial_parameters(X, 200, "topk", 1.0, rng, np.float32)
    objective = Objective("topk", k=3)
    batches = [X[i * 100:(i + 1) * 100] for i in range(6)]
    steps = train(params, batches, objective, TrainingState(params, rng), lrs=np.full(6, 1e-2),
                  k_aux=32, aux_coef=0.0, dead_after=100, threshold_rate=0.01)
    for batch in batches:
        before = {name: p.copy() for name, p in params.items()}
        silent = int(np.sum(~(encode(before, batch, objective) != 0).any(axis=0)))
        assert 0 < silent < 200
        assert int(next(steps)[4]) == silent


@pytest.mark.parametrize("activation, settings", [("topk", dict(k=2)), ("mp", dict(k=2)),
                                                  ("batchtopk", dict(k=2))])
def test_last_n_dead_is_the_saved_state_s_count(planted, activation, settings):
    X = planted[0][:1000]
    sae = SparseAutoencoder(128, activation, n_steps=12, batch_size=50, dead_after=150,
                            seed=0, progress=False, **settings)
    for train_more in (lambda: sae.fit(X), lambda: sae.partial_fit(X[:230])):
        train_more()
        recount = int((sae.to_dataset()["samples_since_fired"] >= 150).sum())
        assert int(sae.history_["n_dead"][-1]) == recount


def test_auxk_reduces_dead_latents():
    # whitened 8x8 patches, 256 latents, k=2, lr 1e-2: many latents die early. AuxK
    # gives them a gradient (the residual's reconstruction), and fewer stay dead.
    # Measured at 400 steps (seed 0): 120 dead without AuxK, 44 with aux_coef=1/32.
    # Not a law: with 512 latents at lr 3e-3 AuxK left more latents dead (236 vs 91 after
    # 800 steps), as the revived latents take samples from live ones.
    from stimuli import sample_patches
    from stimuli.images import load_whitened

    images, _ = load_whitened("skimage", None)
    X = sample_patches(images, 8, 10000, seed=0)
    runs = {coef: SparseAutoencoder(256, "topk", k=2, n_steps=400, lr=1e-2, dead_after=5000,
                                    aux_coef=coef, seed=0, progress=False).fit(X)
            for coef in (0.0, 1 / 32)}
    assert float(runs[1 / 32].history_["aux_loss"].max()) > 0
    assert float(runs[0.0].history_["aux_loss"].max()) == 0
    dead_without = int(runs[0.0].history_["n_dead"][-1])
    dead_with = int(runs[1 / 32].history_["n_dead"][-1])
    assert dead_with < 0.6 * dead_without


def test_decoder_rows_stay_unit_norm(planted):
    X = planted[0][:1000]
    for activation, settings in (("relu", dict(lam=0.1)), ("mp", dict(k=3))):
        sae = SparseAutoencoder(50, activation, n_steps=40, batch_size=100, seed=0,
                                progress=False, **settings).fit(X)
        np.testing.assert_allclose(np.linalg.norm(sae.components_, axis=1), 1.0, rtol=1e-5)


def test_fits_are_deterministic_given_the_seed(planted):
    X = planted[0][:1000]
    a, b, c = (SparseAutoencoder(40, "batchtopk", k=3, n_steps=30, batch_size=100,
                                 progress=False).fit(X, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.encode(X), b.encode(X))
    assert not np.array_equal(a.components_, c.components_)
    assert a.history_.attrs["seed"] == 5


def test_history_units_and_attrs(planted):
    sae = SparseAutoencoder(40, "relu", lam=0.1, n_steps=20, batch_size=100, seed=0,
                            progress=False).fit(planted[0][:500])
    h = sae.history_
    assert list(h.dims) == ["step"] and h.sizes["step"] == 20
    for name in ("loss", "mse", "fvu", "l0", "n_dead", "wall_time"):
        assert "units" in h[name].attrs and "long_name" in h[name].attrs
    assert h["wall_time"].attrs["units"] == "s"
    assert h.attrs["activation"] == "relu" and h.attrs["lam"] == 0.1
    assert h.attrs["n_training_samples"] == 500 and h.attrs["dtype"] == "float32"
    # loss = mse + lam * mean L1 >= mse; the fit improves on the first batches
    assert np.all(h["loss"].values >= h["mse"].values)
    assert float(h["fvu"][-5:].mean()) < float(h["fvu"][:5].mean())
    assert repr(sae) == "SparseAutoencoder(40, 'relu', lam=0.1)"


def test_auxk_runs_for_both_topk_activations_and_its_coefficient_weighs_it(planted):
    X = planted[0][:1000]
    # dead_after=100 samples (one batch): most of 200 latents are dead from step 1 on
    settings = dict(n_steps=8, batch_size=100, dead_after=100, seed=0, progress=False)
    for activation in ("topk", "batchtopk"):
        sae = SparseAutoencoder(200, activation, k=3, aux_coef=1 / 32, **settings).fit(X)
        h = sae.history_
        assert float(h["aux_loss"][1:].min()) > 0, activation
        # the recorded loss is the reconstruction term plus aux_coef times AuxK
        np.testing.assert_allclose(h["loss"], h["mse"] + h["aux_loss"] / 32, rtol=1e-12)
    for activation, extra in (("relu", dict(lam=0.1)), ("mp", dict(k=3))):
        sae = SparseAutoencoder(200, activation, **extra, **settings).fit(X)
        assert float(sae.history_["aux_loss"].max()) == 0, activation
    # a vanishing coefficient is no AuxK at all: the dead latents' decoder rows get only
    # aux_coef times the AuxK gradient (Adam's eps then swamps it); at 1/32 they move
    fits = {coef: SparseAutoencoder(200, "topk", k=3, aux_coef=coef, **settings).fit(X)
            for coef in (0.0, 1e-12, 1 / 32)}
    np.testing.assert_allclose(fits[1e-12].components_, fits[0.0].components_, atol=1e-5)
    assert np.abs(fits[1 / 32].components_ - fits[0.0].components_).max() > 1e-3


def test_one_training_step_by_hand():
    # the documented start (Gao et al. 2024: Gaussian unit-norm decoder rows, encoder
    # tied to them, b_enc = 0, b_dec = mean of X) and one step on the whole data:
    # TopK forward, the gradient written out here, its component along each decoder
    # row removed, Adam's first step (lr * g / (|g| + eps): m_hat = g, v_hat = g^2) on the
    # gradients made scale-free (divided by the spread s of X, the RMS of X - mean(X), for
    # the biases and by s^2 for the weights) with the biases' rate lr * s, decoder rows
    # back to unit norm; the history's first row is taken before the step
    n, p, m, k, lr = 60, 6, 10, 2, 1e-2
    X = 0.2 * np.random.default_rng(1).standard_normal((n, p)) + 0.3
    s = np.sqrt(np.mean((X - X.mean(axis=0)) ** 2))  # ~0.2: the bias rule matters
    rng = np.random.default_rng(7)
    D = rng.standard_normal((m, p))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    W, b_enc, b_dec = D.copy(), np.zeros(m), X.mean(axis=0)

    pre = (X - b_dec) @ W.T + b_enc
    kth = np.sort(pre, axis=1)[:, -k][:, None]
    mask = (pre >= kth) & (pre > 0)
    z = np.where(mask, pre, 0.0)
    residual = X - z @ D - b_dec
    g_out = -2.0 / n * residual
    dpre = np.where(mask, g_out @ D.T, 0.0)
    grads = {"decoder": z.T @ g_out, "encoder": dpre.T @ (X - b_dec),
             "b_enc": dpre.sum(axis=0), "b_dec": g_out.sum(axis=0) - dpre.sum(axis=0) @ W}
    g = grads["decoder"]
    grads["decoder"] = g - np.sum(g * D, axis=1, keepdims=True) * D

    def adam_first_step(value, grad, bias=False):
        grad = grad / (s if bias else s * s)
        return value - lr * (s if bias else 1.0) * grad / (np.abs(grad) + 1e-8)

    D1 = adam_first_step(D, grads["decoder"])
    D1 /= np.linalg.norm(D1, axis=1, keepdims=True)
    sae = SparseAutoencoder(m, "topk", k=k, n_steps=1, batch_size=n, lr=lr, dtype="float64",
                            aux_coef=0.0, seed=7, progress=False).fit(X)
    np.testing.assert_allclose(sae.components_, D1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sae.encoder_, adam_first_step(W, grads["encoder"]), atol=1e-12)
    np.testing.assert_allclose(sae.encoder_bias_,
                               adam_first_step(b_enc, grads["b_enc"], bias=True), atol=1e-12)
    np.testing.assert_allclose(sae.decoder_bias_,
                               adam_first_step(b_dec, grads["b_dec"], bias=True), atol=1e-12)
    assert sae.history_.attrs["x_spread"] == pytest.approx(s, rel=1e-12)
    h = sae.history_.isel(step=0)
    mse = np.sum(residual ** 2) / n
    assert float(h["mse"]) == pytest.approx(mse, rel=1e-12)
    assert float(h["loss"]) == pytest.approx(mse, rel=1e-12)
    assert float(h["fvu"]) == pytest.approx(np.sum(residual ** 2) / np.sum((X - b_dec) ** 2),
                                            rel=1e-12)
    assert float(h["l0"]) == pytest.approx(np.count_nonzero(z) / n, rel=1e-12)


def test_batchtopk_threshold_is_the_running_average_of_the_smallest_kept(planted, monkeypatch):
    # m_i = (1 - rate) m_(i-1) + rate s_i from m_(-1) = 0, divided by its weight
    # 1 - (1 - rate)**(i + 1) (Adam's bias correction), with s_i the smallest activation
    # kept in batch i: recomputed here from the s_i the loss function reports
    import v1model.sae.training as training

    smallest = []
    original = training.loss_and_gradients

    def recording(params, X, objective, **scaling):
        out = original(params, X, objective, **scaling)
        smallest.append(out[2]["smallest"])
        return out

    monkeypatch.setattr(training, "loss_and_gradients", recording)
    rate = 0.2
    sae = SparseAutoencoder(40, "batchtopk", k=3, n_steps=12, batch_size=100,
                            threshold_rate=rate, seed=0, progress=False).fit(planted[0][:600])
    expected, m = [], 0.0
    for i, s in enumerate(smallest):
        m = (1 - rate) * m + rate * s
        expected.append(m / (1 - (1 - rate) ** (i + 1)))
    assert len(set(smallest)) > 5  # the batches differ
    np.testing.assert_allclose(sae.history_["threshold"].values, expected, rtol=1e-12)
    # the inference threshold measures the batches again with the trained model
    # (tests/sae/test_batchtopk_threshold.py): near the running estimate after 12 steps
    assert sae.threshold_ == pytest.approx(expected[-1], rel=0.05)


def test_minibatches_are_a_fresh_permutation_every_epoch(planted, monkeypatch):
    # each epoch visits disjoint batches of a new random order (Minibatches, shuffle)
    import v1model.sae.training as training

    X = planted[0][:300]
    seen = []
    original = training.loss_and_gradients

    def recording(params, batch, objective, **scaling):
        seen.append(batch.copy())
        return original(params, batch, objective, **scaling)

    monkeypatch.setattr(training, "loss_and_gradients", recording)
    SparseAutoencoder(20, "topk", k=2, n_steps=6, batch_size=100, seed=0,
                      progress=False).fit(X)
    rows = {row.tobytes(): i for i, row in enumerate(X.astype(np.float32))}
    order = np.array([[rows[r.tobytes()] for r in batch] for batch in seen])  # (6, 100)
    epochs = order.reshape(2, 300)
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(300))
    assert not np.array_equal(epochs[0], np.arange(300))
    assert not np.array_equal(epochs[0], epochs[1])


def test_a_fit_in_which_no_latent_fired_warns(planted):
    # JumpReLU thresholds of 100 on data whose pre-activations are ~1: no latent ever
    # fires, the decoder gets no gradient and fit returned the random start (FVU 1.00,
    # every code zero) without a word
    X = planted[0][:1000]
    settings = dict(n_steps=40, batch_size=100, lr=3e-3, seed=0, progress=False)
    with pytest.warns(UserWarning, match=r"activation='jumprelu': no latent fired in the last "
                                         r"10 of 40 training steps .*theta_init \(now 100.0"):
        sae = SparseAutoencoder(48, "jumprelu", lam=0.05, theta_init=100.0, bandwidth=0.05,
                                **settings).fit(X)
    assert np.count_nonzero(sae.encode(X)) == 0
    assert float(sae.history_.fvu[-1]) > 0.99
    with warnings.catch_warnings():  # the thresholds of the paper's scale: no warning
        warnings.simplefilter("error")
        SparseAutoencoder(48, "jumprelu", lam=0.05, theta_init=0.1, bandwidth=0.05,
                          **settings).fit(X)


def test_a_jumprelu_fit_whose_thresholds_gate_nothing_warns(planted):
    # thresholds of theta_init="auto" (1e-3 of the spread, 3.3e-4 here) on pre-activations
    # of ~0.3-1: the L0 gradient reaches a threshold only through pre-activations within
    # bandwidth/2 of it, so in 300 steps they rose to 4e-4 and lam 0.05 and 5 gave the same
    # codes, 47 of 48 latents active (a ReLU), without a word
    X = planted[0][:2000]
    settings = dict(n_steps=300, batch_size=100, lr=3e-3, seed=0, progress=False)
    codes = []
    for lam in (0.05, 5.0):
        with pytest.warns(UserWarning, match=r"activation='jumprelu': the median threshold "
                                             r"ended below 0\.01 times the spread of X "
                                             r"\(0\.326\), at 0\.000\d+ from "
                                             r"theta_init=0\.000326: "
                                             rf".*lam={lam} had little effect \(4\d\.?\d* of "
                                             r"48 latents active on average over the last 75 "
                                             r"steps"):
            sae = SparseAutoencoder(48, "jumprelu", lam=lam, **settings).fit(X)
        codes.append(sae.encode(X[:200]))
    np.testing.assert_array_equal(codes[0] != 0, codes[1] != 0)  # lam had no effect
    with warnings.catch_warnings():  # thresholds near the pre-activations: sparse, no word
        warnings.simplefilter("error")
        sae = SparseAutoencoder(48, "jumprelu", lam=0.05, theta_init=0.1, bandwidth=0.05,
                                **settings).fit(X)
    assert float(sae.history_.l0[-75:].mean()) < 24


def test_a_jumprelu_fit_stopped_while_its_thresholds_rise_at_full_speed_warns(planted):
    # thresholds started near the pre-activations (theta_init 0.1, bandwidth 0.05: the
    # ungated warning's advice) rose at Adam's top speed, lr per step in log units, for all
    # 300 steps at lam 0.5 and 5: the run's length set the sparsity, not lam (15.4 and
    # 15.3 of 48 latents active), and fit said nothing (its thresholds were above 1% of
    # the spread)
    X = planted[0][:2000]
    settings = dict(batch_size=100, lr=3e-3, theta_init=0.1, bandwidth=0.05, seed=0,
                    progress=False)
    l0 = []
    for lam in (0.5, 5.0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sae = SparseAutoencoder(48, "jumprelu", lam=lam, n_steps=300, **settings).fit(X)
        assert len(caught) == 1, [str(w.message) for w in caught]  # not the ungated one too
        assert re.match(r"activation='jumprelu': the median threshold rose from theta_init=0\.1 "
                        r"to 0\.2\d+ in 300 steps, 1\.0\d of the most Adam moves a "
                        r"log-threshold \(lr per step, 0\.9 in all\): .*"
                        rf"lam={lam} has not yet set the sparsity", str(caught[0].message))
        l0.append(float(sae.history_.l0[-75:].mean()))
    assert abs(l0[0] - l0[1]) < 0.05 * l0[1]  # a tenfold lam, the same sparsity


def test_a_jumprelu_fit_whose_thresholds_settle_does_not_warn(planted):
    # trained on, the thresholds slow down where lam balances the reconstruction (their
    # median moved 0.69 of the most Adam allows in 1,000 steps): no word, and lam 5 keeps
    # 2-3 of 48 latents active where 300 steps left 15
    X = planted[0][:2000]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sae = SparseAutoencoder(48, "jumprelu", lam=5.0, n_steps=1000, batch_size=100,
                                lr=3e-3, theta_init=0.1, bandwidth=0.05, seed=0,
                                progress=False).fit(X)
    assert float(sae.history_.l0[-75:].mean()) < 4


@pytest.mark.slow
def test_the_readmes_unsettled_jumprelu_example_gives_its_numbers():
    """README.md's block of JumpReLU on whitened patches (the quick variant of this
    property: the two tests above, on the planted problem) gives the numbers its text
    quotes: the same held-out sparsity at lam 0.01 and 1 (40.3 and 39.8 of 128 active,
    FVU 0.092, measured 2026-12-07), and one warning from each fit. Its text once gave
    too little of the setup to repeat them (a guess at it gave 14.5 and 9.0, no
    warning)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
              if 'SparseAutoencoder(128, "jumprelu"' in b]
    assert len(blocks) == 1, len(blocks)
    namespace = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(blocks[0], "README.md", "exec"), namespace)
    unsettled = [w for w in caught if "still moving at full speed" in str(w.message)]
    assert len(unsettled) == 2, [str(w.message)[:120] for w in caught]
    active = namespace["active"]
    np.testing.assert_allclose([active[0.01], active[1.0]], [40.3, 39.8], atol=1.0)
    assert abs(active[0.01] - active[1.0]) < 0.05 * active[1.0]  # lam 100x apart
    np.testing.assert_allclose(float(namespace["metrics"]["fvu"]), 0.092, atol=0.005)


def test_the_ungated_jumprelu_warning_says_how_many_steps_adam_needs(planted):
    # "or train longer" said not how long: from 3.3e-4 (theta_init "auto") a log-threshold
    # moving at most lr = 3e-3 per step needs ln(0.1 * 0.326 / theta) / lr steps
    X = planted[0][:2000]
    sae = SparseAutoencoder(48, "jumprelu", lam=0.05, n_steps=40, batch_size=100, lr=3e-3,
                            seed=0, progress=False)
    with pytest.warns(UserWarning, match=r"lr=0\.003 per step, so reaching 0\.1 times the "
                                         r"spread from (\S+) takes at least 1,5\d\d more "
                                         r"steps") as caught:
        sae.fit(X)
    theta = float(np.exp(np.median(np.log(sae.threshold_))))
    expected = np.ceil(np.log(0.1 * 0.32631732 / theta) / 3e-3)
    assert f"at least {int(expected):,} more steps" in str(caught[0].message)


def test_the_ungated_jumprelu_warning_reads_the_median_threshold_not_the_largest(planted):
    # from "auto", 6,000 steps took one threshold past 1% of the spread (0.0038 of 0.326)
    # while the median stayed at 0.0017 and 47 of 48 latents fired: the largest one
    # silenced the warning
    X = planted[0][:2000]
    sae = SparseAutoencoder(48, "jumprelu", lam=0.05, n_steps=40, batch_size=100, lr=3e-3,
                            seed=0, progress=False)
    with pytest.warns(UserWarning, match="the median threshold ended below"):
        sae.fit(X)
    spread = float(sae.history_.attrs["theta_init"]) / 1e-3
    log_theta = np.full(48, np.log(0.005 * spread))
    log_theta[:23] = np.log(0.5 * spread)  # the largest 23 gate, the median does not
    params = {**sae._params, "log_theta": log_theta}
    rows = [tuple(np.zeros(len(HISTORY_FIELDS)))] * 4
    a = sae.history_.attrs
    v = dict(activation="jumprelu", lam=0.05, n_latents=48, theta_init=a["theta_init"],
             bandwidth=a["bandwidth"], lr=3e-3)
    with pytest.warns(UserWarning, match=r"the median threshold ended below 0\.01 times"):
        _warn_if_ungated_jumprelu(rows, v, params, spread)
    log_theta[:25] = np.log(0.5 * spread)  # now the median gates: no word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_ungated_jumprelu(rows, v, params, spread)


@pytest.mark.parametrize("activation, n, m, p, dtype", [
    ("topk", 256, 2048, 32, np.float32),  # the full AuxK formula
    ("topk", 512, 8192, 64, np.float32),  # large: products over the active / dead latents
    ("batchtopk", 256, 2048, 32, np.float64),
    ("relu", 256, 2048, 32, np.float32),
    ("jumprelu", 256, 2048, 32, np.float64),
    ("mp", 256, 2048, 32, np.float32),  # with the Gram matrix
    ("mp", 64, 1024, 256, np.float64),  # without: the trace of k residuals
])
def test_training_memory_bounds_the_measured_peak_of_a_step(activation, n, m, p, dtype,
                                                            peak_memory):
    """The estimate that fit checks before training (:func:`training_memory`) holds the
    weights, their Adam moments and the step's arrays as tracemalloc measures them at
    their worst, AuxK with every latent dead, and is not far above them."""
    from v1model.sae.objective import Objective
    from v1model.sae.training import TrainingState, initial_parameters, train_step, \
        training_memory

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p)).astype(dtype)
    k = 8
    params = initial_parameters(X, m, activation, 0.1, rng, dtype)
    state = TrainingState(params, rng)
    state.tracker.dead_after = 1
    objective = Objective(activation, k=k if activation in ("topk", "batchtopk", "mp") else None,
                          lam=0.01, bandwidth=0.5)
    auxk = activation in ("topk", "batchtopk")

    def step():
        state.tracker.since[:] = 1  # every latent dead before the step: AuxK at its largest
        train_step(params, X, objective, state, lr=1e-3, k_aux=p // 2, aux_coef=1 / 32,
                   threshold_rate=0.01)

    # the warm-up step compiles before measuring; every step peaks alike (AuxK at its
    # largest each time; six steps measured the same to 56 bytes), so the least of the
    # measures is the step's own peak. Two measures, as before: a step of 8,192 latents
    # takes ~0.8 s
    _, step_peak = peak_memory(step, repeats=2)
    held = sum(a.nbytes for a in params.values()) * 3  # the weights and two Adam moments
    peak = held + step_peak
    fixed, per_sample = training_memory(n, m, p, activation, dtype, k=k, auxk=auxk)
    estimate = fixed + n * per_sample
    assert peak <= estimate <= 1.6 * peak


def test_initial_parameters_draw_one_decoder_at_a_time_with_the_same_values(peak_memory):
    """The decoder was drawn in float64 and copied for the encoder, both cast to the
    dtype while the float64 pair lived: 3x the float32 weights at once (24 bytes per
    latent and feature). Drawn and cast a block of rows at a time, it holds the weights
    and one block, and gives the numbers of one draw of the whole (and leaves the
    generator where it did: the minibatch order is unchanged)."""
    from v1model.sae.training import _INIT_BLOCK_ELEMENTS, initial_parameters

    m, p = 20000, 37  # several blocks of rows, the last one partial
    X = np.zeros((2, p))
    reference_rng = np.random.default_rng(7)
    D = reference_rng.standard_normal((m, p))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    for activation, dtype in (("topk", np.float32), ("mp", np.float64)):
        rngs = []  # a generator of seed 7 for each call: every call draws the same values

        def draw():
            rngs.append(np.random.default_rng(7))
            return initial_parameters(X, m, activation, 0.1, rngs[-1], dtype, mean=np.zeros(p))

        params, peak = peak_memory(draw)
        rng = rngs[-1]
        np.testing.assert_array_equal(params["decoder"], D.astype(dtype))
        if activation != "mp":
            np.testing.assert_array_equal(params["encoder"], D.astype(dtype))
        assert rng.bit_generator.state == reference_rng.bit_generator.state
        weights = sum(a.nbytes for a in params.values())
        # a float64 block and its squares (the row norms) beside the weights; was 3x them
        assert peak <= weights + 3 * 8 * _INIT_BLOCK_ELEMENTS < 1.5 * weights
