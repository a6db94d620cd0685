"""Stimuli for probing receptive fields: gratings, Gabor patches, white and sparse noise.

Geometry shared by every function here and by :mod:`v1model.analysis`:

- pixel centres sit at integer coordinates, ``x`` = column index (rightward)
  and ``y`` = row index (row 0 at the top, as images are displayed);
- ``center`` is ``(x0, y0)`` in pixels, default the middle of the patch
  ``((width - 1) / 2, (height - 1) / 2)``;
- ``orientation`` (radians) is the direction of the carrier's wave vector,
  counter-clockwise from the +x axis *as displayed* (upwards is positive):
  0 gives vertical bars, pi/2 horizontal bars. Gratings are pi-periodic in
  orientation up to a phase flip (``theta + pi, phase`` equals
  ``theta, -phase``);
- ``frequency`` is the spatial frequency in cycles per pixel (Nyquist is 0.5);
- ``phase`` (radians) is the carrier's phase at ``center``: 0 is
  even-symmetric (cosine, bright centre), pi/2 odd-symmetric. At the
  Nyquist frequency 0.5 and orientation 0 (or pi/2) the pixels sample the
  cosine at ``phase + pi (x - x0)`` only: on a patch of even side, whose
  centre lies half a pixel from its neighbours, that is ``phase + pi/2 +
  k pi``, so phase 0 gives a blank grating (every pixel ``mean``) and pi/2
  the full one; such blank gratings and Gabor patches are warned of.

A grating is ``mean + contrast * cos(2 pi f x' + phase)`` with
``x' = (x - x0) cos(theta) - (y - y0) sin(theta)``.

Apertures (:func:`aperture`, :func:`disc_grating`, :func:`annulus_grating`,
and :func:`plaid` with a ``diameter``) are circles around ``center``, which
is also where the grating's phase is measured: the size-tuning convention
of V1 physiology, a grating patch centred on the receptive field. Outside
the aperture a pixel equals ``mean``. A hard edge (``edge=0``) keeps the
pixels whose centre lies strictly inside the circle (``r < diameter / 2``;
an annulus keeps ``inner_diameter / 2 <= r < diameter / 2``), so a disc and
the annulus around it tile the larger disc exactly. A smooth edge
(``edge > 0``, in pixels) is a raised-cosine ramp centred on the nominal
radius: the window is 1 up to ``r = R - edge / 2``, 0.5 at ``r = R`` and 0
from ``r = R + edge / 2``; a disc narrower than the edge (``diameter <
edge``) ramps over its own diameter instead (1 at the centre, 0 at
``r = diameter``), so the window grows continuously from an empty disc.
An annulus is the difference of its two discs' windows, so it complements
the inner disc with either edge. :func:`bar_aperture` and
:func:`bar_grating` use a rectangle instead, ``length`` along the bars and
``width`` across them, centred on ``center`` (hard edges only, the same
strict-inside rule).

Every generator returns images with the pixel axes last, ``(..., height,
width)``; flatten them with ``stim.reshape(n, -1)`` to feed an encoder that
takes ``X`` of shape (n_samples, n_features).
"""

from __future__ import annotations

import warnings

import numpy as np

from v1model._frames import user_stacklevel
from v1model.validation import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
    check_fits_in_memory,
    check_int,
    check_nonnegative,
    check_positive,
    describe,
)

__all__ = [
    "check_shape",
    "check_frequency",
    "NYQUIST",
    "patch_coordinates",
    "grating",
    "grating_set",
    "drifting_grating",
    "gabor_patch",
    "aperture",
    "disc_grating",
    "annulus_grating",
    "plaid",
    "bar_aperture",
    "bar_grating",
    "white_noise",
    "sparse_noise",
]

NOISE_DISTRIBUTIONS = ("gaussian", "binary")
#: Nyquist frequency of a pixel grid, in cycles per pixel
NYQUIST = 0.5


def check_shape(shape, name: str = "shape") -> tuple[int, int]:
    """Validate an image shape: an int (square side) or ``(height, width)``.

    Parameters
    ----------
    shape : int or (int, int)
        Side of a square, or ``(height, width)``, in pixels.
    name : str, default "shape"
        Argument name used in error messages.

    Returns
    -------
    (int, int)
        ``(height, width)``.

    Raises
    ------
    ValueError
        Unless ``shape`` is a positive int or a pair of positive ints.
    """
    given = shape  # named as given: whitening_filter(0) said "got (0, 0)"
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    try:
        out = tuple(int(s) for s in shape)
        ok = len(out) == 2 and all(float(s) == int(s) for s in shape)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(out) < 1:
        raise ValueError(f"{name} must be a positive int or (height, width), got {describe(given)}")
    return out


