"""The single entry point: same contract for every method."""

import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.inference import GREEDY_METHODS, L1_METHODS, METHODS, encode


def params(method):
    return {"lam": 0.2} if method in L1_METHODS else {"n_nonzero": 5}


@pytest.mark.parametrize("method", METHODS)
def test_same_shapes_dtype_and_history(method, natural_patches, patch_dictionary):
    X, D = natural_patches[:20], patch_dictionary
    A = encode(X, D, method, **params(method))
    assert A.shape == (20, 128) and A.dtype == np.float32
    A64, hist = encode(X, D, method, dtype=np.float64, return_history=True, **params(method))
    assert A64.dtype == np.float64
    assert isinstance(hist, xr.Dataset) and "iteration" in hist.dims
    # the dtype is recorded by name, whichever form it was given in (a type here)
    assert hist.attrs["dtype"] == "float64"
    for name in ("objective", "data_term", "penalty", "n_active"):
        assert hist[name].dims == ("iteration",)
    # the recorded data term at the end is that of the returned codes
    final = 0.5 * np.sum((X - A64 @ D) ** 2)
    np.testing.assert_allclose(hist["data_term"].values[-1], final, rtol=1e-6)
    # one sample as a 1-D vector
    assert encode(X[0], D, method, **params(method)).shape == (1, 128)


@pytest.mark.parametrize("method", METHODS)
def test_positive_codes(method, natural_patches, patch_dictionary, lasso_reference,
                        relative_gap):
    X, D = natural_patches[:20], patch_dictionary
    A = encode(X, D, method, positive=True, **params(method))
    assert A.min() >= 0 and A.max() > 0
    if method in L1_METHODS:
        # the non-negative LASSO optimum: scikit-learn's coordinate descent with
        # positive=True; default tolerances (measured gaps: lca 2e-5, others <= 2e-6)
        gap = relative_gap(X, D, A, lasso_reference(X, D, 0.2, positive=True), 0.2)
        assert gap <= (1e-3 if method == "lca" else 1e-4)
    else:
        # orthonormal atoms (analytic): the k largest positive entries of X Q^T,
        # zero elsewhere (negative correlations are never picked)
        rng = np.random.default_rng(0)
        Q, _ = np.linalg.qr(rng.standard_normal((24, 24)))
        Xq = rng.standard_normal((15, 24))
        B = np.maximum(Xq @ Q.T, 0)
        kth = np.sort(B, axis=1)[:, [-5]]
        expected = np.where((B >= kth) & (B > 0), B, 0)
        np.testing.assert_allclose(encode(Xq, Q, method, n_nonzero=5, positive=True,
                                          dtype=np.float64), expected, atol=1e-6)


def test_l1_methods_agree(natural_patches, patch_dictionary, lasso_reference, relative_gap):
    # every L1 method reaches the LASSO optimum of scikit-learn's coordinate descent
    X, D = natural_patches[:60], patch_dictionary
    ref = lasso_reference(X, D, 0.2)
    for method in L1_METHODS:
        A = encode(X, D, method, lam=0.2, dtype=np.float64)
        gap = relative_gap(X, D, A, ref, 0.2)
        assert gap <= (1e-3 if method == "lca" else 1e-4), method


def test_tol_and_method_params_reach_the_solver(natural_patches, patch_dictionary):
    X, D = natural_patches[:20], patch_dictionary
    A = encode(X, D, "omp", tol=1e9)  # every residual is already below tol
    assert np.count_nonzero(A) == 0
    A_hard = encode(X, D, "lca", lam=0.2, threshold="hard")
    A_soft = encode(X, D, "lca", lam=0.2)
    assert not np.allclose(A_hard, A_soft)


