"""A sweep's pre-flight (the studies' check-only mode) refuses every value the
study would refuse later, after loading images or learning, with the same
message: nothing here loads an image or learns anything."""

import re
from pathlib import Path

import numpy as np
import pytest

from studies import get_study, list_studies, study_parameters
from v1model.sweep import SpecError, check_points, parse_spec

#: Base parameters of studies that refuse everything without them.
BASE = {"lewicki-2002-speech": {"audio_dir": "synthetic"},
        "smith-lewicki-2006-convolutional": {"audio_dir": "synthetic"}}


def _check_only(name, **params):
    """The study's error in a sweep's pre-flight (None when it accepts ``params``)."""
    params = {**BASE.get(name, {}), **params}
    swept = {key: [value] for key, value in params.items()}
    try:
        check_points(parse_spec({"study": name, "sweep": swept, "quick": True,
                                 "executor": {"kind": "serial"}}))
    except SpecError as exc:
        if "is refused by the study: " not in str(exc):
            raise  # the spec itself is wrong
        return str(exc).split("is refused by the study: ", 1)[1]
    return None


# values that got past the pre-flight and were refused only once the images were
# loaded or the dictionary learned (or, for progress and n_raster, not at all)
REFUSED_LATE = [
    ("spiking-lca", "lam", -7.5, "ValueError: lam must be a non-negative finite number"),
    ("spiking-lca", "lam", "abc", "TypeError: lam must be a real number"),
    ("spiking-lca", "patch_size", -7.5, "TypeError: patch_size must be an integer"),
    ("spiking-lca", "patch_size", 0, "ValueError: patch_size must be >= 1"),
    ("spiking-lca", "dt", -7.5, "ValueError: dt must be a positive finite number"),
    ("spiking-lca", "dt", 0.02, "ValueError: dt=0.02 s must be shorter than tau_syn"),
    ("spiking-lca", "tau_m", -7.5, "ValueError: tau_m must be a positive finite number"),
    ("spiking-lca", "tau_syn", "abc", "TypeError: tau_syn must be a real number"),
    ("spiking-lca", "target", "abc", "ValueError: target must be one of"),
    ("spiking-lca", "n_raster", "abc", "TypeError: n_raster must be an integer"),
    ("spiking-lca", "progress", "abc", "TypeError: progress must be a bool"),
    ("zylberberg-2011-sailnet", "alpha", -7.5,
     "ValueError: alpha must be a non-negative finite number"),
    ("zylberberg-2011-sailnet", "beta", "abc", "TypeError: beta must be a real number"),
    ("zylberberg-2011-sailnet", "gamma", -7.5,
     "ValueError: gamma must be a non-negative finite number"),
    ("zylberberg-2011-sailnet", "p", -7.5, "ValueError: p must be a positive finite number"),
    ("zylberberg-2011-sailnet", "p", 60, "ValueError: p=60.0 spikes per image is more than"),
    ("zylberberg-2011-sailnet", "theta0", "abc", "TypeError: theta0 must be a numeric array"),
    ("zylberberg-2011-sailnet", "batch_size", -7.5, "TypeError: batch_size must be an integer"),
    ("zylberberg-2011-sailnet", "patch_size", 1, "ValueError: patch_size must be >= 2"),
    ("zylberberg-2011-sailnet", "patch_size", "abc", "TypeError: patch_size must be an integer"),
    ("zylberberg-2011-sailnet", "brian2_target", "abc", "ValueError: brian2_target must be one of"),
    ("zylberberg-2011-sailnet", "progress", "abc", "TypeError: progress must be a bool"),
    ("activity-ratio", "tol", "abc", "TypeError: tol must be a real number"),
    ("activity-ratio", "tol", -7.5, "ValueError: tol must be a non-negative finite number"),
    ("activity-ratio", "dense_min_ratio", -7.5, r"ValueError: dense_min_ratio must be in \(0, 1\)"),
    ("activity-ratio", "local_max_count", "abc",
     "TypeError: local_max_count must be a real number"),
    ("activity-ratio", "progress", "abc", "TypeError: progress must be a bool"),
    ("olshausen-field-1997", "batch_size", -7.5, "TypeError: batch_size must be an integer"),
    ("olshausen-field-1997", "batch_size", 0, "ValueError: batch_size must be >= 1"),
    ("olshausen-field-1997", "progress", "abc", "TypeError: progress must be a bool"),
    ("olshausen-field-1996", "progress", "abc", "TypeError: progress must be a bool"),
    ("lca-sweep", "progress", "abc", "TypeError: progress must be a bool"),
    ("rozell-2008-lca", "progress", "abc", "TypeError: progress must be a bool"),
    ("ringach-2002", "progress", "abc", "TypeError: progress must be a bool"),
    # fit_gabor's 1 to 6 starts: refused after learning the dictionary
    ("ringach-2002", "n_starts", 7, "ValueError: n_starts must be <= 6, got 7"),
    ("receptive-field-mapping", "progress", -7.5, "TypeError: progress must be a bool"),
    # refused against the patch of the dictionary (8x8 quick; zhu-rozell's own 12x12),
    # before it is learned
    ("receptive-field-mapping", "sparse_pixels", 100,
     "ValueError: sparse_pixels must be <= 64, the pixels of the 8x8 patch, got 100"),
    ("zhu-rozell-2013-ncrf", "margin", 10,
     "ValueError: margin=10.0 leaves no place for a unit's centre on the 12x12 patch"),
] + [
    (name, "prewhitened", value, "TypeError: prewhitened must be a bool")
    for name in ("activity-ratio", "gregor-lecun-2010-lista", "lca-sweep",
                 "olshausen-field-1996", "olshausen-field-1997", "rozell-2008-lca",
                 "sae-natural-patches", "schultz-2014-replicating-kernels", "spiking-lca",
                 "zylberberg-2011-sailnet")
    for value in ("abc", -7.5)
]

