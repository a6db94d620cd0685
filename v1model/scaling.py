"""Exact rescaling by powers of two, for scale-invariant measures at any scale."""

from __future__ import annotations

import numpy as np

__all__ = ["pow2_scale"]


def pow2_scale(values, axis=None, keepdims: bool = False):
    """The power of two just below max |values| (along ``axis``); 0.5 where all are zero.

    Dividing by it is exact (no rounding) and brings the largest magnitude
    into [1, 2), so that squares, sums and FFTs of the result neither overflow
    (values ~ 1e200) nor underflow (values ~ 1e-300): scale-invariant
    measures computed on ``values / pow2_scale(values)`` are the same as on
    ``values`` wherever the latter do not overflow.

    Parameters
    ----------
    values : ndarray
        Any shape, real and finite (integers included).
    axis : int or tuple of int, optional
        Axes along which the maximum is taken; default all.
    keepdims : bool, default False
        Keep the reduced axes with length 1 (to broadcast against ``values``).

    Returns
    -------
    float or ndarray
        The powers of two, float64: ``values``'s shape without ``axis`` (or
        with length 1 there, with ``keepdims``).
    """
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        # |int16 -32768| wraps to -32768, which then lost the max: [-32768, 100] gave 64
        values = values.astype(np.float64)
    peak = np.abs(values).max(axis=axis, keepdims=keepdims)
    return np.ldexp(1.0, np.frexp(peak)[1] - 1)
