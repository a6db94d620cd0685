"""Fixtures for the dictionary-learning tests: planted sparse problems and a
recovery score that ignores atom order and sign."""

import numpy as np
import pytest


def make_planted(n_samples=1000, n_features=16, n_atoms=24, n_nonzero=3, noise=0.01, seed=0):
    """X = A D_true + noise with ``n_nonzero`` random atoms per sample,
    coefficients +-U(1, 2); D_true Gaussian with unit rows."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        idx = rng.choice(n_atoms, n_nonzero, replace=False)
        A[i, idx] = rng.choice([-1.0, 1.0], n_nonzero) * rng.uniform(1.0, 2.0, n_nonzero)
    X = A @ D + noise * rng.standard_normal((n_samples, n_features))
    return X, D, A


def cauchy_energy_and_gradient(a, G, B, lam, sigma):
    """The Cauchy-prior energy of codes ``a`` (flattened, shape of ``B``) summed over
    samples, 0.5 a G a - a.B + lam sum log(1 + (a / sigma)^2) (the data term up to a
    constant), and its gradient: the function scipy's CG minimises in the references
    of the Olshausen-Field tests (``G = D D^T``, ``B = X D^T``)."""
    A = a.reshape(B.shape)
    f = 0.5 * np.sum(A * (A @ G)) - np.sum(A * B) + lam * np.log1p((A / sigma) ** 2).sum()
    return f, (A @ G - B + 2 * lam * A / (sigma**2 + A * A)).ravel()


def recovery(D_learned, D_true, threshold=0.95):
    """Fraction of true atoms matched by a learned atom with |cosine| > threshold."""
    D_learned = np.asarray(D_learned, dtype=float)
    D_learned = D_learned / np.linalg.norm(D_learned, axis=1, keepdims=True)
    cos = np.abs(D_true @ D_learned.T)
    return float(np.mean(cos.max(axis=1) > threshold))


@pytest.fixture(scope="session")
def planted():
    """(X, D_true, A_true): 1,000 samples, 16 features, 24 atoms, 3 per sample."""
    return make_planted()


@pytest.fixture(scope="session")
def recovery_score():
    return recovery


@pytest.fixture(scope="session")
def planted_factory():
    return make_planted
