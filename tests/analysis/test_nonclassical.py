"""Size tuning, surround suppression and cross-orientation suppression against
analytic expectations: linear units sum their input (no suppression), a
hand-built subtractive surround gives the SI computed by hand, and a linear
unit ignores an orthogonal mask."""

import numpy as np
import pytest
import xarray as xr

from stimuli import aperture, gabor_patch
from v1model.analysis import (cross_orientation_suppression, fit_gabor, size_tuning,
                              surround_suppression)

SHAPE = 24
# two Gabor atoms off the patch centre, at different orientations and frequencies
PARAMS = [dict(orientation=0.5, frequency=0.16, phase=0.7, sigma_x=2.0, sigma_y=2.6,
               center=(9.0, 12.5)),
          dict(orientation=2.0, frequency=0.21, phase=-1.0, sigma_x=1.8, sigma_y=2.4,
               center=(14.5, 10.0))]


@pytest.fixture(scope="module")
def gabor_atoms():
    D = np.stack([gabor_patch(SHAPE, **p).ravel() for p in PARAMS])
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def _probe(D):
    o = [p["orientation"] for p in PARAMS]
    f = [p["frequency"] for p in PARAMS]
    centers = [p["center"] for p in PARAMS]
    return o, f, centers


def test_linear_gabor_unit_sums_until_the_disc_covers_its_envelope(gabor_atoms):
    """Rectified linear units (codes = max(X D^T, 0)): the response to a disc at the
    atom's own orientation, frequency and centre is |<atom, carrier>| summed over the
    disc, which grows until the disc covers the envelope (3 s.d.) and then stays:
    SI < 0.01 (the carrier's second harmonic makes the sum ripple by < 1%), the peak
    within 1% of the full-field response."""
    D = gabor_atoms
    o, f, centers = _probe(D)
    ds = size_tuning(lambda X: np.maximum(X @ D.T, 0.0), SHAPE, o, f, centers=centers,
                     diameters=40, contrasts=[0.2, 1.0], phases=16)
    assert ds.response.dims == ("atom", "contrast", "diameter")
    assert ds.response.attrs["units"] == "units of the encoder's output"
    assert ds.diameter.attrs["units"] == "pixel"
    assert ds.full_field.values.all()
    s = surround_suppression(ds)
    assert np.all(s.suppression_index.values < 0.01)
    d = ds.diameter.values
    for k, p in enumerate(PARAMS):
        r = ds.response.values[k, 1]
        covers = d >= 2 * 3 * max(p["sigma_x"], p["sigma_y"])
        # non-decreasing, up to 1% of the peak, until the envelope is covered
        assert np.all(np.diff(r[~covers]) >= -0.01 * r.max())
        assert r[covers].min() >= 0.99 * r.max()
        # linear in contrast: the same curve scaled by 5, so the same preferred diameter
        np.testing.assert_allclose(ds.response.values[k, 1], 5 * ds.response.values[k, 0],
                                   rtol=1e-9)
    np.testing.assert_allclose(s.preferred_diameter_ratio.values, 1.0)


def test_full_field_response_is_the_atoms_grating_projection(gabor_atoms):
    """The largest disc is the full grating: max over phases of <atom, grating> is
    the amplitude |sum atom * exp(i k.x)| times the contrast (16 phases: within
    1 - cos(pi / 16) = 2%)."""
    D = gabor_atoms
    o, f, centers = _probe(D)
    ds = size_tuning(lambda X: X @ D.T, SHAPE, o, f, centers=centers, diameters=[100.0],
                     contrasts=[0.5], phases=16)
    y, x = np.mgrid[0:SHAPE, 0:SHAPE]
    for k in range(2):
        u, v = x - centers[k][0], -(y - centers[k][1])
        xp = u * np.cos(o[k]) + v * np.sin(o[k])
        amp = 0.5 * abs((D[k].reshape(SHAPE, SHAPE) * np.exp(2j * np.pi * f[k] * xp)).sum())
        r = ds.response.values[k, 0, 0]
        assert amp * np.cos(np.pi / 16) - 1e-9 <= r <= amp + 1e-9


def test_hand_built_subtractive_surround_gives_the_hand_computed_si():
    """Two units whose output is (centre drive - w * surround drive), rectified:
    the centre drive is the stimulus summed over a disc of diameter 6, the surround
    drive over the annulus 6-14. For a uniform 'grating' of contrast c (frequency
    ~0, phase 0) the response to a disc of diameter d is c (N_c(d) - w N_s(d)),
    with N the pixel counts, so the peak is at d = 6 and SI = w N_s / N_c."""
    shape, center = 21, (10.0, 10.0)
    centre_w = aperture(shape, 6.0, center=center).ravel()
    surround_w = aperture(shape, 14.0, inner_diameter=6.0, center=center).ravel()
    weights = np.array([0.1, 0.05])
    W = centre_w[None, :] - weights[:, None] * surround_w[None, :]

    def encoder(X):
        return np.maximum(X @ W.T, 0.0)

    diameters = np.arange(1.0, 31.0)
    ds = size_tuning(encoder, shape, [0.0, 0.0], [1e-6, 1e-6], centers=[center, center],
                     diameters=diameters, contrasts=[0.5, 1.0], phases=[0.0])
    s = surround_suppression(ds)
    n_c, n_s = centre_w.sum(), surround_w.sum()
    expected = weights * n_s / n_c
    np.testing.assert_allclose(s.suppression_index.values, np.repeat(expected[:, None], 2, 1),
                               rtol=1e-6)
    # hard edges keep r < d / 2: d = 6 is the first disc holding the whole centre
    assert np.all(s.preferred_diameter.values == 6.0)
    np.testing.assert_allclose(s.peak_response.values[:, 1], n_c, rtol=1e-6)
    np.testing.assert_allclose(s.largest_response.values[:, 1], n_c - weights * n_s, rtol=1e-6)


