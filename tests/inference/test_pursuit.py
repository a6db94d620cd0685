"""Matching Pursuit and Orthogonal Matching Pursuit against scikit-learn,
SciPy's NNLS and analytic properties."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls
from sklearn.linear_model import orthogonal_mp as sk_omp

from v1model.inference import ConvergenceWarning, matching_pursuit, orthogonal_mp


def gaussian_problem(n_samples=40, n_features=64, n_atoms=48, seed=0):
    """Well-conditioned: Gaussian atoms, fewer atoms than twice the features."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((n_samples, n_features)), D


@pytest.mark.parametrize("n_nonzero", [1, 5, 12])
def test_omp_matches_sklearn(n_nonzero):
    X, D = gaussian_problem()
    A = orthogonal_mp(X, D, n_nonzero, dtype=np.float64)
    ref = sk_omp(D.T, X.T, n_nonzero_coefs=n_nonzero).T
    np.testing.assert_array_equal(A != 0, ref != 0)
    np.testing.assert_allclose(A, ref, atol=1e-6)


@pytest.mark.parametrize("solver", [matching_pursuit, orthogonal_mp])
def test_tolerance_warning_names_the_rows_left(solver):
    # it counted the samples (lca, fista, iht, lasso_cd name the rows); rows 1 and 3 are
    # zero and meet the tolerance at once
    X, D = gaussian_problem(n_samples=5)
    X[[1, 3]] = 0
    name = solver.__name__
    limit = r"max_iter=3 steps" if solver is matching_pursuit else r"n_nonzero=3 atoms"
    setting = r"max_iter \(now 3\)" if solver is matching_pursuit else r"n_nonzero \(now 3\)"
    with pytest.warns(ConvergenceWarning, match=rf"^{name}: 3 of 5 samples end with a squared "
                                                rf"residual above tol=1e-06 \(3 with {limit} "
                                                r"used; rows 0, 2, 4 of X\); raise "
                                                rf"{setting} or loosen tol$"):
        if solver is matching_pursuit:
            solver(X, D, tol=1e-6, max_iter=3, dtype=np.float64)
        else:
            solver(X, D, 3, tol=1e-6, dtype=np.float64)


def _what_stopped(message):
    """{"n_nonzero": 8, "max_iter": 2, "stall": 2}: the samples the warning counts by what
    stopped them."""
    counts = {}
    for n, what in re.findall(r"(\d+) with (n_nonzero|max_iter|no atom left)", message):
        counts["stall" if what == "no atom left" else what] = int(n)
    return counts


def test_positive_mp_warning_names_each_limit_that_stopped_samples_and_its_value():
    # it said "max_iter=12 steps or n_nonzero=4 atoms used, or no atom left ...; raise the
    # limit": not which setting stopped which samples, nor the value to raise
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((12, 16))
    with pytest.warns(ConvergenceWarning) as record:
        A = matching_pursuit(X, D, 4, tol=1e-6, max_iter=12, positive=True, dtype=np.float64)
    message = str(record[0].message)
    assert message.endswith("; raise n_nonzero (now 4) or max_iter (now 12), or loosen tol")
    # independently of the solver's bookkeeping: 4 atoms is n_nonzero's stop; a residual
    # no atom correlates positively with is the non-negative stop (no atom left); any other
    # sample could still take a step, so max_iter stopped it
    at_n_nonzero = np.count_nonzero(A, axis=1) >= 4
    stalled = ~at_n_nonzero & (((X - A @ D) @ D.T).max(axis=1) <= 1e-12)
    expected = {"n_nonzero": int(at_n_nonzero.sum()), "stall": int(stalled.sum()),
                "max_iter": int((~at_n_nonzero & ~stalled).sum())}
    assert expected == {"n_nonzero": 8, "max_iter": 2, "stall": 2}  # all three kinds
    assert _what_stopped(message) == expected


def test_omp_warning_with_no_limit_to_raise_says_so():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((12, 16))
    # non-negative OMP with tol alone: every sample runs out of positively correlated atoms
    with pytest.warns(ConvergenceWarning, match=r"\(12 with no atom left that lowers the "
                                                r"residual with a positive coefficient; .*\); "
                                                r"loosen tol \(no limit stopped them\)$"):
        orthogonal_mp(X, D, tol=1e-6, positive=True, dtype=np.float64)


