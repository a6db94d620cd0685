"""A saved result explains itself: whoever has only the .nc file can tell what every
number is and how it was made (ARCHITECTURE.md, "Conventions").

For every public producer of an ``xarray`` result, on small inputs:
- every data variable and every non-index coordinate has ``units`` and a
  ``long_name`` (or ``description``); numeric index coordinates have ``units``
  (time, frequency, lam, contrast, pixels, overcompleteness...), except the
  integer counters and labels of ``COUNTER_INDEX`` (sample, atom, update...), for
  which CF needs none; no ``dim_N``;
- the counters of histories (``iteration``, ``update``, ``step``) say what they count
  (``long_name``) with ``units`` "1" (:func:`v1model.io.count_coord`);
- the parameters that change the result are in the attrs with the values used
  (a study records every ``run()`` parameter, the quick defaults resolved);
- it saves with ``v1model.io.save_dataset`` (and, outside the studies, with a plain
  ``to_netcdf``) and reloads identical with plain ``xarray.open_dataset``.
"""

import inspect

import numpy as np
import pytest
import xarray as xr

from v1model.io import clean_attrs, save_dataset

#: index coordinates whose integer values only count or label entries (CF: no units
#: needed); every other numeric index coordinate is a quantity (a time, a frequency, a
#: position in pixels, a count of atoms per pixel...) and needs ``units``
COUNTER_INDEX = {"sample", "atom", "atom_other", "ref_atom", "control_atom", "sample_atom",
                 "unit", "latent", "feature", "neuron", "neuron_pre", "kernel", "update",
                 "iteration", "level", "config"}


#: the counters of histories (solvers' iterations, learners' updates, training steps): as
#: counters they need no units for CF, but each says what it counts (count_coord); only
#: the LCA's iteration had a long_name
HISTORY_COUNTERS = ("iteration", "update", "step")


def _as_dataset(result):
    if isinstance(result, xr.DataArray):
        return result.to_dataset(name=result.name or "data", promote_attrs=True)
    return result


def assert_described(result):
    ds = _as_dataset(result)
    problems = [f"unnamed dim {d!r}" for d in ds.dims if str(d).startswith("dim_")]
    for name in ds.data_vars:
        attrs = ds[name].attrs
        if "units" not in attrs:
            problems.append(f"variable {name!r} has no units")
        if not (attrs.get("long_name") or attrs.get("description")):
            problems.append(f"variable {name!r} has no long_name")
    for name in ds.coords:
        attrs = ds[name].attrs
        if name in ds.dims:
            if (ds[name].dtype.kind in "iufcmM" and name not in COUNTER_INDEX
                    and "units" not in attrs):
                problems.append(f"index coordinate {name!r} has no units")
            continue
        if "units" not in attrs:
            problems.append(f"coordinate {name!r} has no units")
        if not (attrs.get("long_name") or attrs.get("description")):
            problems.append(f"coordinate {name!r} has no long_name")
    assert not problems, problems


def assert_counters_described(result):
    ds = _as_dataset(result)
    problems = [f"counter {name!r} has attrs {dict(ds[name].attrs)}"
                for name in HISTORY_COUNTERS if name in ds.dims and name in ds.coords
                and not (ds[name].attrs.get("long_name") and ds[name].attrs.get("units") == "1"
                         and ds[name].dtype.kind == "i")]
    assert not problems, problems


def assert_reloads(result, path):
    # a DataArray is saved as a Dataset of its one variable, its attrs on the variable
    ds = result.to_dataset(name=result.name or "data") if isinstance(
        result, xr.DataArray) else result
    save_dataset(result, path)
    with xr.open_dataset(path) as back:
        back = back.load()
    expected = ds.copy()
    expected.attrs = clean_attrs(dict(ds.attrs))
    for key in ("v1model_version", "v1model_format_version"):  # added by save_dataset
        expected.attrs.setdefault(key, back.attrs.get(key))
    for name in expected.variables:
        expected[name].attrs = clean_attrs(dict(ds[name].attrs))
    xr.testing.assert_identical(back, expected)


def assert_attrs(attrs, expected):
    for key, value in expected.items():
        assert key in attrs, f"attrs lack {key!r}: {sorted(attrs)}"
        assert np.array_equal(np.asarray(attrs[key]), np.asarray(value)), (key, attrs[key], value)


