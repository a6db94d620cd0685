"""The analytic gradients of every training loss against central finite
differences in float64."""

import numpy as np
import pytest

from v1model.sae.decoder import remove_parallel_gradient
from v1model.inference import matching_pursuit
from v1model.sae.objective import (Objective, auxk_loss, encoder_gradients, loss_and_gradients)

from .conftest import small_problem

N, F, M = 24, 6, 10
STEP = 1e-6
TOL = 1e-6


def _params(activation, m=M, seed=0):
    return small_problem(activation, N, F, m, seed)


def _relative_error(analytic, numeric):
    a = np.concatenate([analytic[name].ravel() for name in numeric])
    b = np.concatenate([numeric[name].ravel() for name in numeric])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("activation, settings", [
    ("relu", dict(lam=0.3)),
    ("topk", dict(k=3)),
    ("batchtopk", dict(k=3)),
    ("jumprelu", dict(lam=0.3, bandwidth=0.05)),
])
def test_gradient_matches_finite_differences(activation, settings, central_differences):
    params, X = _params(activation)
    objective = Objective(activation, **settings)
    loss, grads, cache = loss_and_gradients(params, X, objective)
    assert np.count_nonzero(cache["z"]) > N  # not a degenerate all-zero code
    # log_theta gets a pseudo-gradient (tested below); the loss is piecewise constant in it
    numeric = central_differences(lambda p: loss_and_gradients(p, X, objective)[0], params,
                                  STEP, skip=("log_theta",))
    assert set(numeric) | ({"log_theta"} if activation == "jumprelu" else set()) == set(grads)
    assert _relative_error(grads, numeric) <= TOL


def test_topk_sparsity_term_is_zero_and_relu_l1_is_lam_sum():
    params, X = _params("relu")
    loss, _, cache = loss_and_gradients(params, X, Objective("relu", lam=0.3))
    assert cache["sparsity"] == pytest.approx(0.3 * cache["z"].sum() / N, rel=1e-12)
    residual = X - cache["z"] @ params["decoder"] - params["b_dec"]
    assert cache["mse"] == pytest.approx(np.sum(residual ** 2) / N, rel=1e-12)
    assert loss == pytest.approx(cache["mse"] + cache["sparsity"], rel=1e-12)


@pytest.mark.parametrize("unit_rows", [True, False])
def test_mp_gradient_through_the_pursuit(unit_rows, central_differences):
    # reference loss: the codes of v1model.inference.matching_pursuit, recomputed at
    # every perturbed dictionary (the selections do not change for steps of 1e-6)
    params, X = _params("mp")
    if not unit_rows:  # the backward pass holds for any atom norms
        params["decoder"] = params["decoder"] * np.linspace(0.5, 2.0, M)[:, None]
    _, grads, cache = loss_and_gradients(params, X, Objective("mp", k=4))

    def mse(p):
        R = X - p["b_dec"]
        Z = matching_pursuit(R, p["decoder"], n_nonzero=4, max_iter=4, positive=True,
                             dtype=np.float64)
        return np.sum((R - Z @ p["decoder"]) ** 2) / N

    np.testing.assert_allclose(cache["mse"], mse(params), rtol=1e-12)
    assert _relative_error(grads, central_differences(mse, params, STEP)) <= TOL


def test_mp_gradient_differs_from_the_fixed_code_gradient():
    # the pursuit's dependence on D matters: holding the codes fixed gives another gradient
    params, X = _params("mp")
    _, grads, cache = loss_and_gradients(params, X, Objective("mp", k=4))
    fixed = (-2.0 / N) * cache["z"].T @ cache["residual"]
    assert np.linalg.norm(grads["decoder"] - fixed) > 0.1 * np.linalg.norm(fixed)


def test_auxk_gradient_with_residual_held_fixed(central_differences):
    params, X = _params("topk")
    rng = np.random.default_rng(1)
    pre = rng.standard_normal((N, M))
    residual = rng.standard_normal((N, F))
    dead = np.zeros(M, bool)
    dead[[1, 4, 5, 8]] = True
    loss, dpre, ddec = auxk_loss(pre, params["decoder"], residual, dead, k_aux=2)
    assert loss > 0
    assert not dpre[:, ~dead].any() and not ddec[~dead].any()
    arrays = {"pre": pre, "decoder": params["decoder"]}
    numeric = central_differences(
        lambda p: auxk_loss(p["pre"], p["decoder"], residual, dead, 2)[0], arrays, STEP)
    assert _relative_error({"pre": dpre, "decoder": ddec}, numeric) <= TOL


def test_encoder_gradients_chain_rule(central_differences):
    # dL/dpre -> parameters, for L = sum(G * pre) with a fixed G
    params, X = _params("topk")
    G = np.random.default_rng(2).standard_normal((N, M))

    def linear(p):
        return np.sum(G * ((X - p["b_dec"]) @ p["encoder"].T + p["b_enc"]))

    sub = {name: params[name] for name in ("encoder", "b_enc", "b_dec")}
    assert _relative_error(encoder_gradients(G, X, params),
                           central_differences(linear, sub, STEP)) <= TOL


