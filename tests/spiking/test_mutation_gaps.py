"""Checks added by a mutation-testing audit of v1model.spiking: each one pins a behaviour
that a plausible slip in the code (a flipped comparison, a dropped term, a wrong default)
left untested, against an analytic value, a hand-written Euler simulation of the same
equations or the documented defaults. Brian2 runs use the numpy target and tiny networks."""

import inspect
import re
import warnings

import numpy as np
import pytest

from v1model.spiking import (learn_sailnet, sailnet_inference, spiking_convolutional_lca,
                             spiking_lca, windowed_rates)

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]


def _euler_counts(B, lam, n_steps, dt, tau_m, count_step, v0=None):
    """Uncoupled non-leaky integrate-and-fire units by hand (Brian2's order in a step:
    Euler update, threshold v > 1, subtractive reset); spikes of steps >= count_step."""
    v = np.zeros(B.shape) if v0 is None else v0.reshape(B.shape).copy()
    counts = np.zeros(B.shape, dtype=int)
    for step in range(n_steps):
        v = v + dt * (B - lam) / tau_m
        fired = v > 1
        v[fired] -= 1
        if step >= count_step:
            counts += fired
    return counts


# ----------------------------------------------------------------------- spiking LCA
@pytest.mark.brian2
def test_uncoupled_units_spike_counts_equal_a_hand_euler_run():
    """D = I: no synapses, each unit integrates b - lam alone from v = 0. Counts in the
    window [ceil(0.3 * 500), 500) steps equal the hand Euler run exactly, and the rate
    is the analytic (b - lam) / tau_m to within one spike in the 35 ms window."""
    X = np.array([[1.93, 1.571, 0.3], [0.05, 2.37, 1.77]])
    lam, dt, tau_m, duration = 0.1, 1e-4, 0.01, 0.05
    ds = spiking_lca(X, np.eye(3), lam, duration=duration, dt=dt, tau_m=tau_m,
                     v_init="zero", target="numpy", seed=0, record_v=[])
    assert "v" not in ds and "time" not in ds.dims  # an empty record_v records nothing
    want = _euler_counts(X, lam, 500, dt, tau_m, count_step=150)
    assert want.sum() > 20
    np.testing.assert_array_equal(ds["spike_count"].values, want)
    window = 350 * dt
    np.testing.assert_allclose(ds["rate"].values, want / window, rtol=1e-12)
    np.testing.assert_allclose(ds["code"].values, np.maximum(X - lam, 0),
                               atol=tau_m / window + 1e-12)
    assert ds.attrs["n_synapses"] == 0 and ds.attrs["n_neurons"] == 6
    np.testing.assert_allclose(ds.attrs["counting_window"], [0.3 * duration, duration])


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore:the largest drive")  # runs of a few steps on purpose
def test_threshold_is_strictly_above_one():
    """THRESHOLD = "v > 1" (module docstring: v_i > 1 -> spike). With dt = 2^-12 s,
    tau_m = 2^-6 s and b - lam = 16 the potential rises by exactly 1/4 a step: it sits
    on 1.0 after 4 steps without spiking and spikes on the 5th (v = 1.25 -> 0.25)."""
    dt, tau_m = 2.0**-12, 2.0**-6
    ds = spiking_lca(np.array([[16.0]]), np.eye(1), 0.0, duration=12 * dt, dt=dt,
                     tau_m=tau_m, v_init="zero", transient_fraction=0.0, target="numpy",
                     seed=0, record_v=[0], record_dt=dt, record_spikes=True)
    v = ds["v"].values[:, 0]  # recorded at the start of each step (record_dt = dt is allowed)
    np.testing.assert_array_equal(v[:6], [0.0, 0.25, 0.5, 0.75, 1.0, 0.25])
    # spikes at steps 4 and 8 (v = 1.25), so 2 of them in 12 steps
    np.testing.assert_allclose(ds["spike_time"].values, [4 * dt, 8 * dt])
    assert int(ds["spike_count"].values[0, 0]) == 2
    assert ds.attrs["brian2_seed"] == -1  # no noise: no Brian2 random numbers, no seed
    # a counting window of exactly one step (step 4 of 5) is allowed; its spike makes the
    # unit fire at every counted step, which is the saturation warning's case
    with pytest.warns(RuntimeWarning, match=r"1 of 1 units fired at every time step of the "
                                            r"counting window"):
        one = spiking_lca(np.array([[16.0]]), np.eye(1), 0.0, duration=5 * dt, dt=dt,
                          tau_m=tau_m, v_init="zero", transient_fraction=0.8, target="numpy")
    assert int(one["spike_count"].values[0, 0]) == 1
    assert float(one["rate"].values[0, 0]) == pytest.approx(1 / dt, rel=1e-12)


