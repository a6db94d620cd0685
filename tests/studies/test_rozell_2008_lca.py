"""rozell-2008-lca end to end (quick): LCA converges to the LASSO optimum,
rate-distortion curves are monotone and ordered as in the paper."""

import re

import numpy as np
import pytest


@pytest.fixture(scope="module")
def result():
    from studies import get_study

    study = get_study("rozell-2008-lca")
    return study, study.run(quick=True, seed=1, n_updates=150, n_eval=60, n_levels=4,
                            progress=False)


def test_soft_lca_reaches_fista_optimum(result):
    _, ds = result
    gap = ds["lca_relative_gap"].values
    assert 0 <= gap[-1] <= 2e-3  # 6.9e-4 measured after 4 levels of simulated time
    assert gap[-1] < 0.01 * gap[1]  # it converged from far away
    # the hard threshold settles on a sparser code than the soft one
    n_active = ds["lca_n_active"].isel(time=-1)
    assert float(n_active.sel(threshold="hard")) < float(n_active.sel(threshold="soft"))
    assert ds["time"].attrs["units"] == "s"
    # the first time from which the gap stays below 1%, read off the recorded curve
    time, stays = ds["time"].values, np.flatnonzero(gap >= 0.01)
    assert ds.attrs["time_to_1pct_gap_soft"] == pytest.approx(time[stays[-1] + 1])
    assert 0 < ds.attrs["time_to_1pct_gap_soft"] < time[-1]


def test_rate_distortion(result):
    _, ds = result
    for solver in ds["solver"].values:
        n_active = ds["rd_n_active"].sel(solver=solver).values
        mse = ds["rd_mse"].sel(solver=solver).values
        order = np.argsort(n_active)
        # more active coefficients, lower error
        assert np.all(np.diff(mse[order]) <= 1e-12), solver
    # at equal numbers of atoms OMP's orthogonal projection beats plain MP
    omp = ds["rd_mse"].sel(solver="omp").values
    mp = ds["rd_mse"].sel(solver="mp").values
    assert np.all(omp <= mp + 1e-12)
    # each omp_tol patch stops at the first k whose squared residual is within tol
    X_energy = ds.attrs["omp_tol_patch_energy"]
    tols = ds["rd_parameter"].sel(solver="omp_tol").values
    np.testing.assert_allclose(tols, np.geomspace(0.5, 0.02, tols.size) * X_energy)
    assert np.all(ds["rd_mse"].sel(solver="omp_tol").values * ds.attrs["patch_size"] ** 2
                  <= tols * (1 + 1e-6))


def test_plot_writes_pngs(result, tmp_path):
    study, ds = result
    paths = study.plot(ds, tmp_path)
    assert len(paths) == 2
    for path in paths:
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"


def test_rate_distortion_label_gives_the_pixel_scale_of_the_images(tmp_path, monkeypatch):
    """The MSE axis names the scale of the pixels it is measured in: the mean squared
    pixel of the test patches, not a fixed 0.1 (Olshausen's pre-whitened images have
    0.074; here pre-whitened images at a quarter of the 0.1 of the whitened photographs)."""
    import re

    from scipy.io import savemat

    import v1model.io
    from stimuli import load_images, sample_patches, split_images, whiten
    from studies import get_study

    images = 0.5 * whiten(load_images("skimage"))  # variance 0.025, never whitened again
    path = tmp_path / "IMAGES.mat"  # sparsenet's layout: (height, width, image)
    savemat(path, {"IMAGES": np.moveaxis(images, 0, -1)})
    study = get_study("rozell-2008-lca")
    ds = study.run(quick=True, seed=0, images=str(path), n_updates=20, n_train=2000,
                   n_eval=40, n_levels=2, t_max=0.02, progress=False)
    p = int(ds.attrs["patch_size"])
    # an independent estimate: the mean squared pixel of many patches of those images
    expected = float(np.mean(sample_patches(images, p, 5000, seed=5) ** 2))
    assert expected == pytest.approx(0.025, rel=0.1)
    # ... of the held-out columns the test patches come from (the pictures' edges have
    # less contrast than their centres: 0.021 here), and the spread of a mean of 40
    _, held_out = split_images(images, ds.attrs["held_out_fraction"])
    energy = np.mean(sample_patches(held_out, p, 5000, seed=5) ** 2, axis=1)
    expected, spread = float(energy.mean()), float(energy.std() / np.sqrt(40))
    # the test patches' own: their mean energy per patch, per pixel (0.015, 1.3 spreads
    # below; 40 patches drawn from the whole pictures gave 0.0244)
    tested = ds.attrs["omp_tol_patch_energy"] / p**2
    assert abs(tested - expected) < 3 * spread
    labels = {}
    real_save = v1model.io.save_figure

    def keep_label(fig, path, *args, **kwargs):
        labels[path.name] = fig.axes[0].get_ylabel()
        return real_save(fig, path, *args, **kwargs)

    monkeypatch.setattr(v1model.io, "save_figure", keep_label)
    study.plot(ds, tmp_path)
    label = labels["rozell-2008-lca_rate_distortion.png"]
    stated = float(re.findall(r"\d+\.\d+", label)[-1])
    assert stated == pytest.approx(tested, rel=0.01), label  # 3 significant digits
    assert ds.attrs["pixel_mean_square"] == pytest.approx(tested, rel=1e-12)


