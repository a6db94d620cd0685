"""Mutual coherence and the Babel function against brute-force enumeration."""

from itertools import combinations

import numpy as np
import pytest

from v1model.analysis import babel, coactive_babel, mutual_coherence


def _brute_babel(D, r):
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(D @ D.T)
    k = len(D)
    best = 0.0
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for S in combinations(others, r):
            best = max(best, G[list(S), j].sum())
    return best


def test_orthonormal_basis_has_zero_coherence_and_babel():
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((12, 12)))
    assert mutual_coherence(Q) == pytest.approx(0.0, abs=1e-12)
    b = babel(Q)
    np.testing.assert_allclose(b.babel.values, 0.0, atol=1e-12)
    np.testing.assert_allclose(b.erc.values, 1.0, atol=1e-12)  # every code recoverable
    assert b.sizes["r"] == 11


def test_duplicated_atom_gives_babel_at_least_one():
    D = np.random.default_rng(1).standard_normal((10, 20))
    D = np.vstack([D, -3.0 * D[4]])  # the same direction, scaled and flipped
    assert mutual_coherence(D) == pytest.approx(1.0)
    b = babel(D)
    assert np.all(b.babel.values >= 1.0 - 1e-12)
    assert b.erc.values[0] <= 1e-12 and b.erc.values[1] < 0


def test_babel_matches_enumeration_of_subsets():
    D = np.random.default_rng(2).standard_normal((7, 5))
    b = babel(D)
    for r in range(1, 7):
        assert b.babel.sel(r=r).item() == pytest.approx(_brute_babel(D, r), rel=1e-12)
    assert b.attrs["mutual_coherence"] == pytest.approx(mutual_coherence(D))
    assert babel(D, r_max=3).sizes["r"] == 3


