"""Conventions and readability of the studies' figures, checked on small synthetic
Datasets: symmetric grey scales for atoms, log axes, labels, legends off the data,
colour bars, and values left out of a histogram said so."""

import itertools

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


def test_activity_ratio_lifetime_histogram_counts_the_silent_units(study_figures):
    figures = study_figures("activity-ratio", _activity_ratio_dataset())
    ax = figures["activity-ratio_histograms.png"].axes[1]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "3 silent units left out" in texts[-1], texts
    assert not any("left out" in t for t in texts[:-1]), texts
    tradeoff = figures["activity-ratio_tradeoff.png"].axes[0]
    assert tradeoff.get_xscale() == "log" and tradeoff.get_yscale() == "log"


# --- sae-natural-patches: latent usage and held-out FVU instead of flat panels ----------

def _sae_dataset(n=16, n_unused=2):
    rng = np.random.default_rng(3)
    usage = rng.uniform(0.01, 0.8, n)
    usage[:n_unused] = 0  # latents no held-out patch uses: no place on a log axis
    return xr.Dataset(
        {"dictionary": (("atom", "y", "x"), rng.standard_normal((n, 4, 4))),
         "usage": ("atom", usage),
         "gabor_r2": ("atom", rng.random(n)), "control_r2": ("control_atom", rng.random(4)),
         "history_fvu": ("step", np.linspace(0.7, 0.2, 100)),
         "history_l0": ("step", np.full(100, 6.0)),
         "history_n_dead": ("step", np.zeros(100, dtype=int))},
        coords={"step": np.arange(100)},
        attrs={"k": 6, "min_r2": 0.8, "fraction_gabor": 0.5, "heldout_fvu": 0.234})


def test_sae_fits_show_latent_usage_and_the_held_out_fvu(study_figures):
    fig = study_figures("sae-natural-patches", _sae_dataset())[
        "sae-natural-patches_fits.png"]
    titles = [ax.get_title() for ax in fig.axes]
    assert not any("dead_after" in t for t in titles), titles  # a code name, not its value
    # no panel flat by construction: the active count is k, dead latents are 0
    assert not any("active latents" in ax.get_ylabel() or "dead" in ax.get_ylabel()
                   for ax in fig.axes)
    r2 = fig.axes[0]
    assert "density" not in r2.get_ylabel() and "fraction of the atoms" in r2.get_ylabel()
    fvu = next(ax for ax in fig.axes if "unexplained" in ax.get_ylabel())
    legend = [t.get_text() for t in fvu.get_legend().get_texts()]
    assert any("held-out" in t and "0.234" in t for t in legend), legend
    usage = next(ax for ax in fig.axes if "active on" in ax.get_xlabel())
    assert usage.get_xscale() == "log"
    assert sum(p.get_height() for p in usage.patches) == 14  # the used latents
    assert "14 of 16" in usage.get_title() and "2 never" in usage.get_title()


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


def test_lewicki_spectra_have_a_db_colour_bar_and_legends_stay_off_the_data(study_figures):
    figures = study_figures("lewicki-2002-speech", _lewicki_dataset())
    spectra = figures["lewicki-2002-speech_spectra.png"]
    assert len(spectra.axes) == 2  # the image and its colour bar
    image = spectra.axes[0].get_images()[0]
    assert image.get_clim() == (-40, 0)
    assert "dB" in spectra.axes[1].get_ylabel()
    bandwidth = figures["lewicki-2002-speech_bandwidth.png"]
    bandwidth.canvas.draw()
    ax = bandwidth.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # Lewicki's Fig. 7
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(ticks) >= 3, ticks  # not 10^2 and 10^3 alone
    for t in ticks:  # plain Hz, as on the x axis
        float(t)
    assert ax.get_ylim()[0] <= float(ticks[0]) and float(ticks[-1]) <= ax.get_ylim()[1]
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


def test_schultz_figures_grey_kernels_log_curves_and_labelled_bars(study_figures):
    name = "schultz-2014-replicating-kernels"
    figures = study_figures(name, _schultz_dataset())
    kernels = figures[f"{name}_kernels.png"]
    assert len(kernels.axes) == 5  # a panel per configuration
    rows = {round(ax.get_position().y0, 3) for ax in kernels.axes}
    assert len(rows) >= 2  # not one strip of tiny panels
    for ax in kernels.axes:
        im = ax.get_images()[0]
        vmin, vmax = im.get_clim()
        assert vmin == -vmax and im.get_cmap().name.startswith("gray")
        assert ax.get_title() and ax.title.get_fontsize() >= 9
    assert "64 of 128 shown" in kernels.axes[0].get_title()
    curves = figures[f"{name}_rate_distortion.png"]
    curves.canvas.draw()
    ax = curves.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 5
    assert not _overlap(ax.get_legend().get_window_extent(), ax.get_window_extent())
    assert "(2 coefficients per pixel" in ax.get_title()  # 128 / 8² = 8 / 2² = 2
    assert any("0.1 per pixel" in t.get_text() for t in ax.texts)  # the grey line named
    bars = figures[f"{name}_summary.png"].axes[0]
    assert len(bars.patches) == 5 and bars.get_xlim()[0] == 0
    assert [t.get_text().split(",")[0] for t in bars.get_yticklabels()] == [
        t.split(",")[0] for t in _schultz_dataset().label.values]
    for t in bars.get_yticklabels():
        assert t.get_rotation() == 0
    assert "||x − Φa||²" in bars.get_xlabel() and "0.1 active coefficients" in bars.get_xlabel()
    legend = [t.get_text() for t in bars.get_legend().get_texts()]
    assert len(legend) == 4 and any("random" in t for t in legend), legend  # a colour a role


