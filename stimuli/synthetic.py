"""Synthetic natural-image models: 1/f^alpha noise and dead leaves.

For tests and for users without photographs. Both have the scale-invariant
statistics (power spectrum close to 1/f^2) that make sparse coding learn
localized, oriented, band-pass receptive fields.
"""

from __future__ import annotations

import numpy as np

from v1model.progress import check_progress, progress_bar
from v1model.validation import (as_generator, check_fits_in_memory, check_int, check_nonnegative,
                                check_positive)

__all__ = ["pink_noise", "dead_leaves"]

#: largest expected number of discs per dead-leaves image (about a minute of drawing)
MAX_DISCS = 1_000_000
# pink_noise works in blocks of about this many pixels (its FFTs' temporaries are a block's)
_NOISE_BLOCK_PIXELS = 2**18


def pink_noise(n_images: int, size: int, alpha: float = 2.0, seed=None, *,
               progress: bool | None = None):
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
    progress : bool or None, default None
        A tqdm bar over the images (500 of 256x256 take ~13 s): None once the
        call has run 2 s (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    ndarray, shape (n_images, size, size), float64
        Zero mean and unit variance per image (made a few images at a time:
        the same ones whatever ``progress``).

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
    # numpy's "Unable to allocate 1.82 PiB" named no argument
    check_fits_in_memory((n_images, size, size), np.float64, "n_images", n_images,
                         f"images of {size}x{size} pixels (float64)")
    progress = check_progress(progress)
    rng = as_generator(seed)
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    f[0, 0] = 1.0
    amplitude = (f * size) ** (-alpha / 2)  # f_min = 1 / size
    amplitude[0, 0] = 0.0  # no DC
    out = np.empty((n_images, size, size))
    # a few images at a time, in place (500 of 256x256 ran ~13 s in silence, with complex
    # temporaries of 4x the output): the noise of consecutive blocks continues one stream
    block = max(1, _NOISE_BLOCK_PIXELS // (size * size))
    with progress_bar(progress, total=n_images, desc="pink noise", unit="image") as bar:
        for start in range(0, n_images, block):
            part = out[start : start + block]
            noise = rng.standard_normal(part.shape)
            part[...] = np.real(np.fft.ifft2(np.fft.fft2(noise, axes=(1, 2)) * amplitude,
                                             axes=(1, 2)))
            part -= part.mean(axis=(1, 2), keepdims=True)
            part /= part.std(axis=(1, 2), keepdims=True)
            bar.update(len(part))
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
    before it, until ``coverage`` of the pixels are covered. The discs are
    those of a Poisson process in the plane whose radii follow a power law
    p(r) ~ r^-exponent on [r_min, r_max] (exponent 3 gives scale
    invariance, Lee, Mumford & Huang 2001), restricted to the discs that
    reach the image: a disc of radius r reaches it when its centre lies in
    the image dilated by r, of area ``(size + 2 r)^2``, so among the discs
    drawn the radii follow p(r) (size + 2 r)^2 (large discs are more often
    in view), with the centre uniform on that dilated square. A disc of
    radius r covers a given pixel with probability
    ``p = pi r^2 / (size + 2 r)^2``, so about ``log(1 / (1 - coverage)) / mean(p)``
    discs are needed per image (the mean over the radii drawn); radii so
    small that more than :data:`MAX_DISCS` would be needed are rejected.

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
    default_r_max = r_max is None
    r_max = size / 4 if default_r_max else check_positive(r_max, "r_max")
    if r_max < r_min:
        given = f" (the default, size / 4 for size={size})" if default_r_max else ""
        raise ValueError(f"r_max={r_max}{given} must be >= r_min={r_min}")
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
    # numpy's "Unable to allocate 1.82 PiB" named no argument
    check_fits_in_memory((n_images, size, size), np.float64, "n_images", n_images,
                         f"images of {size}x{size} pixels (float64)")
    rng = as_generator(seed)
    mixture = _radius_mixture(size, r_min, r_max, a)
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
            r = _draw_radius(rng, r_min, r_max, mixture)
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


def _radius_mixture(size, r_min, r_max, a):
    """The law of the radii of the discs that reach a ``size`` x ``size`` image.

    In the plane the radii follow the truncated power law (density ~ r^(a - 1));
    a disc reaches the image when its centre lies in the square of side
    ``size + 2 r`` around it, so the discs drawn have density ~ r^(a - 1)
    (size + 2 r)^2 = size^2 r^(a - 1) + 4 size r^a + 4 r^(a + 1): a mixture of
    three truncated power laws, drawn exactly by :func:`_draw_radius` (a
    rejection draw would stall for ``r_max`` far above ``size``). Drawing the
    power law itself, with the centre uniform on that r-dependent square,
    gives a plane process with density ~ r^(a - 1) / (size + 2 r)^2: too few
    large discs, and statistics that depend on ``size`` instead of being
    scale invariant.

    Returns
    -------
    cumulative : ndarray, shape (3,)
        Cumulative probabilities of the three components.
    exponents : tuple of float
        Their exponents ``b`` (density ~ r^(b - 1)): ``a``, ``a + 1``, ``a + 2``.
    """
    exponents = (a, a + 1.0, a + 2.0)
    log_ratio = np.log(r_max / r_min)
    # integrals of r^(b - 1) over [r_min, r_max] divided by the common factor r_min^a
    coefficients = (float(size) ** 2, 4.0 * size * r_min, 4.0 * r_min**2)
    weights = np.array([c * _power_integral(b, log_ratio) for c, b in zip(coefficients, exponents)])
    if not weights.sum() > 0:  # r_min == r_max: one radius, whichever component
        return np.ones(3), exponents
    return np.cumsum(weights) / weights.sum(), exponents


def _power_integral(b, log_ratio):
    """``(R^b - 1) / b`` (``log R`` at ``b = 0``) with ``log_ratio = log R``."""
    x = b * log_ratio
    return log_ratio if abs(x) < 1e-12 else np.expm1(x) / b


def _draw_radius(rng, r_min, r_max, mixture):
    """One radius drawn from :func:`_radius_mixture`'s law (two uniform draws)."""
    cumulative, exponents = mixture
    b = exponents[min(int(np.searchsorted(cumulative, rng.random(), side="right")), 2)]
    u = rng.random()
    log_ratio = np.log(r_max / r_min)
    x = b * log_ratio
    if abs(x) < 1e-12:  # density ~ 1 / r: log-uniform
        return r_min * np.exp(u * log_ratio)
    # inverse CDF r_min (1 + u (R^b - 1))^(1/b), written to stay accurate near b = 0
    return r_min * np.exp(np.log1p(u * np.expm1(x)) / b)


def _expected_discs(size, r_min, r_max, a, coverage):
    """Expected number of discs until ``coverage`` of the pixels are covered.

    Each pixel stays uncovered after N discs with probability (1 - p)^N,
    with p the mean over the radii drawn of pi r^2 / (size + 2 r)^2 (disc
    centres are uniform on [-r, size + r]^2, radii weighted by
    (size + 2 r)^2 as in :func:`_radius_mixture`); with full coverage the last
    pixel counts.
    """
    r = _radius((np.arange(1000) + 0.5) / 1000, r_min, r_max, a)  # midpoint rule
    weight = (size + 2 * r) ** 2
    p = float(np.sum(np.pi * r**2) / np.sum(weight))
    uncovered = max(1.0 - coverage, 1.0 / (size * size))
    return np.log(1.0 / uncovered) / p


def _radius(u, r_min, r_max, a):
    """Inverse CDF of p(r) ~ r^(a - 1) on [r_min, r_max] (a = 1 - exponent < 0) at ``u``.

    ``(r_min^a + u (r_max^a - r_min^a))^(1/a)`` written with the ratio
    ``(r_max / r_min)^a`` in (0, 1], which cannot overflow for steep laws.
    """
    return r_min * (1.0 + u * ((r_max / r_min) ** a - 1.0)) ** (1.0 / a)