def test_jumprelu_l0_pseudo_gradient_estimates_the_density_at_theta():
    # d/dtheta E[lam * H(pre - theta)] = -lam * p(theta); with pre ~ N(0, 1) the
    # rectangle-kernel pseudo-derivative is a kernel density estimate of p(theta)
    n, theta, eps, lam = 400_000, 0.5, 0.05, 2.0
    pre = np.random.default_rng(3).standard_normal((n, 1))
    params = {"encoder": np.ones((1, 1)), "b_enc": np.zeros(1), "decoder": np.ones((1, 1)),
              "b_dec": np.zeros(1), "log_theta": np.array([np.log(theta)])}
    with_l0 = loss_and_gradients(params, pre, Objective("jumprelu", lam=lam, bandwidth=eps))[1]
    without = loss_and_gradients(params, pre, Objective("jumprelu", lam=0.0, bandwidth=eps))[1]
    d_log_theta = with_l0["log_theta"][0] - without["log_theta"][0]
    density = np.exp(-theta ** 2 / 2) / np.sqrt(2 * np.pi)
    # kernel-density error: sqrt(p / (n eps)) / p ~ 1.2% relative; bias O(eps^2) ~ 0.01%
    assert d_log_theta == pytest.approx(-theta * lam * density, rel=0.05)


def test_jumprelu_reconstruction_pseudo_gradient_formula():
    # the z-part of d/dtheta: -(theta/eps) K((pre - theta)/eps) dL/dz, summed over samples
    params, X = _params("jumprelu")
    eps = 0.05
    _, grads, cache = loss_and_gradients(params, X, Objective("jumprelu", lam=0.0,
                                                              bandwidth=eps))
    theta = np.exp(params["log_theta"])
    dz = (-2.0 / N) * cache["residual"] @ params["decoder"].T
    inside = np.abs(cache["pre"] - theta) < eps / 2
    expected = theta * np.sum(np.where(inside, -(theta / eps) * dz, 0.0), axis=0)
    assert inside.any()
    np.testing.assert_allclose(grads["log_theta"], expected, rtol=1e-12, atol=1e-15)


def test_parallel_component_removed_from_decoder_gradient():
    rng = np.random.default_rng(4)
    D = rng.standard_normal((M, F))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    g = rng.standard_normal((M, F))
    tangent = remove_parallel_gradient(g.copy(), D)
    np.testing.assert_allclose(np.einsum("ij,ij->i", tangent, D), 0, atol=1e-14)
    # what was removed is parallel to each row
    removed = g - tangent
    cross = removed[:, :, None] * D[:, None, :] - removed[:, None, :] * D[:, :, None]
    np.testing.assert_allclose(cross, 0, atol=1e-14)


def test_auxk_loss_value_by_hand():
    # the k_aux largest positive pre-activations among the dead latents reconstruct the
    # residual; written out sample by sample
    rng = np.random.default_rng(6)
    pre = rng.standard_normal((N, M))
    D = rng.standard_normal((M, F))
    residual = rng.standard_normal((N, F))
    dead = np.zeros(M, bool)
    dead[[0, 2, 3, 7, 9]] = True
    for k_aux in (1, 2, 3, 5, 8):
        expected = 0.0
        for i in range(N):
            cols = np.flatnonzero(dead)
            best = cols[np.argsort(pre[i, cols])[::-1][:k_aux]]
            best = best[pre[i, best] > 0]
            err = residual[i] - pre[i, best] @ D[best]
            expected += err @ err / N
        loss, _, _ = auxk_loss(pre, D, residual, dead, k_aux)
        assert loss == pytest.approx(expected, rel=1e-12), k_aux


def test_jumprelu_l0_term_is_lam_times_the_mean_count():
    params, X = _params("jumprelu")
    loss, _, cache = loss_and_gradients(params, X, Objective("jumprelu", lam=0.3,
                                                             bandwidth=0.05))
    count = np.count_nonzero(cache["pre"] > np.exp(params["log_theta"]))
    assert 0 < count < N * M
    assert cache["sparsity"] == pytest.approx(0.3 * count / N, rel=1e-12)
    assert loss == pytest.approx(cache["mse"] + cache["sparsity"], rel=1e-12)


def test_relu_l1_is_the_decoder_norm_weighted_l1_at_unit_norm(central_differences):
    # Anthropic's 2024 penalty lam * sum_j z_j ||d_j||, differentiated by finite
    # differences in D at unit-norm rows: the same loss, and after removing each row's
    # parallel component (what training steps along) the same decoder gradient
    params, X = _params("relu")
    lam = 0.3
    objective = Objective("relu", lam=lam)
    loss, grads, _ = loss_and_gradients(params, X, objective)

    def weighted(p):
        _, _, cache = loss_and_gradients(p, X, Objective("relu", lam=0.0))
        norms = np.linalg.norm(p["decoder"], axis=1)
        return cache["mse"] + lam * float(np.sum(cache["z"] * norms)) / N

    assert weighted(params) == pytest.approx(loss, rel=1e-12)
    # z does not depend on D (the encoder is untied), so the weighted loss is smooth in it
    numeric = central_differences(lambda p: weighted({**params, **p}),
                                  {"decoder": params["decoder"]}, STEP)["decoder"]
    D = params["decoder"]
    tangent = remove_parallel_gradient(grads["decoder"].copy(), D)
    expected = remove_parallel_gradient(numeric, D)
    assert np.linalg.norm(tangent - expected) <= TOL * np.linalg.norm(expected)


