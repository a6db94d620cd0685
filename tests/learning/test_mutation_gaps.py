"""Checks added where mutation testing of v1model.learning found behaviour no
test could tell apart from a mistake; each compares against a reference
computed here (an analytic formula, NumPy/SciPy) with an explicit tolerance."""

import re
import warnings

import numpy as np
import pytest

from v1model.learning.olshausen_field import cauchy_inference, learn_dictionary

from .conftest import cauchy_energy_and_gradient


def _unit_rows(M):
    return M / np.linalg.norm(M, axis=1, keepdims=True)


def test_cauchy_inference_warning_names_the_largest_gradient_left():
    # the warning's "largest gradient" is max |dE/da| over every sample stopped short,
    # computed here from the energy's gradient A D D^T - X D^T + 2 lam A / (sigma^2 + A^2)
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((12, 8)))
    X = rng.standard_normal((25, 8))  # three groups of CAUCHY_GROUP: the largest is not last
    lam, sigma = 0.1, 0.3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        A = cauchy_inference(X, D, lam=lam, sigma=sigma, max_iter=3)
    message = " ".join(str(w.message) for w in caught)
    # followed by ", tol=..." since the warning names tol and the group's scale
    reported = float(re.search(r"largest gradient ([0-9.e+-]+), tol=", message).group(1))
    grad = A @ D @ D.T - X @ D.T + 2 * lam * A / (sigma**2 + A * A)
    per_sample = np.abs(grad).max(axis=1)
    assert per_sample.max() < 1  # below the 1 a wrong starting value would report
    assert np.argmax(per_sample) < 20  # not in the last group either
    assert reported == pytest.approx(per_sample.max(), rel=2e-3)  # printed to 3 digits


def test_of_learning_refuses_a_dictionary_no_sample_drives_in_a_single_update():
    # the check runs on the first update's codes: one update is enough to refuse
    rng = np.random.default_rng(0)
    X = np.zeros((200, 16))
    X[:, :8] = rng.standard_normal((200, 8))
    D0 = np.zeros((12, 16))
    D0[:, 8:] = rng.standard_normal((12, 8))
    D0 = _unit_rows(D0)
    with pytest.raises(ValueError, match=r"lam=0.1 is at least the largest drive .* = 0 "):
        learn_dictionary(X, 12, lam=0.1, D0=D0, n_updates=1, progress=False, seed=0)


def test_of_history_records_every_kth_update_and_the_last():
    # record_every=3 over 8 updates: updates 0, 3, 6 and the last one, 7
    X = np.random.default_rng(1).standard_normal((200, 8)) * 0.3
    _, h = learn_dictionary(X, 8, lam=0.05, n_updates=8, batch_size=20, record_every=3,
                            seed=0, progress=False)
    np.testing.assert_array_equal(h["update"].values, [0, 3, 6, 7])
    np.testing.assert_allclose(h["learning_rate"].values, 1.0 * 0.1 ** (np.array([0, 3, 6, 7]) / 7),
                               rtol=1e-12)


def test_cauchy_history_records_the_energy_of_ten_cg_steps():
    # the recorded objective of a Cauchy update is the mean energy
    # 0.5||x - aD||^2 + lam sum log(1 + (a / sigma)^2) of its codes, and fraction_active
    # the share of |a| > sigma; the codes are scipy's CG, ten iterations from b / diag(G)
    from scipy.optimize import minimize

    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 8)) * 0.3
    D0 = _unit_rows(rng.standard_normal((12, 8)))
    lam, sigma = 0.05, 0.2
    _, h = learn_dictionary(X, 12, prior="cauchy", lam=lam, sigma=sigma, n_updates=1, lr=1e-12,
                            D0=D0, batch_size=40, gain_rate=0.0, seed=0, progress=False)
    batch = X[np.random.default_rng(0).integers(0, 40, 40)]
    G, B = D0 @ D0.T, batch @ D0.T

    def energy(a):
        return cauchy_energy_and_gradient(a, G, B, lam, sigma)

    A = minimize(energy, (B / np.diag(G)).ravel(), jac=True, method="CG",
                 options={"maxiter": 10, "gtol": 0.0}).x.reshape(B.shape)
    R = batch - A @ D0
    expected = np.mean(0.5 * (R**2).sum(1) + lam * np.log(1 + (A / sigma) ** 2).sum(1))
    assert float(h["objective"][0]) == pytest.approx(expected, rel=1e-6)
    assert float(h["fraction_active"][0]) == pytest.approx(np.mean(np.abs(A) > sigma), abs=1e-12)


