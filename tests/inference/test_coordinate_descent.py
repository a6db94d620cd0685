"""The compiled coordinate-descent LASSO solver against scikit-learn's optimum,
analytic solutions and its own stopping rule."""

import numpy as np
import pytest

from v1model.inference import ConvergenceWarning, encode, kkt_violation, lasso_cd

LAM = 0.2  # about 10% of the 128 atoms active on the 8x8 patches


def test_default_reaches_sklearn_optimum(natural_patches, patch_dictionary, lasso_reference,
                                         relative_gap):
    X, D = natural_patches, patch_dictionary
    A_ref = lasso_reference(X, D, LAM)
    A = lasso_cd(X, D, LAM)
    assert A.dtype == np.float32 and A.shape == (300, 128)
    # the default tolerance is meant to sit well inside the 1e-4 target
    assert relative_gap(X, D, A, A_ref, LAM) <= 2e-5
    assert 0.03 < np.count_nonzero(A_ref) / A_ref.size < 0.3


def test_tight_tolerance_is_the_optimum(natural_patches, patch_dictionary, lasso_reference,
                                        relative_gap):
    X, D = natural_patches, patch_dictionary
    A_ref = lasso_reference(X, D, LAM)
    A = lasso_cd(X, D, LAM, tol=1e-8, dtype=np.float64)
    assert abs(relative_gap(X, D, A, A_ref, LAM)) <= 1e-8
    C = X @ D.T - A @ (D @ D.T)
    assert kkt_violation(A, C, LAM).max() <= 1e-6 * LAM
    assert np.mean((A != 0) == (A_ref != 0)) > 0.999


def test_positive_matches_sklearn(natural_patches, patch_dictionary, lasso_reference,
                                  relative_gap):
    X, D = natural_patches[:150], patch_dictionary
    A_ref = lasso_reference(X, D, LAM, positive=True)
    A = lasso_cd(X, D, LAM, positive=True)
    assert A.min() >= 0
    assert relative_gap(X, D, A, A_ref, LAM) <= 2e-5
    # at a tight tolerance the non-negative KKT conditions hold too
    A = lasso_cd(X, D, LAM, positive=True, tol=1e-8, dtype=np.float64)
    C = X @ D.T - A @ (D @ D.T)
    assert kkt_violation(A, C, LAM, positive=True).max() <= 1e-6 * LAM


def test_float32_and_float64_agree(natural_patches, patch_dictionary):
    X, D = natural_patches[:100], patch_dictionary
    A32 = lasso_cd(X, D, LAM, tol=1e-4)  # near float32's resolution of the correlations
    A64 = lasso_cd(X, D, LAM, tol=1e-4, dtype=np.float64)
    assert A32.dtype == np.float32 and A64.dtype == np.float64
    np.testing.assert_allclose(A32, A64, atol=1e-3 * np.abs(A64).max())


def test_orthonormal_dictionary_gives_soft_threshold():
    # analytic solution: with D orthonormal the LASSO code is soft(D x, lam): one sweep
    # finds it, one active and one full sweep confirm it
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    X = rng.standard_normal((20, 16))
    B = X @ Q.T
    expected = np.sign(B) * np.maximum(np.abs(B) - 0.5, 0)
    A, n_sweeps = lasso_cd(X, Q, 0.5, dtype=np.float64, return_n_iter=True)
    np.testing.assert_allclose(A, expected, atol=1e-12)
    assert n_sweeps == 3
    # lam = 0 is least squares: the orthonormal analysis coefficients
    np.testing.assert_allclose(lasso_cd(X, Q, 0.0, dtype=np.float64), B, atol=1e-12)


def test_scaled_atoms_use_their_norms():
    # atom j scaled by s_j: the code is soft(b_j, lam) / s_j^2 for orthogonal atoms
    s = np.array([0.5, 1.0, 2.0, 4.0])
    D = np.diag(s)
    X = np.array([[3.0, -2.0, 1.0, 8.0]])
    b = X @ D.T
    expected = np.sign(b) * np.maximum(np.abs(b) - 1.0, 0) / s**2
    np.testing.assert_allclose(lasso_cd(X, D, 1.0, dtype=np.float64), expected, atol=1e-12)


def test_large_lam_and_zero_signals_give_zero_codes(patch_dictionary):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 64))
    lam_max = np.abs(X @ patch_dictionary.T).max()
    assert not lasso_cd(X, patch_dictionary, lam_max * 1.001).any()
    assert not lasso_cd(np.zeros((3, 64)), patch_dictionary, 0.1).any()


