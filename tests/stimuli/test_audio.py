"""stimuli.audio: WAV reading against the file's own samples, segments, ensembles."""

import re
import warnings

import numpy as np
import pytest
from scipy.io import wavfile

from stimuli.audio import (
    harmonic_ensemble,
    load_wav,
    load_wav_folder,
    resample,
    sample_segments,
)


def test_int16_wav_scaled_to_unit_range(tmp_path):
    data = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    wavfile.write(tmp_path / "a.wav", 8000, data)
    x, rate = load_wav(tmp_path / "a.wav")
    assert rate == 8000
    np.testing.assert_allclose(x, data / 32768.0)


def test_stereo_is_averaged(tmp_path):
    data = np.stack([np.full(10, 0.5), np.full(10, -0.1)], axis=1).astype(np.float32)
    wavfile.write(tmp_path / "s.wav", 16000, data)
    x, _ = load_wav(tmp_path / "s.wav")
    np.testing.assert_allclose(x, 0.2, rtol=1e-6)


def test_resample_keeps_a_tone():
    rate_in, rate_out, f = 16000.0, 8000.0, 440.0
    t = np.arange(16000) / rate_in
    y = resample(np.sin(2 * np.pi * f * t), rate_in, rate_out)
    assert len(y) == 8000
    spectrum = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(len(y), 1 / rate_out)[spectrum.argmax()] == pytest.approx(f, abs=1)


def test_segments_are_windows_of_the_waveform():
    wave = np.arange(1000.0)
    X = sample_segments(wave, 50, 20, seed=0)
    assert X.shape == (20, 50)
    np.testing.assert_array_equal(np.diff(X, axis=1), 1.0)
    np.testing.assert_array_equal(X, sample_segments(wave, 50, 20, seed=0))


def test_segments_skip_silence():
    wave = np.concatenate([np.zeros(5000), np.random.default_rng(0).standard_normal(5000)])
    X = sample_segments(wave, 100, 50, seed=1, min_rms=0.5)
    assert np.sqrt((X**2).mean(axis=1)).min() >= 0.5


