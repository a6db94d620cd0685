"""The analysis studies' dictionary source: a saved network or study output."""

import numpy as np
import pytest

from studies._learned import check_dictionary_source, learned_dictionary
from v1model import SparseCodingNetwork


def test_network_file_keeps_its_updates_and_orientation(tmp_path):
    rng = np.random.default_rng(0)
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    net.learn(rng.standard_normal((300, 16)), n_updates=3, seed=0, progress=False)
    path = net.save(tmp_path / "net.nc")
    atoms, source, meta = learned_dictionary(path, quick=True, seed=0)
    np.testing.assert_allclose(atoms.reshape(8, -1), net.dictionary, rtol=1e-12)  # renormalised
    # SparseCodingNetwork.save records the learning's n_updates as learning_n_updates
    assert meta == {"dictionary": str(path), "n_updates": 3} and source == str(path)
    # atoms are read by dimension name, whatever the order on disk
    from v1model.io import load_dataset, save_dataset

    flipped = save_dataset(load_dataset(path).transpose("atom", "x", "y", ...), tmp_path / "t.nc")
    np.testing.assert_array_equal(learned_dictionary(flipped, quick=True, seed=0)[0], atoms)


def test_cheap_checks_before_any_work(tmp_path):
    with pytest.raises(FileNotFoundError, match="dictionary: no such file"):
        check_dictionary_source(tmp_path / "missing.nc")
    with pytest.raises(ValueError, match="n_updates"):
        check_dictionary_source(None, 0)
    check_dictionary_source(None, None)  # learn with the study's defaults: nothing to check


def test_dictionary_file_read_by_dimension_names(tmp_path):
    """The analysis studies save (unit, y, x): read by name, in any order; a
    variable whose dims are not atoms and pixels is refused, not read by position."""
    import xarray as xr

    from v1model.io import save_dataset

    atoms = np.random.default_rng(1).standard_normal((6, 3, 5))
    atoms /= np.linalg.norm(atoms.reshape(6, -1), axis=1)[:, None, None]
    units = save_dataset(xr.Dataset({"dictionary": (("y", "unit", "x"),
                                                    atoms.transpose(1, 0, 2))}),
                         tmp_path / "units.nc")
    np.testing.assert_allclose(learned_dictionary(units, quick=True, seed=0)[0], atoms,
                               rtol=1e-12)
    other = save_dataset(xr.Dataset({"dictionary": (("sample", "y", "x"), atoms)}),
                         tmp_path / "other.nc")
    with pytest.raises(ValueError, match=r"dictionary: .*other\.nc' has a 'dictionary' "
                                         r"variable with dims \('sample', 'y', 'x'\); "
                                         r"expected dims \(atom, y, x\)"):
        learned_dictionary(other, quick=True, seed=0)
    with pytest.raises(ValueError, match=r"has no 'dictionary' variable"):
        learned_dictionary(save_dataset(xr.Dataset({"codes": (("a", "b"), atoms[0])}),
                                        tmp_path / "none.nc"), quick=True, seed=0)
