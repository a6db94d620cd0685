"""What the figures show: axis ranges, labels and legends checked against the data drawn."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import v1model.plotting as plotting  # noqa: E402

from v1model.plotting import (plot_coefficient_histogram, plot_gabor_tiling,  # noqa: E402
                              plot_orientation_frequency, plot_rf_comparison,
                              plot_tuning_curves)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _sparse_codes(p_zero=0.78, n=40000, scale=0.3, seed=0):
    """Laplacian coefficients of which a fraction ``p_zero`` is exactly 0, as a
    thresholded (LASSO, LCA) code gives."""
    rng = np.random.default_rng(seed)
    a = rng.laplace(scale=scale, size=n)
    a[rng.random(n) < p_zero] = 0.0
    return a.reshape(-1, 100), a


# --- coefficient histogram (Olshausen & Field 1996, Fig. 4) ----------------------------

def test_coefficient_histogram_draws_every_non_empty_bin_out_to_the_largest_value():
    codes, a = _sparse_codes()
    fig = plot_coefficient_histogram(codes)
    ax = fig.axes[0]
    x, y = (np.asarray(v, dtype=float) for v in ax.lines[0].get_data())
    drawn = np.isfinite(y)
    bottom = ax.get_ylim()[0]
    nz = a[a != 0]
    width = np.diff(x[:2])[0]
    # one count in one bin is the lowest density there is; the floor must not cut it
    assert bottom <= 1.0 / (nz.size * width)
    assert np.all(y[drawn] >= bottom)
    # the tails reach the largest coefficient, on both sides
    assert x[drawn].max() >= nz.max() - width
    assert x[drawn].min() <= nz.min() + width


def test_coefficient_histogram_leaves_out_exact_zeros_and_states_their_fraction():
    codes, a = _sparse_codes(p_zero=0.78, scale=0.3)
    nz = a[a != 0]
    fig = plot_coefficient_histogram(codes)
    ax = fig.axes[0]
    x, y = (np.asarray(v, dtype=float) for v in ax.lines[0].get_data())
    width = np.diff(x[:2])[0]
    # a density of the non-zero coefficients: integrates to 1, and its peak is the
    # Laplacian's 1/(2 b), not a spike of 78% of the mass in the centre bin
    assert np.nansum(y) * width == pytest.approx(1.0, rel=1e-9)
    assert np.nanmax(y) < 1.3 / (2 * 0.3)
    # the Gaussian reference has the variance of the non-zero coefficients
    gauss = np.asarray(ax.lines[1].get_ydata(), dtype=float)
    assert gauss.max() == pytest.approx(1 / (nz.std() * np.sqrt(2 * np.pi)), rel=1e-3)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    p_zero = np.mean(a == 0)
    assert any(f"P(a = 0) = {p_zero:.3f}" in t for t in texts), texts
    assert any("Gaussian" in t and "non-zero" in t for t in texts), texts


def test_coefficient_histogram_legend_covers_no_data():
    codes, _ = _sparse_codes()
    fig = plot_coefficient_histogram(codes)
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    for line in ax.lines[:2]:
        xy = np.column_stack(line.get_data()).astype(float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        shown = xy[:, 1] >= ax.get_ylim()[0]
        points = ax.transData.transform(xy[shown])
        inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                  & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
        assert not inside.any(), f"{inside.sum()} points of {line.get_label()!r} under the legend"


def test_coefficient_histogram_keeps_its_positional_signature():
    codes, a = _sparse_codes()
    fig, ax = plt.subplots()
    out = plot_coefficient_histogram(codes, 51, ax, "title")
    assert out is fig and ax.get_title() == "title"
    assert len(ax.lines[0].get_xdata()) == 51
    # exclude_zeros=False histograms everything, zeros included
    fig = plot_coefficient_histogram(codes, exclude_zeros=False)
    y = np.asarray(fig.axes[0].lines[0].get_ydata(), dtype=float)
    assert np.nanmax(y) > 5 / (2 * 0.3)


# --- orientation tuning curves -----------------------------------------------------------

def _tuning(n_orient=16, n_freq=5):
    o = np.linspace(0, np.pi, n_orient, endpoint=False)
    f = np.geomspace(0.05, 0.4, n_freq)
    pref = o.copy()  # one unit preferring each sampled orientation
    curves = np.exp(np.cos(2 * (o[None, :] - pref[:, None])) * 2)
    return xr.Dataset(
        {"orientation_tuning": (("atom", "orientation"), curves),
         "frequency_tuning": (("atom", "frequency"), np.ones((n_orient, n_freq))),
         "peak_orientation": ("atom", pref),
         "max_response": ("atom", curves.max(axis=1)),
         "circular_variance": ("atom", np.full(n_orient, 0.3)),
         "orientation_bandwidth": ("atom", np.full(n_orient, 0.3))},
        coords={"orientation": o, "frequency": f})


def test_tuning_curves_are_closed_at_exactly_plus_minus_90_degrees():
    tuning = _tuning()
    fig = plot_tuning_curves(tuning, units=np.arange(16))
    ax = fig.axes[0]
    curves = [line for line in ax.lines if len(line.get_xdata()) > 2]
    assert len(curves) == 16
    for line in curves:
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        assert x[0] == -90.0 and x[-1] == 90.0, (x[0], x[-1])
        assert np.all(np.diff(x) > 0)
        assert y[0] == y[-1]  # the same orientation at both ends
        assert y.max() == 1.0 and x[np.argmax(y)] == 0.0
    assert ax.get_xlim() == (-90.0, 90.0)


def test_tuning_curve_between_samples_is_closed_by_interpolation():
    tuning = _tuning(n_orient=8)
    # preferred orientation between two samples: no sample at +-90, so the end
    # value is interpolated across the wrap
    tuning["peak_orientation"] = tuning["peak_orientation"] + np.pi / 32
    fig = plot_tuning_curves(tuning, units=[0])
    x, y = (np.asarray(v, dtype=float) for v in fig.axes[0].lines[0].get_data())
    assert x[0] == -90.0 and x[-1] == 90.0 and y[0] == y[-1]
    assert min(y[1], y[-2]) <= y[0] <= max(y[1], y[-2])


# --- receptive-field mapping: cosine histogram ------------------------------------------

def test_rf_similarity_histogram_spans_the_data_not_minus_one_to_one():
    rng = np.random.default_rng(1)
    rfs = rng.standard_normal((64, 8, 8))
    s = rng.uniform(0.85, 0.97, 64)
    fig = plot_rf_comparison(rfs, rfs, similarity=s)
    lo, hi = fig.axes[2].get_xlim()
    assert lo < s.min() and hi > s.max()
    assert lo >= 0.8 and hi <= 1.0  # a margin of a few percent, not [-1, 1]
    bars = fig.axes[2].patches
    assert sum(b.get_height() for b in bars) == 64  # every value in a bin


def test_rf_similarity_histogram_stays_inside_minus_one_one():
    rng = np.random.default_rng(2)
    rfs = rng.standard_normal((20, 8, 8))
    fig = plot_rf_comparison(rfs, rfs, similarity=np.r_[np.linspace(-1, 1, 19), np.nan])
    assert fig.axes[2].get_xlim() == (-1.0, 1.0)
    assert sum(b.get_height() for b in fig.axes[2].patches) == 19


# --- orientation x frequency: one convention for Ringach and Olshausen-Field -------------

def _gabor_fit(theta, freq):
    n = len(theta)
    return xr.Dataset(
        {"orientation": ("atom", theta), "frequency": ("atom", freq),
         "x0": ("atom", np.full(n, 3.5)), "y0": ("atom", np.full(n, 3.5)),
         "sigma_x": ("atom", np.ones(n)), "sigma_y": ("atom", np.ones(n)),
         "r2": ("atom", np.ones(n))},
        attrs={"height": 8, "width": 8})


def _check_half_disc(pax, theta, freq):
    """Angle = orientation on [0, 180] degrees, each atom once, radial labels off the data."""
    assert pax.get_thetamin() == 0 and pax.get_thetamax() == 180  # degrees
    offsets = pax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], theta)  # not 2 theta, not theta + pi
    np.testing.assert_allclose(offsets[:, 1], freq)
    labels = [t.get_text() for t in pax.get_xticklabels()]
    assert labels == ["0°", "45°", "90°", "135°", "180°"]
    pax.figure.canvas.draw()
    # every radial tick label lies below the half-disc's flat edge (the data's lowest y)
    origin_y = pax.transData.transform([(0.0, 0.0)])[0, 1]
    for label in pax.get_yticklabels():
        if label.get_visible() and label.get_text():
            assert label.get_window_extent().y1 <= origin_y + 1e-6, label.get_text()


def test_orientation_frequency_half_disc():
    theta = np.radians([10.0, 60.0, 100.0, 170.0])
    freq = np.array([0.1, 0.2, 0.3, 0.4])
    fig = plot_orientation_frequency(theta + np.pi, freq)  # wrapped to [0, pi)
    _check_half_disc(fig.axes[0], theta, freq)


def test_gabor_tiling_uses_the_orientation_not_its_double():
    theta = np.radians([10.0, 60.0, 100.0, 170.0])
    freq = np.array([0.1, 0.2, 0.3, 0.4])
    fig = plot_gabor_tiling(_gabor_fit(theta, freq))
    _check_half_disc(fig.axes[0], theta, freq)


def _of97_dataset(size=8, levels=(1, 2)):
    rng = np.random.default_rng(3)
    n_max = size * size * max(levels)
    k = [size * size * m for m in levels]
    pad = lambda v, n: np.r_[v, np.full(n_max - n, np.nan)]  # noqa: E731
    per = {name: np.stack([pad(gen(n), n) for n in k]) for name, gen in (
        ("gabor_r2", lambda n: np.full(n, 0.95)),
        ("gabor_frequency", lambda n: rng.uniform(0.15, 0.4, n)),
        ("gabor_orientation", lambda n: rng.uniform(0, np.pi, n)),
        ("gabor_x0", lambda n: rng.uniform(0, size - 1, n)),
        ("gabor_y0", lambda n: rng.uniform(0, size - 1, n)))}
    ds = xr.Dataset(
        {name: (("overcompleteness", "atom"), v) for name, v in per.items()},
        coords={"overcompleteness": list(levels)})
    ds["dictionary"] = (("overcompleteness", "atom", "y", "x"),
                        rng.standard_normal((len(levels), n_max, size, size)))
    ds["n_atoms"] = ("overcompleteness", k)
    for name, long in (("objective", "held-out energy"), ("reconstruction_error", "error"),
                       ("mean_active", "non-zero coefficients per patch")):
        ds[name] = ("overcompleteness", [0.5, 0.4][:len(levels)], {"long_name": long,
                                                                    "units": "1"})
    ds.attrs["lam"] = 0.1
    return ds


@pytest.fixture
def of97_figures(study_figures):
    """The figures of the olshausen-field-1997 study's plot, kept open."""
    return study_figures("olshausen-field-1997", _of97_dataset())


