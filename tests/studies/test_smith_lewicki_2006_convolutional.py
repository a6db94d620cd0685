"""Study smith-lewicki-2006-convolutional: convolutional (stride-1) kernels learned
from spoken digits (FSDD) with matching-pursuit spikes (the default, as the paper)
or FISTA's L1 codes, analysed as auditory filters, against kernels learned from
white noise and random kernels.

Ranges measured on the quick runs, seeds 0 and 1 (300 FSDD recordings), then
widened by a margin. Matching pursuit to 15 dB: learned kernels hold a median 0.58 /
0.60 of their power inside their own -10 dB band (white-noise kernels 0.15 / 0.16,
random 0.15 / 0.15), centred at a median 809 / 824 Hz (controls 1.3-1.6 kHz);
slope of log bandwidth vs log centre frequency -0.03 / 0.15 (+- 0.09-0.13 s.e.), against
the ERB scale's 0.74-0.76 at the same centres and 0.30 / 0.26 for gammatones cut to 64
taps; 3% / 3% localized; held-out relative error 3.1% (the 15 dB target) with 0.08-0.11
spikes per sample. FISTA (lam 2): 0.61 / 0.68 in band (controls 0.14-0.18), median
centre 491 / 611 Hz, slope -0.07 / 0.14, 3% / 0% localized, held-out error 22% /
22% with 0.36% / 0.34% of coefficients active (both re-measured 2026-12-07 after
e855fef, as in the README; matching pursuit's unchanged). The published slope (Smith &
Lewicki 2006) is not in the repository and is not asserted: the bandwidth-frequency
relation of the paper is *not* reproduced here (flat slope).
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from studies import get_study, study_parameters
from v1model.cli import main

NAME = "smith-lewicki-2006-convolutional"
FSDD = Path(os.environ["V1MODEL_SHARED_DATA"]) / "fsdd"  # set by conftest.py


@pytest.fixture(scope="module", params=["mp", "fista"])
def fsdd_run(request):
    if not FSDD.is_dir():  # per module: the shared_data fixture is per test
        pytest.skip(f"reference data not present: {FSDD}")
    return get_study(NAME).run(quick=True, seed=0, audio_dir=str(FSDD), progress=False,
                               method=request.param)


def test_learned_kernels_are_tuned_and_the_controls_are_not(fsdd_run):
    ds = fsdd_run
    assert ds.sizes["kernel"] == 32 and ds.sizes["time"] == 64
    fc = ds["peak_frequency"].values
    assert np.all(np.diff(fc) >= 0)  # sorted by centre frequency
    conc = ds["control_median_concentration"]
    # a learned kernel is a band-pass filter: most of its power inside its -10 dB band
    assert float(conc.sel(control="learned")) > 0.45
    assert ds.attrs["median_concentration"] == float(conc.sel(control="learned"))
    assert ds.attrs["fraction_bandpass"] >= 0.8
    # kernels learned from white noise, and random kernels, are not (0.14-0.20)
    for control in ("white_noise", "random"):
        assert float(conc.sel(control=control)) < 0.3
        assert float(conc.sel(control="learned")) > float(conc.sel(control=control)) + 0.25
    # speech kernels sit where spoken digits carry their power; the controls spread
    # over the whole band up to 4 kHz
    centre = ds["control_median_centre"]
    assert float(centre.sel(control="learned")) < 1300
    assert float(centre.sel(control="white_noise")) > 1300
    assert float(centre.sel(control="random")) > 1300
    assert np.percentile(fc, 90) > 1000 and fc.max() < ds.attrs["sample_rate"] / 2


def test_the_code_is_sparse(fsdd_run):
    # held-out excerpts coded alike: a spikegram with a few coefficients per sample,
    # most of the energy explained (MP: exactly to the 15 dB target)
    a = fsdd_run.attrs
    assert a["eval_fraction_active"] < 0.01
    assert a["eval_nonzero_per_sample"] < 0.3
    if a["method"] == "mp":
        # every held-out excerpt reached the target (with 200 spikes per 1,024-sample
        # excerpt, a quarter of the training's budget per sample, one of 32 fell short)
        assert a["eval_n_short"] == 0 and a["eval_max_iter"] == 800
        assert 0.02 < a["eval_relative_error"] <= 10 ** -1.5 * 1.05
        assert a["eval_nonzero_per_sample"] < 0.15
    else:
        assert 0.1 < a["eval_relative_error"] < 0.35
        # every held-out excerpt reached FISTA's tolerance within its 5,000 steps (0 of 32
        # on 2026-12-07; the count was 0 whatever FISTA did before)
        assert a["eval_n_short"] == 0 and a["eval_max_iter"] == 5000
    # learning lowered the energy (FISTA) or the spikes needed for the same SNR (MP)
    h = fsdd_run["history_fraction_active" if a["method"] == "mp"
                 else "history_objective"].values
    assert h[-10:].mean() < h[:10].mean()


def test_bandwidth_does_not_follow_the_cochlear_power_law(fsdd_run):
    # the paper's claim, as measured here: NOT reproduced. Bandwidth grows little with
    # centre frequency (quick slope, seeds 0 / 1: MP -0.03 / 0.15, FISTA -0.07 / 0.14),
    # far below the ERB scale's slope at the same centres (0.70-0.76) and near
    # gammatones cut to 64 taps (0.20-0.30); few kernels are localized (0-3%) and
    # duration does not fall with centre frequency (README, 2026-12-07)
    ds = fsdd_run
    slope = ds.attrs["slope_10db"]
    assert -0.35 < slope < 0.4
    assert 0.6 < float(ds["erb_slope"]) < 0.8
    assert slope < float(ds["erb_slope"]) - 0.3
    assert abs(slope - ds.attrs["gammatone_slope"]) < 0.4
    assert int(ds["fit_n_kernels"]) >= 20
    assert ds.attrs["fraction_localized"] <= 0.3
    assert float(ds["control_slope"].sel(control="learned")) == slope


def test_dataset_units_parameters_and_figures(fsdd_run, tmp_path):
    ds = fsdd_run
    np.testing.assert_allclose(np.linalg.norm(ds["kernels"].values, axis=1), 1.0, rtol=1e-5)
    K = ds["kernels"].values
    assert np.all(K[np.arange(len(K)), np.abs(K).argmax(axis=1)] > 0)
    assert sorted(ds["atom"].values.tolist()) == list(range(32))
    np.testing.assert_allclose(ds["control_kernels"].sel(control="learned").values, K)
    assert ds["peak_frequency"].attrs["units"] == "Hz" and ds["time"].attrs["units"] == "s"
    assert ds["control_median_centre"].attrs["units"] == "Hz"
    assert ds.attrs["sample_rate"] == 8000.0 and ds.attrs["n_files"] == 300
    assert ("matching-pursuit spikes" if ds.attrs["method"] == "mp" else "FISTA") in \
        ds.attrs["learner"]
    missing = set(study_parameters(NAME)) - set(ds.attrs) - {"progress"}
    assert not missing, sorted(missing)
    # the training shortfall, kept per update and summed (FSDD mp: 4 of 1,600 crops)
    short = ds["history_n_unconverged"]
    assert short.dims == ("update",) and short.attrs["units"] == "1"
    assert int(short.sum()) == ds.attrs["n_unconverged"]
    assert ds.attrs["fraction_unconverged"] == pytest.approx(
        ds.attrs["n_unconverged"] / (ds.sizes["update"] * ds.attrs["batch_size"]))
    # only the stop that ran, as learn_kernels records it: lam=2.0 was recorded for mp
    mp = ds.attrs["method"] == "mp"
    assert (ds.attrs["lam"], ds.attrs["snr_db"]) == (("None", 15.0) if mp else (2.0, "None"))
    # the concentration, recomputed from the spectrum the Dataset holds
    power = 10 ** (ds["spectrum"].values / 10)
    f = ds["frequency"].values
    i = 5
    inside = (f >= float(ds["low_10db"][i])) & (f <= float(ds["high_10db"][i]))
    assert float(ds["concentration"][i]) == pytest.approx(power[i, inside].sum()
                                                          / power[i].sum(), rel=1e-9)
    from v1model.io import load_dataset, save_dataset

    back = load_dataset(save_dataset(ds, tmp_path / "r.nc"))
    np.testing.assert_array_equal(back["kernels"].values, ds["kernels"].values)
    paths = get_study(NAME).plot(back, tmp_path)
    assert [p.name.split("convolutional_")[1] for p in paths] == [
        "kernels.png", "spectra.png", "bandwidth.png", "spikegram.png", "rate_distortion.png"]
    for p in paths:
        assert p.exists() and p.read_bytes()[:4] == b"\x89PNG", p


def test_final_reconstruction_error_averages_the_recorded_updates(fsdd_run):
    """``final_reconstruction_error`` is the mean training error of the last
    FINAL_ERROR_UPDATES (20) updates, a number the result did not record: attrs now
    say how many, and the value is that mean of the recorded history (not its last
    value, nor the whole run's mean)."""
    from studies.smith_lewicki_2006_convolutional import FINAL_ERROR_UPDATES

    ds = fsdd_run
    assert FINAL_ERROR_UPDATES == 20
    used = ds.attrs["final_reconstruction_error_updates"]
    history = ds["history_reconstruction_error"].values
    assert used == 20 < history.size
    assert ds.attrs["final_reconstruction_error"] == pytest.approx(
        history[-20:].mean(), rel=1e-12)
    assert history[-20:].mean() != pytest.approx(history.mean(), rel=1e-6)


def test_spikegram_rebuilds_its_excerpt(fsdd_run):
    """The spikes of the held-out excerpt, placed back as sign-normalised kernels
    at their onsets, give the stored reconstruction, as far from the excerpt as
    the held-out error says."""
    ds = fsdd_run
    rate = ds.attrs["sample_rate"]
    K = ds["kernels"].values
    taps = K.shape[1]
    n = ds.sizes["excerpt_time"]
    canvas = np.zeros(n + 2 * (taps - 1))
    for j, onset, a in zip(ds["spike_kernel"].values, ds["spike_onset"].values,
                           ds["spike_amplitude"].values):
        start = int(round(onset * rate)) + taps - 1
        canvas[start:start + taps] += a * K[j]
    made = canvas[taps - 1:taps - 1 + n]
    np.testing.assert_allclose(made, ds["excerpt_reconstruction"].values, atol=1e-5)
    x = ds["excerpt"].values
    err = np.sum((x - made) ** 2) / np.sum(x**2)
    assert err < 0.4 and ds.sizes["spike"] < 0.3 * n
    if ds.attrs["method"] == "mp":  # every excerpt is coded to the SNR target
        assert err <= 10 ** (-ds.attrs["snr_db"] / 10) * 1.01


def test_spike_code_needs_fewer_coefficients_than_block_codes(fsdd_run):
    """Smith & Lewicki's efficiency claim, in coefficients (not bits): at equal
    fidelity the learned kernels' spikes need fewer coefficients per second than
    orthonormal block DCTs and than random kernels' spikes, and no more than a
    gammatone bank's. Measured (MP, quick, seeds 0 / 1; 2026-12-07 at 234c5d6): 402 /
    273 spikes per second at 10 dB, against 915 / 619 (DCT, 8 ms blocks), 622 / 394
    (32 ms), 1262 / 1130 (random) and 422 / 302 (gammatones). Kernels learned with
    FISTA's codes (which leave a fifth of the energy, the quiet high frequencies,
    uncoded) keep the lead over 8 ms blocks and random kernels only up to 10 dB (seed
    0: 617 against 896 and 1574 at 10 dB, 627 for 32 ms blocks and 447 for
    gammatones; at 20 dB 2828 against a DCT's 2330), so only that range is asserted for them."""
    ds = fsdd_run
    rate = ds["coefficients_per_second"]
    if ds.attrs["method"] == "fista":
        rate = rate.sel(target_snr=[5.0, 10.0])
    learned = rate.sel(coder="learned_spikes")
    assert np.all(learned < 0.8 * rate.sel(coder="block_dct"))
    assert np.all(learned < 0.6 * rate.sel(coder="random_spikes"))
    if ds.attrs["method"] == "mp":
        assert np.all(learned < 1.1 * rate.sel(coder="gammatone_spikes"))
        assert np.all(learned.sel(target_snr=[10.0, 15.0, 20.0])
                      < rate.sel(coder="block_dct_4x", target_snr=[10.0, 15.0, 20.0]))
    # more fidelity costs more coefficients, for every code
    assert np.all(np.diff(rate.values, axis=1) > 0)
    assert rate.attrs["units"] == "1/s" and ds["target_snr"].attrs["units"] == "dB"


def test_synthetic_stand_in_runs_without_recordings():
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=64,
                             n_updates=5, control_updates=2, n_eval=4, progress=False)
    assert "not speech" in ds.attrs["source"] and ds.attrs["n_files"] == 0
    assert ds.sizes["kernel"] == 32 and list(ds["control"].values) == [
        "learned", "white_noise", "random"]


