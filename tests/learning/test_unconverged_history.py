"""Every learner reports its solver's shortfall alike: one ConvergenceWarning per run,
naming the knob the user sets, and ``n_unconverged`` in its history, the samples of
each update's minibatch the solver left short (same name, dim, dtype and attrs)."""

import re
import warnings

import numpy as np
import pytest

from v1model.convolutional import learn_kernels
from v1model.inference import ConvergenceWarning, encode
from v1model.learning import SparseDictionaryLearner, learn_dictionary, learn_mod, learn_online
from v1model.learning.ksvd import learn_ksvd

#: the history variable every learner records, as it reads in the Dataset
LONG_NAME = ("samples of the update's minibatch whose codes the solver left short of its "
             "stopping rule (stopped at its iteration limit)")


def _half_zero(n=100, p=16, seed=0):
    """``n`` samples of which the odd rows are Gaussian and the even rows zero: a zero
    sample's codes stay zero, converged at once, and two FISTA iterations leave every
    other sample short of tol (50 of 100 at the first call: checked below)."""
    X = np.random.default_rng(seed).standard_normal((n, p))
    X[::2] = 0
    return X


def _run(learn):
    """The history of ``learn()`` and the ConvergenceWarnings it gave."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        history = learn()
    return history, [w for w in record if issubclass(w.category, ConvergenceWarning)]


def _check_variable(history):
    var = history["n_unconverged"]
    assert var.dims == ("update",) and var.dtype == np.int64
    assert var.attrs == {"long_name": LONG_NAME, "units": "1"}
    return var.values


def _coded_in_warning(caught):
    """(samples left, samples coded) that the run's one warning counts."""
    assert len(caught) == 1 and caught[0].filename == __file__
    left, coded = re.search(r"\((\d+) of the (\d+) samples coded in them\)",
                            str(caught[0].message)).groups()
    return int(left), int(coded)


