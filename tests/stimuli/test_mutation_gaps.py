"""Gaps found by mutation testing of stimuli/: behaviour no other test pinned down.

Each test checks a documented property against an independent reference (numpy.fft,
the IDX specification, a formula) or a documented error, with explicit tolerances.
"""

import warnings

import numpy as np
import pytest
from scipy.io import savemat

from stimuli import dead_leaves, load_images, pink_noise, sample_patches, whiten

# --- images: documented errors ------------------------------------------------------------


def test_whiten_refuses_an_all_black_picture_as_constant():
    """std 0 <= 1e-12 * max|pixel| = 0: a black picture is constant, named as such."""
    with pytest.raises(ValueError, match="image 1 has zero variance"):
        whiten(np.stack([np.eye(8), np.zeros((8, 8))]))


def test_a_dim_picture_beside_a_bright_one_is_not_constant():
    """Constancy is judged on each picture's own scale: a picture 1e13 times dimmer than its
    neighbour is whitened like the others (all share one gain)."""
    rng = np.random.default_rng(13)
    a, b = rng.random((2, 16, 16))
    out = whiten(np.stack([a, 1e-13 * b]))[1]
    alone = whiten(b)[0]  # variance 0.1
    np.testing.assert_allclose(out / out.std(), alone / alone.std(), rtol=0, atol=1e-9)


def test_whiten_refuses_pictures_smaller_than_4x4():
    with pytest.raises(ValueError, match=r"images must be at least 4x4 pixels, got shape "
                                         r"\(2, 3, 8\)"):
        whiten(np.random.default_rng(0).random((2, 3, 8)))


@pytest.mark.parametrize("variance", [0.0, -0.1, np.inf])
def test_whiten_refuses_a_variance_that_is_not_positive_and_finite(variance):
    """variance=0 gave all-zero images, a negative one a misleading "no power" error."""
    with pytest.raises(ValueError, match="variance must be a positive finite number"):
        whiten(np.random.default_rng(0).random((2, 16, 16)), variance=variance)


def test_load_images_checks_its_progress_flag():
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        load_images(np.zeros((1, 8, 8)), progress="yes")


def test_a_folder_without_pictures_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(ValueError, match=r"images: folder .* holds no PNG/JPEG/TIFF images"):
        load_images(tmp_path, name="images")


def test_a_mat_key_that_is_not_a_stack_of_pictures_is_refused(tmp_path):
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.zeros((4, 4, 2, 2))})
    with pytest.raises(ValueError, match=r"key 'IMAGES' has shape \(4, 4, 2, 2\); expected "
                                         r"\(height, width, n_images\)"):
        load_images(tmp_path / "IMAGES.mat")


def test_a_file_that_is_neither_mat_nor_picture_is_refused(tmp_path):
    (tmp_path / "images.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match=r"images: cannot read .*images\.txt'.*expected a "
                                         r"\.mat file, an image file, a sparsenet raw file "
                                         r"\(image0, image1, \.\.\.: no suffix\) or a folder"):
        load_images(tmp_path / "images.txt", name="images")


def test_raw_files_holding_nan_are_refused(tmp_path):
    """Arrays are checked on the way in; raw files as they are read, each named."""
    image = np.zeros((8, 8), ">f4")
    image[3, 4] = np.nan
    image.tofile(tmp_path / "image0")
    with pytest.raises(ValueError, match=r"raw file .*image0' holds 1 NaN or inf pixel\(s\), "
                                         r"the first at \(row, column\) \(3, 4\)"):
        load_images(tmp_path)


def test_missing_bundled_photographs_are_reported(monkeypatch):
    import stimuli.images

    monkeypatch.setattr(stimuli.images, "SKIMAGE_SCENES", ("no_such_picture.png",))
    with pytest.raises(RuntimeError, match="no bundled photographs found"):
        load_images("skimage")


def test_size_squares_an_array_source_by_its_centre():
    """size = the shorter side keeps the centred square exactly (no resampling); a smaller
    size is that square resized with anti-aliasing (skimage's resize, the reference)."""
    from skimage.transform import resize

    stack = np.random.default_rng(0).random((2, 12, 20))
    np.testing.assert_array_equal(load_images(stack, size=12), stack[:, :, 4:16])
    np.testing.assert_array_equal(load_images(stack[:, :, :12].transpose(0, 2, 1), size=12),
                                  stack[:, :, :12].transpose(0, 2, 1))
    tall = np.random.default_rng(1).random((1, 17, 9))  # rows 4..12 are the centre
    expected = resize(tall[0, 4:13], (8, 8), anti_aliasing=True)
    np.testing.assert_allclose(load_images(tall, size=8)[0], expected, atol=1e-12)


def test_size_squares_equal_sparsenet_raw_files(tmp_path):
    """Raw files of one size are read as they are, then squared like any stack."""
    images = np.random.default_rng(2).random((2, 16, 16)).astype(">f4")
    for i, im in enumerate(images):
        im.tofile(tmp_path / f"image{i}")
    out = load_images(tmp_path, size=8)
    assert out.shape == (2, 8, 8)
    # block means survive an anti-aliased 2x reduction up to the filter's blur
    np.testing.assert_allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.02)


def test_a_mat_file_of_one_picture_is_a_stack_of_one(tmp_path):
    picture = np.random.default_rng(3).standard_normal((6, 10))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": picture})
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), picture[None])


def test_patch_size_default_border_is_four_pixels():
    """Documented default: 4 pixels at every edge, so 24 + 2 * 4 fits 32 exactly."""
    from stimuli.images import check_patch_size

    assert check_patch_size(24, (32, 32)) == 24
    with pytest.raises(ValueError, match="size=25 with border=4 does not fit"):
        check_patch_size(25, (32, 32))


# --- images: the whitening filter of non-square pictures -----------------------------------


