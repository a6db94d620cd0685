"""Convolutional sparse codes of whole signals: the LCA, ISTA and FISTA.

Per signal, the codes minimise

    E(a) = 0.5 * ||x - Φ a||^2 + lam * ||a||_1

where Φ places every kernel at every position (:mod:`.operator`). Both
solvers use the residual form, which never builds the lateral-inhibition
kernels: the LCA's ``τ du/dt = Φᵀ(x - Φ T(u)) + T(u) - u`` is the dense
``b - u - (ΦᵀΦ - I) T(u)`` (Rozell et al. 2008, eq. 3.4), and each ISTA step
is ``a <- T(a + Φᵀ(x - Φ a) / L)`` (FISTA: from its momentum point; ISTA:
with a step ``1/L_i`` per signal found by backtracking, never below ``1/L``).
One step costs one synthesis and one analysis. Signals are solved in blocks,
and a signal stops on its own when it meets the tolerance.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from .._blas import blas_threads_for_step
from .._frames import user_stacklevel
from ..inference._common import (THRESHOLDS, ConvergenceWarning, apply_threshold,
                                  check_products_in_range, duality_gap_met,
                                  history_dataset, warn_not_converged)
# ISTA's backtracked step (_backtracked_step) takes the dense FISTA's: each signal's L_i
# starts at START L, is tried SHRINK times smaller every step, never below FLOOR L, and
# SLACK allows float32 rounding in its test
from ..inference.fista_backtracking import FLOOR as _FLOOR
from ..inference.fista_backtracking import SHRINK as _SHRINK
from ..inference.fista_backtracking import SLACK as _SLACK
from ..inference.fista_backtracking import START as _START
from ..inference.lca import TOL_STOP_ONLY
from ..progress import check_progress, progress_bar
from ..validation import (array_shape, check_array, check_bool, check_choice, check_int,
                          check_nonnegative, check_positive, check_shape, describe)
from .operator import (BOUNDARIES, CODES_GEOMETRY, ConvolutionalDictionary, _axis_geometry,
                       _check_axes, check_geometry, codes_by_dim_name, kernels_by_dim_name,
                       signals_by_dim_name)

__all__ = ["encode", "reconstruct", "objective", "METHODS", "ConvergenceWarning"]

#: the solvers :func:`encode` runs
METHODS = ("lca", "fista", "ista")
#: code entries per block of signals (bounds the work arrays, ~32 MB each in float32)
_BLOCK_ELEMENTS = 8 * 2**20


def encode(X, kernels, lam, *, method: str = "lca", stride=None, boundary: str | None = None,
           threshold: str = "soft", tau: float | None = None, dt: float | None = None,
           n_steps: int | None = None, tol: float | None = None, max_iter: int = 5000,
           codes0=None, dtype=None, return_history: bool = False,
           progress: bool | None = None):
    """Convolutional sparse codes of ``X`` by the LCA or (F)ISTA.

    Parameters
    ----------
    X : array_like, shape (n_samples, *signal_shape) or signal_shape
        Whole signals: images (n_images, height, width) or sounds
        (n_sounds, n_times), e.g. whitened. An ``xarray.DataArray`` is read by
        dim name (sounds ``(sample, time)``, images ``(sample, y, x)`` or
        ``(image, y, x)``, in any order); sounds that carry a rate
        (``attrs["sample_rate_hz"]`` or a ``time`` coordinate in s) must be at
        the kernels' own, when they carry one. Every signal axis is spatial:
        colour images ``(n, C, height, width)`` with kernels ``(n_kernels, C,
        kh, kw)`` are volumes ``C`` deep, coded at ``2C - 1`` positions along
        the channels under ``"full"``; only ``boundary="valid"`` sums over
        the channels at one position (:mod:`v1model.convolutional.operator`).
    kernels : array_like, shape (n_kernels, *kernel_shape) or ConvolutionalDictionary
        The kernels (one per row, normally unit norm), or a
        :class:`ConvolutionalDictionary` (then ``stride`` and ``boundary`` are
        its own: given, they must match it; its ``signal_shape`` must be
        ``X``'s).
    lam : float
        L1 penalty, >= 0, in units of ``X`` (the LCA's threshold).
    method : {"lca", "fista", "ista"}, default "lca"
        The LCA ODE by Euler steps, or ISTA with (FISTA) or without momentum
        (ISTA: a step per signal found by backtracking, never below ``1/L``).
    stride : int or tuple of int, optional
        Distance between kernel copies, in samples; default 1 (a
        dictionary's own).
    boundary : {"full", "valid", "circular"}, optional
        Where the copies sit (:mod:`v1model.convolutional.operator`); default
        "full" (a dictionary's own).
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        LCA: soft (LASSO), hard (approximate L0) or rectified soft (the
        non-negative LASSO). (F)ISTA: "soft" or "nonneg".
    tau : float, optional
        LCA membrane time constant, in seconds; default 0.01 (10 ms).
        Refused with (F)ISTA, which has no time constant.
    dt : float, optional
        LCA Euler step in seconds; must stay below ``2 tau / max(L, 1)``
        with ``L`` the upper bound on ``||Φ||²`` of
        :meth:`ConvolutionalDictionary.lipschitz` (the loop is stable below
        ``2 tau / max(||Φ||², 1)``, a limit this may undercut when few
        copies fit; the 1 is the leak of the inactive units, which matters
        for kernels of norm below 1).
        Default ``tau / max(L, 1)``.
    n_steps : int, optional
        Run exactly this many steps (no tolerance stop), like lca-pytorch's
        ``lca_iters``. A ``tol`` or a ``max_iter`` other than 5000 given
        with it is ignored and warned of (``UserWarning``), as
        :func:`v1model.inference.lca` does.
    tol : float, optional
        Stop a signal when, over one step, the LCA's largest ``τ du/dt`` is
        at most ``tol`` times its largest drive ``max|Φᵀx|``, or (F)ISTA's
        largest code change at most ``tol`` times its largest code (the
        dense FISTA's rule; each kernel's change weighed by
        ``max_k ||k|| / ||k_j||`` (ISTA: its square), which the step ``1/L``
        slows it by, so
        kernels of unequal norms stop as accurately as unit-norm ones) and
        its duality gap at most ``tol * ||x||^2`` (scikit-learn's Lasso's
        rule; it bounds the objective gap: the plain step right after a
        momentum restart, ~30x shorter, met the change test alone at relative
        gaps up to 1.2e-3 on random 12x12 signals).
        Default 1e-3 for the LCA and 1e-4 for (F)ISTA
        (on natural crops: gaps 8e-5 and 9e-6; ``tests/convolutional``
        checks the gaps against scikit-learn's Lasso).
    max_iter : int, default 5000
        Step limit when stopping by tolerance (a ConvergenceWarning names
        the signals that did not meet it).
    codes0 : array_like, shape (n_samples, n_kernels, *code_shape), optional
        Starting codes (LCA: starting membrane state ``u``).
    dtype : {float32, float64}, optional
        Working precision; default float32 (a dictionary's own; given, it
        converts the dictionary).
    return_history : bool, default False
        Also return the objective, data term, penalty (summed over signals)
        and the mean active count per signal, per step, as an
        ``xarray.Dataset`` over ``iteration`` (costs a synthesis per step).
    progress : bool or None, default None
        A progress bar over the solver's steps, every block of signals' in
        turn: with ``n_steps``, of their total; with the tolerance stop,
        without one (``max_iter`` is a cap, which a run seldom reaches).
        None once the call has run 2 s (:mod:`v1model.progress`), True at
        once, False never.

    Returns
    -------
    codes : ndarray, shape (n_samples, n_kernels, *code_shape)
        One coefficient map per kernel and signal.
    history : xarray.Dataset, optional
        With ``return_history`` (one block of signals only: pass fewer signals).
        Its attrs record the run's settings: ``n_steps`` when given (and no
        ``tol`` or ``max_iter``, which it ignores), else ``tol``, ``max_iter``
        and ``n_steps="None"``.

    Warns
    -----
    UserWarning
        For signals ``X`` of integer samples or pixels (``scipy.io.wavfile``'s
        int16 sounds, full scale 32768; uint8 or uint16 images, white 255 or
        65535), taken as they are, with ``lam`` below 1, one step of them
        (:func:`warn_integer_signals`: at ``lam=0.1`` every coefficient of
        int16 noise was active). Once per call.

    References
    ----------
    Rozell, C. J., Johnson, D. H., Baraniuk, R. G. & Olshausen, B. A. (2008).
    Sparse coding via thresholding and local competition in neural circuits.
    Neural Computation 20, 2526-2563.
    Schultz, P. F., Paiton, D. M., Lu, W. & Kenyon, G. T. (2014). Replicating
    kernels with a short stride allows sparse reconstructions with fewer
    independent kernels. arXiv:1406.4205.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.convolutional import encode
    >>> rng = np.random.default_rng(0)
    >>> kernels = rng.standard_normal((4, 5, 5))
    >>> kernels /= np.linalg.norm(kernels.reshape(4, -1), axis=1)[:, None, None]
    >>> codes = encode(rng.standard_normal((2, 16, 16)), kernels, 0.5, stride=2)
    >>> codes.shape
    (2, 4, 10, 10)
    """
    if method == "mp":  # greedy: no lam, its own stopping rules
        raise ValueError("method='mp': matching pursuit has no lam; call "
                         "v1model.convolutional.matching_pursuit(X, kernels, n_nonzero=... "
                         "or snr_db=...)")
    method = check_choice(method, "method", METHODS)
    phi = as_dictionary(kernels, X, stride, boundary, dtype)
    X_given = X  # its dtype: integer samples are warned of
    X = phi.check_signals(X, "X")
    # kernels ~1e-25 or signals ~1e25 would give inf / NaN codes in float32: refused
    # as the dense solvers refuse them (||x||^2 bounds every product over the signal)
    check_products_in_range(X.reshape(len(X), -1), phi.kernels.reshape(phi.n_kernels, -1),
                            phi.dtype, d_name="kernels", atom="kernel")
    lam = check_nonnegative(lam, "lam")
    warn_integer_signals(X_given, phi.ndim, "lam", lam, LAM_BELOW_STEP)
    threshold = check_choice(threshold, "threshold", THRESHOLDS)
    if method != "lca" and threshold == "hard":
        raise ValueError(f"threshold='hard' is an LCA nonlinearity; method={method!r} "
                         "takes 'soft' or 'nonneg'")
    if method != "lca" and tau is not None:  # it was ignored, unsaid
        raise ValueError(f"tau={tau!r} is the LCA's membrane time constant; "
                         f"method={method!r} has none (it takes its step itself, from "
                         "1/||Φ||²)")
    tau = check_positive(0.01 if tau is None else tau, "tau")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if n_steps is not None:
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        # the tolerance stop's settings, which n_steps replaces: warned of, as lca does
        ignored = [f"{name}={describe(value)} ({TOL_STOP_ONLY[key]})"
                   for name, key, value, default in (
                       ("tol", "tol", tol, None),
                       ("max_iter", "max_steps", max_iter, encode.__kwdefaults__["max_iter"]))
                   if value != default]
        if ignored:
            warnings.warn(f"convolutional encode(method={method!r}) ignores "
                          f"{'; '.join(ignored)}", UserWarning, stacklevel=user_stacklevel())
    if tol is None:
        tol = 1e-3 if method == "lca" else 1e-4
    tol = check_positive(tol, "tol")
    check_bool(return_history, "return_history")
    check_progress(progress)
    L = phi.lipschitz()
    if method == "lca":
        # active units move with the eigenvalues of ΦᵀΦ (at most L), inactive ones
        # relax through the leak -u at rate 1
        limit = 2 * tau / max(L, 1.0)
        dt = 0.5 * limit if dt is None else check_positive(dt, "dt")
        if dt >= limit:
            # L is an upper bound (several times ||Φ||² when few copies fit): a dt at or
            # above the limit may be unstable, not shown to be
            raise ValueError(f"dt={dt!r} s is not below 2 tau / max(L, 1) = {limit:.3g} s, "
                             f"with L = {L:.4g} the upper bound on ||Φ||² of "
                             "ConvolutionalDictionary.lipschitz(): the Euler loop may be "
                             "unstable; use a smaller dt (default tau / max(L, 1))")
        step = dt / tau
    else:
        if dt is not None:
            raise ValueError(f"dt={dt!r} is the LCA's Euler step; method={method!r} takes "
                             "its step itself (from 1/||Φ||²)")
        step = 1.0 / L
    n = X.shape[0]
    shape = (n, phi.n_kernels) + phi.code_shape
    if codes0 is not None:
        codes0 = check_shape(check_array(codes_by_dim_name(codes0, phi.ndim, "codes0"),
                                         "codes0", ndim=len(shape), dtype=phi.dtype),
                             "codes0", shape)
        codes0 = np.moveaxis(codes0, 1, -1)
    per_signal = phi.n_coefficients
    block = max(1, _BLOCK_ELEMENTS // per_signal)
    if return_history and n > block:
        raise ValueError(f"return_history records one block of signals; X has {n} signals "
                         f"of {per_signal} coefficients each, more than {block}: pass fewer")
    out = np.empty((n,) + phi.code_shape + (phi.n_kernels,), phi.dtype)
    records = [] if return_history else None
    # one step: a synthesis and an analysis, each a product of every window with the
    # kernels; small steps run on one BLAS thread (threaded BLAS collapses on them as
    # soon as another process wants a core, v1model._blas)
    flops = 4.0 * min(n, block) * phi.n_coefficients * int(np.prod(phi.kernel_shape))
    with blas_threads_for_step(flops):
        stalled = _solve_blocks(phi, X, lam, threshold, step, n_steps, tol, max_iter, codes0,
                                records, method, block, progress, out)
    if stalled.size:  # the rows named, as the dense solvers name theirs
        warn_not_converged(f"convolutional {method}", max_iter, stalled.size, n,
                           samples=stalled)
    codes = np.moveaxis(out, -1, 1)
    if not return_history:
        return codes
    params = dict(model=f"convolutional {method}", lam=lam, stride=list(phi.stride),
                  boundary=phi.boundary, threshold=threshold, lipschitz=L, step=step,
                  dtype=phi.dtype.name)
    # what ran: n_steps, or the tolerance stop's settings (n_steps ignores them, warned of)
    if n_steps is not None:
        params.update(n_steps=n_steps)
    else:
        params.update(tol=tol, max_iter=max_iter, n_steps="None")
    if method == "lca":
        params.update(tau=tau, dt=dt)
    else:  # ISTA's step: 1/L at the shortest (_backtracked_step)
        params.update(step_rule="backtracking" if method == "ista" else "constant")
    # each record follows a step (none is of the start): iteration 1 is the first step's,
    # as the dense solvers count theirs (it was 0, with time dt)
    hist = history_dataset(records, f"convolutional {method}",
                           iterations=np.arange(1, len(records) + 1), **params)
    if method == "lca":
        hist = hist.assign_coords(time=("iteration", dt * np.arange(1, len(records) + 1),
                                        {"units": "s", "long_name": "simulated time"}))
    return codes, hist


def _solve_blocks(phi, X, lam, threshold, step, n_steps, tol, max_iter, codes0, records,
                  method, block, progress, out) -> int:
    """Solve ``X`` block by block into ``out`` (channels last); the rows of ``X``
    left unconverged.

    The bar counts steps, each block's in turn: a few whole images are one
    block, which may run for minutes, so a bar over blocks would stay at 0 / 1.
    Its total is ``n_steps`` per block, or none with the tolerance stop (a total of
    ``max_iter``, 5000 by default, promised minutes for a block that stopped at a
    few hundred steps, as matching pursuit's did).
    """
    starts = range(0, len(X), block)
    stalled = []
    solve = _lca if method == "lca" else _ista
    with progress_bar(progress, total=len(starts) * n_steps if n_steps else None,
                      desc=f"convolutional {method}", unit="step") as bar:
        for start in starts:
            rows = slice(start, start + block)
            init = None if codes0 is None else codes0[rows]
            out[rows], left, _ = solve(phi, X[rows], lam, threshold, step, n_steps, tol,
                                       max_iter, init, records,
                                       accelerated=method == "fista", on_step=bar.update)
            stalled.append(start + left)
    return np.concatenate(stalled) if stalled else np.empty(0, dtype=np.intp)


def reconstruct(codes, kernels, signal_shape=None, *, stride=None,
                boundary: str | None = None, dtype=None) -> np.ndarray:
    """Signals ``Φ a`` made by convolutional codes.

    Parameters
    ----------
    codes : array_like, shape (n_samples, n_kernels, *code_shape), or xarray.Dataset
        A DataArray with the dims of :meth:`ConvolutionalDictionary.codes_dataset`
        is read by name, and the geometry that method records in its attrs
        (``signal_shape``, ``stride``, ``boundary``) is used: a saved
        ``ds.codes`` needs only ``ds.kernels``. The whole Dataset may be
        given (:func:`codes_of_dataset`): its codes are taken, and a copy of
        the geometry in its attrs (codes files written before 2026-12-08)
        must agree with theirs, or completes it (older files); another
        Dataset's attrs (e.g. those of
        :func:`~v1model.convolutional.learn_kernels`, whose ``signal_shape``
        is the training images') are never taken as the codes' geometry.
    kernels : array_like, shape (n_kernels, *kernel_shape) or ConvolutionalDictionary
        The kernels, or a :class:`ConvolutionalDictionary` (then
        ``signal_shape``, ``stride`` and ``boundary`` are its own: given, they
        must match it; as in :func:`encode`).
    signal_shape : tuple of int, optional
        Shape of one signal (the code shape alone does not fix it when
        ``stride > 1``); needed with kernels, unless the codes' attrs record
        it; a dictionary's own otherwise.
    stride : int or tuple of int, optional
        Distance between kernel copies, in samples (as in :func:`encode`);
        default the codes' attrs', else 1 (a dictionary's own).
    boundary : {"full", "valid", "circular"}, optional
        Where the copies sit (as in :func:`encode`); default the codes'
        attrs', else "full" (a dictionary's own).
    dtype : {float32, float64}, optional
        Working precision; default float64 when the codes and the kernels
        are both float64 arrays (NumPy or xarray), as a dense ``codes @ D``
        stays in float64, else float32 (a dictionary's own; given, it
        converts the dictionary).

    Returns
    -------
    ndarray, shape (n_samples, *signal_shape)
        In the working precision.

    Raises
    ------
    ValueError
        Without ``signal_shape`` for kernels and codes whose attrs do not
        record it, with a ``signal_shape``, ``stride`` or ``boundary`` other
        than a dictionary's own or the one the codes' attrs record, for a
        Dataset whose attrs record another geometry than its codes', or for
        codes of another shape than the dictionary's (with kernels and no
        stride or boundary, given or recorded: naming the missing one and
        the strides that give the codes' shape).
    """
    source, codes = codes, codes_of_dataset(codes)
    given = _codes_geometry(codes, kernels, signal_shape=signal_shape, stride=stride,
                            boundary=boundary)
    if isinstance(kernels, ConvolutionalDictionary):
        if given["signal_shape"] is not None and _check_axes(
                given["signal_shape"], "signal_shape", kernels.ndim,
                minimum=1) != kernels.signal_shape:
            _refuse_other_geometry("signal_shape", signal_shape, kernels.signal_shape)
        return as_dictionary(kernels, None, given["stride"], given["boundary"],
                             dtype).synthesize(codes)
    if given["signal_shape"] is None:
        raise ValueError("reconstruct needs signal_shape, the shape of one signal, with "
                         "kernels given as an array (or pass a ConvolutionalDictionary, or "
                         "the codes of codes_dataset, whose attrs record it)"
                         + _unrecorded_geometry_advice(codes, source))
    if dtype is None:  # float64 inputs stay float64 (they came back float32, ~1e-7 off)
        both = all(getattr(a, "dtype", None) == np.float64 for a in (codes, kernels))
        dtype = np.float64 if both else np.float32
    phi = ConvolutionalDictionary(
        kernels, given["signal_shape"], dtype=dtype,
        stride=1 if given["stride"] is None else given["stride"],
        boundary="full" if given["boundary"] is None else given["boundary"])
    _check_codes_fit(codes, phi, given, source)
    return phi.synthesize(codes)


def _codes_geometry(codes, kernels, **given) -> dict:
    """The geometry ``given`` (``signal_shape``, ``stride``, ``boundary``; None where not
    given) completed from the one the codes' attrs record (:func:`_recorded_geometry`).

    A given value other than the recorded one is refused by name, and so are recorded
    values other than a :class:`ConvolutionalDictionary` ``kernels``' own (codes of
    another dictionary)."""
    recorded = _recorded_geometry(codes)
    for name, own in recorded.items():
        value = given[name]
        if value is not None and _geometry_value(name, value, own) != own:
            raise ValueError(f"{name}={value!r} disagrees with the codes' own {name}={own!r} "
                             f"(their attrs[{name!r}], as codes_dataset records it): leave "
                             f"{name} out")
        given[name] = own
    if isinstance(kernels, ConvolutionalDictionary):
        for name, own in recorded.items():
            if getattr(kernels, name) != own:
                raise ValueError(f"the codes' attrs[{name!r}]={own!r} disagree with the "
                                 f"ConvolutionalDictionary's own {name}="
                                 f"{getattr(kernels, name)!r}: pass the codes of this "
                                 "dictionary, or its kernels as an array")
    return given


def _unrecorded_geometry_advice(codes, source=None) -> str:
    """For a DataArray of codes whose attrs record no geometry (``ds.codes`` of a file
    saved before the codes carried it): where that file keeps it, else ``""``. For codes
    taken from a Dataset ``source`` (:func:`codes_of_dataset`) that is no such file but
    whose attrs hold geometry of its own call (a learning record): that it was not taken."""
    import xarray as xr

    if isinstance(source, xr.Dataset):
        held = [key for key in CODES_GEOMETRY if key in source.attrs]
        if not held or _is_old_codes_file(source):
            return ""
        values = {key: (repr(str(source.attrs[key])) if key == "boundary" else
                        str(tuple(np.atleast_1d(source.attrs[key]).tolist())))
                  for key in held}
        return ("; the Dataset's attrs hold "
                + ", ".join(f"{key}={value}" for key, value in values.items())
                + ", but it is not a codes file of before 2026-12-08 (codes_dataset's or "
                "spiking_convolutional_lca's): those attrs record the call that made it "
                "(learn_kernels' signal_shape is the training images'), not the codes' "
                "geometry; pass the signal_shape, stride and boundary the codes were "
                "encoded with")
    if not hasattr(codes, "attrs") or not hasattr(codes, "dims"):
        return ""
    return ("; these codes (a DataArray) record no geometry in their attrs, as ds.codes "
            "of a file saved before the codes carried it: the Dataset's attrs do, so pass "
            "the Dataset itself as codes (reconstruct(ds, ds.kernels)), or "
            "signal_shape=ds.attrs['signal_shape'], stride=ds.attrs['stride'], "
            "boundary=ds.attrs['boundary']")


#: the variables of a Dataset that hold codes, in the order they are looked for:
#: :meth:`ConvolutionalDictionary.codes_dataset`'s, then the spiking simulator's
CODES_VARIABLES = ("codes", "code")


def codes_of_dataset(codes):
    """``codes`` as given, or, for an ``xarray.Dataset`` of
    :meth:`ConvolutionalDictionary.codes_dataset` (or of
    :func:`~v1model.spiking.spiking_convolutional_lca`), its codes variable with the
    geometry it records.

    The codes' own attrs are the record: they travel with ``ds.codes`` alone. Codes
    files written before 2026-12-08 also hold the geometry in the Dataset's attrs: a
    copy there that disagrees with the codes' is refused, naming both (it was ignored,
    unsaid, when edited); files written before the codes carried it hold it there only,
    and it is taken from there. Only such a file's attrs are read so
    (:func:`_is_old_codes_file`): those of another Dataset given codes, e.g. of
    :func:`~v1model.convolutional.learn_kernels` (``ds.assign(codes=...)``), record the
    call that made it (its ``signal_shape`` is the training images'), and are never
    taken as the codes' geometry. A Dataset's ``sample_rate_hz`` is checked against its
    codes' ``time`` coordinate in s.

    Parameters
    ----------
    codes : array_like, xarray.DataArray or xarray.Dataset

    Returns
    -------
    array_like or xarray.DataArray
        ``codes`` itself, or the Dataset's codes (a shallow copy whose attrs hold the
        geometry).

    Raises
    ------
    ValueError
        For a Dataset without a codes variable, or whose attrs and codes' attrs record
        different geometries or rates.
    """
    import xarray as xr

    if not isinstance(codes, xr.Dataset):
        return codes
    ds = codes
    name = next((v for v in CODES_VARIABLES if v in ds.data_vars), None)
    if name is None:
        raise ValueError(f"codes: the Dataset has none of the variables "
                         f"{', '.join(map(repr, CODES_VARIABLES))} (it has "
                         f"{', '.join(map(repr, ds.data_vars)) or 'no variables'}); pass "
                         "the Dataset of codes_dataset or spiking_convolutional_lca, or "
                         "its codes variable")
    out = ds[name].copy(deep=False)
    out.attrs = dict(out.attrs)
    own = _recorded_geometry(out, f"ds[{name!r}]")
    # another Dataset's stride, boundary and signal_shape are its own call's (learn_kernels:
    # the training images' shape, which was refused beside the codes' own or taken as theirs)
    copy = _recorded_geometry(ds, "ds") if _is_old_codes_file(ds) else {}
    for key, theirs in copy.items():
        if key not in own:  # a file saved before the codes carried their geometry
            out.attrs[key] = ds.attrs[key]
        elif theirs != own[key]:
            raise ValueError(
                f"ds[{name!r}].attrs[{key!r}]={own[key]!r} and ds.attrs[{key!r}]="
                f"{theirs!r} disagree: the codes' attrs are the record (they go with "
                f"ds[{name!r}] alone); correct or delete ds.attrs[{key!r}] (files written "
                "before 2026-12-08 hold both)")
    if "sample_rate_hz" in ds.attrs:
        rate = check_positive(ds.attrs["sample_rate_hz"], "ds.attrs['sample_rate_hz']")
        for where, theirs in _coordinate_rates(ds, name):
            if abs(theirs - rate) > 1e-6 * rate:
                raise ValueError(
                    f"ds.attrs['sample_rate_hz']={rate:g} and {where}, {theirs:g} Hz, "
                    "disagree: the coordinates are the record (they go with the variables "
                    "alone); correct or delete ds.attrs['sample_rate_hz']")
    return out


#: the ``long_name`` of the kernels of the codes files whose attrs held the geometry too:
#: :meth:`ConvolutionalDictionary.codes_dataset`'s and the spiking simulator's (made by it),
#: written from 2026-12-04 to 2026-12-08; learn_kernels' are "unit-norm convolution
#: kernels", a saved network's "receptive fields shared by every position"
OLD_CODES_FILE_KERNELS = "convolution kernels"


def _is_old_codes_file(ds) -> bool:
    """Whether the Dataset ``ds`` is a codes file written before 2026-12-08, whose attrs
    hold its codes' geometry: by :meth:`ConvolutionalDictionary.codes_dataset` or
    :func:`~v1model.spiking.spiking_convolutional_lca`, the only writers that put it
    there. Told by what both wrote (files are no longer written so: the set is closed):
    all of :data:`~.operator.CODES_GEOMETRY` in ``ds.attrs``, a ``kernels`` variable
    named :data:`OLD_CODES_FILE_KERNELS`, and no mark of a record of another kind, whose
    attrs hold a ``stride``, ``boundary`` or ``signal_shape`` of its own call: no
    ``attrs["kind"]`` (a saved object, e.g. a network) and no ``update`` dimension (a
    learning history, of :func:`~v1model.convolutional.learn_kernels` or
    :meth:`ConvolutionalNetwork.learn`)."""
    if not all(key in ds.attrs for key in CODES_GEOMETRY):
        return False
    if "kind" in ds.attrs or "update" in ds.dims or "kernels" not in ds.data_vars:
        return False
    return ds["kernels"].attrs.get("long_name") == OLD_CODES_FILE_KERNELS


def _coordinate_rates(ds, name: str) -> list:
    """The sample rates (Hz) the coordinates of a Dataset of codes record, as
    ``(where, rate)``: its codes' onsets (``time`` in s against ``time_sample``, which
    step by the stride) and its kernels' ``lag`` in s."""
    out = []
    codes = ds[name]
    if {"time", "time_sample"} <= set(codes.coords) and codes.sizes.get("time", 0) >= 2 \
            and codes["time"].attrs.get("units") == "s":
        t = np.asarray(codes["time"].values, dtype=np.float64)
        n = np.asarray(codes["time_sample"].values, dtype=np.float64)
        if t[-1] != t[0]:
            out.append((f"the rate of ds[{name!r}]'s 'time' coordinate (s, against "
                        "'time_sample')", float((n[-1] - n[0]) / (t[-1] - t[0]))))
    if "kernels" in ds.data_vars:
        from ..validation import sample_rate_by_labels

        kernels = ds["kernels"].copy(deep=False)
        kernels.attrs = {}
        lag = sample_rate_by_labels(kernels, None, "ds['kernels']", time_dims=("lag",))
        if lag is not None:
            out.append(("the rate of ds['kernels']'s 'lag' coordinate (s)", lag))
    return out


def _recorded_geometry(codes, where: str = "codes") -> dict:
    """The geometry (:data:`~.operator.CODES_GEOMETRY`) a DataArray of codes (or a
    Dataset, ``where="ds"``) records in its attrs, as
    :meth:`ConvolutionalDictionary.codes_dataset` writes it: tuples of int and a boundary
    name, checked (a damaged file's are named); empty for other codes."""
    attrs = getattr(codes, "attrs", None)
    if not isinstance(attrs, dict):
        return {}
    out = {}
    for name in CODES_GEOMETRY:
        if name in attrs:
            value = attrs[name]
            label = f"{where}.attrs[{name!r}]"
            out[name] = (check_choice(str(value), label, BOUNDARIES) if name == "boundary"
                         else _check_axes(np.atleast_1d(value).tolist(), label,
                                          np.size(value), minimum=1))
    return out


def _geometry_value(name, value, own):
    """``value`` of geometry ``name`` in the form of ``own`` (a tuple of as many ints, or
    a boundary name) for comparison; an invalid value is refused by name."""
    if name == "boundary":
        return check_choice(value, name, BOUNDARIES)
    return _check_axes(value, name, len(own), minimum=1)


def _check_codes_fit(codes, phi, geometry, source=None) -> None:
    """Refuse ``codes`` whose code shape is not ``phi``'s when ``phi`` (built from
    kernels given as an array) took the default stride or boundary, None in ``geometry``
    (:func:`_codes_geometry`: neither given nor recorded in the codes' attrs), naming
    what is missing and the geometries that would fit (the synthesis's shape error
    named neither). ``source``: the codes as the caller gave them (a Dataset: for the
    advice, :func:`_unrecorded_geometry_advice`)."""
    missing = [name for name in ("stride", "boundary") if geometry[name] is None]
    shape = array_shape(codes_by_dim_name(codes, phi.ndim), "codes")
    if not missing or len(shape) != phi.ndim + 2 or shape[2:] == phi.code_shape:
        return
    fits = _geometries_for(phi.signal_shape, phi.kernel_shape, shape[2:])
    hint = ("; " + " or ".join(fits) + (" gives" if len(fits) == 1 else " give")
            + " their code shape" if fits
            else "; no stride and boundary give their code shape for these kernels: check "
                 "signal_shape and the kernels")
    raise ValueError(
        f"codes of shape {tuple(shape)} do not fit signals of shape {phi.signal_shape} "
        f"with stride={phi.stride} and boundary={phi.boundary!r} (code shape "
        f"{phi.code_shape}): {' and '.join(missing)} {'was' if len(missing) == 1 else 'were'}"
        f" neither given nor recorded in the codes' attrs, and the default taken; pass "
        f"the {' and '.join(missing)} the codes were encoded with{hint}"
        + _unrecorded_geometry_advice(codes, source))


def _geometries_for(signal_shape, kernel_shape, code_shape) -> list[str]:
    """The strides (per boundary, at most 3 each) under which kernels of ``kernel_shape``
    on signals of ``signal_shape`` give codes of ``code_shape``, as text."""
    out = []
    for boundary in BOUNDARIES:
        per_axis = [[s for s in range(1, k + 1) if _axis_geometry(n, k, s, boundary)[0] == m]
                    for n, k, m in zip(signal_shape, kernel_shape, code_shape)]
        found = []
        for stride in itertools.product(*per_axis):
            try:
                check_geometry(signal_shape, kernel_shape, stride, boundary)
            except ValueError:
                continue
            found.append(stride[0] if len(set(stride)) == 1 else stride)
        if found:
            strides = ", ".join(map(str, found[:3])) + (", ..." if len(found) > 3 else "")
            out.append(f"stride={strides} with boundary={boundary!r}")
    return out


def objective(X, codes, kernels, lam, *, stride=None, boundary: str | None = None
              ) -> np.ndarray:
    """Per-signal LASSO objective ``0.5 ||x - Φ a||^2 + lam ||a||_1``, in float64.

    Parameters
    ----------
    X : array_like, shape (n_samples, *signal_shape) or signal_shape
        As in :func:`encode` (a DataArray read by dim name).
    codes : array_like, shape (n_samples, n_kernels, *code_shape), or xarray.Dataset
        As :func:`encode` returns them (one signal: ``n_samples = 1``); a
        DataArray with the dims of :meth:`ConvolutionalDictionary.codes_dataset`
        is read by name; its Dataset, as in :func:`reconstruct`.
    kernels : array_like, shape (n_kernels, *kernel_shape) or ConvolutionalDictionary
    lam : float
    stride : int or tuple of int, optional
        As in :func:`encode` (default the codes' attrs', as in
        :func:`reconstruct`, else 1, or a dictionary's own).
    boundary : {"full", "valid", "circular"}, optional
        As in :func:`encode` (default the codes' attrs', else "full", or a
        dictionary's own).

    Returns
    -------
    ndarray, shape (n_samples,)

    Raises
    ------
    ValueError
        With a ``stride`` or ``boundary`` other than the one the codes' attrs
        record (or a dictionary's own), signals ``X`` of another shape
        than the codes' attrs' ``signal_shape``, or codes that do not fit
        ``X`` (as in :func:`reconstruct`).
    """
    # ds.codes of codes_dataset record their stride and boundary: a stride-2 code was
    # refused as of the wrong shape for the default stride 1
    source, codes = codes, codes_of_dataset(codes)
    geometry = _codes_geometry(codes, kernels, signal_shape=None, stride=stride,
                               boundary=boundary)
    phi = as_dictionary(kernels, X, geometry["stride"], geometry["boundary"],
                        np.float64)  # a dictionary converted
    X = phi.check_signals(X, "X")
    if geometry["signal_shape"] not in (None, phi.signal_shape):
        raise ValueError(f"X holds signals of shape {phi.signal_shape}, but the codes' attrs "
                         f"record signal_shape={geometry['signal_shape']!r}: pass the signals "
                         "the codes were encoded from")
    if not isinstance(kernels, ConvolutionalDictionary):
        _check_codes_fit(codes, phi, geometry, source)
    lam = check_nonnegative(lam, "lam")
    codes = codes_by_dim_name(codes, phi.ndim)  # the L1 term sums each sample's own codes
    made = phi.synthesize(codes)
    if len(made) != len(X):
        raise ValueError(f"codes hold {len(made)} signals but X holds {len(X)}: pass the "
                         "codes encode returned for X")
    R = X - made
    codes = np.asarray(codes, dtype=np.float64)
    return (0.5 * (R.reshape(len(R), -1) ** 2).sum(axis=1)
            + lam * np.abs(codes.reshape(len(codes), -1)).sum(axis=1))


def as_dictionary(kernels, X, stride, boundary, dtype) -> ConvolutionalDictionary:
    """``kernels`` as a :class:`ConvolutionalDictionary` for signals like ``X``.

    ``stride``, ``boundary`` and ``dtype`` are None when the caller did not give
    them: 1, "full" and float32 for kernels; a dictionary's own for a
    :class:`ConvolutionalDictionary`, which an explicit stride or boundary must
    match (it is not rebuilt behind the user's back) and an explicit dtype
    converts (keeping its ``sample_rate``). Sound kernels given as a DataArray
    keep the rate they carry (:attr:`ConvolutionalDictionary.sample_rate`).
    """
    if isinstance(kernels, ConvolutionalDictionary):
        if stride is not None and _check_axes(stride, "stride", kernels.ndim,
                                              minimum=1) != kernels.stride:
            _refuse_other_geometry("stride", stride, kernels.stride)
        if boundary is not None and check_choice(boundary, "boundary",
                                                 BOUNDARIES) != kernels.boundary:
            _refuse_other_geometry("boundary", boundary, kernels.boundary)
        return kernels if dtype is None else kernels.astype(dtype)
    stride = 1 if stride is None else stride
    boundary = "full" if boundary is None else boundary
    dtype = np.float32 if dtype is None else dtype
    # the kernels first: their axes decide X's (kernels of 5 axes were reported as an X
    # lacking 4 signal axes)
    k = check_array(kernels_by_dim_name(kernels), "kernels", ndim=(2, 3, 4))
    d = k.ndim - 1
    if d == 2:
        from stimuli.images import _refuse_colour

        # one colour picture (32, 32, 3) ran as 32 images of 32 x 3 pixels, unsaid
        _refuse_colour(X, "X")
    # a ragged list: numpy's error named no argument; a DataArray by dim name (its shape
    # read by position made the dictionary for transposed signals)
    X_shape = array_shape(signals_by_dim_name(X, d), "X")
    if len(X_shape) < d:
        raise ValueError(f"X must have shape (n_samples, *signal_shape) with {d} signal "
                         f"axes for kernels of shape {k.shape}, got {X_shape}")
    # the kernels as given: a DataArray of sound kernels carries their rate (lag in s or
    # attrs["sample_rate_hz"]), which the checked array k had lost (sample_rate None)
    return ConvolutionalDictionary(kernels, X_shape[-d:], stride=stride, boundary=boundary,
                                   dtype=dtype)


#: what a level below one step of integer signals does, for :func:`warn_integer_signals`
#: ({units}: samples or pixels, {unit}: sample or pixel): an L1 penalty (encode,
#: learn_kernels); a squared residual norm to reach (matching_pursuit's tol)
LAM_BELOW_STEP = ("an L1 penalty below one step of the {units} leaves nearly every "
                  "coefficient active")
TOL_BELOW_STEP = ("a residual below one step per {unit} asks for a nearly exact code, up "
                  "to max_iter spikes")


def warn_integer_signals(given, ndim: int, name: str, value: float, effect: str,
                         which: str = "X", what: str = "sounds",
                         n_values: int | None = None) -> None:
    """Warn of signals ``given`` of integer samples or pixels (of at most 32 bits, as WAV
    and picture files hold them), taken as they are, with a level ``value`` below one
    step of them, which only full scale 1 makes sense of.

    The level is one per sample or pixel (``n_values`` None: an L1 penalty, warned of
    when ``0 < value < 1``), or a squared norm summed over the ``n_values`` samples or
    pixels of one signal (matching pursuit's ``tol``: warned of when ``0 < value <
    n_values``, a residual of less than one step in each). Either way, every level
    meant for signals of full scale 1 is warned of: a residual of one full scale in
    each sample has a squared norm of ``n_values``, so no such signal needs a ``tol``
    as large.

    Sounds (``ndim`` 1) are warned of as :func:`stimuli.audio.sample_segments` warns of its
    ``min_rms`` (:func:`stimuli.audio.warn_integer_samples`), images and volumes by
    :func:`stimuli.images.warn_integer_pixels`. At ``lam=0.1`` every coefficient of int16
    noise was active (fraction 1.0) and 99.8% of those of uint8 noise images (0.15 for
    the same images / 255); at ``tol=10``, matching pursuit put 569-675 spikes on int16
    noise sounds of 256 samples (RMS 10% of full scale), none on the same sounds / 32768,
    and 463-494 on uint8 noise images of 16x16 pixels, 81-84 on the same / 255
    (2026-12-08, 4 kernels, 4 signals each).

    Parameters
    ----------
    given : array_like
        The signals as the user gave them (before any conversion to floats): an
        array, a DataArray, or a list of them (its first integer item is named).
    ndim : int
        Number of signal axes (1: sounds).
    name, value : str, float
        The argument and its value, e.g. ``"lam"``, 0.1.
    effect : str
        What such a level does, with ``{units}`` for "samples" or "pixels" (``{unit}``
        "sample" or "pixel"), e.g. :data:`LAM_BELOW_STEP`.
    which : str, default "X"
        The argument holding the signals, named in the message.
    what : str, default "sounds"
        What to divide by the full scale (sounds only).
    n_values : int, optional
        Samples or pixels per signal, for a level that is a squared norm summed
        over them.
    """
    from stimuli.audio import integer_sample_dtype, warn_integer_samples

    floor = 1 if n_values is None else n_values  # one step, per value or summed squared
    if not 0 < value < floor:
        return
    # a list of signals (each int16, as scipy.io.wavfile reads them) has no dtype of its
    # own: its first integer item is named
    items = enumerate(given) if isinstance(given, (list, tuple)) else [(None, given)]
    index, item, dtype = next(((i, w, integer_sample_dtype(w)) for i, w in items
                               if integer_sample_dtype(w) is not None), (None, None, None))
    if dtype is None:
        return
    which = which if index is None else f"{which}[{index}]"
    unit = "sample" if ndim == 1 else "pixel"
    effect = effect.format(unit=unit, units=unit + "s")
    below = None if n_values is None else (
        f"{n_values}, the squared norm of a residual of one step in each of the {n_values} "
        f"{dtype.name} {unit}s of a signal of {which}")
    if ndim == 1:
        warn_integer_samples(dtype, which, what, name, value, effect, below=below)
    else:
        from stimuli.images import warn_integer_pixels

        warn_integer_pixels(item, which, name, value, effect, below=below)

def _refuse_other_geometry(name, value, own):
    raise ValueError(f"{name}={value!r} disagrees with the ConvolutionalDictionary's own "
                     f"{name}={own!r}: leave {name} out, or build the dictionary with it")


def _record(phi, X, A, lam, threshold, records):
    """Append this step's objective terms (float64) to ``records``."""
    if records is None:
        return
    R = X.astype(np.float64) - phi.synthesize_last(A).astype(np.float64)
    data = 0.5 * float(np.vdot(R, R))
    pen = (0.5 * lam**2 * float(np.count_nonzero(A)) if threshold == "hard"
           else lam * float(np.abs(A, dtype=np.float64).sum()))
    records.append({"objective": data + pen, "data_term": data, "penalty": pen,
                    "n_active": float(np.count_nonzero(A)) / max(len(A), 1)})


def _per_signal_max(Z):
    return np.abs(Z).reshape(len(Z), -1).max(axis=1)


def _lca(phi, X, lam, threshold, eta, n_steps, tol, max_iter, u0, records, accelerated,
         on_step=None):
    """Euler steps of the LCA on one block; channels-last codes, the signals (rows
    of the block) left unconverged and the steps taken (``on_step()`` after each)."""
    U = np.zeros((len(X),) + phi.code_shape + (phi.n_kernels,), phi.dtype) if u0 is None \
        else np.array(u0, dtype=phi.dtype)
    scale = _per_signal_max(phi.analyze_last(X)) * tol
    done = np.empty_like(U)
    live = np.arange(len(X))
    X_all = X
    eta = phi.dtype.type(eta)
    taken = 0
    canvas = phi.canvas_buffer(len(X))  # this call's own: padded once, not every step
    for taken in range(1, (n_steps or max_iter) + 1):
        A = apply_threshold(U, lam, threshold)
        du = phi.analyze_last(X - phi.synthesize_last(A), canvas=canvas)
        du += A
        du -= U
        U += eta * du
        if records is not None:  # over the whole block: stopped signals keep their codes
            done[live] = U
            _record(phi, X_all, apply_threshold(done, lam, threshold), lam, threshold,
                    records)
        if on_step is not None:
            on_step()
        if n_steps is None:
            stop = _per_signal_max(du) <= scale
            if stop.any():
                done[live[stop]] = U[stop]
                keep = ~stop
                live, U, X, scale = live[keep], U[keep], X[keep], scale[keep]
                if not len(live):
                    break
    done[live] = U
    return apply_threshold(done, lam, threshold), (live[:0] if n_steps else live), taken


def _ista(phi, X, lam, threshold, step, n_steps, tol, max_iter, z0, records, accelerated,
          on_step=None):
    """(F)ISTA steps with adaptive restart (O'Donoghue & Candès 2015) on one
    block; channels-last codes, the signals (rows of the block) left unconverged
    and the steps taken (``on_step()`` after each)."""
    n = len(X)
    Z = np.zeros((n,) + phi.code_shape + (phi.n_kernels,), phi.dtype) if z0 is None \
        else np.array(z0, dtype=phi.dtype)
    Y = Z.copy()
    t = np.ones(n)
    kind = "nonneg" if threshold == "nonneg" else "soft"
    thresh = lam * step
    L = 1.0 / step  # ISTA's cap on each signal's L_i, before rounding to the dtype
    step = phi.dtype.type(step)
    done = np.empty_like(Z)
    live = np.arange(n)
    X_all = X
    expand = (slice(None),) + (None,) * (Z.ndim - 1)
    slow = _slow_down(phi, accelerated)
    taken = 0
    canvas = phi.canvas_buffer(n)  # this call's own: padded once, not every step
    if not accelerated:  # ISTA: a backtracked step per signal (_backtracked_step)
        Li = np.full(n, _START * L)
        PZ = phi.synthesize_last(Z)
    for taken in range(1, (n_steps or max_iter) + 1):
        R = X - (phi.synthesize_last(Y) if accelerated else PZ)
        G = phi.analyze_last(R, canvas=canvas)
        # for the duality gap, which only a step test with lam > 0 reads
        corr = _largest_correlation(G, kind) if n_steps is None and lam > 0 else None
        Y_from = Y
        if accelerated:
            G *= step
            G += Y
            Z_new = apply_threshold(G, thresh, kind, out=G)
        else:
            np.maximum(_SHRINK * Li, _FLOOR * L, out=Li)
            Z_new, PZ = _backtracked_step(phi, Z, PZ, G, Li, L, lam, kind)
        move = Z_new - Z
        if accelerated:
            restart = ((Y - Z_new) * move).reshape(len(move), -1).sum(axis=1) > 0
            t[restart] = 1.0
            t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            Y = Z_new + ((t - 1) / t_new)[expand].astype(phi.dtype) * move
            t = t_new
        else:
            Y = Z_new
        Z = Z_new
        if records is not None:  # over the whole block: stopped signals keep their codes
            done[live] = Z
            _record(phi, X_all, done, lam, threshold, records)
        if on_step is not None:
            on_step()
        if n_steps is None:
            # as the dense FISTA: the largest change relative to the largest code, each
            # kernel's change scaled up by how much the step 1/L slows it (_slow_down)
            if slow is not None:
                move *= slow
            stop = _per_signal_max(move) <= tol * _per_signal_max(Z)
            if stop.any() and lam > 0:
                # a short step (the plain ones after a restart are) confirmed by the
                # duality gap at the point the step started from, which bounds the
                # new codes' (a step from y does not raise E(y))
                idx = np.flatnonzero(stop)
                stop[idx] = _gap_met(X[idx], R[idx], Y_from[idx], corr[idx], lam, kind,
                                     tol)
            if stop.any():
                done[live[stop]] = Z[stop]
                keep = ~stop
                live, Z, Y, X, t = live[keep], Z[keep], Y[keep], X[keep], t[keep]
                if not accelerated:
                    PZ, Li = PZ[keep], Li[keep]
                if not len(live):
                    break
    done[live] = Z
    return done, (live[:0] if n_steps else live), taken


def _backtracked_step(phi, Z, PZ, G, Li, L, lam, kind):
    """ISTA steps ``T(z + Φᵀr / L_i)`` from the codes ``Z`` (synthesis ``PZ``,
    gradient ``G = Φᵀ(x - PZ)``), each signal's ``L_i`` (``Li``, float64, updated
    in place) doubled, never past ``L``, until its step keeps the quadratic upper
    bound ``||Φ d||² <= L_i ||d||²``, ``d`` the step (Beck & Teboulle 2009, sec. 3;
    :mod:`v1model.inference.fista_backtracking`); the new codes and their synthesis.

    ``L`` bounds ``||Φ||²`` over every direction, but late in a solve ISTA moves
    along the directions of low curvature, which ``1/L`` crawls along: on kernels
    of norms 9 to 31 the bound is 1.03 ``||Φ||²``, yet the steps fell from 78,106
    to 30,962 (the bound costs no product: the step's synthesis is the next
    residual's). Every accepted step keeps ISTA's descent, so its fixed points
    (the LASSO's) and its monotone objective are those of the step ``1/L``.
    """
    n = len(Z)
    expand = (slice(None),) + (None,) * (Z.ndim - 1)
    eps = float(np.finfo(Z.dtype).eps)
    Z_new = P_new = None
    rows = slice(None)  # every signal first, without copies; then the ones that failed
    while True:
        z, pz, li = Z[rows], PZ[rows], Li[rows]
        inv = (1.0 / li).astype(Z.dtype)[expand]
        Zr = G[rows] * inv
        Zr += z
        Zr = apply_threshold(Zr, lam * inv, kind, out=Zr)
        Pr = phi.synthesize_last(Zr)
        if Z_new is None:
            Z_new, P_new = Zr, Pr
        else:
            Z_new[rows], P_new[rows] = Zr, Pr
        m = len(Zr)
        D = (Zr - z).reshape(m, -1).astype(np.float64, copy=False)
        PD = (Pr - pz).reshape(m, -1).astype(np.float64, copy=False)
        curv = np.einsum("ij,ij->i", PD, PD)
        # Φ d is a difference of two syntheses: below their rounding the test is noise
        size = (np.abs(Pr).reshape(m, -1).max(axis=1) + np.abs(pz).reshape(m, -1).max(axis=1))
        noise = 16 * eps * np.sqrt(curv * PD.shape[1]) * size
        bad = (curv > _SLACK * li * np.einsum("ij,ij->i", D, D) + noise) & (li < L)
        if not bad.any():
            return Z_new, P_new
        rows = np.arange(n)[rows][bad]
        Li[rows] = np.minimum(2 * Li[rows], L)


def _largest_correlation(G, kind):
    """Per signal, the largest ``|Φᵀr|`` (soft) or ``Φᵀr`` ("nonneg"), in float64."""
    flat = G.reshape(len(G), -1)
    top = flat.max(axis=1)
    if kind == "soft":  # max |g| = max(max g, -min g): no |G| temporary every step
        top = np.maximum(top, -flat.min(axis=1))
    return top.astype(np.float64)


def _gap_met(X, R, Y, corr, lam, kind, tol):
    """Whether the duality gap at the codes ``Y``, whose residual is ``R``, is at
    most ``tol * ||x||^2`` (:func:`v1model.inference._common.duality_gap_met`)."""
    n = len(X)
    eps = float(np.finfo(R.dtype).eps)  # the working precision's rounding
    X = X.reshape(n, -1).astype(np.float64)
    R = R.reshape(n, -1).astype(np.float64)
    Y = Y.reshape(n, -1).astype(np.float64)
    xx = np.einsum("ij,ij->i", X, X)
    made = X - R  # Φ y: R = x - Φ y is rounded to eps of |x| + |Φ y|
    met = duality_gap_met(np.einsum("ij,ij->i", R, R), np.einsum("ij,ij->i", X, R),
                          np.abs(Y).sum(axis=1), corr, xx, lam, tol,
                          16 * eps * (xx + np.einsum("ij,ij->i", made, made)))
    if kind == "nonneg":  # the momentum point may leave a >= 0, where E is infinite
        met &= Y.min(axis=1) >= 0
    return met


def _slow_down(phi, accelerated=True):
    """Per kernel, ``max_k ||k|| / ||k_j||`` (FISTA) or its square (ISTA)
    (channels last), or None when all kernels have one norm.

    The step ``1/L`` is set by the largest kernels: along a kernel of smaller
    norm the curvature ``c_j ~ ||k_j||²`` is far below ``L``, FISTA closes
    the distance left by a fraction ``~ sqrt(c_j / L)`` per step, and that
    distance is its change per step times ``~ sqrt(L / c_j)``; ISTA, without
    momentum, closes only ``~ c_j / L`` of it per step, so its distance is
    its change times ``~ L / c_j``. The stop test
    scales each kernel's change by its ratio to the largest kernel's, so
    every kernel is held to the accuracy equal-norm kernels get. Before the
    duality gap confirmed the step test, on kernels of norms 9 to 31
    (``tests/convolutional/test_inference.py``) unweighted FISTA stopped at a
    relative objective gap of 8.1e-4, weighted 1.6e-4, and ISTA with FISTA's
    factor at 1.4e-3, squared 2.1e-4. With ``lam > 0`` the gap now decides
    there (FISTA 1.6e-7, 2.2e-7 unweighted; ISTA 5.9e-7 with either factor),
    and the weights only set when the gap is first checked; at ``lam = 0``,
    with no gap test, the weighted change alone stops. A kernel of zero norm
    never moves and counts as 1.
    """
    norms = np.linalg.norm(phi.kernels.reshape(phi.n_kernels, -1).astype(np.float64), axis=1)
    top = norms.max()
    if top <= 0 or np.all(norms == top):
        return None
    ratio = np.where(norms > 0, top / np.where(norms > 0, norms, 1.0), 1.0)
    return (ratio if accelerated else ratio**2).astype(phi.dtype)