def test_missing_audio_is_reported_by_name(tmp_path, capsys):
    study = get_study(NAME)
    with pytest.raises(ValueError, match="audio_dir: this study learns from recorded speech"):
        study.run(quick=True)
    with pytest.raises(FileNotFoundError, match="audio_dir: no such folder"):
        study.run(quick=True, audio_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="audio_dir: no files matching pattern"):
        study.run(quick=True, audio_dir=str(tmp_path))
    with pytest.raises(ValueError, match="kernel_size must be >= 8"):
        study.run(quick=True, audio_dir="synthetic", kernel_size=4)
    out = tmp_path / "out"
    assert main(["study", "run", NAME, "--quick", "--out", str(out)]) == 2
    assert "audio_dir" in capsys.readouterr().err and not out.exists()


def test_no_floor_and_short_excerpts_finish_the_rate_comparison():
    """``min_centre_frequency=0`` (allowed) made the gammatone bank of the
    rate-distortion comparison ``np.geomspace(0, ...)``, and excerpts shorter than
    four kernels (``excerpt_length >= kernel_size`` is allowed) left the 4x block
    DCT nothing to code (argmax of an empty sequence): both crashed after all the
    learning. The bank now starts at one cycle per kernel, and a block longer than
    the excerpts is NaN."""
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=32,
                             n_updates=2, control_updates=1, n_eval=4, excerpt_length=128,
                             min_centre_frequency=0.0, progress=False)
    rate = ds["coefficients_per_second"]
    assert np.all(np.isnan(rate.sel(coder="block_dct_4x")))  # 256-sample blocks, 128 samples
    others = rate.drop_sel(coder="block_dct_4x")
    assert np.all(np.isfinite(others)) and np.all(others > 0)
    assert ds.attrs["min_centre_frequency"] == 0.0


