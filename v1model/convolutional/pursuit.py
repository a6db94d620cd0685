"""Convolutional Matching Pursuit: the spike code of Smith & Lewicki (2006).

Each step picks, per signal, the kernel copy (kernel and position) most
correlated with the residual, normalised by the copy's norm, and subtracts the
projection on it: one "spike" of that kernel at that time (or place). The
residual norm never increases (Mallat & Zhang 1993).

Nothing is recomputed over the whole signal after the first analysis. A spike
changes the residual under one copy only, so the correlations change only at
positions within one kernel of it, by the kernels' cross-correlation at the
lags that are multiples of the stride, ``G[k*, Δ, k] = <d_k(· - Δs), d_k*>``
(the Gram matrix of the copies, which depends only on the lag; computed once,
as in MPTK, Krstulović & Gribonval 2006). A ``"full"`` copy that sticks out
of the signal is truncated; its update uses the truncated kernel instead. One
step, batched over signals, costs an argmax over about ``2 sqrt(n_positions)``
running maxima (per segment of positions, then within one segment) and an
update of ``(2 ceil(k/s) - 1)^d x n_kernels`` coefficients, so that its cost
hardly grows with the signal's length.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..inference._common import (ConvergenceWarning, caller_settings, check_products_in_range,
                                 current_tally, discard_not_converged, rows_of_x,
                                 shortfall_stacklevel)
from ..inference.pursuit import _pursuit_record as _record
from ..inference.pursuit import pursuit_history
from ..inference.pursuit import ROUNDOFF_UNITS, TOL_SLACK
from ..inference.pursuit import _remedy
from ..progress import check_progress, progress_bar
from ..validation import check_bool, check_int, check_nonnegative, check_positive
from .gram import CopyGram
from .inference import TOL_BELOW_STEP, as_dictionary, warn_integer_signals
from .operator import ConvolutionalDictionary

__all__ = ["matching_pursuit"]

#: coefficients (correlations) per block of signals (bounds the work arrays, ~32 MB)
_BLOCK_ELEMENTS = 8 * 2**20


def matching_pursuit(X, kernels, n_nonzero=None, *, tol=None, snr_db=None, stride=None,
                     boundary: str | None = None, min_coverage: float = 0.25,
                     positive: bool = False, max_iter=None,
                     dtype=None, return_history: bool = False,
                     progress: bool | None = None):
    """Convolutional Matching Pursuit codes ("spikes") of whole signals.

    Parameters
    ----------
    X : array_like, shape (n_samples, *signal_shape) or signal_shape
        Whole signals: sounds (n_sounds, n_times) or images (n_images,
        height, width); a DataArray read by dim name (and its rate checked), as
        in :func:`encode`.
        Every signal axis is spatial: a leading channel axis is one the
        kernels slide along, as in :func:`encode`.
    kernels : array_like, shape (n_kernels, *kernel_shape) or ConvolutionalDictionary
        The kernels (any non-zero norms), or a :class:`ConvolutionalDictionary`
        (then ``stride`` and ``boundary`` are its own: given, they must match
        it).
    n_nonzero : int, optional
        Stop a signal when its code has this many non-zero coefficients
        (spikes; a copy picked again does not count twice), or earlier when
        it is coded exactly (no correlation above its own rounding, ``16 eps
        |x| . |copy| / ||copy||``, local to each copy).
    tol : float, optional
        Stop a signal when its squared residual norm ``||x - Φa||²`` is at
        most ``tol`` (the convention of :func:`v1model.inference.matching_pursuit`).
    snr_db : float, optional
        Stop a signal when its signal-to-residual ratio ``10 log10(||x||² /
        ||x - Φa||²)`` reaches this, in dB (Smith & Lewicki coded sounds to a
        fixed fidelity); the per-signal form of ``tol``. With either, the
        residual tracked step by step is checked against the exact one
        (float64, from ``X`` as given) at the end: a signal that rounding left
        short of its target is coded again in float64, so the codes returned
        meet it to a relative ``1e-6`` of the squared residual, or are warned of.
    stride, boundary : optional
        As in :func:`v1model.convolutional.encode` (default 1 and "full", or a
        dictionary's own).
    min_coverage : float, default 0.25
        ``"full"`` copies with less than this fraction of their kernel's
        energy inside the signal are never picked. A copy that reaches one
        edge sample is a scaled unit vector: MP would use it as a spike of
        huge amplitude there, and float32 errors in its correlation grow as
        ``1/sqrt(fraction)``. 0 keeps every copy (MP on :meth:`as_matrix`).
        Refused when it leaves no copy (kernels much larger than the signal).
    positive : bool, default False
        Non-negative MP: pick the largest positive correlation; stop when none
        is positive.
    max_iter : int, optional
        Steps (spikes picked, repeats included) per signal at most; default
        ``10 * n_nonzero``, or the number of coefficients per signal without
        ``n_nonzero``.
    dtype : {float32, float64}, optional
        Working precision; default float32 (a dictionary's own; given, it
        converts the dictionary).
    return_history : bool, default False
        Also return a Dataset over ``iteration`` (step) with objective = data
        term ``0.5 ||x - Φa||²`` summed over signals (the residual the steps
        track, in ``dtype``), zero penalty and the mean spike count per
        signal; ``iteration`` k holds the codes after k steps (0: the start).
        ``returned_objective``, ``returned_data_term`` and
        ``returned_n_active`` (no ``iteration`` dim) give the returned codes'
        exact data term (float64, from ``X`` as given) and spike count.
        Signals that float32 rounding left short of ``tol`` / ``snr_db`` are
        coded again in float64 after the steps (their number in
        ``attrs["n_recoded"]``): the steps' entries are then the float32
        pass's, and the returned codes no step's.
    progress : bool or None, default None
        A progress bar: with ``n_nonzero``, over spikes (``n_nonzero`` per
        signal; a block of signals that stops early, coded exactly or at its
        target, jumps to its end); without, over steps, with no total (a
        fidelity target takes a number of steps no one knows in advance).
        None once the call has run 2 s (:mod:`v1model.progress`), True at
        once, False never.

    Returns
    -------
    codes : ndarray, shape (n_samples, n_kernels, *code_shape)
        The spike amplitudes, one map per kernel (as :func:`~v1model.convolutional.encode`).
    history : xarray.Dataset, optional
        With ``return_history`` (one block of signals only: pass fewer signals).

    Raises
    ------
    ValueError
        With none of ``n_nonzero``, ``tol`` and ``snr_db``, with both ``tol``
        and ``snr_db``, for invalid ``X``/``kernels``, or when ``min_coverage``
        leaves no kernel copy to pick.

    Warns
    -----
    ConvergenceWarning
        When signals end above ``tol`` / below ``snr_db`` (``max_iter`` or
        ``n_nonzero`` reached, or no copy lowers the residual any more),
        naming their rows of ``X`` (a UserWarning, as
        :class:`v1model.inference.ConvergenceWarning` is).
    UserWarning
        For signals ``X`` of integer samples or pixels (int16 sounds, uint8
        images, taken as they are) with a ``tol`` below their number per
        signal (``prod(signal_shape)``: a residual of less than one step in
        each), as :func:`~v1model.convolutional.encode` warns of its ``lam``
        below one step: every ``tol`` meant for signals of full scale 1 is
        below it (at ``tol=10``, 569-675 spikes on int16 noise sounds of 256
        samples, none on the same sounds / 32768; it was warned of below 1
        only before 2026-12-08).

    References
    ----------
    Mallat, S. G. & Zhang, Z. (1993). Matching pursuits with time-frequency
    dictionaries. IEEE Trans. Signal Process. 41, 3397-3415.
    Smith, E. C. & Lewicki, M. S. (2006). Efficient auditory coding. Nature
    439, 978-982.
    Krstulović, S. & Gribonval, R. (2006). MPTK: Matching Pursuit made
    tractable. ICASSP.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.convolutional import matching_pursuit
    >>> t = np.arange(32)
    >>> kernel = np.hanning(8) * np.cos(t[:8])
    >>> x = np.zeros(64); x[10:18] += 2 * kernel; x[40:48] -= kernel
    >>> codes = matching_pursuit(x, kernel[None], n_nonzero=2, boundary="valid")
    >>> np.flatnonzero(codes[0, 0]).tolist()
    [10, 40]
    """
    phi = as_dictionary(kernels, X, stride, boundary, dtype)
    X_given = X
    X = phi.check_signals(X, "X")
    check_products_in_range(X.reshape(len(X), -1), phi.kernels.reshape(phi.n_kernels, -1),
                            phi.dtype, d_name="kernels", atom="kernel")
    if n_nonzero is None and tol is None and snr_db is None:
        raise ValueError("matching_pursuit needs n_nonzero (spikes per signal), tol (squared "
                         "residual norm to reach) or snr_db (fidelity to reach), got none")
    if tol is not None and snr_db is not None:
        raise ValueError(f"pass tol={tol!r} or snr_db={snr_db!r}, not both: each sets "
                         "the residual to reach")
    n_coef = phi.n_coefficients
    if n_nonzero is not None:
        n_nonzero = check_int(n_nonzero, "n_nonzero", minimum=1)
        if n_nonzero > n_coef:
            raise ValueError(f"n_nonzero={n_nonzero} exceeds the {n_coef} coefficients "
                             f"per signal of {phi!r}")
    if tol is not None:
        tol = check_nonnegative(tol, "tol")
        # a squared norm over a signal: below one step in each of its samples or pixels
        warn_integer_signals(X_given, phi.ndim, "tol", tol, TOL_BELOW_STEP,
                             n_values=math.prod(phi.signal_shape))
    if snr_db is not None:
        snr_db = check_positive(snr_db, "snr_db")
    if max_iter is None:
        max_iter = 10 * n_nonzero if n_nonzero is not None else n_coef
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    for name, flag in (("positive", positive), ("return_history", return_history)):
        check_bool(flag, name)
    check_progress(progress)
    energy = (X.reshape(len(X), -1).astype(np.float64) ** 2).sum(axis=1)
    target = (np.full(len(X), tol) if tol is not None
              else energy * 10.0 ** (-snr_db / 10) if snr_db is not None
              else np.full(len(X), -1.0))
    min_coverage = check_nonnegative(min_coverage, "min_coverage")
    if min_coverage > 1:
        raise ValueError(f"min_coverage={min_coverage!r} is a fraction of a kernel's energy; "
                         "use a value in [0, 1]")
    pursuit = _Pursuit(phi, positive, min_coverage)
    if not np.isfinite(pursuit.norm2).any():
        # every copy sticks out too far: the codes would be zeros, silently with n_nonzero
        raise ValueError(
            f"no kernel copy has min_coverage={min_coverage!r} of its kernel's energy inside "
            f"the signals of shape {phi.signal_shape} (kernels of shape {phi.kernel_shape}, "
            f"boundary={phi.boundary!r}): lower min_coverage, or use smaller kernels or "
            "larger signals")
    block = max(1, _BLOCK_ELEMENTS // n_coef)
    if return_history and len(X) > block:
        raise ValueError(f"return_history records one block of signals; X has {len(X)} "
                         f"signals of {n_coef} coefficients each, more than {block}: "
                         "pass fewer")
    codes = np.zeros((len(X),) + phi.code_shape + (phi.n_kernels,), phi.dtype)
    res2 = energy.copy()
    records = [] if return_history else None
    # one bar over every block in turn (a bar per block restarted at 0 for each, and with
    # progress=None each waited its own 2 s: many blocks of under 2 s ran silently). Its
    # total is one the run reaches: n_nonzero spikes per signal, or none at all for a
    # fidelity target (a total of max_iter, every coefficient of the signal by default,
    # promised minutes for a call of under a second)
    by_spikes = n_nonzero is not None
    with progress_bar(progress, total=len(X) * n_nonzero if by_spikes else None,
                      desc="convolutional mp", unit="spike" if by_spikes else "step") as bar:
        for start in range(0, len(X), block):
            rows = slice(start, start + block)
            placed = pursuit.run(X[rows], codes[rows], res2[rows], target[rows], n_nonzero,
                                 max_iter, records,
                                 bar.update if by_spikes else lambda new: bar.update())
            if by_spikes:  # the spikes of signals that stopped short of n_nonzero
                bar.update(len(X[rows]) * n_nonzero - placed)
    n_recoded, exact = 0, None
    if tol is not None or snr_db is not None:
        res2, exact, n_recoded = _meet_target_exactly(
            phi, X_given, codes, res2, target, block,
            dict(n_nonzero=n_nonzero, tol=tol, snr_db=snr_db, min_coverage=min_coverage,
                 positive=positive, max_iter=max_iter))
        _warn_not_met(res2, target, tol, snr_db, max_iter, n_nonzero, positive)
    if not return_history:
        return np.moveaxis(codes, -1, 1)
    # the returned codes' own figures, beside the steps: with signals re-coded, the steps
    # are the float32 pass's (their last entry 0.5% off the data term of 2 re-coded
    # sounds in 8), and an entry for the returned codes was numbered as one more step
    if exact is None:  # n_nonzero alone: the steps tracked the residual in phi.dtype
        phi64 = phi.astype(np.float64)
        exact = _exact_residual_sq(phi64, phi64.check_signals(X_given, "X"), codes, block)
    returned = _record(exact, np.count_nonzero(codes.reshape(len(codes), -1), axis=1))
    return np.moveaxis(codes, -1, 1), pursuit_history(
        records, returned, "convolutional mp",
        n_nonzero="None" if n_nonzero is None else n_nonzero,
        tol="None" if tol is None else tol, snr_db="None" if snr_db is None else snr_db,
        stride=list(phi.stride), boundary=phi.boundary, min_coverage=min_coverage,
        positive=int(positive), max_iter=max_iter, dtype=phi.dtype.name,
        n_recoded=n_recoded)


class _Pursuit:
    """MP with one :class:`ConvolutionalDictionary`: the copies' norms and Gram
    columns (:class:`.gram.CopyGram`) and the padded correlation layout.

    The best normalised correlation at each position is kept in segments of
    ``segment`` positions along the last axis, with each segment's maximum
    beside it: a step scans the segment maxima and one segment (about
    ``2 sqrt(n_positions)`` numbers, not ``n_positions``) and re-takes the
    maxima of the few segments its window touches. The pick is the one a
    plain argmax over every position would make (the first maximum in C order).
    """

    def __init__(self, phi: ConvolutionalDictionary, positive: bool, min_coverage: float):
        self.phi = phi
        # the same geometry with |kernels|: its analysis of |x| bounds the magnitudes
        # summed in each copy's correlation (their rounding scale)
        self.abs_phi = ConvolutionalDictionary(np.abs(phi.kernels), phi.signal_shape,
                                               stride=phi.stride, boundary=phi.boundary,
                                               dtype=phi.dtype)
        self.positive = positive
        self.gram = gram = CopyGram(phi)
        K, M = phi.n_kernels, phi.code_shape
        # copies below min_coverage are never picked (nor any whose norm would be
        # subnormal in dtype)
        info = np.finfo(phi.dtype)
        norm2 = gram.norm2
        usable = ((norm2 >= min_coverage * gram.full_norm2 * (1 - 1e-12))
                  & (norm2 > float(info.tiny / info.eps)))
        self.norm2 = np.where(usable, norm2, np.inf).astype(phi.dtype)
        inv_norm = np.where(usable, 1.0 / np.sqrt(np.where(usable, norm2, 1.0)), 0.0)
        # non-circular correlations live in an array padded by b - 1 copies per side,
        # so that every update window fits; the padding is never picked (-inf)
        self.pad = tuple(0 if gram.circular else bi - 1 for bi in gram.b)
        self.inner = tuple(slice(p, p + m) for p, m in zip(self.pad, M))
        self.padded_shape = padded = tuple(m + 2 * p for m, p in zip(M, self.pad))
        self.inv_norm_padded = np.zeros(padded + (K,), phi.dtype)
        self.inv_norm_padded[self.inner] = inv_norm
        self.floor = np.full(padded, -np.inf, phi.dtype)
        self.floor[self.inner] = 0
        length = padded[-1]
        self.segment = seg = _segment_length(padded)
        self.n_segments = -(-length // seg)
        # segments an update window can touch along the last axis (one more if it wraps)
        window = len(gram.lags[-1])
        self.touched = min(self.n_segments, -(-window // seg) + 2)

    def run(self, X, codes, res2, target, n_nonzero, max_iter, records, on_step):
        """MP on one block: fills ``codes`` (channels last) and ``res2`` in place and
        returns the spikes placed, summed over signals (``on_step(n_new)`` after each
        step, with the spikes it placed).

        ``C`` holds the correlations of the residual with every copy, ``best``
        the largest normalised one at each position (over the kernels) and
        ``top`` the maximum of each segment of ``best``; all three change only
        in the window of the picked copy.
        """

        phi = self.phi
        n, lead = len(X), self.padded_shape[:-1]
        nseg, seg = self.n_segments, self.segment
        inner = (slice(None),) + self.inner
        C = np.zeros((n,) + self.inv_norm_padded.shape, phi.dtype)
        # window products, not FFTs: an FFT's rounding spreads over every position, where
        # the local roundoff floor below would take it for correlation (spikes of 1e-8
        # on an exactly coded signal)
        C[inner] = phi.analyze_last(X, local=True)
        best = np.full((n,) + lead + (nseg * seg,), -np.inf, phi.dtype)
        best[..., :self.padded_shape[-1]] = (self._score(C, self.inv_norm_padded).max(axis=-1)
                                             + self.floor)
        segments = best.reshape((n,) + lead + (nseg, seg))  # a view: updates show through
        top = segments.max(axis=-1)
        count = np.zeros(n, np.intp)
        # the rounding of each copy's correlation: ROUNDOFF_UNITS units of |x| . |copy|
        # (local: a quiet event far from loud ones in a long sound is still taken)
        stall_floor = self.abs_phi.analyze_last(np.abs(X), local=True)
        stall_floor *= phi.dtype.type(ROUNDOFF_UNITS * np.finfo(phi.dtype).eps)
        live = np.flatnonzero(res2 > target)
        if records is not None:
            records.append(_record(res2, count))
        cap = n_nonzero if n_nonzero is not None else np.iinfo(np.intp).max
        lanes = np.arange(n)
        for _ in range(max_iter):
            if live.size == 0:
                break
            where = np.unravel_index(np.argmax(top[live].reshape(live.size, -1), axis=1),
                                     lead + (nseg,))
            within = np.argmax(segments[(live,) + where], axis=1)
            padded = where[:-1] + (where[-1] * seg + within,)
            pos = tuple(p - o for p, o in zip(padded, self.pad))
            at = C[(live,) + padded]  # (n_live, K): every kernel at the picked position
            inv_norm = self.inv_norm_padded[padded]  # (n_live, K)
            scores = self._score(at, inv_norm)
            kern = np.argmax(scores, axis=1)
            rows = lanes[:live.size]
            best_score = scores[rows, kern]
            site = (live,) + pos + (kern,)
            norm2 = self.norm2[pos + (kern,)]
            z = at[rows, kern] / norm2
            local = stall_floor[site] * inv_norm[rows, kern]  # normalised as the score is
            stalled = best_score <= np.maximum(1e-12 * np.sqrt(res2[live]), local)
            stalled |= best_score <= 0
            z[stalled] = 0
            new = (codes[site] == 0) & ~stalled
            count[live] += new
            codes[site] += z
            # a stalled pick may be a copy below min_coverage (norm2 inf, score 0: with
            # positive=True when no correlation is positive, or a zero residual): it
            # removes nothing, and 0 * inf would make the residual NaN
            removed = z.astype(np.float64) ** 2 * np.where(stalled, 0.0, norm2)
            res2[live] = np.maximum(res2[live] - removed, 0.0)
            window = self._window(live, pos)
            self._update(C, window, pos, kern, z)
            best[window] = (self._score(C[window], self.inv_norm_padded[window[1:]]).max(axis=-1)
                            + self.floor[window[1:]])
            touched = self._touched_segments(window)
            top[touched] = segments[touched].max(axis=-1)
            done = stalled | (count[live] >= cap) | (res2[live] <= target[live])
            live = live[~done]
            if records is not None:
                records.append(_record(res2, count))
            on_step(int(np.count_nonzero(new)))
        return int(count.sum())

    def _touched_segments(self, window):
        """Index arrays of the segments (of ``top``) that hold the positions of
        ``window``: its rows along the leading axes times ``touched`` segments
        from the first one along the last axis (wrapping: circular windows)."""
        d = self.phi.ndim
        rows = window[0]
        first = window[-1].reshape(len(rows), -1)[:, 0] // self.segment
        span = (first[:, None] + np.arange(self.touched)) % self.n_segments
        shape = [len(rows)] + [1] * (d - 1) + [self.touched]
        return window[:-1] + (span.reshape(shape),)

    def _score(self, C, inv_norm):
        """Normalised correlations: signed for non-negative MP, else absolute."""
        score = C * inv_norm
        return score if self.positive else np.abs(score, out=score)

    def _window(self, rows, pos):
        """Index arrays of the padded positions whose copies overlap each picked
        one, broadcasting to (n_picked, W_0, ..., W_{d-1})."""
        d = self.phi.ndim
        idx = [rows.reshape((-1,) + (1,) * d)]
        for axis, target in enumerate(self.gram.window_positions(pos)):
            shape = [len(rows)] + [1] * d
            shape[axis + 1] = target.shape[1]
            idx.append((target + self.pad[axis]).reshape(shape))
        return tuple(idx)

    def _update(self, C, window, pos, kern, z):
        """Subtract ``z`` times each picked copy's correlations with the copies
        in its window (one picked copy per signal: no index repeats)."""
        d = self.phi.ndim
        C[window] -= z.reshape((-1,) + (1,) * (d + 1)) * self.gram.columns(pos, kern)


def _segment_length(padded_shape) -> int:
    """Positions per segment of the last axis: about the square root of the
    number of positions (a step scans ``n / segment + segment`` numbers), at
    least 16, at most the axis."""
    n = int(np.prod(padded_shape))
    return int(min(padded_shape[-1], max(16, round(np.sqrt(n)))))


def _exact_residual_sq(phi64, X, codes, block) -> np.ndarray:
    """``||x - Φa||²`` per signal in float64 for channels-last ``codes``, a block of
    signals at a time (``phi64``: the dictionary in float64)."""
    out = np.empty(len(X))
    for start in range(0, len(X), block):
        rows = slice(start, start + block)
        R = X[rows].astype(np.float64) - phi64.synthesize_last(codes[rows].astype(np.float64))
        out[rows] = (R.reshape(len(R), -1) ** 2).sum(axis=1)
    return out


def _meet_target_exactly(phi, X, codes, res2, target, block, params):
    """The exact squared residuals (float64) of the channels-last ``codes`` from the
    signals ``X`` as given (not rounded to ``phi.dtype``: at 50 dB, float32's rounding
    of ``x`` alone moves the SNR by ~1e-4 dB), after coding again in float64 the
    signals that stopped on their target but are above it.

    Returns the squared residuals to warn by (those at their target clipped to it),
    the exact ones, shape (n_signals,) each, in squared units of ``X``, and the
    number of signals coded again.

    The pursuit stops on the squared residual it tracks step by step (``res2``: the
    energy minus the energy each spike removes, from float32 correlations), which
    drifts from the exact one by rounding: in float32, 2 of 8 sounds of 256 samples
    (8 kernels of 16 taps) ended 8e-4 dB short of snr_db = 40, and 3 of 16 of 1024
    samples up to 0.007 dB short of 50, with no warning (as
    :func:`v1model.inference.matching_pursuit`, whose ``_meet_tol_exactly`` this
    follows). ``codes`` is updated in place; ``params`` are the pursuit's stopping
    arguments.
    """
    phi64 = phi.astype(np.float64)
    X = phi64.check_signals(X, "X")
    exact = _exact_residual_sq(phi64, X, codes, block)
    # within TOL_SLACK of the target is at it (the rounding of the tracker in float64)
    redo = np.flatnonzero((exact > target * (1 + TOL_SLACK)) & (res2 <= target))
    if redo.size and phi.dtype != np.float64:
        # the signals still short are warned of (or counted in a caller's tally) by the
        # caller: not here too
        with discard_not_converged():
            again = matching_pursuit(X[redo], phi64, progress=False, **params)
        codes[redo] = np.moveaxis(again, 1, -1)
        exact[redo] = _exact_residual_sq(phi64, X[redo], codes[redo], block)
    at_target = (res2 <= target) & (exact <= target * (1 + TOL_SLACK))
    recoded = redo.size if phi.dtype != np.float64 else 0
    return np.where(at_target, np.minimum(exact, target), exact), exact, recoded


def _warn_not_met(res2, target, tol, snr_db, max_iter, n_nonzero, positive):
    left = np.flatnonzero(res2 > target)
    n_left = left.size
    if not n_left:
        return
    goal = f"tol={tol}" if tol is not None else f"snr_db={snr_db}"
    limit = f"max_iter={max_iter} steps" + ("" if n_nonzero is None else
                                           f" or n_nonzero={n_nonzero} spikes")
    why = f"{limit} used, or no kernel copy left that lowers the residual"
    if positive:
        why += " with a positive coefficient"
    tally = current_tally()
    if tally is not None:  # counted in the caller's tally (a study's), which says it
        tally.add(f"convolutional matching_pursuit ended short of {goal} ({why})", n_left,
                  res2.size, _remedy_named(tol, snr_db, max_iter, n_nonzero))
        return
    settings = caller_settings()
    if settings is not None:  # counted even where the user filters the warning out
        settings.n_left += int(n_left)
    x_name = "X" if settings is None else settings.x_name
    why += f"; {rows_of_x(left, x_name)}"  # named, as the L1 solvers name theirs
    # the solvers' ConvergenceWarning (a UserWarning), which a filter of it silenced not
    warnings.warn(f"convolutional matching_pursuit: {n_left} of {res2.size} signals end short "
                  f"of {goal} ({why}); "
                  + _remedy_named(tol, snr_db, max_iter, n_nonzero),
                  ConvergenceWarning, stacklevel=shortfall_stacklevel())


def _remedy_named(tol, snr_db, max_iter, n_nonzero):
    """"raise the limit or loosen snr_db" when called by the user; under a caller's
    :func:`~v1model.inference._common.solver_settings` (a study), the knobs as that
    caller's user sets them ("raise max_iter (now 400, from ...) or loosen snr_db (now
    15.0)"), which the solver's own names were not."""
    goal_name = "tol" if tol is not None else "snr_db"
    settings = caller_settings()
    if settings is None:
        return f"raise the limit or loosen {goal_name}"
    limits = {"max_iter": max_iter, "n_nonzero": n_nonzero}
    raisable = [settings.setting(name, value) for name, value in limits.items()
                if value is not None]
    notes = [f"{name}={value} is fixed here" for name, value in limits.items()
             if value is not None and settings.setting(name, value) is None]
    goal = settings.setting(goal_name, tol if tol is not None else snr_db)
    return _remedy(raisable, notes, goal) + settings.advice
