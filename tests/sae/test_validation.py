"""Bad input fails at once, with a message that names the argument and the value."""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from v1model.learning import NotFittedError
from v1model.sae import SparseAutoencoder

X = np.random.default_rng(0).standard_normal((300, 8))


def _fit(X=X, **settings):
    settings = {"n_steps": 2, "batch_size": 50, "progress": False, **settings}
    if settings.get("activation") not in ("relu", "jumprelu"):  # k is refused by these
        settings = {"k": 2, **settings}
    return SparseAutoencoder(settings.pop("n_latents", 16), **settings).fit(X, seed=0)


@pytest.mark.parametrize("settings, error, message", [
    (dict(activation="gelu"), ValueError,
     r"activation must be one of 'relu', 'topk', 'batchtopk', 'jumprelu', 'mp'; got 'gelu'"),
    (dict(k=17), ValueError, r"^k=17 exceeds n_latents=16: a sample cannot have more "
                             r"active latents than there are latents$"),
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


@pytest.mark.parametrize("activation, setting, value", [
    ("relu", "k", 5), ("jumprelu", "k", 5),
    ("topk", "lam", 0.1), ("batchtopk", "lam", 0.1), ("mp", "lam", 0.1),
    # settings with a default, refused when given another value
    ("relu", "aux_coef", 0.5), ("jumprelu", "aux_coef", 0.0), ("mp", "aux_coef", 1.0),
    ("topk", "threshold_rate", 0.05), ("relu", "threshold_rate", 0.05),
    ("topk", "bandwidth", 0.05), ("batchtopk", "theta_init", 0.1), ("mp", "bandwidth", 0.05),
])
def test_a_setting_the_activation_ignores_is_refused(activation, setting, value):
    # SparseAutoencoder(32, "relu", k=5) fitted silently, its k ignored and kept in
    # get_params as if it had counted; so did SparseAutoencoder(16, "relu", lam=0.1,
    # aux_coef=0.5) (relu has no AuxK loss), its history recording aux_coef=0.5
    needed = {"lam": 0.1} if activation in ("relu", "jumprelu") else {"k": 2}
    sae = SparseAutoencoder(16, activation, **needed, **{setting: value}, n_steps=2,
                            batch_size=50, progress=False)
    expected = rf"^{setting}={value!r} does not apply to activation={activation!r}: "
    for call in (sae.fit, sae.partial_fit):
        with pytest.raises(ValueError, match=expected):
            call(X, seed=0)
    # nothing was trained, and a grid that switches the activation alone is refused too
    assert not hasattr(sae, "components_")
    sae = SparseAutoencoder(16, "relu", lam=0.1, n_steps=2, batch_size=50, progress=False)
    sae.set_params(activation="topk", k=2)
    with pytest.raises(ValueError, match=r"^lam=0.1 does not apply to activation='topk'"):
        sae.fit(X, seed=0)
    sae.set_params(lam=None).fit(X, seed=0)  # dropping it fits
    assert int((sae.encode(X) != 0).sum(axis=1).max()) == 2


@pytest.mark.parametrize("activation, setting, value, needed", [
    ("relu", "k", 5, {"lam": 0.1}), ("topk", "lam", 0.1, {"k": 2}),
    # without fitted_objective a relu file with k_aux was refused by load itself
    ("relu", "k_aux", 4, {"lam": 0.1}), ("relu", "aux_coef", 0.5, {"lam": 0.1}),
    ("topk", "bandwidth", 0.05, {"k": 2}), ("topk", "threshold_rate", 0.05, {"k": 2}),
])
@pytest.mark.parametrize("with_objective", [True, False])
def test_a_saved_model_with_a_setting_its_activation_ignored_still_loads(
        activation, setting, value, needed, with_objective):
    """Models saved before such settings were refused kept them in estimator_params (and
    files older still have no fitted_objective, so load re-validates the parameters):
    they did not count then: the model loads, codes as it coded, keeps the setting as saved
    (as the model in memory kept it), and its next fit refuses it by name, saying how to
    clear it (a loaded relu file with k_aux was told only "it has no AuxK loss", not
    set_params(k_aux=None)): the hint, applied as it reads, lets the model train on."""
    import ast
    import json

    sae = SparseAutoencoder(16, activation, **needed, n_steps=2, batch_size=50,
                            progress=False).fit(X, seed=0)
    ds = sae.to_dataset()
    params = json.loads(ds.attrs["estimator_params"])
    params[setting] = value
    ds.attrs["estimator_params"] = json.dumps(params)
    if not with_objective:
        del ds.attrs["fitted_objective"]
    loaded = SparseAutoencoder.from_dataset(ds)
    assert getattr(loaded, setting) == value
    np.testing.assert_array_equal(loaded.encode(X), sae.encode(X))
    with pytest.raises(ValueError, match=rf"^{setting}={value!r} does not apply to "
                                         rf"activation") as refused:
        loaded.partial_fit(X)
    hint = re.search(r"; (?:leave \w+ at its default: )?set_params\((\w+)=(.+)\) before "
                     r"fitting$", str(refused.value))
    assert hint is not None and hint[1] == setting, str(refused.value)
    loaded.set_params(**{setting: ast.literal_eval(hint[2])}).partial_fit(X)
    assert loaded.history_.sizes["step"] == 2 + 6  # 300 samples in minibatches of 50


@pytest.mark.filterwarnings("ignore:activation='jumprelu'")  # 2 steps: thresholds near 0
@pytest.mark.parametrize("activation, terms", [
    ("relu", " + lam * sum z (L1)"), ("jumprelu", " + lam * ||z||_0 (L0)"),
    ("mp", " (no sparsity term: k sets the active latents)"),
    ("topk", " (no sparsity term: k sets the active latents) + aux_coef * AuxK loss"),
    ("batchtopk", " (no sparsity term: k sets the active latents) + aux_coef * AuxK loss"),
])
def test_the_loss_definition_names_only_the_terms_the_activation_trains_with(activation,
                                                                             terms):
    # every activation's text ended "+ aux_coef * AuxK loss", relu's, jumprelu's and mp's
    # too, which have no AuxK loss (aux_coef is refused by them)
    needed = {"lam": 0.1} if activation in ("relu", "jumprelu") else {}
    history = _fit(activation=activation, **needed).history_
    assert history.attrs["loss_definition"] == "mean over samples of ||x - x_hat||^2" + terms
    if "AuxK" not in terms:  # the recorded loss has no such term
        assert not history["aux_loss"].values.any()
    if activation == "mp":  # nor a sparsity term: the loss is the squared error
        np.testing.assert_allclose(history["loss"], history["mse"], rtol=1e-12)
    if activation == "relu":  # lam * sum z > 0 on top of it
        assert (history["loss"] > history["mse"]).all()


def test_non_finite_data():
    bad = X.copy()
    bad[3, 2] = np.nan
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"X contains 2 non-finite value\(s\)"):
        _fit(bad)


@pytest.mark.filterwarnings("ignore:activation='jumprelu'")  # 2 steps: thresholds near 0
@pytest.mark.parametrize("activation, given", [
    ("relu", dict(aux_coef=np.float32(1 / 32), threshold_rate=0.01)),
    ("jumprelu", dict(aux_coef=1 / 32)), ("topk", dict(bandwidth="auto", theta_init="auto")),
])
def test_an_unused_setting_at_its_default_is_no_setting(activation, given):
    # the default given explicitly (np.float32(1/32) is 1/32) changes nothing: not refused
    needed = {"lam": 0.1} if activation in ("relu", "jumprelu") else {"k": 2}
    SparseAutoencoder(16, activation, **needed, **given, n_steps=2, batch_size=50,
                      progress=False).fit(X, seed=0)


@pytest.mark.filterwarnings("ignore:activation='jumprelu'")  # 3 steps: thresholds near 0
# a first chunk of zeros keeps no positive activation: no BatchTopK threshold after it
@pytest.mark.filterwarnings("ignore:batchtopk. no training batch so far")
@pytest.mark.parametrize("activation, needed, unused", [
    ("relu", {"lam": 0.1}, ("k", "k_aux", "aux_coef", "threshold_rate", "bandwidth",
                            "theta_init")),
    ("topk", {"k": 2}, ("lam", "threshold_rate", "bandwidth", "theta_init")),
    ("batchtopk", {"k": 2}, ("lam", "bandwidth", "theta_init")),
    ("jumprelu", {"lam": 0.1}, ("k", "k_aux", "aux_coef", "threshold_rate")),
])
def test_the_records_say_none_for_the_settings_the_activation_did_not_use(
        activation, needed, unused):
    # a topk history recorded bandwidth and theta_init 1e-3 times the spread (resolved
    # from "auto" for a JumpReLU it was not) and lam 0.0, a relu's k_aux 4 and aux_coef
    # 1/32; evaluate's attrs said lam 0.0 for a topk (read: unpenalised) and did not
    # give the threshold a batchtopk model encoded with
    sae = SparseAutoencoder(16, activation, **needed, n_steps=3, batch_size=50,
                            progress=False).fit(X, seed=0)
    attrs = sae.history_.attrs
    assert {name: attrs[name] for name in unused} == dict.fromkeys(unused, "None")
    used = {"k_aux": 4, "aux_coef": 1 / 32, "threshold_rate": 0.01}
    for name in set(used) - set(unused):
        assert attrs[name] == used[name], name
    if activation == "jumprelu":  # "auto": 1e-3 times the spread of X
        spread = np.sqrt(((X - X.mean(axis=0)) ** 2).mean())  # root mean square
        np.testing.assert_allclose(attrs["bandwidth"], 1e-3 * spread, rtol=1e-6)
    evaluated = sae.evaluate(X).attrs
    assert evaluated["lam"] == needed.get("lam", "None")
    if activation == "batchtopk":  # the codes are those of this threshold
        assert evaluated["threshold"] == sae.threshold_ > 0
        codes = sae.encode(X)
        pre = ((X.astype(np.float32) - sae.decoder_bias_) @ sae.encoder_.T
               + sae.encoder_bias_)
        np.testing.assert_array_equal(codes, np.where(pre > evaluated["threshold"], pre, 0))
    else:
        assert "threshold" not in evaluated
    # per-call records of a stream list no setting the activation does not use
    stream = SparseAutoencoder(16, activation, **needed, batch_size=50, progress=False)
    stream.partial_fit(X[:100], seed=0).set_params(batch_size=25).partial_fit(X[:100])
    per_call = {key for key in stream.history_.attrs if key.endswith("_per_call")}
    assert "batch_size_per_call" in per_call
    assert not per_call & {f"{name}_per_call" for name in unused}
    # nor when a later chunk settles the scale of a stream that started with zeros
    late = SparseAutoencoder(16, activation, **needed, batch_size=50, progress=False)
    late.partial_fit(np.zeros((10, 8)), seed=0).partial_fit(X[:100])
    assert {name: late.history_.attrs[name] for name in unused} == dict.fromkeys(unused, "None")


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


def test_lr_above_one_and_data_without_spread_are_refused():
    # lr is the step of the unit-norm decoder rows (the biases: lr * spread of X)
    with pytest.raises(ValueError, match=r"lr=1.5 is above 1: Adam would move the unit-norm "
                                         r"decoder rows by more than their norm"):
        _fit(lr=1.5)
    assert _fit(lr=1.0).history_.attrs["lr"] == 1.0
    for activation, settings in (("topk", dict(k=2)), ("mp", dict(k=2)),
                                 ("relu", dict(lam=1e-4))):
        with pytest.raises(ValueError, match="every sample is the same"):
            _fit(np.ones((300, 8)) * 3.0, activation=activation, **settings)


def test_samples_alike_in_the_model_dtype_are_refused():
    # 1 + 1e-9 noise has a spread of 1.0e-9 in float64, but every sample is 1.0 in float32:
    # before, fit trained on constant batches without a word (history_.fvu NaN at every step)
    noisy = 1 + 1e-9 * np.random.default_rng(1).standard_normal((300, 8))
    with pytest.raises(ValueError, match=r"X: its samples differ by less than the resolution "
                                         r"of float32 \(spread 1e-09 around values up to 1\)"
                                         r".*use dtype='float64' or centre X"):
        _fit(noisy)
    # float64 resolves it, and so does float32 once X is centred
    for model in (_fit(noisy, dtype="float64"), _fit(noisy - noisy.mean(axis=0))):
        assert np.all(np.isfinite(model.history_.fvu))
        assert model.history_.attrs["x_spread"] == pytest.approx(1.004e-9, rel=1e-3)
    # identical samples whose mean is inexact in float64 measure a spread of 3.4e-15 (a
    # rounding error): before, fit trained at that scale instead of refusing them
    with pytest.raises(ValueError, match="every sample is the same"):
        _fit(np.repeat(X[:1], 300, axis=0))


def test_partial_fit_takes_its_scale_from_the_first_chunk_and_refuses_steps_cleanly():
    # the first chunk sets the scale as fit's X does (a one-sample chunk has none: its
    # magnitude, until the next chunk settles it at that chunk's spread)
    small = SparseAutoencoder(16, k=2, batch_size=50, lr=1e-3, progress=False)
    small.partial_fit(X * 1e-5, seed=0)
    spread = np.sqrt(np.var(X * 1e-5, axis=0).mean())  # RMS of X - mean(X), by numpy
    assert small._state.scale == pytest.approx(spread, rel=1e-6)
    assert small.history_.attrs["x_spread"] == pytest.approx(spread, rel=1e-6)
    one = SparseAutoencoder(16, k=2, batch_size=50, progress=False).partial_fit(X[:1], seed=0)
    assert one._state.scale == pytest.approx(np.sqrt(np.mean(X[0] ** 2)), rel=1e-12)
    assert np.isnan(one.history_.attrs["x_spread"])
    assert one.partial_fit(X).history_.sizes["step"] == 7
    assert one._state.scale == pytest.approx(np.sqrt(np.var(X, axis=0).mean()), rel=1e-6)
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


def test_data_near_the_float32_range_train_in_float32():
    # the gradients are divided by the spread squared before Adam squares them: X of 1e14
    # (squared norms ~1e30, inside the range check) trains in float32 as X does. Before,
    # X of 1e12 stopped (the decoder gradient ~X^2, squared, overflowed float32)
    big = _fit(X * 1e14, dtype="float32", n_steps=5)
    unit = _fit(X, dtype="float32", n_steps=5)
    np.testing.assert_allclose(big.components_, unit.components_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(big.decoder_bias_ / 1e14, unit.decoder_bias_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(big.history_.fvu, unit.history_.fvu, rtol=1e-4)


@pytest.mark.parametrize("dtype, c", [("float32", 1e-20), ("float64", 1e-155)])
def test_data_near_the_smallest_safe_values_train_as_unit_data(dtype, c):
    # X of 1e-20 (float32) or 1e-155 (float64) passes the range check (smallest safe
    # values 1.1e-23 and 1.5e-158) and trains as X does. Before, the weights' gradient
    # factor 1 / spread**2 (1e40, beyond float32; inf in float64) made every gradient
    # inf at step 0: "the gradient of 'decoder' is not finite (it overflowed ...)"
    small = _fit(X * c, dtype=dtype, n_steps=5)
    unit = _fit(X, dtype=dtype, n_steps=5)
    np.testing.assert_allclose(small.components_, unit.components_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(small.decoder_bias_ / c, unit.decoder_bias_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(small.history_.fvu, unit.history_.fvu, rtol=1e-4)


@pytest.mark.parametrize("activation, settings", [("topk", dict(k=3)), ("relu", dict(lam=0.05))])
def test_tiny_float32_data_learn_as_unit_data(planted_factory, activation, settings):
    # float32 data of 1e-22 (above the smallest safe value, 1.1e-23): the weights' gradients
    # of the loss (~X^2, 1e-44) were subnormal before they were divided by the spread
    # squared, and lost their precision: held-out FVU after 200 steps 0.124 (TopK) and 0.452
    # (ReLU) against 0.038 and 0.037 at unit scale. The gradients are now those of the loss
    # times a power of two ~1 / spread: the FVU is the unit-scale one (measured: equal to
    # 4e-8, relative; exactly equal for a power-of-two scale)
    X = planted_factory(n_samples=3000, n_features=32, n_atoms=48, k=3)[0]
    train, held_out = X[:2500], X[2500:]
    fvus = {}
    for c in (1.0, 1e-22):
        scaled = {name: value * c if name == "lam" else value for name, value in settings.items()}
        sae = SparseAutoencoder(64, activation, n_steps=200, batch_size=128, lr=3e-3, seed=0,
                                progress=False, **scaled).fit(train * c)
        R = sae.reconstruct(held_out * c).astype(np.float64) / c
        fvus[c] = np.sum((held_out - R) ** 2) / np.sum((held_out - held_out.mean(axis=0)) ** 2)
    assert fvus[1.0] < 0.05
    assert fvus[1e-22] == pytest.approx(fvus[1.0], rel=1e-4)


def test_masked_arrays_are_refused_not_read_without_their_mask(monkeypatch):
    # np.asarray drops the mask: the masked value (1e30 here) was encoded as a number
    from v1model.inference import encode
    from v1model.sae import autoencoder

    sae = _fit()
    masked = np.ma.masked_array(X.copy(), mask=np.zeros(X.shape, bool))
    masked.data[4, 3] = 1e30
    masked[4, 3] = np.ma.masked
    message = (r"X is a masked array with 1 masked value\(s\), the first at index \(4, 3\); "
               r"masks are not used .* fill them \(X.filled\(value\)\)")
    for call in (lambda: _fit(masked), lambda: _fit().partial_fit(masked),
                 lambda: sae.encode(masked), lambda: sae.encode(masked, sparse=True),
                 lambda: sae.reconstruct(masked),
                 # the rest of the package refuses them alike (v1model.validation.check_array)
                 lambda: encode(masked, sae.components_, method="fista", lam=0.1)):
        with pytest.raises(ValueError, match=message):
            call()
    Z = np.ma.masked_array(np.zeros((2, 16)), mask=np.eye(2, 16, dtype=bool))
    with pytest.raises(ValueError, match=r"Z is a masked array with 2 masked value\(s\), the "
                                         r"first at index \(0, 0\)"):
        sae.decode(Z)
    # read in blocks (X larger than a block): the whole mask is checked, its own indices
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 16 * 100)  # 100 rows a block
    late = np.ma.masked_array(X.copy(), mask=np.zeros(X.shape, bool))
    late[250, 1] = np.ma.masked
    with pytest.raises(ValueError, match=r"^X is a masked array with 1 masked value\(s\), "
                                         r"the first at index \(250, 1\)"):
        sae.encode(late)
    # nothing masked: an array like any other
    np.testing.assert_array_equal(sae.encode(np.ma.masked_array(X)), sae.encode(X))


@pytest.mark.parametrize("kind", ["csr_matrix", "coo_array"])
def test_sparse_inputs_say_what_to_pass_instead(kind):
    # encode and reconstruct said "X must be a numeric array, got <Compressed Sparse Row
    # sparse matrix of dtype 'float64' w...", cut off before saying what to do
    import scipy.sparse as sp

    sae = _fit()
    Xs = getattr(sp, kind)(X)
    message = (rf"^X is a sparse matrix \({kind}, shape \(300, 8\)\); a dense array is "
               r"needed: pass X.toarray\(\)$")
    for call in (lambda: _fit(Xs), lambda: _fit().partial_fit(Xs), lambda: sae.encode(Xs),
                 lambda: sae.reconstruct(Xs)):
        with pytest.raises(TypeError, match=message):
            call()


def test_a_sparse_z_is_read_as_the_dense_one():
    import scipy.sparse as sp

    sae = _fit()
    z = np.zeros(16)
    z[[2, 9]] = [1.5, 0.25]
    # one sample (n_latents,): a 1-D sparse array failed with IndexError
    np.testing.assert_array_equal(sae.decode(sp.csr_array(z)), sae.decode(z))
    np.testing.assert_allclose(sae.decode(sp.coo_array(z))[0],
                               1.5 * sae.components_[2] + 0.25 * sae.components_[9]
                               + sae.decoder_bias_, rtol=1e-6)
    # complex codes: refused as a dense Z is (the imaginary parts were dropped with a
    # ComplexWarning)
    with pytest.raises(TypeError, match=r"Z must be real, got complex values"):
        sae.decode(sp.csr_matrix(z * 1j))


def test_empty_inputs_are_refused_alike():
    # 0 samples are refused by encode, decode, reconstruct, and by v1model.inference.encode
    # and the dictionary learners' transform. Before, decode of an empty sparse Z (e.g.
    # encode(X[:0], sparse=True) of a stream) returned a (0, n_features) array
    import re

    import scipy.sparse as sp

    from v1model.inference import encode

    sae = _fit()
    D = sae.components_.astype(np.float64)
    for call, name, shape in [
            (lambda: encode(np.zeros((0, 8)), D, method="fista", lam=0.1), "X", (0, 8)),
            (lambda: sae.encode(np.zeros((0, 8))), "X", (0, 8)),
            (lambda: sae.encode(np.zeros((0, 8)), sparse=True), "X", (0, 8)),
            (lambda: sae.reconstruct(np.zeros((0, 8))), "X", (0, 8)),
            (lambda: sae.decode(np.zeros((0, 16))), "Z", (0, 16)),
            (lambda: sae.decode(sp.csr_matrix((0, 16))), "Z", (0, 16)),
            (lambda: sae.decode(sp.coo_array((0, 16), dtype=np.float64)), "Z", (0, 16))]:
        with pytest.raises(ValueError, match=re.escape(f"{name} must not be empty, got shape "
                                                       f"{shape}")):
            call()
    # a sparse Z of samples without any non-zero latent is not empty: b_dec for each
    np.testing.assert_array_equal(sae.decode(sp.csr_matrix((2, 16))),
                                  np.repeat(sae.decoder_bias_[None], 2, axis=0))


def test_encode_and_decode_refuse_what_overflows_the_dtype():
    import scipy.sparse as sp

    sae = _fit(activation="relu", lam=0.1, k=None)
    with pytest.raises(ValueError, match=r"X has values up to [\d.]+e\+300, beyond the range "
                                         r"of float32"):
        sae.encode(X[:3] * 1e300)
    # values within float32 whose products overflow: one error naming the argument and its
    # largest value, and no NumPy RuntimeWarning before it (decode printed "overflow
    # encountered in matmul" first, encode and reconstruct too)
    huge = np.full((2, 16), 1e38, np.float32)  # 16 * 1e38 > 3.4e38
    for call, message in [
            (lambda: sae.decode(huge), (r"Z: the reconstructions overflow float32 \(Z has "
                                        r"values up to 1e\+38, largest float32 3.4e\+38\)")),
            (lambda: sae.decode(sp.csr_matrix(huge)), (r"Z: the reconstructions overflow "
                                                       r"float32 \(Z has values up to 1e\+38")),
            # a sparse Z beyond float32 itself: its cast warned, and the infs it made were
            # reported as non-finite values of Z
            (lambda: sae.decode(sp.csr_matrix(np.full((1, 16), 1e40))),
             r"Z has values up to 1e\+40, beyond the range of float32"),
            (lambda: sae.encode(np.full((2, 8), 3e38, np.float32)),
             r"X: the latents overflow float32 \(X has values up to 3e\+38"),
            (lambda: sae.encode(np.full((2, 8), 3e38, np.float32), sparse=True),
             r"X: the latents overflow float32 \(X has values up to 3e\+38"),
            (lambda: sae.reconstruct(np.full((2, 8), 1e38, np.float32)),
             r"X: the (latents|reconstructions) overflow float32 \(X has values up to 1e\+38")]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=message):
                call()
    # pre-activations of inf - inf are NaN, which the activations turn into zero latents:
    # an overflow that left finite (all-zero) codes is refused too, not only a non-finite
    # result (here: b_dec 0 and encoder rows of +2 and -2 on 3e38 in every feature: each
    # product overflows alone, so inf - inf in any order; with +1 and -1 an AMD EPYC's
    # kernel paired the terms and summed an exact, correct 0)
    ds = sae.to_dataset()
    ds["b_dec"][:] = 0.0
    ds["encoder"][:] = np.array([2, 2, 2, 2, -2, -2, -2, -2], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"X: the latents overflow float32 \(X has values "
                                             r"up to 3e\+38"):
            SparseAutoencoder.from_dataset(ds).encode(np.full((1, 8), 3e38, np.float32))


def test_default_k_aux_and_k_equal_to_n_latents(planted):
    X = planted[0][:300]  # 64 features
    # k_aux defaults to n_features / 2 (Gao et al. 2024), and to n_latents when fewer:
    # 32 of 16 latents trained as 16 and was recorded as 32
    sae = SparseAutoencoder(16, "topk", k=16, n_steps=2, batch_size=100, seed=0,
                            progress=False).fit(X)
    assert sae.history_.attrs["k_aux"] == 16
    wide = SparseAutoencoder(40, "topk", k=3, n_steps=2, batch_size=100, seed=0,
                             progress=False).fit(X)
    assert wide.history_.attrs["k_aux"] == 32
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


@pytest.mark.parametrize("activation, settings", [
    ("topk", dict(k=3)), ("batchtopk", dict(k=3)), ("relu", dict(lam=0.1)),
    ("jumprelu", dict(lam=0.05, theta_init=0.1, bandwidth=0.05)), ("mp", dict(k=3))])
@pytest.mark.parametrize("c", [1e-6, 1e3])
def test_training_is_the_same_at_any_scale_of_the_data(planted, activation, settings, c):
    # fitting c X, with lam (L1: units of X; L0: X^2), theta_init and bandwidth (units of
    # the pre-activations, X) scaled alike, is fitting X in other units: the same decoder,
    # biases and codes times c, the same FVU. Before, lr="auto" was a tenth of the spread
    # of small data, for the weights too: on this problem scaled by 1e-6 the FVU after 400
    # steps was 0.051 (TopK) / 0.110 (ReLU, JumpReLU) against 0.013 / 0.047 / 0.055
    X = planted[0][:1000]
    scaled = dict(settings)
    if activation == "relu":
        scaled["lam"] = settings["lam"] * c
    if activation == "jumprelu":
        scaled.update(lam=settings["lam"] * c * c, theta_init=settings["theta_init"] * c,
                      bandwidth=settings["bandwidth"] * c)
    common = dict(n_steps=60, batch_size=100, lr=3e-3, dtype="float64", seed=0, progress=False)
    unit = SparseAutoencoder(48, activation, **common, **settings).fit(X)
    other = SparseAutoencoder(48, activation, **common, **scaled).fit(X * c)
    np.testing.assert_allclose(other.components_, unit.components_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(other.decoder_bias_ / c, unit.decoder_bias_, rtol=0, atol=1e-9)
    if activation != "mp":
        np.testing.assert_allclose(other.encoder_, unit.encoder_, rtol=0, atol=1e-9)
        np.testing.assert_allclose(other.encoder_bias_ / c, unit.encoder_bias_, rtol=0,
                                   atol=1e-9)
    np.testing.assert_allclose(other.encode(X[:200] * c) / c, unit.encode(X[:200]), rtol=0,
                               atol=1e-8)
    np.testing.assert_allclose(other.history_.fvu, unit.history_.fvu, rtol=1e-8)
    np.testing.assert_allclose(other.history_.loss / c ** 2, unit.history_.loss, rtol=1e-8)
    # and training does train: the FVU falls from the start's (to 0.36-0.88x in 60 steps)
    assert float(unit.history_.fvu[-10:].mean()) < 0.9 * float(unit.history_.fvu[0])


def test_auto_lr_and_the_scale_of_a_stream(planted, tmp_path):
    X = planted[0][:1000]
    settings = dict(k=3, n_steps=20, batch_size=100, seed=0, progress=False)
    auto = SparseAutoencoder(40, **settings).fit(X)
    explicit = SparseAutoencoder(40, lr=1e-3, **settings).fit(X)
    assert auto.lr == "auto" and auto.history_.attrs["lr"] == 1e-3
    np.testing.assert_array_equal(auto.history_.lr, 1e-3)
    np.testing.assert_array_equal(auto.components_, explicit.components_)
    np.testing.assert_array_equal(auto.encode(X), explicit.encode(X))
    with pytest.raises(ValueError, match=r"lr must be a positive float or 'auto', got 'fast'"):
        SparseAutoencoder(40, lr="fast", **settings).fit(X)
    # the biases move at lr * spread: Adam's first step is lr * sign(g) for the weights,
    # lr * spread * sign(g) for b_dec (which starts at the mean)
    small = X * 1e-4
    spread = np.sqrt(np.var(small[:300], axis=0).mean())  # RMS of X - mean(X), by numpy
    first = SparseAutoencoder(40, k=3, batch_size=300, seed=0, progress=False,
                              dtype="float64").partial_fit(small[:300])
    np.testing.assert_allclose(np.abs(first.decoder_bias_ - small[:300].mean(axis=0)),
                               1e-3 * spread, rtol=1e-4)  # eps: 1e-8 of |g| / spread ~ 1
    # partial_fit: the scale of the first chunk, in the later calls too, after a reload
    stream = SparseAutoencoder(40, k=3, batch_size=100, seed=0, progress=False)
    stream.partial_fit(small[:300])
    stream = SparseAutoencoder.load(stream.save(tmp_path / "auto.nc"))
    assert stream.lr == "auto" and stream._state.scale == pytest.approx(spread, rel=1e-6)
    stream.partial_fit(small[300:] * 10)  # a later chunk's spread does not change it
    assert stream._state.scale == pytest.approx(spread, rel=1e-6)
    np.testing.assert_array_equal(stream.history_.lr, 1e-3)
    assert stream.history_.sizes["step"] == 3 + 7
    # a first chunk of one sample has no spread: its magnitude, provisionally
    one = SparseAutoencoder(40, k=3, batch_size=100, seed=0, progress=False).partial_fit(X[:1])
    assert one.history_.attrs["lr"] == 1e-3 and np.isnan(one.history_.attrs["x_spread"])
    assert one._state.scale == pytest.approx(np.sqrt(np.mean(X[0] ** 2)), rel=1e-12)
    assert float(one.partial_fit(X[:200]).history_.lr[-1]) == 1e-3


def test_a_file_with_the_moments_of_unscaled_gradients_continues_alike(planted):
    # files saved before the gradients were made scale-free hold Adam moments of the raw
    # gradients (no attrs["adam_gradient_scale"]): loading rescales them, so the model
    # continues as the one saved today does
    X = planted[0][:600] * 1e-3
    sae = SparseAutoencoder(40, "relu", lam=1e-4, batch_size=100, dtype="float64", seed=0,
                            progress=False).partial_fit(X[:300])
    ds = sae.to_dataset()
    old = ds.copy()
    del old.attrs["adam_gradient_scale"]
    s = sae._state.scale
    for name in sae._params:
        power = 1 if name in ("b_enc", "b_dec") else 2
        old["adam_m_" + name] = ds["adam_m_" + name] * s ** power
        old["adam_v_" + name] = ds["adam_v_" + name] * s ** (2 * power)
    today = SparseAutoencoder.from_dataset(ds).partial_fit(X[300:])
    legacy = SparseAutoencoder.from_dataset(old).partial_fit(X[300:])
    np.testing.assert_allclose(legacy.components_, today.components_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(legacy.decoder_bias_, today.decoder_bias_, rtol=1e-10)
    # and a file without the adjustment would not: the raw moments are 1e3-1e6 off
    wrong = old.copy()
    wrong.attrs["adam_gradient_scale"] = s
    off = SparseAutoencoder.from_dataset(wrong).partial_fit(X[300:])
    assert np.abs(off.components_ - today.components_).max() > 1e-4


def test_jumprelu_defaults_follow_the_scale_of_the_data(planted):
    # bandwidth and theta_init "auto" are 1e-3 of the spread: with them, c X trains as X
    # with only lam (units of X^2) scaled. A fixed 1e-3 silenced every latent of data of
    # spread ~3e-5 (the thresholds 30 times the data)
    X = planted[0][:1000]
    common = dict(n_steps=40, batch_size=100, lr=3e-3, dtype="float64", seed=0,
                  progress=False)
    # 40 steps do not move thresholds that start at 1e-3 of the spread: fit says so
    ungated = r"the median threshold ended below 0.01 times the spread of X"
    with pytest.warns(UserWarning, match=ungated):
        unit = SparseAutoencoder(48, "jumprelu", lam=0.05, **common).fit(X)
    with pytest.warns(UserWarning, match=ungated):
        small = SparseAutoencoder(48, "jumprelu", lam=0.05 * 1e-8, **common).fit(X * 1e-4)
    spread = np.sqrt(np.var(X, axis=0).mean())
    np.testing.assert_allclose(unit.history_.attrs["theta_init"], 1e-3 * spread, rtol=1e-6)
    np.testing.assert_allclose(small.history_.attrs["bandwidth"], 1e-7 * spread, rtol=1e-6)
    np.testing.assert_allclose(small.components_, unit.components_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(small.threshold_ / 1e-4, unit.threshold_, rtol=1e-6)
    assert float(small.history_.l0[-1]) > 0
    assert unit.get_params()["theta_init"] == "auto"
    with pytest.raises(ValueError, match=r"bandwidth must be a positive float or 'auto', "
                                         r"got 'wide'"):
        SparseAutoencoder(48, "jumprelu", lam=0.05, bandwidth="wide", **common).fit(X)


@pytest.mark.parametrize("settings, error, message", [
    (dict(activation="topkk", k=2), ValueError, r"activation must be one of .*; got 'topkk'"),
    (dict(activation="topk"), ValueError, r"activation='topk' needs k, got k=None"),
    (dict(activation="topk", k=0), ValueError, r"k must be >= 1, got 0"),
    (dict(activation="batchtopk", k=2.5), TypeError, r"k must be an integer, got 2.5"),
    (dict(activation="relu", lam=np.nan), ValueError, r"lam must be a non-negative finite"),
    (dict(activation="relu", lam=-1.0), ValueError, r"lam must be a non-negative finite"),
    (dict(activation="jumprelu", lam=0.1, bandwidth=0.0), ValueError,
     r"bandwidth must be a positive finite number, got 0.0"),
])
def test_objective_refuses_bad_settings(settings, error, message):
    # the public Objective took any value: a typo of the activation, k=0 or lam=NaN
    # failed later inside numpy (argpartition's "kth out of bounds") or gave NaN losses
    from v1model.sae import Objective

    with pytest.raises(error, match=message):
        Objective(**settings)


def test_objective_accepts_numpy_scalars():
    from v1model.sae import Objective

    objective = Objective("topk", k=np.int64(3), lam=np.float32(0.0))
    assert objective.k == 3 and type(objective.k) is int and objective.lam == 0.0


def test_huge_n_steps_is_refused_by_name():
    """NumPy's "Unable to allocate 7.28 TiB" (the learning rates of 10**12 steps) named no
    argument; the history holds 9 float64 values per step (7.2e13 bytes)."""
    with pytest.raises(ValueError, match=r"^n_steps=1000000000000 history rows \(float64\) "
                                         r"would take 7\.2e\+13 bytes .* more than the"):
        _fit(n_steps=10**12)


def test_huge_n_latents_is_refused_by_name():
    """NumPy's "Unable to allocate 5.82 TiB" (the float64 draw of the decoder) named no
    argument; the weights and their two Adam moments are 6 float32 arrays of 8 features
    per latent (192 bytes; mp: the decoder alone, 96), in fit and a stream's first chunk."""
    with pytest.raises(ValueError, match=r"^n_latents=100000000000 latents of 8 features \(6 "
                                         r"arrays: the weights and their Adam moments, "
                                         r"float32\) would take 1\.92e\+13 bytes .* more than"):
        _fit(n_latents=10**11)
    with pytest.raises(ValueError, match=r"^n_latents=100000000000 latents of 8 features \(3 "
                                         r"arrays: .* would take 9\.6e\+12 bytes"):
        SparseAutoencoder(10**11, "mp", k=2, progress=False).partial_fit(X)


def test_a_training_step_larger_than_memory_is_refused_by_batch_size(monkeypatch, peak_memory):
    """Only the weights and their Adam moments were checked (196 kB here): a step's
    (batch, latents) arrays (pre-activations, latents, masks, argpartition's int64
    indices, gradients, AuxK's copies), 2.6 MB as tracemalloc measures this fit, went
    unchecked (32,768 latents in batches of 4,096: 5.4 GB beside 0.6 GB of weights),
    left to the out-of-memory killer after training had started."""
    import v1model.validation

    Xs = np.random.default_rng(0).standard_normal((512, 16)).astype(np.float32)
    settings = dict(n_steps=2, batch_size=256, progress=False, k=4)
    # the warm-up call compiles before measuring
    _, peak = peak_memory(lambda: SparseAutoencoder(512, **settings).fit(Xs, seed=0))
    weights_and_moments = 6 * 512 * 16 * 4
    assert peak > 10 * weights_and_moments
    memory = 0.9 * peak  # less than this fit used: refused before anything is made
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: memory)
    # 11 weight-sized float32 arrays of 512 x 16, and per sample 31 bytes per latent
    # (with AuxK) and 36 per feature
    fixed, per_sample = 11 * 4 * 512 * 16, 31 * 512 + 36 * 16
    fit = int((memory - fixed) // per_sample)
    message = (rf"^batch_size=256 samples per training step of 512 topk latents on 16 features "
               rf"\(float32: 1\.645e\+04 bytes per sample, besides 3\.604e\+05 bytes of "
               rf"weights, their gradients and Adam moments\) would take 4\.571e\+06 bytes "
               rf".* more than the .* GiB of memory this process may use \(at most {fit} would "
               rf"fit\)$")
    with pytest.raises(ValueError, match=message):
        SparseAutoencoder(512, **settings).fit(Xs, seed=0)
    sae = SparseAutoencoder(512, **settings)
    with pytest.raises(ValueError, match=message):
        sae.partial_fit(Xs, seed=0)
    assert not hasattr(sae, "_params")  # the model untouched
    # the batch size the message offers trains
    SparseAutoencoder(512, **{**settings, "batch_size": fit}).fit(Xs, seed=0)


def test_a_dense_encode_larger_than_memory_is_refused_before_encoding(monkeypatch):
    """encode(X) of 200,000 rows into 16,384 latents is 13 GB: numpy's MemoryError came
    after the first block was encoded and named no argument (a swapping machine may not
    raise at all); sparse=True, which holds only the non-zeros, still encodes."""
    import v1model.validation

    sae = _fit(n_latents=64)
    calls = []
    monkeypatch.setattr(sae, "_encode_block", lambda *a: calls.append(1) or 1 / 0)
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**16)
    with pytest.raises(ValueError, match=r"^len\(X\)=300 samples' dense latents \(64 float32 "
                                         r"each; sparse=True keeps only the non-zeros\) would "
                                         r"take 7\.68e\+04 bytes .*\(at most 256 would fit\)"):
        sae.encode(X)
    assert calls == []  # refused before any block
    monkeypatch.undo()
    assert sae.encode(X, sparse=True).shape == (300, 64)


@pytest.mark.parametrize("activation", ["topk", "mp"])
def test_a_sparse_encode_beyond_k_per_row_in_memory_is_refused_before_encoding(
        monkeypatch, activation):
    """encode(X, sparse=True) had no memory check (the dense result has one): refused by
    its upper bound of k non-zeros per sample, a value and a column index each, before any
    block; where that bound fits, it encodes while the dense result is refused."""
    import v1model.validation

    sae = _fit(n_latents=64, activation=activation)
    calls = []
    encode_block = sae._encode_block
    monkeypatch.setattr(sae, "_encode_block", lambda *a: calls.append(1) or encode_block(*a))
    # 300 rows x 2 non-zeros x (4 + 4) bytes + 301 row pointers x 4 = 6,004 bytes
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 6000.0)
    with pytest.raises(ValueError, match=r"^len\(X\)=300 samples' sparse latents \(at most "
                                         r"k=2 non-zeros each, float32 and their column "
                                         r"indices\) would take 6004 bytes .*\(at most 299 "
                                         r"would fit\); encode a slice of the rows at a time$"):
        sae.encode(X, sparse=True)
    assert calls == []  # refused before any block
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 6004.0)
    Z = sae.encode(X, sparse=True)
    assert Z.nnz <= 600
    with pytest.raises(ValueError, match=r"^len\(X\)=300 samples' dense latents"):
        sae.encode(X)


def test_a_sparse_encode_of_dense_codes_is_refused_after_the_first_block(monkeypatch):
    """A ReLU early in training codes about half its latents non-zero: a CSR of them
    (8 bytes per non-zero in float32) outgrew memory partway through, where the dense
    result had a named refusal. The rows of the first block predict the whole, which is
    refused before the arrays grow to it; rows that fit encode as before."""
    import scipy.sparse as sp

    import v1model.sae.autoencoder as autoencoder
    import v1model.validation

    sae = _fit(n_latents=64, activation="relu", lam=1e-4)
    calls = []
    encode_block = sae._encode_block
    monkeypatch.setattr(sae, "_encode_block", lambda *a: calls.append(1) or encode_block(*a))
    monkeypatch.setattr(autoencoder, "ENCODE_BLOCK_ELEMENTS", 64 * 100)  # 100 rows a block
    dense = sae.encode(X)
    per_row = np.count_nonzero(dense[:100]) / 100
    assert per_row > 16  # dense codes: the case at stake
    needed = 300 * per_row * 1.01 * 8 + 301 * 4
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 0.9 * needed)
    calls.clear()
    with pytest.raises(ValueError, match=rf"^len\(X\)=300 samples' sparse latents "
                                         rf"\({per_row:.4g} non-zeros each of 64 latents over "
                                         rf"the first 100 rows, float32 and their column "
                                         rf"indices\) would take .* more than the .* GiB of "
                                         rf"memory this process may use \(at most 2\d\d would "
                                         rf"fit\); encode a slice of the rows at a time$"):
        sae.encode(X, sparse=True)
    assert calls == [1]  # refused after the first block, not partway through the last
    Z = sae.encode(X[:200], sparse=True)  # a slice that fits
    np.testing.assert_array_equal(Z.toarray(), dense[:200])
    assert isinstance(Z, sp.csr_matrix)


def test_a_bad_sparse_z_is_reported_as_the_dense_one():
    # a NaN was placed by its rank among the stored non-zeros ("index 1"), and complex
    # codes were described as the 1-D array of the non-zeros, not as Z
    import re

    import scipy.sparse as sp

    sae = _fit()
    z = np.zeros((2, 16))
    z[1, 5] = 1
    z[1, 9] = np.inf
    z[1, 7] = np.nan
    message = r"^Z contains 2 non-finite value\(s\) \(NaN or inf\), the first at index \(1, 7\)"
    for Z in (z, sp.csr_matrix(z), sp.coo_array(z)):
        with pytest.raises(ValueError, match=message):
            sae.decode(Z)
    with pytest.raises(ValueError, match=r"the first at index 7 \(nan\)"):  # one sample
        sae.decode(sp.coo_array(z[1]))
    from v1model.validation import ComplexDataError

    # the exception a dense complex Z gets (check_array's), not a plain TypeError
    with pytest.raises(ComplexDataError, match=re.escape(
            "Z must be real, got complex values (sparse csr_matrix of shape (1, 16) and "
            "dtype complex128)")):
        sae.decode(sp.csr_matrix(np.ones((1, 16)) * 1j))
    with pytest.raises(ComplexDataError):
        sae.decode(np.ones((1, 16)) * 1j)


DATA = Path(os.environ["V1MODEL_SHARED_DATA"]) / "olshausen" / "images"  # set by conftest.py


def test_a_handful_of_rows_dominating_the_energy_is_warned_at_fit(planted_factory):
    """10 of 20,000 planted rows scaled x100 hold 82% of the energy: the SAE learned
    those rows (atom recovery 0.89 -> 0.00) while its FVE read 0.986, without a word.
    Ordinary data stay silent: the top 0.1% of rows hold 0.1-3% of the energy of the
    planted data, Gaussian and Student-t3 data and whitened image patches."""
    X, _, _ = planted_factory(20000, 256, 512, 8, 0.01, seed=0)
    heavy = X.copy()
    heavy[:10] *= 100
    sae = dict(n_latents=512, k=8, n_steps=1, batch_size=256, progress=False, seed=1)
    with pytest.warns(UserWarning, match=re.escape(
            "X: the top 0.1% of its 20000 rows by squared norm (20 rows) hold 82% of its "
            "energy: training fits them and learns little of the other rows") + ".*"
            + re.escape("clip or normalise the rows (e.g. X / np.linalg.norm(X, axis=1, "
                        "keepdims=True)) before fitting")):
        SparseAutoencoder(**sae).fit(heavy)
    rng = np.random.default_rng(0)
    ordinary = [X, planted_factory()[0], rng.standard_normal((20000, 256)),
                rng.standard_t(3, (20000, 256))]
    if DATA.is_dir():  # the real whitened images (skipped where they are absent)
        from stimuli.images import sample_patches

        images = np.stack([np.fromfile(DATA / f"image{i}", dtype=">f4").reshape(512, 512)
                           for i in range(10)]).astype(np.float64)
        ordinary.append(sample_patches(images, 16, 20000, seed=0).reshape(20000, -1))
    for data in ordinary:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            SparseAutoencoder(**{**sae, "n_latents": 2 * data.shape[1]}).fit(data)


HEAVY_MESSAGE = re.escape("X: the top 0.1% of its 20000 rows by squared norm (20 rows) hold "
                          "82% of its energy: training fits them")


def test_a_chunk_with_heavy_rows_is_warned_at_partial_fit(planted_factory):
    # partial_fit trained on such chunks without a word, where fit warned of the same X
    X, _, _ = planted_factory(20000, 256, 512, 8, 0.01, seed=0)
    heavy = X.copy()
    heavy[:10] *= 100
    sae = SparseAutoencoder(512, k=8, batch_size=4096, progress=False, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sae.partial_fit(X)  # an ordinary first chunk
    with pytest.warns(UserWarning, match=HEAVY_MESSAGE):
        sae.partial_fit(heavy)  # a later one
    fresh = SparseAutoencoder(512, k=8, batch_size=4096, progress=False, seed=1)
    with pytest.warns(UserWarning, match=HEAVY_MESSAGE):
        fresh.partial_fit(heavy)
    untouched = SparseAutoencoder(512, k=8, batch_size=4096, progress=False, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match=HEAVY_MESSAGE):
            untouched.partial_fit(heavy)
    with pytest.raises(NotFittedError):  # the warning, as an error, came before any change
        untouched.encode(X[:1])


def test_one_row_x1000_among_1000_is_warned_of():
    # one corrupted row dominates the loss as a handful does: it must stay warned of
    X = np.random.default_rng(0).standard_normal((1000, 16))
    X[7] *= 1000
    with pytest.warns(UserWarning, match=r"X: the top 0\.1% of its 1000 rows by squared "
                                         r"norm \(1 rows\) hold 100% of its energy"):
        SparseAutoencoder(32, k=3, n_steps=1, batch_size=100, progress=False, seed=0).fit(X)


def test_fit_and_encode_read_a_dataarray_by_dim_name():
    # X (feature, sample), square, was read by position: trained on and coded its transpose
    import xarray as xr

    rng = np.random.default_rng(0)
    X16 = rng.standard_normal((16, 16))
    Xd = xr.DataArray(X16, dims=("sample", "feature")).transpose("feature", "sample")
    settings = dict(k=2, n_steps=20, batch_size=8, progress=False)
    ref = SparseAutoencoder(8, **settings).fit(X16, seed=0)
    sae = SparseAutoencoder(8, **settings).fit(Xd, seed=0)
    np.testing.assert_array_equal(sae.encode(X16), ref.encode(X16))
    np.testing.assert_array_equal(ref.encode(Xd), ref.encode(X16))


def test_a_model_whose_training_step_fits_at_no_batch_size_is_refused_by_n_latents(
        monkeypatch):
    """Weights and Adam moments that fit (6 weight-sized arrays, 196,608 bytes here) but
    not a step's 11 at any batch size (360,448 bytes) were refused by batch_size ("at most
    0 would fit"): no batch size trains such a model; the message names n_latents and the
    latents that would fit."""
    import v1model.validation

    X = np.random.default_rng(0).standard_normal((512, 16)).astype(np.float32)
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 300_000.0)
    fixed = 11 * 4 * 512 * 16  # float32 weights, gradients, moments and temporaries
    message = (rf"^n_latents=512 latents of 16 features \(float32: the weights, their "
               rf"gradients and Adam moments and a training step's weight-sized temporaries, "
               rf"at any batch_size\) would take 3\.604e\+05 bytes .* \(at most "
               rf"{300_000 // (fixed // 512)} would fit\)$")
    for call in (lambda sae: sae.fit(X, seed=0), lambda sae: sae.partial_fit(X, seed=0)):
        with pytest.raises(ValueError, match=message):
            call(SparseAutoencoder(512, n_steps=2, batch_size=256, k=4, progress=False))


def test_partial_fit_checks_the_memory_of_the_steps_its_chunk_makes(monkeypatch):
    """A chunk shorter than batch_size is one step of its rows: partial_fit checked a
    step of batch_size (4,096 here) and refused a chunk of 300 rows whose step fits; a
    chunk whose step does not fit is still refused, naming len(X), before any work."""
    import v1model.validation
    from v1model.sae.training import training_memory

    fixed, per_sample = training_memory(1, 512, 16, "topk", np.float32, auxk=True)
    memory = fixed + 1000 * per_sample  # a step of 1,000 samples fits, of 1,001 not
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: memory)
    settings = dict(n_steps=2, batch_size=4096, k=4, progress=False)
    rng = np.random.default_rng(0)
    sae = SparseAutoencoder(512, **settings).partial_fit(
        rng.standard_normal((300, 16)).astype(np.float32), seed=0)
    assert sae.history_.sizes["step"] == 1  # one step of the 300 rows
    big = SparseAutoencoder(512, **settings)
    with pytest.raises(ValueError, match=r"^len\(X\)=1001 samples per training step of 512 "
                                         r"topk latents .* \(at most 1000 would fit\); "):
        big.partial_fit(rng.standard_normal((1001, 16)).astype(np.float32), seed=0)
    assert not hasattr(big, "_params")  # the model untouched
    # a chunk of at least batch_size rows is checked by batch_size, as fit is
    monkeypatch.setattr(v1model.validation, "physical_memory",
                        lambda: fixed + 100 * per_sample)
    with pytest.raises(ValueError, match=r"^batch_size=4096 samples per training step"):
        big.partial_fit(rng.standard_normal((5000, 16)).astype(np.float32), seed=0)


def test_partial_fit_refusing_its_chunk_says_that_a_smaller_chunk_or_batch_size_fits(
        monkeypatch):
    """The refusal naming len(X) said "at most 1000 would fit" and no more: that the
    chunk can be split, or batch_size lowered (a chunk then trains in steps of
    batch_size). Both mend it, as the message says."""
    import v1model.validation
    from v1model.sae.training import training_memory

    fixed, per_sample = training_memory(1, 512, 16, "topk", np.float32, auxk=True)
    memory = fixed + 1000 * per_sample  # a step of 1,000 samples fits, of 1,001 not
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: memory)
    settings = dict(n_steps=4, k=4, progress=False)
    X = np.random.default_rng(0).standard_normal((1001, 16)).astype(np.float32)
    with pytest.raises(ValueError, match=r"\(at most 1000 would fit\); split X into chunks "
                                         r"of at most 1000 rows, or lower batch_size=4096 "
                                         r"to at most 1000 \(a chunk is trained in steps of "
                                         r"batch_size rows\)$"):
        SparseAutoencoder(512, batch_size=4096, **settings).partial_fit(X, seed=0)
    split = SparseAutoencoder(512, batch_size=4096, **settings)
    split.partial_fit(X[:1000], seed=0).partial_fit(X[1000:])
    assert split.history_.sizes["step"] == 2  # one step per chunk
    lowered = SparseAutoencoder(512, batch_size=1000, **settings).partial_fit(X, seed=0)
    assert lowered.history_.sizes["step"] == 2  # steps of 1,000 and 1 rows