def _olshausen_filter(h, w, f0):
    """R(f) = f exp(-(f/f0)^4), f in cycles per picture of side min(h, w), FFT order."""
    side = min(h, w)
    fy = np.fft.fftfreq(h)[:, None] * side
    fx = np.fft.fftfreq(w)[None, :] * side
    f = np.sqrt(fx**2 + fy**2)
    return f * np.exp(-((f / f0) ** 4))


@pytest.mark.parametrize("shape, f0", [((24, 40), 3.0), ((40, 24), 7.5), ((31, 45), None)])
def test_whitening_filter_of_non_square_pictures_counts_cycles_per_shorter_side(shape, f0):
    """With an explicit f0 the frequency unit matters: cycles per min(height, width)."""
    from stimuli.images import whitening_filter

    h, w = shape
    expected = _olshausen_filter(h, w, 0.4 * min(h, w) if f0 is None else f0)
    np.testing.assert_allclose(whitening_filter(shape, f0), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, f0", [((2, 31, 45), None), ((3, 27, 27), 4.0),
                                       ((1, 40, 25), 6.0)])
def test_whiten_odd_and_non_square_pictures_match_full_complex_fft(shape, f0):
    """Odd sides need irfft2's explicit output shape; reference: numpy's complex FFT of
    every image, filtered by the formula, one gain to mean variance 0.1."""
    images = np.random.default_rng(4).standard_normal(shape).cumsum(axis=2)
    h, w = shape[1:]
    filt = _olshausen_filter(h, w, 0.4 * min(h, w) if f0 is None else f0)
    ref = np.real(np.fft.ifft2(np.fft.fft2(images, axes=(1, 2)) * filt, axes=(1, 2)))
    ref *= np.sqrt(0.1 / ref.var(axis=(1, 2)).mean())
    np.testing.assert_allclose(whiten(images, f0=f0), ref, rtol=0, atol=1e-10)


def test_whiten_refuses_power_too_small_to_rescale():
    """A checkerboard only holds f = 8 sqrt(2) cycles per picture: at f0 = 2.59 the filter
    leaves a variance of ~1e-315, not 0, yet 0.1 / 1e-315 overflows (the gain is inf, the
    images would be inf and NaN); at f0 = 2.62 (~1e-301) the rescaling works."""
    board = np.indices((16, 16)).sum(axis=0) % 2.0
    with pytest.raises(ValueError, match=r"f0=2.59 cycles per picture left \(nearly\) no power"):
        whiten(board, f0=2.59)
    out = whiten(board, f0=2.62)
    assert np.all(np.isfinite(out)) and out.var() == pytest.approx(0.1, rel=1e-9)


@pytest.mark.parametrize("f0", [np.nan, np.inf, -2.0, 0.0])
def test_whiten_refuses_a_cutoff_that_is_not_positive_and_finite(f0):
    """f0 = inf silently dropped the high-frequency roll-off."""
    with pytest.raises(ValueError, match="f0 must be a positive finite number"):
        whiten(np.random.default_rng(0).random((1, 16, 16)), f0=f0)


def test_matlab_v73_files_are_read_in_matlabs_layout(tmp_path, write_matlab_v73):
    from scipy.io import loadmat

    cube = np.random.default_rng(5).standard_normal((6, 9, 3))  # (height, width, n_images)
    write_matlab_v73(tmp_path / "IMAGES.mat", "IMAGES", cube)
    with pytest.raises(NotImplementedError):  # scipy sees a v7.3 file: the HDF5 path is taken
        loadmat(tmp_path / "IMAGES.mat")
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), np.moveaxis(cube, 2, 0))


def test_an_unreadable_mat_file_is_named(tmp_path):
    (tmp_path / "broken.mat").write_bytes(b"MATLAB 5.0" + b"\x01" * 200)
    with pytest.raises(ValueError, match=r"images: cannot read \.mat file .*broken\.mat'"):
        load_images(tmp_path / "broken.mat", name="images")


def test_a_single_picture_file_is_not_prewhitened(tmp_path):
    """Only Olshausen's whitened files are; a photograph is whitened by load_whitened."""
    from skimage.io import imsave

    from stimuli.images import is_prewhitened, load_whitened

    picture = (np.random.default_rng(6).random((16, 16)) * 255).astype(np.uint8)
    imsave(tmp_path / "p.png", picture)
    assert not is_prewhitened(tmp_path / "p.png")
    assert not is_prewhitened(tmp_path)
    assert not is_prewhitened(picture.astype(float))
    assert not is_prewhitened("skimage")
    out, prewhitened = load_whitened(tmp_path / "p.png")
    assert not prewhitened
    np.testing.assert_allclose(out, whiten(picture[None] / 255), atol=1e-12)


def test_progress_bars_count_every_unit_of_work(record_bars, tmp_path):
    """A bar that stops short of its total (an update dropped) looks like a stalled job."""
    closed = record_bars("desc", "n", "total")
    images = np.random.default_rng(7).standard_normal((3, 16, 16))
    for i, im in enumerate(images):
        im.astype(">f4").tofile(tmp_path / f"image{i}")
    load_images(tmp_path, progress=True)
    whiten(images, progress=True)
    sample_patches(images, 4, 50, seed=0, progress=True)
    assert closed == [["images", 3, 3], ["whitening", 3, 3], ["patches", 50, 50]]


# --- images: options at their boundaries ------------------------------------------------------


def test_max_images_of_one_keeps_the_first_picture():
    stack = np.random.default_rng(8).random((3, 8, 8))
    np.testing.assert_array_equal(load_images(stack, max_images=1), stack[:1])
    with pytest.raises(ValueError, match="max_images must be >= 1"):
        load_images(stack, max_images=0)


def test_whiten_of_a_picture_with_black_pixels_at_a_huge_scale():
    """The exact power-of-two rescaling is judged on the largest magnitude: a black pixel
    (0) must not hide 1e300 (whose variance would overflow to inf)."""
    images = np.random.default_rng(9).random((2, 16, 16))
    images[:, 0, 0] = 0.0
    np.testing.assert_allclose(whiten(images * 1e300), whiten(images), rtol=0, atol=1e-12)
    np.testing.assert_allclose(whiten(-images * 1e300), whiten(-images), rtol=0, atol=1e-12)


