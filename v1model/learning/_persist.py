"""A fitted :class:`SparseDictionaryLearner` as a labelled Dataset, and back.

The Dataset holds the dictionary (``components``: atom x feature), the
learning history (over ``update``), the estimator's parameters (JSON in
``attrs["estimator_params"]``, and one readable attr each) and, for the
online algorithm, the whole stream state: the sufficient statistics ``A``
and ``B`` (Mairal et al. 2009), the atoms' idle counts and the random
generator's state. A reloaded online learner therefore continues a stream
with ``partial_fit`` exactly as the saved one would have.
"""

from __future__ import annotations

import inspect
import json
import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
# the generator's state as JSON: io's, which seed_attr records too
from ..io import (_jsonable, check_dims, check_saved_kind, clean_attrs, generator_from_json,
                  generator_to_json, recorded_at_fit, seed_from_json, seed_param,
                  values_by_dims)
from ..validation import check_positive
from ._atoms import AtomUsage
from ._frames import saved_transform_output, transform_output
from ._history import ADDED_FIELDS, FIELDS, NOT_RECORDED, History

#: attrs["kind"] of a saved learner
LEARNER_KIND = "v1model.SparseDictionaryLearner"
#: prefix of the learning history's attrs among the learner's attrs
HISTORY_PREFIX = "learning_"
#: the online stream state: variable -> dims, and attrs (a file holds all of them or none)
STREAM_VARIABLES = {"stream_dictionary": ("atom", "feature"), "stream_A": ("atom", "atom_other"),
                    "stream_B": ("atom", "feature"), "stream_unused": ("atom",)}
STREAM_ATTRS = ("stream_weight", "stream_n_updates", "stream_n_samples_seen",
                "stream_wall_time", "stream_rng_state", "stream_attrs")


def learner_to_dataset(learner) -> xr.Dataset:
    """The fitted ``learner`` as a Dataset (see the module docstring)."""
    learner._check_fitted()
    D = learner.components_
    k, p = D.shape
    params = learner.get_params()
    # copies: a Dataset that partial_fit would change after the fact is no record. Codes are
    # in units of X (the history's mean_abs_code), so the unit-norm atoms are dimensionless
    data = {"components": (("atom", "feature"), D.copy(), {
        "long_name": "dictionary: one unit-norm atom per row", "units": "1"})}
    init = params["init"]
    if not isinstance(init, str):  # the initial dictionary given as an array
        data["init_dictionary"] = (("atom", "feature"), np.asarray(init, dtype=np.float64), {
            "long_name": "initial dictionary given as init", "units": "1"})
        params["init"] = "array"
    seed = params["seed"]
    # a SeedSequence as what makes it, a Generator as its state when the last fit (or
    # first partial_fit) began: the loaded learner's fit starts where that one did
    params["seed"], kept = seed_param(seed, recorded_at_fit(learner, seed))
    if not kept:  # a bit generator of its own: its state is not kept
        warnings.warn(
            "SparseDictionaryLearner.save: the learner's seed is a Generator whose state "
            "a file cannot hold: partial_fit of the loaded learner continues the saved "
            "stream, but fit starts unseeded (seed with an int, a SeedSequence or a "
            "NumPy bit generator's Generator to keep it)",
            UserWarning, stacklevel=user_stacklevel())
    coords = {"atom": np.arange(k), "feature": np.arange(p)}
    names = getattr(learner, "feature_names_in_", None)
    if names is not None:
        coords["feature_name"] = ("feature", np.asarray(names, dtype=str))
    attrs = {"kind": LEARNER_KIND, "estimator_params": json.dumps(params, default=_jsonable),
             "n_iter": int(learner.n_iter_), "n_features_in": int(learner.n_features_in_),
             **{f"param_{key}": value for key, value in params.items()}}
    output = transform_output(learner)
    if output is not None:  # set_output(transform=...): what transform returns
        attrs["transform_output"] = output
    state = getattr(learner, "_state", None)
    history = learner.history_
    if state is not None:
        data.update(
            stream_dictionary=(("atom", "feature"), state.D.copy(), {
                "long_name": "the stream's dictionary (float64; components is its copy in "
                             "the learner's dtype)", "units": "1"}),
            stream_A=(("atom", "atom_other"), state.A.copy(), {
                "long_name": "sufficient statistic A = weighted mean of a a^T",
                "units": "(units of X)^2"}),
            stream_B=(("atom", "feature"), state.B.copy(), {
                "long_name": "sufficient statistic B = weighted mean of a x^T",
                "units": "(units of X)^2"}),
            stream_unused=(("atom",), state.usage.unused.copy(), {
                "long_name": "consecutive updates in which the atom was not used (a "
                             "minibatch shorter than batch_size counts for its share)",
                "units": "1"}),
        )
        attrs.update(stream_weight=float(state.weight), stream_n_updates=int(state.n_updates),
                     stream_n_samples_seen=int(state.n_samples_seen),
                     stream_wall_time=float(state.history.wall_time),
                     stream_rng_state=generator_to_json(state.rng),
                     stream_attrs=json.dumps(state.attrs, default=_jsonable))
    ds = xr.Dataset(data, coords=coords)
    history_vars = history.copy(deep=True)  # the record shares no array with the learner
    history_vars.attrs = {}  # they go to the learner's attrs, prefixed, below
    ds = ds.merge(history_vars)
    attrs.update({HISTORY_PREFIX + key: value for key, value in history.attrs.items()})
    ds.attrs = clean_attrs(attrs)
    return ds


