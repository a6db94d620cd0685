"""Checks added by a mutation-testing audit of v1model.sae: each one pins a behaviour that a
plausible slip in the code (a flipped comparison, a dropped factor) left untested, against
the documented formula or an independent computation."""

import numpy as np
import pytest

from v1model.sae import jumprelu, relu
from v1model.sae.activations import rectangle
from v1model.sae.objective import (Objective, auxk_loss, loss_and_gradients)

from .conftest import small_problem

N, F, M = 24, 6, 10


def _params(activation, m=M, seed=0):
    return small_problem(activation, N, F, m, seed)


def test_relu_mask_is_pre_strictly_positive():
    """Documented mask ``pre > 0``: an exact zero passes no gradient."""
    z, mask = relu([[0.0, 1.5, -2.0]])
    np.testing.assert_array_equal(z, [[0.0, 1.5, 0.0]])
    np.testing.assert_array_equal(mask, [[False, True, False]])


def test_jumprelu_passes_only_values_strictly_above_theta():
    """``z = pre * H(pre - theta)`` with the mask ``pre > theta``: pre == theta is cut."""
    z, mask = jumprelu([[0.5, 0.5000001, 0.25]], 0.5)
    np.testing.assert_array_equal(mask, [[False, True, False]])
    np.testing.assert_array_equal(z, [[0.0, 0.5000001, 0.0]])
    z, mask = jumprelu([[0.5, 0.75]], np.array([0.5, 0.75]))
    assert not mask.any() and not z.any()


def test_rectangle_kernel_is_one_on_the_open_interval():
    """``K(u) = 1`` for ``|u| < 1/2``, else 0 (Rajamanoharan et al. 2024): 0 at +-1/2."""
    u = np.array([-0.5, -0.49, 0.0, 0.49, 0.5, 0.75])
    np.testing.assert_array_equal(rectangle(u), [0.0, 1.0, 1.0, 1.0, 0.0, 0.0])


SETTINGS = [("relu", dict(lam=0.3)), ("topk", dict(k=3)), ("batchtopk", dict(k=3)),
            ("jumprelu", dict(lam=0.3, bandwidth=0.2)), ("mp", dict(k=3))]


@pytest.mark.parametrize("activation, settings, active_products",
                         [(*s, False) for s in SETTINGS]  # mp has no active-latent path
                         + [(*s, True) for s in SETTINGS if s[0] != "mp"])
def test_gradients_are_those_of_loss_scale_times_the_loss(activation, settings,
                                                          active_products, monkeypatch):
    """With ``loss_scale = s`` every gradient is ``s`` times the unscaled one (a power of two:
    exactly, up to the rounding of sums), the L1 and L0 terms' included; loss unscaled."""
    from v1model.sae import objective as objective_module

    params, X = _params(activation, m=64 if active_products else M, seed=3)
    if active_products:  # few active latents, as test_gradients' active-product test
        params["b_enc"] -= 2.5 if activation == "relu" else 0.0
        if activation == "jumprelu":
            params["log_theta"] = np.log(np.random.default_rng(4).uniform(2.5, 3.5, 64))
        monkeypatch.setattr(objective_module, "LARGE_PRODUCT_FLOPS", 0)
    objective = Objective(activation, **settings)
    loss1, g1, cache = loss_and_gradients(params, X, objective)
    loss8, g8, _ = loss_and_gradients(params, X, objective, loss_scale=8.0)
    used = objective_module.use_active_products(cache["z"], F)
    assert used == active_products  # the path under test is the one taken
    assert loss8 == loss1
    for name in g1:
        assert np.any(g1[name] != 0), name
        np.testing.assert_allclose(g8[name], 8.0 * g1[name], rtol=1e-12,
                                   atol=1e-14 * np.abs(g1[name]).max(), err_msg=name)


def test_auxk_keeps_exactly_k_aux_dead_latents_per_sample():
    """AuxK: the ``k_aux`` largest pre-activations among the dead latents, ReLU after,
    reconstruct the residual; loss recomputed by hand with NumPy."""
    rng = np.random.default_rng(5)
    pre = rng.standard_normal((N, M)) + 1.0  # mostly positive: k_aux + 1 would add terms
    D = rng.standard_normal((M, F))
    residual = rng.standard_normal((N, F))
    dead = np.zeros(M, bool)
    dead[[0, 2, 3, 7, 9]] = True
    loss, _, _ = auxk_loss(pre, D, residual, dead, k_aux=2)
    cols = np.flatnonzero(dead)
    z = np.zeros((N, cols.size))
    for i in range(N):
        top = np.argsort(pre[i, cols])[-2:]
        z[i, top] = np.maximum(pre[i, cols][top], 0)
    expected = np.sum((residual - z @ D[cols]) ** 2) / N
    assert loss == pytest.approx(expected, rel=1e-12)


def test_batchtopk_inference_with_a_negative_threshold_gives_non_negative_latents():
    """``encode`` returns non-negative latents: a threshold below 0 (never learned, but
    settable) is clipped to 0, i.e. ReLU of the pre-activations."""
    from v1model.sae.objective import encode, pre_activations

    params, X = _params("batchtopk")
    z = encode(params, X, Objective("batchtopk", k=3), threshold=-0.5)
    pre = pre_activations(params, X)
    assert np.any(pre < 0)
    np.testing.assert_array_equal(z, np.maximum(pre, 0.0))


def test_project_rows_gives_a_collapsed_row_its_previous_value():
    """Rows rescaled to unit norm in place; a row that collapsed to zero gets its value
    from before the step back (documented), not a zero row."""
    from v1model.sae.decoder import project_rows

    previous = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    D = np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]])
    out = project_rows(D, previous)
    assert out is D
    np.testing.assert_allclose(D, [[0.6, 0.0, 0.8], [0.0, 0.0, 1.0]], rtol=1e-15)
