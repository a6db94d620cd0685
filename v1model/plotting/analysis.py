"""Figures of receptive-field analysis: Gabor tilings, the nx-ny plane, tuning
curves, sparseness histograms, Babel curves, mapped receptive fields."""

from __future__ import annotations

import warnings

import numpy as np

from .._frames import user_stacklevel
from ._mpl import (as_real, distinct_labels, fitting_fixed_labels, fitting_ticks, plain_log_ticks,
                   pyplot)
from .atoms import tile_atoms

__all__ = [
    "plot_gabor_tiling",
    "plot_orientation_frequency",
    "plot_nx_ny",
    "plot_tuning_curves",
    "plot_sparseness_histograms",
    "plot_babel_curves",
    "plot_rf_comparison",
    "plot_sparseness_tradeoff",
]


def _check_result(ds, name, variables, producer):
    """Refuse a ``ds`` that is not a Dataset holding ``variables`` (the output of
    ``producer``): None, an array or another function's result failed inside with a
    KeyError, an IndexError or a TypeError that named no argument."""
    import xarray as xr

    from ..validation import describe

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{name} must be the Dataset returned by {producer}, got "
                        f"{describe(ds)}")
    missing = [v for v in variables if v not in ds]
    if missing:
        raise TypeError(f"{name} must be the Dataset returned by {producer}, got one "
                        f"without {missing} (it has {sorted(ds.data_vars)[:8]})")


#: what each figure reads of the result it draws
_FIT_VARIABLES = ("r2", "orientation", "frequency", "x0", "y0", "sigma_x", "sigma_y")
_TUNING_VARIABLES = ("max_response", "orientation_tuning", "frequency_tuning",
                     "peak_orientation", "circular_variance", "orientation_bandwidth")
_SPARSENESS_VARIABLES = ("active_count", "lifetime_sparseness", "population_sparseness",
                         "kurtosis", "activity_ratio", "mean_active_count", "n_dead")


def _good(fit, min_r2):
    from ..validation import check_probability

    # min_r2=nan compared False with every fit: an empty figure with no error
    min_r2 = check_probability(min_r2, "min_r2", open_interval=False)
    return np.isfinite(fit["r2"].values) & (fit["r2"].values >= min_r2)


def _best_r2(fit) -> str:
    """What ``fit`` holds when none of its atoms reaches ``min_r2``: its best R², or
    that no fit is finite, or that it holds no atom."""
    r2 = np.asarray(fit["r2"].values, dtype=float).reshape(-1)
    if r2.size == 0:
        return "the fit holds no atom"
    finite = r2[np.isfinite(r2)]
    if finite.size == 0:
        return f"none of its {r2.size} atoms has a finite R²"
    return f"best R² {finite.max():.3g} of {r2.size} atom{'s' if r2.size > 1 else ''}"


def _say_in_panels(axes, text):
    """``text`` in the middle of each of ``axes``: why a panel is blank (it was blank
    with no word, a threshold too strict or a silent network alike to a failed plot)."""
    for ax in axes:  # on white: over a reference line (the tuning's half height) too
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
                fontsize=8, color="0.3", zorder=5, bbox={"fc": "white", "ec": "none"})


def _say_none_drawn(axes, min_r2, why):
    """:func:`_say_in_panels` that no atom reaches ``min_r2``, and why
    (:func:`_best_r2`)."""
    _say_in_panels(axes, f"no atom with R² ≥ {min_r2:g}\n({why})")


def plot_orientation_frequency(orientation, frequency, ax=None, color="C1", s=8,
                               max_frequency=0.5, title=None, **scatter_kw):
    """Gabor fits as points in the orientation x spatial-frequency half-disc.

    Convention, shared by every orientation-frequency plot of this package:
    the angle is the orientation theta in [0, 180) degrees itself (not
    doubled, not mirrored to theta + 180), counter-clockwise from 0 = wave
    vector along +x (vertical bars), as the image is displayed; the radius is
    the spatial frequency. Each atom is one point on the upper half-disc, 0°
    at the right and 90° at the top; the radial tick labels sit along the
    half-disc's flat edge, below the data, at round steps (0.1, 0.2, 0.25, ...
    cycles/pixel) as fine as keep the labels apart.

    Parameters
    ----------
    orientation : array_like, shape (n,)
        Orientations in radians (``orientation`` of
        :func:`v1model.analysis.fit_gabor`: direction of the carrier's wave
        vector); wrapped to [0, pi).
    frequency : array_like, shape (n,)
        Spatial frequencies (cycles/pixel), the radius.
    ax : matplotlib.projections.polar.PolarAxes, optional
        Polar axes to draw into (default: a new figure).
    color : color or array_like, optional
        Marker colour(s), as for :meth:`~matplotlib.axes.Axes.scatter`.
    s : float, default 8
        Marker size (points²).
    max_frequency : float
        Outer radius (default 0.5 cycles/pixel, the Nyquist frequency).
    title : str, optional
        Axes title (default: what the angle and the radius are).
    **scatter_kw
        Passed on to :meth:`~matplotlib.axes.Axes.scatter` (e.g. ``cmap``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).
    """
    from ..validation import check_positive

    # NaN failed inside matplotlib ("Axis limits cannot be NaN or Inf")
    max_frequency = check_positive(max_frequency, "max_frequency")
    plt = pyplot()
    if ax is None:
        fig = plt.figure(figsize=(4.5, 3.0))
        ax = fig.add_subplot(projection="polar")
    else:
        fig = ax.figure
    theta = np.mod(as_real(orientation, "orientation"), np.pi)
    frequency = as_real(frequency, "frequency")
    if theta.shape != frequency.shape:  # matplotlib's "x and y must be the same size"
        raise ValueError(f"orientation and frequency must have one shape, got "
                         f"{theta.shape} and {frequency.shape}")
    ax.scatter(theta, frequency, c=color, s=s, **scatter_kw)
    ax.set_thetamin(0)
    ax.set_thetamax(180)
    ax.set_ylim(0, max_frequency)
    ax.set_xticks(np.radians([0, 45, 90, 135, 180]))
    ax.set_xticklabels(["0°", "45°", "90°", "135°", "180°"])
    ax.set_rlabel_position(0)  # the flat edge: along 0° and below it, off the data
    ax.tick_params(axis="y", labelsize=7)
    # as many radial ticks as keep their labels apart: "0.00" ... "0.45" every 0.05 ran
    # into each other along the half-disc's edge
    fitting_ticks(ax.yaxis)
    # the radius's name under its tick labels (an x label would sit far below the
    # half-disc, at the bottom of the full polar box)
    ax.annotate("spatial frequency (cycles/pixel)", xy=(0, 0.5 * max_frequency),
                xytext=(0, -16), textcoords="offset points", ha="center", va="top",
                fontsize=7)
    ax.set_title(title or "orientation (deg) x spatial frequency", fontsize=9)
    return fig


