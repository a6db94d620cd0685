"""Save -> load round trips through netCDF (v1model.io, atomic) reproduce the
model exactly."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.io import save_dataset, seed_from_json
from v1model.sae import SparseAutoencoder

SETTINGS = {"topk": dict(k=3), "batchtopk": dict(k=3), "relu": dict(lam=0.1),
            "jumprelu": dict(lam=0.05, theta_init=0.1, bandwidth=0.05), "mp": dict(k=3)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", list(SETTINGS))
def test_save_load_round_trip_reproduces_encode(planted, tmp_path, activation, dtype):
    X = planted[0][:600]
    sae = SparseAutoencoder(40, activation, n_steps=30, batch_size=100, dtype=dtype, seed=3,
                            progress=False, **SETTINGS[activation]).fit(X)
    path = sae.save(tmp_path / "sae.nc")
    assert path.exists() and not list(tmp_path.glob(".*tmp*"))  # no temporary left behind
    loaded = SparseAutoencoder.load(path)
    np.testing.assert_array_equal(loaded.encode(X), sae.encode(X))
    np.testing.assert_array_equal(loaded.reconstruct(X), sae.reconstruct(X))
    np.testing.assert_array_equal(loaded.components_, sae.components_)
    assert loaded.components_.dtype == np.dtype(dtype)
    assert loaded.get_params() == sae.get_params()
    xr.testing.assert_identical(loaded.history_, sae.history_)
    if activation == "batchtopk":
        assert loaded.threshold_ == sae.threshold_


# a few steps: the thresholds are still rising at full speed, which fit says
@pytest.mark.filterwarnings("ignore:.*the median threshold rose")
def test_saved_dataset_is_labelled(planted):
    sae = SparseAutoencoder(40, "jumprelu", lam=0.05, n_steps=10, batch_size=100, seed=0,
                            theta_init=0.1, bandwidth=0.05, progress=False).fit(planted[0][:300])
    ds = sae.to_dataset()
    assert ds["decoder"].dims == ("latent", "feature")
    assert ds["log_theta"].dims == ("latent",)
    assert ds["mse"].dims == ("step",) and ds["mse"].attrs["units"] == "(units of X)^2"
    assert ds.attrs["kind"] == "v1model.SparseAutoencoder"
    assert ds.attrs["training_activation"] == "jumprelu"


def test_from_dataset_refuses_other_datasets():
    with pytest.raises(ValueError, match="not a saved SparseAutoencoder"):
        SparseAutoencoder.from_dataset(xr.Dataset(attrs={"kind": "something else"}))
    with pytest.raises(TypeError, match="ds must be an xarray.Dataset"):
        SparseAutoencoder.from_dataset({"kind": "v1model.SparseAutoencoder"})


def test_numpy_scalar_settings_survive_the_round_trip(planted, tmp_path):
    sae = SparseAutoencoder(np.int64(40), "relu", lam=np.float32(0.25), n_steps=np.int64(5),
                            batch_size=100, dtype=np.float64, seed=np.int64(2),
                            progress=False).fit(planted[0][:300])
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    assert loaded.lam == pytest.approx(0.25) and loaded.n_latents == 40
    assert loaded.dtype == "float64" and loaded.seed == 2
    np.testing.assert_array_equal(loaded.encode(planted[0][:50]), sae.encode(planted[0][:50]))


def test_a_seed_sequence_survives_the_round_trip_and_refits_alike(planted, tmp_path):
    """A SeedSequence seed was saved as None: the loaded model's get_params() differed
    and its fit drew an unseeded run (SparseDictionaryLearner keeps the sequence)."""
    X = planted[0][:300]

    def model():
        return SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                                 seed=np.random.SeedSequence(7, spawn_key=(2,)))

    loaded = SparseAutoencoder.load(model().fit(X).save(tmp_path / "sae.nc"))
    assert isinstance(loaded.seed, np.random.SeedSequence)
    assert (loaded.seed.entropy, loaded.seed.spawn_key) == (7, (2,))
    np.testing.assert_array_equal(loaded.fit(X).components_, model().fit(X).components_)


def test_a_generator_seed_is_saved_as_its_state_and_the_loaded_model_refits_alike(
        planted, tmp_path):
    """A Generator seed was saved as None with a warning: the loaded model's fit drew an
    unseeded run. Its state before the fit that made the model is saved: the loaded
    model's fit makes that model again, bit for bit, and says nothing."""
    X = planted[0][:300]
    rng = np.random.default_rng(1)
    rng.standard_normal(4)  # not at a fresh default_rng(1)'s state
    sae = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                            seed=rng)
    first = sae.fit(X).components_.copy()
    second = sae.fit(X).components_.copy()  # the Generator went on: another model
    assert not np.array_equal(first, second)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = sae.save(tmp_path / "sae.nc")
    saved = json.loads(xr.load_dataset(path).attrs["estimator_params"])["seed"]
    assert saved == json.loads(sae.history_.attrs["seed"])  # the last fit's start
    loaded = SparseAutoencoder.load(path)
    assert isinstance(loaded.seed, np.random.Generator)
    np.testing.assert_array_equal(loaded.fit(X).components_, second)
    # fit's own seed made the weights: it is the seed saved (the constructor's Generator,
    # never drawn from, was saved as it stood, and the loaded model's fit trained a model
    # of default_rng(5)); the constructor's is kept beside it, as it stands
    untouched = np.random.default_rng(5)
    model = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                              seed=untouched).fit(X, seed=0)
    ds = model.to_dataset()
    refit = SparseAutoencoder.from_dataset(ds).fit(X).components_
    np.testing.assert_array_equal(refit, model.components_)
    kept = seed_from_json(json.loads(ds.attrs["constructor_seed"]))
    assert kept.bit_generator.state == np.random.default_rng(5).bit_generator.state


