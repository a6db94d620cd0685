"""v1model.progress: the solvers' bars show when asked, or once a call runs long,
never inside a sweep's points unless asked, and refuse anything but True/False/None."""

import inspect
import warnings

import numpy as np
import pytest

from v1model.inference import encode
from v1model.learning.olshausen_field import cauchy_inference
from v1model.progress import PROGRESS_DELAY, progress_bar, quiet_auto_bars


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((30, 16)), D


@pytest.fixture
def bars(record_bars):
    """The tqdm bars made during the test, as [desc, total, units counted, disabled]."""
    return record_bars("desc", "total", "n", "disable")


@pytest.mark.parametrize("progress, disabled, delay", [
    (True, False, 0.0), (False, True, 0.0), (None, False, PROGRESS_DELAY)])
def test_bar_settings(progress, disabled, delay):
    with progress_bar(progress, total=3, desc="x") as bar:
        assert bar.disable is disabled
        if not disabled:
            assert bar.delay == delay and bar.leave is False
    with quiet_auto_bars():
        assert progress_bar(None, total=3, desc="x").disable is True
        assert progress_bar(True, total=3, desc="x").disable is False
    assert progress_bar(None, total=3, desc="x").disable is False  # the block is left


@pytest.mark.parametrize("method, kw, desc", [
    ("fista", {"lam": 0.5}, "fista"), ("ista", {"lam": 0.5}, "ista"),
    ("lca", {"lam": 0.5}, "lca"), ("lca", {"lam": 0.5, "n_steps": 20}, "lca"),
    ("active_set", {"lam": 0.5}, "lasso_active_set"), ("iht", {"n_nonzero": 3}, "iht"),
    ("cd", {"lam": 0.5}, "lasso_cd"), ("mp", {"n_nonzero": 3}, "matching_pursuit"),
    ("omp", {"n_nonzero": 3}, "orthogonal_mp"),
    ("omp", {"n_nonzero": 3, "positive": True}, "orthogonal_mp")])
def test_solvers_draw_a_bar_over_every_sample_when_asked(problem, bars, method, kw, desc):
    X, D = problem
    ref = encode(X, D, method, **kw, progress=False)
    codes = encode(X, D, method, **kw, progress=True)
    encode(X, D, method, **kw)  # None: shown only if the call runs 2 s
    assert bars == [[desc, 30, 30, True], [desc, 30, 30, False], [desc, 30, 30, False]]
    np.testing.assert_array_equal(codes, ref)  # the bar changes nothing


@pytest.mark.parametrize("max_sweeps", [2, 1000])
def test_lasso_cd_history_bar_reaches_its_total(problem, bars, max_sweeps):
    """With return_history the bar counted only the samples that converged: stopped by
    max_sweeps, all 30 unconverged, it ended at 0 of 30 (converged, at 30 as before)."""
    from v1model.inference import lasso_cd
    from v1model.inference._common import ConvergenceWarning

    X, D = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the converged run warns not
        if max_sweeps == 2:
            warnings.simplefilter("ignore", ConvergenceWarning)
        lasso_cd(X, D, 0.3, max_sweeps=max_sweeps, return_history=True, progress=True)
    assert bars == [["lasso_cd", 30, 30, False]]


@pytest.mark.parametrize("method, kw", [
    ("cd", {"lam": 0.3}), ("cd", {"lam": 0.3, "positive": True}),
    ("mp", {"n_nonzero": 8}), ("mp", {"tol": 1.0}), ("omp", {"n_nonzero": 8}),
    ("omp", {"tol": 1.0})])
