"""Figures of dictionaries and of learning: atom grids, learning curves,
coefficient histograms."""

from __future__ import annotations

import math
import textwrap
import warnings
from fractions import Fraction

import numpy as np

from .._frames import user_stacklevel
from ._mpl import as_real, lone_point_markers, pyplot, whole_number_ticks


def atom_images(D, patch_shape=None):
    """Reshape a dictionary (n_atoms, n_features) or (n_atoms, h, w) to images.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, h, w)
        Dictionary, one atom per row; a 3-D array is already images and is
        returned as it is (as a float array). A DataArray with dims (atom, y,
        x) or (atom, feature) is read by name, in any order; one with dims (y,
        x) alone is one atom (``dictionary.isel(atom=0)``). A
        :class:`~v1model.network.SparseCodingNetwork`, or the Dataset it saves
        (a ``dictionary`` over (atom, y, x)), gives its atoms in its own
        ``patch_shape``.
    patch_shape : tuple of int, optional
        ``(h, w)`` in pixels, with ``h * w == n_features`` (default: a square
        patch of side ``sqrt(n_features)``; for images, a network or a saved
        network, their own, which a ``patch_shape`` given must equal).

    Returns
    -------
    ndarray of float, shape (n_atoms, h, w)
        The atoms as images.

    Raises
    ------
    TypeError
        For complex or non-numeric ``D``, or a Dataset with no ``dictionary``.
    ValueError
        When ``patch_shape`` is not given and ``n_features`` is not a perfect
        square, or differs from the images' own.
    """
    from ..validation import atoms_by_dim_names, check_int

    D = as_real(atoms_by_dim_names(_one_atom_image(_network_atoms(D)), "D"), "D")
    if D.ndim not in (2, 3):  # numpy's "not enough values to unpack" named nothing
        raise ValueError(f"D must be atoms (n_atoms, n_features) or images (n_atoms, h, w), "
                         f"got shape {D.shape}; pass one atom as D[None]")
    if D.size == 0:  # no atoms: the grid's ceil(sqrt(0)) = 0 columns divided by zero
        raise ValueError(f"D must hold at least one atom with at least one pixel, got shape "
                         f"{D.shape}")
    if D.ndim == 3:
        if patch_shape is not None and tuple(np.atleast_1d(patch_shape)) != D.shape[1:]:
            # ignored before: the images' own shape was drawn whatever was asked
            raise ValueError(f"patch_shape={patch_shape!r} differs from the atoms' own "
                             f"{D.shape[1:]} (D shape {D.shape}, already images)")
        return D
    n, p = D.shape
    if patch_shape is None:
        side = int(round(np.sqrt(p)))
        if side * side != p:
            row_side = int(round(np.sqrt(n)))
            # one atom per column (a PyTorch decoder's weight): patch_shape would not help
            hint = ("; or, if D holds one atom per column (n_features, n_atoms), pass D.T"
                    if row_side * row_side == n else "")
            # one atom as an image (h, w) is read as h atoms of w features
            hint += "; or, if D is one atom as an image (h, w), pass D[None]"
            raise ValueError(
                f"atoms have {p} features (D shape {D.shape}), which is not a square patch; "
                f"pass patch_shape{hint}"
            )
        patch_shape = (side, side)
    # int() truncated: (4.5, 4.5) drew 16 features as 4 x 4, and NaN failed in int()
    try:
        shape = tuple(check_int(v, "patch_shape", minimum=1)
                      for v in np.atleast_1d(np.asarray(patch_shape, dtype=object)))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"patch_shape must be (h, w), two positive integers, got "
                        f"{patch_shape!r}") from exc
    if len(shape) != 2 or shape[0] * shape[1] != p:
        hint = (": D looks transposed (n_features, n_atoms); atoms are rows here, pass D.T"
                if len(shape) == 2 and shape[0] * shape[1] == n else "")
        raise ValueError(f"patch_shape={patch_shape!r} must be (h, w) with h * w = {p}, the "
                         f"features of each atom (D shape {D.shape}){hint}")
    return D.reshape(n, *shape)


