"""Atoms given as images (atom, y, x) are taken wherever a dictionary of rows is: the step
limit of the LCA, the coherence measures, LISTA and the network flatten them row-major,
as the solvers and patches do (v1model.validation.flatten_image_atoms)."""

import re

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork
from v1model.amortized import LISTA
from v1model.analysis.coherence import babel, coactive_babel, gram_abs, mutual_coherence
from v1model.inference import max_stable_dt

#: atoms of 4 x 5 pixels (not square: a transposed layout would have the same pixels)
HEIGHT, WIDTH = 4, 5


@pytest.fixture()
def atoms(rng):
    """Unit-norm atoms as rows (12, 20) and, row-major, as images (12, 4, 5)."""
    D = rng.standard_normal((12, HEIGHT * WIDTH))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return D, D.reshape(12, HEIGHT, WIDTH)


def _image_forms(images):
    """The atoms as an array, as a DataArray (atom, y, x) and as one with its dims in
    another order (read by name)."""
    labelled = xr.DataArray(images, dims=("atom", "y", "x"))
    return images, labelled, labelled.transpose("x", "atom", "y")


def _lista_codes(D, X, codes):
    return LISTA(n_layers=3, lam=0.1, dtype=np.float64).initialize(D).encode(X)


# each entry point that took only rows (n_atoms, n_features): its result for a dictionary
# D, X (20 samples of the atoms' pixels) and sparse codes (20 x 12)
ENTRY_POINTS = {
    "max_stable_dt": lambda D, X, codes: max_stable_dt(D, 0.01),
    "gram_abs": lambda D, X, codes: gram_abs(D),
    "mutual_coherence": lambda D, X, codes: mutual_coherence(D),
    "babel": lambda D, X, codes: babel(D, r_max=5),
    "coactive_babel": lambda D, X, codes: coactive_babel(codes, D, progress=False),
    "LISTA.initialize": _lista_codes,
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_atoms_as_images_give_what_their_rows_give(name, atoms, rng):
    """Each was refused: "D must have 2 dimension(s), got 3 (shape (12, 4, 5))"."""
    D, images = atoms
    X = rng.standard_normal((20, HEIGHT * WIDTH))
    # supports of 0 to 12 atoms: every branch of coactive_babel (empty, all, others)
    codes = rng.standard_normal((20, 12)) * (rng.random((20, 12)) < np.linspace(0, 1, 20)[:, None])
    codes[-1] = 1.0
    call = ENTRY_POINTS[name]
    expected = call(D, X, codes)
    for given in _image_forms(images):
        got = call(given, X, codes)
        if isinstance(expected, xr.Dataset):
            xr.testing.assert_identical(got, expected)
        else:
            np.testing.assert_array_equal(got, expected)


def test_step_limit_and_coherence_of_image_atoms_against_numpy(atoms):
    """Independent of the flattening: the values of their definitions on the rows."""
    D, images = atoms
    G = D @ D.T
    top = np.linalg.eigvalsh(G)[-1]
    assert max_stable_dt(images, 0.01) == pytest.approx(2 * 0.01 / max(top, 1.0),
                                                        rel=1e-12)
    off = np.abs(G - np.diag(np.diag(G)))
    assert mutual_coherence(xr.DataArray(images, dims=("atom", "y", "x"))) == pytest.approx(
        off.max(), rel=1e-12)


def test_network_takes_its_patch_shape_from_atoms_as_images(atoms, rng):
    """SparseCodingNetwork(images) was refused ("for atoms as images pass
    D.reshape(12, 20) with patch_shape=(4, 5)"), while the solvers took them."""
    D, images = atoms
    X = rng.standard_normal((6, HEIGHT * WIDTH))
    rows = SparseCodingNetwork(D, patch_shape=(HEIGHT, WIDTH), lam=0.3)
    expected = rows.encode(X, method="fista", dtype=np.float64)
    for given in _image_forms(images):
        for patch_shape in (None, (HEIGHT, WIDTH)):
            net = SparseCodingNetwork(given, patch_shape=patch_shape, lam=0.3)
            assert net.patch_shape == (HEIGHT, WIDTH)
            np.testing.assert_array_equal(net.dictionary, D)
            np.testing.assert_array_equal(net.encode(X, method="fista", dtype=np.float64),
                                          expected)
    # the saved atoms are the images given
    saved = SparseCodingNetwork(images).to_dataset()["dictionary"]
    assert saved.dims == ("atom", "y", "x")
    np.testing.assert_array_equal(saved.values, images)
    # the same pixels in another layout would be other receptive fields: refused naming both
    message = re.escape("dictionary holds atoms as images of shape (4, 5) (shape (12, 4, 5)) "
                        "but patch_shape is (5, 4)")
    with pytest.raises(ValueError, match="^" + message):
        SparseCodingNetwork(images, patch_shape=(WIDTH, HEIGHT))
    # as is setting such atoms on a network of other patches; its own layout is taken
    net = SparseCodingNetwork(D, patch_shape=(WIDTH, HEIGHT))
    with pytest.raises(ValueError, match="^" + message):
        net.dictionary = images
    np.testing.assert_array_equal(net.dictionary, D)
    net = SparseCodingNetwork(D, patch_shape=(HEIGHT, WIDTH))
    net.dictionary = images[:7]
    assert net.n_atoms == 7 and net.patch_shape == (HEIGHT, WIDTH)
    empty = SparseCodingNetwork(n_atoms=3)
    empty.dictionary = images
    assert (empty.n_atoms, empty.patch_shape) == (12, (HEIGHT, WIDTH))
