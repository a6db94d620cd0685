"""Learning convolutional kernels from whole images or sounds.

Each update codes a minibatch of random crops with :func:`.encode` (or the
spikes of :func:`.matching_pursuit`) and moves every kernel along the gradient
of the reconstruction error, preconditioned by how much that kernel was used:

    d_k <- d_k + eta * sum_p a_k[p] r[p] / sum_p a_k[p]^2,   then ||d_k|| = 1

(``r[p]`` is the residual window under copy ``p``). With ``eta = 1`` and copies
that do not overlap, this is the exact least-squares step of block coordinate
descent (Mairal et al. 2009, eq. 11) for one kernel; overlapping copies make
the true curvature larger, hence the default ``eta = 0.5``. The step needs no
tuning to the scale of the data, unlike the plain gradient step of
lca-pytorch's ``eta``. Kernels no code used for ``reseed_patience`` updates
are re-seeded from the worst-reconstructed windows.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import xarray as xr

from .._blas import blas_threads_for_step
from .._frames import user_stacklevel
from .._windows import max_window_norm as _max_window_norm
from ..inference._common import (UNCONVERGED_HISTORY, NotConvergedTally, caller_settings,
                                 check_products_in_range, discard_not_converged, lam_units)
from ..io import UPDATES_BEFORE, count_coord, seed_attr
from ..learning._atoms import normalize_rows
from ..progress import check_progress, progress_bar
from ..validation import (array_shape, as_generator, check_array, check_choice, check_dtype,
                          check_fits_in_memory, check_int, check_nonnegative, check_positive,
                          describe, refuse_unused_settings, sample_rate_by_labels)
from .inference import LAM_BELOW_STEP, METHODS, _solve_blocks, warn_integer_signals
from .operator import (BOUNDARIES, ConvolutionalDictionary, _check_axes, check_geometry,
                       check_sample_rate, kernel_dims, kernels_by_dim_name,
                       lag_coordinate, signals_by_dim_name, time_attrs)
from .pursuit import matching_pursuit

__all__ = ["learn_kernels"]

#: the L1 penalty of :func:`learn_kernels` when none is given (its L1 methods)
DEFAULT_LAM = 0.1
#: the L1 solver's tolerance of :func:`learn_kernels` when none is given (its L1 methods)
DEFAULT_TOL = 1e-3
#: updates between the duplicate checks of :func:`learn_kernels` when ``reseed_patience``
#: is None (otherwise every ``reseed_patience`` updates)
DUPLICATE_CHECK_EVERY = 20

#: the variables of the learning history, with their long names
_HISTORY = {
    "objective": ("mean 0.5 ||x - Φa||² + lam ||a||_1 per crop (lam²/2 ||a||_0 for "
                  "threshold='hard'; no penalty for mp)"),
    "reconstruction_error": "||x - Φa||² / ||x||² over the minibatch",
    "fraction_active": "fraction of non-zero coefficients",
    "kernel_change": "largest change of a unit-norm kernel, ||Δd_k||",
    "n_reseeded": "kernels re-seeded at this update",
    # as the patch learners record it (the crops are the samples)
    UNCONVERGED_HISTORY[0]: UNCONVERGED_HISTORY[1]["long_name"],
}


def learn_kernels(images, n_kernels: int, kernel_size, *, stride=1, lam: float | None = None,
                  n_updates: int = 500, batch_size: int = 8, crop_size=None,
                  learning_rate: float = 0.5, method: str | None = None,
                  threshold: str = "soft", max_iter: int = 200,
                  tol: float | None = None, n_nonzero: int | None = None,
                  snr_db: float | None = None, boundary: str = "full", init=None,
                  reseed_patience: int | None = 20, duplicate_tol: float | None = 0.95,
                  seed=None, dtype=np.float32, sample_rate: float | None = None,
                  progress: bool | None = True) -> xr.Dataset:
    """Learn ``n_kernels`` convolutional kernels from random crops.

    Parameters
    ----------
    images : array_like, shape (n_images, height, width) or (n_sounds, n_times)
        Training signals (whitened, for natural images), in the units ``lam``
        refers to. Their last ``len(kernel_size)`` axes are spatial (or time):
        a channel axis among them is one the kernels slide along, as in
        :func:`~v1model.convolutional.encode`.
        An ``xarray.DataArray`` is read by dim name (``(sample, time)``,
        ``(sample, y, x)`` or ``(image, y, x)``, in any order). One colour
        picture ``(height, width, 3 or 4)`` given for 2-D kernels is refused,
        as :func:`~v1model.convolutional.encode` refuses it: convert it to
        grayscale first.
    n_kernels : int
        Number of kernels K.
    kernel_size : int or tuple of int
        Kernel shape; an int gives a square kernel on 2-D signals (a length on
        1-D ones, decided by ``images.ndim``).
    stride : int or tuple of int, default 1
        Distance between kernel copies, samples; at most ``kernel_size``.
        ``stride == kernel_size`` tiles the crops into patches (patch-based
        sparse coding).
    lam : float, optional
        L1 penalty of the codes, >= 0, in units of ``images``; default
        :data:`DEFAULT_LAM` (0.1). The L1 methods only: matching pursuit
        has none (its history's objective is the data term alone), and a
        ``lam`` given with ``method="mp"`` is refused (``attrs["lam"]`` is
        then ``"None"``).
    n_updates : int, default 500
        Number of kernel updates (minibatches).
    batch_size : int, default 8
        Crops per minibatch.
    crop_size : int or tuple of int, optional
        Shape of the random crops; default 4 kernel sizes per axis (at most
        the signal). Larger crops hold more copies per update and cost
        proportionally more.
    learning_rate : float, default 0.5
        ``eta`` of the preconditioned step (module docstring), in (0, 2).
    method : {"fista", "lca", "ista", "mp"}, optional
        Inference per minibatch: the L1 solvers of
        :func:`v1model.convolutional.encode`, or the spikes of
        :func:`~v1model.convolutional.matching_pursuit` (Smith & Lewicki
        2006: the gradient direction above, spike amplitudes times the MP
        residual under them, is theirs; they step along it with a learning
        rate, not scaled per kernel by its summed squared amplitudes).
        Default "fista" ("lca" for ``threshold="hard"``).
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        Nonlinearity of the codes, as :class:`ConvolutionalNetwork`'s:
        "soft" and "nonneg" are the L1 problem with signed or non-negative
        codes; "hard" is the LCA's hard threshold, whose energy is ``0.5
        ||x - Φa||² + lam²/2 ||a||_0``, and needs ``method="lca"`` among the
        L1 methods. ``method="mp"`` picks non-negative spikes for "nonneg",
        signed ones otherwise (as the network's ``encode``): "soft" and "hard"
        then run alike, and ``attrs["threshold"]`` is ``"None"``. Whether the
        codes were non-negative is ``attrs["positive"]`` (0 or 1) for every
        method, as :func:`~v1model.convolutional.matching_pursuit` records it.
    max_iter : int, default 200
        Solver steps per minibatch at most (MP: spikes picked per crop);
        crops that stop there short of ``tol`` (MP: of ``n_nonzero`` /
        ``snr_db``) are counted in ``n_unconverged`` (their codes are still a
        descent direction) and warned of once at the end of the run (a
        ``ConvergenceWarning`` counting the updates and crops; its remedy names
        the arguments as a caller's ``solver_settings`` names them, e.g. a
        study's own parameters).
    tol : float, optional
        The L1 solver's tolerance (:func:`~v1model.convolutional.encode`);
        default :data:`DEFAULT_TOL` (1e-3). The L1 methods only: matching
        pursuit stops at ``n_nonzero`` or ``snr_db`` (or ``max_iter``), and
        a ``tol`` given with ``method="mp"`` is refused (``attrs["tol"]`` is
        then ``"None"``).
    n_nonzero, snr_db : optional
        ``method="mp"`` only, at least one: spikes per crop, and the crop's
        signal-to-residual ratio (dB) at which it stops. A high ``snr_db``
        slows learning from a random start: the pursuit adds spikes of the
        wrong kernels until the residual, which the kernel step follows, is
        at the target (planted kernels in tests/convolutional: found at 10 dB
        or with their own spike count, mostly not at 20 dB after 300 updates).
        ``snr_db`` must be below :func:`max_snr_db` of ``dtype`` (138.5 dB in
        float32), the finest fidelity a residual in ``dtype`` resolves.
    boundary : {"full", "valid", "circular"}, default "full"
        Where the copies sit in each crop.
    init : array_like, shape (n_kernels, *kernel_size), optional
        Starting kernels (normalised here); default Gaussian noise. Recorded
        in ``attrs["init"]`` as ``"array"`` or ``"gaussian"``. Sound kernels
        that carry a rate (a DataArray's ``attrs["sample_rate_hz"]`` or
        ``lag`` in s, as this function returns them) give it to the result
        when neither ``sample_rate`` nor ``images`` does, and another rate
        of those is refused.
    reseed_patience : int or None, default 20
        Re-seed a kernel that no code used for this many updates in a row;
        None never re-seeds an unused kernel (duplicates are still re-seeded,
        see ``duplicate_tol``). ``attrs["reseed_patience"]`` is then ``"None"``.
    duplicate_tol : float or None, default 0.95
        Every ``reseed_patience`` updates (every :data:`DUPLICATE_CHECK_EVERY`
        = 20 when it is None; ``attrs["duplicate_check_every"]``, ``"None"``
        without the check), re-seed the later kernel of each pair
        whose normalised cross-correlation exceeds this at a shift that is a
        multiple of the stride (the other kernel one copy over makes the same
        signals, so the pair codes one feature twice); None keeps duplicates
        (``attrs["duplicate_tol"]`` is then ``"None"``).
        Shifts between copies (stride > 1) are not duplicates: the shifted
        kernel reaches positions the other cannot.
    seed : int, Generator or None
        Crops, initial and re-seeded kernels.
    dtype : {float32, float64}, default float32
        Working precision.
    sample_rate : float, optional
        Sounds (1-D signals) only: their sample rate in Hz (the ``rate`` of
        :func:`stimuli.audio.load_wav_folder`), > 0 and finite. With it the
        kernels' ``lag`` coordinate is in seconds and
        ``attrs["sample_rate_hz"]`` records it; without it, lags are sample
        indices and ``attrs["time_units"]`` says so. Default: the rate that
        a DataArray ``images`` of sounds carries (``attrs["sample_rate_hz"]``
        or a ``time`` coordinate in s), else the rate ``init`` kernels carry;
        a rate given must agree with both.
    progress : bool or None, default True
        A progress bar over updates (None: once the call has run 2 s,
        :mod:`v1model.progress`).

    Warns
    -----
    UserWarning
        When ``kernel_size`` exceeds ``crop_size`` (or the signals) along an
        axis: no crop then holds a whole kernel (``method="mp"`` refuses it:
        copies that barely reach into a crop cannot be picked). When sounds
        of integer samples (``scipy.io.wavfile``'s int16, full scale 32768,
        taken as they are) come with an L1 method's ``lam`` below 1, one
        step of those samples, as :func:`stimuli.audio.sample_segments`
        warns of its ``min_rms`` (at ``lam=0.1`` every coefficient of int16
        noise was active); so do images of integer pixels (uint8 or uint16,
        not divided by 255 or 65535 as :func:`stimuli.images.load_images`
        divides them: at ``lam=0.1``, 99.8% of the coefficients of uint8
        noise images were active, 15% of the same images / 255).

    Returns
    -------
    xarray.Dataset
        ``kernels`` (kernel, ky, kx) for images or (kernel, lag) for sounds
        (``lag`` in s with ``sample_rate``), unit norm; over ``update``:
        ``objective``, ``reconstruction_error``, ``fraction_active``,
        ``kernel_change``, ``n_reseeded``, ``n_unconverged`` and ``elapsed``
        (s); every parameter in ``attrs``, with ``lam_units`` ("units of X";
        ``"None"`` for ``method="mp"``, as ``lam``). Those attrs record the
        call, as a learner's do, and nothing reads them back (nor takes them
        as the geometry of codes put beside the kernels, ``reconstruct(
        ds.assign(codes=...), ds.kernels)``): ``n_kernels``,
        ``kernel_size``, ``stride``, ``boundary``, ``crop_size`` and
        ``signal_shape`` (the images') are what the kernels were learned with.
        The kernels' geometry is recorded once, by ``ds.kernels`` itself (its
        shape; for sounds its ``lag`` in s), as the codes' is by their own
        attrs (:meth:`~v1model.convolutional.ConvolutionalDictionary.codes_dataset`):
        a slice or an edit of ``ds.kernels`` leaves these attrs as the call
        made them, and :func:`~v1model.convolutional.encode` takes its
        ``stride`` and ``boundary`` from its caller, never from here.

    References
    ----------
    Schultz, P. F., Paiton, D. M., Lu, W. & Kenyon, G. T. (2014). Replicating
    kernels with a short stride allows sparse reconstructions with fewer
    independent kernels. arXiv:1406.4205.
    Mairal, J., Bach, F., Ponce, J. & Sapiro, G. (2009). Online dictionary
    learning for sparse coding. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.convolutional import learn_kernels
    >>> images = np.random.default_rng(0).standard_normal((2, 32, 32))
    >>> ds = learn_kernels(images, 4, 5, stride=2, lam=0.5, n_updates=3, seed=0,
    ...                    progress=False)
    >>> ds["kernels"].shape
    (4, 5, 5)
    """
    dtype = check_dtype(dtype)
    n_kernels = check_int(n_kernels, "n_kernels", minimum=1)
    given = images
    # a DataArray by dim name: every axis but the first is a signal axis
    images = check_array(signals_by_dim_name(images, getattr(images, "ndim", 0) - 1, "images"),
                         "images", ndim=(2, 3, 4), dtype=np.float64)
    if len(array_shape(kernel_size, "kernel_size")) == 0:
        d = images.ndim - 1
        kernel_size = (check_int(kernel_size, "kernel_size", minimum=1),) * d
    else:
        kernel_size = tuple(kernel_size)
        d = len(kernel_size)
        if images.ndim != d + 1:
            raise ValueError(f"images must have shape (n_signals, *signal_shape) with "
                             f"{d} signal axes for kernel_size={kernel_size}, got "
                             f"{images.shape}")
    if d == 2:
        from stimuli.images import _refuse_colour

        # one colour picture (32, 32, 3) was learned from as 32 images of 32 x 3 pixels,
        # with a warning of kernels larger than the crops at most (encode refuses it too)
        _refuse_colour(given, "images")
    kernel_size = _check_axes(kernel_size, "kernel_size", d, minimum=1)
    signal_shape = images.shape[1:]
    default_crop = crop_size is None
    if default_crop:
        crop_size = tuple(min(4 * k, n) for k, n in zip(kernel_size, signal_shape))
    crop_size = _check_axes(crop_size, "crop_size", d, minimum=1)
    for c, n in zip(crop_size, signal_shape):
        if c > n:
            raise ValueError(f"crop_size={crop_size} is larger than the signals "
                             f"{signal_shape}")
    if not np.any(images):
        raise ValueError("images: every value is zero; there is nothing to learn from")
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    # the history and timings of every update: numpy's MemoryError named no argument
    check_fits_in_memory((n_updates, len(_HISTORY) + 1), np.float64, "n_updates", n_updates,
                         "history rows (float64)")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate")
    if learning_rate >= 2:
        raise ValueError(f"learning_rate={learning_rate!r} overshoots the least-squares "
                         "step of each kernel (1) by 2x or more; use a value in (0, 2)")
    threshold = check_choice(threshold, "threshold", ("soft", "hard", "nonneg"))
    if method is None:
        method = "lca" if threshold == "hard" else "fista"
    if method not in METHODS + ("mp",):
        raise ValueError(f"method must be one of {METHODS + ('mp',)}, got {method!r}")
    if threshold == "hard" and method in ("fista", "ista"):
        raise ValueError(f"threshold='hard' is the LCA's hard threshold and needs "
                         f"method='lca'; method={method!r} solves the L1 problem, i.e. the "
                         "soft threshold")
    if method == "mp":
        # ignored, and recorded in attrs as if the spikes had been coded at them (the
        # pursuit has its own stops)
        refuse_unused_settings("mp", [
            ("lam", lam, "matching pursuit has no L1 penalty (its spikes stop at n_nonzero "
                         "or snr_db); drop lam, or use an L1 method (fista, lca, ista)"),
            ("tol", tol, "it is the L1 solvers' tolerance, and matching pursuit stops at "
                         "n_nonzero spikes or snr_db (or max_iter); drop tol, or use an L1 "
                         "method (fista, lca, ista)")])
    else:
        lam = DEFAULT_LAM if lam is None else check_nonnegative(lam, "lam")
        tol = check_positive(DEFAULT_TOL if tol is None else tol, "tol")
        warn_integer_signals(given, d, "lam", lam, LAM_BELOW_STEP, which="images")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if method == "mp":
        if n_nonzero is None and snr_db is None:
            raise ValueError("method='mp' stops each crop's pursuit at n_nonzero spikes or "
                             "at snr_db; pass at least one")
        if n_nonzero is not None:
            n_nonzero = check_int(n_nonzero, "n_nonzero", minimum=1)
        if snr_db is not None:
            snr_db = check_snr_db(snr_db, dtype)
    elif n_nonzero is not None or snr_db is not None:
        raise ValueError(f"n_nonzero={n_nonzero!r} and snr_db={snr_db!r} stop matching "
                         f"pursuit; method={method!r} is stopped by lam and tol")
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    if reseed_patience is not None:
        reseed_patience = check_int(reseed_patience, "reseed_patience", minimum=1)
    if duplicate_tol is not None:
        duplicate_tol = check_positive(duplicate_tol, "duplicate_tol")
        if duplicate_tol >= 1:
            raise ValueError(f"duplicate_tol={duplicate_tol!r} is a correlation; use a value "
                             "in (0, 1), or None to keep duplicates")
    sample_rate = check_sample_rate(sample_rate, d)
    if d == 1:
        # sounds labelled with their rate carry it: the kernels' lag was left in samples
        # (no rate recorded), and another rate given beside it was taken unsaid
        sample_rate = sample_rate_by_labels(given, sample_rate, "images", time_dims=("time",))
        # init kernels learned at a rate carry it: learning went on from kernels for 16 kHz
        # on sounds at 8 kHz (other filters) unsaid, and the result's lag lost their rate
        sample_rate = _rate_with_init(init, sample_rate)
    check_progress(progress)
    # recorded before the initial kernels are drawn: a Generator's state is the run's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    if init is None:
        kernels = rng.standard_normal((n_kernels,) + kernel_size)
    else:
        kernels = check_array(kernels_by_dim_name(init, "init"), "init", ndim=d + 1,
                              dtype=np.float64, copy=True)
        if kernels.shape != (n_kernels,) + kernel_size:
            raise ValueError(f"init must have shape {(n_kernels,) + kernel_size}, got "
                             f"{kernels.shape}")
    kernels = _unit_norm(kernels, "init")
    # images ~1e30 (or ~1e-30) in float32 overflowed (underflowed) in the crops' codes: NaN
    # kernels or an error on "kernels" deep in the loop; the bound of encode's own check
    check_products_in_range(images.reshape(len(images), -1), kernels.reshape(n_kernels, -1),
                            dtype, d_name="kernels", atom="kernel", x_name="images")
    if method != "mp" and (boundary != "circular"
                           or all(k <= c for k, c in zip(kernel_size, crop_size))):
        # a unit-norm kernel copy in a crop meets at most the crop's norm, so a lam at or
        # above every crop's norm zeroes every code whatever the kernels: the run would
        # return its random initial kernels with no error (as check_lam_below_data refuses
        # for the patch learners)
        top = _max_window_norm(images, crop_size)
        if lam >= top:
            # worded for the signals given: sounds were told of "images"
            what, unit = {1: ("the signals", " samples"), 2: ("images", " pixels")}.get(
                d, ("the signals", ""))
            raise ValueError(
                f"lam={lam!r} is at least the largest norm {top:.3g} of a crop of "
                f"crop_size={crop_size}{unit} of {what}: every code is zero whatever the "
                f"unit-norm kernels, so nothing can be learned; lower lam well below "
                f"{top:.3g} or rescale {what}")
    how = (f"the default (4 kernel sizes per axis, at most the signals' {signal_shape})"
           if default_crop else "the one given")
    check_geometry(crop_size, kernel_size, _check_axes(stride, "stride", d, minimum=1),
                   boundary, name="crop_size", why=f"; crop_size is {how}: pass one that fits")
    phi = ConvolutionalDictionary(kernels, crop_size, stride=stride, boundary=boundary,
                                  dtype=dtype)
    if method == "mp" and any(k > c for k, c in zip(kernel_size, crop_size)):
        # every copy then sticks out of the crop, and matching pursuit never picks one with
        # less than a quarter of its kernel's energy inside (its min_coverage): depending on
        # the kernels, a minibatch could have no copy to pick, and the run fail midway
        raise ValueError(f"kernel_size={kernel_size} is larger than crop_size={crop_size} "
                         f"along some axis: method='mp' needs each crop to hold a whole "
                         f"kernel (copies sticking out of the crop are not picked); use "
                         f"smaller kernels or larger crops; crop_size is {how}")
    if any(k > c for k, c in zip(kernel_size, crop_size)):
        # the "full" copies still reach every tap, but no crop holds a whole kernel: taps
        # farther apart than the crop are never fitted to the same stretch of signal
        where = (f"the default, capped by the signals' shape {signal_shape}" if default_crop
                 else "the crop_size given")
        warnings.warn(f"kernel_size={kernel_size} is larger than crop_size={crop_size} "
                      f"({where}) along some axis: no crop holds a whole kernel, so "
                      "taps farther apart than the crop are never learned together; "
                      "use smaller kernels or larger crops", UserWarning,
                      stacklevel=user_stacklevel())
    stride = phi.stride
    # None: the unused kernels are left, and duplicates still looked for at this interval
    check_every = DUPLICATE_CHECK_EVERY if reseed_patience is None else reseed_patience
    params = dict(n_kernels=n_kernels, kernel_size=list(kernel_size), stride=list(stride),
                  lam="None" if lam is None else lam,
                  # unit-norm kernels: codes, and so lam, in units of X (as the learners')
                  lam_units="None" if lam is None else lam_units("l1"),
                  n_updates=n_updates, batch_size=batch_size,
                  crop_size=list(crop_size), learning_rate=learning_rate, method=method,
                  # matching pursuit has no threshold: "soft" and "hard" ran the same
                  # signed spikes (the network passes its own), "nonneg" positive ones
                  threshold="None" if method == "mp" else threshold,
                  positive=int(threshold == "nonneg"), max_iter=max_iter,
                  tol="None" if tol is None else tol, boundary=boundary,
                  n_nonzero="None" if n_nonzero is None else n_nonzero,
                  snr_db="None" if snr_db is None else snr_db,
                  reseed_patience="None" if reseed_patience is None else reseed_patience,
                  duplicate_tol="None" if duplicate_tol is None else duplicate_tol,
                  duplicate_check_every="None" if duplicate_tol is None else check_every,
                  seed=seed_record, dtype=dtype.name, n_images=len(images),
                  signal_shape=list(signal_shape),
                  # as the dictionary learners record an init array
                  init="gaussian" if init is None else "array")
    history = {key: np.zeros(n_updates) for key in _HISTORY}
    elapsed = np.zeros(n_updates)
    unused = np.zeros(n_kernels, dtype=np.int64)
    flops = 4.0 * batch_size * phi.n_coefficients * int(np.prod(kernel_size))
    # the crops left short are warned of once, for the run (as the patch learners do), the
    # knobs named as a caller's solver_settings names them (a study's parameters)
    caller = caller_settings()
    tally = NotConvergedTally(None, {"max_iter": max_iter, "tol": tol, "snr_db": snr_db,
                                     "n_nonzero": n_nonzero},
                              names=None if caller is None else caller.names,
                              advice="" if caller is None else caller.advice,
                              skip=() if caller is None else caller.skip)
    short_what, short_remedy = _shortfall_text(method, max_iter, n_nonzero, snr_db, tally)

    start = time.perf_counter()
    with blas_threads_for_step(flops):
        for update in progress_bar(progress, total=n_updates, desc="convolutional kernels",
                                   unit="update", iterable=range(n_updates)):
            X = _random_crops(images, crop_size, batch_size, rng).astype(dtype)
            phi = ConvolutionalDictionary(kernels, crop_size, stride=stride,
                                          boundary=boundary, dtype=dtype)
            if method == "mp":
                A = _spikes(phi, X, n_nonzero, snr_db, max_iter, threshold == "nonneg")
            else:
                A = np.empty((batch_size,) + phi.code_shape + (n_kernels,), dtype)
                step = 1.0 / phi.lipschitz()  # ISTA's 1/L, and the LCA's dt/tau = 1/L
                # the rows left short, tallied below and warned of at the end (it warns
                # of none itself)
                stalled = _solve_blocks(phi, X, lam, threshold, step, None, tol, max_iter,
                                        None, None, method, batch_size, False, A).size
            R = X - phi.synthesize_last(A)
            if method == "mp":
                stalled = _short_of_target(X, R, A, n_nonzero, snr_db)
            if stalled:
                tally.add(short_what, stalled, batch_size, short_remedy)
            grad = phi.kernel_gradient_last(R, A)
            usage = (A.astype(np.float64) ** 2).reshape(-1, n_kernels).sum(axis=0)
            used = usage > 0
            new = kernels.copy()
            new[used] += learning_rate * grad[used] / usage[used].reshape(
                (-1,) + (1,) * d)
            # unit norm; a kernel the step zeroed keeps its previous value
            new = normalize_rows(new.reshape(n_kernels, -1),
                                 kernels.reshape(n_kernels, -1)).reshape(kernels.shape)
            unused[used] = 0
            unused[~used] += 1
            n_reseeded = 0
            dead = (np.flatnonzero(unused >= reseed_patience) if reseed_patience is not None
                    else np.empty(0, dtype=np.int64))
            if duplicate_tol is not None and (update + 1) % check_every == 0:
                dead = np.union1d(dead, shifted_duplicates(new, stride, duplicate_tol))
            if len(dead):
                new[dead] = _worst_windows(phi, R, len(dead), rng)
                unused[dead] = 0
                n_reseeded = len(dead)
            change = np.sqrt(((new - kernels) ** 2).reshape(n_kernels, -1).sum(axis=1))
            kernels = new
            energy = float((X.astype(np.float64) ** 2).sum())
            err = float((R.astype(np.float64) ** 2).sum())
            if method == "mp":
                penalty = 0.0
            elif threshold == "hard":
                penalty = 0.5 * lam**2 * np.count_nonzero(A)
            else:
                penalty = lam * float(np.abs(A, dtype=np.float64).sum())
            history["objective"][update] = (0.5 * err + penalty) / batch_size
            history["reconstruction_error"][update] = err / energy if energy > 0 else 0.0
            history["fraction_active"][update] = np.count_nonzero(A) / A.size
            history["kernel_change"][update] = float(change.max())
            history["n_reseeded"][update] = n_reseeded
            history["n_unconverged"][update] = stalled
            elapsed[update] = time.perf_counter() - start
    tally.warn(n_updates)
    tail = history["fraction_active"][n_updates - max(n_updates // 4, 1):]
    if method != "mp" and np.all(tail == 0):
        # as the patch learners warn (learning._history.warn_if_nothing_coded)
        warnings.warn(f"every code of the last {tail.size} of {n_updates} updates was zero "
                      f"(method={method!r}, lam={lam!r}): the kernels moved only by "
                      "re-seeding and nothing was learned; lower lam (see the history's "
                      "fraction_active)", UserWarning, stacklevel=user_stacklevel())
    ds = _kernels_dataset(kernels, history, elapsed, params)
    if d == 1 and sample_rate is not None:
        ds = ds.assign_coords(lag=lag_coordinate(kernel_size[0], sample_rate))
    if d == 1:
        ds.attrs.update(time_attrs(sample_rate))
    return ds


def _rate_with_init(init, sample_rate):
    """The sounds' rate ``sample_rate`` (Hz, given or carried by them; None if neither)
    checked against the rate that sound kernels ``init`` carry (a DataArray's
    ``attrs["sample_rate_hz"]`` or ``lag`` in s), or that one when the sounds have none."""
    theirs = sample_rate_by_labels(init, None, "init")
    if theirs is None or sample_rate is None:
        return sample_rate if theirs is None else theirs
    if abs(theirs - sample_rate) > 1e-6 * sample_rate:
        raise ValueError(
            f"init: the kernels are for {theirs:g} Hz (their attrs['sample_rate_hz'] or "
            f"their lag in s or ms), but the sounds are at {sample_rate:g} Hz (sample_rate, "
            f"or the rate images carry): the same kernels at another rate are other "
            f"filters; resample the sounds to {theirs:g} Hz, or start from kernels for "
            f"{sample_rate:g} Hz")
    return sample_rate


def _shortfall_text(method, max_iter, n_nonzero, snr_db, tally):
    """What a crop left short means for ``method``, and the remedy in
    :func:`learn_kernels`'s own arguments, or in the names its caller gives them
    (``tally.names``, e.g. a study's ``learning_tol``): ``(what, remedy)`` for
    ``tally.add``."""
    if method != "mp":
        return (f"convolutional {method} stopped after {max_iter} iterations",
                tally.remedy("max_iter", max_iter))
    target = (f"snr_db={snr_db!r}" if n_nonzero is None else
              f"n_nonzero={n_nonzero!r} spikes" if snr_db is None else
              f"snr_db={snr_db!r} and n_nonzero={n_nonzero!r} spikes")
    raise_ = tally.setting("max_iter", max_iter)
    lower = [knob for knob in (tally.setting(name) for name, value in
                               (("snr_db", snr_db), ("n_nonzero", n_nonzero))
                               if value is not None) if knob is not None]
    remedy = " or ".join(([f"raise {raise_}"] if raise_ is not None else [])
                         + ([f"lower {' or '.join(lower)}"] if lower else []))
    return (f"convolutional matching_pursuit stopped at max_iter={max_iter} spikes short of "
            f"{target}", f"{remedy}{tally.advice}")


def max_snr_db(dtype) -> float:
    """The finest signal-to-residual ratio (dB) a residual computed in ``dtype``
    resolves: ``-20 log10(eps)``, 138.5 dB in float32, 313.1 dB in float64.

    A crop's residual ``x - Φa`` is rounded to about a relative ``eps`` per
    sample, so that its energy is of order ``eps²`` of the crop's even when the
    code is exact: a target beyond this asks the pursuit to fit rounding (crops
    made of 3 kernel copies, coded by matching pursuit in float32 with nothing
    else to find, ended at 115-136 dB, 2026-12-07).
    """
    return -20.0 * float(np.log10(float(np.finfo(dtype).eps)))


def check_snr_db(snr_db, dtype, name: str = "snr_db") -> float:
    """``snr_db`` (dB) of a pursuit whose residuals are computed in ``dtype``:
    positive, and below :func:`max_snr_db` (a target beyond it ran every crop of
    every update to ``max_iter``, told only once the run was over)."""
    snr_db = check_positive(snr_db, name)
    limit = max_snr_db(dtype)
    if snr_db >= limit:
        raise ValueError(f"{name}={snr_db!r} dB is at or beyond the {limit:.2f} dB that a "
                         f"residual in {np.dtype(dtype).name} resolves (its rounding, about "
                         "eps per sample): the crops stop short of it and every pursuit would "
                         "run to max_iter; use a lower target (15 dB leaves 3% of the energy, "
                         "40 dB 0.01%)")
    return snr_db


def _spikes(phi, X, n_nonzero, snr_db, max_iter, positive):
    """Matching-pursuit codes of the crops, channels last (crops that end short of
    their target are counted by :func:`_short_of_target`, not warned about). No bar
    of the pursuit's: the learning's own covers every minibatch."""
    # in this thread's context: a catch_warnings, one per process, also hid the warnings of
    # every other thread (a sweep's points) while the pursuit ran
    with discard_not_converged():
        codes = matching_pursuit(X, phi, n_nonzero=n_nonzero, snr_db=snr_db,
                                 max_iter=max_iter, positive=positive, progress=False)
    return np.ascontiguousarray(np.moveaxis(codes, 1, -1))


def _short_of_target(X, R, A, n_nonzero, snr_db) -> int:
    """Crops whose pursuit stopped at ``max_iter`` before its target: the SNR not
    reached (and, with both rules, fewer than ``n_nonzero`` spikes), or fewer than
    ``n_nonzero`` spikes with that rule alone. ``R`` is the residual the update uses."""
    n = len(X)
    count = np.count_nonzero(A.reshape(n, -1), axis=1)
    if snr_db is None:
        return int(np.count_nonzero(count < n_nonzero))
    res2 = (R.astype(np.float64).reshape(n, -1) ** 2).sum(axis=1)
    energy = (X.astype(np.float64).reshape(n, -1) ** 2).sum(axis=1)
    short = res2 > energy * 10.0 ** (-snr_db / 10) * (1 + 1e-6)
    if n_nonzero is not None:
        short &= count < n_nonzero
    return int(np.count_nonzero(short))


def shifted_duplicates(kernels, stride, tol: float) -> np.ndarray:
    """Kernels that repeat an earlier one, shifted by a multiple of ``stride``.

    Parameters
    ----------
    kernels : ndarray, shape (n_kernels, *kernel_shape)
        Unit-norm kernels.
    stride : tuple of int
        Distance between copies per axis.
    tol : float
        Largest allowed ``|<d_i, shift(d_j)>|`` over shifts that are
        multiples of the stride (within the kernel).

    Returns
    -------
    ndarray of int
        The later kernel ``j`` of every pair ``i < j`` above ``tol``.
    """
    K = len(kernels)
    k_shape = kernels.shape[1:]
    d = len(k_shape)
    size = tuple(2 * k - 1 for k in k_shape)
    F = np.fft.rfftn(kernels, s=size, axes=tuple(range(1, d + 1)))
    # shifts -(k-1) .. k-1 that are multiples of the stride, at their circular indices
    keep = np.ix_(*[np.array([x % n for x in range(-(k - 1), k) if x % s == 0])
                    for k, n, s in zip(k_shape, size, stride)])
    dup = np.zeros(K, dtype=bool)
    for i in range(K - 1):
        if dup[i]:
            continue
        corr = np.fft.irfftn(F[i + 1:] * F[i].conj(), s=size, axes=tuple(range(1, d + 1)))
        best = np.abs(corr[(slice(None),) + keep]).reshape(K - i - 1, -1).max(axis=1)
        dup[i + 1:] |= best > tol
    return np.flatnonzero(dup)


def _kernels_dataset(kernels, history, elapsed, params) -> xr.Dataset:
    d = kernels.ndim - 1
    dims = ("kernel",) + kernel_dims(d)
    ds = xr.Dataset(
        {"kernels": (dims, kernels, {"long_name": "unit-norm convolution kernels",
                                     "units": "1"})},
        coords={"kernel": np.arange(len(kernels)),
                "update": count_coord("update", np.arange(len(elapsed)), UPDATES_BEFORE)},
    )
    for key, long_name in _HISTORY.items():
        values = history[key]
        if key in ("n_reseeded", "n_unconverged"):
            values = values.astype(np.int64)
        ds[key] = ("update", values, {"long_name": long_name,
                                      "units": "(units of X)^2" if key == "objective" else "1"})
    ds["elapsed"] = ("update", elapsed, {"long_name": "time since the first update",
                                         "units": "s"})
    ds.attrs.update(model="convolutional sparse coding", **params)
    return ds


def _random_crops(images, crop_size, n, rng) -> np.ndarray:
    """``n`` crops of ``crop_size`` at uniformly random images and places."""
    which = rng.integers(len(images), size=n)
    corners = [rng.integers(s - c + 1, size=n) for s, c in zip(images.shape[1:], crop_size)]
    out = np.empty((n,) + tuple(crop_size), images.dtype)
    for i in range(n):
        where = tuple(slice(c[i], c[i] + size) for c, size in zip(corners, crop_size))
        out[i] = images[(which[i],) + where]
    return out


def _unit_norm(kernels, name) -> np.ndarray:
    """Kernels scaled to unit norm; a kernel of zero norm is refused (``name``)."""
    flat = kernels.reshape(len(kernels), -1)
    # scaled by the largest |entry| first: squares of 1e-170 underflowed to a norm of 0,
    # and a kernel any scale can be normalised was called "all zeros"
    peaks = np.abs(flat).max(axis=1)
    scaled = flat / np.where(peaks > 0, peaks, 1.0)[:, None]
    unit_norms = np.sqrt((scaled**2).sum(axis=1))
    norms = peaks * unit_norms
    zero = norms <= 1e-12 * float(norms.max())
    if zero.any():
        raise ValueError(f"{name}: kernel {int(np.flatnonzero(zero)[0])} is all zeros "
                         f"({describe(kernels)})")
    return (scaled / unit_norms[:, None]).reshape(kernels.shape)


def _worst_windows(phi, R, count, rng) -> np.ndarray:
    """``count`` unit-norm residual windows of the largest energy (noise where the
    residual is zero, or where the batch has fewer windows than ``count``: one
    window per crop when the stride is the crop)."""
    windows = phi._windows(R).astype(np.float64)
    energy = (windows**2).sum(axis=1)
    order = np.argsort(energy)[::-1][:count]
    new = np.zeros((count, windows.shape[1]))
    new[:len(order)] = windows[order]
    flat_zero = (new**2).sum(axis=1) <= 0
    new[flat_zero] = rng.standard_normal((int(flat_zero.sum()), new.shape[1]))
    new /= np.sqrt((new**2).sum(axis=1))[:, None]
    return new.reshape((count,) + phi.kernel_shape)
