"""Nonclassical receptive-field protocols: size tuning, surround suppression,
cross-orientation suppression, length tuning and end-stopping.

Every unit is probed with its own stimulus: a grating at the unit's preferred
orientation and spatial frequency (e.g. ``peak_orientation`` and
``preferred_frequency`` of :func:`v1model.analysis.tuning_curves`), phase
referenced to the centre of its receptive field (e.g. ``x0``, ``y0`` of
:func:`v1model.analysis.fit_gabor` fitted to its atom or mapped RF), which
is also the centre of the aperture. Stimuli come from
:mod:`stimuli.gratings` (:func:`~stimuli.gratings.disc_grating`,
:func:`~stimuli.gratings.plaid`), with its geometry (orientation = direction
of the wave vector in radians, frequency in cycles/pixel, diameters in
pixels).

Phase: the response to a grating is the maximum over ``phases`` static
gratings evenly spaced over [0, 2 pi) of the rectified response — the
simple-cell convention of :func:`v1model.analysis.tuning_curves` and
:func:`v1model.analysis.contrast_response`, i.e. the peak response to a
drifting grating sampled at that many frames (not its F1). In a plaid the
mask's phase is a nuisance: the response is the maximum over the test
grating's phases, averaged over ``mask_phases`` evenly spaced mask phases.
For a linear unit that average removes the mask exactly (the mask adds
``B cos(mask_phase - beta)`` to the drive, whose mean over two or more
evenly spaced phases is 0) as long as the rectified response stays above
zero, so any change is due to the network.

Summaries follow the physiology literature: the preferred diameter (the
diameter of the peak response, Sceniak et al. 1999's "summation field"
measured on the grid; the first of a plateau, to within ``rtol`` of the
peak) and the suppression index
``SI = (R_peak - R_largest) / R_peak`` with ``R_largest`` the response to the
largest grating (full field; Cavanaugh, Bair & Movshon 2002; DeAngelis,
Freeman & Ohzawa 1994 use the same ratio); the cross-orientation
suppression index ``1 - R(test + mask) / R(test)`` at the largest mask
contrast; for length tuning (bars of growing length,
:func:`~stimuli.gratings.bar_grating`) the preferred length and the
end-stopping index ``ESI = (R_peak - R_longest) / R_peak`` (DeAngelis,
Freeman & Ohzawa 1994; Bolz & Gilbert 1986), the same ratio along the
bars.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..progress import check_progress, progress_bar
from ..validation import (check_array, check_choice, check_fits_in_memory, check_int,
                          check_nonnegative, check_positive, check_probability, describe)
from ._common import (RESPONSE_UNITS, STIMULUS_UNITS, call_encoder, check_encoder,
                      check_response_units, encoder_stimulus_shape, response_units_of,
                      units_from_labels)
from .tuning import (RECTIFY, ZERO_TOL, _check_radians, _check_zero_tol, _grid_or_count,
                     _rectify, _responds)

__all__ = ["size_tuning", "surround_suppression", "cross_orientation_suppression",
           "length_tuning", "end_stopping"]


def _unit_parameters(orientation, frequency, centers, units, shape):
    """Per-unit orientation, frequency and centre, broadcast to the selected units."""
    from stimuli.gratings import check_frequency

    h, w = shape
    # a DataArray selection (fit.orientation.sel(atom=[3, 7])) names its units
    units = units_from_labels(units, (orientation, "orientation"), (frequency, "frequency"))
    o = _check_radians(np.atleast_1d(check_array(orientation, "orientation", ndim=(0, 1))),
                       "orientation")
    f = np.atleast_1d(check_frequency(check_array(frequency, "frequency", ndim=(0, 1)),
                                      "frequency", positive=True))
    if centers is None:
        c = np.array([[(w - 1) / 2.0, (h - 1) / 2.0]])
    else:
        c = check_array(centers, "centers", ndim=(1, 2))
        if c.shape[-1] != 2:
            raise ValueError(f"centers must be (x0, y0) or one (x0, y0) per unit, shape "
                             f"(n_units, 2), got shape {c.shape}")
        c = np.atleast_2d(c)
        # (30, 30) on a 16 x 16 patch drew every aperture off the image, unsaid: the
        # responses were those of a blank; a centre must lie on the patch's pixels
        off = ((c[:, 0] < -0.5) | (c[:, 0] > w - 0.5) | (c[:, 1] < -0.5) | (c[:, 1] > h - 0.5))
        if np.any(off):
            raise ValueError(
                f"centers must lie on the {h} x {w} patch (x0 in [-0.5, {w - 0.5:g}], y0 in "
                f"[-0.5, {h - 0.5:g}], pixels), got {describe(c[off][0].tolist())} for unit "
                f"{int(np.flatnonzero(off)[0])} of the selection ({int(off.sum())} off the patch)")
    n_sel = max(len(o), len(f), len(c))
    if units is None:
        units = np.arange(n_sel)
    else:
        raw = np.atleast_1d(np.asarray(units))
        if raw.size == 0:  # checked first: np.asarray([]) is float, not "not integer"
            raise ValueError(f"units is empty ({describe(units)}); select at least one unit, "
                             "or leave units=None for units 0 ... n_selected - 1")
        if (raw.ndim != 1 or not np.issubdtype(raw.dtype, np.integer)
                or np.any(raw < 0)):
            raise ValueError(f"units must be a 1-D array of non-negative integer indices, got "
                             f"{describe(units)}")
        units = raw.astype(int)
    try:
        o, f = (np.broadcast_to(a, units.shape) for a in (o, f))
        c = np.broadcast_to(c, (len(units), 2))
    except ValueError as exc:
        raise ValueError(
            f"orientation ({o.shape}), frequency ({f.shape}) and centers ({c.shape}) must "
            f"give one value (one (x0, y0)) per selected unit ({len(units)}) or one for all"
        ) from exc
    return o, f, c, units


def _own_responses(encoder, stimuli, units, n_per_unit, n_pixels, batch_size, progress,
                   desc):
    """Each selected unit's response to its own stimuli, shape (n_sel, n_per_unit).

    ``stimuli(k)`` gives the ``n_per_unit`` stimuli of unit ``k``, shape
    (n_per_unit, n_pixels). They are encoded in the batches of ``batch_size``
    rows that encoding all of them at once, unit after unit, would make (so the
    same encoder calls), but drawn one unit at a time and only each unit's own
    column kept: every unit's response to every stimulus, (n_sel * n_per_unit,
    n_all) floats, took ~630 MB for 300 units of a 256-atom code.
    """
    n_sel = len(units)
    check_fits_in_memory((n_sel, n_per_unit), np.float64, "len(units)", n_sel,
                         f"units' responses to {n_per_unit} stimuli each (float64)")
    own = np.empty((n_sel, n_per_unit))
    total = n_sel * n_per_unit
    drawn, cache, n_all = -1, None, None
    starts = range(0, total, batch_size)
    for s in progress_bar(progress, total=len(starts), desc=desc, unit="batch",
                          iterable=starts):
        e = min(s + batch_size, total)
        X = np.empty((e - s, n_pixels))
        g = s
        while g < e:  # rows s ... e - 1 of the units' stimuli, one after the other
            k, j = divmod(g, n_per_unit)
            if k != drawn:
                cache, drawn = stimuli(k), k
            take = min(n_per_unit - j, e - g)
            X[g - s:g - s + take] = cache[j:j + take]
            g += take
        R = call_encoder(encoder, X, n_all)
        n_all = R.shape[1]
        if units.max() >= n_all:
            raise ValueError(f"units index {int(units.max())} but the encoder has {n_all} "
                             "units")
        k, j = np.divmod(np.arange(s, e), n_per_unit)
        own[k, j] = R[np.arange(e - s), units[k]]
    return own


def _full_field_diameter(centers, shape, edge):
    """A diameter whose disc covers every pixel of the patch from each centre: twice the
    farthest pixel's distance, plus a pixel (hard edges keep ``r < diameter / 2``
    only) and the edge."""
    h, w = shape
    xs = np.array([0.0, w - 1.0])
    ys = np.array([0.0, h - 1.0])
    dx = np.abs(xs[None, :] - centers[:, :1]).max(axis=1)
    dy = np.abs(ys[None, :] - centers[:, 1:]).max(axis=1)
    return 2.0 * np.hypot(dx, dy) + 1.0 + edge


def _extents(values, name, centers, shape, edge):
    """Diameters or lengths in pixels: a given 1-D array (> 0), or ``n`` values
    evenly spaced up to the extent that covers the whole patch for every unit."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        n = check_int(values, name, minimum=1)
        largest = float(_full_field_diameter(centers, shape, edge).max())
        return largest * np.arange(1, n + 1) / n
    return _check_points(values, name, "pixels")


