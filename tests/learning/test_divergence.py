"""Settings that pass the argument checks but would make a learning run
useless or blow up partway: they fail early with a message naming the
argument to change."""

import re
import warnings

import numpy as np
import pytest

from v1model.learning import (SparseDictionaryLearner, learn_dictionary, learn_ksvd, learn_mod,
                              learn_online)


@pytest.mark.filterwarnings("ignore:X has a mean square")  # scale 1e-8 is also warned of
@pytest.mark.parametrize("scale, lam", [(1.0, 1e3), (1e-8, 0.1)])
def test_of_learning_refuses_a_lam_that_zeroes_every_code(planted, scale, lam):
    # every code of the first batch is zero and no sample of X can ever give a
    # non-zero one: the dictionary would never change over all n_updates
    X = planted[0] * scale
    with pytest.raises(ValueError, match=rf"lam={lam!r} .*every code is zero.*lower lam"):
        learn_dictionary(X, 24, lam=lam, n_updates=5, progress=False, seed=0)


@pytest.mark.parametrize("inference, threshold", [("fista", "nonneg"), ("lca", "hard"),
                                                  ("iht", "soft")])
def test_of_learning_refuses_an_initial_dictionary_no_sample_drives(inference, threshold):
    # lam is well below the sample norms, but D0 is orthogonal to the data
    rng = np.random.default_rng(0)
    X = np.zeros((200, 16))
    X[:, :8] = rng.standard_normal((200, 8))
    D0 = np.zeros((12, 16))
    D0[:, 8:] = rng.standard_normal((12, 8))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    with pytest.raises(ValueError, match=r"lam=0.1 is at least the largest drive .* = 0 "):
        learn_dictionary(X, 12, lam=0.1, D0=D0, inference=inference, threshold=threshold,
                         n_updates=5, progress=False, seed=0)


def test_of_learning_with_a_sparse_first_batch_still_runs(planted):
    # a lam that zeroes most codes but not every sample's is left alone, and the rule
    # dD ~ <a r^T> moves only the atoms some sample used: at most one per non-zero code
    X = planted[0]
    lam = 0.9 * float(np.abs(X).max())
    rng = np.random.default_rng(1)
    D0 = rng.standard_normal((24, X.shape[1]))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    D, history = learn_dictionary(X, 24, lam=lam, n_updates=1, batch_size=100,
                                  progress=False, seed=0, D0=D0)
    n_codes = round(float(history["fraction_active"][0]) * 100 * 24)
    # (the others are only renormalised: changes at rounding level)
    moved = int(np.count_nonzero(np.abs(D - D0).max(axis=1) > 1e-12))
    assert 0 < n_codes < 24 and 0 < moved <= n_codes
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-12)
    assert float(history["dictionary_change"][0]) > 0


@pytest.mark.parametrize("learner", [
    lambda X, lam: learn_mod(X, 24, lam=lam, n_updates=3, progress=False, seed=0),
    lambda X, lam: learn_ksvd(X, 24, method="fista", lam=lam, n_updates=3, progress=False,
                              seed=0),
    lambda X, lam: learn_online(X, 24, lam=lam, n_updates=3, progress=False, seed=0),
    lambda X, lam: learn_mod(X, 24, method="iht", lam=lam, n_updates=3, progress=False,
                             seed=0),
    lambda X, lam: SparseDictionaryLearner(24, lam=lam, n_updates=3, seed=0).fit(X),
    lambda X, lam: SparseDictionaryLearner(24, algorithm="mod", lam=lam, n_updates=3,
                                           seed=0).fit(X),
], ids=["mod", "ksvd", "online", "mod-iht", "estimator-online", "estimator-mod"])
def test_learners_refuse_a_lam_above_every_sample_norm(planted, learner):
    # no unit-norm atom, re-seeded ones included, gives any sample a non-zero code
    X = planted[0]
    top = float(np.linalg.norm(X, axis=1).max())
    with pytest.raises(ValueError, match=rf"lam={2 * top!r} is at least the largest sample "
                                         r"norm .*every code is zero"):
        learner(X, 2 * top)
    with warnings.catch_warnings():  # below it: runs (IHT's codes may still all be zero,
        # warned of: test_learners_warn_when_every_code_stayed_zero)
        warnings.filterwarnings("ignore", "every code", UserWarning)
        learner(X, 0.5 * top)


