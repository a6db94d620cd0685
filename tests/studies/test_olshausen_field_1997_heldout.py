"""olshausen-field-1997's held-out numbers against a computation of their own from the
very codes the study made (caught by wrapping FISTA, which codes only the held-out
patches): energy, relative error, rate and mean |a|, each per patch as documented, the
total error over the total variance (the paper's measure), and the coefficients' kurtosis
and histogram entropy (olshausen-field-1996's sparseness measures)."""

import numpy as np
import pytest

from studies import get_study


@pytest.fixture(scope="module")
def recorded_run():
    """A small run (two levels) and the (X, D, lam, codes) of each held-out FISTA call."""
    import v1model.inference

    seen = []
    real_fista = v1model.inference.fista

    def recording_fista(X, D, lam, **kwargs):
        A = real_fista(X, D, lam, **kwargs)
        seen.append((np.asarray(X, np.float64), np.asarray(D, np.float64), lam, A))
        return A

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(v1model.inference, "fista", recording_fista)
        ds = get_study("olshausen-field-1997").run(quick=True, overcompleteness=(1, 2),
                                                   n_updates=5, n_patches=500, n_eval=50,
                                                   lam=0.2, progress=False)
    return ds, seen


def test_heldout_numbers_match_the_codes(recorded_run, study_figures):
    ds, seen = recorded_run
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
        _check_sparseness(ds, i, A)
    assert ds["heldout_kurtosis"].attrs["units"] == "1"
    assert ds["heldout_entropy_bits"].dims == ("overcompleteness",)
    ax = study_figures("olshausen-field-1997", ds)["olshausen-field-1997_coding.png"].axes[3]
    drawn = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_allclose(drawn["held-out coefficients"], ds["heldout_kurtosis"].values)
    np.testing.assert_allclose(drawn["Gaussian (3)"], 3.0)


def _check_sparseness(ds, i, A):
    """The paper's claim that the overcomplete code is sparse (a kurtotic, heavy-tailed
    distribution of the coefficients) had no number in the study: only the energy,
    the error and the active count were kept. Each level's held-out coefficients now
    give their kurtosis (against SciPy's moments about 0, 3 for a Gaussian) and the
    entropy of their histogram in bins of 0.04 (olshausen-field-1996's measures),
    drawn in the coding figure beside a Gaussian's 3."""
    import scipy.stats

    a = A.ravel()
    # about 0 as the paper's (and olshausen-field-1996's): the moments are not centred
    kurtosis = scipy.stats.moment(a, 4, center=0.0) / scipy.stats.moment(a, 2, center=0.0) ** 2
    np.testing.assert_allclose(ds["heldout_kurtosis"].values[i], kurtosis, rtol=1e-9)
    assert kurtosis > 6  # sparse: far above a Gaussian's 3
    # the histogram's entropy from numpy.histogram over bins centred on k * 0.04
    edges = (np.arange(np.floor(a.min() / 0.04) - 1, np.ceil(a.max() / 0.04) + 2) + 0.5) * 0.04
    p = np.histogram(a, edges)[0] / a.size
    p = p[p > 0]
    np.testing.assert_allclose(ds["heldout_entropy_bits"].values[i], -(p * np.log2(p)).sum(),
                               rtol=1e-9)



def test_coefficient_histogram_is_saved_and_redrawn(recorded_run, tmp_path, study_figures):
    """olshausen-field-1997 kept no codes, so no coefficient histogram could be redrawn
    from its file (only kurtosis and entropy). It now saves one per level, in the bins of
    the entropy (0.04, centred on its multiples), with the bins' centres, edges and units
    as coordinates: against numpy.histogram of the very codes, its entropy the recorded
    one, and drawn by the figure from the saved counts; a file without it still draws."""
    from v1model.io import load_dataset, save_dataset

    ds, seen = recorded_run
    saved = load_dataset(save_dataset(ds, tmp_path / "of97.nc"))
    counts = saved["coefficient_counts"]
    assert counts.dims == ("overcompleteness", "coefficient_bin")
    for name in ("coefficient_bin", "coefficient_bin_lower", "coefficient_bin_upper"):
        assert saved[name].attrs["units"] == "units of X", name
    lower, upper = saved["coefficient_bin_lower"].values, saved["coefficient_bin_upper"].values
    np.testing.assert_allclose(upper - lower, 0.04, rtol=1e-9)
    np.testing.assert_allclose(saved["coefficient_bin"].values, (lower + upper) / 2, atol=1e-12)
    assert np.isclose(saved["coefficient_bin"].values, 0.0).sum() == 1  # a bin centred on 0
    for i, (*_, A) in enumerate(seen):
        a = A.ravel()
        expected = np.histogram(a, np.r_[lower, upper[-1]])[0]
        np.testing.assert_array_equal(counts.values[i], expected)
        outside = np.count_nonzero((a < lower[0]) | (a > upper[-1]))
        assert saved["coefficients_beyond"].values[i] == outside
        assert counts.values[i].sum() + outside == a.size
        if outside == 0:  # every coefficient binned: the recorded entropy is the counts'
            p = counts.values[i][counts.values[i] > 0] / a.size
            np.testing.assert_allclose(saved["heldout_entropy_bits"].values[i],
                                       -(p * np.log2(p)).sum(), rtol=1e-9)
    fig = study_figures("olshausen-field-1997", saved)["olshausen-field-1997_coefficients.png"]
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "units of X" in ax.get_xlabel()
    drawn = list(ax.patches)  # one stairs per level
    assert len(drawn) == 2
    for i, stairs in enumerate(drawn):
        values = stairs.get_data().values
        total = counts.values[i].sum() + saved["coefficients_beyond"].values[i]
        np.testing.assert_allclose(np.nan_to_num(values),
                                   counts.values[i] / total / (upper - lower), rtol=1e-9)
    # a file saved before the histogram was recorded still draws every figure
    old = saved.drop_vars(["coefficient_counts", "coefficients_beyond", "coefficient_bin",
                           "coefficient_bin_lower", "coefficient_bin_upper"])
    figures = study_figures("olshausen-field-1997", old)
    texts = [t.get_text() for t in figures["olshausen-field-1997_coefficients.png"].axes[0].texts]
    assert any("not recorded" in t for t in texts)
