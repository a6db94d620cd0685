"""Reverse correlation: exact for linear encoders, convergent in the limit,
faithful for LCA units with Gabor atoms; bad input."""

import warnings

import numpy as np
import pytest

from stimuli import gabor_patch
from v1model.analysis import cosine_similarity, map_receptive_fields
from v1model.inference import lca


@pytest.fixture(scope="module")
def filters():
    return np.random.default_rng(0).standard_normal((5, 36))


def _linear(W, offset=0.0):
    return lambda X: X @ W.T + offset


@pytest.mark.parametrize("noise, kwargs", [("white", {}), ("sparse", {"n_pixels": 3})])
def test_regression_recovers_linear_filters_exactly(filters, noise, kwargs):
    # whitened STA: exact as soon as the stimuli span the pixel space
    ds = map_receptive_fields(_linear(filters, offset=2.0), 6, noise=noise, n_stimuli=1500,
                              method="regression", seed=1, **kwargs)
    np.testing.assert_allclose(ds.rf.values.reshape(5, -1), filters, rtol=1e-8, atol=1e-8)
    assert ds.attrs["n_stimuli"] == 1500


@pytest.mark.parametrize("noise, kwargs", [("white", {}), ("white", {"distribution": "binary"}),
                                           ("sparse", {"n_pixels": 2})])
def test_sta_converges_to_linear_filters_as_one_over_sqrt_n(filters, noise, kwargs):
    """STA error ~ sqrt(n_features / n): 16x more stimuli, ~4x smaller error."""
    errors = []
    for n in (2000, 32000):
        ds = map_receptive_fields(_linear(filters), 6, noise=noise, n_stimuli=n, seed=2,
                                  contrast=0.7, dictionary=filters, batch_size=4000, **kwargs)
        rf = ds.rf.values.reshape(5, -1)
        errors.append(np.linalg.norm(rf - filters) / np.linalg.norm(filters))
        assert np.all(ds.similarity.values > 1 - 2 * errors[-1] ** 2 - 0.01)
    ratio = errors[0] / errors[1]
    assert 2.5 < ratio < 6.5
    assert errors[1] < np.sqrt(36 / 32000) * 3


def test_lca_units_with_gabor_atoms_map_to_their_atoms():
    th = np.linspace(0, np.pi, 6, endpoint=False)
    D = gabor_patch(10, th, 0.2, 0.0, 1.8, 2.5).reshape(6, -1)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ds = map_receptive_fields(lambda X: lca(X, D, 0.2), 10, n_stimuli=4000, contrast=0.3,
                              dictionary=D, seed=0)
    assert ds.similarity.values.min() > 0.85
    # more stimuli never hurt much: the last estimate beats the first
    tr = ds.similarity_trace.values
    assert np.all(tr[-1] >= tr[0] - 0.01)
    assert ds.similarity_trace.sizes["n_stimuli_used"] == 4
    assert np.all((ds.fraction_active > 0) & (ds.fraction_active < 1))


def test_cosine_similarity_reference():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[2.0, 0.0], [-1.0, -1.0], [1.0, 0.0]])
    out = cosine_similarity(a, b)
    np.testing.assert_allclose(out[:2], [1.0, -1.0])
    assert np.isnan(out[2])