def test_cauchy_defaults_are_sparsenets_published_settings():
    # Olshausen's sparsenet (MATLAB): sigma 0.316, VAR_GOAL 0.1, alpha 0.02, var_eta 0.001,
    # eta 1, batch 100, beta * noise_var = 2.2 * 0.01; LCA's tau 10 ms, lam 0.1 (docstring)
    import inspect

    from v1model.learning.olshausen_field import SPARSENET_CAUCHY_LAM

    defaults = {k: p.default for k, p in inspect.signature(learn_dictionary).parameters.items()}
    assert defaults["sigma"] == 0.316 and defaults["var_goal"] == 0.1
    assert defaults["gain_rate"] == 0.02 and defaults["var_eta"] == 0.001
    assert defaults["lr"] == 1.0 and defaults["batch_size"] == 100
    assert defaults["tau"] == 0.01 and defaults["lam"] == 0.1
    assert SPARSENET_CAUCHY_LAM == pytest.approx(0.022, rel=1e-12)


def test_online_reseeded_atoms_start_with_fresh_statistics(planted_factory):
    # an atom re-seeded by the online learner starts afresh: its rows and column of the
    # code statistic A, its row of B and its unused-counter are zero after the update.
    # A duplicate (used, so with statistics of its own) and an orphan (never used) are
    # re-seeded at the first update; neither may carry the old atom's statistics over
    from v1model.learning._atoms import AtomUsage
    from v1model.learning._coding import make_coder
    from v1model.learning.online import OnlineState

    X, D_true, _ = planted_factory(n_samples=200, n_features=12, n_atoms=10, seed=4)
    X = np.hstack([X, np.zeros((len(X), 2))])
    D_true = np.hstack([D_true, np.zeros((10, 2))])
    orphan = np.zeros((1, 14))
    orphan[0, 12] = 1.0
    D0 = np.vstack([D_true, D_true[:1], orphan])  # atom 10 duplicates atom 0, 11 is unused
    coder = make_coder("fista", 0.3, dtype=np.float64)
    rng = np.random.default_rng(0)
    state = OnlineState(D0.copy(), coder, 10.0, 1, AtomUsage(12, 1, 0.99), rng)
    codes = coder.encode(X, D0)
    assert np.count_nonzero(codes[:, 10]) > 0 and np.count_nonzero(codes[:, 11]) == 0
    state.step(X)
    assert state.history.last("n_reseeded") == 2
    for j in (10, 11):
        assert np.all(state.A[j, :] == 0) and np.all(state.A[:, j] == 0)
        assert np.all(state.B[j] == 0)
    np.testing.assert_array_equal(state.usage.unused, 0)
    # the kept atoms' statistics are those of the codes: A = <a a^T>, B = <a x^T>
    keep = np.arange(10)
    np.testing.assert_allclose(state.A[np.ix_(keep, keep)],
                               codes[:, keep].T @ codes[:, keep] / len(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(state.B[keep], codes[:, keep].T @ X / len(X), rtol=1e-9,
                               atol=1e-12)


def test_approximate_ksvd_sweep_is_scale_equivariant_at_large_scale():
    # (c X, c A) gives the atoms of (X, A) and codes c A' (the sweep is homogeneous); at
    # c = 1e200 the power step's E^T g (~c) squared overflows unless it is rescaled first
    from v1model.inference import encode
    from v1model.learning.ksvd import ksvd_sweep

    rng = np.random.default_rng(2)
    D0 = _unit_rows(rng.standard_normal((10, 8)))
    X = rng.standard_normal((60, 8))
    A0 = encode(X, D0, "omp", n_nonzero=3, dtype=np.float64)
    D1, A1 = ksvd_sweep(X, A0, D0, approximate=True)
    c = 1e200
    Dc, Ac = ksvd_sweep(c * X, c * A0, D0, approximate=True)
    np.testing.assert_allclose(Dc, D1, atol=1e-10)
    np.testing.assert_allclose(Ac / c, A1, rtol=1e-9, atol=1e-12)


def test_approximate_ksvd_sweep_keeps_an_atom_whose_residual_is_zero():
    # zero samples coded by atom 0 alone: without the atom their residual E is exactly 0,
    # E^T g = 0 gives no direction, and the atom is kept (documented: "E orthogonal to g:
    # keep the atom") instead of becoming 0 / 0
    from v1model.learning.ksvd import ksvd_sweep

    D = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    A = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.5]])
    X = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.5]])
    D2, A2 = ksvd_sweep(X, A, D, approximate=True)
    assert np.all(np.isfinite(D2)) and np.all(np.isfinite(A2))
    np.testing.assert_array_equal(D2, D)


