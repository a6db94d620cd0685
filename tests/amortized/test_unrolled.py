"""The LISTA network itself: ISTA at its initial weights, exact gradients."""

import warnings

import numpy as np
import pytest

from v1model.amortized import LISTA
from v1model.amortized._unrolled import (FullLayers, code_loss, ista_weights, lasso_loss,
                                         lista_forward, lista_gradients)
from v1model.inference import ConvergenceWarning, fista


def reference_ista(X, D, lam, n_iter, L):
    """Textbook ISTA from zero codes, written out independently of the package."""
    Z = np.zeros((X.shape[0], D.shape[0]))
    for _ in range(n_iter):
        U = Z - (Z @ D - X) @ D.T / L  # gradient step on 0.5 ||x - z D||^2
        Z = np.sign(U) * np.maximum(np.abs(U) - lam / L, 0)
    return Z


@pytest.mark.parametrize("n_layers", [1, 2, 5, 20])
def test_untrained_lista_is_the_projects_ista(patch_problem, n_layers):
    # the paper's premise: at ISTA's weights, n_layers thresholding layers are
    # n_layers ISTA iterations from zero (the first product with S multiplies zero)
    X, _, D, lam = patch_problem
    X = X[:200]
    net = LISTA(n_layers, lam, dtype="float64").initialize(D)
    with warnings.catch_warnings():  # a fixed iteration count is not convergence
        warnings.simplefilter("ignore", ConvergenceWarning)
        ista = fista(X, D, lam, accelerated=False, step="constant", max_iter=n_layers,
                     tol=1e-300, dtype=np.float64)
    Z = net.encode(X)
    assert np.abs(ista).max() > 0.1  # not a comparison of zeros
    np.testing.assert_allclose(Z, ista, rtol=0, atol=1e-10)
    # ... and one iteration more or fewer is measurably different
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other = fista(X, D, lam, accelerated=False, step="constant",
                      max_iter=n_layers + 1, tol=1e-300, dtype=np.float64)
    assert np.abs(Z - other).max() > 1e-4


def test_untrained_lista_is_textbook_ista(small_problem):
    # an ISTA written in the test, with the step 1 / (1.0001 lambda_max) the
    # project's constant-step rule uses; atoms of any norm (as in v1model.inference)
    X, D, lam = small_problem
    D = D * np.linspace(0.5, 2.0, D.shape[0])[:, None]
    L = np.linalg.eigvalsh(D @ D.T)[-1] * 1.0001
    for n_layers in (1, 3, 8):
        Z = LISTA(n_layers, lam, dtype="float64").initialize(D).encode(X)
        np.testing.assert_allclose(Z, reference_ista(X, D, lam, n_layers, L), rtol=0, atol=1e-12)


def test_ista_weights_values(small_problem):
    _, D, lam = small_problem
    W_e, S, theta = ista_weights(D, lam)
    L = np.linalg.eigvalsh(D @ D.T)[-1] * 1.0001
    np.testing.assert_allclose(W_e * L, D, atol=1e-12)
    np.testing.assert_allclose(S, np.eye(12) - D @ D.T / L, atol=1e-12)
    np.testing.assert_allclose(theta, np.full(12, lam / L), rtol=1e-12)


def perturbed_weights(D, lam, rng):
    """ISTA's weights moved randomly: S no longer symmetric, thresholds all different."""
    W_e, S, theta = ista_weights(D, lam)
    W_e = W_e + 0.05 * rng.standard_normal(W_e.shape)
    S = S + 0.05 * rng.standard_normal(S.shape)
    theta = theta * rng.uniform(0.5, 1.5, theta.shape)
    return [W_e, S, theta]