def plot_gabor_tiling(fit, min_r2: float = 0.8, title=None, n_sigma: float = 0.5):
    """How the fitted Gabors tile orientation x frequency and position x size.

    Left: each atom as a point at (orientation, spatial frequency) in polar
    coordinates, by :func:`plot_orientation_frequency` (angle = orientation
    in [0°, 180°) on a half-disc, radius = frequency). Right: each atom as a
    dot at its centre and an ellipse of ``n_sigma`` envelope s.d. across and
    along the bars (±0.5 σ by default: at ±1 σ the ellipses of 8x8 atoms are
    larger than the patch and tangle), over the patch, whose edge is drawn.
    Both panels colour the atoms by orientation, keyed by a colour bar. Atoms
    with R^2 < ``min_r2`` are left out.

    Parameters
    ----------
    fit : xarray.Dataset
        Output of :func:`v1model.analysis.fit_gabor`.
    min_r2 : float
        Atoms whose fit has a lower R² are left out (default 0.8).
    title : str, optional
        Figure title (default: a summary of what is drawn).
    n_sigma : float
        Half-axes of the ellipses in envelope s.d. (default 0.5); said in the
        panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: the polar orientation-frequency panel and the
        position-size panel (x, y in pixels) with its colour bar.

    Notes
    -----
    When no atom reaches ``min_r2`` (or ``fit`` holds none, as a study's selection
    of reliable fits may), both panels say so, with the best R² of ``fit``, and a
    RuntimeWarning gives the same numbers.

    Raises
    ------
    ValueError
        For ``n_sigma`` that is not a positive finite number, or ``min_r2``
        outside [0, 1].
    """
    plt = pyplot()
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Ellipse, Rectangle

    from ..validation import check_positive

    n_sigma = check_positive(n_sigma, "n_sigma")
    _check_result(fit, "fit", _FIT_VARIABLES, "fit_gabor")
    good = _good(fit, min_r2)
    th = np.mod(fit["orientation"].values[good], np.pi)
    f = fit["frequency"].values[good]
    fig = plt.figure(figsize=(10, 4.3))
    ax1 = fig.add_subplot(1, 2, 1, projection="polar")
    cmap = plt.get_cmap("hsv")
    top = max(0.5, float(np.max(f, initial=0)) * 1.05)  # 0.5: Nyquist, unless fits go beyond
    plot_orientation_frequency(th, f, ax=ax1, color=th / np.pi, cmap=cmap, vmin=0, vmax=1,
                               s=14, max_frequency=top)
    ax2 = fig.add_subplot(1, 2, 2)
    h, w = int(fit.attrs.get("height", 0)), int(fit.attrs.get("width", 0))
    x0s, y0s = fit["x0"].values[good], fit["y0"].values[good]
    for x0, y0, t, sx, sy in zip(x0s, y0s, th, fit["sigma_x"].values[good],
                                 fit["sigma_y"].values[good]):
        # the ellipse's "width" axis is across the bars (the wave vector); angles
        # are counter-clockwise as displayed, and the y axis is inverted below
        ax2.add_patch(Ellipse((x0, y0), 2 * n_sigma * sx, 2 * n_sigma * sy,
                              angle=-np.degrees(t), fill=False, color=cmap(t / np.pi), lw=1.0,
                              alpha=0.9))
    ax2.scatter(x0s, y0s, c=th / np.pi, cmap=cmap, vmin=0, vmax=1, s=10, zorder=3)
    if h and w:
        ax2.add_patch(Rectangle((-0.5, -0.5), w, h, fill=False, ec="0.5", ls="--", lw=0.8))
        # a pixel of margin: ellipses of atoms at the edge show their shape
        ax2.set_xlim(-1.5, w + 0.5)
        ax2.set_ylim(h + 0.5, -1.5)
    else:
        ax2.autoscale()
        ax2.invert_yaxis()
    ax2.set_aspect("equal")
    ax2.set_xlabel("x (pixel)")
    ax2.set_ylabel("y (pixel)")
    ax2.set_title(f"position x size: centres and envelopes\n(ellipses: ±{n_sigma:g} σ; "
                  f"dashed: the patch's edge)", fontsize=9)
    # the key to the hsv colour code of both panels
    bar = fig.colorbar(ScalarMappable(Normalize(0, 180), cmap), ax=ax2, shrink=0.9,
                       ticks=[0, 45, 90, 135, 180])
    bar.set_label("orientation (deg), both panels")
    if not good.any():
        # both panels were blank: a threshold too strict (or a study's selection that
        # left no atom) looked like a failed figure; said on it and once in a warning
        why = _best_r2(fit)
        _say_none_drawn((ax1, ax2), min_r2, why)
        warnings.warn(f"plot_gabor_tiling: no atom of fit has R² ≥ min_r2={min_r2:g} "
                      f"({why}); both panels are empty but for a note saying so",
                      RuntimeWarning, stacklevel=user_stacklevel())
    fig.suptitle(title or f"Gabor tiling of {int(good.sum())} atoms with R² ≥ {min_r2:g}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_nx_ny(*fits, labels=None, min_r2: float = 0.8, ax=None, title=None):
    """Ringach's (nx, ny) plane for one or more Gabor-fit Datasets.

    nx = sigma_x * f (envelope width across the bars, in cycles) against
    ny = sigma_y * f (along the bars). Ringach (2002) found macaque simple
    cells spread along a curve from blobs (nx, ny ~ 0.2) to elongated
    multi-lobed fields; sparse-coding atoms lie further from the origin.

    Parameters
    ----------
    *fits : xarray.Dataset
        Outputs of :func:`v1model.analysis.fit_gabor` (with ``nx``, ``ny``
        and ``r2`` over ``atom``), one colour each.
    labels : list of str, optional
        Legend label of each Dataset (default "set 0", "set 1", ...); the
        count and the medians of nx and ny are appended.
    min_r2 : float
        Atoms whose fit has a lower R² are left out (default 0.8).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    title : str, optional
        Axes title (default: the plane's name and ``min_r2``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Notes
    -----
    A set with no atom at ``min_r2`` or above is named in the legend with its
    best R², and in a RuntimeWarning; when no set has one, the plane says so too.

    Raises
    ------
    ValueError
        When no Dataset is given, or for ``min_r2`` outside [0, 1].
    """
    plt = pyplot()
    if not fits:
        raise ValueError("give at least one Gabor-fit Dataset")
    labels = list(labels) if labels is not None else [f"set {i}" for i in range(len(fits))]
    if len(labels) != len(fits):  # zip() dropped the Datasets without a label, unsaid
        raise ValueError(f"labels has {len(labels)} label(s) for {len(fits)} Gabor-fit "
                         f"Dataset(s): give one per Dataset, got labels={labels!r}")
    for i, fit in enumerate(fits):
        _check_result(fit, f"fits[{i}]", ("r2", "nx", "ny"), "fit_gabor")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 4.5))
    else:
        fig = ax.figure
    top = 1.5
    points = []
    for fit in fits:
        good = _good(fit, min_r2)
        points.append((fit["nx"].values[good], fit["ny"].values[good]))
        if good.any():
            top = max(top, float(np.percentile(np.concatenate(points[-1]), 98)) * 1.1)
    empty = []  # (label, why none of its atoms is drawn)
    for i, ((nx, ny), label, fit) in enumerate(zip(points, labels, fits)):
        if nx.size:
            outside = int(np.count_nonzero((nx > top) | (ny > top)))  # beyond the axes: say so
            off = f"; {outside} off the axes" if outside else ""
            label = (f"{label} (n={nx.size}, median nx={np.median(nx):.2f}, "
                     f"ny={np.median(ny):.2f}{off})")
        else:  # the bare label read as a set drawn under the others'
            empty.append((label, _best_r2(fit)))
            label = f"{label} (none with R² ≥ {min_r2:g}: {empty[-1][1]})"
        ax.scatter(nx, ny, s=12, alpha=0.7, color=f"C{i}", label=label)
    if empty:
        if len(empty) == len(fits):  # a blank plane
            _say_none_drawn([ax], min_r2, empty[0][1] if len(fits) == 1
                            else "in any set: see the legend")
        sets = "; ".join(f"{label!r} ({why})" for label, why in empty)
        share = f", {len(empty)} of {len(fits)} sets" if len(fits) > 1 else ""
        warnings.warn(f"plot_nx_ny: no atom has R² ≥ min_r2={min_r2:g} in {sets}{share}; "
                      "the legend says so", RuntimeWarning, stacklevel=user_stacklevel())
    ax.plot([0, top], [0, top], color="0.6", lw=0.8, ls="--")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    ax.set_xlabel("nx = σx · f  (across the bars)")
    ax.set_ylabel("ny = σy · f  (along the bars)")
    # under the axes: one line per set is wider than the plane, and inside it the box
    # covered the top of the data and the y tick labels
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    ax.set_title(title or f"Ringach's nx-ny plane (fits with R² ≥ {min_r2:g})", fontsize=9)
    return fig


