"""SparseCodingNetwork: one spec, ODE backend against the solvers, netCDF round trip."""

import re
import warnings

import numpy as np
import pytest

from v1model import SparseCodingNetwork
from v1model.inference import lasso_objective


@pytest.fixture()
def dictionary(rng):
    D = rng.standard_normal((32, 16))
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def test_encode_ode_reaches_lasso_optimum(dictionary, rng):
    from sklearn.decomposition import sparse_encode

    X = rng.standard_normal((20, 16))
    net = SparseCodingNetwork(dictionary, lam=0.3)
    ref = sparse_encode(X, dictionary, algorithm="lasso_cd", alpha=0.3, max_iter=10000)
    f_ref = lasso_objective(X, dictionary, ref, 0.3)
    for method in ("lca", "fista", "active_set"):
        A = net.encode(X, method=method, dtype=np.float64)
        assert A.shape == (20, 32)
        assert (lasso_objective(X, dictionary, A, 0.3) - f_ref) / f_ref < 1e-4


def test_greedy_methods_through_the_network(dictionary, rng):
    from v1model.inference import encode

    net = SparseCodingNetwork(dictionary, lam=0.3, threshold="hard")
    X = rng.standard_normal((6, 16))
    A = net.encode(X, method="omp", n_nonzero=3)
    np.testing.assert_array_equal(A, encode(X, dictionary, "omp", n_nonzero=3))
    assert (np.count_nonzero(A, axis=1) <= 3).all()
    with pytest.raises(ValueError, match="threshold='hard' needs method='lca'"):
        net.encode(X, method="fista")


def test_nonneg_threshold_gives_nonnegative_codes(dictionary, rng):
    from sklearn.decomposition import sparse_encode

    net = SparseCodingNetwork(dictionary, lam=0.1, threshold="nonneg")
    X = rng.standard_normal((10, 16))
    # the non-negative LASSO optimum (scikit-learn's coordinate descent, positive=True)
    ref = sparse_encode(X, dictionary, algorithm="lasso_cd", alpha=0.1, positive=True,
                        max_iter=10000)
    f_ref = lasso_objective(X, dictionary, ref, 0.1)
    # default float32 solvers; lca's default tolerance is held to 1e-3 of the optimum
    # (measured gaps: lca 1.5e-4, fista 6e-7)
    for method, tol in (("lca", 1e-3), ("fista", 1e-4)):
        A = net.encode(X, method=method)
        assert A.min() >= 0 and A.max() > 0
        gap = (lasso_objective(X, dictionary, A.astype(np.float64), 0.1) - f_ref) / f_ref
        assert gap <= tol, method


def test_cauchy_network_encodes_with_map(dictionary, rng):
    from v1model.learning import cauchy_inference

    net = SparseCodingNetwork(dictionary, lam=0.05, prior="cauchy", sigma=0.3)
    X = rng.standard_normal((5, 16))
    np.testing.assert_allclose(net.encode(X), cauchy_inference(X, dictionary, 0.05, 0.3))


def test_save_load_round_trip(tmp_path, dictionary, rng):
    net = SparseCodingNetwork(dictionary, lam=0.2, threshold="hard", tau=0.02)
    path = net.save(tmp_path / "net.nc")
    back = SparseCodingNetwork.load(path)
    np.testing.assert_array_equal(back.dictionary, net.dictionary)
    assert back.params() == net.params()
    X = rng.standard_normal((4, 16))
    np.testing.assert_array_equal(back.encode(X, n_steps=50), net.encode(X, n_steps=50))
    ds = back.to_dataset()
    assert ds["dictionary"].dims == ("atom", "y", "x")
    assert ds.attrs["lam"] == 0.2