@pytest.mark.filterwarnings("ignore::v1model.inference.ConvergenceWarning")  # 5 updates
@pytest.mark.parametrize("prewhitened", [True, False])
def test_an_array_of_whitened_images_is_not_whitened_again(prewhitened):
    """An array does not say whether it is whitened (is_prewhitened: False): an array of
    Olshausen's images was whitened a second time, silently, with no way to say so.
    prewhitened=True keeps the array's pixels (here variance 0.025, a quarter of the 0.1
    that whiten gives), as in the other image studies."""
    from stimuli import load_images, sample_patches, split_images, whiten
    from studies import get_study

    images = 0.5 * whiten(load_images("skimage", size=64))
    ds = get_study("rozell-2008-lca").run(
        quick=True, seed=0, images=images, prewhitened=prewhitened, n_updates=5,
        n_train=500, n_eval=200, n_levels=2, t_max=0.01, progress=False)
    assert ds.attrs["prewhitened"] == int(prewhitened)
    p = int(ds.attrs["patch_size"])
    # an independent estimate: the mean squared pixel of many patches of the images used
    used = images if prewhitened else whiten(images)
    expected = float(np.mean(sample_patches(used, p, 5000, seed=5) ** 2))
    assert expected == pytest.approx(0.025 if prewhitened else 0.1, rel=0.15)
    # ... of their held-out columns, which the 200 test patches come from (16 of the 64:
    # one 8x8 patch with its borders), and the spread of a mean of 200; over every one of
    # their 490 patch positions (5,000 draws of them were repeats, certainly)
    _, held_out = split_images(used, ds.attrs["held_out_fraction"])
    windows = np.lib.stride_tricks.sliding_window_view(held_out, (p, p), axis=(1, 2))
    energy = np.mean(windows[:, 4:-4, 4:-4] ** 2, axis=(3, 4)).ravel()
    assert energy.size == 490
    expected, spread = float(energy.mean()), float(energy.std() / np.sqrt(200))
    assert abs(ds.attrs["pixel_mean_square"] - expected) < 3 * spread


def test_soft_lca_rate_distortion_lies_on_the_lasso_curve(result):
    """At each lam the soft LCA's code is the LASSO's (FISTA's): as many active
    coefficients and the same error. At lca's default tol=1e-3 it stopped with
    near-threshold units still on: 4-6% more active than FISTA at lam = 0.05."""
    _, ds = result
    soft = ds.sel(solver="lca_soft")
    fista = ds.sel(solver="fista")
    np.testing.assert_array_equal(soft["rd_parameter"].values, fista["rd_parameter"].values)
    np.testing.assert_allclose(soft["rd_n_active"].values, fista["rd_n_active"].values,
                               rtol=0.01)
    np.testing.assert_allclose(soft["rd_mse"].values, fista["rd_mse"].values, rtol=0.01)
    assert ds.attrs["rd_lca_tol"] == 1e-4


