"""Analysis figures take the analysis functions' outputs as they come."""

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from v1model.plotting import (plot_gabor_tiling, plot_nx_ny, plot_rf_comparison,  # noqa: E402
                              plot_sparseness_tradeoff, plot_tuning_curves)


def test_rf_comparison_takes_a_flat_dictionary_of_non_square_atoms():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rfs = rng.standard_normal((50, 8, 12))
    flat = rfs.reshape(50, 96)  # as given to map_receptive_fields(dictionary=...)
    fig = plot_rf_comparison(flat, rfs, similarity=np.ones(50))
    left, right = (ax.get_images()[0].get_array() for ax in fig.axes[:2])
    np.testing.assert_array_equal(left, right)  # same atoms, tiled the same way
    assert left.shape[0] < left.shape[1] * 2  # 8x12 tiles, not 96-pixel strips
    plt.close(fig)
    with pytest.raises(ValueError, match="not a square patch"):
        plot_rf_comparison(flat[:, :90], rfs)  # sizes that do not match stay an error


def _figure_texts(fig):
    """Every text of a figure: titles, labels, legends (figure's and axes')."""
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_sparseness_tradeoff_names_each_shaded_class_in_a_legend():
    lam = np.array([0.1, 0.3, 1.0, 10.0])
    fig = plot_sparseness_tradeoff(lam, [0.3, 0.2, 0.05, 0.0], [0.1, 0.2, 0.4, 1.0],
                                   classes=["dense", "dense", "local", "silent"],
                                   active_count=[19.2, 12.8, 3.2, 0.0], n_units=64)
    # the shading was explained only in the title: now a legend names every class
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["dense: λ ∈ [0.1, 0.3]", "local: λ = 1", "silent: λ = 10"], texts
    # a one-point interval reads as a typo: "[10, 10]" nowhere in the figure
    assert not any(re.search(r"\[([\d.]+), \1\]", t) for t in _figure_texts(fig))
    # the silent band shows: its darkening of the white axes, alpha x (1 - grey), was
    # 0.08 x 0.2 (light grey at the coloured bands' alpha)
    silent = fig.axes[0].patches[-1]  # one band per lambda, in order
    r, g, b, alpha = silent.get_facecolor()
    assert alpha * (1 - (r + g + b) / 3) > 0.1


def test_sparseness_tradeoff_active_counts_are_not_hidden_under_the_ratio():
    lam = np.array([0.1, 1.0])
    fig = plot_sparseness_tradeoff(lam, [0.3, 0.05], [0.1, 0.4], active_count=[19.2, 3.2],
                                   n_units=64)
    circles = fig.axes[0].lines[0]
    squares = next(line for line in fig.axes[2].lines if line.get_marker() == "s")
    # same positions on the shared scale: hollow and larger, the circles show through
    assert squares.get_markerfacecolor() == "none"
    assert squares.get_markersize() > circles.get_markersize()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("right axis" in t for t in labels), labels


