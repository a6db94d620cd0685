"""A SparseCodingNetwork used as a project uses it: loaded, its spec changed,
learned again and saved; each step checked against an independent reference."""

import json

import numpy as np
import pytest
import xarray as xr

from v1model import SparseCodingNetwork


def _dictionary(rng, n_atoms=12, n_features=16):
    D = rng.standard_normal((n_atoms, n_features))
    return D / np.linalg.norm(D, axis=1, keepdims=True)


@pytest.mark.parametrize("name, value", [
    ("lam", -1.0), ("lam", np.nan), ("tau", 0.0), ("tau", -0.01), ("sigma", -1.0),
    ("threshold", "bogus"), ("prior", "gaussian"),
])
def test_a_spec_value_set_on_a_loaded_network_is_checked(tmp_path, rng, name, value):
    """Set unchecked, net.lam = -1 was saved and the file then refused by load (and
    sigma = -1 on an L1 network encoded without a word): refused when set, naming it."""
    net = SparseCodingNetwork.load(
        SparseCodingNetwork(_dictionary(rng), lam=0.1).save(tmp_path / "net.nc"))
    before = getattr(net, name)
    with pytest.raises(ValueError, match=name):
        setattr(net, name, value)
    assert getattr(net, name) == before
    back = SparseCodingNetwork.load(net.save(tmp_path / "again.nc"))
    assert back.params() == net.params()


def test_a_hard_threshold_cannot_be_set_on_a_cauchy_network(rng):
    """The constructor refuses threshold='hard' with prior='cauchy' (its MAP codes are
    signed and unthresholded); set afterwards, encode dropped it unsaid and save wrote a
    file load refused. Either order of setting is refused."""
    net = SparseCodingNetwork(_dictionary(rng), prior="cauchy")
    with pytest.raises(ValueError, match="threshold='hard' applies to prior='l1' only"):
        net.threshold = "hard"
    assert net.threshold == "soft"
    hard = SparseCodingNetwork(_dictionary(rng), threshold="hard")
    # the message names the attribute set (it named threshold, "leave threshold='soft'",
    # when prior was set) and the order of the two changes that works
    with pytest.raises(ValueError, match=r"prior='cauchy' needs threshold='soft' .* the "
                                         r"network's threshold is 'hard': set "
                                         r"threshold='soft' first, then prior"):
        hard.prior = "cauchy"
    assert hard.prior == "l1"


def test_a_cauchy_network_switches_to_a_hard_l1_one_and_back_in_the_order_named(rng):
    net = SparseCodingNetwork(_dictionary(rng), prior="cauchy")
    with pytest.raises(ValueError, match="the network's prior is 'cauchy': set prior='l1' "
                                         "first, then threshold"):
        net.threshold = "hard"
    net.prior = "l1"
    net.threshold = "hard"
    assert (net.prior, net.threshold) == ("l1", "hard")
    net.threshold = "soft"
    net.prior = "cauchy"
    assert (net.prior, net.threshold) == ("cauchy", "soft")


@pytest.mark.parametrize("name", ["lam", "tau", "sigma", "threshold", "prior"])
def test_deleting_a_spec_value_is_refused_naming_it(rng, name):
    """``del net.lam`` raised a bare "AttributeError: __delete__"; now it names the
    attribute and the value stays."""
    net = SparseCodingNetwork(_dictionary(rng), lam=0.1)
    before = getattr(net, name)
    with pytest.raises(AttributeError, match=f"cannot delete '{name}'.*set another value"):
        delattr(net, name)
    assert getattr(net, name) == before


def test_a_lam_changed_on_a_loaded_network_codes_the_lasso_and_is_saved(tmp_path, rng):
    """A valid change is kept: the codes are scikit-learn's Lasso at the new lam
    (alpha = lam / n_features), and the file saved after it holds the new lam."""
    from sklearn.linear_model import Lasso

    D = _dictionary(rng)
    X = rng.standard_normal((3, 16))
    net = SparseCodingNetwork.load(SparseCodingNetwork(D, lam=0.1).save(tmp_path / "a.nc"))
    net.lam = np.float32(0.25)
    assert type(net.lam) is float and net.lam == 0.25
    codes = net.encode(X, method="active_set", dtype=np.float64, tol=1e-8)
    lasso = Lasso(alpha=0.25 / 16, fit_intercept=False, tol=1e-12, max_iter=100_000)
    want = np.array([lasso.fit(D.T, x).coef_ for x in X])
    np.testing.assert_allclose(codes, want, atol=1e-6)
    assert SparseCodingNetwork.load(net.save(tmp_path / "b.nc")).lam == 0.25


