"""The analysis studies declare the units of their parameters: a sweep over lam, tol or
a stimulus contrast (all in the units of the whitened input X, as the LCA codes they are
compared with) records them on its coordinates, in the saved result too."""

import pytest

from v1model.io import load_dataset
from v1model.sweep import run


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_activity_ratio_sweep_records_the_units_of_tol_and_lam(random_atoms, tmp_path):
    run("activity-ratio", {"tol": [0.0, 0.01], "lam_max": [1.0]},
        params={"dictionary": random_atoms, "n_lams": 2, "n_patches": 20}, quick=True,
        executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all()
    assert saved["tol"].attrs["units"] == "units of X"
    assert saved["lam_max"].attrs["units"] == "units of X"


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_receptive_field_mapping_sweep_records_the_units_of_lam_and_contrast(random_atoms,
                                                                            tmp_path):
    run("receptive-field-mapping", {"lam": [0.05], "grating_contrast": [0.5]},
        params={"dictionary": random_atoms, "n_white": 20, "n_sparse": 20, "n_orientations": 2,
                "n_frequencies": 1, "n_phases": 2, "n_contrasts": 4, "n_sample_units": 1},
        quick=True, executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    assert saved["lam"].attrs["units"] == "units of X"
    assert saved["grating_contrast"].attrs["units"] == "units of X"


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
def test_olshausen_field_1997_sweep_records_the_units_of_overcompleteness(tmp_path):
    """A sweep over overcompleteness (how the study learns one dictionary alone) saved
    that coordinate, atoms per pixel, without units, as the study's own Dataset did."""
    run("olshausen-field-1997", {"overcompleteness": [1, 2], "lam": [0.15]},
        params=dict(patch_size=4, n_updates=2, n_patches=300, n_eval=20), quick=True,
        executor="serial", output=tmp_path / "sweep", progress=False)
    saved = load_dataset(tmp_path / "sweep" / "sweep.nc")
    assert (saved["status"] == "ok").all(), saved["error"].values
    assert saved["overcompleteness"].attrs["units"] == "1"
    assert saved["lam"].attrs["units"] == "units of X"
    # the study's own coordinate, renamed beside the swept one
    assert saved["overcompleteness_output"].attrs["units"] == "1"
