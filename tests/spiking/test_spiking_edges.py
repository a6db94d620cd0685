"""Edge cases of the spiking simulators against closed-form results."""

import os

import numpy as np
import pytest

from v1model.spiking import spiking_lca

pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]


@pytest.mark.parametrize("n_dead", [1, 2, 10])
def test_refractory_period_is_the_dead_time_of_the_analytic_rate(n_dead):
    # orthogonal atoms (no inhibition): a unit of code a = b - lam integrates for
    # tau_m / a, then is held for the refractory period: rate 1 / (refractory + tau_m / a).
    # Brian2 counted the step that crossed threshold as dead time, so refractory = dt
    # changed nothing (5000 Hz instead of 3333 Hz for a = 50)
    dt, tau_m = 1e-4, 0.01
    refractory = n_dead * dt
    drive = np.array([[50.0, 5.0]])  # tau_m / a = 2 and 20 steps
    ds = spiking_lca(drive, np.eye(2), 0.0, duration=0.4, dt=dt, tau_m=tau_m,
                     refractory=refractory, v_init="zero", target="numpy", seed=0,
                     progress=False)
    expected = 1.0 / (refractory + tau_m / drive[0])
    window = ds.attrs["duration"] * (1 - ds.attrs["transient_fraction"])
    # a whole number of spikes in the counting window: within one spike of it
    np.testing.assert_allclose(ds["rate"].values[0], expected, atol=1.0 / window)


def test_spiking_lca_study_refuses_a_lam_that_silences_every_patch():
    # the dictionary learns from a pool of 20,000 patches whose largest drive (7.4 for
    # seed 0) is above lam = 3, but no coded patch's is: every LASSO code was zero and
    # the study wrote relative errors and correlations of 0 / 0 = NaN, with empty figures
    from studies import get_study

    study = get_study("spiking-lca")
    with pytest.raises(ValueError, match=r"lam=3\.0 is at least the largest drive .* "
                                         r"every non-negative LASSO code is zero"):
        study.run(quick=True, lam=3.0, n_patches=3, dictionary_updates=5, progress=False)


def test_spiking_lca_study_runs_an_overcomplete_dictionary():
    # 128 atoms on 8x8 patches: lambda_max(D D^T) ~ 28, so the study's ODE step of
    # 0.1 tau_m was past the Euler limit 2 tau_m / lambda_max and the run failed after
    # learning the dictionary, with "dt=0.001 s makes the Euler loop unstable" (the
    # spiking dt given was 1e-4)
    from studies import get_study

    ds = get_study("spiking-lca").run(quick=True, n_atoms=128, n_patches=2, duration=0.5,
                                      dictionary_updates=5, progress=False)
    lmax = np.linalg.norm(ds["dictionary"].values.reshape(128, -1), 2) ** 2
    assert lmax > 20  # the old step 0.1 tau_m was refused
    # the ODE runs over the same simulated time and reaches the LASSO codes
    assert ds["ode_time"].values[-1] == pytest.approx(0.5, rel=1e-12)
    assert float(ds["relative_error"].sel(encoder="ode")) < 0.05


def test_an_unwritable_cython_cache_falls_back_to_a_temporary_folder(tmp_path, monkeypatch):
    """With Brian2's Cython cache folder impossible to make (a read-only home on a
    cluster node), every cython run failed with "Couldn't create Cython cache
    directory"; the cache moves to a temporary folder, with one warning."""
    import brian2
    from brian2.codegen.runtime.cython_rt import extension_manager

    from v1model.spiking import _brian

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    key = "codegen.runtime.cython.cache_dir"
    before = brian2.prefs[key]
    try:
        brian2.prefs[key] = None
        # Cython reads CYTHON_CACHE_DIR once per process: its answer is replaced instead
        monkeypatch.setattr(extension_manager, "get_cython_cache_dir",
                            lambda: str(blocker / "cython"))  # a folder under a file
        with pytest.warns(UserWarning, match="cannot be created or written"):
            folder = _brian.ensure_cython_cache()
        assert brian2.prefs[key] == folder and folder != str(blocker / "cython")
        assert os.path.isdir(folder)
        # a writable cache is left as it is
        brian2.prefs[key] = None
        monkeypatch.setattr(extension_manager, "get_cython_cache_dir",
                            lambda: str(tmp_path / "cython" / "brian_extensions"))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert _brian.ensure_cython_cache() == str(tmp_path / "cython" / "brian_extensions")
        assert brian2.prefs[key] is None
        # nor is a folder the user chose (Brian2's own error names the preference)
        brian2.prefs[key] = str(blocker / "mine")
        monkeypatch.setattr(extension_manager, "get_cython_cache_dir", lambda: brian2.prefs[key])
        assert _brian.ensure_cython_cache() == str(blocker / "mine")
    finally:
        brian2.prefs[key] = before


