"""ConvolutionalDictionary against SciPy's correlate, the adjoint identity, the
explicit matrix and the largest eigenvalue of its Gram matrix."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal
from scipy.sparse.linalg import LinearOperator, eigsh

from v1model.convolutional import ConvolutionalDictionary
from v1model.convolutional import operator as operator_module

from .conftest import unit_kernels

ATOL = 1e-10  # float64 maps against float64 references


def correlate_reference(x, kernels, stride, boundary):
    """Each kernel's correlation with one signal ``x`` at the strided positions, by
    ``scipy.signal.correlate`` (circular: wrap-padded by kernel size - 1, then 'valid');
    shape (n_kernels, *code_shape)."""
    out = []
    for h in kernels:
        if boundary == "circular":
            padded = np.pad(x, [(0, k - 1) for k in h.shape], mode="wrap")
            c = signal.correlate(padded, h, mode="valid", method="direct")
            c = c[tuple(slice(0, n, s) for n, s in zip(x.shape, stride))]
        else:
            c = signal.correlate(x, h, mode=boundary, method="direct")
            c = c[tuple(slice(None, None, s) for s in stride)]
        out.append(c)
    return np.stack(out)


def gram_lambda_max(M):
    """Largest eigenvalue of ``M M^T`` (= of ``M^T M``) from the explicit matrix, in
    float64: LAPACK on the smaller Gram matrix, or ARPACK (Lanczos, tol 1e-13) on
    products with ``M`` for large ones."""
    if min(M.shape) <= 400:
        G = M @ M.T if M.shape[0] <= M.shape[1] else M.T @ M
        return float(np.linalg.eigvalsh(G)[-1])
    n = M.shape[1]
    gram = LinearOperator((n, n), matvec=lambda v: M.T @ (M @ v), dtype=np.float64)
    return float(eigsh(gram, k=1, which="LA", tol=1e-13, return_eigenvectors=False)[0])


# (kernel_shape, signal_shape, stride): 1-D and 2-D, odd/even, non-square kernels,
# stride tuples, kernel sizes that are not multiples of the stride
OPERATOR_CASES = [
    ((5,), (23,), (1,)),
    ((6,), (32,), (2,)),
    ((7,), (30,), (3,)),  # 7 % 3 != 0, (30 - 7) % 3 != 0
    ((4,), (17,), (4,)),  # stride = kernel size
    ((3, 3), (12, 12), (1, 1)),
    ((5, 5), (16, 16), (2, 2)),
    ((4, 6), (13, 18), (3, 2)),  # non-square kernel, stride tuple, odd height
    ((7, 5), (21, 20), (2, 5)),
    ((2, 8), (10, 24), (1, 4)),
    # stride 1 with big kernels: the FFT paths (from 144 entries)
    ((150,), (300,), (1,)),
    ((12, 13), (30, 28), (1, 1)),
]


def _signal_for(signal_shape, stride, boundary):
    """Circular needs sizes divisible by the stride: round up."""
    if boundary != "circular":
        return signal_shape
    return tuple(-(-n // s) * s for n, s in zip(signal_shape, stride))


@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
@pytest.mark.parametrize("kernel_shape, signal_shape, stride", OPERATOR_CASES)
def test_analyze_matches_scipy_correlate(kernel_shape, signal_shape, stride, boundary):
    rng = np.random.default_rng(sum(kernel_shape) + 7 * sum(stride))
    signal_shape = _signal_for(signal_shape, stride, boundary)
    kernels = rng.standard_normal((3,) + kernel_shape)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    X = rng.standard_normal((2,) + signal_shape)
    got = phi.analyze(X)
    want = np.stack([correlate_reference(x, kernels, stride, boundary) for x in X])
    assert got.shape == want.shape == (2, 3) + phi.code_shape
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


def test_analyze_3d_matches_scipy_correlate():
    rng = np.random.default_rng(3)
    kernels = rng.standard_normal((2, 3, 4, 2))
    for boundary, shape in (("full", (7, 9, 5)), ("valid", (7, 9, 5)), ("circular", (8, 6, 4))):
        phi = ConvolutionalDictionary(kernels, shape, stride=(2, 3, 1), boundary=boundary,
                                      dtype=np.float64)
        X = rng.standard_normal((2,) + shape)
        want = np.stack([correlate_reference(x, kernels, (2, 3, 1), boundary) for x in X])
        np.testing.assert_allclose(phi.analyze(X), want, rtol=0, atol=ATOL)


def test_float32_maps_match_float64():
    rng = np.random.default_rng(4)
    kernels = unit_kernels(rng, (4, 5, 6))
    X = rng.standard_normal((3, 20, 19))
    maps = {}
    for dtype in (np.float32, np.float64):
        phi = ConvolutionalDictionary(kernels, (20, 19), stride=(2, 3), dtype=dtype)
        drive = phi.analyze(X)
        assert drive.dtype == dtype
        maps[dtype] = drive, phi.synthesize(drive)
    for a, b in zip(maps[np.float32], maps[np.float64]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(b).max())


@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
@pytest.mark.parametrize("kernel_shape, signal_shape, stride",
                         OPERATOR_CASES[1:3] + OPERATOR_CASES[5:7] + [((2, 3, 2), (6, 6, 4),
                                                                       (2, 1, 2))])
def test_as_matrix_rows_are_unit_code_syntheses(kernel_shape, signal_shape, stride, boundary):
    rng = np.random.default_rng(5)
    signal_shape = _signal_for(signal_shape, stride, boundary)
    phi = ConvolutionalDictionary(rng.standard_normal((2,) + kernel_shape), signal_shape,
                                  stride=stride, boundary=boundary, dtype=np.float64)
    M = phi.as_matrix()
    assert M.shape == (phi.n_coefficients, int(np.prod(signal_shape)))
    assert M.dtype == np.float64
    picks = rng.choice(phi.n_coefficients, size=min(25, phi.n_coefficients), replace=False)
    for i in picks:
        unit = np.zeros(phi.n_coefficients)
        unit[i] = 1.0
        row = phi.synthesize(unit.reshape((1, phi.n_kernels) + phi.code_shape))
        np.testing.assert_array_equal(M[i], row.ravel())
    # and the matrix is the analysis map's transpose, compared with SciPy
    X = rng.standard_normal((2,) + signal_shape)
    want = np.stack([correlate_reference(x, phi.kernels, stride, boundary) for x in X])
    np.testing.assert_allclose(X.reshape(2, -1) @ M.T, want.reshape(2, -1), rtol=0, atol=ATOL)


def test_as_matrix_row_is_the_kernel_at_its_position():
    """Row ``k * prod(code_shape) + p`` (C order) is kernel k at position p: a 'valid'
    interior row holds the kernel itself, a 'full' corner row its clipped part."""
    rng = np.random.default_rng(6)
    kernels = rng.standard_normal((2, 3, 4))
    phi = ConvolutionalDictionary(kernels, (9, 10), stride=(2, 3), boundary="valid",
                                  dtype=np.float64)
    M = phi.as_matrix().reshape((2,) + phi.code_shape + (9, 10))
    np.testing.assert_array_equal(M[1, 2, 1, 4:7, 3:7], kernels[1])
    assert np.count_nonzero(M[1, 2, 1]) == np.count_nonzero(kernels[1])
    full = ConvolutionalDictionary(kernels, (9, 10), boundary="full", dtype=np.float64)
    corner = full.as_matrix().reshape((2,) + full.code_shape + (9, 10))[0, 0, 0]
    np.testing.assert_array_equal(corner[:1, :1], kernels[0, -1:, -1:])
    assert np.count_nonzero(corner) == 1


def placed_kernels(codes, kernels, signal_shape, positions, circular):
    """``Φ a`` by the definition: every coefficient times its kernel added at its
    position (samples off the signal dropped, or wrapped when ``circular``), one
    copy at a time in float64: independent of the operator's blocked products."""
    out = np.zeros((len(codes),) + tuple(signal_shape))
    k_shape = kernels.shape[1:]
    for index in np.ndindex(codes.shape[1:]):
        kern, pos = index[0], index[1:]
        start = [positions[axis][p] for axis, p in enumerate(pos)]
        for offset in np.ndindex(k_shape):
            where = [s + o for s, o in zip(start, offset)]
            if circular:
                where = [w % n for w, n in zip(where, signal_shape)]
            elif any(w < 0 or w >= n for w, n in zip(where, signal_shape)):
                continue
            out[(slice(None),) + tuple(where)] += codes[(slice(None),) + index] * \
                kernels[(kern,) + offset]
    return out


