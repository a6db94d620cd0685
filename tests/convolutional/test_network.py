"""ConvolutionalNetwork: the spec handed to each simulator gives that simulator's
codes, learning keeps the spec, and a saved network comes back whole."""

import warnings

import numpy as np
import pytest

from v1model.convolutional import (ConvolutionalNetwork, encode, learn_kernels,
                                   matching_pursuit, objective, reconstruct)
from v1model.spiking import spiking_convolutional_lca

from .conftest import unit_kernels

#: the spiking backend (Brian2's numpy target; its parser warns about pyparsing)
SPIKING = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")


@pytest.fixture()
def net_and_signals():
    rng = np.random.default_rng(0)
    kernels = unit_kernels(rng, (3, 7))
    X = rng.standard_normal((3, 40))
    return ConvolutionalNetwork(kernels, stride=2, lam=0.8, tau=0.02), X


def test_ode_backend_is_the_convolutional_solvers(net_and_signals):
    net, X = net_and_signals
    geometry = dict(stride=2, boundary="full")
    np.testing.assert_array_equal(
        net.encode(X), encode(X, net.kernels, 0.8, method="lca", tau=0.02, **geometry))
    np.testing.assert_array_equal(
        net.encode(X, method="fista", lam=0.5),
        encode(X, net.kernels, 0.5, method="fista", **geometry))
    np.testing.assert_array_equal(
        net.encode(X, method="mp", n_nonzero=4),
        matching_pursuit(X, net.kernels, n_nonzero=4, **geometry))


@pytest.mark.brian2
@SPIKING
def test_nonneg_network_gives_nonnegative_codes_on_both_backends(net_and_signals):
    net, X = net_and_signals
    nonneg = ConvolutionalNetwork(net.kernels, stride=2, lam=0.8, threshold="nonneg")
    ode = nonneg.encode(X, method="fista", dtype=np.float64, tol=1e-10, max_iter=100000)
    spk, ds = nonneg.encode(X, backend="spiking", duration=1.0, target="numpy", seed=0,
                            return_dataset=True)
    assert ode.min() >= 0 and spk.min() >= 0
    assert np.linalg.norm(spk - ode) / np.linalg.norm(ode) < 0.05  # measured 0.007
    assert ds.attrs["tau_m"] == 0.01 and ds.attrs["lam"] == 0.8


@pytest.mark.brian2
@SPIKING
def test_soft_threshold_spikes_with_on_off_units(net_and_signals):
    """Signed LASSO codes from two non-negative units per copy (kernels d and -d)."""
    net, X = net_and_signals
    ref = net.encode(X, method="fista", dtype=np.float64, tol=1e-10, max_iter=100000)
    spk, ds = net.encode(X, backend="spiking", duration=1.0, target="numpy", seed=0,
                         return_dataset=True)
    assert ref.min() < 0 < ref.max()
    assert np.linalg.norm(spk - ref) / np.linalg.norm(ref) < 0.05  # measured 0.015
    assert ds.sizes["kernel"] == 2 * net.n_kernels and ds.attrs["tau_m"] == 0.02
    # which unit is which (test_spiking_units_are_labelled_with_their_polarity_and_kernel)
    back = (ds["polarity"] * ds["code"]).groupby("source_kernel").sum()
    np.testing.assert_array_equal(back.transpose("sample", "source_kernel", "time").values, spk)


def test_learn_keeps_the_spec_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 32, 32))
    net = ConvolutionalNetwork(n_kernels=4, kernel_shape=(5, 5), stride=2, lam=0.5)
    history = net.fit(images, n_updates=5, seed=0, progress=False).history_
    ref = learn_kernels(images, 4, 5, stride=2, lam=0.5, n_updates=5, seed=0, progress=False)
    np.testing.assert_allclose(net.kernels, ref["kernels"].values)
    assert history.sizes["update"] == 5 and "kernels" not in history
    back = ConvolutionalNetwork.load(net.save(tmp_path / "net.nc"))
    np.testing.assert_array_equal(back.kernels, net.kernels)
    assert back.params() == net.params()
    np.testing.assert_array_equal(back.history_["objective"].values,
                                  history["objective"].values)
    assert back.history_.attrs["n_updates"] == 5
    np.testing.assert_array_equal(back.encode(images[:1], method="fista"),
                                  net.encode(images[:1], method="fista"))


@pytest.mark.parametrize("shape, rate", [((24, 24), None), ((60,), 16000.0)])
def test_history_in_memory_is_the_one_saved(tmp_path, shape, rate):
    """history_ kept the learned kernels' orphan 'kernel' coordinate, which save() drops:
    the history a network held was not equal to the one it loaded."""
    import xarray as xr

    images = np.random.default_rng(1).standard_normal((3,) + shape)
    net = ConvolutionalNetwork(n_kernels=3, kernel_shape=(4,) * len(shape), lam=0.5,
                               sample_rate=rate)
    learned = net.learn(images, n_updates=2, crop_size=(12,) * len(shape), seed=0,
                        progress=False)
    assert dict(net.history_.sizes) == {"update": 2} and list(net.history_.coords) == ["update"]
    assert learned.sizes["kernel"] == 3  # the returned Dataset keeps its kernels
    for n_calls in (1, 2):
        back = ConvolutionalNetwork.load(net.save(tmp_path / f"net{n_calls}.nc"))
        xr.testing.assert_identical(back.history_, net.history_)
        net.learn(images, n_updates=1, crop_size=(12,) * len(shape), seed=1,
                  progress=False)