@pytest.mark.parametrize("activation", ["topk", "batchtopk"])
def test_a_k_aux_above_n_latents_is_refused(activation):
    """k_aux=100 of 32 latents trained as k_aux=32 (AuxK takes at most every dead latent)
    and was recorded as 100; k_aux = n_latents is the largest that counts."""
    sae = SparseAutoencoder(32, activation, k=2, k_aux=100, n_steps=2, batch_size=50,
                            progress=False)
    message = (r"^k_aux=100 is above n_latents=32: AuxK keeps the k_aux largest "
               r"pre-activations of the dead latents, at most all 32, so it would train as "
               r"k_aux=32; give k_aux <= 32$")
    for call in (sae.fit, sae.partial_fit):
        with pytest.raises(ValueError, match=message):
            call(X, seed=0)
    assert not hasattr(sae, "_params")
    sae.set_params(k_aux=32).fit(X, seed=0)
    assert sae.history_.attrs["k_aux"] == 32


@pytest.mark.parametrize("activation, needed", [
    ("relu", dict(lam=0.1)), ("jumprelu", dict(lam=0.1)), ("mp", dict(k=2))])
def test_k_aux_is_refused_by_the_activations_without_auxk(activation, needed):
    # SparseAutoencoder(16, "relu", lam=0.1, k_aux=4) trained without AuxK, k_aux recorded
    sae = SparseAutoencoder(16, activation, **needed, k_aux=4, n_steps=2, batch_size=50,
                            progress=False)
    with pytest.raises(ValueError, match=rf"^k_aux=4 does not apply to activation="
                                         rf"'{activation}': it has no AuxK loss"):
        sae.fit(X, seed=0)