def test_schultz_configuration_has_one_colour_in_the_curves_and_the_bars(study_figures):
    """The curves took matplotlib's colour cycle, the bars their role's colour: red was
    one configuration in the curves and the under-complete control in the bars."""
    from matplotlib.colors import to_hex

    import studies.schultz_2014_replicating_kernels as study

    name = "schultz-2014-replicating-kernels"
    ds = _schultz_dataset()
    figures = study_figures(name, ds)
    curves = [line for line in figures[f"{name}_rate_distortion.png"].axes[0].lines
              if not line.get_label().startswith("_")]  # not the matched-rate line
    bars = figures[f"{name}_summary.png"].axes[0]
    # config order in both: the legend's lines and the bars from the top
    assert [line.get_label() for line in curves] == [
        t.get_text() for t in bars.get_yticklabels()]
    for line, bar, role in zip(curves, bars.patches, ds.role.values):
        assert to_hex(line.get_color()) == to_hex(bar.get_facecolor()) == to_hex(
            study.ROLE_COLORS[str(role)]), line.get_label()
    # the configurations of one role (two at equal overcompleteness) stay apart
    styles = [(to_hex(line.get_color()), line.get_linestyle(), line.get_marker())
              for line in curves]
    assert len(set(styles)) == len(styles), styles


# --- lca-sweep: one point says what it is; the sweep's error bars say what they are -----

def _lca_point(n_updates=40, n_atoms=16):
    rng = np.random.default_rng(6)
    return xr.Dataset(
        {"dictionary": (("atom", "y", "x"), rng.standard_normal((n_atoms, 4, 4))),
         "reconstruction_error": ((), 0.13), "activity_ratio": ((), 0.2)},
        attrs={"lam": 0.2, "n_atoms": n_atoms, "overcompleteness": 1, "n_updates": n_updates,
               "quick": 1})


def test_lca_sweep_point_says_it_is_one_unconverged_point(study_figures):
    fig = study_figures("lca-sweep", _lca_point())[
        "lca-sweep_atoms.png"]
    texts = "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "one point" in texts and "40 updates" in texts and "not converged" in texts
    assert "v1model sweep run examples/sweeps/lca_sweep.toml" in texts
    fig = study_figures("lca-sweep", _lca_point(n_updates=400))[
        "lca-sweep_atoms.png"]
    assert "not converged" not in fig.axes[0].get_title()


def _lca_sweep(n_rep=3):
    rng = np.random.default_rng(7)
    lam, oc = np.array([0.05, 0.2, 0.8]), np.array([1, 2])
    shape = (3, 2, n_rep)
    dims = ("lam", "overcompleteness", "replicate")
    return xr.Dataset(
        {"status": (dims, np.full(shape, "ok")),
         "reconstruction_error": (dims, lam[:, None, None] / 2 + 0.01 * rng.random(shape)),
         "activity_ratio": (dims, 0.1 / lam[:, None, None] / oc[None, :, None] / 10
                            * (1 + 0.05 * rng.random(shape))),
         "gabor_fraction": (dims, rng.random(shape))},
        coords={"lam": lam, "overcompleteness": oc, "replicate": np.arange(n_rep)})


def test_lca_sweep_tradeoff_says_the_error_bars_are_one_sd_over_the_seeds(monkeypatch,
                                                                          tmp_path):
    import studies.lca_sweep as study

    figures = {}
    monkeypatch.setattr("v1model.io.save_figure",
                        lambda fig, path, dpi=120: figures.setdefault(path.name, fig))
    study.plot_sweep(_lca_sweep(n_rep=3), tmp_path)
    title = figures["lca-sweep_tradeoff.png"]._suptitle.get_text()
    assert "±1 s.d. over 3 seeds" in title, title


def _bar_half_lengths(container):
    """Half the length of each error bar of an ``errorbar`` container: (x bars, y bars),
    one entry per bar drawn (matplotlib draws no segment for a NaN error)."""
    xbars, ybars = container.lines[2]
    return ([(s[1, 0] - s[0, 0]) / 2 for s in xbars.get_segments() if len(s)],
            [(s[1, 1] - s[0, 1]) / 2 for s in ybars.get_segments() if len(s)])


