"""FISTA's per-sample backtracked step against the constant step and scikit-learn."""

import numpy as np
import pytest

from v1model.inference import fista, ista, lasso_objective

LAM = 0.2


@pytest.fixture(scope="module")
def clustered_dictionary(patch_dictionary):
    """The patch dictionary plus 24 near-copies of one atom: lambda_max(D D^T)
    grows to about 25 while a sample's support sees little of that cluster (the
    shape of a learned 512-atom dictionary, where it is 36 against a median of
    3.4 on the optimal supports)."""
    rng = np.random.default_rng(3)
    copies = patch_dictionary[5] + 0.05 * rng.standard_normal((24, patch_dictionary.shape[1]))
    D = np.vstack([patch_dictionary, copies])
    return D / np.linalg.norm(D, axis=1, keepdims=True)


@pytest.mark.parametrize("step", ["backtracking", "constant"])
@pytest.mark.parametrize("positive", [False, True])
def test_both_steps_reach_sklearn_optimum(step, positive, natural_patches, clustered_dictionary,
                                          lasso_reference, relative_gap):
    X, D = natural_patches[:150], clustered_dictionary
    A_ref = lasso_reference(X, D, LAM, positive=positive)
    A = fista(X, D, LAM, step=step, positive=positive)
    assert relative_gap(X, D, A, A_ref, LAM) <= 1e-4
    assert not positive or A.min() >= 0


def test_backtracking_needs_far_fewer_iterations(natural_patches, clustered_dictionary):
    X, D = natural_patches[:150], clustered_dictionary
    assert np.linalg.eigvalsh(D @ D.T)[-1] > 15  # the cluster dominates the global step
    _, n_const = fista(X, D, LAM, step="constant", tol=1e-5, return_n_iter=True)
    _, n_back = fista(X, D, LAM, tol=1e-5, return_n_iter=True)
    assert n_back <= 0.5 * n_const


def test_backtracked_ista_is_monotone_and_converges(natural_patches, clustered_dictionary,
                                                    lasso_reference, relative_gap):
    """Every accepted step obeys the quadratic upper bound, so ISTA's objective
    cannot increase (up to float64 rounding), and it reaches the optimum."""
    X, D = natural_patches[:60], clustered_dictionary
    A, hist = ista(X, D, LAM, tol=1e-7, dtype=np.float64, return_history=True)
    obj = hist["objective"].values
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])
    assert hist.attrs["step"] == "backtracking"
    assert relative_gap(X, D, A, lasso_reference(X, D, LAM), LAM) <= 1e-6


def test_zero_signals_and_warm_start_at_optimum(natural_patches, patch_dictionary,
                                                lasso_reference, relative_gap):
    D = patch_dictionary
    X = np.vstack([np.zeros((3, D.shape[1])), natural_patches[:20]])
    A, n_iter = fista(X, D, LAM, dtype=np.float64, tol=1e-8, return_n_iter=True)
    assert np.all(A[:3] == 0) and np.all(np.isfinite(A))
    # the other rows are scikit-learn's LASSO optimum (zero rows leave them alone)
    A_ref = lasso_reference(X[3:], D, LAM)
    assert abs(relative_gap(X[3:], D, A[3:], A_ref, LAM)) <= 1e-6
    A2, n2 = fista(X, D, LAM, dtype=np.float64, tol=1e-8, A0=A, return_n_iter=True)
    assert n2 < n_iter / 4
    # a warm start at the optimum stays there
    assert np.all(A2[:3] == 0)
    assert abs(relative_gap(X[3:], D, A2[3:], A_ref, LAM)) <= 1e-6
    np.testing.assert_allclose(A2, A, atol=1e-4 * np.abs(A).max())
    f1, f2 = lasso_objective(X, D, A, LAM), lasso_objective(X, D, A2, LAM)
    assert f2 <= f1 * (1 + 1e-12)


def test_unknown_step_lists_the_valid_ones(natural_patches, patch_dictionary):
    with pytest.raises(ValueError,
                       match="step must be one of 'backtracking', 'constant'; got 'bb'"):
        fista(natural_patches[:2], patch_dictionary, LAM, step="bb")


@pytest.mark.parametrize("step", ["backtracking", "constant"])
@pytest.mark.parametrize("accelerated", [True, False])
def test_warm_start_far_beyond_any_solution_still_converges(step, accelerated,
                                                            lasso_reference, relative_gap):
    # 6 atoms in 4 dimensions: codes of 1e3 along the null space of D^T only shrink by
    # lam / L per step, a relative change of ~4e-5 < tol; the step rule used to take that
    # for convergence (ISTA stopped after 32-48 steps at a relative gap of ~3e3, silently)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 4))
    A = fista(X, D, 0.1, A0=np.full((3, 6), 1e3), step=step, accelerated=accelerated,
              max_iter=100000, dtype=np.float64)
    assert relative_gap(X, D, A, lasso_reference(X, D, 0.1), 0.1) <= 1e-5