def test_a_second_learn_continues_the_history(tmp_path):
    """The history held only the second call's updates, numbered from 0 again, though
    that call continued from the first one's kernels; save() kept only those."""
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 24, 24))
    net = ConvolutionalNetwork(n_kernels=3, kernel_shape=(4, 4), lam=0.5)
    first = net.learn(images, n_updates=3, seed=0, progress=False)
    assert "updates_per_call" not in first.attrs  # one call: n_updates says it all
    K1 = net.kernels.copy()
    hist = net.learn(images, n_updates=4, seed=1, learning_rate=0.3, progress=False)
    # the second call alone, from the first call's kernels: the reference for its part
    ref = learn_kernels(images, 3, 4, lam=0.5, init=K1, n_updates=4, seed=1,
                        learning_rate=0.3, progress=False)
    np.testing.assert_array_equal(hist["kernels"], ref["kernels"])
    np.testing.assert_array_equal(net.history_["update"], np.arange(7))
    np.testing.assert_array_equal(hist["update"], np.arange(7))
    np.testing.assert_array_equal(net.history_["objective"][:3], first["objective"])
    np.testing.assert_array_equal(net.history_["objective"][3:], ref["objective"])
    # learning time: the second call's clock goes on from the first's (it restarted at 0)
    np.testing.assert_array_equal(net.history_["elapsed"][:3], first["elapsed"])
    assert np.all(np.diff(net.history_["elapsed"]) > 0)
    attrs = net.history_.attrs
    assert attrs["n_updates"] == 7 and list(attrs["updates_per_call"]) == [3, 4]
    assert attrs["init"] == "gaussian" and attrs["learning_rate"] == 0.3  # first, last
    assert first.sizes["update"] == 3  # the first call's return value is left alone
    back = ConvolutionalNetwork.load(net.save(tmp_path / "n.nc"))
    np.testing.assert_array_equal(back.history_["objective"], net.history_["objective"])
    assert back.history_.attrs["n_updates"] == 7
    # a third call after loading carries on from the saved history
    back.learn(images, n_updates=2, seed=2, progress=False)
    np.testing.assert_array_equal(back.history_["update"], np.arange(9))
    assert list(back.history_.attrs["updates_per_call"]) == [3, 4, 2]


@pytest.mark.parametrize("threshold, method", [("nonneg", "fista"), ("nonneg", "mp"),
                                               ("hard", "lca"), ("hard", "mp")])
def test_learn_uses_the_network_threshold(threshold, method):
    """A non-negative (or hard-threshold) network learned from signed soft codes: the
    network now passes its threshold, as SparseCodingNetwork.learn does."""
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 24, 24))
    # hard: the method defaults to the LCA, as for learn_dictionary
    # matching pursuit has no lam: the network's applies to the L1 methods only
    extra = dict(method="mp", n_nonzero=6) if method == "mp" else dict(lam=0.5)
    net = ConvolutionalNetwork(n_kernels=3, kernel_shape=(4, 4), lam=0.5,
                               threshold=threshold)
    ds = net.learn(images, n_updates=3, seed=0, progress=False,
                   **{k: v for k, v in extra.items() if k != "lam"})
    assert ds.attrs["method"] == method
    # matching pursuit has no threshold (hard ran signed spikes, as soft does): what ran
    assert ds.attrs["threshold"] == ("None" if method == "mp" else threshold)
    assert ds.attrs["positive"] == int(threshold == "nonneg")
    assert ds.attrs["lam"] == ("None" if method == "mp" else 0.5)
    ref = learn_kernels(images, 3, 4, threshold=threshold, n_updates=3, seed=0,
                        progress=False, **dict(extra, method=method))
    np.testing.assert_array_equal(net.kernels, ref["kernels"].values)
    signed = learn_kernels(images, 3, 4, n_updates=3, seed=0, progress=False,
                           **dict(extra, method=method))
    # a hard network's spikes are signed, as its encode(method="mp") codes
    assert np.allclose(net.kernels, signed["kernels"].values) == (method == "mp"
                                                                   and threshold == "hard")
    with pytest.raises(ValueError, match="threshold is not a learn"):
        net.learn(images, threshold="soft")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(), ValueError, r"give either kernels or n_kernels and kernel_shape"),
    (dict(n_kernels=2, kernel_shape=(3, 3), stride=4), ValueError,
     r"stride=\(4, 4\) exceeds"),
    (dict(kernels=np.zeros((2, 3))), ValueError, r"kernels: kernel 0 is all zeros"),
    (dict(n_kernels=2, kernel_shape=3, threshold="relu"), ValueError,
     r"threshold must be one of .*; got 'relu'"),
    (dict(n_kernels=2, kernel_shape=3, lam=-1.0), ValueError,
     r"lam must be a non-negative finite number, got -1\.0"),
    (dict(n_kernels=2, kernel_shape=3, boundary="same"), ValueError,
     r"boundary must be one of .*; got 'same'"),
    # kernels beside a spec that contradicts them (was: the spec silently ignored)
    (dict(kernels=np.ones((2, 3, 3)), n_kernels=5), ValueError,
     r"n_kernels=5 contradicts the kernels given \(shape \(2, 3, 3\)\)"),
    (dict(kernels=np.ones((2, 3, 3)), kernel_shape=(7, 7)), ValueError,
     r"kernel_shape=\(7, 7\) contradicts"),
    # a rate is for sounds: images' positions stay in samples (learn_kernels' message)
    (dict(kernels=np.ones((2, 3, 3)), sample_rate=8000), ValueError,
     r"^sample_rate=8000 applies to sounds \(1-D signals\); these signals have 2 spatial "
     r"axes, whose positions stay in samples$"),
    (dict(n_kernels=2, kernel_shape=3, sample_rate=-8000), ValueError,
     r"^sample_rate must be a positive finite number, got -8000$"),
])
def test_bad_specs_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvolutionalNetwork(**kwargs)


