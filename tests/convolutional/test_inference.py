"""encode (LCA, FISTA, ISTA) against scikit-learn's Lasso on the explicit matrix,
the LCA fixed point, the history, warm starts, and a real-image problem against
the dense FISTA."""

import re
import warnings

import numpy as np
import pytest

from v1model.convolutional import ConvolutionalDictionary, encode, objective, reconstruct

from .conftest import dense_objective, unit_kernels

# (n_kernels, *kernel_shape), signal_shape, stride, boundary: 1-D and 2-D, every boundary
PROBLEMS = {
    "1d-full-s2": ((4, 7), (40,), 2, "full"),
    "2d-full-s1": ((3, 4, 4), (12, 12), 1, "full"),
    "2d-valid-s23": ((6, 4, 6), (18, 16), (2, 3), "valid"),
    "2d-circular-s2": ((6, 5, 5), (16, 16), 2, "circular"),
}


def make_problem(name, n_signals=3, seed=0):
    """Unit-norm Gaussian kernels, Gaussian signals and lam = 0.3 max|Φᵀx| (sparse codes
    with tens of active coefficients)."""
    kshape, signal_shape, stride, boundary = PROBLEMS[name]
    rng = np.random.default_rng(seed)
    kernels = unit_kernels(rng, kshape)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    X = rng.standard_normal((n_signals,) + signal_shape)
    lam = 0.3 * float(np.abs(phi.analyze(X)).max())
    return phi, X, lam


def run(phi, X, lam, **kwargs):
    return encode(X, phi.kernels, lam, stride=phi.stride, boundary=phi.boundary, **kwargs)


# measured gaps at the default tolerances, float64 (float32 within 1%): LCA 2.3e-6, 5.0e-6,
# 4.3e-7, 1.2e-6 (soft) and at most 1.1e-6 (nonneg); with the duality-gap confirmation of
# the step test, FISTA 6.5e-8, 1.5e-8, 9.2e-9, 5.1e-9 and ISTA 1.4e-7, 2.5e-7, 3.3e-8, 8.4e-8
GAP_BOUND = {"lca": 5e-5, "fista": 1e-6, "ista": 1e-6}


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_encode_reaches_sklearn_lasso(name, method, lasso_codes, objective_gap):
    phi, X, lam = make_problem(name)
    M = phi.as_matrix()
    ref = lasso_codes(M, X, lam)
    codes = {}
    for dtype in (np.float64, np.float32):
        A = run(phi, X, lam, method=method, dtype=dtype)
        assert A.shape == (3, phi.n_kernels) + phi.code_shape and A.dtype == dtype
        gap = objective_gap(M, X, A, ref, lam)
        assert -1e-9 <= gap <= GAP_BOUND[method], (dtype, gap)
        codes[dtype] = A
    # float32 and float64 find the same codes (to the tolerance's precision)
    scale = np.abs(codes[np.float64]).max()
    np.testing.assert_allclose(codes[np.float32], codes[np.float64], rtol=0,
                               atol=2e-3 * scale)


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
@pytest.mark.parametrize("name", ["1d-full-s2", "2d-circular-s2"])
def test_nonneg_matches_positive_lasso(name, method, lasso_codes, objective_gap):
    phi, X, lam = make_problem(name, seed=1)
    M = phi.as_matrix()
    ref = lasso_codes(M, X, lam, positive=True)
    A = run(phi, X, lam, method=method, threshold="nonneg", dtype=np.float64)
    assert A.min() >= 0
    assert -1e-9 <= objective_gap(M, X, A, ref, lam) <= GAP_BOUND[method]
    # the unconstrained optimum is lower: the constraint is active
    free = lasso_codes(M, X, lam)
    assert dense_objective(M, X, free, lam) < dense_objective(M, X, ref, lam)


def test_lca_tight_tolerance_reaches_lasso_codes(lasso_codes):
    """Codes, not just objectives: with a tight tolerance the LCA's fixed point is the
    LASSO solution (unique here: fewer active atoms than samples, generic kernels)."""
    phi, X, lam = make_problem("1d-full-s2")
    ref = lasso_codes(phi.as_matrix(), X, lam).reshape((3, phi.n_kernels) + phi.code_shape)
    A = run(phi, X, lam, method="lca", tol=1e-8, max_iter=50000, dtype=np.float64)
    np.testing.assert_allclose(A, ref, rtol=0, atol=1e-6 * np.abs(ref).max())