def test_jumprelu_threshold_pseudo_gradient_is_the_papers_pseudo_code():
    # Rajamanoharan et al. (2024), appendix pseudo-code written out element by element:
    # jumprelu_bwd gives dL/dz * -(theta/eps) K((pre - theta)/eps), step_bwd gives
    # lam/n * -(1/eps) K(...) for the mean L0; both summed over samples, then d/dlog_theta
    params, X = _params("jumprelu")
    lam, eps = 0.3, 0.4  # a bandwidth wide enough that many pre-activations fall in it
    _, grads, cache = loss_and_gradients(params, X, Objective("jumprelu", lam=lam,
                                                              bandwidth=eps))
    theta = np.exp(params["log_theta"])
    pre = (X - params["b_dec"]) @ params["encoder"].T + params["b_enc"]
    x_hat = np.where(pre > theta, pre, 0.0) @ params["decoder"] + params["b_dec"]
    expected = np.zeros(M)
    for i in range(N):
        dz = (-2.0 / N) * (X[i] - x_hat[i]) @ params["decoder"].T
        for j in range(M):
            kernel = 1.0 if abs((pre[i, j] - theta[j]) / eps) < 0.5 else 0.0
            expected[j] += -(theta[j] / eps) * kernel * dz[j] - (1.0 / eps) * kernel * lam / N
    expected *= theta
    assert np.count_nonzero(np.abs(pre - theta) < eps / 2) >= 20  # the kernel is exercised
    np.testing.assert_allclose(grads["log_theta"], expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation, settings", [
    ("topk", dict(k=3)), ("batchtopk", dict(k=3)), ("relu", dict(lam=0.3)),
    ("jumprelu", dict(lam=0.3, bandwidth=0.2))])
def test_active_latent_products_give_the_dense_gradient(activation, settings, monkeypatch,
                                                        central_differences):
    # large models (by default from 4e8 flops per encoder product) with few non-zero
    # latents compute the decoder products and gradients over the active latents only:
    # forced here on a small model, they must give the dense formula's loss and
    # gradients, and the finite differences
    from v1model.sae import objective as objective_module

    rng = np.random.default_rng(3)
    m = 64  # k = 3 is below m / 16: the sparse products apply
    D = rng.standard_normal((m, F))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    params = {"encoder": D + 0.3 * rng.standard_normal((m, F)), "b_enc": 0.1 * rng.random(m),
              "decoder": D, "b_dec": 0.1 * rng.standard_normal(F)}
    X = rng.standard_normal((N, F)) + 0.5
    if activation == "relu":  # few positive pre-activations, as in a trained ReLU model
        params["b_enc"] -= 2.5
    if activation == "jumprelu":  # thresholds that few pre-activations pass or come near
        params["log_theta"] = np.log(rng.uniform(2.5, 3.5, m))
    objective = Objective(activation, **settings)
    dense_loss, dense, dense_cache = loss_and_gradients(params, X, objective)
    taken = []
    active = objective_module._active_loss_and_gradients
    monkeypatch.setattr(objective_module, "LARGE_PRODUCT_FLOPS", 0)
    monkeypatch.setattr(objective_module, "_active_loss_and_gradients",
                        lambda *args: taken.append(1) or active(*args))
    loss, grads, cache = loss_and_gradients(params, X, objective)
    assert taken, "the active-latent products were not used"
    assert 0 < np.count_nonzero(cache["z"]) <= N * m / 16
    assert loss == pytest.approx(dense_loss, rel=1e-13)
    np.testing.assert_allclose(cache["residual"], dense_cache["residual"], rtol=0, atol=1e-13)
    for name in dense:
        np.testing.assert_allclose(grads[name], dense[name], rtol=1e-12,
                                   atol=1e-14 * np.abs(dense[name]).max(), err_msg=name)
    if activation == "jumprelu":  # the thresholds' pseudo-gradient needs entries off the mask
        near = np.abs(cache["pre"] - np.exp(params["log_theta"])) < 0.1
        assert np.any(near & (cache["z"] == 0)) and np.any(dense["log_theta"] != 0)
    # log_theta gets a pseudo-gradient, compared with the dense formula's above
    numeric = central_differences(lambda p: loss_and_gradients(p, X, objective)[0], params,
                                  STEP, skip=("log_theta",))
    assert _relative_error(grads, numeric) <= TOL
    # float32: the same gradients within float32 rounding
    params32 = {name: a.astype(np.float32) for name, a in params.items()}
    _, grads32, _ = loss_and_gradients(params32, X.astype(np.float32), objective)
    for name in dense:
        assert grads32[name].dtype == np.float32
        np.testing.assert_allclose(grads32[name], dense[name], rtol=1e-4,
                                   atol=1e-5 * np.abs(dense[name]).max(), err_msg=name)
