"""Spiking LCA: integrate-and-fire units with lateral inhibition (Brian2).

The spiking Locally Competitive Algorithm of Shapero, Zhu, Hasler & Rozell
(2014) in the form analysed by Tang, Lin & Davies (2017). Unit ``i`` of the
network coding sample ``x`` is a non-leaky integrate-and-fire neuron driven by
the feed-forward projection ``b_i = d_i . x`` minus the threshold ``lam``, and
inhibited by the spikes of the other units of the same sample through
synapses of weight ``G_ij = d_i . d_j`` (``G = D D^T - I``, the off-diagonal
Gram matrix) whose current decays with ``tau_syn``::

    tau_m dv_i/dt    = b_i - lam - I_i
    tau_syn dI_i/dt  = -I_i
    v_i > 1          ->  spike, v_i -= 1
    spike of j       ->  I_i += G_ij * tau_m / tau_syn   (every i != j)

Each presynaptic spike injects a current whose integral is ``G_ij tau_m``, so
the mean inhibition is ``sum_j G_ij a_j`` with ``a_j = r_j tau_m`` the rate of
unit ``j`` in code units. The time-averaged rates then converge to the fixed
point ``a_i = max(b_i - lam - sum_{j != i} G_ij a_j, 0)``, which is the
solution of the non-negative LASSO::

    min_a 0.5 ||x - D^T a||^2 + lam ||a||_1   subject to a >= 0

(Tang et al. 2017, main convergence result).

**The potential has no leak and no floor.** ``v`` is in units of ``X`` (threshold 1): a
unit whose net drive ``b - lam - I`` stays negative integrates it down without bound, at
``(b - lam - I) / tau_m`` per second: in the README's example (20 patches, 64 learned
atoms, lam 0.1) atoms 0 and 5 reach -32 after 1 s and -63 after 2 s, the lowest of all
its units -54 after 1 s. That integral is what keeps it silent, as the LASSO's optimality
condition ``b_i - lam - sum_j G_ij a_j <= 0`` for a zero code asks; its rate is unaffected.
No floor is added: measured 2026-12-08 on that example (numpy target, seed 0), clipping
``v`` at -1 after every step gave the very same spikes (1 s; the same errors at 2 s),
while clipping at 0 (the reset) added 25 spikes in 1 s (157 of the 1280 counts changed)
and made the codes of a 2 s run 1.4x farther from the non-negative LASSO (``||code -
LASSO|| / ||LASSO||`` 0.0108 against 0.0075; largest error 0.025 against 0.013): a
unit held at 0 fires on every upward fluctuation of its inhibition.

**Code units**: a code of value ``a``
corresponds to a firing rate ``a / tau_m`` Hz (``a = 1`` is 100 Hz for the
default ``tau_m`` = 10 ms); with ``tau_m`` equal to the ODE network's ``tau``
the spiking network and the ODE LCA share one time scale.

Implementation choices, each a deviation from the continuous-time model that
does not move the fixed point:

- *subtractive reset* (``v -= 1``) keeps the overshoot of a step, so spike
  counts are exact whatever ``dt`` (reset-to-zero would bias rates down by up
  to ``rate * dt``);
- *Euler integration*: the decay of ``I`` integrates to exactly
  ``tau_syn`` per unit current, so the mean inhibition is exact too;
- rates are counted after a *transient* (``transient_fraction`` of the
  duration) while the network settles, so that its bias stays out of the
  count; this windowed average and Tang et al.'s average from 0 both
  converge as O(1/t) (whole spikes: a code is off by up to about
  ``tau_m / window`` on random dictionaries; on learned ones, whose atoms
  overlap up to 0.9, the slowest codes settle over seconds, as the ODE's do,
  and were 5-7x that at 1 s). The window helps a network that settles slowly and
  costs its shorter length otherwise: on 32 random atoms and 20 natural 8x8
  patches the average from 0 was ~1.2x closer to LASSO at every duration
  from 0.125 s to 4 s;
- a ``refractory`` period > 0 (default 0), dead time after the step of a
  spike, caps rates at ``1 / (refractory + dt)`` and
  bends the rate curve away from LASSO: it is there to ask what it changes.

One Brian2 network simulates the whole batch: a single ``NeuronGroup`` of
``n_samples * n_atoms`` neurons (neuron ``s * n_atoms + a`` is atom ``a`` of
sample ``s``) and one ``Synapses`` object with block-diagonal connectivity,
``n_samples * nnz(G)`` synapses (a peak of about 65 bytes each while the
network is built: a 100 x 256 batch, 6.5 million synapses, peaks at ~0.45 GB).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..inference._common import code_coords
from ..inference._dictionary_cache import values_of
from ..io import seed_attr
from ..progress import check_progress
from ..validation import (
    as_generator,
    check_array,
    check_bool,
    check_choice,
    check_data_and_dictionary,
    check_fits_in_memory,
    check_nonnegative,
    check_positive,
    check_probability,
    label_positions,
)
from . import _brian

__all__ = ["spiking_lca", "windowed_rates", "EQUATIONS", "THRESHOLD", "RESET", "ON_PRE"]

#: Membrane and synaptic current of one unit (dimensionless potential, input units).
EQUATIONS = """
dv/dt = (b - lam - I_inh) / tau_m {noise}: 1 {unless_refractory}
dI_inh/dt = -I_inh / tau_syn : 1
b : 1 (constant)   # feed-forward drive d_i . x of this unit's sample
n_counted : 1      # spikes inside the counting window
"""
#: Spike condition: the potential crosses 1 (one code unit * tau_m of charge).
THRESHOLD = "v > 1"
#: Subtractive reset; spikes from time step ``count_step`` on are counted.
RESET = "v -= 1\nn_counted += int(t_in_timesteps >= count_step)"
#: A presynaptic spike injects a current of integral w * tau_m.
ON_PRE = "I_inh_post += w * tau_m / tau_syn"

V_INIT = ("uniform", "zero")
#: default membrane time constant ``tau_m`` of :func:`spiking_lca` (s)
TAU_M = 0.01


def spiking_lca(
    X,
    D,
    lam,
    *,
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
    record_v=None,
    record_dt: float | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Simulate the spiking LCA on a batch; firing rates approach the nonneg LASSO codes.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Stimuli (e.g. whitened image patches, flattened; with atoms as
        images, also ``(n_samples, height, width)`` patches of their shape).
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom (receptive field) per row, normally unit norm.
        Non-unit atoms are handled exactly: the self-term ``|d_i|^2 - 1``
        becomes an autapse. Atoms as images (the ``spiking-lca`` study's or
        a network's ``ds["dictionary"]`` (atom, y, x), read by dim name) are
        flattened row-major, as patches are
        (:func:`~v1model.validation.flatten_image_atoms`).
    lam : float
        Threshold lambda >= 0 (units of ``X``), a constant current subtracted
        from every unit's drive.
    duration : float
        Simulated time in seconds (default 1 s).
    dt : float
        Time step in seconds (default 0.1 ms). Rates must stay well below
        ``1 / dt``.
    tau_m : float, optional
        Membrane integration time constant in seconds (default 10 ms); sets
        the code units: code = rate * tau_m.
    tau : float, optional
        Alias of ``tau_m``: the name :func:`v1model.inference.lca` and
        :class:`v1model.SparseCodingNetwork` give the membrane time constant
        (the network's ``encode(backend="spiking")`` takes it too); give one
        of the two. Errors about the membrane time constant name the one
        given.
    tau_syn : float
        Decay time constant of the inhibitory synaptic current in seconds
        (default 2.5 ms; it does not move the fixed point, shorter settles
        faster: on the benchmark problem 2.5 ms reaches 5% error in ~20% less
        simulated time than 5 ms, 10 ms needs ~50% more).
    refractory : float
        Absolute refractory period in seconds (default 0: rates converge to
        LASSO only without one): the potential is held for ``refractory``
        after each spike (rounded down to whole steps of ``dt``), so a unit
        with code ``a`` fires at ``1 / (refractory + tau_m / a)``; shorter
        than the counting window, and a RuntimeWarning when it leaves fewer
        than 3 spikes in it (at most ``window / (refractory + dt)``).
    transient_fraction : float in [0, 1)
        Fraction of ``duration`` at the start left out of the rate estimate
        (default 0.3).
    inhibition : bool, default True
        False removes the lateral synapses (each unit then fires at
        ``max(b - lam, 0) / tau_m``: a thresholded feed-forward code).
    v_init : {"uniform", "zero"}
        Initial potentials: independent uniform draws in [0, 1) from ``seed``
        (default; desynchronises the units) or all zero.
    noise : float
        Standard deviation of white membrane noise accumulated over one
        ``tau_m`` (default 0: deterministic given ``v_init``). Drawn by Brian2,
        seeded from ``seed`` right before the run.
    target : {"cython", "numpy", "cpp_standalone"}
        Brian2 code generation: compiled Cython (default; compiles once per
        model, then cached: 115 s for a first call of 64 atoms on 2 busy cores,
        2026-12-07), pure NumPy (no compiler, slower for long runs) or a C++
        standalone project built and compiled in a temporary folder (best for big
        runs; ~1 min on those cores), kept for the next call of the same model
        (dictionary, ``lam``, times, batch size, ``record_*``; not with ``noise``),
        which runs it with its own ``X`` and ``seed`` uncompiled; a call with fewer
        samples (a loop's last batch) runs it too, padded with silent samples whose
        results are dropped (the spikes of an unpadded run; its ``run_time`` counts
        the padding's neurons); Brian2's device is restored afterwards.
    seed : None, int or numpy.random.Generator
        Randomness of ``v_init`` and of the noise; same seed, same spikes.
    record_spikes : bool, default False
        Return every spike (``spike_time``, ``spike_sample``, ``spike_atom``).
    record_v : sequence of int or of (sample, atom) pairs, optional
        Units whose membrane potential ``v`` and current ``I_inh`` are recorded:
        atom indices (recorded in every sample) or explicit pairs. ``v`` (units of
        ``X``, threshold 1) has no floor: a silent unit's falls without bound, as
        its net drive ``b - lam - I_inh`` integrates (-32 after 1 s for atoms 0 and
        5 of the README's example; see the module docstring).
    record_dt : float, optional
        Sampling interval of ``record_v`` in seconds (default ``dt``); a
        whole multiple of ``dt``.
    progress : bool or None, default None
        A tqdm bar over the simulated time while Brian2 runs: None once the
        call has run 2 s (:mod:`v1model.progress`), True at once, False never.
        Until the simulation starts it says that Brian2 builds (and compiles:
        a model's first cython run, one to a few minutes) the network and where the
        compiled code is cached; ``cpp_standalone`` reports no progress, only
        that note until its project has run.

    Returns
    -------
    xarray.Dataset
        ``rate`` (sample, atom) in Hz, ``code`` (sample, atom) = rate * tau_m
        in units of X (the LASSO's), ``spike_count`` (sample, atom) in the
        counting window, ``drive`` (sample, atom) = D x in units of X; with
        ``record_spikes``: ``spike_time`` (s), ``spike_sample``,
        ``spike_atom`` over ``spike``; with ``record_v``:
        ``v`` and ``I_inh`` over (``time``, ``unit``). Parameters, the Brian2
        seed (``brian2_seed``, drawn from ``seed`` for the membrane noise; -1 when
        the run drew no Brian2 random number: ``noise=0``), the network size and
        wall times (``build_time``, ``run_time`` in s) are in ``attrs``, with
        ``counting_window`` = [start, end] in s,
        the window the spikes were counted in: ``transient_fraction *
        duration`` and ``duration`` on the step grid (rounded up to the next
        step, or to the nearest one when within float rounding of it; the run
        lasts until ``end``), e.g. [0.004, 0.011] for ``duration=0.0105``,
        ``dt=1e-3``.
        The ``sample`` and ``atom`` coordinates are the labels of ``X``'s rows and
        ``D``'s atoms when given as DataArrays (the codes of
        :func:`v1model.inference.encode` are labelled alike: ``X.isel(sample=[2, 0])``
        of an ``X`` labelled 0, 1, 2 gives samples 2 and 0), else 0, 1, ...; ``spike_sample``,
        ``spike_atom``, ``unit_sample`` and ``unit_atom`` hold those labels, not
        positions, so they still name the right neurons in a subset
        (``ds.isel(sample=...)``) and :func:`windowed_rates` counts by them.
        ``record_v`` itself takes positions in ``X`` and ``D`` as given.

    Raises
    ------
    TypeError
        For non-numeric ``X`` or ``D``, or a flag that is not a bool.
    ValueError
        For bad shapes or values of ``X`` and ``D`` (a transposed ``D`` named
        as such), a negative ``lam``, non-positive times, ``tau`` given with
        ``tau_m``, ``dt`` not shorter than ``tau_m`` and ``tau_syn`` (the
        Euler step overshoots; the message names ``tau`` when the membrane
        time constant was given by it), a counting window shorter than ``dt`` or than
        ``refractory``, bad ``record_v`` / ``record_dt``, or a batch whose
        synapses would not fit in memory (``n_samples * nnz(G)``, ~65 bytes
        each) or, with ``inhibition``, a dictionary whose weights ``G``
        (``n_atoms**2``, float64) would not, nor the traces of ``record_v``
        (16 bytes per unit and record); all before Brian2 builds anything.
    RuntimeError
        When ``target="cython"`` cannot compile Brian2's code (no working C++
        compiler): the message names ``target="numpy"``, which needs none.

    Warns
    -----
    RuntimeWarning
        When the largest code is worth fewer than 3 spikes in the counting
        window, or ``lam`` is at least every drive (no unit can fire, every
        code is 0), before simulating; when units fired at every time step,
        after.

    Examples
    --------
    >>> ds = spiking_lca(X, D, lam=0.1, duration=1.0, target="numpy", seed=0)  # doctest: +SKIP
    >>> ds["code"].shape  # doctest: +SKIP
    (n_samples, n_atoms)
    """
    given = (X, D)  # their labels, for the result's coordinates
    X, D = check_data_and_dictionary(X, D)
    check_progress(progress)
    tau_m, tau_name = _membrane_time_constant(tau_m, tau)
    params = simulation_parameters(lam, duration, dt, tau_m, tau_syn, refractory,
                                   transient_fraction, inhibition, v_init, noise, target, seed,
                                   tau_name=tau_name)
    record_spikes = check_bool(record_spikes, "record_spikes")  # "False" would be truthy
    if record_dt is not None:
        record_dt = check_positive(record_dt, "record_dt")
        if record_dt < dt:
            raise ValueError(f"record_dt ({record_dt!r} s) must be >= dt ({dt!r} s)")
        ratio = record_dt / params["dt"]
        if abs(ratio - round(ratio)) > 1e-6 * ratio:
            # Brian2 would sample on its own clock, between the network's steps: the
            # recorded times would not be those of the values
            raise ValueError(f"record_dt ({record_dt!r} s) must be a whole multiple of dt "
                             f"({params['dt']!r} s), e.g. {round(ratio) * params['dt']:g} s")
    n, k = X.shape[0], D.shape[0]
    units = _check_record_v(record_v, n, k)
    if units is not None:
        _check_traces_fit(len(units[0]), params, record_dt or params["dt"])
    rng = as_generator(seed)

    drive = X @ D.T
    weights = None  # the network without inhibition has no use for the k x k Gram matrix
    if params["inhibition"]:
        _check_gram_fits(D.shape)
        weights, nnz = _lateral_weights(D)
        # one synapse per non-zero G_ij per sample: a large batch took all the memory while
        # Brian2 built them, with no word of why
        _brian.check_synapses_fit(n, nnz, "n_samples", n,
                                  f"samples (rows of X) of nnz(G)={nnz} "
                                  "inhibitory synapses each")
    v0 = rng.random(n * k) if params["v_init"] == "uniform" else np.zeros(n * k)
    # with the inhibition, an atom's self-term |d_i|^2 - 1 scales its code
    _warn_coarse(drive, params, np.einsum("ij,ij->i", D, D) if params["inhibition"] else None,
                 tau_name=tau_name)
    out = _run_network(drive, weights, v0, record_v, rng, params, record_spikes,
                       record_dt or params["dt"], progress)
    _warn_saturated(out["counts"], drive, params, tau_name=tau_name)
    return _to_dataset(out, drive, units, params, code_coords(*given, n, k))