def test_hard_threshold_reaches_an_lca_fixed_point():
    """At a fixed point of τ du/dt = Φᵀ(x - Φa) + a - u with a = T_hard(u): active
    coefficients have zero residual correlation (a = u, |u| > lam) and inactive
    ones |u| <= lam."""
    phi, X, lam = make_problem("2d-valid-s23")
    A = run(phi, X, lam, method="lca", threshold="hard", tol=1e-9, max_iter=100000,
            dtype=np.float64)
    U = phi.analyze(X - phi.synthesize(A)) + A  # the state that makes these codes
    active = A != 0
    assert active.sum() >= 10
    np.testing.assert_allclose(U[active], A[active], rtol=0, atol=1e-7 * lam)
    assert np.abs(U[active]).min() > lam
    assert np.abs(U[~active]).max() <= lam * (1 + 1e-7)
    # the hard code's support differs from the soft one's: not the LASSO by accident
    soft = run(phi, X, lam, method="lca", tol=1e-9, max_iter=100000, dtype=np.float64)
    assert not np.allclose(A, soft, atol=1e-3 * lam)


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_n_steps_runs_exactly_that_many_steps(method):
    phi, X, lam = make_problem("2d-circular-s2")
    for n_steps in (1, 7):
        A, hist = run(phi, X, lam, method=method, n_steps=n_steps, return_history=True,
                      dtype=np.float64)
        assert hist.sizes["iteration"] == n_steps
    # far below convergence, yet no warning: n_steps is not a tolerance stop
    first = hist.objective.values[0]
    assert hist.objective.values[-1] < first
    if method == "lca":
        np.testing.assert_allclose(hist.time.values, hist.attrs["dt"] * np.arange(1, 8),
                                   rtol=1e-12)


@pytest.mark.parametrize("method", ["lca", "fista"])
def test_history_iteration_counts_the_steps_done(method):
    """The history's iteration is the number of steps done, as the dense solvers' is:
    its record 0 followed the first step, at time dt, yet was labelled iteration 0
    (the dense solvers' start), with no long_name. The objective at iteration k is
    now that of the codes of a run of k steps (objective(), summed over signals)."""
    phi, X, lam = make_problem("1d-full-s2", n_signals=2)
    _, hist = run(phi, X, lam, method=method, n_steps=4, return_history=True,
                  dtype=np.float64)
    assert hist["iteration"].values.tolist() == [1, 2, 3, 4]
    assert hist["iteration"].attrs == {"long_name": "iterations done when recorded",
                                       "units": "1"}
    for k in (1, 3):
        codes = run(phi, X, lam, method=method, n_steps=k, dtype=np.float64)
        expected = float(objective(X, codes, phi.kernels, lam, stride=phi.stride,
                                   boundary=phi.boundary).sum())
        assert float(hist["objective"].sel(iteration=k)) == pytest.approx(expected,
                                                                           rel=1e-12)
        if method == "lca":
            assert float(hist["time"].sel(iteration=k)) == pytest.approx(
                k * hist.attrs["dt"], rel=1e-12)


@pytest.mark.parametrize("method", ["lca", "fista"])
def test_history_attrs_record_the_stop_that_ran(method):
    """With n_steps the history names n_steps alone: it recorded the tol and max_iter it
    ignores (and warns of) as if they had stopped the run."""
    phi, X, lam = make_problem("2d-circular-s2")
    with pytest.warns(UserWarning, match=r"ignores tol=0\.5.*max_iter=9"):
        hist = run(phi, X, lam, method=method, n_steps=3, tol=0.5, max_iter=9,
                   return_history=True)[1]
    assert hist.attrs["n_steps"] == 3
    assert "tol" not in hist.attrs and "max_iter" not in hist.attrs
    hist = run(phi, X, lam, method=method, tol=0.5, max_iter=9, return_history=True)[1]
    assert (hist.attrs["tol"], hist.attrs["max_iter"], hist.attrs["n_steps"]) == (0.5, 9, "None")


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_history_matches_objective(method):
    """The recorded objective of the last step is objective() of the codes returned,
    summed over the signals; ISTA's decreases monotonically."""
    phi, X, lam = make_problem("2d-circular-s2")
    A, hist = run(phi, X, lam, method=method, return_history=True, dtype=np.float64)
    want = objective(X, A, phi.kernels, lam, stride=phi.stride, boundary=phi.boundary)
    assert float(hist.objective[-1]) == pytest.approx(want.sum(), rel=1e-12)
    np.testing.assert_allclose(hist.objective, hist.data_term + hist.penalty, rtol=1e-12)
    assert float(hist.n_active[-1]) == pytest.approx(np.count_nonzero(A) / len(A))
    if method == "ista":
        o = hist.objective.values
        assert np.all(np.diff(o) <= 1e-12 * o[0])


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_history_counts_signals_that_stopped_early(method):
    """Signals that meet the tolerance early still count in the summed history:
    one signal is 10x smaller than the other and stops many steps before it."""
    phi, X, lam = make_problem("2d-circular-s2", n_signals=2)
    X[1] *= 0.1
    A, hist = run(phi, X, lam, method=method, return_history=True, dtype=np.float64)
    per_signal = objective(X, A, phi.kernels, lam, stride=phi.stride, boundary=phi.boundary)
    assert per_signal[1] > 1e-3 * per_signal[0]  # the small signal's term is visible
    assert float(hist.objective[-1]) == pytest.approx(per_signal.sum(), rel=1e-12)
    assert float(hist.n_active[-1]) == pytest.approx(np.count_nonzero(A) / 2)


