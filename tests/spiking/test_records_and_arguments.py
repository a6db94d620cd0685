"""Spike records and arguments of the spiking LCA (numpy target, seconds): windowed
rates of a part of the run or of a subset of samples, record_dt off the dt grid, tau
with tau_m, and the Brian2 patches the SAILnet study reports."""

import numpy as np
import pytest

from v1model.spiking import spiking_lca, windowed_rates


def _problem(n=4, k=8, f=8, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((k, f))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((n, f)), D


@pytest.mark.brian2
def test_windowed_rates_refuses_a_record_of_some_samples_only():
    X, D = _problem()
    ds = spiking_lca(X, D, 0.1, duration=0.1, target="numpy", seed=0, record_spikes=True,
                     progress=False)
    # every spike: the final window reproduces the run's codes
    np.testing.assert_array_equal(windowed_rates(ds, 0.1).values, ds["code"].values)
    keep = ds["spike_sample"].values < 2  # what the spiking-lca study saves (n_raster)
    part = ds.isel(spike=np.flatnonzero(keep))
    assert ds["spike_count"].values[2:].sum() > 0
    with pytest.raises(ValueError, match="only part of the run's spikes"):
        windowed_rates(part, 0.1)  # was: codes of 0 for samples 2 and 3, silently


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore:the largest drive")  # a short run: few spikes, on purpose
def test_record_dt_must_be_a_multiple_of_dt():
    X, D = _problem(n=1)
    with pytest.raises(ValueError, match=r"record_dt \(0.00015 s\) must be a whole multiple"):
        spiking_lca(X, D, 0.1, duration=0.01, target="numpy", seed=0, record_v=[0],
                    record_dt=1.5e-4, progress=False)
    ds = spiking_lca(X, D, 0.1, duration=0.01, target="numpy", seed=0, record_v=[0],
                     record_dt=3e-4, progress=False)
    ref = spiking_lca(X, D, 0.1, duration=0.01, target="numpy", seed=0, record_v=[0],
                      progress=False)
    # the value recorded at time t is the one of the dt trace at t
    np.testing.assert_array_equal(ds["v"].values, ref["v"].sel(time=ds["time"].values,
                                                                  method="nearest").values)


@pytest.mark.brian2
def test_convolutional_network_refuses_tau_and_tau_m_together():
    from v1model.convolutional import ConvolutionalNetwork

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 4))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    net = ConvolutionalNetwork(K, lam=0.3, threshold="nonneg")
    with pytest.raises(ValueError, match="give tau or tau_m"):
        net.encode(rng.standard_normal((1, 16)), backend="spiking", tau=0.02, tau_m=0.01,
                   duration=0.05, target="numpy", seed=0, progress=False)


@pytest.mark.brian2
def test_sailnet_study_records_the_brian2_patches_it_simulated():
    from studies import zylberberg_2011_sailnet as study

    ds = study.run(quick=True, n_updates=5, n_eval=3, n_brian2=50, progress=False)
    assert ds.attrs["n_brian2"] == 3  # was 50: only the 3 held-out patches exist


@pytest.mark.brian2
def test_windowed_rates_of_a_subset_of_samples():
    X, D = _problem()
    ds = spiking_lca(X, D, 0.1, duration=0.1, target="numpy", seed=0, record_spikes=True,
                     progress=False)
    for sel in ([0, 1], [2, 3], [3, 1]):
        sub = ds.isel(sample=sel)  # was: "cannot reshape array of size ... into shape"
        np.testing.assert_array_equal(windowed_rates(sub, 0.1).values, ds["code"].values[sel])


@pytest.mark.parametrize("convolutional", [False, True])
def test_a_bad_tau_of_the_spiking_backend_is_named_tau(convolutional):
    # the backend renames tau to spiking_lca's tau_m: tau=0 was refused as "tau_m must be a
    # positive finite number", an argument the user did not give
    from v1model import SparseCodingNetwork
    from v1model.convolutional import ConvolutionalNetwork

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 4))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    if convolutional:
        net = ConvolutionalNetwork(K, lam=0.3, threshold="nonneg")
        X = rng.standard_normal((1, 16))
    else:
        net = SparseCodingNetwork(dictionary=K, lam=0.3, threshold="nonneg")
        X = rng.standard_normal((1, 4))
    with pytest.raises(ValueError, match=r"^tau must be .*got 0"):
        net.encode(X, backend="spiking", tau=0, duration=0.05, target="numpy", seed=0,
                   progress=False)