def test_surround_suppression_summary_on_given_curves():
    """Hand-computed summaries. A flat non-zero curve keeps the smallest diameter as
    its preferred one (checked again after zero_tol and rtol came): unlike a flat
    orientation curve, whose argmax is arbitrary (NaN in tuning_curves), a size curve is
    ordered and its first diameter reaches the peak — the summation field fits within
    the smallest disc, as a curve still rising at the largest one gets the largest."""
    curves = np.array([[[1.0, 4.0, 3.0, 2.0], [2.0, 3.0, 4.0, 4.0]],
                       [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]])
    ds = xr.Dataset({"response": (("atom", "contrast", "diameter"), curves)},
                    coords={"atom": [3, 7], "contrast": [0.1, 0.8],
                            "diameter": [2.0, 4.0, 6.0, 8.0]})
    s = surround_suppression(ds)
    np.testing.assert_allclose(s.suppression_index.values[0], [0.5, 0.0])
    np.testing.assert_allclose(s.preferred_diameter.values[0], [4.0, 6.0])
    assert np.isnan(s.suppression_index.values[1, 0]) and np.isnan(s.preferred_diameter[1, 0])
    assert s.preferred_diameter.values[1, 1] == 2.0  # a flat curve peaks at its first point
    np.testing.assert_allclose(s.preferred_diameter_ratio.values[0], 6.0 / 4.0)
    # a summation field at 75% of the peak: the first diameter reaching 3 (of 4)
    s75 = surround_suppression(ds, peak_fraction=0.75)
    np.testing.assert_allclose(s75.preferred_diameter.values[0], [4.0, 4.0])
    assert s.atom.values.tolist() == [3, 7]


def test_linear_unit_ignores_an_orthogonal_mask(gabor_atoms):
    """Rectified linear units: the mask adds B cos(mask phase - beta) to the drive,
    which averages to 0 over the 4 mask phases while the drive stays positive, so
    the response to test + mask equals the test alone (to rounding). The mask
    alone barely drives a Gabor unit: < 2% of the test's response."""
    D = gabor_atoms
    o, f, centers = _probe(D)
    ds = cross_orientation_suppression(lambda X: np.maximum(X @ D.T, 0.0), SHAPE, o, f,
                                       centers=centers, test_contrast=0.5,
                                       mask_contrasts=[0.25, 0.5, 1.0])
    assert ds.response.dims == ("atom", "mask_contrast")
    assert ds.mask_contrast.values.tolist() == [0.0, 0.25, 0.5, 1.0]
    np.testing.assert_allclose(ds.relative_response.values, 1.0, atol=1e-9)
    np.testing.assert_allclose(ds.suppression_index.values, 0.0, atol=1e-9)
    assert ds.mask_response.values.max() < 0.02 * ds.response.values[:, 0].min()
    # orthogonal, and on the orientation circle [0, pi) (o + pi/2 ran past pi)
    np.testing.assert_allclose(ds.mask_orientation.values, np.mod(np.array(o) + np.pi / 2, np.pi))
    assert np.all((ds.mask_orientation.values >= 0) & (ds.mask_orientation.values < np.pi))


def test_divisive_mask_gives_the_hand_computed_suppression(gabor_atoms):
    """A unit divided by the energy of an orthogonal 'mask channel' (a normalisation
    model): r = test drive / (1 + k * mask energy). Its suppression index at mask
    contrast m is 1 - 1 / (1 + k (m A_m)^2) averaged over the mask phases, with A_m
    the orthogonal channel's quadrature amplitude."""
    D = gabor_atoms[:1]
    p = PARAMS[0]
    even = gabor_patch(SHAPE, p["orientation"] + np.pi / 2, p["frequency"], 0.0,
                       p["sigma_x"], p["sigma_y"], center=p["center"]).ravel()
    odd = gabor_patch(SHAPE, p["orientation"] + np.pi / 2, p["frequency"], np.pi / 2,
                      p["sigma_x"], p["sigma_y"], center=p["center"]).ravel()
    # quadrature energy of the mask channel to its own grating: phase-independent
    y, x = np.mgrid[0:SHAPE, 0:SHAPE]
    u, v = x - p["center"][0], -(y - p["center"][1])
    th = p["orientation"] + np.pi / 2
    carrier = np.exp(2j * np.pi * p["frequency"] * (u * np.cos(th) + v * np.sin(th))).ravel()
    a_m = abs(even @ carrier)  # = |odd @ carrier| for a quadrature pair, to < 1%
    # k at which the full-contrast mask halves the response: the index is mid-range, where
    # it discriminates (with k = 4, 1 - 1/(1 + k a_m^2) = 0.999 also for a mask drawn at a
    # quarter of its contrast)
    k = 1.0 / a_m**2

    def encoder(X):
        energy = (X @ even) ** 2 + (X @ odd) ** 2
        return np.maximum(X @ D.T, 0.0) / (1.0 + k * energy[:, None])

    contrasts = [0.25, 0.5, 1.0]
    ds = cross_orientation_suppression(encoder, SHAPE, p["orientation"], p["frequency"],
                                       centers=p["center"], test_contrast=0.5,
                                       mask_contrasts=contrasts, phases=32)
    # the test grating drives the mask channel a little too (measured: 3e-4 of the index)
    expected = [1.0 / (1.0 + k * (m * a_m) ** 2) for m in contrasts]  # 0.941, 0.8, 0.5
    np.testing.assert_allclose(ds.relative_response.sel(mask_contrast=contrasts).values[0],
                               expected, rtol=0.01)
    assert ds.suppression_index.values[0] == pytest.approx(0.5, rel=0.01)


