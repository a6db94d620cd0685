"""Synthetic natural-image models: 1/f^alpha noise and dead leaves.

For tests and for users without photographs. Both have the scale-invariant
statistics (power spectrum close to 1/f^2) that make sparse coding learn
localized, oriented, band-pass receptive fields.
"""

from __future__ import annotations

import numpy as np

from v1model.progress import check_progress, progress_bar
from v1model.validation import as_generator, check_int, check_nonnegative, check_positive

__all__ = ["pink_noise", "dead_leaves"]

#: largest expected number of discs per dead-leaves image (about a minute of drawing)
MAX_DISCS = 1_000_000


def pink_noise(n_images: int, size: int, alpha: float = 2.0, seed=None):
    """Gaussian noise images whose power spectrum falls as 1/f^alpha.

    Parameters
    ----------
    n_images, size : int
        Number of square images (>= 1) and their side in pixels (>= 2).
    alpha : float, default 2.0
        Spectral exponent of the power spectrum, >= 0 (2 for natural images,
        0 for white noise).
    seed : int, Generator or None, optional
        Random seed or generator.

    Returns
    -------
    ndarray, shape (n_images, size, size), float64
        Zero mean and unit variance per image.

    Raises
    ------
    ValueError
        For ``n_images < 1``, ``size < 2`` or ``alpha < 0``.

    Notes
    -----
    The amplitude spectrum is ``(f / f_min) ** (-alpha / 2)`` with ``f_min``
    the lowest non-zero frequency (1 / size): at most 1, so that steep
    spectra (large ``alpha``) underflow at high frequencies instead of
    overflowing at low ones; the output is normalised anyway.
    """
    n_images = check_int(n_images, "n_images", minimum=1)
    size = check_int(size, "size", minimum=2)
    alpha = check_nonnegative(alpha, "alpha")
    rng = as_generator(seed)
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    f[0, 0] = 1.0
    amplitude = (f * size) ** (-alpha / 2)  # f_min = 1 / size
    amplitude[0, 0] = 0.0  # no DC
    noise = rng.standard_normal((n_images, size, size))
    out = np.real(np.fft.ifft2(np.fft.fft2(noise, axes=(1, 2)) * amplitude, axes=(1, 2)))
    out -= out.mean(axis=(1, 2), keepdims=True)
    out /= out.std(axis=(1, 2), keepdims=True)
    return out


