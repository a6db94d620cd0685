"""The lca-sweep example study: one point against scikit-learn's LASSO, and a
small sweep of it (the trade-off's direction, the figure, the example spec)."""

from pathlib import Path

import numpy as np
import pytest

from v1model.sweep import load_spec, run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweeps" / "lca_sweep.toml"
SMALL = {"n_updates": 0, "n_train": 300, "n_test": 60, "gabor": False}


@pytest.mark.filterwarnings("ignore:Objective did not converge")  # duality gaps ~1e-5
def test_point_matches_lasso_codes_of_the_same_patches():
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    import studies.lca_sweep as study
    from stimuli import load_images, sample_patches, split_images, whiten
    from v1model.learning.olshausen_field import init_dictionary

    lam = 0.1
    ds = study.run(seed=3, lam=lam, overcompleteness=2, **SMALL)
    # the same patches and data-initialised dictionary, drawn independently
    # (training patches from the left 80% of the columns, test patches from the rest)
    rng = np.random.default_rng(3)
    train, held_out = split_images(whiten(load_images("skimage")), 0.2)
    sample_patches(train, 8, 300, seed=rng)
    X = sample_patches(held_out, 8, 60, seed=rng)
    D = ds["dictionary"].values.reshape(128, 64)
    A = sklearn_decomposition.sparse_encode(X, D, algorithm="lasso_cd", alpha=lam,
                                            max_iter=5000)
    error = np.sum((X - A @ D) ** 2) / np.sum(X**2)
    assert float(ds["reconstruction_error"]) == pytest.approx(error, rel=0.02)
    # the per-patch mean, the definition of the learning curve: larger here
    patch_error = np.mean(np.sum((X - A @ D) ** 2, axis=1) / np.sum(X**2, axis=1))
    assert float(ds["patch_error"]) == pytest.approx(patch_error, rel=0.02)
    assert patch_error > 1.2 * error
    assert float(ds["activity_ratio"]) == pytest.approx(np.count_nonzero(A) / A.size, rel=0.05)
    assert float(ds["active_per_patch"]) == pytest.approx(
        float(ds["activity_ratio"]) * 128, rel=1e-12)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-6)
    # every run parameter (but progress) is recorded with the value given
    from studies import study_parameters

    assert set(study_parameters("lca-sweep")) - set(ds.attrs) == {"progress"}
    assert ds.attrs["gabor"] == 0 and ds.attrs["n_train"] == 300
    # the dictionary is the data-initialised one of that seed
    X_train = sample_patches(train, 8, 300, seed=np.random.default_rng(3))
    rng = np.random.default_rng(3)
    sample_patches(train, 8, 300, seed=rng)
    sample_patches(held_out, 8, 60, seed=rng)
    np.testing.assert_allclose(D, init_dictionary(X_train, 128, "data", seed=rng), rtol=1e-12)


