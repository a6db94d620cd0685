"""stimuli.images: memory use of sample_patches and whiten, and unchanged results.

Peak memory is measured with tracemalloc (NumPy reports its buffers to it), the least
of three measures (``peak_memory``, tests/conftest.py), so the assertions are
deterministic. The reference patches were computed with the
implementation that preceded the blocked one (which peaked at 6x its output):
a seed must keep giving the same patches.
"""

import re

import numpy as np
import pytest

from stimuli import sample_patches, whiten
from stimuli.images import whitening_filter

#: the reference draws take more patches (segments) than these small pictures (waveforms)
#: hold, on purpose: several blocks and rounds of draws, whose positions are pinned
_REPEATS = pytest.mark.filterwarnings(
    "ignore:n=[0-9]+ (patches|segments) exceed the [0-9]+ distinct:UserWarning")


@pytest.fixture(scope="module")
def pictures():
    rng = np.random.default_rng(0)
    imgs = rng.standard_normal((3, 40, 48)).cumsum(axis=2)
    imgs[0, :, :24] = 1.0  # a flat half: min_variance and normalize reject patches there
    return imgs


@pytest.fixture(scope="module")
def positions():
    """Pixel value k * 10000 + y * 100 + x: a patch's first value tells where it was cut."""
    k, y, x = np.meshgrid(np.arange(3), np.arange(40), np.arange(48), indexing="ij")
    return (k * 10000 + y * 100 + x).astype(float)


