"""Gaps found by the second mutation audit of the rate-model solvers (LCA, its adaptive
step, FISTA and its backtracking): each test kills a planted bug that the other tests
let through, and checks against an independent reference (an analytic result, the
documented boundary, scikit-learn, or the same call on the blocks one at a time)."""

import importlib
import warnings

import numpy as np
import pytest

from v1model.inference import ConvergenceWarning, fista, lca, max_stable_dt

LAM = 0.1


def _small_problem(n_samples=6, n_features=8, n_atoms=12, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((n_samples, n_features)), D


def test_lca_refuses_a_step_at_the_stability_limit():
    # the docstring: "a step at or beyond the stability limit raises". At dt equal to
    # 2 tau / lambda_max the Euler map's top mode is -1: it oscillates without decaying.
    # (A test at 1.01 times the limit let `dt > limit` through.)
    X, D = _small_problem()
    limit = np.nextafter(max_stable_dt(D, 0.01), np.inf)  # the largest step accepted, + 1 ulp
    assert limit == pytest.approx(2 * 0.01 / np.linalg.eigvalsh(D @ D.T)[-1], rel=1e-12)
    with pytest.raises(ValueError, match=r"makes the Euler loop unstable"):
        lca(X, D, LAM, dt=limit, dtype=np.float64)
    lca(X, D, LAM, dt=np.nextafter(limit, 0), n_steps=1, dtype=np.float64)  # just below


def test_fixed_step_lca_warns_of_samples_left_at_max_steps():
    # the fixed-step Euler path (dt given) has its own warning, apart from the
    # adaptive path's: dropping it left 3-step runs unwarned
    X, D = _small_problem(n_samples=2)
    dt = 0.5 * max_stable_dt(D, 0.01)
    with pytest.warns(ConvergenceWarning, match=r"lca stopped after 3 steps with 2 of 2 "
                                                 r"samples not converged"):
        lca(X, D, LAM, dt=dt, max_steps=3)


def test_fista_n_iter_is_the_largest_over_blocks(monkeypatch):
    # return_n_iter is documented as the largest count over the blocks of samples; a
    # trailing block of one all-zero sample (one iteration) must not hide the first's
    fista_module = importlib.import_module("v1model.inference.fista")
    X, D = _small_problem(n_samples=4)
    X = np.vstack([X, np.zeros((1, X.shape[1]))])
    for step in ("constant", "backtracking"):
        _, n_first = fista(X[:4], D, LAM, step=step, dtype=np.float64, return_n_iter=True)
        monkeypatch.setattr(fista_module, "BLOCK_SIZE", 4)
        _, n_all = fista(X, D, LAM, step=step, dtype=np.float64, return_n_iter=True)
        monkeypatch.undo()
        assert n_first > 1
        assert n_all == n_first


def test_code_bound_is_the_documented_lasso_bound():
    # any LASSO solution has lam ||a*||_1 <= E(0) = ||x||^2 / 2: the stop tests of FISTA
    # measure steps against min(max|a|, ||x||^2 / (2 lam)); a bound 10x looser let a warm
    # start up to 10x beyond every solution pass for converged. Checked against the bound
    # by hand and scikit-learn's codes, which it must bound
    from sklearn.linear_model import Lasso

    from v1model.inference.fista import code_bound

    X, D = _small_problem()
    bound = code_bound(X, LAM, np.float64)
    np.testing.assert_allclose(bound, 0.5 * (X**2).sum(axis=1) / LAM, rtol=1e-12)
    A = Lasso(alpha=LAM / X.shape[1], fit_intercept=False, tol=1e-12,
              max_iter=100000).fit(D.T, X.T).coef_
    assert np.all(np.abs(A).sum(axis=1) <= bound)
    assert np.all(code_bound(X, 0.0, np.float64) == np.inf)


def _soft(Z, thr, positive=False):
    out = np.sign(Z) * np.maximum(np.abs(Z) - thr, 0.0)
    return np.maximum(out, 0.0) if positive else out


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("step", ["constant", "backtracking"])
def test_one_fista_step_is_the_soft_threshold_of_the_gradient_step(step, positive):
    # with an orthonormal dictionary (G = I, L = 1) one proximal step from A0 is exactly
    # soft(A0 - (A0 G - B) / L, lam / L), L the step's Lipschitz constant (with its
    # STEP_MARGIN); backtracking reaches the same L by doubling from L / 8 (never beyond).
    # Kills: no step run at max_iter=1, the codes not written back at max_iter, a
    # doubling past the global L, positivity dropped from a redone step, the warm
    # start's product G a left at zero, and the max_iter warning silenced
    from scipy.stats import ortho_group

    from v1model.inference._common import STEP_MARGIN

    rng = np.random.default_rng(1)
    D = ortho_group.rvs(6, random_state=2)
    X = 3.0 * rng.standard_normal((4, 6))
    L = STEP_MARGIN * 1.0
    B = X @ D.T
    for A0 in (None, rng.standard_normal((4, 6))):
        start = np.zeros_like(B) if A0 is None else A0
        if positive:  # a negative start of a non-negative problem is clipped first
            start = np.maximum(start, 0)
        expected = _soft(start - (start - B) / L, LAM / L, positive)
        with pytest.warns(ConvergenceWarning, match=r"of 4 samples not converged"):
            A = fista(X, D, LAM, step=step, positive=positive, max_iter=1, A0=A0,
                      dtype=np.float64)
        np.testing.assert_allclose(A, expected, rtol=1e-9, atol=1e-12)


def _textbook_fista(B, G, lam, L, n_iter, restart):
    # Beck & Teboulle's FISTA, with O'Donoghue & Candes's restart when asked
    A = np.zeros_like(B)
    Y, t = A.copy(), np.ones(B.shape[0])
    for _ in range(n_iter):
        A_new = _soft(Y - (Y @ G - B) / L, lam / L)
        turned = np.einsum("ij,ij->i", Y - A_new, A_new - A) > 0
        if restart:
            t[turned] = 1.0
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        Y = A_new + ((t - 1) / t_new)[:, None] * (A_new - A)
        t = t_new
        A = A_new
    return A


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("step", ["constant", "backtracking"])
def test_fista_iterates_are_the_textbook_ones(monkeypatch, step, restart):
    # 25 iterations on a coherent dictionary against a plain FISTA written from Beck &
    # Teboulle (2009); backtracking held at the global L (its first step L, no shrink)
    # must give the same iterates (its t ran one term ahead). Kills: the momentum t never
    # updated, and restart=False still restarting (each left the codes ~1e-2 off)
    from v1model.inference import fista_backtracking as bt
    from v1model.inference._common import STEP_MARGIN, spectral_norm_gram

    monkeypatch.setattr(bt, "START", 1.0)
    monkeypatch.setattr(bt, "SHRINK", 1.0)
    X, D = _small_problem()
    L = STEP_MARGIN * spectral_norm_gram(D)
    expected = _textbook_fista(X @ D.T, D @ D.T, LAM, L, 25, restart)
    with pytest.warns(ConvergenceWarning):
        A = fista(X, D, LAM, step=step, restart=restart, max_iter=25, tol=1e-14,
                  dtype=np.float64)
    np.testing.assert_allclose(A, expected, rtol=1e-7, atol=1e-9)


def test_fista_zero_sample_stops_at_any_tol():
    # an all-zero sample's codes stay 0: its step (0) meets the stop at once, however
    # small tol * its floor (a strict `<` there ran it to max_iter and warned, as
    # tol * tiny rounds to 0 in float32)
    X, D = _small_problem(n_samples=2)
    X[1] = 0.0
    for step in ("constant", "backtracking"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            A, n_iter = fista(X[1:], D, LAM, step=step, tol=1e-12, max_iter=50,
                              return_n_iter=True)
        assert n_iter == 1 and not A.any()


def test_backtracking_takes_the_first_step_that_meets_the_quadratic_bound():
    # an orthonormal dictionary with one atom duplicated: L = lambda_max(G) = 2 (the
    # pair), but a sample off the pair has curvature 1. From L / 8, shrunk by 0.9, L_i
    # doubles until L_i >= 1 (the bound f(a+) <= f(y) + ... + L_i / 2 |a+ - y|^2):
    # 0.9 L = 1.8, one step from 0 giving soft(b, lam) / 1.8. A test of the bound at
    # half its curvature doubled once more, to the global L
    from v1model.inference._common import STEP_MARGIN

    rng = np.random.default_rng(3)
    D = np.vstack([np.eye(6), np.eye(6)[5]])
    X = 3.0 * rng.standard_normal((4, 6))
    X[:, 5] = 0.0  # no drive on the pair
    L = STEP_MARGIN * 2.0
    L_i = 0.9 * L / 8 * 2.0 ** np.ceil(np.log2(1.0 / (0.9 * L / 8)))
    assert 1.0 <= L_i < L
    with pytest.warns(ConvergenceWarning):
        A = fista(X, D, LAM, step="backtracking", max_iter=1, dtype=np.float64)
    np.testing.assert_allclose(A, _soft(X @ D.T, LAM) / L_i, rtol=1e-9, atol=1e-12)


def test_max_stable_dt_of_short_atoms_is_set_by_the_leak():
    # atoms of norm 0.5: lambda_max(D D^T) < 1, and the inactive units' leak (rate 1/tau)
    # sets the limit: 2 tau / max(lambda_max, 1) = 2 tau, not 2 tau / lambda_max
    D = 0.5 * np.eye(4)
    assert np.isclose(max_stable_dt(D, 0.01), 0.02, rtol=1e-12)


def test_lca_trajectory_times_are_the_step_times():
    # state n of an n_steps run is at t = n dt (the start at 0)
    X, D = _small_problem(n_samples=2)
    dt = 0.4 * max_stable_dt(D, 0.01)
    _, traj = lca(X, D, LAM, dt=dt, n_steps=5, return_trajectory=True, dtype=np.float64)
    np.testing.assert_allclose(traj["time"].values, dt * np.arange(6), rtol=1e-12)


def test_lca_zero_sample_stops_at_any_tol():
    # an all-zero sample does not move: it meets the stop at once, however small
    # tol * its floor (float32's tiny times tol=1e-9 rounds to 0; a strict `<` then ran
    # it to max_steps and warned)
    X, D = _small_problem(n_samples=1)
    X[0] = 0.0
    dt = 0.5 * max_stable_dt(D, 0.01)
    for kwargs in (dict(dt=dt), dict(dt=dt, threshold="hard"), dict()):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            stats = {}
            A = lca(X, D, LAM, tol=1e-9, max_steps=50, _stats=stats, **kwargs)
        assert stats["steps"] <= 1 and not A.any()


def test_lca_trajectory_bound_counts_every_kept_state(monkeypatch):
    # max_steps=10, record_every=3: the start, steps 3, 6, 9 and the last (10) are
    # kept, 5 states of u and a; a bound of exactly that many bytes is enough
    lca_module = importlib.import_module("v1model.inference.lca")
    X, D = _small_problem(n_samples=2)
    per_state = 2 * 2 * 12 * 4
    monkeypatch.setattr(lca_module, "MAX_TRAJECTORY_BYTES", 5 * per_state)
    with pytest.warns(ConvergenceWarning):
        lca(X, D, LAM, max_steps=10, record_every=3, return_trajectory=True)
    monkeypatch.setattr(lca_module, "MAX_TRAJECTORY_BYTES", 5 * per_state - 1)
    with pytest.raises(ValueError, match=r"keeps up to 5 states of \(2, 12\) float32"):
        lca(X, D, LAM, max_steps=10, record_every=3, return_trajectory=True)


def test_lca_refuses_repeated_output_times():
    X, D = _small_problem(n_samples=1)
    with pytest.raises(ValueError, match=r"t_eval must be non-negative, strictly increasing"):
        lca(X, D, LAM, integrator="ivp", t_eval=[0.0, 0.01, 0.01, 0.02])


def test_adaptive_lca_stops_on_residuals_of_either_sign():
    # two coupled atoms (d1 . d2 = 0.5) and x = -3 (d1 + d2): the residual du/dt stays
    # negative on the way to the fixed point, where a stop on max(du) rather than
    # max|du| ended the run after one step (codes -2.9, not the LASSO's -2.933)
    from sklearn.linear_model import Lasso

    D = np.array([[1.0, 0.0], [0.5, np.sqrt(0.75)]])
    X = np.array([-3.0 * D.sum(axis=0), 3.0 * D.sum(axis=0)])
    expected = Lasso(alpha=LAM / 2, fit_intercept=False, tol=1e-12,
                     max_iter=100000).fit(D.T, X.T).coef_
    np.testing.assert_allclose(expected[0], -(4.5 - LAM) / 1.5, rtol=1e-8)
    A = lca(X, D, LAM, tol=1e-6, dtype=np.float64)
    np.testing.assert_allclose(A, expected, atol=1e-4)


def test_fista_iterate_counts_samples_left_over_all_blocks():
    # fista_iterate returns the samples that did not meet tol, over all its row blocks:
    # 4 samples in blocks of 2, stopped after 2 iterations, leave 4 (not the last
    # block's 2)
    from v1model.inference.fista import fista_iterate

    X, D = _small_problem(n_samples=4)
    for step in ("constant", "backtracking"):
        A = np.zeros((4, 12))
        n_iter, n_left = fista_iterate(A, X @ D.T, D @ D.T, LAM, max_iter=2, tol=1e-12,
                                       block_size=2, step=step)
        assert (n_iter, n_left) == (2, 4)


def test_ivp_default_span_warns_of_a_mode_still_moving_just_above_tol():
    # one atom of norm 0.33, lam = 0: u relaxes to b / 0.33^2 at the rate mu = 0.33^2 per
    # tau, so at the end of the default span (50 tau) tau |du/dt| = exp(-50 mu) |b|
    # = 4.3e-3 |b|: above the Euler stop's tol=1e-3 (warned), below 10 tol
    s = 0.33
    D = np.array([[s, 0.0]])
    X = np.array([[1.0, 0.5]])
    assert 1e-3 < np.exp(-50 * s * s) < 1e-2
    with pytest.warns(ConvergenceWarning, match=r"1 of 1 samples still moving"):
        lca(X, D, 0.0, integrator="ivp")