def test_lca_sweep_error_bars_are_the_sample_sd_and_absent_for_one_seed(monkeypatch,
                                                                        tmp_path):
    """The bars were the population s.d. (ddof=0), 18% narrower than the sample s.d.
    with 3 seeds; with ddof=1 a point where one seed ran has no s.d.: no bar there."""
    import studies.lca_sweep as study

    figures = {}
    monkeypatch.setattr("v1model.io.save_figure",
                        lambda fig, path, dpi=120: figures.setdefault(path.name, fig))
    ds = _lca_sweep(n_rep=3)
    study.plot_sweep(ds, tmp_path)
    fig = figures.pop("lca-sweep_tradeoff.png")
    err = ds["reconstruction_error"].values
    act = ds["activity_ratio"].values
    for k, container in enumerate(fig.axes[0].containers):  # one per overcompleteness
        x_half, y_half = _bar_half_lengths(container)
        np.testing.assert_allclose(y_half, np.std(err[:, k], axis=-1, ddof=1), rtol=1e-9)
        np.testing.assert_allclose(x_half, np.std(act[:, k], axis=-1, ddof=1), rtol=1e-9)

    # one seed: no bars at all, and the title says there are none
    study.plot_sweep(_lca_sweep(n_rep=1), tmp_path)
    fig = figures.pop("lca-sweep_tradeoff.png")
    for ax in fig.axes:
        for container in ax.containers:
            assert all(len(s) == 0 for bars in container.lines[2] for s in bars.get_segments())
    title = fig._suptitle.get_text()
    assert "no error bars" in title and "s.d." not in title, title

    # 1 to 3 seeds ok: bars where 2 or more ran, over those seeds only, none elsewhere
    failed = ds["status"].copy()
    failed[0, 0, 1:] = "failed"  # lam 0.05, 1x: one seed left
    failed[1, 0, 2] = "failed"  # lam 0.2, 1x: two seeds left
    study.plot_sweep(ds.assign(status=failed), tmp_path)
    fig = figures.pop("lca-sweep_tradeoff.png")
    _, y_half = _bar_half_lengths(fig.axes[0].containers[0])
    np.testing.assert_allclose(y_half, [np.std(err[1, 0, :2], ddof=1),
                                        np.std(err[2, 0], ddof=1)], rtol=1e-9)
    title = fig._suptitle.get_text()
    assert "±1 s.d. over 1-3 seeds, no bar where fewer than 2 ran" in title, title


# --- smith-lewicki-2006-convolutional: words in titles, plain ticks, spikes at the centre --

def _smith_lewicki_dataset(taps=32, sample_rate=8000.0):
    ds = _lewicki_dataset(taps=taps, sample_rate=sample_rate)
    rng = np.random.default_rng(8)
    n = ds.sizes["kernel"]
    controls = ["learned", "white_noise", "random"]
    coders = ["learned_spikes", "gammatone_spikes", "random_spikes", "block_dct",
              "block_dct_4x"]
    snr = np.array([5.0, 10.0, 15.0, 20.0])
    onset = np.array([-(taps - 1), 0, 40, 100]) / sample_rate  # the first starts before 0
    excerpt_time = np.arange(256) / sample_rate
    return ds.assign(
        control_kernels=(("control", "kernel", "time"), rng.standard_normal((3, n, taps))),
        control_median_concentration=("control", [0.5, 0.4, 0.3]),
        control_slope=("control", [0.8, 0.1, 0.0]),
        spike_onset=("spike", onset), spike_kernel=("spike", [0, 1, 2, 3]),
        spike_amplitude=("spike", [1.0, -0.5, 0.3, 2.0]),
        excerpt=("excerpt_time", np.sin(np.arange(256) / 5.0)),
        excerpt_reconstruction=("excerpt_time", 0.9 * np.sin(np.arange(256) / 5.0)),
        coefficients_per_second=(("coder", "target_snr"),
                                 np.geomspace(120, 2500, 20).reshape(5, 4)),
    ).assign_coords(control=controls, coder=coders, target_snr=snr,
                    excerpt_time=excerpt_time).assign_attrs(
        kernel_size=taps, method="mp", snr_db=15.0, lam=2.0)