def test_errors():
    D = np.eye(4)
    X = np.ones((2, 4))
    with pytest.raises(ValueError, match="method must be one of 'lca', 'fista'.*'iht'; got 'lars'"):
        encode(X, D, "lars", lam=0.1)
    with pytest.raises(ValueError, match="needs lam"):
        encode(X, D, "fista")
    with pytest.raises(ValueError, match="n_nonzero is for the greedy methods"):
        encode(X, D, "fista", lam=0.1, n_nonzero=2)
    with pytest.raises(ValueError, match="does not use lam"):
        encode(X, D, "omp", lam=0.1, n_nonzero=2)
    with pytest.raises(ValueError, match="n_nonzero=5 exceeds"):
        encode(X, D, "omp", n_nonzero=5)
    with pytest.raises(ValueError, match="positive=True needs threshold='nonneg'"):
        encode(X, D, "lca", lam=0.1, positive=True, threshold="hard")
    with pytest.raises(TypeError, match="positive must be a bool"):
        encode(X, D, "fista", lam=0.1, positive="yes")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        encode(X, D, "fista", lam=0.1, dtype=np.int32)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        encode(np.array([[1.0, np.nan, 0, 0]]), D, "mp", n_nonzero=1)
    with pytest.raises(TypeError, match=r"method='lca' takes no parameter 'n_stepz' \(did you "
                                        r"mean 'n_steps'\?\); its parameters are atol, dt, "):
        encode(X, D, "lca", lam=0.1, n_stepz=3)
    # each solver names its iteration limit after what it iterates
    for method, limit in [("lca", "max_steps"), ("cd", "max_sweeps"),
                          ("active_set", "max_rounds")]:
        with pytest.raises(TypeError, match=rf"method='{method}' takes no parameter 'max_iter' "
                                            rf"\(its iteration limit is '{limit}'\)"):
            encode(X, D, method, lam=0.1, max_iter=10)
    with pytest.raises(TypeError, match=r"method='omp' takes no parameter 'max_iter'; its "
                                        r"parameters are tol$"):
        encode(X, D, "omp", n_nonzero=1, max_iter=10)
    assert set(GREEDY_METHODS) | set(L1_METHODS) == set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_flags_must_be_bools(method):
    # "no" is truthy: a solver that took it as a flag would return non-negative codes
    from v1model import inference

    solver = {"lca": inference.lca, "fista": inference.fista, "ista": inference.ista,
              "active_set": inference.lasso_active_set, "cd": inference.lasso_cd,
              "mp": inference.matching_pursuit, "omp": inference.orthogonal_mp,
              "iht": inference.iht}[method]
    X, D = np.ones((2, 4)), np.eye(4)
    args = (0.1,) if method in L1_METHODS else (1,)
    flag = "return_history" if method == "lca" else "positive"
    with pytest.raises(TypeError, match=f"{flag} must be a bool, got 'no'"):
        solver(X, D, *args, **{flag: "no"})


def test_complex_data_refused():
    with pytest.raises(TypeError, match="X must be real, got complex"):
        encode(np.ones((2, 4)) + 1j, np.eye(4), "fista", lam=0.1)


@pytest.mark.parametrize("method", ["fista", "cd", "active_set", "lca", "omp"])
def test_scales_beyond_the_dtype_are_refused_and_float64_is_exact(method, natural_patches,
                                                                 patch_dictionary):
    # codes are equivariant: encoding (c X, c lam) gives c times the codes of (X, lam).
    # At c = 1e20 float32 products overflow (they used to give inf, NaN, zeros or a
    # segfault in cd); the refusal names the way out, and float64 then holds the identity.
    X, D = natural_patches[:20], patch_dictionary
    c = 1e20
    kw = {"lam": 0.2} if method in L1_METHODS else {"n_nonzero": 4}
    big = {**kw, "lam": c * kw["lam"]} if "lam" in kw else kw
    with pytest.raises(ValueError, match="beyond what float32 holds.*use dtype=float64"):
        encode(c * X, D, method, dtype=np.float32, **big)
    ref = encode(X, D, method, dtype=np.float64, **kw)
    scaled = encode(c * X, D, method, dtype=np.float64, **big)
    np.testing.assert_allclose(scaled / c, ref, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="beyond what float64 holds"):
        encode(X, 1e200 * D, method, dtype=np.float64, **kw)


def test_tiny_atoms_refused_where_their_gram_underflows(natural_patches, patch_dictionary):
    X, D = natural_patches[:5], patch_dictionary
    with pytest.raises(ValueError, match="D: atom .* too small for float32"):
        encode(X, 1e-25 * D, "cd", lam=0.2, dtype=np.float32)
    # the same dictionary is fine in float64: codes(X, c D, lam) = codes(X, D, lam / c) / c
    c = 1e-25
    np.testing.assert_allclose(
        c * encode(X, c * D, "cd", lam=0.2, dtype=np.float64, tol=1e-8),
        encode(X, D, "cd", lam=0.2 / c, dtype=np.float64, tol=1e-8), rtol=1e-6, atol=1e-12)