def test_learn_then_save_keeps_history(tmp_path, rng):
    X = rng.standard_normal((400, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    hist = net.learn(X, n_updates=10, seed=0, progress=False)
    assert hist.sizes["update"] == 10
    back = SparseCodingNetwork.load(net.save(tmp_path / "n.nc"))
    np.testing.assert_allclose(back.history_["objective"], hist["objective"])
    # the learning parameters come back with the history, apart from the spec
    for key in ("n_updates", "batch_size", "lr", "lr_final", "inference", "penalty", "seed",
                "record_every"):
        assert back.history_.attrs[key] == hist.attrs[key], key
    assert back.history_.attrs["seed"] == 0  # the learning can be repeated from the file
    assert back.history_.attrs["n_updates"] == 10 and "kind" not in back.history_.attrs
    assert back.params() == net.params()


def test_a_second_learn_continues_the_history(tmp_path, rng):
    """The history held only the second call's updates, numbered from 0 again, though
    that call continued from the first one's dictionary; save() kept only those."""
    from v1model.learning import learn_dictionary

    X = rng.standard_normal((400, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    first = net.learn(X, n_updates=5, seed=0, progress=False)
    assert "updates_per_call" not in first.attrs  # one call: n_updates says it all
    D1 = net.dictionary.copy()
    hist = net.learn(X, n_updates=7, seed=1, lr=0.5, progress=False)
    # the second call alone, from the first call's dictionary: the reference for its part
    _, ref = learn_dictionary(X, 8, lam=0.1, n_updates=7, seed=1, lr=0.5, D0=D1,
                              progress=False)
    assert hist is net.history_
    np.testing.assert_array_equal(hist["update"], np.arange(12))
    np.testing.assert_array_equal(hist["objective"][:5], first["objective"])
    np.testing.assert_array_equal(hist["objective"][5:], ref["objective"])
    np.testing.assert_array_equal(hist["learning_rate"][5:], ref["learning_rate"])
    assert hist.attrs["n_updates"] == 12 and list(hist.attrs["updates_per_call"]) == [5, 7]
    assert hist.attrs["init"] == "data" and hist.attrs["lr"] == 0.5  # first start, last call
    assert first.sizes["update"] == 5  # the first call's return value is left alone
    back = SparseCodingNetwork.load(net.save(tmp_path / "n.nc"))
    np.testing.assert_array_equal(back.history_["objective"], hist["objective"])
    assert back.history_.attrs["n_updates"] == 12
    # a third call after loading carries on from the saved history
    back.learn(X, n_updates=2, seed=2, progress=False)
    np.testing.assert_array_equal(back.history_["update"], np.arange(14))
    assert list(back.history_.attrs["updates_per_call"]) == [5, 7, 2]
    # another record_every changes the spacing midway: each call's is kept
    back.learn(X, n_updates=7, seed=3, record_every=3, progress=False)
    np.testing.assert_array_equal(back.history_["update"][14:], [14, 17, 20])
    assert back.history_.attrs["record_every"] == 3
    assert list(back.history_.attrs["record_every_per_call"]) == [1, 1, 1, 3]


def test_a_second_cauchy_learn_continues_the_gain_adaptation(tmp_path, rng):
    """A second learn() restarted the running coefficient variance of the gain adaptation
    at var_goal, which pulled the gains off their course: two calls (with a save and load
    between them) now learn what one uninterrupted run does, as sparsenet kept running."""
    from v1model.learning import learn_dictionary

    X = 0.3 * rng.standard_normal((2000, 16))
    spec = dict(lam=0.022, prior="cauchy")
    learning = dict(gain_rate=0.2, progress=False)  # a fast gain adaptation shows it
    D, ref = learn_dictionary(X, 8, n_updates=20, seed=np.random.default_rng(5), **spec,
                              **learning)
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), **spec)
    stream = np.random.default_rng(5)  # one stream: the single run's start and batches
    first = net.learn(X, n_updates=10, seed=stream, **learning)
    assert "code_var" not in first and net.code_var_.shape == (8,)
    back = SparseCodingNetwork.load(net.save(tmp_path / "n.nc"))
    np.testing.assert_array_equal(back.code_var_, net.code_var_)
    back.learn(X, n_updates=10, seed=stream, **learning)
    # the second call takes the gains from the atoms' lengths: equal up to rounding, which
    # differs between CPUs' BLAS kernels (1.4e-10 on an AMD EPYC, 2e-12 on others); a
    # restarted adaptation is off by ~4e-2
    np.testing.assert_allclose(back.dictionary, D, rtol=0, atol=1e-8)
    np.testing.assert_allclose(back.code_var_, ref["code_var"], rtol=1e-8)
    np.testing.assert_allclose(back.history_["objective"], ref["objective"], rtol=1e-8)
    with pytest.raises(ValueError, match=r"code_var is not a learn\(\) argument"):
        back.learn(X, n_updates=1, code_var=np.ones(8), progress=False)
    # an L1 network has no gain adaptation, and nothing of it is saved
    l1 = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    l1.learn(X, n_updates=2, seed=0, progress=False)
    assert l1.code_var_ is None and "code_var" not in l1.to_dataset()


def test_call_arguments_override_the_spec(dictionary, rng):
    from v1model.inference import encode, lca

    X = rng.standard_normal((10, 16))
    net = SparseCodingNetwork(dictionary, lam=0.3)
    np.testing.assert_array_equal(
        net.encode(X, method="fista", positive=True),
        encode(X, dictionary, "fista", lam=0.3, positive=True))
    assert (net.encode(X, method="fista", positive=True) >= 0).all()
    np.testing.assert_array_equal(net.encode(X, lam=0.5, n_steps=40),
                                  lca(X, dictionary, 0.5, n_steps=40))
    np.testing.assert_array_equal(net.encode(X, positive=True, n_steps=40),
                                  lca(X, dictionary, 0.3, threshold="nonneg", n_steps=40))
    hard = SparseCodingNetwork(dictionary, lam=0.3, threshold="hard")
    with pytest.raises(ValueError, match="positive=True needs a soft threshold"):
        hard.encode(X, positive=True)
    with pytest.raises(TypeError, match="positive must be a bool"):
        net.encode(X, positive="yes")
    # iht takes the network's lam as its hard threshold unless n_nonzero is given
    from v1model.inference import iht

    np.testing.assert_array_equal(net.encode(X, method="iht"), iht(X, dictionary, lam=0.3))
    # the LCA's own parameters are refused by the other methods, by name
    with pytest.raises(ValueError, match=r"^tau=0\.02 does not apply to method='fista': the "
                                         r"LCA's tau \(the network dynamics\); use "
                                         r"method='lca'$"):
        net.encode(X, method="fista", tau=0.02)
    with pytest.raises(ValueError, match=r"^threshold='hard' does not apply to method='omp': "
                                         r"the LCA's threshold"):
        net.encode(X, method="omp", n_nonzero=2, threshold="hard")


def test_hard_threshold_network_learns_with_lca(rng):
    X = rng.standard_normal((400, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.3, threshold="hard")
    hist = net.learn(X, n_updates=3, seed=0, progress=False)
    assert hist.attrs["inference"] == "lca" and hist.attrs["penalty"] == "lam^2/2 ||a||_0"
    with pytest.raises(ValueError, match="threshold='hard' needs inference='lca'"):
        net.learn(X, n_updates=3, inference="fista", progress=False)


def test_bad_input(dictionary):
    with pytest.raises(ValueError, match="lam must be a non-negative"):
        SparseCodingNetwork(dictionary, lam=-0.1)
    with pytest.raises(ValueError, match="tau must be a positive"):
        SparseCodingNetwork(dictionary, tau=0)
    with pytest.raises(ValueError, match="threshold must be one of"):
        SparseCodingNetwork(dictionary, threshold="sigmoid")
    with pytest.raises(ValueError, match="patch_shape"):
        SparseCodingNetwork(dictionary, patch_shape=(3, 3))
    with pytest.raises(TypeError, match=r"dictionary must be an array .*got the number 256; "
                                        r"for a network to learn, pass n_atoms=256"):
        SparseCodingNetwork(256)
    net = SparseCodingNetwork(dictionary)
    with pytest.raises(ValueError, match="X has 10 features per sample"):
        net.encode(np.ones((3, 10)))
    with pytest.raises(ValueError, match="backend must be one of"):
        net.encode(np.ones((3, 16)), backend="gpu")
    with pytest.raises(RuntimeError, match="no dictionary yet"):
        SparseCodingNetwork(n_atoms=4).encode(np.ones((2, 4)))
    with pytest.raises(ValueError, match="zero norm"):
        SparseCodingNetwork(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="patch_shape must be \\(height, width\\), got 'ab'"):
        SparseCodingNetwork(n_atoms=4, patch_shape="ab")
    with pytest.raises(TypeError, match="patch_shape must be an integer, got 2.5"):
        SparseCodingNetwork(n_atoms=4, patch_shape=(2.5, 2.5))  # int() would truncate
    with pytest.raises(ValueError, match="D0 is not a learn\\(\\) argument"):
        SparseCodingNetwork(n_atoms=4, patch_shape=(4, 4)).learn(np.ones((8, 16)),
                                                                  D0=np.eye(16)[:4])
    with pytest.raises(ValueError, match="lam is not a learn\\(\\) argument"):
        net.learn(np.ones((8, 16)), lam=0.2)
    ds = net.to_dataset()
    ds.attrs["lam"] = "abc"
    with pytest.raises(ValueError, match="ds.attrs\\['lam'\\] must be a number, got 'abc'"):
        SparseCodingNetwork.from_dataset(ds)


def test_cauchy_network_encode_methods(dictionary, rng):
    from v1model.learning import cauchy_inference

    X = rng.standard_normal((4, dictionary.shape[1]))
    net = SparseCodingNetwork(dictionary, lam=0.05, prior="cauchy", sigma=0.3)
    # method reaches cauchy_inference (it used to be dropped: "cg" ran L-BFGS-B)
    np.testing.assert_allclose(net.encode(X, method="cg"),
                               cauchy_inference(X, dictionary, 0.05, 0.3, method="CG"))
    np.testing.assert_allclose(net.encode(X, method="L-BFGS-B"), net.encode(X))
    with pytest.raises(ValueError, match="method must be one of 'lbfgs'.*got 'fista'"):
        net.encode(X, method="fista")
    # in the one wording of refuse_unused_settings (it was the network's own), naming
    # the setting, its value and the prior
    for name, value in (("positive", True), ("tau", 0.02), ("threshold", "soft")):
        with pytest.raises(ValueError, match=rf"^{name}={re.escape(repr(value))} does not "
                                             r"apply to prior='cauchy': the network's Cauchy "
                                             r"prior codes by MAP inference"):
            net.encode(X, **{name: value})


def test_spiking_backend_takes_the_ode_name_of_tau(dictionary, rng):
    # refused before Brian2 is touched: no simulation runs here
    net = SparseCodingNetwork(dictionary, lam=0.3, threshold="nonneg")
    with pytest.raises(ValueError, match="give tau or tau_m"):
        net.encode(rng.standard_normal((2, 16)), backend="spiking", tau=0.02, tau_m=0.02)
    # the ODE backend's arguments are named (was Python's "unexpected keyword argument")
    for name, value in (("positive", True), ("method", "fista"), ("threshold", "soft")):
        with pytest.raises(ValueError, match=f"{name} is not for backend='spiking' "
                                             r"\(spiking_lca takes dt, duration"):
            net.encode(rng.standard_normal((2, 16)), backend="spiking", **{name: value})


def test_load_refuses_files_that_are_not_networks(tmp_path, dictionary):
    import xarray as xr

    from v1model.io import save_dataset

    # a study output with a dictionary and an update dimension, but not a network
    other = xr.Dataset({"dictionary": (("atom", "y", "x"), dictionary.reshape(32, 4, 4)),
                        "learning_error": ("update", np.ones(3))})
    with pytest.raises(ValueError, match="not a saved network: attrs\\['kind'\\] is None"):
        SparseCodingNetwork.load(save_dataset(other, tmp_path / "other.nc"))


def test_from_dataset_reads_the_dictionary_by_dimension_name(dictionary, rng):
    net = SparseCodingNetwork(dictionary, patch_shape=(2, 8), lam=0.2)
    back = SparseCodingNetwork.from_dataset(net.to_dataset().transpose("atom", "x", "y"))
    assert back.patch_shape == (2, 8)
    np.testing.assert_array_equal(back.dictionary, net.dictionary)


def test_cauchy_network_does_not_claim_unit_norm_atoms(dictionary):
    ds = SparseCodingNetwork(dictionary, prior="cauchy").to_dataset()
    assert "unit-norm" not in ds["dictionary"].attrs["long_name"]
    assert "unit-norm" in SparseCodingNetwork(dictionary).to_dataset()["dictionary"].attrs[
        "long_name"]


def test_the_network_keeps_its_own_copy_of_the_dictionary():
    # the caller's array was the network's: changing it afterwards (here to NaN) changed
    # the network past its validation, and encode returned NaN codes
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 16))
    net = SparseCodingNetwork(D, lam=0.1)
    before = net.encode(X)
    D[:] = np.nan
    np.testing.assert_array_equal(net.encode(X), before)


@pytest.mark.parametrize("key", ["lam", "threshold", "tau", "prior", "sigma"])
def test_a_saved_network_without_its_spec_is_refused(key):
    # a lost attr was replaced by its default: a file of lam=0.3, threshold="hard",
    # tau=0.05 without them encoded as lam=0.1, soft, tau=0.01, without a word
    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    ds = SparseCodingNetwork(D, lam=0.3, threshold="hard", tau=0.05).to_dataset()
    del ds.attrs[key]
    with pytest.raises(ValueError, match=rf"ds lacks the network's '{key}' in its attrs"):
        SparseCodingNetwork.from_dataset(ds)


def test_a_history_whose_update_dim_was_renamed_is_named():
    # its variables were not found and the network loaded without its history, unsaid
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 16))
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), lam=0.1)
    net.learn(X, n_updates=3, batch_size=50, seed=0, progress=False)
    ds = net.to_dataset()
    assert SparseCodingNetwork.from_dataset(ds).history_.sizes["update"] == 3
    with pytest.raises(ValueError, match=r"ds holds a learning history's attrs \(learning_\*\) "
                                         r"but no variable over 'update'"):
        SparseCodingNetwork.from_dataset(ds.rename({"update": "step"}))