@pytest.mark.parametrize("kernel_shape, signal_shape, stride, boundary", [
    ((3, 8), (21,), 3, "full"),            # 3 blocks of 3 phases, the last block padded
    ((3, 5, 6), (13, 14), (2, 3), "full"),
    ((2, 6, 4), (12, 12), (3, 2), "circular"),  # copies past the end wrap
    ((2, 5, 5), (11, 12), 2, "valid"),
    ((2, 3, 4, 2), (7, 6, 5), (2, 3, 1), "full"),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_synthesize_matches_the_kernels_placed_one_by_one(kernel_shape, signal_shape,
                                                          stride, boundary, dtype):
    """Several signals, every coefficient non-zero, strides that do not divide the
    kernels: the block-shift slabs of the synthesis add up to the definition."""
    rng = np.random.default_rng(11)
    kernels = rng.standard_normal(kernel_shape)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary,
                                  dtype=dtype)
    codes = rng.standard_normal((3, kernel_shape[0]) + phi.code_shape)
    want = placed_kernels(codes, kernels, signal_shape, phi.positions(),
                          boundary == "circular")
    atol = ATOL if dtype == np.float64 else 1e-5 * np.abs(want).max()
    np.testing.assert_allclose(phi.synthesize(codes), want, rtol=0, atol=atol)
    # channels-last codes that are a transposed view (as encode passes them)
    np.testing.assert_allclose(phi.synthesize_last(np.moveaxis(codes.astype(dtype), 1, -1)),
                               want, rtol=0, atol=atol)


# -- adjoint identity <Φa, x> = <a, Φᵀx> -----------------------------------------------

@st.composite
def operator_problem(draw):
    d = draw(st.integers(1, 3))
    boundary = draw(st.sampled_from(["full", "valid", "circular"]))
    kernel_shape = tuple(draw(st.integers(1, 5 if d < 3 else 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, k)) for k in kernel_shape)
    signal_shape = []
    for k, s in zip(kernel_shape, stride):
        n = draw(st.integers(k, k + (9 if d < 3 else 3)))
        signal_shape.append(-(-n // s) * s if boundary == "circular" else n)
    n_kernels = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return n_kernels, kernel_shape, tuple(signal_shape), stride, boundary, seed


@settings(max_examples=60, deadline=None)
@given(operator_problem())
def test_adjoint_identity(problem):
    n_kernels, kernel_shape, signal_shape, stride, boundary, seed = problem
    rng = np.random.default_rng(seed)
    phi = ConvolutionalDictionary(rng.standard_normal((n_kernels,) + kernel_shape),
                                  signal_shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    A = rng.standard_normal((2, n_kernels) + phi.code_shape)
    X = rng.standard_normal((2,) + signal_shape)
    lhs = float(np.vdot(phi.synthesize(A), X))
    rhs = float(np.vdot(A, phi.analyze(X)))
    scale = np.linalg.norm(phi.synthesize(A)) * np.linalg.norm(X) + 1.0
    assert abs(lhs - rhs) <= 1e-12 * scale
    # channels-last internals are the same maps
    np.testing.assert_allclose(np.moveaxis(phi.analyze_last(X), -1, 1), phi.analyze(X),
                               rtol=0, atol=0)


# -- lipschitz: an upper bound on ||Φ||², exact for circular, tight for large signals ----

@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
@pytest.mark.parametrize("kernel_shape, signal_shape, stride",
                         OPERATOR_CASES + [((2, 3, 2), (6, 6, 4), (1, 3, 2)),
                                           ((3, 2, 2), (6, 4, 4), (3, 2, 1))])
def test_lipschitz_bounds_gram_eigenvalue(kernel_shape, signal_shape, stride, boundary):
    rng = np.random.default_rng(11 + len(kernel_shape))
    signal_shape = _signal_for(signal_shape, stride, boundary)
    phi = ConvolutionalDictionary(rng.standard_normal((3,) + kernel_shape), signal_shape,
                                  stride=stride, boundary=boundary, dtype=np.float64)
    lam_max = gram_lambda_max(phi.as_matrix())
    L = phi.lipschitz()
    assert L >= lam_max * (1 - 1e-9)
    if boundary == "circular":
        assert L == pytest.approx(lam_max, rel=1e-9)


def test_lipschitz_exact_for_tiny_circular_signals():
    """A circular signal of one or two kernel copies per axis (the kernel wraps onto
    itself): still the exact eigenvalue."""
    rng = np.random.default_rng(12)
    for kernel_shape, signal_shape, stride in [((4,), (4,), (4,)), ((6,), (6,), (3,)),
                                               ((5, 4), (6, 4), (3, 2)),
                                               ((3, 3), (3, 3), (1, 1))]:
        phi = ConvolutionalDictionary(rng.standard_normal((2,) + kernel_shape), signal_shape,
                                      stride=stride, boundary="circular", dtype=np.float64)
        assert phi.lipschitz() == pytest.approx(gram_lambda_max(phi.as_matrix()), rel=1e-9)


@pytest.mark.parametrize("kernel_shape, signal_shape, stride, boundary, factor", [
    ((16,), (512,), (1,), "full", 1.001),
    ((16,), (512,), (4,), "full", 1.001),
    ((16,), (512,), (3,), "valid", 1.001),
    ((6, 6), (48, 48), (2, 2), "full", 1.03),
    ((8, 8), (64, 64), (1, 1), "full", 1.03),
])
def test_lipschitz_tight_for_large_signals(kernel_shape, signal_shape, stride, boundary,
                                           factor):
    """Measured ratios L / lambda_max: 1.00015, 1.00039, 1.00013 (1-D, 512 samples),
    1.0088 (2-D, 48x48, stride 2) and 1.0113 (64x64, 8x8 kernels, stride 1); the bound
    approaches the eigenvalue as the signal grows. lambda_max by Lanczos on the
    operator's own maps (checked against SciPy and the explicit matrix above): the
    explicit matrices are too large to build here."""
    rng = np.random.default_rng(3)
    phi = ConvolutionalDictionary(rng.standard_normal((4,) + kernel_shape), signal_shape,
                                  stride=stride, boundary=boundary, dtype=np.float64)
    n = int(np.prod(signal_shape))
    gram = LinearOperator(
        (n, n), dtype=np.float64,
        matvec=lambda v: phi.synthesize(phi.analyze(v.reshape(signal_shape))).ravel())
    lam_max = float(eigsh(gram, k=1, which="LA", tol=1e-13, return_eigenvectors=False)[0])
    assert lam_max * (1 - 1e-9) <= phi.lipschitz() <= factor * lam_max


def test_lipschitz_of_orthonormal_tiling_is_one():
    """Non-overlapping copies (stride = kernel size, 'valid') of one unit kernel are
    orthonormal atoms: ||Φ||² = 1 analytically."""
    rng = np.random.default_rng(13)
    phi = ConvolutionalDictionary(unit_kernels(rng, (1, 4, 3)), (16, 12), stride=(4, 3),
                                  boundary="valid", dtype=np.float64)
    assert phi.lipschitz() == pytest.approx(1.0, rel=1e-12)


# -- lipschitz on long axes: a grid of 64 (b - 1) points bounds every frequency ---------

def _exact_grid_lipschitz(phi, monkeypatch):
    """lipschitz() on the signal's own grid along every axis (the bound before long
    axes took a coarse grid)."""
    with monkeypatch.context() as m:
        m.setattr(operator_module, "_LIPSCHITZ_GRID", 10**12)
        return phi.lipschitz()


def test_lipschitz_on_a_coarse_grid_bounds_gram_eigenvalue(monkeypatch):
    """Random kernels, strides, boundaries and 1 to 3 axes, with the coarse grid cut
    to 8 (b - 1) points so that the explicit matrices stay small: the bound on the
    coarse grid (times its Bernstein factor) stays above ||Φ||² by SVD, and above the
    bound on the signal's own grid."""
    rng = np.random.default_rng(21)
    monkeypatch.setattr(operator_module, "_LIPSCHITZ_GRID", 8)
    coarse_axes = 0
    for _ in range(60):
        d = int(rng.integers(1, 4))
        kernel_shape = tuple(int(k) for k in rng.integers(1, 6, d))
        stride = tuple(int(rng.integers(1, k + 1)) for k in kernel_shape)
        boundary = str(rng.choice(["full", "valid", "circular"]))
        long = int(rng.integers(d))  # one axis long enough for the coarse grid
        signal_shape = tuple(
            int(s * rng.integers(-(-k // s) * (10 if i == long else 1),
                                 -(-k // s) * (24 if i == long else 2) + 1))
            for i, (k, s) in enumerate(zip(kernel_shape, stride)))
        phi = ConvolutionalDictionary(rng.standard_normal((int(rng.integers(1, 4)),)
                                                          + kernel_shape),
                                      signal_shape, stride=stride, boundary=boundary,
                                      dtype=np.float64)
        blocks = [-(-k // s) for k, s in zip(kernel_shape, stride)]
        grid = ([n // s for n, s in zip(signal_shape, stride)] if boundary == "circular"
                else [m + b - 1 for m, b in zip(phi.code_shape, blocks)])
        coarse_axes += sum(g > max(8 * (b - 1), 1) for g, b in zip(grid, blocks))
        L = phi.lipschitz()
        case = (kernel_shape, signal_shape, stride, boundary)
        assert L >= gram_lambda_max(phi.as_matrix()) * (1 - 1e-9), case
        assert L >= _exact_grid_lipschitz(phi, monkeypatch) * (1 - 1e-12), case
    assert coarse_axes >= 40  # the coarse grid was exercised


@pytest.mark.parametrize("kernel_shape, signal_shape, stride, factor", [
    ((3,), (300,), (1,), 1.0013),
    ((4,), (400,), (2,), 1.0013),
    ((7,), (501,), (3,), 1.0013),
    ((64,), (4000,), (1,), 1.0013),  # a 0.5 s sound at 8 kHz, gammatone-sized kernels
    ((2, 3), (90, 12), (1, 1), 1.0013),  # one long axis
    ((2, 2), (80, 80), (1, 1), 1.005),
])
@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
def test_lipschitz_coarse_grid_is_within_its_factor(kernel_shape, signal_shape, stride,
                                                    factor, boundary, monkeypatch):
    """On long axes the bound is at most 1 / (1 - (π d / 64)² / 2) above the one on
    the signal's own grid (1.0012 in 1-D, 1.0048 in 2-D), never below it, and above
    ||Φ||² by SVD where the matrix is small."""
    rng = np.random.default_rng(22)
    phi = ConvolutionalDictionary(rng.standard_normal((3,) + kernel_shape), signal_shape,
                                  stride=stride, boundary=boundary, dtype=np.float64)
    L, exact = phi.lipschitz(), _exact_grid_lipschitz(phi, monkeypatch)
    assert exact * (1 - 1e-12) <= L <= factor * exact
    if phi.n_coefficients * int(np.prod(signal_shape)) <= 2_000_000:
        assert L >= gram_lambda_max(phi.as_matrix()) * (1 - 1e-9)


def test_lipschitz_of_images_a_few_kernels_long_is_unchanged(monkeypatch):
    """64x64 images with 8x8 kernels stay on their own grid (71 < 64 x 7 points)."""
    rng = np.random.default_rng(23)
    phi = ConvolutionalDictionary(rng.standard_normal((8, 8, 8)), (64, 64),
                                  dtype=np.float64)
    assert phi.lipschitz() == _exact_grid_lipschitz(phi, monkeypatch)


def test_lipschitz_of_a_million_samples_bounds_the_symbol():
    """32 kernels of 64 taps on 10^6 samples (the signal's own grid took 1.3 GB):
    ||Φ||² tends to the supremum of Σ_k |K̂_k(ω)|² over frequency, which a DFT of
    2^18 points approaches from below; the bound is above it, by at most 0.121%."""
    rng = np.random.default_rng(24)
    kernels = rng.standard_normal((32, 64))
    phi = ConvolutionalDictionary(kernels, (1_000_000,), dtype=np.float64)
    symbol = float((np.abs(np.fft.rfft(kernels, n=2**18, axis=1)) ** 2).sum(0).max())
    assert symbol <= phi.lipschitz() <= 1.0013 * symbol


@pytest.mark.parametrize("boundary", ["full", "valid", "circular"])
@pytest.mark.parametrize("kernel_shape, signal_shape, stride", [
    ((170,), (360,), 1), ((64,), (200,), 1), ((12, 12), (30, 29), 1), ((12, 13), (30, 28), 1),
    ((16, 16), (36, 34), 2), ((300,), (600,), 3)])
def test_fft_paths_match_the_window_products(kernel_shape, signal_shape, stride, boundary,
                                             monkeypatch):
    """Big kernels at small strides run on FFTs; the window products of smaller kernels
    must give the same maps (to float32 rounding), and the synthesis must be
    scipy.signal.convolve's sum over kernels where the copies cover the signal."""
    from scipy.signal import convolve

    from v1model.convolutional import operator

    rng = np.random.default_rng(11)
    kernels = rng.standard_normal((4,) + kernel_shape)
    X = rng.standard_normal((3,) + signal_shape)
    if boundary == "circular":
        signal_shape = tuple(-(-n // stride) * stride for n in signal_shape)
        X = rng.standard_normal((3,) + signal_shape)
    fft = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary)
    assert fft._uses_fft(operator._FFT_SYNTHESIS_MIN)
    codes = rng.standard_normal((3, 4) + fft.code_shape)
    got = fft.analyze(X), fft.synthesize(codes)
    monkeypatch.setattr(operator, "_FFT_ANALYSIS_MIN", 10**9)
    monkeypatch.setattr(operator, "_FFT_SYNTHESIS_MIN", 10**9)
    monkeypatch.setattr(operator, "_FFT_MIN_1D", 10**9)
    windows = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary)
    assert not windows._uses_fft(operator._FFT_SYNTHESIS_MIN)
    scale = np.sqrt(kernels[0].size)
    np.testing.assert_allclose(got[0], windows.analyze(X), atol=2e-5 * scale)
    np.testing.assert_allclose(got[1], windows.synthesize(codes), atol=2e-5 * scale * 2)
    if boundary == "full" and stride == 1:
        k = np.array(kernel_shape)
        crop = tuple(slice(kk - 1, kk - 1 + n) for kk, n in zip(k, signal_shape))
        want = np.stack([sum(convolve(c[j], kernels[j], mode="full") for j in range(4))
                         for c in codes])
        want = want[(slice(None),) + crop]
        np.testing.assert_allclose(got[1], want, atol=2e-5 * scale * 2)


def test_codes_dataset_round_trips_and_places_each_copy(tmp_path):
    from v1model.io import load_dataset, save_dataset

    rng = np.random.default_rng(5)
    kernels = rng.standard_normal((2, 4, 3))
    phi = ConvolutionalDictionary(kernels, (10, 9), stride=2, dtype=np.float64)
    codes = rng.standard_normal((3, 2) + phi.code_shape)
    ds = phi.codes_dataset(codes, lam=0.1)
    assert ds["codes"].dims == ("sample", "kernel", "y", "x")
    # "full" copies start k - 1 samples before the signal, every stride samples
    assert ds["y"].values.tolist() == list(range(-3, 10, 2))
    assert ds["x"].values.tolist() == list(range(-2, 9, 2))
    back = load_dataset(save_dataset(ds, tmp_path / "codes.nc"))
    np.testing.assert_array_equal(back["codes"].values, codes)
    # the geometry on the codes alone (the Dataset's copy, edited, was ignored)
    assert back["codes"].attrs["boundary"] == "full" and back.attrs["lam"] == 0.1
    assert "boundary" not in back.attrs
    # a unit code at (y, x) = position p puts the kernel's first sample at p
    unit = np.zeros((1, 2) + phi.code_shape)
    unit[0, 1, 2, 3] = 1.0
    made = phi.synthesize(unit)[0]
    y0, x0 = int(ds["y"][2]), int(ds["x"][3])
    np.testing.assert_array_equal(made[y0:y0 + 4, x0:x0 + 3], kernels[1])
    with pytest.raises(ValueError, match="codes must have shape"):
        phi.codes_dataset(codes[:, :1])


def test_codes_dataset_of_images_and_volumes_counts_positions_in_pixels(tmp_path):
    # an image's copy positions are pixels, as the README and the package's other image
    # coordinates (fit_gabor, map_receptive_fields, sailnet) say; they were "samples"
    from v1model.io import load_dataset, save_dataset

    rng = np.random.default_rng(6)
    for kernels, shape, dims in [(rng.standard_normal((2, 4, 3)), (10, 9), ("y", "x")),
                                 (rng.standard_normal((2, 2, 3, 3)), (4, 6, 6),
                                  ("z", "y", "x"))]:
        phi = ConvolutionalDictionary(kernels, shape, stride=2, dtype=np.float64)
        ds = phi.codes_dataset(np.zeros((1, 2) + phi.code_shape))
        back = load_dataset(save_dataset(ds, tmp_path / f"codes{len(dims)}.nc"))
        for dim in dims:
            assert back[dim].attrs["units"] == "pixel", (dim, back[dim].attrs)
            assert back[dim].attrs["long_name"] == f"first pixel of the kernel copy along {dim}"



def test_codes_dataset_attrs_in_memory_are_those_a_reload_gives(tmp_path):
    # bools and None were kept raw (True, None) and became 1 and "None" only after a
    # save; the geometry's lists became arrays: cleaned in memory, as the histories are
    from v1model.io import load_dataset, save_dataset

    phi = ConvolutionalDictionary(np.ones((2, 3, 3)), (6, 6), stride=(1, 2))
    ds = phi.codes_dataset(np.zeros((1, 2) + phi.code_shape), positive=True, prior=None,
                           lam=0.1, sizes=[3, 4], depth=[5])
    back = load_dataset(save_dataset(ds, tmp_path / "codes.nc"))
    assert set(back.attrs) == set(ds.attrs) | {"v1model_version", "v1model_format_version"}
    for key, value in ds.attrs.items():
        assert type(value) is not bool and value is not None, key
        assert np.shape(value) == np.shape(back.attrs[key]), key
        np.testing.assert_array_equal(value, back.attrs[key], err_msg=key)
    assert ds.attrs["positive"] == 1 and ds.attrs["prior"] == "None"
    assert ds["codes"].attrs["stride"].tolist() == [1, 2]
    assert ds.attrs["depth"].tolist() == [5]


@pytest.mark.parametrize("phi_dtype, codes_dtype", [(np.float32, np.float64),
                                                     (np.float64, np.float32)])
def test_codes_dataset_keeps_the_precision_of_the_codes(tmp_path, phi_dtype, codes_dtype):
    """The codes are saved in their own dtype, not the dictionary's: float64 codes were
    rounded to a float32 dictionary's precision (1 + 2**-30 saved as 1.0)."""
    from v1model.io import load_dataset, save_dataset

    phi = ConvolutionalDictionary(np.ones((2, 3, 3)), (6, 6), dtype=phi_dtype)
    codes = np.full((1, 2) + phi.code_shape, 1 + 2.0**-30).astype(codes_dtype)
    back = load_dataset(save_dataset(phi.codes_dataset(codes), tmp_path / "codes.nc"))
    assert back["codes"].dtype == codes_dtype
    # float32 holds 1 + 2**-30 as 1.0 (24-bit mantissa); float64 holds it exactly
    expected = 1.0 if codes_dtype == np.float32 else 1 + 2.0**-30
    assert np.all(back["codes"].values == expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_as_matrix_is_exact_where_the_maps_use_ffts(dtype):
    """Kernels long enough for the FFT path (64 taps, 1-D; 12x12 at stride 1): every
    row of as_matrix is its kernel, exactly, at the copy's place (truncated at the
    borders), and exact zeros elsewhere — float32 FFTs would leave ~6e-8 there."""
    rng = np.random.default_rng(0)
    for kshape, signal_shape in (((3, 64), (100,)), ((2, 12, 12), (20, 18))):
        kernels = rng.standard_normal(kshape).astype(dtype)
        phi = ConvolutionalDictionary(kernels, signal_shape, dtype=dtype)
        M = phi.as_matrix()
        expected = np.zeros_like(M)
        d = len(signal_shape)
        # placed by hand: kernel k at each start position, cut to the signal
        starts = phi.positions()
        for i in range(phi.n_coefficients):
            k, pos = np.divmod(i, int(np.prod(phi.code_shape)))
            where = np.unravel_index(pos, phi.code_shape)
            canvas = np.zeros(tuple(n + 2 * (s - 1) for n, s in zip(signal_shape,
                                                                   kshape[1:])))
            at = tuple(slice(starts[a][where[a]] + kshape[1 + a] - 1,
                             starts[a][where[a]] + kshape[1 + a] - 1 + kshape[1 + a])
                       for a in range(d))
            canvas[at] = kernels[k].astype(np.float64)
            inner = tuple(slice(s - 1, s - 1 + n) for n, s in zip(signal_shape, kshape[1:]))
            expected[i] = canvas[inner].ravel()
        np.testing.assert_array_equal(M, expected)


@pytest.mark.parametrize("name, value", [("stride", 2), ("boundary", "valid"),
                                         ("signal_shape", (4, 4))])
def test_codes_dataset_refuses_geometry_attrs_by_name(name, value):
    # a bare TypeError ("got multiple values for keyword argument 'stride'") before
    phi = ConvolutionalDictionary(np.ones((2, 3, 3)), (8, 8))
    codes = np.zeros((1, 2) + phi.code_shape)
    with pytest.raises(ValueError, match=rf"^{name}=.* cannot be given to codes_dataset: "
                                         rf"the codes' attrs record the dictionary's own"):
        phi.codes_dataset(codes, **{name: value})


def test_kernels_cannot_change_behind_the_products():
    # phi.kernels /= norm reached the analysis (a view of it) but not the synthesis or
    # lipschitz() (copies): the adjoint broke silently and FISTA solved another problem
    phi = ConvolutionalDictionary(np.ones((1, 3)), (5,), dtype=np.float64)
    with pytest.raises(ValueError, match="read-only"):
        phi.kernels /= np.sqrt(3)
    a = np.zeros((1, 1, 7))
    a[0, 0, 3] = 1.0
    np.testing.assert_array_equal(phi.synthesize(a).ravel(), a.ravel() @ phi.as_matrix())
    assert phi.lipschitz() == pytest.approx(9.0)


@pytest.mark.parametrize("boundary", ["full", "circular", "valid"])
@pytest.mark.parametrize("shape, stride", [((3, 5), 2), ((3, 5, 4), (2, 1))])
def test_a_reused_canvas_gives_the_padded_analysis_bit_for_bit(boundary, shape, stride):
    """The solvers pass one canvas_buffer to analyze_last step after step (np.pad on
    every call cost 20-34% of small analyses); reused on fewer signals (as signals
    converge) after other signals, it gives what padding anew gives, bit for bit, and
    both match SciPy's correlate."""
    rng = np.random.default_rng(3)
    kernels = unit_kernels(rng, shape)
    signal_shape = (20,) if len(shape) == 2 else (12, 14)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary)
    canvas = phi.canvas_buffer(5)
    if boundary == "valid":
        assert canvas is None  # nothing to pad
    else:
        assert canvas.shape == (5,) + phi._canvas and not canvas.any()
    for n in (5, 3, 1):
        X = rng.standard_normal((n,) + signal_shape).astype(np.float32)
        got = phi.analyze_last(X, local=True, canvas=canvas)
        np.testing.assert_array_equal(got, phi.analyze_last(X, local=True))
        s = (stride,) * len(signal_shape) if np.ndim(stride) == 0 else stride
        np.testing.assert_allclose(
            np.moveaxis(got[-1], -1, 0),
            correlate_reference(X[-1].astype(np.float64), kernels, s, boundary),
            rtol=1e-5, atol=1e-5)


def test_canvas_buffer_refuses_a_count_that_is_no_positive_integer():
    """canvas_buffer(n) made np.zeros((n, ...)): n = -1 failed in NumPy ("negative
    dimensions are not allowed"), naming no argument."""
    phi = ConvolutionalDictionary(unit_kernels(np.random.default_rng(0), (3, 5)), (20,))
    for bad in (0, -1, 2.5):
        with pytest.raises((ValueError, TypeError), match=r"^n must be"):
            phi.canvas_buffer(bad)


def test_codes_dataset_of_sounds_has_times_in_seconds_given_the_sample_rate(tmp_path):
    """Sound codes had their onsets in samples with no sample rate anywhere: with
    sample_rate the onsets (time) and the kernels' lag are in seconds, the onsets in
    samples stay in time_sample, the rate is in attrs, and all of it survives a save;
    without it the attrs say the times are samples."""
    from v1model.io import load_dataset, save_dataset

    rng = np.random.default_rng(2)
    phi = ConvolutionalDictionary(rng.standard_normal((2, 4)), (10,), stride=2,
                                  dtype=np.float64)
    codes = rng.standard_normal((1, 2) + phi.code_shape)
    ds = phi.codes_dataset(codes, sample_rate=8000, lam=0.1)
    back = load_dataset(save_dataset(ds, tmp_path / "codes.nc"))
    onsets = [-3, -1, 1, 3, 5, 7, 9]  # "full": from -(k - 1), every stride samples
    for result in (ds, back):
        np.testing.assert_array_equal(result["time"].values, np.array(onsets) / 8000)
        assert result["time"].attrs["units"] == "s"
        assert result["time_sample"].values.tolist() == onsets
        assert result["time_sample"].attrs["units"] == "samples"
        np.testing.assert_array_equal(result["lag"].values, np.arange(4) / 8000)
        assert result["lag"].attrs["units"] == "s"
        assert result.attrs["sample_rate_hz"] == 8000.0 and result.attrs["time_units"] == "s"
        np.testing.assert_array_equal(result["codes"].values, codes)
    plain = phi.codes_dataset(codes)
    assert plain["time"].values.tolist() == onsets and "sample_rate_hz" not in plain.attrs
    assert plain.attrs["time_units"] == "samples (no sample_rate given)"


def test_codes_dataset_takes_the_rate_of_kernels_learned_with_one():
    """A dictionary of kernels learned with a sample_rate (lag in s) labelled its codes'
    times in samples, "no sample_rate given", unless the rate was given again; the rate
    the kernels carry is now used, kept by astype, and a contradicting one refused."""
    from v1model.convolutional import learn_kernels

    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 64))
    learned = learn_kernels(X, 2, 4, stride=2, lam=0.1, n_updates=1, seed=0,
                            sample_rate=8000.0, progress=False)["kernels"]
    codes = rng.standard_normal((1, 2, 7))
    onsets = np.array([-3, -1, 1, 3, 5, 7, 9])  # "full" on 10 samples, stride 2
    plain = ConvolutionalDictionary(learned.values, (10,), stride=2, dtype=np.float64)
    reference = plain.codes_dataset(codes, sample_rate=8000)
    for kernels in (learned, learned.T):  # read by dim name, transposed or not
        phi = ConvolutionalDictionary(kernels, (10,), stride=2, dtype=np.float64)
        for dictionary in (phi, phi.astype(np.float32)):
            ds = dictionary.codes_dataset(codes)
            np.testing.assert_array_equal(ds["time"].values, onsets / 8000)
            assert ds.attrs["sample_rate_hz"] == 8000.0 and ds.attrs["time_units"] == "s"
            np.testing.assert_array_equal(ds["lag"].values, learned["lag"].values)
            assert dictionary.sample_rate == 8000.0
        assert phi.codes_dataset(codes, sample_rate=8000.0).identical(reference)
    assert plain.sample_rate is None  # an array carries no rate
    with pytest.raises(ValueError, match=r"^sample_rate=16000 contradicts the rate of the "
                                         r"dictionary's kernels, 8000 Hz \(their lag in s\): "
                                         r"pass sample_rate=8000, or None to take theirs$"):
        phi.codes_dataset(codes, sample_rate=16000)


def test_as_dictionary_keeps_the_rate_of_sound_kernels():
    """The dictionary the solvers build from a DataArray of sound kernels (as_dictionary)
    lost their rate: its sample_rate was None and its codes' times were in samples,
    "no sample_rate given". It now carries the kernels' rate, from their lag in s or
    from attrs["sample_rate_hz"], in either dtype, and labels the codes as a
    ConvolutionalDictionary built from the same kernels does."""
    import xarray as xr

    from v1model.convolutional import learn_kernels
    from v1model.convolutional.inference import as_dictionary

    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 10))
    learned = learn_kernels(rng.standard_normal((2, 64)), 2, 4, stride=2, lam=0.1,
                            n_updates=1, seed=0, sample_rate=8000.0,
                            progress=False)["kernels"]
    in_attrs = xr.DataArray(learned.values, dims=("kernel", "lag"),
                            attrs={"sample_rate_hz": 8000.0})
    codes = rng.standard_normal((1, 2, 7))
    reference = ConvolutionalDictionary(learned.values, (10,), stride=2).codes_dataset(
        codes, sample_rate=8000)
    for kernels in (learned, learned.T, in_attrs):
        for dtype in (None, np.float64):
            phi = as_dictionary(kernels, X, 2, None, dtype)
            assert phi.sample_rate == 8000.0, (kernels.dims, dtype)
            ds = phi.codes_dataset(codes)
            np.testing.assert_array_equal(ds["time"].values, reference["time"].values)
            assert ds.attrs["sample_rate_hz"] == 8000.0 and ds.attrs["time_units"] == "s"
    assert as_dictionary(learned.values, X, 2, None, None).sample_rate is None


@pytest.mark.parametrize("rate", [0, -8000.0, np.nan, np.inf])
def test_codes_dataset_refuses_a_sample_rate_that_is_not_positive_finite(rate):
    phi = ConvolutionalDictionary(np.ones((2, 4)), (10,))
    codes = np.zeros((1, 2) + phi.code_shape)
    with pytest.raises(ValueError, match=r"^sample_rate must be a positive finite number, "
                                         r"got (0|-8000\.0|nan|inf)$"):
        phi.codes_dataset(codes, sample_rate=rate)


def test_codes_dataset_refuses_a_sample_rate_for_images_and_reserved_time_attrs():
    image = ConvolutionalDictionary(np.ones((2, 3, 3)), (8, 8))
    with pytest.raises(ValueError, match=r"^sample_rate=8000 applies to sounds \(1-D "
                                         r"signals\); these signals have 2 spatial axes"):
        image.codes_dataset(np.zeros((1, 2) + image.code_shape), sample_rate=8000)
    sound = ConvolutionalDictionary(np.ones((2, 4)), (10,))
    with pytest.raises(ValueError, match=r"^sample_rate_hz=8000 cannot be given to "
                                         r"codes_dataset: .*\(pass sample_rate\)$"):
        sound.codes_dataset(np.zeros((1, 2) + sound.code_shape), sample_rate_hz=8000)