def check_frequency(frequency, name: str = "frequency", positive: bool = False) -> np.ndarray:
    """Spatial frequencies in cycles per pixel, in [0, 0.5] (or (0, 0.5] with ``positive``).

    Above the Nyquist frequency 0.5 a grating aliases to a lower frequency
    (and, in general, another orientation); a negative frequency is the
    same grating at the opposite orientation and phase.

    Parameters
    ----------
    frequency : float or array_like
        Frequencies to check, in cycles per pixel.
    name : str, default "frequency"
        Argument name used in error messages.
    positive : bool, default False
        Reject 0 as well (e.g. for a log-frequency axis).

    Returns
    -------
    ndarray of float64
        ``frequency``, with its shape.

    Raises
    ------
    ValueError
        For a frequency outside [0, 0.5] (or (0, 0.5]) or non-finite.
    """
    f = check_array(frequency, name, ndim=None)
    low = f <= 0 if check_bool(positive, "positive") else f < 0
    if np.any(low) or np.any(f > NYQUIST):
        bound = "(0, 0.5]" if positive else "[0, 0.5]"
        bad = f[low | (f > NYQUIST)]
        among = "" if f.size == 1 else f" among {f.size} values"
        # a count of cycles across the patch (cycles per image) is the usual slip: 4 was
        # refused as if the grating were only too fine, with no word of the unit
        per_image = ("; a frequency of k cycles per image is k / N cycles/pixel on a patch "
                     "N pixels wide (4 cycles across 32 pixels: 0.125)"
                     if float(bad[0]) >= 1 else "")
        raise ValueError(
            f"{name} must be in {bound} cycles/pixel (0.5 is the Nyquist frequency of the "
            f"pixel grid), got {float(bad[0])!r}{among}{per_image}"
        )
    return f


def patch_coordinates(shape, center=None):
    """Pixel coordinates relative to ``center``, with y pointing up.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    center : (x0, y0), optional
        Origin in pixels; default the middle of the patch,
        ``((width - 1) / 2, (height - 1) / 2)``.

    Returns
    -------
    u, v : ndarray, shape (height, width)
        ``u = x - x0`` (rightward) and ``v = -(y - y0)`` (upward), in pixels.

    Raises
    ------
    ValueError
        For an invalid ``shape`` or a ``center`` that is not two numbers.
    """
    h, w = check_shape(shape)
    x0, y0 = _check_center(center, (h, w))
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return x - x0, -(y - y0)


def _check_center(center, shape):
    h, w = shape
    if center is None:
        return (w - 1) / 2.0, (h - 1) / 2.0
    c = check_array(center, "center", ndim=1)
    if c.shape != (2,):
        raise ValueError(f"center must be (x0, y0) in pixels, got {describe(center)}")
    return float(c[0]), float(c[1])


def _broadcast_params(**params):
    arrays = {k: check_array(v, k, ndim=None) for k, v in params.items()}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}: {a.shape}" for k, a in arrays.items())
        raise ValueError(f"stimulus parameters do not broadcast together ({shapes})") from exc
    return {k: np.broadcast_to(a, shape)[..., None, None] for k, a in arrays.items()}, shape


def grating(shape, orientation, frequency, phase=0.0, contrast=1.0, mean=0.0, center=None):
    """Static sinusoidal grating(s) ``mean + contrast * cos(2 pi f x' + phase)``.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation : float or array_like
        Direction of the wave vector in radians (see module docstring).
    frequency : float or array_like
        Spatial frequency in cycles per pixel, in [0, 0.5] (0.5 is the
        Nyquist frequency).
    phase : float or array_like, default 0.0
        Phase at ``center`` in radians.
    contrast : float or array_like, default 1.0
        Amplitude of the sinusoid (the Michelson contrast when ``mean=1``).
    mean : float, default 0.0
        Background level.
    center : (x0, y0), optional
        Reference point of the phase, in pixels; default the middle of the
        patch.

    Returns
    -------
    ndarray, shape broadcast(orientation, frequency, phase, contrast) + (height, width)
        The grating(s), float64.

    Raises
    ------
    ValueError
        For an invalid ``shape`` or ``center``, a frequency outside
        [0, 0.5], or parameters that do not broadcast together.

    Examples
    --------
    >>> g = grating(16, orientation=0.0, frequency=0.25)
    >>> g.shape, round(float(g[0, 7]), 3), round(float(g[0, 9]), 3)
    ((16, 16), 0.707, -0.707)
    """
    u, v = patch_coordinates(shape, center)
    check_frequency(frequency, "frequency")
    p, _ = _broadcast_params(orientation=orientation, frequency=frequency, phase=phase,
                             contrast=contrast)
    mean = float(check_array(mean, "mean", ndim=0))
    xp = u * np.cos(p["orientation"]) + v * np.sin(p["orientation"])
    carrier = np.cos(2 * np.pi * p["frequency"] * xp + p["phase"])
    _warn_blank_at_nyquist(carrier, p["orientation"], p["frequency"], p["contrast"])
    return mean + p["contrast"] * carrier