@pytest.mark.brian2
def test_uniform_initial_potentials_and_membrane_noise_amplitude():
    """v_init="uniform": v(0) are the first n * k draws of the seed's generator in [0, 1).
    Zero drift (b = lam) plus noise sigma accumulated over one tau_m: every Euler step adds
    a Gaussian of variance sigma^2 dt / tau_m (resets add back exactly 1)."""
    n, k, lam, sigma, dt, tau_m = 4, 40, 0.5, 0.1, 1e-4, 0.01
    X = np.full((n, k), lam)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "no unit can fire": b = lam
        ds = spiking_lca(X, np.eye(k), lam, duration=0.02, dt=dt, tau_m=tau_m, noise=sigma,
                         transient_fraction=0.0, target="numpy", seed=3,
                         record_v=np.arange(k))
    v = ds["v"].values  # (time, unit), units in sample-major order
    v0 = np.random.default_rng(3).random(n * k)
    np.testing.assert_allclose(v[0], v0, rtol=0, atol=1e-15)
    steps = np.diff(v, axis=0)
    steps[steps < -0.5] += 1.0  # subtractive resets
    assert steps.mean() == pytest.approx(0.0, abs=3e-4)
    assert steps.var() == pytest.approx(sigma**2 * dt / tau_m, rel=0.05)


# -------------------------------------------------------------------------- SAILnet
def _authors_counts(X, Q, W, theta, n_steps, eta):
    """SAILnet's activities.m one image at a time: u <- (1 - eta) u + eta (Q x - W y_prev),
    spike where u >= theta, reset those units to 0."""
    counts = np.zeros((len(X), len(Q)))
    for s, x in enumerate(X):
        u, y = np.zeros(len(Q)), np.zeros(len(Q))
        for _ in range(n_steps):
            u = (1 - eta) * u + eta * (Q @ x - W @ y)
            y = (u >= theta).astype(float)
            u[y > 0] = 0.0
            counts[s] += y
    return counts


# one count of update 2 reaches n_steps=20 (theta0 0.2-0.5): warned of, not the point here
@pytest.mark.filterwarnings("ignore:.*spike counts of the batch reached n_steps=:RuntimeWarning")
def test_sailnet_learning_history_against_the_rules_by_hand():
    """Four updates on a pool of patches, recomputed from the SAILnet rules (Foldiak W,
    Oja Q, homeostatic theta, moving-average rate) with the authors' per-image LIF; the
    pool is drawn with replacement from the seed's generator, batch_size rows per update.
    The history every 2 updates holds the batch statistics and |dQ| / |Q| of that update."""
    rng = np.random.default_rng(5)
    k, n_feat, batch, n_updates = 6, 9, 7, 4
    pool = rng.standard_normal((20, n_feat))
    Q0 = rng.standard_normal((k, n_feat))
    Q0 /= np.linalg.norm(Q0, axis=1, keepdims=True)
    theta0 = rng.uniform(0.2, 0.5, k)
    p, alpha, beta, gamma, eta_avg, n_steps, eta = 0.5, 0.6, 0.02, 0.15, 0.4, 20, 0.2
    ds = learn_sailnet(pool, k, p=p, alpha=alpha, beta=beta, gamma=gamma, theta0=theta0,
                       batch_size=batch, n_updates=n_updates, n_steps=n_steps, eta=eta,
                       eta_average=eta_avg, Q0=Q0, seed=11, record_every=2, progress=False,
                       dtype=np.float64)
    draws = np.random.default_rng(11)
    Q, W, theta, rate = Q0.copy(), np.zeros((k, k)), theta0.copy(), np.full(k, p)
    off = ~np.eye(k, dtype=bool)
    hist = {key: [] for key in ("mean_rate", "rate_spread", "mean_W", "mean_theta",
                                "mean_correlation", "q_change")}
    for update in range(n_updates):
        X = pool[draws.integers(0, len(pool), batch)]
        Y = _authors_counts(X, Q, W, theta, n_steps, eta)
        corr = Y.T @ Y / batch
        W = np.maximum(W + alpha * (corr - p**2), 0.0)
        np.fill_diagonal(W, 0.0)
        dQ = beta * (Y.T @ X - (Y**2).sum(axis=0)[:, None] * Q) / batch
        Q = Q + dQ
        theta = theta + gamma * (Y.mean(axis=0) - p)
        rate = (1 - eta_avg) * rate + eta_avg * Y.mean(axis=0)
        if update % 2 == 1:
            hist["mean_rate"].append(Y.mean())
            hist["rate_spread"].append(Y.mean(axis=0).std())
            hist["mean_W"].append(W[off].mean())
            hist["mean_theta"].append(theta.mean())
            hist["mean_correlation"].append(corr[off].mean())
            hist["q_change"].append(np.linalg.norm(dQ) / np.linalg.norm(Q))
    assert W.max() > 0 and len(np.unique(Y.sum(axis=0))) > 2  # inhibition acted, not flat
    np.testing.assert_allclose(ds["Q"].values.reshape(k, -1), Q, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ds["W"].values, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ds["theta"].values, theta, rtol=1e-10)
    np.testing.assert_allclose(ds["rate"].values, rate, rtol=1e-10)
    np.testing.assert_array_equal(ds["update"].values, [2, 4])
    for key, values in hist.items():
        np.testing.assert_allclose(ds[key].values, values, rtol=1e-10, atol=1e-13,
                                   err_msg=key)
    assert ds["Q"].dims == ("neuron", "y", "x") and ds["Q"].shape == (k, 3, 3)
    assert ds.attrs["data"] == "patches" and ds.attrs["init"] == "Q0"
    assert ds.attrs["theta0"] == pytest.approx(theta0.mean())


