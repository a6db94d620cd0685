"""Dead and duplicate atoms are detected, re-seeded and counted."""

import numpy as np
import pytest

from v1model.learning._atoms import duplicate_atoms, reseed
from v1model.learning.ksvd import learn_ksvd
from v1model.learning.mod import learn_mod
from v1model.learning.online import learn_online


@pytest.fixture(scope="module")
def subspace_problem(planted_factory):
    """Data in the first 12 of 16 dimensions; an initial dictionary made of
    the 10 true atoms plus 2 atoms along dimensions 13 and 14, which no
    sample can use (zero correlation with all data)."""
    X, D_true, _ = planted_factory(n_samples=600, n_features=12, n_atoms=10, seed=4)
    X = np.hstack([X, np.zeros((len(X), 4))])
    D_true = np.hstack([D_true, np.zeros((10, 4))])
    orphans = np.zeros((2, 16))
    orphans[0, 12] = orphans[1, 13] = 1.0
    return X, D_true, np.vstack([D_true, orphans])


@pytest.mark.parametrize("learner, kwargs", [
    (learn_mod, {}),
    (learn_ksvd, {"method": "fista"}),
    (learn_ksvd, {"method": "fista", "approximate": True}),
])
def test_unused_atoms_reseeded_at_first_update(subspace_problem, learner, kwargs):
    X, _, D0 = subspace_problem
    D, h = learner(X, 12, lam=0.3, n_updates=3, init=D0, seed=0, progress=False, **kwargs)
    assert h["n_reseeded"].values[0] == 2
    # re-seeded from residuals, which live in the data's subspace
    assert np.abs(D[:, 12:]).max() < 1e-5


def test_no_reseeding_when_disabled(subspace_problem):
    X, _, D0 = subspace_problem
    D, h = learn_mod(X, 12, lam=0.3, n_updates=3, init=D0, reseed_patience=None, seed=0,
                     progress=False)
    assert h["n_reseeded"].sum() == 0
    np.testing.assert_allclose(D[10:], D0[10:], atol=1e-6)


def test_online_reseeds_after_patience(subspace_problem):
    X, _, D0 = subspace_problem
    D, h = learn_online(X, 12, lam=0.3, n_updates=6, batch_size=100, init=D0,
                        reseed_patience=3, seed=0, progress=False)
    np.testing.assert_array_equal(h["n_reseeded"].values[:3], [0, 0, 2])
    assert np.abs(D[:, 12:]).max() < 1e-5


def test_duplicate_atom_reseeded_and_dictionary_recovered(planted, recovery_score):
    X, D_true, _ = planted
    # the true dictionary with atom 0 twice: FISTA splits the code between the
    # copies, so neither is ever unused; only the duplicate test catches it
    D0 = np.vstack([D_true, D_true[:1]])
    D, h = learn_mod(X, 25, lam=0.3, n_updates=5, init=D0, seed=0, progress=False)
    assert h["n_reseeded"].values[0] >= 1
    cos = np.abs(D @ D.T)[np.triu_indices(25, 1)]
    assert cos.max() < 0.99
    assert recovery_score(D, D_true) == 1.0


def test_duplicate_is_used_so_only_the_duplicate_check_catches_it(planted):
    X, D_true, _ = planted
    D0 = np.vstack([D_true, D_true[:1]])
    _, without = learn_mod(X, 25, lam=0.3, n_updates=1, init=D0, duplicate_tol=None, seed=0,
                           progress=False)
    _, with_check = learn_mod(X, 25, lam=0.3, n_updates=1, init=D0, seed=0, progress=False)
    assert without["n_reseeded"].values.tolist() == [0]
    assert with_check["n_reseeded"].values.tolist() == [1]


def test_duplicate_atoms_finds_later_copies():
    D = np.eye(4)
    D = np.vstack([D, -D[1], 0.999 * D[2] + 0.04 * D[3]])
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    np.testing.assert_array_equal(duplicate_atoms(D, 0.99), [4, 5])


def test_reseed_uses_worst_reconstructed_residuals(rng):
    X = rng.standard_normal((20, 5)) * 0.01
    X[7] = [0.0, 3.0, 0.0, 0.0, 4.0]  # by far the worst reconstructed
    D = np.eye(5)[:3]
    A = X[:, :3].copy()
    reseed(D, np.array([1]), X, A, rng)
    # residual of sample 7 once the re-seeded atom's own code is dropped: (0, 3, 0, 0, 4) / 5
    np.testing.assert_allclose(D[1], [0, 0.6, 0, 0, 0.8], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    assert np.all(A[:, 1] == 0)