def assert_plain_netcdf_reloads(result, path):
    """The package's results keep netCDF-safe attrs in memory: a plain ``to_netcdf``
    works too (the learners and analyses say so in their docs)."""
    ds = result.to_dataset(name=result.name or "data") if isinstance(
        result, xr.DataArray) else result
    ds.to_netcdf(path)
    with xr.open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), ds)


def _check(result, tmp_path, **expected_attrs):
    assert_described(result)
    assert_counters_described(result)
    assert_attrs(result.attrs, expected_attrs)
    assert_reloads(result, tmp_path / "result.nc")
    assert_plain_netcdf_reloads(result, tmp_path / "plain.nc")


# --- small inputs -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((20, 64))
    return X, D


def _encoder(D):
    return lambda Z: Z @ D.T


# --- v1model.analysis ---------------------------------------------------------------------

def _analysis_results(X, D):
    import v1model.analysis as an
    from v1model.inference import encode

    enc, shape = _encoder(D), (8, 8)
    fit = an.fit_gabor(D[:3], shape, n_starts=1, n_iter=5, max_nfev=10, return_model=True)
    gratings = an.grating_responses(enc, shape, orientations=4, frequencies=2, phases=2)
    size = an.size_tuning(enc, shape, 0.0, 0.25, diameters=3, phases=2)
    length = an.length_tuning(enc, shape, 0.0, 0.25, lengths=3, phases=2)
    codes = encode(X, D, "fista", lam=0.1)
    kernels = np.random.default_rng(1).standard_normal((5, 32))
    auditory = an.auditory_tuning(kernels, 8000.0)
    return {
        "fit_gabor": (fit, dict(n_starts=1, n_iter=5, max_nfev=10)),
        "reliable_gabor_fits": (an.reliable_gabor_fits(fit, min_r2=0.5), dict(min_r2=0.5)),
        "map_receptive_fields white": (an.map_receptive_fields(
            enc, shape, n_stimuli=200, contrast=0.5, seed=0),
            dict(noise="white", n_stimuli=200, contrast=0.5, seed=0)),
        "map_receptive_fields sparse": (an.map_receptive_fields(
            enc, shape, noise="sparse", n_pixels=2, method="regression", ridge=1.0,
            n_stimuli=200, seed=0), dict(noise="sparse", n_pixels=2, method="regression",
                                         ridge=1.0)),
        "grating_responses": (gratings, dict(contrast=1.0)),
        "tuning_curves": (an.tuning_curves(gratings, phase_statistic="mean"),
                          dict(phase_statistic="mean")),
        "drifting_grating_responses": (an.drifting_grating_responses(
            enc, shape, orientations=4, frequencies=2, frames_per_cycle=4,
            temporal_frequency=3.0), dict(temporal_frequency=3.0)),
        "contrast_response": (an.contrast_response(enc, shape, 0.0, 0.25, contrasts=6, phases=2),
                              dict(n_phases=2)),
        "size_tuning": (size, dict(n_phases=2)),
        "surround_suppression": (an.surround_suppression(size), {}),
        "cross_orientation_suppression": (an.cross_orientation_suppression(
            enc, shape, 0.0, 0.25, phases=2, mask_phases=2), dict(n_mask_phases=2)),
        "length_tuning": (length, dict(n_phases=2)),
        "end_stopping": (an.end_stopping(length), {}),
        "sparseness": (an.sparseness(codes, tol=1e-6), dict(tol=1e-6)),
        "babel": (an.babel(D), {}),
        "coactive_babel": (an.coactive_babel(codes, D), {}),
        "auditory_tuning": (auditory, dict(sample_rate=8000.0)),
        "bandwidth_fit": (an.bandwidth_fit(auditory, exclude_edges=False), {}),
    }


def test_analysis_results_are_described_and_reload(problem, tmp_path):
    for name, (result, expected) in _analysis_results(*problem).items():
        try:
            _check(result, tmp_path, **expected)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


# --- v1model.inference: histories and trajectories ----------------------------------------

#: what each solver's history must record beyond lam / n_nonzero (the limits that end a
#: run that has not converged, and the precision of the arithmetic)
SOLVER_ATTRS = {
    "lca": dict(dtype="float32", tol=1e-3, max_steps=20000),
    "fista": dict(dtype="float32", max_iter=5000, accelerated=1),
    "ista": dict(dtype="float32", accelerated=0),
    "active_set": dict(dtype="float32", max_rounds=100, max_inner=10),
    "cd": dict(dtype="float32", max_sweeps=1000),
    "mp": dict(dtype="float32", max_iter=30),
    "omp": dict(dtype="float32"),
    "iht": dict(dtype="float32", max_iter=1000),
}


