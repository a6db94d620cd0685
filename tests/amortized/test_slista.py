"""Step-LISTA (Ablin et al. 2019): ISTA at its initial steps, exact gradients, and
the paper's findings after unsupervised training on natural patches."""

import warnings

import numpy as np
import pytest

from v1model.amortized import LISTA, optimal_codes
from v1model.amortized._slista import StepLayers, ista_steps, slista_forward, slista_gradients
from v1model.amortized._unrolled import code_loss, lasso_loss
from v1model.inference import ConvergenceWarning, fista


def project_solver(X, D, lam, n_iter, accelerated=False):
    """The project's ISTA (or FISTA), constant step, exactly ``n_iter`` iterations from zero."""
    with warnings.catch_warnings():  # a fixed iteration count is not convergence
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fista(X, D, lam, accelerated=accelerated, restart=False, step="constant",
                     max_iter=n_iter, tol=1e-300, dtype=np.float64)


def textbook_ista(X, D, lam, n_iter, L):
    """ISTA from zero codes, written out independently of the package."""
    Z = np.zeros((X.shape[0], D.shape[0]))
    for _ in range(n_iter):
        U = Z - (Z @ D - X) @ D.T / L
        Z = np.sign(U) * np.maximum(np.abs(U) - lam / L, 0)
    return Z


@pytest.mark.parametrize("n_layers", [1, 2, 5, 20])
def test_untrained_slista_is_the_projects_ista(patch_problem, n_layers):
    X, _, D, lam = patch_problem
    X = X[:200]
    Z = LISTA(n_layers, lam, parametrization="step", dtype="float64").initialize(D).encode(X)
    ista = project_solver(X, D, lam, n_layers)
    assert np.abs(ista).max() > 0.1  # not a comparison of zeros
    np.testing.assert_allclose(Z, ista, rtol=0, atol=1e-10)
    assert np.abs(Z - project_solver(X, D, lam, n_layers + 1)).max() > 1e-4


def test_untrained_slista_is_textbook_ista(small_problem):
    # atoms of several norms; the step is 1 / (1.0001 lambda_max), as in the project's ISTA
    X, D, lam = small_problem
    D = D * np.linspace(0.5, 2.0, D.shape[0])[:, None]
    L = np.linalg.eigvalsh(D @ D.T)[-1] * 1.0001
    np.testing.assert_allclose(ista_steps(D, 3), np.full(3, 1 / L), rtol=1e-12)
    for n_layers in (1, 3, 8):
        net = LISTA(n_layers, lam, parametrization="step", dtype="float64").initialize(D)
        np.testing.assert_allclose(net.encode(X), textbook_ista(X, D, lam, n_layers, L),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.threshold_, net.step_size_ * lam, rtol=1e-15)


@pytest.mark.parametrize("objective", ["supervised", "lasso"])
@pytest.mark.parametrize("n_layers", [1, 2, 4])
def test_step_gradients_match_central_differences(small_problem, n_layers, objective,
                                                  central_differences):
    X, D, lam = small_problem
    rng = np.random.default_rng(7)  # a draw with no layer input near a kink
    steps = ista_steps(D, n_layers) * rng.uniform(0.8, 2.5, n_layers)
    target = rng.standard_normal((X.shape[0], D.shape[0])) * 0.3
    G = D @ D.T

    def loss_and_grad(Z):
        return code_loss(Z, target) if objective == "supervised" else lasso_loss(Z, X, D, lam)

    def loss(p):
        return loss_and_grad(slista_forward(X, D, G, p["step"], p["step"] * lam))[0]

    Z, cache = slista_forward(X, D, G, steps, steps * lam, keep=True)
    active = np.mean([np.mean(np.abs(C) > a * lam) for (C, _), a in zip(cache, steps)])
    assert 0.05 < active < 0.9  # both sides of the threshold are exercised
    # no layer input within 1e-4 of its kink (a step of 1e-7 moves them by ~1e-6); the
    # first layer's inputs a_1 B and threshold a_1 lam scale together: its kinks
    # [|B| > lam] do not move with the steps
    if n_layers > 1:
        assert min(np.abs(np.abs(C) - a * lam).min()
                   for (C, _), a in zip(cache[1:], steps[1:])) > 1e-4
    grad = slista_gradients(G, steps, steps * lam, lam, cache, loss_and_grad(Z)[1])
    numeric = central_differences(loss, {"step": steps.copy()}, 1e-7)["step"]
    assert np.all(numeric != 0)
    rel = np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)
    assert rel <= 1e-6, rel
    # the check can fail: leaving out the thresholds' dependence on the steps
    # (lam = 0 in the backward pass) is a wrong gradient, and it is caught
    wrong = slista_gradients(G, steps, steps * lam, 0.0, cache, loss_and_grad(Z)[1])
    assert np.linalg.norm(wrong - numeric) / np.linalg.norm(numeric) > 0.1
    # the adapter LISTA.fit uses gives the same gradient
    layers = StepLayers(D, lam, n_layers)
    w = {"step": steps}
    Z2, cache2 = layers.forward(X, w, keep=True)
    np.testing.assert_array_equal(layers.gradients(X, w, cache2, loss_and_grad(Z2)[1])["step"],
                                  grad)