@pytest.mark.parametrize("given", [None, 7, np.random.SeedSequence(11)])
def test_fits_own_seed_is_saved_and_the_loaded_model_refits_the_saved_one(planted, tmp_path,
                                                                          given):
    """sae.fit(X, seed=3) saved the constructor's seed (None, 7, ...) as the model's: the
    3 that made the weights was only in the history's attrs, and the loaded model's fit
    trained another model. The saved seed is now the one that made the weights, the
    constructor's kept beside it in attrs["constructor_seed"]; a file of before, without
    it, loads as it did."""
    X = planted[0][:300]
    kw = dict(n_steps=5, batch_size=100, progress=False)
    sae = SparseAutoencoder(20, "topk", k=3, seed=given, **kw).fit(X, seed=3)
    path = sae.save(tmp_path / "sae.nc")
    loaded = SparseAutoencoder.load(path)
    assert loaded.seed == 3
    np.testing.assert_array_equal(loaded.fit(X).components_, sae.components_)
    attrs = xr.load_dataset(path).attrs
    constructor = seed_from_json(json.loads(attrs["constructor_seed"]))
    if isinstance(given, np.random.SeedSequence):
        assert (constructor.entropy, constructor.spawn_key) == (11, ())
    else:
        assert constructor == given
    # the constructor's seed is not replaced on the fitted model itself
    assert sae.seed is given
    # a first partial_fit's own seed likewise made the weights: the saved parameters
    # start the same stream again (the loaded model itself continues the saved one)
    stream = SparseAutoencoder(20, "topk", k=3, seed=given, **kw).partial_fit(X, seed=4)
    params = SparseAutoencoder.from_dataset(stream.to_dataset()).get_params()
    assert params["seed"] == 4
    np.testing.assert_array_equal(SparseAutoencoder(**params).partial_fit(X).components_,
                                  stream.components_)
    # a file saved before (the constructor's seed, no constructor_seed) loads unchanged
    ds = sae.to_dataset()
    del ds.attrs["constructor_seed"]
    ds.attrs["estimator_params"] = ds.attrs["estimator_params"].replace('"seed": 3',
                                                                         '"seed": null')
    assert SparseAutoencoder.from_dataset(ds).seed is None


