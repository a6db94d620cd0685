"""K-SVD and approximate K-SVD."""

import numpy as np
import pytest
import scipy.linalg

from v1model.learning.ksvd import ksvd_sweep, learn_ksvd


def test_exact_sweep_is_best_rank_one_fit(rng):
    # one atom used by every sample: the update is the truncated SVD of X, whose
    # error is ||X||^2 - sigma_1^2 (Eckart-Young; SciPy's singular values as reference)
    X = rng.standard_normal((40, 7))
    D = rng.standard_normal((1, 7))
    D /= np.linalg.norm(D)
    A = rng.standard_normal((40, 1))
    D2, A2 = ksvd_sweep(X, A, D)
    sigma = scipy.linalg.svdvals(X)
    err = np.sum((X - A2 @ D2) ** 2)
    assert err == pytest.approx(np.sum(X**2) - sigma[0] ** 2, rel=1e-10)
    assert np.linalg.norm(D2) == pytest.approx(1.0)
    assert D2[0] @ D[0] >= 0  # polarity kept


def test_sweeps_lower_the_error_and_keep_the_support(rng):
    X = rng.standard_normal((60, 10))
    D = rng.standard_normal((15, 10))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = rng.standard_normal((60, 15)) * (rng.random((60, 15)) < 0.2)
    before = np.sum((X - A @ D) ** 2)
    for approximate in (False, True):
        D2, A2 = ksvd_sweep(X, A, D, approximate=approximate)
        assert np.sum((X - A2 @ D2) ** 2) < before
        assert np.all((A2 != 0) <= (A != 0))  # sparsity pattern can only shrink
        np.testing.assert_allclose(np.linalg.norm(D2, axis=1), 1.0)


def test_approximate_sweep_exact_on_rank_one_data(rng):
    d = rng.standard_normal(8)
    d /= np.linalg.norm(d)
    g = rng.standard_normal(30)
    X = np.outer(g, d)
    D = (d + 0.3 * rng.standard_normal(8))[None]
    D /= np.linalg.norm(D)
    D2, A2 = ksvd_sweep(X, g[:, None] * 0.5, D, approximate=True)
    np.testing.assert_allclose(np.abs(D2[0] @ d), 1.0, atol=1e-12)
    np.testing.assert_allclose(A2 @ D2, X, atol=1e-12)


def test_sweeps_follow_aharon_2006_and_rubinstein_2008(rng):
    # the atom updates transcribed in the papers' column convention (signals and atoms
    # as columns, Y = D Gamma), one atom after the other on the updated residual:
    # K-SVD: E_k restricted to the samples using atom k, d_k = u_1, gamma_k = s_1 v_1;
    # approximate K-SVD: d = E_k gamma_k / ||E_k gamma_k||, gamma_k = d^T E_k
    Y = rng.standard_normal((10, 50))
    D0 = rng.standard_normal((10, 14))
    D0 /= np.linalg.norm(D0, axis=0)
    G0 = rng.standard_normal((14, 50)) * (rng.random((14, 50)) < 0.25)
    for approximate in (False, True):
        D, G = D0.copy(), G0.copy()
        for k in range(D.shape[1]):
            w = np.flatnonzero(G[k])
            E = (Y - D @ G + np.outer(D[:, k], G[k]))[:, w]
            if approximate:
                d = E @ G[k, w]
                d /= np.linalg.norm(d)
                D[:, k], G[k, w] = d, d @ E
            else:
                U, s, Vt = scipy.linalg.svd(E, full_matrices=False)
                sign = 1.0 if U[:, 0] @ D[:, k] >= 0 else -1.0  # the SVD's sign is free
                D[:, k], G[k, w] = sign * U[:, 0], sign * s[0] * Vt[0]
        D2, A2 = ksvd_sweep(Y.T, G0.T, D0.T, approximate=approximate)
        np.testing.assert_allclose(D2, D.T, atol=1e-10)
        np.testing.assert_allclose(A2, G.T, atol=1e-10)