def test_objective_matches_explicit_matrix():
    phi, X, lam = make_problem("2d-valid-s23")
    A = np.random.default_rng(5).standard_normal((3, phi.n_kernels) + phi.code_shape)
    got = objective(X, A, phi.kernels, lam, stride=phi.stride, boundary=phi.boundary)
    M = phi.as_matrix()
    want = [dense_objective(M, X[i:i + 1], A[i:i + 1], lam) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    R = reconstruct(A, phi.kernels, (18, 16), stride=phi.stride, boundary="valid",
                    dtype=np.float64)
    np.testing.assert_allclose(R.reshape(3, -1), A.reshape(3, -1) @ M, rtol=0, atol=1e-12)
    # one signal, as encode takes it (was: an error about signal_shape), and a float32
    # dictionary object (the objective stays float64)
    one = objective(X[1], A[1:2], phi.kernels, lam, stride=phi.stride, boundary=phi.boundary)
    np.testing.assert_allclose(one, want[1:2], rtol=1e-12)
    np.testing.assert_allclose(objective(X, A, phi.astype(np.float32), lam), want, rtol=1e-6)


def test_reconstruct_takes_a_dictionary_object():
    """reconstruct, like encode, objective and matching_pursuit, takes a
    ConvolutionalDictionary in place of kernels, with its own signal shape, stride,
    boundary and dtype (was: TypeError "kernels must be a numeric array")."""
    phi = make_problem("2d-valid-s23")[0]
    A = np.random.default_rng(5).standard_normal((3, phi.n_kernels) + phi.code_shape)
    want = A.reshape(3, -1) @ phi.as_matrix()
    made = reconstruct(A, phi)
    assert made.dtype == np.float64 and made.shape == (3,) + phi.signal_shape
    np.testing.assert_allclose(made.reshape(3, -1), want, rtol=0, atol=1e-12)
    # the geometry given again, matching, changes nothing; a dtype converts
    same = reconstruct(A, phi, (18, 16), stride=phi.stride, boundary="valid")
    np.testing.assert_array_equal(same, made)
    single = reconstruct(A, phi, dtype=np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single.reshape(3, -1), want, rtol=0,
                               atol=1e-5 * np.abs(want).max())
    for kwargs, match in ((dict(signal_shape=(18, 17)), r"signal_shape=\(18, 17\) disagrees"),
                          (dict(stride=1), r"stride=1 disagrees"),
                          (dict(boundary="full"), r"boundary='full' disagrees")):
        with pytest.raises(ValueError, match=match):
            reconstruct(A, phi, **kwargs)
    with pytest.raises(ValueError, match="reconstruct needs signal_shape"):
        reconstruct(A, phi.kernels, stride=phi.stride, boundary="valid")


@pytest.mark.parametrize("name", ["1d-full-s2", "2d-valid-s23", "2d-circular-s2"])
def test_reconstruct_reads_the_geometry_codes_dataset_records(name, tmp_path):
    """``reconstruct(ds.codes, ds.kernels)`` of a saved codes_dataset needed
    signal_shape (and stride, boundary), which the Dataset records: the codes now
    carry them, and the result is the explicit matrix's ``A M``; a disagreeing value
    given is refused by name."""
    from v1model.io import load_dataset, save_dataset

    phi = make_problem(name)[0]
    A = np.random.default_rng(5).standard_normal((3, phi.n_kernels) + phi.code_shape)
    want = A.reshape(3, -1) @ phi.as_matrix()  # float64 reference, no FFT or window path
    ds = load_dataset(save_dataset(phi.codes_dataset(A, lam=0.1), tmp_path / "codes.nc"))
    made = reconstruct(ds.codes, ds.kernels)
    assert made.shape == (3,) + phi.signal_shape and made.dtype == np.float64
    np.testing.assert_allclose(made.reshape(3, -1), want, rtol=0, atol=1e-12)
    # the geometry given again, matching (an int for a stride of equal entries), is taken
    same = reconstruct(ds.codes, ds.kernels, phi.signal_shape, stride=phi.stride,
                       boundary=phi.boundary)
    np.testing.assert_array_equal(same, made)
    # and a dictionary of the same geometry
    np.testing.assert_array_equal(reconstruct(ds.codes, phi), made)
    other = tuple(n + s for n, s in zip(phi.signal_shape, phi.stride))  # a valid geometry
    for kwargs, match in ((dict(signal_shape=other), rf"^signal_shape={re.escape(repr(other))} "
                           rf"disagrees with the codes' own signal_shape="),
                          (dict(stride=7), r"^stride=7 disagrees with the codes' own stride="),
                          (dict(boundary="same"), r"^boundary must be one of")):
        with pytest.raises(ValueError, match=match):
            reconstruct(ds.codes, ds.kernels, **kwargs)
    wrong = "valid" if phi.boundary != "valid" else "full"
    with pytest.raises(ValueError, match=rf"^boundary='{wrong}' disagrees with the codes' own "
                                         rf"boundary='{phi.boundary}'"):
        reconstruct(ds.codes, ds.kernels, boundary=wrong)
    # codes of another dictionary's geometry, given that dictionary: named
    elsewhere = ConvolutionalDictionary(phi.kernels, other, stride=phi.stride,
                                        boundary=phi.boundary)
    with pytest.raises(ValueError, match=r"^the codes' attrs\['signal_shape'\]=.* disagree "
                                         r"with the ConvolutionalDictionary's own"):
        reconstruct(ds.codes, elsewhere)



@pytest.mark.parametrize("name", ["1d-full-s2", "2d-valid-s23", "2d-circular-s2"])
def test_objective_reads_the_geometry_codes_dataset_records(name, tmp_path):
    """``objective(X, ds.codes, ds.kernels, lam)`` of a saved codes_dataset ignored the
    stride and boundary its codes record: stride-2 codes were refused as "codes must
    have shape (n_samples, 3, 45)". It now reads them as reconstruct does, and equals the
    explicit matrix's ``0.5 ||x - a M||^2 + lam ||a||_1``; a disagreeing stride or
    boundary, or signals of another shape, are refused by name."""
    from v1model.io import load_dataset, save_dataset

    phi, X, lam = make_problem(name)
    A = np.random.default_rng(5).standard_normal((3, phi.n_kernels) + phi.code_shape)
    A[np.abs(A) < 1] = 0  # an L1 term of some zeros
    M = phi.as_matrix()
    want = [dense_objective(M, X[i:i + 1], A[i:i + 1], lam) for i in range(3)]
    ds = load_dataset(save_dataset(phi.codes_dataset(A, lam=lam), tmp_path / "codes.nc"))
    got = objective(X, ds.codes, ds.kernels, lam)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # given again, matching, or as the dictionary itself: the same
    np.testing.assert_array_equal(objective(X, ds.codes, ds.kernels, lam, stride=phi.stride,
                                            boundary=phi.boundary), got)
    np.testing.assert_allclose(objective(X, ds.codes, phi, lam), want, rtol=1e-12)
    wrong = "valid" if phi.boundary != "valid" else "full"
    for kwargs, match in ((dict(stride=7), r"^stride=7 disagrees with the codes' own stride="),
                          (dict(boundary=wrong), rf"^boundary='{wrong}' disagrees with the "
                                                 rf"codes' own boundary='{phi.boundary}'")):
        with pytest.raises(ValueError, match=match):
            objective(X, ds.codes, ds.kernels, lam, **kwargs)
    other = tuple(n + s for n, s in zip(phi.signal_shape, phi.stride))
    with pytest.raises(ValueError, match=rf"^X holds signals of shape {re.escape(str(other))}, "
                                         r"but the codes' attrs record signal_shape="):
        objective(np.zeros((3,) + other), ds.codes, ds.kernels, lam)


# codes saved before they carried their geometry: test_recorded_geometry.py


@pytest.mark.parametrize("kind", ["int16 sounds", "uint8 images"])
def test_integer_signals_with_a_lam_below_their_step_are_warned_of(kind):
    """int16 sounds (scipy.io.wavfile's, full scale 32768) and uint8 images (white 255)
    were coded as they are with lam=0.1, meant for full scale 1, unsaid: nearly every
    coefficient active (measured 1.0 and 0.95, against 0.16 and 0.58 for the signals
    scaled to 1). Warned of once, at the caller's line, as learn_kernels warns of it;
    floats and a lam of 1 or more are not."""
    rng = np.random.default_rng(0)
    if kind == "int16 sounds":
        X = np.round(rng.standard_normal((2, 200)) * 3000).astype(np.int16)
        kernels, full = unit_kernels(rng, (3, 12)), 32768
        text = ("lam=0.1 is below 1, the step of the int16 samples of X, which are taken as "
                "they are (full scale 32768; load_wav scales integer samples to [-1, 1]): an "
                "L1 penalty below one step of the samples leaves nearly every coefficient "
                "active; divide the sounds by 32768")
    else:
        X = rng.integers(0, 256, (2, 16, 16)).astype(np.uint8)
        kernels, full = unit_kernels(rng, (3, 4, 4)), 255
        text = ("lam=0.1 is below 1, the step of the uint8 pixels of X, which are taken as "
                "they are (white 255; load_images divides integer pixels by it): an L1 "
                "penalty below one step of the pixels leaves nearly every coefficient active; "
                "divide the images by 255")
    run = dict(method="fista", stride=2, max_iter=300)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codes = encode(X, kernels, 0.1, **run)
    warned = [w for w in caught if "is below 1, the step" in str(w.message)]
    assert len(warned) == 1 and str(warned[0].message).startswith(text), warned
    assert warned[0].filename == __file__
    scaled = encode(X / full, kernels, 0.1, **run)
    assert np.mean(codes != 0) > 0.9 > 0.7 > np.mean(scaled != 0)
    # a list of them (scipy.io.wavfile reads one array a file): its item named
    with pytest.warns(UserWarning, match=r"^lam=0\.1 is below 1, the step of the "
                                         r"(int16 samples|uint8 pixels) of X\[0\], which"):
        encode(list(X), kernels, 0.1, method="fista", stride=2, n_steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode(X.astype(np.float64) / full, kernels, 0.1, method="fista", stride=2, tol=1e-2)
        encode(X, kernels, 1.0, method="fista", stride=2, n_steps=5)
        encode(X, kernels, 0.0, method="fista", stride=2, n_steps=5)

def test_reconstruct_keeps_float64_codes_and_kernels_in_float64():
    """It returned float32 for float64 codes and kernels, ~1e-7 off the float64
    product (the docstring's default float32 was the dictionary's precision, which a
    dense ``codes @ D`` does not impose). float32 codes, or kernels, stay float32."""
    phi = make_problem("2d-valid-s23")[0]
    A = np.random.default_rng(5).standard_normal((3, phi.n_kernels) + phi.code_shape)
    want = A.reshape(3, -1) @ phi.as_matrix()
    geometry = dict(stride=phi.stride, boundary=phi.boundary)
    made = reconstruct(A, phi.kernels, phi.signal_shape, **geometry)
    assert made.dtype == np.float64
    np.testing.assert_allclose(made.reshape(3, -1), want, rtol=0, atol=1e-12)
    for codes, kernels in ((A.astype(np.float32), phi.kernels),
                           (A, phi.kernels.astype(np.float32))):
        single = reconstruct(codes, kernels, phi.signal_shape, **geometry)
        assert single.dtype == np.float32
        np.testing.assert_allclose(single.reshape(3, -1), want, rtol=0,
                                   atol=1e-5 * np.abs(want).max())
    asked = reconstruct(A, phi.kernels, phi.signal_shape, dtype=np.float32, **geometry)
    assert asked.dtype == np.float32


@pytest.mark.parametrize("method", ["fista", "ista", "lca"])
def test_warm_start_at_the_solution_stops_at_once(method):
    """codes0 at the solution (LCA: the membrane state u = Φᵀ(x - Φa) + a that makes
    it) meets the tolerance in 1-2 steps, and stays there."""
    phi, X, lam = make_problem("2d-full-s1")
    A = run(phi, X, lam, method=method, tol=1e-8, max_iter=50000, dtype=np.float64)
    start = A if method != "lca" else phi.analyze(X - phi.synthesize(A)) + A
    A2, hist = run(phi, X, lam, method=method, codes0=start, return_history=True,
                   dtype=np.float64)
    assert hist.sizes["iteration"] <= 2
    np.testing.assert_allclose(A2, A, rtol=0, atol=1e-6 * np.abs(A).max())
    cold = run(phi, X, lam, method=method, return_history=True, dtype=np.float64)[1]
    assert cold.sizes["iteration"] > 10


def test_dictionary_object_and_single_signal():
    """A ConvolutionalDictionary in place of kernels gives the same codes; one signal
    of signal_shape is a batch of one."""
    phi, X, lam = make_problem("1d-full-s2")
    A = run(phi, X, lam, method="fista", dtype=np.float64)
    np.testing.assert_array_equal(encode(X, phi, lam, method="fista"), A)
    np.testing.assert_array_equal(run(phi, X[1], lam, method="fista", dtype=np.float64),
                                  A[1:2])


def test_zero_signal_and_large_lam_give_zero_codes():
    phi, X, lam = make_problem("2d-full-s1")
    for method in ("lca", "fista", "ista"):
        assert not run(phi, np.zeros_like(X), lam, method=method).any()
        big = float(np.abs(phi.analyze(X)).max()) * 1.001
        assert not run(phi, X, big, method=method).any()


# -- real data: Olshausen's whitened images, Gabor kernels ----------------------------

def test_fista_on_whitened_images_matches_dense_fista(shared_data):
    """16 Gabor kernels (4 orientations x 2 frequencies x 2 phases, 6x6, unit norm),
    stride 1 'full', on 12x12 crops of Olshausen's pre-whitened images: the same LASSO
    as the dense FISTA on as_matrix() (4624 atoms of 144 pixels)."""
    from stimuli import gabor_patch
    from v1model.inference import fista

    folder = shared_data("olshausen", "images")
    images = [np.fromfile(folder / f"image{i}", dtype=">f4").reshape(512, 512)
              for i in range(3)]
    rng = np.random.default_rng(0)
    crops = np.stack([images[i % 3][r:r + 12, c:c + 12] for i, (r, c) in
                      enumerate(rng.integers(20, 480, size=(4, 2)))]).astype(np.float64)
    theta, freq, phase = np.meshgrid(np.arange(4) * np.pi / 4, [0.15, 0.25],
                                     [0, np.pi / 2], indexing="ij")
    kernels = gabor_patch(6, theta.ravel(), freq.ravel(), phase.ravel(), sigma_x=1.5,
                          sigma_y=1.5)
    kernels = kernels / np.linalg.norm(kernels.reshape(16, -1), axis=1)[:, None, None]
    phi = ConvolutionalDictionary(kernels, (12, 12), dtype=np.float64)
    lam = 0.2 * float(np.abs(phi.analyze(crops)).max())
    M = phi.as_matrix()
    A = encode(crops, kernels, lam, method="fista")  # float32 default, default tol
    ref = fista(crops.reshape(4, -1), M, lam, dtype=np.float64)  # its default tol
    f_ref = dense_objective(M, crops, ref, lam)
    gap = (dense_objective(M, crops, A, lam) - f_ref) / f_ref
    assert abs(gap) <= 1e-4, gap
    assert np.count_nonzero(A) >= 20  # a sparse but non-trivial code


@pytest.mark.parametrize("scale", [0.2, 1e-6])
def test_lca_with_kernels_of_small_norm(scale, lasso_codes, objective_gap):
    """Kernels of norm below 1 (||Φ||² < 1): the default step must respect the inactive
    units' leak (rate 1), not only ||Φ||²; before, dt = tau / ||Φ||² > 2 tau made the
    silent units oscillate and grow (1e-6: codes of 1e21 without a warning)."""
    phi, X, _ = make_problem("2d-valid-s23")
    phi = ConvolutionalDictionary(scale * phi.kernels, phi.signal_shape, stride=phi.stride,
                                  boundary=phi.boundary, dtype=np.float64)
    assert phi.lipschitz() < 0.5
    drive = float(np.abs(phi.analyze(X)).max())
    # every unit below threshold: the LASSO codes are exactly zero
    assert not np.any(run(phi, X, 1.5 * drive, method="lca", dtype=np.float64))
    if scale < 0.1:
        return  # the ODE itself relaxes at the rates of ΦᵀΦ: ~1e12 tau at this scale
    lam = 0.3 * drive
    M = phi.as_matrix()
    A = run(phi, X, lam, method="lca", dtype=np.float64)
    assert -1e-9 <= objective_gap(M, X, A, lasso_codes(M, X, lam), lam) <= GAP_BOUND["lca"]


def test_signals_lost_to_zero_in_float32_are_refused():
    """Signals of 1e-300 became zeros in float32 (and codes of zeros) without a word."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"^X has values of at most .* below the range of "
                                         r"float32"):
        encode(rng.standard_normal((2, 32)) * 1e-300, rng.standard_normal((2, 5)), 1e-301)


def test_signals_of_the_wrong_dimension_name_the_kernels_too():
    """2-D images with 1-D kernels: "X must have 1 or 2 dimension(s), got 3" blamed X
    alone, when the kernels may be the mistake."""
    with pytest.raises(ValueError, match=r"^X must have 2 dimensions \(n_samples, "
                                         r"\*signal_shape\), or 1 for one signal, for kernels "
                                         r"of shape \(2, 3\) \(1-D signals\); got 3"):
        encode(np.ones((2, 8, 8)), np.ones((2, 3)), 0.1)


@pytest.mark.parametrize("method, kw", [("lca", {"n_steps": 7}), ("fista", {"n_steps": 7}),
                                        ("fista", {"max_iter": 3000})])
def test_one_block_draws_a_bar_over_steps(record_bars, method, kw):
    """A few whole images are one block of signals, and one block could run for
    minutes: the bar counts steps (it used to be left out for a single block, even
    with progress=True: a 256x256 image took 166 s by the LCA without one). Its total is
    n_steps, or none with the tolerance stop: a total of max_iter promised minutes for
    a block that stopped at a few hundred steps."""
    made = record_bars("total", "n", "disable")
    phi, X, lam = make_problem("2d-full-s1", n_signals=2)
    ref, hist = run(phi, X, lam, method=method, progress=False, return_history=True, **kw)
    codes = run(phi, X, lam, method=method, progress=True, **kw)
    steps = hist.sizes["iteration"]  # one record per step, one block
    assert steps == kw.get("n_steps", steps) and steps < kw.get("max_iter", np.inf)
    assert made[-1] == [kw.get("n_steps"), steps, False]
    np.testing.assert_array_equal(codes, ref)  # the bar changes nothing


def test_kernels_of_too_many_axes_are_named_before_X():
    """Kernels of 5 axes were reported as an X lacking 4 signal axes; every entry point
    that takes kernels or a dictionary names the kernels."""
    from v1model.convolutional import matching_pursuit

    X = np.ones((2, 10, 12))
    bad = np.ones((1, 1, 1, 1, 1))
    for call in (lambda: encode(X, bad, 0.1), lambda: matching_pursuit(X, bad, n_nonzero=1),
                 lambda: objective(X, np.ones((2, 1, 10, 12)), bad, 0.1)):
        with pytest.raises(ValueError, match=r"kernels must have 2 or 3 or 4 dimension\(s\), "
                                             r"got 5"):
            call()


def test_fista_with_kernels_of_different_norms_reaches_sklearn_lasso(lasso_codes,
                                                                     objective_gap):
    """Kernels of norms 9 to 31: the step 1/L is set by the largest, the codes of the
    small ones move ~sqrt(L / ||k||²) times slower, and a stop test blind to that left
    them short: summed gap 8.1e-4 (one signal 2.3e-3), against the dense FISTA's 1.5e-4
    (float32 1.2e-4) at its default on the same matrix; scaling each kernel's change
    brought it to 1.6e-4. Since the step test is confirmed by the duality gap the gap
    decides where it stops: 1.6e-7 (float32 too), 2.2e-7 without the kernel weights,
    1.6e-4 without the gap confirmation, which this bound now guards (the weights by
    themselves: test_the_stop_test_weighs_each_kernel_by_how_much_the_step_slows_it).
    The first of the four signals is left out: scikit-learn's reference took 58,694
    sweeps for it (10,211-11,654 for the others, most of this test's time); on the
    other three the gap is 8.0e-8 (float32 8.2e-8), 9.8e-5 without the confirmation."""
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 5, 4)) * 20 * rng.random((3, 1, 1))
    X = rng.standard_normal((4, 24, 20))[1:]  # the draws of the slow ISTA test below
    phi = ConvolutionalDictionary(kernels, (24, 20), stride=2, dtype=np.float64)
    norms = np.linalg.norm(kernels.reshape(3, -1), axis=1)
    assert norms.max() > 3 * norms.min()
    M = phi.as_matrix()
    ref = lasso_codes(M, X, 0.3)
    for dtype in (np.float64, np.float32):
        A = encode(X, kernels, 0.3, method="fista", stride=2, dtype=dtype)
        assert -1e-9 <= objective_gap(M, X, A, ref, 0.3) <= 1e-5, dtype


def test_fista_after_a_momentum_restart_does_not_stop_short_of_sklearn_lasso(lasso_codes,
                                                                             objective_gap):
    """Right after an adaptive restart FISTA takes a plain step, ~30x shorter, that met
    the step test "change <= tol * largest code" at a relative gap of 1.5e-3 (absolute
    1.6e-2, beyond tol * ||x||^2 = 1.3e-2). The step test is now confirmed by the duality
    gap (at most tol * ||x||^2, scikit-learn's Lasso's rule): 1.6e-7 (float32 1.7e-7)."""
    rng = np.random.default_rng(154)
    kernels = unit_kernels(rng, (3, 4, 4))
    X = rng.standard_normal((1, 12, 12))
    M = ConvolutionalDictionary(kernels, (12, 12), stride=2, dtype=np.float64).as_matrix()
    ref = lasso_codes(M, X, 0.03)
    f_ref = dense_objective(M, X, ref, 0.03)
    for dtype in (np.float64, np.float32):
        A = encode(X, kernels, 0.03, method="fista", stride=2, dtype=dtype)
        # the duality gap bounds the objective's: below the default tol=1e-4 times ||x||^2
        assert dense_objective(M, X, A, 0.03) - f_ref <= 1e-4 * float((X**2).sum()), dtype
        assert -1e-9 <= objective_gap(M, X, A, ref, 0.03) <= 1e-5, dtype


def test_the_stop_test_weighs_each_kernel_by_how_much_the_step_slows_it():
    """The check of the weighting itself (``_slow_down``): FISTA scales a kernel's
    change by ``max ||k|| / ||k_j||``, ISTA by its square, and kernels of one norm need
    no weights. The two tests around it, written for the weighting, no longer see it:
    the duality gap that confirms the step test decides where (F)ISTA stops on their
    kernels (ISTA 5.9e-7 with either weighting; before the confirmation, FISTA's ratio
    stopped ISTA at a summed gap of 1.4e-3, the square at 2.1e-4)."""
    from v1model.convolutional.inference import _slow_down

    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 5, 4)) * 20 * rng.random((3, 1, 1))
    phi = ConvolutionalDictionary(kernels, (24, 20), stride=2, dtype=np.float64)
    norms = np.linalg.norm(kernels.reshape(3, -1), axis=1)
    ratio = norms.max() / norms
    assert ratio.max() > 3  # the norms 9 to 31 of the tests around it
    np.testing.assert_allclose(_slow_down(phi, accelerated=True), ratio, rtol=1e-12)
    np.testing.assert_allclose(_slow_down(phi, accelerated=False), ratio**2, rtol=1e-12)
    k = unit_kernels(rng, (1, 5, 4))[0]
    equal = ConvolutionalDictionary(np.stack([k, -k, k[::-1, ::-1]]), (24, 20), stride=2)
    assert _slow_down(equal, True) is None and _slow_down(equal, False) is None


def _uneven_valid_problem():
    """Kernels of norms 9 to 31 (those of the tests around), two signals, stride 2,
    "valid": 270 coefficients for 480 samples, so the least-squares codes are unique."""
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 5, 4)) * 20 * rng.random((3, 1, 1))
    X = rng.standard_normal((2, 24, 20))
    return ConvolutionalDictionary(kernels, (24, 20), stride=2, boundary="valid",
                                   dtype=np.float64), X


def test_ista_backtracked_step_reaches_sklearn_lasso_in_fewer_steps(lasso_codes,
                                                                    objective_gap):
    """The step 1/L is tight (L is 1.03 ||Φ||² here, power iteration on the explicit
    matrix), but late in a solve ISTA moves along directions of low curvature: the
    constant step took 5,803 steps (float32 5,780) to sklearn's optimum; a step per
    signal found by backtracking (the dense FISTA's rule) takes 2,268 (2,432) to the
    same gap (7.8e-8, float32 9.7e-8), its objective still falling every step."""
    phi, X = _uneven_valid_problem()
    M = phi.as_matrix()
    ref = lasso_codes(M, X, 0.3)
    for dtype in (np.float64, np.float32):
        A, hist = encode(X, phi, 0.3, method="ista", dtype=dtype, max_iter=20000,
                         return_history=True)
        assert -1e-9 <= objective_gap(M, X, A, ref, 0.3) <= 1e-6, dtype
        assert hist.sizes["iteration"] <= 3000, dtype
        if dtype == np.float64:  # monotone, as with the step 1/L
            o = hist.objective.values
            assert np.all(np.diff(o) <= 1e-12 * o[0])


@pytest.mark.parametrize("method, code_tol, gap_tol", [("fista", 5e-3, 1e-6),
                                                       ("ista", 4e-2, 1e-4)])
def test_lam_zero_with_kernels_of_different_norms_reaches_least_squares(method, code_tol,
                                                                        gap_tol):
    """At lam = 0 there is no duality gap to confirm the step test: the weighted change
    alone (``_slow_down``) stops (F)ISTA. Against np.linalg.lstsq on the explicit matrix,
    at the default tol: FISTA's codes within 1.3e-3 of the largest (unweighted 2.4e-2),
    its residual 7.5e-8 above the least-squares one (5.8e-5); ISTA 1.3e-2 (0.13) and
    8.1e-6 (7.2e-4)."""
    phi, X = _uneven_valid_problem()
    M = phi.as_matrix()
    ref = np.linalg.lstsq(M.T, X.reshape(2, -1).T, rcond=None)[0].T
    A = encode(X, phi, 0.0, method=method, max_iter=20000).reshape(2, -1)
    assert np.abs(A - ref).max() <= code_tol * np.abs(ref).max()
    r2, r2_ref = (float(((X.reshape(2, -1) - C @ M) ** 2).sum()) for C in (A, ref))
    assert 0 <= (r2 - r2_ref) / r2_ref <= gap_tol


@pytest.mark.slow  # 50-100 s (30,962 ISTA steps); its weighting is checked quickly above
def test_ista_with_kernels_of_different_norms_stops_near_sklearn_lasso(lasso_codes,
                                                                       objective_gap):
    """ISTA has no momentum: along a kernel of curvature ``c_j`` it closes ``c_j / L`` of
    the distance left per step, so its change is that distance times ``c_j / L``, not
    FISTA's ``sqrt(c_j / L)``. With FISTA's weighting of the stop test ISTA stopped,
    unwarned, at a summed gap of 1.4e-3 on the kernels of norms 9 to 31 above (after
    13,036 steps); weighted by the squared ratio, 2.1e-4 (28,026 steps). Since the step
    test is confirmed by the duality gap, the gap decides: 5.9e-7 after 78,106 steps
    of 1/L, 30,962 with the backtracked step, with either weighting, so this run now
    guards the gap confirmation (without it, 2.1e-4) and ISTA's convergence without a
    warning, not the weighting (checked above). (At the default max_iter=5000 it
    warns.)"""
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((3, 5, 4)) * 20 * rng.random((3, 1, 1))
    X = rng.standard_normal((4, 24, 20))
    phi = ConvolutionalDictionary(kernels, (24, 20), stride=2, dtype=np.float64)
    M = phi.as_matrix()
    ref = lasso_codes(M, X, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged by its own test, not by max_iter
        A = encode(X, phi, 0.3, method="ista", max_iter=100000, progress=False)
    assert -1e-9 <= objective_gap(M, X, A, ref, 0.3) <= 1e-5


def test_channels_are_one_more_spatial_axis():
    """Colour images (n, C, h, w) with kernels (K, C, kh, kw) are volumes C deep, as the
    docstrings now say (it was unsaid): under "full" the kernels slide along the
    channels too (2C - 1 positions), "circular" wraps them (C), and only "valid" sums
    over the channels at one position; Φᵀx against scipy.signal.correlate."""
    from scipy.signal import correlate

    from v1model.convolutional import matching_pursuit

    rng = np.random.default_rng(0)
    X, K = rng.standard_normal((2, 3, 16, 16)), unit_kernels(rng, (4, 3, 4, 4))
    shapes = {"full": (5, 19, 19), "circular": (3, 16, 16), "valid": (1, 13, 13)}
    for boundary, code_shape in shapes.items():
        codes = encode(X, K, 0.5, method="fista", boundary=boundary, progress=False)
        assert codes.shape == (2, 4) + code_shape
        spikes = matching_pursuit(X, K, n_nonzero=3, boundary=boundary, progress=False)
        assert spikes.shape == codes.shape
    full = ConvolutionalDictionary(K, (3, 16, 16), dtype=np.float64).analyze(X)
    np.testing.assert_allclose(full, [[correlate(x, k, "full") for k in K] for x in X],
                               atol=1e-12)
    valid = ConvolutionalDictionary(K, (3, 16, 16), boundary="valid",
                                    dtype=np.float64).analyze(X)
    summed = [[sum(correlate(x[c], k[c], "valid") for c in range(3)) for k in K] for x in X]
    np.testing.assert_allclose(valid[:, :, 0], summed, atol=1e-12)


def test_codes_dataset_of_rate_codes_takes_the_signals_labels():
    import xarray as xr

    # the rate solvers return plain arrays: codes_dataset numbered the codes of
    # X.isel(sample=[2, 0]) 0 and 1; given X, they keep X's labels as the spiking run's
    rng = np.random.default_rng(1)
    X = xr.DataArray(3 * rng.standard_normal((3, 24)), dims=("sample", "time"),
                     coords={"sample": [10, 11, 12], "word": ("sample", ["a", "b", "c"])})
    K = unit_kernels(rng, (2, 6))
    sub = X.isel(sample=[2, 0])
    phi = ConvolutionalDictionary(K, (24,), dtype=np.float64)
    codes = encode(sub, K, 0.5, method="fista", dtype=np.float64)
    ds = phi.codes_dataset(codes, X=sub)
    np.testing.assert_array_equal(ds["sample"].values, [12, 10])
    np.testing.assert_array_equal(ds["word"].values, ["c", "a"])
    np.testing.assert_array_equal(ds["codes"].values, codes)
    np.testing.assert_array_equal(phi.codes_dataset(codes)["sample"].values, [0, 1])
    with pytest.raises(ValueError, match=r"X holds 3 signals but codes 2"):
        phi.codes_dataset(codes, X=X)