def test_signature_defaults_are_the_documented_ones():
    # every "name : type, default VALUE" line of the public docstrings against the
    # signature (the documentation is the reference a user reads)
    import ast
    import inspect

    from v1model.learning import (SparseDictionaryLearner, learn_ksvd, learn_mod,
                                  learn_online)
    from v1model.learning.ksvd import ksvd_sweep
    from v1model.learning.mod import mod_dictionary
    from v1model.learning.olshausen_field import init_dictionary
    from v1model.learning.online import block_coordinate_update

    n_checked = 0
    for func in (learn_mod, learn_ksvd, learn_online, learn_dictionary, SparseDictionaryLearner,
                 cauchy_inference, init_dictionary, mod_dictionary, block_coordinate_update,
                 ksvd_sweep):
        params = inspect.signature(func).parameters
        for name, text in re.findall(r"^(\w+) : [^\n]*?, default (.+)$", inspect.getdoc(func),
                                     re.M):
            default = params[name].default
            try:
                documented = ast.literal_eval(text.strip())
            except ValueError:  # a dtype written as float32
                assert np.dtype(text.strip()) == np.dtype(default), (func.__name__, name)
            else:
                assert documented == default and type(documented) is type(default), (
                    func.__name__, name, documented, default)
            n_checked += 1
    assert n_checked >= 60


def test_reseed_takes_residuals_after_the_kept_atoms_and_noise_for_the_rest():
    # atoms 1 and 2 are re-seeded. Sample 0 = 1 * e0 + (0, 0, 0, 2): its residual after
    # the kept atom 0 is (0, 0, 0, 2), the first new atom (0, 0, 0, 1). The others leave
    # residuals of 1e-10 (squared: 1e-20 of the worst's 4, below the relative 1e-12),
    # which carry no direction: the second atom is a Gaussian draw of the generator
    from v1model.learning._atoms import reseed

    D = np.eye(4)[:3].copy()
    X = np.zeros((5, 4))
    X[0] = [1.0, 0.0, 0.0, 2.0]
    X[1:, 0] = [0.5, -1.0, 1.5, 2.0]
    X[1:, 3] = 1e-10
    A = np.zeros((5, 3))
    A[:, 0] = X[:, 0]
    reseed(D, np.array([1, 2]), X, A, np.random.default_rng(9))
    np.testing.assert_allclose(D[1], [0.0, 0.0, 0.0, 1.0], atol=1e-15)
    noise = np.random.default_rng(9).standard_normal(4)
    np.testing.assert_allclose(D[2], noise / np.linalg.norm(noise), rtol=1e-12)
    np.testing.assert_array_equal(D[0], [1.0, 0.0, 0.0, 0.0])


