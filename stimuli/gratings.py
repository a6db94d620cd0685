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
  even-symmetric (cosine, bright centre), pi/2 odd-symmetric.

A grating is ``mean + contrast * cos(2 pi f x' + phase)`` with
``x' = (x - x0) cos(theta) - (y - y0) sin(theta)``.

Every generator returns images with the pixel axes last, ``(..., height,
width)``; flatten them with ``stim.reshape(n, -1)`` to feed an encoder that
takes ``X`` of shape (n_samples, n_features).
"""

from __future__ import annotations

import numpy as np

from v1model.validation import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
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
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape), int(shape))
    try:
        out = tuple(int(s) for s in shape)
        ok = len(out) == 2 and all(float(s) == int(s) for s in shape)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(out) < 1:
        raise ValueError(f"{name} must be a positive int or (height, width), got {describe(shape)}")
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
        raise ValueError(
            f"{name} must be in {bound} cycles/pixel (0.5 is the Nyquist frequency of the "
            f"pixel grid), got {float(bad[0])!r}{among}"
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
    return mean + p["contrast"] * np.cos(2 * np.pi * p["frequency"] * xp + p["phase"])


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
        Amplitude of every grating.
    center : (x0, y0), optional
        As in :func:`grating`.

    Returns
    -------
    ndarray, shape (n_orientations, n_frequencies, n_phases, height, width)
        The gratings (mean 0), float64.

    Raises
    ------
    ValueError
        For parameters that are not 1-D, or as in :func:`grating`.
    """
    o = check_array(orientations, "orientations", ndim=1)
    f = check_frequency(check_array(frequencies, "frequencies", ndim=1), "frequencies")
    ph = check_array(phases, "phases", ndim=1)
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
        Hz (cycles per second), >= 0.
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
        For a negative ``temporal_frequency``, a non-positive ``duration``
        or ``frame_rate``, ``duration * frame_rate < 1``, or as in
        :func:`grating`.
    """
    tf = check_nonnegative(temporal_frequency, "temporal_frequency")
    duration = check_positive(duration, "duration")
    frame_rate = check_positive(frame_rate, "frame_rate")
    n_frames = int(np.floor(duration * frame_rate + 1e-9))
    if n_frames < 1:
        raise ValueError(
            f"duration={duration} s at frame_rate={frame_rate} Hz gives no frame; "
            "need duration * frame_rate >= 1"
        )
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
    if np.any(p["sigma_x"] <= 0) or np.any(p["sigma_y"] <= 0):
        raise ValueError("sigma_x and sigma_y must be positive (pixels)")
    c, s = np.cos(p["orientation"]), np.sin(p["orientation"])
    xp = u * c + v * s
    yp = -u * s + v * c
    env = np.exp(-0.5 * (xp / p["sigma_x"]) ** 2 - 0.5 * (yp / p["sigma_y"]) ** 2)
    return p["offset"] + p["amplitude"] * env * np.cos(2 * np.pi * p["frequency"] * xp + p["phase"])


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
