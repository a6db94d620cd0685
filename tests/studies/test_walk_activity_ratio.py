"""activity-ratio, from a user's walk-through: a lambda at which every patch is
silent gives NaN summaries of the empty codes, not a bare numpy 'Mean of empty
slice' warning (what ``v1model study run`` printed)."""

import warnings

import numpy as np
import pytest
import xarray as xr

from studies import get_study


def test_all_silent_codes_summarise_without_warnings(random_atoms):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # |<d, x>| of unit atoms and whitened 8x8 patches (variance 0.1) stays far below 50
        ds = get_study("activity-ratio").run(quick=True, dictionary=random_atoms, lam_min=50.0,
                                             lam_max=100.0, n_lams=2, n_patches=20,
                                             progress=False)
    assert list(ds["code_class"].values) == ["silent", "silent"]
    np.testing.assert_array_equal(ds["activity_ratio"].values, 0.0)
    np.testing.assert_array_equal(ds["active_count"].values, 0)
    assert np.isnan(ds["mean_hoyer"].values).all()  # no patch has a code to measure
    # the reconstruction of a silent code is nothing: relative error 1 on every patch
    np.testing.assert_allclose(ds["reconstruction_error"].values, 1.0, rtol=1e-12)
    assert ds["n_dead"].values.tolist() == [16, 16] and ds["n_dead"].dtype == np.int64
    # the means over units and patches leave out every NaN one, and say how many
    # (mean_lifetime_sparseness was a bare nanmean over a set that changed with lambda)
    assert ds["n_units_left_out"].values.tolist() == [16, 16]
    assert ds["n_stimuli_left_out"].values.tolist() == [20, 20]
    assert ds["n_units_left_out"].dtype == np.int64
    assert "n_units_left_out left out" in ds["mean_lifetime_sparseness"].attrs["long_name"]


def test_a_one_atom_dictionary_is_refused_by_name_before_the_codes(tmp_path, monkeypatch):
    """The Babel function needs two atoms: a one-atom dictionary loaded the images, coded
    the patches at the first lambda, then failed with "D needs at least 2 atoms for the
    Babel function", naming an argument the user never gave."""
    import v1model.inference

    def no_codes(*args, **kwargs):
        raise AssertionError("the patches were coded before the dictionary was checked")

    monkeypatch.setattr(v1model.inference, "lca", no_codes)
    atom = np.random.default_rng(0).standard_normal((1, 8, 8))
    path = tmp_path / "one.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x"), atom / np.linalg.norm(atom))}).to_netcdf(path)
    with pytest.raises(ValueError, match=r"dictionary=.*one\.nc.* has 1 atom; the study "
                                         r"needs at least 2"):
        get_study("activity-ratio").run(quick=True, dictionary=str(path), n_lams=2,
                                        n_patches=20, progress=False)