def test_sparseness_tradeoff_of_an_all_silent_code_draws_without_warnings():
    """Every unit silent at every lambda (activity-ratio at a huge lam_min): the log axes
    had no positive value to scale to, and matplotlib warned twice."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_sparseness_tradeoff(np.array([10.0, 50.0]), [0.0, 0.0], [1.0, 1.0],
                                       active_count=[0.0, 0.0], n_units=16)
    low, high = fig.axes[0].get_ylim()
    assert low < 1.0 / 16 and high == 1.0  # the reference levels are in view


def _activity_ratio_dataset(n_lam=3, n_atom=16, n_sample=400):
    rng = np.random.default_rng(2)
    lam = np.geomspace(0.02, 2, n_lam)
    counts = rng.integers(0, n_atom, (n_lam, n_sample))
    counts[-1] = np.where(rng.random(n_sample) < 0.8, 0, 1)  # a near-silent code
    r = np.arange(1, n_atom)
    return xr.Dataset(
        {"activity_ratio": ("lam", np.geomspace(0.5, 0.01, n_lam)),
         "reconstruction_error": ("lam", np.linspace(0.1, 0.9, n_lam)),
         "mean_active_count": ("lam", counts.mean(1)),
         "code_class": ("lam", ["dense", "sparse", "silent"][:n_lam]),
         "active_count": (("lam", "sample"), counts),
         "lifetime_sparseness": (("lam", "atom"), rng.uniform(0.8, 0.99, (n_lam, n_atom))),
         "babel": ("r", 0.7 * r ** 0.6)},
        coords={"lam": lam, "r": r}, attrs={"mutual_coherence": 0.7})


def test_activity_ratio_count_histogram_is_not_flattened_by_a_silent_code(study_figures):
    figures = study_figures("activity-ratio", _activity_ratio_dataset())
    ax = figures["activity-ratio_histograms.png"].axes[0]
    # the near-silent code's ~320 patches at 0 beside ~25 per bin: counts on a log axis
    assert ax.get_yscale() == "log"
    assert "log" in ax.get_ylabel()
    tradeoff = figures["activity-ratio_tradeoff.png"]
    assert "shading" not in tradeoff._suptitle.get_text()  # the legend says it
    assert [t.get_text().split(":")[0] for t in tradeoff.legends[0].get_texts()] == [
        "dense", "sparse", "silent"]


# --- Gabor tiling ---------------------------------------------------------------------------

def _tiling_fit(sigma_y=4.0):
    theta = np.radians([0.0, 45.0, 90.0, 135.0])
    n = theta.size
    return xr.Dataset(
        {"orientation": ("atom", theta), "frequency": ("atom", np.full(n, 0.25)),
         "x0": ("atom", np.full(n, 3.5)), "y0": ("atom", np.full(n, 3.5)),
         "sigma_x": ("atom", np.full(n, 1.5)), "sigma_y": ("atom", np.full(n, sigma_y)),
         "r2": ("atom", np.ones(n))},
        attrs={"height": 8, "width": 8})


def test_gabor_tiling_ellipses_fit_inside_the_patch_and_say_their_size():
    from matplotlib.patches import Ellipse

    fig = plot_gabor_tiling(_tiling_fit(sigma_y=4.0))  # an envelope as long as the patch
    ax = fig.axes[1]
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 4
    for e in ellipses:
        assert (e.width, e.height) == pytest.approx((1.5, 4.0))  # ±0.5 sigma
        corners = e.get_patch_transform().transform(e.get_path().vertices)
        # ±1 sigma reached 3.5 ± 4, past the patch's edges at -0.5 and 7.5
        assert corners.min() >= -0.5 and corners.max() <= 7.5
    assert "±0.5 σ" in ax.get_title()
    # the hsv orientation code has a key
    bars = [a for a in fig.axes if a.get_ylabel().startswith("orientation (deg)")]
    assert len(bars) == 1
    assert [t.get_text() for t in bars[0].get_yticklabels()] == ["0", "45", "90", "135", "180"]
    fig = plot_gabor_tiling(_tiling_fit(), n_sigma=1)
    assert [p.height for p in fig.axes[1].patches if isinstance(p, Ellipse)] == [8.0] * 4


# --- olshausen-field-1997 tiling --------------------------------------------------------------

def _of97_dataset(size=8, levels=(1, 4)):
    """Reliable fits at 0.15-0.35 cycles/pixel, and at 4x three near-Nyquist fits with
    an envelope stuck at fit_gabor's lower sigma bound (0.5 pixel)."""
    rng = np.random.default_rng(3)
    n_max = size * size * max(levels)
    k = [size * size * m for m in levels]
    ds = xr.Dataset(coords={"overcompleteness": list(levels)})
    values = {name: np.full((len(levels), n_max), np.nan) for name in (
        "r2", "frequency", "orientation", "x0", "y0", "sigma_x", "sigma_y")}
    for i, n in enumerate(k):
        values["r2"][i, :n] = 0.95
        values["frequency"][i, :n] = rng.uniform(0.15, 0.35, n)
        values["orientation"][i, :n] = rng.uniform(0, np.pi, n)
        values["x0"][i, :n] = rng.uniform(1, size - 2, n)
        values["y0"][i, :n] = rng.uniform(1, size - 2, n)
        values["sigma_x"][i, :n] = 1.5
        values["sigma_y"][i, :n] = 2.5
    values["frequency"][-1, :3] = [0.42, 0.46, 0.49]
    values["sigma_x"][-1, :3] = 0.5  # at the bound: not reliable
    for name, v in values.items():
        ds[f"gabor_{name}"] = (("overcompleteness", "atom"), v)
    ds["dictionary"] = (("overcompleteness", "atom", "y", "x"),
                        rng.standard_normal((len(levels), n_max, size, size)))
    ds["n_atoms"] = ("overcompleteness", k)
    for name in ("objective", "reconstruction_error", "mean_active"):
        ds[name] = ("overcompleteness", [0.5, 0.4], {"long_name": name, "units": "1"})
    ds.attrs["lam"] = 0.1
    return ds