def test_soft_code_update_is_the_l1_block_minimiser(rng):
    # for a unit atom d, argmin_g 0.5||E - g d^T||^2 + lam||g||_1 = soft(E d, lam)
    X = rng.standard_normal((30, 6))
    D = np.eye(6)[:1]
    A = np.ones((30, 1))
    lam = 0.4
    D2, A2 = ksvd_sweep(X, A, D, approximate=True, penalty="soft", lam=lam)
    proj = X @ D2[0]
    np.testing.assert_allclose(A2[:, 0], np.sign(proj) * np.maximum(np.abs(proj) - lam, 0))
    # non-negative: argmin_{g >= 0} 0.5||E - g d^T||^2 + lam sum(g) = max(E d - lam, 0)
    D3, A3 = ksvd_sweep(X, A, D, approximate=True, penalty="soft", lam=lam, positive=True)
    proj = X @ D3[0]
    np.testing.assert_allclose(A3[:, 0], np.maximum(proj - lam, 0), atol=1e-12)
    assert np.count_nonzero(A3) > 0 and np.any(proj < -lam)  # both branches exercised


@pytest.mark.parametrize("approximate", [False, True])
def test_ksvd_recovers_planted_dictionary_l1_codes(planted, recovery_score, approximate):
    X, D_true, _ = planted
    D, h = learn_ksvd(X, 24, method="fista", lam=0.3, approximate=approximate, n_updates=60,
                      seed=0, progress=False)
    assert recovery_score(D, D_true) >= 0.9
    assert h.attrs["learner"] == ("ksvd-approx" if approximate else "ksvd")
    assert h["objective"].values[-1] < 0.8 * h["objective"].values[0]


def test_ksvd_recovers_planted_dictionary_omp_codes(planted, recovery_score):
    # classic K-SVD: OMP with the true number of atoms per sample. From data
    # samples it typically leaves 1-3 of 24 atoms in a local minimum (a
    # mixture of two true atoms), as in Aharon et al.'s experiments
    X, D_true, _ = planted
    D, h = learn_ksvd(X, 24, n_nonzero=3, n_updates=60, seed=0, progress=False)
    assert recovery_score(D, D_true) >= 0.9
    assert h.attrs["method"] == "omp" and h["objective"].values[-1] < 0.3 * h["objective"][0]


@pytest.mark.parametrize("approximate", [False, True])
def test_ksvd_omp_converges_from_a_perturbed_dictionary(planted, recovery_score, approximate):
    # inside the basin (initial |cosine| ~0.9) both variants converge to the truth
    X, D_true, _ = planted
    noise = np.random.default_rng(100).standard_normal(D_true.shape) / 8
    D0 = D_true + noise
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    assert recovery_score(D0, D_true, threshold=0.95) < 0.5
    D, _ = learn_ksvd(X, 24, n_nonzero=3, approximate=approximate, init=D0, n_updates=20,
                      seed=0, progress=False)
    assert recovery_score(D, D_true, threshold=0.99) == 1.0


def test_planted_dictionary_is_a_fixed_point(planted, recovery_score):
    # started at the truth, K-SVD with L1 codes stays there (the soft code update)
    X, D_true, _ = planted
    D, _ = learn_ksvd(X, 24, method="fista", lam=0.5, init=D_true, n_updates=10, seed=0,
                      progress=False)
    assert np.abs(D_true @ D.T).max(axis=1).min() > 0.99


def test_ksvd_bad_arguments(planted):
    X, _, _ = planted
    with pytest.raises(TypeError, match="approximate must be a bool"):
        learn_ksvd(X, 8, method="fista", lam=0.1, approximate="yes", progress=False)
    with pytest.raises(ValueError, match="needs n_nonzero"):
        learn_ksvd(X, 8, progress=False)
    with pytest.raises(ValueError, match="n_atoms must be >= 1"):
        learn_ksvd(X, 0, method="fista", lam=0.1, progress=False)