def test_duplicate_atoms(natural_patches, patch_dictionary, lasso_reference, relative_gap):
    # a singular Gram matrix: coordinate descent needs no factorisation
    D = np.vstack([patch_dictionary, patch_dictionary[:10]])
    X = natural_patches[:60]
    A_ref = lasso_reference(X, D, LAM)
    assert relative_gap(X, D, lasso_cd(X, D, LAM), A_ref, LAM) <= 2e-5


def test_warm_start_at_optimum_stops_at_once(natural_patches, patch_dictionary):
    X, D = natural_patches[:80], patch_dictionary
    A = lasso_cd(X, D, LAM, tol=1e-8, dtype=np.float64)
    A2, n_sweeps = lasso_cd(X, D, LAM, A0=A, tol=1e-6, dtype=np.float64, return_n_iter=True)
    assert n_sweeps == 1
    np.testing.assert_allclose(A2, A, atol=1e-8)


def test_history_decreases_and_matches_codes(natural_patches, patch_dictionary):
    from v1model.inference import lasso_objective

    X, D = natural_patches[:80], patch_dictionary
    A, hist = lasso_cd(X, D, LAM, return_history=True, dtype=np.float64)
    obj = hist["objective"].values
    assert hist.sizes["iteration"] >= 3
    assert np.all(np.diff(obj) <= 1e-9 * obj[0])  # coordinate descent never goes up
    assert obj[-1] == pytest.approx(lasso_objective(X, D, A, LAM), rel=1e-12)
    assert hist.attrs["solver"] == "lasso_cd"


def test_max_sweeps_warns(natural_patches, patch_dictionary):
    """The limit is max_sweeps, sweeps over the coordinates: the warning said "2
    iterations"."""
    with pytest.warns(ConvergenceWarning, match=r"lasso_cd stopped after 2 sweeps over the "
                                                r"coordinates with .*; raise max_sweeps"):
        lasso_cd(natural_patches[:20], patch_dictionary, LAM, tol=1e-8, max_sweeps=2)


def test_slow_samples_are_named_with_the_remedy(lasso_reference):
    """A small lam on an overcomplete random dictionary: one sample (16 of 24 atoms active
    in 16 dimensions) needs 1,650 sweeps, scikit-learn's coordinate descent 3,300, so the
    stop at max_sweeps is genuine; the warning said neither which sample nor that the
    active-set solver handles it."""
    from v1model.inference import lasso_active_set, lasso_objective

    rng = np.random.default_rng(0)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((30, 16))
    ref = lasso_reference(X, D, 0.05)
    with pytest.warns(ConvergenceWarning, match=r"1 of 30 samples not converged \(row 2 of "
                      r"X\); raise max_sweeps or loosen tol .*method='active_set'"):
        A = lasso_cd(X, D, 0.05, dtype=np.float64)
    f, f_ref = (lasso_objective(X[2:3], D, codes[2:3], 0.05) for codes in (A, ref))
    assert (f - f_ref) / f_ref > 1e-4  # really short of the optimum (measured 5.6e-4)
    # the remedies named reach scikit-learn's optimum: more sweeps within the 1e-4 that the
    # default tol is meant for (measured 2e-5), the active-set solver within 1e-6
    for codes, within in ((lasso_cd(X, D, 0.05, dtype=np.float64, max_sweeps=2000), 1e-4),
                          (lasso_active_set(X, D, 0.05, dtype=np.float64), 1e-6)):
        gap = lasso_objective(X, D, codes, 0.05) / lasso_objective(X, D, ref, 0.05) - 1
        assert abs(gap) < within


def test_encode_routes_to_cd(natural_patches, patch_dictionary):
    X, D = natural_patches[:50], patch_dictionary
    np.testing.assert_array_equal(encode(X, D, "cd", lam=LAM, tol=1e-3),
                                  lasso_cd(X, D, LAM, tol=1e-3))


