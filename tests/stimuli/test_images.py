"""stimuli.images: loaders, whitening and patches against independent references."""

import re
import warnings

import numpy as np
import pytest
from scipy.io import savemat

from stimuli import load_images, sample_patches, whiten
from stimuli.images import SKIMAGE_SCENES, is_prewhitened, load_whitened, whitening_filter


def test_embedded_images_are_grayscale_photographs():
    images = load_images("skimage")
    assert images.shape == (len(SKIMAGE_SCENES), 256, 256)
    assert images.dtype == np.float64
    assert images.min() >= 0 and images.max() <= 1
    # photographs, not noise: neighbouring pixels are strongly correlated
    corr = np.corrcoef(images[:, :, :-1].ravel(), images[:, :, 1:].ravel())[0, 1]
    assert corr > 0.8


def test_load_mat_in_olshausen_format(tmp_path, rng):
    cube = rng.standard_normal((32, 32, 3))  # (height, width, n_images) as MATLAB writes it
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": cube})
    images = load_images(tmp_path / "IMAGES.mat")
    np.testing.assert_array_equal(images, np.moveaxis(cube, 2, 0))
    assert is_prewhitened(tmp_path / "IMAGES.mat")
    savemat(tmp_path / "IMAGES_RAW.mat", {"IMAGESr": cube})
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES_RAW.mat"), np.moveaxis(cube, 2, 0))
    assert not is_prewhitened(tmp_path / "IMAGES_RAW.mat")


def test_integer_mat_pixels_are_scaled_as_an_arrays_are(tmp_path):
    """A uint8 IMAGESr of 200s came back as 200.0, while the same pixels as an array
    or a picture file are divided by 255; 64-bit integers are refused as for arrays."""
    cube = np.full((16, 16, 2), 200, np.uint8)
    savemat(tmp_path / "u8.mat", {"IMAGESr": cube})
    images = load_images(tmp_path / "u8.mat")
    np.testing.assert_array_equal(images, np.full((2, 16, 16), 200 / 255))
    np.testing.assert_array_equal(images, load_images(np.moveaxis(cube, 2, 0)))
    savemat(tmp_path / "i16.mat", {"IMAGES": np.full((16, 16, 1), -300, np.int16)})
    np.testing.assert_array_equal(load_images(tmp_path / "i16.mat"),
                                  np.full((1, 16, 16), -300 / 32767))
    savemat(tmp_path / "i64.mat", {"IMAGES": np.full((16, 16, 1), 3, np.int64)})
    with pytest.raises(ValueError, match=r"images: '.*i64\.mat' key 'IMAGES' holds int64 "
                                         r"pixels: integer pixels are divided"):
        load_images(tmp_path / "i64.mat", name="images")
    savemat(tmp_path / "f.mat", {"IMAGES": np.full((16, 16, 1), 200.0)})  # floats: as stored
    assert load_images(tmp_path / "f.mat").max() == 200.0


def test_mat_without_expected_key_is_a_value_error_naming_the_keys(tmp_path,
                                                                    write_matlab_v73):
    """A .mat without IMAGES/IMAGESr/IMAGES_RAW raised KeyError (str() quoted, missed by
    callers that catch the ValueError of every other unreadable source): a ValueError
    naming the argument, the file and the keys it holds, read directly, as a v7.3 file,
    through a folder holding it and through load_whitened."""
    path = tmp_path / "other.mat"
    savemat(path, {"pictures": np.zeros((4, 4, 1)), "labels": np.ones(3)})
    expected = (f"images: {str(path)!r} has no key IMAGES or IMAGESr or IMAGES_RAW; it "
                "holds ['labels', 'pictures']")
    for call in (lambda: load_images(path, name="images"),
                 lambda: load_images(tmp_path, name="images"),  # the folder's single .mat
                 lambda: load_whitened(path, name="images")):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == expected
    v73 = tmp_path / "v73" / "basis.mat"
    v73.parent.mkdir()
    write_matlab_v73(v73, "A", np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match=r"^source: '.*basis\.mat' has no key IMAGES or "
                                         r"IMAGESr or IMAGES_RAW; it holds \['A'\]$"):
        load_images(v73)


def test_load_sparsenet_raw_folder(tmp_path, rng):
    imgs = rng.standard_normal((3, 16, 16)).astype(">f4")
    for i, im in enumerate(imgs):
        im.tofile(tmp_path / f"image{i}")
    (tmp_path / "header").write_text("1 16 16 32")
    out = load_images(tmp_path)
    np.testing.assert_array_equal(out, imgs.astype(np.float64))
    assert is_prewhitened(tmp_path)


def test_raw_files_of_different_sizes_are_named(tmp_path, rng):
    """Unequal raw files are an error naming the files and sizes (numpy's bare
    stacking error before), unless ``size`` squares them all."""
    sides = (16, 16, 12)
    imgs = [rng.standard_normal((s, s)).astype(">f4") for s in sides]
    for i, im in enumerate(imgs):
        im.tofile(tmp_path / f"image{i}")
    with pytest.raises(ValueError, match=r"images: .*differ in size \(16 x 16: image0, image1 "
                                         r"\(2 files\); 12 x 12: image2\); pass size="):
        load_images(tmp_path, name="images")
    with pytest.warns(UserWarning, match="which are already whitened"):  # noise: negative
        out = load_images(tmp_path, size=8)
    assert out.shape == (3, 8, 8) and np.all(np.isfinite(out))
    # the content survives, in file order and orientation: each picture is c_i on its
    # left half and c_i + 1 on its right; resizing keeps a constant region's value
    # (measured: exact to 1e-15 two pixels from the edge) and the mean
    levels = (-1.0, 0.5, 3.0)
    for i, (side, c) in enumerate(zip(sides, levels)):
        im = np.full((side, side), c, dtype=">f4")
        im[:, side // 2:] += 1.0
        im.tofile(tmp_path / f"image{i}")
    with pytest.warns(UserWarning, match="which are already whitened"):  # -1 on image0
        out = load_images(tmp_path, size=8)
    for o, c in zip(out, levels):
        np.testing.assert_allclose(o[:, :2], c, atol=1e-3)
        np.testing.assert_allclose(o[:, -2:], c + 1, atol=1e-3)
        assert o.mean() == pytest.approx(c + 0.5, abs=1e-3)


def test_png_with_alpha_is_read_as_grayscale(tmp_path, rng):
    """Grayscale + alpha (PIL mode "LA") is composited onto white like RGBA."""
    from PIL import Image

    gray = (rng.random((10, 12)) * 255).astype(np.uint8)
    alpha = np.full((10, 12), 255, np.uint8)
    alpha[:5] = 0  # top half transparent: white
    Image.fromarray(np.stack([gray, alpha], axis=2), "LA").save(tmp_path / "la.png")
    Image.fromarray(np.stack([gray, gray, gray, alpha], axis=2), "RGBA").save(
        tmp_path / "rgba.png")
    la = load_images(tmp_path / "la.png")
    assert la.shape == (1, 10, 12)
    np.testing.assert_allclose(la[0, 5:], gray[5:] / 255, atol=1e-12)
    np.testing.assert_allclose(la[0, :5], 1.0)
    np.testing.assert_allclose(la, load_images(tmp_path / "rgba.png"), atol=1e-12)


def test_load_png_folder(tmp_path, rng):
    from skimage.io import imsave
    from skimage.transform import resize

    written = (rng.random((2, 20, 30)) * 255).astype(np.uint8)
    for i, im in enumerate(written):
        imsave(tmp_path / f"p{i}.png", im)
    # 8-bit grey levels scaled to [0, 1] by 255, files in name order, PNG is lossless
    out = load_images(tmp_path)
    assert out.shape == (2, 20, 30)
    np.testing.assert_array_equal(out, written / 255)
    # size: centre square (columns 5..24 of 30), then anti-aliased resize
    out = load_images(tmp_path, size=16)
    assert out.shape == (2, 16, 16)
    expected = np.stack([resize(im[:, 5:25] / 255, (16, 16), anti_aliasing=True)
                         for im in written])
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_missing_path_raises():
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_images("/nonexistent/IMAGES.mat")


def test_real_sparsenet_images(shared_data):
    folder = shared_data("olshausen", "images")
    images = load_images(folder)
    assert images.shape == (10, 512, 512)
    assert is_prewhitened(folder)
    # already whitened with f exp(-(f/f0)^4): the filter is zero at f = 0, so every
    # image has zero mean; pooled variance measured 0.0791 (per image 0.014-0.20)
    assert np.abs(images.mean(axis=(1, 2))).max() < 1e-6
    assert images.var() == pytest.approx(0.079, rel=0.02)
    # flat spectrum at low-mid frequencies, 8-40 cycles/image (band powers within
    # 1%, measured; raw 1/f^2 images would differ 16-fold), then the filter's
    # roll-off: at 192-200 cycles/image 6% of the flat level (measured)
    power = np.abs(np.fft.fft2(images, axes=(1, 2))) ** 2
    f = np.sqrt(np.fft.fftfreq(512)[:, None] ** 2 + np.fft.fftfreq(512)[None, :] ** 2) * 512
    bands = [power[:, (f >= lo) & (f < lo + 8)].mean() for lo in (8, 16, 24, 32)]
    assert max(bands) / min(bands) < 1.1
    assert power[:, (f >= 192) & (f < 200)].mean() < 0.2 * np.mean(bands)


def test_whitening_filter_matches_sparsenet_formula():
    n = 64
    filt = np.fft.fftshift(whitening_filter((n, n)))
    fx, fy = np.meshgrid(np.arange(-n / 2, n / 2), np.arange(-n / 2, n / 2))
    rho = np.sqrt(fx**2 + fy**2)
    expected = rho * np.exp(-((rho / (0.4 * n)) ** 4))
    np.testing.assert_allclose(filt, expected, atol=1e-12)


def test_whiten_flattens_pink_noise_spectrum():
    from stimuli import pink_noise

    images = pink_noise(4, 128, alpha=2.0, seed=0)
    white = whiten(images)
    assert np.isclose(white.var(axis=(1, 2)).mean(), 0.1)
    # radially averaged power at mid frequencies is flat after whitening
    power = np.abs(np.fft.fft2(white, axes=(1, 2))) ** 2
    f = np.sqrt(np.fft.fftfreq(128)[:, None] ** 2 + np.fft.fftfreq(128)[None, :] ** 2) * 128
    bands = [power[:, (f >= lo) & (f < lo + 4)].mean() for lo in (8, 16, 24)]
    assert max(bands) / min(bands) < 1.3
    raw = np.abs(np.fft.fft2(images, axes=(1, 2))) ** 2
    raw_bands = [raw[:, (f >= lo) & (f < lo + 4)].mean() for lo in (8, 16, 24)]
    assert raw_bands[0] / raw_bands[2] > 5  # 1/f^2 before


def test_whiten_rejects_constant_image():
    with pytest.raises(ValueError, match="zero variance"):
        whiten(np.ones((2, 16, 16)))


def test_whiten_rejects_nan():
    images = np.random.default_rng(0).random((1, 16, 16))
    images[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="images contains 1 non-finite"):
        whiten(images)


def test_sample_patches_reproducible_and_within_border(rng):
    images = np.arange(2 * 20 * 20, dtype=float).reshape(2, 20, 20)
    a = sample_patches(images, 4, 50, seed=3, border=2)
    b = sample_patches(images, 4, 50, seed=3, border=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 16)
    # every patch is a contiguous window of one image, away from the border
    for p in a:
        first = int(p[0])
        img, rest = divmod(first, 400)
        r, c = divmod(rest, 20)
        assert 2 <= r <= 20 - 2 - 4 and 2 <= c <= 20 - 2 - 4
        np.testing.assert_array_equal(p.reshape(4, 4), images[img, r : r + 4, c : c + 4])


def test_sample_patches_mean_removal_and_variance_filter(whitened_images):
    X = sample_patches(whitened_images, 8, 200, seed=0, remove_mean=True, min_variance=0.05)
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-12)
    X2 = sample_patches(whitened_images, 8, 200, seed=0, min_variance=0.05)
    assert X2.var(axis=1).min() >= 0.05
    Xn = sample_patches(whitened_images, 8, 100, seed=0, normalize=True)
    np.testing.assert_allclose(Xn.std(axis=1), 1, rtol=1e-10)