def test_a_floor_that_leaves_the_gammatone_bank_no_band_is_refused(tmp_path):
    """``min_centre_frequency=3999`` (below Nyquist, so allowed) made the rate
    comparison's bank ``geomspace(3999, 3600, 32)``: reversed, every filter near
    Nyquist, and matching pursuit ran every excerpt to its default 32 steps per sample
    at every fidelity (340 s) to give NaN. A floor above an octave below the bank's top
    is refused before anything is read or learned (for recordings, once their rate is
    read: seconds)."""
    study = get_study(NAME)
    with pytest.raises(ValueError, match=r"^min_centre_frequency=3999\.0 Hz must be at "
                                         r"most 1800 Hz \(0\.225 x the sample rate, "
                                         r"8000 Hz\): the gammatone bank of the rate "
                                         r"comparison runs from it to 3600 Hz"):
        study.run(quick=True, audio_dir="synthetic", min_centre_frequency=3999.0)
    with pytest.raises(ValueError, match=r"^min_centre_frequency=4000\.0 Hz must be at "
                                         r"most 3600 Hz \(0\.225 x the sample rate, "
                                         r"16000 Hz\)"):
        study.run(quick=True, audio_dir="synthetic", sample_rate=16000,
                  min_centre_frequency=4000.0)
    out = tmp_path / "out"
    assert main(["study", "run", NAME, "--quick", "--out", str(out), "-p",
                 "audio_dir=synthetic", "-p", "min_centre_frequency=3999"]) == 2
    assert not out.exists()
    # one octave is allowed (the bank 1.8-3.6 kHz)
    ds = study.run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=32, n_updates=2,
                   control_updates=1, n_eval=2, excerpt_length=256,
                   min_centre_frequency=1800.0, progress=False)
    assert ds.attrs["min_centre_frequency"] == 1800.0


def test_a_lam_that_zeroes_every_code_names_the_study_parameters():
    """learn_kernels refused it naming its own arguments ("crop_size=(256,) in
    images ... or rescale images"), not the study's crop_length and excerpts."""
    with pytest.raises(ValueError) as info:
        get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", method="fista",
                            lam=1e6, n_excerpts=32, n_eval=4, progress=False)
    message = str(info.value)
    assert message.startswith("lam=1000000.0 is at least the largest norm ")
    assert "crop_length=256 samples of the audio excerpts" in message
    assert "crop_size" not in message and "images" not in message


def test_recordings_shorter_than_an_excerpt_name_the_study_parameter(tmp_path):
    """Clips shorter than the default excerpt (16 kernels, 1,024 samples) were
    reported as "length=1024 is longer than every waveform": a parameter the
    user never gave, of stimuli.audio.sample_segments (lewicki-2002-speech's
    segment_length likewise, through the same loader)."""
    from scipy.io import wavfile

    noise = np.random.default_rng(0).standard_normal(800) * 3000
    for i in range(2):  # 0.1 s each
        wavfile.write(tmp_path / f"clip{i}.wav", 8000, noise.astype(np.int16))
    with pytest.raises(ValueError, match=r"excerpt_length=1024 samples is longer than every "
                                         r"recording .*longest: 800 samples, 0.1 s at 8000 Hz"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), progress=False)
    with pytest.raises(ValueError, match=r"segment_length=1000 samples is longer"):
        get_study("lewicki-2002-speech").run(quick=True, audio_dir=str(tmp_path),
                                             segment_length=1000, progress=False)


def test_the_learned_kernels_lags_are_in_seconds_of_the_study_rate(monkeypatch):
    """learn_kernels was called without the sounds' rate: its kernels (speech and the
    white-noise control) had their lag in samples beside the study's time axis in s.
    The study passes its sample_rate: lags in s, the rate in the learner's attrs."""
    import v1model.convolutional as conv

    used = []
    learn = conv.learn_kernels

    def spy(*args, **kwargs):
        out = learn(*args, **kwargs)
        used.append((out.attrs.get("sample_rate_hz"), out.attrs["time_units"],
                     out["lag"].values if "lag" in out.coords else None))
        return out

    monkeypatch.setattr(conv, "learn_kernels", spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=20,
                             n_updates=1, control_updates=1, n_eval=2, progress=False,
                             sample_rate=16000)
    assert ds.attrs["sample_rate"] == 16000.0 and len(used) == 2
    for rate, units, lag in used:
        assert (rate, units) == (16000.0, "s")
        np.testing.assert_array_equal(lag, np.arange(64) / 16000)
    np.testing.assert_array_equal(ds["time"].values, np.arange(64) / 16000)


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
@pytest.mark.parametrize("crop_length", [None, 512])
def test_the_crops_each_update_codes_are_a_recorded_parameter(monkeypatch, crop_length):
    """The README said every matching-pursuit update codes 16 excerpts of 1,024
    samples; learn_kernels (no crop_size given) coded crops of 4 kernel lengths (256
    samples) cut from them, a number recorded nowhere. It is now ``crop_length``,
    recorded in attrs, and is what the learner used."""
    import v1model.convolutional as conv

    used = []
    learn = conv.learn_kernels

    def spy(*args, **kwargs):
        out = learn(*args, **kwargs)
        used.append(list(out.attrs["crop_size"]))
        return out

    monkeypatch.setattr(conv, "learn_kernels", spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=20,
                             n_updates=1, control_updates=1, n_eval=2, progress=False,
                             crop_length=crop_length)
    expected = 4 * 64 if crop_length is None else crop_length
    assert ds.attrs["excerpt_length"] == 1024 and ds.attrs["crop_length"] == expected
    assert used == [[expected], [expected]]  # speech and the white-noise control
    with pytest.raises(ValueError, match="crop_length=2048 must be <= excerpt_length=1024"):
        get_study(NAME).run(quick=True, audio_dir="synthetic", crop_length=2048)


