"""v1model.analysis.auditory against SciPy's gammatone filters and analytic Gabor spectra."""

import numpy as np
import pytest
from scipy.signal import gammatone

from v1model.analysis import auditory_tuning, bandwidth_fit, erb_bandwidth

FS = 16000.0
CENTRES = np.array([300.0, 500.0, 1000.0, 2000.0, 3000.0, 5000.0])


def _erb(f):
    # Glasberg & Moore (1990), written out here independently of the package
    return 24.7 * (4.37 * f / 1000 + 1)


def _level_halfwidth(level_db, order=4):
    """Half-width, in units of b, of the band where a gammatone's amplitude
    |1 + ((f - fc) / b)^2|^(-order/2) stays within level_db of its peak."""
    return np.sqrt(10 ** (level_db / (10 * order)) - 1)


@pytest.fixture(scope="module")
def gammatones():
    # scipy's FIR gammatone: t^3 exp(-2 pi b t) cos(2 pi fc t), b = 1.019 ERB(fc);
    # 100 ms of taps so that even the 300 Hz filter has decayed (by ~ -350 dB)
    K = np.stack([gammatone(f, "fir", numtaps=int(FS * 0.1), fs=FS)[0] for f in CENTRES])
    return auditory_tuning(K, FS)


def test_gammatone_centre_frequencies(gammatones):
    # the peak of |H(f)| sits at fc (the negative-frequency image shifts it by
    # < 1e-5 fc at these centres); 0.1% is a tenth of the brief's 1% budget
    np.testing.assert_allclose(gammatones.peak_frequency, CENTRES, rtol=1e-3)
    np.testing.assert_allclose(gammatones.centroid_frequency, CENTRES, rtol=1e-3)


def test_gammatone_bandwidths_follow_the_erb_scale(gammatones):
    # near fc a 4th-order gammatone has |H| = (1 + ((f - fc)/b)^2)^-2, so the band
    # within L dB of the peak is 2 b sqrt(10^(L/40) - 1) wide: 0.8848 ERB at 3 dB
    # (0.887 ERB at exactly half power) and 1.798 ERB at 10 dB
    b = 1.019 * _erb(CENTRES)
    for level in (3, 10):
        expected = 2 * _level_halfwidth(level) * b
        np.testing.assert_allclose(gammatones[f"bandwidth_{level}db"], expected, rtol=1e-3)
    assert 2 * _level_halfwidth(3) * 1.019 == pytest.approx(0.8848, abs=1e-4)
    assert np.all(np.diff(gammatones.bandwidth_3db.values) > 0)
    np.testing.assert_allclose(gammatones.q10,
                               gammatones.peak_frequency / gammatones.bandwidth_10db)
    np.testing.assert_allclose(gammatones.q10, CENTRES / (2 * _level_halfwidth(10) * b), rtol=1e-3)
    assert not gammatones.lowpass_10db.any() and not gammatones.highpass_10db.any()
    np.testing.assert_allclose(erb_bandwidth(CENTRES), _erb(CENTRES))


def test_gammatone_bank_slope_is_the_erb_slope(gammatones):
    # the log-log slope of the bank's bandwidths is that of the ERB scale over the
    # same centres (0.82 for 300-5000 Hz: ERB is not constant-Q below ~1 kHz)
    fit = bandwidth_fit(gammatones)
    erb_slope, erb_intercept = np.polyfit(np.log10(CENTRES), np.log10(_erb(CENTRES)), 1)
    assert float(fit.slope) == pytest.approx(erb_slope, abs=0.005)
    assert int(fit.n_kernels) == len(CENTRES) and float(fit.r) > 0.99
    # and the line lies 2 b sqrt(10^(10/40) - 1) = 1.798 ERB above the ERB line
    offset = np.log10(2 * _level_halfwidth(10) * 1.019)
    assert float(fit.intercept) == pytest.approx(erb_intercept + offset, abs=0.005)


