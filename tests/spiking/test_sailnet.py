"""SAILnet: inference against an independent per-image implementation of the
authors' discrete-time LIF and against the Brian2 network; learning against
the homeostatic target rate and against known localized generating features."""

import re
import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.io import seed_from_attr
from v1model.spiking import learn_sailnet, rf_overlap, rf_spread, sailnet_inference

P = 0.05


def _authors_activities(X, Q, W, theta, n_steps=50, eta=0.1):
    """SAILnet's ``activities.m`` transcribed one image at a time (column form)."""
    counts = np.zeros((X.shape[0], Q.shape[0]), dtype=int)
    for s, x in enumerate(X):
        b = Q @ x
        u = np.zeros(Q.shape[0])
        spikes = np.zeros(Q.shape[0])
        for _ in range(n_steps):
            u = (1 - eta) * u + eta * (b - W @ spikes)
            spikes = (u >= theta).astype(float)
            counts[s] += spikes.astype(int)
            u[spikes > 0] = 0.0
    return counts


@pytest.fixture(scope="module")
def weights():
    rng = np.random.default_rng(4)
    k, p = 24, 36
    Q = rng.standard_normal((k, p))
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    W = np.abs(rng.standard_normal((k, k))) * 0.4 * (rng.random((k, k)) < 0.5)
    np.fill_diagonal(W, 0)
    theta = rng.uniform(0.3, 0.8, k)
    X = rng.standard_normal((12, p))
    return X, Q, W, theta


def test_vectorised_inference_equals_the_authors_loop(weights):
    X, Q, W, theta = weights
    counts = sailnet_inference(X, Q, W, theta, dtype=np.float64)
    ref = _authors_activities(X, Q, W, theta)
    assert ref.sum() > 50 and counts.dtype == np.int64
    np.testing.assert_array_equal(counts, ref)
    # float32 (the default) changes at most a few threshold crossings
    assert np.mean(sailnet_inference(X, Q, W, theta) == ref) > 0.98


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_brian2_network_equals_numpy_kernel(weights):
    X, Q, W, theta = weights
    ref = sailnet_inference(X, Q, W, theta, dtype=np.float64)
    # float64, Brian2's own precision, is accepted (float32 is refused); tau sets the
    # clock (dt = eta * tau), not the counts
    counts = sailnet_inference(X, Q, W, theta, simulator="brian2", target="numpy",
                               dtype=np.float64, tau=0.02)
    np.testing.assert_array_equal(counts, ref)


def test_inhibition_lowers_counts(weights):
    X, Q, W, theta = weights
    free = sailnet_inference(X, Q, np.zeros_like(W), theta)
    inhibited = sailnet_inference(X, Q, W, theta)
    assert np.all(inhibited.sum(axis=1) <= free.sum(axis=1))
    assert inhibited.sum() < free.sum()


@pytest.fixture(scope="module")
def natural_images(whitened_images):
    return whitened_images


def test_thresholds_drive_mean_rate_to_target(natural_images):
    """Homeostasis alone (fixed receptive fields): rates start 5x too high, end at p."""
    # measured: 5.9 p at the start; the last 300 updates 0.023 p off p after 500 updates
    # (0.004 p after 800)
    ds = learn_sailnet(natural_images, 64, patch_size=8, beta=0.0, theta0=1.0,
                       n_updates=500, seed=0, progress=False)
    rate = ds["mean_rate"].values
    assert rate[:10].mean() > 3 * P
    assert abs(rate[-300:].mean() - P) <= 0.1 * P
    assert ds["W"].values.min() >= 0 and np.all(np.diag(ds["W"].values) == 0)