def test_bad_calls_are_named(net_and_signals, tmp_path):
    net, X = net_and_signals
    with pytest.raises(RuntimeError, match="no kernels yet"):
        ConvolutionalNetwork(n_kernels=2, kernel_shape=3).encode(X)
    with pytest.raises(ValueError, match="backend"):
        net.encode(X, backend="gpu")
    # in the one wording of refuse_unused_settings (it was the network's own)
    with pytest.raises(ValueError, match=r"^lam=0\.1 does not apply to method='mp': matching "
                                         r"pursuit has no L1 penalty"):
        net.encode(X, method="mp", lam=0.1, n_nonzero=2)
    with pytest.raises(ValueError, match=r"^threshold='soft' does not apply to method='mp': "
                                         r"matching pursuit's spikes are greedy"):
        net.encode(X, method="mp", threshold="soft", n_nonzero=2)
    with pytest.raises(ValueError, match=r"^tau=0\.1 does not apply to method='fista': it is "
                                         r"the LCA's time constant"):
        net.encode(X, method="fista", tau=0.1)
    hard = ConvolutionalNetwork(net.kernels, threshold="hard")
    with pytest.raises(ValueError, match="threshold='hard' needs method='lca'"):
        hard.encode(X, method="fista")
    with pytest.raises(ValueError, match="backend='spiking' supports"):
        hard.encode(X, backend="spiking", target="numpy")
    with pytest.raises(ValueError, match="stride is not a learn"):
        net.learn(X, stride=1)
    # an int kernel_shape is one axis (sounds): images are refused naming it
    with pytest.raises(ValueError, match=r"kernel_shape=\(3,\), got shape \(2, 16, 16\); "
                                         r"for images give kernel_shape=\(height, width\)"):
        ConvolutionalNetwork(n_kernels=2, kernel_shape=3).learn(np.ones((2, 16, 16)))
    # agreeing spec beside the kernels is fine
    assert ConvolutionalNetwork(net.kernels, n_kernels=len(net.kernels),
                                kernel_shape=net.kernel_shape).params() == \
        ConvolutionalNetwork(net.kernels).params()
    import xarray as xr

    with pytest.raises(ValueError, match="not a saved convolutional network"):
        ConvolutionalNetwork.from_dataset(xr.Dataset())


def test_the_network_keeps_its_own_copy_of_the_kernels():
    # the caller's array was the network's: changing it afterwards bypassed validation
    kernels = np.random.default_rng(0).standard_normal((3, 4, 4))
    net = ConvolutionalNetwork(kernels.copy(), lam=0.1)
    given = kernels.copy()
    net2 = ConvolutionalNetwork(given, lam=0.1)
    given[:] = 0.0
    np.testing.assert_array_equal(net2.kernels, net.kernels)
    assert np.all(np.isfinite(net2.kernels)) and np.abs(net2.kernels).max() > 0


def test_from_dataset_reads_kernels_by_name_and_names_what_is_missing():
    # a hand-edited file raised a bare KeyError for a lost attr, loaded kernels transposed
    # to (kernel, kx, ky) with kernel_shape swapped, and took any dim name
    net = ConvolutionalNetwork(unit_kernels(np.random.default_rng(0), (3, 4, 5)), stride=2,
                               lam=0.3, threshold="hard", tau=0.02)
    ds = net.to_dataset()
    back = ConvolutionalNetwork.from_dataset(ds.transpose("kernel", "kx", "ky"))
    np.testing.assert_array_equal(back.kernels, net.kernels)
    assert back.params() == net.params()
    no_spec = ds.copy()
    no_spec.attrs = {k: v for k, v in ds.attrs.items() if k not in ("stride", "tau")}
    with pytest.raises(ValueError, match=r"ds lacks the attr\(s\) 'stride', 'tau' of the "
                                         r"network's spec"):
        ConvolutionalNetwork.from_dataset(no_spec)
    with pytest.raises(ValueError, match=r"ds\['kernels'\] has dims \('kernel', 'foo', 'kx'\), "
                                         r"expected \('kernel', 'ky', 'kx'\) \(in any order\): "
                                         r"unknown \['foo'\], missing \['ky'\]"):
        ConvolutionalNetwork.from_dataset(ds.rename({"ky": "foo"}))
    with pytest.raises(ValueError, match=r"ds\['kernels'\] has dims \('kernel', 'time'\), "
                                         r"expected \('kernel', 'lag'\)"):
        sound = ConvolutionalNetwork(unit_kernels(np.random.default_rng(1), (2, 6)))
        ConvolutionalNetwork.from_dataset(sound.to_dataset().rename({"lag": "time"}))
    with pytest.raises(ValueError, match=r"ds has no 'kernels' variable"):
        ConvolutionalNetwork.from_dataset(ds.drop_vars("kernels"))
    with pytest.raises(ValueError, match=r"attrs\['kind'\] is 'v1model.SparseCodingNetwork', "
                                         r"not 'v1model.ConvolutionalNetwork'$"):
        ConvolutionalNetwork.from_dataset(ds.assign_attrs(kind="v1model.SparseCodingNetwork"))