def _one_atom_image(D):
    """A DataArray over ("y", "x") alone (``dictionary.isel(atom=0)``) as one atom,
    over ("atom", "y", "x"); ``D`` itself otherwise. Read as a plain 2-D array, its
    rows were taken for atoms: "atoms have 8 features (D shape (8, 8)), which is not a
    square patch; pass patch_shape", advice that could not help."""
    import xarray as xr

    if isinstance(D, xr.DataArray) and set(D.dims) == {"y", "x"}:
        return D.expand_dims("atom")
    return D


def _network_atoms(D):
    """The atoms (atom, y, x) of a SparseCodingNetwork or of the Dataset it saves;
    ``D`` itself otherwise. A network's rows drawn as square patches were wrong images
    for its non-square ``patch_shape`` (64 pixels of 4x16 drawn as 8x8, unsaid), and
    ``plot_atoms(net)`` failed with "D must be numeric, got an array of object"."""
    import xarray as xr

    from ..network import SparseCodingNetwork

    if isinstance(D, SparseCodingNetwork):
        D = D.to_dataset()  # a RuntimeError for a network with no dictionary yet
    if isinstance(D, xr.Dataset):
        if "dictionary" not in D:
            raise TypeError(f"D must be atoms (an array or a DataArray) or a saved network "
                            f"(a Dataset with a 'dictionary'), got a Dataset with the "
                            f"variables {sorted(map(str, D.data_vars))}; pass one of them")
        return D["dictionary"]
    return D


#: widest grid (columns over rows) that :func:`grid_columns` takes to leave no cell empty
GRID_MAX_ASPECT = Fraction(4, 3)  # exact: 192 atoms are 16 x 12 at 4/3 itself


def grid_columns(n):
    """Columns of a near-square grid of ``n`` cells: no empty cell when ``n`` allows it.

    ``ceil(sqrt(n))`` when that divides ``n`` (256 -> 16 x 16, 12 -> 3 x 4);
    else the smallest divisor of ``n`` above ``sqrt(n)`` whose grid is at most
    :data:`GRID_MAX_ASPECT` as wide as high (192 -> 12 rows of 16, as Olshausen
    & Field's 1996 figure: ``ceil(sqrt(192)) = 14`` left 4 cells empty); else
    ``ceil(sqrt(n))`` (10 -> 4 columns of 3 rows, not a 2 x 5 strip).

    Parameters
    ----------
    n : int
        Number of cells, >= 1.

    Returns
    -------
    int
        Columns of the grid; its rows are ``ceil(n / columns)``.
    """
    square = int(np.ceil(np.sqrt(n)))
    for cols in range(square, math.isqrt(int(n * GRID_MAX_ASPECT)) + 1):
        if n % cols == 0:
            return cols
    return square


