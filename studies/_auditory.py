"""Shared pieces of the auditory studies (``lewicki-2002-speech`` and
``smith-lewicki-2006-convolutional``): the speech source, the analysis of
kernels as auditory filters, and the figures of kernels and bandwidths."""

from __future__ import annotations

import numpy as np

#: ``audio_dir`` value that selects the synthetic stand-in
SYNTHETIC = "synthetic"
#: -10 dB bandwidth of a 4th-order gammatone of bandwidth b = 1.019 ERB, in ERBs:
#: 2 b sqrt(10^(10/40) - 1) (SciPy's FIR gammatones: 1.7976-1.7979 at 0.3-2.5 kHz)
GAMMATONE_10DB_PER_ERB = 2 * 1.019 * float(np.sqrt(10 ** (10 / 40) - 1))


def source_error() -> ValueError:
    return ValueError(
        "audio_dir: this study learns from recorded speech and none is bundled; give a folder "
        "of WAV files, e.g. -p audio_dir=PATH/free-spoken-digit-dataset/recordings "
        "(run(audio_dir=...) from Python), or audio_dir='synthetic' for synthetic harmonic "
        "sounds (stimuli.audio.harmonic_ensemble: not speech)")


def audio_folder(audio_dir, pattern):
    """``(synthetic, folder)`` for ``audio_dir`` (folder None for the synthetic stand-in,
    else its absolute path, as the result records it); raises for a missing
    ``audio_dir``, a missing folder or one without matching files."""
    if audio_dir is None or str(audio_dir).strip().lower() in ("", "none", "null"):
        raise source_error()
    from stimuli.audio import check_pattern, matching_files
    from v1model.validation import check_path

    check_pattern(pattern)
    synthetic = str(audio_dir) == SYNTHETIC
    folder = None
    if not synthetic:
        folder = check_path(str(audio_dir), "audio_dir", "folder")  # "$DATA/wavs" from a spec file
        if folder.exists() and not folder.is_dir():  # "no such folder" for a file there
            raise FileNotFoundError(f"audio_dir: {str(folder)!r} is a file; give a folder of "
                                    f"WAV files (this file's is {str(folder.parent)!r}), or "
                                    "'synthetic'")
        if not folder.is_dir():
            raise FileNotFoundError(f"audio_dir: no such folder: {str(folder)!r} (a folder of "
                                    "WAV files, or 'synthetic')")
        if not matching_files(folder, pattern, "audio_dir"):
            raise ValueError(f"audio_dir: no files matching pattern={pattern!r} in "
                             f"{str(folder)!r}")
        # a folder as typed ("wavs", "~/fsdd") names nothing once the result is elsewhere
        folder = folder.resolve()
    return synthetic, folder


def check_analysis_parameters(min_centre_frequency, localization_threshold):
    """The checked ``min_centre_frequency`` (>= 0) and ``localization_threshold`` (in (0, 1])."""
    from v1model.validation import check_nonnegative, check_probability

    min_centre_frequency = check_nonnegative(min_centre_frequency, "min_centre_frequency")
    localization_threshold = check_probability(localization_threshold,
                                               "localization_threshold", open_interval=False)
    if localization_threshold == 0:
        raise ValueError("localization_threshold must be in (0, 1], got 0")
    return min_centre_frequency, localization_threshold


def check_below_nyquist(min_centre_frequency, rate):
    """No kernel can peak at or above Nyquist: such a floor would leave the fit empty."""
    if min_centre_frequency >= rate / 2:
        raise ValueError(f"min_centre_frequency={min_centre_frequency!r} Hz is at or above the "
                         f"Nyquist frequency of the segments ({rate / 2:g} Hz): no kernel could "
                         "count as band-pass or enter the fit")


#: pitch range (Hz) of the harmonic stacks that stand in for speech (audio_dir="synthetic")
SYNTHETIC_F0_RANGE = (100.0, 400.0)


