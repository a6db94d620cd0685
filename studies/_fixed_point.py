"""Codes counted at the LCA's fixed point, for the studies that count active units.

LCA's stop (:func:`v1model.inference.lca`'s ``tol``) bounds how fast its state still
moves and its objective gap, not its support: the stopped state keeps small codes that
its fixed point, the LASSO solution, sets to zero, and they counted as active
(``activity-ratio``, quick run, lam 0.02: activity ratio 0.480 against the fixed point's
0.466). :func:`polish_to_fixed_point` takes that state to the fixed point by exact
support solves (:func:`v1model.inference.lasso_active_set`, KKT conditions to
``ACTIVE_SET_TOL * lam``, float64); :func:`coding_attrs` says so in a result's attrs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVE_SET_TOL", "CODING", "coding_attrs", "polish_to_fixed_point"]

#: How the codes are found: LCA run towards its fixed point, then its state polished to
#: it by :func:`v1model.inference.lasso_active_set` (recorded as ``coding``)
CODING = "lca+lasso_active_set"
#: KKT tolerance of the polish, relative to lam: float64 codes at the optimum to rounding
#: (:mod:`v1model.inference.active_set`); the supports then match scikit-learn's Lasso at
#: tol 1e-10 on every patch (the smallest active code there was 1e-5, so no threshold on
#: the LCA's own codes could tell it from their leftovers, up to 0.87 at lam 0.02)
ACTIVE_SET_TOL = 1e-7


def polish_to_fixed_point(X, D, lam, A_lca):
    """The LCA state ``A_lca`` taken to its fixed point, the LASSO codes (float64).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
    D : ndarray, shape (n_atoms, n_features)
    lam : float
        The LCA's threshold, the LASSO's L1 weight.
    A_lca : ndarray, shape (n_samples, n_atoms)
        The LCA's codes, the warm start (no FISTA warm-up: ``n_warm=0``).

    Returns
    -------
    ndarray, shape (n_samples, n_atoms)
        float64 codes with the KKT conditions met to ``ACTIVE_SET_TOL * lam``: a unit
        that the fixed point leaves silent is exactly 0.
    """
    from v1model.inference import lasso_active_set

    return lasso_active_set(X, D, lam, A0=A_lca, n_warm=0, tol=ACTIVE_SET_TOL,
                            dtype=np.float64)


def coding_attrs(lca_tol: float) -> dict:
    """The attrs that record the coding: ``coding``, ``lca_tol``, ``active_set_tol``."""
    return {"coding": CODING, "lca_tol": lca_tol, "active_set_tol": ACTIVE_SET_TOL}