def _membrane_time_constant(tau_m, tau):
    """``tau_m`` (s) from itself or its alias ``tau``; :data:`TAU_M` when neither is given.

    ``tau`` is the membrane time constant's name in the rate LCA and the network: passed
    to spiking_lca it failed as "unexpected keyword argument 'tau'", and a bad one is
    named ``tau``, as the caller gave it.

    Returns
    -------
    tau_m : float
        The membrane time constant (s).
    name : {"tau_m", "tau"}
        The argument the caller gave it by, for the errors about it
        (:func:`simulation_parameters`'s ``tau_name``).
    """
    if tau is None:
        return (TAU_M if tau_m is None else tau_m), "tau_m"
    if tau_m is not None:
        raise ValueError(f"give tau or tau_m (the same membrane time constant), not both; "
                         f"got tau={tau!r} and tau_m={tau_m!r}")
    return check_positive(tau, "tau"), "tau"


def _check_traces_fit(n_units, p, record_dt) -> None:
    """Refuse membrane traces (``v`` and ``I_inh`` of ``n_units`` units, float64, every
    ``record_dt`` of the run) that would not fit in memory: Brian2 grew them step by
    step until the out-of-memory killer ended the run, with no word of why."""
    from .. import validation

    every = max(1, round(record_dt / p["dt"]))
    n_records = -(-_window_steps(p)[1] // every)  # at 0, record_dt, ... before the end
    nbytes = 16.0 * n_units * n_records
    memory = validation.memory_exceeded(nbytes)
    if memory is not None:
        raise ValueError(
            f"record_v: {n_units} units recorded {n_records} times (duration="
            f"{p['duration']!r} s every record_dt={record_dt!r} s) would take {nbytes:.4g} "
            f"bytes ({nbytes / 2**30:.4g} GiB) for v and I_inh (float64), more than the "
            f"{memory / 2**30:.4g} GiB of memory this process may use; record fewer units, "
            f"with a longer record_dt or for a shorter duration")


def _check_gram_fits(shape) -> None:
    """Refuse a dictionary of ``shape`` (n_atoms, n_features) whose lateral weights
    ``D D^T - I`` (n_atoms x n_atoms, float64) would not fit in memory: NumPy's "Unable
    to allocate 298. GiB" for 200,000 atoms named no argument."""
    from .. import validation

    k = shape[0]
    nbytes = 8.0 * k * k
    memory = validation.memory_exceeded(nbytes)
    if memory is not None:
        raise ValueError(
            f"D has {k} atoms (shape {tuple(shape)}): the lateral weights D D^T - I of the "
            f"inhibition ({k} x {k}, float64) would take {nbytes:.4g} bytes "
            f"({nbytes / 2**30:.4g} GiB), more than the {memory / 2**30:.4g} GiB of memory "
            f"this process may use (at most {int(np.sqrt(memory / 8))} atoms would fit; "
            f"inhibition=False needs no weights)")


def _lateral_weights(D):
    """The inhibitory weights ``G = D D^T - I`` of dictionary ``D`` and their number of
    non-zero entries (one synapse each per sample), kept for the next call with the same
    dictionary (:func:`~v1model.inference._dictionary_cache.values_of`, the entry the rate
    solvers share): a loop of calls with one dictionary built them at every call.

    Parameters
    ----------
    D : ndarray, shape (n_atoms, n_features)
        A validated dictionary (float64).

    Returns
    -------
    weights : ndarray, shape (n_atoms, n_atoms), float64, read-only
        ``weights[post, pre]``, with entries below 1e-12 in magnitude set to 0 (the
        rounding of orthogonal atoms makes no synapse). Shared with later calls: copy it
        before changing it (Brian2 copies the weights into its own arrays).
    nnz : int
        ``np.count_nonzero(weights)``.
    """
    def weights_and_nnz(key):
        # the cache's copy has the dtype of the call that kept these values first: after a
        # float32 solver's (an estimator's float32 components_) the weights were float32,
        # ~3e-7 off, and autapses of ~1e-8 rounded to 0 were dropped (another nnz)
        Dw = np.ascontiguousarray(key, dtype=D.dtype)
        weights = Dw @ Dw.T
        weights[np.diag_indices(Dw.shape[0])] -= 1.0  # the self-term of unit-norm atoms
        weights[np.abs(weights) < 1e-12] = 0.0
        return weights, int(np.count_nonzero(weights))

    return values_of(D).get(("spiking_lca_weights", D.dtype.name), weights_and_nnz)


#: most time steps a run may have: Brian2's clock counts them in int64 (2**63 - 1), with
#: headroom for the steps past the end it computes
_MAX_STEPS = 2.0**62


def simulation_parameters(lam, duration, dt, tau_m, tau_syn, refractory, transient_fraction,
                          inhibition, v_init, noise, target, seed, tau_name="tau_m") -> dict:
    """Validate the parameters every spiking LCA run shares; the ``params`` dict of
    :func:`spiking_lca` (recorded in the Dataset's attrs, ``tau_m`` by that name).
    Called before anything draws from ``seed``: a Generator's state is recorded as the
    run's start (:func:`v1model.io.seed_attr`, ``before_use``).
    ``tau_name`` is the argument the caller gave ``tau_m`` by (``"tau"``, its alias),
    which the errors about it name."""
    lam = check_nonnegative(lam, "lam")
    duration = check_positive(duration, "duration")
    dt = check_positive(dt, "dt")
    if duration < dt:
        raise ValueError(
            f"duration ({duration!r} s) is shorter than the time step dt ({dt!r} s); "
            "simulate at least one step"
        )
    if duration / dt > _MAX_STEPS:
        # Brian2's clock counts steps in int64: past it, 1e15 s at 0.1 ms ran no step and
        # returned rates of 0 in 0.2 s, and 1e300 s failed inside Brian2
        raise ValueError(
            f"duration / dt = {duration / dt:.3g} time steps (duration={duration!r} s, "
            f"dt={dt!r} s), more than Brian2's clock counts ({_MAX_STEPS:.3g})")
    tau_m = check_positive(tau_m, tau_name)
    tau_syn = check_positive(tau_syn, "tau_syn")
    if dt >= min(tau_m, tau_syn):
        # an Euler step longer than a time constant overshoots the decay (and
        # diverges beyond twice it): the codes come out wrong without a sign
        raise ValueError(
            f"dt={dt!r} s must be shorter than tau_syn={tau_syn!r} s and {tau_name}={tau_m!r} s "
            f"(the Euler update of a decay overshoots beyond its time constant); "
            f"dt <= {min(tau_m, tau_syn) / 10:g} s is accurate")
    refractory = check_nonnegative(refractory, "refractory")
    transient_fraction = check_probability(transient_fraction, "transient_fraction",
                                           open_interval=False)
    if transient_fraction == 1:
        raise ValueError("transient_fraction must be < 1 (nothing would be counted), got 1")
    noise = check_nonnegative(noise, "noise")
    inhibition = check_bool(inhibition, "inhibition")  # "False" would be truthy
    v_init = check_choice(v_init, "v_init", V_INIT)
    target = check_choice(target, "target", _brian.TARGETS)
    t_count = transient_fraction * duration
    if _count_step(duration, dt) - _count_step(t_count, dt) < 1:
        raise ValueError(
            f"the counting window (duration * (1 - transient_fraction) = "
            f"{duration - t_count!r} s) is shorter than dt ({dt!r} s)"
        )
    # the window the run counts is on the step grid (_window_steps), not the nominal
    # duration * (1 - transient_fraction): 7 ms, not 7.35 ms, for duration=0.0105, dt=1e-3
    window = (_count_step(duration, dt) - _count_step(t_count, dt)) * dt
    if refractory >= window:  # at most one spike per unit: codes of 0 or 1 spike
        raise ValueError(
            f"refractory={refractory!r} s is at least the counting window (duration * (1 - "
            f"transient_fraction) on the dt={dt!r} s step grid = {window:.3g} s): a unit could "
            f"fire at most once in it; shorten refractory or lengthen duration")
    return dict(
        lam=lam, duration=duration, dt=dt, tau_m=tau_m, tau_syn=tau_syn, refractory=refractory,
        transient_fraction=transient_fraction, inhibition=int(bool(inhibition)), v_init=v_init,
        noise=noise, target=target, seed=seed_attr(seed, before_use=True),
    )


#: fewest spikes in the counting window that the largest code should be worth
MIN_SPIKES = 3


def _warn_coarse(drive, p, norms2=None, tau_name="tau_m"):
    """Warn, before simulating, when even the largest code is a handful of spikes, or
    when ``lam`` is at least every drive (no unit can fire: every code is 0).

    The threshold (1) and the initial potentials are in units of ``X``, so one
    spike in the counting window is worth ``tau_m / window`` of code whatever
    the scale of ``X``: measured with lam scaled alike, X scaled by 1e-2 gave 9
    spikes in all (815 at scale 1) and codes 1.8x their size off the LASSO's.
    ``norms2``, the atoms' squared norms, when their self-term (an autapse of
    ``|d_i|^2 - 1``) scales each code to ``(D x - lam) / |d_i|^2``. ``tau_name``, the
    argument the caller gave ``tau_m`` by (``"tau"``, its alias), which the formulas name.
    """
    start, stop = _window_steps(p)
    window = (stop - start) * p["dt"]
    # the refractory period is dead time after the step of a spike: spikes are at least
    # refractory + dt apart
    interval = p["refractory"] + p["dt"]
    if p["refractory"] > 0 and window / interval < MIN_SPIKES:
        warnings.warn(
            f"refractory={p['refractory']!r} s lets a unit fire at most window / (refractory "
            f"+ dt) = {window / interval:.3g} times in the {window:.3g} s counting window: the "
            f"rates cannot resolve the codes (each at most {tau_name} / (refractory + dt) = "
            f"{p['tau_m'] / interval:.3g}); shorten refractory or lengthen "
            f"duration={p['duration']!r}", RuntimeWarning, stacklevel=user_stacklevel())
    per_spike = p["tau_m"] / window
    top = float(drive.max()) - p["lam"]  # the largest code, without inhibition
    scaled = (norms2 is not None and top > 0 and np.any(norms2 > 0)
              and not np.allclose(norms2, 1.0))
    if scaled:
        # the autapse of an atom of norm 0.2 made its code 25x D x - lam: 44 spikes were
        # counted where the warning said 1.75
        live = norms2 > 0
        top = float(((drive[:, live] - p["lam"]) / norms2[live]).max())
    if top >= MIN_SPIKES * per_spike:
        return
    if top <= 0:
        # every code is 0, the LASSO's too, whatever the duration or the scale of X and lam:
        # the advice of the few-spikes case below (scale both up, lengthen the run) was wrong
        largest = float(drive.max())
        fix = (f"lower lam below {largest:.3g} for non-zero codes" if largest > 0
               else "no drive D x is positive, so no lam gives non-zero codes")
        silent = ("no unit can fire and every code is 0, as every non-negative LASSO code"
                  if p["noise"] == 0 else f"only the membrane noise={p['noise']!r} can make "
                  f"a unit fire, and every non-negative LASSO code is 0")
        warnings.warn(f"lam={p['lam']!r} is at least every drive D x (largest {largest:.3g}): "
                      f"{silent}; {fix}", RuntimeWarning, stacklevel=user_stacklevel())
        return
    what = (f"the largest code (D x - lam) / |d_i|^2 is {top:.3g}" if scaled
            else f"the largest drive D x - lam is {top:.3g}")
    warnings.warn(
        f"{what}, {top / per_spike:.3g} spikes in the {window:.3g} s counting window (one "
        f"spike is worth {tau_name} / window = {per_spike:.3g} of code, in units of X): the rates "
        f"cannot resolve the codes; scale X (and lam) up so the largest code is worth at least "
        f"{MIN_SPIKES} spikes, or lengthen duration={p['duration']!r}", RuntimeWarning,
        stacklevel=user_stacklevel())


def _warn_saturated(counts, drive, p, tau_name="tau_m"):
    """Warn when units fired at every step of the counting window.

    A unit spikes at most once per step, so its rate saturates at ``1 / dt``
    and its code at ``tau_m / dt``, whatever its drive: those codes are wrong.
    ``tau_name``, the argument the caller gave ``tau_m`` by, which the formulas name.
    """
    start, stop = _window_steps(p)
    n_window = stop - start
    n_sat = int(np.count_nonzero(counts >= n_window))
    if n_sat == 0:
        return
    top = float(drive.max()) - p["lam"]  # the largest code without inhibition
    below = f" well below {tau_name} / {top:.3g} = {p['tau_m'] / top:.3g} s" if top > 0 else ""
    warnings.warn(
        f"{n_sat} of {counts.size} units fired at every time step of the counting window: "
        f"their rates are capped at 1 / dt = {1 / p['dt']:.3g} Hz and their codes at "
        f"{tau_name} / dt = {p['tau_m'] / p['dt']:.3g} (the largest drive D x - lam is "
        f"{top:.3g}); lower dt={p['dt']!r}{below} or rescale X", RuntimeWarning,
        stacklevel=user_stacklevel())


def _check_record_v(record_v, n, k):
    """Flat neuron indices and (sample, atom) of the units to record."""
    if record_v is None:
        return None
    try:
        arr = np.asarray(record_v)
    except ValueError:
        # a mix such as [0, (1, 2)]: NumPy's "inhomogeneous shape" named no argument
        raise ValueError(f"record_v must be atom indices or (sample, atom) pairs, not a mix "
                         f"of the two, got {record_v!r}") from None
    if arr.size == 0:
        return None
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"record_v must hold integer indices, got {arr.dtype} values")
    if arr.ndim == 1:
        if arr.min() < 0 or arr.max() >= k:
            raise ValueError(f"record_v: atom indices must be in [0, {k}), got {arr.tolist()}")
        samples = np.repeat(np.arange(n), arr.size)
        atoms = np.tile(arr, n)
    elif arr.ndim == 2 and arr.shape[1] == 2:
        samples, atoms = arr[:, 0], arr[:, 1]
        if samples.min() < 0 or samples.max() >= n or atoms.min() < 0 or atoms.max() >= k:
            raise ValueError(
                f"record_v: (sample, atom) pairs must be in [0, {n}) x [0, {k}), "
                f"got {arr.tolist()}"
            )
    else:
        raise ValueError(
            f"record_v must be atom indices or (sample, atom) pairs, got shape {arr.shape}"
        )
    return samples.astype(int), atoms.astype(int)


