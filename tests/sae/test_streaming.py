"""Training on data that does not fit in memory: partial_fit over chunks of a
stream, the learning-rate schedule, memmaps read a minibatch at a time, and
the training state saved with the model."""

import json

import numpy as np
import pytest
import xarray as xr

from v1model.sae import SparseAutoencoder
from v1model.sae.training import lr_schedule

SETTINGS = {"topk": dict(k=3, dead_after=100), "batchtopk": dict(k=3),
            "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05)}


def _model(activation="topk", **settings):
    settings = {"n_steps": 12, "batch_size": 100, "lr": 3e-3, "progress": False,
                **SETTINGS[activation], **settings}
    return SparseAutoencoder(80, activation, **settings)


def _same_training(a, b, wall_time=False):
    for name in ("components_", "encoder_", "encoder_bias_", "decoder_bias_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-6)
    names = [name for name in a.history_.data_vars if wall_time or name != "wall_time"]
    xr.testing.assert_allclose(a.history_[names], b.history_[names], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", list(SETTINGS))
def test_partial_fit_epochs_equal_fit(planted, activation):
    # fit draws a fresh permutation of X every epoch from the generator that made the
    # initial parameters; partial_fit(X) draws one per call from the same generator: three
    # calls on X are fit's three epochs, minibatch for minibatch. All training state
    # (Adam moments and step count, the schedule, dead latents and AuxK for topk,
    # BatchTopK's running threshold) must carry over between calls for them to agree.
    X = planted[0][:400]  # 4 minibatches of 100 per epoch
    settings = dict(dtype="float64", lr_warmup=3, lr_decay=0.25)
    fitted = _model(activation, **settings).fit(X, seed=7)
    streamed = _model(activation, **settings)
    for call in range(3):
        streamed.partial_fit(X, seed=7 if call == 0 else None)
    _same_training(streamed, fitted)
    if activation == "topk":  # no threshold
        assert streamed.threshold_ is None and fitted.threshold_ is None
    else:  # the running estimate; threshold_ measures the batches of the last call again
        # with the trained model (fit: all 12, the stream: its last call's 4)
        np.testing.assert_allclose(streamed.history_.threshold[-1],
                                   fitted.history_.threshold[-1], rtol=1e-9)
    if activation == "topk":  # dead latents and AuxK in the later calls: the tracker carried over
        assert fitted.history_.aux_loss.values[4:].max() > 0
    # a fresh optimiser per call would not agree: the carried state matters
    restarted = _model(activation, **settings).partial_fit(X, seed=7)
    restarted._state.adam.m = {k: np.zeros_like(v) for k, v in restarted._state.adam.m.items()}
    restarted.partial_fit(X)
    assert not np.allclose(restarted.components_, fitted.components_, atol=1e-6)


def test_every_sample_of_a_chunk_is_used_once_and_history_continues(planted):
    # at a learning rate of 1e-10 the parameters barely move, so that each step's mse is
    # that of the final model on its minibatch; minibatches of 100, 100 and the 50 left
    # over cover the chunk exactly once iff sum(mse * size) is the chunk's squared error
    X = planted[0]
    sae = SparseAutoencoder(40, "topk", k=3, batch_size=100, lr=1e-10, dtype="float64",
                            seed=0, progress=False)
    chunks = [X[:250], X[250:350], X[350:380]]
    for chunk in chunks:
        sae.partial_fit(chunk)
    h = sae.history_
    np.testing.assert_array_equal(h.step, np.arange(5))
    assert h.sizes["step"] == 3 + 1 + 1
    assert h.attrs["n_training_samples"] == 380
    assert np.all(np.diff(h.wall_time) >= 0) and h.wall_time[0] > 0
    squared_error = [np.sum((c - sae.reconstruct(c)) ** 2) for c in chunks]
    sizes = np.array([100, 100, 50, 100, 30])
    per_step = h.mse.values * sizes
    assert per_step[:3].sum() == pytest.approx(squared_error[0], rel=1e-6)
    assert per_step[3] == pytest.approx(squared_error[1], rel=1e-6)
    assert per_step[4] == pytest.approx(squared_error[2], rel=1e-6)
    # the first call's decoder bias is the mean of its chunk
    np.testing.assert_allclose(sae.decoder_bias_, X[:250].mean(axis=0), atol=1e-8)


def test_history_of_many_calls_is_built_once_and_as_before(planted, monkeypatch):
    # partial_fit used to concatenate the whole history Dataset on every call (~2.2 ms
    # plus ~0.06 us per step taken: quadratic in a long stream); its rows now wait until
    # history_ is read. Reading it after every call (the old per-call concatenation)
    # and once at the end must give the same Dataset, and the saved one the same file.
    import v1model.sae.autoencoder as autoencoder

    X = planted[0]
    sizes = [130, 64, 1, 200, 77, 64, 300, 5]
    settings = dict(k=3, batch_size=64, dtype="float64", seed=0, progress=False)
    eager, lazy = SparseAutoencoder(40, **settings), SparseAutoencoder(40, **settings)
    concats = []
    concat = xr.concat
    monkeypatch.setattr(autoencoder.xr, "concat", lambda *a, **k: concats.append(1) or
                        concat(*a, **k))
    start, snapshots = 0, []
    for size in sizes:
        chunk = X[start:start + size]
        start += size
        eager.partial_fit(chunk)
        snapshots.append((eager.history_, eager.history_.copy(deep=True)))
        lazy.partial_fit(chunk)
    assert len(concats) == len(sizes)  # eager's reads; none by lazy's calls
    n_steps = sum(-(-size // 64) for size in sizes)  # ceil(size / batch_size) per call
    for model in (eager, lazy):
        h = model.history_
        np.testing.assert_array_equal(h.step, np.arange(n_steps))
        assert h.attrs["n_training_samples"] == sum(sizes)
        assert h.n_dead.dtype == np.int64 and np.all(np.diff(h.wall_time) >= 0)
    assert len(concats) == len(sizes) + 1  # lazy: one concatenation for its eight calls
    _same_training(lazy, eager)
    assert lazy.history_ is lazy.history_  # built once, not on every read
    # a history read earlier is not changed by later calls
    for read, copy in snapshots:
        xr.testing.assert_identical(read, copy)
    first_call = eager.history_.isel(step=slice(0, 3)).assign_attrs(n_training_samples=130)
    for name in ("steps_per_call", "seed_per_call"):  # recorded from the second call on
        del first_call.attrs[name]
    xr.testing.assert_identical(snapshots[0][1], first_call)
    saved = [m.to_dataset().drop_vars("wall_time") for m in (eager, lazy)]
    xr.testing.assert_identical(saved[0], saved[1])


def _piecewise(lr, n_steps, warmup, decay):
    """Reference schedule written as its three pieces."""
    decay_start = n_steps - decay * n_steps
    out = []
    for s in range(n_steps):
        if s < warmup:
            out.append(lr * (s + 1) / warmup)
        elif s >= decay_start:
            out.append(lr * (n_steps - s) / (n_steps - decay_start))
        else:
            out.append(lr)
    return np.array(out)


@pytest.mark.parametrize("warmup, decay", [(5, 0.25), (0, 0.2), (7, 0.0), (0, 0.0), (10, 0.5)])
def test_lr_schedule_is_piecewise_linear(warmup, decay):
    np.testing.assert_allclose(lr_schedule(2e-3, np.arange(20), 20, warmup, decay),
                               _piecewise(2e-3, 20, warmup, decay), rtol=1e-12)


def test_fit_records_and_applies_the_schedule(planted):
    X = planted[0][:500]
    sae = SparseAutoencoder(40, "relu", lam=0.1, n_steps=20, batch_size=100, lr=1e-3,
                            lr_warmup=4, lr_decay=0.2, dtype="float64", seed=0,
                            progress=False).fit(X)
    h = sae.history_
    np.testing.assert_allclose(h.lr, _piecewise(1e-3, 20, 4, 0.2), rtol=1e-12)
    assert h.lr.attrs["units"] == "1 per step"
    assert h.attrs["lr_warmup"] == 4 and h.attrs["lr_decay"] == 0.2
    # Adam's first step moves each bias coordinate by lr_0 * spread * g / (|g| + eps) ~
    # spread * lr / 4: the warm-up rate is the one applied, not only the one recorded
    first = SparseAutoencoder(40, "relu", lam=0.1, batch_size=100, lr=1e-3, lr_warmup=4,
                              dtype="float64", seed=0, progress=False).partial_fit(X[:100])
    spread = np.sqrt(np.var(X[:100], axis=0).mean())  # RMS of X - mean(X)
    np.testing.assert_allclose(np.abs(first.decoder_bias_ - X[:100].mean(axis=0)),
                               spread * 1e-3 / 4, rtol=1e-3)
    assert first.history_.lr.item() == pytest.approx(1e-3 / 4)


def test_partial_fit_follows_the_schedule_over_calls(planted):
    X = planted[0][:300]
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=12, batch_size=100, lr=1e-3,
                            lr_warmup=2, lr_decay=0.5, seed=0, progress=False)
    for _ in range(4):
        sae.partial_fit(X)
    np.testing.assert_allclose(sae.history_.lr, _piecewise(1e-3, 12, 2, 0.5), rtol=1e-6)
    with pytest.raises(ValueError, match=r"X has 300 samples, 3 steps of batch_size=100 after "
                                         r"the 12 taken, past n_steps=12 where lr_decay=0.5"):
        sae.partial_fit(X)
    # without a decay, n_steps does not bound a stream; the rate stays at lr
    sae.lr_decay = 0.0
    sae.partial_fit(X)
    np.testing.assert_allclose(sae.history_.lr[-3:], 1e-3)


@pytest.mark.parametrize("settings, message", [
    (dict(lr_warmup=-1), r"lr_warmup must be >= 0, got -1"),
    (dict(lr_warmup=2.5), r"lr_warmup must be an integer, got 2.5"),
    (dict(lr_decay=1.0), r"lr_decay must be in \[0, 1\) \(a fraction of n_steps\), got 1.0"),
    (dict(lr_decay=-0.1), r"lr_decay must be a non-negative finite number, got -0.1"),
    (dict(lr_warmup=8, lr_decay=0.5), r"lr_warmup=8 steps and lr_decay=0.5 \(the last 6 steps\) "
                                      r"do not fit in n_steps=12"),
])
def test_bad_schedules(planted, settings, message):
    for call in ("fit", "partial_fit"):
        with pytest.raises((ValueError, TypeError), match=message):
            getattr(_model(**settings), call)(planted[0][:300], seed=0)


def test_partial_fit_refuses_what_it_cannot_continue(planted, tmp_path):
    X = planted[0][:300]
    sae = _model().partial_fit(X, seed=0)
    with pytest.raises(ValueError, match=r"X has 10 features per sample \(shape \(300, 10\)\) "
                                         r"but the autoencoder was fitted on 64"):
        sae.partial_fit(X[:, :10])
    sae.n_latents = 50
    with pytest.raises(ValueError, match=r"n_latents=50 but the fitted model has n_latents 80"):
        sae.partial_fit(X)
    sae.n_latents = 80
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "small.nc", training_state=False))
    with pytest.raises(ValueError, match=r"has no training state to continue"):
        loaded.partial_fit(X)
    np.testing.assert_array_equal(loaded.encode(X), sae.encode(X))
    assert sae.history_.sizes["step"] == 3  # the refused calls took no step


def test_a_later_chunk_of_zeros_trains(planted):
    # a fitted model reconstructs 0 as decode(encode(0)), not 0: a chunk of zeros is data
    # to learn from. Before, partial_fit refused it ("every sample is zero; there is
    # nothing to learn from") while it took a chunk of ones
    X = planted[0][:300]
    sae = _model(dtype="float64").partial_fit(X, seed=0)
    x_hat = sae.reconstruct(np.zeros(64))
    sae.partial_fit(np.zeros((150, 64)))
    assert sae.history_.sizes["step"] == 3 + 2
    assert sae.history_.attrs["n_training_samples"] == 450
    # the first step's error is that of the model's own reconstruction of 0
    assert float(sae.history_.mse[3]) == pytest.approx(np.sum(x_hat ** 2), rel=1e-12)


@pytest.mark.parametrize("activation", list(SETTINGS))
def test_saved_model_continues_as_the_unsaved_one(planted, tmp_path, activation):
    X = planted[0][:1000]
    a = _model(activation).partial_fit(X[:500], seed=3)
    b = SparseAutoencoder.load(a.save(tmp_path / "sae.nc"))
    xr.testing.assert_identical(b.history_, a.history_)
    for model in (a, b):
        model.partial_fit(X[500:])  # the same minibatch order: the generator was saved
    np.testing.assert_array_equal(b.components_, a.components_)
    np.testing.assert_array_equal(b.encode(X), a.encode(X))
    _same_training(a, b)
    assert b.history_.wall_time[5] >= a.history_.wall_time[4]
    # the training state is what makes the file bigger
    small = a.save(tmp_path / "small.nc", training_state=False)
    assert small.stat().st_size < 0.7 * (tmp_path / "sae.nc").stat().st_size


def test_files_saved_before_partial_fit_still_load(planted):
    # a Dataset as v1model wrote it before: no training state, no lr in the history,
    # no schedule among the parameters
    sae = _model("batchtopk").fit(planted[0][:500], seed=0)
    ds = sae.to_dataset(training_state=False).drop_vars("lr")
    params = {k: v for k, v in sae.get_params().items() if k not in ("lr_warmup", "lr_decay")}
    ds.attrs["estimator_params"] = json.dumps(params)
    loaded = SparseAutoencoder.from_dataset(ds)
    np.testing.assert_array_equal(loaded.encode(planted[0][:50]), sae.encode(planted[0][:50]))
    np.testing.assert_array_equal(loaded.history_.lr, 3e-3)  # the constant rate it used
    assert loaded.lr_warmup == 0 and loaded.lr_decay == 0.0
    with pytest.raises(ValueError, match="no training state"):
        loaded.partial_fit(planted[0][:500])


def test_memmap_is_read_a_minibatch_at_a_time(tmp_path, peak_memory):
    # 100,000 x 128 float64 on disk (102 MB); a float32 model. Before, fit validated and
    # converted the whole array: a peak of 4x its size in copies.
    n, p = 100_000, 128
    path = tmp_path / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, p))
    rng = np.random.default_rng(0)
    for start in range(0, n, 10_000):
        X[start:start + 10_000] = rng.standard_normal((10_000, p))
    X.flush()
    X = np.load(path, mmap_mode="r")
    settings = dict(n_steps=5, batch_size=256, progress=False)
    reference = SparseAutoencoder(32, k=4, **settings).fit(np.asarray(X[:20_000]), seed=0)
    peaks = {}
    for call, data in (("fit", X), ("partial_fit", X[:50_000])):
        # one measure each: a fit over the 102 MB memmap takes ~1.3 s (the least of three
        # added 5.6 s to the test, 2026-12-07); the bound, a twentieth of X, is twice the
        # 2.5 MB measured
        sae = SparseAutoencoder(32, k=4, **settings)
        peaks[call] = peak_memory(lambda: getattr(sae, call)(data, seed=0), repeats=1,
                                  warm_up=False)[1]
    # measured 2.5 MB (fit: the order of 100,000 rows is 0.8 MB) and 1.2 MB, for 102 MB
    assert max(peaks.values()) < X.nbytes / 20, peaks
    # and the memmap trains as the same rows in memory would
    again = SparseAutoencoder(32, k=4, **settings).fit(X[:20_000], seed=0)
    np.testing.assert_array_equal(again.components_, reference.components_)