def test_the_cauchy_prior_refuses_a_threshold_it_would_drop(dictionary, rng):
    """The Cauchy prior's MAP codes are signed: threshold="nonneg" (or "hard") was kept in
    the spec and the history and ignored, giving negative codes."""
    from v1model.learning import learn_dictionary

    for threshold in ("nonneg", "hard"):
        with pytest.raises(ValueError, match=f"threshold='{threshold}' applies to "
                                             "prior='l1' only"):
            SparseCodingNetwork(dictionary, prior="cauchy", threshold=threshold)
        with pytest.raises(ValueError, match=f"threshold='{threshold}' applies to "
                                             "prior='l1' only"):
            learn_dictionary(rng.standard_normal((50, 16)), 4, prior="cauchy",
                             threshold=threshold, n_updates=2, progress=False)
    assert SparseCodingNetwork(dictionary, prior="cauchy").threshold == "soft"


def test_cauchy_network_honours_dtype(dictionary, rng):
    """dtype (an encode argument of every L1 network) failed with cauchy_inference's
    TypeError; the MAP codes are computed in float64 and given in the dtype asked for."""
    from v1model.learning import cauchy_inference

    X = rng.standard_normal((4, 16))
    net = SparseCodingNetwork(dictionary, lam=0.05, prior="cauchy", sigma=0.3)
    ref = cauchy_inference(X, dictionary, 0.05, 0.3)
    A64 = net.encode(X, dtype=np.float64)
    assert A64.dtype == np.float64
    np.testing.assert_array_equal(A64, ref)
    A32 = net.encode(X, dtype="float32")
    assert A32.dtype == np.float32
    np.testing.assert_array_equal(A32, ref.astype(np.float32))
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        net.encode(X, dtype=np.float16)


