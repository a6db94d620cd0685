"""Fixtures of the stimulus tests."""

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
