"""learn_sailnet warns, as sailnet_inference does, when units fire at every step.

A ``theta0`` at or below 0 fired every unit (with a drive of at least theta / eta) at
each of the ``n_steps`` steps of the first update, without a word: Földiák's rule then
set the lateral weights of the units firing together to ``alpha * (n_steps**2 - p**2)``
(2499.9975 at the defaults, theta0=-1), which later updates lower by ``alpha * p**2``
(0.0025) each — a million updates to undo. sailnet_inference warned of the same capped
counts; learn_sailnet now warns once per call, naming theta0 and its value."""

import re
import warnings

import numpy as np
import pytest

from v1model.spiking import learn_sailnet, sailnet_inference

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]


@pytest.fixture(scope="module")
def pool():
    """Unit-variance patches of 8x8 pixels, as SAILnet expects."""
    return np.random.default_rng(0).standard_normal((400, 64))


def _saturation_warnings(caught):
    return [str(w.message) for w in caught if w.category is RuntimeWarning
            and "spike counts of the batch reached" in str(w.message)]


def test_a_negative_theta0_is_warned_of_with_the_lateral_weights_it_builds(pool):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = learn_sailnet(pool, 16, n_updates=1, batch_size=20, theta0=-1.0, seed=0,
                           progress=False)
    (text,) = _saturation_warnings(caught)
    # every unit fires at each of the 50 steps of each of the 20 patches
    assert text.startswith("update 1: 320 of 320 spike counts of the batch reached "
                           "n_steps=50"), text
    assert "theta0's lowest, -1, is" in text and text.endswith("give theta0 > 0 (default 2)")
    # Földiák's rule: W_ij += alpha (<n_i n_j> - p^2), <n_i n_j> = 50 * 50 exactly
    W = ds["W"].values
    off = ~np.eye(16, dtype=bool)
    np.testing.assert_allclose(W[off], 50.0**2 - 0.05**2, rtol=0, atol=1e-9)
    assert "adds up to alpha * n_steps**2 = 2500 to the lateral weights" in text, text
    assert "(largest W now 2500)" in text, text
    assert "lower them by at most alpha * p**2 = 0.0025 each" in text, text
    # the same thresholds in inference: the same warning category, the same cause
    with pytest.warns(RuntimeWarning, match="units fired at every one of the n_steps=50"):
        sailnet_inference(pool[:5], np.eye(16, 64), np.zeros((16, 16)), np.full(16, -1.0))


@pytest.mark.parametrize("theta0, n_fired", [(0.0, None), (np.r_[np.full(15, 2.0), -0.5], 20)])
def test_a_threshold_at_zero_or_one_below_is_warned_of_once(pool, theta0, n_fired):
    """theta0 = 0 fires the units whose drive Q x is not negative (about half); one
    negative entry of an array fires its unit alone. Five updates, one warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(pool, 16, n_updates=5, batch_size=20, theta0=theta0, gamma=0.0,
                      seed=0, progress=False)
    (text,) = _saturation_warnings(caught)
    n = int(re.match(r"update 1: (\d+) of 320 spike counts", text).group(1))
    assert n == n_fired if n_fired else 100 < n < 220, text
    assert f"theta0's lowest, {np.min(theta0):.3g}, is" in text, text


def test_the_defaults_on_unit_variance_patches_warn_of_nothing(pool):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ds = learn_sailnet(pool, 16, n_updates=20, batch_size=20, seed=0, progress=False)
    assert ds["mean_rate"].values.max() < 1  # nowhere near 50 spikes per patch


def test_data_far_above_unit_variance_are_named_instead(pool):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(30 * pool, 16, n_updates=2, batch_size=20, seed=0, progress=False)
    (text,) = _saturation_warnings(caught)
    assert "at or below 0" not in text and text.endswith(
        "scale the data down (SAILnet expects patches of unit variance) or raise theta0"), text


def test_thresholds_that_homeostasis_drives_below_zero_name_gamma(pool):
    """gamma = 1000: after the first update (no count capped) the threshold of a unit
    that did not fire is theta0 + gamma (0 - p) = 2 - 1000 * 0.05 = -48; the second
    update saturates."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(pool, 16, n_updates=2, batch_size=20, gamma=1e3, seed=0,
                      progress=False)
    (text,) = _saturation_warnings(caught)
    assert text.startswith("update 2: "), text
    assert "homeostasis (gamma=1000.0) lowered the thresholds to -48, at or below 0" in text
    assert text.endswith("lower gamma=1000.0"), text


def test_a_continued_run_names_previous_not_theta0(pool):
    # no learning: the thresholds stay at -1, and the fields at their unit norm
    frozen = dict(alpha=0.0, beta=0.0, gamma=0.0, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        first = learn_sailnet(pool, 4, n_updates=1, batch_size=5, theta0=-1.0, **frozen)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(pool, 4, n_updates=1, batch_size=5, previous=first, **frozen)
    (text,) = _saturation_warnings(caught)
    assert text.startswith("update 2: 20 of 20 spike counts"), text
    assert "previous's lowest, -1, is" in text and "pass previous's state" in text, text
    assert "Földiák" not in text  # alpha = 0: W does not move
