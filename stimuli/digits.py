"""Handwritten digits: scikit-learn's bundled 8x8 digits and an MNIST reader.

Images are ``(n_images, height, width)`` floats in [0, 1], labels
``(n_images,)`` ints. Nothing is downloaded: the small set is read from the
file scikit-learn ships inside its package, MNIST from a folder the user gives
(the four IDX files, gzipped or not).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from v1model.validation import check_path

__all__ = ["load_digits", "load_mnist", "read_idx"]

_GZIP_MAGIC = b"\x1f\x8b"


def load_digits():
    """The 1,797 8x8 handwritten digits bundled with scikit-learn.

    Returns
    -------
    images : ndarray, shape (1797, 8, 8), float64
        Values in [0, 1] (the 0-16 counts divided by 16).
    labels : ndarray, shape (1797,), int
        Digits 0 to 9.

    Raises
    ------
    ImportError
        When scikit-learn is not installed.
    """
    try:
        import sklearn.datasets
    except ImportError as exc:  # scikit-learn is an optional dependency
        raise ImportError(
            "load_digits reads the digits bundled with scikit-learn: pip install scikit-learn "
            "(or use load_mnist(PATH))"
        ) from exc
    path = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    data = np.loadtxt(path, delimiter=",")
    images = data[:, :-1].reshape(-1, 8, 8) / 16.0
    return images, data[:, -1].astype(int)


def read_idx(path):
    """Read one IDX file (MNIST's format, optionally gzipped) as an ndarray.

    Parameters
    ----------
    path : str or Path
        The IDX file, gzipped or not (told by its content, whatever its name:
        a browser may save a decompressed file under its ``.gz`` name).

    Returns
    -------
    ndarray
        The shape and (big-endian) dtype given by the file's header, e.g.
        ``(60000, 28, 28)`` uint8 for MNIST's training images.

    Raises
    ------
    TypeError
        When ``path`` is not a str or path-like.
    FileNotFoundError
        When ``path`` is not a file.
    ValueError
        For a bad magic number, an unknown data type or a truncated file.
    """
    return _read_idx(check_path(path, "path"))  # None or a number failed inside pathlib


def _read_idx(path, name="path"):
    """:func:`read_idx` of the Path ``path``, its errors naming the caller's argument
    ``name``: a damaged file of load_mnist's folder was "path: ... is truncated", an
    argument load_mnist has not."""
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no such IDX file: {str(path)!r}")
    raw = path.read_bytes()
    # gzip is told by its magic bytes, not by the name: browsers save a decompressed
    # "train-images-idx3-ubyte.gz" under its .gz name, and gunzip-less copies lose it
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # a truncated .gz
            raise ValueError(f"{name}: cannot decompress {str(path)!r}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{name}: {str(path)!r} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{name}: {str(path)!r} has unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(dtypes[raw[2]])
    body, expected = len(raw) - (4 + 4 * ndim), int(np.prod(shape)) * dtype.itemsize
    if body != expected:  # checked on bytes: frombuffer refuses a partial last value
        what = "is truncated" if body < expected else "has bytes past its data"
        raise ValueError(f"{name}: {str(path)!r} {what}: header says {shape} of {dtype.itemsize} "
                         f"bytes each ({expected} bytes), found {max(body, 0)}")
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(folder, split: str = "train"):
    """MNIST from a folder holding the IDX files (``train-images-idx3-ubyte[.gz]`` ...).

    Parameters
    ----------
    folder : str or Path
        Folder with the ``train-*`` and/or ``t10k-*`` images and labels files
        (``train-images-idx3-ubyte``, ``.gz`` or not, or Kaggle's
        ``train-images.idx3-ubyte``; a file inside a folder of that name is
        read when the folder holds no such file itself).
    split : {"train", "test"}, default "train"
        Training (60,000 digits) or test (10,000 digits) set.

    Returns
    -------
    images : ndarray, shape (n_images, 28, 28), float64
        Values in [0, 1].
    labels : ndarray, shape (n_images,), int
        Digits 0 to 9.

    Raises
    ------
    TypeError
        When ``folder`` is not a str or path-like.
    ValueError
        For an unknown ``split``, a corrupt file, images that are not uint8
        of shape (n_images, height, width) (:func:`read_idx` reads any IDX
        file), labels that are not integers of shape (n_images,) (an images
        file in their place) or not digits 0 to 9, or images and labels of
        different lengths; each names the file.
    FileNotFoundError
        When the folder or one of the split's two files is missing, or ``folder``
        is a file.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = check_path(folder, "folder", "folder")  # None or a number failed inside pathlib
    if folder.exists() and not folder.is_dir():  # "no such folder" for a file there
        raise FileNotFoundError(f"folder: {str(folder)!r} is a file; give the folder that "
                                f"holds the MNIST files (this file's is "
                                f"{str(folder.parent)!r})")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder: no such folder: {str(folder)!r}")
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind, stem in (("images", f"{prefix}-images"), ("labels", f"{prefix}-labels")):
        # files only: Kaggle's MNIST unpacks each file a second time inside a folder of the
        # same name (train-images-idx3-ubyte/train-images-idx3-ubyte), which sorts first
        candidates = sorted(p for p in folder.glob(f"{stem}*idx*") if p.is_file())
        if not candidates:
            candidates = sorted(p for p in folder.glob(f"{stem}*idx*/{stem}*idx*")
                                if p.is_file())
        if not candidates:
            raise FileNotFoundError(f"folder: no {stem}-idx file in {str(folder)!r}")
        found[kind] = _read_idx(candidates[0], "folder")
        found[kind + "_file"] = candidates[0]
    images = found["images"]
    if images.dtype != np.uint8 or images.ndim != 3:
        # a float file came out divided by 255 (values up to 1/255), a flat (n, 784) one
        # as it was, neither as documented
        raise ValueError(f"folder: {str(found['images_file'])!r} holds {images.dtype.name} "
                         f"images of shape {images.shape}; MNIST's are uint8 (0-255) of shape "
                         "(n_images, height, width): read other IDX files with read_idx(path)")
    labels = found["labels"]
    labels_file = repr(str(found["labels_file"]))
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        # an images file in the labels' place came back as "labels" of shape (n, 28, 28)
        raise ValueError(f"folder: {labels_file} holds {labels.dtype.name} labels of shape "
                         f"{labels.shape}; MNIST's are integers of shape (n_images,), one "
                         "digit 0 to 9 per image (an images file in its place?)")
    if len(images) != len(labels):
        # the two files of one split: a train labels file beside t10k images was "folder:
        # 10000 images but 60000 labels", naming neither
        raise ValueError(f"folder: {len(images)} images but {len(labels)} labels "
                         f"({str(found['images_file'])!r} and {labels_file}); the images and "
                         "labels files of one split hold one label per image")
    outside = (labels < 0) | (labels > 9)
    if outside.any():
        # labels 0 to 9 are documented; other values passed through to a classifier
        first = int(np.argmax(outside))
        raise ValueError(f"folder: {labels_file} holds {int(outside.sum())} labels outside the "
                         f"digits 0 to 9 (the first, at index {first}, is {labels[first]})")
    return images.astype(np.float64) / 255.0, labels.astype(int)