def check_synthetic_rate(sample_rate):
    """The synthetic stand-in's highest pitch must lie below the Nyquist frequency of
    ``sample_rate`` (None: 8 kHz): refused here naming the study's parameter, not
    later by harmonic_ensemble naming its own ``f0_range``."""
    high = SYNTHETIC_F0_RANGE[1]
    if sample_rate is not None and sample_rate <= 2 * high:
        raise ValueError(f"sample_rate={sample_rate!r} Hz is too low for audio_dir='synthetic': "
                         f"its harmonic stacks have pitches up to {high:g} Hz, which need "
                         f"sample_rate above {2 * high:g} Hz (default 8000)")


def load_audio(folder, pattern, sample_rate, length, n, min_rms, rng, *,
               unit_rms_synthetic=False, length_name="segment_length",
               min_relative_rms=0.0):
    """Unit-RMS pieces of ``length`` samples, the rate, a description of the source, and
    the counts of the recordings (:func:`file_counts`; ``n_train_files`` those the
    pieces are cut from). ``folder`` None: the synthetic stand-in (scaled to unit RMS
    only with ``unit_rms_synthetic``; every count 0). ``length_name``: the study's
    parameter that set ``length``, named when every recording is shorter. A piece is
    kept when its RMS is at least ``min_rms`` (full scale 1) and ``min_relative_rms``
    times its recording's RMS."""
    if folder is None:
        X, rate, source = _synthetic(n, length, sample_rate, rng, unit_rms_synthetic)
        return X, rate, source, dict(file_counts([], length, min_rms)[1], n_train_files=0)
    waves, rate, _ = _read_folder(folder, pattern, sample_rate, length, length_name)
    usable, counts = file_counts(waves, length, min_rms, min_relative_rms)
    # at once: the draw of pieces from silent recordings took its 50 rounds (~16 s under
    # load) to say so, naming sample_segments' length
    check_usable_recordings(waves, usable, 1, "the pieces are cut from them", folder,
                            pattern, length, length_name, min_rms, min_relative_rms)
    X = _pieces(waves, length, n, min_rms, rng, folder, min_relative_rms=min_relative_rms)
    counts["n_train_files"] = len(usable)
    return X, rate, f"WAV files {pattern!r} in {str(folder)}", counts


def file_counts(waves, length, min_rms, min_relative_rms=0.0):
    """``(usable, counts)``: the indices of the recordings that can give a piece of
    ``length`` samples (:func:`_gives_piece`), and the counts a study records of the
    others: ``n_files`` (every recording read), ``n_short_files`` (shorter than a piece)
    and ``n_quiet_files`` (silent, or quieter than ``min_rms`` or ``min_relative_rms``
    times its own RMS throughout), which give no piece. A study adds the counts of those
    its pieces are cut from (``n_train_files``, ``n_eval_files``)."""
    usable = np.flatnonzero([_gives_piece(w, length, min_rms, min_relative_rms)
                             for w in waves])
    n_short = sum(len(w) < length for w in waves)
    return usable, {"n_files": len(waves), "n_short_files": int(n_short),
                    "n_quiet_files": len(waves) - n_short - len(usable)}