def test_patches_too_dim_for_min_variance_are_reported_as_such_with_normalize():
    """With both filters the variance threshold is the one named (flat is a special case)."""
    images = np.random.default_rng(10).random((2, 24, 24)) * 1e-3
    with pytest.raises(ValueError, match=r"could not find 5 patches with variance >= 1 that "
                                         r"are not flat: only 0 after 50 rounds"):
        sample_patches(images, 4, 5, seed=0, normalize=True, min_variance=1.0)


def test_patches_whose_variance_equals_min_variance_are_kept():
    """"Reject patches whose variance is below this value": a +-1 checkerboard's 4x4
    patches have variance exactly 1 (eight of each sign), so min_variance=1 keeps them."""
    board = np.indices((2, 16, 16))[1:].sum(axis=0) % 2 * 2.0 - 1.0
    X = sample_patches(board, 4, 10, seed=0, min_variance=1.0)
    np.testing.assert_array_equal(X.var(axis=1), 1.0)


# --- synthetic ---------------------------------------------------------------------------------


def _fitted_slope(images, low=4, high=0.25):
    """Slope of log power against log radial frequency (numpy.fft), over low/n..high."""
    n = images.shape[-1]
    power = (np.abs(np.fft.fft2(images, axes=(1, 2))) ** 2).mean(axis=0)
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :])
    band = (f > low / n) & (f < high)
    return np.polyfit(np.log(f[band]), np.log(power[band]), 1)[0]


def test_pink_noise_default_exponent_is_two_and_warns_of_nothing():
    """Documented default alpha = 2 (natural images); the DC bin must not divide by 0."""

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images = pink_noise(8, 64, seed=1)
    assert _fitted_slope(images) == pytest.approx(-2.0, abs=0.1)


@pytest.mark.parametrize("call, match", [
    (lambda: pink_noise(0, 8), "n_images must be >= 1"),
    (lambda: pink_noise(1, 1), "size must be >= 2"),
    (lambda: pink_noise(1, 8, alpha=-1.0), "alpha must be a non-negative"),
    (lambda: dead_leaves(0, 8), "n_images must be >= 1"),
    (lambda: dead_leaves(1, 1), "size must be >= 2"),
    (lambda: dead_leaves(1, 8, r_min=0.0), "r_min must be a positive"),
    (lambda: dead_leaves(1, 8, r_max=-1.0), "r_max must be a positive"),
    (lambda: dead_leaves(1, 8, exponent=np.nan), "exponent must be a pos"),
    (lambda: dead_leaves(1, 8, coverage=1.5), r"coverage must be in \(0"),
    (lambda: dead_leaves(1, 8, coverage=0.0), "coverage must be a pos"),
], ids=["pink_n", "pink_size", "pink_alpha", "leaves_n", "leaves_size", "leaves_r_min",
        "leaves_r_max", "leaves_exponent", "leaves_coverage_above", "leaves_coverage_zero"])
def test_synthetic_images_check_their_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dead_leaves_covers_the_requested_fraction_of_pixels():
    """Uncovered pixels stay 0 (grey levels are drawn in (0, 1) with probability 1): at most
    1 - coverage of them, and just under it; none at coverage 1; large discs on a small
    image need few drops (the safety stop must still allow them)."""
    images = dead_leaves(4, 16, r_min=2.0, r_max=4.0, coverage=0.9, seed=0, progress=False)
    assert np.all((images == 0).mean(axis=(1, 2)) <= 0.1)
    # and no more: drops stop once it is reached, and a disc of radius 1 covers at most 5
    # of the 1024 pixels
    small = dead_leaves(2, 32, r_min=1.0, r_max=1.0, coverage=0.9, seed=0, progress=False)
    uncovered = (small == 0).mean(axis=(1, 2))
    assert np.all((uncovered <= 0.1) & (uncovered > 0.1 - 5 / 1024))
    full = dead_leaves(2, 16, r_min=2.0, r_max=4.0, coverage=1.0, seed=1, progress=False)
    assert np.all(full > 0)
    with warnings.catch_warnings():  # one radius: no 0 / 0 in the radius law
        warnings.simplefilter("error")
        few = dead_leaves(2, 8, r_min=4.0, r_max=4.0, seed=2, progress=False)
    assert (few == 0).mean() <= 1 - 0.999


def test_dead_leaves_safety_stop_raises(monkeypatch):
    """When far more discs than expected are needed the call stops with an error instead
    of running on (forced here by under-estimating the expected count)."""
    import stimuli.synthetic

    monkeypatch.setattr(stimuli.synthetic, "_expected_discs", lambda *args: 0.0)
    with pytest.raises(RuntimeError, match=r"dead_leaves: 1000 discs left \d+ of 4096 pixels "
                                           r"uncovered"):
        dead_leaves(1, 64, r_min=1.0, r_max=1.0, seed=0, progress=False)


def test_pink_noise_power_follows_the_power_law_in_every_bin():
    """E|F(k)|^2 ~ |f|^-alpha at every non-DC frequency of the grid (numpy.fft of 1000
    16x16 images; each bin's mean power has a relative s.e. of 3-5%), and the smallest
    size, 2 pixels, is a valid image."""
    alpha = 1.5
    x = pink_noise(1000, 16, alpha=alpha, seed=3)
    power = (np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2).mean(axis=0)
    f = np.hypot(np.fft.fftfreq(16)[:, None], np.fft.fftfreq(16)[None, :])
    ratio = power[f > 0] / f[f > 0] ** -alpha
    ratio /= ratio.mean()
    assert 0.75 < ratio.min() and ratio.max() < 1.3
    assert power[0, 0] < 1e-20  # no DC
    # each image is centred on its own mean only: a single image keeps the power of its
    # vertical frequencies (fx = 0: 5-13% of the power over seeds 0-4, measured)
    one = np.abs(np.fft.fft2(pink_noise(1, 32, alpha=alpha, seed=4)[0])) ** 2
    assert one[1:, 0].sum() > 1e-3 * one.sum()
    tiny = pink_noise(3, 2, seed=0)
    assert tiny.shape == (3, 2, 2)
    np.testing.assert_allclose(tiny.std(axis=(1, 2)), 1.0)