def test_omp_tolerance_matches_sklearn():
    X, D = gaussian_problem(seed=1)
    # 48 atoms in 64 dimensions: some samples cannot reach the tolerance, and say so
    with pytest.warns(ConvergenceWarning, match="of 40 samples end with a squared residual "
                                                r"above tol=20.0 \(\d+ with n_nonzero=48 atoms "
                                                r"used; .*\); loosen tol \(n_nonzero=48 is the "
                                                r"most it can pick: min\(n_atoms, "
                                                r"n_features\)\)$"):
        A = orthogonal_mp(X, D, tol=20.0, dtype=np.float64)
    ref = sk_omp(D.T, X.T, tol=20.0).T
    np.testing.assert_array_equal(A != 0, ref != 0)
    np.testing.assert_allclose(A, ref, atol=1e-6)
    # samples that stopped before running out of atoms reached the tolerance
    stopped = np.count_nonzero(A, axis=1) < D.shape[0]
    assert stopped.sum() > 20
    assert np.all(np.sum((X - A @ D) ** 2, axis=1)[stopped] <= 20.0 + 1e-9)


def test_omp_float32_on_natural_patches(natural_patches, patch_dictionary):
    X, D = natural_patches[:100], patch_dictionary
    A32 = orthogonal_mp(X, D, 8)
    A64 = orthogonal_mp(X, D, 8, dtype=np.float64)
    ref = sk_omp(D.T, X.T, n_nonzero_coefs=8).T
    np.testing.assert_allclose(A64, ref, atol=1e-6 * np.abs(ref).max())
    # float32: same atoms for (almost) every sample, same residuals
    assert np.mean(np.all((A32 != 0) == (ref != 0), axis=1)) >= 0.95
    r32 = np.linalg.norm(X - A32 @ D, axis=1)
    r_ref = np.linalg.norm(X - ref @ D, axis=1)
    assert np.median(np.abs(r32 - r_ref) / r_ref) < 1e-4


def test_nonnegative_omp_is_nnls_on_its_support():
    X, D = gaussian_problem(n_samples=20, seed=2)
    A = orthogonal_mp(X, D, 6, positive=True, dtype=np.float64)
    assert A.min() >= 0
    assert np.all(np.count_nonzero(A, axis=1) <= 6)
    assert np.count_nonzero(A) > 20 * 3
    for x, a in zip(X, A):
        support = np.flatnonzero(a)
        coef, _ = nnls(D[support].T, x)
        np.testing.assert_allclose(a[support], coef, atol=1e-8)



