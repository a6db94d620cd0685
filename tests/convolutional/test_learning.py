"""learn_kernels: recovery of planted kernels, the Dataset it returns, re-seeding,
shifted duplicates against SciPy's correlate, and bad input."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.signal import correlate

from v1model.convolutional import (ConvolutionalDictionary, encode, learn_kernels,
                                   matching_pursuit,
                                   objective)
from v1model.convolutional.learning import shifted_duplicates
from v1model.inference import ConvergenceWarning
from v1model.io import load_dataset, save_dataset
from v1model.validation import refuse_unused_settings



def unit_kernels(rng, shape):
    """Gaussian kernels of ``shape``, unit norm (as learn_kernels' own start)."""
    k = rng.standard_normal(shape)
    return k / np.linalg.norm(k.reshape(len(k), -1), axis=1).reshape((-1,) + (1,) * (k.ndim - 1))


def _planted_signals(seed, n_kernels=4, length=12, n_signals=40, n_times=512):
    """Sounds made of ``n_kernels`` planted kernels at 1% of the positions."""
    rng = np.random.default_rng(seed)
    true = unit_kernels(rng, (n_kernels, length))
    phi = ConvolutionalDictionary(true, (n_times,), dtype=np.float64)
    A = np.zeros((n_signals, n_kernels) + phi.code_shape)
    on = rng.random(A.shape) < 0.01
    A[on] = rng.standard_normal(on.sum()) + np.sign(rng.standard_normal(on.sum()))
    return true, phi.synthesize(A) + 0.01 * rng.standard_normal((n_signals, n_times))


def _best_match(true, learned):
    """Per planted kernel, the largest |normalised cross-correlation| over every
    shift with any learned kernel (learning may return a kernel shifted)."""
    return np.array([max(np.abs(correlate(t, k, mode="full")).max() for k in learned)
                     for t in true])


def test_planted_kernels_are_recovered():
    # the learner's seed is not the data's: its initial kernels, Gaussian and drawn first
    # from default_rng(seed) as the planted ones are, would be the planted kernels: with
    # seed=0 on both, learning started at the answer
    true, X = _planted_signals(seed=0)
    ds = learn_kernels(X, 4, 12, lam=0.1, n_updates=100, batch_size=8, crop_size=128,
                       seed=1, progress=False)
    match = _best_match(true, ds["kernels"].values)
    # measured: 0.93, 0.99, 0.92, 0.98 (learner seeds 1-4: mean 0.92-0.96, 2-3 of 4 above
    # 0.95; seed 1 after 200 updates the same; the others stuck as truncated shifts, a
    # known local optimum of convolutional learning)
    assert np.sum(match > 0.95) >= 2 and match.mean() > 0.9, match
    control = _best_match(true, unit_kernels(np.random.default_rng(100), (4, 12)))
    assert control.mean() < 0.8, control
    # the learning lowered the reconstruction error ||x - Phi a||^2 / ||x||^2 of its
    # crops to near that of the planted kernels' own LASSO codes of the whole signals
    # (0.0069; random unit kernels 0.040): measured 0.037 over the first 5 updates, 0.017
    # over the last 10. The kernel step divided by each kernel's usage and the
    # renormalisation hid a flipped residual from the match above (it passed), not here
    error = ds["reconstruction_error"].values
    codes = encode(X, true, 0.1, method="fista")
    planted = ConvolutionalDictionary(true, X.shape[1:], dtype=np.float64)
    floor = np.sum((X - planted.synthesize(codes)) ** 2) / np.sum(X ** 2)
    assert error[-10:].mean() < 0.6 * error[:5].mean(), error
    assert error[-10:].mean() < 4 * floor, (error[-10:], floor)


def test_planted_kernels_are_recovered_from_matching_pursuit_spikes():
    """Smith & Lewicki's learner: spikes by matching pursuit (1% of the positions
    are planted: about 5 spikes per crop of 128), the same kernel step.

    The learner's seed is not the data's (with seed=0 on both it started at the planted
    kernels, best matches 1.00 after one update). From an independent start, pursuits
    to 20 dB (1% of the energy left) learned little: best matches 0.62-0.75 on average
    over learner seeds 1-3 after 100 updates, 0.78-0.88 after 300 at learning_rate=1
    (the kernel gradient with these spikes matches finite differences to 1e-10): the
    pursuit spends extra spikes on the wrong kernels until the residual is the target's
    1%, and the residual the step follows carries little of the kernels' error. Coded
    to 10 dB the residual keeps it, and the kernels are found."""
    true, X = _planted_signals(seed=0)
    start = learn_kernels(X, 4, 12, method="mp", snr_db=10.0, n_updates=1, batch_size=8,
                          crop_size=128, seed=1, progress=False)
    # the guard of the seeds: one update from the learner's start matches poorly
    # (measured 0.44-0.60)
    assert _best_match(true, start["kernels"].values).max() < 0.8
    ds = learn_kernels(X, 4, 12, method="mp", snr_db=10.0, n_updates=100, batch_size=8,
                       crop_size=128, seed=1, progress=False)
    # measured: 0.97, 1.00, 0.84, 0.99 (learner seeds 1-3: mean 0.95-0.98, 3-4 of 4
    # above 0.95; with n_nonzero=5, the planted count, instead of snr_db the same)
    match = _best_match(true, ds["kernels"].values)
    assert np.sum(match > 0.95) >= 3 and match.mean() > 0.9, match
    assert ds.attrs["method"] == "mp" and ds.attrs["snr_db"] == 10.0
    # every crop was coded to 10 dB
    assert np.all(ds["reconstruction_error"].values <= 10**-1.0 * (1 + 1e-4))
    # the learned kernels code the signals to 20 dB with far fewer spikes than the
    # random start (measured 450 spikes for 8 signals; the planted kernels 137, random 1479)
    spikes = [np.count_nonzero(matching_pursuit(X[:8], k, snr_db=20.0, max_iter=2000))
              for k in (ds["kernels"].values, unit_kernels(np.random.default_rng(100), (4, 12)))]
    assert spikes[0] < 0.5 * spikes[1], spikes


def test_learning_lowers_the_held_out_objective_of_natural_images():
    stimuli = pytest.importorskip("stimuli.images")
    images, _ = stimuli.load_whitened("skimage")
    images = images / images.std()
    train, held = images[:-2], images[-2:, 64:128, 64:128]
    ds = learn_kernels(train, 8, 8, stride=2, lam=0.5, n_updates=40, batch_size=4,
                       crop_size=24, seed=0, progress=False)
    start = unit_kernels(np.random.default_rng(0), (8, 8, 8))  # learn_kernels' own init
    energy = []
    for kernels in (start, ds["kernels"].values):
        codes = encode(held, kernels, 0.5, method="fista", stride=2)
        energy.append(objective(held, codes, kernels, 0.5, stride=2).sum())
    # measured 0.56 (40 updates on 24x24 crops)
    assert energy[1] < 0.75 * energy[0], energy
    assert ds["reconstruction_error"][-10:].mean() < ds["reconstruction_error"][:5].mean()


def test_matching_pursuit_learning_on_natural_images_needs_fewer_spikes():
    """method="mp" on images: held-out crops reach 6 dB with far fewer spikes of the
    learned kernels than of their random start."""
    stimuli = pytest.importorskip("stimuli.images")
    images, _ = stimuli.load_whitened("skimage")
    images = images / images.std()
    train, held = images[:-2], images[-2:, 64:128, 64:128]
    ds = learn_kernels(train, 8, 8, method="mp", snr_db=6.0, n_updates=60, batch_size=4,
                       crop_size=32, seed=0, progress=False)
    start = unit_kernels(np.random.default_rng(0), (8, 8, 8))  # learn_kernels' own init
    spikes = [np.count_nonzero(matching_pursuit(held, k, snr_db=6.0, max_iter=100000))
              for k in (start, ds["kernels"].values)]
    assert spikes[1] < 0.5 * spikes[0], spikes  # measured 187 against 581
    assert np.all(ds["reconstruction_error"].values <= 10**-0.6 * (1 + 1e-4))


def test_dataset_holds_kernels_history_and_parameters(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 40))
    ds = learn_kernels(X, 3, 5, stride=2, lam=0.2, n_updates=4, crop_size=20, seed=3,
                       progress=False)
    assert ds["kernels"].dims == ("kernel", "lag")
    norms = np.linalg.norm(ds["kernels"].values, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
    for name in ("objective", "reconstruction_error", "fraction_active", "kernel_change",
                 "n_reseeded", "n_unconverged", "elapsed"):
        assert ds[name].dims == ("update",) and ds[name].size == 4
    assert ds["objective"].attrs["units"] == "(units of X)^2"
    assert ds["reconstruction_error"].attrs["units"] == "1"
    assert ds.attrs["stride"] == [2] and ds.attrs["lam"] == 0.2 and ds.attrs["seed"] == 3
    again = learn_kernels(X, 3, 5, stride=2, lam=0.2, n_updates=4, crop_size=20, seed=3,
                          progress=False)
    np.testing.assert_array_equal(again["kernels"].values, ds["kernels"].values)
    path = save_dataset(ds, tmp_path / "kernels.nc")
    back = load_dataset(path)
    np.testing.assert_array_equal(back["kernels"].values, ds["kernels"].values)
    assert np.atleast_1d(back.attrs["kernel_size"]).tolist() == [5]


def test_unused_kernels_are_reseeded():
    X = np.random.default_rng(2).standard_normal((2, 32, 32))
    # lam above every drive (a 4x4 window's norm, at most ~7 here) but below a crop's
    # norm (~16, which learn_kernels refuses): no kernel is ever used
    with pytest.warns(UserWarning, match="every code of the last"):
        ds = learn_kernels(X, 3, 4, lam=12.0, n_updates=4, reseed_patience=2,
                           duplicate_tol=None, crop_size=16, seed=0, progress=False)
    assert ds["fraction_active"].max() == 0
    assert ds["n_reseeded"].values.tolist() == [0, 3, 0, 3]


def test_more_kernels_reseeded_than_the_batch_has_windows():
    # patch-based learning (stride = kernel = crop: one window per crop), one crop per
    # update: three unused kernels, one window to reseed them from (was a reshape error)
    X = np.random.default_rng(0).standard_normal((4, 16, 16))
    # lam just below the largest crop norm (above it is refused): random kernels code
    # nothing
    lam = 0.99 * np.sqrt((X ** 2).reshape(4, 4, 4, 4, 4).sum(axis=(2, 4)).max())
    with pytest.warns(UserWarning, match="every code of the last"):
        ds = learn_kernels(X, 3, 4, stride=4, crop_size=4, boundary="valid", batch_size=1,
                           lam=lam, n_updates=2, reseed_patience=1, duplicate_tol=None,
                           seed=0, progress=False)
    assert ds["n_reseeded"].values.tolist() == [3, 3]
    norms = np.sqrt((ds["kernels"].values ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 1)])
