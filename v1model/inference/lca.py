"""The Locally Competitive Algorithm (Rozell, Johnson, Baraniuk & Olshausen 2008).

Each unit has an internal state (membrane potential) ``u`` and an output
``a = T_lam(u)``; units are driven by the feed-forward projection
``b = D x`` and inhibit each other through the off-diagonal Gram matrix:

    tau du/dt = b - u - (D D^T - I) a

Its fixed points with the soft threshold are the LASSO solutions. Two
integrators sit behind one call: a fixed-step Euler loop batched over samples
(the fast path) and :func:`scipy.integrate.solve_ivp` (the adaptive
reference, which can return the trajectory).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import xarray as xr

from .._blas import blas_threads_for_step, coding_iteration_flops
from .._frames import user_stacklevel
from ..progress import check_progress, progress_bar
from ..validation import (check_array, check_choice, check_dictionary, check_dtype, check_int,
                          check_positive, describe, flatten_image_atoms, physical_memory,
                          row_coords)
from .lca_adaptive import BLOCK_SIZE, confirm_euler_rows, euler_adaptive
from ._dictionary_cache import values_of
from ._common import (
    N_SAMPLES_NAMED,
    ConvergenceWarning,
    check_products_in_range,
    check_warm_start,
    current_tally,
    describe_pairs,
    duplicate_pairs,
    knob,
    lca_duality_gaps,
    shortfall_stacklevel,
    relaxation_scale,
    duality_gap,
    apply_threshold,
    use_method,
    history_dataset,
    history_record,
    check_threshold,
    spectral_norm_gram,
    validate_problem,
    warn_not_converged,
)

__all__ = ["lca", "lca_rhs", "max_stable_dt"]

INTEGRATORS = ("euler", "ivp")
#: atoms at least this close (|cosine|) are duplicates to the hard threshold, warned of:
#: a pair's units rise together and both stay active, splitting one coefficient. 200
#: samples driven along one atom of a pair (12 random atoms, 16 features, lam=0.5) had
#: both units active in 137 at 1 - cosine = 1e-6, 118 at 1e-5, 67 at 1e-4 and 23 at
#: 1e-3, where one unit won in 140
HARD_DUPLICATE_COSINE = 1 - 1e-4
#: largest Euler trajectory (``u`` and ``a``, bytes) that ``return_trajectory`` without
#: ``n_steps`` may hold in the worst case, ``max_steps`` steps (beyond it: ValueError);
#: None: half of this machine's memory (most runs stop long before ``max_steps``, so
#: only a worst case the machine could not hold is refused)
MAX_TRAJECTORY_BYTES = None


def max_stable_dt(D, tau):
    """Largest Euler step (s) for which the linearised LCA loop is stable.

    On any active set S the Euler map is stable iff
    ``dt/tau * lambda_max(G_SS) < 2``, and the inactive units relax through
    the leak ``-u`` at rate 1, which needs ``dt/tau < 2``; ``lambda_max(G)``
    bounds every ``lambda_max(G_SS)``, so ``dt < 2 tau / max(lambda_max(G), 1)``
    is safe whatever the active set (the 1 matters only for atoms of norm
    below 1).

    Parameters
    ----------
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one atom per row; atoms as images (e.g. a network's
        ``ds["dictionary"]`` (atom, y, x), read by dim name) are flattened
        row-major, as :func:`lca` flattens them
        (:func:`~v1model.validation.flatten_image_atoms`).
    tau : float
        LCA time constant in seconds, > 0.

    Returns
    -------
    float
        The largest float below ``2 tau / max(lambda_max(D D^T), 1)`` (s): the
        largest ``dt`` :func:`lca` accepts for ``D``, in either ``dtype`` (the
        limit itself, where the top mode oscillates without decaying, is
        refused).

    Raises
    ------
    ValueError
        For an invalid dictionary or ``tau <= 0``.
    """
    # atoms as images, which lca takes, were refused as "D must have 2 dimension(s)"
    _, D = flatten_image_atoms(None, D)
    D = check_dictionary(D)
    # atoms of ~1e200 overflow D D^T: numpy's "Eigenvalues did not converge"
    check_products_in_range(np.zeros((0, D.shape[1])), D, np.float64)
    # below the limit, which lca refuses (dt = limit was refused as unstable)
    return float(np.nextafter(_max_stable_dt(D, check_positive(tau, "tau")), 0.0))


def _max_stable_dt(D, tau, values=None):
    """The stability limit of :func:`max_stable_dt` (not an ulp below it). ``values``:
    :func:`~v1model.inference._dictionary_cache.values_of` ``D``, when the caller has
    it: ``lambda_max(D D^T)`` is kept for the next call with the same dictionary (an
    encode loop; its Gram matrix and eigenvalue were a third of a one-sample call on
    1024 x 256 atoms, 19 of 57 ms under cProfile, 2026-12-07)."""
    values = values_of(D) if values is None else values
    return 2.0 * tau / max(values.get("spectral_norm_gram", spectral_norm_gram), 1.0)


def _gram_off(values, dtype):
    """``D D^T - I`` (n_atoms, n_atoms) in ``dtype``, read-only: the Euler loops' lateral
    inhibition, of the dictionary of ``values``
    (:func:`~v1model.inference._dictionary_cache.values_of`), cast to ``dtype`` first as
    the solvers cast it, and kept for the next call with the same dictionary."""
    def gram_off(D):
        Dw = np.ascontiguousarray(D, dtype=dtype)
        G = Dw @ Dw.T
        G[np.diag_indices(G.shape[0])] -= 1
        return G

    return values.get(("gram_off", np.dtype(dtype).name), gram_off)


def lca(
    X,
    D,
    lam,
    *,
    threshold: str = "soft",
    tau: float = 0.01,
    dt: float | None = None,
    n_steps: int | None = None,
    tol: float = 1e-3,
    max_steps: int = 20000,
    integrator: str = "euler",
    u0=None,
    dtype=np.float32,
    return_trajectory: bool = False,
    return_history: bool = False,
    record_every: int = 1,
    t_eval=None,
    rtol: float = 1e-8,
    atol: float | None = None,
    ivp_method: str = "RK45",
    progress: bool | None = None,
    _stats: dict | None = None,
    _names: tuple[str, str] = ("X", "D"),
):
    """Sparse codes of ``X`` in dictionary ``D`` by simulating the LCA ODE.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Stimuli (e.g. whitened image patches, flattened).
    D : array_like, shape (n_atoms, n_features)
        Dictionary Phi^T: one unit-norm atom (receptive field) per row. What the
        call derives from ``D`` alone (the Gram matrix ``D D^T`` in the working
        ``dtype``, its top eigenvalue, which sets the stable step, and with the hard
        threshold the duplicated atoms) is kept for the next call with a dictionary
        of the same values, so that a loop of calls with one dictionary builds it
        once (5x less CPU per one-sample call on 1024 x 256 atoms,
        ``benchmarks/README.md``); a dictionary changed in place is seen as a new
        one. The cache holds one dictionary, a copy of it and its values within
        128 MB (:mod:`v1model.inference._dictionary_cache`).
    lam : float
        Threshold lambda >= 0 (units of ``X``).
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        Soft (LASSO), hard (approximate L0) or rectified soft (non-negative LASSO).
        The hard threshold is Rozell et al.'s ideal one, ``a = u`` where
        ``|u| > lam`` and 0 elsewhere; its energy, which the history records,
        is ``0.5 ||x - D^T a||^2 + lam^2 / 2 ||a||_0`` (their ``lam C(a)``
        with ``C(a) = lam / 2`` for ``a != 0``), and with unit-norm atoms its
        fixed points are the least-squares codes on their support that no
        single atom, added or removed with the others kept, would improve.
        Euler moves all units at once, so units of near-duplicate atoms can
        cross the threshold together and push each other back together, a
        cycle that never settles: stopping by ``tol``, a sample whose active
        set keeps changing with ``du`` turning back has its step halved
        (:data:`HARD_CYCLE_TURNS`), so that the first unit crosses alone as in
        continuous time (in a trajectory, its time then runs slower than the
        ``time`` coordinate). Units in an exact tie (a duplicated atom, or two
        atoms with the same drive and couplings) whose drive lies between
        ``lam`` and ``2 lam`` cycle at any step, and the ideal threshold has
        no fixed point for them in continuous time either: the tie is then
        broken deterministically, the lowest-numbered of the tied units
        winning and the others set back to rest (``u = 0``). With a drive
        above ``2 lam`` both stay active, sharing the coefficient: duplicated
        atoms (``|cosine| >= 1 - 1e-4``, :data:`HARD_DUPLICATE_COSINE`) are
        warned of.
    tau : float, default 0.01
        Membrane time constant in seconds (10 ms).
    dt : float, optional
        Euler step in seconds. A step at or beyond the stability limit
        ``2 tau / max(lambda_max(D D^T), 1)`` (:func:`max_stable_dt`) raises.
        Default: half that limit when a time course is asked for (``n_steps``,
        ``return_trajectory``, ``return_history``) or the threshold is hard;
        otherwise, when only the final codes are wanted from a soft or
        non-negative threshold, each sample gets its own step, which starts
        there, grows by 1.25 after every step that lowers the norm of
        ``du/dt`` without turning it back and is halved (never below the
        start, never above ``tau``) after one that does not
        (:mod:`v1model.inference.lca_adaptive`; its first call per precision
        compiles three small kernels, about 2 s of CPU, cached on disk). The
        fixed point is the same; the dictionary's largest eigenvalue usually
        belongs to a few coherent atoms that a
        given sample does not use, so most samples can take steps several
        times longer (11x fewer products on 16x16 natural patches with 512
        learned atoms, ``benchmarks/README.md``). On the ivp path ``dt``
        only sets the span with ``n_steps`` (``n_steps * dt``; solve_ivp
        picks its own steps).
    n_steps : int, optional
        Run exactly this many Euler steps (no tolerance stop: ``tol`` and
        ``max_steps`` other than their defaults are warned of). On the ivp
        path, integrate to ``n_steps * dt``; with ``t_eval`` as well, its
        last time must be ``n_steps * dt`` (to 1e-9 relative), else
        ValueError.
    tol : float, default 1e-3
        Stop a sample when ``max|du| <= tol * max|b|`` over one step, relative
        to the step size ``dt/tau`` (i.e. ``max|du/dt| * tau <= tol * max|b|``,
        ``b = x D^T`` the drive; for a sample with no drive, ``x = 0``, relative
        to its start ``max|u0|``, from which it relaxes to rest, as after a
        stimulus is switched off): a test of how fast the state still moves,
        not of its distance to the fixed point. Near the fixed point the
        slowest mode decays at the rate ``lambda_min / tau``, ``lambda_min``
        the smallest eigenvalue of the Gram matrix of the active atoms, so
        the codes can still be off by about ``tol * max|b| / lambda_min``
        (units of ``X``; more while a unit is about to cross the threshold),
        and the objective, flat along that mode, by much less (the gap falls
        as ``tol**2``). On whitened natural patches the default 1e-3 lands
        within a relative LASSO objective gap of 1e-3 of the optimum, for the
        objective summed over the samples (measured: 4e-5 to 4e-4 on 8x8 and
        16x16 patches with 2x overcomplete dictionaries; a single sample's
        own gap reached 1.2e-3); use 1e-5 for a gap near 1e-8. It is loose
        for the codes with coherent atoms (``lambda_min`` small): with 12
        random unit-norm atoms in 8 dimensions (``lambda_min`` ~0.05) the
        objective gap is 1e-4 but codes are 0.08 (4% of the largest) from
        the LASSO solution (and 23% for a sample of another draw that still
        held an atom the solution does not use, at a gap of 1.5e-4); lower
        ``tol`` to tighten them (the error falls in proportion: 5e-4 at
        ``tol=1e-5``), or use
        ``encode(X, D, "active_set", lam=...)``, whose stop is the KKT test.
        With the soft and non-negative thresholds and ``lam > 0`` a sample
        that meets this test stops only when its LASSO duality gap is at most
        ``tol * ||x||^2`` too (FISTA's and scikit-learn's rule), which bounds
        its objective's excess over the optimum by ``tol * ||x||^2`` however
        coherent the atoms: the speed test alone stopped pairs of atoms of
        coherence 0.999 at gaps of 2e-3 ``||x||^2`` (summed objective 7.8e-3
        above the optimum at ``lam=0.1``; 4.1e-3 with the gap test, whose
        bound is relative to ``||x||^2``, not to the objective). So the
        relative promise needs the optimum near ``||x||^2 / 2``: at a small
        ``lam``, 1% of the mean ``max|b|`` (dense codes), the summed relative
        gap reached 1.2e-3 to 1.4e-3 on whitened natural patches with
        Olshausen's A144 basis and 2.8e-3 on pairs of atoms of coherence
        0.99; ``tol=1e-4`` gives 3.4e-5 on the pairs. (A gap test relative
        to each sample's objective keeps the promise at any ``lam`` but its
        certificate is pessimistic: 45% more products at the benchmark's
        ``lam`` and coherent samples left at ``max_steps``; 2026-12-06.)
        A stop whose duality gaps sum to more than :data:`LOOSE_STOP_GAP`
        (10%) of the codes' objective is warned of instead: at ``lam`` 0.003
        and 0.001 on whitened 16x16 patches (512 atoms) the codes stopped 2.1%
        and 15% above the optimum summed, where FISTA's were 7e-5 and 8e-4.
        Euler path only: the ivp path runs to the last ``t_eval``.
    max_steps : int, default 20000
        Step limit when stopping by tolerance (Euler path).
    integrator : {"euler", "ivp"}, default "euler"
        Fixed-step batched Euler (fast) or ``scipy.integrate.solve_ivp`` (adaptive).
        Each ignores the other's settings, and a value other than the
        default given for the other one is warned of (``UserWarning``):
        ``tol``, ``max_steps``, ``record_every`` and ``dt`` without
        ``n_steps`` are the Euler path's (the ivp path uses ``rtol``/``atol``
        and ``t_eval``); ``t_eval``, ``rtol``, ``atol`` and ``ivp_method`` the
        ivp path's (the Euler path uses ``tol``, ``n_steps``, ``dt`` and
        ``record_every``). With ``n_steps`` the Euler path ignores ``tol``
        and ``max_steps`` too, and warns of them alike.
    u0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Initial membrane state (default zeros); ``(n_atoms,)`` for a single
        sample. Never clipped: a state, not codes.
    dtype : {float32, float64}, default float32
        Working precision of the Euler path. The ivp path is always float64:
        ``X``, ``D`` and ``u0`` are not rounded to ``dtype`` first, and the
        attrs record ``dtype="float64"``.
    return_trajectory : bool, default False
        Also return the trajectory as an ``xarray.Dataset`` with dims
        (time, sample, atom): ``u`` (state), ``a`` (output), both in units
        of ``X`` (for unit-norm atoms), time in seconds. Without ``n_steps``
        the Euler path keeps a state every ``record_every`` steps until the
        tolerance stop, up to ``max_steps``: a worst case above
        :data:`MAX_TRAJECTORY_BYTES` (default half of the machine's memory)
        is refused.
    return_history : bool, default False
        Also return an ``xarray.Dataset`` over ``iteration`` (the Euler step
        number, 0 for the start, also with ``record_every > 1``; the index of
        the ``t_eval`` point on the ivp path) with the objective, data term,
        penalty (summed over samples) and mean active count of ``T(u)``, plus
        the simulated ``time`` (s). Costs one objective evaluation per
        recorded step.
    record_every : int, default 1
        Euler path: keep one step in this many in the trajectory and history,
        and the last step (the state returned).
    t_eval : array_like, shape (n_times,), optional
        On the ivp path, times (s) at which to report the trajectory, the
        last one ending the run; default ``n_steps * dt`` or ``50 * tau``,
        sampled at 201 points (200 intervals). With ``n_steps`` as well, its
        last time must be ``n_steps * dt``. Slow modes (atoms of small norm, a
        coherent dictionary) can take longer than 50 tau to settle: at the end
        of that default span a sample still moving by the Euler path's stop
        with its default ``tol`` (``tau max|du/dt| > 1e-3 max|b|``) is warned
        of (``ConvergenceWarning``); a span set by ``t_eval`` or ``n_steps`` is
        a time course, not checked (as ``n_steps`` on the Euler path).
    rtol, atol : float, default 1e-8 and ``1e-10 * max|X D^T|``
        Relative and absolute tolerances of ``solve_ivp`` (ivp path);
        ``atol`` is in units of ``u``, which scale with ``X``: the default
        follows the largest drive (for a sample with no drive, its start
        ``max|u0|``), so that data of any scale is integrated alike (a fixed
        1e-10 lost the support for ``|X|`` ~ 1e-8).
    ivp_method : {"RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"}, default "RK45"
        ``solve_ivp``'s method (ivp path).
    progress : bool or None, default None
        Show a tqdm bar, over the samples (Euler) or the simulated time
        (ivp): None once the call has run 2 s (:mod:`v1model.progress`),
        True at once, False never.
    _stats : dict, optional
        Private (benchmarks, tests): receives ``products`` (rows multiplied
        by the Gram matrix, summed over steps) and ``steps`` (Euler path).
    _names : (str, str), default ("X", "D")
        Private (front doors that pass their own arguments): the names of
        ``X`` and ``D`` in error messages, e.g. ``("X", "dictionary")`` for a
        network's own dictionary, which its caller never passed.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms)
        Output activities ``T_lam(u)`` at the end of the simulation, in
        ``dtype`` (float64 on the ivp path); a single sample
        ``(n_features,)`` gives ``(1, n_atoms)``.
    trajectory : xarray.Dataset, optional
        With ``return_trajectory``: ``u`` and ``a`` over (time, sample,
        atom), in units of ``X`` (``attrs["units"]``), ``time`` in seconds;
        ``sample`` numbered from 0, or labelled as a DataArray ``X``'s
        samples are (its coordinates along ``sample``,
        :func:`~v1model.validation.row_coords`).
        Its attrs hold the settings that made the run: ``model``,
        ``threshold``, ``lam``, ``tau``, ``integrator`` and the working
        ``dtype``; on the Euler path ``dt`` (s), ``record_every`` and the stop
        that ran: ``n_steps`` when given, else ``tol`` and ``max_steps`` (which
        ``n_steps`` ignores: not recorded with it); on the ivp path ``rtol``,
        ``atol`` (units of ``u``) and ``ivp_method``, and ``n_steps`` (with
        ``dt``) when it set the span.
    history : xarray.Dataset, optional
        With ``return_history``: over ``iteration``, with a ``time`` (s)
        coordinate and the trajectory's attrs. After the trajectory when
        both are asked for.

    Raises
    ------
    ValueError
        For invalid ``X``/``D``, ``lam < 0``, an unknown ``threshold`` or
        ``integrator``, a non-positive ``tau``, ``dt`` or ``tol``, an Euler
        ``dt`` at or beyond the stability limit, an invalid ``t_eval``
        (or one spanning more than ``1e4 tau``, or ending elsewhere than
        ``n_steps * dt`` when ``n_steps`` is given too), or an Euler trajectory
        without ``n_steps`` that could exceed :data:`MAX_TRAJECTORY_BYTES`.
    RuntimeError
        When ``solve_ivp`` fails (ivp path).

    Warns
    -----
    UserWarning
        For a setting of the other integrator, or ``tol`` or ``max_steps``
        with ``n_steps`` on the Euler path, given a value other than its
        default (``integrator`` above), naming it and what this path uses
        instead; with ``threshold="hard"``, for duplicated atoms of ``D``
        (``threshold`` above), naming them.
    ConvergenceWarning
        Euler path: for samples still above ``tol`` at ``max_steps``, naming
        the first ten rows; with the soft and non-negative thresholds, stopped
        by ``tol``, when the codes' LASSO duality gaps sum to more than
        :data:`LOOSE_STOP_GAP` of their objective (a small ``lam``, ``tol``).
        Ivp path: for samples still moving at the end of the default span of
        50 tau (``t_eval`` above), naming them and how to lengthen the span.

    References
    ----------
    Rozell, C. J., Johnson, D. H., Baraniuk, R. G. & Olshausen, B. A. (2008).
    Sparse coding via thresholding and local competition in neural circuits.
    Neural Computation 20, 2526-2563.
    """
    # the ivp path integrates in float64: rounding X and D to a float32 dtype first
    # changed its codes by ~1e-7 with dtype
    dtype = check_dtype(dtype)
    X_given = X  # its sample labels, for the trajectory
    X, D, lam, dtype, D64 = validate_problem(
        X, D, lam, np.float64 if integrator == "ivp" else dtype, flags=dict(
            return_trajectory=return_trajectory, return_history=return_history),
        x_name=_names[0], d_name=_names[1], d_float64=True)
    threshold = check_threshold(threshold)
    # what lca derives from D alone (its top eigenvalue, Gram matrix, duplicated atoms),
    # matched once with the dictionary of the last call (_dictionary_cache)
    values = values_of(D64)
    if threshold == "hard":
        _warn_duplicate_atoms(values, _names[1])
    integrator = check_choice(integrator, "integrator", INTEGRATORS)
    tau = check_positive(tau, "tau")
    # the limit of D as given, in float64 as max_stable_dt computes it: that of D rounded
    # to float32 is an ulp or so either side, and refused max_stable_dt's own dt
    limit = _max_stable_dt(D64, tau, values)
    dt_given = dt is not None
    adaptive = (dt is None and integrator == "euler" and n_steps is None and threshold != "hard"
                and not return_trajectory and not return_history)
    if dt is None:
        dt = 0.5 * limit
    dt = check_positive(dt, "dt")
    if integrator == "euler" and dt >= limit:
        # full digits and the excess: at 3 digits a dt an ulp above the limit read as
        # "dt/tau=0.414 but must stay below 0.414"
        excess = ("is the limit itself" if dt == limit
                  else f"is {(dt - limit) / limit:.3g} (relative) above the limit")
        raise ValueError(
            f"dt={dt!r} s makes the Euler loop unstable: dt/tau={dt / tau!r} but "
            f"dt/tau must stay below 2/max(lambda_max(D D^T), 1)={limit / tau!r}, i.e. "
            f"dt < {limit!r} s, and dt {excess}; pass a smaller dt (at most "
            f"max_stable_dt(D, tau)={float(np.nextafter(limit, 0.0))!r} s) or use "
            f"integrator='ivp'"
        )
    if n_steps is not None:
        n_steps = check_int(n_steps, "n_steps", minimum=1)
    ignored = _ignored_settings(integrator, n_steps, dict(
        dt=dt if dt_given else None, tol=tol, max_steps=max_steps, record_every=record_every,
        t_eval=t_eval, rtol=rtol, atol=atol, ivp_method=ivp_method))
    if integrator == "ivp":
        horizon_by_steps = n_steps is not None  # t_end = n_steps * dt (t_eval agrees)
        default_span = t_eval is None and n_steps is None  # 50 tau: checked for settling
        t_eval, rtol, atol = _check_ivp(t_eval, n_steps, dt, dt_given, tau, rtol, atol,
                                        ivp_method)
    tol = check_positive(tol, "tol")
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    record_every = check_int(record_every, "record_every", minimum=1)
    check_progress(progress)
    if ignored:  # a value other than the default was meant to change the run
        warnings.warn(
            f"lca(integrator={integrator!r}) ignores {'; '.join(ignored)}",
            UserWarning, stacklevel=user_stacklevel())
    n, k = X.shape[0], D.shape[0]
    if return_trajectory and integrator == "euler" and n_steps is None:
        _check_trajectory_size(n, k, dtype, max_steps, record_every)
    u0 = check_warm_start(u0, (n, k), dtype, "u0")
    kind = "hard" if threshold == "hard" else "soft"
    records, rec_times, rec_steps = ([], [], []) if return_history else (None, None, None)

    def on_record(t, U_all, step=None):
        records.append(history_record(X, D, apply_threshold(U_all, lam, threshold), lam, kind))
        rec_times.append(t)
        rec_steps.append(step)

    hook = on_record if return_history else None
    # every step is a product of a block of rows (all of them when recording, and on the
    # ivp path) with the Gram matrix: one BLAS thread when that is small (v1model._blas;
    # two threads on tiny products collapsed under load: 2 BLAS threads took 5-20x the
    # time of one beside other processes on 2 cores)
    block = n if (return_trajectory or return_history or integrator == "ivp") else BLOCK_SIZE
    blas = blas_threads_for_step(coding_iteration_flops(min(n, block), k, D.shape[1]))
    if adaptive:
        with blas, progress_bar(progress, total=n, desc="lca") as bar:
            U = euler_adaptive(X, D, lam, threshold, dt / tau, tol, max_steps, u0, _stats,
                               on_block=bar.update, W=_gram_off(values, dtype))
        A = _threshold_in_place(U, lam, threshold)
        _warn_loose_stop(X, D, A, lam, threshold, tol)
        return A
    if integrator == "euler":
        with blas, progress_bar(progress, total=n, desc="lca") as bar:
            U, traj = _euler(X, D, lam, threshold, tau, dt, n_steps, tol, max_steps, u0,
                             return_trajectory, record_every, hook, _stats, bar.update,
                             G_off=_gram_off(values, dtype))
        A = _threshold_in_place(U, lam, threshold)  # the trajectory holds copies
        if n_steps is None:  # stopped by tol (a time course of n_steps is not judged)
            _warn_loose_stop(X, D, A, lam, threshold, tol)
    else:
        t_end = float(t_eval[-1])
        with blas, progress_bar(progress, total=t_end / tau, desc="lca (solve_ivp)",
                                bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} tau "
                                           "[{elapsed}<{remaining}]") as bar:
            U, traj, atol = _ivp(X, D, lam, threshold, tau, dt, n_steps, u0, t_eval, rtol,
                                 atol, ivp_method, return_trajectory, hook, bar,
                                 check_settled=default_span)
        A = apply_threshold(U, lam, threshold)
    params = dict(model="LCA", threshold=threshold, lam=lam, tau=tau, integrator=integrator,
                  dtype=np.dtype(dtype).name)
    # what else made the run (plain values: a Dataset saved with to_netcdf takes no None);
    # only the stop that ran: tol and max_steps, which the ivp path and n_steps ignore,
    # were recorded beside n_steps too, as if that run could have stopped by tol
    if integrator == "euler":
        params["dt"] = dt
        if n_steps is not None:
            params["n_steps"] = n_steps
        else:
            params.update(tol=tol, max_steps=max_steps)
        params["record_every"] = record_every
    else:
        if horizon_by_steps:  # dt and n_steps only set the span; solve_ivp picks its steps
            params.update(dt=dt, n_steps=n_steps)
        params.update(rtol=rtol, atol=atol, ivp_method=ivp_method)
    out = [A]
    if return_trajectory:
        # the samples' labels of a DataArray X (its sample coordinate, a class per
        # sample): the trajectory's samples were numbered from 0, unlabelled
        traj = traj.assign_coords(row_coords(X_given, n))
        traj.attrs.update(params)
        out.append(traj)
    if return_history:
        # Euler: the step numbers, not the record count (record_every); ivp: the
        # t_eval points, numbered (time gives their times)
        hist = (history_dataset(records, "lca", iterations=rec_steps,
                                counts="Euler steps done when recorded", **params)
                if integrator == "euler" else
                history_dataset(records, "lca", counts="t_eval point (its time: time)",
                                **params))
        hist = hist.assign_coords(time=("iteration", np.asarray(rec_times, dtype=float),
                                        {"units": "s", "long_name": "simulated time"}))
        out.append(hist)
    return out[0] if len(out) == 1 else tuple(out)


#: summed LASSO duality gap, relative to the summed objective, above which a stop by
#: ``tol`` is warned of as loose (:func:`_warn_loose_stop`): 16x16 whitened patches, 512
#: atoms, default tol: 0.065 at lam = 0.01 (objective 3e-3 above the optimum, the
#: documented small-lam case), 0.18 at 0.003 (2.1e-2 above), 0.44 at 0.001 (0.15 above)
LOOSE_STOP_GAP = 0.1


def _warn_loose_stop(X, D, A, lam, threshold, tol):
    """Warn (:class:`ConvergenceWarning`) when the codes ``A`` of a stop by ``tol``
    (soft or non-negative threshold, ``lam > 0``) have LASSO duality gaps summing to
    more than :data:`LOOSE_STOP_GAP` of their summed objective.

    The stop bounds each sample's gap by ``tol * ||x||^2``; at a small ``lam`` the
    optimum is far below ``||x||^2 / 2`` and that bound is loose against it: on 100
    whitened 16x16 patches with 512 atoms at ``lam = 0.001`` (0.05% of the mean
    ``max|b|``), the codes stopped 15% above the optimum summed (72% for one patch,
    337 active atoms per patch against the LASSO's 204) without a word. Only the rows
    within that bound are judged (twice it, for rounding): rows left at ``max_steps``
    are warned of as such. In blocks of :data:`BLOCK_SIZE` rows in the working dtype
    (no copy of ``D``, temporaries of a block's size). Not inside a learner's run (its
    minibatches would repeat it at every update).
    """
    if threshold == "hard" or lam <= 0 or current_tally() is not None:
        return
    gap_sum = objective_sum = 0.0
    for start in range(0, X.shape[0], BLOCK_SIZE):
        Xb, Ab = X[start:start + BLOCK_SIZE], A[start:start + BLOCK_SIZE]
        R = Xb - Ab @ D
        corr = R @ D.T
        corr = corr.max(axis=1) if threshold == "nonneg" else np.abs(corr).max(axis=1)
        rr = np.einsum("ij,ij->i", R, R, dtype=np.float64)
        xx = np.einsum("ij,ij->i", Xb, Xb, dtype=np.float64)
        l1 = np.abs(Ab).sum(axis=1, dtype=np.float64)
        gaps = np.maximum(duality_gap(rr, np.einsum("ij,ij->i", Xb, R, dtype=np.float64),
                                      l1, corr.astype(np.float64), lam), 0.0)
        met = gaps <= 2 * tol * xx
        gap_sum += float(gaps[met].sum())
        objective_sum += float((0.5 * rr + lam * l1)[met].sum())
    if not objective_sum > 0 or gap_sum <= LOOSE_STOP_GAP * objective_sum:
        return
    warnings.warn(
        f"lca stopped by {knob('tol', False)}={tol:g} with LASSO duality gaps summing to "
        f"{gap_sum / objective_sum:.2g} of the codes' objective (a bound on how far above "
        f"the optimum they are): the stop bounds a sample's gap by tol * ||x||^2, and at "
        f"lam={lam:g} the optimum is far below ||x||^2 / 2. For LASSO codes use "
        f"{use_method('fista')} (or 'active_set'), or lower {knob('tol', False)} (LCA's "
        f"slow modes make that slow)",
        ConvergenceWarning, stacklevel=shortfall_stacklevel())


def _warn_duplicate_atoms(values, d_name):
    """Warn when atoms of the dictionary of ``values``
    (:func:`~v1model.inference._dictionary_cache.values_of`, named ``d_name``) are
    duplicates to the hard threshold (:data:`HARD_DUPLICATE_COSINE`, one Gram matrix).
    The units of a duplicated atom get the same drive and inhibit each other as much as
    themselves: whenever the drive left for them exceeds ``2 lam``, both rise above
    ``lam`` together and settle at half of it each, a fixed point that codes one
    component with two atoms (``lam^2 / 2`` more energy than one atom's code); one wins
    only when that drive lies between ``lam`` and ``2 lam`` (the cycle broken by
    :func:`_hard_cycle_guard`). Rozell et al.'s single winner needs an asymmetry that
    duplicates do not have; the split was silent.

    Not inside a learner's run (:func:`~v1model.inference._common.current_tally`): its
    dictionary changes at every update, and the learners re-seed duplicated atoms
    themselves (``duplicate_tol``); a warning per minibatch named atoms of a dictionary
    the user never sees."""
    if current_tally() is not None:
        return
    pairs = _duplicate_pairs_of(values)
    if not pairs:
        return
    warnings.warn(
        f"lca(threshold='hard'): {d_name} has duplicated {describe_pairs(pairs)} (|cosine| "
        f">= 1 - {1 - HARD_DUPLICATE_COSINE:.0e}): their units get the same drive, and where "
        "it exceeds 2 lam both stay active, splitting one coefficient between them (twice "
        f"the active count, lam^2/2 more energy than one atom's code); remove one atom of "
        f"each pair from {d_name}, or use threshold='soft', whose objective does not depend "
        "on the split", UserWarning, stacklevel=user_stacklevel())


def _duplicate_pairs_of(values):
    """:func:`~v1model.inference._common.duplicate_pairs` of the dictionary of ``values``
    (:func:`~v1model.inference._dictionary_cache.values_of`) at
    :data:`HARD_DUPLICATE_COSINE`, kept for the next call with the same dictionary
    (:mod:`~v1model.inference._dictionary_cache`: a loop of probes calls the hard
    threshold thousands of times with one dictionary, and each call built its Gram
    matrix again; the same values in another array hit, a value changed in place
    misses)."""
    return list(values.get(("duplicate_pairs", HARD_DUPLICATE_COSINE),
                           lambda D: duplicate_pairs(D, HARD_DUPLICATE_COSINE)))


#: lca's defaults: a setting the chosen integrator ignores is warned of when it differs
_DEFAULTS = {name: p.default for name, p in inspect.signature(lca).parameters.items()}


def lca_rhs(U, B, G_off, lam, threshold, tau):
    """Right-hand side ``du/dt`` of the LCA ODE for a batch of states.

    Parameters
    ----------
    U : ndarray, shape (n_samples, n_atoms)
        Membrane states.
    B : ndarray, shape (n_samples, n_atoms)
        Feed-forward drive ``X D^T``.
    G_off : ndarray, shape (n_atoms, n_atoms)
        Lateral inhibition ``D D^T - I``.
    lam : float
        Threshold, >= 0.
    threshold : {"soft", "hard", "nonneg"}
        Nonlinearity ``T_lam``.
    tau : float
        Membrane time constant in seconds.

    Returns
    -------
    ndarray, shape (n_samples, n_atoms)
        ``(B - U - T_lam(U) G_off) / tau``, in units of ``U`` per second.
    """
    A = apply_threshold(U, lam, threshold)
    return (B - U - A @ G_off) / tau


def _trajectory_bound() -> float:
    """:data:`MAX_TRAJECTORY_BYTES`, or half of the physical memory when it is None."""
    if MAX_TRAJECTORY_BYTES is not None:
        return float(MAX_TRAJECTORY_BYTES)
    memory = physical_memory()
    return 8e9 if memory is None else memory / 2  # unknown: a laptop's half


def _check_trajectory_size(n, k, dtype, max_steps, record_every):
    """Refuse a tolerance-stopped Euler trajectory whose worst case (``max_steps``
    steps) would not fit in :data:`MAX_TRAJECTORY_BYTES`."""
    n_states = 1 + -(-max_steps // record_every)  # the start, every record, the last step
    per_state = 2 * n * k * np.dtype(dtype).itemsize  # u and a
    worst = n_states * per_state
    bound = _trajectory_bound()
    if worst > bound:
        fit = int(bound // per_state) - 1  # records after the start
        fixes = (f"record_every >= {-(-max_steps // fit)} or max_steps <= "
                 f"{fit * record_every}, " if fit >= 1 else "")
        raise ValueError(
            f"return_trajectory=True without n_steps keeps up to {n_states} states of "
            f"({n}, {k}) {np.dtype(dtype).name} (u and a, max_steps={max_steps}, "
            f"record_every={record_every}): {worst / 1e9:.3g} GB, above "
            f"{bound / 1e9:.3g} GB (MAX_TRAJECTORY_BYTES: half this machine's memory unless "
            f"set); pass n_steps, "
            f"{fixes}or fewer samples")


def _euler(X, D, lam, threshold, tau, dt, n_steps, tol, max_steps, u0, return_traj,
           record_every, on_record=None, stats=None, on_block=None, G_off=None):
    """Fixed-step Euler; ``G_off``, optional, is ``D D^T - I`` in the working dtype
    (:func:`_gram_off`, left unchanged), else built here."""
    dtype = X.dtype
    n, k = X.shape[0], D.shape[0]
    eta = dtype.type(dt / tau)
    # u <- u + eta (b - u - T(u) (G - I))  written as  u <- u - (T(u) W - eta b + eta u)
    if G_off is None:
        G_off = D @ D.T
        G_off[np.diag_indices(k)] -= 1
    W = G_off * eta
    U = np.zeros((n, k), dtype) if u0 is None else np.array(u0, dtype=dtype)
    limit = n_steps if n_steps is not None else max_steps
    record = return_traj or on_record is not None
    times, us = [0.0], ([U.copy()] if return_traj else None)
    if on_record is not None:
        on_record(0.0, U, 0)

    def on_step(step):  # recording runs all rows as one block: U is up to date
        if return_traj:
            times.append(step * dt)
            us.append(U.copy())
        if on_record is not None:
            on_record(step * dt, U, step)

    # samples are independent: without records, row blocks bound the working arrays
    block = n if record else BLOCK_SIZE
    products, steps, left_rows = 0, 0, []
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        p, s, left = _euler_block(X[rows], D, W, eta, U[rows], lam, threshold, n_steps, tol,
                                  limit, record_every, on_step if record else None)
        products, steps = products + p, max(steps, s)
        left_rows.append(start + left)
        if on_block is not None:  # a progress bar's update(samples done)
            on_block(rows.stop - rows.start)
    left = np.concatenate(left_rows) if left_rows else np.zeros(0, np.intp)
    if left.size:  # named, so that a user can find them (as lasso_cd's)
        warn_not_converged("lca", max_steps, left.size, n, "max_steps", samples=left,
                           unit="steps", gaps=lca_duality_gaps(X[left], D, U[left], lam, threshold))
    if stats is not None:
        stats.update(products=products, steps=steps)
    traj = _trajectory(np.array(times), np.stack(us), lam, threshold) if return_traj else None
    return U, traj


def _euler_block(X, D, W, eta, U, lam, threshold, n_steps, tol, limit, record_every, on_step):
    """Fixed-step Euler on one block of rows: ``U`` (the block's rows of the states,
    holding their start) is updated in place; ``on_step(step)`` is called every
    ``record_every`` steps and after the last one. Returns the products, the steps
    and the rows (of the block) left above ``tol``."""
    dtype = X.dtype
    Bs = (X @ D.T) * eta
    # a sample stops when its largest change per step is this small
    # relative to each sample's drive at any scale (without one, to its start's state)
    stop = tol * float(eta) * relaxation_scale(np.abs(Bs).max(axis=1) / float(eta), U,
                                               np.finfo(dtype).tiny)
    live = np.arange(X.shape[0])  # rows still moving; Uw holds their states
    Uw, Bw, stop_w = U.copy(), Bs, stop
    # the LASSO thresholds' stop is confirmed by the duality gap (gap_met: a slow mode of
    # coherent atoms moves little far from the fixed point); ||x||^2 of the live rows
    xx_w = (np.einsum("ij,ij->i", X, X, dtype=np.float64)
            if n_steps is None and threshold != "hard" and lam > 0 else None)
    lam_t, eps = dtype.type(lam), float(np.finfo(dtype).eps)  # the gap test's, cast once
    products = 0
    # hard threshold, tolerance stop: each row's step scale, and its count of turns back
    # (:data:`HARD_CYCLE_TURNS`) with the last step at which its active set changed
    guard = threshold == "hard" and n_steps is None
    if guard:
        scale = np.ones(live.size, dtype)
        turns = np.zeros(live.size, np.int64)
        changed_at = np.zeros(live.size, np.int64)
        act_prev, Z_prev = None, None
    for step in range(1, limit + 1):
        Aw = apply_threshold(Uw, lam, threshold)
        Z = Aw @ W
        products += live.size
        Z -= Bw
        Z += eta * Uw  # Z = -du
        if guard:
            moved = np.abs(Z).max(axis=1)  # the tolerance test is on the full step
            act = Aw != 0
            if act_prev is not None:
                _hard_cycle_guard(act, act_prev, Z, Z_prev, step, scale, turns, changed_at, Uw)
            # no copy: Z is a new array every step, and the power-of-2 scaling below
            # keeps the sign of du . du_prev, all the guard reads
            act_prev, Z_prev = act, Z
            if (scale < 1).any():
                Z *= scale[:, None]
        if n_steps is None:  # tested on the state before this step, as the step test
            done = (moved if guard else np.abs(Z).max(axis=1)) <= stop_w
            if xx_w is not None and done.any():
                confirm_euler_rows(done, Uw, Z, Bw, eta, xx_w, lam_t, lam, tol, eps,
                                   threshold == "nonneg")
        Uw -= Z
        if on_step is not None and step % record_every == 0:
            U[live] = Uw
            on_step(step)
        if n_steps is None:
            if done.any():
                U[live[done]] = Uw[done]
                keep = ~done
                live, Uw, Bw, stop_w = live[keep], Uw[keep], Bw[keep], stop_w[keep]
                xx_w = None if xx_w is None else xx_w[keep]
                if guard:
                    scale, turns, changed_at = scale[keep], turns[keep], changed_at[keep]
                    act_prev, Z_prev = act_prev[keep], Z_prev[keep]
                if live.size == 0:
                    break
    U[live] = Uw
    if on_step is not None and step % record_every:
        on_step(step)  # the state returned, whatever the recording period
    return products, step, (live if n_steps is None else live[:0])


#: hard threshold: a row's Euler step is halved once its active set has changed with the
#: update turning back (``du . du_prev < 0``) this many times, each change within
#: :data:`HARD_CYCLE_QUIET` steps of the previous one
HARD_CYCLE_TURNS = 64
#: steps without an active-set change after which a row's count of turns starts again
HARD_CYCLE_QUIET = 8


def _hard_cycle_guard(act, act_prev, Z, Z_prev, step, scale, turns, changed_at, U):
    """Halve the step of rows that cycle between active sets (hard threshold),
    or break the exact ties that make them cycle.

    Euler moves every unit at once: units that would cross the threshold one
    after the other in continuous time (each one's jump in ``a`` changing the
    drive of the others) can cross together, inhibit each other back below the
    threshold together, and so on for ever, a cycle of period 2 or 3 whose
    ``du`` never shrinks. A smaller step lets the first of them cross alone.

    Units in an exact tie (equal ``|u|``: a duplicated or sign-flipped atom,
    or two atoms in a symmetric position to the stimulus) have no first one:
    they cross together at every step size, and in continuous time too, where
    the ideal threshold's symmetric state has no fixed point (both active,
    their mutual inhibition puts both below ``lam``; both silent, their drive
    puts both above). Any asymmetry lets one unit win the competition and
    silence the other (Rozell et al. 2008); here the tie is broken
    deterministically: of the tied units that cycle, the lowest-numbered keeps
    its state and the others are put back to rest (``u = 0``, this step's
    update dropped), from where the winner's inhibition acts on them. Only the
    states of such units change: bit-equal ``|u|`` of crossing units does not
    happen without a tie, so untied problems run as before.
    ``scale``, ``turns``, ``changed_at`` (per row), ``U`` (the states) and
    ``Z`` (the step about to be taken, ``-du``) are updated in place.
    """
    flipped = act != act_prev
    changed = flipped.any(axis=1)
    turns[step - changed_at > HARD_CYCLE_QUIET] = 0
    turned = changed & (np.einsum("ij,ij->i", Z, Z_prev) < 0)
    turns += turned
    changed_at[changed] = step
    cycling = turns >= HARD_CYCLE_TURNS
    if cycling.any():
        halve = cycling.copy()
        for row in np.flatnonzero(cycling):
            units = np.flatnonzero(flipped[row])
            _, first, count = np.unique(np.abs(U[row, units]), return_index=True,
                                        return_counts=True)
            if (count > 1).any():  # units sorted by number: `first` marks each tie's winner
                losers = np.setdiff1d(units, units[first])
                U[row, losers] = 0
                Z[row, losers] = 0
                halve[row] = False  # a broken tie needs no smaller step
        scale[halve] *= 0.5
        turns[cycling] = 0


def _threshold_in_place(U, lam, threshold):
    """``T_lam(U)`` written over ``U`` (the Euler paths' own states) a row block at a
    time, so that the soft threshold's temporaries are a block, not all of ``U``."""
    for start in range(0, U.shape[0], BLOCK_SIZE):
        rows = U[start:start + BLOCK_SIZE]
        apply_threshold(rows, lam, threshold, out=rows)
    return U


#: solve_ivp's methods
IVP_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
#: the ivp path's default atol, relative to the largest drive max|X D^T| (units of u)
IVP_ATOL_RELATIVE = 1e-10
#: longest span the ivp path integrates, in units of tau: LCA settles within ~100 tau
MAX_IVP_SPAN = 1e4


#: settings that only the Euler path uses, with what the ivp path uses instead
EULER_ONLY = {
    "dt": "solve_ivp picks its own steps by rtol and atol; dt sets the span only with "
          "n_steps, to n_steps * dt",
    "tol": "rtol and atol set the ivp path's accuracy, and it runs to the last t_eval",
    "max_steps": "the ivp path runs to the last t_eval, without a step limit",
    "record_every": "t_eval sets the times the ivp path records",
}
#: settings that only the ivp path uses, with what the Euler path uses instead
IVP_ONLY = {
    "t_eval": "the Euler path records every record_every-th step of dt until n_steps or "
              "the tol stop",
    "rtol": "tol sets the Euler path's stop",
    "atol": "tol sets the Euler path's stop",
    "ivp_method": "the Euler path is fixed-step forward Euler",
}
#: settings of the Euler path's tolerance stop, which ``n_steps`` replaces
TOL_STOP_ONLY = {
    "tol": "n_steps runs exactly that many steps, without a tolerance stop",
    "max_steps": "n_steps runs exactly that many steps",
}


def _ignored_settings(integrator, n_steps, given):
    """The settings in ``given`` (name: value as passed) that ``integrator`` ignores (and
    ``tol``, ``max_steps`` on the Euler path with ``n_steps``) and that differ from their
    default, each as "name=value (what it uses instead)"."""
    others = EULER_ONLY if integrator == "ivp" else IVP_ONLY
    if integrator == "euler" and n_steps is not None:  # a fixed count: no tolerance stop
        others = {**others, **TOL_STOP_ONLY}
    ignored = []
    for name, instead in others.items():
        value, default = given[name], _DEFAULTS[name]
        if name == "dt" and n_steps is not None:  # n_steps * dt is the ivp path's span
            continue
        if value is None if default is None else np.array_equal(value, default):
            continue
        ignored.append(f"{name}={describe(value)} ({instead})")
    return ignored


def _check_ivp(t_eval, n_steps, dt, dt_given, tau, rtol, atol, method):
    """Validate the ivp path's settings; return the output times (s), rtol and atol.
    ``t_eval`` and ``n_steps * dt`` (``dt`` as given, or the default when not
    ``dt_given``) both set the span: given together, they must agree."""
    rtol = check_positive(rtol, "rtol")
    atol = None if atol is None else check_positive(atol, "atol")
    check_choice(method, "ivp_method", IVP_METHODS)
    if t_eval is None:
        t_end = (n_steps * dt) if n_steps is not None else 50.0 * tau
        t_eval = np.linspace(0.0, t_end, 201)
    else:
        t_eval = check_array(t_eval, "t_eval", ndim=1)
        if np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or t_eval[-1] <= 0:
            raise ValueError(f"t_eval must be non-negative, strictly increasing and end after "
                             f"t = 0, got {describe(t_eval)} from {t_eval[0]:g} to "
                             f"{t_eval[-1]:g} s")
        # both set where the run ends: t_eval used to win silently over n_steps * dt
        if n_steps is not None and not np.isclose(n_steps * dt, t_eval[-1], rtol=1e-9,
                                                  atol=0.0):
            which = f"dt={dt!r} s" if dt_given else f"the default dt={dt:.6g} s"
            raise ValueError(
                f"t_eval ends at t = {t_eval[-1]:g} s but n_steps={n_steps} steps of {which} "
                f"end at {n_steps * dt:.6g} s: both set the ivp path's span; give t_eval "
                f"alone, n_steps and dt alone, or values that agree")
    if t_eval[-1] > MAX_IVP_SPAN * tau:
        raise ValueError(
            f"the ivp path would integrate to t = {t_eval[-1]:g} s = {t_eval[-1] / tau:.3g} tau "
            f"(t_eval, or n_steps * dt); LCA settles within ~100 tau, and more than "
            f"{MAX_IVP_SPAN:g} tau is refused"
        )
    return t_eval, rtol, atol


def _ivp(X, D, lam, threshold, tau, dt, n_steps, u0, t_eval, rtol, atol, method, return_traj,
         on_record=None, bar=None, check_settled=False):
    """solve_ivp to the last ``t_eval``; with ``check_settled`` (the default span), warn
    of the samples still moving at its end (:func:`_warn_unsettled`)."""
    from scipy.integrate import solve_ivp

    X = X.astype(np.float64)
    D = D.astype(np.float64)
    n, k = X.shape[0], D.shape[0]
    G_off = D @ D.T
    G_off[np.diag_indices(k)] -= 1
    B = X @ D.T
    U0 = np.zeros(n * k) if u0 is None else np.asarray(u0, dtype=np.float64).ravel()
    # each sample's scale of u: its drive, or without one its start (relaxation_scale)
    scale = relaxation_scale(np.abs(B).max(axis=1), U0.reshape(n, k), np.finfo(np.float64).tiny)
    if atol is None:  # u scales with the drive
        atol = IVP_ATOL_RELATIVE * float(scale.max())
    t_end = float(t_eval[-1])

    reached = [0.0]  # simulated time shown by the bar, in units of tau

    def rhs(t, u):
        if bar is not None and t / tau > reached[0]:  # the stages of a step go back and forth
            bar.update(t / tau - reached[0])
            reached[0] = t / tau
        return lca_rhs(u.reshape(n, k), B, G_off, lam, threshold, tau).ravel()

    sol = solve_ivp(rhs, (0.0, t_end), U0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    U_t = sol.y.T.reshape(-1, n, k)
    if check_settled:
        _warn_unsettled(U_t[-1], B, scale, G_off, lam, threshold, tau, t_end)
    if on_record is not None:
        for t, U in zip(sol.t, U_t):
            on_record(float(t), U)
    traj = _trajectory(sol.t, U_t, lam, threshold) if return_traj else None
    return U_t[-1], traj, atol


def _warn_unsettled(U, B, drive, G_off, lam, threshold, tau, t_end):
    """Warn (:class:`ConvergenceWarning`) of the samples whose state ``U`` still moves
    at ``t_end``, the end of the ivp path's default span, by the Euler path's stop with
    its default ``tol``: ``tau max|du/dt| > tol * drive`` per sample, ``drive`` its
    ``max|b|`` (its start's ``max|u0|`` without a drive: :func:`relaxation_scale`).

    Slow modes (atoms of small norm, a coherent dictionary: small eigenvalues of the
    active atoms' Gram matrix) relax as ``exp(-mu t / tau)`` with ``mu`` << 1, and the
    default span of 50 tau stopped them short of the fixed point without a word
    (a single atom of norm 0.2: mu = 0.04, codes 14% low).
    """
    tol = _DEFAULTS["tol"]
    moved = np.abs(lca_rhs(U, B, G_off, lam, threshold, tau)).max(axis=1) * tau
    # relative to each sample's drive, as the Euler stop
    left = np.flatnonzero(moved > tol * drive)
    if left.size == 0:
        return
    span = f"t = {t_end:g} s = {t_end / tau:g} tau"
    tally = current_tally()
    if tally is not None:  # a learner's minibatch: warned of once, at the run's end
        P = tally.params_name
        tally.add(f"lca(integrator='ivp') stopped at the end of its default span, {span},",
                  left.size, U.shape[0],
                  f"lengthen the span with {P}['t_eval'] ending later, or with "
                  f"{P}['n_steps'] and {P}['dt'], or use {P}['integrator']='euler', which "
                  f"stops by tol")
        return
    shown = ", ".join(str(int(i)) for i in left[:N_SAMPLES_NAMED])
    more = ", ..." if left.size > N_SAMPLES_NAMED else ""
    worst = float((moved / drive).max())
    # named as the caller's user sets them (a learner's transform_params)
    t_eval, n_steps, dt = (knob(k, now=False) for k in ("t_eval", "n_steps", "dt"))
    warnings.warn(
        f"lca(integrator='ivp') stopped at the end of its default span, {span}, with "
        f"{left.size} of {U.shape[0]} samples still moving "
        f"(row{'s' if left.size > 1 else ''} {shown}{more} of X): tau * max|du/dt| is up to "
        f"{worst:.3g} * max|b|, above the Euler path's stop tol={tol:g}, so their codes are "
        f"short of the fixed point (slow modes: atoms of small norm or a coherent "
        f"dictionary); lengthen the span with {t_eval} ending later (e.g. "
        f"{t_eval}=np.linspace(0, {10 * t_end:g}, 201)) or with {n_steps} and {dt} "
        f"(n_steps * dt), up to {MAX_IVP_SPAN:g} tau, or use {knob('integrator', False)}"
        f"='euler', which stops by tol",
        ConvergenceWarning, stacklevel=shortfall_stacklevel())


def _trajectory(t, U_t, lam, threshold):
    A_t = apply_threshold(U_t, lam, threshold)
    ds = xr.Dataset(
        {
            "u": (("time", "sample", "atom"), U_t),
            "a": (("time", "sample", "atom"), A_t),
        },
        coords={"time": ("time", np.asarray(t, dtype=float), {"units": "s"})},
    )
    # u and a are coefficients of the atoms, so X = a D: they carry X's units (as the
    # learning history's codes do), not "1"
    ds["u"].attrs.update(long_name="membrane state", units="units of X")
    ds["a"].attrs.update(long_name="output activity T(u)", units="units of X")
    return ds
