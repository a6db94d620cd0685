"""The figure functions on inputs a user gets wrong or that are legal but unusual:
unsorted frequencies and lambdas, short label lists, bad orders and units, extreme
magnitudes. Each test pins a figure that was wrong, or an error that named nothing."""

import re

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


def test_tradeoff_names_and_marks_the_failed_points():
    """A NaN activity ratio or error (a failed sweep point) was a silent gap in the line."""
    lam = [0.4, 0.1, 0.2, 0.8]
    with pytest.warns(RuntimeWarning, match=r"activity_ratio at λ = 0\.2; "
                                            r"reconstruction_error at λ = 0\.2, 0\.8; 2 of 4"):
        fig = plot_sparseness_tradeoff(lam, [0.05, 0.3, np.nan, 0.01],
                                       [0.3, 0.1, np.inf, np.nan])
    for ax in fig.axes[:2]:
        marks = [line for line in ax.lines if line.get_marker() == "x"]
        assert len(marks) == 1 and marks[0].get_xdata().tolist() == [0.2, 0.8]
    assert "failed point" in " ".join(t.get_text() for t in fig.axes[0].get_legend().texts)
    with pytest.raises(ValueError, match="NaN or inf at every lam .2 given.; nothing to draw"):
        plot_sparseness_tradeoff([0.1, 0.2], [np.nan, np.nan], [np.inf, np.nan])


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


def test_coefficient_histogram_leaves_out_masked_codes():
    """np.asarray kept the values under a numpy mask: a masked 100 was drawn, the axis
    ran to +-165 and the legend counted 5 non-zero of 6. It is the histogram of the
    unmasked codes, as if only they were given."""
    from v1model.plotting import plot_coefficient_histogram

    data = np.array([0.1, -0.2, 0.3, 100.0, -0.05, 0.0])
    masked = np.ma.masked_array(data, mask=[0, 0, 0, 1, 0, 0])
    got, want = (plot_coefficient_histogram(a).axes[0] for a in (masked, np.delete(data, 3)))
    for line, ref in zip(got.get_lines(), want.get_lines()):
        np.testing.assert_array_equal(line.get_xydata(), ref.get_xydata())
    texts = [t.get_text() for t in got.get_legend().get_texts()]
    assert texts == [t.get_text() for t in want.get_legend().get_texts()]
    assert "(n = 4)" in texts[0] and "1 of 5 exactly 0" in texts[-1], texts
    assert got.get_xlim()[1] < 1.0  # the masked 100 is not on the axis


def test_plots_of_values_in_place_refuse_a_masked_array():
    # spike times pair with units: a masked time cannot be left out of one array alone,
    # and was drawn at its value under the mask
    from v1model.plotting import plot_raster

    times = np.ma.masked_array([0.1, 0.2, 0.3], mask=[0, 1, 0])
    with pytest.raises(ValueError, match=r"spike_time is a masked array with 1 of 3 "
                                         r"entries masked"):
        plot_raster(times, [0, 1, 2])
    fig = plot_raster(np.ma.masked_array([0.1, 0.2], mask=False), [0, 1])  # none masked
    assert fig.axes


def test_frequency_ticks_state_the_tested_frequencies_and_tell_them_apart():
    """"%.2g" labelled 0.125 "0.12" beside a tested 0.12, and 0.3747 "0.37": each
    tick reads as the frequency tested, the labels all different (0.125 sits too close
    to 0.12 on the log axis for both labels to be drawn: its own is "0.125")."""
    frequencies = [0.12, 0.125, 0.3747, 0.0625]
    fig = plot_tuning_curves(_tuning(frequencies))
    fig.canvas.draw()
    ax = fig.axes[1]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    np.testing.assert_array_equal(ax.get_xticks(), sorted(frequencies))
    assert labels == ["0.0625", "0.12", "", "0.3747"], labels
    formatter = ax.xaxis.get_major_formatter()
    assert [formatter(f) for f in sorted(frequencies)] == ["0.0625", "0.12", "0.125", "0.3747"]


def test_distinct_labels_give_values_exactly_or_to_the_digits_that_tell_them_apart():
    from v1model.plotting._mpl import distinct_labels

    assert distinct_labels([0.1, 0.05, 2.0, 100.0]) == ["0.1", "0.05", "2", "100"]
    assert distinct_labels([1 / 3, 0.5]) == ["0.3333", "0.5"]  # 4 digits at most
    # alike to 4 digits: more, for all, until they differ
    assert distinct_labels([0.12345, 0.12346]) == ["0.12345", "0.12346"]
    assert distinct_labels([1 / 3, 1 / 3 + 1e-9]) == ["0.333333333", "0.333333334"]


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


@pytest.mark.parametrize("kw, error, match", [
    ({"spike_time": [0.1, np.nan, 0.3]}, ValueError, "spike_time contains 1 non-finite"),
    ({"t_max": np.nan}, ValueError, "t_max"),
    ({"t_max": "1"}, TypeError, "t_max"),
    ({"t_max": [1.0, 2.0]}, TypeError, "t_max"),
    ({"n_units": np.nan}, TypeError, "n_units"),
    ({"n_units": 3.5}, TypeError, "n_units"),
])
def test_raster_refuses_bad_times_and_counts_by_name(kw, error, match):
    # NaN times and t_max failed inside matplotlib ("Axis limits cannot be NaN or Inf"), a
    # string or an array t_max in its unit conversion, and n_units=3.5 was cut to 3 rows
    from v1model.plotting import plot_raster

    args = {"spike_time": [0.1, 0.2, 0.3], "spike_unit": [0, 1, 2], **kw}
    with pytest.raises(error, match=match):
        plot_raster(**args)


@pytest.mark.parametrize("kw, match", [
    ({"code": [], "reference": []}, "code must not be empty"),
    ({"code": [1.0, np.nan, 2.0]}, "code contains 1 non-finite"),
    ({"lims": (np.nan, 1.0)}, "lims contains 1 non-finite"),
    ({"lims": (0.0, 1.0, 2.0)}, r"lims must be \(lo, hi\)"),
    ({"lims": (1.0, 0.0)}, r"lims must be \(lo, hi\) with lo <= hi"),
])
def test_code_scatter_refuses_values_it_cannot_draw(kw, match):
    # empty codes failed in numpy's min ("zero-size array to reduction operation"), a NaN
    # code drew r = nan in the title, a NaN lims failed inside matplotlib and three lims in
    # unpacking ("too many values to unpack")
    from v1model.plotting import plot_code_scatter

    args = {"code": [1.0, 2.0, 3.0], "reference": [1.0, 2.5, 3.0], **kw}
    with pytest.raises(ValueError, match=match):
        plot_code_scatter(**args)