def _closed_orientation_curve(rel_deg, y):
    """A periodic orientation curve on [-90, 90] degrees, closed at exactly ±90.

    ``rel_deg`` (orientation relative to the preferred one, any range) is
    wrapped to [-90, 90); values within 1e-6 degrees of +90 wrap to -90, so that
    rounding cannot move a sample from one end to the other. The curve's
    value at ±90 is the sample there or, when there is none, the linear
    interpolation across the wrap; it is drawn at both ends.
    """
    rel = (np.asarray(rel_deg, dtype=float) + 90.0) % 180.0 - 90.0
    rel[np.abs(np.abs(rel) - 90.0) < 1e-6] = -90.0
    order = np.argsort(rel, kind="stable")
    rel, y = rel[order], np.asarray(y, dtype=float)[order]
    x0, x1 = rel[-1], rel[0] + 180.0  # the last sample and the first one, a period on
    y_end = y[0] if x1 == 90.0 else y[-1] + (y[0] - y[-1]) * (90.0 - x0) / (x1 - x0)
    if rel[0] > -90.0:
        rel, y = np.r_[-90.0, rel], np.r_[y_end, y]
    return np.r_[rel, 90.0], np.r_[y, y_end]


def plot_tuning_curves(tuning, units=None, max_units: int = 12, title=None):
    """Orientation and spatial-frequency tuning of a few units.

    Left: orientation curves, each normalised to its peak, against orientation
    relative to the unit's preferred orientation. Right: frequency curves
    (normalised) on a log axis, ticked at the tested frequencies (at most 8 ticks,
    each labelled by the value itself to 4 significant digits, more where two would
    read alike; a label that would run into its neighbour's is left blank).

    Parameters
    ----------
    tuning : xarray.Dataset
        Output of :func:`v1model.analysis.tuning_curves`, its curves read by dim name:
        ``(atom, orientation)`` and ``(atom, frequency)`` (``unit`` for ``atom`` in
        a result saved before 2026-12-04).
    units : array_like of int, optional
        Units to show (positions along ``atom``); default the first
        ``max_units`` responsive ones.
    max_units : int
        How many units to show when ``units`` is not given (default 12).
    title : str, optional
        Figure title (default: how many units are drawn, and the medians of their
        circular variance and orientation half-width, said to be over these units).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two panels: orientation (deg) and spatial frequency
        (cycles/pixel), and a legend naming each drawn unit by its ``atom``
        label. Units whose orientation curve has no positive value are not
        drawn; when no unit is drawn, both panels say why.
    """
    _check_result(tuning, "tuning", _TUNING_VARIABLES, "tuning_curves")
    plt = pyplot()
    peak = tuning["max_response"].values
    asked = units
    if units is None:
        units = np.flatnonzero(peak > 0)[:max_units]
    units = as_real(units, "units", dtype=int).reshape(-1)
    n_atoms = len(peak)
    bad = units[(units < 0) | (units >= n_atoms)]
    if bad.size:  # -1 drew the last unit, 5 of 3 failed with numpy's IndexError
        raise ValueError(f"units must be positions along 'atom' in 0 ... {n_atoms - 1}, got "
                         f"{int(bad[0])}")
    # by dim name: a transposed Dataset (orientation, atom) drew rows of atoms as curves
    # (numpy's IndexError, or wrong curves unsaid when the two sizes were equal)
    from ..io import values_by_dims

    # tuning_curves named this dim "unit" until 2026-12-03: its saved results drew, by
    # position, until read by dim name
    unit = "unit" if "unit" in tuning.dims and "atom" not in tuning.dims else "atom"
    try:
        curves = {name: values_by_dims(tuning, name, (unit, dim)) for name, dim in (
            ("orientation_tuning", "orientation"), ("frequency_tuning", "frequency"))}
    except ValueError as exc:  # check_dims names the variable, as ds[...]
        raise ValueError(f"tuning: {exc}; not the Dataset tuning_curves returns") from exc
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    o = tuning["orientation"].values
    f = tuning["frequency"].values
    # tuning_curves takes the frequencies in any order: draw each curve along frequency
    by_f = np.argsort(f, kind="stable")
    drawn = []
    for k, u in enumerate(units):
        oc = curves["orientation_tuning"][u]
        fc = curves["frequency_tuning"][u]
        # NaN points (a curve assembled by hand) are gaps, not a reason to drop the unit
        if not np.nanmax(oc, initial=0.0) > 0:
            continue
        drawn.append(u)
        # NaN for a flat curve (no argmax): drawn flat about 0, not left out unseen
        pref = np.nan_to_num(tuning["peak_orientation"].values[u])
        x, y = _closed_orientation_curve(np.degrees(o - pref), oc / np.nanmax(oc))
        ax1.plot(x, y, "-", lw=1, color=f"C{k % 10}", alpha=0.8,
                 label=f"unit {tuning['atom'].values[u]}" if "atom" in tuning.coords
                 else f"unit {u}")
        ax2.semilogx(f[by_f], fc[by_f] / max(np.nanmax(fc, initial=0.0), 1e-300), "o-", ms=3,
                     lw=1, color=f"C{k % 10}", alpha=0.8)
    if not drawn:  # two blank panels: a silent network looked like a failed figure
        why = (f"none of the {n_atoms} units responds (max_response > 0)" if asked is None
               else "units is empty" if units.size == 0
               else f"none of the {units.size} units asked for has a positive orientation "
                    "response")
        _say_in_panels((ax1, ax2), f"no unit drawn:\n{why}")
        tested = f[np.isfinite(f) & (f > 0)]
        if tested.size:  # the tested frequencies' log axis, as with curves drawn on it
            ax2.set_xscale("log")
            ax2.set_xlim(tested.min() / 1.2, tested.max() * 1.2)
    units = np.asarray(drawn, dtype=int)  # the summary counts what is drawn
    ax1.axhline(tuning.attrs.get("bandwidth_level", 0.5), color="0.6", ls=":", lw=0.8)
    ax1.set_xlim(-90, 90)
    ax1.set_xticks([-90, -45, 0, 45, 90])
    ax1.set_xlabel("orientation - preferred (deg)")
    ax1.set_ylabel("response / peak")
    ax1.set_title("orientation tuning", fontsize=9)
    ax2.set_xlabel("spatial frequency (cycles/pixel)")
    ax2.set_ylabel("response / peak")
    ax2.set_title("spatial-frequency tuning", fontsize=9)
    # the short log axis (often less than a decade) had one or two decade labels: label
    # the tested frequencies themselves, at most 8 of them, as plain numbers
    ticker = plt.matplotlib.ticker
    finite = np.unique(f[np.isfinite(f) & (f > 0)])
    ticks = finite[::int(np.ceil(finite.size / 8))] if finite.size else finite
    if ticks.size:
        # "%.2g" said 0.12 for 0.125 (beside a tested 0.12) and 0.37 for 0.3747; a label
        # that would run into its neighbour is left blank at draw time (the 8 default
        # frequencies read "0.083330.1060.1349...")
        fitting_fixed_labels(ax2.xaxis, ticks, distinct_labels(ticks))
        ax2.xaxis.set_minor_locator(ticker.NullLocator())
    # NaN, without numpy's "All-NaN slice" / "Mean of empty slice" warnings, when no unit
    # is drawn or none has the value (an uneven orientation grid, tuning_curves says so)
    cv, bw = (np.nanmedian(v) if np.isfinite(v).any() else np.nan for v in (
        tuning["circular_variance"].values[units],
        np.degrees(tuning["orientation_bandwidth"].values[units])))
    # say which units the medians are over: a study's summary may give them over all units
    fig.suptitle(title or f"{len(units)} units shown; medians over these {len(units)}: "
                          f"circular variance {cv:.2f}, "
                          f"half-width {bw:.1f}°", fontsize=10)
    if units.size:  # which colour is which unit: a small column right of both panels
        fig.legend(*ax1.get_legend_handles_labels(), loc="center right", fontsize=6,
                   handlelength=1.2, frameon=False)
        fig.tight_layout(rect=(0, 0, 0.9, 1))
    else:
        fig.tight_layout()
    return fig


