"""lam's unit, recorded as ``lam_units`` wherever lam is: the learners' histories had it
(8968108) while learn_dictionary's history, learn_kernels' result and encode's labelled
codes recorded lam with no unit, and olshausen-field-1996 wrote its own text for it.

Each unit is checked by scaling: X ten times larger with lam ten times larger (the L1
prior, "units of X") or a hundred times larger (the Cauchy prior, "(units of X)^2")
gives the same codes (times 10 where they carry X's units) and 100x the energy."""

import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.inference import encode
from v1model.learning import lam_units, learn_dictionary

from studies.olshausen_field_1996 import LAM_UNITS


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 16))
    D0 = rng.standard_normal((16, 16))
    return X, D0 / np.linalg.norm(D0, axis=1, keepdims=True)


def test_lam_units_by_prior_and_its_refusal():
    assert lam_units() == lam_units("l1") == "units of X"
    assert lam_units("cauchy") == "(units of X)^2"
    assert lam_units("l1", "mV") == "mV" and lam_units("cauchy", "mV") == "(mV)^2"
    with pytest.raises(ValueError, match=r"^prior must be one of \('l1', 'cauchy'\), "
                                         r"got 'laplace'$"):
        lam_units("laplace")
    # the study's text is this one (it had its own dict of the same words)
    assert LAM_UNITS == {"l1": "units of X", "cauchy": "(units of X)^2"}


@pytest.mark.parametrize("threshold", ["soft", "hard"])
def test_an_l1_history_records_lam_in_units_of_x(data, threshold):
    # lam |a| (soft) and lam^2/2 ||a||_0 (hard) with codes in units of X: X and lam x10
    # give the first update's codes x10 and energy x100 (both coded with D0)
    X, D0 = data
    kw = dict(n_updates=1, batch_size=50, seed=0, progress=False, D0=D0, threshold=threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one update: "did not settle" and the like
        _, small = learn_dictionary(X, 16, lam=0.5, **kw)
        _, large = learn_dictionary(10 * X, 16, lam=5.0, **kw)
    for history in (small, large):
        assert history.attrs["lam_units"] == "units of X"
        assert history["objective"].attrs["units"] == "(units of X)^2"
    np.testing.assert_allclose(large["objective"], 100 * small["objective"], rtol=1e-8)
    np.testing.assert_allclose(large["mean_abs_code"], 10 * small["mean_abs_code"],
                               rtol=1e-8)


def test_a_cauchy_history_records_lam_in_units_of_x_squared(data):
    # the Cauchy prior's atoms (gains) carry X's units and its codes none: X, D0 x10 and
    # lam x100 learn the same codes, atoms x10 and 100x the energy, update after update
    X, D0 = data
    kw = dict(prior="cauchy", inference="map", n_updates=3, batch_size=50, seed=0,
              progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D_small, small = learn_dictionary(X, 16, lam=0.1, D0=D0, **kw)
        D_large, large = learn_dictionary(10 * X, 16, lam=10.0, D0=10 * D0, **kw)
    for history in (small, large):
        assert history.attrs["lam_units"] == "(units of X)^2"
    np.testing.assert_allclose(D_large, 10 * D_small, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(large["objective"], 100 * small["objective"], rtol=1e-6)
    # lam x10 alone (as if in units of X) does not
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, wrong = learn_dictionary(10 * X, 16, lam=1.0, D0=10 * D0, **kw)
    assert not np.allclose(wrong["objective"], 100 * small["objective"], rtol=1e-2)


def test_a_network_continuing_a_history_saved_without_lam_units_names_no_change(data):
    # a history from before lam had its unit, continued: "lam_units" was named among
    # changed_between_calls (["None", "units of X"] per call), though nothing changed
    from v1model import SparseCodingNetwork

    X, _ = data
    for prior, unit in (("l1", "units of X"), ("cauchy", "(units of X)^2")):
        net = SparseCodingNetwork(n_atoms=16, lam=0.1, prior=prior)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net.learn(X, n_updates=1, batch_size=50, seed=0, progress=False)
            del net.history_.attrs["lam_units"]
            history = net.learn(X, n_updates=1, batch_size=50, seed=1, progress=False)
        assert history.attrs["changed_between_calls"] == "seed", history.attrs
        assert history.attrs["lam_units"] == unit
        assert "lam_units_per_call" not in history.attrs


def test_encodes_labelled_codes_carry_lam_units_those_of_x(data):
    # codes of unit-norm atoms and lam both carry X's units: X and lam x10 give codes x10
    X, D0 = data
    small = encode(xr.DataArray(X[:5], dims=("sample", "feature")), D0, "fista", lam=0.3,
                   dtype=np.float64, tol=1e-12, progress=False)
    large = encode(xr.DataArray(10 * X[:5], dims=("sample", "feature")), D0, "fista",
                   lam=3.0, dtype=np.float64, tol=1e-12, progress=False)
    assert small.attrs["lam_units"] == large.attrs["lam_units"] == "units of X"
    assert small.attrs["lam_units"] == small.attrs["units"]
    np.testing.assert_allclose(large.values, 10 * small.values, rtol=1e-6, atol=1e-9)
    # X's own units name lam's, as they name the codes'
    in_mv = encode(xr.DataArray(X[:5], dims=("sample", "feature"), attrs={"units": "mV"}),
                   D0, "fista", lam=0.3, progress=False)
    assert in_mv.attrs["lam_units"] == in_mv.attrs["units"] == "mV"
    # no lam, no unit for it
    omp = encode(xr.DataArray(X[:5], dims=("sample", "feature")), D0, "omp", n_nonzero=2,
                 progress=False)
    assert "lam" not in omp.attrs and "lam_units" not in omp.attrs


def test_a_networks_codes_give_lam_the_unit_of_its_prior(data):
    from v1model import SparseCodingNetwork

    X, D0 = data
    Xl = xr.DataArray(X[:3], dims=("sample", "feature"))
    net = SparseCodingNetwork(dictionary=D0, lam=0.3)
    codes = net.encode(Xl, method="fista", progress=False)
    assert codes.attrs["lam"] == 0.3 and codes.attrs["lam_units"] == "units of X"
