"""Grating protocols: orientation and spatial-frequency tuning, drifting
gratings (F0, F1), contrast-response curves.

Stimuli come from :mod:`stimuli.gratings` (orientation = direction of the
wave vector in radians, frequency in cycles/pixel, phase in radians; the same
geometry as :func:`v1model.analysis.fit_gabor`, so a unit's preferred
orientation compares directly with its atom's fitted orientation).

Responses are rectified before any statistic (``rectify``): ``"positive"``
keeps the positive part, as a firing rate (default; for a sign-symmetric
code such as soft-threshold LCA, the negative half is the same unit's
"OFF" twin and shows up at the opposite grating phase), ``"abs"`` takes the
magnitude, ``"none"`` keeps signed values.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..progress import check_progress, progress_bar
from ..validation import (axis_by_dim_name, check_array, check_axis, check_bool, check_choice,
                          check_fits_in_memory, check_int, check_nonnegative, check_positive,
                          check_probability, describe)
from ._common import (RESPONSE_UNITS, STIMULUS_UNITS, call_encoder, check_encoder, check_real,
                      check_response_units, encoder_stimulus_shape, response_units_of,
                      units_from_labels)
from .sparseness import _labelled

__all__ = [
    "grating_responses",
    "tuning_curves",
    "drifting_grating_responses",
    "contrast_response",
    "circular_variance",
    "naka_rushton",
    "RECTIFY",
]

RECTIFY = ("positive", "abs", "none")
#: ``units`` of an orientation coordinate that say degrees (the analysis takes radians)
_DEGREES = ("deg", "degree", "degrees", "°")
PHASE_STATISTICS = ("max", "mean")
#: Fraction of the fitted rmax a contrast-response curve must reach at the top
#: tested contrast for its c50 to be reported
SATURATION = 0.75
#: Smallest R^2 of a Naka-Rushton fit whose parameters are reported
MIN_FIT_R2 = 0.9
#: A unit whose peak is at most this fraction of the largest response in the dataset
#: never responds (its summaries are NaN); within a unit's contrast-response curve, a
#: response above this fraction of the unit's largest one counts as non-zero
ZERO_TOL = 1e-9
#: A Naka-Rushton fit counts as saturating only if its residual sum of squares is
#: below this fraction of the best threshold-linear fit's
LINEAR_RESIDUAL_RATIO = 0.5


def _rectify(R, kind):
    if kind == "positive":
        return np.maximum(R, 0.0)
    if kind == "abs":
        return np.abs(R)
    return R


def _check_zero_tol(zero_tol):
    """``zero_tol`` in [0, 1): at 1 or more no unit's peak exceeds the largest response."""
    zero_tol = check_nonnegative(zero_tol, "zero_tol")
    if zero_tol >= 1:  # no unit's peak exceeds the largest response: all would be silent
        raise ValueError(f"zero_tol must be below 1, got {zero_tol!r}")
    return zero_tol


def _responds(peak, largest, zero_tol):
    """Where a unit's ``peak`` is above ``zero_tol`` times ``largest``, the largest
    response of the dataset: a peak at rounding level (a float32 encoder's 1e-8 at one
    grating, zero elsewhere) is no response, and its argmax would be a preference of noise."""
    return peak > zero_tol * largest


def _check_radians(values, name):
    """``values`` (angles in radians) as given; refused beyond 2 pi in magnitude, where
    they are degrees: ``np.arange(0, 180, 22.5)`` was read as radians, and its preferred
    orientations came out wrong with no more than tuning_curves' "uneven grid" warning."""
    # the slack holds a float32 2 pi (6.2831855, 2.8e-8 above it: np.linspace(0, 2 * np.pi,
    # n, dtype=np.float32) was refused as degrees); degrees beyond 2 pi are far beyond it
    big = np.abs(values) > 2 * np.pi * (1 + 1e-6)
    if np.any(big):
        raise ValueError(f"{name} must be in radians, got {describe(values.tolist())} (up to "
                         f"{float(np.max(np.abs(values))):g}, beyond 2 pi: degrees?); pass "
                         f"np.radians({name})")
    return values


