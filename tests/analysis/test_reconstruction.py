"""fraction_variance_unexplained: the held-out FVU every study reports, against
scikit-learn's variance-weighted R² and analytic cases."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

from v1model.analysis import fraction_variance_unexplained


@pytest.mark.parametrize("offset", [0.0, 10.0, 1e4])
def test_is_one_minus_sklearns_variance_weighted_r2(offset):
    # features of unequal variance and mean: the weighting and the centring both matter
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 7)) * np.arange(1, 8) + offset * np.arange(7)
    X_hat = X + 0.3 * rng.standard_normal(X.shape)
    reference = 1.0 - r2_score(X, X_hat, multioutput="variance_weighted")
    assert fraction_variance_unexplained(X, X_hat) == pytest.approx(reference, rel=1e-9, abs=0)


def test_float32_input_is_summed_in_float64():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 64)).astype(np.float32)
    X_hat = (X + 0.5 * rng.standard_normal(X.shape)).astype(np.float32)
    reference = 1.0 - r2_score(X.astype(np.float64), X_hat.astype(np.float64),
                               multioutput="variance_weighted")
    assert fraction_variance_unexplained(X, X_hat) == pytest.approx(reference, rel=1e-9, abs=0)


def test_is_relative_to_the_variance_about_the_mean():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 5)) + 10.0  # a large mean: variance, not power
    mean = X.mean(axis=0)
    assert fraction_variance_unexplained(X, X) == 0.0
    assert fraction_variance_unexplained(X, np.broadcast_to(mean, X.shape)) == pytest.approx(
        1.0, rel=1e-12)
    half = mean + 0.5 * (X - mean)  # explains 3/4 of the variance
    assert fraction_variance_unexplained(X, half) == pytest.approx(0.25, rel=1e-12)
    # two samples: squared deviations from their mean 1 + 1 (first feature) and
    # 2.25 + 2.25 (second), 6.5 in all; an error of 0.5 everywhere leaves 4 * 0.25
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    assert fraction_variance_unexplained(X, X + 0.5) == pytest.approx(4 * 0.25 / 6.5,
                                                                       rel=1e-12)


def test_no_variance_gives_nan():
    X = np.ones((3, 4))
    assert np.isnan(fraction_variance_unexplained(X, X + 1.0))
    assert np.isnan(fraction_variance_unexplained(X[:1] * 2.0, X[:1]))


def test_bad_input_names_the_argument():
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"X_hat must have the shape of X \(4, 3\), got \(4, 2\)"):
        fraction_variance_unexplained(X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X_hat"):
        fraction_variance_unexplained(X, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="X"):
        fraction_variance_unexplained(np.zeros(3), np.zeros(3))
