"""Degenerate dictionaries and settings that the solvers used to take in silence:
OMP on linearly dependent atoms (scikit-learn's orthogonal_mp warns), a pursuit
``tol`` below the working precision's resolution, and hard-threshold LCA on
duplicated atoms (Rozell et al. 2008: one unit should win)."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp as sk_omp

from v1model.inference import ConvergenceWarning, lca, matching_pursuit, orthogonal_mp
from v1model.inference._dictionary_cache import clear_dictionary_cache


def unit_atoms(n_atoms, n_features, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    return D / np.linalg.norm(D, axis=1, keepdims=True), rng


def low_rank_atoms(n_atoms, n_features, rank, seed=0):
    """Unit atoms spanning a random ``rank``-dimensional subspace."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, rank)) @ rng.standard_normal((rank, n_features))
    return D / np.linalg.norm(D, axis=1, keepdims=True), rng


# ------------------------------------------------------------------ OMP, linear dependence
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_omp_on_a_duplicated_atom_warns_once_naming_the_rank_and_the_pair(dtype):
    """8 atoms in 16 dimensions, atom 3 a copy of atom 1 (rank 7), n_nonzero=8: every
    sample ends with the 7 atoms scikit-learn's orthogonal_mp also returns, which warns
    ("linear dependence in the dictionary", once per sample); ours used to say nothing.
    One warning names the rank, the pair and the setting to lower."""
    D, rng = unit_atoms(8, 16)
    D[3] = D[1]
    X = rng.standard_normal((5, 16))
    with pytest.warns(RuntimeWarning, match="linear dependence"):
        ref = sk_omp(D.T, X.T, n_nonzero_coefs=8).T
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        A = orthogonal_mp(X, D, n_nonzero=8, dtype=dtype)
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), np.count_nonzero(ref, axis=1))
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), 7)
    # the same projection as scikit-learn (the split between the copies aside)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(A @ D, ref @ D, atol=tol * np.abs(X).max())
    ours = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    message = str(ours[0].message)
    assert message.startswith("orthogonal_mp: 5 of 5 samples end with fewer than n_nonzero=8 "
                              "atoms and a residual left (rows 0, 1, 2, 3, 4 of X)")
    assert "the dictionary has rank 7 (n_atoms=8, n_features=16)" in message
    assert "duplicate atoms 3 and 1" in message
    assert "lower n_nonzero (now 8) to at most 7 or remove one atom of each duplicate pair" \
        in message


def test_omp_beyond_the_rank_of_a_low_rank_dictionary_warns():
    """12 atoms spanning 4 of 16 dimensions, n_nonzero=8: 4 atoms each, as in
    scikit-learn; the warning names rank 4 and no duplicates."""
    D, rng = low_rank_atoms(12, 16, rank=4)
    X = rng.standard_normal((6, 16))
    with pytest.warns(RuntimeWarning, match="linear dependence"):
        ref = sk_omp(D.T, X.T, n_nonzero_coefs=8).T
    with pytest.warns(ConvergenceWarning, match=r"the dictionary has rank 4 .*; lower "
                                                r"n_nonzero \(now 8\) to at most 4$") as rec:
        A = orthogonal_mp(X, D, n_nonzero=8, dtype=np.float64)
    assert "duplicate" not in str(rec[0].message)
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), np.count_nonzero(ref, axis=1))
    np.testing.assert_allclose(A @ D, ref @ D, atol=1e-10)


