"""A user's own files: MATLAB v7.3 image sets, phone photographs, 16-bit PGM,
damaged WAV and gzipped IDX files."""

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from stimuli.images import is_prewhitened, load_images


def test_a_v73_file_of_unwhitened_images_is_not_taken_for_whitened(tmp_path,
                                                                     write_matlab_v73):
    """IMAGESr (unwhitened) in a v7.3 file not named *RAW*: the study skipped whitening."""
    cube = np.random.default_rng(0).random((16, 16, 2))
    write_matlab_v73(tmp_path / "photos.mat", "IMAGESr", cube)
    write_matlab_v73(tmp_path / "whitened.mat", "IMAGES", cube)
    assert not is_prewhitened(tmp_path / "photos.mat")
    assert is_prewhitened(tmp_path / "whitened.mat")


def test_a_damaged_v73_file_is_named(tmp_path, write_matlab_v73):
    cube = np.random.default_rng(0).random((16, 16, 2))
    write_matlab_v73(tmp_path / "IMAGES.mat", "IMAGES", cube)
    data = (tmp_path / "IMAGES.mat").read_bytes()
    (tmp_path / "cut.mat").write_bytes(data[:1500])
    with pytest.raises(ValueError, match=r"images: cannot read \.mat file .*cut\.mat'"):
        load_images(tmp_path / "cut.mat", name="images")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    """Phones store portraits as landscape pixels plus an EXIF orientation tag."""
    from PIL import Image, ImageOps

    pixels = (np.random.default_rng(1).random((6, 10)) * 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "p.png", exif=exif)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "p.png"))) / 255
    np.testing.assert_allclose(load_images(tmp_path / "p.png")[0], shown)
    with Image.open(tmp_path / "p.png") as opened:  # the file opened: turned as the file is
        np.testing.assert_allclose(load_images(opened)[0], shown)


def test_a_picture_file_is_decoded_once(tmp_path, write_png, monkeypatch):
    """Pillow's getexif of a PNG decodes its pixels (in case an eXIf chunk follows them)
    and imread decoded them again: every PNG was decoded twice (2 decoders for one 8-bit
    RGB PNG). Once now, counted at ImageFile.load, for a PNG without EXIF, one turned
    by an EXIF orientation before its pixels, one with a text chunk after them
    (ImageMagick's dates) and a turned JPEG; the pixels are those Pillow shows
    (ImageOps.exif_transpose). An orientation after the pixels, which Pillow reads only by
    decoding them (an eXIf chunk, or XMP's tiff:Orientation in an iTXt
    chunk), is applied too; a truncated PNG is still called damaged."""
    import PIL.ImageFile
    from PIL import Image, ImageOps

    rgb = (np.random.default_rng(7).random((6, 10, 3)) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter clockwise to be shown
    Image.fromarray(rgb).save(tmp_path / "plain.png")
    Image.fromarray(rgb).save(tmp_path / "turned.png", exif=exif)
    Image.fromarray(rgb).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    write_png(tmp_path / "dated.png", rgb,
              after_pixels=[(b"tEXt", b"date:create\x002026-12-08T01:00:00+00:00")])
    # an eXIf chunk holds the EXIF block without the "Exif\0\0" that tobytes() starts with
    write_png(tmp_path / "turned_late.png", rgb, after_pixels=[(b"eXIf", exif.tobytes()[6:])])
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
           b'1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/'
           b'tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    write_png(tmp_path / "xmp_late.png", rgb,
              after_pixels=[(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp)])
    weights = np.array([0.2125, 0.7154, 0.0721])  # rgb2gray's, as load_images documents

    def shown(name):
        with Image.open(tmp_path / name) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB")) / 255 @ weights

    # a decoding is a call of ImageFile.load (public) with tiles left to decode; Pillow's
    # private _getdecoder, counted before, may be renamed or bypassed between versions
    decoders = []
    real = PIL.ImageFile.ImageFile.load

    def counted_load(image):
        if image.tile:
            decoders.append(type(image).__name__)
        return real(image)

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", counted_load)
    for name, decoded in (("plain.png", 1), ("turned.png", 1), ("dated.png", 1),
                          ("turned.jpg", 1), ("turned_late.png", 2), ("xmp_late.png", 2)):
        expected = shown(name)
        decoders.clear()
        read = load_images(tmp_path / name)[0]
        assert len(decoders) == decoded, (name, decoders)
        assert read.shape == ((6, 10) if name in ("plain.png", "dated.png") else (10, 6))
        np.testing.assert_allclose(read, expected, rtol=0, atol=1e-12, err_msg=name)
    (tmp_path / "cut.png").write_bytes((tmp_path / "plain.png").read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"cut\.png': not a readable image \(damaged, "
                                         r"truncated, .*\): image file is truncated"):
        load_images(tmp_path / "cut.png")


def test_a_16_bit_pgm_is_scaled_as_a_16_bit_png(tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(2).integers(0, 65536, (12, 12)).astype(np.uint16)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "b.pgm")
    images = load_images(tmp_path)
    np.testing.assert_allclose(images[1], images[0])
    np.testing.assert_allclose(images[0], pixels / 65535)


def test_a_32_bit_tiff_of_16_bit_values_is_scaled_as_a_16_bit_png(tmp_path):
    """Pillow's mode "I" (int32) was divided by 2**31 - 1, as scikit-image's img_as_float
    does: a 16-bit camera's data saved as a 32-bit TIFF came out below 3e-5."""
    from PIL import Image

    pixels = np.random.default_rng(3).integers(0, 65536, (25, 40))
    pixels[0, 0] = 65535
    Image.fromarray(pixels.astype(np.uint16)).save(tmp_path / "a.png")
    Image.fromarray(pixels.astype(np.int32), mode="I").save(tmp_path / "b.tif")
    assert Image.open(tmp_path / "b.tif").mode == "I"
    images = load_images(tmp_path)
    np.testing.assert_allclose(images[0], pixels / 65535, rtol=1e-12)
    np.testing.assert_array_equal(images[1], images[0])
    # small values too: the scale is that of 16 bits, not of the values' own maximum
    Image.fromarray(np.arange(1000, dtype=np.int32).reshape(25, 40), mode="I").save(
        tmp_path / "x.tif")
    np.testing.assert_allclose(load_images(tmp_path / "x.tif")[0],
                               np.arange(1000).reshape(25, 40) / 65535, rtol=1e-12)
    # beyond 16 bits (or negative): the whole 32-bit range, as img_as_float
    wide = np.array([[0, 70000], [2**31 - 1, 5]], dtype=np.int32)
    Image.fromarray(wide, mode="I").save(tmp_path / "w.tif")
    np.testing.assert_allclose(load_images(tmp_path / "w.tif")[0], wide / (2**31 - 1),
                               rtol=1e-12)