def _codes_and_their_title(shape):
    """Codes of ``shape`` (sample, atom) 1-2% from a reference, and the title of their
    right pairing, computed with numpy."""
    rng = np.random.default_rng(0)
    ref = np.maximum(rng.standard_normal(shape), 0.0)
    code = ref + 0.01 * rng.standard_normal(ref.shape)
    r = np.corrcoef(code.ravel(), ref.ravel())[0, 1]
    err = np.linalg.norm(code - ref) / np.linalg.norm(ref)
    return code, ref, f"r = {r:.3f}, rel. error = {err:.1%}"


def test_code_scatter_pairs_a_transposed_reference_by_dim_name_or_refuses_it():
    """Codes (sample, atom) against a reference transposed to (atom, sample) were
    flattened in different orders and paired other values: r = 0.095 and a relative
    error of 111% in the title for codes 1.5% apart (r 1.000), unsaid. A DataArray is
    read by dim name; plain arrays of two shapes are refused."""
    import xarray as xr

    from v1model.plotting import plot_code_scatter

    code, ref, expected = _codes_and_their_title((30, 8))
    assert expected == "r = 1.000, rel. error = 1.5%"
    c, rf = (xr.DataArray(v, dims=("sample", "atom")) for v in (code, ref))
    for given in ((c, rf.T), (code, ref.ravel()), (c, rf)):
        assert plot_code_scatter(*given).axes[0].get_title() == expected
    with pytest.raises(ValueError, match=re.escape(
            "code and reference must have the same shape, got (30, 8) and (8, 30); pass "
            "reference.T")):
        plot_code_scatter(code, ref.T)


def test_code_scatter_reads_a_plain_side_as_sample_atom_against_a_labelled_one():
    """Square codes, one side a DataArray transposed to (atom, sample) and the other a
    plain array: no shape told them apart, and the plain code against the transposed
    DataArray reference (or the transposed DataArray code against the plain reference)
    paired other values: r = 0.133 and a relative error of 106% for codes 1.4% apart,
    unsaid. The labelled side is read by its dims, the plain side as (sample, atom)."""
    import xarray as xr

    from v1model.plotting import plot_code_scatter

    code, ref, expected = _codes_and_their_title((8, 8))
    assert expected == "r = 1.000, rel. error = 1.4%"
    c, rf = (xr.DataArray(v, dims=("sample", "atom")) for v in (code, ref))
    for given in ((code, rf.T), (c.T, ref), (c.T, rf), (c.T, rf.T), (code, ref)):
        assert plot_code_scatter(*given).axes[0].get_title() == expected
    # not square: a plain side in the labelled side's other order is refused by its shape
    wide = xr.DataArray(np.vstack([code, code[:2]]), dims=("sample", "atom"))
    assert plot_code_scatter(wide.values, wide.T).axes[0].get_title().startswith("r = 1.000")
    with pytest.raises(ValueError, match=re.escape(
            "got (10, 8) and (8, 10); a plain array is read as (sample, atom): pass "
            "reference.T")):
        plot_code_scatter(wide.T, wide.values.T)
    with pytest.raises(ValueError, match=re.escape(
            "got (8, 10) and (10, 8); a plain array is read as (sample, atom): pass code.T")):
        plot_code_scatter(wide.values.T, wide.T)


@pytest.mark.parametrize("max_frequency", [np.nan, 0.0])
def test_orientation_frequency_refuses_a_bad_max_frequency(max_frequency):
    # NaN failed inside matplotlib ("Axis limits cannot be NaN or Inf"); 0 drew nothing
    from v1model.plotting import plot_orientation_frequency

    with pytest.raises(ValueError, match="max_frequency"):
        plot_orientation_frequency([0.1, 1.0], [0.1, 0.2], max_frequency=max_frequency)


def test_figures_of_no_atom_or_no_update_say_so():
    """plot_gabor_tiling of a fit of no atom and plot_learning_curve of a history of no
    update drew an empty figure without a word (plot_code_histogram and tile_atoms refuse
    theirs). The tiling says so on its panels and in a warning (a study's selection of
    reliable fits may leave none: refused, ringach-2002 saved no figure); the learning
    curve is refused."""
    import xarray as xr

    from v1model.plotting import plot_gabor_tiling, plot_learning_curve

    # fit_gabor's variables over atom, and a learning history's over update, of length 0
    # (as fit.isel(atom=[]) or history.sel(update=slice(10_000, None)) of a short run give)
    fit = xr.Dataset({name: ("atom", np.zeros(0)) for name in
                      ("r2", "orientation", "frequency", "x0", "y0", "sigma_x", "sigma_y")},
                     attrs={"height": 12, "width": 12})
    with pytest.warns(RuntimeWarning, match=r"no atom of fit .*\(the fit holds no atom\)"):
        fig = plot_gabor_tiling(fit)
    assert [[t.get_text() for t in ax.texts if "the fit holds no atom" in t.get_text()]
            for ax in fig.axes[1:]] == [["no atom with R² ≥ 0.8\n(the fit holds no atom)"], []]
    history = xr.Dataset({name: ("update", np.zeros(0)) for name in
                          ("objective", "reconstruction_error", "fraction_active")},
                         coords={"update": np.zeros(0, dtype=np.int64)})
    with pytest.raises(ValueError, match=r"history holds no update \('update' has length 0\): "
                                         r"nothing to draw"):
        plot_learning_curve(history)


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


@pytest.mark.parametrize("patch_shape", [(4.5, 4.5), (np.nan, 4)])
def test_plot_atoms_patch_shape_must_be_integers(patch_shape):
    # int() truncated (4.5, 4.5) to a 4 x 4 patch that matched 16 features, and NaN
    # failed in int() with a message that named no argument
    with pytest.raises(TypeError, match="patch_shape"):
        plot_atoms(np.ones((2, 16)), patch_shape=patch_shape)


@pytest.mark.parametrize("shape", [(0, 16), (0, 4, 4), (3, 0)])
def test_plot_atoms_empty_dictionary_named(shape):
    # no atoms divided by zero columns in the grid (ZeroDivisionError)
    with pytest.raises(ValueError, match="D must hold at least one atom"):
        plot_atoms(np.ones(shape))


@pytest.mark.parametrize("history", [None, np.ones(5)])
def test_learning_curve_refuses_what_is_not_a_history(history):
    # None (history_ of a model that kept none) failed in "v in history" and an array in
    # history.data_vars, with messages that named no argument
    from v1model.plotting import plot_learning_curve

    with pytest.raises(TypeError, match="history must be an xarray.Dataset"):
        plot_learning_curve(history)


@pytest.mark.parametrize("call, name", [
    (lambda P: P.plot_coefficient_histogram(None), "codes"),
    (lambda P: P.plot_orientation_frequency(None, None), "orientation"),
    (lambda P: P.plot_rate_distribution(None), "unit_rates"),
    (lambda P: P.plot_sparseness_tradeoff(None, None, None), "lam"),
])
def test_figures_refuse_none_for_an_array(call, name):
    # np.asarray(None).astype(float) is NaN: a histogram and a half-disc were drawn empty
    # without a word, and the others failed on the NaN with messages about NaN
    from v1model import plotting

    with pytest.raises(TypeError, match=f"{name} must be an array, got None"):
        call(plotting)