@pytest.mark.parametrize("accelerated", [True, False])
def test_warm_start_far_off_on_patches(accelerated, natural_patches, patch_dictionary,
                                       lasso_reference, relative_gap):
    X, D = natural_patches[:30], patch_dictionary
    A_ref = lasso_reference(X, D, LAM)
    A0 = 100 * np.abs(A_ref).max() * np.random.default_rng(0).standard_normal(A_ref.shape)
    # ISTA's constant step used to stop after 14098 iterations, 543 times the optimum
    # above it, without a word
    A = fista(X, D, LAM, A0=A0, step="constant", accelerated=accelerated, max_iter=20000)
    assert relative_gap(X, D, A, A_ref, LAM) <= 1e-4


def test_backtracking_momentum_is_beck_teboulle_sequence():
    # Beck & Teboulle (2009), section 4, "FISTA with backtracking", written out by hand on
    # three unit atoms in R^2 with the step schedule of v1model.inference.fista_backtracking
    # (L_k tries 0.9 L_k-1, from L / 8, doubled until the quadratic bound holds): y_1 = x_0,
    # t_1 = 1, x_k = p_L(y_k), t_k+1 = (1 + sqrt(1 + 4 t_k^2)) / 2,
    # y_k+1 = x_k + (t_k - 1) / t_k+1 (x_k - x_k-1), so y_2 = x_1. The iterates ran one
    # term ahead (y_2 = x_1 + (t_2 - 1) / t_3 x_1; x_2, x_3 ~0.03 off)
    import warnings

    from v1model.inference import ConvergenceWarning
    from v1model.inference._common import STEP_MARGIN

    D = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    x, lam = np.array([1.0, 0.5]), 0.1
    G, b = D @ D.T, D @ x
    L_max = STEP_MARGIN * np.linalg.eigvalsh(G)[-1]

    def f(a):
        return 0.5 * a @ G @ a - a @ b

    def p(y, L):  # the prox-gradient step and the L that meets the bound from L
        while True:
            z = y - (G @ y - b) / L
            a = np.sign(z) * np.maximum(np.abs(z) - lam / L, 0.0)
            d = a - y
            if f(a) <= f(y) + (G @ y - b) @ d + 0.5 * L * d @ d or L >= L_max:
                return a, L
            L = min(2 * L, L_max)

    x_prev = x_k = y = np.zeros(3)
    t, L = 1.0, L_max / 8
    expected = []
    for _ in range(3):
        x_prev, (x_k, L) = x_k, p(y, 0.9 * L)
        t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        y = x_k + (t - 1) / t_next * (x_k - x_prev)
        t = t_next
        expected.append(x_k)
    for k in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            A = fista(x, D, lam, restart=False, max_iter=k, tol=1e-14, dtype=np.float64)
        np.testing.assert_allclose(A[0], expected[k - 1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_stop_rule_is_the_numpy_rule(dtype):
    # the compiled per-iteration kernels replace NumPy expressions: they must decide the same,
    # with an infinite code bound (none given), NaNs (a diverged row), zeros and tol = 0
    from v1model.inference.fista_backtracking import _compact_rows, _next_momentum_and_done
    rng = np.random.default_rng(0)
    n = 40
    change = rng.uniform(0, 2e-4, n).astype(dtype)
    scale = rng.uniform(0, 2, n).astype(dtype)
    bound = rng.uniform(0, 2, n).astype(dtype)
    bound[::3] = np.inf
    scale[::7], change[1::9], bound[2::11], scale[3::13] = np.nan, np.nan, np.nan, 0
    tiny = np.finfo(dtype).tiny
    restarted = rng.random(n) < 0.5
    t_new = rng.uniform(1, 5, n).astype(dtype)
    for tol in (1e-4, 0.0):
        expected = (change <= tol * np.maximum(np.minimum(scale, bound), tiny)
                    if tol > 0 else np.zeros(n, bool))
        for restart, accelerated in [(True, True), (False, True), (True, False)]:
            t = rng.uniform(1, 5, n).astype(dtype)
            t_expected = np.where(restarted & restart, dtype(1), t_new) if accelerated else t.copy()
            done = np.ones(n, bool)
            n_done = _next_momentum_and_done(t, t_new, restarted, restart, accelerated, change,
                                             scale, bound, dtype(tol), dtype(tiny), done)
            np.testing.assert_array_equal(done, expected)
            np.testing.assert_array_equal(t, t_expected)
            assert n_done == expected.sum()
    # the live rows move to the front, in order, in every array
    k = 5
    arrays = [rng.standard_normal((n, k)).astype(dtype) for _ in range(5)]
    vectors = [rng.standard_normal(n).astype(dtype) for _ in range(3)] + [rng.random(n)]
    live = np.arange(n) * 3
    keep = ~expected if expected.any() else rng.random(n) < 0.5
    before = [v.copy() for v in [live, *arrays, *vectors]]
    m = _compact_rows(~keep, live, *arrays, *vectors)
    assert m == keep.sum()
    for old, new in zip(before, [live, *arrays, *vectors]):
        np.testing.assert_array_equal(new[:m], old[keep])