def test_patch_larger_than_image():
    from stimuli.images import check_patch_size

    with pytest.raises(ValueError, match="size=40 with border=4 does not fit"):
        sample_patches(np.ones((1, 32, 32)), 40, 10)
    # callers name the argument as their users spell it
    with pytest.raises(ValueError, match=r"patch_size=20 with border=8 .* 32x40 pixels"):
        check_patch_size(20, (3, 32, 40), border=8, name="patch_size")
    assert check_patch_size(16, (32, 40), border=8) == 16  # exactly fits


def test_loader_messages_use_the_callers_name(tmp_path):
    from stimuli.images import load_whitened

    with pytest.raises(FileNotFoundError, match="images: no such file"):
        load_whitened(tmp_path / "missing.mat", name="images")
    with pytest.raises(FileNotFoundError, match="^source: no such file"):
        load_images(tmp_path / "missing.mat")


def test_impossible_variance_filter_explains():
    with pytest.raises(ValueError, match="min_variance"):
        sample_patches(np.random.default_rng(0).random((1, 32, 32)) * 1e-3, 8, 10,
                       min_variance=1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="images must have 2 or 3"):
        sample_patches(np.ones(10), 2, 2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_patches(np.ones((1, 16, 16)), 2, 0)
    with pytest.raises(ValueError, match="images must not be empty"):
        whiten(np.ones((0, 16, 16)))


def test_load_whitened_never_whitens_twice(tmp_path, rng):
    from stimuli.images import load_whitened

    imgs = rng.standard_normal((2, 32, 32)).astype(">f4")
    for i, im in enumerate(imgs):
        im.tofile(tmp_path / f"image{i}")
    out, pre = load_whitened(tmp_path)
    assert pre
    np.testing.assert_array_equal(out, imgs.astype(np.float64))
    white, pre = load_whitened(imgs.astype(np.float64), prewhitened=False)
    assert not pre
    np.testing.assert_allclose(white, whiten(imgs.astype(np.float64)))


def test_flat_images_cannot_be_normalized():
    with pytest.raises(ValueError, match=r"could not find 3 patches that are not flat "
                                         r"\(normalize=True divides each patch by its s.d.\)"):
        sample_patches(np.ones((2, 32, 32)), 8, 3, normalize=True, seed=0)
    # flat up to rounding errors of its own level: still flat
    nearly = 5.0 + 1e-15 * np.random.default_rng(0).standard_normal((2, 32, 32))
    with pytest.raises(ValueError, match="not flat"):
        sample_patches(nearly, 8, 3, normalize=True, seed=0)


@pytest.mark.parametrize("call, match", [
    (lambda im: load_whitened(im, prewhitened="no"), "prewhitened must be a bool, got 'no'"),
    (lambda im: load_whitened(im, prewhitened=0), "prewhitened must be a bool, got 0"),
    (lambda im: sample_patches(im, 4, 3, remove_mean="no"), "remove_mean must be a bool"),
    (lambda im: sample_patches(im, 4, 3, normalize=1), "normalize must be a bool, got 1"),
])
def test_flags_must_be_bools(call, match):
    # "no" is truthy: load_whitened(prewhitened="no") used to skip whitening silently
    images = np.random.default_rng(0).random((2, 16, 16))
    with pytest.raises(TypeError, match=match):
        call(images)


@pytest.mark.parametrize("factor", [2.0**-1000, 1e-300, 1e-13, 1e200, 2.0**1000])
def test_whiten_does_not_depend_on_the_scale_of_the_images(factor):
    """Whitening then rescaling to a fixed variance is scale-invariant: any factor gives
    the output of the unscaled images (exactly for powers of two). 1e200 used to give
    zeros (the variance overflowed), 1e-13 "a constant picture"."""
    images = np.random.default_rng(0).random((3, 32, 32))
    reference = whiten(images)
    out = whiten(images * factor)
    np.testing.assert_allclose(out, reference, rtol=1e-9, atol=1e-12)
    if np.log2(factor).is_integer():
        np.testing.assert_array_equal(out, reference)
    assert out.var(axis=(1, 2)).mean() == pytest.approx(0.1)


def test_whiten_rejects_a_cutoff_below_the_lowest_frequency():
    """R(f) = f exp(-(f/f0)^4) on the grid f = 1, 2, ... cycles per picture: at f0 = 0.05
    the largest gain is exp(-20^4) = 0 (the output was all NaN); f0 >= 1 keeps some."""
    images = np.random.default_rng(0).random((2, 32, 32))
    with pytest.raises(ValueError, match=r"f0=0.05 cycles per picture is below 1, the lowest "
                                         r"non-zero frequency of 32x32 images.*use f0 >= 1"):
        whiten(images, f0=0.05)
    with pytest.raises(ValueError, match="f0=0.9 cycles per picture is below 1"):
        whiten(images, f0=0.9)
    # non-square pictures: f in cycles per min(height, width) = 16 px, so the 32-px axis
    # holds 0.5 cycles per picture
    with pytest.raises(ValueError, match="is below 0.5, the lowest non-zero frequency of 16x32"):
        whiten(images[:, :16, :], f0=0.4)
    for f0, shape in ((1.0, (32, 32)), (0.5, (16, 32))):
        out = whiten(images[:, : shape[0], : shape[1]], f0=f0)
        assert np.all(np.isfinite(out))
        assert out.var(axis=(1, 2)).mean() == pytest.approx(0.1)


def test_whiten_fails_when_the_filter_leaves_no_power():
    # a checkerboard only holds the corner frequency sqrt(8^2 + 8^2) = 11.3 cycles per
    # picture; with f0 = 1 its gain is exp(-11.3^4), zero in float64
    board = np.indices((16, 16)).sum(axis=0) % 2.0
    with pytest.raises(ValueError, match=r"f0=1 cycles per picture left \(nearly\) no power"):
        whiten(board, f0=1.0)


@pytest.mark.parametrize("factor", [1e-7, 1e-300, 1e200])
def test_normalized_patches_do_not_depend_on_the_scale_of_the_images(factor):
    """normalize=True needs patches that are not flat: relative to their own scale (the
    absolute 1e-12 threshold rejected every patch of images * 1e-7)."""
    images = np.random.default_rng(1).random((2, 32, 32))
    reference = sample_patches(images, 4, 20, seed=0, normalize=True)
    out = sample_patches(images * factor, 4, 20, seed=0, normalize=True)
    np.testing.assert_allclose(out, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1.0, rtol=1e-12)


# 4000 draws of 169 positions, so that every one is reached
@pytest.mark.filterwarnings("ignore:n=[0-9]+ patches exceed the [0-9]+ distinct:UserWarning")
def test_sample_patches_reaches_every_position():
    from stimuli import sample_patches
    h = w = 20
    images = np.arange(h * w, dtype=float).reshape(1, h, w)
    P = sample_patches(images, 4, 4000, seed=0, border=2)
    r, c = np.divmod(P[:, 0].astype(int), w)
    assert r.min() == 2 and c.min() == 2
    assert r.max() == h - 2 - 4 and c.max() == w - 2 - 4


def test_whiten_matches_the_formula_on_non_square_images():
    from stimuli import whiten
    rng = np.random.default_rng(8)
    imgs = rng.standard_normal((3, 48, 64)) * np.array([0.5, 1.0, 2.0])[:, None, None]
    out = whiten(imgs)
    h, w = imgs.shape[1:]
    n = min(h, w)
    fy = np.fft.fftfreq(h)[:, None] * n
    fx = np.fft.fftfreq(w)[None, :] * n
    rho = np.hypot(fx, fy)
    ref = np.real(np.fft.ifft2(np.fft.fft2(imgs) * rho * np.exp(-(rho / (0.4 * n)) ** 4)))
    ref *= np.sqrt(0.1 / ref.var(axis=(1, 2)).mean())  # one scale for all images
    np.testing.assert_allclose(out, ref, atol=1e-10)


def test_matlab_layout_is_warned_about(tmp_path, rng):
    """scipy.io.loadmat gives Olshausen's IMAGES.mat as (height, width, n_images):
    taken as it is, that is 128 pictures of 128 x 4 pixels and nothing fails
    downstream, so the array functions warn; load_images(path) reads it right."""
    from scipy.io import loadmat

    stack = rng.standard_normal((5, 128, 128))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(stack, 0, -1)})
    raw = loadmat(tmp_path / "IMAGES.mat")["IMAGES"]
    assert raw.shape == (128, 128, 5)
    for call in (lambda: whiten(raw), lambda: sample_patches(raw, 2, 5, border=0, seed=0),
                 lambda: load_images(raw)):
        with pytest.warns(UserWarning, match=r"shape \(128, 128, 5\), read as 128 pictures of "
                                             r"128 x 5 pixels .*np\.moveaxis"):
            call()
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), stack)
    # 3 or 4 pictures have the shape of one colour picture (RGB, RGBA): refused by whiten
    # and sample_patches, read as colour with a warning (or refused: an alpha outside
    # [0, 1]) by load_images, each naming np.moveaxis
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(stack[:4], 0, -1)})
    raw = loadmat(tmp_path / "IMAGES.mat")["IMAGES"]
    for call in (lambda: whiten(raw), lambda: sample_patches(raw, 2, 5, border=0, seed=0),
                 lambda: load_images(raw)):
        with pytest.raises(ValueError, match=r"\(128, 128, 4\).*RGBA.*np\.moveaxis"):
            call()
    with pytest.warns(UserWarning, match=r"\(128, 128, 3\), read as one RGB picture .*"
                                         r"np\.moveaxis\(source, -1, 0\)"):
        load_images(raw[..., :3])
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), stack[:4])


