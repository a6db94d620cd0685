"""The coding step shared by the learners: validation and objectives."""

import re
import warnings

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


# ------------------------------------------------ a pursuit tol below the data's resolution
def _one_loud_sample(scale=100.0, row=123):
    """500 Gaussian samples of 16 features, row ``row`` ``scale`` times louder: its
    float32 resolution (16 eps ||x||)^2 ~ 4e-7 is 1e4 times that of the others."""
    X = np.random.default_rng(0).standard_normal((500, 16))
    X[row] *= scale
    return X


@pytest.mark.parametrize("learner", ["learn_ksvd", "learn_mod", "learn_online", "estimator"])
@pytest.mark.parametrize("method", ["omp", "mp"])
def test_learners_warn_of_a_pursuit_tol_below_the_resolution_of_some_rows_of_x(learner,
                                                                                method):
    """The solver's refusal came from inside a minibatch: it named the minibatch's row
    ("row 3 of X" for row 123 of the learner's X) and its ||x||^2 (36.6, not 1.09e5),
    and a tol fine for the first minibatches was refused only at the first one that drew
    row 123, after the updates before it had run. Then it was refused before learning
    because of that one row, although the other 499 meet it: now one warning, before
    learning, names method_params['tol'] and row 123 of X, and the learner runs."""
    from v1model import learning
    from v1model.inference import ConvergenceWarning

    X = _one_loud_sample()
    floor = (16 * np.finfo(np.float32).eps) ** 2 * np.sum(X[123] ** 2)
    # above every other sample's floor (~1e-10): the first minibatch took it
    kwargs = dict(method=method, n_nonzero=4, method_params={"tol": floor / 4}, seed=0,
                  n_updates=3, batch_size=50, progress=False)
    match = (rf"method_params\['tol'\]=.* is below the resolution of float32 for 1 of 500 "
             rf"samples \(row 123 of X\).* row 123, \|\|x\|\|\^2=1\.09e\+05.* pass "
             rf"method_params\['tol'\] >= {floor:.2g},")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        if learner == "estimator":
            D = learning.SparseDictionaryLearner(20, **kwargs).fit(X).components_
        else:
            D = getattr(learning, learner)(X, 20, **kwargs)
            D = D[0] if isinstance(D, tuple) else D
    resolution = [str(w.message) for w in caught if "resolution" in str(w.message)]
    assert len(resolution) == 1 and re.search(match, resolution[0]), resolution
    assert np.isfinite(np.asarray(D)).all()
    # below every sample's floor: still refused before learning
    quiet = (16 * np.finfo(np.float32).eps) ** 2 * np.min(np.sum(X ** 2, axis=1))
    kwargs["method_params"] = {"tol": quiet / 4}
    with pytest.raises(ValueError, match=r"method_params\['tol'\]=.* for every sample of "
                                         r"X"):
        if learner == "estimator":
            learning.SparseDictionaryLearner(20, **kwargs).fit(X)
        else:
            getattr(learning, learner)(X, 20, **kwargs)


def test_partial_fit_warns_of_a_later_chunk_below_the_tol_resolution_naming_its_row():
    """A stream's first chunk sets nothing against a louder later one: its row 23 was
    refused from a minibatch as "row 3 of X"; then the whole chunk was refused for that
    one row. Now the chunk's own row is named in a warning before any update, and the
    chunk is learned."""
    from v1model.inference import ConvergenceWarning
    from v1model.learning import SparseDictionaryLearner

    X = _one_loud_sample(row=123)
    floor = (16 * np.finfo(np.float32).eps) ** 2 * np.sum(X[123] ** 2)
    est = SparseDictionaryLearner(20, method="omp", n_nonzero=4, batch_size=25, seed=0,
                                  method_params={"tol": floor / 4}, progress=False)
    with pytest.warns(ConvergenceWarning, match="stopped above tol"):  # n_nonzero=4 first
        est.partial_fit(X[:100])
    D = est.components_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match=r"method_params\['tol'\]=.* for 1 of 100 "
                                             r"samples \(row 23 of X\)"):
            est.partial_fit(X[100:200])
    assert not np.array_equal(est.components_, D)  # the chunk was learned