def test_the_constructors_seed_saves_alone_unless_set_after_the_fit(planted):
    """Without fit's own seed the constructor's made the weights: saved alone, no
    constructor_seed. A seed set after the fit is the setting saved, as the dictionary
    learner saves it; the weights' seed stays in the history's attrs."""
    X = planted[0][:300]
    sae = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                            seed=1000).fit(X)
    ds = sae.to_dataset()
    assert json.loads(ds.attrs["estimator_params"])["seed"] == 1000
    assert "constructor_seed" not in ds.attrs
    # the same seed given to fit too (an equal int, another object) is no second seed
    assert "constructor_seed" not in sae.fit(X, seed=int("1000")).to_dataset().attrs
    sae.fit(X, seed=3).set_params(seed=8)
    ds = sae.to_dataset()
    assert json.loads(ds.attrs["estimator_params"])["seed"] == 8
    assert ds.attrs["training_seed"] == 3 and "constructor_seed" not in ds.attrs


@pytest.mark.parametrize("constructor", [12345, "sequence"])
@pytest.mark.parametrize("transfer", ["pickle", "deepcopy"])
def test_fits_own_seed_is_still_saved_after_the_model_is_pickled(planted, transfer,
                                                                  constructor):
    """An int seed comes back from a pickle (joblib, dask, multiprocessing) as another
    object: told apart by identity, the constructor's 12345 was saved instead of fit's
    own 7, and the loaded model's fit trained another model."""
    import copy
    import pickle

    X = planted[0][:300]
    given = np.random.SeedSequence(12345) if constructor == "sequence" else constructor
    sae = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                            seed=given).fit(X, seed=7)
    moved = (pickle.loads(pickle.dumps(sae)) if transfer == "pickle"
             else copy.deepcopy(sae))
    ds = moved.to_dataset()
    assert json.loads(ds.attrs["estimator_params"])["seed"] == 7
    kept = seed_from_json(json.loads(ds.attrs["constructor_seed"]))
    assert (kept.entropy if constructor == "sequence" else kept) == 12345
    np.testing.assert_array_equal(SparseAutoencoder.from_dataset(ds).fit(X).components_,
                                  sae.components_)


def test_a_generator_of_a_foreign_bit_generator_warns_and_old_files_load(planted, tmp_path):
    """A bit generator that is not NumPy's has no state a file can hold: seed None, said
    aloud, and such a file loads unseeded, as those saved before Generators were kept."""
    class OwnBits(np.random.PCG64):
        pass

    X = planted[0][:300]
    sae = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                            seed=np.random.Generator(OwnBits(1))).fit(X)
    # without the training state: its rng_state of OwnBits does not load (not this test's)
    with pytest.warns(UserWarning, match="seed is a Generator of OwnBits.*starts unseeded"):
        ds = sae.to_dataset(training_state=False)
    assert SparseAutoencoder.from_dataset(ds).seed is None
    # a file saved with seed None (before Generators were kept) loads unseeded
    path = save_dataset(ds, tmp_path / "old.nc")
    assert SparseAutoencoder.load(path).seed is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, progress=False,
                          seed=3).fit(X).save(tmp_path / "int.nc")