#: the parameters that only set values a kept ``cpp_standalone`` project takes as
#: ``run_args`` (the initial potentials): left out of its key
RUN_ARG_PARAMETERS = ("seed", "v_init")
#: the parameters the generated code holds only through what they become, keyed by that:
#: ``duration`` and ``transient_fraction`` by the steps they round to (:func:`_window_steps`),
#: ``inhibition`` by the weights (None without synapses)
KEYED_BY_EFFECT = ("duration", "transient_fraction", "inhibition")


def _compiled_settings(p):
    """The settings of run ``p`` that a ``cpp_standalone`` project's code holds, for its
    key (:func:`v1model.spiking._brian.standalone_key`): ``p`` but for
    :data:`RUN_ARG_PARAMETERS` and :data:`KEYED_BY_EFFECT`, with the first counted step
    and the number of steps (two durations on one step grid compiled the same project
    twice)."""
    settings = {name: value for name, value in p.items()
                if name not in RUN_ARG_PARAMETERS + KEYED_BY_EFFECT}
    settings["count_step"], settings["n_steps"] = _window_steps(p)
    return settings


def _has_synapses(weights) -> bool:
    """Whether the network of ``weights`` (dense, ``scipy.sparse`` or None) has inhibitory
    synapses: one per non-zero weight per sample."""
    if weights is None:
        return False
    return bool(weights.nnz if hasattr(weights, "nnz") else np.any(weights))