@pytest.mark.filterwarnings("error::UserWarning")
def test_ordinary_stacks_are_not_warned_about(rng):
    whiten(rng.standard_normal((3, 64, 48)))
    whiten(rng.standard_normal((64, 64)))
    whiten(rng.standard_normal((100, 16, 16)))  # a stack of patches
    sample_patches(rng.standard_normal((2, 64, 64)), 8, 10, seed=0)


def test_an_array_source_comes_back_as_a_copy(rng):
    # load_images(A) returned A itself: editing the stack edited the caller's array, and
    # a read-only (or memmapped) A came back read-only
    A = rng.random((2, 16, 16))
    images = load_images(A)
    assert not np.shares_memory(images, A)
    images -= images.mean()
    assert A.min() >= 0
    ro = A.copy()
    ro.setflags(write=False)
    out = load_images(ro)
    out -= 1.0  # writable
    np.testing.assert_array_equal(ro, A)
    same = load_whitened(A, prewhitened=True)[0]
    assert not np.shares_memory(same, A)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_cmyk_files_are_read_as_their_colours(tmp_path, suffix):
    """A CMYK JPEG or TIFF (print photographs) is converted to RGB, then to grey.

    imread gives the four ink channels, which were taken for RGB + alpha: the JPEG
    (Adobe's inverted inks) came out all white, 1.0 at every pixel.
    """
    from PIL import Image
    from skimage.color import rgb2gray

    y, x = np.mgrid[0:32, 0:48]
    g = (40 + 150 * (x / 47) + 30 * np.sin(y / 5)).astype(np.uint8)
    rgb = np.stack([g, (g * 0.8).astype(np.uint8), (g * 0.5).astype(np.uint8)], axis=2)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / f"cmyk{suffix}", quality=95)
    out = load_images(tmp_path / f"cmyk{suffix}")
    assert out.shape == (1, 32, 48)
    # Pillow's CMYK round trip is exact; JPEG at quality 95 of this smooth picture is
    # within 1/255 (measured 0.0039 max, 0.001 mean)
    np.testing.assert_allclose(out[0], rgb2gray(rgb), atol=0.01)


def test_empty_raw_file_is_refused(tmp_path):
    """An empty sparsenet raw file (a failed copy) was read as a 0 x 0 picture."""
    np.zeros((8, 8), ">f4").tofile(tmp_path / "image0")
    (tmp_path / "image1").write_bytes(b"")
    with pytest.raises(ValueError, match=r"images: raw file .*image1' has 0 bytes"):
        load_images(tmp_path, name="images")


def test_hidden_files_do_not_change_how_a_folder_is_judged(tmp_path, rng):
    """macOS's ``._IMAGES.mat`` companion (copies to FAT drives, zip archives) is
    skipped by the reader; is_prewhitened counted it, saw two .mat files, said False,
    and load_whitened whitened Olshausen's whitened images a second time."""
    cube = rng.standard_normal((16, 16, 2))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": cube})
    (tmp_path / "._IMAGES.mat").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    assert is_prewhitened(tmp_path)
    images, prewhitened = load_whitened(tmp_path)
    assert prewhitened
    np.testing.assert_array_equal(images, np.moveaxis(cube, 2, 0))
    # a hidden picture does not turn a folder of raw files into a photograph folder
    raw = tmp_path / "raw"
    raw.mkdir()
    cube[:, :, 0].astype(">f4").tofile(raw / "image0")
    (raw / ".thumbnail.png").write_bytes(b"")
    assert is_prewhitened(raw)
    np.testing.assert_array_equal(load_images(raw)[0], cube[:, :, 0].astype(">f4"))


def test_a_picture_beside_sparsenet_raw_files_is_read_with_a_word(tmp_path, rng):
    """A PNG saved into the folder of Olshausen's raw files (a figure, a preview) was read
    alone, the raw images left out unsaid (and is_prewhitened said False), where a .mat
    beside pictures was warned of. The pictures are still read, as beside a .mat, but
    the warning names both kinds of files and how to read the raw ones."""
    from PIL import Image

    cube = rng.standard_normal((3, 16, 16))
    for i, image in enumerate(cube):
        image.astype(">f4").tofile(tmp_path / f"image{i}")
    preview = (rng.random((16, 16)) * 255).astype(np.uint8)
    Image.fromarray(preview).save(tmp_path / "preview.png")
    with pytest.warns(UserWarning, match=(
            r"images: folder '[^']*' holds 1 picture file\(s\) \('preview\.png'\) and 3 "
            r"sparsenet raw file\(s\) \('image0', 'image1', 'image2'\): the pictures are "
            r"read, not the raw files .*move the picture files out of the folder")):
        read = load_images(tmp_path, name="images")
    np.testing.assert_array_equal(read, preview[None] / 255)  # what the warning says
    assert not is_prewhitened(tmp_path)  # judged on the files read, as before
    (tmp_path / "preview.png").unlink()  # as the warning advises: the raw files, in order
    np.testing.assert_array_equal(load_images(tmp_path), cube.astype(">f4"))
    # a .mat beside pictures, the same rule and its own word
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(cube, 0, -1)})
    Image.fromarray(preview).save(tmp_path / "preview.png")
    with pytest.warns(UserWarning) as caught:
        load_images(tmp_path)
    said = " ".join(str(w.message) for w in caught)
    assert "the pictures are read, not the .mat" in said
    assert "the pictures are read, not the raw files" in said