def _block_dct_counts(X, block, snr_db):
    """Coefficients per excerpt an orthonormal block DCT-II keeps to reach ``snr_db``:
    blocks of ``block`` samples and the samples left over in one shorter block, each
    transform built from its formula (not scipy.fft)."""
    def dct_matrix(n):
        k, m = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        C = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * m + 1) * k / (2 * n))
        C[0] /= np.sqrt(2.0)
        return C

    counts = []
    for x in X:
        pieces = [x[start:start + block] for start in range(0, len(x), block)]
        c = np.concatenate([dct_matrix(len(p)) @ p for p in pieces])
        power = np.sort(c**2)[::-1]
        allowed = (x @ x) * 10 ** (-snr_db / 10)
        counts.append(1 + int(np.argmax((x @ x) - np.cumsum(power) <= allowed)))
    return np.array(counts)


def test_a_code_that_cannot_reach_the_fidelity_is_nan_not_every_coefficient(monkeypatch):
    """A code that cannot reach a fidelity on every excerpt is NaN, not "every
    coefficient": matching pursuit ending short of it, and a block longer than the
    excerpts. A block DCT left the samples past its last whole block uncoded, which
    alone could hold more than the residual allowed (NaN at 15 and 20 dB here; at
    excerpt_length=517, kernel_size=33 from 10 dB up, where the spikes coded every
    sample): they are now one shorter block, and the counts are those of the explicit
    block-diagonal DCT matrix."""
    import xarray as xr

    import v1model.convolutional as conv
    from studies.smith_lewicki_2006_convolutional import _add_rate_distortion

    rng = np.random.default_rng(0)
    rate, taps = 8000.0, 64
    X = rng.standard_normal((4, 100))
    # one whole 64-sample block and a 36-sample tail holding 5% of each excerpt's
    # energy: uncoded, it let 5 and 10 dB (31.6% and 10% residual allowed) be reached,
    # 15 dB (3.2%) and 20 dB (1%) not
    X[:, :taps] *= np.sqrt(0.95 / (X[:, :taps] ** 2).sum(axis=1, keepdims=True))
    X[:, taps:] *= np.sqrt(0.05 / (X[:, taps:] ** 2).sum(axis=1, keepdims=True))
    K = rng.standard_normal((8, taps))
    ds = _add_rate_distortion(xr.Dataset(), X, K, rng.standard_normal((8, taps)), rate, 100.0)
    dct8 = ds["coefficients_per_second"].sel(coder="block_dct")
    seconds = X.size / rate
    want = [_block_dct_counts(X, taps, snr).sum() / seconds for snr in dct8["target_snr"].values]
    np.testing.assert_allclose(dct8.values, want, rtol=1e-12)
    assert np.all(dct8 < X.size / seconds)  # fewer than every coefficient
    assert np.all(np.isnan(ds["coefficients_per_second"].sel(coder="block_dct_4x")))
    spikes = ds["coefficients_per_second"].sel(coder=["learned_spikes", "random_spikes"])
    assert np.all(np.isfinite(spikes)) and np.all(spikes > 0)
    # 8 gammatones (100 Hz-3.6 kHz) code white noise to 15 dB, not to 20 dB within
    # matching pursuit's steps (it warns; the spikes it used were counted)
    gammatone = ds["coefficients_per_second"].sel(coder="gammatone_spikes")
    assert np.all(np.isfinite(gammatone.sel(target_snr=[5.0, 10.0, 15.0])))
    assert np.isnan(gammatone.sel(target_snr=20.0))

    # matching pursuit stopped after 2 steps reaches none of the targets on noise
    real = conv.matching_pursuit
    monkeypatch.setattr(conv, "matching_pursuit",
                        lambda *a, **k: real(*a, max_iter=2, **k))
    ds = _add_rate_distortion(xr.Dataset(), X, K, rng.standard_normal((8, taps)), rate, 100.0)
    spikes = ds["coefficients_per_second"].sel(
        coder=["learned_spikes", "gammatone_spikes", "random_spikes"])
    assert np.all(np.isnan(spikes))


def test_the_samples_past_the_last_whole_block_are_coded():
    """Excerpts of 100 samples holding one DCT atom in their whole 64-sample block and
    one of the 36-sample DCT in the samples past it, both of unit norm:
    two coefficients code each excerpt exactly, at every fidelity. The tail was left
    uncoded, so that no number of coefficients reached even 5 dB (NaN)."""
    import xarray as xr
    from scipy.fft import idct

    from studies.smith_lewicki_2006_convolutional import _add_rate_distortion

    rng = np.random.default_rng(1)
    rate, taps, tail = 8000.0, 64, 36
    X = np.zeros((3, taps + tail))
    for x, k in zip(X, (1, 5, 20)):
        x[:taps] = idct(np.eye(taps)[k], norm="ortho")  # a unit-norm DCT atom
        x[taps:] = idct(np.eye(tail)[k % tail + 2], norm="ortho")
    ds = _add_rate_distortion(xr.Dataset(), X, rng.standard_normal((4, taps)),
                              rng.standard_normal((4, taps)), rate, 100.0)
    dct8 = ds["coefficients_per_second"].sel(coder="block_dct")
    np.testing.assert_allclose(dct8.values, 2 * len(X) / (X.size / rate), rtol=1e-12)