def _run_network(drive, weights, v0, record_v, rng, p, record_spikes, record_dt, progress):
    """Run the network of ``drive`` on ``p["target"]``: :func:`_simulate`'s plain arrays.

    On ``cpp_standalone`` the project is kept for the next call of the same network
    (:func:`v1model.spiking._brian.standalone_key`: the sizes, :func:`_compiled_settings`,
    the weights (None when there is no synapse: ``inhibition=False`` and a Gram matrix
    of zeros build the same code) and the monitors; the drive and ``v0`` are
    ``run_args``). A kept project of the same network for more samples runs a smaller
    batch (a loop's last) padded with silent samples: drive and potential 0, they never
    reach the threshold, and the synapses are block-diagonal, so the real samples' spikes
    and traces are those of an unpadded run; the padding's counts and traces are dropped
    (:func:`_drop_padding` refuses a spike of the padding).

    Parameters
    ----------
    drive : ndarray, shape (n_samples, n_units)
    weights : ndarray, scipy.sparse matrix or None, shape (n_units, n_units)
    v0 : ndarray, shape (n_samples * n_units,)
    record_v : as :func:`spiking_lca`'s (validated), or None
    rng, p, record_spikes, record_dt, progress
        As :func:`_simulate`'s (``record_dt`` in s, not None).
    """
    n, k = drive.shape
    traced = _check_record_v(record_v, n, k)
    # the units to record as given (atoms or pairs), not per sample: a padded batch
    # records the same ones
    record = None if traced is None else np.asarray(record_v, dtype=np.int64)
    key = _brian.kept_batch_key(_brian.standalone_key(
        p["target"], "spiking LCA", n, weights if _has_synapses(weights) else None,
        random=p["noise"] > 0, n_units=k, record_v=record, record_spikes=record_spikes,
        record_dt=None if record is None else record_dt,  # no monitor samples without one
        **_compiled_settings(p)))
    n_run = n if key is None else key.n_samples
    with _brian.simulation_device(p["target"], reuse_key=key) as project:
        out = _simulate(_brian.padded_rows(drive, n_run), weights,
                        _brian.padded_rows(v0.reshape(n, k), n_run).ravel(),
                        _check_record_v(record_v, n_run, k), rng, p, record_spikes,
                        record_dt, progress, project)
    return _drop_padding(out, n, n_run, None if traced is None else len(traced[0]))


