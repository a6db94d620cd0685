"""The units the encoder probes record, checked by dimensional analysis on saved results.

The probes (gratings, contrast response, noise mapping, size, length and
cross-orientation tuning) labelled every response, and the grating amplitudes,
"1" (dimensionless), although a response is in the units of the encoder's
output (LCA codes in units of X, rates in Hz) and an amplitude in those of its
input. A label is checked against what the value does when the units change:
an encoder whose output is twice as large must double every variable in the
output's units (and those per unit of input), leave the ratios ("1") alone;
stimuli twice as large into an encoder that halves them must double every
variable in the input's units and halve those per unit of input.
"""

import numpy as np
import pytest

from stimuli import gabor_patch
from v1model import analysis
from v1model.io import load_dataset, save_dataset

SIZE = 8
OUTPUT = "units of the encoder's output"
INPUT = "units of the encoder's input"
#: (power of the output's scale, power of the input's scale) of each label; any other
#: label (pixel, rad, cycles/pixel, s, octave, "1") is neither
SCALING = {OUTPUT: (1, 0), INPUT: (0, 1), f"{OUTPUT} per unit of the encoder's input": (1, -1)}


@pytest.fixture(scope="module")
def atoms():
    D = gabor_patch(SIZE, np.array([0.0, 0.8]), 0.25, phase=0.3, sigma_x=1.5,
                    sigma_y=2.0).reshape(2, -1)
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def _encoder(D, out_scale, in_scale):
    """Naka-Rushton units of the drive ``D x`` (n = 2, c50 = 0.3): they saturate, so
    contrast_response measures a c50; ``out_scale`` times the output of the encoder
    that sees the input divided by ``in_scale``."""
    def encoder(X):
        drive = np.maximum((X / in_scale) @ D.T, 0.0)
        return out_scale * drive**2 / (drive**2 + 0.3**2)
    return encoder


def _probes(D, out_scale, in_scale, tmp_path):
    """Every probe of an encoder, with its amplitudes times ``in_scale``, saved and read
    back (the labels a user opens)."""
    enc = _encoder(D, out_scale, in_scale)
    o, f = [0.0, 0.8], 0.25
    grat = analysis.grating_responses(enc, SIZE, orientations=4, frequencies=[0.2, 0.25],
                                      phases=4, contrast=0.5 * in_scale)
    size = analysis.size_tuning(enc, SIZE, o, f, diameters=3, contrasts=[0.5 * in_scale],
                                phases=4)
    length = analysis.length_tuning(enc, SIZE, o, f, lengths=3,
                                    contrasts=[0.5 * in_scale], phases=4)
    results = {
        "grating_responses": grat,
        "tuning_curves": analysis.tuning_curves(grat),
        "drifting_grating_responses": analysis.drifting_grating_responses(
            enc, SIZE, orientations=2, frequencies=[0.25], contrast=0.5 * in_scale),
        "contrast_response": analysis.contrast_response(
            enc, SIZE, o, f, contrasts=np.geomspace(0.01, 10, 12) * in_scale, phases=4),
        "map_receptive_fields": analysis.map_receptive_fields(
            enc, SIZE, n_stimuli=300, contrast=0.5 * in_scale, dictionary=D, seed=0),
        "size_tuning": size,
        "surround_suppression": analysis.surround_suppression(size),
        "length_tuning": length,
        "end_stopping": analysis.end_stopping(length),
        "cross_orientation_suppression": analysis.cross_orientation_suppression(
            enc, SIZE, o, f, test_contrast=0.5 * in_scale,
            mask_contrasts=[0.25 * in_scale, 0.5 * in_scale], phases=4),
    }
    tag = f"{out_scale:g}_{in_scale:g}"
    return {name: load_dataset(save_dataset(ds, tmp_path / f"{name}_{tag}.nc"))
            for name, ds in results.items()}


