"""The convolutional sparse-coding network: one spec, several simulators.

:class:`ConvolutionalNetwork` is the retinotopic (or tonotopic) counterpart of
:class:`v1model.SparseCodingNetwork`: a layer of units, one per kernel and
position, whose receptive fields are a few kernels replicated every
``stride`` samples. It holds the spec — kernels, stride, boundary, lambda,
threshold, time constant — and hands it to a simulator: the LCA ODE, (F)ISTA
or matching pursuit (:mod:`v1model.convolutional`), or the Brian2 spiking LCA
with local lateral inhibition (:func:`v1model.spiking.spiking_convolutional_lca`).
It integrates nothing itself.
"""

from __future__ import annotations


import numpy as np
import xarray as xr

from ..io import (SavedAsDataset, attach_history, check_saved_kind, continue_history,
                  detach_history)
from ..validation import (CheckedAttribute, array_shape, check_array, check_choice, check_int,
                          check_nonnegative, check_positive, refuse_unused_settings,
                          sample_rate_by_labels)
from .operator import (BOUNDARIES, _check_axes, check_sample_rate, check_signal_rate,
                       kernel_dims, kernels_by_dim_name, lag_coordinate, time_attrs)

__all__ = ["ConvolutionalNetwork"]

#: attrs["kind"] of a saved network (checked by from_dataset)
NETWORK_KIND = "v1model.ConvolutionalNetwork"
#: the spec's attrs that from_dataset needs (n_kernels and kernel_shape come from the kernels)
SPEC_ATTRS = ("stride", "boundary", "lam", "threshold", "tau")
THRESHOLDS = ("soft", "hard", "nonneg")
BACKENDS = ("ode", "spiking")
#: encode(method=...) on the ODE backend
ODE_METHODS = ("lca", "fista", "ista", "mp")


