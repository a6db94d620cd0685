"""stimuli.digits: scikit-learn's bundled digits and the IDX reader."""

import gzip

import numpy as np
import pytest

from stimuli.digits import load_digits, load_mnist, read_idx


def test_bundled_digits_match_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    images, labels = load_digits()
    ref = sk.load_digits()
    np.testing.assert_allclose(images, ref.images / 16.0)
    np.testing.assert_array_equal(labels, ref.target)


def _write_idx(path, array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def test_mnist_reader_round_trip(tmp_path, rng):
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5, dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08)
    x, y = load_mnist(tmp_path, split="test")
    np.testing.assert_allclose(x, images / 255.0)
    np.testing.assert_array_equal(y, labels)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "trunc", np.zeros((4, 4), np.uint8), 0x08)
    (tmp_path / "trunc").write_bytes((tmp_path / "trunc").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "trunc")
    # multi-byte values cut mid-value (was numpy's "buffer size must be a multiple of
    # element size"), and bytes past the data
    _write_idx(tmp_path / "f4", np.arange(3, dtype=np.float32), 0x0D)
    (tmp_path / "f4").write_bytes((tmp_path / "f4").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"is truncated: header says \(3,\) of 4 bytes each "
                                         r"\(12 bytes\), found 11"):
        read_idx(tmp_path / "f4")
    _write_idx(tmp_path / "long", np.arange(3, dtype=np.uint8), 0x08)
    (tmp_path / "long").write_bytes((tmp_path / "long").read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="has bytes past its data"):
        read_idx(tmp_path / "long")
    with pytest.raises(FileNotFoundError, match="no train-images"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        load_mnist(tmp_path, split="val")


def test_mnist_in_kaggles_layout(tmp_path, rng):
    """Kaggle's MNIST unpacks ``train-images.idx3-ubyte`` beside a folder
    ``train-images-idx3-ubyte/`` holding the same file; the folder sorted first and
    load_mnist failed with "no such IDX file" on it."""
    images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 4, dtype=np.uint8)
    for stem, array in (("train-images", images), ("train-labels", labels)):
        ext = "idx3-ubyte" if stem.endswith("images") else "idx1-ubyte"
        (tmp_path / f"{stem}-{ext}").mkdir()
        _write_idx(tmp_path / f"{stem}-{ext}" / f"{stem}-{ext}", array, 0x08)
        _write_idx(tmp_path / f"{stem}.{ext}", array, 0x08)
    x, y = load_mnist(tmp_path)
    np.testing.assert_allclose(x, images / 255.0)
    np.testing.assert_array_equal(y, labels)
    # only the nested copies: read from inside the folders
    for stem in ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"):
        (tmp_path / stem).unlink()
    x, y = load_mnist(tmp_path)
    np.testing.assert_allclose(x, images / 255.0)
    np.testing.assert_array_equal(y, labels)


def test_paths_that_are_not_paths_are_named():
    # None and numbers failed inside pathlib with "expected str, bytes or os.PathLike"
    with pytest.raises(TypeError, match=r"^path must be a file name .*got None"):
        read_idx(None)
    with pytest.raises(TypeError, match=r"^folder must be a folder name .*got 3"):
        load_mnist(3)


def test_idx_gzip_is_told_by_content_not_name(tmp_path, rng):
    """Browsers save a decompressed ``*.gz`` download under its ``.gz`` name: read_idx
    refused it ("Not a gzipped file"), and a gzipped file without ``.gz`` was "not an
    IDX file"."""
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 3, dtype=np.uint8)
    _write_idx(tmp_path / "plain", images, 0x08)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes((tmp_path / "plain").read_bytes())
    _write_idx(tmp_path / "labels.gz", labels, 0x08)
    (tmp_path / "labels.gz").rename(tmp_path / "train-labels-idx1-ubyte")
    (tmp_path / "plain").unlink()
    np.testing.assert_array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "train-labels-idx1-ubyte"), labels)
    x, y = load_mnist(tmp_path)
    np.testing.assert_allclose(x, images / 255.0)
    np.testing.assert_array_equal(y, labels)
    # a truncated gzip is still reported as such
    data = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x04abcd")
    (tmp_path / "cut.gz").write_bytes(data[:-6])
    with pytest.raises(ValueError, match="cannot decompress"):
        read_idx(tmp_path / "cut.gz")


@pytest.mark.parametrize("array, code", [
    (np.random.default_rng(3).random((4, 28, 28)).astype(np.float32), 0x0D),
    (np.random.default_rng(4).integers(0, 256, (4, 784)).astype(np.uint8), 0x08),
])
def test_mnist_images_that_are_not_8_bit_pictures_are_refused(tmp_path, array, code):
    """A float IDX file came out divided by 255 (values up to 1/255, said to be in [0, 1]),
    a flat (n, 784) one as it was (said to be (n, 28, 28))."""
    _write_idx(tmp_path / "train-images-idx3-ubyte", array, code)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(4, dtype=np.uint8), 0x08)
    with pytest.raises(ValueError, match=rf"^folder: '.*train-images-idx3-ubyte' holds "
                                         rf"{array.dtype.name} images of shape "
                                         rf"\({array.shape[0]}, {array.shape[1]}.*; MNIST's are "
                                         r"uint8 .* read_idx\(path\)$"):
        load_mnist(tmp_path)


def test_damaged_mnist_files_are_named_by_the_folder_argument(tmp_path):
    """load_mnist has no argument ``path``: a truncated or foreign file of its folder was
    reported as "path: ...", the argument of read_idx it calls; read_idx keeps its own."""
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images, 0x08)
    cut = tmp_path / "train-images-idx3-ubyte"
    cut.write_bytes(cut.read_bytes()[:-5])
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(2, dtype=np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"^folder: '.*train-images-idx3-ubyte' is truncated"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match=r"^path: '.*train-images-idx3-ubyte' is truncated"):
        read_idx(cut)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(2, dtype=np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"^folder: '.*t10k-images-idx3-ubyte' is not an IDX"):
        load_mnist(tmp_path, split="test")


def test_mnist_labels_are_one_digit_per_image(tmp_path, rng):
    """The labels file was not checked: an images file in its place came back as "labels"
    of shape (n, 28, 28), values outside 0-9 passed through, and a count that disagreed
    was told without naming the two files."""
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images, 0x08)
    labels = tmp_path / "train-labels-idx1-ubyte"
    _write_idx(labels, images, 0x08)
    with pytest.raises(ValueError, match=r"^folder: '.*train-labels-idx1-ubyte' holds uint8 "
                                         r"labels of shape \(3, 28, 28\); MNIST's are integers "
                                         r"of shape \(n_images,\)"):
        load_mnist(tmp_path)
    _write_idx(labels, np.array([3, 9, 10], np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"^folder: '.*train-labels-idx1-ubyte' holds 1 labels "
                                         r"outside the digits 0 to 9 \(the first, at index 2, "
                                         r"is 10\)$"):
        load_mnist(tmp_path)
    _write_idx(labels, np.array([3, 9], np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"^folder: 3 images but 2 labels \('.*train-images-"
                                         r"idx3-ubyte' and '.*train-labels-idx1-ubyte'\)"):
        load_mnist(tmp_path)
    _write_idx(labels, np.array([0, 9, 5], np.uint8), 0x08)
    np.testing.assert_array_equal(load_mnist(tmp_path)[1], [0, 9, 5])
