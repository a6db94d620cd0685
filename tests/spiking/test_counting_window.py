"""The counting window of the spiking LCA on the step grid: the window recorded in
``counting_window`` is the one the spikes were counted in, ``windowed_rates`` counts
the same steps for float32 times as for float64 ones, and the refractory warning states
the bound ``window / (refractory + dt)``. References: a hand Euler run of uncoupled
integrate-and-fire units (Brian2's order in a step: update, threshold, subtractive
reset) and the step arithmetic. Brian2 runs use the numpy target and tiny networks."""

import warnings

import numpy as np
import pytest

from v1model.spiking import spiking_convolutional_lca, spiking_lca, windowed_rates

pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing"),
              # runs of a handful of steps on purpose
              pytest.mark.filterwarnings("ignore:the largest drive")]


def _euler_counts(B, lam, n_steps, dt, tau_m, first_step):
    """Spike counts of uncoupled non-leaky integrate-and-fire units from v = 0, by hand:
    spikes of the steps ``first_step <= step < n_steps``; also the steps of every spike."""
    v = np.zeros(B.shape)
    counts = np.zeros(B.shape, dtype=int)
    fired_at = []
    for step in range(n_steps):
        v = v + dt * (B - lam) / tau_m
        fired = v > 1
        v[fired] -= 1
        fired_at += [step] * int(fired.sum())
        if step >= first_step:
            counts += fired
    return counts, np.array(fired_at)


def test_counting_window_records_the_steps_counted_off_the_grid():
    """duration = 0.0105 s with dt = 1 ms is not a whole number of steps: the run lasts
    11 steps and counts steps ceil(0.3 * 10.5) = 4 to 10, i.e. [0.004, 0.011) s, 7 ms.
    counting_window says so (it said [0.00315, 0.0105]), the counts and rates are those
    of that window, and windowed_rates at the duration counts it too."""
    X = np.array([[6.1, 4.3, 2.2]])
    lam, dt, tau_m = 0.1, 1e-3, 0.01
    ds = spiking_lca(X, np.eye(3), lam, duration=0.0105, dt=dt, tau_m=tau_m, tau_syn=0.005,
                     v_init="zero", target="numpy", seed=0, record_spikes=True)
    want, _ = _euler_counts(X, lam, 11, dt, tau_m, first_step=4)
    assert want.sum() >= 6
    np.testing.assert_array_equal(ds["spike_count"].values, want)
    np.testing.assert_allclose(ds.attrs["counting_window"], [0.004, 0.011], rtol=1e-12)
    np.testing.assert_allclose(ds["rate"].values, want / 0.007, rtol=1e-12)
    again = windowed_rates(ds, 0.0105)
    np.testing.assert_allclose(again.values, ds["code"].values, rtol=1e-12)
    np.testing.assert_allclose([again["window_start"], again["window_end"]],
                               ds.attrs["counting_window"], rtol=1e-12)


def test_convolutional_counting_window_records_the_steps_counted():
    """The convolutional network counts on the same grid: [0.004, 0.011) s."""
    ds = spiking_convolutional_lca(np.array([[3.0, 1.0, 2.0, 0.5]]), np.array([[1.0]]), 0.1,
                                   duration=0.0105, dt=1e-3, tau_syn=0.005, v_init="zero",
                                   target="numpy", seed=0)
    np.testing.assert_allclose(ds.attrs["counting_window"], [0.004, 0.011], rtol=1e-12)
    want, _ = _euler_counts(np.array([3.0, 1.0, 2.0, 0.5]), 0.1, 11, 1e-3, 0.01, first_step=4)
    np.testing.assert_array_equal(ds["spike_count"].values.ravel(), want)


def test_float32_times_count_the_steps_of_their_float64_values():
    """np.float32(0.05) is 0.050000000745: 500.0000075 steps of 0.1 ms, and
    0.3 * it is 150.0000022 steps. Rounded up, windowed_rates counted steps [151, 501)
    and left out the spikes of step 150; on the grid it counts [150, 500), as the run
    did. A float32 duration runs and counts the 500 steps of 0.05 s too."""
    X = np.linspace(0.6, 4.0, 30)[None]
    lam, dt, tau_m = 0.1, 1e-4, 0.01
    ds = spiking_lca(X, np.eye(30), lam, duration=0.05, dt=dt, tau_m=tau_m, v_init="zero",
                     target="numpy", seed=0, record_spikes=True)
    want, fired_at = _euler_counts(X, lam, 500, dt, tau_m, first_step=150)
    assert np.any(fired_at == 150)  # the step that the shifted window dropped
    np.testing.assert_array_equal(ds["spike_count"].values, want)
    code = windowed_rates(ds, np.float32(0.05))
    np.testing.assert_allclose(code.values, want * tau_m / (350 * dt), rtol=1e-12)
    np.testing.assert_allclose([code["window_start"], code["window_end"]], [0.015, 0.05],
                               rtol=1e-12)
    several = windowed_rates(ds, np.array([0.03, 0.05], dtype=np.float32))
    np.testing.assert_allclose(several.values[1], want * tau_m / (350 * dt), rtol=1e-12)
    np.testing.assert_allclose(several["window_start"], [0.009, 0.015], rtol=1e-12)

    ds32 = spiking_lca(X, np.eye(30), lam, duration=np.float32(0.05), dt=dt, tau_m=tau_m,
                       v_init="zero", target="numpy", seed=0, record_spikes=True)
    np.testing.assert_array_equal(ds32["spike_count"].values, want)
    assert ds32["spike_time"].max() < 0.05 - dt / 2  # no 501st step simulated
    np.testing.assert_allclose(ds32.attrs["counting_window"], [0.015, 0.05], rtol=1e-12)


