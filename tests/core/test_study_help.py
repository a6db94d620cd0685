"""What a new user meets first: `v1model study run NAME --help` and `study show NAME`
list a study's parameters with the values a default of None stands for and their units,
and a bad --out is refused in the words a sweep's output is."""

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from studies import get_study, list_studies, study_parameters
from v1model.cli import main


def _help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_study_run_name_help_lists_the_study_parameters(capsys):
    # it printed the common flags only: a student found rozell-2008-lca's parameters by
    # passing a wrong -p, and `study show` was named nowhere in the help
    code, out, err = _help(["study", "run", "rozell-2008-lca", "--help"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: v1model study run ")
    assert "study show NAME" in out
    study = get_study("rozell-2008-lca")
    quick, full = study.QUICK_DEFAULTS["patch_size"]
    assert f"\n  patch_size = None (--quick: {quick}, full: {full}) [pixel]\n" in out
    assert f"\n  tau = {study_parameters('rozell-2008-lca')['tau']!r} [s]\n" in out
    # the flags' order does not matter, -h is --help
    assert _help(["study", "run", "--quick", "rozell-2008-lca", "-h"], capsys)[1] == out


def test_study_run_help_without_a_name_is_the_command_help(capsys):
    code, out, err = _help(["study", "run", "--help"], capsys)
    assert code == 0 and err == ""
    assert "--param KEY=VALUE" in out and "parameters and defaults" not in out


def test_study_run_help_of_an_unknown_study_names_it_and_exits_2(capsys):
    code, out, err = _help(["study", "run", "rozel", "--help"], capsys)
    assert code == 2
    assert out.startswith("usage: v1model study run ")
    assert "v1model: error: unknown study 'rozel' (did you mean 'rozell-2008-lca'" in err


@pytest.mark.parametrize("name", sorted(list_studies()))
def test_study_show_gives_the_quick_and_full_values_and_the_units(name, capsys):
    # `patch_size = None` said nothing of the 8 or 16 pixels a run uses, nor `tau = 0.01`
    # that it is in seconds, though QUICK_DEFAULTS and PARAMETER_UNITS knew both
    module = get_study(name)
    assert main(["study", "show", name]) == 0
    lines = {line.split(" = ", 1)[0].strip(): line for line in
             capsys.readouterr().out.splitlines() if line.startswith("  ") and " = " in line}
    defaults = study_parameters(name)
    variants = getattr(module, "QUICK_DEFAULTS", {})
    units = getattr(module, "PARAMETER_UNITS", {})
    for key, default in defaults.items():
        if key in ("quick", "seed") or key in getattr(module, "REQUIRED", ()):
            continue
        line = lines[key]
        assert line.startswith(f"  {key} = {default!r}"), line
        if default is None and key in variants:
            quick, full = variants[key]
            shown = (f"both variants: {full!r}" if quick == full
                     else f"--quick: {quick!r}, full: {full!r}")
            assert f"({shown}" in line, line
        else:
            assert "--quick:" not in line and "both variants" not in line, line
        unit = units.get(key, "1")
        assert line.endswith(f" [{unit}]") == (unit != "1"), line


def test_an_out_under_a_file_is_refused_as_a_sweep_output_is(tmp_path, capsys):
    # "--out: cannot create the folder '.../afile/sub': [Errno 20] Not a directory: ..."
    # kept the errno main() promises to drop, and "exists and is not a folder" differed
    # from a sweep's words for the same fault
    afile = tmp_path / "afile"
    afile.write_text("")
    for out, message in ((afile / "sub", f"cannot write in {str(afile / 'sub')!r}: "
                                         f"{os.strerror(errno.ENOTDIR)}"),
                         (afile, f"{str(afile)!r} is a file; a study run writes into a "
                                 "folder")):
        assert main(["study", "run", "lca-sweep", "--quick", "--out", str(out)]) == 2
        assert capsys.readouterr().err == f"v1model: error: --out: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_folder_that_cannot_be_made_is_named_without_the_errno(tmp_path, monkeypatch,
                                                                    capsys):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "mkdir", full)
    out = tmp_path / "new"
    assert main(["study", "run", "lca-sweep", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"v1model: error: --out: cannot create the folder {str(out)!r}: "
                   f"No space left on device: {str(out)!r}\n")


@pytest.mark.parametrize("argv", [["-h", "rozell-2008-lca"], ["--help", "--quick",
                                                             "rozell-2008-lca"],
                                  ["-h", "rozell-2008-lca", "-p", "lam=1"]])
def test_help_before_the_name_lists_the_study_parameters_too(argv, capsys):
    # `study run -h NAME` printed the general help only: argparse acted on -h before it
    # had read NAME
    code, out, err = _help(["study", "run", *argv], capsys)
    assert code == 0 and err == ""
    assert out == _help(["study", "run", "rozell-2008-lca", "--help"], capsys)[1]
    assert "\n  patch_size = None (--quick: 8, full: 12) [pixel]\n" in out


def test_help_before_an_unknown_name_or_a_refused_flag(capsys):
    code, out, err = _help(["study", "run", "-h", "rozel"], capsys)
    assert code == 2 and out.startswith("usage: v1model study run ")
    assert "v1model: error: unknown study 'rozel'" in err
    # a flag refused after the help: the help is still given, as it stood
    code, out, err = _help(["study", "run", "-h", "--seed", "x", "rozell-2008-lca"], capsys)
    assert code == 0 and err == "" and out.startswith("usage: v1model study run ")
    assert "parameters and defaults" not in out


def test_a_refused_parameter_is_not_announced_as_running(tmp_path, capsys):
    # "running rozell-2008-lca (quick), seed 0" came before the study's checks, so every
    # refused -p read as a run begun, then its error
    out = tmp_path / "r"
    assert main(["study", "run", "rozell-2008-lca", "--quick", "--out", str(out),
                 "-p", "lam=-1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "v1model: error: lam must be a positive finite number, got -1\n"
    assert not out.exists()


def test_a_run_is_announced_once_its_parameters_passed(tmp_path, monkeypatch, capsys):
    import studies.lca_sweep as study
    from v1model.sweep.preflight import checks_parameters, parameters_checked

    calls = []

    @checks_parameters
    def run(quick=False, seed=0, **params):
        calls.append(capsys.readouterr().out)  # printed before the checks
        parameters_checked()
        calls.append(capsys.readouterr().out)  # printed once they passed
        parameters_checked()  # a study that runs another: not announced twice
        return xr.Dataset({"d": ("atom", np.arange(2.0), {"units": "1"})})

    monkeypatch.setattr(study, "run", run)
    monkeypatch.setattr(study, "plot", lambda ds, outdir: [])
    assert main(["study", "run", study.NAME, "--quick", "--seed", "3",
                 "--out", str(tmp_path / "r")]) == 0
    assert calls == ["", f"running {study.NAME} (quick), seed 3\n"]
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'r' / study.NAME}.nc\n")


def test_a_study_without_the_checks_mark_is_announced_before_it_runs(tmp_path, monkeypatch,
                                                                      capsys):
    import studies.lca_sweep as study

    seen = []
    monkeypatch.setattr(study, "run", lambda quick=False, seed=0: seen.append(
        capsys.readouterr().out) or xr.Dataset({"d": ("atom", np.arange(2.0))}))
    monkeypatch.setattr(study, "plot", lambda ds, outdir: [])
    assert main(["study", "run", study.NAME, "--out", str(tmp_path / "r")]) == 0
    assert seen == [f"running {study.NAME}, seed 0\n"]


@pytest.mark.parametrize("name", sorted(list_studies()))
def test_every_default_none_says_what_it_stands_for(name, capsys):
    # rozell-2008-lca's `n_atoms = None` said nothing of its 128 (quick) or 288 atoms, nor
    # `prewhitened = None` anywhere that it is guessed from the images: every default None
    # is in QUICK_DEFAULTS (the values), NONE_MEANS (why no one value) or REQUIRED
    module = get_study(name)
    variants = getattr(module, "QUICK_DEFAULTS", {})
    means = getattr(module, "NONE_MEANS", {})
    required = set(getattr(module, "REQUIRED", ()))
    nones = {key for key, default in study_parameters(name).items() if default is None}
    assert nones <= set(variants) | set(means) | required, nones - set(variants) - set(
        means) - required
    # NONE_MEANS only for a None without values, in words
    assert set(means) <= nones - set(variants) - required, set(means)
    assert all(isinstance(text, str) and text.strip() for text in means.values()), means
    assert main(["study", "show", name]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("  ") and " = None" in line.split(" [")[0]]
    for line in shown:
        key = line.split(" = ", 1)[0].strip()
        assert key in required or line.startswith(f"  {key} = None ("), line
        if key in means:
            assert f"  {key} = None ({means[key]})" in line, line


def test_zhu_rozell_shows_the_patch_of_its_own_quick_dictionary(capsys):
    # zhu-rozell-2013-ncrf --quick learns a 12x12 dictionary of its own (QUICK_PATCH_SIZE),
    # but `study show` said "learned, as the olshausen-field-1996 study does", whose quick
    # run learns the 8x8 one the other analysis studies share
    import studies.zhu_rozell_2013_ncrf as study

    assert main(["study", "show", study.NAME]) == 0
    line, = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("  dictionary = None")]
    side = study.QUICK_PATCH_SIZE
    assert f"{side}x{side} patches and {side * side} atoms with --quick" in line, line
    assert "16x16 and 256 atoms full" in line, line
