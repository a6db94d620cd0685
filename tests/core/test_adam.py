"""v1model.adam: the minibatch optimiser of the sparse autoencoders and LISTA,
against Adam's analytic first step and on quadratics."""

import numpy as np
import pytest

from v1model.adam import Adam


def test_first_step_is_lr_times_the_sign_of_the_gradient():
    # with bias correction m_hat = g and v_hat = g^2 at step 1: lr * g / (|g| + eps)
    p = {"w": np.array([1.0, -2.0, 3.0])}
    opt = Adam(p, lr=0.1)
    opt.step(p, {"w": np.array([0.5, -4.0, 1e-3])})
    np.testing.assert_allclose(p["w"], [0.9, -1.9, 2.9], rtol=0, atol=1e-6)


def test_minimises_a_quadratic():
    target = np.array([1.0, -3.0, 0.5])
    p = {"w": np.zeros(3)}
    opt = Adam(p, lr=0.05)
    for _ in range(2000):
        opt.step(p, {"w": 2 * (p["w"] - target)})
    np.testing.assert_allclose(p["w"], target, atol=1e-10)  # measured 4e-16


def test_minimises_an_ill_conditioned_quadratic():
    # 0.5 sum(c x^2) with curvatures 1e4 apart: Adam's per-coordinate scaling
    x = {"x": np.array([1.0, 1.0])}
    c = np.array([100.0, 0.01])
    opt = Adam(x, lr=0.05)
    for _ in range(3000):
        opt.step(x, {"x": c * x["x"]})
    assert np.abs(x["x"]).max() < 1e-2


def test_float32_parameters_stay_float32():
    p = {"w": np.ones(4, dtype=np.float32)}
    Adam(p, lr=0.1).step(p, {"w": np.ones(4, dtype=np.float32)})
    assert p["w"].dtype == np.float32
    np.testing.assert_allclose(p["w"], 0.9, rtol=1e-6)


def test_a_squared_gradient_beyond_the_dtype_stops_with_its_name():
    # g^2 = 1e40 overflows float32: the second moment would be inf and the step 0 for
    # ever (the parameter silently frozen), so the step refuses it
    p = {"w": np.ones(3, dtype=np.float32), "b": np.zeros(2, dtype=np.float32)}
    opt = Adam(p, lr=0.1)
    with pytest.raises(FloatingPointError, match=r"squared gradient of 'w' overflows float32 "
                                                 r"\(gradient entries up to 1e\+20\)"):
        opt.step(p, {"w": np.array([1.0, -1e20, 0.0], dtype=np.float32),
                     "b": np.zeros(2, dtype=np.float32)})
    # the same gradient in float64 is a normal first step: lr * sign(g)
    p64 = {"w": np.ones(3)}
    Adam(p64, lr=0.1).step(p64, {"w": np.array([1.0, -1e20, 0.0])})
    np.testing.assert_allclose(p64["w"], [0.9, 1.1, 1.0], rtol=0, atol=1e-7)


def test_a_non_finite_gradient_stops_before_any_update():
    # inf * inf raises no overflow: an infinite gradient (its computation overflowed) would
    # give a NaN step, so it is refused by name and nothing moves
    p = {"w": np.ones(3, dtype=np.float32), "b": np.zeros(2, dtype=np.float32)}
    opt = Adam(p, lr=0.1)
    with pytest.raises(FloatingPointError, match=r"the gradient of 'b' is not finite"):
        opt.step(p, {"w": np.ones(3, dtype=np.float32),
                     "b": np.array([np.inf, 0.0], dtype=np.float32)})
    np.testing.assert_array_equal(p["w"], 1.0)
    assert opt.t == 0 and not opt.m["w"].any()


def test_rates_scale_the_step_of_the_named_arrays():
    # first step: lr * rate * sign(g); arrays without a rate take lr
    p = {"w": np.zeros(2), "b": np.zeros(2)}
    Adam(p, lr=0.1, rates={"b": 0.01}).step(p, {"w": np.array([1.0, -2.0]),
                                                "b": np.array([3.0, -4.0])})
    np.testing.assert_allclose(p["w"], [-0.1, 0.1], rtol=1e-6)
    np.testing.assert_allclose(p["b"], [-1e-3, 1e-3], rtol=1e-6)