@pytest.mark.parametrize("call, message", [
    (lambda P: P.plot_tuning_curves(None), "tuning must be the Dataset returned by "
                                           "tuning_curves, got None"),
    (lambda P: P.plot_sparseness_histograms(np.ones(3)), "sparse must be the Dataset "
                                                         "returned by sparseness"),
    (lambda P: P.plot_babel_curves(babel(np.eye(3) + 0.1), None), r"babels\[1\] must be"),
    (lambda P: P.plot_gabor_tiling(babel(np.eye(3) + 0.1)), r"fit must be the Dataset "
                                                            r"returned by fit_gabor, got one "
                                                            r"without \['r2'"),
    (lambda P: P.plot_nx_ny(None), r"fits\[0\] must be the Dataset returned by fit_gabor"),
])
def test_figures_of_results_name_a_wrong_result(call, message):
    # None, an array or another function's Dataset failed inside with a TypeError
    # ("'NoneType' object is not subscriptable"), an IndexError or a KeyError
    from v1model import plotting

    with pytest.raises(TypeError, match=message):
        call(plotting)


@pytest.mark.parametrize("curves, error, match", [
    (None, TypeError, "curves must be a dict"),
    ({"a": (np.ones(3),)}, ValueError, r"curves\['a'\] must be a pair \(time, error\)"),
    ({"a": (np.ones(3), np.ones(2))}, ValueError,
     r"curves\['a'\]: time and error must have one shape, got \(3,\) and \(2,\)"),
])
def test_error_vs_time_refuses_curves_it_cannot_draw(curves, error, match):
    # None failed in .items(), a 1-tuple in unpacking, unpaired times and errors inside
    # matplotlib ("x and y must have same first dimension")
    from v1model.plotting import plot_error_vs_time

    with pytest.raises(error, match=match):
        plot_error_vs_time(curves)
    # a scalar error needs no time: a horizontal line (the spiking-lca study's)
    fig = plot_error_vs_time({"curve": ([0.1, 0.2], [0.5, 0.2]), "final": (None, 0.1)},
                             target=0.05)
    assert len(fig.axes[0].get_lines()) == 3


@pytest.mark.parametrize("curves, match", [
    ({"a": ([0.1, 0.2], [0.5, np.nan])},
     r"curves\['a'\] error must be finite and >= 0 \(log axes\), got nan at flat index 1"),
    ({"a": ([0.1, 0.2], [np.nan, np.nan])}, r"curves\['a'\] error .* got nan at flat index 0"),
    ({"a": (None, -0.1)}, r"curves\['a'\] error .* got -0.1 at flat index 0"),
    ({"a": ([0.0, 0.2], [0.5, 0.2])},
     r"curves\['a'\] time must be finite and > 0 \(log axes\), got 0.0 at flat index 0"),
    ({"a": ([0.1, np.inf], [0.5, 0.2])}, r"curves\['a'\] time .* got inf at flat index 1"),
])
def test_error_vs_time_refuses_values_its_log_axes_would_drop(curves, match):
    # matplotlib left them out of the log-log axes without a word: a curve of NaN errors
    # was a legend entry with no line
    from v1model.plotting import plot_error_vs_time

    with pytest.raises(ValueError, match=match):
        plot_error_vs_time(curves)
    fig = plot_error_vs_time({"a": ([0.1, 0.2], [0.5, 0.2])})
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.5, 0.2])


def test_rf_comparison_refuses_a_similarity_of_other_units():
    # 3 similarities for 4 units were histogrammed without a word
    from v1model.analysis import cosine_similarity
    from v1model.plotting import plot_rf_comparison

    rng = np.random.default_rng(0)
    atoms, rfs = rng.standard_normal((4, 16)), rng.standard_normal((4, 16))
    with pytest.raises(ValueError, match="similarity has 3 values for 4 units"):
        plot_rf_comparison(atoms, rfs, similarity=np.ones(3))
    fig = plot_rf_comparison(atoms, rfs, similarity=cosine_similarity(atoms, rfs))
    assert len(fig.axes) == 3


# --- edge inputs: one point, no spread, NaN atoms, short and long log axes ------------

@pytest.mark.parametrize("values, alone", [
    ([0.7], [True]),
    ([np.nan, 0.7, np.nan, 0.5, 0.4], [False, True, False, False, False]),
])
def test_learning_curve_draws_a_point_without_neighbours(values, alone):
    # a one-update history (or a point between NaN gaps) is no line segment: the panel
    # was empty, with only its axes and labels
    import xarray as xr

    from v1model.plotting import plot_learning_curve

    y = np.asarray(values, dtype=float)
    history = xr.Dataset({"objective": ("update", y)}, coords={"update": np.arange(y.size)})
    line = plot_learning_curve(history).axes[0].lines[0]
    assert line.get_marker() not in (None, "None", "", " ")
    assert list(line.get_markevery()) == alone  # dots only where no segment is drawn


def test_learning_curve_of_a_full_history_draws_no_markers():
    import xarray as xr

    from v1model.plotting import plot_learning_curve

    history = xr.Dataset({"objective": ("update", np.linspace(1, 0.5, 30))})
    for line in plot_learning_curve(history).axes[0].lines:
        assert line.get_marker() in (None, "None", "", " ")


def _drawn_tick_labels(axis):
    """(text, window extent) of the labelled ticks, major and minor, drawn on ``axis``."""
    fig = axis.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    lo, hi = sorted(axis.get_view_interval())
    ticks = (list(zip(axis.get_majorticklocs(), axis.get_majorticklabels()))
             + list(zip(axis.get_minorticklocs(), axis.get_minorticklabels())))
    return [(t.get_text(), t.get_window_extent(renderer)) for loc, t in ticks
            if t.get_text() and lo <= loc <= hi]


@pytest.mark.parametrize("t0, t1", [(0.002, 0.04), (0.003, 0.05), (1e-4, 0.1), (5e-4, 0.2)])
def test_error_vs_time_tick_labels_are_plain_and_apart(t0, t1):
    # 2e-3 ... 4e-2 s (spiking-lca with duration=0.04): matplotlib labelled the minor
    # ticks 2×10⁻³, 3×10⁻³, 4×10⁻³, ..., which ran into each other
    import itertools

    from v1model.plotting import plot_error_vs_time

    t = np.geomspace(t0, t1, 25)
    fig = plot_error_vs_time({"spiking LCA": (t, np.geomspace(1, 0.02, 25))}, target=0.05)
    for axis in (fig.axes[0].xaxis, fig.axes[0].yaxis):
        labels = _drawn_tick_labels(axis)
        assert len(labels) >= 2, labels
        boxes = sorted((box for _, box in labels), key=lambda b: (b.x0, b.y0))
        for a, b in itertools.pairwise(boxes):
            assert not (a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1), \
                [text for text, _ in labels]
        for text, _ in labels:
            assert "$" not in text and float(text) > 0, text  # 0.002, not mathtext