def test_nn_omp_stops_short_only_when_no_atom_has_a_positive_correlation():
    # NN-OMP ends a code with fewer than n_nonzero atoms only when no atom off its
    # support correlates positively with the residual (none could lower it with a
    # positive coefficient); NNLS steps drop atoms, which later steps must refill
    rng = np.random.default_rng(0)
    D = rng.standard_normal((10, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((300, 6))
    A = orthogonal_mp(X, D, 4, positive=True, dtype=np.float64)
    short = np.count_nonzero(A, axis=1) < 4
    C = (X - A @ D) @ D.T
    off = np.where(A == 0, C, -np.inf)
    assert short.any()  # the check below is not vacuous
    assert off[short].max() <= 1e-8
    for x, a in zip(X, A):
        S = np.flatnonzero(a)
        if S.size:  # (SciPy's nnls aborts the process on a matrix with no column)
            np.testing.assert_allclose(a[S], nnls(D[S].T, x)[0], atol=1e-8)
    # a weak positive component beside a strong negative residual is still taken
    # (analytic on the identity: the code is the positive part of x)
    x = np.array([[1.0, 1e-3, -1.0, 0.0]])
    np.testing.assert_allclose(orthogonal_mp(x, np.eye(4), 3, positive=True,
                                             dtype=np.float64), [[1.0, 1e-3, 0.0, 0.0]])



def test_mp_n_nonzero_counts_distinct_atoms_like_a_plain_loop():
    # n_nonzero counts distinct atoms, an atom picked again does not count twice:
    # against a plain one-sample loop of Mallat & Zhang's steps with that stop, on a
    # coherent dictionary where atoms are picked again before the last one enters
    rng = np.random.default_rng(4)
    D = rng.standard_normal((12, 5))
    X = rng.standard_normal((40, 5))

    def plain_mp(x, k):
        a, r = np.zeros(len(D)), x.copy()
        for _ in range(10 * k):
            if np.count_nonzero(a) >= k:
                break
            c = D @ r
            j = np.argmax(np.abs(c) / np.linalg.norm(D, axis=1))
            z = c[j] / (D[j] @ D[j])
            a[j] += z
            r -= z * D[j]
        return a

    expected = np.array([plain_mp(x, 4) for x in X])
    np.testing.assert_array_equal(np.count_nonzero(expected, axis=1), 4)
    np.testing.assert_allclose(matching_pursuit(X, D, 4, dtype=np.float64), expected,
                               atol=1e-10)


def test_orthonormal_dictionary_picks_largest_coefficients():
    # analytic: with an orthonormal basis MP, OMP and the k largest |D x| coincide
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    X = rng.standard_normal((10, 20))
    B = X @ Q.T
    expected = np.where(np.abs(B) >= np.sort(np.abs(B), axis=1)[:, [-4]], B, 0)
    np.testing.assert_allclose(orthogonal_mp(X, Q, 4, dtype=np.float64), expected, atol=1e-10)
    np.testing.assert_allclose(matching_pursuit(X, Q, 4, dtype=np.float64), expected,
                               atol=1e-10)


# a draw with n_nonzero >= n_features can use its 10 * n_nonzero steps short of
# n_nonzero distinct atoms, its residual still falling: MP's step-limit warning is
# true there (its own test is test_mp_warns_when_its_steps_run_out_before_n_nonzero_atoms)
@pytest.mark.filterwarnings("ignore:matching_pursuit used all max_iter")
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_features=st.integers(2, 20),
       n_atoms=st.integers(1, 40), n_nonzero=st.integers(1, 10),
       positive=st.booleans())
def test_mp_residual_never_increases(seed, n_features, n_atoms, n_nonzero, positive):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, n_features)) * rng.uniform(0.1, 10)
    n_nonzero = min(n_nonzero, n_atoms)
    A, hist = matching_pursuit(X, D, n_nonzero, positive=positive, dtype=np.float64,
                               return_history=True)
    res = hist["data_term"].values
    assert np.all(np.diff(res) <= 1e-9 * res[0])
    assert np.all(np.count_nonzero(A, axis=1) <= n_nonzero)
    if positive:
        assert A.min() >= 0
    # values, analytically: with an orthonormal basis Q, MP keeps the k largest
    # entries of X Q^T (the k largest positive ones for NN-MP), zero elsewhere
    Q, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    k = min(n_nonzero, n_features)
    B = X @ Q.T
    score = np.maximum(B, 0) if positive else np.abs(B)
    kth = np.sort(score, axis=1)[:, [-k]]
    expected = np.where((score >= kth) & (score > 0), B, 0)
    np.testing.assert_allclose(matching_pursuit(X, Q, k, positive=positive, dtype=np.float64),
                               expected, atol=1e-9 * np.abs(B).max())


def test_mp_tolerance_stop():
    X, D = gaussian_problem(seed=4, n_atoms=128)  # atoms span the space: any tol is reachable
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every sample reaches tol: no warning
        A = matching_pursuit(X, D, tol=30.0, max_iter=500, dtype=np.float64)
        orthogonal_mp(X, D, tol=30.0, dtype=np.float64)
    assert np.all(np.sum((X - A @ D) ** 2, axis=1) <= 30.0 + 1e-9)


