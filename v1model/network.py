"""The sparse-coding network: one spec, several simulators.

:class:`SparseCodingNetwork` holds what defines the network — the dictionary
(the units' feed-forward weights / receptive fields), the threshold and its
kind, lambda, the time constant, the sparseness prior and the learning rule —
and exposes ``encode``, ``learn``/``fit`` and ``save``/``load``. It integrates
nothing itself: ``encode`` hands the spec to a simulator backend (the ODE
solvers in :mod:`v1model.inference`, the Brian2 spiking network in
:mod:`v1model.spiking`).
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import xarray as xr

from ._frames import user_stacklevel
from .io import (SavedAsDataset, attach_history, check_saved_kind, continue_history,
                 detach_history)
from .validation import (
    ATOM_IMAGE_DIMS,
    DATA_DIMS,
    CheckedAttribute,
    array_shape,
    as_generator,
    atoms_by_dim_names,
    by_dim_names,
    check_bool,
    check_choice,
    check_dictionary,
    check_dtype,
    check_int,
    check_nonnegative,
    check_positive,
    describe,
    did_you_mean,
    flatten_image_atoms,
    image_atom_shape,
    refuse_unused_settings,
)

__all__ = ["SparseCodingNetwork", "BACKENDS"]

#: Simulator backends: name -> "module:function" taking (network, X, **kwargs)
#: and returning codes (n_samples, n_atoms). Imported lazily so that the ODE
#: path never imports Brian2.
BACKENDS = {
    "ode": "v1model.network:_encode_ode",
    "spiking": "v1model.spiking.backend:encode",
}
PRIORS = ("l1", "cauchy")
#: attrs["kind"] of a saved network (checked by from_dataset)
NETWORK_KIND = "v1model.SparseCodingNetwork"
#: the spec attrs every saved network holds (written by every version)
_SPEC_ATTRS = ("lam", "threshold", "tau", "prior", "sigma")
#: encode(method=...) names for the Cauchy prior's MAP inference -> scipy's method
#: the names the solvers give X and D in their messages: D is the network's own
#: dictionary, which the caller of encode never passed (they said "X and D")
ENCODE_NAMES = ("X", "dictionary")
CAUCHY_METHODS = {"lbfgs": "L-BFGS-B", "L-BFGS-B": "L-BFGS-B", "cg": "CG", "CG": "CG"}
THRESHOLDS = ("soft", "hard", "nonneg")


class SparseCodingNetwork(SavedAsDataset):
    """A sparse-coding network of V1 simple cells.

    Parameters
    ----------
    dictionary : array_like, shape (n_atoms, n_features) or (n_atoms, height, width), optional
        Feed-forward weights, one receptive field per row. If omitted, give
        ``n_atoms`` and ``patch_shape`` and call :meth:`learn`. A DataArray with
        dims (atom, feature) is read by dim name, and its ``atom`` coordinate,
        if any, labels the units (:attr:`atom_labels`). Atoms as images (e.g. a
        saved network's ``ds["dictionary"]`` (atom, y, x), read by dim name) are
        flattened row-major, as patches are, and give ``patch_shape`` (height, width).
    n_atoms : int, optional
        Number of units when no dictionary is given (with one, it must
        equal the dictionary's number of rows).
    patch_shape : tuple of int, optional
        (height, width) of the image patch each atom covers; default: the
        atoms' shape when they are images, else square from ``n_features``,
        or ``(1, n_features)`` when that is not a square number.
    lam : float, default 0.1
        Threshold / sparseness weight lambda (units of the input), >= 0.
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        LCA nonlinearity (L1, approximate L0, non-negative L1); "soft" only
        with ``prior="cauchy"``.
    tau : float, default 0.01
        Membrane time constant in seconds (10 ms).
    prior : {"l1", "cauchy"}, default "l1"
        Sparseness cost: L1 (LCA / LASSO) or Olshausen & Field's Cauchy
        S(a) = log(1 + (a/sigma)^2).
    sigma : float, default 0.316
        Scale of the Cauchy prior (sparsenet's value).

    Raises
    ------
    ValueError
        Without ``dictionary`` and ``n_atoms``, for an invalid dictionary, an
        ``n_atoms`` other than the dictionary's rows, a ``patch_shape`` that
        does not match ``n_features`` (or, for atoms as images, is not their
        (height, width)), a DataArray ``dictionary`` whose ``atom`` labels
        repeat, or a parameter out of range.
    TypeError
        For a ``patch_shape`` that is not a (height, width) pair, a
        ``dictionary`` that is a number or an ``xarray.Dataset``, or one whose
        ``atom`` labels are neither numbers nor text.

    Notes
    -----
    ``lam``, ``threshold``, ``tau``, ``prior`` and ``sigma`` may be changed on a
    network (e.g. a loaded one) by setting them: each value set is checked as
    the constructor checks it (``net.lam = -1`` raises ``ValueError``; a
    ``threshold`` other than ``"soft"`` with ``prior="cauchy"`` too), so that
    ``encode``, ``learn`` and ``save`` always see a valid spec. So are
    ``dictionary`` (``n_atoms`` follows its rows: ``net.dictionary =
    net.dictionary[alive]`` prunes units; its features must be ``patch_shape``'s
    pixels), ``n_atoms`` (settable only to the dictionary's rows, or before there
    is one) and ``patch_shape`` (its pixels must be the dictionary's features).
    A DataArray dictionary keeps its ``atom`` coordinate as the units' labels
    (``net.dictionary = D.isel(atom=[3, 7, 30])`` keeps 3, 7 and 30), which
    :meth:`save` writes as the ``atom`` coordinate; a plain array labels its
    units 0..n_atoms-1.
    """

    # checked whenever set: set unchecked, net.lam = -1 was saved in a file that load
    # refused, and threshold="hard" set on a Cauchy network was dropped unsaid by encode
    lam = CheckedAttribute(check_nonnegative)
    threshold = CheckedAttribute(lambda value, name: check_choice(value, name, THRESHOLDS),
                                 joint=lambda net, value: _check_cauchy_threshold(
                                     net.__dict__.get("prior", "l1"), value, "threshold"))
    tau = CheckedAttribute(check_positive)
    prior = CheckedAttribute(lambda value, name: check_choice(value, name, PRIORS),
                             joint=lambda net, value: _check_cauchy_threshold(
                                 value, net.__dict__.get("threshold", "soft"), "prior"))
    sigma = CheckedAttribute(check_positive)

    def __init__(
        self,
        dictionary=None,
        *,
        n_atoms: int | None = None,
        patch_shape=None,
        lam: float = 0.1,
        threshold: str = "soft",
        tau: float = 0.01,
        prior: str = "l1",
        sigma: float = 0.316,
    ):
        # checked as they are set (CheckedAttribute), here and later
        self.lam = lam
        self.threshold = threshold
        self.tau = tau
        # both given here: the message of the pair, not of a change of one of them
        _check_cauchy_threshold(check_choice(prior, "prior", PRIORS), self.threshold)
        self.prior = prior
        self.sigma = sigma
        if n_atoms is not None:
            n_atoms = check_int(n_atoms, "n_atoms", minimum=1)
        if dictionary is not None:
            self._dictionary, atom_shape = _checked_dictionary(dictionary, patch_shape)
            self._atom_labels = _atom_labels(dictionary, self._dictionary.shape[0])
            # atoms as images (n_atoms, height, width) say which patches they cover
            patch_shape = atom_shape if patch_shape is None else patch_shape
            n_features = self._dictionary.shape[1]
            if n_atoms is not None and n_atoms != self._dictionary.shape[0]:
                # it was ignored: n_atoms=10 with 32 atoms gave a network of 32, unsaid
                raise ValueError(f"n_atoms={n_atoms} but the dictionary has "
                                 f"{self._dictionary.shape[0]} atoms (rows, shape "
                                 f"{self._dictionary.shape}); give one of the two")
        else:
            if n_atoms is None:
                raise ValueError("give either dictionary or n_atoms (and patch_shape)")
            self._dictionary = None
            self._atom_labels = None
            n_features = None
        self._n_atoms = n_atoms
        self._patch_shape = _check_patch_shape(patch_shape, n_features)
        self.history_ = None
        # the Cauchy prior's gain adaptation state (running coefficient variance, one per
        # atom), carried from one learn() call to the next
        self.code_var_ = None

    # ------------------------------------------------------------------ spec
    # the dictionary and the sizes it fixes are checked when set, as lam is: set unchecked,
    # net.dictionary = D[alive] (32 of 64 atoms) left n_atoms at 64 (so said the repr), and
    # save failed in xarray ("conflicting sizes for dimension 'atom'"), learn as "D0 must
    # have shape (64, 64)", an argument the caller never gave
    @property
    def dictionary(self):
        """Feed-forward weights, shape (n_atoms, n_features), one atom per row (None
        before learning). Setting it checks it as the constructor does (a copy is kept);
        ``n_atoms`` follows its rows (``net.dictionary = net.dictionary[alive]`` prunes
        units; ``code_var_``, one per atom, is dropped unless the atoms set are the same,
        in the same order), and its features must
        be ``patch_shape``'s pixels (for other patches, build a new network); atoms set
        as images (n_atoms, height, width) are flattened row-major, and their (height,
        width) must be ``patch_shape``. A DataArray's ``atom`` coordinate becomes
        :attr:`atom_labels`; a plain array's units are labelled 0..n_atoms-1."""
        return self._dictionary

    @dictionary.setter
    def dictionary(self, value):
        D, atom_shape = _checked_dictionary(value, self._patch_shape)
        if self._patch_shape is not None and D.shape[1] != np.prod(self._patch_shape):
            h, w = self._patch_shape
            raise ValueError(
                f"dictionary has {D.shape[1]} features per atom (shape {D.shape}) but the "
                f"network's patches are {h}x{w} = {h * w} pixels (patch_shape {(h, w)}); for "
                f"atoms of other patches build SparseCodingNetwork(dictionary, "
                f"patch_shape=(height, width), ...)")
        if self.code_var_ is not None and not np.array_equal(D, self._dictionary):
            # the gain adaptation's state, one per atom, belongs to the atoms replaced: kept
            # for as many new atoms (reordered, or others), it was taken as theirs
            self.code_var_ = None
        labels = _atom_labels(value, D.shape[0])
        self._dictionary = D
        self._atom_labels = labels
        if self._patch_shape is None:
            self._patch_shape = atom_shape or _check_patch_shape(None, D.shape[1])

    @property
    def n_atoms(self):
        """Number of units: the dictionary's rows once there is one. It may be set
        only on a network with no dictionary yet (to the rows of a dictionary it has)."""
        return self._dictionary.shape[0] if self._dictionary is not None else self._n_atoms

    @n_atoms.setter
    def n_atoms(self, value):
        value = check_int(value, "n_atoms", minimum=1)
        if self._dictionary is not None and value != self._dictionary.shape[0]:
            raise ValueError(f"n_atoms={value} but the network's dictionary has "
                             f"{self._dictionary.shape[0]} atoms (rows): n_atoms follows the "
                             "dictionary; set net.dictionary to change the units")
        self._n_atoms = value

    @property
    def patch_shape(self):
        """(height, width) of the patch each atom covers (None before the size is
        known). Setting it checks it against the dictionary's features, as the
        constructor does."""
        return self._patch_shape

    @patch_shape.setter
    def patch_shape(self, value):
        n_features = self._dictionary.shape[1] if self._dictionary is not None else None
        self._patch_shape = _check_patch_shape(value, n_features)

    @property
    def atom_labels(self):
        """Labels of the units, shape (n_atoms,): the ``atom`` coordinate of a DataArray
        dictionary given or set (e.g. the units a pruned ``D.isel(atom=[...])`` kept),
        else 0..n_atoms-1 (None before the size is known). :meth:`to_dataset` writes
        them as the ``atom`` coordinate, and :meth:`load` reads them back. A copy."""
        if self._atom_labels is not None:
            return self._atom_labels.copy()
        return np.arange(self.n_atoms) if self.n_atoms is not None else None

    def __setstate__(self, state):
        # a pickle of an earlier version holds these three as plain attributes
        for name in ("dictionary", "n_atoms", "patch_shape"):
            if name in state:
                state["_" + name] = state.pop(name)
        # and no atom labels (its units were 0..n_atoms-1)
        state.setdefault("_atom_labels", None)
        self.__dict__.update(state)

    @property
    def n_features(self):
        """Features (pixels) per atom, or None before the size is known."""
        if self.dictionary is not None:
            return self.dictionary.shape[1]
        return int(np.prod(self.patch_shape)) if self.patch_shape else None

    def params(self) -> dict:
        """The spec as a flat dict (recorded in every output's attrs).

        Returns
        -------
        dict
            ``n_atoms``, ``n_features``, ``patch_shape`` (list or None),
            ``lam``, ``threshold``, ``tau`` (s), ``prior`` and ``sigma``.
        """
        return {
            "n_atoms": self.n_atoms,
            "n_features": self.n_features,
            "patch_shape": list(self.patch_shape) if self.patch_shape else None,
            "lam": self.lam,
            "threshold": self.threshold,
            "tau": self.tau,
            "prior": self.prior,
            "sigma": self.sigma,
        }

    def __repr__(self):
        p = self.params()
        return (
            f"SparseCodingNetwork(n_atoms={p['n_atoms']}, n_features={p['n_features']}, "
            f"patch_shape={self.patch_shape}, lam={self.lam}, threshold={self.threshold!r}, "
            f"prior={self.prior!r})"
        )

    def _require_dictionary(self):
        if self.dictionary is None:
            raise RuntimeError("the network has no dictionary yet: call learn() first or pass one")

    def _flat_patches(self, X, patch_shape=None):
        """``X`` given as a stack of patches ``(n_samples, height, width)`` (a DataArray
        over (sample, y, x) by dim name) flattened row-major, as the solvers flatten
        them, when ``(height, width)`` is ``patch_shape`` (default the network's);
        refused naming both shapes when it is not. Anything else is returned as given."""
        patch_shape = self.patch_shape if patch_shape is None else patch_shape
        if patch_shape is None or _stacked_patch_shape(X) is None:
            return X  # rows: _check_features names the network's patch_shape
        # the network's atoms as images (a view), or, before it has any, zero ones
        atoms = (np.zeros((self.n_atoms or 1, *patch_shape)) if self.dictionary is None
                 else self.dictionary.reshape(-1, *patch_shape))
        try:
            X, _ = flatten_image_atoms(X, atoms, "X", "the network")
        except ValueError as exc:  # e.g. whole images: say how to make patches of them
            raise ValueError(f"{exc}, or cut patches from images with "
                             "stimuli.sample_patches") from None
        return X

    def _check_features(self, X) -> None:
        """Refuse ``X`` whose rows are not the network's patches, naming ``patch_shape``:
        the backends' check named a ``D`` the caller never gave. Other malformed ``X``
        is left to the backends' own validation."""
        try:
            shape = np.shape(X)
        except ValueError:  # ragged rows: the backends say what is wrong
            return
        if len(shape) in (1, 2) and shape[-1] != self.n_features:
            h, w = self.patch_shape
            raise ValueError(
                f"X has {shape[-1]} features per sample (shape {shape}) but the network's "
                f"patches are {h}x{w} = {self.n_features} pixels (patch_shape {(h, w)}); "
                f"expected X of shape (n_samples, {self.n_features})")

    # --------------------------------------------------------------- encode
    def encode(self, X, backend: str = "ode", **kwargs):
        """Codes of ``X`` (n_samples, n_features) -> (n_samples, n_atoms).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_features,)
            Stimuli, one flattened (row-major) patch per row; a single patch of
            shape ``(n_features,)`` is one sample (its codes have shape
            ``(1, n_atoms)``, as the solvers give them); a DataArray with
            dims (sample, feature) is read by dim name, in either order (its codes
            are a DataArray, one row per sample in its order: Returns). Also a stack
            of patches ``(n_samples, height, width)`` of ``patch_shape``
            (a DataArray over (sample, y, x) by dim name), flattened
            row-major as the solvers flatten them.
        backend : {"ode", "spiking"}, default "ode"
            ``"ode"``: rate units integrated with :func:`v1model.inference.lca`
            (``method="lca"``, default) or any other method of
            :func:`v1model.inference.encode` (``"cd"``, ``"fista"``, ``"active_set"``,
            ``"omp"``, ...); for the Cauchy prior, quasi-Newton MAP inference.
            ``"spiking"``: the Brian2 spiking LCA
            (:func:`v1model.spiking.spiking_lca`): its codes are spike counts,
            so they come within about one spike per counting window of the
            non-negative LASSO codes (the ODE backend's fixed point, for
            ``threshold="nonneg"``): ``|code - LASSO|`` up to about
            ``tau / ((1 - transient_fraction) * duration)``, e.g. 0.029 for
            ``duration=0.5`` at the default ``tau`` (10 ms) and
            ``transient_fraction`` (0.3); it shrinks as ``1 / duration``, so a
            longer ``duration`` tightens it (1 s by default: ~0.014). The same
            holds for ``threshold="soft"`` (ON minus OFF rates) against the
            LASSO codes. Neither is a strict bound (measured 2026-12-07,
            ``target="numpy"``, 6 problems per kind, either threshold, 1 s and
            4 s): on random 24 x 48 dictionaries (``lam=0.1``, 4 samples of
            sparse codes plus noise) the largest ``|code - LASSO|`` was
            0.64-0.93x one spike at 1 s and 0.55-1.02x at 4 s; on random
            24 x 16 ones (1.5x overcomplete, ``lam=0.3``, 3 samples) 0.48-1.38x
            at 1 s and 0.40-1.65x at 4 s, and one soft run 9x (0.13) at 1 s,
            a problem the ODE LCA has not settled by then either (0.17 off at
            1 s, 0.02 at 2 s; that run was 1.35x at 4 s). The mean was
            ~0.0004-0.003 at 1 s.
            Learned dictionaries, whose neighbouring atoms overlap strongly
            (``|d_i . d_j|`` up to 0.9), settle more slowly, as the ODE LCA
            does on them: with 64 atoms learned on 8x8 natural patches
            (``lam=0.1``) the largest ``|code - LASSO|`` was 0.07-0.10 at 1 s
            (5-7x one spike) and 2.3x one spike at 4 s, the mean ~0.002 at 1 s.
        **kwargs
            Passed to the backend (e.g. ``method``, ``n_steps``, ``dtype``).
            On the ODE backend ``lam`` overrides the network's own value for
            this call, as do ``tau`` and ``threshold`` with ``method="lca"``,
            ``positive`` with the L1 prior (``threshold`` and ``positive``
            given together must agree: ``positive=True`` with ``"nonneg"``,
            ``False`` with ``"soft"`` or ``"hard"``) and ``sigma`` with the
            Cauchy prior; the others are refused with a message. With the
            Cauchy prior, ``dtype`` (default float64) is the codes' dtype:
            the MAP inference itself runs in float64. On the spiking backend
            ``lam`` and ``tau`` (the spiking LCA's ``tau_m``, which may be
            given instead) override the network's own. Every method and
            backend takes ``seed`` (int, Generator or None): the spiking
            backend draws with it, the ODE methods are deterministic and only
            check it. An argument the method does not take is refused with
            the list of those it does.

        Returns
        -------
        codes : ndarray or xarray.DataArray, shape (n_samples, n_atoms)
            One row per sample, also for a 1-D ``X`` (shape ``(1, n_atoms)``;
            ``codes[0]`` is its code). For a DataArray ``X``, a DataArray over
            (sample, atom) with ``X``'s sample labels, :attr:`atom_labels`,
            ``units`` (``X``'s; "1" for the Cauchy prior's dimensionless codes)
            and the settings (``backend``, ``prior``, and for the
            solvers of :func:`v1model.inference.encode` theirs) in attrs. In
            the solver's ``dtype`` (float32 by default for the ODE methods;
            float64 for the Cauchy prior and the spiking backend), followed by
            any optional outputs the backend was asked for (e.g.
            ``return_history=True``).

        Raises
        ------
        RuntimeError
            When the network has no dictionary yet.
        ValueError
            For ``X`` whose number of features is not the network's
            ``patch_shape``'s, patches of another (height, width) (the
            message names both), an unknown ``backend`` or ``method``, keyword arguments
            that do not apply to this network or method, or a ``threshold``
            that contradicts ``positive``.
        TypeError
            On the ODE backend, for a keyword argument the method's solver
            does not take (the message lists those it takes), and for a
            ``seed`` that is not an int, a Generator or None.

        Warns
        -----
        UserWarning
            On the ODE backend with an L1 method (``lca``, ``fista``, ``cd``, ...;
            any ``threshold``), once per call, when ``lam`` is at least the
            LASSO's ``lam_max = max |<d, x>|`` over the samples and atoms
            (``max <d, x>`` for non-negative codes): every code is then zero at
            the optimum (learning refuses such a ``lam``). The message names
            ``lam`` and ``lam_max``.
        """
        self._require_dictionary()
        check_choice(backend, "backend", tuple(BACKENDS))
        from .inference._common import labelled_codes

        given = X
        # a DataArray (feature, sample) is read by name: its shape failed the check below
        # a stack of patches (n, height, width) of the network's shape, as the solvers take
        # it (was refused: "flatten a stack of patches ... with X.reshape(len(X), -1)")
        X = by_dim_names(self._flat_patches(X), DATA_DIMS, "X")
        if isinstance(given, xr.DataArray) and not isinstance(X, xr.DataArray):
            # labelled patches flattened: still labelled, for the solvers' settings in attrs
            X = xr.DataArray(X, dims=DATA_DIMS)
        self._check_features(X)
        module, func = BACKENDS[backend].split(":")
        out = getattr(importlib.import_module(module), func)(self, X, **kwargs)
        # labelled in, labelled out (every backend and prior): the samples' labels of a
        # DataArray X and the network's atom_labels (the codes were a bare array). The
        # Cauchy prior's codes are dimensionless (its gain-adapted atoms carry X's units,
        # to_dataset); they were labelled in X's units
        units = {"units": "1"} if self.prior == "cauchy" else {}
        return labelled_codes(out, given, self.atom_labels, backend=backend, prior=self.prior,
                              **units)

    # ---------------------------------------------------------------- learn
    def learn(self, X, **kwargs):
        """Learn the dictionary from patches ``X`` (n_samples, n_features) or (n_samples,
        height, width).

        Learning starts from the current dictionary, if any, and uses the
        network's ``lam``, ``prior``, ``sigma``, ``threshold`` and ``tau``.
        A later call continues the history: its updates are appended to
        ``history_`` with the ``update`` index carrying on (each call runs
        its own learning-rate schedule, from ``lr`` to ``lr_final``, and
        draws its minibatches from its own ``seed``: the same int seed draws
        the same ones again). With
        ``prior="cauchy"`` it also continues the gain adaptation from the
        running coefficient variance the last call left in ``code_var_``
        (shape (n_atoms,); kept by :meth:`save`), as sparsenet does when kept
        running; ``code_var_ = None`` restarts it at ``var_goal``. With
        ``prior="l1"`` (also on a Cauchy network whose ``prior`` was set to
        ``"l1"``) ``code_var_`` is not used, and the call leaves it None: L1
        learning makes the atoms unit-norm.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_samples, height, width)
            Training patches, flattened row-major, or a stack of patches of
            ``patch_shape`` (a DataArray over (sample, y, x) by dim name),
            flattened so; a network without a ``patch_shape`` yet takes the
            patches' (height, width).
        **kwargs
            Passed to :func:`v1model.learning.olshausen_field.learn_dictionary`
            (``n_updates``, ``batch_size``, ``lr``, ``seed``, ...).

        Returns
        -------
        xarray.Dataset
            The learning history over ``update`` of every call so far, also
            kept in ``history_`` (and by :meth:`save`). Its attrs are the
            latest call's parameters, except ``n_updates`` (the updates of
            all calls), ``init`` (how the first call started) and, after a
            second call, ``updates_per_call`` (one count per call, in order)
            and ``record_every_per_call`` (one per call, in order: the
            ``update`` index's spacing changes where they differ); a setting
            that changed between calls (``lam``, ``lr``, ``seed``, ...) also
            has ``<name>_per_call``, one value per call (``"None"`` for a
            call without it, e.g. ``inference_params.tol`` of a Cauchy call; a
            list mixing numbers and text as its JSON text, so that xarray's
            own ``to_netcdf`` saves it), all of them named in
            ``changed_between_calls``
            (:func:`v1model.io.continue_history`).

        Raises
        ------
        ValueError
            For a spec argument (``lam``, ``prior``, ``sigma``, ``threshold``,
            ``tau``, ``D0``, ``n_atoms``) or ``code_var`` in ``kwargs``, ``init``
            when the network has a dictionary (learning continues from it), or
            ``X`` not 2-D (nor a stack of patches) or with a number of
            features other than ``patch_shape``'s, or patches of another
            (height, width) than ``patch_shape`` (the message names both).
        TypeError
            For another argument ``learn_dictionary`` does not take (the
            message names the closest and lists those it takes).
        """
        from .learning._data import _real_2d
        from .inference._common import with_lam_units
        from .learning.olshausen_field import learn_dictionary

        for name in ("lam", "prior", "sigma", "threshold", "tau", "D0", "n_atoms", "code_var"):
            if name in kwargs:
                where = ("the network's dictionary (SparseCodingNetwork(D0, ...))"
                         if name == "D0" else "the network's code_var_ (None restarts it)"
                         if name == "code_var" else f"the network's own {name}")
                raise ValueError(f"{name} is not a learn() argument: learning uses {where}")
        _check_learn_params(kwargs, learn_dictionary)
        if "init" in kwargs and self.dictionary is not None:
            # ignored before: init="random" on a loaded network went on from its atoms
            raise ValueError(f"init={kwargs['init']!r} has no effect: the network has a "
                             "dictionary, and learning continues from it; for a new start "
                             "build a new SparseCodingNetwork(n_atoms=..., patch_shape=...)")
        # the shape alone: learn_dictionary checks the values (a float64 copy of X here
        # doubled a float32 X in memory), and a stack of patches is told how to flatten it
        # a stack of patches (n, height, width), as encode takes it: of the network's
        # shape, or, for a network without a dictionary yet, giving it its patch_shape
        patch_shape = self.patch_shape
        stacked = patch_shape or _stacked_patch_shape(X)
        if stacked is not None:
            X = self._flat_patches(X, stacked)
        X = _real_2d(X, "X")
        if patch_shape is None:
            # kept only once learning succeeds: a failed call must not fix the size
            # that the next call, on other patches, is then refused for
            patch_shape = stacked or _check_patch_shape(None, X.shape[1])
        else:
            self._check_features(X)
        D, history = learn_dictionary(
            X,
            self.n_atoms,
            lam=self.lam,
            prior=self.prior,
            sigma=self.sigma,
            threshold=self.threshold,
            tau=self.tau,
            D0=self.dictionary,
            # the gain adaptation's state is the Cauchy prior's: a Cauchy network switched
            # to prior="l1" was refused for a code_var its caller never gave
            code_var=self.code_var_ if self.prior == "cauchy" else None,
            **kwargs,
        )
        # the learner's own output, of the checked sizes: not checked again
        self._dictionary = D
        self._patch_shape = patch_shape
        # the Cauchy prior's state, for the next call; L1 learning leaves unit-norm atoms,
        # whose gains no earlier state describes
        self.code_var_ = history["code_var"].values if "code_var" in history else None
        history = history.drop_vars("code_var", errors="ignore")
        # a history loaded from a file written before lam had its unit: lam_units was
        # named a changed setting
        self.history_ = continue_history(with_lam_units(self.history_), history)
        return self.history_

    def fit(self, X, **kwargs):
        """Same as :meth:`learn`, but returns ``self`` (scikit-learn style).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features) or (n_samples, height, width)
            Training patches, flattened row-major, or a stack of patches of
            ``patch_shape`` (a DataArray over (sample, y, x) by dim name),
            flattened so; a network without a ``patch_shape`` yet takes the
            patches' (height, width).
        **kwargs
            As in :meth:`learn`.

        Returns
        -------
        SparseCodingNetwork
            ``self``, with the learned dictionary.
        """
        self.learn(X, **kwargs)
        return self

    # ------------------------------------------------------------------- io
    def to_dataset(self) -> xr.Dataset:
        """The network as a Dataset: ``dictionary`` (atom, y, x) and the spec in attrs.

        Returns
        -------
        xarray.Dataset
            ``dictionary`` over (atom, y, x), its ``atom`` coordinate the units'
            :attr:`atom_labels` (units "1" for ``prior="l1"``, whose
            codes are in units of X; "units of X" for ``prior="cauchy"``, whose
            codes are dimensionless and whose atoms' lengths carry the scale); the
            spec (:meth:`params`; ``sigma`` ``"None"`` for ``prior="l1"``, which
            does not use it) and ``kind`` in attrs; the learning history's variables (over
            ``update``) and attrs (prefixed ``learning_``) when there is one;
            ``code_var`` over ``atom`` after Cauchy-prior learning (the gain
            adaptation's state, :meth:`learn`).

        Raises
        ------
        RuntimeError
            When the network has no dictionary yet.
        """
        self._require_dictionary()
        h, w = self.patch_shape
        ds = xr.Dataset(
            # a copy: a Dataset that shares the network's array changes it when it is changed
            {"dictionary": (("atom", "y", "x"), self.dictionary.reshape(-1, h, w).copy())},
            coords={"atom": self.atom_labels, "y": ("y", np.arange(h), {"units": "pixel"}),
                    "x": ("x", np.arange(w), {"units": "pixel"})},
        )
        # sparsenet's gain adaptation (Cauchy prior) leaves the norms near, not at, 1; a
        # dictionary given by hand keeps its own norms (the solvers take them as they are)
        lengths = np.linalg.norm(self.dictionary, axis=1)
        if self.prior == "cauchy":
            norms = "atoms, gain-adapted norms"
        elif np.allclose(lengths, 1.0, rtol=0, atol=1e-6):
            norms = "unit-norm atoms"
        else:
            norms = f"atoms of norms {lengths.min():.3g} to {lengths.max():.3g}"
        # x = a D: the L1 prior's codes are in units of X (lam is), its atoms dimensionless;
        # the Cauchy prior's codes are dimensionless (sigma, var_goal are), and its atoms'
        # gain-adapted lengths carry X's units, as the history's median_atom_norm says
        units = "units of X" if self.prior == "cauchy" else "1"
        ds["dictionary"].attrs.update(long_name=f"receptive fields ({norms})", units=units)
        ds.attrs.update({k: v for k, v in self.params().items() if v is not None})
        if self.prior == "l1":  # the Cauchy prior's scale: not used, not recorded as if it were
            ds.attrs["sigma"] = "None"
        ds.attrs["kind"] = NETWORK_KIND
        if self.code_var_ is not None:
            ds["code_var"] = ("atom", self.code_var_.copy(), {
                "long_name": "running coefficient variance of the gain adaptation "
                             "(learn() continues from it)", "units": "1"})
        # the learning parameters (n_updates, lr, inference, seed, ...) go under
        # learning_, apart from the spec whose names they share (lam, tau, ...)
        return attach_history(ds, self.history_)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "SparseCodingNetwork":
        """The network saved by :meth:`to_dataset` (or :meth:`save`, and the
        ``olshausen-field-1996`` study's output, which is one).

        Parameters
        ----------
        ds : xarray.Dataset
            With a ``dictionary`` over (atom, y, x) and
            ``attrs["kind"] == "v1model.SparseCodingNetwork"``.

        Returns
        -------
        SparseCodingNetwork
            With the saved spec (``sigma`` the default where an L1 network saved
            it as ``"None"``), the ``atom`` coordinate as :attr:`atom_labels`
            (0..n_atoms-1 in a file without one) and, when present, the learning
            history and ``code_var_``.

        Raises
        ------
        TypeError
            When ``ds`` is not a Dataset.
        ValueError
            When ``ds`` is not a saved network.
        """
        check_saved_kind(ds, NETWORK_KIND, "network", "a dictionary alone can be given as "
                         "SparseCodingNetwork(D, patch_shape=...)")
        if "dictionary" not in ds:
            raise ValueError("ds has no 'dictionary' variable; not a saved network")
        if set(ds["dictionary"].dims) != {"atom", "y", "x"}:
            raise ValueError(f"ds['dictionary'] must have dims (atom, y, x), got "
                             f"{ds['dictionary'].dims}")
        D = ds["dictionary"].transpose("atom", "y", "x").values  # by name, not by position
        a = ds.attrs
        # every saved network holds its spec: defaults in place of a lost one would encode
        # differently without a word
        missing = [key for key in _SPEC_ATTRS if key not in a]
        if missing:
            raise ValueError(f"ds lacks the network's {', '.join(map(repr, missing))} in its "
                             "attrs; the file is damaged or not a saved network")

        def number(key):
            try:
                return float(a[key])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"ds.attrs[{key!r}] must be a number, got "
                                 f"{describe(a[key])}; not a saved network?") from exc

        net = cls(
            D.reshape(D.shape[0], -1),
            patch_shape=D.shape[1:],
            lam=number("lam"),
            threshold=str(a["threshold"]),
            tau=number("tau"),
            prior=str(a["prior"]),
            # "None" under the L1 prior, which does not use it (since 2026-12-07): the default
            **({} if str(a["prior"]) == "l1" and str(a["sigma"]) == "None"
               else {"sigma": number("sigma")}),
        )
        net._atom_labels = _atom_labels(ds["dictionary"], D.shape[0])
        net.history_ = detach_history(ds)
        if "code_var" in ds:
            if ds["code_var"].dims != ("atom",):
                raise ValueError(f"ds['code_var'] must have dims ('atom',), got "
                                 f"{ds['code_var'].dims}; the file is damaged")
            net.code_var_ = ds["code_var"].values.astype(np.float64)
        return net



def _check_cauchy_threshold(prior, threshold, setting=None):
    """The Cauchy prior's codes are signed MAP codes: a threshold other than "soft" was
    dropped unsaid (threshold="nonneg" gave negative codes, and the history recorded it).
    ``setting``: the attribute being set on a network ("prior" or "threshold"), whose
    message names it and the order of the two changes that works (setting prior to
    "cauchy" on a hard-threshold network was refused as if threshold had been set)."""
    if prior != "cauchy" or threshold == "soft":
        return
    if setting == "prior":
        raise ValueError(f"prior={prior!r} needs threshold='soft' (the Cauchy prior's codes "
                         f"are signed MAP codes) but the network's threshold is "
                         f"{threshold!r}: set threshold='soft' first, then prior")
    if setting == "threshold":
        raise ValueError(f"threshold={threshold!r} applies to prior='l1' only (the Cauchy "
                         "prior's codes are signed MAP codes) but the network's prior is "
                         "'cauchy': set prior='l1' first, then threshold")
    raise ValueError(f"threshold={threshold!r} applies to prior='l1' only: the Cauchy "
                     "prior's codes are signed MAP codes; leave threshold='soft'")


def _checked_dictionary(dictionary, patch_shape=None):
    """``dictionary`` checked (by the constructor and when set), as a float64 copy (the
    caller's array, changed later, would change the network unchecked) of shape
    (n_atoms, n_features), and the (height, width) of atoms given as images (None for
    rows), which must be ``patch_shape`` when that is given."""
    if isinstance(dictionary, (int, np.integer)) and not isinstance(dictionary, bool):
        raise TypeError(f"dictionary must be an array (n_atoms, n_features), got the "
                        f"number {dictionary!r}; for a network to learn, pass "
                        f"n_atoms={dictionary!r} and patch_shape")
    atom_shape = _image_atom_shape(dictionary, patch_shape)
    # flattened row-major, as the solvers flatten them (were refused: "pass D.reshape")
    _, dictionary = flatten_image_atoms(None, dictionary, d_name="dictionary")
    return check_dictionary(dictionary, "dictionary").copy(), atom_shape


def _atom_labels(dictionary, n_atoms):
    """The ``atom`` coordinate of a DataArray ``dictionary`` (the labels of its units,
    e.g. those a pruned ``D.isel(atom=[...])`` kept; they were replaced by 0..n-1 on
    save), as an array; None for 0..n_atoms-1 (a plain array, a DataArray without the
    coordinate, or with exactly those labels)."""
    if not isinstance(dictionary, xr.DataArray) or "atom" not in dictionary.indexes:
        return None
    labels = np.asarray(dictionary["atom"].values)
    if labels.dtype == object and all(isinstance(v, str) for v in labels):
        labels = labels.astype(str)  # text labels as a netCDF file gives them back
    if labels.dtype.kind not in "iufUS":
        raise TypeError(f"dictionary's atom coordinate must hold numbers or text (the "
                        f"units' labels), got dtype {labels.dtype} (e.g. {labels[0]!r})")
    values, counts = np.unique(labels, return_counts=True)
    if counts.max() > 1:
        repeated = np.flatnonzero(counts > 1)[0]
        raise ValueError(f"dictionary's atom coordinate labels two units alike: "
                         f"{values[repeated].item()!r} appears {counts[repeated]} times; each "
                         f"unit needs its own label (drop_duplicates('atom') or "
                         f"assign_coords(atom=...))")
    if labels.dtype.kind in "iu" and np.array_equal(labels, np.arange(n_atoms)):
        return None
    return labels.copy()


def _image_atom_shape(dictionary, patch_shape=None):
    """The (height, width) of atoms given as images (n_atoms, height, width), None for
    anything else; a Dataset refused with what to pass instead (numpy's own message named
    neither the argument nor the remedy), and a ``patch_shape`` other than the atoms'
    (the same pixels in another layout, e.g. (5, 4) for 4 x 5 images) naming both."""
    if isinstance(dictionary, xr.Dataset):
        raise TypeError(
            "dictionary must be an array (n_atoms, n_features), got an xarray.Dataset "
            f"(variables: {', '.join(map(str, dictionary.data_vars))}); for a saved "
            "network use SparseCodingNetwork.from_dataset(ds) or .load(path), for the "
            "atoms of another result pass ds['dictionary']")
    # a DataArray (atom, x, y) is read by dim name, as flatten_image_atoms reads it
    atom_shape = image_atom_shape(dictionary, "dictionary")
    if atom_shape is None:
        return None
    if patch_shape is not None and _check_patch_shape(patch_shape, None) != atom_shape:
        shape = np.shape(atoms_by_dim_names(dictionary, "dictionary"))
        raise ValueError(
            f"dictionary holds atoms as images of shape {atom_shape} (shape {shape}) but "
            f"patch_shape is {_check_patch_shape(patch_shape, None)}: give atoms of that "
            f"shape, or rows (n_atoms, n_features) for patches of another layout")
    return atom_shape


def _stacked_patch_shape(X):
    """The (height, width) of ``X`` given as a stack of patches (n_samples, height,
    width) (a DataArray over (sample, y, x) by dim name), None for anything else."""
    try:
        shape = array_shape(by_dim_names(X, ("sample",) + ATOM_IMAGE_DIMS[1:], "X"), "X")
    except (TypeError, ValueError):  # ragged or unreadable: _real_2d says so
        return None
    return tuple(shape[1:]) if len(shape) == 3 and min(shape[1:]) > 0 else None


def _check_patch_shape(patch_shape, n_features):
    if patch_shape is None:
        if n_features is None:
            return None
        side = int(round(np.sqrt(n_features)))
        if side * side != n_features:
            return (1, n_features)
        return (side, side)
    if isinstance(patch_shape, (str, bytes)) or not hasattr(patch_shape, "__len__"):
        raise TypeError(f"patch_shape must be (height, width), got {patch_shape!r}")
    # check_int refuses 2.5 (int() would truncate it to 2) and bools
    shape = tuple(check_int(s, "patch_shape") for s in patch_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"patch_shape must be (height, width) of positive ints, got "
                         f"{patch_shape!r}")
    if n_features is not None and shape[0] * shape[1] != n_features:
        raise ValueError(
            f"patch_shape {shape} has {shape[0] * shape[1]} pixels but the dictionary has "
            f"{n_features} features per atom"
        )
    return shape


def _encode_ode(net: SparseCodingNetwork, X, method: str | None = None, **kwargs):
    """ODE / optimisation backend."""
    from . import inference
    from .inference._common import check_threshold_positive
    from .inference.encode import encode_with_names

    # seed is every method's and backend's argument (the spiking backend draws with it):
    # net.encode(X, seed=0) failed as lca()'s or cauchy_inference()'s bare TypeError
    # while method="fista" took it; the ODE methods draw nothing, so it is only checked
    as_generator(kwargs.pop("seed", None))
    if net.prior == "cauchy":
        from .learning.olshausen_field import cauchy_inference

        # "cg" / "lbfgs" are the encode-style names of cauchy_inference's two methods
        method = check_choice(method or "lbfgs", "method", tuple(CAUCHY_METHODS))
        refuse_unused_settings("cauchy", [
            (name, kwargs.pop(name, None), "the network's Cauchy prior codes by MAP "
                                           "inference, which takes lam and sigma")
            for name in ("positive", "tau", "threshold")], name="prior")
        _check_cauchy_params(kwargs, cauchy_inference)
        # scipy's minimisers work in float64: dtype sets the codes' dtype only (float32
        # rounds the MAP codes, as the L1 solvers' float32 codes are rounded)
        dtype = check_dtype(kwargs.pop("dtype", np.float64))
        A = cauchy_inference(X, net.dictionary, kwargs.pop("lam", net.lam),
                             kwargs.pop("sigma", net.sigma), method=CAUCHY_METHODS[method],
                             _names=ENCODE_NAMES, **kwargs)
        return A.astype(dtype, copy=False)
    method = check_choice(method or "lca", "method", inference.METHODS)
    # the spec's lam, tau and sign constraint are defaults that a call may override
    positive = kwargs.pop("positive", None)
    if positive is not None:
        check_bool(positive, "positive")
    if method == "lca":
        if positive is not None and "threshold" in kwargs:
            # both given: positive=False used the soft threshold for threshold="nonneg"
            check_threshold_positive(kwargs["threshold"], positive)
        threshold = kwargs.pop("threshold", net.threshold)
        if positive is not None and threshold != "hard":
            threshold = "nonneg" if positive else "soft"
        elif positive:
            raise ValueError("positive=True needs a soft threshold (LCA's 'nonneg'), got "
                             "threshold='hard'")
        # through encode, as the other methods: an argument lca does not take is named
        # with the ones it does (it was lca()'s bare "unexpected keyword argument")
        lam = kwargs.pop("lam", net.lam)
        out = encode_with_names(ENCODE_NAMES, X, net.dictionary, "lca", lam=lam,
                                threshold=threshold, tau=kwargs.pop("tau", net.tau), **kwargs)
        _warn_if_lam_zeroes_every_code(X, net.dictionary, lam, threshold == "nonneg")
        return out
    refuse_unused_settings(method, [
        (name, kwargs.pop(name, None), f"the LCA's {name} (the network dynamics); use "
                                       "method='lca'") for name in ("tau", "threshold")])
    if method in inference.L1_METHODS and net.threshold == "hard":
        raise ValueError(
            f"method={method!r} solves the L1 problem; threshold='hard' needs method='lca' "
            "(or a greedy method: 'omp', 'mp', 'iht' with n_nonzero)"
        )
    if method in inference.L1_METHODS or (method == "iht" and kwargs.get("n_nonzero") is None):
        # iht's lam is the hard threshold of the L0 energy, the network's own lam
        kwargs.setdefault("lam", net.lam)
    if positive is None:
        positive = net.threshold == "nonneg"
    out = encode_with_names(ENCODE_NAMES, X, net.dictionary, method, positive=positive,
                            **kwargs)
    if method in inference.L1_METHODS:
        _warn_if_lam_zeroes_every_code(X, net.dictionary, kwargs["lam"], positive)
    return out


#: rows of ``X`` in the first block of :func:`_warn_if_lam_zeroes_every_code`'s drive
_FIRST_DRIVE_ROWS = 64


def _warn_if_lam_zeroes_every_code(X, D, lam, positive):
    """Warn once when ``lam`` is at least the LASSO's ``lam_max``, the largest drive
    ``max|<d, x>|`` (``max <d, x>`` for non-negative codes) over the samples of ``X`` and
    the atoms of ``D``: then every code is zero at the optimum (and for the LCA, whose
    units never pass the threshold), and ``net.encode(X, lam=100)`` returned zeros
    without a word, while learning refuses such a lam (:func:`check_lam_below_data`).

    Called after the solver, which has checked ``X``. The drive is taken in blocks of
    rows that double from :data:`_FIRST_DRIVE_ROWS` up to ``SOLVER_CHUNK``, stopping at
    the first block that passes ``lam``: on data worth coding that is the first, a few
    rows' product (the solvers compute the whole of ``X D^T`` but do not return it; a
    first block of ``SOLVER_CHUNK`` rows cost as much as an encode by ``cd`` at a
    sparse ``lam``), and a ``lam`` passed only late in ``X`` costs at most twice the
    rows read before it."""
    from .inference._common import SOLVER_CHUNK
    from .learning._coding import lam_zeroes_every_code

    X = np.atleast_2d(np.asarray(X))
    lam = check_nonnegative(lam, "lam")  # checked by the solver: a float, as learning names it
    lam_max = 0.0
    start, rows = 0, _FIRST_DRIVE_ROWS
    while start < len(X):
        drive = np.asarray(X[start:start + rows], dtype=np.float64) @ D.T
        lam_max = max(lam_max, float(drive.max() if positive else np.abs(drive).max()))
        if lam_max > lam:
            return
        start, rows = start + rows, min(2 * rows, SOLVER_CHUNK)
    if lam_max == 0:  # X, or its drive, is zero: no lam gives a non-zero code
        return
    drive = "max <d, x>" if positive else "max |<d, x>|"
    warnings.warn(lam_zeroes_every_code(
        lam, f"lam_max = {drive} = {lam_max:.3g} over the samples of X and the network's "
             f"atoms (the LASSO's lam_max)",
        lam_max, "at the optimum"),
        UserWarning, stacklevel=user_stacklevel())


#: learn_dictionary's arguments that the network gives it (its spec and state)
_SET_BY_LEARN = ("X", "n_atoms", "lam", "prior", "sigma", "threshold", "tau", "D0", "code_var")


def _check_learn_params(kwargs, learn_dictionary):
    """Refuse the ``learn`` (``fit``) arguments ``learn_dictionary`` does not take,
    naming the closest and those it takes: a typo (``n_update=100``) failed as
    ``learn_dictionary()``'s bare TypeError, a function the caller never called,
    while a typo in ``inference_params`` was named with the solver's own."""
    import inspect

    own = sorted(p for p in inspect.signature(learn_dictionary).parameters
                 if p not in _SET_BY_LEARN)
    for key in kwargs:
        if key not in own:
            raise TypeError(f"learn: takes no parameter {key!r}{did_you_mean(key, own)}; its "
                            f"parameters are {', '.join(own)}")


def _check_cauchy_params(kwargs, cauchy_inference):
    """Refuse the ``encode`` arguments the Cauchy prior's MAP inference does not take
    (``return_history``, ``n_steps``, ...), naming those it takes: they failed as
    ``cauchy_inference()``'s bare TypeError, which named neither ``encode`` nor the
    remedy."""
    import inspect

    own = [p for p in inspect.signature(cauchy_inference).parameters
           if p not in ("X", "D", "method") and not p.startswith("_")]
    for key in kwargs:
        if key not in own and key != "dtype":  # dtype: the codes', set by encode
            takes = sorted(own + ["dtype", "method", "seed"])
            raise TypeError(f"encode: a network with prior='cauchy' (MAP inference by "
                            f"cauchy_inference) takes no parameter {key!r}"
                            f"{did_you_mean(key, takes)}; its parameters are {', '.join(takes)}")