def dead_leaves(
    n_images: int,
    size: int,
    r_min: float = 1.0,
    r_max: float | None = None,
    exponent: float = 3.0,
    coverage: float = 0.999,
    seed=None,
    progress: bool | None = None,
):
    """Dead-leaves images: occluding discs of random grey levels.

    Discs are dropped one after another, each hidden by the ones dropped
    before it, until ``coverage`` of the pixels are covered. Radii follow a
    power law p(r) ~ r^-exponent on [r_min, r_max] (exponent 3 gives
    scale invariance, Lee, Mumford & Huang 2001). A disc of radius r covers
    a given pixel with probability ``p = pi r^2 / (size + 2 r)^2``, so about
    ``log(1 / (1 - coverage)) / mean(p)`` discs are needed per image; radii
    so small that more than :data:`MAX_DISCS` would be needed are rejected.

    Parameters
    ----------
    n_images, size : int
        Number of square images (>= 1) and their side in pixels (>= 2).
    r_min, r_max : float, default 1.0, None
        Radius range in pixels (``r_min <= r_max``); ``r_max`` defaults to
        ``size / 4``.
    exponent : float, default 3.0
        Power-law exponent of the radius distribution (> 1).
    coverage : float, default 0.999
        Fraction of pixels to cover before stopping (in (0, 1]).
    seed : int, Generator or None, optional
        Random seed or generator.
    progress : bool or None, default None
        A tqdm bar over the images (a 512x512 image takes ~2 s): None shows
        it once the call has run 2 s (:mod:`v1model.progress`), True at
        once, False never.

    Returns
    -------
    ndarray, shape (n_images, size, size), float64
        Grey levels in [0, 1) (uncovered pixels are 0).

    Raises
    ------
    ValueError
        When the discs are too small to cover ``coverage`` of the image in
        fewer than :data:`MAX_DISCS` drops (expected), and for parameters
        out of range (``r_max < r_min``, ``exponent <= 1``, ``coverage``
        outside (0, 1]).
    RuntimeError
        When an image is still not covered after a safety limit of drops.
    """
    n_images = check_int(n_images, "n_images", minimum=1)
    size = check_int(size, "size", minimum=2)
    r_min = check_positive(r_min, "r_min")
    r_max = size / 4 if r_max is None else check_positive(r_max, "r_max")
    if r_max < r_min:
        raise ValueError(f"r_max={r_max} must be >= r_min={r_min}")
    exponent = check_positive(exponent, "exponent")
    if exponent <= 1:
        raise ValueError(f"exponent must be > 1 for a normalisable radius law, got {exponent}")
    coverage = check_positive(coverage, "coverage")
    if coverage > 1:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    a = 1.0 - exponent
    expected = _expected_discs(size, r_min, r_max, a, coverage)
    if expected > MAX_DISCS:
        raise ValueError(
            f"discs of radius r_min={r_min:g} to r_max={r_max:g} pixels are too small to cover "
            f"coverage={coverage:g} of a {size}x{size} image: about {expected:.3g} discs per "
            f"image would be needed (limit {MAX_DISCS:.0e}); raise r_min and r_max or lower "
            "coverage"
        )
    # a safety stop far in the tail of the number of discs needed (never reached in practice)
    max_discs = int(20 * expected) + 1000
    check_progress(progress)
    rng = as_generator(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.zeros((n_images, size, size))
    for i in progress_bar(progress, total=n_images, desc="dead leaves", unit="image",
                          iterable=range(n_images)):
        img = out[i]
        covered = np.zeros((size, size), bool)
        n_left = size * size
        target = (1.0 - coverage) * size * size
        for _ in range(max_discs):
            if n_left <= target:
                break
            # inverse-CDF draw from the truncated power law
            r = _radius(rng.random(), r_min, r_max, a)
            cy, cx = rng.uniform(-r, size + r, 2)
            y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, size)
            x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, size)
            if y0 >= y1 or x0 >= x1:
                continue
            disc = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
            new = disc & ~covered[y0:y1, x0:x1]
            if new.any():
                img[y0:y1, x0:x1][new] = rng.random()
                covered[y0:y1, x0:x1] |= new
                n_left -= int(new.sum())
        if n_left > target:
            raise RuntimeError(
                f"dead_leaves: {max_discs} discs left {n_left} of {size * size} pixels "
                f"uncovered (about {expected:.3g} expected); lower coverage"
            )
    return out


def _expected_discs(size, r_min, r_max, a, coverage):
    """Expected number of discs until ``coverage`` of the pixels are covered.

    Each pixel stays uncovered after N discs with probability (1 - p)^N,
    with p the mean over radii of pi r^2 / (size + 2 r)^2 (disc centres are
    uniform on [-r, size + r]^2); with full coverage the last pixel counts.
    """
    r = _radius((np.arange(1000) + 0.5) / 1000, r_min, r_max, a)  # midpoint rule
    p = float(np.mean(np.pi * r**2 / (size + 2 * r) ** 2))
    uncovered = max(1.0 - coverage, 1.0 / (size * size))
    return np.log(1.0 / uncovered) / p


def _radius(u, r_min, r_max, a):
    """Inverse CDF of p(r) ~ r^(a - 1) on [r_min, r_max] (a = 1 - exponent < 0) at ``u``.

    ``(r_min^a + u (r_max^a - r_min^a))^(1/a)`` written with the ratio
    ``(r_max / r_min)^a`` in (0, 1], which cannot overflow for steep laws.
    """
    return r_min * (1.0 + u * ((r_max / r_min) ** a - 1.0)) ** (1.0 / a)