def test_learners_refuse_a_lam_equal_to_the_largest_sample_norm():
    # documented: a lam "at or above" max ||x|| zeroes every code; the largest norm here is
    # exactly 5 (a 3-4-5 sample), so lam = 5.0 sits on the bound and is refused
    from v1model.learning import learn_mod

    X = np.random.default_rng(0).uniform(-0.5, 0.5, (40, 6))
    X[7] = [3.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"lam=5.0 is at least the largest sample norm"):
        learn_mod(X, 8, lam=5.0, n_updates=1, dtype=np.float64, progress=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_estimator_transform_returns_codes_of_its_dtype(dtype):
    # documented: codes "of dtype dtype", as components_
    from v1model.learning import SparseDictionaryLearner

    X = np.random.default_rng(0).standard_normal((60, 6))
    learner = SparseDictionaryLearner(8, lam=0.2, n_updates=2, batch_size=30, dtype=dtype,
                                      seed=0).fit(X)
    assert learner.components_.dtype == np.dtype(dtype)
    assert learner.transform(X).dtype == np.dtype(dtype)
    assert learner.inverse_transform(learner.transform(X)).dtype == np.dtype(dtype)


def test_history_refuses_a_non_finite_objective():
    # the batch learners' divergence guard: a non-finite objective stops the run, naming
    # the update
    from v1model.learning._history import History

    stats = dict(objective=1.0, reconstruction_error=0.5, mean_abs_code=0.1,
                 fraction_active=0.2, n_samples=10.0)
    history = History(2)
    history.record(stats, 0, 0, 0.1)
    with pytest.raises(FloatingPointError, match=r"learning diverged at update 1: objective nan"):
        history.record(dict(stats, objective=np.nan), 0, 0, 0.1)


@pytest.mark.parametrize("n_updates", [1, 2, 3])
def test_short_runs_with_non_zero_codes_are_not_warned_of(n_updates):
    # the all-zero-codes warning looks at the last quarter of the updates, at least one:
    # runs shorter than four updates whose codes are non-zero must not be warned of
    from v1model.learning import learn_mod

    X = np.random.default_rng(0).standard_normal((50, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, h = learn_mod(X, 8, lam=0.3, n_updates=n_updates, seed=0, progress=False)
    assert np.all(h["fraction_active"].values > 0)


def test_batch_learner_minibatches_are_drawn_from_all_of_x():
    # stochastic MOD codes random minibatches of X: 20 of the 200 samples lie along e0
    # (the first 20 rows), 180 along e1; a single atom starting between them follows
    # the majority. Batches cut from the first rows only would leave it on e0
    from v1model.learning import learn_mod

    X = np.zeros((200, 2))
    c = np.random.default_rng(0).uniform(1, 2, 200)
    X[:20, 0], X[20:, 1] = c[:20], c[20:]
    D, _ = learn_mod(X, 1, lam=0.1, batch_size=20, n_updates=3, init=np.array([[1.0, 1.0]]),
                     seed=0, progress=False, dtype=np.float64)
    assert abs(D[0, 1]) > 0.99


@pytest.mark.parametrize("patience, expected", [(2, [0, 2, 0, 2, 0, 2]),
                                                (3, [0, 0, 2, 0, 0, 2])])
def test_batch_learner_patience_counts_afresh_after_a_reseed(patience, expected):
    # 1-sparse data on 10 true atoms, coded by OMP with one atom: a true atom's drive |c|
    # beats any other unit atom's |c cos|, so the two orphans and every atom re-seeded in
    # their place (noise: OMP leaves no residual) stay unused. With reseed_patience=p
    # they are re-seeded every p-th update, each re-seeded atom waiting p updates afresh
    from v1model.learning import learn_mod

    rng = np.random.default_rng(4)
    D = _unit_rows(rng.standard_normal((10, 12)))
    X = D[rng.integers(0, 10, 300)] * rng.uniform(1, 2, (300, 1))
    X = np.hstack([X, np.zeros((300, 4))])
    D0 = np.vstack([np.hstack([D, np.zeros((10, 4))]), np.eye(16)[12:14]])
    _, h = learn_mod(X, 12, method="omp", n_nonzero=1, n_updates=6, init=D0,
                     reseed_patience=patience, duplicate_tol=None, seed=0, progress=False,
                     dtype=np.float64)
    np.testing.assert_array_equal(h["n_reseeded"].values, expected)


def test_of_unsettled_warning_judges_twenty_updates_and_names_the_caller(planted):
    # MIN_UPDATES_JUDGED = 20 recorded updates are judged (fewer are not); the warning
    # points at the caller's line (stacklevel), here this file
    from v1model.learning.olshausen_field import MIN_UPDATES_JUDGED

    assert MIN_UPDATES_JUDGED == 20
    with pytest.warns(UserWarning, match=r"changed by 1\.\d+ of its norm per update over the "
                                         r"last 5 recorded updates") as record:
        learn_dictionary(planted[0], 24, lam=0.1, lr=1e6, n_updates=20, batch_size=50,
                         progress=False, seed=0)
    assert [w.filename for w in record if "changed by" in str(w.message)] == [__file__]


def test_of_learning_runs_when_only_the_first_batch_has_no_code():
    # the first batch (one sample of norm 0.01, below lam) codes to zero, but another
    # sample drives an atom past lam: the all-zero check scans X and lets learning go on
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 8)) * 0.01 / np.sqrt(8)
    first = np.random.default_rng(0).integers(0, 50, 1)[0]  # the first batch's sample
    other = (first + 1) % 50
    X[other] = 1.0
    D0 = _unit_rows(rng.standard_normal((6, 8)))
    _, h = learn_dictionary(X, 6, lam=0.1, D0=D0, n_updates=1, batch_size=1, seed=0,
                            progress=False)
    assert float(h["fraction_active"][0]) == 0.0


@pytest.mark.parametrize("scale, match", [(1e300, r"D: values up to .* D D\^T"),
                                          (1e-200, r"D: atom 0 has a squared norm")])
def test_cauchy_inference_refuses_a_dictionary_beyond_float64(scale, match):
    # D D^T overflowed (codes of 0, with only numpy's overflow warning) or its diagonal
    # underflowed to 0 (codes of inf, without a word)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 16))
    with pytest.raises(ValueError, match=match):
        cauchy_inference(X, D * scale, 0.1, progress=False)

@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1e50, 1e300])
def test_cauchy_inference_solves_data_far_above_unit_scale(scale):
    # L-BFGS took no step from its start (B / diag G) for X scaled by 1e50, and A*A
    # overflowed (with numpy's warnings) at 1e200: such data are solved in their own
    # units. There lam is negligible beside the data term: the MAP is least squares
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 16)) * scale
    A = cauchy_inference(X, D, 0.1, progress=False)
    least_squares = np.linalg.solve(D @ D.T, D @ X.T).T
    start = X @ D.T  # the unit-norm atoms' B / diag G
    assert np.abs(start - least_squares).max() > 0.5 * scale  # far from the start
    np.testing.assert_allclose(A / scale, least_squares / scale, rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1e-20, 1e-170, 1e-300])
