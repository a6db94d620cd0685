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


def test_the_warning_names_the_capped_units_and_blames_each_on_its_own_cause(pool):
    """Data 30x above unit variance cap the counts of units whose thresholds are 2, and
    one unit's theta0 of -0.5 caps its own: the warning blamed the lowest threshold of all
    units, advising only "give theta0 > 0" for 92 capped counts of which that unit's were
    12. It now names the capped units with their thresholds and counts, and gives each
    cause its advice."""
    theta0 = np.r_[np.full(15, 2.0), -0.5]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(30 * pool, 16, n_updates=1, batch_size=20, theta0=theta0, seed=0,
                      progress=False)
    (text,) = _saturation_warnings(caught)
    # recount the capped counts of the first batch: the same patches, Q and thresholds
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((16, 64))
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    X = 30 * pool[rng.integers(0, len(pool), 20)]
    with pytest.warns(RuntimeWarning, match="fired at every one of the n_steps=50"):
        capped = sailnet_inference(X, Q, np.zeros((16, 16)), theta0) >= 50
    per_unit = capped.sum(axis=0)
    assert capped[:, 15].any() and capped[:, :15].any()  # both causes at work
    assert text.startswith(f"update 1: {capped.sum()} of 320 spike counts of the batch "
                           f"reached n_steps=50"), text
    assert f"those of {np.count_nonzero(per_unit)} of 16 units" in text, text
    assert f"15 (theta -0.5, capped on {per_unit[15]} of 20 patches)" in text, text
    top = max(range(15), key=lambda i: (per_unit[i], -i))
    assert f"{top} (theta 2, capped on {per_unit[top]} of 20 patches)" in text, text
    assert "theta0's lowest, -0.5, is; 1 of the capped units starts there" in text, text
    n_high = np.count_nonzero(per_unit[:15])
    assert (f"{n_high} of the capped units have thresholds above 0 (lowest 2, so "
            f"theta / eta = 20") in text, text
    assert text.endswith("give theta0 > 0 (default 2); scale the data down (SAILnet expects "
                         "patches of unit variance) or raise theta0"), text


def test_homeostasis_is_not_blamed_for_thresholds_theta0_set(pool):
    """A unit whose theta0 is -0.5 is capped only by the patches whose drive reaches
    theta0 / eta = -5; its threshold, unchanged with gamma = 0, was blamed on the
    homeostasis (advising "lower gamma=0.0") when that first happened after update 1."""
    X = pool.copy()
    Q0 = np.eye(4, 64)
    Q0[3] = -Q0[3]  # unit 3's drive is -x_3: -6 (silent: u tends to -6 < -0.5) ...
    X[:, 3] = np.where(np.arange(len(X)) < 390, 6.0, 0.0)  # ... but 0 on the last patches
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(X, 4, n_updates=200, batch_size=5, theta0=np.r_[2.0, 2.0, 2.0, -0.5],
                      Q0=Q0, alpha=0.0, beta=0.0, gamma=0.0, seed=0, progress=False)
    texts = _saturation_warnings(caught)
    assert len(texts) == 1, texts
    (text,) = texts
    assert not text.startswith("update 1:"), text  # the first update capped nothing
    assert "3 (theta -0.5, capped on" in text, text
    assert "theta0's lowest, -0.5, is" in text and "homeostasis" not in text, text
    assert text.endswith("give theta0 > 0 (default 2)"), text


def test_inference_names_the_neurons_whose_counts_were_capped():
    """sailnet_inference said "5 of 24 units fired at every one of the n_steps=50 steps"
    (neuron-stimulus pairs) without saying which neurons, nor that one of them had a
    negative threshold. Neuron 7 (theta -1) fires at every step for every stimulus whose
    drive reaches -10; neurons of theta 0.5 only for drives of at least 5."""
    X = np.array([[6.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    Q = np.zeros((8, 2))
    Q[:, 0] = 1.0  # every neuron's drive is x_0: 6, 1 and 0
    theta = np.r_[np.full(7, 0.5), -1.0]
    with pytest.warns(RuntimeWarning) as caught:
        counts = sailnet_inference(X, Q, np.zeros((8, 8)), theta, dtype=np.float64)
    (text,) = [str(w.message) for w in caught if "fired at every one" in str(w.message)]
    # drive 6 >= 0.5 / 0.1: all eight neurons capped on stimulus 0; neuron 7 on all three
    assert np.array_equal(counts >= 50, np.c_[np.ones((3, 7)) * [[1], [0], [0]],
                                              np.ones(3)].astype(bool))
    assert text.startswith("10 of 24 units fired at every one of the n_steps=50 steps"), text
    assert ("(those of 8 of 8 neurons: 7 (theta -1, on 3 of 3 stimuli), 0 (theta 0.5, on 1 "
            "of 3 stimuli), 1 (theta 0.5, on 1 of 3 stimuli), 2 (theta 0.5, on 1 of 3 "
            "stimuli), 3 (theta 0.5, on 1 of 3 stimuli), and 3 more)") in text, text
    assert "; 1 of them has a threshold at or below 0" in text, text
