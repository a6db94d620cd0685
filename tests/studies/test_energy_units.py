"""Energies in the studies carry the units the learners write: ``(units of X)^2`` for an
objective 0.5||x - aD||^2 + penalty (and a squared error), ``units of X`` for a mean |a|,
as :mod:`v1model.learning` records them in its history (the studies labelled them "1",
while the 1997 figure said "whitened pixel²"). Tiny runs of each study."""

import numpy as np
import pytest

from v1model.learning._history import FIELDS

ENERGY = FIELDS["objective"][1]

#: study -> (tiny parameters, {variable: expected units})
CASES = {
    "olshausen-field-1997": (
        dict(n_updates=3, patch_size=6, overcompleteness=[1], n_patches=300, n_eval=50),
        {"objective": ENERGY, "history_objective": ENERGY,
         "mean_abs_code": FIELDS["mean_abs_code"][1], "reconstruction_error": "1"}),
    "rozell-2008-lca": (
        dict(n_updates=3, patch_size=6, n_atoms=12, n_train=300, n_eval=20, n_levels=3),
        {"lca_objective": ENERGY, "lca_data_term": ENERGY, "fista_objective": ENERGY,
         "learning_objective": ENERGY, "rd_mse": ENERGY, "lca_relative_gap": "1"}),
    "gregor-lecun-2010-lista": (
        dict(n_updates=3, n_train=300, n_test=50, depths=[1], n_steps=20, n_iter_max=5,
             patch_size=6, n_atoms=12),
        {"learning_objective": ENERGY}),
    "lca-sweep": (dict(n_updates=0, n_train=300, n_test=60, gabor=False),
                  {"objective": ENERGY, "reconstruction_error": "1"}),
    "lewicki-2002-speech": (
        dict(audio_dir="synthetic", n_updates=3, n_segments=200, n_atoms=8,
             segment_length=32),
        {"history_objective": ENERGY, "history_reconstruction_error": "1"}),
    "smith-lewicki-2006-convolutional": (
        dict(audio_dir="synthetic", n_updates=2, control_updates=2, n_kernels=4,
             kernel_size=16, n_excerpts=20, n_eval=4, excerpt_length=400),
        {"history_objective": ENERGY, "history_reconstruction_error": "1"}),
}


def test_the_learners_write_energies_in_units_of_x_squared():
    """The reference: what learn_dictionary's history says of its own variables."""
    from v1model.learning import learn_dictionary

    X = np.random.default_rng(0).standard_normal((60, 16))
    _, history = learn_dictionary(X, 8, lam=0.1, n_updates=2, batch_size=20, seed=0,
                                  progress=False)
    assert history["objective"].attrs["units"] == ENERGY == "(units of X)^2"
    assert history["mean_abs_code"].attrs["units"] == FIELDS["mean_abs_code"][1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # tiny runs: few updates, few patches
@pytest.mark.parametrize("name", sorted(CASES))
def test_study_energies_carry_the_learners_units(name):
    from studies import get_study

    params, expected = CASES[name]
    ds = get_study(name).run(quick=True, seed=0, progress=False, **params)
    got = {var: ds[var].attrs.get("units") for var in expected}
    assert got == expected


def _code_units():
    """The reference: the units v1model.inference gives LCA's codes (and so its threshold)."""
    from v1model.inference import lca

    X = np.random.default_rng(0).standard_normal((3, 16))
    D = np.eye(16)[:8]
    _, trajectory = lca(X, D, 0.1, return_trajectory=True)
    return trajectory["a"].attrs["units"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # tiny runs: few updates, few patches
@pytest.mark.parametrize("prior", ["l1", "cauchy"])
def test_saved_codes_carry_the_units_of_the_learners_mean_abs_code(tmp_path, prior):
    """olshausen-field-1996's codes said "1" while mean |a| of the same codes (the
    learner's history, in the same file) said "units of X" for the L1 prior."""
    from studies import get_study
    from v1model.io import load_dataset, save_dataset

    ds = get_study("olshausen-field-1996").run(quick=True, seed=0, progress=False,
                                               prior=prior, n_patches=300, n_updates=3,
                                               n_eval=5, patch_size=6, n_atoms=12)
    saved = load_dataset(save_dataset(ds, tmp_path / "of96.nc"))
    units = saved["codes"].attrs["units"]
    assert units == saved["mean_abs_code"].attrs["units"]
    assert units == (_code_units() if prior == "l1" else "1")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_saved_lam_carries_the_units_of_the_codes(random_atoms, tmp_path):
    """activity-ratio's lam (the LCA threshold, compared with the codes) said "1", as did
    the swept lam of every study's PARAMETER_UNITS, where λ is in units of X."""
    from studies import get_study
    from v1model.io import load_dataset, save_dataset

    expected = _code_units()
    assert expected == "units of X"
    ds = get_study("activity-ratio").run(quick=True, dictionary=random_atoms, n_lams=2,
                                         n_patches=20, progress=False)
    saved = load_dataset(save_dataset(ds, tmp_path / "ratio.nc"))
    assert saved["lam"].attrs["units"] == expected
    for name in ("lca-sweep", "lewicki-2002-speech", "smith-lewicki-2006-convolutional",
                 "gregor-lecun-2010-lista", "schultz-2014-replicating-kernels",
                 "zhu-rozell-2013-ncrf", "olshausen-field-1997",
                 "rozell-2008-lca", "spiking-lca"):
        assert get_study(name).PARAMETER_UNITS["lam"] == expected, name
    # its Cauchy prior's lam is in (units of X)^2: both stated, the run's in its attrs
    assert get_study("olshausen-field-1996").PARAMETER_UNITS["lam"].startswith(
        f"{expected} (prior 'l1'); ")


def test_convolutional_codes_carry_the_units_of_the_dense_codes():
    """codes_dataset labelled the convolutional codes "1" while its lam and the dense
    codes of the same problem (v1model.inference) are in units of X (the kernels are
    dimensionless): the codes of one kernel as large as the signal are the dense ones."""
    from v1model.convolutional import ConvolutionalDictionary

    phi = ConvolutionalDictionary(np.eye(4)[:2], signal_shape=(4,), boundary="valid")
    ds = phi.codes_dataset(np.ones((1, 2, 1)))
    assert ds["codes"].attrs["units"] == _code_units()
    assert ds["kernels"].attrs["units"] == "1"