def test_cosine_similarity_of_dataarrays_aligns_their_dims_by_name():
    # b (atom, x, y) beside a (atom, y, x) was compared by position: transposed images,
    # unsaid (square images, so no shape error either)
    import xarray as xr

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4, 4))
    expected = [np.dot(u.ravel(), v.ravel()) / np.linalg.norm(u) / np.linalg.norm(v)
                for u, v in zip(a, b)]
    da = xr.DataArray(a, dims=("atom", "y", "x"))
    db = xr.DataArray(b, dims=("atom", "y", "x"))
    np.testing.assert_allclose(cosine_similarity(da, db.transpose("atom", "x", "y")),
                               expected, rtol=1e-12)
    # rows are a's first dim, whatever b's order
    by_x = [np.dot(u.ravel(), v.ravel()) / np.linalg.norm(u) / np.linalg.norm(v)
            for u, v in zip(a.transpose(2, 0, 1), b.transpose(2, 0, 1))]
    np.testing.assert_allclose(cosine_similarity(da.transpose("x", "atom", "y"),
                                                 db.transpose("y", "x", "atom")),
                               by_x, rtol=1e-12)
    # one name of its own takes the place of the dim it does not name: row is y
    np.testing.assert_allclose(cosine_similarity(da, xr.DataArray(b, dims=("atom", "x", "row"))),
                               cosine_similarity(a, b.transpose(0, 2, 1)), rtol=1e-12)
    with pytest.raises(ValueError, match=r"^b is a DataArray with dims \('x', 'row', 'col'\): "
                                         r"expected \('atom', 'y', 'x'\) in any order \(read "
                                         r"by name\), got \['x'\] at other positions"):
        cosine_similarity(da, xr.DataArray(b, dims=("x", "row", "col")))
    # plain arrays, or dims of other names, stay read by position
    np.testing.assert_allclose(cosine_similarity(da, b.transpose(0, 2, 1)),
                               cosine_similarity(a, b.transpose(0, 2, 1)), rtol=0)


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.ones((2, 3)), np.ones((3, 2)), r"a and b must have the same shape, got \(2, 3\)"),
        (np.full((2, 3), np.nan), np.ones((2, 3)), "a contains 6 non-finite"),
        (np.ones((2, 3)), np.ones((0, 3)), "b must not be empty"),
        (1.0, 1.0, "a must be a stack of vectors"),
        # 1-D vectors were compared element by element (+-1 or NaN per element)
        (np.ones(3), np.ones(3), r"a must be a stack of vectors or images \(n, \.\.\.\) with "
                                 r"at least 2 dimensions, got shape \(3,\); for two single "
                                 r"vectors pass a\[None\] and b\[None\]"),
    ],
)
def test_cosine_similarity_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        cosine_similarity(a, b)


