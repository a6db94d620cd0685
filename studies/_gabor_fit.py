"""The settings and bounds of a study's Gabor fits, recorded in its result's attrs.

A fit at a bound of :func:`v1model.analysis.fit_gabor` (an envelope at ``min_sigma``
or ``max_sigma``, a carrier at ``max_frequency``) is not reliable
(:func:`v1model.analysis.reliable_gabor_fits`), so every count of reliable fits, every
median over them and every figure of them depends on those bounds, and the fits
themselves on the starts and iterations: a saved result records them all, prefixed
``gabor_`` (``olshausen-field-1997``, ``ringach-2002``, ``zylberberg-2011-sailnet``,
``zhu-rozell-2013-ncrf``, ``receptive-field-mapping``, ``lca-sweep``,
``sae-natural-patches``).
"""

from __future__ import annotations

__all__ = ["GABOR_FIT_ATTRS", "GABOR_BOUNDS", "gabor_fit_attrs", "gabor_fit_units"]

#: settings and bounds of a Gabor fit (attrs of :func:`v1model.analysis.fit_gabor`'s
#: result) that a study records, with their units
GABOR_FIT_ATTRS = {"n_starts": "1", "n_iter": "1", "polish": "1", "max_nfev": "1",
                   "min_sigma": "pixel", "max_sigma": "pixel",
                   "max_frequency": "cycles/pixel"}
#: the bounds among them, which :func:`v1model.analysis.reliable_gabor_fits` reads
GABOR_BOUNDS = ("min_sigma", "max_sigma", "max_frequency")


def gabor_fit_attrs(fit, prefix: str = "gabor_") -> dict:
    """``{prefix + name: fit.attrs[name]}`` for the settings and bounds of a Gabor fit.

    Parameters
    ----------
    fit : xarray.Dataset
        Result of :func:`v1model.analysis.fit_gabor`.
    prefix : str, default "gabor_"
        Prefix of the names in the study's attrs (``"ref_gabor_"`` for the fits of a
        reference set).

    Returns
    -------
    dict
        The :data:`GABOR_FIT_ATTRS` of ``fit``, prefixed: ``n_starts``, ``n_iter``,
        ``max_nfev`` (counts), ``polish`` (0 or 1), ``min_sigma``, ``max_sigma``
        (pixels) and ``max_frequency`` (cycles/pixel).
    """
    return {f"{prefix}{name}": fit.attrs[name] for name in GABOR_FIT_ATTRS}


def gabor_fit_units(prefix: str = "gabor_") -> dict:
    """Units of the attrs :func:`gabor_fit_attrs` records, for a study's
    ``PARAMETER_UNITS``: a sweep over the patch size moves ``max_sigma`` (the patch
    side by default), and a sweep keeps an attr that varies between its points as a
    variable with the units given there."""
    return {f"{prefix}{name}": units for name, units in GABOR_FIT_ATTRS.items()}
