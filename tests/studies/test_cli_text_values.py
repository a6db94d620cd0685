"""``-p KEY=VALUE`` of a text parameter (a path or a name) on the command line: the
text given, never a number or a bool made of it (``v1model study run``)."""

import functools

import pytest

from studies import get_study
from v1model import cli


class _Stop(Exception):
    pass


def _given(monkeypatch, name, *params):
    """The keyword arguments ``v1model study run NAME --quick -p ...`` passes to the
    study's run (replaced by a recorder with run's own signature)."""
    study = get_study(name)
    calls = []

    @functools.wraps(study.run)
    def record(**kwargs):
        calls.append(kwargs)
        raise _Stop

    monkeypatch.setattr(study, "run", record)
    argv = ["study", "run", name, "--quick"]
    for p in params:
        argv += ["-p", p]
    with pytest.raises(_Stop):
        cli.main(argv)
    return calls[0]


@pytest.mark.parametrize("text", ["2024", "1e3", "1_000", ".5", "true", "[1,2]"])
def test_a_folder_named_like_a_number_reaches_a_path_parameter_as_text(monkeypatch, tmp_path,
                                                                       text):
    """-p audio_dir=1e3 (a folder of WAVs named 1e3) looked for the folder '1000.0', and
    -p images=2024 was refused as the int 2024 ("images must be 'skimage', a path ...")."""
    monkeypatch.chdir(tmp_path)
    kwargs = _given(monkeypatch, "lewicki-2002-speech", f"audio_dir={text}",
                    f"pattern={text}")
    assert kwargs["audio_dir"] == text and kwargs["pattern"] == text
    kwargs = _given(monkeypatch, "olshausen-field-1996", f"images={text}")
    assert kwargs["images"] == text


def test_other_parameters_still_read_numbers(monkeypatch, tmp_path):
    """A parameter that takes a number or a text (learning_rate: float or "auto") still
    gets the number; a number parameter too."""
    monkeypatch.chdir(tmp_path)
    kwargs = _given(monkeypatch, "gregor-lecun-2010-lista", "learning_rate=1e-3",
                    "lam=.5")
    assert kwargs["learning_rate"] == 1e-3 and kwargs["lam"] == 0.5
    kwargs = _given(monkeypatch, "gregor-lecun-2010-lista", "learning_rate=auto")
    assert kwargs["learning_rate"] == "auto"
