"""Spiking convolutional LCA: one integrate-and-fire unit per kernel copy (Brian2).

The spiking LCA of :mod:`v1model.spiking.lca` on a convolutional dictionary
(:mod:`v1model.convolutional`): unit ``(k, p)`` is kernel ``k`` at code
position ``p`` of one whole image or sound. Its drive is the feed-forward
projection ``(Φᵀx)_{k,p}``; it inhibits only the units whose copies overlap
its own, with the weights of the copies' Gram matrix
(:func:`v1model.convolutional.gram.gram_matrix`, ``ΦᵀΦ - I``), so the
synapses per unit are ``(2 ceil(k/s) - 1)^d x n_kernels`` whatever the signal
size — the local lateral inhibition of a retinotopic layer. The equations are
those of :data:`v1model.spiking.lca.EQUATIONS`, and the time-averaged rates
converge to the non-negative convolutional LASSO (Tang, Lin & Davies 2017)::

    min_a 0.5 ||x - Φ a||^2 + lam ||a||_1   subject to a >= 0

with ``code = rate * tau_m``, the codes of
``v1model.convolutional.encode(..., threshold="nonneg")``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..convolutional.gram import gram_matrix
from ..convolutional.inference import LAM_BELOW_STEP, as_dictionary, warn_integer_signals
from ..convolutional.operator import CODES_GEOMETRY, ConvolutionalDictionary
from ..inference._dictionary_cache import shared_sparse, values_of
from ..progress import check_progress
from ..validation import as_generator, check_bool, sample_rate_by_labels
from . import _brian
from .lca import (_labels, _membrane_time_constant, _run_network, _warn_coarse,
                  _warn_saturated, _window_steps, simulation_parameters)

__all__ = ["spiking_convolutional_lca"]


def spiking_convolutional_lca(
    X,
    kernels,
    lam,
    *,
    stride=None,
    boundary: str | None = None,
    duration: float = 1.0,
    dt: float = 1e-4,
    tau_m: float | None = None,
    tau: float | None = None,
    tau_syn: float = 0.0025,
    refractory: float = 0.0,
    transient_fraction: float = 0.3,
    inhibition: bool = True,
    v_init: str = "uniform",
    noise: float = 0.0,
    target: str = "cython",
    seed=None,
    record_spikes: bool = False,
    progress: bool | None = None,
    sample_rate: float | None = None,
) -> xr.Dataset:
    """Simulate the spiking convolutional LCA on whole signals.

    Parameters
    ----------
    X : array_like, shape (n_samples, *signal_shape) or signal_shape
        Whole signals: images (n_images, height, width) or sounds
        (n_sounds, n_times); a DataArray read by dim name, as in
        :func:`v1model.convolutional.encode`.
    kernels : array_like, shape (n_kernels, *kernel_shape) or ConvolutionalDictionary
        The kernels (normally unit norm; other norms become autapses), or a
        :class:`~v1model.convolutional.ConvolutionalDictionary` (then
        ``stride`` and ``boundary`` are its own: given, they must match it).
    lam : float
        Threshold (units of ``X``) subtracted from every unit's drive.
    stride : int or tuple of int, optional
        As in :func:`v1model.convolutional.encode` (default 1, or a
        dictionary's own).
    boundary : {"full", "valid", "circular"}, optional
        As in :func:`v1model.convolutional.encode` (default "full", or a
        dictionary's own).
    duration : float, default 1.0
        Simulated time, in seconds. This and the parameters below are as in
        :func:`v1model.spiking.spiking_lca`, which describes them in full.
    dt : float, default 1e-4
        Time step, in seconds.
    tau_m : float, optional
        Membrane time constant, in seconds (default 0.01; code = rate * tau_m).
    tau : float, optional
        Alias of ``tau_m``: the name :func:`v1model.convolutional.encode`
        (``method="lca"``) and :class:`v1model.convolutional.ConvolutionalNetwork`
        give the membrane time constant; give one of the two.
    tau_syn : float, default 0.0025
        Decay time constant of the inhibitory synaptic current, in seconds.
    refractory : float, default 0.0
        Absolute refractory period, in seconds.
    transient_fraction : float in [0, 1), default 0.3
        Fraction of ``duration`` at the start left out of the rate estimate.
    inhibition : bool, default True
        False removes the lateral synapses.
    v_init : {"uniform", "zero"}, default "uniform"
        Initial potentials.
    noise : float, default 0.0
        Standard deviation of white membrane noise accumulated over one ``tau_m``.
    target : {"cython", "numpy", "cpp_standalone"}, default "cython"
        Brian2 code generation (``target="numpy"`` needs no compiler;
        ``"cython"`` compiles once per model, one to a few minutes, then is faster;
        ``"cpp_standalone"`` compiles a C++ project, about a minute, and keeps it for
        the next call of the same network (kernels, geometry, ``lam``, times, number
        and shape of the signals, ``record_spikes``; not with ``noise``), which runs
        it with its own ``X`` and ``seed`` uncompiled, as
        :func:`v1model.spiking.spiking_lca`'s; fewer signals run it padded).
    seed : None, int or numpy.random.Generator
        Randomness of ``v_init`` and of the noise.
    record_spikes : bool, default False
        Return every spike.
    progress : bool or None, default None
        A tqdm bar over the simulated time, as :func:`v1model.spiking.spiking_lca`'s
        (it says while Brian2 builds and compiles the network).
    sample_rate : float, optional
        Sounds only: their sample rate (Hz), for the codes' position
        coordinate ``time`` and the kernels' ``lag`` in seconds (as
        :meth:`ConvolutionalDictionary.codes_dataset`; ``time_sample`` keeps
        the positions in samples). Without it they are in samples, unless
        ``kernels`` carry a rate: a DataArray's (``attrs["sample_rate_hz"]``
        or its ``lag`` in s, as :func:`~v1model.convolutional.learn_kernels`
        gives it) or a :class:`~v1model.convolutional.ConvolutionalDictionary`'s
        ``sample_rate``, which is then taken (and one given must agree with,
        checked before Brian2 builds anything), else the rate that sounds
        ``X`` given as a DataArray carry (``attrs["sample_rate_hz"]`` or a
        ``time`` coordinate in s; one given must agree). Not the simulated time of
        ``duration``, ``dt`` and ``spike_time``.

    Returns
    -------
    xarray.Dataset
        Over (sample, kernel, time) for sounds or (sample, kernel, y, x) for
        images (position coordinates: each copy's first sample, or pixel for images, as
        :meth:`ConvolutionalDictionary.codes_dataset`): ``rate`` (Hz),
        ``code`` = rate * tau_m (units of X), ``spike_count`` in the counting
        window, ``drive`` = Φᵀx (units of X); ``kernels``; with ``record_spikes``: ``spike_time``
        (s), ``spike_sample``, ``spike_kernel`` and ``spike_position`` (flat
        index into the code grid, C order) over ``spike``. The ``sample``
        coordinate holds ``X``'s labels when it is a DataArray (and labels along
        its samples, such as a class; ``X.isel(sample=[2, 0])`` gives samples 2
        and 0), else 0, 1, ...; ``spike_sample`` holds those labels, not
        positions, as :func:`v1model.spiking.spiking_lca`'s. Parameters,
        network size and wall times in ``attrs``; the geometry
        (``signal_shape``, ``stride``, ``boundary``) in the attrs of
        ``code``, ``rate``, ``spike_count`` and ``drive`` (only there since
        2026-12-08, as :meth:`ConvolutionalDictionary.codes_dataset` records
        it), so that :func:`~v1model.convolutional.reconstruct` needs only
        the kernels.

    Raises
    ------
    ValueError
        For invalid signals, kernels or simulation parameters (each named),
        ``tau`` given with ``tau_m``, or signals whose synapses (``n_signals *
        nnz(G)``, ~65 bytes each) would not fit in memory, before Brian2 builds
        anything.

    Warns
    -----
    UserWarning
        For signals of integer samples or pixels (int16 sounds, uint8 images,
        taken as they are) with ``lam`` below 1, one step of them, as
        :func:`~v1model.convolutional.encode` warns of them.

    Notes
    -----
    The lateral weights ``ΦᵀΦ - I`` are kept for the next call with the same kernels (by
    value: kernels changed in place get their own), stride, boundary and signal shape,
    in the solvers' one-entry dictionary cache (bounded by its ``MAX_CACHE_BYTES``): a
    loop over crops of one size built them at every call (226 ms of CPU per call on 16x16
    crops, 3.8 ms kept; ``benchmarks/README.md``, 2026-12-07). The spikes are the same.
    That entry holds one dictionary: a call replaces the one a rate solver (``lca``,
    ``fista``, ``omp``, ...) kept its values for, whose next call builds them again (and
    evicts these weights), also when the weights are too large to be kept (with 16
    kernels of 8x8 at stride 2, 64x64 crops' ~190 MB), which are then built at every call.

    Examples
    --------
    >>> ds = spiking_convolutional_lca(sounds, kernels, 0.5, seed=0)  # doctest: +SKIP
    >>> ds["code"].dims  # doctest: +SKIP
    ('sample', 'kernel', 'time')
    """
    # a float32 dictionary object too: the network is float64 (as_dictionary converts)
    phi = as_dictionary(kernels, X, stride, boundary, np.float64)
    given = X
    X = phi.check_signals(X, "X")
    # tau, the rate LCA's name, failed here as "unexpected keyword argument 'tau'"
    tau_m, tau_name = _membrane_time_constant(tau_m, tau)
    params = simulation_parameters(lam, duration, dt, tau_m, tau_syn, refractory,
                                   transient_fraction, inhibition, v_init, noise, target, seed,
                                   tau_name=tau_name)
    # int16 sounds with a lam meant for full scale 1: every unit's drive passes it
    warn_integer_signals(given, phi.ndim, "lam", params["lam"], LAM_BELOW_STEP)
    check_bool(record_spikes, "record_spikes")
    check_progress(progress)
    # before Brian2 builds anything; the dictionary holds the rate sound kernels carry
    # (as_dictionary: their lag in s or attrs["sample_rate_hz"]), a dictionary's own too
    sample_rate = phi.signal_sample_rate(sample_rate)
    if phi.ndim == 1:
        # sounds that carry their rate: the onsets in s (another rate given beside it
        # labelled them at that rate, unsaid)
        sample_rate = sample_rate_by_labels(given, sample_rate, "X", time_dims=("time",))
    rng = as_generator(seed)
    n, m = len(X), phi.n_coefficients
    # units in the order of as_matrix (kernel, then position): the dense spiking LCA on
    # the explicit matrix numbers them alike
    drive = np.moveaxis(phi.analyze_last(X), -1, 1).reshape(n, m)
    weights = None
    if params["inhibition"]:
        weights = _lateral_weights(phi)
        _brian.check_synapses_fit(n, weights.nnz, "n_signals", n,
                                  f"signals of nnz(G)={weights.nnz} inhibitory synapses each")
    v0 = rng.random(n * m) if params["v_init"] == "uniform" else np.zeros(n * m)
    _warn_coarse(drive, params, tau_name=tau_name)
    # a loop over signals of one shape ran a compile per call on cpp_standalone: the project
    # is kept for the next call of the same network (or of fewer signals), as spiking_lca's
    out = _run_network(drive, weights, v0, None, rng, params, record_spikes, params["dt"],
                       progress)
    _warn_saturated(out["counts"], drive, params, tau_name=tau_name)
    return _to_dataset(phi, out, drive, params, sample_rate, given)


def _lateral_weights(phi):
    """The inhibitory weights ``ΦᵀΦ - I`` of ``phi`` (float64), kept for the next call with
    the same kernels, stride, boundary and signal shape.

    A loop of calls on signals of one shape built them at every call: on 16 Gabor kernels
    of 8x8, stride 2, 16x16 crops, :func:`~v1model.convolutional.gram.gram_matrix` (94 ms
    of CPU) and a ``tolil``/``setdiag``/``tocsr`` round trip for the identity (146 ms),
    against 0.76 s of Brian2's build and run (``benchmarks/README.md``). They are kept in
    the rate solvers' one-entry cache (:func:`~v1model.inference._dictionary_cache.values_of`,
    keyed on the kernels' values, the geometry in the value's name; bounded by the bytes of
    the CSR arrays), so kernels changed in place between calls get their own weights.
    Weights that do not fit are built at every call and leave the kept dictionary (a
    user's, with its Gram matrix) in place.

    Parameters
    ----------
    phi : ConvolutionalDictionary
        The float64 dictionary of the call.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_coefficients, n_coefficients), float64
        ``weights[post, pre]`` in the order of ``as_matrix`` (kernel, then position),
        canonical (sorted, no duplicates), entries below 1e-12 in magnitude dropped (no
        synapse). Its arrays are shared with later calls and read-only; the object is
        this call's own (:func:`~v1model.inference._dictionary_cache.shared_sparse`).
    """
    geometry = (phi.signal_shape, phi.stride, phi.boundary)

    def weights_of(kernels):
        # from the cache's copy of the kernels, never the caller's (which may change)
        return _weights_of_gram(gram_matrix(ConvolutionalDictionary(
            kernels, phi.signal_shape, stride=phi.stride, boundary=phi.boundary,
            dtype=np.float64)))

    kept = values_of(phi.kernels).get(("spiking_convolutional_weights",) + geometry,
                                      weights_of)
    return shared_sparse(kept)


def _weights_of_gram(gram):
    """``gram - I`` as a canonical CSR matrix, entries below 1e-12 in magnitude dropped.

    Subtracting the sparse identity gives the arrays of the ``tolil``/``setdiag``/``tocsr``
    round trip this replaced, to the bit (a copy missing its diagonal, all outside the
    signal, gets -1 either way), in 1/25 of its time."""
    import scipy.sparse as sp

    weights = gram - sp.identity(gram.shape[0], dtype=np.float64, format="csr")
    weights.data[np.abs(weights.data) < 1e-12] = 0.0  # rounding of orthogonal copies
    weights.eliminate_zeros()
    return weights


def _to_dataset(phi, out, drive, p, sample_rate=None, given=None) -> xr.Dataset:
    """The run ``out`` as the Dataset :func:`spiking_convolutional_lca` returns, its
    samples labelled as those of the signals ``given`` (:meth:`codes_dataset`'s ``X``)."""
    n = len(drive)
    shape = (n, phi.n_kernels) + phi.code_shape
    start, stop = _window_steps(p)
    window = (stop - start) * p["dt"]
    counts = out["counts"].reshape(shape)
    rate = counts / window
    # X's sample labels: X.isel(sample=[2, 0]) came back as samples 0 and 1, its spikes
    # told the same
    ds = phi.codes_dataset(rate * p["tau_m"], sample_rate=sample_rate, X=given)
    ds = ds.rename({"codes": "code"})
    dims = ds["code"].dims
    # rate * tau_m is a LASSO code (threshold 1 unit of X): in units of X, not "1"
    ds["code"].attrs.update(long_name="code = rate * tau_m (LASSO units)", units="units of X")
    ds["rate"] = (dims, rate, {"long_name": "firing rate in the counting window",
                               "units": "Hz"})
    ds["spike_count"] = (dims, counts, {"long_name": "spikes in the counting window",
                                        "units": "1"})
    ds["drive"] = (dims, drive.reshape(shape), {"long_name": "feed-forward drive Φᵀx",
                                                "units": "units of X"})
    # the geometry codes_dataset records on code, on every map of the units too: ds.rate
    # alone (reconstruct's argument) needed signal_shape, which stride > 1 leaves open
    geometry = {name: ds["code"].attrs[name] for name in CODES_GEOMETRY}
    for name in ("rate", "spike_count", "drive"):
        ds[name].attrs.update(geometry)
    if "spike_time" in out:
        kernel, position = np.divmod(out["spike_atom"], int(np.prod(phi.code_shape)))
        ds["spike_time"] = ("spike", out["spike_time"], {"long_name": "spike time",
                                                         "units": "s"})
        ds["spike_sample"] = ("spike", _labels(ds, "sample", out["spike_sample"]), {
            "units": "1", "long_name": "sample (label) of the neuron that spiked"})
        ds["spike_kernel"] = ("spike", kernel, {
            "units": "1", "long_name": "kernel of the neuron that spiked"})
        ds["spike_position"] = ("spike", position, {
            "units": "1", "long_name": "flat index into the code grid (C order)"})
    ds.attrs.update(p)
    ds.attrs.update(
        model="spiking convolutional LCA (Tang, Lin & Davies 2017 on a convolutional "
              "dictionary)",
        code_units="code = rate [Hz] * tau_m [s]",
        counting_window=[start * p["dt"], stop * p["dt"]],  # on the step grid, as counted
        n_neurons=int(drive.size),
        n_synapses=int(out["n_synapses"]),
        build_time=out["build_time"],
        run_time=out["run_time"],
        brian2_seed=int(out["brian2_seed"]),
        brian2_version=_brian.import_brian2().__version__,
    )
    return ds