# -------------------------------------------------------------- documented defaults
def _defaults(func):
    return {name: par.default for name, par in inspect.signature(func).parameters.items()
            if par.default is not inspect.Parameter.empty}


def test_spiking_lca_defaults_are_the_documented_ones():
    """The docstring of spiking_lca states every default; the signature must agree."""
    doc = spiking_lca.__doc__
    documented = {"duration": (1.0, "(default 1 s)"), "dt": (1e-4, "(default 0.1 ms)"),
                  # None: 10 ms, or the alias tau when that is given
                  "tau_m": (None, "(default 10 ms)"), "tau": (None, "Alias of ``tau_m``"),
                  "tau_syn": (0.0025, "(default 2.5 ms"),
                  "refractory": (0.0, "(default 0:"), "transient_fraction": (0.3, "(default 0.3)"),
                  "inhibition": (True, "inhibition : bool, default True"),
                  "v_init": ("uniform", "[0, 1) from ``seed``\n        (default;"),
                  "noise": (0.0, "(default 0: deterministic"),
                  "target": ("cython", "compiled Cython (default;"),
                  "record_spikes": (False, "record_spikes : bool, default False"),
                  "record_v": (None, "record_v : sequence"),
                  "record_dt": (None, "(default ``dt``)"),
                  "progress": (None, "progress : bool or None, default None"),
                  "seed": (None, "seed : None")}
    assert _defaults(spiking_lca) == {name: value for name, (value, _) in documented.items()}
    for name, (_, phrase) in documented.items():
        assert phrase in doc, name


def test_spiking_convolutional_lca_defaults_are_the_documented_ones():
    """Its docstring lists "name : type, default value" for every keyword."""
    doc = spiking_convolutional_lca.__doc__
    stated = dict(re.findall(r"^    (\w+) : [^\n]*, default ([^\n]+)$", doc, flags=re.M))
    defaults = _defaults(spiking_convolutional_lca)
    # tau_m (None: 10 ms), its alias tau and sample_rate (None: samples) are "float,
    # optional", stated in words
    assert set(stated) == set(defaults) - {"stride", "boundary", "seed", "tau_m", "tau",
                                           "sample_rate"}
    for name, text in stated.items():
        assert defaults[name] == eval(text), name  # literals: 1.0, "cython", True, None
    assert defaults["stride"] is None and defaults["boundary"] is None
    assert defaults["tau_m"] is None and defaults["tau"] is None
    assert "(default 0.01; code = rate * tau_m)" in doc and "Alias of ``tau_m``" in doc