def test_a_stream_without_decay_may_warm_up_past_n_steps(planted):
    # "with lr_decay = 0, n_steps does not limit partial_fit" (and n_steps is "used only by
    # lr_decay" there), yet a warm-up longer than n_steps was refused at the first chunk
    X = planted[0][:300]
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=4, batch_size=100, lr=1e-3,
                            lr_warmup=10, seed=0, progress=False)
    for _ in range(4):
        sae.partial_fit(X)  # 12 steps: beyond n_steps=4, still warming up
    steps = np.arange(12)
    np.testing.assert_allclose(sae.history_.lr, 1e-3 * np.minimum(1.0, (steps + 1) / 10),
                               rtol=1e-12)
    # fit runs n_steps: a warm-up that cannot end within them is still refused, as is a
    # stream whose decay must end at n_steps
    with pytest.raises(ValueError, match=r"lr_warmup=10 steps and lr_decay=0.0 \(the last 0 "
                                         r"steps\) do not fit in n_steps=4"):
        SparseAutoencoder(40, "topk", k=3, n_steps=4, batch_size=100, lr_warmup=10,
                          progress=False).fit(X)
    with pytest.raises(ValueError, match=r"lr_warmup=10 steps and lr_decay=0.5"):
        SparseAutoencoder(40, "topk", k=3, n_steps=4, batch_size=100, lr_warmup=10,
                          lr_decay=0.5, progress=False).partial_fit(X)


