"""Iterative hard thresholding: analytic cases and sparse recovery."""

import numpy as np
import pytest

from v1model.inference import iht, orthogonal_mp


def test_orthonormal_dictionary_keeps_largest():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((24, 24)))
    X = rng.standard_normal((15, 24))
    B = X @ Q.T
    kth = np.sort(np.abs(B), axis=1)[:, [-5]]
    np.testing.assert_allclose(iht(X, Q, 5, dtype=np.float64), np.where(np.abs(B) >= kth, B, 0),
                               atol=1e-8)
    # penalised form: hard threshold at lam
    np.testing.assert_allclose(iht(X, Q, lam=0.8, dtype=np.float64),
                               np.where(np.abs(B) > 0.8, B, 0), atol=1e-8)


def test_recovers_planted_sparse_codes():
    # compressed-sensing regime where IHT provably recovers the support
    rng = np.random.default_rng(1)
    D = rng.standard_normal((128, 96))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A_true = np.zeros((30, 128))
    for row in A_true:
        row[rng.choice(128, 4, replace=False)] = rng.choice([-1, 1], 4) * rng.uniform(1, 2, 4)
    X = A_true @ D
    A = iht(X, D, 4, tol=1e-8, max_iter=3000, dtype=np.float64)
    np.testing.assert_array_equal(A != 0, A_true != 0)
    np.testing.assert_allclose(A, A_true, atol=1e-5)
    # OMP finds the same codes (independent method)
    np.testing.assert_allclose(orthogonal_mp(X, D, 4, dtype=np.float64), A_true, atol=1e-8)


def test_positive_and_history(natural_patches, patch_dictionary):
    A, hist = iht(natural_patches[:30], patch_dictionary, 6, positive=True,
                  return_history=True)
    assert A.min() >= 0
    assert np.all(np.count_nonzero(A, axis=1) <= 6)
    assert hist["penalty"].values.max() == 0  # sparsity-constrained: data term only
    np.testing.assert_allclose(hist["objective"], hist["data_term"])
    # orthonormal atoms (analytic): keep the 6 largest positive entries of X Q^T
    # (or those above lam), zero elsewhere
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((24, 24)))
    X = rng.standard_normal((15, 24))
    B = np.maximum(X @ Q.T, 0)
    kth = np.sort(B, axis=1)[:, [-6]]
    np.testing.assert_allclose(iht(X, Q, 6, positive=True, dtype=np.float64),
                               np.where((B >= kth) & (B > 0), B, 0), atol=1e-6)
    np.testing.assert_allclose(iht(X, Q, lam=0.8, positive=True, dtype=np.float64),
                               np.where(B > 0.8, B, 0), atol=1e-6)


def test_bad_inputs():
    D = np.eye(4)
    X = np.ones((2, 4))
    with pytest.raises(ValueError, match="exactly one of n_nonzero"):
        iht(X, D)
    with pytest.raises(ValueError, match="exactly one of n_nonzero"):
        iht(X, D, 2, lam=0.1)
    with pytest.raises(ValueError, match="n_nonzero=5 exceeds the number of atoms n_atoms=4"):
        iht(X, D, 5)
    with pytest.raises(ValueError, match="lam must be a non-negative"):
        iht(X, D, lam=-1.0)


def test_iht_penalised_threshold_on_a_scaled_orthonormal_basis():
    # D = s Q: the L0-penalised problem is separable: keep beta_j = (Q x)_j iff |beta_j| > lam,
    # with code beta_j / s (analytic)
    from v1model.inference import iht
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rng.standard_normal((24, 24)))
    s = 2.0
    X = rng.standard_normal((15, 24))
    beta = X @ Q.T
    A = iht(X, s * Q, lam=0.8, dtype=np.float64)
    np.testing.assert_allclose(A, np.where(np.abs(beta) > 0.8, beta / s, 0), atol=1e-8)