# imageio tries its legacy DICOM plugin on the broken file, which warns of its deprecation
@pytest.mark.filterwarnings("ignore:The legacy `DICOM` plugin:DeprecationWarning")
def test_max_images_reads_only_the_first_files(tmp_path, rng):
    """max_images=2 of a folder read every file (all of a 10,000-photo folder to keep
    two), so a broken third file failed the call."""
    from skimage.io import imsave

    written = (rng.random((3, 12, 12)) * 255).astype(np.uint8)
    for i, im in enumerate(written[:2]):
        imsave(tmp_path / f"p{i}.png", im)
    (tmp_path / "p2.png").write_bytes(b"not a png")
    out = load_images(tmp_path, max_images=2)
    np.testing.assert_array_equal(out, written[:2] / 255)
    with pytest.raises(ValueError, match="cannot read image file .*p2.png"):
        load_images(tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(2):
        written[i].astype(">f4").tofile(raw / f"image{i}")
    (raw / "image10").write_bytes(b"\x00" * 12)  # not a square: an error when read
    np.testing.assert_array_equal(load_images(raw, max_images=2), written[:2])
    with pytest.raises(ValueError, match="image10' has 12 bytes"):
        load_images(raw)


@pytest.mark.parametrize("shape", [(0, 5), (4.5, 4), (8,), "8x8"])
def test_whitening_filter_checks_its_shape(shape):
    """The filter's shape was not checked: (0, 5) raised ZeroDivisionError, (8,) an
    unpacking error, neither naming the argument."""
    with pytest.raises(ValueError, match="shape must be a positive int or"):
        whitening_filter(shape)


def test_whitening_filter_of_an_int_is_the_square_filter():
    np.testing.assert_array_equal(whitening_filter(16), whitening_filter((16, 16)))


def test_load_whitened_passes_progress_to_the_loading_and_the_whitening(monkeypatch, capsys):
    """progress=False silences both bars (whitening drew its automatic bar whatever a
    study was told); None draws them once a call is slow (the delay set to 0 here)."""
    import v1model.progress

    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    load_whitened("skimage", progress=False, max_images=2)
    assert "%|" not in capsys.readouterr().err
    load_whitened("skimage", progress=None, max_images=2)
    err = capsys.readouterr().err
    assert "whitening" in err, err[-300:]


@pytest.mark.parametrize("source", ["", "  "])
def test_an_empty_source_is_refused(source):
    """Path("") is the current folder: its pictures, if any, were read unsaid."""
    from stimuli import load_images

    with pytest.raises(ValueError, match=r"images is empty .*give 'skimage' or a path"):
        load_images(source, name="images")


@pytest.mark.parametrize("pages, channels", [(3, None), (5, None), (4, 3)])
def test_a_multi_page_tiff_is_refused_naming_its_pages(tmp_path, pages, channels):
    """imread stacks a TIFF's pages: 3 gray pages were taken for RGB and mixed into one
    gray picture, 5 failed with a message about colour channels, and colour pages gave
    a 5-D array from a function documented to give (n_images, height, width)."""
    from PIL import Image

    shape = (16, 24) if channels is None else (16, 24, channels)
    frames = [Image.fromarray(np.full(shape, 40 * i, np.uint8)) for i in range(pages)]
    frames[0].save(tmp_path / "stack.tif", save_all=True, append_images=frames[1:])
    with pytest.raises(ValueError, match=rf"stack\.tif.*{pages} pages"):
        load_images(tmp_path / "stack.tif")
    with pytest.raises(ValueError, match=rf"stack\.tif.*{pages} pages"):
        load_images(tmp_path)


def test_a_camera_mpo_jpeg_is_read_as_its_photograph(tmp_path):
    """A camera JPEG holding a preview after the photograph (MPO, two frames) is one
    picture: the first frame."""
    from PIL import Image
    from skimage.color import rgb2gray

    y, x = np.mgrid[0:32, 0:48]
    g = (40 + 150 * (x / 47) + 30 * np.sin(y / 5)).astype(np.uint8)
    photo = np.stack([g, (g * 0.8).astype(np.uint8), (g * 0.5).astype(np.uint8)], axis=2)
    preview = 255 - photo
    Image.fromarray(photo).save(tmp_path / "cam.jpg", format="MPO", save_all=True,
                                append_images=[Image.fromarray(preview)], quality=95)
    out = load_images(tmp_path / "cam.jpg")
    assert out.shape == (1, 32, 48)
    # JPEG at quality 95 of this smooth picture: within 1/255 (as for CMYK above)
    np.testing.assert_allclose(out[0], rgb2gray(photo), atol=0.01)


def test_any_os_pathlike_source_is_a_path(tmp_path, rng):
    """A path that is an ``os.PathLike`` but not a ``pathlib.Path`` (``os.scandir``'s
    entries, pytest's ``tmpdir``) was taken for an array ("source must be a numeric
    array"), and ``is_prewhitened`` called Olshausen's raw files unwhitened."""
    import os

    class Where(os.PathLike):
        def __init__(self, path):
            self.path = str(path)

        def __fspath__(self):
            return self.path

    imgs = rng.standard_normal((2, 16, 16)).astype(">f4")
    for i, im in enumerate(imgs):
        im.tofile(tmp_path / f"image{i}")
    np.testing.assert_array_equal(load_images(Where(tmp_path)), imgs.astype(np.float64))
    assert is_prewhitened(Where(tmp_path))
    raw, prewhitened = load_whitened(Where(tmp_path))
    assert prewhitened and np.array_equal(raw, imgs.astype(np.float64))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(imgs.astype(np.float64), 0, -1)})
    entry = next(e for e in os.scandir(tmp_path) if e.name == "IMAGES.mat")
    np.testing.assert_array_equal(load_images(entry), imgs.astype(np.float64))
    assert is_prewhitened(entry)


@pytest.mark.parametrize("option, named", [({"min_variance": 1e-9}, r"min_variance=1e-09"),
                                           ({"normalize": True}, r"normalize=True")])
def test_one_pixel_patches_cannot_meet_a_variance_filter(rng, option, named):
    """A 1-pixel patch has variance 0: with min_variance > 0 or normalize, 50 rounds of
    draws failed with "lower min_variance (images variance is 0.08)" (no positive
    value can work) or "the images are constant over every patch" (they are not)."""
    images = rng.random((2, 12, 12))
    with pytest.raises(ValueError, match=rf"size=1 patches have zero variance: {named}"):
        sample_patches(images, 1, 5, seed=0, border=0, **option)
    # without a filter, 1-pixel patches are the pixels themselves
    X = sample_patches(images, 1, 5, seed=0, border=0)
    assert X.shape == (5, 1) and np.all(np.isin(X, images))


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_sample_patches_float32_refuses_images_beyond_its_range(scale):
    # patches cut out in float64 were stored in float32 as inf (1e300) or zeros (1e-300)
    images = np.random.default_rng(0).standard_normal((2, 32, 32)) * scale
    with pytest.raises(ValueError, match="images has values of magnitude up to"):
        sample_patches(images, 8, 3, seed=0, dtype=np.float32)
    # normalize=True scales each patch to unit variance before it is stored: fine
    X = sample_patches(images, 8, 3, seed=0, dtype=np.float32, normalize=True)
    ref = sample_patches(images / scale, 8, 3, seed=0, dtype=np.float64, normalize=True)
    np.testing.assert_allclose(X, ref, rtol=1e-5, atol=1e-6)


def test_integer_arrays_are_scaled_as_picture_files_are(tmp_path, rng):
    """load_images(np.full((1, 16, 16), 200, np.uint8)) gave 200.0, the same pixels
    saved as a PNG 200 / 255: an integer array is now divided by its type's largest
    value, as a file's pixels are; 64-bit integers (no file has them) are refused."""
    from PIL import Image

    pixels = (rng.random((16, 16)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    from_file = load_images(tmp_path / "a.png")
    np.testing.assert_array_equal(load_images(pixels[None]), from_file)
    np.testing.assert_array_equal(load_images(pixels), pixels[None] / 255.0)
    assert load_images(np.full((1, 16, 16), 200, np.uint8)).max() == 200 / 255
    deep = (rng.random((2, 16, 16)) * 65535).astype(np.uint16)
    np.testing.assert_array_equal(load_images(deep), deep / 65535.0)
    # 32-bit pixels that fit in 16 bits (Pillow's mode "I") as a file's: by 65535
    np.testing.assert_array_equal(load_images(deep.astype(np.int32)), deep / 65535.0)
    np.testing.assert_array_equal(load_images(1024 * deep.astype(np.int32)),
                                  1024.0 * deep / (2**31 - 1))
    # floats are kept as they are, and the caller's array is not changed
    floats = pixels.astype(np.float32)
    np.testing.assert_array_equal(load_images(floats), floats[None])
    assert pixels.max() > 1
    with pytest.raises(ValueError, match=r"images is an array of int64: .*images\.astype"):
        load_images(pixels.astype(np.int64), name="images")


def test_a_non_square_mat_stack_saved_from_python_is_warned_of(tmp_path):
    """savemat({"IMAGES": stack}) of 10 pictures of 64 x 128 was read as 128 pictures of
    10 x 64 with no warning (it fired only when width == n_images); MATLAB's own layouts,
    Olshausen's 512 x 512 x 10 and a stack of square patches, are not warned of."""
    import warnings

    from scipy.io import loadmat

    stack = np.zeros((10, 64, 128))
    stack[:, 0, 0] = np.arange(10)
    savemat(tmp_path / "stack.mat", {"IMAGES": stack})
    with pytest.warns(UserWarning, match=r"shape \(10, 64, 128\), read as 128 pictures of "
                                         r"10 x 64 pixels .*10 pictures of 64 x 128.*"
                                         r"scipy\.io\.loadmat\(path\)\['IMAGES'\]"):
        assert load_images(tmp_path / "stack.mat").shape == (128, 10, 64)
    # the advice works: the array is read as (n_images, height, width)
    np.testing.assert_array_equal(load_images(loadmat(tmp_path / "stack.mat")["IMAGES"]),
                                  stack)
    for shape in [(512, 512, 10), (12, 12, 300), (480, 640, 20)]:
        savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.zeros(shape, np.float32)})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert load_images(tmp_path / "IMAGES.mat").shape == (shape[2],) + shape[:2]


