"""Bad input fails at once, with a message that names the argument and the value."""

import warnings

import numpy as np
import pytest

from v1model.learning import NotFittedError
from v1model.sae import SparseAutoencoder

X = np.random.default_rng(0).standard_normal((300, 8))


def _fit(X=X, **settings):
    settings = {"n_steps": 2, "batch_size": 50, "progress": False, "k": 2, **settings}
    return SparseAutoencoder(settings.pop("n_latents", 16), **settings).fit(X, seed=0)


@pytest.mark.parametrize("settings, error, message", [
    (dict(activation="gelu"), ValueError,
     r"activation must be one of 'relu', 'topk', 'batchtopk', 'jumprelu', 'mp'; got 'gelu'"),
    (dict(k=17), ValueError, r"k=17 exceeds n_latents=16"),
    (dict(activation="mp", k=20), ValueError, r"k=20 exceeds n_latents=16"),
    (dict(k=0), ValueError, r"k must be >= 1, got 0"),
    (dict(k=None), ValueError, r"activation='topk' needs k"),
    (dict(k=2.5), TypeError, r"k must be an integer, got 2.5"),
    (dict(activation="relu", lam=-0.1), ValueError,
     r"lam must be a non-negative finite number, got -0.1"),
    (dict(activation="jumprelu", lam=None), ValueError, r"activation='jumprelu' needs lam"),
    (dict(activation="relu", lam=np.inf), ValueError, r"lam must be a non-negative finite"),
    (dict(n_latents=0), ValueError, r"n_latents must be >= 1, got 0"),
    (dict(lr=0), ValueError, r"lr must be a positive finite number, got 0"),
    (dict(batch_size=301), ValueError,
     r"X has 300 samples, fewer than batch_size=301"),
    (dict(dtype="float16"), ValueError, r"dtype must be float32 or float64"),
    (dict(activation="jumprelu", lam=0.1, bandwidth=0), ValueError, r"bandwidth must be"),
    (dict(activation="batchtopk", threshold_rate=1.5), ValueError,
     r"threshold_rate must be in \(0, 1\), got 1.5"),
])
def test_bad_settings(settings, error, message):
    with pytest.raises(error, match=message):
        _fit(**settings)


def test_non_finite_data():
    bad = X.copy()
    bad[3, 2] = np.nan
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"X contains 2 non-finite value\(s\)"):
        _fit(bad)


@pytest.mark.parametrize("data, message", [
    (X[:, 0], r"X must have 2 dimensions \(n_samples, n_features\), got 1"),
    (X[None], r"X must have 2 dimensions \(n_samples, n_features\), got 3"),
])
def test_wrong_data_shape(data, message):
    with pytest.raises(ValueError, match=message):
        _fit(data)


def test_encode_before_fit():
    sae = SparseAutoencoder(16, k=2)
    for call in (lambda: sae.encode(X), lambda: sae.decode(np.zeros((1, 16))),
                 lambda: sae.components_, lambda: sae.history_, lambda: sae.save("x.nc")):
        with pytest.raises(NotFittedError, match="not fitted yet; call 'fit' first"):
            call()


def test_wrong_shapes_after_fit():
    sae = _fit()
    with pytest.raises(ValueError, match=r"X has 5 features per sample \(shape \(3, 5\)\) but "
                                         r"the autoencoder was fitted on 8"):
        sae.encode(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"Z has 4 latents per sample .* has 16"):
        sae.decode(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"X contains 1 non-finite"):
        sae.encode(np.r_[np.nan, np.zeros(7)])
    # one sample (n_features,) is promoted to (1, n_features)
    assert sae.encode(X[0]).shape == (1, 16)