IMAGE_STUDIES = ["activity-ratio", "gregor-lecun-2010-lista", "lca-sweep", "olshausen-field-1996",
                 "olshausen-field-1997", "receptive-field-mapping", "ringach-2002",
                 "rozell-2008-lca", "sae-natural-patches", "schultz-2014-replicating-kernels",
                 "spiking-lca", "zhu-rozell-2013-ncrf", "zylberberg-2011-sailnet"]


@pytest.mark.parametrize("name, param, value, message", REFUSED_LATE)
def test_check_only_refuses_what_the_run_refuses(name, param, value, message):
    error = _check_only(name, **{param: value})
    assert error is not None, f"{name} accepts {param}={value!r} in its check-only mode"
    assert re.match(message, error), error
    assert param in error and (repr(value) in error or repr(float(value)) in error)
    # a direct call stops at the same check, with the same message, before any work
    with pytest.raises((TypeError, ValueError)) as caught:
        get_study(name).run(quick=True, **{param: value})
    assert f"{type(caught.value).__name__}: {caught.value}" == error


@pytest.mark.parametrize("name", IMAGE_STUDIES)
@pytest.mark.parametrize("value, message", [
    ("abc", r"FileNotFoundError: images: no such file or folder: 'abc'"),
    (-7.5, r"TypeError: images must be 'skimage', a path .* got -7.5"),
])
def test_images_are_checked_without_loading(name, value, message):
    error = _check_only(name, images=value)
    assert error is not None and re.match(message, error), error


def test_images_checks(tmp_path):
    from studies._checks import check_images

    (tmp_path / "a.png").write_bytes(b"")  # not read: only its name and existence count
    (tmp_path / "notes.txt").write_text("")
    for ok in ("skimage", tmp_path, str(tmp_path / "a.png"), np.zeros((2, 16, 16)),
               np.zeros((16, 16))):
        check_images(ok)
    check_images("skimage", prewhitened=True)
    with pytest.raises(TypeError, match="images must be 'skimage', a path .* got None"):
        check_images(None)
    with pytest.raises(ValueError, match="images: cannot read .*notes.txt.*: expected a .mat"):
        check_images(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"images must have 2 or 3 dimension\(s\), got 1"):
        check_images([1.0, 2.0])
    with pytest.raises(TypeError, match="images must be a numeric array"):
        check_images([[1.0, 2.0], [3.0]])
    check_images(np.zeros((16, 16), np.uint8))  # scaled by 255 as a file's pixels are
    with pytest.raises(ValueError, match="images is an array of int64"):  # load_images' check
        check_images(np.zeros((16, 16), np.int64))
    with pytest.raises(TypeError, match="prewhitened must be a bool, got 'yes'"):
        check_images("skimage", prewhitened="yes")
    # the message of stimuli.load_images for a missing path
    from stimuli import load_images

    with pytest.raises(FileNotFoundError) as late:
        load_images(str(tmp_path / "none"), name="images")
    with pytest.raises(FileNotFoundError) as early:
        check_images(str(tmp_path / "none"))
    assert str(early.value) == str(late.value)


