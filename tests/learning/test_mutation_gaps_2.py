"""Gaps found by the second mutation audit of the Olshausen-Field and MOD learners:
each test kills a planted bug that the other tests let through, and checks against an
independent reference (the closed-form least-squares dictionary, the ridge MAP of
the quadratic limit of the Cauchy prior, or the documented refusals)."""

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