def _warn_blank_at_nyquist(carrier, orientation, frequency, amplitude, what="grating(s)"):
    """Warn of the gratings at the Nyquist frequency whose pixels all sample ``carrier``
    (their cosine, ``(..., height, width)``) at its zeros, though ``amplitude`` is not 0,
    unless the same call holds a grating of that ``orientation`` there that shows.

    At 0.5 cycles/pixel and orientation 0 the pixels sample the cosine at ``phase +
    pi (x - x0)`` only: at phase 0 on a patch of even width (its centre between two
    pixels) that is always one of its zeros, and the grating came out all ``mean``,
    unsaid, which a cosine "bright at the centre" is not. Beside a grating of its
    orientation at another phase, it is one sample of a sweep over phase (the probes of
    :mod:`v1model.analysis` take the maximum over phases, a drift's frames pass through
    it): grating_responses with 0.5 among its frequencies warned of it on every call.
    """
    at_nyquist = (frequency[..., 0, 0] == NYQUIST) & (amplitude[..., 0, 0] != 0)
    if not np.any(at_nyquist):
        return
    peak = np.abs(carrier).max(axis=(-2, -1))
    blank = at_nyquist & (peak <= 1e-9)
    theta = np.broadcast_to(orientation[..., 0, 0], blank.shape)
    blank &= ~np.isin(theta, theta[at_nyquist & ~blank])
    if np.any(blank):
        warnings.warn(
            f"{int(blank.sum())} of the {blank.size} {what} at frequency 0.5 cycles/pixel "
            "(the Nyquist frequency) are blank, every pixel at the background level: the "
            "pixels sample the cosine only where it is 0 (e.g. orientation 0, phase 0 on a "
            "patch of even width, whose centre lies between two pixels); shift phase by pi/2 "
            "or center by half a pixel, or use a lower frequency",
            UserWarning, stacklevel=user_stacklevel())


def grating_set(shape, orientations, frequencies, phases, contrast=1.0, center=None):
    """All combinations of orientation x frequency x phase.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientations : array_like, shape (n_orientations,)
        Radians.
    frequencies : array_like, shape (n_frequencies,)
        Cycles per pixel, in [0, 0.5].
    phases : array_like, shape (n_phases,)
        Radians, at ``center``.
    contrast : float, default 1.0
        Amplitude of every grating: one number (an array of contrasts would be
        paired with the last axis, the phases, instead of making a grid).
    center : (x0, y0), optional
        As in :func:`grating`.

    Returns
    -------
    ndarray, shape (n_orientations, n_frequencies, n_phases, height, width)
        The gratings (mean 0), float64.

    Raises
    ------
    ValueError
        For parameters that are not 1-D, a ``contrast`` that is not a single
        number, more gratings than fit in memory, or as in :func:`grating`.
    """
    if np.ndim(contrast) != 0:
        # [0.5, 1.0] with two phases gave each phase its own contrast, unsaid; with three
        # phases a broadcasting error that named shapes the caller never gave
        raise ValueError(f"contrast must be a single number (the amplitude of every grating of "
                         f"the set; call grating_set once per contrast), got {describe(contrast)}")
    contrast = float(check_array(contrast, "contrast"))
    o = check_array(orientations, "orientations", ndim=1)
    f = check_frequency(check_array(frequencies, "frequencies", ndim=1), "frequencies")
    ph = check_array(phases, "phases", ndim=1)
    h, w = check_shape(shape)
    # numpy's "Unable to allocate 8.4 PiB" named no argument
    check_fits_in_memory((o.size * f.size * ph.size, h, w), np.float64,
                         "(len(orientations), len(frequencies), len(phases))",
                         (o.size, f.size, ph.size), f"gratings of {h}x{w} pixels (float64)")
    return grating(shape, o[:, None, None], f[None, :, None], ph[None, None, :], contrast,
                   center=center)