@pytest.mark.parametrize("size, r_min, r_max, exponent", [(64, 1.0, 16.0, 3.0),
                                                          (16, 0.5, 4.0, 2.5)])
def test_expected_disc_count_matches_quadrature_over_the_radius_law(size, r_min, r_max,
                                                                    exponent):
    """p = E[pi r^2] / E[(size + 2r)^2] over p(r) ~ r^-exponent, integrated by scipy's quad;
    the midpoint rule of 1000 radii is within 5e-4 of it here."""
    from scipy import integrate

    from stimuli.synthetic import _expected_discs

    def moment(g):
        return integrate.quad(lambda r: g(r) * r**-exponent, r_min, r_max)[0]

    p = moment(lambda r: np.pi * r**2) / moment(lambda r: (size + 2 * r) ** 2)
    expected = np.log(1 / max(1 - 0.999, 1 / size**2)) / p
    got = _expected_discs(size, r_min, r_max, 1 - exponent, 0.999)
    assert got == pytest.approx(expected, rel=2e-3)


# --- digits: the IDX format ------------------------------------------------------------------

# the IDX specification (LeCun, yann.lecun.com/exdb/mnist): magic 0, 0, type code, ndim;
# then ndim big-endian uint32 sizes; then the data, big-endian, C order
IDX_TYPES = [(0x08, ">u1", [0, 1, 255]), (0x09, ">i1", [-128, -1, 127]),
             (0x0B, ">i2", [-32768, 1, 32767]), (0x0C, ">i4", [-(2**31), 7, 2**31 - 1]),
             (0x0D, ">f4", [-1.5, 0.0, 3.25]), (0x0E, ">f8", [-1e300, 1 / 3, np.pi])]


@pytest.mark.parametrize("code, dtype, values", IDX_TYPES)
def test_read_idx_decodes_every_data_type_of_the_specification(tmp_path, code, dtype, values):
    from stimuli.digits import read_idx

    data = np.array(values * 4, dtype=dtype).reshape(2, 3, 2)
    header = bytes([0, 0, code, 3]) + b"".join(int(s).to_bytes(4, "big") for s in data.shape)
    (tmp_path / "x.idx").write_bytes(header + data.tobytes())
    out = read_idx(tmp_path / "x.idx")
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out, np.array(values * 4).reshape(2, 3, 2))


def test_read_idx_headers_of_zero_one_and_two_dimensions(tmp_path):
    from stimuli.digits import read_idx

    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "l.idx").write_bytes(bytes([0, 0, 0x08, 1]) + (10).to_bytes(4, "big")
                                     + labels.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "l.idx"), labels)
    for magic in (bytes([1, 0, 0x08, 1]), bytes([0, 1, 0x08, 1]), bytes([0, 0, 0x08])):
        (tmp_path / "m.idx").write_bytes(magic)
        with pytest.raises(ValueError, match="not an IDX file"):
            read_idx(tmp_path / "m.idx")
    # a 0-d file (a scalar) is a 4-byte header and one value; the header alone is truncated
    (tmp_path / "s.idx").write_bytes(bytes([0, 0, 0x08, 0, 42]))
    assert read_idx(tmp_path / "s.idx").shape == () and read_idx(tmp_path / "s.idx") == 42
    (tmp_path / "s.idx").write_bytes(bytes([0, 0, 0x08, 0]))
    with pytest.raises(ValueError, match=r"is truncated: header says \(\) of 1 bytes each"):
        read_idx(tmp_path / "s.idx")
    # sizes are 4-byte big-endian integers: 2^24 needs the high byte
    (tmp_path / "big.idx").write_bytes(bytes([0, 0, 0x08, 2]) + (1).to_bytes(4, "big")
                                       + (2**24).to_bytes(4, "big"))
    with pytest.raises(ValueError, match=r"truncated: header says \(1, 16777216\) of 1 bytes"):
        read_idx(tmp_path / "big.idx")
    (tmp_path / "t.idx").write_bytes(bytes([0, 0, 0x0A, 1]) + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match="unknown IDX data type 0x0a"):
        read_idx(tmp_path / "t.idx")


def _idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big")
                                                        for s in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_mnist_files_and_folders_that_are_missing_or_disagree(tmp_path):
    from stimuli.digits import load_mnist, read_idx

    with pytest.raises(FileNotFoundError, match="path: no such IDX file"):
        read_idx(tmp_path / "missing-idx3-ubyte")
    with pytest.raises(FileNotFoundError, match="folder: no such folder"):
        load_mnist(tmp_path / "missing")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((5, 2, 2), np.uint8)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match="folder: 5 images but 4 labels"):
        load_mnist(tmp_path)


def test_load_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    import sys

    from stimuli.digits import load_digits

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()


# --- audio -------------------------------------------------------------------------------------


def test_float_wav_files_come_back_as_float64(tmp_path):
    from scipy.io import wavfile

    from stimuli.audio import load_wav

    data = np.array([0.25, -0.5, 1.5], dtype=np.float32)  # float WAVs are not clipped
    wavfile.write(tmp_path / "f.wav", 8000, data)
    x, rate = load_wav(tmp_path / "f.wav")
    assert x.dtype == np.float64 and rate == 8000.0
    np.testing.assert_array_equal(x, data.astype(np.float64))


