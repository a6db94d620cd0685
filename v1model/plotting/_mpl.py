"""Lazy, headless matplotlib, and the real-valued arrays the plots take."""

import numpy as np

from ..validation import complex_data_error, describe


def pyplot():
    """``matplotlib.pyplot``, imported on first use with the headless Agg backend.

    The backend is switched to Agg unless it is Agg or the inline backend
    already; an interactive backend that is running is left as it is.

    Returns
    -------
    module
        The ``matplotlib.pyplot`` module.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # noqa: BLE001 - an interactive backend is already running
            pass
    import matplotlib.pyplot as plt

    return plt


def as_real(values, name, dtype=float, masked: str = "refuse"):
    """``values`` as a real array of ``dtype``; a TypeError naming ``name`` for
    complex values (numpy would drop the imaginary part with only a warning) and,
    for an integer ``dtype``, for values that are not whole numbers.

    A numpy masked array with masked entries is refused, or its masked entries
    dropped (``masked="drop"``): ``np.asarray`` keeps the values under the mask,
    which were drawn as if they were data.

    Parameters
    ----------
    values : array_like
        Real numeric values, any shape.
    name : str
        Argument name used in error messages.
    dtype : dtype
        Target dtype (default float, i.e. float64).
    masked : {"refuse", "drop"}, default "refuse"
        What a masked array's masked entries do: raise, or leave the result
        (then 1-D) without them, for a plot whose values are a set (a histogram).

    Returns
    -------
    ndarray
        A new array of ``dtype``, of the shape of ``values`` (1-D, the unmasked
        entries in order, when masked entries were dropped).

    Raises
    ------
    TypeError
        For None, complex or non-numeric values, or, for an integer ``dtype``,
        float values that are not whole numbers.
    ValueError
        For a masked array with masked entries, unless ``masked="drop"``.
    """
    if values is None:  # np.asarray(None).astype(float) is NaN: drawn as nothing, unsaid
        raise TypeError(f"{name} must be an array, got None")
    if np.ma.isMaskedArray(values) and np.ma.count_masked(values):
        if masked != "drop":  # drawn in place, they would be plotted as data
            raise ValueError(
                f"{name} is a masked array with {np.ma.count_masked(values)} of "
                f"{np.size(values)} entries masked, which this plot cannot leave out in "
                f"place (np.asarray keeps their values); give the values to draw as a plain "
                f"array")
        values = values.compressed()
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise complex_data_error(name, describe(arr))
    try:
        out = arr.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got an array of {arr.dtype}") from exc
    if np.dtype(dtype).kind in "iu" and arr.dtype.kind == "f" and np.any(out != arr):
        raise TypeError(f"{name} must hold whole numbers (unit indices), got values such as "
                        f"{arr[out != arr].flat[0]!r}")
    return out


def distinct_labels(values, digits: int = 4) -> list[str]:
    """Tick labels that state ``values`` and tell them apart: each value in the fewest
    significant digits (2 to ``digits``) that give it exactly, else to ``digits``;
    more digits for all where two labels would still read alike.

    Parameters
    ----------
    values : array_like of float, shape (n_ticks,)
        The ticked values, finite.
    digits : int, default 4
        The most significant digits of a label, unless two values differ only
        beyond them.

    Returns
    -------
    list of str
        One label per value, e.g. ``["0.0625", "0.12", "0.125", "0.3747"]``
        (``"%.2g"`` gave "0.062", "0.12", "0.12", "0.37").
    """
    values = np.asarray(values, dtype=float).reshape(-1)

    def label(v, most):
        for d in range(2, most + 1):  # 0.1 as "0.1", not "0.1000"
            text = f"{v:.{d}g}"
            if float(text) == v:
                break
        # plain, as the other axes' labels: 100 as "100", not "1e+02"
        plain = 1e-4 <= abs(float(text)) < 1e6
        return np.format_float_positional(float(text), trim="-") if plain else text

    labels = [label(v, digits) for v in values]
    # values alike to `digits` digits (0.12345 and 0.12346): as many as tell them apart
    # (17 give every float64 exactly)
    while len(set(labels)) < len(set(values.tolist())) and digits < 17:
        digits += 1
        labels = [label(v, digits) for v in values]
    return labels


def lone_point_markers(y):
    """Line keywords that draw a dot on each point of ``y`` with no finite neighbour:
    a curve of one point (or one between NaN gaps) is no segment, and a bare line
    draws nothing of it.

    Parameters
    ----------
    y : array_like, shape (n_points,)
        The values of one curve, in the order drawn.

    Returns
    -------
    dict
        ``{"marker": "o", "ms": 3, "markevery": mask}`` when there is such a
        point, else empty.
    """
    finite = np.isfinite(np.asarray(y, dtype=float)).reshape(-1)
    alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
    return {"marker": "o", "ms": 3, "markevery": alone.tolist()} if alone.any() else {}


def plain_log_ticks(axis):
    """Major ticks at 1-2-5 on a log ``axis`` with plain labels (0.002, 200, 1000),
    not 2×10⁻³ mathtext, and no labels on the minor ticks.

    When two neighbouring labels of the 1-2-5 ticks in view would run into each
    other (at 0.6 em a character and 0.3 em between labels across, 1.5 em apart
    up; 0.0005 ... 0.2 across a panel 4 to 5 inches wide) or there are none, the
    major ticks are the decades instead (every few decades on a long axis, as
    matplotlib's own locator): 1-2-5 over 3 decades ran the labels into each
    other, and over more decades than the axis has room for labels it gave no
    tick at all.

    An axis too short for two of the 1-2-5 ticks (spanning less than 2 to 2.5
    times its low end) gets two to four evenly spaced round ticks (steps of 1,
    2, 2.5 or 5 times a power of ten) whose labels fit, instead of
    matplotlib's fallback there, a linear locator that knows nothing of the
    labels' width: ten labels such as 0.000125 ran into each other on
    0.000123 ... 0.00016.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis`` of a log-scaled Axes; changed in place.
    """
    from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

    class PlainLogLocator(LogLocator):
        """1-2-5 ticks while their labels fit along the axis, else decades."""

        def _fits(self, shown, lo, hi):
            """Whether the labels of the ``shown`` ticks keep apart on the axis."""
            if self.axis is None or shown.size < 2 or not lo > 0:
                return True
            across = self.axis.axis_name == "x"
            apart = np.diff(np.log10(shown)) * axis_length_em(self.axis) / np.log10(hi / lo)
            chars = np.array([len(f"{t:g}") for t in shown])
            need = 0.6 * (chars[1:] + chars[:-1]) / 2 + 0.3 if across else 1.5
            return bool(np.all(apart >= need))

        def _short(self, lo, hi):
            """Two to four round, evenly spaced ticks in [lo, hi] whose labels fit
            (the fewest found when none fit)."""
            ticks = np.array([lo, hi])
            for n_bins in range(6, 0, -1):  # the locator's bins reach past the view
                found = MaxNLocator(nbins=n_bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
                found = found[(found >= lo) & (found <= hi)]
                if 2 <= found.size <= 4:
                    ticks = found
                    if self._fits(found, lo, hi):
                        break
            return ticks

        def tick_values(self, vmin, vmax):
            lo, hi = min(vmin, vmax), max(vmin, vmax)
            if lo > 0 and np.isfinite(hi):
                # under two 1-2-5 ticks in view matplotlib falls back to linear ticks,
                # as many as its AutoLocator likes, whatever their labels' width
                k = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
                candidates = (np.array([1.0, 2.0, 5.0])[:, None] * 10.0**k).ravel()
                if np.count_nonzero((candidates >= lo) & (candidates <= hi)) < 2:
                    return self._short(lo, hi)
            self.set_params(subs=(1.0, 2.0, 5.0))
            ticks = super().tick_values(vmin, vmax)
            shown = ticks[(ticks >= lo) & (ticks <= hi)]
            if ticks.size == 0 or not self._fits(shown, lo, hi):
                self.set_params(subs=(1.0,))
                decades = super().tick_values(vmin, vmax)
                # under a decade, the decades would leave the axis without a label
                if ticks.size == 0 or np.count_nonzero((decades >= lo) & (decades <= hi)) >= 2:
                    ticks = decades
            return ticks

    axis.set_major_locator(PlainLogLocator(base=10))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


def axis_length_em(axis) -> float:
    """Length of ``axis`` (``ax.xaxis`` or ``ax.yaxis``) in em of its tick labels' font.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        An axis of an Axes in a figure.

    Returns
    -------
    float
        The Axes' width (x axis) or height (y axis), or the radius of a polar
        Axes (its y axis), divided by the tick labels' font size.
    """
    import matplotlib
    from matplotlib.font_manager import FontProperties

    ax = axis.axes
    # the labels' own size (tick_params(labelsize=7) on the polar radius), else the rc
    # default; get_major_ticks(1) asks no locator (this runs inside one)
    ticks = axis.get_major_ticks(1)
    size = ticks[0].label1.get_fontsize() if ticks else FontProperties(size=matplotlib.rcParams[
        "xtick.labelsize" if axis is ax.xaxis else "ytick.labelsize"]).get_size_in_points()
    if ax.name == "polar" and axis is ax.yaxis:
        # the radial axis: its length on screen from the centre to the outer edge (the
        # half-disc's radius is half the box's width, not the box's height)
        lo, hi = ax.get_ylim()
        ends = ax.transData.transform([(0.0, lo), (0.0, hi)])
        length = float(np.hypot(*(ends[1] - ends[0])))
    else:
        length = ax.bbox.width if axis is ax.xaxis else ax.bbox.height
    return length * 72 / axis.figure.dpi / size


#: width of a digit or minus sign of a tick label, and the least room between two
#: labels across, in em (DejaVu Sans, matplotlib's default font: digits 0.636 em)
DIGIT_EM, LABEL_GAP_EM = 0.64, 0.5


def _labels_across(axis) -> bool:
    """Whether the tick labels of ``axis`` sit side by side along it (an x axis, or the
    radial axis of a polar Axes, labelled along a radius) rather than one above another."""
    return axis is axis.axes.xaxis or axis.axes.name == "polar"


def _room_needed(texts, across) -> np.ndarray:
    """The least distance, in em, between the centres of neighbouring tick labels
    ``texts`` so that they do not run into each other."""
    if not across:
        return np.full(max(len(texts) - 1, 0), 1.5)
    # a decimal point is half a digit wide (0.318 em): counted as one, "0.1" ... "0.5"
    # on a 4.5-inch half-disc fell back to steps of 0.2
    width = np.array([DIGIT_EM * (len(t) - t.count(".") / 2) for t in texts])
    return (width[1:] + width[:-1]) / 2 + LABEL_GAP_EM


def fitting_ticks(axis, integer: bool = False):
    """Round major ticks (steps of 1, 2, 2.5, 5 or 10 times a power of ten), as many
    as keep their labels apart on ``axis``.

    matplotlib's ``MaxNLocator`` places up to 10 bins whatever the axis length and
    label width: on a 4-inch learning-curve panel the labels ran into each other
    ("10001200" at 1,550 updates), and on the radius of a 4.5-inch polar half-disc
    reaching 0.45 cycles/pixel "0.00" ... "0.45" did ("0.000.050.10...").
    Here the number of bins falls from 10 until neighbouring labels, at
    :data:`DIGIT_EM` a character, keep :data:`LABEL_GAP_EM` apart across (1.5 em
    apart up a y axis); one bin at the fewest.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis`` (the radius of a polar Axes); changed in place.
    integer : bool, default False
        Whole numbers only (update counts: no tick at update 0.04).
    """
    from matplotlib.ticker import MaxNLocator

    class FittingLocator(MaxNLocator):
        """``MaxNLocator`` with the most bins whose labels fit."""

        def tick_values(self, vmin, vmax):
            lo, hi = min(vmin, vmax), max(vmin, vmax)
            for n_bins in range(10, 0, -1):
                self.set_params(nbins=n_bins)
                ticks = super().tick_values(vmin, vmax)
                shown = ticks[(ticks >= lo) & (ticks <= hi)]
                if self.axis is None or shown.size < 2 or not hi > lo:
                    return ticks
                apart = np.diff(shown) * axis_length_em(self.axis) / (hi - lo)  # in em
                # the labels as matplotlib's formatter writes them: one number of decimals
                step = float(np.min(np.diff(shown)))
                decimals = next((d for d in range(12) if abs(round(step, d) - step)
                                 <= 1e-9 * step), 12)
                texts = [f"{t:.{decimals}f}" for t in shown]
                if np.all(apart >= _room_needed(texts, _labels_across(self.axis))):
                    break
            return ticks

    # AutoLocator's round steps (MaxNLocator's own default adds 1.5, 3, 4, 6 and 8)
    axis.set_major_locator(FittingLocator(integer=integer, steps=[1, 2, 2.5, 5, 10]))


def fitting_fixed_labels(axis, values, labels):
    """Major ticks at ``values``, each labelled by ``labels`` where there is room.

    Every value keeps its tick; at draw time a label is left blank when it would run
    into the last one kept, from the lowest value up (at :data:`DIGIT_EM` a
    character and :data:`LABEL_GAP_EM` between labels across, 1.5 em up). Eight
    tested frequencies labelled to 4 digits ("0.08333", "0.106", ...) ran into each
    other on a 4-inch log axis.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis`` (linear or log); changed in place.
    values : array_like of float, shape (n,)
        The tick positions, finite, in increasing order.
    labels : sequence of str, shape (n,)
        The label of each tick.
    """
    from matplotlib.ticker import FixedLocator, Formatter

    values = np.asarray(values, dtype=float).reshape(-1)
    labels = list(labels)

    class FittingFixedFormatter(Formatter):
        """``labels`` at ``values``, blank where a label would meet its neighbour."""

        def format_ticks(self, locs):
            shown = [labels[int(np.argmin(np.abs(values - v)))] for v in locs]
            if self.axis is None or len(locs) < 2:
                return shown
            # positions along the axis in em, through its scale (log or linear)
            scaled = self.axis.get_transform().transform(np.asarray(locs, dtype=float))
            lo, hi = self.axis.get_transform().transform(np.array(
                sorted(self.axis.get_view_interval())))
            if not np.isfinite([lo, hi]).all() or not hi > lo:
                return shown
            at = (scaled - lo) / (hi - lo) * axis_length_em(self.axis)
            across = _labels_across(self.axis)
            kept = None
            out = []
            for i in np.argsort(at, kind="stable"):
                if kept is None or at[i] - at[kept] >= _room_needed(
                        [shown[kept], shown[i]], across)[0]:
                    kept = i
                    out.append((i, shown[i]))
                else:
                    out.append((i, ""))
            return [text for _, text in sorted(out)]

        def __call__(self, x, pos=None):
            return labels[int(np.argmin(np.abs(values - x)))]

    axis.set_major_locator(FixedLocator(values))
    axis.set_major_formatter(FittingFixedFormatter())


def whole_number_ticks(axis):
    """Major ticks at whole numbers (update counts: no tick at update 0.04), as many
    as keep their labels apart on ``axis`` (:func:`fitting_ticks`).

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis``; changed in place.
    """
    fitting_ticks(axis, integer=True)