def test_solvers_coded_in_chunks_give_the_codes_of_one_call(bars, monkeypatch, method, kw):
    # cd and mp code the samples in chunks of SOLVER_CHUNK for their bar, after one product
    # X D^T for all rows: bit-identical to one chunk. omp makes that product per block of
    # rows: its blocks give the codes of calls on the same rows, and one block for all
    # rows equal codes only where BLAS rounds a row alike for any number of rows
    from v1model.inference import _common, pursuit

    rng = np.random.default_rng(1)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3000, 6)) @ D[:6] * 3 + 0.1 * rng.standard_normal((3000, 64))
    monkeypatch.setattr(_common, "SOLVER_CHUNK", 10**9)
    whole = encode(X, D, method, **kw, progress=False)
    monkeypatch.setattr(_common, "SOLVER_CHUNK", 256)
    monkeypatch.setattr(pursuit, "_omp_block_size", lambda *args: 256)
    chunked = encode(X, D, method, **kw, progress=True)
    assert np.count_nonzero(whole) > 3 * len(X)  # not trivially zero
    if method == "omp":
        monkeypatch.setattr(pursuit, "_omp_block_size", lambda *args: 10**9)
        calls = np.concatenate([encode(X[s:s + 256], D, method, **kw, progress=False)
                                for s in range(0, len(X), 256)])
        np.testing.assert_array_equal(chunked, calls)
        # bit-identical on most BLAS kernels; elsewhere a rounding change can tip a near-tie
        # or a stop on tol by one atom (of 0.24 on an AMD EPYC): a few samples, each coded
        # as well, with at most one atom more or less
        off = ~np.isclose(chunked, whole, rtol=0, atol=1e-6 * np.abs(whole).max()).all(axis=1)
        assert off.sum() <= len(X) // 100
        n_chunked, n_whole = (np.count_nonzero(A[off], axis=1) for A in (chunked, whole))
        assert np.all(np.abs(n_chunked - n_whole) <= 1)
        r_chunked, r_whole = (((X[off] - A[off] @ D) ** 2).sum(axis=1) for A in (chunked, whole))
        if "tol" in kw:
            assert np.all(np.maximum(r_chunked, r_whole) <= kw["tol"] * (1 + 1e-9))
        else:
            np.testing.assert_allclose(r_chunked, r_whole, rtol=2e-2)
    else:
        np.testing.assert_array_equal(chunked, whole)
    shown = [bar for bar in bars if not bar[3]]
    assert [bar[1:3] for bar in shown] == [[3000, 3000]]  # the bar counted every sample


def test_short_calls_draw_nothing_by_default(problem, capsys):
    X, D = problem
    encode(X, D, "fista", lam=0.5)
    encode(X, D, "fista", lam=0.5, progress=True)
    assert "fista" in capsys.readouterr().err  # stderr is captured: only the second drew
    encode(X, D, "fista", lam=0.5)
    assert capsys.readouterr().err == ""


def test_ivp_bar_counts_simulated_time(problem, bars):
    from v1model.inference import lca

    X, D = problem
    lca(X[:3], D, 0.5, integrator="ivp", tau=0.01, n_steps=100, dt=0.001, progress=True)
    (desc, total, n, disabled), = bars
    assert desc == "lca (solve_ivp)" and total == pytest.approx(10.0)  # 100 steps of 0.1 tau
    assert n == pytest.approx(10.0) and not disabled


def test_cauchy_inference_bar(problem, bars):
    X, D = problem
    cauchy_inference(X, D, 0.1, progress=True)
    assert bars == [["cauchy MAP (L-BFGS-B)", 30, 30, False]]


def test_solver_error_by_iteration_bars(problem, bars):
    from v1model.amortized.compare import solver_error_by_iteration

    X, D = problem
    solver_error_by_iteration(X, D, 0.5, 7, progress=True)
    assert bars == [["fista", 30, 30, False], ["ista, fista", 14, 14, False]]


@pytest.mark.parametrize("call", [
    lambda X, D: encode(X, D, "fista", lam=0.5, progress="yes"),
    lambda X, D: encode(X, D, "omp", n_nonzero=2, progress=1),
    lambda X, D: cauchy_inference(X, D, 0.1, progress="yes"),
])
def test_progress_must_be_true_false_or_none(problem, call):
    with pytest.raises(TypeError, match=r"progress must be True, False or None \(a bar once "
                                        r"the call runs 2 s\), got"):
        call(*problem)


def test_numpy_bools_are_taken_as_progress(problem, bars):
    """A flag read from an array or a netCDF attribute is a NumPy bool: it was refused
    ("progress must be True, False or None ..., got np.False_")."""
    from v1model.progress import check_progress

    assert check_progress(np.True_) is True and check_progress(np.False_) is False
    encode(*problem, "fista", lam=0.5, progress=np.True_)
    assert bars and bars[-1][0] == "fista"


