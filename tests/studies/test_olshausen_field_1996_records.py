"""olshausen-field-1996's records say what the run used: lam's units by prior (the
Cauchy prior's lam weighs a dimensionless log(1 + (a/sigma)^2), so it is in (units of
X)^2, where `study show` and the attrs said "units of X"), the Cauchy settings that an
L1 run does not use as "None" (they were recorded as if used), and sigma, the Cauchy
prior's scale, as a parameter of its own (fixed at 0.316 before)."""

import numpy as np
import pytest

from studies import get_study
from v1model.cli import main
from v1model.io import load_dataset, save_dataset

#: the smallest run that learns and codes (a fraction of a second)
SMALL = {"quick": True, "seed": 0, "progress": False, "patch_size": 4, "n_atoms": 16,
         "n_patches": 300, "n_updates": 3, "n_eval": 5}
#: the Cauchy prior's settings that the L1 prior does not use
CAUCHY_ONLY = ("sigma", "learning_sigma", "learning_var_goal", "learning_gain_rate",
               "learning_var_eta")


def _saved(ds, tmp_path):
    return load_dataset(save_dataset(ds, tmp_path / "of96.nc"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # tiny runs: few updates, few patches
@pytest.mark.parametrize("prior", ["l1", "cauchy"])
def test_lam_units_are_those_of_the_priors_energy(tmp_path, prior):
    """lam times the prior's cost is an energy ((units of X)^2, the learner's objective):
    |a| carries the units of X under the L1 prior (as its codes do), log(1 + (a/sigma)^2)
    none under the Cauchy prior."""
    saved = _saved(get_study("olshausen-field-1996").run(prior=prior, **SMALL), tmp_path)
    energy = saved["objective"].attrs["units"]
    assert energy == "(units of X)^2"
    expected = {"l1": saved["codes"].attrs["units"], "cauchy": energy}[prior]
    assert saved["codes"].attrs["units"] == {"l1": "units of X", "cauchy": "1"}[prior]
    assert saved.attrs["lam_units"] == expected
    # the learner's history says the same (it recorded lam with no unit)
    assert saved.attrs["learning_lam_units"] == expected


def test_study_show_gives_lams_units_for_each_prior(capsys):
    assert main(["study", "show", "olshausen-field-1996"]) == 0
    lam = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("  lam = "))
    assert lam.endswith("[units of X (prior 'l1'); (units of X)^2 (prior 'cauchy')]"), lam


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_l1_run_records_the_cauchy_settings_as_none(tmp_path):
    """An L1 run recorded sigma 0.316, var_goal 0.1, gain_rate 0.02 and var_eta 0.001,
    which only the Cauchy prior uses; a Cauchy run records the values it used, and the
    L1 file still loads as a network that codes as the run's did."""
    from v1model import SparseCodingNetwork
    from v1model.inference import fista

    study = get_study("olshausen-field-1996")
    l1 = _saved(study.run(**SMALL), tmp_path)
    assert {name: l1.attrs[name] for name in CAUCHY_ONLY} == dict.fromkeys(CAUCHY_ONLY, "None")
    net = SparseCodingNetwork.from_dataset(l1)
    assert net.prior == "l1" and net.lam == l1.attrs["lam"]
    X = np.random.default_rng(1).standard_normal((6, 16))
    D = l1["dictionary"].values.reshape(16, -1)
    np.testing.assert_allclose(net.encode(X, method="fista", dtype=np.float64),
                               fista(X, D, l1.attrs["lam"], dtype=np.float64), atol=1e-10)
    cauchy = _saved(study.run(prior="cauchy", **SMALL), tmp_path)
    # sparsenet's constants (learn_dictionary's defaults)
    assert [cauchy.attrs[name] for name in CAUCHY_ONLY] == [0.316, 0.316, 0.1, 0.02, 0.001]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sigma_reaches_the_cauchy_codes(monkeypatch):
    """-p sigma= sets the Cauchy prior's scale of learning and held-out codes alike
    (recorded), checked against the MAP solver called with it directly."""
    import functools

    import v1model.learning.olshausen_field as of

    calls = []
    real = of.cauchy_inference

    @functools.wraps(real)  # encode checks its keywords against the solver's signature
    def recording(X, D, lam, sigma=0.316, **kwargs):
        A = real(X, D, lam, sigma, **kwargs)
        calls.append((np.array(X), np.array(D), lam, sigma, kwargs.get("tol"), A))
        return A

    monkeypatch.setattr(of, "cauchy_inference", recording)
    ds = get_study("olshausen-field-1996").run(prior="cauchy", sigma=0.5, **SMALL)
    assert ds.attrs["sigma"] == ds.attrs["learning_sigma"] == 0.5
    (X, D, lam, sigma, tol, A), = calls  # the held-out codes
    assert (lam, sigma, tol) == (ds.attrs["lam"], 0.5, 1e-6)
    np.testing.assert_allclose(ds["codes"].values, A, rtol=1e-6, atol=1e-7)
    # the MAP at sigma 0.5 is not the one at the default 0.316
    other = real(X, D, lam, 0.316, tol=tol)
    assert np.abs(other - A).max() > 1e-3


def test_sigma_is_refused_where_it_does_nothing_or_is_out_of_range(capsys):
    study = get_study("olshausen-field-1996")
    with pytest.raises(ValueError, match=r"sigma=0\.5 has no effect with prior='l1'"):
        study.run(sigma=0.5, **SMALL)
    with pytest.raises(ValueError, match=r"sigma must be a positive finite number, got -1"):
        study.run(prior="cauchy", sigma=-1, **SMALL)
    assert main(["study", "run", "olshausen-field-1996", "--quick", "-p", "prior=cauchy",
                 "-p", "sigma=0", "--out", "/nonexistent/never"]) == 2
    assert "sigma must be a positive finite number, got 0" in capsys.readouterr().err
