"""Checks added by a mutation-testing audit of v1model.analysis: each one pins a behaviour
that a plausible slip in the code (a flipped comparison, a dropped term, a wrong default)
left untested, against an analytic value or an independent computation."""

import numpy as np
import pytest
import xarray as xr

from v1model.analysis import (code_class, dead_units, mean_active_count, sparseness,
                              treves_rolls, vinje_gallant)


# ----------------------------------------------------------------------------- sparseness
def test_rectify_none_accepts_zeros_and_small_rates():
    """Rates in [0, 1) with zeros are valid non-negative responses for rectify="none":
    r = (0, 0.5, 0.25, 0.25): mean 1/4, mean square 3/32 -> a = 2/3, S = (1/3) / (3/4)."""
    r = [0.0, 0.5, 0.25, 0.25]
    assert treves_rolls(r, rectify="none") == pytest.approx(2 / 3, rel=1e-12)
    assert vinje_gallant(r, rectify="none") == pytest.approx(4 / 9, rel=1e-12)


def test_mean_active_count_counts_negative_coefficients():
    """A unit is active when |a| > tol: negative coefficients count like positive ones."""
    codes = np.array([[-1.0, 0.0, 2.0], [0.0, -3.0, -0.5]])
    assert mean_active_count(codes) == pytest.approx(2.0)
    assert mean_active_count(codes, tol=0.75) == pytest.approx(1.5)


def test_code_class_default_local_bound_is_one_and_a_half_units():
    """Local means closer to one unit than to two (mean count <= 1.5, module docstring):
    exactly 1.5 units per stimulus is local, 2 units per stimulus out of 64 is sparse."""
    codes = np.zeros((4, 64))
    codes[:, 0] = 1.0
    codes[:2, 1] = -1.0  # 2, 2, 1, 1 active units: mean 1.5
    assert code_class(codes) == "local"
    codes[:, 1] = 1.0  # two per stimulus
    assert code_class(codes) == "sparse"
    assert sparseness(codes).attrs["code_class"] == "sparse"


def test_dead_units_are_those_silent_on_every_stimulus_whatever_the_sign():
    """Dead means |a| <= tol on every stimulus: a unit active on one stimulus only, or
    only with negative coefficients, is alive."""
    codes = np.array([[0.0, -1.0, 0.0, 0.2],
                      [0.0, 0.0, 0.0, 0.3],
                      [0.0, -2.0, 0.5, 0.1]])
    np.testing.assert_array_equal(dead_units(codes), [True, False, False, False])
    np.testing.assert_array_equal(dead_units(codes, tol=0.4), [True, False, False, True])


def test_sparseness_dataset_counts_negative_coefficients_as_active():
    """The Dataset's counts use |a| > tol like activity_ratio: here 2, 1, 3 active units."""
    codes = np.array([[-1.0, 0.0, 2.0, 0.0],
                      [0.0, -3.0, 0.0, 0.0],
                      [-0.5, -0.5, -0.5, 0.0]])
    ds = sparseness(codes)
    np.testing.assert_array_equal(ds.active_count, [2, 1, 3])
    assert float(ds.activity_ratio) == pytest.approx(6 / 12)
    assert float(ds.mean_active_count) == pytest.approx(2.0)
    np.testing.assert_array_equal(ds.dead, [False, False, False, True])
    np.testing.assert_allclose(ds.unit_activity, [2 / 3, 2 / 3, 2 / 3, 0.0])