@pytest.mark.parametrize("name", ["activity-ratio", "receptive-field-mapping", "ringach-2002",
                                  "zhu-rozell-2013-ncrf"])
def test_images_of_a_dictionary_study(name, tmp_path):
    # images are refused when the dictionary is to be learned from them ...
    assert "images: no such file" in _check_only(name, images=str(tmp_path / "none"))
    # ... and, as before, ignored when a dictionary file is given (but by activity-ratio,
    # whose encoded patches come from images either way)
    given = tmp_path / "d.nc"
    given.write_bytes(b"")  # only its existence is checked up front
    error = _check_only(name, dictionary=str(given), images=str(tmp_path / "none"))
    if name == "activity-ratio":
        assert "images: no such file" in error
    else:
        assert error is None


@pytest.mark.parametrize("name", list(list_studies()))
def test_every_parameter_refuses_a_bad_value_up_front(name):
    """Every parameter of every study refuses "abc" and -7.5 in check-only mode,
    naming itself (but for the few listed, which take them)."""
    accepted = {("zylberberg-2011-sailnet", "theta0", -7.5),  # any initial threshold
                # audio_dir="synthetic" reads no files (but a pattern must be a str)
                ("lewicki-2002-speech", "pattern", "abc"),
                ("smith-lewicki-2006-convolutional", "pattern", "abc")}
    for param in study_parameters(name):
        # set by the sweep; spiking-lca's duration is a per-point variable of the sweep's
        if param in ("quick", "seed", "duration"):
            continue
        for value in ("abc", -7.5):
            error = _check_only(name, **{param: value})
            if (name, param, value) in accepted:
                continue
            assert error is not None, f"{name} accepts {param}={value!r} in its check-only mode"
            assert param in error, error


@pytest.mark.parametrize("name", ["lewicki-2002-speech", "smith-lewicki-2006-convolutional"])
@pytest.mark.parametrize("pattern", ["", "/data/*.wav"])
def test_a_pattern_pathlib_refuses_is_named(name, pattern, tmp_path):
    # was: "Unacceptable pattern: ''" (naming nothing) and, for an absolute pattern,
    # pathlib's NotImplementedError "Non-relative patterns are unsupported" as a traceback
    (tmp_path / "a.wav").write_bytes(b"")  # only the folder's listing is looked at up front
    error = _check_only(name, audio_dir=str(tmp_path), pattern=pattern)
    assert error is not None and error.startswith(("TypeError: pattern", "ValueError: pattern"))
    assert repr(pattern) in error


def test_one_overcompleteness_is_a_level_of_its_own():
    # a sweep over overcompleteness passes one number per point (was: "'float' object
    # is not iterable")
    assert _check_only("olshausen-field-1997", overcompleteness=2) is None
    assert "overcompleteness must be an integer" in _check_only("olshausen-field-1997",
                                                               overcompleteness=2.5)


@pytest.mark.parametrize("name", ["activity-ratio", "receptive-field-mapping", "ringach-2002",
                                  "zhu-rozell-2013-ncrf"])
def test_a_bad_seed_is_refused_before_a_dictionary_file_is_read(name, tmp_path):
    # only the learning checked the seed: with a dictionary file ringach-2002 ran seed=1.5
    # (recording seed="float") and activity-ratio refused it after loading the images
    given = tmp_path / "d.nc"
    given.write_bytes(b"")  # never read: the seed is refused first
    with pytest.raises(TypeError, match=r"^seed must be None, an int, a numpy SeedSequence "
                                        r"or a numpy Generator, got 1\.5$"):
        get_study(name).run(quick=True, seed=1.5, dictionary=str(given), progress=False)


@pytest.mark.parametrize("name", ["activity-ratio", "receptive-field-mapping", "ringach-2002",
                                  "zhu-rozell-2013-ncrf"])
def test_a_dictionary_array_is_named_not_taken_for_a_file_name(name):
    # str() of the array became a 'path': OSError File name too long, or for a small array
    # FileNotFoundError "no such file: '[1. 1. 1.]'"
    from studies import get_study

    with pytest.raises(TypeError, match=r"dictionary must be the path of a saved dictionary "
                                        r"\(\.nc\), got ndarray"):
        get_study(name).run(quick=True, dictionary=np.zeros((64, 8, 8)), progress=False)


def test_results_name_an_array_image_source_by_shape():
    # the attrs held str(images): for an array, a truncated printout of its pixels
    from studies._checks import image_source_attr

    assert image_source_attr(np.zeros((3, 64, 64))) == "array of shape (3, 64, 64) (float64)"
    assert image_source_attr("skimage") == "skimage"
    assert image_source_attr(Path("/data/IMAGES.mat")) == "/data/IMAGES.mat"