@pytest.mark.parametrize("method", sorted(SOLVER_ATTRS))
def test_solver_histories_record_their_limits(problem, method, tmp_path):
    from v1model.inference import METHODS, encode

    assert set(METHODS) == set(SOLVER_ATTRS)  # a new solver is added here too
    X, D = problem
    kwargs = dict(n_nonzero=3) if method in ("mp", "omp", "iht") else dict(lam=0.1)
    _, history = encode(X, D, method, return_history=True, **kwargs)
    _check(history, tmp_path, **SOLVER_ATTRS[method], **kwargs)


def test_lca_trajectory_and_history_in_float64(problem, tmp_path):
    from v1model.inference import lca

    X, D = problem
    _, traj, hist = lca(X, D, 0.1, n_steps=10, return_trajectory=True, return_history=True,
                        dtype=np.float64)
    for result in (traj, hist):
        _check(result, tmp_path, n_steps=10, dtype="float64", lam=0.1)
    assert hist["time"].attrs["units"] == "s"


# --- v1model.learning and the network -----------------------------------------------------

def test_learners_histories_and_saved_models(problem, tmp_path):
    import v1model.learning as lr
    from v1model.network import SparseCodingNetwork

    X, _ = problem
    quiet = dict(seed=0, progress=False)
    _, h = lr.learn_dictionary(X, 8, n_updates=3, batch_size=10, **quiet)
    _check(h, tmp_path, n_updates=3, batch_size=10, seed=0)
    _, h = lr.learn_mod(X, 8, lam=0.1, n_updates=2, **quiet)
    _check(h, tmp_path, learner="mod", n_updates=2, lam=0.1)
    _, h = lr.learn_ksvd(X, 8, n_nonzero=2, n_updates=2, **quiet)
    _check(h, tmp_path, learner="ksvd", n_nonzero=2)
    _, h = lr.learn_online(X, 8, lam=0.1, n_updates=3, batch_size=10, **quiet)
    _check(h, tmp_path, learner="online", batch_size=10)
    est = lr.SparseDictionaryLearner(8, lam=0.1, n_updates=3, batch_size=10, seed=0).fit(X)
    _check(est.history_, tmp_path, n_updates=3)
    _check(est.to_dataset(), tmp_path)
    net = SparseCodingNetwork(n_atoms=8, patch_shape=(8, 8), lam=0.1)
    _check(net.learn(X, n_updates=3, batch_size=10, **quiet), tmp_path, n_updates=3)
    _check(net.to_dataset(), tmp_path, lam=0.1)


# --- v1model.convolutional ----------------------------------------------------------------

@pytest.fixture(scope="module")
def conv_problem():
    rng = np.random.default_rng(0)
    K = rng.standard_normal((3, 4, 4))
    K /= np.linalg.norm(K.reshape(3, -1), axis=1)[:, None, None]
    return rng.standard_normal((3, 16, 16)), K


@pytest.mark.filterwarnings("ignore:convolutional .* stopped after 50")  # max_iter=50
@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_convolutional_histories_record_their_limits(conv_problem, method, tmp_path):
    from v1model.convolutional import encode

    images, K = conv_problem
    _, hist = encode(images[:1], K, 0.1, method=method, max_iter=50, return_history=True)
    _check(hist, tmp_path, lam=0.1, max_iter=50, tol=1e-3 if method == "lca" else 1e-4,
           dtype="float32")


def test_convolutional_pursuit_learning_and_network(conv_problem, tmp_path):
    from v1model.convolutional import (ConvolutionalDictionary, ConvolutionalNetwork,
                                       learn_kernels, matching_pursuit)

    images, K = conv_problem
    _, hist = matching_pursuit(images[:1], K, n_nonzero=5, max_iter=7, return_history=True)
    _check(hist, tmp_path, n_nonzero=5, max_iter=7, dtype="float32")
    learned = learn_kernels(images, 3, 4, n_updates=2, batch_size=2, crop_size=10, seed=0,
                            progress=False)
    _check(learned, tmp_path, n_updates=2, seed=0, init="gaussian")
    given = learn_kernels(images, 3, 4, n_updates=1, batch_size=2, crop_size=10, init=K,
                          seed=0, progress=False)
    assert given.attrs["init"] == "array"  # a given array, as the dictionary learners say
    phi = ConvolutionalDictionary(K, (16, 16))
    _check(phi.codes_dataset(phi.analyze(images[:1])), tmp_path)
    _check(ConvolutionalNetwork(K, lam=0.1).to_dataset(), tmp_path, lam=0.1)


