"""The largest energy of a sliding window, by running sums taken in blocks.

Shared by :func:`stimuli.audio._loudest_rms` (the loudest segment of a waveform) and
:func:`max_window_norm` (the largest crop norm, for the lam checks of
:func:`v1model.convolutional.learn_kernels` and the Smith & Lewicki study); NumPy only, so
that ``stimuli`` imports it as it imports :mod:`v1model.scaling`.
"""

from __future__ import annotations

import numpy as np


def max_window_energy(signal, window, scale=1.0, block=2**16) -> float:
    """The largest sum of ``(signal / scale) ** 2`` over a ``window``-shaped block of
    ``signal``, float64, and 0.0 when ``signal`` is shorter than the window's first axis.

    The running sum along the first axis is taken a block of rows (about ``block``
    values, at least one row) at a time, at the windows' starts and ends, each carried
    over from the block before: the same additions in the same order as one ``cumsum``
    of the whole signal (the same result, to the bit, whatever ``block``), in memory of
    a few ``block`` values, or of a few rows when one row holds more than ``block``
    values. The other axes are summed whole within each block of rows. The whole
    running sums, with the squares and the scaled copy, took three float64 copies of
    the signal (4.8 GB for an hour-long recording of 2 * 10**8 samples).

    Parameters
    ----------
    signal : ndarray
        One signal, any number of axes (trusted: real, finite).
    window : tuple of int
        The window's length along each axis of ``signal`` (positive).
    scale : float, default 1.0
        Divides ``signal`` before it is squared: the signal's largest magnitude keeps
        the squares and sums from overflowing or underflowing whatever its scale.
    block : int, default 2**16
        About how many values each step holds.

    Returns
    -------
    float
        The largest window energy of ``signal / scale`` (at least 0.0).
    """
    first = window[0]
    rows = max(1, block // int(np.prod(signal.shape[1:], dtype=np.int64)))

    def running(carry, lo, hi):
        # the sums over rows [0, lo), ..., [0, hi) (fewer at the end) from the first, carry
        return np.cumsum(np.concatenate([carry[None], (signal[lo:hi] / scale) ** 2]), axis=0)

    n = len(signal) - first + 1  # windows' starts along the first axis
    end = np.zeros(signal.shape[1:])  # the sum over the first window's rows
    for lo in range(0, first, rows):
        end = running(end, lo, min(lo + rows, first))[-1]
    start, top = np.zeros(signal.shape[1:]), 0.0
    for lo in range(0, n, rows):
        hi = min(lo + rows, n)
        starts = running(start, lo, hi)
        ends = running(end, lo + first, hi + first)
        S = ends[: hi - lo] - starts[: hi - lo]
        # the other axes whole: a block of rows holds every window across them
        for axis, w in enumerate(window[1:], start=1):
            c = np.cumsum(S, axis=axis)
            c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
            m = S.shape[axis]
            S = (np.take(c, np.arange(w, m + 1), axis=axis)
                 - np.take(c, np.arange(m - w + 1), axis=axis))
        top = max(top, float(S.max()))
        start, end = starts[-1], ends[-1]
    return top


def max_window_norm(images, window, block=2**16) -> float:
    """The largest Euclidean norm of a ``window``-shaped block of any signal in
    ``images`` (n_signals, *signal_shape), float64, by running sums of squares taken
    signal by signal in blocks of about ``block`` values
    (:func:`max_window_energy`): the whole sums, with the squares and
    the scaled copy, took 3-4 times the signals' memory before learning started.
    """
    # not np.abs(images).max(): a copy of the signals
    scale = max(float(images.max()), -float(images.min()))
    if scale == 0:
        return 0.0
    top = 0.0
    for signal in images:
        top = max(top, max_window_energy(signal, window, scale, block))
    return scale * float(np.sqrt(max(top, 0.0)))