def test_32_bit_pixels_beyond_16_bits_are_divided_by_the_largest_value_of_their_type(
        tmp_path):
    """int32 pixels above 65535 are divided by 2**31 - 1, uint32 ones by 2**32 - 1 (the
    docs said 2**31 - 1 for both: a full-range uint32 TIFF came out at 1.0, not ~2)."""
    iio = pytest.importorskip("imageio.v3")
    import stimuli.images

    for dtype, top in ((np.int32, 2**31 - 1), (np.uint32, 2**32 - 1)):
        pixels = np.tile(np.array([[0, 70000, top]], dtype), (8, 3))
        path = tmp_path / f"{np.dtype(dtype).name}.tif"
        iio.imwrite(path, pixels)
        assert iio.imread(path).dtype == dtype
        np.testing.assert_allclose(load_images(path)[0], pixels / top, rtol=1e-12)
    doc = " ".join(stimuli.images.load_images.__doc__.split())
    assert "2**31 - 1 for ``int32`` and 2**32 - 1 for ``uint32``" in doc


def test_16_bit_colour_pngs_are_warned_of_as_read_at_8_bits(tmp_path, write_png):
    """Pillow reads 16-bit RGB, RGBA and gray + alpha PNGs at 8 bits: a dim picture (levels
    0-2000 of 65535, a linear exposure) came back with 8 gray levels, unsaid, while the
    same pixels as a 16-bit TIFF or a 16-bit gray PNG are read whole."""
    tifffile = pytest.importorskip("tifffile")

    levels = (np.linspace(0, 2000, 24 * 24).reshape(24, 24)).round().astype(np.uint16)
    rgb = np.dstack([levels] * 3)  # gray in colour: its gray is the levels themselves
    opaque = np.full_like(levels, 65535)
    write_png(tmp_path / "gray16.png", levels)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb, photometric="rgb")
    write_png(tmp_path / "rgb8.png", (rgb // 256).astype(np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read whole, or 8 bits said by the file: no word
        for f in ("gray16.png", "rgb16.tif"):
            np.testing.assert_allclose(load_images(tmp_path / f)[0], levels / 65535,
                                       rtol=1e-12, atol=1e-15)
        load_images(tmp_path / "rgb8.png")
    for f, pixels, kind in (("rgb16.png", rgb, "RGB"),
                            ("rgba16.png", np.dstack([rgb, opaque]), "RGBA"),
                            ("la16.png", np.dstack([levels, opaque]), "gray \\+ alpha")):
        write_png(tmp_path / f, pixels)
        with pytest.warns(UserWarning, match=(
                rf"images: '[^']*{f}' is a PNG of 16-bit {kind} pixels, which Pillow, the "
                r"reader, gives at 8 bits: its levels are rounded to steps of 1/255")):
            read = load_images(tmp_path / f, name="images")[0]
        # what the warning says: the high byte of each level (2000 // 256 = 7), of 65535
        np.testing.assert_allclose(read, (levels // 256) / 255, atol=1e-12)
        assert len(np.unique(read)) == 8
    # a folder, and a list of files, once for all, counting the files
    folder = tmp_path / "mixed"
    folder.mkdir()
    for f in ("a.png", "b.png"):
        write_png(folder / f, rgb)
    write_png(folder / "c.png", levels)
    with pytest.warns(UserWarning, match=r"2 of the 3 picture files are PNGs of 16-bit colour "
                      r"pixels \(the first, '[^']*a\.png', 16-bit RGB\)") as caught:
        load_images(folder)
    assert sum("16-bit" in str(w.message) for w in caught) == 1
    with pytest.warns(UserWarning, match=r"1 of the 2 picture files is a PNG of 16-bit colour"):
        load_images([folder / "c.png", folder / "b.png", levels / 65535])
    from PIL import Image

    with Image.open(folder / "a.png") as opened:  # the file opened: read (and warned) as it
        with pytest.warns(UserWarning, match=r"images: '[^']*a\.png' is a PNG of 16-bit RGB"):
            np.testing.assert_allclose(load_images(opened, name="images")[0],
                                       (levels // 256) / 255, atol=1e-12)


def test_a_16_bit_rgb_pngs_transparent_colour_is_not_matched_at_8_bits(tmp_path, write_png):
    """Pillow compares a 16-bit RGB PNG's transparent colour (tRNS, 16-bit) with the
    pixels it gives at 8 bits: with black transparent, every pixel below level 256 of
    65535 came back white (8 of the 64 of this dim gradient, where one is transparent).
    That colour cannot be told at 8 bits: it is not applied, and the warning says so."""
    from PIL import Image

    levels = np.linspace(0, 2000, 64).round().astype(np.uint16).reshape(8, 8)
    rgb = np.dstack([levels] * 3)
    write_png(tmp_path / "keyed.png", rgb, transparent=(0, 0, 0))
    with Image.open(tmp_path / "keyed.png") as opened:  # the tRNS chunk as Pillow reads it
        assert opened.info["transparency"] == (0, 0, 0)
    with pytest.warns(UserWarning, match=(
            r"images: '[^']*keyed\.png' is a PNG of 16-bit RGB pixels, .*a few gray levels\); "
            r"its transparent colour \(tRNS, 16-bit\) cannot be told at 8 bits and is not "
            r"applied: transparent pixels keep their colour; save it as")):
        read = load_images(tmp_path / "keyed.png", name="images")[0]
    np.testing.assert_allclose(read, (levels // 256) / 255, atol=1e-12)  # none whitened
    with Image.open(tmp_path / "keyed.png") as opened:  # a PIL image, read as its file
        with pytest.warns(UserWarning, match=r"its transparent colour \(tRNS, 16-bit\)"):
            np.testing.assert_allclose(load_images(opened, name="images")[0],
                                       (levels // 256) / 255, atol=1e-12)
    # a folder: the files with such a colour counted; an 8-bit RGB one's is applied
    write_png(tmp_path / "plain.png", rgb)
    with pytest.warns(UserWarning, match=r"2 of the 2 picture files are PNGs .*; the 1 with "
                                         r"a transparent colour \(tRNS, 16-bit\)"):
        load_images([tmp_path / "keyed.png", tmp_path / "plain.png"], name="images")
    write_png(tmp_path / "rgb8.png", (rgb // 8).astype(np.uint8), transparent=(0, 0, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = load_images(tmp_path / "rgb8.png")[0]
    np.testing.assert_allclose(read, np.where(levels // 8 == 0, 1.0, (levels // 8) / 255),
                               atol=1e-12)


def test_a_16_bit_colour_png_under_another_suffix_is_warned_of(tmp_path, write_png):
    """Pillow tells a PNG by its content, so a 16-bit RGB PNG saved as ``.jpg`` was read at
    8 bits too, but the warning looked at the suffix and said nothing."""
    levels = np.linspace(0, 2000, 64).round().astype(np.uint16).reshape(8, 8)
    write_png(tmp_path / "rgb16.jpg", np.dstack([levels] * 3))
    with pytest.warns(UserWarning, match=r"'[^']*rgb16\.jpg' is a PNG of 16-bit RGB pixels"):
        read = load_images(tmp_path / "rgb16.jpg")[0]
    np.testing.assert_allclose(read, (levels // 256) / 255, atol=1e-12)  # what it says


def test_max_images_keeps_the_first_files_in_the_documented_order(tmp_path):
    """Picture files and sparsenet raw files alike in natural order (img2 before img10,
    image9 before image10), as load_images' docstring says: picture files came in the
    order of plain text (img0, img1, img10, img11, img2, ...), so max_images=3 kept
    img0, img1 and img10, and a folder's pictures were not in the order of its raw files
    or its WAV files."""
    from PIL import Image

    pictures, raw = tmp_path / "pictures", tmp_path / "raw"
    pictures.mkdir()
    raw.mkdir()
    for i in range(12):
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(pictures / f"img{i}.png")
        np.full((8, 8), i, ">f4").tofile(raw / f"image{i}")
    # each picture's gray level is 10 times its number: the numbers in order, 0 ... 11
    np.testing.assert_allclose(load_images(pictures)[:, 0, 0], np.arange(12) * 10 / 255)
    np.testing.assert_allclose(load_images(pictures, max_images=3)[:, 0, 0],
                               np.arange(3) * 10 / 255)
    np.testing.assert_array_equal(load_images(raw)[:, 0, 0], np.arange(12))
    np.testing.assert_array_equal(load_images(raw, max_images=11)[:, 0, 0], np.arange(11))


@pytest.mark.parametrize("n_bytes", [20, 30, 40, 42])
def test_a_wav_cut_inside_its_header_is_named(tmp_path, n_bytes):
    from scipy.io import wavfile

    from stimuli.audio import load_wav

    wavfile.write(tmp_path / "a.wav", 8000, np.arange(100, dtype=np.int16))
    (tmp_path / "cut.wav").write_bytes((tmp_path / "a.wav").read_bytes()[:n_bytes])
    with pytest.raises(ValueError, match=r"path: cannot read .*cut\.wav' as WAV"):
        load_wav(tmp_path / "cut.wav")


def test_a_truncated_or_false_gzip_idx_file_is_named(tmp_path):
    from stimuli.digits import read_idx

    body = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(range(10))
    packed = gzip.compress(body)
    (tmp_path / "cut-idx1-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "plain-idx1-ubyte.gz").write_bytes(body)
    (tmp_path / "text-idx1-ubyte.gz").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(ValueError, match=r"path: cannot decompress .*cut-idx1-ubyte.gz'"):
        read_idx(tmp_path / "cut-idx1-ubyte.gz")
    # an IDX file saved already decompressed under its .gz name is read as it is
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-idx1-ubyte.gz"), np.arange(10))
    with pytest.raises(ValueError, match=r"path: .*text-idx1-ubyte.gz' is not an IDX file"):
        read_idx(tmp_path / "text-idx1-ubyte.gz")


def test_macos_resource_fork_companions_are_skipped(tmp_path):
    """Copied from a Mac, a folder holds "._x.wav" beside "x.wav": not WAV files."""
    from scipy.io import wavfile

    from stimuli.audio import load_wav_folder

    wavfile.write(tmp_path / "x.wav", 8000, np.arange(100, dtype=np.int16))
    (tmp_path / "._x.wav").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(100))
    waves, rate, names = load_wav_folder(tmp_path)
    assert names == ["x.wav"] and rate == 8000.0


@pytest.mark.parametrize("value", [
    np.array([np.ones((4, 4)), np.ones((5, 5))], dtype=object),  # a cell array of pictures
    {"a": np.ones((4, 4))},  # a struct
    "hello",
])
def test_a_mat_key_that_holds_no_numbers_is_named(tmp_path, value):
    from scipy.io import savemat

    savemat(tmp_path / "IMAGES.mat", {"IMAGES": value})
    with pytest.raises(ValueError, match=r"images: .*IMAGES\.mat' key 'IMAGES' is not a numeric"):
        load_images(tmp_path / "IMAGES.mat", name="images")


@pytest.mark.parametrize("content, match", [
    ({"IMAGES": np.ones((4, 4, 2))}, r"has no key 'A' .* holds \['IMAGES'\]"),
    ({"A": np.ones((50, 20))}, r"key 'A' has shape \(50, 20\)"),
])
def test_ringach_refuses_a_wrong_reference_before_learning(tmp_path, monkeypatch, content,
                                                           match):
    """-p reference=FILE without sparsenet's A: "v1model: error: 'A'" after the learning."""
    from scipy.io import savemat

    import studies._learned as learned
    from studies import ringach_2002

    savemat(tmp_path / "basis.mat", content)

    def no_learning(*args, **kwargs):
        raise AssertionError("learned before reading the reference")

    monkeypatch.setattr(learned, "learned_dictionary", no_learning)
    with pytest.raises(ValueError, match=rf"reference: .*basis\.mat' {match}"):
        ringach_2002.run(quick=True, reference=str(tmp_path / "basis.mat"))


def test_a_mat_stack_saved_from_python_is_warned_of(tmp_path):
    """savemat({"IMAGES": stack}) of a (n_images, h, w) stack read as w pictures of
    n_images x h pixels, unsaid."""
    from scipy.io import savemat

    stack = np.random.default_rng(3).random((5, 16, 16))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": stack})
    with pytest.warns(UserWarning, match=r"shape \(5, 16, 16\), read as 16 pictures of 5 x 16 "
                                         r"pixels .* np\.moveaxis\(stack, 0, -1\)"):
        images = load_images(tmp_path / "IMAGES.mat")
    assert images.shape == (16, 5, 16)
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(stack, 0, -1)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), stack)


def test_a_small_picture_enlarged_among_larger_ones_is_warned_of(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(4)
    for name, shape in (("a.png", (300, 400)), ("b.png", (260, 260)), ("c.png", (40, 60))):
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(tmp_path / name)
    with pytest.warns(UserWarning, match=r"1 of them are enlarged more than 2x \(the smallest, "
                                         r".*c\.png', is 40 x 60\)"):
        images = load_images(tmp_path)
    assert images.shape == (3, 256, 256)
    (tmp_path / "c.png").unlink()  # 260 x 260 and 300 x 400: shrunk only, nothing to say
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_images(tmp_path).shape == (2, 256, 256)


def _enlarging_source(tmp_path, kind):
    """A source of ``kind`` holding a 40 x 60 picture (a 40 x 40 one for raw files, which
    are square), beside 100 x 120 ones where the kind holds several: the source, the words
    by which :func:`load_images` names the 40-pixel pictures, the index of one of them
    and its centre 40 x 40 pixels, as the reader gives them."""
    from PIL import Image
    from scipy.io import savemat

    rng = np.random.default_rng(8)
    small = (rng.random((40, 60)) * 255).astype(np.uint8)
    large = (rng.random((100, 120)) * 255).astype(np.uint8)
    for name, pixels in (("a.png", small), ("b.png", large)):
        Image.fromarray(pixels).save(tmp_path / name)
    centre = small[:, 10:50] / 255  # 8-bit pixels, as a file's are scaled
    a_png = re.escape(repr(str(tmp_path / "a.png")))
    if kind == "folder":
        return tmp_path, rf"1 of the 2 pictures, {a_png} \(40 x 60", 0, centre
    if kind == "file":
        return tmp_path / "a.png", rf"{a_png} \(40 x 60", 0, centre
    if kind == "list":
        return ([tmp_path / "b.png", small], r"1 of the 2 pictures, images\[1\] \(40 x 60",
                1, centre)
    if kind == "stack":
        stack = rng.random((3, 40, 60))
        return stack, r"the 3 pictures \(40 x 60", 2, stack[2][:, 10:50]
    if kind == "array":
        return small, r"the picture \(40 x 60", 0, centre
    if kind == "PIL image":
        return Image.fromarray(small), r"the picture \(40 x 60", 0, centre
    if kind == ".mat":
        cube = rng.random((40, 60, 3))  # MATLAB's layout: (height, width, n_images)
        savemat(tmp_path / "IMAGES_RAW.mat", {"IMAGESr": cube})
        mat = re.escape(repr(str(tmp_path / "IMAGES_RAW.mat")))
        return (tmp_path / "IMAGES_RAW.mat", rf"the 3 pictures of {mat} \(40 x 60", 1,
                cube[:, 10:50, 1])
    raw = tmp_path / "raw"  # sparsenet raw files: big-endian float32 squares, no header
    raw.mkdir()
    rng.random((100, 100)).astype(">f4").tofile(raw / "image0")
    square = rng.random((40, 40)).astype(">f4")
    square.tofile(raw / "image1")
    return (raw, rf"1 of the 2 pictures, {re.escape(repr(str(raw / 'image1')))} \(40 x 40",
            1, square.astype(np.float64))


@pytest.mark.parametrize("kind", ["folder", "file", "list", "stack", "array", "PIL image",
                                  ".mat", "raw files"])
def test_a_size_that_enlarges_pictures_is_warned_of_for_every_source(tmp_path, kind):
    """An explicit size that enlarges pictures was warned of for "skimage" alone (since
    2026-12-08): 40 x 60 pictures of a folder, a file, a list, an array, a PIL image, a
    .mat file or raw files came back at 64 x 64, 1.6x enlarged, unsaid. Every source now
    warns alike, once, naming the most enlarged picture, by how much, and the largest size
    that keeps them all; a size no larger than every picture's shorter side is not warned
    of. The pixels are the centre crop resized (by scikit-image's resize)."""
    from skimage.transform import resize

    source, named, index, centre = _enlarging_source(tmp_path, kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = load_images(source, size=64, name="images")
    enlarged = [str(w.message) for w in caught if "enlarges" in str(w.message)]
    assert len(enlarged) == 1, [str(w.message) for w in caught]
    assert re.match(rf"images: size=64 enlarges {named} pixels, squared 40 x 40\) 1\.60x: "
                    r"the pixels an enlargement adds are interpolated.*; pass size=40 or "
                    r"less to keep (it|every picture) at its own resolution", enlarged[0])
    np.testing.assert_allclose(images[index], resize(centre, (64, 64)), rtol=0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(load_images(source, size=40)[index], centre, rtol=0,
                                   atol=1e-12)


def test_enlarged_whitened_pictures_are_warned_of_once(tmp_path):
    """Whitened pictures (key IMAGES, sparsenet raw files) that a size enlarges are warned
    of as whitened pictures resized, which says what that costs, not twice; said not to
    be whitened (load_whitened's prewhitened=False), as any source's enlarged pictures."""
    from scipy.io import savemat

    from stimuli.images import load_whitened

    rng = np.random.default_rng(9)
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": rng.standard_normal((40, 60, 2))})
    (tmp_path / "raw").mkdir()
    rng.standard_normal((40, 40)).astype(">f4").tofile(tmp_path / "raw" / "image0")
    for source in (tmp_path / "IMAGES.mat", tmp_path / "raw"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_images(source, size=64)
        assert len(caught) == 1
        assert re.match(r"source: size=64 resizes the 40 x \d+ pictures of .* already "
                        r"whitened", str(caught[0].message))
        with pytest.warns(UserWarning) as caught:
            load_whitened(source, prewhitened=False, size=64)
        assert len(caught) == 1
        assert re.match(r"source: size=64 enlarges (the 2 pictures of '.*IMAGES\.mat'|"
                        r"'.*image0') \(40 x \d+ pixels, squared 40 x 40\) 1\.60x",
                        str(caught[0].message))


@pytest.mark.parametrize("load", ["wav", "mnist"])
def test_a_file_given_for_a_folder_is_called_a_file(tmp_path, load):
    """A file given where a folder of WAV or MNIST files is wanted was "no such folder",
    of a file that is there."""
    from stimuli.audio import load_wav_folder
    from stimuli.digits import load_mnist

    given = tmp_path / ("a.wav" if load == "wav" else "train-images-idx3-ubyte")
    given.write_bytes(b"\0" * 16)
    call = load_wav_folder if load == "wav" else load_mnist
    with pytest.raises(FileNotFoundError,
                       match=rf"^folder: '{re.escape(str(given))}' is a file; give .*"
                             rf"\(this file's is '{re.escape(str(tmp_path))}'\)$"):
        call(given)
    with pytest.raises(FileNotFoundError, match=r"^folder: no such folder: "):
        call(tmp_path / "missing")


def _photographs(folder, n, shape, rng):
    """``n`` 8-bit pictures, portraits and landscapes in turn (as a phone's folder holds)."""
    from PIL import Image

    pixels = []
    for i in range(n):
        p = (rng.random(shape if i % 2 == 0 else shape[::-1]) * 255).astype(np.uint8)
        Image.fromarray(p).save(folder / f"IMG_{i:04d}.png")
        pixels.append(p)
    return pixels


def test_pictures_of_unequal_sizes_are_squared_as_they_are_read(tmp_path, monkeypatch,
                                                                 peak_memory):
    """Portraits among landscapes were all held at full size until every file was read,
    to be squared to 256 px at the end: 250 phone photographs (12 Mpx) were killed for
    memory on a 23 GB machine, on the way to 131 MB of squares."""
    from skimage.transform import resize

    import v1model.validation

    pixels = _photographs(tmp_path, 8, (700, 500), np.random.default_rng(5))
    full = 8 * 700 * 500 * 8  # the pictures at full size, float64: 22.4 MB
    memory = 0.9 * full  # too little for the pictures at full size, plenty for the squares
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: memory)
    load_images(tmp_path, max_images=2)  # imports and one-off allocations before the measure
    images, peak = peak_memory(lambda: load_images(tmp_path, progress=False), warm_up=False)
    assert images.shape == (8, 256, 256)
    for image, p in zip(images, pixels):  # the centred square, resized (anti-aliased)
        h, w = p.shape
        s = min(h, w)
        crop = p[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s] / 255
        np.testing.assert_allclose(image, resize(crop, (256, 256), anti_aliasing=True),
                                   atol=1e-12)
    assert peak < memory, f"peak {peak / 1e6:.1f} MB"  # was 50 MB, now 12 MB


def test_pictures_of_one_size_too_many_for_the_memory_are_refused(tmp_path, monkeypatch):
    """Their stack was allocated regardless: NumPy's "Unable to allocate", naming no
    argument, or the out-of-memory killer once the pages were written."""
    import v1model.validation

    _photographs(tmp_path, 4, (40, 40), np.random.default_rng(6))
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 3.5 * 40 * 40 * 8)
    with pytest.raises(ValueError, match=rf"^images: the 4 pictures of 40 x 40 pixels in "
                                         rf"'{re.escape(str(tmp_path))}' would take .* GiB as "
                                         r"float64, .* pass size=N .* or max_images \(at most "
                                         r"3 fit\)$"):
        load_images(tmp_path, name="images")
    assert load_images(tmp_path, max_images=3).shape == (3, 40, 40)
    assert load_images(tmp_path, size=32).shape == (4, 32, 32)


def test_the_memory_refusal_offers_only_the_remedies_that_apply(tmp_path, monkeypatch):
    """One file was told "the 1 pictures ... or max_images (at most 0 fit)", and a given
    size "pass size=N": one picture alone does not fit, and only a smaller size helps."""
    import v1model.validation

    _photographs(tmp_path, 4, (40, 60), np.random.default_rng(8))
    one = tmp_path / "IMG_0000.png"
    memory = 1000 * 8  # bytes: 1000 float64 pixels, the largest N x N picture is 31 x 31
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: memory)
    with pytest.raises(ValueError, match=rf"^images: the picture '{re.escape(str(one))}' of "
                                         r"40 x 60 pixels would take .* GiB as float64, .*; "
                                         r"pass size=N \(every picture resized to N x N "
                                         r"pixels, N at most 31\)$"):
        load_images(one, name="images")
    with pytest.raises(ValueError, match=r"^images: the picture .* of 32 x 32 pixels .*; "
                                         r"pass a smaller size than size=32 \(at most 31\)$"):
        load_images(one, size=32, name="images")
    assert load_images(one, size=31).shape == (1, 31, 31)
    # four 20 x 20 pictures take 1600 pixels: two fit, or four of 15 x 15 (sqrt(1000 / 4))
    with pytest.raises(ValueError, match=r"^images: the 4 pictures of 20 x 20 pixels in .*; "
                                         r"pass a smaller size than size=20 \(at most 15\) or "
                                         r"max_images \(at most 2 fit\)$"):
        load_images(tmp_path, size=20, name="images")
    # four 40 x 40 pictures: not even one fits, and max_images is not offered
    with pytest.raises(ValueError, match=r"^images: the 4 pictures .*; pass a smaller size "
                                         r"than size=40 \(at most 15\)$"):
        load_images(tmp_path, size=40, name="images")
    assert load_images(tmp_path, size=15).shape == (4, 15, 15)


def test_a_picture_with_nan_pixels_is_named_among_the_files_of_its_folder(tmp_path):
    """Float TIFFs (a microscope's, with NaN outside the field) were refused as
    "source '<folder>': images contain NaN or inf", naming none of the files."""
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(7)
    for i in range(3):
        picture = rng.random((16, 16)).astype(np.float32)
        if i == 1:
            picture[5, 2:4] = [np.nan, np.inf]
        tifffile.imwrite(tmp_path / f"field {i}.tif", picture)
    with pytest.raises(ValueError, match=rf"^images: image file "
                                         rf"'{re.escape(str(tmp_path / 'field 1.tif'))}' holds 2 "
                                         r"NaN or inf pixel\(s\), the first at \(row, column\) "
                                         r"\(5, 2\)$"):
        load_images(tmp_path, name="images")


def test_an_hdf5_file_without_matlabs_header_is_named_as_such(tmp_path, write_matlab_v73):
    """h5py.File("IMAGES.mat", "w") from Python: SciPy's "Unknown mat file type, version
    0, 0" said nothing of HDF5 nor what to do (MATLAB's own v7.3 files are read)."""
    h5py = pytest.importorskip("h5py")
    cube = np.random.default_rng(8).random((16, 12, 2))
    with h5py.File(tmp_path / "IMAGES.mat", "w") as f:
        f["IMAGES"] = np.moveaxis(cube, -1, 0)
    with pytest.raises(ValueError, match=r"^images: '.*IMAGES\.mat' is an HDF5 file without "
                                         r"MATLAB's v7\.3 header .* read it with h5py and pass "
                                         r"the array \(n_images, height, width\)"):
        load_images(tmp_path / "IMAGES.mat", name="images")
    write_matlab_v73(tmp_path / "v73.mat", "IMAGES", cube)  # as MATLAB writes: read
    np.testing.assert_array_equal(load_images(tmp_path / "v73.mat"), np.moveaxis(cube, -1, 0))


@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_a_png_transparent_colour_is_white_as_an_alpha_channel_is(tmp_path, mode):
    """A PNG's transparent colour (tRNS chunk: palette PNGs) was dropped by imread: the
    hidden colour came out where an RGBA picture's transparent pixels are white."""
    from PIL import Image

    rng = np.random.default_rng(9)
    rgb = Image.fromarray((rng.random((12, 10, 3)) * 255).astype(np.uint8))
    picture = rgb.convert("P", palette=Image.ADAPTIVE, colors=8) if mode == "P" else \
        rgb.convert(mode)
    hidden = picture.getpixel((0, 0))  # this colour (or palette index) is transparent
    picture.save(tmp_path / "t.png", transparency=hidden)
    rgba = np.asarray(Image.open(tmp_path / "t.png").convert("RGBA")) / 255
    alpha = rgba[..., 3:]
    assert alpha.min() == 0
    expected = (alpha * rgba[..., :3] + 1 - alpha) @ [0.2125, 0.7154, 0.0721]  # onto white
    np.testing.assert_allclose(load_images(tmp_path / "t.png")[0], expected, atol=1e-12)
    # as an RGBA file with the same alpha
    Image.fromarray((rgba * 255).round().astype(np.uint8), "RGBA").save(tmp_path / "a.png")
    np.testing.assert_allclose(load_images(tmp_path / "a.png")[0], expected, atol=1e-12)


def test_a_1_or_16_bit_gray_pngs_transparent_level_is_white(tmp_path, write_png):
    """The transparent level of a 16-bit or 1-bit gray PNG (tRNS) was dropped, as the
    other modes' once was: its pixels kept their level (5000 / 65535 = 0.076) where the
    docstring says a fully transparent pixel is 1. The other pixels keep their 16 bits."""
    from PIL import Image

    levels = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    write_png(tmp_path / "gray16.png", levels, transparent=5000)
    expected = np.where(levels == 5000, 1.0, levels / 65535)  # composited onto white
    np.testing.assert_allclose(load_images(tmp_path / "gray16.png")[0], expected,
                               rtol=1e-12, atol=1e-15)
    with Image.open(tmp_path / "gray16.png") as opened:  # a PIL image, read as its file
        np.testing.assert_allclose(load_images(opened)[0], expected, rtol=1e-12, atol=1e-15)
    ink = np.indices((8, 16)).sum(axis=0) % 3 == 0  # 1-bit line art, black transparent
    write_png(tmp_path / "ink.png", ink, transparent=0)
    np.testing.assert_array_equal(load_images(tmp_path / "ink.png")[0], np.ones((8, 16)))
    write_png(tmp_path / "ink_white.png", ink, transparent=1)  # white transparent: as it is
    np.testing.assert_array_equal(load_images(tmp_path / "ink_white.png")[0], ink)


@pytest.mark.parametrize("depth", [2, 4])
def test_a_2_or_4_bit_gray_pngs_transparent_level_is_white(tmp_path, write_png, depth):
    """Pillow reads a 2- or 4-bit gray PNG as 8-bit levels (x 85, x 17) but keeps its
    transparent level (tRNS) unscaled, so the two were compared at different scales: the
    transparent pixels kept their gray (level 1 of 0-3 read as 1/3, not white) and any
    pixel at 8-bit level 1 would have turned white."""
    from PIL import Image

    top = 2**depth - 1
    levels = (np.arange(64).reshape(8, 8) % (top + 1)).astype(np.uint8)
    write_png(tmp_path / "opaque.png", levels, depth=depth)
    # the file as Pillow, an independent reader, decodes it: levels scaled to 0-255
    with Image.open(tmp_path / "opaque.png") as opened:
        np.testing.assert_array_equal(np.asarray(opened), levels * (255 // top))
    np.testing.assert_allclose(load_images(tmp_path / "opaque.png")[0], levels / top,
                               rtol=0, atol=1e-12)
    write_png(tmp_path / "a.png", levels, transparent=1, depth=depth)
    expected = np.where(levels == 1, 1.0, levels / top)  # composited onto white
    np.testing.assert_allclose(load_images(tmp_path / "a.png")[0], expected, rtol=0,
                               atol=1e-12)
    with Image.open(tmp_path / "a.png") as opened:  # a PIL image, read as its file
        np.testing.assert_allclose(load_images(opened)[0], expected, rtol=0, atol=1e-12)


def test_photographs_saved_under_the_key_images_are_whitened(tmp_path):
    """A user's photographs in [0, 1] saved as IMAGES (Olshausen's key, the one
    load_images documents) were taken for his whitened images: the studies learned
    from them as they were (mean 0.43, not whitened)."""
    from scipy.io import savemat

    from stimuli.images import load_whitened, whiten

    photos = np.random.default_rng(10).random((3, 32, 32)).cumsum(axis=2) / 32  # >= 0
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(photos, 0, -1)})
    assert is_prewhitened(tmp_path / "IMAGES.mat")  # by its key
    with pytest.warns(UserWarning, match=r"none of its pixels is negative, which whitened "
                                         r"pictures \(zero mean\) always have: they are "
                                         r"whitened; pass prewhitened=True"):
        images, prewhitened = load_whitened(tmp_path / "IMAGES.mat", name="images")
    assert prewhitened is False
    np.testing.assert_allclose(images, whiten(photos), atol=1e-12)
    np.testing.assert_allclose(images.mean(axis=(1, 2)), 0, atol=1e-12)
    # Olshausen's whitened pictures (zero mean, so some negative) are kept as they are
    whitened = whiten(photos)
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(whitened, 0, -1)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, prewhitened = load_whitened(tmp_path / "IMAGES.mat")
    assert prewhitened is True
    np.testing.assert_array_equal(images, whitened)
    # asked for: as they are
    images, prewhitened = load_whitened(tmp_path / "IMAGES.mat", prewhitened=True)
    assert prewhitened is True


def test_a_numpy_file_given_as_images_says_what_to_do(tmp_path):
    """A stack saved with np.save was refused as not "an image file", naming neither the
    suffixes read nor what to do with it."""
    np.save(tmp_path / "stack.npy", np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match=r"^images: cannot read '.*stack\.npy': expected a "
                                         r"\.mat file, an image file, a sparsenet raw file "
                                         r"\(image0, image1, \.\.\.: no suffix\) or a "
                                         r"folder \(image files: "
                                         r"\.png, \.jpg, .*\.pgm\); a NumPy file: pass the "
                                         r"array np\.load\('.*stack\.npy'\) .* key IMAGESr"):
        load_images(tmp_path / "stack.npy", name="images")


def test_a_mat_file_beside_pictures_is_not_left_out_unsaid(tmp_path):
    """IMAGES.mat beside a preview PNG: the folder read the preview alone, with no word,
    and a study learned from one picture instead of the ten of the .mat."""
    from PIL import Image
    from scipy.io import savemat

    cube = np.random.default_rng(11).standard_normal((16, 16, 3))
    savemat(tmp_path / "IMAGES.mat", {"IMAGES": cube})
    preview = (np.random.default_rng(12).random((16, 16)) * 255).astype(np.uint8)
    Image.fromarray(preview).save(tmp_path / "preview.png")
    with pytest.warns(UserWarning, match=r"^images: folder '.*' holds 1 picture file\(s\) and "
                                         r"\.mat file\(s\) \('IMAGES\.mat'\): the pictures are "
                                         r"read, not the \.mat; give the \.mat file's path"):
        images = load_images(tmp_path, name="images")
    np.testing.assert_allclose(images, preview[None] / 255)
    np.testing.assert_array_equal(load_images(tmp_path / "IMAGES.mat"), np.moveaxis(cube, 2, 0))


def test_pictures_of_a_format_not_read_are_not_left_out_unsaid(tmp_path):
    """A folder of photographs with some of them as WEBP or GIF: those were skipped with
    no word, and a study learned from fewer pictures than the folder holds."""
    from PIL import Image

    pixels = (np.random.default_rng(13).random((3, 16, 16)) * 255).astype(np.uint8)
    Image.fromarray(pixels[0]).save(tmp_path / "a.png")
    Image.fromarray(pixels[1]).save(tmp_path / "b.webp")
    Image.fromarray(pixels[2]).save(tmp_path / "c.gif")
    (tmp_path / "notes.txt").write_text("not a picture")  # not a picture format: no word
    with pytest.warns(UserWarning, match=r"^images: folder '.*' holds 2 picture file\(s\) of a "
                                         r"format that is not read \('b\.webp', 'c\.gif'\): "
                                         r"only its 1 PNG/JPG/.*/PGM file\(s\) are read"):
        images = load_images(tmp_path, name="images")
    np.testing.assert_array_equal(images, pixels[:1] / 255)


def test_a_list_of_pictures_of_unequal_sizes_is_read_as_their_folder_is(tmp_path):
    """A folder of pictures of unequal sizes was squared to 256 px, while the same pictures
    given as a list were refused: arrays as "not a numeric array ... items have different
    shapes", even with size=64, and paths as "not a numeric array" in any case."""
    from PIL import Image

    rng = np.random.default_rng(9)
    pixels = [(rng.random(shape) * 255).astype(np.uint8)
              for shape in ((300, 400), (260, 260), (40, 60))]
    files = [tmp_path / f"{name}.png" for name in "abc"]
    for p, f in zip(pixels, files):
        Image.fromarray(p).save(f)
    enlarged = r"1 of them are enlarged more than 2x \(the smallest, {}, is 40 x 60\)"
    with pytest.warns(UserWarning, match=enlarged.format(re.escape(repr(str(files[2]))))):
        folder = load_images(tmp_path)
    assert folder.shape == (3, 256, 256)
    named = f"images[2] ({str(files[2])!r})"  # a file by its index and path
    for source, smallest in ((files, named), (pixels, "images[2]"),
                             ([str(files[0]), pixels[1], files[2]], named)):
        with pytest.warns(UserWarning, match=enlarged.format(re.escape(smallest))):
            listed = load_images(source, name="images")
        # uint8 arrays scaled as their files are: the very same pictures
        np.testing.assert_array_equal(listed, folder)
    for size in (64, None):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(load_images(pixels[:2], size=size),
                                          load_images(files[:2], size=size))
            np.testing.assert_array_equal(load_images(files[:2], size=size),
                                          load_images(tmp_path, size=size, max_images=2))
    assert load_images(tuple(pixels), max_images=1).shape == (1, 300, 400)  # as it is


@pytest.mark.parametrize("item, message", [
    (np.zeros((3, 40, 40)), r"^images\[1\] has shape \(3, 40, 40\): each array of a list is "
                            r"one grayscale picture \(height, width\)"),
    (np.zeros(40), r"^images\[1\] has shape \(40,\): each array of a list is one grayscale"),
    ("folder", r"^images\[1\]: '.*folder' is not a picture file: a list holds picture files "
               r"\(.png, .*\) or 2-D arrays, one picture each; pass a folder or a .mat file "
               r"as images itself$"),
    ("missing.png", r"^images\[1\]: no such file or folder: '.*missing.png'"),
])
def test_a_list_item_that_is_not_a_picture_is_named_with_its_shape(tmp_path, item, message):
    if isinstance(item, str) and item == "folder":
        (tmp_path / "folder").mkdir()
    if isinstance(item, str):
        item = tmp_path / item
    with pytest.raises(ValueError if "missing" not in message else FileNotFoundError,
                       match=message):
        load_images([np.zeros((40, 40)), item], name="images")


def test_an_opened_pil_image_is_scaled_as_its_file_is(tmp_path):
    # PIL images have no dtype: their uint8 pixels came back as 0-255, alone or in a list,
    # where the same file's came back in [0, 1]
    from PIL import Image

    pixels = (np.random.default_rng(10).random((40, 60)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as image:
        np.testing.assert_array_equal(load_images(image), pixels[None] / 255)
        np.testing.assert_array_equal(load_images([image, image]), load_images(
            [tmp_path / "a.png"] * 2))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK"])
def test_an_opened_colour_or_palette_pil_image_is_read_as_its_file_is(tmp_path, mode):
    # np.asarray of a colour PIL image (h, w, 3) was read as h pictures of w x 3 pixels (a
    # layout warning only), and of a palette one its indices as gray levels
    from PIL import Image

    rgb = (np.random.default_rng(11).random((30, 40, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(rgb).convert(mode)
    image.save(tmp_path / ("a.tif" if mode == "CMYK" else "a.png"))  # lossless
    from_file = load_images(tmp_path / ("a.tif" if mode == "CMYK" else "a.png"))
    assert from_file.shape == (1, 30, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_images(image), from_file)
        np.testing.assert_array_equal(load_images([image, image]), np.concatenate([from_file] * 2))
    if mode == "RGB":  # rgb2gray's weights, independently
        np.testing.assert_allclose(from_file[0], rgb / 255 @ [0.2125, 0.7154, 0.0721], atol=1e-12)


def test_a_folder_of_names_in_both_cases_is_read_in_one_natural_order(tmp_path):
    """IMG_2.png (one camera) and img_1.png (another) in one folder: read in the order of
    their numbers, letters in either case alike (the order of plain text read IMG_2,
    IMG_4, img_1, img_3, so max_images=2 kept pictures 2 and 4)."""
    from PIL import Image

    names = {1: "img_1.png", 2: "IMG_2.png", 3: "img_3.png", 4: "Img_4.png"}
    for i, file_name in names.items():
        # each picture's gray level is 10 times its number
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(tmp_path / file_name)
    np.testing.assert_allclose(load_images(tmp_path)[:, 0, 0],
                               np.array([1, 2, 3, 4]) * 10 / 255)
    np.testing.assert_allclose(load_images(tmp_path, max_images=2)[:, 0, 0],
                               np.array([1, 2]) * 10 / 255)


def test_each_png_header_is_read_once(tmp_path, write_png, monkeypatch):
    """The reader read a PNG's own header (beside Pillow's and imageio's reading of the
    file) once to tell whether a transparent colour applies, once to warn of 16-bit
    colour and once more for a 16-bit RGB one's tRNS chunk: up to three times a file.
    Once now, for a folder, a list of files and an opened PIL image alike, counted at
    the module's own ``open``; the pixels are what the files hold (hand-written
    references, as the tests above derive them)."""
    import builtins
    from collections import Counter

    from PIL import Image

    import stimuli.images

    levels = np.linspace(0, 2000, 64).round().astype(np.uint16).reshape(8, 8)
    gray2 = (np.arange(64).reshape(8, 8) % 4).astype(np.uint8)
    rgb8 = (np.dstack([levels] * 3) // 8).astype(np.uint8)
    write_png(tmp_path / "a_rgb16_keyed.png", np.dstack([levels] * 3), transparent=(0, 0, 0))
    write_png(tmp_path / "b_gray2_keyed.png", gray2, transparent=1, depth=2)
    write_png(tmp_path / "c_rgb8_keyed.png", rgb8, transparent=(0, 0, 0))
    write_png(tmp_path / "d_rgba16.png", np.dstack([levels] * 3 + [np.full_like(levels, 65535)]))
    expected = np.stack([(levels // 256) / 255,  # read at 8 bits, its tRNS not applied
                         np.where(gray2 == 1, 1.0, gray2 / 3),  # transparent: white
                         np.where(levels // 8 == 0, 1.0, (levels // 8) / 255),
                         (levels // 256) / 255])
    opened = Counter()

    def counting_open(file, *args, **kwargs):
        opened[Path(file).name] += 1
        return builtins.open(file, *args, **kwargs)

    # the module's own reads of a file (Pillow and imageio open it with their own)
    monkeypatch.setattr(stimuli.images, "open", counting_open, raising=False)
    files = sorted(tmp_path.glob("*.png"))
    for source in (tmp_path, files):
        opened.clear()
        with pytest.warns(UserWarning, match=r"2 of the 4 picture files are PNGs of 16-bit "
                                             r"colour .*the 1 with a transparent colour"):
            read = load_images(source)
        assert opened == {f.name: 1 for f in files}
        np.testing.assert_allclose(read, expected, rtol=0, atol=1e-12)
    opened.clear()
    with Image.open(files[0]) as image, pytest.warns(UserWarning, match="16-bit RGB"):
        np.testing.assert_allclose(load_images(image)[0], expected[0], rtol=0, atol=1e-12)
    assert opened == {files[0].name: 1}