def test_from_dataset_refuses_incomplete_or_damaged_models(planted):
    sae = SparseAutoencoder(20, "batchtopk", k=3, n_steps=5, batch_size=100, seed=0,
                            progress=False).fit(planted[0][:300])
    ds = sae.to_dataset()

    def damaged(**attrs):
        out = ds.copy()
        out.attrs = {**ds.attrs, **attrs}
        return out

    with pytest.raises(ValueError, match=r"ds lacks encoder: not a complete saved "
                                         r"SparseAutoencoder \(batchtopk\)"):
        SparseAutoencoder.from_dataset(ds.drop_vars("encoder"))
    with pytest.raises(ValueError, match=r"ds lacks mse"):
        SparseAutoencoder.from_dataset(ds.drop_vars("mse"))
    with pytest.raises(ValueError, match=r"\['estimator_params'\] .* missing or unreadable"):
        SparseAutoencoder.from_dataset(damaged(estimator_params="{not json"))
    # NaN weights and a NaN threshold gave NaN or all-zero codes without a word
    bad = ds.copy()
    bad["encoder"] = bad["encoder"] * np.nan
    with pytest.raises(ValueError, match=r"ds\['encoder'\] contains 1280 non-finite"):
        SparseAutoencoder.from_dataset(bad)
    with pytest.raises(ValueError, match=r"batchtopk_threshold'\] must be a positive number "
                                         r"for a batchtopk model, got -1.0"):
        SparseAutoencoder.from_dataset(damaged(batchtopk_threshold=-1.0))
    # a NaN threshold (a stream that has not set it yet) loads only to continue training
    without_state = sae.to_dataset(training_state=False)
    without_state.attrs["batchtopk_threshold"] = np.nan
    with pytest.raises(ValueError, match=r"got nan \(a NaN threshold loads only with the "
                                         r"training state"):
        SparseAutoencoder.from_dataset(without_state)
    unset = SparseAutoencoder.from_dataset(damaged(batchtopk_threshold=np.nan))
    with pytest.raises(ValueError, match="no inference threshold yet"):
        unset.encode(planted[0][:5])
    with pytest.raises(ValueError, match=r"ds\['decoder'\] has 2 latents but the saved "
                                         r"parameters say n_latents=20"):
        SparseAutoencoder.from_dataset(ds.isel(latent=slice(0, 2)))
    # the training state that partial_fit continues from
    with pytest.raises(ValueError, match=r"ds lacks adam_v_b_dec"):
        SparseAutoencoder.from_dataset(ds.drop_vars("adam_v_b_dec"))
    with pytest.raises(ValueError, match=r"\['rng_state'\] or \['adam_step'\] of the saved "
                                         r"training state is missing or unreadable"):
        SparseAutoencoder.from_dataset(damaged(rng_state="{not json"))


@pytest.mark.parametrize("change", [dict(k=6), dict(activation="relu", lam=0.1),
                                    dict(dtype="float64")])
def test_a_file_encodes_as_the_fitted_model_after_settings_change(planted, tmp_path, change):
    # settings changed after training take effect at the next partial_fit; until then the
    # model (and so its file) encodes with those it was trained with
    X = planted[0][:400]
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=10, batch_size=100, seed=0,
                            progress=False).partial_fit(X)
    before = sae.encode(X)
    for name, value in change.items():
        setattr(sae, name, value)
    np.testing.assert_array_equal(sae.encode(X), before)
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    np.testing.assert_array_equal(loaded.encode(X), before)
    assert loaded.components_.dtype == np.float32
    assert np.count_nonzero(loaded.encode(X), axis=1).max() == 3
    assert loaded.get_params() == sae.get_params()  # the changed settings, for what follows


def test_a_stream_that_starts_with_one_sample_gets_its_threshold_later(planted, tmp_path):
    # one sample sets the decoder bias to itself: nothing is active, no threshold yet
    X = planted[0][:401]
    sae = SparseAutoencoder(40, "batchtopk", k=3, batch_size=100, seed=0, progress=False)
    with pytest.warns(UserWarning, match="no inference threshold yet"):
        sae.partial_fit(X[:1])
    with pytest.raises(ValueError, match="no inference threshold yet"):
        sae.encode(X)
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    for model in (sae, loaded):
        model.partial_fit(X[1:])
        assert 0 < model.threshold_ < np.inf
    np.testing.assert_array_equal(loaded.encode(X), sae.encode(X))
    assert 2 <= np.count_nonzero(sae.encode(X), axis=1).mean() <= 4