def test_ista_route_runs_ista(natural_patches, patch_dictionary):
    # "ista" must not quietly run the accelerated method: same optimum, different solver
    X, D = natural_patches[:10], patch_dictionary
    _, hist = encode(X, D, "ista", lam=0.2, return_history=True, dtype=np.float64)
    assert hist.attrs["solver"] == "ista"
    obj = hist["objective"].values
    assert np.all(np.diff(obj) <= 1e-9 * obj[0])  # ISTA with a valid step never goes up


@pytest.mark.filterwarnings("error:lasso_active_set stopped")
@pytest.mark.parametrize("scale", [1e-14, 1e-100, 1e100])
@pytest.mark.parametrize("method", METHODS)
def test_codes_are_equivariant_at_any_scale_in_float64(method, scale):
    # codes(s X, s lam) = s codes(X, lam): absolute floors in the stopping tests used to
    # stop fista, ista, lca and iht early on small data (17-68% off at 1e-14, silently)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((10, 16))
    kw = {"lam": 0.5 if method == "iht" else 0.1} if method in L1_METHODS + ("iht",) \
        else {"n_nonzero": 4}
    big = {k: (v * scale if k == "lam" else v) for k, v in kw.items()}
    ref = encode(X, D, method, dtype=np.float64, **kw)
    got = encode(scale * X, D, method, dtype=np.float64, **big) / scale
    # cd's visiting order depends on rounding of the scaled correlations: same optimum to tol
    np.testing.assert_allclose(got, ref, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e-25), (np.float64, 1e-170)])
def test_data_too_small_for_the_dtype_is_refused(method, dtype, scale):
    # products of such values underflow: fista in float32 at 1e-25 gave codes 20x off
    # with 126 of 128 atoms active, omp in float64 at 1e-170 all-zero codes, silently
    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((10, 16))
    kw = {"lam": 0.1 * scale} if method in L1_METHODS else {"n_nonzero": 4}
    name = np.dtype(dtype).name
    with pytest.raises(ValueError, match=rf"X and D: values of at most \|X\| = .* are too small "
                                         rf"for {name} .*rescale X, e\.g\. X / X\.std\(\), or D"):
        encode(scale * X, D, method, dtype=dtype, **kw)
    # zeros are not small data: they code to zeros
    assert not encode(np.zeros_like(X), D, method, dtype=dtype, **kw).any()


@pytest.mark.parametrize("method", METHODS)
def test_dictionary_given_transposed_is_named(method):
    """A dictionary passed as scikit-learn's design matrix, one atom per column
    (n_features, n_atoms), as orthogonal_mp and Lasso take it: the error said
    "expected X of shape (n_samples, 12)", pointing at X; a square one passed
    every check and gave other codes without a word. The right orientation
    gives scikit-learn's codes."""
    from sklearn.linear_model import orthogonal_mp

    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 8))
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    with pytest.raises(ValueError, match=r"D looks transposed.*pass D\.T, of shape \(12, 8\)"):
        encode(X, D.T, method, **params(method))
    square = rng.standard_normal((8, 8))
    square /= np.linalg.norm(square, axis=1, keepdims=True)
    kwargs = {"lam": 0.2} if method in L1_METHODS else {"n_nonzero": 3}
    with pytest.warns(UserWarning, match=r"D \(shape \(8, 8\)\) has unit-norm columns.*"
                                         r"looks transposed"):
        encode(X, square.T, method, **kwargs)
    # atoms as rows, or an orthonormal basis (unit rows and columns): no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        A = encode(X, square, method, dtype=np.float64, **kwargs)
        encode(X, np.linalg.qr(square)[0], method, **kwargs)
    if method == "omp":
        ref = orthogonal_mp(square.T, X.T, n_nonzero_coefs=3).T
        np.testing.assert_allclose(A, ref, atol=1e-10)


def test_objective_names_a_transposed_dictionary():
    from v1model.inference import objective

    rng = np.random.default_rng(1)
    X, D = rng.standard_normal((4, 8)), rng.standard_normal((12, 8))
    with pytest.raises(ValueError, match=r"D looks transposed"):
        objective(X, D.T, np.zeros((4, 12)), 0.1)


