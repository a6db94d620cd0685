"""SAILnet and spiking-LCA settings that pass the argument checks but blow up
or degenerate during a run: a clear error or warning instead of NaN weights or
silently wrong codes."""

import warnings

import numpy as np
import pytest

from v1model.spiking import learn_sailnet, spiking_lca

#: learn_sailnet's warning of units firing at every step: the runs below that blow up or
#: fall silent pass through it on the way (it leaked into the suite's warnings summary)
SATURATED = "ignore:.*spike counts of the batch reached n_steps=:RuntimeWarning"


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(0)
    P = rng.standard_normal((500, 64))
    return (P - P.mean(axis=1, keepdims=True)) / P.std(axis=1, keepdims=True)


@pytest.mark.filterwarnings(SATURATED)
@pytest.mark.parametrize("kwargs, name", [
    (dict(beta=1.0), "beta=1.0"),
    (dict(p=10.0), "beta=0.01"),
    (dict(scale=1e8), "beta=0.01"),
])
def test_sailnet_weight_overflow_raises(pool, kwargs, name):
    # Oja's rule overshoots once beta * <n^2> > 2: Q grows to inf, then NaN
    data = pool * kwargs.pop("scale", 1.0)
    with pytest.raises(FloatingPointError, match=rf"SAILnet diverged at update \d+: .*Q.*"
                                                 rf"lower {name}"):
        learn_sailnet(data, 32, batch_size=50, n_updates=300, progress=False, seed=0,
                      **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1e307), r"thresholds theta overflowed; lower gamma=1e\+307"),
    (dict(alpha=1e307), r"lateral weights W overflowed; lower alpha=1e\+307"),
])
def test_sailnet_threshold_or_inhibition_overflow_names_the_rate(pool, kwargs, match):
    # every unit fires at every step (theta0 < 0): the first update (update 1) overflows
    with pytest.raises(FloatingPointError, match=rf"diverged at update 1: the {match}"):
        learn_sailnet(pool, 16, batch_size=20, n_updates=5, theta0=-5.0, progress=False,
                      seed=0, **kwargs)


@pytest.mark.filterwarnings(SATURATED)  # gamma=1e3 overshoots after a burst
@pytest.mark.parametrize("kwargs, hint", [
    (dict(theta0=1e3), r"lower theta0=1000"),
    (dict(theta0=100.0, gamma=0.0), r"homeostasis never lowers theta; lower theta0=100"),
    (dict(scale=1e-8), r"lower theta0=2, raise gamma=0.1 or scale the data"),
    (dict(gamma=1e3), r"lower gamma=1000.0"),  # homeostasis overshoots after a burst
])
def test_sailnet_warns_when_no_unit_fires(pool, kwargs, hint):
    data = pool * kwargs.pop("scale", 1.0)
    with pytest.warns(RuntimeWarning, match=rf"no unit fired in the last 100 updates .*{hint}"):
        learn_sailnet(data, 16, batch_size=20, n_updates=150, progress=False, seed=0,
                      **kwargs)


def test_sailnet_healthy_run_does_not_warn(pool):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = learn_sailnet(pool, 16, batch_size=20, n_updates=150, progress=False, seed=0)
    # the homeostatic rule dtheta = gamma (<n> - p) (Zylberberg et al. 2011), summed:
    # after t updates the mean threshold is theta0 + gamma sum_t (mean rate_t - p)
    p, gamma, theta0 = ds.attrs["p"], ds.attrs["gamma"], ds.attrs["theta0"]
    assert (p, gamma, theta0) == (0.05, 0.1, 2.0)  # the published defaults
    integrated = theta0 + gamma * np.cumsum(ds["mean_rate"].values - p)
    np.testing.assert_allclose(ds["mean_theta"].values, integrated, rtol=1e-12)
    np.testing.assert_allclose(ds["theta"].values.mean(), integrated[-1], rtol=1e-12)
    # Foldiak's inhibition: non-negative, no self-inhibition
    W = ds["W"].values
    assert np.all(np.diag(W) == 0) and W.min() >= 0 and W.max() > 0
    # a healthy run fires at about the target rate p (measured 0.044 over the last 50)
    assert ds["mean_rate"].values[-50:].mean() == pytest.approx(p, rel=0.3)


def test_sailnet_refuses_an_unreachable_rate(pool):
    with pytest.raises(ValueError, match=r"p=60.0 spikes per image .* n_steps=50"):
        learn_sailnet(pool, 16, p=60.0, n_updates=5, progress=False, seed=0)


def _small_problem():
    """3 Gaussian stimuli of 16 features, 8 unit-norm atoms."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((3, 16)), D


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_spiking_lca_warns_when_units_fire_every_step():
    X, D = _small_problem()
    # Brian2 routes warnings to its logger from its import on: import it before pytest.warns
    pytest.importorskip("brian2")
    # codes up to ~200 but a rate of 1/dt caps them at tau_m / dt = 100
    with pytest.warns(RuntimeWarning, match=r"fired at every time step.*capped at .*"
                                            r"tau_m / dt = 100.*lower dt"):
        spiking_lca(X * 100, D, 0.1, duration=0.05, target="numpy", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        spiking_lca(X, D, 0.1, duration=0.05, target="numpy", seed=0)


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_spiking_lca_warns_when_the_codes_are_a_few_spikes():
    # the threshold is 1 in units of X: with X and lam scaled by 1e-2 the whole batch
    # fired 9 spikes (815 at scale 1) and its codes were 1.8x their size off, silently
    X, D = _small_problem()
    pytest.importorskip("brian2")
    top = float((X @ D.T).max()) * 1e-2 - 1e-3
    with pytest.warns(RuntimeWarning, match=rf"largest drive D x - lam is {top:.3g}, .* spikes "
                                            r"in the 0.035 s counting window .* cannot resolve"):
        spiking_lca(X * 1e-2, D, 0.1 * 1e-2, duration=0.05, target="numpy", seed=0)
    with pytest.warns(RuntimeWarning, match=r"lam=100.0 is at least every drive .*no unit can "
                                            r"fire"):
        ds = spiking_lca(X, D, 100.0, duration=0.05, target="numpy", seed=0)
    assert not ds["spike_count"].values.any()


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_spiking_lca_warns_when_the_refractory_period_leaves_a_few_spikes():
    # refractory 15 ms in a 35 ms window: spikes at least refractory + dt apart, at most
    # 2.32 per unit, codes capped at tau_m / (refractory + dt) whatever the drive (10 s
    # gave codes of 0 without a word)
    X, D = _small_problem()
    pytest.importorskip("brian2")
    with pytest.warns(RuntimeWarning, match=r"refractory=0.015 s lets a unit fire at most "
                                            r"window / \(refractory \+ dt\) = 2.32 times in "
                                            r"the 0.035 s counting window"):
        spiking_lca(X, D, 0.1, duration=0.05, refractory=0.015, target="numpy", seed=0)