@pytest.mark.parametrize("call, error, match", [
    (lambda a, p: a.load_wav_folder(p / "missing"), FileNotFoundError, "folder: no such folder"),
    (lambda a, p: a.resample(np.ones(8), 0.0, 8000.0), ValueError, "rate_in must be a positive"),
    (lambda a, p: a.resample(np.ones(8), 8000.0, -1.0), ValueError, "rate_out must be a posit"),
    (lambda a, p: a.sample_segments([], 4, 2), ValueError, "at least one waveform, got an emp"),
    (lambda a, p: a.sample_segments(np.ones(20), 4, 2, min_rms=-1.0), ValueError,
     "min_rms must be a non-negative"),
    (lambda a, p: a.harmonic_ensemble(2, 64, sample_rate=0.0), ValueError,
     "sample_rate must be a positive"),
    (lambda a, p: a.load_wav(p / "x.wav", sample_rate=-8000.0), ValueError,
     "sample_rate must be a positive"),
    (lambda a, p: a.resample(np.ones((2, 8)), 8000.0, 4000.0), ValueError,
     "waveform must have 1 dimension"),
    (lambda a, p: a.harmonic_ensemble(2, 64, noise=-0.1), ValueError,
     "noise must be a non-negative"),
], ids=["folder", "rate_in", "rate_out", "empty", "min_rms", "ensemble_rate", "wav_rate",
        "resample_2d", "ensemble_noise"])
def test_audio_functions_check_their_arguments(tmp_path, call, error, match):
    from scipy.io import wavfile

    import stimuli.audio

    wavfile.write(tmp_path / "x.wav", 8000, np.zeros(16, np.int16))
    with pytest.raises(error, match=match):
        call(stimuli.audio, tmp_path)


def test_load_wav_resamples_to_the_asked_rate(tmp_path):
    """A 440 Hz tone at 8 kHz read at 16 kHz: twice the samples, the rate reported is the
    new one, and numpy's FFT finds the tone at 440 Hz (analytic, within a 1 Hz bin)."""
    from scipy.io import wavfile

    from stimuli.audio import load_wav

    t = np.arange(8000) / 8000
    wavfile.write(tmp_path / "tone.wav", 8000, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(
        np.float32))
    x, rate = load_wav(tmp_path / "tone.wav", sample_rate=16000)
    assert rate == 16000.0 and len(x) == 16000
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=1)


def test_resample_accepts_rates_close_to_a_ratio_of_small_integers():
    """16000.0000001 / 8000 is 2 to 5e-12: rounded to 2/1 (the documented tolerance is a
    relative 1e-6), not refused for its float's huge exact numerator."""
    from stimuli.audio import resample

    t = np.arange(800) / 8000
    y = resample(np.sin(2 * np.pi * 400 * t), 8000.0, 16000.0000001)
    assert len(y) == 1600
    t2 = np.arange(1600) / 16000
    np.testing.assert_allclose(y[400:1200], np.sin(2 * np.pi * 400 * t2[400:1200]), atol=0.05)


def test_segments_that_cannot_reach_min_rms_are_an_error():
    from stimuli.audio import sample_segments

    with pytest.raises(ValueError, match=r"could not find 3 segments with RMS >= 1.0; lower"):
        sample_segments(np.full(100, 0.1), 10, 3, seed=0, min_rms=1.0)