def test_of97_tiling_axes_are_labelled_and_polar_follows_the_convention(of97_figures):
    fig = of97_figures["olshausen-field-1997_tiling.png"]
    cartesian = [ax for ax in fig.axes if ax.name != "polar"]
    polar = [ax for ax in fig.axes if ax.name == "polar"]
    assert len(polar) == 2 and len(cartesian) == 4
    for ax in cartesian:  # centres and bars, frequency histograms
        assert "(" in ax.get_xlabel() and ax.get_ylabel(), (ax.get_xlabel(), ax.get_ylabel())
    centres = [ax for ax in cartesian if ax.lines]
    assert [ax.get_xlabel() for ax in centres] == ["x (pixel)"] * 2
    assert [ax.get_ylabel() for ax in centres] == ["y (pixel)"] * 2
    for pax in polar:
        offsets = pax.collections[0].get_offsets()
        assert np.all((offsets[:, 0] >= 0) & (offsets[:, 0] < np.pi))  # no theta + pi copies
        _check_half_disc(pax, offsets[:, 0], offsets[:, 1])


def test_of97_coding_panels_have_y_labels(of97_figures):
    fig = of97_figures["olshausen-field-1997_coding.png"]
    assert len(fig.axes) == 4  # energy, error, active count, kurtosis
    assert all(ax.get_ylabel() for ax in fig.axes), [ax.get_ylabel() for ax in fig.axes]
    # a file saved before the kurtosis was recorded says so in its panel
    assert any("not recorded" in t.get_text() for t in fig.axes[3].texts)