@pytest.mark.parametrize("lo, hi", [(1e-7, 10.0), (1e-12, 1e3)])
def test_plain_log_ticks_label_long_axes(lo, hi):
    # 1-2-5 ticks over more decades than the axis has room for: matplotlib's locator
    # gave no tick at all, an axis without a number
    from v1model.plotting._mpl import plain_log_ticks, pyplot

    _, ax = pyplot().subplots(figsize=(3, 2.5))
    ax.loglog([lo, hi], [lo, hi])
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    for axis in (ax.xaxis, ax.yaxis):
        texts = [text for text, _ in _drawn_tick_labels(axis)]
        assert len(texts) >= 3, texts
        values = [float(t) for t in texts]
        assert all(np.log10(v) == pytest.approx(round(np.log10(v))) for v in values), texts


@pytest.mark.parametrize("lo, span", [(1.23e-4, 1.3), (3.3e-4, 2.2), (0.05, 1.05),
                                      (0.7, 2.2), (123.4, 1.3)])
def test_plain_log_ticks_label_short_axes_apart(lo, span):
    # under two 1-2-5 ticks in view (a span under 2-2.5x) matplotlib's LogLocator fell
    # back to linear ticks: 0.00012, 0.000125, ... 0.000165, ten labels run into each
    # other on a 3-inch panel (and a single label on 0.7 ... 1.54). Now 2 to 4 round,
    # evenly spaced ticks whose drawn labels do not overlap
    import itertools

    from v1model.plotting._mpl import plain_log_ticks, pyplot

    _, ax = pyplot().subplots(figsize=(3, 2.5))
    ax.loglog([lo, lo * span], [lo * span, lo])
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    for axis in (ax.xaxis, ax.yaxis):
        labels = _drawn_tick_labels(axis)
        texts = [text for text, _ in labels]
        assert 2 <= len(labels) <= 4, texts
        for (_, a), (_, b) in itertools.pairwise(sorted(labels, key=lambda t: float(t[0]))):
            assert not a.overlaps(b), texts
        values = np.array([float(t) for t in texts])
        steps = np.diff(np.sort(values))
        np.testing.assert_allclose(steps, steps[0], rtol=1e-9)  # evenly spaced, round
        mantissa = steps[0] / 10.0 ** np.floor(np.log10(steps[0]) + 1e-9)  # 0.000999...
        assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), texts


def test_raster_of_spikes_at_time_zero_has_a_time_axis():
    # every spike at t = 0: xlim (0, 0), matplotlib's "identical low and high xlims"
    import warnings

    from v1model.plotting import plot_raster

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_raster([0.0, 0.0], [0, 1]).axes[0]
    assert ax.get_xlim() == (0.0, 1.0)


def test_error_vs_time_draws_a_curve_of_one_time():
    # spiking-lca shorter than 10 ms records its error at the duration only: a bare
    # line of one point drew nothing, though the legend named the curve
    from v1model.plotting import plot_error_vs_time

    fig = plot_error_vs_time({"spiking LCA": (np.array([0.005]), np.array([0.4])),
                              "ODE LCA": (np.geomspace(1e-3, 5e-3, 5),
                                          np.geomspace(1, 0.2, 5))})
    one, many = fig.axes[0].get_lines()[:2]
    assert one.get_label() == "spiking LCA" and list(one.get_markevery()) == [True]
    assert one.get_marker() not in (None, "None", "", " ")
    assert many.get_marker() in (None, "None", "", " ")  # segments drawn: no dots


@pytest.mark.parametrize("normalize", ["each", "all"])
def test_atoms_with_nan_are_said_and_do_not_blank_the_others(normalize):
    # normalize="all" took the scale of the whole dictionary: one NaN pixel made every
    # atom NaN, an empty grey grid; under "each" the atom was an empty cell, unsaid
    from v1model.plotting.atoms import tile_atoms

    D = np.random.default_rng(0).standard_normal((4, 16))
    D[2, 3] = np.nan
    with pytest.warns(RuntimeWarning, match="1 of 4 atoms hold NaN or inf.*atom 2"):
        canvas = tile_atoms(D, normalize=normalize, pad=0)  # 2 x 2 atoms of 4 x 4
    cells = canvas.reshape(2, 4, 2, 4).transpose(0, 2, 1, 3).reshape(4, 4, 4)
    assert np.isnan(cells[2]).all()
    finite = [0, 1, 3]
    assert np.isfinite(cells[finite]).all()
    scale = (np.abs(D[finite]).max(axis=1)[:, None] if normalize == "each"
             else np.abs(D[finite]).max())
    np.testing.assert_allclose(cells[finite].reshape(3, 16), D[finite] / scale)


@pytest.mark.parametrize("codes, reason", [([0.0, 0.5, 0.5, 0.5], "are all equal"),
                                           (np.zeros(10), "there are\nno non-zero")])
def test_coefficient_histogram_draws_no_gaussian_without_a_variance(codes, reason):
    # the s.d. 0 of equal (or no) coefficients was replaced by 1 for the bins' range,
    # and a Gaussian "with the variance of the non-zero coefficients (σ = 1)" drawn
    from v1model.plotting import plot_coefficient_histogram

    ax = plot_coefficient_histogram(codes).axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("σ =" in t for t in texts), texts
    assert any(t.startswith("no Gaussian") and reason in t for t in texts), texts
    assert len([ln for ln in ax.get_lines() if len(ln.get_xdata())]) == 1  # the histogram
    assert ax.get_yscale() == "log" and 0 < ax.get_ylim()[0] < ax.get_ylim()[1]


def test_a_one_update_curve_has_whole_update_ticks_and_a_singular_title():
    import xarray as xr

    from v1model.plotting import plot_learning_curve

    history = xr.Dataset({"objective": ("update", [1.0])}, coords={"update": [0]},
                         attrs={"n_updates": 1, "quick": 1})
    fig = plot_learning_curve(history)
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if left <= t <= right]
    assert ticks == [0]  # was -0.04 ... 0.04, then -1, 0, 1
    assert "(1 update)" in fig._suptitle.get_text()


def test_silent_units_get_no_negative_rates_or_counts():
    from v1model.plotting import plot_rate_distribution

    fig = plot_rate_distribution([0.0, 0.0], counts=np.zeros((2, 2)))
    rates_ax, counts_ax = fig.axes
    assert rates_ax.get_xlim()[0] == 0  # was -0.5 "spikes/image"
    assert counts_ax.get_xlim() == (-0.5, 1.5)


@pytest.mark.parametrize("counts, value", [
    ([[np.nan, 1.0]], "nan"),     # was cast to -9223372036854775808, a point off the axis
    ([[1.7, 2.0]], "1.7"),        # was truncated to 1 spike
    ([[2, -3]], "-3.0"),          # was drawn left of the axis, out of view
])
def test_rate_distribution_refuses_counts_that_are_not_spike_counts(counts, value):
    from v1model.plotting import plot_rate_distribution

    with pytest.raises(ValueError, match=rf"counts must be non-negative whole numbers of "
                                         rf"spikes, got {value}"):
        plot_rate_distribution([1.0, 2.0], counts=counts)