def test_iht_lam_fixed_points_versus_the_hard_lca(natural_patches, patch_dictionary):
    # the documented difference (iht Notes): both are fixed points of the L0 energy
    # 0.5 ||x - D^T a||^2 + lam^2/2 ||a||_0, but IHT with step mu = 1/lambda_max keeps atoms
    # out up to |c_j| <= lam / sqrt(mu), the hard-threshold LCA only up to |c_j| <= lam
    from v1model.inference import lca, objective

    X, D, lam = natural_patches[:40], patch_dictionary, 0.5
    mu = 1.0 / (np.linalg.eigvalsh(D @ D.T)[-1] * 1.0001)
    A = iht(X, D, lam=lam, dtype=np.float64, tol=1e-10, max_iter=5000)
    C = (X - A @ D) @ D.T
    on = A != 0
    # fixed point of a <- H(a + mu c) at threshold lam sqrt(mu) (Blumensath & Davies 2008)
    assert np.abs(C[on]).max() <= 1e-6
    assert np.abs(A[on]).min() > lam * np.sqrt(mu)
    assert np.abs(C[~on]).max() <= lam / np.sqrt(mu) * (1 + 1e-9)
    # not coordinate-wise minimal: some left-out atoms would lower the energy on their own
    # (adding atom j alone lowers it by (c_j^2 - lam^2) / 2 for unit atoms)
    assert np.any(np.abs(C[~on]) > lam)
    # the hard LCA's fixed point (an independent solver) lets none of them stay out
    H = lca(X, D, lam, threshold="hard", dtype=np.float64, tol=1e-7, max_steps=50000)
    C_h = (X - H @ D) @ D.T
    assert np.abs(C_h[H == 0]).max() <= lam * (1 + 1e-4)
    # hence sparser codes of higher energy at the same lam (measured: 1.4 vs 4.0 atoms)
    assert np.count_nonzero(A) < 0.6 * np.count_nonzero(H)
    assert objective(X, D, A, lam, "hard").sum() > objective(X, D, H, lam, "hard").sum()


def test_warm_start_with_null_space_codes_reaches_the_fixed_point():
    from v1model.inference._common import objective

    # 6 atoms span R^4: from A0 = 1e3 everywhere every atom stays in, and the fixed point
    # has a zero residual, so an energy of exactly 6 lam^2 / 2. The codes' null-space
    # components never shrink: steps of 1e-4 of the codes used to stop it at 0.375
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((3, 4))
    lam = 0.3
    for scale in (1e2, 1e3):
        A = iht(X, D, lam=lam, A0=np.full((3, 6), scale), dtype=np.float64)
        assert np.all(A != 0)
        energy = objective(X, D, A, lam, "hard")
        np.testing.assert_allclose(energy, 6 * lam**2 / 2, rtol=1e-3)


def test_iht_keeps_all_but_one_atom_when_asked_for_n_atoms_minus_one():
    # the n_nonzero = n_atoms - 1 edge of the top-k selection: on an orthonormal
    # basis the code is the coefficient vector with its smallest entry zeroed
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    X = rng.standard_normal((10, 6))
    B = X @ Q.T
    expected = np.where(np.abs(B) > np.abs(B).min(axis=1, keepdims=True), B, 0)
    A = iht(X, Q, 5, dtype=np.float64)
    np.testing.assert_array_equal(np.count_nonzero(A, axis=1), 5)
    np.testing.assert_allclose(A, expected, atol=1e-8)


def test_iht_zeroes_a_coefficient_exactly_at_the_threshold():
    # documented: "each step zeroes coefficients at or below lam * sqrt(mu)". On the
    # identity the first step from zeros is mu * x; lam = sqrt(mu) puts a unit x exactly
    # on the threshold, so the code stays zero (a strict test would let it grow to 1)
    from v1model.inference._common import STEP_MARGIN

    mu = 1.0 / STEP_MARGIN
    D = np.eye(3)
    X = np.array([[1.0, 0.0, 0.0]])
    assert np.float32(mu) == np.float32(np.sqrt(mu) * np.sqrt(mu))  # exactly at it
    np.testing.assert_array_equal(iht(X, D, lam=np.sqrt(mu)), 0.0)



