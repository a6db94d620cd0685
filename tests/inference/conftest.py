"""Fixtures for the inference tests: a dictionary for the 8x8 natural patches
and scikit-learn LASSO references."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="session")
def patch_dictionary(whitened_images):
    """128 unit-norm 8x8 atoms (2x overcomplete) initialised from other patches.

    Data-initialised atoms are realistic (correlated, coherent) without the
    cost of learning a dictionary in every test run.
    """
    from stimuli import sample_patches

    D = sample_patches(whitened_images, 8, 128, seed=7, min_variance=0.05)
    return D / np.linalg.norm(D, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def lasso_reference():
    """``reference(X, D, lam, positive=False) -> codes`` from scikit-learn's
    coordinate descent (independent of our solvers), cached per problem."""
    from sklearn.linear_model import Lasso

    cache = {}

    def reference(X, D, lam, positive=False):
        # content, not id(): slices are new objects whose ids get reused
        X, D = np.ascontiguousarray(X), np.ascontiguousarray(D)
        key = (X.shape, hash(X.tobytes()), D.shape, hash(D.tobytes()), float(lam),
               bool(positive))
        if key not in cache:
            # sparse_encode's Lasso stops at tol=1e-4, which before scikit-learn 1.8 is
            # ~1e-7 short of the optimum: the same coordinate descent, to a tight tolerance
            lasso = Lasso(alpha=lam / X.shape[1], fit_intercept=False, positive=positive,
                          max_iter=100000, tol=1e-12)
            cache[key] = lasso.fit(D.T, X.T).coef_.reshape(X.shape[0], D.shape[0])
        return cache[key]

    return reference


@pytest.fixture(scope="session")
def relative_gap():
    """``relative_gap(X, D, A, A_ref, lam)``: (F(A) - F(A_ref)) / F(A_ref) for the
    summed LASSO objective, in float64."""
    from v1model.inference import lasso_objective

    def gap(X, D, A, A_ref, lam):
        f_ref = lasso_objective(X, D, A_ref, lam)
        return (lasso_objective(X, D, np.asarray(A, dtype=np.float64), lam) - f_ref) / f_ref

    return gap