def learner_from_dataset(cls, ds: xr.Dataset):
    """The learner saved by :func:`learner_to_dataset`."""
    check_saved_kind(ds, LEARNER_KIND, cls.__name__)
    try:
        params = json.loads(ds.attrs["estimator_params"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("ds.attrs['estimator_params'] is missing or not JSON; "
                         "not a saved learner") from exc
    _check_complete(cls, ds, params)
    if params.get("init") == "array":
        params["init"] = values_by_dims(ds, "init_dictionary", ("atom", "feature"))
    params["seed"] = seed_from_json(params.get("seed"))
    method_params = params.get("method_params")
    if (params.get("positive") is False and params.get("method") == "lca"
            and isinstance(method_params, dict) and method_params.get("threshold") == "nonneg"):
        # saved before positive=None: False was the default, and the threshold gave the sign
        # (the learner now refuses the pair, so no file of the present version holds it)
        params["positive"] = None
    if params.get("algorithm") != "mod" and not _positive(params.get("ridge")):
        # saved before ridge was checked whatever the algorithm: MOD's ridge, which
        # this algorithm never used, refused the whole stream at load ("ridge must be a
        # positive finite number, got 0.0"); the default, as unused
        params["ridge"] = inspect.signature(cls).parameters["ridge"].default
    learner = cls(**params)
    output = saved_transform_output(ds.attrs)
    if output is not None:
        learner.set_output(transform=output)
    D = values_by_dims(ds, "components", ("atom", "feature"))
    names = ds["feature_name"].values.astype(object) if "feature_name" in ds.coords else None
    # a batch learner's history is a record: it loads without a lost variable (a stream
    # continues every column, and _check_complete required them all)
    hist_vars = [name for name in FIELDS if name in ds]
    for name in hist_vars:
        check_dims(ds, name, ("update",))
    history = ds[hist_vars].drop_vars([c for c in ds[hist_vars].coords if c != "update"]).copy(
        deep=True)  # the learner's own arrays, not the Dataset's
    history.attrs = {key[len(HISTORY_PREFIX):]: value for key, value in ds.attrs.items()
                     if key.startswith(HISTORY_PREFIX)}
    n_features = int(ds.attrs["n_features_in"])
    if "stream_A" in ds:  # and the rest of the stream state (_check_complete)
        learner._state = _stream_state(learner, ds, history, n_features)
        learner._set_fitted(D, int(ds.attrs["n_iter"]), n_features, None, names)
    else:
        learner._state = None
        learner._set_fitted(D, int(ds.attrs["n_iter"]), n_features, history, names)
    return learner


def _positive(value) -> bool:
    """Whether ``value`` passes :func:`check_positive`."""
    try:
        check_positive(value, "ridge")
    except (TypeError, ValueError):
        return False
    return True


def _check_complete(cls, ds, params):
    """A ValueError naming what a saved learner ``ds`` lacks: the dictionary, the
    attrs every learner has, and, if it holds any of the stream state, the rest
    of it (part of one is a damaged file, not a learner saved without it)."""
    missing = [] if "components" in ds else ["components"]
    if params.get("init") == "array" and "init_dictionary" not in ds:
        missing.append("init_dictionary")
    missing += [f"attrs[{key!r}]" for key in ("n_features_in", "n_iter") if key not in ds.attrs]
    if missing:
        raise ValueError(f"ds lacks {', '.join(missing)}: not a complete saved {cls.__name__}")
    if any(name in ds for name in STREAM_VARIABLES) or any(k in ds.attrs for k in STREAM_ATTRS):
        # a stream saved before a count was kept lacks it (loaded as NOT_RECORDED)
        missing = [name for name in (*STREAM_VARIABLES, *FIELDS)
                   if name not in ds and name not in ADDED_FIELDS]
        missing += [f"attrs[{key!r}]" for key in STREAM_ATTRS if key not in ds.attrs]
        if missing:
            raise ValueError(f"ds holds part of an online stream state but lacks "
                             f"{', '.join(missing)}: the file is damaged (partial_fit "
                             "continues the stream, and its history, from all of them)")


def _stream_state(learner, ds, history, n_features):
    from .online import OnlineState

    v = learner._validated(n_features)
    rng = generator_from_json(ds.attrs["stream_rng_state"], "ds.attrs['stream_rng_state']")
    usage = AtomUsage(v["n_atoms"], v["reseed_patience"], v["duplicate_tol"], v["min_usage"])
    stream = {name: values_by_dims(ds, name, dims) for name, dims in STREAM_VARIABLES.items()}
    usage.unused[:] = stream["stream_unused"]
    D = np.array(stream["stream_dictionary"], dtype=np.float64)
    state = OnlineState(D, v["coder"], v["forget_factor"], v["n_passes"], usage, rng)
    state.A[:] = stream["stream_A"]
    state.B[:] = stream["stream_B"]
    state.weight = float(ds.attrs["stream_weight"])
    state.n_updates = int(ds.attrs["stream_n_updates"])
    state.n_samples_seen = int(ds.attrs["stream_n_samples_seen"])
    state.attrs = json.loads(ds.attrs["stream_attrs"])
    # a stream saved before a count was recorded: NOT_RECORDED (-1) for its updates
    rows = np.stack([history[name].values.astype(np.float64) if name in history
                     else np.full(history.sizes.get("update", 0), float(NOT_RECORDED))
                     for name in FIELDS], axis=1)
    state.history = History(len(rows))
    state.history._rows[: len(rows)] = rows
    state.history._n = len(rows)
    state.history.wall_time = float(ds.attrs["stream_wall_time"])
    return state
