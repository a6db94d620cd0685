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


def _reference_steps(p, gradients, lr, rates, beta1=0.9, beta2=0.999, eps=1e-8):
    """The class docstring's formulas as NumPy expressions, step after step."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(gradients, start=1):
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * (g * g)
        step = (lr * rates / (1.0 - beta1 ** t)) * m / (np.sqrt(v / (1.0 - beta2 ** t)) + eps)
        p = p - step.astype(p.dtype)  # float64 for a NumPy float64 lr
    return p, m, v


@pytest.mark.parametrize("lr", [3e-3, np.float64(3e-3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_equal_numpy_formulas_bit_for_bit(dtype, lr):
    # the compiled update rounds every operation as NumPy evaluates the documented
    # formulas (no fused multiply-add, no reordering): the same bits after 40 steps of
    # gradients from 1e-6 to 1e3, for a C-ordered, a Fortran-ordered and a 0-d array;
    # a NumPy float64 lr (the SAEs' schedule) makes NumPy take lr * m in float64. (NumPy 1
    # evaluates the 0-d reference's Python-float products in float64: there the 0-d
    # array is compared to rounding only.)
    rng = np.random.default_rng(5)
    shapes = {"w": (30, 7), "f": (6, 5), "s": ()}
    start = {name: rng.standard_normal(shape).astype(dtype) for name, shape in shapes.items()}
    start["f"] = np.asfortranarray(start["f"])
    gradients = {name: [(rng.standard_normal(shape) * 10.0 ** rng.uniform(-6, 3))
                        .astype(dtype) for _ in range(40)] for name, shape in shapes.items()}
    params = {name: a.copy(order="K") for name, a in start.items()}
    arrays = dict(params)
    opt = Adam(params, lr=lr, rates={"s": 0.25})
    for step in range(40):
        opt.step(params, {name: g[step] for name, g in gradients.items()})
    for name in shapes:
        p, m, v = _reference_steps(start[name], gradients[name], lr,
                                   0.25 if name == "s" else 1.0)
        assert params[name] is arrays[name] and params[name].dtype == dtype  # in place
        if name == "s" and np.__version__.startswith("1."):
            for got, want in ((params[name], p), (opt.m[name], m), (opt.v[name], v)):
                np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps)
            continue
        np.testing.assert_array_equal(params[name], p, err_msg=name)
        np.testing.assert_array_equal(opt.m[name], m, err_msg=name)
        np.testing.assert_array_equal(opt.v[name], v, err_msg=name)
    assert params["f"].flags.f_contiguous


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_a_nan_or_negative_infinity_anywhere_is_refused(bad):
    # the compiled check sums x - x (NaN for any non-finite x) in any order: a bad entry
    # at every position of a long array is found, and the gradient is not modified
    p = {"w": np.ones(1000, dtype=np.float32)}
    opt = Adam(p, lr=0.1)
    for position in (0, 1, 7, 8, 500, 999):
        g = np.ones(1000, dtype=np.float32)
        g[position] = bad
        with pytest.raises(FloatingPointError, match="the gradient of 'w' is not finite"):
            opt.step(p, {"w": g})
        assert np.isnan(g[position]) or g[position] == bad
    np.testing.assert_array_equal(p["w"], 1.0)
    assert opt.t == 0


def test_moments_set_in_another_layout_keep_their_updates():
    # the SAEs restore the moments from a file, where they may come back Fortran-ordered or
    # read-only: the compiled update must still write them (not a flattened copy)
    rng = np.random.default_rng(2)
    start = rng.standard_normal((5, 4))
    gradients = [rng.standard_normal((5, 4)) for _ in range(3)]
    p = {"w": start.copy()}
    opt = Adam(p, lr=0.01)
    opt.step(p, {"w": gradients[0]})
    opt.m["w"] = np.asfortranarray(opt.m["w"])
    v = opt.v["w"].copy()
    v.flags.writeable = False
    opt.v["w"] = v
    for g in gradients[1:]:
        opt.step(p, {"w": g})
    expected, m, v = _reference_steps(start, gradients, 0.01, 1.0)
    np.testing.assert_array_equal(p["w"], expected)
    np.testing.assert_array_equal(opt.m["w"], m)
    np.testing.assert_array_equal(opt.v["w"], v)


def test_a_gradient_of_another_shape_is_refused_by_name():
    # the compiled update walks the gradient and the parameter element by element: a
    # gradient of another shape would be read out of bounds, so it is refused first
    p = {"w": np.ones((3, 2)), "b": np.zeros(2)}
    opt = Adam(p, lr=0.1)
    with pytest.raises(ValueError, match=r"gradient of 'w' has shape \(2, 3\), the parameter "
                                         r"\(3, 2\)"):
        opt.step(p, {"w": np.ones((2, 3)), "b": np.ones(2)})
    with pytest.raises(ValueError, match=r"gradient of 'b' has shape \(1,\)"):
        opt.step(p, {"w": np.ones((3, 2)), "b": np.ones(1)})
    np.testing.assert_array_equal(p["w"], 1.0)
    assert opt.t == 0