def test_a_threshold_that_contradicts_positive_is_refused(dictionary, rng):
    """threshold="nonneg" with positive=False ran the soft threshold, unsaid."""
    from v1model.inference import lca

    X = rng.standard_normal((5, 16))
    net = SparseCodingNetwork(dictionary, lam=0.3)
    for threshold, positive in (("nonneg", False), ("soft", True), ("hard", True)):
        with pytest.raises(ValueError, match=f"threshold='{threshold}' contradicts "
                                             f"positive={positive}"):
            net.encode(X, threshold=threshold, positive=positive, n_steps=20)
    # pairs that agree run as the threshold says
    np.testing.assert_array_equal(net.encode(X, threshold="nonneg", positive=True, n_steps=20),
                                  lca(X, dictionary, 0.3, threshold="nonneg", n_steps=20))
    np.testing.assert_array_equal(net.encode(X, threshold="hard", positive=False, n_steps=20),
                                  lca(X, dictionary, 0.3, threshold="hard", n_steps=20))
    # positive alone still overrides the network's own threshold
    nonneg = SparseCodingNetwork(dictionary, lam=0.3, threshold="nonneg")
    np.testing.assert_array_equal(nonneg.encode(X, positive=False, n_steps=20),
                                  lca(X, dictionary, 0.3, threshold="soft", n_steps=20))


def test_learn_refuses_n_atoms_like_the_other_spec_arguments(rng):
    # it was Python's "got multiple values for argument 'n_atoms'"
    net = SparseCodingNetwork(n_atoms=4, patch_shape=(4, 4))
    with pytest.raises(ValueError, match=r"n_atoms is not a learn\(\) argument: learning uses "
                                         "the network's own n_atoms"):
        net.learn(rng.standard_normal((20, 16)), n_atoms=4)
    assert net.dictionary is None and net.patch_shape == (4, 4)


def test_spec_numbers_read_from_a_result_are_accepted(dictionary):
    """A 0-d array (ds["lam"].values) was refused as "array of shape ()"."""
    net = SparseCodingNetwork(dictionary, lam=np.array(0.25), tau=np.array(0.02),
                              sigma=np.array(np.float32(0.5)))
    assert (net.lam, net.tau, net.sigma) == (0.25, 0.02, 0.5)
    assert type(net.lam) is float and type(net.tau) is float
    assert SparseCodingNetwork(n_atoms=np.array(3), patch_shape=(2, 2)).n_atoms == 3
    with pytest.raises(ValueError, match="lam must be a non-negative finite number"):
        SparseCodingNetwork(dictionary, lam=np.array(-0.1))
    with pytest.raises(TypeError, match="lam must be a real number"):
        SparseCodingNetwork(dictionary, lam=np.array([0.1]))  # 1-d: not a scalar


def test_learn_names_the_networks_patches_for_x_of_other_features():
    # learn said "X has 10 features per sample but the network's patch_shape (4, 4) needs
    # 16", without X's shape or the shape expected; now encode's check, shared
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4))
    with pytest.raises(ValueError, match=r"^X has 10 features per sample \(shape \(5, 10\)\) "
                       r"but the network's patches are 4x4 = 16 pixels \(patch_shape \(4, 4\)\); "
                       r"expected X of shape \(n_samples, 16\)$"):
        net.learn(np.ones((5, 10)), n_updates=1)
    assert net.dictionary is None and net.patch_shape == (4, 4)


def test_learn_tells_how_to_make_patches_of_images():
    # whitened images given to learn got "X must have 2 dimension(s), got 3", with no word
    # of how to make patches; (n, 8, 8) patches of the network's shape are taken
    # (tests/core/test_atoms_as_images.py)
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(8, 8))
    with pytest.raises(ValueError, match=r"^X has patches of shape \(32, 32\) \(shape \(5, 32, "
                       r"32\)\) but the network of shape \(8, 8, 8\) .*, or "
                       r"cut patches from images with stimuli\.sample_patches$"):
        net.learn(np.ones((5, 32, 32)), n_updates=1)
    assert net.dictionary is None
    with pytest.raises(ValueError, match=r"^X must have 2 dimensions \(n_samples, n_features\), "
                       r"got 4 \(shape \(5, 1, 8, 8\)\); flatten a stack of patches"):
        net.learn(np.ones((5, 1, 8, 8)), n_updates=1)


@pytest.mark.parametrize("backend", ["ode", "spiking"])
def test_encode_names_the_networks_patches_for_x_of_other_features(backend):
    # the check of X against the dictionary said "D has 64 features", a D the caller of
    # net.encode never gave; refused before any simulator runs
    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 64))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True), lam=0.1)
    with pytest.raises(ValueError, match=r"^X has 256 features per sample \(shape \(3, 256\)\) "
                       r"but the network's patches are 8x8 = 64 pixels") as info:
        net.encode(np.zeros((3, 256)), backend=backend)
    assert "D has" not in str(info.value)
    with pytest.raises(ValueError, match=r"^X has 16 features per sample \(shape \(16,\)\)"):
        net.encode(np.zeros(16), backend=backend)
    assert net.encode(np.zeros(64), backend="ode").shape == (1, 32)  # one sample is fine


@pytest.mark.parametrize("method", ["lca", "fista", "ista", "active_set", "cd", "mp", "omp",
                                    "iht"])
def test_encode_names_the_networks_dictionary_in_range_errors(method):
    # the solvers' range check said "X and D: ... rescale X and D", a D the caller of
    # net.encode never passed: the network's own dictionary
    rng = np.random.default_rng(0)
    D = rng.standard_normal((128, 64))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True), lam=0.1)
    X = rng.standard_normal((10, 64))
    kwargs = {"n_nonzero": 3} if method in ("mp", "omp") else {}
    x_max = np.abs(X).max()
    d_max = np.abs(net.dictionary).max()
    with pytest.raises(ValueError, match=rf"^X and dictionary: values up to \|X\| = "
                       rf"{re.escape(f'{x_max * 1e200:.3g}')} and \|dictionary\| = "
                       rf"{d_max:.3g} make products up to ~1e403, "
                       r"beyond what float32 holds safely \(~3.4e\+32\); rescale X and "
                       r"dictionary \(codes scale with \|X\| / \|dictionary\|\) or use "
                       r"dtype=float64$"):
        net.encode(X * 1e200, method=method, **kwargs)
    with pytest.raises(ValueError, match=r"^X and dictionary: values of at most \|X\| = .* "
                       r"are too small for float32 .*; rescale X, e\.g\. X / X\.std\(\), or "
                       r"dictionary \(codes scale with \|X\| / \|dictionary\|\)"):
        net.encode(X * 1e-30, method=method, **kwargs)


