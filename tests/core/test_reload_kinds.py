"""Reloading saved results months later: a file given to the wrong loader is named."""

import re

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork
from v1model.amortized import LISTA
from v1model.convolutional import ConvolutionalNetwork
from v1model.io import save_dataset
from v1model.learning import SparseDictionaryLearner
from v1model.sae import SparseAutoencoder


@pytest.mark.parametrize("cls", [SparseCodingNetwork, SparseAutoencoder, LISTA,
                                 SparseDictionaryLearner, ConvolutionalNetwork])
def test_a_file_of_another_kind_is_refused_naming_its_path(tmp_path, rng, cls):
    # a saved network given to every other loader, and a study-like result to all of them:
    # the message named "ds", never the file the user passed
    D = rng.standard_normal((6, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    network = SparseCodingNetwork(D).save(tmp_path / "network.nc")
    result = save_dataset(xr.Dataset({"error": ("lam", [0.1, 0.2])}), tmp_path / "study.nc")
    for path in ([result] if cls is SparseCodingNetwork else [network, result]):
        with pytest.raises(ValueError, match=rf"^path: cannot load {re.escape(repr(str(path)))} "
                                             rf"as a {cls.__name__}: ds is not a saved"):
            cls.load(path)


#: each loader, what its message calls the saved object, and the kind its files record
SAVED_KINDS = {SparseCodingNetwork: ("network", "v1model.SparseCodingNetwork"),
               SparseAutoencoder: ("SparseAutoencoder", "v1model.SparseAutoencoder"),
               LISTA: ("LISTA", "v1model.amortized.LISTA"),
               SparseDictionaryLearner: ("SparseDictionaryLearner",
                                         "v1model.SparseDictionaryLearner"),
               ConvolutionalNetwork: ("convolutional network", "v1model.ConvolutionalNetwork")}


@pytest.mark.parametrize("cls", SAVED_KINDS)
def test_every_loader_refuses_a_non_dataset_and_another_kind_alike(cls):
    # one check (v1model.io.check_saved_kind) for all of them: LISTA's took a dict for a
    # Dataset of another kind ("ValueError: ds is not a saved LISTA: attrs['kind'] is
    # 'dict'"), where the others said what was given, as a TypeError
    what, kind = SAVED_KINDS[cls]
    with pytest.raises(TypeError, match=r"^ds must be an xarray.Dataset, got dict$"):
        cls.from_dataset({"kind": kind})
    other = xr.Dataset(attrs={"kind": "v1model.Other"})
    with pytest.raises(ValueError, match=rf"^ds is not a saved {what}: attrs\['kind'\] is "
                                         rf"'v1model.Other', not {re.escape(repr(kind))}"):
        cls.from_dataset(other)


@pytest.mark.filterwarnings("ignore:X has a mean square")  # 10 X, on purpose
def test_the_cauchy_code_variance_is_recorded_without_the_units_of_X(tmp_path, rng):
    # the gain adaptation holds each coefficient's variance at var_goal whatever the scale
    # of X (the atoms' gains take it): X ten times larger, lam 100 times, gave the same
    # variances, 0.1, not 100 times larger, yet code_var was saved in "(units of X)^2"
    # beside a mean_abs_code in "1"
    from v1model.learning import cauchy_inference, learn_dictionary

    X = 0.3 * rng.laplace(size=(600, 16))
    variances = []
    for c in (1.0, 10.0):
        D, history = learn_dictionary(c * X, 8, prior="cauchy", lam=0.022 * c**2,
                                      n_updates=100, var_eta=0.1, seed=0, progress=False)
        variances.append(cauchy_inference(c * X[:200], D, 0.022 * c**2, 0.316).var(0).mean())
        assert history["code_var"].attrs["units"] == history["mean_abs_code"].attrs["units"]
    assert 0.5 < variances[1] / variances[0] < 2  # scale-free: "(units of X)^2" gave 100
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.022, prior="cauchy")
    net.learn(X, n_updates=3, seed=0, progress=False)
    saved = xr.open_dataset(net.save(tmp_path / "cauchy.nc"))
    assert saved["code_var"].attrs["units"] == "1"
    saved.close()
