"""``-p KEY=none`` on the command line: None for a parameter that takes None and is not
text (``v1model study run``)."""

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


@pytest.mark.parametrize("text", ["None", "none", "NONE", "null"])
def test_none_reaches_a_parameter_documented_float_or_none(monkeypatch, tmp_path, text):
    """schultz-2014's matched_rate is `float or None` (default 0.1): -p matched_rate=None was
    passed on as the text 'None' ("matched_rate must be a real number, got 'None'")."""
    monkeypatch.chdir(tmp_path)
    kwargs = _given(monkeypatch, "schultz-2014-replicating-kernels", f"matched_rate={text}")
    assert kwargs["matched_rate"] is None


def test_none_reaches_a_parameter_whose_default_is_none(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    kwargs = _given(monkeypatch, "lca-sweep", "n_updates=none", "lam=0.3")
    assert kwargs["n_updates"] is None and kwargs["lam"] == 0.3


def test_text_parameters_keep_none_as_text(monkeypatch, tmp_path):
    """ringach-2002 reads reference='none' itself (leave Olshausen's basis out), which
    differs from None (look for it beside the project): the text is passed on as before;
    a parameter that does not take None gets the text too (and the study names it)."""
    monkeypatch.chdir(tmp_path)
    kwargs = _given(monkeypatch, "ringach-2002", "reference=none", "dictionary=None")
    assert kwargs["reference"] == "none" and kwargs["dictionary"] == "None"
    kwargs = _given(monkeypatch, "lca-sweep", "lam=none")
    assert kwargs["lam"] == "none"