def test_of97_kurtosis_panel_draws_levels_without_a_kurtosis(study_figures):
    """All-zero codes (a very large lam) have no kurtosis: NaN for every level gave
    the panel a NaN axis limit, and matplotlib refused to draw the figure."""
    ds = _of97_dataset()
    ds["heldout_kurtosis"] = ("overcompleteness", [np.nan, np.nan], {"units": "1"})
    ds["heldout_entropy_bits"] = ("overcompleteness", [0.0, 0.0], {"units": "bit"})
    ax = study_figures("olshausen-field-1997", ds)["olshausen-field-1997_coding.png"].axes[3]
    assert ax.get_ylim() == (0.0, 3.75)  # the Gaussian's 3 in view


# --- spike raster ----------------------------------------------------------------------

def test_raster_in_rate_order_puts_rank_zero_at_the_top():
    from v1model.plotting.spiking import plot_raster

    # unit 2 fires most, then unit 0, then unit 1 (silent)
    times = np.array([0.1, 0.2, 0.3, 0.15])
    units = np.array([2, 2, 2, 0])
    fig = plot_raster(times, units, n_units=3, order=[2, 0, 1])
    ax = fig.axes[0]
    rows = ax.collections[0].get_offsets()[:, 1]
    np.testing.assert_array_equal(rows, [0, 0, 0, 1])  # row = rank
    bottom, top = ax.get_ylim()
    assert top < bottom  # rank 0 drawn at the top, the axis counting down the page
    # without an order, unit 0 at the bottom as usual
    ax = plot_raster(times, units, n_units=3).axes[0]
    assert ax.get_ylim()[0] < ax.get_ylim()[1]