def test_a_stream_may_start_with_identical_samples(planted):
    # a first chunk of identical samples (a stream's BOS activations) has no spread, as one
    # sample has none: both train at the sample's magnitude (provisional) from the decoder
    # bias at that sample. Before, one sample was taken and three copies of it were refused
    # ("every sample is the same")
    X = planted[0][:300]
    one = _model(dtype="float64").partial_fit(X[:1], seed=0)
    same = _model(dtype="float64").partial_fit(np.repeat(X[:1], 3, axis=0), seed=0)
    for model in (one, same):
        assert model._state.scale == pytest.approx(np.sqrt(np.mean(X[0] ** 2)), rel=1e-12)
        assert np.isnan(model.history_.attrs["x_spread"])
        np.testing.assert_allclose(model.decoder_bias_, X[0], rtol=0, atol=1e-9)
    for name in ("components_", "encoder_", "encoder_bias_"):  # the mean of 3 copies: rounding
        np.testing.assert_allclose(getattr(same, name), getattr(one, name), rtol=0, atol=1e-9,
                                   err_msg=name)
    assert same.partial_fit(X).history_.sizes["step"] == 1 + 3
    assert same.history_.attrs["n_training_samples"] == 303
    ones = _model().partial_fit(np.full((3, 64), 2.0), seed=0)  # spread 0: refused before
    assert ones._state.scale == 2.0 and np.isnan(ones.history_.attrs["x_spread"])
    # and so do samples alike in float32 only (below its resolution): scale 1, not 1e-9
    alike = _model().partial_fit(1 + 1e-9 * np.random.default_rng(1).standard_normal((5, 64)))
    assert alike._state.scale == pytest.approx(1.0, rel=1e-8)
    assert np.isnan(alike.history_.attrs["x_spread"])


