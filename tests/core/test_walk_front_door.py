"""A walk through the front door (the network, the command line, io and validation)
as a computational neuroscientist would take it: each test pins a fault found there."""

import errno
import os
import re

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork
from v1model.cli import main
from v1model.io import clean_attrs, load_dataset, save_dataset
from v1model.validation import check_array, check_choice


@pytest.fixture()
def dictionary():
    D = np.random.default_rng(0).standard_normal((32, 16))
    return D / np.linalg.norm(D, axis=1, keepdims=True)


# ---------------------------------------------------------------- the network
def test_a_failed_learn_leaves_the_network_as_it_was(rng):
    # the first call inferred patch_shape (8, 8) from X, then failed on n_updates; the
    # network kept (8, 8) and refused the next call's 10x10 patches
    net = SparseCodingNetwork(n_atoms=4, lam=0.1)
    with pytest.raises(ValueError, match="n_updates must be >= 1, got -1"):
        net.learn(rng.standard_normal((200, 64)), n_updates=-1)
    assert net.patch_shape is None and net.n_features is None
    net.learn(rng.standard_normal((200, 100)), n_updates=2, seed=0, progress=False)
    assert net.patch_shape == (10, 10) and net.dictionary.shape == (4, 100)


def test_n_atoms_that_contradicts_the_dictionary_is_refused(dictionary):
    # n_atoms=10 beside a dictionary of 32 atoms gave a network of 32 atoms, unsaid
    with pytest.raises(ValueError, match=r"n_atoms=10 but the dictionary has 32 atoms"):
        SparseCodingNetwork(dictionary, n_atoms=10)
    with pytest.raises(ValueError, match="n_atoms must be >= 1, got -3"):
        SparseCodingNetwork(dictionary, n_atoms=-3)
    with pytest.raises(TypeError, match="n_atoms must be an integer, got 'abc'"):
        SparseCodingNetwork(dictionary, n_atoms="abc")
    assert SparseCodingNetwork(dictionary, n_atoms=32).n_atoms == 32


def test_saved_atoms_are_called_unit_norm_only_when_they_are(dictionary):
    # a dictionary of norm 1.7 given by hand was saved as "unit-norm atoms"
    long_name = SparseCodingNetwork(1.7 * dictionary).to_dataset()["dictionary"].attrs[
        "long_name"]
    assert "unit-norm" not in long_name and "1.7 to 1.7" in long_name
    unit = SparseCodingNetwork(dictionary).to_dataset()["dictionary"].attrs["long_name"]
    assert unit == "receptive fields (unit-norm atoms)"
    # the norms are what they were: the ODE codes are the LASSO codes of 1.7 D
    assert np.allclose(np.linalg.norm(SparseCodingNetwork(1.7 * dictionary).dictionary,
                                      axis=1), 1.7, rtol=1e-12)


def test_a_dataset_is_named_with_what_to_pass_and_its_atoms_are_taken(dictionary):
    ds = SparseCodingNetwork(dictionary).to_dataset()
    # xarray's own "cannot directly convert an xarray.Dataset into a numpy array"
    with pytest.raises(TypeError, match=r"dictionary must be an array .*got an "
                                        r"xarray.Dataset .*from_dataset"):
        SparseCodingNetwork(ds)
    # its atoms as images (were refused: "pass D.reshape(32, 16) with patch_shape=(4, 4)")
    net = SparseCodingNetwork(ds["dictionary"].values)
    np.testing.assert_array_equal(net.dictionary, dictionary)
    assert net.patch_shape == (4, 4)


# ----------------------------------------------------------------- validation
def test_arrays_numpy_cannot_convert_are_named(dictionary):
    # np.iscomplexobj ran before the conversion's try: numpy's and xarray's messages
    # came out, naming no argument
    with pytest.raises(TypeError, match=r"X must be a numeric array, got \[\[1.0, 2.0\], "):
        check_array([[1.0, 2.0], [3.0]], "X")
    with pytest.raises(TypeError, match="X must be a numeric array, got <xarray.Dataset>") as info:
        check_array(xr.Dataset({"a": ("x", [1.0])}), "X")
    assert "\n" not in str(info.value)  # the Dataset's repr, on one line
    net = SparseCodingNetwork(dictionary)
    with pytest.raises(TypeError, match="X must be a numeric array"):
        net.encode([[0.0] * 16, [0.0] * 15])
    # complex values are still refused as complex, lists of floats still accepted
    with pytest.raises(TypeError, match="X must be real"):
        check_array([1 + 1j], "X")
    np.testing.assert_array_equal(check_array([[1, 2]], "X"), [[1.0, 2.0]])