@pytest.mark.parametrize("prior, backend", [("l1", "ode"), ("cauchy", "ode"),
                                            ("l1", "spiking")])
def test_encode_names_the_networks_dictionary_when_it_holds_nan(prior, backend):
    # a dictionary set to NaN after construction was refused as "D contains ...", a D the
    # caller of net.encode never passed; refused before any simulator runs
    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 16))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True), lam=0.1,
                              prior=prior)
    net.dictionary = net.dictionary.copy()
    net.dictionary[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"^dictionary contains 1 non-finite value\(s\) "
                                         r"\(NaN or inf\), the first at index \(3, 5\)"):
        net.encode(rng.standard_normal((4, 16)), backend=backend)


def test_a_dataarray_dictionary_is_read_by_dim_name():
    # a dictionary (feature, atom) of a learner's Dataset transposed was read by position
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    net = SparseCodingNetwork(xr.DataArray(D, dims=("atom", "feature")).T, lam=0.1)
    np.testing.assert_array_equal(net.dictionary, D)


def test_encode_reads_a_dataarray_of_patches_by_dim_name():
    # X (feature, sample) was refused as "X has 5 features per sample" by the network's
    # own feature check, before the solvers could read it by name
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 16))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True), lam=0.1)
    X = rng.standard_normal((5, 16))
    Xd = xr.DataArray(X, dims=("sample", "feature")).transpose("feature", "sample")
    for method in ("lca", "fista"):
        np.testing.assert_array_equal(net.encode(Xd, method=method),
                                      net.encode(X, method=method))


@pytest.mark.parametrize("prior, method, kwargs", [
    ("l1", "lca", {}), ("l1", "cd", {}), ("l1", "omp", {"n_nonzero": 2}),
    ("cauchy", None, {})])
def test_encode_of_a_dataarray_gives_codes_labelled_by_sample_and_atom(prior, method, kwargs):
    # a DataArray X got a bare array: its sample labels and the network's atom_labels
    # (a pruned dictionary's units) were lost
    import xarray as xr

    rng = np.random.default_rng(0)
    D = rng.standard_normal((32, 16))
    D = xr.DataArray(D / np.linalg.norm(D, axis=1, keepdims=True), dims=("atom", "feature"),
                     coords={"atom": np.arange(32) * 2})
    net = SparseCodingNetwork(D.isel(atom=slice(3, None)), lam=0.1, prior=prior,
                              patch_shape=(4, 4))
    X = rng.standard_normal((5, 16))
    Xd = xr.DataArray(X, dims=("sample", "feature"), coords={"sample": [7, 3, 9, 1, 4]})
    patches = xr.DataArray(X.reshape(5, 4, 4), dims=("sample", "y", "x"),
                           coords={"sample": [7, 3, 9, 1, 4]})
    plain = net.encode(X, method=method, **kwargs)
    assert type(plain) is np.ndarray
    for given in (Xd.T, patches):
        A = net.encode(given, method=method, **kwargs)
        assert isinstance(A, xr.DataArray) and A.dims == ("sample", "atom")
        np.testing.assert_array_equal(A.values, plain)
        np.testing.assert_array_equal(A["sample"], [7, 3, 9, 1, 4])
        np.testing.assert_array_equal(A["atom"], np.arange(3, 32) * 2)
        assert A.attrs["prior"] == prior and A.attrs["backend"] == "ode"
        if method is not None:  # the solver's settings, patches or rows
            assert A.attrs["method"] == method and A.attrs["units"] == "units of X"


@pytest.mark.parametrize("prior", ["l1", "cauchy"])
def test_labelled_codes_carry_the_units_of_x_for_patches_too_and_1_for_the_cauchy_prior(
        prior):
    # patches (sample, y, x) in "a.u." gave codes in "units of X" (the flattened patches
    # lost their attrs on the way to the solver), and the Cauchy prior's codes, which are
    # dimensionless (its gain-adapted atoms carry X's units: to_dataset), got X's units
    import xarray as xr

    rng = np.random.default_rng(1)
    D = rng.standard_normal((8, 16))
    net = SparseCodingNetwork(D / np.linalg.norm(D, axis=1, keepdims=True), lam=0.1,
                              prior=prior, patch_shape=(4, 4))
    X = rng.standard_normal((3, 16))
    rows = xr.DataArray(X, dims=("sample", "feature"), attrs={"units": "a.u."})
    patches = xr.DataArray(X.reshape(3, 4, 4), dims=("sample", "y", "x"),
                           attrs={"units": "a.u."})
    # x = a D: the atoms' units times the codes' are X's
    atom_units = net.to_dataset()["dictionary"].attrs["units"]
    expected = "a.u." if atom_units == "1" else "1"
    assert (atom_units, expected) == (("1", "a.u.") if prior == "l1" else ("units of X", "1"))
    for given in (rows, patches):
        assert net.encode(given).attrs["units"] == expected


def test_encode_takes_seed_and_names_arguments_for_lca_and_the_cauchy_prior(dictionary, rng):
    """net.encode(X, seed=0) failed as lca()'s (and cauchy_inference()'s) bare TypeError
    while method="fista" and the spiking backend took it; an argument LCA or the Cauchy
    MAP does not take was that bare TypeError too, naming neither encode nor the
    arguments they take."""
    from v1model.inference import lca

    X = rng.standard_normal((4, 16))
    net = SparseCodingNetwork(dictionary, lam=0.2)
    # the ODE methods draw no numbers: the seed is checked and changes nothing
    np.testing.assert_array_equal(net.encode(X, seed=0), lca(X, dictionary, 0.2))
    # encode's convention (tol=None: the method's own default) holds for LCA too
    np.testing.assert_array_equal(net.encode(X, tol=None), net.encode(X))
    np.testing.assert_array_equal(net.encode(X, method="fista", seed=1),
                                  net.encode(X, method="fista"))
    cauchy = SparseCodingNetwork(dictionary, lam=0.05, prior="cauchy")
    np.testing.assert_array_equal(cauchy.encode(X, seed=np.random.default_rng(0)),
                                  cauchy.encode(X))
    with pytest.raises(ValueError, match="seed"):
        net.encode(X, seed=-1)
    with pytest.raises(TypeError, match=r"encode: method='lca' takes no parameter 'n_stepz' "
                                        r"\(did you mean 'n_steps'\?\)"):
        net.encode(X, n_stepz=10)
    with pytest.raises(TypeError, match=r"encode: a network with prior='cauchy' .* takes no "
                                        r"parameter 'return_history'; its parameters are A0, "
                                        r"dtype, lam, max_iter, method"):
        cauchy.encode(X, return_history=True)


