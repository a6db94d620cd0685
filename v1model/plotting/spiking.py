"""Figures of spiking networks: rasters, rates against reference codes,
convergence in simulated time, firing-rate distributions and learned
inhibition against receptive-field overlap."""

from __future__ import annotations

import numpy as np

from ..analysis._common import pearson_r
from ..validation import (by_dim_names, check_array, check_int, check_nonnegative,
                          check_positive, code_dims, label_positions)
from ._mpl import as_real, lone_point_markers, plain_log_ticks, pyplot

__all__ = [
    "plot_raster",
    "plot_code_scatter",
    "plot_error_vs_time",
    "plot_rate_distribution",
    "plot_inhibition_vs_overlap",
]


def _correlation_text(x, y, x_name, y_name, digits, label="r"):
    """``"{label} = 0.53"`` for a title, or why the correlation is undefined: a
    variable without spread (e.g. two pairs of identical overlap) drew "r = nan".
    ``x`` and ``y`` are finite 1-D arrays of one length."""
    corr = pearson_r(x, y)
    if np.isfinite(corr):
        return f"{label} = {corr:.{digits}f}"
    flat = [name for name, v in ((x_name, x), (y_name, y)) if np.ptp(v) == 0]
    return f"r undefined: no spread in {' and '.join(flat) or 'the values'}"