def load_audio_split(folder, pattern, sample_rate, length, n, n_held_out, held_out_fraction,
                     min_rms, rng, *, unit_rms_synthetic=False,
                     length_name="segment_length", min_relative_rms=0.0,
                     pieces="excerpts"):
    """As :func:`load_audio`, plus ``n_held_out`` pieces from recordings that none of the
    ``n`` comes from: a random ``held_out_fraction`` of the files that can give a piece
    (at least ``length`` samples, not all zero, some piece with an RMS of at least
    ``min_rms`` and ``min_relative_rms`` times the recording's; rounded, at least one
    each way) is set
    aside before any piece is cut. Pieces cut at random places from the same recordings
    overlap and share a speaker's take, so they test nothing held out. ``pieces``: what
    the study calls them (``"excerpts"``, ``"segments"``), in its messages.

    Returns ``(X, X_held_out, rate, source, counts)``: ``counts`` those of
    :func:`file_counts` (``n_files`` recordings read in all, ``n_short_files`` and
    ``n_quiet_files`` that give no piece), ``n_eval_files`` the recordings only for
    ``X_held_out`` and ``n_train_files`` the others that can give a piece (those ``X``
    is cut from). The synthetic stand-in draws every piece as a sound of its own (every
    count 0)."""
    if folder is None:
        X, rate, source = _synthetic(n + n_held_out, length, sample_rate, rng,
                                     unit_rms_synthetic)
        return X[:n], X[n:], rate, source, dict(file_counts([], length, min_rms)[1],
                                                n_train_files=0, n_eval_files=0)
    waves, rate, _ = _read_folder(folder, pattern, sample_rate, length, length_name)
    if len(waves) < 2:
        raise ValueError(f"audio_dir {str(folder)!r} holds 1 recording matching "
                         f"pattern={pattern!r}: the evaluation {pieces} come from recordings "
                         "never trained on, so at least 2 are needed")
    # held out among the recordings that can give a piece: a shorter (or silent) one drawn
    # for the evaluation left it nothing to cut ("length=1024 is longer than every
    # waveform"), for some seeds and not others
    usable, counts = file_counts(waves, length, min_rms, min_relative_rms)
    check_usable_recordings(waves, usable, 2, f"the evaluation {pieces} come from recordings "
                            "never trained on", folder, pattern, length, length_name, min_rms,
                            min_relative_rms)
    n_held_files = min(max(1, round(held_out_fraction * len(usable))), len(usable) - 1)
    held = np.zeros(len(waves), dtype=bool)
    held[usable[rng.permutation(len(usable))[:n_held_files]]] = True
    X = _pieces([w for w, h in zip(waves, held) if not h], length, n, min_rms, rng, folder,
                "the training recordings", min_relative_rms)
    X_held = _pieces([w for w, h in zip(waves, held) if h], length, n_held_out, min_rms, rng,
                     folder, f"the {n_held_files} held-out recordings", min_relative_rms)
    counts.update(n_train_files=len(usable) - n_held_files, n_eval_files=n_held_files)
    return X, X_held, rate, f"WAV files {pattern!r} in {str(folder)}", counts


def check_usable_recordings(waves, usable, needed, why, folder, pattern, length, length_name,
                            min_rms, min_relative_rms):
    """Refuse, before any piece is drawn, ``waves`` with fewer than ``needed`` recordings
    that can give a piece (``usable``, of :func:`file_counts`), naming the study's
    parameters: ``length_name`` when a shorter piece would do, else ``min_rms`` (with the
    loudest piece's RMS) for quiet recordings, or saying that they are silent. ``why``
    says what the recordings are needed for."""
    if len(usable) >= needed:
        return
    need = f"{why}, so at least {needed} {'is' if needed == 1 else 'are'} needed"
    long_enough = [w for w in waves if len(w) >= length]
    if any(np.any(w) for w in waves if len(w) < length):  # sound in shorter recordings
        raise ValueError(f"{length_name}={length} samples: audio_dir {str(folder)!r} holds "
                         f"{len(usable)} recording(s) (of {len(waves)} matching "
                         f"pattern={pattern!r}) of at least that length and not silent "
                         f"(some piece with RMS >= min_rms={min_rms:g} and >= "
                         f"min_relative_rms={min_relative_rms:g} x the recording's): {need}; "
                         f"give a shorter {length_name}")
    # silent or quiet recordings (none shorter but sound): a shorter piece changes nothing
    quiet = sum(bool(np.any(w)) for w in long_enough) - len(usable)
    if quiet:
        loudest = max(_loudest_piece(w, length)[0] for w in long_enough)
        remedy = (f"{quiet} of the others are quieter throughout (the loudest piece's RMS is "
                  f"{loudest:.3g}): lower min_rms (or min_relative_rms)")
    else:
        remedy = "the others are silent (every sample 0)"
    raise ValueError(f"audio_dir {str(folder)!r} holds {len(usable)} recording(s) (of "
                     f"{len(long_enough)} of at least {length_name}={length} samples "
                     f"matching pattern={pattern!r}) with a piece of that length with RMS "
                     f">= min_rms={min_rms:g} and >= min_relative_rms={min_relative_rms:g} x "
                     f"the recording's, and {need}; {remedy}")