def test_sparseness_dataset_of_one_or_two_stimuli_and_of_one_unit():
    """Lifetime sparseness needs >= 2 stimuli and Hoyer >= 2 units: NaN below that, the
    Vinje-Gallant / Hoyer values from 2 on. Two stimuli (1, 0) and (1, 1): S = 1 and 0."""
    with pytest.warns(UserWarning, match="NaN for lifetime_sparseness and kurtosis"):
        one = sparseness(np.array([[1.0, 0.0, 2.0]]))
    assert np.isnan(one.lifetime_sparseness).all()
    np.testing.assert_allclose(one.hoyer, (np.sqrt(3) - 3 / np.sqrt(5)) / (np.sqrt(3) - 1))
    two = sparseness(np.array([[1.0, 1.0], [0.0, 1.0]]))
    np.testing.assert_allclose(two.lifetime_sparseness, [1.0, 0.0], atol=1e-12)
    with pytest.warns(UserWarning, match=r"NaN for hoyer \(1 unit\)"):
        column = sparseness(np.array([[1.0], [0.0], [3.0]]))
    assert np.isnan(column.hoyer).all()
    # (1, 0, 3): a = (4/3)^2 / (10/3) = 8/15, S = (7/15) / (2/3) = 7/10
    np.testing.assert_allclose(column.lifetime_sparseness, [0.7], rtol=1e-12)


