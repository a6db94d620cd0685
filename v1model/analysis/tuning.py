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

import numpy as np
import xarray as xr

from ..validation import (check_array, check_axis, check_bool, check_choice, check_int,
                          check_positive, check_probability)
from ._common import call_encoder, check_encoder, image_shape

__all__ = [
    "grating_responses",
    "tuning_curves",
    "drifting_grating_responses",
    "contrast_response",
    "circular_variance",
    "RECTIFY",
]

RECTIFY = ("positive", "abs", "none")
PHASE_STATISTICS = ("max", "mean")


def _rectify(R, kind):
    if kind == "positive":
        return np.maximum(R, 0.0)
    if kind == "abs":
        return np.abs(R)
    return R


def _grid_or_count(value, name, default_range, log=False, endpoint=False):
    """An int n (-> n evenly spaced values over default_range) or explicit values."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = check_int(value, name, minimum=1)
        lo, hi = default_range
        if log:
            return np.geomspace(lo, hi, n)
        return np.linspace(lo, hi, n, endpoint=endpoint)
    return check_array(value, name, ndim=1)


def _encode_batches(encoder, X, batch_size, progress, desc):
    from tqdm.auto import tqdm

    out, n_units = [], None
    starts = range(0, len(X), batch_size)
    for s in tqdm(starts, desc=desc, disable=not progress, leave=False):
        R = call_encoder(encoder, X[s : s + batch_size], n_units)
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
    batch_size: int = 4096,
    progress: bool = False,
) -> xr.Dataset:
    """Responses of every unit to static gratings over orientation x frequency x phase.

    Parameters
    ----------
    encoder : callable
        ``encoder(X) -> R``, ``X`` (n, height * width), ``R`` (n, n_units).
    shape : int or (height, width)
    orientations : int or array_like
        Radians; an int n gives n values evenly spaced over [0, pi) (gratings
        at theta + pi are the same as at theta with the phase reversed, so
        [0, pi) with a full cycle of phases covers every grating).
    frequencies : int or array_like
        Cycles/pixel, in (0, 0.5] (0.5 is the Nyquist frequency); an int n
        gives n values log-spaced from one cycle per patch
        (1 / max(height, width)) to 0.45.
    phases : int or array_like
        Radians; an int n gives n values evenly spaced over [0, 2 pi).
    contrast : float
        Grating amplitude in the units of the encoder's input.
    batch_size : int
        Stimuli per encoder call.
    progress : bool

    Returns
    -------
    xarray.Dataset with ``response`` (orientation, frequency, phase, unit).
    """
    check_encoder(encoder)
    h, w = image_shape(shape)
    o = _grid_or_count(orientations, "orientations", (0.0, np.pi))
    f = _grid_or_count(frequencies, "frequencies", (1.0 / max(h, w), 0.45), log=True)
    ph = _grid_or_count(phases, "phases", (0.0, 2 * np.pi))
    from stimuli.gratings import check_frequency, grating_set

    check_frequency(f, "frequencies", positive=True)
    contrast = check_positive(contrast, "contrast")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_bool(progress, "progress")

    stim = grating_set((h, w), o, f, ph, contrast).reshape(-1, h * w)
    R = _encode_batches(encoder, stim, batch_size, progress, "gratings")
    ds = xr.Dataset(
        {"response": (("orientation", "frequency", "phase", "unit"),
                      R.reshape(len(o), len(f), len(ph), -1),
                      {"units": "1", "long_name": "response to a static grating"})},
        coords={
            "orientation": ("orientation", o, {"units": "rad"}),
            "frequency": ("frequency", f, {"units": "cycles/pixel"}),
            "phase": ("phase", ph, {"units": "rad"}),
            "unit": np.arange(R.shape[1]),
        },
    )
    ds.attrs.update(analysis="static gratings", contrast=contrast, height=h, width=w)
    return ds


def circular_variance(curve, orientations, axis=-1):
    """Circular variance of orientation tuning, 1 - |sum r e^{2i theta}| / sum r.

    0 for a unit that answers a single orientation, 1 for an untuned unit
    (Ringach, Shapley & Hawken 2002). ``orientations`` (radians) must sample
    [0, pi) evenly; ``curve`` must be non-negative. NaN where sum r = 0.

    Parameters
    ----------
    curve : array_like, shape (..., n_orientations, ...)
        Non-negative responses, orientations along ``axis``.
    orientations : array_like, shape (n_orientations,)
        Radians.
    axis : int

    Returns
    -------
    ndarray, the shape of ``curve`` without ``axis``; values in [0, 1].
    """
    curve = check_array(curve, "curve", ndim=None)
    if curve.ndim == 0:
        raise ValueError(f"curve must have an orientation axis, got a scalar {curve!r}")
    axis = check_axis(axis, curve.ndim)
    orientations = check_array(orientations, "orientations", ndim=1)
    if len(orientations) != curve.shape[axis]:
        raise ValueError(f"orientations has {len(orientations)} values but curve has "
                         f"{curve.shape[axis]} along axis {axis} (shape {curve.shape})")
    if curve.min() < 0:
        raise ValueError(f"curve must be non-negative (rectified responses), got a minimum of "
                         f"{curve.min():.6g}")
    return _circular_variance(curve, orientations, axis)


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
        (orientation, frequency, phase, unit), with orientations in radians
        and frequencies in (0, 0.5] cycles/pixel as coordinates.
    rectify : {"positive", "abs", "none"}
    phase_statistic : {"max", "mean"}
    bandwidth_level : float
        Level, as a fraction of the peak, at which bandwidths are measured
        (0.5: half-width at half-height).

    Returns
    -------
    xarray.Dataset over ``unit`` with
        ``orientation_tuning`` (unit, orientation), ``frequency_tuning``
        (unit, frequency), ``preferred_orientation`` (rad, vector sum of the
        orientation curve: angle(sum r e^{2i theta}) / 2), ``peak_orientation``
        (rad, grid argmax), ``circular_variance``, ``orientation_bandwidth``
        (rad, half-width at ``bandwidth_level``; needs evenly spaced
        orientations over [0, pi)), ``preferred_frequency`` (cycles/pixel,
        grid argmax), ``frequency_bandwidth`` (octaves, full width at
        ``bandwidth_level``), ``max_response``. Units that never respond get
        NaN.
    """
    if not isinstance(responses, xr.Dataset) or "response" not in responses:
        raise TypeError("responses must be the Dataset returned by grating_responses "
                        "(with a 'response' variable)")
    dims = ("unit", "orientation", "frequency", "phase")
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
    o = check_array(responses["orientation"].values, "responses['orientation']", ndim=1)
    f = check_frequency(check_array(responses["frequency"].values, "responses['frequency']",
                                    ndim=1), "responses['frequency']", positive=True)
    rectify = check_choice(rectify, "rectify", RECTIFY)
    phase_statistic = check_choice(phase_statistic, "phase_statistic", PHASE_STATISTICS)
    bandwidth_level = check_probability(bandwidth_level, "bandwidth_level")
    R = _rectify(R, rectify)
    amp = R.max(axis=-1) if phase_statistic == "max" else R.mean(axis=-1)
    n_units, n_o, n_f = amp.shape
    best = amp.reshape(n_units, -1).argmax(axis=1)
    bo, bf = np.unravel_index(best, (n_o, n_f))
    units = np.arange(n_units)
    ori_curve = amp[units, :, bf]
    freq_curve = amp[units, bo, :]
    peak = amp.reshape(n_units, -1).max(axis=1)
    alive = peak > 0
    z = (np.clip(ori_curve, 0, None) * np.exp(2j * o)).sum(axis=1)
    pref_o = np.mod(np.angle(z) / 2.0, np.pi)
    pref_o = np.where(alive, np.where(pref_o >= np.pi - 1e-12, 0.0, pref_o), np.nan)
    cv = np.where(alive, _circular_variance(np.clip(ori_curve, 0, None), o), np.nan)
    # the bandwidth walks the curve periodically: it needs an even grid over [0, pi)
    step = np.pi / n_o
    evenly = n_o > 2 and np.allclose(np.diff(o), step)
    bw_o = (_half_width(ori_curve, o, bandwidth_level, periodic=True) if evenly
            else np.full(n_units, np.nan))
    logf = np.log2(f)
    half = _half_width(freq_curve, logf, bandwidth_level, periodic=False)
    ds = xr.Dataset(coords={"unit": responses["unit"].values,
                            "orientation": responses["orientation"],
                            "frequency": responses["frequency"]})
    ds["orientation_tuning"] = (("unit", "orientation"), ori_curve,
                                {"units": "1", "long_name": "response vs orientation at the "
                                 "preferred frequency"})
    ds["frequency_tuning"] = (("unit", "frequency"), freq_curve,
                              {"units": "1", "long_name": "response vs frequency at the "
                               "preferred orientation"})
    ds["preferred_orientation"] = ("unit", pref_o, {"units": "rad", "long_name":
                                   "preferred orientation (vector sum)"})
    ds["peak_orientation"] = ("unit", np.where(alive, o[bo], np.nan),
                              {"units": "rad", "long_name": "orientation of the largest response"})
    ds["circular_variance"] = ("unit", cv, {"units": "1", "long_name": "circular variance"})
    ds["orientation_bandwidth"] = ("unit", np.where(alive, bw_o, np.nan),
                                   {"units": "rad", "long_name": "orientation half-width at "
                                    f"{bandwidth_level:g} of the peak"})
    ds["preferred_frequency"] = ("unit", np.where(alive, f[bf], np.nan),
                                 {"units": "cycles/pixel", "long_name": "preferred frequency"})
    ds["frequency_bandwidth"] = ("unit", np.where(alive, 2 * half, np.nan),
                                 {"units": "octave", "long_name": "frequency full width at "
                                  f"{bandwidth_level:g} of the peak"})
    ds["max_response"] = ("unit", peak, {"units": "1", "long_name": "largest response"})
    ds.attrs.update(analysis="tuning curves", rectify=rectify, phase_statistic=phase_statistic,
                    bandwidth_level=bandwidth_level)
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
    batch_size: int = 4096,
    progress: bool = False,
) -> xr.Dataset:
    """Mean (F0) and first-harmonic (F1) responses to drifting gratings.

    Each frame is encoded as an independent stimulus (the encoder is
    instantaneous: ODE fixed points, spike counts per frame).

    Parameters
    ----------
    encoder, shape, orientations, frequencies, contrast, batch_size, progress
        As in :func:`grating_responses`; orientations are drift directions,
        and a frequency of 0 (a flickering uniform field) is allowed.
    temporal_frequency : float
        Hz.
    frames_per_cycle : int
        Frames per temporal cycle (frame rate = ``frames_per_cycle *
        temporal_frequency`` Hz).
    n_cycles : int
        Cycles shown.
    rectify : {"positive", "abs", "none"}
        Applied before F0 and F1 (a full-wave ``"abs"`` doubles the
        modulation frequency and hides F1).

    Returns
    -------
    xarray.Dataset with ``response`` (orientation, frequency, time, unit),
    ``f0``, ``f1`` and ``modulation_ratio`` = F1 / F0 (orientation, frequency,
    unit); simple cells have F1 / F0 > 1 (Skottun et al. 1991).
    """
    check_encoder(encoder)
    h, w = image_shape(shape)
    o = _grid_or_count(orientations, "orientations", (0.0, np.pi))
    f = _grid_or_count(frequencies, "frequencies", (1.0 / max(h, w), 0.45), log=True)
    tf = check_positive(temporal_frequency, "temporal_frequency")
    fpc = check_int(frames_per_cycle, "frames_per_cycle", minimum=3)
    n_cycles = check_int(n_cycles, "n_cycles", minimum=1)
    contrast = check_positive(contrast, "contrast")
    rectify = check_choice(rectify, "rectify", RECTIFY)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_bool(progress, "progress")
    from stimuli.gratings import check_frequency, drifting_grating

    check_frequency(f, "frequencies")

    frame_rate = fpc * tf
    duration = n_cycles / tf
    frames = []
    for theta in o:
        for freq in f:
            fr, times = drifting_grating((h, w), theta, freq, tf, duration, frame_rate,
                                         contrast=contrast)
            frames.append(fr)
    frames = np.stack(frames)  # (n_o * n_f, n_t, h, w)
    n_t = frames.shape[1]
    R = _encode_batches(encoder, frames.reshape(-1, h * w), batch_size, progress,
                        "drifting gratings")
    R = _rectify(R.reshape(len(o), len(f), n_t, -1), rectify)
    f0 = R.mean(axis=2)
    phasor = np.exp(-2j * np.pi * tf * times)[None, None, :, None]
    f1 = 2.0 * np.abs((R * phasor).mean(axis=2))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(f0 > 0, f1 / f0, np.nan)
    ds = xr.Dataset(
        {
            "response": (("orientation", "frequency", "time", "unit"), R,
                         {"units": "1", "long_name": "rectified response per frame"}),
            "f0": (("orientation", "frequency", "unit"), f0,
                   {"units": "1", "long_name": "mean response (F0)"}),
            "f1": (("orientation", "frequency", "unit"), f1,
                   {"units": "1", "long_name": "first-harmonic amplitude (F1)"}),
            "modulation_ratio": (("orientation", "frequency", "unit"), ratio,
                                 {"units": "1", "long_name": "F1 / F0"}),
        },
        coords={
            "orientation": ("orientation", o, {"units": "rad"}),
            "frequency": ("frequency", f, {"units": "cycles/pixel"}),
            "time": ("time", times, {"units": "s"}),
            "unit": np.arange(R.shape[-1]),
        },
    )
    ds.attrs.update(analysis="drifting gratings", temporal_frequency=tf, frame_rate=frame_rate,
                    n_cycles=n_cycles, contrast=contrast, rectify=rectify)
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
    batch_size: int = 4096,
    progress: bool = False,
) -> xr.Dataset:
    """Contrast-response curves, each unit at its own grating.

    Parameters
    ----------
    encoder, shape
        As in :func:`grating_responses`.
    orientation, frequency : float or array_like, shape (n_selected,)
        The grating shown to each selected unit (radians, cycles/pixel in
        [0, 0.5]),
        e.g. ``preferred_orientation`` and ``preferred_frequency`` from
        :func:`tuning_curves`.
    contrasts : int or array_like
        Grating amplitudes; an int n gives n values log-spaced over
        [0.01, 1] (in the units of the encoder's input).
    phases : int or array_like
        The response is the maximum over these phases (radians).
    units : array_like of int, optional
        Which units (columns of the encoder's output) to measure, one per
        grating; default units ``0 ... n_selected - 1`` (unit ``i`` is shown
        grating ``i``; with a scalar orientation and frequency, unit 0 only).
    rectify : {"positive", "abs", "none"}
    batch_size, progress
        As in :func:`grating_responses`.

    Returns
    -------
    xarray.Dataset with ``response`` (unit, contrast) and ``c50`` (unit): the
    contrast at which the response first reaches half of its maximum over
    the tested contrasts (linear interpolation; NaN if it never responds).
    """
    check_encoder(encoder)
    h, w = image_shape(shape)
    c = _grid_or_count(contrasts, "contrasts", (0.01, 1.0), log=True)
    if np.any(c < 0):
        raise ValueError(f"contrasts must be >= 0, got min {c.min()}")
    ph = _grid_or_count(phases, "phases", (0.0, 2 * np.pi))
    rectify = check_choice(rectify, "rectify", RECTIFY)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    progress = check_bool(progress, "progress")
    from stimuli.gratings import check_frequency, grating

    o = np.atleast_1d(check_array(orientation, "orientation", ndim=(0, 1)))
    f = np.atleast_1d(check_frequency(check_array(frequency, "frequency", ndim=(0, 1))))
    if units is None:
        n_sel = max(len(o), len(f))
        units = np.arange(n_sel)
    else:
        units = np.atleast_1d(np.asarray(units))
        if units.ndim != 1 or not np.issubdtype(units.dtype, np.integer) or np.any(units < 0):
            raise ValueError(f"units must be non-negative integer indices, got {units!r}")
    try:
        o, f = (np.broadcast_to(a, units.shape) for a in (o, f))
    except ValueError as exc:
        raise ValueError(
            f"orientation ({o.shape}) and frequency ({f.shape}) must be scalars or have one "
            f"value per selected unit ({len(units)})"
        ) from exc
    stim = grating((h, w), o[:, None, None], f[:, None, None], ph[None, None, :],
                   c[None, :, None])  # (n_sel, n_c, n_ph, h, w)
    R = _encode_batches(encoder, stim.reshape(-1, h * w), batch_size, progress, "contrasts")
    if units.max() >= R.shape[1]:
        raise ValueError(f"units index {int(units.max())} but the encoder has {R.shape[1]} units")
    R = R.reshape(len(units), len(c), len(ph), -1)
    own = R[np.arange(len(units)), :, :, units]  # (n_sel, n_c, n_ph)
    resp = _rectify(own, rectify).max(axis=-1)
    c50 = np.full(len(units), np.nan)
    order = np.argsort(c)
    for k in range(len(units)):
        r = resp[k, order]
        top = r.max()
        if not top > 0:
            continue
        j = int(np.argmax(r >= 0.5 * top))
        if j == 0:
            c50[k] = c[order][0]
        else:
            r0, r1 = r[j - 1], r[j]
            c0, c1 = c[order][j - 1], c[order][j]
            c50[k] = c0 + (0.5 * top - r0) / (r1 - r0) * (c1 - c0)
    ds = xr.Dataset(
        {
            "response": (("unit", "contrast"), resp,
                         {"units": "1", "long_name": "response (max over phase)"}),
            "c50": ("unit", c50, {"units": "1", "long_name": "contrast at half-maximum"}),
            "grating_orientation": ("unit", o.astype(float), {"units": "rad"}),
            "grating_frequency": ("unit", f.astype(float), {"units": "cycles/pixel"}),
        },
        coords={"unit": units, "contrast": ("contrast", c, {"units": "1"})},
    )
    ds.attrs.update(analysis="contrast response", rectify=rectify, n_phases=len(ph))
    return ds