def test_rate_distribution_refuses_empty_counts_and_nan_rates():
    # an empty counts failed in max() with NumPy's "zero-size array to reduction
    # operation", and all-NaN rates in np.histogram, naming no argument
    from v1model.plotting import plot_rate_distribution

    with pytest.raises(ValueError, match=r"counts is empty \(shape \(0, 3\)\)"):
        plot_rate_distribution([1.0, 2.0], counts=np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"unit_rates contains 2 non-finite value\(s\).*"
                                         r"index 0 \(nan\)"):
        plot_rate_distribution([np.nan, np.nan])


@pytest.mark.parametrize("target, error, match", [
    ("0.05", TypeError, r"target must be a real number"),  # was "Unknown format code 'g'"
    (np.nan, ValueError, r"target must be a non-negative finite number, got nan"),  # no line
    (-0.05, ValueError, r"target must be a non-negative finite number, got -0.05"),
])
def test_rate_distribution_refuses_a_target_it_cannot_draw(target, error, match):
    from v1model.plotting import plot_rate_distribution

    with pytest.raises(error, match=match):
        plot_rate_distribution([0.04, 0.06], target=target)


def test_rate_distribution_refuses_empty_rates_and_draws_its_target():
    # no rates drew an empty histogram without a word
    from v1model.plotting import plot_rate_distribution

    with pytest.raises(ValueError, match=r"unit_rates is empty \(shape \(0,\)\)"):
        plot_rate_distribution([])
    fig = plot_rate_distribution([0.04, 0.06], target=np.float32(0.05))
    x, _ = fig.axes[0].lines[0].get_data()
    np.testing.assert_allclose(x, [0.05, 0.05])


def test_rate_distribution_counts_whole_floats_as_counts():
    # float counts of whole numbers (a mean over stimuli kept as float) are counts
    from v1model.plotting import plot_rate_distribution

    fig = plot_rate_distribution([1.0, 2.0], counts=np.array([[0.0, 2.0], [2.0, 3.0]]))
    x, y = fig.axes[1].lines[0].get_data()
    np.testing.assert_array_equal(x, [0, 2, 3])
    np.testing.assert_allclose(y, [0.25, 0.5, 0.25])


@pytest.mark.parametrize("where, name, value", [("W", "W", np.inf), ("overlap", "overlap", np.nan)])
def test_inhibition_vs_overlap_refuses_non_finite_pairs(where, name, value):
    # a NaN overlap or an inf weight drew no binned mean and "Pearson r = nan", unsaid
    from v1model.plotting.spiking import plot_inhibition_vs_overlap

    rng = np.random.default_rng(0)
    W, overlap = np.abs(rng.standard_normal((4, 4))), rng.uniform(-1, 1, (4, 4))
    arrays = {"W": W, "overlap": overlap}
    arrays[where][2, 1] = value
    with pytest.raises(ValueError, match=rf"{name} contains 1 non-finite value\(s\) .* off the "
                                         rf"diagonal, the first at index \(2, 1\) \({value}\)"):
        plot_inhibition_vs_overlap(W, overlap)


def test_titles_say_why_a_correlation_is_undefined():
    """Two units have two pairs of one overlap (rf_overlap is symmetric): no spread, so
    Pearson r is 0/0, and the titles said "Pearson r = nan"; they say why now. A
    constant code in plot_code_scatter likewise; a defined r is unchanged."""
    from v1model.plotting.spiking import plot_code_scatter, plot_inhibition_vs_overlap

    overlap = np.array([[1.0, -0.17], [-0.17, 1.0]])
    fig = plot_inhibition_vs_overlap(np.array([[0.0, 0.3], [0.1, 0.0]]), overlap,
                                     title="SAILnet")
    assert fig.axes[0].get_title() == "SAILnet\nr undefined: no spread in overlap"
    fig = plot_inhibition_vs_overlap(np.zeros((2, 2)), overlap)
    assert fig.axes[0].get_title() == "r undefined: no spread in overlap and W"
    reference = np.array([0.0, 1.0, 2.0, 3.0])
    fig = plot_code_scatter(np.ones(4), reference)
    # |1 - ref| / |ref| = sqrt(1 + 0 + 1 + 4) / sqrt(14)
    assert fig.axes[0].get_title() == (f"r undefined: no spread in code, rel. error = "
                                       f"{np.sqrt(6 / 14):.1%}")
    fig = plot_code_scatter(2 * reference, reference)
    assert fig.axes[0].get_title() == "r = 1.000, rel. error = 100.0%"


def test_inhibition_vs_overlap_ignores_the_diagonal():
    # the diagonal is documented as ignored: a NaN there (no self-overlap) is no error
    from v1model.plotting.spiking import plot_inhibition_vs_overlap

    rng = np.random.default_rng(1)
    W, overlap = np.abs(rng.standard_normal((5, 5))), rng.uniform(-1, 1, (5, 5))
    np.fill_diagonal(overlap, np.nan)
    fig = plot_inhibition_vs_overlap(W, overlap)
    off = ~np.eye(5, dtype=bool)
    expected = np.corrcoef(overlap[off], W[off])[0, 1]
    assert fig.axes[0].get_title() == f"Pearson r = {expected:.2f}"


@pytest.mark.parametrize("center, spread", [(-0.1671, 0.0), (0.31234, 1e-6), (0.31234, 1e-3),
                                            (0.6, 0.02), (0.2, 0.15), (0.0, 1.0)])
def test_inhibition_vs_overlap_tick_labels_are_apart(center, spread):
    # all overlaps nearly equal (2 units, 5 updates of zylberberg-2011-sailnet) zoomed the
    # axis in to -0.1675, -0.1650, ... or 0.31175, 0.31200, ...: labels ran into each other
    import itertools

    from v1model.plotting.spiking import plot_inhibition_vs_overlap

    rng = np.random.default_rng(0)
    overlap = center + spread * rng.uniform(-1, 1, (5, 5))
    overlap = (overlap + overlap.T) / 2
    fig = plot_inhibition_vs_overlap(rng.uniform(0, 1, (5, 5)), overlap)
    labels = _drawn_tick_labels(fig.axes[0].xaxis)
    assert len(labels) >= 2, labels
    boxes = sorted((box for _, box in labels), key=lambda b: b.x0)
    for a, b in itertools.pairwise(boxes):
        assert a.x1 < b.x0, [text for text, _ in labels]
    from v1model.plotting.spiking import OVERLAP_MIN_SPAN

    lo, hi = fig.axes[0].get_xlim()
    off = ~np.eye(5, dtype=bool)
    assert hi - lo >= OVERLAP_MIN_SPAN * (1 - 1e-12)
    assert lo <= overlap[off].min() and overlap[off].max() <= hi