def drifting_grating(
    shape,
    orientation: float,
    frequency: float,
    temporal_frequency: float,
    duration: float,
    frame_rate: float,
    phase: float = 0.0,
    contrast: float = 1.0,
    center=None,
):
    """Frames of a grating drifting along its wave vector.

    The phase at time ``t`` is ``phase - 2 pi temporal_frequency t`` (the bars
    move in the direction of ``orientation``).

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation : float
        Radians; the drift direction.
    frequency : float
        Cycles per pixel, in [0, 0.5].
    temporal_frequency : float
        Hz (cycles per second), >= 0 and below ``frame_rate / 2`` (the
        temporal Nyquist frequency: at or above it the frames show another
        drift, or none).
    duration : float
        Seconds, > 0.
    frame_rate : float
        Frames per second (Hz), > 0.
    phase : float, default 0.0
        Phase at ``center`` at ``t = 0``, in radians.
    contrast : float, default 1.0
        Amplitude of the sinusoid.
    center : (x0, y0), optional
        As in :func:`grating`.

    Returns
    -------
    frames : ndarray, shape (n_frames, height, width)
        ``n_frames = floor(duration * frame_rate)``.
    times : ndarray, shape (n_frames,)
        Frame onset times in seconds.

    Raises
    ------
    ValueError
        For a negative ``temporal_frequency`` or one at or above
        ``frame_rate / 2``, a non-positive ``duration``
        or ``frame_rate``, ``duration * frame_rate < 1``, an
        ``orientation``, ``frequency``, ``phase`` or ``contrast`` that is not
        a single number (an array would pair its values with the frames),
        or as in :func:`grating`.
    """
    for key, value in (("orientation", orientation), ("frequency", frequency),
                       ("phase", phase), ("contrast", contrast)):
        if np.ndim(value) != 0:
            raise ValueError(f"{key} must be a single number (one grating drifts; call "
                             f"drifting_grating once per value), got {describe(value)}")
    phase = float(check_array(phase, "phase"))  # None or "0" failed inside numpy
    tf = check_nonnegative(temporal_frequency, "temporal_frequency")
    duration = check_positive(duration, "duration")
    frame_rate = check_positive(frame_rate, "frame_rate")
    if tf >= frame_rate / 2:
        # sampled in time as the pixels sample space: 6 Hz at 10 frames/s gave the frames of
        # 4 Hz drifting the opposite way, unsaid (the spatial frequency was checked)
        alias = tf - frame_rate * np.round(tf / frame_rate)  # the drift the frames show
        shown = ("no drift (the same frame again and again)" if alias == 0 else
                 "a counterphase flicker with no drift direction"
                 if abs(alias) == frame_rate / 2 else
                 f"a grating drifting the opposite way at {-alias:g} Hz" if alias < 0 else
                 f"a grating drifting at {alias:g} Hz")
        raise ValueError(
            f"temporal_frequency={tf:g} Hz is not below half the frame_rate ({frame_rate:g} "
            f"Hz / 2 = {frame_rate / 2:g} Hz, the temporal Nyquist frequency): the frames "
            f"would show {shown}; raise frame_rate above {2 * tf:g} Hz")
    n_frames = int(np.floor(duration * frame_rate + 1e-9))
    if n_frames < 1:
        raise ValueError(
            f"duration={duration} s at frame_rate={frame_rate} Hz gives no frame; "
            "need duration * frame_rate >= 1"
        )
    # numpy's "Maximum allowed size exceeded" named neither duration nor frame_rate
    h, w = check_shape(shape)
    check_fits_in_memory((n_frames, h, w), np.float64, "duration * frame_rate",
                         duration * frame_rate, f"frames of {h}x{w} pixels (float64)")
    times = np.arange(n_frames) / frame_rate
    frames = grating(shape, orientation, frequency, phase - 2 * np.pi * tf * times, contrast,
                     center=center)
    return frames, times


def gabor_patch(
    shape,
    orientation,
    frequency,
    phase=0.0,
    sigma_x=2.0,
    sigma_y=2.0,
    center=None,
    amplitude=1.0,
    offset=0.0,
):
    """Gabor patch(es): a grating under an elliptical Gaussian envelope.

    ``offset + amplitude * exp(-x'^2 / (2 sigma_x^2) - y'^2 / (2 sigma_y^2))
    * cos(2 pi f x' + phase)`` with ``x'`` along the wave vector (across the
    bars) and ``y'`` along the bars. This is Ringach's (2002) parametrisation:
    ``sigma_x * f`` and ``sigma_y * f`` are his ``nx`` and ``ny``.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation, frequency : float or array_like
        As in :func:`grating` (radians, cycles/pixel in [0, 0.5]).
    phase : float or array_like, default 0.0
        Carrier phase at the centre, in radians.
    sigma_x, sigma_y : float or array_like, default 2.0
        Envelope standard deviations across and along the bars, in pixels
        (> 0).
    center : (x0, y0), optional
        Envelope centre in pixels (one centre for all patches); default the
        middle of the patch.
    amplitude : float or array_like, default 1.0
        Peak amplitude of the Gabor.
    offset : float or array_like, default 0.0
        Constant added to the whole patch.

    Returns
    -------
    ndarray, shape broadcast(parameters) + (height, width)
        The patch(es), float64.

    Raises
    ------
    ValueError
        For a non-positive ``sigma_x`` or ``sigma_y``, or as in
        :func:`grating`.
    """
    u, v = patch_coordinates(shape, center)
    check_frequency(frequency, "frequency")
    p, _ = _broadcast_params(orientation=orientation, frequency=frequency, phase=phase,
                             sigma_x=sigma_x, sigma_y=sigma_y, amplitude=amplitude, offset=offset)
    for key, given in (("sigma_x", sigma_x), ("sigma_y", sigma_y)):
        given = np.asarray(given, dtype=np.float64)  # finite: checked by _broadcast_params
        if np.any(given <= 0):
            among = "" if given.size == 1 else f" among {given.size} values"
            raise ValueError(f"{key} must be > 0 pixels (the envelope's s.d.), got "
                             f"{float(given[given <= 0].flat[0])!r}{among}")
    c, s = np.cos(p["orientation"]), np.sin(p["orientation"])
    xp = u * c + v * s
    yp = -u * s + v * c
    env = np.exp(-0.5 * (xp / p["sigma_x"]) ** 2 - 0.5 * (yp / p["sigma_y"]) ** 2)
    carrier = np.cos(2 * np.pi * p["frequency"] * xp + p["phase"])
    _warn_blank_at_nyquist(carrier, p["orientation"], p["frequency"], p["amplitude"],
                           "Gabor patch(es)")
    return p["offset"] + p["amplitude"] * env * carrier