def _axes(ax, size=(4.5, 3.5)):
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def plot_raster(spike_time, spike_unit, n_units=None, order=None, t_max=None, ax=None,
                title=None, ylabel="unit", transient=None, labels=None):
    """Spike raster: one dot per spike, time (s) against unit.

    Parameters
    ----------
    spike_time : array_like, shape (n_spikes,)
        Spike times in seconds.
    spike_unit : array_like of int (or of labels), shape (n_spikes,)
        Index of the unit that fired each spike, in ``[0, n_units)``, or with
        ``labels`` its label. Either may be a DataArray over ``spike`` (as
        :func:`v1model.spiking.spiking_lca`'s ``spike_time`` and ``spike_atom``;
        any other dims are refused); when both label their spikes (a ``spike``
        coordinate), they are paired by label.
    n_units : int, optional
        Number of rows (default: ``len(labels)``, else ``len(order)``, else the
        largest unit + 1).
    order : array_like of int, optional
        Row order, e.g. units sorted by rate: ``order[0]`` is drawn at the top,
        and the unit axis counts ranks from the top (0, 1, ...).
    t_max : float, optional
        Right edge of the time axis, in seconds (default: the last spike, or
        1 s when there is none or every spike is at 0).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    title : str, optional
        Axes title.
    ylabel : str
        Label of the unit axis (default "unit").
    transient : float, optional
        End of the transient in seconds (``transient_fraction * duration`` of
        a spiking run): ``[0, transient)`` is shaded and labelled as not
        counted in the rates.
    labels : array_like, shape (n_units,), optional
        The units' labels in row order, unique: ``spike_unit`` holds labels, each
        spike drawn on its label's row. :func:`v1model.spiking.spiking_lca`'s
        ``spike_atom`` holds the labels of its ``atom`` coordinate (atoms 5, 9, 1
        of a subset of ``D``), so ``plot_raster(ds.spike_time, ds.spike_atom,
        labels=ds.atom)`` draws atom 9 on row 1, as the run of the plain arrays
        draws its atom 1. ``order`` and the unit axis still count rows.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    TypeError
        For complex or non-numeric spike arrays, non-integer unit indices, or a
        non-integer ``n_units``.
    ValueError
        When ``order`` does not list ``n_units`` units, for non-finite spike
        times, a ``t_max`` that is not a positive finite number, ``n_units < 1``,
        a negative ``transient``, spike arrays of more than one dimension, a
        DataArray over other dims than ``spike``, or spike labels that differ
        between ``spike_time`` and ``spike_unit``; with ``labels``, a spike's unit
        that is not among them, or repeated labels.
    """
    # read by position, a DataArray (spike, sample) was drawn flattened and spike labels
    # in another order paired each time with another spike's unit, unsaid
    spike_time, spike_unit = (by_dim_names(value, ("spike",), name, strict=True)
                              for value, name in ((spike_time, "spike_time"),
                                                  (spike_unit, "spike_unit")))
    t = as_real(spike_time, "spike_time")
    spike_unit = _units_by_spike_label(spike_time, spike_unit)
    if labels is not None:  # labels as positions drew atoms 5, 9, 1 on rows 5, 9 and 1
        spike_unit, n_labels = _rows_of_labels(spike_unit, labels)
        n_units = n_labels if n_units is None else n_units
    u = as_real(spike_unit, "spike_unit", dtype=int)
    if t.ndim > 1:  # drawn flattened, each row's spikes beside the next row's
        raise ValueError(f"spike_time and spike_unit must be 1-D (one entry per spike), got "
                         f"shape {t.shape}")
    if t.shape != u.shape:  # matplotlib's "x and y must be the same size"
        raise ValueError(f"spike_time and spike_unit must have one shape (one unit per "
                         f"spike), got {t.shape} and {u.shape}")
    if not np.all(np.isfinite(t)):  # matplotlib's "Axis limits cannot be NaN or Inf"
        raise ValueError(f"spike_time contains {int(np.sum(~np.isfinite(t)))} non-finite "
                         "value(s) (NaN or inf)")
    if t_max is not None:  # NaN, "1" or an array failed inside matplotlib
        t_max = check_positive(t_max, "t_max")
    if n_units is None:  # every unit the order lists, silent ones included
        n_units = len(order) if order is not None else (u.max() + 1 if u.size else 1)
    else:  # int() truncated 2.5 and failed on NaN with a message that named nothing
        n_units = check_int(n_units, "n_units", minimum=1)
    n_units = int(n_units)
    if order is not None and len(order) != n_units:
        raise ValueError(f"order lists {len(order)} units but n_units={n_units}: give one "
                         "row per unit")
    if u.size and (u.min() < 0 or u.max() >= n_units):
        # -1 was drawn on the last row (another unit's), n_units too small failed in numpy
        bad = u[(u < 0) | (u >= n_units)][0]
        raise ValueError(f"spike_unit holds unit {int(bad)}, outside 0 ... {n_units - 1} "
                         f"(n_units={n_units})")
    row = np.arange(n_units)
    if order is not None:  # rank r on row r, counted from the top
        order = as_real(order, "order", dtype=int).reshape(-1)
        if not np.array_equal(np.sort(order), np.arange(n_units)):
            # a repeated unit left another's row uninitialised (np.empty): spikes drawn on
            # arbitrary rows
            raise ValueError(f"order must list every unit 0 ... {n_units - 1} once (a "
                             f"permutation), got {order.tolist()[:20]!r}")
        row = np.empty(n_units, dtype=int)
        row[order] = np.arange(n_units)
    fig, ax = _axes(ax, (6, 3.5))
    if transient is not None:
        transient = float(transient)
        if not np.isfinite(transient) or transient < 0:
            raise ValueError(f"transient must be a time >= 0 in seconds, got {transient!r}")
        if transient > 0:
            ax.axvspan(0, transient, color="0.88", zorder=0,
                       label=f"transient, not counted (first {transient * 1e3:g} ms)")
            # lower right: a rate-ordered raster's silent rows ("best" is slow over spikes)
            ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    ax.scatter(t, row[u], s=max(4.0, 400.0 / n_units), marker="|", color="k", linewidths=0.8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if t_max is None:  # spikes at t = 0 only gave xlim (0, 0): matplotlib's "singular" warning
        t_max = t.max() if t.size and t.max() > 0 else 1
    ax.set_xlim(0, t_max)
    ax.set_ylim((n_units - 0.5, -0.5) if order is not None else (-0.5, n_units - 0.5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def _rows_of_labels(spike_unit, labels):
    """``spike_unit`` (labels) as rows of ``labels`` (the units' labels in row order),
    and the number of rows; a ValueError for repeated labels or a unit not among them."""
    rows = np.asarray(getattr(labels, "values", labels))
    if rows.ndim != 1 or len(np.unique(rows)) != rows.size:
        raise ValueError(f"labels must be the units' labels in row order, 1-D and unique, "
                         f"got {rows.tolist()[:20]!r}")
    units = np.asarray(getattr(spike_unit, "values", spike_unit))
    found = label_positions(units, rows).reshape(units.shape)
    if np.any(found < 0):
        missing = units.reshape(-1)[found.reshape(-1) < 0].tolist()
        raise ValueError(f"spike_unit holds unit {missing[0]!r}, not among labels "
                         f"{rows.tolist()[:20]!r}")
    return found, rows.size


def _units_by_spike_label(spike_time, spike_unit):
    """``spike_unit`` in the order of ``spike_time``'s ``spike`` labels when both are
    DataArrays labelling their spikes (``spike_unit`` as given otherwise); a ValueError
    when their labels are not the same spikes."""
    times, units = (getattr(v, "indexes", {}).get("spike") for v in (spike_time, spike_unit))
    if times is None or units is None or times.equals(units):
        return spike_unit
    if not (times.is_unique and units.is_unique and len(times) == len(units)
            and times.isin(units).all()):
        raise ValueError(f"spike_time and spike_unit label different spikes (spike "
                         f"coordinates {times.tolist()[:5]}... and {units.tolist()[:5]}...): "
                         "give the time and the unit of the same spikes")
    return spike_unit.sel(spike=times)


def _paired_axes(code, reference):
    """``code`` and ``reference`` with their axes in one order, by their dims' names: a
    reference DataArray in a DataArray code's order; with one side a DataArray, that
    side in (sample, atom) order (:func:`~v1model.validation.code_dims`), the order a
    plain array's axes are read in. Square codes (samples, atoms) against a DataArray
    transposed to (atom, sample) had no shape to tell them apart and paired other
    values: r = 0.133 and a relative error of 106% for codes 1.4% apart, unsaid."""
    if hasattr(code, "dims") and hasattr(reference, "dims"):
        return code, by_dim_names(reference, code.dims, "reference")
    return (by_dim_names(code, code_dims(code), "code"),
            by_dim_names(reference, code_dims(reference), "reference"))


def plot_code_scatter(code, reference, ax=None, xlabel="reference code", ylabel="code",
                      title=None, lims=None):
    """Scatter of codes against a reference with the identity line; correlation
    and relative error ``|code - ref| / |ref|`` in the title.

    ``lims`` = (lo, hi), when given, is the range of both axes (so that panels
    side by side compare at a glance); by default the data's range, from 0.

    Parameters
    ----------
    code : array_like
        Codes, any shape (flattened), e.g. ``(n_samples, n_units)``; the y axis.
    reference : array_like
        Reference codes (e.g. LASSO), as many values as ``code`` and in the
        same units and order (flattened); the x axis. Of ``code``'s shape when
        both have two or more axes. The axes are paired by name where they
        have names: a DataArray reference over ``code``'s dims in another
        order (``(atom, sample)``) is read in a DataArray ``code``'s order;
        when only one of the two is a DataArray, it is read as ``(sample,
        atom)`` by its dims (``(time, atom)`` for codes over time), the order
        in which the plain array's axes are taken (for square codes no shape
        tells a transposed plain array apart: pass it in that order).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    xlabel : str
        Label of the x axis (default "reference code").
    ylabel : str
        Label of the y axis (default "code").
    title : str, optional
        First line of the axes title, above the correlation (or "r undefined:
        no spread in code" for constant codes) and relative error.
    lims : tuple of float, optional
        ``(lo, hi)``, the range of both axes, in the codes' units (padded by
        4% of ``hi - lo`` on each side).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).
    """
    # finite and not empty: numpy's "zero-size array to reduction operation" named
    # nothing, and a NaN drew the figure with r = nan in its title
    code, reference = _paired_axes(code, reference)
    a, r = check_array(code, "code"), check_array(reference, "reference")
    if a.ndim > 1 and r.ndim > 1 and a.shape != r.shape:
        # flattened, (samples, atoms) against its transpose paired other values: r = 0.1
        # and a relative error of 111% for codes 1.5% apart, unsaid
        plain, rule = "reference", ""
        if hasattr(code, "dims") != hasattr(reference, "dims"):  # one side labelled
            labelled = code if hasattr(code, "dims") else reference
            plain = "reference" if labelled is code else "code"
            rule = f"a plain array is read as ({', '.join(code_dims(labelled))}): "
        raise ValueError(f"code and reference must have the same shape, got {a.shape} and "
                         f"{r.shape}; {rule}pass {plain}.T if it is the transpose (or "
                         f"either one flattened)")
    a, r = a.ravel(), r.ravel()
    if a.size != r.size:  # matplotlib's "x and y must be the same size"
        raise ValueError(f"code and reference must hold as many values, got {a.size} and "
                         f"{r.size}")
    if lims is not None:  # NaN failed inside matplotlib, 3 values in unpacking
        lims = check_array(lims, "lims", ndim=1)
        if lims.shape != (2,) or not lims[0] <= lims[1]:
            raise ValueError(f"lims must be (lo, hi) with lo <= hi, got {lims.tolist()!r}")
    fig, ax = _axes(ax, (3.8, 3.6))
    ax.scatter(r, a, s=3, alpha=0.4, color="C0", linewidths=0)
    if lims is None:
        lo, hi = min(a.min(), r.min(), 0.0), max(a.max(), r.max(), 1e-12)
    else:
        lo, hi = float(lims[0]), float(lims[1])
        pad = 0.04 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", lw=0.8)
    corr = _correlation_text(r, a, "reference", "code", 3)
    err = np.linalg.norm(a - r) / max(np.linalg.norm(r), 1e-12)
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}{corr}, rel. error = {err:.1%}", fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def plot_error_vs_time(curves, ax=None, target=None, title=None):
    """Relative error against simulated time (log-log), one curve per entry.

    Parameters
    ----------
    curves : dict
        label -> (time in s, relative error); a scalar error draws a
        horizontal line. Time and error are arrays of one shape, e.g.
        ``(n_times,)``; the error is a fraction (0.05 = 5%).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    target : float, optional
        Draw a dotted horizontal line at this error (e.g. 0.05), labelled as
        a percentage.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    TypeError
        When ``curves`` is not a dict, or for complex or non-numeric times or errors.
    ValueError
        For an entry that is not a pair of one shape, or has no point, NaN, inf or
        negative errors, times that are not finite and > 0, a ``target`` that is not
        positive, or no curve and no ``target`` (nothing to draw).
    """
    from collections.abc import Mapping

    # None or a list failed in .items(), a 1-tuple in unpacking and unpaired times and
    # errors inside matplotlib ("x and y must have same first dimension")
    if not isinstance(curves, Mapping):
        raise TypeError(f"curves must be a dict of label -> (time, error), got "
                        f"{type(curves).__name__}")
    if not curves and target is None:  # blank axes and matplotlib's "No artists" warning
        raise ValueError("curves is empty and no target is given: nothing to draw; give "
                         "at least one label -> (time, error)")
    checked = {}
    for label, pair in curves.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"curves[{label!r}] must be a pair (time, error), got "
                             f"{type(pair).__name__} of length {np.size(pair)}")
        err = as_real(pair[1], f"curves[{label!r}] error")
        t = None if err.ndim == 0 else as_real(pair[0], f"curves[{label!r}] time")
        if t is not None and t.shape != err.shape:
            raise ValueError(f"curves[{label!r}]: time and error must have one shape, got "
                             f"{t.shape} and {err.shape}")
        if err.size == 0:  # a legend entry with no line, unsaid
            raise ValueError(f"curves[{label!r}] has no point (time and error of shape "
                             f"{err.shape}); leave the entry out")
        # the log axes left out NaN, inf, negative errors and times <= 0 without a word
        # (a curve of NaN errors was a legend entry with no line)
        for what, values, bad in (("error", err, ~(np.isfinite(err) & (err >= 0))),
                                  ("time", t, None if t is None else ~(np.isfinite(t) & (t > 0)))):
            if bad is not None and bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"curves[{label!r}] {what} must be finite and "
                                 f"{'> 0' if what == 'time' else '>= 0'} (log axes), got "
                                 f"{float(values.ravel()[i])!r} at flat index {i}")
        checked[label] = (t, err)
    if target is not None:
        target = check_positive(target, "target")
    fig, ax = _axes(ax, (4.8, 3.6))
    for i, (label, (t, err)) in enumerate(checked.items()):
        if err.ndim == 0:
            ax.axhline(float(err), color=f"C{i}", ls="--", lw=1, label=label)
        else:
            # a curve of one time (spiking-lca shorter than 10 ms) is a dot, not nothing
            ax.loglog(t, err, "-", color=f"C{i}", lw=1.4, label=label,
                      **(lone_point_markers(err) if err.ndim == 1 else {}))
    if target is not None:
        ax.axhline(target, color="0.5", ls=":", lw=1, label=f"{target:.0%}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # plain labels: under two decades of time, matplotlib labelled the minor ticks
    # 2×10⁻³, 3×10⁻³, ... and they ran into each other
    for axis in (ax.xaxis, ax.yaxis):
        plain_log_ticks(axis)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("relative error vs LASSO")
    # the errors fall from the upper left: an explicit place, not a "best" search over
    # every time point of long curves
    ax.legend(fontsize=8, loc="lower left")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_rate_distribution(unit_rates, counts=None, target=None, unit="spikes/image",
                           title=None):
    """Firing-rate distribution: mean rate of each unit (left) and, if given,
    the distribution of spike counts per unit and stimulus (right, log scale:
    the fraction of all (unit, stimulus) pairs with each count).

    Parameters
    ----------
    unit_rates : array_like, shape (n_units,)
        Mean rate of each unit, in ``unit`` (any shape is flattened);
        histogrammed in 30 bins.
    counts : array_like of int, shape (n_stimuli, n_units), optional
        Spike counts per stimulus and unit (flattened): non-negative whole
        numbers, of any numeric dtype. Adds the right-hand panel.
    target : float, optional
        Target rate, in ``unit``, drawn as a dashed vertical line (e.g.
        SAILnet's target firing rate p).
    unit : str
        Unit of the rates, for the x label (default "spikes/image").
    title : str, optional
        Figure title (default: none).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure of one panel, or two with ``counts``.

    Raises
    ------
    TypeError
        For None, complex or non-numeric ``unit_rates`` or ``counts``, or a
        ``target`` that is not a real number.
    ValueError
        For empty, NaN or inf rates, ``counts`` that are empty or not
        non-negative whole numbers (the first one named by its index), or a
        ``target`` that is not a non-negative finite number.
    """
    rates = as_real(unit_rates, "unit_rates").ravel()
    if rates.size == 0:  # an empty histogram under the labels of a rate distribution
        raise ValueError(f"unit_rates is empty (shape {np.shape(unit_rates)}): give the mean "
                         "rate of each unit")
    if target is not None:
        # "0.05" failed in the legend's format ("Unknown format code 'g'"), naming nothing,
        # and NaN drew no line under a "target p = nan" legend
        target = check_nonnegative(target, "target")
    if not np.all(np.isfinite(rates)):  # all NaN failed in np.histogram, naming nothing
        i = int(np.flatnonzero(~np.isfinite(rates))[0])
        raise ValueError(f"unit_rates contains {int(np.sum(~np.isfinite(rates)))} non-finite "
                         f"value(s) (NaN or inf), the first at index {i} ({float(rates[i])!r})")
    if counts is not None:
        # a NaN count was cast to -9223372036854775808 (a point far off the axis), 1.7
        # to 1, and an empty array failed in max() with NumPy's message
        c = as_real(counts, "counts").ravel()
        if c.size == 0:
            raise ValueError(f"counts is empty (shape {np.shape(counts)}): give the spike "
                             "counts per stimulus and unit, or counts=None")
        bad = ~np.isfinite(c) | (c < 0) | (c != np.round(c))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"counts must be non-negative whole numbers of spikes, got "
                             f"{float(c[i])!r} at flat index {i} ({int(bad.sum())} such value(s))")
    plt = pyplot()
    n_panels = 2 if counts is not None else 1
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.4), squeeze=False)
    ax = axes[0, 0]
    ax.hist(rates, bins=30, color="C0", alpha=0.8)
    if rates.size and np.nanmin(rates) >= 0:  # all silent: hist spans -0.5 to 0.5
        ax.set_xlim(left=0)
    if target is not None:
        ax.axvline(target, color="C3", ls="--", lw=1, label=f"target p = {target:g}")
        ax.legend(fontsize=8)
    ax.set_xlabel(f"mean rate per unit ({unit})")
    ax.set_ylabel("units")
    if counts is not None:
        c = c.astype(np.int64)
        values, freq = np.unique(c, return_counts=True)
        axes[0, 1].semilogy(values, freq / c.size, "o-", ms=3)
        # counts are whole and non-negative: one value (all 0) spanned -0.05 to 0.05
        axes[0, 1].set_xlim(-0.5, max(int(values.max()), 1) + 0.5)
        axes[0, 1].set_xlabel("spikes per unit per stimulus")
        # counts is (stimulus, unit): each point is a share of all unit-stimulus pairs
        axes[0, 1].set_ylabel("fraction of unit–stimulus pairs")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