def test_nonneg_network_keeps_its_sign_in_matching_pursuit(net_and_signals):
    """threshold='nonneg' is the network's sign constraint: FISTA kept it, MP gave
    negative spikes (the patch network's MP is positive for it too)."""
    net, X = net_and_signals
    nonneg = ConvolutionalNetwork(net.kernels, stride=2, threshold="nonneg")
    codes = nonneg.encode(X, method="mp", n_nonzero=6)
    np.testing.assert_array_equal(
        codes, matching_pursuit(X, net.kernels, n_nonzero=6, stride=2, positive=True))
    assert codes.min() >= 0 and codes.max() > 0
    signed = nonneg.encode(X, method="mp", n_nonzero=6, positive=False)
    assert signed.min() < 0  # an explicit positive=False still wins


def test_threshold_overrides_the_network_for_one_call(net_and_signals):
    """threshold given to encode is used as lam is (it was a TypeError: 'got multiple
    values for keyword argument')."""
    net, X = net_and_signals
    for method, threshold in (("lca", "hard"), ("fista", "nonneg")):
        np.testing.assert_array_equal(
            net.encode(X, method=method, threshold=threshold, n_steps=30),
            encode(X, net.kernels, 0.8, method=method, threshold=threshold, n_steps=30,
                   stride=2, **({"tau": 0.02} if method == "lca" else {})))
    with pytest.raises(ValueError, match="threshold='hard' needs method='lca'"):
        net.encode(X, method="fista", threshold="hard")
    with pytest.raises(ValueError, match="threshold must be one of"):
        net.encode(X, threshold="relu")
    # a spiking network's threshold is its make-up (ON/OFF pairs for "soft"): the network's
    # own, refused as an override as SparseCodingNetwork refuses it
    with pytest.raises(ValueError, match=r"threshold='hard' is not for backend='spiking': the "
                                         r"threshold is the network's \('soft'\)"):
        net.encode(X, backend="spiking", threshold="hard", target="numpy")
    for name, value in (("threshold", "hard"), ("tau", 0.1)):  # a bare TypeError before
        with pytest.raises(ValueError, match=f"{name}={value!r} does not apply to "
                                             "method='mp'"):
            net.encode(X, method="mp", n_nonzero=2, **{name: value})


@pytest.mark.parametrize("name, values", [("threshold", ("soft", "nonneg")),
                                          ("method", ("fista", "lca"))])
def test_spiking_backend_refuses_what_the_patch_network_refuses(monkeypatch, name, values):
    """A spiking network's threshold is its make-up (one unit per copy for "nonneg", an
    ON/OFF pair for "soft"), and method= chooses the ODE backend's solver:
    SparseCodingNetwork refuses both with backend="spiking", and so does
    ConvolutionalNetwork now (it ran [K; -K] for a nonneg network, and method="fista"
    gave spiking codes), naming the argument and the backend, before simulating. Even
    the network's own threshold and the default method's name are refused: the spiking
    run has neither."""
    from v1model import SparseCodingNetwork, spiking

    def never(*args, **kwargs):
        raise AssertionError(f"simulated despite the refused {name}")

    monkeypatch.setattr(spiking, "spiking_convolutional_lca", never)
    X = np.array([[1.0, -1.0, 0.5]])
    conv = ConvolutionalNetwork(np.array([[1.0]]), lam=0.1, threshold="nonneg")
    dense = SparseCodingNetwork(np.eye(3), lam=0.1, threshold="nonneg")
    for value in values:
        with pytest.raises(ValueError, match=rf"{name}={value!r} is not for "
                                             r"backend='spiking'"):
            conv.encode(X, backend="spiking", target="numpy", **{name: value})
        with pytest.raises(ValueError, match=rf"{name} is not for backend='spiking'"):
            dense.encode(X, backend="spiking", target="numpy", **{name: value})
    if name == "method":  # the ODE backend's default is still LCA
        np.testing.assert_array_equal(conv.encode(X, n_steps=20),
                                      conv.encode(X, method="lca", n_steps=20))