# a few steps: the thresholds are still rising at full speed, which fit says
@pytest.mark.filterwarnings("ignore:.*the median threshold rose")
def test_files_without_the_fitted_objective_load_from_the_parameters(planted):
    # files written before the fitted objective was recorded: the saved constructor
    # parameters (validated) rebuild it, as they did
    X = planted[0][:300]
    sae = SparseAutoencoder(40, "jumprelu", lam=0.05, n_steps=5, batch_size=100, seed=0,
                            theta_init=0.1, bandwidth=0.05, progress=False).fit(X)
    ds = sae.to_dataset()
    del ds.attrs["fitted_objective"]
    np.testing.assert_array_equal(SparseAutoencoder.from_dataset(ds).encode(X), sae.encode(X))
    ds.attrs["estimator_params"] = ds.attrs["estimator_params"].replace('"lam": 0.05',
                                                                        '"lam": -1.0')
    with pytest.raises(ValueError, match="lam must be a non-negative"):
        SparseAutoencoder.from_dataset(ds)


def test_a_saved_dataset_does_not_change_when_training_continues(planted):
    # to_dataset handed out the live parameters and Adam moments, and from_dataset kept
    # the Dataset's arrays: partial_fit after either rewrote the "saved" Dataset in memory
    # (two models loaded from one Dataset even trained the same arrays)
    X = planted[0][:600]
    sae = SparseAutoencoder(32, "topk", k=3, batch_size=100, seed=0,
                            progress=False).partial_fit(X[:300])
    ds = sae.to_dataset()
    kept = {name: ds[name].values.copy() for name in ds.data_vars}
    sae.partial_fit(X[300:])
    first, second = SparseAutoencoder.from_dataset(ds), SparseAutoencoder.from_dataset(ds)
    first.partial_fit(X[300:])
    for name, values in kept.items():
        np.testing.assert_array_equal(ds[name].values, values, err_msg=name)
    # the second model starts where the file does, not where the first one got to
    np.testing.assert_array_equal(second.components_, kept["decoder"])
    second.partial_fit(X[300:])
    np.testing.assert_array_equal(second.components_, first.components_)


def test_from_dataset_names_a_renamed_history_dim_and_finds_the_auto_rate(planted):
    # a renamed step dim raised KeyError: 'step'; a model trained with lr="auto" and saved
    # without the lr history (as files were before the schedule) failed to convert 'auto'
    X = planted[0][:300]
    sae = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, seed=0,
                            progress=False).fit(X)
    ds = sae.to_dataset()
    with pytest.raises(ValueError, match=r"ds\['loss'\] has dims \('stp',\), expected "
                                         r"\('step',\)"):
        SparseAutoencoder.from_dataset(ds.rename({"step": "stp"}))
    loaded = SparseAutoencoder.from_dataset(ds.drop_vars("lr"))
    assert loaded.lr == "auto"
    np.testing.assert_array_equal(loaded.history_["lr"], sae.history_["lr"])  # the rate used
    np.testing.assert_array_equal(loaded.encode(X), sae.encode(X))
    no_rate = ds.drop_vars("lr")
    no_rate.attrs = {k: v for k, v in ds.attrs.items() if k != "training_lr"}
    with pytest.raises(ValueError, match=r"ds lacks the history variable lr, and its "
                                         r"lr='auto' has no rate recorded in "
                                         r"attrs\['training_lr'\] \(got None\)"):
        SparseAutoencoder.from_dataset(no_rate)
    # a schedule varied the rate: one number in its place would be a false record
    scheduled = SparseAutoencoder(20, "topk", k=3, n_steps=5, batch_size=100, lr_warmup=2,
                                  seed=0, progress=False).fit(X).to_dataset()
    with pytest.raises(ValueError, match=r"ds lacks the history variable lr, which its "
                                         r"schedule \(lr_warmup=2, lr_decay=0.0\) varied"):
        SparseAutoencoder.from_dataset(scheduled.drop_vars("lr"))