@pytest.mark.parametrize(
    "encoder, kwargs, exc, match",
    [
        ("not callable", {}, TypeError, "encoder must be a callable"),
        (lambda X: X[:, :2].T, {}, ValueError, "encoder returned shape"),
        (lambda X: np.full((len(X), 2), np.nan), {}, ValueError, "non-finite codes"),
        (lambda X: X[:, :3], {"dictionary": np.ones((2, 16))}, ValueError,
         "dictionary has 2 atoms but the encoder returned 3"),
        (lambda X: X[:, :3], {"dictionary": np.ones((3, 15))}, ValueError,
         r"shape=\(4, 4\) has 16 pixels"),
        (lambda X: X[:, :3], {"noise": "pink"}, ValueError, "noise must be one of"),
        (lambda X: X[:, :3], {"n_stimuli": 1}, ValueError, "n_stimuli must be >= 2"),
        (lambda X: X[:, :3], {"method": "svd"}, ValueError, "method must be one of"),
        (lambda X: X[:, :3], {"contrast": 0}, ValueError, "contrast must be a positive"),
        # silently ignored before
        (lambda X: X[:, :3], {"noise": "sparse", "distribution": "binary"}, ValueError,
         "distribution='binary' applies to white noise only; it would be ignored with "
         "noise='sparse'"),
        (lambda X: X[:, :3], {"n_pixels": 2}, ValueError,
         "n_pixels=2 applies to sparse noise only; it would be ignored with noise='white'"),
        (lambda X: X[:, :3], {"distribution": "uniform"}, ValueError,
         "distribution must be one of"),
        # an all-zero atom has no direction: its similarity was NaN without a word
        (lambda X: X[:, :3], {"dictionary": np.vstack([np.ones(16), np.zeros(16), np.ones(16)])},
         ValueError, r"dictionary has 1 atom\(s\) \(rows\) with zero norm, e.g. row 1"),
        (lambda X: X[:, :3], {"progress": "no"}, TypeError,
         r"progress must be True, False or None \(.*\), got 'no'"),
        # responses of 1e300 to stimuli of 1e-10: an RF of ~1e310 per unit of stimulus
        (lambda X: 1e300 * np.sign(X[:, :3]), {"contrast": 1e-10}, ValueError,
         "the mapped receptive fields overflow float64"),
    ],
)
def test_bad_input(encoder, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        map_receptive_fields(encoder, 4, **{"n_stimuli": 10, **kwargs})


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_cosine_similarity_of_rows_at_any_scale(factor):
    """Norms of rows of 1e200 overflowed (0 or NaN); the cosine does not change with
    the scale of either row. Reference: the cosines of the unscaled rows."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 6))
    expected = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(cosine_similarity(a * factor, b), expected, rtol=1e-12)
    np.testing.assert_allclose(cosine_similarity(a * factor, b / factor), expected, rtol=1e-12)
    np.testing.assert_allclose(cosine_similarity(a[:1, None], b[:1, None]), expected[:1],
                               rtol=1e-12)


@pytest.mark.parametrize("contrast, gain", [(1e200, 1.0), (1e-200, 1.0), (1.0, 1e300)])
def test_linear_filters_are_recovered_at_any_contrast_or_response_scale(filters, contrast,
                                                                       gain):
    """contrast=1e200 gave NaN receptive fields (squares of the stimuli overflowed); a
    linear encoder's RF is its filter at every contrast (response per unit stimulus),
    and the response s.d. scales with the contrast (analytic: the filters' norms)."""
    W = gain * filters
    ds = map_receptive_fields(_linear(W), 6, n_stimuli=1500, method="regression", seed=1,
                              contrast=contrast, dictionary=filters)
    np.testing.assert_allclose(ds.rf.values.reshape(5, -1) / gain, filters, rtol=1e-8,
                               atol=1e-8)
    np.testing.assert_allclose(ds.similarity, 1.0, rtol=1e-10)
    sd = ds.response_sd.values / (gain * contrast)
    np.testing.assert_allclose(sd, np.linalg.norm(filters, axis=1), rtol=0.05)
    assert np.all(np.isfinite(ds.mean_response))


def test_a_unit_that_never_responds_has_nan_similarity(filters):
    """A dead unit's mapped RF is exactly zero: its cosine with its atom is undefined
    (NaN, as documented), the other units are unaffected."""
    W = filters.copy()
    W[1] = 0.0
    ds = map_receptive_fields(_linear(W), 6, n_stimuli=1500, method="regression", seed=1,
                              dictionary=filters)
    assert np.all(ds.rf.values[1] == 0) and float(ds.fraction_active[1]) == 0
    assert np.isnan(ds.similarity.values[1])
    np.testing.assert_allclose(np.delete(ds.similarity.values, 1), 1.0, rtol=1e-10)


def test_a_dictionary_dataarray_is_read_by_dim_name(filters):
    """dictionary=da.transpose("atom", "x", "y") was read by position, so each unit's
    similarity was with its atom transposed; by dim name it is the exact 1 of the
    recovered linear filters, whatever the order of the dims."""
    import xarray as xr

    da = xr.DataArray(filters.reshape(5, 6, 6), dims=("atom", "y", "x"))
    for view in (da.transpose("atom", "x", "y"), da.transpose("y", "x", "atom")):
        ds = map_receptive_fields(_linear(filters), 6, n_stimuli=1500, method="regression",
                                  seed=1, dictionary=view)
        np.testing.assert_allclose(ds.similarity.values, 1.0, rtol=1e-10)


def test_mapping_response_statistics_of_a_linear_unit():
    from v1model.analysis import map_receptive_fields
    W = np.random.default_rng(0).standard_normal((3, 36))
    ds = map_receptive_fields(lambda X: X @ W.T + 2.0, 6, n_stimuli=40000, contrast=0.7,
                              seed=1, batch_size=4000)
    # Gaussian white noise of s.d. c: responses have mean 2 and s.d. c ||w||
    np.testing.assert_allclose(ds.mean_response, 2.0, atol=0.05 * np.linalg.norm(W, axis=1).max())
    np.testing.assert_allclose(ds.response_sd, 0.7 * np.linalg.norm(W, axis=1), rtol=0.02)


def test_the_map_records_its_seed():
    # the seed was not in attrs: a map could not be reproduced from its file
    W = np.random.default_rng(0).standard_normal((2, 36))
    ds = map_receptive_fields(_linear(W), 6, n_stimuli=200, seed=7)
    assert ds.attrs["seed"] == 7
    again = map_receptive_fields(_linear(W), 6, n_stimuli=200, seed=ds.attrs["seed"])
    np.testing.assert_array_equal(again["rf"].values, ds["rf"].values)


@pytest.mark.skipif(not hasattr(Exception, "add_note"), reason="exception notes: Python 3.11")
def test_an_encoder_error_says_what_the_encoder_was_given():
    """A stimulus shape that does not fit the encoder failed with the encoder's own
    matmul error, naming neither the stimuli nor the shape; the error is kept, with a
    note giving X's shape."""
    W = np.random.default_rng(0).standard_normal((3, 64))  # an 8x8 encoder
    with pytest.raises(ValueError, match="matmul") as info:
        map_receptive_fields(lambda X: X @ W.T, 7, n_stimuli=10, batch_size=10, seed=0)
    note = " ".join(getattr(info.value, "__notes__", []))
    assert "X of shape (10, 49)" in note and "49 features per sample" in note


@pytest.mark.parametrize("n_stimuli, noise, match", [
    (36, "white", r"n_stimuli=36 <= 36 pixels leaves the stimulus covariance singular"),
    (60, "sparse", r"covariance of 60 stimuli has rank \d+ < 36 pixels"),
])
def test_an_underdetermined_regression_is_warned_of(filters, n_stimuli, noise, match):
    """Without a ridge, too few stimuli (or sparse noise that never lit some pixels)
    leave many exact fits: the minimum-norm one is not the filter (it came back
    silently)."""
    with pytest.warns(UserWarning, match=match):
        ds = map_receptive_fields(_linear(filters), 6, noise=noise, n_stimuli=n_stimuli,
                                  method="regression", seed=1, progress=False)
    error = np.linalg.norm(ds.rf.values.reshape(5, -1) - filters) / np.linalg.norm(filters)
    assert error > 0.05  # the warning is about a real miss
    # a ridge makes the problem well posed: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        map_receptive_fields(_linear(filters), 6, noise=noise, n_stimuli=n_stimuli,
                             method="regression", ridge=0.1, seed=1, progress=False)


def test_a_well_determined_regression_is_not_warned_of(filters):
    """Ridge 0 with more white-noise stimuli than pixels: the covariance has full rank, so
    no underdetermination warning, and the filters come back exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ds = map_receptive_fields(_linear(filters), 6, n_stimuli=200, method="regression",
                                  seed=3, progress=False)
    np.testing.assert_allclose(ds.rf.values.reshape(5, -1), filters, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("method", ["regression", "sta"])
def test_ridge_regression_and_sta_match_their_formulas_on_the_stimuli_shown(filters, method):
    """Against the documented estimators recomputed with numpy from the stimuli the
    encoder was given: regression solves (C_xx + ridge sigma^2 I) rf = C_xr, the STA is
    C_xr / sigma^2 (sigma^2 the mean pixel variance, covariances over all stimuli)."""
    shown = []

    def encoder(X):
        shown.append(X.copy())
        return X @ filters.T + 1.0

    ridge = 0.5 if method == "regression" else 0.0
    ds = map_receptive_fields(encoder, 6, n_stimuli=300, method=method, ridge=ridge,
                              seed=4, batch_size=128, progress=False)
    X = np.concatenate(shown)
    R = X @ filters.T + 1.0
    Xc = X - X.mean(axis=0)
    C_xx = Xc.T @ Xc / len(X)
    C_xr = Xc.T @ (R - R.mean(axis=0)) / len(X)
    var = np.mean(np.diag(C_xx))
    expected = (np.linalg.solve(C_xx + ridge * var * np.eye(36), C_xr)
                if method == "regression" else C_xr / var)
    np.testing.assert_allclose(ds.rf.values.reshape(5, -1), expected.T, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("method", ["sta", "regression"])
def test_a_unit_with_a_constant_response_has_a_zero_rf_and_no_similarity(method):
    """A unit that gives the same value to every stimulus (a tonic rate, a spiking unit
    capped at one spike a step) has no receptive field: the cross-covariance is exactly
    0, but it was computed as the difference of two differently rounded sums, which
    left an RF of ~3e-16 and a cosine of 0.11 with the unit's atom instead of NaN."""
    W = np.random.default_rng(0).standard_normal((2, 64))
    ds = map_receptive_fields(lambda X: np.column_stack([X @ W[0], np.full(len(X), 3.0)]),
                              8, n_stimuli=3000, method=method, dictionary=W, seed=0,
                              progress=False)
    assert np.all(ds.rf.values[1] == 0.0)
    assert np.isnan(float(ds.similarity[1]))
    assert np.all(np.isnan(ds.similarity_trace.values[:, 1]))
    assert float(ds.response_sd[1]) == 0.0
    assert float(ds.similarity[0]) > 0.95  # the other unit is mapped as before


def test_every_variable_and_coordinate_of_a_map_has_units(tmp_path):
    """The README promises units on every variable; the map's y, x and
    n_stimuli_used coordinates had none, so a reloaded map's axes were unlabelled."""
    from v1model.io import load_dataset, save_dataset

    W = np.random.default_rng(0).standard_normal((2, 16))
    ds = map_receptive_fields(lambda X: X @ W.T, 4, n_stimuli=400, dictionary=W, seed=0,
                              progress=False)
    back = load_dataset(save_dataset(ds, tmp_path / "map.nc"))
    for name in list(back.data_vars) + list(back.coords):
        if name != "atom":  # an index
            assert "units" in back[name].attrs, name
    assert back["x"].attrs["units"] == back["y"].attrs["units"] == "pixel"


@pytest.mark.parametrize("noise, extra", [("sparse", {}), ("sparse", {"n_pixels": 3}),
                                          ("white", {}), ("white", {"distribution": "binary"})])
def test_the_batch_size_does_not_change_the_stimuli(noise, extra):
    """``batch_size`` (stimuli per encoder call) splits the work only: sparse noise
    draws a call's pixels, then its signs, so each batch size showed other stimuli
    (the STA of a rectified unit moved by 0.09 between batch_size=300 and 1000 at
    seed 3). The stimuli the encoder sees, and so the maps, are those of one call."""
    D = np.random.default_rng(0).standard_normal((6, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    shown = {}

    def encoder(S, key):
        shown.setdefault(key, []).append(S.copy())
        return np.maximum(S @ D.T - 0.3, 0.0)

    maps = {bs: map_receptive_fields(lambda S, bs=bs: encoder(S, bs), (4, 4), noise=noise,
                                     n_stimuli=2501, batch_size=bs, seed=3, **extra)
            for bs in (2501, 1, 300, 1000, 1700)}
    for bs, ds in maps.items():
        np.testing.assert_array_equal(np.concatenate(shown[bs]), np.concatenate(shown[2501]),
                                      err_msg=f"batch_size={bs}")
        for name in ("rf", "mean_response", "response_sd", "fraction_active"):
            np.testing.assert_allclose(ds[name].values, maps[2501][name].values, rtol=1e-12,
                                       atol=1e-14, err_msg=f"{name}, batch_size={bs}")


def test_a_labelled_dictionary_labels_the_mapped_units(filters):
    """dictionary=D.isel(atom=[1, 3]): the units are atoms 1 and 3, as in
    fit_gabor(dictionary). Numbered 0 and 1, the map's atom 1 (atom 3's unit) met
    the fit's atom 1 when xarray aligned the two. Each unit's similarity is to its own
    atom (a linear unit: above 0.97 at 2,000 stimuli), at the label of that atom."""
    import xarray as xr

    from v1model.analysis import fit_gabor

    D = xr.DataArray(filters[:4].reshape(4, 6, 6), dims=("atom", "y", "x"),
                     coords={"atom": [0, 1, 2, 3]})
    sub = D.isel(atom=[1, 3])
    W = sub.values.reshape(2, -1)
    ds = map_receptive_fields(_linear(W), 6, n_stimuli=2000, dictionary=sub.transpose(
        "y", "atom", "x"), seed=0)
    assert ds.atom.values.tolist() == [1, 3]
    fit = fit_gabor(sub)
    aligned = ds.similarity.where(np.isfinite(fit.r2))
    assert aligned.sizes["atom"] == 2 and np.all(aligned.values > 0.97)
    np.testing.assert_allclose(cosine_similarity(ds.rf.sel(atom=[3]).values,
                                                 D.sel(atom=[3]).values),
                               ds.similarity.sel(atom=[3]), rtol=1e-12)
    # without a dictionary, the encoder's unit indices
    plain = map_receptive_fields(_linear(W), 6, n_stimuli=200, seed=0)
    assert plain.atom.values.tolist() == [0, 1]