@pytest.mark.parametrize("first", ["one sample", "zeros"])
def test_a_stream_without_spread_first_trains_alike_at_any_scale(planted, tmp_path, first):
    # a first chunk without spread (one sample, or zeros) trains at a provisional scale
    # and the first chunk with a spread settles it. Before, one sample kept the stream at
    # scale 1 whatever the size of X (data of 1e-22 in float32: history fvu ~3e35, its
    # biases moved by lr = 1e-3 in the first step) and a first chunk of zeros was refused
    X = planted[0][:1200]
    fvus = {}
    for c in (1.0, 1e-22):
        Xc = (X * c).astype(np.float32)
        head = Xc[:1] if first == "one sample" else np.zeros((5, 64), np.float32)
        sae = _model().partial_fit(head, seed=0)
        assert np.isnan(sae.history_.attrs["x_spread"])
        sae = SparseAutoencoder.load(sae.save(tmp_path / f"head{c}.nc"))  # still unsettled
        for chunk in np.split(Xc[1:1101], 10):
            sae.partial_fit(chunk)
        spread = np.sqrt(np.var(Xc[1:111].astype(np.float64), axis=0).mean())  # numpy's
        assert sae._state.scale == pytest.approx(spread, rel=1e-6)
        assert sae.history_.attrs["x_spread"] == pytest.approx(spread, rel=1e-6)
        fvus[c] = sae.history_.fvu.values
    # the same training at both scales (Fitting c * X gives the model of X), to rounding
    np.testing.assert_allclose(fvus[1e-22], fvus[1.0], rtol=1e-4)
    assert np.mean(fvus[1e-22][-5:]) < 1.0


