"""Checks added by a mutation-testing audit of the studies' shared helpers (the registry,
studies._checks, _learned, _auditory, _defaults and the cheap checks of activity-ratio
and receptive-field-mapping): each one pins a behaviour that a plausible slip in the code
(a flipped comparison, a dropped term, a wrong default) left untested, against an
analytic value, an independent computation, the README's study table or a documented
default. Nothing here learns a dictionary or runs a whole study."""

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from studies import get_study, list_studies, study_parameters

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- registry
def test_registry_lists_the_studies_of_the_readme_table_in_order():
    """The study table of README.md ("| `name` | reproduces | figures |") names every
    study ``v1model study list`` shows, sorted; each module is studies/<name with _>.py."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| study | reproduces | figures")
    table = readme[start:readme.index("\n\n", start)]
    names = re.findall(r"^\| `([a-z0-9-]+)` \|", table, flags=re.M)
    studies = list_studies()
    assert len(names) == 16
    assert list(studies) == sorted(names)
    for name, module in studies.items():
        assert module.__name__ == "studies." + name.replace("-", "_")
        assert module.NAME == name


def test_readme_table_cites_the_figures_each_study_docstring_reproduces():
    """Every figure a study's docstring says it reproduces ("the paper's Fig. 3-4", "his
    Fig. 4") is named in that study's row of the README table (rozell-2008-lca and
    ringach-2002 named none there)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| study | reproduces | figures")
    table = readme[start:readme.index("\n\n", start)]
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \|([^|]*)\|", table, flags=re.M))
    for name, module in list_studies().items():
        cited = set()
        for first, last in re.findall(r"\bFigs?\.\s*(\d+)(?:\s*[-–]\s*(\d+))?", module.__doc__):
            cited.update(range(int(first), int(last or first) + 1))
        for number in sorted(cited):
            assert re.search(rf"\bFigs?\.[^|]*?\b{number}\b", rows[name]), (
                f"README study table: {name}'s row does not cite Fig. {number}")


def test_get_study_accepts_underscores_and_any_case():
    """A name with "_" for "-" (the module's own spelling) finds the study."""
    assert get_study("activity_ratio").NAME == "activity-ratio"
    assert get_study("Receptive_Field_Mapping").NAME == "receptive-field-mapping"
    assert get_study("LEWICKI-2002-SPEECH").NAME == "lewicki-2002-speech"


def test_unknown_study_hint_names_at_most_three_and_lists_every_valid_name():
    """"20" is part of 12 names: the hint gives the first three (sorted), and the message
    ends with all the valid names."""
    with pytest.raises(ValueError) as caught:
        get_study("20")
    message = str(caught.value)
    assert message.startswith(
        "unknown study '20' (did you mean 'gregor-lecun-2010-lista' or "
        "'lewicki-2002-speech' or 'ringach-2002'?); valid studies: ")
    assert message.endswith("valid studies: " + ", ".join(list_studies()))


def test_an_empty_registry_says_none(tmp_path, monkeypatch):
    """With no study module at all the message says "(none)", not an empty list."""
    import studies

    monkeypatch.setattr(studies, "__path__", [str(tmp_path)])
    assert studies.list_studies() == {}
    with pytest.raises(ValueError, match=r"^unknown study 'x'; valid studies: \(none\)$"):
        studies.get_study("x")


@pytest.mark.parametrize("module", ["studies", "studies._checks", "studies._defaults"])
def test_public_names_exist(module):
    """Every name of a helper module's __all__ is defined (``from ... import *`` works):
    a function, or a constant in capitals (studies._checks.PREWHITENED_MEANS, a text)."""
    mod = importlib.import_module(module)
    for name in mod.__all__:
        value = getattr(mod, name)
        assert callable(value) or name.isupper(), name


def test_an_empty_name_gets_no_hint():
    """"" is part of every name, but suggests none of them."""
    with pytest.raises(ValueError, match=r"^unknown study ''; valid studies: activity-ratio, "):
        get_study("")


@pytest.fixture()
def five_tones(tmp_path, monkeypatch):
    """A registry of five studies tone-1 ... tone-5 (modules tone_1.py ...), and a private
    module _helper.py that is not a study."""
    import sys

    import studies

    for i in range(1, 6):
        (tmp_path / f"tone_{i}.py").write_text(
            f"NAME = 'tone-{i}'\n\ndef run(quick=False, seed=0, *args, lam={i / 10}, **params):\n"
            "    pass\n\n"
            "def plot(ds, outdir):\n    return []\n")
    (tmp_path / "_helper.py").write_text("NAME = 'helper'\nrun = plot = print\n")
    monkeypatch.setattr(studies, "__path__", [str(tmp_path)])
    yield studies
    for i in range(1, 6):
        sys.modules.pop(f"studies.tone_{i}", None)
    sys.modules.pop("studies._helper", None)