def test_divergence_is_reported():
    # fit refuses an lr this large (below); the loop's own guard, on the same setting
    from v1model.sae.objective import Objective
    from v1model.sae.training import TrainingState, initial_parameters, train

    rng = np.random.default_rng(0)
    Xf = (X * 1e3).astype(np.float32)
    params = initial_parameters(Xf, 16, "relu", 1e-3, rng, np.float32)
    batches = (Xf[i * 50:(i + 1) * 50] for i in range(5))
    with np.errstate(all="ignore"), pytest.raises(
            FloatingPointError, match=r"training diverged at step 1: loss nan; lower lr "
                                      r"\(now 1e\+30\)"):
        list(train(params, batches, Objective("relu", lam=0.1), TrainingState(params, rng),
                   lrs=np.full(5, 1e30), k_aux=4, aux_coef=0.0, dead_after=1000,
                   threshold_rate=0.01))


def test_values_are_checked_in_blocks_without_a_copy():
    from v1model.learning._data import _BLOCK_ELEMENTS, check_training_data, check_training_rows

    # 3.5 blocks of rows, a non-finite value in the first and in the last block
    n_rows = 7 * _BLOCK_ELEMENTS // (2 * 8)
    big = np.ones((n_rows, 8), dtype=np.float32)
    assert check_training_rows(big) is big
    big[0, 0] = np.nan
    big[-1, -1] = np.inf
    big[-2, :] = np.nan
    for check in (check_training_rows, check_training_data):
        with pytest.raises(ValueError, match=r"X contains 10 non-finite value\(s\)"):
            check(big)
    big[:] = 0
    with pytest.raises(ValueError, match="every sample is zero"):
        check_training_rows(big)
    big[-1, 3] = 1e30  # in the last block: the range check sees every block
    with pytest.raises(ValueError, match=r"values up to 1e\+30 overflow float32"):
        check_training_rows(big)
    # integers keep their dtype (each minibatch is converted when it is read)
    assert check_training_rows(np.arange(6).reshape(3, 2)).dtype.kind == "i"


@pytest.mark.parametrize("activation, settings", [("topk", dict(k=2)), ("mp", dict(k=2)),
                                                  ("relu", dict(lam=1e-4))])
def test_a_step_larger_than_the_spread_of_X_is_refused(activation, settings):
    # Adam moves b_enc and b_dec by up to lr per step: with data 1e-4 the former default lr of
    # 1e-3 left the FVU at ~1 (nothing learned) and MP's at 1.4e7, without a word
    spread = np.sqrt(np.var(X * 1e-4, axis=0).mean())  # the RMS of X - mean(X), by numpy
    with pytest.raises(ValueError, match=rf"lr=0.001 exceeds the spread of X \(root mean "
                                         rf"square of X - mean\(X\): {spread:.3g}\).*rescale X"):
        _fit(X * 1e-4, activation=activation, lr=1e-3, **settings)
    # at lr below the spread the same data train (and a rescaled copy gives the same FVU)
    small = _fit(X * 1e-4, activation=activation, lr=5e-5, **settings)
    assert np.all(np.isfinite(small.history_["fvu"].values))
    with pytest.raises(ValueError, match="every sample is the same"):
        _fit(np.ones((300, 8)) * 3.0, activation=activation, **settings)


def test_partial_fit_checks_the_first_chunk_and_refuses_steps_cleanly():
    # the first chunk sets the scale as fit's X does (a one-sample chunk has no spread)
    with pytest.raises(ValueError, match=r"lr=0.001 exceeds the spread of X"):
        SparseAutoencoder(16, k=2, batch_size=50, lr=1e-3, progress=False).partial_fit(X * 1e-5)
    one = SparseAutoencoder(16, k=2, batch_size=50, progress=False).partial_fit(X[:1], seed=0)
    assert one.partial_fit(X).history_.sizes["step"] == 7
    # a chunk whose squared gradients overflow is refused before any update: the model
    # and its Adam state stay as they were and continue on the next chunk
    sae = SparseAutoencoder(16, k=2, batch_size=50, progress=False).partial_fit(X, seed=0)
    before = {name: p.copy() for name, p in sae._params.items()}
    with pytest.raises(FloatingPointError, match=r"training stopped at step 6: Adam: the "
                                                 r"squared gradient .*; lower lr \(now 0.001\) "
                                                 r"or rescale X"):
        sae.partial_fit(X * 1e12)
    assert sae._state.n_steps == 6 and sae.history_.sizes["step"] == 6
    for name, p in sae._params.items():
        np.testing.assert_array_equal(p, before[name], err_msg=name)
    assert sae.partial_fit(X).history_.sizes["step"] == 12