def test_nan_message_names_the_whole_path(tmp_path):
    """The NaN message of a .mat file cut its path at 60 characters (describe's
    limit), unlike the loader's other messages."""
    folder = tmp_path / ("long_folder_name_" * 5)
    folder.mkdir()
    cube = np.ones((16, 16, 2))
    cube[3, 4, 1] = np.nan
    savemat(folder / "IMAGES.mat", {"IMAGES": cube})
    with pytest.raises(ValueError) as info:
        load_images(folder / "IMAGES.mat")
    assert str(info.value) == f"source {str(folder / 'IMAGES.mat')!r}: images contain NaN or inf"


@pytest.mark.parametrize("shape", [(16, 16, 0), (0, 16, 3)])
def test_empty_mat_array_is_refused_as_an_empty_array_source(tmp_path, shape):
    # an empty array source is refused; the same array in a .mat file came back as (0, 16, 16)
    savemat(tmp_path / "empty.mat", {"IMAGES": np.zeros(shape)})
    with pytest.raises(ValueError, match=r"empty\.mat.*key 'IMAGES' is empty"):
        load_images(tmp_path / "empty.mat")


def test_a_constant_picture_of_a_folder_is_named_by_its_file(tmp_path, rng):
    # "images: image 1 has zero variance" left the user to count the files of the folder
    import re

    from PIL import Image

    pictures = tmp_path / "photos"
    pictures.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        pixels = np.full((32, 32), 128, np.uint8) if name == "b.png" else rng.integers(
            0, 256, (32, 32), dtype=np.uint8)
        Image.fromarray(pixels).save(pictures / name)
    with pytest.raises(ValueError, match="^" + re.escape(
            f"images: image 1, file {str(pictures / 'b.png')!r}, has zero variance (a "
            "constant picture cannot be whitened)")):
        load_whitened(pictures, name="images")
    # raw sparsenet files, in the order of their numbers: image10 is the fourth picture
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in (0, 1, 2, 10):
        picture = np.zeros((16, 16)) if i == 10 else rng.standard_normal((16, 16))
        picture.astype(">f4").tofile(raw / f"image{i}")
    with pytest.raises(ValueError, match="^" + re.escape(
            f"source: image 3, file {str(raw / 'image10')!r}, has zero variance")):
        load_whitened(raw, prewhitened=False)
    with pytest.raises(ValueError, match=re.escape(  # of the first two, the second
            f"source: image 1, file {str(pictures / 'b.png')!r}, has zero")):
        load_whitened(pictures, max_images=2)
    with pytest.raises(ValueError, match="^images: image 1 has zero variance"):  # no files
        load_whitened(load_images(pictures), name="images")
    flat = np.full((32, 32), 0.5)  # a list: its files by their paths, its arrays by index
    with pytest.raises(ValueError, match="^" + re.escape(
            f"source: image 2, file {str(pictures / 'b.png')!r}, has zero variance")):
        load_whitened([pictures / "a.png", flat + np.eye(32), pictures / "b.png", flat])
    with pytest.raises(ValueError, match="^source: image 1 has zero variance"):
        load_whitened([pictures / "a.png", flat, pictures / "b.png"])


def test_a_dataarray_of_images_is_read_by_dim_name():
    # images (image, x, y) were read by position: transposed patches, unsaid
    import xarray as xr

    rng = np.random.default_rng(0)
    images = rng.standard_normal((3, 40, 48))
    da = xr.DataArray(images, dims=("image", "y", "x"))
    ref = sample_patches(images, size=8, n=20, seed=0)
    for view in (da.transpose("image", "x", "y"), da.transpose("y", "x", "image")):
        np.testing.assert_array_equal(sample_patches(view, size=8, n=20, seed=0), ref)
    np.testing.assert_allclose(whiten(da.transpose("image", "x", "y")).transpose(*da.dims),
                               whiten(images), rtol=0, atol=1e-12)
    pixels = (rng.random((2, 16, 20)) * 255).astype(np.uint8)
    view = xr.DataArray(pixels, dims=("image", "y", "x")).transpose("image", "x", "y")
    np.testing.assert_array_equal(load_images(view), load_images(pixels))
    # one dim of its own name takes the missing one's place (row is y; was refused)
    np.testing.assert_array_equal(
        sample_patches(xr.DataArray(images.transpose(0, 2, 1), dims=("image", "x", "row")),
                       size=8, n=20, seed=0), ref)
    with pytest.raises(ValueError, match=r"^images is a DataArray with dims \('x', 'row', "
                                         r"'col'\): expected \('image', 'y', 'x'\) in any order"):
        sample_patches(xr.DataArray(images, dims=("x", "row", "col")), size=8, n=20)


def test_whiten_returns_a_dataarray_with_its_dims_coords_attrs_and_the_whitened_mark():
    """A DataArray came back as a bare ndarray: its dims, coords and attrs gone, and with
    them the ``whitened`` mark, so that whitening the result again went unwarned. Now the
    same dims in the same order, coords, name and attrs, plus whitened = 1, the filter's
    cut-off (the default 0.4 * min(height, width), resolved) and variance; an ndarray
    still gives a plain C-contiguous ndarray, whose numbers the DataArray holds."""
    import xarray as xr

    rng = np.random.default_rng(3)
    images = rng.standard_normal((3, 40, 48))
    reference = whiten(images)
    assert type(reference) is np.ndarray and reference.flags.c_contiguous
    coords = {"image": ["a", "b", "c"], "y": np.arange(40) * 0.5, "x": np.arange(48) * 0.5,
              "label": ("image", [7, 8, 9])}
    attrs = {"source": "test", "units": "cd/m^2", "seed": 3}
    da = xr.DataArray(images, dims=("image", "y", "x"), coords=coords, attrs=attrs,
                      name="pictures").transpose("y", "x", "image")  # read by dim name
    out = whiten(da)
    assert isinstance(out, xr.DataArray) and out.dims == ("y", "x", "image")
    assert out.name == "pictures"
    xr.testing.assert_identical(out.coords.to_dataset(), da.coords.to_dataset())
    np.testing.assert_array_equal(out.transpose("image", "y", "x").values, reference)
    assert out.attrs == {"source": "test", "units": "1", "seed": 3, "whitened": 1,
                         "whitening_f0": 0.4 * 40, "whitening_variance": 0.1}
    assert da.attrs == attrs  # the caller's DataArray keeps its own
    with pytest.warns(UserWarning, match=r"^images carries attrs\['whitened'\]=1: they are "
                                         "whitened already"):
        whiten(out)
    assert is_prewhitened(out)
    kept, prewhitened = load_whitened(out)  # as it is, read by dim name
    assert prewhitened is True
    np.testing.assert_array_equal(kept, reference)
    # one picture (y, x) stays (y, x); f0 and variance as given
    one = whiten(da.isel(image=0), f0=10, variance=0.5)
    assert one.dims == ("y", "x") and one.attrs["whitening_f0"] == 10.0
    assert one.attrs["whitening_variance"] == 0.5
    np.testing.assert_array_equal(one.values, whiten(images[0], f0=10, variance=0.5)[0])


def test_a_dataarray_of_images_may_call_its_pictures_sample():
    # (sample, x, y), as v1model.convolutional names a stack of images, was refused
    # ("expected ('image', 'y', 'x')") while (image, x, y) was read
    import xarray as xr

    rng = np.random.default_rng(0)
    images = rng.standard_normal((3, 40, 48))
    da = xr.DataArray(images, dims=("sample", "y", "x"))
    ref = sample_patches(images, size=8, n=20, seed=0)
    for view in (da.transpose("sample", "x", "y"), da.transpose("y", "x", "sample")):
        np.testing.assert_array_equal(sample_patches(view, size=8, n=20, seed=0), ref)
        np.testing.assert_allclose(whiten(view).transpose(*da.dims), whiten(images), rtol=0,
                                   atol=1e-12)
        np.testing.assert_array_equal(load_images(view), images)
    np.testing.assert_array_equal(  # row takes y's place (was refused)
        sample_patches(xr.DataArray(images.transpose(0, 2, 1), dims=("sample", "x", "row")),
                       size=8, n=20, seed=0), ref)
    with pytest.raises(ValueError, match=r"^images is a DataArray with dims \('x', 'row', "
                                         r"'col'\): expected \('image', 'y', 'x'\) in any "
                                         r"order"):
        sample_patches(xr.DataArray(images, dims=("x", "row", "col")), size=8, n=20)


def test_load_whitened_refuses_to_resize_whitened_pictures(tmp_path, shared_data):
    """load_whitened(olshausen, size=128) resized his whitened 512 x 512 images and
    returned them as whitened: pooled variance 0.0127 instead of 0.0791 (measured), the
    flat spectrum and its f0 roll-off gone. Whitened pictures keep their own size (a size
    equal to the shorter side crops); pictures whitened here are resized, then whitened."""
    from stimuli import pink_noise

    white = whiten(pink_noise(2, 64, seed=0))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(white, 0, -1)})
    for size in (32, 128):  # shrunk or enlarged: either resamples the spectrum
        with pytest.raises(ValueError, match=rf"images: size={size} would resize the 64 x 64 "
                                             r"pictures of '.*IMAGES\.mat', which are already "
                                             r"whitened \(by their layout"):
            load_whitened(tmp_path / "IMAGES.mat", name="images", size=size)
    out, pre = load_whitened(tmp_path / "IMAGES.mat", size=64)
    assert pre
    np.testing.assert_array_equal(out, white)
    # an array said to be whitened: its shorter side crops (centre), another size is refused
    wide = np.concatenate([white, white[:, :, :16]], axis=2)  # 64 x 80
    out, pre = load_whitened(wide, prewhitened=True, size=64)
    np.testing.assert_array_equal(out, wide[:, :, 8:72])
    with pytest.raises(ValueError, match=r"size=48 would resize the 64 x 80 pictures of array "
                                         r".*\(prewhitened=True\)"):
        load_whitened(wide, prewhitened=True, size=48)
    # photographs saved under IMAGES (no negative pixel) are whitened: resized first, as before
    photos = np.random.default_rng(1).random((40, 60, 2))
    savemat(tmp_path / "photos.mat", {"IMAGES": photos})
    with pytest.warns(UserWarning, match="none of its pixels is negative"):
        out, pre = load_whitened(tmp_path / "photos.mat", size=32)
    assert not pre
    np.testing.assert_array_equal(out, whiten(load_images(tmp_path / "photos.mat", size=32)))
    folder = shared_data("olshausen", "images")
    with pytest.raises(ValueError, match=r"size=128 would resize the 512 x 512 pictures"):
        load_whitened(folder, size=128, max_images=1)