def test_progress_false_draws_no_bar(monkeypatch, capsys):
    """progress=False silenced the learning only: the FISTA optimum, the two LCA time
    courses and every rate-distortion solver drew their automatic bars once slow
    (1,500 patches: 'lca: 100%|...' twice on stderr), in a sweep's log too. The delay
    before an automatic bar is set to 0 here, so any bar left on shows."""
    import v1model.progress
    from studies import get_study

    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    get_study("rozell-2008-lca").run(quick=True, n_train=300, n_updates=3, n_eval=5,
                                     n_levels=2, t_max=0.01, progress=False)
    err = capsys.readouterr().err
    assert "%|" not in err, err[-300:]


@pytest.mark.filterwarnings("ignore::v1model.inference.ConvergenceWarning")  # 3 updates
def test_rd_parameter_says_what_each_row_holds_and_its_units(tmp_path):
    """rd_parameter holds lam (units of X) for the L1 methods and the hard LCA,
    n_nonzero (a count) for OMP / MP at k atoms and a squared residual tol ((units of
    X)^2) for omp_tol, all under one label "1": per-solver coordinates name them, and
    survive a netCDF round trip."""
    from studies import get_study
    from v1model.io import load_dataset, save_dataset

    ds = get_study("rozell-2008-lca").run(quick=True, n_updates=3, patch_size=6, n_atoms=12,
                                         n_train=300, n_eval=20, n_levels=3, progress=False)
    expected = {"lca_soft": ("lam", "units of X"), "lca_hard": ("lam", "units of X"),
                "fista": ("lam", "units of X"), "omp": ("n_nonzero", "1"),
                "mp": ("n_nonzero", "1"), "omp_tol": ("tol", "(units of X)^2")}
    back = load_dataset(save_dataset(ds, tmp_path / "rozell.nc"))
    for out in (ds, back):
        got = {str(s): (str(n), str(u)) for s, n, u in zip(
            out["solver"].values, out["rd_parameter_name"].values,
            out["rd_parameter_units"].values)}
        assert got == expected
    assert ds["rd_parameter"].attrs["units"] != "1"
    # the rows hold what the names say: the soft thresholds of the run, whole counts of
    # atoms, tolerances on the squared residual of a patch
    rd = ds["rd_parameter"]
    np.testing.assert_allclose(rd.sel(solver="fista"), np.geomspace(0.05, 1.0, 3))
    omp = rd.sel(solver="omp").values
    assert np.array_equal(omp, np.round(omp)) and omp.min() >= 1
    np.testing.assert_allclose(rd.sel(solver="omp_tol"),
                               np.geomspace(0.5, 0.02, 3) * ds.attrs["omp_tol_patch_energy"])


def test_rd_n_active_counts_coefficients_per_patch(result):
    """OMP with n_nonzero=k gives every patch exactly k atoms: its rate is k per patch
    (not a fraction of the atoms, nor a total over the patches)."""
    _, ds = result
    omp = ds.sel(solver="omp")
    np.testing.assert_array_equal(omp["rd_n_active"].values, omp["rd_parameter"].values)
    assert omp["rd_parameter"].values.max() > 1  # not a level where 1 is both readings