def plot_sparseness_histograms(sparse, title=None):
    """Histograms of active count, lifetime and population sparseness, kurtosis.

    Parameters
    ----------
    sparse : xarray.Dataset
        Output of :func:`v1model.analysis.sparseness`.
    title : str, optional
        Figure title (default: the activity ratio, the mean active count, the
        number of dead units and the code class).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of four panels (non-finite values left out of the last
        three).
    """
    _check_result(sparse, "sparse", _SPARSENESS_VARIABLES, "sparseness")
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    count = sparse["active_count"].values
    axes[0].hist(count, bins=np.arange(count.max() + 2) - 0.5, color="C0")
    # each panel counts what its statistic is of: stimuli (or time bins) or units
    rows = "time bins" if "time" in sparse["active_count"].dims else "stimuli"
    axes[0].set_xlabel(f"active units per {'time bin' if rows == 'time bins' else 'stimulus'}")
    for ax, name, xlabel in (
        (axes[1], "lifetime_sparseness", "lifetime sparseness (Vinje-Gallant)"),
        (axes[2], "population_sparseness", "population sparseness (Treves-Rolls)"),
        (axes[3], "kurtosis", "excess kurtosis per unit"),
    ):
        v = sparse[name].values
        v = v[np.isfinite(v)]
        ax.hist(v, bins=30, color="C0")
        ax.set_xlabel(xlabel)
    for ax, name in zip(axes, ("active_count", "lifetime_sparseness", "population_sparseness",
                               "kurtosis")):
        ax.set_ylabel(f"number of {'units' if 'atom' in sparse[name].dims else rows}")
    a = sparse.attrs
    fig.suptitle(title or (
        f"activity ratio {float(sparse['activity_ratio']):.3f}, "
        f"{float(sparse['mean_active_count']):.2f} active per stimulus, "
        f"{int(sparse['n_dead'])} dead: {a.get('code_class', '?')} code"), fontsize=10)
    fig.tight_layout()
    return fig