def test_init_given_to_a_network_that_has_a_dictionary_is_refused(tmp_path, rng):
    """init="random" on a loaded network was ignored: learning went on from the loaded
    atoms (and init="bogus" passed). Refused, and the dictionary is left as it was."""
    X = rng.standard_normal((200, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    net.learn(X, n_updates=3, seed=0, progress=False, init="random")  # the first start
    assert net.history_.attrs["init"] == "random"
    net = SparseCodingNetwork.load(net.save(tmp_path / "net.nc"))
    before = net.dictionary.copy()
    for init in ("random", "data", "bogus"):
        with pytest.raises(ValueError, match=f"init={init!r} has no effect"):
            net.learn(X, n_updates=3, seed=0, progress=False, init=init)
    np.testing.assert_array_equal(net.dictionary, before)
    assert int(net.history_.attrs["n_updates"]) == 3


def test_learn_dictionary_refuses_init_random_with_d0(rng):
    from v1model.learning import learn_dictionary

    X = rng.standard_normal((200, 16))
    with pytest.raises(ValueError, match="init='random' has no effect with D0"):
        learn_dictionary(X, 12, D0=_dictionary(rng), init="random", n_updates=2,
                         progress=False)
    with pytest.raises(ValueError, match="init must be one of"):
        learn_dictionary(X, 12, D0=_dictionary(rng), init="bogus", n_updates=2,
                         progress=False)


def test_a_cauchy_network_switched_to_l1_learns_on(tmp_path, rng):
    """Its code_var_ (the gain adaptation's state) was passed to the L1 learner, which
    refused it ("code_var applies to prior='cauchy' only ... leave it None"), though
    the caller gave none. Now the L1 call learns unit-norm atoms and drops the state."""
    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.022, prior="cauchy")
    net.learn(X, n_updates=5, seed=0, progress=False)
    assert net.code_var_ is not None
    net = SparseCodingNetwork.load(net.save(tmp_path / "cauchy.nc"))
    net.prior, net.lam = "l1", 0.1
    net.learn(X, n_updates=5, seed=1, progress=False)
    np.testing.assert_allclose(np.linalg.norm(net.dictionary, axis=1), 1.0, rtol=1e-12)
    assert net.code_var_ is None
    back = SparseCodingNetwork.load(net.save(tmp_path / "l1.nc"))
    assert back.code_var_ is None and back.prior == "l1"
    assert list(back.history_.attrs["updates_per_call"]) == [5, 5]


def test_a_spec_value_set_on_a_convolutional_network_is_checked(tmp_path, rng):
    from v1model.convolutional import ConvolutionalNetwork

    net = ConvolutionalNetwork(rng.standard_normal((4, 5, 5)), stride=2, lam=0.5)
    for name, value in (("lam", -1.0), ("tau", 0.0), ("threshold", "bogus")):
        with pytest.raises(ValueError, match=name):
            setattr(net, name, value)
    net.tau = 0.02
    back = ConvolutionalNetwork.load(net.save(tmp_path / "conv.nc"))
    assert (back.lam, back.threshold, back.tau) == (0.5, "soft", 0.02)


def test_a_dictionary_learned_twice_records_each_calls_settings(tmp_path, rng):
    """Learned at lam 0.15 (lr 3, seed 0), saved, loaded, learned on at lam 0.2 (lr 1,
    seed 1): the file said lam = 0.2, lr = 1, seed = 1 for all 9 updates, and the
    first call's settings were lost. Each changed setting is kept per call, through
    netCDF and zarr, and a third call extends the lists."""
    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.15)
    net.learn(X, n_updates=5, lr=3.0, seed=0, progress=False)
    assert "changed_between_calls" not in net.history_.attrs  # one call: nothing to say
    net = SparseCodingNetwork.load(net.save(tmp_path / "first.nc"))
    net.lam = 0.2
    net.learn(X, n_updates=4, lr=1.0, seed=1, progress=False)
    for path in (tmp_path / "twice.nc", tmp_path / "twice.zarr"):
        attrs = SparseCodingNetwork.load(net.save(path)).history_.attrs
        assert attrs["changed_between_calls"] == "lam, lr, lr_final, seed"
        np.testing.assert_array_equal(attrs["lam_per_call"], [0.15, 0.2])
        np.testing.assert_array_equal(attrs["lr_per_call"], [3.0, 1.0])
        np.testing.assert_array_equal(attrs["seed_per_call"], [0, 1])
        np.testing.assert_array_equal(attrs["updates_per_call"], [5, 4])
        assert attrs["lam"] == 0.2 and "batch_size_per_call" not in attrs
    net = SparseCodingNetwork.load(tmp_path / "twice.nc")
    net.prior, net.lam = "cauchy", 0.022
    net.learn(X, n_updates=2, lr=1.0, seed=None, progress=False)
    attrs = SparseCodingNetwork.load(net.save(tmp_path / "thrice.nc")).history_.attrs
    np.testing.assert_array_equal(attrs["lam_per_call"], [0.15, 0.2, 0.022])
    assert "prior" in attrs["changed_between_calls"].split(", ")
    assert "batch_size" not in attrs["changed_between_calls"].split(", ")  # never changed
    np.testing.assert_array_equal(attrs["lr_per_call"], [3.0, 1.0, 1.0])  # 1.0 again
    # text per call is saved as JSON (netCDF attrs hold no list of strings)
    import json

    assert json.loads(attrs["prior_per_call"]) == ["l1", "l1", "cauchy"]
    assert json.loads(attrs["seed_per_call"]) == [0, 1, "None"]