def test_the_solvers_warnings_say_their_settings_are_fixed_here(monkeypatch):
    """The rate-distortion soft LCA warned "raise max_steps or loosen tol" (seed 1 at the
    smallest sizes: "row 3 of X", 1 of 5 test patches), the FISTA optimum and the
    rate-distortion FISTA "raise max_iter or loosen tol": none is a study parameter.
    Each now says its limit and tol are fixed here, names the study, which call it was
    and the test patches. (The solvers are limited to 1 iteration / step, to fall
    short.)"""
    import functools
    import warnings

    import v1model.inference
    from studies import get_study
    from v1model.inference import ConvergenceWarning

    real_fista, real_encode = v1model.inference.fista, v1model.inference.encode

    @functools.wraps(real_fista)
    def short_fista(*args, **kwargs):
        return real_fista(*args, **{**kwargs, "max_iter": 1})

    @functools.wraps(real_encode)
    def short_encode(X, D, method="fista", **kwargs):
        limit = ({"max_iter": 1} if method == "fista" else
                 {"max_steps": 1} if method == "lca" and "threshold" not in kwargs else {})
        return real_encode(X, D, method, **{**kwargs, **limit})

    monkeypatch.setattr(v1model.inference, "fista", short_fista)
    monkeypatch.setattr(v1model.inference, "encode", short_encode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("rozell-2008-lca").run(quick=True, seed=1, n_train=300, n_updates=3,
                                         n_eval=5, n_levels=2, t_max=0.01, progress=False)
    short = [str(w.message) for w in caught if w.category is ConvergenceWarning
             and "samples not converged (rows" in str(w.message)]  # a solver's, not the
    # learner's ("... in 3 of 3 updates")
    runs = ["the LASSO optimum of the dynamics (fista)",
            "the rate-distortion lca_soft at lam=0.05",
            "the rate-distortion lca_soft at lam=1",
            "the rate-distortion fista at lam=0.05", "the rate-distortion fista at lam=1"]
    assert len(short) == len(runs), short
    for text, run, (limit, tol) in zip(short, runs, [("max_iter", "1e-07")]
                                       + [("max_steps", "0.0001")] * 2
                                       + [("max_iter", "0.0001")] * 2):
        # the solver's own closing sentence (how far its stopped rows are) stays last
        text, gap = re.subn(r"\. Their LASSO duality gap is up to [0-9.e+-]+ \|\|x\|\|\^2, "
                            r"a bound on their objective's excess over the optimum$", "", text)
        assert gap == 1, text
        assert text.endswith(f"; {run})"), text
        assert f"{limit}=1 and tol={tol} are fixed here" in text, text
        assert "-p NAME=VALUE on `v1model study run rozell-2008-lca`" in text, text
        assert " of the test patches);" in text and " of X" not in text, text
        assert "raise max" not in text and "loosen tol" not in text, text


@pytest.mark.slow  # 15 s (2 runs); the quick thread case: smith-lewicki's rate comparison
def test_another_threads_convergence_warning_is_not_hidden_by_the_rate_distortion(
        monkeypatch):
    """The hard LCA and OMP-to-tol rate-distortion calls ignored ConvergenceWarning in
    a warnings.catch_warnings block, one per process: a warning another thread gave
    meanwhile (another point of a dask worker with threads) was hidden too. Their
    shortfall is counted in this thread's context now: each of the 12 calls' neighbour
    warnings (6 solvers at 2 levels) reaches the caller, and the numbers are those of
    a run without neighbours."""
    import threading
    import warnings

    import v1model.inference
    from studies import get_study
    from v1model.inference import ConvergenceWarning

    real_encode = v1model.inference.encode
    text = "another point's solver stopped short"

    def with_a_neighbour(*args, **kwargs):
        codes = real_encode(*args, **kwargs)
        neighbour = threading.Thread(target=lambda: warnings.warn(text, ConvergenceWarning))
        neighbour.start()
        neighbour.join()
        return codes

    small = dict(quick=True, n_train=300, n_updates=3, n_eval=5, n_levels=2, t_max=0.01,
                 progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the 3 updates' learner
        alone = get_study("rozell-2008-lca").run(**small)
    monkeypatch.setattr(v1model.inference, "encode", with_a_neighbour)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = get_study("rozell-2008-lca").run(**small)
    assert sum(str(w.message) == text for w in caught) == 12
    for name in ("rd_n_active", "rd_mse", "rd_parameter"):
        np.testing.assert_array_equal(ds[name].values, alone[name].values)


def test_the_lasso_optimum_counts_the_lasso_active_set():
    """The dynamics result compared the LCA's energy with the LASSO optimum's but had no
    LASSO active count to compare the LCA's active count with (the paper's Fig. 3-4):
    the optimum's count and energy match scikit-learn's Lasso, patch by patch."""
    from sklearn.linear_model import Lasso

    from studies.rozell_2008_lca import lasso_optimum

    rng = np.random.default_rng(3)
    D = rng.standard_normal((32, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((10, 16))
    lam = 0.3
    objective, n_active = lasso_optimum(X, D, lam)
    # sklearn minimises 1/(2 n_features) ||x - D^T a||^2 + alpha ||a||_1 per patch
    lasso = Lasso(alpha=lam / 16, fit_intercept=False, tol=1e-12, max_iter=100000)
    A = np.stack([lasso.fit(D.T, x).coef_.copy() for x in X])
    expected = np.sum(0.5 * np.sum((X - A @ D) ** 2, axis=1) + lam * np.abs(A).sum(1))
    assert n_active == np.count_nonzero(A) / len(X)
    assert objective == pytest.approx(expected, rel=1e-9)


def test_dynamics_compare_the_lca_active_count_with_the_lasso_optimum(result):
    _, ds = result
    lasso = ds["fista_n_active"]
    assert lasso.dims == () and lasso.attrs["units"] == "1"
    n_active = ds["lca_n_active"].isel(time=-1)
    # the soft LCA ends on the LASSO's active set, up to the near-threshold units its
    # stop leaves (measured 2026-12-07: LASSO 12.62, soft LCA 13.10, hard LCA 9.72)
    assert float(n_active.sel(threshold="soft")) == pytest.approx(float(lasso), rel=0.05)
    # the hard threshold settles on a sparser code than the LASSO's
    assert float(n_active.sel(threshold="hard")) < float(lasso)
    # the fixed constants of the LASSO optimum and of the rate-distortion FISTA
    assert (ds.attrs["optimum_tol"], ds.attrs["optimum_max_iter"]) == (1e-7, 20000)
    assert ds.attrs["rd_fista_tol"] == 1e-4


@pytest.mark.filterwarnings("ignore::v1model.inference.ConvergenceWarning")  # 3 updates
def test_t_max_shorter_than_one_step_is_refused_and_the_time_simulated_recorded():
    """t_max below one Euler step was simulated as one step (t_max=1e-5 s: 3.8e-4 s,
    38x longer) while attrs["t_max"] said 1e-5; a t_max between whole steps is simulated
    in a whole number of them, now recorded as attrs["t_simulated"]."""
    from studies import get_study

    small = dict(quick=True, patch_size=6, n_atoms=12, n_train=300, n_updates=3, n_eval=5,
                 n_levels=2, progress=False)
    study = get_study("rozell-2008-lca")
    with pytest.raises(ValueError, match=r"^t_max=1e-05 s is shorter than one Euler step "
                                         r"of the dynamics, dt=.* give t_max >= "):
        study.run(t_max=1e-5, **small)
    ds = study.run(t_max=0.0153, **small)
    dt, t_simulated = ds.attrs["dt"], ds.attrs["t_simulated"]
    assert ds.attrs["t_max"] == 0.0153
    # the last recorded time is the time simulated, a whole number of steps, within dt/2
    np.testing.assert_allclose(ds["time"].values[-1], t_simulated, rtol=1e-12)
    n_steps = t_simulated / dt
    assert abs(n_steps - round(n_steps)) < 1e-9 and abs(t_simulated - 0.0153) <= dt / 2


@pytest.mark.filterwarnings("ignore::v1model.inference.ConvergenceWarning")  # 2 updates
def test_duplicated_atoms_name_the_studys_parameters_at_the_callers_line():
    """learn_dictionary's duplicated-atoms warning told the study's user to "draw the
    initial atoms from more samples" or "learn with learn_online, learn_mod or learn_ksvd",
    which the study fixes, and named the study's own line: now n_updates, n_train (fewer
    training patches than atoms: init="data" reuses them) and n_atoms, at the caller's."""
    import warnings

    from studies import get_study

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study("rozell-2008-lca").run(quick=True, patch_size=6, n_atoms=40, n_train=20,
                                         n_updates=2, n_eval=5, n_levels=2, progress=False)
    (w,) = [w for w in caught if "duplicated pair(s) of atoms" in str(w.message)]
    text = str(w.message)
    assert re.search(r"; raise n_updates \(now 2\), raise n_train \(now 20\) or lower n_atoms "
                     r"\(now 40\) \(the study's parameters: -p NAME=VALUE on `v1model study "
                     r"run rozell-2008-lca`", text), text
    assert "learn_online" not in text and "init=" not in text
    assert w.filename == __file__