def test_hints_are_at_most_three_by_part_and_by_spelling(five_tones):
    """Five names contain "tone" and five are as close to "tone-9" (difflib ratio 5/6,
    above the 0.6 cutoff): either way three are suggested; private modules are no study."""
    assert list(five_tones.list_studies()) == [f"tone-{i}" for i in range(1, 6)]
    valid = "; valid studies: tone-1, tone-2, tone-3, tone-4, tone-5"
    with pytest.raises(ValueError) as caught:
        five_tones.get_study("tone")
    assert str(caught.value) == ("unknown study 'tone' (did you mean 'tone-1' or 'tone-2' or "
                                 "'tone-3'?)" + valid)
    with pytest.raises(ValueError) as caught:
        five_tones.get_study("tone-9")
    assert str(caught.value) == ("unknown study 'tone-9' (did you mean 'tone-5' or 'tone-4' "
                                 "or 'tone-3'?)" + valid)
    # far from every name (ratio 0.4 < 0.6): no hint
    with pytest.raises(ValueError, match=r"^unknown study 'xyz-9'; valid"):
        five_tones.get_study("xyz-9")


def test_study_parameters_are_those_of_run_in_order(five_tones):
    """Keyword parameters with their defaults, not *args and **params."""
    params = five_tones.study_parameters("tone-3")
    assert params == {"quick": False, "seed": 0, "lam": 0.3}
    assert list(params) == ["quick", "seed", "lam"]


# ----------------------------------------------------------------------------- _learned
def test_reference_data_sits_beside_the_checkout():
    """The checkout is the folder with pyproject.toml (the repository root); its reference
    data is ../shared/data from there, where tests/conftest.py looks too. An installed
    package (site-packages, as `pip install .` in CI) has no checkout and no such path."""
    import studies._learned as learned

    if Path(learned.__file__).resolve().parents[1] != ROOT:  # imported from an install
        assert learned.CHECKOUT is None and learned.SHARED_DATA is None
        return
    assert learned.CHECKOUT == ROOT
    assert Path(learned.SHARED_DATA).resolve() == (ROOT / ".." / "shared" / "data").resolve()


def test_a144_is_looked_for_beside_the_checkout_then_the_working_directory(
        tmp_path, monkeypatch):
    import studies._learned as learned

    cwd = tmp_path / "project" / "run"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    beside_cwd = tmp_path / "project" / "shared" / "data" / "olshausen" / "A144.mat"
    beside_cwd.parent.mkdir(parents=True)
    beside_cwd.write_bytes(b"")
    monkeypatch.setattr(learned, "SHARED_DATA", None)  # installed: the working directory
    assert learned.a144_path(None).resolve() == beside_cwd.resolve()
    checkout = tmp_path / "checkout" / "shared" / "data"
    (checkout / "olshausen").mkdir(parents=True)
    (checkout / "olshausen" / "A144.mat").write_bytes(b"")
    monkeypatch.setattr(learned, "SHARED_DATA", checkout)  # the checkout's comes first
    assert learned.a144_path(None) == checkout / "olshausen" / "A144.mat"


def test_the_missing_a144_warning_points_at_the_line_that_called_the_study(
        tmp_path, monkeypatch):
    """a144_path is called by a study's run: the warning is attributed to run's caller,
    the user's line, not to the study's code nor to the package's decorator around run
    (a stand-in run without it passed while the real study named v1model/progress.py)."""
    import studies._learned as learned
    from studies.ringach_2002 import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(learned, "SHARED_DATA", tmp_path / "nowhere")

    with pytest.warns(UserWarning, match="no A144.mat") as record:
        # stopped by its progress check, after the lookup, before any learning
        with pytest.raises(TypeError, match="progress must be a bool"):
            line = inspect.currentframe().f_lineno + 1
            run(quick=True, progress="x")
    assert record[0].filename == __file__ and record[0].lineno == line


@pytest.mark.parametrize("off", ["none", "None", "", "false", "FALSE"])
def test_a144_reference_switched_off(off):
    from studies._learned import a144_path

    assert a144_path(off) is None


def test_a144_reference_given(tmp_path):
    from studies._learned import a144_path

    path = tmp_path / "A.mat"
    path.write_bytes(b"")
    assert a144_path(str(path)) == path and a144_path(path) == path
    with pytest.raises(FileNotFoundError,
                       match=rf"^reference: no such file: '{re.escape(str(tmp_path))}/B.mat'$"):
        a144_path(str(tmp_path / "B.mat"))
    with pytest.raises(TypeError, match=r"^reference must be a path to A144.mat or 'none', "
                                        r"got 3$"):
        a144_path(3)


def test_load_a144_reshapes_each_column_column_major(tmp_path):
    """A (4, 3) matrix: three 2x2 atoms, column i read down then across as MATLAB does."""
    from scipy.io import savemat

    from studies._learned import load_a144

    A = np.arange(12.0).reshape(4, 3)
    savemat(tmp_path / "A.mat", {"A": A})
    atoms = load_a144(tmp_path / "A.mat")
    assert atoms.shape == (3, 2, 2) and atoms.dtype == np.float64
    np.testing.assert_array_equal(atoms[0], [[0.0, 6.0], [3.0, 9.0]])
    np.testing.assert_array_equal(atoms[2], [[2.0, 8.0], [5.0, 11.0]])