def test_encode_of_a_stack_of_other_patches_names_both_shapes(dictionary, rng):
    # encode() said only "X must have 1 or 2 dimension(s), got 3"; patches of the
    # network's (4, 4) are taken (tests/core/test_atoms_as_images.py)
    net = SparseCodingNetwork(dictionary, patch_shape=(4, 4))
    with pytest.raises(ValueError, match=r"^X has patches of shape \(2, 8\) \(shape \(5, 2, 8\)\) "
                                         r"but the network of shape \(32, 4, 4\)"):
        net.encode(rng.standard_normal((5, 2, 8)))


def test_learn_names_an_argument_it_does_not_take(rng):
    # a typo failed as learn_dictionary()'s bare "unexpected keyword argument", a
    # function the caller never called (inference_params' typos were named)
    X = rng.standard_normal((50, 16))
    net = SparseCodingNetwork(n_atoms=4)
    with pytest.raises(TypeError, match=r"learn: takes no parameter 'n_update' \(did you mean "
                                        r"'n_updates'\?\); its parameters are batch_size, "
                                        r"gain_rate, inference, "):
        net.learn(X, n_update=3)
    with pytest.raises(TypeError, match=r"'batchsize' \(did you mean 'batch_size'\?\)"):
        net.fit(X, batchsize=10)
    assert net.dictionary is None and net.history_ is None  # refused before learning


def test_a_cauchy_network_names_the_closest_encode_argument(rng):
    # the Cauchy prior's MAP inference refused a typo without the hint the L1 solvers give
    net = SparseCodingNetwork(rng.standard_normal((4, 16)), lam=0.05, prior="cauchy")
    with pytest.raises(TypeError, match=r"takes no parameter 'max_iters' \(did you mean "
                                        r"'max_iter'\?\); its parameters are A0, dtype, "):
        net.encode(rng.standard_normal((3, 16)), max_iters=5)


@pytest.mark.parametrize("prior, units", [("l1", "1"), ("cauchy", "units of X")])
def test_saved_atoms_have_the_units_that_scaling_x_shows(rng, prior, units):
    """The Cauchy history said median_atom_norm in "units of X", the saved dictionary
    "1". Learning on 10 X, from 10 D0 for the Cauchy prior (its codes, sigma and
    var_goal are dimensionless) and with lam in its units (X^2 for Cauchy, X for L1,
    and lr in 1/X^2 for L1's unit-norm atoms), learns 10 D for the Cauchy prior: its
    atoms carry X's units, as the history says; and the same D for L1: "1"."""
    X = 0.3 * rng.standard_normal((300, 16)) * np.linspace(0.2, 1.0, 16)
    D0 = rng.standard_normal((8, 16))
    D0 /= np.linalg.norm(D0, axis=1, keepdims=True)
    learned = []
    for c in (1.0, 10.0):
        cauchy = prior == "cauchy"
        net = SparseCodingNetwork(c * D0 if cauchy else D0, prior=prior,
                                  lam=0.05 * c**2 if cauchy else 0.05 * c)
        net.learn(c * X, n_updates=10, batch_size=50, lr=1.0 if cauchy else 1.0 / c**2,
                  seed=3, progress=False)
        learned.append(net.dictionary)
    scale = 10.0 if prior == "cauchy" else 1.0
    np.testing.assert_allclose(learned[1], scale * learned[0], rtol=0,
                               atol=1e-4 * scale * np.abs(learned[0]).max())
    assert not np.allclose(learned[0], D0, atol=1e-3)  # learning moved the atoms
    ds = net.to_dataset()
    assert ds["dictionary"].attrs["units"] == units
    if prior == "cauchy":
        assert ds["median_atom_norm"].attrs["units"] == units


def test_a_dictionary_set_on_the_network_sets_its_units_and_saves_and_reloads(
        dictionary, rng, tmp_path):
    # pruning units (net.dictionary = net.dictionary[:20]) left n_atoms at 32: the repr
    # said 32 atoms, save failed in xarray ("conflicting sizes for dimension 'atom'") and
    # learn as "D0 must have shape (32, 16)", an argument the caller never gave
    net = SparseCodingNetwork(dictionary, lam=0.2, patch_shape=(4, 4))
    net.dictionary = dictionary[:20]
    assert net.n_atoms == 20 and "n_atoms=20," in repr(net)
    assert net.params()["n_atoms"] == 20
    loaded = SparseCodingNetwork.load(net.save(tmp_path / "pruned.nc"))
    assert loaded.n_atoms == 20 and loaded.patch_shape == (4, 4)
    np.testing.assert_array_equal(loaded.dictionary, dictionary[:20])
    X = rng.standard_normal((6, 16))
    before = net.encode(X, method="fista", dtype=np.float64)
    assert before.shape == (6, 20)
    np.testing.assert_allclose(loaded.encode(X, method="fista", dtype=np.float64), before,
                               rtol=0, atol=1e-12)
    # the LASSO optimum of the 20 atoms (scikit-learn), not of the 32 given first
    from sklearn.decomposition import sparse_encode
    ref = sparse_encode(X, dictionary[:20], algorithm="lasso_cd", alpha=0.2, max_iter=10000)
    assert np.all(lasso_objective(X, dictionary[:20], before, 0.2)
                  <= lasso_objective(X, dictionary[:20], ref, 0.2) * (1 + 1e-6) + 1e-12)
    # learning continues from the 20 atoms
    net.learn(rng.standard_normal((200, 16)), n_updates=2, batch_size=50, seed=0)
    assert net.dictionary.shape == (20, 16)
    # a copy is kept, as by the constructor
    D = dictionary[:10].copy()
    net.dictionary = D
    D[0] = 0.0
    assert np.all(np.linalg.norm(net.dictionary, axis=1) > 0)