def test_another_threads_pursuit_warning_does_not_make_this_code_nan(monkeypatch):
    """The rate comparison set a code's count to NaN when a warning recorded around its
    matching pursuit said "end short of", with warnings.catch_warnings(record=True),
    one per process: a pursuit another thread ran meanwhile (another point of a dask
    worker with threads) made this code NaN, and its warning was swallowed. The count
    comes from this pursuit's own shortfall now."""
    import threading
    import warnings

    import xarray as xr

    import v1model.convolutional as conv
    from studies.smith_lewicki_2006_convolutional import _add_rate_distortion
    from v1model.inference import ConvergenceWarning

    rng = np.random.default_rng(0)
    X, K, random_kernels = (rng.standard_normal(shape) for shape in
                            ((3, 64), (4, 16), (4, 16)))
    alone = _add_rate_distortion(xr.Dataset(), X, K, random_kernels, 8000.0, 100.0)
    real = conv.matching_pursuit
    text = "convolutional matching_pursuit: 1 of 3 signals end short of snr_db=5.0"

    def with_a_neighbour(*args, **kwargs):
        codes = real(*args, **kwargs)
        neighbour = threading.Thread(
            target=lambda: warnings.warn(text, ConvergenceWarning))
        neighbour.start()
        neighbour.join()
        return codes

    monkeypatch.setattr(conv, "matching_pursuit", with_a_neighbour)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = _add_rate_distortion(xr.Dataset(), X, K, random_kernels, 8000.0, 100.0)
    # 3 kernel sets at 4 targets: each neighbour's warning reaches the caller
    assert [str(w.message) for w in caught] == [text] * 12
    spikes = alone["coefficients_per_second"].sel(
        coder=["learned_spikes", "gammatone_spikes", "random_spikes"])
    assert np.isfinite(spikes).sum() >= 6  # the premise: codes a neighbour could spoil
    xr.testing.assert_identical(ds, alone)


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")
def test_held_out_spike_budget_follows_the_excerpt_length(monkeypatch):
    """Training codes crops of ``crop_length`` samples with up to ``max_iter`` spikes
    each; the held-out excerpts (``excerpt_length``, coded whole) had the same
    ``max_iter`` in all, a quarter as many per sample by default: on the FSDD quick
    run 1 of 32 excerpts ended short of the 15 dB target, and only a warning said so
    (its error was averaged into ``eval_relative_error``). The held-out budget is now
    ``max_iter`` per ``crop_length`` samples, and the excerpts left short are counted
    in ``eval_n_short`` (here checked against the held-out codes themselves)."""
    import v1model.convolutional as conv

    calls = []
    real = conv.matching_pursuit

    def spy(X, kernels, **kwargs):
        codes = real(X, kernels, **kwargs)
        calls.append((X, kernels, kwargs, codes))
        return codes

    monkeypatch.setattr(conv, "matching_pursuit", spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=16,
                             n_updates=1, control_updates=1, n_eval=6, max_iter=5,
                             excerpt_length=300, crop_length=128, progress=False)
    X, K, kwargs, codes = calls[0]  # the held-out codes (then the rate comparison's)
    assert X.shape == (6, 300)
    assert kwargs["max_iter"] == 12  # 5 per 128 samples, rounded up (was 5)
    assert ds.attrs["eval_max_iter"] == 12
    made = conv.reconstruct(codes, K, X.shape[1:], stride=1)
    short = ((X - made) ** 2).sum(axis=1) > (X**2).sum(axis=1) * 10 ** -1.5
    assert short.sum() > 0 and ds.attrs["eval_n_short"] == short.sum()
    assert np.count_nonzero(codes) <= 12 * 6


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
def test_the_learning_rate_is_a_recorded_parameter(monkeypatch):
    """The step of every kernel update was learn_kernels' default 0.5, a number the
    study neither recorded nor let change; at 0.5 the kernels stay noisy (the
    README's measurements at 0.1). It is now ``learning_rate``, recorded in attrs,
    and is what the learner used, for speech and the white-noise control."""
    import v1model.convolutional as conv

    used = []
    learn = conv.learn_kernels

    def spy(*args, **kwargs):
        out = learn(*args, **kwargs)
        used.append(out.attrs["learning_rate"])
        return out

    monkeypatch.setattr(conv, "learn_kernels", spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=20,
                             n_updates=1, control_updates=1, n_eval=2, progress=False,
                             learning_rate=0.1)
    assert ds.attrs["learning_rate"] == 0.1
    assert used == [0.1, 0.1]
    assert study_parameters(NAME)["learning_rate"] == 0.5  # the learner's own default
    for bad in (0, 2.0, float("nan")):
        with pytest.raises(ValueError, match="learning_rate"):
            get_study(NAME).run(quick=True, audio_dir="synthetic", learning_rate=bad)


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
def test_held_out_excerpts_come_from_recordings_never_trained_on(monkeypatch, tmp_path):
    """The held-out excerpts were cut, like the training ones, at random places of the
    same recordings (X[:n_excerpts], X[n_excerpts:] of one draw): with FSDD the 2,000
    training excerpts hold twice the samples of all 300 recordings. Each excerpt is
    traced here to the recording it was cut from (10 recordings of distinct noise: a
    unit-RMS excerpt correlates 1 with its own place only): the two sets of recordings
    are disjoint, and the held-out one is eval_fraction of them."""
    from scipy.io import wavfile

    import v1model.convolutional as conv

    rng = np.random.default_rng(1)
    waves = [np.round(rng.standard_normal(1500) * 3000) for _ in range(10)]
    for i, w in enumerate(waves):
        wavfile.write(tmp_path / f"rec{i}.wav", 8000, w.astype(np.int16))
    seen = {}
    learn, pursue = conv.learn_kernels, conv.matching_pursuit

    def spy_learn(X, *args, **kwargs):
        seen.setdefault("train", X)
        return learn(X, *args, **kwargs)

    def spy_pursuit(X, *args, **kwargs):
        seen.setdefault("eval", X)
        return pursue(X, *args, **kwargs)

    monkeypatch.setattr(conv, "learn_kernels", spy_learn)
    monkeypatch.setattr(conv, "matching_pursuit", spy_pursuit)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir=str(tmp_path), n_excerpts=24,
                             n_eval=6, n_updates=1, control_updates=1, kernel_size=16,
                             n_kernels=4, excerpt_length=128, crop_length=64,
                             eval_fraction=0.2, max_iter=5, progress=False)

    def recording(x):
        """The recording that holds excerpt x (up to its scale)."""
        best = []
        for w in waves:
            windows = np.lib.stride_tricks.sliding_window_view(w, len(x))
            corr = windows @ x / (np.linalg.norm(windows, axis=1) * np.linalg.norm(x))
            best.append(corr.max())
        assert max(best) > 1 - 1e-9
        return int(np.argmax(best))

    train = {recording(x) for x in seen["train"]}
    held = {recording(x) for x in seen["eval"]}
    assert seen["train"].shape == (24, 128) and seen["eval"].shape == (6, 128)
    assert not train & held and len(held) <= 2 and len(train) >= 6
    assert (ds.attrs["n_files"], ds.attrs["n_train_files"], ds.attrs["n_eval_files"]) == \
        (10, 8, 2)
    assert ds.attrs["eval_fraction"] == 0.2
    with pytest.raises(ValueError, match="eval_fraction"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), eval_fraction=1.0)
    for path in list(tmp_path.glob("rec*.wav"))[1:]:
        path.unlink()
    with pytest.raises(ValueError, match=r"holds 1 recording .*at least 2 are needed"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), excerpt_length=128,
                            progress=False)


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
@pytest.mark.parametrize("seed", range(4))
def test_recordings_without_an_excerpt_are_never_the_held_out_ones(tmp_path, seed):
    """The held-out recordings were drawn among all the files: in a folder of 3
    long recordings, 5 short clips and 2 silent takes, a clip or a silent take
    drawn as the one held-out recording left nothing to cut ("length=128 is
    longer than every waveform", a parameter the study does not have; "could
    not find 2 segments with RMS >= 0.02; lower min_rms") for 3 of seeds 0-3,
    and the same run finished for the fourth. The held-out ones now come from the
    recordings that hold an excerpt; with fewer than 2 of them the error names
    ``excerpt_length``."""
    from scipy.io import wavfile

    rng = np.random.default_rng(1)
    for i in range(3):
        wavfile.write(tmp_path / f"long{i}.wav", 8000,
                      np.round(rng.standard_normal(1500) * 3000).astype(np.int16))
    for i in range(5):
        wavfile.write(tmp_path / f"short{i}.wav", 8000,
                      np.round(rng.standard_normal(100) * 3000).astype(np.int16))
    for i in range(2):
        wavfile.write(tmp_path / f"silent{i}.wav", 8000, np.zeros(1500, np.int16))
    small = dict(n_excerpts=8, n_eval=2, n_updates=1, control_updates=1, kernel_size=16,
                 n_kernels=4, excerpt_length=128, crop_length=64, max_iter=5, progress=False)
    ds = get_study(NAME).run(quick=True, seed=seed, audio_dir=str(tmp_path), **small)
    # round(0.1 * 3 recordings with an excerpt) -> 1 held out, 2 left to train on:
    # n_train_files counts the recordings the training excerpts can come from, not the
    # 9 not held out (it said 9: with FSDD, 278 of which 79 give no excerpt)
    assert (ds.attrs["n_files"], ds.attrs["n_train_files"], ds.attrs["n_eval_files"]) == \
        (10, 2, 1)
    # and the 7 others are said to be skipped, and why: 5 shorter than an excerpt, 2 silent
    assert (ds.attrs["n_short_files"], ds.attrs["n_quiet_files"]) == (5, 2)
    for path in list(tmp_path.glob("long*.wav"))[1:]:
        path.unlink()
    with pytest.raises(ValueError, match=r"excerpt_length=128 samples: .* holds 1 "
                                         r"recording\(s\) \(of 8 matching .* not silent"):
        get_study(NAME).run(quick=True, seed=seed, audio_dir=str(tmp_path), **small)