def test_nn_omp_beyond_the_rank_warns_naming_the_rank_and_not_duplicates():
    """NN-OMP (positive=True) took 4 atoms per sample of 12 spanning 4 dimensions with
    n_nonzero=8 and said nothing, where plain OMP warned: it now names the rank, the
    same warning. Its codes stay non-negative with at most 4 atoms, and reconstruct at
    least as well as scipy's NNLS on the 4 atoms it picked (the optimum on that support).
    A duplicated atom with n_nonzero below the rank, and samples ending short for want of
    a positive correlation, stay unwarned."""
    from scipy.optimize import nnls

    D, rng = low_rank_atoms(12, 16, rank=4)
    X = np.abs(rng.standard_normal((6, 12))) @ D + 0.1 * rng.standard_normal((6, 16))
    with pytest.warns(ConvergenceWarning, match=r"the dictionary has rank 4 .*; lower "
                                                r"n_nonzero \(now 8\) to at most 4$") as rec:
        A = orthogonal_mp(X, D, n_nonzero=8, positive=True, dtype=np.float64)
    assert "duplicate" not in str(rec[0].message)
    assert np.all(A >= 0) and np.all(np.count_nonzero(A, axis=1) <= 4)
    for x, a in zip(X, A):
        support = np.flatnonzero(a)
        best = nnls(D[support].T, x)[1]
        assert np.linalg.norm(x - a @ D) <= best * (1 + 1e-8)
    Df, rng = unit_atoms(8, 16)
    Df[3] = Df[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orthogonal_mp(rng.standard_normal((5, 16)), Df, n_nonzero=4, positive=True)
        orthogonal_mp(rng.standard_normal((5, 16)), Df, n_nonzero=7, positive=True)


def test_nn_omp_counts_at_the_rank_only_the_samples_that_reached_it():
    """NN-OMP's samples anti-correlated with every atom end with 0 atoms, for want of a
    positive correlation, not of rank: the rank warning counted them too (20 of 20 where
    10 had 0 atoms), and warned of a rank when no sample had reached it."""
    rng = np.random.default_rng(3)
    # non-negative atoms of rank 4: a sample of negative pixels drives none of them
    D = np.abs(rng.standard_normal((12, 4))) @ np.abs(rng.standard_normal((4, 16)))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    coded = np.abs(rng.standard_normal((6, 12))) @ D + 0.1 * rng.standard_normal((6, 16))
    anti = -np.abs(rng.standard_normal((4, 16)))
    with pytest.warns(ConvergenceWarning, match=r"^orthogonal_mp: 6 of 10 samples end with "
                                                r"fewer than n_nonzero=8 atoms .*\(rows 0, 1, "
                                                r"2, 3, 4, 5 of X\): the dictionary has rank 4"):
        A = orthogonal_mp(np.vstack([coded, anti]), D, n_nonzero=8, positive=True,
                          dtype=np.float64)
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), [4] * 6 + [0] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not orthogonal_mp(anti, D, n_nonzero=8, positive=True).any()