def test_learning_curve_of_a_greedy_learner_has_a_title_without_lam():
    """A history learned with n_nonzero (K-SVD with OMP) keeps lam=None as the netCDF
    text "None": plot_learning_curve failed on float("None") ("could not convert
    string to float"), for the history in memory and as saved."""
    from v1model.learning import SparseDictionaryLearner, learn_ksvd
    from v1model.plotting import plot_learning_curve

    X = np.random.default_rng(0).standard_normal((200, 16))
    _, history = learn_ksvd(X, 8, n_nonzero=2, n_updates=3, seed=0, progress=False)
    assert history.attrs["lam"] == "None"
    assert plot_learning_curve(history)._suptitle.get_text() == "3 updates"
    learner = SparseDictionaryLearner(8, method="omp", n_nonzero=2, n_updates=2,
                                      algorithm="mod", seed=0).fit(X)
    fig = plot_learning_curve(learner.to_dataset())  # the saved learner's learning_lam
    assert fig._suptitle.get_text() == "2 updates"


def test_plot_atoms_of_atoms_given_one_per_column_says_transposed():
    # a PyTorch decoder's weight: (144 pixels of 12x12 atoms, 40 latents); "pass
    # patch_shape" sent the user to draw 144 pixels as atoms of 40 features
    D = np.stack([gabor_patch(12, th, 0.2, 0.0, 2.0, 2.5).ravel()
                  for th in np.linspace(0, np.pi, 40, endpoint=False)])
    with pytest.raises(ValueError, match=r"one atom per column.*pass D\.T"):
        plot_atoms(D.T)
    with pytest.raises(ValueError, match=r"looks transposed.*pass D\.T"):
        plot_atoms(D.T, patch_shape=(12, 12))
    plot_atoms(D)  # the rows, as given by D.T.T


def test_atom_images_of_one_atom_as_an_image():
    """``dictionary.isel(atom=0)``, a DataArray over (y, x), was read as 4 atoms of 6
    features, refused with "pass patch_shape", advice that could not help; it is one
    atom, in either order of its dims. A plain (h, w) array is still ambiguous: the
    message says how to give it as one atom."""
    import xarray as xr

    from v1model.plotting.atoms import atom_images

    atoms = np.random.default_rng(0).standard_normal((3, 4, 6))
    da = xr.DataArray(atoms, dims=("atom", "y", "x"))
    for one in (da.isel(atom=1), da.isel(atom=1).T):
        np.testing.assert_array_equal(atom_images(one), atoms[1:2])
    assert plot_atoms(da.isel(atom=1)).axes[0].get_images()[0].get_array().shape == (6, 8)
    with pytest.raises(ValueError, match=re.escape("one atom as an image (h, w), pass "
                                                   "D[None]")):
        atom_images(atoms[1])
    np.testing.assert_array_equal(atom_images(atoms[1][None]), atoms[1:2])


def test_atom_images_read_a_dataarray_by_dim_name():
    # a saved dictionary transposed to (atom, x, y) was drawn transposed, unsaid
    import xarray as xr

    from v1model.plotting.atoms import atom_images

    atoms = np.random.default_rng(0).standard_normal((3, 4, 6))
    da = xr.DataArray(atoms, dims=("atom", "y", "x"))
    np.testing.assert_array_equal(atom_images(da.transpose("atom", "x", "y")), atoms)
    flat = xr.DataArray(atoms.reshape(3, 24), dims=("atom", "feature"))
    np.testing.assert_array_equal(atom_images(flat.T, patch_shape=(4, 6)), atoms)


def test_plot_atoms_draws_a_network_in_its_own_patch_shape():
    """A network of 4x16 patches: its rows drawn by plot_atoms(net.dictionary) are 8x8
    squares, and plot_atoms(net) failed with "D must be numeric, got an array of
    object"; the network and the Dataset it saves give their own patch_shape."""
    import xarray as xr

    from v1model import SparseCodingNetwork
    from v1model.plotting.atoms import atom_images, tile_atoms

    D = np.random.default_rng(0).standard_normal((6, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    net = SparseCodingNetwork(D, patch_shape=(4, 16))
    for given in (net, net.to_dataset()):
        np.testing.assert_array_equal(atom_images(given), D.reshape(6, 4, 16))
    image = plot_atoms(net).axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(image.filled(np.nan), tile_atoms(D.reshape(6, 4, 16)))
    with pytest.raises(ValueError, match=r"patch_shape=\(8, 8\) differs from the atoms' "
                                         r"own \(4, 16\)"):
        plot_atoms(net, patch_shape=(8, 8))
    with pytest.raises(TypeError, match=r"got a Dataset with the variables \['rf'\]"):
        plot_atoms(xr.Dataset({"rf": (("atom", "y", "x"), D.reshape(6, 8, 8))}))
    with pytest.raises(RuntimeError, match="no dictionary yet"):
        plot_atoms(SparseCodingNetwork(n_atoms=3))


def test_learning_curve_takes_one_variable_by_name():
    # variables="objective" was read letter by letter: "none is in the history" of
    # ('o', 'b', 'j', ...)
    import xarray as xr

    from v1model.plotting import plot_learning_curve

    history = xr.Dataset({"objective": ("update", [3.0, 2.0, 1.5]),
                          "fraction_active": ("update", [0.3, 0.2, 0.1])},
                         coords={"update": [0, 1, 2]})
    fig = plot_learning_curve(history, variables="objective")
    assert [ax.get_ylabel() for ax in fig.axes] == ["objective"]
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 2.0, 1.5])


@pytest.mark.parametrize("n_updates", [1550, 2000, 20000, 100000])
@pytest.mark.parametrize("n_panels", [1, 3])
def test_learning_curve_update_labels_are_apart(n_updates, n_panels):
    # MaxNLocator(integer=True) placed 10 bins whatever the panel's width: at 1,550
    # updates "0 200 ... 1800" ran into each other ("10001200"), at 20,000 "1000012500"
    import itertools

    import xarray as xr

    from v1model.plotting import plot_learning_curve

    y = 0.3 + 0.02 * np.random.default_rng(0).standard_normal(n_updates)
    names = ("objective", "reconstruction_error", "fraction_active")[:n_panels]
    history = xr.Dataset({name: ("update", y) for name in names},
                         coords={"update": np.arange(n_updates)})
    fig = plot_learning_curve(history)
    for ax in fig.axes:
        labels = sorted(_drawn_tick_labels(ax.xaxis), key=lambda t: t[1].x0)
        texts = [text for text, _ in labels]
        assert len(labels) >= 4, texts
        for (_, a), (_, b) in itertools.pairwise(labels):
            assert b.x0 - a.x1 > 0, texts
        assert all(float(t.replace("−", "-")) % 1 == 0 for t in texts), texts