def _loudest_piece(wave, length):
    """``(loudest, whole)``: the largest RMS of a piece of ``length`` samples of ``wave``
    (at least that long) and the RMS of all of it, 0 and 0 for a silent one."""
    # the RMS of every window of length samples, from the running sum of squares (in
    # float64, over the loudest sample: no overflow nor underflow whatever the scale)
    top = float(np.max(np.abs(wave)))
    if top == 0:
        return 0.0, 0.0
    energy = np.concatenate([[0.0], np.cumsum(np.square(wave / top, dtype=np.float64))])
    loudest = np.max(energy[length:] - energy[:-length]) / length
    return (float(np.sqrt(max(loudest, 0.0))) * top,
            float(np.sqrt(energy[-1] / len(wave))) * top)


def _gives_piece(wave, length, min_rms, min_relative_rms=0.0):
    """Whether ``wave`` holds a piece of ``length`` samples that the pieces' draw keeps:
    not all zero (it is scaled to unit RMS) and with an RMS of at least ``min_rms`` and
    ``min_relative_rms`` times the RMS of the whole of ``wave`` somewhere. A recording
    that was not silent but quieter than ``min_rms`` throughout, drawn as the held-out
    one, left nothing to cut ("could not find 5 segments with RMS >= 0.02"), for some
    seeds and not others."""
    if len(wave) < length:
        return False
    if min_rms == 0 and min_relative_rms == 0:
        return bool(np.any(wave))
    loudest, whole = _loudest_piece(wave, length)
    if loudest == 0:
        return False
    level = max(min_rms, min_relative_rms * whole)
    # a little slack for the running sum's rounding: the draw decides at the margin
    return bool(loudest >= level * (1 - 1e-9))


def _synthetic(n, length, sample_rate, rng, unit_rms):
    from stimuli.audio import harmonic_ensemble

    rate = 8000.0 if sample_rate is None else sample_rate
    X = harmonic_ensemble(n, length, sample_rate=rate, f0_range=SYNTHETIC_F0_RANGE, seed=rng)
    if unit_rms:
        X = X / np.sqrt((X**2).mean(axis=1, keepdims=True))
    return X, rate, ("synthetic: stimuli.audio.harmonic_ensemble (harmonic stacks with "
                     "decaying envelopes; not speech)")


def _read_folder(folder, pattern, sample_rate, length, length_name):
    """The waveforms, rate and names of the files, refused when every one is shorter
    than ``length``."""
    from stimuli.audio import load_wav_folder

    try:
        waves, rate, names = load_wav_folder(folder, pattern, sample_rate=sample_rate)
    except (ValueError, FileNotFoundError) as exc:
        # a file that cannot be read (or gone since it was listed): say which argument led
        # to it
        # load_wav_folder's argument, not the study's
        message = str(exc).removeprefix("folder: ")
        raise type(exc)(f"audio_dir {str(folder)!r}: {message}") from exc
    longest = max(len(w) for w in waves)
    if length > longest:  # sample_segments would name its own argument, "length"
        raise ValueError(f"{length_name}={length} samples is longer than every recording in "
                         f"audio_dir {str(folder)!r} (longest: {longest} samples, "
                         f"{longest / rate:g} s at {rate:g} Hz); give a shorter {length_name}")
    return waves, rate, names


def _pieces(waves, length, n, min_rms, rng, folder, which="", min_relative_rms=0.0):
    from stimuli.audio import sample_segments

    # the recordings shorter than a piece, which give none, are counted by file_counts
    waves = [w for w in waves if len(w) >= length]
    try:
        return sample_segments(waves, length, n, seed=rng, min_rms=min_rms, normalize=True,
                               min_relative_rms=min_relative_rms)
    except ValueError as exc:
        where = f" ({which})" if which else ""
        raise ValueError(f"audio_dir {str(folder)!r}{where}: {exc}") from exc


def signs(kernels):
    """+1 or -1 per kernel: the sign that makes its largest excursion positive."""
    kernels = np.asarray(kernels)
    rows = np.arange(len(kernels))
    return np.where(kernels[rows, np.abs(kernels).argmax(axis=1)] < 0, -1.0, 1.0)


def signed(kernels):
    """Each kernel with its largest excursion positive (a learned sign is arbitrary)."""
    kernels = np.array(kernels, dtype=np.float64)
    return kernels * signs(kernels)[:, None]