def test_history_objective_is_in_squared_units_of_the_data():
    """The objective's terms are sums of squared residuals and lam * |a| (lam and a in
    units of X): labelled as such, as the SAE and LISTA histories are (they said "1")."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 8))
    for method, params in (("fista", dict(lam=0.1)), ("omp", dict(n_nonzero=3))):
        _, history = encode(X, D, method=method, return_history=True, **params)
        for name in ("objective", "data_term", "penalty"):
            assert history[name].attrs["units"] == "(units of X)^2", (method, name)
        assert history["n_active"].attrs["units"] == "1"


# the problem has slow modes that the ivp path's default span does not settle (warned of:
# test_lca.py); not the point here
@pytest.mark.filterwarnings(
    "ignore:lca\\(integrator='ivp'\\) stopped at the end of its default span")
def test_lca_tol_on_the_ivp_path_is_warned_of():
    """encode passes tol on to lca, whose ivp path stops by rtol/atol at the last t_eval:
    tol=1e-4 changed nothing, in silence."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 8))
    with pytest.warns(UserWarning, match=r"lca\(integrator='ivp'\) ignores tol=0\.0001 "
                                         r"\(rtol and atol") as caught:
        A = encode(X, D, "lca", lam=0.2, tol=1e-4, integrator="ivp")
    assert caught[0].filename == __file__
    np.testing.assert_array_equal(A, encode(X, D, "lca", lam=0.2, integrator="ivp"))
    with warnings.catch_warnings():  # the Euler path uses it
        warnings.simplefilter("error")
        encode(X, D, "lca", lam=0.2, tol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_dataarrays_are_read_by_dim_name(method):
    # a DataArray X (feature, sample) and D (feature, atom), both square, were read by
    # position: codes of the transposed problem, unsaid
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((16, 16))
    kwargs = {"n_nonzero": 3} if method in GREEDY_METHODS else {"lam": 0.1}
    Xd = xr.DataArray(X, dims=("sample", "feature")).transpose("feature", "sample")
    Dd = xr.DataArray(D, dims=("atom", "feature")).transpose("feature", "atom")
    np.testing.assert_array_equal(encode(Xd, Dd, method, dtype=np.float64, **kwargs),
                                  encode(X, D, method, dtype=np.float64, **kwargs))


def test_a_dataarray_naming_one_of_its_dims_elsewhere_is_read_by_name():
    # X over ("pixel", "sample") was refused ("got ['sample'] at other positions") while
    # ("sample", "pixel") was read by position: the one name of its own takes the place
    # of the dim it does not name
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    values = rng.standard_normal((16, 16))  # square: read by position, it would run too
    A = encode(values.T, D, "fista", lam=0.1, dtype=np.float64)
    X = xr.DataArray(values, dims=("pixel", "sample"))
    np.testing.assert_array_equal(encode(X, D, "fista", lam=0.1, dtype=np.float64), A)
    np.testing.assert_array_equal(
        encode(values.T, xr.DataArray(D.T, dims=("pixel", "atom")), "fista", lam=0.1,
               dtype=np.float64), A)
    # dims of the caller's own names, or the right one in its place: read by position
    np.testing.assert_array_equal(
        encode(xr.DataArray(values.T, dims=("sample", "pixel")), D, "fista", lam=0.1,
               dtype=np.float64), A)
    np.testing.assert_array_equal(encode(xr.DataArray(values.T), D, "fista", lam=0.1,
                                         dtype=np.float64), A)


def test_a_dataarray_naming_its_dims_elsewhere_beside_two_of_its_own_is_refused():
    # atoms as images (atom, y, x) given over ("x", "row", "col"): which of row and col
    # is y cannot be told
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 4, 4))
    D /= np.linalg.norm(D.reshape(16, -1), axis=1)[:, None, None]
    X = rng.standard_normal((5, 16))
    with pytest.raises(ValueError, match=r"^D is a DataArray with dims \('x', 'row', 'col'\): "
                                         r"expected \('atom', 'y', 'x'\) in any order \(read "
                                         r"by name\), got \['x'\] at other positions"):
        encode(X, xr.DataArray(D, dims=("x", "row", "col")), "fista", lam=0.1)