def test_rf_comparison_reads_fields_by_dim_name_and_takes_the_mapping_result():
    """Fields transposed to (atom, x, y) were drawn transposed, unsaid (read by
    position), and map_receptive_fields' Dataset as rfs failed with xarray's "cannot
    directly convert an xarray.Dataset into a numpy array"."""
    import xarray as xr

    from v1model.plotting import plot_rf_comparison

    atoms = np.random.default_rng(0).standard_normal((4, 3, 5))
    similarity = [0.9, 0.8, 0.7, 0.6]
    rf = xr.Dataset({"rf": (("atom", "y", "x"), 2 * atoms ** 3),
                     "similarity": ("atom", similarity)})

    def drawn(fig):
        return [ax.get_images()[0].get_array().filled(np.nan) for ax in fig.axes[:2]]

    ref = plot_rf_comparison(atoms, 2 * atoms ** 3, similarity)
    da = xr.DataArray(atoms, dims=("atom", "y", "x")).transpose("atom", "x", "y")
    for fig in (plot_rf_comparison(da, rf.transpose("atom", "x", "y")),
                plot_rf_comparison(atoms, rf["rf"].transpose("atom", "x", "y"), similarity)):
        assert len(fig.axes) == 3
        for got, want in zip(drawn(fig), drawn(ref)):
            np.testing.assert_array_equal(got, want)
        assert fig.axes[2].get_title() == ref.axes[2].get_title()
    with pytest.raises(TypeError, match=r"rfs must be the Dataset returned by "
                                        r"map_receptive_fields, got one without \['rf'\]"):
        plot_rf_comparison(atoms, rf.rename(rf="field"))


def test_learning_curve_of_a_network_draws_its_history():
    # plot_learning_curve(net) was refused ("history must be an xarray.Dataset ... got
    # SparseCodingNetwork") where plot_atoms(net) draws the same network's atoms
    import xarray as xr

    from v1model import SparseCodingNetwork
    from v1model.plotting import plot_learning_curve

    net = SparseCodingNetwork(n_atoms=3, patch_shape=(2, 2))
    with pytest.raises(TypeError, match=r"^history: SparseCodingNetwork\(n_atoms=3.*has no "
                                        r"learning history yet \(history_ is None\)"):
        plot_learning_curve(net)
    objective = np.linspace(2.0, 1.0, 30)
    net.history_ = xr.Dataset({"objective": ("update", objective)},
                              coords={"update": np.arange(30)})
    line = plot_learning_curve(net, "objective").axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(30))
    np.testing.assert_array_equal(line.get_ydata(), objective)


@pytest.mark.parametrize("codes, message", [
    (np.zeros((0, 5)), r"codes holds no coefficient \(shape \(0, 5\)\); nothing to draw"),
    (np.full((2, 3), np.nan), r"codes holds no finite coefficient \(6 given: 0 masked, 6 NaN "
                              r"or inf\); nothing to draw"),
    (np.ma.masked_array([1.0, np.inf], mask=[1, 0]),
     r"codes holds no finite coefficient \(2 given: 1 masked, 1 NaN or inf\)"),
])
def test_coefficient_histogram_refuses_codes_with_nothing_to_draw(codes, message):
    # an empty figure was drawn, its legend saying "P(a = 0) = nan (0 of 0 exactly 0)"
    from v1model.plotting import plot_coefficient_histogram

    with pytest.raises(ValueError, match="^" + message):
        plot_coefficient_histogram(codes)
    # one finite coefficient, zero, is a figure: P(a = 0) = 1 (1 of 1)
    texts = [t.get_text() for t in
             plot_coefficient_histogram([0.0]).axes[0].get_legend().get_texts()]
    assert "P(a = 0) = 1.000\n(1 of 1 exactly 0)" in texts


def test_learning_curve_marks_where_each_later_learn_call_starts(rng, tmp_path):
    # a history continued over learn() calls was drawn as one run: the jump where the
    # second call's lr schedule restarts read as learning itself
    from v1model import SparseCodingNetwork
    from v1model.plotting import plot_learning_curve

    key = "start of a continued learning call"
    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4))
    net.learn(X, n_updates=5, batch_size=50, seed=0, progress=False)
    one_call = plot_learning_curve(net, variables="objective")
    assert not [ln for ax in one_call.axes for ln in ax.lines if ln.get_label() == key]
    for seed, n_updates in ((1, 7), (2, 3)):
        net.learn(X, n_updates=n_updates, batch_size=50, seed=seed, progress=False)
    saved = SparseCodingNetwork.load(net.save(tmp_path / "net.nc")).to_dataset()
    for history in (net, saved):  # a saved network's as learning_updates_per_call
        fig = plot_learning_curve(history, variables=("objective", "fraction_active"))
        assert len(fig.axes) == 2
        for ax in fig.axes:
            starts = [ln for ln in ax.lines if ln.get_label() == key]
            # vertical lines at the updates done before the 2nd and 3rd calls: 5 and 12
            assert [list(ln.get_xdata()) for ln in starts] == [[5, 5], [12, 12]]
            assert all(ln.get_linewidth() < 1 for ln in starts)  # thin, under the data
        legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
        assert legend.count(key) == 1 and legend[0] == "per update"


def test_atoms_expected_to_hold_nan_are_drawn_empty_without_a_warning():
    """A caller that expects NaN atoms (ringach-2002's Gabor models of atoms with no
    fit) hid plot_atoms' RuntimeWarning with warnings.catch_warnings, one per process:
    another thread's warnings were hidden too. nan_atoms="empty" draws the same canvas
    silently; an unknown value is refused by name."""
    import warnings

    from v1model.plotting.atoms import tile_atoms

    D = np.random.default_rng(0).standard_normal((4, 16))
    D[[1, 2]] = np.nan
    with pytest.warns(RuntimeWarning, match="2 of 4 atoms hold NaN"):
        said = tile_atoms(D)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = tile_atoms(D, nan_atoms="empty")
    np.testing.assert_array_equal(silent, said)  # NaN where NaN, the same atoms elsewhere
    with pytest.raises(ValueError, match="nan_atoms"):
        tile_atoms(D, nan_atoms="ignore")


@pytest.mark.parametrize("size", [8, 12, 16, 32])
def test_frequency_tick_labels_at_the_default_frequencies_keep_apart(size):
    # the 8 default frequencies labelled to 4 digits ran into each other on the 4-inch
    # panel ("0.083330.1060.1349..." for 12x12 patches): every tested frequency keeps its
    # tick, and a label that would meet its neighbour is left blank
    import itertools

    tuning = tuning_curves(grating_responses(lambda X: X[:, :3] ** 2, size, orientations=4,
                                             phases=2, progress=False))
    fig = plot_tuning_curves(tuning)
    axis = fig.axes[1].xaxis
    labels = _drawn_tick_labels(axis)
    texts = [text for text, _ in labels]
    assert len(labels) >= 4, texts
    for (_, a), (_, b) in itertools.pairwise(labels):
        assert not a.overlaps(b), texts
    np.testing.assert_array_equal(axis.get_majorticklocs(), tuning.frequency.values)
    shown = {float(loc): t.get_text() for loc, t in zip(axis.get_majorticklocs(),
                                                       axis.get_majorticklabels())}
    for loc, text in shown.items():  # a drawn label reads as its own tick's frequency
        assert not text or float(text) == pytest.approx(loc, rel=1e-3), shown