def test_refractory_warning_states_the_bound_with_the_spike_step():
    """The refractory period is dead time after the step of a spike, so spikes are at
    least refractory + dt apart: at most 0.035 / (0.015 + 1e-4) = 2.32 spikes in the
    35 ms window (not 0.035 / 0.015 = 2.33), codes at most 0.01 / 0.0151 = 0.662. At
    refractory = 11.6 ms the bound is 2.99 spikes, below 3: warned (0.035 / 0.0116 = 3.02
    was not); at 11.5 ms it is 3.02: no warning, and a saturating drive fires 3 times."""
    X = np.array([[400.0]])
    with pytest.warns(RuntimeWarning, match=r"refractory=0.015 s lets a unit fire at most "
                                            r"window / \(refractory \+ dt\) = 2.32 times in "
                                            r"the 0.035 s counting window.*tau_m / "
                                            r"\(refractory \+ dt\) = 0.662\)"):
        ds = spiking_lca(X, np.eye(1), 0.1, duration=0.05, refractory=0.015, target="numpy",
                         seed=0)
    assert ds["spike_count"].item() <= 0.035 / 0.0151 + 1
    with pytest.warns(RuntimeWarning, match=r"at most window / \(refractory \+ dt\) = 2.99 "):
        spiking_lca(X, np.eye(1), 0.1, duration=0.05, refractory=0.0116, target="numpy",
                    seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ds = spiking_lca(X, np.eye(1), 0.1, duration=0.05, refractory=0.0115,
                         target="numpy", seed=0)
    # a saturating drive fires every refractory + dt = 11.6 ms: 3 spikes in 35 ms
    assert ds["spike_count"].item() == 3


@pytest.mark.parametrize("duration, refractory, raises", [
    # 10.5 steps: steps 4 to 10 are counted, 7 ms (nominally 7.35 ms) < 7.2 ms refractory
    (0.0105, 0.0072, True),
    # 13.1 steps: steps 4 to 13 are counted, 10 ms (nominally 9.17 ms) > 9.5 ms refractory
    (0.0131, 0.0095, False),
])
def test_refractory_check_uses_the_counted_window(duration, refractory, raises):
    """The "refractory >= counting window" error compares with the window on the step
    grid that the run counts (_window_steps), not duration * (1 - transient_fraction)."""
    kwargs = dict(duration=duration, dt=1e-3, tau_syn=5e-3, refractory=refractory,
                  target="numpy", progress=False)
    if raises:
        with pytest.raises(ValueError, match=r"refractory=0.0072 s is at least the counting "
                                             r"window .* = 0.007 s\)"):
            spiking_lca(np.full((1, 1), 3.0), np.eye(1), 0.1, **kwargs)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # ~1 spike in the window: on purpose
        ds = spiking_lca(np.full((1, 1), 3.0), np.eye(1), 0.1, **kwargs)
    np.testing.assert_allclose(ds.attrs["counting_window"], [0.004, 0.014])


def test_codes_and_drive_are_in_units_of_x():
    """code = rate * tau_m is a LASSO code and drive = D x: both in units of X, as the
    ODE LCA's codes (rates stay Hz, counts "1"); also for windowed_rates and the
    convolutional LCA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = spiking_lca(np.full((1, 2), 3.0), np.eye(2), 0.1, duration=0.02, dt=1e-3,
                         target="numpy", progress=False, record_spikes=True)
        conv = spiking_convolutional_lca(np.full((1, 6, 6), 3.0), np.ones((1, 2, 2)) / 2,
                                         0.1, duration=0.02, dt=1e-3, target="numpy",
                                         progress=False)
    for out in (ds, conv):
        assert out["code"].attrs["units"] == "units of X"
        assert out["drive"].attrs["units"] == "units of X"
        assert out["rate"].attrs["units"] == "Hz"
        assert out["spike_count"].attrs["units"] == "1"
    assert windowed_rates(ds, 0.02).attrs["units"] == "units of X"


def test_a_float32_time_far_along_the_grid_is_still_on_its_step():
    """np.float32(0.3) is 0.30000001192: 3000.000119 steps of 0.1 ms, 1.2e-4 of a step
    past step 3000, beyond Brian2's 1e-4 but within the float32 rounding of a time of
    3000 steps (2**-22 * 3000 = 7e-4): a float32 duration of 0.3 s runs the 3000 steps
    of 0.3 s and counts [900, 3000), as 0.3 does, not a 3001st step."""
    X = np.linspace(0.6, 4.0, 4)[None]
    lam, dt, tau_m = 0.1, 1e-4, 0.01
    kw = {"dt": dt, "tau_m": tau_m, "v_init": "zero", "target": "numpy", "seed": 0,
          "record_spikes": True}
    ds = spiking_lca(X, np.eye(4), lam, duration=0.3, **kw)
    ds32 = spiking_lca(X, np.eye(4), lam, duration=np.float32(0.3), **kw)
    np.testing.assert_allclose(ds32.attrs["counting_window"], [0.09, 0.3], rtol=1e-12)
    np.testing.assert_array_equal(ds32["spike_count"].values, ds["spike_count"].values)
    assert ds32["spike_time"].max() < 0.3 - dt / 2  # no 3001st step simulated
    code = windowed_rates(ds, np.float32(0.3))
    np.testing.assert_allclose([code["window_start"], code["window_end"]], [0.09, 0.3],
                               rtol=1e-12)
    np.testing.assert_allclose(code.values, ds["spike_count"].values * tau_m / (2100 * dt),
                               rtol=1e-12)