def test_dictionary_n_atoms_and_patch_shape_set_on_a_network_are_checked(dictionary):
    # set unchecked, a dictionary of other patches, an n_atoms other than the dictionary's
    # rows or a patch_shape of other pixels gave a network that encode, save or learn
    # then refused in terms of arguments the caller never gave
    net = SparseCodingNetwork(dictionary, patch_shape=(4, 4))
    with pytest.raises(ValueError, match=re.escape(
            "dictionary has 9 features per atom (shape (32, 9)) but the network's patches "
            "are 4x4 = 16 pixels (patch_shape (4, 4))")):
        net.dictionary = dictionary[:, :9]
    with pytest.raises(ValueError, match=r"^dictionary contains 32 non-finite value"):
        net.dictionary = np.where(np.arange(16) == 3, np.nan, dictionary)
    with pytest.raises(ValueError, match=re.escape(
            "dictionary holds atoms as images of shape (2, 8) (shape (32, 2, 8)) but "
            "patch_shape is (4, 4)")):
        net.dictionary = dictionary.reshape(32, 2, 8)
    with pytest.raises(ValueError, match=re.escape(
            "n_atoms=10 but the network's dictionary has 32 atoms (rows)")):
        net.n_atoms = 10
    with pytest.raises(ValueError, match=re.escape(
            "patch_shape (2, 4) has 8 pixels but the dictionary has 16 features per atom")):
        net.patch_shape = (2, 4)
    # each refused value left the network as it was
    np.testing.assert_array_equal(net.dictionary, dictionary)
    assert net.n_atoms == 32 and net.patch_shape == (4, 4)
    net.patch_shape = (2, 8)  # the same pixels in another shape
    assert net.to_dataset()["dictionary"].shape == (32, 2, 8)
    # a network with no dictionary yet takes its size from the one set
    empty = SparseCodingNetwork(n_atoms=5)
    empty.dictionary = dictionary[:7]
    assert (empty.n_atoms, empty.patch_shape) == (7, (4, 4))
    with pytest.raises(ValueError, match=r"^n_atoms must be >= 1, got 0"):
        SparseCodingNetwork(n_atoms=5).n_atoms = 0


def test_a_cauchy_network_pruned_drops_the_gain_state_of_its_old_atoms(rng):
    # code_var_ (one value per atom) of 8 atoms kept for 5: learn refused it as
    # "code_var must have shape (5,)", a code_var the caller never gave
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(4, 4), prior="cauchy", lam=0.022)
    X = rng.standard_normal((200, 16))
    net.learn(X, n_updates=3, batch_size=50, seed=0)
    assert net.code_var_.shape == (8,)
    net.dictionary = net.dictionary.copy()  # the same atoms: the state is kept
    assert net.code_var_.shape == (8,)
    # as many atoms, reordered: the state of atom 7 was kept as atom 0's
    kept = net.code_var_.copy()
    net.dictionary = net.dictionary[::-1]
    assert net.code_var_ is None
    net.code_var_ = kept
    net.dictionary = net.dictionary[:5]
    assert net.code_var_ is None
    net.learn(X, n_updates=3, batch_size=50, seed=0)
    assert net.code_var_.shape == (5,) and net.dictionary.shape == (5, 16)


def test_a_network_pickled_before_its_sizes_were_checked_attributes_unpickles(dictionary, rng):
    # earlier versions pickled dictionary, n_atoms and patch_shape as plain attributes
    import pickle

    net = SparseCodingNetwork(dictionary, lam=0.2)
    old = object.__new__(SparseCodingNetwork)
    old.__dict__.update({k.lstrip("_") if k in ("_dictionary", "_n_atoms", "_patch_shape")
                         else k: v for k, v in net.__dict__.items()})
    back = pickle.loads(pickle.dumps(old))
    assert back.n_atoms == 32 and back.patch_shape == (4, 4)
    X = rng.standard_normal((3, 16))
    np.testing.assert_array_equal(back.encode(X, method="fista"), net.encode(X, method="fista"))


def _labelled(D, labels):
    import xarray as xr

    return xr.DataArray(D, dims=("atom", "feature"), coords={"atom": labels})


@pytest.mark.parametrize("labels", [np.arange(100, 132), [f"unit{i}" for i in range(32)]])
def test_a_pruned_dataarray_dictionary_keeps_its_atom_labels_through_save_and_load(
        dictionary, rng, tmp_path, labels):
    # to_dataset labelled the atoms 0..n-1 whatever the dictionary carried: the 3 units
    # a pruned D.isel(atom=[3, 7, 30]) kept came back from a file as atoms 0, 1 and 2
    D = _labelled(dictionary, labels)
    net = SparseCodingNetwork(D, patch_shape=(4, 4), lam=0.2)
    np.testing.assert_array_equal(net.atom_labels, labels)
    net.dictionary = D.isel(atom=[3, 7, 30])
    kept = np.asarray(labels)[[3, 7, 30]]
    np.testing.assert_array_equal(net.atom_labels, kept)
    np.testing.assert_array_equal(net.to_dataset()["atom"].values, kept)
    loaded = SparseCodingNetwork.load(net.save(tmp_path / "pruned.nc"))
    np.testing.assert_array_equal(loaded.atom_labels, kept)
    np.testing.assert_array_equal(loaded.to_dataset()["atom"].values, kept)
    # the atoms under each label are those of the label, as in the DataArray
    back = loaded.to_dataset()["dictionary"]
    for label in kept:
        np.testing.assert_array_equal(back.sel(atom=label).values.ravel(),
                                      D.sel(atom=label).values)
    # learning changes the atoms, not which units they are
    net.learn(rng.standard_normal((200, 16)), n_updates=2, batch_size=50, seed=0)
    np.testing.assert_array_equal(net.atom_labels, kept)
    # a plain array names no units: 0..n-1
    net.dictionary = dictionary[:5]
    np.testing.assert_array_equal(net.atom_labels, np.arange(5))
    np.testing.assert_array_equal(net.to_dataset()["atom"].values, np.arange(5))


def test_atom_labels_are_read_by_name_and_checked(dictionary):
    D = _labelled(dictionary, np.arange(32)[::-1])
    # a transposed DataArray is read by dim name: its labels stay with their atoms
    net = SparseCodingNetwork(D.T, patch_shape=(4, 4))
    np.testing.assert_array_equal(net.atom_labels, np.arange(32)[::-1])
    np.testing.assert_array_equal(net.dictionary, dictionary)
    with pytest.raises(ValueError, match=re.escape(
            "dictionary's atom coordinate labels two units alike: 7 appears 2 times")):
        net.dictionary = D.isel(atom=[1, 24, 24])
    np.testing.assert_array_equal(net.atom_labels, np.arange(32)[::-1])  # left as it was
    # a network without a dictionary yet, and a DataArray without an atom coordinate
    assert list(SparseCodingNetwork(n_atoms=3).atom_labels) == [0, 1, 2]
    import xarray as xr

    bare = SparseCodingNetwork(xr.DataArray(dictionary, dims=("atom", "feature")))
    np.testing.assert_array_equal(bare.atom_labels, np.arange(32))


