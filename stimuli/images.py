"""Natural images: embedded photographs, loaders, whitening and patches.

Images are float arrays of shape ``(n_images, height, width)``. Nothing is
downloaded: the default set is made of the photographs that scikit-image ships
inside its own package; bigger corpora are read from a path the user gives.
"""

from __future__ import annotations

import contextvars
import functools
import numbers
import os
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from stimuli._natural_order import natural_key
from v1model._frames import user_stacklevel
from v1model.scaling import pow2_scale
from v1model.progress import check_progress, progress_bar
from v1model.validation import (
    array_shape,
    as_generator,
    by_dim_names,
    check_array,
    check_bool,
    check_dtype,
    check_fits_in_memory,
    check_int,
    check_nonnegative,
    check_path,
    check_positive,
    complex_data_error,
    describe,
    memory_exceeded,
)

__all__ = ["SKIMAGE_SCENES", "load_images", "whiten", "sample_patches", "check_patch_size",
           "whitening_filter", "is_prewhitened", "load_whitened", "image_source_path"]

#: Natural scenes among the photographs bundled with scikit-image (file names
#: inside ``skimage/data``). Objects, animals, people, textures and outdoor
#: scenes; no synthetic test pictures.
SKIMAGE_SCENES = (
    "camera.png",
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "grass.png",
    "gravel.png",
    "brick.png",
    "motorcycle_left.png",
    "moon.png",
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pgm")
#: picture formats that are not read: a folder's files of these are warned of, not skipped
UNREAD_PICTURE_SUFFIXES = (".gif", ".webp", ".ppm", ".pnm", ".pbm", ".jp2", ".heic", ".heif",
                           ".avif", ".jxl", ".ico", ".psd", ".dng", ".cr2", ".nef", ".arw",
                           ".exr", ".hdr", ".svg")
MAT_KEYS = ("IMAGES", "IMAGESr", "IMAGES_RAW")

# temporaries are bounded by working in blocks: of at most this many bytes of float64
# patches (and at most 2**16 patches) in sample_patches, of about this many pixels in whiten
_PATCH_BLOCK_BYTES = 2**23
_WHITEN_BLOCK_PIXELS = 2**14


def load_images(source="skimage", size: int | None = None, max_images: int | None = None,
                *, name: str = "source", progress: bool | None = None):
    """Load a set of grayscale natural images as ``(n_images, height, width)``.

    Parameters
    ----------
    source : str, path, array_like or list of paths and arrays, default "skimage"
        ``"skimage"``: the natural photographs of :data:`SKIMAGE_SCENES`
        (ten) that the installed scikit-image bundles, centre-cropped to
        squares and resized to ``size`` (default 256) pixels; those a version
        lacks are warned of by name (none at all is an error), and so are
        those a ``size`` above their shorter side enlarges (interpolated
        pixels; the smallest, chelsea.png, has 300: ``size=1024`` enlarges it
        3.4x), naming the most enlarged.
        A path to a ``.mat`` file in Olshausen's format (``IMAGES.mat`` or
        ``IMAGES_RAW.mat``: key ``IMAGES`` or ``IMAGESr``, shape
        (height, width, n_images), MATLAB's layout). A shape that reads as
        pictures that are not square and at least as many as the pixels of
        their shorter side (``n_images >= min(height, width)``, e.g. a stack
        ``(10, 64, 128)`` saved from Python, read as 128 pictures of
        10 x 64; never Olshausen's 512 x 512 x 10) is warned of: pass such
        a stack as the array ``scipy.io.loadmat(path)[key]`` instead.
        A folder of raw sparsenet files (``image0`` ... ``image9``: headerless
        big-endian float32 squares, as distributed with the first sparsenet),
        or one such file (a file named ``image...`` without a suffix, as a
        folder's raw files are told).
        A folder of image files (PNG, JPEG, TIFF, BMP, PGM), or one such
        file. A folder holding a single ``.mat`` file reads that file (one
        holding pictures too reads the pictures, with a warning, as does a
        folder of sparsenet raw files that holds pictures too). Subfolders
        are not read: a folder without images is refused saying what files
        it holds and naming its subfolders that hold images (Olshausen's
        ``images/`` beside ``A144.mat``, his basis).
        An array of shape (n_images, height, width) or (height, width):
        floats are kept as they are; integer pixels are scaled as a picture
        file's are (see Returns: ``uint8`` divided by 255, ``uint16`` by
        65535); 64-bit integers, which no picture file has, are refused.
        An array (height, width, 3) or (height, width, 4) with height and
        width both at least 16 (:data:`COLOUR_MIN_SIDE`) is one RGB or RGBA
        picture, channels last (as image readers give it), converted to gray
        as a picture file's colours are (its integer pixels scaled first as
        above; a float alpha channel must lie in [0, 1]); a float one is
        warned of, as ``scipy.io.loadmat`` gives a ``.mat`` stack of 3 or 4
        pictures in that shape. A smaller one, such as (5, 64, 3), is a
        stack of 5 pictures of 64 x 3 pixels.
        A PIL image is read as its file would be (colour, palette and CMYK
        pictures in gray, turned by its EXIF orientation).
        A list (or tuple) of pictures, each a path to an image file, a PIL
        image or a 2-D array (height, width) scaled as such an array is: read as a
        folder's files are, sizes included (see ``size``); another item (a
        folder, a ``.mat`` file, a 3-D array) is refused, naming its index
        and shape.
    size : int, optional
        Side of the square every image is centre-cropped and resized to, in
        pixels (at least 8).
        Default: 256 for ``"skimage"`` and for folders or lists of images of
        unequal sizes (with a warning when some are enlarged more than 2x);
        otherwise images are kept as they are (sparsenet raw files of
        unequal sizes need ``size``). A ``size`` above a picture's shorter side
        enlarges it (interpolated pixels, with no detail above its own
        resolution): warned of for every source alike, photographs, folders,
        files, lists, arrays, PIL images and ``.mat`` files, naming the most
        enlarged picture (until 2026-12-08 only ``"skimage"`` warned).
        Resizing whitened pictures (Olshausen's:
        key ``IMAGES`` or sparsenet raw files, with negative pixels) takes away
        the high frequencies their whitening flattened: it is warned of here
        (that warning, not the enlargement's), and :func:`load_whitened`
        refuses it.
    max_images : int, optional
        Keep only the first ``max_images`` images (of a folder or a list, only
        the first ``max_images`` are read: whether their sizes differ is
        judged among those). A folder's images come in the natural order of
        their file names, numbers compared as numbers: ``img2.png`` before
        ``img10.png`` (the order of plain text, before 2026-12-07, put
        ``img10.png`` first), sparsenet raw files ``image2`` before
        ``image10``; and letters in either case alike, ``img_1.png`` before
        ``IMG_2.png``, names that differ only in case in the order of plain
        text (``IMG_1.png`` before ``img_1.png``). Until 2026-12-08 upper-case
        names all came first: for a folder of names in both cases, the
        images kept, and what a seed draws from them (patches, results), are
        not those of earlier versions.
    name : str, default "source"
        The caller's name of ``source`` (e.g. ``"images"``), used in messages.
    progress : bool or None, default None
        A tqdm bar while the files of a folder are read: None once the call
        has run 2 s (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    images : ndarray, shape (n_images, height, width), float64
        Grayscale intensities (photographs, and unsigned integer arrays and
        ``.mat`` pixels, in [0, 1]; raw files, and float arrays and ``.mat``
        pixels, as stored). Colour
        is converted as :func:`skimage.color.rgb2gray` does, 0.2125 R +
        0.7154 G + 0.0721 B, after transparency (an alpha channel, or a
        PNG's transparent colour) is composited onto white: a fully
        transparent pixel is 1. Integer pixels (of a picture file, an
        array or a ``.mat`` file) are divided by their type's largest value (255 for 8 bits,
        65535 for 16 bits; 16-bit colour PNGs, RGB, RGBA or gray + alpha, are
        read at 8 bits, as Pillow reads them, with a warning, and a 16-bit
        RGB one's transparent colour, which cannot be told at 8 bits, is not
        applied: 16-bit TIFFs and 16-bit gray PNGs are read whole); 32-bit
        integer pixels (Pillow's mode ``"I"``, e.g. a 16-bit camera's data
        saved as a 32-bit TIFF) by 65535 when they all lie in [0, 65535],
        else, like every integer type, by their type's largest value, as
        scikit-image's ``img_as_float`` does: 2**31 - 1 for ``int32`` and
        2**32 - 1 for ``uint32`` (Pillow and imageio give the raw integers).

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    RuntimeError
        For ``"skimage"`` when scikit-image ships none of :data:`SKIMAGE_SCENES`.
    ValueError
        For a ``.mat`` file without an ``IMAGES``/``IMAGESr``/``IMAGES_RAW`` key
        (the message names the keys it holds) or with complex pixels (a
        :class:`~v1model.validation.ComplexDataError`, as for a complex
        array), an unreadable file or folder, an
        array that is not 2-D or 3-D or of 64-bit integers (in a ``.mat`` file
        too), an empty one, ``size < 8``, ``max_images < 1``, images with NaN or
        inf, sparsenet raw files of unequal sizes without ``size``, or a list
        item that is not a picture file or a 2-D array.
    """
    if size is not None:
        size = check_int(size, "size", minimum=8)
    if max_images is not None:
        max_images = check_int(max_images, "max_images", minimum=1)
    progress = check_progress(progress)
    where = describe(source)  # for the NaN message: an array's shape and dtype
    where_path = None  # the path read, if any
    if isinstance(source, str) and source == "skimage":
        images = _load_skimage(size or 256, name)
    elif isinstance(source, (str, os.PathLike)):  # os.scandir's entries, py.path too
        path = where_path = image_source_path(source, name)
        where = repr(str(path))  # whole: describe() cut long paths at 60 characters
        if path.is_dir():
            images = _load_folder(path, size, name, progress, max_images)
        elif path.suffix.lower() == ".mat":
            try:
                images = _load_mat(path, name)
            except _NoImagesKey as exc:  # A144.mat (a basis) beside Olshausen's images/
                raise ValueError(f"{exc}{_pictures_nearby(path.parent, path)}") from None
        elif _is_raw_file(path):
            images = _read_checked_raw(path, name)[None]
        else:
            images = _read_image_files([path], size, name, progress)
    elif _is_picture_list(source):
        images = _read_picture_list(source[:max_images], size, name, progress)
    else:
        images = _array_images(source, name)
    if max_images is not None:
        images = images[:max_images]
    if size is not None and images.shape[1:] != (size, size):
        # an array's, a .mat file's or a raw file's pictures (those of picture files and
        # folders are squared, and warned of, as they are read: _read_pictures)
        warned = (where_path is not None and min(images.shape[1:]) != size
                  and images.min() < 0 and is_prewhitened(where_path)
                  and _warn_resizing_whitened(name, size, images.shape[1:], where_path))
        if not warned:  # that warning says what resizing whitened pictures costs
            _warn_enlarged(f"{name}:", size, [images.shape[1:]] * len(images),
                           of="" if where_path is None else f" of {str(where_path)!r}")
        squares = np.empty((len(images), size, size))
        for i, im in enumerate(images):
            squares[i] = _square(im, size)
        images = squares
    images = np.ascontiguousarray(images, dtype=np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} {where}: images contain NaN or inf")
    return images


def _array_images(source, name="source"):
    """An array given to :func:`load_images` as float64 ``(n_images, height, width)``, the
    caller's to keep; integer pixels scaled as those of a picture file are.

    A uint8 array of a photograph (``np.asarray(PIL.Image.open(f))``) came back as
    0-255 while the same file's pixels came back in [0, 1].
    """
    if _is_pil_image(source):
        # read as its file is (it has no dtype to tell its integer pixels by: they came back
        # 0-255); np.asarray of a colour one gave 300 pictures of 400 x 3 pixels, and of a
        # palette one its palette's indices taken for gray levels; a phone's portrait, opened,
        # came out on its side (its EXIF orientation)
        orientation = source.getexif().get(0x0112, 1)
        png = None
        if source.format == "PNG" and getattr(source, "filename", ""):  # opened, as its file
            png = _png_header(source.filename)  # read once, for the warning and the pixels
            _warn_png_read_at_8_bits([source.filename], [png], name)
        source = _to_gray(_exif_oriented(_pil_pixels(source, png), orientation))
    elif not hasattr(source, "dtype") and hasattr(source, "__array_interface__"):
        source = np.asarray(source)
    if _is_colour_array(source, name):
        # read as one picture file's colours are (an image reader's (h, w, 3) array was
        # read as h pictures of w x 3 pixels, with only a layout warning); integer pixels
        # scaled first by the array rule (int32 pixels in [0, 65535] as 16-bit ones)
        if _integer_pixels(source, name):
            pixels = np.asarray(source)
            pixels = pixels / _integer_white(pixels)
            stack_advice = ""
        else:  # numbers, named if not; NaN and inf are named by load_images, after
            pixels = check_array(source, name, ndim=3, finite=False)
            # scipy.io.loadmat gives a .mat stack of 3 or 4 pictures (doubles) in this shape
            stack_advice = (f"; if its last axis counts pictures (scipy.io.loadmat of a .mat "
                            f"file), pass np.moveaxis({name}, -1, 0) or read the file with "
                            "stimuli.load_images(path)")
        kind = "RGB" if pixels.shape[2] == 3 else "RGBA"
        alpha = pixels[:, :, 3] if pixels.shape[2] == 4 else np.zeros(1)
        if not (alpha.min() >= 0 and alpha.max() <= 1):  # NaN too
            # composited onto white by an opacity outside [0, 1]: gray levels past white
            raise ValueError(
                f"{name} has shape {pixels.shape}, read as one RGBA picture, but its alpha "
                f"channel {name}[:, :, 3] spans [{alpha.min():g}, {alpha.max():g}], not "
                f"[0, 1]: scale it to [0, 1], or pass the gray picture (height, width)"
                f"{stack_advice}")
        if stack_advice:
            warnings.warn(
                f"{name} has shape {pixels.shape}, read as one {kind} picture (height, width, "
                f"{pixels.shape[2]}) and converted to gray as a picture file's colours are"
                f"{stack_advice}", UserWarning, stacklevel=user_stacklevel())
        source = _to_gray(pixels)
    if not _integer_pixels(source, name):
        # a copy: the stack is the caller's to keep (and may be read-only or a memmap)
        return _image_stack(source, name, copy=True)
    images = _image_stack(np.asarray(_by_dim_names(source, name)), name, keep_dtype=True)
    return images / _integer_white(images)  # a new float64 array


def _integer_pixels(source, name="source"):
    """Whether ``source`` is an array of integer pixels (scaled by :func:`load_images`);
    raises for 64-bit integers."""
    dtype = getattr(source, "dtype", None)
    if not (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
        return False
    if dtype.itemsize > 4:
        raise _wide_integers(dtype, f"{name} is an array of {dtype.name}",
                             f"pass {name}.astype(float) to keep the values, or e.g. "
                             f"{name}.astype(np.uint8) for 8-bit pixels")
    return True


def _wide_integers(dtype, what, advice) -> ValueError:
    """The refusal of 64-bit integer pixels (``what``: where they are), with ``advice``.
    No picture file has them (np.array of Python ints has): divided by 2**63 - 1 as the
    rule goes, every value would vanish below 1e-13."""
    return ValueError(f"{what}: integer pixels are divided by their type's largest value, as "
                      "a picture file's are (255 for uint8, 65535 for uint16), and no picture "
                      f"file has {dtype.name} pixels; {advice}")


def _integer_white(images):
    """The value of white of integer pixels, by which :func:`load_images` divides them:
    the largest value of their :func:`_pixel_type`."""
    return float(np.iinfo(_pixel_type(images)).max)


def _pixel_type(images):
    """The dtype of pixels ``images`` (any dtype) are scaled as: their own, but uint16 for
    32-bit integer pixels that all lie in [0, 65535] (Pillow's mode "I": 16-bit PGM/PPM, a
    16-bit camera's data saved as a 32-bit TIFF), scaled as 16-bit pictures are, by
    2**16 - 1: by 2**31 - 1 (scikit-image's img_as_float) they came out below 3e-5."""
    dtype = images.dtype
    if (dtype.kind in "iu" and dtype.itemsize == 4 and images.min() >= 0
            and images.max() <= 65535):
        return np.dtype(np.uint16)
    return dtype



def warn_integer_pixels(images, which: str, name: str, value: float, effect: str,
                        below: str | None = None) -> None:
    """Warn that the level ``name=value`` (below 1) is below the step of the integer
    pixels of ``which``, taken as they are, not divided by their white as
    :func:`load_images` divides them (the images' counterpart of
    :func:`stimuli.audio.warn_integer_samples`).

    Parameters
    ----------
    images : array_like
        The integer pixels (a NumPy array or a DataArray): uint8 (white 255),
        uint16 (65535), or another integer type (:func:`_pixel_type`).
    which : str
        The pixels named in the message, e.g. ``"X"``.
    name : str
        The argument given in units of white 1, e.g. ``"lam"``.
    value : float
        Its value (below 1, or below the level ``below`` names).
    effect : str
        What it then does.
    below : str, optional
        What ``value`` is below, for a level other than one step (a squared norm
        summed over an image's pixels); default ``"1, the step of the <dtype>
        pixels of <which>"``.
    """
    images = np.asarray(images)
    white = _integer_white(images)
    if below is None:
        below = f"1, the step of the {images.dtype.name} pixels of {which}"
    warnings.warn(
        f"{name}={value:g} is below {below}, "
        f"which are taken as they are (white {white:g}; load_images divides integer pixels "
        f"by it): {effect}; divide the images by {white:g} (or read them with load_images), "
        f"or give {name} in their units", UserWarning, stacklevel=user_stacklevel())

#: the smallest height and width of an array (height, width, 3 or 4) read as one colour
#: picture: a stack (5, 64, 3), five pictures of 64 x 3 pixels, stays a stack
COLOUR_MIN_SIDE = 16


def _is_colour_array(images, name="images"):
    """Whether ``images`` (array_like, not a DataArray: its dims say what it holds) is one
    colour picture, RGB or RGBA channels last, as image readers give it: its last axis is
    3 or 4 and its other two are both at least :data:`COLOUR_MIN_SIDE` pixels."""
    if hasattr(images, "dims"):
        return False
    shape = array_shape(images, name)  # a ragged list is refused naming the caller's argument
    return len(shape) == 3 and shape[2] in (3, 4) and min(shape[:2]) >= COLOUR_MIN_SIDE


def _refuse_colour(images, name):
    """Refuse one colour picture (see :func:`_is_colour_array`) given where a stack of gray
    pictures is expected, saying how to convert it: read as (n_images, height, width) it
    was 64 pictures of 64 x 3 pixels, and its error spoke of patches not fitting; and a
    list of pictures that is no stack (:func:`_refuse_picture_list`)."""
    _refuse_picture_list(images, name)
    if _is_colour_array(images, name):
        shape = array_shape(images, name)
        channels = "RGB" if shape[2] == 3 else "RGBA"
        raise ValueError(
            f"{name} has shape {shape}, one colour picture (height, width, {shape[2]}: "
            f"{channels} channels last), not a stack of gray pictures (n_images, height, "
            f"width): convert it to grayscale first, e.g. stimuli.load_images({name}) (as a "
            "picture file's colours are) or skimage.color.rgb2gray; if its last axis counts "
            f"pictures (scipy.io.loadmat of a .mat file), pass np.moveaxis({name}, -1, 0)")


def _refuse_picture_list(images, name):
    """Refuse a list or tuple of pictures that is no stack, pointing to :func:`load_images`,
    which reads such a list: pictures of different sizes were told to "cut or pad them to
    one length", as sounds are, and picture files that they were "not a numeric array"."""
    if not _is_picture_list(images):
        return
    if any(isinstance(item, (str, os.PathLike)) for item in images):
        raise TypeError(f"{name} is a {type(images).__name__} of picture files, not an array "
                        f"of pictures: read them with stimuli.load_images({name}) and pass the "
                        "array it returns")
    try:
        shapes = [np.shape(item) for item in images]
    except (TypeError, ValueError):  # ragged inside an item: refused as an array is
        return
    if len(set(shapes)) < 2:  # one stack
        return
    shown = ", ".join(map(str, shapes[:3])) + (", ..." if len(shapes) > 3 else "")
    raise TypeError(
        f"{name} is a {type(images).__name__} of {len(shapes)} pictures of different shapes "
        f"({shown}), not one array (n_images, height, width): read it with "
        f"stimuli.load_images({name}), which centre-crops and resizes them all to 256 x 256 "
        "pixels (size=N: N x N), and pass the array it returns; or cut them to one size")


#: the dims of an image stack (n_images, height, width), by which a DataArray is read
IMAGE_STACK_DIMS = ("image", "y", "x")


def _by_dim_names(images, name):
    """A DataArray naming ``y`` and ``x`` (:data:`IMAGE_STACK_DIMS`) in that order: read by
    position, one with dims (image, x, y) gave transposed patches, unsaid. The pictures'
    dim may be ``sample`` instead of ``image`` (as :mod:`v1model.convolutional` names a
    stack of images): (sample, x, y) was refused, (x, y, image) read."""
    dims = IMAGE_STACK_DIMS
    named = getattr(images, "dims", ()) if getattr(images, "ndim", 0) == 3 else ()
    if "image" not in named and "sample" in named:
        dims = ("sample",) + IMAGE_STACK_DIMS[1:]
    return by_dim_names(by_dim_names(images, ("y", "x"), name), dims, name)


def _image_stack(images, name="images", copy=False, keep_dtype=False):
    """``images`` as a float64 array ``(n_images, height, width)`` (one 2-D picture
    becomes a stack of one), with a warning for the layouts it is often confused with;
    ``copy`` makes it the caller's own even when ``images`` is float64 already;
    ``keep_dtype`` keeps an integer or float16/float32 array as it is (no float64 copy
    of the whole stack: the caller converts what it reads).

    ``scipy.io.loadmat`` gives Olshausen's ``IMAGES.mat`` as (512, 512, 10) and
    image readers give colour as (height, width, 3): taken as they are, these are
    512 pictures of 512 x 10 pixels, and nothing downstream would fail.
    """
    dtype = np.float64
    if keep_dtype and isinstance(images, np.ndarray) and (
            images.dtype.kind in "iu" or images.dtype in (np.float16, np.float32)):
        dtype = images.dtype
    if isinstance(images, (list, tuple)) and not images:
        # [] was refused as an array "of 1 dimension(s) (shape (0,))", its emptiness unsaid
        raise ValueError(f"{name} is an empty {type(images).__name__}: give at least one "
                         "picture")
    images = _by_dim_names(images, name)
    images = check_array(images, name, ndim=(2, 3), dtype=dtype, copy=copy)
    if images.ndim == 2:
        return images[None]
    n, h, w = images.shape
    if w <= 64 and 4 * w <= min(n, h):
        warnings.warn(
            f"{name} has shape {images.shape}, read as {n} pictures of {h} x {w} pixels "
            "(n_images, height, width); if the last axis counts pictures (scipy.io.loadmat of "
            f"Olshausen's IMAGES.mat) or colour channels, pass np.moveaxis({name}, -1, 0) or a "
            "grayscale picture, or read the file with stimuli.load_images(path)",
            UserWarning, stacklevel=user_stacklevel())
    return images


def _square(image, size):
    """Centre-crop to a square and resize to ``size`` x ``size`` (anti-aliased)."""
    from skimage.transform import resize

    h, w = image.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[top : top + s, left : left + s]
    if s == size:
        return crop
    return resize(crop, (size, size), anti_aliasing=s > size, preserve_range=True)


def image_source_path(source, name: str = "source") -> Path:
    """The path ``source`` names, checked without reading it: it exists and is a
    folder, a ``.mat`` file, an image file or a sparsenet raw file (``image0``:
    a name starting with ``image``, no suffix), what :func:`load_images` reads.

    Parameters
    ----------
    source : str or path-like
        The folder or file; ``$VAR`` and ``~`` are expanded
        (:func:`v1model.validation.check_path`).
    name : str, default "source"
        The argument's name in error messages.

    Returns
    -------
    Path
        ``source`` with ``$VAR`` and ``~`` expanded.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    ValueError
        For an empty path, a ``$VAR`` that is not set, or a file that is
        neither a ``.mat``, an image file nor a sparsenet raw file.
    """
    if not str(source).strip():
        # Path("") is the current folder: its pictures, if any, were read unsaid
        raise ValueError(f"{name} is empty ({source!r}); give 'skimage' or a path to images")
    path = check_path(source, name, "file or folder")
    if not path.exists():
        raise FileNotFoundError(
            f"{name}: no such file or folder: {str(path)!r} (expected 'skimage', a .mat "
            "file, a folder of sparsenet raw files or a folder of PNG/JPEG/TIFF images)"
        )
    if (not path.is_dir() and path.suffix.lower() not in (".mat", *IMAGE_SUFFIXES)
            and not _is_raw_file(path)):
        # a stack saved with np.save, a GIF or a WebP: "an image file" named none of the
        # suffixes read, nor what to do with a NumPy file
        hint = (f"; a NumPy file: pass the array np.load({str(path)!r}) of shape (n_images, "
                "height, width), or savemat a .mat of np.moveaxis(stack, 0, -1) under the key "
                "IMAGESr (IMAGES: already whitened)" if path.suffix.lower() in (".npy", ".npz")
                else "")
        raise ValueError(
            f"{name}: cannot read {str(path)!r}: expected a .mat file, an image file, a "
            "sparsenet raw file (image0, image1, ...: no suffix) or a folder (image files: "
            f"{', '.join(IMAGE_SUFFIXES)}){hint}"
        )
    return path


def _to_gray(image):
    from skimage.color import rgb2gray, rgba2rgb

    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(float)
    if image.ndim == 3 and image.shape[2] == 2:
        # grayscale + alpha (PIL mode "LA"): as RGBA, so that alpha is composited
        # onto the same white background
        image = np.concatenate([np.repeat(image[:, :, :1], 3, axis=2), image[:, :, 1:]], axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        image = rgba2rgb(image)
    if image.ndim == 3:
        image = rgb2gray(image)
    if np.issubdtype(image.dtype, np.integer):
        image = image / _integer_white(image)
    return image.astype(np.float64)


def _imread(path, png):
    """An image file as an array, CMYK files (print JPEGs and TIFFs) converted to RGB;
    ``png`` is its :func:`_png_header` (None for a file that is not a PNG), read by the
    caller, once for both the pixels and the warning of :func:`_warn_png_read_at_8_bits`.

    ``skimage.io.imread`` gives a CMYK file's four ink channels, which the RGBA path of
    :func:`_to_gray` would take for colour and alpha (a CMYK JPEG came out all white).
    """
    from PIL import Image
    from skimage.io import imread

    orientation, unread = 1, None
    try:
        with Image.open(path) as image:
            # a camera's EXIF orientation: phones store portraits as landscape pixels
            orientation = _exif_orientation(image, png)
            pages = getattr(image, "n_frames", 1)
            # imread stacks the pages: 3 or 4 were taken for colour channels and mixed
            # into one gray picture, more gave a 4-D "image" (a camera's MPO JPEG holds a
            # preview after the photograph, and imread reads the photograph)
            if pages > 1 and image.format != "MPO":
                raise ValueError(
                    f"a file of {pages} pages (a multi-page TIFF, an animation): one picture "
                    "per file is read; save the pages as separate files, or read them "
                    "yourself and pass the array (n_images, height, width)")
            if image.mode == "CMYK" or _has_transparent_colour(image, png):
                # a PNG's transparent colour (tRNS chunk; palette PNGs): imread drops it, and
                # the hidden colour underneath came out where an alpha channel gives white
                return _exif_oriented(_pil_pixels(image, png), orientation)
    except OSError as exc:  # not a file Pillow reads (e.g. some TIFFs): imread decides
        unread = exc
    try:
        image = imread(path)
    except Exception as exc:  # noqa: BLE001
        # Pillow's OSError ("image file is truncated"): a damaged PNG, its orientation read
        # without its pixels (_exif_orientation), is found damaged here, in imread
        if unread is None and not isinstance(exc, OSError):
            raise
        # imageio's "could not find a backend ... pip install imageio[pyav]" sent users
        # installing plugins for a file that is only damaged
        raise ValueError(f"not a readable image (damaged, truncated, or a format neither "
                         f"Pillow nor imageio reads): {unread or exc}") from exc
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ValueError(f"read as an array of shape {image.shape}, not a picture "
                         "(height, width) or (height, width, channels)")
    # before rgb2gray and rgba2rgb (img_as_float) scale it: 16-bit data as 32-bit pixels
    image = image.astype(_pixel_type(image), copy=False)
    return _exif_oriented(image, orientation)


def _exif_orientation(image, png):
    """The EXIF orientation (1-8; 1 without one) of the PIL image ``image`` opened from a
    file, read without decoding its pixels when ``png``, the :func:`_png_header` of the
    file (None for one that is not a PNG), says no metadata follows them.

    Pillow's ``getexif`` of a PNG decodes its pixels first, in case an eXIf chunk follows
    them (and text chunks: XMP's orientation), and ``imread`` decoded them again: every
    PNG was decoded twice (a folder of 50 RGB ones of 256 x 256 pixels took 230-250 ms of
    CPU time to read, 156-161 ms decoded once; 2026-12-08).
    With no such chunk after the pixels (the common case) the chunks before them, already
    read into ``image.info`` when it was opened, are all there is, and ``Image.getexif``,
    of which the PNG's method only adds the decoding, reads them.
    """
    from PIL import Image

    if png is not None and not png.metadata_after_pixels:
        return Image.Image.getexif(image).get(0x0112, 1)
    # JPEG and TIFF read theirs from their headers; a PNG's after its pixels, decoding them
    return image.getexif().get(0x0112, 1)


#: PIL modes whose pixels np.asarray gives as gray (+ alpha), RGB or RGBA values
_PIL_READ_AS_THEY_ARE = ("1", "L", "LA", "I", "F", "RGB", "RGBA")


def _is_pil_image(source):
    """Whether ``source`` is a PIL image (PIL is not imported for it)."""
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(source, pil.Image)


def _has_transparent_colour(image, png=None):
    """Whether the PIL image ``image`` has a transparent colour (a PNG's tRNS chunk) that
    :func:`_pil_pixels` turns into alpha: palette, gray (1, 2, 4, 8 or 16 bits) and 8-bit
    RGB ones. A 16-bit RGB PNG's is not applied (:func:`_warn_png_read_at_8_bits` says
    so): Pillow compared its 16-bit colour with the pixels' 8 bits, so a transparent black
    whitened every pixel below level 256 of 65535 (8 of 64 on a dim gradient). ``png``:
    the :func:`_png_header` of its file, or None (no file: the raw mode of its data, while
    it is not loaded, tells its depth)."""
    if "transparency" not in image.info:
        return False
    if image.mode == "RGB" and image.format == "PNG":
        tile = getattr(image, "tile", None)
        if (png is not None and png.depth == 16) or (tile and tile[0][3] == "RGB;16B"):
            return False
    return image.mode in ("P", "1", "L", "RGB") or image.mode.startswith("I;16")


def _gray_png_scale(image, png=None):
    """The factor by which Pillow scaled the levels of the gray PNG ``image`` that it reads
    as mode ``"L"``: 85 for 2 bits a pixel, 17 for 4 (levels 0-3 and 0-15 to 0-255), else
    1. Its transparent level (tRNS) stays unscaled in ``image.info``. ``png``: the
    :func:`_png_header` of its file, or None."""
    if image.mode != "L" or image.format != "PNG":
        return 1
    if png is not None:
        depth = png.depth
    else:  # no file to read (a stream): the raw mode of an image not yet loaded says
        tile = getattr(image, "tile", None)
        depth = {"L;2": 2, "L;4": 4}.get(tile[0][3] if tile else None, 8)
    return 255 // (2**depth - 1) if depth in (2, 4) else 1


def _pil_pixels(image, png=None):
    """The pixels of the PIL image ``image`` as gray (+ alpha), RGB or RGBA values, which
    :func:`_to_gray` takes: a palette's colours (not its indices), CMYK and other colour
    spaces as RGB, a transparent colour (a PNG's tRNS chunk) as alpha. ``png``: the
    :func:`_png_header` of its file, or None (no file, or not a PNG)."""
    mode = image.mode
    # a 2- or 4-bit gray PNG's transparent level, compared unscaled with its levels scaled
    # to 8 bits: the transparent pixels kept their gray (level 1 of 0-3: 1/3, not white)
    keyed = _has_transparent_colour(image, png)
    scale = _gray_png_scale(image, png) if keyed else 1
    if keyed and (mode == "1" or mode.startswith("I;16") or scale > 1):
        # a 1-, 2-, 4- or 16-bit gray PNG's transparent level: imread dropped it (a
        # transparent pixel kept its level where documented as white), and convert("RGBA")
        # would take 16 bits to 8; gray + alpha instead, at the pixels' own depth
        gray = np.asarray(image)
        gray, opaque = ((gray.astype(np.float64), 1.0) if mode == "1"
                        else (gray, np.iinfo(np.uint8).max) if mode == "L"
                        else (gray.astype(np.uint16), np.iinfo(np.uint16).max))
        alpha = np.where(gray == image.info["transparency"] * scale, 0, opaque)
        return np.dstack([gray, alpha.astype(gray.dtype)])
    if keyed:
        image = image.convert("RGBA")
    elif mode not in _PIL_READ_AS_THEY_ARE and not mode.startswith("I;16"):
        image = image.convert("RGBA" if mode in ("PA", "La", "RGBa") else "RGB")
    return np.asarray(image)


def _exif_oriented(image, orientation):
    """``image`` (rows, columns, ...) as displayed for EXIF orientation 1-8."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](image)) if orientation in ops else image


def _load_skimage(size, name="source"):
    """The :data:`SKIMAGE_SCENES` this scikit-image ships, gray and squared to ``size``;
    those it lacks are warned of, by name (other versions ship other sets: the missing
    ones were skipped unsaid, and fewer than ten pictures came back), and so are those
    ``size`` enlarges (:func:`_warn_enlarged`); ``name``: the argument's, for messages."""
    import skimage

    folder, files, missing = _skimage_files()
    if not files:
        raise RuntimeError(
            f"no bundled photographs found in {folder} (scikit-image {skimage.__version__} "
            f"ships none of {', '.join(SKIMAGE_SCENES)}); reinstall scikit-image or pass "
            "source=PATH"
        )
    if missing:
        warnings.warn(
            f"source='skimage': scikit-image {skimage.__version__} does not ship "
            f"{len(missing)} of the {len(SKIMAGE_SCENES)} photographs read "
            f"({', '.join(missing)}; looked for in {str(folder)!r}): {len(files)} are "
            "loaded", UserWarning, stacklevel=user_stacklevel())
    shapes, squares = [], []
    for f in files:
        picture = _to_gray(_imread(f, _png_header(f)))
        shapes.append(picture.shape)
        squares.append(_square(picture, size))
    _warn_enlarged(f"{name}='skimage',", size, shapes, [repr(f.name) for f in files],
                   "photograph", ", or a folder of larger pictures")
    return np.stack(squares)


def _warn_enlarged(what, size, shapes, labels=None, noun="picture", advice="", of=""):
    """Warn when ``size`` enlarges some of the pictures of ``shapes`` (height, width, as
    read), naming the most enlarged by its ``labels`` entry (None: pictures of one shape,
    an array's or a ``.mat`` file's, counted, not named, ``of`` saying whose); ``what``
    opens the message (the argument's name), ``noun`` names the pictures, ``advice`` ends
    it.

    The pixels an enlargement adds are interpolated, with none of a picture's detail above
    its own resolution, and its whitened spectrum is (nearly) empty up there, where the
    filter passes most: ``size=1024`` enlarged chelsea.png's 300 x 451 pixels 3.4x, and a
    folder's, a list's, an array's or a ``.mat`` file's 40 x 60 pictures at ``size=256``
    6.4x, unsaid. Warned, not refused: a size is the user's to choose (pictures to look
    at, a test at one size). One helper for every source of :func:`load_images`.
    """
    small = [k for k, shape in enumerate(shapes) if min(shape) < size]
    if not small:
        return
    k = min(small, key=lambda k: min(shapes[k]))
    (h, w), n = shapes[k], len(shapes)
    side = min(h, w)
    if labels is None:
        which = (f"the {noun}" if n == 1 else f"the {n} {noun}s") + of
    else:
        some = "" if n == 1 else f"{len(small)} of the {n} {noun}s, "
        which = f"{some}{'the most ' if len(small) > 1 else ''}{labels[k]}"
    keep = "it" if n == 1 else f"every {noun}"
    warnings.warn(
        f"{what} size={size} enlarges {which} ({h} x {w} pixels, squared {side} x {side}) "
        f"{size / side:.2f}x: the pixels an enlargement adds are interpolated, with no "
        f"detail of a natural image above the {noun}'s own resolution; pass size="
        f"{min(min(shape) for shape in shapes)} or less to keep {keep} at its own "
        f"resolution or below{advice}", UserWarning, stacklevel=user_stacklevel())


def _skimage_files():
    """``(folder, files, missing)``: scikit-image's data folder, the paths of the
    :data:`SKIMAGE_SCENES` it holds and the names of those it lacks (found without
    reading a picture)."""
    import skimage.data

    folder = Path(skimage.data.__file__).parent  # the photographs scikit-image ships
    files = [folder / name for name in SKIMAGE_SCENES if (folder / name).exists()]
    missing = [name for name in SKIMAGE_SCENES if not (folder / name).exists()]
    return folder, files, missing


def _read_all(files, read, bar, shrink=None, name="source", size=None, paths=None):
    """``read(f)`` for every file, written into one float64 array allocated after the first.

    Returns ``(images, None)``; when the pictures' shapes differ, ``(pictures, shapes)``
    instead: the list of ``shrink(picture)`` (the picture itself without ``shrink``) of
    every file, each made as its file is read, and the shapes as read. Pictures of
    unequal sizes are so never all held at full size (phone photographs, portraits among
    landscapes, were held at 12 Mpx each until all were read, to be squared to 256 px:
    250 of them were killed for memory). A stack of the first picture's shape that would
    not fit in memory is refused naming ``name``; with ``shrink`` only once every picture
    is read and found of that shape (the pictures are shrunk as they are read until then);
    ``size`` (the N x N the pictures were resized to, or None) words that refusal, and
    ``paths``, the files of ``files`` (None: the pictures of a list, not all files).
    """
    first = read(files[0])
    bar.update()
    n, shape = len(files), first.shape
    nbytes = 8.0 * n * first.size
    memory = memory_exceeded(nbytes)  # None when the stack fits
    if memory is not None and shrink is None:
        raise _too_large(name, paths, shape, nbytes, memory, size, n)
    shapes = [shape]
    out, kept = None, None
    if memory is not None:
        kept = [shrink(first)]
    else:
        out = np.empty((n,) + shape)
        out[0] = first
    del first
    for i in range(1, n):
        image = read(files[i])
        bar.update()
        shapes.append(image.shape)
        if out is not None:
            if image.shape == shape:
                out[i] = image
                continue
            # sizes differ: the pictures read so far are shrunk, and the stack let go
            kept = [shrink(im) for im in out[:i]] if shrink else list(out[:i])
            out = None
        kept.append(shrink(image) if shrink else image)
    if out is not None:
        return out, None
    if len(set(shapes)) == 1:
        raise _too_large(name, paths, shape, nbytes, memory, size, n)
    return kept, shapes


def _check_finite(image, name, what):
    """A ValueError naming the file (``what``) of a picture with NaN or inf pixels: the
    check of the whole stack named only the folder, of maybe thousands of files."""
    bad = ~np.isfinite(image)
    if bad.any():
        y, x = np.argwhere(bad)[0]
        raise ValueError(f"{name}: {what} holds {int(bad.sum())} NaN or inf pixel(s), the "
                         f"first at (row, column) ({y}, {x})")


def _too_large(name, files, shape, nbytes, memory, size=None, n=None):
    """The error for ``files`` whose pictures, all of ``shape``, would not fit in the
    ``memory`` (bytes) this process may use; ``size`` is the one they were resized to.
    ``files`` None: the ``n`` pictures of the list ``name``.

    The remedies offered are those that apply: a (smaller) size, the largest that fits,
    and ``max_images`` only for several files of which at least one fits (a single file
    was told "the 1 pictures ... or max_images (at most 0 fit)").
    """
    n = len(files) if files is not None else n
    fit = int(memory // (nbytes / n))
    # n pictures of N x N float64 pixels take 8 n N^2 bytes
    largest = int(np.sqrt(memory / (8.0 * n)))
    if files is None:
        what = f"the {n} picture(s) of {shape[0]} x {shape[1]} pixels of the list {name}"
    elif n == 1:
        what = f"the picture {str(files[0])!r} of {shape[0]} x {shape[1]} pixels"
    else:
        what = (f"the {n} pictures of {shape[0]} x {shape[1]} pixels in "
                f"{str(Path(files[0]).parent)!r}")
    if size is None:
        remedy = f"pass size=N (every picture resized to N x N pixels, N at most {largest})"
    else:
        remedy = f"pass a smaller size than size={size} (at most {largest})"
    if n > 1 and fit >= 1:
        remedy += f" or max_images (at most {fit} fit)"
    return ValueError(
        f"{name}: {what} would take {nbytes / 2**30:.4g} GiB as float64, more than the "
        f"{memory / 2**30:.4g} GiB of memory this process may use; {remedy}")


def _square_copy(image, size):
    """:func:`_square` as an array of its own (not a view holding the whole picture)."""
    return np.array(_square(image, size))


def _read_image_file(f, name="source", what=None, png=None):
    """The picture file ``f`` in gray (``what``: how messages name it; ``png``: its
    :func:`_png_header`, None if it is no PNG)."""
    what = what or f"image file {str(f)!r}"
    try:
        image = _to_gray(_imread(f, png))
    except Exception as exc:  # noqa: BLE001 - report which file failed
        raise ValueError(f"{name}: cannot read {what}: {exc}") from exc
    _check_finite(image, name, what)
    return image


def _read_image_files(files, size, name="source", progress=None):
    """The picture files ``files`` as one stack (:func:`_read_pictures`), their 16-bit
    colour PNGs warned of (:func:`_warn_png_read_at_8_bits`). Each PNG's header is read
    once, for its pixels and for the warning (it was read up to three times a file)."""
    headers = [_png_header(f) for f in files]
    images = _read_pictures(list(range(len(files))),
                            lambda i: _read_image_file(files[i], name, png=headers[i]), size,
                            name, progress, [repr(str(f)) for f in files], files)
    _warn_png_read_at_8_bits(files, headers, name)
    return images


#: the PNG colour types whose 16-bit pixels Pillow, the reader, gives at 8 bits (as its
#: modes RGB and RGBA): RGB (2), gray + alpha (4) and RGBA (6); 16-bit gray (0) is read whole
_PNG_TYPES_READ_AT_8_BITS = {2: "RGB", 4: "gray + alpha", 6: "RGBA"}


#: the PNG text chunks, and the keywords of those that may hold an EXIF orientation, which
#: Pillow reads (XMP's tiff:Orientation, ImageMagick's "Raw profile type exif"); others
#: (ImageMagick's date:create and date:modify, after the pixels) hold none
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_PNG_ORIENTATION_KEYWORDS = (b"exif", b"Raw profile type exif", b"XML:com.adobe.xmp", b"xmp")


class _PngHeader(NamedTuple):
    """What :func:`_png_header` reads of a PNG file's chunks, around its pixels."""

    depth: int  #: bits a sample (1, 2, 4, 8 or 16)
    colour_type: int  #: 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA
    transparent: bool  #: whether it has a transparent colour (a tRNS chunk)
    #: whether an eXIf chunk, or a text chunk of :data:`_PNG_ORIENTATION_KEYWORDS`,
    #: follows the pixels (IDAT), where Pillow reaches it only by decoding them
    #: (:func:`_exif_orientation`)
    metadata_after_pixels: bool


def _png_header(path):
    """The :class:`_PngHeader` of the PNG file ``path``, told by its content (a PNG saved
    as ``.jpg`` too), in one reading of the file: its IHDR chunk, then the type of each
    chunk (their data skipped, but for the keyword of a text chunk after the pixels): a
    tRNS chunk comes before the image data (IDAT), metadata may come after; None for a
    file that is not a PNG or cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
            # the signature (8 bytes), then the IHDR chunk: its length and type (8), width
            # and height (8), bit depth (byte 24) and colour type (byte 25)
            if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
                return None
            f.seek(8 + 8 + int.from_bytes(head[8:12], "big") + 4)  # past IHDR and its CRC
            transparent = pixels = late = False
            while len(chunk := f.read(8)) == 8:  # each chunk: its length and type
                kind, length = chunk[4:], int.from_bytes(chunk[:4], "big")
                if kind == b"IEND":
                    break
                skip = length + 4  # its data and CRC
                if pixels and kind in _PNG_TEXT_CHUNKS:  # its keyword: 1-79 bytes, then 0
                    text = f.read(min(length, 80))
                    skip -= len(text)
                    late = text.split(b"\0", 1)[0] in _PNG_ORIENTATION_KEYWORDS
                late |= pixels and kind == b"eXIf"
                if late:
                    break
                transparent |= kind == b"tRNS" and not pixels
                pixels |= kind == b"IDAT"
                f.seek(skip, os.SEEK_CUR)
    except OSError:
        return None
    return _PngHeader(head[24], head[25], transparent, late)


def _png_read_at_8_bits(png):
    """The kind of 16-bit colour pixels (``"RGB"``, ``"gray + alpha"``, ``"RGBA"``) of the
    PNG whose :func:`_png_header` is ``png``, which Pillow reads at 8 bits; None for any
    other file (``png`` None). Told by its content, as Pillow tells it: a PNG saved as
    ``.jpg`` was read at 8 bits unwarned."""
    if png is None or png.depth != 16:
        return None
    return _PNG_TYPES_READ_AT_8_BITS.get(png.colour_type)


def _warn_png_read_at_8_bits(files, headers, name):
    """Warn, once for ``files`` (of :func:`_png_header` ``headers``, read by the caller),
    of their 16-bit colour PNGs (:func:`_png_read_at_8_bits`): Pillow gives them at 8
    bits, so a dim 16-bit RGB picture (levels 0-2000 of 65535) came back with 8 gray
    levels instead of ~2000, and whitened 34% away from its own pixels, while the same
    picture as a 16-bit TIFF or gray PNG was read whole."""
    lost = [(f, kind, png) for f, png in zip(files, headers)
            if (kind := _png_read_at_8_bits(png)) is not None]
    if not lost:
        return
    f, kind, _ = lost[0]
    if len(files) == 1:
        what, its, them = f"{str(f)!r} is a PNG of 16-bit {kind} pixels", "its", "it"
    else:
        are = "is a PNG" if len(lost) == 1 else "are PNGs"
        what = (f"{len(lost)} of the {len(files)} picture files {are} of 16-bit colour "
                f"pixels (the first, {str(f)!r}, 16-bit {kind})")
        its, them = "their", "them"
    # an RGB one's transparent colour is 16-bit too: not applied (_has_transparent_colour)
    keyed = [f for f, kind, png in lost if kind == "RGB" and png.transparent]
    unkeyed = "" if not keyed else (
        f"; {'its' if len(files) == 1 else f'the {len(keyed)} with a'} transparent colour "
        "(tRNS, 16-bit) cannot be told at 8 bits and is not applied: transparent pixels "
        "keep their colour")
    warnings.warn(
        f"{name}: {what}, which Pillow, the reader, gives at 8 bits: {its} levels are "
        f"rounded to steps of 1/255 (a dim picture keeps only a few gray levels){unkeyed}; "
        f"save {them} as 16-bit TIFF or 16-bit grayscale PNG (formats read at their full "
        f"16 bits), or read {them} yourself and pass the array", UserWarning,
        stacklevel=user_stacklevel())


def _read_pictures(items, read, size, name, progress, labels, files=None):
    """``read(item)`` of every item, as one stack: each squared to ``size`` when it is
    given (with a warning naming, by its ``labels`` entry, the most enlarged picture when
    ``size`` enlarges some: :func:`_warn_enlarged`); without it, kept as they are when all
    are of one shape, else all squared to 256 x 256 (with a warning naming the smallest
    picture when some are enlarged more than 2x, at the user's line). ``files``: the paths
    of the items, if they are files, for the message of a stack too large for memory
    (:func:`_too_large`)."""
    read_shapes = []  # as read, before size squares them

    def read_squared(item):
        image = read(item)
        if size is None:
            return image
        read_shapes.append(image.shape)
        return _square(image, size)

    # without size, pictures of unequal sizes are all squared to the default 256 pixels
    shrink = None if size is not None else functools.partial(_square_copy, size=256)
    with progress_bar(progress, total=len(items), desc="images", unit="file") as bar:
        images, shapes = _read_all(items, read_squared, bar, shrink, name, size, files)
    if shapes is not None:  # sizes differ: all squared to the default size
        small = [(f, s) for f, s in zip(labels, shapes) if min(s) < 256 // 2]
        if small:
            # an enlarged picture has none of the high frequencies of the others: a 3 x 7
            # icon among photographs became a 256 x 256 blur, unsaid
            f, (h, w) = min(small, key=lambda s: min(s[1]))
            warnings.warn(
                f"{name}: the images differ in size and are all centre-cropped and resized "
                f"to 256 x 256 pixels; {len(small)} of them are enlarged more than 2x (the "
                f"smallest, {f}, is {h} x {w}): pass size=N (the smallest side, or "
                "less) or leave the small pictures out", UserWarning, stacklevel=user_stacklevel())
        images = np.stack(images)
    if size is not None:
        _warn_enlarged(f"{name}:", size, read_shapes, labels,
                       advice=", or leave the small pictures out")
    return images


def _is_picture_list(source):
    """Whether ``source`` is a list or tuple of pictures, read one by one
    (:func:`_read_picture_list`): one of its items is a path or has 2 or more
    dimensions (a list of rows of numbers is one picture)."""
    if not isinstance(source, (list, tuple)) or not source:
        return False
    for item in source:
        if isinstance(item, (str, os.PathLike)):
            return True
        try:
            if np.ndim(item) >= 2:
                return True
        except (TypeError, ValueError):  # ragged: refused as an array is
            pass
    return False


def _read_picture_list(items, size, name="source", progress=None):
    """The pictures of a list of picture files and 2-D arrays, by the rule of a folder's
    files (:func:`_read_pictures`): as a stack of one shape, they were refused as "not a
    numeric array" when the arrays differed in size, and a list of paths in any case."""
    labels, paths = [], []
    headers = {}  # the _png_header of each picture file, by its index: read once
    for i, item in enumerate(items):
        label = f"{name}[{i}]"
        if isinstance(item, (str, os.PathLike)):
            path = image_source_path(item, label)
            paths.append(path)
            if path.is_dir() or path.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(
                    f"{label}: {str(path)!r} is not a picture file: a list holds picture "
                    f"files ({', '.join(IMAGE_SUFFIXES)}) or 2-D arrays, one picture each; "
                    f"pass a folder or a .mat file as {name} itself")
            labels.append(f"{label} ({str(path)!r})")
            headers[i] = _png_header(path)
        elif _is_pil_image(item):  # its colours become gray, as its file's would
            labels.append(label)
        else:
            shape = array_shape(item, label)
            if len(shape) != 2:
                raise ValueError(
                    f"{label} has shape {shape}: each array of a list is one grayscale "
                    "picture (height, width); pass a stack (n_images, height, width) as "
                    f"{name} itself, or convert colour to gray")
            labels.append(label)

    def read(i):
        item = items[i]
        if isinstance(item, (str, os.PathLike)):
            return _read_image_file(check_path(item, f"{name}[{i}]"), name,
                                    f"{name}[{i}], image file {str(item)!r},", headers[i])
        return _array_images(item, f"{name}[{i}]")[0]  # integer pixels scaled as a file's

    images = _read_pictures(list(range(len(items))), read, size, name, progress, labels)
    _warn_png_read_at_8_bits(paths, list(headers.values()), name)
    return images


def _folder_contents(path):
    """The picture files, sparsenet raw files, ``.mat`` files and picture files of an unread
    format (:data:`UNREAD_PICTURE_SUFFIXES`) of a folder, each in natural order
    (:func:`~stimuli._natural_order.natural_key`: ``img2.png`` before ``img10.png``,
    ``img_1.png`` before ``IMG_2.png``, as the raw files ``image2`` before ``image10``
    and a folder's WAV files are read; the order of plain text read ``img10.png`` before
    ``img2.png``, so ``max_images=3`` of ``img0`` ... ``img11`` kept img0, img1 and
    img10, and every upper-case name before the lower-case ones).

    Hidden files (``.DS_Store``, macOS's ``._IMAGES.mat`` companions) are left out,
    both when the folder is read and when :func:`is_prewhitened` judges it.
    """
    files = sorted((p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: natural_key(p.name))
    pictures = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    raw = [p for p in files if _is_raw_file(p)]
    mats = [p for p in files if p.suffix.lower() == ".mat"]
    unread = [p for p in files if p.suffix.lower() in UNREAD_PICTURE_SUFFIXES]
    return pictures, raw, mats, unread


def _load_folder(path, size, name="source", progress=None, max_images=None):
    """The images of a folder; only the first ``max_images`` files are read."""
    pictures, raw, mats, unread = _folder_contents(path)
    if pictures and mats:
        # IMAGES.mat beside a preview PNG: the preview alone was read, with no word
        warnings.warn(
            f"{name}: folder {str(path)!r} holds {len(pictures)} picture file(s) and .mat "
            f"file(s) ({', '.join(repr(m.name) for m in mats[:3])}): the pictures are read, "
            "not the .mat; give the .mat file's path to read it",
            UserWarning, stacklevel=user_stacklevel())
    if pictures and raw:
        # sparsenet's image0 ... image9 beside a PNG saved into their folder (a figure, a
        # preview): the PNG alone was read, unsaid, and is_prewhitened called it unwhitened
        listed = ", ".join(repr(r.name) for r in raw[:3]) + (", ..." if len(raw) > 3 else "")
        warnings.warn(
            f"{name}: folder {str(path)!r} holds {len(pictures)} picture file(s) "
            f"({', '.join(repr(q.name) for q in pictures[:3])}"
            f"{', ...' if len(pictures) > 3 else ''}) and {len(raw)} sparsenet raw file(s) "
            f"({listed}): the pictures are read, not the raw files (whitened images, "
            "Olshausen's); move the picture files out of the folder to read the raw files, "
            "or give one raw file's path", UserWarning, stacklevel=user_stacklevel())
    if pictures:
        # a photograph folder's WEBP or GIF files were left out unsaid: fewer images
        if unread:
            warnings.warn(
                f"{name}: folder {str(path)!r} holds {len(unread)} picture file(s) of a format "
                f"that is not read ({', '.join(repr(u.name) for u in unread[:3])}"
                f"{', ...' if len(unread) > 3 else ''}): only its {len(pictures)} "
                f"{'/'.join(x[1:].upper() for x in IMAGE_SUFFIXES)} file(s) are read; "
                "convert the others (e.g. to PNG) to use them",
                UserWarning, stacklevel=user_stacklevel())
        return _read_image_files(pictures[:max_images], size, name, progress)
    if raw:
        raw = raw[:max_images]

        resized = []  # the shapes of the raw pictures size resizes (not merely crops)
        read_shapes = []  # of every raw picture, as read

        def read(p):
            image = _read_checked_raw(p, name)
            read_shapes.append(image.shape)
            if size is not None and min(image.shape) != size and image.min() < 0:
                resized.append(image.shape)
            return image if size is None else _square(image, size)

        with progress_bar(progress, total=len(raw), desc="images", unit="file") as bar:
            images, shapes = _read_all(raw, read, bar, name=name, size=size, paths=raw)
        # sparsenet's raw files are whitened (is_prewhitened): that warning says what
        # resizing them costs, and others are warned of as any source's enlarged pictures
        if size is not None and not (
                resized and _warn_resizing_whitened(name, size, resized[0], path)):
            _warn_enlarged(f"{name}:", size, read_shapes, [repr(str(r)) for r in raw])
        if shapes is not None:  # sizes differ (without size: with it, all are N x N)
            sizes = _describe_sizes(raw, shapes)
            raise _RawSizesDiffer(
                f"{name}: the sparsenet raw files in {str(path)!r} differ in size ({sizes}); "
                "pass size=N to resize them all to N x N pixels (whitened pictures lose the "
                "high frequencies their whitening left flat: a warning says so), or cut them "
                "to one size and pass the array", path, sizes)
        return images
    if len(mats) == 1:
        try:
            return _load_mat(mats[0], name)
        except _NoImagesKey as exc:
            # the parent of Olshausen's images/ (beside A144.mat, his basis) was refused
            # for A144.mat's keys, the folder of the images unnamed
            raise ValueError(f"{exc}{_pictures_nearby(path)}") from None
    raise ValueError(
        f"{name}: folder {str(path)!r} holds no PNG/JPEG/TIFF images, no sparsenet raw files "
        f"(image0, image1, ...) and no single .mat file ({_files_held(path)})"
        f"{_pictures_nearby(path)}"
    )


def _files_held(folder, limit: int = 3) -> str:
    """What the files of ``folder`` are, by suffix, for a message: "it holds 300 file(s):
    300 .wav", "it holds no files"; with several ``.mat`` files, to give one's path
    (sparsenet's IMAGES.mat beside IMAGES_RAW.mat). A folder of recordings given as
    images was told only what it lacked."""
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not files:
        return "it holds no files"
    counts = {}
    for f in files:
        key = f.suffix.lower() or "no suffix"
        counts[key] = counts.get(key, 0) + 1
    kinds = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds[:limit])
    more = f" and {len(kinds) - limit} more kinds" if len(kinds) > limit else ""
    mats = sorted(f.name for f in files if f.suffix.lower() == ".mat")
    # sparsenet's IMAGES.mat beside IMAGES_RAW.mat: which one is the user's to say
    which = (f"; give the path of one .mat file, e.g. {str(folder / mats[0])!r} (of "
             f"{', '.join(map(repr, mats[:limit]))}{', ...' if len(mats) > limit else ''})"
             if len(mats) > 1 else "")
    return f"it holds {len(files)} file(s): {listed}{more}{which}"


#: at most this many subfolders are looked into for the hint of :func:`_pictures_nearby`
_NEARBY_FOLDERS = 50


def _pictures_nearby(folder, beside=None, limit: int = 3) -> str:
    """A hint naming the subfolders of ``folder`` that hold what :func:`load_images` reads
    (picture files, sparsenet raw files, one ``.mat`` file with images), one level down;
    "" when none does; ``beside``: the file given (a ``.mat`` without images) in ``folder``.
    Folders are not read recursively: the parent of Olshausen's ``images/`` was refused
    for the keys of ``A144.mat`` (his basis) beside it, unhinted."""
    found = []
    try:
        subfolders = sorted(p for p in folder.iterdir()
                            if p.is_dir() and not p.name.startswith("."))
        for sub in subfolders[:_NEARBY_FOLDERS]:  # a home folder's hundreds: not all listed
            pictures, raw, mats, _ = _folder_contents(sub)
            what = (f"{len(pictures)} picture file(s)" if pictures
                    else f"{len(raw)} sparsenet raw file(s)" if raw
                    else f"{mats[0].name}" if len(mats) == 1 and _mat_has_images(mats[0])
                    else None)
            if what:
                found.append(f"{str(sub)!r} ({what})")
    except OSError:  # an unreadable folder: no hint rather than another error
        return ""
    if not found:
        return ""
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    listed = f"{' or '.join(found[:limit])}{more}"
    if beside is not None:
        return f"; a folder beside {beside.name!r} holds images: pass {listed}"
    return (f"; subfolders are not read: pass the subfolder of {str(folder)!r} that holds "
            f"the images, {listed}")


def _mat_keys(path):
    """The names of the arrays of the ``.mat`` file ``path`` (v7.3 too), without reading
    them; raises what SciPy or h5py raise for a file they cannot read."""
    from scipy.io import whosmat

    try:
        return [entry[0] for entry in whosmat(path)]
    except NotImplementedError:  # MATLAB v7.3 (HDF5): the keys load_images reads
        return list(_load_mat_v73_keys(path))


def _mat_has_images(path):
    """Whether the ``.mat`` file ``path`` holds a key :func:`load_images` reads
    (:data:`MAT_KEYS`); False when it cannot be read."""
    try:
        return any(key in MAT_KEYS for key in _mat_keys(path))
    except Exception:  # noqa: BLE001 - unreadable: not offered as the images
        return False


def _source_files(source, max_images=None):
    """The files :func:`load_images` reads for ``source``, one per picture in the order of
    its pictures (a folder's picture files or sparsenet raw files, or one picture file;
    of a list, its paths, with None for its arrays); None where its pictures are not files
    of their own (an array, ``"skimage"``, a ``.mat`` file)."""
    if _is_picture_list(source):
        return [item if isinstance(item, (str, os.PathLike)) else None
                for item in source[:max_images]]
    if not isinstance(source, (str, os.PathLike)) or source == "skimage":
        return None
    path = check_path(source, "source", "file or folder")
    if path.is_dir():
        pictures, raw, _, _ = _folder_contents(path)
        files = pictures or raw  # as _load_folder reads them
        return files[:max_images] if files else None
    return [path] if path.suffix.lower() in IMAGE_SUFFIXES or _is_raw_file(path) else None


def _describe_sizes(files, shapes, max_names: int = 3) -> str:
    """``"512 x 512: image0, image1 (2 files); 256 x 256: image2"`` for a message."""
    groups = {}
    for f, shape in zip(files, shapes):
        groups.setdefault(shape, []).append(Path(f).name)
    parts = []
    for (h, w), names in groups.items():
        listed = ", ".join(names[:max_names]) + (", ..." if len(names) > max_names else "")
        count = f" ({len(names)} files)" if len(names) > 1 else ""
        parts.append(f"{h} x {w}: {listed}{count}")
    return "; ".join(parts)


def _is_raw_file(path):
    """Whether the file ``path`` is read as a sparsenet raw file: a name starting with
    ``image`` and no suffix (``image0`` ... ``image9``), the rule for a folder's files and
    for one file alike."""
    return path.suffix == "" and path.name.startswith("image")


def _read_checked_raw(path, name="source"):
    """:func:`_read_raw`, its NaN or inf pixels refused naming the file."""
    image = _read_raw(path, name)
    _check_finite(image, name, f"raw file {str(path)!r}")
    return image


def _read_raw(path, name="source"):
    """One headerless big-endian float32 square image (sparsenet's raw format)."""
    n_values = path.stat().st_size // 4
    side = int(round(np.sqrt(n_values)))
    if side * side != n_values or path.stat().st_size % 4 or n_values == 0:
        raise ValueError(
            f"{name}: raw file {str(path)!r} has {path.stat().st_size} bytes, which is not a "
            "square image of big-endian float32 values"
        )
    return np.fromfile(path, dtype=">f4").reshape(side, side).astype(np.float64)


class _NoImagesKey(ValueError):
    """A ``.mat`` file without any of :data:`MAT_KEYS` (its message names the keys it
    holds); :func:`load_images` adds the folders nearby that hold images."""


def _load_mat(path, name="source"):
    try:
        from scipy.io import loadmat

        try:
            content = loadmat(path)
        except NotImplementedError:  # MATLAB v7.3 files are HDF5
            content = _load_mat_v73(path)
    except Exception as exc:  # noqa: BLE001 - h5py's errors do not name the file either
        if _is_headerless_hdf5(path):
            # h5py.File("IMAGES.mat", "w") from Python: HDF5 without the header MATLAB
            # writes, so neither SciPy ("Unknown mat file type, version 0, 0") nor the
            # layout of a MATLAB array (stored transposed) applies
            raise ValueError(
                f"{name}: {str(path)!r} is an HDF5 file without MATLAB's v7.3 header (not "
                "saved by MATLAB, which stores arrays transposed: the layout of its arrays "
                "cannot be told); read it with h5py and pass the array (n_images, height, "
                "width), or save it with scipy.io.savemat") from exc
        raise ValueError(f"{name}: cannot read .mat file {str(path)!r}: {exc}") from exc
    for key in MAT_KEYS:
        if key in content:
            dtype = getattr(content[key], "dtype", None)
            if isinstance(dtype, np.dtype) and dtype.kind in "iu" and content[key].size:
                # scaled as an array's or a picture file's integer pixels are: a uint8
                # IMAGES came back as 0-255 where the same array passed itself gave [0, 1]
                if dtype.itemsize > 4:
                    raise _wide_integers(dtype, f"{name}: {str(path)!r} key {key!r} holds "
                                         f"{dtype.name} pixels", "save them as floats to keep "
                                         "the values, or e.g. as uint8 for 8-bit pixels")
                arr = content[key] / _integer_white(content[key])  # float64
                break
            if np.iscomplexobj(content[key]):
                # cast, the imaginary part was dropped with only NumPy's ComplexWarning (an
                # array source with complex values is refused)
                raise complex_data_error(
                    f"{name}: {str(path)!r} key {key!r}", describe(content[key]),
                    "; save the real part of the pictures (MATLAB's real(ifft2(...)), as "
                    "sparsenet whitens them, or np.real) once their imaginary part is known "
                    "to be rounding")
            try:
                arr = np.asarray(content[key], dtype=np.float64)
            except (TypeError, ValueError) as exc:  # a cell array, a struct, a string
                raise ValueError(
                    f"{name}: {str(path)!r} key {key!r} is not a numeric array (dtype "
                    f"{np.asarray(content[key]).dtype}: a cell array, struct or string?); "
                    f"expected numbers of shape (height, width, n_images) ({exc})"
                ) from exc
            break
    else:
        # a ValueError, as for every other file that is not what load_images reads (a
        # KeyError's str() is its message quoted, and callers catch ValueError)
        found = sorted(k for k in content if not k.startswith("__"))
        raise _NoImagesKey(
            f"{name}: {str(path)!r} has no key {' or '.join(MAT_KEYS)}; it holds {found}"
        )
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(
            f"{name}: {str(path)!r} key {key!r} has shape {arr.shape}; expected "
            "(height, width, n_images)"
        )
    if arr.size == 0:
        # refused as an empty array source is: no pictures to draw patches from
        raise ValueError(
            f"{name}: {str(path)!r} key {key!r} is empty, shape {arr.shape}; expected "
            "(height, width, n_images) with none of them 0"
        )
    h, w, n = arr.shape
    if h != w and n >= min(h, w):
        # a stack saved from Python, savemat({"IMAGES": stack}) of (n_images, 64, 128):
        # read as 128 pictures of n_images x 64 pixels, with no other sign (the check was
        # w == n, square pictures only). MATLAB's pictures are many times as large as
        # they are many (Olshausen's 512 x 512 x 10) or square (patches, 12 x 12 x 1000)
        warnings.warn(
            f"{name}: {str(path)!r} key {key!r} has shape {arr.shape}, read as {n} pictures "
            f"of {h} x {w} pixels (MATLAB's layout, (height, width, n_images)); if the first "
            f"axis counts pictures ({h} pictures of {w} x {n}, a stack saved from Python), "
            f"pass the array scipy.io.loadmat(path)[{key!r}] itself (an array is read as "
            "(n_images, height, width)), or save np.moveaxis(stack, 0, -1)",
            UserWarning, stacklevel=user_stacklevel())
    return np.ascontiguousarray(np.moveaxis(arr, 2, 0))


def _is_headerless_hdf5(path):
    """Whether ``path`` is an HDF5 file without the text header of MATLAB's v7.3 files
    (False when h5py cannot tell)."""
    try:
        import h5py

        with open(path, "rb") as f:
            matlab = f.read(10) == b"MATLAB 7.3"
        return not matlab and bool(h5py.is_hdf5(path))
    except Exception:  # noqa: BLE001 - no h5py, an unreadable file
        return False


def _load_mat_v73_keys(path):
    """The names of the arrays of a MATLAB v7.3 file, as :func:`_load_mat_v73` keys them."""
    import h5py

    with h5py.File(path, "r") as f:
        return [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]


def _load_mat_v73(path):
    import h5py

    with h5py.File(path, "r") as f:
        # HDF5 stores MATLAB arrays transposed
        content = {k: np.asarray(f[k]).T for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    for k, value in content.items():
        if value.dtype.names == ("real", "imag"):  # MATLAB's complex arrays: as loadmat's
            content[k] = value["real"] + 1j * value["imag"]
    return content


def whitening_filter(shape, f0: float | None = None):
    """Olshausen & Field's zero-phase whitening filter R(f) = f exp(-(f/f0)^4).

    ``f`` is the radial spatial frequency in cycles per picture (of side
    ``N = min(height, width)``).

    Parameters
    ----------
    shape : int or (int, int)
        ``(height, width)`` of the images, in pixels (an int for a square).
    f0 : float, optional
        Cut-off in cycles per picture; default ``0.4 * N`` (sparsenet's code:
        204.8 for 512 x 512 pictures; the papers quote f0 = 200).

    Returns
    -------
    ndarray, shape (height, width)
        The filter's gain in FFT order (unshifted), zero at DC.

    Raises
    ------
    ValueError
        For a ``shape`` that is not a positive int or pair of positive ints,
        or a non-positive ``f0``.
    """
    from .gratings import check_shape

    h, w = check_shape(shape)
    n = min(h, w)
    fy = np.fft.fftfreq(h)[:, None] * n
    fx = np.fft.fftfreq(w)[None, :] * n
    rho = np.sqrt(fx**2 + fy**2)
    f0 = 0.4 * n if f0 is None else check_positive(f0, "f0")
    return rho * np.exp(-((rho / f0) ** 4))


def whiten(images, f0: float | None = None, variance: float = 0.1, *,
           progress: bool | None = None):
    """Whiten images with Olshausen & Field's filter and rescale their variance.

    Each image is filtered with R(f) = f exp(-(f/f0)^4) (flattens the 1/f
    amplitude spectrum of natural images and removes the highest, noisy
    frequencies), then all images are scaled together so that their mean
    variance is ``variance`` (0.1 in the original sparsenet code). The
    result does not depend on the scale of ``images``: ``images * c`` gives
    the same output for any ``c > 0`` (up to rounding; exactly when ``c`` is
    a power of two).

    Parameters
    ----------
    images : array_like, shape (n_images, height, width) or (height, width)
        Pictures, at least 4x4 pixels; any scale. An ``xarray.DataArray`` is
        read by dim name: ``(image, y, x)`` (or ``sample`` for ``image``) in
        any order.
    f0 : float, optional
        Cut-off in cycles per picture; default ``0.4 * min(height, width)``,
        as sparsenet's code has it: 204.8 for Olshausen's 512 x 512 pictures,
        where Olshausen & Field (1996, 1997) quote f0 = 200 cycles/picture
        (``f0=200`` reproduces the papers' filter; the two outputs differ by
        2.3% RMS on the embedded photographs at 512 x 512, measured
        2026-12-07).
        At least the lowest non-zero frequency of the pictures,
        ``min(height, width) / max(height, width)`` (1 for square images):
        a smaller cut-off removes every frequency they hold.
    variance : float, default 0.1
        Target mean pixel variance after whitening (sparsenet's code scales its
        whitening to 0.1). Olshausen's own whitened images (``IMAGES.mat``, the
        sparsenet raw files), which :func:`load_whitened` returns as stored,
        have 0.079 (per image 0.014 to 0.200, measured 2026-12-08).
    progress : bool or None, default None
        A tqdm bar over the images (128 of 512x512 take ~3 s): None once the
        call has run 2 s (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    ndarray, shape (n_images, height, width), float64, or xarray.DataArray
        Whitened images (``(1, height, width)`` for a single picture),
        C-contiguous. Computed a few images at a time (real FFTs), so that
        the memory used is little more than the output's.
        For a DataArray ``images``, a DataArray (holding that array,
        transposed back when its dims came in another order) of the same
        dims in the same order, coords, name and attrs, plus ``whitened`` = 1 (the mark that
        makes ``whiten`` warn of whitening it again), ``whitening_f0`` (the
        cut-off used, in cycles per picture: the default resolved) and
        ``whitening_variance``; ``units`` becomes ``"1"`` (the output does not
        depend on the scale of ``images``). Until 2026-12-08 a DataArray came
        back as a bare ndarray, without its dims or its attrs.

    Raises
    ------
    ValueError
        For one colour picture (height, width, 3 or 4; height and width at
        least 16, as :func:`load_images` reads it), with the advice to convert
        it to gray, pictures smaller than 4x4 (the message says when the
        shape may be a colour picture, (height, width, 3)), a constant picture (nothing to
        whiten), an ``f0`` below the lowest frequency of the pictures, or a
        filter that leaves no power.

    Warns
    -----
    UserWarning
        For a DataArray ``images`` whose attrs say it is whitened already
        (``whitened`` or ``prewhitened`` true, :data:`WHITENED_ATTRS`).

    Notes
    -----
    An array does not say whether it is whitened, and its spectrum does not
    tell reliably: the power at 8-16 cycles/picture over that at 32-64 is
    6.1 and 6.5 for the embedded textures (grass, gravel) unwhitened, 0.5 to
    5.0 for the embedded photographs whitened (256 x 256, measured
    2026-12-07). So ``whiten`` filters whatever it is given. Whitening
    whitened pictures again multiplies their flat spectrum by R(f) a second
    time, a high-pass: on Olshausen's ten images (already whitened) the share
    of the variance below f0 / 4 fell from 15% to 2.6% and that from f0 / 2
    to f0 rose from 47% to 69% (measured 2026-12-07). To keep whitened
    pictures from being whitened twice, read them with :func:`load_whitened`
    (it tells Olshausen's files by their layout, and takes
    ``prewhitened=True`` for any other source), or hold them as a DataArray
    whose attrs say so, ``xarray.DataArray(images, dims=("image", "y", "x"),
    attrs={"whitened": 1})``, which ``whiten`` warns of (and which a
    DataArray it returns carries).
    """
    _refuse_colour(images, "images")
    _warn_whitened_attr(images, "images")
    # no float64 copy of a float32 or integer stack (a memmap stays one): read per block
    out = _whiten(_image_stack(images, keep_dtype=True), f0, variance, progress)
    if _is_dataarray(images):
        return _whitened_dataarray(images, out, f0, variance)
    return out


def _is_dataarray(images):
    """Whether ``images`` is an ``xarray.DataArray`` (xarray is not imported for it)."""
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(images, xr.DataArray)


def _whitened_dataarray(images, out, f0, variance):
    """The whitened stack ``out`` (n_images, height, width) as the DataArray ``images``
    it was made of: its dims in its own order, its coords and name, its attrs with the
    mark :func:`whiten` warns of (``whitened``: a bare array lost it, and whitening the
    result again went unwarned) and the filter's parameters."""
    arranged = _by_dim_names(images, "images")  # as _image_stack read it: (image, y, x)
    result = arranged.copy(data=out.reshape(arranged.shape)).transpose(*images.dims)
    h, w = out.shape[1:]
    result.attrs.update({
        "whitened": 1,
        # the cut-off used, default resolved: the default depends on the pictures' size
        "whitening_f0": float(0.4 * min(h, w) if f0 is None else f0),
        "whitening_variance": float(variance),
        # the output does not depend on the input's scale: the input's units are gone
        "units": "1",
    })
    return result


#: attrs that mark pictures as whitened already: ``whitened``, or ``prewhitened`` as the
#: studies record it (0/1)
WHITENED_ATTRS = ("whitened", "prewhitened")


def _whitened_attr(images):
    """The attr of :data:`WHITENED_ATTRS` by which ``images`` (a DataArray) says it is
    whitened (true: a non-zero number or bool, NumPy's and floats too, or "1", "true",
    "yes"), else None."""
    attrs = getattr(images, "attrs", None)
    if not isinstance(attrs, dict):
        return None
    for key in WHITENED_ATTRS:
        value = attrs.get(key)
        if isinstance(value, str):
            marked = value.strip().lower() in ("1", "true", "yes")
        else:
            # a float too: netCDF round trips may give whitened=1.0 (NaN is no answer)
            marked = (isinstance(value, (numbers.Real, np.bool_, np.integer, np.floating))
                      and not np.isnan(value) and bool(value))
        if marked:
            return key
    return None


def _warn_whitened_attr(images, name):
    """Warn when ``images`` says it is whitened by an attr (:func:`_whitened_attr`):
    whitening it again multiplies its flat spectrum by the filter once more,
    ``f exp(-(f/f0)^4)``, a high-pass that used to be applied unsaid."""
    key = _whitened_attr(images)
    if key is not None:
        warnings.warn(
            f"{name} carries attrs[{key!r}]={images.attrs[key]!r}: they are whitened already, "
            "and whitening them again multiplies their flat spectrum by the filter "
            "f exp(-(f/f0)^4) a second time (a high-pass); use them as they are, or drop "
            f"attrs[{key!r}] if they are not whitened", UserWarning,
            stacklevel=user_stacklevel())


def _whiten(images, f0=None, variance=0.1, progress=None, name="images", files=None):
    """:func:`whiten` of the stack ``images`` (as :func:`_image_stack` gives it); a
    constant picture is named by ``name`` and its index, and by its file when ``files``
    (one path, or None, per picture, as :func:`_source_files` gives them) names it: the
    index alone left the user to count the files of a folder."""
    h, w = images.shape[1:]
    if min(h, w) < 4:
        colour = ""
        if w == 3:
            # a colour picture (height, width, 3): its only word was the layout warning
            # before this error, which called its pictures too small
            colour = ("; a last axis of 3 reads as the colour channels of one RGB picture "
                      "(height, width, 3): convert it to grayscale (e.g. "
                      "skimage.color.rgb2gray, or read its file with "
                      "stimuli.load_images(path)) or pass a stack (n_images, height, width)")
        raise ValueError(f"{name} must be at least 4x4 pixels, got shape {images.shape} "
                         f"(n_images, height, width){colour}")
    if f0 is not None:
        f0 = check_positive(f0, "f0")
        # the grid's lowest non-zero frequency, in cycles per picture of side min(h, w);
        # below it, R(f) <= f exp(-(f_min / f0)^4) removes (nearly) everything
        f_min = min(h, w) / max(h, w)
        if f0 < f_min:
            raise ValueError(
                f"f0={f0!r} cycles per picture is below {f_min:g}, the lowest non-zero "
                f"frequency of {h}x{w} images: the filter f exp(-(f/f0)^4) would remove "
                f"(nearly) all their power; use f0 >= {f_min:g} (default "
                f"0.4 * {min(h, w)} = {0.4 * min(h, w):g})"
            )
    variance = check_positive(variance, "variance")
    progress = check_progress(progress)
    # an exact rescaling by a power of two: the FFT and the variances below neither
    # overflow (images * 1e200) nor underflow (images * 1e-300); the output is rescaled
    # to `variance` at the end anyway
    scale = pow2_scale(np.array([images.max(), images.min()]))  # no |images| temporary
    # the filter is even in frequency: its real FFT half-plane is all rfft2 needs
    filt = whitening_filter((h, w), f0)[:, : w // 2 + 1]
    # a few images at a time, in place in the output: the temporaries (the spectrum and
    # the FFTs' buffers) are those of one block, not of all the images
    out = np.empty(images.shape)
    variances = np.empty(len(images))
    block = max(1, _WHITEN_BLOCK_PIXELS // (h * w))
    with progress_bar(progress, total=len(images), desc="whitening", unit="image") as bar:
        for start in range(0, len(images), block):
            part = out[start : start + block]
            np.divide(images[start : start + block], scale, out=part)
            flat = part.reshape(len(part), -1)
            # constant up to rounding errors of the picture's own scale
            zero = np.flatnonzero(flat.std(axis=1) <= 1e-12 * np.abs(flat).max(axis=1))
            if zero.size:
                i = start + int(zero[0])
                known = files is not None and files[i] is not None
                what = f"image {i}" + (f", file {str(files[i])!r}," if known else "")
                raise ValueError(f"{name}: {what} has zero variance (a constant picture cannot "
                                 "be whitened)")
            spectrum = np.fft.rfft2(part, axes=(1, 2))
            spectrum *= filt
            part[...] = np.fft.irfft2(spectrum, s=(h, w), axes=(1, 2))
            del spectrum
            variances[start : start + block] = part.var(axis=(1, 2))
            bar.update(len(part))
    power = np.mean(variances)
    with np.errstate(divide="ignore", over="ignore"):
        gain = np.sqrt(variance / power)
    if not (power > 0 and np.isfinite(gain)):
        f0_used = 0.4 * min(h, w) if f0 is None else f0
        raise ValueError(
            f"whitening with f0={f0_used:g} cycles per picture left (nearly) no power in "
            "images: the filter f exp(-(f/f0)^4) passes none of the frequencies they hold; "
            "raise f0"
        )
    out *= gain
    return out


def check_patch_size(size, image_shape, border: int = 4, name: str = "size") -> int:
    """``size`` as an int, after checking that such patches fit inside the images.

    Parameters
    ----------
    size : int
        Patch side in pixels.
    image_shape : tuple of int
        Shape of the images, ``(height, width)`` or ``(n_images, height, width)``.
    border : int, default 4
        Pixels left out at every image edge, as in :func:`sample_patches`.
    name : str, default "size"
        The caller's name of ``size`` (e.g. ``"patch_size"``), used in the message.

    Returns
    -------
    int
        ``size``.

    Raises
    ------
    ValueError
        For ``size < 1``, ``border < 0``, or ``size + 2 * border`` larger
        than ``min(height, width)``.
    """
    size = check_int(size, name, minimum=1)
    border = check_int(border, "border", minimum=0)
    h, w = image_shape[-2:]
    if size + 2 * border > min(h, w):
        raise ValueError(
            f"{name}={size} with border={border} does not fit in images of {h}x{w} pixels "
            f"(need {name} + 2*border <= {min(h, w)})"
        )
    return size


def sample_patches(
    images,
    size: int,
    n: int,
    seed=None,
    border: int = 4,
    remove_mean: bool = False,
    min_variance: float = 0.0,
    normalize: bool = False,
    *,
    dtype=np.float64,
    progress: bool | None = None,
):
    """Draw ``n`` random square patches, flattened row-major.

    Parameters
    ----------
    images : array_like, shape (n_images, height, width) or (height, width)
        Pictures to draw from (uniformly over images, then positions): each
        patch from its own image, as SAILnet does; sparsenet draws a whole
        batch from one image. A DataArray is read by dim name as in
        :func:`whiten`. Values are taken as they are: integer pixels
        are not scaled to [0, 1] (:func:`load_images` of the array scales
        them).
    size : int
        Patch side in pixels.
    n : int
        Number of patches, drawn with replacement (the same position may come
        twice); more than the images' distinct patch positions,
        ``n_images * (height - 2 border - size + 1) * (width - 2 border - size + 1)``,
        is warned of: some patches are then certainly repeats.
    seed : int, Generator or None, optional
        Random seed or generator.
    border : int, default 4
        Pixels left out at every image edge (the whitening filter wraps
        around at the edges; sparsenet uses 4, SAILnet 20). Patches start
        anywhere in ``[border, height - border - size]``; sparsenet's MATLAB
        draw stops one pixel short of that (``border + 1`` pixels left out at
        the bottom and right).
    remove_mean : bool, default False
        Subtract each patch's mean.
    min_variance : float, default 0.0
        Reject patches whose variance is below this value (blank sky,
        saturated areas) and draw again.
    normalize : bool, default False
        Scale each patch to zero mean and unit variance (SAILnet's convention;
        implies ``remove_mean``). The s.d. is the population one (its
        variance divides by ``size**2``); SAILnet's MATLAB ``std`` by ``size**2 - 1``,
        so its patches are smaller by ``sqrt(1 - 1 / size**2)`` (0.2% at
        16x16). Flat patches (s.d. at most 1e-12 times the
        patch's largest absolute value) cannot be scaled and are drawn again.
    dtype : {float64, float32}, default float64
        Precision of ``X`` (patches are computed in float64, then stored).
    progress : bool or None, default None
        A tqdm bar over the patches (262,144 of 16x16 take ~3 s): None once
        the call has run 2 s (:mod:`v1model.progress`), True at once, False
        never.

    Returns
    -------
    X : ndarray, shape (n, size * size), ``dtype``
        One patch per row (row-major pixels). Drawn in blocks written in
        place, so that the memory used is little more than ``X``'s; a seed
        gives the same patches whatever ``dtype`` and ``progress``.

    Raises
    ------
    ValueError
        For one colour picture (height, width, 3 or 4; height and width at
        least 16, as :func:`load_images` reads it), with the advice to convert
        it to gray; for patches that do not fit (see :func:`check_patch_size`), an
        invalid option, ``min_variance > 0`` or ``normalize`` with ``size=1``
        (a single pixel has no variance), an ``X`` larger than this machine's
        physical memory, or when 50 rounds of draws find fewer than ``n``
        patches meeting ``min_variance`` / ``normalize``.

    Warns
    -----
    UserWarning
        When ``n`` exceeds the number of distinct patch positions (see ``n``).
    """
    _refuse_colour(images, "images")
    # float32 or uint8 pictures are not copied to float64 as a whole (a corpus held as a
    # float32 memmap doubled in memory): each block of patches is, as it is cut out
    images = _image_stack(images, keep_dtype=True)
    size = check_patch_size(size, images.shape, border)
    n = check_int(n, "n", minimum=1)
    border = check_int(border, "border", minimum=0)
    min_variance = check_nonnegative(min_variance, "min_variance")
    remove_mean = check_bool(remove_mean, "remove_mean")
    normalize = check_bool(normalize, "normalize")
    dtype = check_dtype(dtype)
    progress = check_progress(progress)
    if size == 1 and (min_variance > 0 or normalize):
        # every 1-pixel patch has variance 0: 50 rounds of draws failed, advising to lower
        # min_variance (any positive value fails) or calling the images constant
        option = "normalize=True" if normalize else f"min_variance={min_variance:g}"
        raise ValueError(f"size=1 patches have zero variance: {option} would reject every one; "
                         "use size >= 2, or min_variance=0 and normalize=False")
    if not normalize and dtype.itemsize < 8 and images.dtype.kind == "f":
        # patches are cut out in float64 and stored in dtype: values beyond float32's range
        # became inf and those below it zeros, with no word (normalize rescales them first)
        top = max(float(images.max()), -float(images.min()))
        info = np.finfo(dtype)
        if top > float(info.max) / 2 or 0 < top < float(info.tiny):
            raise ValueError(
                f"images has values of magnitude up to {top:.3g}, outside the range of "
                f"{dtype.name} patches ({float(info.tiny):.3g} to {float(info.max) / 2:.3g}, "
                f"room left for remove_mean); rescale images, use normalize=True or "
                f"dtype=float64")
    d = size * size
    check_fits_in_memory((n, d), dtype, "n", n,
                         f"patches of size={size} ({d} {dtype.name} values each)")
    _warn_repeated_patches(n, images.shape, size, border)
    return _cut_patches(images, size, n, as_generator(seed), border, remove_mean,
                        min_variance, normalize, dtype, progress)


def _warn_repeated_patches(n, shape, size, border):
    """Warn when ``n`` patches exceed the distinct patch positions of images of ``shape``
    ``(n_images, height, width)``: drawn with replacement, 100 patches of 8x8 from one
    12x12 picture held 25 distinct ones, unsaid (a training set of copies)."""
    n_img, h, w = shape
    positions = n_img * (h - 2 * border - size + 1) * (w - 2 * border - size + 1)
    if n > positions:
        warnings.warn(
            f"n={n} patches exceed the {positions} distinct positions of size={size} "
            f"patches with border={border} in images of shape {tuple(shape)} (n_images, "
            f"height, width): patches are drawn with replacement, so at least "
            f"{n - positions} of them are repeats; use more or larger images, a smaller "
            "size or border, or a smaller n", UserWarning, stacklevel=user_stacklevel())


def _cut_patches(images, size, n, rng, border, remove_mean, min_variance, normalize, dtype,
                 progress):
    """The draws of :func:`sample_patches`, on its checked arguments: ``images`` a stack
    ``(n_images, height, width)`` as :func:`_image_stack` gives it, ``rng`` a Generator,
    ``dtype`` a ``numpy.dtype``. For a caller that draws from the same images again and
    again (a learner's minibatch per update) once they passed :func:`sample_patches`:
    its checks read every pixel (and the machine's memory) at each call, which took
    longer than the draws themselves."""
    n_img, h, w = images.shape
    d = size * size
    win = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    filtered = min_variance > 0 or normalize  # patches may be rejected and drawn again
    # patches are cut out, checked and scaled in blocks, written in place into X: the
    # temporaries are those of one block (at most 8 MiB of float64 patches)
    block = min(2**16, max(1, _PATCH_BLOCK_BYTES // (8 * d)))
    X = np.empty((n, d), dtype)
    n_found, tries = 0, 0
    with progress_bar(progress, total=n, desc="patches", unit="patch") as bar:
        while n_found < n:
            tries += 1
            if tries > 50:
                if normalize and min_variance == 0:
                    raise ValueError(
                        f"could not find {n} patches that are not flat (normalize=True "
                        f"divides each patch by its s.d.): only {n_found} after 50 rounds; "
                        "the images are constant over every patch"
                    )
                why = " that are not flat" if normalize else ""
                raise ValueError(
                    f"could not find {n} patches with variance >= {min_variance:g}{why}: only "
                    f"{n_found} after 50 rounds; lower min_variance (images variance is "
                    f"{images.var():.3g})"
                )
            m = max(2 * (n - n_found), 16)
            # every round draws m images, then m rows, then m columns (so that a seed gives
            # the same patches, and leaves the generator in the same state, as it always
            # has); without a filter only the first n - n_found are cut out and kept
            used = m if filtered else n - n_found
            img = _draw_indices(rng, 0, n_img, m, used)
            r = _draw_indices(rng, border, h - border - size + 1, m, used)
            c = _draw_indices(rng, border, w - border - size + 1, m, used)
            for start in range(0, used, block):
                stop = start + block
                P = win[img[start:stop], r[start:stop], c[start:stop]].reshape(-1, d)
                P = P.astype(np.float64, copy=False)
                if filtered:
                    keep = np.ones(len(P), bool)
                    if min_variance > 0:
                        keep &= P.var(axis=1) >= min_variance
                    if normalize:
                        # flat relative to the patch's own scale (small-scale images are fine)
                        keep &= (P / pow2_scale(P, axis=1, keepdims=True)).std(axis=1) > 1e-12
                    P = P[keep]
                P = P[: n - n_found]  # a fresh copy (fancy indexing): scaled in place
                if remove_mean or normalize:
                    P -= P.mean(axis=1, keepdims=True)
                if normalize:
                    P /= pow2_scale(P, axis=1, keepdims=True)  # exact; keeps variances in range
                    P /= P.std(axis=1, keepdims=True)
                X[n_found : n_found + len(P)] = P
                n_found += len(P)
                bar.update(len(P))
                del P  # before the next block is cut out
                if n_found == n:
                    break
    return X


def _draw_indices(rng, low, high, m, used):
    """``rng.integers(low, high, m)[:used]``, without holding the draws that are not used.

    Consecutive draws of a Generator continue one stream: drawing in pieces gives the
    same numbers, and leaves the same state, as one draw of ``m``.
    """
    drawn = rng.integers(low, high, used)
    for start in range(used, m, 2**16):
        rng.integers(low, high, min(2**16, m - start))
    return drawn


class _RawSizesDiffer(ValueError):
    """Sparsenet raw files of unequal sizes read without ``size``: ``path`` is their folder,
    ``sizes`` the sizes in words. :func:`load_whitened`, which does not resize whitened
    pictures, words its own refusal (this one's "pass size=N" would be refused there)."""

    def __init__(self, message, path, sizes):
        super().__init__(message)
        self.path, self.sizes = path, sizes


#: True while :func:`load_whitened` reads pictures its caller says are not whitened
#: (``prewhitened=False``): :func:`load_images` then resizes them unwarned
_SAID_NOT_WHITENED = contextvars.ContextVar("stimuli_said_not_whitened", default=False)


def _warn_resizing_whitened(name, size, shape, path):
    """Warn that :func:`load_images` resizes the whitened pictures of ``path`` (unless
    its caller said they are not whitened: :data:`_SAID_NOT_WHITENED`); whether it
    warned (if not, an enlargement is warned of as any picture's: :func:`_warn_enlarged`)."""
    if _SAID_NOT_WHITENED.get():
        return False
    warnings.warn(
        _resizing_whitened(name, size, shape, repr(str(path)),
                           "key IMAGES or sparsenet raw files, with negative pixels")
        + "; load_whitened refuses such a size", UserWarning, stacklevel=user_stacklevel())
    return True


def _resizing_whitened(name, size, shape, where, why, verb="resizes"):
    """The words for ``size`` resizing the whitened pictures of ``shape`` (height, width)
    read from ``where`` (whitened ``why``): refused by :func:`load_whitened`, warned of by
    :func:`load_images`. Olshausen's 512 x 512 images at size=128 kept a sixth of their
    variance (0.013 of 0.079), their flat spectrum and its f0 roll-off gone."""
    h, w = shape
    return (f"{name}: size={size} {verb} the {h} x {w} pictures of {where}, which are already "
            f"whitened ({why}): resizing takes away the high frequencies their whitening left "
            "flat (their variance falls, and they are not whitened again); leave size out (or "
            f"size={min(h, w)}, a centre crop)")


def is_prewhitened(source) -> bool:
    """Whether ``source`` names Olshausen's already-whitened images.

    True for a folder of sparsenet raw files, for one such file, for a
    ``.mat`` whose key is ``IMAGES`` (``IMAGES_RAW.mat`` holds ``IMAGESr``, the unwhitened ones)
    and for a DataArray whose attrs say so (``whitened`` or ``prewhitened`` true,
    :data:`WHITENED_ATTRS`); False for the embedded photographs, photograph folders and
    other arrays.

    Parameters
    ----------
    source : str, path or array_like
        As in :func:`load_images`.

    Returns
    -------
    bool
        Whether the images are already whitened.
    """
    if _whitened_attr(source) is not None:  # a DataArray that says so
        return True
    if not isinstance(source, (str, os.PathLike)) or source == "skimage":
        return False
    path = check_path(source, "source", "file or folder")
    if path.is_dir():  # judged on the files load_images reads
        pictures, raw, mats, _ = _folder_contents(path)
        if pictures:
            return False
        if raw:
            return True
        return len(mats) == 1 and is_prewhitened(mats[0])
    if path.is_file() and _is_raw_file(path):
        return True
    if path.suffix.lower() == ".mat":
        try:
            keys = _mat_keys(path)
        except Exception:  # noqa: BLE001 - unreadable: judge by name
            return "RAW" not in path.name.upper()
        return "IMAGES" in keys
    return False


def load_whitened(source="skimage", prewhitened: bool | None = None, *, name: str = "source",
                  progress: bool | None = None, **load_kwargs):
    """Load images and whiten them unless they already are.

    Parameters
    ----------
    source : str, path or array_like, default "skimage"
        As in :func:`load_images`.
    prewhitened : bool, optional
        Whether ``source`` is already whitened; default
        :func:`is_prewhitened` (True for Olshausen's whitened files), so
        that his images are never whitened twice, unless no pixel is
        negative: whitened pictures have zero mean (the filter is 0 at DC),
        so such pictures (a user's photographs saved under the key
        ``IMAGES``) are whitened, with a warning.
    name : str, default "source"
        The caller's name of ``source`` (e.g. ``"images"``), used in messages.
    progress : bool or None, default None
        Progress bars of the loading and the whitening (:func:`load_images`,
        :func:`whiten`): None once a call has run 2 s, True at once, False
        never.
    **load_kwargs
        Passed to :func:`load_images` (``size``, ``max_images``). Whitened
        pictures are kept at their own size: a ``size`` other than their
        shorter side is refused (``size`` equal to it crops them to squares).
        Resizing takes away the high frequencies their whitening left flat:
        Olshausen's 512 x 512 images at ``size=128`` kept a sixth of their
        variance (0.013 of 0.079) and were returned as whitened.

    Returns
    -------
    images : ndarray, shape (n_images, height, width), float64
        Whitened images (by :func:`whiten` with its defaults, of mean pixel
        variance 0.1, or as loaded when already whitened: Olshausen's, at
        their own 0.079, per image 0.014 to 0.200, measured 2026-12-08).
    prewhitened : bool
        The value used (recorded by studies in their attrs).

    Raises
    ------
    TypeError
        For a ``prewhitened`` that is not a bool or None.
    FileNotFoundError, ValueError
        As :func:`load_images` and :func:`whiten` (a constant picture read from a file
        is named by its file, as well as by its index); for a ``size`` that would
        resize whitened pictures, and for sparsenet raw files of unequal sizes
        (whitened: no ``size`` brings them to one without resizing), unless
        ``prewhitened=False``.
    """
    if prewhitened is not None:
        prewhitened = check_bool(prewhitened, "prewhitened")
    why_whitened = ("by their layout: key IMAGES or sparsenet raw files" if prewhitened is None
                    else "prewhitened=True")
    size = load_kwargs.pop("size", None)
    if size is not None:
        size = check_int(size, "size", minimum=8)
    # pictures that may be whitened are read at their own size: whether they may be resized
    # is known only once they are read (a photograph saved under the key IMAGES may be)
    maybe_whitened = prewhitened
    if prewhitened is None and size is not None:
        try:
            maybe_whitened = is_prewhitened(source)
        except (OSError, ValueError):  # a missing path: load_images names it by name
            maybe_whitened = False
    # the caller says they are not whitened (prewhitened=False): resized, then whitened,
    # unwarned; said in this thread's context, as a catch_warnings (one per process) also
    # hid every other thread's warnings while the pictures were read
    token = _SAID_NOT_WHITENED.set(prewhitened is False)
    try:
        try:
            raw = load_images(source, None if maybe_whitened else size, name=name,
                              progress=progress, **load_kwargs)
        except _RawSizesDiffer as exc:
            if prewhitened is False:  # read at size, which resizes unwhitened pictures
                raise
            # whitened pictures of unequal sizes come to one size only resized, which is
            # refused below: "pass size=N" led to that refusal (a size given was refused
            # with the advice to pass one)
            given = f" (as size={size} would)" if size is not None else ""
            raise ValueError(
                f"{name}: the sparsenet raw files in {str(exc.path)!r} differ in size "
                f"({exc.sizes}) and are already whitened ({why_whitened}): they come to one "
                f"size only resized{given}, which takes away the high frequencies their "
                "whitening left flat; cut them to one size and pass the array with "
                "prewhitened=True, or pass prewhitened=False if they are not whitened") from None
    finally:
        _SAID_NOT_WHITENED.reset(token)
    if prewhitened is None:
        prewhitened = is_prewhitened(source)
        if prewhitened and raw.min() >= 0:
            # photographs in [0, 1] saved under Olshausen's key IMAGES were taken for his
            # whitened images, and learned from as they were
            warnings.warn(
                f"{name}: {str(source)!r} holds whitened images by its layout (key IMAGES or "
                "sparsenet raw files), but none of its pixels is negative, which whitened "
                "pictures (zero mean) always have: they are whitened; pass prewhitened=True "
                "to use them as they are", UserWarning, stacklevel=user_stacklevel())
            prewhitened = False
    if maybe_whitened and size is not None:
        if prewhitened and min(raw.shape[1:]) != size:
            where = (repr(str(source)) if isinstance(source, (str, os.PathLike))
                     else describe(source))
            raise ValueError(
                _resizing_whitened(name, size, raw.shape[1:], where, why_whitened,
                                   "would resize")
                + ", crop the pictures this returns, or whiten unwhitened pictures (e.g. "
                "IMAGES_RAW.mat) at that size")
        raw = load_images(raw, size, name=name)  # a centre crop, or photographs resized
    if prewhitened:
        return raw, True
    files = _source_files(source, load_kwargs.get("max_images"))
    return _whiten(raw, progress=progress, name=name, files=files), False