def _drop_padding(out, n, n_run, n_traced):
    """:func:`_simulate`'s ``out`` of a batch padded to ``n_run`` samples, for its first
    ``n`` (the real ones, whose recorded units are the first ``n_traced``); a spike of
    the padding (counted or recorded), which cannot happen, raises RuntimeError."""
    if n_run == n:
        return out
    # the padding is silent: drive and potential 0 and lam >= 0 hold v at or below 0, and
    # only its own sample's spikes reach it (block-diagonal synapses); its spikes were
    # filtered out by sample, which never dropped one
    recorded = int(np.count_nonzero(out["spike_sample"] >= n)) if "spike_sample" in out else 0
    out["counts"] = _brian.check_silent_padding(out["counts"], n, recorded=recorded)
    out["n_synapses"] = out["n_synapses"] // n_run * n  # the same synapses per sample
    if "v" in out:
        # sample-major: the real samples' units come first
        out["v"], out["I_inh"] = out["v"][:, :n_traced], out["I_inh"][:, :n_traced]
    return out


def equations(refractory: float, noise: float) -> str:
    """The unit's Brian2 equations for these options."""
    return EQUATIONS.format(
        noise="+ sigma * xi * tau_m**-0.5 " if noise > 0 else "",
        unless_refractory="(unless refractory)" if refractory > 0 else "",
    )


