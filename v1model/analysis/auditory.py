"""Frequency tuning and temporal extent of time-domain (auditory) kernels.

For kernels ``k_i(t)`` sampled at ``sample_rate`` (e.g. atoms learned by
sparse coding of sound segments, Lewicki 2002; Smith & Lewicki 2006), from
the amplitude spectrum ``|K_i(f)|`` of the zero-padded FFT (one-sided,
0 … Nyquist):

- ``peak_frequency``: the frequency of the largest ``|K(f)|`` (refined by a
  parabola through the dB values of the three bins around the peak; exact
  for a Gaussian spectrum) — the *centre frequency* used for ``q10`` and by
  :func:`bandwidth_fit`;
- ``centroid_frequency``: the power-weighted mean frequency
  ``sum f |K|^2 / sum |K|^2`` (the spectral centroid), and ``rms_bandwidth``,
  the power-weighted s.d. of frequency about it;
- ``bandwidth_3db`` and ``bandwidth_10db``: the width of the contiguous band
  around the peak where ``|K(f)|`` stays within 3 dB (amplitude ratio
  ``10**(-3/20)``) or 10 dB (``10**(-10/20)``) of the peak, band edges found
  by linear interpolation of the dB values between bins (between the refined
  peak, at 0 dB, and the bin next to it where that bin is already below the
  level: with little zero padding a band can be narrower than a bin). A band
  that reaches 0 Hz or the Nyquist frequency is cut there and flagged
  (``lowpass_*`` / ``highpass_*``): its width is then a lower bound;
- ``q10 = peak_frequency / bandwidth_10db`` (the physiologists' sharpness of
  tuning);
- the temporal envelope ``|k + i H[k]|`` (Hilbert transform,
  :func:`scipy.signal.hilbert`): ``envelope_centre`` and ``envelope_duration``,
  the mean and the s.d. of time weighted by the squared envelope (the RMS
  duration of Gabor (1946) and Cohen (1995)). A Gaussian envelope
  ``exp(-t^2 / (2 s^2))`` has an RMS duration of ``s / sqrt(2)``; a flat one
  over ``T`` seconds, ``T / sqrt(12)``. ``duration x rms_bandwidth >= 1/(4 pi)``,
  with equality for a Gabor function. ``envelope_skewness``, the skewness
  (third standardized moment) of time under the same squared envelope, is its
  asymmetry: 0 for a symmetric envelope (a Gabor function), positive for a fast
  attack and a slower decay. A gammatone of order ``n``, envelope
  ``t^(n-1) exp(-2 pi b t)``, has a squared envelope shaped as a gamma density of
  shape ``2n - 1``, hence a skewness of ``2 / sqrt(2n - 1)`` (0.756 for the
  4th-order cochlear filter) when the kernel holds its whole decay.

:func:`bandwidth_fit` fits ``log10(bandwidth) = intercept + slope
log10(centre)`` over the kernels, the summary Lewicki (2002, Fig. 7)
compares with cochlear filters: slope 1 is a constant-Q (wavelet-like) bank,
slope 0 a constant-bandwidth (Fourier-like) one. :func:`erb_bandwidth` gives
the equivalent rectangular bandwidth of human auditory filters (Glasberg &
Moore 1990) for reference.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..validation import (by_dim_names, check_array, check_bool, check_choice, check_int,
                          check_nonnegative, check_positive, dim_coord, sample_rate_by_labels)

__all__ = ["auditory_tuning", "bandwidth_fit", "erb_bandwidth", "BANDWIDTH_LEVELS_DB"]

#: the levels (dB below the peak) at which bandwidths are measured
BANDWIDTH_LEVELS_DB = (3, 10)
#: smallest default FFT length (zero padding): 4096 points at 8 kHz are 1.95 Hz per bin
MIN_FFT = 4096


def erb_bandwidth(frequency):
    """Equivalent rectangular bandwidth of human auditory filters (Hz),
    ``24.7 (4.37 f / 1000 + 1)`` (Glasberg & Moore 1990), at ``frequency`` in Hz.

    Parameters
    ----------
    frequency : float, array_like or xarray.DataArray
        Frequencies in Hz, >= 0, any shape.

    Returns
    -------
    ndarray or xarray.DataArray
        Bandwidths in Hz, of the shape of ``frequency`` (0-d for a scalar); for
        a DataArray, a DataArray with its dims and coordinates (e.g. the
        ``kernel`` labels of ``auditory_tuning(...)["peak_frequency"]``),
        named ``erb_bandwidth``, ``attrs["units"] = "Hz"``.
    """
    f = check_array(frequency, "frequency", ndim=None)
    if np.any(f < 0):
        raise ValueError(f"frequency must be >= 0 Hz, got a minimum of {float(f.min())!r}")
    erb = 24.7 * (f * (4.37 / 1000.0) + 1.0)  # f * 4.37 would overflow near the float maximum
    if isinstance(frequency, xr.DataArray):
        # a bare array lost the labels: the ERBs of kernels [3, 7] came back numbered 0, 1
        return xr.DataArray(erb, dims=frequency.dims, coords=frequency.coords,
                            name="erb_bandwidth",
                            attrs={"units": "Hz", "long_name": "equivalent rectangular "
                                   "bandwidth (Glasberg & Moore 1990)"})
    return erb


def auditory_tuning(kernels, sample_rate: float | None = None,
                    n_fft: int | None = None) -> xr.Dataset:
    """Centre frequency, bandwidths, Q10 and temporal envelope of each kernel.

    Parameters
    ----------
    kernels : array_like, shape (n_kernels, n_taps) or (n_taps,)
        Time-domain kernels, one per row (e.g. a learned dictionary), finite,
        none all zero; ``n_taps >= 4``. NaN in the last taps of every kernel
        alike (a combined sweep result's padding of a shorter time axis) is
        cut off: ``n_taps`` counts the taps before it. An
        ``xarray.DataArray`` is read by dim name: ``(kernel, lag)`` (as
        :func:`~v1model.convolutional.learn_kernels` gives them) or
        ``(kernel, time)`` (the studies' kernels), in any order.
    sample_rate : float, optional
        Hz, > 0. Default: the rate a DataArray ``kernels`` carries
        (``attrs["sample_rate_hz"]``, or its ``lag`` / ``time`` coordinate
        in s); a rate given must agree with it. Lags in samples carry none.
    n_fft : int, optional
        FFT length (zero padding), >= ``n_taps``; default the larger of
        4096 and ``16 * n_taps`` rounded up to a power of two.

    Returns
    -------
    xarray.Dataset
        Over ``kernel``: ``peak_frequency``, ``centroid_frequency``,
        ``rms_bandwidth``, ``bandwidth_3db``, ``bandwidth_10db``, the band
        edges ``low_3db``, ``high_3db``, ``low_10db``, ``high_10db`` (Hz),
        ``lowpass_3db``, ``lowpass_10db``, ``highpass_3db``,
        ``highpass_10db`` (bool: the band reaches 0 Hz or Nyquist),
        ``q10`` (1), ``envelope_centre`` and ``envelope_duration`` (s),
        ``envelope_skewness`` (1; > 0: fast attack, slower decay);
        ``spectrum`` (kernel, frequency), the amplitude spectrum in dB re
        each kernel's peak. The ``kernel`` coordinate is that of a DataArray
        ``kernels`` (so that ``auditory_tuning(k.isel(kernel=[3, 7]))`` is
        over kernels 3 and 7), else 0 ... n_kernels - 1. Attrs:
        ``sample_rate``, ``n_fft``, ``n_taps``, ``kernel_duration`` (s).

    Raises
    ------
    ValueError
        For kernels that are not 1-D or 2-D, non-finite (but for that
        trailing padding), shorter than 4 taps or all zero (a row of zeros
        has no spectrum), a non-positive ``sample_rate``, none given for
        kernels that carry none, one that contradicts the rate they carry, or
        ``n_fft < n_taps``.

    Examples
    --------
    >>> import numpy as np
    >>> t = (np.arange(128) - 64) / 8000.0
    >>> gabor = np.exp(-t**2 / (2 * 0.002**2)) * np.cos(2 * np.pi * 1000 * t)
    >>> tuning = auditory_tuning(gabor, 8000.0)
    >>> round(float(tuning.peak_frequency[0]))
    1000
    >>> round(float(tuning.envelope_duration[0]) * 1e3, 3)  # 2 ms / sqrt(2)
    1.414
    """
    from scipy.signal import hilbert

    # by dim name: read by position, kernels (lag, kernel) were taken as that many kernels
    # of n_kernels taps each, unsaid
    time = "time" if "time" in getattr(kernels, "dims", ()) else "lag"
    kernels = by_dim_names(kernels, ("kernel", time), "kernels")
    K = check_array(kernels, "kernels", ndim=(1, 2), finite=False)
    if K.ndim == 1:
        K = K[None]
    # the input's kernel labels: numbered from 0, the tuning of kernels.isel(kernel=[3, 7])
    # came back as kernels 0 and 1, and was paired with other kernels when aligned with them
    kernel_coord = _kernel_coord(kernels, len(K))
    K = _without_trailing_padding(K)
    n, taps = K.shape
    if taps < 4:
        raise ValueError(f"kernels must have at least 4 taps each, got shape {K.shape}")
    zero = np.flatnonzero(~np.any(K != 0, axis=1))
    if zero.size:
        raise ValueError(f"kernels has {zero.size} all-zero kernel(s) (rows), e.g. row "
                         f"{int(zero[0])}: a kernel of zeros has no frequency tuning")
    if sample_rate is not None:
        sample_rate = check_positive(sample_rate, "sample_rate")
    if isinstance(kernels, xr.DataArray) and kernels.dims[-1] in ("lag", "time"):
        # the taps kept (a sweep's padding cut off): their lags in s give the rate
        kernels = kernels.isel({kernels.dims[-1]: slice(0, taps)})
    sample_rate = sample_rate_by_labels(kernels, sample_rate, "kernels")
    if sample_rate is None:
        raise ValueError("sample_rate is required: kernels carry no rate (a DataArray's "
                         "attrs['sample_rate_hz'] or a 'lag' / 'time' coordinate in s)")
    if n_fft is None:
        n_fft = max(MIN_FFT, 1 << int(np.ceil(np.log2(16 * taps))))
    n_fft = check_int(n_fft, "n_fft", minimum=taps)
    # scale each kernel by its largest sample: the dB values and moments do not depend
    # on the scale, and the squares then neither overflow nor underflow
    K = K / np.abs(K).max(axis=1, keepdims=True)

    amp = np.abs(np.fft.rfft(K, n=n_fft, axis=1))
    # moments in cycles per sample and samples, scaled to Hz and s at the end: the
    # squares of frequencies (or times) in Hz overflow for extreme sample rates
    cycles = np.fft.rfftfreq(n_fft)
    freqs = cycles * sample_rate
    df = sample_rate / n_fft
    power = amp**2
    total = power.sum(axis=1)
    centroid = (power * cycles).sum(axis=1) / total
    rms_bw = np.sqrt(np.maximum((power * (cycles - centroid[:, None]) ** 2).sum(axis=1) / total,
                                0.0)) * sample_rate
    centroid = centroid * sample_rate
    floor = amp.max(axis=1, keepdims=True) * 1e-15  # exact zeros (e.g. at DC) -> -300 dB
    db = 20.0 * np.log10(np.maximum(amp, floor))
    ipk = db.argmax(axis=1)
    rows = np.arange(n)
    # parabola through the dB values of the peak bin and its neighbours
    inner = np.flatnonzero((ipk > 0) & (ipk < len(freqs) - 1))
    offset = np.zeros(n)
    peak_db = db[rows, ipk]
    a, b, c = (db[inner, ipk[inner] + s] for s in (-1, 0, 1))
    curv = a - 2 * b + c
    ok = curv < 0
    offset[inner[ok]] = 0.5 * (a - c)[ok] / curv[ok]
    peak_db[inner[ok]] = b[ok] - 0.25 * (a - c)[ok] * offset[inner[ok]]
    peak_f = (ipk + offset) * df
    rel = db - peak_db[:, None]

    data = {}
    for level in BANDWIDTH_LEVELS_DB:
        lo, hi, lowpass, highpass = _band_edges(rel, ipk + offset, -float(level), df)
        data[f"low_{level}db"] = lo
        data[f"high_{level}db"] = hi
        data[f"bandwidth_{level}db"] = hi - lo
        data[f"lowpass_{level}db"] = lowpass
        data[f"highpass_{level}db"] = highpass

    # temporal envelope: analytic signal of the zero-padded kernel, kept on its own taps
    env2 = np.abs(hilbert(K, N=n_fft, axis=1)[:, :taps]) ** 2
    t = np.arange(taps)  # samples
    e_tot = env2.sum(axis=1)
    t_mean = (env2 * t).sum(axis=1) / e_tot
    centred = t - t_mean[:, None]
    t_var = np.maximum((env2 * centred**2).sum(axis=1) / e_tot, 0.0)
    t_rms = np.sqrt(t_var) / sample_rate
    # asymmetry of the envelope (Smith & Lewicki 2006: gammatone-like, fast attack and
    # slower decay): the third standardized moment of the same distribution of time
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(t_var > 0, (env2 * centred**3).sum(axis=1) / e_tot
                        / np.where(t_var > 0, t_var, 1.0) ** 1.5, np.nan)
    t_mean = t_mean / sample_rate

    ds = xr.Dataset(coords={"kernel": kernel_coord, "frequency": ("frequency", freqs,
                                                                   {"units": "Hz"})})
    hz = {"units": "Hz"}
    ds["peak_frequency"] = ("kernel", peak_f, {**hz, "long_name": "frequency of the peak of "
                                               "the amplitude spectrum (centre frequency)"})
    ds["centroid_frequency"] = ("kernel", centroid, {**hz, "long_name": "spectral centroid "
                                                     "(power-weighted mean frequency)"})
    ds["rms_bandwidth"] = ("kernel", rms_bw, {**hz, "long_name": "power-weighted s.d. of "
                                              "frequency about the centroid"})
    for level in BANDWIDTH_LEVELS_DB:
        ds[f"bandwidth_{level}db"] = ("kernel", data[f"bandwidth_{level}db"],
                                      {**hz, "long_name": f"width of the band within {level} dB "
                                       "of the peak (a lower bound where the band reaches 0 Hz "
                                       "or Nyquist)"})
        ds[f"low_{level}db"] = ("kernel", data[f"low_{level}db"],
                                {**hz, "long_name": f"lower edge of the -{level} dB band"})
        ds[f"high_{level}db"] = ("kernel", data[f"high_{level}db"],
                                 {**hz, "long_name": f"upper edge of the -{level} dB band"})
        ds[f"lowpass_{level}db"] = ("kernel", data[f"lowpass_{level}db"],
                                    {"units": "1", "long_name": f"the -{level} dB band reaches "
                                     "0 Hz"})
        ds[f"highpass_{level}db"] = ("kernel", data[f"highpass_{level}db"],
                                     {"units": "1", "long_name": f"the -{level} dB band reaches "
                                      "the Nyquist frequency"})
    with np.errstate(divide="ignore", invalid="ignore"):
        q10 = peak_f / data["bandwidth_10db"]
    ds["q10"] = ("kernel", q10, {"units": "1", "long_name": "peak_frequency / bandwidth_10db"})
    ds["envelope_centre"] = ("kernel", t_mean, {"units": "s", "long_name": "mean time under "
                                                "the squared Hilbert envelope, from the first "
                                                "tap"})
    ds["envelope_duration"] = ("kernel", t_rms, {"units": "s", "long_name": "RMS duration: "
                                                 "s.d. of time under the squared Hilbert "
                                                 "envelope"})
    ds["envelope_skewness"] = ("kernel", skew, {"units": "1", "long_name": "skewness of "
                                                "time under the squared Hilbert envelope "
                                                "(> 0: fast attack, slower decay; 4th-order "
                                                "gammatone 2 / sqrt(7) = 0.756)"})
    ds["spectrum"] = (("kernel", "frequency"), rel,
                      {"units": "dB", "long_name": "amplitude spectrum re the peak"})
    ds.attrs.update(sample_rate=sample_rate, n_fft=n_fft, n_taps=taps,
                    kernel_duration=taps / sample_rate,
                    centre_frequency="peak_frequency",
                    bandwidth_levels_db=np.asarray(BANDWIDTH_LEVELS_DB))
    return ds


def _kernel_coord(kernels, n: int):
    """The ``kernel`` coordinate of the result: a DataArray's own labels (a 1-D one
    selected as ``kernels.sel(kernel=5)`` keeps its scalar label), else 0 ... n - 1."""
    if (isinstance(kernels, xr.DataArray) and kernels.ndim == 1 and "kernel" in kernels.coords
            and kernels.coords["kernel"].ndim == 0):
        coord = kernels.coords["kernel"]
        return ("kernel", coord.values[None], dict(coord.attrs))
    return dim_coord(kernels, "kernel", n)


def _without_trailing_padding(K):
    """``K`` (kernels by taps) without the taps that are NaN in every kernel at its end:
    the padding of a shorter time axis in a combined sweep result. Any other NaN or
    inf is an error that says where it is and what to do."""
    bad = ~np.isfinite(K)
    if not bad.any():
        return K
    nan_taps = np.isnan(K).all(axis=0)
    keep = int(np.flatnonzero(~nan_taps)[-1]) + 1 if not nan_taps.all() else 0
    if keep and not bad[:, :keep].any():
        return K[:, :keep]
    message = f"kernels contains {int(bad.sum())} non-finite value(s) (NaN or inf)"
    if keep and nan_taps[:keep].any() and not (bad[:, :keep] & ~nan_taps[:keep]).any():
        # a sweep result assembled before points kept their own time axes (an outer join
        # over sample_rate): the lower rate's kernels got NaN between their samples
        message += (f", {int(nan_taps[:keep].sum())} tap(s) NaN in every kernel between "
                    "finite ones: the padding of a combined sweep result whose points have "
                    "different time coordinates? Select one point's kernels and drop the "
                    "padding first: kernels.dropna('time')")
    elif np.isnan(K).all(axis=1).any():
        message += (f", {int(np.isnan(K).all(axis=1).sum())} kernel(s) (rows) all NaN: the "
                    "padding of a combined sweep result over the number of kernels? Drop "
                    "them first: kernels.dropna('kernel', how='all')")
    raise ValueError(message)


def _band_edges(rel, peak, level, df):
    """Edges (Hz) of the contiguous band around each peak (``peak``: its position in
    bins, where ``rel`` is 0 dB) where ``rel >= level`` (dB), linearly interpolated
    between bins, or between the peak and the bin next to it when that bin is below
    the level (a vertex refined off the peak bin can leave the bin under the level:
    interpolating between two bins both below it gave negative widths); flags for
    bands cut at 0 Hz or Nyquist."""
    n, m = rel.shape
    above = rel >= level
    lo, hi = np.empty(n), np.empty(n)
    lowpass, highpass = np.zeros(n, bool), np.zeros(n, bool)
    for i in range(n):
        x0 = peak[i]
        # bins [0, last_left] lie left of the peak, [first_right, m) right of it; the
        # peak bin itself (0 dB) when the peak was not refined off it, neither
        first_right = int(np.floor(x0)) + 1
        last_left = first_right - 1 if x0 > first_right - 1 else first_right - 2
        below_left = np.flatnonzero(~above[i, :last_left + 1])
        if below_left.size == 0:
            lo[i], lowpass[i] = 0.0, True
        elif (j := below_left[-1]) == last_left:  # rel[j] < level <= 0 dB at the peak
            lo[i] = (j + (level - rel[i, j]) / -rel[i, j] * (x0 - j)) * df
        else:  # rel[j] < level <= rel[j + 1]
            lo[i] = (j + (level - rel[i, j]) / (rel[i, j + 1] - rel[i, j])) * df
        below_right = np.flatnonzero(~above[i, first_right:])
        if below_right.size == 0:
            hi[i], highpass[i] = (m - 1) * df, True
        elif (j := first_right + below_right[0]) == first_right:  # 0 dB >= level > rel[j]
            hi[i] = (x0 + level / rel[i, j] * (j - x0)) * df
        else:  # rel[j - 1] >= level > rel[j]
            hi[i] = (j - 1 + (rel[i, j - 1] - level) / (rel[i, j - 1] - rel[i, j])) * df
    return lo, hi, lowpass, highpass


def _flag(values):
    """Boolean flags as bools: a combined sweep result holds them as floats (1.0, 0.0, and
    NaN for the padding of a shorter kernel axis, which counts as set: such a kernel has
    no band to fit)."""
    values = np.asarray(values)
    return values if values.dtype == bool else values != 0


def bandwidth_fit(tuning: xr.Dataset, bandwidth: str = "bandwidth_10db",
                  centre: str = "peak_frequency", exclude_edges: bool = True,
                  min_frequency: float | None = None) -> xr.Dataset:
    """Straight-line fit of bandwidth against centre frequency on log-log axes.

    ``log10(bandwidth) = intercept + slope * log10(centre)``, by least
    squares over the kernels (:func:`scipy.stats.linregress`).

    Parameters
    ----------
    tuning : xarray.Dataset
        The output of :func:`auditory_tuning`.
    bandwidth : {"bandwidth_10db", "bandwidth_3db", "rms_bandwidth"}, default "bandwidth_10db"
        Which bandwidth (Hz).
    centre : {"peak_frequency", "centroid_frequency"}, default "peak_frequency"
        Which centre frequency (Hz).
    exclude_edges : bool, default True
        Leave out kernels whose band (at the level of ``bandwidth``; the
        -3 dB band for ``"rms_bandwidth"``) reaches 0 Hz or the Nyquist
        frequency: their width is only a lower bound.
    min_frequency : float, optional
        Also leave out kernels centred below this frequency (Hz).

    Returns
    -------
    xarray.Dataset
        Scalars ``slope`` (1), ``intercept`` (log10 Hz), ``r`` (correlation
        of the logs), ``slope_stderr`` (1), ``n_kernels`` (count used) and
        ``used`` (kernel): which kernels entered the fit. ``slope`` and
        ``intercept`` are NaN when fewer than 3 kernels remain or their
        centre frequencies are all equal.

    Raises
    ------
    ValueError
        For a ``tuning`` that is not an :func:`auditory_tuning` result (or
        holds more dimensions than ``kernel``, as a sweep's results), an
        unknown ``bandwidth`` or ``centre``, or a negative ``min_frequency``.
    """
    from scipy.stats import linregress

    bandwidth = check_choice(bandwidth, "bandwidth",
                             ("bandwidth_10db", "bandwidth_3db", "rms_bandwidth"))
    centre = check_choice(centre, "centre", ("peak_frequency", "centroid_frequency"))
    exclude_edges = check_bool(exclude_edges, "exclude_edges")
    level = "10db" if bandwidth == "bandwidth_10db" else "3db"
    flags = {f"lowpass_{level}", f"highpass_{level}"} if exclude_edges else set()
    if not isinstance(tuning, xr.Dataset) or not {bandwidth, centre} | flags <= set(
            tuning.data_vars):
        raise ValueError("tuning must be the Dataset returned by auditory_tuning (with "
                         f"{', '.join(repr(v) for v in sorted({bandwidth, centre} | flags))}), "
                         f"got {type(tuning).__name__}")
    extra = [d for d in (*tuning[centre].dims, *tuning[bandwidth].dims) if d != "kernel"]
    if extra:  # e.g. a sweep's results: xarray's own error named no argument
        raise ValueError(f"tuning must hold one set of kernels (dimension 'kernel' only), got "
                         f"{centre!r} and {bandwidth!r} over {tuning[centre].dims} and "
                         f"{tuning[bandwidth].dims}: fit one point at a time, e.g. "
                         f"tuning.isel({extra[0]}=0)")
    if min_frequency is not None:
        min_frequency = check_nonnegative(min_frequency, "min_frequency")
    fc = tuning[centre].values
    bw = tuning[bandwidth].values
    used = np.isfinite(fc) & np.isfinite(bw) & (fc > 0) & (bw > 0)
    if exclude_edges:
        used &= ~(_flag(tuning[f"lowpass_{level}"].values)
                  | _flag(tuning[f"highpass_{level}"].values))
    if min_frequency is not None:
        used &= fc >= min_frequency
    x, y = np.log10(fc[used]), np.log10(bw[used])
    if used.sum() >= 3 and np.ptp(x) > 0:
        fit = linregress(x, y)
        slope, intercept, r, err = fit.slope, fit.intercept, fit.rvalue, fit.stderr
    else:
        slope = intercept = r = err = np.nan
    ds = xr.Dataset(coords={"kernel": tuning["kernel"].values})
    ds["slope"] = ((), float(slope), {"units": "1", "long_name": "d log10(bandwidth) / d "
                                      "log10(centre frequency)"})
    ds["intercept"] = ((), float(intercept), {"units": "log10(Hz)", "long_name": "log10 "
                                              "bandwidth at 1 Hz on the fitted line"})
    ds["r"] = ((), float(r), {"units": "1", "long_name": "correlation of the logs"})
    ds["slope_stderr"] = ((), float(err), {"units": "1", "long_name": "standard error of slope"})
    ds["n_kernels"] = ((), int(used.sum()), {"units": "1", "long_name": "kernels in the fit"})
    ds["used"] = ("kernel", used, {"units": "1", "long_name": "kernel entered the fit"})
    ds.attrs.update(bandwidth=bandwidth, centre=centre, exclude_edges=int(exclude_edges),
                    min_frequency=np.nan if min_frequency is None else float(min_frequency))
    return ds
