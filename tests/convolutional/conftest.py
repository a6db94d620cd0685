"""Fixtures for the convolutional tests: unit-norm random kernels, independent
references (SciPy's correlate, scikit-learn's Lasso on the explicit matrix)
and the LASSO objective computed from that matrix."""

import numpy as np
import pytest

pytest.importorskip("sklearn")


def unit_kernels(rng, shape):
    """Random Gaussian kernels of ``shape`` (n_kernels, *kernel_shape), unit norm."""
    k = rng.standard_normal(shape)
    norms = np.linalg.norm(k.reshape(len(k), -1), axis=1)
    return k / norms.reshape((-1,) + (1,) * (k.ndim - 1))


@pytest.fixture()
def make_kernels():
    """``make_kernels(rng, shape)``: unit-norm Gaussian kernels."""
    return unit_kernels


def dense_objective(M, X, A, lam):
    """Summed ``0.5 ||x - M^T a||^2 + lam ||a||_1`` from the explicit matrix ``M``
    (n_coefficients, n_features), in float64: independent of the operator's maps."""
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    A = np.asarray(A, dtype=np.float64).reshape(len(A), -1)
    R = X - A @ M
    return 0.5 * float((R * R).sum()) + lam * float(np.abs(A).sum())


@pytest.fixture(scope="session")
def lasso_codes():
    """``lasso_codes(M, X, lam, positive=False)``: scikit-learn's coordinate descent
    on the explicit matrix ``M`` to a tight tolerance, codes (n, n_coefficients),
    cached per problem."""
    from sklearn.linear_model import Lasso

    cache = {}

    def reference(M, X, lam, positive=False):
        X2 = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(len(X), -1))
        key = (M.shape, hash(M.tobytes()), X2.shape, hash(X2.tobytes()), float(lam),
               bool(positive))
        if key not in cache:
            lasso = Lasso(alpha=lam / X2.shape[1], fit_intercept=False, positive=positive,
                          max_iter=100000, tol=1e-12)
            cache[key] = lasso.fit(M.T, X2.T).coef_.reshape(len(X2), M.shape[0])
        return cache[key]

    return reference


@pytest.fixture(scope="session")
def objective_gap():
    """``objective_gap(M, X, A, A_ref, lam)``: ``(F(A) - F(A_ref)) / F(A_ref)`` of
    the summed LASSO objective on the explicit matrix."""

    def gap(M, X, A, A_ref, lam):
        f_ref = dense_objective(M, X, A_ref, lam)
        return (dense_objective(M, X, A, lam) - f_ref) / f_ref

    return gap
