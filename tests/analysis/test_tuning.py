"""Grating protocols: units with Gabor atoms are tuned to their atoms'
orientation; circular variance, bandwidth, F1/F0 and c50 against analytic values."""

import re
import warnings

import numpy as np
import pytest
import xarray as xr

from stimuli import gabor_patch
from v1model.analysis import (
    circular_variance,
    contrast_response,
    drifting_grating_responses,
    fit_gabor,
    grating_responses,
    tuning_curves,
)
from v1model.inference import lca

THETA = np.linspace(0, np.pi, 8, endpoint=False) + 0.1  # off the grating grid
FREQ = 0.18


@pytest.fixture(scope="module")
def gabor_dictionary():
    D = gabor_patch(12, THETA, FREQ, phase=0.5, sigma_x=2.2, sigma_y=3.0).reshape(8, -1)
    return D / np.linalg.norm(D, axis=1, keepdims=True)


@pytest.mark.parametrize("kind, tolerance_deg", [("linear", 0.5), ("lca", 6.0)])
def test_unit_with_gabor_atom_prefers_the_atoms_orientation(gabor_dictionary, kind,
                                                            tolerance_deg):
    """Vector-sum preference within 0.5 deg for linear units; LCA's competition
    between atoms 22.5 deg apart shifts it by a few degrees (< 6)."""
    D = gabor_dictionary
    encoder = (lambda X: X @ D.T) if kind == "linear" else (lambda X: lca(X, D, 0.3))
    freqs = np.geomspace(0.06, 0.45, 12)
    resp = grating_responses(encoder, 12, orientations=36, frequencies=freqs, phases=8,
                             contrast=0.5)
    tc = tuning_curves(resp)
    d = np.abs((tc.preferred_orientation.values - THETA + np.pi / 2) % np.pi - np.pi / 2)
    assert np.degrees(d).max() < tolerance_deg
    # ... and the same orientation as a Gabor fitted to the atom
    fit = fit_gabor(D)
    np.testing.assert_allclose(fit.orientation.values, THETA, atol=1e-4)
    # the preferred frequency is the grid value nearest the carrier's or a neighbour
    step = np.log(freqs[1] / freqs[0])
    assert np.all(np.abs(np.log(tc.preferred_frequency.values / FREQ)) <= 1.5 * step)
    assert np.all(tc.circular_variance.values < 0.6)


def test_circular_variance_hand_computed():
    o = np.array([0, np.pi / 4, np.pi / 2, 3 * np.pi / 4])
    assert circular_variance([1.0, 0, 0, 0], o) == pytest.approx(0.0)
    assert circular_variance([1.0, 1, 1, 1], o) == pytest.approx(1.0)
    # |1 + e^{i pi/2}| / 2 = sqrt(2) / 2
    assert circular_variance([1.0, 1, 0, 0], o) == pytest.approx(1 - np.sqrt(2) / 2)
    assert np.isnan(circular_variance([0.0, 0, 0, 0], o))
    # along another axis: two units as columns
    np.testing.assert_allclose(circular_variance(np.array([[1.0, 1], [0, 1], [0, 1], [0, 1]]),
                                                 o, axis=0), [0.0, 1.0], atol=1e-12)


def test_circular_variance_reads_a_dataarray_by_dim_name():
    # curves (orientation, atom) ran over the atoms with the default axis, unsaid (as
    # many atoms as orientations), and axis="orientation" was refused
    o = np.array([0, np.pi / 4, np.pi / 2, 3 * np.pi / 4])
    curves = np.array([[1.0, 0, 0, 0], [1.0, 1, 1, 1], [1.0, 1, 0, 0], [0, 2.0, 0, 0]])
    expected = [0.0, 1.0, 1 - np.sqrt(2) / 2, 0.0]  # by hand, as above
    da = xr.DataArray(curves, dims=("atom", "orientation"))
    for given in (da, da.T):
        np.testing.assert_allclose(circular_variance(given, o), expected, atol=1e-12)
        np.testing.assert_allclose(circular_variance(given, o, axis="orientation"),
                                   expected, atol=1e-12)
    # an int other than the default on curves (orientation, atom) is ambiguous: axis=0
    # ran over the atoms (the order (atom, orientation)), unsaid, where the user's own
    # axis 0 was the orientation
    with pytest.raises(ValueError, match=r"^axis=0 is ambiguous for curve with dims "
                                         r"\('orientation', 'atom'\): an int counts the dims "
                                         r"\('atom', 'orientation'\) in that order, where it is "
                                         r"'atom', but axis 0 of curve is 'orientation'; "
                                         r"pass the dim name, axis='atom' or "
                                         r"axis='orientation'$"):
        circular_variance(da.T, o, axis=0)
    # in the order (atom, orientation) an int is an axis, as for the plain array
    np.testing.assert_allclose(circular_variance(da, o, axis=1), expected, atol=1e-12)
    with pytest.raises(TypeError, match=r"^axis='orientation' is a dim name, which only an "
                                        r"xarray.DataArray has; curve is array of shape "):
        circular_variance(curves, o, axis="orientation")
    with pytest.raises(ValueError, match=r"^axis='angle' is not a dim of curve, whose dims "
                                         r"are \('atom', 'orientation'\)$"):
        circular_variance(da, o, axis="angle")


def test_circular_variance_of_a_dataarray_follows_the_axis_or_refuses():
    # curves (orientation, atom), as many atoms as orientations: axis=0 gave the
    # variance over the atoms (0.67, 0.65, 0, 0), unsaid; by hand (Ringach 2002)
    # 1 - |sum r e^{2i theta}| / sum r for each atom's curve
    o = np.linspace(0, np.pi, 4, endpoint=False)
    by_atom = np.array([[1.0, 0, 0, 0], [1.0, 1, 1, 1], [1.0, 1, 0, 0], [0, 2.0, 0, 0]])
    hand = [1 - abs((r * np.exp(2j * o)).sum()) / r.sum() for r in by_atom]
    da = xr.DataArray(by_atom.T, dims=("orientation", "atom"))
    for axis in (-1, "orientation"):
        np.testing.assert_allclose(circular_variance(da, o, axis=axis), hand, atol=1e-12)
    for axis in (0, 1, -2):
        with pytest.raises(ValueError, match=rf"^axis={axis} is ambiguous for curve with "
                                             r"dims \('orientation', 'atom'\)"):
            circular_variance(da, o, axis=axis)
    # three atoms: the message named the transposed shape (3, 4), not the user's (4, 3)
    with pytest.raises(ValueError, match=r"^axis=0 is ambiguous"):
        circular_variance(da[:, :3], o, axis=0)
    # numpy arrays keep axis semantics
    np.testing.assert_allclose(circular_variance(by_atom.T, o, axis=0), hand, atol=1e-12)


def test_circular_variance_default_axis_is_the_dim_named_orientation():
    # curves (orientation, frequency, atom), f0's dims in drifting_grating_responses, as
    # many atoms as orientations: the default axis -1 ran over the atoms, unsaid. By hand
    # (Ringach 2002) 1 - |sum r e^{2i theta}| / sum r for each atom's curve
    o = np.linspace(0, np.pi, 4, endpoint=False)
    by_atom = np.array([[1.0, 0, 0, 0], [1.0, 1, 1, 1], [1.0, 1, 0, 0], [0, 2.0, 0, 0]])
    hand = [0.0, 1.0, 1 - np.sqrt(2) / 2, 0.0]
    # frequency 0: the atoms' curves; frequency 1: the same in reverse atom order
    data = np.stack([by_atom, by_atom[::-1]])  # (frequency, atom, orientation)
    expected = np.array([hand, hand[::-1]])  # (frequency, atom)
    da = xr.DataArray(data, dims=("frequency", "atom", "orientation"))
    np.testing.assert_allclose(circular_variance(da, o), expected, atol=1e-12)
    ofa = da.transpose("orientation", "frequency", "atom")
    np.testing.assert_allclose(circular_variance(ofa, o), expected, atol=1e-12)
    # the int -1 keeps its meaning (the last axis here), as for the plain array
    np.testing.assert_allclose(circular_variance(ofa, o, axis=-1),
                               circular_variance(ofa.values, o), atol=1e-12)
    # without an orientation dim (and for arrays): the last axis
    unnamed = xr.DataArray(by_atom, dims=("unit", "angle"))
    np.testing.assert_allclose(circular_variance(unnamed, o), hand, atol=1e-12)
    np.testing.assert_allclose(circular_variance(by_atom, o), hand, atol=1e-12)


@pytest.mark.parametrize(
    "curve, orientations, axis, match",
    [
        ([1.0, -0.5, 0, 0], np.arange(4), -1, "curve must be non-negative"),
        ([1.0, np.nan, 0, 0], np.arange(4), -1, "curve contains 1 non-finite"),
        ([1.0, 0, 0], np.arange(4), -1, "orientations has 4 values but curve has 3"),
        (np.ones((2, 4)), np.arange(4), 2, r"axis must be in \[-2, 1\]"),
        (np.ones(4), np.ones((2, 2)), -1, "orientations must have 1 dimension"),
    ],
)
def test_circular_variance_bad_input(curve, orientations, axis, match):
    with pytest.raises(ValueError, match=match):
        circular_variance(curve, orientations, axis=axis)


def _responses_from_curve(curve, orientations):
    """A fake grating_responses Dataset with one unit, one frequency, one phase."""
    return xr.Dataset(
        {"response": (("orientation", "frequency", "phase", "atom"),
                      np.asarray(curve)[:, None, None, None])},
        coords={"orientation": orientations, "frequency": [0.2], "phase": [0.0], "atom": [0]},
    )