def _blob_data(n, seed, size=8, n_features=24):
    """Sparse non-negative mixtures of Gaussian blobs, normalised like SAILnet's patches."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centres = rng.uniform(1, size - 2, (n_features, 2))
    F = np.exp(-((yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2)
               / 2.0).reshape(n_features, -1)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = (rng.random((n, n_features)) < 0.05) * rng.exponential(1.0, (n, n_features))
    X = S @ F + 0.05 * rng.standard_normal((n, size * size))
    X -= X.mean(axis=1, keepdims=True)
    X /= X.std(axis=1, keepdims=True)
    return X, F


@pytest.fixture(scope="module")
def blob_run():
    X, F = _blob_data(10000, seed=0)
    ds = learn_sailnet(X, F.shape[0], n_updates=600, seed=1, progress=False, record_every=2)
    return ds, F


def test_receptive_fields_become_localized_on_sparse_blobs(blob_run):
    ds, F = blob_run
    Q = ds["Q"].values
    random_spread = np.median(rf_spread(np.random.default_rng(0).standard_normal(Q.shape)))
    assert np.median(rf_spread(Q)) < 0.75 * random_spread
    # the generating blobs (mean removed, as the patch normalisation does) are found
    Qn = Q.reshape(len(Q), -1) / np.linalg.norm(Q.reshape(len(Q), -1), axis=1, keepdims=True)
    Fc = F - F.mean(axis=1, keepdims=True)
    Fc /= np.linalg.norm(Fc, axis=1, keepdims=True)
    best = (Qn @ Fc.T).max(axis=0)
    assert np.mean(best > 0.8) >= 0.9


def test_the_blob_learning_does_not_start_at_the_blobs():
    # the guard of the recovery above: one update from the learner's start (seed 1, the
    # data's 0) matches no blob above 0.8 (measured 0.00)
    X, F = _blob_data(10000, seed=0)
    ds = learn_sailnet(X, F.shape[0], n_updates=1, seed=1, progress=False)
    Q = ds["Q"].values.reshape(len(F), -1)
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    Fc = F - F.mean(axis=1, keepdims=True)
    Fc /= np.linalg.norm(Fc, axis=1, keepdims=True)
    assert np.mean((Qn @ Fc.T).max(axis=0) > 0.8) == 0.0


def test_learned_inhibition_follows_receptive_field_overlap(blob_run):
    ds, _ = blob_run
    W, overlap = ds["W"].values, rf_overlap(ds["Q"].values)
    off = ~np.eye(len(W), dtype=bool)
    assert np.corrcoef(W[off], overlap[off])[0, 1] > 0.5


def test_history_dataset(blob_run):
    ds, _ = blob_run
    assert ds.sizes["update"] == 300 and ds["update"].values[-1] == 600
    # counts of updates made (2, 4, ..., 600), not 0-based indices: labelled so
    assert ds["update"].values[0] == 2
    # labelled by the shared helper (count_coord), as the other histories' counters
    from v1model.io import UPDATES_DONE
    assert ds["update"].attrs == {"long_name": UPDATES_DONE, "units": "1"}
    assert ds["update"].dtype == np.int64
    for name in ("mean_rate", "rate_spread", "mean_W", "mean_theta", "mean_correlation",
                 "q_change"):
        assert ds[name].dims == ("update",) and "units" in ds[name].attrs
    assert ds["Q"].dims == ("neuron", "y", "x") and ds["W"].dims == ("neuron", "neuron_pre")
    # the threshold is on u, which integrates the drive Q x: X's units, as the spiking
    # LCA's v (was "1")
    assert ds["theta"].attrs["units"] == ds["mean_theta"].attrs["units"] == "units of X"
    # the receptive fields' pixel coordinates carry their unit, as every other variable does
    assert ds["y"].attrs["units"] == ds["x"].attrs["units"] == "pixel"
    assert ds.attrs["alpha"] == 1.0 and ds.attrs["beta"] == 0.01 and ds.attrs["gamma"] == 0.1
    assert ds.attrs["p"] == P and ds.attrs["n_steps"] == 50 and ds.attrs["eta"] == 0.1


def test_same_seed_same_network():
    X, _ = _blob_data(500, seed=3)
    a = learn_sailnet(X, 8, n_updates=20, seed=5, progress=False)
    b = learn_sailnet(X, 8, n_updates=20, seed=5, progress=False)
    np.testing.assert_array_equal(a["Q"], b["Q"])
    np.testing.assert_array_equal(a["W"], b["W"])
    assert a.attrs["seed"] == 5


def test_learning_resumes_from_a_saved_network():
    """Q, W, theta and rate of a run, given back as Q0, W0, theta0 and rate0 with the same
    Generator, continue it: 6 updates then 4 are 10 in one call, update for update (W0
    did not exist: the lateral inhibition restarted at 0; rate0 neither: the moving
    average restarted at p)."""
    X, _ = _blob_data(300, seed=3)
    rng = np.random.default_rng(7)
    Q0 = rng.standard_normal((8, X.shape[1]))
    Q0 /= np.linalg.norm(Q0, axis=1, keepdims=True)
    kw = dict(n_neurons=8, theta0=0.5, batch_size=30, n_steps=30, Q0=Q0, progress=False,
              dtype=np.float64)
    whole = learn_sailnet(X, n_updates=10, seed=np.random.default_rng(11), **kw)
    stream = np.random.default_rng(11)
    first = learn_sailnet(X, n_updates=6, seed=stream, **kw)
    assert first["W"].values.max() > 0  # there is inhibition to lose
    kw.update(Q0=first["Q"].values.reshape(8, -1), theta0=first["theta"].values)
    rest = learn_sailnet(X, n_updates=4, seed=stream, W0=first["W"].values,
                         rate0=first["rate"].values, **kw)
    for name in ("Q", "W", "theta", "rate"):
        np.testing.assert_array_equal(rest[name].values, whole[name].values, err_msg=name)
    np.testing.assert_array_equal(rest["mean_W"].values, whole["mean_W"].values[6:])
    assert rest.attrs["init_W"] == "W0" and whole.attrs["init_W"] == "zero"
    assert rest.attrs["init_rate"] == "rate0" and whole.attrs["init_rate"] == "p"


def test_continued_learning_counts_updates_on():
    """previous= continues a run as SparseCodingNetwork.learn does: 5 updates then 4
    (record_every 2, counted over the whole run) give the Dataset of 9 in one call, its
    history labelled 2, 4, 6, 8 and equal value for value, n_updates of both calls and
    updates_per_call [5, 4]."""
    X, _ = _blob_data(300, seed=3)
    kw = dict(n_neurons=8, batch_size=30, n_steps=30, record_every=2, progress=False,
              dtype=np.float64)
    whole = learn_sailnet(X, n_updates=9, theta0=0.5, seed=np.random.default_rng(11), **kw)
    stream = np.random.default_rng(11)
    first = learn_sailnet(X, n_updates=5, theta0=0.5, seed=stream, **kw)
    both = learn_sailnet(X, n_updates=4, seed=stream, previous=first, **kw)
    assert whole["mean_W"].values.max() > 0  # the history moves: its values are compared
    np.testing.assert_array_equal(both["update"].values, [2, 4, 6, 8])
    xr.testing.assert_equal(both.drop_attrs(), whole.drop_attrs())
    assert both.attrs["n_updates"] == 9 and list(both.attrs["updates_per_call"]) == [5, 4]
    assert both.attrs["init"] == "gaussian" and both.attrs["theta0"] == 0.5
    # how the first call started is no setting that changed, nor is the time each took;
    # the seed is: each call records the Generator as it stood at the call's start, from
    # which seed_from_attr makes the call again
    assert both.attrs["init_W"] == "zero" and both.attrs["changed_between_calls"] == "seed"
    assert len(both.attrs["wall_time_per_call"]) == 2
    first_seed, later_seed = both.attrs["seed_per_call"]
    assert first_seed == first.attrs["seed"] == whole.attrs["seed"]
    again = learn_sailnet(X, n_updates=4, seed=seed_from_attr(later_seed, "seed_per_call[1]"),
                          previous=first, **kw)
    xr.testing.assert_equal(again.drop_attrs(), both.drop_attrs())
    with pytest.raises(ValueError, match="W0 cannot be given with previous"):
        learn_sailnet(X, n_updates=4, previous=first, W0=first["W"].values, **kw)
    with pytest.raises(ValueError, match="n_neurons=4 but previous has 8 neurons"):
        learn_sailnet(X, n_updates=4, previous=first, **dict(kw, n_neurons=4))


def test_a_run_continued_from_its_saved_file_names_only_the_settings_changed(tmp_path):
    """save_dataset records v1model_version in the file: continued from the loaded run,
    the next call (which has none) listed it in changed_between_calls, with a
    v1model_version_per_call ending in None."""
    from v1model.io import load_dataset, save_dataset

    X, _ = _blob_data(300, seed=3)
    kw = dict(n_neurons=8, batch_size=30, n_steps=30, progress=False, dtype=np.float64)
    first = learn_sailnet(X, n_updates=3, seed=0, **kw)
    loaded = load_dataset(save_dataset(first, tmp_path / "first.nc"))
    both = learn_sailnet(X, n_updates=3, seed=1, previous=loaded, **kw)
    assert both.attrs["changed_between_calls"] == "seed"
    assert list(both.attrs["seed_per_call"]) == [0, 1]
    assert "v1model_version_per_call" not in both.attrs


def test_continued_learning_numbers_updates_as_its_history(monkeypatch):
    """The history of 7 updates continued by 3 goes on at update 8; the bar of the second
    call started again at 0/3 and its messages counted from its own first update, 0-based
    ("diverged at update 0", "up to update 99" for the 100th). Now the bar runs from 7/10
    to 10/10, a divergence at the first continued update is update 8, and the warning
    after 100 more silent updates says update 110, the history's last label."""
    import warnings

    from v1model.spiking import sailnet

    bars = []

    def recording_bar(*args, **kwargs):
        bars.append(progress_bar(*args, **kwargs))
        return bars[-1]

    progress_bar = sailnet.progress_bar
    monkeypatch.setattr(sailnet, "progress_bar", recording_bar)
    pool = np.random.default_rng(0).standard_normal((50, 4))
    kw = {"batch_size": 2, "n_steps": 3, "progress": False}
    shown = {**kw, "progress": True}  # a disabled bar keeps no count
    first = learn_sailnet(pool, 3, n_updates=7, seed=0, **shown)
    both = learn_sailnet(pool, 3, n_updates=3, seed=1, previous=first, **shown)
    np.testing.assert_array_equal(both["update"].values, np.arange(1, 11))
    assert (bars[-1].initial, bars[-1].n, bars[-1].total) == (7, 10, 10)
    assert (bars[0].initial, bars[0].n, bars[0].total) == (0, 7, 7)  # a first call: as was

    # theta0 < 0, alpha = beta = gamma = 0: every unit fires at each of 50 steps and the
    # state stays put; gamma = 1e307 then overflows theta at the first update (50 * gamma)
    fixed = {"alpha": 0.0, "beta": 0.0, "batch_size": 2, "progress": False}
    with pytest.warns(RuntimeWarning, match="theta0's lowest, -5, is"):  # on purpose
        firing = learn_sailnet(pool, 3, n_updates=7, theta0=-5.0, gamma=0.0, seed=0, **fixed)
    with pytest.raises(FloatingPointError, match=r"^SAILnet diverged at update 8: the "
                                                 r"thresholds theta overflowed"):
        learn_sailnet(pool, 3, n_updates=3, gamma=1e307, seed=1, previous=firing, **fixed)

    # thresholds of 1e6 and no homeostasis: silent from the start
    silent = learn_sailnet(pool, 3, n_updates=10, theta0=1e6, gamma=0.0, seed=0, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        more = learn_sailnet(pool, 3, n_updates=100, gamma=0.0, seed=1, previous=silent, **kw)
    said = [str(w.message) for w in caught if "no unit fired" in str(w.message)]
    assert len(said) == 1 and "(up to update 110)" in said[0], said
    assert int(more["update"][-1]) == 110


def test_rate0_sets_the_moving_average_it_starts_from():
    """With eta_average = 1 - e the rate after one update is e * rate0 + (1 - e) * the
    batch's mean count: its mean rate (rate0 = p by default); bad rate0 are refused."""
    X, _ = _blob_data(100, seed=1)
    kw = dict(n_neurons=4, theta0=0.5, batch_size=20, n_steps=20, n_updates=1,
              eta_average=0.75, progress=False, dtype=np.float64)
    rate0 = np.array([0.0, 1.0, 2.0, 3.0])
    a = learn_sailnet(X, seed=2, rate0=rate0, **kw)
    b = learn_sailnet(X, seed=2, **kw)
    # same draws, so the same batch: the two differ by 0.25 * (rate0 - p) exactly
    np.testing.assert_allclose(a["rate"].values - b["rate"].values, 0.25 * (rate0 - 0.05),
                               rtol=0, atol=1e-12)
    for bad, error, match in ((np.ones(3), ValueError, r"rate0 must be a number or have shape"),
                              (-1.0, ValueError, "rate0 must be non-negative"),
                              (np.nan, ValueError, "rate0 contains 1 non-finite"),
                              (True, TypeError, "rate0 must be a number")):
        with pytest.raises(error, match=match):
            learn_sailnet(X, seed=2, rate0=bad, **kw)


def test_first_update_fires_with_the_given_inhibition():
    """With alpha = beta = gamma = 0 nothing learns: W comes back as W0, and the batch's
    mean rate is that of sailnet_inference with W0 on the rows the seed draws."""
    X, _ = _blob_data(100, seed=3)
    rng = np.random.default_rng(2)
    Q0 = rng.standard_normal((6, X.shape[1]))
    Q0 /= np.linalg.norm(Q0, axis=1, keepdims=True)
    W0 = rng.uniform(0.0, 0.6, (6, 6))
    np.fill_diagonal(W0, 0.0)
    theta0 = np.full(6, 0.3)
    ds = learn_sailnet(X, 6, alpha=0.0, beta=0.0, gamma=0.0, theta0=theta0, Q0=Q0, W0=W0,
                       batch_size=40, n_updates=1, n_steps=30, seed=0, progress=False,
                       dtype=np.float64)
    np.testing.assert_array_equal(ds["W"].values, W0)
    batch = X[np.random.default_rng(0).integers(0, len(X), 40)]  # the pool's draw, Q0 given
    counts = _authors_activities(batch, Q0, W0, theta0, n_steps=30)
    assert counts.sum() > 0 and np.any(counts != _authors_activities(batch, Q0, 0 * W0,
                                                                     theta0, n_steps=30))
    np.testing.assert_allclose(ds["mean_rate"].values, [counts.mean()], rtol=1e-12)


@pytest.mark.parametrize("W0, error, match", [
    (np.zeros((7, 7)), ValueError, (r"W0 must have shape \(8, 8\) \(n_neurons, n_neurons\), "
                                    r"got \(7, 7\)")),
    (-np.ones((8, 8)) + np.eye(8), ValueError, r"W0 must be non-negative .* minimum -1"),
    (np.ones((8, 8)), ValueError, r"W0 must have a zero diagonal .* entry 1"),
    (np.full((8, 8), np.nan), ValueError, r"W0 contains 64 non-finite value"),
])
def test_initial_inhibition_is_held_to_the_learners_constraints(W0, error, match):
    """The constraints each update keeps on W (>= 0, zero diagonal) and its shape."""
    with pytest.raises(error, match=match):
        learn_sailnet(_blob_data(50, 0)[0], 8, W0=W0, n_updates=1, progress=False)


def test_rf_helpers_against_hand_computed_values():
    Q = np.zeros((2, 5, 5))
    Q[0, 2, 2] = 1.0                     # a single pixel: no spread
    Q[1, 0, 0] = Q[1, 0, 4] = 1.0        # two pixels 4 apart: spread 2
    np.testing.assert_allclose(rf_spread(Q), [0.0, 2.0])
    np.testing.assert_allclose(rf_overlap(Q), [[1, 0], [0, 1]])


def test_rf_helpers_read_a_transposed_dataarray_by_dim_name():
    """learn_sailnet's ds["Q"] transposed to (y, x, neuron) was read by position: 8
    "fields" of 8 x 64 pixels, their spreads and overlaps, for 64 neurons, unsaid."""
    Q = np.zeros((3, 4, 6))
    Q[0, 1, 1] = 1.0                     # a single pixel: no spread
    Q[1, 0, 0] = Q[1, 0, 4] = 1.0        # two pixels 4 apart: spread 2
    Q[2, 0, 0] = Q[2, 2, 0] = 1.0        # two pixels 2 apart: spread 1, overlap 1/2 with 1
    fields = xr.DataArray(Q, dims=("neuron", "y", "x")).transpose("y", "x", "neuron")
    np.testing.assert_allclose(rf_spread(fields), [0.0, 2.0, 1.0], atol=1e-12)
    want = np.array([[1, 0, 0], [0, 1, 0.5], [0, 0.5, 1]])
    np.testing.assert_allclose(rf_overlap(fields), want, atol=1e-12)
    flat = xr.DataArray(Q.reshape(3, -1), dims=("neuron", "feature"))
    np.testing.assert_allclose(rf_overlap(flat.T), want, atol=1e-12)
    # row takes x's place (was refused); a package name (time) does not
    np.testing.assert_allclose(
        rf_spread(xr.DataArray(Q.transpose(1, 0, 2), dims=("y", "neuron", "row"))),
        [0.0, 2.0, 1.0], atol=1e-12)
    with pytest.raises(ValueError, match="Q is a DataArray with dims"):
        rf_spread(xr.DataArray(Q.transpose(1, 0, 2), dims=("y", "neuron", "time")))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(p=-0.05), "p must be a positive"),
        (dict(alpha=-1.0), "alpha must be a non-negative"),
        (dict(eta=1.5), "eta .* must be <= 1"),
        (dict(n_updates=0), "n_updates must be >= 1"),
        (dict(Q0=np.ones((4, 3))), r"Q0 must have shape \(8, 64\)"),
        (dict(theta0=np.ones(5)), r"theta0 must be a number or have shape \(8,\)"),
        (dict(patch_size=40), "does not fit in images"),
        (dict(data=np.zeros((50, 64))), "every patch of the pool .* is zero"),
    ],
)
def test_learning_bad_arguments(natural_images, kwargs, match):
    data = natural_images[:2, :32, :32] if "patch_size" in kwargs else _blob_data(50, 0)[0]
    data = kwargs.pop("data", data)
    with pytest.raises(ValueError, match=match):
        learn_sailnet(data, 8, n_updates=kwargs.pop("n_updates", 1), progress=False,
                      border=0, **kwargs)