def test_sailnet_defaults_are_the_authors_and_the_documented_ones():
    """Zylberberg et al.'s MATLAB defaults, as the module and function docstrings state
    (theta0=None is 2, or the theta of the run continued)."""
    assert _defaults(learn_sailnet) == dict(
        n_neurons=256, patch_size=16, p=0.05, alpha=1.0, beta=0.01, gamma=0.1, theta0=None,
        batch_size=100, n_updates=25000, n_steps=50, eta=0.1, eta_average=0.3, border=20,
        Q0=None, W0=None, rate0=None, previous=None, seed=None, record_every=1, progress=True,
        dtype=np.float32)
    # target, tau and dtype None: not given (target and tau refused with simulator="numpy",
    # dtype=float32 with "brian2"); Brian2's "numpy" target, 10 ms, the kernel's float32
    assert _defaults(sailnet_inference) == dict(n_steps=50, eta=0.1, simulator="numpy",
                                                target=None, tau=None, dtype=None,
                                                progress=None)
    doc = learn_sailnet.__doc__
    for phrase in ("(default 256)", "(default 16)", "(default 0.05)", "defaults 1, 0.01, 0.1",
                   "(default 2)", "(default 100)", "(default 25 000", "defaults 50 and 0.1",
                   "(default 0.3", "(default 20", "(default 1)", "progress : bool or None, "
                   "default True", "dtype : float32 or float64, default float32"):
        assert phrase in doc, phrase
    doc = sailnet_inference.__doc__
    for phrase in ("(default 50)", "(default 0.1)", "NumPy kernel (default)",
                   'target : {"numpy", "cython", "cpp_standalone"}, optional',
                   'default ``"numpy"``, which needs no compiler',
                   "default 10 ms", "dtype : float32 or float64, optional",
                   "Precision of the NumPy kernel: default float32",
                   "progress : bool or None, default None"):
        assert phrase in doc, phrase


# ------------------------------------------------------------------ argument limits
_X2, _D3 = np.ones((2, 3)), np.eye(3)


@pytest.mark.parametrize("kwargs, error, match", [
    # an Euler step equal to a time constant already overshoots: the bound is strict
    (dict(dt=0.0025), ValueError, r"dt=0.0025 s must be shorter than tau_syn=0.0025 s"),
    (dict(dt=0.01, tau_syn=0.05), ValueError, r"and tau_m=0.01 s .* dt <= 0.001 s"),
    # refractory equal to the counting window (0.5 s) lets a unit fire once at most
    (dict(duration=1.0, transient_fraction=0.5, refractory=0.5), ValueError,
     r"refractory=0.5 s is at least the counting window .* = 0.5 s\)"),
    (dict(duration=1e-4, transient_fraction=0.5), ValueError,
     r"counting window .* = 5e-05 s\) is shorter than dt \(0.0001 s\)"),
    (dict(record_v=[3]), ValueError, r"atom indices must be in \[0, 3\), got \[3\]"),
    (dict(record_v=[-1]), ValueError, r"atom indices must be in \[0, 3\), got \[-1\]"),
    (dict(record_v=[[2, 0]]), ValueError, r"pairs must be in \[0, 2\) x \[0, 3\), got \[\[2, 0"),
    (dict(record_v=[[0, 3]]), ValueError, r"pairs must be in \[0, 2\) x \[0, 3\), got \[\[0, 3"),
    (dict(record_v=[[-1, 0]]), ValueError, r"got \[\[-1, 0\]\]"),
    (dict(record_v=[[0, -1]]), ValueError, r"got \[\[0, -1\]\]"),
    (dict(record_v=[[0, 1, 2]]), ValueError, r"atom indices or \(sample, atom\) pairs, got "
                                             r"shape \(1, 3\)"),
    (dict(record_v=[0.5]), TypeError, "record_v must hold integer indices, got float64"),
    # a mix of atom indices and pairs failed with NumPy's "inhomogeneous shape", unnamed
    (dict(record_v=[0, (1, 2)]), ValueError,
     r"record_v must be atom indices or \(sample, atom\) pairs, not a mix of the two, "
     r"got \[0, \(1, 2"),
    (dict(transient_fraction=-0.1), ValueError, r"transient_fraction must be in \[0, 1\]"),
])
def test_spiking_lca_limits_are_refused_before_simulating(kwargs, error, match):
    with pytest.raises(error, match=match):
        spiking_lca(_X2, _D3, 0.1, target="numpy", **kwargs)