def _grid_or_count(value, name, default_range, log=False, endpoint=False, angle=False):
    """An int n (-> n evenly spaced values over default_range) or explicit values
    (``angle``: radians, checked by :func:`_check_radians`)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = check_int(value, name, minimum=1)
        # numpy's "Unable to allocate 7.28 TiB" named no argument
        check_fits_in_memory((n,), np.float64, name, n, "values (float64)")
        lo, hi = default_range
        if log:
            return np.geomspace(lo, hi, n)
        return np.linspace(lo, hi, n, endpoint=endpoint)
    values = check_array(value, name, ndim=1)
    return _check_radians(values, name) if angle else values


def _frequency_grid(frequencies, shape, h, w):
    """``frequencies`` as given, or an int n of them log-spaced from one cycle per patch
    (1 / max(h, w) cycles/pixel) to 0.45."""
    is_count = isinstance(frequencies, (int, np.integer)) and not isinstance(frequencies, bool)
    if is_count and max(h, w) < 3:
        # one cycle per patch is above 0.45 there: the grid came out descending, or
        # "frequencies must be in (0, 0.5]" for values the user never gave
        raise ValueError(
            f"shape={shape!r} is too small for frequencies={frequencies!r}: an int "
            f"log-spaces frequencies from one cycle per patch (1/{max(h, w)} "
            "cycles/pixel) to 0.45, which needs a side of at least 3 pixels; give "
            "frequencies as values in (0, 0.5] cycles/pixel")
    return _grid_or_count(frequencies, "frequencies", (1.0 / max(h, w), 0.45), log=True)


def _encode_batches(encoder, X, batch_size, progress, desc, n_stimuli=None, sized_by=None):
    """Responses to the stimuli ``X`` (n_stimuli, n_pixels), ``batch_size`` per encoder
    call; or ``X(start, stop)`` makes rows start ... stop - 1 of ``n_stimuli``, so that
    one batch of them is held at a time. ``sized_by``, (name, value) of the argument
    that sets ``n_stimuli``: the responses of every unit to them must fit in memory
    (checked once the first batch gives the number of units)."""
    n_stimuli = len(X) if n_stimuli is None else n_stimuli
    out, n_units = [], None
    starts = range(0, n_stimuli, batch_size)
    for s in progress_bar(progress, total=len(starts), desc=desc, unit="batch",
                          iterable=starts):
        e = min(s + batch_size, n_stimuli)
        R = call_encoder(encoder, X(s, e) if callable(X) else X[s:e], n_units)
        if n_units is None and sized_by is not None:
            check_fits_in_memory((n_stimuli, R.shape[1]), np.float64, *sized_by,
                                 f"responses of {R.shape[1]} units (float64)")
        n_units = R.shape[1]
        out.append(R)
    return np.concatenate(out)


def grating_responses(
    encoder,
    shape,
    *,
    orientations=16,
    frequencies=8,
    phases=8,
    contrast: float = 1.0,
    response_units: str = RESPONSE_UNITS,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Responses of every unit to static gratings over orientation x frequency x phase.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R``, ``X`` (n, height * width), ``R`` (n, n_units).
    shape : int or (height, width)
        Grating size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientations : int or array_like, default 16
        Radians; an int n gives n values evenly spaced over [0, pi) (gratings
        at theta + pi are the same as at theta with the phase reversed, so
        [0, pi) with a full cycle of phases covers every grating).
    frequencies : int or array_like, default 8
        Cycles/pixel, in (0, 0.5] (0.5 is the Nyquist frequency); an int n
        gives n values log-spaced from one cycle per patch
        (1 / max(height, width)) to 0.45, for patches of at least 3 pixels
        on a side (smaller ones need explicit frequencies).
    phases : int or array_like, default 8
        Radians; an int n gives n values evenly spaced over [0, 2 pi).
    contrast : float, default 1.0
        Grating amplitude (> 0) in the units of the encoder's input.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response``: e.g. ``"units of X"`` for LCA codes
        (:mod:`v1model.inference`), ``"Hz"`` for rates.
    batch_size : int, default 4096
        Stimuli per encoder call; the gratings are made one batch at a time, so
        that a fine grid holds only the responses, not every grating, in memory.
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``response`` (orientation, frequency, phase, atom), in
        ``response_units``, with the coordinates ``orientation`` (rad),
        ``frequency`` (cycles/pixel), ``phase`` (rad) and ``atom`` (the
        encoder's unit index).

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For frequencies outside (0, 0.5], ``orientations`` or ``phases``
        beyond 2 pi in magnitude (degrees, not radians), an int
        ``frequencies`` with a ``shape`` under 3 pixels on a side, a
        non-positive ``contrast`` or ``batch_size``, encoder output that
        is not finite (n_samples, n_units), or responses to the whole grid that
        would not fit in memory.
    """
    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    o = _grid_or_count(orientations, "orientations", (0.0, np.pi), angle=True)
    f = _frequency_grid(frequencies, shape, h, w)
    ph = _grid_or_count(phases, "phases", (0.0, 2 * np.pi), angle=True)
    from stimuli.gratings import NYQUIST, check_frequency, grating, grating_set

    check_frequency(f, "frequencies", positive=True)
    contrast = check_positive(contrast, "contrast")
    response_units = check_response_units(response_units)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_progress(progress)

    n_stimuli = len(o) * len(f) * len(ph)
    if np.any(f == NYQUIST):
        # the warning of blank gratings at the Nyquist frequency, once, from the gratings
        # there with every phase (a batch might hold only a blank phase of one of them)
        grating_set((h, w), o, f[f == NYQUIST], ph, contrast)

    def batch(start, stop):
        """Gratings ``start ... stop - 1`` of the orientation x frequency x phase grid."""
        i, j, k = np.unravel_index(np.arange(start, stop), (len(o), len(f), len(ph)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # warned of above
            return grating((h, w), o[i], f[j], ph[k], contrast).reshape(-1, h * w)

    # made batch by batch: the whole set, made first, held 3x its size at once (200 MB
    # for 8,192 gratings of 32x32 pixels, whatever batch_size), and a fine grid of
    # orientations and frequencies ended in the kernel's out-of-memory kill, unsaid
    R = _encode_batches(encoder, batch, batch_size, progress, "gratings", n_stimuli,
                        ("(len(orientations), len(frequencies), len(phases))",
                         (len(o), len(f), len(ph))))
    ds = xr.Dataset(
        {"response": (("orientation", "frequency", "phase", "atom"),
                      R.reshape(len(o), len(f), len(ph), -1),
                      {"units": response_units, "long_name": "response to a static grating"})},
        coords={
            "orientation": ("orientation", o, {"units": "rad"}),
            "frequency": ("frequency", f, {"units": "cycles/pixel"}),
            "phase": ("phase", ph, {"units": "rad"}),
            "atom": np.arange(R.shape[1]),
        },
    )
    ds.attrs.update(analysis="static gratings", contrast=contrast, height=h, width=w)
    return ds


def circular_variance(curve, orientations, axis=None):
    """Circular variance of orientation tuning, 1 - |sum r e^{2i theta}| / sum r.

    0 for a unit that answers a single orientation, 1 for an untuned unit
    (Ringach, Shapley & Hawken 2002). ``orientations`` (radians) must sample
    the orientation circle [0, pi) evenly, in any order (e.g.
    ``np.linspace(0, np.pi, n, endpoint=False)``, or the same rolled or shifted):
    only then is ``sum e^{2i theta} = 0``, so that an untuned unit gets 1. A
    grid with both 0 and pi counts that orientation twice and is refused
    (with ``np.linspace(0, np.pi, 9)`` an untuned unit would get 0.89).
    ``curve`` must be non-negative. NaN where sum r = 0.

    Parameters
    ----------
    curve : array_like, shape (..., n_orientations, ...)
        Non-negative responses, orientations along ``axis``.
    orientations : array_like, shape (n_orientations,)
        Radians.
    axis : int, str or None, default None
        The orientation axis of ``curve``. None: a DataArray's dim named
        ``"orientation"`` wherever it is (e.g. ``f0`` ``(orientation,
        frequency, atom)`` of :func:`drifting_grating_responses`), else the
        last axis. For an ``xarray.DataArray``, a dim name may be given
        (e.g. ``"orientation"``); an int counts the dims ``(atom,
        orientation)`` (those of :func:`tuning_curves`' ``orientation_tuning``)
        in that order for a DataArray with those dims in any order (-1 means
        the orientation dim), else its axes; on curves ``(orientation, atom)``
        an int other than -1 is refused as ambiguous (pass a dim name).

    Returns
    -------
    ndarray or xarray.DataArray
        The shape of ``curve`` without ``axis``; values in [0, 1]. For a
        DataArray ``curve``, a DataArray over its other dims with their
        coordinates, named ``circular_variance``, units ``"1"`` (as the
        sparseness measures of :mod:`v1model.analysis.sparseness` label theirs).

    Raises
    ------
    TypeError
        For an ``axis`` that is neither an int nor a str, or a str one for a
        ``curve`` that is not a DataArray.
    ValueError
        For a scalar or negative ``curve``, an invalid ``axis`` (out of range,
        not a dim of the DataArray, or an int other than -1 on curves
        ``(orientation, atom)``), a number
        of ``orientations`` other than ``curve``'s length along ``axis``, or
        ``orientations`` that do not sample [0, pi) evenly (modulo pi) or exceed
        2 pi in magnitude (degrees: the message suggests ``np.radians``).
    """
    if axis is None:
        # the dim by its name: by position, curves (orientation, frequency, atom) ran over
        # the atoms, unsaid (the int -1 keeps its meaning below)
        axis = ("orientation" if isinstance(curve, xr.DataArray) and "orientation" in curve.dims
                else -1)
    # by dim name: read by position, curves (orientation, atom) ran over the atoms, unsaid
    labelled, index = axis_by_dim_name(curve, axis, "curve", dims=("atom", "orientation"),
                                       default=-1)
    curve = check_array(labelled, "curve", ndim=None)
    if curve.ndim == 0:
        raise ValueError(f"curve must have an orientation axis, got a scalar {curve!r}")
    index = check_axis(index, curve.ndim)
    # degrees (np.arange(0, 180, 22.5)) met "must sample [0, pi) evenly" with no word of
    # radians, where grating_responses suggests np.radians
    orientations = _check_radians(check_array(orientations, "orientations", ndim=1),
                                  "orientations")
    if len(orientations) != curve.shape[index]:
        raise ValueError(f"orientations has {len(orientations)} values but curve has "
                         f"{curve.shape[index]} along axis {axis!r} (shape {curve.shape})")
    if curve.min() < 0:
        raise ValueError(f"curve must be non-negative (rectified responses), got a minimum of "
                         f"{curve.min():.6g}")
    if not _samples_orientations_evenly(orientations):
        raise ValueError(f"orientations must sample [0, pi) evenly (n values pi / n apart "
                         f"modulo pi, e.g. np.linspace(0, np.pi, n, endpoint=False)), got "
                         f"{describe(np.round(orientations, 4).tolist())}")
    # a plain array lost the DataArray's atom (and frequency) labels
    return _labelled(_circular_variance(curve, orientations, index), labelled, index,
                     "circular_variance", long_name="circular variance")


def _samples_orientations_evenly(orientations):
    """Whether ``orientations`` (radians), taken modulo pi and in any order, are n
    points pi / n apart: the condition for ``sum e^{2i theta} = 0``, which makes the
    circular variance of an untuned curve 1 and its vector sum unbiased."""
    n = len(orientations)
    if n < 2:
        return False
    o = np.sort(np.mod(orientations, np.pi))
    gaps = np.diff(np.concatenate([o, o[:1] + np.pi]))
    return bool(np.allclose(gaps, np.pi / n))


def _circular_variance(curve, orientations, axis=-1):
    r = np.moveaxis(curve, axis, -1)
    z = (r * np.exp(2j * orientations)).sum(axis=-1)
    tot = r.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, 1.0 - np.abs(z) / tot, np.nan)


def _half_width(curve, x, level, periodic):
    """Half-width at ``level`` * peak on each side of the peak, averaged.

    ``curve`` (n_units, n_x) sampled at ``x``; ``periodic`` curves are
    orientation curves sampled evenly over [0, pi). The crossing is found by
    linear interpolation between samples. NaN where the curve does not fall
    below the level on both sides.
    """
    n_units, n = curve.shape
    out = np.full(n_units, np.nan)
    for k in range(n_units):
        c = curve[k]
        i = int(np.argmax(c))
        if not c[i] > 0:
            continue
        thr = level * c[i]
        widths = []
        for direction in (1, -1):
            width = np.nan
            for step in range(1, n):
                j, jp = i + direction * step, i + direction * (step - 1)
                if periodic:
                    j, jp = j % n, jp % n
                elif not 0 <= j < n:
                    break
                if c[j] < thr:
                    frac = (c[jp] - thr) / (c[jp] - c[j])
                    if periodic:
                        width = (step - 1 + frac) * np.pi / n
                    else:
                        width = abs(x[jp] + frac * (x[j] - x[jp]) - x[i])
                    break
            widths.append(width)
        out[k] = np.mean(widths)
    return out


def tuning_curves(
    responses: xr.Dataset,
    *,
    rectify: str = "positive",
    phase_statistic: str = "max",
    bandwidth_level: float = 0.5,
    zero_tol: float = ZERO_TOL,
) -> xr.Dataset:
    """Orientation and spatial-frequency tuning from :func:`grating_responses`.

    The response to a grating is the maximum over phases (``phase_statistic
    = "max"``, the simple-cell convention) or the mean over phases of the
    rectified responses. At each unit's best (orientation, frequency) pair
    the orientation curve is taken at the best frequency and the frequency
    curve at the best orientation.

    Parameters
    ----------
    responses : xarray.Dataset
        Output of :func:`grating_responses`: a finite ``response`` over
        (orientation, frequency, phase, atom), with orientations in radians
        and frequencies in (0, 0.5] cycles/pixel as coordinates.
    rectify : {"positive", "abs", "none"}, default "positive"
        How signed responses become rates.
    phase_statistic : {"max", "mean"}, default "max"
        Statistic over phases.
    bandwidth_level : float, default 0.5
        Level, as a fraction of the peak in (0, 1), at which bandwidths are
        measured (0.5: half-height, the level of De Valois, Yund & Hepler
        1982; Ringach, Shapley & Hawken 2002 measure the orientation
        half-width at ``2**-0.5`` of the peak instead).
    zero_tol : float, default 1e-9
        In [0, 1): a unit never responds when its ``max_response`` is at
        most ``zero_tol`` times the largest ``max_response`` in
        ``responses`` (0: only exact zeros), as in
        :func:`v1model.analysis.surround_suppression`. A peak at rounding
        level (e.g. 1e-12 from a float32 encoder, the others about 1) would
        otherwise give a preferred orientation and frequency of noise. A
        single unit is judged against itself: the summary does not depend
        on the scale of the responses.

    Returns
    -------
    xarray.Dataset
        Over ``atom``: ``orientation_tuning`` (atom, orientation), ``frequency_tuning``
        (atom, frequency), ``preferred_orientation`` (rad, vector sum of the
        orientation curve: angle(sum r e^{2i theta}) / 2; biased towards
        over-sampled orientations on an uneven grid; NaN for a flat curve,
        whose vector sum is 0), ``peak_orientation``
        (rad, grid argmax; NaN for a flat curve of two or more orientations,
        whose argmax is arbitrary), ``circular_variance`` (see
        :func:`circular_variance`; NaN unless the orientations sample
        [0, pi) evenly, in any order: ``np.linspace(0, np.pi, n)`` has both
        0 and pi and does not, nor does a single orientation), ``orientation_bandwidth``
        (rad, half-width at ``bandwidth_level``; needs at least 3 evenly spaced
        orientations over [0, pi), in any order),
        ``preferred_frequency`` (cycles/pixel, grid argmax; NaN for a flat
        frequency curve of two or more frequencies),
        ``frequency_bandwidth`` (octaves, full width at ``bandwidth_level``),
        ``max_response``; the curves and ``max_response`` keep the units
        of ``responses['response']``. Both bandwidths are NaN where the
        curve does not fall below ``bandwidth_level`` on both sides of its
        peak within the grid (crossings are interpolated linearly between
        samples, in log2 frequency for the frequency curve, whose grid may
        come in any order). Units that never respond (see ``zero_tol``) get
        NaN in every summary but ``max_response``. Attrs: ``rectify``,
        ``phase_statistic``, ``bandwidth_level``, ``zero_tol``.

    Raises
    ------
    TypeError
        When ``responses`` is not a Dataset with a ``response`` variable.
    ValueError
        For a ``response`` without the dims (orientation, frequency, phase,
        atom) or the ``orientation``/``frequency`` coordinates, an
        ``orientation`` coordinate whose ``units`` say degrees or a
        ``frequency`` one in cycles per degree, frequencies outside (0, 0.5],
        a ``zero_tol`` outside [0, 1), or an invalid option.

    Warns
    -----
    UserWarning
        When the orientations do not sample [0, pi) evenly (a single one
        included), which leaves ``circular_variance`` and
        ``orientation_bandwidth`` NaN for every unit, or when 3 or more leave
        ``orientation_bandwidth`` NaN (two pi/2 apart have a circular
        variance and no half-width, without a warning).
    """
    if not isinstance(responses, xr.Dataset) or "response" not in responses:
        raise TypeError("responses must be the Dataset returned by grating_responses "
                        "(with a 'response' variable)")
    if "unit" in responses["response"].dims and "atom" not in responses.dims:
        responses = responses.rename(unit="atom")  # saved by v1model <= 0.1.0
    dims = ("atom", "orientation", "frequency", "phase")
    got = tuple(responses["response"].dims)
    if sorted(got) != sorted(dims):
        raise ValueError(f"responses['response'] must have the dimensions {dims} of "
                         f"grating_responses' output, got {got}")
    missing = [name for name in ("orientation", "frequency") if name not in responses.coords]
    if missing:
        raise ValueError(f"responses lacks the coordinate(s) {missing} (radians and "
                         "cycles/pixel) of grating_responses' output")
    from stimuli.gratings import check_frequency

    R = check_array(responses["response"].transpose(*dims).values, "responses['response']",
                    ndim=4)
    o_units = responses["orientation"].attrs.get("units")
    if isinstance(o_units, str) and o_units.strip().lower() in _DEGREES:
        # read as radians, 22.5 deg steps gave a "preferred orientation" of noise, unsaid
        raise ValueError(f"responses['orientation'] is in degrees (units {o_units!r}); "
                         "tuning_curves takes radians, as grating_responses gives them: "
                         "convert the coordinate with np.radians and set its units to 'rad'")
    f_units = responses["frequency"].attrs.get("units")
    if isinstance(f_units, str) and ("deg" in f_units.lower() or f_units.strip() == "cpd"):
        # values up to 0.5 passed and preferred_frequency came out labelled cycles/pixel
        raise ValueError(f"responses['frequency'] is per degree of visual angle (units "
                         f"{f_units!r}); tuning_curves takes cycles/pixel, as "
                         "grating_responses gives them: divide the coordinate by the pixels "
                         "per degree and set its units to 'cycles/pixel'")
    o = check_array(responses["orientation"].values, "responses['orientation']", ndim=1)
    f = check_frequency(check_array(responses["frequency"].values, "responses['frequency']",
                                    ndim=1), "responses['frequency']", positive=True)
    rectify = check_choice(rectify, "rectify", RECTIFY)
    phase_statistic = check_choice(phase_statistic, "phase_statistic", PHASE_STATISTICS)
    bandwidth_level = check_probability(bandwidth_level, "bandwidth_level")
    zero_tol = _check_zero_tol(zero_tol)
    r_units = response_units_of(responses["response"])
    R = _rectify(R, rectify)
    amp = R.max(axis=-1) if phase_statistic == "max" else R.mean(axis=-1)
    n_units, n_o, n_f = amp.shape
    best = amp.reshape(n_units, -1).argmax(axis=1)
    bo, bf = np.unravel_index(best, (n_o, n_f))
    units = np.arange(n_units)
    ori_curve = amp[units, :, bf]
    freq_curve = amp[units, bo, :]
    peak = amp.reshape(n_units, -1).max(axis=1)
    # as surround_suppression: a max_response of 1e-12 among units of ~1 "peaked" at an
    # orientation and "preferred" a frequency of noise
    alive = _responds(peak, peak.max(initial=0.0), zero_tol)
    # a flat curve has no argmax: a unit that fires at one rate whatever the grating
    # "peaked" at the first orientation and "preferred" the lowest frequency tested
    flat_o, flat_f = ((np.ptp(c, axis=1) <= 1e-12 * np.abs(c).max(axis=1)) & (c.shape[1] > 1)
                      for c in (ori_curve, freq_curve))
    z = (np.clip(ori_curve, 0, None) * np.exp(2j * o)).sum(axis=1)
    pref_o = np.mod(np.angle(z) / 2.0, np.pi)
    # a flat curve (circular variance 1) has no preferred orientation: its vector sum is 0
    # to rounding, whose angle is arbitrary (a constant unit "preferred" 90 deg)
    tuned = np.abs(z) > 1e-12 * np.clip(ori_curve, 0, None).sum(axis=1)
    pref_o = np.where(alive & tuned, np.where(pref_o >= np.pi - 1e-12, 0.0, pref_o), np.nan)
    # on an uneven grid (e.g. np.linspace(0, pi, n), which has both 0 and pi) the
    # circular variance is biased (an untuned unit gets 1 - 1/n): NaN, as the bandwidth
    even_circle = _samples_orientations_evenly(o)
    cv = np.where(alive & even_circle,
                  _circular_variance(np.clip(ori_curve, 0, None), o), np.nan)
    # the bandwidth walks the curve periodically, sample by sample in order of orientation
    # (grating_responses takes them in any order): it needs an even grid over [0, pi)
    by_o = np.argsort(o, kind="stable")
    step = np.pi / n_o
    evenly = n_o > 2 and np.allclose(np.diff(o[by_o]), step)
    # a single orientation (or two not pi/2 apart) loses the circular variance as an
    # uneven grid does: warned alike (it came silently); two pi/2 apart keep it, and
    # have no half-width to measure at all
    if not even_circle or (n_o > 2 and not evenly):
        lost = "circular_variance and orientation_bandwidth are" if not even_circle \
            else "orientation_bandwidth is"
        warnings.warn(f"responses['orientation'] {describe(np.round(o, 4).tolist())} does not "
                      "sample [0, pi) evenly (e.g. np.linspace(0, np.pi, n, endpoint=False), "
                      f"in any order): {lost} NaN for every unit", UserWarning,
                      stacklevel=user_stacklevel())
    bw_o = (_half_width(ori_curve[:, by_o], o[by_o], bandwidth_level, periodic=True)
            if evenly else np.full(n_units, np.nan))
    # the half-width walks the curve sample by sample from its peak: in order of frequency
    # (grating_responses takes the frequencies in any order; the curve keeps that order)
    by_f = np.argsort(f, kind="stable")
    half = _half_width(freq_curve[:, by_f], np.log2(f[by_f]), bandwidth_level, periodic=False)
    ds = xr.Dataset(coords={"atom": responses["atom"].values,
                            "orientation": responses["orientation"],
                            "frequency": responses["frequency"]})
    ds["orientation_tuning"] = (("atom", "orientation"), ori_curve,
                                {"units": r_units, "long_name": "response vs orientation at the "
                                 "preferred frequency"})
    ds["frequency_tuning"] = (("atom", "frequency"), freq_curve,
                              {"units": r_units, "long_name": "response vs frequency at the "
                               "preferred orientation"})
    ds["preferred_orientation"] = ("atom", pref_o, {"units": "rad", "long_name":
                                   "preferred orientation (vector sum)"})
    ds["peak_orientation"] = ("atom", np.where(alive & ~flat_o, o[bo], np.nan),
                              {"units": "rad", "long_name": "orientation of the largest response"})
    ds["circular_variance"] = ("atom", cv, {"units": "1", "long_name": "circular variance"})
    ds["orientation_bandwidth"] = ("atom", np.where(alive, bw_o, np.nan),
                                   {"units": "rad", "long_name": "orientation half-width at "
                                    f"{bandwidth_level:g} of the peak"})
    ds["preferred_frequency"] = ("atom", np.where(alive & ~flat_f, f[bf], np.nan),
                                 {"units": "cycles/pixel", "long_name": "preferred frequency"})
    ds["frequency_bandwidth"] = ("atom", np.where(alive, 2 * half, np.nan),
                                 {"units": "octave", "long_name": "frequency full width at "
                                  f"{bandwidth_level:g} of the peak"})
    ds["max_response"] = ("atom", peak, {"units": r_units, "long_name": "largest response"})
    ds.attrs.update(analysis="tuning curves", rectify=rectify, phase_statistic=phase_statistic,
                    bandwidth_level=bandwidth_level, zero_tol=zero_tol)
    return ds


def drifting_grating_responses(
    encoder,
    shape,
    *,
    orientations=16,
    frequencies=8,
    temporal_frequency: float = 2.0,
    frames_per_cycle: int = 16,
    n_cycles: int = 1,
    contrast: float = 1.0,
    rectify: str = "positive",
    response_units: str = RESPONSE_UNITS,
    zero_tol: float = ZERO_TOL,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Mean (F0) and first-harmonic (F1) responses to drifting gratings.

    Each frame is encoded as an independent stimulus (the encoder is
    instantaneous: ODE fixed points, spike counts per frame).

    Parameters
    ----------
    encoder : callable
        As in :func:`grating_responses`.
    shape : int or (height, width)
        Grating size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientations : int or array_like, default 16
        Drift directions in radians; an int n gives n values evenly spaced
        over [0, pi), as in :func:`grating_responses`.
    frequencies : int or array_like, default 8
        Cycles/pixel, in [0, 0.5]: a frequency of 0 (a flickering uniform
        field) is allowed; an int as in :func:`grating_responses`.
    temporal_frequency : float, default 2.0
        Drift rate in Hz, > 0.
    frames_per_cycle : int, default 16
        Frames per temporal cycle, at least 3 (frame rate =
        ``frames_per_cycle * temporal_frequency`` Hz). F0 and F1 are the
        discrete Fourier coefficients of the frames, so the harmonics of a
        rectified response alias into them and F1 / F0 depends on the frame
        sampling: a half-wave rectified sinusoid (F1 / F0 = pi/2 = 1.5708 in
        continuous time) gives, for an even ``N = frames_per_cycle``, from
        ``N sin(pi/N) / 2`` (its crest halfway between two frames) to
        ``N tan(pi/N) / 2`` (its crest on a frame): 1.531-1.657 at 8,
        1.561-1.591 at 16 (up to 1.3% above pi/2), 1.568-1.576 at 32,
        1.5702-1.5721 at 64 (measured 2026-12-07; odd N alias F1 too, 1.0-2.0
        at 3). Take 64 for F1 / F0 within 0.1%.
    n_cycles : int, default 1
        Cycles shown.
    contrast : float, default 1.0
        Grating amplitude (> 0) in the units of the encoder's input.
    rectify : {"positive", "abs", "none"}, default "positive"
        Applied before F0 and F1 (a full-wave ``"abs"`` doubles the
        modulation frequency and hides F1; with ``"none"`` F0 is the signed
        mean, and F1/F0 is NaN where it is not positive, e.g. 0 to rounding
        for a linear unit).
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response``, ``f0`` and ``f1``: e.g. ``"units of X"`` for LCA codes
        (:mod:`v1model.inference`), ``"Hz"`` for rates.
    zero_tol : float, default 1e-9
        In [0, 1): a unit does not respond to a grating when its largest
        rectified response over the frames is at most ``zero_tol`` times the
        largest in the dataset (0: only exact zeros), as in
        :func:`tuning_curves`; its ``modulation_ratio`` there is NaN (F1 /
        F0 of rounding noise, e.g. 1e-13 against responses of about 1,
        was any number up to 2).
    batch_size : int, default 4096
        Frames per encoder call; the frames are made one batch at a time.
    progress : bool or None, default None
        A progress bar over batches: None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        ``response`` (orientation, frequency, time, atom), the rectified
        response per frame with ``time`` in seconds; ``f0``, ``f1`` (both in
        ``response_units``) and ``modulation_ratio`` = F1 / F0 (1)
        (orientation, frequency, atom), NaN where the unit does not respond
        (see ``zero_tol``) or where F0 is at most ``zero_tol`` times the
        largest ``|response|`` of that grating's time course (F0 of
        rounding: none to divide by); simple cells have F1 / F0 > 1
        (Skottun et al. 1991). Attrs: ``temporal_frequency``, ``frame_rate``, ``n_cycles``,
        ``contrast``, ``rectify``, ``zero_tol``.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For ``orientations`` beyond 2 pi in magnitude (degrees, not
        radians), frequencies outside [0, 0.5], a non-positive
        ``temporal_frequency`` or ``contrast``, ``frames_per_cycle < 3``,
        a ``zero_tol`` outside [0, 1), an invalid encoder output, or responses
        to every frame that would not fit in memory.
    """
    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    o = _grid_or_count(orientations, "orientations", (0.0, np.pi), angle=True)
    f = _frequency_grid(frequencies, shape, h, w)
    tf = check_positive(temporal_frequency, "temporal_frequency")
    fpc = check_int(frames_per_cycle, "frames_per_cycle", minimum=3)
    n_cycles = check_int(n_cycles, "n_cycles", minimum=1)
    contrast = check_positive(contrast, "contrast")
    rectify = check_choice(rectify, "rectify", RECTIFY)
    response_units = check_response_units(response_units)
    zero_tol = _check_zero_tol(zero_tol)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_progress(progress)
    from stimuli.gratings import NYQUIST, check_frequency, drifting_grating

    check_frequency(f, "frequencies")

    frame_rate = fpc * tf
    duration = n_cycles / tf

    def movie(pair):
        """The frames (n_t, h * w) of orientation x frequency pair ``pair``, and times."""
        theta, freq = o[pair // len(f)], f[pair % len(f)]
        fr, t = drifting_grating((h, w), theta, freq, tf, duration, frame_rate,
                                 contrast=contrast)
        return fr.reshape(len(fr), h * w), t

    # a movie at the Nyquist frequency warns of blank frames once, made here; the batches
    # make a movie again where they split it
    for pair in np.flatnonzero(np.tile(f == NYQUIST, len(o))):
        movie(pair)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        times = movie(0)[1]
    n_t = len(times)

    def batch(start, stop):
        """Frames ``start ... stop - 1`` of all the pairs' movies, one after the other."""
        first, last = start // n_t, (stop - 1) // n_t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # warned of above
            rows = np.concatenate([movie(pair)[0] for pair in range(first, last + 1)])
        return rows[start - first * n_t:stop - first * n_t]

    # made batch by batch, as in grating_responses: every frame of every movie, stacked
    # first, held twice their size at once whatever batch_size
    R = _encode_batches(encoder, batch, batch_size, progress, "drifting gratings",
                        len(o) * len(f) * n_t,
                        ("(len(orientations), len(frequencies), frames)", (len(o), len(f), n_t)))
    R = _rectify(R.reshape(len(o), len(f), n_t, -1), rectify)
    f0 = R.mean(axis=2)
    phasor = np.exp(-2j * np.pi * tf * times)[None, None, :, None]
    f1 = 2.0 * np.abs((R * phasor).mean(axis=2))
    # a time course at rounding level of the largest response has no F1/F0 to measure
    alive = _responds(R.max(axis=2), R.max(initial=0.0), zero_tol)
    # nor has one whose F0 is rounding of its own responses: unrectified, a linear unit's
    # mean over a cycle is 0 to rounding, and F1 / 1e-17 gave F1/F0 = 5e16, a "simple cell"
    measured = f0 > zero_tol * np.abs(R).max(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(alive & measured & (f0 > 0), f1 / f0, np.nan)
    ds = xr.Dataset(
        {
            "response": (("orientation", "frequency", "time", "atom"), R,
                         {"units": response_units, "long_name": "rectified response per frame"}),
            "f0": (("orientation", "frequency", "atom"), f0,
                   {"units": response_units, "long_name": "mean response (F0)"}),
            "f1": (("orientation", "frequency", "atom"), f1,
                   {"units": response_units, "long_name": "first-harmonic amplitude (F1)"}),
            "modulation_ratio": (("orientation", "frequency", "atom"), ratio,
                                 {"units": "1", "long_name": "F1 / F0"}),
        },
        coords={
            "orientation": ("orientation", o, {"units": "rad"}),
            "frequency": ("frequency", f, {"units": "cycles/pixel"}),
            "time": ("time", times, {"units": "s"}),
            "atom": np.arange(R.shape[-1]),
        },
    )
    ds.attrs.update(analysis="drifting gratings", temporal_frequency=tf, frame_rate=frame_rate,
                    n_cycles=n_cycles, contrast=contrast, rectify=rectify, zero_tol=zero_tol)
    return ds


def contrast_response(
    encoder,
    shape,
    orientation,
    frequency,
    *,
    contrasts=8,
    phases=8,
    units=None,
    rectify: str = "positive",
    response_units: str = RESPONSE_UNITS,
    baseline: bool = True,
    saturation: float = SATURATION,
    min_fit_r2: float = MIN_FIT_R2,
    zero_tol: float = ZERO_TOL,
    batch_size: int = 4096,
    progress: bool | None = None,
) -> xr.Dataset:
    """Contrast-response curves, each unit at its own grating, with c50 and threshold.

    Two summaries of each curve, for the two shapes a model unit can have:

    - a Naka-Rushton (hyperbolic-ratio) fit (Albrecht & Hamilton 1982),
      ``r(c) = b + rmax c^n / (c^n + c50^n)``, by
      :func:`scipy.optimize.least_squares`. ``c50`` is reported only when the
      fitted curve saturates within the tested range: ``c50`` at most the
      highest tested contrast and ``r(c_max) - b >= saturation * rmax``; a
      curve still rising at the top contrast (e.g. a threshold-linear unit)
      has no c50 to measure and gets NaN with ``c50_flag = "not saturating"``.
      The fit must also leave less than half the residual sum of squares of
      the best threshold-linear fit ``b + a max(c - t, 0)``: a few points of
      a straight rise are fitted by a steep sigmoid too.
    - ``threshold``: the lowest contrast that evokes a response, the zero
      crossing of the line through the first two responding contrasts,
      kept between the last silent and the first responding contrast. For a
      threshold-linear unit (LCA, soft thresholding) this is exact, and it
      is the meaningful number: such a unit has no c50.

    Parameters
    ----------
    encoder : callable
        As in :func:`grating_responses`.
    shape : int or (height, width)
        Grating size in pixels. Refused when ``encoder`` is the ``encode`` of a network
        (``SparseCodingNetwork``, ``LISTA``) that records another patch shape.
    orientation, frequency : float or array_like, shape (n_selected,)
        The grating shown to each selected unit (radians, cycles/pixel in
        [0, 0.5]),
        e.g. ``preferred_orientation`` and ``preferred_frequency`` from
        :func:`tuning_curves`.
    contrasts : int or array_like, default 8
        Grating amplitudes, >= 0 (in the units of the encoder's input); an
        int n gives n values log-spaced over [0.01, 1]. The fit needs more
        distinct positive contrasts than its parameters (4 with ``baseline``,
        else 3); with fewer it would interpolate them, so no unit is fitted
        (``c50_flag = "too few contrasts"``, with a warning) and only the
        threshold is measured.
    phases : int or array_like, default 8
        The response is the maximum over these phases (radians); an int n
        gives n values evenly spaced over [0, 2 pi).
    units : array_like of int, shape (n_units,), optional
        Which units (columns of the encoder's output) to measure, one per
        grating; default: the ``atom`` labels of a DataArray ``orientation``
        or ``frequency`` (a selection such as
        ``tuning.preferred_orientation.sel(atom=[3, 7])``, or ``.sel(atom=3)``),
        else units ``0 ... n_selected - 1`` (unit ``i`` is shown grating
        ``i``; with a scalar orientation and frequency, unit 0 only).
    rectify : {"positive", "abs", "none"}, default "positive"
        How signed responses become rates.
    response_units : str, default "units of the encoder's output"
        The units of the encoder's output, recorded as the units of
        ``response``, ``rmax`` and ``baseline``: e.g. ``"units of X"`` for
        LCA codes (:mod:`v1model.inference`), ``"Hz"`` for rates.
    baseline : bool, default True
        Fit a baseline ``b`` (else ``b = 0``).
    saturation : float, default 0.75
        In (0, 1): the fraction of the fitted ``rmax`` the curve must reach
        at the highest tested contrast for its c50 to count (default 0.75:
        c_max >= 3 c50 for n = 1, >= 1.7 c50 for n = 2).
    min_fit_r2 : float, default 0.9
        In [0, 1]: fits with a lower R^2 get ``c50_flag = "poor fit"`` and
        NaN parameters (default 0.9).
    zero_tol : float, default 1e-9
        In [0, 1): a unit never responds (``c50_flag = "no response"``, NaN
        threshold and fit) when its largest response is at most
        ``zero_tol`` times the largest response of every selected unit, as
        in :func:`tuning_curves`; within a responding unit's curve, a
        response counts as non-zero above ``zero_tol`` times the unit's
        largest response (LCA's silent responses are exact zeros).
    batch_size : int, default 4096
        Stimuli per encoder call.
    progress : bool or None, default None
        A progress bar over batches, then one over the units' Naka-Rushton
        fits: None once each has run 2 s (:mod:`v1model.progress`), True at
        once, False never.

    Returns
    -------
    xarray.Dataset
        Over ``atom`` (and ``contrast``): ``response`` (atom, contrast, in
        ``response_units``); ``c50`` (units of the encoder's input, as the
        ``contrast`` coordinate; NaN unless ``c50_flag`` is
        ``"saturating"``), ``exponent`` (n, 1), ``rmax`` and ``baseline``
        (``response_units``) of the Naka-Rushton fit (NaN where c50 is),
        ``fit_r2`` (R^2 of the fit, for every responding unit),
        ``c50_flag`` (str: ``"saturating"``, ``"not saturating"``, ``"poor
        fit"``, ``"too few contrasts"`` or ``"no response"``, see
        ``zero_tol``), ``threshold``
        (units of the encoder's input; NaN if the unit never responds,
        already responds at the lowest tested contrast, or responds only at
        the highest), ``grating_orientation``, ``grating_frequency``. Every
        attr is a number or a string.

    Raises
    ------
    TypeError
        When ``encoder`` is not callable or returns a non-numeric array, or
        ``response_units`` is not a non-empty string.
    ValueError
        For negative contrasts, ``orientation`` or ``phases`` beyond 2 pi in
        magnitude (degrees, not radians), frequencies outside [0, 0.5], ``units`` that
        are not non-negative integers or exceed the encoder's units,
        ``orientation``/``frequency`` not matching ``units`` (in number, or
        DataArrays labelled with other atoms than ``units`` or each other), or
        an option out of range.

    References
    ----------
    Albrecht, D. G. & Hamilton, D. B. (1982). Striate cortex of monkey and
    cat: contrast response function. J. Neurophysiol. 48, 217-237.

    Examples
    --------
    >>> import numpy as np
    >>> from stimuli import gabor_patch
    >>> D = gabor_patch(12, 0.3, 0.18, 0.5, 2.2, 3.0).reshape(1, -1)
    >>> D /= np.linalg.norm(D)
    >>> relu = lambda X: np.maximum(X @ D.T - 0.5, 0.0)  # threshold-linear
    >>> ds = contrast_response(relu, 12, 0.3, 0.18, contrasts=np.linspace(0, 1, 11))
    >>> str(ds.c50_flag.values[0]), bool(np.isnan(ds.c50[0]))
    ('not saturating', True)
    """
    check_encoder(encoder)
    h, w = encoder_stimulus_shape(encoder, shape)
    c = _grid_or_count(contrasts, "contrasts", (0.01, 1.0), log=True)
    if np.any(c < 0):
        raise ValueError(f"contrasts must be >= 0, got min {c.min()}")
    ph = _grid_or_count(phases, "phases", (0.0, 2 * np.pi), angle=True)
    rectify = check_choice(rectify, "rectify", RECTIFY)
    response_units = check_response_units(response_units)
    baseline = check_bool(baseline, "baseline")
    saturation = check_probability(saturation, "saturation")
    min_fit_r2 = check_probability(min_fit_r2, "min_fit_r2", open_interval=False)
    zero_tol = _check_zero_tol(zero_tol)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_progress(progress)
    from stimuli.gratings import check_frequency, grating

    # a DataArray selection (tuning.preferred_orientation.sel(atom=[3, 7])) names its units
    units = units_from_labels(units, (orientation, "orientation"), (frequency, "frequency"))
    o = _check_radians(np.atleast_1d(check_array(orientation, "orientation", ndim=(0, 1))),
                       "orientation")
    f = np.atleast_1d(check_frequency(check_array(frequency, "frequency", ndim=(0, 1))))
    if units is None:
        n_sel = max(len(o), len(f))
        units = np.arange(n_sel)
    else:
        units = np.atleast_1d(np.asarray(units))
        if units.size == 0:  # checked first: np.asarray([]) is float, not "not integer"
            raise ValueError(f"units is empty ({units!r}); select at least one unit, or "
                             "leave units=None for units 0 ... n_selected - 1")
        if units.ndim != 1 or not np.issubdtype(units.dtype, np.integer) or np.any(units < 0):
            raise ValueError(f"units must be non-negative integer indices, got {units!r}")
    try:
        o, f = (np.broadcast_to(a, units.shape) for a in (o, f))
    except ValueError as exc:
        raise ValueError(
            f"orientation ({o.shape}) and frequency ({f.shape}) must be scalars or have one "
            f"value per selected unit ({len(units)})"
        ) from exc
    # as many points as parameters: the curve interpolates them (R^2 = 1 whatever the
    # shape) and the least-squares search wanders along its degenerate directions (5 s
    # per unit at 3 contrasts); c50 is not measured, the threshold still is
    n_params, n_levels = 3 + int(baseline), np.count_nonzero(np.unique(c) > 0)
    fittable = n_levels > n_params
    if not fittable:
        warnings.warn(f"contrasts has {n_levels} distinct positive values, no more than the "
                      f"{n_params} parameters of the Naka-Rushton fit (baseline={baseline}): "
                      "it would interpolate them, so c50 is not measured (c50_flag 'too few "
                      "contrasts'); the contrast threshold still is", UserWarning,
                      stacklevel=user_stacklevel())
    stim = grating((h, w), o[:, None, None], f[:, None, None], ph[None, None, :],
                   c[None, :, None])  # (n_sel, n_c, n_ph, h, w)
    R = _encode_batches(encoder, stim.reshape(-1, h * w), batch_size, progress, "contrasts")
    if units.max() >= R.shape[1]:
        raise ValueError(f"units index {int(units.max())} but the encoder has {R.shape[1]} units")
    R = R.reshape(len(units), len(c), len(ph), -1)
    own = R[np.arange(len(units)), :, :, units]  # (n_sel, n_c, n_ph)
    resp = _rectify(own, rectify).max(axis=-1)

    n_sel = len(units)
    fits = np.full((n_sel, 4), np.nan)  # rmax, c50, n, b
    fit_r2 = np.full(n_sel, np.nan)
    threshold = np.full(n_sel, np.nan)
    flag = np.full(n_sel, "no response", dtype=object)
    order = np.argsort(c, kind="stable")
    cs = c[order]
    # the fits take ~10 ms a unit (3 refined grid starts): seconds for a dictionary
    units_bar = progress_bar(progress if fittable else False, total=n_sel,
                             desc="Naka-Rushton fits", unit="unit", iterable=range(n_sel))
    # a unit at rounding level of the others (1e-12 among ~1) got a threshold and a fit
    # of noise: it never responds, as in tuning_curves
    alive = _responds(np.abs(resp).max(axis=1, initial=0.0), np.abs(resp).max(initial=0.0),
                      zero_tol)
    for k in units_bar:
        r = resp[k, order]
        top = np.abs(r).max()
        if not alive[k]:
            continue
        threshold[k] = _contrast_threshold(cs, r, zero_tol * top)
        if not fittable:
            flag[k] = "too few contrasts"
            continue
        p, fit_r2[k] = _fit_naka_rushton(cs, r, baseline)
        if not fit_r2[k] >= min_fit_r2:
            flag[k] = "poor fit"
            continue
        rmax, c50, n, b = p
        reached = rmax * cs[-1] ** n / (cs[-1] ** n + c50**n) if rmax > 0 else 0.0
        # saturation must also be what the data show: a threshold-linear function (no
        # saturation) must leave clearly more residual than the Naka-Rushton fit
        sse_nr = (1.0 - fit_r2[k]) * ((r - r.mean()) ** 2).sum()
        better = sse_nr < LINEAR_RESIDUAL_RATIO * _threshold_linear_sse(cs, r, baseline)
        if rmax > 0 and c50 <= cs[-1] and reached >= saturation * rmax and better:
            flag[k] = "saturating"
            fits[k] = p
        else:
            flag[k] = "not saturating"
    ds = xr.Dataset(
        {
            "response": (("atom", "contrast"), resp,
                         {"units": response_units, "long_name": "response (max over phase)"}),
            "c50": ("atom", fits[:, 1], {"units": STIMULUS_UNITS, "long_name":
                    "semi-saturation contrast of the Naka-Rushton fit (NaN unless saturating)"}),
            "exponent": ("atom", fits[:, 2], {"units": "1", "long_name":
                         "Naka-Rushton exponent n (NaN unless saturating)"}),
            "rmax": ("atom", fits[:, 0], {"units": response_units, "long_name":
                     "Naka-Rushton rmax, above baseline (NaN unless saturating)"}),
            "baseline": ("atom", fits[:, 3], {"units": response_units, "long_name":
                         "Naka-Rushton baseline (NaN unless saturating)"}),
            "fit_r2": ("atom", fit_r2, {"units": "1", "long_name":
                       "R^2 of the Naka-Rushton fit"}),
            "c50_flag": ("atom", flag.astype(str), {"units": "1", "long_name":
                         "saturating, not saturating, poor fit, too few contrasts or "
                         "no response"}),
            "threshold": ("atom", threshold, {"units": STIMULUS_UNITS, "long_name":
                          "contrast threshold: lowest contrast with a response (interpolated)"}),
            "grating_orientation": ("atom", o.astype(float), {
                "units": "rad", "long_name": "orientation of the gratings"}),
            "grating_frequency": ("atom", f.astype(float), {
                "units": "cycles/pixel", "long_name": "spatial frequency of the gratings"}),
        },
        coords={"atom": units, "contrast": ("contrast", c, {
            "units": STIMULUS_UNITS, "long_name": "grating amplitude"})},
    )
    ds.attrs.update(analysis="contrast response", rectify=rectify, n_phases=len(ph),
                    baseline=int(baseline), saturation=saturation, min_fit_r2=min_fit_r2,
                    zero_tol=zero_tol)
    return ds


def _check_number(value, name):
    """A finite real number of either sign; a bool (``rmax=True``) is refused as the
    check_* helpers refuse it, not taken as 1."""
    if isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) == np.bool_:
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    return float(check_array(value, name, ndim=0))


def naka_rushton(c, rmax, c50, n, baseline=0.0):
    """Hyperbolic-ratio contrast response ``baseline + rmax c^n / (c^n + c50^n)``.

    Parameters
    ----------
    c : array_like
        Contrasts, >= 0.
    rmax : float
        Amplitude above baseline (response units).
    c50 : float
        Semi-saturation contrast (> 0, contrast units).
    n : float
        Exponent (> 0).
    baseline : float, default 0.0
        Response at zero contrast (response units).

    Returns
    -------
    ndarray
        Responses, the shape of ``c``.

    Raises
    ------
    TypeError
        For complex or non-numeric ``c`` or parameters, or a bool parameter.
    ValueError
        For empty, negative or non-finite ``c``, a ``c50`` or ``n`` that is
        not positive and finite, or a non-finite ``rmax`` or ``baseline``.
    """
    c = check_array(check_real(c, "c", "contrasts"), "c")
    if np.any(c < 0):
        raise ValueError(f"c must be contrasts >= 0, got a minimum of {c.min():g}")
    rmax = _check_number(rmax, "rmax")
    c50 = check_positive(c50, "c50")
    n = check_positive(n, "n")
    baseline = _check_number(baseline, "baseline")
    # c^n / (c^n + c50^n) = 1 / (1 + (c50 / c)^n): no overflow of c50^n (c50 = 1e300)
    # nor inf / inf for a large n; c = 0 gives 1 / inf = 0
    with np.errstate(divide="ignore", over="ignore"):
        return baseline + rmax / (1.0 + (c50 / c) ** n)


def _contrast_threshold(c, r, tol):
    """Zero crossing of the line through the first two responding points.

    ``c`` sorted; kept within [last silent contrast, first responding
    contrast]. NaN if the first tested contrast already responds (no silent
    contrast below it) or if only the last one does.
    """
    on = np.flatnonzero(r > tol)
    if on.size == 0 or on[0] == 0 or on[0] + 1 >= len(c):
        return np.nan
    j = on[0]
    slope = (r[j + 1] - r[j]) / (c[j + 1] - c[j]) if c[j + 1] > c[j] else 0.0
    t = c[j] - r[j] / slope if slope > 0 else c[j - 1]
    return float(np.clip(t, c[j - 1], c[j]))


def _threshold_linear_sse(c, r, baseline):
    """Smallest residual sum of squares of ``b + a max(c - t, 0)`` (exact).

    ``c`` sorted. For t between two tested contrasts the model is linear in
    (a, b, b - a t) on the points above and b below: solve that least-squares
    problem for each gap and keep t if it falls in the gap; the optimum of a
    gap whose t falls outside is on its edge, a tested contrast, which is
    also tried (a 2-parameter problem). ``b = 0`` without ``baseline``.
    """
    best = np.inf
    n = len(c)

    def lstsq(A):
        coef, *_ = np.linalg.lstsq(A, r, rcond=None)
        return coef, float(((A @ coef - r) ** 2).sum())

    ones = np.ones(n)
    for t in c:  # t at a tested contrast
        ramp = np.maximum(c - t, 0.0)
        _, sse = lstsq(np.stack([ramp, ones], 1) if baseline else ramp[:, None])
        best = min(best, sse)
    for j in range(n - 1):  # t inside the gap (c[j], c[j + 1])
        above = (c > c[j]).astype(float)
        cols = [above * c, above] + ([1.0 - above] if baseline else [])
        coef, sse = lstsq(np.stack(cols, 1))
        a, beta0 = coef[0], coef[1]
        b = coef[2] if baseline else 0.0
        if a != 0 and c[j] < (b - beta0) / a < c[j + 1]:
            best = min(best, sse)
    return best


#: Grid of the Naka-Rushton fit's starts: log-spaced c50 values over their bounds and
#: exponents over [0.3, 10]; the best _NR_STARTS local minima of the grid are refined
_NR_GRID = (48, 24)
_NR_STARTS = 3


def _naka_rushton_sigmoid(logc, logc50, n):
    """``c^n / (c^n + c50^n)`` from log contrasts (``-inf`` at c = 0 gives 0).

    Written with tanh: no overflow of ``exp`` for a large ``n`` or a c50 far
    from the tested contrasts. Broadcasts.
    """
    return 0.5 * (1.0 - np.tanh(0.5 * n * (logc50 - logc)))


def _best_amplitudes(s, y, baseline):
    """Least-squares ``rmax >= 0`` and ``b`` in [-1, 1] of ``b + rmax s`` given ``s``.

    ``s`` (..., n_c), ``y`` (n_c,). Exact under the bounds: the optimum of this
    convex problem in two unknowns is the unconstrained one when it is feasible,
    else it lies on an edge (rmax = 0, b = -1 or b = 1), each a one-unknown
    problem. Returns (rmax, b, sse), each of shape (...).
    """
    def sse(rmax, b):
        return ((b[..., None] + rmax[..., None] * s - y) ** 2).sum(-1)

    ss = (s * s).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not baseline:
            rmax = np.nan_to_num(np.maximum((s @ y) / ss, 0.0))  # s = 0: rmax = 0
            zero = np.zeros_like(rmax)
            return rmax, zero, sse(rmax, zero)
        ds, dy = s - s.mean(-1, keepdims=True), y - y.mean()
        slope = (ds @ dy) / (ds * ds).sum(-1)  # NaN for a flat s
        candidates = [(slope, y.mean() - slope * s.mean(-1))]
        candidates += [(np.maximum((s @ (y - b)) / ss, 0.0), np.full_like(ss, b))
                       for b in (-1.0, 1.0)]
        candidates.append((np.zeros_like(ss), np.full_like(ss, np.clip(y.mean(), -1.0, 1.0))))
    best = (np.zeros_like(ss), np.zeros_like(ss), np.full_like(ss, np.inf))
    for rmax, b in candidates:
        feasible = (rmax >= 0) & (np.abs(b) <= 1)  # False for NaN
        e = np.where(feasible, sse(np.nan_to_num(rmax), np.nan_to_num(b)), np.inf)
        better = e < best[2]
        best = tuple(np.where(better, new, old) for new, old in zip((rmax, b, e), best))
    return best


def _fit_naka_rushton(c, r, baseline):
    """Least-squares (rmax, c50, n, b) and R^2.

    Fitted on ``r`` scaled to a peak |r| of 1, with c50 in log space, bounded to
    the tested range widened 100x each way, n in [0.3, 10] and b in [-1, 1]
    (scaled). The amplitude searched is ``a = rmax s(c_max)``, the rise at the
    highest tested contrast, not rmax: a curve still rising at ``c_max`` is fitted
    equally well by any c50 far above it with rmax growing as ``c50^n``, a curved
    valley that a search in rmax cannot follow (it is straight and flat in ``a``).
    Over a grid of (c50, n), ``a`` and b are exact bounded linear least squares;
    the best few local minima of the grid are refined by a bounded trust-region
    search with the analytic Jacobian. (10 fixed starts took ~2,000 residual
    evaluations, a straight line ~10,000 counting the finite differences; the
    grid's starts reach the same or a smaller residual on planted, linear,
    saturating and LCA curves, 20x faster.) NaN for a flat or non-finite ``r``
    or fewer than two positive contrasts.
    """
    from scipy.ndimage import minimum_filter
    from scipy.optimize import least_squares

    pos = c[c > 0]
    scale = np.abs(r).max()
    if pos.size < 2 or not np.isfinite(scale) or np.ptp(r) == 0:
        return np.full(4, np.nan), np.nan
    y = r / scale
    lo_c, top = pos.min(), np.log(pos.max())
    lo = np.array([0.0, np.log(lo_c / 100), 0.3, -1.0][: 3 + baseline])
    hi = np.array([np.inf, top + np.log(100), 10.0, 1.0][: 3 + baseline])
    with np.errstate(divide="ignore"):
        logc = np.log(c)  # -inf at c = 0, where the model is b
    dlogc = np.where(c > 0, logc, 0.0)  # d/dn is 0 at c = 0, not 0 * inf

    def shape(logc50, n):
        """s(c) / s(c_max): 0 at c = 0, 1 at c_max (logaddexp: no overflow)."""
        return np.exp(np.logaddexp(0.0, n * (logc50 - top))
                      - np.logaddexp(0.0, n * (logc50 - logc)))

    grid_c50 = np.linspace(lo[1], hi[1], _NR_GRID[0])[:, None, None]
    grid_n = np.geomspace(lo[2], hi[2], _NR_GRID[1])[None, :, None]
    amp, b, sse = _best_amplitudes(shape(grid_c50, grid_n), y, baseline)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    starts = np.argwhere(sse == minimum_filter(sse, size=3, mode="nearest"))
    starts = starts[np.argsort(sse[tuple(starts.T)], kind="stable")][:_NR_STARTS]

    def fun(q):
        return (q[3] if baseline else 0.0) + q[0] * shape(q[1], q[2]) - y

    def jac(q):
        g = shape(q[1], q[2])
        s, s_top = (_naka_rushton_sigmoid(x, q[1], q[2]) for x in (logc, top))
        # d log s / dz = 1 - s at z = n (log c - log c50)
        cols = [g, -q[2] * q[0] * g * (s_top - s),
                q[0] * g * ((1.0 - s) * (dlogc - q[1]) - (1.0 - s_top) * (top - q[1]))]
        return np.stack(cols + ([np.ones_like(s)] if baseline else []), 1)

    # least_squares wants a start strictly inside the bounds; the grid's edges are on them
    span = np.where(np.isfinite(hi), hi - lo, 1.0)
    best = None
    for i, j in starts:
        q0 = np.array([amp[i, j], grid_c50[i, 0, 0], grid_n[0, j, 0], b[i, j]][: 3 + baseline])
        res = least_squares(fun, np.clip(q0, lo + 1e-9 * span, hi - 1e-9 * span), jac=jac,
                            bounds=(lo, hi), method="trf", xtol=1e-12, ftol=1e-12,
                            gtol=1e-12, max_nfev=2000)
        if best is None or res.cost < best.cost:
            best = res
    a, logc50, n = best.x[:3]
    rmax = a * (1.0 + np.exp(n * (logc50 - top)))  # a / s(c_max), no 1 - tanh rounding
    ss_tot = ((y - y.mean()) ** 2).sum()
    return (np.array([rmax * scale, np.exp(logc50), n, best.x[3] * scale if baseline else 0.0]),
            1.0 - 2.0 * best.cost / ss_tot)