def test_two_fista_iterations_leave_exactly_the_non_zero_rows_short():
    # the premise of the counts below, from the solver called by the user
    X = _half_zero()
    D = np.random.default_rng(1).standard_normal((24, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    with pytest.warns(ConvergenceWarning, match=r"with 50 of 100 samples not converged"):
        encode(X, D, "fista", lam=0.1, max_iter=2, tol=1e-2, progress=False)


# every update codes all 100 rows of X (batch_size 100 of 100, or None for the batch
# learners), so 50 of them are left short at each of the 3 updates
LEARNERS = {
    "online": lambda **kw: learn_online(_half_zero(), 24, lam=0.1, batch_size=100,
                                        n_updates=3, seed=0, progress=False, **kw)[1],
    "mod": lambda **kw: learn_mod(_half_zero(), 24, lam=0.1, n_updates=3, seed=0,
                                  progress=False, **kw)[1],
    "ksvd": lambda **kw: learn_ksvd(_half_zero(), 24, method="fista", lam=0.1, n_updates=3,
                                    seed=0, progress=False, **kw)[1],
    "estimator": lambda **kw: SparseDictionaryLearner(
        24, lam=0.1, batch_size=100, n_updates=3, seed=0, progress=False,
        **kw).fit(_half_zero()).history_,
    "partial_fit": lambda **kw: SparseDictionaryLearner(
        24, lam=0.1, batch_size=50, seed=0, progress=False,
        **kw).partial_fit(_half_zero()[:50]).partial_fit(_half_zero()[50:]).history_,
}


@pytest.mark.parametrize("name", list(LEARNERS))
def test_patch_learners_record_the_samples_short_at_each_update(name):
    history, caught = _run(lambda: LEARNERS[name](method_params={"max_iter": 2}))
    counts = _check_variable(history)
    # partial_fit: 2 chunks of 50 rows, 25 of them non-zero each (one update each)
    expected = [25, 25] if name == "partial_fit" else [50, 50, 50]
    assert counts.tolist() == expected
    if name == "partial_fit":  # a stream warns at chunks 1, 2, 4, ... (NotConvergedStream)
        assert [re.search(r"\((\d+) of the (\d+) samples coded in them\)",
                          str(w.message)).groups() for w in caught] == [("25", "50")] * 2
        return
    # the run's one warning counts the same samples, naming method_params
    assert _coded_in_warning(caught) == (counts.sum(), 300)
    assert "method_params['max_iter'] (now 2)" in str(caught[0].message)


@pytest.mark.parametrize("name", list(LEARNERS))
def test_patch_learners_that_converge_record_zero_and_do_not_warn(name):
    history, caught = _run(LEARNERS[name])
    assert caught == []
    counts = _check_variable(history)
    assert counts.tolist() == [0] * len(counts) and len(counts) in (2, 3)


def test_olshausen_field_records_each_updates_own_count_and_warns_once():
    # minibatches are drawn with replacement: every row is non-zero here, so every
    # sample of every minibatch (20) is left short by two FISTA iterations
    X = np.random.default_rng(0).standard_normal((100, 16)) * 0.3
    history, caught = _run(lambda: learn_dictionary(
        X, 24, lam=0.1, n_updates=5, batch_size=20, inference_params={"max_iter": 2},
        record_every=2, seed=0, progress=False)[1])
    # recorded updates 0, 2, 4: each its own minibatch's count, not a sum since the last
    assert history["update"].values.tolist() == [0, 2, 4]
    assert _check_variable(history).tolist() == [20, 20, 20]
    assert _coded_in_warning(caught) == (100, 100)
    assert "inference_params['max_iter'] (now 2)" in str(caught[0].message)
    history, caught = _run(lambda: learn_dictionary(
        X, 24, lam=0.1, n_updates=3, batch_size=20, seed=0, progress=False)[1])
    assert caught == [] and _check_variable(history).tolist() == [0, 0, 0]


def test_cauchy_prior_records_no_solver_shortfall():
    # sparsenet's inference (the default) stops at 10 CG steps by design: no count to record.
    # Random initial atoms: 24 drawn from these 100 samples (with replacement) left 2
    # duplicated pairs after 2 updates, whose UserWarning is not this test's matter
    X = np.random.default_rng(0).standard_normal((100, 16)) * 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none expected: neither shortfall nor duplicates
        _, history = learn_dictionary(X, 24, prior="cauchy", lam=0.022, n_updates=2,
                                      batch_size=20, init="random", seed=0, progress=False)
    assert "n_unconverged" not in history and "median_atom_norm" in history


def test_cauchy_map_records_and_warns_of_the_samples_its_iteration_limit_left_short(
        monkeypatch):
    # inference="map" runs one L-BFGS-B per minibatch to a gradient of CAUCHY_MAP_TOL or
    # CAUCHY_MAP_MAX_ITER (200) iterations: it stopped there unsaid and uncounted. A zero
    # row's codes stay 0, where its gradient is exactly 0 (converged); the Gaussian rows
    # at this scale are left short at every update (checked on scipy's result below)
    import v1model.learning.olshausen_field as olshausen_field

    calls = []
    minimize = olshausen_field.minimize

    def spy(fun, x0, **kwargs):
        res = minimize(fun, x0, **kwargs)
        calls.append((x0.reshape(20, 24), res))
        return res

    monkeypatch.setattr(olshausen_field, "minimize", spy)
    X = np.random.default_rng(0).standard_normal((100, 16)) * 10.0
    X[::2] = 0
    history, caught = _run(lambda: learn_dictionary(
        X, 24, prior="cauchy", inference="map", lam=0.022, n_updates=3, batch_size=20,
        seed=0, progress=False)[1])
    assert len(calls) == 3
    non_zero = []
    for start, res in calls:
        assert res.nit == olshausen_field.CAUCHY_MAP_MAX_ITER and res.status == 1
        rows = np.any(start != 0, axis=1)  # the minibatch's Gaussian rows (A0 = B / diag G)
        gradient = np.abs(res.jac).reshape(20, 24).max(axis=1)
        assert np.all(gradient[~rows] == 0) and np.all(gradient[rows] > 1e-3)
        non_zero.append(int(rows.sum()))
    assert 0 < min(non_zero) and max(non_zero) < 20  # some of each kind in every minibatch
    assert _check_variable(history).tolist() == non_zero
    assert _coded_in_warning(caught) == (sum(non_zero), 60)
    message = str(caught[0].message)
    assert message.startswith("learn_dictionary's Cauchy MAP (L-BFGS-B) stopped after 200 "
                              "iterations with samples not converged in 3 of 3 updates")
    assert "CAUCHY_MAP_MAX_ITER = 200" in message and "inference='sparsenet'" in message
    assert "median_atom_norm" in history and "code_var" in history


def test_cauchy_map_that_converges_records_zero_and_does_not_warn():
    X = np.random.default_rng(0).standard_normal((100, 16)) * 0.3
    history, caught = _run(lambda: learn_dictionary(
        X, 24, prior="cauchy", inference="map", lam=0.022, n_updates=2, batch_size=20,
        seed=0, progress=False)[1])
    assert caught == [] and _check_variable(history).tolist() == [0, 0]


def _images():
    return np.random.default_rng(0).standard_normal((2, 32, 32))


def test_kernel_learner_warns_once_naming_its_own_arguments():
    # it counted the crops short of tol, but silenced its solver's warnings: a run that
    # never converged said nothing
    history, caught = _run(lambda: learn_kernels(_images(), 4, 5, stride=2, lam=0.5,
                                                 n_updates=3, max_iter=2, seed=0,
                                                 progress=False))
    counts = _check_variable(history)
    assert counts.tolist() == [8, 8, 8]  # every crop of each minibatch of 8
    assert _coded_in_warning(caught) == (24, 24)
    assert str(caught[0].message).startswith(
        "convolutional fista stopped after 2 iterations with samples not converged in 3 of 3 "
        "updates")
    assert str(caught[0].message).endswith("raise max_iter (now 2) or loosen tol (now 0.001)")
    history, caught = _run(lambda: learn_kernels(_images(), 4, 5, stride=2, lam=0.5,
                                                 n_updates=3, seed=0, progress=False))
    assert caught == [] and _check_variable(history).tolist() == [0, 0, 0]


def test_kernel_learner_with_mp_names_its_target():
    history, caught = _run(lambda: learn_kernels(_images(), 4, 5, stride=2, method="mp",
                                                 snr_db=60.0, n_updates=2, max_iter=2,
                                                 seed=0, progress=False))
    assert _check_variable(history).tolist() == [8, 8]
    assert _coded_in_warning(caught) == (16, 16)
    assert str(caught[0].message).startswith(
        "convolutional matching_pursuit stopped at max_iter=2 spikes short of snr_db=60.0")
    # with the value in use, as the L1 methods' tol
    assert str(caught[0].message).endswith("raise max_iter (now 2) or lower snr_db (now 60.0)")


@pytest.mark.parametrize("method, remedy", [
    ("fista", "raise spikes_or_steps (now 2) or loosen learning_tol (now 0.001) (told)"),
    ("mp", "raise spikes_or_steps (now 2) or lower target_db (now 60.0) (told)"),
])
def test_kernel_learner_names_its_knobs_as_its_caller_does(method, remedy):
    # a study's run: its warning named learn_kernels' tol, while the study's own tol was
    # another (the evaluation's), and its learner's was learning_tol
    from v1model.inference._common import SolverSettings, solver_settings

    names = {"tol": "learning_tol", "max_iter": "spikes_or_steps", "snr_db": "target_db"}
    stop = dict(lam=0.5) if method == "fista" else dict(snr_db=60.0)
    with solver_settings(SolverSettings(None, {}, names=names, advice=" (told)")):
        _, caught = _run(lambda: learn_kernels(_images(), 4, 5, stride=2, method=method,
                                               n_updates=2, max_iter=2, seed=0,
                                               progress=False, **stop))
    assert len(caught) == 1 and str(caught[0].message).endswith(remedy), caught
    # a learner's own tally around it is no caller's names (a learner inside a learner)
    from v1model.inference._common import tally_not_converged

    with tally_not_converged(None, {}):
        _, caught = _run(lambda: learn_kernels(_images(), 4, 5, stride=2, method=method,
                                               n_updates=2, max_iter=2, seed=0,
                                               progress=False, **stop))
    assert len(caught) == 1 and "raise max_iter (now 2)" in str(caught[0].message)


def test_a_stream_saved_before_the_count_continues_with_it_marked_not_recorded():
    from v1model.learning import SparseDictionaryLearner as Learner

    X = _half_zero()
    learner = Learner(24, lam=0.1, batch_size=50, seed=0, progress=False).partial_fit(X[:50])
    old = learner.to_dataset().drop_vars("n_unconverged")  # as saved by an earlier version
    again = Learner.from_dataset(old)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again.set_params(method_params={"max_iter": 2}).partial_fit(X[50:])
    assert _check_variable(again.history_).tolist() == [-1, 25]


def test_a_stream_pickled_before_the_count_continues_with_it_marked_not_recorded():
    # its history's rows had no n_unconverged column: the next update's row did not fit
    import pickle

    from v1model.learning._history import FIELDS

    X = _half_zero()
    learner = SparseDictionaryLearner(24, lam=0.1, batch_size=50, seed=0,
                                      progress=False).partial_fit(X[:50])
    copy = pickle.loads(pickle.dumps(learner))
    history = copy._state.history
    history._rows = np.delete(history._rows, list(FIELDS).index("n_unconverged"), axis=1)
    old = pickle.loads(pickle.dumps(copy))  # as pickled by an earlier version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        old.set_params(method_params={"max_iter": 2}).partial_fit(X[50:])
    assert _check_variable(old.history_).tolist() == [-1, 25]
    np.testing.assert_array_equal(old.history_["objective"][0],
                                  learner.history_["objective"][0])


@pytest.mark.parametrize("names, remedy", [
    # a caller fixing the tol: the remedy read "raise max_iter (now 5) or loosen None"
    ({"tol": None}, "raise max_iter (now 5) (tol is fixed here) (told)"),
    ({"max_iter": None}, "loosen tol (now 0.001) (max_iter=5 is fixed here) (told)"),
    ({"max_iter": None, "tol": None}, "max_iter=5 and tol=0.001 are fixed here (told)"),
    ({"tol": "learning_tol"},
     "raise max_iter (now 5) or loosen learning_tol (now 0.001) (told)"),
])
def test_a_remedy_leaves_out_the_knobs_its_caller_fixes(names, remedy):
    from v1model.inference._common import SolverSettings

    settings = SolverSettings(None, {"tol": 1e-3}, names=names, advice=" (told)")
    assert settings.remedy("max_iter", 5) == remedy


@pytest.mark.parametrize("name", ["online", "mod", "ksvd", "estimator"])
def test_patch_learners_name_their_knobs_as_their_caller_does(name):
    # a study's run: the learner's warning named method_params['max_iter'], which the
    # study's user cannot set; now its knobs are the study's (learning_tol) or fixed
    from v1model.inference._common import SolverSettings, solver_settings

    names = {"tol": "learning_tol", "max_iter": None}
    with solver_settings(SolverSettings(None, {}, names=names, advice=" (told)")):
        _, caught = _run(lambda: LEARNERS[name](method_params={"max_iter": 2, "tol": 1e-3}))
    assert len(caught) == 1, caught
    text = str(caught[0].message)
    assert text.endswith(
        "loosen learning_tol (now 0.001) (max_iter=2 is fixed here) (told)"), text
    assert "method_params" not in text, text


def test_a_pursuits_remedy_leaves_out_a_tol_its_caller_fixes():
    # a tally whose caller fixes tol read "raise max_iter (now 3) or loosen None"
    from v1model.inference.pursuit import _remedy

    assert (_remedy(["max_iter (now 3)"], ["max_iter=3 is fixed here"], None)
            == "raise max_iter (now 3) (tol is fixed here)")
    assert (_remedy([None], ["max_iter=3 is fixed here"], None)
            == "nothing to set (max_iter=3 is fixed here; tol is fixed here)")
    assert (_remedy(["max_iter (now 3)"], ["max_iter=3 is fixed here"], "tol (now 0.1)")
            == "raise max_iter (now 3) or loosen tol (now 0.1)")
