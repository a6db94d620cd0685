"""Fixtures for the LISTA tests: whitened natural 8x8 patches, a coherent
data-initialised dictionary and their optimal LASSO codes."""

import numpy as np
import pytest

#: L1 penalty of the patch problem: ~5% of the coefficients of z* are non-zero
PATCH_LAM = 0.5


@pytest.fixture(scope="session")
def patch_problem(whitened_images):
    """``(X_train, X_test, D, lam)``: 5000 + 500 whitened 8x8 patches (float64) and 128
    unit-norm atoms cut from other patches (2x overcomplete and coherent, so that
    ISTA converges slowly: the regime where Gregor & LeCun's claim is interesting)."""
    from stimuli import sample_patches

    X = sample_patches(whitened_images, 8, 5500, seed=1)
    D = sample_patches(whitened_images, 8, 128, seed=7, min_variance=0.05)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return X[:5000], X[5000:], D, PATCH_LAM


@pytest.fixture()
def small_problem():
    """``(X, D, lam)``: 40 Gaussian signals of 8 features, 12 unit-norm Gaussian atoms."""
    rng = np.random.default_rng(3)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((40, 8)), D, 0.3
