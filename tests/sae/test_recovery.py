"""Recovery of a planted dictionary: X = Z D_true + noise with 3 non-negative
coefficients per sample (64 features, 96 atoms, 4,000 samples, noise 0.01).
An SAE with 128 latents recovers >= 90% of the true atoms with cosine > 0.95
(signed: the coefficients and the latents are non-negative, so an atom pointing
against a true one does not count; the MOD and K-SVD tests take |cosine|, their codes
having either sign). Seeded, deterministic.

The SAE's seed is never the planted data's: the initial decoder is Gaussian rows
drawn first from ``default_rng(seed)``, as the planted atoms are, so with the same
seed the first 96 latents *started* at the planted atoms, and recovery held with the
encoder's gradient zeroed (the TopK case, at 1000 and 2000 steps)."""

import numpy as np
import pytest

from v1model.sae import SparseAutoencoder

#: offset of the SAE's seed from the planted data's (see the module docstring)
SEED_OFFSET = 1000

# measured with SAE seeds 1000 / 1001 on the planted data of seed 0, 1000 steps at lr 1e-2:
# recovery and final FVU in the comments (by signed cosine, re-measured 2026-12-07: the same
# as by |cos| in all ten runs). (At lr 3e-3, 1000 steps left relu and jumprelu at
# 0.57 and 0.54; the earlier numbers, 1.00 for all five, were those of a decoder started at
# the planted atoms.) With the encoder's gradient zeroed, every case but mp (which has no
# encoder) recovers 0.00 at FVU 0.19-0.62.
CASES = {
    # 0.98 / 0.98, FVU 0.014-0.015
    "topk": dict(k=3),
    # 0.98 / 1.00, FVU 0.013-0.018
    "batchtopk": dict(k=3),
    # 1.00 / 1.00, FVU 0.019 (L1 shrinkage), mean L0 7
    "relu": dict(lam=0.1),
    # 0.99 / 0.94, FVU 0.012-0.013, mean L0 3.0-3.2
    "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05),
    # 0.98 / 1.00, FVU 0.015-0.020 (gradient through the pursuit; with the codes held
    # fixed instead, training drifted away after ~1,500 steps at lr 1e-3: FVU 0.014 -> 0.13)
    "mp": dict(k=3),
}


@pytest.mark.parametrize("activation", list(CASES))
def test_planted_dictionary_is_recovered(planted, recovery_score, activation):
    X, D_true, _ = planted  # seed 0
    sae = SparseAutoencoder(128, activation, n_steps=1000, batch_size=256, lr=1e-2,
                            seed=SEED_OFFSET, progress=False, **CASES[activation]).fit(X)
    assert recovery_score(sae.components_, D_true) >= 0.9
    np.testing.assert_allclose(np.linalg.norm(sae.components_, axis=1), 1.0, rtol=1e-5)
    # the fit explains the data: noise alone leaves FVU ~ 0.0064 / 1.1
    assert float(sae.history_.fvu[-100:].mean()) < 0.05


# measured (SAE seeds 1001-1003): 0.96-1.00 for all four at every seed
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("activation", ["topk", "batchtopk", "relu", "mp"])
def test_recovery_other_seeds(planted_factory, recovery_score, activation, seed):
    X, D_true, _ = planted_factory(seed=seed)
    sae = SparseAutoencoder(128, activation, n_steps=2000, lr=1e-2, seed=seed + SEED_OFFSET,
                            progress=False, **CASES[activation]).fit(X)
    assert recovery_score(sae.components_, D_true) >= 0.9


def test_the_training_does_not_start_at_the_planted_atoms(planted, recovery_score):
    # the guard of the seeds above: one step from the SAE's start recovers nothing
    X, D_true, _ = planted
    sae = SparseAutoencoder(128, "topk", k=3, n_steps=1, batch_size=256, lr=1e-2,
                            seed=SEED_OFFSET, progress=False).fit(X)
    assert recovery_score(sae.components_, D_true) == 0.0


def test_recovery_score_can_fail(planted, recovery_score):
    # the criterion is not trivially met: random unit atoms recover nothing
    _, D_true, _ = planted
    random_atoms = np.random.default_rng(99).standard_normal((128, 64))  # not the seed of D_true
    assert recovery_score(random_atoms, D_true) == 0.0


def test_recovery_score_counts_no_atom_pointing_against_its_source(planted, recovery_score):
    # non-negative latents cannot code a source with an atom of the opposite sign: the
    # negated true atoms recover nothing (|cos| scored them 1.0), the true ones all, and
    # half of each recovers half
    _, D_true, _ = planted
    assert recovery_score(-D_true, D_true) == 0.0
    assert recovery_score(D_true, D_true) == 1.0
    mixed = np.vstack([D_true[:48], -D_true[48:]])
    assert recovery_score(mixed, D_true) == 0.5