def test_squared_gradients_beyond_float32_stop_training():
    # X of 1e12 passes the float32 range check of its squared norms (8e24), but the
    # decoder's gradient (~X^2) squared does not: Adam's second moment overflowed and
    # every step was 0 (the decoder frozen at its random start, silently)
    with pytest.raises(FloatingPointError, match=r"training stopped at step 0: Adam: the "
                                                 r"squared gradient of '\w+' overflows float32"
                                                 r".*; rescale X.* or use dtype='float64'"):
        _fit(X * 1e12, dtype="float32")
    sae = _fit(X * 1e12, dtype="float64")  # the same data in float64 train
    assert np.all(np.isfinite(sae.components_))


def test_encode_and_decode_refuse_what_overflows_the_dtype():
    sae = _fit(activation="relu", lam=0.1, k=None)
    with pytest.raises(ValueError, match=r"X has values up to [\d.]+e\+300, beyond the range "
                                         r"of float32"):
        sae.encode(X[:3] * 1e300)
    with pytest.raises(ValueError, match=r"Z: the reconstructions overflow float32"):
        with np.errstate(over="ignore"):
            sae.decode(np.full((2, 16), 1e38))


def test_default_k_aux_and_k_equal_to_n_latents(planted):
    X = planted[0][:300]  # 64 features
    # k_aux defaults to n_features / 2 (Gao et al. 2024)
    sae = SparseAutoencoder(16, "topk", k=16, n_steps=2, batch_size=100, seed=0,
                            progress=False).fit(X)
    assert sae.history_.attrs["k_aux"] == 32
    # k = n_latents is allowed: TopK keeps every positive pre-activation (a ReLU)
    pre = (X.astype(np.float32) - sae.decoder_bias_) @ sae.encoder_.T + sae.encoder_bias_
    np.testing.assert_allclose(sae.encode(X), np.maximum(pre, 0), rtol=1e-6, atol=1e-6)


def test_exactly_batch_size_samples_and_decode_by_hand():
    # fit needs at least batch_size samples: exactly that many is enough
    sae = _fit(X[:50], batch_size=50)
    # decode is Z D + b_dec; reconstruct is decode(encode(X))
    Z = np.random.default_rng(5).uniform(0, 2, (4, 16)).astype(np.float32)
    D, b = sae.components_, sae.decoder_bias_
    assert np.abs(b).max() > 0.05  # the bias is not negligible
    np.testing.assert_allclose(sae.decode(Z), Z @ D + b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sae.decode(np.zeros(16)), b[None], rtol=0, atol=0)
    np.testing.assert_allclose(sae.reconstruct(X[:5]), sae.encode(X[:5]) @ D + b, rtol=1e-6,
                               atol=1e-6)


def _loss(sae, X, lam=0.0):
    """Mean over samples of ||x - x_hat||^2 + lam * sum(z), by numpy from the codes."""
    Z = sae.encode(X).astype(np.float64)
    residual = X - Z @ sae.components_ - sae.decoder_bias_
    return np.mean(np.sum(residual ** 2, axis=1)) + lam * np.mean(Z.sum(axis=1))