def _gabor(sigma, f, fs=8000.0, n=256):
    t = (np.arange(n) - n // 2) / fs
    return np.exp(-t**2 / (2 * sigma**2)) * np.cos(2 * np.pi * f * t)


@pytest.mark.parametrize("sigma", [0.001, 0.002, 0.004])
@pytest.mark.parametrize("f", [500.0, 1500.0, 3000.0])
def test_gabor_bandwidth_and_duration_are_analytic(sigma, f):
    # exp(-t^2/(2 s^2)) cos(2 pi f t) has the spectrum exp(-2 pi^2 s^2 (nu - f)^2)
    # around f: the band within L dB is 2 sqrt(L ln10 / 20) / (sqrt(2) pi s) wide;
    # the squared envelope has s.d. s / sqrt(2); a Gabor meets the uncertainty bound
    # duration * rms_bandwidth = 1 / (4 pi)
    r = auditory_tuning(_gabor(sigma, f), 8000.0)
    for level in (3, 10):
        expected = 2 * np.sqrt(level * np.log(10) / 20) / (np.sqrt(2) * np.pi * sigma)
        assert float(r[f"bandwidth_{level}db"][0]) == pytest.approx(expected, rel=1e-3)
    assert float(r.peak_frequency[0]) == pytest.approx(f, rel=1e-4)
    assert float(r.envelope_duration[0]) == pytest.approx(sigma / np.sqrt(2), rel=1e-3)
    assert float(r.envelope_centre[0]) == pytest.approx(128 / 8000.0, rel=1e-3)
    product = float(r.envelope_duration[0] * r.rms_bandwidth[0])
    assert product == pytest.approx(1 / (4 * np.pi), rel=1e-3)


def test_envelope_skewness_of_gammatones_and_a_gabor_is_analytic(gammatones):
    # a gammatone of order n has the envelope t^(n-1) exp(-2 pi b t): its square is a
    # gamma density of shape 2n - 1, skewness 2 / sqrt(2n - 1) (fast attack, slower
    # decay: Smith & Lewicki 2006); reversed in time, the same value negative; a Gabor's
    # Gaussian envelope is symmetric
    np.testing.assert_allclose(gammatones.envelope_skewness, 2 / np.sqrt(7), rtol=0.03)
    assert gammatones.envelope_skewness.attrs["units"] == "1"
    t = np.arange(1024) / FS
    second = t * np.exp(-2 * np.pi * 40.0 * t) * np.cos(2 * np.pi * 1000.0 * t)
    r = auditory_tuning(np.stack([second, second[::-1]]), FS)
    np.testing.assert_allclose(r.envelope_skewness, [2 / np.sqrt(3), -2 / np.sqrt(3)],
                               rtol=0.02)
    assert float(auditory_tuning(_gabor(0.002, 1000.0), 8000.0).envelope_skewness[0]) == \
        pytest.approx(0.0, abs=1e-6)


def test_constant_q_bank_has_slope_one_and_constant_bandwidth_slope_zero():
    centres = np.geomspace(250, 3000, 12)
    # 4 carrier cycles per envelope s.d.: sigma ~ 1/f, bandwidth ~ f (constant Q)
    constant_q = np.stack([_gabor(4.0 / f, f, n=1024) for f in centres])
    fit = bandwidth_fit(auditory_tuning(constant_q, 8000.0))
    assert float(fit.slope) == pytest.approx(1.0, abs=0.01)
    q10 = auditory_tuning(constant_q, 8000.0).q10.values
    np.testing.assert_allclose(q10, q10.mean(), rtol=0.01)
    # one envelope for all: the same bandwidth at every centre (Fourier-like)
    constant_bw = np.stack([_gabor(0.003, f, n=1024) for f in centres])
    fit = bandwidth_fit(auditory_tuning(constant_bw, 8000.0), bandwidth="bandwidth_3db")
    assert abs(float(fit.slope)) < 0.01


def test_lowpass_and_flat_kernels_are_flagged():
    fs = 8000.0
    t = np.arange(64) / fs
    decay = np.exp(-t / 0.001)  # a low-pass kernel: its band reaches 0 Hz
    r = auditory_tuning(np.stack([decay, _gabor(0.001, 2000.0, n=64)]), fs)
    assert bool(r.lowpass_3db[0]) and float(r.low_3db[0]) == 0.0
    assert not bool(r.lowpass_3db[1])
    # the -3 dB band of exp(-t/tau) ends where |1 + i 2 pi f tau| = 10^(3/20)
    edge = np.sqrt(10 ** (3 / 10) - 1) / (2 * np.pi * 0.001)
    assert float(r.high_3db[0]) == pytest.approx(edge, rel=0.02)
    fit = bandwidth_fit(r, bandwidth="bandwidth_3db")
    assert fit.used.values.tolist() == [False, True] and np.isnan(float(fit.slope))
    # a flat (non-localized) envelope over T has an RMS duration of T / sqrt(12)
    flat = np.cos(2 * np.pi * 1000 * np.arange(800) / fs)
    r = auditory_tuning(flat, fs)
    assert float(r.envelope_duration[0]) == pytest.approx(0.1 / np.sqrt(12), rel=0.02)


def test_result_is_independent_of_scale_and_dtype():
    K = np.stack([_gabor(0.002, 1000.0), _gabor(0.001, 2500.0)])
    a = auditory_tuning(K, 8000.0)
    b = auditory_tuning((K * 1e-30).astype(np.float32), 8000.0)
    for var in ("peak_frequency", "bandwidth_3db", "envelope_duration", "q10"):
        np.testing.assert_allclose(a[var], b[var], rtol=1e-4)
    assert a.peak_frequency.attrs["units"] == "Hz" and a.q10.attrs["units"] == "1"
    assert a.envelope_duration.attrs["units"] == "s" and a.spectrum.dims == ("kernel",
                                                                              "frequency")


def test_bad_input():
    good = _gabor(0.002, 1000.0)
    with pytest.raises(ValueError, match="kernels must have 1 or 2 dimension"):
        auditory_tuning(np.zeros((2, 3, 4)), 8000.0)
    with pytest.raises(ValueError, match="kernels contains 1 non-finite"):
        auditory_tuning(np.where(np.arange(256) == 3, np.nan, good), 8000.0)
    with pytest.raises(ValueError, match="1 all-zero kernel.*row 1"):
        auditory_tuning(np.stack([good, np.zeros(256)]), 8000.0)
    with pytest.raises(ValueError, match="sample_rate must be a positive finite number, got 0"):
        auditory_tuning(good, 0)
    with pytest.raises(ValueError, match="at least 4 taps"):
        auditory_tuning(np.ones((2, 3)), 8000.0)
    with pytest.raises(ValueError, match="n_fft must be >= 256, got 100"):
        auditory_tuning(good, 8000.0, n_fft=100)
    with pytest.raises(ValueError, match="tuning must be the Dataset returned by auditory"):
        bandwidth_fit(good)
    with pytest.raises(ValueError, match="centre must be one of"):
        bandwidth_fit(auditory_tuning(good, 8000.0), centre="mean")
    with pytest.raises(ValueError, match="frequency must be >= 0 Hz"):
        erb_bandwidth(-1.0)


@pytest.mark.parametrize("shift", [-40, -7, 13, 50])
def test_a_delay_moves_the_envelope_and_nothing_else(shift):
    # |FFT| is invariant to a delay (the kernel stays inside its window), so every
    # frequency measure is unchanged; the envelope's centre moves by the delay exactly
    base = np.zeros(256)
    base[64:192] = _gabor(0.0015, 1200.0, n=128)
    moved = np.roll(base, shift)
    tuning = auditory_tuning(np.stack([base, moved]), 8000.0)
    a, b = tuning.isel(kernel=0), tuning.isel(kernel=1)
    for var in ("peak_frequency", "centroid_frequency", "bandwidth_3db", "bandwidth_10db",
                "q10", "envelope_duration"):
        assert float(b[var]) == pytest.approx(float(a[var]), rel=1e-6), var
    assert float(b.envelope_centre - a.envelope_centre) == pytest.approx(shift / 8000.0,
                                                                         abs=1e-9)


@pytest.mark.parametrize("rate", [1e-300, 1e300])
def test_every_measure_scales_with_the_sample_rate(rate):
    # frequencies scale with the rate and times with its inverse, exactly; squares of
    # frequencies in Hz (the centroid's moments) overflowed to inf/NaN at 1e300 Hz
    K = np.stack([_gabor(0.002, 1000.0), _gabor(0.001, 2500.0)])
    a, b = auditory_tuning(K, 8000.0), auditory_tuning(K, rate)
    ratio = rate / 8000.0
    for var in ("peak_frequency", "centroid_frequency", "rms_bandwidth", "bandwidth_3db",
                "bandwidth_10db", "low_10db", "high_3db"):
        np.testing.assert_allclose(b[var].values, a[var].values * ratio, rtol=1e-9, err_msg=var)
    for var in ("envelope_centre", "envelope_duration"):
        np.testing.assert_allclose(b[var].values, a[var].values / ratio, rtol=1e-9, err_msg=var)
    np.testing.assert_allclose(b.q10.values, a.q10.values, rtol=1e-9)
    assert b.attrs["kernel_duration"] == pytest.approx(256 / rate, rel=1e-12)


def test_bandwidth_fit_checks_its_options():
    tuning = auditory_tuning(np.stack([_gabor(0.002, f) for f in (500.0, 1000.0, 2000.0)]),
                             8000.0)
    for bad, error in (("100", TypeError), (True, TypeError), (np.array([1.0, 2.0]), TypeError),
                       (np.nan, ValueError), (-1.0, ValueError)):
        with pytest.raises(error, match="min_frequency must be a"):
            bandwidth_fit(tuning, min_frequency=bad)
    # the flags the exclusion reads are part of the contract (a KeyError before)
    with pytest.raises(ValueError, match="tuning must be the Dataset returned by "
                                         "auditory_tuning .*'highpass_3db'"):
        bandwidth_fit(tuning.drop_vars("highpass_3db"), bandwidth="bandwidth_3db")
    fit = bandwidth_fit(tuning.drop_vars("highpass_3db"), bandwidth="bandwidth_3db",
                        exclude_edges=False)
    assert int(fit.n_kernels) == 3


def test_erb_bandwidth_near_the_largest_float():
    # 4.37 * f overflowed for f > 4e307 Hz although the ERB itself is finite
    assert float(erb_bandwidth(1e308)) == pytest.approx(24.7 * 4.37e305, rel=1e-12)


def test_exact_spectral_zeros_sit_at_the_documented_floor():
    # k = [1, 0, -1, 0]: |K(f)| = 2 |sin(2 pi f / fs)|, exact zeros at 0 Hz and Nyquist,
    # peak 2 at fs / 4; a zero is shown 300 dB below the peak (floor 1e-15 of the peak)
    r = auditory_tuning(np.array([1.0, 0.0, -1.0, 0.0]), 6000.0, n_fft=4096)
    assert float(r.peak_frequency[0]) == pytest.approx(1500.0, rel=1e-6)
    assert float(r.spectrum[0, 0]) == pytest.approx(-300.0, abs=0.01)
    assert float(r.spectrum[0, -1]) == pytest.approx(-300.0, abs=0.01)
    # elsewhere the dB values are the analytic ones
    f = r.frequency.values[1:200]
    expected = 20 * np.log10(np.abs(np.sin(2 * np.pi * f / 6000.0)))
    np.testing.assert_allclose(r.spectrum.values[0, 1:200], expected, atol=1e-6)


def test_band_edges_are_the_documented_linear_interpolation_in_db():
    # k = [1, 0, -1, 0] on a coarse grid (n_fft = 16: 375 Hz bins at 6 kHz): |K| =
    # 2 |sin(2 pi f / fs)| peaks exactly on bin 4 (1500 Hz); each edge is where the
    # straight line between the dB values of the two bins around the crossing meets the
    # level, computed here from the analytic bin values
    fs, n_fft = 6000.0, 16
    r = auditory_tuning(np.array([1.0, 0.0, -1.0, 0.0]), fs, n_fft=n_fft)
    df = fs / n_fft
    rel = 20 * np.log10(np.maximum(np.abs(np.sin(2 * np.pi * np.arange(9) * df / fs)), 1e-15))
    for level in (3, 10):
        inside = np.flatnonzero(rel >= -level)
        j_lo, j_hi = inside.min() - 1, inside.max()  # below / last above the level
        lo = (j_lo + (-level - rel[j_lo]) / (rel[j_lo + 1] - rel[j_lo])) * df
        hi = (j_hi + (rel[j_hi] + level) / (rel[j_hi] - rel[j_hi + 1])) * df
        assert float(r[f"low_{level}db"][0]) == pytest.approx(lo, rel=1e-9)
        assert float(r[f"high_{level}db"][0]) == pytest.approx(hi, rel=1e-9)
        assert float(r[f"bandwidth_{level}db"][0]) == pytest.approx(hi - lo, rel=1e-9)
    # a kernel peaking at Nyquist: the band is cut there (at Nyquist, not a bin beyond)
    r = auditory_tuning(np.array([1.0, -1.0, 0.0, 0.0]), fs, n_fft=n_fft)
    assert bool(r.highpass_3db[0]) and float(r.high_3db[0]) == fs / 2
    assert float(r.peak_frequency[0]) == fs / 2


def test_off_bin_peak_is_refined_exactly_for_a_gaussian_spectrum():
    # a Gabor's spectrum around f is a Gaussian: its dB values are a parabola, so the
    # parabola through the three bins around the peak finds f and the peak level
    # exactly; the bin itself lies c (delta f)^2 dB below, c = 20 log10(e) 2 pi^2 s^2
    fs, s, f = 8000.0, 0.004, 1000.7  # 1000.7 Hz is 512.36 bins of 1.953 Hz
    r = auditory_tuning(_gabor(s, f, n=512), fs, n_fft=4096)
    assert float(r.peak_frequency[0]) == pytest.approx(f, rel=1e-6)
    df = fs / 4096
    nearest = round(f / df) * df
    c = 20 * np.log10(np.e) * 2 * np.pi**2 * s**2
    assert float(r.spectrum.max()) == pytest.approx(-c * (nearest - f) ** 2, rel=1e-3)


def test_a_peak_on_the_first_bin_is_refined_too():
    # the vertex of the parabola through the dB values of bins 0, 1, 2 (written out)
    fs, n_fft = 8000.0, 64
    n = np.arange(n_fft)
    kernel = np.sin(2 * np.pi * 1.3 * n / n_fft) * np.sin(np.pi * n / n_fft)
    r = auditory_tuning(kernel, fs, n_fft=n_fft)
    db = 20 * np.log10(np.abs(np.fft.rfft(kernel, n_fft)))
    assert int(np.argmax(db)) == 1
    a, b, c = db[0:3]
    vertex = 1 + 0.5 * (a - c) / (a - 2 * b + c)
    assert float(r.peak_frequency[0]) == pytest.approx(vertex * fs / n_fft, rel=1e-9)
    assert abs(vertex - 1) > 0.1


def test_a_band_narrower_than_a_bin_still_holds_its_peak():
    # with little zero padding (n_fft = n_taps is allowed) a neighbour of the peak bin
    # can sit in a spectral null: the parabola's vertex then rose several dB above the
    # peak bin, which fell outside its own band, and the edges, interpolated between two
    # bins both below the level, crossed (negative bandwidths, a high edge below 0 Hz)
    n = np.arange(64)
    fs = 8000.0
    kernel = np.cos(2 * np.pi * 8 * n / 64) + 0.1 * np.cos(2 * np.pi * 9 * n / 64)
    r = auditory_tuning(kernel, fs, n_fft=64)
    # written out: the vertex x0 of the parabola through the dB values of bins 7, 8, 9
    # (the DFT is 32 on bin 8, 3.2 on bin 9 and an exact zero, the -300 dB floor, on
    # bin 7), 30.6 dB above bin 8, then straight lines from the vertex (0 dB) to the
    # bins on either side of it, 8 and 9, both below every level
    a, b, c = -300.0, 0.0, -20.0
    x0 = 8 + 0.5 * (a - c) / (a - 2 * b + c)
    top = b - 0.25 * (a - c) * (x0 - 8)
    df = fs / 64
    assert float(r.peak_frequency[0]) == pytest.approx(x0 * df, rel=1e-6)
    for level in (3, 10):
        lo = 8 + (top - level - b) / (top - b) * (x0 - 8)
        hi = x0 + level / (top - c) * (9 - x0)
        assert float(r[f"low_{level}db"][0]) == pytest.approx(lo * df, rel=1e-6)
        assert float(r[f"high_{level}db"][0]) == pytest.approx(hi * df, rel=1e-6)
    # any kernel, any allowed n_fft: the peak lies inside both of its bands
    K = np.random.default_rng(0).standard_normal((200, 32))
    for n_fft in (32, 64):
        r = auditory_tuning(K, fs, n_fft=n_fft)
        f = r.peak_frequency.values
        for level in (3, 10):
            assert np.all(r[f"low_{level}db"].values <= f)
            assert np.all(f <= r[f"high_{level}db"].values)
            assert np.all(r[f"bandwidth_{level}db"].values > 0)


def test_envelope_of_an_impulse_is_the_discrete_hilbert_kernel():
    # the analytic signal of a unit impulse at n0 (zero padded: not periodic) is
    # delta + i h with h(m) = 2 / (pi m) at odd offsets m, 0 at even ones: its squared
    # envelope weighs time as 1 at m = 0 and 4 / (pi m)^2 at odd m within the taps.
    # Two impulses at different places: each is measured about its own centre
    taps, fs = 64, 1000.0
    K = np.zeros((2, taps))
    K[0, 32] = K[1, 20] = 1.0
    r = auditory_tuning(K, fs)
    for row, n0 in enumerate((32, 20)):
        m = np.arange(taps) - n0
        weight = np.where(m == 0, 1.0, np.where(m % 2 == 1, 4 / (np.pi * np.maximum(
            np.abs(m), 1)) ** 2, 0.0))
        centre = np.sum(weight * np.arange(taps)) / weight.sum()
        duration = np.sqrt(np.sum(weight * (np.arange(taps) - centre) ** 2) / weight.sum())
        # the padded FFT's period (4096) bends h by (pi m / 4096)^2 / 3 < 2e-4
        assert float(r.envelope_centre[row]) == pytest.approx(centre / fs, rel=1e-3)
        assert float(r.envelope_duration[row]) == pytest.approx(duration / fs, rel=1e-3)


def test_kernels_of_very_different_scales_in_one_call():
    # each kernel is scaled by its own largest sample: 1e-200 and 1e200 side by side
    g = _gabor(0.002, 1000.0)
    both = auditory_tuning(np.stack([g * 1e-200, g * 1e200]), 8000.0)
    alone = auditory_tuning(g, 8000.0)
    for var in ("peak_frequency", "bandwidth_3db", "bandwidth_10db", "envelope_duration"):
        np.testing.assert_allclose(both[var].values, alone[var].values[0], rtol=1e-12)


def test_bandwidth_fit_selection():
    fs = 8000.0
    centres = (600.0, 1000.0, 1500.0, 2200.0)
    gabors = [_gabor(0.0015, f, n=512) for f in centres]
    # a kernel whose -10 dB band reaches 0 Hz but whose -3 dB band does not
    wide = _gabor(0.00025, 1000.0, n=512)
    # a kernel whose band reaches Nyquist
    top = _gabor(0.001, 3950.0, n=512)
    tuning = auditory_tuning(np.stack(gabors + [wide, top]), fs)
    assert bool(tuning.lowpass_10db[4]) and not bool(tuning.lowpass_3db[4])
    assert bool(tuning.highpass_3db[5]) and not bool(tuning.lowpass_3db[5])
    fit10 = bandwidth_fit(tuning, "bandwidth_10db")
    fit3 = bandwidth_fit(tuning, "bandwidth_3db")
    assert fit10.used.values.tolist() == [True] * 4 + [False, False]
    assert fit3.used.values.tolist() == [True] * 5 + [False]
    # min_frequency includes a kernel centred exactly on it
    at = float(tuning.peak_frequency[1])
    chosen = bandwidth_fit(tuning, "bandwidth_3db", min_frequency=at).used.values
    fc = tuning.peak_frequency.values
    assert chosen.tolist() == (fit3.used.values & (fc >= at)).tolist()
    assert chosen[1] and not chosen[0]
    # the fitted line is scipy's least squares on the logs of the kernels used
    from scipy.stats import linregress

    used = fit3.used.values
    ref = linregress(np.log10(tuning.peak_frequency.values[used]),
                     np.log10(tuning.bandwidth_3db.values[used]))
    assert float(fit3.slope) == pytest.approx(ref.slope, rel=1e-12)
    assert float(fit3.intercept) == pytest.approx(ref.intercept, rel=1e-12)
    # two usable kernels are not a fit (NaN), three are
    two = bandwidth_fit(tuning.isel(kernel=[0, 1, 5]), "bandwidth_3db")
    assert int(two.n_kernels) == 2 and np.isnan(float(two.slope))
    three = bandwidth_fit(tuning.isel(kernel=[0, 1, 2]), "bandwidth_3db")
    assert int(three.n_kernels) == 3 and np.isfinite(float(three.slope))


def test_bandwidth_fit_of_several_sets_says_to_fit_one_at_a_time():
    # a sweep's results hold the tuning of every point (point, kernel): xarray's own
    # "Could not convert tuple of form (dims, data[, attrs, encoding])" named nothing
    import xarray as xr

    fs = 8000.0
    sets = [auditory_tuning(np.stack([_gabor(s, f, n=512) for f in (600.0, 1000.0, 1500.0,
                                                                   2200.0)]), fs)
            for s in (0.001, 0.002)]
    both = xr.concat(sets, dim="point")
    with pytest.raises(ValueError, match=r"dimension 'kernel' only.*\('point', 'kernel'\).*"
                                         r"tuning.isel\(point=0\)"):
        bandwidth_fit(both)
    for i, one in enumerate(sets):  # the way it says: one point at a time
        fit = bandwidth_fit(both.isel(point=i))
        assert float(fit.slope) == pytest.approx(float(bandwidth_fit(one).slope), rel=1e-12)
    # a Gabor's bandwidth does not depend on its frequency: slope 0
    assert float(bandwidth_fit(sets[1]).slope) == pytest.approx(0.0, abs=0.01)


def test_a_combined_sweep_results_time_padding():
    """A sweep over sample_rate assembled before points kept their own time axes
    aligned the points' time coordinates (outer join; such files are still read):
    the 16 kHz point's kernels end in NaN taps, the 8 kHz point's have NaN between
    their samples. ``auditory_tuning(ds.kernels.sel(sample_rate=16000), 16000)``
    failed with "kernels contains N non-finite value(s)", saying nothing of why."""
    import xarray as xr

    rng = np.random.default_rng(0)
    points = [xr.Dataset({"kernels": (("kernel", "time"), rng.standard_normal((4, 64)))},
                         coords={"time": np.arange(64) / rate}) for rate in (8000.0, 16000.0)]
    aligned = xr.align(*points, join="outer")  # what such a file holds
    assert aligned[1].sizes["time"] == 96
    # trailing padding, common to every kernel: the taps before it, as the point's own
    tuning = auditory_tuning(aligned[1]["kernels"], 16000.0)
    own = auditory_tuning(points[1]["kernels"].values, 16000.0)
    assert tuning.attrs["n_taps"] == 64
    np.testing.assert_array_equal(tuning["peak_frequency"], own["peak_frequency"])
    np.testing.assert_array_equal(tuning["envelope_duration"], own["envelope_duration"])
    # padding between samples is named, with what to do
    with pytest.raises(ValueError, match=r"32 tap\(s\) NaN in every kernel between finite "
                                         r"ones.*kernels\.dropna\('time'\)"):
        auditory_tuning(aligned[0]["kernels"], 8000.0)
    np.testing.assert_array_equal(
        auditory_tuning(aligned[0]["kernels"].dropna("time"), 8000.0)["peak_frequency"],
        auditory_tuning(points[0]["kernels"].values, 8000.0)["peak_frequency"])
    # NaN that is not padding still fails
    K = rng.standard_normal((3, 16))
    K[1, -1] = np.nan  # the last tap of one kernel only
    with pytest.raises(ValueError, match=r"kernels contains 1 non-finite value"):
        auditory_tuning(K, 8000.0)
    with pytest.raises(ValueError, match=r"kernels contains 48 non-finite"):
        auditory_tuning(np.full((3, 16), np.nan), 8000.0)


def test_bandwidth_fit_of_one_point_of_a_combined_sweep_result():
    """A sweep over the number of kernels pads the shorter point's kernel axis with
    NaN (outer join), which turns the bool edge flags into floats (1.0, 0.0, NaN):
    ``bandwidth_fit(ds.isel(point=i))``, the way its own error for a whole sweep
    says, failed with NumPy's "ufunc 'invert' not supported for the input types"."""
    import xarray as xr

    from v1model.sweep.assemble import _align

    fs = 8000.0
    gabors = [_gabor(0.0015, f, n=512) for f in (600.0, 1000.0, 1500.0, 2200.0)]
    # a kernel whose -10 dB band reaches 0 Hz, one whose band reaches Nyquist
    edges = [_gabor(0.00025, 1000.0, n=512), _gabor(0.001, 3950.0, n=512)]
    sets = [auditory_tuning(np.stack(gabors + edges), fs),
            auditory_tuning(np.stack(gabors[:3] + edges[:1]), fs)]
    aligned, padded, own = _align(sets)
    assert padded == {"kernel"} and own == []
    both = xr.concat(aligned, dim="point")
    assert both["lowpass_10db"].dtype != bool  # the flags as a sweep file holds them
    for i, one in enumerate(sets):
        for level in ("bandwidth_10db", "bandwidth_3db"):
            fit = bandwidth_fit(both.isel(point=i), level)
            own = bandwidth_fit(one, level)
            n = one.sizes["kernel"]
            # the edge kernels are left out as in the point's own fit, the padding too
            assert fit.used.values[:n].tolist() == own.used.values.tolist()
            assert not fit.used.values[n:].any()
            assert float(fit.slope) == pytest.approx(float(own.slope), rel=1e-12)


def test_kernels_as_a_dataarray_are_read_by_dim_name_with_their_rate(gammatones):
    # kernels (lag, kernel) were read by position, as 1600 kernels of 6 taps, unsaid; a
    # rate other than the one of their lags in s gave centres off by its ratio, unsaid
    import xarray as xr

    K = np.stack([gammatone(f, "fir", numtaps=int(FS * 0.1), fs=FS)[0] for f in CENTRES])
    lag = ("lag", np.arange(K.shape[1]) / FS, {"units": "s"})
    da = xr.DataArray(K, dims=("kernel", "lag"), coords={"lag": lag})
    for given, rate in ((da.T, None), (da.T, FS), (da.rename(lag="time").T, None)):
        tuning = auditory_tuning(given, rate)
        np.testing.assert_allclose(tuning.peak_frequency, CENTRES, rtol=1e-3)  # scipy's fc
        np.testing.assert_array_equal(tuning.peak_frequency, gammatones.peak_frequency)
        assert tuning.attrs["sample_rate"] == FS
    with pytest.raises(ValueError, match=r"^sample_rate=8000\.0 contradicts the 'lag' "
                                         r"coordinate of kernels \(in s\), which says 16000 "
                                         r"Hz: pass sample_rate=16000, or None to take it "
                                         r"from kernels$"):
        auditory_tuning(da, 8000.0)
    # lags in samples carry no rate: the one given is used, none given is refused
    samples = xr.DataArray(K, dims=("kernel", "lag"), coords={"lag": np.arange(K.shape[1])})
    np.testing.assert_array_equal(auditory_tuning(samples.T, FS).peak_frequency,
                                  gammatones.peak_frequency)
    with pytest.raises(ValueError, match=r"^sample_rate is required: kernels carry no rate"):
        auditory_tuning(samples)
    with pytest.raises(ValueError, match=r"^sample_rate is required: kernels carry no rate"):
        auditory_tuning(K)


def test_tuning_keeps_the_kernel_labels_of_a_dataarray(gammatones):
    # numbered from 0, the tuning of kernels.isel(kernel=[3, 5]) came back as kernels 0 and
    # 1: aligned by label with the kernels (xarray), each centre sat beside another kernel
    import xarray as xr

    K = np.stack([gammatone(f, "fir", numtaps=int(FS * 0.1), fs=FS)[0] for f in CENTRES])
    labels = np.arange(len(CENTRES)) + 10
    kernel = ("kernel", labels, {"long_name": "kernel index"})
    da = xr.DataArray(K, dims=("kernel", "lag"), coords={"kernel": kernel})
    picked = da.isel(kernel=[3, 5])
    tuning = auditory_tuning(picked.T, FS)  # transposed too: read by dim name
    np.testing.assert_array_equal(tuning.kernel, [13, 15])
    assert tuning.kernel.attrs == {"long_name": "kernel index"}
    # aligned with the whole set by label, each centre is its own gammatone's (scipy's fc)
    centre = tuning.peak_frequency.reindex(kernel=da.kernel)
    np.testing.assert_allclose(centre.sel(kernel=[13, 15]), CENTRES[[3, 5]], rtol=1e-3)
    assert centre.isnull().sum() == len(CENTRES) - 2
    # one kernel selected by label keeps it; the fit over kernels keeps the labels too
    assert auditory_tuning(da.sel(kernel=12), FS).kernel.values.tolist() == [12]
    np.testing.assert_array_equal(bandwidth_fit(auditory_tuning(da, FS)).kernel, labels)
    # arrays and unlabelled DataArrays are numbered from 0, as before
    np.testing.assert_array_equal(gammatones.kernel, np.arange(len(CENTRES)))
    assert auditory_tuning(xr.DataArray(K, dims=("kernel", "lag")), FS).kernel.values.tolist() \
        == list(range(len(CENTRES)))


def test_erb_bandwidth_of_a_dataarray_keeps_its_labels(gammatones):
    """The ERBs of a DataArray came back as a bare ndarray: the kernel labels of the
    peak frequencies they belong to were lost (the ERBs of kernels 13 and 15 as 0, 1)."""
    import xarray as xr

    centre = gammatones.peak_frequency.assign_coords(kernel=np.arange(len(CENTRES)) + 10)
    picked = centre.sel(kernel=[13, 15])
    erb = erb_bandwidth(picked)
    assert isinstance(erb, xr.DataArray) and erb.dims == ("kernel",)
    np.testing.assert_array_equal(erb.kernel, [13, 15])
    np.testing.assert_allclose(erb, _erb(picked.values), rtol=1e-12)
    assert erb.attrs["units"] == "Hz" and erb.name == "erb_bandwidth"
    # aligned by label with the whole set: each ERB is its own kernel's (scipy's fc)
    ratio = (gammatones["bandwidth_10db"].assign_coords(kernel=centre.kernel) / erb)
    assert ratio.kernel.values.tolist() == [13, 15]
    np.testing.assert_allclose(ratio, 2 * _level_halfwidth(10) * 1.019, rtol=1e-3)
    # 2-D, transposed: dims and coordinates as given; arrays stay arrays
    grid = xr.DataArray(np.outer([1.0, 2.0], CENTRES), dims=("scale", "kernel"),
                        coords={"scale": [1, 2]})
    np.testing.assert_allclose(erb_bandwidth(grid.T), _erb(grid.T.values), rtol=1e-12)
    assert erb_bandwidth(grid.T).dims == ("kernel", "scale")
    assert erb_bandwidth(grid.T).scale.values.tolist() == [1, 2]
    assert type(erb_bandwidth(CENTRES)) is np.ndarray