def test_of97_tiling_shows_reliable_fits_and_titles_every_panel(study_figures):
    fig = study_figures("olshausen-field-1997",
                         _of97_dataset())["olshausen-field-1997_tiling.png"]
    hists = [ax for ax in fig.axes if ax.name != "polar" and not ax.lines]
    polar = [ax for ax in fig.axes if ax.name == "polar"]
    assert len(hists) == 2 and len(polar) == 2
    # the near-Nyquist fits stuck at a sigma bound are not counted
    assert sum(b.get_height() for b in hists[1].patches) == 256 - 3
    assert sum(b.get_height() for b in hists[1].patches if b.get_x() >= 0.4) == 0
    assert len(polar[1].collections[0].get_offsets()) == 256 - 3
    # the figure says which fits are shown; every panel has a title
    assert "reliable" in fig._suptitle.get_text()
    assert all(ax.get_title() for ax in fig.axes), [ax.get_title() for ax in fig.axes]
    fig.canvas.draw()
    for pax in polar:  # the title sits on the half-disc, not a band of white above it
        top = pax.transData.transform([(np.pi / 2, pax.get_rmax())])[0, 1]
        assert pax.title.get_window_extent().y0 - top < 40


# --- receptive-field mapping ----------------------------------------------------------------

def _tuning_dataset(n=8, n_freq=6):
    o = np.linspace(0, np.pi, 12, endpoint=False)
    f = np.geomspace(0.125, 0.45, n_freq)  # less than a decade: one or two decade labels
    width = np.linspace(0.2, 0.6, n)
    ot = np.exp(-((o[None] - np.pi / 2) ** 2) / width[:, None] ** 2)
    return xr.Dataset(
        {"orientation_tuning": (("atom", "orientation"), ot),
         "frequency_tuning": (("atom", "frequency"), np.exp(-np.log(f / 0.25)[None] ** 2
                                                            + 0 * width[:, None])),
         "peak_orientation": ("atom", np.full(n, np.pi / 2)),
         "max_response": ("atom", np.ones(n)),
         "circular_variance": ("atom", np.linspace(0.02, 0.3, n)),
         "orientation_bandwidth": ("atom", width)},
        coords={"orientation": o, "frequency": f})


def test_tuning_frequency_axis_has_readable_tick_labels():
    tuning = _tuning_dataset()
    fig = plot_tuning_curves(tuning, units=[0, 1, 2])
    ax = fig.axes[1]
    assert ax.get_xscale() == "log"
    fig.canvas.draw()
    texts = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(texts) >= 3, texts  # was "0.2", "0.4" only
    values = [float(t) for t in texts]  # plain numbers in cycles/pixel
    assert min(values) >= 0.1 and max(values) <= 0.5
    # the medians are over the units drawn, and the title says so
    assert "medians over these 3" in fig._suptitle.get_text()


def test_tuning_title_without_bandwidths_gives_nan_without_numpy_warnings():
    """No drawn unit with a circular variance or a half-width (an uneven orientation
    grid; tuning_curves already warns) added numpy's "All-NaN slice encountered"
    RuntimeWarning to the figure's NaN medians."""
    import warnings

    tuning = _tuning_dataset()
    tuning["circular_variance"][:] = np.nan
    tuning["orientation_bandwidth"][:] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_tuning_curves(tuning, units=[0, 1, 2])
    assert "circular variance nan, half-width nan°" in fig._suptitle.get_text()