def test_a_model_whose_n_latents_changed_after_fitting_saves_a_loadable_file(planted,
                                                                              tmp_path):
    # n_latents changed after training (a setting for the next fit) made the file
    # unloadable: "ds['decoder'] has 40 latents but the saved parameters say n_latents=60"
    X = planted[0][:400]
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=10, batch_size=100, seed=0,
                            progress=False).fit(X)
    before = sae.encode(X)
    sae.n_latents = 60
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    assert loaded.n_latents == 60 and loaded.components_.shape == (40, X.shape[1])
    np.testing.assert_array_equal(loaded.encode(X), before)
    # the codes by hand from the loaded arrays: the 3 largest pre-activations, ReLU after
    pre = ((X.astype(np.float32) - loaded.decoder_bias_) @ loaded.encoder_.T
           + loaded.encoder_bias_)
    kth = np.sort(pre, axis=1)[:, -3][:, None]
    np.testing.assert_allclose(loaded.encode(X), np.where(pre >= kth, np.maximum(pre, 0), 0),
                               rtol=1e-5, atol=1e-5)
    # and, as the unsaved model, it cannot continue with the other count
    for model in (sae, loaded):
        with pytest.raises(ValueError, match=r"n_latents=60 but the fitted model has "
                                             r"n_latents 40"):
            model.partial_fit(X)
    # a file whose latents were cut off is still refused
    with pytest.raises(ValueError, match=r"ds\['decoder'\] has 2 latents but the saved "
                                         r"parameters say n_latents=40"):
        SparseAutoencoder.from_dataset(sae.to_dataset().isel(latent=slice(0, 2)))


def test_a_batchtopk_model_without_threshold_is_not_saved_without_its_state(planted, tmp_path):
    # save(training_state=False) wrote a file that load then refused (a NaN threshold
    # loads only with the training state): the refusal now comes when saving
    X = planted[0][:301]
    sae = SparseAutoencoder(40, "batchtopk", k=3, batch_size=100, seed=0, progress=False)
    with pytest.warns(UserWarning, match="no inference threshold yet"):
        sae.partial_fit(X[:1])
    with pytest.raises(ValueError, match=r"no inference threshold yet .* training_state="
                                         r"False it could neither encode nor continue"):
        sae.save(tmp_path / "sae.nc", training_state=False)
    assert not (tmp_path / "sae.nc").exists()
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))  # with the state: loads
    for model in (sae, loaded):
        model.partial_fit(X[1:])
    assert 0 < loaded.threshold_ == sae.threshold_ < np.inf
    # once set, the threshold is saved without the state as well
    light = SparseAutoencoder.load(sae.save(tmp_path / "light.nc", training_state=False))
    np.testing.assert_array_equal(light.encode(X), sae.encode(X))


def test_history_step_coordinate_is_labelled(planted, tmp_path):
    X = planted[0][:300]
    sae = SparseAutoencoder(20, "relu", lam=0.1, batch_size=100, seed=0, progress=False)
    sae.partial_fit(X).partial_fit(X[:150])  # 3 steps, then 2 (100 + 50)
    for model in (sae, SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))):
        step = model.history_["step"]
        np.testing.assert_array_equal(step.values, np.arange(5))
        assert step.attrs["units"] == "1" and "Adam steps" in step.attrs["long_name"]


def test_partial_fit_records_every_calls_seed_and_they_remake_the_model(planted, tmp_path):
    # after fit(seed=0) then partial_fit(seed=1) the history said seed 0 alone: the saved
    # model could not be made again from its attrs. They list each call's seed and steps
    # (v1model.io.continue_calls); "continued": a later call that went on with the generator
    X = planted[0][:700]
    kw = dict(n_latents=24, activation="topk", k=3, n_steps=4, batch_size=100,
              progress=False)
    sae = SparseAutoencoder(**kw).fit(X[:400], seed=0)
    sae.partial_fit(X[400:600], seed=1)
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    loaded.partial_fit(X[600:])
    attrs = SparseAutoencoder.load(loaded.save(tmp_path / "sae2.nc")).history_.attrs
    assert attrs["seed"] == 0
    assert json.loads(attrs["seed_per_call"]) == [0, 1, "continued"]
    assert list(attrs["steps_per_call"]) == [4, 2, 1]
    again = SparseAutoencoder(**kw).fit(X[:400], seed=0)
    again.partial_fit(X[400:600], seed=1)
    again.partial_fit(X[600:])
    for name in ("components_", "encoder_", "encoder_bias_", "decoder_bias_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(loaded, name),
                                      err_msg=name)