def test_the_held_out_fista_step_limit_is_the_one_recorded(monkeypatch):
    """With method="fista", attrs["eval_max_iter"] (and the docstring of max_iter)
    said the held-out codes stop at max_iter steps, 200 by default; encode was
    called without it and ran them up to its own 5,000 (~550 steps on FSDD
    excerpts): the attr now records the limit the held-out codes had."""
    import inspect

    import v1model.convolutional as conv

    calls = []
    real = conv.encode

    def spy(X, kernels, lam, **kwargs):
        calls.append(kwargs)
        return real(X, kernels, lam, **kwargs)

    monkeypatch.setattr(conv, "encode", spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", method="fista",
                             n_excerpts=8, n_updates=1, control_updates=1, n_eval=2,
                             max_iter=5, kernel_size=16, n_kernels=4, progress=False)
    (kwargs,) = calls  # the held-out codes
    limit = kwargs.get("max_iter", inspect.signature(real).parameters["max_iter"].default)
    assert ds.attrs["eval_max_iter"] == limit == 5000
    assert ds.attrs["max_iter"] == 5


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
@pytest.mark.parametrize("seed", range(4))
def test_a_recording_quieter_than_min_rms_is_never_the_held_out_one(tmp_path, seed):
    """Not all zero, but quieter than min_rms (0.02) throughout: drawn as the held-out
    recording (1 of 5 here, 3 of them quiet), it gave no excerpt ("could not find 2
    segments with RMS >= 0.02") for each of seeds 0-3. Like a silent take, it is left
    to the training."""
    from scipy.io import wavfile

    rng = np.random.default_rng(1)
    for i in range(2):
        wavfile.write(tmp_path / f"long{i}.wav", 8000,
                      np.round(rng.standard_normal(1500) * 3000).astype(np.int16))
    for i in range(3):  # RMS ~ 30 / 32768 ~ 1e-3 of full scale, far below min_rms = 0.02
        wavfile.write(tmp_path / f"quiet{i}.wav", 8000,
                      np.round(rng.standard_normal(1500) * 30).astype(np.int16))
    small = dict(n_excerpts=8, n_eval=2, n_updates=1, control_updates=1, kernel_size=16,
                 n_kernels=4, excerpt_length=128, crop_length=64, max_iter=5,
                 progress=False)
    ds = get_study(NAME).run(quick=True, seed=seed, audio_dir=str(tmp_path), **small)
    # round(0.1 * 2 recordings with an excerpt) -> 1 held out, the other trained on
    assert (ds.attrs["n_files"], ds.attrs["n_eval_files"]) == (5, 1)
    assert (ds.attrs["n_train_files"], ds.attrs["n_short_files"],
            ds.attrs["n_quiet_files"]) == (1, 0, 3)


def test_silent_recordings_are_called_silent_not_too_short(tmp_path):
    """Recordings of silence only, as long as the excerpts: "give a shorter
    excerpt_length" (as for recordings shorter than an excerpt) changed nothing."""
    from scipy.io import wavfile

    for i in range(3):
        wavfile.write(tmp_path / f"take{i}.wav", 8000, np.zeros(1500, np.int16))
    with pytest.raises(ValueError, match=r"holds 0 recording\(s\) \(of 3 of at least "
                                         r"excerpt_length=128 samples .* at least 2 are needed; "
                                         r"the others are silent \(every sample 0\)$"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), excerpt_length=128,
                            progress=False)


@pytest.mark.filterwarnings("ignore:convolutional .* stopped:UserWarning")  # max_iter=20
@pytest.mark.parametrize("method", ["mp", "fista"])
def test_the_parameter_a_method_does_not_use_is_recorded_as_none(method):
    """attrs said lam=2.0 for matching pursuit, which has no L1 penalty (and snr_db=15.0
    for FISTA, which stops at its tolerance): they now say "None", as learn_kernels'."""
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=16,
                             n_updates=1, control_updates=1, n_eval=2, n_kernels=3,
                             kernel_size=8, max_iter=20, method=method, progress=False)
    used, unused = ((("snr_db",), ("lam", "learning_tol")) if method == "mp"
                    else (("lam", "learning_tol"), ("snr_db",)))
    for name in unused:
        assert ds.attrs[name] == "None", name
    for name in used:
        # the default None is the method's documented one
        assert study_parameters(NAME)[name] is None, name
        assert ds.attrs[name] == {"snr_db": 15.0, "lam": 2.0, "learning_tol": 1e-3}[name]