def test_spiking_backend_names_an_argument_its_simulator_does_not_take():
    """positive= (an ODE backend argument) reached spiking_convolutional_lca as a bare
    TypeError ("unexpected keyword argument"); it is refused, as SparseCodingNetwork
    refuses it, with the simulator's own arguments listed."""
    from v1model import SparseCodingNetwork

    X = np.array([[1.0, -1.0, 0.5]])
    conv = ConvolutionalNetwork(np.array([[1.0]]), lam=0.1, threshold="nonneg")
    dense = SparseCodingNetwork(np.eye(3), lam=0.1, threshold="nonneg")
    for net, simulator in ((conv, "spiking_convolutional_lca"), (dense, "spiking_lca")):
        with pytest.raises(ValueError, match=rf"^positive is not for backend='spiking' "
                                             rf"\({simulator} takes dt, duration, .*target"):
            net.encode(X, backend="spiking", positive=True, target="numpy")


@pytest.mark.parametrize("kwargs", [{"method": "fista", "boundary": "valid"},
                                    {"method": "mp", "stride": 1, "n_nonzero": 2},
                                    {"backend": "spiking", "stride": 1}])
def test_geometry_in_encode_is_refused_by_name(net_and_signals, kwargs):
    """The network's stride and boundary are its spec (as in learn): given to encode they
    made a bare TypeError, 'got multiple values for keyword argument'."""
    net, X = net_and_signals
    name = "boundary" if "boundary" in kwargs else "stride"
    with pytest.raises(ValueError, match=rf"{name}=.* is not an encode\(\) argument: the "
                                         rf"network codes with its own {name}="):
        net.encode(X, **kwargs)


def test_kernels_given_as_a_dataarray_are_read_by_dim_name():
    # kernels (kernel, kx, ky) were read by position: transposed kernels, unsaid
    import xarray as xr

    rng = np.random.default_rng(0)
    kernels = unit_kernels(rng, (3, 5, 5))
    da = xr.DataArray(kernels, dims=("kernel", "ky", "kx")).transpose("kernel", "kx", "ky")
    X = rng.standard_normal((2, 12, 12))
    np.testing.assert_array_equal(ConvolutionalNetwork(da).kernels, kernels)
    np.testing.assert_array_equal(encode(X, da, 0.1, method="fista"),
                                  encode(X, kernels, 0.1, method="fista"))
    # row takes ky's place (was refused)
    np.testing.assert_array_equal(ConvolutionalNetwork(
        xr.DataArray(kernels.transpose(0, 2, 1), dims=("kernel", "kx", "row"))).kernels, kernels)
    with pytest.raises(ValueError, match=r"^kernels is a DataArray with dims \('kernel', "
                                         r"'kx', 'x'\): expected \('kernel', 'ky', 'kx'\)"):
        ConvolutionalNetwork(xr.DataArray(kernels, dims=("kernel", "kx", "x")))


def test_a_sound_network_keeps_its_sample_rate(tmp_path):
    """learn(sample_rate=...) gave kernels with lag in s, but the network had no rate:
    to_dataset/save wrote its kernels on lags in samples, and a later learn or a spiking
    encode went back to samples unless the rate was given again. The network adopts it,
    saves it as attrs["sample_rate_hz"] with lag in s, and loads it back."""
    import xarray as xr

    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 40))
    net = ConvolutionalNetwork(n_kernels=3, kernel_shape=5, lam=0.2)
    learned = net.learn(X, n_updates=2, crop_size=20, seed=3, progress=False,
                        sample_rate=16000)
    assert net.sample_rate == 16000.0 and net.params()["sample_rate"] == 16000.0
    ref = learn_kernels(X, 3, 5, lam=0.2, n_updates=2, crop_size=20, seed=3,
                        progress=False, sample_rate=16000)
    np.testing.assert_array_equal(learned["kernels"].values, ref["kernels"].values)
    ds = net.to_dataset()
    for lag in (ds["lag"], learned["lag"]):
        np.testing.assert_array_equal(lag.values, np.arange(5) / 16000)
        assert lag.attrs["units"] == "s"
    assert ds.attrs["sample_rate_hz"] == 16000.0 and ds.attrs["time_units"] == "s"
    assert "sample_rate" not in ds.attrs  # the study's name, not the network file's
    back = ConvolutionalNetwork.load(net.save(tmp_path / "net.nc"))
    assert back.sample_rate == 16000.0 and back.params() == net.params()
    xr.testing.assert_identical(back.to_dataset(), ds)
    # a second call learns at the network's rate, given or not; another rate is refused
    back.learn(X, n_updates=1, crop_size=20, seed=4, progress=False)
    assert back.history_.attrs["sample_rate_hz"] == 16000.0
    back.learn(X, n_updates=1, crop_size=20, seed=5, progress=False, sample_rate=16000.0)
    kernels = back.kernels.copy()
    with pytest.raises(ValueError, match=r"^sample_rate=8000 contradicts the network's "
                                         r"sample_rate=16000\.0 Hz: resample the sounds to "
                                         r"16000 Hz \(or, for kernels meant for 8000 Hz, set "
                                         r"net\.sample_rate = 8000 first\)$"):
        back.learn(X, n_updates=1, progress=False, sample_rate=8000)
    np.testing.assert_array_equal(back.kernels, kernels)
    assert back.sample_rate == 16000.0 and back.history_.sizes["update"] == 4
    # images have no rate, set or learned with
    images = ConvolutionalNetwork(n_kernels=2, kernel_shape=(3, 3))
    with pytest.raises(ValueError, match=r"^sample_rate=8000 applies to sounds"):
        images.learn(np.ones((2, 8, 8)), n_updates=1, progress=False, sample_rate=8000)
    with pytest.raises(ValueError, match=r"^sample_rate=100\.0 applies to sounds"):
        images.sample_rate = 100
    with pytest.raises(ValueError, match=r"^sample_rate must be a positive finite number, "
                                         r"got nan$"):
        net.sample_rate = np.nan
    assert images.sample_rate is None and net.sample_rate == 16000.0


