"""rozell-2008-lca end to end (quick): LCA converges to the LASSO optimum,
rate-distortion curves are monotone and ordered as in the paper."""

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
