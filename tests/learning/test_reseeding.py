"""Dead and duplicate atoms are detected, re-seeded and counted."""

import numpy as np
import pytest

from v1model.learning._atoms import AtomUsage, duplicate_atoms, reseed
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


def test_a_quiet_stretch_of_a_stream_does_not_reseed_the_learned_atoms(planted):
    # minibatches whose codes are all zero (signal below lam) counted as idle for every
    # atom: after reseed_patience of them the whole learned dictionary was replaced by
    # the quiet samples' noise
    from v1model.learning import SparseDictionaryLearner

    X, D_true, _ = planted
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=100, init=D_true, seed=0)
    learner.partial_fit(X[:500])
    D = learner.components_.copy()
    quiet = 1e-3 * np.random.default_rng(1).standard_normal((1200, 16))  # 12 > 10 batches
    learner.partial_fit(quiet)
    assert learner.history_["fraction_active"].values[5:].max() == 0
    np.testing.assert_array_equal(learner.history_["n_reseeded"].values[5:], 0)
    np.testing.assert_array_less(0.99, np.abs(np.sum(D * learner.components_, axis=1)))


def test_a_stream_of_single_samples_counts_patience_in_full_minibatches(planted,
                                                                         subspace_problem):
    # each one-sample chunk counted as a whole idle update: an atom that ten samples in a
    # row happened not to use (a quarter of the time for 3 of 24 atoms per sample) was
    # re-seeded, and the learned dictionary churned
    from v1model.learning import SparseDictionaryLearner

    X, D_true, _ = planted
    # (no duplicate check: single-sample statistics make transient near-copies early on)
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=100, init=D_true,
                                      duplicate_tol=None, seed=0)
    for x in X[:400]:
        learner.partial_fit(x[None])
    assert learner.history_["n_reseeded"].sum() == 0
    # an atom no sample can use still goes, after reseed_patience * batch_size samples
    X, _, D0 = subspace_problem
    learner = SparseDictionaryLearner(12, lam=0.3, batch_size=50, reseed_patience=2, init=D0,
                                      duplicate_tol=None, seed=0)
    for x in X[:120]:
        learner.partial_fit(x[None])
    reseeded = learner.history_["n_reseeded"].values
    assert np.flatnonzero(reseeded).tolist() == [99] and reseeded[99] == 2


@pytest.mark.parametrize("learner, kwargs", [
    (learn_online, {"lam": 0.1, "n_updates": 30, "batch_size": 100}),
    (learn_mod, {"lam": 0.1, "n_updates": 3}),
    (learn_ksvd, {"n_nonzero": 2, "n_updates": 3}),
])
def test_with_positive_codes_an_on_off_pair_is_not_a_duplicate(learner, kwargs):
    # the duplicate check compared |cos|: with non-negative codes, d and -d (an ON/OFF
    # pair, which a code that cannot change sign needs both of) were re-seeded as copies
    # and the planted dictionary was lost
    rng = np.random.default_rng(0)
    half = rng.standard_normal((8, 16))
    D_true = np.vstack([half, -half]) / np.linalg.norm(np.vstack([half, -half]), axis=1,
                                                         keepdims=True)
    codes = np.zeros((1000, 16))
    for i in range(1000):
        pair = rng.choice(8, 2, replace=False) + 8 * rng.integers(0, 2, 2)
        codes[i, pair] = rng.uniform(1.0, 2.0, 2)
    X = codes @ D_true + 0.01 * rng.standard_normal((1000, 16))
    D, h = learner(X, 16, positive=True, init=D_true, seed=0, progress=False, **kwargs)
    assert h["n_reseeded"].sum() == 0
    np.testing.assert_array_less(0.98, np.sum(D * D_true, axis=1))  # every atom kept, signed
    # codes of either sign can use d for -d: |cos| still calls them copies
    np.testing.assert_array_equal(duplicate_atoms(D_true, 0.99), np.arange(8, 16))
    assert duplicate_atoms(D_true, 0.99, signed=True).size == 0


