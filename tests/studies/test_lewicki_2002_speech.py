"""Study lewicki-2002-speech: kernels learned from spoken digits (FSDD), their
frequency tuning, and the study's handling of its data source.

Ranges below were measured over seeds 0-5 of the quick run on the 300 FSDD
recordings, learning on 214 of them and holding out 24 (slope of log bandwidth vs
log centre frequency -0.08-0.11, each +- 0.09-0.12 s.e.; band-pass 94-97%;
localized 20-33%; the ERB scale's slope at the same centres 0.69-0.71; median
-10 dB bandwidth 1.49-2.04x that of a tone as long as the segment; the reference of
gammatone filters cut to the segment at the same centres 0.08-0.12, localized
17-22%; held-out relative error 6.4-9.2%) and at lam = 1.5 over seeds 0-3 (slope
0.21-0.52, +- 0.13-0.16; the cut gammatones' -0.19 to 0.01; held-out error 21-26%),
then widened by a margin (re-measured 2026-12-07, evening, after the held-out split).
The published slopes could not be checked (no access to the papers' text), so none is
asserted.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import gammatone

from studies import get_study, study_parameters
from v1model.cli import main

NAME = "lewicki-2002-speech"


FSDD = Path(os.environ["V1MODEL_SHARED_DATA"]) / "fsdd"  # set by conftest.py


@pytest.fixture(scope="module")
def fsdd_run():
    if not FSDD.is_dir():  # the shared_data fixture is per test; this run is per module
        pytest.skip(f"reference data not present: {FSDD}")
    folder = FSDD
    return get_study(NAME).run(quick=True, seed=0, audio_dir=str(folder), progress=False)


def test_kernels_are_band_pass_and_tile_the_speech_band(fsdd_run):
    ds = fsdd_run
    assert ds.sizes["kernel"] == 64 and ds["kernels"].dims == ("kernel", "time")
    # most kernels are tuned: a -3 dB band clear of 0 Hz and a peak above 100 Hz
    assert ds.attrs["fraction_bandpass"] >= 0.9
    fc = ds["peak_frequency"].values
    assert np.all(np.diff(fc) >= 0)  # sorted by centre frequency
    # they spread over the band where spoken digits at 8 kHz carry their power
    assert np.percentile(fc, 10) < 300 and np.percentile(fc, 90) > 1200
    assert fc.max() < ds.attrs["sample_rate"] / 2


def test_bandwidth_grows_far_less_than_the_erb_scale_as_do_cut_gammatones(fsdd_run):
    # on these recordings (voiced digits, 8 kHz) the log-log slope of bandwidth vs
    # centre frequency is near 0, well below both the ERB scale's slope over the same
    # centre frequencies and a constant-Q (wavelet) code's 1
    ds = fsdd_run
    slope = ds.attrs["slope_10db"]
    assert -0.25 < slope < 0.35
    assert 0.6 < float(ds["erb_slope"]) < 0.8
    assert slope < float(ds["erb_slope"]) - 0.3
    assert int(ds["fit_n_kernels"]) >= 50
    # but cochlear filters cut to the 8 ms segment do the same at these centres (most
    # below 1.6 kHz, where the cut, not the ERB, sets the bandwidth): gammatones at the
    # kernels' centre frequencies, 64 taps, slope 0.08-0.12 over seeds 0-5 (kernels'
    # slope minus it: -0.17 to -0.01), the kernels' median bandwidth 0.91-1.23x theirs,
    # kernels localized 20-33% against the gammatones' 17-22%
    gt_slope = ds.attrs["gammatone_slope"]
    assert -0.1 < gt_slope < 0.3 and float(ds["gammatone_slope"]) == gt_slope
    assert abs(slope - gt_slope) < 0.25
    used = ds["fit_used"].values
    gt_bw = ds["gammatone_bandwidth_10db"].values
    assert np.all(np.isfinite(gt_bw[used])) and np.all(np.isnan(gt_bw[~used]))
    assert 0.8 < np.median(ds["bandwidth_10db"].values[used] / gt_bw[used]) < 1.4
    assert ds.attrs["fraction_localized"] > ds.attrs["gammatone_fraction_localized"] - 0.1
    # bandwidths stay near the scale the segment length sets (uncertainty principle):
    # the median kernel is 1.49-2.04x as wide as a tone lasting the whole segment
    used = ds["fit_used"].values
    ratio = ds["bandwidth_10db"].values[used] / ds.attrs["window_bandwidth_10db"]
    assert 1.0 < np.median(ratio) < 2.5
    # some kernels are localized in time (envelope much shorter than the segment)
    assert 0.1 <= ds.attrs["fraction_localized"] <= 0.5


def test_sparser_codes_give_a_steeper_slope(fsdd_run):
    # at lam = 1.5 (held-out relative error 21-26% instead of 6-9%) bandwidth grows with
    # centre frequency (slope 0.21-0.52 over seeds 0-3; -0.08-0.06 at lam = 0.5 on the
    # same seeds), still below the ERB scale's slope over the same centres (0.59-0.63)
    sparse = get_study(NAME).run(quick=True, seed=0, audio_dir=str(FSDD), lam=1.5,
                                 progress=False)
    slope = sparse.attrs["slope_10db"]
    assert 0.15 < slope < 0.8
    assert slope > fsdd_run.attrs["slope_10db"] + 0.15
    assert 0.15 < sparse.attrs["eval_relative_error"] < 0.35
    assert sparse.attrs["eval_relative_error"] > fsdd_run.attrs["eval_relative_error"] + 0.1
    assert sparse.attrs["fraction_bandpass"] >= 0.9
    # steeper, but not more cochlear: its kernels lie below ~650 Hz, where gammatones cut
    # to 8 ms have a slope of -0.19 to 0.01 (seeds 0-3; the kernels' is 0.26-0.71 higher)
    assert slope > sparse.attrs["gammatone_slope"] + 0.2


def test_dataset_units_parameters_and_figures(fsdd_run, tmp_path):
    ds = fsdd_run
    np.testing.assert_allclose(np.linalg.norm(ds["kernels"].values, axis=1), 1.0, rtol=1e-5)
    assert ds["peak_frequency"].attrs["units"] == "Hz"
    assert ds["envelope_duration"].attrs["units"] == "s" and ds["time"].attrs["units"] == "s"
    assert ds.attrs["sample_rate"] == 8000.0 and ds.attrs["n_files"] == 300
    # 62 recordings have no 64-sample window with RMS >= min_rms = 0.02; of the other 238,
    # round(0.1 * 238) = 24 give the held-out segments alone
    assert (ds.attrs["n_train_files"], ds.attrs["n_eval_files"], ds.attrs["n_short_files"],
            ds.attrs["n_quiet_files"]) == (214, 24, 0, 62)
    # the 2,000 held-out segments of those 24, coded in the kernels: relative error
    # 6.4-9.2% over seeds 0-5 (the last training minibatch's 6.4-8.6%)
    assert (ds.attrs["n_eval"], ds.attrs["eval_fraction"]) == (2000, 0.1)
    assert 0.04 < ds.attrs["eval_relative_error"] < 0.13
    assert "24 recordings" in ds.attrs["held_out"]
    assert sorted(ds["atom"].values.tolist()) == list(range(64))
    missing = set(study_parameters(NAME)) - set(ds.attrs) - {"progress"}
    assert not missing, sorted(missing)
    # it survives netCDF (bool flags, array attrs) and plots again from the file
    from v1model.io import load_dataset, save_dataset

    back = load_dataset(save_dataset(ds, tmp_path / "r.nc"))
    np.testing.assert_array_equal(back["kernels"].values, ds["kernels"].values)
    assert back.attrs["slope_10db"] == ds.attrs["slope_10db"] and back["bandpass"].dtype == bool
    paths = get_study(NAME).plot(back, tmp_path)
    assert len(paths) == 3
    for p in paths:
        assert p.exists() and p.read_bytes()[:4] == b"\x89PNG", p


def test_bandwidth_figure_draws_the_cochlear_reference_as_a_10db_width():
    """The bandwidth axis is a -10 dB width: the ERB-scale reference line is that of
    uncut gammatones (measured here on SciPy's FIR gammatones, 1.798 ERB), not the ERB
    itself (1.8x too narrow), and no legend entry stands for markers not drawn."""
    from studies._auditory import plot_bandwidth
    from v1model.analysis import auditory_tuning, erb_bandwidth
    from v1model.plotting._mpl import pyplot

    rate = 16000.0
    ratio = [float(auditory_tuning(gammatone(f, "fir", numtaps=4000, fs=rate)[0][None],
                                   rate)["bandwidth_10db"][0]) / erb_bandwidth(f)
             for f in (500.0, 2000.0)]
    np.testing.assert_allclose(ratio, 1.798, rtol=1e-3)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_segments=2000,
                             n_updates=20, progress=False)
    plt = pyplot()
    fig = plot_bandwidth(plt, ds, length=64, span="segment", title="t", title_fontsize=9,
                         height=4)
    try:
        ax = fig.axes[0]
        line = [ln for ln in ax.get_lines() if "ERB" in ln.get_label()]
        assert len(line) == 1, [ln.get_label() for ln in ax.get_lines()]
        f, bw = line[0].get_data()
        np.testing.assert_allclose(bw / erb_bandwidth(f), np.mean(ratio), rtol=1e-3)
        labels = ax.get_legend_handles_labels()[1]
        fc, used = ds["peak_frequency"].values, ds["fit_used"].values
        assert any(lab.startswith("left out") for lab in labels) == bool(
            (~used & (fc > 0)).any()), labels
    finally:
        plt.close(fig)


def test_bandwidth_figure_says_why_there_is_no_fit():
    """With fewer than 3 kernels left for the fit (here none: every kernel peaks below
    min_centre_frequency), fit_slope is NaN: the figure drew no line, kept a legend entry
    "kernels (in the fit)" for no marker and said nothing of why."""
    from studies._auditory import plot_bandwidth
    from v1model.plotting._mpl import pyplot

    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_segments=500,
                             n_updates=3, min_centre_frequency=3999.0, progress=False)
    assert int(ds["fit_n_kernels"]) == 0 and np.isnan(float(ds["fit_slope"]))
    plt = pyplot()
    fig = plot_bandwidth(plt, ds, length=64, span="segment", title="t", title_fontsize=9,
                         height=4)
    try:
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert "kernels (in the fit)" not in labels, labels
        assert "no fit: 0 kernel(s) in it (3 or more with distinct centres needed)" in labels
    finally:
        plt.close(fig)


def test_recovers_a_known_gammatone_bank(tmp_path):
    # positive control, independent of FSDD: sounds made of sparse events drawn from
    # SciPy's FIR gammatone filters at 12 centres (300-3000 Hz, 16 ms of taps) with
    # Laplacian amplitudes. The study's kernels must find every channel and the
    # bandwidths of the generating filters; measured over seeds 0-3: median centre
    # error 0.6-0.9%, all 12 channels within 5%, median -10 dB bandwidth 1.11-1.14x
    # the filters' analytic 2 b sqrt(10^(1/4) - 1), slope 0.57-0.61 (the bank's own:
    # 0.79; the longest, low-frequency filters are cut by the 128-sample segments),
    # 92-95% localized; gammatones cut to 128 taps at the kernels' centres: slope
    # 0.75-0.76, 76-80% localized, the kernels' median bandwidth 1.10-1.13x theirs
    # (re-measured 2026-12-07 at 607dc9f)
    fs, taps = 8000, 128
    centres = np.geomspace(300, 3000, 12)
    bank = np.stack([gammatone(f, "fir", numtaps=taps, fs=fs)[0] for f in centres])
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        wave = np.zeros(15 * fs)
        n_events = 15 * 200
        starts = rng.integers(0, len(wave) - taps, n_events)
        which = rng.integers(0, len(centres), n_events)
        for start, j, a in zip(starts, which, rng.laplace(size=n_events)):
            wave[start : start + taps] += a * bank[j]
        wavfile.write(tmp_path / f"g{i}.wav", fs,
                      (0.9 * 32767 * wave / np.abs(wave).max()).astype(np.int16))
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir=str(tmp_path), segment_length=taps,
                             progress=False)
    fc = ds["peak_frequency"].values
    nearest = np.abs(np.log(fc[:, None] / centres[None])).argmin(axis=1)
    error = np.abs(fc / centres[nearest] - 1)
    assert np.median(error) < 0.02
    assert set(nearest[error < 0.05]) == set(range(12))
    erb = 24.7 * (4.37 * centres / 1000 + 1)
    bw10 = 2 * np.sqrt(10 ** (10 / 40) - 1) * 1.019 * erb
    assert 0.9 < np.median(ds["bandwidth_10db"].values / bw10[nearest]) < 1.4
    assert 0.45 < ds.attrs["slope_10db"] < 0.75
    assert ds.attrs["fraction_localized"] >= 0.85 and ds.attrs["fraction_bandpass"] >= 0.95
    # the cut-gammatone reference at the kernels' centres recovers the bank's own slope
    # (0.73 by the same analysis; 0.75-0.76 over seeds 0-3)
    assert 0.65 < ds.attrs["gammatone_slope"] < 0.85


def test_seed_determinism(shared_data):
    folder = str(shared_data("fsdd"))
    study = get_study(NAME)
    # the smallest run (tests/studies/conftest.py): equality and a difference need no size
    kw = dict(quick=True, audio_dir=folder, n_segments=300, n_updates=2, progress=False)
    a, b = study.run(seed=3, **kw), study.run(seed=3, **kw)
    np.testing.assert_array_equal(a["kernels"].values, b["kernels"].values)
    assert a.attrs["slope_10db"] == b.attrs["slope_10db"]
    c = study.run(seed=4, **kw)
    assert not np.array_equal(a["kernels"].values, c["kernels"].values)


def test_synthetic_stand_in_runs_without_recordings(tmp_path):
    study = get_study(NAME)
    ds = study.run(quick=True, seed=0, audio_dir="synthetic", n_segments=2000, n_updates=30,
                   progress=False)
    assert "not speech" in ds.attrs["source"] and ds.attrs["n_files"] == 0
    assert ds.sizes["kernel"] == 64 and np.isfinite(ds.attrs["slope_10db"])


def test_a_folder_of_wav_files_at_another_rate(tmp_path):
    # any folder of WAV files: here 16 kHz noise bursts, resampled to 8 kHz on request
    rng = np.random.default_rng(0)
    for i in range(3):
        wavfile.write(tmp_path / f"n{i}.wav", 16000,
                      (0.3 * rng.standard_normal(16000) * 32767 / 4).astype(np.int16))
    ds = get_study(NAME).run(quick=True, audio_dir=str(tmp_path), sample_rate=8000,
                             n_segments=1000, n_updates=20, progress=False)
    assert ds.attrs["sample_rate"] == 8000.0 and ds.attrs["n_files"] == 3


def test_an_unreadable_file_is_reported_under_audio_dir(tmp_path):
    """A 0-byte WAV among good ones: the study's error names audio_dir and the file
    (it was SciPy's "File format b'' not understood" under load_wav's "path")."""
    wavfile.write(tmp_path / "a.wav", 8000, np.zeros(800, np.int16))
    (tmp_path / "b.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"^audio_dir '.*': '.*b\.wav' is an empty file "
                                         r"\(0 bytes\), not a WAV$"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), progress=False)


def test_a_folder_named_like_a_wav_is_not_read_as_one(tmp_path):
    """A folder called x.wav among the WAVs stopped the run ("a folder, not a WAV file"):
    the pattern's glob matches folders too, and they are skipped (only a.wav is read)."""
    from studies._auditory import audio_folder

    (tmp_path / "x.wav").mkdir()
    with pytest.raises(ValueError, match=r"audio_dir: no files matching pattern='\*\.wav'"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), progress=False)
    wavfile.write(tmp_path / "a.wav", 8000, np.zeros(800, np.int16))
    assert audio_folder(str(tmp_path), "*.wav") == (False, tmp_path.resolve())


