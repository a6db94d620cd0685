"""stimuli.splits: training and held-out parts of images that share no pixel."""

import numpy as np
import pytest
import xarray as xr

from stimuli import sample_patches, split_images


def _pixel_ids(n_images=3, height=20, width=24):
    """Images whose every pixel holds its own index: a patch names the pixels it holds."""
    return np.arange(n_images * height * width, dtype=float).reshape(n_images, height, width)


def _every_patch(images, size, border):
    """The pixel ids of every patch position (each position's patch, exactly once)."""
    win = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    h, w = images.shape[1:]
    return win[:, border:h - border - size + 1, border:w - border - size + 1].reshape(
        -1, size * size)


# border=4: 200 draws of the training part's 27 positions (every draw must lie among them)
@pytest.mark.filterwarnings("ignore:n=[0-9]+ patches exceed the [0-9]+ distinct:UserWarning")
@pytest.mark.parametrize("border, fraction", [(0, 0.25), (1, 0.25), (4, 0.5)])
def test_no_held_out_patch_shares_a_pixel_with_any_training_patch(border, fraction):
    images = _pixel_ids()
    train, held_out = split_images(images, fraction, patch_size=4, border=border)
    # every position of either part, not a sample: the property holds for any draw
    train_pixels = set(_every_patch(train, 4, border).ravel())
    held_pixels = set(_every_patch(held_out, 4, border).ravel())
    assert train_pixels.isdisjoint(held_pixels)
    # the draws of sample_patches are among those positions
    X = sample_patches(train, 4, 200, seed=0, border=border)
    X_eval = sample_patches(held_out, 4, 20, seed=1, border=border)
    assert set(X.ravel()) <= train_pixels and set(X_eval.ravel()) <= held_pixels
    assert set(X.ravel()).isdisjoint(X_eval.ravel())
    # every image gives both parts (the same scenes): image index = id // (20 * 24)
    assert set(X_eval.ravel() // 480) == {0, 1, 2} == set(X.ravel() // 480)


# 50 patches of the held-out part's 45 positions: repeats among them do not matter here
@pytest.mark.filterwarnings("ignore:n=[0-9]+ patches exceed the [0-9]+ distinct:UserWarning")
def test_the_same_images_drawn_twice_share_pixels_and_copies():
    """The reference the split is for: drawing twice from the whole images (what the
    studies did) gives evaluation patches that are exact copies of training ones."""
    images = _pixel_ids()
    X = sample_patches(images, 4, 500, seed=0, border=1)
    X_eval = sample_patches(images, 4, 50, seed=1, border=1)
    assert len({r.tobytes() for r in X} & {r.tobytes() for r in X_eval}) > 0
    train, held_out = split_images(images, 0.25, patch_size=4, border=1)
    X = sample_patches(train, 4, 500, seed=0, border=1)
    X_eval = sample_patches(held_out, 4, 50, seed=1, border=1)
    assert not {r.tobytes() for r in X} & {r.tobytes() for r in X_eval}


@pytest.mark.parametrize("fraction, n_held", [(0.25, 6), (0.2, 5), (0.5, 12), (0.01, 1),
                                              (0.99, 23)])
def test_the_right_columns_are_held_out_as_views(fraction, n_held):
    images = _pixel_ids()
    train, held_out = split_images(images, fraction)
    np.testing.assert_array_equal(held_out, images[:, :, 24 - n_held:])
    np.testing.assert_array_equal(train, images[:, :, :24 - n_held])
    # views: no copy of a corpus
    assert np.shares_memory(train, images) and np.shares_memory(held_out, images)


def test_one_picture_and_a_dataarray_by_dim_names():
    images = _pixel_ids(1)
    train, held_out = split_images(images[0], 0.25)
    assert train.shape == (1, 20, 18) and held_out.shape == (1, 20, 6)
    # (y, x, image) read by its dim names, as sample_patches reads it
    da = xr.DataArray(np.moveaxis(_pixel_ids(), 0, -1), dims=("y", "x", "image"))
    train, held_out = split_images(da, 0.25)
    np.testing.assert_array_equal(held_out, _pixel_ids()[:, :, 18:])


@pytest.mark.parametrize("fraction, error, match", [
    (0, ValueError, r"held_out_fraction must be in \(0, 1\), got 0"),
    (1.0, ValueError, r"held_out_fraction must be in \(0, 1\), got 1.0"),
    (float("nan"), ValueError, "held_out_fraction must be in"),
    (True, TypeError, "held_out_fraction"),
    ("0.2", TypeError, "held_out_fraction"),
])
def test_bad_fractions_are_named(fraction, error, match):
    with pytest.raises(error, match=match):
        split_images(_pixel_ids(), fraction)


def test_parts_too_narrow_for_the_patches_name_the_fraction_and_the_size():
    with pytest.raises(ValueError, match=r"held_out_fraction=0.1 leaves the held-out part of "
                       r"images 20x24 \(height x width\) 2 columns wide: patch_size=4 with "
                       r"border=1 does not fit"):
        split_images(_pixel_ids(), 0.1, patch_size=4, border=1)
    with pytest.raises(ValueError, match="held_out_fraction=0.9 leaves the training part"):
        split_images(_pixel_ids(), 0.9, patch_size=4, border=1)
    with pytest.raises(ValueError, match="patch_size must be >= 1, got 0"):
        split_images(_pixel_ids(), 0.25, patch_size=0)
    with pytest.raises(ValueError, match="border must be >= 0, got -1"):
        split_images(_pixel_ids(), 0.25, patch_size=4, border=-1)
    with pytest.raises(ValueError, match="1 pixel wide: nothing to cut"):
        split_images(np.zeros((2, 8, 1)), 0.5)


def test_a_colour_picture_is_refused():
    with pytest.raises(ValueError, match="images"):
        split_images(np.zeros((32, 32, 3)), 0.25)
