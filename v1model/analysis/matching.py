"""Matching the atoms of a learned dictionary to those of a reference basis.

Two dictionaries learned on the same data agree at best up to the order of
their atoms and the sign of each (``a`` and ``-a`` code the same patches with
opposite coefficients). :func:`match_atoms` pairs them one to one so that the
sum of the absolute cosines of the pairs is largest (the assignment problem,
solved exactly by :func:`scipy.optimize.linear_sum_assignment`), e.g. a basis
learned on Olshausen's images against his sparsenet basis ``A144.mat``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..validation import check_dictionary, dim_coord
from ._common import atoms_as_images

__all__ = ["match_atoms"]


def match_atoms(atoms, reference) -> xr.Dataset:
    """Pair every reference atom with a distinct learned atom, up to sign.

    Parameters
    ----------
    atoms : array_like, shape (n_atoms, height, width) or (n_atoms, n_features)
        The learned dictionary, one atom per row (square atoms when 2-D); a
        DataArray with dims ``atom``, ``y``, ``x`` is read by name, and its ``atom``
        coordinate labels the atoms (a selection such as ``D.isel(atom=[3, 7])``
        keeps its labels 3 and 7, as :func:`~v1model.analysis.fit_gabor` does).
        Atoms of any norm, none all zero.
    reference : array_like, shape (n_reference, height, width) or (n_reference, n_features)
        The basis to compare with, e.g. :func:`studies._learned.load_a144`'s
        (144, 12, 12) images of sparsenet's ``A144.mat``; the same atom size. A
        DataArray's ``atom`` coordinate becomes ``reference_atom``.

    Returns
    -------
    xarray.Dataset
        Over ``reference_atom`` (n_reference: the ``atom`` labels of a DataArray
        ``reference``, else 0 ... n_reference - 1): ``matched_atom``, the label of
        the learned atom paired with it (the ``atom`` coordinate of a DataArray
        ``atoms``, else its index 0 ... n_atoms - 1, so that
        ``fit_gabor(atoms).sel(atom=ds.matched_atom)`` pairs the same atoms; -1
        for integer labels, NaN for float ones and "" for text when there are
        fewer learned atoms than reference atoms and it is left without one:
        ``sign == 0`` marks those whatever the labels); ``abs_cosine``, the
        |cosine| of the pair (NaN when unpaired); ``sign``, the sign of that
        cosine (+1 or -1: the learned atom times ``sign`` looks like the
        reference atom; 0 when unpaired); ``nearest_abs_cosine``, the largest
        |cosine| with any learned atom, paired or not (at least ``abs_cosine``:
        a learned atom may be nearest to several reference atoms). Attrs:
        ``n_atoms``, ``n_reference``, ``median_abs_cosine`` and
        ``mean_abs_cosine`` over the pairs, and ``matching``. All cosines are
        dimensionless (units "1"). For scale (measured 2026-12-07): Gaussian
        random atoms against sparsenet's A144 pair at a median |cosine| of
        0.22 (144 atoms, three seeds) and 0.27 (576 atoms); a basis against a
        permuted, sign-flipped copy of itself at 1.

    Raises
    ------
    ValueError
        For arrays that are not 2-D or 3-D, hold NaN or inf, are empty, have an
        all-zero atom, or whose atoms differ in size (naming both shapes).
    """
    from scipy.optimize import linear_sum_assignment

    images = atoms_as_images(atoms, name="atoms")
    ref_images = atoms_as_images(reference, name="reference")
    if images.shape[1:] != ref_images.shape[1:]:
        raise ValueError(f"atoms and reference must have atoms of one size, got atoms of "
                         f"{images.shape[1:]} (atoms shape {images.shape}) and reference "
                         f"atoms of {ref_images.shape[1:]} (shape {ref_images.shape})")
    D = check_dictionary(images.reshape(len(images), -1), "atoms", normalized=True)
    R = check_dictionary(ref_images.reshape(len(ref_images), -1), "reference",
                         normalized=True)
    cosines = R @ D.T  # (n_reference, n_atoms)
    magnitude = np.abs(cosines)
    rows, cols = linear_sum_assignment(magnitude, maximize=True)
    n_ref = len(R)
    # the atoms' own labels: indices into a selection (D.isel(atom=[3, 7]) paired as 0
    # and 1) met fit_gabor's results, labelled 3 and 7, at other atoms, unsaid
    labels = _labels(atoms, len(D))
    fill = {"i": -1, "u": -1, "f": np.nan}.get(labels.dtype.kind)
    if fill is None:
        labels, fill = labels.astype(str), ""
    matched = np.full(n_ref, fill, dtype=labels.dtype)
    abs_cosine = np.full(n_ref, np.nan)
    sign = np.zeros(n_ref, dtype=np.int8)
    matched[rows] = labels[cols]
    abs_cosine[rows] = magnitude[rows, cols]
    # a cosine of exactly 0 (orthogonal pair) counts as +1: either sign is as good
    sign[rows] = np.where(cosines[rows, cols] < 0, -1, 1)
    paired = abs_cosine[rows]
    ds = xr.Dataset(
        {
            "matched_atom": ("reference_atom", matched, {
                "long_name": "label of the learned atom paired one to one (sign 0: none)",
                "units": "1"}),
            "abs_cosine": ("reference_atom", abs_cosine, {
                "long_name": "|cosine| of the reference atom with its paired atom",
                "units": "1"}),
            "sign": ("reference_atom", sign, {
                "long_name": "sign of that cosine (paired atom * sign ~ reference atom)",
                "units": "1"}),
            "nearest_abs_cosine": ("reference_atom", magnitude.max(axis=1), {
                "long_name": "largest |cosine| with any learned atom", "units": "1"}),
        },
        coords={"reference_atom": _labels(reference, n_ref)},
        attrs={
            "n_atoms": len(D), "n_reference": n_ref,
            "median_abs_cosine": float(np.median(paired)),
            "mean_abs_cosine": float(np.mean(paired)),
            "matching": "one to one, largest sum of |cosine| "
                        "(scipy.optimize.linear_sum_assignment), up to sign",
        },
    )
    return ds


def _labels(atoms, n):
    """The ``atom`` labels of a DataArray ``atoms`` (its 1-D coordinate), else 0 ... n - 1."""
    coord = dim_coord(atoms, "atom", n)
    return np.asarray(coord[1]) if isinstance(coord, tuple) else coord
