"""A solver's private parameters (``_names``, the names of ``X`` and ``D`` in its
messages; ``_stats``, a benchmark's counters) are the package's own. Given by a user
among the solver parameters of any entry point, they passed the check and reached the
solver: ``_names`` renamed ``X`` in the user's errors, ``_stats`` filled a dict, unsaid.
They are the usual unknown-parameter TypeError now, before anything runs."""

import inspect

import numpy as np
import pytest

from v1model import SparseCodingNetwork
from v1model.inference import METHODS, encode
from v1model.inference.encode import SOLVERS, encode_with_names
from v1model.learning import (SparseDictionaryLearner, learn_dictionary, learn_ksvd,
                              learn_mod, learn_online)


def private_keys(method):
    """The private parameters of ``method``'s solver (every one has ``_names``)."""
    return [p for p in inspect.signature(SOLVERS[method]).parameters if p.startswith("_")]


def settings(method):
    return {"lam": 0.1} if method in ("lca", "fista", "ista", "active_set", "cd") else {
        "n_nonzero": 2}


def value(key):
    return {"_names": ("P", "Q"), "_stats": {}}.get(key, None)


@pytest.fixture
def problem(rng):
    D = rng.standard_normal((8, 16))
    return rng.standard_normal((60, 16)), D / np.linalg.norm(D, axis=1, keepdims=True)


def refused(key, method="fista", where="method_params"):
    """The message of a private ``key`` refused in ``where``."""
    return (rf"^{where}: method='{method}' takes no parameter '{key}' \(a private "
            rf"parameter, for the package's own calls\); its parameters are ")


@pytest.mark.parametrize("method", METHODS)
def test_encode_refuses_every_private_key_of_the_solver(problem, method):
    X, D = problem
    keys = private_keys(method)
    assert "_names" in keys  # the one every solver has: the check is not vacuous
    for key in keys:
        given = value(key)
        with pytest.raises(TypeError, match=refused(key, method, "encode")):
            encode(X, D, method, **settings(method), **{key: given})
        if key == "_stats":
            assert given == {}  # refused before the solver counted anything


def test_a_private_key_is_refused_before_the_solver_names_x_after_it(problem):
    # X of the wrong width with _names: the user's X was called "P" in the error
    X, D = problem
    with pytest.raises(TypeError, match=refused("_names", "fista", "encode")):
        encode(X[:, :3], D, "fista", lam=0.1, _names=("P", "Q"))
    with pytest.raises(ValueError, match=r"^X has 3 features per sample"):
        encode(X[:, :3], D, "fista", lam=0.1)


@pytest.mark.parametrize("method", METHODS)
def test_a_caller_names_x_and_d_through_encode_with_names(problem, method):
    # the network's ("X", "dictionary") reach every solver without a private key
    X, D = problem
    with pytest.raises(ValueError, match=r"^P has 3 features per sample .* but Q has 16 "
                                         r"features per atom"):
        encode_with_names(("P", "Q"), X[:, :3], D, method, **settings(method))
    np.testing.assert_array_equal(
        encode_with_names(("X", "D"), X, D, method, **settings(method)),
        encode(X, D, method, **settings(method)))


#: each learner given a private solver key among its solver parameters
LEARNERS = {
    "learn_dictionary": lambda X, key: learn_dictionary(
        X, 8, lam=0.1, inference="fista", n_updates=2, batch_size=20, seed=0,
        progress=False, inference_params={key: value(key)}),
    "learn_mod": lambda X, key: learn_mod(
        X, 8, lam=0.1, n_updates=2, batch_size=20, seed=0, progress=False,
        method_params={key: value(key)}),
    "learn_ksvd": lambda X, key: learn_ksvd(
        X, 8, method="fista", lam=0.1, n_updates=2, batch_size=20, seed=0, progress=False,
        method_params={key: value(key)}),
    "learn_online": lambda X, key: learn_online(
        X, 8, lam=0.1, n_updates=2, batch_size=20, seed=0, progress=False,
        method_params={key: value(key)}),
    "estimator": lambda X, key: SparseDictionaryLearner(
        8, lam=0.1, n_updates=2, batch_size=20, seed=0, method_params={key: value(key)}
    ).fit(X),
    "estimator transform_params": lambda X, key: SparseDictionaryLearner(
        8, lam=0.1, n_updates=2, batch_size=20, seed=0, transform_params={key: value(key)}
    ).fit(X),
    "network learn": lambda X, key: SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4),
                                                        lam=0.1).learn(
        X, inference="fista", n_updates=2, batch_size=20, seed=0, progress=False,
        inference_params={key: value(key)}),
}
#: the name of the solver parameters in each learner's message
WHERE = {"learn_dictionary": "inference_params", "network learn": "inference_params",
         "estimator transform_params": "transform_params"}


@pytest.mark.parametrize("key", ["_names", "_stats"])
@pytest.mark.parametrize("learner", LEARNERS)
def test_learners_refuse_a_private_solver_key(problem, learner, key):
    X, _ = problem
    with pytest.raises(TypeError, match=refused(key, "fista",
                                                WHERE.get(learner, "method_params"))):
        LEARNERS[learner](X, key)


@pytest.mark.parametrize("method", ["lca", "fista", "omp"])
def test_network_encode_refuses_a_private_solver_key(problem, method):
    # the network passes its own names ("X", "dictionary") to the solver: a user's
    # _names met them as "got multiple values", a _stats went through
    X, D = problem
    net = SparseCodingNetwork(D, lam=0.1)
    for key in private_keys(method):  # _names for all three, _stats for lca and fista
        with pytest.raises(TypeError, match=refused(key, method, "encode")):
            net.encode(X, method=method, progress=False,
                       **({} if method != "omp" else {"n_nonzero": 2}), **{key: value(key)})