def gammatone_bank(centres, taps, rate):
    """SciPy's FIR gammatone filters (ERB bandwidths) at ``centres`` (Hz), cut to
    ``taps`` samples; shape (len(centres), taps)."""
    from scipy.signal import gammatone

    return np.stack([gammatone(float(f), "fir", numtaps=taps, fs=rate)[0] for f in centres])


def analyse_kernels(kernels, rate, min_frequency, threshold):
    """Kernels (kernel, tap) as auditory filters: ``tuning`` sorted by peak frequency,
    ``order``, ``flat`` (RMS duration of a flat envelope over the kernel, s), ``ratio``,
    ``bandpass``, ``localized`` and the -10 / -3 dB fits ``fit10``, ``fit3``."""
    from v1model.analysis import auditory_tuning, bandwidth_fit

    n, taps = kernels.shape
    tuning = auditory_tuning(kernels, rate)
    order = np.argsort(tuning["peak_frequency"].values, kind="stable")
    tuning = tuning.isel(kernel=order).assign_coords(kernel=np.arange(n))
    flat = (taps / rate) / np.sqrt(12.0)
    ratio = tuning["envelope_duration"].values / flat
    bandpass = (~tuning["lowpass_3db"].values) & (
        tuning["peak_frequency"].values >= min_frequency)
    localized = ratio < threshold
    fit10 = bandwidth_fit(tuning, "bandwidth_10db", min_frequency=min_frequency)
    fit3 = bandwidth_fit(tuning, "bandwidth_3db", min_frequency=min_frequency)
    return dict(tuning=tuning, order=order, flat=flat, ratio=ratio, bandpass=bandpass,
                localized=localized, fit10=fit10, fit3=fit3)


def erb_slope(tuning, fit10):
    """Log-log slope of the ERB scale at the centre frequencies of the fitted kernels."""
    from v1model.analysis import erb_bandwidth

    fc_used = tuning["peak_frequency"].values[fit10["used"].values]
    return (float(np.polyfit(np.log10(fc_used), np.log10(erb_bandwidth(fc_used)), 1)[0])
            if len(fc_used) >= 3 and np.ptp(fc_used) > 0 else np.nan)


def window_bandwidth_10db(taps, rate):
    """The -10 dB bandwidth of a tone lasting ``taps`` samples (flat envelope), at fs / 4:
    the scale of bandwidths that length allows (uncertainty principle)."""
    from v1model.analysis import auditory_tuning

    tone = np.cos(2 * np.pi * 0.25 * np.arange(taps))
    return float(auditory_tuning(tone, rate)["bandwidth_10db"][0])


def median_q10(tuning, bandpass):
    """``(median, n_left_out)``: the median Q10 of the band-pass kernels whose -10 dB band
    lies inside (0 Hz, Nyquist), NaN without any, and how many band-pass kernels were
    left out. A band cut at 0 Hz or Nyquist has a width that is only a lower bound
    (``lowpass_10db`` / ``highpass_10db``), and its Q10 only an upper bound: counted in
    the median, they pulled it (FSDD, quick run: 1.347 over all, 1.420 over measured)."""
    bandpass = np.asarray(bandpass, dtype=bool)
    measured = bandpass & ~(np.asarray(tuning["lowpass_10db"].values, dtype=bool)
                            | np.asarray(tuning["highpass_10db"].values, dtype=bool))
    median = float(np.median(tuning["q10"].values[measured])) if measured.any() else np.nan
    return median, int(bandpass.sum() - measured.sum())