def test_probes_from_a_gabor_fit_centre_the_discs(gabor_atoms):
    fit = fit_gabor(gabor_atoms, (SHAPE, SHAPE))
    centers = np.stack([fit.x0.values, fit.y0.values], 1)
    np.testing.assert_allclose(centers, [p["center"] for p in PARAMS], atol=1e-3)
    ds = size_tuning(lambda X: X @ gabor_atoms.T, SHAPE, fit.orientation.values,
                     fit.frequency.values, centers=centers, diameters=4, contrasts=[1.0])
    np.testing.assert_allclose(ds.center_x.values, centers[:, 0])
    # default grid: the largest disc covers the patch from both centres
    assert ds.full_field.values.all()
    assert ds.diameter.values[-1] == pytest.approx(
        2 * np.hypot(14.5, 23 - 10.0) + 1, rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(diameters=[0.0, 3.0]), r"diameters must be > 0 pixels, got min 0\.0"),
    (dict(contrasts=[-0.1]), r"contrasts must be > 0, got min -0\.1"),
    (dict(centers=[[1.0, 2.0, 3.0]]), r"centers must be \(x0, y0\)"),
    (dict(units=[0, -1]), r"units must be a 1-D array of non-negative integer"),
    (dict(units=[]), r"units is empty .*; select at least one unit"),
    (dict(units=[0, 5]), r"units index 5 but the encoder has 2 units"),
    (dict(units=[0, 2]), r"units index 2 but the encoder has 2 units"),  # one past the last
    (dict(contrasts=[0.5, 0.0]), r"contrasts must be > 0"),
    # a repeated point was accepted: a duplicate coordinate, a curve point counted twice
    (dict(diameters=[4.0, 8.0, 4.0]), r"diameters must not repeat a value \(each is one "
                                      r"point of the curve\), got 4\.0 2 times"),
    (dict(contrasts=[1.0, 0.1, 1.0]), r"contrasts must not repeat a value .* got 1\.0 2 times"),
    (dict(batch_size=0), r"batch_size must be >= 1"),
    (dict(rectify="half"), r"rectify must be one of"),
    (dict(edge=-1.0), r"edge must be a non-negative finite number"),
    (dict(frequency=0.7), r"frequency must be in \(0, 0\.5\]"),
    (dict(orientation=[0.1, 0.2, 0.3]), r"one value \(one \(x0, y0\)\) per selected unit"),
    # degrees, read as radians before: orientation 45 drew gratings at 45 rad, unsaid
    (dict(orientation=[45.0, 90.0]), r"^orientation must be in radians, got \[45\.0, 90\.0\]"),
    (dict(phases=[0.0, 90.0, 180.0]), r"^phases must be in radians.*np\.radians\(phases\)"),
])
def test_size_tuning_arguments_are_checked(gabor_atoms, kwargs, match):
    D = gabor_atoms
    args = dict(orientation=[0.5, 2.0], frequency=[0.16, 0.21], diameters=[4.0, 8.0])
    args.update(kwargs)
    o, f = args.pop("orientation"), args.pop("frequency")
    with pytest.raises(ValueError, match=match):
        size_tuning(lambda X: X @ D.T, SHAPE, o, f, **args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(test_contrast=0.0), r"test_contrast must be a positive finite number"),
    (dict(mask_contrasts=[-1.0]), r"mask_contrasts must be >= 0"),
    (dict(diameter=[3.0, 4.0, 5.0]), r"diameter must be one value or one per selected unit"),
    (dict(diameter=-2.0), r"diameter must be > 0 pixels"),
    (dict(diameter=0.0), r"diameter must be > 0 pixels"),
    (dict(diameter=[np.nan, np.inf]), (r"diameter must be > 0 pixels and finite \(NaN: full "
                                       r"field\), got inf")),
    (dict(batch_size=0), r"batch_size must be >= 1"),
    (dict(mask_phases=0), r"mask_phases must be >= 1"),
    (dict(mask_offset=90.0), r"^mask_offset must be in radians, got 90\.0"),
    (dict(phases=[0.0, 180.0]), r"^phases must be in radians"),
])
def test_cross_orientation_arguments_are_checked(gabor_atoms, kwargs, match):
    D = gabor_atoms
    with pytest.raises(ValueError, match=match):
        cross_orientation_suppression(lambda X: X @ D.T, SHAPE, [0.5, 2.0], [0.16, 0.21],
                                      **kwargs)


def test_cross_orientation_takes_back_the_full_field_diameter_it_records(gabor_atoms):
    """A full-field result records diameter NaN; NaN given as diameter (the value read
    back from a result, or per unit) is full field too: the same responses as None (it
    raised 'diameter contains non-finite'), and a unit with a finite diameter next to it
    gets that disc, as in a call of its own."""
    D = gabor_atoms[:2]
    o, f, centers = _probe(D)

    def enc(X):
        return np.maximum(X @ D.T, 0.0)

    kw = dict(centers=centers, mask_contrasts=[0.5, 1.0], phases=4, mask_phases=2)
    full = cross_orientation_suppression(enc, SHAPE, o, f, **kw)
    assert np.isnan(full["diameter"].values).all()
    for given in (np.nan, full["diameter"].values):
        again = cross_orientation_suppression(enc, SHAPE, o, f, diameter=given, **kw)
        xr.testing.assert_identical(again, full)
    mixed = cross_orientation_suppression(enc, SHAPE, o, f, diameter=[np.nan, 6.0], **kw)
    disc = cross_orientation_suppression(enc, SHAPE, o, f, diameter=6.0, **kw)
    np.testing.assert_array_equal(mixed["response"].values[0], full["response"].values[0])
    np.testing.assert_array_equal(mixed["response"].values[1], disc["response"].values[1])
    assert not np.allclose(disc["response"].values[1], full["response"].values[1])
    np.testing.assert_array_equal(mixed["diameter"].values, [np.nan, 6.0])