def test_lca_positive_that_contradicts_the_threshold_is_refused_as_by_the_network():
    # positive=False with threshold="nonneg" ran non-negative without a word (False was the
    # default, so an explicit one could not be told apart), while the network refused it
    from v1model import SparseCodingNetwork
    from v1model.inference import lca

    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, 8))
    net = SparseCodingNetwork(D, lam=0.1)
    for threshold, positive in (("nonneg", False), ("soft", True), ("hard", True)):
        with pytest.raises(ValueError, match=f"threshold='{threshold}' contradicts "
                                             f"positive={positive}") as ours:
            encode(X, D, "lca", lam=0.1, threshold=threshold, positive=positive, n_steps=20)
        with pytest.raises(ValueError) as theirs:
            net.encode(X, threshold=threshold, positive=positive, n_steps=20)
        assert str(ours.value) == str(theirs.value)
    # the threshold alone, positive alone, or both agreeing run as before
    for threshold, positive, runs in (("nonneg", None, "nonneg"), ("soft", None, "soft"),
                                      ("hard", False, "hard"), ("nonneg", True, "nonneg"),
                                      (None, True, "nonneg"), (None, False, "soft"),
                                      (None, None, "soft")):
        kw = {} if threshold is None else {"threshold": threshold}
        np.testing.assert_array_equal(
            encode(X, D, "lca", lam=0.1, positive=positive, n_steps=20, **kw),
            lca(X, D, 0.1, threshold=runs, n_steps=20))
    # the other methods read None as signed codes
    np.testing.assert_array_equal(encode(X, D, "fista", lam=0.1, positive=None),
                                  encode(X, D, "fista", lam=0.1, positive=False))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("method", METHODS)
def test_each_method_runs_its_own_solver(method, natural_patches, patch_dictionary):
    """encode(method=m) gives exactly what m's own solver gives on the same problem: a
    misspelt branch of the dispatch ("active_sets") fell through to IHT, whose codes
    have the same shapes and dtype, and no other test saw it."""
    from v1model.inference import (fista, iht, lasso_active_set, lasso_cd, lca,
                                   matching_pursuit, orthogonal_mp)

    X, D = natural_patches[:8], patch_dictionary
    own = {
        "lca": lambda: lca(X, D, 0.2, threshold="soft"),
        "fista": lambda: fista(X, D, 0.2),
        "ista": lambda: fista(X, D, 0.2, accelerated=False, max_iter=20000),
        "active_set": lambda: lasso_active_set(X, D, 0.2),
        "cd": lambda: lasso_cd(X, D, 0.2),
        "mp": lambda: matching_pursuit(X, D, 5),
        "omp": lambda: orthogonal_mp(X, D, 5),
        "iht": lambda: iht(X, D, 5),
    }
    assert set(own) == set(METHODS)
    np.testing.assert_array_equal(encode(X, D, method, **params(method)), own[method]())


def test_lam_is_sklearns_alpha_in_sparse_encode_and_alpha_times_n_features_in_lasso():
    # the README's mapping: sparse_encode / SparseCoder take alpha = lam; Lasso and
    # LassoLars divide their data term by n_features (the rows of D.T), so alpha = lam / p
    from sklearn.decomposition import SparseCoder, sparse_encode
    from sklearn.linear_model import Lasso, LassoLars

    rng = np.random.default_rng(3)
    n_features, lam = 20, 0.3
    D = rng.standard_normal((40, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, n_features))
    for positive in (False, True):
        lars = sparse_encode(X, D, algorithm="lasso_lars", alpha=lam, positive=positive)
        coder = SparseCoder(D, transform_algorithm="lasso_lars", transform_alpha=lam,
                            positive_code=positive).transform(X)
        lasso = np.stack([Lasso(alpha=lam / n_features, fit_intercept=False, tol=1e-10,
                                max_iter=100000, positive=positive).fit(D.T, x).coef_
                          for x in X])
        lasso_lars = np.stack([LassoLars(alpha=lam / n_features, fit_intercept=False,
                                         positive=positive).fit(D.T, x).coef_ for x in X])
        for reference in (coder, lasso, lasso_lars):
            np.testing.assert_allclose(reference, lars, atol=1e-6)
        assert np.count_nonzero(lars) > 8  # a sparse code, neither empty nor dense
        A = encode(X, D, "active_set", lam=lam, tol=1e-8, positive=positive,
                   dtype=np.float64)
        np.testing.assert_allclose(A, lars, atol=1e-6)
        # alpha = lam in Lasso (the objective not divided by n_features) is another problem
        unscaled = np.stack([Lasso(alpha=lam, fit_intercept=False, positive=positive)
                             .fit(D.T, x).coef_ for x in X])
        assert np.abs(unscaled - A).max() > 0.1