@pytest.mark.parametrize("activation, settings, factor", [
    # measured loss ratios after 200 steps: 0.66, 0.11 and 0.37 (flat from 200 to 500
    # steps: the biases adapt, the unit-norm decoder moves by ~3e-6 per step)
    ("topk", dict(k=3), 0.8), ("relu", dict(lam=0.05e-4), 0.2), ("mp", dict(k=3), 0.5)])
def test_auto_lr_trains_data_of_small_spread(planted, activation, settings, factor):
    X = planted[0][:2000] * 1e-4
    spread = np.sqrt(np.var(X, axis=0).mean())  # RMS of X - mean(X), by numpy: ~3.3e-5
    common = dict(batch_size=100, dtype="float64", seed=0, progress=False, **settings)
    with pytest.raises(ValueError, match=rf"lr=0.001 exceeds the spread of X \(root mean "
                                         rf"square of X - mean\(X\): {spread:.3g}\)"):
        SparseAutoencoder(96, activation, n_steps=200, lr=1e-3, **common).fit(X)
    # lr="auto" trains it, and says the weights move slowly at that rate
    with pytest.warns(UserWarning, match=rf"X has a spread of {spread:.3g} .* lr='auto' is "
                                         rf"{0.1 * spread:.3g}.* rescale X to unit spread"):
        sae = SparseAutoencoder(96, activation, n_steps=200, **common).fit(X)
    h = sae.history_
    assert h.attrs["lr"] == pytest.approx(0.1 * spread, rel=1e-10)
    assert h.attrs["x_spread"] == pytest.approx(spread, rel=1e-10)
    np.testing.assert_allclose(h.lr, 0.1 * spread, rtol=1e-10)
    # the loss on all of X against that of the start (one step of 1e-9 of the spread)
    start = SparseAutoencoder(96, activation, n_steps=1, lr=1e-9 * spread, **common).fit(X)
    lam = settings.get("lam", 0.0)
    assert _loss(sae, X, lam) < factor * _loss(start, X, lam)


def test_auto_lr_is_the_former_default_on_unit_scale_data(planted, tmp_path):
    X = planted[0][:1000]  # spread 0.33: 0.1 * spread > 1e-3
    settings = dict(k=3, n_steps=20, batch_size=100, seed=0, progress=False)
    auto = SparseAutoencoder(40, **settings).fit(X)
    explicit = SparseAutoencoder(40, lr=1e-3, **settings).fit(X)
    assert auto.lr == "auto" and auto.history_.attrs["lr"] == 1e-3
    np.testing.assert_array_equal(auto.history_.lr, 1e-3)
    np.testing.assert_array_equal(auto.components_, explicit.components_)
    np.testing.assert_array_equal(auto.encode(X), explicit.encode(X))
    with pytest.raises(ValueError, match=r"lr must be a positive float or 'auto', got 'fast'"):
        SparseAutoencoder(40, lr="fast", **settings).fit(X)
    # partial_fit: resolved against the first chunk, in the later calls too, after a reload
    small = X * 1e-4
    first = np.sqrt(np.var(small[:300], axis=0).mean())
    stream = SparseAutoencoder(40, k=3, batch_size=100, seed=0, progress=False)
    with pytest.warns(UserWarning, match="rescale X to unit spread"):
        stream.partial_fit(small[:300])
    stream = SparseAutoencoder.load(stream.save(tmp_path / "auto.nc"))
    assert stream.lr == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, by the first chunk
        stream.partial_fit(small[300:] * 10)  # a later chunk's spread does not change it
    np.testing.assert_allclose(stream.history_.lr, 0.1 * first, rtol=1e-10)
    assert stream.history_.sizes["step"] == 3 + 7
    # a first chunk of one sample has no spread: 1e-3
    one = SparseAutoencoder(40, k=3, batch_size=100, seed=0, progress=False).partial_fit(X[:1])
    assert one.history_.attrs["lr"] == 1e-3 and np.isnan(one.history_.attrs["x_spread"])
    assert float(one.partial_fit(X[:200]).history_.lr[-1]) == 1e-3