def test_coactive_babel_matches_direct_computation():
    rng = np.random.default_rng(3)
    D = rng.standard_normal((6, 4))
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(Dn @ Dn.T)
    codes = np.array([[0.0, 1.0, 0.0, -2.0, 0.0, 0.0],
                      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                      [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                      [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]])
    ds = coactive_babel(codes, D)
    S = [1, 3]
    expected = max(G[S, j].sum() for j in range(6) if j not in S)
    assert ds.coactive_babel.values[0] == pytest.approx(expected)
    assert ds.coactive_coherence.values[0] == pytest.approx(G[1, 3])
    assert ds.coactive_babel.values[1] == 0.0  # empty support
    assert np.isnan(ds.coactive_babel.values[2])  # every atom active: no j outside S
    assert ds.coactive_babel.values[3] == pytest.approx(np.delete(G[2], 2).max())
    np.testing.assert_array_equal(ds.support_size.values, [2, 0, 6, 1])
    # never above the worst case over all subsets of the same size
    ok = np.isfinite(ds.coactive_babel.values)
    assert np.all(ds.coactive_babel.values[ok] <= ds.worst_case.values[ok] + 1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: babel(np.vstack([np.ones(3), np.zeros(3)])), "1 atom\\(s\\) \\(rows\\) with zero"),
        (lambda: babel(np.ones((1, 3))), "at least 2 atoms"),
        (lambda: babel(np.eye(4), r_max=4), "r_max must be <= 3"),
        (lambda: coactive_babel(np.ones((2, 3)), np.eye(4)), "codes have 3 units"),
        (lambda: mutual_coherence([[1.0, np.nan], [0.0, 1.0]]), "non-finite"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_coactive_babel_says_when_D_looks_transposed():
    """D given as (n_features, n_atoms) = (144, 512) with codes over 512 atoms said only
    "codes have 512 units but D has 144 atoms"; the other analysis functions say "looks
    transposed ... pass D.T" when the shapes say so, and so does coactive_babel now."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((512, 144))
    codes = rng.standard_normal((3, 512))
    with pytest.raises(ValueError, match=r"codes have 512 units \(shape \(3, 512\)\) but D has "
                       r"144 atoms \(D shape \(144, 512\)\): D looks transposed \(n_features, "
                       r"n_atoms\); atoms are rows here, pass D\.T"):
        coactive_babel(codes, D.T)
    with pytest.raises(ValueError, match=r"D has 4 atoms \(D shape \(4, 4\)\)$"):  # no hint
        coactive_babel(np.ones((2, 3)), np.eye(4))
    assert coactive_babel(codes[:, :144], D.T).sizes["sample"] == 3  # D.T as D: accepted


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_coherence_and_babel_do_not_depend_on_the_scale(factor):
    """Cosines are scale-invariant: D * 1e200 gave a coherence of 0.0 (the atom norms
    overflowed to inf). Checked against enumeration on the unscaled atoms."""
    D = np.random.default_rng(5).standard_normal((6, 8))
    D[2] *= 1e-3  # atoms of different norms, too
    assert mutual_coherence(D * factor) == pytest.approx(_brute_babel(D, 1), rel=1e-12)
    b = babel(D * factor)
    for r in range(1, 6):
        assert b.babel.sel(r=r).item() == pytest.approx(_brute_babel(D, r), rel=1e-12)


def test_babel_and_erc_by_hand():
    """D = e1, e2, (e1+e2)/sqrt2: |G| off-diagonal 0, s, s (s = 1/sqrt2).
    mu_1(1) = s, mu_1(2) = 2s; erc(r) = 1 - mu_1(r-1) - mu_1(r) with mu_1(0) = 0."""
    from v1model.analysis import babel

    s = 1 / np.sqrt(2)
    ds = babel(np.array([[1.0, 0.0], [0.0, 1.0], [s, s]]))
    np.testing.assert_allclose(ds.babel.values, [s, 2 * s], rtol=1e-12)
    np.testing.assert_allclose(ds.erc.values, [1 - s, 1 - s - 2 * s], rtol=1e-12)
    assert ds.attrs["mutual_coherence"] == pytest.approx(s, rel=1e-12)


def test_coactive_babel_by_hand():
    """d0 = e1, d1 = e2, d2 = (e1 + e2)/sqrt2, d3 = e3: |G| is s = 1/sqrt2 for the pairs
    (0, 2) and (1, 2), 0 elsewhere; Babel curve mu_1 = (s, 2s, 2s)."""
    from v1model.analysis import coactive_babel

    s = 1 / np.sqrt(2)
    D = np.array([[1.0, 0, 0], [0, 1.0, 0], [s, s, 0], [0, 0, 1.0]])
    codes = np.array([
        [0.5, 0, 0, 0],      # S = {0}: outside max = |G02| = s; worst mu_1(1) = s
        [1.0, -2.0, 0, 0],   # S = {0, 1}: atom 2 gets s + s; inside max |G01| = 0
        [1.0, 1.0, 1.0, 0],  # S = {0, 1, 2}: only atom 3 outside -> 0; inside max = s
        [0, 0, 0, 0],        # empty support: 0, 0, 0
        [1.0, 1.0, 1.0, 1.0],  # every atom: NaN (no atom outside)
    ])
    ds = coactive_babel(codes, D)
    np.testing.assert_array_equal(ds.support_size.values, [1, 2, 3, 0, 4])
    np.testing.assert_allclose(ds.coactive_babel.values, [s, 2 * s, 0.0, 0.0, np.nan], atol=1e-12)
    np.testing.assert_allclose(ds.worst_case.values, [s, 2 * s, 2 * s, 0.0, np.nan], atol=1e-12)
    np.testing.assert_allclose(ds.coactive_coherence.values, [0.0, 0.0, s, 0.0, s], atol=1e-12)


def test_coactive_babel_of_many_codes_in_blocks(tmp_path, peak_memory):
    """A float32 memmap of codes (more rows than one block) is read in blocks:
    the direct per-sample values, and no float64 temporaries of all the codes
    (before: 8x the codes)."""
    rng = np.random.default_rng(3)
    D = rng.standard_normal((32, 16))
    n = 40_000  # ten blocks of 4,096 rows
    codes = np.memmap(tmp_path / "codes.f32", dtype=np.float32, mode="w+", shape=(n, 32))
    codes[:] = rng.standard_normal((n, 32)) * (rng.random((n, 32)) < 0.15)
    codes[7] = 0.0
    ds, peak = peak_memory(lambda: coactive_babel(codes, D, tol=0.1))
    assert peak < 2 * codes.nbytes, f"peaked at {peak / codes.nbytes:.1f}x the codes"
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(Dn @ Dn.T)
    for i in [0, 7, 4095, 4096, 30_000, n - 1]:
        S = np.flatnonzero(np.abs(codes[i].astype(np.float64)) > 0.1)
        outside = np.setdiff1d(np.arange(32), S)
        assert ds.support_size.values[i] == S.size
        want = 0.0 if S.size == 0 else G[np.ix_(S, outside)].sum(axis=0).max()
        assert ds.coactive_babel.values[i] == pytest.approx(want, rel=1e-12)
        inside = G[np.ix_(S, S)] - np.eye(S.size)
        assert ds.coactive_coherence.values[i] == pytest.approx(
            inside.max() if S.size > 1 else 0.0, rel=1e-12)


def test_coactive_babel_has_a_progress_bar(capsys):
    """A million codes of 512 atoms take minutes (a Python loop over the codes), with
    no bar: coactive_babel takes ``progress`` as the other analysis functions do, and
    its values do not depend on it."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 4))
    codes = rng.standard_normal((5000, 6)) * (rng.random((5000, 6)) < 0.4)
    ds = coactive_babel(codes, D, progress=True)
    err = capsys.readouterr().err
    assert "co-active Babel" in err and "/5000" in err, err[-500:]
    quiet = coactive_babel(codes, D, progress=False)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(ds.coactive_babel.values, quiet.coactive_babel.values)
    with pytest.raises(TypeError, match="progress must be True, False or None .*got 'yes'"):
        coactive_babel(codes, D, progress="yes")


def test_coactive_coherence_matches_every_pair_of_each_support():
    """coactive_coherence is the largest |cosine| over each support's pairs, for
    supports of every size (0, 1, all atoms and many between)."""
    rng = np.random.default_rng(11)
    D = rng.standard_normal((12, 5))
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(Dn @ Dn.T)
    codes = rng.standard_normal((60, 12)) * (rng.random((60, 12)) < rng.random((60, 1)))
    codes[0], codes[1], codes[2] = 0.0, np.eye(12)[4], 1.0  # sizes 0, 1 and 12
    ds = coactive_babel(codes, D)
    expected = [max((G[i, j] for i in np.flatnonzero(c) for j in np.flatnonzero(c) if i != j),
                    default=0.0) for c in codes]
    np.testing.assert_allclose(ds.coactive_coherence.values, expected, rtol=1e-12)
    assert len(set(np.count_nonzero(codes, axis=1))) >= 8  # many support sizes


def test_coactive_babel_records_the_units_of_tol():
    # tol is a threshold on |a|, in the units of the codes; the attrs said only 0.1
    ds = coactive_babel(np.eye(3), np.eye(3), tol=0.1)
    assert ds.attrs["tol"] == 0.1
    assert ds.attrs["tol_units"] == "units of codes"


def test_a_dataarray_dictionary_and_codes_are_read_by_dim_name():
    # D (feature, atom) was read by position: the coherence of its columns, unsaid
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = rng.standard_normal((30, 12)) * (rng.random((30, 12)) < 0.3)
    Dd = xr.DataArray(D, dims=("atom", "feature")).transpose("feature", "atom")
    assert mutual_coherence(Dd) == mutual_coherence(D)
    np.testing.assert_array_equal(babel(Dd)["babel"], babel(D)["babel"])
    Ad = xr.DataArray(A[:12], dims=("sample", "atom")).transpose("atom", "sample")
    np.testing.assert_array_equal(coactive_babel(Ad, Dd)["coactive_babel"],
                                  coactive_babel(A[:12], D)["coactive_babel"])


def test_codes_over_time_are_read_by_dim_name():
    # rates over time (atom, time) were refused ("expected ('sample', 'atom')")
    import xarray as xr

    rng = np.random.default_rng(3)
    D = rng.standard_normal((6, 4))
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    G = np.abs(Dn @ Dn.T)
    codes = np.array([[0.0, 1.0, 0.0, -2.0, 0.0, 0.0],
                      [0.0, 0.0, 0.5, 0.0, 0.0, 0.0]])  # (time, atom)
    ds = coactive_babel(xr.DataArray(codes.T, dims=("atom", "time")), D)
    S = [1, 3]
    assert ds.coactive_babel.values[0] == pytest.approx(
        max(G[S, j].sum() for j in range(6) if j not in S), rel=1e-12)
    assert ds.coactive_babel.values[1] == pytest.approx(np.delete(G[2], 2).max(), rel=1e-12)
    # per time bin, on the input's time coordinate (it came back over "sample")
    t = xr.DataArray([0.1, 0.2], dims="time", attrs={"units": "s"})
    timed = coactive_babel(xr.DataArray(codes, dims=("time", "atom"), coords={"time": t}), D)
    assert timed["support_size"].dims == ("time",) and "sample" not in timed.dims
    np.testing.assert_array_equal(timed["time"].values, [0.1, 0.2])
    assert timed["time"].attrs["units"] == "s"
    np.testing.assert_array_equal(timed["support_size"].values, [2, 1])


def test_coactive_babel_of_sparse_codes_does_work_in_their_supports_only(monkeypatch):
    # codes of a TopK or MP autoencoder (k of 4,096 latents) took 5 ms each: the 0/1
    # support mask (rows x atoms) was multiplied densely with the Gram matrix (n k^2
    # flops) and a Python loop gathered each sample's submatrix (0.15 ms a sample)
    import v1model.analysis.coherence as coherence

    products, gathers = [], []

    class Spy(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            if ufunc is np.matmul:
                products.append([np.shape(x) for x in inputs])
            plain = [x.view(np.ndarray) if isinstance(x, Spy) else x for x in inputs]
            return getattr(ufunc, method)(*plain, **kwargs)

        def __getitem__(self, key):
            gathers.append(key)
            return np.asarray(self.view(np.ndarray)[key])

    gram_abs = coherence.gram_abs
    monkeypatch.setattr(coherence, "gram_abs", lambda D: gram_abs(D).view(Spy))
    rng = np.random.default_rng(0)
    D = rng.standard_normal((256, 32))
    codes = np.zeros((500, 256))
    support = np.argsort(rng.random((500, 256)), axis=1)[:, :4]
    np.put_along_axis(codes, support, rng.uniform(1, 2, (500, 4)), axis=1)
    codes[0], codes[1] = 0.0, np.eye(256)[3]  # sizes 0 and 1 (no pair, coherence 0)
    codes[2, :40] = 1.0  # one wider support
    ds = coactive_babel(codes, D)
    assert products == [] and len(gathers) <= 4  # no dense mask product, no loop per code
    G = gram_abs(D)
    for n in range(20):
        S = np.flatnonzero(codes[n])
        outside = np.delete(np.arange(256), S)
        expected = G[np.ix_(S, outside)].sum(axis=0).max() if S.size else 0.0
        assert ds.coactive_babel.values[n] == pytest.approx(expected, rel=1e-12)
        assert ds.coactive_coherence.values[n] == (G[np.ix_(S, S)].max() if S.size > 1 else 0)
