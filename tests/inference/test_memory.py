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
import warnings

import numpy as np
import pytest

from v1model.inference import fista, iht, lca, orthogonal_mp
from v1model.inference._common import ConvergenceWarning, validate_problem

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


@pytest.fixture(scope="module")
def coded(many_patches, dictionary_256, peak_memory):
    """``{solver: (codes, peak bytes)}``, each call after a small one (numba's
    first calls compile and load kernels: not the solver's memory)."""
    X, D = many_patches, dictionary_256
    out = {}
    for name, solve in SOLVERS.items():
        solve(X[:50], D)
        # one measure: a solve of the 20,000 patches takes 2.7-2.9 s (2026-12-07), the
        # least of three would add ~17 s to this fixture
        out[name] = peak_memory(lambda: solve(X, D), repeats=1, warm_up=False)
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


def test_validation_of_float32_x_allocates_no_copy_of_it(many_patches, patch_dictionary,
                                                         peak_memory):
    """No float64 copy of X and no |X| temporary: at most the finite-check's
    booleans (a quarter of a float32 X)."""
    X = many_patches
    validate_problem(X[:10], patch_dictionary, LAM, np.float32)
    _, peak = peak_memory(lambda: validate_problem(X, patch_dictionary, LAM, np.float32))
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


# -- Gram-sized arrays: the step size comes from the Gram the solver holds ---------------

def _unit_rows(n_atoms, n_features, seed):
    D = np.random.default_rng(seed).standard_normal((n_atoms, n_features))
    return (D / np.linalg.norm(D, axis=1, keepdims=True)).astype(np.float32)


GRAM_SOLVERS = {
    "fista-constant": lambda X, D: fista(X, D, LAM, step="constant", max_iter=20, tol=1e-3),
    "fista-backtracking": lambda X, D: fista(X, D, LAM, max_iter=20, tol=1e-3),
    "iht": lambda X, D: iht(X, D, lam=None, n_nonzero=5, max_iter=20),
}


def peak_after_validation(monkeypatch, peak_memory, name, X, D):
    """Peak bytes the solver ``name`` allocates once its input is validated, above what
    it held then (validation's float64 checks of ``D`` are not its working arrays): the
    least over the measures of ``peak_memory``, each above what its own call held."""
    import sys

    module = sys.modules["v1model.inference." + name.split("-")[0]]
    validate = module.validate_problem
    held = []

    def validate_then_mark(*args, **kwargs):
        out = validate(*args, **kwargs)
        held.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.reset_peak()
        return out

    def solve_above_validation():
        GRAM_SOLVERS[name](X, D)
        return tracemalloc.get_traced_memory()[1] - held[-1]

    monkeypatch.setattr(module, "validate_problem", validate_then_mark)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 20 iterations: memory only
        # the warm-up call (numba's and scipy's first calls are not the solver's) is not
        # traced: its value is left out
        above = []
        peak_memory(lambda: above.append(solve_above_validation()))
    return min(above[1:])


@pytest.mark.parametrize("name", list(GRAM_SOLVERS))
def test_overcomplete_solvers_hold_at_most_two_grams(monkeypatch, name, peak_memory):
    """600 atoms of 64 features: the Gram G = D D^T (float32, 1.44 MB) and the
    constant-step iteration matrix I - G / L, built in place (IHT's overwrites G).
    ``np.eye(k) - G / L`` held eye and G / L beside G: 3.0 Grams for fista's constant
    step and for iht, 2.06 and 1.25 now (fista with backtracking: 1.27, as before)."""
    D = _unit_rows(600, 64, seed=1)
    X = np.random.default_rng(2).standard_normal((4, 64)).astype(np.float32)
    gram = 600 * 600 * 4
    peak = peak_after_validation(monkeypatch, peak_memory, name, X, D)
    assert peak <= 2.3 * gram, f"{name}: {peak / gram:.2f} Grams"


@pytest.mark.parametrize("name", list(GRAM_SOLVERS))
def test_undercomplete_step_size_comes_from_the_solvers_gram(monkeypatch, name, peak_memory):
    """128 atoms of 2048 features: the Gram the solver builds is the smaller one, and its
    largest eigenvalue is taken from it (one float64 copy that LAPACK works in), not from
    a float64 copy of D (2 MB, 32 float32 Grams) and a second D D^T beside it: 35
    Grams before, 3.6 now."""
    D = _unit_rows(128, 2048, seed=3)
    X = np.random.default_rng(4).standard_normal((4, 2048)).astype(np.float32)
    gram = 128 * 128 * 4
    peak = peak_after_validation(monkeypatch, peak_memory, name, X, D)
    # G, its float64 copy (2 Grams) and, for the constant step, I - G / L
    assert peak <= 5 * gram, f"{name}: {peak / gram:.2f} Grams"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 300), (300, 40)])
def test_step_size_from_a_given_gram_is_lapacks_and_leaves_it(shape, dtype):
    """The step size's eigenvalue against NumPy's eigvalsh (same LAPACK routine, dsyevd:
    equal to rounding), never below it beyond rounding (1/L must stay a safe step), and
    the Gram passed in unchanged (LAPACK overwrites only its own copy)."""
    from v1model.inference._common import gram_top_eigenvalue, spectral_norm_gram

    D = _unit_rows(*shape, seed=5).astype(dtype)
    G = D @ D.T
    kept = G.copy()
    D64 = D.astype(np.float64)
    small = D64 @ D64.T if shape[0] <= shape[1] else D64.T @ D64
    reference = np.linalg.eigvalsh(small)[-1]
    # in float32 the given G is the solver's own matrix: its eigenvalue, not D64's
    own = np.linalg.eigvalsh(G.astype(np.float64))[-1]
    assert gram_top_eigenvalue(G) == pytest.approx(own, rel=1e-13, abs=0)
    L = spectral_norm_gram(D, G)
    expected = own if shape[0] <= shape[1] else reference
    assert L == pytest.approx(expected, rel=1e-13, abs=0)
    assert L == pytest.approx(reference, rel=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_array_equal(G, kept)
    assert spectral_norm_gram(D) == pytest.approx(reference, rel=1e-13, abs=0)