def _check_points(values, name, unit):
    """The points of a tuning curve (diameters, lengths, contrasts): a finite 1-D array,
    every value > 0 and none repeated (a repeated diameter made the "largest" response
    whichever copy sorted last, and a disc of 0 or -2 pixels passed as a curve point)."""
    values = check_array(values, name, ndim=1)
    if np.any(values <= 0):
        raise ValueError(f"{name} must be > 0{' ' + unit if unit else ''}, got min "
                         f"{float(values.min())!r}")
    uniq, counts = np.unique(values, return_counts=True)
    if np.any(counts > 1):
        k = int(np.argmax(counts > 1))
        raise ValueError(f"{name} must not repeat a value (each is one point of the curve), "
                         f"got {float(uniq[k])!r} {int(counts[k])} times")
    return values


def _probe_options(contrasts, phases, rectify, response_units, batch_size, progress):
    """The options :func:`size_tuning` and :func:`length_tuning` share, validated."""
    con = _check_points(check_array(contrasts, "contrasts", ndim=(0, 1)).reshape(-1),
                        "contrasts", "")
    return (con, _grid_or_count(phases, "phases", (0.0, 2 * np.pi), angle=True),
            check_choice(rectify, "rectify", RECTIFY), check_response_units(response_units),
            check_int(batch_size, "batch_size", minimum=1), check_progress(progress))


def _probe(encoder, draw, units, con, extents, ph, shape, rectify, batch_size, progress, desc):
    """Each unit's own rectified response, max over phase, shape (unit, contrast,
    extent), to the stimuli ``draw(k, extent, phase, contrast)`` of unit ``k``
    (broadcast over extent x phase x contrast)."""
    h, w = shape
    grid = (len(con), len(extents), len(ph))

    def stimuli(k):
        one = draw(k, extents[None, :, None], ph[None, None, :], con[:, None, None])
        return np.broadcast_to(one, (*grid, h, w)).reshape(-1, h * w)

    own = _own_responses(encoder, stimuli, units, int(np.prod(grid)), h * w, batch_size,
                         progress, desc)
    return _rectify(own.reshape(len(units), *grid), rectify).max(axis=-1)


def _tuning_dataset(resp, dim, extents, con, units, o, f, c, aperture, long_name,
                    response_units):
    """The Dataset of a size or length tuning: ``response`` over (atom, contrast,
    ``dim``) and each unit's grating and aperture centre."""
    return xr.Dataset(
        {
            "response": (("atom", "contrast", dim), resp, {"units": response_units,
                                                            "long_name": long_name}),
            "grating_orientation": ("atom", o.astype(float), {
                "units": "rad", "long_name": "orientation of the test grating"}),
            "grating_frequency": ("atom", f.astype(float), {
                "units": "cycles/pixel", "long_name": "spatial frequency of the gratings"}),
            "center_x": ("atom", c[:, 0].astype(float), {"units": "pixel",
                         "long_name": f"{aperture} centre, column"}),
            "center_y": ("atom", c[:, 1].astype(float), {"units": "pixel",
                         "long_name": f"{aperture} centre, row (0 at the top)"}),
        },
        coords={"atom": units,
                "contrast": ("contrast", con, {"units": STIMULUS_UNITS,
                                               "long_name": "grating amplitude"}),
                dim: (dim, extents, {"units": "pixel"})},
    )