def tile_atoms(D, patch_shape=None, n_cols=None, pad=1, normalize="each", nan_atoms="warn"):
    """Arrange atoms in one image with a grey border, as in Olshausen & Field's figures.

    Each atom is scaled so that its largest absolute value maps to +-1
    (``normalize="each"``) or all share one scale (``"all"``).

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, h, w)
        Dictionary, one atom per row (see :func:`atom_images`).
    patch_shape : tuple of int, optional
        ``(h, w)`` of an atom in pixels (default: square, for a 2-D ``D``).
    n_cols : int, optional
        Atoms per row of the grid (default: :func:`grid_columns`, near-square
        with no empty cell when ``n_atoms`` allows: 192 atoms in 12 rows of 16,
        256 in 16 x 16).
    pad : int
        Width of the border between and around the atoms, in pixels
        (default 1).
    normalize : {"each", "all"}
        Scale each atom by its own largest absolute value, or all atoms by
        the largest absolute value of the dictionary (default "each").
    nan_atoms : {"warn", "empty"}
        An atom holding NaN or inf is all NaN, an empty cell: with a
        RuntimeWarning that counts such atoms (default "warn"), or silently
        (``"empty"``: the caller expects them, e.g. the Gabor models of atoms
        with no fit; a ``warnings.catch_warnings`` around the call, one per
        process, also hid other threads' warnings).

    Returns
    -------
    ndarray of float, shape (n_rows * (h + pad) + pad, n_cols * (w + pad) + pad)
        The tiled image, with ``n_rows = ceil(n_atoms / n_cols)``; the atoms
        scaled into [-1, 1], the border and empty cells NaN (drawn grey by
        :func:`plot_atoms`). An atom holding NaN or inf is all NaN, an empty
        cell (see ``nan_atoms``).

    Raises
    ------
    ValueError
        For an unknown ``normalize`` or atoms that cannot be reshaped to
        images (see :func:`atom_images`).
    """
    from ..validation import check_choice, check_int

    normalize = check_choice(normalize, "normalize", ("each", "all"))
    nan_atoms = check_choice(nan_atoms, "nan_atoms", ("warn", "empty"))
    atoms = atom_images(D, patch_shape).astype(float)
    n, h, w = atoms.shape
    # 2.5 and -1 failed inside numpy (np.full's "negative dimensions are not allowed")
    n_cols = grid_columns(n) if n_cols is None else check_int(n_cols, "n_cols", minimum=1)
    n_rows = int(np.ceil(n / n_cols))
    bad = ~np.isfinite(atoms).reshape(n, -1).all(axis=1)
    if bad.any() and nan_atoms == "warn":
        # one NaN pixel made the atom's scale NaN: the atom was drawn as an empty cell,
        # like the grid's border, unsaid
        warnings.warn(f"D: {int(bad.sum())} of {n} atoms hold NaN or inf (the first: atom "
                      f"{int(np.flatnonzero(bad)[0])}); they are drawn as empty grey cells",
                      RuntimeWarning, stacklevel=user_stacklevel())
    if normalize == "each":
        scale = np.abs(atoms).reshape(n, -1).max(axis=1)
    else:  # the finite atoms' scale: a NaN in one atom made every atom NaN, an empty grid
        scale = np.full(n, np.abs(atoms[~bad]).max(initial=0.0))
    atoms = atoms / np.maximum(scale, 1e-12)[:, None, None]
    atoms[bad] = np.nan
    canvas = np.full((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, n_cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y : y + h, x : x + w] = atoms[i]
    return canvas


def plot_atoms(D, patch_shape=None, n_cols=None, title=None, ax=None, normalize="each",
               nan_atoms="warn"):
    """Grid of atoms (receptive fields), grey = 0, white positive, black negative.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, h, w)
        Dictionary, one atom per row, or a
        :class:`~v1model.network.SparseCodingNetwork` or the Dataset it
        saves, drawn in its own ``patch_shape`` (see :func:`atom_images`).
    patch_shape : tuple of int, optional
        ``(h, w)`` of an atom in pixels (default: square, for a 2-D ``D``).
    n_cols : int, optional
        Atoms per row of the grid (default: :func:`grid_columns`, near-square
        with no empty cell when ``n_atoms`` allows: 192 atoms in 12 rows of 16,
        256 in 16 x 16).
    title : str, optional
        Axes title (default: none).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    normalize : {"each", "all"}
        One scale per atom or one for the whole dictionary (default "each");
        see :func:`tile_atoms`.
    nan_atoms : {"warn", "empty"}
        Atoms holding NaN or inf are drawn as empty grey cells, with a
        RuntimeWarning (default "warn") or silently (``"empty"``); see
        :func:`tile_atoms`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).
    """
    plt = pyplot()
    canvas = tile_atoms(D, patch_shape, n_cols, normalize=normalize, nan_atoms=nan_atoms)
    if ax is None:
        size = min(12, 2 + canvas.shape[1] / 25)
        fig, ax = plt.subplots(figsize=(size, size * canvas.shape[0] / canvas.shape[1]))
    else:
        fig = ax.figure
    cmap = plt.get_cmap("gray").with_extremes(bad=(0.5, 0.5, 0.5))
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


#: how the learning histories' ``prior`` attr is said in a title
PRIOR_NAMES = {"l1": "L1", "cauchy": "Cauchy"}


def _attr(attrs, name):
    """``attrs[name]``, or the learning history's ``learning_<name>`` that a saved
    network carries (:func:`v1model.io.attach_history`); None when neither is there
    or it holds ``"None"``, the netCDF text of None (:func:`v1model.io.clean_attrs`:
    the ``lam`` of a history learned with ``n_nonzero``)."""
    for key in (name, "learning_" + name):
        value = attrs.get(key)
        if value is not None and not (isinstance(value, str) and value == "None"):
            return value
    return None


def learning_curve_title(attrs) -> str | None:
    """The title of a learning history: prior, λ, quick or full run, updates.

    Parameters
    ----------
    attrs : dict
        The history's (or the saved network's) attrs: ``prior``, ``lam``,
        ``quick`` and ``n_updates`` are used when present (each also as
        ``learning_<name>``).

    Returns
    -------
    str or None
        E.g. "Cauchy prior, λ = 0.14, quick run (1500 updates)"; None when the
        attrs hold none of these.
    """
    parts = []
    prior = _attr(attrs, "prior")
    if prior is not None:
        parts.append(f"{PRIOR_NAMES.get(str(prior), str(prior))} prior")
    lam = _attr(attrs, "lam")
    if lam is not None:
        parts.append(f"λ = {float(lam):.3g}")
    n_updates = _attr(attrs, "n_updates")
    updates = (f" ({int(n_updates)} update{'' if int(n_updates) == 1 else 's'})"
               if n_updates is not None else "")
    if "quick" in attrs:
        parts.append(("quick run" if int(attrs["quick"]) else "full run") + updates)
    elif updates:
        parts.append(updates.strip(" ()"))
    return ", ".join(parts) or None


def _fraction_active_labels(attrs):
    """(y label, panel title) of ``fraction_active``, which for the Cauchy prior
    (codes never exactly zero) counts the coefficients with |a| > sigma; None for
    the history's own long_name."""
    if str(_attr(attrs, "prior")) != "cauchy":
        return None
    sigma = _attr(attrs, "sigma")
    s = f"σ = {float(sigma):.3g}" if sigma is not None else "σ"
    return ("fraction with |a| > σ",
            f"fraction of coefficients with |a| > {s} (Cauchy codes are never exactly 0)")


def _gain_caption(attrs, variables) -> str | None:
    """The note under a Cauchy learning curve: why its objective and error can rise.

    The Cauchy energy is not invariant to an atom's length (a longer atom codes
    with a smaller, cheaper coefficient), and sparsenet's gain adaptation changes
    the lengths at every update, so each update's objective is of another
    model. None for other priors, without gain adaptation, or when neither
    the objective nor the error is drawn.
    """
    gain_rate = _attr(attrs, "gain_rate")
    if (str(_attr(attrs, "prior")) != "cauchy" or (gain_rate is not None
                                                   and float(gain_rate) == 0)
            or not {"objective", "reconstruction_error"} & set(variables)):
        return None
    goal = _attr(attrs, "var_goal")
    goal = f" = {float(goal):.3g}" if goal is not None else ""
    shown = (" (their median length: the panel median atom norm)"
             if "median_atom_norm" in variables else "")
    return ("Cauchy prior: the gain adaptation rescales each atom until its coefficient's "
            f"variance is var_goal{goal}{shown}. A shorter atom needs a larger "
            "coefficient, which the prior charges more, so the objective and the error "
            "rise while the atoms shrink: each update's values are at its own atom lengths, "
            "not comparable across updates as with unit-length L1 atoms.")


def _centred_mean(y, half):
    """Running mean of ``y`` centred on each point, over whole windows only.

    Point ``i`` averages points ``i - half ... i + half``, the two outermost
    weighted 1/2: the mean of the two ``2 * half``-point windows either side of
    it, spanning ``2 * half`` steps. It is centred on its own point (a trailing
    window lagged ``half`` points behind the raw curve) and cancels a ripple
    that alternates from point to point (an equally weighted odd window left
    1 / (2 half + 1) of it). The first and last ``half`` points, where the
    window does not fit, are NaN: a window shrunk there ended on the raw last
    value, so that the curve jumped at its end.

    Parameters
    ----------
    y : array_like, shape (n_points,)
        Values in their units; NaN points are left out of the means (each
        mean is over the weights of its finite points).
    half : int
        Half-width of the window in points, >= 1.

    Returns
    -------
    ndarray, shape (n_points,)
        The means, in the units of ``y``; NaN within ``half`` points of
        either end and where a window holds no finite point.
    """
    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(y)
    y0 = np.where(finite, y, 0.0)
    sums = np.concatenate([[0.0], np.cumsum(y0)])
    counts = np.concatenate([[0], np.cumsum(finite)])
    out = np.full(y.size, np.nan)
    i = np.arange(half, y.size - half)  # the points whose whole window fits
    lo, hi = i - half, i + half
    # the box over lo ... hi less half of each end point
    total = sums[hi + 1] - sums[lo] - 0.5 * (y0[lo] + y0[hi])
    weight = counts[hi + 1] - counts[lo] - 0.5 * (finite[lo].astype(float) + finite[hi])
    with np.errstate(invalid="ignore", divide="ignore"):
        out[i] = np.where(weight > 0, total / weight, np.nan)
    return out


def plot_learning_curve(history, variables=("objective", "reconstruction_error", "fraction_active",
                                           "median_atom_norm"),
                        title=None):
    """Learning history (Dataset over ``update``): one panel per variable.

    Parameters
    ----------
    history : xarray.Dataset or fitted model
        Learning history with 1-D variables over one dimension (e.g.
        ``update``), which is the x axis; a model that keeps one in
        ``history_`` (a :class:`~v1model.network.SparseCodingNetwork`, as
        :func:`plot_atoms` takes it) gives its own. A variable's ``units`` attr (unless
        "1") is added to its y label and its ``long_name`` is the panel title.
        Under the Cauchy prior (``attrs["prior"]``), whose codes are never
        exactly zero, ``fraction_active`` is labelled as what it counts: the
        coefficients with |a| > ``attrs["sigma"]``. A point with no finite
        neighbour (a history of one update, or one between NaN gaps) is drawn
        as a dot. A Cauchy history learned with gain adaptation (``gain_rate``
        not 0) gets a note under the panels: the adaptation changes the atoms'
        lengths, and with them the energy, so its objective and error can rise
        while the atoms shrink (``median_atom_norm``, recorded by
        :func:`v1model.learning.learn_dictionary`, shows them).
    variables : str or sequence of str
        Variables to plot, one panel each, in this order (a str: that one; default
        ``("objective", "reconstruction_error", "fraction_active",
        "median_atom_norm")``: the last only a Cauchy history has); those
        not in ``history`` are skipped. With 20 points or more a centred
        running mean is drawn over the raw curve: over ``2 * half`` steps,
        ``half = max(n_points // 100, 1)``, the points ``i - half ... i + half``
        with the two outermost weighted 1/2 (so that it does not lag the raw
        curve and a ripple alternating from point to point cancels; NaN
        points left out); it is drawn only where its whole window fits, not
        within ``half`` points of either end. A legend under the panels says
        which line is which: the raw curve is "per update", or, for a history
        recorded every k updates (``attrs["record_every"]`` or
        ``record_every_per_call``, else the commonest spacing of ``update``),
        "one record every k updates". A history continued over several
        calls (``attrs["updates_per_call"]``, :func:`v1model.io.continue_history`)
        gets a thin dashed vertical line where each later call starts, at the
        count of the updates before it, keyed "start of a continued learning
        call" in that legend.
    title : str, optional
        Figure title (default: :func:`learning_curve_title` of the attrs —
        prior, λ, quick or full run — or none when they hold none of these).

    Returns
    -------
    matplotlib.figure.Figure
        One row of panels, one per variable found in ``history``.

    Raises
    ------
    TypeError
        When ``history`` is not a Dataset (e.g. None, or a model whose ``history_``
        is None: it has not learned yet).
    ValueError
        When none of ``variables`` is in ``history``, ``history`` holds no update
        (its dimension has length 0, or the variables have none), or a variable
        drawn is not 1-D over the first one's dim.
    """
    import xarray as xr

    from ..validation import describe

    if hasattr(history, "history_") and not isinstance(history, xr.Dataset):
        # plot_learning_curve(net) was refused where plot_atoms(net) draws its atoms
        if history.history_ is None:
            raise TypeError(f"history: {describe(history)} has no learning history yet "
                            "(history_ is None); learn first, or pass a history Dataset")
        history = history.history_
    if not isinstance(history, xr.Dataset):  # None (no history_) failed in "v in history"
        raise TypeError(f"history must be an xarray.Dataset (a learning history, e.g. "
                        f"history_ of a fitted model), got {describe(history)}")
    if isinstance(variables, str):  # one name: its letters were looked up one by one
        variables = (variables,)
    plt = pyplot()
    present = [v for v in variables if v in history]
    if not present:
        raise ValueError(f"variables={tuple(variables)!r}: none is in the history, which has "
                         f"{sorted(history.data_vars)}")
    variables = present
    # one curve per panel: a variable over (update, atom) failed in matplotlib's
    # "too many values to unpack", and one over another dim was drawn against update
    dims = {name: history[name].dims for name in variables}
    odd = {name: d for name, d in dims.items() if len(d) > 1}
    if odd:
        raise ValueError("history: a variable drawn must be 1-D (one curve per panel), got "
                         + ", ".join(f"{name!r} over {d}" for name, d in odd.items())
                         + "; draw a selection or a mean over the other dims")
    odd = {name: d for name, d in dims.items() if d != dims[variables[0]]}
    if odd:
        raise ValueError(f"history: the variables drawn must share one dim (the x axis; "
                         f"{variables[0]!r} is over {dims[variables[0]]}), got "
                         + ", ".join(f"{name!r} over {d}" for name, d in odd.items()))
    dim = history[variables[0]].dims[0] if history[variables[0]].dims else None
    if dim is None or history.sizes[dim] == 0:
        # an empty figure of blank panels was drawn, unsaid
        what = "no dimension" if dim is None else f"no {dim} ({dim!r} has length 0)"
        raise ValueError(f"history holds {what}: nothing to draw (variables {variables})")
    fig, axes = plt.subplots(1, len(variables), figsize=(4 * len(variables), 3.6), squeeze=False)
    x = history[history[variables[0]].dims[0]]
    xv = np.asarray(x.values)
    # the window in x units: a history recorded every few updates spans more of them
    step = float(np.median(np.diff(xv))) if xv.size > 1 and xv.dtype.kind in "iuf" else 1.0
    handles = []
    # where a later learn() call's updates start: a jump of the curves there (a new lr
    # schedule, another lam) read as learning itself
    starts = _call_starts(history.attrs) if xv.dtype.kind in "iuf" else []
    cauchy_labels = _fraction_active_labels(history.attrs)  # (y label, title) or None
    for ax, name in zip(axes[0], variables):
        y = history[name].values
        # a point with no finite neighbour (a one-update history, or one between NaN
        # gaps) is no segment of the line: drawn as a dot, not left an empty panel
        raw, = ax.plot(x, y, lw=0.8, color="0.6", label=_records_label(history, x),
                       **lone_point_markers(y))
        if y.size >= 20:
            half = max(y.size // 100, 1)
            mean, = ax.plot(x, _centred_mean(y, half), color="C0",
                            label=f"centred mean over {2 * half * step:g} {x.name}s")
            handles = handles or [raw, mean]
        calls = [ax.axvline(start, lw=0.6, ls="--", color="0.3",
                            label="start of a continued learning call") for start in starts]
        if calls and not any(h.get_label() == calls[0].get_label() for h in handles):
            handles = (handles or [raw]) + calls[:1]
        ax.set_xlabel(x.name)
        if xv.dtype.kind in "iu":  # update counts: no tick at update 0.04
            whole_number_ticks(ax.xaxis)  # labels apart: "10001200" at 1,550 updates
            if xv.size == 1:  # matplotlib's +-5% around one point has no whole update
                ax.set_xlim(xv[0] - 0.5, xv[0] + 0.5)
                ax.set_xticks([xv[0]])
        units = history[name].attrs.get("units")
        ylabel = name.replace("_", " ") + (f" ({units})" if units not in (None, "1") else "")
        long_name = history[name].attrs.get("long_name", name)
        if name == "fraction_active" and cauchy_labels:
            ylabel, long_name = cauchy_labels
        ax.set_ylabel(ylabel)
        # a long long_name wraps to the panel's width instead of running over its neighbours
        ax.set_title(textwrap.fill(long_name, 48), fontsize=9)
    title = title if title is not None else learning_curve_title(history.attrs)
    if title:
        fig.suptitle(title, fontsize=10)
    bottom = 0.0
    renderer = fig.canvas.get_renderer()
    caption = _gain_caption(history.attrs, variables)
    if caption:  # under everything: the Cauchy curves are read wrongly without it
        note = fig.text(0.5, 0.01, textwrap.fill(caption, 40 * len(variables)), ha="center",
                        va="bottom", fontsize=8)
        bottom = note.get_window_extent(renderer).height / fig.bbox.height + 0.02
    if handles:  # one key for every panel, under them, off the data
        legend = fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8,
                            frameon=False,
                            **({"bbox_to_anchor": (0.5, bottom)} if caption else {}))
        height = legend.get_window_extent(renderer).height
        bottom = min(0.3, height / fig.bbox.height + 0.01) + bottom
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return fig


def _call_starts(attrs) -> list:
    """The ``update`` counts at which the second and later calls of a continued
    history start: the running sums of ``updates_per_call`` (its first label carries on
    from the updates before, :func:`v1model.io.continue_history`); none for one call's
    history or an unreadable list."""
    per_call = _attr(attrs, "updates_per_call")
    try:
        counts = [int(n) for n in np.atleast_1d(per_call)] if per_call is not None else []
    except (TypeError, ValueError):
        return []
    return [int(n) for n in np.cumsum(counts)[:-1]]


def _records_label(history, x) -> str:
    """The raw curve's key: "per update", or how many updates one record stands for
    ("per update" was said of a history recorded every 10 updates)."""
    # a saved network's (the olshausen-field-1996 study's output) as learning_record_every
    every = _attr(history.attrs, "record_every_per_call")
    every = _attr(history.attrs, "record_every") if every is None else every
    try:  # the calls' record_every (a list mixing "None" is JSON text: not used)
        steps = sorted({int(k) for k in np.atleast_1d(every)}) if every is not None else []
    except (TypeError, ValueError):
        steps = []
    xv = np.asarray(x.values)
    if not steps and xv.dtype.kind in "iu" and xv.size > 1:
        # a call's last update is recorded too: its gap may be shorter than the rest
        gaps, counts = np.unique(np.diff(xv), return_counts=True)
        steps = [int(gaps[np.argmax(counts)])]
    if not steps or steps == [1]:
        return f"per {x.name}"
    return f"one record every {' or '.join(map(str, steps))} {x.name}s"


def plot_coefficient_histogram(codes, bins=101, ax=None, title=None, exclude_zeros=True):
    """Histogram of coefficients on a log scale against a Gaussian of equal variance.

    The sparse code's distribution has a sharp peak at zero and heavy tails
    (Olshausen & Field 1996, Fig. 4); a Gaussian of the same variance is the
    dense reference. A thresholded code (LCA, ISTA, LASSO) sets most
    coefficients exactly to 0: they are a point mass, not a density, so they
    are left out of the histogram and their fraction P(a=0) is given in the
    legend instead.

    Parameters
    ----------
    codes : array_like
        Coefficients, any shape (flattened), e.g. ``(n_samples, n_atoms)``; the
        masked entries of a numpy masked array are left out (counted nowhere).
    bins : int
        Number of bins, symmetric about 0 over the largest ``|a|`` (default 101).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    title : str, optional
        Axes title.
    exclude_zeros : bool
        Histogram only the non-zero coefficients, and give the Gaussian their
        variance (default True). With False, all coefficients are histogrammed
        and the Gaussian has their variance.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).

    Notes
    -----
    The density is normalised over the coefficients shown (it integrates to 1).
    The y axis reaches down to half the density of one count per bin, so that
    every non-empty bin, out to the largest coefficient, is drawn. The legend
    sits right of the axes, where it cannot cover the data. NaN and inf
    coefficients are left out with a RuntimeWarning that counts them; codes with
    no finite coefficient (empty, all masked, or all NaN or inf) are refused
    with a ValueError. When the
    coefficients shown are all equal, or there are none, no Gaussian is drawn
    and the legend says why.
    """
    from ..validation import check_int

    bins = check_int(bins, "bins", minimum=1)  # 0 failed with numpy's IndexError
    plt = pyplot()
    a = as_real(codes, "codes", masked="drop").ravel()  # the masked are no coefficients
    finite = np.isfinite(a)
    if not finite.any():
        # an empty figure was drawn, its legend saying "P(a = 0) = nan (0 of 0 exactly 0)"
        what = (f"no coefficient (shape {np.shape(codes)})" if np.size(codes) == 0
                else f"no finite coefficient ({np.size(codes)} given: "
                     f"{np.size(codes) - a.size} masked, {a.size} NaN or inf)")
        raise ValueError(f"codes holds {what}; nothing to draw")
    if not finite.all():
        # NaN codes are a diverged solver's: said, not a histogram of the rest alone
        warnings.warn(f"codes: {a.size - int(finite.sum())} of {a.size} coefficients are "
                      "NaN or inf and are left out of the histogram", RuntimeWarning,
                      stacklevel=user_stacklevel())
        a = a[finite]
    p_zero = float(np.mean(a == 0)) if a.size else np.nan
    shown = a[a != 0] if exclude_zeros else a
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 3.5))
    else:
        fig = ax.figure
    sd = 0.0
    if shown.size:
        # on values divided by a power of two near the largest (exact): the square in the
        # s.d. neither overflows (1e200: an inf limit, matplotlib's "Axis limits cannot be
        # NaN or Inf") nor underflows (1e-200: sd 0, so every value fell in the middle bin)
        from ..scaling import pow2_scale

        scale = pow2_scale(shown)
        sd = float((shown / scale).std()) * scale
    spread = sd > 0  # no value, or all equal: no variance for a Gaussian to have
    sd = sd if spread else 1.0  # then only for the histogram's range
    lim = max(np.abs(shown).max() if shown.size else 0.0, 4 * sd)
    edges = np.linspace(-lim, lim, bins + 1)
    width = edges[1] - edges[0]
    centers = 0.5 * (edges[1:] + edges[:-1])
    count, _ = np.histogram(shown, bins=edges)
    hist = count / max(shown.size, 1) / width
    which = "non-zero coefficients" if exclude_zeros else "coefficients"
    ax.semilogy(centers, np.where(count > 0, hist, np.nan), ".-", ms=3,
                label=f"{which}\n(n = {shown.size})")
    x = np.linspace(-lim, lim, 4 * bins + 1)  # smooth curve, independent of the bins
    gauss = np.exp(-0.5 * (x / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    if spread:
        ax.semilogy(x, gauss, "--", color="0.4",
                    label=f"Gaussian with the variance\nof the {which}\n(σ = {sd:.3g})")
    else:  # a "σ = 1" Gaussian stood for variance 0 (all equal) or for no coefficient
        gauss = np.zeros(1)
        ax.set_yscale("log")
        ax.plot([], [], " ", label=(f"no Gaussian: the {which}\nare all equal" if shown.size
                                    else f"no Gaussian: there are\nno {which}"))
    # one count per bin is the lowest non-zero density: stay below it, so the
    # tails are drawn out to the largest coefficient
    one_count = 1.0 / (max(shown.size, 1) * width)
    ax.set_ylim(0.5 * one_count, max(hist.max(initial=0), gauss.max(), one_count) * 2)
    ax.set_xlim(-lim * 1.03, lim * 1.03)
    ax.set_xlabel("coefficient value a")
    ax.set_ylabel("probability density" + (" (a ≠ 0)" if exclude_zeros else ""))
    # an empty line carries the point mass at 0 into the legend
    ax.plot([], [], " ", label=f"P(a = 0) = {p_zero:.3f}\n({np.count_nonzero(a == 0)} of "
                               f"{a.size} exactly 0)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
              frameon=False)
    if title:
        ax.set_title(title)
    return fig