@pytest.mark.parametrize("name, hint", [
    ("rozell", "did you mean 'rozell-2008-lca' or 'zhu-rozell-2013-ncrf'"),
    ("olshausen-field-96", "did you mean 'olshausen-field-1996' or 'olshausen-field-1997'"),
])
def test_an_unknown_study_suggests_the_close_names(name, hint):
    from studies import get_study

    with pytest.raises(ValueError, match=rf"unknown study '{name}' \({hint}\?\); valid"):
        get_study(name)
    assert get_study("Olshausen-Field-1996").NAME == "olshausen-field-1996"  # any case


@pytest.mark.parametrize("name", ["lewicki-2002-speech", "smith-lewicki-2006-convolutional"])
def test_a_synthetic_rate_too_low_for_its_pitches_is_refused_naming_sample_rate(name):
    """``audio_dir=synthetic`` with ``sample_rate=600``: the pre-flight passed it and the
    run failed naming ``f0_range``, harmonic_ensemble's argument, not the study's.
    The stand-in's pitches reach 400 Hz: a rate must exceed 800 Hz."""
    error = _check_only(name, sample_rate=600.0, min_centre_frequency=50.0)
    assert error is not None and re.search(
        r"sample_rate=600\.0 Hz is too low for audio_dir='synthetic'.*above 800 Hz", error)
    assert "f0_range" not in error
    with pytest.raises(ValueError, match=r"sample_rate=800\.0 Hz is too low"):
        get_study(name).run(quick=True, audio_dir="synthetic", sample_rate=800.0,
                            min_centre_frequency=50.0)
    assert _check_only(name, sample_rate=801.0, min_centre_frequency=50.0) is None


@pytest.mark.parametrize("name", list_studies())
def test_an_unknown_keyword_names_the_study_and_its_parameters(name):
    # Python's run(tau=...) raised "got an unexpected keyword argument" naming no study
    module = get_study(name)
    valid = sorted(study_parameters(name))
    misspelt = valid[-1] + "x"  # close to one real parameter
    with pytest.raises(TypeError) as info:
        module.run(quick=True, **{misspelt: 1})
    message = str(info.value)
    assert message.startswith(f"study {name!r} ({module.__name__}.run()) has no parameter "
                              f"{misspelt!r} (did you mean {valid[-1]!r}")
    assert message.endswith("valid parameters: " + ", ".join(valid))