def gammatone_reference(tuning, used, rate, taps, min_frequency, flat, threshold):
    """Gammatone filters (SciPy's FIR, ERB bandwidths) at the centre frequencies of the
    fitted kernels, cut to ``taps`` samples (the kernels' length) and analysed like them:
    per-kernel -10 dB bandwidth (NaN where not fitted), the log-log slope and the fraction
    localized. Below ~700 Hz at 8 ms the cut, not the ERB, sets their bandwidth."""
    from v1model.analysis import auditory_tuning, bandwidth_fit

    fc = tuning["peak_frequency"].values
    bandwidth = np.full(fc.shape, np.nan)
    idx = np.flatnonzero(used & (fc > 0) & (fc < rate / 2))
    if idx.size == 0:
        return dict(bandwidth=bandwidth, slope=np.nan, fraction_localized=np.nan,
                    median_envelope_skewness=np.nan)
    bank = gammatone_bank(fc[idx], taps, rate)
    gt = auditory_tuning(bank, rate)
    bandwidth[idx] = gt["bandwidth_10db"].values
    fit = bandwidth_fit(gt, "bandwidth_10db", min_frequency=min_frequency)
    localized = gt["envelope_duration"].values / flat < threshold
    return dict(bandwidth=bandwidth, slope=float(fit["slope"]),
                fraction_localized=float(localized.mean()),
                median_envelope_skewness=float(np.median(gt["envelope_skewness"].values)))


def add_fit_variables(ds, fit10, erb, gt, span, gammatone_slope_name):
    """The fit (``fit_*``), ``erb_slope`` and the cut gammatones' ``gammatone_bandwidth_10db``
    and ``gammatone_slope`` into ``ds``; ``span`` names what the gammatones are cut to."""
    for var in ("slope", "intercept", "r", "slope_stderr", "n_kernels"):
        ds[f"fit_{var}"] = fit10[var]
    ds["fit_used"] = fit10["used"]
    ds["erb_slope"] = ((), erb, {"units": "1", "long_name": "log-log slope of the ERB "
                                 "scale fitted at the same centre frequencies"})
    ds["gammatone_bandwidth_10db"] = ("kernel", gt["bandwidth"], {
        "units": "Hz", "long_name": "-10 dB bandwidth of a gammatone filter (ERB scale) at the "
        f"kernel's centre frequency, cut to the {span} (NaN: kernel not in the fit)"})
    ds["gammatone_slope"] = ((), gt["slope"], {"units": "1", "long_name": gammatone_slope_name})
    return ds


def plot_kernel_grid(plt, ds, suptitle, height_pad):
    """The kernels' waveforms, one small axis each (red: localized), labelled with their
    peak frequency; ``height_pad`` inches added to the figure for the suptitle."""
    K = ds["kernels"].values
    n = len(K)
    t_ms = ds["time"].values * 1e3
    fc = ds["peak_frequency"].values
    n_cols = 8 if n > 32 else 4
    n_rows = int(np.ceil(n / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.6 * n_cols, 0.9 * n_rows + height_pad),
                             sharex=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.plot(t_ms, K[i], lw=0.7, color="C3" if ds["localized"].values[i] else "C0")
        ax.set_yticks([])
        # above the trace, not over it
        ax.set_title(f"{fc[i]:.0f} Hz", fontsize=6, pad=1)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)", fontsize=7)
    fig.suptitle(suptitle, fontsize=8)
    fig.tight_layout()
    return fig


def spectrum_image(ax, spec, f_khz, n):
    """Kernels' amplitude spectra (dB re peak) as an image, clipped at -40 dB."""
    return ax.imshow(np.clip(spec, -40, 0), aspect="auto", origin="lower", cmap="magma",
                     extent=(f_khz[0], f_khz[-1], -0.5, n - 0.5), interpolation="nearest",
                     vmin=-40, vmax=0)


