"""match_atoms: learned atoms paired one to one with a reference basis, up to sign."""

import itertools

import numpy as np
import pytest
import xarray as xr

from v1model.analysis import match_atoms


def test_pairs_maximise_the_summed_abs_cosine_against_brute_force(rng):
    # every one-to-one pairing of 5 reference atoms with 5 of 6 learned ones, tried
    D = rng.standard_normal((6, 16))
    R = rng.standard_normal((5, 16))
    cos = np.abs((R / np.linalg.norm(R, axis=1, keepdims=True))
                 @ (D / np.linalg.norm(D, axis=1, keepdims=True)).T)
    best = max(sum(cos[i, j] for i, j in enumerate(perm))
               for perm in itertools.permutations(range(6), 5))
    ds = match_atoms(D, R)
    np.testing.assert_allclose(ds["abs_cosine"].sum(), best, rtol=1e-12)
    assert len(set(ds["matched_atom"].values.tolist())) == 5
    np.testing.assert_allclose(ds["nearest_abs_cosine"], cos.max(axis=1), rtol=1e-12)
    assert np.all(ds["nearest_abs_cosine"] >= ds["abs_cosine"])
    assert ds.attrs["n_atoms"] == 6 and ds.attrs["n_reference"] == 5
    assert ds["abs_cosine"].attrs["units"] == "1"


def test_fewer_learned_atoms_leave_reference_atoms_unpaired(rng):
    ds = match_atoms(rng.standard_normal((3, 16)), rng.standard_normal((5, 16)))
    unpaired = ds["matched_atom"].values == -1
    assert unpaired.sum() == 2
    assert np.all(np.isnan(ds["abs_cosine"].values[unpaired]))
    assert np.all(ds["sign"].values[unpaired] == 0)
    assert np.isfinite(ds.attrs["median_abs_cosine"])


def test_sparsenet_basis_is_found_again_permuted_and_sign_flipped(shared_data, rng):
    """Olshausen's A144, shuffled, with every other atom negated and scaled, and
    transposed as a DataArray (atom, x, y): each atom is paired with its own copy at
    |cos| 1, with the sign that was flipped."""
    from studies._learned import load_a144

    A = load_a144(shared_data("olshausen", "A144.mat"))
    perm = rng.permutation(len(A))
    signs = np.where(np.arange(len(A)) % 2, -1.0, 1.0)
    learned = A[perm] * (signs * 3.0)[:, None, None]
    da = xr.DataArray(learned, dims=("atom", "y", "x")).transpose("atom", "x", "y")
    ds = match_atoms(da, A)
    expected = np.empty(len(A), dtype=int)
    expected[perm] = np.arange(len(A))  # reference atom perm[i] is learned atom i
    np.testing.assert_array_equal(ds["matched_atom"], expected)
    np.testing.assert_allclose(ds["abs_cosine"], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(ds["sign"], signs[expected])
    # random atoms are far from it: the scale the learned bases are read against
    noise = match_atoms(rng.standard_normal((144, 144)), A)
    assert 0.15 < noise.attrs["median_abs_cosine"] < 0.3


@pytest.mark.parametrize("atoms, reference, match", [
    (np.ones((4, 16)), np.ones((4, 25)), r"atoms of \(4, 4\).*reference atoms of \(5, 5\)"),
    (np.full((4, 16), np.nan), np.ones((4, 16)), "atoms"),
    (np.ones((4, 16)), np.zeros((4, 16)), "reference"),
])
def test_bad_inputs_are_named(atoms, reference, match):
    with pytest.raises(ValueError, match=match):
        match_atoms(atoms, reference)


def test_labelled_atoms_are_paired_by_label(rng):
    """A selection of labelled atoms (D.isel(atom=[...]), e.g. the reliable ones) is
    paired by its labels, so fit_gabor's results line up; the reference's labels become
    reference_atom. Positional indices (0, 1, 2) were returned before, pairing reference
    atom 0 with ``fit.sel(atom=1)`` where its copy is atom 4."""
    R = rng.standard_normal((12, 16))
    labels = [11, 4, 9]
    learned = xr.DataArray(R[labels] * -2.0, dims=("atom", "feature"),
                           coords={"atom": labels})
    reference = xr.DataArray(R, dims=("atom", "feature"), coords={"atom": np.arange(12) + 100})
    ds = match_atoms(learned, reference)
    np.testing.assert_array_equal(ds["reference_atom"], np.arange(12) + 100)
    paired = ds["sign"].values != 0
    np.testing.assert_array_equal(paired, np.isin(np.arange(12), labels))
    # every reference atom that has a copy is paired with the copy's own label
    np.testing.assert_array_equal(ds["matched_atom"].values[paired], [4, 9, 11])
    np.testing.assert_array_equal(ds["matched_atom"].values[~paired], -1)
    np.testing.assert_allclose(ds["abs_cosine"].values[paired], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(
        learned.sel(atom=ds["matched_atom"].values[paired]) * ds["sign"].values[paired, None],
        R[paired] * 2.0)


def test_text_labels_leave_unpaired_atoms_empty(rng):
    learned = xr.DataArray(rng.standard_normal((2, 16)), dims=("atom", "feature"),
                           coords={"atom": ["a", "b"]})
    ds = match_atoms(learned, rng.standard_normal((3, 16)))
    values = ds["matched_atom"].values
    assert sorted(values[ds["sign"].values != 0].tolist()) == ["a", "b"]
    assert values[ds["sign"].values == 0].tolist() == [""]
