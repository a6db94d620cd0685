"""Bad input to ConvolutionalDictionary, encode, objective and reconstruct: each
raises, and the message names the argument."""

import numpy as np
import pytest

from v1model.convolutional import (ConvolutionalDictionary, encode, matching_pursuit, objective,
                                   reconstruct)

from .conftest import unit_kernels

KERNELS = unit_kernels(np.random.default_rng(0), (4, 5, 5))
X = np.random.default_rng(1).standard_normal((2, 16, 16))


@pytest.mark.parametrize("call, error, match", [
    (lambda: ConvolutionalDictionary(KERNELS, (16,)), ValueError,
     r"signal_shape must have 2 entries"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), stride=(1, 2, 3)), ValueError,
     r"stride must have 2 entries"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), stride=0), ValueError,
     r"stride must be >= 1"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), stride=(2, 6)), ValueError,
     r"stride=\(2, 6\) exceeds the kernel size \(5, 5\) along axis 1"),
    (lambda: ConvolutionalDictionary(KERNELS, (15, 16), stride=2, boundary="circular"),
     ValueError, r"boundary='circular' needs signal_shape=\(15, 16\) divisible by stride"),
    (lambda: ConvolutionalDictionary(KERNELS, (4, 16), boundary="valid"), ValueError,
     r"kernels of shape \(5, 5\) do not fit in signal_shape=\(4, 16\)"),
    (lambda: ConvolutionalDictionary(np.concatenate([KERNELS, np.zeros((1, 5, 5))]), (9, 9)),
     ValueError, r"kernels: kernel 4 is all zeros"),
    (lambda: ConvolutionalDictionary(np.ones(5), (16,)), ValueError, r"kernels must have"),
    (lambda: ConvolutionalDictionary(np.ones((1, 2, 2, 2, 2)), (4, 4, 4, 4)), ValueError,
     r"kernels must have"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), boundary="same"), ValueError,
     r"boundary must be one of"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), dtype=np.int32), ValueError,
     r"dtype must be float32 or float64"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16)).analyze(np.zeros((2, 16, 15))),
     ValueError, r"X must have shape \(n_samples, 16, 16\)"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16)).synthesize(np.zeros((2, 3, 20, 20))),
     ValueError, r"codes must have shape \(n_samples, 4, 20, 20\)"),
    # no stride or boundary given or recorded: the missing ones named (a bare shape error)
    (lambda: reconstruct(np.zeros((2, 4, 19, 19)), KERNELS, (16, 16)), ValueError,
     r"codes of shape \(2, 4, 19, 19\) do not fit signals of shape \(16, 16\) .* stride "
     r"and boundary were neither given nor recorded"),
    (lambda: objective(X, np.zeros((2, 4, 19, 19)), KERNELS, 0.1), ValueError,
     r"codes of shape \(2, 4, 19, 19\) do not fit signals of shape"),
    (lambda: reconstruct(np.zeros((2, 4, 19, 19)), KERNELS, (16, 16), stride=1,
                         boundary="full"), ValueError, r"codes must have shape"),
])
def test_operator_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _nan_X():
    bad = X.copy()
    bad[0, 3, 3] = np.nan
    return bad


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(X=_nan_X()), ValueError, r"X contains 1 non-finite value"),
    (dict(kernels=np.where(KERNELS > 0.3, np.inf, KERNELS)), ValueError,
     r"kernels contains \d+ non-finite"),
    (dict(X=np.zeros(16)), ValueError, r"X must have shape \(n_samples, \*signal_shape\) "
     r"with 2 signal axes"),
    (dict(X=np.zeros((2, 2, 16, 16))), ValueError, r"X must have 3 dimensions \(n_samples, "
     r"\*signal_shape\), or 2 for one signal, for kernels of shape \(4, 5, 5\) \(2-D "
     r"signals\); got 4"),
    (dict(X=np.zeros((0, 16, 16))), ValueError, r"X must not be empty"),
    (dict(method="omp"), ValueError, r"method must be one of 'lca', 'fista', 'ista'"),
    (dict(method="mp"), ValueError, r"method=.mp.: matching pursuit has no lam; call v1model"),
    (dict(boundary="same"), ValueError, r"boundary must be one of"),
    (dict(method="fista", threshold="hard"), ValueError,
     r"threshold='hard' is an LCA nonlinearity; method='fista'"),
    (dict(method="ista", threshold="hard"), ValueError, r"threshold='hard'"),
    (dict(threshold="relu"), ValueError, r"threshold must be one of"),
    (dict(dt=1.0), ValueError, r"dt=1.0 s is not below 2 tau / max\(L, 1\)"),
    (dict(method="fista", dt=1e-4), ValueError, r"dt=0.0001 is the LCA's Euler step"),
    # ignored before, unsaid (the dense encode refuses an LCA setting for fista too)
    (dict(method="fista", tau=0.02), ValueError, r"^tau=0\.02 is the LCA's membrane time "
     r"constant; method='fista' has none \(it takes its step itself, from 1/\|\|Φ\|\|²\)$"),
    (dict(method="ista", tau=0.01), ValueError, r"^tau=0\.01 is the LCA's membrane time "
     r"constant; method='ista' has none"),
    (dict(lam=-0.1), ValueError, r"lam must be a non-negative"),
    (dict(lam=np.nan), ValueError, r"lam must be a non-negative"),
    (dict(tau=0.0), ValueError, r"tau must be a positive"),
    (dict(n_steps=0), ValueError, r"n_steps must be >= 1"),
    (dict(max_iter=0), ValueError, r"max_iter must be >= 1"),
    (dict(tol=0.0), ValueError, r"tol must be a positive"),
    (dict(codes0=np.zeros((2, 4, 19, 19))), ValueError,
     r"codes0 must have shape \(2, 4, 20, 20\)"),
    (dict(codes0=np.full((2, 4, 20, 20), np.nan)), ValueError, r"codes0 contains"),
    (dict(stride=6), ValueError, r"stride=\(6, 6\) exceeds the kernel size"),
    (dict(boundary="circular", stride=3), ValueError, r"boundary='circular' needs"),
    (dict(return_history="yes"), TypeError, r"return_history must be a bool"),
    (dict(kernels=ConvolutionalDictionary(KERNELS, (16, 17))), ValueError,
     r"X must have shape \(n_samples, 16, 17\)"),
])
def test_encode_rejects(kwargs, error, match):
    args = dict(X=X, kernels=KERNELS, lam=0.1)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        encode(args.pop("X"), args.pop("kernels"), args.pop("lam"), **args)


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_n_steps_warns_of_the_tolerance_settings_it_ignores(method):
    """With n_steps, tol and max_iter were ignored without a word: warned of now, as the
    dense lca warns of them (tol is a tolerance stop's, max_iter its step limit)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # n_steps alone, or max_iter at its default: silent
        plain = encode(X, KERNELS, 0.1, method=method, n_steps=4, max_iter=5000)
    with pytest.warns(UserWarning, match=rf"^convolutional encode\(method='{method}'\) "
                                         r"ignores tol=1e-09 \(n_steps runs exactly that "
                                         r"many steps, without a tolerance stop\); "
                                         r"max_iter=2 \(n_steps runs exactly that many "
                                         r"steps\)$"):
        codes = encode(X, KERNELS, 0.1, method=method, n_steps=4, tol=1e-9, max_iter=2)
    np.testing.assert_array_equal(codes, plain)  # ignored indeed: 4 steps, not 2
    with pytest.warns(UserWarning, match=r"ignores tol=0\.5 \(n_steps runs exactly that "
                                         r"many steps, without a tolerance stop\)$"):
        encode(X, KERNELS, 0.1, method=method, n_steps=4, tol=0.5)


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_dt_limit_is_two_tau_over_lipschitz(scale):
    """Just below 2 tau / max(L, 1) runs; at the limit it is refused (kernels of small
    norm: the leak of the inactive units, rate 1, sets it)."""
    kernels = scale * KERNELS
    phi = ConvolutionalDictionary(kernels, (16, 16))  # encode's float32 default
    limit = 2 * 0.01 / max(phi.lipschitz(), 1.0)
    assert (limit < 2 * 0.01) == (scale == 1.0)
    encode(X, kernels, 0.5 * scale, dt=0.99 * limit, n_steps=3)
    with pytest.raises(ValueError, match=r"dt=.* s is not below 2 tau / max\(L, 1\)"):
        encode(X, kernels, 0.5 * scale, dt=limit)


def test_return_history_with_too_many_signals():
    """More signals than one block (8 Mi coefficients): refused before solving."""
    kernels = np.ones((2, 3, 3)) / 3
    # 2 kernels x 2050² positions = 8.4 M coefficients per signal: blocks of one signal
    with pytest.raises(ValueError, match=r"return_history records one block of signals; "
                                         r"X has 2 signals"):
        encode(np.zeros((2, 2048, 2048), np.float32), kernels, 0.1, return_history=True)


@pytest.mark.parametrize("call", [
    lambda phi, **kw: encode(X, phi, 0.5, **kw),
    lambda phi, **kw: matching_pursuit(X, phi, n_nonzero=3, **kw),
    lambda phi, **kw: objective(X, np.zeros((2, 4) + phi.code_shape), phi, 0.5, **kw),
], ids=["encode", "matching_pursuit", "objective"])
@pytest.mark.parametrize("kwargs, match", [
    (dict(stride=3), r"stride=3 disagrees with the ConvolutionalDictionary's own "
                     r"stride=\(2, 2\)"),
    (dict(stride=(2, 1)), r"stride=\(2, 1\) disagrees"),
    (dict(boundary="circular"), r"boundary='circular' disagrees with the "
                                r"ConvolutionalDictionary's own boundary='full'"),
])
def test_a_dictionary_refuses_a_contradicting_geometry(call, kwargs, match):
    """A ConvolutionalDictionary carries its stride and boundary: a different one
    passed beside it was silently ignored (codes of the wrong geometry)."""
    phi = ConvolutionalDictionary(KERNELS, (16, 16), stride=2)
    with pytest.raises(ValueError, match=match):
        call(phi, **kwargs)


def test_a_dictionary_accepts_its_own_geometry_and_a_dtype():
    phi = ConvolutionalDictionary(KERNELS, (16, 16), stride=2, dtype=np.float64)
    reference = encode(X, phi, 0.5, method="fista")
    assert reference.dtype == np.float64  # its own precision when none is given
    same = encode(X, phi, 0.5, method="fista", stride=(2, 2), boundary="full")
    np.testing.assert_array_equal(same, reference)
    single = encode(X, phi, 0.5, method="fista", dtype=np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, reference, atol=1e-4)


def test_lca_dt_refusal_does_not_claim_an_instability_it_has_not_shown():
    """lipschitz() is an upper bound (here 1.7x ||Φ||² for 12x12 kernels on 20x20
    "valid" signals): a dt between 2 tau / L and the true limit 2 tau / ||Φ||² is
    refused, but the message said it "makes the Euler loop unstable"."""
    rng = np.random.default_rng(0)
    kernels = unit_kernels(rng, (2, 12, 12))
    phi = ConvolutionalDictionary(kernels, (20, 20), boundary="valid", dtype=np.float64)
    true = np.linalg.norm(phi.as_matrix(), 2) ** 2  # ||Φ||² by SVD
    L = phi.lipschitz()
    dt = 2 * 0.01 / np.sqrt(L * true)  # between the two limits
    assert 2 * 0.01 / L < dt < 2 * 0.01 / true
    with pytest.raises(ValueError, match=r"is not below 2 tau / max\(L, 1\) = .* with L = "
                                         rf"{L:.4g} the upper bound on \|\|Φ\|\|² .*: the "
                                         r"Euler loop may be unstable") as info:
        encode(rng.standard_normal((1, 20, 20)), phi, 0.1, dt=dt)
    assert "makes the Euler loop unstable" not in str(info.value)


@pytest.mark.parametrize("scale", [1e300, 1e-100])
def test_kernels_beyond_float32_range_named(scale):
    # astype(float32) made 1e300 kernels inf (every synthesis NaN) and 1e-100 kernels
    # zeros (every synthesis zero), with only numpy's overflow warning or nothing
    with pytest.raises(ValueError, match="kernels has values"):
        reconstruct(np.ones((1, 4, 20, 20), np.float32), KERNELS * scale, (16, 16))


def _one_tiny_kernel():
    kernels = KERNELS.copy()
    kernels[2] *= 1e-50  # below float32's range alone: the others keep the array non-zero
    return kernels


@pytest.mark.parametrize("call", [
    lambda k: ConvolutionalDictionary(k, (16, 16)),
    lambda k: encode(X, k, 0.1, method="fista"),
    lambda k: matching_pursuit(X, k, n_nonzero=3),
    # float32 codes: float64 codes and kernels are reconstructed in float64
    lambda k: reconstruct(np.ones((1, 4, 20, 20), np.float32), k, (16, 16)),
])
def test_one_kernel_below_float32_range_is_named(call):
    # it became zeros in float32: encode gave it zero codes with numpy's divide-by-zero
    # warnings only, matching pursuit called it "all zeros"
    with pytest.raises(ValueError, match=r"^kernels: kernel 2 has values of at most [\d.]+e-5\d, "
                       r"below the range of float32 .*use dtype=float64$"):
        call(_one_tiny_kernel())


def test_one_tiny_kernel_is_kept_in_float64():
    phi = ConvolutionalDictionary(_one_tiny_kernel(), (16, 16), dtype=np.float64)
    np.testing.assert_array_equal(phi.kernels, _one_tiny_kernel())


def test_tiny_float64_kernels_are_not_all_zeros():
    # the zero check squared the entries: 1e-170 underflowed to a norm of 0
    codes = np.random.default_rng(2).standard_normal((1, 4, 20, 20))
    tiny = reconstruct(codes, KERNELS * 1e-170, (16, 16), dtype=np.float64)
    unit = reconstruct(codes, KERNELS, (16, 16), dtype=np.float64)
    np.testing.assert_allclose(tiny * 1e170, unit, rtol=1e-10, atol=1e-12)


RAGGED = [np.zeros(30), np.zeros(40)]  # sounds of different lengths, not stacked


@pytest.mark.parametrize("call, name", [
    (lambda: encode(RAGGED, np.ones((1, 3)), 0.1), "X"),
    # 2-D kernels: the colour-picture check came first and named the list "images"
    (lambda: encode([[1.0, 2.0], [3.0]], np.ones((1, 3, 3)), 0.1), "X"),
    (lambda: matching_pursuit(RAGGED, np.ones((1, 3)), n_nonzero=2), "X"),
    (lambda: objective(RAGGED, np.zeros((2, 1, 32)), np.ones((1, 3)), 0.1), "X"),
    (lambda: _network().encode(RAGGED, method="fista"), "X"),
    (lambda: _network().learn(RAGGED, n_updates=1, progress=False), "images"),
    (lambda: ConvolutionalDictionary(KERNELS, (16, 16), stride=[[1], [1, 2]]), "stride"),
    (lambda: learn_kernels(X, 2, [[4], [4, 4]], n_updates=1, progress=False), "kernel_size"),
])
def test_ragged_signals_are_named(call, name):
    # numpy's "setting an array element with a sequence" named no argument
    with pytest.raises(TypeError, match=rf"^{name} must be a numeric array, got \["):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda: encode(RAGGED, np.ones((1, 3)), 0.1), "X"),
    (lambda: matching_pursuit(RAGGED, np.ones((1, 3)), n_nonzero=2), "X"),
    (lambda: learn_kernels(RAGGED, 2, 4, n_updates=1, progress=False), "images"),
])
def test_ragged_sounds_name_their_lengths(call, name):
    # recordings as load_wav_folder returns them: "not a numeric array" alone did not say
    # that a list of numeric arrays was refused for their different lengths
    with pytest.raises(TypeError, match=rf"^{name} must be a numeric array, got \[.*; its 2 "
                       r"items have different shapes \(\(30,\), \(40,\)\): give items of "
                       r"one shape \(cut or pad them to one length\)$"):
        call()


def learn_kernels(*args, **kwargs):
    from v1model.convolutional import learn_kernels

    return learn_kernels(*args, **kwargs)


def _network():
    from v1model.convolutional import ConvolutionalNetwork

    return ConvolutionalNetwork(np.ones((1, 3)) / np.sqrt(3))


def test_tiny_float64_kernels_are_not_all_zeros_for_the_network_and_init():
    # the network and learn_kernels' init squared the entries too: kernels of 1e-170
    # were refused as "all zeros"; init is normalised, so its scale cannot matter
    from v1model.convolutional import ConvolutionalNetwork, learn_kernels

    kernels = KERNELS[:2, 0]  # two 1-D kernels of 5 taps
    net = ConvolutionalNetwork(kernels * 1e-170)
    np.testing.assert_array_equal(net.kernels, kernels * 1e-170)
    sounds = np.random.default_rng(3).standard_normal((2, 60))
    tiny, unit = (learn_kernels(sounds, 2, 5, init=init, n_updates=2, seed=0,
                                progress=False)["kernels"].values
                  for init in (kernels * 1e-170, kernels))
    np.testing.assert_allclose(tiny, unit, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="init: kernel 1 is all zeros"):
        learn_kernels(sounds, 2, 5, init=np.stack([kernels[0], 0 * kernels[1]]), n_updates=1,
                      progress=False)