def test_reseeding_does_not_recreate_the_duplicate_it_replaces(rng):
    # atom 3 is a copy of atom 0 and carries the code of sample 0: with that code dropped,
    # the residual of sample 0 (the worst reconstructed) lies along atom 0 again, and the
    # "re-seeded" atom was the duplicate once more
    X = 0.01 * rng.standard_normal((20, 5))
    X[0] = [4.0, 0.0, 0.0, 0.0, 0.0]
    X[1] = [0.0, 0.0, 0.0, 0.6, 0.8]
    D = np.vstack([np.eye(5)[:3], np.eye(5)[0]])
    A = np.zeros((20, 4))
    A[0, 3] = 4.0
    reseed(D, np.array([3]), X, A, rng, duplicate_tol=0.99)
    # the next worst sample's residual instead, which no atom covers
    np.testing.assert_allclose(D[3], [0, 0, 0, 0.6, 0.8], atol=1e-12)
    assert duplicate_atoms(D, 0.99).size == 0


@pytest.mark.parametrize("learner, kwargs", [
    (learn_mod, {}),
    (learn_ksvd, {"method": "fista"}),
    (learn_online, {}),
])
def test_more_atoms_than_samples_warns_and_returns_no_duplicates(learner, kwargs):
    # 128 atoms from 50 digits: the returned dictionary had 47 atoms within |cos| 0.99 of
    # another (re-seeded from residuals along live atoms), and nothing said why ~70 atoms
    # were re-seeded every update (learn_online said nothing until 2026-12-07, re-seeding
    # 79 atoms in 10 minibatches)
    from sklearn.datasets import load_digits

    X = load_digits().data[:50] / 16
    with pytest.warns(UserWarning, match=r"n_atoms=128 is more than the 50 training samples"):
        D, h = learner(X, 128, lam=0.2, n_updates=10, seed=0, progress=False, **kwargs)
    assert duplicate_atoms(D.astype(np.float64), 0.99).size == 0