@pytest.mark.parametrize("max_frequency", [0.25, 0.3, 0.45, 0.5, 1.0])
def test_polar_frequency_labels_keep_apart(max_frequency):
    # at max_frequency 0.3 or 0.45 matplotlib ticked the radius every 0.05: "0.00" ...
    # "0.45" ran into each other along the half-disc's flat edge
    import itertools

    from v1model.plotting import plot_orientation_frequency

    fig = plot_orientation_frequency([0.1, 1.0], [0.1, 0.2], max_frequency=max_frequency)
    labels = _drawn_tick_labels(fig.axes[0].yaxis)
    texts = [text for text, _ in labels]
    assert len(labels) >= 3, texts
    for (_, a), (_, b) in itertools.pairwise(sorted(labels, key=lambda t: float(t[0]))):
        assert not a.overlaps(b), texts


def test_rf_comparison_pairs_atoms_and_fields_by_atom_label():
    # by position, the atoms 11 and 13 were drawn beside the fields mapped for 13 and 11
    # (unsaid), and the whole dictionary beside a selection of fields was refused
    import xarray as xr

    from v1model.analysis import map_receptive_fields
    from v1model.plotting import plot_rf_comparison

    atoms = np.stack([gabor_patch((8, 12), th, 0.2, 0.0, 2.0, 3.0)
                      for th in np.linspace(0, np.pi, 6, endpoint=False)])
    D = xr.DataArray(atoms, dims=("atom", "y", "x"), coords={"atom": np.arange(10, 16)})
    rf = map_receptive_fields(lambda X: X @ atoms.reshape(6, -1).T, (8, 12), n_stimuli=500,
                              dictionary=D, seed=0, progress=False)

    def grids(fig):
        return [np.ma.getdata(ax.images[0].get_array()) for ax in fig.axes[:2]]

    picked = rf.isel(atom=[3, 1])  # units 13, 11
    reference = grids(plot_rf_comparison(atoms[[3, 1]], picked.rf.values))
    for given in (D, D.isel(atom=[1, 3]), D.transpose("x", "atom", "y")):
        for fields in (picked, picked.rf):
            fig = plot_rf_comparison(given, fields, similarity=rf.similarity)
            for drawn, expected in zip(grids(fig), reference):
                np.testing.assert_array_equal(drawn, expected)
            hist = fig.axes[2]  # the similarities of units 13 and 11 only
            assert sum(p.get_height() for p in hist.patches) == 2
    with pytest.raises(ValueError, match=r"atoms has no atom \[13\] of the mapped units"):
        plot_rf_comparison(D.isel(atom=[0, 1]), picked)


def _scatter_points(fig):
    """The (x, y) of every dot of the first scatter of ``fig``'s first axes."""
    return np.asarray(fig.axes[0].collections[0].get_offsets())


def test_inhibition_vs_overlap_reads_dataarrays_by_dim_name():
    # W (neuron_pre, neuron) was read by position: W[j, i] drawn against the overlap of
    # i and j (W is not symmetric), unsaid; other dims were read by position too
    import xarray as xr

    from v1model.plotting.spiking import plot_inhibition_vs_overlap

    rng = np.random.default_rng(0)
    k = 5
    W = np.triu(rng.uniform(0.1, 1.0, (k, k)), 1)  # only onto lower-numbered units
    overlap = rng.uniform(-1, 1, (k, k))
    overlap = overlap + overlap.T
    dims = ("neuron", "neuron_pre")
    W_da, overlap_da = xr.DataArray(W, dims=dims), xr.DataArray(overlap, dims=dims)
    off = ~np.eye(k, dtype=bool)
    expected = np.column_stack([overlap[off], W[off]])  # the pairs (overlap_ij, W_ij)
    for w, o in ((W_da, overlap_da), (W_da.T, overlap_da), (W_da.T, overlap_da.T),
                 (W_da, overlap), (xr.DataArray(W), overlap)):  # xarray's dim_0, dim_1
        np.testing.assert_array_equal(_scatter_points(plot_inhibition_vs_overlap(w, o)),
                                      expected)
    for name, w, o in (("W", xr.DataArray(W, dims=("post", "pre")), overlap),
                       ("overlap", W, xr.DataArray(overlap, dims=("neuron", "atom"))),
                       ("W", W_da.expand_dims(run=1), overlap)):
        with pytest.raises(ValueError, match=re.escape(
                f"{name} is a DataArray with dims ") + r".*" + re.escape(
                "expected ('neuron', 'neuron_pre') in any order (read by name)")):
            plot_inhibition_vs_overlap(w, o)


def test_raster_reads_dataarrays_by_dim_name_and_spike_label():
    # spike_unit labelled in another order than spike_time paired each time with another
    # spike's unit, a (spike, sample) DataArray was drawn flattened, and a DataArray over
    # "time" (a trace, not spikes) was drawn as spikes: all unsaid
    import xarray as xr

    from v1model.plotting import plot_raster

    label = {"spike": [10, 11, 12, 13]}
    t = xr.DataArray([0.1, 0.2, 0.3, 0.4], dims="spike", coords=label)
    u = xr.DataArray([3, 0, 2, 1], dims="spike", coords=label)
    expected = np.column_stack([t.values, u.values])
    for units in (u, u.isel(spike=[2, 0, 3, 1]), u.values):
        np.testing.assert_array_equal(_scatter_points(plot_raster(t, units)), expected)
    # spiking_lca's spikes carry no labels: read in their order, as arrays are
    np.testing.assert_array_equal(
        _scatter_points(plot_raster(t.drop_vars("spike"), u.isel(spike=[2, 0, 3, 1]))),
        np.column_stack([t.values, [2, 3, 1, 0]]))
    with pytest.raises(ValueError, match=r"spike_time and spike_unit label different spikes"):
        plot_raster(t, u.assign_coords(spike=[10, 11, 12, 99]))
    for name, args in (
            ("spike_time", (xr.DataArray([[0.1, 0.2], [0.3, 0.4]], dims=("spike", "sample")),
                            np.array([[0, 1], [1, 0]]))),
            ("spike_time", (xr.DataArray([0.1, 0.2], dims="time"), [0, 1])),
            ("spike_unit", ([0.1, 0.2], xr.DataArray([0, 1], dims="atom")))):
        with pytest.raises(ValueError, match=re.escape(f"{name} is a DataArray with dims ")
                           + r".*" + re.escape("expected ('spike',) (read by name)")):
            plot_raster(*args)
    with pytest.raises(ValueError, match=r"must be 1-D \(one entry per spike\), got shape "
                                         r"\(2, 2\)"):
        plot_raster(np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[0, 1], [1, 0]]))
