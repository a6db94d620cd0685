"""The figure functions on inputs a user gets wrong or that are legal but unusual:
unsorted frequencies and lambdas, short label lists, bad orders and units, extreme
magnitudes. Each test pins a figure that was wrong, or an error that named nothing."""

import numpy as np
import pytest

from stimuli import gabor_patch
from v1model.analysis import babel, fit_gabor, grating_responses, tuning_curves
from v1model.plotting import (plot_atoms, plot_babel_curves, plot_nx_ny,
                              plot_sparseness_tradeoff, plot_tuning_curves)
from v1model.plotting._mpl import pyplot


@pytest.fixture(autouse=True)
def _close():
    yield
    pyplot().close("all")


def _tuning(frequencies):
    D = np.stack([gabor_patch(16, th, f, 0.0, 3.0, 3.0).ravel()
                  for th, f in ((0.0, 0.1), (0.3, 0.15), (1.2, 0.2))])
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return tuning_curves(grating_responses(lambda X: X @ D.T, 16, orientations=12,
                                           frequencies=np.asarray(frequencies), phases=8,
                                           progress=False))


def test_frequency_curves_drawn_in_order_of_frequency():
    # tuning_curves accepts frequencies in any order; the plot must not zigzag
    tc = _tuning([0.3, 0.05, 0.2, 0.1, 0.4, 0.15])
    fig = plot_tuning_curves(tc)
    lines = [ln for ln in fig.axes[1].get_lines() if len(ln.get_xdata()) > 1]
    assert lines
    for ln in lines:
        assert np.all(np.diff(ln.get_xdata()) > 0)


@pytest.mark.parametrize("units", [[5], [-1]])
def test_tuning_units_out_of_range_named(units):
    tc = _tuning([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="units"):
        plot_tuning_curves(tc, units=units)


def test_tuning_units_not_whole_refused():
    tc = _tuning([0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="units"):
        plot_tuning_curves(tc, units=[0.5])


def test_nx_ny_labels_must_match_fits():
    atoms = np.stack([gabor_patch(12, 0.3 * i, 0.2, 0.0, 2.0, 3.0) for i in range(4)])
    fa, fb = fit_gabor(atoms[:2], progress=False), fit_gabor(atoms[2:], progress=False)
    with pytest.raises(ValueError, match="labels"):
        plot_nx_ny(fa, fb, labels=["only one"])


def test_babel_labels_must_match():
    rng = np.random.default_rng(0)
    b1, b2 = babel(rng.standard_normal((6, 5))), babel(rng.standard_normal((6, 5)))
    with pytest.raises(ValueError, match="labels"):
        plot_babel_curves(b1, b2, labels=["first"])


def test_tradeoff_bands_contain_their_lambda_whatever_the_order():
    lam = [1.0, 0.1, 0.01]
    fig = plot_sparseness_tradeoff(lam, [0.01, 0.1, 0.5], [0.5, 0.1, 0.01],
                                   classes=["local", "sparse", "dense"], n_units=64)
    bands = [(p.get_x(), p.get_x() + p.get_width()) for p in fig.axes[0].patches]
    assert len(bands) == 3
    for value in lam:  # each lambda lies inside exactly one band
        assert sum(min(a, b) <= value <= max(a, b) for a, b in bands) == 1


@pytest.mark.parametrize("D, kw", [(np.ones(16), {}),
                                   (np.ones((2, 240)), {"patch_shape": (10, 20)})])
def test_plot_atoms_bad_shapes_named(D, kw):
    with pytest.raises(ValueError, match="D must|patch_shape"):
        plot_atoms(D, **kw)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_coefficient_histogram_any_magnitude(scale):
    from v1model.plotting import plot_coefficient_histogram

    a = scale * np.array([1.0, -3.0, 2.0, 0.5, -0.25, 0.0])
    fig = plot_coefficient_histogram(a)
    ax = fig.axes[0]
    gauss = ax.get_lines()[1].get_ydata()
    assert np.isfinite(gauss).all()
    lo, hi = ax.get_xlim()
    assert hi < 10 * scale  # the axis spans the data, not +-4 (sd fell back to 1)
    assert np.isfinite(ax.get_lines()[0].get_ydata()).sum() >= 3  # not all in one bin


def test_babel_of_orthonormal_basis_says_what_the_log_axis_cannot_show():
    fig = plot_babel_curves(babel(np.eye(4)), labels=["identity"])
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("not on the log axis" in t for t in texts)


def test_coefficient_histogram_says_it_leaves_out_nan_codes():
    """NaN codes (a diverged solver) were dropped without a word: the histogram of
    the rest looked like a healthy sparse code."""
    from v1model.plotting import plot_coefficient_histogram

    a = np.array([[1.0, 0.0, np.nan], [-2.0, np.inf, 0.5]])
    with pytest.warns(RuntimeWarning, match=r"codes: 2 of 6 coefficients are NaN or inf"):
        fig = plot_coefficient_histogram(a)
    # P(a=0) is over the 4 finite coefficients, 1 of them zero
    assert any("0.25" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_rf_comparison_of_no_finite_similarity_says_so():
    """All-NaN similarities (no unit responded) titled the panel "median similarity nan"
    after numpy's "All-NaN slice" warning."""
    import warnings

    from v1model.plotting import plot_rf_comparison

    rfs = np.random.default_rng(0).standard_normal((3, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_rf_comparison(rfs, rfs, similarity=np.full(3, np.nan))
    assert fig.axes[2].get_title() == "no finite similarity"
    fig = plot_rf_comparison(rfs, rfs, similarity=[0.5, np.nan, 0.9])
    assert fig.axes[2].get_title() == "median similarity 0.70"


def test_rf_comparison_refuses_unpaired_units():
    from v1model.plotting import plot_rf_comparison

    rfs = np.random.default_rng(0).standard_normal((3, 8, 8))
    with pytest.raises(ValueError, match="atoms has 2 units"):
        plot_rf_comparison(rfs[:2].reshape(2, -1), rfs)


@pytest.mark.parametrize("kw, match", [
    ({"spike_unit": [0, 1, -1]}, "spike_unit"),
    ({"spike_unit": [0, 1, 2], "order": [0, 0, 1]}, "order"),
    ({"spike_unit": [0, 1, 2], "n_units": 2}, "spike_unit"),
])
def test_raster_refuses_units_it_would_misplace(kw, match):
    from v1model.plotting import plot_raster

    with pytest.raises(ValueError, match=match):
        plot_raster([0.1, 0.2, 0.3], **kw)


@pytest.mark.parametrize("min_r2", [float("nan"), -0.5, 1.5])
def test_gabor_figures_refuse_a_min_r2_outside_0_1(min_r2):
    # nan compared False with every R^2: an empty tiling figure with no error
    from v1model.plotting import plot_gabor_tiling

    atoms = np.stack([gabor_patch(12, orientation=t, frequency=0.2, phase=0.0, sigma_x=2.5,
                                  sigma_y=2.5) for t in (0.3, 1.2)])
    fit = fit_gabor(atoms, progress=False)
    with pytest.raises(ValueError, match="min_r2"):
        plot_gabor_tiling(fit, min_r2=min_r2)
    with pytest.raises(ValueError, match="min_r2"):
        plot_nx_ny(fit, min_r2=min_r2)