def _stream_warnings(sae, chunks):
    """The messages of the warnings each ``partial_fit`` call of ``chunks`` raised."""
    import warnings

    per_call = []
    for chunk in chunks:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sae.partial_fit(chunk)
        per_call.append([str(w.message) for w in caught])
    return per_call


def test_a_stream_gets_fits_end_of_training_warnings_once_per_n_steps(planted):
    # a JumpReLU stream from theta_init "auto" gates nothing, as the same fit does (which
    # says so): partial_fit ran none of fit's checks (58 of 128 latents active after 1,000
    # steps, no word); now the call that passes n_steps steps in all warns, the others not
    X = planted[0][:2000]
    sae = SparseAutoencoder(48, "jumprelu", lam=0.05, n_steps=100, batch_size=100, lr=3e-3,
                            seed=0, progress=False)
    per_call = _stream_warnings(sae, [X[:1000]] * 12)  # 10 steps per call
    assert [len(messages) for messages in per_call] == [0] * 9 + [1] + [0] * 2
    assert per_call[9][0].startswith("activation='jumprelu': the median threshold ended "
                                     "below 0.01 times the spread of X")
    # the same rule as fit's, on the stream's steps: a fit of as many steps warns alike
    fit = SparseAutoencoder(48, "jumprelu", lam=0.05, n_steps=100, batch_size=100, lr=3e-3,
                            seed=0, progress=False)
    with pytest.warns(UserWarning, match="the median threshold ended below 0.01 times"):
        fit.fit(X[:1000])
    # a stream that stops between two checks is checked on request (all 120 steps)
    with pytest.warns(UserWarning, match=r"active on average over the last 30 steps"):
        assert sae.check_training() is sae


