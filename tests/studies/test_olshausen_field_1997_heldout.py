"""olshausen-field-1997's held-out numbers against a computation of their own from the
very codes the study made (caught by wrapping FISTA, which codes only the held-out
patches): energy, relative error, rate and mean |a|, each per patch as documented, and
the total error over the total variance (the paper's measure)."""

import numpy as np

from studies import get_study


def test_heldout_numbers_match_the_codes(monkeypatch):
    import v1model.inference

    seen = []
    real_fista = v1model.inference.fista

    def recording_fista(X, D, lam, **kwargs):
        A = real_fista(X, D, lam, **kwargs)
        seen.append((np.asarray(X, np.float64), np.asarray(D, np.float64), lam, A))
        return A

    monkeypatch.setattr(v1model.inference, "fista", recording_fista)
    ds = get_study("olshausen-field-1997").run(quick=True, overcompleteness=(1, 2),
                                               n_updates=5, n_patches=500, n_eval=50,
                                               lam=0.2, progress=False)
    assert len(seen) == 2
    for i, (X, D, lam, A) in enumerate(seen):
        assert lam == 0.2 and X.shape == (50, 64) and D.shape == (64 * (i + 1), 64)
        r2 = ((X - A @ D) ** 2).sum(axis=1)
        expected = {"objective": np.mean(0.5 * r2 + lam * np.abs(A).sum(axis=1)),
                    "reconstruction_error": np.mean(r2 / (X**2).sum(axis=1)),
                    # total error over total variance, olshausen-field-1996's measure
                    "heldout_error_fraction": r2.sum() / np.sum((X - X.mean()) ** 2),
                    "mean_active": (A != 0).sum() / 50,
                    "mean_abs_code": np.abs(A).mean()}
        for key, value in expected.items():
            np.testing.assert_allclose(ds[key].values[i], value, rtol=1e-10, err_msg=key)
        # the mean of per-patch ratios is not the total error over the total variance
        assert abs(ds["reconstruction_error"].values[i] - expected["heldout_error_fraction"]) > 1e-3
        assert ds["heldout_error_fraction"].attrs["units"] == "1"
        np.testing.assert_allclose(ds["dictionary"].values[i, :len(D)].reshape(len(D), -1), D,
                                   rtol=1e-6, atol=1e-7)
