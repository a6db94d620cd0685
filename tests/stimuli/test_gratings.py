"""Gratings, Gabor patches, white and sparse noise against their formulas."""

import warnings

import numpy as np
import pytest

from stimuli import (
    drifting_grating,
    gabor_patch,
    grating,
    grating_set,
    sparse_noise,
    white_noise,
)


def test_vertical_grating_is_a_cosine_along_x():
    f, phase = 0.1, 0.4
    g = grating((6, 9), orientation=0.0, frequency=f, phase=phase)
    x = np.arange(9) - 4.0  # centre (x0, y0) = (4, 2.5)
    np.testing.assert_allclose(g, np.broadcast_to(np.cos(2 * np.pi * f * x + phase), (6, 9)),
                               atol=1e-12)


def test_horizontal_grating_phase_grows_upwards():
    # orientation pi/2: wave vector points up on the screen (towards row 0)
    f = 0.125
    g = grating(9, orientation=np.pi / 2, frequency=f)
    up = 4.0 - np.arange(9)  # height above the centre row
    np.testing.assert_allclose(g, np.broadcast_to(np.cos(2 * np.pi * f * up)[:, None], (9, 9)),
                               atol=1e-12)


def test_orientation_plus_pi_reverses_the_phase():
    a = grating(12, orientation=0.7 + np.pi, frequency=0.2, phase=0.9)
    b = grating(12, orientation=0.7, frequency=0.2, phase=-0.9)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_grating_set_matches_single_gratings():
    o, f, ph = [0.0, 1.0], [0.1, 0.2, 0.3], [0.0, np.pi / 2]
    s = grating_set(8, o, f, ph, contrast=0.5)
    assert s.shape == (2, 3, 2, 8, 8)
    np.testing.assert_allclose(s[1, 2, 1], grating(8, 1.0, 0.3, np.pi / 2, contrast=0.5))


def test_drifting_grating_moves_along_its_wave_vector():
    # period 8 px, 1 Hz, 8 frames/s: one pixel to the right per frame
    frames, times = drifting_grating(16, orientation=0.0, frequency=0.125,
                                     temporal_frequency=1.0, duration=1.0, frame_rate=8.0)
    assert frames.shape == (8, 16, 16)
    np.testing.assert_allclose(times, np.arange(8) / 8.0)
    np.testing.assert_allclose(frames[1][:, 1:], frames[0][:, :-1], atol=1e-12)
    np.testing.assert_allclose(frames[0], grating(16, 0.0, 0.125), atol=1e-12)


def test_gabor_patch_envelope_and_carrier():
    sx, sy = 1.5, 3.0
    # orientation 0: bars vertical; along the central column the carrier is cos(0) = 1
    g = gabor_patch(15, orientation=0.0, frequency=0.1, phase=0.0, sigma_x=sx, sigma_y=sy)
    d = np.arange(15) - 7.0
    np.testing.assert_allclose(g[:, 7], np.exp(-d**2 / (2 * sy**2)), atol=1e-12)
    expected_row = np.exp(-d**2 / (2 * sx**2)) * np.cos(2 * np.pi * 0.1 * d)
    np.testing.assert_allclose(g[7], expected_row, atol=1e-12)


def test_gabor_patch_broadcasts_and_offsets():
    g = gabor_patch(10, orientation=np.array([0.0, 1.0])[:, None],
                    frequency=np.array([0.1, 0.2, 0.3]), amplitude=2.0, offset=1.0,
                    center=(3.0, 4.0))
    assert g.shape == (2, 3, 10, 10)
    # at the centre the phase-0 carrier and the envelope are 1
    np.testing.assert_allclose(g[..., 4, 3], 3.0)


def test_white_noise_statistics_and_seed():
    a = white_noise(4000, (4, 5), contrast=0.5, seed=3)
    assert a.shape == (4000, 4, 5)
    assert abs(a.mean()) < 0.01
    assert a.std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(a, white_noise(4000, (4, 5), contrast=0.5, seed=3))
    b = white_noise(100, 6, contrast=2.0, distribution="binary", seed=0)
    assert set(np.unique(b)) == {-2.0, 2.0}