def test_sweep_points_run_without_automatic_bars(monkeypatch):
    """A point runs its study inside quiet_auto_bars unless the spec asks for bars."""
    from v1model.progress import _QUIET
    from v1model.sweep import point

    seen = []

    def fake_study(quick, seed, progress=True):
        seen.append((progress, _QUIET.get()))
        import xarray as xr
        return xr.Dataset({"x": ((), 1.0)})

    class Ref:
        def __init__(self, name):
            pass

        def function(self):
            return fake_study

        def parameters(self):
            return {"progress": None}, None

    monkeypatch.setattr(point, "StudyRef", Ref)
    for params in ({}, {"progress": True}):
        task = point.PointTask(index=0, study="fake", params=params, seed=0, quick=True,
                               swept=(), dims=())
        assert point.run_point(task).ok
    assert seen == [(False, True), (True, False)]


def _long_calls():
    import v1model.convolutional as conv
    from stimuli import dead_leaves, load_images, sample_patches, whiten
    from v1model.amortized.compare import solver_error_by_iteration
    from v1model.amortized.lista import optimal_codes
    from v1model.analysis import (contrast_response, cross_orientation_suppression,
                                  drifting_grating_responses, fit_gabor, grating_responses,
                                  length_tuning, map_receptive_fields, size_tuning)
    from v1model.inference import fista, iht, lasso_active_set, lca
    from v1model.spiking import sailnet_inference, spiking_convolutional_lca, spiking_lca

    return [encode, lca, fista, lasso_active_set, iht,
            cauchy_inference, optimal_codes, solver_error_by_iteration, dead_leaves,
            load_images, whiten, sample_patches,
            conv.encode, conv.matching_pursuit, spiking_lca, spiking_convolutional_lca,
            sailnet_inference, fit_gabor, map_receptive_fields, grating_responses,
            drifting_grating_responses,
            contrast_response, size_tuning, cross_orientation_suppression, length_tuning]


@pytest.mark.parametrize("func", _long_calls(), ids=lambda f: f.__name__)
def test_calls_that_can_run_long_draw_a_bar_once_they_do(func):
    """Every call that takes seconds to minutes on realistic data defaults to the
    delayed bar (analysis, convolutional and spiking ones used to default to none;
    the image loaders to a bar chosen by the size of the work)."""
    import inspect

    assert inspect.signature(func).parameters["progress"].default is None


def test_analysis_bar_counts_batches(bars):
    from v1model.analysis import map_receptive_fields

    D = np.eye(16)
    map_receptive_fields(lambda S: S @ D.T, (4, 4), n_stimuli=300, batch_size=100, seed=0,
                         progress=True)
    assert bars == [["reverse correlation", 3, 3, False]]


@pytest.mark.parametrize("learner, kw", [
    ("learn_dictionary", {}), ("learn_online", {}), ("learn_mod", {}),
    ("learn_ksvd", {"method": "fista"})])
def test_learners_take_the_delayed_bar_too(problem, bars, learner, kw):
    import v1model.learning as learning

    X, _ = problem
    getattr(learning, learner)(X, 8, lam=0.1, n_updates=2, seed=0, progress=None, **kw)
    (desc, total, n, disabled), = [b for b in bars if b[1] == 2]
    assert (total, n, disabled) == (2, 2, False)
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        getattr(learning, learner)(X, 8, lam=0.1, n_updates=2, seed=0, progress="yes", **kw)


