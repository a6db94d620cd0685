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
