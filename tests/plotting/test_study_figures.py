"""Conventions and readability of the studies' figures, checked on small synthetic
Datasets: symmetric grey scales for atoms, log axes, labels, legends off the data,
colour bars, and values left out of a histogram said so."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from v1model.plotting import (plot_atoms, plot_babel_curves, plot_learning_curve,  # noqa: E402
                              plot_nx_ny, plot_rf_comparison, plot_tuning_curves)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _study_figures(monkeypatch, tmp_path, name, ds):
    """The figures a study's plot() draws, by file name, kept open."""
    import v1model.io
    from studies import get_study

    figures = {}

    def keep(fig, path, dpi=120):
        figures[path.name] = fig
        return path

    monkeypatch.setattr(v1model.io, "save_figure", keep)
    get_study(name).plot(ds, tmp_path)
    return figures


# --- atoms: grey, 0 at mid-grey, symmetric scale (Olshausen & Field 1996, Fig. 4) -------

def test_atom_grids_use_a_symmetric_grey_scale():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 64)) + 0.5  # not centred: the scale must still be
    for fig in (plot_atoms(D), plot_rf_comparison(D.reshape(16, 8, 8), D.reshape(16, 8, 8))):
        for ax in fig.axes[:1 if len(fig.axes) == 1 else 2]:
            im = ax.get_images()[0]
            vmin, vmax = im.get_clim()
            assert vmin == -vmax and vmax > 0
            assert im.get_cmap().name.startswith("gray")
            shown = np.ma.compressed(im.get_array())
            assert np.abs(shown).max() == pytest.approx(1.0)  # each atom fills the scale


# --- learning curves: titles stay over their own panels ---------------------------------

def test_learning_curve_titles_do_not_run_into_each_other():
    n = 50
    long_name = "mean over the minibatch of ||x - D^T a||^2 / ||x||^2 (per-patch relative error)"
    history = xr.Dataset(
        {name: ("update", np.linspace(1, 0.5, n), {"long_name": ln, "units": "1"})
         for name, ln in (("objective", "mean energy per patch"),
                          ("reconstruction_error", long_name),
                          ("fraction_active", "fraction of coefficients active"))},
        coords={"update": np.arange(n)})
    fig = plot_learning_curve(history)
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes]
    for ax, box in zip(fig.axes, boxes):
        panel = ax.get_window_extent()
        assert box.x0 >= panel.x0 - 30 and box.x1 <= panel.x1 + 30, ax.get_title()
    for i in range(len(boxes) - 1):
        assert boxes[i].x1 < boxes[i + 1].x0


# --- Babel function: log-log, plain tick labels -----------------------------------------

def test_babel_curve_is_log_log_with_plain_tick_labels():
    r = np.arange(1, 64)
    b = xr.Dataset({"babel": ("r", 0.7 * r ** 0.6)}, coords={"r": r},
                   attrs={"mutual_coherence": 0.7})
    fig = plot_babel_curves(b, labels=["learned"])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    fig.canvas.draw()
    for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
        texts = [t.get_text() for t in labels if t.get_text()]
        assert len(texts) >= 2
        for t in texts:  # 0.5, 2, 10: no 10^x mathtext, no 6e-01
            float(t)
            assert "$" not in t and "e" not in t, t
    assert ax.get_ylabel() and ax.get_xlabel()


# --- Ringach's plane: the legend is off the plane ----------------------------------------

def test_nx_ny_legend_does_not_cover_the_plane():
    rng = np.random.default_rng(1)
    fits = [xr.Dataset({"nx": ("atom", rng.uniform(0.1, 1.4, 50)),
                        "ny": ("atom", rng.uniform(0.1, 1.4, 50)),
                        "r2": ("atom", np.ones(50))}) for _ in range(2)]
    fig = plot_nx_ny(*fits, labels=["learned atoms: 50 of 64 reliable", "sparsenet A144"])
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert not _overlap(legend, ax.get_window_extent())
    for label in ax.get_yticklabels():
        if label.get_text():
            assert not _overlap(legend, label.get_window_extent())


# --- tuning curves: both panels labelled ---------------------------------------------------