def test_pursuit_warns_when_tol_is_not_reached():
    X, D = gaussian_problem(seed=4, n_atoms=128)
    with pytest.warns(ConvergenceWarning, match="matching_pursuit: 40 of 40 samples end with "
                                                r"a squared residual above tol=1e-06 \(40 with "
                                                r"max_iter=3"):
        A = matching_pursuit(X, D, tol=1e-6, max_iter=3, dtype=np.float64)
    assert (np.count_nonzero(A, axis=1) <= 3).all()
    with pytest.warns(ConvergenceWarning, match="40 of 40 samples end with a squared residual "
                                                r"above tol=1e-06 \(40 with n_nonzero=2 atoms "
                                                r"used"):
        orthogonal_mp(X, D, 2, tol=1e-6, dtype=np.float64)
    # positive codes: most samples run out of positively correlated atoms long before
    with pytest.warns(ConvergenceWarning, match="with a positive coefficient"):
        orthogonal_mp(X, D, tol=1e-6, positive=True, dtype=np.float64)


def coherent_pairs(n_samples=200, n_features=16, seed=9):
    """16 atoms in 16 dimensions: 8 pairs whose atoms correlate at ~0.999."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_features // 2, n_features))
    D = np.vstack([base, base + 0.05 * rng.standard_normal(base.shape)])
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((n_samples, n_features)), D


def test_mp_warns_when_its_steps_run_out_before_n_nonzero_atoms():
    # MP picks the atoms of a coherent pair in turn, a small part of the residual each
    # time: at the default 10 * n_nonzero steps, 92 of 200 samples ended with 8 to 11
    # of 12 atoms and a residual atoms still lowered, with no warning
    X, D = coherent_pairs()
    with pytest.warns(ConvergenceWarning, match=r"^matching_pursuit used all max_iter=120 "
                                                r"steps with fewer than n_nonzero=12 distinct "
                                                r"atoms .*: 92 of 200 samples \(rows 1, 2, 3, 5, "
                                                r"6, 7, 9, 13, 14, 18, \.\.\. of X\); raise "
                                                r"max_iter \(now 120\), or use orthogonal_mp"):
        A = matching_pursuit(X, D, 12, dtype=np.float64)
    short = np.count_nonzero(A, axis=1) < 12
    assert short.sum() == 92
    np.testing.assert_array_equal(np.flatnonzero(short)[:10], [1, 2, 3, 5, 6, 7, 9, 13, 14, 18])
    # more steps give them their atoms, and a lower residual: the limit, not a stall
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A_long = matching_pursuit(X[short], D, 12, max_iter=100_000, dtype=np.float64)
    assert (np.count_nonzero(A_long, axis=1) == 12).all()
    assert (np.sum((X[short] - A_long @ D) ** 2, axis=1)
            < np.sum((X[short] - A[short] @ D) ** 2, axis=1)).all()
    # samples that stall (coded exactly before n_nonzero atoms) are not warned of
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A_exact = matching_pursuit(2.0 * np.eye(16)[:3], np.eye(16), 5, max_iter=5,
                                   dtype=np.float64)
    assert (np.count_nonzero(A_exact, axis=1) == 1).all()


def test_omp_history_is_data_term():
    X, D = gaussian_problem(seed=5)
    A, hist = orthogonal_mp(X, D, 5, return_history=True, dtype=np.float64)
    assert hist.sizes["iteration"] == 6
    final = 0.5 * np.sum((X - A @ D) ** 2)
    np.testing.assert_allclose(hist["objective"].values[-1], final, rtol=1e-9)
    np.testing.assert_allclose(hist["n_active"].values, np.arange(6))
    assert np.all(np.diff(hist["objective"].values) < 0)


@pytest.mark.parametrize("solver", [matching_pursuit, orthogonal_mp])
def test_bad_inputs(solver):
    X, D = gaussian_problem(n_samples=3, n_features=10, n_atoms=8)
    with pytest.raises(ValueError, match="n_nonzero=9 exceeds the number of atoms n_atoms=8"):
        solver(X, D, 9)
    with pytest.raises(ValueError, match="needs n_nonzero"):
        solver(X, D)
    with pytest.raises(ValueError, match="n_nonzero must be >= 1"):
        solver(X, D, 0)
    with pytest.raises(ValueError, match="X has 5 features"):
        solver(np.ones((2, 5)), D, 2)
    with pytest.raises(ValueError, match="non-finite"):
        solver(np.full((2, 10), np.inf), D, 2)
    with pytest.raises(ValueError, match="tol must be a non-negative"):
        solver(X, D, 2, tol=-1.0)


def test_omp_more_atoms_than_features():
    X, D = gaussian_problem(n_samples=3, n_features=5, n_atoms=8)
    with pytest.raises(ValueError, match="exceeds n_features=5"):
        orthogonal_mp(X, D, 6)


def test_omp_and_mp_with_non_unit_atoms_match_sklearn_on_normalised_atoms():
    from sklearn.linear_model import orthogonal_mp as sk_omp
    from v1model.inference import orthogonal_mp, matching_pursuit
    rng = np.random.default_rng(0)
    Dn = rng.standard_normal((48, 64))
    Dn /= np.linalg.norm(Dn, axis=1, keepdims=True)
    s = rng.uniform(0.3, 3.0, 48)
    X = rng.standard_normal((30, 64))
    ref = sk_omp(Dn.T, X.T, n_nonzero_coefs=6).T  # codes in the unit-norm atoms
    np.testing.assert_allclose(orthogonal_mp(X, Dn * s[:, None], 6, dtype=np.float64),
                               ref / s, atol=1e-8)
    # MP: rescaling atoms rescales the codes (same residuals)
    A1 = matching_pursuit(X, Dn, 6, dtype=np.float64)
    A2 = matching_pursuit(X, Dn * s[:, None], 6, dtype=np.float64)
    np.testing.assert_allclose(A2, A1 / s, atol=1e-8)


def test_nn_omp_overcomplete_is_nnls_on_support():
    from scipy.optimize import nnls
    from v1model.inference import orthogonal_mp
    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 20))  # 2x overcomplete, many atoms per code: NNLS drops some
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((40, 20))
    A = orthogonal_mp(X, D, 15, positive=True, dtype=np.float64)
    for x, a in zip(X, A):
        S = np.flatnonzero(a)
        coef, _ = nnls(D[S].T, x)
        np.testing.assert_allclose(a[S], coef, atol=1e-8)


def test_omp_with_tol_and_n_nonzero_stops_at_whichever_comes_first():
    # documented difference from scikit-learn, whose tol overrides n_nonzero_coefs
    X, D = gaussian_problem(n_samples=10, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a tolerance no sample reaches in 3 atoms: n_nonzero stops every sample
        A = orthogonal_mp(X, D, 3, tol=1e-3, dtype=np.float64)
    np.testing.assert_allclose(A, sk_omp(D.T, X.T, n_nonzero_coefs=3).T, atol=1e-8)
    assert np.all(np.count_nonzero(sk_omp(D.T, X.T, n_nonzero_coefs=3, tol=1e-3).T, axis=1) > 3)
    # a tolerance every sample reaches before 30 atoms: tol stops every sample
    A = orthogonal_mp(X, D, 30, tol=40.0, dtype=np.float64)
    ref = sk_omp(D.T, X.T, tol=40.0).T
    assert np.count_nonzero(ref, axis=1).max() < 30
    np.testing.assert_allclose(A, ref, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features, n_atoms, orthonormal", [(16, 16, True), (256, 512, False)])
def test_exactly_sparse_signals_keep_their_support(dtype, n_features, n_atoms, orthonormal):
    """A signal made of s atoms is coded exactly by s atoms; a cap above s must not
    add atoms for the rounding left in the residual (scikit-learn's orthogonal_mp
    stops there too)."""
    rng = np.random.default_rng(3)
    if orthonormal:
        D = np.linalg.qr(rng.standard_normal((n_features, n_features)))[0].T
    else:
        D = rng.standard_normal((n_atoms, n_features))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
    s, cap = (3, 10) if orthonormal else (12, 36)
    A0 = np.zeros((30, n_atoms))
    for row in A0:
        row[rng.choice(n_atoms, s, replace=False)] = rng.uniform(0.5, 2, s) * rng.choice([-1, 1], s)
    X = A0 @ D
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "ended prematurely"
        ref = sk_omp(D.T, X.T, n_nonzero_coefs=cap).T
    np.testing.assert_array_equal(ref != 0, A0 != 0)
    omp = orthogonal_mp(X, D, cap, dtype=dtype)
    np.testing.assert_array_equal(omp != 0, A0 != 0)
    np.testing.assert_allclose(omp, A0, atol=1e-5 if dtype == np.float32 else 1e-12)
    nn = orthogonal_mp(np.abs(A0) @ D, D, cap, positive=True, dtype=dtype)
    np.testing.assert_array_equal(nn != 0, A0 != 0)
    if orthonormal:  # MP is exact after s steps only when the atoms are orthogonal
        mp = matching_pursuit(X, D, cap, dtype=dtype)
        np.testing.assert_array_equal(mp != 0, A0 != 0)


@pytest.mark.parametrize("solver", ["mp", "omp", "nn-omp"])
def test_a_weak_component_beside_a_strong_one_is_taken(solver):
    """The roundoff floor that keeps exact codes exact is each atom's own (|x| . |d_j|),
    not the signal's norm: [1e6, 1] on the identity is two atoms in float32, as in
    scikit-learn (a floor of 32 eps ||x|| = 3.8 dropped the 1)."""
    X = np.array([[1e6, 1.0, 0.0, 0.0]])
    D = np.eye(4)
    A = (matching_pursuit(X, D, 2) if solver == "mp"
         else orthogonal_mp(X, D, 2, positive=solver == "nn-omp"))
    np.testing.assert_array_equal(A, X)


def test_a_weak_component_of_a_dense_dictionary_is_taken_in_float32():
    """1e5 d_0 + 0.3 d_1 with Gaussian atoms: float32 resolves the 0.3 to ~0.2%, and OMP
    must take it (scikit-learn does)."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = orthogonal_mp(1e5 * D[0] + 0.3 * D[1], D, 2, dtype=np.float32)
    assert np.flatnonzero(A[0]).tolist() == [0, 1]
    assert A[0, 1] == pytest.approx(0.3, rel=0.01)