def test_a_setting_of_an_earlier_call_only_is_kept_per_call(tmp_path, rng):
    """An L1 call records inference_params.tol, a Cauchy call has no such setting: the
    per-call lists covered the newest call's keys alone, so continuing with
    prior="cauchy" lost the first call's tol. It is listed, None for the call without
    it, named as changed, kept through netCDF, and a third call extends the list."""
    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    tol = net.learn(X, n_updates=3, batch_size=20, seed=0, progress=False).attrs[
        "inference_params.tol"]
    net.prior = "cauchy"
    attrs = net.learn(X, n_updates=3, batch_size=20, seed=0, progress=False).attrs
    assert "inference_params.tol" not in attrs  # the newest call's own attrs
    # "None" for the call without it, the list mixing it with numbers as JSON text
    assert json.loads(attrs["inference_params.tol_per_call"]) == [tol, "None"]
    assert "inference_params.tol" in attrs["changed_between_calls"].split(", ")
    net = SparseCodingNetwork.load(net.save(tmp_path / "twice.nc"))
    net.prior = "l1"
    attrs = net.learn(X, n_updates=2, batch_size=20, seed=0, progress=False).attrs
    assert json.loads(attrs["inference_params.tol_per_call"]) == [tol, "None", tol]
    assert attrs["prior_per_call"] == ["l1", "cauchy", "l1"]


def test_a_history_continued_with_another_prior_saves_with_plain_to_netcdf(tmp_path, rng):
    """The history of an L1 call continued with prior="cauchy" listed
    inference_params.tol as [tol, None]: the Dataset learn returns failed xarray's own
    to_netcdf ("Object dtype dtype('O') has no native HDF5 equivalent")."""
    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    tol = net.learn(X, n_updates=3, batch_size=20, seed=0, progress=False).attrs[
        "inference_params.tol"]
    net.prior = "cauchy"
    history = net.learn(X, n_updates=3, batch_size=20, seed=0, progress=False)
    history.to_netcdf(tmp_path / "history.nc")
    with xr.open_dataset(tmp_path / "history.nc") as back:
        assert json.loads(back.attrs["inference_params.tol_per_call"]) == [tol, "None"]
        assert list(back.attrs["prior_per_call"]) == ["l1", "cauchy"]


def test_per_call_lists_hold_plain_numbers_after_a_load(tmp_path, rng):
    """A loaded history's lam is np.float64(0.15) (netCDF gives numpy scalars back), and
    continuing at lam 0.2 gave lam_per_call [np.float64(0.15), 0.2] (seed_per_call
    [np.int64(0), 1]): the lists hold the plain Python numbers of each call, and save
    and reload equal, in netCDF and zarr."""
    X = rng.standard_normal((200, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.15)
    net.learn(X, n_updates=3, seed=0, progress=False)
    net = SparseCodingNetwork.load(net.save(tmp_path / "first.nc"))
    assert isinstance(net.history_.attrs["lam"], np.floating)  # as a file gives it back
    net.lam = 0.2
    attrs = net.learn(X, n_updates=3, seed=1, progress=False).attrs
    lists = {key: value for key, value in attrs.items() if key.endswith("_per_call")}
    assert {"lam_per_call", "seed_per_call", "updates_per_call"} <= set(lists)
    for key, values in lists.items():
        assert isinstance(values, list), key
        assert all(type(v) in (int, float) for v in values), (key, values)
    assert lists["lam_per_call"] == [0.15, 0.2] and lists["seed_per_call"] == [0, 1]
    for path in (tmp_path / "twice.nc", tmp_path / "twice.zarr"):
        back = SparseCodingNetwork.load(net.save(path)).history_.attrs
        for key, values in lists.items():
            np.testing.assert_array_equal(back[key], values, err_msg=key)



def test_a_count_one_call_did_not_record_stays_an_integer_count(tmp_path, rng):
    """An L1 call records n_unconverged per update, a Cauchy call (sparsenet's
    inference, a fixed count of steps by design) does not: continued, the count became
    floats with NaN for the Cauchy updates, which its int64 encoding could not save
    ("invalid value encountered in cast"). The Cauchy updates get -1 (not recorded),
    the L1 counts are kept, and the file saves and loads them without a warning."""
    import warnings

    X = rng.standard_normal((300, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    counts = net.learn(X, n_updates=3, batch_size=20, seed=0,
                       progress=False)["n_unconverged"].values.copy()
    net.prior, net.lam = "cauchy", 0.022
    history = net.learn(X, n_updates=2, batch_size=20, seed=0, progress=False)
    assert history["n_unconverged"].dtype == np.int64
    np.testing.assert_array_equal(history["n_unconverged"].values, list(counts) + [-1, -1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = SparseCodingNetwork.load(net.save(tmp_path / "mixed.nc")).history_
    assert loaded["n_unconverged"].dtype == np.int64
    np.testing.assert_array_equal(loaded["n_unconverged"].values, list(counts) + [-1, -1])
    assert loaded["n_unconverged"].attrs["units"] == "1"