@pytest.mark.parametrize("theta0", [True, np.ones(8, dtype=bool)])
def test_boolean_thresholds_are_refused(theta0):
    # True was learned from as a threshold of 1.0 without a word
    with pytest.raises(TypeError, match="theta0 must be a number or an array of numbers"):
        learn_sailnet(_blob_data(50, 0)[0], 8, theta0=theta0, n_updates=1, progress=False,
                      border=0)


def test_record_every_beyond_the_updates_is_refused():
    # record_every > n_updates gave an empty history (update of length 0) unsaid
    with pytest.raises(ValueError, match="record_every=10 is more than n_updates=5"):
        learn_sailnet(_blob_data(50, 0)[0], 8, n_updates=5, record_every=10, progress=False,
                      border=0)


def test_continued_run_records_on_the_whole_runs_grid():
    """Continuing 2 updates, n_updates=1 with record_every=3 makes update 3, on the grid of
    the whole run: recorded, and equal to the 3-update run's single record (it was refused
    as record_every > n_updates); a call with no grid point is refused, naming the grid."""
    X, _ = _blob_data(300, seed=3)
    kw = dict(n_neurons=8, batch_size=30, n_steps=30, progress=False, dtype=np.float64)
    whole = learn_sailnet(X, n_updates=3, theta0=0.5, record_every=3,
                          seed=np.random.default_rng(5), **kw)
    stream = np.random.default_rng(5)
    first = learn_sailnet(X, n_updates=2, theta0=0.5, seed=stream, **kw)
    both = learn_sailnet(X, n_updates=1, record_every=3, seed=stream, previous=first, **kw)
    np.testing.assert_array_equal(both["update"].values, [1, 2, 3])
    for name in ("mean_rate", "mean_W", "mean_theta", "q_change"):
        np.testing.assert_array_equal(both[name].values[-1:], whole[name].values, err_msg=name)
    with pytest.raises(ValueError, match=r"record_every=5 records no update of updates 3 to 3 "
                                         r"\(previous made 2; .* after updates 5, 10, .*"
                                         r"give n_updates >= 3"):
        learn_sailnet(X, n_updates=1, record_every=5, previous=first, **kw)


def test_continuing_with_another_record_every_says_so(tmp_path):
    """5 updates recorded every 2, then 4 every 3: the history holds the updates made
    when recorded, 2, 4, 6, 9 (the multiples of each call's record_every among its
    updates), each equal to the 9-update run recorded every update at that count; the
    spacing changes midway, which record_every (this call's, 3) alone did not say:
    record_every_per_call [2, 3], kept through a save and a third call."""
    from v1model.io import load_dataset, save_dataset

    X, _ = _blob_data(300, seed=3)
    kw = dict(n_neurons=8, batch_size=30, n_steps=30, progress=False, dtype=np.float64)
    every = learn_sailnet(X, n_updates=9, theta0=0.5, record_every=1,
                          seed=np.random.default_rng(7), **kw)
    stream = np.random.default_rng(7)
    first = learn_sailnet(X, n_updates=5, theta0=0.5, record_every=2, seed=stream, **kw)
    both = learn_sailnet(X, n_updates=4, record_every=3, seed=stream, previous=first, **kw)
    np.testing.assert_array_equal(both["update"].values, [2, 4, 6, 9])
    assert every["mean_W"].values.max() > 0  # the history moves: its values are compared
    for name in ("mean_rate", "mean_W", "mean_theta", "q_change"):
        np.testing.assert_array_equal(both[name].values,
                                      every[name].sel(update=[2, 4, 6, 9]).values, name)
    assert both.attrs["record_every"] == 3
    assert list(both.attrs["record_every_per_call"]) == [2, 3]
    assert list(both.attrs["updates_per_call"]) == [5, 4] and both.attrs["n_updates"] == 9
    back = load_dataset(save_dataset(both, tmp_path / "sailnet.nc"))
    third = learn_sailnet(X, n_updates=2, record_every=1, seed=stream, previous=back, **kw)
    np.testing.assert_array_equal(third["update"].values, [2, 4, 6, 9, 10, 11])
    assert list(third.attrs["record_every_per_call"]) == [2, 3, 1]
    assert list(third.attrs["updates_per_call"]) == [5, 4, 2]


def test_continuing_on_patches_of_another_size_names_previous():
    # the message said "Q0 must have shape", an argument the user never gave
    X, _ = _blob_data(100, seed=0)
    first = learn_sailnet(X, 8, n_updates=1, progress=False)
    with pytest.raises(ValueError, match=r"previous was learnt on patches of 64 pixels "
                                         r"\(Q of shape \(8, 8, 8\).* data give 36"):
        learn_sailnet(X[:, :36], 8, n_updates=1, previous=first, progress=False)


