"""The held-out part of the images, where the image studies draw their evaluation
patches: none shares a pixel with a training patch (drawn twice from the same
pictures, 149 of 2,000 evaluation patches of 16x16 were copies of training ones)."""

from __future__ import annotations

__all__ = ["HELD_OUT_FRACTION", "held_out_split"]

#: fraction of every image's columns (the right ones) that only evaluation patches
#: come from (:func:`stimuli.split_images`)
HELD_OUT_FRACTION = 0.2


def held_out_split(imgs, patch_size: int, border: int = 4, n_eval: int | None = None,
                   n_eval_name: str = "n_eval"):
    """``(train, held_out, attrs)``: ``imgs`` cut by :func:`stimuli.split_images` into
    the part the study trains on and the part its evaluation patches come from, and the
    attrs that say so (``held_out``, ``held_out_fraction``). The held-out part is
    :data:`HELD_OUT_FRACTION` of the columns, or one patch with its borders wide when
    that is more (64x64 pictures: 16 of 64 columns for 8x8 patches), or, given
    ``n_eval`` (the study's count of evaluation patches, its parameter ``n_eval_name``),
    as many columns as hold ``n_eval`` distinct patch positions, up to half the columns
    (ten 64x64 pictures: 16 columns hold 490 positions of 8x8 patches, 20 hold the 2,000
    of a quick olshausen-field-1996 run); beyond half, :func:`stimuli.sample_patches`
    warns of the repeats. ``patch_size`` (checked against the whole images by the study)
    is named when the pictures are too narrow for a patch in each part."""
    from stimuli import split_images

    n_img, h, w = imgs.shape
    need = patch_size + 2 * border  # the columns of one patch with its borders
    if 2 * need > w:
        raise ValueError(
            f"patch_size={patch_size} with border={border} ({need} columns) does not fit "
            f"twice side by side in images {h}x{w} (height x width): the evaluation patches "
            "come from columns of their own, so that none shares a pixel with a training "
            f"patch; give a smaller patch_size or images at least {2 * need} pixels wide")
    default = round(HELD_OUT_FRACTION * w)
    columns = max(default, need)
    widened = ""
    rows = n_img * (h - need + 1)  # positions in each column of patch positions
    if n_eval is not None and rows > 0 and n_eval > rows * (columns - need + 1):
        # drawn with replacement, n_eval patches from fewer positions are certainly
        # repeats (a quick olshausen-field-1996 run on ten 64x64 pictures evaluated 2,000
        # patches from 490 positions): widen, keeping at least half the columns to train on
        wanted = need - 1 + -(-n_eval // rows)
        columns = min(wanted, w // 2)
        widened = (f" (widened to hold the {n_eval_name}={n_eval} evaluation patches at "
                   "distinct positions)" if columns == wanted else
                   f" (widened to half of them for the {n_eval_name}={n_eval} evaluation "
                   "patches, which still exceed the distinct positions there)")
    fraction = columns / w
    train, held_out = split_images(imgs, fraction, patch_size=patch_size, border=border)
    attrs = {
        "held_out": (f"evaluation patches from the right {held_out.shape[2]} of the {w} "
                     f"columns of every image{widened}, training patches from the left "
                     f"{train.shape[2]} (stimuli.split_images): none shares a pixel with a "
                     "training patch"),
        "held_out_fraction": held_out.shape[2] / w if columns > default
        else HELD_OUT_FRACTION,
    }
    return train, held_out, attrs