def test_harmonic_ensemble_has_pitch_in_range():
    X = harmonic_ensemble(20, 2048, sample_rate=8000, f0_range=(150, 200), noise=0.0, seed=0)
    np.testing.assert_allclose(np.sqrt((X**2).mean(axis=1)), 1.0)
    # autocorrelation peak gives the period of f0: searched over 100-400 Hz
    # (lags 20-80), wider than the range on both sides so that a wrong range or
    # an octave error would show; every period within one lag of [40, 53.3]
    for x in X:
        ac = np.correlate(x, x, "full")[len(x) - 1 :]
        lag = np.argmax(ac[8000 // 400 : 8000 // 100]) + 8000 // 400
        assert 8000 / 200 - 1 <= lag <= 8000 / 150 + 1, 8000 / lag


def test_spoken_digits(shared_data):
    folder = shared_data("fsdd")
    waves, rate, names = load_wav_folder(folder, "0_*.wav")
    assert rate == 8000 and len(waves) == len(names) == 30
    assert names == sorted(p.name for p in folder.glob("0_*.wav"))
    # 16-bit PCM at the file's own rate: the samples / 32768, nothing resampled
    for wave, name in zip(waves, names):
        file_rate, data = wavfile.read(folder / name)
        assert file_rate == 8000 and data.dtype == np.int16
        np.testing.assert_array_equal(wave, data / 32768.0)
    X = sample_segments(waves, 128, 500, seed=0, min_rms=0.01)
    assert X.shape == (500, 128)


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such WAV"):
        load_wav(tmp_path / "nope.wav")
    (tmp_path / "bad.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="cannot read"):
        load_wav(tmp_path / "bad.wav")
    with pytest.raises(ValueError, match="longer than every waveform"):
        sample_segments(np.ones(10), 20, 1)
    with pytest.raises(ValueError, match="f0_range"):
        harmonic_ensemble(2, 100, f0_range=(300, 100))


def test_empty_file_and_folder_are_named_as_such(tmp_path):
    (tmp_path / "zero.wav").write_bytes(b"")  # SciPy: "File format b'' not understood"
    with pytest.raises(ValueError, match=r"path: '.*zero\.wav' is an empty file \(0 bytes\)"):
        load_wav(tmp_path / "zero.wav")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(FileNotFoundError, match=r"path: a folder, not a WAV file: '.*dir\.wav'"):
        load_wav(tmp_path / "dir.wav")


def test_uint8_wav_scaled_to_unit_range(tmp_path):
    # 8-bit WAV is unsigned, offset binary around 128: full scale is -1 .. 127/128
    data = np.array([128, 255, 0, 192], dtype=np.uint8)
    wavfile.write(tmp_path / "u8.wav", 8000, data)
    x, _ = load_wav(tmp_path / "u8.wav")
    np.testing.assert_allclose(x, [0.0, 127 / 128, -1.0, 0.5])


@pytest.mark.parametrize("rate_in, rate_out", [(48000, 30), (8000, 3), (44100, 48000),
                                               (22050.0, 16000.0)])
def test_resample_hits_the_asked_rate_exactly(rate_in, rate_out):
    n = 2 * rate_in
    y = resample(np.zeros(int(n)), rate_in, rate_out)
    assert len(y) == 2 * rate_out  # two seconds in, two seconds out
    # band-limited resampling (analytic): a tone below both Nyquist frequencies comes out
    # as the same sinusoid sampled at rate_out (away from the edges, where the filter
    # meets the zero padding; measured <= 0.019 at 8000 -> 3 Hz, 6 samples)
    t = np.arange(int(n)) / rate_in
    low = 0.1 * min(rate_in, rate_out)
    y = resample(np.sin(2 * np.pi * low * t), rate_in, rate_out)
    t_out = np.arange(len(y)) / rate_out
    mid = slice(len(y) // 4, 3 * len(y) // 4)
    np.testing.assert_allclose(y[mid], np.sin(2 * np.pi * low * t_out[mid]), atol=0.05)
    if rate_out < rate_in:
        # anti-aliasing: a tone above the new Nyquist frequency (0.8 x 1.6 = 1.28 x it)
        # is removed, not folded onto 0.72 x it (measured <= 0.017)
        high = 0.8 * rate_out
        y = resample(np.sin(2 * np.pi * high * t), rate_in, rate_out)
        assert np.abs(y[mid]).max() < 0.05


def test_one_waveform_as_a_plain_list():
    wave = list(np.arange(200.0))
    np.testing.assert_array_equal(sample_segments(wave, 10, 5, seed=0),
                                  sample_segments(np.asarray(wave), 10, 5, seed=0))


def test_silence_and_pitches_above_nyquist_fail_clearly():
    with pytest.raises(ValueError, match="the waveforms are silent"):
        sample_segments(np.zeros(100), 10, 3, normalize=True, seed=0)
    with pytest.raises(ValueError, match="must lie below the Nyquist frequency 200 Hz"):
        harmonic_ensemble(3, 64, sample_rate=400, noise=0)


def test_wav_with_nan_or_no_samples_fails_naming_the_file(tmp_path):
    # float WAVs can hold NaN, which load_images rejects for pictures
    data = np.array([0.1, np.nan, -0.2, np.inf], dtype=np.float32)
    wavfile.write(tmp_path / "nan.wav", 8000, data)
    with pytest.raises(ValueError, match=r"path: '.*nan\.wav' holds 2 non-finite sample\(s\)"):
        load_wav(tmp_path / "nan.wav")
    wavfile.write(tmp_path / "stereo.wav", 8000, np.stack([data, data], axis=1))
    with pytest.raises(ValueError, match=r"stereo\.wav' holds 4 non-finite"):
        load_wav(tmp_path / "stereo.wav")
    wavfile.write(tmp_path / "empty.wav", 8000, np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError, match=r"path: '.*empty\.wav' holds no samples"):
        load_wav(tmp_path / "empty.wav")


@pytest.mark.parametrize("call, exc, match", [
    (lambda: harmonic_ensemble(2, 100, f0_range=100.0), ValueError,
     r"f0_range must be \(low, high\) in Hz, got 100.0"),
    (lambda: harmonic_ensemble(2, 100, f0_range=(1, 2, 3)), ValueError,
     r"f0_range must be \(low, high\) in Hz, got \(1, 2, 3\)"),
    (lambda: sample_segments(3.0, 1, 5), TypeError,
     r"waveforms must be one waveform \(n_samples,\) or a list of waveforms, got 3.0"),
    (lambda: sample_segments(None, 1, 5), TypeError, "waveforms must be one waveform"),
    (lambda: sample_segments(np.ones(20), 4, 5, normalize="no"), TypeError,
     "normalize must be a bool, got 'no'"),
    # None and numbers as paths failed inside pathlib ("expected str, bytes or os.PathLike")
    (lambda: load_wav(None), TypeError, r"path must be a file name .*got None"),
    (lambda: load_wav(3), TypeError, r"path must be a file name .*got 3"),
    (lambda: load_wav_folder(None), TypeError, r"^folder must be a folder name .*got None"),
    # an absolute pattern: pathlib's NotImplementedError "Non-relative patterns are unsupported"
    (lambda: load_wav_folder(".", pattern="/data/*.wav"), ValueError,
     r"pattern must be a glob pattern relative to folder, got '/data/\*\.wav'"),
    (lambda: load_wav_folder(".", pattern=None), TypeError,
     r"pattern must be a glob pattern \(a non-empty str\), got None"),
    # limit_denominator bounds only the denominator: a 1e300 Hz rate asked scipy for a
    # 1e296-fold upsampling ("Maximum allowed size exceeded")
    (lambda: resample(np.ones(10), 8000.0, 1e300), ValueError,
     (r"rate_out / rate_in = 1e\+300 / 8000.0 = 1.25e\+296 is too large: the up- and "
      r"down-sampling factors are at most 100000")),
    # integer rates whose exact ratio is beyond the factors: not "round the rates"
    (lambda: resample(np.ones(10), 1, 200000), ValueError,
     (r"^rate_out / rate_in = 200000.0 / 1.0 = 2e\+05 is too large: the up- and "
      r"down-sampling factors are at most 100000 \(MAX_POLYPHASE\), so the ratio must lie "
      r"in \[1/100000, 100000\]; resample in several steps$")),
    (lambda: resample(np.ones(10), 200000, 1), ValueError,
     r"^rate_out / rate_in = 1.0 / 200000.0 = 5e-06 is too small"),
])
def test_bad_argument_types_fail_clearly(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("factor", [1e-200, 2.0**-1000, 1e200])
def test_normalized_segments_do_not_depend_on_the_scale(factor):
    """Unit-RMS segments of a waveform times any factor are the segments of the
    waveform itself (the squares of 1e200 or 1e-200 overflowed or underflowed)."""
    wave = np.sin(0.1 * np.arange(2000)) + 0.1 * np.random.default_rng(0).standard_normal(2000)
    reference = sample_segments(wave, 64, 30, seed=0, normalize=True)
    out = sample_segments(wave * factor, 64, 30, seed=0, normalize=True)
    np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sqrt((out**2).mean(axis=1)), 1.0, rtol=1e-12)


# 3 segments of a waveform that holds 1
@pytest.mark.filterwarnings("ignore:n=[0-9]+ segments exceed the [0-9]+ distinct:UserWarning")
def test_sample_segments_whole_waveform_and_rms_boundary():
    """A waveform exactly `length` long has one segment (itself); a segment whose RMS equals
    min_rms is kept (RMS >= min_rms)."""
    from stimuli.audio import sample_segments

    w = np.arange(1.0, 9.0)
    X = sample_segments(w, 8, 3, seed=0)
    np.testing.assert_array_equal(X, np.tile(w, (3, 1)))
    ones = np.ones(50)
    np.testing.assert_array_equal(sample_segments(ones, 10, 4, seed=0, min_rms=1.0),
                                  np.ones((4, 10)))


def test_harmonic_ensemble_drops_harmonics_above_nyquist_and_decays_as_1_over_k():
    """f0 = 300 Hz at 2000 Hz: harmonics 300, 600, 900 Hz play (amplitudes (1/k) u,
    u ~ U(0.5, 1), so E[(a_2/a_1)^2] = 0.25 * E[u^2] E[u^-2] = 0.29); 1200 Hz and up
    (aliases at 800, 500, 200 Hz) must not. Power (median over sounds) read from the
    spectrum within +-25 Hz of each frequency."""
    from stimuli.audio import harmonic_ensemble

    fs, n_len = 2000.0, 4000
    x = harmonic_ensemble(200, n_len, sample_rate=fs, f0_range=(300.0, 300.0), n_harmonics=6,
                          noise=0.0, seed=0)
    P = np.abs(np.fft.rfft(x, axis=1)) ** 2
    f = np.fft.rfftfreq(n_len, 1 / fs)

    def band(f0):
        return P[:, np.abs(f - f0) <= 25].sum(axis=1)

    p1, p2 = band(300), band(600)
    for alias in (200, 500, 800):
        assert np.median(band(alias) / p1) < 0.02  # the envelope's onset leaks ~1%
    ratio = np.mean(p2 / p1)
    assert 0.2 < ratio < 0.4


def test_a_stereo_array_read_by_scipy_is_named_as_such(tmp_path):
    """scipy.io.wavfile gives a stereo file as (n_samples, 2): handed to sample_segments
    it was 4000 waveforms of 2 samples, and the error only said they were too short."""
    stereo = (np.random.default_rng(0).standard_normal((4000, 2)) * 3000).astype(np.int16)
    wavfile.write(tmp_path / "st.wav", 8000, stereo)
    _, data = wavfile.read(tmp_path / "st.wav")
    with pytest.raises(ValueError, match=r"one waveform per row, got shape \(4000, 2\): "
                                         r"average the channels"):
        sample_segments(data, 64, 10)
    # averaged (as load_wav does), the same recording gives segments
    wave, _ = load_wav(tmp_path / "st.wav")
    np.testing.assert_allclose(wave, data.mean(axis=1) / 32768.0)
    assert sample_segments(wave, 64, 10, seed=0).shape == (10, 64)
    # equal-length waveforms stacked one per row stay accepted
    assert sample_segments(np.stack([wave, wave]), 64, 10, seed=0).shape == (10, 64)


def test_a_cut_recording_is_warned_of_by_name(tmp_path):
    """SciPy reads a WAV whose data stop before its header's size with a warning that
    names no file: in a folder of hundreds, which recording was cut?"""
    data = (np.sin(np.arange(8000) * 0.1) * 10000).astype(np.int16)
    wavfile.write(tmp_path / "whole.wav", 8000, data)
    (tmp_path / "cut.wav").write_bytes((tmp_path / "whole.wav").read_bytes()[:44 + 5000])
    with pytest.warns(wavfile.WavFileWarning, match=r"cut\.wav'.*EOF prematurely"):
        waves, _, names = load_wav_folder(tmp_path)
    assert names == ["cut.wav", "whole.wav"]
    np.testing.assert_array_equal(waves[0], data[:2500] / 32768.0)  # what was there


def test_mixed_sample_rates_are_warned_of_with_the_rate_used(tmp_path):
    """Without ``sample_rate`` a folder takes its first file's rate: one 44.1 kHz
    file among 8 kHz speech (first in sorted order) upsampled every recording
    silently, and segments of a fixed number of samples became 5.5x shorter."""
    rng = np.random.default_rng(0)
    wavfile.write(tmp_path / "a_music.wav", 44100, (rng.standard_normal(4410) * 3000)
                  .astype(np.int16))
    for i in range(3):
        wavfile.write(tmp_path / f"speech{i}.wav", 8000, (rng.standard_normal(800) * 3000)
                      .astype(np.int16))
    with pytest.warns(UserWarning, match=r"different sample rates \(3 at 8000 Hz, 1 at "
                                         r"44100 Hz\); all were resampled to 44100 Hz, the "
                                         r"rate of the first file \('a_music\.wav'\); pass "
                                         r"sample_rate"):
        waves, rate, _ = load_wav_folder(tmp_path)
    assert rate == 44100 and [len(w) for w in waves] == [4410, 4410, 4410, 4410]
    # a rate asked for is no silent choice: the same files, no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        waves, rate, _ = load_wav_folder(tmp_path, sample_rate=8000)
    assert rate == 8000 and [len(w) for w in waves] == [800, 800, 800, 800]


def test_float_wav_in_integer_scale_is_warned_of_by_name(tmp_path):
    """``wavfile.write(..., int16_data.astype(np.float32))`` stores samples near
    +-32768: read as they are, they made ``min_rms`` silence skipping pass everything."""
    rng = np.random.default_rng(0)
    data = (rng.standard_normal(800) * 3000).astype(np.int16)
    wavfile.write(tmp_path / "loud.wav", 8000, data.astype(np.float32))
    wavfile.write(tmp_path / "fine.wav", 8000, data.astype(np.float32) / 32768)
    peak = float(np.abs(data).max())
    with pytest.warns(UserWarning, match=rf"loud\.wav' is a float WAV with samples up to "
                                         rf"{peak:g} .*divide by 32768"):
        x, _ = load_wav(tmp_path / "loud.wav")
    np.testing.assert_array_equal(x, data)  # still read as stored
    with pytest.warns(UserWarning, match=r"1 of 2 files are float WAVs with samples far "
                                         r"beyond the nominal \[-1, 1\]: 'loud\.wav'"):
        load_wav_folder(tmp_path)
    import warnings

    with warnings.catch_warnings():  # the same samples at full scale 1: nothing to say
        warnings.simplefilter("error")
        load_wav(tmp_path / "fine.wav")
        load_wav_folder(tmp_path, "fine.wav")


def test_the_default_pattern_reads_upper_case_wav_files(tmp_path):
    """Recorders and Windows tools write REC001.WAV: "*.wav" missed it on Linux (and
    matched it on macOS and Windows), so the same folder loaded differently."""
    data = (np.sin(np.arange(800) * 0.3) * 8000).astype(np.int16)
    wavfile.write(tmp_path / "REC001.WAV", 8000, data)
    wavfile.write(tmp_path / "rec002.wav", 8000, data[::-1].copy())
    (tmp_path / "notes.txt").write_text("not a recording")
    waves, rate, names = load_wav_folder(tmp_path)
    assert names == ["REC001.WAV", "rec002.wav"] and rate == 8000.0
    np.testing.assert_array_equal(waves[0], data / 32768.0)
    # a pattern with classes of its own is taken as written
    assert load_wav_folder(tmp_path, pattern="[r]*.wav")[2] == ["rec002.wav"]


def test_files_in_subfolders_are_named_by_their_relative_path(tmp_path):
    """A recursive pattern (``"**/*.wav"``, one folder per speaker) read ``spk1/0.wav``
    and ``spk2/0.wav`` both as ``"0.wav"``: the names could not say which waveform came
    from which file."""
    for speaker, value in (("spk1", 1000), ("spk2", 2000)):
        (tmp_path / speaker).mkdir()
        wavfile.write(tmp_path / speaker / "0.wav", 8000, np.full(8, value, np.int16))
    waves, _, names = load_wav_folder(tmp_path, "**/*.wav")
    assert names == ["spk1/0.wav", "spk2/0.wav"]
    np.testing.assert_allclose([w[0] for w in waves], [1000 / 32768, 2000 / 32768])
    # files directly inside the folder keep their bare names
    assert load_wav_folder(tmp_path / "spk1")[2] == ["0.wav"]


def test_harmonic_ensemble_peak_memory_is_close_to_the_output(peak_memory):
    """All harmonics were computed at once, an (n, n_harmonics, length) array and its
    temporaries: ~17x the output (5,000 sounds of 1 s at 8 kHz took 5 GB)."""
    X, peak = peak_memory(lambda: harmonic_ensemble(50, 8000, seed=0))
    assert X.shape == (50, 8000)
    assert peak <= 3 * X.nbytes, f"peak {peak / X.nbytes:.1f}x the output"
    # the same sounds as the formula with every harmonic at once, the same draws
    n, length, rate, n_harmonics, noise = 6, 400, 1000.0, 8, 0.05
    rng = np.random.default_rng(3)
    t = np.arange(length) / rate
    f0 = rng.uniform(100.0, 400.0, (n, 1, 1))
    k = np.arange(1, n_harmonics + 1)[None, :, None]
    amp = (1.0 / k) * rng.uniform(0.5, 1.0, (n, n_harmonics, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, n_harmonics, 1))
    partials = amp * np.sin(2 * np.pi * f0 * k * t[None, None, :] + phase)
    partials[np.broadcast_to(f0 * k >= rate / 2, partials.shape)] = 0  # 500 Hz and up
    onset = rng.uniform(0, t[-1] / 2, (n, 1))
    decay = rng.uniform(0.01, 0.05, (n, 1))
    env = np.where(t[None] >= onset, np.exp(-(t[None] - onset) / decay), 0)
    ref = partials.sum(axis=1) * env + noise * rng.standard_normal((n, length))
    ref /= np.sqrt((ref**2).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(harmonic_ensemble(n, length, sample_rate=rate, seed=3), ref,
                               rtol=1e-12, atol=1e-12)


def test_long_harmonic_sounds_do_not_overflow_before_their_onset():
    """The envelope exp(-(t - onset) / decay) was computed before the onset too, where
    it is then set to 0: for sounds of a minute it overflowed, with NumPy's
    "overflow encountered in exp" warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X = harmonic_ensemble(4, 8000 * 60, noise=0.0, seed=0)
    assert np.all(np.isfinite(X))
    # silent before the onset (first half at most), unit RMS
    assert np.all(X[:, 0] == 0)
    np.testing.assert_allclose(np.sqrt((X**2).mean(axis=1)), 1.0)


def test_folders_matching_the_pattern_are_skipped(tmp_path):
    """glob matches folders too: a subfolder "takes.wav/" stopped the whole folder with
    "a folder, not a WAV file"."""
    data = np.array([0, 16384, -32768], dtype=np.int16)
    wavfile.write(tmp_path / "a.wav", 8000, data)
    (tmp_path / "takes.wav").mkdir()
    wavfile.write(tmp_path / "takes.wav" / "b.wav", 8000, data)
    waves, rate, names = load_wav_folder(tmp_path, "*.wav")
    assert names == ["a.wav"] and rate == 8000
    np.testing.assert_allclose(waves[0], data / 32768.0)
    # the files under it are read when the pattern asks for them
    assert load_wav_folder(tmp_path, "**/*.wav")[2] == ["a.wav", "takes.wav/b.wav"]
    # a pattern that matches only folders matches no file
    with pytest.raises(ValueError, match=r"folder: no files matching 'takes\*'"):
        load_wav_folder(tmp_path, "takes*")


def test_one_waveform_as_a_labelled_array():
    """A waveform kept in a Dataset (e.g. a study's ``excerpt``) is array_like: as a
    DataArray it was iterated sample by sample and refused with "waveforms[0] must
    have 1 dimension(s), got 0"."""
    import xarray as xr

    wave = np.arange(200.0)
    one = xr.DataArray(wave, dims="time", coords={"time": wave / 8000.0})
    np.testing.assert_array_equal(sample_segments(one, 10, 5, seed=0),
                                  sample_segments(wave, 10, 5, seed=0))
    rows = xr.DataArray(np.stack([wave, -wave]), dims=("excerpt", "time"))
    np.testing.assert_array_equal(sample_segments(rows, 10, 5, seed=0),
                                  sample_segments(rows.values, 10, 5, seed=0))


def test_waveforms_as_a_dataarray_are_read_by_dim_name():
    """Waveforms (sample, time) transposed were read by position: 120 recordings of 80
    samples as 80 waveforms of 120, each segment cut across the recordings, unsaid."""
    import xarray as xr

    rng = np.random.default_rng(0)
    waves = rng.standard_normal((120, 80)) + np.arange(120)[:, None] * 100
    da = xr.DataArray(waves, dims=("sample", "time"))
    want = sample_segments(waves, 16, 50, seed=0)
    for given in (da, da.T):
        X = sample_segments(given, 16, 50, seed=0)
        np.testing.assert_array_equal(X, want)
        # each segment lies within one recording (offsets 100 apart, noise s.d. 1)
        assert np.all(np.ptp(np.round(X / 100), axis=1) <= 1)
    # excerpt takes sample's place (was refused)
    np.testing.assert_array_equal(
        sample_segments(da.rename(sample="excerpt").T, 16, 50, seed=0), want)
    with pytest.raises(ValueError, match=r"^waveforms is a DataArray with dims \('time', "
                                         r"'feature'\): expected \('sample', 'time'\)"):
        sample_segments(da.rename(sample="feature").T, 16, 50, seed=0)


def test_load_wav_folder_draws_a_bar_over_the_files(record_bars, tmp_path):
    """A large corpus, resampled, loaded in silence (load_images of a folder draws a bar):
    one bar over the files, counting every file, none with progress=False; the same
    waveforms either way."""
    from scipy.io import wavfile

    from stimuli.audio import load_wav_folder

    bars = record_bars("desc", "n", "total", "disable")
    rng = np.random.default_rng(0)
    for i in range(3):
        wavfile.write(tmp_path / f"r{i}.wav", 16000,
                      (rng.standard_normal(1600) * 3000).astype(np.int16))
    shown, rate, _ = load_wav_folder(tmp_path, sample_rate=8000, progress=True)
    assert bars == [["audio", 3, 3, False]] and rate == 8000.0
    quiet, _, _ = load_wav_folder(tmp_path, sample_rate=8000, progress=False)
    assert len(bars) == 2 and bars[1][3]  # disabled
    for a, b in zip(shown, quiet):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        load_wav_folder(tmp_path, progress="yes")


def test_segments_of_silent_or_quiet_recordings_say_how_far_to_lower_min_rms():
    """"lower min_rms" sent users of silent recordings lowering it to 0, to be told
    there that the waveforms are silent; now the loudest segment's RMS is named."""
    with pytest.raises(ValueError, match=r"^could not find 3 segments with RMS >= 0\.02; the "
                                         r"waveforms of at least length=10 samples are silent "
                                         r"\(every sample 0\)$"), \
            pytest.warns(UserWarning, match="1 of the 2 waveforms are shorter than length=10"):
        sample_segments([np.zeros(100), np.ones(5)], 10, 3, seed=0, min_rms=0.02)
    wave = np.zeros(100)
    wave[40:50] = [0.3, -0.3] * 5  # the loudest segment of 10 samples: RMS 0.3, at 40
    with pytest.raises(ValueError, match=r"^could not find 3 segments with RMS >= 0\.5; lower "
                                         r"min_rms below 0\.3, the RMS of the loudest segment "
                                         r"of length=10 samples$"):
        sample_segments(wave, 10, 3, seed=0, min_rms=0.5)
    X = sample_segments(wave, 10, 1, seed=0, min_rms=0.29)  # below it: that segment
    np.testing.assert_array_equal(X, wave[None, 40:50])


def test_the_files_at_other_sample_rates_are_named(tmp_path):
    """One 44.1 kHz take among recordings at 8 kHz: the warning counted it, and named
    only the first file, whose rate is used."""
    rng = np.random.default_rng(3)
    for i in range(6):
        rate = 44100 if i in (2, 4) else 8000
        wavfile.write(tmp_path / f"take {i}.wav", rate,
                      (rng.standard_normal(rate // 10) * 3000).astype(np.int16))
    with pytest.warns(UserWarning, match=r"\(4 at 8000 Hz, 2 at 44100 Hz\); all were resampled "
                                         r"to 8000 Hz, .*; at other rates: 'take 2\.wav' "
                                         r"\(44100 Hz\), 'take 4\.wav' \(44100 Hz\)$"):
        waves, rate, _ = load_wav_folder(tmp_path)
    assert rate == 8000 and [len(w) for w in waves] == [800] * 6


def test_waveforms_shorter_than_a_segment_are_warned_of():
    # 1 s segments of the 300 spoken digits all came from the 2 recordings that long, unsaid
    long = np.arange(100.0)
    with pytest.warns(UserWarning, match=r"^2 of the 3 waveforms are shorter than length=50 "
                                         r"samples and are never drawn from: the segments all "
                                         r"come from the other 1; give a shorter length"):
        X = sample_segments([np.ones(49), long, -np.ones(10)], 50, 40, seed=0)
    # every segment is a window of the long waveform: starts at X[:, 0], step 1
    np.testing.assert_array_equal(X, X[:, :1] + np.arange(50.0))
    assert X[:, 0].min() >= 0 and X[:, 0].max() <= 50
    with warnings.catch_warnings():  # none when every waveform is long enough
        warnings.simplefilter("error")
        sample_segments([np.ones(50), long], 50, 5, seed=0)


def test_a_damaged_file_of_a_folder_is_named_with_the_folder_argument(tmp_path):
    # it was "path: cannot read ...": load_wav_folder has no argument path
    wavfile.write(tmp_path / "a.wav", 8000, np.arange(100, dtype=np.int16))
    (tmp_path / "b.wav").write_bytes(b"RIFF\x04\x00\x00\x00WAVEjunk")
    with pytest.raises(ValueError, match=r"^folder: cannot read '.*b\.wav' as WAV"):
        load_wav_folder(tmp_path)
    (tmp_path / "b.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"^folder: '.*b\.wav' is an empty file \(0 bytes\)"):
        load_wav_folder(tmp_path)


def test_a_header_with_a_sample_rate_of_zero_is_refused_naming_the_file(tmp_path):
    # load_wav and load_wav_folder returned the rate 0.0 as the recording's (every time in
    # s then inf), and load_wav(..., sample_rate=8000) failed naming only "rate_in"
    wavfile.write(tmp_path / "zero.wav", 0, np.arange(100, dtype=np.int16))
    assert wavfile.read(tmp_path / "zero.wav")[0] == 0  # the header SciPy reads back
    for call, name in ((lambda: load_wav(tmp_path / "zero.wav"), "path"),
                       (lambda: load_wav(tmp_path / "zero.wav", sample_rate=8000), "path"),
                       (lambda: load_wav_folder(tmp_path, progress=False), "folder")):
        with pytest.raises(ValueError, match=rf"^{name}: '.*zero\.wav' gives a sample rate "
                                             r"of 0 Hz in its header: a damaged WAV"):
            call()


def _words_and_silence(seed=0):
    """Four bursts of noise (RMS 0.1) between stretches of faint noise (RMS 1e-3): a
    recording of words and the pauses between them."""
    rng = np.random.default_rng(seed)
    wave = 1e-3 * rng.standard_normal(8000)
    for start in (500, 2500, 4500, 6500):
        wave[start:start + 1000] = 0.1 * rng.standard_normal(1000)
    return wave


def test_a_relative_silence_level_keeps_the_segments_of_a_quieter_copy():
    """min_rms is a level in full-scale units: the same recording 20 dB quieter (RMS of
    its words 0.01) gave no segment above 0.02. min_relative_rms is relative to each
    waveform's own RMS: the loud recording and its quieter copy give the same segments,
    the pauses (1e-3 / 0.05 of the recording's RMS) left out of both."""
    loud = _words_and_silence()
    quiet = loud / 10.0  # -20 dB
    with pytest.raises(ValueError, match="lower min_rms below 0.01"):
        sample_segments(quiet, 64, 200, seed=0, min_rms=0.02, normalize=True)
    a = sample_segments(loud, 64, 200, seed=0, min_relative_rms=0.3, normalize=True)
    b = sample_segments(quiet, 64, 200, seed=0, min_relative_rms=0.3, normalize=True)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    # every segment kept holds some of a word: none lies wholly in a pause, whose
    # unit-RMS samples would all be faint noise
    raw = sample_segments(loud, 64, 200, seed=0, min_relative_rms=0.3)
    whole = np.sqrt((loud**2).mean())
    assert np.all(np.sqrt((raw**2).mean(axis=1)) >= 0.3 * whole)
    # segments wholly in a pause are drawn without the level: the level is what drops them
    drawn = sample_segments(loud, 64, 200, seed=0)
    assert np.any(np.sqrt((drawn**2).mean(axis=1)) < 0.3 * whole)


def test_a_relative_silence_level_is_checked_and_named():
    with pytest.raises(ValueError, match=r"^min_relative_rms must be a non-negative finite "
                                         r"number, got -0\.1$"):
        sample_segments(np.ones(100), 10, 3, seed=0, min_relative_rms=-0.1)
    wave = np.zeros(100)
    wave[40:50] = [0.3, -0.3] * 5  # RMS 0.3 x sqrt(10 / 100): the segment 3.16x it
    with pytest.raises(ValueError, match=r"^could not find 3 segments with RMS >= min_rms=0\.0 "
                                         r"and >= min_relative_rms=4\.0 x the RMS of their "
                                         r"waveform; lower min_relative_rms below 3\.16, the "
                                         r"largest ratio of a segment's RMS to its waveform's$"):
        sample_segments(wave, 10, 3, seed=0, min_relative_rms=4.0)


def test_sample_segments_and_harmonic_ensemble_draw_bars(record_bars):
    """500,000 segments of the spoken digits (~9 s) and 5,000 harmonic sounds of 1 s (~20 s)
    were made in silence: a bar counts the segments or sounds; the same ones either way.
    The sounds, made a block at a time (3 blocks here), keep their unit RMS."""
    made = record_bars("desc", "n", "total", "disable")
    wave = np.sin(np.linspace(0, 300, 20000)) * np.linspace(0, 1, 20000)
    shown = sample_segments(wave, 64, 3000, seed=0, min_rms=0.3, progress=True)
    assert made == [["segments", 3000, 3000, False]]
    np.testing.assert_array_equal(
        shown, sample_segments(wave, 64, 3000, seed=0, min_rms=0.3, progress=False))
    assert made[1][3]
    sounds = harmonic_ensemble(1500, 1500, seed=2, progress=True)
    assert made[2] == ["sounds", 1500, 1500, False]
    np.testing.assert_array_equal(sounds, harmonic_ensemble(1500, 1500, seed=2, progress=False))
    np.testing.assert_allclose(np.sqrt((sounds**2).mean(axis=1)), 1.0, rtol=1e-12)
    for call in (lambda: sample_segments(wave, 64, 5, progress="yes"),
                 lambda: harmonic_ensemble(2, 100, progress=1)):
        with pytest.raises(TypeError, match="progress must be True, False or None"):
            call()


def test_more_segments_than_the_waveforms_hold_are_warned_of_as_repeats(rng):
    """Segments are drawn with replacement: 100 segments of 16 samples of a 20-sample
    waveform held 5 distinct ones, unsaid. Counted over every waveform long enough (the
    short one holds none); at exactly as many segments as there are, no warning."""
    waves = [rng.standard_normal(20), rng.standard_normal(30), rng.standard_normal(10)]
    with pytest.warns(UserWarning) as record:
        X = sample_segments(waves, 16, 100, seed=0)
    repeats = [str(w.message) for w in record if "repeats" in str(w.message)]
    assert len(repeats) == 1 and repeats[0].startswith(
        "n=100 segments exceed the 20 distinct segments of length=16 samples")
    assert "at least 80 of them are repeats" in repeats[0]
    assert len(np.unique(X, axis=0)) <= 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_segments(waves[:2], 16, 20, seed=0)


def test_another_threads_warning_is_given_back_as_it_came(tmp_path, monkeypatch,
                                                          with_a_neighbour):
    """Reading a WAV recorded every warning in a warnings.catch_warnings block (one per
    process, kept: SciPy names no file and has no switch) and gave each back prefixed
    with this file's name: a warning another thread gave meanwhile (another point of a
    sweep in threads) came back as this file's. Only SciPy's WavFileWarning is renamed
    now; the neighbour's comes back as it was, once, and the cut file is still named."""
    data = (np.sin(np.arange(8000) * 0.1) * 10000).astype(np.int16)
    wavfile.write(tmp_path / "whole.wav", 8000, data)
    (tmp_path / "cut.wav").write_bytes((tmp_path / "whole.wav").read_bytes()[:44 + 5000])
    text = "another point's warning"
    monkeypatch.setattr(wavfile, "read", with_a_neighbour(wavfile.read, text))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_wav_folder(tmp_path)
    messages = [str(w.message) for w in caught]
    assert messages.count(text) == 2  # one per file read, as given
    scipys = [m for m in messages if m != text]
    assert len(scipys) == 1 and re.match(r"'.*cut\.wav': Reached EOF prematurely", scipys[0])


def test_a_folders_files_come_in_natural_order(tmp_path):
    """Names sorted as text read ``10.wav`` before ``2.wav`` (and ``spk10/`` before
    ``spk2/``), where stimuli.load_images reads ``image2`` before ``image10``."""
    for value, name in ((1000, "1.wav"), (2000, "2.wav"), (10000, "10.wav")):
        wavfile.write(tmp_path / name, 8000, np.full(8, value, np.int16))
    waves, _, names = load_wav_folder(tmp_path)
    assert names == ["1.wav", "2.wav", "10.wav"]
    # the waveforms come in the order of their names
    np.testing.assert_array_equal([w[0] for w in waves], np.array([1000, 2000, 10000]) / 32768)
    for value, speaker in ((2000, "spk2"), (10000, "spk10")):
        (tmp_path / speaker).mkdir()
        wavfile.write(tmp_path / speaker / "0.wav", 8000, np.full(8, value, np.int16))
    assert load_wav_folder(tmp_path, "**/0.wav")[2] == ["spk2/0.wav", "spk10/0.wav"]


def test_the_spoken_digits_order_is_the_text_order(shared_data):
    """The FSDD recordings (one-digit digits and takes) come as before natural order,
    so that the speech studies' segments are drawn from the same waveforms."""
    from stimuli.audio import matching_files

    folder = shared_data("fsdd")
    files = matching_files(folder, "*.wav", "folder")
    assert len(files) == 300 and files == sorted(folder.glob("*.wav"))


def test_resample_pads_with_zeros_unless_told_otherwise():
    """scipy's resample_poly pads with zeros: a constant tapers at its ends (a documented
    1.0 -> 0.4997 at 16 kHz); padtype takes the signal to go on."""
    from scipy.signal import resample_poly

    x = np.ones(8000)
    up = resample(x, 8000, 16000)
    np.testing.assert_allclose(up, resample_poly(x, 2, 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(up[[0, 1, -2, -1]], [1.0005, 1.1331, 1.0005, 0.4997], atol=1e-4)
    np.testing.assert_allclose(resample(x, 8000, 4000)[:2], [0.7501, 1.0668], atol=1e-4)
    for padtype in ("mean", "line"):
        y = resample(x, 8000, 16000, padtype=padtype)
        np.testing.assert_allclose(y, resample_poly(x, 2, 1, padtype=padtype), atol=1e-12)
        np.testing.assert_allclose(y, 1.0, atol=7e-4)
    with pytest.raises(ValueError, match=r"^padtype must be one of 'constant', .*got 'zeros'"):
        resample(x, 8000, 16000, padtype="zeros")


def test_integer_samples_with_a_min_rms_below_their_step_are_warned_of():
    """scipy.io.wavfile's int16 samples, taken as they are (full scale 32768), with a
    min_rms meant for full scale 1 (0.01): it rejected only all-zero segments, and 31% of
    the kept segments of the spoken digits were silent (below 1% of full scale), unsaid.
    Floats, a min_rms of 1 or more, or none, are not warned of."""
    rng = np.random.default_rng(0)
    quiet = np.round(rng.standard_normal(2000) * 20).astype(np.int16)  # 0.06% of full scale
    loud = np.round(rng.standard_normal(2000) * 8000).astype(np.int16)
    with pytest.warns(UserWarning, match=re.escape(
            "min_rms=0.01 is below 1, the step of the int16 samples of waveforms[0] (and 1 "
            "more), which are taken as they are (full scale 32768; load_wav scales integer "
            "samples to [-1, 1])")):
        X = sample_segments([quiet, loud], 64, 200, seed=0, min_rms=0.01)
    # the quiet recording's segments were kept: the threshold did not reject them
    assert (np.sqrt((X**2).mean(axis=1)) < 0.01 * 32768).sum() > 50
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_segments([quiet / 32768, loud / 32768], 64, 20, seed=0, min_rms=0.01)
        sample_segments([quiet, loud], 64, 20, seed=0, min_rms=300.0)
        sample_segments(np.stack([quiet, loud]), 64, 20, seed=0)
