"""LISTA as xarray: the training history and the saved network.

A saved :class:`~v1model.amortized.LISTA` is one Dataset: the weights of its
parametrisation (:data:`WEIGHTS`), the dictionary, the history over ``step``
and the constructor's parameters in ``attrs["param_*"]``. Files written before
a parameter existed load with the value they were trained with
(:data:`PARAM_DEFAULTS`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..io import check_dims, check_saved_kind, clean_attrs, count_coord, values_by_dims
from ..validation import check_choice

__all__ = ["LISTA_KIND", "WEIGHTS", "PARAM_DEFAULTS", "LOSSES", "history_dataset",
           "network_dataset", "read_network"]

#: attrs["kind"] of a saved LISTA
LISTA_KIND = "v1model.amortized.LISTA"
#: per parametrisation, the trained weights: name in the training loop -> (attribute,
#: saved variable, dims, long name, units)
WEIGHTS = {
    "full": {
        "W_e": ("encoder_weight_", "encoder_weight", ("atom", "feature"), "W_e: B = X W_e^T",
                "1"),
        "S": ("lateral_weight_", "lateral_weight", ("atom", "atom_in"), "S: C = B + Z S^T",
              "1"),
        "theta": ("threshold_", "threshold", ("atom",),
                  "soft threshold theta, shared by the layers", "units of codes"),
    },
    "step": {
        "step": ("step_size_", "step_size", ("layer",),
                 "alpha_t: C_t = Z_{t-1} - alpha_t (Z_{t-1} D - X) D^T, threshold alpha_t lam",
                 "1 / (units of D)^2"),
    },
}
#: the values of parameters that files saved before they existed were trained with
PARAM_DEFAULTS = {"objective": "supervised", "parametrization": "full"}
#: the training loss and its units, per objective
LOSSES = {"supervised": ("0.5 * mean over samples of ||z - z*||^2", "(units of codes)^2"),
          "lasso": ("mean over samples of 0.5 ||x - z D||^2 + lam ||z||_1", "(units of X)^2")}


def history_dataset(rows, attrs) -> xr.Dataset:
    """:attr:`LISTA.history_` from the recorded rows (dicts with ``step``,
    ``train_loss`` and optionally ``validation_loss``, ``validation_code_error``)
    and the run's ``attrs`` (with ``loss`` and ``loss_units``)."""
    loss, units = attrs["loss"], attrs["loss_units"]
    code_error, code_units = LOSSES["supervised"]
    step = np.array([r["step"] for r in rows])
    ds = xr.Dataset({"train_loss": ("step", np.array([r["train_loss"] for r in rows]), {
        "long_name": f"training loss {loss} (minibatches since the last row)",
        "units": units})}, coords={"step": count_coord("step", step, "Adam steps made")})
    if "validation_loss" in rows[0]:
        ds["validation_loss"] = ("step", np.array([r["validation_loss"] for r in rows]), {
            "long_name": f"held-out loss {loss}", "units": units})
    if "validation_code_error" in rows[0]:
        ds["validation_code_error"] = (
            "step", np.array([r["validation_code_error"] for r in rows]),
            {"long_name": f"held-out error to target_val, {code_error}", "units": code_units})
    ds.attrs.update(clean_attrs(attrs))
    return ds


def network_dataset(net, params) -> xr.Dataset:
    """The fitted ``net`` as a Dataset; ``params`` are its constructor parameters
    as they are to be saved."""
    # copies: a Dataset that shares the network's arrays changes it when it is changed
    data = {var: (dims, np.array(getattr(net, attr)), {"long_name": text, "units": units})
            for attr, var, dims, text, units in WEIGHTS[net.parametrization_].values()}
    # x = z D: D carries X's units per unit of the codes ("units of X" made the codes
    # dimensionless, against the thresholds' "units of codes" and W_e's "1")
    data["dictionary"] = (("atom", "feature"), np.array(net.dictionary_),
                          {"long_name": "dictionary D, one atom per row",
                           "units": "units of X per unit of codes"})
    adam = getattr(net, "_adam", None)
    if adam is not None:  # what partial_fit continues from
        for name, (_, var, dims, text, units) in WEIGHTS[net.parametrization_].items():
            # the moments are running means of the loss's gradient (squared) by the weight
            gradient = f"units of the training loss per ({units})"
            for key, what, unit in (("m", "first", gradient), ("v", "second", f"({gradient})^2")):
                data[f"adam_{key}_{name}"] = (dims, np.array(getattr(adam, key)[name]), {
                    "long_name": f"Adam's {what} moment of the gradient by {var}",
                    "units": unit})
    ds = xr.Dataset(data)
    history = net.history_
    if history is not None:
        bare = history.copy(deep=True)  # the record shares no array with the network
        bare.attrs = {}
        ds = ds.merge(bare)
    ds.attrs = clean_attrs({"kind": LISTA_KIND, **{f"param_{k}": v for k, v in params.items()},
                            **({} if adam is None else {"adam_step": int(adam.t)}),
                            **({} if history is None else
                               {f"history_{k}": v for k, v in history.attrs.items()})})
    return ds