def _check_diameters(values, name):
    d = check_array(values, name, ndim=None)
    if np.any(d < 0):
        among = "" if d.size == 1 else f" among {d.size} values"
        raise ValueError(f"{name} must be >= 0 pixels, got {float(d[d < 0].flat[0])!r}{among}")
    return d


def _window(r, diameter, edge):
    """Disc window at distances ``r`` for (broadcast) ``diameter``; see the module docstring."""
    radius = 0.5 * diameter
    if edge == 0:
        return (r < radius).astype(np.float64)
    width = np.minimum(edge, diameter)  # a disc narrower than the edge ramps over itself
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.clip((radius + 0.5 * width - r) / width, 0.0, 1.0)
    s = np.where(width > 0, s, 0.0)  # diameter 0: empty
    return np.sin(0.5 * np.pi * s) ** 2


def aperture(shape, diameter, inner_diameter=0.0, center=None, edge: float = 0.0):
    """Window of a circular disc (or annulus): 1 inside, 0 outside.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    diameter : float or array_like
        Outer diameter in pixels, >= 0 (0 gives an empty window; a diameter
        beyond the patch's diagonal covers the whole patch).
    inner_diameter : float or array_like, default 0.0
        Inner diameter of an annulus in pixels, ``0 <= inner_diameter <=
        diameter`` (0: a disc).
    center : (x0, y0), optional
        Centre of the circle in pixels; default the middle of the patch.
    edge : float, default 0.0
        Width of the raised-cosine edge in pixels, >= 0 (0: hard edge); see
        the module docstring for both conventions.

    Returns
    -------
    ndarray, shape broadcast(diameter, inner_diameter) + (height, width)
        Values in [0, 1], float64.

    Raises
    ------
    ValueError
        For a negative or non-finite diameter or edge, an
        ``inner_diameter`` above ``diameter``, or as in :func:`grating`.

    Examples
    --------
    >>> w = aperture(5, diameter=3.0)
    >>> w.astype(int).tolist()[2], int(w.sum())
    ([0, 1, 1, 1, 0], 9)
    """
    u, v = patch_coordinates(shape, center)
    d = _check_diameters(diameter, "diameter")
    inner = _check_diameters(inner_diameter, "inner_diameter")
    edge = check_nonnegative(edge, "edge")
    p, _ = _broadcast_params(diameter=d, inner_diameter=inner)
    if np.any(p["inner_diameter"] > p["diameter"]):
        bad = np.argmax((p["inner_diameter"] > p["diameter"]).ravel())
        raise ValueError(
            f"inner_diameter must not exceed diameter, got inner_diameter="
            f"{float(p['inner_diameter'].ravel()[bad])!r} > diameter="
            f"{float(p['diameter'].ravel()[bad])!r}"
        )
    r = np.hypot(u, v)
    window = _window(r, p["diameter"], edge)
    if np.any(p["inner_diameter"] > 0):
        window = window - _window(r, p["inner_diameter"], edge)
    return np.clip(window, 0.0, 1.0)


def disc_grating(shape, orientation, frequency, diameter, phase=0.0, contrast=1.0, mean=0.0,
                 center=None, edge: float = 0.0):
    """A grating seen through a circular aperture centred on ``center``.

    ``mean + window * contrast * cos(2 pi f x' + phase)`` with the window of
    :func:`aperture`: pixels outside the disc equal ``mean``, pixels inside
    (farther than ``edge / 2`` from the rim) equal the full
    :func:`grating` with the same parameters and centre.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation, frequency, phase, contrast : float or array_like
        As in :func:`grating`; the phase is measured at ``center``.
    diameter : float or array_like
        Disc diameter in pixels, >= 0.
    mean : float, default 0.0
        Background level, inside and outside the disc.
    center : (x0, y0), optional
        Centre of the disc and phase reference, in pixels; default the
        middle of the patch.
    edge : float, default 0.0
        Raised-cosine edge width in pixels (0: hard edge).

    Returns
    -------
    ndarray, shape broadcast(orientation, frequency, phase, contrast, diameter) + (height, width)
        float64.

    Raises
    ------
    ValueError
        As in :func:`grating` and :func:`aperture`, or for parameters that
        do not broadcast together.
    """
    return _windowed(shape, orientation, frequency, phase, contrast, mean, center,
                     diameter=diameter, inner_diameter=0.0, edge=edge)