class ConvolutionalNetwork(SavedAsDataset):
    """A convolutional sparse-coding layer of V1 simple cells (or auditory units).

    Parameters
    ----------
    kernels : array_like, shape (n_kernels, *kernel_shape), optional
        The receptive fields that every position shares (normally unit norm);
        every axis is spatial (a channel axis is one they slide along, as in
        :func:`~v1model.convolutional.encode`).
        If omitted, give ``n_kernels`` and ``kernel_shape`` and call
        :meth:`learn`.
    n_kernels : int, optional
        Number of kernels when none are given.
    kernel_shape : int or tuple of int, optional
        Kernel shape when none are given: (height, width) for images, (taps,)
        or an int for sounds (an int is one axis: images need both).
    stride : int or tuple of int, default 1
        Distance between kernel copies, in samples.
    boundary : {"full", "valid", "circular"}, default "full"
        Where the copies sit (:mod:`v1model.convolutional.operator`).
    lam : float, default 0.1
        Threshold / sparseness weight (units of the input), >= 0.
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        LCA nonlinearity.
    tau : float, default 0.01
        Membrane time constant in seconds (10 ms); the spiking backend's
        ``tau_m``.
    sample_rate : float, optional
        Sounds (1-D kernels) only: the sample rate of the sounds the network
        codes, in Hz (the ``rate`` of :func:`stimuli.audio.load_wav_folder`),
        > 0 and finite. With it, the kernels' ``lag`` (:meth:`to_dataset`,
        :meth:`learn`) and the spiking backend's onsets ``time`` are in
        seconds and ``attrs["sample_rate_hz"]`` records it; without it, they
        are in samples. :meth:`learn` given a ``sample_rate`` adopts it.
        Default: the rate sound ``kernels`` given as an ``xarray.DataArray``
        carry (``attrs["sample_rate_hz"]``, or their ``lag`` coordinate in s,
        as :func:`~v1model.convolutional.learn_kernels` gives it), else None.

    Raises
    ------
    ValueError
        Without ``kernels`` and ``n_kernels``, for invalid kernels or a
        parameter out of range, a ``sample_rate`` for images or volumes, or
        one that contradicts the rate the kernels carry.

    Notes
    -----
    ``lam``, ``threshold``, ``tau`` and ``sample_rate`` may be changed on a
    network (e.g. a loaded one) by setting them; each value set is checked as
    the constructor checks it (``net.lam = -1`` raises ``ValueError``).

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.convolutional import ConvolutionalNetwork
    >>> rng = np.random.default_rng(0)
    >>> net = ConvolutionalNetwork(rng.standard_normal((4, 5, 5)), stride=2, lam=0.5)
    >>> net.encode(rng.standard_normal((2, 16, 16)), method="fista").shape
    (2, 4, 10, 10)
    """

    # checked whenever set, as SparseCodingNetwork's: net.lam = -1 was saved in a file
    # that load refused
    lam = CheckedAttribute(check_nonnegative)
    threshold = CheckedAttribute(lambda value, name: check_choice(value, name, THRESHOLDS))
    tau = CheckedAttribute(check_positive)
    # Hz or None; a rate applies to sounds only: checked against the kernels' axes
    sample_rate = CheckedAttribute(
        lambda value, name: None if value is None else check_positive(value, name),
        joint=lambda net, value: check_sample_rate(value, len(net.kernel_shape)))

    def __init__(self, kernels=None, *, n_kernels: int | None = None, kernel_shape=None,
                 stride=1, boundary: str = "full", lam: float = 0.1,
                 threshold: str = "soft", tau: float = 0.01,
                 sample_rate: float | None = None):
        self.lam = lam
        self.threshold = threshold
        self.tau = tau
        self.boundary = check_choice(boundary, "boundary", BOUNDARIES)
        given_kernels = kernels
        if kernels is not None:
            # a copy: the caller's array may change later, unchecked
            kernels = check_array(kernels_by_dim_name(kernels), "kernels", ndim=(2, 3, 4),
                                  dtype=np.float64, copy=True)
            # the largest |entry|, not the norm: squares of 1e-170 underflowed to a norm
            # of 0 (as ConvolutionalDictionary checks)
            peaks = np.abs(kernels.reshape(len(kernels), -1)).max(axis=1)
            if not np.all(peaks > 0):
                raise ValueError(f"kernels: kernel {int(np.argmin(peaks))} is all zeros")
            self.kernels = kernels
            self.n_kernels = len(kernels)
            self.kernel_shape = kernels.shape[1:]
            # n_kernels / kernel_shape beside kernels: allowed when they agree
            given = {"n_kernels": (n_kernels, self.n_kernels),
                     "kernel_shape": (None if kernel_shape is None else
                                      tuple(np.atleast_1d(kernel_shape).tolist()),
                                      self.kernel_shape)}
            for name, (value, actual) in given.items():
                if value is not None and value != actual:
                    raise ValueError(f"{name}={value!r} contradicts the kernels given "
                                     f"(shape {kernels.shape}); give either kernels or "
                                     "n_kernels and kernel_shape")
        else:
            if n_kernels is None or kernel_shape is None:
                raise ValueError("give either kernels or n_kernels and kernel_shape")
            self.kernels = None
            self.n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
            shape = (kernel_shape,) if np.ndim(kernel_shape) == 0 else tuple(kernel_shape)
            if not 1 <= len(shape) <= 3:
                raise ValueError(f"kernel_shape must have 1 to 3 axes, got {kernel_shape!r}")
            self.kernel_shape = _check_axes(shape, "kernel_shape", len(shape), minimum=1)
        self.stride = _check_axes(stride, "stride", len(self.kernel_shape), minimum=1)
        for s, k in zip(self.stride, self.kernel_shape):
            if s > k:
                raise ValueError(f"stride={self.stride} exceeds the kernel shape "
                                 f"{self.kernel_shape}: samples between copies would never "
                                 "be coded")
        # after kernel_shape, which says sound or image; the error names the value given
        rate = check_sample_rate(sample_rate, len(self.kernel_shape))
        if len(self.kernel_shape) == 1:
            # sound kernels learned with a rate carry it (their lag in s): a network built
            # from them without one gave its codes' times in samples, unsaid
            rate = sample_rate_by_labels(given_kernels, None if rate is None else sample_rate,
                                         "kernels")
        self.sample_rate = rate
        self.history_ = None

    def params(self) -> dict:
        """The spec as a flat dict (recorded in every output's attrs).

        Returns
        -------
        dict
            ``n_kernels``, ``kernel_shape`` and ``stride`` (lists of int, in
            samples), ``boundary``, ``lam`` (units of the input),
            ``threshold``, ``tau`` (seconds) and ``sample_rate`` (Hz, or
            None; saved as ``sample_rate_hz``).
        """
        return {"n_kernels": self.n_kernels, "kernel_shape": list(self.kernel_shape),
                "stride": list(self.stride), "boundary": self.boundary, "lam": self.lam,
                "threshold": self.threshold, "tau": self.tau,
                "sample_rate": self.sample_rate}

    def __repr__(self) -> str:
        rate = "" if self.sample_rate is None else f", sample_rate={self.sample_rate:g} Hz"
        return (f"ConvolutionalNetwork({self.n_kernels} kernels of {self.kernel_shape}, "
                f"stride={self.stride}, boundary={self.boundary!r}, lam={self.lam}, "
                f"threshold={self.threshold!r}{rate})")

    def _call_sample_rate(self, kwargs) -> float | None:
        """The sample rate of one call: ``kwargs["sample_rate"]`` (popped, checked) or the
        network's own; a rate that contradicts the network's is refused, naming both."""
        given = kwargs.pop("sample_rate", None)
        rate = check_sample_rate(given, len(self.kernel_shape))
        if rate is None:
            return self.sample_rate
        if self.sample_rate is not None and rate != self.sample_rate:
            # the same kernels at another rate are other filters (in Hz and in s)
            raise ValueError(f"sample_rate={given!r} contradicts the network's sample_rate="
                             f"{self.sample_rate!r} Hz: resample the sounds to "
                             f"{self.sample_rate:g} Hz (or, for kernels meant for {rate:g} Hz, "
                             f"set net.sample_rate = {rate:g} first)")
        return rate

    def _require_kernels(self):
        if self.kernels is None:
            raise RuntimeError("the network has no kernels yet: call learn() first or pass "
                               "them")

    # --------------------------------------------------------------- encode
    def encode(self, X, backend: str = "ode", method: str | None = None, **kwargs):
        """Codes of whole signals ``X`` -> (n_samples, n_kernels, *code_shape).

        Parameters
        ----------
        X : array_like, shape (n_samples, *signal_shape)
            Images (n, height, width) or sounds (n, n_times); a DataArray read
            by dim name, as in :func:`~v1model.convolutional.encode`.
        backend : {"ode", "spiking"}, default "ode"
            ``"ode"``: :func:`~v1model.convolutional.encode` (``method="lca"``,
            the network's dynamics, or ``"fista"``, ``"ista"``) or
            :func:`~v1model.convolutional.matching_pursuit` (``"mp"``; needs
            ``n_nonzero``, ``tol`` or ``snr_db``). ``"spiking"``:
            :func:`v1model.spiking.spiking_convolutional_lca` with ``tau_m =
            tau``; ``threshold="soft"`` runs an ON and an OFF unit per copy
            (kernels ``[K; -K]``), ``"hard"`` has no spiking version.
        method : str, optional
            The ODE backend's solver (default ``"lca"``); refused with
            ``backend="spiking"``, which has its own dynamics.
        **kwargs
            Passed to the solver (``n_steps``, ``tol``, ``dtype``,
            ``duration``, ``seed``, ...); ``lam`` and (but for ``"mp"`` and
            the spiking backend, whose threshold is the network's)
            ``threshold`` override the network's for this call. ``"mp"`` is
            non-negative (``positive=True``) for a network with
            ``threshold="nonneg"`` unless told otherwise. The spiking backend
            takes ``return_dataset=True`` to also return its Dataset, whose
            onsets ``time`` and lags ``lag`` are in seconds for a network
            with a ``sample_rate`` (a ``sample_rate`` given here must be the
            network's, if it has one). Its units (``kernel``: ``2 n_kernels``
            of them for ``threshold="soft"``, the ON units first; also what
            ``spike_kernel`` indexes) carry the coordinates ``polarity``
            (+1 ON, -1 OFF: the unit's kernel is the network's kernel or its
            negative) and ``source_kernel`` (that kernel's index):
            ``(ds.polarity * ds.code).groupby("source_kernel").sum()`` is
            ``codes``, with ``source_kernel`` as its first dim.

        Returns
        -------
        codes : ndarray, shape (n_samples, n_kernels, *code_shape)
            (spiking: ``rate * tau_m``, float64), followed by the Dataset
            when asked for.

        Raises
        ------
        RuntimeError
            When the network has no kernels yet.
        ValueError
            For an unknown backend or method, a threshold the method cannot
            use (or any ``method`` or ``threshold`` with ``backend="spiking"``),
            ``stride`` or ``boundary`` in ``kwargs`` (the network's own are
            used), or a ``sample_rate`` in ``kwargs`` for the ODE backend
            (its codes are arrays, without times) or other than the network's,
            or sounds ``X`` that carry another rate than the network's
            (``attrs["sample_rate_hz"]`` or a ``time`` coordinate in s).

        Warns
        -----
        UserWarning
            For signals ``X`` of integer samples or pixels (int16 sounds,
            uint8 images, taken as they are) with a ``lam`` below 1, one step
            of them (``"mp"``: a ``tol`` below their number per signal, one
            step in each), once, by the solver
            (:func:`~v1model.convolutional.encode`,
            :func:`~v1model.convolutional.matching_pursuit`).
        """
        self._require_kernels()
        backend = check_choice(backend, "backend", BACKENDS)
        # sounds labelled with another rate than the network's: coded unsaid before (the
        # solvers get the kernels as an array, without the network's rate)
        check_signal_rate(X, self.sample_rate, "X", "the network's kernels")
        geometry = dict(stride=self.stride, boundary=self.boundary)
        for name in geometry:  # a bare TypeError ("multiple values") in the solver else
            if name in kwargs:
                raise ValueError(f"{name}={kwargs[name]!r} is not an encode() argument: the "
                                 f"network codes with its own {name}={geometry[name]!r}; "
                                 f"build a network with {name}={kwargs[name]!r} for that")
        if backend == "ode" and "sample_rate" in kwargs:  # a bare TypeError in the solver else
            raise ValueError(
                f"sample_rate={kwargs['sample_rate']!r} is not for backend='ode': its codes "
                "are arrays whose positions count samples; label them with "
                "ConvolutionalDictionary.codes_dataset(codes, sample_rate=...)")
        if backend == "spiking":
            if method is not None:  # it was ignored: fista's codes asked for, spiking's given
                raise ValueError(
                    f"method={method!r} is not for backend='spiking' (it chooses the ODE "
                    "backend's solver; spiking_convolutional_lca runs the network's spiking "
                    "dynamics): drop method, or use backend='ode'")
            if "threshold" in kwargs:
                # the threshold is the spiking network's make-up (ON/OFF unit pairs for
                # "soft"), not a setting of the run: refused, as SparseCodingNetwork does
                raise ValueError(
                    f"threshold={kwargs['threshold']!r} is not for backend='spiking': the "
                    f"threshold is the network's ({self.threshold!r}); build a network "
                    f"with threshold={kwargs['threshold']!r} for that")
            return self._encode_spiking(X, kwargs.pop("lam", self.lam), self.threshold,
                                        geometry, **kwargs)
        method = check_choice("lca" if method is None else method, "method", ODE_METHODS)
        if method == "mp":
            from .pursuit import matching_pursuit

            refuse_unused_settings("mp", [
                ("lam", kwargs.pop("lam", None), "matching pursuit has no L1 penalty (it "
                                                 "stops at n_nonzero, tol or snr_db)"),
                *((name, kwargs.pop(name, None), "matching pursuit's spikes are greedy; "
                                                 "positive=True for non-negative ones")
                  for name in ("tau", "threshold"))])
            # the network's sign constraint, as the L1 methods keep it
            kwargs.setdefault("positive", self.threshold == "nonneg")
            return matching_pursuit(X, self.kernels, **geometry, **kwargs)
        from .inference import encode

        lam = kwargs.pop("lam", self.lam)
        threshold = check_choice(kwargs.pop("threshold", self.threshold), "threshold",
                                 THRESHOLDS)
        if method != "lca":
            if threshold == "hard":
                raise ValueError(f"method={method!r} solves the L1 problem; "
                                 "threshold='hard' needs method='lca'")
            refuse_unused_settings(method, [
                ("tau", kwargs.pop("tau", None), "it is the LCA's time constant (the network "
                                                 "dynamics); use method='lca'")])
        else:
            kwargs.setdefault("tau", self.tau)
        return encode(X, self.kernels, lam, method=method, threshold=threshold, **geometry,
                      **kwargs)

    def _encode_spiking(self, X, lam, threshold, geometry, return_dataset=False, **kwargs):
        from ..spiking import spiking_convolutional_lca
        from ..spiking.backend import membrane_time_constant, refuse_unknown_arguments

        if threshold == "hard":
            raise ValueError("backend='spiking' supports threshold='nonneg' (rates converge to "
                             "the non-negative LASSO) and 'soft' (ON/OFF unit pairs); got "
                             "threshold='hard'")
        from ..spiking.convolutional import spiking_convolutional_lca as simulator

        refuse_unknown_arguments(kwargs, simulator, {"X", "kernels", "lam", "stride", "boundary"})
        membrane_time_constant(kwargs, self.tau)
        rate = self._call_sample_rate(kwargs)
        if rate is not None:  # the Dataset's onsets and lags in s, as the network's kernels
            kwargs["sample_rate"] = rate
        if threshold == "nonneg":
            ds = spiking_convolutional_lca(X, self.kernels, lam, **geometry, **kwargs)
            codes = ds["code"].values
            polarity = np.ones(self.n_kernels, dtype=np.int64)
        else:
            ds = spiking_convolutional_lca(X, np.concatenate([self.kernels, -self.kernels]),
                                           lam, **geometry, **kwargs)
            code = ds["code"].values
            codes = code[:, :self.n_kernels] - code[:, self.n_kernels:]
            polarity = np.repeat(np.array([1, -1], dtype=np.int64), self.n_kernels)
        # the units mapped back to the network's kernels: "soft" ran 2 n_kernels of them,
        # numbered 0 .. 2 n - 1 with nothing saying which were ON and which OFF
        ds = ds.assign_coords(
            polarity=("kernel", polarity, {
                "units": "1", "long_name": "sign of the network kernel the unit carries "
                                           "(+1 ON: kernel; -1 OFF: its negative)"}),
            source_kernel=("kernel", np.arange(len(polarity)) % self.n_kernels, {
                "units": "1", "long_name": "index of the network's kernel the unit carries"}))
        return (codes, ds) if return_dataset else codes

    # ---------------------------------------------------------------- learn
    def learn(self, images, **kwargs) -> xr.Dataset:
        """Learn the kernels from whole images or sounds (random crops).

        Starts from the current kernels, if any, with the network's stride,
        boundary, ``lam`` (the L1 methods: ``method="mp"`` has none) and
        ``threshold`` (``"nonneg"`` learns from non-negative codes, ``"hard"``
        from the LCA's hard-threshold codes; ``method="mp"`` has no threshold:
        signed spikes, non-negative ones for ``"nonneg"``, and the history's
        ``attrs["threshold"]`` is ``"None"``, its ``attrs["positive"]`` 0 or 1).
        A later call continues the history, as
        :meth:`v1model.SparseCodingNetwork.learn` does: its updates are
        appended to ``history_`` with the ``update`` index carrying on, and
        ``elapsed`` counts the learning time of all calls (not the pauses
        between them).

        Parameters
        ----------
        images : array_like, shape (n_signals, *signal_shape)
        **kwargs
            Passed to :func:`~v1model.convolutional.learn_kernels`
            (``n_updates``, ``batch_size``, ``crop_size``, ``method``,
            ``seed``, ...). ``sample_rate`` (sounds, Hz) defaults to the
            network's, else to the one a DataArray ``images`` of sounds
            carries; a network without one adopts it, and a network with
            one refuses another.

        Returns
        -------
        xarray.Dataset
            The learning history over ``update`` of every call so far (also
            kept in ``history_``, and by :meth:`save`) and the learned
            ``kernels``. Its attrs are the latest call's parameters, except
            ``n_updates`` (the updates of all calls), ``init`` (how the first
            call started) and, after a second call, ``updates_per_call`` (one
            count per call, in order).

        Raises
        ------
        ValueError
            For a spec argument (``lam``, ``threshold``, ``stride``,
            ``boundary``, ``init``, ``kernel_size``, ``n_kernels``) in
            ``kwargs``, a ``method`` the network's threshold cannot use, or a
            ``sample_rate`` other than the network's or given for images.
        """
        from ..inference._common import with_lam_units
        from .learning import learn_kernels

        for name in ("lam", "threshold", "stride", "boundary", "init", "kernel_size",
                     "n_kernels"):
            if name in kwargs:
                raise ValueError(f"{name} is not a learn() argument: learning uses the "
                                 "network's own")
        d = len(self.kernel_shape)
        shape = array_shape(images, "images")  # a ragged list: numpy's error named nothing
        if len(shape) != d + 1:
            raise ValueError(
                f"images must have shape (n_signals, *signal_shape) with {d} signal "
                f"axes for the network's kernel_shape={self.kernel_shape}, got shape "
                f"{shape}"
                + ("; for images give kernel_shape=(height, width)" if d == 1 else ""))
        rate = self._call_sample_rate(kwargs)
        if rate is not None:  # the kernels' lag in s, as the network saves them
            kwargs["sample_rate"] = rate
        if kwargs.get("method") != "mp":  # matching pursuit has no lam (learn_kernels)
            kwargs["lam"] = self.lam
        ds = learn_kernels(images, self.n_kernels, self.kernel_shape, stride=self.stride,
                           threshold=self.threshold, boundary=self.boundary,
                           init=self.kernels, **kwargs)
        self.kernels = ds["kernels"].values.astype(np.float64)
        # adopted: the kernels are now those of sounds at this rate (the one given, the
        # network's, or the one the sounds carry, which learn_kernels took)
        self.sample_rate = ds.attrs.get("sample_rate_hz", rate)
        # the kernels and their axes (the kernel index, the lag in s) go with them: the
        # history is over update only, as save() writes it (an orphan kernel coordinate
        # made the history in memory differ from the one loaded)
        history = ds.drop_dims(("kernel",) + kernel_dims(d))
        if self.history_ is not None and "elapsed" in self.history_:
            # each call's clock starts at 0: carried on, it stays the time spent learning
            elapsed = history["elapsed"]
            history["elapsed"] = elapsed.copy(
                data=elapsed.values + float(self.history_["elapsed"][-1]))
        # the second call's alone was kept before, though it went on from the first's kernels
        # (a history saved before lam had its unit: lam_units was named as changed)
        self.history_ = continue_history(with_lam_units(self.history_), history)
        return self.history_.assign(kernels=ds["kernels"])

    def fit(self, images, **kwargs) -> "ConvolutionalNetwork":
        """Same as :meth:`learn`, but returns ``self``.

        Parameters
        ----------
        images : array_like, shape (n_signals, *signal_shape)
            Whole images or sounds to learn from (random crops).
        **kwargs
            Passed to :func:`~v1model.convolutional.learn_kernels`, as for
            :meth:`learn`.

        Returns
        -------
        self : ConvolutionalNetwork
            With the learned ``kernels`` and ``history_``.
        """
        self.learn(images, **kwargs)
        return self

    # ------------------------------------------------------------------- io
    def to_dataset(self) -> xr.Dataset:
        """The network as a Dataset: ``kernels`` (kernel, ky, kx) or (kernel, lag),
        the spec in attrs, and the learning history (over ``update``) if any.

        Returns
        -------
        ds : xarray.Dataset
            ``kernels`` of shape (n_kernels, *kernel_shape), the spec in attrs.
            For sounds, with a ``sample_rate``, the ``lag`` coordinate in s
            and ``attrs["sample_rate_hz"]``; ``attrs["time_units"]`` says
            whether lags count seconds or samples.

        Raises
        ------
        RuntimeError
            When the network has no kernels yet.
        """
        self._require_kernels()
        d = len(self.kernel_shape)
        dims = ("kernel",) + kernel_dims(d)
        coords = {"kernel": np.arange(self.n_kernels)}
        if self.sample_rate is not None:  # lags in s, as learn_kernels gives them
            coords["lag"] = lag_coordinate(self.kernel_shape[0], self.sample_rate)
        # a copy: a Dataset that shares the network's array changes it when it is changed
        ds = xr.Dataset({"kernels": (dims, self.kernels.copy(), {
            "long_name": "receptive fields shared by every position", "units": "1"})},
            coords=coords)
        ds.attrs.update({k: v for k, v in self.params().items() if k != "sample_rate"})
        if d == 1:  # sample_rate_hz (None cannot be stored), as codes_dataset records it
            ds.attrs.update(time_attrs(self.sample_rate))
        ds.attrs["kind"] = NETWORK_KIND
        return attach_history(ds, self.history_)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "ConvolutionalNetwork":
        """The network saved by :meth:`to_dataset` / :meth:`save`.

        Parameters
        ----------
        ds : xarray.Dataset
            A Dataset written by :meth:`to_dataset`.

        Returns
        -------
        net : ConvolutionalNetwork
            With the saved kernels, spec and learning history (None if none);
            ``sample_rate`` from ``attrs["sample_rate_hz"]``, None without it
            (as in files saved before networks had a rate).

        Raises
        ------
        TypeError
            When ``ds`` is not a Dataset.
        ValueError
            When ``ds`` is not a saved convolutional network, or lacks its
            kernels or a spec attr, or the kernels' dims are not those saved,
            or its attrs' ``n_kernels``, ``kernel_shape`` or ``sample_rate_hz``
            disagree with the kernels' shape or ``lag`` coordinate (the
            kernels are the record; both are named).
        """
        check_saved_kind(ds, NETWORK_KIND, "convolutional network")
        if "kernels" not in ds:
            raise ValueError("ds has no 'kernels' variable; the file is damaged or not a "
                             "saved convolutional network")
        a = ds.attrs
        # every saved network holds its spec: a lost one is named, not a bare KeyError
        missing = [key for key in SPEC_ATTRS if key not in a]
        if missing:
            raise ValueError(f"ds lacks the attr(s) {', '.join(map(repr, missing))} of the "
                             "network's spec; the file is damaged or not a saved network")
        rate = a.get("sample_rate_hz")
        kernels = _saved_kernels(ds["kernels"])
        _check_recorded_kernels(ds, kernels, rate)
        net = cls(kernels,
                  stride=[int(s) for s in np.atleast_1d(a["stride"])],
                  boundary=str(a["boundary"]), lam=float(a["lam"]),
                  threshold=str(a["threshold"]), tau=float(a["tau"]),
                  sample_rate=(None if rate is None else
                               check_positive(rate, "ds.attrs['sample_rate_hz']")))
        net.history_ = detach_history(ds)
        return net