def test_a_network_built_from_learned_sound_kernels_takes_their_rate():
    """ConvolutionalNetwork(learned["kernels"]) had no rate although the kernels' lag
    was in s: its lags and codes' times went back to samples, unsaid. The rate comes
    from the lag coordinate (or attrs["sample_rate_hz"]); another one given is refused."""
    import xarray as xr

    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 40))
    learned = learn_kernels(X, 3, 5, lam=0.2, n_updates=1, crop_size=20, seed=3,
                            progress=False, sample_rate=16000)
    net = ConvolutionalNetwork(learned["kernels"], lam=0.2)
    assert net.sample_rate == 16000.0
    np.testing.assert_array_equal(net.to_dataset()["lag"].values, np.arange(5) / 16000)
    assert ConvolutionalNetwork(learned["kernels"], sample_rate=16000).sample_rate == 16000.0
    with pytest.raises(ValueError, match=r"^sample_rate=8000 contradicts the 'lag' coordinate "
                                         r"of kernels \(in s\), which says 16000 Hz: pass "
                                         r"sample_rate=16000, or None to take it from "
                                         r"kernels$"):
        ConvolutionalNetwork(learned["kernels"], sample_rate=8000)
    kernels = unit_kernels(rng, (2, 7))
    lag = ("lag", np.arange(7) / 44100, {"units": "s"})
    # the rate the lags were made with, not (n - 1) / span's 44099.99999999999
    assert ConvolutionalNetwork(xr.DataArray(kernels, dims=("kernel", "lag"),
                                             coords={"lag": lag})).sample_rate == 44100.0
    in_attrs = xr.DataArray(kernels, dims=("kernel", "lag"), attrs={"sample_rate_hz": 8000})
    assert ConvolutionalNetwork(in_attrs).sample_rate == 8000.0
    # lags in samples carry no rate
    samples = xr.DataArray(kernels, dims=("kernel", "lag"), coords={"lag": np.arange(7)})
    assert ConvolutionalNetwork(samples).sample_rate is None
    assert ConvolutionalNetwork(samples, sample_rate=8000).sample_rate == 8000.0
    uneven = ("lag", np.arange(7) ** 2 / 8000, {"units": "s"})
    with pytest.raises(ValueError, match=r"^the 'lag' coordinate of kernels \(in s\) is not "
                                         r"evenly increasing, so it has no sample rate"):
        ConvolutionalNetwork(xr.DataArray(kernels, dims=("kernel", "lag"),
                                          coords={"lag": uneven}))


def test_a_sound_network_without_a_rate_says_so_and_old_files_load(tmp_path):
    """Files saved before networks had a rate (kernels on lag without coordinate, no
    sample_rate_hz) load with none; a network without one says its lags are samples."""
    import xarray as xr

    from v1model.io import save_dataset

    kernels = unit_kernels(np.random.default_rng(0), (2, 6))
    old = xr.Dataset({"kernels": (("kernel", "lag"), kernels, {
        "long_name": "receptive fields shared by every position", "units": "1"})},
        coords={"kernel": np.arange(2)})
    old.attrs.update(n_kernels=2, kernel_shape=[6], stride=[2], boundary="valid", lam=0.3,
                     threshold="nonneg", tau=0.02, kind="v1model.ConvolutionalNetwork")
    net = ConvolutionalNetwork.load(save_dataset(old, tmp_path / "old.nc"))
    assert net.sample_rate is None
    np.testing.assert_array_equal(net.kernels, kernels)
    assert net.params() == ConvolutionalNetwork(kernels, stride=2, boundary="valid",
                                                lam=0.3, threshold="nonneg",
                                                tau=0.02).params()
    ds = net.to_dataset()
    assert "lag" not in ds.coords and "sample_rate_hz" not in ds.attrs
    assert ds.attrs["time_units"] == "samples (no sample_rate given)"
    xr.testing.assert_identical(ds, old.assign_attrs(
        time_units="samples (no sample_rate given)", kind="v1model.ConvolutionalNetwork"))
    # images record neither
    assert {"time_units", "sample_rate_hz"}.isdisjoint(
        ConvolutionalNetwork(np.ones((2, 3, 3))).to_dataset().attrs)
    # the rate of a first learn is adopted
    net.learn(np.random.default_rng(1).standard_normal((2, 30)), n_updates=1,
              progress=False, seed=0, sample_rate=8000)
    assert net.sample_rate == 8000.0 and net.to_dataset().attrs["sample_rate_hz"] == 8000.0
    bad = ds.assign_attrs(sample_rate_hz=-1.0)
    with pytest.raises(ValueError, match=r"^ds.attrs\['sample_rate_hz'\] must be a positive "
                                         r"finite number, got -1\.0$"):
        ConvolutionalNetwork.from_dataset(bad)


