"""Gaps found by the second mutation audit of the Olshausen-Field and MOD learners:
each test kills a planted bug that the other tests let through, and checks against an
independent reference (the closed-form least-squares dictionary, the ridge MAP of
the quadratic limit of the Cauchy prior, or the documented refusals)."""

import warnings

import numpy as np
import pytest

from v1model.inference import orthogonal_mp
from v1model.learning import learn_mod
from v1model.learning.mod import mod_dictionary


def test_learn_mod_update_uses_its_ridge():
    # one MOD update from a given dictionary with deterministic (OMP) codes is the
    # renormalised closed form (A^T A + r I)^-1 A^T X with r = ridge * mean diag(A^T A);
    # a learner that solved with the default ridge whatever it was given matched the
    # default only (ridge=10 here moves every atom by ~0.1-0.9)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    D0 = rng.standard_normal((6, 8))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    A = orthogonal_mp(X, D0, n_nonzero=2, dtype=np.float64)
    for ridge in (1e-6, 10.0):
        expected = mod_dictionary(X, A, ridge=ridge)
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)
        D, _ = learn_mod(X, 6, method="omp", n_nonzero=2, n_updates=1, ridge=ridge, init=D0,
                         reseed_patience=None, duplicate_tol=None, dtype=np.float64,
                         seed=0, progress=False)
        np.testing.assert_allclose(D, expected, atol=1e-10)


def test_mod_dictionary_refuses_fewer_rows_of_codes_than_samples():
    # one row of codes per sample: fewer rows of A than of X failed inside the product
    # A^T X with NumPy's "matmul: Input operand 1 has a mismatch", naming no argument
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match=r"A must have one row of codes per sample of X "
                                         r"\(5\), got shape \(4, 2\)"):
        mod_dictionary(X, np.ones((4, 2)))


def test_mod_dictionary_refuses_data_whose_sums_with_the_codes_overflow():
    # the range check bounds A^T X by |X| as well as |A|: codes of 2 with data of 1e307
    # (20 samples) make A^T X = 4e308, beyond float64, which failed inside SciPy's solve
    # ("array must not contain infs or NaNs") when only |A| was counted
    X, A = np.full((20, 8), 1e307), np.full((20, 4), 2.0)
    with pytest.raises(ValueError, match=r"^X and A: codes up to \|A\| = 2 and data up to "
                                         r"\|X\| = 1e\+307 over 20 samples make A\^T A and "
                                         r"A\^T X reach ~1e309"):
        mod_dictionary(X, A)


@pytest.mark.parametrize("lam", [0.01, 0.05])  # mu = 0.2 and 1.0014: both branches
def test_cauchy_inference_of_tiny_data_is_the_ridge_solution(lam):
    # far below unit scale log(1 + (a / sigma)^2) = (a / sigma)^2 to float64's precision,
    # so the MAP is the ridge solution (D D^T + mu I)^-1 D x with mu = 2 lam / sigma^2
    # (the gradient of lam (a / sigma)^2); the closed form with mu = lam / sigma^2 went
    # through with its codes up to 2x off, and so did 1 / (s + mu s) for the ridge
    # system's 1 / (s + mu / s) over D's singular values s
    from v1model.learning import cauchy_inference

    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 8))
    sigma, scale = 0.316, 1e-170
    mu = 2 * lam / sigma**2
    ref = np.linalg.solve(D @ D.T + mu * np.eye(12), D @ X.T).T
    A = cauchy_inference(X * scale, D, lam, sigma, progress=False)
    np.testing.assert_allclose(A / scale, ref, rtol=1e-9, atol=1e-12)