def test_learners_keep_greedy_codes_whatever_the_scale(planted):
    # n_nonzero codes are never all zero: no lam check. OMP's atom choice and MOD's
    # normalised least-squares update are scale invariant (analytic), so the
    # dictionary learned from X * 1e-6 is the one learned from X, up to float32
    # rounding (measured 6e-8), and the relative reconstruction error is the same
    kwargs = dict(method="omp", n_nonzero=3, n_updates=2, progress=False, seed=0)
    D, h = learn_mod(planted[0] * 1e-6, 24, **kwargs)
    D_ref, h_ref = learn_mod(planted[0], 24, **kwargs)
    np.testing.assert_allclose(D, D_ref, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(h["reconstruction_error"], h_ref["reconstruction_error"],
                               rtol=1e-4)
    # and it learned something: two updates lower the error (0.28 -> 0.22)
    assert h["reconstruction_error"].values[-1] < 0.9 * h["reconstruction_error"].values[0]


@pytest.mark.parametrize("gain_rate", [10.0, 1e3])
def test_cauchy_gain_overflow_names_gain_rate(planted, gain_rate):
    # the gain adaptation overshoots: atom lengths (or the dictionary products) overflow
    with pytest.raises(FloatingPointError, match=rf"diverged at update \d+: .*gain adaptation"
                                                 rf".*lower gain_rate={gain_rate!r}"):
        learn_dictionary(planted[0], 24, prior="cauchy", gain_rate=gain_rate, n_updates=50,
                         progress=False, seed=0)


def test_mod_is_scale_equivariant_and_refuses_data_below_float32():
    """MOD with lam scaled with the data learns the same dictionary at any scale
    the working dtype can hold; data too small for float32 (products below its
    smallest normal number) is refused with the remedy, and float64 learns it."""
    from v1model.learning import learn_mod

    X = np.random.default_rng(0).standard_normal((300, 16))
    D1, _ = learn_mod(X, 8, lam=0.3, n_updates=5, seed=1, progress=False)
    for scale in (1e-12, 1e6):
        D, _ = learn_mod(X * scale, 8, lam=0.3 * scale, n_updates=5, seed=1, progress=False)
        # float32 rounds the scaled data differently; five updates amplify it to 2e-5
        # on AMD EPYC's OpenBLAS kernel (a lam 1.5x off the scale changes atoms by 0.06)
        np.testing.assert_allclose(D, D1, atol=2e-4)
    with pytest.raises(ValueError, match=r"X: values of at most 3.9e-25 are too small for "
                                         r"float32 .* or use dtype=float64"):
        learn_mod(X * 1e-25, 8, lam=0.3e-25, n_updates=5, seed=1, progress=False)
    D, _ = learn_mod(X * 1e-25, 8, lam=0.3e-25, n_updates=5, seed=1, progress=False,
                     dtype=np.float64)
    np.testing.assert_allclose(D, D1, atol=1e-3)


@pytest.mark.filterwarnings("ignore:X has a mean square")
@pytest.mark.parametrize("learner", [
    lambda X, c: learn_mod(X, 24, lam=0.3 * c, n_updates=3, progress=False, seed=0),
    lambda X, c: learn_online(X, 24, lam=0.3 * c, n_updates=3, progress=False, seed=0,
                              dtype=np.float64),
    lambda X, c: learn_dictionary(X, 24, lam=0.3 * c, lr=1 / c**2, n_updates=3,
                                  progress=False, seed=0),
], ids=["mod", "online", "olshausen-field"])
def test_recorded_relative_error_does_not_depend_on_the_scale(planted, learner):
    # ||x - D^T a||^2 / ||x||^2 had a floor of 1e-12 on ||x||^2: at scale 1e-8 the
    # history read 0.0000 for every learner while the dictionary learned the same
    X = planted[0]
    _, ref = learner(X, 1.0)
    _, small = learner(X * 1e-8, 1e-8)
    np.testing.assert_allclose(small["reconstruction_error"], ref["reconstruction_error"],
                               rtol=1e-3)
    assert ref["reconstruction_error"].min() > 0.01


@pytest.mark.parametrize("scale, effect", [(1e-2, "barely move"), (1e2, "throw")])
def test_of_learning_warns_when_the_data_is_off_the_scale_of_its_step(planted, scale, effect):
    # the step lr <a r^T> grows with X squared: with lam scaled and lr = 1 the planted
    # dictionary stayed frozen at 1e-2 and was wrecked at 1e2, without an error
    X = planted[0] * scale
    ratio = float(np.mean(X * X)) / 0.1
    with pytest.warns(UserWarning, match=rf"X has a mean square of .* {re.escape(f'{ratio:.3g}')} "
                                         rf"times .*lr=1 will {effect}.*lr ~ "
                                         rf"{re.escape(f'{1 / ratio:.3g}')}\)"):
        learn_dictionary(X, 24, lam=0.1 * scale, n_updates=2, progress=False, seed=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        learn_dictionary(planted[0], 24, lam=0.1, n_updates=2, progress=False, seed=0)


@pytest.mark.parametrize("learner", [learn_mod, learn_online])
def test_data_the_learners_accept_their_solvers_accept_too(learner):
    # float32 data of ~8e-22 passed the learners' check (limit ~1e-23) and was then
    # refused by their first inference call, whose limit was ~1e-21: one limit now
    X = np.random.default_rng(0).standard_normal((300, 16)) * 2e-22
    D, _ = learner(X, 8, lam=0.3 * 2e-22, n_updates=3, seed=1, progress=False)
    assert np.isfinite(D).all() and np.abs(D).max() > 0
    with pytest.raises(ValueError, match="too small for float32"):
        learner(X * 1e-3, 8, lam=0.3 * 2e-25, n_updates=3, seed=1, progress=False)


@pytest.mark.parametrize("prior, lam", [("l1", 0.1), ("cauchy", 0.022)])
def test_of_learning_warns_when_its_steps_never_settle(planted, prior, lam):
    """A huge lr replaces the dictionary every update and renormalisation keeps it
    finite: the run ended at the random-atom error with no sign (lr = 1e6: error 0.62
    against 0.24, exit 0). The change per update over the last quarter says so; a
    working lr's change falls far below the limit and is not warned about."""

    X = planted[0]
    kwargs = dict(lam=lam, prior=prior, n_updates=40, batch_size=50, progress=False, seed=0)
    with pytest.warns(UserWarning, match=r"the dictionary changed by 1\.\d+ of its norm per "
                                         r"update over the last 10 recorded updates .*"
                                         r"lower lr=1e\+06"):
        _, h = learn_dictionary(X, 24, lr=1e6, **kwargs)
    assert h["dictionary_change"].values[-10:].mean() > 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, h = learn_dictionary(X, 24, lr=1.0, **kwargs)
    assert h["dictionary_change"].values[-10:].mean() < 0.1


#: runs of several updates (the partial_fit stream is not warned of: one chunk)
BATCH_RUNS = ["mod", "ksvd", "online", "estimator-fit"]
#: the IHT learners with 48 atoms for 16 features, as learner(X, lam)
IHT_LEARNERS = {
    "mod": lambda X, lam: learn_mod(X, 48, method="iht", lam=lam, n_updates=4,
                                    progress=False, seed=0),
    "ksvd": lambda X, lam: learn_ksvd(X, 48, method="iht", lam=lam, n_updates=4,
                                      progress=False, seed=0),
    "online": lambda X, lam: learn_online(X, 48, method="iht", lam=lam, n_updates=4,
                                          batch_size=100, progress=False, seed=0),
    "estimator-fit": lambda X, lam: SparseDictionaryLearner(48, method="iht", lam=lam,
                                                            n_updates=4, seed=0).fit(X),
    "estimator-partial_fit": lambda X, lam: SparseDictionaryLearner(
        48, method="iht", lam=lam, batch_size=100, seed=0).partial_fit(X),
}


@pytest.mark.parametrize("learner", IHT_LEARNERS.values(), ids=IHT_LEARNERS.keys())
def test_iht_learners_refuse_a_lam_that_zeroes_every_code_of_an_overcomplete_dictionary(
        planted, learner):
    # IHT keeps an atom only past lam * sqrt(lambda_max(D D^T)), and 48 unit-norm atoms
    # in 16 dimensions have lambda_max >= 3: at lam = 0.95 max||x|| (below the sample
    # norms the L1 check looked at) every code was zero at every update, the atoms were
    # all re-seeded again and again, and the run returned without a word
    from v1model.inference import iht

    X = planted[0]
    top = float(np.linalg.norm(X, axis=1).max())
    bound = top / np.sqrt(48 / 16)
    lam = 0.95 * top
    # the premise, on the data-initialised start and an orthogonal-as-can-be one
    rng = np.random.default_rng(0)
    for D in (X[rng.choice(len(X), 48, replace=False)], rng.standard_normal((48, 16))):
        D = D / np.linalg.norm(D, axis=1, keepdims=True)
        assert not iht(X, D, lam=lam, dtype=np.float64).any()
    with pytest.raises(ValueError, match=rf"lam={lam!r} is at least max \|\|x\|\| / "
                                         rf"sqrt\(n_atoms / n_features\) = .* = "
                                         rf"{bound:.3g} .*every code is zero"):
        learner(X, lam)
    with warnings.catch_warnings():  # below it: runs (codes may still all be zero, warned
        # of: test_learners_warn_when_every_code_stayed_zero)
        warnings.filterwarnings("ignore", "every code", UserWarning)
        learner(X, 0.5 * bound)


@pytest.mark.parametrize("learner", [IHT_LEARNERS[k] for k in BATCH_RUNS], ids=BATCH_RUNS)
def test_learners_warn_when_every_code_stayed_zero(planted, learner):
    # below the bound refused up front (max||x|| / sqrt(n_atoms / n_features)) IHT can
    # still zero every code of the dictionary at hand: measured, 0.6 of the bound left
    # fraction_active 0 at every update and the run ended without a word
    X = planted[0]
    bound = float(np.linalg.norm(X, axis=1).max()) / np.sqrt(48 / 16)
    with pytest.warns(UserWarning, match=r"every code of the last 1 of 4 updates was zero "
                                         r"\(method='iht', lam=.*nothing was learned"):
        learner(X, 0.6 * bound)
    with warnings.catch_warnings():  # a lam that codes: no such warning
        warnings.simplefilter("ignore")  # (IHT's own convergence warnings at this lam)
        warnings.filterwarnings("error", message="every code")
        learner(X, 0.05 * bound)