def test_a_misspelt_cli_param_or_sweep_key_suggests_the_close_names(capsys, tmp_path):
    """``study run NAME -p n_update=500`` and a sweep spec's ``lambdas`` were refused with
    the list of parameters alone, where Python's ``run(n_update=...)`` and a misspelt
    study name got a suggestion; a name close to none gets none."""
    from v1model.cli import main

    out = tmp_path / "never"
    assert main(["study", "run", "activity-ratio", "-p", "n_update=5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ("has no parameter 'n_update' (did you mean 'n_updates' or 'n_patches'?); valid: "
            "dense_min_ratio, dictionary") in err
    assert not out.exists()
    assert main(["study", "run", "activity-ratio", "-p", "bogus=1"]) == 2
    assert "has no parameter 'bogus'; valid: " in capsys.readouterr().err
    with pytest.raises(SpecError, match=r"has no parameter 'lambdas' \(did you mean 'lam'\?\); "
                                        "valid parameters: batch_size"):
        parse_spec({"study": "lca-sweep", "sweep": {"lambdas": [0.1, 0.2]}})


PATH_CASES = [(name, param) for name, module in list_studies().items()
              for param in module.PATH_PARAMETERS]


@pytest.mark.parametrize("name, param", PATH_CASES)
def test_every_path_parameter_expands_home_and_environment_variables(name, param, tmp_path,
                                                                     monkeypatch):
    # a spec's [params] passes "$VAR/..." and "~/..." as written, for the study to expand:
    # none did, and "$DATA/imgs" was refused as "no such file or folder: '$DATA/imgs'"
    from scipy.io import savemat
    from skimage.io import imsave

    (tmp_path / "imgs").mkdir()
    # three: schultz-2014 holds out n_heldout=2 and refuses a folder with no more pictures
    for picture in ("a.png", "b.png", "c.png"):
        imsave(tmp_path / "imgs" / picture, np.zeros((64, 64), np.uint8), check_contrast=False)
    (tmp_path / "wavs").mkdir()
    (tmp_path / "wavs" / "a.wav").write_bytes(b"")  # only found up front, not read
    (tmp_path / "d.nc").write_bytes(b"")
    savemat(tmp_path / "A144.mat", {"A": np.random.default_rng(0).standard_normal((144, 144))})
    target = {"images": "imgs", "audio_dir": "wavs", "dictionary": "d.nc",
              "reference": "A144.mat"}[param]
    monkeypatch.setenv("V1MODEL_TEST_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("V1MODEL_TEST_UNSET", raising=False)
    for given in (f"$V1MODEL_TEST_DATA/{target}", f"${{V1MODEL_TEST_DATA}}/{target}",
                  f"~/{target}"):
        assert _check_only(name, **{param: given}) is None, given
    assert _check_only(name, **{param: f"$V1MODEL_TEST_UNSET/{target}"}) == (
        f"ValueError: {param}: '$V1MODEL_TEST_UNSET/{target}' uses the environment variable "
        "V1MODEL_TEST_UNSET, which is not set")


QUICK_DEFAULT_CASES = [(name, param) for name, module in list_studies().items()
                       for param in getattr(module, "QUICK_DEFAULTS", {})]


def test_the_built_in_studies_declare_their_variant_defaults():
    # what a sweep records for them (SweepSpec.study_defaults) without running the study
    assert len(QUICK_DEFAULT_CASES) >= 60
    for name, param in QUICK_DEFAULT_CASES:
        assert study_parameters(name)[param] is None, (name, param)


@pytest.mark.parametrize("name, param", QUICK_DEFAULT_CASES)
def test_run_takes_its_variant_defaults_from_quick_defaults(name, param, monkeypatch):
    # the table a sweep records is the one run reads: an unusable value put in it is
    # refused by the study's check, naming the parameter
    monkeypatch.setitem(get_study(name).QUICK_DEFAULTS, param, ("abc", "abc"))
    error = _check_only(name, progress=False)  # a one-point grid
    assert error is not None and param in error.split(":", 2)[1], error


def test_a_stop_the_method_does_not_use_is_refused_up_front():
    """smith-lewicki's lam with method='mp' (snr_db with 'fista') was ignored, recorded
    "None": a sweep's pre-flight refuses such a point, naming the parameter; unset, each
    method runs with its own default, and a value for the method that uses it passes."""
    name = "smith-lewicki-2006-convolutional"
    for method in ("mp", "fista"):
        assert _check_only(name, method=method) is None
    assert _check_only(name, method="mp", snr_db=20.0) is None
    assert _check_only(name, method="fista", lam=1.0) is None
    assert _check_only(name, method="mp", lam=1.0).startswith(
        "ValueError: lam=1.0 does not apply to method='mp'")
    assert _check_only(name, method="fista", snr_db=20.0).startswith(
        "ValueError: snr_db=20.0 does not apply to method='fista'")


def test_a_lam_that_zeroes_every_code_is_refused_up_front_naming_lam():
    """Every segment is scaled to unit RMS, so its norm is sqrt(segment_length) (8 for 64
    samples): a lam at or above it leaves every code zero. It was refused only after the
    segments were drawn, by the learner, naming its own X ("max ||x|| = 8 of X"), which a
    study user never passes; the pre-flight let it through."""
    name = "lewicki-2002-speech"
    error = _check_only(name, lam=100.0)
    assert error is not None and error.startswith(
        "ValueError: lam=100.0 is at least sqrt(segment_length) = 8, the norm of every "
        "segment of segment_length=64 samples")
    assert "well below 8" in error and " of X" not in error
    # the bound is the segments' norm: just below it passes, and it grows with the length
    assert _check_only(name, lam=7.9) is None
    assert _check_only(name, lam=11.0, segment_length=128) is None  # sqrt(128) = 11.31
    assert "sqrt(segment_length) = 11.31" in _check_only(name, lam=11.4, segment_length=128)
    # the segments have that norm (the synthetic ones too), and a run refuses it at once
    from studies._auditory import load_audio

    segments = load_audio(None, "*.wav", None, 64, 50, 0.02, np.random.default_rng(0))[0]
    np.testing.assert_allclose(np.linalg.norm(segments, axis=1), 8.0, rtol=1e-9)
    with pytest.raises(ValueError, match=r"^lam=8\.0 is at least sqrt\(segment_length\) = 8"):
        get_study(name).run(quick=True, audio_dir="synthetic", lam=8.0, progress=False)