# --- v1model.amortized --------------------------------------------------------------------

def test_amortized_results(tmp_path):
    from v1model.amortized import LISTA, lista_error_by_depth, solver_error_by_iteration

    rng = np.random.default_rng(0)
    D = rng.standard_normal((8, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((60, 16))
    net = LISTA(2, 0.1, n_steps=20, record_every=5).fit(X, D, seed=0, X_val=X[:10])
    _check(net.history_, tmp_path, n_layers=2, n_steps=20)
    _check(net.to_dataset(), tmp_path)
    step = LISTA(2, 0.1, parametrization="step", objective="lasso", n_steps=10,
                 record_every=5).fit(X, D, seed=0)
    _check(step.history_, tmp_path, parametrization="step", objective="lasso")
    _check(lista_error_by_depth(X, X[:10], D, 0.1, depths=(1, 2), n_steps=20), tmp_path,
           lam=0.1, lista_n_steps=20)
    # z* computed here to target_tol, or given by the caller: said which
    _check(solver_error_by_iteration(X[:10], D, 0.1, 5, target_tol=1e-6), tmp_path,
           lam=0.1, target="optimal_codes", target_tol=1e-6)
    given = solver_error_by_iteration(X[:10], D, 0.1, 5, target=np.zeros((10, 8)))
    assert given.attrs["target"] == "target"


# --- v1model.spiking ----------------------------------------------------------------------

def test_sailnet_records_its_start(tmp_path):
    from v1model.spiking import learn_sailnet

    images = np.random.default_rng(0).standard_normal((2, 40, 40))
    ds = learn_sailnet(images, 8, patch_size=4, border=2, n_updates=3, batch_size=5, seed=0,
                       progress=False)
    _check(ds, tmp_path, n_neurons=8, n_updates=3, init="gaussian")


@pytest.mark.slow
def test_spiking_lca_spikes_traces_and_windowed_rates(tmp_path):
    from v1model.spiking import spiking_lca, windowed_rates

    rng = np.random.default_rng(0)
    D = rng.standard_normal((6, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ds = spiking_lca(rng.standard_normal((2, 16)), D, 0.1, duration=0.05, seed=0,
                     record_spikes=True, record_v=[0, 1], record_dt=1e-3, target="numpy")
    _check(ds, tmp_path, lam=0.1, duration=0.05, seed=0)
    rates = windowed_rates(ds, [0.03, 0.05], transient_fraction=0.2)
    _check(rates, tmp_path, transient_fraction=0.2)


@pytest.mark.slow
def test_spiking_convolutional_lca_spikes(tmp_path):
    from v1model.spiking import spiking_convolutional_lca

    rng = np.random.default_rng(0)
    K = rng.standard_normal((2, 3, 3))
    K /= np.linalg.norm(K.reshape(2, -1), axis=1)[:, None, None]
    ds = spiking_convolutional_lca(rng.standard_normal((1, 6, 6)), K, 0.1, duration=0.03,
                                   seed=0, record_spikes=True, target="numpy")
    _check(ds, tmp_path, lam=0.1, duration=0.03)


# --- studies: run(quick=True) with tiny parameters ---------------------------------------

STUDIES = {
    "activity-ratio": dict(n_updates=5, n_lams=3, n_patches=200),
    "gregor-lecun-2010-lista": dict(n_updates=5, n_train=300, n_test=50, depths=[1, 2],
                                    n_steps=30, n_iter_max=5, patch_size=6, n_atoms=12),
    "lca-sweep": dict(n_updates=0, n_train=300, n_test=60, gabor=False),
    "lewicki-2002-speech": dict(audio_dir="synthetic", n_updates=3, n_segments=200, n_atoms=8,
                                segment_length=32),
    "olshausen-field-1996": dict(n_updates=5, patch_size=8, n_atoms=16, n_patches=500,
                                 n_eval=100),
    "olshausen-field-1997": dict(n_updates=5, patch_size=6, overcompleteness=[1, 2],
                                 n_patches=500, n_eval=100),
    "receptive-field-mapping": dict(n_updates=5, n_white=200, n_sparse=200, n_orientations=4,
                                    n_frequencies=2, n_phases=2, n_contrasts=6,
                                    n_sample_units=2),
    "ringach-2002": dict(n_updates=5, n_starts=1),
    "rozell-2008-lca": dict(n_updates=5, patch_size=6, n_atoms=12, n_train=300, n_eval=20,
                            n_levels=3),
    "sae-amortization-gap": dict(n_sources=16, n_ratios=2, n_steps=20, n_train=300,
                                 n_test=100),
    "sae-natural-patches": dict(patch_size=6, n_steps=20, n_patches=500, n_eval=100),
    "schultz-2014-replicating-kernels": dict(kernel_size=4, strides=[4, 2], n_updates=2,
                                             batch_size=1, patch_updates=0, control_kernels=0,
                                             extra_kernel_size=0, eval_lams=[1.0, 4.0],
                                             n_eval=1, max_iter=20),
    "smith-lewicki-2006-convolutional": dict(audio_dir="synthetic", n_updates=2,
                                             control_updates=2, n_kernels=4, kernel_size=16,
                                             n_excerpts=20, n_eval=4, excerpt_length=400),
    "zhu-rozell-2013-ncrf": dict(n_updates=30, margin=0.0, n_diameters=3, n_lengths=3,
                                 n_orientations=4, n_frequencies=2, n_phases=2,
                                 n_mask_phases=2, mask_contrasts=[0.5, 1.0], lca_tol=1e-3),
    "spiking-lca": dict(dictionary_updates=5, patch_size=4, n_atoms=8, n_patches=4,
                        duration=0.05, n_raster=2),
    "zylberberg-2011-sailnet": dict(n_updates=5, patch_size=6, n_neurons=12, n_eval=100,
                                    n_brian2=2),
}
#: Brian2 runs (compiled on first use)
SLOW_STUDIES = {"spiking-lca", "zylberberg-2011-sailnet"}
#: parameters recorded under another name (the name itself is taken)
RECORDED_AS = {
    # attrs["reference"] is the paper in every study; the A144.mat path resolved
    ("ringach-2002", "reference"): "a144",
    # kernel_size is a per-configuration coordinate; eval_lams the eval_lam coordinate
    ("schultz-2014-replicating-kernels", "kernel_size"): "kernel_size_base",
    ("schultz-2014-replicating-kernels", "eval_lams"): "eval_lam",
}
#: parameters whose default None a run leaves unresolved, recorded "None", because the
#: method it ran does not use them (given, they are refused)
UNUSED_BY_THE_METHOD = {
    # matching pursuit, the default method, has no L1 penalty (FISTA's lam, 2.0)
    ("smith-lewicki-2006-convolutional", "lam"),
    # nor a tolerance of FISTA's (the learner's tol, 1e-3 with method="fista")
    ("smith-lewicki-2006-convolutional", "learning_tol"),
    # the Cauchy prior's scale: the L1 prior (the default) has none
    ("olshausen-field-1996", "sigma"),
}


def test_every_study_is_covered():
    from studies import list_studies

    assert set(STUDIES) == set(list_studies())


@pytest.mark.filterwarnings("ignore:the largest drive")  # spiking-lca's tiny run: few spikes
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_STUDIES else name
    for name in STUDIES])
def test_study_result_explains_itself(name, tmp_path):
    from studies import get_study

    run = get_study(name).run
    params = STUDIES[name]
    ds = run(quick=True, seed=0, progress=False, **params)
    assert_described(ds)
    # the learning histories' update: bare in rozell-2008-lca, olshausen-field-1997 and
    # the two speech studies, without units in lca-sweep (the learners' label dropped)
    assert_counters_described(ds)
    assert ds.attrs["quick"] == 1 and ds.attrs["seed"] == 0
    for param, p in inspect.signature(run).parameters.items():
        if param in ("quick", "progress"):
            continue
        key = RECORDED_AS.get((name, param), param)
        recorded = ds[key].values if key in ds.coords else ds.attrs.get(key)
        assert recorded is not None, f"{name}: parameter {param!r} is not in the attrs"
        if param in params:  # the value used, not the default
            assert np.array_equal(np.asarray(recorded, dtype=object).ravel(),
                                  np.asarray(params[param], dtype=object).ravel()), \
                (name, param, recorded, params[param])
        elif (name, param) in UNUSED_BY_THE_METHOD:
            assert str(recorded) == "None", (name, param, recorded)
        elif p.default is None:  # a quick default, resolved: never "None"
            assert str(recorded) != "None" or param in ("dictionary", "audio_dir"), \
                f"{name}: {param!r} recorded as None, not the value quick used"
    assert_reloads(ds, tmp_path / f"{name}.nc")
