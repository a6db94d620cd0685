"""The studies that fit Gabors record the fits' settings and bounds in their attrs,
prefixed ``gabor_`` (studies._gabor_fit), as olshausen-field-1997 did alone: a fit at a
bound is not reliable, so their counts of reliable fits depend on them.

ringach-2002 kept fit_gabor's own attrs unprefixed (``analysis="gabor fit"``, the
learned fits' bounds) and A144's none; zylberberg-2011-sailnet, zhu-rozell-2013-ncrf,
receptive-field-mapping, lca-sweep (one start quick, four full) and sae-natural-patches
recorded none (sae-natural-patches is checked on the quick run of its own tests)."""

import numpy as np
import pytest

from stimuli import gabor_patch
from studies import get_study
from studies._gabor_fit import GABOR_FIT_ATTRS, gabor_fit_attrs, gabor_fit_units
from v1model.analysis import fit_gabor


def _recorded(ds, prefix="gabor_"):
    return {k: v for k, v in ds.attrs.items()
            if k.startswith(prefix) and k[len(prefix):] in GABOR_FIT_ATTRS}


def test_gabor_fit_attrs_are_the_fits_settings_and_bounds_with_their_units():
    settings = dict(n_starts=2, n_iter=7, polish=False, max_nfev=9, min_sigma=0.7,
                    max_sigma=5.0, max_frequency=0.3)
    fit = fit_gabor(gabor_patch(8, 0.3, 0.25, 0.0, 1.5, 2.0)[None], progress=False,
                    **settings)
    assert gabor_fit_attrs(fit) == {f"gabor_{k}": int(v) if isinstance(v, bool) else v
                                    for k, v in settings.items()}
    assert set(gabor_fit_attrs(fit, "ref_gabor_")) == {f"ref_gabor_{k}" for k in settings}
    units = gabor_fit_units()
    assert set(units) == set(gabor_fit_attrs(fit))
    assert units["gabor_max_sigma"] == "pixel"
    assert units["gabor_max_frequency"] == "cycles/pixel"


def _check_recorded(ds, study, expected, prefix="gabor_"):
    assert _recorded(ds, prefix) == expected
    # a sweep that moves them (the patch size moves max_sigma) gives them units
    assert set(expected) <= set(study.PARAMETER_UNITS)


def test_ringach_records_the_learned_and_the_reference_fits_bounds(tmp_path,
                                                                    gabor_fit_settings):
    """8x8 learned atoms and a 6x6 reference: max_sigma (the patch side) tells which
    bounds are whose."""
    from scipy.io import savemat

    from v1model import SparseCodingNetwork

    def gabors(side):
        atoms = np.stack([gabor_patch(side, t, 0.25, sigma_x=1.5, sigma_y=1.5).ravel()
                          for t in (0.0, 1.0, 2.0)])
        return atoms / np.linalg.norm(atoms, axis=1, keepdims=True)

    SparseCodingNetwork(gabors(8), patch_shape=(8, 8)).save(tmp_path / "learned.nc")
    savemat(tmp_path / "A144.mat", {"A": gabors(6).T})  # one atom per column
    study = get_study("ringach-2002")
    ds = study.run(quick=True, dictionary=str(tmp_path / "learned.nc"),
                   reference=str(tmp_path / "A144.mat"), n_starts=1, progress=False)
    _check_recorded(ds, study, gabor_fit_settings(8, n_starts=1))
    _check_recorded(ds, study, gabor_fit_settings(6, "ref_gabor_", n_starts=1), "ref_gabor_")
    assert ds.attrs["gabor_max_sigma"] == 8.0 and ds.attrs["ref_gabor_max_sigma"] == 6.0
    # no unprefixed copy of the learned fits' attrs, which said nothing of A144's
    assert not {"analysis", "min_sigma", "max_sigma", "max_frequency", "height"} & set(ds.attrs)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name, side, quick, settings", [
    ("zylberberg-2011-sailnet", 4, True, {}),
    ("zhu-rozell-2013-ncrf", 8, True, {}),
    # lca-sweep fits one start unpolished quick, four polished full
    ("lca-sweep", 4, True, dict(n_starts=1, polish=False)),
    ("lca-sweep", 4, False, dict(n_starts=4, polish=True)),
], ids=["zylberberg-2011-sailnet", "zhu-rozell-2013-ncrf", "lca-sweep quick",
        "lca-sweep full"])
def test_the_smallest_runs_record_their_fits_settings_and_bounds(name, side, quick, settings,
                                                                 smallest, gabor_fit_settings):
    study = get_study(name)
    ds = study.run(quick=quick, progress=False, **smallest(name, brian2=False))
    _check_recorded(ds, study, gabor_fit_settings(side, **settings))


def test_lca_sweep_without_gabor_fits_records_no_fit_settings(smallest):
    ds = get_study("lca-sweep").run(quick=True, gabor=False, **smallest("lca-sweep"))
    assert _recorded(ds) == {} and ds.attrs["gabor"] == 0


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
def test_receptive_field_mapping_records_its_fits_settings_and_bounds(tmp_path,
                                                                       gabor_fit_settings):
    import xarray as xr

    atoms = gabor_patch(8, [0.0, np.pi / 2], 0.25, 0.0, 1.5, 2.5)
    atoms /= np.linalg.norm(atoms.reshape(2, -1), axis=1)[:, None, None]
    xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)}).to_netcdf(tmp_path / "gabors.nc")
    study = get_study("receptive-field-mapping")
    ds = study.run(quick=True, dictionary=str(tmp_path / "gabors.nc"),
                   n_white=100, n_sparse=100, n_orientations=4, n_frequencies=2, n_phases=2,
                   n_contrasts=8, n_sample_units=1, progress=False)
    _check_recorded(ds, study, gabor_fit_settings(8))