def test_raster_takes_its_rows_from_the_order():
    from v1model.plotting.spiking import plot_raster

    # unit 3 never fires: order lists it (was a broadcast error without n_units)
    ax = plot_raster([0.1, 0.2, 0.3], [0, 2, 1], order=[0, 1, 2, 3]).axes[0]
    assert ax.get_ylim() == (3.5, -0.5)
    with pytest.raises(ValueError, match="order lists 4 units but n_units=3"):
        plot_raster([0.1], [0], n_units=3, order=[0, 1, 2, 3])


def test_raster_shades_the_transient_that_the_rates_do_not_count():
    from matplotlib.patches import Polygon, Rectangle

    from v1model.plotting.spiking import plot_raster

    ax = plot_raster([0.1, 0.5, 0.9], [0, 1, 0], t_max=1.0, transient=0.3).axes[0]
    spans = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]
    assert len(spans) == 1
    x = spans[0].get_path().transformed(spans[0].get_patch_transform()).vertices[:, 0] \
        if isinstance(spans[0], Rectangle) else spans[0].get_xy()[:, 0]
    np.testing.assert_allclose([x.min(), x.max()], [0.0, 0.3], atol=1e-12)
    assert "not counted" in ax.get_legend().get_texts()[0].get_text()
    assert not plot_raster([0.1], [0], transient=0.0).axes[0].patches  # nothing to shade
    with pytest.raises(ValueError, match=r"transient must be a time >= 0 in seconds, got -0.1"):
        plot_raster([0.1], [0], transient=-0.1)


def test_tuning_curves_with_a_gap_keep_their_unit():
    from v1model.analysis import grating_responses, tuning_curves
    from stimuli import gabor_patch

    atoms = np.stack([gabor_patch((8, 8), o, 0.2, 0.0, 2.0, 2.0).ravel()
                      for o in (0.0, 0.8, 1.6, 2.4)])
    tun = tuning_curves(grating_responses(lambda X: X @ atoms.T, (8, 8), orientations=8,
                                          frequencies=4, phases=4))
    tun["orientation_tuning"].values[0, 2] = np.nan
    tun["frequency_tuning"].values[1, 0] = np.nan
    fig = plot_tuning_curves(tun)
    orientation, frequency = fig.axes[0], fig.axes[1]
    assert len(orientation.lines) - 1 == 4  # four curves and the bandwidth level
    assert [np.isfinite(line.get_ydata()).sum() for line in frequency.lines] == [4, 3, 4, 4]
    assert fig._suptitle.get_text().startswith("4 units")


def test_plot_arguments_that_cannot_work_are_named():
    from v1model.plotting import plot_atoms, plot_learning_curve
    from v1model.plotting.spiking import plot_inhibition_vs_overlap

    with pytest.raises(ValueError, match="normalize must be one of"):
        plot_atoms(np.ones((3, 16)), normalize="bogus")
    history = xr.Dataset({"mean_W": ("update", np.arange(3.0))})
    with pytest.raises(ValueError, match=r"none is in the history, which has \['mean_W'\]"):
        plot_learning_curve(history)
    with pytest.raises(ValueError, match="at least 2 units"):
        plot_inhibition_vs_overlap(np.zeros((1, 1)), np.ones((1, 1)))


