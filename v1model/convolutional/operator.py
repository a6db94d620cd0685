"""The convolutional dictionary: a few kernels, replicated at every position.

A convolutional sparse code has one coefficient map per kernel; the signal is
the sum of each map's coefficients times its kernel placed at their positions
(the transposed convolution of deconvolutional networks, Zeiler et al. 2010;
the "replicated kernels" of Schultz et al. 2014). With ``stride`` s, kernel
copies sit every s samples. This module holds that linear map Φ (codes to
signal) and its adjoint Φᵀ (signal to feed-forward drive), nothing else.

Both are matrix products on gathered windows (``im2col``): the adjoint
multiplies every window of the signal by the kernels, the synthesis
multiplies the codes by the kernels and adds the resulting windows back by
overlap-add. Against batched FFTs (``benchmarks/bench_convolutional.py``, 16
crops of 64x64, 48 kernels of 10x10; 2026-12-06, loaded box) this is 7-83x
faster at strides 2 and 4, where FFTs cannot skip the positions between kernel
copies, and the analysis still 1.2x faster at stride 1; kernels with more
entries per copy position (12x12 at stride 1, and for the synthesis already
8x8 at stride 1 or 16x16 at stride 2; 1-D kernels from 64 taps per position,
``_FFT_MIN_1D``) are applied by FFTs instead, on the smallest grid that does
not wrap (``_FFT_ANALYSIS_MIN``).

Where the kernel copies sit (``boundary``), per spatial axis of N samples,
kernel size k and stride s:

- ``"full"``: every position whose kernel overlaps the signal at all,
  ``-(k-1), -(k-1)+s, ... <= N-1``; every sample is covered by as many
  copies as in the middle of a longer signal (``k/s`` when the stride
  divides the kernel size; otherwise a count that repeats with period s,
  e.g. 3, 2, 3, 2, ... for k=5, s=2), so the borders are coded like the
  centre.
- ``"valid"``: kernels entirely inside the signal, ``0, s, ... <= N-k``
  (samples past the last copy are not coded when ``(N-k) % s != 0``).
- ``"circular"``: positions ``0, s, ..., N-s``, kernels wrap around the
  edges (N must be a multiple of s).

Every axis of a kernel is a spatial axis, along which its copies slide: there
is no channel axis. Colour images ``(n, C, height, width)`` with kernels
``(n_kernels, C, kh, kw)`` are volumes ``C`` deep, and the kernels slide along
the channels too: ``2C - 1`` positions under ``"full"`` (codes ``(n,
n_kernels, 2C - 1, height + kh - 1, width + kw - 1)``), ``C`` under
``"circular"`` (the channels wrap). Only ``"valid"`` sums over the channels
at one position as a CNN's first layer does (codes ``(n, n_kernels, 1,
height - kh + 1, width - kw + 1)``), with valid positions across the image
too.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..validation import (CheckedAttribute, array_shape, by_dim_names, check_array,
                          check_choice, check_dtype, check_int, check_positive, describe,
                          sample_rate_by_labels)

__all__ = ["ConvolutionalDictionary", "BOUNDARIES"]

#: where kernel copies sit along each axis (module docstring)
BOUNDARIES = ("full", "valid", "circular")
#: gathered windows per block of samples in the adjoint (bounds its extra memory, ~64 MB
#: in float32)
_WINDOW_ELEMENTS = 16 * 2**20
#: kernels with at least this many entries per copy position (kernel entries / prod(stride))
#: are applied by FFTs: the window products cost in proportion to that ratio, FFTs do
#: not (their cost does not depend on the stride or the kernel size). Re-measured
#: 2026-12-06 after the window synthesis got ~3x faster (one thread, best of 5; 8x8 to
#: 24x24 kernels at strides 1, 2, 4 on 8 crops of 64x64 with 16 kernels and 6 of 72x72
#: with 8, the sizes of the schultz-2014 study; time by windows / time by FFTs):
#: the analysis 0.4-0.9 at 36 entries per position (12x12 at stride 2, 24x24 at 4),
#: 1.05-1.5 at 64 (8x8 at stride 1, 16x16 at 2), 2.2-4.5 at 144 (12x12 at 1, 24x24 at 2);
#: the synthesis 0.8-1.6 at 36, 1.0-2.3 at 64, 2.4-5.5 at 144. FISTA (100 steps, 2 runs),
#: time by windows for both maps / with the synthesis by FFTs: 0.77-1.08 at 36,
#: 0.90-1.23 at 64, 1.4-1.6 at 144; with the synthesis by FFTs / both by FFTs: 0.83-1.39
#: at 64 (on a par, and an FFT analysis spreads its rounding over every position, see
#: analyze_last), 1.3-1.65 at 144. Both thresholds stand.
_FFT_ANALYSIS_MIN = 144
_FFT_SYNTHESIS_MIN = 64
#: the threshold for 1-D signals (sounds), both directions: FISTA (100 steps) on 8
#: signals of 256 and 1024 samples, 32 kernels, one thread, re-measured 2026-12-06 after
#: the faster window synthesis (2 runs): time by windows / by FFTs 0.6-0.9 at 32 taps,
#: 0.65-0.9 at 48, 0.8-1.15 at 64 (on a par: FFTs ahead on 256 samples, behind on 1024),
#: 1.0-1.4 at 96, 1.2-1.6 at 128 (it was 1.5-2.2 at 64 taps and 3.6-4.1 at 128 with the
#: old synthesis). Windows for the analysis alone, FFTs for the synthesis, were 1.1-1.24x
#: faster than FFTs for both at 64 taps, on a par at 96, 0.9-0.96x at 128 (a separate
#: 1-D analysis threshold of 96 would gain that; not split)
_FFT_MIN_1D = 64
#: DFT points per kernel block (per degree of the transfer function) past which
#: lipschitz() bounds the supremum over all frequencies on this grid instead of using
#: the signal's own: 1/(1 - (π d / 64)² / 2) above the supremum in d dimensions (at
#: most 1.0012 for sounds, 1.0048 for images), at a cost independent of the signal
_LIPSCHITZ_GRID = 64


def check_geometry(signal_shape, kernel_shape, stride, boundary, *,
                   name: str = "signal_shape", why: str = "") -> None:
    """Kernels of ``kernel_shape`` placed every ``stride`` samples cover a signal of
    ``signal_shape`` under ``boundary`` (all tuples already checked, one entry per axis).

    Parameters
    ----------
    signal_shape, kernel_shape, stride : tuple of int
    boundary : {"full", "valid", "circular"}
    name : str
        What the signal shape is called in the messages (``learn_kernels`` codes
        crops: ``"crop_size"``).
    why : str
        Appended to the messages about the signal shape (where it came from).

    Raises
    ------
    ValueError
        A stride past the kernel (samples never coded), kernels that do not fit
        a non-"full" boundary, or a circular signal not divisible by the stride.
    """
    for axis, (n, k, s) in enumerate(zip(signal_shape, kernel_shape, stride)):
        if s > k:
            raise ValueError(
                f"stride={stride} exceeds the kernel size {kernel_shape} along axis {axis}: "
                f"samples between kernel copies would never be coded")
        if boundary != "full" and k > n:
            raise ValueError(
                f"kernels of shape {kernel_shape} do not fit in {name}={signal_shape} "
                f"with boundary={boundary!r}; use boundary='full' or smaller kernels{why}")
        if boundary == "circular" and n % s:
            raise ValueError(
                f"boundary='circular' needs {name}={signal_shape} divisible by "
                f"stride={stride} (axis {axis}){why}")


def check_sample_rate(sample_rate, ndim: int) -> float | None:
    """``sample_rate`` (Hz) as a positive finite float, or None, for signals with ``ndim``
    spatial axes: a rate applies to sounds (1-D) only.

    Parameters
    ----------
    sample_rate : float or None
    ndim : int
        Spatial (or time) axes of the signals.

    Returns
    -------
    float or None

    Raises
    ------
    ValueError
        For a rate that is not > 0 and finite, or a rate for images or volumes.
    """
    if sample_rate is None:
        return None
    rate = check_positive(sample_rate, "sample_rate")
    if ndim != 1:
        raise ValueError(f"sample_rate={sample_rate!r} applies to sounds (1-D signals); "
                         f"these signals have {ndim} spatial axes, whose positions stay in "
                         "samples")
    return rate


def time_attrs(sample_rate: float | None) -> dict:
    """The attrs that say in what a sound's time axes count: ``sample_rate_hz`` and
    ``time_units="s"`` with a rate, else ``time_units`` in samples (a reader cannot
    tell samples from seconds by the numbers).

    Parameters
    ----------
    sample_rate : float or None
        Hz, checked (:func:`check_sample_rate`).

    Returns
    -------
    dict
    """
    if sample_rate is None:
        return {"time_units": "samples (no sample_rate given)"}
    return {"sample_rate_hz": sample_rate, "time_units": "s"}


def check_signal_rate(X, rate: float | None, name: str, whose: str) -> None:
    """Refuse sounds ``X`` that carry a sample rate other than ``rate`` (Hz).

    An ``xarray.DataArray`` of sounds carries its rate in ``attrs["sample_rate_hz"]``
    or in a ``time`` coordinate in seconds (or ms, µs:
    :func:`~v1model.validation.sample_rate_by_labels`);
    arrays and DataArrays without either carry none, and pass.

    Parameters
    ----------
    X : object
        The signals as given.
    rate : float or None
        The rate the kernels are for (Hz); None checks nothing.
    name : str
        Name of ``X`` in the message.
    whose : str
        What ``rate`` belongs to, in the message (e.g. ``"the kernels"``).

    Raises
    ------
    ValueError
        When ``X`` carries a rate that differs from ``rate`` by more than 1e-6
        of it, naming both: the same kernels at another rate are other filters
        (every frequency scaled by the ratio), and the codes came back unsaid.
    """
    if rate is None:
        return
    theirs = sample_rate_by_labels(X, None, name, time_dims=("time",))
    if theirs is not None and abs(theirs - rate) > 1e-6 * rate:
        raise ValueError(
            f"{name} is sampled at {theirs:g} Hz (its attrs['sample_rate_hz'] or its 'time' "
            f"coordinate in s or ms), but {whose} are for {rate:g} Hz: the same kernels at another "
            f"rate are other filters; resample {name} to {rate:g} Hz, or use kernels "
            f"learned at {theirs:g} Hz")


def lag_coordinate(n_taps: int, sample_rate: float) -> tuple:
    """A sound kernel's ``lag`` coordinate in seconds, for ``xarray``.

    Parameters
    ----------
    n_taps : int
        Samples in a kernel.
    sample_rate : float
        Hz, checked (:func:`check_sample_rate`).

    Returns
    -------
    tuple
        ``("lag", lags, attrs)``, the lags ``arange(n_taps) / sample_rate`` in s.
    """
    return ("lag", np.arange(n_taps) / sample_rate,
            {"units": "s", "long_name": "time within the kernel"})


class ConvolutionalDictionary:
    """Kernels replicated along 1 to 3 spatial axes, as a linear map.

    Parameters
    ----------
    kernels : array_like, shape (n_kernels, *kernel_shape)
        One kernel per row; ``kernel_shape`` has 1 (sound), 2 (images) or 3
        (volumes) axes, all spatial: a leading axis of channels is one more
        axis that the kernels slide along (module docstring). Not
        renormalised: a scaled kernel is a different, valid model.
    signal_shape : tuple of int
        Shape of one signal, ``(n_times,)`` or ``(height, width)``, with as
        many axes as the kernels.
    stride : int or tuple of int, default 1
        Distance between neighbouring kernel copies, in samples, per axis; at
        most the kernel size (a larger stride leaves samples no kernel
        reaches).
    boundary : {"full", "valid", "circular"}, default "full"
        Where the copies sit (module docstring).
    dtype : {float32, float64}, default float32
        Precision of the products.

    Attributes
    ----------
    kernels : ndarray, shape (n_kernels, *kernel_shape)
        A read-only copy of the kernels in ``dtype`` (for other kernels,
        build another dictionary).
    code_shape : tuple of int
        Positions per axis of one coefficient map; codes have shape
        ``(n_samples, n_kernels, *code_shape)``.
    n_coefficients : int
        ``n_kernels * prod(code_shape)``, the number of atoms of the
        equivalent dense dictionary (:meth:`as_matrix`).
    sample_rate : float or None
        Sounds: the rate (Hz) that a DataArray ``kernels`` carries (their
        ``lag`` in s or ``attrs["sample_rate_hz"]``, as
        :func:`~v1model.convolutional.learn_kernels` gives them with a
        ``sample_rate``), which :meth:`codes_dataset` then uses; else None.
        May be set (``phi.sample_rate = 8000.0``, for kernels given as an
        array), checked as
        :class:`~v1model.convolutional.ConvolutionalNetwork` checks its own: > 0
        and finite, sounds only.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.convolutional import ConvolutionalDictionary
    >>> phi = ConvolutionalDictionary(np.ones((2, 3)) / np.sqrt(3), (8,), stride=1)
    >>> phi.code_shape
    (10,)
    >>> phi.synthesize(np.zeros((1, 2, 10))).shape
    (1, 8)
    """

    # checked whenever set: phi.sample_rate = -3 labelled every onset with a negative time,
    # and a rate set on images was taken for theirs
    sample_rate = CheckedAttribute(
        lambda value, name: None if value is None else check_positive(value, name),
        joint=lambda phi, value: check_sample_rate(value, phi.ndim))

    def __init__(self, kernels, signal_shape, *, stride=1, boundary: str = "full",
                 dtype=np.float32):
        dtype = check_dtype(dtype)
        labelled = kernels_by_dim_name(kernels)
        kernels = check_array(labelled, "kernels", ndim=(2, 3, 4), dtype=np.float64)
        d = kernels.ndim - 1
        self.ndim = d  # before sample_rate, which applies to sounds only
        # sound kernels learned with a rate carry it (their lag in s): codes_dataset then
        # labelled the codes' times in samples unless the rate was given again, unsaid
        self.sample_rate = sample_rate_by_labels(labelled, None, "kernels") if d == 1 else None
        signal_shape = _check_axes(signal_shape, "signal_shape", d, minimum=1)
        stride = _check_axes(stride, "stride", d, minimum=1)
        boundary = check_choice(boundary, "boundary", BOUNDARIES)
        k_shape = kernels.shape[1:]
        # the largest |entry|, not the norm: squares of 1e-170 underflowed to a norm of 0
        peaks = np.abs(kernels.reshape(len(kernels), -1)).max(axis=1)
        if not np.all(peaks > 0):
            raise ValueError(f"kernels: kernel {int(np.argmin(peaks))} is all zeros")
        check_geometry(signal_shape, k_shape, stride, boundary)
        # checked in dtype too: astype turned kernels beyond float32's range into inf,
        # and every synthesis into NaN, with only numpy's overflow warning
        self.kernels = check_array(kernels, "kernels", dtype=dtype, copy=True)
        # and per kernel: check_array refuses only a cast that zeroed every value, and one
        # kernel of 1e-50 beside unit ones became zeros in float32: its codes zero and the
        # solvers' range check dividing by zero (numpy's warnings), MP calling it all zeros
        lost = ~self.kernels.reshape(len(peaks), -1).any(axis=1)
        if lost.any():
            k = int(np.flatnonzero(lost)[0])
            raise ValueError(
                f"kernels: kernel {k} has values of at most {peaks[k]:.3g}, below the range "
                f"of {dtype.name} (smallest normal number {np.finfo(dtype).tiny:.3g}): it "
                "would be lost to zero; rescale that kernel or use dtype=float64")
        # read-only: the products below use copies of it (padded, blocked), so a kernel
        # changed in place reached the analysis but not the synthesis or lipschitz()
        self.kernels.flags.writeable = False
        self.signal_shape = signal_shape
        self.stride = stride
        self.boundary = boundary
        self.dtype = dtype
        self.kernel_shape = k_shape
        self.n_kernels = kernels.shape[0]
        geometry = [_axis_geometry(n, k, s, boundary)
                    for n, k, s in zip(signal_shape, k_shape, stride)]
        self.code_shape = tuple(g[0] for g in geometry)
        self._offsets = tuple(g[1] for g in geometry)  # first copy's position
        self._canvas = tuple(g[2] for g in geometry)  # samples the copies span
        self.n_coefficients = self.n_kernels * int(np.prod(self.code_shape))
        # kernels zero-padded to whole blocks of the stride, for the overlap-add
        self._blocks = tuple(-(-k // s) for k, s in zip(k_shape, stride))
        padded = np.zeros((self.n_kernels,) + tuple(b * s for b, s in
                                                    zip(self._blocks, stride)), dtype)
        padded[(slice(None),) + tuple(slice(0, k) for k in k_shape)] = self.kernels
        self._flat = np.ascontiguousarray(self.kernels.reshape(self.n_kernels, -1))
        self._flat_padded = np.ascontiguousarray(padded.reshape(self.n_kernels, -1))
        # the same entries ordered (b0, b1, s0, s1): block shifts of the stride, then
        # phases; one row per entry, one column per kernel (the synthesis's left factor)
        split = padded.reshape((self.n_kernels,) + tuple(
            x for b, s in zip(self._blocks, stride) for x in (b, s)))
        self._blocked_rows = np.ascontiguousarray(split.transpose(
            tuple(1 + 2 * i for i in range(d)) + tuple(2 + 2 * i for i in range(d)) + (0,)
        ).reshape(-1, self.n_kernels))
        # sizes and the overlap-add's slices, once: the solvers call the products hundreds
        # of times per signal, and np.prod and the slice tuples took ~5% of each small one
        self._n_positions = math.prod(self.code_shape)
        self._fft_ratio = (math.prod(k_shape), math.prod(stride))
        self._shift_slices = [(slice(None), slice(None)) + tuple(
            slice(j, j + m) for j, m in zip(shift, self.code_shape))
            for shift in itertools.product(*(range(b) for b in self._blocks))]

    def astype(self, dtype) -> "ConvolutionalDictionary":
        """The same dictionary working in ``dtype`` (``self`` when it already does).

        Parameters
        ----------
        dtype : {float32, float64}
            Precision of the products.

        Returns
        -------
        ConvolutionalDictionary
            ``self`` or a new dictionary with the same kernels and geometry.
        """
        dtype = check_dtype(dtype)
        if dtype == self.dtype:
            return self
        other = ConvolutionalDictionary(self.kernels, self.signal_shape, stride=self.stride,
                                        boundary=self.boundary, dtype=dtype)
        other.sample_rate = self.sample_rate
        return other

    def __repr__(self) -> str:
        return (f"ConvolutionalDictionary({self.n_kernels} kernels of {self.kernel_shape}, "
                f"signal_shape={self.signal_shape}, stride={self.stride}, "
                f"boundary={self.boundary!r}, dtype={self.dtype.name})")

    # -- public maps: codes are (n_samples, n_kernels, *code_shape) --------------------

    def synthesize(self, codes) -> np.ndarray:
        """Signals ``Φ a`` made by the codes.

        Parameters
        ----------
        codes : array_like, shape (n_samples, n_kernels, *code_shape)

        Returns
        -------
        ndarray, shape (n_samples, *signal_shape)
        """
        codes = check_array(codes_by_dim_name(codes, self.ndim), "codes", ndim=self.ndim + 2,
                            dtype=self.dtype)
        want = (self.n_kernels,) + self.code_shape
        if codes.shape[1:] != want:
            raise ValueError(f"codes must have shape (n_samples, {', '.join(map(str, want))}) "
                             f"for {self!r}, got {codes.shape}")
        return self.synthesize_last(np.moveaxis(codes, 1, -1))

    def analyze(self, X) -> np.ndarray:
        """Feed-forward drive ``Φᵀ x``: each kernel's inner product with the
        signal at every position.

        Parameters
        ----------
        X : array_like, shape (n_samples, *signal_shape)

        Returns
        -------
        ndarray, shape (n_samples, n_kernels, *code_shape)
        """
        X = self.check_signals(X, "X")
        return np.moveaxis(self.analyze_last(X), -1, 1)

    def check_signals(self, X, name: str = "X") -> np.ndarray:
        """``X`` as a finite ``(n_samples, *signal_shape)`` array of ``dtype``
        (one signal of ``signal_shape`` becomes a batch of one).

        Parameters
        ----------
        X : array_like, shape (n_samples, *signal_shape) or signal_shape
            Signals; an ``xarray.DataArray`` naming :data:`SIGNAL_DIMS` (and
            ``sample`` or ``image``) in another order is read by name. Sounds
            that carry a rate (``attrs["sample_rate_hz"]`` or a ``time``
            coordinate in s) must be at the dictionary's :attr:`sample_rate`,
            when it has one.
        name : str, default "X"
            Name of ``X`` in error messages.

        Returns
        -------
        ndarray, shape (n_samples, *signal_shape)
            In the dictionary's ``dtype``.

        Raises
        ------
        ValueError
            For signals of another shape, non-finite values, or sounds at
            another rate than the kernels' (:func:`check_signal_rate`).
        """
        # sounds labelled with another rate than the kernels': coded unsaid before
        check_signal_rate(X, self.sample_rate, name, "the dictionary's kernels")
        X = check_array(signals_by_dim_name(X, self.ndim, name), name, dtype=self.dtype)
        if X.ndim not in (self.ndim, self.ndim + 1):  # either may be wrong: name both
            raise ValueError(
                f"{name} must have {self.ndim + 1} dimensions (n_samples, *signal_shape), or "
                f"{self.ndim} for one signal, for kernels of shape {self.kernels.shape} "
                f"({self.ndim}-D signals); got {X.ndim} (shape {X.shape})")
        if X.ndim == self.ndim:
            X = X[None]
        if X.shape[1:] != self.signal_shape:
            raise ValueError(f"{name} must have shape (n_samples, "
                             f"{', '.join(map(str, self.signal_shape))}) for {self!r}, "
                             f"got {X.shape}")
        return X

    def positions(self) -> tuple[np.ndarray, ...]:
        """Per axis, the signal index of each kernel copy's first sample (negative
        where a ``"full"`` copy starts before the signal), in samples.

        Returns
        -------
        tuple of ndarray
            One array per signal axis, shape ``(code_shape[i],)``, in samples.
        """
        return tuple(o + s * np.arange(m) for o, s, m in
                     zip(self._offsets, self.stride, self.code_shape))

    def signal_sample_rate(self, sample_rate: float | None = None) -> float | None:
        """The sample rate (Hz) of this dictionary's signals: ``sample_rate`` as given,
        checked, else the kernels' own (:attr:`sample_rate`), else None (times in samples).

        The one place a rate given to a solver or to :meth:`codes_dataset` meets the
        rate the kernels carry.

        Parameters
        ----------
        sample_rate : float, optional
            Sounds only: a rate given by the user (Hz), > 0 and finite; it must
            agree with the kernels' own, when they carry one (relative 1e-6).

        Returns
        -------
        float or None

        Raises
        ------
        ValueError
            For a ``sample_rate`` that is not a positive finite number, given
            for images, or other than the one the kernels carry.
        """
        rate = check_sample_rate(sample_rate, self.ndim)
        if self.sample_rate is None:
            return rate
        if rate is not None and abs(rate - self.sample_rate) > 1e-6 * self.sample_rate:
            raise ValueError(f"sample_rate={sample_rate!r} contradicts the rate of the "
                             f"dictionary's kernels, {self.sample_rate:g} Hz (their lag "
                             f"in s): pass sample_rate={self.sample_rate:g}, or None to "
                             "take theirs")
        return self.sample_rate if rate is None else rate

    def codes_dataset(self, codes, *, sample_rate: float | None = None, X=None, **attrs):
        """Codes as a labelled ``xarray.Dataset`` to keep (e.g. as netCDF).

        Parameters
        ----------
        codes : array_like, shape (n_samples, n_kernels, *code_shape)
            In units of the signals. Kept in their own precision, float32 or
            float64 (other types as float64), whatever the dictionary's ``dtype``.
        sample_rate : float, optional
            Sounds (1-D kernels) only: the signals' sample rate in Hz (the
            ``rate`` that :func:`stimuli.audio.load_wav_folder` returns), > 0
            and finite; default the dictionary's :attr:`sample_rate` (that
            of kernels learned with one), which a rate given must agree
            with. With a rate, the ``time`` coordinate (each copy's onset)
            and the kernels' ``lag`` are in seconds, the onsets in samples
            stay in ``time_sample``, and ``attrs["sample_rate_hz"]`` records
            it. Without, times are in samples and ``attrs["time_units"]``
            says so.
        X : array_like, optional
            The signals coded, ``(n_samples, *signal_shape)``: the ``sample``
            coordinate takes their labels when they are a DataArray
            (:func:`signal_row_coords`: ``X.isel(sample=[2, 0])`` gives samples 2 and 0,
            and labels along them such as a class), else it numbers them 0, 1, ...
            (the solvers return plain arrays, which carry none).
        **attrs
            Recorded in ``ds.attrs`` (e.g. ``lam=0.1``), made
            netCDF-safe as a save makes them (:func:`v1model.io.clean_attrs`:
            a bool as 0/1, None as ``"None"``, a list as an array);
            not ``stride``, ``boundary``, ``signal_shape``, ``sample_rate_hz``
            or ``time_units``, which the dictionary and ``sample_rate`` set.

        Returns
        -------
        xarray.Dataset
            ``codes`` over (sample, kernel, y, x) for images or (sample,
            kernel, time) for sounds; the position coordinates are
            :meth:`positions` (in pixels for images and volumes, in samples
            for sounds, or with ``sample_rate`` in seconds); ``kernels`` over
            (kernel, ky, kx) or (kernel, lag);
            stride, boundary and signal shape in the ``codes`` variable's own
            attrs (and there only, since 2026-12-08: a copy in ``ds.attrs``,
            edited, was ignored), so that ``reconstruct(ds.codes, ds.kernels)``
            needs nothing more; ``ds.attrs`` holds the ``attrs`` given and, for
            sounds, ``sample_rate_hz`` / ``time_units``. Files written before
            hold the geometry in ``ds.attrs`` too:
            :func:`~v1model.convolutional.reconstruct` and
            :func:`~v1model.convolutional.objective` given such a Dataset refuse
            a copy that disagrees, naming both.

        Raises
        ------
        ValueError
            For codes of the wrong shape, a ``sample_rate`` that is not a
            positive finite number, given for images or other than the one
            the kernels carry, a reserved attr, or signals ``X`` invalid or of
            another number than the codes'.
        """
        import xarray as xr

        from ..io import clean_attrs

        geometry = {"stride": list(self.stride), "boundary": self.boundary,
                    "signal_shape": list(self.signal_shape)}
        sample_rate = self.signal_sample_rate(sample_rate)
        if self.ndim == 1:
            geometry.update(time_attrs(sample_rate))
        for name, own in geometry.items():  # a bare TypeError ("multiple values") else
            if name in attrs:
                raise ValueError(f"{name}={attrs[name]!r} cannot be given to codes_dataset: "
                                 f"the codes' attrs record the dictionary's own "
                                 f"{name}={own!r}"
                                 + (" (pass sample_rate)" if name == "time_units" else ""))
        if "sample_rate_hz" in attrs:  # it would contradict times left in samples
            raise ValueError(f"sample_rate_hz={attrs['sample_rate_hz']!r} cannot be given to "
                             "codes_dataset: it records sample_rate (pass sample_rate)")
        # kept in their own precision: the dictionary's dtype is the precision of its
        # maps, and float64 codes cast to a float32 dictionary's dtype lost digits unsaid
        own = np.float32 if getattr(codes, "dtype", None) == np.float32 else np.float64
        codes = check_array(codes_by_dim_name(codes, self.ndim), "codes", ndim=self.ndim + 2,
                            dtype=own)
        want = (self.n_kernels,) + self.code_shape
        if codes.shape[1:] != want:
            raise ValueError(f"codes must have shape (n_samples, {', '.join(map(str, want))}) "
                             f"for {self!r}, got {codes.shape}")
        dims = SIGNAL_DIMS[self.ndim]
        kdims = kernel_dims(self.ndim)
        # an image's positions count pixels, as every other image coordinate of the
        # package does (a sound's count samples, or seconds below)
        unit = "samples" if self.ndim == 1 else "pixel"
        first = "first sample" if self.ndim == 1 else "first pixel"
        coords = {dim: (dim, pos, {"units": unit,
                                   "long_name": f"{first} of the kernel copy"
                                   + ("" if self.ndim == 1 else f" along {dim}")})
                  for dim, pos in zip(dims, self.positions())}
        if sample_rate is not None:
            onset = self.positions()[0]
            coords.update(
                time=("time", onset / sample_rate, {
                    "units": "s", "long_name": "onset of the kernel copy"}),
                time_sample=("time", onset, {"units": "samples",
                                             "long_name": "first sample of the kernel copy"}),
                lag=lag_coordinate(self.kernel_shape[0], sample_rate))
        n_signals = len(codes) if X is None else len(self.check_signals(X, "X"))
        if n_signals != len(codes):  # row_coords would number them 0 ... n - 1, unsaid
            raise ValueError(f"X holds {n_signals} signals but codes {len(codes)}: give the "
                             "signals the codes are of")
        coords.update(signal_row_coords(X, self.ndim, len(codes)),
                      kernel=np.arange(self.n_kernels))
        ds = xr.Dataset(
            {"codes": (("sample", "kernel") + dims, codes,
                       {"long_name": "convolutional sparse codes",
                        "units": "units of X"}),  # kernels are dimensionless
             "kernels": (("kernel",) + kdims, self.kernels.astype(np.float64),
                         {"long_name": "convolution kernels", "units": "1"})},
            coords=coords)
        # the geometry on the codes themselves, and there only: ds.codes alone
        # (reconstruct's argument) lost the signal shape, which the code shape does not fix
        # for stride > 1; and a second copy in ds.attrs, edited, was ignored unsaid
        ds["codes"].attrs.update(clean_attrs(
            {name: geometry[name] for name in CODES_GEOMETRY}))
        # netCDF-safe in memory, as the learning histories: bools and None were
        # kept raw here and read back as 1 and "None" only after a save
        ds.attrs.update(clean_attrs({**{name: value for name, value in geometry.items()
                                        if name not in CODES_GEOMETRY}, **attrs}))
        return ds

    def as_matrix(self) -> np.ndarray:
        """The equivalent dense dictionary, one row per coefficient.

        Row ``i`` is kernel ``i // prod(code_shape)`` placed at position
        ``i % prod(code_shape)`` (C order), flattened over the signal; its
        norm is below the kernel's where ``"full"`` copies stick out of the
        signal. For tests and small problems: it has ``n_coefficients x
        prod(signal_shape)`` entries.

        Returns
        -------
        ndarray, shape (n_coefficients, prod(signal_shape)), float64
        """
        size = self.n_coefficients * int(np.prod(self.signal_shape))
        if size > 50_000_000:
            raise ValueError(f"the dense matrix of {self!r} would have {size:,} entries; "
                             "as_matrix is meant for small problems")
        n_features = int(np.prod(self.signal_shape))
        # the adjoint of unit signals by window products in float64, never by FFTs: a
        # unit signal's windows hold a single 1, so every entry is a kernel value or an
        # exact zero (float32 FFTs left ~6e-8 where a "full" copy has one tiny sample)
        twin = self.astype(np.float64)
        out = np.empty((self.n_kernels,) + self.code_shape + (n_features,))
        per_signal = int(np.prod(self.code_shape)) * twin._flat.shape[1]
        block = max(1, _WINDOW_ELEMENTS // max(per_signal, 1))
        for start in range(0, n_features, block):
            stop = min(start + block, n_features)
            eye = np.zeros((stop - start, n_features))
            eye[np.arange(stop - start), np.arange(start, stop)] = 1.0
            cols = twin._windows(eye.reshape((-1,) + self.signal_shape)) @ twin._flat.T
            out[..., start:stop] = np.moveaxis(
                cols.reshape((stop - start,) + self.code_shape + (self.n_kernels,)), (0, -1),
                (-1, 0))
        return out.reshape(self.n_coefficients, n_features)

    def lipschitz(self) -> float:
        """An upper bound on ``||Φ||²``, the largest eigenvalue of ``ΦᵀΦ``.

        The stride's polyphase components turn Φ into a convolution from
        ``n_kernels`` maps to ``prod(stride)`` phases, whose squared norm is at
        most the largest ``σ²`` of its transfer matrix over a DFT grid on which
        that convolution does not wrap: exact for ``"circular"``, close when
        the signal is many kernels long, loose when only a few copies fit (a
        12x12 kernel on a 20x20 signal: about 2x for ``"valid"``). Along an
        axis where that grid would pass ``64 (b - 1)`` points (``b`` kernel
        blocks of the stride, ``_LIPSCHITZ_GRID``; long sounds, large images),
        a grid of that size bounds the supremum over all frequencies instead:
        at most 0.12% (1-D), 0.5% (2-D) or 1.1% (3-D) above it, also for
        ``"circular"``, at a cost that does not grow with the signal. It sets
        the step ``1/L`` of ISTA and the LCA's stability limit (a loose bound
        only shortens them).

        Returns
        -------
        float
            The bound, in squared units of the kernels.
        """
        blocks, stride = self._blocks, self.stride
        d = self.ndim
        if self.boundary == "circular":
            grid = tuple(n // s for n, s in zip(self.signal_shape, stride))
        else:
            grid = tuple(m + b - 1 for m, b in zip(self.code_shape, blocks))
        # The transfer matrix's Gram entries are trigonometric polynomials of degree
        # b - 1 per axis, and so is v* G(w) v for the top eigenvector v at the frequency
        # w* of the supremum Λ (>= every grid's value: Φ is a section of the infinite
        # convolution). Along a line through w*, Bernstein's inequality bounds its second
        # derivative by (Σ (b - 1) |δ|)² Λ, and its slope at the maximum is zero: a grid
        # of M points per axis (|δ| <= π / M) reaches at least Λ (1 - (π Σ (b - 1) / M)²
        # / 2). Long axes take that grid and the bound divides by this factor.
        coarse = [max(_LIPSCHITZ_GRID * (b - 1), 1) for b in blocks]
        spread = np.pi * sum((b - 1) / c for b, g, c in zip(blocks, grid, coarse) if g > c)
        grid = tuple(min(g, c) for g, c in zip(grid, coarse))
        factor = 1.0 / (1.0 - 0.5 * spread ** 2)
        # (K, b0, s0, b1, s1, ...) -> (K, s0, s1, ..., b0, b1, ...): phases, then blocks
        k = self._flat_padded.astype(np.float64).reshape(
            (self.n_kernels,) + tuple(x for b, s in zip(blocks, stride) for x in (b, s)))
        order = (0,) + tuple(2 + 2 * i for i in range(d)) + tuple(1 + 2 * i for i in range(d))
        k = k.transpose(order)
        # the grid always holds the blocks (no wrap-around to fold): m + b - 1 >= b, a
        # circular signal's n / s >= ceil(k / s) because the kernel fits (k <= n) and s | n,
        # and 64 (b - 1) >= b
        H = np.fft.fftn(k, s=grid, axes=tuple(range(1 + d, 1 + 2 * d)))
        H = H.reshape(self.n_kernels, int(np.prod(stride)), -1)  # (K, phases, frequencies)
        H = np.moveaxis(H, -1, 0)
        small = (H @ H.conj().transpose(0, 2, 1) if H.shape[1] <= H.shape[2]
                 else H.conj().transpose(0, 2, 1) @ H)
        return factor * float(np.linalg.eigvalsh(small)[:, -1].max())

    # -- channels-last kernels for the solvers: codes are (n, *code_shape, n_kernels) ------

    def analyze_last(self, X: np.ndarray, *, local: bool = False,
                     canvas: np.ndarray | None = None) -> np.ndarray:
        """``Φᵀ x`` for ``X`` of shape (n, *signal_shape) in ``dtype`` (trusted);
        returns (n, *code_shape, n_kernels).

        Parameters
        ----------
        X : ndarray, shape (n, *signal_shape)
            Signals in ``dtype``, not checked.
        local : bool, default False
            Window products even where FFTs are faster: each output's rounding
            then scales with the signal under its copy alone (an FFT's with the
            whole signal: ~1e-7 of a loud event in float32 at every position,
            also where the signal is zero).
        canvas : ndarray, optional
            A buffer from :meth:`canvas_buffer` for at least ``n`` signals,
            reused call after call (the solvers' iterations) instead of padding
            ``X`` anew each time; the same result, bit for bit. Its contents
            are overwritten: one buffer per caller (not shared between threads).

        Returns
        -------
        ndarray, shape (n, *code_shape, n_kernels)
            Each kernel's inner product with the signal at every position, in
            ``dtype``.
        """
        n = X.shape[0]
        out = np.empty((n,) + self.code_shape + (self.n_kernels,), self.dtype)
        if not local and self._uses_fft(_FFT_ANALYSIS_MIN):
            return self._fft_blocks(X, out, self._fft_analyze)
        per_sample = self._n_positions * self._flat.shape[1]
        block = max(1, _WINDOW_ELEMENTS // max(per_sample, 1))
        for start in range(0, n, block):
            flat = self._windows(X[start:start + block], canvas)
            out[start:start + block] = (flat @ self._flat.T).reshape(
                (-1,) + self.code_shape + (self.n_kernels,))
        return out

    def canvas_buffer(self, n: int) -> np.ndarray | None:
        """A zero-padded canvas for :meth:`analyze_last` (``canvas=``) to reuse on
        ``n`` signals at a time, or None where the analysis pads nothing
        (``"valid"``) or runs by FFTs.

        Parameters
        ----------
        n : int
            Most signals per call.

        Returns
        -------
        ndarray, shape (min(n, block), *canvas) in ``dtype``, or None
            ``block``: the signals the window products take at a time.
        """
        n = check_int(n, "n", minimum=1)
        if self.boundary == "valid" or self._uses_fft(_FFT_ANALYSIS_MIN):
            return None
        per_sample = int(np.prod(self.code_shape)) * self._flat.shape[1]
        block = max(1, _WINDOW_ELEMENTS // max(per_sample, 1))
        # zeros once: _canvas_of writes the signals (and, circular, their wrap) only
        return np.zeros((min(n, block),) + self._canvas, self.dtype)

    def _windows(self, X: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The signal windows every kernel copy sits on, (n * prod(code_shape),
        prod(kernel_shape)), positions in C order."""
        axes = tuple(range(1, self.ndim + 1))
        take = (slice(None),) + tuple(slice(None, None, s) for s in self.stride)
        windows = np.lib.stride_tricks.sliding_window_view(
            self._canvas_of(X, canvas), self.kernel_shape, axis=axes)[take]
        windows = windows[(slice(None),) + tuple(slice(0, m) for m in self.code_shape)]
        return np.ascontiguousarray(windows).reshape(-1, self._flat.shape[1])

    def kernel_gradient_last(self, R: np.ndarray, A: np.ndarray) -> np.ndarray:
        """``-∂/∂kernels`` of ``0.5 ||x - Φ a||²`` at residuals ``R`` (n,
        *signal_shape) and channels-last codes ``A`` (n, *code_shape,
        n_kernels), summed over signals (trusted inputs): each kernel's codes
        times the residual windows they sit on. Shape (n_kernels, *kernel_shape).

        Parameters
        ----------
        R : ndarray, shape (n, *signal_shape)
            Residuals ``x - Φ a``, not checked.
        A : ndarray, shape (n, *code_shape, n_kernels)
            Channels-last codes, not checked.

        Returns
        -------
        ndarray, shape (n_kernels, *kernel_shape), float64
        """
        grad = np.zeros((self.n_kernels, self._flat.shape[1]), np.float64)
        per_sample = int(np.prod(self.code_shape)) * self._flat.shape[1]
        block = max(1, _WINDOW_ELEMENTS // max(per_sample, 1))
        for start in range(0, len(R), block):
            flat = self._windows(R[start:start + block])
            grad += A[start:start + block].reshape(-1, self.n_kernels).T @ flat
        return grad.reshape((self.n_kernels,) + self.kernel_shape)

    def synthesize_last(self, A: np.ndarray) -> np.ndarray:
        """``Φ a`` for channels-last codes (n, *code_shape, n_kernels) in
        ``dtype`` (trusted); returns (n, *signal_shape).

        Parameters
        ----------
        A : ndarray, shape (n, *code_shape, n_kernels)
            Channels-last codes in ``dtype``, not checked.

        Returns
        -------
        ndarray, shape (n, *signal_shape)
            The signals in ``dtype``.
        """
        if self._uses_fft(_FFT_SYNTHESIS_MIN):
            out = np.empty((A.shape[0],) + self.signal_shape, self.dtype)
            return self._fft_blocks(A, out, self._fft_synthesize)
        n, d = A.shape[0], self.ndim
        blocks, stride, M = self._blocks, self.stride, self.code_shape
        # one product gives every window, its rows ordered (block shift, phase) and its
        # columns the code positions: each block shift's windows are one contiguous
        # (phases, n, *M) slab to add, with no copy (the product the other way round,
        # (n * M, shifts * phases), had to be transposed: a copy as large as the product
        # that took 3/4 of the synthesis for 12x12 kernels at stride 2; the codes' own
        # transpose is a flag to BLAS)
        n_shifts, n_phases = len(self._shift_slices), self._fft_ratio[1]
        P = (self._blocked_rows @ A.reshape(-1, self.n_kernels).T).reshape(
            (n_shifts, n_phases, n) + M)
        canvas = np.zeros((n_phases, n) + tuple(m + b - 1 for m, b in zip(M, blocks)),
                          self.dtype)
        for i, where in enumerate(self._shift_slices):  # block shifts in C order
            canvas[where] += P[i]
        # (s0, s1, n, J0, J1) -> (n, J0, s0, J1, s1): blocks of the stride back in place
        canvas = canvas.reshape(stride + canvas.shape[1:]).transpose(
            (d,) + tuple(x for i in range(d) for x in (d + 1 + i, i)))
        canvas = canvas.reshape((n,) + tuple((m + b - 1) * s
                                             for m, b, s in zip(M, blocks, stride)))
        return self._signal_of(canvas)

    # -- big kernels, small strides: products in the frequency domain -----------------

    def _uses_fft(self, min_entries: int) -> bool:
        if self.ndim == 1:
            min_entries = _FFT_MIN_1D
        return self._fft_ratio[0] >= min_entries * self._fft_ratio[1]

    def _fft_setup(self):
        """The FFT grid, the copies' positions on it and the kernels' spectra
        (*frequencies, n_kernels), computed once.

        The grid is the smallest on which nothing wraps that should not: N + k - 1
        for ``"full"``, N for ``"valid"``, exactly N (wrapping is the point) for
        ``"circular"``; a copy at position p (negative for ``"full"``) sits at
        p mod grid. This is smaller than the canvas the window products use
        (N + 2k - 2 for ``"full"``): 1.35x fewer points for 16x16 kernels on 64x64.
        """
        if not hasattr(self, "_spectra"):
            from scipy import fft

            if self.boundary == "circular":
                grid = self.signal_shape
            elif self.boundary == "full":
                grid = tuple(fft.next_fast_len(n + k - 1, real=True)
                             for n, k in zip(self.signal_shape, self.kernel_shape))
            else:
                grid = tuple(fft.next_fast_len(n, real=True) for n in self.signal_shape)
            self._fft_shape = grid
            where = [p % g for p, g in zip(self.positions(), grid)]
            self._fft_where = np.ix_(*where)
            spectra = fft.rfftn(self.kernels, s=grid, axes=tuple(range(1, self.ndim + 1)))
            self._spectra = np.ascontiguousarray(np.moveaxis(spectra, 0, -1))
        return self._fft_shape, self._spectra

    def _fft_blocks(self, inputs, out, apply):
        """``apply`` over blocks of samples whose spectra stay near 128 MB."""
        shape, spectra = self._fft_setup()
        block = max(1, _WINDOW_ELEMENTS // max(spectra.size, 1))
        for start in range(0, len(inputs), block):
            out[start:start + block] = apply(inputs[start:start + block], shape, spectra)
        return out

    def _fft_analyze(self, X, shape, spectra):
        from scipy import fft

        axes = tuple(range(1, self.ndim + 1))
        # correlation: the signal's spectrum times the kernels' conjugate spectra, read
        # at each copy's position on the grid
        spectrum = fft.rfftn(X, s=shape, axes=axes)
        drive = fft.irfftn(spectrum[..., None] * spectra.conj(), s=shape, axes=axes)
        return drive[(slice(None),) + self._fft_where]

    def _fft_synthesize(self, A, shape, spectra):
        from scipy import fft

        axes = tuple(range(1, self.ndim + 1))
        # the codes at their positions on the grid, convolved with the kernels, summed
        # over kernels in the frequency domain: one inverse FFT per signal
        placed = np.zeros((len(A),) + shape + (self.n_kernels,), self.dtype)
        placed[(slice(None),) + self._fft_where] = A
        spectrum = np.einsum("n...k,...k->n...", fft.rfftn(placed, axes=axes), spectra)
        made = fft.irfftn(spectrum, s=shape, axes=axes)
        return made[(slice(None),) + tuple(slice(0, n) for n in self.signal_shape)]

    # -- the canvas: the samples the kernel copies span, first copy at index 0 ---------

    def _canvas_of(self, X: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """The signals on the canvas: zero- (or wrap-) padded, or cropped; written
        into ``canvas`` (:meth:`canvas_buffer`) when given: np.pad took ~23 µs a call
        (the copy 2 µs), 20-34% of the analysis of 8 crops of 32x32 or 6 of 72x72
        (8x8 kernels, strides 2 to 8)."""
        if canvas is not None and self.boundary != "valid":
            canvas = canvas[:len(X)]
            if self.boundary == "full":  # the zero border was never written
                canvas[(slice(None),) + tuple(slice(-o, -o + n) for o, n in
                                              zip(self._offsets, self.signal_shape))] = X
                return canvas
            canvas[(slice(None),) + tuple(slice(0, n) for n in self.signal_shape)] = X
            # the wrap, axis by axis as np.pad does: later axes copy the earlier ones' wrap
            for axis, n in enumerate(self.signal_shape, start=1):
                extra = canvas.shape[axis] - n
                if extra > 0:
                    before = (slice(None),) * axis
                    canvas[before + (slice(n, n + extra),)] = canvas[before + (slice(0, extra),)]
            return canvas
        if self.boundary == "circular":
            pad = [(0, 0)] + [(0, c - n) for c, n in zip(self._canvas, self.signal_shape)]
            return np.pad(X, pad, mode="wrap")
        if self.boundary == "full":
            pad = [(0, 0)] + [(-o, c + o - n) for o, c, n in
                              zip(self._offsets, self._canvas, self.signal_shape)]
            return np.pad(X, pad)
        return X[(slice(None),) + tuple(slice(0, c) for c in self._canvas)]

    def _signal_of(self, canvas: np.ndarray) -> np.ndarray:
        """The signals a canvas of overlap-added copies makes (adjoint of _canvas_of)."""
        d = self.ndim
        if self.boundary == "circular":
            for axis, n in enumerate(self.signal_shape, start=1):
                extra = canvas.shape[axis] - n
                if extra > 0:  # copies past the end wrap onto the start
                    head = canvas.take(range(n), axis=axis)
                    tail = canvas.take(range(n, n + extra), axis=axis)
                    head[(slice(None),) * axis + (slice(0, extra),)] += tail
                    canvas = head
            return np.ascontiguousarray(canvas[(slice(None),) + tuple(
                slice(0, n) for n in self.signal_shape)])
        if self.boundary == "full":
            crop = tuple(slice(-o, -o + n) for o, n in zip(self._offsets, self.signal_shape))
            return np.ascontiguousarray(canvas[(slice(None),) + crop])
        out = np.zeros((canvas.shape[0],) + self.signal_shape, self.dtype)
        cover = tuple(slice(0, min(c, n)) for c, n in zip(canvas.shape[1:1 + d],
                                                          self.signal_shape))
        out[(slice(None),) + cover] = canvas[(slice(None),) + cover]
        return out


def kernels_by_dim_name(kernels, name: str = "kernels"):
    """``kernels`` as given, or, for an ``xarray.DataArray`` of 2 to 4 dims, with its axes
    in the order ``("kernel", *kernel_dims(d))`` when it names them
    (:func:`~v1model.validation.by_dim_names`): read by position, kernels (kernel, kx, ky)
    were taken transposed, unsaid."""
    ndim = getattr(kernels, "ndim", 0)
    if not 2 <= ndim <= 4:
        return kernels
    return by_dim_names(kernels, ("kernel",) + kernel_dims(ndim - 1), name)


#: the geometry :meth:`ConvolutionalDictionary.codes_dataset` records in the codes' attrs
CODES_GEOMETRY = ("signal_shape", "stride", "boundary")

#: names of a signal's axes, as :meth:`ConvolutionalDictionary.codes_dataset` writes them:
#: sounds (time,), images (y, x), volumes (z, y, x)
SIGNAL_DIMS = {1: ("time",), 2: ("y", "x"), 3: ("z", "y", "x")}


def signal_row_coords(X, d: int, n: int) -> dict:
    """The ``sample`` coordinates of the codes of ``n`` signals ``X`` of ``d`` dims.

    ``X``'s own labels as :func:`~v1model.validation.row_coords` reads them (its index
    and any other labels along its samples; an ``image`` dim read as ``sample``, as
    :func:`signals_by_dim_name` reads it), else 0 ... n - 1 (plain arrays). Without
    them, ``X.isel(sample=[2, 0])`` came back as samples 0 and 1.

    Parameters
    ----------
    X : array_like or xarray.DataArray
        The signals as given, already checked: ``(n, *signal_shape)`` or one signal.
    d : int
        Dims of a signal (1 sounds, 2 images, 3 volumes).
    n : int
        Number of signals.

    Returns
    -------
    dict
        Coordinates for ``assign_coords``: ``sample`` and any labels along it.
    """
    from ..validation import row_coords

    dims = ("sample",) + SIGNAL_DIMS[d]
    if getattr(X, "ndim", 0) == d + 1 and "image" in getattr(X, "dims", ()):
        X = X.rename({"image": "sample"})
    return row_coords(X, n, dims)


def signals_by_dim_name(X, d: int, name: str = "X"):
    """``X`` as given, or, for an ``xarray.DataArray`` of ``d`` signal dims
    (:data:`SIGNAL_DIMS`) with or without a first one, ``sample`` (``image`` for a
    stack of images, as :mod:`stimuli.images` names it), with its axes in that order
    when it names them, or all but one (:func:`~v1model.validation.by_dim_names`; one
    naming them at other positions beside two or more other names is refused): read
    by position, sounds (time, sample) were taken as that many sounds of one sample
    each, and images (sample, x, y) transposed, unsaid."""
    ndim = getattr(X, "ndim", 0)
    if d not in SIGNAL_DIMS or ndim not in (d, d + 1) or ndim == 1:  # one sound: one order
        return X
    dims = SIGNAL_DIMS[d]
    if ndim == d + 1:
        dims = ("image" if "image" in getattr(X, "dims", ()) else "sample",) + dims
    return by_dim_names(X, dims, name)


def codes_by_dim_name(codes, d: int, name: str = "codes"):
    """``codes`` as given, or, for an ``xarray.DataArray`` with the dims
    :meth:`ConvolutionalDictionary.codes_dataset` writes, ``(sample, kernel,
    *SIGNAL_DIMS[d])``, in another order, in that order
    (:func:`~v1model.validation.by_dim_names`)."""
    if d not in SIGNAL_DIMS:
        return codes
    return by_dim_names(codes, ("sample", "kernel") + SIGNAL_DIMS[d], name)


def kernel_dims(d: int) -> tuple[str, ...]:
    """Names of a kernel's axes: ("lag",) for sounds, ("ky", "kx") for images,
    ("kz", "ky", "kx") for volumes.

    Parameters
    ----------
    d : int
        Number of spatial axes of a kernel: 1, 2 or 3.

    Returns
    -------
    tuple of str
        The ``d`` axis names.

    Raises
    ------
    ValueError
        For ``d`` other than 1, 2 or 3.
    """
    names = {1: ("lag",), 2: ("ky", "kx"), 3: ("kz", "ky", "kx")}
    if d not in names:
        raise ValueError(f"d must be 1, 2 or 3 (spatial axes of a kernel), got {d!r}")
    return names[d]


def _axis_geometry(n: int, k: int, s: int, boundary: str):
    """Code positions, first copy's offset and samples spanned along one axis."""
    if boundary == "full":
        m = (n + k - 2) // s + 1
        return m, -(k - 1), (m - 1) * s + k
    if boundary == "valid":
        m = (n - k) // s + 1
        return m, 0, (m - 1) * s + k
    m = n // s
    return m, 0, (m - 1) * s + k


def _check_axes(value, name: str, d: int, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of ``d`` ints, each >= ``minimum``, as a tuple."""
    if len(array_shape(value, name)) == 0:  # a ragged list: numpy's error named nothing
        return (check_int(value, name, minimum=minimum),) * d
    try:
        items = tuple(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an int or a tuple of {d} ints, "
                        f"got {describe(value)}") from exc
    if len(items) != d:
        raise ValueError(f"{name} must have {d} entries (one per spatial axis of the "
                         f"kernels), got {value!r}")
    return tuple(check_int(v, name, minimum=minimum) for v in items)