def test_sailnet_inference_names_a_lateral_matrix_of_the_wrong_shape():
    Q = np.eye(3)
    with pytest.raises(ValueError, match=r"W must have shape \(3, 3\) to match Q \(3, 3\), "
                                         r"got \(2, 2\)"):
        sailnet_inference(np.ones((2, 3)), Q, np.zeros((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"W must have shape \(3, 3\) .* got \(3, 4\)"):
        sailnet_inference(np.ones((2, 3)), Q, np.zeros((3, 4)), np.ones(3))


@pytest.mark.filterwarnings("ignore:6 of 15 units fired at every one")  # eta = 1
def test_sailnet_eta_of_one_is_allowed_and_is_the_plain_update():
    """eta in (0, 1]: with eta = 1 the potential is the input of the step,
    u = Q x - W y_prev (the authors' rule with (1 - eta) u = 0)."""
    rng = np.random.default_rng(2)
    Q = rng.standard_normal((5, 4))
    W = np.abs(rng.standard_normal((5, 5))) * 0.5
    np.fill_diagonal(W, 0)
    X, theta = rng.standard_normal((3, 4)), rng.uniform(0.1, 0.6, 5)
    counts = sailnet_inference(X, Q, W, theta, n_steps=12, eta=1.0, dtype=np.float64)
    ref = _authors_counts(X, Q, W, theta, 12, 1.0)
    assert ref.sum() > 5
    np.testing.assert_array_equal(counts, ref)
    with pytest.raises(ValueError, match=r"eta \(step in membrane time constants\) must be "
                                         r"<= 1, got 1.01"):
        sailnet_inference(X, Q, W, theta, eta=1.01)


def test_sailnet_limits_at_their_bounds_are_allowed():
    """eta_average = 1 (rate = the last batch's), record_every = n_updates (one record)
    and p = n_steps (a spike every step) are all inside the documented ranges."""
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((10, 5))
    ds = learn_sailnet(pool, 3, n_updates=2, record_every=2, eta_average=1.0, p=5.0,
                       n_steps=5, batch_size=4, theta0=-1.0, alpha=0.0, beta=0.0,
                       gamma=0.0, seed=0, progress=False)
    # theta0 < 0 with no learning: every unit fires at every step of every image
    np.testing.assert_array_equal(ds["rate"].values, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(ds["mean_rate"].values, [5.0])
    np.testing.assert_array_equal(ds["update"].values, [2])
    # 5 features are no square patch: one row of 5 pixels
    assert ds["Q"].shape == (3, 1, 5) and ds.attrs["patch_shape"] == [1, 5]
    assert ds.attrs["dtype"] == "float32"  # the documented default precision of inference
    with pytest.raises(ValueError, match="n_neurons must be >= 1, got 0"):
        learn_sailnet(pool, 0, n_updates=1, progress=False)
    with pytest.raises(ValueError, match="eta_average must be <= 1, got 1.5"):
        learn_sailnet(pool, 3, n_updates=1, eta_average=1.5, progress=False)
    with pytest.raises(ValueError, match=r"p=5.5 spikes per image .* n_steps=5 steps"):
        learn_sailnet(pool, 3, n_updates=1, p=5.5, n_steps=5, progress=False)


# ------------------------------------------------------------------- windowed_rates
def _spike_record(steps, samples, atoms, dt=1e-3, duration=0.01, tau_m=0.02, frac=0.3):
    import xarray as xr

    return xr.Dataset(
        {"spike_time": ("spike", np.asarray(steps) * dt),
         "spike_sample": ("spike", np.asarray(samples)),
         "spike_atom": ("spike", np.asarray(atoms))},
        coords={"sample": np.arange(2), "atom": np.arange(3)},
        attrs=dict(duration=duration, dt=dt, tau_m=tau_m, transient_fraction=frac))


def test_windowed_rates_with_a_transient_fraction_of_zero_count_from_the_start():
    """transient_fraction=0 overrides the run's 0.3 and is allowed ([0, 1)): every spike
    of steps [0, 10) counts, over 10 ms; 0.5 counts steps [5, 10) over 5 ms."""
    ds = _spike_record([0, 1, 2, 5, 9, 9], [0, 0, 1, 1, 0, 1], [2, 2, 0, 1, 2, 1])
    got = windowed_rates(ds, 0.01, transient_fraction=0.0)
    want = np.array([[0, 0, 3], [1, 2, 0]]) * 0.02 / 0.01
    np.testing.assert_allclose(got.values, want, rtol=1e-12)
    assert got.attrs["transient_fraction"] == 0.0
    half = windowed_rates(ds, 0.01, transient_fraction=0.5)
    np.testing.assert_allclose(half.values, np.array([[0, 0, 1], [0, 2, 0]]) * 0.02 / 0.005,
                               rtol=1e-12)


@pytest.mark.parametrize("t_stop", [0.0, -0.002, 0.0101])
def test_windowed_rates_refuses_stopping_times_outside_the_run(t_stop):
    ds = _spike_record([1, 5], [0, 1], [0, 2])
    with pytest.raises(ValueError, match=r"t_stop must be in \(0, 0.01\] s, got \["):
        windowed_rates(ds, [0.005, t_stop])


# ------------------------------------------------------------------ network backend
@pytest.mark.brian2
def test_soft_threshold_backend_is_on_minus_off_at_the_networks_lam_and_tau():
    """encode(backend="spiking") with threshold="soft" runs the dictionary [D; -D] with the
    network's lam and tau as tau_m. Without inhibition each ON / OFF unit integrates its
    own drive, so the codes are (ON - OFF) counts * tau / window from a hand Euler run,
    and within one spike of the soft-thresholded drive sign(b) max(|b| - lam, 0)."""
    from v1model import SparseCodingNetwork

    lam, tau, dt = 0.3, 0.02, 1e-4
    net = SparseCodingNetwork(np.eye(2), lam=lam, threshold="soft", tau=tau)
    X = np.array([[1.7, -1.1], [-2.3, 0.2]])
    codes, ds = net.encode(X, backend="spiking", duration=0.1, dt=dt, v_init="zero",
                           inhibition=False, target="numpy", seed=0, return_dataset=True)
    counts = _euler_counts(np.hstack([X, -X]), lam, 1000, dt, tau, count_step=300)
    np.testing.assert_array_equal(ds["spike_count"].values, counts)
    window = 700 * dt
    np.testing.assert_allclose(codes, (counts[:, :2] - counts[:, 2:]) * tau / window,
                               rtol=1e-12)
    soft = np.sign(X) * np.maximum(np.abs(X) - lam, 0)
    np.testing.assert_allclose(codes, soft, atol=tau / window + 1e-12)
    assert ds.attrs["lam"] == lam and ds.attrs["tau_m"] == tau


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore:1 of 1 units fired at every one")  # on purpose
def test_sailnet_brian2_network_fires_at_equality_too():
    """The Brian2 SAILnet spikes when v >= theta like the authors' u >= theta: with
    eta = 0.5 (dt = tau / 2, exact in binary), drive 2 and theta 1, v lands on exactly 1
    after every reset, so each of the 4 steps spikes (v > theta would give 2)."""
    X, Q = np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]])
    counts = sailnet_inference(X, Q, np.zeros((1, 1)), np.array([1.0]), n_steps=4, eta=0.5,
                               simulator="brian2", target="numpy", tau=1.0)
    assert counts.tolist() == [[4]] and counts.dtype == np.int64