def test_smith_lewicki_titles_in_words_plain_ticks_and_centred_spikes(study_figures):
    name = "smith-lewicki-2006-convolutional"
    figures = study_figures(name, _smith_lewicki_dataset())
    for fig in figures.values():
        for t in fig.findobj(matplotlib.text.Text):
            assert "white_noise" not in t.get_text(), t.get_text()  # a code name
    fig = figures[f"{name}_spectra.png"]
    spectra = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert any("white noise" in t for t in spectra), spectra
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes if ax.get_title()]
    assert not any(_overlap(a, b) for a, b in itertools.pairwise(boxes))  # longer words
    rd = figures[f"{name}_rate_distortion.png"]
    rd.canvas.draw()
    ticks = [t.get_text() for t in rd.axes[0].get_yticklabels() if t.get_text()]
    assert len(ticks) >= 3 and all("$" not in t and "×" not in t for t in ticks), ticks
    for t in ticks:
        float(t)
    spikegram = figures[f"{name}_spikegram.png"].axes[1]
    assert "centre" in spikegram.get_xlabel()
    x = spikegram.collections[0].get_offsets()[:, 0]
    half = (32 - 1) / 2 / 8000.0 * 1e3
    onset_ms = _smith_lewicki_dataset()["spike_onset"].values * 1e3
    assert np.allclose(np.sort(x), np.sort(onset_ms) + half)  # not at the onset (Smith &
    # Lewicki's spikegrams: a spike where its kernel is centred)


@pytest.mark.parametrize("audio_dir, sound", [("synthetic", "synthetic sounds"),
                                              ("/data/fsdd", "speech")])
def test_smith_lewicki_titles_name_what_the_kernels_were_learned_from(study_figures,
                                                                     audio_dir, sound):
    """audio_dir="synthetic" learns from harmonic stacks (the module docstring: *not*
    speech), yet the spectra, bandwidth and rate-distortion titles said "learned on
    speech" and "held-out speech"."""
    name = "smith-lewicki-2006-convolutional"
    ds = _smith_lewicki_dataset().assign_attrs(audio_dir=audio_dir)
    figures = study_figures(name, ds)
    titles = {key: " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
              for key, fig in figures.items()}
    assert f"learned on {sound}" in titles[f"{name}_spectra.png"]
    assert f"learned on {sound}" in titles[f"{name}_bandwidth.png"]
    assert f"held-out {sound}:" in titles[f"{name}_rate_distortion.png"]
    if sound != "speech":
        assert not any("speech" in text for text in titles.values()), titles


# --- zylberberg-2011-sailnet: what the fraction and W are; an unconverged quick run ------

def _sailnet_dataset(rising=True, n=6, n_updates=100):
    rng = np.random.default_rng(9)
    W = rng.uniform(0, 3, (n, n))
    np.fill_diagonal(W, 0)
    overlap = rng.uniform(-1, 1, (n, n))
    t = np.arange(n_updates)
    mean_w = 6 * (1 - np.exp(-t / (200 if rising else 10)))
    return xr.Dataset(
        {"Q": (("neuron", "y", "x"), rng.standard_normal((n, 4, 4))),
         "W": (("neuron", "neuron_pre"), W), "rf_overlap": (("neuron", "neuron_pre"), overlap),
         "eval_counts": (("sample", "neuron"), rng.poisson(0.05, (200, n))),
         "mean_rate": ("update", np.full(n_updates, 0.05)),
         "mean_theta": ("update", np.linspace(2, 5, n_updates)),
         "mean_W": ("update", mean_w)},
        coords={"update": t}, attrs={"p": 0.05, "n_updates": n_updates, "quick": 1})


def test_sailnet_figures_name_the_fraction_the_weight_units_and_a_quick_run(study_figures):
    name = "zylberberg-2011-sailnet"
    figures = study_figures(name, _sailnet_dataset())
    counts = figures[f"{name}_rates.png"].axes[1]
    assert "unit–stimulus pairs" in counts.get_ylabel()
    w = figures[f"{name}_inhibition_vs_overlap.png"].axes[0].get_ylabel()
    assert "W_ij" in w and "per spike" in w and "θ" in w
    title = figures[f"{name}_learning.png"]._suptitle.get_text()
    assert "quick run" in title and "not converged" in title
    figures = study_figures(name, _sailnet_dataset(rising=False))
    assert "not converged" not in figures[f"{name}_learning.png"]._suptitle.get_text()


# --- spiking-lca: the no-inhibition line is one number; the scatters share a range -------

def _spiking_lca_dataset(n_sample=5, n_atom=8):
    rng = np.random.default_rng(10)
    lasso = np.maximum(rng.standard_normal((n_sample, n_atom)), 0)
    dims = ("sample", "atom")
    return xr.Dataset(
        {"lasso": (dims, lasso), "spiking": (dims, lasso * 1.01), "ode": (dims, lasso),
         "no_inhibition": (dims, lasso * 2 + 0.5),  # a larger range than the others
         "rate": (dims, lasso * 100),
         "spiking_error": ("t_stop", np.geomspace(1, 0.04, 6)),
         "ode_error": ("ode_time", np.geomspace(1, 0.01, 8)),
         "relative_error": ("encoder", [0.04, 0.01, 0.7]),
         "spike_time": ("spike", [0.01, 0.02]), "spike_sample": ("spike", [0, 0]),
         "spike_atom": ("spike", [0, 1])},
        coords={"t_stop": np.geomspace(0.01, 0.5, 6), "ode_time": np.geomspace(0.002, 0.5, 8),
                "encoder": ["spiking", "ode", "no_inhibition"]},
        attrs={"tau_m": 0.01, "duration": 0.5})