def _check_recorded_kernels(ds: xr.Dataset, kernels: np.ndarray, rate) -> None:
    """Refuse a saved network whose attrs say another ``n_kernels``, ``kernel_shape`` or
    ``sample_rate_hz`` than its kernels (their shape, their ``lag`` in s), naming both:
    the kernels are the record, and a copy edited in the attrs was ignored unsaid."""
    for key, own in (("n_kernels", (kernels.shape[0],)), ("kernel_shape", kernels.shape[1:])):
        if key in ds.attrs:
            recorded = tuple(np.atleast_1d(ds.attrs[key]).tolist())
            if recorded != tuple(own):
                shown = own[0] if key == "n_kernels" else tuple(own)
                raise ValueError(
                    f"ds.attrs[{key!r}]={ds.attrs[key]!r} and the saved kernels "
                    f"({key}={shown!r}, ds['kernels'] of shape {kernels.shape}) disagree: "
                    f"the kernels are the record; correct or delete ds.attrs[{key!r}]")
    if rate is None or "lag" not in ds["kernels"].coords:
        return
    labelled = ds["kernels"].copy(deep=False)
    labelled.attrs = {}
    theirs = sample_rate_by_labels(labelled, None, "ds['kernels']", time_dims=("lag",))
    rate = check_positive(rate, "ds.attrs['sample_rate_hz']")
    if theirs is not None and abs(theirs - rate) > 1e-6 * rate:
        raise ValueError(
            f"ds.attrs['sample_rate_hz']={rate:g} and the rate of ds['kernels']'s 'lag' "
            f"coordinate (s), {theirs:g} Hz, disagree: the lags are the record; correct or "
            "delete ds.attrs['sample_rate_hz']")


def _saved_kernels(kernels: xr.DataArray) -> np.ndarray:
    """The values of a saved ``kernels`` variable in the order to_dataset writes
    ("kernel", then ky, kx or lag), read by dim name: a file transposed by hand
    would otherwise load with its kernel_shape swapped."""
    dims = kernels.dims
    if not 2 <= len(dims) <= 4:
        options = [("kernel",) + kernel_dims(d) for d in (1, 2, 3)]
        raise ValueError(f"ds['kernels'] has dims {dims}, expected one of {options}")
    expected = ("kernel",) + kernel_dims(len(dims) - 1)
    unknown = [d for d in dims if d not in expected]
    if unknown:
        lost = [d for d in expected if d not in dims]
        raise ValueError(f"ds['kernels'] has dims {dims}, expected {expected} (in any "
                         f"order): unknown {unknown}, missing {lost}")
    return kernels.transpose(*expected).values