def plot_babel_curves(*babels, labels=None, coactive=None, ax=None, title=None):
    """Babel function mu_1(r) of one or more dictionaries.

    Parameters
    ----------
    *babels : xarray.Dataset
        Outputs of :func:`v1model.analysis.babel`.
    labels : list of str, optional
        Legend label of each dictionary (default "dictionary 0", ...); the
        mutual coherence is appended.
    coactive : xarray.Dataset, optional
        Output of :func:`v1model.analysis.coactive_babel`; its mean over
        inputs of each support size is drawn as points.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    title : str, optional
        Axes title (default "Babel function").

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    ValueError
        When neither a Babel Dataset nor ``coactive`` is given.
    """
    if not babels and coactive is None:  # blank axes and matplotlib's "No artists" warning
        raise ValueError("give at least one Babel Dataset (or coactive): nothing to draw")
    for i, b in enumerate(babels):
        _check_result(b, f"babels[{i}]", ("babel", "r"), "babel")
    if coactive is not None:
        _check_result(coactive, "coactive", ("support_size_bin", "mean_coactive_babel"),
                      "coactive_babel")
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.8))
    else:
        fig = ax.figure
    labels = list(labels) if labels is not None else [f"dictionary {i}" for i in
                                                      range(len(babels))]
    if len(labels) != len(babels):  # zip() dropped the curves without a label, unsaid
        raise ValueError(f"labels has {len(labels)} label(s) for {len(babels)} Babel "
                         f"Dataset(s): give one per Dataset, got labels={labels!r}")
    for i, (b, label) in enumerate(zip(babels, labels)):
        values = np.asarray(b["babel"].values, dtype=float)
        # the log axis cannot show mu_1(r) = 0 (orthogonal atoms): an orthonormal basis
        # was an empty plot with only "μ = 0.00" in the legend; say what is left out
        zero = np.count_nonzero(values <= 0)
        off = f"; μ₁(r) = 0 at {zero} r, not on the log axis" if zero else ""
        ax.plot(b["r"].values, np.where(values > 0, values, np.nan), color=f"C{i}",
                label=f"{label} (μ = {b.attrs.get('mutual_coherence', np.nan):.2f}{off})")
    if coactive is not None:
        sizes = coactive["support_size_bin"].values
        keep = sizes > 0
        ax.plot(sizes[keep], coactive["mean_coactive_babel"].values[keep], "o", ms=4,
                color="k", label="co-active atoms (mean per support size)")
    ax.axhline(1.0, color="0.6", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # plain numbers (0.6, 2, 10), not 6 x 10^-1, on the short log axes;
    for axis in (ax.xaxis, ax.yaxis):  # labels at 1-2-5, none on the minor ticks
        plain_log_ticks(axis)
    ax.set_xlabel("subset size r")
    ax.set_ylabel("μ₁(r)")
    ax.legend(fontsize=7)
    ax.set_title(title or "Babel function", fontsize=9)
    return fig


def _similarity_bins(s, n_bins: int = 30):
    """Bin edges over the range of cosine similarities ``s``, with a margin.

    The margin is 5% of the range (at least 0.01) on each side; the edges stay
    inside [-1, 1], the range of a cosine.
    """
    if s.size == 0:
        return np.linspace(-1.0, 1.0, n_bins + 1)
    lo, hi = float(s.min()), float(s.max())
    margin = max(0.05 * (hi - lo), 0.01)
    return np.linspace(max(lo - margin, -1.0), min(hi + margin, 1.0), n_bins + 1)


def _paired_by_atom_label(atoms, rfs, similarity):
    """``atoms`` and ``similarity`` put in the order of the mapped units, when ``rfs``
    and they are DataArrays labelled by ``atom``: by position, the atoms 11, 13 beside
    the fields mapped for 13, 11 were drawn side by side, unsaid, and the whole
    dictionary beside a selection of fields was refused."""
    import xarray as xr

    from ..validation import describe

    def labels(value):
        if isinstance(value, xr.DataArray) and "atom" in value.coords:
            return value.coords["atom"]
        return None

    wanted = labels(rfs)
    if wanted is None:
        return atoms, similarity
    if wanted.to_index().has_duplicates:
        raise ValueError(f"rfs has atom labels given twice: {describe(wanted.values.tolist())}")
    out = []
    for name, value in (("atoms", atoms), ("similarity", similarity)):
        own = labels(value)
        if own is not None:
            missing = sorted(set(wanted.values.tolist()) - set(own.values.tolist()))
            if missing:
                raise ValueError(f"{name} has no atom {describe(missing)} of the mapped units "
                                 f"(rfs atoms {describe(wanted.values.tolist())}); give "
                                 "the atoms of the mapped units")
            value = value.sel(atom=wanted.values)
        out.append(value)
    return tuple(out)


def plot_rf_comparison(atoms, rfs, similarity=None, n_cols=None, title=None):
    """Atoms next to the receptive fields mapped from the same units.

    Parameters
    ----------
    atoms, rfs : array_like, shape (n_units, h, w)
        Feed-forward weights and mapped receptive fields; in the grids every
        field is scaled to its own largest absolute value. ``atoms`` may also
        be flat, ``(n_units, h * w)`` (the dictionary given to
        :func:`~v1model.analysis.map_receptive_fields`): it takes the shape of ``rfs``.
        DataArrays with dims (atom, y, x) (or (atom, feature) for ``atoms``)
        are read by name, in any order; when ``rfs`` and ``atoms`` (or
        ``similarity``) carry ``atom`` labels, the atoms are paired with the
        fields by label, in the order of ``rfs`` (e.g. the whole dictionary
        beside ``rf.isel(atom=[3, 7])``). ``rfs`` may be the Dataset
        :func:`~v1model.analysis.map_receptive_fields` returns: its ``rf``,
        and its ``similarity`` when ``similarity`` is not given.
    similarity : array_like, shape (n_units,), optional
        Cosine similarities, summarised in the title and histogram. The
        histogram spans the values' range with a 5% margin, clipped to
        [-1, 1] (the whole of [-1, 1] when no value is finite).
    n_cols : int, optional
        Columns of each grid of fields (default: near-square, no empty cell
        when ``n_units`` allows; see :func:`~v1model.plotting.atoms.grid_columns`).
    title : str, optional
        Figure title (default: none).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two panels (the grids of atoms and of mapped fields),
        or three with ``similarity``.
    """
    import xarray as xr

    from ..validation import atoms_by_dim_names

    plt = pyplot()
    if isinstance(rfs, xr.Dataset):  # map_receptive_fields' result: xarray's own
        _check_result(rfs, "rfs", ("rf",), "map_receptive_fields")  # message named nothing
        if similarity is None and "similarity" in rfs:
            similarity = rfs["similarity"]
        rfs = rfs["rf"]
    atoms, similarity = _paired_by_atom_label(atoms, rfs, similarity)
    # by position, atoms or fields transposed to (atom, x, y) were drawn transposed, unsaid
    atoms = as_real(atoms_by_dim_names(atoms, "atoms"), "atoms")
    rfs = as_real(atoms_by_dim_names(rfs, "rfs"), "rfs")
    if atoms.ndim == 2 and rfs.ndim == 3 and atoms.size == rfs.size:
        atoms = atoms.reshape(rfs.shape)
    if len(atoms) != len(rfs):  # the grids showed different units side by side, unsaid
        raise ValueError(f"atoms has {len(atoms)} units (shape {atoms.shape}) but rfs has "
                         f"{len(rfs)} (shape {rfs.shape}): give the atoms of the mapped units")
    if similarity is not None:
        similarity = as_real(similarity, "similarity")
        if similarity.size != len(rfs):  # a histogram of other units' values, unsaid
            raise ValueError(f"similarity has {similarity.size} values for {len(rfs)} units "
                             "(one per mapped unit, as cosine_similarity(atoms, rfs) gives)")
    n_panels = 3 if similarity is not None else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 4.3))
    cmap = plt.get_cmap("gray").with_extremes(bad=(0.5, 0.5, 0.5))
    for ax, data, name in ((axes[0], atoms, "atoms (feed-forward weights)"),
                           (axes[1], rfs, "mapped receptive fields")):
        canvas = tile_atoms(data, n_cols=n_cols)
        ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-1, vmax=1,
                  interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(name, fontsize=9)
    if similarity is not None:
        s = similarity.ravel()
        finite = s[np.isfinite(s)]
        edges = _similarity_bins(finite)
        axes[2].hist(finite, bins=edges, color="C0")
        axes[2].set_xlim(edges[0], edges[-1])
        axes[2].set_xlabel("cosine(mapped RF, atom)")
        axes[2].set_ylabel("units")
        # no finite value (no unit responded): said, without numpy's "All-NaN slice"
        axes[2].set_title(f"median similarity {np.median(finite):.2f}" if finite.size
                          else "no finite similarity", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# shading of each code class in plot_sparseness_tradeoff: (colour, alpha); silent a
# darker grey, more opaque, so that its band shows against the white axes
_CLASS_SHADES = {"dense": ("C3", 0.12), "sparse": ("C0", 0.12), "local": ("C2", 0.15),
                "silent": ("0.35", 0.25)}


def _lam_range(values) -> str:
    """"λ = a" for one value, "λ ∈ [a, b]" for several (a one-point interval reads as a
    typo)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return f"λ = {lo:.3g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"λ ∈ [{lo:.3g}, {hi:.3g}]"


def _failed_points(lam, values: dict):
    """Where any of ``values`` (name: array over ``lam``) is NaN or inf (a failed sweep
    point); a RuntimeWarning names each variable's ``lam`` values there, and a
    ValueError refuses values with no finite point at all (an empty figure)."""
    bad = {name: ~np.isfinite(v) for name, v in values.items()}
    if all(b.all() for b in bad.values()):
        raise ValueError(f"{' and '.join(values)} are NaN or inf at every lam "
                         f"({lam.size} given); nothing to draw")
    shown = "; ".join(f"{name} at λ = {', '.join(f'{v:.3g}' for v in lam[b])}"
                      for name, b in bad.items() if b.any())
    failed = np.logical_or.reduce(list(bad.values()))
    if failed.any():
        warnings.warn(f"NaN or inf (a failed point?): {shown}; {int(failed.sum())} of "
                      f"{lam.size} λ are marked x on the λ axis of both panels",
                      RuntimeWarning, stacklevel=user_stacklevel())
    return failed


def plot_sparseness_tradeoff(lam, activity_ratio, reconstruction_error, classes=None,
                             active_count=None, n_units=None, title=None):
    """Activity ratio and reconstruction error against lambda (log axes).

    Parameters
    ----------
    lam, activity_ratio, reconstruction_error : array_like, shape (n,)
        Sparsity penalties lambda (positive, in any order: they are sorted,
        and the shaded bands cut at the geometric means of neighbours), the
        fraction of units active per stimulus and the relative squared
        reconstruction error
        ``||x - D^T a||^2 / ||x||^2`` at each lambda.
    classes : sequence of str, optional
        "local" / "sparse" / "dense" / "silent" per lambda, shown as shaded bands,
        named with their range of lambda in a legend under the axes.
    active_count : array_like, optional
        Mean active units per stimulus (right axis of the first panel), as hollow
        squares around the activity-ratio points (with ``n_units`` the two axes
        share a scale, so the points coincide).
    n_units : int, optional
        Draws the "one unit" (local) level 1 / n_units.
    title : str, optional
        Figure title (default "sparseness against reconstruction").

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of two panels: activity ratio (and active count) and
        reconstruction error against lambda. A lambda whose activity ratio or
        error is NaN or inf (a failed sweep point) is marked with a red x on the
        lambda axis of both panels, with a RuntimeWarning naming its lambda.

    Raises
    ------
    ValueError
        For ``lam`` that is not positive and finite, values of another length
        than ``lam``, or an activity ratio and error with no finite value.
    """
    plt = pyplot()
    from matplotlib.patches import Patch

    lam = as_real(lam, "lam").reshape(-1)
    if not np.all(np.isfinite(lam) & (lam > 0)):
        raise ValueError(f"lam must be positive finite penalties (log axis), got "
                         f"{lam.tolist()!r}")
    # the class bands are cut between neighbours in order of lambda: a descending (or
    # shuffled) lam shaded each band beside its own point; draw everything in that order
    order = np.argsort(lam, kind="stable")
    lam = lam[order]
    ratio = as_real(activity_ratio, "activity_ratio").reshape(-1)
    reconstruction_error = as_real(reconstruction_error, "reconstruction_error").reshape(-1)
    for name, values in (("activity_ratio", ratio),
                         ("reconstruction_error", reconstruction_error)):
        if values.shape != order.shape:
            raise ValueError(f"{name} has {values.size} values for {lam.size} lam values")
    ratio, reconstruction_error = ratio[order], reconstruction_error[order]
    if classes is not None:
        classes = np.asarray(classes, dtype=str).reshape(-1)
        if classes.shape != order.shape:
            raise ValueError(f"classes has {classes.size} values for {lam.size} lam values")
        classes = classes[order]
    if active_count is not None:
        active_count = as_real(active_count, "active_count").reshape(-1)
        if active_count.shape != order.shape:
            raise ValueError(f"active_count has {active_count.size} values for {lam.size} "
                             "lam values")
        active_count = active_count[order]
    failed = _failed_points(lam, {"activity_ratio": ratio,
                                  "reconstruction_error": reconstruction_error})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.3))
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    if not np.any(ratio > 0):  # every unit silent at every lambda: nothing to scale to
        ax1.set_ylim(0.1 / n_units if n_units else 1e-3, 1.0)
    ax1.plot(lam, ratio, "o-", color="C0", ms=5, label="activity ratio (left axis)")
    if n_units:
        ax1.axhline(1.0 / n_units, color="0.5", ls=":", lw=0.8, label="one unit per stimulus")
    ax1.axhline(0.5, color="0.5", ls="--", lw=0.8, label="half the units")
    if failed.any():
        # on the λ axis of both panels: a NaN point was a gap in the line, unsaid
        for ax in (ax1, ax2):
            ax.plot(lam[failed], np.zeros(int(failed.sum())), "x", color="C3", ms=8, mew=1.5,
                    clip_on=False, zorder=4, transform=ax.get_xaxis_transform(),
                    label="failed point (NaN or inf), on the λ axis")
    ax1.set_xlabel("λ")
    ax1.set_ylabel("fraction of units active per stimulus")
    handles, labels = ax1.get_legend_handles_labels()
    if active_count is not None:
        twin = ax1.twinx()
        # hollow and larger: on the shared scale the squares sit on the circles
        twin.set_yscale("log")
        if not np.any(np.asarray(active_count, dtype=float) > 0):
            twin.set_ylim(np.array(ax1.get_ylim()) * (n_units or 1))
        line, = twin.plot(lam, active_count, "s", ms=9, mfc="none", mec="C1", mew=1.2,
                          zorder=3, label="active units per stimulus (right axis)")
        if n_units:
            # the same scale as the left axis, in units instead of fractions
            twin.set_ylim(np.array(ax1.get_ylim()) * n_units)
        twin.set_ylabel("active units per stimulus", color="C1")
        plain_log_ticks(twin.yaxis)
        handles.insert(1, line)
        labels.insert(1, line.get_label())
    ax1.legend(handles, labels, fontsize=7, loc="lower left")
    ax2.semilogx(lam, reconstruction_error, "o-", color="C3")
    ax2.set_xlabel("λ")
    ax2.set_ylabel("relative error ‖x - Dᵀa‖² / ‖x‖²")
    # plain labels at 1-2-5 (0.2, 0.5): under a decade of lambda matplotlib labelled the
    # minor ticks 2×10⁻¹, 3×10⁻¹, 4×10⁻¹ ..., and they ran into each other
    for axis in (ax1.xaxis, ax1.yaxis, ax2.xaxis):
        plain_log_ticks(axis)
    if classes is not None:
        classes = np.asarray(classes, dtype=str)
        # one band per lambda, from the geometric mean with its lower neighbour to that
        # with its upper one (a factor 1.2 at the ends): one lambda alone got the band
        # [lam / 1.2, lam], ending at its own point, which sat on the axes' right edge
        edges = np.sqrt(lam[1:] * lam[:-1])
        lo = np.concatenate([[lam[0] / 1.2], edges])
        hi = np.concatenate([edges, [lam[-1] * 1.2]])
        for ax in (ax1, ax2):
            for a, b, c in zip(lo, hi, classes):
                color, alpha = _CLASS_SHADES.get(c, ("0.8", 0.12))
                ax.axvspan(a, b, color=color, alpha=alpha, lw=0)
        # the key to the shading, under both panels (inside, it would cover data)
        order = [c for c in _CLASS_SHADES if c in classes]
        order += [c for c in dict.fromkeys(classes) if c not in _CLASS_SHADES]
        to_rgba = plt.matplotlib.colors.to_rgba
        key = []
        for c in order:
            color, alpha = _CLASS_SHADES.get(c, ("0.8", 0.12))
            # the band's own fill, outlined: a faint swatch alone is hard to see
            key.append(Patch(facecolor=to_rgba(color, alpha), edgecolor=color, lw=0.8,
                             label=f"{c}: {_lam_range(lam[classes == c])}"))
        fig.legend(handles=key, loc="lower center", ncol=len(key), fontsize=8,
                   title="shading: code class", title_fontsize=8, frameon=False)
    fig.suptitle(title or "sparseness against reconstruction", fontsize=10)
    fig.tight_layout(rect=(0, 0.1 if classes is not None else 0, 1, 1))
    return fig