def test_spiking_lca_names_the_final_error_line_and_shares_the_scatter_range(study_figures):
    figures = study_figures("spiking-lca", _spiking_lca_dataset())
    legend = [t.get_text() for t in
              figures["spiking-lca_error_vs_time.png"].axes[0].get_legend().get_texts()]
    assert any("no inhibition" in t and "final error" in t for t in legend), legend
    axes = figures["spiking-lca_scatter.png"].axes
    assert len({ax.get_xlim() for ax in axes}) == 1 and len({ax.get_ylim() for ax in axes}) == 1
    assert axes[0].get_xlim() == axes[0].get_ylim()


def test_spiking_lca_raster_reads_spike_labels_through_the_coordinates(study_figures):
    # spike_sample / spike_atom are labels of sample / atom (spiking_lca keeps its
    # inputs'): read as positions, patch 0 was the one labelled 0 and atom 7 row 7
    plain = _spiking_lca_dataset(n_sample=2, n_atom=3).assign(
        spike_time=("spike", [0.01, 0.02, 0.03, 0.04]),
        spike_sample=("spike", [0, 0, 1, 0]), spike_atom=("spike", [0, 1, 2, 2]))
    plain["rate"] = (("sample", "atom"), np.array([[30.0, 10.0, 20.0], [5.0, 0.0, 0.0]]))
    plain.attrs["n_raster"] = 2
    labelled = plain.assign_coords(sample=[7, 3], atom=[40, 20, 30]).assign(
        spike_sample=("spike", [7, 7, 3, 7]), spike_atom=("spike", [40, 20, 30, 30]))
    rasters = [study_figures("spiking-lca", ds)["spiking-lca_raster.png"].axes[0]
               for ds in (plain, labelled)]
    points = [np.asarray(ax.collections[0].get_offsets()) for ax in rasters]
    # patch 0's spikes on the rows of its atoms' rates (30, 20, 10: ranks 0, 2, 1)
    np.testing.assert_array_equal(points[0], [[0.01, 0], [0.02, 2], [0.04, 1]])
    np.testing.assert_array_equal(points[1], points[0])


# --- rozell-2008-lca: an MSE with units, lambda at the points, 2x2 dynamics --------------

def _rozell_dataset(n_levels=4):
    solvers = ["lca_soft", "lca_hard", "fista", "omp", "mp", "omp_tol"]
    t = np.linspace(0, 0.3, 50)
    lams = np.geomspace(0.05, 1.0, n_levels)
    n_active = np.outer(np.linspace(1, 1.2, 6), 2 / lams)
    return xr.Dataset(
        {"lca_objective": (("threshold", "time"), np.vstack([2 - t, 1 - t])),
         "lca_n_active": (("threshold", "time"), np.vstack([10 + t, 8 + t])),
         "lca_relative_gap": ("time", np.geomspace(1, 1e-3, 50)),
         "fista_objective": ((), 1.6),
         "rd_n_active": (("solver", "level"), n_active),
         "rd_mse": (("solver", "level"), 0.002 / n_active * 10),
         "rd_parameter": (("solver", "level"), np.tile(lams, (6, 1)))},
        coords={"threshold": ["soft", "hard"], "time": t, "solver": solvers,
                "level": np.arange(n_levels)},
        attrs={"tau": 0.01, "patch_size": 8, "n_atoms": 128})


def test_rozell_mse_has_units_lambda_labels_and_dynamics_in_2x2(study_figures):
    figures = study_figures("rozell-2008-lca", _rozell_dataset())
    ax = figures["rozell-2008-lca_rate_distortion.png"].axes[0]
    assert "absolute" in ax.get_ylabel() and "per pixel" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.texts if t.get_text().startswith("λ=")]
    assert len(labels) >= 4 and "λ=0.05" in labels, labels  # every soft-LCA point
    dynamics = figures["rozell-2008-lca_dynamics.png"]
    assert len({round(a.get_position().y0, 3) for a in dynamics.axes}) == 2  # two rows
    assert all(a.title.get_fontsize() >= 10 for a in dynamics.axes)


def test_rozell_energy_panels_show_the_start_and_name_the_units(study_figures):
    """Each energy panel shows its curve from t = 0, where E = ||x||^2 / 2 (the limits
    left t = 0 out: the curves began above the panels' tops), and its y label gives the
    units the Dataset records."""
    ds = _rozell_dataset()
    t = ds["time"].values
    # as in a run: the energy falls fast from ||x||^2 / 2 = 3.1 within the first steps
    energy = np.vstack([0.95 + 2.2 * np.exp(-t / 0.002), 0.3 + 2.8 * np.exp(-t / 0.001)])
    ds["lca_objective"] = (("threshold", "time"), energy, {"units": "(units of X)^2"})
    dynamics = study_figures("rozell-2008-lca", ds)["rozell-2008-lca_dynamics.png"]
    for ax, curve in zip(dynamics.axes[:2], energy):
        assert ax.get_ylim()[1] >= curve[0], ax.get_title()
        assert ax.get_ylabel() == "energy per patch, (units of X)^2"