def test_orientation_bandwidth_and_preference_of_a_von_mises_curve():
    kappa, theta0 = 3.0, 1.0
    o = np.linspace(0, np.pi, 360, endpoint=False)
    curve = np.exp(kappa * (np.cos(2 * (o - theta0)) - 1))
    tc = tuning_curves(_responses_from_curve(curve, o))
    hwhh = 0.5 * np.arccos(1 + np.log(0.5) / kappa)  # exact half-width at half-height
    assert float(tc.orientation_bandwidth[0]) == pytest.approx(hwhh, abs=np.radians(0.05))
    assert float(tc.preferred_orientation[0]) == pytest.approx(theta0, abs=1e-9)
    # circular variance of a von Mises in 2*theta: 1 - I1(kappa) / I0(kappa)
    from scipy.special import i0, i1

    assert float(tc.circular_variance[0]) == pytest.approx(1 - i1(kappa) / i0(kappa), abs=1e-9)


def test_orientation_bandwidth_does_not_depend_on_the_order_of_the_grid():
    """An even grid in descending order is still an even grid (it gave NaN)."""
    kappa, theta0 = 3.0, 1.0
    o = np.linspace(0, np.pi, 36, endpoint=False)
    curve = np.exp(kappa * (np.cos(2 * (o - theta0)) - 1))
    up = tuning_curves(_responses_from_curve(curve, o))
    down = tuning_curves(_responses_from_curve(curve[::-1], o[::-1]))
    assert np.isfinite(float(up.orientation_bandwidth[0]))
    for name in ("orientation_bandwidth", "preferred_orientation", "circular_variance"):
        assert float(down[name][0]) == pytest.approx(float(up[name][0]), abs=1e-12)
    # alternating steps of +-pi/n are not an even grid
    zigzag = np.array([0.0, np.pi / 4, 0.0, np.pi / 4])
    with pytest.warns(UserWarning, match=r"circular_variance and orientation_bandwidth are NaN"):
        tc = tuning_curves(_responses_from_curve([1.0, 0.2, 0.5, 0.1], zigzag))
    assert np.isnan(tc.orientation_bandwidth[0])


def test_silent_unit_gets_nan_preferences():
    o = np.linspace(0, np.pi, 8, endpoint=False)
    tc = tuning_curves(_responses_from_curve(np.zeros(8), o))
    assert np.isnan(tc.preferred_orientation[0]) and np.isnan(tc.circular_variance[0])
    assert float(tc.max_response[0]) == 0


def test_drifting_grating_f1_over_f0_of_a_half_wave_rectified_linear_unit(gabor_dictionary):
    """A rectified linear unit follows a rectified sinusoid: F1/F0 = pi/2."""
    D = gabor_dictionary[:1]
    ds = drifting_grating_responses(lambda X: X @ D.T, 12, orientations=[THETA[0]],
                                    frequencies=[FREQ], frames_per_cycle=64,
                                    temporal_frequency=4.0)
    assert ds.sizes["time"] == 64
    assert float(ds.time[1]) == pytest.approx(1 / 256)
    assert float(ds.modulation_ratio[0, 0, 0]) == pytest.approx(np.pi / 2, rel=2e-3)


def test_contrast_response_of_a_linear_unit(gabor_dictionary):
    """Linear (rectified) unit: response proportional to contrast, no saturation, so no
    c50; a thresholded unit (LCA) answers only above a positive threshold contrast."""
    D = gabor_dictionary
    c = np.linspace(0.1, 1.0, 10)
    ds = contrast_response(lambda X: X @ D.T, 12, THETA[[2, 5]], FREQ, contrasts=c,
                           units=[2, 5], phases=16)
    r = ds.response.values
    np.testing.assert_allclose(r / r[:, -1:], np.broadcast_to(c / c[-1], r.shape), rtol=1e-10)
    assert np.all(np.isnan(ds.c50.values))
    assert list(ds.c50_flag.values) == ["not saturating"] * 2
    assert np.all(np.isnan(ds.threshold.values))  # responds at the lowest tested contrast
    lca_ds = contrast_response(lambda X: lca(X, D, 0.3), 12, THETA[[2, 5]], FREQ,
                               contrasts=np.linspace(0, 1.0, 21), units=[2, 5], phases=16)
    assert np.all(np.isnan(lca_ds.c50.values))
    assert np.all((lca_ds.threshold.values > 0) & (lca_ds.threshold.values < 1.0))


PEAK_PHASE = np.pi / 4


def _unit_response(curve):
    """An encoder whose one unit answers a grating of amplitude c with curve(c).

    The grating's amplitude is read from the stimulus as its largest |pixel|: at
    0.25 cycles/pixel on 8x8, orientation 0 and phase pi/4 a pixel sits on a crest."""
    def encoder(X):
        return curve(np.abs(X).max(axis=1))[:, None]
    return encoder


def test_naka_rushton_with_known_c50_is_recovered():
    """r = 0.1 + 2 c^2.5 / (c^2.5 + 0.2^2.5), tested from 0.01 to 1: c50, n, rmax and the
    baseline come back to 1e-4; the threshold is NaN (it responds at every contrast)."""
    from v1model.analysis import naka_rushton

    def curve(c):
        return naka_rushton(c, 2.0, 0.2, 2.5, 0.1)

    c = np.geomspace(0.01, 1.0, 15)
    ds = contrast_response(_unit_response(curve), 8, 0.0, 0.25, contrasts=c, phases=[PEAK_PHASE])
    np.testing.assert_allclose(ds.response.values[0], curve(c), rtol=1e-12)
    assert str(ds.c50_flag.values[0]) == "saturating"
    assert float(ds.c50[0]) == pytest.approx(0.2, rel=1e-4)
    assert float(ds.exponent[0]) == pytest.approx(2.5, rel=1e-4)
    assert float(ds.rmax[0]) == pytest.approx(2.0, rel=1e-4)
    assert float(ds.baseline[0]) == pytest.approx(0.1, abs=1e-4)
    assert float(ds.fit_r2[0]) > 1 - 1e-9
    # the same curve tested only up to 0.25 (r(0.25) = 0.64 rmax) does not saturate
    low = contrast_response(_unit_response(curve), 8, 0.0, 0.25,
                            contrasts=np.geomspace(0.01, 0.25, 10), phases=[PEAK_PHASE])
    assert str(low.c50_flag.values[0]) == "not saturating" and np.isnan(low.c50[0])
    # and a c50 above the tested range is never reported
    high = contrast_response(_unit_response(lambda c: naka_rushton(c, 1.0, 3.0, 2.0)), 8,
                             0.0, 0.25, contrasts=c, phases=[PEAK_PHASE])
    assert np.isnan(high.c50[0])


@pytest.mark.parametrize("threshold", [0.137, 0.3, 0.52])
def test_threshold_linear_unit_has_its_threshold_and_no_c50(threshold):
    """r = 3 max(c - t, 0): threshold t exactly (interpolated between grid values), no c50,
    whatever the tested range (here up to 1)."""
    c = np.linspace(0.0, 1.0, 11)
    ds = contrast_response(_unit_response(lambda x: 3.0 * np.maximum(x - threshold, 0.0)), 8,
                           0.0, 0.25, contrasts=c, phases=[PEAK_PHASE])
    assert float(ds.threshold[0]) == pytest.approx(threshold, rel=1e-9)
    assert str(ds.c50_flag.values[0]) == "not saturating"
    assert np.isnan(ds.c50[0]) and np.isnan(ds.exponent[0])