#: What SAILnet's W_ij is: subtracted from unit i's input drive Q x per spike of unit j,
#: so it is in the units of that drive and of the threshold theta.
INHIBITION_LABEL = ("inhibitory weight W_ij\n(drive removed from i per spike of j,\n"
                    "units of Q·x and θ)")


def pair_marker(n_pairs):
    """Marker area and opacity of the dots of a scatter of ``n_pairs`` pairs.

    Area ``4000 / n_pairs`` within [1, 16] pt² and opacity ``1200 / n_pairs``
    within [0.15, 0.8]: specks at opacity 0.15 from 8,000 pairs up (the cloud
    of a large network, 128 units and more, where single pairs do not
    matter), opacity 0.3 for the 4,032 pairs of 64 units, and dots 4 pt
    across at opacity 0.8 for 250 pairs or fewer, so that every pair of a
    small network (56 for 8 units) is seen.

    Parameters
    ----------
    n_pairs : int
        Number of dots drawn.

    Returns
    -------
    size : float
        Marker area in points² (matplotlib's ``s``).
    alpha : float
        Marker opacity in [0.15, 0.8].
    """
    n_pairs = max(int(n_pairs), 1)
    return float(np.clip(4000 / n_pairs, 1.0, 16.0)), float(np.clip(1200 / n_pairs, 0.15, 0.8))


