"""``run(..., progress=False)`` of every study draws no progress bar at all (the CLI's
``-p progress=false`` and a sweep's points rely on it).

Several studies called inner functions (patch sampling, lca, fista, Gabor fits, the
convolutional solvers, a second spiking run) without ``progress``: those drew their
automatic bar once they had run ``PROGRESS_DELAY`` s, with progress=False too. The delay
is set to 0 here, so that any bar left on shows on stderr even in these short runs.
"""

import pytest

from studies import get_study, list_studies

#: Other code paths with calls of their own: (study, parameters added to its smallest).
VARIANTS = [("smith-lewicki-2006-convolutional", {"method": "fista"}),  # encode, not MP
            ("olshausen-field-1996", {"prior": "cauchy"})]  # the Cauchy MAP codes

CASES = ([pytest.param(name, {}, id=name) for name in list_studies()]
         + [pytest.param(name, extra, id=f"{name}-{'-'.join(map(str, extra.values()))}")
            for name, extra in VARIANTS])


# sizes this small leave solvers short of convergence or rates too coarse: warned, not
# what is checked here
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name, extra", CASES)
def test_progress_false_draws_no_bar(name, extra, monkeypatch, capsys, smallest):
    import v1model.progress

    params = {**smallest(name), **extra}  # SMALL in tests/studies/conftest.py
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)  # automatic bars at once
    capsys.readouterr()
    get_study(name).run(quick=True, seed=0, progress=False, **params)
    err = capsys.readouterr().err
    assert "%|" not in err, err[-500:]