def test_tuning_curve_panels_both_have_y_labels():
    o = np.linspace(0, np.pi, 8, endpoint=False)
    f = np.geomspace(0.05, 0.4, 5)
    tuning = xr.Dataset(
        {"orientation_tuning": (("atom", "orientation"), np.exp(np.cos(2 * o))[None] + 0 * o),
         "frequency_tuning": (("atom", "frequency"), np.ones((1, 5))),
         "peak_orientation": ("atom", [0.0]), "max_response": ("atom", [1.0]),
         "circular_variance": ("atom", [0.3]), "orientation_bandwidth": ("atom", [0.3])},
        coords={"orientation": o, "frequency": f})
    fig = plot_tuning_curves(tuning)
    assert [bool(ax.get_ylabel()) for ax in fig.axes] == [True, True]
    assert fig.axes[1].get_xscale() == "log"


# --- activity-ratio: silent units left out of the lifetime histogram are counted ---------

def _activity_ratio_dataset(n_lam=5, n_atom=16, n_sample=40, n_silent=3):
    rng = np.random.default_rng(2)
    lam = np.geomspace(0.02, 2, n_lam)
    life = rng.uniform(0.8, 0.99, (n_lam, n_atom))
    life[-1, :n_silent] = np.nan  # units silent on every patch at the largest lambda
    r = np.arange(1, n_atom)
    return xr.Dataset(
        {"activity_ratio": ("lam", np.geomspace(0.5, 0.01, n_lam)),
         "reconstruction_error": ("lam", np.linspace(0.1, 0.9, n_lam)),
         "mean_active_count": ("lam", np.geomspace(0.5, 0.01, n_lam) * n_atom),
         "code_class": ("lam", ["dense", "dense", "sparse", "local", "silent"][:n_lam]),
         "active_count": (("lam", "sample"), rng.integers(0, n_atom, (n_lam, n_sample))),
         "lifetime_sparseness": (("lam", "atom"), life),
         "babel": ("r", 0.7 * r ** 0.6)},
        coords={"lam": lam, "r": r}, attrs={"mutual_coherence": 0.7})


def test_activity_ratio_lifetime_histogram_counts_the_silent_units(monkeypatch, tmp_path):
    figures = _study_figures(monkeypatch, tmp_path, "activity-ratio", _activity_ratio_dataset())
    ax = figures["activity-ratio_histograms.png"].axes[1]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "3 silent units left out" in texts[-1], texts
    assert not any("left out" in t for t in texts[:-1]), texts
    tradeoff = figures["activity-ratio_tradeoff.png"].axes[0]
    assert tradeoff.get_xscale() == "log" and tradeoff.get_yscale() == "log"


# --- sae-natural-patches: count panels from zero -----------------------------------------

def test_sae_count_panels_start_at_zero(monkeypatch, tmp_path):
    rng = np.random.default_rng(3)
    steps = np.arange(100)
    ds = xr.Dataset(
        {"dictionary": (("atom", "y", "x"), rng.standard_normal((16, 4, 4))),
         "usage": ("atom", rng.random(16)),
         "gabor_r2": ("atom", rng.random(16)), "control_r2": ("control_atom", rng.random(4)),
         "history_fvu": ("step", np.linspace(0.7, 0.2, 100)),
         "history_l0": ("step", np.full(100, 6.0)),
         "history_n_dead": ("step", np.zeros(100, dtype=int))},
        coords={"step": steps}, attrs={"k": 6, "min_r2": 0.8, "fraction_gabor": 0.5})
    fig = _study_figures(monkeypatch, tmp_path, "sae-natural-patches", ds)[
        "sae-natural-patches_fits.png"]
    l0, dead = fig.axes[2], fig.axes[3]
    assert l0.get_ylim()[0] == 0 and l0.get_ylim()[1] > 6  # the constant k, drawn from 0
    assert dead.get_ylim()[0] == 0 and dead.get_ylim()[1] >= 1


# --- lewicki-2002-speech: the spectra's colour bar, legends off the data ----------------

def _lewicki_dataset(n=8, taps=32, sample_rate=8000.0):
    rng = np.random.default_rng(4)
    fc = np.sort(rng.uniform(100, 3000, n))
    t = np.arange(taps) / sample_rate
    freq = np.linspace(0, sample_rate / 2, 65)
    spectrum = -np.abs(freq[None, :] - fc[:, None]) / 40.0
    return xr.Dataset(
        {"kernels": (("kernel", "time"), np.sin(2 * np.pi * fc[:, None] * t[None, :])),
         "peak_frequency": ("kernel", fc),
         "localized": ("kernel", np.arange(n) % 2 == 0),
         "spectrum": (("kernel", "frequency"), spectrum),
         "fit_used": ("kernel", np.ones(n, dtype=bool)),
         "bandwidth_10db": ("kernel", 0.3 * fc),
         "duration_ratio": ("kernel", rng.uniform(0.2, 1.0, n)),
         "fit_slope": ((), 1.0), "fit_intercept": ((), np.log10(0.3)), "fit_r": ((), 0.99)},
        coords={"time": t, "frequency": freq},
        attrs={"source": "synthetic", "localization_threshold": 0.5,
               "sample_rate": sample_rate, "window_bandwidth_10db": 185.0,
               "segment_length": taps, "fraction_localized": 0.5, "fraction_bandpass": 1.0})


