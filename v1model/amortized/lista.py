"""LISTA: a trained, fixed-depth approximation of the LASSO codes.

:class:`LISTA` unrolls ``n_layers`` ISTA iterations into a network whose
weights (encoder ``W_e``, lateral ``S``, thresholds ``theta``) are then
trained by minibatch Adam to map a signal straight to its optimal LASSO code
``z*`` (computed once by the project's FISTA): Gregor & LeCun's (2010)
supervised objective ``0.5 * mean_i ||z_i - z*_i||^2``. The network and its
gradients are in :mod:`._unrolled`, the optimiser in :mod:`v1model.adam`.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from ..inference._common import validate_problem
from ..inference.encode import encode
from ..io import clean_attrs, seed_attr
from ..learning._data import Minibatches
from ..learning.estimator import NotFittedError
from ..validation import (as_generator, check_array, check_bool, check_dictionary, check_dtype,
                          check_int,
                          check_positive, check_same_features, check_shape)
from .._blas import blas_threads_for_step
from ..adam import Adam
from ._unrolled import code_loss, ista_weights, lista_forward, lista_gradients

__all__ = ["LISTA", "NotFittedError", "optimal_codes"]

#: attrs["kind"] of a saved LISTA
LISTA_KIND = "v1model.amortized.LISTA"
#: the weights: attribute name -> (variable name, dims, long name)
WEIGHTS = {
    "encoder_weight_": ("encoder_weight", ("atom", "feature"), "W_e: B = X W_e^T"),
    "lateral_weight_": ("lateral_weight", ("atom", "atom_in"), "S: C = B + Z S^T"),
    "threshold_": ("threshold", ("atom",), "soft threshold theta, shared by the layers"),
}
#: constructor parameters, in order (saved with the weights)
PARAMS = ("n_layers", "lam", "n_steps", "batch_size", "learning_rate", "target_tol",
          "record_every", "dtype", "progress")


def optimal_codes(X, D, lam, tol=1e-8, dtype=np.float64):
    """The LASSO codes LISTA learns to predict: FISTA to a tight tolerance.

    Minimises ``0.5 ||x - z D||^2 + lam ||z||_1`` per sample with
    :func:`v1model.inference.encode` (``method="fista"``, float64, up to
    100000 iterations) and returns the codes in ``dtype``.
    """
    return encode(X, D, "fista", lam=lam, tol=tol, dtype=np.float64,
                  max_iter=100000).astype(dtype, copy=False)


class LISTA:
    """Learned ISTA (Gregor & LeCun 2010): ``n_layers`` trained shrinkage layers.

    With ``h`` the soft threshold at ``theta`` (one per atom),
    ``Z_1 = h(X W_e^T)`` and ``Z_t = h(X W_e^T + Z_{t-1} S^T)`` for
    ``t = 2 .. n_layers``; the codes are ``Z_{n_layers}``. The weights start
    at ISTA's (``W_e = D / L``, ``S = I - D D^T / L``, ``theta = lam / L``,
    ``L = lambda_max(D D^T)``), where the network *is* ``n_layers`` ISTA
    iterations from zero codes, and are trained to predict the optimal codes
    of the LASSO ``0.5 ||x - z D||^2 + lam ||z||_1`` (the objective of
    :mod:`v1model.inference`).

    Parameters
    ----------
    n_layers : int, default 3
        Thresholding layers, >= 1 (the paper's ``T`` is ``n_layers - 1``,
        the number of products with ``S``).
    lam : float, default 0.1
        L1 penalty of the LASSO whose codes are learnt, > 0 (units of ``X``).
    n_steps : int, default 2000
        Adam steps (minibatches) made by :meth:`fit`.
    batch_size : int, default 100
        Samples per minibatch (all of them when there are fewer).
    learning_rate : float, default 1e-3
        Adam's step size (units of the weights).
    target_tol : float, default 1e-8
        FISTA's relative tolerance for the target codes (:func:`optimal_codes`).
    record_every : int, default 20
        Steps between rows of :attr:`history_`.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the weights, the training and the codes.
    progress : bool, default False
        Show a progress bar during :meth:`fit`.

    Attributes
    ----------
    encoder_weight_ : ndarray, shape (n_atoms, n_features)
        ``W_e``.
    lateral_weight_ : ndarray, shape (n_atoms, n_atoms)
        ``S``.
    threshold_ : ndarray, shape (n_atoms,)
        ``theta``.
    dictionary_ : ndarray, shape (n_atoms, n_features)
        The dictionary ``D`` the network was initialised from.
    n_layers_ : int
        The depth the weights were trained for (used by :meth:`encode`).
    n_features_in_ : int
    history_ : xarray.Dataset or None
        Over ``step`` (Adam steps made before the row): ``train_loss`` (mean
        minibatch loss since the previous row; at step 0 the loss of the
        first minibatch) and, with held-out data, ``validation_loss``; the
        parameters in attrs. None after :meth:`initialize` alone.

    Notes
    -----
    :meth:`fit` trains small networks (under 0.4 GFLOP per step) on one BLAS
    thread, where threads only contend (:mod:`v1model._blas`).

    References
    ----------
    Gregor, K. & LeCun, Y. (2010). Learning fast approximations of sparse
    coding. Proc. 27th ICML, 399-406.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.amortized import LISTA
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 10))
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> X = rng.standard_normal((200, 10))
    >>> net = LISTA(n_layers=2, lam=0.5, n_steps=50).fit(X, D, seed=0)
    >>> net.encode(X[:3]).shape
    (3, 20)
    """

    def __init__(self, n_layers=3, lam=0.1, *, n_steps=2000, batch_size=100,
                 learning_rate=1e-3, target_tol=1e-8, record_every=20, dtype="float32",
                 progress=False):
        self.n_layers = n_layers
        self.lam = lam
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.target_tol = target_tol
        self.record_every = record_every
        self.dtype = dtype
        self.progress = progress

    def __repr__(self):
        return f"{type(self).__name__}(n_layers={self.n_layers!r}, lam={self.lam!r})"

    def get_params(self) -> dict:
        """The constructor's parameters."""
        return {name: getattr(self, name) for name in PARAMS}

    # ------------------------------------------------------------ fitting
    def _validated(self):
        check_int(self.n_layers, "n_layers", minimum=1)
        check_positive(self.lam, "lam")
        check_int(self.n_steps, "n_steps", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.target_tol, "target_tol")
        check_int(self.record_every, "record_every", minimum=1)
        check_bool(self.progress, "progress")
        return check_dtype(self.dtype)

    def initialize(self, D):
        """Set the weights to ISTA's for ``D`` (no training); returns ``self``.

        Then :meth:`encode` gives exactly ``n_layers`` iterations of
        :func:`v1model.inference.ista` (``step="constant"``) from zero codes.
        """
        dtype = self._validated()
        D = np.ascontiguousarray(check_dictionary(D, "D"), dtype=dtype)
        self._set_weights(*ista_weights(D, float(self.lam), dtype), D)
        self.history_ = None
        return self

    def fit(self, X, D, *, seed=None, target=None, X_val=None, target_val=None):
        """Train the network on ``X`` to predict the LASSO codes in ``D``; returns ``self``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
            Training signals.
        D : array_like, shape (n_atoms, n_features)
            Dictionary, one (normally unit-norm) atom per row.
        seed : int, Generator or None
            Seed of the minibatch order.
        target : array_like, shape (n_samples, n_atoms), optional
            The codes to predict; default :func:`optimal_codes` of ``X``.
        X_val : array_like, shape (n_val, n_features), optional
            Held-out signals: their loss is recorded in :attr:`history_`.
        target_val : array_like, shape (n_val, n_atoms), optional
            Their codes; default :func:`optimal_codes` of ``X_val``.

        Raises
        ------
        ValueError
            For invalid parameters, non-finite or mismatched ``X``/``D``/
            targets, or ``target_val`` without ``X_val``.
        """
        from tqdm.auto import tqdm

        dtype = self._validated()
        rng = as_generator(seed)
        X, D, lam, _ = validate_problem(X, D, self.lam, dtype)
        target = self._targets(X, D, target, "target", dtype)
        if X_val is None and target_val is not None:
            raise ValueError("target_val was given without X_val")
        if X_val is not None:
            X_val = check_array(X_val, "X_val", ndim=2, dtype=dtype)
            check_same_features(X_val, D, "X_val", "D")
            target_val = self._targets(X_val, D, target_val, "target_val", dtype)
        params = list(ista_weights(D, lam, dtype))
        W_e, S, theta = params
        n_layers, n_steps = int(self.n_layers), int(self.n_steps)
        every = int(self.record_every)
        weights = dict(zip(("W_e", "S", "theta"), params))  # Adam updates them in place
        adam = Adam(weights, lr=float(self.learning_rate))
        batches = Minibatches(X.shape[0], int(self.batch_size), True, rng)
        rows, since = [], []
        start = time.perf_counter()
        # forward (X W_e^T, then a product with S per layer) and backward: ~3x the forward
        n_atoms, n_features = D.shape
        flops = 6.0 * int(batches.batch_size) * n_atoms * (n_features + (n_layers - 1) * n_atoms)
        with blas_threads_for_step(flops):
            for step in tqdm(range(n_steps), desc="LISTA", disable=not self.progress, leave=False):
                idx = batches.next()
                Z, inputs = lista_forward(X[idx], W_e, S, theta, n_layers, keep_inputs=True)
                loss, grad_Z = code_loss(Z, target[idx])
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"LISTA training diverged at step {step}: loss {loss}; lower "
                        f"learning_rate (now {self.learning_rate!r})")
                since.append(loss)
                if step == 0:
                    rows.append(self._record(0, since, X_val, target_val, params))
                adam.step(weights, dict(zip(weights, lista_gradients(X[idx], S, theta, inputs,
                                                                    grad_Z))))
                if (step + 1) % every == 0 or step + 1 == n_steps:
                    rows.append(self._record(step + 1, since, X_val, target_val, params))
        attrs = dict(model="LISTA", n_layers=n_layers, lam=lam, n_steps=n_steps,
                     batch_size=int(batches.batch_size), learning_rate=float(self.learning_rate),
                     target_tol=float(self.target_tol), dtype=dtype.name,
                     n_training_samples=X.shape[0], n_atoms=D.shape[0], n_features=D.shape[1],
                     seed=seed_attr(seed), wall_time=time.perf_counter() - start,
                     loss="0.5 * mean over samples of ||z - z*||^2")
        self._set_weights(W_e, S, theta, D)
        self.history_ = _history_dataset(rows, attrs)
        return self

    def _targets(self, X, D, target, name, dtype):
        if target is None:
            return optimal_codes(X, D, self.lam, self.target_tol, dtype)
        target = check_array(target, name, ndim=2, dtype=dtype)
        return check_shape(target, name, (X.shape[0], D.shape[0]))

    def _record(self, step, since, X_val, target_val, params):
        row = {"step": step, "train_loss": float(np.mean(since))}
        since.clear()
        if X_val is not None:
            Z = lista_forward(X_val, *params, int(self.n_layers))
            row["validation_loss"] = code_loss(Z, target_val)[0]
        return row

    def _set_weights(self, W_e, S, theta, D):
        self.n_layers_ = int(self.n_layers)  # encode's depth, even if n_layers changes later
        self.encoder_weight_, self.lateral_weight_, self.threshold_ = W_e, S, theta
        self.dictionary_ = D
        self.n_features_in_ = D.shape[1]

    # ------------------------------------------------------------ using
    def _check_fitted(self):
        if not hasattr(self, "encoder_weight_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call "
                                 "'fit' or 'initialize' first")

    def encode(self, X):
        """Codes of ``X`` after the network's ``n_layers`` layers.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)

        Returns
        -------
        ndarray, shape (n_samples, n_atoms)
            In the network's dtype (``(1, n_atoms)`` for a single sample).
        """
        self._check_fitted()
        W_e = self.encoder_weight_
        X = check_array(X, "X", ndim=(1, 2), dtype=W_e.dtype)
        X = X[None, :] if X.ndim == 1 else X
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features per sample (shape {X.shape}) but "
                             f"this LISTA was fitted with {self.n_features_in_}; expected X "
                             f"of shape (n_samples, {self.n_features_in_})")
        return lista_forward(X, W_e, self.lateral_weight_, self.threshold_, self.n_layers_)

    def loss(self, X, target):
        """The training loss ``0.5 * mean_i ||z_i - z*_i||^2`` on ``(X, target)``."""
        Z = self.encode(X)
        target = check_array(target, "target", ndim=2, dtype=Z.dtype)
        return code_loss(Z, check_shape(target, "target", Z.shape))[0]

    # ------------------------------------------------------------ persistence
    def to_dataset(self) -> xr.Dataset:
        """The network as a Dataset: weights, dictionary, history, parameters in attrs."""
        self._check_fitted()
        data = {var: (dims, getattr(self, attr), {"long_name": text, "units": "1"})
                for attr, (var, dims, text) in WEIGHTS.items()}
        data["threshold"][2]["units"] = "units of codes"
        data["dictionary"] = (("atom", "feature"), self.dictionary_,
                              {"long_name": "dictionary D, one atom per row",
                               "units": "units of X"})
        ds = xr.Dataset(data)
        if self.history_ is not None:
            history = self.history_.copy()
            history.attrs = {}
            ds = ds.merge(history)
        params = self.get_params()
        params["dtype"] = check_dtype(params["dtype"]).name
        params["n_layers"] = self.n_layers_  # the depth of the weights
        ds.attrs = clean_attrs({"kind": LISTA_KIND, **{f"param_{k}": v for k, v in params.items()},
                                **({} if self.history_ is None else
                                   {f"history_{k}": v for k, v in self.history_.attrs.items()})})
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> LISTA:
        """The network saved by :meth:`to_dataset`."""
        if not isinstance(ds, xr.Dataset) or ds.attrs.get("kind") != LISTA_KIND:
            got = ds.attrs.get("kind") if isinstance(ds, xr.Dataset) else type(ds).__name__
            raise ValueError(f"ds is not a saved LISTA: attrs['kind'] is {got!r}, "
                             f"not {LISTA_KIND!r}")
        params = {k: ds.attrs[f"param_{k}"] for k in PARAMS}
        params["progress"] = bool(params["progress"])
        net = cls(**params)
        weights = [ds[var].transpose(*dims).values for var, dims, _ in WEIGHTS.values()]
        net._set_weights(*weights, ds["dictionary"].transpose("atom", "feature").values)
        net.history_ = None
        if "step" in ds.dims:
            net.history_ = ds[[v for v in ds.data_vars if ds[v].dims == ("step",)]]
            net.history_.attrs = {k[len("history_"):]: v for k, v in ds.attrs.items()
                                  if k.startswith("history_")}
        return net

    def save(self, path):
        """Save the network as netCDF (atomically); returns the path."""
        from ..io import save_dataset

        return save_dataset(self.to_dataset(), path)

    @classmethod
    def load(cls, path) -> LISTA:
        """A network saved by :meth:`save`."""
        from ..io import load_dataset

        return cls.from_dataset(load_dataset(path))


def _history_dataset(rows, attrs) -> xr.Dataset:
    step = np.array([r["step"] for r in rows])
    ds = xr.Dataset({"train_loss": ("step", np.array([r["train_loss"] for r in rows]), {
        "long_name": "training loss 0.5 mean ||z - z*||^2 (minibatches since the last row)",
        "units": "(units of codes)^2"})}, coords={"step": step})
    if "validation_loss" in rows[0]:
        ds["validation_loss"] = ("step", np.array([r["validation_loss"] for r in rows]), {
            "long_name": "held-out loss 0.5 mean ||z - z*||^2", "units": "(units of codes)^2"})
    ds["step"].attrs.update(long_name="Adam steps made", units="1")
    ds.attrs.update(clean_attrs(attrs))
    return ds