@pytest.mark.parametrize("call, error, match", [
    # counts: 2.5, 0 and -1 failed inside numpy (np.full, np.linspace, an IndexError)
    (lambda: plotting.plot_atoms(np.ones((3, 16)), n_cols=2.5),
     TypeError, r"^n_cols must be an integer, got 2.5"),
    (lambda: plotting.plot_atoms(np.ones((3, 16)), n_cols=-1),
     ValueError, r"^n_cols must be >= 1, got -1"),
    (lambda: plot_coefficient_histogram(np.ones(10), bins=0), ValueError,
     r"^bins must be >= 1, got 0"),
    (lambda: plotting.plot_inhibition_vs_overlap(
        np.ones((3, 3)), np.eye(3), n_bins=2.5), TypeError, r"^n_bins must be an integer"),
    # paired values of different lengths: matplotlib's "x and y must be the same size"
    (lambda: plotting.plot_orientation_frequency(
        np.zeros(3), np.ones(2)), ValueError,
     r"^orientation and frequency must have one shape, got \(3,\) and \(2,\)"),
    (lambda: plotting.plot_raster(
        np.array([0.1, 0.2]), np.array([0])), ValueError,
     r"^spike_time and spike_unit must have one shape"),
    (lambda: plotting.plot_code_scatter(
        np.ones((2, 3)), np.ones(5)), ValueError,
     r"^code and reference must hold as many values, got 6 and 5"),
])
def test_bad_counts_and_unpaired_values_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
    plt.close("all")


def test_numpy_integer_counts_are_taken():
    from v1model.plotting import plot_atoms

    fig = plot_atoms(np.ones((3, 16)), n_cols=np.int64(2))
    assert fig.axes[0].get_images()[0].get_array().shape == (11, 11)
    plot_coefficient_histogram(np.arange(10.0), bins=np.int64(5))
    plt.close("all")


@pytest.mark.parametrize("n, rows, cols", [(192, 12, 16), (256, 16, 16), (48, 6, 8),
                                           (12, 3, 4), (10, 3, 4), (7, 3, 3)])
def test_atom_grid_leaves_no_empty_cell_when_the_count_factors(n, rows, cols):
    # 192 atoms were 14 x 14 (ceil(sqrt(192)) columns), 4 cells empty; Olshausen & Field
    # (1996) show them as 12 rows of 16. Square counts keep their square; a count with no
    # near-square factors (10: 2 x 5) keeps ceil(sqrt(n)) columns
    from v1model.plotting.atoms import tile_atoms

    canvas = tile_atoms(np.ones((n, 4, 4)), pad=1)
    assert canvas.shape == (rows * 5 + 1, cols * 5 + 1)
    assert np.count_nonzero(np.isfinite(canvas)) == n * 16  # the atoms' pixels


def test_atom_grid_default_is_the_squarest_grid_without_empty_cells():
    # against a brute-force search: whenever some rows x cols = n exactly, with
    # rows <= cols <= 4/3 rows, the default grid is the one of fewest columns among them
    from v1model.plotting.atoms import grid_columns

    for n in range(1, 600):
        exact = [c for c in range(1, n + 1)
                 if n % c == 0 and n // c <= c and 3 * c <= 4 * (n // c)]
        cols = grid_columns(n)
        if exact:
            assert cols == min(exact), n
        else:
            assert cols == int(np.ceil(np.sqrt(n))), n


@pytest.mark.parametrize("n_units", [8, 24])
def test_inhibition_scatter_shows_every_pair_of_a_small_network(n_units):
    # 1 pt² dots at opacity 0.15 (right for 256 units, 65,280 pairs) left the 56 pairs
    # of 8 units invisible: at best 0.85 white + 0.15 of grey 0.3 = 0.9, near white.
    # Rendered, each pair's dot must have a dark pixel (every channel <= 0.6) at its place
    from v1model.plotting.spiking import pair_marker, plot_inhibition_vs_overlap

    rng = np.random.default_rng(0)
    overlap = rng.uniform(-1, 1, (n_units, n_units))
    W = 5 * overlap + rng.standard_normal((n_units, n_units))
    fig = plot_inhibition_vs_overlap(W, overlap, n_bins=1)  # one binned mean, off the dots
    fig.set_dpi(100)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    off = ~np.eye(n_units, dtype=bool)
    xy = fig.axes[0].transData.transform(np.column_stack([overlap[off], W[off]]))
    dark = [pixels[round(pixels.shape[0] - y) - 1: round(pixels.shape[0] - y) + 2,
                   round(x) - 1: round(x) + 2].max(axis=-1).min() <= 0.6
            for x, y in xy]
    assert np.mean(dark) >= 0.95
    assert pair_marker(256 * 255) == (1.0, 0.15)  # a large network's specks as before