def test_omp_with_tol_on_dependent_atoms_names_the_cause_in_its_one_warning():
    """With tol, samples above it were warned of as having "no atom left that lowers the
    residual"; the warning now says why (the rank and the duplicates), and is the only one."""
    D, rng = unit_atoms(8, 16)
    D[3] = D[1]
    X = rng.standard_normal((5, 16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        orthogonal_mp(X, D, tol=1e-3)
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert "5 with no atom left that lowers the residual (the dictionary has rank 7" in message
    assert "duplicate atoms 3 and 1" in message


def test_omp_short_of_n_nonzero_on_exact_signals_or_below_the_rank_stays_quiet():
    """No warning where nothing is wrong: signals coded exactly by 3 atoms (n_nonzero=6),
    and a duplicated atom with n_nonzero below the rank (the copy is never needed)."""
    D, rng = unit_atoms(8, 16)
    X = rng.standard_normal((5, 3)) @ D[[0, 2, 5]]
    dup = D.copy()
    dup[3] = dup[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = orthogonal_mp(X, D, n_nonzero=6)
        orthogonal_mp(rng.standard_normal((5, 16)), dup, n_nonzero=4)
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), 3)


# ------------------------------------------------------------ pursuit tol below resolution
@pytest.mark.parametrize("solver", [matching_pursuit, orthogonal_mp])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pursuit_refuses_a_tol_below_the_resolution_of_its_dtype(solver, dtype):
    """tol=0 ran every sample to its step limit and then advised raising max_iter (20 of
    20 samples, float32 and float64): refused up front, naming tol, the dtype and the
    smallest tol that resolves (float32: the float64 one too)."""
    D, rng = unit_atoms(32, 16)
    X = rng.standard_normal((20, 16))
    name = np.dtype(dtype).name
    floor = (16 * np.finfo(dtype).eps) ** 2 * np.min(np.sum(X ** 2, axis=1))
    with pytest.raises(ValueError, match=rf"^{solver.__name__}: tol=0\.0 is below the "
                                         rf"resolution of {name} for every sample of X: "
                                         rf".* pass tol >= "
                                         rf"{floor:.2g} ") as err:
        solver(X, D, tol=0.0, dtype=dtype)
    assert ("or dtype=np.float64" in str(err.value)) == (dtype == np.float32)
    # just above it is taken (and met, by OMP on these full-rank atoms)
    if solver is orthogonal_mp:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            A = solver(X, D, tol=1e-8, dtype=dtype)
        R = X - A.astype(np.float64) @ D
        assert np.all(np.sum(R ** 2, axis=1) <= 1e-8 * (1 + 1e-6))


@pytest.mark.parametrize("solver", [matching_pursuit, orthogonal_mp])
def test_one_loud_sample_does_not_refuse_a_tol_the_others_meet(solver):
    """The floor came from the largest sample alone: one sample 1e6 times the others'
    energy refused a tol that every other sample meets. Now it runs, the others meet
    tol (as the same samples without the loud one do), and one warning names the loud
    row, which stops at the step limit."""
    D, rng = unit_atoms(32, 16)
    X = rng.standard_normal((20, 16))
    X[7] *= 1e3  # 1e6 times the energy
    res2 = np.sum(X ** 2, axis=1)
    unit = (16 * np.finfo(np.float32).eps) ** 2
    tol = 100 * unit * np.max(np.delete(res2, 7))  # met by the others, not by row 7
    assert unit * res2[7] > tol
    with pytest.warns(UserWarning, match=r"below the resolution of float32 for 1 of 20 "
                                         r"samples \(row 7 of X\)") as record:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # row 7, at its limit
            A = solver(X, D, tol=tol)
    assert sum("resolution" in str(w.message) for w in record) == 1
    others = np.delete(np.arange(20), 7)
    R = X[others] - A[others].astype(np.float64) @ D
    if solver is orthogonal_mp:  # full-rank atoms: OMP meets tol (to float32 rounding)
        assert np.all(np.sum(R ** 2, axis=1) <= tol * (1 + 1e-3))
    # the quiet samples' codes do not depend on the loud one
    np.testing.assert_allclose(A[others], solver(X[others], D, tol=tol), rtol=1e-6,
                               atol=1e-6)


def test_a_tol_below_every_samples_resolution_names_the_smallest_sample():
    """Refused only when no sample could meet it; the message names the sample nearest
    to meeting it (the smallest) and the tol it needs."""
    D, rng = unit_atoms(32, 16)
    X = rng.standard_normal((5, 16))
    X[3] *= 0.1
    floor = (16 * np.finfo(np.float32).eps) ** 2 * np.sum(X[3] ** 2)
    with pytest.raises(ValueError, match=rf"row 3 of X .* pass tol >= {floor:.2g} "):
        orthogonal_mp(X, D, tol=floor / 2)


def test_a_zero_tol_for_all_zero_signals_is_not_refused():
    """Nothing to code: the signals already meet tol=0."""
    D, _ = unit_atoms(8, 4)
    np.testing.assert_array_equal(orthogonal_mp(np.zeros((2, 4)), D, tol=0.0), 0)


# ------------------------------------------------------------- hard LCA, duplicated atoms
def test_hard_lca_on_a_duplicated_atom_splits_the_coefficient_and_warns():
    """Atom 5 a copy of atom 2, samples driven along it (drive > 2 lam): both units rise
    together and settle at half the coefficient each, a fixed point with lam^2/2 more
    energy per sample than the code on one of them (which is a fixed point too). It was
    silent; a warning now names the pair."""
    D, rng = unit_atoms(12, 16)
    D[5] = D[2]
    X = rng.standard_normal((6, 16)) + 2 * D[2]
    lam = 0.5
    with pytest.warns(UserWarning, match=r"^lca\(threshold='hard'\): D has duplicated atoms 5 "
                                         r"and 2 \(\|cosine\| >= 1 - 1e-04\)"):
        A = lca(X, D, lam, threshold="hard", dtype=np.float64)
    both = (A[:, 2] != 0) & (A[:, 5] != 0)
    assert both.sum() >= 3
    np.testing.assert_allclose(A[both, 2], A[both, 5], rtol=1e-12)  # one coefficient, split
    merged = A.copy()
    merged[:, 2] += merged[:, 5]
    merged[:, 5] = 0

    def energy(codes):
        R = X - codes @ D
        return 0.5 * np.sum(R ** 2, axis=1) + 0.5 * lam ** 2 * np.count_nonzero(codes, axis=1)

    np.testing.assert_allclose((energy(A) - energy(merged))[both], 0.5 * lam ** 2, rtol=1e-9)


@pytest.mark.parametrize("threshold", ["soft", "hard"])
def test_lca_without_duplicates_or_soft_is_not_warned(threshold):
    """Soft threshold: the LASSO objective is the same whatever the split (no warning);
    hard threshold on atoms 1 - cosine = 1e-3 apart (one unit wins in most samples):
    none either."""
    D, rng = unit_atoms(12, 16)
    u = rng.standard_normal(16)
    u -= (u @ D[2]) * D[2]
    u /= np.linalg.norm(u)
    near = D.copy()
    near[5] = (1 - 1e-3) * D[2] + np.sqrt(1 - (1 - 1e-3) ** 2) * u
    dup = D.copy()
    dup[5] = D[2]
    X = rng.standard_normal((4, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # n_steps: the plain Euler loop (the adaptive soft one compiles on first use)
        lca(X, near if threshold == "hard" else dup, 0.5, threshold=threshold, n_steps=200)


def test_hard_lca_checks_one_dictionary_for_duplicates_once(monkeypatch):
    """The duplicate check built the Gram matrix of D at every hard-threshold call, also
    in a loop of probes that calls lca thousands of times with one dictionary: now once
    per dictionary (the warning still comes at every call that has duplicates), again
    for a changed one, and the pairs are those of a direct check."""
    import importlib

    from v1model.inference._common import duplicate_pairs

    lca_module = importlib.import_module("v1model.inference.lca")  # not the function

    calls = []

    def counting(D, min_cosine):
        calls.append(D.shape)
        return duplicate_pairs(D, min_cosine)

    monkeypatch.setattr(lca_module, "duplicate_pairs", counting)
    clear_dictionary_cache()
    D, rng = unit_atoms(12, 16, seed=5)
    D[5] = D[2]
    X = rng.standard_normal((3, 16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            lca(X, D, 0.5, threshold="hard", n_steps=5)
        lca(X, D.copy(), 0.5, threshold="hard", n_steps=5)  # same values: the same check
    assert len(calls) == 1
    assert [str(w.message).count("atoms 5 and 2") for w in caught] == [1, 1, 1]
    changed = D.copy()
    changed[5] = D[7]
    changed[9] = D[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lca(X, changed, 0.5, threshold="hard", n_steps=5)
    assert len(calls) == 2
    assert duplicate_pairs(changed, 1 - 1e-4) == [(1, 9), (5, 7)]
    assert "atoms 9 and 1, 7 and 5" in str(caught[0].message)


def test_hard_lca_duplicate_check_sees_a_dictionary_changed_in_place():
    """The check is remembered by comparing ``D`` with a copy it keeps (a blake2b digest
    of ``D`` took 1.2 ms per call for 512 x 256 atoms, 10% of a one-sample encode): the
    copy is its own, so that atoms duplicated in place in the caller's array after a
    clean check are still named, and cleaned in place no longer are."""
    from v1model.inference import _dictionary_cache
    from v1model.inference.lca import HARD_DUPLICATE_COSINE

    clear_dictionary_cache()
    D, rng = unit_atoms(12, 16, seed=3)
    X = rng.standard_normal((3, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lca(X, D, 0.5, threshold="hard", n_steps=5, dtype=np.float64)
    entry = _dictionary_cache._entry
    kept, pairs = entry.key, entry.values[("duplicate_pairs", HARD_DUPLICATE_COSINE)]
    assert pairs == [] and np.array_equal(kept, D) and not np.shares_memory(kept, D)
    original = D[4].copy()
    D[4] = -D[8]  # in place: a sign-flipped copy is a duplicate too
    with pytest.warns(UserWarning, match="duplicated atoms 8 and 4"):
        lca(X, D, 0.5, threshold="hard", n_steps=5, dtype=np.float64)
    D[4] = original
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lca(X, D, 0.5, threshold="hard", n_steps=5, dtype=np.float64)


def test_duplicate_pairs_match_scipys_cosines_in_bounded_memory(peak_memory):
    """duplicate_pairs (every hard-threshold lca call, OMP's shortfall warning) built
    the whole float64 Gram matrix, its |.| and a mask: it peaked at 64 MB
    (16 n_atoms^2 bytes) for the pairs of this 2000 x 16 dictionary. It now goes a block of
    rows at a time; the pairs are scipy's (1 - cosine distance), in sorted order."""
    from scipy.spatial.distance import pdist, squareform

    from v1model.inference._common import duplicate_pairs

    rng = np.random.default_rng(3)
    D = rng.standard_normal((2000, 16))
    D[1999] = -D[5]          # sign-flipped copy
    D[100] = 3.0 * D[7]      # scaled copy
    D[1800] = D[900] + 1e-6 * rng.standard_normal(16)  # nearly one
    min_cosine = 1 - 1e-4
    close = np.abs(1.0 - squareform(pdist(D, "cosine"))) >= min_cosine
    expected = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(close, k=1)))]
    assert expected == [(5, 1999), (7, 100), (900, 1800)]
    pairs, peak = peak_memory(lambda: duplicate_pairs(D, min_cosine))
    assert pairs == expected
    assert peak < 30e6, f"peak {peak / 1e6:.0f} MB"  # the Gram matrix alone is 32 MB