def test_a_wav_file_given_as_audio_dir_is_said_to_be_a_file(tmp_path, capsys):
    """`-p audio_dir=speech/a.wav` said "no such folder" of a file that is there."""
    wav = tmp_path / "a.wav"
    wavfile.write(wav, 8000, np.zeros(800, np.int16))
    assert main(["study", "run", NAME, "--quick", "--out", str(tmp_path / "out"), "-p",
                 f"audio_dir={wav}"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"v1model: error: audio_dir: {str(wav)!r} is a file; give a folder of WAV files (this "
        f"file's is {str(tmp_path)!r}), or 'synthetic'")
    assert not (tmp_path / "out").exists()


def test_missing_audio_is_reported_by_name(tmp_path, capsys):
    study = get_study(NAME)
    with pytest.raises(ValueError, match="audio_dir: this study learns from recorded speech"):
        study.run(quick=True)
    with pytest.raises(FileNotFoundError, match="audio_dir: no such folder"):
        study.run(quick=True, audio_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="audio_dir: no files matching pattern='\\*.wav'"):
        study.run(quick=True, audio_dir=str(tmp_path))
    with pytest.raises(ValueError, match="localization_threshold must be in"):
        study.run(quick=True, audio_dir="synthetic", localization_threshold=2)
    with pytest.raises(ValueError, match="segment_length must be >= 8, got 4"):
        study.run(quick=True, audio_dir="synthetic", segment_length=4)
    # a floor at or above Nyquist ran to the end with no kernel in the fit (slope NaN)
    with pytest.raises(ValueError, match=r"min_centre_frequency=4000.0 Hz is at or above the "
                                         r"Nyquist frequency of the segments \(4000 Hz\)"):
        study.run(quick=True, audio_dir="synthetic", min_centre_frequency=4000.0)
    # the command line says what to give, and leaves no output folder behind
    out = tmp_path / "out"
    assert main(["study", "run", NAME, "--quick", "--out", str(out)]) == 2
    assert "audio_dir" in capsys.readouterr().err and not out.exists()


def test_derived_variables_recomputed_from_the_dataset(fsdd_run):
    # each summary variable, recomputed from the tuning the Dataset holds
    ds = fsdd_run
    K = ds["kernels"].values
    rows = np.arange(len(K))
    assert np.all(K[rows, np.abs(K).argmax(axis=1)] > 0)  # largest excursion positive
    rate, taps = ds.attrs["sample_rate"], ds.attrs["segment_length"]
    flat = taps / rate / np.sqrt(12)  # RMS duration of a flat envelope over the segment
    np.testing.assert_allclose(ds["duration_ratio"], ds["envelope_duration"] / flat,
                               rtol=1e-12)
    np.testing.assert_array_equal(ds["localized"],
                                  ds["duration_ratio"] < ds.attrs["localization_threshold"])
    fc = ds["peak_frequency"].values
    np.testing.assert_array_equal(ds["bandpass"], ~ds["lowpass_3db"].values & (
        fc >= ds.attrs["min_centre_frequency"]))
    assert ds.attrs["fraction_bandpass"] == pytest.approx(ds["bandpass"].values.mean())
    # median Q10 over the band-pass kernels whose -10 dB band is measured (not cut at 0 Hz
    # or Nyquist, where Q10 is only a bound), the others counted
    measured = ds["bandpass"].values & ~ds["lowpass_10db"].values & ~ds["highpass_10db"].values
    assert ds.attrs["median_q10"] == pytest.approx(np.median(ds["q10"].values[measured]))
    assert ds.attrs["n_q10_left_out"] == ds["bandpass"].values.sum() - measured.sum()
    assert ds["envelope_skewness"].attrs["units"] == "1"
    assert ds.attrs["median_envelope_skewness"] == pytest.approx(
        np.median(ds["envelope_skewness"].values))
    used = ds["fit_used"].values
    erb = 24.7 * (4.37 * fc[used] / 1000 + 1)
    slope = np.polyfit(np.log10(fc[used]), np.log10(erb), 1)[0]
    assert float(ds["erb_slope"]) == pytest.approx(slope, rel=1e-9)
    # the gammatone reference: SciPy's FIR gammatone at a fitted kernel's centre, cut to
    # the segment's taps, its -10 dB bandwidth read like the kernels'
    from v1model.analysis import auditory_tuning

    i = int(np.flatnonzero(used)[len(np.flatnonzero(used)) // 2])
    cut = gammatone(float(fc[i]), "fir", numtaps=taps, fs=rate)[0]
    expected = float(auditory_tuning(cut, rate)["bandwidth_10db"][0])
    assert float(ds["gammatone_bandwidth_10db"][i]) == pytest.approx(expected, rel=1e-9)


def test_the_audio_folder_is_recorded_by_its_absolute_path(tmp_path, monkeypatch):
    """``-p audio_dir=wavs`` recorded "wavs" in attrs["audio_dir"] and attrs["source"]:
    nothing to find the recordings by once the result is read from another folder."""
    rng = np.random.default_rng(0)
    (tmp_path / "wavs").mkdir()
    for i in range(2):
        wavfile.write(tmp_path / "wavs" / f"n{i}.wav", 8000,
                      (0.3 * rng.standard_normal(8000) * 32767 / 4).astype(np.int16))
    monkeypatch.chdir(tmp_path)
    ds = get_study(NAME).run(quick=True, audio_dir="wavs", n_segments=300, n_updates=2,
                             progress=False)
    folder = str((tmp_path / "wavs").resolve())
    assert ds.attrs["audio_dir"] == folder and ds.attrs["source"].endswith(f" in {folder}")


def test_recordings_that_give_no_segment_are_counted_apart(tmp_path):
    """attrs["n_files"] counted a 10-sample clip and a silent take among the
    recordings learned from: the attrs now say how many the segments come from
    (``n_train_files``, as smith-lewicki's) and how many were skipped and why."""
    rng = np.random.default_rng(0)
    for i in range(3):
        wavfile.write(tmp_path / f"speech{i}.wav", 8000,
                      np.round(rng.standard_normal(2000) * 3000).astype(np.int16))
    wavfile.write(tmp_path / "clip.wav", 8000,
                  np.round(rng.standard_normal(10) * 3000).astype(np.int16))
    wavfile.write(tmp_path / "silent.wav", 8000, np.zeros(2000, np.int16))
    # RMS ~ 30 / 32768, below min_rms = 0.02 everywhere: no segment either
    wavfile.write(tmp_path / "quiet.wav", 8000,
                  np.round(rng.standard_normal(2000) * 30).astype(np.int16))
    ds = get_study(NAME).run(quick=True, audio_dir=str(tmp_path), n_segments=500,
                             n_updates=2, progress=False)
    counts = {k: ds.attrs[k] for k in ("n_files", "n_train_files", "n_eval_files",
                                       "n_short_files", "n_quiet_files")}
    # of the 3 that give segments, one (round(0.1 * 3), at least one) is held out
    assert counts == dict(n_files=6, n_train_files=2, n_eval_files=1, n_short_files=1,
                          n_quiet_files=2)
    synthetic = get_study(NAME).run(quick=True, audio_dir="synthetic", n_segments=500,
                                    n_updates=2, progress=False)
    assert (synthetic.attrs["n_train_files"], synthetic.attrs["n_eval_files"],
            synthetic.attrs["n_short_files"], synthetic.attrs["n_quiet_files"]) == (0, 0, 0, 0)


def test_a_quieter_copy_of_a_recording_gives_the_same_segments(tmp_path):
    """The default silence level is absolute (min_rms = 0.02 of full scale): a recording
    made 20 dB quieter (its words at RMS 0.01) gives no segment and is counted quiet, as
    48 of the 50 recordings of FSDD's quietest speaker are. With the option
    min_relative_rms = 0.3 (and min_rms = 0) silence is a segment below 0.3 times its
    own recording's RMS: the quiet copy gives the loud one's segments, and the study
    learns from both."""
    from studies._auditory import load_audio

    rng = np.random.default_rng(0)
    loud = 1e-3 * rng.standard_normal(8000)
    for start in (500, 2500, 4500, 6500):  # four words between pauses
        loud[start:start + 1000] = 0.1 * rng.standard_normal(1000)
    (tmp_path / "both").mkdir()
    for name, wave in (("loud", loud), ("quiet", loud / 10)):  # float WAVs: full scale 1
        (tmp_path / name).mkdir()
        wavfile.write(tmp_path / name / "take.wav", 8000, wave.astype(np.float32))
        wavfile.write(tmp_path / "both" / f"{name}.wav", 8000, wave.astype(np.float32))
    X = {name: load_audio(tmp_path / name, "*.wav", None, 64, 500, 0.0,
                          np.random.default_rng(1), min_relative_rms=0.3)[0]
         for name in ("loud", "quiet")}
    np.testing.assert_allclose(X["quiet"], X["loud"], rtol=1e-5, atol=1e-5)
    ds = get_study(NAME).run(quick=True, audio_dir=str(tmp_path / "both"), n_segments=300,
                             n_updates=2, min_rms=0.0, min_relative_rms=0.3, progress=False)
    # one recording to train on, the other held out for the evaluation segments
    assert (ds.attrs["n_train_files"], ds.attrs["n_eval_files"],
            ds.attrs["n_quiet_files"]) == (1, 1, 0)
    assert (ds.attrs["min_rms"], ds.attrs["min_relative_rms"]) == (0.0, 0.3)
    # the defaults, the absolute level and the relative one off, leave the quiet copy
    # out: one recording, none to hold out, which is refused naming min_rms
    with pytest.raises(ValueError, match=r"holds 1 recording\(s\) \(of 2 .* min_rms=0\.02 "
                                         r"and >= min_relative_rms=0 .* the evaluation "
                                         r"segments come from recordings never trained on, "
                                         r"so at least 2 are needed; 1 of the others are "
                                         r"quieter throughout .*: lower min_rms"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path / "both"), n_segments=300,
                            n_updates=2, progress=False)
    with pytest.raises(ValueError, match=r"^min_relative_rms must be a non-negative finite "
                                         r"number, got -1$"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path / "both"),
                            min_relative_rms=-1, progress=False)


@pytest.mark.parametrize("level", [0, 30])
def test_a_folder_that_gives_no_segment_is_refused_before_any_is_drawn(tmp_path, monkeypatch,
                                                                        level):
    """Silent recordings (level 0) and recordings quieter than min_rms throughout (RMS
    ~30 / 32768) give no segment: the draw took its 50 rounds (~16 s for a folder like
    FSDD under load) to say so, naming sample_segments' ``length``. They are refused
    as smith-lewicki refuses them, once the files are read, naming the study's
    parameters; the quiet ones with the loudest segment's RMS, below which min_rms
    would do."""
    import stimuli.audio
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(0)
    waves = [np.round(rng.standard_normal(1000) * level).astype(np.int16) for _ in range(3)]
    for i, wave in enumerate(waves):
        wavfile.write(tmp_path / f"take{i}.wav", 8000, wave)

    def no_draw(*args, **kwargs):
        raise AssertionError("segments were drawn from recordings that give none")

    monkeypatch.setattr(stimuli.audio, "sample_segments", no_draw)
    with pytest.raises(ValueError) as info:
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), progress=False)
    message = str(info.value)
    assert message.startswith(f"audio_dir {str(tmp_path.resolve())!r} holds 0 recording(s) "
                              "(of 3 of at least segment_length=64 samples matching "
                              "pattern='*.wav') with a piece of that length with RMS >= "
                              "min_rms=0.02")
    if level == 0:
        assert message.endswith("; the others are silent (every sample 0)")
        return
    # the loudest 64-sample segment's RMS, from every window of every recording
    loudest = max(np.sqrt((sliding_window_view(w / 32768.0, 64) ** 2).mean(axis=1)).max()
                  for w in waves)
    assert f"(the loudest piece's RMS is {loudest:.3g}): lower min_rms" in message
    assert 0 < loudest < 0.02