def test_files_and_pickles_without_atom_labels_still_load(dictionary, rng, tmp_path):
    import pickle

    net = SparseCodingNetwork(_labelled(dictionary, np.arange(50, 82)), lam=0.2)
    # a file whose dictionary has no atom coordinate labels its units 0..n-1
    ds = net.to_dataset().drop_vars("atom")
    np.testing.assert_array_equal(SparseCodingNetwork.from_dataset(ds).atom_labels,
                                  np.arange(32))
    # a network pickled before the labels were kept has no _atom_labels
    old = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(old.atom_labels, np.arange(50, 82))
    del old.__dict__["_atom_labels"]
    back = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(back.atom_labels, np.arange(32))
    X = rng.standard_normal((3, 16))
    np.testing.assert_array_equal(back.encode(X, method="fista"), net.encode(X, method="fista"))


def test_repr_shows_the_patch_shape(rng):
    # a 4x16 network printed as an 8x8 one: both "n_atoms=8, n_features=64"
    D = rng.standard_normal((8, 64))
    wide, square = SparseCodingNetwork(D, patch_shape=(4, 16)), SparseCodingNetwork(D)
    assert "patch_shape=(4, 16)" in repr(wide)
    assert "patch_shape=(8, 8)" in repr(square)
    assert repr(wide) != repr(square)


def test_a_single_patch_is_coded_as_one_row_as_documented(dictionary, rng):
    net = SparseCodingNetwork(dictionary, lam=0.2)
    x = rng.standard_normal(16)
    codes = net.encode(x, method="fista", dtype=np.float64)
    assert codes.shape == (1, 32)
    np.testing.assert_array_equal(codes, net.encode(x[None], method="fista", dtype=np.float64))
    assert "(1, n_atoms)" in SparseCodingNetwork.encode.__doc__  # what encode says it does


@pytest.mark.parametrize("threshold, method", [("soft", "lca"), ("soft", "fista"),
                                               ("soft", "active_set"),
                                               ("hard", "lca"), ("nonneg", "lca"),
                                               ("nonneg", "fista")])
def test_encode_warns_once_of_a_lam_that_zeroes_every_code(dictionary, rng, threshold, method):
    # net.encode(X, lam=100) returned all-zero codes without a word, while learning
    # refuses such a lam
    import warnings

    from sklearn.decomposition import sparse_encode

    positive = threshold == "nonneg"
    net = SparseCodingNetwork(dictionary, threshold=threshold)
    X = rng.standard_normal((4, 16))
    drive = X @ dictionary.T
    lam_max = float(drive.max() if positive else np.abs(drive).max())
    if threshold != "hard":
        # lam_max as the LASSO's (scikit-learn): zero codes just above it, not below
        for factor, zero in ((1.001, True), (0.999, False)):
            ref = sparse_encode(X, dictionary, algorithm="lasso_cd", alpha=factor * lam_max,
                                positive=positive, max_iter=10000)
            assert (np.count_nonzero(ref) == 0) == zero
    with pytest.warns(UserWarning) as record:
        codes = net.encode(X, method=method, lam=1.001 * lam_max)
    assert len(record) == 1 and record[0].filename == __file__
    assert str(record[0].message) == (
        f"lam={1.001 * lam_max!r} is at least lam_max = "
        f"{'max <d, x>' if positive else 'max |<d, x>|'} = {lam_max:.3g} over the samples "
        f"of X and the network's atoms (the LASSO's lam_max): every code is zero at the "
        f"optimum; lower lam well below {lam_max:.3g} or rescale X")
    assert np.count_nonzero(codes) == 0
    # below lam_max some code is not zero, and nothing is said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.count_nonzero(net.encode(X, method=method, lam=0.99 * lam_max)) > 0
    # the network's own lam is checked the same way
    net.lam = 2 * lam_max
    with pytest.warns(UserWarning, match=re.escape(f"lam={2 * lam_max!r} is at least")):
        net.encode(X[0], method=method)


class _CountingDrive:
    """Stands for ``D`` in ``_warn_if_lam_zeroes_every_code``: ``block @ D.T`` records the
    rows of each block of ``X`` it multiplies (numpy defers to ``__rmatmul__``)."""

    __array_ufunc__ = None

    def __init__(self, D):
        self.D, self.rows = D, []

    @property
    def T(self):
        return self

    def __rmatmul__(self, block):
        self.rows.append(len(block))
        return block @ self.D.T


def test_the_lam_check_reads_few_rows_when_the_first_pass_lam(dictionary, rng):
    # the check took the drive of a first block of 4096 rows (SOLVER_CHUNK) at every
    # encode: 25-45 ms for 10,000 x 256 data and 512 atoms, as much as cd's whole
    # encode at a sparse lam (0.05-0.1 s); data worth coding passes lam in its first rows
    from v1model.network import _FIRST_DRIVE_ROWS, _warn_if_lam_zeroes_every_code

    X = rng.standard_normal((5000, 16))
    spy = _CountingDrive(dictionary)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_lam_zeroes_every_code(X, spy, 0.5, False)
    assert spy.rows == [_FIRST_DRIVE_ROWS] and _FIRST_DRIVE_ROWS <= 64


@pytest.mark.parametrize("positive", [False, True])
def test_the_lam_check_scans_every_row_before_it_warns(dictionary, rng, positive):
    # blocks that double: the largest drive in a late row (past the first 4096) still
    # counts, silences the warning when it passes lam, and is the lam_max named when not
    from v1model.network import _warn_if_lam_zeroes_every_code

    X = 1e-3 * rng.standard_normal((5000, 16))
    X[4500] = 3 * dictionary[7]
    drive = X @ dictionary.T
    lam_max = float(drive.max() if positive else np.abs(drive).max())
    assert lam_max == pytest.approx(3 * np.abs(dictionary @ dictionary[7]).max(), rel=1e-12)
    spy = _CountingDrive(dictionary)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_lam_zeroes_every_code(X, spy, 0.999 * lam_max, positive)
    assert sum(spy.rows) > 4500 and max(spy.rows) <= 4096
    with pytest.warns(UserWarning, match=re.escape(f"= {lam_max:.3g} over the samples")):
        _warn_if_lam_zeroes_every_code(X, dictionary, 1.001 * lam_max, positive)


def test_no_lam_warning_where_lam_cannot_help(dictionary):
    import warnings

    net = SparseCodingNetwork(dictionary, lam=0.5, threshold="nonneg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # zero data: no lam gives a non-zero code
        assert not net.encode(np.zeros((2, 16)), method="fista").any()
        # greedy methods take no lam
        SparseCodingNetwork(dictionary).encode(np.ones((2, 16)), method="omp", n_nonzero=2)