def test_ksvd_lam_with_its_default_omp_is_named(planted):
    # learn_ksvd codes with OMP by default: a lam given alone was refused as "needs
    # n_nonzero ... got neither", naming nothing of the lam that was given
    X, _, _ = planted
    with pytest.raises(ValueError, match=r"method='omp' does not use lam \(got lam=0\.1\): "
                       r"give n_nonzero or a tol in method_params, or an L1 method \(e\.g\. "
                       r"method='fista'\)"):
        learn_ksvd(X, 8, lam=0.1, progress=False)


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"D": np.ones((3, 5))}, ValueError, "X has 6 features per sample .* D has 5 features"),
        ({"A": np.ones((10, 4))}, ValueError, r"A must have shape \(10, 3\), got \(10, 4\)"),
        ({"X": np.full((10, 6), np.inf)}, ValueError, "X contains 60 non-finite"),
        ({"penalty": "l1"}, ValueError, "penalty must be one of None, 'soft', 'hard'"),
        ({"penalty": "soft"}, ValueError, "penalty='soft' needs lam"),
        ({"penalty": "soft", "lam": -1.0}, ValueError, "lam must be a non-negative"),
        ({"approximate": "yes"}, TypeError, "approximate must be"),
    ],
)
def test_ksvd_sweep_bad_input(rng, change, error, match):
    args = {"X": rng.standard_normal((10, 6)), "A": rng.standard_normal((10, 3)),
            "D": rng.standard_normal((3, 6))}
    args.update(change)
    with pytest.raises(error, match=match):
        ksvd_sweep(**args)


def test_ksvd_hard_code_update_is_the_l0_block_minimiser():
    from v1model.learning.ksvd import ksvd_sweep
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 6))
    D = np.eye(6)[:1]
    D2, A2 = ksvd_sweep(X, np.ones((30, 1)), D, approximate=True, penalty="hard", lam=0.6)
    p = X @ D2[0]
    assert np.any((np.abs(p) > 0.3) & (np.abs(p) <= 0.6))
    np.testing.assert_allclose(A2[:, 0], np.where(np.abs(p) > 0.6, p, 0), atol=1e-12)


def test_approximate_sweep_updates_atoms_at_any_scale():
    """The sweep on (c X, c A) gives the atoms of (X, A): an absolute 1e-12 on ||E^T g||
    (which scales as c^2) left all 16 atoms unchanged at c = 1e-8, without a word."""
    from v1model.inference import encode

    rng = np.random.default_rng(1)
    D_true = rng.standard_normal((16, 16))
    D_true /= np.linalg.norm(D_true, axis=1, keepdims=True)
    X = (rng.laplace(size=(1000, 16)) * (rng.random((1000, 16)) < 0.2)) @ D_true \
        + 0.01 * rng.standard_normal((1000, 16))
    D0 = D_true + 0.3 * rng.standard_normal((16, 16))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    A0 = encode(X, D0, "omp", n_nonzero=4, dtype=np.float64)
    D1, A1 = ksvd_sweep(X, A0, D0, approximate=True)
    assert not np.any(np.all(D1 == D0, axis=1))  # every atom moved
    for c in (1e-8, 1e-100):
        Dc, Ac = ksvd_sweep(c * X, c * A0, D0, approximate=True)
        np.testing.assert_allclose(Dc, D1, atol=1e-10)
        np.testing.assert_allclose(Ac / c, A1, rtol=1e-9, atol=1e-12)