def test_rozell_lambda_labels_stay_inside_the_rate_distortion_axes(study_figures):
    """The label of each curve's densest point sits right of it: at the axes' right end
    it ran over the frame ("λ=0.05" crossed the right spine of the quick run's figure)."""
    ds = _rozell_dataset()
    # as in a run: soft LCA's densest point is the densest of all, at the right end
    n_active = ds["rd_n_active"]
    n_active.loc[{"solver": "lca_soft"}] = n_active.sel(solver="lca_soft") * 1.3
    fig = study_figures("rozell-2008-lca", ds)["rozell-2008-lca_rate_distortion.png"]
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_window_extent()
    labels = [t for t in ax.texts if t.get_text().startswith("λ=")]
    assert labels
    for t in labels:
        extent = t.get_window_extent()
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, t.get_text()


def test_rozell_soft_lca_curve_is_not_hidden_under_the_lasso_curve(study_figures):
    """Soft LCA converges to the LASSO, so its rate-distortion points lie on FISTA's;
    FISTA, drawn after it in the same style, hid it: a legend entry with no line."""
    ds = _rozell_dataset()
    for var in ("rd_n_active", "rd_mse"):  # the two curves coincide, as in a real run
        ds[var].loc[{"solver": "fista"}] = ds[var].sel(solver="lca_soft").values
    ax = study_figures("rozell-2008-lca", ds)["rozell-2008-lca_rate_distortion.png"].axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    soft, fista = lines["LCA soft"], lines["FISTA (LASSO)"]
    np.testing.assert_array_equal(soft.get_xydata(), fista.get_xydata())
    # drawn over FISTA's, hollow and larger: FISTA's points show through
    assert soft.get_zorder() > fista.get_zorder()
    assert soft.get_markerfacecolor() == "none"
    assert soft.get_markersize() > fista.get_markersize()
    assert soft.get_linestyle() != fista.get_linestyle()


# --- learning curves: a key to the two lines, the run in the title, Cauchy's "active" ----

def _history(n=60, **attrs):
    rng = np.random.default_rng(11)
    return xr.Dataset(
        {name: ("update", rng.uniform(0.2, 0.4, n), {"long_name": ln, "units": "1"})
         for name, ln in (("objective", "mean energy per patch"),
                          ("reconstruction_error", "relative error"),
                          ("fraction_active", "fraction of coefficients active"))},
        coords={"update": np.arange(n)}, attrs=attrs)


def test_learning_curve_says_which_line_is_the_running_mean_and_which_run_it_is():
    fig = plot_learning_curve(_history(prior="l1", lam=0.1, quick=1, n_updates=60))
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert legend == ["per update", "centred mean over 2 updates"], legend
    title = fig._suptitle.get_text()
    assert "L1 prior" in title and "λ = 0.1" in title and "quick run" in title, title
    assert "fraction active" in fig.axes[2].get_ylabel()  # non-zero: the L1 meaning
    fig.canvas.draw()  # the key under the panels, off their x labels
    key = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        assert not _overlap(key, ax.get_tightbbox())
    # a saved network keeps the history's attrs as learning_*; a full run says so
    fig = plot_learning_curve(_history(learning_prior="l1", learning_lam=0.15, quick=0))
    assert "λ = 0.15" in fig._suptitle.get_text() and "full run" in fig._suptitle.get_text()


def test_learning_curve_running_mean_is_centred_and_does_not_lag():
    """A trailing mean over k points lagged (k - 1) / 2 points behind the raw curve (30
    updates over 3,000). Against the analytic centred mean of y = u^2 over u - h ... u + h,
    the ends weighted 1/2: u^2 + (2 h^2 + 1) / 6, drawn only where the window fits."""
    n, step = 300, 5  # recorded every 5 updates: the window is given in updates
    u = np.arange(n, dtype=float)
    history = xr.Dataset({"objective": ("update", u**2, {"long_name": "e", "units": "1"})},
                         coords={"update": step * np.arange(n)})
    fig = plot_learning_curve(history)
    raw, mean = fig.axes[0].lines
    half = n // 100
    inside = slice(half, n - half)
    np.testing.assert_array_equal(mean.get_xdata(), raw.get_xdata())  # every point, no shift
    np.testing.assert_allclose(mean.get_ydata()[inside],
                               u[inside] ** 2 + (2 * half**2 + 1) / 6, rtol=1e-12)
    assert np.isnan(mean.get_ydata()[:half]).all() and np.isnan(mean.get_ydata()[-half:]).all()
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    # one point per 5 updates: not "per update"
    assert legend == [f"one record every {step} updates",
                      f"centred mean over {2 * half * step} updates"]
    # a NaN point is left out of its windows, not spread over the rest of the curve
    history["objective"][150] = np.nan
    y = plot_learning_curve(history).axes[0].lines[1].get_ydata()
    assert np.isfinite(y[inside]).all()
    weights = np.array([0.5, 1, 1, 1, 1, 1, 0.5])
    assert y[149] == pytest.approx(np.average(np.delete(u[146:153] ** 2, 4),
                                              weights=np.delete(weights, 4)))