def test_a_dictionary_with_a_fourth_dim_is_refused(tmp_path):
    """(atom, y, x, channel) has atoms and pixels but is no dictionary of images: refused
    before its patch shape is used, not flattened into 3x4x2-pixel atoms."""
    import xarray as xr

    from studies._learned import dictionary_patch_shape, learned_dictionary

    path = tmp_path / "rgb.nc"
    xr.Dataset({"dictionary": (("atom", "y", "x", "channel"), np.ones((5, 3, 4, 2)))}
               ).to_netcdf(path)
    message = (r"^dictionary: '.*rgb\.nc' has a 'dictionary' variable with dims "
               r"\('atom', 'y', 'x', 'channel'\); expected dims \(atom, y, x\)$")
    with pytest.raises(ValueError, match=message):
        dictionary_patch_shape(path, quick=True)
    with pytest.raises(ValueError, match=message):
        learned_dictionary(path, quick=True, seed=0)


def test_cheap_checks_of_a_dictionary_to_learn(tmp_path):
    """Without a file: n_updates >= 1 and images a source, each refused by its name; with a
    file the images are not the dictionary's business, n_updates is refused beside it."""
    from studies._learned import check_dictionary_source

    check_dictionary_source(None, 1)
    with pytest.raises(ValueError, match=r"^n_updates must be >= 1, got 0$"):
        check_dictionary_source(None, 0)
    with pytest.raises(TypeError, match=r"^images must be 'skimage', a path .* got -7\.5$"):
        check_dictionary_source("none", None, images=-7.5)
    path = tmp_path / "d.nc"
    path.write_bytes(b"")
    check_dictionary_source(path, None, images=-7.5)
    with pytest.raises(ValueError, match=r"^n_updates=5 has no effect with dictionary='.*d\.nc'"):
        check_dictionary_source(str(path), 5)


def test_an_unreadable_dictionary_file_is_reported_under_its_name(tmp_path):
    from studies._learned import learned_dictionary

    (tmp_path / "empty.nc").write_bytes(b"")
    with pytest.raises(ValueError, match=r"^dictionary: cannot read '.*empty\.nc' as a netCDF"):
        learned_dictionary(tmp_path / "empty.nc", quick=True, seed=0)


def _fake_learning(monkeypatch, atoms, n_updates=7):
    """Replace olshausen-field-1996's run by one returning ``atoms``; returns its calls."""
    import xarray as xr

    calls = []

    def run(**kwargs):
        calls.append(kwargs)
        return xr.Dataset({"dictionary": (("atom", "y", "x"), atoms)},
                          attrs={"n_updates": n_updates, "images": "skimage"})

    monkeypatch.setattr(get_study("olshausen-field-1996"), "run", run)
    return calls


@pytest.mark.parametrize("dictionary", [None, "", "none", "None"])
def test_learning_passes_its_settings_and_records_them(monkeypatch, dictionary):
    """No dictionary: the study learns one with the caller's quick, seed, images,
    progress (off by default) and n_updates only when given; the atoms come back unit-norm
    and the attrs say "learned" with the learning's n_updates."""
    from studies._learned import learned_dictionary

    atoms = np.zeros((2, 2, 3))
    atoms[0, 0, 0], atoms[1, 1, 2] = 3.0, -0.5
    calls = _fake_learning(monkeypatch, atoms)
    D, source, meta = learned_dictionary(dictionary, quick=True, seed=4)
    assert calls == [dict(quick=True, seed=4, images="skimage", progress=False)]
    np.testing.assert_allclose(D, atoms / np.array([3.0, 0.5])[:, None, None], rtol=1e-12)
    assert D.dtype == np.float64
    assert meta == {"dictionary": "learned", "n_updates": 7}
    assert source == ("learned by olshausen-field-1996 (quick=True, seed=4, n_updates=7, "
                      "images=skimage)")
    learned_dictionary(dictionary, quick=False, seed=1, images="IMAGES.mat", n_updates=5,
                       progress=True)
    assert calls[1] == dict(quick=False, seed=1, images="IMAGES.mat", progress=True,
                            n_updates=5)


def test_a_learned_all_zero_atom_is_refused_by_name(monkeypatch):
    from studies._learned import learned_dictionary

    atoms = np.zeros((2, 2, 2))
    atoms[0, 0, 0] = 1.0
    _fake_learning(monkeypatch, atoms)
    with pytest.raises(ValueError, match=r"^dictionary has 1 atom\(s\) \(rows\) with zero norm, "
                                         r"e\.g\. row 1"):
        learned_dictionary(None, quick=True, seed=0)