def _simulate(drive, weights, v0, units, rng, p, record_spikes, record_dt, progress,
              project=None):
    """Build and run one Brian2 network for the whole batch; plain arrays out.

    ``project``: :func:`_brian.simulation_device`'s kept ``cpp_standalone`` project (None
    otherwise): run again with the new drive and initial potentials when it holds the
    objects of an earlier call, else given this call's."""
    # the bar from the start: Brian2 builds (and compiles) before the run's first report
    bar = _brian.simulated_time_bar(progress, p["duration"], "spiking LCA")
    with bar, _brian.build_notice(bar, p["target"], rerun=bool(project)) as started:
        if project:
            # nothing is built: a Clock made here joined the kept device's arrays and was
            # freed before the next call's run read them
            return _run_again(project, drive, v0)
        b2 = _brian.import_brian2()
        n, k = drive.shape
        second = b2.second
        cls = _brian.codeobj_class(p["target"])
        # fixed names, not "name*": the previous call's objects, alive until the garbage
        # collector frees them, renamed these ("units_1"), and Brian2 names the generated
        # code after its objects: the second Cython call compiled again (43 s, not 1 s)
        clock = b2.Clock(dt=p["dt"] * second, name="spiking_lca_clock")
        namespace = {
            "lam": p["lam"],
            "tau_m": p["tau_m"] * second,
            "tau_syn": p["tau_syn"] * second,
            "sigma": p["noise"],
            "count_step": _window_steps(p)[0],
        }
        report = _brian.bar_report(bar, started, p["target"])
        with _brian.explain_compile_failure(p["target"]):
            return _build_and_run(b2, n, k, cls, clock, namespace, drive, weights, v0, units,
                                  rng, p, record_spikes, record_dt, report, project)


def _run_again(project, drive, v0):
    """Run the kept ``cpp_standalone`` project of an earlier call of the same model with
    the drive and initial potentials of this one; plain arrays out."""
    neurons = project["objects"]["neurons"]
    run_time = _brian.run_kept_project(project, {neurons.b: drive.ravel(), neurons.v: v0})
    return _copy_out(project["objects"], project["n_synapses"], 0.0, run_time, -1)


def _build_and_run(b2, n, k, cls, clock, namespace, drive, weights, v0, units, rng, p,
                   record_spikes, record_dt, report, project=None):
    """The body of :func:`_simulate` while its bar says what Brian2 does; the objects go
    into ``project`` (a kept ``cpp_standalone`` project) for the next call."""
    second = b2.second
    t0 = time.perf_counter()
    neurons = b2.NeuronGroup(
        n * k,
        equations(p["refractory"], p["noise"]),
        threshold=THRESHOLD,
        reset=RESET,
        # Brian2 clamps v for the steps after a spike's own step until `refractory` has
        # passed since the start of that step, i.e. for refractory / dt - 1 steps: the
        # step that crossed threshold already counts as dead time. One more step makes
        # the dead time `refractory`, so that rates are 1 / (refractory + tau_m / code)
        refractory=(p["refractory"] + p["dt"]) * second if p["refractory"] > 0 else False,
        method="euler",
        namespace=namespace,
        clock=clock,
        codeobj_class=cls,
        name="units",
    )
    neurons.b = drive.ravel()
    neurons.v = v0
    objects = [neurons]
    n_synapses = 0
    if _has_synapses(weights):
        pre, post, w = _brian.block_diagonal_pairs(weights, n)
        synapses = b2.Synapses(neurons, neurons, "w : 1 (constant)", on_pre=ON_PRE,
                               namespace=namespace, clock=clock, codeobj_class=cls,
                               name="inhibition")
        synapses.connect(i=pre, j=post)
        synapses.w = w
        n_synapses = w.size
        del pre, post, w
        objects.append(synapses)
    spikes = b2.SpikeMonitor(neurons, codeobj_class=cls, name="spikes") if record_spikes else None
    objects += [spikes] if spikes is not None else []
    trace = None
    if units is not None:
        flat = units[0] * k + units[1]
        trace = b2.StateMonitor(neurons, ["v", "I_inh"], record=flat, dt=record_dt * second,
                                codeobj_class=cls, name="membrane")
        objects.append(trace)
    net = b2.Network(*objects)
    build_time = time.perf_counter() - t0

    t0 = time.perf_counter()
    with _brian.brian2_seed(rng, needed=p["noise"] > 0) as seed_value:
        # whole steps: Brian2 would round a duration a hair past a step (a float32
        # one) up to one more step than the counting window ends on
        net.run(_window_steps(p)[1] * p["dt"] * second, namespace={}, report=report,
                report_period=0.5 * second)
    run_time = time.perf_counter() - t0
    # the network holds every object alive: the device's cache of their arrays refers to
    # them weakly, and a kept project's run fails on a freed one (it did on a Clock)
    objects = {"neurons": neurons, "spikes": spikes, "trace": trace, "n": n, "k": k,
               "network": net}
    if project is not None:
        project.update(objects=objects, n_synapses=n_synapses)
    return _copy_out(objects, n_synapses, build_time, run_time,
                     -1 if seed_value is None else seed_value)