@pytest.mark.parametrize("n", [20, 99, 250, 1001])
def test_learning_curve_running_mean_of_a_constant_and_alternating_noise_is_flat(n):
    """Over y = 2 + 0.5 (-1)^i the smoothed curve is 2 wherever it is drawn: a window
    shrunk near the ends ended on the raw values (2.5 or 1.5, a jump of 0.5 at either
    end), and an equally weighted window of 2 half + 1 points kept 1 / (2 half + 1) of
    the ripple everywhere."""
    y = 2.0 + 0.5 * (-1.0) ** np.arange(n)
    history = xr.Dataset({"objective": ("update", y, {"long_name": "e", "units": "1"})},
                         coords={"update": np.arange(n)})
    mean = plot_learning_curve(history).axes[0].lines[1].get_ydata()
    half = max(n // 100, 1)
    np.testing.assert_allclose(mean[half:n - half], 2.0, rtol=1e-12)
    # the ends, where the whole window does not fit, are left undrawn, not raw values
    assert np.isnan(mean[:half]).all() and np.isnan(mean[n - half:]).all()


@pytest.mark.parametrize("attrs, expected", [
    ({"record_every": 10}, "one record every 10 updates"),
    ({"record_every": 1}, "per update"),
    ({"record_every_per_call": [10, 5], "record_every": 5}, "one record every 5 or 10 updates"),
    ({"learning_record_every": 10}, "one record every 10 updates"),  # a saved network's
    ({}, "one record every 10 updates"),  # said by the update index alone
])
def test_learning_curve_says_how_many_updates_a_point_stands_for(attrs, expected):
    """A history recorded every 10 updates (learn_dictionary(record_every=10): updates
    0, 10, ..., 290, 299) was keyed "per update"."""
    update = np.r_[np.arange(0, 300, 10), 299] if attrs.get("record_every", 10) != 1 else (
        np.arange(31))
    history = xr.Dataset({"objective": ("update", np.linspace(1.0, 0.5, update.size))},
                         coords={"update": update}, attrs=attrs)
    legend = [t.get_text() for leg in plot_learning_curve(history).legends
              for t in leg.get_texts()]
    assert legend[0] == expected, legend


def test_olshausen_field_1996_titles_spell_the_prior_alike(study_figures):
    """The atoms figure said "(l1 prior)", the learning curve "L1 prior"."""
    rng = np.random.default_rng(0)
    for prior, name in (("l1", "L1"), ("cauchy", "Cauchy")):
        ds = xr.Dataset(
            {"dictionary": (("atom", "y", "x"), rng.standard_normal((4, 4, 4))),
             "codes": (("sample", "atom"), rng.laplace(size=(50, 4))),
             "objective": ("update", np.linspace(1.0, 0.5, 30))},
            coords={"update": np.arange(30)}, attrs={"prior": prior, "lam": 0.1})
        figures = study_figures("olshausen-field-1996", ds)
        atoms = figures["olshausen-field-1996_atoms.png"].axes[0].get_title()
        curve = figures["olshausen-field-1996_learning_curve.png"]._suptitle.get_text()
        assert f"({name} prior)" in atoms and f"{name} prior" in curve, (atoms, curve)


def test_learning_curve_of_the_cauchy_prior_says_active_means_above_sigma():
    fig = plot_learning_curve(_history(prior="cauchy", lam=0.14, sigma=0.316, quick=1))
    assert "Cauchy prior" in fig._suptitle.get_text()
    ax = fig.axes[2]
    assert "|a| > σ" in ax.get_ylabel(), ax.get_ylabel()
    assert "σ = 0.316" in ax.get_title() and "never exactly 0" in ax.get_title()


def test_cauchy_learning_curve_says_why_its_objective_rises_with_gain_adaptation():
    """With gain adaptation the Cauchy objective and error rose (0.43 -> 0.53 and
    0.07 -> 0.13 in the study's quick run on Olshausen's images) while the atoms shrank,
    and nothing on the figure said why: it now draws their mean length and a note."""
    history = _history(prior="cauchy", lam=0.022, sigma=0.316, quick=1, gain_rate=0.02,
                       var_goal=0.1)
    history["median_atom_norm"] = ("update", np.linspace(1, 0.36, 60),
                                 {"long_name": "median atom length", "units": "units of X"})
    fig = plot_learning_curve(history)
    assert [ax.get_ylabel() for ax in fig.axes][-1] == "median atom norm (units of X)"
    note = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "gain adaptation rescales each atom" in note and "var_goal = 0.1" in note, note
    assert "objective and the error rise while the atoms shrink" in note, note
    fig.canvas.draw()  # under the key, which is under the panels
    box = fig.texts[-1].get_window_extent()
    key = fig.legends[0].get_window_extent()
    assert box.y1 <= key.y0 + 1
    for ax in fig.axes:
        assert not _overlap(box, ax.get_tightbbox()) and not _overlap(key, ax.get_tightbbox())
    # no note where the lengths stay put: L1 (unit atoms), or gain adaptation off
    for attrs in (dict(prior="l1", lam=0.1), dict(prior="cauchy", gain_rate=0.0)):
        texts = [t.get_text() for t in plot_learning_curve(_history(**attrs)).texts]
        assert not any("gain adaptation" in t for t in texts), texts


def test_sailnet_learning_curves_have_a_key(study_figures):
    fig = study_figures("zylberberg-2011-sailnet", _sailnet_dataset())[
        "zylberberg-2011-sailnet_learning.png"]
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert legend == ["per update", "centred mean over 2 updates"], legend


# --- lca-sweep: the Gabor criterion and an unconverged quick sweep said -------------------

def test_lca_sweep_gabor_panel_names_the_criterion_and_a_quick_run(monkeypatch, tmp_path):
    import studies.lca_sweep as study
    from v1model.analysis import GABOR_LIKE_R2

    figures = {}
    monkeypatch.setattr("v1model.io.save_figure",
                        lambda fig, path, dpi=120: figures.setdefault(path.name, fig))
    ds = _lca_sweep()
    study.plot_sweep(ds.assign_attrs(quick=1, sweep_quick=1, n_updates=40), tmp_path)
    ax = figures.pop("lca-sweep_tradeoff.png").axes[1]
    assert f"(Gabor fit R² ≥ {GABOR_LIKE_R2:g})" in ax.get_ylabel(), ax.get_ylabel()
    assert "quick: 40 updates, not converged" in ax.get_title(), ax.get_title()
    study.plot_sweep(ds.assign_attrs(quick=0, sweep_quick=0, n_updates=400), tmp_path)
    ax = figures.pop("lca-sweep_tradeoff.png").axes[1]
    assert "not converged" not in ax.get_title() and "400 updates" in ax.get_title()


# --- smith-lewicki: the DCT blocks in ms, as the README gives them -------------------------

def test_smith_lewicki_dct_blocks_in_ms_and_samples(study_figures):
    name = "smith-lewicki-2006-convolutional"
    ax = study_figures(name, _smith_lewicki_dataset())[f"{name}_rate_distortion.png"].axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # 32 and 128 samples at 8 kHz
    assert "block DCT, 4 ms (32 samples)" in legend, legend
    assert "block DCT, 16 ms (128 samples)" in legend, legend


# --- legends over data that can be large have an explicit place ("best" is slow) --------

def test_legends_over_many_points_have_an_explicit_place(study_figures):
    from v1model.plotting import plot_inhibition_vs_overlap

    rng = np.random.default_rng(12)
    W, overlap = rng.uniform(0, 1, (20, 20)), rng.uniform(-1, 1, (20, 20))
    legends = [plot_inhibition_vs_overlap(W, overlap).axes[0].get_legend()]
    legends.append(study_figures("spiking-lca", _spiking_lca_dataset())[
        "spiking-lca_error_vs_time.png"].axes[0].get_legend())
    fits = study_figures("sae-natural-patches", _sae_dataset())["sae-natural-patches_fits.png"]
    legends.append(next(ax for ax in fits.axes if "unexplained" in ax.get_ylabel()).get_legend())
    for legend in legends:
        assert legend._loc != 0, [t.get_text() for t in legend.get_texts()]  # 0: "best"


def test_schultz_summary_gives_the_under_complete_controls_own_comparison(study_figures):
    """The control reaches no rate near 0.1 per pixel: its row of the bars said only
    "does not reach this rate", while the study compares it with the shortest stride at
    a rate of its own (attrs control_rate, error_control,
    error_shortest_at_control_rate; quick run, seed 0: 0.711 against 0.595)."""
    name = "schultz-2014-replicating-kernels"
    ds = _schultz_dataset()
    ds["error_at_matched_rate"][2] = np.nan  # the control (role "control")
    ds.attrs.update(control_rate=0.0165, error_control=0.711,
                    error_shortest_at_control_rate=0.595)
    bars = study_figures(name, ds)[f"{name}_summary.png"].axes[0]
    notes = [t.get_text() for t in bars.texts]
    assert notes == ["does not reach this rate; at its 0.0165 per pixel: 0.711, against "
                     "0.595 for 8 @ s=2"], notes
    # a result without the control's numbers (or another row short of the rate) says
    # only what it did
    ds.attrs.pop("error_control")
    bars = study_figures(name, ds)[f"{name}_summary.png"].axes[0]
    assert [t.get_text() for t in bars.texts] == ["does not reach this rate"]
