"""``-p KEY=VALUE`` of a text parameter (a path or a name) on the command line: the
text given, never a number or a bool made of it (``v1model study run``)."""

import pytest


@pytest.mark.parametrize("text", ["2024", "1e3", "1_000", ".5", "true", "[1,2]"])
def test_a_folder_named_like_a_number_reaches_a_path_parameter_as_text(run_arguments, monkeypatch,
                                                                       tmp_path, text):
    """-p audio_dir=1e3 (a folder of WAVs named 1e3) looked for the folder '1000.0', and
    -p images=2024 was refused as the int 2024 ("images must be 'skimage', a path ...")."""
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("lewicki-2002-speech", f"audio_dir={text}", f"pattern={text}")
    assert kwargs["audio_dir"] == text and kwargs["pattern"] == text
    kwargs = run_arguments("olshausen-field-1996", f"images={text}")
    assert kwargs["images"] == text


def test_other_parameters_still_read_numbers(run_arguments, monkeypatch, tmp_path):
    """A parameter that takes a number or a text (learning_rate: float or "auto") still
    gets the number; a number parameter too."""
    monkeypatch.chdir(tmp_path)
    kwargs = run_arguments("gregor-lecun-2010-lista", "learning_rate=1e-3", "lam=.5")
    assert kwargs["learning_rate"] == 1e-3 and kwargs["lam"] == 0.5
    kwargs = run_arguments("gregor-lecun-2010-lista", "learning_rate=auto")
    assert kwargs["learning_rate"] == "auto"
