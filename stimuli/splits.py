"""Training and held-out parts of the same images, sharing no pixel.

Patches drawn at random from the same pictures twice are not held out: 2,000
evaluation patches of 16x16 drawn after 50,000 training ones from the ten embedded
photographs (256x256, whitened) held 149 exact copies of training patches, and many
more overlapped one by all but a row. :func:`split_images` cuts every picture in two
instead, so that patches drawn from one part share no pixel with any from the other.
"""

from __future__ import annotations

from v1model.validation import check_int, check_probability

from .images import _image_stack, _refuse_colour, check_patch_size

__all__ = ["split_images"]


def split_images(images, held_out_fraction: float = 0.2, *, patch_size: int | None = None,
                 border: int = 4):
    """Cut every image into a training part and a held-out part, side by side.

    The held-out part is the right ``held_out_fraction`` of the columns of every
    image, the training part the rest: every picture gives both, so that the
    evaluation patches come from the same scenes (the same ensemble) as the
    training ones, yet no patch of one part shares a pixel with a patch of the
    other. A vertical cut, not a horizontal one: natural scenes change from top
    to bottom (sky above, ground below) but not, on average, from left to right,
    and a whole held-out picture of ten (Olshausen's set, the embedded one)
    would be one scene's statistics.

    Parameters
    ----------
    images : array_like, shape (n_images, height, width) or (height, width)
        Pictures, whitened already if they are to be: :func:`~stimuli.whiten`
        filters a whole picture, so whiten first and cut after (the filter, a few
        pixels wide, still correlates the columns either side of the cut; the
        ``border`` of :func:`~stimuli.sample_patches` leaves ``2 * border``
        columns between the two parts' patches). A DataArray is read by dim name
        as in :func:`~stimuli.sample_patches`.
    held_out_fraction : float, default 0.2
        Fraction of every image's columns held out, in (0, 1); rounded to whole
        columns, at least one each side.
    patch_size : int, optional
        When given, both parts are checked to fit a patch of this side with
        ``border`` (:func:`~stimuli.images.check_patch_size`), so that a split
        too narrow fails here, naming ``held_out_fraction``.
    border : int, default 4
        The ``border`` the patches will be drawn with (only read with
        ``patch_size``).

    Returns
    -------
    train : ndarray, shape (n_images, height, width - n_held_out)
        The left columns of every image (a view, no copy).
    held_out : ndarray, shape (n_images, height, n_held_out)
        The right ``n_held_out = round(held_out_fraction * width)`` columns (a
        view).

    Raises
    ------
    ValueError
        For ``held_out_fraction`` outside (0, 1), images one pixel wide (nothing
        to cut), or, with ``patch_size``, a part in which such patches do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from stimuli import sample_patches, split_images
    >>> images = np.random.default_rng(0).standard_normal((2, 64, 64))
    >>> train, held_out = split_images(images, 0.25, patch_size=8)
    >>> train.shape, held_out.shape
    ((2, 64, 48), (2, 64, 16))
    >>> X_eval = sample_patches(held_out, 8, 50, seed=0)  # 98 positions: none a training one
    """
    _refuse_colour(images, "images")
    images = _image_stack(images, keep_dtype=True)
    held_out_fraction = check_probability(held_out_fraction, "held_out_fraction")
    border = check_int(border, "border", minimum=0)
    n_img, h, w = images.shape
    if w < 2:
        raise ValueError(f"images of shape {images.shape} (n_images, height, width) are "
                         f"{w} pixel wide: nothing to cut into a training and a held-out part")
    n_held = min(max(1, round(held_out_fraction * w)), w - 1)
    train, held_out = images[:, :, : w - n_held], images[:, :, w - n_held :]
    if patch_size is not None:
        patch_size = check_int(patch_size, "patch_size", minimum=1)
        for part, cols in (("training", w - n_held), ("held-out", n_held)):
            try:
                check_patch_size(patch_size, (h, cols), border, name="patch_size")
            except ValueError as exc:
                raise ValueError(
                    f"held_out_fraction={held_out_fraction:g} leaves the {part} part of "
                    f"images {h}x{w} (height x width) {cols} columns wide: {exc}; choose a "
                    "held_out_fraction nearer 0.5, a smaller patch_size or border, or larger "
                    "images") from None
    return train, held_out