def test_surround_suppression_input_is_checked():
    with pytest.raises(TypeError, match="tuning must be the Dataset returned by size_tuning"):
        surround_suppression(np.zeros((2, 2, 2)))
    bad = xr.Dataset({"response": (("atom", "diameter"), np.ones((2, 3)))})
    with pytest.raises(ValueError, match="must have the dimensions"):
        surround_suppression(bad)
    neg = xr.Dataset({"response": (("atom", "contrast", "diameter"), -np.ones((1, 1, 2)))},
                     coords={"diameter": [1.0, 2.0]})
    with pytest.raises(ValueError, match="must be non-negative"):
        surround_suppression(neg)
    ok = neg.assign(response=-neg.response)
    with pytest.raises(ValueError, match=r"peak_fraction must be in \(0, 1\]"):
        surround_suppression(ok, peak_fraction=0.0)
    # 1.5 was refused as "outside [0, 1]"; rtol must stay below the fraction
    with pytest.raises(ValueError, match=r"peak_fraction must be in \(0, 1\], got 1\.5"):
        surround_suppression(ok, peak_fraction=1.5)
    with pytest.raises(ValueError, match=r"rtol must be a non-negative finite number, got -1e-06"):
        surround_suppression(ok, rtol=-1e-6)
    with pytest.raises(ValueError,
                       match=r"rtol must be below peak_fraction \(0\.5\), got 0\.5"):
        surround_suppression(ok, peak_fraction=0.5, rtol=0.5)


def test_a_peak_at_rounding_level_never_responds(refuses_bad_zero_tol):
    """Unit 0 answers 1e-12 of unit 1's peak at one diameter and exactly 0 elsewhere
    (a float32 encoder's rounding, or an LCA code below its solver's tolerance): it
    never responds (NaN) at the default zero_tol (1e-9 of the largest response), as an
    exactly silent unit does. It got SI = 1 and a preferred diameter of 4 px, which
    zero_tol=0 (only exact zeros are silent) still gives. Unit 1 is unchanged, and a
    lone unit is judged against itself: a curve of 1e-300 is summarised as the same
    curve of 1 (SI 0.25, preferred diameter 4 px)."""
    curves = np.array([[[0.0, 1e-12, 0.0, 0.0]], [[1.0, 4.0, 3.0, 3.0]]])
    st = xr.Dataset({"response": (("atom", "contrast", "diameter"), curves)},
                    coords={"contrast": [1.0], "diameter": [2.0, 4.0, 6.0, 8.0]})
    for summary, dim, index in ((surround_suppression, "diameter", "suppression_index"),
                                (end_stopping, "length", "end_stopping_index")):
        tuning = st if dim == "diameter" else st.rename(diameter="length")
        s = summary(tuning)
        assert s.attrs["zero_tol"] == 1e-9
        assert np.isnan(s[index].values[0, 0]) and np.isnan(s[f"preferred_{dim}"][0, 0])
        assert np.isnan(s.peak_response.values[0, 0])
        np.testing.assert_array_equal(s[index].values[1], [0.25])
        np.testing.assert_array_equal(s[f"preferred_{dim}"].values[1], [4.0])
        exact = summary(tuning, zero_tol=0.0)
        np.testing.assert_array_equal(exact[index].values[:, 0], [1.0, 0.25])
        np.testing.assert_array_equal(exact[f"preferred_{dim}"].values[:, 0], [4.0, 4.0])
        lone = summary(tuning.isel(atom=[1]) * 1e-300)
        np.testing.assert_allclose(lone[index].values, [[0.25]], rtol=1e-12)
        np.testing.assert_array_equal(lone[f"preferred_{dim}"].values, [[4.0]])
        refuses_bad_zero_tol(lambda **kw: summary(tuning, **kw))


def test_preferred_diameter_of_a_plateau_is_its_first_point_despite_rounding():
    """Curves that reach their plateau at 4 px and stay there up to rounding (a few 1e-9
    of the peak, as float32 or an envelope's tail leave it), the one at contrast 1 ten
    times the one at 0.1: the preferred diameter (length) is 4 px at both contrasts, the
    ratio exactly 1. The exact maxima, 8 px and 6 px (ratio 0.75, "smaller at high
    contrast"), were rounding's pick; rtol=0 still gives them."""
    plateau = 4.0 * (1 + np.array([0.0, 1e-9, 3e-9, -2e-9]))
    curves = np.array([[[1.0, *plateau], 10 * np.array([1.0, *plateau[[0, 2, 1, 3]]])]])
    st = xr.Dataset({"response": (("atom", "contrast", "diameter"), curves)},
                    coords={"contrast": [0.1, 1.0], "diameter": [2.0, 4.0, 6.0, 8.0, 10.0]})
    s = surround_suppression(st)
    np.testing.assert_array_equal(s.preferred_diameter.values, [[4.0, 4.0]])
    np.testing.assert_array_equal(s.preferred_diameter_ratio.values, [1.0])
    assert s.attrs["rtol"] == 1e-5
    e = end_stopping(st.rename(diameter="length"))
    np.testing.assert_array_equal(e.preferred_length.values, [[4.0, 4.0]])
    exact = surround_suppression(st, rtol=0.0)
    np.testing.assert_array_equal(exact.preferred_diameter.values, [[8.0, 6.0]])