def test_hoyer_and_kurtosis_edge_cases_against_their_definitions():
    """Hoyer is 1 for one non-zero value whatever it is (4 scales to exactly 1), and needs
    two values; kurtosis of a negative constant is NaN, while a tiny spread around a
    constant still has scipy's kurtosis of that spread."""
    from scipy import stats

    from v1model.analysis import hoyer_sparseness, kurtosis

    np.testing.assert_allclose(hoyer_sparseness([[0.0, 4.0, 0.0], [0.0, 0.0, -1.0]]), 1.0,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2 values"):
        hoyer_sparseness([[1.0], [2.0]])
    assert np.isnan(kurtosis(np.full((100, 2), -0.1))).all()
    x = np.random.default_rng(7).laplace(size=(400, 2))
    np.testing.assert_allclose(kurtosis(1.0 + 1e-7 * x), stats.kurtosis(x, axis=0), rtol=1e-4)

# ----------------------------------------------------------------------------- coherence
def test_mutual_coherence_of_two_atoms_is_their_absolute_cosine():
    """Two atoms at 60 degrees (one flipped): mu = |cos 120 deg| = 1/2."""
    from v1model.analysis import babel, mutual_coherence

    D = np.array([[2.0, 0.0], [-0.5, -0.5 * np.sqrt(3)]])
    assert mutual_coherence(D) == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_allclose(babel(D).babel.values, [0.5], rtol=1e-12)


def test_mutual_coherence_of_one_atom_is_refused():
    """There is no pair of distinct atoms in a one-atom dictionary."""
    from v1model.analysis import mutual_coherence

    with pytest.raises(ValueError, match="at least 2 atoms"):
        mutual_coherence(np.ones((1, 3)))


# ----------------------------------------------------------------------------- gabor
def test_gabor_initial_guess_alone_is_close_to_a_planted_gabor():
    """Step 1 of fit_gabor (Fourier peak, energy moments, demodulation) without any
    refinement (n_iter=0, polish=False) already lands near a noise-free planted Gabor:
    the moments of exp(-x'^2/sigma^2) give sigma, demodulation the phase."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor

    true = dict(orientation=0.6, frequency=0.15, phase=0.3, sigma_x=2.5, sigma_y=3.5)
    atom = gabor_patch((20, 22), center=(10.3, 9.2), **true)
    fit = fit_gabor(atom[None], n_iter=0, polish=False, n_starts=1)
    assert float(fit.x0[0]) == pytest.approx(10.3, abs=0.1)
    assert float(fit.y0[0]) == pytest.approx(9.2, abs=0.1)
    assert float(fit.orientation[0]) == pytest.approx(0.6, abs=0.06)
    assert float(fit.frequency[0]) == pytest.approx(0.15, rel=0.03)
    assert float(fit.phase[0]) == pytest.approx(0.3, abs=0.1)
    assert float(fit.sigma_x[0]) == pytest.approx(2.5, rel=0.05)
    assert float(fit.sigma_y[0]) == pytest.approx(3.5, rel=0.05)
    assert float(fit.amplitude[0]) == pytest.approx(1.0, rel=0.03)
    assert float(fit.r2[0]) > 0.98


def test_gabor_levenberg_marquardt_stage_alone_recovers_a_planted_gabor():
    """Step 2 (the batched Levenberg-Marquardt) without SciPy's polish already
    converges to a noise-free planted Gabor's parameters (to 1e-6)."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor

    true = dict(orientation=0.6, frequency=0.15, phase=0.3, sigma_x=2.5, sigma_y=3.5)
    atom = gabor_patch((20, 22), center=(10.3, 9.2), amplitude=0.8, offset=0.1, **true)
    fit = fit_gabor(atom[None], polish=False, n_starts=1)
    true.update(x0=10.3, y0=9.2, amplitude=0.8, offset=0.1)
    for name, value in true.items():
        assert float(fit[name][0]) == pytest.approx(value, abs=1e-6), name
    assert float(fit.r2[0]) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("center, name, bound", [((6.0, -3.0), "y0", -1.0),
                                                 ((-3.0, 6.0), "x0", -1.0),
                                                 ((6.0, 15.0), "y0", 12.0),
                                                 ((15.0, 6.0), "x0", 12.0)])
def test_gabor_centre_off_the_patch_stops_at_the_documented_bound(center, name, bound):
    """fit_gabor bounds the centre to -1 ... width (height) (reliable_gabor_fits'
    docstring): a Gabor planted 3 px beyond the edge is fitted at the bound exactly."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor

    atom = gabor_patch((12, 12), 0.3, 0.2, 0.0, 2.0, 2.0, center=center)
    fit = fit_gabor(atom[None])
    assert float(fit[name][0]) == pytest.approx(bound, abs=1e-9)


def test_gabor_r2_is_one_minus_residual_over_total_sum_of_squares():
    """R^2 = 1 - SS_res / SS_tot of the atom against the fitted Gabor, here recomputed
    from gabor_model of the reported parameters; with noise s.d. 0.2 on a unit Gabor
    the residual is about the noise, so R^2 is well below 1."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor, gabor_model

    rng = np.random.default_rng(3)
    atom = gabor_patch(16, 0.9, 0.18, -0.4, 2.5, 3.0) + 0.2 * rng.standard_normal((16, 16))
    fit = fit_gabor(atom[None])
    model = gabor_model(fit, 16)[0]
    expected = 1 - ((atom - model) ** 2).sum() / ((atom - atom.mean()) ** 2).sum()
    assert float(fit.r2[0]) == pytest.approx(expected, rel=1e-10)
    noise_fraction = 256 * 0.2**2 / ((atom - atom.mean()) ** 2).sum()
    assert float(fit.r2[0]) == pytest.approx(1 - noise_fraction, abs=0.1)
    assert fit.attrs["n_starts"] == 4  # the documented default
    assert int(fit.start[0]) in range(4)  # which start won is reported


# ----------------------------------------------------------------------------- coherence
def test_coactive_babel_worst_case_is_the_babel_curve_at_every_support_size():
    """worst_case = mu_1(|S|) for |S| = 1 .. k-1, and coactive_babel is the enumeration
    max_{j not in S} sum_{i in S} |<d_i, d_j>|, on 5 random atoms (mu_1 strictly rises)."""
    from v1model.analysis import babel, coactive_babel

    rng = np.random.default_rng(4)
    D = rng.standard_normal((5, 3))
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(Dn @ Dn.T)
    supports = [[2], [0, 4], [1, 2, 3], [0, 1, 3, 4]]
    codes = np.zeros((len(supports), 5))
    for n, S in enumerate(supports):
        codes[n, S] = rng.uniform(0.5, 1.0, len(S)) * rng.choice([-1, 1], len(S))
    ds = coactive_babel(codes, D)
    curve = babel(D).babel.values
    assert np.all(np.diff(curve) > 1e-3)
    np.testing.assert_allclose(ds.worst_case.values, curve[[0, 1, 2, 3]], rtol=1e-12)
    expected = [max(G[S, j].sum() for j in range(5) if j not in S) for S in supports]
    np.testing.assert_allclose(ds.coactive_babel.values, expected, rtol=1e-12)


# ----------------------------------------------------------------------------- tuning
def _response_dataset(response, orientations, frequencies):
    """A grating_responses-like Dataset (orientation, frequency, phase, atom)."""
    import xarray as xr

    return xr.Dataset({"response": (("orientation", "frequency", "phase", "atom"), response)},
                      coords={"orientation": orientations, "frequency": frequencies,
                              "phase": np.arange(response.shape[2]),
                              "atom": np.arange(response.shape[3])})


def test_tuning_curves_rectify_abs_uses_the_magnitude_of_negative_responses():
    """With rectify="abs" a response of -5 is a rate of 5; "positive" drops it."""
    from v1model.analysis import tuning_curves

    o = np.linspace(0, np.pi, 8, endpoint=False)
    R = np.ones((8, 2, 2, 1))
    R[2, 1, 0, 0] = -5.0
    ds = _response_dataset(R, o, np.array([0.1, 0.2]))
    ab = tuning_curves(ds, rectify="abs")
    assert float(ab.max_response[0]) == 5.0
    assert float(ab.peak_orientation[0]) == pytest.approx(o[2])
    assert float(ab.preferred_frequency[0]) == pytest.approx(0.2)
    assert float(tuning_curves(ds, rectify="positive").max_response[0]) == 1.0


def test_grating_responses_default_grids_are_the_documented_ones():
    """Defaults: 16 orientations over [0, pi), 8 frequencies log-spaced from one cycle
    per patch to 0.45 cycles/pixel, 8 phases over [0, 2 pi)."""
    from v1model.analysis import grating_responses

    ds = grating_responses(lambda X: X[:, :2], (6, 8))
    np.testing.assert_allclose(ds.orientation, np.arange(16) * np.pi / 16, rtol=1e-12)
    np.testing.assert_allclose(ds.frequency, (1 / 8) * (0.45 * 8) ** (np.arange(8) / 7),
                               rtol=1e-12)
    np.testing.assert_allclose(ds.phase, np.arange(8) * np.pi / 4, rtol=1e-12)
    assert ds.response.shape == (16, 8, 8, 2)


# ----------------------------------------------------------------------------- nonclassical
def test_surround_suppression_refuses_a_dataset_without_responses():
    """A Dataset that is not size_tuning's output (no 'response') is refused by name,
    not with a KeyError from deep inside."""
    import xarray as xr

    from v1model.analysis import end_stopping, surround_suppression

    other = xr.Dataset({"rate": (("atom", "contrast", "diameter"), np.ones((1, 1, 2)))},
                       coords={"diameter": [1.0, 2.0]})
    with pytest.raises(TypeError, match="tuning must be the Dataset returned by size_tuning"):
        surround_suppression(other)
    with pytest.raises(TypeError, match="returned by length_tuning"):
        end_stopping(other.rename(diameter="length"))


# ----------------------------------------------------------------------------- _common
def test_pearson_r_matches_scipy_and_is_nan_for_constant_input_without_a_warning():
    """The one correlation the studies and figures use: scipy.stats.pearsonr's r, and NaN
    (silently) when either input is constant."""
    import warnings

    from scipy import stats

    from v1model.analysis._common import pearson_r

    rng = np.random.default_rng(6)
    a = rng.standard_normal((4, 5))
    b = 0.6 * a + rng.standard_normal((4, 5))
    assert pearson_r(a, b) == pytest.approx(stats.pearsonr(a.ravel(), b.ravel())[0], rel=1e-12)
    assert pearson_r(a, -2 * a + 1) == pytest.approx(-1.0, rel=1e-12)
    small = stats.pearsonr(1e-3 * a.ravel(), 1e-3 * b.ravel())[0]  # norms well below 1
    assert pearson_r(1e-3 * a, 1e-3 * b) == pytest.approx(small, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(pearson_r(np.ones(5), np.arange(5.0)))


def test_flat_square_atoms_with_an_int_shape_are_read_as_images():
    """shape may be an int (the side of a square), for flat atoms as for image atoms."""
    from stimuli import gabor_patch
    from v1model.analysis import fit_gabor

    atom = gabor_patch(12, 0.6, 0.2, 0.3, 2.0, 3.0)
    fit = fit_gabor(atom.reshape(1, -1), shape=12, polish=False, n_starts=1)
    assert float(fit.orientation[0]) == pytest.approx(0.6, abs=1e-6)
    assert (fit.attrs["height"], fit.attrs["width"]) == (12, 12)


def test_gabor_energy_centroid_and_smoothed_peak_find_a_planted_centre():
    """Both centre candidates of the initial guess (energy centroid, peak of the smoothed
    energy) lie within a pixel of a planted Gabor's centre, here off the patch middle."""
    from stimuli import gabor_patch
    from v1model.analysis.gabor import _energy_centres, _grid

    atom = gabor_patch((16, 20), 1.1, 0.2, 0.4, 2.0, 2.5, center=(13.2, 5.7))
    X, Y = _grid(16, 20)
    centroid, peak = _energy_centres(atom[None], X, Y)
    np.testing.assert_allclose(centroid[0], [13.2, 5.7], atol=0.2)
    np.testing.assert_allclose(peak[0], [13.2, 5.7], atol=1.0)


def test_encoders_returning_complex_or_non_numeric_codes_are_refused():
    """call_encoder refuses complex codes (numpy would drop the imaginary part with only a
    ComplexWarning) and codes that are not numbers, naming the encoder."""
    from v1model.analysis import grating_responses, map_receptive_fields

    with pytest.raises(TypeError, match=r"encoder\(X\) must be real"):
        map_receptive_fields(lambda X: X[:, :2] * 1j, 4, n_stimuli=10, seed=0)
    with pytest.raises(TypeError, match="not a numeric array"):
        grating_responses(lambda X: np.full((len(X), 1), "a"), 4, orientations=2,
                          frequencies=[0.25], phases=2)


def test_an_encoder_returning_one_nan_code_is_refused():
    """A single non-finite code in a batch is refused, not only an all-NaN batch."""
    from v1model.analysis import grating_responses

    def encoder(X):
        R = X[:, :2].copy()
        R[1, 0] = np.nan
        return R

    with pytest.raises(ValueError, match="returned non-finite codes"):
        grating_responses(encoder, 4, orientations=2, frequencies=[0.25], phases=2)


def test_receptive_field_map_records_the_parameters_of_its_noise_kind():
    """White noise records its distribution, sparse noise its number of lit pixels."""
    from v1model.analysis import map_receptive_fields

    enc = lambda X: X[:, :1]  # noqa: E731
    white = map_receptive_fields(enc, 4, n_stimuli=20, seed=0, progress=False)
    sparse = map_receptive_fields(enc, 4, noise="sparse", n_pixels=2, n_stimuli=20, seed=0,
                                  progress=False)
    assert white.attrs["distribution"] == "gaussian" and "n_pixels" not in white.attrs
    assert sparse.attrs["n_pixels"] == 2 and "distribution" not in sparse.attrs


# ----------------------------------------------------------------------------- second batch
def test_two_orientations_a_right_angle_apart_sample_the_circle_evenly():
    """0 and pi/2 are n = 2 points pi/n apart: sum e^{2i theta} = 1 - 1 = 0, so the circular
    variance of r = (3, 1) is 1 - |3 - 1| / 4 = 1/2, and tuning_curves warns of nothing."""
    import warnings

    from v1model.analysis import circular_variance, tuning_curves

    o = np.array([0.0, np.pi / 2])
    assert circular_variance(np.array([3.0, 1.0]), o) == pytest.approx(0.5, rel=1e-12)
    R = np.array([3.0, 1.0]).reshape(2, 1, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = tuning_curves(_response_dataset(R, o, np.array([0.1])))
    assert float(ds.circular_variance[0]) == pytest.approx(0.5, rel=1e-12)


def test_orientation_bandwidth_needs_the_curve_to_fall_strictly_below_the_level():
    """A curve (1, .5, .5, .5) only touches half height: NaN (the docstring's 'does not fall
    below'); (1, .5, .25, .5) falls below at the third sample: half-width (1 + 0) pi / 4."""
    from v1model.analysis import tuning_curves

    o = np.arange(4) * np.pi / 4
    touch = tuning_curves(_response_dataset(np.array([1, .5, .5, .5]).reshape(4, 1, 1, 1), o,
                                            np.array([0.1])))
    assert np.isnan(touch.orientation_bandwidth[0])
    fall = tuning_curves(_response_dataset(np.array([1, .5, .25, .5]).reshape(4, 1, 1, 1), o,
                                           np.array([0.1])))
    assert float(fall.orientation_bandwidth[0]) == pytest.approx(np.pi / 4, rel=1e-12)


def test_drifting_grating_responses_default_grids_and_batch_size_one():
    """Defaults as documented: 16 orientations over [0, pi), 8 frequencies log-spaced from
    one cycle per patch to 0.45; a two-unit encoder keeps its two units; batch_size=1 is
    allowed and changes nothing."""
    from v1model.analysis import drifting_grating_responses

    def enc(X):
        return X[:, :2]

    ds = drifting_grating_responses(enc, (6, 8), frames_per_cycle=3)
    np.testing.assert_allclose(ds.orientation, np.arange(16) * np.pi / 16, rtol=1e-12)
    np.testing.assert_allclose(ds.frequency, (1 / 8) * (0.45 * 8) ** (np.arange(8) / 7),
                               rtol=1e-12)
    assert ds.response.shape == (16, 8, 3, 2)
    one = drifting_grating_responses(enc, (6, 8), orientations=[0.3], frequencies=[0.2],
                                     frames_per_cycle=3, batch_size=1)
    ref = drifting_grating_responses(enc, (6, 8), orientations=[0.3], frequencies=[0.2],
                                     frames_per_cycle=3)
    np.testing.assert_array_equal(one.response.values, ref.response.values)


def _contrast_unit(curve):
    """One unit answering a grating of amplitude c with curve(c) (c read as the largest
    |pixel|: at 0.25 cycles/pixel on 8x8, orientation 0, phase pi/4 a pixel is on a crest)."""
    def encoder(X):
        return curve(np.abs(X).max(axis=1))[:, None]
    return encoder


def _contrast_response(curve, contrasts, **kw):
    from v1model.analysis import contrast_response

    return contrast_response(_contrast_unit(curve), 8, 0.0, 0.25, contrasts=contrasts,
                             phases=[np.pi / 4], **kw)


def test_contrast_zero_is_not_a_level_of_the_naka_rushton_fit():
    """(0, .1, .2, .4) has 3 positive contrasts, no more than the 3 parameters without a
    baseline: too few contrasts, with a warning."""
    from v1model.analysis import naka_rushton

    with pytest.warns(UserWarning, match="3 distinct positive values"):
        ds = _contrast_response(lambda c: naka_rushton(c, 1.0, 0.2, 2.0), [0.0, 0.1, 0.2, 0.4],
                                baseline=False)
    assert str(ds.c50_flag.values[0]) == "too few contrasts"


def test_contrast_threshold_fallbacks():
    """Only the highest contrast responds: NaN (docstring of the threshold); a response
    that falls after the first responding contrast (no zero crossing of a rising line):
    the last silent contrast."""
    c = [0.1, 0.2, 0.4, 0.8]
    with pytest.warns(UserWarning):
        last = _contrast_response(lambda x: np.maximum(x - 0.5, 0.0), c)
    assert np.isnan(last.threshold[0])
    with pytest.warns(UserWarning):
        falls = _contrast_response(lambda x: np.interp(x, c, [0.0, 1.0, 0.5, 0.5]), c)
    assert float(falls.threshold[0]) == 0.1


def test_contrast_response_fit_details():
    """- a unit answering -c with rectify="none" responds (|r| > 0): it is fitted (a rising
      Naka-Rushton curve cannot follow it: poor fit), not called silent;
    - c50 = 0.005 on contrasts from 0.001 to 1 (below max / 100) is recovered: the lower
      bound is min / 100;
    - a true c50 of 1e-5 on contrasts from 0.01 stops at that bound, 0.01 / 100;
    - r = NR(c; 1, 0.2, 2) + 0.03 sin(40 c) (R^2 ~ 0.994) still saturates: its residual is
      about 1% of the best threshold-linear fit's, far below the 50% criterion."""
    from v1model.analysis import naka_rushton

    c = np.geomspace(0.01, 1, 10)
    neg = _contrast_response(lambda x: -x, c, rectify="none")
    assert str(neg.c50_flag.values[0]) == "poor fit"
    low = _contrast_response(lambda x: naka_rushton(x, 1.0, 0.005, 1.5), np.geomspace(1e-3, 1, 12))
    assert str(low.c50_flag.values[0]) == "saturating"
    assert float(low.c50[0]) == pytest.approx(0.005, rel=1e-4)
    bound = _contrast_response(lambda x: naka_rushton(x, 1.0, 1e-5, 0.3), c, baseline=False)
    assert str(bound.c50_flag.values[0]) == "saturating"
    assert float(bound.c50[0]) == pytest.approx(1e-4, rel=1e-6)
    c3 = np.linspace(0.05, 1, 10)
    noisy = _contrast_response(lambda x: naka_rushton(x, 1.0, 0.2, 2.0) + 0.03 * np.sin(40 * x),
                               c3, baseline=False)
    assert 0.99 < float(noisy.fit_r2[0]) < 0.999
    assert str(noisy.c50_flag.values[0]) == "saturating"


# ----------------------------------------------------------------------------- sparseness 2
def _vg(r):
    """Vinje-Gallant (1 - a) / (1 - 1/n), a = mean(r)^2 / mean(r^2), written out."""
    r = np.abs(np.asarray(r, float))
    n = len(r)
    return (1 - r.mean() ** 2 / (r**2).mean()) / (1 - 1 / n)


def test_vinje_gallant_default_axis_and_sparseness_of_two_units_with_a_dead_one():
    """vinje_gallant runs over the last axis by default; sparseness of a 3-unit code whose
    third unit is dead: Hoyer per stimulus (sqrt(k) - l1/l2) / (sqrt(k) - 1) and a mean
    lifetime sparseness over the two live units only."""
    A = np.array([[1.0, 2.0, 0.0, 4.0], [3.0, 0.0, 0.0, 1.0]])
    np.testing.assert_allclose(vinje_gallant(A), [_vg(A[0]), _vg(A[1])], rtol=1e-12)
    two = sparseness(np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 5.0]]))
    h = [(np.sqrt(2) - 3 / np.sqrt(5)) / (np.sqrt(2) - 1),
         (np.sqrt(2) - 4 / np.sqrt(10)) / (np.sqrt(2) - 1), 1.0]
    np.testing.assert_allclose(two.hoyer.values, h, rtol=1e-12)
    codes = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    ds = sparseness(codes)
    assert bool(ds.dead.values[2])
    expected = (_vg(codes[:, 0]) + _vg(codes[:, 1])) / 2
    assert float(ds.mean_lifetime_sparseness) == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------- nonclassical 2