@pytest.mark.parametrize("convolutional", [False, True])
def test_the_networks_own_tau_is_named_tau_by_the_spiking_backend(convolutional):
    # the backend passed the network's tau on as tau_m: a network with tau=5e-5 was
    # refused for "tau_m=5e-05 s", an argument the user never gave (refused before
    # Brian2 builds anything: no compiler needed)
    from v1model import SparseCodingNetwork
    from v1model.convolutional import ConvolutionalNetwork

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 4))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    if convolutional:
        net = ConvolutionalNetwork(K, lam=0.3, threshold="nonneg", tau=5e-5)
        X = rng.standard_normal((1, 16))
    else:
        net = SparseCodingNetwork(dictionary=K, lam=0.3, threshold="nonneg", tau=5e-5)
        X = rng.standard_normal((1, 4))
    with pytest.raises(ValueError, match=r"and tau=5e-05 s") as info:
        net.encode(X, backend="spiking", duration=0.05, target="numpy", seed=0,
                   progress=False)
    assert "tau_m" not in str(info.value)
    # tau_m, given by the caller, is still named tau_m
    with pytest.raises(ValueError, match=r"and tau_m=5e-05 s"):
        net.encode(X, backend="spiking", tau_m=5e-5, duration=0.05, target="numpy",
                   seed=0, progress=False)


@pytest.mark.brian2
def test_spiking_lca_takes_tau_as_the_alias_of_tau_m():
    """The rate LCA and the network call the membrane time constant tau, and the network's
    spiking encode passes it on as tau_m; spiking_lca itself failed with "unexpected
    keyword argument 'tau'". tau=0.02 is tau_m=0.02: same spikes, code = rate * 0.02; given
    with tau_m, or bad, it is refused by name."""
    from v1model import SparseCodingNetwork

    X, D = _problem()
    kw = {"duration": 0.05, "target": "numpy", "seed": 0, "progress": False}
    ref = spiking_lca(X, D, 0.1, tau_m=0.02, **kw)
    ds = spiking_lca(X, D, 0.1, tau=0.02, **kw)
    assert ds.attrs["tau_m"] == 0.02
    np.testing.assert_array_equal(ds["spike_count"].values, ref["spike_count"].values)
    np.testing.assert_allclose(ds["code"].values, ds["rate"].values * 0.02, rtol=1e-12)
    net = SparseCodingNetwork(D, lam=0.1, threshold="nonneg", tau=0.5)
    np.testing.assert_array_equal(net.encode(X, backend="spiking", tau=0.02, **kw),
                                  ds["code"].values)
    assert spiking_lca(X, D, 0.1, **kw).attrs["tau_m"] == 0.01  # the default, unchanged
    with pytest.raises(ValueError, match=r"^give tau or tau_m .*tau=0\.02 and tau_m=0\.01"):
        spiking_lca(X, D, 0.1, tau=0.02, tau_m=0.01, **kw)
    with pytest.raises(ValueError, match=r"^tau must be .*got 0"):
        spiking_lca(X, D, 0.1, tau=0, **kw)


@pytest.mark.brian2
def test_spiking_convolutional_lca_takes_tau_as_the_alias_of_tau_m():
    """The convolutional network and encode(method="lca") call the membrane time constant
    tau; spiking_convolutional_lca failed with "unexpected keyword argument 'tau'".
    tau=0.02 is tau_m=0.02: same spikes, code = rate * 0.02; given with tau_m, or bad, it
    is refused by name."""
    from v1model.convolutional import ConvolutionalNetwork
    from v1model.spiking import spiking_convolutional_lca

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 5))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    X = rng.standard_normal((1, 32))
    kw = {"duration": 0.2, "target": "numpy", "seed": 0, "progress": False}
    ref = spiking_convolutional_lca(X, K, 0.1, tau_m=0.02, **kw)
    ds = spiking_convolutional_lca(X, K, 0.1, tau=0.02, **kw)
    assert ds.attrs["tau_m"] == 0.02
    assert ds["spike_count"].values.sum() > 0  # not vacuous
    np.testing.assert_array_equal(ds["spike_count"].values, ref["spike_count"].values)
    np.testing.assert_allclose(ds["code"].values, ds["rate"].values * 0.02, rtol=1e-12)
    net = ConvolutionalNetwork(K, lam=0.1, threshold="nonneg", tau=0.5)
    np.testing.assert_array_equal(net.encode(X, backend="spiking", tau=0.02, **kw),
                                  ds["code"].values)
    assert spiking_convolutional_lca(X, K, 0.1, **kw).attrs["tau_m"] == 0.01  # the default
    with pytest.raises(ValueError, match=r"^give tau or tau_m .*tau=0\.02 and tau_m=0\.01"):
        spiking_convolutional_lca(X, K, 0.1, tau=0.02, tau_m=0.01, **kw)
    with pytest.raises(ValueError, match=r"^tau must be .*got 0"):
        spiking_convolutional_lca(X, K, 0.1, tau=0, **kw)