def _positions(segments, waves, length):
    """(recording, start) of every unit-RMS ``segments`` row among the windows of
    ``length`` samples of ``waves``, each scaled to unit RMS as the study scales them."""
    from numpy.lib.stride_tricks import sliding_window_view

    found = []
    for x in segments:
        hits = []
        for i, w in enumerate(waves):
            windows = sliding_window_view(w, length)
            rms = np.sqrt((windows**2).mean(axis=1))
            close = np.all(np.abs(windows / rms[:, None] - x) < 1e-6, axis=1)
            hits += [(i, int(s)) for s in np.flatnonzero(close)]
        assert len(hits) == 1, hits  # noise: every window is its own
        found.append(hits[0])
    return found


def test_held_out_segments_share_no_sample_with_training_ones(tmp_path, monkeypatch):
    """The error the study reported was the last training minibatch's: no segment was
    held out, and segments drawn again from the same recordings overlap the training
    ones (2,000 drawn after the quick run's 20,000 from FSDD: 1,984 shared a sample
    with one, 93 were copies). The held-out segments now come from recordings set
    aside before any segment is cut: located in the recordings, none overlaps a
    training segment; and ``eval_relative_error`` is their LASSO error in the learned
    kernels, recomputed here with scikit-learn's coordinate descent."""
    from sklearn.decomposition import sparse_encode

    import v1model.inference
    import v1model.learning

    rng = np.random.default_rng(0)
    waves = [np.round(rng.standard_normal(600) * 3000) / 32768 for _ in range(6)]
    for i, wave in enumerate(waves):
        wavfile.write(tmp_path / f"take{i}.wav", 8000, np.round(wave * 32768).astype(np.int16))
    seen = {}
    learn, code = v1model.learning.learn_online, v1model.inference.fista

    def learn_spy(X, *args, **kwargs):
        seen["train"] = np.array(X)
        return learn(X, *args, **kwargs)

    def fista_spy(X, *args, **kwargs):
        seen["eval"] = np.array(X)
        return code(X, *args, **kwargs)

    monkeypatch.setattr(v1model.learning, "learn_online", learn_spy)
    monkeypatch.setattr(v1model.inference, "fista", fista_spy)
    length, n_eval = 16, 40
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir=str(tmp_path), segment_length=length,
                             n_segments=300, n_updates=20, n_eval=n_eval, eval_fraction=0.3,
                             lam=0.3, progress=False)
    assert "eval" in seen, "no held-out segment was coded"
    assert seen["eval"].shape == (n_eval, length) and seen["train"].shape == (300, length)
    train = _positions(seen["train"], waves, length)
    held = _positions(seen["eval"], waves, length)
    assert {i for i, _ in held}.isdisjoint({i for i, _ in train})
    shared = [(i, s) for i, s in held if any(j == i and abs(s - t) < length for j, t in train)]
    assert shared == []
    # 6 recordings: round(0.3 * 6) = 2 held out, the segments cut from the other 4
    assert (ds.attrs["n_train_files"], ds.attrs["n_eval_files"]) == (4, 2)
    assert ds.attrs["held_out"].startswith("40 evaluation segments from 2 recordings set aside")
    assert len({i for i, _ in held}) <= 2 and len({i for i, _ in train}) <= 4
    # the reported held-out error: scikit-learn's LASSO codes of the same segments in the
    # kernels the Dataset holds (sorted and signed: the error does not change)
    D = ds["kernels"].values
    A = sparse_encode(seen["eval"], D, algorithm="lasso_cd", alpha=0.3, max_iter=10000)
    R = seen["eval"] - A @ D
    expected = np.mean((R**2).sum(axis=1) / (seen["eval"] ** 2).sum(axis=1))
    assert ds.attrs["eval_relative_error"] == pytest.approx(expected, rel=2e-3)
    assert 0 < ds.attrs["eval_relative_error"] < 1
    assert ds.attrs["eval_fraction_active"] == pytest.approx(np.count_nonzero(A) / A.size,
                                                             abs=0.02)