def test_surround_suppression_ratio_with_one_contrast_and_unsorted_contrasts():
    """With one contrast the diameter ratio is NaN for every unit; with contrasts listed
    high first (1.0, 0.1) it is still preferred(1.0) / preferred(0.1)."""
    import xarray as xr

    from v1model.analysis import surround_suppression

    d = np.array([2.0, 4.0, 6.0])
    one = xr.Dataset({"response": (("atom", "contrast", "diameter"),
                                   np.array([[[1, 2, 1]], [[3, 1, 1]]], float))},
                     coords={"atom": [0, 1], "contrast": [0.5], "diameter": d})
    ratio = surround_suppression(one).preferred_diameter_ratio.values
    assert ratio.shape == (2,) and np.isnan(ratio).all()
    # preferred diameter 6 at contrast 1.0, 2 at contrast 0.1
    two = xr.Dataset({"response": (("atom", "contrast", "diameter"),
                                   np.array([[[1, 2, 3], [3, 2, 1]]], float))},
                     coords={"atom": [0], "contrast": [1.0, 0.1], "diameter": d})
    assert float(surround_suppression(two).preferred_diameter_ratio[0]) == 3.0


def test_scalar_mask_contrast_and_default_lengths():
    """A scalar mask_contrasts is one mask contrast (0 is added); length_tuning's default is
    16 lengths lmax k / 16, k = 1..16."""
    from v1model.analysis import cross_orientation_suppression, length_tuning

    def enc(X):
        return np.abs(X[:, :1])

    ds = cross_orientation_suppression(enc, 8, 0.0, 0.25, mask_contrasts=0.5, phases=2,
                                       mask_phases=1)
    np.testing.assert_allclose(ds.mask_contrast, [0.0, 0.5])
    lt = length_tuning(enc, 8, 0.0, 0.25, contrasts=[1.0], phases=1)
    L = lt.length.values
    np.testing.assert_allclose(L, L[-1] * np.arange(1, 17) / 16, rtol=1e-12)