def test_strings_and_dates_are_not_numbers():
    # they were cast to floats unsaid ("2020-01-01" became 18262.0 days)
    for value in (np.array(["1.5", "2"]), np.array(["2020-01-01"], dtype="datetime64[D]"),
                  np.array([1], dtype="timedelta64[s]"), ["0.1", "0.2"]):
        with pytest.raises(TypeError, match="X must be a numeric array"):
            check_array(value, "X")
    # bools and ints stay numbers
    np.testing.assert_array_equal(check_array(np.array([True, False]), "X"), [1.0, 0.0])


def test_check_choice_names_an_array_it_is_given():
    # numpy's "The truth value of an array with more than one element is ambiguous"
    with pytest.raises(ValueError, match=r"threshold must be one of 'soft', 'hard'; got "
                                         r"array of shape \(2,\)"):
        check_choice(np.array(["soft", "hard"]), "threshold", ("soft", "hard"))
    assert check_choice("soft", "threshold", ("soft", "hard")) == "soft"


# ------------------------------------------------------------------------ io
def test_a_128_bit_seed_saves_and_comes_back_exactly(tmp_path, rng):
    # numpy's advice for seeds is secrets.randbits(128): learning took it, and save
    # failed with HDF5's "Object dtype dtype('O') has no native HDF5 equivalent"
    seed = 2**100 + 12345
    net = SparseCodingNetwork(n_atoms=4, lam=0.1)
    net.learn(rng.standard_normal((200, 16)), n_updates=2, seed=seed, progress=False)
    back = SparseCodingNetwork.load(net.save(tmp_path / "n.nc"))
    assert int(back.history_.attrs["seed"]) == seed
    np.testing.assert_array_equal(back.dictionary, net.dictionary)
    assert clean_attrs({"a": 2**64, "b": [2**70, 1], "c": 2**64 - 1, "d": -(2**63)}) == {
        "a": str(2**64), "b": "[1180591620717411303424, 1]", "c": 2**64 - 1, "d": -(2**63)}


def test_a_netcdf3_file_from_another_tool_loads(tmp_path):
    # xarray's scipy engine (and R's ncdf4, NCO, ...) write netCDF-3 "classic" files:
    # they were refused as "cannot read ... as a netCDF file: file signature not found"
    path = tmp_path / "classic.nc"
    values = np.arange(12.0).reshape(3, 4)
    xr.Dataset({"dictionary": (("atom", "pixel"), values)},
               attrs={"source": "other tool"}).to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    ds = load_dataset(path)
    np.testing.assert_array_equal(ds["dictionary"].values, values)
    assert ds.attrs["source"] == "other tool"
    # and as a network file it is refused for what it is, not as unreadable
    with pytest.raises(ValueError, match="ds is not a saved network"):
        SparseCodingNetwork.load(path)


def test_a_folder_given_to_load_is_named_as_such(tmp_path):
    # HDF5's message ran over two lines with a time stamp and a file descriptor
    with pytest.raises(ValueError, match=r"^path: '.*' is a folder, not a netCDF file "
                                         r"\(a zarr store's name ends in .zarr\)$"):
        load_dataset(tmp_path)
    save_dataset(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "r.zarr")
    assert load_dataset(tmp_path / "r.zarr")["a"].values.tolist() == [1.0]


# ----------------------------------------------------------------------- cli
def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_images_given_twice_is_refused(tmp_path, capsys):
    # --images replaced -p images=... without a word
    code, out, err = _run(capsys, "study", "run", "olshausen-field-1996", "--quick",
                          "--images", "skimage", "-p", "images=/data/olshausen",
                          "--out", str(tmp_path / "o"))
    assert code == 2 and out == ""
    assert "images is given twice (--images 'skimage' and -p images='/data/olshausen')" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, flag", [(["--out", ""], "--out"),
                                        (["--images", ""], "--images"),
                                        (["-p", "images="], "-p images")])
def test_an_empty_out_or_images_is_refused(tmp_path, monkeypatch, capsys, argv, flag):
    # --out "" (an unset shell variable) wrote to ./results/NAME; an empty image source
    # became Path(""), the current folder, whose pictures (if any) were learned from
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "study", "run", "olshausen-field-1996", "--quick",
                          *argv, "-p", "n_updates=1")
    assert code == 2 and out == ""
    assert f"v1model: error: {flag} is empty" in err
    assert not (tmp_path / "results").exists()


def test_a_run_that_diverges_says_what_to_lower_without_a_traceback(tmp_path, capsys):
    # FloatingPointError ("SAILnet diverged ...; lower beta=...") left main as a traceback
    out_dir = tmp_path / "sail"
    code, out, err = _run(capsys, "study", "run", "zylberberg-2011-sailnet", "--quick",
                          "-p", "beta=1e6", "-p", "progress=false", "--out", str(out_dir))
    assert code == 1
    # learn_sailnet's saturation warning (units firing at every step) may come first: the
    # error is the last thing said, and every line is v1model's own
    lines = err.strip().splitlines()
    assert lines[-1].startswith("v1model: error: SAILnet diverged at update")
    assert all(line.startswith(("v1model: warning:", "v1model: error:")) for line in lines)
    assert "lower beta=1000000.0" in lines[-1] and "Traceback" not in err
    assert not out_dir.exists()  # the refused run leaves no folder


