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


def test_a_relative_reference_and_dictionary_are_recorded_as_absolute_paths(tmp_path,
                                                                           monkeypatch):
    """``-p reference=data/A144.mat -p dictionary=of96.nc`` recorded both paths as typed
    (attrs ``a144``, ``dictionary``, ``source``), relative to a folder the result does
    not name."""
    import numpy as np
    from scipy.io import savemat

    from stimuli import gabor_patch
    from studies import get_study
    from v1model import SparseCodingNetwork

    atoms = np.stack([gabor_patch(6, t, 0.25, sigma_x=1.5, sigma_y=1.5).ravel()
                      for t in (0.0, 1.0, 2.0)])
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    (tmp_path / "data").mkdir()
    savemat(tmp_path / "data" / "A144.mat", {"A": atoms.T})  # one atom per column
    SparseCodingNetwork(atoms, patch_shape=(6, 6)).save(tmp_path / "of96.nc")
    monkeypatch.chdir(tmp_path)
    ds = get_study("ringach-2002").run(quick=True, dictionary="of96.nc",
                                       reference="data/A144.mat", n_starts=1, progress=False)
    root = tmp_path.resolve()
    assert ds.attrs["a144"] == str(root / "data" / "A144.mat")
    assert ds.attrs["dictionary"] == ds.attrs["source"] == str(root / "of96.nc")


def test_fraction_gabor_is_over_the_atoms_with_a_fit(tmp_path, monkeypatch):
    """Constant atoms get no Gabor fit (NaN parameters): they were counted as "not
    Gabor-like", so two clean Gabors and two constant atoms gave fraction_gabor 0.5
    (and "50% ≥ 0.8" in the figure), where both fitted atoms are Gabors."""
    import matplotlib
    import numpy as np

    import v1model.io
    from stimuli import gabor_patch
    from studies import get_study
    from v1model import SparseCodingNetwork

    atoms = np.stack([gabor_patch(8, t, 0.25, sigma_x=1.5, sigma_y=2.0).ravel()
                      for t in (0.0, 1.0)] + [np.ones(64)] * 2)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    SparseCodingNetwork(atoms, patch_shape=(8, 8)).save(tmp_path / "n.nc")
    study = get_study("ringach-2002")
    with pytest.warns(RuntimeWarning, match="NaN"):  # fit_gabor's word on constant atoms
        ds = study.run(quick=True, dictionary=str(tmp_path / "n.nc"), reference="none",
                       n_starts=1, progress=False)
    assert np.isnan(ds["r2"].values[2:]).all() and (ds["r2"].values[:2] > 0.99).all()
    assert ds.attrs["learned_n_fitted"] == 2 and ds.attrs["learned_n_unfitted"] == 2
    assert ds.attrs["learned_fraction_gabor"] == 1.0
    assert ds.attrs["learned_fraction_reliable"] == 1.0
    titles = []
    save = v1model.io.save_figure

    def keep_titles(fig, path, **kwargs):
        titles.extend(ax.get_title() for ax in fig.axes)
        return save(fig, path, **kwargs)

    monkeypatch.setattr(v1model.io, "save_figure", keep_titles)
    matplotlib.use("Agg")
    study.plot(ds, tmp_path)
    assert any("of the 2 fitted, 100% ≥ 0.8, 100% reliable" in t for t in titles), titles
