"""Gaps found by the second mutation audit of the rate-model solvers (LCA, its adaptive
step, FISTA and its backtracking): each test kills a planted bug that the other tests
let through, and checks against an independent reference (an analytic result, the
documented boundary, scikit-learn, or the same call on the blocks one at a time)."""

import importlib

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
    limit = max_stable_dt(D, 0.01)
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