def test_spiking_codes_of_a_sound_network_are_in_seconds(monkeypatch):
    """encode(backend="spiking") gave onsets in samples unless the rate was given again:
    the network's rate goes to spiking_convolutional_lca (its Dataset's time and lag in
    s), a rate of its own is refused; the ODE backend's array codes take none."""
    import v1model.spiking as spiking
    from v1model.convolutional import ConvolutionalDictionary

    calls = []

    def fake(X, kernels, lam, *, stride, boundary, sample_rate=None, **kwargs):
        calls.append(sample_rate)
        phi = ConvolutionalDictionary(kernels, np.shape(X)[1:], stride=stride,
                                      boundary=boundary)
        codes = np.zeros((len(X), len(kernels)) + phi.code_shape)
        return phi.codes_dataset(codes, sample_rate=sample_rate).rename(codes="code")

    monkeypatch.setattr(spiking, "spiking_convolutional_lca", fake)
    kernels = unit_kernels(np.random.default_rng(0), (3, 4))
    X = np.zeros((2, 20))
    net = ConvolutionalNetwork(kernels, stride=2, boundary="valid", lam=0.4,
                               threshold="nonneg", sample_rate=8000)
    _, ds = net.encode(X, backend="spiking", return_dataset=True)
    np.testing.assert_array_equal(ds["time"].values, np.arange(0, 17, 2) / 8000)
    np.testing.assert_array_equal(ds["lag"].values, np.arange(4) / 8000)
    assert ds.attrs["sample_rate_hz"] == 8000.0
    net.encode(X, backend="spiking", sample_rate=8000)
    with pytest.raises(ValueError, match=r"^sample_rate=16000 contradicts the network's "
                                         r"sample_rate=8000\.0 Hz"):
        net.encode(X, backend="spiking", sample_rate=16000)
    plain = ConvolutionalNetwork(kernels, threshold="nonneg")
    plain.encode(X, backend="spiking")
    plain.encode(X, backend="spiking", sample_rate=22050)  # given for one call
    assert calls == [8000.0, 8000.0, None, 22050.0] and plain.sample_rate is None
    with pytest.raises(ValueError, match=r"^sample_rate=8000 is not for backend='ode': its "
                                         r"codes are arrays whose positions count samples"):
        net.encode(X, sample_rate=8000)


@pytest.mark.parametrize("threshold", ["soft", "nonneg"])
def test_spiking_units_are_labelled_with_their_polarity_and_kernel(monkeypatch, threshold):
    """threshold="soft" runs an ON and an OFF unit per copy: the spiking Dataset's
    ``kernel`` ran 0 .. 2n - 1 and nothing said which unit was which. Each unit now
    carries ``polarity`` (+1 / -1) and ``source_kernel``: its kernel in the Dataset is
    ``polarity * net.kernels[source_kernel]``, and the ON minus OFF codes summed by
    source kernel are the codes encode returns."""
    import v1model.spiking as spiking
    from v1model.convolutional import ConvolutionalDictionary

    def fake(X, kernels, lam, *, stride, boundary, **kwargs):  # no Brian2: its Dataset's form
        phi = ConvolutionalDictionary(kernels, np.shape(X)[1:], stride=stride,
                                      boundary=boundary, dtype=np.float64)
        return phi.codes_dataset(np.maximum(phi.analyze(X) - lam, 0)).rename(codes="code")

    monkeypatch.setattr(spiking, "spiking_convolutional_lca", fake)
    rng = np.random.default_rng(0)
    kernels = unit_kernels(rng, (3, 7))
    net = ConvolutionalNetwork(kernels, stride=2, lam=0.8, threshold=threshold)
    codes, ds = net.encode(rng.standard_normal((2, 40)), backend="spiking",
                           return_dataset=True)
    n_units = 2 * net.n_kernels if threshold == "soft" else net.n_kernels
    expected = [1] * net.n_kernels + ([-1] * net.n_kernels if threshold == "soft" else [])
    np.testing.assert_array_equal(ds["polarity"].values, expected)
    np.testing.assert_array_equal(ds["source_kernel"].values, np.arange(n_units) % 3)
    assert ds["polarity"].dims == ds["source_kernel"].dims == ("kernel",)
    np.testing.assert_array_equal(
        ds["kernels"].values,
        ds["polarity"].values[:, None] * kernels[ds["source_kernel"].values])
    back = (ds["polarity"] * ds["code"]).groupby("source_kernel").sum()
    np.testing.assert_array_equal(back.transpose("sample", "source_kernel", "time").values,
                                  codes)
    if threshold == "soft":  # both signs coded
        assert codes.min() < 0 < codes.max()


def _images_and_sounds():
    rng = np.random.default_rng(3)
    images = rng.standard_normal((2, 12, 12))  # square: a transposed stack has their shape
    sounds = rng.standard_normal((3, 64))
    return (images, unit_kernels(rng, (3, 4, 4))), (sounds, unit_kernels(rng, (2, 8)))


def _some_codes(kernels):
    """Codes ("full" boundary, stride 1) for the signals of :func:`_images_and_sounds`."""
    shape = (2, 3, 15, 15) if kernels.ndim == 3 else (3, 2, 71)
    return np.random.default_rng(4).standard_normal(shape)


