"""Every Dataset the public analysis functions return saves with a plain
``to_netcdf(engine="h5netcdf")`` (no v1model.io clean-up of bool or None attrs)
and comes back equal, and every data variable states its units."""

import numpy as np
import pytest
import xarray as xr

from stimuli import gabor_patch
from v1model import analysis

SIZE = 8


@pytest.fixture(scope="module")
def outputs():
    D = gabor_patch(SIZE, np.linspace(0, np.pi, 4, endpoint=False), 0.25, phase=0.3,
                    sigma_x=1.5, sigma_y=2.0).reshape(4, -1)
    D /= np.linalg.norm(D, axis=1, keepdims=True)

    def encoder(X):
        return np.maximum(X @ D.T - 0.05, 0.0)

    codes = np.random.default_rng(0).standard_normal((50, 4)) * (np.arange(4) > 0)
    fit = analysis.fit_gabor(D, return_model=True)
    resp = analysis.grating_responses(encoder, SIZE, orientations=4, frequencies=3, phases=4)
    return {
        "fit_gabor": fit,
        "fit_gabor(polish=False)": analysis.fit_gabor(D, polish=False),
        "reliable_gabor_fits": analysis.reliable_gabor_fits(fit).to_dataset(),
        "map_receptive_fields(white)": analysis.map_receptive_fields(
            encoder, SIZE, n_stimuli=200, dictionary=D, seed=0),
        "map_receptive_fields(sparse)": analysis.map_receptive_fields(
            encoder, SIZE, noise="sparse", n_stimuli=200, dictionary=D, seed=0),
        "grating_responses": resp,
        "tuning_curves": analysis.tuning_curves(resp),
        "drifting_grating_responses": analysis.drifting_grating_responses(
            encoder, SIZE, orientations=2, frequencies=[0.25]),
        "contrast_response": analysis.contrast_response(
            encoder, SIZE, [0.0, 0.8], 0.25, contrasts=np.linspace(0, 1, 6), phases=4),
        "sparseness": analysis.sparseness(codes),
        "babel": analysis.babel(D),
        "coactive_babel": analysis.coactive_babel(codes, D),
        "size_tuning": analysis.size_tuning(encoder, SIZE, [0.0, 0.8], 0.25, diameters=3,
                                            contrasts=[1.0]),
        "cross_orientation_suppression": analysis.cross_orientation_suppression(
            encoder, SIZE, [0.0, 0.8], 0.25, mask_contrasts=[0.5, 1.0], phases=4),
    }


def test_every_analysis_dataset_saves_with_plain_to_netcdf(outputs, tmp_path):
    for name, ds in outputs.items():
        bad = {k: v for k, v in ds.attrs.items() if isinstance(v, (bool, np.bool_, type(None)))}
        assert not bad, f"{name}: bool or None attrs {bad}"
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path, engine="h5netcdf")
        with xr.open_dataset(path, engine="h5netcdf") as back:
            xr.testing.assert_identical(back.load(), ds)


def test_every_analysis_data_variable_has_units(outputs):
    for name, ds in outputs.items():
        missing = [v for v in ds.data_vars if "units" not in ds[v].attrs]
        assert not missing, f"{name}: data variables without units {missing}"


def test_every_analysis_variable_has_a_long_name(outputs):
    # units alone left the scalar summaries (mean_active_count, ...) and the stimulus
    # coordinates (grating_orientation, center_x, ...) unexplained in the file
    for name, ds in outputs.items():
        variables = list(ds.data_vars) + [c for c in ds.coords if c not in ds.dims]
        missing = [v for v in variables
                   if not {"long_name", "description"} & set(ds[v].attrs)]
        assert not missing, f"{name}: variables without a long_name {missing}"
