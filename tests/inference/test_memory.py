"""Memory of the per-sample solvers: their working arrays are row blocks, not
copies of all the samples, and validation does not copy data it can use as is.

Peaks are Python-level allocations traced by ``tracemalloc`` (NumPy reports
its buffers to it), so they are deterministic: no timing, no RSS. Each solver
codes every sample independently of the others, so coding in blocks must give
the codes of coding the samples in small batches; the two differ only where
BLAS rounds a product differently for a different number of rows (a sample
may then stop one iteration earlier or later, within the solver's tolerance;
how often depends on the machine's BLAS kernel).
"""

import tracemalloc

import numpy as np
import pytest

from v1model.inference import fista, lca, orthogonal_mp
from v1model.inference._common import validate_problem

N_SAMPLES = 20_000
LAM = 0.3
#: OMP with only a tolerance (no n_nonzero: up to min(n_atoms, n_features) atoms)
OMP_TOL = 0.3

SOLVERS = {
    "lca": lambda X, D: lca(X, D, LAM),
    "fista": lambda X, D: fista(X, D, LAM),
    "omp_tol": lambda X, D: orthogonal_mp(X, D, tol=OMP_TOL),
}


@pytest.fixture(scope="module")
def many_patches(whitened_images):
    """20,000 whitened 8x8 patches in float32 (5 MB; their codes on 256 atoms: 20 MB)."""
    from stimuli import sample_patches

    return np.ascontiguousarray(sample_patches(whitened_images, 8, N_SAMPLES, seed=3),
                                dtype=np.float32)


@pytest.fixture(scope="module")
def dictionary_256(whitened_images):
    """256 unit-norm 8x8 atoms (4x overcomplete) from other patches."""
    from stimuli import sample_patches

    D = sample_patches(whitened_images, 8, 256, seed=7, min_variance=0.05)
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def traced_peak(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the peak of the memory it allocated (bytes)."""
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


@pytest.fixture(scope="module")
def coded(many_patches, dictionary_256):
    """``{solver: (codes, peak bytes)}``, each call after a small one (numba's
    first calls compile and load kernels: not the solver's memory)."""
    X, D = many_patches, dictionary_256
    out = {}
    for name, solve in SOLVERS.items():
        solve(X[:50], D)
        out[name] = traced_peak(solve, X, D)
    return out


@pytest.mark.parametrize("name", list(SOLVERS))
def test_peak_memory_is_a_small_multiple_of_the_codes(coded, name):
    """The codes plus a few (block, n_atoms) work arrays (OMP's take 16 to 64 MB):
    at most 3x the codes (all rows at once took 9x for lca, 3.6x for fista and 22x
    for omp with tol on this problem)."""
    A, peak = coded[name]
    assert A.shape == (N_SAMPLES, 256) and A.dtype == np.float32
    assert np.count_nonzero(A) > 0
    assert peak <= 3 * A.nbytes, f"{name}: peak {peak / 1e6:.1f} MB, codes {A.nbytes / 1e6:.1f} MB"


@pytest.mark.parametrize("name", list(SOLVERS))
def test_codes_in_blocks_are_the_codes_of_small_batches(coded, many_patches, dictionary_256,
                                                        name):
    X, D = many_patches[:6000], dictionary_256
    A = coded[name][0][:6000]
    parts = np.concatenate([SOLVERS[name](X[s:s + 700], D) for s in range(0, len(X), 700)])
    assert parts.shape == A.shape and parts.dtype == A.dtype
    # equal up to BLAS's rounding for another number of rows (see the module docstring).
    # How often that rounding changes a row depends on the BLAS kernel: on AMD EPYC
    # (OpenBLAS Haswell) 34-79% of the rows were bit-identical, the largest difference
    # 4.9e-3 and the 99th percentile 5.9e-4 of the largest code; rows mixed up between
    # blocks or a block's state carried into the next differ by the codes themselves.
    scale = np.abs(A).max()
    row_diff = np.abs(parts - A).max(axis=1) / scale
    assert row_diff.max() <= 2e-2, f"{name}: a row differs by {row_diff.max():.2g} of the codes"
    assert np.quantile(row_diff, 0.99) <= 2e-3, (
        f"{name}: 1% of the rows differ by more than {np.quantile(row_diff, 0.99):.2g}")
    same_support = np.all((parts != 0) == (A != 0), axis=1).mean()
    assert same_support >= 0.98, f"{name}: only {same_support:.1%} of the rows keep their support"


def test_validation_returns_float32_x_of_the_working_dtype_itself(many_patches,
                                                                  patch_dictionary):
    X = many_patches
    Xv, Dv, lam, dtype = validate_problem(X, patch_dictionary, LAM, np.float32)
    assert Xv is X and Dv.dtype == np.float32 and dtype == np.float32
    # a single sample comes back as a (1, n_features) view of it
    Xv, *_ = validate_problem(X[7], patch_dictionary, LAM, np.float32)
    assert Xv.shape == (1, X.shape[1]) and np.shares_memory(Xv, X)
    X64 = X.astype(np.float64)
    assert validate_problem(X64, patch_dictionary, LAM, np.float64)[0] is X64


def test_validation_of_float32_x_allocates_no_copy_of_it(many_patches, patch_dictionary):
    """No float64 copy of X and no |X| temporary: at most the finite-check's
    booleans (a quarter of a float32 X)."""
    X = many_patches
    validate_problem(X[:10], patch_dictionary, LAM, np.float32)
    _, peak = traced_peak(validate_problem, X, patch_dictionary, LAM, np.float32)
    assert peak <= 0.3 * X.nbytes + 1e6


@pytest.mark.parametrize("order", ["F", "float64", "float16", "list"])
def test_validation_converts_other_x_to_the_working_dtype(many_patches, patch_dictionary,
                                                          order):
    X = many_patches[:200]
    Xin = {"F": np.asfortranarray(X), "float64": X.astype(np.float64),
           "float16": X.astype(np.float16), "list": X.tolist()}[order]
    Xv, *_ = validate_problem(Xin, patch_dictionary, LAM, np.float32)
    assert Xv.dtype == np.float32 and Xv.flags.c_contiguous
    np.testing.assert_array_equal(Xv, np.asarray(Xin, dtype=np.float32))
    assert not np.shares_memory(Xv, X)


def test_range_check_sees_negative_extremes_of_float32_x(patch_dictionary):
    X = np.zeros((5, 64), np.float32)
    X[3, 9] = -1e30  # only the minimum is large: |X| comes from the negative side
    with pytest.raises(ValueError, match=r"\|X\| = 1e\+30"):
        validate_problem(X, patch_dictionary, LAM, np.float32)


def test_float64_x_beyond_float32_range_meets_the_range_check(patch_dictionary):
    """Checked in float64 before the cast: the range error, not 'non-finite'."""
    X = np.zeros((5, 64))
    X[1, 2] = 1e300
    with pytest.raises(ValueError, match="beyond what float32 holds"):
        validate_problem(X, patch_dictionary, LAM, np.float32)
