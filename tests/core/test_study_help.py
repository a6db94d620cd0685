"""What a new user meets first: `v1model study run NAME --help` and `study show NAME`
list a study's parameters with the values a default of None stands for and their units,
and a bad --out is refused in the words a sweep's output is."""

import errno
import os
from pathlib import Path

import pytest

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