def test_shifted_duplicates_against_scipy_correlate(stride):
    rng = np.random.default_rng(4)
    kernels = unit_kernels(rng, (5, 6, 5))
    kernels[3] = np.roll(kernels[0], 2, axis=0)
    kernels[3][:2] = 0  # shifted by two rows: a duplicate unless the stride skips 2
    kernels[3] /= np.linalg.norm(kernels[3])
    expected = []
    for j in range(1, 5):
        for i in range(j):
            c = correlate(kernels[i], kernels[j], mode="full")
            k = np.array(kernels.shape[1:])
            shifts = np.indices(c.shape).reshape(2, -1).T - (k - 1)
            on_grid = np.all(shifts % np.array(stride) == 0, axis=1)
            if np.abs(c.reshape(-1)[on_grid]).max() > 0.8:
                expected.append(j)
                break
    assert shifted_duplicates(kernels, stride, 0.8).tolist() == expected
    assert (3 in expected) == (2 % stride[0] == 0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(learning_rate=2.0), ValueError, r"learning_rate=2\.0 overshoots"),
    (dict(crop_size=64), ValueError, r"crop_size=\(64, 64\) is larger than the signals"),
    (dict(kernel_size=(4,)), ValueError, r"1 signal axes for kernel_size=\(4,\), got"),
    (dict(init=np.ones((2, 4, 4))), ValueError,
     r"init must have shape \(3, 4, 4\), got \(2, 4, 4\)"),
    (dict(duplicate_tol=1.0), ValueError, r"duplicate_tol=1\.0 is a correlation"),
    (dict(stride=5), ValueError, r"stride=\(5, 5\) exceeds the kernel size"),
    (dict(method="omp"), ValueError, r"method must be one of .*, got 'omp'"),
    (dict(method="mp"), ValueError, r"method='mp' stops each crop's pursuit at n_nonzero"),
    (dict(method="fista", snr_db=10.0), ValueError,
     r"snr_db=10\.0 stop matching pursuit; method='fista'"),
    (dict(method="mp", n_nonzero=0), ValueError, r"n_nonzero must be >= 1, got 0"),
    # it was ignored, and recorded in attrs as the spikes' lam
    (dict(method="mp", snr_db=10.0, lam=5.0), ValueError,
     r"^lam=5\.0 does not apply to method='mp': matching pursuit has no L1 penalty"),
    (dict(lam=-1.0), ValueError, r"^lam must be a non-negative finite number, got -1\.0"),
    # ignored too (the pursuit stops at its own count or SNR), and recorded as 0.001
    (dict(method="mp", n_nonzero=4, tol=1e-3), ValueError,
     r"^tol=0\.001 does not apply to method='mp': it is the L1 solvers' tolerance"),
    (dict(tol=0.0), ValueError, r"^tol must be a positive finite number, got 0\.0"),
    # every crop ran to max_iter, silently: float32 residuals resolve 138.5 dB at most
    (dict(method="mp", snr_db=200.0), ValueError,
     r"^snr_db=200\.0 dB is at or beyond the 138\.47 dB that a residual in float32 "
     r"resolves"),
    # the crops, not the 32x32 signals, must fit the geometry: the error names crop_size
    (dict(stride=3, boundary="circular"), ValueError,
     r"needs crop_size=\(16, 16\) divisible by stride=\(3, 3\).*crop_size is the default"),
    (dict(kernel_size=8, crop_size=5, boundary="valid"), ValueError,
     r"do not fit in crop_size=\(5, 5\) with boundary='valid'.*crop_size is the one given"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    X = np.random.default_rng(0).standard_normal((2, 32, 32))
    args = dict(n_kernels=3, kernel_size=4, n_updates=1, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        learn_kernels(X, **args)


@pytest.mark.parametrize("scale, match", [
    (1e30, r"^images and kernels: values up to \|images\| = .* beyond what float32 holds"),
    (1e-30, r"^images and kernels: values of at most \|images\| = .* too small for float32"),
])
def test_images_beyond_float32_are_refused_before_learning(scale, match):
    """Images of 1e300 gave NaN kernels, 1e30 an error about "kernels" from deep in the
    loop, 1e-30 learned from crops whose codes underflowed; as encode refuses such
    signals."""
    X = np.random.default_rng(0).standard_normal((2, 32, 32)) * scale
    with pytest.raises(ValueError, match=match):
        learn_kernels(X, 3, 4, n_updates=1, progress=False)
    # lam scaled with the images (the default 0.1 would zero every code of 1e-30 images)
    learn_kernels(X, 3, 4, lam=0.1 * scale, n_updates=1, progress=False, dtype=np.float64)


def test_all_zero_images_are_refused():
    with pytest.raises(ValueError, match="images"):
        learn_kernels(np.zeros((2, 16, 16)), 2, 4, n_updates=1, progress=False)


@pytest.mark.parametrize("shape, kernel_size, crop_size, match", [
    ((32, 32), 8, 6, r"kernel_size=\(8, 8\) is larger than crop_size=\(6, 6\) \(the "
                     r"crop_size given\)"),
    ((10, 40), (12, 8), None, r"kernel_size=\(12, 8\) is larger than crop_size=\(10, 32\) "
                              r"\(the default, capped by the signals' shape \(10, 40\)\)"),
])
def test_kernels_larger_than_the_crops_are_warned_of(shape, kernel_size, crop_size, match):
    """No crop then holds a whole kernel: taps farther apart than the crop are never
    fitted to the same stretch of signal (learning went on without a word)."""
    X = np.random.default_rng(0).standard_normal((2,) + shape)
    with pytest.warns(UserWarning, match=match):
        learn_kernels(X, 2, kernel_size, crop_size=crop_size, n_updates=1, progress=False,
                      seed=0)


def test_kernels_that_fit_the_crops_are_not_warned_of():
    X = np.random.default_rng(0).standard_normal((2, 32, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # the crops its solver leaves short are warned of too (a ConvergenceWarning), not
        # what this is about
        warnings.simplefilter("ignore", ConvergenceWarning)
        learn_kernels(X, 2, 8, crop_size=8, n_updates=1, progress=False, seed=0)


@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
def test_lam_that_zeroes_every_code_is_refused(boundary):
    # lam=1e6 on unit-variance sounds: every code is zero whatever the kernels; the run
    # returned its random initial kernels with no error or warning
    X = np.random.default_rng(0).standard_normal((4, 2000))
    with pytest.raises(ValueError, match="lam=1000000.0 is at least the largest norm"):
        learn_kernels(X, 4, 32, stride=4, lam=1e6, n_updates=2, boundary=boundary, seed=0,
                      progress=False)


@pytest.mark.parametrize("shape, kernel_size, words", [
    ((4, 64), 8, "crop_size=(32,) samples of the signals"),
    ((2, 16, 16), 3, "crop_size=(12, 12) pixels of images"),
    ((2, 8, 8, 8), 2, "crop_size=(8, 8, 8) of the signals"),
])
def test_lam_refusal_is_worded_for_the_signals_dimensionality(shape, kernel_size, words):
    """1-D signals were told of "crop_size=(32,) in images ... or rescale images"."""
    X = np.ones(shape)
    # every crop of ones has the norm sqrt(its number of values): 8 * 8 * 8 = 512 at most
    top = np.sqrt(np.prod([min(4 * kernel_size, n) for n in shape[1:]]))
    with pytest.raises(ValueError) as info:
        learn_kernels(X, 3, kernel_size, lam=1e6, n_updates=1, progress=False, seed=0)
    assert str(info.value) == (
        f"lam=1000000.0 is at least the largest norm {top:.3g} of a crop of {words}: every "
        f"code is zero whatever the unit-norm kernels, so nothing can be learned; lower lam "
        f"well below {top:.3g} or rescale {words.split(' of ')[-1]}")


def test_run_that_coded_nothing_warns():
    # below the up-front bound but above every drive: warned at the end
    X = np.random.default_rng(0).standard_normal((4, 2000))
    with pytest.warns(UserWarning, match="every code of the last 5 of 20 updates was zero"):
        ds = learn_kernels(X, 4, 32, stride=4, lam=12.0, n_updates=20, seed=0,
                           progress=False)
    assert ds["fraction_active"].max() == 0


def _one_crop_update(threshold, method="fista", **kwargs):
    """One update of learn_kernels on a single sound that is its own crop (so the crop
    is known), from known kernels: the kernels, Dataset, sound and start."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 48))
    start = unit_kernels(rng, (3, 6))
    args = dict(boundary="valid", crop_size=48, batch_size=1, n_updates=1,
                learning_rate=0.5, reseed_patience=None, duplicate_tol=None,
                dtype=np.float64, init=start, seed=0, progress=False)
    if method != "mp":
        args.update(lam=0.3, tol=1e-9, max_iter=20000)
    args.update(kwargs)
    ds = learn_kernels(x, 3, 6, method=method, threshold=threshold, **args)
    return ds, x[0], start


def _lasso(x, start, lam, positive):
    """Codes (kernel, position) of the "valid" convolutional LASSO by scikit-learn."""
    from sklearn.linear_model import Lasso

    phi = ConvolutionalDictionary(start, x.shape, boundary="valid", dtype=np.float64)
    M = phi.as_matrix()  # one copy per row, kernel-major
    fit = Lasso(alpha=lam / x.size, fit_intercept=False, positive=positive, tol=1e-12,
                max_iter=100000).fit(M.T, x)
    return fit.coef_.reshape((len(start),) + phi.code_shape), M


@pytest.mark.parametrize("positive", [False, True])
def test_threshold_nonneg_learns_from_nonnegative_lasso_codes(positive):
    """threshold='nonneg' (a non-negative network's) learned from signed codes all the
    same: the update against scikit-learn's (non-negative) Lasso codes, by hand."""
    threshold = "nonneg" if positive else "soft"
    ds, x, start = _one_crop_update(threshold)
    A, M = _lasso(x, start, 0.3, positive)
    r = x - A.reshape(-1) @ M
    expected_objective = 0.5 * r @ r + 0.3 * np.abs(A).sum()
    np.testing.assert_allclose(ds["objective"].values[0], expected_objective, rtol=1e-6)
    # the preconditioned step of the module docstring: d_k + eta sum_p a_k[p] r[p:p+6] /
    # sum_p a_k[p]^2, then unit norm ("valid" copies at every position)
    expected = start.copy()
    for k in range(3):
        if np.any(A[k]):
            expected[k] += 0.5 * np.correlate(r, A[k], mode="valid") / (A[k] ** 2).sum()
    expected /= np.linalg.norm(expected, axis=1)[:, None]
    np.testing.assert_allclose(ds["kernels"].values, expected, atol=1e-6)
    assert ds.attrs["threshold"] == threshold
    if positive:  # the signed codes score lower: the two runs are told apart
        signed, _ = _lasso(x, start, 0.3, False)
        rs = x - signed.reshape(-1) @ M
        assert 0.5 * rs @ rs + 0.3 * np.abs(signed).sum() < 0.95 * expected_objective


def test_threshold_hard_learns_with_the_lca_l0_energy():
    """threshold='hard' learns with the hard-threshold LCA (method defaults to 'lca');
    the history's objective is the L0 energy 0.5 ||x - Φa||² + lam²/2 ||a||_0."""
    ds, x, _ = _one_crop_update("hard", method=None, tol=1e-6, max_iter=5000)
    assert ds.attrs["method"] == "lca" and ds.attrs["threshold"] == "hard"
    err = ds["reconstruction_error"].values[0] * float(x @ x)
    n_active = round(ds["fraction_active"].values[0] * 3 * 43)  # 43 "valid" positions
    assert n_active > 0
    np.testing.assert_allclose(ds["objective"].values[0],
                               0.5 * err + 0.5 * 0.3**2 * n_active, rtol=1e-9)


@pytest.mark.parametrize("positive", [False, True])
def test_matching_pursuit_learning_keeps_the_sign_constraint(positive):
    """method='mp' with threshold='nonneg' learns from non-negative spikes (the
    network's encode(method='mp') is non-negative for such a network)."""
    ds, x, start = _one_crop_update("nonneg" if positive else "soft", method="mp",
                                    n_nonzero=4)
    codes = matching_pursuit(x[None], start, n_nonzero=4, boundary="valid",
                             positive=positive, dtype=np.float64, progress=False)
    phi = ConvolutionalDictionary(start, x.shape, boundary="valid", dtype=np.float64)
    r = x - phi.synthesize(codes)[0]
    np.testing.assert_allclose(ds["objective"].values[0], 0.5 * r @ r, rtol=1e-9)
    if positive:
        signed = matching_pursuit(x[None], start, n_nonzero=4, boundary="valid",
                                  dtype=np.float64, progress=False)
        assert np.any(signed < 0)  # so that the sign constraint shows


@pytest.mark.parametrize("shape, kwargs, match", [
    ((32, 32), dict(threshold="relu"), r"threshold must be one of"),
    ((32, 32), dict(threshold="hard", method="fista"),
     r"threshold='hard' is the LCA's hard threshold and needs method='lca'; "
     r"method='fista' solves the L1 problem"),
    ((32, 32), dict(threshold="hard", method="ista"),
     r"threshold='hard' .* needs method='lca'; method='ista'"),
    # every copy sticks out of the crop: matching pursuit's min_coverage (an argument
    # learn_kernels does not take) could leave no copy to pick midway through the run
    ((32, 32), dict(method="mp", n_nonzero=2, kernel_size=8, crop_size=6),
     r"kernel_size=\(8, 8\) is larger than crop_size=\(6, 6\) along some axis: "
     r"method='mp' needs each crop to hold a whole kernel.*crop_size is the one given"),
    ((10, 40), dict(method="mp", n_nonzero=2, kernel_size=(12, 8)),
     r"kernel_size=\(12, 8\) is larger than crop_size=\(10, 32\).*crop_size is the "
     r"default"),
])
def test_threshold_and_mp_geometry_are_checked_up_front(shape, kwargs, match):
    X = np.random.default_rng(0).standard_normal((2,) + shape)
    args = dict(n_kernels=3, kernel_size=4, n_updates=1, progress=False, seed=0)
    args.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kernels larger than the crops
        with pytest.raises(ValueError, match=match):
            learn_kernels(X, **args)


def test_matching_pursuit_learning_draws_no_bar_of_the_pursuit(monkeypatch, capsys):
    """The inner matching_pursuit calls kept progress=None: an update past
    PROGRESS_DELAY (0 here) drew its own bar inside the learning's (the L1 methods
    pass False)."""
    import v1model.progress

    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    X = np.random.default_rng(0).standard_normal((2, 32, 32))
    learn_kernels(X, 3, 4, method="mp", n_nonzero=5, n_updates=2, seed=0, progress=False)
    err = capsys.readouterr().err
    assert "%|" not in err and "it/s" not in err, err[-500:]


def test_given_starting_kernels_are_recorded_as_an_array_like_the_learners_do():
    """attrs["init"] said "init" (the argument's name) for given starting kernels; the
    dictionary learners record an init array as "array", and so does learn_kernels."""
    from v1model.learning import learn_online

    rng = np.random.default_rng(0)
    imgs = rng.standard_normal((4, 12, 12))
    K = rng.standard_normal((3, 4, 4))
    given = learn_kernels(imgs, 3, 4, lam=0.5, init=K, n_updates=1, seed=0, progress=False)
    drawn = learn_kernels(imgs, 3, 4, lam=0.5, n_updates=1, seed=0, progress=False)
    X = rng.standard_normal((20, 16))
    _, history = learn_online(X, 3, lam=0.5, init=K.reshape(3, 16), n_updates=1,
                              batch_size=4, seed=0, progress=False)
    assert given.attrs["init"] == history.attrs["init"] == "array"
    assert drawn.attrs["init"] == "gaussian"


def test_huge_n_updates_is_refused_by_name():
    """NumPy's "Unable to allocate 7.28 TiB" named no argument: the history holds the
    statistics and the wall time of every update (7 float64 values, 5.6e13 bytes)."""
    images = np.random.default_rng(0).standard_normal((2, 32, 32))
    with pytest.raises(ValueError, match=r"^n_updates=1000000000000 history rows \(float64\) "
                                         r"would take 5\.6e\+13 bytes .* more than the"):
        learn_kernels(images, 4, 5, n_updates=10**12, progress=False)


@pytest.mark.parametrize("shape, window", [((3, 50), (7,)), ((2, 20, 30), (5, 6)),
                                           ((1, 9, 9), (9, 9)), ((2, 6, 5, 4), (2, 3, 4))])
def test_max_window_norm_is_the_brute_force_largest_window_norm(shape, window):
    """The lam check's largest crop norm: every window's norm computed directly, for
    blocks of one value (one row at a time) up to all the signal at once."""
    import itertools

    from v1model.convolutional.learning import _max_window_norm

    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape) * rng.uniform(0.1, 10, size=shape)
    starts = itertools.product(*(range(n - w + 1) for n, w in zip(shape[1:], window)))
    want = max(np.linalg.norm(x[tuple(slice(s, s + w) for s, w in zip(at, window))])
               for at in starts for x in X)
    values = [_max_window_norm(X, window, block=b) for b in (1, 7, 64, 2**16)]
    np.testing.assert_allclose(values, want, rtol=1e-12)
    assert len(set(values)) == 1  # the same additions in the same order, whatever block


def test_max_window_norm_holds_no_copy_of_the_signals(peak_memory):
    """The scaled copy, the squares and the running sums held 3-4 times the signals'
    memory (5 times for one long signal) before learning started."""
    from v1model.convolutional.learning import _max_window_norm

    X = np.ones((1, 10**6))
    X[0, 500_000:500_008] = 3.0
    # a few arrays of 2**12 values
    top, peak = peak_memory(lambda: _max_window_norm(X, (8,), block=2**12))
    assert top == pytest.approx(np.sqrt(8 * 9.0), rel=1e-12)
    assert peak < 0.05 * X.nbytes


def test_kernels_of_sounds_have_their_lag_in_seconds_given_the_sample_rate(tmp_path):
    """learn_kernels on sounds gave the kernels' lag in samples with no sample rate:
    with sample_rate it is in seconds, the rate in attrs (kept by a saved file and by
    ConvolutionalNetwork.learn's result); bad rates and rates for images are refused."""
    from v1model.convolutional import ConvolutionalNetwork

    X = np.random.default_rng(1).standard_normal((3, 40))
    ds = learn_kernels(X, 3, 5, lam=0.2, n_updates=2, crop_size=20, seed=3, progress=False,
                       sample_rate=16000)
    back = load_dataset(save_dataset(ds, tmp_path / "kernels.nc"))
    for result in (ds, back):
        np.testing.assert_array_equal(result["lag"].values, np.arange(5) / 16000)
        assert result["lag"].attrs["units"] == "s"
        assert result.attrs["sample_rate_hz"] == 16000.0 and result.attrs["time_units"] == "s"
    plain = learn_kernels(X, 3, 5, lam=0.2, n_updates=2, crop_size=20, seed=3,
                          progress=False)
    np.testing.assert_array_equal(plain["kernels"].values, ds["kernels"].values)
    assert "lag" not in plain.coords and "sample_rate_hz" not in plain.attrs
    assert plain.attrs["time_units"] == "samples (no sample_rate given)"
    net = ConvolutionalNetwork(n_kernels=3, kernel_shape=5, lam=0.2)
    learned = net.learn(X, n_updates=2, crop_size=20, seed=3, progress=False,
                        sample_rate=16000)
    np.testing.assert_array_equal(learned["lag"].values, np.arange(5) / 16000)
    assert "lag" not in net.history_.coords  # the history is over update only
    with pytest.raises(ValueError, match=r"^sample_rate must be a positive finite number, "
                                         r"got nan$"):
        learn_kernels(X, 3, 5, n_updates=1, progress=False, sample_rate=np.nan)
    with pytest.raises(ValueError, match=r"^sample_rate=8000 applies to sounds \(1-D "
                                         r"signals\); these signals have 2 spatial axes"):
        learn_kernels(np.ones((2, 12, 12)), 2, 3, n_updates=1, progress=False,
                      sample_rate=8000)


def test_matching_pursuit_learning_records_no_lam_and_l1_its_default():
    """lam given with method='mp' was ignored (the same kernels as without it) and recorded
    in attrs as if the spikes had been coded at it: it is refused, and attrs say "None";
    the L1 methods keep their default lam of 0.1."""
    X = np.random.default_rng(0).standard_normal((2, 128))
    mp = learn_kernels(X, 3, 8, method="mp", n_nonzero=4, n_updates=2, seed=0,
                       progress=False)
    assert mp.attrs["lam"] == "None"
    l1 = learn_kernels(X, 3, 8, n_updates=2, seed=0, progress=False)
    same = learn_kernels(X, 3, 8, lam=0.1, n_updates=2, seed=0, progress=False)
    assert l1.attrs["lam"] == 0.1
    np.testing.assert_array_equal(l1["kernels"], same["kernels"])
    assert not np.array_equal(l1["kernels"], mp["kernels"])


def test_one_helper_refuses_the_settings_a_method_does_not_use(monkeypatch, tmp_path):
    """learn_kernels and the smith-lewicki study refused lam / tol (learning_tol) with
    method='mp' (the study snr_db with 'fista') in two near-copies: one helper names the
    first setting given, in the caller's own words, and lets those not given (None) pass."""
    refuse_unused_settings("mp", [("lam", None, "unused"), ("tol", None, "unused")])
    with pytest.raises(ValueError, match=r"^tol=0\.5 does not apply to method='mp': its "
                                         r"reason\.$"):
        refuse_unused_settings("mp", [("lam", None, "no"), ("tol", 0.5, "its reason."),
                                      ("max_iter", 3, "not reached")])
    from studies import get_study
    from v1model import validation
    from v1model.convolutional import learning

    asked = []

    def spy(method, settings):
        settings = list(settings)
        asked.append((method, [name for name, _, _ in settings]))
        refuse_unused_settings(method, settings)

    # learn_kernels holds validation's helper by name; the study imports it when it runs
    monkeypatch.setattr(learning, "refuse_unused_settings", spy)
    monkeypatch.setattr(validation, "refuse_unused_settings", spy)
    X = np.random.default_rng(0).standard_normal((2, 128))
    with pytest.raises(ValueError, match=r"^lam=5\.0 does not apply to method='mp'"):
        learn_kernels(X, 3, 8, method="mp", n_nonzero=4, lam=5.0, progress=False)
    (tmp_path / "noise.wav").write_bytes(b"not a wav")  # refused before it is read
    study = get_study("smith-lewicki-2006-convolutional")
    for method, given in (("mp", {"learning_tol": 0.01}), ("fista", {"snr_db": 20.0})):
        with pytest.raises(ValueError, match=rf"^{next(iter(given))}=.* does not apply to "
                                             rf"method='{method}'"):
            study.run(quick=True, audio_dir=str(tmp_path), method=method, **given)
    assert asked == [("mp", ["lam", "tol"]), ("mp", ["lam", "learning_tol"]),
                     ("fista", ["snr_db"])]


@pytest.mark.filterwarnings("ignore:convolutional fista stopped:UserWarning")  # max_iter=30
def test_matching_pursuit_learning_records_no_tol_and_l1_its_default():
    """tol given with method='mp' ran the same kernels as without it (the pursuit stops at
    n_nonzero or snr_db) and attrs said tol=0.001 whatever ran: it is refused, attrs say
    "None"; the L1 methods keep their default tol of 1e-3 and record the one given."""
    X = np.random.default_rng(0).standard_normal((2, 128))
    mp = learn_kernels(X, 3, 8, method="mp", n_nonzero=4, n_updates=2, seed=0,
                       progress=False)
    assert mp.attrs["tol"] == "None" and mp.attrs["lam"] == "None"
    with pytest.raises(ValueError, match=r"^tol=0\.5 does not apply to method='mp'"):
        learn_kernels(X, 3, 8, method="mp", n_nonzero=4, tol=0.5, n_updates=2, seed=0,
                      progress=False)
    l1 = learn_kernels(X, 3, 8, max_iter=30, n_updates=2, seed=0, progress=False)
    same = learn_kernels(X, 3, 8, max_iter=30, tol=1e-3, n_updates=2, seed=0, progress=False)
    loose = learn_kernels(X, 3, 8, max_iter=30, tol=0.5, n_updates=2, seed=0, progress=False)
    assert l1.attrs["tol"] == 1e-3 and loose.attrs["tol"] == 0.5
    np.testing.assert_array_equal(l1["kernels"], same["kernels"])
    assert not np.array_equal(l1["kernels"], loose["kernels"])  # the L1 solvers use it


def test_snr_db_limit_is_the_resolution_of_the_working_precision():
    """A residual rounded to a relative eps per sample resolves -20 log10(eps) dB: 138.5
    in float32 (2**-23), 313.1 in float64 (2**-52); the learner refuses a target at or
    beyond its dtype's, and takes it in float64."""
    from v1model.convolutional.learning import max_snr_db

    assert max_snr_db(np.float32) == pytest.approx(-20 * np.log10(2.0**-23), rel=1e-12)
    assert max_snr_db(np.float64) == pytest.approx(-20 * np.log10(2.0**-52), rel=1e-12)
    assert max_snr_db(np.float32) == pytest.approx(138.47, abs=0.01)
    X = np.random.default_rng(0).standard_normal((2, 64))
    args = dict(method="mp", max_iter=4, n_updates=1, seed=0, progress=False)
    with pytest.raises(ValueError, match=r"^snr_db=138\.5 dB is at or beyond the 138\.47 dB"):
        learn_kernels(X, 2, 8, snr_db=138.5, **args)
    with pytest.warns(UserWarning, match=r"short of snr_db=200\.0 .* \(8 of the 8 samples"):
        ds = learn_kernels(X, 2, 8, snr_db=200.0, dtype=np.float64, **args)
    assert ds.attrs["snr_db"] == 200.0
    assert ds["n_unconverged"].values.tolist() == [8]  # every crop ran to max_iter
    with pytest.raises(ValueError, match=r"^snr_db=320\.0 dB is at or beyond the 313\.07 dB "
                                         r"that a residual in float64 resolves"):
        learn_kernels(X, 2, 8, snr_db=320.0, dtype=np.float64, **args)


@pytest.mark.filterwarnings("ignore:convolutional fista stopped:UserWarning")  # max_iter=30
def test_matching_pursuit_learning_records_the_sign_of_its_spikes_not_a_threshold():
    """threshold="soft" and "hard" ran the same signed spikes with method='mp' (the network
    passes its own threshold) while attrs said whichever was passed: they say "None" and
    positive=0 for both, "nonneg" runs non-negative spikes (positive=1); the L1 methods
    record the threshold they ran."""
    X = np.random.default_rng(0).standard_normal((2, 128))
    args = dict(method="mp", n_nonzero=4, n_updates=2, seed=0, progress=False)
    soft = learn_kernels(X, 3, 8, threshold="soft", **args)
    hard = learn_kernels(X, 3, 8, threshold="hard", **args)
    nonneg = learn_kernels(X, 3, 8, threshold="nonneg", **args)
    np.testing.assert_array_equal(soft["kernels"], hard["kernels"])
    assert not np.allclose(soft["kernels"], nonneg["kernels"])
    assert soft.attrs == hard.attrs
    assert (soft.attrs["threshold"], soft.attrs["positive"]) == ("None", 0)
    assert (nonneg.attrs["threshold"], nonneg.attrs["positive"]) == ("None", 1)
    l1 = learn_kernels(X, 3, 8, threshold="nonneg", max_iter=30, n_updates=1, seed=0,
                       progress=False)
    assert (l1.attrs["threshold"], l1.attrs["positive"]) == ("nonneg", 1)


@pytest.mark.parametrize("reseed_patience, expected_every", [(None, 20), (7, 7)])
def test_the_duplicate_check_interval_is_recorded(reseed_patience, expected_every):
    """reseed_patience=None still looked for duplicates, every 20 updates, while attrs said
    reseed_patience=-1 and recorded the 20 nowhere: a planted pair of equal kernels is
    re-seeded at the interval attrs["duplicate_check_every"] says (and only then: no kernel
    goes unused here); duplicate_tol=None records no interval and re-seeds nothing."""
    X = np.random.default_rng(0).standard_normal((2, 128))
    rng = np.random.default_rng(1)
    init = unit_kernels(rng, (3, 8))
    init[1] = init[0]  # a duplicate from the start
    args = dict(lam=0.05, init=init, n_updates=21, max_iter=30, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=30
        ds = learn_kernels(X, 3, 8, reseed_patience=reseed_patience, **args)
        kept = learn_kernels(X, 3, 8, reseed_patience=reseed_patience, duplicate_tol=None,
                             **args)
    every = ds.attrs["duplicate_check_every"]
    assert every == expected_every
    assert ds.attrs["reseed_patience"] == ("None" if reseed_patience is None
                                           else reseed_patience)
    # the first check (after `every` updates) finds the pair and re-seeds one of it
    assert int(ds["n_reseeded"][every - 1]) >= 1
    assert int(ds["n_reseeded"][:every - 1].sum()) == 0
    assert (kept.attrs["duplicate_check_every"], kept.attrs["duplicate_tol"]) == ("None",
                                                                                  "None")
    assert int(kept["n_reseeded"].sum()) == 0


@pytest.mark.parametrize("channels", [3, 4])
def test_one_colour_picture_is_refused_as_encode_refuses_it(channels):
    # one RGB picture (32, 32, 3) was learned from as 32 images of 32 x 3 pixels, with at
    # most a warning that the kernels were larger than the crops
    rng = np.random.default_rng(0)
    picture = rng.random((32, 32, channels))
    match = rf"^images has shape \(32, 32, {channels}\), one colour picture .*rgb2gray"
    for kernel_size in (5, (5, 5)):
        with pytest.raises(ValueError, match=match):
            learn_kernels(picture, 4, kernel_size, n_updates=1, seed=0, progress=False)
    # 32 sounds of 3 samples (1-D kernels) and a DataArray naming its pictures still run
    kw = dict(lam=0.05, n_updates=1, max_iter=20, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sounds = learn_kernels(picture[0], 2, 2, **kw)
        stack = learn_kernels(xr.DataArray(picture, dims=("image", "y", "x")), 2, 2, **kw)
    assert sounds["kernels"].shape == (2, 2) and stack["kernels"].shape == (2, 2, 2)


@pytest.mark.parametrize("method, settings, inner", [
    ("mp", dict(snr_db=30.0, max_iter=3), "matching_pursuit"),
    ("ista", dict(lam=0.1, tol=1e-8, max_iter=3), "_solve_blocks")])
def test_learning_leaves_the_process_warning_filters_alone(
        method, settings, inner, monkeypatch, forbid_catch_warnings, with_a_neighbour):
    """Each update's solver call ran in a warnings.catch_warnings block, one per process
    (ignoring every UserWarning of the pursuit, or the ConvergenceWarning the ISTA blocks
    never give): a warning another thread gave meanwhile (another point of a sweep in
    threads) was hidden too. The pursuit's shortfall goes to a tally of this thread's
    now: the learner enters no catch_warnings, each update's neighbour warning reaches
    the caller, and the caller sees what it saw before: the learner's one warning of
    the crops left short, at the end of the run."""
    import v1model.convolutional.learning as learning

    _, X = _planted_signals(seed=0)
    kwargs = dict(method=method, n_updates=2, batch_size=4, crop_size=64, seed=1,
                  progress=False, **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        alone = learn_kernels(X, 4, 12, **kwargs)
    seen = [str(w.message) for w in caught]
    assert len(seen) == 1 and "not converged in 2 of 2 updates" in seen[0], seen
    forbid_catch_warnings(learning)
    text = "another point's pursuit ended short"
    monkeypatch.setattr(learning, inner, with_a_neighbour(getattr(learning, inner), text))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = learn_kernels(X, 4, 12, **kwargs)
    assert [str(w.message) for w in caught] == [text, text] + seen
    np.testing.assert_array_equal(ds["kernels"].values, alone["kernels"].values)


def test_integer_sounds_with_a_lam_below_their_step_are_warned_of():
    """scipy.io.wavfile's int16 samples (full scale 32768) were learned from as they are
    with lam=0.1, meant for full scale 1, unsaid: every coefficient was active (fraction
    1.0 against 0.08 for the same sounds / 32768). Warned of as sample_segments warns of
    its min_rms (the same helper and text); floats, a lam of 1 or more, and matching
    pursuit (no lam) are not."""
    import re

    rng = np.random.default_rng(0)
    sounds = np.round(rng.standard_normal((4, 400)) * 3000).astype(np.int16)
    run = dict(n_updates=2, batch_size=4, seed=0, progress=False)
    with pytest.warns(UserWarning, match=re.escape(
            "lam=0.1 is below 1, the step of the int16 samples of images, which are taken as "
            "they are (full scale 32768; load_wav scales integer samples to [-1, 1]): an L1 "
            "penalty below one step of the samples leaves nearly every coefficient active; "
            "divide the sounds by 32768")):
        ds = learn_kernels(sounds, 4, 16, lam=0.1, **run)
    scaled = learn_kernels(sounds / 32768, 4, 16, lam=0.1, **run)
    assert ds["fraction_active"].min() > 0.99 > 0.2 > scaled["fraction_active"].max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # 2 updates: a crop left short
        learn_kernels(sounds.astype(np.float64) / 32768, 4, 16, **run)
        learn_kernels(sounds, 4, 16, lam=300.0, **run)
        learn_kernels(sounds, 4, 16, method="mp", n_nonzero=3, **run)


def test_a_list_of_integer_sounds_is_warned_of_as_an_array_is():
    """A list of int16 sounds (scipy.io.wavfile reads one array a file) has no dtype of its
    own: learned from with lam=0.1, every coefficient active (fraction 1.0), unsaid. The
    list's first integer item is named."""
    import re

    rng = np.random.default_rng(0)
    sounds = np.round(rng.standard_normal((4, 400)) * 3000).astype(np.int16)
    run = dict(n_updates=2, batch_size=4, seed=0, progress=False)
    with pytest.warns(UserWarning, match=re.escape(
            "lam=0.1 is below 1, the step of the int16 samples of images[0], which are "
            "taken as they are (full scale 32768")):
        ds = learn_kernels(list(sounds), 4, 16, lam=0.1, **run)
    assert ds["fraction_active"].min() > 0.99  # what the warning is about
    mixed = [sounds[0].astype(np.float64) / 32768, *sounds[1:]]  # a float one first
    with pytest.warns(UserWarning, match=re.escape("the int16 samples of images[1], ")):
        learn_kernels(mixed, 4, 16, lam=0.1, **run)
@pytest.mark.parametrize("dtype, white", [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_images_with_a_lam_below_their_step_are_warned_of(dtype, white):
    """The int16 sounds' reasoning holds for integer pixels: uint8 images (white 255)
    taken as they are with the default lam=0.1, meant for white 1, were learned from
    unsaid with 99.8% of the coefficients active (15% for the images / 255). Warned of
    (once) as integer sounds are; the images / white, and lam >= 1, are not."""
    rng = np.random.default_rng(0)
    images = (rng.integers(0, 256, (4, 32, 32)) * (white // 255)).astype(dtype)
    run = dict(n_updates=2, batch_size=4, seed=0, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = learn_kernels(images, 4, 5, **run)
    warned = [w for w in caught if "is below 1, the step" in str(w.message)]
    assert [str(w.message) for w in warned] == [
        f"lam=0.1 is below 1, the step of the {np.dtype(dtype).name} pixels of images, which "
        f"are taken as they are (white {white}; load_images divides integer pixels by it): "
        "an L1 penalty below one step of the pixels leaves nearly every coefficient active; "
        f"divide the images by {white} (or read them with load_images), or give lam in "
        "their units"]
    assert warned[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 2 updates: a crop left short
        scaled = learn_kernels(images / white, 4, 5, **run)
    assert ds["fraction_active"].min() > 0.95 > 0.3 > scaled["fraction_active"].max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        learn_kernels(images, 4, 5, lam=300.0, **run)


def test_the_kernels_record_lam_in_units_of_x():
    """lam was recorded without a unit (the patch learners' histories give "units of X"):
    the unit-norm kernels' codes carry X's units, so images and lam ten times larger learn
    the same kernels with 100x the objective; matching pursuit has no lam, nor its unit."""
    images = np.random.default_rng(0).standard_normal((2, 16, 16))
    kw = dict(stride=2, n_updates=3, seed=0, progress=False, crop_size=8, dtype="float64")
    small = learn_kernels(images, 4, 4, lam=0.2, **kw)
    large = learn_kernels(10 * images, 4, 4, lam=2.0, **kw)
    for ds in (small, large):
        assert ds.attrs["lam_units"] == "units of X"
        assert ds["objective"].attrs["units"] == "(units of X)^2"
    np.testing.assert_allclose(large["kernels"], small["kernels"], atol=1e-10)
    np.testing.assert_allclose(large["objective"], 100 * small["objective"], rtol=1e-10)
    mp = learn_kernels(images, 4, 4, method="mp", n_nonzero=4, stride=2, n_updates=1, seed=0,
                       progress=False, crop_size=8)
    assert mp.attrs["lam"] == mp.attrs["lam_units"] == "None"