def _rfm_dataset(n_atom=16, size=4):
    rng = np.random.default_rng(4)
    tuning = _tuning_dataset(n=n_atom)
    atoms = rng.standard_normal((n_atom, size, size))
    n_used = np.array([100, 200, 400])
    contrast = np.geomspace(0.01, 1.0, 6)
    sample = np.arange(0, n_atom, 4)
    ds = tuning.assign(
        dictionary=(("atom", "y", "x"), atoms),
        rf_white=(("atom", "y", "x"), atoms), rf_sparse=(("atom", "y", "x"), atoms),
        similarity_white=("atom", np.full(n_atom, 0.9)),
        similarity_sparse=("atom", np.full(n_atom, 0.9)),
        similarity_trace_white=(("n_white_used", "atom"), np.full((3, n_atom), 0.9)),
        similarity_trace_sparse=(("n_sparse_used", "atom"), np.full((3, n_atom), 0.9)),
        atom_r2=("atom", np.full(n_atom, 0.9)),
        atom_orientation=("atom", rng.uniform(0, np.pi, n_atom)),
        preferred_orientation=("atom", rng.uniform(0, np.pi, n_atom)),
        atom_frequency=("atom", np.full(n_atom, 0.25)),
        preferred_frequency=("atom", np.full(n_atom, 0.25)),
        modulation_ratio=("atom", np.full(n_atom, 1.8)),
        contrast_response=(("sample_atom", "contrast"), np.tile(contrast, (sample.size, 1))))
    ds = ds.assign_coords(n_white_used=n_used, n_sparse_used=n_used, contrast=contrast,
                          sample_atom=sample)
    ds.attrs.update(lam=0.15, median_circular_variance=float(np.median(
        ds["circular_variance"].values)), median_orientation_bandwidth_deg=10.0,
        grating_contrast=0.1)
    return ds


def test_rf_mapping_says_which_units_each_circular_variance_is_over(study_figures):
    ds = _rfm_dataset()
    figures = study_figures("receptive-field-mapping", ds)
    summary = "\n".join(_figure_texts(figures["receptive-field-mapping_summary.png"]))
    assert "all 16 tuned units" in summary
    title = figures["receptive-field-mapping_tuning.png"]._suptitle.get_text()
    sample = np.nanmedian(ds["circular_variance"].values[ds["sample_atom"].values])
    assert f"medians over these 4: circular variance {sample:.2f}" in title, title
    assert (f"over all 16 tuned units: {ds.attrs['median_circular_variance']:.2f}"
            in title), title


# --- zhu-rozell-2013-ncrf ---------------------------------------------------------------------

def _ncrf_dataset(n_unit=5):
    rng = np.random.default_rng(5)
    d = np.linspace(1.0, 16.0, 12)
    con = np.array([0.1, 1.0])
    mc = np.array([0.0, 0.25, 1.0])
    size = np.clip(d / 10, 0, 1)[None, None, None] * np.ones((2, n_unit, 2, 1))
    pref = np.stack([np.tile([10.0, 10.0], (n_unit, 1)),
                     np.tile([10.0, 10.0], (n_unit, 1))])
    pref[0, :3, 1] = 8.0  # LCA: smaller at high amplitude for 3 units, equal for 2
    ds = xr.Dataset(
        {"size_response": (("model", "unit", "contrast", "diameter"), size),
         "preferred_diameter": (("model", "unit", "contrast"), pref),
         "suppression_index": (("model", "unit", "contrast"), rng.uniform(0, 0.2,
                                                                          (2, n_unit, 2))),
         "diameter_ratio": (("model", "unit"), pref[..., 1] / pref[..., 0]),
         "xos_relative": (("model", "unit", "mask_contrast"),
                          1 - rng.uniform(0, 0.1, (2, n_unit, 3)) * mc)},
        coords={"model": ["lca", "linear"], "unit": np.arange(n_unit),
                "atom_index": ("unit", np.arange(n_unit) * 3), "contrast": con,
                "diameter": d, "mask_contrast": mc})
    ds.attrs.update(lam=0.1, si_threshold=0.1, test_contrast=0.5,
                    median_diameter_ratio_lca=0.8, median_diameter_ratio_linear=1.0,
                    fraction_diameter_smaller_lca=0.6, fraction_diameter_smaller_linear=0.0,
                    fraction_diameter_not_larger_lca=1.0,
                    fraction_diameter_not_larger_linear=1.0)
    return ds


def test_ncrf_figures_say_amplitude_and_key_every_line(study_figures):
    figures = study_figures("zhu-rozell-2013-ncrf", _ncrf_dataset())
    for name, fig in figures.items():  # grating amplitudes, not contrasts
        assert not any("contrast" in t for t in _figure_texts(fig)), name
    size = figures["zhu-rozell-2013-ncrf_size_tuning.png"]
    texts = [t.get_text() for t in size.legends[0].get_texts()]
    assert texts[:2] == ["grating amplitude 0.1", "grating amplitude 1"]
    assert any("vertical lines: preferred diameter" in t for t in texts), texts
    ax = figures["zhu-rozell-2013-ncrf_cross_orientation.png"].axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("each of the 5 units" in t for t in texts) == 2, texts
    # the README's criterion (at most the low-amplitude diameter), next to "smaller"
    ax = figures["zhu-rozell-2013-ncrf_preferred_diameter.png"].axes[0]
    lca = ax.get_legend().get_texts()[0].get_text()
    assert "≤ for 100%" in lca and "< for 60%" in lca, lca