# ----------------------------------------------------------------------------- _auditory
def test_gammatone_10db_width_in_erbs():
    """A 4th-order gammatone's power falls as (1 + (df / b)^2)^-4: -10 dB at
    df = b sqrt(10^(1/4) - 1), the full width 2 b sqrt(10^(1/4) - 1) with b = 1.019 ERB:
    1.7979 ERB (the README's 1.80)."""
    from studies._auditory import GAMMATONE_10DB_PER_ERB

    assert GAMMATONE_10DB_PER_ERB == pytest.approx(1.7979266, rel=1e-7)


def test_signs_make_the_largest_excursion_positive():
    from studies._auditory import signed, signs

    K = np.array([[1.0, -3.0, 2.0], [-1.0, 0.5, 0.0], [0.0, 0.0, 4.0], [2.0, -2.0, 0.0]])
    np.testing.assert_array_equal(signs(K), [-1.0, -1.0, 1.0, 1.0])  # a tie: the first
    np.testing.assert_array_equal(signed(K), [[-1.0, 3.0, -2.0], [1.0, -0.5, 0.0],
                                              [0.0, 0.0, 4.0], [2.0, -2.0, 0.0]])


def test_analysis_parameters_bounds():
    """min_centre_frequency >= 0 and localization_threshold in (0, 1]: both ends of the
    documented ranges, and floats back."""
    from studies._auditory import check_analysis_parameters

    assert check_analysis_parameters(0, 1) == (0.0, 1.0)
    assert check_analysis_parameters(50, 0.5) == (50.0, 0.5)
    with pytest.raises(ValueError, match=r"^localization_threshold must be in \(0, 1\], got 0$"):
        check_analysis_parameters(0, 0.0)
    with pytest.raises(ValueError, match="localization_threshold"):
        check_analysis_parameters(0, 1.5)
    with pytest.raises(ValueError, match=r"^min_centre_frequency must be a non-negative"):
        check_analysis_parameters(-1.0, 0.5)


def test_a_floor_just_below_nyquist_is_accepted():
    from studies._auditory import check_below_nyquist

    check_below_nyquist(3999.0, 8000.0)
    with pytest.raises(ValueError, match=r"^min_centre_frequency=4000\.0 Hz is at or above the "
                                         r"Nyquist frequency of the segments \(4000 Hz\)"):
        check_below_nyquist(4000.0, 8000.0)


@pytest.mark.parametrize("missing", [None, "", "  ", "None", "none"])
def test_no_audio_source_is_refused_by_name(missing):
    from studies._auditory import audio_folder

    with pytest.raises(ValueError, match=r"^audio_dir: this study learns from recorded speech"):
        audio_folder(missing, "*.wav")


def test_audio_folder_of_each_kind(tmp_path):
    from studies._auditory import audio_folder

    assert audio_folder("synthetic", "*.wav") == (True, None)
    (tmp_path / "a.wav").write_bytes(b"")  # only the listing counts here
    assert audio_folder(str(tmp_path), "*.wav") == (False, tmp_path)
    assert audio_folder(tmp_path, "*.wav") == (False, tmp_path)
    with pytest.raises(ValueError, match=r"^audio_dir: no files matching pattern='\*\.flac' "):
        audio_folder(tmp_path, "*.flac")
    with pytest.raises(FileNotFoundError, match=r"^audio_dir: no such folder: "):
        audio_folder(tmp_path / "b", "*.wav")
    with pytest.raises(FileNotFoundError, match=r"^audio_dir: '.*a\.wav' is a file; give a "
                                                r"folder of WAV files"):
        audio_folder(tmp_path / "a.wav", "*.wav")  # a file, not a folder
    with pytest.raises(TypeError, match="pattern"):
        audio_folder("synthetic", "")