# ----------------------------------------------------------------------------- gabor 2
def test_fit_gabor_of_only_constant_atoms_gives_nan_parameters():
    """No atom can be fitted: every parameter NaN, with the documented RuntimeWarning."""
    from v1model.analysis import fit_gabor

    with pytest.warns(RuntimeWarning, match="constant atom"):
        ds = fit_gabor(np.ones((2, 5, 6)))
    for name in ("frequency", "sigma_x", "amplitude"):
        assert np.isnan(ds[name].values).all()


def test_surround_summary_sorts_diameters_given_in_decreasing_order():
    """The docstring example's curve with its diameters listed largest first: the
    largest response is the one at 8 pixels (3), not the last listed, and the preferred
    diameter the peak's (4), as for the sorted curve."""
    from v1model.analysis import surround_suppression

    curve = xr.Dataset({"response": (("atom", "contrast", "diameter"), [[[3.0, 3.0, 4.0, 1.0]]])},
                       coords={"diameter": [8.0, 6.0, 4.0, 2.0]})
    s = surround_suppression(curve)
    assert float(s.preferred_diameter[0, 0]) == 4.0
    assert float(s.largest_response[0, 0]) == 3.0
    assert float(s.suppression_index[0, 0]) == 0.25


def test_cross_orientation_mask_response_and_response_by_hand():
    """A unit that reports the centre pixel (the phase reference): the mask alone gives
    m cos(mask phase) there, whose rectified maximum over the 4 mask phases is m (the
    documented max, not the mean m / 4); test + mask gives max over the test phase of
    0.5 cos(phase) + m cos(mask phase), rectified and averaged over the mask phases:
    (0.5 + m + 0.5 + |0.5 - m|_+ + 0.5) / 4."""
    from v1model.analysis import cross_orientation_suppression

    ds = cross_orientation_suppression(lambda X: X[:, [40]], 9, 0.0, 0.125, test_contrast=0.5,
                                       mask_contrasts=[0.5, 1.0], phases=4, mask_phases=4)
    np.testing.assert_allclose(ds.mask_response.values, [[0.0, 0.5, 1.0]], atol=1e-12)
    np.testing.assert_allclose(ds.response.values, [[0.5, 0.5, 0.625]], atol=1e-12)