@pytest.mark.parametrize("lam, positive", [(0.05, False), (0.2, True)])
def test_compiled_kernel_gives_the_bits_of_its_python_definition(monkeypatch, lam, positive):
    # the compiled kernel, loaded from numba's disk cache or compiled in this process,
    # against the same kernel run by the interpreter (prange is range there), which
    # rounds every float64 operation in the order written. With fastmath=True numba was
    # free to reorder and fuse them, and did so differently in a process that compiled
    # the kernel and one that loaded it (up to 8e-14 off the interpreter's either way):
    # a seeded run gave other codes after its first run had filled the cache
    from v1model.inference import coordinate_descent

    rng = np.random.default_rng(3)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((8, 16))
    kwargs = dict(positive=positive, tol=1e-4, dtype=np.float64, progress=False)
    A = lasso_cd(X, D, lam, **kwargs)
    assert np.count_nonzero(A) >= 4 * X.shape[0]  # moves fused four at a time are covered
    monkeypatch.setattr(coordinate_descent, "_cd_kernel",
                        coordinate_descent._cd_kernel.py_func)
    A_interpreted = lasso_cd(X, D, lam, **kwargs)
    assert A.tobytes() == A_interpreted.tobytes()


def test_bad_inputs_of_its_own(patch_dictionary):
    # the checks shared with fista and lasso_active_set are in test_lasso_solvers.py
    D = patch_dictionary
    X = np.ones((3, 64))
    # a negative A0 with positive=True is clipped as by every solver: test_warm_start.py
    with pytest.raises(ValueError, match="max_sweeps"):
        lasso_cd(X, D, 0.1, max_sweeps=0)
    with pytest.raises(ValueError, match="full_every"):
        lasso_cd(X, D, 0.1, full_every=0)
    with pytest.raises(TypeError, match="positive must be a bool"):
        lasso_cd(X, D, 0.1, positive="yes")
    D0 = D.copy()
    D0[5] = 0
    with pytest.raises(ValueError, match="zero norm"):
        lasso_cd(X, D0, 0.1)


def test_concurrent_calls_from_threads(natural_patches, patch_dictionary):
    # dask's threaded scheduler or a user's thread pool may call the solver at once
    from concurrent.futures import ThreadPoolExecutor

    X, D = natural_patches[:120], patch_dictionary
    expected = lasso_cd(X, D, LAM)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: lasso_cd(X, D, LAM), range(8)))
    for A in results:
        np.testing.assert_array_equal(A, expected)


def test_cd_stop_rule_in_correlation_units_on_scaled_atoms():
    """Atoms of norm 10 with lam * 10 is the same LASSO (codes / 10): the stop rule is in
    correlation units (|delta| * ||d_j||^2), so tol=1e-4 must reach scikit-learn's optimum
    as closely as on unit atoms."""
    from sklearn.linear_model import Lasso

    from v1model.inference import lasso_cd

    rng = np.random.default_rng(0)
    D = rng.standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((100, 16))
    lam, s = 0.3, 10.0
    ref = Lasso(alpha=lam / 16, fit_intercept=False, tol=1e-12, max_iter=100000).fit(D.T, X.T).coef_
    A = lasso_cd(X, D * s, lam * s, dtype=np.float64, tol=1e-4)
    np.testing.assert_allclose(A * s, ref, atol=2e-3)


def test_cd_history_records_every_full_every_plus_one_sweeps():
    """return_history: one record per cycle of one full sweep and full_every active sweeps
    (plus the initial record): max_sweeps=8, full_every=3 on a problem far from converged
    after 8 sweeps gives 1 + 8/4 = 3 records."""
    import warnings

    from v1model.inference import lasso_cd

    rng = np.random.default_rng(0)
    D = rng.standard_normal((48, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((20, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, hist, n_sweeps = lasso_cd(X, D, 0.1, dtype=np.float64, tol=1e-9, max_sweeps=8,
                                     full_every=3, return_history=True, return_n_iter=True)
    assert n_sweeps == 8
    assert hist.sizes["iteration"] == 3


def test_lam_zero_on_correlated_atoms_reaches_least_squares():
    # at lam = 0 the stop is tol * 1e-3 of the sample's largest |D x| (documented): on
    # correlated atoms (coordinate descent converges linearly there) the codes are
    # NumPy's least-squares solution to ~1e-4, not to the 1e-2 that tol alone allows
    rng = np.random.default_rng(5)
    D = rng.standard_normal((6, 12)) + 1.5 * rng.standard_normal(12)  # shared component
    X = rng.standard_normal((20, 12))
    expected = np.linalg.lstsq(D.T, X.T, rcond=None)[0].T
    A = lasso_cd(X, D, 0.0, dtype=np.float64)
    np.testing.assert_allclose(A, expected, atol=1e-4 * np.abs(expected).max())
