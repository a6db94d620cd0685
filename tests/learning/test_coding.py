"""The coding step shared by the learners: validation and objectives."""

import numpy as np
import pytest

from v1model.learning._coding import LEARNING_TOL, make_coder


def test_objective_matches_formula(rng):
    X = rng.standard_normal((20, 6))
    D = rng.standard_normal((4, 6))
    A = rng.standard_normal((20, 4)) * (rng.random((20, 4)) < 0.5)
    R = X - A @ D
    data = 0.5 * (R**2).sum(axis=1)
    soft = make_coder("fista", lam=0.3)
    np.testing.assert_allclose(soft.objective(X, D, A), data + 0.3 * np.abs(A).sum(axis=1))
    hard = make_coder("lca", lam=0.3, method_params={"threshold": "hard"})
    np.testing.assert_allclose(hard.objective(X, D, A),
                               data + 0.5 * 0.3**2 * np.count_nonzero(A, axis=1))
    greedy = make_coder("omp", n_nonzero=2)
    assert greedy.penalty_kind is None
    np.testing.assert_allclose(greedy.objective(X, D, A), data)
    assert make_coder("iht", lam=0.3).penalty_kind == "hard"


def test_learning_tolerance_defaults():
    assert make_coder("fista", lam=0.1).params["tol"] == LEARNING_TOL["fista"]
    assert make_coder("fista", lam=0.1, method_params={"tol": 1e-6}).params["tol"] == 1e-6
    assert "tol" not in make_coder("fista", lam=0.1, learning=False).params


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "lars"}, ValueError, "method must be one of 'lca', 'fista'"),
        ({"method": "ista"}, ValueError, "method='ista' minimises an L1 objective and needs lam"),
        ({"method": "mp"}, ValueError, "method='mp' needs n_nonzero"),
        ({"method": "iht"}, ValueError, "method='iht' needs n_nonzero or lam"),
        ({"method": "omp", "n_nonzero": 0}, ValueError, "n_nonzero must be >= 1"),
        ({"method": "fista", "lam": 0.0}, ValueError, "lam must be a positive"),
        ({"method": "fista", "lam": 0.1, "positive": "no"}, TypeError, "positive must be a bool"),
        ({"method": "fista", "lam": 0.1, "method_params": [1]}, TypeError,
         "method_params must be a dict"),
        ({"method": "fista", "lam": 0.1, "method_params": {"seed": 1}}, ValueError,
         "must not contain 'seed'"),
        # checked when the learner starts, not at its first update
        ({"method": "lca", "lam": 0.1, "method_params": {"max_iter": 5}}, TypeError,
         r"method_params: method='lca' takes no parameter 'max_iter' \(its iteration limit "
         r"is 'max_steps'\)"),
    ],
)
def test_bad_coding_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_coder(**kwargs)
