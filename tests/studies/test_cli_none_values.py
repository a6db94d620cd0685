"""``-p KEY=none`` on the command line: None for a parameter that takes None and is not
text (``v1model study run``)."""

import pytest

from studies import get_study
from v1model import cli


class _Stop(Exception):
    pass


@pytest.mark.parametrize("text", ["None", "none", "NONE", "null"])
def test_none_reaches_a_parameter_documented_float_or_none(run_arguments, monkeypatch, tmp_path,
                                                           text):
    """schultz-2014's matched_rate is `float or None` (default 0.1): -p matched_rate=None was
    passed on as the text 'None' ("matched_rate must be a real number, got 'None'")."""
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("schultz-2014-replicating-kernels", f"matched_rate={text}")
    assert kwargs["matched_rate"] is None


def test_none_reaches_a_parameter_whose_default_is_none(run_arguments, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("lca-sweep", "n_updates=none", "lam=0.3")
    assert kwargs["n_updates"] is None and kwargs["lam"] == 0.3


@pytest.mark.parametrize("text", ["none", "None", "null", "NULL"])
def test_null_means_none_for_a_text_parameter_too(run_arguments, monkeypatch, tmp_path, text):
    """The README: "`none` (`None`, `null`)" are one value. For ringach-2002's reference,
    "none" leaves Olshausen's basis out, while "null" reached the study as JSON's None,
    which looks for the basis beside the project: the opposite. Every spelling now reaches
    a text parameter as text, and the studies read them alike."""
    from studies._auditory import audio_folder
    from studies._learned import a144_path, default_updates

    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("ringach-2002", f"reference={text}", f"dictionary={text}")
    assert kwargs["reference"] == text and kwargs["dictionary"] == text
    assert a144_path(kwargs["reference"]) is None  # left out, not looked for
    # a dictionary of "null" is learned, as None and "none" are (quick: 1,000 updates)
    assert default_updates(None, quick=True, dictionary=text) == 1000
    with pytest.raises(ValueError, match="none is bundled"):  # not "no such folder"
        audio_folder(run_arguments("lewicki-2002-speech", f"audio_dir={text}")["audio_dir"],
                     "*.wav")


def test_text_parameters_keep_none_as_text(run_arguments, monkeypatch, tmp_path):
    """ringach-2002 reads reference='none' itself (leave Olshausen's basis out), which
    differs from None (look for it beside the project): the text is passed on as before;
    a parameter that does not take None gets the text too (and the study names it)."""
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("ringach-2002", "reference=none", "dictionary=None")
    assert kwargs["reference"] == "none" and kwargs["dictionary"] == "None"
    kwargs = run_arguments("lca-sweep", "lam=none")
    assert kwargs["lam"] == "none"


@pytest.mark.parametrize("text", ["none", "None", "null"])
def test_spiking_lca_reads_target_none_as_its_default(run_arguments, monkeypatch, tmp_path,
                                                      text):
    """spiking-lca's target is ``str | None`` (shown as ``target = None``): the CLI passes
    ``-p target=none`` on as text, which the study refused ("target must be one of
    'cython', 'numpy', 'cpp_standalone'; got 'none'") although None is its default. The
    study reads it as None, as the other text parameters do; a wrong name is still
    refused, naming target and the allowed values. No simulation runs: the recorder
    stands in for the checks of the simulation's arguments."""
    import v1model.spiking.lca as spiking

    monkeypatch.chdir(tmp_path)
    # passed on as text, "null" too (JSON's None, which it was)
    assert run_arguments("spiking-lca", f"target={text}")["target"] == text
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    seen = []

    def record(*args, target, **kwargs):
        seen.append(target)
        raise _Stop

    monkeypatch.setattr(spiking, "simulation_parameters", record)
    with pytest.raises(_Stop):
        cli.main(["study", "run", "spiking-lca", "--quick", "-p", f"target={text}"])
    with pytest.raises(_Stop):
        get_study("spiking-lca").run(quick=False, target=text)
    assert seen == ["numpy", "cython"]  # the quick and the full default
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"target must be one of 'cython', 'numpy', "
                                         r"'cpp_standalone'; got 'nonsense'"):
        get_study("spiking-lca").run(quick=True, target="nonsense")


def test_a_mat_file_without_images_is_reported_unquoted(tmp_path, capsys):
    """A .mat without an IMAGES key (A144.mat, the sparsenet basis, given as --images)
    raised KeyError, whose str() is the repr of its message: the command printed
    `v1model: error: "images: '...' has no key ..."`, quoted, its quotes escaped (it is a
    ValueError now; the command still prints the message as it is)."""
    from scipy.io import savemat

    path = tmp_path / "A144.mat"
    savemat(path, {"A": [[1.0, 2.0], [3.0, 4.0]]})
    code = cli.main(["study", "run", "rozell-2008-lca", "--quick", "--images", str(path),
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err == (f"v1model: error: images: {str(path)!r} has no key IMAGES or IMAGESr or "
                   "IMAGES_RAW; it holds ['A']"), err
