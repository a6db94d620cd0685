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

Atoms are normalised to unit norm before any of this.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..progress import check_progress, progress_bar
from ..validation import check_array, check_dictionary, check_int, check_nonnegative, code_dims

__all__ = ["mutual_coherence", "babel", "coactive_babel", "gram_abs"]


def gram_abs(D) -> np.ndarray:
    """``|D D^T|`` of the unit-normalised dictionary with a zero diagonal.

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (normalised here; no all-zero atom).

    Returns
    -------
    ndarray, shape (n_atoms, n_atoms)
        Absolute cosines between distinct atoms; zeros on the diagonal.

    Raises
    ------
    ValueError
        For an invalid dictionary (not 2-D, non-finite or an all-zero atom).
    """
    D = check_dictionary(D, "D", normalized=True)
    G = np.abs(D @ D.T)
    np.fill_diagonal(G, 0.0)
    return G


def mutual_coherence(D) -> float:
    """Largest absolute cosine between two distinct atoms, in [0, 1].

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (normalised here).

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
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (normalised here).
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
    k = G.shape[0]
    if k < 2:
        raise ValueError("D needs at least 2 atoms for the Babel function")
    r_max = k - 1 if r_max is None else check_int(r_max, "r_max", minimum=1, maximum=k - 1)
    # each column sorted in decreasing order; the zeroed diagonal sorts last
    # (ties with true zeros do not change the sums)
    cols = -np.sort(-G, axis=0)[:r_max]
    mu1 = np.cumsum(cols, axis=0).max(axis=1)
    prev = np.concatenate([[0.0], mu1[:-1]])
    # r is a number of atoms (the support size), a quantity, not a label: units "1"
    ds = xr.Dataset(coords={"r": ("r", np.arange(1, r_max + 1), {
        "units": "1", "long_name": "subset size r (atoms)"})})
    ds["babel"] = ("r", mu1, {"units": "1", "long_name": "Babel function mu_1(r)"})
    ds["erc"] = ("r", 1.0 - prev - mu1, {"units": "1", "long_name":
                 "exact-recovery margin 1 - mu_1(r-1) - mu_1(r)"})
    ds.attrs.update(analysis="babel", n_atoms=k, mutual_coherence=float(mu1[0]))
    return ds


def coactive_babel(codes, D, tol: float = 0.0, *, progress: bool | None = None) -> xr.Dataset:
    """Babel value of the set of atoms each input activates.

    For every input with support ``S = {i : |a_i| > tol}``,
    ``max_{j not in S} sum_{i in S} |<d_i, d_j>|``, alongside the worst case
    ``mu_1(|S|)`` over all subsets of the same size.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_atoms)
        Codes of the inputs in ``D``.
    D : array_like, shape (n_atoms, n_features)
        Dictionary, one atom per row (normalised here).
    tol : float, default 0.0
        Activity threshold: atom ``i`` is in the support when ``|a_i| > tol``,
        in units of ``codes``.
    progress : bool or None, default None
        A progress bar over the codes (~0.2 ms each with 512 atoms: minutes
        for a million): None once the call has run 2 s
        (:mod:`v1model.progress`), True at once, False never.

    Returns
    -------
    xarray.Dataset
        Over ``sample`` with ``support_size``, ``coactive_babel`` (0 for an
        empty support; NaN when S holds every atom), ``worst_case``
        (``mu_1(|S|)``) and ``coactive_coherence`` (largest |cosine| between
        two atoms inside S; 0 when |S| < 2); and, over ``support_size_bin``
        (the distinct support sizes), ``mean_coactive_babel`` and
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
    n = A.shape[0]
    size, value, inside = np.empty(n, dtype=int), np.empty(n), np.empty(n)
    # in blocks of rows: the float64 temporaries of all the codes at once were 8x codes of
    # float32 (16 GB for a million codes of 512 atoms); a million codes take minutes, which
    # passed without a bar
    with progress_bar(progress, total=n, desc="co-active Babel", unit="code") as bar:
        for start in range(0, n, _BLOCK_ROWS):
            rows = slice(start, start + _BLOCK_ROWS)
            M = (np.abs(np.asarray(A[rows], dtype=np.float64)) > tol).astype(np.float64)
            size[rows] = M.sum(axis=1)
            sums = M @ G  # sums[n, j] = sum_{i in S_n} |G_ij|
            sums[M > 0] = -np.inf
            with np.errstate(invalid="ignore"):
                value[rows] = sums.max(axis=1)
            inside[rows] = _inside_max(M, G)
            bar.update(len(M))
    value = np.where(size == k, np.nan, np.where(size == 0, 0.0, value))
    curve = babel(D).babel.values
    worst = np.where((size >= 1) & (size <= k - 1), curve[np.clip(size - 1, 0, k - 2)], np.nan)
    worst = np.where(size == 0, 0.0, worst)
    ds = xr.Dataset(coords={"sample": np.arange(A.shape[0])})
    ds["support_size"] = ("sample", size, {"units": "1", "long_name": "|S|, active atoms"})
    ds["coactive_babel"] = ("sample", value, {"units": "1", "long_name":
                            "max_{j not in S} sum_{i in S} |<d_i, d_j>|"})
    ds["worst_case"] = ("sample", worst, {"units": "1", "long_name": "mu_1(|S|)"})
    ds["coactive_coherence"] = ("sample", inside, {"units": "1", "long_name":
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
    """Largest |G_ij| with i != j both in the support, per sample."""
    out = np.zeros(len(M))
    for n, row in enumerate(M):
        idx = np.flatnonzero(row)
        if idx.size > 1:
            out[n] = G[np.ix_(idx, idx)].max()
    return out