def test_contrast_response_silent_unit_and_unsorted_contrasts():
    c = np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    ds = contrast_response(_unit_response(lambda x: np.zeros_like(x)), 8, 0.0, 0.25,
                           contrasts=c, phases=[PEAK_PHASE])
    assert str(ds.c50_flag.values[0]) == "no response" and np.isnan(ds.threshold[0])
    ds = contrast_response(_unit_response(lambda x: np.maximum(x - 0.2, 0.0)), 8, 0.0, 0.25,
                           contrasts=c, phases=[PEAK_PHASE])
    assert float(ds.threshold[0]) == pytest.approx(0.2, rel=1e-9)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: tuning_curves(np.zeros(3)), TypeError, "responses must be the Dataset"),
        (lambda: tuning_curves(_responses_from_curve([1.0, 0], [0, 1]), rectify="square"),
         ValueError, "rectify must be one of"),
        (lambda: grating_responses(lambda X: X, 4, frequencies=[-0.1]), ValueError,
         r"frequencies must be in \(0, 0.5\] cycles/pixel"),
        # above Nyquist (0.5 cycles/pixel) a grating aliases: accepted before
        (lambda: grating_responses(lambda X: X, 4, frequencies=[0.2, 2.0]), ValueError,
         r"frequencies must be in \(0, 0.5\] cycles/pixel \(0.5 is the Nyquist frequency of "
         r"the pixel grid\), got 2.0 among 2 values"),
        (lambda: drifting_grating_responses(lambda X: X, 4, frequencies=[0.7]), ValueError,
         r"frequencies must be in \[0, 0.5\] cycles/pixel"),
        # negative frequencies: rejected by grating_responses, accepted here before
        (lambda: contrast_response(lambda X: X, 4, 0.0, -0.2), ValueError,
         r"frequency must be in \[0, 0.5\] cycles/pixel .* got -0.2"),
        (lambda: contrast_response(lambda X: X, 4, 0.0, [0.2, 0.9]), ValueError,
         r"frequency must be in .* got 0.9 among 2 values"),
        (lambda: grating_responses(lambda X: X, 4, progress="no"), TypeError,
         r"progress must be True, False or None \(.*\), got 'no'"),
        (lambda: drifting_grating_responses(lambda X: X, 4, progress=1), TypeError,
         r"progress must be True, False or None \(.*\), got 1"),
        (lambda: contrast_response(lambda X: X, 4, 0.0, 0.2, progress="no"), TypeError,
         "progress must be True, False or None"),
        (lambda: grating_responses(lambda X: X[:, :2].T, 4, orientations=2, frequencies=2,
                                   phases=2), ValueError, "encoder returned shape"),
        (lambda: contrast_response(lambda X: X, 4, [0.1, 0.2, 0.3], 0.2, units=[0, 1]),
         ValueError, "one value per selected unit"),
        (lambda: contrast_response(lambda X: X[:, :2], 4, 0.1, 0.2, units=[5]), ValueError,
         "the encoder has 2 units"),
        # an empty list is float64: it was reported as "not integer indices"
        (lambda: contrast_response(lambda X: X, 4, 0.1, 0.2, units=[]), ValueError,
         r"units is empty \(array\(\[\], dtype=float64\)\); select at least one unit"),
        (lambda: drifting_grating_responses(lambda X: X, 4, frames_per_cycle=2), ValueError,
         "frames_per_cycle must be >= 3"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _with_nan(ds):
    ds = ds.copy(deep=True)
    ds["response"][0, 0, 0, 0] = np.nan
    return ds


@pytest.mark.parametrize(
    "change, match",
    [
        # NaN responses gave NaN preferences; negative frequencies NaN bandwidths
        (_with_nan, r"responses\['response'\] contains 1 non-finite value"),
        (lambda ds: ds.assign_coords(frequency=-ds.frequency),
         r"responses\['frequency'\] must be in \(0, 0.5\] cycles/pixel .* got -0.2"),
        (lambda ds: ds.assign_coords(frequency=[0.0]),
         r"responses\['frequency'\] must be in \(0, 0.5\]"),
        # a missing dimension gave xarray's "Dimensions {'phase'} do not exist"
        (lambda ds: ds.isel(phase=0),
         r"responses\['response'\] must have the dimensions \('atom', 'orientation', "
         r"'frequency', 'phase'\) of grating_responses' output, got \('orientation', "
         r"'frequency', 'atom'\)"),
        (lambda ds: ds.drop_vars("orientation"),
         r"responses lacks the coordinate\(s\) \['orientation'\]"),
    ],
)
def test_tuning_curves_validates_the_dataset(change, match):
    o = np.linspace(0, np.pi, 8, endpoint=False)
    ds = _responses_from_curve(np.cos(o) ** 2, o)
    assert np.isfinite(tuning_curves(ds).preferred_orientation[0])
    with pytest.raises(ValueError, match=match):
        tuning_curves(change(ds))


def _resp(amp, o, f, ph):
    import xarray as xr
    return xr.Dataset({"response": (("orientation", "frequency", "phase", "atom"), amp)},
                      coords={"orientation": o, "frequency": f, "phase": ph, "atom": [0]})


def test_frequency_bandwidth_and_peak_orientation_of_a_synthetic_unit():
    from v1model.analysis import tuning_curves
    o = np.linspace(0, np.pi, 12, endpoint=False)
    f = 2.0 ** np.linspace(-6, -1, 201)
    sig = 0.5  # octaves
    curve_f = np.exp(-0.5 * ((np.log2(f) + 3.5) / sig) ** 2)
    curve_o = np.exp(3 * (np.cos(2 * (o - o[4])) - 1))
    amp = (curve_o[:, None] * curve_f[None, :])[:, :, None, None]
    tc = tuning_curves(_resp(amp, o, f, [0.0]))
    assert float(tc.frequency_bandwidth[0]) == pytest.approx(2 * np.sqrt(2 * np.log(2)) * sig,
                                                             rel=1e-3)
    assert float(tc.peak_orientation[0]) == pytest.approx(o[4])
    # the frequency curve is read at the preferred orientation
    np.testing.assert_allclose(tc.frequency_tuning.values.ravel(), curve_o[4] * curve_f,
                               rtol=1e-12)


def test_frequency_bandwidth_does_not_depend_on_the_order_of_the_frequencies():
    """grating_responses takes frequencies in any order; the half-width walked the curve
    in that order (a shuffled grid gave 1.1-1.5x the bandwidth): it walks them sorted."""
    o = np.linspace(0, np.pi, 8, endpoint=False)
    f = 2.0 ** np.linspace(-6, -1, 41)
    sig = 0.5  # octaves: full width at half height 2 sqrt(2 ln 2) sig
    exact = 2 * np.sqrt(2 * np.log(2)) * sig
    curve_o = np.exp(3 * (np.cos(2 * (o - o[2])) - 1))
    for perm in (np.arange(f.size), np.arange(f.size)[::-1],
                 np.random.default_rng(1).permutation(f.size)):
        curve_f = np.exp(-0.5 * ((np.log2(f[perm]) + 3.5) / sig) ** 2)
        amp = (curve_o[:, None] * curve_f[None, :])[:, :, None, None]
        tc = tuning_curves(_resp(amp, o, f[perm], [0.0]))
        assert float(tc.frequency_bandwidth[0]) == pytest.approx(exact, rel=2e-3)
        assert float(tc.preferred_frequency[0]) == pytest.approx(2.0 ** -3.5, rel=0.05)
        # the returned curve keeps the grid's order
        np.testing.assert_allclose(tc.frequency_tuning.values[0], curve_o[2] * curve_f)


def test_orientation_bandwidth_does_not_depend_on_the_order_of_the_orientations():
    """An even grid given shuffled was refused (NaN bandwidth and a warning): the
    half-width walks the sorted grid, and matches the analytic half-width at half
    height of exp(k (cos 2(theta - theta0) - 1)): arccos(1 - ln 2 / k) / 2."""
    import warnings

    o = np.linspace(0, np.pi, 90, endpoint=False)
    f = np.array([0.1, 0.2, 0.3])
    kappa = 4.0
    exact = 0.5 * np.arccos(1 - np.log(2) / kappa)
    for perm in (np.arange(o.size), np.arange(o.size)[::-1],
                 np.random.default_rng(2).permutation(o.size)):
        curve_o = np.exp(kappa * (np.cos(2 * (o[perm] - o[31])) - 1))
        amp = (curve_o[:, None] * np.array([0.5, 1.0, 0.5])[None, :])[:, :, None, None]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            tc = tuning_curves(_resp(amp, o[perm], f, [0.0]))
        assert float(tc.orientation_bandwidth[0]) == pytest.approx(exact, rel=2e-3)
        assert float(tc.circular_variance[0]) == pytest.approx(
            float(tuning_curves(_resp(amp[np.argsort(o[perm])], o, f, [0.0]))
                  .circular_variance[0]), rel=1e-12)


def test_phase_statistic_mean_of_a_rectified_cosine():
    from v1model.analysis import tuning_curves
    ph = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    amp = np.cos(ph)[None, None, :, None] * np.ones((4, 1, 1, 1))
    tc = tuning_curves(_resp(amp, np.linspace(0, np.pi, 4, endpoint=False), [0.2], ph),
                       phase_statistic="mean")
    assert float(tc.max_response[0]) == pytest.approx(1 / np.pi, rel=1e-3)


def test_drifting_gratings_several_cycles():
    from v1model.analysis import drifting_grating_responses
    from stimuli import gabor_patch
    D = gabor_patch(12, 0.3, 0.18, 0.5, 2.2, 3.0).reshape(1, -1)
    ds = drifting_grating_responses(lambda X: X @ D.T, 12, orientations=[0.3], frequencies=[0.18],
                                    frames_per_cycle=32, temporal_frequency=4.0, n_cycles=3)
    assert ds.sizes["time"] == 96
    assert float(ds.modulation_ratio[0, 0, 0]) == pytest.approx(np.pi / 2, rel=5e-3)


def test_tuning_of_gabor_atoms_lines_up_with_their_fits():
    """Every analysis names the unit dimension ``atom``, as fit_gabor does, so that
    comparing a unit's tuning with its atom's fit aligns (it used to broadcast
    a (unit,) array against an (atom,) one into a matrix, silently)."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor, grating_responses

    thetas = np.array([0.3, 1.2, 2.0])
    atoms = np.stack([gabor_patch(12, orientation=t, frequency=0.15, sigma_x=2.5,
                                  sigma_y=3.0) for t in thetas])
    D = atoms.reshape(3, -1) / np.linalg.norm(atoms.reshape(3, -1), axis=1)[:, None]
    tuning = tuning_curves(grating_responses(lambda X: np.maximum(X @ D.T, 0), (12, 12),
                                             orientations=36, frequencies=[0.15],
                                             phases=8, progress=False))
    diff = tuning["preferred_orientation"] - fit_gabor(atoms)["orientation"]
    assert diff.dims == ("atom",)
    np.testing.assert_allclose(np.abs((diff.values + np.pi / 2) % np.pi - np.pi / 2), 0,
                               atol=np.radians(3))


def test_responses_saved_with_the_old_unit_dimension_still_read():
    o = np.linspace(0, np.pi, 36, endpoint=False)
    new = _responses_from_curve(np.exp(np.cos(2 * (o - 1.0))), o)
    old = tuning_curves(new.rename(atom="unit"))
    xr.testing.assert_identical(old, tuning_curves(new))


def test_complex_contrasts_and_complex_encoder_output_are_refused():
    # numpy's float conversion dropped the imaginary part with only a ComplexWarning:
    # naka_rushton(0.5 + 2j) was naka_rushton(0.5), a complex encoder measured its real part
    from v1model.analysis import grating_responses, naka_rushton

    with pytest.raises(TypeError, match=r"c must be real contrasts, got complex values "
                       r"\(array of shape \(1,\)"):
        naka_rushton(np.array([0.5 + 2j]), 1.0, 0.3, 2.0)
    with pytest.raises(TypeError, match=r"encoder\(X\) must be real \(n_samples, n_units\) codes, "
                       r"got complex values \(array of shape \(2, 3\)"):
        grating_responses(lambda X: X[:, :3] + 1j, (4, 4), orientations=2, frequencies=1,
                          phases=1)
    # the package's one complex refusal: check_array's ComplexDataError (also a ValueError),
    # as naka_rushton's c would get from check_array itself (a plain TypeError before)
    from v1model.validation import ComplexDataError, check_array

    with pytest.raises(ComplexDataError) as by_check_real:
        naka_rushton(np.array([0.5 + 2j]), 1.0, 0.3, 2.0)
    with pytest.raises(ComplexDataError) as by_check_array:
        check_array(np.array([0.5 + 2j]), "c")
    assert str(by_check_real.value) == str(by_check_array.value).replace(
        "must be real,", "must be real contrasts,")


def test_circular_variance_needs_orientations_that_sample_the_circle_evenly():
    """np.linspace(0, pi, n) holds 0 and pi, one orientation counted twice: an untuned
    unit got 1 - 1/n (0.889 for n = 9) instead of 1, silently."""
    even = np.linspace(0, np.pi, 8, endpoint=False)
    with pytest.raises(ValueError, match=r"orientations must sample \[0, pi\) evenly"):
        circular_variance(np.ones(9), np.linspace(0, np.pi, 9))
    # any order and offset of an even grid is fine: sum e^{2i theta} = 0
    assert circular_variance(np.ones(8), np.roll(even, 3) + 0.2) == pytest.approx(1.0, abs=1e-12)
    # tuning_curves gives NaN there, and says so once (a silent NaN read as "untuned")
    with pytest.warns(UserWarning, match=r"responses\['orientation'\] \[0\.0, 0\.3927, .*"
                      r"does not sample \[0, pi\) evenly .*circular_variance and "
                      r"orientation_bandwidth are NaN for every unit"):
        tc = tuning_curves(_responses_from_curve(np.ones(9), np.linspace(0, np.pi, 9)))
    assert np.isnan(tc.circular_variance[0])
    # rolled: both are defined (the bandwidth walks the sorted grid); a flat curve never
    # falls to half height, so its bandwidth is NaN without a warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rolled = tuning_curves(_responses_from_curve(np.ones(8), np.roll(even, 3)))
    assert float(rolled.circular_variance[0]) == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(rolled.orientation_bandwidth[0])


@pytest.mark.parametrize("baseline, n_contrasts", [(True, 4), (False, 3)])
def test_as_few_contrasts_as_fit_parameters_are_not_fitted(baseline, n_contrasts):
    """A Naka-Rushton fit through as many points as it has parameters interpolates them
    (R^2 = 1 whatever the curve) and searched for seconds along its degenerate directions:
    no c50 is reported, with a warning; the threshold is still measured exactly."""
    c = np.geomspace(0.05, 1.0, n_contrasts)
    with pytest.warns(UserWarning, match=rf"contrasts has {n_contrasts} distinct positive "
                                         rf"values, no more than the {n_contrasts} parameters"):
        ds = contrast_response(_unit_response(lambda x: 3.0 * np.maximum(x - 0.1, 0.0)), 8,
                               0.0, 0.25, contrasts=c, phases=[PEAK_PHASE], baseline=baseline)
    assert str(ds.c50_flag.values[0]) == "too few contrasts"
    assert np.isnan(ds.c50[0]) and np.isnan(ds.fit_r2[0])
    assert float(ds.threshold[0]) == pytest.approx(0.1, rel=1e-9)
    # one contrast more is enough for the fit
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        more = contrast_response(_unit_response(lambda x: 3.0 * np.maximum(x - 0.1, 0.0)), 8,
                                 0.0, 0.25, contrasts=np.geomspace(0.05, 1.0, n_contrasts + 1),
                                 phases=[PEAK_PHASE], baseline=baseline)
    assert np.isfinite(more.fit_r2[0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(c=[0.1, np.nan]), ValueError, r"^c contains 1 non-finite value"),
    (dict(c=[-0.1, 0.5]), ValueError, r"^c must be contrasts >= 0, got a minimum of -0.1"),
    (dict(c=None), TypeError, r"^c must be an array, got None"),
    (dict(rmax=None), TypeError, r"^rmax must be an array, got None"),
    (dict(rmax=np.inf), ValueError, r"^rmax contains 1 non-finite"),
    (dict(c50=0.0), ValueError, r"^c50 must be a positive finite number, got 0.0"),
    (dict(c50="0.2"), TypeError, r"^c50 must be a real number, got '0.2'"),
    (dict(n=np.nan), ValueError, r"^n must be a positive finite number, got nan"),
    (dict(baseline="x"), TypeError, r"^baseline must be a numeric array, got "),
])
def test_naka_rushton_refuses_bad_parameters(kwargs, error, match):
    # it validated nothing but complex c: NaN and negative contrasts or parameters came
    # back as NaN responses, None and strings failed inside numpy's arithmetic
    from v1model.analysis import naka_rushton

    args = {"c": [0.0, 0.1, 1.0], "rmax": 2.0, "c50": 0.2, "n": 2.5, **kwargs}
    with pytest.raises(error, match=match):
        naka_rushton(**args)


def test_naka_rushton_values_at_extreme_parameters():
    # c50 = 1e300 raised Python's OverflowError from c50**n; n = 1e300 gave inf / inf = NaN
    from v1model.analysis import naka_rushton

    c = np.array([0.0, 0.1, 0.2, 0.5])
    np.testing.assert_allclose(naka_rushton(c, 2.0, 1e300, 2.0), 0.0)
    np.testing.assert_allclose(naka_rushton(c, 2.0, 0.2, 1e300), [0.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(naka_rushton(c, 2.0, 0.2, 2.5, 0.1),
                               0.1 + 2.0 * c**2.5 / (c**2.5 + 0.2**2.5), rtol=1e-14)
    assert naka_rushton(np.float32(0.5), np.float32(1.0), np.float64(0.5), np.int64(2)) == 0.5


def test_orientation_bandwidth_wraps_around_zero_and_pi():
    """A von Mises curve peaking at orientation 0 crosses half-height on the far side of
    pi: the half-width walks the orientation circle, giving the same exact half-width
    0.5 arccos(1 + ln(1/2) / kappa) as a curve peaking mid-grid."""
    kappa = 3.0
    o = np.linspace(0, np.pi, 360, endpoint=False)
    curve = np.exp(kappa * (np.cos(2 * o) - 1))
    tc = tuning_curves(_responses_from_curve(curve, o))
    hwhh = 0.5 * np.arccos(1 + np.log(0.5) / kappa)
    assert float(tc.orientation_bandwidth[0]) == pytest.approx(hwhh, abs=np.radians(0.05))
    assert float(tc.preferred_orientation[0]) == pytest.approx(0.0, abs=1e-9)


def test_orientation_bandwidth_of_three_orientations_by_linear_interpolation():
    """Three orientations 60 degrees apart, responses (1, 0, 0): half-height is crossed
    halfway to each neighbour, so the half-width is pi / 6."""
    o = np.array([0.0, np.pi / 3, 2 * np.pi / 3])
    tc = tuning_curves(_responses_from_curve([0.0, 1.0, 0.0], o))
    assert float(tc.orientation_bandwidth[0]) == pytest.approx(np.pi / 6, rel=1e-12)


def test_drifting_grating_f0_f1_of_one_pixel_at_the_default_contrast():
    """A unit reading one pixel sees contrast * cos(2 pi tf t + phi): rectify="none" gives
    F0 = 0 and F1 = contrast (1 by default); half-wave rectified, F1 = 1/2 exactly (the
    rectified cosine has no odd harmonics above the first to alias at 16 frames per
    cycle) and F0 = 1/pi up to the aliased harmonics 16, 32, ...: at most
    (2 / pi) sum_j 1 / (256 j^2 - 1) < 0.0042."""
    one_pixel = lambda X: X[:, [5]]  # noqa: E731
    raw = drifting_grating_responses(one_pixel, 6, orientations=[0.3], frequencies=[0.1],
                                     rectify="none")
    assert raw.attrs["contrast"] == 1.0
    assert float(raw.f0[0, 0, 0]) == pytest.approx(0.0, abs=1e-12)
    assert float(raw.f1[0, 0, 0]) == pytest.approx(1.0, rel=1e-12)
    half = drifting_grating_responses(one_pixel, 6, orientations=[0.3], frequencies=[0.1])
    assert float(half.f1[0, 0, 0]) == pytest.approx(0.5, rel=1e-12)
    assert float(half.f0[0, 0, 0]) == pytest.approx(1 / np.pi, abs=0.0042)


@pytest.mark.parametrize("frames", [8, 16, 64])
def test_f1_over_f0_of_a_sampled_half_wave_depends_on_the_frames_as_documented(frames):
    """F1/F0 is read from the frames: a half-wave rectified sinusoid (pi/2 in continuous
    time) gives N tan(pi/N) / 2 with its crest on a frame (1.5913 at the default 16) and
    N sin(pi/N) / 2 with its crest halfway between two frames (1.5607), the bounds the
    docstring quotes. Three pixels a half frame step of phase apart (frequency 1 / (2N)
    cycles/pixel): the centre one has phase 0, its crest at t = 0."""
    ds = drifting_grating_responses(lambda X: X, (1, 3), orientations=[0.0],
                                    frequencies=[1 / (2 * frames)], frames_per_cycle=frames,
                                    progress=False)
    on_frame = frames * np.tan(np.pi / frames) / 2
    between = frames * np.sin(np.pi / frames) / 2
    np.testing.assert_allclose(ds.modulation_ratio.values[0, 0], [between, on_frame, between],
                               rtol=1e-10)
    # the largest excess over pi/2: 5.5% at 8 frames, 1.3% at 16, within 0.1% at 64
    excess = {8: 0.0548, 16: 0.0130, 64: 0.0008}[frames]
    assert ds.modulation_ratio.values.max() / (np.pi / 2) - 1 == pytest.approx(excess, abs=1e-4)


def test_contrast_response_default_contrasts_are_eight_log_spaced_from_1_to_100_percent():
    """The documented default grid (a silent unit: nothing to fit, so the test is fast)."""
    ds = contrast_response(_unit_response(lambda c: 0.0 * c), 8, 0.0, 0.25)
    np.testing.assert_allclose(ds.contrast, np.geomspace(0.01, 1.0, 8), rtol=1e-12)
    assert str(ds.c50_flag.values[0]) == "no response"


@pytest.mark.parametrize("curve, expected", [
    (lambda c: 0.1 + c, np.nan),                          # responds at every contrast
    (lambda c: np.maximum(c - 0.8, 0.0), np.nan),         # only at the last one
    (lambda c: 2.0 * np.maximum(c - 0.3, 0.0), 0.3),      # the zero crossing, exactly
])
def test_contrast_threshold_is_nan_without_a_silent_contrast_below_two_responding_ones(
        curve, expected):
    """The threshold (zero crossing of the line through the first two responding points)
    needs a silent contrast below them and two responding ones (docstring); three
    contrasts are too few to fit, so only the threshold is measured."""
    with pytest.warns(UserWarning, match="too few contrasts"):
        ds = contrast_response(_unit_response(curve), 8, 0.0, 0.25,
                               contrasts=[0.2, 0.5, 0.9], phases=[PEAK_PHASE])
    np.testing.assert_allclose(float(ds.threshold[0]), expected, rtol=1e-12)


def _brute_threshold_linear_sse(c, r, baseline, n_grid=200001):
    """min over a fine grid of t of the least-squares SSE of b + a max(c - t, 0), with
    (a, b) in closed form for each t (b = 0 without a baseline)."""
    t = np.linspace(c.min(), c.max(), n_grid)[:, None]
    x = np.maximum(c[None, :] - t, 0.0)
    if baseline:
        xc, rc = x - x.mean(1, keepdims=True), r - r.mean()
        sxx = (xc**2).sum(1)
        fit = np.where(sxx > 0, (xc @ rc) ** 2 / np.where(sxx > 0, sxx, 1.0), 0.0)
        return float(((rc**2).sum() - fit).min())
    sxx = (x**2).sum(1)
    fit = np.where(sxx > 0, (x @ r) ** 2 / np.where(sxx > 0, sxx, 1.0), 0.0)
    return float(((r**2).sum() - fit).min())


@pytest.mark.parametrize("baseline", [True, False])
def test_threshold_linear_sse_is_the_least_squares_optimum_over_every_threshold(baseline):
    """The exact SSE of the best threshold-linear fit (which a Naka-Rushton fit must beat
    to be called saturating) against a fine grid search over the threshold: equal to the
    grid's resolution, never above it; and 0 for a noise-free ramp whose threshold lies
    between two tested contrasts."""
    from v1model.analysis.tuning import _threshold_linear_sse

    rng = np.random.default_rng(5)
    c = np.sort(rng.uniform(0.0, 1.0, 9))
    r = np.maximum(c - 0.4, 0.0) * 2.0 + 0.3 * rng.standard_normal(9)
    exact = _threshold_linear_sse(c, r, baseline)
    grid = _brute_threshold_linear_sse(c, r, baseline)
    assert exact <= grid + 1e-12
    assert exact == pytest.approx(grid, rel=1e-6, abs=1e-12)
    c = np.linspace(0.0, 1.0, 6)
    ramp = 3.0 * np.maximum(c - 0.5, 0.0) + (0.2 if baseline else 0.0)
    assert _threshold_linear_sse(c, ramp, baseline) == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("baseline, b, rectify", [(False, 0.0, "positive"),
                                                  (True, 0.1, "positive"),
                                                  (True, -0.9, "none")])
def test_naka_rushton_recovered_over_a_wide_contrast_range(baseline, b, rectify):
    """r = b + 1.5 c^2 / (c^2 + 0.4^2) tested over 0.001 ... 1 (c50 near the top of the
    range): rmax, c50, n and b come back to 1e-4 without a baseline, with one, and with a
    negative one kept by rectify="none" (the fit's scale is the largest |response|)."""
    from v1model.analysis import naka_rushton

    c = np.geomspace(0.001, 1.0, 12)
    ds = contrast_response(_unit_response(lambda x: naka_rushton(x, 1.5, 0.4, 2.0, b)), 8,
                           0.0, 0.25, contrasts=c, phases=[PEAK_PHASE], baseline=baseline,
                           rectify=rectify)
    assert str(ds.c50_flag.values[0]) == "saturating"
    assert float(ds.c50[0]) == pytest.approx(0.4, rel=1e-4)
    assert float(ds.exponent[0]) == pytest.approx(2.0, rel=1e-4)
    assert float(ds.rmax[0]) == pytest.approx(1.5, rel=1e-4)
    assert float(ds.baseline[0]) == pytest.approx(b, abs=1e-4)


def test_contrast_response_fits_have_a_progress_bar(gabor_dictionary, capsys):
    """The Naka-Rushton fits (~10 ms a unit: seconds for a whole
    dictionary) ran after the encoding bar had closed, with no bar of their own."""
    D = gabor_dictionary
    ds = contrast_response(lambda X: np.maximum(X @ D.T, 0.0), 12, THETA[:2], FREQ,
                           contrasts=np.linspace(0.0, 1.0, 6), progress=True)
    assert ds.sizes["atom"] == 2
    err = capsys.readouterr().err
    assert "Naka-Rushton fits" in err, err[-500:]
    # its total is the 2 units ("2/2" showed only while a fit took ~0.1 s; at ~10 ms the
    # bar closes before its next refresh)
    assert "/2 [" in err, err[-500:]


def test_a_flat_orientation_curve_has_no_preferred_orientation():
    """An untuned unit (the same response to every grating: circular variance 1) has a
    vector sum of 0 to rounding, whose angle was reported as a preferred orientation of
    90 deg; a tuned unit beside it keeps its preference."""
    D = gabor_patch(8, 0.4, 0.2, 0.0, 1.5, 2.5).reshape(1, -1)
    encoder = lambda X: np.column_stack([np.full(len(X), 2.0), np.maximum(X @ D.T, 0)[:, 0]])
    tuning = tuning_curves(grating_responses(encoder, 8, orientations=16, frequencies=[0.2],
                                             phases=8, progress=False))
    assert np.isnan(float(tuning.preferred_orientation[0]))
    assert float(tuning.circular_variance[0]) == pytest.approx(1.0, abs=1e-12)
    assert float(tuning.max_response[0]) == 2.0  # it responds; it is not tuned
    assert float(tuning.preferred_orientation[1]) == pytest.approx(0.4, abs=0.02)


def test_naka_rushton_fit_r2_is_one_minus_the_residual_over_the_variance():
    """A saturating curve with a ripple the model cannot follow: ``fit_r2`` is
    ``1 - SSE / SS_tot`` of the reported parameters, computed here with
    :func:`naka_rushton` (exact fits gave R^2 = 1 under any scaling of the SSE: a
    fit_r2 of ``1 - SSE / (2 SS_tot)`` went unnoticed)."""
    from v1model.analysis import naka_rushton

    def curve(c):
        return naka_rushton(c, 2.0, 0.2, 2.5, 0.1) + 0.08 * np.sin(25 * c)

    c = np.geomspace(0.01, 1.0, 15)
    ds = contrast_response(_unit_response(curve), 8, 0.0, 0.25, contrasts=c, phases=[PEAK_PHASE])
    assert str(ds.c50_flag.values[0]) == "saturating"
    r = ds.response.values[0]
    model = naka_rushton(c, float(ds.rmax[0]), float(ds.c50[0]), float(ds.exponent[0]),
                         float(ds.baseline[0]))
    expected = 1.0 - ((r - model) ** 2).sum() / ((r - r.mean()) ** 2).sum()
    assert 0.9 < expected < 0.999  # a good fit, not an exact one
    assert float(ds.fit_r2[0]) == pytest.approx(expected, abs=1e-6)


def test_contrast_threshold_with_zero_tol_counts_only_responses_above_zero():
    """``zero_tol=0``: a response counts when it is above 0 (the docstring's "above
    zero_tol times the peak"), so the silent contrasts below the threshold stay silent
    and the threshold is still found (``>=`` made every contrast respond: NaN)."""
    c = np.linspace(0.0, 1.0, 11)
    ds = contrast_response(_unit_response(lambda x: 3.0 * np.maximum(x - 0.3, 0.0)), 8, 0.0,
                           0.25, contrasts=c, phases=[PEAK_PHASE], zero_tol=0.0)
    assert float(ds.threshold[0]) == pytest.approx(0.3, rel=1e-9)


def test_c50_above_the_tested_range_is_not_reported_even_with_a_low_saturation():
    """c50 = 1.5 tested up to contrast 1 with ``saturation=0.3``: the curve reaches
    1 / (1 + 1.5^2) = 0.31 of rmax, enough for that saturation, and the fit finds c50 = 1.5
    exactly, but a c50 beyond the highest tested contrast is never reported (the default
    saturation 0.75 alone already excluded it, so the c50 <= c_max condition was untested)."""
    from v1model.analysis import naka_rushton

    c = np.geomspace(0.01, 1.0, 15)
    ds = contrast_response(_unit_response(lambda x: naka_rushton(x, 1.0, 1.5, 2.0)), 8, 0.0,
                           0.25, contrasts=c, phases=[PEAK_PHASE], saturation=0.3,
                           progress=False)
    assert float(ds.fit_r2[0]) > 1 - 1e-9
    assert str(ds.c50_flag.values[0]) == "not saturating" and np.isnan(ds.c50[0])


def test_grating_responses_refuse_more_gratings_than_the_memory(monkeypatch):
    """NumPy's "Unable to allocate 7.28 TiB" (the orientation grid) or "47.7 GiB" (the
    gratings) named no argument."""
    import v1model.validation

    def encoder(Z):
        return Z[:, :3]

    with pytest.raises(ValueError, match=r"^orientations=1000000000000 values \(float64\) "
                                         r"would take 8e\+12 bytes"):
        grating_responses(encoder, 4, orientations=10**12, progress=False)
    # 128 KiB holds the responses of 3 units (float64) to 5,461 gratings: 1365 orientations
    # x 2 x 2; the gratings themselves are made a batch at a time (the whole set had to fit
    # before 2026-12-08: 1024 gratings of 4x4 pixels)
    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**17)
    assert grating_responses(encoder, 4, orientations=1365, frequencies=2, phases=2,
                             progress=False).response.shape == (1365, 2, 2, 3)
    with pytest.raises(ValueError, match=r"^\(len\(orientations\), len\(frequencies\), "
                                         r"len\(phases\)\)=\(1366, 2, 2\) responses of 3 "
                                         r"units \(float64\) .* \(at most 5461 would fit\)"):
        grating_responses(encoder, 4, orientations=1366, frequencies=2, phases=2,
                          progress=False)


@pytest.mark.parametrize("orientations", [1, [0.0, 1.0]])
def test_tuning_curves_warn_when_one_or_two_orientations_lose_the_circular_variance(
        orientations):
    """A single orientation, or two not pi/2 apart, do not sample [0, pi) evenly: NaN
    circular variance for every unit, which came without the warning of an uneven grid
    of 3 or more (two pi/2 apart keep it: test_mutation_gaps)."""
    W = np.random.default_rng(0).standard_normal((144, 3))
    ds = grating_responses(lambda Z: Z @ W, 12, orientations=orientations, frequencies=2,
                           phases=4, progress=False)
    with pytest.warns(UserWarning, match=r"does not sample \[0, pi\) evenly .*: "
                                         r"circular_variance and orientation_bandwidth are NaN"):
        tc = tuning_curves(ds)
    assert np.isnan(tc.circular_variance).all() and np.isnan(tc.orientation_bandwidth).all()


@pytest.mark.parametrize("name, value", [("rmax", True), ("baseline", np.False_)])
def test_naka_rushton_refuses_bools(name, value):
    """``rmax=True`` was taken as the amplitude 1, as the check_* helpers never do."""
    from v1model.analysis import naka_rushton

    params = {"rmax": 1.0, "c50": 0.3, "n": 2, name: value}
    with pytest.raises(TypeError, match=rf"^{name} must be a real number, got "):
        naka_rushton([0.1, 0.5], **params)
    # a 0-d array is still a number: r = b + rmax c^2 / (c^2 + c50^2) at c = c50 is b + rmax/2
    params[name] = np.array(-1.0)
    np.testing.assert_allclose(naka_rushton([0.3], **params),
                               [params.get("baseline", 0.0) + params["rmax"] / 2], rtol=1e-12)


def test_default_frequencies_refuse_a_patch_too_small_for_them():
    """An int frequencies log-spaces them from one cycle per patch (1 / side) to 0.45: for
    a 1-pixel patch that is 1 cycle/pixel, refused as "got 1.0" though the user gave no
    frequency. The patch size is refused by name now; explicit frequencies still run
    (a 1-pixel grating is contrast * cos(phase) for every orientation)."""
    from v1model.analysis.tuning import drifting_grating_responses

    for shape in (1, (2, 1)):
        for func in (grating_responses, drifting_grating_responses):
            with pytest.raises(ValueError, match=rf"shape={re.escape(repr(shape))} is too small "
                                                 r"for frequencies=8: .*at least 3 pixels"):
                func(lambda X: X, shape)
    ds = grating_responses(lambda X: X, 1, orientations=4, frequencies=[0.25], phases=4)
    expected = np.cos(ds["phase"].values)  # the grating at the pixel's centre, x = y = 0
    np.testing.assert_allclose(ds["response"].values[:, 0, :, 0],
                               np.broadcast_to(expected, (4, 4)), atol=1e-12)
    assert grating_responses(lambda X: X, 3, frequencies=2)["frequency"].values[0] == 1 / 3


@pytest.mark.parametrize("units", ["deg", "degrees", "Degree"])
def test_tuning_curves_refuse_orientations_labelled_in_degrees(units):
    # a physiologist's grating data: 16 orientations in degrees, labelled so; read as
    # radians, its von Mises unit at 60 deg was "preferring" 0.83 rad (48 deg), unsaid
    o_deg = np.arange(16) * 180.0 / 16
    curve = np.exp(3.0 * (np.cos(2 * np.radians(o_deg - 60.0)) - 1))
    ds = _responses_from_curve(curve, o_deg)
    ds["orientation"].attrs["units"] = units
    with pytest.raises(ValueError, match=r"responses\['orientation'\] is in degrees.*"
                                         r"np\.radians"):
        tuning_curves(ds)
    converted = ds.assign_coords(orientation=("orientation", np.radians(o_deg),
                                              {"units": "rad"}))
    tc = tuning_curves(converted)
    assert float(tc.preferred_orientation[0]) == pytest.approx(np.radians(60.0), abs=1e-9)


def test_grating_protocols_refuse_angles_in_degrees():
    """Orientations and phases are radians. Given in degrees (np.arange(0, 180, 22.5)),
    grating_responses ran them as radians: this unit at 40 deg "preferred" 32.5 deg, with
    no more than tuning_curves' warning that the grid is uneven; contrast_response took
    orientation=40 unsaid. Values beyond 2 pi are refused, naming the argument."""
    D = gabor_patch(8, np.radians(40.0), 0.2, 0.0, 1.5, 2.5).reshape(1, -1)

    def encoder(X):
        return np.maximum(X @ D.T, 0.0)

    o_deg = np.arange(0, 180, 22.5)
    with pytest.raises(ValueError, match=r"^orientations must be in radians, got \[0\.0, "
                                         r"22\.5, .*up to 157\.5.*np\.radians\(orientations\)"):
        grating_responses(encoder, 8, orientations=o_deg, progress=False)
    with pytest.raises(ValueError, match=r"^phases must be in radians.*up to 315"):
        grating_responses(encoder, 8, phases=np.arange(0, 360, 45), progress=False)
    with pytest.raises(ValueError, match=r"^orientations must be in radians"):
        drifting_grating_responses(encoder, 8, orientations=o_deg, progress=False)
    with pytest.raises(ValueError, match=r"^orientation must be in radians, got \[40\.0\]"):
        contrast_response(encoder, 8, 40.0, 0.2, progress=False)
    # in radians: the atom's orientation, 40 deg, within the grid's 22.5 deg step
    tc = tuning_curves(grating_responses(encoder, 8, orientations=np.radians(o_deg),
                                         progress=False))
    assert np.degrees(float(tc.preferred_orientation[0])) == pytest.approx(40.0, abs=5.0)
    # angles of either sign up to 2 pi stay allowed (a grid about 0, a full turn)
    grating_responses(encoder, 8, orientations=[-np.pi / 2, 0.0, 2 * np.pi], progress=False)


def test_grating_protocols_take_a_float32_full_turn():
    """np.float32(2 pi) is 6.2831855, 2.8e-8 above 2 pi: a float32 grid of phases up to
    a full turn (endpoint included) was refused as degrees. Degrees stay refused."""
    D = gabor_patch(8, 0.7, 0.2, 0.0, 1.5, 2.5).reshape(1, -1)

    def encoder(X):
        return np.maximum(X @ D.T, 0.0)

    phases = np.linspace(0, 2 * np.pi, 5, dtype=np.float32)
    ds = grating_responses(encoder, 8, orientations=4, frequencies=[0.2], phases=phases,
                           progress=False)
    np.testing.assert_array_equal(ds["phase"].values, phases.astype(np.float64))
    contrast_response(encoder, 8, np.float32(2 * np.pi), 0.2, contrasts=6, progress=False)
    with pytest.raises(ValueError, match=r"^phases must be in radians.*up to 7"):
        grating_responses(encoder, 8, phases=np.float32([0, 7]), progress=False)


def test_a_unit_at_one_rate_for_every_grating_has_no_peak_orientation_nor_frequency():
    # a recorded unit firing 5 Hz whatever the grating: its argmax is arbitrary, yet it
    # "peaked" at orientation 0 and "preferred" the lowest frequency tested (0.0625)
    D = gabor_patch((12, 16), 0.7, 0.2, 0.0, 2.0, 2.5).reshape(1, -1)

    def encoder(X):
        return np.column_stack([np.maximum(X @ D.T, 0.0)[:, 0], np.full(len(X), 5.0)])

    tc = tuning_curves(grating_responses(encoder, (12, 16), response_units="Hz",
                                         progress=False))
    assert np.isnan(tc.peak_orientation.values[1])
    assert np.isnan(tc.preferred_frequency.values[1])
    assert np.isnan(tc.preferred_orientation.values[1])
    assert float(tc.circular_variance[1]) == pytest.approx(1.0, abs=1e-12)  # untuned
    assert float(tc.max_response[1]) == 5.0
    # the tuned unit keeps its preferences: the atom's orientation and frequency
    assert float(tc.peak_orientation[0]) == pytest.approx(np.pi / 4)  # grid point nearest 0.7
    assert float(tc.preferred_frequency[0]) == pytest.approx(0.2, rel=0.05)
    # one orientation and one frequency tested: that grating is still the peak
    with pytest.warns(UserWarning, match="does not sample"):
        one = tuning_curves(_responses_from_curve(np.array([2.0]), np.array([0.3])))
    assert float(one.peak_orientation[0]) == 0.3
    assert float(one.preferred_frequency[0]) == 0.2


@pytest.mark.parametrize("units", ["cycles/deg", "c/deg", "cycles/degree", "cpd"])
def test_tuning_curves_refuse_frequencies_in_cycles_per_degree(units):
    # 0.1 ... 0.4 cycles/deg pass the (0, 0.5] check of cycles/pixel: the unit's
    # preferred_frequency came out as 0.2 "cycles/pixel", unsaid
    ds = _responses_from_curve(np.ones(8), np.linspace(0, np.pi, 8, endpoint=False))
    ds = ds.assign_coords(frequency=("frequency", [0.2], {"units": units}))
    with pytest.raises(ValueError, match=r"responses\['frequency'\] is per degree.*"
                                         r"cycles/pixel"):
        tuning_curves(ds)
    ds["frequency"].attrs["units"] = "cycles/pixel"
    assert float(tuning_curves(ds).max_response[0]) == 1.0


def test_tuning_curves_unit_at_rounding_level_never_responds(refuses_bad_zero_tol):
    """Unit 0 answers 1e-12 of unit 1's peak, at one grating (orientation 4, frequency
    1) and exactly 0 elsewhere (a float32 encoder's rounding): it never responds at the
    default zero_tol (1e-9 of the largest max_response), as in surround_suppression. It
    got a peak orientation and a preferred frequency of noise, which zero_tol=0 (only
    exact zeros are silent) still gives; unit 1 is unchanged, and a lone unit is judged
    against itself."""
    o = np.linspace(0, np.pi, 8, endpoint=False)
    f = np.array([0.05, 0.1, 0.2, 0.4])
    amp = np.zeros((8, 4, 1, 2))
    amp[4, 1, 0, 0] = 1e-12
    amp[:, :, 0, 1] = np.exp(2 * (np.cos(2 * (o - o[2])) - 1))[:, None] * [0.2, 0.5, 1, 0.4]
    resp = xr.Dataset({"response": (("orientation", "frequency", "phase", "atom"), amp)},
                      coords={"orientation": o, "frequency": f, "phase": [0.0],
                              "atom": [0, 1]})
    summaries = ("preferred_orientation", "peak_orientation", "circular_variance",
                 "orientation_bandwidth", "preferred_frequency", "frequency_bandwidth")
    tc = tuning_curves(resp)
    for name in summaries:
        assert np.isnan(tc[name].values[0]), name
    assert tc.attrs["zero_tol"] == 1e-9
    assert float(tc.max_response[0]) == 1e-12
    assert float(tc.peak_orientation[1]) == o[2] and float(tc.preferred_frequency[1]) == 0.2
    exact = tuning_curves(resp, zero_tol=0.0)
    assert float(exact.peak_orientation[0]) == o[4]
    assert float(exact.preferred_frequency[0]) == 0.1
    for name in summaries:
        np.testing.assert_array_equal(exact[name].values[1], tc[name].values[1])
    lone = tuning_curves(resp.isel(atom=[0]))
    assert float(lone.peak_orientation[0]) == o[4] and float(lone.preferred_frequency[0]) == 0.1
    refuses_bad_zero_tol(lambda **kw: tuning_curves(resp, **kw))


def test_contrast_response_unit_at_rounding_level_never_responds():
    """Unit 0 answers 1e-12 of unit 1's threshold-linear curve (threshold 0.2): it never
    responds at the default zero_tol (1e-9 of the largest response of the selected
    units), as in tuning_curves. It got the threshold 0.2 of a curve of noise; alone it
    is judged against itself, and unit 1 is unchanged."""
    def encoder(X):
        r = np.maximum(np.abs(X).max(axis=1) - 0.2, 0.0)
        return np.stack([1e-12 * r, r], axis=1)

    c = np.linspace(0.0, 1.0, 11)
    ds = contrast_response(encoder, 8, 0.0, 0.25, units=[0, 1], contrasts=c,
                           phases=[PEAK_PHASE])
    assert ds.c50_flag.values.tolist() == ["no response", "not saturating"]
    assert np.isnan(ds.threshold[0]) and np.isnan(ds.fit_r2[0])
    assert float(ds.threshold[1]) == pytest.approx(0.2, rel=1e-9)
    lone = contrast_response(encoder, 8, 0.0, 0.25, units=[0], contrasts=c,
                             phases=[PEAK_PHASE])
    assert str(lone.c50_flag.values[0]) == "not saturating"
    assert float(lone.threshold[0]) == pytest.approx(0.2, rel=1e-9)
    with pytest.raises(ValueError, match=r"zero_tol must be below 1, got 1\.0"):
        contrast_response(encoder, 8, 0.0, 0.25, contrasts=c, zero_tol=1.0)


def test_drifting_grating_unit_at_rounding_level_has_no_f1_f0(gabor_dictionary):
    """Unit 0 is unit 1 (a rectified linear unit, F1/F0 = pi/2) times 1e-13: at the
    default zero_tol (1e-9 of the largest response) it does not respond and its F1/F0
    is NaN, as tuning_curves' summaries of such a unit are; zero_tol=0 and a lone unit
    (judged against itself) keep pi/2."""
    D = gabor_dictionary[:1]

    def encoder(X):
        r = X @ D.T
        return np.concatenate([1e-13 * r, r], axis=1)

    kw = dict(orientations=[THETA[0]], frequencies=[FREQ], frames_per_cycle=64)
    ds = drifting_grating_responses(encoder, 12, **kw)
    assert np.isnan(ds.modulation_ratio[0, 0, 0])
    assert float(ds.modulation_ratio[0, 0, 1]) == pytest.approx(np.pi / 2, rel=2e-3)
    assert ds.attrs["zero_tol"] == 1e-9
    exact = drifting_grating_responses(encoder, 12, zero_tol=0.0, **kw)
    assert float(exact.modulation_ratio[0, 0, 0]) == pytest.approx(np.pi / 2, rel=2e-3)
    lone = drifting_grating_responses(lambda X: encoder(X)[:, :1], 12, **kw)
    assert float(lone.modulation_ratio[0, 0, 0]) == pytest.approx(np.pi / 2, rel=2e-3)
    with pytest.raises(ValueError, match=r"zero_tol must be below 1, got 1\.0"):
        drifting_grating_responses(encoder, 12, zero_tol=1.0, **kw)


def test_unrectified_f1_over_f0_of_a_linear_unit_is_nan_not_f1_over_rounding():
    """rectify="none": a linear unit's F0 over a whole cycle is 0 (its F1 is the
    grating's drive); F1/F0 was F1 / 1e-17 = 5e16 (a "simple cell") or NaN by the sign of
    the rounding. NaN everywhere now; half-wave rectified, the same unit keeps F1/F0 =
    pi/2 of the sampled half-wave (16 frames, the crest on a frame: 0.5 / (cot(pi/16) / 16)
    = 1.5913), and its F1 is unchanged by the F0 check."""
    D = gabor_patch(16, np.array([0.5, 1.5]), np.array([0.2, 0.1]), phase=np.array([0.0, 1.0]),
                    sigma_x=3.0, sigma_y=3.0).reshape(2, -1)
    o, f = [0.5, 1.5], [0.2, 0.1]
    raw = drifting_grating_responses(lambda X: X @ D.T, 16, orientations=o, frequencies=f,
                                     rectify="none")
    assert np.all(np.abs(raw.f0.values) < 1e-12 * raw.f1.values.max())
    assert np.all(np.isnan(raw.modulation_ratio.values))
    half = drifting_grating_responses(lambda X: X @ D.T, 16, orientations=o, frequencies=f)
    # unit 0 at its own grating: the half-wave's F1 is half the unrectified F1
    np.testing.assert_allclose(half.f1[0, 0, 0], raw.f1[0, 0, 0] / 2, rtol=1e-12)
    assert np.all(np.isfinite(half.modulation_ratio.values))
    ratio = float(half.modulation_ratio[0, 0, 0])
    assert np.pi / 2 < ratio < 1.6


def test_contrast_response_of_a_labelled_selection_measures_the_labelled_units():
    """tuning.peak_orientation.sel(atom=[2]) holds unit 2's grating: it was shown to
    unit 0 (tuned 1.6 rad away: "no response", labelled atom 0). Now unit 2 is measured
    and labelled 2, with the threshold of a threshold-linear unit, 0.5 / its gain at
    that grating; a scalar .sel(atom=2) alike. Labels that disagree with units=, or with
    each other, are refused."""
    th = np.array([0.0, 0.8, 1.6])
    g = gabor_patch(12, th, 0.2, 0.0, 2.5, 2.5).reshape(3, -1)

    def relu(X):
        return np.maximum(X @ g.T - 0.5, 0.0)
    tc = tuning_curves(grating_responses(relu, 12, frequencies=[0.2], phases=16))
    sel = tc.isel(atom=[2])
    # 4 contrasts: the threshold (the fit's 4 parameters would only interpolate them)
    c = np.geomspace(0.01, 1.0, 4)
    with pytest.warns(UserWarning, match="too few contrasts"):
        ds = contrast_response(relu, 12, sel.peak_orientation, sel.preferred_frequency,
                               contrasts=c, phases=16)
        gain = contrast_response(lambda X: X @ g.T, 12, float(sel.peak_orientation[0]), 0.2,
                                 units=[2], contrasts=[1.0], phases=16)
        one = contrast_response(relu, 12, tc.peak_orientation.sel(atom=2),
                                tc.preferred_frequency.sel(atom=2), contrasts=c, phases=16)
    assert ds.atom.values.tolist() == [2]
    assert ds.c50_flag.values.tolist() == ["too few contrasts"]  # it responds
    np.testing.assert_allclose(ds.threshold, 0.5 / gain.response[:, 0], rtol=1e-9)
    assert one.atom.values.tolist() == [2]
    np.testing.assert_allclose(one.threshold, ds.threshold, rtol=1e-12)
    with pytest.raises(ValueError, match=r"units=\[0\].*atoms \[2\]"):
        contrast_response(relu, 12, sel.peak_orientation, 0.2, units=[0], contrasts=c)
    with pytest.raises(ValueError, match=r"orientation is labelled atoms \[2\] but frequency "
                                         r"atoms \[1\]"):
        contrast_response(relu, 12, sel.peak_orientation,
                          tc.preferred_frequency.isel(atom=[1]), contrasts=c)


def test_values_labelled_by_names_are_measured_on_the_units_given():
    """Atom labels that are not unit indices (names) were refused without units=, and
    any units= was refused too, as differing from the names: no way to measure them.
    units= now says which unit each value belongs to (its length checked): the same
    thresholds as the integer-labelled selection of that unit."""
    th = np.array([0.0, 0.8, 1.6])
    g = gabor_patch(12, th, 0.2, 0.0, 2.5, 2.5).reshape(3, -1)

    def relu(X):
        return np.maximum(X @ g.T - 0.5, 0.0)
    c = np.geomspace(0.01, 1.0, 4)
    orientation = xr.DataArray([1.6], dims="atom", coords={"atom": [2]})
    named = orientation.assign_coords(atom=["cell 2"])
    with pytest.warns(UserWarning, match="too few contrasts"):
        by_index = contrast_response(relu, 12, orientation, 0.2, contrasts=c, phases=16)
        by_name = contrast_response(relu, 12, named, 0.2, units=[2], contrasts=c, phases=16)
    np.testing.assert_allclose(by_name.threshold, by_index.threshold, rtol=1e-12)
    assert by_name.atom.values.tolist() == [2]
    with pytest.raises(ValueError, match=r"not unit indices of the encoder; pass units="):
        contrast_response(relu, 12, named, 0.2, contrasts=c)
    with pytest.raises(ValueError, match=r"units=\[1, 2\] gives 2 units but orientation "
                                         r"holds the values of 1 atoms labelled \['cell 2'\]"):
        contrast_response(relu, 12, named, 0.2, units=[1, 2], contrasts=c)


@pytest.mark.parametrize("c", [[[0.1, 0.2], [0.3]], [np.zeros(3), np.zeros(4)]])
def test_naka_rushton_names_ragged_contrasts(c):
    """check_real converts its values (np.iscomplexobj): a ragged list failed there with
    numpy's "inhomogeneous shape" ValueError, which named no argument. It is a TypeError
    naming c and the items' shapes, as check_array's for a ragged list."""
    from v1model.analysis import naka_rushton

    with pytest.raises(TypeError, match=r"^c must be contrasts \(a numeric array\), got .*; "
                                        r"its 2 items have different shapes \(\((2|3),\), "
                                        r"\((1|4),\)\)"):
        naka_rushton(c, 2.0, 0.2, 2.5)


def test_circular_variance_of_a_dataarray_is_labelled_by_its_other_dims():
    # curves of atoms 5, 6 at three frequencies gave a plain array: their atom and
    # frequency labels were lost. By hand (Ringach 2002): a single orientation -> 0,
    # an untuned curve -> 1, two neighbouring orientations -> 1 - sqrt(2) / 2
    o = np.linspace(0, np.pi, 4, endpoint=False)
    by_atom = np.array([[1.0, 0, 0, 0], [1.0, 1, 1, 1]])
    data = np.stack([by_atom, by_atom[::-1], [[1.0, 1, 0, 0]] * 2])  # (frequency, atom, ori)
    hand = np.array([[0.0, 1.0], [1.0, 0.0], [1 - np.sqrt(2) / 2] * 2])
    freq = ("frequency", [0.05, 0.1, 0.2], {"units": "cycles/pixel"})
    da = xr.DataArray(data, dims=("frequency", "atom", "orientation"),
                      coords={"frequency": freq, "atom": [5, 6], "contrast": 0.5})
    for given in (da, da.transpose("orientation", "atom", "frequency")):
        out = circular_variance(given, o)
        assert isinstance(out, xr.DataArray) and out.name == "circular_variance"
        assert set(out.dims) == {"frequency", "atom"}
        np.testing.assert_allclose(out.transpose("frequency", "atom").values, hand, atol=1e-12)
        np.testing.assert_array_equal(out["atom"].values, [5, 6])
        assert out["frequency"].attrs["units"] == "cycles/pixel"
        assert float(out["contrast"]) == 0.5  # a scalar coordinate stays
        assert out.attrs["units"] == "1" and out.attrs["long_name"] == "circular variance"
    # curves (atom, orientation) by an int axis: over atom
    curves = xr.DataArray(by_atom, dims=("atom", "orientation"), coords={"atom": [5, 6]})
    out = circular_variance(curves, o, axis=-1)
    assert out.dims == ("atom",)
    np.testing.assert_allclose(out.values, [0.0, 1.0], atol=1e-12)
    # numpy in, numpy out
    assert type(circular_variance(by_atom, o)) is np.ndarray


def test_gratings_are_made_one_batch_at_a_time(rng):
    """grating_responses made the whole orientation x frequency x phase set before its
    first batch, and held 3x its size at once whatever ``batch_size`` (201 MB for 8,192
    gratings of 32x32 pixels, 67 MB of stimuli): a fine grid ended in the kernel's
    out-of-memory kill. Made a batch at a time, the responses are those of the full set
    (stimuli.grating_set, the reference) and the peak is a fraction of the set's size."""
    import tracemalloc

    from stimuli import grating_set

    W = rng.standard_normal((3, 32 * 32))
    shape = dict(orientations=32, frequencies=8, phases=16)
    n_bytes = 32 * 8 * 16 * 32 * 32 * 8  # the stimulus set in float64: 33.6 MB
    # imported before the count begins: a module's first import is not the call's memory
    grating_responses(lambda X: X @ W.T, 32, orientations=1, frequencies=1, phases=1,
                      progress=False)
    tracemalloc.start()
    try:
        resp = grating_responses(lambda X: X @ W.T, 32, batch_size=128, progress=False,
                                 **shape)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 3 MB measured; other threads of the test process (a worker pool's) count too
    assert peak < 0.25 * n_bytes, f"peak {peak / 1e6:.1f} MB for {n_bytes / 1e6:.1f} MB of stimuli"
    full = grating_set(32, resp.orientation.values, resp.frequency.values,
                       resp.phase.values).reshape(-1, 32 * 32)
    np.testing.assert_allclose(resp.response.values.reshape(-1, 3), full @ W.T, rtol=0,
                               atol=1e-12)


def test_blank_gratings_at_nyquist_are_warned_of_once_whatever_the_batches():
    """Made a batch at a time, a batch holding only the blank phase of a grating at 0.5
    cycles/pixel must not warn when another phase of it shows; a single blank phase
    still warns, once, at the caller's line."""
    encoder = lambda X: X[:, :2]  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grating_responses(encoder, 16, frequencies=[0.25, 0.5], phases=8, batch_size=3,
                          progress=False)
    with pytest.warns(UserWarning, match=r"2 of the \d+ grating\(s\) at frequency 0.5 "
                                         r"cycles/pixel .* are blank") as record:
        grating_responses(encoder, 16, frequencies=[0.25, 0.5], phases=[0.0], batch_size=3,
                          progress=False)
    assert len(record) == 1 and record[0].filename == __file__


def test_drifting_gratings_are_made_one_batch_at_a_time(rng):
    """drifting_grating_responses stacked every frame of every movie before its first
    batch, holding twice their size at once whatever ``batch_size`` (67 MB for 4,096
    frames of 32x32 pixels, 34 MB of frames). Made a batch at a time (batches that split
    a movie included), the responses are those of stimuli.drifting_grating's frames."""
    import tracemalloc

    from stimuli import drifting_grating

    W = rng.standard_normal((2, 32 * 32))
    kw = dict(orientations=32, frequencies=[0.1, 0.2, 0.3, 0.4], temporal_frequency=2.0,
              frames_per_cycle=16, n_cycles=2, rectify="none", progress=False)
    n_bytes = 32 * 4 * 32 * 32 * 32 * 8  # the frames in float64: 33.6 MB
    drifting_grating_responses(lambda X: X @ W.T, 32, **{**kw, "orientations": 1})
    tracemalloc.start()
    try:
        resp = drifting_grating_responses(lambda X: X @ W.T, 32, batch_size=100, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 2.3 MB measured; other threads of the test process (a worker pool's) count too
    assert peak < 0.25 * n_bytes, f"peak {peak / 1e6:.1f} MB for {n_bytes / 1e6:.1f} MB of frames"
    for i, theta in enumerate(resp.orientation.values):
        for j, freq in enumerate(resp.frequency.values):
            frames, _ = drifting_grating(32, theta, freq, 2.0, 1.0, 32.0)
            np.testing.assert_allclose(resp.response.values[i, j],
                                       frames.reshape(len(frames), -1) @ W.T, rtol=0,
                                       atol=1e-12)


def test_circular_variance_degrees_suggest_radians():
    """Degrees got "must sample [0, pi) evenly" with no word of radians."""
    from v1model.analysis import circular_variance
    degrees = np.arange(0, 180, 22.5)
    with pytest.raises(ValueError, match=r"orientations must be in radians.*np\.radians"):
        circular_variance(np.ones(8), degrees)
    # the same grid in radians: an untuned curve has circular variance 1 (analytic)
    assert circular_variance(np.ones(8), np.radians(degrees)) == pytest.approx(1.0, abs=1e-12)