@pytest.mark.parametrize("raised, code, message", [
    # an error message of v1model's own, with its errno: the text says it all
    (lambda p: OSError(errno.EROFS, f"cannot write {str(p)!r}: Read-only file system; ..."), 1,
     "cannot write '{p}': Read-only file system; ..."),
    # the raw error of open() (in read_text): its text and the file it names stay
    (lambda p: p.read_text(), 2, "No such file or directory: '{p}'"),
    (lambda p: OSError(errno.EACCES, "Permission denied", str(p)), 1, "Permission denied: '{p}'"),
    (lambda p: os.replace(p, p.with_name("b")), 2,
     "No such file or directory: '{p}' -> '{b}'"),
])
def test_os_errors_are_printed_without_their_errno_number(monkeypatch, capsys, tmp_path,
                                                          raised, code, message):
    """"v1model: error: [Errno 30] cannot write ...": the number tells a user nothing."""
    from v1model import cli

    missing = tmp_path / "a"

    def study_list():
        exc = raised(missing)  # open() and os.replace raise themselves
        raise exc

    monkeypatch.setattr(cli, "_study_list", study_list)
    assert main(["study", "list"]) == code
    assert capsys.readouterr().err == ("v1model: error: " + message.format(
        p=missing, b=missing.with_name("b")) + "\n")


def test_output_into_a_closed_pipe_stops_quietly():
    # `v1model sweep status F | head` printed "v1model: error: [Errno 32] Broken pipe"
    # and Python's own complaint at exit; a shell tool stops quietly (exit code 1, as
    # Python's documentation recommends)
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import sys; from v1model.cli import main; "
                             "sys.exit(main(['study', 'list']))"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is printed
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert stderr == ""


def test_ctrl_c_in_a_study_run_is_one_line_and_exit_code_130(monkeypatch, capsys):
    # a KeyboardInterrupt left main() as a traceback into whatever was computing
    import v1model.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_study_run", interrupted)
    assert main(["study", "run", "olshausen-field-1996", "--quick"]) == 130
    assert capsys.readouterr().err == "\nv1model: interrupted\n"


def test_study_show_lists_every_parameter_with_its_default_and_meaning(capsys):
    # `study run NAME --help` shows only the common flags: a student found a study's
    # parameters only by passing a wrong -p
    import inspect

    from studies import get_study, study_parameters

    assert main(["study", "show", "receptive-field-mapping"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("receptive-field-mapping: ")
    for key, default in study_parameters("receptive-field-mapping").items():
        if key not in ("quick", "seed"):
            # then the quick and full values of a None and the unit, if any
            assert (f"\n  {key} = {default!r}\n" in out
                    or f"\n  {key} = {default!r} (" in out
                    or f"\n  {key} = {default!r} [" in out), key
    assert "\n  quick = " not in out and "\n  seed = " not in out
    # the docstring's Parameters section, without the sections after it
    doc = inspect.getdoc(get_study("receptive-field-mapping").run)
    assert "  n_sample_units : int, default 16\n" in out
    assert "Returns" in doc and "Returns" not in out
    assert main(["study", "show", "no-such-study"]) == 2
    assert "unknown study 'no-such-study'" in capsys.readouterr().err


@pytest.mark.parametrize("name, images", [("olshausen-field-1996", True),
                                          ("lewicki-2002-speech", False)])
def test_study_show_usage_offers_images_to_the_studies_that_take_them(name, images, capsys):
    """The usage line left out --images, which the image studies take (and the others
    refuse: "does not take images")."""
    assert main(["study", "show", name]) == 0
    usage = capsys.readouterr().out.splitlines()[1]
    assert usage.startswith(f"usage: v1model study run {name} [--quick]")
    assert ("[--images PATH]" in usage) == images, usage


@pytest.mark.parametrize("name", ["lewicki-2002-speech", "smith-lewicki-2006-convolutional"])
def test_study_show_marks_a_parameter_the_run_cannot_do_without_as_required(name, capsys):
    """``audio_dir`` defaults to None, which stops the run ("this study learns from
    recorded speech"), yet `study show` listed ``audio_dir = None`` under "a default of
    None means the study picks one"."""
    from studies import get_study

    assert main(["study", "show", name]) == 0
    out = capsys.readouterr().out
    # a default None says what it stands for (NONE_MEANS), then its unit
    assert "\n  audio_dir = (required)\n" in out, out
    assert re.search(r"\n  sample_rate = None \(the first file's rate[^\n]*\) \[Hz\]\n", out), out
    with pytest.raises(ValueError, match="audio_dir"):  # what "required" stands for
        get_study(name).run(quick=True)
