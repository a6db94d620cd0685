"""Recovery of a planted dictionary: X = Z D_true + noise with 3 non-negative
coefficients per sample (64 features, 96 atoms, 4,000 samples, noise 0.01).
An SAE with 128 latents recovers >= 90% of the true atoms with |cosine| >
0.95 (the criterion of the MOD and K-SVD tests). Seeded, deterministic."""

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder

# measured recovery (seed 0 / seed 1) and final FVU in the comments, 2000 steps unless said;
# the default test trains 1000 steps (seed 0 measured: recovery 1.00 for all five, FVU
# 0.007 topk, 0.011 batchtopk, 0.024 relu, 0.011 jumprelu, 0.014 mp)
CASES = {
    # 1.00 / 1.00, FVU 0.007; with 96 latents (as many as true atoms): 1.00 / 0.90
    "topk": dict(k=3),
    # 1.00 / 1.00, FVU 0.010
    "batchtopk": dict(k=3),
    # 1.00 / 1.00, FVU 0.018 (L1 shrinkage), mean L0 6-7
    "relu": dict(lam=0.1),
    # 1.00 / 0.93, FVU 0.009, mean L0 3.0-3.2
    "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05),
    # SAE seeds 0-3 on this data: 1.00, 0.94, 1.00, 1.00; FVU 0.013 (gradient through
    # the pursuit; with the codes held fixed instead, training drifted away after
    # ~1,500 steps at lr 1e-3: FVU 0.014 -> 0.13)
    "mp": dict(k=3),
}


@pytest.mark.parametrize("activation", list(CASES))
def test_planted_dictionary_is_recovered(planted, recovery_score, activation):
    X, D_true, _ = planted
    sae = SparseAutoencoder(128, activation, n_steps=1000, batch_size=256, lr=3e-3, seed=0,
                            progress=False, **CASES[activation]).fit(X)
    assert recovery_score(sae.components_, D_true) >= 0.9
    np.testing.assert_allclose(np.linalg.norm(sae.components_, axis=1), 1.0, rtol=1e-5)
    # the fit explains the data: noise alone leaves FVU ~ 0.0064 / 1.1
    assert float(sae.history_.fvu[-100:].mean()) < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("activation", ["topk", "batchtopk", "relu", "mp"])
def test_recovery_other_seeds(planted_factory, recovery_score, activation, seed):
    X, D_true, _ = planted_factory(seed=seed)
    sae = SparseAutoencoder(128, activation, n_steps=2000, lr=3e-3, seed=seed, progress=False,
                            **CASES[activation]).fit(X)
    assert recovery_score(sae.components_, D_true) >= 0.9


def test_recovery_score_can_fail(planted, recovery_score):
    # the criterion is not trivially met: random unit atoms recover nothing
    _, D_true, _ = planted
    random_atoms = np.random.default_rng(99).standard_normal((128, 64))  # not the seed of D_true
    assert recovery_score(random_atoms, D_true) == 0.0