def test_linear_unit_has_the_same_preferred_diameter_in_float32_and_float64(gabor_atoms):
    """A rectified linear unit scales with contrast, so its preferred diameter cannot
    depend on contrast (ratio exactly 1) nor on the encoder's precision. Its curve keeps
    creeping up by ~1e-10 of the peak after the disc covers the envelope: in float32 the
    exact maximum sat at 27 px at contrast 0.1 and 29 px at 1.0 (ratio 1.07), in float64
    at 36 px for both."""
    D = gabor_atoms
    o, f, centers = _probe(D)
    D32 = D.astype(np.float32)
    prefs = []
    for enc in (lambda X: np.maximum(X @ D.T, 0.0),
                lambda X: np.maximum(X.astype(np.float32) @ D32.T, 0.0)):
        ds = size_tuning(enc, SHAPE, o, f, centers=centers, diameters=40,
                         contrasts=[0.1, 1.0], phases=16)
        s = surround_suppression(ds)
        np.testing.assert_array_equal(s.preferred_diameter_ratio.values, [1.0, 1.0])
        prefs.append(s.preferred_diameter.values)
    np.testing.assert_array_equal(prefs[1], prefs[0])


def test_default_centre_and_diameters_reach_the_farthest_corner():
    """Default centre: the middle of the patch, ((w - 1) / 2, (h - 1) / 2). Default
    diameters: n steps up to the disc that covers every pixel from the centre, twice the
    distance to the farthest pixel centre, plus one pixel, plus the edge; here the
    farthest pixel from (3, 8) on a 10x14 patch is (13, 0)."""
    encoder = lambda X: X[:, :1]  # noqa: E731
    mid = size_tuning(encoder, (10, 14), 0.3, 0.2, diameters=2, contrasts=[1.0], phases=1)
    assert (float(mid.center_x[0]), float(mid.center_y[0])) == (6.5, 4.5)
    np.testing.assert_allclose(mid.diameter, np.array([0.5, 1.0]) * (2 * np.hypot(6.5, 4.5) + 1),
                               rtol=1e-12)
    ds = size_tuning(encoder, (10, 14), 0.3, 0.2, centers=[3.0, 8.0], diameters=4,
                     contrasts=[1.0], phases=1, edge=1.5)
    assert (float(ds.center_x[0]), float(ds.center_y[0])) == (3.0, 8.0)
    largest = 2 * np.hypot(10.0, 8.0) + 1 + 1.5
    np.testing.assert_allclose(ds.diameter, largest * np.arange(1, 5) / 4, rtol=1e-12)
    assert ds.full_field.values.all()
    # one diameter is that full-field disc; a scalar contrast is one contrast
    one = size_tuning(encoder, (10, 14), 0.3, 0.2, centers=[3.0, 8.0], diameters=1,
                      contrasts=0.5, phases=1, edge=1.5)
    np.testing.assert_allclose(one.diameter, [largest], rtol=1e-12)
    np.testing.assert_array_equal(one.contrast, [0.5])


def test_default_contrasts_are_ten_and_hundred_percent():
    """size_tuning and length_tuning probe at contrasts 0.1 and 1 by default (docstrings);
    a unit reading one pixel of a full-field grating answers with the contrast times
    cos(phase 0) at that pixel, so the two curves differ by exactly 10x."""
    from v1model.analysis import length_tuning

    encoder = lambda X: np.abs(X[:, :1])  # noqa: E731
    for tuning in (size_tuning(encoder, 8, 0.0, 0.25, diameters=[100.0], phases=1),
                   length_tuning(encoder, 8, 0.0, 0.25, lengths=[100.0], width=100.0,
                                 phases=1)):
        np.testing.assert_array_equal(tuning.contrast, [0.1, 1.0])
        r = tuning.response.values[0, :, 0]
        assert r[1] == pytest.approx(10 * r[0], rel=1e-12)
    # and 16 diameters (lengths) at 8 phases
    for tuning, dim in ((size_tuning(encoder, 8, 0.0, 0.25), "diameter"),
                        (length_tuning(encoder, 8, 0.0, 0.25), "length")):
        assert tuning.sizes[dim] == 16 and tuning.attrs["n_phases"] == 8