def _one_sample(scale=3.0, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((1, n)), rng


def test_one_l1_update_is_the_hebbian_step_on_soft_threshold_codes():
    # an orthonormal D0 codes x by soft(x D0^T, lam) (the LASSO solution): one update of
    # a batch of copies of x is D0 + lr a^T (x - a D0), rows renormalised, and the history
    # records its energy 0.5 |r|^2 + lam |a|_1, the rates lr .. lr_final geometrically,
    # and the change |D1 - D0| / |D0|
    from scipy.stats import ortho_group

    from v1model.learning import learn_dictionary

    x, _ = _one_sample()
    D0 = ortho_group.rvs(6, random_state=1)
    lam, lr = 0.5, 0.05
    b = x @ D0.T
    a = np.sign(b) * np.maximum(np.abs(b) - lam, 0.0)
    r = x - a @ D0
    D1 = D0 + lr * a.T @ r
    D1 /= np.linalg.norm(D1, axis=1, keepdims=True)
    kw = dict(lam=lam, D0=D0, batch_size=3, lr=lr, lr_final=0.01, inference="fista",
              inference_params=dict(tol=1e-10), seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D, hist = learn_dictionary(x, 6, n_updates=1, **kw)
        _, hist2 = learn_dictionary(x, 6, n_updates=3, **kw)
    np.testing.assert_allclose(D, D1, atol=1e-6)  # float32 codes
    assert float(hist["learning_rate"][0]) == lr
    np.testing.assert_allclose(hist2["learning_rate"], np.geomspace(lr, 0.01, 3), rtol=1e-12)
    np.testing.assert_allclose(float(hist["objective"][0]),
                               0.5 * (r**2).sum() + lam * np.abs(a).sum(), rtol=1e-5)
    np.testing.assert_allclose(float(hist["dictionary_change"][0]),
                               np.linalg.norm(D1 - D0) / np.linalg.norm(D0), rtol=1e-4)


def test_one_cauchy_update_adapts_the_gains_by_the_code_variance():
    # one Cauchy update on a batch of 4 copies of x: MAP codes a (cauchy_inference), the
    # running variance keep * var_goal + (1 - keep) * a^2 with keep = (1 - var_eta)^4 (one
    # update per sample), atom lengths |d| (var / var_goal)^gain_rate, the step
    # D0 + lr a^T r rescaled to them, and the fraction of |a| > sigma
    from v1model.learning import cauchy_inference, learn_dictionary

    x, rng = _one_sample(scale=6.0)
    D0 = rng.standard_normal((5, 6))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    D0[0] *= 1.5  # Cauchy atoms carry their gains
    lam, sigma, lr, var_goal, var_eta, gain_rate = 0.05, 1.2, 0.05, 0.1, 0.05, 0.3
    a = cauchy_inference(x, D0, lam, sigma, tol=1e-12)
    keep = (1 - var_eta) ** 4
    code_var = keep * var_goal + (1 - keep) * a[0] ** 2
    gain = np.linalg.norm(D0, axis=1) * (code_var / var_goal) ** gain_rate
    D1 = D0 + lr * a.T @ (x - a @ D0)
    D1 *= (gain / np.linalg.norm(D1, axis=1))[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D, hist = learn_dictionary(x, 5, prior="cauchy", inference="map", lam=lam,
                                   sigma=sigma, D0=D0, n_updates=1, batch_size=4, lr=lr,
                                   var_goal=var_goal, var_eta=var_eta, gain_rate=gain_rate,
                                   seed=0, progress=False)
    # codes above and below sigma, and some between sigma and 2 sigma
    assert ((np.abs(a) > sigma) & (np.abs(a) < 2 * sigma)).any() and (np.abs(a) < sigma).any()
    # the learner's MAP stops at a looser tolerance: codes agree to ~1e-5
    np.testing.assert_allclose(hist["code_var"], code_var, rtol=1e-3)
    np.testing.assert_allclose(D, D1, rtol=1e-3, atol=1e-5)
    assert float(hist["fraction_active"][0]) == np.mean(np.abs(a) > sigma)
    np.testing.assert_allclose(float(hist["dictionary_change"][0]),
                               np.linalg.norm(D1 - D0) / np.linalg.norm(D0), rtol=1e-3)


def test_cauchy_codes_with_sigma_below_float64_squares_are_stationary():
    # sigma = 1e-160: sigma^2 underflows and the energy is evaluated through
    # h = sqrt(1 + (a / sigma)^2). For an orthonormal D and a != 0 the penalty is
    # 2 lam log|a / sigma| to float64's precision, so each code solves
    # a - b + 2 lam / a = 0: a = (b + sign(b) sqrt(b^2 - 8 lam)) / 2 from the start b
    from scipy.stats import ortho_group

    from v1model.learning import cauchy_inference

    x, _ = _one_sample()
    D = ortho_group.rvs(6, random_state=2)
    lam = 0.01
    b = (x @ D.T)[0]
    assert np.all(b * b > 8 * lam)
    expected = (b + np.sign(b) * np.sqrt(b * b - 8 * lam)) / 2
    A = cauchy_inference(x, D, lam, sigma=1e-160, tol=1e-12)
    np.testing.assert_allclose(A[0], expected, rtol=1e-8)


def test_cauchy_ridge_ignores_the_rounding_noise_of_a_rank_deficient_dictionary():
    # 4 atoms in a 3-dimensional subspace of R^4: D^T's fourth singular value is rounding
    # noise (~1e-16), not 0. Data so tiny that the ridge gives the MAP (lam = 1e-300):
    # the codes are the minimum-norm least-squares ones, numpy's lstsq (the noise
    # direction counted as 0, not blown up by 1 / s)
    from scipy.stats import ortho_group

    from v1model.learning import cauchy_inference

    rng = np.random.default_rng(5)
    Q = ortho_group.rvs(4, random_state=6)
    D = rng.standard_normal((4, 3)) @ Q[:3]
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    assert np.linalg.svd(D, compute_uv=False)[-1] > 0
    x = rng.standard_normal((2, 4))
    expected = np.linalg.lstsq(D.T, x.T, rcond=None)[0].T
    A = cauchy_inference(1e-200 * x, D, 1e-300)
    np.testing.assert_allclose(A / 1e-200, expected, rtol=1e-6, atol=1e-8)


def test_sparsenet_codes_start_from_the_drive_over_each_atoms_squared_length():
    # sparsenet's codes are 10 CG steps from b / diag(G) (cgf.c's start), and Cauchy atoms
    # carry their gains: with atoms of length 2, starting from b instead left the first
    # update's codes elsewhere (the learning tests' unit-norm D0 could not tell)
    from scipy.optimize import minimize

    from v1model.learning import learn_dictionary

    rng = np.random.default_rng(5)
    X = rng.standard_normal((50, 16)) * 0.3
    D0 = rng.standard_normal((32, 16))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    D0[::2] *= 2.0
    lam, sigma = 0.022, 0.316
    _, h = learn_dictionary(X, 32, prior="cauchy", lam=lam, sigma=sigma, n_updates=1,
                            lr=1e-12, D0=D0, batch_size=50, gain_rate=0.0, seed=0,
                            progress=False)
    batch = X[np.random.default_rng(0).integers(0, 50, 50)]
    G, B = D0 @ D0.T, batch @ D0.T

    def energy(a_flat):
        A = a_flat.reshape(B.shape)
        GA = A @ G
        f = 0.5 * np.sum(A * GA) - np.sum(A * B) + lam * np.log1p((A / sigma) ** 2).sum()
        return f, (GA - B + lam * 2 * A / (sigma**2 + A * A)).ravel()

    start = (B / np.diag(G)).ravel()
    cg = minimize(energy, start, jac=True, method="CG", options={"maxiter": 10, "gtol": 0.0})
    assert float(h["mean_abs_code"][0]) == pytest.approx(np.abs(cg.x).mean(), rel=1e-6)


def test_learning_refuses_a_lam_equal_to_the_largest_drive():
    # the soft threshold of a drive equal to lam is 0 ("at least the largest drive"):
    # every code stays zero and the dictionary would never change
    from v1model.learning import learn_dictionary

    X = 0.5 * np.eye(4)
    with pytest.raises(ValueError, match=r"lam=0.5 is at least the largest drive \|<d_i, x>\| "
                                         r"= 0.5 of the initial dictionary"):
        learn_dictionary(X, 4, lam=0.5, D0=np.eye(4), n_updates=2, batch_size=4,
                         inference="fista", seed=0, progress=False)


def test_cauchy_inference_warns_of_a_gradient_just_above_tol():
    # stopped by max_iter, a sample whose largest gradient g is 3x the tolerance (tol
    # times the power of two c below max|x|, the energy's scale) is warned of; the same 3
    # iterations are run (tol below every gradient met), g the energy's gradient by hand
    from v1model.inference import ConvergenceWarning
    from v1model.learning import cauchy_inference

    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 6))
    D = rng.standard_normal((8, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    lam, sigma = 0.05, 0.316
    c = 2.0 ** np.floor(np.log2(np.abs(x).max()))
    with pytest.warns(ConvergenceWarning):
        A1 = cauchy_inference(x, D, lam, sigma, tol=1e-300, max_iter=3)
    grad = (A1 @ D - x) @ D.T + lam * 2 * A1 / (sigma**2 + A1**2)
    g = np.abs(grad).max()
    with pytest.warns(ConvergenceWarning,
                      match=r"with 1 of 1 samples not converged \(row 0 of X\)"):
        A2 = cauchy_inference(x, D, lam, sigma, tol=g / (3 * c), max_iter=3)
    np.testing.assert_array_equal(A1, A2)