def test_sparse_noise_pixels_and_variance():
    n, k, c = 20000, 3, 1.5
    s = sparse_noise(n, (4, 4), n_pixels=k, contrast=c, seed=1)
    flat = s.reshape(n, -1)
    assert np.all(np.count_nonzero(flat, axis=1) == k)
    assert set(np.unique(flat[flat != 0])) == {-c, c}
    # uncorrelated pixels of variance c^2 k / P
    cov = np.cov(flat.T)
    np.testing.assert_allclose(np.diag(cov), c**2 * k / 16, rtol=0.05)
    off = cov[~np.eye(16, dtype=bool)]
    assert np.abs(off).max() < 0.05 * c**2 * k / 16 + 0.01


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: grating((0, 4), 0.0, 0.1), "shape must be a positive int"),
        (lambda: grating("big", 0.0, 0.1), "shape must be a positive int"),
        (lambda: grating(8, np.nan, 0.1), "orientation contains 1 non-finite"),
        (lambda: grating(8, [0, 1], [0.1, 0.2, 0.3]), "do not broadcast"),
        (lambda: grating_set(8, [0.0], [-0.1], [0.0]), r"frequencies must be in \[0, 0.5\]"),
        (lambda: gabor_patch(8, 0.0, 0.1, sigma_x=0.0), r"sigma_x must be > 0 pixels .*got 0\.0$"),
        (lambda: gabor_patch(8, [0.0, 1.0], 0.1, sigma_y=[2.0, -1.0]),
         r"sigma_y must be > 0 pixels .*got -1\.0 among 2 values"),
        (lambda: white_noise(10, 4, contrast=-1.0), "contrast must be a positive"),
        (lambda: white_noise(10, 4, distribution="uniform"), "distribution must be one of"),
        (lambda: sparse_noise(10, 2, n_pixels=5), "n_pixels must be <= 4"),
        (lambda: drifting_grating(8, 0, 0.1, 1.0, duration=0.01, frame_rate=10),
         "gives no frame"),
        (lambda: grating(8, 0.0, 0.1, center=(1.0,)), r"center must be \(x0, y0\)"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("call, name, among", [
    (lambda f: grating(8, 0.0, f), "frequency", ""),
    (lambda f: grating(8, [0.0, 1.0], [0.1, f]), "frequency", " among 2 values"),
    (lambda f: grating_set(8, [0.0], [0.1, f], [0.0]), "frequencies", " among 2 values"),
    (lambda f: drifting_grating(8, 0.0, f, 1.0, duration=1.0, frame_rate=4), "frequency", ""),
    (lambda f: gabor_patch(8, 0.0, f), "frequency", ""),
])
@pytest.mark.parametrize("f", [3.0, 0.51, -0.1])
def test_frequencies_outside_zero_to_nyquist_are_rejected(call, name, among, f):
    """Above 0.5 cycles/pixel a grating aliases (grating(8, 0, 3.0) is a uniform field);
    negative frequencies were rejected by grating_set only. A frequency of 1 or more,
    most likely cycles per image, is told how to convert it."""
    per_image = (r"; a frequency of k cycles per image is k / N cycles/pixel on a patch N "
                 r"pixels wide \(4 cycles across 32 pixels: 0.125\)" if f >= 1 else "")
    with pytest.raises(ValueError, match=rf"^{name} must be in \[0, 0.5\] cycles/pixel \(0.5 "
                                         rf"is the Nyquist frequency of the pixel grid\), got "
                                         rf"{f!r}{among}{per_image}$"):
        call(f)


def test_nyquist_and_zero_frequencies_are_accepted():
    # at 0.5 cycles/pixel the grating alternates: cos(pi (x - x0) + phase) with x0 = 3.5
    # (at phase 0 every pixel is a zero of the cosine: a grating of zeros passed)
    x = np.arange(8) - 3.5
    row = grating(8, 0.0, 0.5, phase=np.pi / 4)[0]
    np.testing.assert_allclose(row, np.cos(np.pi * x + np.pi / 4), atol=1e-12)
    np.testing.assert_allclose(np.abs(row), np.sqrt(0.5), rtol=1e-12)
    np.testing.assert_array_equal(np.sign(row[1:]), -np.sign(row[:-1]))
    np.testing.assert_allclose(grating(8, 0.0, 0.0, phase=np.pi / 3), 0.5, atol=1e-12)


def test_sparse_noise_reaches_every_pixel_with_both_signs():
    """One pixel per image, uniform over the h*w pixels: 3000 images of 2x3 reach every
    pixel (a pixel is missed with probability (5/6)^3000), each with both signs."""
    from stimuli import sparse_noise

    S = sparse_noise(3000, (2, 3), n_pixels=1, contrast=0.5, seed=0)
    assert S.shape == (3000, 2, 3)
    assert np.all((S != 0).sum(axis=(1, 2)) == 1)
    assert np.all((S > 0).any(axis=0)) and np.all((S < 0).any(axis=0))
    np.testing.assert_array_equal(np.unique(S), [-0.5, 0.0, 0.5])


# --- apertures and plaids -----------------------------------------------------------------

from stimuli import annulus_grating, aperture, disc_grating, plaid  # noqa: E402


def _radius(shape, center):
    h, w = shape
    y, x = np.mgrid[0:h, 0:w]
    return np.hypot(x - center[0], y - center[1])


@pytest.mark.parametrize("center", [None, (3.0, 7.5), (10.2, 1.0)])
def test_hard_disc_is_the_grating_inside_and_the_mean_outside(center):
    shape, d, mean = (12, 14), 7.0, 0.3
    g = disc_grating(shape, 0.7, 0.2, d, phase=0.4, contrast=0.8, mean=mean, center=center)
    full = grating(shape, 0.7, 0.2, 0.4, 0.8, mean=mean, center=center)
    c = ((shape[1] - 1) / 2, (shape[0] - 1) / 2) if center is None else center
    inside = _radius(shape, c) < d / 2
    assert 0 < inside.sum() < inside.size
    np.testing.assert_array_equal(g[inside], full[inside])
    np.testing.assert_array_equal(g[~inside], mean)


def test_smooth_disc_ramps_over_the_edge_around_the_nominal_radius():
    d, e = 8.0, 3.0
    win = aperture(21, d, edge=e)
    r = _radius((21, 21), (10.0, 10.0))
    np.testing.assert_array_equal(win[r <= d / 2 - e / 2], 1.0)
    np.testing.assert_array_equal(win[r >= d / 2 + e / 2], 0.0)
    ramp = (r > d / 2 - e / 2) & (r < d / 2 + e / 2)
    s = (d / 2 + e / 2 - r[ramp]) / e  # raised cosine: 0.5 at the nominal radius
    np.testing.assert_allclose(win[ramp], np.sin(np.pi * s / 2) ** 2, atol=1e-12)
    # a grating seen through it: the grating where the window is 1, the mean where it is 0
    g = disc_grating(21, 1.1, 0.15, d, contrast=2.0, mean=-0.5, edge=e)
    full = grating(21, 1.1, 0.15, contrast=2.0, mean=-0.5)
    np.testing.assert_allclose(g[win == 1], full[win == 1], atol=1e-12)
    np.testing.assert_allclose(g[win == 0], -0.5, atol=1e-12)
    np.testing.assert_allclose(g, -0.5 + win * (full + 0.5), atol=1e-12)


def test_smooth_window_grows_continuously_from_an_empty_disc():
    sums = aperture(15, np.linspace(0.0, 12.0, 49), edge=4.0).sum(axis=(1, 2))
    assert sums[0] == 0.0
    assert np.all(np.diff(sums) >= 0)
    assert np.abs(np.diff(sums)).max() < 10.0  # no jump at diameter = edge


@pytest.mark.parametrize("edge", [0.0, 2.5])
def test_annulus_complements_the_disc(edge):
    kw = dict(phase=0.3, contrast=0.7, mean=0.1, center=(5.5, 6.0), edge=edge)
    inner = disc_grating(13, 0.4, 0.22, 4.0, **kw)
    ring = annulus_grating(13, 0.4, 0.22, 4.0, 9.0, **kw)
    outer = disc_grating(13, 0.4, 0.22, 9.0, **kw)
    np.testing.assert_allclose(inner + ring - 0.1, outer, atol=1e-12)
    # the ring's window is 1 - the inner disc's inside the outer disc
    w_ring = aperture(13, 9.0, inner_diameter=4.0, center=(5.5, 6.0), edge=edge)
    np.testing.assert_allclose(w_ring, aperture(13, 9.0, center=(5.5, 6.0), edge=edge)
                               - aperture(13, 4.0, center=(5.5, 6.0), edge=edge), atol=1e-12)
    assert w_ring.min() >= 0 and w_ring.max() <= 1


def test_large_disc_is_the_full_grating_and_broadcasts():
    g = disc_grating(10, [0.0, 1.0], 0.1, [[3.0], [30.0]], phase=0.2)
    assert g.shape == (2, 2, 10, 10)
    np.testing.assert_allclose(g[1], grating(10, [0.0, 1.0], 0.1, 0.2), atol=1e-12)
    assert aperture(10, 0.0).sum() == 0


def test_plaid_is_the_sum_of_its_gratings():
    test = grating(11, 0.3, 0.2, 0.5, 0.6, center=(4.0, 6.0))
    mask = grating(11, 0.3 + np.pi / 2, 0.25, 1.2, 0.9, center=(4.0, 6.0))
    p = plaid(11, 0.3, 0.2, 0.3 + np.pi / 2, 0.25, phase=0.5, mask_phase=1.2, contrast=0.6,
              mask_contrast=0.9, mean=0.2, center=(4.0, 6.0))
    np.testing.assert_allclose(p, 0.2 + test + mask, atol=1e-12)
    # without a mask it is the test grating; in a disc both share the window
    np.testing.assert_allclose(plaid(11, 0.3, 0.2, 1.0, mask_contrast=0.0),
                               grating(11, 0.3, 0.2), atol=1e-12)
    win = aperture(11, 6.0, center=(4.0, 6.0))
    inside = plaid(11, 0.3, 0.2, 0.3 + np.pi / 2, 0.25, phase=0.5, mask_phase=1.2,
                   contrast=0.6, mask_contrast=0.9, center=(4.0, 6.0), diameter=6.0)
    np.testing.assert_allclose(inside, win * (test + mask), atol=1e-12)
    # parameters broadcast: 3 mask contrasts x 2 test phases
    many = plaid(11, 0.3, 0.2, 1.9, phase=[0.0, 1.0], mask_contrast=[[0.0], [0.5], [1.0]])
    assert many.shape == (3, 2, 11, 11)


@pytest.mark.parametrize("call, match", [
    (lambda: aperture(8, -1.0), r"diameter must be >= 0 pixels, got -1\.0"),
    (lambda: aperture(8, 3.0, inner_diameter=4.0), r"inner_diameter must not exceed diameter"),
    (lambda: aperture(8, 3.0, edge=-0.5), r"edge must be a non-negative finite number"),
    (lambda: aperture(8, np.nan), r"diameter contains 1 non-finite"),
    (lambda: aperture(8, 3.0, center=(1.0,)), r"center must be \(x0, y0\)"),
    (lambda: disc_grating(8, 0.0, 0.7, 3.0), r"frequency must be in \[0, 0\.5\]"),
    (lambda: annulus_grating(8, 0.0, 0.2, 5.0, 3.0), r"inner_diameter must not exceed "
                                                     r"outer_diameter"),
    (lambda: annulus_grating(8, 0.0, 0.2, 1.0, -3.0), r"outer_diameter must be >= 0"),
    (lambda: plaid(8, 0.0, 0.2, 1.0, mask_frequency=0.9), r"mask_frequency must be in"),
    (lambda: plaid(8, [0.0, 1.0], 0.2, [1.0, 2.0, 3.0]), r"do not broadcast"),
])
def test_aperture_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- bars (length tuning) -------------------------------------------------------------------

from stimuli import bar_aperture, bar_grating  # noqa: E402


@pytest.mark.parametrize("orientation, center", [(0.0, None), (0.6, (4.0, 7.5)),
                                                 (2.3, (9.2, 5.0)), (np.pi / 2, (6.0, 6.0))])
def test_bar_grating_is_the_grating_inside_the_rectangle_and_the_mean_outside(orientation,
                                                                               center):
    """Inside = the full grating with the same centre (same phase reference), outside =
    the mean; the rectangle's long side runs along the grating's bars: along them the
    grating is constant, across them x' = u cos + v sin (y up, as in grating)."""
    shape, length, width, mean = (13, 15), 7.0, 3.5, 0.2
    g = bar_grating(shape, orientation, 0.2, length, width, phase=0.4, contrast=0.8, mean=mean,
                    center=center)
    full = grating(shape, orientation, 0.2, phase=0.4, contrast=0.8, mean=mean, center=center)
    h, w = shape
    x0, y0 = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    y, x = np.mgrid[0:h, 0:w]
    u, v = x - x0, -(y - y0)
    across = u * np.cos(orientation) + v * np.sin(orientation)
    along = -u * np.sin(orientation) + v * np.cos(orientation)
    inside = (np.abs(along) < length / 2) & (np.abs(across) < width / 2)
    assert 10 < inside.sum() < inside.size
    np.testing.assert_allclose(g[inside], full[inside], atol=1e-12)
    np.testing.assert_array_equal(g[~inside], mean)
    # the grating is constant along its bars: the rectangle's long axis is iso-phase
    np.testing.assert_allclose(full - mean, 0.8 * np.cos(2 * np.pi * 0.2 * across + 0.4),
                               atol=1e-12)
    np.testing.assert_array_equal(bar_aperture(shape, orientation, length, width, center),
                                  inside.astype(float))


def test_bar_orientation_zero_is_a_vertical_rectangle_and_pi_over_two_horizontal():
    vertical = bar_aperture(9, 0.0, length=5.0, width=1.0)  # column 4, rows 2..6
    expected = np.zeros((9, 9))
    expected[2:7, 4] = 1.0
    np.testing.assert_array_equal(vertical, expected)
    np.testing.assert_array_equal(bar_aperture(9, np.pi / 2, length=5.0, width=1.0),
                                  expected.T)
    # strictly inside: a length of exactly 2 k + 1 keeps 2 k + 1 pixels, 2 k keeps 2 k - 1
    assert bar_aperture(9, 0.0, 4.0, 1.0).sum() == 3.0
    assert bar_aperture(9, 0.0, 0.0, 1.0).sum() == 0.0


def test_bar_grating_broadcasts_and_a_long_wide_bar_is_the_full_grating():
    g = bar_grating(10, [0.0, 1.0], 0.1, [[3.0], [40.0]], 40.0, phase=0.2)
    assert g.shape == (2, 2, 10, 10)
    np.testing.assert_allclose(g[1], grating(10, [0.0, 1.0], 0.1, phase=0.2), atol=1e-12)
    assert np.all((g[0] != 0).sum(axis=(-2, -1)) < 100)


@pytest.mark.parametrize("call, match", [
    (lambda: bar_aperture(8, 0.0, -1.0, 2.0), r"length must be >= 0 pixels, got -1\.0"),
    (lambda: bar_aperture(8, 0.0, 3.0, -2.0), r"width must be >= 0 pixels, got -2\.0"),
    (lambda: bar_grating(8, 0.0, 0.2, np.inf, 2.0), r"length contains 1 non-finite"),
    (lambda: bar_grating(8, 0.0, 0.7, 3.0, 2.0), r"frequency must be in \[0, 0\.5\]"),
    (lambda: bar_grating(8, 0.0, 0.2, [1.0, 2.0], [1.0, 2.0, 3.0]), r"do not broadcast"),
    (lambda: bar_grating(8, 0.0, 0.2, 3.0, 2.0, center=(1.0,)), r"center must be \(x0, y0\)"),
])
def test_bar_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("key", ["orientation", "frequency", "phase", "contrast"])
def test_drifting_grating_takes_one_grating(key):
    """An array of 4 orientations with 4 frames broadcast against the frames' phases:
    frame k silently had orientation k (and any other length failed with a message
    about a ``phase`` the caller never gave)."""
    args = dict(shape=8, orientation=0.0, frequency=0.1, temporal_frequency=1.0,
                duration=1.0, frame_rate=4.0)
    args[key] = [0.1, 0.2, 0.3, 0.4]
    with pytest.raises(ValueError, match=rf"^{key} must be a single number .*got \[0\.1, "):
        drifting_grating(**args)


@pytest.mark.parametrize("phase, error", [(None, TypeError), ("0", TypeError),
                                          (np.nan, ValueError)])
def test_drifting_grating_checks_its_phase(phase, error):
    # None and "0" failed inside numpy's subtraction; NaN gave frames of NaN
    with pytest.raises(error, match=r"^phase "):
        drifting_grating(8, 0.0, 0.1, 1.0, 1.0, 4.0, phase=phase)


def test_a_bool_for_a_number_is_refused_by_name():
    # True was read as 1.0: a grating of contrast 1, a window of diameter 1 pixel, and
    # frequency=True refused as "got 1.0", a value the caller never gave
    cases = [(lambda: grating((8, 8), 0.0, 0.1, contrast=True), "contrast"),
             (lambda: grating((8, 8), True, 0.1), "orientation"),
             (lambda: grating((8, 8), 0.0, True), "frequency"),
             (lambda: gabor_patch((8, 8), 0.0, 0.1, sigma_x=np.True_), "sigma_x"),
             (lambda: aperture((8, 8), True), "diameter"),
             (lambda: bar_grating((8, 8), 0.0, 0.1, True, 2.0), "length")]
    for make, name in cases:
        with pytest.raises(TypeError, match=f"^{name} must be a number or an array of "
                                            "numbers, got (np.)?True \\(a bool\\)$"):
            make()


@pytest.mark.parametrize("tf, shown", [
    (6.0, "a grating drifting the opposite way at 4 Hz"),
    (5.0, "a counterphase flicker with no drift direction"),
    (10.0, r"no drift \(the same frame again and again\)"),
    (11.0, "a grating drifting at 1 Hz"),
])
def test_drifting_grating_refuses_temporal_aliasing(tf, shown):
    """At 10 frames/s a drift of 6 Hz was sampled into the frames of 4 Hz drifting the other
    way, unsaid; the message names what the frames would show, checked here against
    frames made with grating() at the phases the frames would have."""
    times = np.arange(10) / 10.0
    aliased = grating(8, 0.3, 0.125, -2 * np.pi * tf * times[:, None, None])
    alias = {6.0: -4.0, 5.0: 5.0, 10.0: 0.0, 11.0: 1.0}[tf]
    np.testing.assert_allclose(
        aliased, grating(8, 0.3, 0.125, -2 * np.pi * alias * times[:, None, None]), atol=1e-9)
    with pytest.raises(ValueError, match=rf"^temporal_frequency={tf:g} Hz is not below half "
                       rf"the frame_rate \(10 Hz / 2 = 5 Hz, the temporal Nyquist frequency\): "
                       rf"the frames would show {shown}; raise frame_rate above {2 * tf:g} Hz"):
        drifting_grating(8, 0.3, 0.125, tf, duration=1.0, frame_rate=10.0)
    frames, _ = drifting_grating(8, 0.3, 0.125, 4.9, duration=1.0, frame_rate=10.0)
    assert frames.shape == (10, 8, 8)  # below frame_rate / 2: drifts as asked


def test_blank_gratings_at_the_nyquist_frequency_are_warned_of():
    """At 0.5 cycles/pixel the pixels sample cos(pi (x - 7.5) + phase) on a 16-pixel patch:
    phase 0 hits only its zeros (a blank grating, returned unsaid), phase pi/2 alternates
    +-1; an odd patch (centre on a pixel) is full at phase 0. Warned of, not refused."""
    x = np.arange(16) - 7.5
    with pytest.warns(UserWarning, match=r"^1 of the 1 grating\(s\) at frequency 0\.5 "
                      r"cycles/pixel \(the Nyquist frequency\) are blank, every pixel at the "
                      r"background level: .*shift phase by pi/2 or center by half a pixel"):
        blank = grating(16, 0.0, 0.5, mean=0.3)
    np.testing.assert_allclose(blank, 0.3, atol=1e-12)  # cos(pi x) at half-integers is 0
    with pytest.warns(UserWarning, match=r"^3 of the 4 Gabor patch\(es\) at frequency 0\.5 "):
        gabor_patch(16, [0.0, 0.0, np.pi / 2, 1.0], 0.5, phase=[0.0, np.pi, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = grating(16, 0.0, 0.5, phase=np.pi / 2)
        np.testing.assert_allclose(full[0], np.cos(np.pi * x + np.pi / 2), atol=1e-12)
        np.testing.assert_allclose(np.abs(grating(15, 0.0, 0.5)), 1.0, atol=1e-12)
        grating(16, 0.0, 0.5, contrast=0.0)  # asked blank: nothing to say


def test_a_blank_phase_of_a_sweep_over_phase_is_not_warned_of():
    """A sweep over phase at the Nyquist frequency holds blank phases (phase 0 and pi at
    orientation 0 on an even patch) beside the full ones: grating_responses with 0.5 among
    its frequencies (8 phases) warned of "4 of the 192 grating(s)" on every call, though
    its maximum over phases is that of the full grating. A sweep whose phases are all
    blank (here the single phase 0) still is warned of."""
    from v1model.analysis import grating_responses

    D = grating(16, 0.0, 0.5, phase=np.pi / 2).reshape(1, -1) / 16.0  # unit norm
    relu = lambda X: np.maximum(X @ D.T, 0.0)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = grating_responses(relu, 16, orientations=4, frequencies=[0.25, 0.5], phases=8)
        gabor_patch(16, 0.0, 0.5, phase=[0.0, np.pi / 2, np.pi, 1.0])
    # the full grating's response: |<D, g>| = 16 at phase pi/2
    np.testing.assert_allclose(float(ds.response.sel(frequency=0.5).max()), 16.0, rtol=1e-12)
    # of the 4 gratings at 0.5 (of all 8 before 2026-12-08, when grating_responses made
    # the whole set at once)
    with pytest.warns(UserWarning, match=r"^2 of the 4 grating\(s\) at frequency 0\.5 "):
        grating_responses(relu, 16, orientations=4, frequencies=[0.25, 0.5], phases=[0.0])


def test_the_blank_grating_warning_names_the_users_line():
    """The warning named a line inside the packages: stimuli/gratings.py's grating for a
    disc_grating or a Gabor patch set, v1model/analysis/tuning.py for grating_responses
    (a fixed stacklevel=3). It names the caller's line, through any of them."""
    from v1model.analysis import grating_responses

    D = grating(16, 0.0, 0.5, phase=np.pi / 2).reshape(1, -1) / 16.0
    relu = lambda X: np.maximum(X @ D.T, 0.0)  # noqa: E731
    calls = [lambda: grating(16, 0.0, 0.5),
             lambda: disc_grating(16, 0.0, 0.5, diameter=12),
             lambda: grating_responses(relu, 16, orientations=4, frequencies=[0.25, 0.5],
                                       phases=[0.0])]
    for call in calls:
        with pytest.warns(UserWarning, match="are blank") as record:
            call()
        assert [w.filename for w in record] == [__file__]


@pytest.mark.parametrize("contrast", [[0.5, 1.0], np.array([[2.0]]), (0.5, 1.0, 2.0)])
def test_grating_set_takes_one_contrast(contrast):
    """contrast=[0.5, 1.0] with two phases gave each phase its own contrast (a grid of
    (orientation, frequency, phase) whose phases differed in amplitude), unsaid; with three
    values, a broadcasting error naming shapes the caller never gave."""
    with pytest.raises(ValueError, match=r"contrast must be a single number \(the amplitude "
                                         r"of every grating of the set"):
        grating_set(8, [0.0, 1.0], [0.1], [0.0, np.pi / 2], contrast=contrast)
    # one number: every grating of the grid has that amplitude, as grating() draws it
    s = grating_set(8, [0.0, 1.0], [0.1], [0.0, np.pi / 2], contrast=np.float32(0.5))
    np.testing.assert_allclose(s[1, 0, 1], grating(8, 1.0, 0.1, np.pi / 2, 0.5), atol=1e-15)


@pytest.mark.parametrize("shape, shown",
                         [(0, "got 0$"), (-3, "got -3$"), ((0, 5), r"got \(0, 5\)$")])
def test_a_bad_shape_is_named_as_given(shape, shown):
    """An int side was shown as the pair it became: grating(0, ...) and
    whitening_filter(-3) said "got (0, 0)" and "got (-3, -3)"."""
    from stimuli.images import whitening_filter

    for call in (lambda: grating(shape, 0.0, 0.1), lambda: white_noise(2, shape),
                 lambda: whitening_filter(shape)):
        with pytest.raises(ValueError, match=r"shape must be a positive int or \(height, "
                                             rf"width\), {shown}"):
            call()
