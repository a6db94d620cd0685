"""Natural images: embedded photographs, loaders, whitening and patches.

Images are float arrays of shape ``(n_images, height, width)``. Nothing is
downloaded: the default set is made of the photographs that scikit-image ships
inside its own package; bigger corpora are read from a path the user gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v1model.scaling import pow2_scale
from v1model.validation import (
    as_generator,
    check_array,
    check_bool,
    check_int,
    check_nonnegative,
    check_positive,
    describe,
)

__all__ = ["SKIMAGE_SCENES", "load_images", "whiten", "sample_patches", "check_patch_size",
           "whitening_filter", "is_prewhitened", "load_whitened"]

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
MAT_KEYS = ("IMAGES", "IMAGESr", "IMAGES_RAW")


def load_images(source="skimage", size: int | None = None, max_images: int | None = None,
                *, name: str = "source"):
    """Load a set of grayscale natural images as ``(n_images, height, width)``.

    Parameters
    ----------
    source : str, path or array_like
        ``"skimage"`` (default): ten natural photographs bundled with
        scikit-image, centre-cropped to squares and resized to ``size``
        (default 256) pixels.
        A path to a ``.mat`` file in Olshausen's format (``IMAGES.mat`` or
        ``IMAGES_RAW.mat``: key ``IMAGES`` or ``IMAGESr``, shape
        (height, width, n_images)).
        A folder of raw sparsenet files (``image0`` ... ``image9``: headerless
        big-endian float32 squares, as distributed with the first sparsenet).
        A folder of image files (PNG, JPEG, TIFF, BMP, PGM), or one such
        file. A folder holding a single ``.mat`` file reads that file.
        An array of shape (n_images, height, width) or (height, width).
    size : int, optional
        Side of the square every image is centre-cropped and resized to.
        Default: 256 for ``"skimage"`` and for folders of images of unequal
        sizes; otherwise images are kept as they are.
    max_images : int, optional
        Keep only the first ``max_images`` images.
    name : str
        The caller's name of ``source`` (e.g. ``"images"``), used in messages.

    Returns
    -------
    images : ndarray, shape (n_images, height, width), float64
        Grayscale intensities (photographs in [0, 1]; ``.mat`` and raw files
        as stored).
    """
    if size is not None:
        size = check_int(size, "size", minimum=8)
    if max_images is not None:
        max_images = check_int(max_images, "max_images", minimum=1)
    if isinstance(source, str) and source == "skimage":
        images = _load_skimage(size or 256)
    elif isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"{name}: no such file or folder: {str(path)!r} (expected 'skimage', a .mat "
                "file, a folder of sparsenet raw files or a folder of PNG/JPEG/TIFF images)"
            )
        if path.is_dir():
            images = _load_folder(path, size, name)
        elif path.suffix.lower() == ".mat":
            images = _load_mat(path, name)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            images = _read_image_files([path], size, name)
        else:
            raise ValueError(
                f"{name}: cannot read {str(path)!r}: expected a .mat file, an image file or a "
                "folder"
            )
    else:
        images = check_array(source, name, ndim=(2, 3))
        if images.ndim == 2:
            images = images[None]
    if size is not None and images.shape[1:] != (size, size):
        images = np.stack([_square(im, size) for im in images])
    if max_images is not None:
        images = images[:max_images]
    images = np.ascontiguousarray(images, dtype=np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} {describe(source)}: images contain NaN or inf")
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


def _to_gray(image):
    from skimage.color import rgb2gray, rgba2rgb

    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(float)
    if image.ndim == 3 and image.shape[2] == 4:
        image = rgba2rgb(image)
    if image.ndim == 3:
        image = rgb2gray(image)
    if np.issubdtype(image.dtype, np.integer):
        image = image / float(np.iinfo(image.dtype).max)
    return image.astype(np.float64)


def _load_skimage(size):
    import skimage.data
    from skimage.io import imread

    folder = Path(skimage.data.__file__).parent
    files = [folder / name for name in SKIMAGE_SCENES if (folder / name).exists()]
    if not files:
        raise RuntimeError(
            f"no bundled photographs found in {folder}; reinstall scikit-image or pass "
            "source=PATH"
        )
    return np.stack([_square(_to_gray(imread(f)), size) for f in files])


def _read_image_files(files, size, name="source"):
    from skimage.io import imread

    images = []
    for f in files:
        try:
            images.append(_to_gray(imread(f)))
        except Exception as exc:  # noqa: BLE001 - report which file failed
            raise ValueError(f"{name}: cannot read image file {str(f)!r}: {exc}") from exc
    shapes = {im.shape for im in images}
    if len(shapes) > 1 or size is not None:
        images = [_square(im, size or 256) for im in images]
    return np.stack(images)


def _load_folder(path, size, name="source"):
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    pictures = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if pictures:
        return _read_image_files(pictures, size, name)
    raw = [p for p in files if p.suffix == "" and p.name.startswith("image")]
    if raw:
        return np.stack([_read_raw(p, name) for p in sorted(raw, key=_natural_key)])
    mats = [p for p in files if p.suffix.lower() == ".mat"]
    if len(mats) == 1:
        return _load_mat(mats[0], name)
    raise ValueError(
        f"{name}: folder {str(path)!r} holds no PNG/JPEG/TIFF images, no sparsenet raw files "
        "(image0, image1, ...) and no single .mat file"
    )


def _natural_key(p):
    digits = "".join(c for c in p.name if c.isdigit())
    return (int(digits) if digits else -1, p.name)


def _read_raw(path, name="source"):
    """One headerless big-endian float32 square image (sparsenet's raw format)."""
    n_values = path.stat().st_size // 4
    side = int(round(np.sqrt(n_values)))
    if side * side != n_values or path.stat().st_size % 4:
        raise ValueError(
            f"{name}: raw file {str(path)!r} has {path.stat().st_size} bytes, which is not a "
            "square image of big-endian float32 values"
        )
    return np.fromfile(path, dtype=">f4").reshape(side, side).astype(np.float64)


def _load_mat(path, name="source"):
    try:
        from scipy.io import loadmat

        content = loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        content = _load_mat_v73(path)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{name}: cannot read .mat file {str(path)!r}: {exc}") from exc
    for key in MAT_KEYS:
        if key in content:
            arr = np.asarray(content[key], dtype=np.float64)
            break
    else:
        found = sorted(k for k in content if not k.startswith("__"))
        raise KeyError(
            f"{name}: {str(path)!r} has no key {' or '.join(MAT_KEYS)}; it holds {found}"
        )
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(
            f"{name}: {str(path)!r} key {key!r} has shape {arr.shape}; expected "
            "(height, width, n_images)"
        )
    return np.ascontiguousarray(np.moveaxis(arr, 2, 0))


def _load_mat_v73(path):
    import h5py

    with h5py.File(path, "r") as f:
        # HDF5 stores MATLAB arrays transposed
        return {k: np.asarray(f[k]).T for k in f.keys() if isinstance(f[k], h5py.Dataset)}


def whitening_filter(shape, f0: float | None = None):
    """Olshausen & Field's zero-phase whitening filter R(f) = f exp(-(f/f0)^4).

    ``f`` is the radial spatial frequency in cycles per picture (of side
    ``N = min(height, width)``); ``f0`` defaults to ``0.4 N``. Returned in
    FFT order (unshifted), shape ``shape``.
    """
    h, w = shape
    n = min(h, w)
    fy = np.fft.fftfreq(h)[:, None] * n
    fx = np.fft.fftfreq(w)[None, :] * n
    rho = np.sqrt(fx**2 + fy**2)
    f0 = 0.4 * n if f0 is None else check_positive(f0, "f0")
    return rho * np.exp(-((rho / f0) ** 4))


def whiten(images, f0: float | None = None, variance: float = 0.1):
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
    f0 : float, optional
        Cut-off in cycles per picture; default ``0.4 * min(height, width)``.
        At least the lowest non-zero frequency of the pictures,
        ``min(height, width) / max(height, width)`` (1 for square images):
        a smaller cut-off removes every frequency they hold.
    variance : float
        Target mean pixel variance after whitening.

    Returns
    -------
    ndarray, shape (n_images, height, width), float64

    Raises
    ------
    ValueError
        For a constant picture (nothing to whiten), an ``f0`` below the
        lowest frequency of the pictures, or a filter that leaves no power.
    """
    images = check_array(images, "images", ndim=(2, 3))
    if images.ndim == 2:
        images = images[None]
    h, w = images.shape[1:]
    if min(h, w) < 4:
        raise ValueError(f"images must be at least 4x4 pixels, got shape {images.shape}")
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
    # an exact rescaling by a power of two: the FFT and the variances below neither
    # overflow (images * 1e200) nor underflow (images * 1e-300); the output is rescaled
    # to `variance` at the end anyway
    images = images / pow2_scale(images)
    flat = images.reshape(len(images), -1)
    # constant up to rounding errors of the picture's own scale
    zero = np.flatnonzero(flat.std(axis=1) <= 1e-12 * np.abs(flat).max(axis=1))
    if zero.size:
        raise ValueError(
            f"images: image {int(zero[0])} has zero variance (a constant picture cannot be "
            "whitened)"
        )
    filt = whitening_filter(images.shape[1:], f0)
    out = np.real(np.fft.ifft2(np.fft.fft2(images, axes=(1, 2)) * filt, axes=(1, 2)))
    power = np.mean(out.var(axis=(1, 2)))
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
    border : int
        Pixels left out at every image edge, as in :func:`sample_patches`.
    name : str
        The caller's name of ``size`` (e.g. ``"patch_size"``), used in the message.
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
):
    """Draw ``n`` random square patches, flattened row-major.

    Parameters
    ----------
    images : array_like, shape (n_images, height, width)
    size : int
        Patch side in pixels.
    n : int
        Number of patches.
    seed : int, Generator or None
    border : int
        Pixels left out at every image edge (the whitening filter wraps
        around at the edges; sparsenet uses 4).
    remove_mean : bool
        Subtract each patch's mean.
    min_variance : float
        Reject patches whose variance is below this value (blank sky,
        saturated areas) and draw again.
    normalize : bool
        Scale each patch to zero mean and unit variance (SAILnet's convention;
        implies ``remove_mean``). Flat patches (s.d. at most 1e-12 times the
        patch's largest absolute value) cannot be scaled and are drawn again.

    Returns
    -------
    X : ndarray, shape (n, size * size), float64
    """
    images = check_array(images, "images", ndim=(2, 3))
    if images.ndim == 2:
        images = images[None]
    size = check_patch_size(size, images.shape, border)
    n = check_int(n, "n", minimum=1)
    border = check_int(border, "border", minimum=0)
    min_variance = check_nonnegative(min_variance, "min_variance")
    remove_mean = check_bool(remove_mean, "remove_mean")
    normalize = check_bool(normalize, "normalize")
    n_img, h, w = images.shape
    rng = as_generator(seed)
    chosen, n_found, tries = [], 0, 0
    while n_found < n:
        tries += 1
        if tries > 50:
            if normalize and min_variance == 0:
                raise ValueError(
                    f"could not find {n} patches that are not flat (normalize=True divides "
                    f"each patch by its s.d.): only {n_found} after 50 rounds; the images are "
                    "constant over every patch"
                )
            why = " that are not flat" if normalize else ""
            raise ValueError(
                f"could not find {n} patches with variance >= {min_variance:g}{why}: only "
                f"{n_found} after 50 rounds; lower min_variance (images variance is "
                f"{images.var():.3g})"
            )
        m = max(2 * (n - n_found), 16)
        img = rng.integers(0, n_img, m)
        r = rng.integers(border, h - border - size + 1, m)
        c = rng.integers(border, w - border - size + 1, m)
        win = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
        P = win[img, r, c].reshape(m, size * size)
        keep = np.ones(m, bool)
        if min_variance > 0:
            keep &= P.var(axis=1) >= min_variance
        if normalize:
            # flat relative to the patch's own scale (small-scale images are fine)
            keep &= (P / pow2_scale(P, axis=1, keepdims=True)).std(axis=1) > 1e-12
        chosen.append(P[keep][: n - n_found])
        n_found += len(chosen[-1])
    X = np.concatenate(chosen).astype(np.float64)
    if remove_mean or normalize:
        X -= X.mean(axis=1, keepdims=True)
    if normalize:
        X /= pow2_scale(X, axis=1, keepdims=True)  # exact; keeps the variances in range
        X /= X.std(axis=1, keepdims=True)
    return X


def is_prewhitened(source) -> bool:
    """Whether ``source`` names Olshausen's already-whitened images.

    True for a folder of sparsenet raw files and for a ``.mat`` whose key is
    ``IMAGES`` (``IMAGES_RAW.mat`` holds ``IMAGESr``, the unwhitened ones);
    False for the embedded photographs, photograph folders and arrays.
    """
    if not isinstance(source, (str, Path)) or source == "skimage":
        return False
    path = Path(source).expanduser()
    if path.is_dir():
        names = [p for p in path.iterdir() if p.is_file()]
        if any(p.suffix.lower() in IMAGE_SUFFIXES for p in names):
            return False
        if any(p.suffix == "" and p.name.startswith("image") for p in names):
            return True
        mats = [p for p in names if p.suffix.lower() == ".mat"]
        return len(mats) == 1 and is_prewhitened(mats[0])
    if path.suffix.lower() == ".mat":
        from scipy.io import whosmat

        try:
            keys = [entry[0] for entry in whosmat(path)]
        except Exception:  # noqa: BLE001 - v7.3 files: judge by name
            return "RAW" not in path.name.upper()
        return "IMAGES" in keys
    return False


def load_whitened(source="skimage", prewhitened: bool | None = None, *, name: str = "source",
                  **load_kwargs):
    """Load images and whiten them unless they already are.

    Parameters
    ----------
    source : see :func:`load_images`
    prewhitened : bool, optional
        Whether ``source`` is already whitened; default
        :func:`is_prewhitened` (True for Olshausen's whitened files), so
        that his images are never whitened twice.
    name : str
        The caller's name of ``source`` (e.g. ``"images"``), used in messages.
    **load_kwargs
        Passed to :func:`load_images`.

    Returns
    -------
    images : ndarray, shape (n_images, height, width)
    prewhitened : bool
        The value used (recorded by studies in their attrs).
    """
    if prewhitened is not None:
        prewhitened = check_bool(prewhitened, "prewhitened")
    raw = load_images(source, name=name, **load_kwargs)
    if prewhitened is None:
        prewhitened = is_prewhitened(source)
    return (raw if prewhitened else whiten(raw)), bool(prewhitened)