def read_network(ds, names):
    """What :func:`network_dataset` saved: ``(params, weights, D, history, adam)``
    with the parameters ``names`` (:data:`PARAM_DEFAULTS` for those an older file
    lacks), the weights by their training-loop names, the dictionary, the
    history (None when none was saved) and Adam's state ``(step, {"m": ...,
    "v": ...})`` by the weights' names (None when none was saved).

    Raises
    ------
    TypeError
        When ``ds`` is not a Dataset (it was a ValueError about its ``attrs['kind']``,
        as the other loaders' is a TypeError, :func:`~v1model.io.check_saved_kind`).
    ValueError
        When ``ds`` is not a saved LISTA, lacks a parameter or an array, or an
        array's dims are not those saved.
    """
    check_saved_kind(ds, LISTA_KIND, "LISTA")
    missing = [f"attrs['param_{k}']" for k in names
               if f"param_{k}" not in ds.attrs and k not in PARAM_DEFAULTS]
    if missing:
        raise ValueError(f"ds lacks {', '.join(missing)}: not a complete saved LISTA")
    params = {k: ds.attrs.get(f"param_{k}", PARAM_DEFAULTS.get(k)) for k in names}
    # netCDF gives numpy scalars: as Python's, the loaded network's repr and get_params()
    # are those of the saved one (not n_layers=np.int64(3)) and JSON-serialisable
    params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
    # saved None ("None", clean_attrs) is the default automatic bar, not True
    progress = params["progress"]
    params["progress"] = None if progress == "None" else bool(progress)
    kind = check_choice(params["parametrization"], "the saved parametrization", tuple(WEIGHTS))
    missing = [var for _, var, *_ in WEIGHTS[kind].values() if var not in ds]
    missing += [] if "dictionary" in ds else ["dictionary"]
    if missing:
        raise ValueError(f"ds lacks {', '.join(missing)}: not a complete saved LISTA")
    weights = {name: values_by_dims(ds, var, dims)
               for name, (_, var, dims, _, _) in WEIGHTS[kind].items()}
    D = values_by_dims(ds, "dictionary", ("atom", "feature"))
    # the history's variables, found by their dim: a renamed one would drop it unsaid
    for var in ("train_loss", "validation_loss", "validation_code_error"):
        if var in ds:
            check_dims(ds, var, ("step",))
    history = None
    if "step" in ds.dims:
        # the network's own arrays, not the Dataset's
        history = ds[[v for v in ds.data_vars if ds[v].dims == ("step",)]].copy(deep=True)
        history.attrs = {k[len("history_"):]: v for k, v in ds.attrs.items()
                         if k.startswith("history_")}
        if "record_every" not in history.attrs:
            # a file saved before histories recorded it: partial_fit then listed the
            # earlier calls' as unknown (record_every_per_call ["None", 20]), though the
            # saved network's setting was theirs
            history.attrs["record_every"] = _saved_record_every(
                history["step"].values, params["record_every"])
    adam = None
    saved = [f"adam_{key}_{name}" for name in WEIGHTS[kind] for key in ("m", "v")]
    if "adam_step" in ds.attrs and all(var in ds for var in saved):
        adam = (int(ds.attrs["adam_step"]),
                {key: {name: values_by_dims(ds, f"adam_{key}_{name}", dims)
                       for name, (_, _, dims, _, _) in WEIGHTS[kind].items()}
                 for key in ("m", "v")})
    return params, weights, D, history, adam


def _saved_record_every(steps, saved):
    """The ``record_every`` of the calls behind a history saved without it: the saved
    network's setting ``saved``, unless two recorded ``steps`` are further apart than
    it (a call with a wider setting spaced them): then ``"None"``, unknown."""
    spacings = np.diff(np.asarray(steps, dtype=np.int64))
    if spacings.size and spacings.max() > int(saved):
        return "None"
    return int(saved)