def annulus_grating(shape, orientation, frequency, inner_diameter, outer_diameter, phase=0.0,
                    contrast=1.0, mean=0.0, center=None, edge: float = 0.0):
    """A grating seen through an annulus (a ring) centred on ``center``.

    ``mean + window * contrast * cos(...)`` with the annulus window of
    :func:`aperture`; ``disc_grating(d_in) + annulus_grating(d_in, d_out)
    - mean`` equals ``disc_grating(d_out)`` (same edge) pixel for pixel.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation, frequency, phase, contrast : float or array_like
        As in :func:`grating`; the phase is measured at ``center``.
    inner_diameter, outer_diameter : float or array_like
        Diameters of the ring in pixels, ``0 <= inner_diameter <=
        outer_diameter``.
    mean : float, default 0.0
        Background level.
    center : (x0, y0), optional
        Centre of the ring and phase reference, in pixels.
    edge : float, default 0.0
        Raised-cosine edge width in pixels (0: hard edges).

    Returns
    -------
    ndarray, shape broadcast(parameters) + (height, width)
        float64.

    Raises
    ------
    ValueError
        As in :func:`disc_grating`; ``inner_diameter > outer_diameter``.
    """
    d_out = _check_diameters(outer_diameter, "outer_diameter")
    return _windowed(shape, orientation, frequency, phase, contrast, mean, center,
                     diameter=d_out, inner_diameter=inner_diameter, edge=edge,
                     outer_name="outer_diameter")


def bar_aperture(shape, orientation, length, width, center=None):
    """Window of a rectangle aligned with a grating's bars: 1 inside, 0 outside.

    The rectangle is centred on ``center``; ``length`` runs along the bars
    of a grating of the same ``orientation`` (perpendicular to its wave
    vector) and ``width`` across them (along the wave vector). Hard edges,
    as a hard disc: a pixel is inside when its centre lies strictly inside
    the rectangle, ``|y'| < length / 2`` and ``|x'| < width / 2``, with
    ``x' = u cos(theta) + v sin(theta)`` (across the bars, as in
    :func:`grating`) and ``y' = -u sin(theta) + v cos(theta)`` (along them).

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation : float or array_like
        Direction of the grating's wave vector in radians (module docstring):
        0 gives a vertical rectangle (vertical bars), pi/2 a horizontal one.
    length : float or array_like
        Extent along the bars in pixels, >= 0 (0: an empty window).
    width : float or array_like
        Extent across the bars in pixels, >= 0.
    center : (x0, y0), optional
        Centre of the rectangle in pixels; default the middle of the patch.

    Returns
    -------
    ndarray, shape broadcast(orientation, length, width) + (height, width)
        Values 0 or 1, float64.

    Raises
    ------
    ValueError
        For a negative or non-finite ``length`` or ``width``, or as in
        :func:`grating`.

    Examples
    --------
    >>> w = bar_aperture(5, orientation=0.0, length=3.0, width=1.5)
    >>> w.astype(int).tolist()[0], w.astype(int).tolist()[2], int(w.sum())
    ([0, 0, 0, 0, 0], [0, 0, 1, 0, 0], 3)
    """
    u, v = patch_coordinates(shape, center)
    length = _check_diameters(length, "length")
    width = _check_diameters(width, "width")
    p, _ = _broadcast_params(orientation=orientation, length=length, width=width)
    c, s = np.cos(p["orientation"]), np.sin(p["orientation"])
    across = u * c + v * s
    along = -u * s + v * c
    inside = (np.abs(along) < 0.5 * p["length"]) & (np.abs(across) < 0.5 * p["width"])
    return inside.astype(np.float64)