@pytest.mark.parametrize("snr_db", [200.0, 138.5, np.inf])
def test_a_fidelity_beyond_float32_is_refused_before_anything_is_read(tmp_path, snr_db):
    """snr_db=200 ran every training crop to max_iter (no crop reached it: 41-42 dB with
    200 spikes per crop), told only once the learning was over. The learner's float32
    residuals resolve -20 log10(eps) = 138.47 dB: a target at or beyond it is refused,
    named, before the recordings are read (a file that is no WAV would fail them)."""
    (tmp_path / "noise.wav").write_bytes(b"not a wav")
    limit = -20 * np.log10(np.finfo(np.float32).eps)
    assert 138.4 < limit < 138.5
    with pytest.raises(ValueError, match=rf"^snr_db={snr_db!r} dB is at or beyond the "
                                         r"138\.47 dB that a residual in float32 resolves"
                       if np.isfinite(snr_db) else r"^snr_db must be a positive finite"):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), snr_db=snr_db)


@pytest.mark.parametrize("method, given, value", [("mp", "lam", 5.0), ("fista", "snr_db", 30.0),
                                                  ("mp", "lam", 2.0), ("fista", "snr_db", 15.0),
                                                  ("mp", "learning_tol", 0.001)])
def test_the_stop_of_the_other_method_is_refused_naming_it(method, given, value, tmp_path,
                                                           capsys):
    """lam given with method='mp' (snr_db with 'fista') was silently ignored and recorded
    "None": the defaults are None (the method's 2.0 / 15.0) and one given explicitly with
    the method that does not use it is refused, by name, before anything is read (a file
    that is no WAV would fail the reading), from Python and from the command line."""
    (tmp_path / "noise.wav").write_bytes(b"not a wav")
    message = rf"^{given}={value!r} does not apply to method='{method}'"
    with pytest.raises(ValueError, match=message):
        get_study(NAME).run(quick=True, audio_dir=str(tmp_path), method=method,
                            **{given: value})
    out = tmp_path / "out"
    assert main(["study", "run", NAME, "--quick", "--out", str(out), "-p",
                 f"audio_dir={tmp_path}", "-p", f"method={method}", "-p",
                 f"{given}={value}"]) == 2
    assert f"{given}={value!r} does not apply to method='{method}'" in capsys.readouterr().err
    assert not out.exists()


def test_none_on_the_command_line_is_the_method_default(run_arguments, monkeypatch, tmp_path):
    """-p lam=none (snr_db=none) reaches the study as None, the default: the method's own
    value, and no refusal with the other method."""
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments(NAME, "audio_dir=synthetic", "lam=none", "snr_db=None")
    assert kwargs["lam"] is None and kwargs["snr_db"] is None