def test_the_cython_cache_warning_names_the_users_line(tmp_path, monkeypatch):
    """The warning of an unwritable Cython cache named v1model/spiking/_brian.py
    (stacklevel=2, inside the package), not the user's call that ran the cython target."""
    import brian2
    from brian2.codegen.runtime.cython_rt import extension_manager

    from v1model.spiking import sailnet_inference

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    key = "codegen.runtime.cython.cache_dir"
    before = brian2.prefs[key]
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((4, 9))
    W, theta, X = np.zeros((4, 4)), np.full(4, 0.5), rng.standard_normal((3, 9))
    try:
        brian2.prefs[key] = None
        # Cython's cache folder (Brian2 adds "brian_extensions"; its preference still wins)
        monkeypatch.setattr(extension_manager, "base_cython_cache_dir",
                            lambda: str(blocker / "cython"))  # a folder under a file
        with pytest.warns(UserWarning, match="cannot be created or written") as record:
            sailnet_inference(X, Q, W, theta, n_steps=5, simulator="brian2", target="cython")
    finally:
        brian2.prefs[key] = before
    [warning] = [w for w in record if "Cython cache" in str(w.message)]
    assert warning.filename == __file__


@pytest.mark.parametrize("convolutional", [False, True])
def test_a_batch_whose_synapses_do_not_fit_is_refused_before_brian2(monkeypatch, convolutional):
    """n_samples * nnz(G) synapses at ~65 bytes each (a 2,000 x 256 batch: ~8.5 GB)
    were built until the memory ran out: refused under a 1 MiB limit before Brian2 is
    touched, naming the count that would fit."""
    import v1model.validation
    from v1model.spiking import _brian, spiking_convolutional_lca

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_brian, "simulation_device", no_build)
    rng = np.random.default_rng(0)
    if convolutional:
        X, kernels = rng.standard_normal((300, 32)), rng.standard_normal((3, 5))
        with pytest.raises(ValueError, match=r"^n_signals=300 signals of nnz\(G\)=\d+ "
                                             r"inhibitory .*\(at most \d+ would fit"):
            spiking_convolutional_lca(X, kernels, 0.1, duration=0.01, target="numpy")
        return
    k = 16
    D = rng.standard_normal((k, 9))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    fit = int(2**20 // (k * (k - 1) * 65))  # 67: G of random atoms has no zero off the diagonal
    with pytest.raises(ValueError, match=rf"^n_samples=200 samples \(rows of X\) of "
                                         rf"nnz\(G\)=240 .*\(at most {fit} would fit"):
        spiking_lca(rng.standard_normal((200, 9)), D, 0.1, duration=0.01, target="numpy")


def test_gram_matrix_is_built_only_for_the_inhibition_and_refused_by_name(monkeypatch):
    """The k x k weights D D^T - I were computed even with inhibition=False, which has
    no synapses: 200,000 atoms failed with NumPy's "Unable to allocate 298. GiB". Without
    inhibition every copy of atom e0 (drive 2, lam 1: code 1) counts the spikes of the
    same 4-atom network; with it, the Gram matrix is refused naming D's atoms (400
    atoms: 1.28e6 bytes under a 1 MiB limit, at most 362 fit) before Brian2 is touched."""
    import v1model.validation
    from v1model.spiking import _brian

    kw = {"duration": 0.1, "dt": 1e-3, "tau_m": 0.01, "tau_syn": 0.0025, "v_init": "zero",
          "transient_fraction": 0.0, "target": "numpy", "seed": 0, "progress": False}
    X = np.array([[2.0, 0.0, 0.0, 0.0]])
    k = 200_000
    D = np.zeros((k, 4))
    D[np.arange(k), np.arange(k) % 4] = 1.0
    small = spiking_lca(X, D[:4], 1.0, inhibition=False, **kw)["spike_count"].values[0]
    # code 1 at tau_m = 10 ms: 100 Hz, 10 spikes in 0.1 s give or take the last one
    assert small[0] in (9, 10) and not small[1:].any()
    counts = spiking_lca(X, D, 1.0, inhibition=False, **kw)["spike_count"].values[0]
    np.testing.assert_array_equal(counts, np.tile(small, k // 4))

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_brian, "simulation_device", no_build)
    D = np.random.default_rng(0).standard_normal((400, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    with pytest.raises(ValueError, match=r"^D has 400 atoms \(shape \(400, 4\)\): the lateral "
                                         r"weights .* 1\.28e\+06 bytes .*\(at most 362 atoms"):
        spiking_lca(X, D, 0.1, duration=0.01, target="numpy")


def test_membrane_traces_that_do_not_fit_are_refused_before_brian2(monkeypatch):
    """record_v traces (v and I_inh, float64) grew inside Brian2 until the memory ran out:
    50 atoms of 8 samples recorded every 0.1 ms step of 0.4 s are 400 x 4000 x 16 bytes
    (2.56e7), refused under a 1 MiB limit before Brian2 is touched; every 10 ms of 40 ms,
    the 4 records each of the same units (25.6 kB) are kept."""
    import v1model.validation
    from v1model.spiking import _brian

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    X = np.random.default_rng(0).standard_normal((8, 50))
    kw = {"inhibition": False, "target": "numpy", "seed": 0, "progress": False,
          "record_v": np.arange(50)}
    fits = spiking_lca(X, np.eye(50), 0.1, duration=0.04, record_dt=0.01, **kw)
    assert fits["v"].shape == (4, 400)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_brian, "simulation_device", no_build)
    with pytest.raises(ValueError, match=r"^record_v: 400 units recorded 4000 times "
                                         r"\(duration=0\.4 s every record_dt=0\.0001 s\) "
                                         r"would take 2\.56e\+07 bytes"):
        spiking_lca(X, np.eye(50), 0.1, duration=0.4, **kw)


def test_few_spikes_warning_counts_the_self_term_of_non_unit_atoms():
    """An atom of norm 0.2 inhibits itself by |d|^2 - 1 = -0.96: its code is
    (b - lam) / |d|^2 = (0.25 - 0.2) / 0.04 = 1.25 (the LASSO's), 44 spikes in the 0.35 s
    window, where the warning said 1.75 spikes (from b - lam = 0.05). Atoms of norm 5
    (code 0.05 / 25 = 0.002, 0.07 spikes) now warn with the code they will have."""
    import warnings

    kw = {"duration": 0.5, "target": "numpy", "seed": 0, "progress": False}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*spikes in the", category=RuntimeWarning)
        ds = spiking_lca(np.array([[1.25, 0.0]]), np.array([[0.2, 0.0]]), 0.2, **kw)
    assert abs(float(ds["code"][0, 0]) - 1.25) < 3 * 0.01 / 0.35  # within 3 spikes' worth
    with pytest.warns(RuntimeWarning, match=r"the largest code \(D x - lam\) / \|d_i\|\^2 is "
                                            r"0\.002, 0\.07 spikes"):
        spiking_lca(np.array([[0.05, 0.0]]), np.array([[5.0, 0.0]]), 0.2, **kw)


def test_windowed_rates_refuses_stopping_times_whose_codes_do_not_fit(monkeypatch):
    """windowed_rates returns a float64 code per stopping time, sample and atom: 100,000
    stopping times of 1000 x 1000 units failed with NumPy's "Unable to allocate 745. GiB".
    Under a 1 MiB limit, 2 x 3 units take 48 bytes per stopping time: 2**20 // 48 = 21845
    fit, 30,000 (1.44e6 bytes) are refused by name; 21845 are counted."""
    import xarray as xr

    import v1model.validation
    from v1model.spiking import windowed_rates

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    ds = xr.Dataset({"spike_time": ("spike", [1e-3, 5e-3]), "spike_sample": ("spike", [0, 1]),
                     "spike_atom": ("spike", [0, 2])},
                    coords={"sample": np.arange(2), "atom": np.arange(3)},
                    attrs={"duration": 0.01, "dt": 1e-3, "tau_m": 0.02,
                           "transient_fraction": 0.0})
    with pytest.raises(ValueError, match=r"^len\(t_stop\)=30000 stopping times .* 2 x 3\) "
                                         r"would take 1\.44e\+06 bytes .*\(at most 21845 would "
                                         r"fit\)"):
        windowed_rates(ds, np.linspace(0.006, 0.01, 30000))
    fits = windowed_rates(ds, np.full(21845, 0.01))
    # both spikes in [0, 10 ms): codes 1 spike / 10 ms * tau_m = 2
    np.testing.assert_array_equal(fits.values[-1], [[2.0, 0, 0], [0, 0, 2.0]])


def test_few_spikes_warning_words_each_case_right():
    """The warning before the run has two texts. lam at least every drive (0.3 and 0.1
    against lam 0.5): no unit fires and every code is 0, the non-negative LASSO's too; it
    said "the rates cannot resolve the codes; scale X (and lam) up ... or lengthen
    duration", which changes nothing. A drive 0.0005 above lam is 0.0005 / (tau_m /
    window) = 0.0005 / (0.01 / 0.035) = 0.00175 spikes: scaling or a longer run helps.
    A code of 0.9 (3.15 spikes) needs no warning."""
    import warnings

    kw = {"duration": 0.05, "target": "numpy", "seed": 0, "progress": False}
    with pytest.warns(RuntimeWarning) as record:
        ds = spiking_lca(np.array([[0.3, 0.1]]), np.eye(2), 0.5, **kw)
    texts = [str(w.message) for w in record if w.category is RuntimeWarning]
    assert texts == [("lam=0.5 is at least every drive D x (largest 0.3): no unit can fire and "
                      "every code is 0, as every non-negative LASSO code; lower lam below 0.3 "
                      "for non-zero codes")]
    assert not ds["spike_count"].values.any()  # max(x - lam, 0) = 0: the LASSO codes
    with pytest.warns(RuntimeWarning, match=r"^lam=0\.0 .*\(largest -0\.1\): .*; no drive D x "
                                            r"is positive, so no lam gives non-zero codes$"):
        spiking_lca(np.array([[-0.3, -0.1]]), np.eye(2), 0.0, **kw)
    with pytest.warns(RuntimeWarning, match=r"^the largest drive D x - lam is 0\.0005, "
                                            r"0\.00175 spikes in the 0\.035 s counting window "
                                            r".*cannot resolve the codes; scale X \(and lam\) "
                                            r"up .* or lengthen duration=0\.05$"):
        spiking_lca(np.array([[0.1005, 0.0]]), np.eye(2), 0.1, **kw)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*(spikes in the|no unit can fire)",
                                category=RuntimeWarning)
        ds = spiking_lca(np.array([[1.0, 0.0]]), np.eye(2), 0.1, **kw)
    assert abs(float(ds["code"][0, 0]) - 0.9) <= 0.01 / 0.035  # within one spike's worth


def test_importing_brian2_keeps_the_callers_warning_display():
    """Brian2's first import calls logging.captureWarnings(True): every later warning
    went to its logger, printed as "WARNING    file:line: RuntimeWarning: ...", the
    source line and "[py.warnings]"; the v1model command printed spiking-lca's second
    warning (the no-inhibition control's) that way, after the first as its own line.
    Run in a fresh interpreter: Brian2 may be imported here already."""
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "def show(message, category, filename, lineno, file=None, line=None):\n"
        "    print(f'caller: {message}', file=sys.stderr)\n"
        "warnings.showwarning = show\n"
        "from v1model.spiking._brian import import_brian2\n"
        "import_brian2()\n"
        "warnings.warn('after brian2', RuntimeWarning)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "caller: after brian2" in done.stderr, done.stderr
    assert "[py.warnings]" not in done.stderr, done.stderr


def test_a_runtime_run_waits_for_a_standalone_run_in_another_thread():
    """Brian2's device is one per process: a runtime-target run started in one thread
    while another thread's cpp_standalone run held the device built its objects on the
    standalone device (a dask worker's threads running a sweep over ``target``). It waits
    for the standalone run to end and finds the runtime device."""
    import threading

    from v1model.spiking import _brian

    brian2 = _brian.import_brian2()
    inside, release, seen = threading.Event(), threading.Event(), []

    def standalone():
        with _brian.simulation_device("cpp_standalone"):
            inside.set()
            release.wait(30)

    def runtime():
        with _brian.simulation_device("numpy"):
            seen.append(type(brian2.get_device()).__name__)

    first = threading.Thread(target=standalone)
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=runtime)
    second.start()
    second.join(1.0)  # a chance to enter the device too soon, were it not held
    release.set()
    first.join()
    second.join()
    assert seen == ["RuntimeDevice"]


def test_weights_digest_hashes_values_not_their_dtypes_bytes():
    """The digest of a kept cpp_standalone project's weights hashed a dense array's raw
    bytes: an int64 [[1, 2]] had the key of a float64 [[5e-324, 1e-323]] (another network
    run as this one), and float32 weights equal to float64 ones had another key (a
    needless compile)."""
    from v1model.spiking._brian import weights_digest

    ints = np.array([[1, 2]], dtype=np.int64)
    assert weights_digest(ints) != weights_digest(ints.view(np.float64))
    assert weights_digest(ints) == weights_digest(ints.astype(np.float64))
    W = np.array([[0.5, -0.25], [0.125, 1.0]])
    assert weights_digest(W.astype(np.float32)) == weights_digest(W)
    assert weights_digest(W) != weights_digest(W.T)