def test_cauchy_inference_solves_data_far_below_unit_scale(scale):
    # L-BFGS left the codes of X scaled by 1e-170 at their start (B / diag G). There
    # (a / sigma)^2 < eps: log(1 + (a/sigma)^2) = (a/sigma)^2 to float64's precision and
    # the MAP of 0.5||x - D^T a||^2 + lam sum log(1 + (a/sigma)^2) is the ridge solution
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((24, 16)))
    X = rng.standard_normal((12, 16))
    lam, sigma = 0.1, 0.316
    A = cauchy_inference(X * scale, D, lam, sigma, A0=np.ones((12, 24)), progress=False)
    ridge = np.linalg.solve(D @ D.T + 2 * lam / sigma**2 * np.eye(24), D @ X.T).T
    start = X @ D.T  # the unit-norm atoms' B / diag G
    assert np.abs(start - ridge).max() > 0.5  # far from the default start
    np.testing.assert_allclose(A / scale, ridge, rtol=1e-12, atol=0)
    # the iterative solve at 1e-6, where it works and the penalty is near-quadratic
    normal = cauchy_inference(X * 1e-6, D, lam, sigma, progress=False) / 1e-6
    np.testing.assert_allclose(A / scale, normal, rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1.0, 1e-20, 1e-200, 1e-307])
def test_cauchy_inference_with_lam_zero_is_least_squares_at_any_scale(scale):
    # lam = 0: the energy is 0.5||x - D^T a||^2, whose minimum is least squares. For X
    # scaled by 1e-200 the energy (~1e-400) underflowed and L-BFGS left the codes at
    # their start (relative change 1e-16); with no lam / c^2 to overflow, such data are
    # solved in their own units
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((12, 16)))  # undercomplete: one least-squares code
    X = rng.standard_normal((25, 16)) * scale
    A = cauchy_inference(X, D, 0.0, progress=False)
    least_squares = np.linalg.lstsq(D.T, X.T, rcond=None)[0].T
    start = X @ D.T  # the unit-norm atoms' B / diag G
    assert np.abs(start - least_squares).max() > 0.5 * scale  # far from the start
    np.testing.assert_allclose(A / scale, least_squares / scale, rtol=0, atol=2e-5)