@pytest.mark.parametrize("method", ["mp", "fista"])
def test_the_training_shortfall_is_kept_and_warned_of_in_the_study_parameters(
        monkeypatch, method):
    """The learner's shortfall ("stopped at max_iter=200 spikes short of snr_db=15.0 ... 4
    of 100 updates" on the FSDD quick run) was warned of, but not kept in the result, and
    its warning said neither which of the two learning runs it was nor that max_iter and
    snr_db are the study's -p parameters; FISTA's "loosen tol" named no study parameter.
    Now history_n_unconverged is the learner's own count, the attrs sum it for both runs,
    and each run's warning names the study's parameters (learning_tol for FISTA's tol,
    passed on to the learner; refused with mp, as lam is)."""
    import v1model.convolutional as conv
    from v1model.inference import ConvergenceWarning

    runs, learn = [], conv.learn_kernels

    def spy(*args, **kwargs):
        runs.append(learn(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(conv, "learn_kernels", spy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=16,
                                 n_updates=3, control_updates=2, n_eval=2, n_kernels=3,
                                 kernel_size=8, max_iter=3, method=method,
                                 progress=False,
                                 **({"learning_tol": 2e-3} if method == "fista" else {}))
    learned, noise = runs
    np.testing.assert_array_equal(ds["history_n_unconverged"].values,
                                  learned["n_unconverged"].values)
    assert ds["history_n_unconverged"].attrs == learned["n_unconverged"].attrs
    batch = ds.attrs["batch_size"]
    for prefix, run in (("", learned), ("white_noise_", noise)):
        n_short = int(run["n_unconverged"].sum())
        assert n_short > 0  # 3 steps (spikes) per crop leave crops short
        assert ds.attrs[prefix + "n_unconverged"] == n_short
        assert ds.attrs[prefix + "fraction_unconverged"] == pytest.approx(
            n_short / (run.sizes["update"] * batch), rel=1e-12)
    if method == "fista":
        assert learned.attrs["tol"] == noise.attrs["tol"] == 2e-3
        remedy = "raise max_iter (now 3) or loosen learning_tol (now 0.002)"
    else:
        assert learned.attrs["tol"] == "None"
        remedy = "raise max_iter (now 3) or lower snr_db (now 15.0)"
    short = [str(w.message) for w in caught if w.category is ConvergenceWarning
             and "with samples not converged in" in str(w.message)]
    assert len(short) == 2, short
    for text, run, kept in zip(short, runs, ("learning the kernels, kept in "
                                             "history_n_unconverged",
                                             "learning the white-noise control, kept in "
                                             "attrs['white_noise_n_unconverged']")):
        assert remedy in text and "-p NAME=VALUE" in text and kept in text, text
        assert f"({int(run['n_unconverged'].sum())} of the" in text, text
        assert "loosen tol" not in text, text
    # FISTA's shortfall on speech is expected (767 of the FSDD quick run's 792 crops):
    # its warning said only "raise max_iter (now 200) or loosen learning_tol (now
    # 0.001)", the study's defaults, and not whether that matters; now it says it was
    # measured not to and which -p setting codes every crop (the control, none short
    # on FSDD, gets no such note; nor does a run at max_iter=1000 or more, which it advises)
    expected = "; expected with method='fista': the FSDD quick run"
    assert (expected in short[0]) == (method == "fista"), short[0]
    assert expected not in short[1], short[1]
    if method == "fista":
        assert short[0].endswith("give -p max_iter=1000 to code every crop to "
                                 "learning_tol"), short[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=4,
                                     n_updates=1, control_updates=1, n_eval=2, n_kernels=3,
                                     kernel_size=8, max_iter=1000, learning_tol=1e-15, lam=0.1,
                                     method=method, progress=False)
        short = [str(w.message) for w in caught if w.category is ConvergenceWarning
                 and "learning the kernels" in str(w.message)]
        assert ds.attrs["n_unconverged"] > 0 and len(short) == 1, short
        assert "raise max_iter (now 1000)" in short[0] and expected not in short[0]


def test_the_pursuits_training_shortfall_at_the_defaults_is_said_to_be_expected(monkeypatch):
    """The FSDD quick run (matching pursuit, seed 0) warned that 4 of 100 updates left a
    crop short of snr_db, and did not say what the module docstring measured: expected,
    harmless. At the default max_iter and snr_db the warning now says so. (The learner
    is limited to 3 spikes here, the study's parameters left at their defaults, to make
    it fall short quickly.)"""
    import v1model.convolutional as conv
    from v1model.inference import ConvergenceWarning

    learn = conv.learn_kernels
    monkeypatch.setattr(conv, "learn_kernels", lambda *args, **kwargs: learn(
        *args, **{**kwargs, "max_iter": 3}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=4,
                            n_updates=2, control_updates=1, n_eval=2, n_kernels=3,
                            kernel_size=8, progress=False)
    short = [str(w.message) for w in caught if w.category is ConvergenceWarning
             and "learning the kernels" in str(w.message)]
    assert len(short) == 1, short
    assert "; expected at max_iter=200, snr_db=15: the FSDD quick run" in short[0], short[0]


def test_the_held_out_pursuit_warning_names_the_studys_max_iter():
    """The held-out excerpts' matching pursuit warned "raise the limit or loosen snr_db"
    of "rows 0, 1 of X": its limit (12 here) is not a study parameter but derives from
    max_iter (3 * excerpt_length / crop_length), which the warning now names, with its
    value in use, snr_db's, the held-out excerpts and where the count is kept."""
    from v1model.inference import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", n_excerpts=16,
                                 n_updates=1, control_updates=1, n_eval=2, n_kernels=3,
                                 kernel_size=8, max_iter=3, progress=False)
    held_out = [str(w.message) for w in caught if w.category is ConvergenceWarning
                and "signals end short" in str(w.message)]
    assert ds.attrs["eval_n_short"] == 2 and ds.attrs["eval_max_iter"] == 12
    assert len(held_out) == 1, held_out
    text = held_out[0]
    assert ("raise max_iter (now 12, from the study's max_iter=3 * excerpt_length / "
            "crop_length) or loosen snr_db (now 15.0)") in text, text
    assert "rows 0, 1 of the held-out excerpts" in text, text
    assert "-p NAME=VALUE" in text and "kept in attrs['eval_n_short']" in text, text


def test_the_held_out_fistas_warning_names_no_setting_the_study_hides(monkeypatch):
    """With method="fista", the held-out codes' warning said "raise max_iter (now 5000) or
    loosen tol": encode's own arguments, which the study fixes (max_iter is the study's
    training limit, not this one). It now says they are fixed here (with tol's value: it
    said "tol=None") and which run it was. And attrs["eval_n_short"] was 0 whatever FISTA
    did ("2 of 2 samples not converged" warned, 0 kept): it now counts the excerpts
    left short, here against the steps each excerpt needs when coded alone. (The
    held-out limit, which the study fixes, is lowered to 150 steps: 2 of these 6
    excerpts need 176 and 242, the others 87-126.)"""
    import warnings

    import studies.smith_lewicki_2006_convolutional as study
    import v1model.convolutional as conv
    from v1model.inference import ConvergenceWarning

    calls, real = [], conv.encode

    def spy(X, kernels, lam, **kwargs):
        calls.append((X, kernels, lam, kwargs))
        return real(X, kernels, lam, **kwargs)

    monkeypatch.setattr(conv, "encode", spy)
    monkeypatch.setattr(study, "EVAL_FISTA_MAX_ITER", 150)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", method="fista",
                                 n_excerpts=8, n_updates=1, control_updates=1, n_eval=6,
                                 max_iter=5, kernel_size=16, n_kernels=4, progress=False)
    assert ds.attrs["eval_max_iter"] == 150
    (X, K, lam, kwargs), = calls  # the held-out codes
    assert kwargs["max_iter"] == 150 and X.shape[0] == 6
    # each excerpt alone, to FISTA's tolerance (encode's default, 1e-4): the steps it
    # needs (FISTA stops each signal of a block by itself)
    needed = np.array([real(X[i:i + 1], K, lam, method="fista", stride=1, max_iter=5000,
                            tol=1e-4, return_history=True)[1].sizes["iteration"]
                       for i in range(len(X))])
    n_short = int(np.count_nonzero(needed > 150))
    assert 0 < n_short < len(X), needed  # a count, not "all" or "none"
    assert ds.attrs["eval_n_short"] == n_short
    held_out = [str(w.message) for w in caught if w.category is ConvergenceWarning
                and "of the held-out excerpts" in str(w.message)]
    assert len(held_out) == 1, [str(w.message) for w in caught]
    text = held_out[0]
    assert f"with {n_short} of 6 samples not converged" in text, text
    assert "max_iter=150 and tol=0.0001 are fixed here" in text, text
    assert "raise max_iter" not in text and "loosen tol" not in text, text
    assert "coding the held-out excerpts, kept in attrs['eval_n_short']" in text, text


@pytest.mark.filterwarnings("ignore:convolutional matching_pursuit:UserWarning")  # 1 update
@pytest.mark.filterwarnings("ignore::v1model.inference.ConvergenceWarning")  # 5 steps
@pytest.mark.parametrize("method", ["mp", "fista"])
def test_the_held_out_tolerance_and_the_gammatone_bank_top_are_recorded(monkeypatch, method):
    """The held-out FISTA codes ran to EVAL_FISTA_TOL and the rate comparison's gammatone
    bank reached BANK_TOP x the sample rate, fixed numbers the result depends on that its
    attrs did not hold: they are recorded, and are what the coders were given."""
    import v1model.convolutional as conv
    from studies import smith_lewicki_2006_convolutional as study

    tols = []
    real = conv.encode

    def spy(X, kernels, lam, **kwargs):
        tols.append(kwargs["tol"])
        return real(X, kernels, lam, **kwargs)

    monkeypatch.setattr(conv, "encode", spy)
    tops = []
    bank = study.gammatone_bank

    def bank_spy(centres, *args, **kwargs):
        tops.append(float(centres[-1]))
        return bank(centres, *args, **kwargs)

    monkeypatch.setattr(study, "gammatone_bank", bank_spy)
    ds = get_study(NAME).run(quick=True, seed=0, audio_dir="synthetic", method=method,
                             n_excerpts=8, n_updates=1, control_updates=1, n_eval=2,
                             max_iter=5, kernel_size=16, n_kernels=4, progress=False)
    assert ds.attrs["eval_tol"] == (tols[0] if method == "fista" else "None")
    assert tols == ([1e-4] if method == "fista" else [])
    top = ds.attrs["gammatone_bank_top"]
    assert top == 0.45
    assert tops and tops == pytest.approx([top * ds.attrs["sample_rate"]] * len(tops))