def bar_grating(shape, orientation, frequency, length, width, phase=0.0, contrast=1.0, mean=0.0,
                center=None):
    """A grating seen through a rectangle of ``length`` along its bars and ``width`` across.

    ``mean + window * contrast * cos(2 pi f x' + phase)`` with the window of
    :func:`bar_aperture` (hard edges): pixels outside the rectangle equal
    ``mean``, pixels inside equal the full :func:`grating` with the same
    parameters and centre. With ``width`` about one period (``1 /
    frequency``) it is an optimal bar of growing ``length``, the stimulus of
    length tuning and end-stopping (Hubel & Wiesel 1965; DeAngelis, Freeman &
    Ohzawa 1994).

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation, frequency, phase, contrast : float or array_like
        As in :func:`grating`; the phase is measured at ``center``.
    length : float or array_like
        Extent along the bars in pixels, >= 0.
    width : float or array_like
        Extent across the bars in pixels, >= 0.
    mean : float, default 0.0
        Background level, inside and outside the rectangle.
    center : (x0, y0), optional
        Centre of the rectangle and phase reference, in pixels; default the
        middle of the patch.

    Returns
    -------
    ndarray, shape broadcast(all parameters) + (height, width)
        float64 (parameters: orientation, frequency, phase, contrast,
        length, width).

    Raises
    ------
    ValueError
        As in :func:`grating` and :func:`bar_aperture`, or for parameters
        that do not broadcast together.

    Examples
    --------
    >>> g = bar_grating(9, orientation=0.0, frequency=0.125, length=3.0, width=4.0)
    >>> g[4].round(3).tolist(), int((g != 0).sum())
    ([0.0, 0.0, 0.0, 0.707, 1.0, 0.707, 0.0, 0.0, 0.0], 9)
    """
    check_shape(shape)
    check_frequency(frequency, "frequency")
    length = _check_diameters(length, "length")
    width = _check_diameters(width, "width")
    mean = float(check_array(mean, "mean", ndim=0))
    p, _ = _broadcast_params(orientation=orientation, frequency=frequency, phase=phase,
                             contrast=contrast, length=length, width=width)
    carrier = grating(shape, p["orientation"][..., 0, 0], p["frequency"][..., 0, 0],
                      p["phase"][..., 0, 0], p["contrast"][..., 0, 0], center=center)
    window = bar_aperture(shape, p["orientation"][..., 0, 0], p["length"][..., 0, 0],
                          p["width"][..., 0, 0], center=center)
    return mean + window * carrier


def _windowed(shape, orientation, frequency, phase, contrast, mean, center, *, diameter,
              inner_diameter, edge, outer_name="diameter"):
    check_shape(shape)
    check_frequency(frequency, "frequency")
    d = _check_diameters(diameter, outer_name)
    inner = _check_diameters(inner_diameter, "inner_diameter")
    mean = float(check_array(mean, "mean", ndim=0))
    p, _ = _broadcast_params(orientation=orientation, frequency=frequency, phase=phase,
                             contrast=contrast, diameter=d, inner_diameter=inner)
    if np.any(p["inner_diameter"] > p["diameter"]):
        raise ValueError(f"inner_diameter must not exceed {outer_name}, got inner_diameter="
                         f"{describe(inner_diameter)} and {outer_name}={describe(diameter)}")
    carrier = grating(shape, p["orientation"][..., 0, 0], p["frequency"][..., 0, 0],
                      p["phase"][..., 0, 0], p["contrast"][..., 0, 0], center=center)
    window = aperture(shape, p["diameter"][..., 0, 0], p["inner_diameter"][..., 0, 0],
                      center=center, edge=edge)
    return mean + window * carrier


def plaid(shape, orientation, frequency, mask_orientation, mask_frequency=None, phase=0.0,
          mask_phase=0.0, contrast=1.0, mask_contrast=1.0, mean=0.0, center=None,
          diameter=None, edge: float = 0.0):
    """A plaid: the sum of a test grating and a mask grating, each with its own parameters.

    ``mean + window * (contrast cos(2 pi f x'_test + phase)
    + mask_contrast cos(2 pi f_mask x'_mask + mask_phase))``, both phases
    measured at ``center``; the window is 1 everywhere (full field) unless
    a ``diameter`` puts both gratings in the same disc (:func:`aperture`).
    The protocol of cross-orientation suppression: an optimal test grating
    with a mask at the orthogonal orientation (``mask_orientation =
    orientation + pi / 2``) of growing ``mask_contrast``.

    Parameters
    ----------
    shape : int or (height, width)
        Image size in pixels.
    orientation, frequency, phase, contrast : float or array_like
        The test grating, as in :func:`grating`.
    mask_orientation : float or array_like
        Orientation of the mask in radians.
    mask_frequency : float or array_like, optional
        Mask frequency in cycles/pixel, in [0, 0.5]; default ``frequency``.
    mask_phase, mask_contrast : float or array_like
        The mask's phase at ``center`` (radians) and amplitude (>= 0 is
        the usual choice; 0 gives the test grating alone).
    mean : float, default 0.0
        Background level.
    center : (x0, y0), optional
        Phase reference (and centre of the disc), in pixels.
    diameter : float or array_like, optional
        Diameter in pixels of a common circular aperture; default none.
    edge : float, default 0.0
        Raised-cosine edge width of the aperture in pixels.

    Returns
    -------
    ndarray, shape broadcast(all parameters) + (height, width)
        float64.

    Raises
    ------
    ValueError
        As in :func:`grating` for either grating (the message names
        ``mask_frequency`` for the mask's), as in :func:`aperture`, or for
        parameters that do not broadcast together.
    """
    check_frequency(frequency, "frequency")
    mask_frequency = frequency if mask_frequency is None else mask_frequency
    check_frequency(mask_frequency, "mask_frequency")
    p, _ = _broadcast_params(orientation=orientation, frequency=frequency, phase=phase,
                             contrast=contrast, mask_orientation=mask_orientation,
                             mask_frequency=mask_frequency, mask_phase=mask_phase,
                             mask_contrast=mask_contrast)
    q = {k: v[..., 0, 0] for k, v in p.items()}
    total = (grating(shape, q["orientation"], q["frequency"], q["phase"], q["contrast"],
                     center=center)
             + grating(shape, q["mask_orientation"], q["mask_frequency"], q["mask_phase"],
                       q["mask_contrast"], center=center))
    mean = float(check_array(mean, "mean", ndim=0))
    if diameter is None:
        return mean + total
    window = aperture(shape, diameter, center=center, edge=edge)
    try:
        return mean + window * total
    except ValueError as exc:
        raise ValueError(f"diameter (shape {np.shape(diameter)}) does not broadcast with the "
                         f"gratings' parameters (shape {total.shape[:-2]})") from exc