def plot_bandwidth(plt, ds, *, length, span, title, title_fontsize, height):
    """Bandwidth against centre frequency (log-log: kernels, fit, the -10 dB width of
    uncut ERB-scale gammatones (1.80 ERB), cut gammatones, a tone as long as the kernel)
    and envelope duration against centre frequency.
    ``length`` is the kernels' length in samples, ``span`` what it is called."""
    from v1model.analysis import erb_bandwidth

    fc = ds["peak_frequency"].values
    rate = ds.attrs["sample_rate"]
    fig, axes = plt.subplots(1, 2, figsize=(10, height))
    used = ds["fit_used"].values
    bw = ds["bandwidth_10db"].values
    ax = axes[0]
    if used.any():  # (a legend entry with no marker drawn said nothing)
        ax.loglog(fc[used], bw[used], "o", ms=3.5, color="C0", label="kernels (in the fit)")
    left_out = ~used & (fc > 0)
    if left_out.any():  # (a legend entry with no marker drawn said nothing)
        ax.loglog(fc[left_out], bw[left_out], "x", ms=3.5, color="0.6",
                  label="left out (band reaches 0 Hz / Nyquist, or below the floor)")
    n_dc = int(np.count_nonzero(fc <= 0))
    if n_dc:  # no place on a log axis: said, not drawn
        ax.plot([], [], " ", label=f"{n_dc} kernel(s) peaking at 0 Hz (low-pass): not drawn")
    slope, intercept = float(ds["fit_slope"]), float(ds["fit_intercept"])
    if np.isfinite(slope) and used.any():
        grid = np.geomspace(fc[used].min(), fc[used].max(), 50)
        ax.loglog(grid, 10 ** intercept * grid**slope, "-", color="C1",
                  label=f"fit: slope {slope:.2f} (r = {float(ds['fit_r']):.2f})")
    else:  # the NaN slope of the attrs: a missing line said nothing of why
        ax.plot([], [], " ", label=f"no fit: {int(used.sum())} kernel(s) in it (3 or more "
                                   "with distinct centres needed)")
    pos = fc[fc > 0]
    if pos.size:
        # the y axis is a -10 dB width: an ERB (equivalent rectangular width) drawn as is
        # sat 1.8x below the cochlear filters it stands for
        grid = np.geomspace(max(pos.min(), 50.0), rate / 2, 50)
        ax.loglog(grid, GAMMATONE_10DB_PER_ERB * erb_bandwidth(grid), "--", color="k", lw=1,
                  label=f"ERB-scale gammatone, uncut ({GAMMATONE_10DB_PER_ERB:.2f} ERB; "
                        "Glasberg & Moore 1990)")
    if "gammatone_bandwidth_10db" in ds and used.any():
        ax.loglog(fc[used], ds["gammatone_bandwidth_10db"].values[used], "+", ms=4, color="k",
                  label=f"gammatone cut to the {span} (slope "
                        f"{float(ds['gammatone_slope']):.2f})")
    ax.axhline(ds.attrs["window_bandwidth_10db"], color="0.5", ls=":", lw=1,
               label=f"a tone as long as the {span}")
    hz_ticks(ax, rate)
    hz_ticks(ax, rate, axis="y")  # 10^2 and 10^3 alone did not say 300 or 2000 Hz
    ax.set_xlabel("centre (peak) frequency (Hz)")
    ax.set_ylabel("-10 dB bandwidth (Hz)")
    ax.set_title(title, fontsize=title_fontsize)
    # under the axes: inside, the box hid the ERB line and kernels at low bandwidth
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              frameon=False)
    ax = axes[1]
    flat_ms = length / rate / np.sqrt(12) * 1e3
    ax.semilogx(fc[fc > 0], ds["duration_ratio"].values[fc > 0] * flat_ms, "o", ms=3.5,
                color="C2")
    ax.axhline(flat_ms, color="0.5", ls=":", label=f"flat envelope over the {span}")
    hz_ticks(ax, rate)
    ax.set_xlabel("centre (peak) frequency (Hz)")
    ax.set_ylabel("envelope RMS duration (ms)")
    ax.set_title(f"{100 * ds.attrs['fraction_localized']:.0f}% localized, "
                 f"{100 * ds.attrs['fraction_bandpass']:.0f}% band-pass", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.tight_layout()
    return fig


def hz_ticks(ax, sample_rate, axis="x"):
    """Plain frequency labels on a log axis (matplotlib's minor labels overlap).

    ``axis="x"`` labels the frequencies 50 Hz to Nyquist; ``axis="y"`` (a
    bandwidth, whose range is the data's) labels the round values within the
    axis's current limits, which it keeps.
    """
    from matplotlib.ticker import NullFormatter

    if axis == "x":
        ticks = [t for t in (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
                 if t <= sample_rate / 2]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        return
    lo, hi = ax.get_ylim()
    decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    for subs in ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8)):  # finer when the range is narrow
        ticks = [t for t in (d * m for d in decades for m in subs) if lo <= t <= hi]
        if len(ticks) >= 3:
            break
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(lo, hi)