@pytest.mark.parametrize("objective", ["supervised", "lasso"])
@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_gradients_match_central_differences(small_problem, n_layers, objective,
                                             central_differences):
    # both training losses: Gregor & LeCun's error to target codes, and the LASSO
    # objective of the codes (objective="lasso")
    X, D, lam = small_problem
    rng = np.random.default_rng(9)  # a draw with no layer input near a kink
    params = perturbed_weights(D, lam, rng)
    target = rng.standard_normal((X.shape[0], D.shape[0])) * 0.3

    def loss_and_grad(Z):
        return code_loss(Z, target) if objective == "supervised" else lasso_loss(Z, X, D, lam)

    def loss(p):
        return loss_and_grad(lista_forward(X, p["W_e"], p["S"], p["theta"], n_layers))[0]

    Z, inputs = lista_forward(X, *params, n_layers, keep_inputs=True)
    active = np.mean([np.mean(np.abs(C) > params[2]) for C in inputs])
    assert 0.1 < active < 0.9  # both sides of the threshold are exercised
    # the loss is piecewise quadratic: central differences are exact up to rounding
    # unless a step crosses a kink, so no layer input may lie within 1e-4 of one
    # (a step of eps moves an input by ~eps * |x| ~ 1e-6)
    assert min(np.abs(np.abs(C) - params[2]).min() for C in inputs) > 1e-4
    grads = lista_gradients(X, params[1], params[2], inputs, loss_and_grad(Z)[1])
    names = ("W_e", "S", "theta")
    numerics = central_differences(loss, dict(zip(names, params)), 1e-7)
    for name, g in zip(names, grads):
        numeric = numerics[name]
        if n_layers == 1 and name == "S":  # one layer never uses S
            assert np.all(g == 0) and np.all(numeric == 0)
            continue
        rel = np.linalg.norm(g - numeric) / np.linalg.norm(numeric)
        assert rel <= 1e-6, (name, rel)
    # the adapter LISTA.fit uses gives the same gradients
    layers = FullLayers(D, lam, n_layers)
    w = dict(zip(names, params))
    Z2, cache = layers.forward(X, w, keep=True)
    for name, g in layers.gradients(X, w, cache, loss_and_grad(Z2)[1]).items():
        np.testing.assert_array_equal(g, grads[names.index(name)])


def test_gradient_check_catches_a_wrong_gradient(small_problem):
    # the finite-difference comparison above can fail: a threshold gradient with
    # the wrong sign is off by 200%
    X, D, lam = small_problem
    rng = np.random.default_rng(5)
    W_e, S, theta = perturbed_weights(D, lam, rng)
    target = rng.standard_normal((X.shape[0], D.shape[0])) * 0.3
    Z, inputs = lista_forward(X, W_e, S, theta, 2, keep_inputs=True)
    g_theta = lista_gradients(X, S, theta, inputs, code_loss(Z, target)[1])[2]
    eps = 1e-6
    numeric = np.array([(code_loss(lista_forward(X, W_e, S, theta + eps * e, 2), target)[0]
                         - code_loss(lista_forward(X, W_e, S, theta - eps * e, 2), target)[0])
                        / (2 * eps) for e in np.eye(len(theta))])
    assert np.linalg.norm(-g_theta - numeric) / np.linalg.norm(numeric) > 1.9


def test_lasso_loss_value_and_gradient():
    # 0.5 ||x - z D||^2 + lam ||z||_1 averaged over samples, written out by hand
    D = np.array([[1.0, 0.0], [0.6, 0.8]])
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    Z = np.array([[0.5, 0.0], [0.0, -2.0]])
    lam = 0.3
    R = Z @ D - X  # [[-0.5, -2], [-1.2, -0.6]]
    expected = (0.5 * (0.25 + 4 + 1.44 + 0.36) + lam * 2.5) / 2
    value, grad = lasso_loss(Z, X, D, lam)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, (R @ D.T + lam * np.sign(Z)) / 2, rtol=1e-12)
    assert lasso_loss(Z, X, D, lam, grad=False) == (value, None)
    # the package's LASSO objective agrees
    from v1model.inference._common import objective

    assert value == pytest.approx(objective(X, D, Z, lam).mean(), rel=1e-12)


def test_solver_error_by_iteration_takes_one_sample_as_a_1d_x():
    # documented as (n_samples, n_features) only, though a 1-D X is one sample
    import inspect

    from v1model.amortized import solver_error_by_iteration

    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    x = rng.standard_normal(4)
    one = solver_error_by_iteration(x, D, 0.1, 3, dtype="float64", progress=False)
    rows = solver_error_by_iteration(x[None], D, 0.1, 3, dtype="float64", progress=False)
    np.testing.assert_array_equal(one["prediction_error"].values,
                                  rows["prediction_error"].values)
    doc = " ".join(inspect.getdoc(solver_error_by_iteration).split())
    assert "X : array_like, shape (n_samples, n_features) or (n_features,)" in doc