def white_noise(n: int, shape, contrast: float = 1.0, distribution: str = "gaussian", seed=None):
    """Spatially white noise images for reverse correlation.

    Parameters
    ----------
    n : int
        Number of images.
    shape : int or (height, width)
        Image size in pixels.
    contrast : float, default 1.0
        Standard deviation of every pixel (> 0).
    distribution : {"gaussian", "binary"}, default "gaussian"
        Gaussian pixels, or +-contrast with equal probability (binary
        "m-sequence-like" noise).
    seed : int, Generator or None, optional
        Random seed or generator.

    Returns
    -------
    ndarray, shape (n, height, width), float64
        Zero-mean noise images.

    Raises
    ------
    ValueError
        For ``n < 1``, an invalid ``shape``, a non-positive ``contrast`` or
        an unknown ``distribution``.
    """
    n = check_int(n, "n", minimum=1)
    h, w = check_shape(shape)
    contrast = check_positive(contrast, "contrast")
    check_choice(distribution, "distribution", NOISE_DISTRIBUTIONS)
    # numpy's "Unable to allocate 466 TiB" named no argument
    check_fits_in_memory((n, h, w), np.float64, "n", n, f"images of {h}x{w} pixels (float64)")
    rng = as_generator(seed)
    if distribution == "gaussian":
        return contrast * rng.standard_normal((n, h, w))
    return contrast * (2.0 * rng.integers(0, 2, (n, h, w)) - 1.0)


def sparse_noise(n: int, shape, n_pixels: int = 1, contrast: float = 1.0, seed=None):
    """Sparse noise: a few bright or dark pixels on a zero background.

    Each image has ``n_pixels`` distinct pixels, chosen uniformly, each set
    to ``+contrast`` or ``-contrast`` with equal probability (Jones & Palmer
    1987). Pixels are then uncorrelated with variance
    ``contrast**2 * n_pixels / (height * width)``.

    Parameters
    ----------
    n : int
        Number of images.
    shape : int or (height, width)
        Image size in pixels.
    n_pixels : int, default 1
        Lit pixels per image, 1 to ``height * width``.
    contrast : float, default 1.0
        Magnitude of a lit pixel (> 0).
    seed : int, Generator or None, optional
        Random seed or generator.

    Returns
    -------
    ndarray, shape (n, height, width), float64
        Images of zeros and ``+-contrast``.

    Raises
    ------
    ValueError
        For ``n < 1``, an invalid ``shape``, ``n_pixels`` out of range or a
        non-positive ``contrast``.
    """
    n = check_int(n, "n", minimum=1)
    h, w = check_shape(shape)
    n_pixels = check_int(n_pixels, "n_pixels", minimum=1, maximum=h * w)
    contrast = check_positive(contrast, "contrast")
    # numpy's "Unable to allocate 466 TiB" named no argument
    check_fits_in_memory((n, h, w), np.float64, "n", n, f"images of {h}x{w} pixels (float64)")
    rng = as_generator(seed)
    out = np.zeros((n, h * w))
    if n_pixels == 1:
        idx = rng.integers(0, h * w, (n, 1))
    else:
        # distinct pixels per image: the n_pixels smallest of random keys
        idx = np.argpartition(rng.random((n, h * w)), n_pixels - 1, axis=1)[:, :n_pixels]
    signs = 2.0 * rng.integers(0, 2, idx.shape) - 1.0
    np.put_along_axis(out, idx, contrast * signs, axis=1)
    return out.reshape(n, h, w)