def test_lewicki_spectra_have_a_db_colour_bar_and_legends_stay_off_the_data(monkeypatch,
                                                                            tmp_path):
    figures = _study_figures(monkeypatch, tmp_path, "lewicki-2002-speech", _lewicki_dataset())
    spectra = figures["lewicki-2002-speech_spectra.png"]
    assert len(spectra.axes) == 2  # the image and its colour bar
    image = spectra.axes[0].get_images()[0]
    assert image.get_clim() == (-40, 0)
    assert "dB" in spectra.axes[1].get_ylabel()
    bandwidth = figures["lewicki-2002-speech_bandwidth.png"]
    bandwidth.canvas.draw()
    ax = bandwidth.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # Lewicki's Fig. 7
    for ax in bandwidth.axes:
        assert not _overlap(ax.get_legend().get_window_extent(), ax.get_window_extent())
    kernels = figures["lewicki-2002-speech_kernels.png"]
    titles = [ax.get_title() for ax in kernels.axes if ax.lines]
    assert titles == [f"{f:.0f} Hz" for f in _lewicki_dataset()["peak_frequency"].values]


# --- schultz-2014-replicating-kernels: kernels in grey, log-log curves, labelled bars -------

def _schultz_dataset():
    rng = np.random.default_rng(5)
    roles = ["equal", "equal", "control", "random", "larger"]
    sizes, counts, strides = [8, 8, 8, 8, 12], [128, 8, 8, 8, 8], [8, 2, 8, 2, 2]
    labels = [f"{n} @ s={s}" for n, s in zip(counts, strides)]
    kernels = np.full((5, 128, 12, 12), np.nan)
    for i, (k, n) in enumerate(zip(sizes, counts)):
        kernels[i, :n, :k, :k] = rng.standard_normal((n, k, k)) + 0.3
    lam = np.array([0.5, 1.0, 2.0, 4.0])
    rate = 0.2 / lam[None, :] * rng.uniform(0.8, 1.2, (5, 1))
    error = 0.05 * lam[None, :] * rng.uniform(0.8, 3, (5, 1))
    return xr.Dataset(
        {"kernels": (("config", "kernel", "ky", "kx"), kernels),
         "rate": (("config", "eval_lam"), rate), "error": (("config", "eval_lam"), error),
         "error_at_matched_rate": ("config", error[:, 1])},
        coords={"config": np.arange(5), "eval_lam": lam, "label": ("config", labels),
                "kernel_size": ("config", sizes), "n_kernels": ("config", counts),
                "stride": ("config", strides), "role": ("config", roles)},
        attrs={"matched_rate": 0.1})


def test_schultz_figures_grey_kernels_log_curves_and_labelled_bars(monkeypatch, tmp_path):
    name = "schultz-2014-replicating-kernels"
    figures = _study_figures(monkeypatch, tmp_path, name, _schultz_dataset())
    kernels = figures[f"{name}_kernels.png"]
    assert len(kernels.axes) == 5  # a panel per configuration
    for ax in kernels.axes:
        im = ax.get_images()[0]
        vmin, vmax = im.get_clim()
        assert vmin == -vmax and im.get_cmap().name.startswith("gray")
        assert ax.get_title()
    assert "64 of 128 shown" in kernels.axes[0].get_title()
    curves = figures[f"{name}_rate_distortion.png"]
    curves.canvas.draw()
    ax = curves.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 5
    assert not _overlap(ax.get_legend().get_window_extent(), ax.get_window_extent())
    bars = figures[f"{name}_summary.png"].axes[0]
    assert len(bars.patches) == 5 and bars.get_ylim()[0] == 0
    assert [t.get_text().split("\n")[0] for t in bars.get_xticklabels()] == list(
        _schultz_dataset().label.values)