def test_continuing_a_run_whose_attrs_were_dropped_names_them():
    # a bare KeyError: 'n_updates' came out of the middle of learn_sailnet
    X, _ = _blob_data(100, seed=0)
    first = learn_sailnet(X, 8, n_updates=1, progress=False)
    first.attrs = {k: v for k, v in first.attrs.items() if k not in ("n_updates", "init_W")}
    with pytest.raises(ValueError, match=r"previous has no n_updates, init_W in its attrs"):
        learn_sailnet(X, 8, n_updates=1, previous=first, progress=False)


def test_inference_bad_arguments(weights):
    X, Q, W, theta = weights
    with pytest.raises(ValueError, match="W must be non-negative"):
        sailnet_inference(X, Q, -W, theta)
    self_inhibiting = W.copy()
    np.fill_diagonal(self_inhibiting, 5.0)
    with pytest.raises(ValueError, match="W must have a zero diagonal"):
        sailnet_inference(X, Q, self_inhibiting, theta)
    with pytest.raises(ValueError, match=r"X has 35 features .* Q has 36"):
        sailnet_inference(X[:, :35], Q, W, theta)
    # a transposed Q got the shapes but not the hint that D gets (check_same_features)
    with pytest.raises(ValueError, match=re.escape(
            "Q has shape (36, 24) but X has 36 features per sample (shape (12, 36)): Q looks "
            "transposed.") + ".*" + re.escape("pass Q.T, of shape (24, 36)")):
        sailnet_inference(X, Q.T, W, theta)
    with pytest.raises(ValueError, match=r"theta must have shape \(24,\)"):
        sailnet_inference(X, Q, W, theta[:3])
    with pytest.raises(ValueError, match="simulator must be one of"):
        sailnet_inference(X, Q, W, theta, simulator="nest")


@pytest.mark.parametrize("setting, value", [("target", "cython"), ("target", "numpy"),
                                            ("progress", True), ("progress", False),
                                            ("tau", 0.01), ("tau", 5.0)])
def test_settings_the_numpy_kernel_does_not_use_are_refused(weights, setting, value):
    # target="cython" ran the NumPy kernel without a word (and progress=True showed no bar);
    # tau=5.0 and tau=0.01 gave the same counts: the kernel steps in eta time constants
    X, Q, W, theta = weights
    with pytest.raises(ValueError, match=re.escape(
            f"{setting}={value!r} does not apply to simulator='numpy'") + r".*simulator='brian2'"):
        sailnet_inference(X, Q, W, theta, **{setting: value})
    # left out, the default NumPy kernel runs: the authors' LIF, spike for spike
    np.testing.assert_array_equal(sailnet_inference(X, Q, W, theta, dtype=np.float64),
                                  _authors_activities(X, Q, W, theta))


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype(np.float32)])
def test_a_float32_brian2_network_is_refused(weights, dtype):
    # the Brian2 network computes in float64: dtype=float32 gave float64's counts, unsaid
    # (refused before Brian2 is imported or anything is built)
    X, Q, W, theta = weights
    with pytest.raises(ValueError, match=re.escape(
            "dtype=float32 does not apply to simulator='brian2': the Brian2 network "
            "computes in float64")):
        sailnet_inference(X, Q, W, theta, simulator="brian2", dtype=dtype)
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got float16"):
        sailnet_inference(X, Q, W, theta, simulator="brian2", dtype=np.float16)


def test_the_numpy_kernel_runs_in_float32_unless_told():
    # dtype=None is float32 for the kernel: a drive that float32 rounds up onto theta
    # spikes there, where float64 stays just below (the 1e-9 gap is below float32's
    # resolution at 1, ~6e-8)
    X, Q, W = np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    theta = np.array([1.0 - 1e-9])
    assert np.float32(1.0 - 1e-9) == 1.0
    eta1 = dict(n_steps=1, eta=1.0)
    with pytest.warns(RuntimeWarning, match="fired at every one of the n_steps=1 steps"):
        assert sailnet_inference(X * (1.0 - 2e-9), Q, W, theta, **eta1)[0, 0] == 1
    assert sailnet_inference(X * (1.0 - 2e-9), Q, W, theta, dtype=np.float64, **eta1)[0, 0] == 0


@pytest.mark.slow
def test_receptive_fields_localize_on_olshausen_images(shared_data):
    """The authors' defaults on the original sparsenet images: localized fields, rate near p."""
    from stimuli import load_images

    images = load_images(shared_data("olshausen", "images"))
    ds = learn_sailnet(images, 256, n_updates=4000, seed=0, progress=False, record_every=10)
    spread = rf_spread(ds["Q"].values)
    random_spread = np.median(rf_spread(np.random.default_rng(0).standard_normal((256, 16, 16))))
    assert np.median(spread) < 0.7 * random_spread
    assert abs(ds["mean_rate"].values[-50:].mean() - P) <= 0.1 * P