def _copy_out(objects, n_synapses, build_time, run_time, seed_value):
    """The run's results as plain arrays, copied out of its Brian2 objects (before a
    standalone device is reset)."""
    second = _brian.import_brian2().second
    neurons, spikes, trace = objects["neurons"], objects["spikes"], objects["trace"]
    n, k = objects["n"], objects["k"]
    out = {
        "counts": np.asarray(neurons.n_counted[:]).reshape(n, k).astype(np.int64),
        "n_synapses": n_synapses,
        "build_time": build_time,
        "run_time": run_time,
        "brian2_seed": seed_value,
    }
    if spikes is not None:
        index = np.asarray(spikes.i[:], dtype=np.int64)
        out["spike_time"] = np.asarray(spikes.t[:] / second, dtype=np.float64)
        out["spike_sample"], out["spike_atom"] = np.divmod(index, k)
    if trace is not None:
        out["trace_t"] = np.asarray(trace.t[:] / second, dtype=np.float64)
        out["v"] = np.asarray(trace.v[:], dtype=np.float64).T.copy()
        out["I_inh"] = np.asarray(trace.I_inh[:], dtype=np.float64).T.copy()
    return out


def _count_step(t, dt):
    """Index of the time step that starts at or after time ``t`` (s).

    A time within rounding of a step boundary is on it: Brian2's clock rounds
    to the nearest step within 1e-4 of ``dt``, and a time or ``dt`` given in
    float32 is off by up to 2**-24 of itself (``np.float32(0.3)`` is
    0.30000001, 1.2e-4 of a 0.1 ms step past step 3000), so the tolerance is
    1e-4 step plus twice that relative error; any other time rounds up.
    """
    n = t / dt
    nearest = round(n)
    if abs(n - nearest) <= 1e-4 + 2.0**-22 * abs(n):
        return int(nearest)
    return int(np.ceil(n))


def _window_steps(p):
    """First counted step and number of simulated steps of the run ``p`` (the counting
    window is ``[start * dt, stop * dt)``: the times given rounded onto the step grid)."""
    return (_count_step(p["transient_fraction"] * p["duration"], p["dt"]),
            _count_step(p["duration"], p["dt"]))


def _to_dataset(out, drive, units, p, coords):
    """The run ``out`` as the Dataset :func:`spiking_lca` returns, over ``coords`` (the
    ``sample`` and ``atom`` labels of its inputs, :func:`code_coords`)."""
    start, stop = _window_steps(p)
    window = (stop - start) * p["dt"]
    counts = out["counts"]
    n, k = counts.shape
    rate = counts / window
    ds = xr.Dataset(
        {
            "rate": (("sample", "atom"), rate),
            "code": (("sample", "atom"), rate * p["tau_m"]),
            "spike_count": (("sample", "atom"), counts),
            "drive": (("sample", "atom"), drive),
        },
        coords=coords,
    )
    ds["rate"].attrs.update(long_name="firing rate in the counting window", units="Hz")
    # the threshold is 1 unit of X, so rate * tau_m is a LASSO code: in units of X (as the
    # ODE LCA's), not "1"
    ds["code"].attrs.update(long_name="code = rate * tau_m (LASSO units)", units="units of X")
    ds["spike_count"].attrs.update(long_name="spikes in the counting window", units="1")
    ds["drive"].attrs.update(long_name="feed-forward drive D x", units="units of X")
    # the neurons' samples and atoms as labels of the coordinates (positions are those of
    # X and D as given, which ds.isel or ds.sel renumber): spikes and traces of
    # X.isel(sample=[2, 0]) were told samples 0 and 1, joined back to the wrong stimuli
    if "spike_time" in out:
        ds["spike_time"] = ("spike", out["spike_time"], {"long_name": "spike time", "units": "s"})
        ds["spike_sample"] = ("spike", _labels(ds, "sample", out["spike_sample"]), {
            "units": "1", "long_name": "sample (label) of the neuron that spiked"})
        ds["spike_atom"] = ("spike", _labels(ds, "atom", out["spike_atom"]), {
            "units": "1", "long_name": "atom (label) of the neuron that spiked"})
    if units is not None:
        ds = ds.assign_coords(
            time=("time", out["trace_t"], {"units": "s", "long_name": "simulated time"}),
            unit_sample=("unit", _labels(ds, "sample", units[0]), {
                "units": "1", "long_name": "sample (label) of the recorded neuron"}),
            unit_atom=("unit", _labels(ds, "atom", units[1]), {
                "units": "1", "long_name": "atom (label) of the recorded neuron"}),
        )
        ds["v"] = (("time", "unit"), out["v"],
                   {"long_name": "membrane potential (threshold 1 unit of X)",
                    "units": "units of X",
                    # -129.7 after 0.5 s looked like a bug: it is the non-leaky integrator
                    "comment": "no leak and no floor: a silent unit integrates its negative "
                               "net drive b - lam - I_inh down without bound"})
        ds["I_inh"] = (("time", "unit"), out["I_inh"],
                       {"long_name": "inhibitory synaptic current (drives v as b - lam does)",
                        "units": "units of X"})
    ds.attrs.update(p)
    ds.attrs.update(
        model="spiking LCA (Tang, Lin & Davies 2017)",
        code_units="code = rate [Hz] * tau_m [s]",
        # the window the spikes were counted in, on the step grid: [0.004, 0.011] s for
        # duration=0.0105, dt=1e-3 (not [0.3 * duration, duration])
        counting_window=[start * p["dt"], stop * p["dt"]],
        n_neurons=n * k,
        n_synapses=int(out["n_synapses"]),
        build_time=out["build_time"],
        run_time=out["run_time"],
        brian2_seed=int(out["brian2_seed"]),
        brian2_version=_brian.import_brian2().__version__,
    )
    return ds