def _summary_dataset(tuning, dim, source, peak_fraction, rtol, zero_tol, largest, index):
    """The Dataset of :func:`surround_suppression` or :func:`end_stopping`:
    ``largest`` and ``index`` are (variable name, long name) of the response at
    the largest ``dim`` and of the index."""
    pref, peak, at_largest, values, ratio = _curve_summary(tuning, dim, source, peak_fraction,
                                                           rtol, zero_tol)
    r_units = response_units_of(tuning["response"])  # the probe's, e.g. "units of X"
    ds = xr.Dataset(coords={k: tuning[k] for k in ("atom", "contrast") if k in tuning.coords})
    ds[f"preferred_{dim}"] = (("atom", "contrast"), pref, {"units": "pixel", "long_name":
                              f"{dim} of the peak response" if peak_fraction == 1 else
                              f"smallest {dim} reaching {peak_fraction:g} of the peak"})
    ds["peak_response"] = (("atom", "contrast"), peak,
                           {"units": r_units, "long_name": f"largest response over {dim}s"})
    ds[largest[0]] = (("atom", "contrast"), at_largest, {"units": r_units,
                                                         "long_name": largest[1]})
    ds[index[0]] = (("atom", "contrast"), values, {"units": "1", "long_name": index[1]})
    ds[f"preferred_{dim}_ratio"] = ("atom", ratio, {"units": "1", "long_name":
                                    f"preferred {dim} at the highest contrast / at the lowest"})
    return ds


