"""Fixtures of the stimulus tests."""

from pathlib import Path

import numpy as np
import pytest


def _write_matlab_v73(path, name, cube):
    """A MATLAB v7.3 MAT-file as MATLAB writes one: HDF5 with a 512-byte user block whose
    128-byte header ends in version 0x0200 and "IM"; arrays stored with reversed dimensions
    (column-major), so a (height, width, n) array is an HDF5 dataset (n, width, height)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset(name, data=np.ascontiguousarray(cube.T))
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Sat Dec  5 10:00:00 2026 "
    header += b"HDF5 schema 1.00 ."
    header = header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM"
    with open(path, "r+b") as f:
        f.write(header)


@pytest.fixture(scope="session")
def write_matlab_v73():
    """``write_matlab_v73(path, name, cube)``: ``cube`` (height, width, n) saved under
    ``name`` in a MATLAB v7.3 (HDF5) MAT-file."""
    return _write_matlab_v73


def _write_png(path, pixels, transparent=None, depth=None, after_pixels=()):
    """A PNG file of ``pixels`` (height, width) or (height, width, channels), bool (1-bit
    gray), uint8 or uint16, channels 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA),
    written by hand: neither Pillow nor imageio writes 16-bit colour PNGs, nor a 16-bit
    gray one with a transparent level (the signature, IHDR, tRNS for ``transparent``, the
    gray level or RGB colour shown as transparent, one IDAT of unfiltered rows (filter
    byte 0), the chunks ``after_pixels`` (``(type, data)`` pairs, e.g. an eXIf chunk,
    which may follow the pixels), IEND; big-endian samples, as the format stores them).
    ``depth`` 2 or 4: uint8 gray levels below ``2**depth`` stored at that many bits a
    pixel."""
    import struct
    import zlib

    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    if pixels.dtype == bool:  # 1 bit per pixel, 8 to a byte, each row padded to bytes
        depth, rows = 1, np.packbits(pixels[:, :, 0], axis=1)
    elif depth in (2, 4):  # each level's low bits, most significant first, rows padded
        assert channels == 1 and pixels.dtype == np.uint8 and pixels.max() < 2**depth
        bits = np.unpackbits(pixels, axis=2)[:, :, 8 - depth:]
        rows = np.packbits(bits.reshape(height, width * depth), axis=1)
    else:
        depth = 8 * pixels.dtype.itemsize
        rows = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(height, -1)
    data = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    # tRNS: one 16-bit sample a channel (a gray level, or an RGB colour), whatever the depth
    trns = b"" if transparent is None else chunk(
        b"tRNS", struct.pack(f">{np.size(transparent)}H", *np.ravel(transparent)))
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + trns
                           + chunk(b"IDAT", zlib.compress(data))
                           + b"".join(chunk(kind, body) for kind, body in after_pixels)
                           + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def write_png():
    """``write_png(path, pixels, transparent=None, depth=None, after_pixels=())``:
    ``pixels`` (bool, uint8 or uint16; gray, gray + alpha, RGB or RGBA channels last)
    saved as a PNG file, 16-bit colour too; ``transparent``: a gray picture's transparent
    level, or an RGB one's (r, g, b) colour (tRNS); ``depth`` 2 or 4: uint8 gray levels
    stored at that many bits; ``after_pixels``: ``(chunk type, data)`` pairs written
    after the image data."""
    return _write_png