def test_partial_fit_records_settings_changed_between_calls_and_they_remake_it(planted,
                                                                                tmp_path):
    # k, lr and batch_size set between partial_fit calls went unrecorded: the saved history
    # said the first call's k=3 alone. Each is listed per call where it changed, the lists
    # save with xarray's own to_netcdf too, and the calls with them make the same model
    X = planted[0][:700]
    kw = dict(n_latents=24, activation="topk", k=3, n_steps=4, batch_size=100,
              progress=False)
    sae = SparseAutoencoder(**kw).fit(X[:400], seed=0)
    sae.k, sae.lr = 5, 2e-3
    sae.partial_fit(X[400:600], seed=1)
    sae.batch_size = 50
    sae.partial_fit(X[600:], seed=2)
    sae.history_.to_netcdf(tmp_path / "plain.nc")
    plain = xr.open_dataset(tmp_path / "plain.nc").attrs
    attrs = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc")).history_.attrs
    for got in (plain, attrs):
        assert got["k"] == 3 and list(got["k_per_call"]) == [3, 5, 5]
        assert list(got["batch_size_per_call"]) == [100, 100, 50]
        np.testing.assert_allclose(got["lr_per_call"][1:], [2e-3, 2e-3])
        assert list(got["steps_per_call"]) == [4, 2, 2]
        assert "lam_per_call" not in got and "n_steps_per_call" not in got
    again = SparseAutoencoder(**kw).fit(X[:400], seed=0)
    chunks = (X[400:600], X[600:])
    for call, chunk in enumerate(chunks, start=1):
        again.k = int(attrs["k_per_call"][call])
        again.lr = float(attrs["lr_per_call"][call])
        again.batch_size = int(attrs["batch_size_per_call"][call])
        again.partial_fit(chunk, seed=int(attrs["seed_per_call"][call]))
    for name in ("components_", "encoder_", "encoder_bias_", "decoder_bias_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(sae, name), err_msg=name)


def test_the_set_output_setting_and_feature_names_are_saved_and_reloaded(planted, tmp_path):
    # before 2026-12-07 neither was saved (the dictionary learner saves both): the loaded
    # model returned arrays and coded a frame with other columns without a word
    pd = pytest.importorskip("pandas")
    X = planted[0][:400]
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    sae = SparseAutoencoder(40, "topk", k=3, n_steps=10, batch_size=100, seed=0,
                            progress=False).set_output(transform="pandas").fit(frame)
    loaded = SparseAutoencoder.load(sae.save(tmp_path / "sae.nc"))
    Z = loaded.transform(frame)
    assert isinstance(Z, pd.DataFrame)
    pd.testing.assert_frame_equal(Z, sae.transform(frame))
    np.testing.assert_array_equal(loaded.feature_names_in_, frame.columns)
    with pytest.raises(ValueError, match="same order as they were in fit"):
        loaded.transform(frame[list(frame.columns[::-1])])
    # "default" is a setting too, kept as such; an array-fitted model saves no names
    plain = SparseAutoencoder(40, "topk", k=3, n_steps=10, batch_size=100, seed=0,
                              progress=False).fit(X).set_output(transform="default")
    ds = plain.to_dataset()
    assert ds.attrs["transform_output"] == "default" and "feature_name" not in ds.coords
    assert SparseAutoencoder.from_dataset(ds)._sklearn_output_config == {
        "transform": "default"}
    # files from before: no setting (scikit-learn's global one applies) and no names
    old = sae.to_dataset()
    del old.attrs["transform_output"]
    old = old.drop_vars("feature_name")
    back = SparseAutoencoder.from_dataset(old)
    assert not hasattr(back, "_sklearn_output_config")
    assert not hasattr(back, "feature_names_in_")
    assert isinstance(back.transform(X), np.ndarray)
