"""activity-ratio's per-lambda numbers against a computation of their own from the very
codes the study made (caught by wrapping the LCA solver): the relative reconstruction
error is a mean of per-patch ratios, and the code class uses the thresholds given."""

import numpy as np
import xarray as xr

from studies import get_study


def _record_polished_codes(monkeypatch, seen):
    """Replace the LCA codes in ``seen`` (record_lca's list) by the codes the study keeps:
    the LCA's state polished to its fixed point by lasso_active_set."""
    import v1model.inference

    real = v1model.inference.lasso_active_set

    def recording(X, D, lam, **kwargs):
        codes = real(X, D, lam, **kwargs)
        X_seen, D_seen, lam_seen, _ = seen[-1]  # the lca call that made the warm start
        seen[-1] = (X_seen, D_seen, lam_seen, np.array(codes, dtype=np.float64))
        return codes

    monkeypatch.setattr(v1model.inference, "lasso_active_set", recording)


def test_activity_ratio_numbers_match_the_codes(tmp_path, record_lca, monkeypatch):
    seen = record_lca()  # (X, D, lam, codes) of every lca call
    _record_polished_codes(monkeypatch, seen)
    rng = np.random.default_rng(1)
    D = rng.standard_normal((16, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    path = tmp_path / "atoms.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), D.reshape(16, 8, 8))}).to_netcdf(path)
    local_max_count, dense_min_ratio = 3.0, 0.5  # not the defaults (1.5, 0.25)
    ds = get_study("activity-ratio").run(quick=True, dictionary=str(path), lam_min=0.01,
                                         lam_max=1.0, n_lams=5, n_patches=40,
                                         local_max_count=local_max_count,
                                         dense_min_ratio=dense_min_ratio, progress=False)
    assert len(seen) == 5
    classes, default_classes = [], []
    for i, (X, Dk, _, A) in enumerate(seen):
        R = X - A @ Dk
        np.testing.assert_allclose(
            ds["reconstruction_error"].values[i],
            np.mean(np.sum(R**2, axis=1) / np.sum(X**2, axis=1)), rtol=1e-10)
        active = np.abs(A) > 0
        np.testing.assert_allclose(ds["activity_ratio"].values[i], active.mean(), rtol=1e-12)
        count, ratio = active.sum(1).mean(), active.mean()
        for limits, out in (((local_max_count, dense_min_ratio), classes),
                            ((1.5, 0.25), default_classes)):
            out.append("silent" if count < 0.5 else "local" if count <= limits[0]
                       else "dense" if ratio >= limits[1] else "sparse")
    assert list(ds["code_class"].values) == classes
    assert classes != default_classes  # the thresholds given change the verdict here


def test_activity_ratio_is_the_lasso_optimums_count(record_lca):
    """LCA's default stop (``tol`` 1e-3, a test of how fast the state still moves) left
    small codes that its fixed point, the LASSO optimum, sets to zero, and the study
    counted them active: here 0.465 against 0.451 at lam 0.02 (quick run: 0.480 against
    0.466). The study's counts are those of scikit-learn's Lasso at tol 1e-10, patch by
    patch; the coding is recorded in the attrs."""
    from sklearn.linear_model import Lasso

    seen = record_lca()  # the patches and dictionary the study coded, at each lambda
    ds = get_study("activity-ratio").run(quick=True, n_updates=20, lam_min=0.02,
                                         lam_max=0.04, n_lams=2, n_patches=100,
                                         progress=False)
    assert len(seen) == 2
    for i, (X, D, lam, _) in enumerate(seen):
        # scikit-learn's objective is 1/(2 n_features) ||x - D^T a||^2 + alpha ||a||_1;
        # a 2-D target fits every patch on its own
        optimum = Lasso(alpha=lam / D.shape[1], fit_intercept=False, tol=1e-10,
                        max_iter=100000).fit(D.T, X.T).coef_
        np.testing.assert_array_equal(ds["active_count"].values[i],
                                      np.count_nonzero(optimum, axis=1))
        np.testing.assert_allclose(ds["activity_ratio"].values[i], np.mean(optimum != 0),
                                   rtol=1e-12)
    assert (ds.attrs["coding"], ds.attrs["lca_tol"], ds.attrs["active_set_tol"]) == (
        "lca+lasso_active_set", 1e-3, 1e-7)