def test_synthetic_audio_at_the_default_rate_and_unit_rms():
    """The stand-in is stimuli.audio.harmonic_ensemble at 8 kHz unless told otherwise,
    scaled to unit RMS per piece only on request."""
    from stimuli.audio import harmonic_ensemble
    from studies._auditory import load_audio

    X, rate, source, files = load_audio(None, "*.wav", None, 64, 5, 0.0,
                                        np.random.default_rng(3))
    assert rate == 8000.0 and "not speech" in source
    assert files == dict(n_files=0, n_train_files=0, n_short_files=0, n_quiet_files=0)
    np.testing.assert_array_equal(X, harmonic_ensemble(5, 64, sample_rate=8000.0,
                                                       seed=np.random.default_rng(3)))
    Y, rate, _, _ = load_audio(None, "*.wav", 16000.0, 64, 5, 0.0, np.random.default_rng(3),
                               unit_rms_synthetic=True)
    Z = harmonic_ensemble(5, 64, sample_rate=16000.0, seed=np.random.default_rng(3))
    assert rate == 16000.0
    np.testing.assert_allclose(np.sqrt((Y**2).mean(axis=1)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(Y, Z / np.sqrt((Z**2).mean(axis=1, keepdims=True)), rtol=1e-12)


def test_window_bandwidth_is_that_of_a_rectangular_window():
    """A tone of N samples has the spectrum of a rectangular window, |sin(pi f N) /
    (N sin(pi f))|: its -10 dB full width is 2 f rate where that equals 10^(-1/2)
    (~1.476 / N of the rate)."""
    from scipy.optimize import brentq

    from studies._auditory import window_bandwidth_10db

    for taps, rate in ((64, 8000.0), (128, 16000.0)):
        def level(f):
            return abs(np.sin(np.pi * f * taps) / (taps * np.sin(np.pi * f))) - 10 ** -0.5

        expected = 2 * brentq(level, 1e-6, 1.0 / taps) * rate
        assert window_bandwidth_10db(taps, rate) == pytest.approx(expected, rel=2e-3)


@pytest.fixture(scope="module")
def gammatone_analysis():
    """Four gammatones (SciPy, 64 taps at 8 kHz) at 300-2400 Hz, given in reverse order,
    analysed with a 500 Hz floor and a localization threshold of 0.5."""
    from studies._auditory import analyse_kernels, gammatone_bank

    fc = np.array([300.0, 600.0, 1200.0, 2400.0])
    bank = gammatone_bank(fc, 64, 8000.0)
    return fc, bank, analyse_kernels(bank[::-1], 8000.0, 500.0, 0.5)


def test_gammatone_bank_is_scipys_fir_gammatones(gammatone_analysis):
    from scipy.signal import gammatone

    fc, bank, _ = gammatone_analysis
    assert bank.shape == (4, 64)
    np.testing.assert_array_equal(bank[2], gammatone(1200.0, "fir", numtaps=64, fs=8000.0)[0])


def test_kernels_analysed_as_auditory_filters(gammatone_analysis):
    """Sorted by peak frequency (so order reverses the input), the flat envelope's RMS
    duration T / sqrt(12), its ratios, band-pass above the floor, localized below the
    threshold, and a fit that leaves out the kernel below the floor."""
    from v1model.analysis import auditory_tuning, bandwidth_fit

    fc, bank, a = gammatone_analysis
    ref = auditory_tuning(bank, 8000.0)
    np.testing.assert_array_equal(a["order"], [3, 2, 1, 0])
    np.testing.assert_allclose(a["tuning"]["peak_frequency"], ref["peak_frequency"], rtol=1e-12)
    np.testing.assert_allclose(a["tuning"]["peak_frequency"], fc, rtol=0.02)
    np.testing.assert_array_equal(a["tuning"]["kernel"], np.arange(4))
    assert a["flat"] == pytest.approx(64 / 8000.0 / np.sqrt(12.0), rel=1e-12)
    ratio = ref["envelope_duration"].values / (0.008 / np.sqrt(12.0))
    np.testing.assert_allclose(a["ratio"], ratio, rtol=1e-12)
    np.testing.assert_array_equal(a["localized"], ratio < 0.5)
    np.testing.assert_array_equal(a["bandpass"], ~ref["lowpass_3db"].values & (fc >= 500.0))
    np.testing.assert_array_equal(a["bandpass"], [False, True, True, True])
    for key, width in (("fit10", "bandwidth_10db"), ("fit3", "bandwidth_3db")):
        fit = bandwidth_fit(ref, width, min_frequency=500.0)
        assert float(a[key]["slope"]) == pytest.approx(float(fit["slope"]), rel=1e-12)
        np.testing.assert_array_equal(a[key]["used"], fit["used"])
    assert not a["fit10"]["used"].values[0]


def test_erb_slope_at_the_fitted_centres(gammatone_analysis):
    """The slope of log10 ERB(f) = log10(24.7 (4.37 f / 1000 + 1)) against log10 f over the
    fitted centres; NaN with fewer than three."""
    from studies._auditory import erb_slope

    _, _, a = gammatone_analysis
    tuning, fit = a["tuning"], a["fit10"]
    f = tuning["peak_frequency"].values[fit["used"].values]
    assert f.size == 3
    expected = np.polyfit(np.log10(f), np.log10(24.7 * (4.37 * f / 1000 + 1)), 1)[0]
    assert erb_slope(tuning, fit) == pytest.approx(expected, rel=1e-12)
    fewer = fit.copy()
    fewer["used"] = fit["used"].copy(data=[False, False, True, True])
    assert np.isnan(erb_slope(tuning, fewer))


def test_median_q10_of_the_band_pass_kernels(gammatone_analysis):
    from studies._auditory import median_q10

    _, _, a = gammatone_analysis
    q10 = a["tuning"]["q10"].values
    assert median_q10(a["tuning"], a["bandpass"]) == (pytest.approx(np.median(q10[1:])), 0)
    median, left_out = median_q10(a["tuning"], np.zeros(4, bool))
    assert np.isnan(median) and left_out == 0


def test_median_q10_leaves_out_the_kernels_whose_q10_is_a_bound():
    """Gabor kernels exp(-t^2 / (2 s^2)) cos(2 pi f t) have a -10 dB band
    2 sqrt(ln 10 / 2) / (sqrt(2) pi s) wide: Q10 = f / that. Two more, at 150 Hz
    (s = 2 ms) and 200 Hz (s = 1.5 ms), are band-pass (their -3 dB band clears 0 Hz) but
    their -10 dB band is cut at 0 Hz: a Q10 that is only a bound (0.55), which pulled
    the median from 4.14 down to 2.07."""
    from studies._auditory import analyse_kernels, median_q10

    rate = 8000.0
    t = (np.arange(256) - 128) / rate

    def gabor(f, s):
        return np.exp(-t**2 / (2 * s**2)) * np.cos(2 * np.pi * f * t)

    measured = np.array([500.0, 1000.0, 2000.0])
    s = 0.002
    expected = np.median(measured / (2 * np.sqrt(np.log(10) / 2) / (np.sqrt(2) * np.pi * s)))
    K = np.stack([gabor(f, s) for f in measured] + [gabor(150.0, 0.002), gabor(200.0, 0.0015)])
    a = analyse_kernels(K, rate, 100.0, 0.5)
    assert a["bandpass"].all() and a["tuning"]["lowpass_10db"].values.sum() == 2
    median, left_out = median_q10(a["tuning"], a["bandpass"])
    assert median == pytest.approx(expected, rel=1e-3) and expected == pytest.approx(4.14,
                                                                                   abs=0.01)
    assert left_out == 2
    median, left_out = median_q10(a["tuning"], a["tuning"]["lowpass_10db"].values)
    assert np.isnan(median) and left_out == 2


def test_gammatone_reference_at_the_fitted_centres(gammatone_analysis):
    """Gammatones at the fitted kernels' peak frequencies, cut to the taps and analysed
    like the kernels; the kernel left out of the fit has no value."""
    from v1model.analysis import auditory_tuning, bandwidth_fit

    from studies._auditory import gammatone_bank, gammatone_reference

    _, _, a = gammatone_analysis
    tuning, used = a["tuning"], a["fit10"]["used"].values
    fc = tuning["peak_frequency"].values
    gt = gammatone_reference(tuning, used, 8000.0, 64, 500.0, a["flat"], 0.5)
    ref = auditory_tuning(gammatone_bank(fc[1:], 64, 8000.0), 8000.0)
    assert np.isnan(gt["bandwidth"][0])
    np.testing.assert_allclose(gt["bandwidth"][1:], ref["bandwidth_10db"], rtol=1e-12)
    fit = bandwidth_fit(ref, "bandwidth_10db", min_frequency=500.0)
    assert gt["slope"] == pytest.approx(float(fit["slope"]), rel=1e-12)
    localized = ref["envelope_duration"].values / a["flat"] < 0.5
    assert gt["fraction_localized"] == pytest.approx(localized.mean())
    none = gammatone_reference(tuning, np.zeros(4, bool), 8000.0, 64, 500.0, a["flat"], 0.5)
    assert np.isnan(none["bandwidth"]).all() and np.isnan(none["slope"])
    assert np.isnan(none["fraction_localized"])
    # no gammatone at 0 Hz or at Nyquist (SciPy has none there), even for a kernel marked used
    import xarray as xr

    edges = xr.Dataset({"peak_frequency": ("kernel", [0.0, 600.0, 1200.0, 4000.0])})
    gt = gammatone_reference(edges, np.ones(4, bool), 8000.0, 64, 500.0, a["flat"], 0.5)
    assert np.isnan(gt["bandwidth"][[0, 3]]).all()
    ref = auditory_tuning(gammatone_bank([600.0, 1200.0], 64, 8000.0), 8000.0)
    np.testing.assert_allclose(gt["bandwidth"][1:3], ref["bandwidth_10db"], rtol=1e-12)


def test_the_studies_summarise_the_envelope_asymmetry_of_their_kernels():
    """Smith & Lewicki (2006) report gammatone-like kernels: a fast attack and a slower
    decay. The median skewness of time under the squared Hilbert envelope is 2 / sqrt(7)
    for 4th-order gammatones holding their whole decay (512 taps at 8 kHz), its negative
    for the same filters reversed in time, and 0 for symmetric Gabor functions; the cut
    gammatone reference (64 taps) reports the median of its own filters."""
    from studies._auditory import gammatone_bank, gammatone_reference
    from studies.smith_lewicki_2006_convolutional import _analyse
    from v1model.analysis import auditory_tuning

    rate, fc = 8000.0, np.array([500.0, 1000.0, 2000.0])
    bank = gammatone_bank(fc, 512, rate)
    assert _analyse(bank, rate, 100.0, 0.5)["median_envelope_skewness"] == pytest.approx(
        2 / np.sqrt(7), rel=0.01)
    assert _analyse(bank[:, ::-1], rate, 100.0, 0.5)["median_envelope_skewness"] == \
        pytest.approx(-2 / np.sqrt(7), rel=0.01)
    t = (np.arange(512) - 255.5) / rate
    gabors = np.stack([np.exp(-t**2 / (2 * 0.003**2)) * np.cos(2 * np.pi * f * t) for f in fc])
    assert _analyse(gabors, rate, 100.0, 0.5)["median_envelope_skewness"] == pytest.approx(
        0.0, abs=1e-6)
    a = _analyse(bank, rate, 100.0, 0.5)
    gt = gammatone_reference(a["tuning"], a["fit10"]["used"].values, rate, 64, 100.0,
                             a["flat"], 0.5)
    cut = auditory_tuning(gammatone_bank(a["tuning"]["peak_frequency"].values, 64, rate), rate)
    assert gt["median_envelope_skewness"] == pytest.approx(
        float(np.median(cut["envelope_skewness"].values)), rel=1e-12)


# ----------------------------------------------------------------------------- study checks
def _check_only(name, **params):
    """The study's error in a sweep's pre-flight (None when it accepts ``params``)."""
    from v1model.sweep import SpecError, check_points, parse_spec

    swept = {key: [value] for key, value in params.items()}
    try:
        check_points(parse_spec({"study": name, "sweep": swept, "quick": True,
                                 "executor": {"kind": "serial"}}))
    except SpecError as exc:
        return str(exc).split("is refused by the study: ", 1)[1]
    return None


@pytest.mark.parametrize("name", ["activity-ratio", "receptive-field-mapping"])
def test_run_starts_with_quick_false_and_seed_zero(name):
    """The registry's contract (studies/__init__.py): run(quick=False, seed=0, **params)."""
    params = study_parameters(name)
    assert list(params)[:2] == ["quick", "seed"]
    assert params["quick"] is False and params["seed"] == 0


def test_activity_ratio_defaults_are_the_documented_ones():
    """lambda over two decades from 0.02 to 2 (README: "over λ = 0.02 … 2"), and the
    activity threshold and class boundaries of v1model.analysis.code_class."""
    from v1model.analysis import code_class

    params = study_parameters("activity-ratio")
    assert params["lam_min"] == 0.02 and params["lam_max"] == 2.0
    assert params["lam_max"] / params["lam_min"] == pytest.approx(100.0)
    defaults = {k: p.default for k, p in inspect.signature(code_class).parameters.items()}
    for key in ("tol", "local_max_count", "dense_min_ratio"):
        assert params[key] == defaults[key], key
    assert (defaults["tol"], defaults["local_max_count"], defaults["dense_min_ratio"]) == (
        0.0, 1.5, 0.25)


def test_activity_ratio_refuses_an_empty_lambda_range():
    assert _check_only("activity-ratio", lam_min=0.5, lam_max=0.5) == (
        "ValueError: lam_max=0.5 must exceed lam_min=0.5")
    assert _check_only("activity-ratio", lam_min=0.5, lam_max=0.6) is None


@pytest.fixture()
def activity_ratio_probe(monkeypatch):
    """activity-ratio with its work replaced by stand-ins that record what they are given:
    the learning, the images, the patches (random) and LCA (a silent code)."""
    import stimuli
    import stimuli.images
    import studies._learned
    import v1model.inference

    seen = {"lam": []}
    atoms = np.eye(64)[:4].reshape(4, 8, 8)

    def learned(dictionary, **kwargs):
        seen["learning"] = kwargs
        return atoms, "stand-in", {"dictionary": "learned"}

    def patches(images, size, n, seed, **kwargs):
        seen["patches"] = (size, n)
        return np.random.default_rng(0).standard_normal((n, size * size))

    def lca(X, D, lam, **kwargs):
        seen["lam"].append(lam)
        return np.zeros((len(X), len(D)))

    monkeypatch.setattr(studies._learned, "learned_dictionary", learned)
    # 64 pixels wide: the held-out split needs room for a patch and its border on each side
    monkeypatch.setattr(stimuli.images, "load_whitened",
                        lambda *args, **kwargs: (np.zeros((1, 64, 64)), None))
    monkeypatch.setattr(stimuli, "sample_patches", patches)
    monkeypatch.setattr(v1model.inference, "lca", lca)
    return seen


@pytest.mark.parametrize("quick, n_patches, n_updates", [(True, 1000, 1000),
                                                         (False, 5000, None)])
def test_activity_ratio_quick_and_full_defaults(activity_ratio_probe, quick, n_patches,
                                                n_updates):
    """The docstring's defaults: 13 lambda levels log-spaced over [lam_min, lam_max], 1,000
    patches quick and 5,000 full, 1,000 learning updates quick (the learning study's own
    number otherwise)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stand-in code is silent: NaN summaries
        ds = get_study("activity-ratio").run(quick=quick, progress=False)
    seen = activity_ratio_probe
    assert seen["learning"]["n_updates"] == n_updates
    assert seen["learning"]["quick"] is quick and seen["learning"]["seed"] == 0
    assert seen["patches"] == (8, n_patches)
    np.testing.assert_allclose(seen["lam"], np.geomspace(0.02, 2.0, 13), rtol=1e-12)
    np.testing.assert_allclose(ds["lam"], np.geomspace(0.02, 2.0, 13), rtol=1e-12)
    assert ds.attrs["n_lams"] == 13 and ds.attrs["n_patches"] == n_patches
    assert ds.sizes["sample"] == n_patches


def test_receptive_field_mapping_documented_defaults():
    """The numbers its docstrings give: lam 0.15, gratings of amplitude 0.1, white noise of
    s.d. 0.3 (the energy of a whitened patch, pixel variance ~0.1: 0.3^2 = 0.09), contrast
    response from 0.003 up to 1.0 (three times a whitened patch's s.d.)."""
    params = study_parameters("receptive-field-mapping")
    assert params["lam"] == 0.15 and params["grating_contrast"] == 0.1
    assert params["white_contrast"] == 0.3
    assert params["min_contrast"] == 0.003 and params["max_contrast"] == 1.0
    assert params["max_contrast"] == pytest.approx(3 * np.sqrt(0.1), rel=0.06)


@pytest.mark.parametrize("name", ["activity-ratio", "receptive-field-mapping"])
def test_a_bad_quick_is_refused_under_its_name(name):
    with pytest.raises(TypeError, match=r"^quick must be a bool, got 'no'"):
        get_study(name).run(quick="no", progress=False)


def test_activity_ratio_counts_are_refused_under_their_names():
    assert _check_only("activity-ratio", n_patches=0) == "ValueError: n_patches must be >= 1, got 0"
    assert _check_only("activity-ratio", n_lams=1) == "ValueError: n_lams must be >= 2, got 1"


@pytest.mark.parametrize("name, params", [
    ("activity-ratio", dict(lam_min=0.5, lam_max=0.6, n_lams=2, n_patches=1)),
    ("receptive-field-mapping", dict(n_white=2, n_sparse=2, sparse_pixels=64, n_phases=1,
                                     n_orientations=1, n_sample_units=1, n_contrasts=1)),
])
def test_accepted_values_stop_before_the_dictionary(name, params, monkeypatch):
    """A sweep's pre-flight accepts these values and stops before any dictionary is
    learned or loaded."""
    import studies._learned

    def refuse(*args, **kwargs):
        raise AssertionError("the pre-flight went on to the dictionary")

    monkeypatch.setattr(studies._learned, "learned_dictionary", refuse)
    assert _check_only(name, **params) is None


def test_receptive_field_mapping_counts_and_contrasts_refused_by_name():
    error = _check_only("receptive-field-mapping", n_white=1)
    assert error == "ValueError: n_white must be >= 2, got 1"
    assert _check_only("receptive-field-mapping", n_sparse=1) == (
        "ValueError: n_sparse must be >= 2, got 1")
    assert _check_only("receptive-field-mapping", min_contrast=0.5, max_contrast=0.5) == (
        "ValueError: max_contrast=0.5 must exceed min_contrast=0.5")


@pytest.mark.parametrize("quick, n_white, n_sparse", [(True, 5000, 10000),
                                                      (False, 50000, 100000)])
def test_receptive_field_mapping_noise_defaults(monkeypatch, quick, n_white, n_sparse):
    """The docstring's numbers of noise stimuli: 5,000 white and 10,000 sparse quick,
    50,000 and 100,000 full (the mapping is stopped at the sparse noise)."""
    import xarray as xr

    import studies._learned
    import v1model.analysis

    class Stop(Exception):
        pass

    calls = []

    def mapping(encoder, shape, noise, n_stimuli, **kwargs):
        calls.append((noise, n_stimuli))
        if noise == "sparse":
            raise Stop

    atoms = np.eye(64)[:2].reshape(2, 8, 8)
    monkeypatch.setattr(studies._learned, "learned_dictionary",
                        lambda *args, **kwargs: (atoms, "stand-in", {}))
    monkeypatch.setattr(v1model.analysis, "fit_gabor", lambda *args, **kwargs: None)
    monkeypatch.setattr(v1model.analysis, "grating_responses", lambda *args, **kwargs: None)
    monkeypatch.setattr(v1model.analysis, "tuning_curves", lambda *args: xr.Dataset(
        {"preferred_orientation": ("atom", [0.1, np.nan]),
         "peak_orientation": ("atom", [0.1, np.nan]),
         "preferred_frequency": ("atom", [0.25, np.nan])}))
    monkeypatch.setattr(v1model.analysis, "map_receptive_fields", mapping)
    with pytest.raises(Stop):
        get_study("receptive-field-mapping").run(quick=quick, progress=False)
    assert calls == [("white", n_white), ("sparse", n_sparse)]