@pytest.mark.parametrize("convolutional", [False, True])
def test_a_dt_too_long_for_tau_names_tau_as_given(convolutional):
    """tau is tau_m's alias: dt=5e-3 s with tau=2e-3 s was refused as "shorter than ...
    tau_m=0.002 s", an argument the caller did not give; refused before any simulation."""
    from v1model.spiking import spiking_convolutional_lca

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 4))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    X = rng.standard_normal((1, 16 if convolutional else 4))
    run = spiking_convolutional_lca if convolutional else spiking_lca
    kw = {"duration": 0.5, "dt": 5e-3, "tau_syn": 0.05, "target": "numpy", "seed": 0,
          "progress": False}
    with pytest.raises(ValueError, match=r"^dt=0\.005 s must be shorter than tau_syn=0\.05 s "
                                         r"and tau=0\.002 s") as info:
        run(X, K, 0.1, tau=2e-3, **kw)
    assert "tau_m" not in str(info.value)
    with pytest.raises(ValueError, match=r"and tau_m=0\.002 s"):  # the other name, as given
        run(X, K, 0.1, tau_m=2e-3, **kw)


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
@pytest.mark.parametrize("convolutional", [False, True])
@pytest.mark.parametrize("scale, refractory, formula", [
    (300.0, 0.0, r"codes at tau / dt = 100 .*well below tau / "),  # saturated: 0.01 / 1e-4
    (1e-2, 0.0, r"one spike is worth tau / window = 0\.286 "),  # a few spikes: 0.01 / 0.035
    (1.0, 0.015, r"each at most tau / \(refractory \+ dt\) = 0\.662\)"),  # 0.01 / 0.0151
])
def test_warnings_name_tau_as_given(convolutional, scale, refractory, formula):
    """The warnings' formulas name the membrane time constant as the caller gave it: with
    tau=0.01 they said "tau_m / dt", "tau_m / window", an argument the caller did not give."""
    from v1model.spiking import spiking_convolutional_lca

    pytest.importorskip("brian2")  # it routes warnings to its logger from its import on
    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 4))
    K /= np.linalg.norm(K, axis=1, keepdims=True)
    # the dense network's drive is 1 for atom 0, the convolutional one's as random
    X = (rng.standard_normal((1, 16)) if convolutional else K[:1]) * scale
    run = spiking_convolutional_lca if convolutional else spiking_lca
    with pytest.warns(RuntimeWarning, match=formula) as record:
        run(X, K, 0.1 * scale, tau=0.01, duration=0.05, refractory=refractory,
            target="numpy", seed=0, progress=False)
    assert not [str(w.message) for w in record if "tau_m" in str(w.message)]


@pytest.mark.parametrize("name, unit, value, si", [
    ("dt", "ms", 0.1, r"0\.0001 \(s\)"), ("duration", "ms", 50.0, r"0\.05 \(s\)"),
    ("tau_m", "ms", 10.0, r"0\.01 \(s\)"), ("tau_syn", "ms", 2.5, r"0\.0025 \(s\)")])
def test_brian2_quantities_are_refused_by_name_with_their_value_in_seconds(name, unit, value,
                                                                           si):
    # times are plain floats in seconds at the boundary: dt=0.1*ms was refused as
    # "dt must be a real number, got array of shape () and dtype float64"
    import brian2

    X, D = _problem(n=1)
    with pytest.raises(TypeError, match=rf"{name} must be a plain number in SI units .*"
                                        rf"got the Brian2 quantity .*; pass {si}$"):
        spiking_lca(X, D, 0.1, target="numpy", progress=False,
                    **{name: value * getattr(brian2, unit)})


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore:the largest drive")  # a short run: few spikes, on purpose
def test_a_silent_units_potential_falls_without_floor_as_documented():
    """The integrator has no leak and no floor: a unit whose drive b is below lam
    integrates b - lam down at (b - lam) / tau_m per second, exactly (Euler on a constant),
    which a recorded v of -129.7 after 0.5 s looked like a bug without; the trace says so
    in its attrs. Atom 0 is driven at b = 0.1 < lam = 0.5, atom 1 at 2 (it fires)."""
    D = np.eye(2, 4)
    X = np.array([[0.1, 2.0, 0.0, 0.0]])
    ds = spiking_lca(X, D, 0.5, duration=0.02, target="numpy", v_init="zero",
                     inhibition=False, record_v=[0, 1], progress=False)
    v = ds["v"].values  # (time, unit), recorded at the start of each step
    t = ds["time"].values
    np.testing.assert_allclose(v[:, 0], (0.1 - 0.5) * t / 0.01, rtol=1e-9, atol=1e-12)
    assert v[-1, 0] < -0.79  # -0.8 at 0.02 s, still falling: -40 at 1 s
    assert v[:, 1].min() >= 0 and ds["spike_count"].values[0, 1] > 0
    assert ds["v"].attrs["units"] == "units of X"
    assert "no floor" in ds["v"].attrs["comment"]