def test_a_folder_without_matching_wav_files_is_an_error(tmp_path):
    from stimuli.audio import load_wav_folder

    (tmp_path / "a.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"folder: no files matching '\*\.flac'"):
        load_wav_folder(tmp_path, pattern="*.flac")


def test_harmonic_ensemble_defaults_are_8_khz_and_8_harmonics():
    """Documented defaults: sample_rate 8000 Hz (a 200 Hz pitch repeats every 40 samples)
    and 8 harmonics (at f0 = 100 Hz power at 800 Hz, little at 900 Hz)."""
    from stimuli.audio import harmonic_ensemble

    X = harmonic_ensemble(20, 2048, f0_range=(200.0, 200.0), noise=0.0, seed=0)
    for x in X:
        ac = np.correlate(x, x, "full")[len(x) - 1:]
        assert np.argmax(ac[20:80]) + 20 == 40
    X = harmonic_ensemble(50, 8000, f0_range=(100.0, 100.0), noise=0.0, seed=1)
    P = (np.abs(np.fft.rfft(X, axis=1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(8000, 1 / 8000)

    def band(f0):
        return P[np.abs(f - f0) <= 20].sum()

    # amplitudes (1/k) U(0.5, 1): harmonic 8 has ~1/64 of the fundamental's power (measured
    # 0.019); above it only the decaying envelope's spectral tails leak (900 Hz: 0.04 of it)
    assert band(800) > 0.01 * band(100)
    assert band(900) < 0.1 * band(800)


def test_stereo_wav_is_the_mean_of_its_channels_sample_by_sample(tmp_path):
    from scipy.io import wavfile

    from stimuli.audio import load_wav

    rng = np.random.default_rng(12)
    data = rng.integers(-30000, 30000, (50, 2)).astype(np.int16)
    wavfile.write(tmp_path / "s.wav", 8000, data)
    x, _ = load_wav(tmp_path / "s.wav")
    np.testing.assert_allclose(x, data.astype(float).mean(axis=1) / 32768, rtol=0, atol=1e-15)


# 1000 draws per position: their uniformity is tested
@pytest.mark.filterwarnings("ignore:n=[0-9]+ segments exceed the [0-9]+ distinct:UserWarning")
def test_segment_starts_are_uniform_over_every_position_of_every_waveform():
    """Waveforms of 11 and 20 samples hold 2 and 11 segments of 10: each of the 13 start
    positions is drawn with probability 1/13 (13,000 draws: s.d. of a count ~31)."""
    from stimuli.audio import sample_segments

    waves = [np.arange(11.0), 100 + np.arange(20.0)]
    X = sample_segments(waves, 10, 13000, seed=0)
    starts, counts = np.unique(X[:, 0], return_counts=True)
    np.testing.assert_array_equal(starts, [0, 1] + list(range(100, 111)))
    assert np.all(np.abs(counts - 1000) < 150)
    # many segments in one call: rounds of 2 (n - found) draws, not a fixed small number
    assert sample_segments(np.arange(100.0), 10, 2000, seed=0).shape == (2000, 10)


def test_smallest_segments_and_sounds_are_valid():
    from stimuli.audio import harmonic_ensemble, sample_segments

    np.testing.assert_array_equal(sample_segments(np.arange(5.0), 1, 1, seed=0).shape, (1, 1))
    for call in (lambda: sample_segments(np.arange(5.0), 0, 1),
                 lambda: sample_segments(np.arange(5.0), 1, 0)):
        with pytest.raises(ValueError, match="must be >= 1"):
            call()
    x = harmonic_ensemble(1, 2, n_harmonics=1, seed=0)
    assert x.shape == (1, 2) and np.all(np.isfinite(x))
    for kwargs in ({"n": 0}, {"length": 1}, {"n_harmonics": 0}):
        with pytest.raises(ValueError, match="must be >= "):
            harmonic_ensemble(**{"n": 1, "length": 16, **kwargs})
    # any pitch below the Nyquist frequency plays: 400-450 Hz at 1000 Hz
    X = harmonic_ensemble(4, 256, sample_rate=1000.0, f0_range=(400.0, 450.0), noise=0.0,
                          seed=0)
    np.testing.assert_allclose(np.sqrt((X**2).mean(axis=1)), 1.0)


def test_harmonic_ensemble_default_pitches_span_100_to_400_hz():
    """Pitch from the autocorrelation peak (numpy FFT), searched over 80-1000 Hz (lags 8-100
    at the default 8 kHz), for 120 sounds: at most 5% outside [100, 400] Hz give or take a
    lag (a fast decay can favour lag 8: 1 in 600 over seeds 0-9), deciles near those of
    U(100, 400) (130 and 370; measured 118-157 and 349-381 for 60 sounds); 200 Hz is
    playable only below the Nyquist frequency."""
    from stimuli.audio import harmonic_ensemble

    X = harmonic_ensemble(120, 2048, noise=0.0, seed=5)
    ac = np.fft.irfft(np.abs(np.fft.rfft(X, 4096, axis=1)) ** 2, axis=1)[:, :101]
    estimates = 8000 / (np.argmax(ac[:, 8:], axis=1) + 8)
    assert np.mean((estimates < 8000 / 81) | (estimates > 8000 / 19)) <= 0.05
    assert np.percentile(estimates, 10) < 175 and np.percentile(estimates, 90) > 325
    with pytest.raises(ValueError, match="must lie below the Nyquist frequency 200 Hz"):
        harmonic_ensemble(2, 64, sample_rate=400.0, f0_range=(100.0, 200.0))


def test_a_harmonic_at_the_nyquist_frequency_is_dropped():
    """f0 = 100 Hz at 800 Hz: harmonic 4 sits on the Nyquist frequency, where a sinusoid's
    samples are +-sin(phase) (no longer a tone of its amplitude): it is dropped with those
    above. Measured: 0.002 of the fundamental's power within 10 Hz of 400 Hz (kept, it
    would hold ~(1/4)^2 / 2 = 0.03)."""
    from stimuli.audio import harmonic_ensemble

    X = harmonic_ensemble(50, 4000, sample_rate=800.0, f0_range=(100.0, 100.0),
                          n_harmonics=4, noise=0.0, seed=6)
    P = (np.abs(np.fft.rfft(X, axis=1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(4000, 1 / 800)
    assert P[np.abs(f - 400) <= 10].sum() < 0.01 * P[np.abs(f - 100) <= 10].sum()


def test_harmonic_envelopes_start_in_the_first_half_and_decay():
    """Silent before a random onset in the first half, then decaying: 80-100 ms after the
    onset the power is below a tenth of its first 20 ms (time constants of tens of ms)."""
    from stimuli.audio import harmonic_ensemble

    fs = 8000
    X = harmonic_ensemble(30, 2048, sample_rate=fs, f0_range=(200.0, 300.0), noise=0.0,
                          seed=3)
    for x in X:
        onset = np.flatnonzero(x)[0]
        assert onset <= 1024
        early = np.mean(x[onset:onset + 160] ** 2)
        late = np.mean(x[onset + 640:onset + 800] ** 2)
        assert late < 0.1 * early


@pytest.mark.parametrize("sigma", [0.1, None])
def test_harmonic_noise_is_in_units_of_the_harmonics(sigma):
    """One harmonic of amplitude a in [0.5, 1] (its envelope starts at 1) plus white noise
    of s.d. sigma: the same seed without noise gives the harmonic, so the residual's s.d.
    over the harmonic's peak is sigma / a, of mean sigma * 2 ln 2 (up to the 10% the
    envelope may decay within the first period; s.e. of the mean over 400 sounds 1.4%)."""
    from stimuli.audio import harmonic_ensemble

    kwargs = dict(sample_rate=64000.0, f0_range=(1000.0, 1000.0), n_harmonics=1, seed=4)
    clean = harmonic_ensemble(400, 1024, noise=0.0, **kwargs)
    noisy = harmonic_ensemble(400, 1024, **kwargs, **({} if sigma is None else {"noise": sigma}))
    sigma = 0.05 if sigma is None else sigma  # the documented default
    gain = (noisy * clean).sum(axis=1) / (clean**2).sum(axis=1)
    residual = noisy - gain[:, None] * clean
    ratio = residual.std(axis=1) / np.abs(gain[:, None] * clean).max(axis=1)
    assert 0.85 < ratio.mean() / (sigma * 2 * np.log(2)) < 1.2


def test_min_rms_compares_the_root_mean_square_and_returns_n_segments():
    """Alternating +-0.5 then +-2 (RMS 0.5 and 2, odd moments 0): min_rms = 1 keeps the
    segments in the loud part and those straddling it with at least 4 loud samples of 20
    (RMS^2 = (4 k + 0.25 (20 - k)) / 20 >= 1), a seventh of the starts, so several rounds
    of draws are needed, and exactly n segments come back."""
    from stimuli.audio import sample_segments

    sign = np.where(np.arange(800) % 2, 1.0, -1.0)
    wave = np.concatenate([0.5 * sign[:700], 2.0 * sign[700:]])
    X = sample_segments(wave, 20, 300, seed=0, min_rms=1.0)
    assert X.shape == (300, 20)
    rms = np.sqrt((X**2).mean(axis=1))
    assert rms.min() >= 1.0 - 1e-12 and np.mean(rms == 2.0) > 0.8
    # few segments: rounds of at least 16 draws, whose last one finds more than it needs
    for seed in range(5):
        assert sample_segments(wave, 20, 5, seed=seed, min_rms=1.0).shape == (5, 20)


def test_normalized_segments_of_huge_waveforms_with_silences():
    """A silence (exact zeros) in a waveform at 1e200 must not set the scale the RMS is
    computed at: the squares of 1e200 overflow."""
    from stimuli.audio import sample_segments

    wave = np.concatenate([np.zeros(100), np.sin(0.3 * np.arange(400))])
    reference = sample_segments(wave, 32, 20, seed=0, normalize=True)
    out = sample_segments(wave * 1e200, 32, 20, seed=0, normalize=True)
    np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12)


def test_waveforms_as_a_2d_array_of_rows_or_a_0d_array():
    """A 2-D array is a list of waveforms (its rows); a 0-d array is no waveform."""
    from stimuli.audio import sample_segments

    rows = np.arange(60.0).reshape(3, 20)
    np.testing.assert_array_equal(sample_segments(rows, 5, 40, seed=1),
                                  sample_segments(list(rows), 5, 40, seed=1))
    with pytest.raises(TypeError, match="waveforms must be one waveform"):
        sample_segments(np.array(3.0), 1, 2)


# --- gratings -----------------------------------------------------------------------------------


def test_grating_set_and_gabor_patch_defaults_against_their_formulas():
    """grating_set: contrast 1 (cos of unit amplitude); gabor_patch: sigma_x = sigma_y = 2
    pixels, amplitude 1, offset 0, centre ((w - 1) / 2, (h - 1) / 2)."""
    from stimuli import gabor_patch, grating_set

    h, w = 9, 12
    y, x = np.mgrid[0:h, 0:w]
    u, v = x - (w - 1) / 2, -(y - (h - 1) / 2)
    theta, f, phase = 0.6, 0.15, 0.3
    xp = u * np.cos(theta) + v * np.sin(theta)
    yp = -u * np.sin(theta) + v * np.cos(theta)
    carrier = np.cos(2 * np.pi * f * xp + phase)
    np.testing.assert_allclose(grating_set((h, w), [theta], [f], [phase])[0, 0, 0], carrier,
                               atol=1e-12)
    envelope = np.exp(-(xp**2 + yp**2) / (2 * 2.0**2))
    np.testing.assert_allclose(gabor_patch((h, w), theta, f, phase), envelope * carrier,
                               atol=1e-12)
    # an oblique elongated envelope: sigma_x across the bars, sigma_y along them
    envelope = np.exp(-xp**2 / (2 * 1.5**2) - yp**2 / (2 * 3.0**2))
    np.testing.assert_allclose(gabor_patch((h, w), theta, f, phase, sigma_x=1.5, sigma_y=3.0),
                               envelope * carrier, atol=1e-12)


@pytest.mark.parametrize("call, error, match", [
    (lambda g: g.plaid(8, 0.0, 0.7, 1.0), ValueError, r"^frequency must be in \[0, 0.5\]"),
    (lambda g: g.plaid(8, 0.0, 0.2, 1.0, mean=[0.1, 0.2]), ValueError, "mean must have 0 dim"),
    (lambda g: g.sparse_noise(0, 4), ValueError, "n must be >= 1"),
    (lambda g: g.sparse_noise(3, 4, contrast=-1.0), ValueError, "contrast must be a positive"),
    (lambda g: g.sparse_noise(3, 4, n_pixels=0), ValueError, "n_pixels must be >= 1"),
    (lambda g: g.white_noise(0, 4), ValueError, "n must be >= 1"),
    (lambda g: g.grating(8, 0.0, 0.2, mean=[0.0, 1.0]), ValueError, "mean must have 0 dim"),
    (lambda g: g.drifting_grating(8, 0.0, 0.2, 1.0, -1.0, 10.0), ValueError,
     "duration must be a positive"),
    (lambda g: g.drifting_grating(8, 0.0, 0.2, 1.0, 1.0, np.inf), ValueError,
     "frame_rate must be a positive finite"),
    (lambda g: g.drifting_grating(8, 0.0, 0.2, -1.0, 1.0, 10.0), ValueError,
     "temporal_frequency must be a non-negative"),
], ids=["plaid_frequency", "plaid_mean", "sparse_n", "sparse_contrast", "sparse_pixels",
        "white_n", "grating_mean", "drift_duration", "drift_rate", "drift_tf"])
def test_grating_and_noise_arguments_are_checked(call, error, match):
    import stimuli.gratings

    with pytest.raises(error, match=match):
        call(stimuli.gratings)


def test_annulus_grating_defaults_are_a_hard_ring_of_unit_cosine():
    """Defaults phase 0, contrast 1, mean 0, hard edges: the cosine where
    inner / 2 <= r < outer / 2 (r from the patch's middle), 0 elsewhere."""
    from stimuli import annulus_grating, grating

    ring = annulus_grating(15, 0.4, 0.2, 4.0, 10.0)
    y, x = np.mgrid[0:15, 0:15]
    r = np.hypot(x - 7.0, y - 7.0)
    inside = (r >= 2.0) & (r < 5.0)
    np.testing.assert_allclose(ring, np.where(inside, grating(15, 0.4, 0.2), 0.0), atol=1e-12)
    np.testing.assert_array_equal(ring[~inside], 0.0)


def test_any_inner_diameter_above_its_outer_one_is_refused():
    """Checked pair by pair after broadcasting: one bad pair among several is an error."""
    from stimuli import annulus_grating, aperture

    with pytest.raises(ValueError, match="inner_diameter must not exceed outer_diameter"):
        annulus_grating(9, 0.0, 0.2, [1.0, 6.0], [4.0, 5.0])
    with pytest.raises(ValueError, match=r"inner_diameter=6\.0 > diameter=5\.0"):
        aperture(9, [4.0, 5.0], inner_diameter=[4.0, 6.0])  # 4 <= 4 is fine
    # and a ring among discs is still a ring: [disc, annulus] = [disc, disc - inner disc]
    windows = aperture(9, 6.0, inner_diameter=[0.0, 2.0])
    np.testing.assert_array_equal(windows[1], windows[0] - aperture(9, 2.0))


def test_a_drifting_grating_of_exactly_one_frame():
    """duration * frame_rate = 1 gives one frame (only < 1 is refused): the grating at t = 0."""
    from stimuli import drifting_grating, grating

    frames, times = drifting_grating(8, 0.3, 0.1, 2.0, duration=0.1, frame_rate=10.0)
    assert frames.shape == (1, 8, 8)
    np.testing.assert_array_equal(times, [0.0])
    np.testing.assert_allclose(frames[0], grating(8, 0.3, 0.1), atol=1e-12)


def test_drifting_speed_is_temporal_over_spatial_frequency():
    """Bars move at tf / f pixels per second: 2 Hz at 0.125 cycles/pixel is 16 px/s, one pixel
    per frame at 16 frames/s (the frame at t is the grating of phase -2 pi tf t); 0 Hz stays."""
    from stimuli import drifting_grating, grating

    frames, times = drifting_grating(16, 0.0, 0.125, 2.0, duration=0.5, frame_rate=16.0)
    assert frames.shape == (8, 16, 16)
    np.testing.assert_allclose(frames[1:, :, 1:], frames[:-1, :, :-1], atol=1e-12)
    np.testing.assert_allclose(frames[5], grating(16, 0.0, 0.125, -2 * np.pi * 2.0 * times[5]),
                               atol=1e-12)
    still, _ = drifting_grating(16, 0.7, 0.2, 0.0, duration=0.5, frame_rate=8.0)
    np.testing.assert_allclose(still, np.broadcast_to(grating(16, 0.7, 0.2), still.shape),
                               atol=1e-12)


def test_bar_width_is_strictly_inside_and_an_annulus_may_be_empty():
    """Width 2 keeps |x'| < 1: the central column only (as length 2 k keeps 2 k - 1 rows);
    inner_diameter = diameter is allowed (0 <= inner <= outer) and leaves nothing."""
    from stimuli import aperture, bar_aperture

    bar = bar_aperture(9, 0.0, length=5.0, width=2.0)
    np.testing.assert_array_equal(bar.sum(axis=0), [0, 0, 0, 0, 5, 0, 0, 0, 0])
    np.testing.assert_array_equal(aperture(9, 4.0, inner_diameter=4.0), 0.0)


def test_white_noise_default_contrast_is_unit_standard_deviation():
    from stimuli import white_noise

    g = white_noise(2000, (4, 5), seed=0)
    assert g.std() == pytest.approx(1.0, rel=0.02)  # s.e. of a s.d. of 40,000 samples 0.4%
    b = white_noise(10, 3, distribution="binary", seed=0)
    np.testing.assert_array_equal(np.abs(b), 1.0)


def test_sparse_noise_defaults_and_two_distinct_pixels():
    """Defaults: one pixel of +-1 per image; n_pixels = 2 lights two distinct pixels
    (on a 2x2 grid drawing two with replacement would repeat one in a quarter of images)."""
    from stimuli import sparse_noise

    s = sparse_noise(500, 4, seed=0).reshape(500, -1)
    assert np.all(np.count_nonzero(s, axis=1) == 1)
    np.testing.assert_array_equal(np.unique(s[s != 0]), [-1.0, 1.0])
    two = sparse_noise(2000, 2, n_pixels=2, seed=1).reshape(2000, -1)
    assert np.all(np.count_nonzero(two, axis=1) == 2)


def test_plaid_aperture_that_does_not_broadcast_is_named():
    from stimuli import plaid

    with pytest.raises(ValueError, match=r"diameter \(shape \(3,\)\) does not broadcast with "
                                         r"the gratings' parameters \(shape \(2,\)\)"):
        plaid(8, [0.0, 1.0], 0.2, 1.5, diameter=[2.0, 4.0, 6.0])


def test_narrow_smooth_edges_and_small_inner_diameters():
    """An edge of 1 pixel or less is still a raised-cosine ramp (1 inside R - edge / 2);
    an annulus with inner diameter 1 leaves out the central pixel (r = 0 < 0.5)."""
    from stimuli import aperture

    r = np.hypot(*np.mgrid[0:9, 0:9] - 4.0)
    for edge in (0.5, 1.0):
        win = aperture(9, 6.0, edge=edge)
        s = np.clip((3.0 + edge / 2 - r) / edge, 0.0, 1.0)
        np.testing.assert_allclose(win, np.sin(np.pi * s / 2) ** 2, atol=1e-12)
    ring = aperture(5, 4.0, inner_diameter=1.0)
    expected = ((np.hypot(*np.mgrid[0:5, 0:5] - 2.0) < 2.0)
                & (np.hypot(*np.mgrid[0:5, 0:5] - 2.0) >= 0.5))
    np.testing.assert_array_equal(ring, expected.astype(float))


def test_gabor_envelopes_narrower_than_a_pixel_are_valid():
    """Any sigma > 0 is an envelope: 0.5 pixel gives exp(-2) one pixel from the centre."""
    from stimuli import gabor_patch

    g = gabor_patch(5, 0.0, 0.0, sigma_x=0.5, sigma_y=0.5)
    np.testing.assert_allclose(g[2, 1:4], [np.exp(-2.0), 1.0, np.exp(-2.0)], rtol=1e-12)


def test_the_frequency_named_out_of_range_is_the_bad_one():
    """0.5 (Nyquist) is allowed: the message names 0.7, not the first value at the bound."""
    from stimuli import grating

    with pytest.raises(ValueError, match=r"got 0\.7 among 2 values"):
        grating(8, [0.0, 1.0], [0.5, 0.7])