def _labelled_problem():
    rng = np.random.default_rng(4)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = xr.DataArray(rng.standard_normal((5, 16)), dims=("sample", "feature"),
                     coords={"sample": [10, 11, 12, 13, 14],
                             "stimulus": ("sample", list("abcde"))},
                     attrs={"units": "a.u."})
    D = xr.DataArray(D, dims=("atom", "feature"), coords={"atom": np.arange(100, 124)})
    return X, D


@pytest.mark.parametrize("method", METHODS)
def test_a_dataarray_x_gets_labelled_codes_that_save_and_load(method, tmp_path):
    # a DataArray X got a bare array back: the codes of X.isel(sample=[...]) were rows
    # 0, 1, ... and a labelled dictionary's atom labels were lost
    X, D = _labelled_problem()
    kwargs = {"n_nonzero": 3} if method in GREEDY_METHODS else {"lam": 0.3}
    plain = encode(X.values, D.values, method, dtype=np.float64, **kwargs)
    assert type(plain) is np.ndarray  # plain in, plain out
    A = encode(X.T, D.T, method, dtype=np.float64, **kwargs)  # transposed: read by name
    assert isinstance(A, xr.DataArray) and A.dims == ("sample", "atom")
    np.testing.assert_array_equal(A.values, plain)
    np.testing.assert_array_equal(A["sample"], [10, 11, 12, 13, 14])
    np.testing.assert_array_equal(A["stimulus"], list("abcde"))
    np.testing.assert_array_equal(A["atom"], np.arange(100, 124))
    assert A.attrs["units"] == "a.u." and A.attrs["method"] == method
    assert A.attrs["dtype"] == "float64"
    for name, value in kwargs.items():
        assert A.attrs[name] == value
    path = tmp_path / "codes.nc"
    A.to_netcdf(path)
    xr.testing.assert_identical(xr.load_dataarray(path), A)
    # one labelled sample, with the history
    one, history = encode(X.isel(sample=2), D, method, return_history=True, **kwargs)
    assert isinstance(history, xr.Dataset)
    assert one.dims == ("sample", "atom") and one["sample"].values.tolist() == [12]
    if method == "lca":  # the codes' own dtype: the ivp path integrates in float64
        from v1model.inference import ConvergenceWarning

        with warnings.catch_warnings():  # its default span is short for these samples
            warnings.simplefilter("ignore", ConvergenceWarning)
            ivp = encode(X, D, method, integrator="ivp", t_eval=[0.0, 0.02], **kwargs)
        assert ivp.dtype == np.float64 and ivp.attrs["dtype"] == "float64"


@pytest.mark.parametrize("method, limit", [
    ("fista", {"max_iter": 3}), ("ista", {"max_iter": 3}), ("cd", {"max_sweeps": 1}),
    ("active_set", {"max_rounds": 1, "n_warm": 1}), ("lca", {"max_steps": 5}),
    ("lca", {"max_steps": 5, "dt": 1e-3}), ("lca", {"max_steps": 5, "threshold": "nonneg"})])
def test_a_solver_stopped_at_its_limit_says_how_far_its_samples_are(method, limit):
    # the warning said how many samples were short, not how far: the LASSO duality gap
    # of the rows it names bounds their objective's excess over scikit-learn's optimum
    import re

    from sklearn.linear_model import Lasso

    from v1model.inference import ConvergenceWarning, objective

    rng = np.random.default_rng(5)
    D = rng.standard_normal((40, 20))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((6, 20))
    lam, positive = 0.1, limit.get("threshold") == "nonneg"
    with pytest.warns(ConvergenceWarning) as caught:
        A = encode(X, D, method, lam=lam, dtype=np.float64, **limit)
    message = str(caught[0].message)
    gap = float(re.search(r"Their LASSO duality gap is up to (\S+) \|\|x\|\|\^2, a bound on "
                          r"their objective's excess over the optimum$", message).group(1))
    rows = [int(i) for i in re.search(r"rows? ([\d, ]+) of X", message).group(1).split(",")]
    optimum = np.stack([Lasso(alpha=lam / 20, fit_intercept=False, positive=positive,
                              tol=1e-12, max_iter=100000).fit(D.T, x).coef_ for x in X])
    excess = (objective(X, D, A, lam) - objective(X, D, optimum, lam)) / np.sum(X**2, axis=1)
    # a bound (the figure has 2 digits), and not a loose one: 1.3-2x on these problems
    assert 0.95 * excess[rows].max() <= gap <= 3 * excess[rows].max()
    assert excess[rows].max() > 0.01  # stopped far from the optimum, as meant
