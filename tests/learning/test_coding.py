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


@pytest.mark.parametrize("learner", ["learn_ksvd", "learn_mod", "learn_online"])
@pytest.mark.parametrize("positive, threshold, want", [
    (False, "nonneg", "'soft' or 'hard'"), (True, "soft", "'nonneg'"),
    (True, "hard", "'nonneg'")])
def test_learners_refuse_a_positive_that_contradicts_the_lca_threshold(learner, positive,
                                                                      threshold, want):
    # positive=False with threshold="nonneg" learned non-negative codes, unsaid (the
    # default could not be told from it); positive=True with a signed threshold was
    # refused at the first minibatch under the name of encode's threshold argument
    from v1model import learning

    X = np.random.default_rng(0).standard_normal((40, 6))
    match = (rf"^method_params\['threshold'\]='{threshold}' contradicts positive={positive}: "
             rf"positive={positive} needs method_params\['threshold'\]={want}; give one of "
             r"the two$")
    with pytest.raises(ValueError, match=match):
        getattr(learning, learner)(X, 4, method="lca", lam=0.1, positive=positive,
                                   method_params={"threshold": threshold}, n_updates=1,
                                   progress=False)


def test_learners_positive_by_default_follows_the_lca_threshold(tmp_path):
    import xarray as xr

    from v1model.learning import learn_mod

    X = np.random.default_rng(0).standard_normal((60, 6))
    kw = dict(method="lca", lam=0.2, n_updates=1, seed=0, dtype=np.float64, progress=False)
    assert make_coder("lca", lam=0.1, method_params={"threshold": "nonneg"}).positive
    assert not make_coder("lca", lam=0.1, method_params={"threshold": "hard"}).positive
    assert not make_coder("lca", lam=0.1).positive and make_coder("lca", lam=0.1,
                                                                 positive=True).positive
    # the default keeps its codes: the same dictionary as positive=True
    D_pos, h_pos = learn_mod(X, 8, positive=True, **kw)
    D_thr, h_thr = learn_mod(X, 8, method_params={"threshold": "nonneg"}, **kw)
    np.testing.assert_array_equal(D_thr, D_pos)
    # the record says the codes were non-negative (it said positive=0), netCDF-safe
    assert h_thr.attrs["positive"] == 1
    h_thr.to_netcdf(tmp_path / "h.nc", engine="h5netcdf")
    assert xr.load_dataset(tmp_path / "h.nc", engine="h5netcdf").attrs["positive"] == 1