def _where(values):
    return [(int(v) // 10000, int(v) % 10000 // 100, int(v) % 100) for v in values]


@pytest.mark.parametrize("filters", [{}, {"normalize": True}])
def test_sample_patches_peak_memory_is_close_to_the_output(filters, peak_memory):
    images = np.random.default_rng(1).standard_normal((4, 128, 128))
    X, peak = peak_memory(lambda: sample_patches(images, 16, 20000, seed=0, **filters))
    assert X.shape == (20000, 256) and X.dtype == np.float64
    assert peak <= 2 * X.nbytes, f"peak {peak / X.nbytes:.2f}x the output"


def test_whiten_peak_memory_is_close_to_the_output(peak_memory):
    images = np.random.default_rng(2).standard_normal((8, 128, 128)).cumsum(axis=2)
    out, peak = peak_memory(lambda: whiten(images))
    assert out.shape == images.shape and out.dtype == np.float64
    assert peak <= 2 * out.nbytes, f"peak {peak / out.nbytes:.2f}x the output"


@_REPEATS
def test_sample_patches_float32(pictures):
    X64 = sample_patches(pictures, 8, 3000, seed=4, normalize=True)
    X32 = sample_patches(pictures, 8, 3000, seed=4, normalize=True, dtype=np.float32)
    assert X32.dtype == np.float32 and X32.flags.c_contiguous
    # computed in float64, then stored: the same patches, rounded once
    np.testing.assert_array_equal(X32, X64.astype(np.float32))
    assert sample_patches(pictures, 8, 5, seed=4, dtype="float64").dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128"])
def test_sample_patches_rejects_other_dtypes(pictures, dtype):
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        sample_patches(pictures, 8, 5, dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        sample_patches(pictures, 8, 5, dtype="no such type")


@_REPEATS
@pytest.mark.parametrize(
    ("seed", "first", "last"),
    [
        (0, [(2, 27, 13), (1, 17, 26), (1, 21, 20), (0, 18, 10)], [(0, 5, 8), (0, 21, 4)]),
        (1, [(1, 14, 5), (1, 21, 33), (2, 7, 33), (2, 25, 9)], [(1, 23, 25), (2, 20, 20)]),
        (2024, [(0, 5, 12), (2, 11, 18), (0, 17, 19), (0, 23, 18)], [(2, 6, 12), (1, 20, 10)]),
    ],
)
def test_sample_patches_same_positions_as_before(positions, seed, first, last):
    # 30000 patches of 8x8: several blocks; the positions of the earlier implementation
    X = sample_patches(positions, 8, 30000, seed=seed)
    assert _where(X[:4, 0]) == first
    assert _where(X[[-1, 12345], 0]) == last
    # and the rest of each patch follows from its corner
    corner = X[:, :1]
    offsets = (np.arange(8)[:, None] * 100 + np.arange(8)[None, :]).ravel()
    np.testing.assert_array_equal(X, corner + offsets)


@_REPEATS
@pytest.mark.parametrize(
    ("seed", "filters", "head", "abs_sum", "weighted_sum"),
    [
        (0, {"min_variance": 0.5},
         [[-2.227344993565683, -3.264350397920665], [-2.636776740903004, -3.3766265654837153]],
         7317747.487587318, -22712496.32158156),
        (1, {"normalize": True},
         [[1.1913441735638723, 1.2509028986890578], [-0.8263288578006733, -0.6462909596919126]],
         1558374.3001099206, -1288756.4033375646),
        (2, {"remove_mean": True, "min_variance": 0.2},
         [[3.361936910811447, 5.647451873844084], [-0.7452142786312408, -1.1903829050163952]],
         6601653.74791825, -2194966.096673741),
        (3, {"normalize": True, "min_variance": 1.0},
         [[-1.462276249011132, -1.2206810281219564], [-2.387819499258982, -2.2151341299977387]],
         1558341.071972825, -1202520.337478306),
    ],
)
def test_sample_patches_with_filters_same_as_before(pictures, seed, filters, head, abs_sum,
                                                    weighted_sum):
    # rejected patches are drawn again in rounds: the same rounds as before
    X = sample_patches(pictures, 8, 30000, seed=seed, **filters)
    np.testing.assert_allclose(X[:2, :2], head, rtol=1e-12)
    np.testing.assert_allclose(np.abs(X).sum(), abs_sum, rtol=1e-9)
    np.testing.assert_allclose((X * np.arange(64)).sum(), weighted_sum, rtol=1e-9)


@_REPEATS
def test_sample_patches_leaves_the_generator_where_it_did():
    # every round draws 2n (at least 16) image indices, rows and columns, as before,
    # even when only n of them are used
    images = np.random.default_rng(3).standard_normal((2, 30, 30))
    rng = np.random.default_rng(5)
    sample_patches(images, 8, 1000, seed=rng)
    expected = np.random.default_rng(5)
    expected.integers(0, 2, 2000)
    expected.integers(4, 19, 2000)
    expected.integers(4, 19, 2000)
    assert rng.integers(0, 2**62) == expected.integers(0, 2**62)


def _whiten_reference(images, f0=None, variance=0.1):
    """The plain formula: full complex FFTs of all images at once."""
    filt = whitening_filter(images.shape[1:], f0)
    out = np.real(np.fft.ifft2(np.fft.fft2(images, axes=(1, 2)) * filt, axes=(1, 2)))
    return out * np.sqrt(variance / np.mean(out.var(axis=(1, 2))))


@pytest.mark.parametrize("shape", [(3, 64, 64), (2, 37, 50), (20, 16, 16), (1, 33, 48)])
@pytest.mark.parametrize("f0", [None, 5.0])
def test_whiten_matches_the_full_fft_formula(shape, f0):
    images = np.random.default_rng(6).standard_normal(shape).cumsum(axis=2) * 1e-3
    out = whiten(images, f0=f0)
    assert out.flags.c_contiguous and out.dtype == np.float64
    np.testing.assert_allclose(out, _whiten_reference(images, f0), rtol=1e-10,
                               atol=1e-12 * np.abs(out).max())


def test_progress_argument():
    images = np.random.default_rng(7).standard_normal((2, 32, 32))
    quiet = whiten(images, progress=False)
    np.testing.assert_array_equal(whiten(images, progress=True), quiet)
    np.testing.assert_array_equal(sample_patches(quiet, 8, 50, seed=0, progress=True),
                                  sample_patches(quiet, 8, 50, seed=0, progress=False))
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        whiten(images, progress="yes")
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        sample_patches(quiet, 8, 5, progress=1)


def test_load_images_folder_is_read_into_one_array(tmp_path, peak_memory):
    from stimuli import load_images

    pictures = np.random.default_rng(8).standard_normal((20, 64, 64)).astype(">f4")
    for i, im in enumerate(pictures):
        im.tofile(tmp_path / f"image{i}")
    out, peak = peak_memory(lambda: load_images(tmp_path, progress=False))
    np.testing.assert_array_equal(out, pictures.astype(np.float64))
    # the output and one file being read, not a list of images and then their stack
    assert peak <= 1.5 * out.nbytes, f"peak {peak / out.nbytes:.2f}x the output"


@pytest.mark.filterwarnings("ignore:.*the images differ in size")  # small on purpose
def test_load_images_folder_of_unequal_sizes(tmp_path):
    from skimage.io import imsave

    from stimuli import load_images
    from stimuli.images import _square

    written = [(np.random.default_rng(i).random((40 + 8 * (i == 1), 50)) * 255).astype(np.uint8)
               for i in range(3)]
    for i, im in enumerate(written):
        imsave(tmp_path / f"p{i}.png", im)
    out = load_images(tmp_path, progress=True)
    # sizes differ: every picture is squared to the default 256 pixels, as before
    np.testing.assert_array_equal(out, np.stack([_square(im / 255, 256) for im in written]))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_load_images_of_an_array_copies_it_once(dtype, peak_memory):
    """load_images(array) returns its own float64 stack: one copy, not a float64
    conversion and then a copy of that (2x the output at its peak)."""
    from stimuli import load_images

    stack = (np.random.default_rng(2).random((4, 128, 128)) * 255).astype(dtype)
    images, peak = peak_memory(lambda: load_images(stack))
    assert images.dtype == np.float64 and not np.shares_memory(images, stack)
    white = 255.0 if dtype == np.uint8 else 1.0  # integer pixels are scaled as a file's
    np.testing.assert_array_equal(images, stack.astype(np.float64) / white)
    assert peak <= 1.2 * images.nbytes, f"peak {peak / images.nbytes:.2f}x the output"


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_sample_patches_does_not_copy_float32_or_uint8_pictures_to_float64(dtype, peak_memory):
    """The whole stack was converted to float64 first: a float32 corpus (or a float32
    memmap of one) doubled in memory, a uint8 one grew 8x, before any patch was cut.
    Blocks are converted as they are cut out, giving the same patches."""
    rng = np.random.default_rng(2)
    images = (rng.random((16, 256, 256)) * 255).astype(dtype)  # 1 or 4 MB
    X, peak = peak_memory(lambda: sample_patches(images, 16, 1000, seed=0))
    assert X.dtype == np.float64
    # a float64 copy of the pictures is 8 MB, 4x the 2 MB of patches
    assert peak <= 3 * X.nbytes, f"peak {peak / X.nbytes:.2f}x the output"
    np.testing.assert_array_equal(X, sample_patches(images.astype(np.float64), 16, 1000, seed=0))
    Xn = sample_patches(images, 16, 1000, seed=0, normalize=True, dtype=np.float32)
    np.testing.assert_array_equal(
        Xn, sample_patches(images.astype(np.float64), 16, 1000, seed=0, normalize=True,
                           dtype=np.float32))


def _silent_gaps_noise():
    """Gaussian noise with silences (the last 250 of every 400 samples), three lengths."""
    g = np.random.default_rng(11)
    return [g.standard_normal(n) * (np.arange(n) % 400 < 150) for n in (5000, 700, 9000)]


@_REPEATS
@pytest.mark.parametrize("filters", [{}, {"min_rms": 0.5, "normalize": True}])
def test_sample_segments_peak_memory_is_close_to_the_output(filters, peak_memory):
    """The 2 n candidates of a round were stacked at once (and again when kept, and
    concatenated at the end): 500,000 segments of 64 samples of the spoken digits
    peaked at 1.18 GB for their 256 MB (~4.6x). Blocks are written into X in place."""
    from stimuli.audio import sample_segments

    waves = _silent_gaps_noise()
    X, peak = peak_memory(lambda: sample_segments(waves, 256, 20000, seed=0, **filters))
    assert X.shape == (20000, 256) and X.dtype == np.float64
    assert peak <= 1.5 * X.nbytes, f"peak {peak / X.nbytes:.2f}x the output"


@_REPEATS
@pytest.mark.parametrize(
    ("seed", "first", "last", "next_draw"),
    [
        (0, [(2, 2208), (2, 7922), (0, 1105)], [(2, 3181), (0, 1813)], 0.32921597890166765),
        (3, [(0, 1162), (2, 10942), (2, 6977)], [(2, 2591), (2, 7699)], 0.6760732708682661),
    ],
)
def test_sample_segments_same_positions_as_before(seed, first, last, next_draw):
    """Sample value k * 100000 + t: a segment's first value tells where it was cut. The
    positions (and the generator's state after the call) of the implementation that
    stacked all candidates at once: a seed keeps giving the same segments."""
    from stimuli.audio import sample_segments

    waves = [k * 100000 + np.arange(n, dtype=float) for k, n in enumerate((3000, 500, 12000,
                                                                          40))]
    rng = np.random.default_rng(seed)
    X = sample_segments(waves, 32, 40000, seed=rng)  # several blocks; waveform 3 too short

    def where(values):
        return [(int(v) // 100000, int(v) % 100000) for v in values]

    assert where(X[:3, 0]) == first
    assert where(X[[-1, 23456], 0]) == last
    np.testing.assert_array_equal(X, X[:, :1] + np.arange(32))  # contiguous windows
    assert rng.random() == next_draw


@_REPEATS
@pytest.mark.parametrize(
    ("seed", "filters", "head", "abs_sum", "weighted_sum", "next_draw"),
    [
        (0, {"min_rms": 0.5},
         [[1.1509695848821304, -1.495066407318247], [-0.655390970988853, -0.9414599908020488]],
         537640.1919569543, 98795.55749079837, 0.5050847090524979),
        (1, {"normalize": True},
         [[-0.8356442574281289, 0.41248034653892046], [0.0, 0.0]],
         533538.0965882074, 82772.3206734519, 0.44066055840724927),
        (2, {"min_rms": 0.8, "normalize": True},
         [[1.4393139418816292, 1.2101669073859231], [0.0, 0.0]],
         571733.1832837113, 85016.85460631426, 0.38230274479941195),
    ],
)
def test_sample_segments_with_filters_same_as_before(seed, filters, head, abs_sum,
                                                     weighted_sum, next_draw):
    # rejected segments are drawn again in rounds: the same rounds as before
    from stimuli.audio import sample_segments

    rng = np.random.default_rng(seed)
    X = sample_segments(_silent_gaps_noise(), 24, 30000, seed=rng, **filters)
    np.testing.assert_allclose(X[:2, :2], head, rtol=1e-12)
    np.testing.assert_allclose(np.abs(X).sum(), abs_sum, rtol=1e-9)
    np.testing.assert_allclose((X * np.arange(24)).sum(), weighted_sum, rtol=1e-9)
    assert rng.random() == next_draw


@pytest.mark.parametrize(("dtype", "fit"), [(np.float64, 512), (np.float32, 1024)])
def test_sample_patches_refuses_more_than_the_memory(monkeypatch, dtype, fit):
    """NumPy's own "Unable to allocate 18.2 PiB" named no argument."""
    import v1model.validation

    images = np.zeros((2, 64, 64))
    with pytest.raises(ValueError, match=r"n=10000000000000 patches of size=16 \(256 float64 "
                                         r"values each\) would take 2\.048e\+16 bytes"):
        sample_patches(images, 16, 10**13)
    # the bound is the machine's memory: 1 MiB holds 512 patches of 16x16 float64 values
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    assert sample_patches(images, 16, fit, seed=0, dtype=dtype).shape == (fit, 256)
    nbytes = re.escape(f"{(fit + 1) * 256 * np.dtype(dtype).itemsize:.4g}")
    with pytest.raises(ValueError, match=rf"n={fit + 1} patches .* {nbytes} bytes .* \(at most "
                                         rf"{fit} would fit\)"):
        sample_patches(images, 16, fit + 1, seed=0, dtype=dtype)


@_REPEATS
def test_sample_segments_refuses_more_than_the_memory(monkeypatch):
    import v1model.validation
    from stimuli.audio import sample_segments

    wave = np.random.default_rng(0).standard_normal(1000)
    with pytest.raises(ValueError, match=r"n=10000000000000 segments of length=64 .* 5\.12e\+15 "
                                         r"bytes"):
        sample_segments(wave, 64, 10**13)
    # the bound is the machine's memory: 1 MiB holds 2048 segments of 64 float64 samples
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    assert sample_segments(wave, 64, 2048, seed=0).shape == (2048, 64)
    with pytest.raises(ValueError, match=r"n=2049 .* \(at most 2048 would fit\)"):
        sample_segments(wave, 64, 2049, seed=0)


def test_sample_segments_words_its_min_rms_error_in_bounded_memory(peak_memory):
    """The RMS of the loudest segment, said in the error, took three float64 copies of
    each waveform (4.8 GB for an hour-long recording of 2 * 10**8 samples)."""
    from stimuli.audio import sample_segments

    wave = np.full(10**6, 1e-3)  # 8 MB
    wave[500_000:500_064] = 2e-3  # the loudest segment of 64 samples: RMS 2e-3
    pattern = r"with RMS >= 1\.0; lower min_rms below 0\.002, the RMS of the loudest segment"

    def refused():
        with pytest.raises(ValueError, match=pattern):
            sample_segments([wave], 64, 10, seed=0, min_rms=1.0)

    _, peak = peak_memory(refused)
    assert peak < 4e6, f"peak {peak / 1e6:.1f} MB"  # was 16 MB, now 2 MB


@pytest.mark.parametrize(("n_samples", "length", "block"),
                         [(10, 10, 3), (10, 1, 3), (1000, 7, 16), (1000, 300, 16),
                          (1000, 999, 7), (17, 5, 1)])
def test_loudest_rms_taken_in_blocks_is_that_of_every_segment(n_samples, length, block):
    from stimuli.audio import _loudest_rms

    rng = np.random.default_rng(n_samples + length)
    wave = rng.standard_normal(n_samples) * np.exp(rng.standard_normal(n_samples))
    # every segment's RMS, from its own samples
    segments = np.lib.stride_tricks.sliding_window_view(wave, length)
    reference = np.sqrt(np.mean(np.square(segments), axis=1)).max()
    np.testing.assert_allclose(_loudest_rms(wave, length, 1.0, block), reference, rtol=1e-12)
    np.testing.assert_allclose(_loudest_rms(wave * 2.0**-600, length, 2.0**-600, block),
                               reference * 2.0**-600, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_whiten_does_not_copy_a_float32_or_integer_memmap(tmp_path, dtype, peak_memory):
    """A float32 (or 8-bit) stack is read block by block into the float64 output:
    no float64 copy of the whole stack beside it (before: 2.1x the output), and
    the output of the same images as float64."""
    rng = np.random.default_rng(3)
    values = rng.standard_normal((64, 128, 128)).cumsum(axis=2)
    if dtype == np.uint8:
        values = np.clip(values * 5 + 128, 0, 255)
    images = np.memmap(tmp_path / "images.raw", dtype=dtype, mode="w+", shape=values.shape)
    images[:] = values
    out, peak = peak_memory(lambda: whiten(images))
    assert peak <= 1.5 * out.nbytes, f"peak {peak / out.nbytes:.2f}x the output"
    np.testing.assert_array_equal(out, whiten(np.asarray(images, dtype=np.float64)))


@pytest.mark.parametrize("call, match", [
    (lambda: __import__("stimuli").pink_noise(10**12, 16), r"n_images=1000000000000 images"),
    (lambda: __import__("stimuli").dead_leaves(10**12, 16), r"n_images=1000000000000 images"),
    (lambda: __import__("stimuli").white_noise(10**12, 8), r"n=1000000000000 images of 8x8"),
    (lambda: __import__("stimuli").sparse_noise(10**12, 8), r"n=1000000000000 images of 8x8"),
    (lambda: __import__("stimuli.audio").audio.harmonic_ensemble(10**12, 64),
     r"n=1000000000000 sounds of length=64"),
    (lambda: __import__("stimuli").drifting_grating(8, 0.3, 0.1, 2.0, 1e12, 10.0),
     r"duration \* frame_rate=10000000000000.0 frames of 8x8"),
])
def test_stimulus_generators_refuse_more_than_the_memory(call, match):
    """NumPy's "Unable to allocate 466 TiB" (or, for the frames of a drifting grating,
    "Maximum allowed size exceeded") named no argument."""
    with pytest.raises(ValueError, match=match + r".* would take .* more than the"):
        call()


def test_stimulus_generators_bound_is_the_memory(monkeypatch):
    import v1model.validation
    from stimuli import pink_noise, white_noise

    # 1 MiB holds 2048 images of 8x8 float64 pixels
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    assert white_noise(2048, 8, seed=0).shape == (2048, 8, 8)
    with pytest.raises(ValueError, match=r"n=2049 .* \(at most 2048 would fit\)"):
        white_noise(2049, 8, seed=0)
    with pytest.raises(ValueError, match=r"n_images=2049 .* \(at most 2048 would fit\)"):
        pink_noise(2049, 8, seed=0)