@pytest.mark.parametrize("solver", [matching_pursuit, orthogonal_mp])
def test_float32_tolerance_holds_for_the_exact_residual(solver):
    # both stop on the squared residual they track step by step, which drifts from the
    # exact one by rounding: in float32 at tol = 1e-6 ||x||^2, MP ended with 182 of 300
    # samples above tol (up to 1.5 times it) and OMP with 22 (its tracker at zero),
    # without a warning
    rng = np.random.default_rng(24)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = 100 * rng.standard_normal((300, 64))
    tol = 1e-6 * (X**2).sum(axis=1).min()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        A = solver(X, D, tol=tol, dtype=np.float32,
                   **({"max_iter": 100000} if solver is matching_pursuit else {}))
    assert A.dtype == np.float32
    residual = ((X - A.astype(np.float64) @ D) ** 2).sum(axis=1)
    assert residual.max() <= tol * (1 + 1e-6)


def test_tol_at_or_above_the_signal_energy_gives_no_atom_unlike_sklearn():
    # the documented difference: the tol test comes before the first step here, after it
    # in scikit-learn, which always picks at least one atom
    rng = np.random.default_rng(0)
    D = rng.standard_normal((10, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    x = rng.standard_normal(8)
    energy = float(x @ x)
    for tol in (energy, 1.5 * energy):
        assert np.count_nonzero(sk_omp(D.T, x, tol=tol)) == 1
        assert not orthogonal_mp(x, D, tol=tol, dtype=np.float64).any()
        assert not matching_pursuit(x, D, tol=tol, dtype=np.float64).any()
    # just below it, both take the same single atom with the same coefficient
    tol = 0.999 * energy
    ref = sk_omp(D.T, x, tol=tol)
    assert np.count_nonzero(ref) == 1
    np.testing.assert_allclose(orthogonal_mp(x, D, tol=tol, dtype=np.float64)[0], ref,
                               atol=1e-12)


def test_omp_float32_picks_a_nearly_collinear_atom_like_sklearn():
    """Two atoms at cosine 0.9999875 (the second's part orthogonal to the first has
    norm 0.005): float32 OMP takes both, as scikit-learn does. Batch-OMP refuses an
    atom only when that part is below ``eps = 1e-4`` of its norm (numerically
    dependent): a looser ``eps`` (1e-2) stopped at one atom, 4e-3 of ``x`` left."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    d1 = Q[:, 0] + 0.005 * Q[:, 1]
    D = np.vstack([Q[:, 0], d1 / np.linalg.norm(d1), Q[:, 2:6].T])
    x = 5 * Q[:, 0] - 0.02 * Q[:, 1]  # d0 first (its correlation is larger), then d1
    ref = sk_omp(D.T, x, n_nonzero_coefs=2)  # [9, -4, 0, ...]
    A = orthogonal_mp(x[None], D, 2, dtype=np.float32)[0]
    np.testing.assert_array_equal(A != 0, ref != 0)
    # float32 on a Gram of condition ~1e5: 1% of the codes
    np.testing.assert_allclose(A, ref, atol=0.1)
    assert np.linalg.norm(x - A @ D) < 1e-3 * np.linalg.norm(x)


def test_nn_omp_float32_keeps_no_atom_at_rounding_level():
    # nonneg combinations of 8 of 128 unit atoms (64 features), n_nonzero=20: both
    # precisions find the planted supports. Before, the float32 NNLS left one wrongly
    # picked atom at 2.6e-8 (beside coefficients up to 0.79) where float64 drops it:
    # sample 214 got 9 atoms in float32, 8 in float64
    rng = np.random.default_rng(1)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A0 = np.zeros((300, 128))
    for i in range(300):
        A0[i, rng.choice(128, 8, replace=False)] = rng.uniform(0, 1, 8)
    X = A0 @ D
    a32 = orthogonal_mp(X, D, 20, positive=True, dtype=np.float32, progress=False)
    a64 = orthogonal_mp(X, D, 20, positive=True, dtype=np.float64, progress=False)
    np.testing.assert_array_equal(a32 != 0, a64 != 0)
    for a in (a32, a64):
        np.testing.assert_array_equal(a != 0, A0 != 0)
    # and on each support the codes are SciPy's NNLS
    for i in (214, 0, 1):
        S = np.flatnonzero(a32[i])
        np.testing.assert_allclose(a32[i, S], nnls(D[S].T, X[i])[0], rtol=0, atol=1e-5)



@pytest.mark.parametrize("solver, params, n_recoded", [
    (matching_pursuit, dict(tol=0.032), 1),
    (orthogonal_mp, dict(n_nonzero=32, tol=1e-3), 2),
])
def test_history_ends_on_the_returned_codes(solver, params, n_recoded):
    """With return_history, the samples float32 rounding left above tol are solved
    again in float64 after the steps, and attrs say how many. The returned codes'
    exact data term and active count were one more entry over ``iteration``, numbered
    as one more step (MP: iteration 149 after 148 steps; OMP: 32 after 31), though no
    step made them. They are now returned_data_term (objective) and returned_n_active,
    without the iteration dim; the steps' entries (iteration k: k steps done) end on
    the float32 pass's last step (MP: data term 0.993186, the returned codes 0.991595)."""
    rng = np.random.default_rng(3)
    D = rng.standard_normal((64, 32))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((64, 32))
    A, hist = solver(X, D, return_history=True, **params)
    assert hist.attrs["n_recoded"] == n_recoded
    # exact in float64, of X and D as the solver holds them (float32)
    R = (X.astype(np.float32).astype(np.float64)
         - A.astype(np.float64) @ D.astype(np.float32).astype(np.float64))
    for name in ("returned_data_term", "returned_objective"):
        assert hist[name].dims == ()
        np.testing.assert_allclose(float(hist[name]), 0.5 * np.sum(R ** 2), rtol=1e-10)
    assert float(hist["returned_n_active"]) == np.count_nonzero(A) / len(X)
    assert hist["returned_data_term"].attrs["units"] == "(units of X)^2"
    # the steps alone over iteration, counted from the start: the last one the float32
    # pass's, which the re-solved samples' codes no longer are
    np.testing.assert_array_equal(hist["iteration"], np.arange(hist.sizes["iteration"]))
    assert abs(hist["data_term"].values[-1] - 0.5 * np.sum(R ** 2)) > 1e-4 * np.sum(R ** 2)
    # nothing solved again (float64): the last step's codes are those returned
    A, hist = solver(X, D, return_history=True, dtype=np.float64, **params)
    assert hist.attrs["n_recoded"] == 0
    R = X - A @ D
    for value in (hist["data_term"].values[-1], float(hist["returned_data_term"])):
        np.testing.assert_allclose(value, 0.5 * np.sum(R ** 2), rtol=1e-6)


@pytest.mark.parametrize("solver, params", [
    (orthogonal_mp, dict(n_nonzero=32, tol=1e-4)),
    (orthogonal_mp, dict(n_nonzero=20)),  # no tol
    (orthogonal_mp, dict(n_nonzero=32, tol=1e-4, positive=True)),
    (matching_pursuit, dict(n_nonzero=32, tol=1e-4)),
    (matching_pursuit, dict(n_nonzero=20)),
])
def test_history_ends_exact_when_nothing_is_solved_again(solver, params):
    """float32 OMP with as many atoms as features: nothing is solved again, and the
    history's last data term was the step-by-step residual's, 0.0010927 where the
    returned codes give 0.0011818 (7.5% under). It is the exact one now (MP's steps
    record the exact residual already)."""
    rng = np.random.default_rng(1)
    D = rng.standard_normal((64, 32))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((64, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # positive: tol not reached
        A, hist = solver(X, D, return_history=True, **params)
    assert hist.attrs["n_recoded"] == 0
    # exact in float64, of X and D as the solver holds them (float32)
    R = (X.astype(np.float32).astype(np.float64)
         - A.astype(np.float64) @ D.astype(np.float32).astype(np.float64))
    exact = 0.5 * np.sum(R ** 2)
    np.testing.assert_allclose(hist["data_term"].values[-1], exact, rtol=1e-10)
    np.testing.assert_allclose(hist["objective"].values[-1], exact, rtol=1e-10)


def _float32_pass_short_of_tol(n_samples=40):
    """Data whose float32 pass leaves samples above tol, solved again in float64 (as
    test_float32_tolerance_holds_for_the_exact_residual)."""
    rng = np.random.default_rng(24)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = 100 * rng.standard_normal((n_samples, 64))
    return X, D, 1e-6 * (X**2).sum(axis=1).min()


@pytest.mark.parametrize("name", ["matching_pursuit", "orthogonal_mp"])
def test_float64_pass_leaves_the_process_warning_filters_alone(
        name, monkeypatch, forbid_catch_warnings, with_a_neighbour):
    """The float64 pass over the samples float32 left above tol ignored its own
    ConvergenceWarning in a warnings.catch_warnings block, one per process: a warning
    another thread gave meanwhile (another point of a sweep in threads) was hidden too.
    Its shortfall goes to a tally of this thread's now: the call enters no
    catch_warnings, the neighbour's warning reaches the caller, and the caller sees what
    it saw before (no warning of its own: the float64 pass meets tol)."""
    import v1model.inference.pursuit as pursuit

    solver = getattr(pursuit, name)
    X, D, tol = _float32_pass_short_of_tol()
    extra = {"max_iter": 100000} if name == "matching_pursuit" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alone = solver(X, D, tol=tol, dtype=np.float32, **extra)
    assert caught == []
    forbid_catch_warnings(pursuit)
    text = "another point's solver stopped short"
    redone = []

    def second_pass(*args, **kwargs):
        redone.append(len(args[0]))
        return solver(*args, **kwargs)

    monkeypatch.setattr(pursuit, name, with_a_neighbour(second_pass, text,
                                                        ConvergenceWarning))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        A = solver(X, D, tol=tol, dtype=np.float32, **extra)
    assert redone and redone[0] > 0  # the premise: samples were solved again
    assert [str(w.message) for w in caught] == [text]
    np.testing.assert_array_equal(A, alone)