# ------------------------------------------------------------------ Brian2 boundary
def test_block_diagonal_pairs_of_a_sparse_non_symmetric_matrix():
    """weights[post, pre] as scipy.sparse (the convolutional network's Gram matrix): the
    pairs rebuild kron(I, W) like the dense path, stored zeros are not connected, and
    the synapses come grouped by presynaptic neuron."""
    import scipy.sparse as sp

    from v1model.spiking._brian import block_diagonal_pairs

    W = np.array([[0.0, 2.0, 0.0], [-1.0, 0.0, 0.5], [3.0, 0.0, 0.0]])
    rows, cols = np.nonzero(W)
    # with one explicitly stored zero at (0, 2)
    sparse = sp.csr_matrix((np.append(W[rows, cols], 0.0), (np.append(rows, 0),
                                                           np.append(cols, 2))), shape=(3, 3))
    assert sparse.nnz == 5
    i, j, w = block_diagonal_pairs(sparse, 2)
    dense = np.zeros((6, 6))
    np.add.at(dense, (j, i), w)
    np.testing.assert_array_equal(dense, np.kron(np.eye(2), W))
    assert w.size == 2 * 4 and np.all(w != 0) and np.all(np.diff(i) >= 0)


def test_sailnet_history_of_a_single_neuron_has_no_pairs():
    """With one neuron there is no off-diagonal pair: mean_W and mean_correlation are
    reported as 0 (not the NaN mean of nothing), W stays the 1 x 1 zero."""
    pool = np.random.default_rng(1).standard_normal((6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "mean of empty slice"
        # theta0 < 0 fires the unit at every step, on purpose: warned of, once
        warnings.filterwarnings("ignore", "update 1: 3 of 3 spike counts", RuntimeWarning)
        ds = learn_sailnet(pool, 1, n_updates=2, batch_size=3, theta0=-1.0, n_steps=4,
                           seed=0, progress=False)
    np.testing.assert_array_equal(ds["mean_W"].values, [0.0, 0.0])
    np.testing.assert_array_equal(ds["mean_correlation"].values, [0.0, 0.0])
    np.testing.assert_array_equal(ds["W"].values, [[0.0]])
    np.testing.assert_array_equal(ds["mean_rate"].values, [4.0, 4.0])


def test_rf_helpers_refuse_all_zero_fields():
    from v1model.spiking import rf_overlap, rf_spread

    Q = np.zeros((3, 2, 2))
    Q[1, 0, 1] = 1e-3  # small but not zero: fine
    with pytest.raises(ValueError, match=r"Q has 2 all-zero receptive field\(s\)"):
        rf_spread(Q)
    with pytest.raises(ValueError, match=r"Q has 2 all-zero receptive field\(s\)"):
        rf_overlap(Q)
    np.testing.assert_allclose(rf_spread(Q[1:2]), [0.0])
    np.testing.assert_allclose(rf_overlap(Q[1:2].reshape(1, -1)), [[1.0]])


@pytest.mark.parametrize("call", ["spiking_lca", "spiking_convolutional_lca", "learn_sailnet"])
def test_progress_must_be_a_bool_or_none(call):
    """A string such as "no" would be truthy: refused, named, before any work."""
    calls = {
        "spiking_lca": lambda: spiking_lca(_X2, _D3, 0.1, target="numpy", progress="no"),
        "spiking_convolutional_lca": lambda: spiking_convolutional_lca(
            np.ones((1, 8)), np.ones((1, 2)) / np.sqrt(2), 0.1, target="numpy", progress="no"),
        "learn_sailnet": lambda: learn_sailnet(np.ones((4, 4)), 2, n_updates=1, progress="no"),
    }
    with pytest.raises(TypeError, match="progress must be True, False or None .* got 'no'"):
        calls[call]()


@pytest.mark.filterwarnings("ignore:1 of 4 units fired at every one")  # a strong drive
def test_sailnet_inference_of_one_stimulus_given_as_a_vector():
    """X of shape (n_features,) is one stimulus: counts of shape (1, n_neurons), as for
    the (1, n_features) matrix, and as the authors' loop gives."""
    rng = np.random.default_rng(7)
    Q, x = rng.standard_normal((4, 6)), 2 * rng.standard_normal(6)
    W, theta = np.zeros((4, 4)), np.full(4, 0.3)
    counts = sailnet_inference(x, Q, W, theta, dtype=np.float64)
    assert counts.shape == (1, 4) and counts.sum() > 0
    np.testing.assert_array_equal(counts, _authors_counts(x[None], Q, W, theta, 50, 0.1))


def test_rf_spread_measures_vertical_and_diagonal_extent():
    """spread = sqrt(sum e |r - r_c|^2) with e = q^2 / sum q^2: two equal pixels 4 rows
    apart spread 2; two equal pixels 5 apart on a 3-4-5 diagonal spread 2.5; weights
    (1, 2) on pixels 3 apart put e = (1/5, 4/5), spread sqrt(1/5 * 4/5) * 3 = 1.2."""
    from v1model.spiking import rf_spread

    Q = np.zeros((3, 6, 6))
    Q[0, 1, 2] = Q[0, 5, 2] = 1.0
    Q[1, 0, 0] = Q[1, 3, 4] = -1.0
    Q[2, 2, 1], Q[2, 2, 4] = 1.0, 2.0
    np.testing.assert_allclose(rf_spread(Q), [2.0, 2.5, 1.2], rtol=1e-12)


def test_sailnet_silence_warning_counts_the_updates_homeostasis_still_needs():
    """theta0 = 100 far above every drive: homeostasis lowers theta by gamma * p = 0.005
    per silent update. The warning comes at update 100 (counted as the history's), after
    99 such steps, and says how many more are needed: (theta - max Q x) / (gamma * p)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)
    Q0 = np.eye(2, 4)
    gap = (100.0 - 99 * 0.1 * 0.05) - (Q0 @ x).max()
    more = re.escape(f"{gap / (0.1 * 0.05):.3g}")  # 1.99e+04
    with pytest.warns(RuntimeWarning, match=rf"up to update 100\): the lowest threshold theta = "
                                            rf"99.5 is above .* homeostasis lowers theta by only "
                                            rf"gamma \* p = 0.005 per silent update "
                                            rf"\(~{more} more updates"):
        learn_sailnet(np.tile(x, (3, 1)), 2, Q0=Q0, theta0=100.0, n_updates=100,
                      batch_size=2, n_steps=2, seed=0, progress=False)


# ---------------------------------------------------------- spiking convolutional LCA
@pytest.mark.brian2
def test_convolutional_network_warns_when_lam_silences_every_unit():
    """As the dense network: lam above every drive Φᵀx is said before simulating, and
    no unit fires."""
    K = np.array([[1.0, 1.0]]) / np.sqrt(2)
    X = np.array([[0.5, -0.2, 0.3, 0.1, 0.0, 0.4]])
    # refractory 2 ms in the 7 ms window still allows 3.5 spikes: no refractory warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = spiking_convolutional_lca(X, K, 2.0, duration=0.01, refractory=0.002,
                                       target="numpy", seed=0)
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(said) == 1, said
    assert re.match(r"lam=2.0 is at least every drive D x \(largest 0.354\): no unit can "
                    r"fire", said[0])
    assert ds["spike_count"].shape == (1, 1, 7) and not ds["spike_count"].values.any()
    # the window the rates count: [transient_fraction * duration, duration]
    np.testing.assert_allclose(ds.attrs["counting_window"], [0.003, 0.01], rtol=1e-12)


def test_spiking_backend_refuses_the_cauchy_prior():
    """The spiking LCA minimises the L1 LASSO only: a Cauchy-prior network is refused
    with the prior named, before any simulation."""
    from v1model import SparseCodingNetwork

    net = SparseCodingNetwork(np.eye(2), prior="cauchy")
    with pytest.raises(ValueError, match="backend='spiking' needs prior='l1', got "
                                         "prior='cauchy'"):
        net.encode(np.ones((1, 2)), backend="spiking", duration=0.01, target="numpy")


def test_seconds_is_a_brian2_quantity_in_seconds():
    from brian2 import ms, second

    from v1model.spiking._brian import seconds

    assert seconds(0.25) == 0.25 * second and seconds(2e-3) == 2 * ms


def test_sailnet_overflow_names_the_mean_squared_spike_count():
    """theta0 < 0: every unit fires at each of the 4 steps, so <n^2> = 16 exactly; a beta
    of 1e307 overflows Q at the first update (update 1, as the history counts it) and the
    error quotes that 16."""
    pool = np.random.default_rng(0).standard_normal((5, 4))
    with pytest.raises(FloatingPointError, match=r"diverged at update 1: .*<n\^2> of this "
                                                 r"batch is 16 and the largest"):
        learn_sailnet(pool, 3, theta0=-5.0, beta=1e307, n_steps=4, n_updates=1,
                      batch_size=2, seed=0, progress=False)


@pytest.mark.parametrize("scale", [1e300, 1e-13, 1e-200])
def test_rf_helpers_are_scale_invariant(scale):
    # fields of 1e300 had an infinite norm: overlap 0 everywhere (the diagonal too) and
    # spread NaN; fields of 1e-13 were refused as "all-zero"
    from v1model.spiking import rf_overlap, rf_spread

    Q = np.random.default_rng(0).standard_normal((4, 5, 5))
    flat = Q.reshape(4, -1)
    cosine = (flat @ flat.T) / np.outer(*2 * [np.linalg.norm(flat, axis=1)])
    np.testing.assert_allclose(rf_overlap(Q * scale), cosine, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rf_spread(Q * scale), rf_spread(Q), rtol=1e-12)


@pytest.mark.parametrize("duration, dt", [(1e15, 1e-4), (1e300, 1e-4), (0.01, 1e-300)])
def test_spiking_lca_refuses_more_steps_than_the_clock_counts(duration, dt):
    # 1e19 steps overflowed Brian2's int64 step counter: no step was run and every rate
    # came back 0 within a second; 1e304 steps failed inside Brian2 (BrianObjectException)
    from v1model.spiking import spiking_lca

    D = np.eye(4)
    with pytest.raises(ValueError, match="duration / dt"):
        spiking_lca(np.ones((1, 4)), D, 0.1, duration=duration, dt=dt, progress=False)


@pytest.mark.parametrize("scale", [1e39, 1e300])
def test_sailnet_inference_float32_refuses_values_beyond_its_range(scale):
    # the NumPy kernel cast drives, W and theta to float32: inf everywhere and every count
    # 0, with no word; float64 counts the scaled problem like the unscaled one
    rng = np.random.default_rng(0)
    Q, X = rng.standard_normal((6, 16)), rng.standard_normal((4, 16))
    W = 0.3 * np.abs(rng.standard_normal((6, 6)))
    np.fill_diagonal(W, 0.0)
    theta = np.ones(6)
    ref = sailnet_inference(X, Q, W, theta, dtype=np.float64)
    assert ref.sum() > 0
    np.testing.assert_array_equal(
        sailnet_inference(X, Q * scale, W * scale, theta * scale, dtype=np.float64), ref)
    with pytest.raises(ValueError, match=r"X @ Q\.T has values up to .* beyond the range of "
                                         r"float32"):
        sailnet_inference(X, Q * scale, W * scale, theta * scale, dtype=np.float32)
    with pytest.raises(ValueError, match=r"theta has values up to"):
        sailnet_inference(X, Q, W, theta * scale, dtype=np.float32)