#: Dims of the pair matrices of :func:`plot_inhibition_vs_overlap`: the unit acted on,
#: then the one acting (those of :func:`v1model.spiking.learn_sailnet`'s ``W``)
PAIR_DIMS = ("neuron", "neuron_pre")

#: Narrowest span of the overlap axis of :func:`plot_inhibition_vs_overlap`
#: (cosine): overlaps closer than this are shown centred on it.
OVERLAP_MIN_SPAN = 0.1


def plot_inhibition_vs_overlap(W, overlap, ax=None, n_bins=20, title=None, ylabel=None):
    """Learned lateral weight ``W[i, j]`` against the overlap of the two
    units' receptive fields (off-diagonal pairs), with binned means.

    The overlap axis spans at least :data:`OVERLAP_MIN_SPAN` (0.1), centred
    on the overlaps when they are closer than that (e.g. the single overlap
    of 2 units), with at most 6 ticks.

    ``ylabel`` (default :data:`INHIBITION_LABEL`, SAILnet's units) names the
    weight axis. The pairs' dots are scaled with their number (see
    :func:`pair_marker`): specks for a large network, dots every one of which
    is seen for a small one.

    Parameters
    ----------
    W : array_like, shape (n_units, n_units)
        Lateral weights; ``W[i, j]`` (the effect of unit j on unit i) is in the units
        of the input drive (see :data:`INHIBITION_LABEL`). The diagonal is ignored.
    overlap : array_like, shape (n_units, n_units)
        Overlap of the receptive fields of units i and j, a cosine in [-1, 1]
        (e.g. from :func:`v1model.spiking.sailnet.rf_overlap`).

        Either may be a DataArray over (``neuron``, ``neuron_pre``) in any order
        (as :func:`v1model.spiking.learn_sailnet`'s ``ds["W"]``), read by dim name;
        any other dims are refused.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    n_bins : int
        Number of equal-width overlap bins for the binned means (default 20).
    title : str, optional
        First line of the axes title, above the Pearson correlation (or
        "r undefined: no spread in overlap" when all pairs have one overlap,
        or one weight).
    ylabel : str, optional
        Label of the weight axis (default :data:`INHIBITION_LABEL`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    TypeError
        For complex or non-numeric ``W`` or ``overlap``.
    ValueError
        When ``W`` and ``overlap`` are not square matrices of one shape over
        at least 2 units, hold NaN or inf off the diagonal, or are DataArrays
        over other dims than (``neuron``, ``neuron_pre``).
    """
    # read by position, W (neuron_pre, neuron) drew W[j, i] against the overlap of i and
    # j, unsaid (W is not symmetric)
    W = as_real(by_dim_names(W, PAIR_DIMS, "W", strict=True), "W")
    overlap = as_real(by_dim_names(overlap, PAIR_DIMS, "overlap", strict=True), "overlap")
    if W.ndim != 2 or W.shape[0] < 2 or W.shape != overlap.shape:
        raise ValueError(f"W and overlap must be square matrices of one shape over at least 2 "
                         f"units (pairs to plot), got shapes {W.shape} and {overlap.shape}")
    from ..validation import check_int

    n_bins = check_int(n_bins, "n_bins", minimum=1)  # 2.5 failed inside np.linspace
    off = ~np.eye(W.shape[0], dtype=bool)
    x, y = overlap[off], W[off]
    for name, values in (("W", y), ("overlap", x)):
        # a NaN pair drew no binned mean and "Pearson r = nan", without a word
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            i, j = (int(v) for v in np.argwhere(off)[k])
            raise ValueError(f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or "
                             f"inf) off the diagonal, the first at index ({i}, {j}) "
                             f"({float(values[k])!r})")
    fig, ax = _axes(ax, (4.5, 3.6))
    # faint specks suit tens of thousands of pairs (256 units) but left the 56 pairs of
    # 8 units invisible: bigger, darker dots as the pairs get fewer
    size, alpha = pair_marker(x.size)
    ax.scatter(x, y, s=size, alpha=alpha, color="0.3", linewidths=0, rasterized=True)
    edges = np.linspace(x.min(), x.max(), n_bins + 1)
    idx = np.clip(np.digitize(x, edges) - 1, 0, n_bins - 1)
    means = np.array([y[idx == b].mean() if np.any(idx == b) else np.nan for b in range(n_bins)])
    ax.plot(0.5 * (edges[1:] + edges[:-1]), means, "o-", color="C3", ms=3, label="binned mean")
    corr = _correlation_text(x, y, "overlap", "W", 2, label="Pearson r")
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}{corr}", fontsize=9)
    ax.set_xlabel("receptive-field overlap (cosine)")
    ax.set_ylabel(INHIBITION_LABEL if ylabel is None else ylabel)
    # nearly equal overlaps (2 units: one overlap) zoomed the axis in on them, and its
    # many ticks of 4-5 decimals (-0.1675, -0.1650, ...) ran into each other: show at
    # least OVERLAP_MIN_SPAN, with few ticks at steps of 1, 2 or 5 (short labels)
    from matplotlib.ticker import MaxNLocator

    lo, hi = ax.get_xlim()
    if hi - lo < OVERLAP_MIN_SPAN:
        mid = 0.5 * (x.min() + x.max())
        ax.set_xlim(mid - OVERLAP_MIN_SPAN / 2, mid + OVERLAP_MIN_SPAN / 2)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    # an explicit place: "best" would search among all n² pairs (slow for hundreds of
    # units); inhibition grows with overlap, so the upper left is the emptier corner
    ax.legend(fontsize=8, loc="upper left")
    return fig