@pytest.fixture(scope="module")
def saved(atoms, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("units")
    return {key: _probes(atoms, *key, tmp) for key in ((1.0, 1.0), (2.0, 1.0), (1.0, 2.0))}


def _numeric_variables(ds):
    return [v for v in list(ds.data_vars) + list(ds.coords)
            if v != "atom" and ds[v].dtype.kind in "fiu"]


def test_responses_are_labelled_in_the_encoder_output_units_and_amplitudes_in_its_input(
        saved):
    base = saved[1.0, 1.0]
    expected = {
        "grating_responses": {"response": OUTPUT},
        "tuning_curves": {"orientation_tuning": OUTPUT, "frequency_tuning": OUTPUT,
                          "max_response": OUTPUT, "circular_variance": "1"},
        "drifting_grating_responses": {"response": OUTPUT, "f0": OUTPUT, "f1": OUTPUT,
                                       "modulation_ratio": "1"},
        "contrast_response": {"response": OUTPUT, "rmax": OUTPUT, "baseline": OUTPUT,
                              "contrast": INPUT, "c50": INPUT, "threshold": INPUT,
                              "exponent": "1", "fit_r2": "1"},
        "map_receptive_fields": {"rf": f"{OUTPUT} per unit of the encoder's input",
                                 "mean_response": OUTPUT, "response_sd": OUTPUT,
                                 "fraction_active": "1", "similarity": "1"},
        "size_tuning": {"response": OUTPUT, "contrast": INPUT},
        "surround_suppression": {"peak_response": OUTPUT, "largest_response": OUTPUT,
                                 "suppression_index": "1"},
        "length_tuning": {"response": OUTPUT, "contrast": INPUT},
        "end_stopping": {"peak_response": OUTPUT, "longest_response": OUTPUT,
                         "end_stopping_index": "1"},
        "cross_orientation_suppression": {"response": OUTPUT, "mask_response": OUTPUT,
                                          "mask_contrast": INPUT, "relative_response": "1",
                                          "suppression_index": "1"},
    }
    for name, labels in expected.items():
        got = {v: base[name][v].attrs.get("units") for v in labels}
        assert got == labels, name


@pytest.mark.parametrize("scale", [(2.0, 1.0), (1.0, 2.0)], ids=["output x2", "input x2"])
def test_every_label_scales_as_its_values_do(saved, scale):
    """Each numeric variable of each saved result changes by exactly the factor its
    label says (finite c50s included: the units saturate)."""
    base, other = saved[1.0, 1.0], saved[scale]
    assert np.isfinite(base["contrast_response"]["c50"].values).any()
    for name, ds in base.items():
        for v in _numeric_variables(ds):
            p_out, p_in = SCALING.get(ds[v].attrs.get("units"), (0, 0))
            factor = scale[0] ** p_out * scale[1] ** p_in
            np.testing.assert_allclose(other[name][v].values, factor * ds[v].values,
                                       rtol=1e-6, atol=1e-12,
                                       err_msg=f"{name}.{v} ({ds[v].attrs.get('units')})")


def test_response_units_are_recorded_and_kept_by_the_summaries(atoms):
    """A caller that knows its encoder names the units: an LCA's codes are in units of
    X, and the summaries of the responses keep them."""
    enc = _encoder(atoms, 1.0, 1.0)
    size = analysis.size_tuning(enc, SIZE, 0.0, 0.25, diameters=2, contrasts=[0.5],
                                phases=2, response_units="units of X")
    assert size["response"].attrs["units"] == "units of X"
    assert analysis.surround_suppression(size)["peak_response"].attrs["units"] == "units of X"
    grat = analysis.grating_responses(enc, SIZE, orientations=4, frequencies=[0.25],
                                      phases=2, response_units="Hz")
    assert analysis.tuning_curves(grat)["max_response"].attrs["units"] == "Hz"
    rf = analysis.map_receptive_fields(enc, SIZE, n_stimuli=20, seed=0, response_units="Hz")
    assert rf["rf"].attrs["units"] == "Hz per unit of the encoder's input"
    assert rf["mean_response"].attrs["units"] == "Hz"


@pytest.mark.parametrize("bad", [None, "", "  ", 1.0])
def test_response_units_must_be_a_non_empty_string(atoms, bad):
    with pytest.raises(TypeError, match="response_units must be a non-empty string"):
        analysis.contrast_response(_encoder(atoms, 1.0, 1.0), SIZE, 0.0, 0.25, contrasts=5,
                                   response_units=bad)