def test_cauchy_inference_tiny_data_under_a_tiny_sigma():
    # sigma 1e-100 on X ~ 1e-100: 2 lam / sigma^2 is 2e199, so the ridge codes are
    # sigma^2 / (2 lam) D x to float64's precision (~1e-300); sigma^2 of 1e-200 underflows
    # to 0 (a ZeroDivisionError in 2 lam / sigma^2), where the codes are 0
    rng = np.random.default_rng(1)
    D = _unit_rows(rng.standard_normal((24, 16)))
    X = rng.standard_normal((5, 16)) * 1e-100
    lam = 0.1
    A = cauchy_inference(X, D, lam, sigma=1e-100, progress=False)
    np.testing.assert_allclose(A, 1e-200 / (2 * lam) * X @ D.T, rtol=1e-12, atol=0)
    assert np.all(cauchy_inference(X, D, lam, sigma=1e-200, progress=False) == 0)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("n_atoms", [12, 24])
@pytest.mark.parametrize("scale", [1.0, 1e-150, 1e-200, 1e-300])
def test_cauchy_inference_with_a_tiny_lam_is_least_squares_at_any_scale(scale, n_atoms):
    # lam = 1e-300 is 0 to float64's precision beside the data term: the MAP is least
    # squares (the minimum-norm code, the ridge's limit, for the overcomplete D). The
    # ridge's Cholesky factor of D D^T + mu I was refused as nearly singular (trace / mu
    # over 1 / sqrt(eps), though D D^T has full rank for 12 atoms), and the codes of X
    # scaled by 1e-200 were left at their start; at 1e-150 (||x||^2 > 8 lam eps, no
    # ridge) L-BFGS in units of 1 stopped short, with a ConvergenceWarning
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((n_atoms, 16)))
    X = rng.standard_normal((12, 16))
    least_squares = np.linalg.pinv(D.T) @ X.T
    start = X @ D.T  # the unit-norm atoms' B / diag G
    assert np.abs(start - least_squares.T).max() > 0.5  # far from the start
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning either
        A = cauchy_inference(X * scale, D, 1e-300, progress=False) / scale
    if n_atoms == 12:  # one least-squares code: as close as lam = 0's at unit scale
        np.testing.assert_allclose(A, least_squares.T, rtol=0, atol=2e-5)
    else:  # many: any one has X's projection on D's rows as its reconstruction
        projection = X @ np.linalg.pinv(D) @ D
        np.testing.assert_allclose(A @ D, projection, rtol=0, atol=2e-5)
    if scale <= 1e-200:  # the closed form: the minimum-norm code, to float64's precision
        np.testing.assert_allclose(A, least_squares.T, rtol=0, atol=1e-12)


def test_cauchy_ridge_codes_each_group_in_its_own_scale():
    # the ridge's factorisation is made by the first tiny group and kept for the batch:
    # it holds D, lam and sigma alone (fixed for a batch), and each group's own scale c
    # (a power of two, one per CAUCHY_GROUP rows) enters only through X / c and the
    # codes' factor c. Groups 1e-50 apart agree with the closed form, row by row
    from v1model.learning.olshausen_field import CAUCHY_GROUP

    rng = np.random.default_rng(2)
    D = _unit_rows(rng.standard_normal((24, 16)))
    lam, sigma = 0.1, 0.316
    scales = [1e-200, 1e-250, 2.0**-40, 1e-180]
    Z = rng.standard_normal((len(scales) * CAUCHY_GROUP, 16))
    X = Z * np.repeat(scales, CAUCHY_GROUP)[:, None]
    A = cauchy_inference(X, D, lam, sigma, progress=False)
    ridge = np.linalg.solve(D @ D.T + 2 * lam / sigma**2 * np.eye(24), D @ Z.T).T
    for g, scale in enumerate(scales):
        rows = slice(g * CAUCHY_GROUP, (g + 1) * CAUCHY_GROUP)
        # 1e-10: a small code's rounding differs between CPUs' BLAS (3.2e-12 on an AMD EPYC)
        np.testing.assert_allclose(A[rows] / scale, ridge[rows], rtol=1e-10, atol=0,
                                   err_msg=f"group {g} (scale {scale:g})")
        alone = np.concatenate([cauchy_inference(x[None], D, lam, sigma, progress=False)
                                for x in X[rows]])
        np.testing.assert_allclose(A[rows], alone, rtol=1e-10, atol=0)