def test_cross_orientation_relative_response_of_constant_and_silent_units():
    """relative_response = R(test + mask) / R(test alone): 1 at every mask contrast for a
    unit whose response (here 0.3) ignores the stimulus, NaN for a unit silent to the test
    alone. The default mask contrasts are 0, 1/8, 1/4, 1/2 and 1; the centre is reported
    as given; batches of one stimulus give the same result."""
    encoder = lambda X: np.tile([0.3, 0.0], (len(X), 1))  # noqa: E731
    ds = cross_orientation_suppression(encoder, 8, [0.5, 2.0], 0.25, phases=2, mask_phases=2,
                                       centers=[2.0, 5.0])
    np.testing.assert_array_equal(ds.center_x, [2.0, 2.0])
    np.testing.assert_array_equal(ds.center_y, [5.0, 5.0])
    np.testing.assert_array_equal(ds.mask_contrast, [0.0, 0.125, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(ds.relative_response.values[0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(ds.suppression_index.values[0], 0.0, atol=1e-12)
    assert np.isnan(ds.relative_response.values[1]).all()
    one = cross_orientation_suppression(encoder, 8, [0.5, 2.0], 0.25, phases=2, mask_phases=2,
                                        centers=[2.0, 5.0], batch_size=1)
    xr.testing.assert_identical(one.drop_attrs(), ds.drop_attrs())


def test_cross_orientation_default_edge_is_a_hard_aperture():
    """edge defaults to 0 (a hard-edged disc): the same stimuli as edge=0.0, which a
    soft edge changes."""
    encoder = lambda X: np.abs(X).sum(axis=1, keepdims=True)  # noqa: E731
    kw = dict(diameter=5.0, phases=2, mask_phases=2, mask_contrasts=[1.0])
    default = cross_orientation_suppression(encoder, 8, 0.5, 0.25, **kw)
    hard = cross_orientation_suppression(encoder, 8, 0.5, 0.25, edge=0.0, **kw)
    soft = cross_orientation_suppression(encoder, 8, 0.5, 0.25, edge=2.0, **kw)
    np.testing.assert_array_equal(default.response, hard.response)
    assert not np.allclose(soft.response, hard.response)
    assert default.attrs["edge"] == 0.0


# --- length tuning and end-stopping -------------------------------------------------------

from stimuli import bar_aperture  # noqa: E402
from v1model.analysis import end_stopping, length_tuning  # noqa: E402


def test_linear_gabor_unit_is_not_end_stopped(gabor_atoms):
    """Rectified linear Gabor units: a bar one period wide at the atom's orientation,
    frequency and centre drives it by the atom summed over the bar; along the bars the
    envelope is a positive Gaussian, so the response grows until the bar covers it and
    stays: ESI < 0.01, the peak within 1% of the longest bar's response."""
    D = gabor_atoms
    o, f, centers = _probe(D)
    ds = length_tuning(lambda X: np.maximum(X @ D.T, 0.0), SHAPE, o, f, centers=centers,
                       lengths=40, contrasts=[0.2, 1.0], phases=16)
    assert ds.response.dims == ("atom", "contrast", "length")
    assert ds.response.attrs["units"] == "units of the encoder's output"
    assert ds.length.attrs["units"] == "pixel"
    np.testing.assert_allclose(ds.bar_width.values, 1.0 / np.array(f))
    assert ds.bar_width.attrs["units"] == "pixel"
    # the longest bar crosses the patch from both centres
    assert ds.length.values[-1] == pytest.approx(2 * np.hypot(14.5, 23 - 10.0) + 1, rel=1e-12)
    s = end_stopping(ds)
    assert s.end_stopping_index.dims == ("atom", "contrast")
    assert s.end_stopping_index.attrs["units"] == "1"
    assert s.preferred_length.attrs["units"] == "pixel"
    assert np.all(s.end_stopping_index.values < 0.01)
    np.testing.assert_allclose(ds.response.values[:, 1], 5 * ds.response.values[:, 0],
                               rtol=1e-9)
    np.testing.assert_allclose(s.preferred_length_ratio.values, 1.0)
    # the bar's length runs along the atom's bars: a bar turned by 90 degrees (same
    # width and centre) drives the unit far less than the optimal bar once both are long
    turned = length_tuning(lambda X: np.maximum(X @ D.T, 0.0), SHAPE, np.array(o) + np.pi / 2,
                           f, centers=centers, lengths=[40.0], width=1.0 / np.array(f),
                           contrasts=[1.0], phases=16)
    assert np.all(turned.response.values[:, 0, 0] < 0.5 * ds.response.values[:, 1, -1])


@pytest.mark.parametrize("orientation", [0.0, 0.6, 2.2])
def test_hand_built_end_zones_give_the_hand_computed_esi(orientation):
    """Two units whose output is (centre drive - w * end-zone drive), rectified: the
    centre drive is the stimulus summed over a bar of length 6 and width 3, the end
    zones the two stretches of the same bar from length 6 to 14. For a uniform
    'grating' (frequency ~0, phase 0) of contrast c in a bar of width 3 and length L
    the response is c (N_c(L) - w N_e(L)) with N the pixel counts: the peak is at the
    first bar holding the centre and ESI = w N_e / N_c."""
    shape, center, width = 21, (10.0, 10.0), 3.0
    centre_w = bar_aperture(shape, orientation, 6.0, width, center).ravel()
    ends_w = bar_aperture(shape, orientation, 14.0, width, center).ravel() - centre_w
    weights = np.array([0.1, 0.05])
    W = centre_w[None, :] - weights[:, None] * ends_w[None, :]

    def encoder(X):
        return np.maximum(X @ W.T, 0.0)

    lengths = np.arange(1.0, 31.0)
    ds = length_tuning(encoder, shape, [orientation] * 2, [1e-6, 1e-6],
                       centers=[center, center], lengths=lengths, width=width,
                       contrasts=[0.5, 1.0], phases=[0.0])
    s = end_stopping(ds)
    n_c, n_e = centre_w.sum(), ends_w.sum()
    assert n_c > 0 and n_e > 0
    expected = weights * n_e / n_c
    np.testing.assert_allclose(s.end_stopping_index.values,
                               np.repeat(expected[:, None], 2, 1), rtol=1e-6)
    # the peak: the shortest bar holding the whole centre (L = 5 or 6 on the pixel grid)
    holds = [np.all(bar_aperture(shape, orientation, L, width, center).ravel() >= centre_w)
             for L in lengths]
    assert np.all(s.preferred_length.values == lengths[np.argmax(holds)])
    assert lengths[np.argmax(holds)] in (5.0, 6.0)
    np.testing.assert_allclose(s.peak_response.values[:, 1], n_c, rtol=1e-6)
    np.testing.assert_allclose(s.longest_response.values[:, 1], n_c - weights * n_e,
                               rtol=1e-6)


def test_end_stopping_summary_on_given_curves_matches_surround_suppression():
    curves = np.array([[[1.0, 4.0, 3.0, 2.0], [2.0, 3.0, 4.0, 4.0]],
                       [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]])
    coords = {"atom": [3, 7], "contrast": [0.1, 0.8]}
    lt = xr.Dataset({"response": (("atom", "contrast", "length"), curves)},
                    coords={**coords, "length": [2.0, 4.0, 6.0, 8.0]})
    st = xr.Dataset({"response": (("atom", "contrast", "diameter"), curves)},
                    coords={**coords, "diameter": [2.0, 4.0, 6.0, 8.0]})
    e, s = end_stopping(lt), surround_suppression(st)
    np.testing.assert_array_equal(e.end_stopping_index.values, s.suppression_index.values)
    np.testing.assert_array_equal(e.preferred_length.values, s.preferred_diameter.values)
    np.testing.assert_array_equal(e.preferred_length_ratio.values,
                                  s.preferred_diameter_ratio.values)
    np.testing.assert_allclose(e.end_stopping_index.values[0], [0.5, 0.0])
    assert e.atom.values.tolist() == [3, 7]


@pytest.mark.parametrize("kwargs, match", [
    (dict(lengths=[0.0, 3.0]), r"lengths must be > 0 pixels, got min 0\.0"),
    (dict(lengths=[3.0, 6.0, 6.0, 6.0]), r"lengths must not repeat a value .* got 6\.0 3 times"),
    (dict(width=0.0), r"width must be > 0 pixels, got min 0\.0"),
    (dict(width=[1.0, 2.0, 3.0]), r"width must be one value or one per selected unit"),
    (dict(contrasts=[-0.1]), r"contrasts must be > 0, got min -0\.1"),
    (dict(units=[0, 5]), r"units index 5 but the encoder has 2 units"),
    (dict(rectify="half"), r"rectify must be one of"),
    (dict(frequency=0.7), r"frequency must be in \(0, 0\.5\]"),
])
def test_length_tuning_arguments_are_checked(gabor_atoms, kwargs, match):
    D = gabor_atoms
    args = dict(orientation=[0.5, 2.0], frequency=[0.16, 0.21], lengths=[4.0, 8.0])
    args.update(kwargs)
    o, f = args.pop("orientation"), args.pop("frequency")
    with pytest.raises(ValueError, match=match):
        length_tuning(lambda X: X @ D.T, SHAPE, o, f, **args)


def test_end_stopping_input_is_checked():
    with pytest.raises(TypeError, match="tuning must be the Dataset returned by length_tuning"):
        end_stopping(np.zeros((2, 2, 2)))
    size = xr.Dataset({"response": (("atom", "contrast", "diameter"), np.ones((1, 1, 2)))},
                      coords={"diameter": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"dimensions \('atom', 'contrast', 'length'\)"):
        end_stopping(size)


@pytest.mark.parametrize("summary, dim", [(surround_suppression, "diameter"),
                                          (end_stopping, "length")])
@pytest.mark.parametrize("coord, values, match", [
    # a disc of 0 or -2 pixels passed as a point of the curve, unsaid
    ("extent", [0.0, 2.0, 4.0, 6.0], r"tuning\['{dim}'\] must be > 0 pixels, got min 0\.0"),
    ("extent", [-2.0, 2.0, 4.0, 6.0], r"tuning\['{dim}'\] must be > 0 pixels, got min -2\.0"),
    # a repeated one made "the largest" response whichever copy sorted last
    ("extent", [2.0, 4.0, 6.0, 6.0], (r"tuning\['{dim}'\] must not repeat a value \(each is "
                                      r"one point of the curve\), got 6\.0 2 times")),
    ("extent", [2.0, np.nan, 6.0, 8.0], r"tuning\['{dim}'\] contains 1 non-finite value"),
    # the lowest and highest contrasts are compared: two lowest left the pick to argmin
    ("contrast", [0.1, 0.1], r"tuning\['contrast'\] must not repeat a value .* got 0\.1 2 "),
    ("contrast", [0.0, 1.0], r"tuning\['contrast'\] must be > 0, got min 0\.0"),
])
def test_summaries_refuse_curve_points_that_are_not_positive_and_distinct(summary, dim, coord,
                                                                          values, match):
    curves = np.array([[[1.0, 3.0, 2.0, 2.5], [2.0, 4.0, 1.0, 3.0]]])
    coords = {"contrast": [0.1, 1.0], dim: [2.0, 4.0, 6.0, 8.0]}
    coords[dim if coord == "extent" else "contrast"] = values
    tuning = xr.Dataset({"response": (("atom", "contrast", dim), curves)}, coords=coords)
    with pytest.raises(ValueError, match=match.format(dim=dim)):
        summary(tuning)


def test_probes_keep_only_each_units_own_responses_batch_by_batch(monkeypatch):
    """size_tuning, length_tuning and cross_orientation_suppression drew every stimulus
    and kept every unit's response to it (~630 MB for 300 units of a 256-atom code); now
    they encode a unit's stimuli as they go and keep its own column. Results equal those
    of the stimuli built by hand with stimuli.gratings, all encoded at once (the old
    path), and do not depend on batch_size; no encoder call exceeds batch_size rows."""
    from stimuli.gratings import bar_grating, disc_grating, plaid
    from v1model.analysis import length_tuning

    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 64))
    calls = []

    def enc(X):
        calls.append(len(X))
        return np.tanh(X @ D.T)

    units, h = np.array([4, 0, 5]), 8
    o, f = np.array([0.3, 1.2, 2.5]), np.array([0.15, 0.25, 0.35])
    c = np.array([[3.0, 4.0], [4.5, 3.5], [2.0, 5.0]])
    d, ph, con = np.array([2.0, 5.0, 12.0]), np.arange(4) * np.pi / 2, np.array([0.5, 1.0])

    def by_hand(stimuli, n_per_unit):  # every stimulus, every unit's response, own columns
        R = np.tanh(np.concatenate(stimuli).reshape(-1, h * h) @ D.T)
        return R.reshape(len(units), n_per_unit, -1)[np.arange(len(units)), :, units]

    grid = (con[:, None, None], d[None, :, None], ph[None, None, :])
    ref = by_hand([np.broadcast_to(disc_grating(h, o[k], f[k], grid[1], grid[2], grid[0],
                                                center=c[k]), (2, 3, 4, h, h))
                   for k in range(3)], 24)
    expected = np.maximum(ref.reshape(3, 2, 3, 4), 0).max(-1)
    ref = by_hand([np.broadcast_to(bar_grating(h, o[k], f[k], grid[1], 1 / f[k], grid[2],
                                               grid[0], center=c[k]), (2, 3, 4, h, h))
                   for k in range(3)], 24)
    expected_length = np.maximum(ref.reshape(3, 2, 3, 4), 0).max(-1)
    mc, mph = np.array([0.0, 1.0]), np.array([0.0, np.pi])
    ref = by_hand([np.concatenate([
        plaid(h, o[k], f[k], o[k] + np.pi / 2, phase=ph[None, None, :],
              mask_phase=mph[None, :, None], contrast=0.5, mask_contrast=mc[:, None, None],
              center=c[k]).reshape(-1, h, h),
        plaid(h, o[k], f[k], o[k] + np.pi / 2, phase=0.0, mask_phase=mph[None, :],
              contrast=0.0, mask_contrast=mc[:, None], center=c[k]).reshape(-1, h, h)])
        for k in range(3)], 20)
    expected_cross = np.maximum(ref[:, :16], 0).reshape(3, 2, 2, 4).max(-1).mean(-1)
    for batch_size in (4096, 5, 1):
        calls.clear()
        kw = dict(centers=c, units=units, phases=ph, batch_size=batch_size)
        ds = size_tuning(enc, h, o, f, diameters=d, contrasts=con, **kw)
        np.testing.assert_allclose(ds["response"].values, expected, rtol=1e-12, atol=1e-14)
        ds = length_tuning(enc, h, o, f, lengths=d, contrasts=con, **kw)
        np.testing.assert_allclose(ds["response"].values, expected_length, rtol=1e-12,
                                   atol=1e-14)
        ds = cross_orientation_suppression(enc, h, o, f, test_contrast=0.5, mask_contrasts=[1.0],
                                           mask_phases=2, **kw)
        np.testing.assert_allclose(ds["response"].values, expected_cross, rtol=1e-12,
                                   atol=1e-14)
        assert max(calls) == min(batch_size, 3 * 24)
    # one unit's stimuli at a time: drawn, encoded, dropped (all were drawn first)
    import stimuli.gratings

    events = []

    def counted(*args, **kwargs):
        events.append("draw")
        return disc_grating(*args, **kwargs)

    monkeypatch.setattr(stimuli.gratings, "disc_grating", counted)
    size_tuning(lambda X: events.append("encode") or enc(X), h, o, f, diameters=d,
                contrasts=con, centers=c, units=units, phases=ph, batch_size=24)
    assert events == ["draw", "encode"] * 3
    calls.clear()
    with pytest.raises(ValueError, match="units index 6 but the encoder has 6 units"):
        size_tuning(enc, h, 0.3, 0.2, units=[0, 6], diameters=2, batch_size=16)
    assert calls == [16]  # refused at the first batch, not after encoding them all


def test_probes_check_the_memory_of_the_responses_they_keep(monkeypatch):
    """One float64 per unit and stimulus is kept: refused by name when that alone
    cannot fit (here a 1 KiB limit, 200 units x 512 stimuli), before any encoding."""
    import v1model.validation

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**10)

    def never(X):
        raise AssertionError("encoded")

    with pytest.raises(ValueError, match=r"len\(units\)=200 units' responses to 512 stimuli"):
        size_tuning(never, 8, 0.3, 0.2, units=np.arange(200), diameters=32, contrasts=[1.0, 2.0],
                    phases=8)


def test_probes_of_a_labelled_selection_measure_the_labelled_units(gabor_atoms):
    """fit.orientation.isel(atom=[1]) holds atom 1's grating: it was shown to unit 0
    (labelled atom 0, its full-field response that of atom 0 to atom 1's grating). Now
    unit 1 is measured and labelled 1: the same curve as units=[1] with plain values."""
    fit = fit_gabor(gabor_atoms, (SHAPE, SHAPE))
    sel = fit.isel(atom=[1])
    centers = np.stack([sel.x0.values, sel.y0.values], 1)

    def encoder(X):
        return np.maximum(X @ gabor_atoms.T, 0.0)
    ds = size_tuning(encoder, SHAPE, sel.orientation, sel.frequency, centers=centers,
                     diameters=4, contrasts=[1.0])
    plain = size_tuning(encoder, SHAPE, sel.orientation.values, sel.frequency.values,
                        centers=centers, diameters=4, contrasts=[1.0], units=[1])
    assert ds.atom.values.tolist() == [1]
    np.testing.assert_allclose(ds.response, plain.response, rtol=1e-12)
    with pytest.raises(ValueError, match=r"units=\[0\] but orientation holds the values of "
                                         r"atoms \[1\]"):
        cross_orientation_suppression(encoder, SHAPE, sel.orientation, sel.frequency,
                                      centers=centers, units=[0])


@pytest.mark.parametrize("probe", [size_tuning, cross_orientation_suppression, length_tuning])
def test_centers_off_the_patch_are_refused_by_name(probe):
    """(30, 30) on a 16 x 16 patch was accepted: every aperture fell off the image."""
    def encoder(X):  # never reached: the centre is refused first
        raise AssertionError("encoder called")
    with pytest.raises(ValueError, match=r"centers must lie on the 16 x 16 patch.*30"):
        probe(encoder, 16, 0.0, 0.1, centers=(30, 30))
    # the patch's corners are on it: refused only beyond its pixels' extent
    with pytest.raises(ValueError, match=r"centers.*unit 1 of the selection"):
        probe(encoder, 16, [0.0, 0.0], [0.1, 0.1], centers=[(0, 15), (15.6, 0)])
