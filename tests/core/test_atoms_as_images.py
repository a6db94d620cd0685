"""Atoms given as images (atom, y, x) are taken wherever a dictionary of rows is: the step
limit of the LCA, the coherence measures, LISTA, the network and the learners' initial
dictionaries flatten them row-major, as the solvers and patches do
(v1model.validation.flatten_image_atoms); where the atoms are images, data are taken as
patches (sample, y, x) of their shape too."""

import re

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork
from v1model.amortized import LISTA
from v1model.analysis.coherence import babel, coactive_babel, gram_abs, mutual_coherence
from v1model.inference import max_stable_dt
from v1model.learning import SparseDictionaryLearner, learn_ksvd, learn_mod, learn_online
from v1model.learning.olshausen_field import learn_dictionary

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


def _patch_forms(patches):
    """The patches as an array, as a DataArray (sample, y, x) and as one with its dims in
    another order (read by name)."""
    labelled = xr.DataArray(patches, dims=("sample", "y", "x"))
    return patches, labelled, labelled.transpose("y", "x", "sample")


def _lista(atoms, X, **fit):
    """A LISTA trained a few steps on X for the atoms (z* by FISTA)."""
    return LISTA(n_layers=2, lam=0.1, n_steps=4, batch_size=8, dtype=np.float64,
                 progress=False).fit(X, atoms, seed=0, **fit)


def _lista_partial_fit(atoms, X):
    net = _lista(atoms, X, X_val=X)
    net.partial_fit(X, seed=1, X_val=X)
    return net.encoder_weight_, net.history_["validation_loss"].values


def _network_learn(atoms, X):
    net = SparseCodingNetwork(atoms, lam=0.1)
    net.learn(X, n_updates=2, batch_size=10, seed=0, progress=False)
    return net.dictionary


def _learners_start(atoms, X):
    """Each learner's dictionary after a few updates from the atoms given."""
    return [learn_dictionary(X, 12, D0=atoms, n_updates=2, batch_size=10, seed=0,
                             progress=False)[0],
            learn_mod(X, 12, lam=0.1, init=atoms, n_updates=2, seed=0, progress=False)[0],
            learn_ksvd(X, 12, n_nonzero=2, init=atoms, n_updates=2, seed=0,
                       progress=False)[0],
            learn_online(X, 12, lam=0.1, init=atoms, n_updates=2, batch_size=10, seed=0,
                         progress=False)[0],
            SparseDictionaryLearner(12, lam=0.1, init=atoms, n_updates=2, seed=0,
                                    progress=False).fit(X).components_]


# each entry point that refused patches (sample, y, x) or atoms as images where the solvers
# take them: its result for atoms and data X (20 samples of the atoms' pixels), each given
# as rows or as images; the learners take the data as rows
PATCH_ENTRY_POINTS = {
    "LISTA.encode": lambda atoms, X: _lista(atoms, X).encode(X),
    "LISTA.lasso_objective": lambda atoms, X: _lista(atoms, X).lasso_objective(X),
    "LISTA.fit X_val": lambda atoms, X: _lista(atoms, X, X_val=X).history_[
        "validation_loss"].values,
    "LISTA.partial_fit": _lista_partial_fit,
    "SparseCodingNetwork.encode": lambda atoms, X: SparseCodingNetwork(atoms, lam=0.3).encode(
        X, method="fista", dtype=np.float64),
    "SparseCodingNetwork.learn": _network_learn,
}
INITIAL_ATOMS = {"learners' initial atoms": _learners_start}


def _assert_same(expected, got):
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            _assert_same(e, g)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(PATCH_ENTRY_POINTS) + list(INITIAL_ATOMS))
def test_patches_and_initial_atoms_as_images_give_what_rows_give(name, atoms, rng):
    """Each was refused: "X must have 1 or 2 dimension(s), got 3 (shape (20, 4, 5))",
    "X must have 2 dimensions ... flatten a stack of patches", "D0 (init) must have 2
    dimension(s), got 3 (shape (12, 4, 5))"."""
    D, images = atoms
    X = rng.standard_normal((20, HEIGHT * WIDTH))
    call = PATCH_ENTRY_POINTS.get(name) or INITIAL_ATOMS[name]
    expected = call(D, X)
    patch_forms = (_patch_forms(X.reshape(-1, HEIGHT, WIDTH)) if name in PATCH_ENTRY_POINTS
                   else (X,) * 3)
    for given, data in zip(_image_forms(images), patch_forms):
        _assert_same(expected, call(given, data))


def test_patches_of_another_shape_refused_naming_both(atoms, rng):
    """The same pixels in another layout (5 x 4) would be other patches."""
    D, images = atoms
    X = rng.standard_normal((20, HEIGHT * WIDTH))
    wrong = X.reshape(20, WIDTH, HEIGHT)
    lista = _lista(images, X)
    message = re.escape("has patches of shape (5, 4) (shape (20, 5, 4)) but dictionary_ of "
                        "shape (12, 4, 5)")
    with pytest.raises(ValueError, match="^X " + message):
        lista.encode(wrong)
    with pytest.raises(ValueError, match="^X_val " + message):
        lista.partial_fit(X, X_val=wrong)
    with pytest.raises(ValueError, match="^X_val has patches of shape \\(5, 4\\)"):
        _lista(images, X, X_val=wrong)
    net = SparseCodingNetwork(images, lam=0.3)
    message = re.escape("X has patches of shape (5, 4) (shape (20, 5, 4)) but the network of "
                        "shape (12, 4, 5)")
    with pytest.raises(ValueError, match="^" + message):
        net.encode(wrong)
    with pytest.raises(ValueError, match="^" + message):
        net.learn(wrong, n_updates=1, progress=False)
    # a LISTA made from rows knows no layout: patches stay refused, as by the solvers
    with pytest.raises(ValueError, match="X must have 1 or 2 dimension"):
        _lista(D, X).encode(X.reshape(20, HEIGHT, WIDTH))
    # an initial dictionary of images of other pixels names the images' shape
    with pytest.raises(ValueError, match=re.escape(
            "got (12, 16) (atoms as images of shape (4, 4))")):
        learn_mod(X, 12, lam=0.1, init=np.ones((12, 4, 4)), n_updates=1, progress=False)


def test_lista_and_network_keep_their_patch_shape_when_saved(atoms, rng):
    """A saved LISTA made from atoms as images encodes patches once loaded; a network
    without a dictionary takes its patch_shape from the patches it learns from."""
    _, images = atoms
    X = rng.standard_normal((20, HEIGHT * WIDTH))
    patches = X.reshape(20, HEIGHT, WIDTH)
    lista = _lista(images, X)
    loaded = LISTA.from_dataset(lista.to_dataset())
    assert loaded.patch_shape_ == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(loaded.encode(patches), lista.encode(X))
    net = SparseCodingNetwork(n_atoms=6, lam=0.1)
    net.learn(patches, n_updates=1, batch_size=10, seed=0, progress=False)
    assert net.patch_shape == (HEIGHT, WIDTH)