def test_lca_nonneg_threshold_learns_as_positive():
    """LCA's "nonneg" threshold and positive=True give the same non-negative codes, so
    K-SVD must learn the same dictionary from both: the atom sweep clipped the codes
    at zero only for positive=True, and left negative codes (5 of 1381 at the first
    sweep here) under the "nonneg" threshold, off the objective the codes minimise."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 16))
    kw = dict(method="lca", lam=0.3, n_updates=3, seed=0,
              progress=False, dtype=np.float64)
    D_pos, h_pos = learn_ksvd(X, 12, positive=True, **kw)
    D_thr, h_thr = learn_ksvd(X, 12, method_params={"threshold": "nonneg"}, **kw)
    np.testing.assert_array_equal(D_thr, D_pos)
    np.testing.assert_array_equal(h_thr["objective"].values, h_pos["objective"].values)


def test_approximate_sweep_updates_an_atom_nearly_orthogonal_to_its_codes():
    # one alternating step (Rubinstein et al. 2008), analytic: with D = [e1] and unit codes
    # the residual without the atom is E = X; d = E^T g / ||E^T g|| = e2, g = E d. E^T g is
    # small beside E (0.02 against 1) but not zero: the atom is updated, not kept
    X = np.array([[1.0, 0.01], [-1.0, 0.01]])
    D, A = ksvd_sweep(X, np.ones((2, 1)), np.array([[1.0, 0.0]]), approximate=True)
    np.testing.assert_allclose(D, [[0.0, 1.0]], atol=1e-12)
    np.testing.assert_allclose(A, [[0.01], [0.01]], atol=1e-12)


def test_ksvd_sweep_reads_dataarrays_by_dim_name():
    # X, codes and D of 12 x 12 transposed DataArrays were read by position
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = rng.standard_normal((12, 12)) * (rng.random((12, 12)) < 0.3)
    X = A @ D + 0.01 * rng.standard_normal((12, 12))

    def flip(a, dims):
        return xr.DataArray(a, dims=dims).transpose(*dims[::-1])

    got = ksvd_sweep(flip(X, ("sample", "feature")), flip(A, ("sample", "atom")),
                     flip(D, ("atom", "feature")))
    for g, r in zip(got, ksvd_sweep(X, A, D)):
        np.testing.assert_array_equal(g, r)


def aharon_problem(seed, snr_db=None, n_samples=1500, n_features=20, n_atoms=50, k=3):
    """The planted setup of Aharon et al. (2006, Sec. V-A): atoms with uniform random
    entries, unit norm; each sample 3 atoms at random places (Gaussian coefficients here),
    white noise at ``snr_db``."""
    rng = np.random.default_rng(seed)
    D = rng.uniform(-1.0, 1.0, (n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        A[i, rng.choice(n_atoms, k, replace=False)] = rng.standard_normal(k)
    X = A @ D
    if snr_db is not None:
        X += np.sqrt(np.mean(X**2) / 10 ** (snr_db / 10)) * rng.standard_normal(X.shape)
    return X, D


@pytest.mark.slow
def test_ksvd_on_aharon_s_setup_does_not_cycle_a_reseeded_atom(recovery_score):
    # ~2 min. Re-seeded from a residual at |cos| 0.984 to a kept atom (under duplicate_tol
    # 0.99), one atom drifted back onto that atom in each sweep and was re-seeded from the
    # same sample again: 51-72 re-seeds in 80 updates in 5 of these 8 runs, mean recovery
    # 0.92 (0.88-0.98); with re-seeding residuals kept under |cos| 0.9 of the kept atoms
    # 0-24 re-seeds and mean 0.943 (0.88-1.00), 2026-12-07
    scores, reseeded = [], []
    for seed in range(4):
        for snr_db in (None, 20):
            X, D_true = aharon_problem(seed, snr_db)
            D, h = learn_ksvd(X, 50, n_nonzero=3, n_updates=80, seed=seed + 100,
                              progress=False)
            scores.append(recovery_score(D, D_true, threshold=0.99))
            reseeded.append(int(h["n_reseeded"].sum()))
    assert max(reseeded) < 30, reseeded
    assert np.mean(scores) >= 0.93, scores