@pytest.fixture(scope="module")
def trained_slista(patch_problem):
    """Step-LISTA with 5 layers trained on the LASSO objective of 5,000 patches (~1.5 s)."""
    X_train, X_test, D, lam = patch_problem
    net = LISTA(5, lam, parametrization="step", objective="lasso", n_steps=1000)
    return net.fit(X_train, D, seed=0, X_val=X_test)


def test_slista_has_a_lower_objective_than_ista_and_fista(patch_problem, trained_slista):
    # Ablin et al. (2019), Fig. 4: at equal depth the learned steps reach a lower LASSO
    # objective than ISTA and FISTA on held-out data. Measured on 500 held-out patches,
    # 5 layers (objective minus that of z*): SLISTA 0.066, ISTA 0.197, FISTA 0.153
    X_train, X_test, D, lam = patch_problem
    target = optimal_codes(X_test, D, lam)
    optimum = lasso_loss(target, X_test, D, lam)[0]
    gap = {name: lasso_loss(project_solver(X_test, D, lam, 5, accelerated), X_test, D, lam)[0]
           - optimum for name, accelerated in (("ista", False), ("fista", True))}
    gap["slista"] = trained_slista.lasso_objective(X_test) - optimum
    untrained = LISTA(5, lam, parametrization="step").initialize(D).lasso_objective(X_test)
    assert untrained - optimum == pytest.approx(gap["ista"], rel=1e-4)
    assert not untrained - optimum < 0.5 * gap["ista"]  # the margin below is training's
    assert gap["slista"] < 0.5 * gap["ista"] and gap["slista"] < gap["fista"]
    # the history records the held-out objective, starting at ISTA's
    h = trained_slista.history_
    assert h["validation_loss"][0] == pytest.approx(gap["ista"] + optimum, rel=1e-4)
    assert h["validation_loss"][-1] == pytest.approx(gap["slista"] + optimum, rel=1e-4)
    assert h["train_loss"].attrs["units"] == "(units of X)^2"
    assert h.attrs["objective"] == "lasso" and h.attrs["parametrization"] == "step"


def test_learned_steps_exceed_one_over_L(patch_problem, trained_slista):
    # Ablin et al. (2019): the learned steps are larger than ISTA's 1 / L and approach
    # 1 / L_S, with L_S the largest eigenvalue of D_S D_S^T on the support S of z*.
    # Measured (units of 1 / L): 1.04, 1.83, 4.57, 5.10, 5.52, against a median L / L_S
    # of 4.9 (quartiles 4.2-6.4) over the held-out patches
    X_train, X_test, D, lam = patch_problem
    L = np.linalg.eigvalsh(D @ D.T)[-1] * 1.0001
    steps = trained_slista.step_size_.astype(np.float64) * L
    assert np.all(steps >= 1.0)
    assert np.all(np.diff(steps) > 0) and steps[-1] > 3
    target = optimal_codes(X_test, D, lam)
    L_S = [np.linalg.eigvalsh(D[z != 0] @ D[z != 0].T)[-1] for z in target if np.any(z)]
    assert 0.5 < steps[-1] / np.median(L / np.array(L_S)) < 2
    # and it is still a descent method: every layer lowers the held-out objective
    G = (D @ D.T).astype(np.float32)
    objective = [lasso_loss(slista_forward(X_test.astype(np.float32), D.astype(np.float32), G,
                                           trained_slista.step_size_[:t],
                                           trained_slista.threshold_[:t]), X_test, D, lam)[0]
                 for t in range(1, 6)]
    assert np.all(np.diff(objective) < 0)