def test_signed_reseed_takes_a_residual_opposite_to_a_kept_atom():
    # with non-negative codes (signed) -d is not a duplicate of d: the worst residual,
    # along -e1, becomes the new atom (|cosine| would pass it over for the next sample)
    D = np.eye(3)
    # (the next sample at |cos| 0.71 to e2: under RESEED_MAX_COSINE, 0.9)
    X = np.array([[-2.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    reseed(D, [2], X, np.zeros((2, 3)), np.random.default_rng(0), duplicate_tol=0.99,
           signed=True)
    np.testing.assert_allclose(D[2], [-1.0, 0.0, 0.0])
    D = np.eye(3)
    reseed(D, [2], X, np.zeros((2, 3)), np.random.default_rng(0), duplicate_tol=0.99)
    np.testing.assert_allclose(D[2], np.array([0.0, 1.0, 1.0]) / np.sqrt(2))


def test_reseed_passes_over_a_residual_just_under_duplicate_tol(rng):
    # the worst residual is at |cos| 0.95 to kept atom 0, under duplicate_tol 0.99: it was
    # taken, and the next sweep pulled it onto atom 0 (K-SVD on Aharon et al.'s setup
    # re-seeded one atom from the same sample in 72 of 80 updates)
    X = 0.01 * rng.standard_normal((20, 5))
    X[0] = 4.0 * np.array([0.95, np.sqrt(1 - 0.95**2), 0.0, 0.0, 0.0])
    X[1] = [0.0, 0.0, 0.0, 0.6, 0.8]
    D = np.vstack([np.eye(5)[:3], np.eye(5)[2]])
    reseed(D, np.array([3]), X, np.zeros((20, 4)), rng, duplicate_tol=0.99)
    np.testing.assert_allclose(D[3], [0, 0, 0, 0.6, 0.8], atol=1e-12)
    # a lower duplicate_tol still rules: at 0.5 a residual at 0.6 to a kept atom is passed
    # over too
    X[1] = [0.6, 0.0, 0.0, 0.0, 0.8]
    X[2] = [0.0, 0.0, 0.0, 0.0, 0.9]
    D = np.vstack([np.eye(5)[:3], np.eye(5)[2]])
    reseed(D, np.array([3]), X, np.zeros((20, 4)), rng, duplicate_tol=0.5)
    np.testing.assert_allclose(D[3], [0, 0, 0, 0, 1.0], atol=1e-12)


def _rarely_used_atom_problem(planted_factory):
    """(X, D0): 600 planted samples in 12 of 13 dimensions, two of them replaced by small
    outliers along the 13th; D0 holds 9 of the planted atoms and, as atom 9, the 13th
    dimension, which only the 2 outliers use."""
    X, D_true, _ = planted_factory(n_samples=600, n_features=12, n_atoms=10, seed=4)
    X = np.hstack([X, np.zeros((len(X), 1))])
    X[:2] = 0.0
    X[:2, 12] = [0.5, -0.5]
    D0 = np.vstack([np.hstack([D_true[:9], np.zeros((9, 1))]), np.eye(13)[12]])
    return X, D0


def test_ksvd_reseeds_an_atom_fewer_than_min_usage_samples_use(planted_factory):
    # K-SVD's "clear dictionary" step (Aharon et al.'s toolbox, Rubinstein's KSVD-Box):
    # an atom fewer than 4 samples use is replaced. Atom 9 lies along a dimension only
    # two small outliers reach: used (by 2 samples), so it was never re-seeded
    from sklearn.linear_model import orthogonal_mp

    X, D0 = _rarely_used_atom_problem(planted_factory)
    # scikit-learn's OMP (3 atoms, as learn_ksvd's coding) uses atom 9 for exactly 2 samples
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="linear dependence"):
        codes = orthogonal_mp(D0.T, X.T, n_nonzero_coefs=3).T
    assert np.count_nonzero(codes[:, 9]) == 2
    D, h = learn_ksvd(X, 10, n_nonzero=3, init=D0, n_updates=1, min_usage=4, seed=0,
                      progress=False)
    assert h["n_reseeded"].values[0] == 1 and h.attrs["min_usage"] == 4
    # re-seeded from a residual in the data's 12 dimensions (the outliers' is smaller)
    assert abs(D[9, 12]) < 1e-6
    # the default, 1, re-seeds only atoms no sample uses: the atom stays on the outliers
    D, h = learn_ksvd(X, 10, n_nonzero=3, init=D0, n_updates=1, seed=0, progress=False)
    assert h["n_reseeded"].values[0] == 0 and h.attrs["min_usage"] == 1
    assert abs(D[9, 12]) == pytest.approx(1.0, abs=1e-6)


def test_atom_usage_counts_updates_below_min_usage():
    # 3 atoms; codes of 5 samples use atom 0 five times, atom 1 twice, atom 2 never
    A = np.zeros((5, 3))
    A[:, 0] = 1.0
    A[:2, 1] = 1.0
    D = np.eye(3)
    usage = AtomUsage(3, 2, None, min_usage=3)
    np.testing.assert_array_equal(usage.to_reseed(A, D), [])
    np.testing.assert_array_equal(usage.unused, [0, 1, 1])
    np.testing.assert_array_equal(usage.to_reseed(A, D), [1, 2])
    # the default (and a state pickled before min_usage existed): only unused atoms
    old = AtomUsage(3, 1, None)
    del old.min_usage
    np.testing.assert_array_equal(old.to_reseed(A, D), [2])


@pytest.mark.parametrize("learner", [learn_ksvd, learn_mod])
@pytest.mark.parametrize("value, error, message", [
    (0, ValueError, "min_usage must be >= 1, got 0"),
    (2.5, TypeError, "min_usage must be an integer, got 2.5"),
])
def test_min_usage_is_validated(planted, learner, value, error, message):
    X, _, _ = planted
    with pytest.raises(error, match=message):
        learner(X, 8, n_nonzero=2, method="omp", n_updates=1, min_usage=value, progress=False)


@pytest.mark.parametrize("learner", [learn_ksvd, learn_mod])
def test_min_usage_no_update_can_reach_is_refused(planted, learner):
    # min_usage above the samples an update codes counted every atom unused at every
    # update: min_usage=100 with 60 samples re-seeded all 8 atoms at each of the updates
    # (the learned atoms were that update's residuals), unsaid; with reseed_patience=None
    # it was ignored
    X = planted[0][:60]
    args = dict(n_nonzero=2, method="omp", n_updates=2, seed=0, progress=False)
    with pytest.raises(ValueError, match=r"^min_usage=100 but an update codes 60 samples "
                                         r".*give min_usage <= 60$"):
        learner(X, 8, min_usage=100, **args)
    with pytest.raises(ValueError, match=r"min_usage=11 but an update codes 10 samples"):
        learner(X, 8, min_usage=11, batch_size=10, **args)
    with pytest.raises(ValueError, match=r"^min_usage=4 with reseed_patience=None: no atom "
                                         r"is re-seeded"):
        learner(X, 8, min_usage=4, reseed_patience=None, **args)
    # at the bound it is taken (an atom used by every coded sample is kept), and the
    # default passes with reseed_patience=None
    _, h = learner(X, 8, min_usage=10, batch_size=10, **args)
    assert h.attrs["min_usage"] == 10
    _, h = learner(X, 8, reseed_patience=None, **args)
    assert h.attrs["min_usage"] == 1 and h["n_reseeded"].values.sum() == 0


@pytest.mark.parametrize("algorithm, learner", [("ksvd", learn_ksvd), ("mod", learn_mod)])
def test_dictionary_learner_passes_min_usage_to_mod_and_ksvd(planted_factory, algorithm,
                                                               learner):
    # SparseDictionaryLearner had no min_usage: the rule of learn_ksvd / learn_mod was out
    # of reach of scikit-learn-style users (TypeError, and set_params refused the name)
    from sklearn.base import clone

    from v1model.learning import SparseDictionaryLearner

    X, D0 = _rarely_used_atom_problem(planted_factory)
    settings = dict(method="omp", n_nonzero=3, init=D0, n_updates=1, seed=0)
    estimator = clone(SparseDictionaryLearner(10, algorithm=algorithm, **settings)
                      .set_params(min_usage=4))
    assert estimator.get_params()["min_usage"] == 4
    estimator.fit(X)
    D, h = learner(X, 10, min_usage=4, progress=False, **settings)
    # the function's dictionary, re-seeding the atom that 2 samples use
    np.testing.assert_array_equal(estimator.components_, D)
    assert h["n_reseeded"].values[0] == 1 and abs(D[9, 12]) < 1e-6
    assert estimator.history_["n_reseeded"].values[0] == 1
    assert estimator.history_.attrs["min_usage"] == 4
    # recorded with the learner, and a saved learner loads with it
    ds = estimator.to_dataset()
    assert ds.attrs["param_min_usage"] == 4
    assert SparseDictionaryLearner.from_dataset(ds).get_params()["min_usage"] == 4
    # the default keeps the rarely used atom
    default = SparseDictionaryLearner(10, algorithm=algorithm, **settings).fit(X)
    assert default.history_["n_reseeded"].values[0] == 0
    assert default.history_.attrs["min_usage"] == 1


@pytest.mark.parametrize("params, error, message", [
    (dict(min_usage=0), ValueError, r"^min_usage must be >= 1, got 0"),
    (dict(min_usage=2.5), TypeError, r"^min_usage must be an integer, got 2.5"),
    (dict(min_usage=11, algorithm="online", batch_size=10), ValueError,
     r"^min_usage=11 but an update codes 10 samples"),
    (dict(min_usage=61, algorithm="online"), ValueError,
     r"^min_usage=61 but an update codes 60 samples"),
    (dict(min_usage=4, algorithm="online", reseed_patience=None), ValueError,
     r"^min_usage=4 with reseed_patience=None: no atom is re-seeded"),
    (dict(min_usage=4, reseed_patience=None), ValueError,
     r"^min_usage=4 with reseed_patience=None: no atom is re-seeded"),
    (dict(min_usage=61), ValueError, r"^min_usage=61 but an update codes 60 samples"),
])
def test_dictionary_learner_validates_min_usage_at_fit(planted, params, error, message):
    from v1model.learning import SparseDictionaryLearner

    X = planted[0][:60]
    settings = dict(dict(algorithm="ksvd", method="omp", n_nonzero=2, n_updates=1, seed=0),
                    **params)
    estimator = SparseDictionaryLearner(8, **settings)
    with pytest.raises(error, match=message):
        estimator.fit(X)
    assert not hasattr(estimator, "components_")


def test_online_learning_reseeds_an_atom_fewer_than_min_usage_codes_use(planted_factory):
    # learn_online had no min_usage (SparseDictionaryLearner refused it online), so K-SVD's
    # "clear dictionary" rule was out of reach of the streaming learner: the atom that only
    # the 2 outliers use stayed on them. One minibatch of all 600 samples, OMP codes
    X, D0 = _rarely_used_atom_problem(planted_factory)
    settings = dict(method="omp", n_nonzero=3, init=D0, n_updates=1, batch_size=600,
                    reseed_patience=1, shuffle=False, seed=0, progress=False)
    D, h = learn_online(X, 10, min_usage=4, **settings)
    assert h["n_reseeded"].values[0] == 1 and h.attrs["min_usage"] == 4
    assert abs(D[9, 12]) < 1e-6  # re-seeded from a residual in the data's 12 dimensions
    D, h = learn_online(X, 10, **settings)
    assert h["n_reseeded"].values[0] == 0 and h.attrs["min_usage"] == 1
    assert abs(D[9, 12]) > 0.99  # the default keeps the rarely used atom on the outliers
    with pytest.raises(ValueError, match=r"^min_usage=601 but an update codes 600 samples"):
        learn_online(X, 10, min_usage=601, **settings)
    with pytest.raises(ValueError, match=r"^min_usage=4 with reseed_patience=None"):
        learn_online(X, 10, min_usage=4, **dict(settings, reseed_patience=None))


def test_dictionary_learner_online_takes_min_usage_and_keeps_it_in_the_stream(
        planted_factory):
    # the estimator refused min_usage > 1 with algorithm="online"; now it is learn_online's,
    # and a saved stream goes on with it
    from v1model.learning import SparseDictionaryLearner

    X, D0 = _rarely_used_atom_problem(planted_factory)
    settings = dict(method="omp", n_nonzero=3, init=D0, n_updates=1, batch_size=600,
                    reseed_patience=1, shuffle=False, seed=0)
    estimator = SparseDictionaryLearner(10, min_usage=4, **settings).fit(X)
    D, _ = learn_online(X, 10, min_usage=4, progress=False, **settings)
    np.testing.assert_array_equal(estimator.components_, D)
    assert estimator.history_["n_reseeded"].values[0] == 1
    assert estimator.history_.attrs["min_usage"] == 4
    stream = SparseDictionaryLearner(10, min_usage=4, **settings)
    stream.partial_fit(X)
    assert stream.history_["n_reseeded"].values[0] == 1
    loaded = SparseDictionaryLearner.from_dataset(stream.to_dataset())
    assert loaded._state.usage.min_usage == 4
    stream.partial_fit(X[::-1])
    loaded.partial_fit(X[::-1])
    np.testing.assert_array_equal(loaded.components_, stream.components_)
    assert "settings_changed_at" not in loaded.history_.attrs


def test_a_short_minibatch_asks_for_its_share_of_min_usage():
    # a partial_fit minibatch of half batch_size: an atom 2 of its codes use has its share
    # of min_usage=4 and is kept; one code is not enough, and idles the atom by the share
    A = np.zeros((128, 3))
    A[:, 0] = 1.0
    A[:2, 1] = 1.0
    A[:1, 2] = 1.0
    usage = AtomUsage(3, 1, None, min_usage=4)
    np.testing.assert_array_equal(usage.to_reseed(A, np.eye(3), share=0.5), [])
    np.testing.assert_array_equal(usage.unused, [0, 0, 0.5])
    np.testing.assert_array_equal(usage.to_reseed(A, np.eye(3), share=0.5), [2])
    # min_usage=1: any use counts, whatever the share
    usage = AtomUsage(3, 1, None)
    usage.to_reseed(A, np.eye(3), share=1 / 256)
    np.testing.assert_array_equal(usage.unused, [0, 0, 0])
