"""Bad input fails at once, with a message that names the argument and the value."""

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
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError,
                                                  match="training diverged at step"):
        _fit(X * 1e3, activation="relu", lam=0.1, lr=1e30, dtype="float32")


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