def test_explicit_refreshes_wait_for_the_delay_too(capsys, monkeypatch):
    """reset / set_description / set_postfix drew a delayed bar at once: every
    fit_gabor call (its bar is reset between two stages) flashed one."""
    import v1model.progress as progress
    from v1model.analysis import fit_gabor

    # a delay no call here outlasts: the first fit_gabor of a process (scipy.optimize is
    # imported inside its bar) took over the 2 s default on a loaded machine and drew
    # its bar by right; the refreshes drew at once whatever the delay
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 1e6)
    atoms = np.random.default_rng(0).standard_normal((4, 8, 8))
    fit_gabor(atoms)
    assert capsys.readouterr().err == ""
    bar = progress_bar(None, total=10, desc="x")
    bar.set_description("y")
    bar.set_postfix(a=1)
    bar.reset(total=5)
    assert capsys.readouterr().err == ""
    # past the delay the bar draws itself as usual
    monkeypatch.setattr(bar, "_time", lambda: bar.start_t + progress.PROGRESS_DELAY + 1)
    bar.update(5)
    bar.close()
    assert "y: 100%" in capsys.readouterr().err
    fit_gabor(atoms, progress=True)
    assert "Gabor fits" in capsys.readouterr().err


def test_a_numpy_false_hides_the_bar(problem, bars):
    """progress=np.False_ (accepted as False) drew the bar at once, as True does:
    progress_bar tested ``progress is False``."""
    from v1model.learning import learn_dictionary

    assert progress_bar(np.False_, total=3, desc="x").disable is True
    bar = progress_bar(np.True_, total=3, desc="x")
    assert bar.disable is False and bar.delay == 0.0
    bar.close()
    X, _ = problem
    del bars[:]
    encode(*problem, "fista", lam=0.5, progress=np.False_)
    learn_dictionary(X, 4, n_updates=2, progress=np.False_)
    assert {bar[0] for bar in bars} == {"fista", "learning (l1)"}
    assert all(bar[3] is True for bar in bars)  # every one disabled


def test_a_job_told_to_be_quiet_silences_the_calls_it_does_not_hand_the_flag(problem, bars):
    from v1model.progress import quiet_when_told
    from v1model.sweep.preflight import checks_parameters

    X, D = problem

    @checks_parameters
    @quiet_when_told
    def job(n, *, progress=True):
        """A study's run: its inner call is left at progress=None."""
        return encode(X[:n], D, "fista", lam=0.5)

    # the signature and the sweep's mark survive: sweeps and `study show` read them
    assert str(inspect.signature(job)) == "(n, *, progress=True)"
    assert getattr(job, "__v1model_checks_parameters__", False) is True
    for progress, disabled in [(False, True), (np.False_, True), (True, False),
                               (None, False)]:
        bars.clear()
        job(30, progress=progress)
        assert bars == [["fista", 30, 30, disabled]], progress
    bars.clear()
    job(30)  # the default, True
    assert bars == [["fista", 30, 30, False]]
    assert progress_bar(None, total=3, desc="x").disable is False  # left behind the job
    with pytest.raises(TypeError, match="job must take a progress parameter"):
        quiet_when_told(lambda n: n)


def test_sae_partial_fit_chunks_draw_the_delayed_bar(record_bars):
    # a chunk of a stream drew its bar at once (fit's setting), for a fraction of a second
    from v1model.sae import SparseAutoencoder

    made = record_bars("desc", "disable", "delay")
    X = np.random.default_rng(0).standard_normal((256, 16))
    sae = SparseAutoencoder(8, "topk", k=2, n_steps=20, batch_size=64, seed=0).fit(X)
    sae.partial_fit(X[:128])
    sae.progress = False
    sae.partial_fit(X[:128])
    assert made == [["sae (topk)", False, 0.0], ["sae (topk)", False, PROGRESS_DELAY],
                    ["sae (topk)", True, 0.0]]


def test_a_job_refuses_an_unknown_keyword_naming_itself_and_the_close_matches():
    # bind_partial's bare "got an unexpected keyword argument 'tau'" named no function
    from v1model.progress import quiet_when_told

    @quiet_when_told
    def job(n, *, tau_m=1.0, tau_syn=2.0, progress=True):
        return n

    with pytest.raises(TypeError) as info:
        job(1, tau=0.02)
    message = str(info.value)
    assert "job() has no parameter 'tau' (did you mean 'tau_m' or 'tau_syn'?)" in message
    assert message.endswith("valid parameters: n, progress, tau_m, tau_syn")
    with pytest.raises(TypeError, match=r"job\(\): too many positional arguments"):
        job(1, 2)
    assert job(3, tau_m=0.5) == 3  # a valid call is untouched