def _labels(ds, dim, positions):
    """The labels of ``ds``'s ``dim`` coordinate at ``positions`` (0-based)."""
    return ds[dim].values[np.asarray(positions, dtype=np.int64)]


def windowed_rates(ds: xr.Dataset, t_stop, transient_fraction: float | None = None) -> xr.DataArray:
    """Rates a recorded run would have reported had it stopped earlier.

    For each ``t`` in ``t_stop`` the spikes in
    ``[transient_fraction * t, t)`` are counted, exactly as
    :func:`spiking_lca` counts them at the end of a run of duration ``t``
    (the dynamics do not depend on the duration): both times rounded onto the
    step grid as the run rounds them (up to the next step, or to the nearest
    one when within float rounding of it, so a float32 ``t`` counts the steps
    its float64 value does).

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`spiking_lca` with ``record_spikes=True``.
    t_stop : float or array_like of float
        Stopping time(s) in seconds, each in (0, duration].
    transient_fraction : float, optional
        Default: the one of the run.

    Returns
    -------
    xarray.DataArray, dims (t_stop, sample, atom), in code units (rate * tau_m)
        Dims (sample, atom) for one ``t_stop`` given as a number (with a
        scalar ``t_stop`` coordinate). Coordinates ``window_start`` and
        ``window_end`` (over ``t_stop``, s) give the window counted, on the
        step grid: ``[window_start, window_end)``.

    Raises
    ------
    ValueError
        For a ``ds`` without the whole run's spikes, a ``t_stop`` outside
        (0, duration] or leaving no step in its counting window, or more
        stopping times than their codes (``len(t_stop) * n_samples *
        n_atoms`` float64) fit in memory, before any is counted.
    """
    if "spike_time" not in ds:
        raise ValueError("ds has no spikes: run spiking_lca(..., record_spikes=True)")
    if "spike_atom" not in ds or "atom" not in ds.sizes:
        raise ValueError("ds is not the output of spiking_lca (no spike_atom / atom): "
                         "windowed_rates counts the spikes of a dense spiking LCA; for "
                         "spiking_convolutional_lca, run it once per duration")
    one = np.ndim(t_stop) == 0
    t_stop = check_array(np.atleast_1d(t_stop) if one else t_stop, "t_stop", ndim=1)
    duration = float(ds.attrs["duration"])
    # float32 times round by ~6e-8 of themselves: t_stop = duration given in float32
    if np.any(t_stop <= 0) or np.any(t_stop > duration * (1 + 1e-6)):
        raise ValueError(f"t_stop must be in (0, {duration}] s, got {t_stop.tolist()}")
    frac = float(ds.attrs["transient_fraction"]) if transient_fraction is None else \
        check_probability(transient_fraction, "transient_fraction", open_interval=False)
    if frac == 1:
        raise ValueError("transient_fraction must be < 1 (nothing would be counted), got 1")
    n, k = ds.sizes["sample"], ds.sizes["atom"]
    # the codes of every stopping time (float64): 100,000 stopping times of 1000 x 1000
    # units failed with NumPy's "Unable to allocate 745. GiB", naming no argument
    check_fits_in_memory((t_stop.size, n * k), np.float64, "len(t_stop)", t_stop.size,
                         f"stopping times (a float64 code per sample and atom each: {n} x {k})")
    dt = float(ds.attrs["dt"])
    empty = [float(t) for t in t_stop if _count_step(t, dt) <= _count_step(frac * t, dt)]
    if empty:
        raise ValueError(f"t_stop={empty} s leave no step of dt={dt} s in the counting window "
                         f"[{frac:g} t_stop, t_stop]; use longer times")
    # Brian2 spike times are multiples of dt: count on the step grid, as the run does
    steps = np.rint(ds["spike_time"].values / dt).astype(np.int64)
    # spike_sample / spike_atom are labels of the sample / atom coordinates: a ds
    # subset with isel(sample=...) keeps the spikes of the samples it left out
    row = label_positions(ds["spike_sample"], ds["sample"])
    col = label_positions(ds["spike_atom"], ds["atom"])
    kept = (row >= 0) & (col >= 0)
    steps = steps[kept]
    flat = row[kept] * k + col[kept]
    order = np.argsort(steps, kind="stable")
    steps, flat = steps[order], flat[order]
    if "spike_count" in ds:
        # the spikes must be the whole run's: a record of some samples only (the
        # spiking-lca study keeps n_raster of them) would give codes of 0 to the rest
        run_frac = float(ds.attrs["transient_fraction"])
        lo = np.searchsorted(steps, _count_step(run_frac * duration, dt))
        hi = np.searchsorted(steps, _count_step(duration, dt))
        recounted = np.bincount(flat[lo:hi], minlength=n * k).reshape(n, k)
        if not np.array_equal(recounted, np.asarray(ds["spike_count"].values).reshape(n, k)):
            missing = int(np.count_nonzero(np.asarray(ds["spike_count"].values).sum(axis=-1)
                                           != recounted.sum(axis=1)))
            raise ValueError(
                f"ds holds only part of the run's spikes: they do not reproduce its spike_count "
                f"({missing} of {n} samples differ; e.g. a spiking-lca study file keeps the "
                f"spikes of its first n_raster samples only); windowed_rates needs every spike "
                f"of the run: rerun spiking_lca(..., record_spikes=True)")
    out = np.empty((t_stop.size, n, k))
    bounds = np.empty((t_stop.size, 2), dtype=np.int64)  # first counted step, end step
    for m, t in enumerate(t_stop):
        bounds[m] = _count_step(frac * t, dt), _count_step(t, dt)
        lo, hi = np.searchsorted(steps, bounds[m])
        out[m] = np.bincount(flat[lo:hi], minlength=n * k).reshape(n, k) / (
            (bounds[m, 1] - bounds[m, 0]) * dt)
    out *= float(ds.attrs["tau_m"])
    rates = xr.DataArray(
        out,
        dims=("t_stop", "sample", "atom"),
        coords={"t_stop": ("t_stop", t_stop, {"units": "s", "long_name":
                                              "end of the counting window (simulated time)"}),
                # the window counted, on the step grid (the counting_window of a run of
                # duration t_stop)
                "window_start": ("t_stop", bounds[:, 0] * dt, {
                    "units": "s", "long_name": "first counted step's start"}),
                "window_end": ("t_stop", bounds[:, 1] * dt, {
                    "units": "s", "long_name": "end of the last counted step"}),
                "sample": ds["sample"], "atom": ds["atom"]},
        # the window [transient_fraction * t_stop, t_stop] and the tau_m of the rescaling
        attrs={"long_name": "windowed rate * tau_m", "units": "units of X",
               "transient_fraction": frac, "tau_m": float(ds.attrs["tau_m"])},
        name="code",
    )
    return rates.isel(t_stop=0) if one else rates
