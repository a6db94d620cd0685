"""ringach-2002 without A144.mat: the warning names the places a user can act on
(relative to the current directory, beside a checkout; never a folder inside an
installed package); the command line prints it without echoing its own
``ds = module.run(...)``."""

import warnings

import pytest


def test_missing_a144_warning_names_user_paths_and_how_to_pass_one(tmp_path, monkeypatch):
    import studies._learned as learned

    cwd = tmp_path / "x" / "y"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(learned, "SHARED_DATA", None)  # an installed package: no checkout
    with pytest.warns(UserWarning, match="A144.mat") as record:
        assert learned.a144_path(None) is None
    message = str(record[0].message)
    assert "'../shared/data/olshausen/A144.mat' (from the current directory" in message
    assert str(cwd) in message and "site-packages" not in message
    assert message.count("A144.mat'") == 1  # the one place looked at
    assert "-p reference=PATH" in message and "reference=none" in message
    # a checkout adds the place beside it, as an absolute path
    monkeypatch.setattr(learned, "SHARED_DATA", tmp_path / "checkout" / ".." / "shared")
    with pytest.warns(UserWarning, match="beside the checkout") as record:
        learned.a144_path(None)
    assert repr(str(tmp_path / "shared" / "olshausen" / "A144.mat")) in str(record[0].message)


def test_the_command_line_prints_warnings_without_a_source_line(monkeypatch, capsys):
    """Python's default display echoed the CLI's ``ds = module.run(...)`` under the
    study's warning: the command prints the message and its category alone."""
    import v1model.cli as cli

    def study_run(args):
        warnings.warn("reference: no A144.mat found", UserWarning, stacklevel=2)
        return 0

    monkeypatch.setattr(cli, "_study_run", study_run)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["study", "run", "ringach-2002"]) == 0
    err = capsys.readouterr().err
    assert err == "v1model: warning: reference: no A144.mat found (UserWarning)\n"