def test_sailnet_threshold_is_reached_at_equality():
    """The authors' LIF fires when u >= theta: with eta = 0.5, drive 2 and theta 1 the
    potential hits exactly 1.0 every step after a reset, so every step spikes."""
    from v1model.spiking import sailnet_inference

    X = np.array([[2.0, 0.0]])
    Q = np.array([[1.0, 0.0]])
    with pytest.warns(RuntimeWarning, match="1 of 1 units fired at every one of the "
                                            "n_steps=4 steps"):
        counts = sailnet_inference(X, Q, np.zeros((1, 1)), np.array([1.0]), n_steps=4,
                                   eta=0.5, dtype=np.float64)
    assert counts.tolist() == [[4]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inference_warns_when_no_unit_can_reach_its_threshold(dtype):
    """From 0, drive b climbs to b (1 - (1 - eta)^n_steps) in n_steps (0.99485 for b = 1,
    50 steps of 0.1): a threshold just above it leaves every count 0, which was returned
    without a word; just below it, the unit fires once, on the last step."""
    import warnings

    X, Q, W = np.array([[1.0, 0.0], [0.5, 0.0]]), np.array([[1.0, 0.0]]), np.zeros((1, 1))
    reach = 1 - 0.9**50
    with pytest.warns(RuntimeWarning, match=r"no unit can reach its threshold theta in "
                                            r"n_steps=50 steps of eta=0\.1 \(the highest "
                                            r"potential a drive Q x gives is 0\.995, the "
                                            r"lowest theta 0\.996\): every count is 0"):
        silent = sailnet_inference(X, Q, W, np.array([reach * 1.001]), dtype=dtype)
    assert silent.tolist() == [[0], [0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = sailnet_inference(X, Q, W, np.array([reach * 0.999]), dtype=dtype)
    assert counts.tolist() == [[1], [0]]


def test_sailnet_one_update_by_hand():
    """One learning step on a batch of identical patches (so the random draw does not
    matter), recomputed from the SAILnet rules (Zylberberg et al. 2011): Foldiak
    W += alpha (n_i n_j - p^2) (>= 0, zero diagonal), Oja Q += beta (n x - n^2 Q),
    theta += gamma (n - p), rate moving average (1 - eta_avg) p + eta_avg n."""
    from v1model.spiking import learn_sailnet

    rng = np.random.default_rng(3)
    k, p_feat, batch = 5, 16, 8
    x = rng.standard_normal(p_feat)
    data = np.tile(x, (batch, 1))
    Q0 = rng.standard_normal((k, p_feat))
    Q0 /= np.linalg.norm(Q0, axis=1, keepdims=True)
    theta0, eta, n_steps = 0.2, 0.1, 50
    p, alpha, beta, gamma, eta_avg = 0.05, 0.7, 0.03, 0.2, 0.3
    ds = learn_sailnet(data, n_neurons=k, p=p, alpha=alpha, beta=beta, gamma=gamma,
                       theta0=theta0, batch_size=batch, n_updates=1, n_steps=n_steps, eta=eta,
                       eta_average=eta_avg, Q0=Q0, seed=0, progress=False, dtype=np.float64)
    # the authors' discrete LIF, one neuron vector at a time (W = 0 at the first update)
    b = Q0 @ x
    u = np.zeros(k)
    n = np.zeros(k)
    for _ in range(n_steps):
        u = (1 - eta) * u + eta * b
        s = (u >= theta0).astype(float)
        n += s
        u[s > 0] = 0.0
    assert n.max() > 1  # n^2 differs from n
    Y = np.tile(n, (batch, 1))
    W = alpha * (Y.T @ Y / batch - p**2)
    np.fill_diagonal(W, 0.0)
    W = np.maximum(W, 0.0)
    Q = Q0 + beta * (Y.T @ data - (Y**2).sum(axis=0)[:, None] * Q0) / batch
    np.testing.assert_allclose(ds.W.values, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds.Q.values.reshape(k, -1), Q, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds.theta.values, theta0 + gamma * (n - p), rtol=1e-12)
    np.testing.assert_allclose(ds.rate.values, (1 - eta_avg) * p + eta_avg * n, rtol=1e-12)
    np.testing.assert_allclose(ds.mean_rate.values, [n.mean()], rtol=1e-12)
    np.testing.assert_allclose(ds.rate_spread.values, [n.std()], rtol=1e-12)
    off = ~np.eye(k, dtype=bool)
    np.testing.assert_allclose(ds.mean_correlation.values, [np.outer(n, n)[off].mean()],
                               rtol=1e-12)


def test_rf_overlap_keeps_the_sign():
    """Cosine similarity by hand: opposite fields overlap -1, orthogonal 0, scaled copies 1."""
    from v1model.spiking import rf_overlap

    Q = np.array([[1.0, 0.0], [-2.0, 0.0], [0.0, 3.0], [0.5, 0.5]])
    s = 1 / np.sqrt(2)
    want = np.array([[1, -1, 0, s], [-1, 1, 0, -s], [0, 0, 1, s], [s, -s, s, 1]])
    np.testing.assert_allclose(rf_overlap(Q), want, atol=1e-12)


def test_rf_overlap_stays_in_its_documented_range():
    """Rounding put the overlap of a field with itself up to a few eps past 1 (seen:
    1 + 4.4e-16 on these fields, and an opposite one's to -1 - 2.2e-16), and np.arccos,
    the angle between two fields, gave NaN there. Against the cosine by its formula in
    extended precision, to rounding."""
    from v1model.spiking import rf_overlap

    Q = np.random.default_rng(0).standard_normal((50, 64))
    Q = np.vstack([Q, -Q[:3], 7.0 * Q[:3]])  # opposite and parallel fields too
    overlap = rf_overlap(Q)
    assert overlap.max() <= 1.0 and overlap.min() >= -1.0
    assert np.all(np.isfinite(np.arccos(overlap)))
    Ql = Q.astype(np.longdouble)
    norms = np.sqrt((Ql * Ql).sum(axis=1))
    np.testing.assert_allclose(overlap, (Ql @ Ql.T / np.outer(norms, norms)).astype(float),
                               rtol=0, atol=1e-12)


def test_huge_n_updates_is_refused_by_name():
    """NumPy's "Unable to allocate 7.28 TiB" named no argument: 6 float64 statistics per
    recorded update, 4.8e13 bytes for 10**12 updates recorded every 1 (2.4e13 every 2)."""
    X = np.random.default_rng(0).standard_normal((200, 16))
    for every, nbytes in ((1, r"4\.8e\+13"), (2, r"2\.4e\+13")):
        with pytest.raises(ValueError, match=rf"^n_updates=1000000000000 updates recorded every "
                                             rf"{every} .* would take {nbytes} bytes"):
            learn_sailnet(X, 8, n_updates=10**12, record_every=every, progress=False)


def test_too_many_neurons_for_the_memory_are_refused_by_name(monkeypatch):
    """W and the pair correlations hold n_neurons**2 entries: 200,000 neurons failed with
    NumPy's "Unable to allocate 298. GiB" (no argument named). Under a 1 MiB limit, at
    32 bytes per pair, 181 neurons fit (181**2 * 32 = 1,048,352 bytes) and 200 do not
    (1.28e6 bytes); the study refuses them before it loads its images."""
    import v1model.validation
    from studies import zylberberg_2011_sailnet

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    X = np.random.default_rng(0).standard_normal((50, 16))
    message = (r"^n_neurons=200 neurons would take 1\.28e\+06 bytes .* pair statistics .*"
               r"\(at most 181 neurons would fit\)")
    with pytest.raises(ValueError, match=message):
        learn_sailnet(X, 200, n_updates=1, batch_size=5, progress=False)
    assert learn_sailnet(X, 181, n_updates=1, batch_size=5, progress=False)["W"].shape == (
        181, 181)
    with pytest.raises(ValueError, match=message):
        zylberberg_2011_sailnet.run(quick=True, n_neurons=200, progress=False)
    # n_neurons not given follows patch_size (15**2 = 225): the message said n_neurons=225
    # alone, a parameter the user never gave
    with pytest.raises(ValueError, match=r"^n_neurons=225 neurons would take .* would fit\); "
                                         r"n_neurons is the default patch_size\*\*2 for "
                                         r"patch_size=15: give a smaller patch_size, or "
                                         r"n_neurons$"):
        zylberberg_2011_sailnet.run(quick=True, patch_size=15, progress=False)
    # given, n_neurons is the user's own: nothing is added
    with pytest.raises(ValueError, match=r"would fit\)$"):
        zylberberg_2011_sailnet.run(quick=True, patch_size=15, n_neurons=225, progress=False)


def test_the_study_refuses_held_out_patches_that_do_not_fit_before_learning(monkeypatch):
    """sailnet_inference refused them only after the learning (10,000 updates at full
    size), naming its own n_samples. Under a 1 MiB limit the quick run's 64 pixels and
    6 arrays of 64 neurons per patch (float64: 3584 bytes) let 292 of them fit, not 2000."""
    import functools

    import v1model.spiking
    import v1model.validation
    from studies import zylberberg_2011_sailnet

    @functools.wraps(learn_sailnet)
    def learn(*args, **kwargs):
        raise AssertionError("the study learned before refusing n_eval")

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    monkeypatch.setattr(v1model.spiking, "learn_sailnet", learn)
    with pytest.raises(ValueError, match=r"^n_eval=2000 held-out patches of 8x8 pixels .* 64 "
                                         r"neurons would take 7\.168e\+06 bytes .* \(at most "
                                         r"292 would fit\)"):
        zylberberg_2011_sailnet.run(quick=True, n_eval=2000, progress=False)


@pytest.mark.parametrize("images", [False, True])
def test_a_batch_too_large_for_the_memory_is_refused_naming_batch_size(images):
    """A pool's draw of 10**10 rows failed with NumPy's "Unable to allocate 74.5 GiB", and
    images with sample_patches's "n=10000000000 patches": neither said batch_size. Per
    patch: 16 pixels and 6 arrays over the 4 neurons, float64: 320 bytes, 3.2e12 in all."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 64, 64)) if images else rng.standard_normal((50, 16))
    with pytest.raises(ValueError, match=r"^batch_size=10000000000 patches per update \(16 "
                                         r"pixels each .* would take 3\.2e\+12 bytes"):
        learn_sailnet(data, 4, batch_size=10**10, n_updates=1, patch_size=4, border=2,
                      progress=False)


def test_numpy_inference_refuses_a_batch_that_does_not_fit(monkeypatch):
    """The drives X @ Q.T and the kernel's arrays (n_samples x n_neurons) failed with
    NumPy's "Unable to allocate 30.5 GiB" for 10**6 stimuli of 4096 neurons. Here 1000
    stimuli of 64 neurons, 6 float64 arrays (3.07e6 bytes), are refused under a 1 MiB
    limit, with the 341 stimuli that fit (1 MiB / 3072 bytes), and 300 run."""
    import v1model.validation

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)
    X, Q = np.ones((1000, 1)), np.ones((64, 1))
    with pytest.raises(ValueError, match=r"^n_samples=1000 stimuli \(rows of X\) .* 64 "
                                         r"neurons would take 3\.072e\+06 bytes .*\(at most "
                                         r"341 would fit\)"):
        sailnet_inference(X, Q, np.zeros((64, 64)), np.full(64, 0.25))
    # drive 1, threshold 0.25: u = 1 - 0.9**s reaches it at the 3rd step; 50 steps, 16 spikes
    counts = sailnet_inference(X[:300], Q, np.zeros((64, 64)), np.full(64, 0.25))
    np.testing.assert_array_equal(counts, 16)


def test_the_study_refuses_brian2_patches_whose_synapses_do_not_fit_before_learning(
        monkeypatch):
    """sailnet_inference refused them only after the learning and the NumPy inference of
    the held-out patches (44 s for 300 quick updates of 64 units and n_brian2=200000 on
    23.5 GiB), naming its own n_samples; a sweep's pre-flight let them through. Under a
    128 MiB limit, at 65 bytes per synapse and at most 64 * 63 = 4032 synapses per patch
    (quick mode), 512 patches fit, 1000 do not."""
    import functools

    import v1model.spiking
    import v1model.validation
    from studies import zylberberg_2011_sailnet
    from v1model.sweep import SpecError, check_points, parse_spec

    @functools.wraps(learn_sailnet)  # the study reads its n_steps default
    def learn(*args, **kwargs):
        raise AssertionError("the study learned before refusing n_brian2")

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**27)
    monkeypatch.setattr(v1model.spiking, "learn_sailnet", learn)
    refused = (r"n_brian2=1000 held-out patches of up to n_neurons \* \(n_neurons - 1\) = "
               r"4032 inhibitory synapses each, .* \(at most 512 would fit\)")
    with pytest.raises(ValueError, match="^" + refused):
        zylberberg_2011_sailnet.run(quick=True, n_brian2=1000, progress=False)

    def preflight(n_brian2):
        check_points(parse_spec({"study": zylberberg_2011_sailnet.NAME, "quick": True,
                                 "sweep": {"n_brian2": [n_brian2]},
                                 "executor": {"kind": "serial"}}))

    with pytest.raises(SpecError, match=refused):
        preflight(1000)
    preflight(512)  # fits: the pre-flight passes it (and learns nothing)
    preflight(0)  # no Brian2 run, no synapses


def test_brian2_inference_refuses_a_batch_whose_synapses_do_not_fit(monkeypatch):
    """n_samples * nnz(W) synapses at ~65 bytes each: 200 stimuli of a dense 16-unit W
    (240 synapses) need 3.1 MB, refused under a 1 MiB limit before Brian2 is touched,
    with the number of stimuli that would fit."""
    import v1model.validation
    from v1model.spiking import _brian

    monkeypatch.setattr(v1model.validation, "physical_memory", lambda: 2.0**20)

    def no_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_brian, "simulation_device", no_build)
    rng = np.random.default_rng(0)
    k = 16
    X, Q = rng.standard_normal((200, 9)), rng.standard_normal((k, 9))
    W = np.ones((k, k)) - np.eye(k)
    fit = int(2**20 // (k * (k - 1) * 65))  # 67
    with pytest.raises(ValueError, match=rf"n_samples=200 stimuli \(rows of X\) of "
                                         rf"nnz\(W\)=240 .*\(at most {fit} would fit"):
        sailnet_inference(X, Q, W, np.ones(k), simulator="brian2")
    # the NumPy kernel builds no synapses: the same batch runs
    assert sailnet_inference(X, Q, W, np.ones(k)).shape == (200, k)


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_repeated_brian2_calls_build_objects_of_the_same_names(weights, brian2_networks):
    """A renamed network ("sailnet_units_1", while the previous call's objects
    wait for the garbage collector) is Cython code compiled again."""
    X, Q, W, theta = weights
    for _ in range(2):
        sailnet_inference(X, Q, W, theta, simulator="brian2", target="numpy")
    names = [sorted(obj.name for obj in net.objects) for net in brian2_networks]
    assert len(names[0]) >= 2 and names[-1] == names[0]


def test_a_silent_continued_run_gives_advice_it_can_follow():
    # "lower theta0=1e+06" was advised where theta0 cannot be given (with previous)
    pool = np.random.default_rng(0).standard_normal((50, 4))
    kw = dict(gamma=0.0, batch_size=2, n_steps=3, progress=False)
    silent = learn_sailnet(pool, 3, n_updates=10, theta0=1e6, seed=0, **kw)
    with pytest.warns(RuntimeWarning, match="no unit fired") as caught:
        learn_sailnet(pool, 3, n_updates=100, previous=silent, seed=1, **kw)
    said = str(caught[0].message)
    assert "lower theta0=" not in said
    assert "raise gamma=0.0" in said and "theta0 cannot be given with previous" in said
    # the advice as given: previous's state, a lower theta0, no previous
    state = dict(Q0=silent["Q"].values.reshape(3, -1), W0=silent["W"].values,
                 rate0=silent["rate"].values)
    with pytest.raises(ValueError, match="theta0 cannot be given with previous"):
        learn_sailnet(pool, 3, n_updates=1, previous=silent, theta0=0.1, **kw)
    # theta0=0.1 against unit-variance drives over n_steps=3: a unit fires at every step
    # (warned of, once: it leaked into the suite's warnings summary)
    with pytest.warns(RuntimeWarning, match="reached n_steps=3") as saturated:
        resumed = learn_sailnet(pool, 3, n_updates=5, theta0=0.1, seed=1, **state, **kw)
    assert len(saturated) == 1
    # gamma = 0: the thresholds stay at theta0, which unit-variance drives now cross
    np.testing.assert_array_equal(resumed["theta"].values, 0.1)
    assert resumed["mean_rate"].values.max() > 0  # units fire again


def test_image_batches_are_sample_patches_draws_checked_once(monkeypatch):
    """Learning from images draws every update's batch as sample_patches does from the
    same generator (the same patches, bit for bit), but checks the images once, not
    at every update (the checks read every pixel: 40% of a quick
    zylberberg-2011-sailnet run)."""
    import stimuli.images as images_module
    from stimuli import sample_patches
    from v1model.spiking.sailnet import _batch_source

    rng = np.random.default_rng(0)
    imgs = rng.standard_normal((3, 40, 40))
    checks = []
    real_check = images_module.check_fits_in_memory

    def counted(*args, **kwargs):
        checks.append(args)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(images_module, "check_fits_in_memory", counted)
    draw, shape = _batch_source(imgs, 8, 2, 5, np.random.default_rng(3))
    batches = [draw() for _ in range(20)]
    # none: the images are checked once, by _batch_source itself (its first draw, that too
    # flat images fail up front, skips sample_patches's checks, made already)
    assert shape == (8, 8) and len(checks) == 0
    ref = np.random.default_rng(3)
    for batch in batches:
        expected = sample_patches(imgs, 8, 5, seed=ref, border=2, normalize=True,
                                  progress=False)
        np.testing.assert_array_equal(batch, expected)
    before = len(checks)
    ds = learn_sailnet(imgs, 8, patch_size=8, border=2, batch_size=5, n_updates=30, seed=0,
                       progress=False)
    assert len(checks) == before and np.isfinite(ds["Q"].values).all()


def test_inference_reads_a_dataarray_naming_its_samples_elsewhere_by_name():
    # X with dims (pixel, sample) was read by position (pixels as samples), then refused;
    # its one other dim takes the place of feature, as encode reads it
    rng = np.random.default_rng(0)
    X = xr.DataArray(rng.standard_normal((16, 5)), dims=("pixel", "sample"))
    Q = rng.standard_normal((8, 16))
    np.testing.assert_array_equal(
        np.asarray(sailnet_inference(X, Q, np.zeros((8, 8)), np.ones(8), dtype=np.float64)),
        np.asarray(sailnet_inference(X.values.T, Q, np.zeros((8, 8)), np.ones(8),
                                     dtype=np.float64)))


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_brian2_bar_says_brian2_builds_before_the_run_starts(weights, capsys):
    """SAILnet's Brian2 network is built (and, for cython, compiled: minutes on a first
    run) before it simulates, and the call had no bar at all: nothing on the screen. As
    spiking_lca's, its bar is up from the start and says why."""
    X, Q, W, theta = weights
    counts = sailnet_inference(X, Q, W, theta, simulator="brian2", target="numpy",
                               progress=True)
    np.testing.assert_array_equal(counts, sailnet_inference(X, Q, W, theta,
                                                            dtype=np.float64))
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    building = [line for line in lines if "Brian2 builds the network" in line]
    assert building and building[0].startswith("SAILnet inference")
    assert "0/0.05 s simulated" in building[0]  # 50 steps of 0.1 x 10 ms
    # cleared once the run has started
    assert not [line for line in lines
                if "Brian2 builds" in line and "| 0/0.05 s simulated" not in line]


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_brian2_cython_compile_failure_points_to_the_numpy_target(weights, monkeypatch):
    """As spiking_lca's: a machine without a working compiler failed inside distutils
    with Brian2's 'unexpected error' banner and never mentioned target='numpy'. (The
    compiler's failure is raised where Brian2 compiles, in Network.run: no compiler runs.)"""
    import brian2

    try:
        from distutils.errors import CompileError
    except ImportError:  # Python >= 3.12: setuptools' copy
        from setuptools.errors import CompileError

    def no_compiler(self, *args, **kwargs):
        raise CompileError("command '/nowhere/no-cc' failed: No such file or directory")

    monkeypatch.setattr(brian2.Network, "run", no_compiler)
    X, Q, W, theta = weights
    with pytest.raises(RuntimeError, match=r"target='cython' could not compile Brian2's code "
                       r"\(CompileError: .*no-cc.*\): .*target='numpy' needs neither"):
        sailnet_inference(X, Q, W, theta, simulator="brian2", target="cython")
    # any other error of the numpy target passes unchanged
    with pytest.raises(CompileError, match="no-cc"):
        sailnet_inference(X, Q, W, theta, simulator="brian2", target="numpy")
    import gc

    gc.collect()  # Brian2's "never included in a network" now, not after pytest's streams


def test_standalone_key_holds_what_the_generated_code_depends_on(weights, reuse_key_of):
    """cpp_standalone compiled a new project on every call (a minute each): a loop over
    batches of stimuli paid a compile per batch. The kept project's key holds the
    network's code (W, the batch size, n_steps, eta, tau); the drives Q x and the
    thresholds are run_args."""
    X, Q, W, theta = weights

    def key(X=X[:6], Q=Q, W=W, theta=theta, **changes):
        return reuse_key_of(sailnet_inference, X, Q, W, theta,
                            **{**dict(simulator="brian2", target="cpp_standalone"), **changes})

    first = key()
    assert first is not None
    assert first == key(X=X[6:]) == key(Q=Q[::-1]) == key(theta=theta + 0.1)
    for other in (key(W=0.5 * W), key(X=X[:5]), key(n_steps=40), key(eta=0.2),
                  key(tau=0.02)):
        assert other is not None and other != first
    assert key(target="cython") is None and key(target="numpy") is None
    # the float32 kernel's dtype is not Brian2's (float64 whatever it is)
    assert key(dtype=np.float64) == first


def test_a_smaller_batch_runs_the_kept_project_of_a_larger_one(weights, reuse_key_of,
                                                                kept_project):
    """A loop over batches of 6 stimuli compiled its C++ project again for a last batch
    of 4 (its key differed in the batch size only): the kept project of the same network
    for more stimuli runs it, padded; another network or a larger batch compiles its
    own."""
    X, Q, W, theta = weights

    def key(X, W=W, **changes):
        return reuse_key_of(sailnet_inference, X, Q, W, theta,
                            **{**dict(simulator="brian2", target="cpp_standalone"), **changes})

    batch = key(X[:6])
    kept_project(batch)
    assert key(X[6:10]) == key(X[:1]) == key(X[:6]) == batch
    for other, n in ((key(X[:7]), 7), (key(X[6:10], W=0.5 * W), 4),
                     (key(X[6:10], n_steps=40), 4)):
        assert other.n_samples == n and other != batch


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_a_padded_batch_gives_the_unpadded_counts(weights, padded_batches):
    """A batch run padded with silent stimuli (as a kept project of a larger batch runs
    it) gives the counts of the unpadded run and of the NumPy kernel."""
    X, Q, W, theta = weights
    ref = sailnet_inference(X[:5], Q, W, theta, dtype=np.float64)
    padded_batches(3)
    counts = sailnet_inference(X[:5], Q, W, theta, simulator="brian2", target="numpy",
                               progress=False)
    assert ref.sum() > 20
    np.testing.assert_array_equal(counts, ref)


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_a_padding_that_spikes_is_refused_not_cut_off(weights, padded_batches, monkeypatch):
    """The padding stimuli are silent (drive 0 below a threshold of 1), so a spike of
    theirs means the padded run is not the unpadded one: refused, as the spiking LCA
    refuses it. A drive of 50 on the padding makes it spike here; before, its counts
    were cut off without a word."""
    from v1model.spiking import _brian

    X, Q, W, theta = weights
    pad = _brian.padded_rows
    # the drives' padding (fill 0) made strong; the thresholds' (fill 1) kept
    monkeypatch.setattr(_brian, "padded_rows", lambda values, n_rows, fill=0.0: pad(
        values, n_rows, fill=50.0 if fill == 0.0 else fill))
    padded_batches(3)
    with pytest.raises(RuntimeError, match=r"^the 3 silent stimuli that pad a batch of 5 "
                                           r"to the kept cpp_standalone project's 8 spiked "
                                           r"\([1-9]\d* counted spikes\)"):
        sailnet_inference(X[:5], Q, W, theta, simulator="brian2", target="numpy",
                          progress=False)


@pytest.mark.slow
@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_cpp_standalone_runs_the_project_an_earlier_call_compiled(weights, monkeypatch):
    """A call of the same network on other stimuli, fields and thresholds runs the
    project the first call compiled, with its own drives and thresholds: nothing built,
    the counts of the NumPy kernel, and again those of the fresh project."""
    from v1model.spiking import _brian, sailnet

    X, Q, W, theta = weights
    builds = []
    build = sailnet._build_and_run
    monkeypatch.setattr(sailnet, "_build_and_run",
                        lambda *args: builds.append(1) or build(*args))
    kw = dict(simulator="brian2", target="cpp_standalone", progress=False)
    Q2, theta2 = Q[::-1], theta[::-1] * 0.9
    # a project another test kept (of this network for more samples) would run X[:6] padded
    _brian.forget_standalone_project()
    try:
        fresh = sailnet_inference(X[:6], Q, W, theta, **kw)
        folder = _brian._STANDALONE_PROJECT["directory"]
        other = sailnet_inference(X[6:], Q2, W, theta2, **kw)
        again = sailnet_inference(X[:6], Q, W, theta, **kw)
        last = sailnet_inference(X[6:10], Q2, W, theta2, **kw)  # smaller: padded
        assert _brian._STANDALONE_PROJECT["directory"] == folder
    finally:
        _brian.forget_standalone_project()
    assert len(builds) == 1
    np.testing.assert_array_equal(again, fresh)
    np.testing.assert_array_equal(fresh, sailnet_inference(X[:6], Q, W, theta,
                                                           dtype=np.float64))
    reference = sailnet_inference(X[6:], Q2, W, theta2, dtype=np.float64)
    assert reference.sum() > 20 and not np.array_equal(other, fresh)
    np.testing.assert_array_equal(other, reference)
    np.testing.assert_array_equal(last, reference[:4])


@pytest.mark.parametrize("shape, match", [
    ((64, 64, 3), r"^data has shape \(64, 64, 3\), one colour picture \(height, width, 3: "
                  r"RGB channels last\), not a stack of gray pictures.*rgb2gray"),
    ((64, 64, 4), r"^data has shape \(64, 64, 4\), one colour picture .*RGBA"),
    ((3, 64, 64, 3), r"^data has shape \(3, 64, 64, 3\), a stack of colour pictures.*"
                     r"skimage\.color\.rgb2gray\(data\)"),
])
def test_colour_pictures_are_refused_saying_so(shape, match):
    # one RGB picture was read as 64 pictures of 64 x 3 pixels and refused with "patch_size=8
    # with border=2 does not fit in images of 64x3 pixels"; a stack of them as "data must
    # have 2 or 3 dimension(s)"
    colour = np.random.default_rng(0).random(shape)
    with pytest.raises(ValueError, match=match):
        learn_sailnet(colour, 8, patch_size=8, border=2, n_updates=1, progress=False)


def test_images_and_patches_given_as_dataarrays_are_read_by_dim_name(natural_images):
    # a DataArray of images (image, x, y) was read by position: patches transposed, unsaid
    # (sample_patches and whiten read it by name)
    imgs = natural_images[:3, :64, :48]  # not square: a transposition changes the shape too
    kwargs = dict(patch_size=8, border=2, batch_size=10, n_updates=3, progress=False)
    ref = learn_sailnet(imgs, 6, seed=0, **kwargs)
    stack = xr.DataArray(imgs, dims=("image", "y", "x"))
    for given in (stack, stack.transpose("image", "x", "y"), stack.transpose("x", "y", "image")):
        ds = learn_sailnet(given, 6, seed=0, **kwargs)
        np.testing.assert_array_equal(ds["Q"].values, ref["Q"].values)
    pool = np.random.default_rng(1).standard_normal((40, 16))
    ref = learn_sailnet(pool, 4, seed=0, **kwargs)
    given = xr.DataArray(pool, dims=("sample", "feature")).T  # (feature, sample)
    np.testing.assert_array_equal(learn_sailnet(given, 4, seed=0, **kwargs)["Q"].values,
                                  ref["Q"].values)


def test_inference_takes_the_fields_and_weights_as_learn_sailnet_returns_them(weights):
    # ds["Q"] (neuron, y, x) was refused as "Q must have 2 dimension(s)"; the README
    # reshaped it by hand
    X, Q, W, theta = weights
    ref = sailnet_inference(X, Q, W, theta, dtype=np.float64)
    assert ref.sum() > 50
    fields = xr.DataArray(Q.reshape(24, 6, 6), dims=("neuron", "y", "x"))
    lateral = xr.DataArray(W, dims=("neuron", "neuron_pre"))
    for q, w in ((fields, lateral), (fields.values, W),
                 # transposed DataArrays are read by name (W is not symmetric)
                 (fields.transpose("y", "x", "neuron"), lateral.T)):
        np.testing.assert_array_equal(
            sailnet_inference(X, q, w, xr.DataArray(theta, dims="neuron"), dtype=np.float64),
            ref)
    assert not np.array_equal(sailnet_inference(X, Q, W.T, theta, dtype=np.float64), ref)


def test_images_with_their_pictures_on_the_last_axis_are_warned_of_by_name():
    # scipy.io.loadmat's IMAGES.mat layout (height, width, n_images) was refused as "patch_size=8
    # with border=20 does not fit in images of 128x10 pixels", with no word of the layout
    stack = np.random.default_rng(0).standard_normal((128, 128, 10))
    with pytest.warns(UserWarning, match=re.escape(
            "data has shape (128, 128, 10), read as 128 pictures of 128 x 10 pixels")
            + ".*" + re.escape("pass np.moveaxis(data, -1, 0)")), \
            pytest.raises(ValueError, match="does not fit in images of 128x10 pixels"):
        learn_sailnet(stack, 4, patch_size=8, n_updates=1, progress=False)
    # a layout that fits is warned of once, under the name given
    with pytest.warns(UserWarning) as record:
        learn_sailnet(np.random.default_rng(1).standard_normal((48, 48, 12)), 4, patch_size=8,
                      border=2, batch_size=2, n_updates=1, progress=False)
    layout = [w for w in record if "pictures of" in str(w.message)]
    assert len(layout) == 1 and str(layout[0].message).startswith("data has shape (48, 48, 12)")


def test_learning_starts_from_a_results_fields_as_they_are(natural_images):
    # Q0=ds["Q"] (neuron, y, x) was refused as "Q0 must have 2 dimension(s)"
    kwargs = dict(patch_size=8, border=2, batch_size=10, n_updates=2, seed=3, progress=False)
    first = learn_sailnet(natural_images, 6, patch_size=8, border=2, batch_size=10,
                          n_updates=2, seed=0, progress=False)
    ref = learn_sailnet(natural_images, 6, Q0=first["Q"].values.reshape(6, -1), **kwargs)
    for fields in (first["Q"], first["Q"].values, first["Q"].transpose("x", "neuron", "y")):
        np.testing.assert_array_equal(
            learn_sailnet(natural_images, 6, Q0=fields, **kwargs)["Q"].values, ref["Q"].values)
    with pytest.raises(ValueError, match=re.escape(
            "Q0 must have shape (6, 8, 8) (neuron, y, x: fields of the 8 x 8 patches) or "
            "(6, 64) (n_neurons, n_features), got (6, 4, 16)")):
        learn_sailnet(natural_images, 6, Q0=first["Q"].values.reshape(6, 4, 16), **kwargs)


def test_labelled_arguments_give_counts_labelled_sample_by_neuron_in_spikes(weights):
    # the counts came back as a bare int64 array whatever was given; numpy in stays numpy out
    X, Q, W, theta = weights
    ref = sailnet_inference(X, Q, W, theta, dtype=np.float64)
    assert type(ref) is np.ndarray and ref.dtype == np.int64 and ref.sum() > 50
    fields = xr.DataArray(Q.reshape(24, 6, 6), dims=("neuron", "y", "x"),
                          coords={"neuron": np.arange(100, 124)})
    patches = xr.DataArray(X, dims=("sample", "feature"),
                           coords={"sample": [f"p{i}" for i in range(12)]})
    for args, coords in (((X, fields, W, theta), {"neuron": np.arange(100, 124)}),
                         ((patches.T, Q, W, theta), {"sample": patches["sample"].values}),
                         ((X, Q, W, xr.DataArray(theta, dims="neuron")), {})):
        counts = sailnet_inference(*args, dtype=np.float64)
        assert isinstance(counts, xr.DataArray) and counts.dims == ("sample", "neuron")
        assert counts.attrs["units"] == "spikes" and "spikes" in counts.attrs["long_name"]
        assert counts.attrs["n_steps"] == 50 and counts.attrs["eta"] == 0.1
        np.testing.assert_array_equal(counts.values, ref)
        # the labels given, else numbered from 0
        for dim, n in (("sample", 12), ("neuron", 24)):
            np.testing.assert_array_equal(counts[dim].values, coords.get(dim, np.arange(n)))


def test_learning_from_images_leaves_the_process_warning_filters_alone(
        monkeypatch, forbid_catch_warnings, with_a_neighbour):
    """The first draw from images (that too flat ones fail before learning) hid
    sample_patches's second warning of the layout ("images has shape ...") with a
    warnings.catch_warnings filter, one per process: the same warning another thread gave
    meanwhile (another point of a sweep in threads) was hidden too. The draw skips the
    checks made above now: no catch_warnings, the neighbour's warning reaches the
    caller, and the layout is warned of once, as before."""
    import stimuli.images
    import v1model.spiking.sailnet as sailnet

    forbid_catch_warnings(sailnet)
    text = "images has shape (48, 48, 12), read as 48 pictures of 48 x 12 pixels"
    real, draws = stimuli.images._cut_patches, []

    def cut_patches(*args, **kwargs):  # the first draw, and one per update
        draws.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(stimuli.images, "_cut_patches", with_a_neighbour(cut_patches, text))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learn_sailnet(np.random.default_rng(1).standard_normal((48, 48, 12)), 4, patch_size=8,
                      border=2, batch_size=2, n_updates=1, progress=False)
    layout = [str(w.message) for w in caught if "pictures of" in str(w.message)]
    assert draws == [1, 2]
    assert layout == ["data has shape (48, 48, 12), read as 48 pictures of 48 x 12 pixels "
                      + layout[0].split("pixels ", 1)[1], text, text]


def _labelled(Q, W, theta, labels):
    """``Q``, ``W`` and ``theta`` as learn_sailnet's DataArrays, neurons labelled ``labels``."""
    k = len(labels)
    return (xr.DataArray(Q.reshape(k, 6, 6), dims=("neuron", "y", "x"),
                         coords={"neuron": labels}),
            xr.DataArray(W, dims=("neuron", "neuron_pre"),
                         coords={"neuron": labels, "neuron_pre": labels}),
            xr.DataArray(theta, dims="neuron", coords={"neuron": labels}))


def test_weights_whose_neuron_labels_disagree_are_refused(weights):
    """Q, W and theta are paired by position: theta.sortby(theta) gave every field another
    neuron's threshold and counts labelled by Q's neurons, with no word (seen: 70 of the
    288 counts of this batch changed)."""
    X, Q, W, theta = weights
    fields, inhibition, thresholds = _labelled(Q, W, theta, np.arange(100, 124))
    ref = _authors_activities(X, Q, W, theta)
    with pytest.raises(ValueError, match=r"neuron labels of theta differ from those of Q: "
                                         r"at position 0, \d+ against 100"):
        sailnet_inference(X, fields, inhibition, thresholds.sortby(thresholds), dtype=np.float64)
    # W of another subset of presynaptic neurons than Q's
    keep, other = [3, 1, 7], [3, 1, 8]
    with pytest.raises(ValueError, match=r"neuron labels of W's neuron_pre differ from those "
                                         r"of Q: at position 2, 108 against 107 \(1 of 3"):
        sailnet_inference(X, fields.isel(neuron=keep),
                          inhibition.isel(neuron=keep, neuron_pre=other),
                          thresholds.isel(neuron=keep))
    # the fix the message gives: theta and W put in Q's order give the authors' counts
    shuffled = thresholds.sortby(thresholds)
    counts = sailnet_inference(
        X, fields, inhibition.sortby(thresholds).sel(neuron=fields["neuron"],
                                                     neuron_pre=fields["neuron"].values),
        shuffled.sel(neuron=fields["neuron"]), dtype=np.float64)
    np.testing.assert_array_equal(counts.values, ref)
    # one subset, in any order, in all three: the authors' counts of that subnetwork
    sub = [5, 2, 9]
    counts = sailnet_inference(X, fields.isel(neuron=sub),
                               inhibition.isel(neuron=sub, neuron_pre=sub),
                               thresholds.isel(neuron=sub), dtype=np.float64)
    np.testing.assert_array_equal(counts["neuron"].values, [105, 102, 109])
    np.testing.assert_array_equal(
        counts.values, _authors_activities(X, Q[sub], W[np.ix_(sub, sub)], theta[sub]))


def test_nan_neuron_labels_that_agree_are_not_refused(weights):
    """A float coordinate's NaN label (a neuron left unlabelled) was compared by ``!=``,
    for which NaN differs from itself: Q, W and theta labelled alike were refused as
    "at position 23, nan against nan"."""
    X, Q, W, theta = weights
    labels = np.r_[np.arange(23.0), np.nan]
    fields, inhibition, thresholds = _labelled(Q, W, theta, labels)
    counts = sailnet_inference(X, fields, inhibition, thresholds, dtype=np.float64)
    np.testing.assert_array_equal(counts.values, _authors_activities(X, Q, W, theta))
    # a NaN against a number still differs
    with pytest.raises(ValueError, match=r"neuron labels of theta differ from those of Q: "
                                         r"at position 23, 23(\.0)? against nan \(1 of 24"):
        sailnet_inference(X, fields, inhibition,
                          thresholds.assign_coords(neuron=np.arange(24.0)), dtype=np.float64)


def test_labelled_counts_record_the_precision_they_were_computed_in(weights):
    """The counts' attrs said n_steps, eta and simulator, not the kernel's precision, whose
    float32 default may move a threshold crossing against float64."""
    X, Q, W, theta = weights
    fields = _labelled(Q, W, theta, np.arange(24))[0]
    assert sailnet_inference(X, fields, W, theta).attrs["dtype"] == "float32"
    counts = sailnet_inference(X, fields, W, theta, dtype=np.float64)
    assert counts.attrs["dtype"] == "float64"
    # the Brian2 network's tau and target are the numpy kernel's to refuse, not to record
    assert "tau" not in counts.attrs and "target" not in counts.attrs


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_brian2_counts_record_tau_and_target(weights):
    X, Q, W, theta = weights
    fields = _labelled(Q, W, theta, np.arange(24))[0]
    counts = sailnet_inference(X[:3], fields, W, theta, simulator="brian2", target="numpy",
                               tau=0.02)
    assert counts.attrs["tau"] == 0.02 and counts.attrs["target"] == "numpy"
    assert counts.attrs["dtype"] == "float64" and counts.attrs["simulator"] == "brian2"
    np.testing.assert_array_equal(counts.values, _authors_activities(X[:3], Q, W, theta))
