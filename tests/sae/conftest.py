"""Fixtures for the sparse-autoencoder tests: a planted non-negative sparse
problem and an order-free recovery score by signed cosine; BLAS on one thread (the
matrices are small: threaded BLAS only contends for the shared cores)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def make_planted(n_samples=4000, n_features=64, n_atoms=96, k=3, noise=0.01, seed=0):
    """X = Z D_true + noise: ``k`` random atoms per sample with coefficients
    U(1, 2) (non-negative, as an SAE's latents); D_true Gaussian, unit rows."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        Z[i, rng.choice(n_atoms, k, replace=False)] = rng.uniform(1.0, 2.0, k)
    X = Z @ D + noise * rng.standard_normal((n_samples, n_features))
    return X, D, Z


def atoms_recovered(D_learned, D_true, threshold=0.95):
    """Fraction of the true atoms that some learned atom matches with cosine >
    ``threshold``: signed, unlike the |cosine| of the MOD and K-SVD tests in
    tests/learning, whose codes take either sign. Here the planted coefficients and
    the SAE's latents are non-negative, so an atom pointing against a true one cannot
    code it (as the amortisation-gap study matches them since 2026-12-07); with |cos|,
    the negated true atoms scored 1.0."""
    D_learned = np.asarray(D_learned, dtype=np.float64)
    cosines = D_true @ (D_learned / np.linalg.norm(D_learned, axis=1)[:, None]).T
    return float(np.mean(cosines.max(axis=1) > threshold))


@pytest.fixture(scope="session")
def planted():
    """(X, D_true, Z_true): 4,000 samples, 64 features, 96 atoms, 3 per sample."""
    return make_planted()


@pytest.fixture(scope="session")
def recovery_score():
    return atoms_recovered


@pytest.fixture(scope="session")
def planted_factory():
    return make_planted


def small_problem(activation, n=24, f=6, m=10, seed=0):
    """Parameters of ``activation`` (an ``m``-latent SAE of ``f`` features, decoder rows
    of unit norm, the encoder near them) and ``X`` (``n`` samples about 0.5): the small
    problem the gradient and mutation tests differentiate."""
    from v1model.sae.objective import parameter_names

    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, f))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    params = {"encoder": D + 0.3 * rng.standard_normal((m, f)),
              "b_enc": 0.1 * rng.standard_normal(m), "decoder": D,
              "b_dec": 0.1 * rng.standard_normal(f),
              "log_theta": np.log(rng.uniform(0.2, 0.6, m))}
    X = rng.standard_normal((n, f)) + 0.5
    return {name: params[name] for name in parameter_names(activation)}, X
