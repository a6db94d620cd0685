"""activity-ratio's per-lambda numbers against a computation of their own from the very
codes the study made (caught by wrapping the LCA solver): the relative reconstruction
error is a mean of per-patch ratios, and the code class uses the thresholds given."""

import numpy as np
import xarray as xr

from studies import get_study


def test_activity_ratio_numbers_match_the_codes(tmp_path, record_lca):
    seen = record_lca()  # (X, D, lam, codes) of every lca call
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