@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_iht_stopping_rule_is_relative_to_the_codes(scale):
    # tol is relative (max|a_k+1 - a_k| <= tol max|a_k+1|): float32 signals scaled by
    # 1e-6 or 1e6 stop after as many steps as at unit scale (an absolute rule never
    # stops at 1e6, where rounding alone moves the codes by more than tol), on the
    # planted codes of test_recovers_planted_sparse_codes
    rng = np.random.default_rng(1)
    D = rng.standard_normal((128, 96))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A_true = np.zeros((10, 128))
    for row in A_true:
        row[rng.choice(128, 4, replace=False)] = rng.choice([-1, 1], 4) * rng.uniform(1, 2, 4)
    _, n1 = iht(A_true @ D, D, 4, max_iter=500, return_n_iter=True)
    A, n = iht(A_true @ D * scale, D, 4, max_iter=500, return_n_iter=True)
    assert n1 < 500 and abs(n - n1) <= 2
    np.testing.assert_allclose(A / scale, A_true, atol=5e-3)


def test_iht_codes_do_not_depend_on_the_atoms_norms():
    # the step and the threshold acted on the raw coefficients, so long atoms crowded out
    # short ones (here the atoms of norm 1.7 took every place, those of norm 0.3 none;
    # it was warned of); both problems are unchanged by rescaling an atom and its
    # coefficient, and omp's and mp's codes follow the norms: iht's must too
    import warnings

    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 20))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((10, 20))
    c = np.where(np.arange(40) < 20, 1.7, 0.3)
    A_unit = orthogonal_mp(X, D, 4, dtype=np.float64)
    np.testing.assert_allclose(orthogonal_mp(X, D * c[:, None], 4, dtype=np.float64) * c,
                               A_unit, atol=1e-10)  # omp: the same codes, rescaled
    for kw in (dict(n_nonzero=4), dict(lam=0.8)):
        A, hist = iht(X, D, dtype=np.float64, return_history=True, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning of the norms any more
            A_c, hist_c = iht(X, D * c[:, None], dtype=np.float64, return_history=True,
                              **kw)
        np.testing.assert_allclose(A_c * c, A, atol=1e-9)
        assert A_c[:, 20:].any()  # the short atoms enter the codes
        # the same energies (the history's objective), step by step
        np.testing.assert_allclose(hist_c["objective"], hist["objective"], rtol=1e-9)
        # a warm start in the rescaled coordinates gives the rescaled codes
        A0 = A + 0.1 * rng.standard_normal(A.shape)
        np.testing.assert_allclose(iht(X, D * c[:, None], A0=A0 / c, dtype=np.float64, **kw) * c,
                                   iht(X, D, A0=A0, dtype=np.float64, **kw), atol=1e-9)
    from v1model.inference import encode
    np.testing.assert_allclose(encode(X, D * c[:, None], "iht", n_nonzero=4,
                                      dtype=np.float64) * c,
                               iht(X, D, 4, dtype=np.float64), atol=1e-9)


def test_iteration_limit_warning_names_the_rows_left(natural_patches, patch_dictionary):
    # its warning gave a count only (lasso_cd's names the rows); rows 1 and 3 have no
    # signal and stop at once
    from v1model.inference import ConvergenceWarning

    X = natural_patches[:5].copy()
    X[[1, 3]] = 0
    with pytest.warns(ConvergenceWarning, match=r"iht stopped after 2 iterations with 3 of 5 "
                                                r"samples not converged \(rows 0, 2, 4 of X\)"):
        iht(X, patch_dictionary, 10, max_iter=2)