_COUNTS = dict(n_latents=16, k=3, k_aux=4, dead_after=500, n_steps=2, batch_size=50,
               lr_warmup=1)


@pytest.mark.parametrize("kind", [float, np.float32, np.int64])
def test_integral_counts_are_kept_as_python_ints(tmp_path, kind):
    """SparseAutoencoder(32.0, k=np.float32(3)) kept the floats in get_params, the repr and
    the saved file (a loaded model said n_latents=32.0); integral numbers are taken, as
    check_int takes them, and kept as ints, through set_params and a save too."""
    from sklearn.base import clone

    given = {name: kind(value) for name, value in _COUNTS.items()}
    sae = SparseAutoencoder(**given, progress=False)
    params = sae.get_params()
    for name, value in _COUNTS.items():
        assert type(params[name]) is int and params[name] == value, name
    assert repr(sae) == "SparseAutoencoder(16, 'topk', k=3)"
    assert clone(sae).get_params() == params  # clone's identity check holds
    sae.set_params(**{name: kind(value + 1) for name, value in _COUNTS.items()})
    assert all(type(sae.get_params()[name]) is int for name in _COUNTS)
    sae.set_params(**given)
    loaded = SparseAutoencoder.load(sae.fit(X, seed=0).save(tmp_path / "sae.nc"))
    assert {name: type(value) for name, value in loaded.get_params().items()
            if name in _COUNTS} == dict.fromkeys(_COUNTS, int)
    assert loaded.get_params() == {**params, "seed": 0}  # fit's seed made the weights


@pytest.mark.parametrize("name", list(_COUNTS))
def test_non_integral_counts_are_refused_by_name(name):
    settings = {**_COUNTS, name: 3.5, "progress": False}
    sae = SparseAutoencoder(**settings)
    assert getattr(sae, name) == 3.5  # stored as given, refused where fit checks it
    with pytest.raises(TypeError, match=rf"^{name} must be an integer, got 3.5$"):
        sae.fit(X, seed=0)
    sae = SparseAutoencoder(**_COUNTS)
    with pytest.raises(TypeError, match=rf"^{name} must be an integer, got 3.5$"):
        sae.set_params(**{name: np.float32(3.5)})
    assert sae.get_params()[name] == _COUNTS[name]  # nothing set
