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
