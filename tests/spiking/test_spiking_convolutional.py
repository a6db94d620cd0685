"""Spiking convolutional LCA on Brian2 (numpy target) against the non-negative
LASSO of the explicit matrix (scikit-learn), the dense spiking LCA on that
matrix, and analytic integrate-and-fire rates."""

import numpy as np
import pytest

from v1model.convolutional import ConvolutionalDictionary, encode
from v1model.spiking import spiking_convolutional_lca, spiking_lca

pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]

TAU_M = 0.01


def _problem(seed=0, signal_shape=(48,), kernel_shape=(8,), n_kernels=3, stride=2,
             boundary="full", n_signals=4):
    """Unit-norm Gaussian kernels, Gaussian signals, lam = 0.3 max Φᵀx."""
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((n_kernels,) + kernel_shape)
    K /= np.linalg.norm(K.reshape(n_kernels, -1), axis=1).reshape((-1,) + (1,) * len(
        kernel_shape))
    phi = ConvolutionalDictionary(K, signal_shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    X = rng.standard_normal((n_signals,) + signal_shape)
    lam = 0.3 * float(np.abs(phi.analyze(X)).max())
    return phi, X, lam


def _sklearn_nonneg_lasso(M, X, lam):
    from sklearn.linear_model import Lasso

    X = X.reshape(len(X), -1)
    model = Lasso(alpha=lam / X.shape[1], fit_intercept=False, positive=True, tol=1e-12,
                  max_iter=100000)
    return np.stack([model.fit(M.T, x).coef_.copy() for x in X])


@pytest.fixture(scope="module")
def run_1d():
    phi, X, lam = _problem()
    ds = spiking_convolutional_lca(X, phi.kernels, lam, stride=2, duration=1.0,
                                   target="numpy", seed=0, record_spikes=True)
    return phi, X, lam, ds


def test_rates_converge_to_the_nonnegative_convolutional_lasso(run_1d):
    phi, X, lam, ds = run_1d
    ref = _sklearn_nonneg_lasso(phi.as_matrix(), X, lam).reshape(ds["code"].shape)
    err = np.linalg.norm(ds["code"].values - ref) / np.linalg.norm(ref)
    assert err < 0.03, err  # measured 0.009 after 1 s
    # the same optimum as the ODE-free solver of the package
    fista = encode(X, phi.kernels, lam, method="fista", threshold="nonneg", stride=2,
                   dtype=np.float64, tol=1e-10, max_iter=100000)
    np.testing.assert_allclose(fista, ref, atol=1e-6)
    # a code is sparse: units whose LASSO code is zero hardly fire
    assert ds["code"].values[ref == 0].max() < 0.05 * ref.max()


def test_same_spikes_as_the_dense_spiking_lca_on_the_explicit_matrix(run_1d):
    """Units in as_matrix order, the same seed: the local network is the dense one
    with the zero synapses left out."""
    phi, X, lam, ds = run_1d
    dense = spiking_lca(X.reshape(len(X), -1), phi.as_matrix(), lam, duration=1.0,
                        target="numpy", seed=0)
    np.testing.assert_array_equal(ds["spike_count"].values.reshape(len(X), -1),
                                  dense["spike_count"].values)
    np.testing.assert_allclose(ds["drive"].values.reshape(len(X), -1),
                               dense["drive"].values, atol=1e-12)
    # the same synapses (the dense network drops the zero weights between copies
    # that do not overlap): (2 * 4 - 1) lags x 3 kernels per unit at most
    assert ds.attrs["n_synapses"] == dense.attrs["n_synapses"]
    assert ds.attrs["n_synapses"] <= len(X) * phi.n_coefficients * 7 * 3


@pytest.mark.parametrize("boundary, stride", [("valid", (1, 2)), ("circular", 2)])
def test_images_every_boundary_without_inhibition_fire_at_the_thresholded_drive(
        boundary, stride):
    phi, X, lam = _problem(1, signal_shape=(10, 12), kernel_shape=(4, 4), n_kernels=2,
                           stride=stride, boundary=boundary, n_signals=2)
    ds = spiking_convolutional_lca(X, phi.kernels, lam, stride=stride, boundary=boundary,
                                   duration=0.5, target="numpy", seed=0, inhibition=False)
    # a non-leaky integrate-and-fire unit: rate = max(b - lam, 0) / tau_m, up to one
    # spike over the 0.35 s counting window
    expected = np.maximum(phi.analyze(X) - lam, 0) / TAU_M
    assert ds["rate"].dims == ("sample", "kernel", "y", "x")
    np.testing.assert_allclose(ds["rate"].values, expected, atol=1 / 0.35 + 1e-9)
    # the geometry on the maps alone (codes_dataset's one record of it)
    assert ds.attrs["n_synapses"] == 0 and ds["code"].attrs["boundary"] == boundary
    assert "boundary" not in ds.attrs


def test_dataset_labels_units_and_round_trip(run_1d, tmp_path):
    phi, X, lam, ds = run_1d
    assert ds["code"].dims == ("sample", "kernel", "time")
    np.testing.assert_array_equal(ds["time"].values, phi.positions()[0])
    np.testing.assert_allclose(ds["code"].values, ds["rate"].values * TAU_M)
    assert ds["rate"].attrs["units"] == "Hz" and ds["spike_time"].attrs["units"] == "s"
    assert ds.attrs["lam"] == lam and ds["code"].attrs["stride"].tolist() == [2]
    assert ds.attrs["n_neurons"] == len(X) * phi.n_coefficients
    # every recorded spike in the counting window is counted once, at its unit
    t = ds["spike_time"].values
    late = t >= 0.3 - 1e-9
    counts = np.zeros(ds["spike_count"].shape, int)
    np.add.at(counts, (ds["spike_sample"].values[late], ds["spike_kernel"].values[late],
                       ds["spike_position"].values[late]), 1)
    np.testing.assert_array_equal(counts, ds["spike_count"].values)
    from v1model.io import load_dataset, save_dataset

    back = load_dataset(save_dataset(ds, tmp_path / "s.nc"))
    np.testing.assert_array_equal(back["spike_count"].values, ds["spike_count"].values)


def test_every_map_of_the_units_carries_the_geometry_reconstruct_reads(run_1d, tmp_path):
    """Only ``code`` carried the geometry (signal_shape, stride, boundary) in its attrs:
    ``reconstruct(ds.rate, kernels)`` of a saved run needed signal_shape again. ``rate``,
    ``spike_count`` and ``drive`` carry it too; after a netCDF round trip each
    reconstructs as its values times the explicit matrix do."""
    from v1model.convolutional import reconstruct
    from v1model.io import load_dataset, save_dataset

    phi, X, lam, ds = run_1d
    back = load_dataset(save_dataset(ds, tmp_path / "s.nc"))
    M = phi.as_matrix()
    for name in ("code", "rate", "spike_count", "drive"):
        values = back[name].values.astype(np.float64)
        want = values.reshape(len(X), -1) @ M
        made = reconstruct(back[name], phi.kernels, dtype=np.float64)  # counts are ints
        assert made.shape == X.shape, name
        np.testing.assert_allclose(made.reshape(len(X), -1), want, rtol=0,
                                   atol=1e-12 * np.abs(want).max(), err_msg=name)


# the labels are under test: the short run's coarse rates are warned of, and beside the point
@pytest.mark.filterwarnings("ignore:the largest drive:RuntimeWarning")
def test_kernels_learned_with_a_rate_give_onsets_in_seconds():
    """learn_kernels(sample_rate=...)'s kernels carry their rate (lag in s): run on them
    without the rate given again, the codes' positions were in samples, unsaid; another
    rate given is refused before Brian2 builds anything."""
    import xarray as xr

    phi, X, lam = _problem()
    kernels = xr.DataArray(phi.kernels, dims=("kernel", "lag"),
                           coords={"lag": ("lag", np.arange(8) / 8000, {"units": "s"})})
    ds = spiking_convolutional_lca(X[:1], kernels, lam, stride=2, duration=0.02,
                                   target="numpy", seed=0)
    np.testing.assert_array_equal(ds["time"].values, phi.positions()[0] / 8000)
    assert ds["time"].attrs["units"] == "s" and ds.attrs["sample_rate_hz"] == 8000.0
    with pytest.raises(ValueError, match=r"^sample_rate=16000 contradicts the rate of the "
                                         r"dictionary's kernels, 8000 Hz \(their lag in s\): "
                                         r"pass sample_rate=8000, or None to take theirs$"):
        spiking_convolutional_lca(X, kernels, lam, stride=2, target="numpy", duration=0.01,
                                  sample_rate=16000)


# the rate is under test: the short run's coarse rates are warned of, and beside the point
@pytest.mark.filterwarnings("ignore:the largest drive:RuntimeWarning")
def test_a_dictionary_with_a_rate_is_the_rates_one_source(monkeypatch):
    """The solver read the rate from the kernels itself (a DataArray's lag in s), not
    from the dictionary as_dictionary made: a ConvolutionalDictionary's own rate was
    checked only after the simulation, where its codes_dataset refused a contradicting
    sample_rate, and kernels with attrs["sample_rate_hz"] were read twice. The rate is
    now the dictionary's (signal_sample_rate): a contradiction is refused before Brian2
    builds anything, for a dictionary as for a DataArray, and an agreeing rate is taken."""
    import xarray as xr

    import v1model.spiking.convolutional as spiking_conv

    phi, X, lam = _problem()
    lag_in_s = xr.DataArray(phi.kernels, dims=("kernel", "lag"),
                            coords={"lag": ("lag", np.arange(8) / 8000, {"units": "s"})})
    in_attrs = xr.DataArray(phi.kernels, dims=("kernel", "lag"),
                            attrs={"sample_rate_hz": 8000.0})
    rated = ConvolutionalDictionary(lag_in_s, (48,), stride=2, dtype=np.float64)

    def no_network(*args, **kwargs):
        raise AssertionError("the network ran before the rate was checked")

    monkeypatch.setattr(spiking_conv, "_run_network", no_network)
    for kernels in (rated, rated.astype(np.float32), lag_in_s, in_attrs):
        with pytest.raises(ValueError, match=r"^sample_rate=16000 contradicts the rate of the "
                                             r"dictionary's kernels, 8000 Hz"):
            spiking_convolutional_lca(X, kernels, lam, stride=2, target="numpy",
                                      duration=0.01, sample_rate=16000)
        # an agreeing rate (or none) passes the check and reaches the network
        for rate in (None, 8000.0):
            with pytest.raises(AssertionError, match="the network ran"):
                spiking_convolutional_lca(X, kernels, lam, stride=2, target="numpy",
                                          duration=0.01, sample_rate=rate)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lam=-1.0), ValueError, r"lam must be a non-negative finite number, got -1\.0"),
    (dict(dt=0.01), ValueError, r"dt=0\.01 s must be shorter than tau_syn"),
    (dict(transient_fraction=1.0), ValueError, r"transient_fraction must be < 1 .*, got 1"),
    (dict(boundary="same"), ValueError, r"boundary must be one of .*; got 'same'"),
    (dict(stride=9), ValueError, r"stride=\(9,\) exceeds the kernel size"),
    (dict(record_spikes="yes"), TypeError, r"record_spikes must be a bool, got 'yes'"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    phi, X, lam = _problem()
    args = dict(lam=lam, target="numpy", duration=0.01)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        spiking_convolutional_lca(X, phi.kernels, **args)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value"):
        spiking_convolutional_lca(X, phi.kernels, lam, target="numpy", duration=0.01)


# the labels are under test: the short run's coarse rates are warned of, and beside the point
@pytest.mark.filterwarnings("ignore:the largest drive:RuntimeWarning")
def test_sounds_with_a_sample_rate_have_onsets_and_lags_in_seconds(run_1d, tmp_path):
    """The codes' position axis was in samples with no rate recorded: with sample_rate
    it is in seconds (time_sample keeps the samples), beside the simulated spike_time;
    a bad rate, or a rate for images, is refused before Brian2 builds anything."""
    phi, X, lam, _ = run_1d
    ds = spiking_convolutional_lca(X[:1], phi.kernels, lam, stride=2, duration=0.02,
                                   target="numpy", seed=0, sample_rate=8000)
    np.testing.assert_array_equal(ds["time"].values, phi.positions()[0] / 8000)
    assert ds["time"].attrs["units"] == "s" and ds.attrs["sample_rate_hz"] == 8000.0
    np.testing.assert_array_equal(ds["time_sample"].values, phi.positions()[0])
    np.testing.assert_array_equal(ds["lag"].values, np.arange(8) / 8000)
    with pytest.raises(ValueError, match=r"^sample_rate must be a positive finite number, "
                                         r"got -8000$"):
        spiking_convolutional_lca(X, phi.kernels, lam, target="numpy", duration=0.01,
                                  sample_rate=-8000)
    image, Y, lam2 = _problem(signal_shape=(8, 8), kernel_shape=(3, 3), stride=1)
    with pytest.raises(ValueError, match=r"^sample_rate=8000 applies to sounds"):
        spiking_convolutional_lca(Y, image.kernels, lam2, target="numpy", duration=0.01,
                                  sample_rate=8000)


def test_standalone_key_holds_what_the_generated_code_depends_on(reuse_key_of):
    """cpp_standalone compiled a new project on every call (a minute each): a loop over
    signals paid a compile per call. The kept project's key holds the network (kernels,
    geometry, lam, times, number and shape of the signals, record_spikes); signals and
    seeds are run_args. The Gram matrix is sparse, built anew on every call: its bytes as
    a NumPy array were those of a pointer, another key on every call."""
    phi, X, lam = _problem(n_signals=4)
    base = dict(stride=2, duration=1.0, target="cpp_standalone", seed=0)

    def key(X=X[:2], kernels=phi.kernels, lam=lam, **changes):
        return reuse_key_of(spiking_convolutional_lca, X, kernels, lam, **{**base, **changes})

    first = key()
    assert first is not None
    assert first == key() == key(X=X[2:]) == key(seed=1) == key(v_init="zero")
    _, Y, _ = _problem(signal_shape=(40,), n_signals=2)
    for other in (key(lam=0.9 * lam), key(duration=0.5), key(X=X[:3]), key(X=Y),
                  key(kernels=np.roll(phi.kernels, 1, axis=1)), key(stride=1),
                  key(boundary="circular"), key(record_spikes=True), key(inhibition=False),
                  key(tau_syn=0.005)):
        assert other is not None and other != first
    assert key(noise=0.1) is None and key(target="cython") is None


def test_a_gram_matrix_of_zeros_has_the_key_of_no_inhibition(reuse_key_of):
    """Kernels that never overlap (one kernel, stride = its length, whole windows only)
    have no inhibitory synapse: inhibition=True built the code of inhibition=False under
    another key."""
    from v1model.convolutional import gram_matrix

    geometry = dict(kernel_shape=(8,), stride=8, boundary="valid", n_signals=2)
    phi, X, lam = _problem(n_kernels=1, **geometry)
    G = gram_matrix(phi).toarray()
    assert np.abs(G - np.eye(len(G))).max() < 1e-12  # no pair of positions overlaps
    kw = dict(stride=8, boundary="valid", duration=1.0, target="cpp_standalone", seed=0)
    assert (reuse_key_of(spiking_convolutional_lca, X, phi.kernels, lam, **kw)
            == reuse_key_of(spiking_convolutional_lca, X, phi.kernels, lam,
                            inhibition=False, **kw))
    two, Y, lam2 = _problem(n_kernels=2, **geometry)
    assert (reuse_key_of(spiking_convolutional_lca, Y, two.kernels, lam2, **kw)
            != reuse_key_of(spiking_convolutional_lca, Y, two.kernels, lam2,
                            inhibition=False, **kw))


def test_a_smaller_batch_runs_the_kept_project_of_a_larger_one(reuse_key_of, kept_project):
    """The signals of a loop's last, smaller batch run the kept project of the same
    network for more signals (padded), not a new compile; the project is the dense
    spiking LCA's (one network code)."""
    phi, X, lam = _problem(n_signals=4)
    kw = dict(stride=2, duration=1.0, target="cpp_standalone", seed=0)
    batch = reuse_key_of(spiking_convolutional_lca, X[:3], phi.kernels, lam, **kw)
    kept_project(batch)
    assert reuse_key_of(spiking_convolutional_lca, X[3:], phi.kernels, lam, **kw) == batch
    other = reuse_key_of(spiking_convolutional_lca, X[3:], phi.kernels, 0.9 * lam, **kw)
    assert other.n_samples == 1 and other != batch


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:the largest drive:RuntimeWarning")
def test_cpp_standalone_runs_the_project_an_earlier_call_compiled():
    """A call of the same network on other signals (and seeds) runs the project the first
    call compiled, with its own drive and initial potentials: nothing built, the spikes
    of the numpy target, and again those of the fresh project for the first signals."""
    from v1model.spiking import _brian

    phi, X, lam = _problem(n_signals=4)
    kw = dict(stride=2, duration=0.1, record_spikes=True, progress=False)
    # a project another test kept (of this model for more signals) would run X[:2] padded
    _brian.forget_standalone_project()
    try:
        fresh = spiking_convolutional_lca(X[:2], phi.kernels, lam, target="cpp_standalone",
                                          seed=1, **kw)
        folder = _brian._STANDALONE_PROJECT["directory"]
        other = spiking_convolutional_lca(X[2:], phi.kernels, lam, target="cpp_standalone",
                                          seed=0, **kw)
        again = spiking_convolutional_lca(X[:2], phi.kernels, lam, target="cpp_standalone",
                                          seed=1, **kw)
        last = spiking_convolutional_lca(X[3:], phi.kernels, lam, target="cpp_standalone",
                                         seed=0, **kw)  # a smaller batch: padded
        assert _brian._STANDALONE_PROJECT["directory"] == folder
    finally:
        _brian.forget_standalone_project()
    assert other.attrs["build_time"] == again.attrs["build_time"] == 0.0
    assert fresh.attrs["build_time"] > 0
    reference = spiking_convolutional_lca(X[2:], phi.kernels, lam, target="numpy", seed=0,
                                          **kw)
    assert reference.sizes["spike"] > 40
    assert not np.array_equal(other["spike_count"], fresh["spike_count"])
    for key in ("spike_time", "spike_sample", "spike_kernel", "spike_position",
                "spike_count"):
        np.testing.assert_array_equal(again[key], fresh[key], err_msg=key)
        np.testing.assert_array_equal(other[key], reference[key], err_msg=key)
    assert last.attrs["build_time"] == 0.0 and last.sizes["sample"] == 1
    alone = spiking_convolutional_lca(X[3:], phi.kernels, lam, target="numpy", seed=0, **kw)
    assert alone.sizes["spike"] > 10
    for key in ("spike_time", "spike_sample", "spike_kernel", "spike_position",
                "spike_count"):
        np.testing.assert_array_equal(last[key], alone[key], err_msg=key)



def test_int16_sounds_with_a_lam_below_their_step_are_warned_of(reuse_key_of):
    """int16 sounds (full scale 32768) with lam=0.1, meant for full scale 1, drive every
    unit past its threshold: warned of once, before Brian2 builds anything, at the
    caller's line (spiking_convolutional_lca and the network's spiking backend), as
    encode warns of them; float sounds and lam >= 1 are not."""
    import os
    import warnings

    from v1model.convolutional import ConvolutionalNetwork

    phi, X, _ = _problem()
    sounds = np.round(X * 3000).astype(np.int16)
    net = ConvolutionalNetwork(kernels=phi.kernels, stride=2, lam=0.1, threshold="nonneg")
    for call in (lambda: reuse_key_of(spiking_convolutional_lca, sounds, phi.kernels, 0.1,
                                      stride=2, target="numpy"),
                 lambda: reuse_key_of(net.encode, sounds, backend="spiking",
                                      target="numpy")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        warned = [w for w in caught if "is below 1, the step" in str(w.message)]
        assert len(warned) == 1 and str(warned[0].message).startswith(
            "lam=0.1 is below 1, the step of the int16 samples of X, which"), warned
        # the line that called it: reuse_key_of's, in the spiking tests' conftest.py
        assert warned[0].filename.endswith(os.path.join("spiking", "conftest.py"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        reuse_key_of(spiking_convolutional_lca, sounds / 32768, phi.kernels, 0.1, stride=2,
                     target="numpy")
        reuse_key_of(spiking_convolutional_lca, sounds, phi.kernels, 300.0, stride=2,
                     target="numpy")

@pytest.mark.parametrize("channels", [3, 4])
def test_a_colour_picture_is_refused_saying_so(channels):
    # one RGB picture (32, 32, 3) ran as 32 images of 32 x 3 pixels, without a word (so did
    # encode, which builds its dictionary for X the same way)
    rng = np.random.default_rng(0)
    kernels = rng.standard_normal((4, 5, 5))
    picture = rng.random((32, 32, channels))
    match = rf"^X has shape \(32, 32, {channels}\), one colour picture .*rgb2gray"
    with pytest.raises(ValueError, match=match):
        spiking_convolutional_lca(picture, kernels, 0.1, duration=0.01, target="numpy")
    with pytest.raises(ValueError, match=match):
        encode(picture, kernels, 0.1)
    # gray pictures of the same shape run, as do 1-D signals (32 sounds of 3 samples)
    assert spiking_convolutional_lca(picture[..., 0], kernels, 0.1, duration=0.01,
                                     target="numpy", seed=0)["code"].shape == (1, 4, 36, 36)
    assert encode(picture[0], rng.standard_normal((2, 2)), 0.1).shape == (32, 2, channels + 1)