def test_ncrf_run_docstring_names_the_atom_coordinate():
    from studies import get_study

    doc = get_study("zhu-rozell-2013-ncrf").run.__doc__
    assert "coordinate ``atom_index``" in doc and "coordinate ``atom``)" not in doc


def test_nx_ny_counts_the_points_beyond_its_axes():
    import matplotlib.pyplot as plt
    import xarray as xr

    nx = np.r_[np.linspace(0.1, 0.6, 60), 5.0]  # one outlier far beyond the 98th percentile
    fit = xr.Dataset({"nx": ("atom", nx), "ny": ("atom", nx), "r2": ("atom", np.ones(61))})
    fig = plot_nx_ny(fit, labels=["learned"])
    text = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert "n=61" in text and "1 off the axes" in text
    plt.close(fig)


def test_complex_values_and_fractional_unit_indices_are_refused():
    # numpy's float conversion dropped the imaginary part with only a ComplexWarning, and
    # int() drew spike_unit 1.7 in row 1
    from v1model.plotting import plot_atoms, plot_code_scatter, plot_raster

    from v1model.validation import ComplexDataError

    # the package's one complex refusal (check_array's type and message shape)
    with pytest.raises(ComplexDataError, match=r"^D must be real, got complex values \(array "
                       r"of shape \(2, 16\) and dtype complex128\)$"):
        plot_atoms(np.ones((2, 16)) + 1j)
    with pytest.raises(TypeError, match=r"code must be real"):
        plot_code_scatter(np.ones(4) + 1j, np.ones(4))
    with pytest.raises(TypeError, match=r"spike_unit must hold whole numbers \(unit indices\), "
                                        r"got values such as np.float64\(1.7\)"):
        plot_raster([0.1, 0.2], [0, 1.7])
    fig = plot_raster([0.1, 0.2], [0.0, 1.0])  # whole numbers as floats are indices
    assert fig is not None


def _visible_tick_labels(fig, axis):
    """Window boxes of the non-empty tick labels of ``axis`` inside its view."""
    fig.canvas.draw()
    lo, hi = sorted(axis.get_view_interval())
    return [t.label1.get_window_extent() for t in axis.get_major_ticks()
            if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]


def test_sparseness_tradeoff_tick_labels_of_a_narrow_lambda_range_keep_apart():
    """lam 0.1 ... 0.4 (activity-ratio -p lam_min=0.1 -p lam_max=0.4): matplotlib
    labelled the minor ticks 2×10⁻¹, 3×10⁻¹, 4×10⁻¹, which ran into each other."""
    import itertools

    lam = np.geomspace(0.1, 0.4, 5)
    ratio = np.array([0.3, 0.2, 0.12, 0.07, 0.03])
    fig = plot_sparseness_tradeoff(lam, ratio, [0.2, 0.3, 0.4, 0.5, 0.6],
                                   classes=["dense"] + ["sparse"] * 4,
                                   active_count=64 * ratio, n_units=64)
    for ax in (fig.axes[0], fig.axes[1]):
        boxes = sorted(_visible_tick_labels(fig, ax.xaxis), key=lambda b: b.x0)
        assert len(boxes) >= 2
        assert all(a.x1 <= b.x0 for a, b in itertools.pairwise(boxes)), \
            [t.get_text() for t in ax.get_xticklabels()]
    assert not any("times" in t for t in _figure_texts(fig))  # plain 0.2, not 2×10⁻¹


def test_sparseness_tradeoff_band_of_one_lambda_is_centred_on_it():
    """One lambda's class band spans lam / 1.2 ... lam * 1.2, as the outer bands of
    several do; it was [lam / 1.2, lam], ending at the point."""
    fig = plot_sparseness_tradeoff([0.2], [0.1], [0.3], classes=["sparse"])
    for ax in (fig.axes[0], fig.axes[1]):
        (band,) = ax.patches
        fig.canvas.draw()
        corners = ax.transData.inverted().transform(band.get_window_extent().get_points())
        np.testing.assert_allclose(np.sort(corners[:, 0]), [0.2 / 1.2, 0.2 * 1.2], rtol=1e-3)