def size_tuning(
    encoder,
    shape,
    orientation,
    frequency,
    *,
    centers=None,
    diameters=16,
    contrasts=(0.1, 1.0),
    phases=8,
    units=None,
    edge: float = 0.0,
    rectify: str = "positive",
    response_units: str = RESPONSE_UNITS,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Area-summation (size-tuning) curves: response to a grating disc against its diameter.

    Unit ``units[k]`` is shown disc gratings at ``orientation[k]``,
    ``frequency[k]``, centred on ``centers[k]`` (also the phase reference),
    of every diameter, contrast and phase; its response is the maximum over
    phases of its rectified output (see the module docstring).

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R``, ``X`` (n, height * width), ``R`` (n, n_units).
    shape : int or (height, width)
        Patch size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientation, frequency : float or array_like, shape (n_selected,)
        Each selected unit's grating (radians; cycles/pixel in (0, 0.5]).
    centers : array_like, shape (2,) or (n_selected, 2), optional
        Receptive-field centres ``(x0, y0)`` in pixels (column, row), on the
        patch (x0 in [-0.5, width - 0.5], y0 in [-0.5, height - 0.5]); default
        the middle of the patch.
    diameters : int or array_like, default 16
        Disc diameters in pixels (> 0, none repeated). An int n gives n
        values evenly spaced from ``dmax / n`` to ``dmax``, where ``dmax`` covers every pixel
        of the patch from every selected centre (twice the farthest pixel's
        distance, plus one pixel and ``edge``): the largest disc is then a
        full-field grating for every unit.
    contrasts : array_like, shape (n_contrasts,), default (0.1, 1.0)
        Grating amplitudes (> 0, none repeated) in the units of the
        encoder's input.
    phases : int or array_like, default 8
        Radians; an int n gives n values evenly spaced over [0, 2 pi).
    units : array_like of int, shape (n_units,), optional
        The encoder's units to measure, one per grating; default
        ``0 ... n_selected - 1``; a DataArray ``orientation`` or
        ``frequency`` labelled by ``atom`` (e.g.
        ``fit.orientation.sel(atom=[3, 7])``) gives its labels instead
        (``units`` that differ from them are refused).
    edge : float, default 0.0
        Raised-cosine edge of the discs in pixels (0: hard edge; see
        :func:`stimuli.gratings.aperture`).
    rectify : {"positive", "abs", "none"}, default "positive"
        How signed responses become rates.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response``: e.g. ``"units of X"`` for LCA codes
        (:mod:`v1model.inference`), ``"Hz"`` for rates.
    batch_size : int, default 4096
        Stimuli per encoder call. The stimuli are drawn one unit at a time
        and only each unit's own responses kept: memory grows with
        ``batch_size`` times the encoder's units, not with the number of
        stimuli (results do not depend on it beyond rounding).
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``response`` (atom, contrast, diameter), the rectified response
        (max over phase) in ``response_units``; ``full_field`` (atom,
        bool): whether the largest disc covers the whole patch for that unit
        (only then is the largest response a full-field one);
        ``grating_orientation`` (rad), ``grating_frequency``
        (cycles/pixel), ``center_x``, ``center_y`` (pixel) over ``atom``.
        Coordinates ``atom`` (the units), ``contrast`` (units of the
        encoder's input), ``diameter`` (pixel). Summarise it with
        :func:`surround_suppression`.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For non-positive or repeated diameters or contrasts, frequencies
        outside (0, 0.5], ``orientation`` or ``phases`` beyond 2 pi in
        magnitude (degrees, not radians), ``centers`` that are not (x0, y0)
        pairs, per-unit arrays that do not match ``units``, ``units`` beyond
        the encoder's, or an invalid option.

    Examples
    --------
    A linear unit whose atom is a Gabor sums its input: its size-tuning
    curve rises until the disc covers the envelope and stays there.

    >>> import numpy as np
    >>> from stimuli import gabor_patch
    >>> atom = gabor_patch(16, 0.4, 0.15, 0.0, 2.0, 2.5).reshape(1, -1)
    >>> linear = lambda X: X @ (atom / np.linalg.norm(atom)).T
    >>> ds = size_tuning(linear, 16, 0.4, 0.15, diameters=[2.0, 6.0, 12.0, 24.0],
    ...                  contrasts=[1.0])
    >>> bool(np.all(np.diff(ds.response.values[0, 0]) >= 0))
    True
    """
    from stimuli.gratings import disc_grating

    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    o, f, c, units = _unit_parameters(orientation, frequency, centers, units, (h, w))
    edge = check_nonnegative(edge, "edge")
    d = _extents(diameters, "diameters", c, (h, w), edge)
    con, ph, rectify, response_units, batch_size, progress = _probe_options(
        contrasts, phases, rectify, response_units, batch_size, progress)

    def draw(k, extent, phase, contrast):
        return disc_grating((h, w), o[k], f[k], extent, phase, contrast, center=c[k], edge=edge)

    resp = _probe(encoder, draw, units, con, d, ph, (h, w), rectify, batch_size, progress,
                  "size tuning")
    ds = _tuning_dataset(resp, "diameter", d, con, units, o, f, c, "disc",
                         "response to a grating disc (max over phase)", response_units)
    ds["full_field"] = ("atom", d.max() >= _full_field_diameter(c, (h, w), edge), {
        "units": "1", "long_name": "the largest disc covers the whole patch"})
    ds.attrs.update(analysis="size tuning", rectify=rectify, n_phases=len(ph), edge=edge,
                    height=h, width=w)
    return ds


def _curve_summary(tuning, dim, source, peak_fraction, rtol, zero_tol):
    """Peak, preferred ``dim``, response at the largest ``dim`` and suppression index of
    the (atom, contrast, ``dim``) curves of ``tuning`` (the output of ``source``); NaN
    for units that never respond (a peak of at most ``zero_tol`` times the largest
    response in ``tuning``). The preferred ``dim`` is the smallest whose response is
    at least ``peak_fraction - rtol`` times the peak. Also the preferred value at the
    highest contrast over that at the lowest (NaN with one contrast)."""
    if not isinstance(tuning, xr.Dataset) or "response" not in tuning:
        raise TypeError(f"tuning must be the Dataset returned by {source} (with a "
                        f"'response' variable), got {describe(tuning)}")
    dims = ("atom", "contrast", dim)
    got = tuple(tuning["response"].dims)
    if sorted(got) != sorted(dims):
        raise ValueError(f"tuning['response'] must have the dimensions {dims} of {source}'s "
                         f"output, got {got}")
    if dim not in tuning.coords:
        raise ValueError(f"tuning lacks the '{dim}' coordinate (pixels) of {source}'s "
                         "output")
    R = check_array(tuning["response"].transpose(*dims).values, "tuning['response']", ndim=3)
    if R.min() < 0:
        raise ValueError(f"tuning['response'] must be non-negative (rectified responses), got "
                         f"a minimum of {R.min():.6g}")
    d = _check_points(tuning[dim].values, f"tuning['{dim}']", "pixels")
    if "contrast" in tuning.coords:  # the lowest and highest are compared: one of each
        _check_points(tuning["contrast"].values, "tuning['contrast']", "")
    given = peak_fraction
    try:
        peak_fraction = check_probability(peak_fraction, "peak_fraction", open_interval=False)
    except ValueError:  # its message said [0, 1] (1.5 was refused as outside [0, 1])
        peak_fraction = 0.0
    if not peak_fraction > 0:
        raise ValueError(f"peak_fraction must be in (0, 1], got {describe(given)}")
    rtol = check_nonnegative(rtol, "rtol")
    if rtol >= peak_fraction:
        raise ValueError(f"rtol must be below peak_fraction ({peak_fraction:g}), got {rtol!r}")
    zero_tol = _check_zero_tol(zero_tol)
    order = np.argsort(d, kind="stable")
    d, R = d[order], R[..., order]
    peak = R.max(axis=-1)
    # a peak at rounding level is no response: a float32 encoder's 1e-8 at one diameter
    # and exact zeros elsewhere gave SI = 1 and a "preferred diameter" of noise
    alive = _responds(peak, R.max(initial=0.0), zero_tol)
    # within rtol of the level: past the envelope a summing unit's curve still creeps up
    # by 1e-10 of its peak, below float32 rounding (1e-7), and the "peak" of such a
    # plateau (27 px in float32, 36 px in float64 for one linear unit) was rounding's pick
    reached = R >= (peak_fraction - rtol) * peak[..., None]
    first = np.argmax(reached, axis=-1)
    pref = np.where(alive, d[first], np.nan)
    largest = R[..., -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        si = np.where(alive, (peak - largest) / np.where(alive, peak, 1.0), np.nan)
    ratio = np.full(R.shape[0], np.nan)
    if R.shape[1] > 1:
        con = (tuning["contrast"].values if "contrast" in tuning.coords
               else np.arange(R.shape[1]))
        lo, hi = int(np.argmin(con)), int(np.argmax(con))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = pref[:, hi] / pref[:, lo]
    return (pref, np.where(alive, peak, np.nan), np.where(alive, largest, np.nan), si, ratio)


def surround_suppression(tuning: xr.Dataset, *, peak_fraction: float = 1.0,
                         rtol: float = 1e-5, zero_tol: float = ZERO_TOL) -> xr.Dataset:
    """Preferred diameter and suppression index of size-tuning curves.

    For each unit and contrast: ``peak_response`` (the largest response over
    diameters), ``preferred_diameter`` (the smallest diameter whose response
    reaches ``peak_fraction`` of the peak, to within ``rtol`` of the peak;
    with the default 1 the diameter of the peak, the first one on a plateau),
    ``largest_response`` (the response at the largest diameter) and the
    suppression index

        SI = (peak_response - largest_response) / peak_response,

    0 for a curve that never falls (a linear unit that sums its input), 1
    when the largest grating silences the unit (Cavanaugh, Bair & Movshon
    2002; Sceniak et al. 1999 report the same ratio from fitted curves).
    Units that never respond (a peak of at most ``zero_tol`` times the
    largest response in ``tuning``) get NaN. A flat curve, unlike a flat
    orientation curve in :func:`v1model.analysis.tuning_curves` (whose
    argmax is arbitrary, NaN), keeps the rule: its first diameter reaches
    the peak, so the preferred diameter is the smallest one (the summation
    field fits within it), as a curve still rising at the largest diameter
    gets the largest.

    Parameters
    ----------
    tuning : xarray.Dataset
        Output of :func:`size_tuning`: a finite, non-negative ``response``
        over (atom, contrast, diameter) with a ``diameter`` coordinate.
    peak_fraction : float, default 1.0
        In (0, 1]: fraction of the peak that defines the preferred diameter
        (e.g. 0.95 for a summation field that ignores the last few percent
        of a slowly saturating curve).
    rtol : float, default 1e-5
        In [0, ``peak_fraction``): a response of at least ``peak_fraction -
        rtol`` times the peak reaches it. A plateau is then a plateau: once
        a disc covers a unit's envelope, the curve still creeps up by
        ~1e-10 of its peak, below float32 rounding (~1e-7), and the exact
        maximum (``rtol=0``) was wherever rounding put it (a linear Gabor
        unit: 36 pixels in float64, 27 in float32, and a different one at
        each contrast). An encoder whose own error is larger (e.g. an LCA
        stopped at ``tol``) needs a larger ``rtol`` or a ``peak_fraction``
        below 1.
    zero_tol : float, default 1e-9
        In [0, 1): a unit never responds at a contrast when its peak there
        is at most ``zero_tol`` times the largest response in ``tuning``
        (every unit, contrast and diameter; 0: only exact zeros). A peak at
        rounding level (e.g. 1e-8 from a float32 encoder, zero elsewhere)
        would otherwise give SI = 1 and a preferred diameter of noise. The
        summary does not depend on the scale of the responses; a unit's does
        depend on the other units of ``tuning`` (a peak of 1e-10 of another
        unit's is silent; alone in ``tuning``, the unit is judged against
        itself).

    Returns
    -------
    xarray.Dataset
        Over (atom, contrast): ``preferred_diameter`` (pixel),
        ``peak_response``, ``largest_response`` (the units of
        ``tuning['response']``), ``suppression_index`` (1); over ``atom``:
        ``preferred_diameter_ratio``, the preferred diameter at the highest
        contrast over that at the lowest (NaN with a single contrast or a
        silent unit). Attrs: ``peak_fraction``, ``rtol``, ``zero_tol``.

    Raises
    ------
    TypeError
        When ``tuning`` is not a Dataset with a ``response`` variable.
    ValueError
        For a ``response`` without the dims (atom, contrast, diameter) or
        the ``diameter`` coordinate, negative or non-finite responses, a
        ``diameter`` (or ``contrast``) coordinate with a value <= 0, a
        non-finite or a repeated one, a ``peak_fraction`` outside (0, 1],
        an ``rtol`` outside [0, ``peak_fraction``) or a ``zero_tol``
        outside [0, 1).

    Examples
    --------
    >>> import xarray as xr
    >>> curve = xr.Dataset({"response": (("atom", "contrast", "diameter"),
    ...                                  [[[1.0, 4.0, 3.0, 3.0]]])},
    ...                    coords={"diameter": [2.0, 4.0, 6.0, 8.0]})
    >>> s = surround_suppression(curve)
    >>> float(s.preferred_diameter[0, 0]), float(s.suppression_index[0, 0])
    (4.0, 0.25)
    """
    ds = _summary_dataset(tuning, "diameter", "size_tuning", peak_fraction, rtol, zero_tol,
                          ("largest_response", "response to the largest disc"),
                          ("suppression_index", "(R_peak - R_largest) / R_peak"))
    ds.attrs.update(analysis="surround suppression", peak_fraction=float(peak_fraction),
                    rtol=float(rtol), zero_tol=float(zero_tol))
    return ds


def cross_orientation_suppression(
    encoder,
    shape,
    orientation,
    frequency,
    *,
    centers=None,
    test_contrast: float = 0.5,
    mask_contrasts=(0.0, 0.125, 0.25, 0.5, 1.0),
    mask_offset: float = np.pi / 2,
    diameter=None,
    phases=8,
    mask_phases=4,
    units=None,
    edge: float = 0.0,
    rectify: str = "positive",
    response_units: str = RESPONSE_UNITS,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Response to an optimal grating against the contrast of a superimposed mask grating.

    Unit ``units[k]`` is shown plaids (:func:`stimuli.gratings.plaid`): its
    test grating (``orientation[k]``, ``frequency[k]``, amplitude
    ``test_contrast``, phase referenced at ``centers[k]``) plus a mask of
    the same frequency at ``orientation[k] + mask_offset`` (orthogonal by
    default) of every amplitude in ``mask_contrasts``. The response is the
    maximum over the test's ``phases`` of the rectified output, averaged
    over ``mask_phases`` evenly spaced mask phases (module docstring: the
    average cancels the mask exactly for a linear unit). Both gratings fill
    the patch, or the disc of ``diameter`` around each centre.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R``, ``X`` (n, height * width), ``R`` (n, n_units).
    shape : int or (height, width)
        Patch size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientation, frequency : float or array_like, shape (n_selected,)
        Each selected unit's test grating (radians; cycles/pixel in
        (0, 0.5]).
    centers : array_like, shape (2,) or (n_selected, 2), optional
        ``(x0, y0)`` of each unit's receptive field in pixels; default the
        middle of the patch.
    test_contrast : float, default 0.5
        Amplitude of the test grating (> 0), in the units of the encoder's
        input.
    mask_contrasts : array_like, shape (n_contrasts,), default (0, 0.125, 0.25, 0.5, 1)
        Amplitudes of the mask (>= 0); 0 is always measured too (the test
        alone), as the reference of the suppression index.
    mask_offset : float, default pi / 2
        Mask orientation minus test orientation, radians.
    diameter : float or array_like, shape (n_selected,), optional
        Diameter (pixels, > 0) of a disc around each centre holding both
        gratings; default (None) full field, as is a NaN, per unit: the
        ``diameter`` a result records (NaN for full field) can be given back.
    phases : int or array_like, default 8
        Test phases (radians; an int n: n evenly spaced over [0, 2 pi)).
    mask_phases : int, default 4
        Number of mask phases, evenly spaced over [0, 2 pi) (>= 2 to cancel
        a linear unit's mask drive; 1 keeps mask phase 0).
    units : array_like of int, shape (n_units,), optional
        The encoder's units to measure; default ``0 ... n_selected - 1``; a
        DataArray ``orientation`` or ``frequency`` labelled by ``atom``
        (e.g. ``fit.orientation.sel(atom=[3, 7])``) gives its labels instead
        (``units`` that differ from them are refused).
    edge : float, default 0.0
        Raised-cosine edge of the disc in pixels.
    rectify : {"positive", "abs", "none"}, default "positive"
        How signed responses become rates.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response`` and ``mask_response``: e.g. ``"units of X"`` for LCA
        codes (:mod:`v1model.inference`), ``"Hz"`` for rates.
    batch_size : int, default 4096
        Stimuli per encoder call. The stimuli are drawn one unit at a time
        and only each unit's own responses kept: memory grows with
        ``batch_size`` times the encoder's units, not with the number of
        stimuli (results do not depend on it beyond rounding).
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``response`` (atom, mask_contrast) to test + mask;
        ``mask_response`` (atom, mask_contrast) to the mask alone (max over
        mask phases): how much the mask drives the unit by itself (both in
        ``response_units``); ``relative_response`` = response / response to
        the test alone (1);
        ``suppression_index`` (atom) = 1 - relative response at the largest
        mask contrast (> 0: suppression, < 0: facilitation; NaN if the test
        alone gives no response); ``grating_orientation``,
        ``mask_orientation`` (rad), ``grating_frequency`` (cycles/pixel),
        ``center_x``, ``center_y`` (pixel). Coordinate ``mask_contrast``
        (units of the encoder's input). Attrs: ``test_contrast``,
        ``mask_offset``, ``n_phases``, ``n_mask_phases``.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For a non-positive ``test_contrast``, a non-positive or infinite
        ``diameter``, negative mask contrasts, a ``mask_offset`` beyond 2 pi
        in magnitude (degrees), or as in :func:`size_tuning`.

    Examples
    --------
    A linear unit ignores an orthogonal mask that leaves its drive positive:

    >>> import numpy as np
    >>> from stimuli import gabor_patch
    >>> atom = gabor_patch(16, 0.4, 0.15, 0.0, 2.5, 2.5).reshape(1, -1)
    >>> linear = lambda X: X @ (atom / np.linalg.norm(atom)).T
    >>> ds = cross_orientation_suppression(linear, 16, 0.4, 0.15, test_contrast=0.5)
    >>> abs(float(ds.suppression_index[0])) < 1e-6
    True
    """
    from stimuli.gratings import plaid

    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    o, f, c, units = _unit_parameters(orientation, frequency, centers, units, (h, w))
    test_contrast = check_positive(test_contrast, "test_contrast")
    mc = check_array(mask_contrasts, "mask_contrasts", ndim=(0, 1)).reshape(-1)
    if np.any(mc < 0):
        raise ValueError(f"mask_contrasts must be >= 0, got min {float(mc.min())!r}")
    mc = np.unique(np.concatenate([[0.0], mc]))
    offset = float(_check_radians(check_array(mask_offset, "mask_offset", ndim=0),
                                  "mask_offset"))
    if diameter is None:
        dia = np.full(len(units), np.nan)
    else:
        # NaN is full field, as the result records it: a diameter read back from a
        # result is accepted again
        dia = check_array(diameter, "diameter", ndim=(0, 1), finite=False)
        bad = ~np.isnan(dia) & ~((dia > 0) & np.isfinite(dia))
        if np.any(bad):
            raise ValueError(f"diameter must be > 0 pixels and finite (NaN: full field), got "
                             f"{float(dia[bad].flat[0])!r}")
        try:
            dia = np.broadcast_to(dia, units.shape).astype(float)
        except ValueError as exc:
            raise ValueError(f"diameter must be one value or one per selected unit "
                             f"({len(units)}), got shape {dia.shape}") from exc
    ph = _grid_or_count(phases, "phases", (0.0, 2 * np.pi), angle=True)
    n_mp = check_int(mask_phases, "mask_phases", minimum=1)
    mph = np.linspace(0.0, 2 * np.pi, n_mp, endpoint=False)
    edge = check_nonnegative(edge, "edge")
    rectify = check_choice(rectify, "rectify", RECTIFY)
    response_units = check_response_units(response_units)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_progress(progress)

    # per unit: plaids (mask contrast, mask phase, test phase), then the mask alone
    n_plaid = len(mc) * n_mp * len(ph)
    per_unit = n_plaid + len(mc) * n_mp

    def stimuli(k):
        d_k = None if np.isnan(dia[k]) else dia[k]
        both = plaid((h, w), o[k], f[k], o[k] + offset, phase=ph[None, None, :],
                     mask_phase=mph[None, :, None], contrast=test_contrast,
                     mask_contrast=mc[:, None, None], center=c[k], diameter=d_k, edge=edge)
        alone = plaid((h, w), o[k], f[k], o[k] + offset, phase=0.0, mask_phase=mph[None, :],
                      contrast=0.0, mask_contrast=mc[:, None], center=c[k], diameter=d_k,
                      edge=edge)
        out = np.empty((per_unit, h * w))
        out[:n_plaid] = both.reshape(n_plaid, h * w)
        out[n_plaid:] = alone.reshape(-1, h * w)
        return out

    own = _rectify(_own_responses(encoder, stimuli, units, per_unit, h * w, batch_size,
                                  progress, "cross-orientation"), rectify)
    resp = own[:, :n_plaid].reshape(len(units), len(mc), n_mp, len(ph)).max(-1).mean(-1)
    mask_alone = own[:, n_plaid:].reshape(len(units), len(mc), n_mp).max(-1)
    ref = resp[:, 0]  # mask contrast 0: the test alone
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(ref[:, None] > 0, resp / np.where(ref > 0, ref, 1.0)[:, None], np.nan)
    ds = xr.Dataset(
        {
            "response": (("atom", "mask_contrast"), resp,
                         {"units": response_units, "long_name": "response to test + mask (max "
                          "over test phase, mean over mask phase)"}),
            "mask_response": (("atom", "mask_contrast"), mask_alone,
                              {"units": response_units, "long_name": "response to the mask "
                               "alone (max over mask phase)"}),
            "relative_response": (("atom", "mask_contrast"), rel,
                                  {"units": "1", "long_name": "response / response to the test "
                                   "alone"}),
            "suppression_index": ("atom", 1.0 - rel[:, -1],
                                  {"units": "1", "long_name": "1 - R(test + largest mask) / "
                                   "R(test)"}),
            "grating_orientation": ("atom", o.astype(float), {
                "units": "rad", "long_name": "orientation of the test grating"}),
            # a grating's orientation is defined modulo pi: reported in [0, pi), as the
            # tuning curves' orientations are (o + pi/2 went up to 1.5 pi)
            "mask_orientation": ("atom", np.mod(o + offset, np.pi).astype(float), {
                "units": "rad", "long_name": "orientation of the mask grating, in [0, pi)"}),
            "grating_frequency": ("atom", f.astype(float), {
                "units": "cycles/pixel", "long_name": "spatial frequency of the gratings"}),
            "center_x": ("atom", c[:, 0].astype(float), {
                "units": "pixel", "long_name": "stimulus centre, column"}),
            "center_y": ("atom", c[:, 1].astype(float), {
                "units": "pixel", "long_name": "stimulus centre, row (0 at the top)"}),
            "diameter": ("atom", dia, {"units": "pixel", "long_name":
                         "aperture diameter (NaN: full field)"}),
        },
        coords={"atom": units, "mask_contrast": ("mask_contrast", mc, {
            "units": STIMULUS_UNITS, "long_name": "mask grating amplitude"})},
    )
    ds.attrs.update(analysis="cross-orientation suppression", test_contrast=test_contrast,
                    mask_offset=offset, n_phases=len(ph), n_mask_phases=n_mp, edge=edge,
                    rectify=rectify, height=h, width=w)
    return ds


def length_tuning(
    encoder,
    shape,
    orientation,
    frequency,
    *,
    centers=None,
    lengths=16,
    width=None,
    contrasts=(0.1, 1.0),
    phases=8,
    units=None,
    rectify: str = "positive",
    response_units: str = RESPONSE_UNITS,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Length-tuning curves: response to an optimal bar against its length.

    Unit ``units[k]`` is shown bar gratings (:func:`stimuli.gratings.bar_grating`,
    hard edges) at ``orientation[k]``, ``frequency[k]``, centred on
    ``centers[k]`` (also the phase reference), ``width[k]`` pixels across
    the bars and of every length (along the bars), contrast and phase; its
    response is the maximum over phases of its rectified output (module
    docstring), as in :func:`size_tuning`.

    The width defaults to one period of the unit's grating, ``1 /
    frequency[k]``: the bar then covers the central subregion of a Gabor
    receptive field and half of each flank (a Gabor's envelope s.d. across
    the bars is typically 0.3 - 0.5 periods, Ringach 2002), so that growing
    the bar probes the field along its bars only.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R``, ``X`` (n, height * width), ``R`` (n, n_units).
    shape : int or (height, width)
        Patch size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientation, frequency : float or array_like, shape (n_selected,)
        Each selected unit's grating (radians; cycles/pixel in (0, 0.5]).
    centers : array_like, shape (2,) or (n_selected, 2), optional
        Receptive-field centres ``(x0, y0)`` in pixels; default the middle
        of the patch.
    lengths : int or array_like, default 16
        Bar lengths in pixels (> 0, none repeated). An int n gives n
        values evenly spaced from ``lmax / n`` to ``lmax``, ``lmax`` twice the farthest pixel's
        distance from every selected centre plus one pixel: the longest bar
        then crosses the whole patch for every unit.
    width : float or array_like, shape (n_selected,), optional
        Bar width across the bars in pixels (> 0); default one period,
        ``1 / frequency``, per unit.
    contrasts : array_like, shape (n_contrasts,), default (0.1, 1.0)
        Grating amplitudes (> 0, none repeated) in the units of the
        encoder's input.
    phases : int or array_like, default 8
        Radians; an int n gives n values evenly spaced over [0, 2 pi).
    units : array_like of int, shape (n_units,), optional
        The encoder's units to measure; default ``0 ... n_selected - 1``; a
        DataArray ``orientation`` or ``frequency`` labelled by ``atom``
        (e.g. ``fit.orientation.sel(atom=[3, 7])``) gives its labels instead
        (``units`` that differ from them are refused).
    rectify : {"positive", "abs", "none"}, default "positive"
        How signed responses become rates.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response``: e.g. ``"units of X"`` for LCA codes
        (:mod:`v1model.inference`), ``"Hz"`` for rates.
    batch_size : int, default 4096
        Stimuli per encoder call. The stimuli are drawn one unit at a time
        and only each unit's own responses kept: memory grows with
        ``batch_size`` times the encoder's units, not with the number of
        stimuli (results do not depend on it beyond rounding).
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``response`` (atom, contrast, length), the rectified response (max
        over phase) in ``response_units``; ``bar_width`` (pixel),
        ``grating_orientation`` (rad), ``grating_frequency``
        (cycles/pixel), ``center_x``, ``center_y`` (pixel) over ``atom``.
        Coordinates ``atom``, ``contrast`` (units of the encoder's input),
        ``length`` (pixel). Summarise it with :func:`end_stopping`.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For non-positive or repeated lengths or contrasts, non-positive widths, a
        ``width`` that is neither one value nor one per unit, or as in
        :func:`size_tuning`.

    Examples
    --------
    A linear Gabor unit sums its input along the bars: no end-stopping.

    >>> import numpy as np
    >>> from stimuli import gabor_patch
    >>> atom = gabor_patch(16, 0.4, 0.15, 0.0, 2.0, 2.5).reshape(1, -1)
    >>> linear = lambda X: np.maximum(X @ (atom / np.linalg.norm(atom)).T, 0)
    >>> ds = length_tuning(linear, 16, 0.4, 0.15, lengths=12, contrasts=[1.0])
    >>> float(end_stopping(ds).end_stopping_index[0, 0]) < 0.01
    True
    """
    from stimuli.gratings import bar_grating

    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    o, f, c, units = _unit_parameters(orientation, frequency, centers, units, (h, w))
    lengths_ = _extents(lengths, "lengths", c, (h, w), 0.0)
    if width is None:
        bw = 1.0 / f.astype(float)
    else:
        bw = check_array(width, "width", ndim=(0, 1))
        if np.any(bw <= 0):
            raise ValueError(f"width must be > 0 pixels, got min {float(bw.min())!r}")
        try:
            bw = np.broadcast_to(bw, units.shape).astype(float)
        except ValueError as exc:
            raise ValueError(f"width must be one value or one per selected unit "
                             f"({len(units)}), got shape {bw.shape}") from exc
    con, ph, rectify, response_units, batch_size, progress = _probe_options(
        contrasts, phases, rectify, response_units, batch_size, progress)

    def draw(k, extent, phase, contrast):
        return bar_grating((h, w), o[k], f[k], extent, bw[k], phase, contrast, center=c[k])

    resp = _probe(encoder, draw, units, con, lengths_, ph, (h, w), rectify, batch_size,
                  progress, "length tuning")
    ds = _tuning_dataset(resp, "length", lengths_, con, units, o, f, c, "bar",
                         "response to a grating bar (max over phase)", response_units)
    ds["bar_width"] = ("atom", bw, {"units": "pixel", "long_name": "bar extent across the bars"})
    ds.attrs.update(analysis="length tuning", rectify=rectify, n_phases=len(ph),
                    bar_width_rule="one period (1 / frequency)" if width is None else "given",
                    height=h, width=w)
    return ds


def end_stopping(tuning: xr.Dataset, *, peak_fraction: float = 1.0,
                 rtol: float = 1e-5, zero_tol: float = ZERO_TOL) -> xr.Dataset:
    """Preferred length and end-stopping index of length-tuning curves.

    The summary of :func:`surround_suppression` along ``length``: for each
    unit and contrast ``peak_response``, ``preferred_length`` (the smallest
    length reaching ``peak_fraction`` of the peak, to within ``rtol``),
    ``longest_response``
    and the end-stopping index

        ESI = (peak_response - longest_response) / peak_response,

    0 for a unit that sums along its bars, 1 when the longest bar silences
    it (DeAngelis, Freeman & Ohzawa 1994). Units that never respond get NaN.

    Parameters
    ----------
    tuning : xarray.Dataset
        Output of :func:`length_tuning`: a finite, non-negative
        ``response`` over (atom, contrast, length) with a ``length``
        coordinate.
    peak_fraction : float, default 1.0
        In (0, 1], as in :func:`surround_suppression`.
    rtol : float, default 1e-5
        In [0, ``peak_fraction``), as in :func:`surround_suppression`.
    zero_tol : float, default 1e-9
        In [0, 1), as in :func:`surround_suppression`.

    Returns
    -------
    xarray.Dataset
        Over (atom, contrast): ``preferred_length`` (pixel),
        ``peak_response``, ``longest_response`` (the units of
        ``tuning['response']``), ``end_stopping_index`` (1); over ``atom``:
        ``preferred_length_ratio`` (highest over lowest contrast). Attrs:
        ``peak_fraction``, ``rtol``, ``zero_tol``.

    Raises
    ------
    TypeError
        When ``tuning`` is not a Dataset with a ``response`` variable.
    ValueError
        As in :func:`surround_suppression`, for the ``length`` dimension.

    Examples
    --------
    >>> import xarray as xr
    >>> curve = xr.Dataset({"response": (("atom", "contrast", "length"),
    ...                                  [[[1.0, 4.0, 3.0, 1.0]]])},
    ...                    coords={"length": [2.0, 4.0, 6.0, 8.0]})
    >>> s = end_stopping(curve)
    >>> float(s.preferred_length[0, 0]), float(s.end_stopping_index[0, 0])
    (4.0, 0.75)
    """
    ds = _summary_dataset(tuning, "length", "length_tuning", peak_fraction, rtol, zero_tol,
                          ("longest_response", "response to the longest bar"),
                          ("end_stopping_index", "ESI = (R_peak - R_longest) / R_peak"))
    ds.attrs.update(analysis="end-stopping", peak_fraction=float(peak_fraction),
                    rtol=float(rtol), zero_tol=float(zero_tol))
    return ds
