"""Gratings, Gabor patches, white and sparse noise against their formulas."""

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
        (lambda: gabor_patch(8, 0.0, 0.1, sigma_x=0.0), "sigma_x and sigma_y must be positive"),
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
    negative frequencies were rejected by grating_set only."""
    with pytest.raises(ValueError, match=rf"^{name} must be in \[0, 0.5\] cycles/pixel \(0.5 "
                                         rf"is the Nyquist frequency of the pixel grid\), got "
                                         rf"{f!r}{among}$"):
        call(f)


def test_nyquist_and_zero_frequencies_are_accepted():
    # at 0.5 cycles/pixel the grating alternates: cos(pi (x - x0)) with x0 = 3.5
    x = np.arange(8) - 3.5
    np.testing.assert_allclose(grating(8, 0.0, 0.5)[0], np.cos(np.pi * x), atol=1e-12)
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