_SIGNAL_CALLS = {
    "encode": lambda X, k: encode(X, k, 0.1, method="fista"),
    "matching_pursuit": lambda X, k: matching_pursuit(X, k, n_nonzero=3),
    "objective": lambda X, k: objective(X, _some_codes(k), k, 0.1),
    "network.encode": lambda X, k: ConvolutionalNetwork(k, lam=0.1).encode(X, method="fista"),
    "learn_kernels": lambda X, k: learn_kernels(X, len(k), k.shape[1:], n_updates=2,
                                                seed=0, progress=False)["kernels"].values,
}


@pytest.mark.parametrize("call", list(_SIGNAL_CALLS))
@pytest.mark.parametrize("kind, dims, order", [
    ("images", ("sample", "y", "x"), ("sample", "x", "y")),
    ("images", ("image", "y", "x"), ("x", "image", "y")),
    ("sounds", ("sample", "time"), ("time", "sample"))])
def test_signals_given_as_a_dataarray_are_read_by_dim_name(call, kind, dims, order):
    # signals were read by position: images (sample, x, y) coded transposed, sounds
    # (time, sample) as 64 sounds of 3 samples, unsaid
    import xarray as xr

    X, kernels = dict(zip(("images", "sounds"), _images_and_sounds()))[kind]
    da = xr.DataArray(X, dims=dims).transpose(*order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings, alike for both
        expected = _SIGNAL_CALLS[call](X, kernels)
        np.testing.assert_array_equal(_SIGNAL_CALLS[call](da, kernels), expected)


def test_convolutional_codes_given_as_a_dataarray_are_read_by_dim_name():
    # codes_dataset's codes (sample, kernel, y, x) transposed were read by position
    from v1model.convolutional import ConvolutionalDictionary

    (X, kernels), _ = _images_and_sounds()
    phi = ConvolutionalDictionary(kernels, X.shape[1:], dtype=np.float64)
    codes = encode(X, phi, 0.1, method="fista")
    da = phi.codes_dataset(codes)["codes"].transpose("x", "kernel", "y", "sample")
    np.testing.assert_array_equal(reconstruct(da, phi), reconstruct(codes, phi))
    np.testing.assert_array_equal(objective(X, da, phi, 0.1), objective(X, codes, phi, 0.1))
    np.testing.assert_array_equal(phi.codes_dataset(da)["codes"].values, codes)
    np.testing.assert_array_equal(encode(X, phi, 0.1, method="fista", codes0=da, max_iter=3),
                                  encode(X, phi, 0.1, method="fista", codes0=codes,
                                         max_iter=3))


@pytest.mark.parametrize("name, call", [
    ("X", lambda X, k: encode(X, k, 0.1)),
    ("X", lambda X, k: matching_pursuit(X, k, n_nonzero=3)),
    ("X", lambda X, k: objective(X, np.zeros((2, 3, 15, 15)), k, 0.1)),
    ("X", lambda X, k: ConvolutionalNetwork(k).encode(X)),
    ("images", lambda X, k: learn_kernels(X, 3, 4, n_updates=2, progress=False)),
    # refused before Brian2 builds anything
    ("X", lambda X, k: spiking_convolutional_lca(X, k, 0.1)),
])
def test_signals_naming_their_dims_elsewhere_are_refused(name, call):
    import xarray as xr

    (X, kernels), _ = _images_and_sounds()
    da = xr.DataArray(X, dims=("sample", "x", "time"))  # a package name: not read as y
    with pytest.raises(ValueError, match=rf"^{name} is a DataArray with dims \('sample', 'x', "
                                         rf"'time'\): expected \('sample', 'y', 'x'\) in any "
                                         rf"order \(read by name\), got \['x'\] at other "
                                         rf"positions"):
        call(da, kernels)


@pytest.mark.parametrize("method, kwargs", [("fista", {}), ("lca", dict(n_steps=5)),
                                            ("mp", dict(tol=0.5, max_iter=20))])
def test_integer_sounds_below_their_step_are_warned_of_once(method, kwargs):
    """ConvolutionalNetwork.encode of int16 sounds with the network's lam=0.1 (or mp's
    tol=0.5), meant for full scale 1, was unsaid: warned of once, at the caller's line,
    by the solver it calls; a lam of 1 or more is not."""
    rng = np.random.default_rng(0)
    sounds = np.round(rng.standard_normal((2, 200)) * 3000).astype(np.int16)
    net = ConvolutionalNetwork(kernels=unit_kernels(rng, (3, 12)), stride=2, lam=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.encode(sounds, method=method, **kwargs)
    warned = [w for w in caught if "is below" in str(w.message)]
    # mp's tol: a squared norm over the 200 samples of a signal, one step in each
    start = ("tol=0.5 is below 200, the squared norm of a residual of one step in each of "
             "the 200 int16 samples of a signal of X, which" if method == "mp" else
             "lam=0.1 is below 1, the step of the int16 samples of X, which")
    assert len(warned) == 1 and str(warned[0].message).startswith(start), warned
    assert warned[0].filename == __file__
    if method != "mp":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            net.encode(sounds, method=method, lam=300.0, **kwargs)
