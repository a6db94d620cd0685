"""Coherence of a dictionary: mutual coherence and the Babel function.

For unit-norm atoms with Gram matrix ``G = D D^T``:

- mutual coherence ``mu = max_{i != j} |G_ij|``;
- Babel function (Tropp 2004)
  ``mu_1(r) = max_j max_{|S| = r, j not in S} sum_{i in S} |G_ij|``, the
  largest total similarity of any atom to r others. Found without
  enumerating subsets: the best S for a given j is the r largest entries of
  column j of ``|G|`` with the diagonal removed, so sorting each column once
  gives ``mu_1(r)`` for every r (O(k^2 log k));
- the Babel value of the atoms a code actually uses together: for an input
  with support S (its active units), ``max_{j not in S} sum_{i in S} |G_ij|``
  (the definition used to evaluate matching-pursuit sparse autoencoders),
  one matrix product for all inputs. Tropp's exact-recovery condition
  ``mu_1(r - 1) + mu_1(r) < 1`` says when greedy and L1 pursuits recover
  every r-sparse code.

Atoms are normalised to unit norm before any of this. Atoms given as images,
``(n_atoms, height, width)`` (a network's ``ds["dictionary"]`` (atom, y, x), read by
dim name), are flattened row-major first, as the solvers flatten them
(:func:`~v1model.validation.flatten_image_atoms`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..progress import check_progress, progress_bar
from ..validation import (check_array, check_dictionary, check_int, check_nonnegative,
                          code_dims, code_rows_coord, flatten_image_atoms)

__all__ = ["mutual_coherence", "babel", "coactive_babel", "gram_abs"]


def gram_abs(D) -> np.ndarray:
    """``|D D^T|`` of the unit-normalised dictionary with a zero diagonal.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row (normalised here; no all-zero atom), or
        atoms as images, flattened row-major.

    Returns
    -------
    ndarray, shape (n_atoms, n_atoms)
        Absolute cosines between distinct atoms; zeros on the diagonal.

    Raises
    ------
    ValueError
        For an invalid dictionary (not 2-D nor atoms as images, non-finite or
        an all-zero atom).
    """
    # atoms as images, which the solvers take, were refused as "D must have 2 dimension(s)"
    _, D = flatten_image_atoms(None, D)
    D = check_dictionary(D, "D", normalized=True)
    G = np.abs(D @ D.T)
    np.fill_diagonal(G, 0.0)
    return G


def mutual_coherence(D) -> float:
    """Largest absolute cosine between two distinct atoms, in [0, 1].

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row (normalised here), or atoms as images,
        flattened row-major.

    Returns
    -------
    float
        The mutual coherence ``max_{i != j} |<d_i, d_j>|``.

    Raises
    ------
    ValueError
        For an invalid dictionary or fewer than 2 atoms.

    Examples
    --------
    >>> mutual_coherence([[1, 0], [0, 1], [1, 1]])
    0.7071067811865475
    """
    G = gram_abs(D)
    if G.shape[0] < 2:
        raise ValueError("D needs at least 2 atoms for a mutual coherence")
    return float(G.max())


def babel(D, r_max: int | None = None) -> xr.Dataset:
    """Babel function ``mu_1(r)`` for r = 1 .. r_max.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row (normalised here), or atoms as images,
        flattened row-major.
    r_max : int, optional
        Largest subset size; default and maximum ``n_atoms - 1``.

    Returns
    -------
    xarray.Dataset
        Over ``r`` (1 .. r_max, a number of atoms: units "1") with
        ``babel`` (``mu_1(r)``; ``mu_1(1)`` is the mutual coherence) and
        ``erc`` (Tropp's exact-recovery margin ``1 - mu_1(r - 1) - mu_1(r)``,
        with ``mu_1(0) = 0``; positive means every r-sparse code is
        recoverable), and ``attrs["mutual_coherence"]``.

    Raises
    ------
    ValueError
        For an invalid dictionary, fewer than 2 atoms, or ``r_max`` outside
        1 .. ``n_atoms - 1``.
    """
    G = gram_abs(D)
    k = _check_babel_atoms(G)
    r_max = k - 1 if r_max is None else check_int(r_max, "r_max", minimum=1, maximum=k - 1)
    mu1 = _babel_curve(G, r_max)
    prev = np.concatenate([[0.0], mu1[:-1]])
    # r is a number of atoms (the support size), a quantity, not a label: units "1"
    ds = xr.Dataset(coords={"r": ("r", np.arange(1, r_max + 1), {
        "units": "1", "long_name": "subset size r (atoms)"})})
    ds["babel"] = ("r", mu1, {"units": "1", "long_name": "Babel function mu_1(r)"})
    ds["erc"] = ("r", 1.0 - prev - mu1, {"units": "1", "long_name":
                 "exact-recovery margin 1 - mu_1(r-1) - mu_1(r)"})
    ds.attrs.update(analysis="babel", n_atoms=k, mutual_coherence=float(mu1[0]))
    return ds


def _check_babel_atoms(G) -> int:
    """The number of atoms of the Gram matrix ``G``, at least 2 for the Babel function."""
    k = G.shape[0]
    if k < 2:
        raise ValueError("D needs at least 2 atoms for the Babel function")
    return k


def _babel_curve(G, r_max):
    """``mu_1(r)`` for r = 1 .. ``r_max`` from ``G = |D D^T|`` (zero diagonal)."""
    # each column sorted in decreasing order; the zeroed diagonal sorts last
    # (ties with true zeros do not change the sums)
    cols = -np.sort(-G, axis=0)[:r_max]
    return np.cumsum(cols, axis=0).max(axis=1)


def coactive_babel(codes, D, tol: float = 0.0, *, progress: bool | None = None) -> xr.Dataset:
    """Babel value of the set of atoms each input activates.

    For every input with support ``S = {i : |a_i| > tol}``,
    ``max_{j not in S} sum_{i in S} |<d_i, d_j>|``, alongside the worst case
    ``mu_1(|S|)`` over all subsets of the same size.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_atoms)
        Codes of the inputs in ``D``.
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row (normalised here), or atoms as images,
        flattened row-major.
    tol : float, default 0.0
        Activity threshold: atom ``i`` is in the support when ``|a_i| > tol``,
        in units of ``codes``.
    progress : bool or None, default None
        A progress bar over the codes (measured 0.012 ms each with 512 atoms,
        16 active, and 0.45 ms with 4,096, 32 active, ``benchmarks/README.md``;
        recorded before as ~0.1 and 1 ms: minutes for a million): None once the
        call has run 2 s (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        Over ``sample`` (``time`` for codes ``(time, atom)``, with their
        ``time`` coordinate when they have one) with ``support_size``,
        ``coactive_babel`` (0 for an empty support; NaN when S holds every
        atom), ``worst_case`` (``mu_1(|S|)``) and ``coactive_coherence``
        (largest |cosine| between two atoms inside S; 0 when |S| < 2); and,
        over ``support_size_bin`` (the distinct support sizes), ``mean_coactive_babel`` and
        ``mean_worst_case``. ``attrs["tol"]`` carries its units in
        ``attrs["tol_units"]`` (``"units of codes"``).

    Raises
    ------
    ValueError
        For codes whose number of columns is not ``n_atoms`` (saying when
        ``D`` looks transposed), ``tol < 0``, an invalid dictionary or fewer
        than 2 atoms.
    TypeError
        For a ``progress`` other than True, False or None.
    """
    from scipy import sparse

    A = _code_rows(codes, "codes")
    G = gram_abs(D)
    k = G.shape[0]
    if A.shape[1] != k:
        # D given as (n_features, n_atoms) read its features as atoms, unsaid
        shape = np.shape(D)
        hint = (": D looks transposed (n_features, n_atoms); atoms are rows here, pass D.T"
                if len(shape) == 2 and shape[1] == A.shape[1] else "")
        raise ValueError(f"codes have {A.shape[1]} units (shape {A.shape}) but D has {k} atoms "
                         f"(D shape {shape}){hint}")
    tol = check_nonnegative(tol, "tol")
    progress = check_progress(progress)
    _check_babel_atoms(G)  # before the codes' loop, not after it
    n = A.shape[0]
    size, value, inside = np.empty(n, dtype=int), np.empty(n), np.empty(n)
    # in blocks of rows: the float64 temporaries of all the codes at once were 8x codes of
    # float32 (16 GB for a million codes of 512 atoms); a million codes take minutes, which
    # passed without a bar
    with progress_bar(progress, total=n, desc="co-active Babel", unit="code") as bar:
        for start in range(0, n, _BLOCK_ROWS):
            rows = slice(start, start + _BLOCK_ROWS)
            M = sparse.csr_array(np.abs(np.asarray(A[rows], dtype=np.float64)) > tol,
                                 dtype=np.float64)
            size[rows] = np.diff(M.indptr)
            # sums[n, j] = sum_{i in S_n} |G_ij|: a dense product of the 0/1 mask cost
            # n k^2 flops (with its per-code loop 1.0 ms a code at 4,096 atoms, 32 active,
            # against 0.45 ms now: benchmarks/README.md), the sparse one n |S| k
            dense = M.nnz > _SPARSE_FRACTION * M.shape[0] * M.shape[1]
            sums = M.toarray() @ G if dense else M @ G
            sums[M.nonzero()] = -np.inf
            with np.errstate(invalid="ignore"):
                value[rows] = sums.max(axis=1)
            inside[rows] = _inside_max(M, G)
            bar.update(M.shape[0])
    value = np.where(size == k, np.nan, np.where(size == 0, 0.0, value))
    # from the Gram matrix above (babel(D) made it a second time: 0.5 s at 4,096 atoms)
    curve = _babel_curve(G, k - 1)
    worst = np.where((size >= 1) & (size <= k - 1), curve[np.clip(size - 1, 0, k - 2)], np.nan)
    worst = np.where(size == 0, 0.0, worst)
    # rates over time: per time bin, on the input's own time coordinate
    rows, coord = code_rows_coord(codes, A.shape[0])
    ds = xr.Dataset(coords={rows: coord})
    ds["support_size"] = (rows, size, {"units": "1", "long_name": "|S|, active atoms"})
    ds["coactive_babel"] = (rows, value, {"units": "1", "long_name":
                         "max_{j not in S} sum_{i in S} |<d_i, d_j>|"})
    ds["worst_case"] = (rows, worst, {"units": "1", "long_name": "mu_1(|S|)"})
    ds["coactive_coherence"] = (rows, inside, {"units": "1", "long_name":
                             "max_{i != j in S} |<d_i, d_j>|"})
    sizes = np.unique(size)
    ds = ds.assign_coords(support_size_bin=("support_size_bin", sizes, {
        "units": "1", "long_name": "support size |S| (the sizes that occur)"}))
    for name in ("coactive_babel", "worst_case"):
        means = [np.nanmean(ds[name].values[size == s]) if np.isfinite(
            ds[name].values[size == s]).any() else np.nan for s in sizes]
        ds[f"mean_{name}"] = ("support_size_bin", np.array(means), {
            "units": "1", "long_name": f"mean {name} of the samples with that support size"})
    ds.attrs.update(analysis="coactive babel", tol=tol, tol_units="units of codes", n_atoms=k)
    return ds


#: rows of codes per block in :func:`coactive_babel`
_BLOCK_ROWS = 4096
#: largest fraction of active entries of a block for which :func:`coactive_babel` sums
#: the Gram rows of the supports by a sparse product (beyond it dense BLAS is faster)
_SPARSE_FRACTION = 1 / 16
#: gathered Gram entries per batch of rows in :func:`_inside_max`
_GATHER_ELEMENTS = 2**22


def _code_rows(codes, name):
    """``codes`` as a 2-D real array, checked finite, without a copy of an ndarray
    (a memmap stays one) nor a temporary of its size."""
    if not (isinstance(codes, np.ndarray) and codes.ndim == 2 and codes.size
            and codes.dtype.kind in "fiu"):
        return check_array(codes, name, ndim=2, dims=code_dims(codes))
    if not (np.isfinite(codes.min()) and np.isfinite(codes.max())):  # NaN or inf if any is
        check_array(codes, name, ndim=2)  # raises, with the count of non-finite values
    return codes


def _inside_max(M, G):
    """Largest |G_ij| with i != j both in the support, per row of the CSR mask ``M``.

    The supports are gathered as index rows padded with each row's first index
    (``G`` has a zero diagonal, so repeated indices add only zeros) to the largest
    size among the rows whose sizes share a power of two, as many rows at a time
    as keep the gather within :data:`_GATHER_ELEMENTS` entries: a Python loop
    over the rows took 0.15 ms each (minutes for a million codes). Rows too wide
    for 64 of them in a gather take their own submatrix, one at a time."""
    sizes = np.diff(M.indptr)
    out = np.zeros(len(sizes))
    buckets = np.ceil(np.log2(np.maximum(sizes, 2))).astype(np.int64)
    for bucket in np.unique(buckets[sizes > 1]):  # 0 for fewer than two atoms
        group = np.flatnonzero((buckets == bucket) & (sizes > 1))
        width = int(sizes[group].max())
        batch = _GATHER_ELEMENTS // (width * width)
        if batch < 64:  # wide supports: each row's own submatrix, unpadded (the loop is cheap)
            for row in group:
                idx = M.indices[M.indptr[row]:M.indptr[row + 1]]
                out[row] = G[np.ix_(idx, idx)].max()
            continue
        for start in range(0, len(group), batch):
            rows = group[start:start + batch]
            counts, ptr = sizes[rows], M.indptr[rows]
            idx = np.repeat(M.indices[ptr][:, None], width, axis=1)
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            idx[np.repeat(np.arange(len(rows)), counts), within] = M.indices[
                np.repeat(ptr, counts) + within]
            out[rows] = G[idx[:, :, None], idx[:, None, :]].max(axis=(1, 2))
    return out
