"""SAILnet: Sparse And Independent Local network (Zylberberg, Murphy & DeWeese 2011).

Leaky integrate-and-fire units with feed-forward weights ``Q`` (one receptive
field per row, like a dictionary), inhibitory lateral weights ``W`` (``W >= 0``,
zero diagonal) and thresholds ``theta``. Inference on a stimulus ``x`` runs
``n_steps`` Euler steps of size ``eta`` (in units of the membrane time
constant)::

    u <- (1 - eta) u + eta (Q x - W y_prev)     y_prev: spikes of the previous step
    y  = u >= theta;  u[y] = 0;  count += y

and the spike counts ``n`` (spikes per neuron per image) are the output. Every
batch then updates the three sets of weights with local rules:

    dW     = alpha (<n n^T> - p^2)      Földiák's anti-Hebbian rule; W >= 0, diag 0
    dQ_i   = beta <n_i (x - n_i Q_i)>   Oja's rule
    dtheta = gamma (<n> - p)            homeostasis: every unit fires p spikes/image

The defaults are those of the authors' MATLAB code (``init.m``,
``activities.m``, ``SAILnet.m``): 16x16 patches normalised to zero mean and
unit variance, 256 neurons, ``p = 0.05``, ``alpha = 1``, ``beta = 0.01``,
``gamma = 0.1``, initial ``theta = 2``, ``W = 0``, Gaussian unit-norm ``Q``,
batches of 100, 50 steps of 0.1 tau (5 membrane time constants), 25 000
updates, patches drawn 20 pixels away from the image borders.

Two simulators implement the inference: a vectorised NumPy kernel (the
authors' own discrete-time scheme, used for learning because a batch of 100
at full size takes 10-25 ms on 2 cores) and a Brian2 network (one
``NeuronGroup`` for the whole batch, block-diagonal ``Synapses``) scheduled
to reproduce the same discrete-time update; :func:`sailnet_inference` runs either
and the tests check they agree spike for spike.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import xarray as xr

from .._frames import user_stacklevel
from ..io import UPDATES_DONE, continue_history, count_coord, seed_attr
from ..progress import check_progress, progress_bar
from ..scaling import pow2_scale
from ..validation import (
    DATA_DIMS,
    as_generator,
    check_array,
    check_choice,
    check_dtype,
    check_fits_in_memory,
    check_int,
    check_nonnegative,
    check_positive,
    check_same_features,
    describe,
    refuse_unused_settings,
    row_coords,
)
from . import _brian

__all__ = ["learn_sailnet", "sailnet_inference", "rf_overlap", "rf_spread", "SAILNET_EQUATIONS"]

SIMULATORS = ("numpy", "brian2")
#: membrane time constant (s) of the Brian2 network when none is given: 10 ms
BRIAN2_TAU = 0.01
#: consecutive updates without a single spike after which learn_sailnet warns
SILENT_PATIENCE = 100
#: peak bytes per pair of neurons while learning: W, the pair correlations <n n^T> and the
#: temporaries of Földiák's update (float64), the off-diagonal mask (measured: 25-27)
PAIR_BYTES = 32

#: One SAILnet unit in Brian2. ``inh`` collects the previous step's lateral
#: input (a current pulse lasting one step, as in the authors' code).
SAILNET_EQUATIONS = """
dv/dt = (b - v - inh) / tau : 1
b : 1 (constant)       # feed-forward input Q x
theta : 1 (constant)   # firing threshold
inh : 1                # lateral inhibition received this step
n_spikes : 1
"""


# ------------------------------------------------------------------ inference
def sailnet_inference(
    X,
    Q,
    W,
    theta,
    *,
    n_steps: int = 50,
    eta: float = 0.1,
    simulator: str = "numpy",
    target: str | None = None,
    tau: float | None = None,
    dtype=None,
    progress: bool | None = None,
) -> np.ndarray:
    """Spike counts of SAILnet's leaky integrate-and-fire units for a batch of stimuli.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Stimuli (SAILnet expects patches with zero mean and unit variance).
    Q : array_like, shape (n_neurons, n_features) or (n_neurons, height, width)
        Feed-forward weights, one receptive field per row, or :func:`learn_sailnet`'s
        ``ds["Q"]`` (neuron, y, x) as it is (each field flattened row-major; a
        DataArray is read by dim name).
    W : array_like, shape (n_neurons, n_neurons)
        Lateral inhibition, ``W[i, j] >= 0``: effect of a spike of ``j`` on ``i``
        (a DataArray with dims ``neuron`` and ``neuron_pre``, as ``ds["W"]``, is read
        by dim name).
    theta : array_like, shape (n_neurons,)
        Firing thresholds (units of ``Q x``).
    n_steps : int
        Euler steps (default 50).
    eta : float in (0, 1]
        Step size in membrane time constants (default 0.1).
    simulator : {"numpy", "brian2"}
        Vectorised NumPy kernel (default) or a Brian2 network. The Brian2
        network holds ``n_samples * nnz(W)`` synapses, about 65 bytes each at
        its peak while it is built (2000 samples with a dense 256 x 256 ``W``:
        ~8.5 GB); a batch that would not fit in memory is refused before.
    target : {"numpy", "cython", "cpp_standalone"}, optional
        Brian2 code-generation target (``simulator="brian2"`` only: given with
        ``simulator="numpy"`` it is refused, as the NumPy kernel would ignore it);
        default ``"numpy"``, which needs no compiler. A
        ``"cpp_standalone"`` project (about a minute to compile) is kept for the next
        call of the same network (``W``, ``n_steps``, ``eta``, ``tau`` and the number
        of stimuli), which runs it with its own ``X``, ``Q`` and ``theta`` uncompiled;
        fewer stimuli (a loop's last batch) run it padded with silent ones whose counts
        are dropped.
    tau : float, optional
        Membrane time constant in seconds of the Brian2 network, whose clock steps
        ``eta * tau`` (``simulator="brian2"`` only: given with ``"numpy"`` it is
        refused, as the kernel counts in steps of ``eta`` membrane time constants with
        no time in seconds); default 10 ms. The counts do not depend on it.
    dtype : float32 or float64, optional
        Precision of the NumPy kernel: default float32. The Brian2 network computes in
        float64 (Brian2's own precision): with ``simulator="brian2"`` float64 is
        accepted and float32 refused, as the network would not run in it.
    progress : bool or None, default None
        ``simulator="brian2"`` only (refused, when given, with ``"numpy"``, whose
        kernel has no bar): a tqdm bar over the simulated time, as
        :func:`v1model.spiking.spiking_lca`'s (None once the call has run 2 s, True
        at once, False never); until the simulation starts it says that Brian2
        builds (and compiles: a first cython run, one to a few minutes) the
        network and where the compiled code is cached.

    Returns
    -------
    ndarray of int64, shape (n_samples, n_neurons), or xarray.DataArray
        Spikes per neuron per stimulus. When any of ``X``, ``Q``, ``W`` and ``theta``
        is an ``xarray.DataArray`` (e.g. :func:`learn_sailnet`'s ``ds["Q"]``), a
        DataArray over ``(sample, neuron)`` (the labels of ``X``'s samples and of
        ``Q``'s, else ``theta``'s, neurons; numbered from 0 where they have none),
        ``units`` "spikes",
        a ``long_name``, and ``n_steps``, ``eta``, ``simulator`` and ``dtype`` (the
        precision the counts were computed in) in its attrs, with ``tau`` (s) and
        ``target`` for ``simulator="brian2"``; plain arrays in give a plain array out.

    Raises
    ------
    ValueError
        For ``Q``, ``W`` and ``theta`` given as DataArrays whose neuron labels (``Q``'s
        and ``theta``'s ``neuron``, ``W``'s ``neuron`` and ``neuron_pre``) differ: they
        are paired by position, so a reordered ``theta`` would give neurons another's
        threshold. For ``target``, ``progress`` or ``tau`` given with
        ``simulator="numpy"``, which uses none of them, and for ``dtype=float32`` with
        ``"brian2"``. With
        ``simulator="brian2"``, when the network's synapses would not fit in memory
        (:func:`v1model.validation.physical_memory`); with ``"numpy"``, when the
        kernel's arrays (``n_samples x n_neurons``, six float64 copies at most) would
        not.
    RuntimeError
        When ``target="cython"`` cannot compile Brian2's code (no working C++
        compiler): the message names ``target="numpy"``, which needs none.

    Warns
    -----
    RuntimeWarning
        Before simulating, when no unit can reach its threshold in ``n_steps``
        (from 0, drive ``b = Q x`` climbs at most to ``b (1 - (1 - eta)^n_steps)``;
        every count would be 0); after, when units fired at every step (their
        counts capped at ``n_steps``), naming the neurons (index, threshold, stimuli
        capped: the first five, most capped first) and how many of them have a
        threshold at or below 0.
    """
    given = (X, Q, W, theta)
    X, Q, W, theta = _check_weights(X, Q, W, theta)
    _check_neuron_labels(given)
    labelled = _counts_labels(given, len(X), len(theta))
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    eta = _check_eta(eta)
    simulator = check_choice(simulator, "simulator", SIMULATORS)
    if simulator == "numpy":
        # both were ignored: target="cython" ran the NumPy kernel without a word
        refuse_unused_settings("numpy", [
            ("target", target, "it is the Brian2 code-generation target, and the NumPy "
                               "kernel runs no Brian2; drop target, or give "
                               "simulator='brian2'"),
            ("progress", progress, "the NumPy kernel shows no bar (only the Brian2 "
                                   "network's simulated time has one); drop progress, or "
                                   "give simulator='brian2'"),
            # tau=1 and tau=1e-6 gave the same counts, unsaid: the kernel has no seconds
            ("tau", tau, "the NumPy kernel counts in steps of eta membrane time constants "
                         "and has no time in seconds (the counts do not depend on tau); "
                         "drop tau, or give simulator='brian2'")], name="simulator")
    dtype = _check_simulator_dtype(dtype, simulator)
    target = check_choice("numpy" if target is None else target, "target", _brian.TARGETS)
    tau = check_positive(BRIAN2_TAU if tau is None else tau, "tau")
    check_progress(progress)
    counts = _spike_counts(X, Q, W, theta, n_steps, eta, simulator, target, tau, dtype,
                           progress)
    if labelled is None:
        return counts
    # a labelled call gets labelled counts (the project's results convention); a bare
    # array stays bare for numpy callers
    # the precision and, for Brian2, the clock's time constant and code target: counts
    # of float32 and float64 kernels may differ by a threshold crossing
    settings = {"dtype": dtype.name}
    if simulator == "brian2":
        settings.update(tau=tau, target=target)
    return xr.DataArray(counts, dims=("sample", "neuron"), coords=labelled,
                        attrs={"long_name": "spikes per neuron per stimulus",
                               "units": "spikes", "n_steps": n_steps, "eta": eta,
                               "simulator": simulator, **settings})


def _check_simulator_dtype(dtype, simulator):
    """``dtype`` (None: the simulator's own) checked against ``simulator``: the NumPy
    kernel runs in float32 or float64 (default float32); the Brian2 network in float64
    only, Brian2's precision (dtype=float32 ran it in float64 without a word)."""
    if dtype is None:
        return np.dtype(np.float32 if simulator == "numpy" else np.float64)
    dtype = check_dtype(dtype)
    if simulator == "brian2" and dtype != np.float64:
        raise ValueError(
            f"dtype={dtype.name} does not apply to simulator='brian2': the Brian2 network "
            f"computes in float64 (Brian2's precision) and would ignore it; drop dtype (or "
            f"give float64), or give simulator='numpy' for the float32 kernel")
    return dtype


def _counts_labels(given, n, k):
    """None when no argument of :func:`sailnet_inference` (``given``: ``X``, ``Q``,
    ``W``, ``theta`` as passed) is an ``xarray.DataArray``; else the ``sample`` and
    ``neuron`` coordinates of the ``n`` x ``k`` counts (:func:`row_coords`): ``X``'s
    sample labels, and ``Q``'s neuron labels (``theta``'s for a plain ``Q``), each
    numbered from 0 when its argument has none."""
    X, Q, _, theta = given
    if not any(isinstance(value, xr.DataArray) for value in given):
        return None
    if isinstance(Q, xr.DataArray):
        neurons = row_coords(Q, k, ("neuron", "y", "x") if Q.ndim == 3 else ("neuron",
                                                                              "feature"))
    else:
        neurons = row_coords(theta, k, ("neuron",))
    return {**row_coords(X, n), **neurons}


def _spike_counts(X, Q, W, theta, n_steps, eta, simulator, target, tau, dtype, progress):
    """The spike counts (n_samples, n_neurons), int64, of checked arguments."""
    if simulator == "numpy":
        # the drives X @ Q.T (float64), the kernel's potentials, spikes and counts and the
        # int64 counts returned: numpy's MemoryError named no argument
        check_fits_in_memory((X.shape[0], 6 * Q.shape[0]), np.float64, "n_samples",
                             X.shape[0], f"stimuli (rows of X) of the drives, potentials and "
                             f"spike counts of {Q.shape[0]} neurons")
        B = X @ Q.T
        # the kernel casts to dtype: drives, weights or thresholds beyond float32's range
        # became inf there, and every count 0, with no word (float64 counted them right)
        for name, value in (("X @ Q.T", B), ("W", W), ("theta", theta)):
            check_array(value, name, dtype=dtype)
        _warn_silent_network(B, theta, n_steps, eta)
        counts = _lif_counts(B, W, theta, n_steps, eta, dtype).astype(np.int64)
        _warn_saturated_counts(counts, n_steps, theta)
        return counts
    # one synapse per non-zero W_ij per stimulus: a large batch took all the memory
    # while Brian2 built them, with no word of why
    _brian.check_synapses_fit(X.shape[0], int(np.count_nonzero(W)), "n_samples", X.shape[0],
                              f"stimuli (rows of X) of nnz(W)={np.count_nonzero(W)} "
                              "inhibitory synapses each")
    B = X @ Q.T
    _warn_silent_network(B, theta, n_steps, eta)
    # the project holds the batch size, W, the step and the duration; the drives and the
    # thresholds are run_args
    n = B.shape[0]
    key = _brian.kept_batch_key(_brian.standalone_key(target, "SAILnet", n, W,
                                                      n_steps=n_steps, eta=eta, tau=tau))
    n_run = n if key is None else key.n_samples
    # a smaller batch than the kept project's (a loop's last) runs it padded with silent
    # stimuli (drive 0 below a threshold of 1: they never spike, and inhibit no real one)
    thresholds = _brian.padded_rows(np.tile(theta, (n, 1)), n_run, fill=1.0)
    with _brian.simulation_device(target, reuse_key=key) as project:
        counts = _brian2_counts(_brian.padded_rows(B, n_run), W, thresholds, n_steps, eta,
                                tau, target, progress, project)
    # the padding's counts are 0: cut off, and refused should one not be
    counts = _brian.check_silent_padding(counts, n, what="stimuli")
    _warn_saturated_counts(counts, n_steps, theta)
    return counts


def _warn_silent_network(B, theta, n_steps, eta):
    """Warn, before simulating, when no unit can reach its threshold in ``n_steps``: every
    count is 0 (thresholds of 100 returned all-zero counts without a word).

    Inhibition (``W >= 0``) only lowers the potentials, so the highest a unit's potential
    can climb from 0 with drive ``b = Q x`` is ``b (1 - (1 - eta)^n_steps)`` for ``b > 0``
    and ``eta b`` (its first step) otherwise.
    """
    reach = np.where(B > 0, B * -np.expm1(n_steps * np.log1p(-eta)) if eta < 1 else B,
                     eta * B)
    # a margin for the float32 kernel's rounding over the steps
    if np.all(reach + 1e-4 * np.abs(reach) < theta):
        warnings.warn(
            f"no unit can reach its threshold theta in n_steps={n_steps} steps of "
            f"eta={eta!r} (the highest potential a drive Q x gives is "
            f"{float(reach.max()):.3g}, the lowest theta {float(theta.min()):.3g}): every "
            f"count is 0; lower theta or scale X up (SAILnet expects patches of unit "
            f"variance)",
            RuntimeWarning, stacklevel=user_stacklevel())


def _warn_saturated_counts(counts, n_steps, theta):
    """Warn when units fired at every one of the ``n_steps`` steps: their counts are
    capped at ``n_steps`` whatever their drive (thresholds at or below 0 fire always).
    The neurons whose counts were capped are named, most capped first, with their
    thresholds ``theta`` and how many stimuli capped them (the count of capped
    neuron-stimulus pairs alone did not say which neurons, nor whether a threshold at or
    below 0 or a strong drive capped them)."""
    capped = counts >= n_steps
    n_sat = int(np.count_nonzero(capped))
    if not n_sat:
        return
    neurons, shown = _capped_neurons(capped, theta, "on {} of {} stimuli")
    low = int(np.count_nonzero(theta[neurons] <= 0))
    cause = (f"; {low} of them {'has a threshold' if low == 1 else 'have thresholds'} at "
             f"or below 0, which fires a neuron at every step its drive Q x reaches "
             f"theta / eta" if low else "")
    warnings.warn(
        f"{n_sat} of {counts.size} units fired at every one of the n_steps={n_steps} "
        f"steps: their counts are capped at {n_steps} whatever their drive (those of "
        f"{len(neurons)} of {counts.shape[1]} neurons: {shown}){cause}; raise theta "
        f"or scale X down", RuntimeWarning, stacklevel=user_stacklevel())


def _capped_neurons(capped, theta, how, most=5):
    """The neurons with a capped count in ``capped`` (n_stimuli, n_neurons; bool), and
    the first ``most`` of them, most often capped first, as text: ``"7 (theta -1, on 3
    of 3 stimuli), 0 (...), ..., and 3 more"``, ``how`` giving the count and the number
    of stimuli their words."""
    per_neuron = capped.sum(axis=0)
    neurons = np.flatnonzero(per_neuron)
    order = neurons[np.lexsort((neurons, -per_neuron[neurons]))]
    shown = ", ".join(f"{i} (theta {theta[i]:.3g}, {how.format(per_neuron[i], len(capped))})"
                      for i in order[:most])
    more = f", and {len(neurons) - most} more" if len(neurons) > most else ""
    return neurons, shown + more


def _check_eta(eta):
    eta = check_positive(eta, "eta")
    if eta > 1:
        raise ValueError(f"eta (step in membrane time constants) must be <= 1, got {eta!r}")
    return eta


def _check_weights(X, Q, W, theta):
    X = check_array(X, "X", ndim=(1, 2), dims=DATA_DIMS)
    X = X[None] if X.ndim == 1 else X
    # learn_sailnet's fields Q (neuron, y, x), flattened row-major as its rows are: a 3-D Q
    # was refused as "Q must have 2 dimension(s)"; a DataArray is read by dim name
    Q = check_array(Q, "Q", ndim=(2, 3), dims=("neuron", "y", "x"))
    Q = Q.reshape(Q.shape[0], -1)
    # Q is laid out as a dictionary (one neuron's weights per row): the same check, with
    # its "looks transposed, pass Q.T" hint
    check_same_features(X, Q, "X", "Q")
    k = Q.shape[0]
    # W[i, j] acts on i from j: a DataArray (neuron_pre, neuron) is read by dim name
    W = check_array(W, "W", ndim=2, dims=("neuron", "neuron_pre"))
    if W.shape != (k, k):
        raise ValueError(f"W must have shape {(k, k)} to match Q {Q.shape}, got {W.shape}")
    if np.any(W < 0):
        raise ValueError(
            f"W must be non-negative (lateral connections inhibit), got minimum {W.min():.3g}"
        )
    if np.any(np.diag(W) != 0):
        raise ValueError(f"W must have a zero diagonal (a neuron does not inhibit itself), got "
                         f"largest diagonal entry {np.abs(np.diag(W)).max():.3g}")
    theta = check_array(theta, "theta", ndim=1)
    if theta.shape != (k,):
        raise ValueError(f"theta must have shape ({k},) to match Q {Q.shape}, got {theta.shape}")
    return X, Q, W, theta


def _neuron_labels(given):
    """The neuron labels of the labelled weights among ``given`` (:func:`sailnet_inference`'s
    ``X``, ``Q``, ``W``, ``theta`` as passed): ``(argument, labels)`` for ``Q``'s and
    ``theta``'s ``neuron`` coordinate and ``W``'s ``neuron`` and ``neuron_pre``, where a
    DataArray has one."""
    _, Q, W, theta = given
    found = []
    for name, value, dims in (("Q", Q, ("neuron",)), ("W", W, ("neuron", "neuron_pre")),
                              ("theta", theta, ("neuron",))):
        if not isinstance(value, xr.DataArray):
            continue
        for dim in dims:
            coord = value.coords.get(dim)
            if coord is not None and coord.dims == (dim,):
                label = name if dim == "neuron" else f"{name}'s {dim}"
                found.append((label, np.asarray(coord.values)))
    return found


def _check_neuron_labels(given) -> None:
    """Refuse weights whose neuron labels disagree: ``Q``, ``W`` and ``theta`` are paired
    by position, so ``theta.sortby(theta)`` (or ``W`` of another subset of neurons) gave
    each field another neuron's threshold and returned counts labelled by ``Q``'s neurons,
    with no word."""
    found = _neuron_labels(given)
    if not found:
        return
    first, labels = found[0]
    for name, other in found[1:]:
        # one label per neuron each (the shapes were checked): compared one by one, as
        # labels of different kinds (text and numbers) compare too; a NaN label is the same
        # as a NaN (a float coordinate's unlabelled neurons were refused as "nan against nan")
        differ = np.array([a != b and not (a != a and b != b)
                           for a, b in zip(other.tolist(), labels.tolist())])
        if not differ.any():
            continue
        i = int(np.flatnonzero(differ)[0])
        raise ValueError(
            f"the neuron labels of {name} differ from those of {first}: at position {i}, "
            f"{describe(other[i])} against {describe(labels[i])} ({int(differ.sum())} of "
            f"{differ.size} differ); Q, W and theta are paired by position, so neurons "
            f"would get another's threshold or inhibition: give them in one order, e.g. "
            f"theta.sel(neuron=Q['neuron']) and W.sel(neuron=Q['neuron'], "
            f"neuron_pre=Q['neuron'].values)")


def _lif_counts(B, W, theta, n_steps, eta, dtype):
    """The authors' discrete-time LIF, batched: spike counts (n_samples, n_neurons).

    A unit spikes when ``u >= theta`` and every unit that spiked is reset to 0.
    The authors' ``activities.m`` resets only units strictly above threshold
    (``Ys > T``): a unit landing exactly on ``theta`` spikes there and keeps
    its potential. That case has measure zero for real-valued drives; it is
    left out so that the Brian2 network, which resets every unit that spikes,
    agrees with this kernel spike for spike.
    """
    B = B.astype(dtype, copy=False)
    WT = np.ascontiguousarray(W.T, dtype=dtype)
    theta = theta.astype(dtype, copy=False)
    has_w = bool(np.any(WT))
    U = np.zeros_like(B)
    S = np.zeros_like(B)
    Y = np.zeros_like(B)
    decay, gain = dtype.type(1 - eta), dtype.type(eta)
    for _ in range(n_steps):
        drive = B - S @ WT if has_w else B  # inhibition from the previous step's spikes
        U *= decay
        U += gain * drive
        fired = U >= theta
        U[fired] = 0
        S = fired.astype(dtype)
        Y += S
    return Y


def _brian2_counts(B, W, theta, n_steps, eta, tau, target, progress=False, project=None):
    """The same discrete-time network in Brian2: one NeuronGroup for the batch.

    Scheduling reproduces the NumPy kernel exactly: the synapses deliver the
    previous step's spikes *before* the Euler update (``before_groups``),
    ``inh`` is cleared right after it, then threshold and reset. ``theta`` holds the
    thresholds of every stimulus's neurons, shape (n_samples, n_neurons), as ``B``.
    ``project``: :func:`_brian.simulation_device`'s kept ``cpp_standalone`` project
    (None otherwise), run again with the new drives and thresholds when an earlier call
    compiled it, else given this call's objects.
    """
    # the bar from the start: Brian2 builds (and, for cython, compiles: minutes on a first
    # run) before the run's first report
    bar = _brian.simulated_time_bar(progress, n_steps * eta * tau, "SAILnet inference")
    with bar, _brian.build_notice(bar, target, rerun=bool(project)) as started, \
            _brian.explain_compile_failure(target):
        if project:
            neurons = project["neurons"]
            _brian.run_kept_project(project, {neurons.b: B.ravel(),
                                              neurons.theta: theta.ravel()})
            return _counts(neurons, B.shape)
        return _build_and_run(B, W, theta, n_steps, eta, tau, target,
                              _brian.bar_report(bar, started, target), project)


def _counts(neurons, shape):
    """The spike counts (n_samples, n_neurons) of a run, copied out of its units."""
    return np.asarray(neurons.n_spikes[:]).reshape(shape).round().astype(np.int64)


def _build_and_run(B, W, theta, n_steps, eta, tau, target, report, project=None):
    """The body of :func:`_brian2_counts` while its bar says what Brian2 does; the
    objects go into ``project`` (a kept ``cpp_standalone`` project) for the next call."""
    b2 = _brian.import_brian2()
    n, k = B.shape
    second = b2.second
    cls = _brian.codeobj_class(target)
    # fixed names, not "name*": the previous call's objects, alive until the garbage
    # collector frees them, renamed these ("units_1"), and Brian2 names the generated
    # code after its objects: the second Cython call compiled again (43 s, not 1 s)
    clock = b2.Clock(dt=eta * tau * second, name="sailnet_clock")
    namespace = {"tau": tau * second}
    neurons = b2.NeuronGroup(n * k, SAILNET_EQUATIONS, threshold="v >= theta",
                             reset="v = 0\nn_spikes += 1", method="euler",
                             namespace=namespace, clock=clock, codeobj_class=cls,
                             name="sailnet_units")
    neurons.b = B.ravel()
    neurons.theta = theta.ravel()
    clear = neurons.run_regularly("inh = 0", when="after_groups", codeobj_class=cls,
                                  name="sailnet_clear")
    objects = [neurons, clear]
    if np.any(W):
        pre, post, w = _brian.block_diagonal_pairs(W, n)
        synapses = b2.Synapses(neurons, neurons, "w : 1 (constant)", on_pre="inh_post += w",
                               namespace=namespace, clock=clock, codeobj_class=cls,
                               name="sailnet_inhibition")
        synapses.connect(i=pre, j=post)
        synapses.w = w
        synapses.pre.when = "before_groups"
        objects.append(synapses)
    net = b2.Network(*objects)
    net.run(n_steps * eta * tau * second, namespace={}, report=report,
            report_period=0.5 * second)
    if project is not None:
        # the network holds every object alive: the device's cache of their arrays refers
        # to them weakly, and a kept project's run fails on a freed one
        project.update(neurons=neurons, network=net)
    return _counts(neurons, (n, k))


# ------------------------------------------------------------------- learning
def learning_parameters(n_neurons, p, alpha, beta, gamma, theta0, batch_size, n_steps,
                        n_neurons_origin=""):
    """Validate the network and learning-rule parameters of :func:`learn_sailnet`
    (also checked by studies before any work); returns them in that order,
    ``theta0`` as an array. ``n_neurons_origin``: where a caller's ``n_neurons`` came
    from when its user did not give it (e.g. ``"; n_neurons is the default
    patch_size**2 for patch_size=300"``), said at the end of the messages about it."""
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    _check_pairs_fit(n_neurons, n_neurons_origin)
    p = check_positive(p, "p")
    alpha = check_nonnegative(alpha, "alpha")
    beta = check_nonnegative(beta, "beta")
    gamma = check_nonnegative(gamma, "gamma")
    given, theta0 = theta0, check_array(theta0, "theta0", ndim=(0, 1))
    if np.asarray(given).dtype == bool:  # check_array took True for a threshold of 1
        raise TypeError(f"theta0 must be a number or an array of numbers, got {describe(given)}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    if p > n_steps:
        # homeostasis would lower the thresholds without end and Oja's rule overflow
        raise ValueError(f"p={p!r} spikes per image is more than a unit can fire in "
                         f"n_steps={n_steps} steps (one spike per step at most); lower p")
    if theta0.ndim == 1 and theta0.shape != (n_neurons,):
        raise ValueError(f"theta0 must be a number or have shape ({n_neurons},) (one threshold "
                         f"per neuron), got shape {theta0.shape}")
    return n_neurons, p, alpha, beta, gamma, theta0, batch_size, n_steps


def _check_pairs_fit(n_neurons, origin="") -> None:
    """Refuse ``n_neurons`` whose pair arrays (``W``, ``<n n^T>``: ``n_neurons**2``
    entries, :data:`PAIR_BYTES` each at the learner's peak) would not fit in memory:
    NumPy's "Unable to allocate 298. GiB" for 200,000 neurons named no argument, and
    an allocation that went through was ended by the out-of-memory killer. ``origin``,
    said at the end: where ``n_neurons`` came from, when its user did not give it (the
    zylberberg-2011-sailnet study's ``patch_size=300`` was refused as
    "n_neurons=90000 neurons would take ...", a parameter its user never gave)."""
    from .. import validation

    nbytes = float(n_neurons) ** 2 * PAIR_BYTES
    memory = validation.memory_exceeded(nbytes)
    if memory is not None:
        raise ValueError(
            f"n_neurons={n_neurons!r} neurons would take {nbytes:.4g} bytes "
            f"({nbytes / 2**30:.4g} GiB) for the lateral weights W and the pair statistics "
            f"(n_neurons**2 pairs, ~{PAIR_BYTES} bytes each while learning), more than the "
            f"{memory / 2**30:.4g} GiB of memory this process may use (at most "
            f"{int(np.sqrt(memory / PAIR_BYTES))} neurons would fit){origin}")


def learn_sailnet(
    data,
    n_neurons: int = 256,
    *,
    patch_size: int = 16,
    p: float = 0.05,
    alpha: float = 1.0,
    beta: float = 0.01,
    gamma: float = 0.1,
    theta0=None,
    batch_size: int = 100,
    n_updates: int = 25000,
    n_steps: int = 50,
    eta: float = 0.1,
    eta_average: float = 0.3,
    border: int = 20,
    Q0=None,
    W0=None,
    rate0=None,
    previous: xr.Dataset | None = None,
    seed=None,
    record_every: int = 1,
    progress: bool | None = True,
    dtype=np.float32,
) -> xr.Dataset:
    """Learn SAILnet's feed-forward weights, lateral inhibition and thresholds.

    Parameters
    ----------
    data : array_like
        Either images, shape (n_images, height, width): every batch draws
        ``batch_size`` fresh ``patch_size`` x ``patch_size`` patches at random,
        ``border`` pixels from the edges, each normalised to zero mean and unit
        variance (as the authors do); or a pool of patches, shape
        (n_patches, n_features), used as given, from which every batch draws
        ``batch_size`` rows with replacement. A DataArray is read by dim name
        (``image`` or ``sample``, ``y``, ``x``; ``sample``, ``feature``) as
        :func:`stimuli.sample_patches` reads it; a colour picture (height, width,
        3 or 4) or stack of them is refused (convert it to gray), and a stack
        whose last axis looks like the pictures' (``scipy.io.loadmat``'s
        ``IMAGES.mat``, (512, 512, 10)) is warned of.
    n_neurons : int
        Number of units (default 256); refused when the ``n_neurons**2`` pairs
        (``W`` and the pair statistics, ~32 bytes each while learning) would
        not fit in memory.
    patch_size : int
        Patch side in pixels when ``data`` are images (default 16).
    p : float
        Target firing rate in spikes per neuron per image (default 0.05). The
        homeostasis moves the thresholds by ``gamma * (<n> - p)`` per update, so a
        lower ``p`` is reached more slowly, and at higher thresholds: measured
        2026-12-08 (64 units, 8x8 whitened patches of the embedded images, seed 0,
        the batch rate over 500 updates), the rate was within 10% of ``p`` from
        update ~1,500 at ``p = 0.05`` (theta 2 -> 5.3) but only from ~7,000 at
        ``p = 0.02`` (2.2x ``p`` at updates 1,000-1,500; theta 2 -> 10.9). Check
        ``mean_rate`` against ``p`` in the history.
    alpha, beta, gamma : float
        Learning rates of ``W`` (Földiák), ``Q`` (Oja) and ``theta``
        (homeostasis); defaults 1, 0.01, 0.1, the authors' (their MATLAB code's).
    theta0 : float or array_like, shape (n_neurons,), optional
        Initial threshold(s) (default 2); ``previous``'s ``theta`` when
        ``previous`` is given (to continue a run with lower thresholds, pass
        its state with a lower ``theta0`` instead, see ``W0``). One between 0
        and 1 caps few or no counts, so it is not warned of, but it fires the
        units far above ``p`` until homeostasis raises it: on whitened natural
        8x8 patches (64 units; measured 2026-12-07) ``theta0=0.5`` gave 2.4
        spikes per unit per patch at the first update (2: 0.045) and a mean
        lateral weight of 5.7 (2: 0.002), still 6.2 after 300 updates (2: 1.4),
        as Földiák's rule lowers ``W`` by at most ``alpha * p**2`` per update.
    batch_size : int
        Images per update (default 100); refused when a batch's patches and
        its neurons' arrays would not fit in memory.
    n_updates : int
        Number of batches (default 25 000, the authors' ``num_trials``).
    n_steps, eta : int, float
        Inference: ``n_steps`` Euler steps of ``eta`` membrane time constants
        (defaults 50 and 0.1: five time constants).
    eta_average : float in (0, 1]
        Rate of the moving average of each unit's firing rate reported as
        ``rate`` (default 0.3, the authors' ``eta_ave``).
    border : int
        Pixels left out at image edges (default 20, the authors' ``BUFF``).
    Q0 : array_like, shape (n_neurons, n_features) or (n_neurons, h, w), optional
        Initial feed-forward weights, one field per row or a result's ``Q``
        (neuron, y, x) as it is; default Gaussian rows of unit norm.
    W0 : array_like, shape (n_neurons, n_neurons), optional
        Initial lateral inhibition, ``W0[i, j]`` the effect of a spike of
        ``j`` on ``i``: finite, non-negative, with a zero diagonal (the
        constraints every update keeps); default 0, the authors'. To resume
        a run ``ds``, pass it as ``previous`` (or its state as
        ``Q0=ds["Q"].values.reshape(n_neurons, -1)``, ``W0=ds["W"].values``,
        ``theta0=ds["theta"].values`` and ``rate0=ds["rate"].values``, which
        restarts the history's counting).
    rate0 : float or array_like, shape (n_neurons,), optional
        Initial value of the moving-average firing rate ``rate``, in spikes
        per image: finite and non-negative; default ``p``. Give the ``rate``
        of a run to resume it (see ``W0``).
    previous : xarray.Dataset, optional
        A ``learn_sailnet`` result to continue (then ``Q0``, ``W0``,
        ``theta0`` and ``rate0`` must not be given): learning starts from its
        ``Q``, ``W``, ``theta`` and ``rate``, and its history is continued as
        :meth:`v1model.SparseCodingNetwork.learn` continues its own, the
        ``update`` count carrying on and ``record_every`` counting all the
        updates. Passed the ``numpy.random.Generator`` the first call drew
        from as ``seed``, N updates then M give the Dataset of N + M updates
        in one call (but ``wall_time`` and ``updates_per_call``).
    seed : None, int or numpy.random.Generator
    record_every : int
        Record the history every this many updates (default 1), counted over
        all the calls of a continued run (see ``previous``): the history holds
        updates ``record_every``, ``2 record_every``, ... of the whole run, and
        a call must record at least one (continuing 2 updates, ``n_updates=1,
        record_every=3`` records update 3). A call continued with another
        ``record_every`` records the multiples of its own among its updates:
        5 updates at 2 then 4 at 3 record updates 2, 4, 6 and 9, the spacing
        changing where ``record_every_per_call`` does.
    progress : bool or None, default True
        Show a tqdm bar over the updates (None: once the call has run 2 s,
        :mod:`v1model.progress`), counted as the history's ``update`` is:
        continuing ``previous`` of N updates, from N to N + ``n_updates``, as
        are the updates named in warnings and errors.
    dtype : float32 or float64, default float32
        Precision of the inference kernel (learning state is float64).

    Returns
    -------
    xarray.Dataset
        ``Q`` (neuron, y, x), ``W`` (neuron, neuron_pre), ``theta`` (neuron; in
        units of the drive ``Q x``, "units of X", as the spiking LCA's ``v``),
        ``rate`` (neuron, moving average in spikes per image), and the
        history over ``update``: ``mean_rate``, ``rate_spread`` (std over
        neurons), ``mean_W``, ``mean_theta`` (units of X), ``mean_correlation`` (off-diagonal
        <n_i n_j>), ``q_change`` (relative change of Q). Parameters in attrs,
        with ``wall_time``, the wall-clock time of this call's learning (s).
        Continuing ``previous``, the history holds every call's updates and
        the attrs are this call's, except ``n_updates`` (the updates of all
        calls), ``init`` (how the first call started), ``updates_per_call``
        (one count per call, in order) and ``record_every_per_call`` (one
        ``record_every`` per call, in order), as
        :func:`v1model.io.continue_history` joins them.

    Warns
    -----
    RuntimeWarning
        Once per call, at the first update in which units fired at every one of the
        ``n_steps`` steps (their counts capped, as :func:`sailnet_inference` warns),
        naming those units (index, threshold, patches capped, the first five) and the
        cause of each: a threshold at or below 0 from ``theta0`` (or ``previous``) or
        lowered there by the homeostasis, or a threshold above 0 with drives ``Q x`` of
        at least ``theta / eta`` (data far above unit variance). Földiák's rule then
        raises ``W`` to up to ``alpha * n_steps**2`` (2500 at the defaults), which later
        updates lower by ``alpha * p**2`` (0.0025) each. Also after
        :data:`SILENT_PATIENCE` updates in which no unit fired.
    """
    dtype = check_dtype(dtype)
    done = 0  # updates of the calls continued
    if previous is not None:
        for name, value in (("Q0", Q0), ("W0", W0), ("theta0", theta0), ("rate0", rate0)):
            if value is not None:
                raise ValueError(f"{name} cannot be given with previous: learning continues "
                                 f"from previous's state")
        if (not isinstance(previous, xr.Dataset) or "update" not in previous.dims
                or not {"Q", "W", "theta", "rate"} <= set(previous.data_vars)):
            raise ValueError(f"previous must be a learn_sailnet Dataset (Q, W, theta, rate and "
                             f"a history over 'update'), got {describe(previous)}")
        # the attrs the continued run carries on (lost when attrs were dropped or edited)
        missing = [k for k in ("n_updates", "init", "init_W", "init_rate", "theta0")
                   if k not in previous.attrs]
        if missing:
            raise ValueError(f"previous has no {', '.join(missing)} in its attrs: pass the "
                             f"Dataset learn_sailnet returned (or load_dataset reloaded) as "
                             f"it is")
        if previous.sizes["neuron"] != n_neurons:
            raise ValueError(f"n_neurons={n_neurons!r} but previous has "
                             f"{previous.sizes['neuron']} neurons")
        done = int(previous.attrs["n_updates"])
        Q0 = previous["Q"].values.reshape(n_neurons, -1)
        W0, theta0, rate0 = previous["W"].values, previous["theta"].values, previous["rate"].values
    if theta0 is None:
        theta0 = 2.0
    n_neurons, p, alpha, beta, gamma, theta0, batch_size, n_steps = learning_parameters(
        n_neurons, p, alpha, beta, gamma, theta0, batch_size, n_steps)
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    eta = _check_eta(eta)
    eta_average = check_positive(eta_average, "eta_average")
    if eta_average > 1:
        raise ValueError(f"eta_average must be <= 1, got {eta_average!r}")
    record_every = check_int(record_every, "record_every", minimum=1)
    # recorded after every record_every-th update of the whole run, so that N updates then
    # M record those that N + M in one call do
    n_rec = (done + n_updates) // record_every - done // record_every
    if n_rec == 0:  # the history would come back empty without a word
        if done:
            raise ValueError(
                f"record_every={record_every} records no update of updates {done + 1} to "
                f"{done + n_updates} (previous made {done}; the history is recorded after "
                f"updates {record_every}, {2 * record_every}, ... counted over all calls): "
                f"give n_updates >= {(done // record_every + 1) * record_every - done}")
        raise ValueError(f"record_every={record_every} is more than n_updates={n_updates}: "
                         "no update would be recorded")
    # 6 statistics per recorded update: numpy's MemoryError named no argument
    check_fits_in_memory((n_rec, 6), np.float64, "n_updates", n_updates,
                         f"updates recorded every {record_every} as history rows (float64)")
    check_progress(progress)
    # recorded before anything draws: a Generator's state is then the run's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    draw, patch_shape = _batch_source(data, patch_size, border, batch_size, rng)
    n_features = patch_shape[0] * patch_shape[1]
    # a batch's patches and its neurons' drives, potentials and counts (float64 bounds the
    # kernel's float32 copies): numpy's MemoryError, or sample_patches's message naming its
    # own n, did not say batch_size
    check_fits_in_memory((batch_size, n_features + 6 * n_neurons), np.float64, "batch_size",
                         batch_size, f"patches per update ({n_features} pixels each and the "
                         f"drives, potentials and spike counts of {n_neurons} neurons)")

    if Q0 is None:
        Q = rng.standard_normal((n_neurons, n_features))
        Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    else:
        # a Dataset's fields ds["Q"] (neuron, y, x) too, as they are (a DataArray by dim
        # name): they were refused as "Q0 must have 2 dimension(s)"
        Q = check_array(Q0, "Q0", ndim=(2, 3), dims=("neuron", "y", "x"), copy=True)
        if Q.ndim == 3:
            if Q.shape != (n_neurons, *patch_shape):
                raise ValueError(
                    f"Q0 must have shape {(n_neurons, *patch_shape)} (neuron, y, x: fields of "
                    f"the {patch_shape[0]} x {patch_shape[1]} patches) or "
                    f"{(n_neurons, n_features)} (n_neurons, n_features), got {Q.shape}")
            Q = Q.reshape(n_neurons, n_features)
        if previous is not None and Q.shape != (n_neurons, n_features):
            # the user gave previous, not Q0: name what they passed
            raise ValueError(
                f"previous was learnt on patches of {Q.shape[1]} pixels "
                f"(Q of shape {previous['Q'].shape}, (neuron, y, x)) but data give "
                f"{n_features} ({patch_shape[0]} x {patch_shape[1]}): continue it on patches "
                f"of its size")
        if Q.shape != (n_neurons, n_features):
            raise ValueError(
                f"Q0 must have shape {(n_neurons, n_features)} (n_neurons, n_features), "
                f"got {Q.shape}"
            )
    W = np.zeros((n_neurons, n_neurons)) if W0 is None else _check_w0(W0, n_neurons)
    theta = np.broadcast_to(theta0, (n_neurons,)).astype(np.float64).copy()
    theta_start = theta.copy()  # theta0's or previous's: what a saturation warning blames
    rate_avg = np.full(n_neurons, p) if rate0 is None else _check_rate0(rate0, n_neurons)

    hist = {key: np.empty(n_rec) for key in
            ("mean_rate", "rate_spread", "mean_W", "mean_theta", "mean_correlation", "q_change")}
    off = ~np.eye(n_neurons, dtype=bool)
    # counted as the history's `update` is, over all the calls of a continued run: the bar
    # of a call continuing 7 updates started again at 0/3 where the history went on at 8
    bar = progress_bar(progress, total=done + n_updates, initial=done, desc="SAILnet",
                       unit="batch")
    t0 = time.perf_counter()
    silent = 0  # consecutive updates in which no unit fired
    saturated_said = False  # a batch's counts capped at n_steps, warned of once per call
    for step in range(n_updates):
        X = draw()
        # overflow is checked once per update below: numpy's own warnings would come
        # first and say less
        with np.errstate(over="ignore", invalid="ignore"):
            drive = X @ Q.T
            Y = _lif_counts(drive, W, theta, n_steps, eta, dtype).astype(np.float64)
            silent = 0 if Y.any() else silent + 1
            if silent == SILENT_PATIENCE:
                _warn_silent(done + step + 1, drive, theta, gamma, p, theta0,
                             continued=previous is not None)
            mean_y = Y.mean(axis=0)
            corr = Y.T @ Y / batch_size
            # Földiák: inhibit pairs that fire together more than chance
            W += alpha * (corr - p**2)
            np.fill_diagonal(W, 0.0)
            np.maximum(W, 0.0, out=W)
            # Oja: Hebbian growth with a decay that bounds |Q_i|
            dQ = beta * (Y.T @ X - (Y * Y).sum(axis=0)[:, None] * Q) / batch_size
            Q += dQ
            # the thresholds this batch was coded with, for the warning below
            # (p = n_steps asks for a spike at every step: nothing to warn of)
            saturated = not saturated_said and p < n_steps and Y.max() >= n_steps
            theta_coded = theta.copy() if saturated else None  # not every update
            theta += gamma * (mean_y - p)
            rate_avg = (1 - eta_average) * rate_avg + eta_average * mean_y
            # a sum per array: cheap, and non-finite as soon as one entry is
            if not np.isfinite(Q.sum() + W.sum() + theta.sum()):
                _raise_diverged(done + step + 1, Q, W, theta, Y, X, alpha, beta, gamma, p)
            if saturated:
                # theta0 <= 0 fired every unit at every step, unsaid, and left W near
                # alpha * n_steps**2 for ~n_steps**2 / p**2 updates
                saturated_said = True
                _warn_saturated_learning(done + step + 1, Y, theta_coded, theta_start, drive, X,
                                         W, n_steps, eta, alpha, gamma, p,
                                         continued=previous is not None)
            if (done + step + 1) % record_every == 0:
                r = (done + step + 1) // record_every - done // record_every - 1
                hist["mean_rate"][r] = mean_y.mean()
                hist["rate_spread"][r] = mean_y.std()
                hist["mean_W"][r] = W[off].mean() if n_neurons > 1 else 0.0
                hist["mean_theta"][r] = theta.mean()
                hist["mean_correlation"][r] = corr[off].mean() if n_neurons > 1 else 0.0
                hist["q_change"][r] = np.linalg.norm(dQ) / max(np.linalg.norm(Q), 1e-12)
        bar.update(1)
        if step % 50 == 0 and not bar.disable:
            bar.set_postfix(rate=f"{mean_y.mean():.3f}", W=f"{W.mean():.3f}")
    bar.close()
    wall = time.perf_counter() - t0

    h, w = patch_shape
    ds = xr.Dataset(
        {
            "Q": (("neuron", "y", "x"), Q.reshape(n_neurons, h, w)),
            "W": (("neuron", "neuron_pre"), W),
            "theta": ("neuron", theta),
            "rate": ("neuron", rate_avg),
        },
        coords={"neuron": np.arange(n_neurons), "neuron_pre": np.arange(n_neurons),
                "y": ("y", np.arange(h), {"units": "pixel"}),
                "x": ("x", np.arange(w), {"units": "pixel"}),
                # counts, not indices: the history after record_every, 2 record_every, ...
                "update": count_coord("update",
                                      (done // record_every + np.arange(n_rec) + 1) * record_every,
                                      UPDATES_DONE)},
    )
    ds["Q"].attrs.update(long_name="feed-forward weights (receptive fields)", units="1")
    ds["W"].attrs.update(long_name="lateral inhibition onto neuron from neuron_pre", units="1")
    # u integrates the drive Q x (Q unit-norm rows, "1"): theta is in X's units, as the
    # spiking LCA's v; "1" called it dimensionless
    ds["theta"].attrs.update(long_name="firing threshold on u (units of the drive Q x)",
                             units="units of X")
    ds["rate"].attrs.update(long_name="moving-average firing rate", units="spikes/image")
    units = {"mean_rate": "spikes/image", "rate_spread": "spikes/image", "mean_W": "1",
             "mean_theta": "units of X", "mean_correlation": "spikes^2/image^2", "q_change": "1"}
    names = {"mean_rate": "mean firing rate of the batch",
             "rate_spread": "std over neurons of the batch firing rate",
             "mean_W": "mean lateral weight", "mean_theta": "mean threshold",
             "mean_correlation": "mean off-diagonal <n_i n_j>",
             "q_change": "|dQ| / |Q|"}
    for key, values in hist.items():
        ds[key] = ("update", values, {"long_name": names[key], "units": units[key]})
    ds.attrs.update(
        model="SAILnet (Zylberberg, Murphy & DeWeese 2011)",
        n_neurons=n_neurons, patch_shape=[h, w], p=p, alpha=alpha, beta=beta, gamma=gamma,
        theta0=float(np.mean(theta0)), batch_size=batch_size, n_updates=n_updates,
        n_steps=n_steps, eta=eta, eta_average=eta_average, border=border,
        record_every=record_every, seed=seed_record, dtype=str(dtype),
        init="gaussian" if Q0 is None else "Q0",
        init_W="zero" if W0 is None else "W0",
        init_rate="p" if rate0 is None else "rate0",
        data="images" if np.ndim(data) == 3
        else "patches", wall_time=wall,
    )
    if previous is not None:
        history = [k for k in ds.data_vars if ds[k].dims == ("update",)]
        # the update labels are counts over the whole run already: kept as they are
        # how the first call started kept, as SparseCodingNetwork.learn keeps init
        joined = continue_history(previous[history], ds[history], labels="run",
                                  first_call=("init_W", "init_rate", "theta0"))
        ds = xr.merge([ds.drop_vars(history + ["update"]), joined], combine_attrs="override")
        ds.attrs = dict(joined.attrs)
    return ds


def _check_rate0(rate0, n_neurons):
    """``rate0`` as a float64 array of shape (n_neurons,): a rate per neuron, >= 0."""
    given, rate = rate0, check_array(rate0, "rate0", ndim=(0, 1))
    if np.asarray(given).dtype == bool:  # check_array took True for a rate of 1
        raise TypeError(f"rate0 must be a number or an array of numbers, got {describe(given)}")
    if rate.ndim == 1 and rate.shape != (n_neurons,):
        raise ValueError(f"rate0 must be a number or have shape ({n_neurons},) (one rate per "
                         f"neuron), got shape {rate.shape}")
    if np.any(rate < 0):
        raise ValueError(f"rate0 must be non-negative (a firing rate in spikes per image), "
                         f"got {describe(given)} with minimum {rate.min():.3g}")
    return np.broadcast_to(rate, (n_neurons,)).astype(np.float64).copy()


def _check_w0(W0, n_neurons):
    """``W0`` as a float64 copy, held to the constraints each learning update keeps."""
    W = check_array(W0, "W0", ndim=2, copy=True)
    if W.shape != (n_neurons, n_neurons):
        raise ValueError(f"W0 must have shape {(n_neurons, n_neurons)} (n_neurons, n_neurons), "
                         f"got {W.shape}")
    if np.any(W < 0):
        raise ValueError(f"W0 must be non-negative (lateral connections inhibit; learning "
                         f"keeps W >= 0), got minimum {W.min():.3g}")
    if np.any(np.diag(W) != 0):
        raise ValueError(f"W0 must have a zero diagonal (a neuron does not inhibit itself), "
                         f"got largest diagonal entry {np.abs(np.diag(W)).max():.3g}")
    return W


def _raise_diverged(update, Q, W, theta, Y, X, alpha, beta, gamma, p):
    """A non-finite weight after ``update`` (updates made, counted over all the calls as
    the history's ``update``): name the rule and its rate."""
    if not np.isfinite(Q.sum()):
        m2 = float((Y * Y).mean(axis=0).max())
        raise FloatingPointError(
            f"SAILnet diverged at update {update}: the feed-forward weights Q overflowed "
            f"(Oja's rule is stable while beta * <n^2> < 2; the largest mean squared spike count "
            f"<n^2> of this batch is {m2:.3g} and the largest |x| {np.abs(X).max():.3g}); "
            f"lower beta={beta!r}, or p={p!r}, or scale the data to unit variance")
    what, rule, rate = (("lateral weights W", "alpha", alpha) if not np.isfinite(W.sum())
                        else ("thresholds theta", "gamma", gamma))
    raise FloatingPointError(
        f"SAILnet diverged at update {update}: the {what} overflowed; lower {rule}={rate!r}")


def _warn_saturated_learning(update, Y, theta, theta_start, drive, X, W, n_steps, eta,
                             alpha, gamma, p, continued):
    """Warn that units fired at every one of the ``n_steps`` steps of update ``update``
    (counted over all the calls as the history's ``update``), as
    :func:`sailnet_inference` warns of capped counts, naming the units whose counts were
    capped, their thresholds and how many patches each, and a cause for each of them:
    Földiák's rule then adds up to ``alpha * n_steps**2`` to lateral weights that later
    updates lower by ``alpha * p**2`` each.

    ``theta``: the thresholds the batch was coded with; ``theta_start``: those the call
    started from (``theta0``, or ``previous``'s ``theta`` when ``continued``); ``drive``:
    the batch's ``X @ Q.T``. A capped unit whose threshold is at or below 0 is blamed on
    ``theta0`` (or ``previous``) when it started there, else on the homeostasis; one whose
    threshold is above 0 on a drive of at least ``theta / eta`` (data far above unit
    variance). The lowest threshold of all units was blamed before, so that data 30x too
    large with one unit's ``theta0`` of -0.5 advised only "give theta0 > 0"."""
    capped = Y >= n_steps
    n_sat = int(np.count_nonzero(capped))
    units, shown = _capped_neurons(capped, theta, "capped on {} of {} patches")
    head = (f"update {update}: {n_sat} of {Y.size} spike counts of the batch reached "
            f"n_steps={n_steps} (units fired at every step, their counts capped whatever "
            f"their drive, as sailnet_inference warns), those of {len(units)} of "
            f"{Y.shape[1]} units, {'unit' if len(units) == 1 else 'units'} {shown}")
    low = units[theta[units] <= 0]
    started = low[theta_start[low] <= 0]  # theta0's (previous's) own
    lowered = low[theta_start[low] > 0]  # taken there by the homeostasis
    high = units[theta[units] > 0]
    causes, advice = [], []
    if started.size:
        causes.append(
            f"; a threshold at or below 0 ({'previous' if continued else 'theta0'}'s lowest, "
            f"{theta_start[started].min():.3g}, is; {started.size} of the capped units "
            f"{'starts' if started.size == 1 else 'start'} there) fires its unit at every "
            f"step its drive Q x reaches theta / eta")
        advice.append("pass previous's state with thresholds above 0 instead (Q0, W0, rate0 "
                      "and theta0, see W0)" if continued else "give theta0 > 0 (default 2)")
    if lowered.size:
        causes.append(
            f"; homeostasis (gamma={gamma!r}) lowered the thresholds to "
            f"{theta[lowered].min():.3g}, at or below 0 ({lowered.size} of the capped units), "
            f"where a unit fires at every step its drive Q x reaches theta / eta")
        advice.append(f"lower gamma={gamma!r}")
    if high.size:
        # from 0 (the reset), one step of eta * (Q x - inhibition) reaches theta
        reach = drive[:, high].max(axis=0)
        causes.append(
            f"; {high.size} of the capped units have thresholds above 0 (lowest "
            f"{theta[high].min():.3g}, so theta / eta = {theta[high].min() / eta:.3g}: a "
            f"spike at every step from the reset needs a drive Q x of at least that) and "
            f"drives Q x up to {reach.max():.3g}, on patches of mean variance "
            f"{float(np.var(X, axis=1).mean()):.3g}")
        advice.append("scale the data down (SAILnet expects patches of unit variance) or "
                      "raise theta0")
    lateral = (f"; Földiák's rule adds up to alpha * n_steps**2 = {alpha * n_steps ** 2:.4g} "
               f"to the lateral weights W of units firing together in one such update "
               f"(largest W now {float(W.max()):.4g}), and later updates lower them by at "
               f"most alpha * p**2 = {alpha * p ** 2:.3g} each"
               if alpha > 0 and len(W) > 1 else "")
    warnings.warn(f"{head}{''.join(causes)}{lateral}: {'; '.join(advice)}",
                  RuntimeWarning, stacklevel=user_stacklevel())


def _warn_silent(update, drive, theta, gamma, p, theta0, continued=False):
    """No unit has fired for SILENT_PATIENCE updates, up to ``update`` (counted over all
    the calls as the history's ``update``): say why and what to change. ``continued``:
    the call continues ``previous`` (whose ``theta`` is ``theta0``), with which
    ``theta0`` cannot be given."""
    gap = float(theta.min() - drive.max())
    if gamma * p > 0:
        wait = (f"homeostasis lowers theta by only gamma * p = {gamma * p:.3g} per silent "
                f"update (~{max(gap, 0.0) / (gamma * p):.3g} more updates to the first spike)")
    else:
        wait = "with gamma * p = 0 homeostasis never lowers theta"
    if theta.min() > np.max(theta0):  # the homeostasis itself overshot
        hint = f"lower gamma={gamma!r}"
    elif continued:  # theta0 is refused with previous: lower it through previous's state
        hint = (f"raise gamma={gamma!r}, scale the data to unit variance, or lower the "
                f"thresholds (theta0 cannot be given with previous; pass its state instead: "
                f"Q0=previous['Q'].values.reshape({theta.size}, -1), W0=previous['W'].values, "
                f"rate0=previous['rate'].values and a theta0 below {np.mean(theta0):g}; the "
                f"history's count restarts)")
    else:
        hint = (f"lower theta0={np.mean(theta0):g}, raise gamma={gamma!r} or scale the data to "
                f"unit variance")
    warnings.warn(
        f"SAILnet: no unit fired in the last {SILENT_PATIENCE} updates (up to update "
        f"{update}): the lowest threshold theta = {theta.min():.3g} is above the largest "
        f"feed-forward drive Q x = {drive.max():.3g}, and {wait}; {hint}", RuntimeWarning,
        stacklevel=user_stacklevel())


def _batch_source(data, patch_size, border, batch_size, rng):
    """A function returning one batch (batch_size, n_features) per call, and the patch shape."""
    from stimuli.images import _image_stack, _refuse_colour

    # one colour picture (64, 64, 3) was read as 64 pictures of 64 x 3 pixels, refused as
    # "patch_size=8 with border=2 does not fit in images of 64x3 pixels"
    _refuse_colour(data, "data")
    _refuse_colour_stack(data)
    if np.ndim(data) == 3:
        # as sample_patches reads images: a DataArray by dim name (images (image, x, y) were
        # read by position, their patches transposed unsaid), and a warning for the layouts
        # a stack is confused with (scipy.io.loadmat's (512, 512, 10) IMAGES.mat was refused
        # as "patch_size=16 with border=20 does not fit in images of 512x10 pixels")
        data = _image_stack(data, "data")
    else:
        data = check_array(data, "data", ndim=(2, 3), dims=DATA_DIMS)
    if data.ndim == 3:
        from stimuli.images import _cut_patches, check_patch_size

        patch_size = check_int(patch_size, "patch_size", minimum=2)
        border = check_int(border, "border", minimum=0)
        patch_size = check_patch_size(patch_size, data.shape, border, name="patch_size")
        # draws once, so that images too flat to normalise fail here, not mid-learning:
        # sample_patches's draw, without its checks, made above (its warning of the layout
        # named "images", and was hidden by a catch_warnings, one per process, that hid
        # every other thread's warnings too)
        _cut_patches(data, patch_size, 1, np.random.default_rng(0), border=border,
                     remove_mean=False, min_variance=0.0, normalize=True, dtype=np.float64,
                     progress=False)

        # the images passed sample_patches's checks just now (data is the stack it drew
        # from): each update draws its batch with sample_patches's own draws (the same
        # patches) without reading every pixel again, which took 40% of a quick
        # zylberberg-2011-sailnet run
        f64 = np.dtype(np.float64)

        def draw():  # one batch per update: the learning's bar covers it, none of its own
            return _cut_patches(data, patch_size, batch_size, rng, border=border,
                                remove_mean=False, min_variance=0.0, normalize=True, dtype=f64,
                                progress=False)

        return draw, (patch_size, patch_size)
    n_patches, n_features = data.shape
    if not np.any(data):
        raise ValueError(f"data: every patch of the pool (shape {data.shape}) is zero; there is "
                         "nothing to learn from")
    side = int(round(np.sqrt(n_features)))
    shape = (side, side) if side * side == n_features else (1, n_features)

    def draw():
        return data[rng.integers(0, n_patches, batch_size)]

    return draw, shape


def _refuse_colour_stack(data) -> None:
    """Refuse a stack of colour pictures (n_images, height, width, 3 or 4), channels last,
    saying how to make it gray: it was refused as "data must have 2 or 3 dimension(s)",
    with no word of the colour."""
    shape = np.shape(data)
    if len(shape) == 4 and shape[3] in (3, 4) and not hasattr(data, "dims"):
        raise ValueError(
            f"data has shape {shape}, a stack of colour pictures (n_images, height, width, "
            f"{shape[3]}: channels last?); SAILnet learns from gray pictures (n_images, "
            f"height, width) or patches (n_patches, n_features): convert each picture to "
            f"grayscale first, e.g. skimage.color.rgb2gray(data) (for RGBA, of "
            f"skimage.color.rgba2rgb(data))")


def _check_fields(Q, name, ndim) -> np.ndarray:
    """``Q`` as a float array of ``ndim`` dimensions, one receptive field per row: a
    DataArray (:func:`learn_sailnet`'s ``ds["Q"]``) is read by dim name, ``neuron`` first
    (transposed to (y, x, neuron), it was read by position: the spreads of 8 "fields"
    of 8 x 64 pixels came back for 64 neurons, unsaid)."""
    dims = ("neuron", "y", "x") if np.ndim(Q) == 3 else ("neuron", "feature")
    return check_array(Q, name, ndim=ndim, dims=dims)


def _scaled_fields(Q) -> np.ndarray:
    """The rows of ``Q`` (n_neurons, n_features) each divided by a power of two that
    brings its largest magnitude into [1, 2), so that squares and norms neither
    overflow nor underflow (fields of 1e300 had an infinite norm and an overlap of 0,
    fields of 1e-13 were refused as all zero); a ValueError for an all-zero row."""
    scale = pow2_scale(Q, axis=1, keepdims=True)
    zero = ~np.any(Q, axis=1)
    if zero.any():
        raise ValueError(f"Q has {int(zero.sum())} all-zero receptive field(s), e.g. row "
                         f"{int(np.flatnonzero(zero)[0])}")
    return Q / scale


def rf_overlap(Q) -> np.ndarray:
    """Overlap of every pair of receptive fields: cosine similarity of the rows of ``Q``.

    Parameters
    ----------
    Q : array_like, shape (n_neurons, n_features) or (n_neurons, h, w)
        A DataArray (e.g. :func:`learn_sailnet`'s ``ds["Q"]``) is read by dim name
        (``neuron``, ``y``, ``x`` or ``neuron``, ``feature``, in any order).

    Returns
    -------
    ndarray, shape (n_neurons, n_neurons), values in [-1, 1]
    """
    Q = _check_fields(Q, "Q", (2, 3))
    Q = _scaled_fields(Q.reshape(Q.shape[0], -1))
    Qn = Q / np.linalg.norm(Q, axis=1)[:, None]
    # rounding put the diagonal (and parallel fields) up to a few eps past 1, where
    # np.arccos of the documented range gave NaN angles
    return np.clip(Qn @ Qn.T, -1.0, 1.0)


def rf_spread(Q) -> np.ndarray:
    """Spatial spread of each receptive field, in pixels.

    The square root of the energy-weighted variance of pixel positions
    around the energy centroid: with ``e = q**2 / sum(q**2)``,
    ``spread = sqrt(sum e |r - r_c|^2)``. A random 16x16 field spreads over
    ~6.5 pixels, a localized Gabor over 1-3.

    Parameters
    ----------
    Q : array_like, shape (n_neurons, h, w)
        A DataArray (e.g. :func:`learn_sailnet`'s ``ds["Q"]``) is read by dim name
        (``neuron``, ``y``, ``x``, in any order).

    Returns
    -------
    ndarray, shape (n_neurons,)
    """
    Q = _check_fields(Q, "Q", 3)
    n, h, w = Q.shape
    e = _scaled_fields(Q.reshape(n, -1)) ** 2
    e = e / e.sum(axis=1, keepdims=True)
    yy, xx = (g.ravel() for g in np.mgrid[:h, :w])
    cy, cx = e @ yy, e @ xx
    return np.sqrt((e * ((yy - cy[:, None]) ** 2 + (xx - cx[:, None]) ** 2)).sum(axis=1))