def test_load_whitened_names_raw_files_of_unequal_sizes_as_unusable_at_any_size(tmp_path,
                                                                                rng):
    """Whitened sparsenet raw files of two sizes come to one size only resized: load_whitened
    refused them with load_images' advice "pass size=N", and refused size=N too (a call
    that gave size was told to give one). Said once, naming the files' sizes and the size."""
    for i, side in enumerate((16, 20)):
        rng.standard_normal((side, side)).astype(">f4").tofile(tmp_path / f"image{i}")
    for size, prewhitened in ((None, None), (16, None), (16, True)):
        with pytest.raises(ValueError) as refused:
            load_whitened(tmp_path, prewhitened, name="images", size=size)
        message = str(refused.value)
        assert message.startswith(f"images: the sparsenet raw files in {str(tmp_path)!r} "
                                  "differ in size (16 x 16: image0; 20 x 20: image1) and are "
                                  "already whitened")
        assert "pass size=N" not in message and "cut them to one size" in message
        assert (f"(as size={size} would)" in message) == (size is not None)
    # said not to be whitened, they are resized, then whitened, as before
    out, pre = load_whitened(tmp_path, False, size=16)
    assert out.shape == (2, 16, 16) and not pre


def test_load_images_warns_when_it_resizes_whitened_pictures(tmp_path):
    """load_images(olshausen, size=128) resized the whitened pictures unsaid (a sixth of
    their variance left); a size that crops, and unwhitened pictures, are not warned of."""
    import warnings

    from stimuli import pink_noise

    white = whiten(pink_noise(2, 64, seed=0))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(white, 0, -1)})
    raw = tmp_path / "raw"
    raw.mkdir()
    for i, im in enumerate(white):
        im.astype(">f4").tofile(raw / f"image{i}")
    for source in (tmp_path / "IMAGES.mat", raw):
        with pytest.warns(UserWarning, match=r"images: size=32 resizes the 64 x 64 pictures of "
                                             r"'.*', which are already whitened .*load_whitened "
                                             "refuses such a size"):
            assert load_images(source, size=32, name="images").shape == (2, 32, 32)
    savemat(tmp_path / "IMAGES_RAW.mat", {"IMAGESr": np.moveaxis(white, 0, -1)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for source in (tmp_path / "IMAGES.mat", raw):
            np.testing.assert_allclose(load_images(source, size=64), white, atol=1e-6)
        assert load_images(tmp_path / "IMAGES_RAW.mat", size=32).shape == (2, 32, 32)
        # said not to be whitened: resized and whitened, with no word
        out, pre = load_whitened(raw, prewhitened=False, size=32)
    assert not pre
    np.testing.assert_array_equal(out, whiten(load_images(white.astype(">f4"), size=32)))


def test_whiten_names_a_colour_picture_given_as_height_width_3():
    """whiten(rgb) of shape (64, 64, 3) said only "images must be at least 4x4 pixels":
    the colour layout was explained by a warning before it, not by the error. A picture
    under 16 x 16 pixels is not read as colour (see COLOUR_MIN_SIDE): its error still says
    its last axis of 3 may be colour channels."""
    rgb = np.random.default_rng(0).random((64, 64, 3))
    with pytest.raises(ValueError, match=r"^images has shape \(64, 64, 3\), one colour picture "
                                         r"\(height, width, 3: RGB channels last\).*"
                                         r"skimage\.color\.rgb2gray; if its last axis "
                                         r"counts pictures .*np\.moveaxis\(images, -1, 0\)$"):
        whiten(rgb)
    small = np.random.default_rng(0).random((12, 12, 3))  # 12 pictures of 12 x 3 pixels
    with pytest.raises(ValueError, match=r"^images must be at least 4x4 pixels, got shape "
                                         r"\(12, 12, 3\) \(n_images, height, width\); a "
                                         r"last axis of 3 reads as the colour channels "
                                         r"of one RGB picture .*skimage\.color\.rgb2gray"
                                         r".*or pass a stack \(n_images, height, width\)$"), \
            pytest.warns(UserWarning, match="read as 12 pictures of 12 x 3"):
        whiten(small)
    from skimage.color import rgb2gray

    # the advice works: the gray picture is whitened to the target variance (0.1)
    assert whiten(rgb2gray(rgb)).var() == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize("channels", [3, 4])
def test_a_colour_array_is_read_as_a_picture_file_is(tmp_path, channels):
    """load_images of an image reader's (h, w, 3) or (h, w, 4) array gave h pictures of
    w x 3 (or w x 4) pixels, with only a layout warning; it is one picture, converted to
    gray as the same pixels saved as a PNG are (alpha composited onto white)."""
    from PIL import Image

    pixels = (np.random.default_rng(3).random((20, 30, channels)) * 255).astype(np.uint8)
    mode = "RGB" if channels == 3 else "RGBA"
    Image.fromarray(pixels, mode).save(tmp_path / "colour.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layout warning
        out = load_images(pixels)
    assert out.shape == (1, 20, 30) and out.dtype == np.float64
    np.testing.assert_allclose(out, load_images(tmp_path / "colour.png"), atol=1e-12)
    # independently: rgb2gray's weights, onto white by alpha
    rgb = pixels[..., :3] / 255
    alpha = pixels[..., 3:] / 255 if channels == 4 else 1.0
    expected = (alpha * rgb + (1 - alpha)) @ [0.2125, 0.7154, 0.0721]
    np.testing.assert_allclose(out[0], expected, atol=1e-12)
    # floats are kept as they are (in [0, 1] here): the same picture, warned of, as a .mat
    # stack of 3 or 4 pictures (doubles) comes in this shape from scipy.io.loadmat
    with pytest.warns(UserWarning, match=rf"^source has shape \(20, 30, {channels}\), read "
                                         rf"as one {mode} picture .* converted to gray .*"
                                         r"np\.moveaxis\(source, -1, 0\)"):
        np.testing.assert_allclose(load_images(pixels / 255.0), out, atol=1e-12)
    np.testing.assert_allclose(load_images(pixels, size=16), load_images(tmp_path / "colour.png",
                                                                         size=16), atol=1e-12)


def test_a_colour_array_with_an_alpha_outside_0_1_is_refused():
    """An opacity of 255 composited gray levels far past white, unsaid."""
    rgba = np.random.default_rng(0).random((20, 20, 4))
    rgba[..., 3] *= 255  # 8-bit alpha given with float colour
    with pytest.raises(ValueError, match=r"^pixels has shape \(20, 20, 4\), read as one RGBA "
                                         r"picture, but its alpha channel pixels\[:, :, 3\] "
                                         r"spans \[.*, 25\d\.?\d*\], not \[0, 1\].*"
                                         r"np\.moveaxis\(pixels, -1, 0\)"):
        load_images(rgba, name="pixels")


@pytest.mark.parametrize("channels", [3, 4])
def test_whiten_and_sample_patches_refuse_a_colour_array(channels):
    """whiten of (64, 64, 4) returned 64 "pictures" of 64 x 4 pixels (only a warning);
    sample_patches of (64, 64, 3) said only "size=8 with border=4 does not fit in images of
    64x3 pixels". Both refuse one colour picture, saying how to convert it."""
    colour = np.random.default_rng(0).random((64, 64, channels))
    kind = "RGB" if channels == 3 else "RGBA"
    message = (rf"^images has shape \(64, 64, {channels}\), one colour picture \(height, "
               rf"width, {channels}: {kind} channels last\), not a stack of gray pictures "
               r"\(n_images, height, width\): convert it to grayscale first, e\.g\. "
               r"stimuli\.load_images\(images\)")
    with pytest.raises(ValueError, match=message):
        whiten(colour)
    with pytest.raises(ValueError, match=message):
        sample_patches(colour, 8, 10, seed=0)
    # the advice works
    with pytest.warns(UserWarning, match=f"read as one {kind} picture"):
        gray = load_images(colour)
    assert whiten(gray).shape == (1, 64, 64)
    assert sample_patches(gray, 8, 10, seed=0).shape == (10, 64)


def test_stacks_whose_width_is_3_or_4_stay_stacks(rng):
    """Not colour: a stack (5, 64, 3) (fewer than 16 pictures) and one (3, 64, 64) are read
    as they always were, by load_images, whiten and sample_patches."""
    for shape in [(5, 64, 3), (5, 64, 4), (3, 64, 64)]:
        stack = rng.random(shape)
        np.testing.assert_array_equal(load_images(stack), stack)
        if shape[2] >= 4:
            assert whiten(stack).var(axis=(1, 2)).mean() == pytest.approx(0.1, rel=1e-12)
        else:  # too narrow to whiten: refused as such, not as colour
            with pytest.raises(ValueError, match="must be at least 4x4 pixels"):
                whiten(stack)
        X = sample_patches(stack, 2, 6, seed=1, border=0)
        assert X.shape == (6, 4)
        # each patch is one of the stack's own 2 x 2 windows
        windows = np.lib.stride_tricks.sliding_window_view(stack, (2, 2), axis=(1, 2))
        windows = windows.reshape(-1, 4)
        assert all((windows == x).all(axis=1).any() for x in X)


def test_one_sparsenet_raw_file_is_read_as_its_folder_reads_it(tmp_path, rng):
    """load_images(".../image0") was refused ("expected a .mat file, an image file or a
    folder"): a single raw file is read by the folder's rule (a name starting with
    ``image``, no suffix), as np.fromfile reads it, and is whitened (is_prewhitened)."""
    imgs = rng.standard_normal((2, 16, 16)).astype(">f4")
    for i, im in enumerate(imgs):
        im.tofile(tmp_path / f"image{i}")
    one = load_images(tmp_path / "image1")
    assert one.shape == (1, 16, 16) and one.dtype == np.float64
    np.testing.assert_array_equal(one[0], np.fromfile(tmp_path / "image1", ">f4")
                                  .reshape(16, 16))
    np.testing.assert_array_equal(one[0], load_images(tmp_path)[1])
    assert is_prewhitened(tmp_path / "image1")
    out, pre = load_whitened(tmp_path / "image1")
    assert pre and np.array_equal(out, one)
    with pytest.warns(UserWarning, match="which are already whitened"):
        assert load_images(tmp_path / "image1", size=8).shape == (1, 8, 8)
    # the folder's checks apply: a size that is no square of float32s, NaN pixels
    (tmp_path / "image2").write_bytes(b"\x00" * 12)
    with pytest.raises(ValueError, match=r"^images: raw file .*image2' has 12 bytes"):
        load_images(tmp_path / "image2", name="images")
    bad = np.zeros((8, 8), ">f4")
    bad[1, 2] = np.nan
    bad.tofile(tmp_path / "image3")
    with pytest.raises(ValueError, match=r"image3' holds 1 NaN .* \(1, 2\)"):
        load_images(tmp_path / "image3")
    # a file without a suffix whose name is not image... is still refused, naming the format
    (tmp_path / "notes").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"cannot read .*notes': expected a \.mat file, an "
                                         r"image file, a sparsenet raw file \(image0"):
        load_images(tmp_path / "notes")


def test_one_real_sparsenet_raw_file(shared_data):
    """Olshausen's image0 alone: 512 x 512, as the data README reads it."""
    path = shared_data("olshausen", "images", "image0")
    one = load_images(path)
    np.testing.assert_array_equal(one[0], np.fromfile(path, ">f4").reshape(512, 512))
    assert is_prewhitened(path)


def test_missing_bundled_photographs_are_named(monkeypatch, tmp_path):
    """A scikit-image without some of SKIMAGE_SCENES gave fewer pictures unsaid; the
    README promised ten. The missing ones are named; those present are read as a list of
    their files is."""
    import shutil
    from pathlib import Path

    import skimage.data

    real = Path(skimage.data.__file__).parent
    for name in ("camera.png", "moon.png"):
        shutil.copy(real / name, tmp_path / name)
    # where the photographs are looked for: a scikit-image whose data holds only two
    monkeypatch.setattr(skimage.data, "__file__", str(tmp_path / "__init__.py"))
    with pytest.warns(UserWarning) as record:
        images = load_images("skimage")
    (warning,) = [w for w in record if "does not ship" in str(w.message)]
    message = str(warning.message)
    assert "8 of the 10 photographs" in message and "2 are loaded" in message
    for name in set(SKIMAGE_SCENES) - {"camera.png", "moon.png"}:
        assert name in message
    assert "camera.png" not in message and "moon.png" not in message
    assert warning.filename == __file__  # at the user's line
    expected = load_images([tmp_path / "camera.png", tmp_path / "moon.png"], size=256)
    np.testing.assert_array_equal(images, expected)
    # none left: refused, naming the folder
    monkeypatch.setattr(skimage.data, "__file__", str(tmp_path / "none" / "__init__.py"))
    with pytest.raises(RuntimeError, match="no bundled photographs found in .*none"):
        load_images("skimage")


@pytest.mark.parametrize("key, value", [("prewhitened", 1), ("whitened", True),
                                        ("whitened", "yes"), ("whitened", "True"),
                                        ("whitened", 1.0), ("prewhitened", np.float32(1)),
                                        ("whitened", np.int64(1)),
                                        ("prewhitened", np.bool_(True))])
def test_whitening_images_that_say_they_are_whitened_is_warned(key, value):
    """whiten() took a DataArray whose attrs say it is whitened (the studies record
    ``prewhitened``) and filtered it again, unsaid: the warning names the attr.
    load_whitened (is_prewhitened) takes it as whitened and returns it as it is, where it
    whitened it a second time. A float 1 (``whitened=1.0``, as a netCDF round trip may
    give) did not count as whitened."""
    import xarray as xr

    rng = np.random.default_rng(0)
    images = xr.DataArray(rng.standard_normal((2, 32, 32)), dims=("image", "y", "x"),
                          attrs={key: value})
    with pytest.warns(UserWarning, match=rf"^images carries attrs\['{key}'\]="
                                         rf"{re.escape(repr(value))}: they are whitened "
                                         r"already"):
        twice = whiten(images)
    assert is_prewhitened(images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept, prewhitened = load_whitened(images)
        whiten(images.assign_attrs({key: 0 if key == "prewhitened" else False}))
    assert prewhitened is True
    np.testing.assert_array_equal(kept, images.values)
    # what a second whitening did: the filter's high-pass, |R(f)| rising from 0 at DC
    assert not np.allclose(twice, images.values / images.values.std() * np.sqrt(0.1))


def test_more_patches_than_positions_are_warned_of_as_repeats(rng):
    """Patches are drawn with replacement: 100 patches of 8x8 from one 12x12 picture held
    25 distinct ones (its 5 x 5 positions), unsaid. Counted against np.unique; at exactly
    as many patches as positions there is no warning (they may still repeat by chance)."""
    images = rng.standard_normal((1, 12, 12))
    with pytest.warns(UserWarning, match=r"^n=100 patches exceed the 25 distinct positions "
                                         r"of size=8 patches with border=0 in images of shape "
                                         r"\(1, 12, 12\) .* at least 75 of them are repeats"):
        X = sample_patches(images, 8, 100, seed=0, border=0)
    assert len(np.unique(X, axis=0)) <= 25
    # border 1 leaves 3 x 3 positions in each of 2 pictures
    with pytest.warns(UserWarning, match=r"^n=19 patches exceed the 18 distinct positions"):
        sample_patches(np.concatenate([images, images + 1]), 8, 19, seed=0, border=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_patches(images, 8, 25, seed=0, border=0)


def test_load_whitened_leaves_the_process_warning_filters_alone(
        tmp_path, monkeypatch, forbid_catch_warnings, with_a_neighbour):
    """load_whitened(prewhitened=False, size=...) hid load_images's warning of resizing
    whitened pictures with a warnings.catch_warnings filter, one per process: the same
    warning another thread gave meanwhile (another point of a sweep in threads, reading
    other files) was hidden too. It is not given at all now (said in this thread's
    context): the call enters no catch_warnings, the neighbour's warning reaches the
    caller, load_images warns as before when called by itself, and this call as before
    warns of nothing."""
    import stimuli.images as images
    from stimuli import pink_noise

    white = whiten(pink_noise(2, 64, seed=0))
    raw = tmp_path / "raw"
    raw.mkdir()
    for i, im in enumerate(white):
        im.astype(">f4").tofile(raw / f"image{i}")
    forbid_catch_warnings(images)
    text = ("images: size=16 resizes the 64 x 64 pictures of 'other', which are already "
            "whitened (by their layout)")
    monkeypatch.setattr(images, "load_images",
                        with_a_neighbour(images.load_images, text))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, pre = load_whitened(raw, prewhitened=False, size=32)
    assert [str(w.message) for w in caught] == [text]
    assert not pre
    np.testing.assert_array_equal(out, whiten(load_images(white.astype(">f4"), size=32)))
    # the flag does not outlive the call
    with pytest.warns(UserWarning, match="which are already whitened"):
        load_images(raw, size=32)


def test_an_empty_list_of_pictures_is_said_to_be_empty():
    """load_images([]) said "source must have 2 or 3 dimension(s), got 1 (shape (0,))"."""
    for source in ([], ()):
        kind = type(source).__name__
        with pytest.raises(ValueError, match=rf"^source is an empty {kind}: give at least one "
                                             r"picture$"):
            load_images(source)
        with pytest.raises(ValueError, match=rf"^images is an empty {kind}"):
            whiten(source)
        with pytest.raises(ValueError, match=rf"^images is an empty {kind}"):
            sample_patches(source, 4, 8)


def test_a_list_of_pictures_of_different_sizes_is_sent_to_load_images(rng):
    """whiten and sample_patches told such a list to "cut or pad them to one length", as
    if it held sounds; load_images reads it, squaring the pictures to one size."""
    pictures = [rng.random((32, 32)), rng.random((40, 48))]
    for call in (lambda x: whiten(x), lambda x: sample_patches(x, 4, 8, seed=0)):
        with pytest.raises(TypeError, match=r"^images is a list of 2 pictures of different "
                                            r"shapes \(\(32, 32\), \(40, 48\)\), not one array "
                                            r"\(n_images, height, width\): read it with "
                                            r"stimuli\.load_images\(images\), which "):
            call(pictures)
    # the advice works: one stack of squares, which both take
    stack = load_images(pictures, size=32)
    assert stack.shape == (2, 32, 32)
    assert whiten(stack).shape == (2, 32, 32)
    assert sample_patches(stack, 4, 8, seed=0).shape == (8, 16)  # 8 patches of 4 x 4
    with pytest.raises(TypeError, match=r"^images is a tuple of picture files, not an array "
                                        r"of pictures: read them with stimuli\.load_images"):
        whiten(("a.png", "b.png"))
    # a list of pictures of one size is a stack, as before
    same = [rng.random((16, 16)), rng.random((16, 16))]
    np.testing.assert_allclose(whiten(same), whiten(np.stack(same)), rtol=1e-12)


def test_the_parent_of_an_image_folder_names_the_folder_that_holds_the_images(tmp_path, rng):
    """Olshausen's data as distributed: ``A144.mat`` (his basis, key ``A``) beside the folder
    ``images/`` of raw files. Given the parent (``--images .../olshausen``), or the basis
    itself, the error named only A144.mat's keys; now it names the folder of images. A
    folder whose only pictures lie in a subfolder names it too; one with no images in any
    subfolder keeps its message as it was."""
    savemat(tmp_path / "A144.mat", {"A": np.eye(4)})
    (tmp_path / "images").mkdir()
    for i in range(2):
        rng.standard_normal((16, 16)).astype(">f4").tofile(tmp_path / "images" / f"image{i}")
    (tmp_path / "empty").mkdir()  # no images: not offered
    images = repr(str(tmp_path / "images"))
    with pytest.raises(ValueError, match=re.escape(
            f"it holds ['A']; subfolders are not read: pass the subfolder of "
            f"{str(tmp_path)!r} that holds the images, {images} (2 sparsenet raw file(s))")):
        load_images(tmp_path)
    with pytest.raises(ValueError, match=re.escape(
            f"it holds ['A']; a folder beside 'A144.mat' holds images: pass {images} (2 "
            "sparsenet raw file(s))")):
        load_whitened(tmp_path / "A144.mat", name="images")
    photos = tmp_path / "photos"
    (photos / "scans").mkdir(parents=True)
    from PIL import Image

    Image.fromarray(np.zeros((16, 16), np.uint8)).save(photos / "scans" / "a.png")
    with pytest.raises(ValueError, match=re.escape(
            f"no single .mat file (it holds no files); subfolders are not read: pass the "
            f"subfolder of "
            f"{str(photos)!r} that holds the images, {str(photos / 'scans')!r} (1 picture "
            "file(s))")):
        load_images(photos)
    with pytest.raises(ValueError, match=r"no single \.mat file \(it holds no files\)$"):
        load_images(tmp_path / "empty")


def test_a_folder_without_images_says_what_it_holds(tmp_path):
    """A folder of recordings given as images (``--images ../shared/data/fsdd``), or
    sparsenet's own folder of IMAGES.mat beside IMAGES_RAW.mat, was told only what it
    lacked: now what it holds, and for several .mat files, to give one's path."""
    for i in range(3):
        (tmp_path / f"{i}_take.wav").write_bytes(b"RIFF")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=re.escape(
            "no single .mat file (it holds 4 file(s): 3 .wav, 1 .txt)")):
        load_images(tmp_path)
    sparsenet = tmp_path / "sparsenet"
    sparsenet.mkdir()
    for key, file in (("IMAGES", "IMAGES.mat"), ("IMAGESr", "IMAGES_RAW.mat")):
        savemat(sparsenet / file, {key: np.zeros((8, 8, 1))})
    with pytest.raises(ValueError, match=re.escape(
            f"(it holds 2 file(s): 2 .mat; give the path of one .mat file, e.g. "
            f"{str(sparsenet / 'IMAGES.mat')!r} (of 'IMAGES.mat', 'IMAGES_RAW.mat'))")):
        load_images(sparsenet)


def test_the_parent_of_olshausens_images_names_them(shared_data):
    """The reference data's own layout (``--images ../shared/data/olshausen``)."""
    folder = shared_data("olshausen")
    shared_data("olshausen", "images")
    with pytest.raises(ValueError, match=re.escape(
            f"{str(folder / 'images')!r} (10 sparsenet raw file(s))")):
        load_images(folder, name="images")


def test_complex_mat_pixels_are_refused_as_a_complex_array_is(tmp_path):
    """IMAGES saved complex (an inverse FFT without real()): the .mat path cast it to
    floats, dropping an imaginary part as large as the real one with only NumPy's
    ComplexWarning, where the same array passed itself is refused; a MATLAB v7.3 file's
    complex array (HDF5 fields real, imag) was called "not a numeric array"."""
    from v1model.validation import ComplexDataError

    cube = np.random.default_rng(0).random((16, 16, 2)) * (1 + 1j)
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": cube})
    v73 = tmp_path / "v73" / "IMAGES.mat"
    v73.parent.mkdir()
    h5py = pytest.importorskip("h5py")
    with h5py.File(v73, "w", userblock_size=512) as f:  # as MATLAB writes complex data
        f.create_dataset("IMAGES", data=np.rec.fromarrays(
            [cube.real.T.copy(), cube.imag.T.copy()], names="real,imag"))
    with open(v73, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file".ljust(124) + b"\x00\x02IM")
    for path in (tmp_path / "IMAGES.mat", v73):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no ComplexWarning on the way
            with pytest.raises(ComplexDataError, match=re.escape(
                    f"images: {str(path)!r} key 'IMAGES' must be real, got complex values "
                    "(array of shape (16, 16, 2) and dtype complex128); save the real part")):
                load_images(path, name="images")
    with pytest.raises(ComplexDataError, match="source must be real"):
        load_images(np.moveaxis(cube, -1, 0))  # the array source, as it was


def test_whitened_pink_noise_follows_the_filters_analytic_roll_off():
    """Olshausen & Field's setting, f0 = 200 cycles/picture on 512 x 512: 1/f amplitude
    noise whitened by R(f) = f exp(-(f/f0)^4) has power exp(-2 (f/f0)^4) up to one
    constant, flat at low frequencies and e^-2 at f0. Every 16-cycle band from 8 to 248
    cycles/picture is within 6% of that curve averaged over the band's own frequencies
    (measured 2.3-3.8% at most over seeds 0-4: the noise of a band of ~10^4 coefficients)."""
    from stimuli import pink_noise

    f0 = 200.0
    white = whiten(pink_noise(2, 512, alpha=2.0, seed=3), f0=f0)
    power = (np.abs(np.fft.rfft2(white, axes=(1, 2))) ** 2).mean(axis=0)
    fy = np.fft.fftfreq(512)[:, None] * 512
    fx = np.fft.rfftfreq(512)[None, :] * 512
    f = np.sqrt(fx**2 + fy**2)
    expected = np.exp(-2 * (f / f0) ** 4)
    ratios = np.array([power[(f >= lo) & (f < lo + 16)].mean()
                       / expected[(f >= lo) & (f < lo + 16)].mean()
                       for lo in range(8, 249, 16)])
    np.testing.assert_allclose(ratios / np.median(ratios), 1.0, atol=0.06)
    band = (f >= 192) & (f < 208)  # at f0 the power is e^-2 of the flat level, not flat
    flat = power[(f >= 8) & (f < 40)].mean()
    assert power[band].mean() / flat == pytest.approx(np.exp(-2), rel=0.1)


def test_embedded_photographs_enlarged_by_size_are_warned_of(monkeypatch):
    """load_images("skimage", size=1024) enlarged chelsea.png's 300 x 451 pixels 3.4x
    without a word: interpolated pixels, no natural-image detail above the photograph's
    own resolution. The warning names the most enlarged photograph, its size and the size
    asked for (the photographs' sizes read independently, by imageio); a size no larger
    than every photograph's shorter side is not warned of. Two photographs are read, the
    smallest and the largest, to keep the test quick."""
    from skimage.io import imread

    import stimuli.images
    from stimuli.images import _skimage_files

    _, files, _ = _skimage_files()
    shapes = {f.name: imread(f).shape[:2] for f in files}
    smallest = min(shapes, key=lambda f: min(shapes[f]))
    largest = max(shapes, key=lambda f: min(shapes[f]))
    side, (h, w) = min(shapes[smallest]), shapes[smallest]
    monkeypatch.setattr(stimuli.images, "SKIMAGE_SCENES", (smallest, largest))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_images("skimage", size=side).shape == (2, side, side)
    size = 2 * side
    enlarged = 1 + (min(shapes[largest]) < size)
    with pytest.warns(UserWarning, match=(
            rf"^source='skimage', size={size} enlarges {enlarged} of the 2 photographs, "
            rf"(the most )?'{re.escape(smallest)}' \({h} x {w} pixels, squared {side} x "
            rf"{side}\) 2.00x: the pixels an enlargement adds are interpolated.*pass "
            rf"size={side} or less")):
        images = load_images("skimage", size=size)
    assert images.shape == (2, size, size)