def test_check_training_is_silent_for_a_healthy_stream_and_refuses_an_unfitted_model(planted):
    import warnings

    sae = _model("topk", n_steps=20, seed=0)
    per_call = _stream_warnings(sae, [planted[0][:1000]] * 3)
    assert per_call == [[], [], []]  # the check ran in the second call, and found nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sae.check_training()
    with pytest.raises(ValueError, match="not fitted yet"):
        _model("topk").check_training()


def test_check_training_counts_the_steps_at_the_rate_set_not_the_decayed_last_one(planted):
    # after lr_decay the last step's rate is lr / (lr_decay * n_steps): check_training
    # took it, and on the history of a fit asked for 92,093 more steps at lr=5e-05 where
    # the fit itself said 4,605 at lr=0.001 (the same rule: log(0.1 spread / theta) / lr)
    import math
    import re

    X = planted[0][:500]
    sae = SparseAutoencoder(24, "jumprelu", lam=0.05, n_steps=10, batch_size=50, lr=1e-3,
                            lr_decay=0.5, seed=0, progress=False)
    with pytest.warns(UserWarning, match="the median threshold ended below") as fitted:
        sae.fit(X)
    with pytest.warns(UserWarning, match="the median threshold ended below") as checked:
        sae.check_training()
    assert sae.history_["lr"].values[-1] == pytest.approx(1e-3 / 5)  # decayed to 1/5
    theta = float(np.exp(np.median(sae._params["log_theta"])))
    expected = math.ceil(math.log(0.1 * sae.history_.attrs["x_spread"] / theta) / 1e-3)
    for record in (fitted, checked):
        message = str(record[0].message)
        assert "about lr=0.001 per step" in message
        steps = int(re.search(r"takes at least ([\d,]+) more steps", message)[1]
                    .replace(",", ""))
        assert steps == expected