@pytest.mark.parametrize("quick", [True, False])
def test_active_fraction_is_the_lasso_supports(quick):
    """The point counted the LCA state as it stopped (lca_tol 1e-3 quick, 1e-5 full),
    whose small leftover codes are zero at LCA's fixed point, the LASSO solution: its
    activity ratio was above scikit-learn's Lasso support fraction on the same patches.
    The state is polished to the fixed point now (as activity-ratio's), the counts are
    the Lasso's patch for patch, and the coding is recorded in the attrs."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    import studies.lca_sweep as study
    from stimuli import load_images, sample_patches, split_images, whiten

    lam = 0.05
    ds = study.run(quick, seed=3, lam=lam, overcompleteness=2, **SMALL)
    rng = np.random.default_rng(3)  # the point's patches, drawn independently
    train, held_out = split_images(whiten(load_images("skimage")), 0.2)
    sample_patches(train, 8, 300, seed=rng)
    X = sample_patches(held_out, 8, 60, seed=rng)
    D = ds["dictionary"].values.reshape(128, 64).astype(np.float64)
    # scikit-learn's objective is 1/(2 n_features) ||x - D^T a||^2 + alpha ||a||_1; a 2-D
    # target fits every patch on its own
    optimum = linear_model.Lasso(alpha=lam / D.shape[1], fit_intercept=False, tol=1e-10,
                                 max_iter=100000).fit(D.T, X.T).coef_
    assert float(ds["activity_ratio"]) == pytest.approx(np.mean(optimum != 0), rel=1e-12)
    assert float(ds["active_per_patch"]) == pytest.approx(
        np.count_nonzero(optimum) / len(X), rel=1e-12)
    assert (ds.attrs["coding"], ds.attrs["lca_tol"], ds.attrs["active_set_tol"]) == (
        "lca+lasso_active_set", 1e-3 if quick else 1e-5, 1e-7)


def test_small_sweep_trades_fidelity_for_sparseness(tmp_path):
    import studies.lca_sweep as study

    # common seeds: the same patches and dictionary at every lambda, so the
    # LASSO residual can only grow with lambda
    ds = run("lca-sweep", {"lam": {"start": 0.05, "stop": 0.8, "num": 3, "log": True},
                           "overcompleteness": [1, 2]},
             params=SMALL, common_seeds=True, executor="serial", progress=False)
    assert ds["lam"].attrs["units"] == "units of X" and (ds["status"] == "ok").all()
    err = ds["reconstruction_error"].values
    act = ds["activity_ratio"].values
    assert (np.diff(err, axis=0) > 0).all() and (np.diff(act, axis=0) < 0).all()
    # more atoms: a smaller fraction of them active at every lambda
    assert (act[:, 1] < act[:, 0]).all()
    assert ds["dictionary"].sizes["atom"] == 128 and ds.attrs["sweep_padded_dims"] == "atom"
    assert np.isnan(ds["dictionary"].sel(overcompleteness=1).values[:, 64:]).all()
    paths = study.plot_sweep(ds, tmp_path)
    assert paths[0].stat().st_size > 10_000


def test_example_spec_is_valid():
    spec = load_spec(EXAMPLE)
    assert spec.study.ref == "lca-sweep"
    assert spec.grid.dims == ("lam", "overcompleteness", "replicate")
    assert spec.grid.shape == (5, 3, 3)
    np.testing.assert_allclose(spec.grid.axes[0].params["lam"],
                               np.logspace(np.log10(0.05), np.log10(0.8), 5), rtol=1e-12)
    assert spec.output == EXAMPLE.parent / "results" / "lca-sweep"


def test_plot_sweep_names_a_third_swept_parameter(tmp_path):
    # sweeping patch_size too gave matplotlib 2-d data, and the sweep's warning read
    # "no sweep figure: too many values to unpack (expected 1)"
    import xarray as xr

    import studies.lca_sweep as study

    dims = ("lam", "overcompleteness", "patch_size")
    shape = (2, 2, 2)
    ds = xr.Dataset(
        {name: (dims, np.full(shape, 0.1)) for name in
         ("reconstruction_error", "activity_ratio", "gabor_fraction")},
        coords={"lam": [0.1, 0.2], "overcompleteness": [1, 2], "patch_size": [6, 8]})
    ds["status"] = (dims, np.full(shape, "ok"))
    with pytest.raises(ValueError, match=r"also sweeps \['patch_size'\]"):
        study.plot_sweep(ds, tmp_path)
    assert study.plot_sweep(ds.sel(patch_size=8), tmp_path)[0].exists()


def test_warnings_of_the_lca_call_other_than_convergence_reach_the_caller(monkeypatch):
    """The point records the LCA call's warnings to set lca_converged: a ConvergenceWarning
    is kept as lca_converged = 0, but every other warning was dropped silently."""
    import warnings

    import studies.lca_sweep as study
    import v1model.inference as inference

    lca = inference.lca

    def noisy(*args, **kwargs):
        warnings.warn("an unrelated warning", UserWarning)
        return lca(*args, max_steps=1, **kwargs)  # its own shortfall: not converged

    monkeypatch.setattr(inference, "lca", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = study.run(quick=True, patch_size=4, n_updates=0, n_train=20, n_test=5,
                       gabor=False)
    assert [str(w.message) for w in caught] == ["an unrelated warning"]
    assert caught[0].category is UserWarning
    assert int(ds["lca_converged"]) == 0


def test_another_threads_convergence_warning_does_not_mark_this_point_unconverged(
        monkeypatch):
    """lca_converged came from a warnings.catch_warnings(record=True) around the LCA
    call; its recording is one per process, so a ConvergenceWarning another thread
    raised meanwhile (another point of a dask worker with threads_per_worker > 1) set
    this point's lca_converged to 0. It comes from the solver's own count now, and the
    other thread's warning is not swallowed by this point."""
    import threading
    import warnings

    import studies.lca_sweep as study
    import v1model.inference as inference

    lca = inference.lca

    def with_a_neighbour(*args, **kwargs):
        codes = lca(*args, **kwargs)
        neighbour = threading.Thread(target=lambda: warnings.warn(
            "another point's LCA stopped short", inference.ConvergenceWarning))
        neighbour.start()
        neighbour.join()
        return codes

    monkeypatch.setattr(inference, "lca", with_a_neighbour)
    small = dict(quick=True, patch_size=4, n_updates=0, n_train=20, n_test=5, gabor=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = study.run(**small)
    assert int(ds["lca_converged"]) == 1
    assert [str(w.message) for w in caught] == ["another point's LCA stopped short"]
    monkeypatch.setattr(inference, "lca", lca)
    # the same numbers without the neighbour (serially)
    alone = study.run(**small)
    for name in ("reconstruction_error", "objective", "lca_converged"):
        assert float(ds[name]) == float(alone[name])


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_a_sweep_keeps_the_points_pixel_atom_and_update_coordinates(tmp_path):
    """sweep.nc had atom, y, x and update as bare dimensions: the study's Dataset gave
    them no coordinates, so the assembly had none to keep."""
    from v1model.io import load_dataset

    small = {"patch_size": 4, "n_updates": 3, "n_train": 200, "n_test": 20, "gabor": False}
    run("lca-sweep", {"lam": [0.1, 0.2], "tau": [0.01, 0.02]}, params=small, quick=True,
        executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    for dim in ("y", "x"):
        np.testing.assert_array_equal(saved[dim].values, np.arange(4))
        assert saved[dim].attrs["units"] == "pixel"
    np.testing.assert_array_equal(saved["atom"].values, np.arange(16))
    # one label per learning update, as the learner's history counts them
    np.testing.assert_array_equal(saved["update"].values, [0, 1, 2])
    assert saved["learning_error"].dims == ("lam", "tau", "update")


def _readme_sweep_row(lam):
    """The README's "What the example sweep gives" row of ``lam``: (errors, activities)
    at 1x, 2x and 4x."""
    import re

    text = (EXAMPLE.parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("### What the example sweep gives", 1)[1].split("\n### ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"[0-9.]+", cells[0]) and float(cells[0]) == lam:
            values = [float(c) for c in cells[1:]]
            return values[:3], values[3:]
    raise AssertionError(f"README.md: no row for lam={lam} in the example sweep's table")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_readme_table_row_is_what_the_quick_example_sweep_gives():
    """The README's table of the quick example sweep said activity 0.384 (1x) at
    lam = 0.05; its command gave 0.378 once lca-sweep counted its codes at LCA's fixed
    point (the README says the values agree to 0.001). The three replicates of
    (lam=0.05, 1x) are points 0-2 of the example spec, run here as the sweep runs them."""
    import studies.lca_sweep as study

    spec = load_spec(EXAMPLE)
    errors, activities = [], []
    for index in range(3):  # replicate is the last (fastest) dim of the grid
        task = spec.task(index)
        assert (task.params["lam"], task.params["overcompleteness"]) == (0.05, 1)
        ds = study.run(quick=True, seed=task.seed, progress=False, **task.params)
        errors.append(float(ds["reconstruction_error"]))
        activities.append(float(ds["activity_ratio"]))
    readme_errors, readme_activities = _readme_sweep_row(0.05)
    # the table's 3 decimals, rounded from the mean over the 3 seeds
    assert np.mean(errors) == pytest.approx(readme_errors[0], abs=0.0006)
    assert np.mean(activities) == pytest.approx(readme_activities[0], abs=0.0006)


@pytest.mark.parametrize("patch_size, measured", [(4, True), (3, False)])
def test_gabor_fraction_is_unmeasured_on_patches_fit_gabor_gives_no_r2(patch_size, measured):
    """fit_gabor gives NaN R^2 (and warns) on patches of at most 9 pixels, as many as its
    parameters; the point counted those atoms as not Gabor-like, so a 3x3 point recorded
    gabor_fraction = 0.0, "no atom is Gabor-like" (before that NaN R^2, 0.67 at seed 0:
    fits that match anything). Unmeasured is NaN; 4x4 patches (16 pixels) are measured."""
    import warnings

    import studies.lca_sweep as study

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = study.run(quick=True, patch_size=patch_size, n_updates=0, n_train=40, n_test=5,
                       seed=0, progress=False)
    r2 = ds["gabor_r2_atom"].values
    fraction = float(ds["gabor_fraction"])
    said = [str(w.message) for w in caught if "Gabor parameters" in str(w.message)]
    if measured:
        assert np.isfinite(r2).all() and not said
        assert fraction == np.mean(r2 >= ds.attrs["gabor_r2"])
    else:
        assert np.isnan(r2).all() and len(said) == 1
        assert np.isnan(fraction), fraction
