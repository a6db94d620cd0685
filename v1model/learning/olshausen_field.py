"""Olshausen & Field's sparse-coding learning rule (1996, 1997).

Learning alternates inference (find the sparse code ``a`` of a minibatch of
patches with the dictionary held fixed) and a gradient step on the
dictionary that reduces the reconstruction error:

    dD = lr * <a (x - D^T a)^T>        (Hebbian: code times residual)

Two variants:

- ``prior="l1"``: the L1 / LCA model, ``E = 0.5 ||x - D^T a||^2 + lam ||a||_1``,
  codes from FISTA (or LCA), atoms renormalised to unit length after every
  update.
- ``prior="cauchy"``: Olshausen & Field's own model, sparseness cost
  ``S(a) = log(1 + (a / sigma)^2)``, codes by 10 conjugate-gradient steps per
  patch while learning, as sparsenet (the converged MAP codes learn other,
  noisier atoms: see the Notes of :func:`learn_dictionary`; encoding with a
  learned dictionary converges to a local minimum of the nonconvex energy, a
  local MAP that can depend on which samples are coded together:
  :func:`cauchy_inference`), and the gain adaptation of the original
  ``sparsenet`` code: each atom's length is adjusted so that its coefficient
  variance approaches a target (``var_goal``), which stops codes shrinking
  while atoms grow.

The Cauchy model's defaults (``sigma``, ``var_goal``, ``gain_rate``,
``var_eta``, batch 100) are those of the original MATLAB sparsenet
(noise_var = 0.01, beta = 2.2, sigma = 0.316, VAR_GOAL = 0.1, alpha = 0.02,
var_eta = 0.001, eta = 1). Its energy
``0.5/noise_var ||e||^2 + beta sum S(a/sigma)`` equals ours with
``lam = beta * noise_var = 0.022``; ``lam`` itself defaults to 0.1 for both
priors, so pass ``lam=SPARSENET_CAUCHY_LAM`` for sparsenet's setting.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from .._blas import blas_threads_for_step, coding_iteration_flops
from .._frames import user_stacklevel
from ..progress import check_progress, progress_bar
from ..scaling import pow2_scale
from ..validation import (
    as_generator,
    check_array,
    check_choice,
    check_dictionary,
    check_fits_in_memory,
    check_int,
    check_nonnegative,
    check_positive,
    check_shape,
    flatten_image_atoms,
    image_atom_shape,
)
from ..inference._common import (UNCONVERGED_HISTORY, check_products_in_range,
                                 check_warm_start, lam_units, tally_not_converged,
                                 warn_not_converged)
from ..inference._dictionary_cache import bypassing_cache
from ..io import UPDATES_BEFORE, clean_attrs, count_coord, flatten_nested, seed_attr
from ._data import check_training_rows
from ._history import relative_error

#: the ways :func:`init_dictionary` can start a dictionary
INITS = ("data", "random")
#: inference methods of the L1 learner: encode's L1 methods and IHT (which take lam)
L1_INFERENCE = ("fista", "lca", "ista", "cd", "active_set", "iht")
#: the Cauchy learner's inference: sparsenet's truncated conjugate gradient, or the MAP
CAUCHY_INFERENCE = ("sparsenet", "map")
#: conjugate-gradient iterations per patch of sparsenet's inference (ITMAX in cgf.c)
SPARSENET_CG_STEPS = 10
#: learn_dictionary(inference="map") stops each batch's L-BFGS-B at this largest |energy
#: gradient| (units of X squared per unit of the codes), after CAUCHY_MAP_MAX_ITER
#: iterations or at SciPy's default relative decrease (ftol); benchmarks/bench_cauchy.py
#: imports them to say so
CAUCHY_MAP_TOL = 1e-5
CAUCHY_MAP_MAX_ITER = 200

__all__ = ["learn_dictionary", "cauchy_inference", "cauchy_objective", "init_dictionary",
           "SPARSENET_CAUCHY_LAM"]

#: lam of the Cauchy model equivalent to sparsenet's beta * noise_var
SPARSENET_CAUCHY_LAM = 2.2 * 0.01
#: arguments of the inference call that learn_dictionary sets itself
INFERENCE_RESERVED = ("lam", "positive", "dtype", "threshold", "tau", "method", "X", "D")


def cauchy_objective(X, D, A, lam, sigma):
    """Per-sample energy 0.5||x - D^T a||^2 + lam * sum log(1 + (a/sigma)^2).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Signals.
    D : ndarray, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    A : ndarray, shape (n_samples, n_atoms)
        Codes.
    lam : float
        Weight of the Cauchy penalty (units of ``X`` squared).
    sigma : float
        Cauchy scale, in units of the codes.

    Returns
    -------
    ndarray, shape (n_samples,)
        The energy of each sample (inputs are not checked).
    """
    R = X - A @ D
    return 0.5 * np.einsum("ij,ij->i", R, R) + lam * np.log1p((A / sigma) ** 2).sum(axis=1)


#: samples per minimisation in cauchy_inference (benchmarks/README.md, "Cauchy prior")
CAUCHY_GROUP = 10


#: data whose largest |x| is beyond this power of two are coded in units of their scale
CAUCHY_OWN_UNITS = 2.0**32


def cauchy_inference(X, D, lam, sigma=0.316, *, A0=None, tol=1e-6, max_iter=5000,
                     method="L-BFGS-B", progress=None, _names=("X", "D")):
    """MAP codes under Olshausen & Field's Cauchy prior.

    Minimises ``0.5 ||x - D^T a||^2 + lam * sum_i log(1 + (a_i / sigma)^2)``
    for every sample. The batch energy is a sum of independent per-sample
    energies, so one quasi-Newton (``"L-BFGS-B"``) or nonlinear conjugate
    gradient (``"CG"``, sparsenet's method) run over a group of
    ``CAUCHY_GROUP`` samples minimises them together (fewer iterations in
    all than one run per sample).

    The energy is not convex (the log prior is concave away from 0): each
    code is a local minimum, a MAP only locally, and which one depends on
    the path, which the shared line searches and curvature pairs of a group
    make depend on the samples solved with it. The same sample alone, in
    another group or from another ``A0`` can converge to a different local
    minimum: Gaussian ``X`` (41, 16) then ``D`` (24, 16, rows normalised)
    from ``default_rng(0)``, ``lam=0.1``: sample 8 in the batch and alone
    got codes 1.7 apart (max over atoms), both converged, with energies
    3.18 and 3.23.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    D : array_like, shape (n_atoms, n_features)
    lam : float
        Weight of the sparseness cost (sparsenet: beta * noise_var = 0.022).
    sigma : float, default 0.316
        Scale of the Cauchy prior (sparsenet: 0.316).
    A0 : array_like, shape (n_samples, n_atoms) or (n_atoms,), optional
        Starting point (``(n_atoms,)`` for a single sample); default ``X D^T``
        scaled by 1 / diag(D D^T).
    tol : float, default 1e-6
        Stop when no coefficient's energy gradient exceeds ``tol`` times the
        scale of the samples solved together (the power of two just below
        their largest ``|x|``: the gradient grows with ``X``, so that codes
        of ``X`` scaled by 1e-6 are as close to the MAP as those of ``X``);
        scipy's ``gtol``. L-BFGS-B's stop on the relative decrease of the
        energy is switched off so that ``tol`` decides.
    max_iter : int, default 5000
        Iteration limit of each minimisation (one per ``CAUCHY_GROUP``
        samples; scipy's limit on energy evaluations is set above what
        ``max_iter`` iterations can take, so that it never stops one
        first); a ``ConvergenceWarning`` counts and names the samples
        whose own gradient is left above ``tol`` in a group stopped there
        (the other samples of the group met it), and names the largest
        gradient left. (A ``tol`` below float64's floor, ~1e-8 for
        unit-scale data, ends where the energy stops decreasing, without a
        warning.)
    method : {"L-BFGS-B", "CG"}, default "L-BFGS-B"
        Used unless the penalty is quadratic (below).
    progress : bool or None, default None
        Show a tqdm bar over the samples: None once the call has run 2 s
        (:mod:`v1model.progress`; 10,000 16x16 patches and 512 atoms take
        about 100 s), True at once, False never.
    _names : (str, str), default ("X", "D")
        Private (front doors that pass their own arguments): the names of
        ``X`` and ``D`` in error messages, e.g. ``("X", "dictionary")`` for a
        network's own dictionary, which its caller never passed.

    Returns
    -------
    A : ndarray, shape (n_samples, n_atoms), float64
        Local minima of each sample's energy (see above: not necessarily
        the global MAP, and dependent on the grouping).

    Notes
    -----
    Data far below unit scale (largest ``|x|`` of a group under
    ``1 / CAUCHY_OWN_UNITS = 2**-32``, every ``||x||^2 <= 8 lam eps``, with
    float64's eps 2.2e-16) are coded in closed form: every stationary point
    of the energy then has ``(a / sigma)^2 <= eps``, where
    ``log(1 + (a / sigma)^2) = (a / sigma)^2`` to float64's precision, so the
    MAP is the ridge solution ``a = (D D^T + (2 lam / sigma^2) I)^-1 D x``,
    the only minimum (``A0`` plays no part), solved for ``x`` over a power
    of two (exact), so that nothing underflows; an iterative solve left the
    codes of ``X`` scaled by 1e-170 at their start. Data far above unit scale
    (largest ``|x|`` beyond ``CAUCHY_OWN_UNITS = 2**32``) are solved in their
    own units, and so are data far below it that the closed form does not
    cover (``lam = 0``, plain least squares, or ``lam`` so small that some
    ``||x||^2 > 8 lam eps``: ``lam = 1e-300`` for ``X`` scaled by 1e-150),
    where ``lam / c^2`` cannot overflow.
    """
    from ..validation import check_data_and_dictionary

    X, D = check_data_and_dictionary(X, D, x_name=_names[0], d_name=_names[1])
    # the dictionary alone (X of any scale is solved, its tolerance scaled): D D^T beyond
    # float64 gave codes of 0 for D scaled by 1e300 with only numpy's overflow warning, and
    # its diagonal underflowed to 0 for D scaled by 1e-200, codes of inf without a word
    check_products_in_range(X[:0], D, np.float64, d_name=_names[1])
    lam = check_nonnegative(lam, "lam")
    sigma = check_positive(sigma, "sigma")
    check_choice(method, "method", ("L-BFGS-B", "CG"))
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_positive(tol, "tol")
    A0 = check_warm_start(A0, (X.shape[0], D.shape[0]), np.float64)
    check_progress(progress)
    n = X.shape[0]
    A = np.empty((n, D.shape[0]))
    worst, left, n_stopped = 0.0, [], 0
    ridge_factor = []  # the SVD of the ridge system, made by the first tiny group
    # the samples are independent: small groups converge in fewer iterations than
    # one minimisation over the whole batch, whose line searches serve every sample
    with threadpool_limits(limits=1, user_api="blas"), \
            progress_bar(progress, total=n, desc=f"cauchy MAP ({method})") as bar:
        for start in range(0, n, CAUCHY_GROUP):
            rows = slice(start, min(start + CAUCHY_GROUP, n))
            # the energy gradient scales with X: an absolute gtol left the codes of X
            # scaled by 1e-6 at their start (energy 2.2x the MAP's). Large X is solved in
            # its own units (X, A and sigma over the power of two `up`, lam over up^2: the
            # same energy over up^2, exactly): L-BFGS took no step at all from the start
            # of X scaled by 1e50, and A*A overflowed at 1e200 (lam / c^2 of small X
            # would overflow: there the ridge below, or the tolerance alone scales)
            c = float(pow2_scale(X[rows]))
            # far below unit scale the penalty is quadratic to float64's precision: the MAP
            # is the ridge solution (L-BFGS left the codes of X scaled by 1e-170 at start)
            ridge = (_cauchy_ridge(X[rows], D, lam, sigma, c, ridge_factor)
                     if c < 1.0 / CAUCHY_OWN_UNITS and lam > 0 else None)
            if ridge is not None:
                A[rows] = ridge
                bar.update(rows.stop - rows.start)
                continue
            # small X that the ridge leaves (lam = 0, least squares, or some ||x||^2 >
            # 8 lam eps) is solved in its own units too: there lam / c^2 < ||x / c||^2 /
            # (8 eps) cannot overflow (its energy, ~c^2, underflowed: the codes of X scaled
            # by 1e-200 were left at their start, with lam = 0 and with lam = 1e-300)
            up = c if c > CAUCHY_OWN_UNITS or c < 1.0 / CAUCHY_OWN_UNITS else 1.0
            # lam = 0: sigma plays no part (sigma / up and up * up may leave float64's
            # range); lam / up / up, as up * up underflows to 0 for up = 2**-600
            lam_up, sigma_up = (lam / up / up, sigma / up) if lam > 0 else (0.0, 1.0)
            codes, res = _cauchy_map(X[rows] / up, D, lam_up, sigma_up,
                                     None if A0 is None else A0[rows] / up, tol * c / up,
                                     max_iter, method, ftol=0.0, return_result=True)
            A[rows] = codes * up
            # the energies add up: each row's block of the group's gradient is its own
            # (in the energy's own units), so a row is short of tol by itself; the whole
            # group was counted short when one row was
            g = np.abs(res.jac).reshape(codes.shape).max(axis=1, initial=0.0) * up
            # status 1: the iteration limit; other early stops are float64's floor
            if res.status == 1 and np.any(g > tol * c):
                worst, n_stopped = max(worst, float(g.max())), n_stopped + 1
                left.append(start + np.flatnonzero(g > tol * c))
            bar.update(rows.stop - rows.start)
    if left:
        left = np.concatenate(left)
        n_groups = -(-n // CAUCHY_GROUP)
        warn_not_converged(
            f"cauchy_inference ({method})", max_iter, left.size, n, samples=left,
            advice=(f" (one minimisation per group of {CAUCHY_GROUP} rows, stopped when "
                    f"all of them meet tol: {n_stopped} of {n_groups} groups stopped at "
                    f"max_iter; largest gradient {worst:.3g}, tol={tol:g} times the "
                    f"group's scale of X)"))
    return A


def _cauchy_ridge(X, D, lam, sigma, c, factor):
    """The Cauchy MAP codes of data so small that the penalty is quadratic, or None.

    With ``E = 0.5 ||x - D^T a||^2 + lam sum_i log(1 + (a_i / sigma)^2)``,
    ``grad E . a >= lam sum_i 2 a_i^2 / (sigma^2 + a_i^2) - ||x||^2 / 4``: every
    stationary point has ``(a_i / sigma)^2 <= ||x||^2 / (8 lam - ||x||^2)``.
    When ``||x||^2 <= 8 lam eps`` (float64's eps) that is below eps, where the
    energy is strictly convex and ``log(1 + (a / sigma)^2) = (a / sigma)^2`` to
    float64's precision: the only minimum, whatever the start, is the ridge
    solution ``a = (D D^T + (2 lam / sigma^2) I)^-1 D x``.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Signals, largest ``|x|`` in ``[c, 2c)``.
    D : ndarray, shape (n_atoms, n_features)
        Dictionary, one atom per row.
    lam, sigma : float
        Penalty weight (> 0, units of ``X`` squared) and Cauchy scale (units of
        the codes).
    c : float
        Power of two just below the largest ``|x|``: the system is solved for
        ``X / c`` (exact), whose codes are multiplied by ``c``, so that neither
        ``||x||^2``, ``D X^T`` nor the solve underflows.
    factor : list
        Empty, or holding the factorisation of the ridge system from an earlier
        call (filled here: one factorisation per batch). It depends on ``D``,
        ``lam`` and ``sigma`` alone, fixed for a batch; ``c``, which changes
        from group to group, enters only through ``X / c`` and the codes' ``c``.

    Returns
    -------
    ndarray, shape (n_samples, n_atoms), or None
        The codes, in units of ``X``; None when some ``||x||^2 > 8 lam eps``.
        As ``lam`` goes to 0 they go to the least-squares codes (the
        minimum-norm ones for an overcomplete ``D``), singular values of
        ``D`` below ``max(D.shape) eps`` times the largest counted as 0, as
        :func:`numpy.linalg.lstsq` does.
    """
    Xc = X / c
    # ||x|| <= sqrt(8 lam eps), in units of c (a bound of inf, for lam / c^2 beyond
    # float64, holds for any x)
    with np.errstate(over="ignore"):
        bound = np.sqrt(8 * lam) * np.sqrt(np.finfo(np.float64).eps) / c
    if not np.all(np.linalg.norm(Xc, axis=1) <= bound):
        return None
    if not factor:
        # (G + mu I) a = D x with G = D D^T and mu = 2 lam / sigma^2, through the SVD
        # D^T = U diag(s) V^T: a = V diag(1 / (s + mu / s)) U^T x, or, where mu > 1 (or
        # beyond float64: sigma 1e-200), r V diag(s / (r s^2 + 1)) U^T x with r = 1 / mu,
        # whose r may underflow to 0 (codes below float64's range): neither overflows.
        # The Cholesky factor of G + mu I it replaces was refused as nearly singular
        # whenever trace(G) / mu > 1 / sqrt(eps), full rank or not: the codes of X
        # scaled by 1e-200 with lam = 1e-300 were left at their start
        U, s, Vt = np.linalg.svd(D.T, full_matrices=False)
        with np.errstate(over="ignore", divide="ignore"):
            mu = 2 * lam / np.float64(sigma) ** 2
        r = 1.0 if mu <= 1 else float((sigma / np.sqrt(2 * lam)) ** 2)
        # singular values at D's rounding noise count as 0, as lstsq's do: a tiny mu
        # would blow their directions up by 1 / s
        keep = s > s[0] * max(D.shape) * np.finfo(np.float64).eps
        gain = np.zeros_like(s)
        gain[keep] = (1 / (s[keep] + mu / s[keep]) if mu <= 1
                      else s[keep] / (r * s[keep] ** 2 + 1))
        factor.append((U, gain, Vt, r))
    U, gain, Vt, r = factor[0]
    return ((Xc @ U) * gain) @ Vt * (r * c)


#: evaluations of the energy per L-BFGS-B line search at most (scipy's default)
LBFGSB_MAXLS = 20


def _cauchy_map(X, D, lam, sigma, A0, tol, max_iter, method, ftol=None, return_result=False):
    """One minimisation over the batch ``X``. Callers hold one BLAS thread
    (``threadpool_limits(1, "blas")``): SciPy's optimizers run many small
    vector operations, which OpenBLAS's threads made 7.5x slower."""
    n, k = X.shape[0], D.shape[0]
    G = D @ D.T
    B = X @ D.T
    if A0 is None:
        A0 = B / np.diag(G)[None, :]
    s2 = sigma * sigma
    # beyond this |A| / sigma (or a sigma whose square underflows) A*A / s2 is not finite
    big = 1e150 * sigma if s2 >= np.finfo(np.float64).tiny else 0.0

    def fun(a_flat):
        A = a_flat.reshape(n, k)
        GA = A @ G
        # 0.5||x||^2 is constant and dropped
        f = 0.5 * np.einsum("ij,ij->", A, GA) - np.einsum("ij,ij->", A, B)
        if np.abs(A).max(initial=0.0) < big:
            f += lam * np.log1p(A * A / s2).sum()
            penalty_grad = 2 * A / (s2 + A * A)
        else:  # the same through h = sqrt(1 + (A/sigma)^2), which does not overflow
            z = A / sigma
            h = np.hypot(1.0, z)
            f += lam * 2 * np.log(h).sum()
            penalty_grad = (2 / sigma) * (z / h) / h
        grad = GA - B + lam * penalty_grad
        return f, grad.ravel()

    options = {"maxiter": max_iter, "gtol": tol}
    if method == "L-BFGS-B":
        # max_iter alone stops it (a line search, and its one restart, take at most maxls
        # evaluations each): scipy's own maxfun, 15000, stopped runs of max_iter > ~5000
        # first, with max_iter's status, and the warning advised raising max_iter in vain
        options.update(maxls=LBFGSB_MAXLS, maxfun=2 * LBFGSB_MAXLS * max_iter + 1)
        if ftol is not None:
            options["ftol"] = ftol
    res = minimize(fun, A0.ravel(), jac=True, method=method, options=options)
    A = res.x.reshape(n, k)
    return (A, res) if return_result else A


def _map_shortfall():
    """learn_dictionary(inference="map")'s shortfall as its run's ConvergenceWarning says
    it, and the remedy: its limits are constants (read at the call), no setting of the
    user's to name."""
    what = (f"learn_dictionary's Cauchy MAP (L-BFGS-B) stopped after {CAUCHY_MAP_MAX_ITER} "
            "iterations")
    remedy = (f"its limits are fixed (CAUCHY_MAP_MAX_ITER = {CAUCHY_MAP_MAX_ITER}, "
              f"CAUCHY_MAP_TOL = {CAUCHY_MAP_TOL:g} on each sample's largest |energy "
              "gradient|): the updates followed codes short of the MAP; inference='sparsenet' "
              f"(the default) stops at {SPARSENET_CG_STEPS} CG steps by design")
    return what, remedy


def _map_codes(X, D, lam, sigma, tally):
    """learn_dictionary(inference="map")'s codes of a minibatch ``X``: one L-BFGS-B to
    :data:`CAUCHY_MAP_TOL` or :data:`CAUCHY_MAP_MAX_ITER`. Stopped at the limit, the
    samples whose own gradient is still above the tolerance (each row's block of the
    batch's gradient is its own: the energies add up) are added to the run's ``tally``
    (a :class:`~v1model.inference._common.NotConvergedTally`). Callers hold one BLAS
    thread, as for :func:`_cauchy_map`."""
    A, res = _cauchy_map(X, D, lam, sigma, None, CAUCHY_MAP_TOL, CAUCHY_MAP_MAX_ITER,
                         "L-BFGS-B", return_result=True)
    # status 1: the iteration limit; scipy's other stop (ftol) is the documented one
    if res.status == 1:
        g = np.abs(res.jac).reshape(A.shape).max(axis=1, initial=0.0)
        n_left = int(np.count_nonzero(g > CAUCHY_MAP_TOL))
        if n_left:
            what, remedy = _map_shortfall()
            tally.add(what, n_left, len(A), remedy)
    return A


def _sparsenet_codes(X, D, lam, sigma):
    """Codes of sparsenet's learning loop: conjugate gradient on the Cauchy
    energy from ``b / diag(G)``, stopped after :data:`SPARSENET_CG_STEPS`
    iterations (``cgf.c``'s ITMAX), short of the MAP.

    One CG run over the batch's codes (their energies add up), not one per
    patch as sparsenet: as early a stop, and 20x faster than a scipy call per
    patch, which learned alike on 8x8 patches (learn_dictionary, Notes); a
    patch's codes then depend on the rest of its batch, and on 12x12 patches
    from sparsenet's A144 the two differ (energy 1.264 against 1.255, and a
    per-patch CG learned fewer Gabor-like atoms). The early stop is
    part of the model that learns: with the converged MAP codes the same
    updates left most atoms noise-like. Callers hold one BLAS thread, as for
    :func:`_cauchy_map`.
    """
    # gtol 0: the iteration count stops it, as ITMAX does sparsenet's
    return _cauchy_map(X, D, lam, sigma, None, 0.0, SPARSENET_CG_STEPS, "CG")


def init_dictionary(X, n_atoms, init="data", seed=None):
    """Initial dictionary with unit-norm rows.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Training data (only its shape is used by ``"random"``).
    n_atoms : int
    init : {"data", "random"}, default "data"
        ``"data"``: randomly chosen samples, distinct ones while ``X`` has
        enough rows (each used ``ceil(n_atoms / n_samples)`` times at most
        when it has fewer), plus 1% noise, so that repeated or all-zero
        samples still differ; ``"random"``: Gaussian white noise.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, shape (n_atoms, n_features), float64

    Raises
    ------
    ValueError
        For invalid ``X`` or ``init``, ``n_atoms < 1``, or a dictionary larger
        than the memory this process may use.
    """
    X = check_training_rows(X, allow_zero=True, dtype=np.float64)  # a memmap is not loaded
    n_atoms = check_int(n_atoms, "n_atoms", minimum=1)
    init = check_choice(init, "init", INITS)
    return _init_dictionary(X, n_atoms, init, as_generator(seed))


def _init_dictionary(X, n_atoms, init, rng):
    n, p = X.shape
    # every learner starts here: numpy's "Unable to allocate 7.28 TiB" named no argument
    check_fits_in_memory((n_atoms, p), np.float64, "n_atoms", n_atoms,
                         f"atoms of {p} features (float64)")
    if init == "random":
        D = rng.standard_normal((n_atoms, p))
    else:
        spread = _std(X)
        if spread == 0:
            # constant X (e.g. one constant sample): noise at the data's own scale, its
            # rms (every entry equals X[0, 0]); unit-scale noise buried a sample at 1e-6.
            # All-zero X: noise alone (unit scale) makes the atoms
            spread = abs(float(X[0, 0])) or 1.0
        rows = rng.integers(0, n, n_atoms)
        noise = rng.standard_normal((n_atoms, p))
        D = (np.asarray(X[_distinct_rows(rows, n, rng)], dtype=np.float64)
             + 0.01 * spread * noise)
    # a relative floor: data of any scale gives unit atoms
    return D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), np.finfo(D.dtype).tiny)


def _distinct_rows(rows, n_samples, rng):
    """``rows`` with its repeats replaced by rows it does not hold yet.

    Rows drawn with replacement repeat (24 of 1,000 in 8 of 50 seeds, 256 of
    50,000 in 7 of 20), and the 1% noise leaves their atoms at ``|cosine|``
    above 0.99 (0.9997 for 16 features): the Olshausen-Field rule, which
    re-seeds no atom, separates such pairs only slowly, and the other learners
    spent a re-seed on them. The draw is
    corrected rather than replaced so that a start without repeats stays as it
    was, bit for bit. Past ``n_samples`` rows every row is used as evenly as
    possible.
    """
    if rows.size > n_samples:
        full, rest = divmod(rows.size, n_samples)
        return np.concatenate([np.tile(np.arange(n_samples), full),
                               rng.choice(n_samples, rest, replace=False)])
    repeats = np.ones(rows.size, dtype=bool)
    repeats[np.unique(rows, return_index=True)[1]] = False
    if repeats.any():
        unused = np.setdiff1d(np.arange(n_samples), rows)
        rows = rows.copy()
        rows[repeats] = rng.choice(unused, int(repeats.sum()), replace=False)
    return rows


def _std(X, block_elements=2**16) -> float:
    """``X.std()`` in float64, read in blocks of rows: no temporary the size of
    ``X`` (``X.std()`` makes ``X - X.mean()``: 2 GB for a million 16x16
    patches), and a memmap of any dtype is not loaded."""
    rows = max(1, block_elements // X.shape[1])
    blocks = [slice(start, start + rows) for start in range(0, X.shape[0], rows)]
    mean = sum(float(np.sum(X[b], dtype=np.float64)) for b in blocks) / X.size
    square = sum(float(np.sum((np.asarray(X[b], dtype=np.float64) - mean) ** 2))
                 for b in blocks)
    return float(np.sqrt(square / X.size))


#: mean square of the data the rule's step (and the Cauchy model's lam, sigma and
#: var_goal) are set for: whitened patches of variance about 0.1. sparsenet's constants
#: were set on Olshausen's IMAGES, whose 12 x 12 patches (4-pixel border) have mean square
#: 0.077 (pixels 0.079; measured 2026-12-08); VAR_GOAL = 0.1 is a target of coefficient
#: variance, not of the data's: our defaults on those patches (lam=SPARSENET_CAUCHY_LAM,
#: 144 atoms, 3000 updates, seed 0) reached a coefficient variance of median 0.100 (mean
#: 0.103, atoms 0.084-0.145), as sparsenet's gain adaptation aims for
DESIGN_MEAN_SQUARE = 0.1
#: how far (a factor either way) the data's mean square may lie from it unwarned
SCALE_TOLERANCE = 100.0


def _warn_if_off_scale(X, lr, prior):
    """Warn when ``X`` is so far from the scale the step ``lr`` is set for that
    learning would stall or wreck the dictionary without an error.

    The step ``lr <a r^T>`` grows with the data squared: measured on a planted
    dictionary (16 atoms, lam scaled with X, lr = 1, 300 updates), X scaled by
    1e-2 left it frozen (recovery 0.747 at start and end; 0.868 at scale 1), and
    X scaled by 1e2 wrecked it (0.552, relative error 0.50).
    """
    # no temporary the size of X; float64 sums (int8 data overflowed); "same_kind": the
    # default "safe" casting refused a longdouble X with a NumPy TypeError
    mean_square = float(np.einsum("ij,ij->", X, X, dtype=np.float64,
                                  casting="same_kind")) / X.size
    ratio = mean_square / DESIGN_MEAN_SQUARE
    if 1 / SCALE_TOLERANCE <= ratio <= SCALE_TOLERANCE:
        return
    scaled = "lam, sigma, var_goal and lr" if prior == "cauchy" else "lam and lr"
    warnings.warn(
        f"X has a mean square of {mean_square:.3g}, {ratio:.3g} times the "
        f"{DESIGN_MEAN_SQUARE:g} of whitened patches that the learning step is set for; the "
        f"step lr * <a r^T> scales with X squared, so lr={lr:g} will "
        + ("barely move the dictionary" if ratio < 1 else "throw the dictionary around")
        + f": rescale X (e.g. X * {np.sqrt(1 / ratio):.3g}, or stimuli.whiten's variance "
        f"0.1) or scale {scaled} with it (lr ~ {lr / ratio:.3g})", UserWarning,
        stacklevel=user_stacklevel())


def learn_dictionary(
    X,
    n_atoms: int,
    *,
    lam: float = 0.1,
    prior: str = "l1",
    sigma: float = 0.316,
    threshold: str = "soft",
    tau: float = 0.01,
    n_updates: int = 2000,
    batch_size: int = 100,
    lr: float = 1.0,
    lr_final: float | None = None,
    inference: str | None = None,
    inference_params: dict | None = None,
    init: str = "data",
    D0=None,
    var_goal: float = 0.1,
    gain_rate: float = 0.02,
    var_eta: float = 0.001,
    code_var=None,
    seed=None,
    progress: bool | None = True,
    record_every: int = 1,
):
    """Learn a dictionary with the Olshausen-Field rule.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Training patches (e.g. whitened natural-image patches, flattened); an
        ``np.memmap`` is read one minibatch at a time, not loaded.
    n_atoms : int
        Number of basis functions (units).
    lam : float, default 0.1
        Sparseness weight: L1 penalty for ``prior="l1"``; ``beta * noise_var``
        for ``prior="cauchy"`` (sparsenet: 0.022, see ``SPARSENET_CAUCHY_LAM``).
    prior : {"l1", "cauchy"}, default "l1"
    sigma : float, default 0.316
        Cauchy scale (``prior="cauchy"``).
    threshold : {"soft", "hard", "nonneg"}, default "soft"
        Nonlinearity of the codes (``prior="l1"``; ``prior="cauchy"`` takes
        "soft" only): "soft" and "nonneg" are
        the L1 problem (signed or non-negative) for every inference method;
        "hard" is LCA's hard threshold, whose energy is
        ``0.5 ||x - D^T a||^2 + lam^2 / 2 ||a||_0``, and needs
        ``inference="lca"`` or ``"iht"``.
    tau : float, default 0.01
        LCA time constant in seconds (``inference="lca"``).
    n_updates : int, default 2000
        Number of minibatch updates.
    batch_size : int, default 100
        Patches per update (sparsenet: 100).
    lr : float
        Initial learning rate (step on ``<a r^T>``, per-sample average). The
        step grows with ``X`` squared, and the defaults are set for whitened
        patches of mean square ~0.1 (sparsenet's): data more than 100 times
        off that (``DESIGN_MEAN_SQUARE``, ``SCALE_TOLERANCE``) is warned of,
        with the ``lr`` that would give the same step. The default 1 is
        sparsenet's eta and cautious for L1: on whitened 8x8 patches of the
        embedded photographs (64 atoms, ``lam = 0.1``, 2,000 updates, seeds 0
        and 1) ``lr=3`` (the ``olshausen-field-1996`` study's) gave 62 and 63
        atoms with a Gabor fit of R^2 >= 0.8 and a lower final objective, the
        default 47 and 51.
    lr_final : float, optional
        Learning rate at the last update; the rate decays geometrically from
        ``lr``. Default ``lr / 10`` for L1 and ``lr`` (constant, as
        ``sparsenet.m``) for Cauchy. sparsenet's README lowers the rate by
        hand once atoms emerge, "to come to a clean stable solution"; on
        16x16 patches a decay to a tenth more than doubles the Gabor-like
        atoms (the study ``olshausen-field-1996``'s docstring has the
        measurements).
    inference : str, optional
        ``{"fista", "lca", "ista", "cd", "active_set", "iht"}`` (L1) or
        ``{"sparsenet", "map"}`` (Cauchy).
        For ``prior="cauchy"``: ``"sparsenet"`` (default), codes by
        :data:`SPARSENET_CG_STEPS` conjugate-gradient iterations, as the
        sparsenet code learns; ``"map"``, the converged MAP codes (L-BFGS-B
        to a gradient of 1e-5, or 200 iterations: the samples it leaves short
        are counted and warned of, as for L1). The early stop matters for what is learned
        (Notes). How codes are found for ``prior="l1"``: an L1 method of
        :func:`v1model.inference.encode`, or iterative hard thresholding at
        ``lam`` (the greedy ``"mp"`` / ``"omp"`` take no ``lam`` and are not
        offered here; use :func:`v1model.learning.learn_mod` or
        :func:`~v1model.learning.learn_ksvd` for them). Default "fista", or
        "lca" for ``threshold="hard"``. The recorded ``objective`` is the
        energy the method minimises: with the L0 penalty ``lam^2 / 2 ||a||_0``
        for ``"iht"`` and for LCA with the hard threshold.
    inference_params : dict, optional
        Extra keyword arguments for the inference call (``prior="l1"`` only).
        Samples the solver leaves short of its ``tol`` are warned of once at
        the end of the run (a ``ConvergenceWarning`` counting the updates and
        samples, naming these keys, e.g. ``inference_params['max_iter']``).
    init : {"data", "random"}, default "data"
        Initial dictionary when ``D0`` is not given (``"random"`` with ``D0`` is
        refused: learning starts from ``D0``).
    D0 : array_like, shape (n_atoms, n_features) or (n_atoms, height, width), optional
        Initial dictionary; atoms as images are flattened row-major, as patches
        are (:func:`~v1model.validation.flatten_image_atoms`); the learned
        dictionary is returned as rows.
    var_goal, gain_rate, var_eta : float
        Gain adaptation of the Cauchy model (sparsenet's VAR_GOAL, alpha, var_eta;
        ``var_eta`` in (0, 1]).
    code_var : array_like, shape (n_atoms,), optional
        Running variance of each coefficient that the gain adaptation starts
        from (``prior="cauchy"``; positive, in the squared units of the codes):
        a previous call's ``history["code_var"]``, with its dictionary as
        ``D0``, continues that learning as sparsenet does when kept running.
        Default ``var_goal`` for every atom (sparsenet's start).
    seed : int, Generator or None
        Recorded in the history's ``attrs["seed"]`` before anything draws (a
        Generator as its state): :func:`v1model.io.seed_from_attr` re-runs it.
    progress : bool or None, default True
        Show a tqdm bar over the updates (None: once the call has run 2 s,
        :mod:`v1model.progress`).
    record_every : int, default 1
        Keep one history entry every this many updates.

    Returns
    -------
    D : ndarray, shape (n_atoms, n_features)
        Learned dictionary (unit-norm rows for L1; rows of length ``gain``
        for Cauchy).
    history : xarray.Dataset
        Over dim ``update``: ``objective`` (mean energy per patch),
        ``reconstruction_error`` (||x - D^T a||^2 / ||x||^2), ``mean_abs_code``,
        ``fraction_active`` (non-zero codes for L1; for Cauchy, whose MAP codes
        are never exactly zero, the fraction with ``|a| > sigma``),
        ``learning_rate``, ``dictionary_change``; the parameters in ``attrs``
        (``sigma``, ``var_goal``, ``gain_rate`` and ``var_eta`` are ``"None"``
        for ``prior="l1"``, which uses none of them; ``lam_units``,
        :func:`~v1model.learning.lam_units`: "units of X" for the L1 prior, "(units
        of X)^2" for the Cauchy prior).
        For ``prior="l1"`` and ``inference="map"`` also ``n_unconverged``, the
        samples of the update's minibatch that the solver left short of its
        ``tol`` (warned of once at the end of the run, naming
        ``inference_params`` or, for the MAP, its fixed limits; a recorded update
        counts its own minibatch with ``record_every > 1``; sparsenet's ten CG
        steps stop short by design and are not counted). For ``prior="cauchy"`` also
        ``median_atom_norm`` (the median length of the atoms that coded each
        minibatch, set by the gain adaptation; units of X), and ``code_var``
        over ``atom``: the running coefficient variance after the last update
        (the ``code_var`` to continue from). The Cauchy
        ``objective`` is that of each update's atom lengths, not comparable
        across updates while they change (Notes).

    Warns
    -----
    UserWarning
        When the learned dictionary holds duplicated atoms (``|cosine|`` at
        least :data:`DUPLICATE_COSINE`, the other learners' ``duplicate_tol``),
        naming them: this rule re-seeds no atom; exact copies get the same
        update and stay copies, near copies (``init="data"`` with fewer
        samples than atoms reuses samples) separate only slowly, and one unit
        of each pair is wasted meanwhile. The other learners
        (:func:`~v1model.learning.learn_online`, ``learn_mod``,
        ``learn_ksvd``) re-seed them. Inside a study (``studies._shortfall.
        named_by_study``) the remedy names the study's parameters instead.

    Notes
    -----
    The Cauchy model follows sparsenet's update (``sparsenet.m``) step for
    step, with three differences:

    - *Inference.* sparsenet's conjugate gradient (``cgf.c``) stops after at
      most 10 iterations (``ITMAX = 10``), short of the MAP codes; so does
      ``inference="sparsenet"`` (the default: scipy's CG from ``b /
      diag(G)``, 10 iterations over the batch's codes at once; cgf.c runs
      one per patch, with its own line search and a second stop at a
      relative energy decrease below ``tol = 0.01``). ``inference="map"``
      runs one L-BFGS-B per batch to a largest gradient of 1e-5 or 200
      iterations (:data:`CAUCHY_MAP_TOL`, :data:`CAUCHY_MAP_MAX_ITER`). The
      early stop shapes what is learned. From random atoms on 8x8 patches
      of Olshausen's whitened images (64 atoms, ``lam = 0.022``, lr 1,
      seed 0), 1,000 updates gave 53 of 64 atoms with a Gabor
      fit of R^2 >= 0.8 with the default (6 s), 49 with a CG run of ten
      iterations per patch as in cgf.c (134 s; 51 after 2,000 updates;
      on 12x12 patches, 3,000 updates, 144 atoms: 122 of 144 with the
      default, 77 per patch), and
      the converged MAP codes 18 of 64 after 2,000 updates (27 after
      10,000, from atoms drawn from the data as the study starts): atoms
      that the MAP codes of a noisy start use little keep their noise.
      From sparsenet's own basis (``A144.mat``, 12x12) the MAP codes have
      about 1.5 times the variance of ten CG steps (0.16-0.20 against
      0.10-0.13), and 150 updates lengthened its atoms by a median factor
      1.22 with them, 1.10 with ten CG steps (coefficient variance then
      0.101, on ``var_goal``).
    - *Variance estimate.* sparsenet updates ``S_var`` once per sample, so
      the samples of a batch enter with weights ``var_eta (1 - var_eta)^k``,
      k = 0 ... batch_size - 1; here the batch mean of ``a^2`` enters with
      their total weight ``1 - (1 - var_eta)^batch_size`` (equal weights for
      samples in random order: 10% apart at most for the default ``var_eta``).
    - *Start and batches.* sparsenet starts from uniform random atoms
      (``rand - 0.5``, unit length; ``init="random"`` is Gaussian, the
      default ``"data"`` starts from samples) and cuts every batch from one
      image; here a batch is random rows of ``X``.

    *The Cauchy objective can rise while learning works.* The energy is not
    invariant to an atom's length: atoms ``g d`` with codes ``a / g`` make
    the same reconstruction at a prior cost of ``log(1 + (a / (g sigma))^2)``,
    so shorter atoms charge more for the same reconstruction (an effective
    scale ``g sigma``) and their codes reconstruct less. The gain adaptation
    sets every length so that the coefficient's variance reaches
    ``var_goal``, a different energy at every update. Unit-length atoms on
    whitened patches give codes of lower variance (Olshausen's images, 8x8,
    64 atoms: 0.04-0.05 for the MAP codes of atoms learned at unit length),
    so the atoms shrink, and the recorded objective and error rise with
    them: in the ``olshausen-field-1996`` quick run with ``prior="cauchy"``
    on those images (``lam = 0.022``, lr 1) from about 0.43 and 0.07 over
    the first 50 updates to 0.53 and 0.13 from update 300 on, while
    ``median_atom_norm`` fell from 1 to 0.35 by update 600. On 500 fixed
    held-out patches, every 150 updates (seed 0), the energy of the MAP
    codes rose from 0.513 to 0.531 while the lengths fell (150 to 450
    updates: median 0.51 to 0.37), then fell to 0.511 by update 1,500 at
    settled lengths (0.35); with ``gain_rate=0`` (lengths kept at 1) it
    fell from 0.313 to 0.300 and the recorded objective from 0.32 to 0.29.
    sparsenet does the same (its update is the one above; it
    plots no objective): its own basis ``A144.mat``, started at unit length,
    has a median atom length of 0.47.

    References
    ----------
    Olshausen, B. A. & Field, D. J. (1996). Emergence of simple-cell receptive
    field properties by learning a sparse code for natural images. Nature 381,
    607-609.
    Olshausen, B. A. & Field, D. J. (1997). Sparse coding with an overcomplete
    basis set: a strategy employed by V1? Vision Research 37, 3311-3325.
    """
    # also refuses all-zero data and scales that overflow (the solvers run in float64 here)
    X = check_training_rows(X, dtype=np.float64)  # a memmap stays one: read per minibatch
    n, p = X.shape
    n_atoms = check_int(n_atoms, "n_atoms", minimum=1)
    lam = check_nonnegative(lam, "lam")
    prior = check_choice(prior, "prior", ("l1", "cauchy"))
    threshold = check_choice(threshold, "threshold", ("soft", "hard", "nonneg"))
    if prior == "cauchy" and threshold != "soft":
        # dropped unsaid before, and recorded in the history as if it had been used
        raise ValueError(f"threshold={threshold!r} applies to prior='l1' only: the Cauchy "
                         "prior's codes are signed MAP codes; leave threshold='soft'")
    if inference is None:
        inference = ("sparsenet" if prior == "cauchy" else
                     "lca" if threshold == "hard" else "fista")
    if prior == "cauchy":
        check_choice(inference, "inference", CAUCHY_INFERENCE)
    else:
        check_choice(inference, "inference", L1_INFERENCE)
        if threshold == "hard" and inference not in ("lca", "iht"):
            raise ValueError(
                f"threshold='hard' needs inference='lca' (or 'iht'); inference={inference!r} "
                "solves the L1 problem, i.e. the soft threshold")
    # the L0 energy for the hard-threshold codes, the L1 energy otherwise
    l0_penalty = prior == "l1" and (inference == "iht" or threshold == "hard")
    sigma = check_positive(sigma, "sigma")
    tau = check_positive(tau, "tau")
    n_updates = check_int(n_updates, "n_updates", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    if lr_final is None:
        lr_final = lr / 10 if prior == "l1" else lr
    lr_final = check_positive(lr_final, "lr_final")
    record_every = check_int(record_every, "record_every", minimum=1)
    check_progress(progress)
    var_goal = check_positive(var_goal, "var_goal")
    gain_rate = check_nonnegative(gain_rate, "gain_rate")
    var_eta = check_positive(var_eta, "var_eta")
    if var_eta > 1:  # keep = (1 - var_eta)**batch_size < 0 made the variance negative: NaN gains
        raise ValueError(f"var_eta must be in (0, 1] (the weight of each sample's a^2 in the "
                         f"running coefficient variance), got {var_eta!r}")
    if code_var is not None:
        if prior != "cauchy":
            raise ValueError(f"code_var applies to prior='cauchy' only (the gain adaptation), "
                             f"not to prior={prior!r}; leave it None")
        code_var = check_shape(check_array(code_var, "code_var", ndim=1), "code_var",
                               (n_atoms,))
        if not np.all(code_var > 0):  # a zero variance sets the gain, then the atom, to 0
            raise ValueError(f"code_var must be positive, got a minimum of "
                             f"{float(code_var.min())!r} (atom {int(np.argmin(code_var))})")
    _warn_if_off_scale(X, lr, prior)
    if inference_params is not None and not isinstance(inference_params, dict):
        raise TypeError(f"inference_params must be a dict or None, got "
                        f"{type(inference_params).__name__}")
    inference_params = dict(inference_params or {})
    for reserved in INFERENCE_RESERVED:
        if reserved in inference_params:
            raise ValueError(
                f"inference_params must not contain {reserved!r}: learn_dictionary sets it "
                "from its own arguments (lam, threshold, tau) and the network"
            )
    # they make the solver return a tuple (LCA's trajectory: the codes and a Dataset)
    for extra in ("return_history", "return_n_iter", "return_trajectory"):
        if extra in inference_params:
            raise ValueError(f"inference_params must not contain {extra!r}, got "
                             f"{extra}={inference_params[extra]!r}: learn_dictionary uses the "
                             "codes alone")
    if prior == "l1":
        from ..inference.encode import check_method_params

        check_method_params(inference, inference_params, "inference_params")
    elif inference_params:
        # they were dropped unsaid (not even recorded in the history's attrs)
        raise ValueError(
            f"inference_params={inference_params!r} apply to prior='l1' only: the Cauchy "
            f"prior's codes (inference={inference!r}) take no solver settings")
    # each update draws batch_size patches (with replacement) and their codes: numpy's
    # "Maximum allowed dimension exceeded" named no argument
    check_fits_in_memory((batch_size, p + n_atoms), np.float64, "batch_size", batch_size,
                         "patches and their codes per update (float64)")
    init = check_choice(init, "init", INITS)
    if D0 is not None and init != "data":
        # dropped unsaid: learning went on from D0, and the history said init="D0"
        raise ValueError(f"init={init!r} has no effect with D0 given: learning starts from "
                         "D0; leave init out, or D0 out to start from a new dictionary")
    # recorded before anything draws: a Generator's state is then the run's start
    seed_record = seed_attr(seed, before_use=True)
    rng = as_generator(seed)
    if D0 is not None:
        # atoms as images, as the solvers take them (were refused: "2 dimension(s), got 3")
        image_shape = image_atom_shape(D0, "D0")
        _, D0 = flatten_image_atoms(None, D0, d_name="D0")
        D = check_dictionary(D0, "D0", normalized=prior == "l1").copy()
        if D.shape != (n_atoms, p):
            given = "" if image_shape is None else f" (atoms as images of shape {image_shape})"
            raise ValueError(f"D0 must have shape {(n_atoms, p)}, got {D.shape}{given}")
    else:
        D = _init_dictionary(X, n_atoms, init, rng)
    encode = _l1_encoder(inference, threshold, tau, inference_params) if prior == "l1" else None

    decay = (lr_final / lr) ** (1.0 / max(n_updates - 1, 1))
    gain = np.linalg.norm(D, axis=1)
    # a second call picks up the running variance where the first left it: restarted at
    # var_goal, it pulled the gains of atoms used more or less than var_goal back
    code_var = np.full(n_atoms, var_goal) if code_var is None else code_var
    keep = (1.0 - var_eta) ** batch_size  # sparsenet updates the variance once per sample
    gain_limit = np.sqrt(np.finfo(np.float64).max * 1e-6 / p)
    records = []
    bar = progress_bar(progress, total=n_updates, desc=f"learning ({prior})", unit="update",
                       iterable=range(n_updates), mininterval=1.0)
    # minibatch inference is small products, where BLAS threads only contend
    # (v1model._blas; benchmarks/bench_learning_threads.py)
    # the solver's shortfalls are warned of once, for the run (not per minibatch); D
    # changes at every update: the solvers keep nothing of it, and the user's D stays kept
    with tally_not_converged("inference_params", inference_params, "inference") as tally, \
            blas_threads_for_step(coding_iteration_flops(batch_size, n_atoms, p)), \
            bypassing_cache():
        for t in bar:
            rate = lr * decay**t
            batch = np.asarray(X[rng.integers(0, n, batch_size)], dtype=np.float64)
            if prior == "l1":
                A = encode(batch, D, lam)
                # taken at every update: a recorded one counts its own minibatch alone
                n_unconverged = tally.take_unconverged()
                if t == 0 and not A.any():
                    _check_some_code_nonzero(X, D, lam, threshold == "nonneg",
                                             inference == "iht")
            else:
                with threadpool_limits(limits=1, user_api="blas"):  # see _cauchy_map
                    A = (_sparsenet_codes(batch, D, lam, sigma) if inference == "sparsenet"
                         else _map_codes(batch, D, lam, sigma, tally))
                # the MAP's shortfall (sparsenet's early stop is by design: never counted)
                n_unconverged = tally.take_unconverged()
            R = batch - A @ D
            dD = rate * (A.T @ R) / batch_size
            D_new = D + dD
            if prior == "l1":
                D_new /= np.maximum(np.linalg.norm(D_new, axis=1, keepdims=True), 1e-12)
            else:
                code_var = keep * code_var + (1 - keep) * np.mean(A * A, axis=0)
                with np.errstate(over="ignore", under="ignore"):  # checked right below
                    gain = gain * (code_var / var_goal) ** gain_rate
                # atoms longer than gain_limit overflow the products D D^T of the next inference
                if not (np.all(gain > 0) and np.all(gain < gain_limit)):
                    raise FloatingPointError(
                        f"learning diverged at update {t}: the gain adaptation overflowed (atom "
                        f"lengths from {gain.min():.3g} to {gain.max():.3g}, coefficient "
                        f"variance / "
                        f"var_goal from {np.min(code_var / var_goal):.3g} to "
                        f"{np.max(code_var / var_goal):.3g}); lower gain_rate={gain_rate!r}")
                D_new *= (gain / np.maximum(np.linalg.norm(D_new, axis=1), 1e-12))[:, None]
            if not np.all(np.isfinite(D_new)) or not np.all(np.linalg.norm(D_new, axis=1) > 0):
                hint = f"lower lr={lr}"
                if prior == "cauchy":  # the atom lengths come from the gain adaptation
                    hint = (f"atom lengths from the gain adaptation range from {gain.min():.3g} to "
                            f"{gain.max():.3g}; lower gain_rate={gain_rate!r} or lr={lr}")
                raise FloatingPointError(
                    f"learning diverged at update {t}: the dictionary step overflowed "
                    f"(learning rate {rate:.3g}); {hint}"
                )
            change = float(np.linalg.norm(D_new - D) / np.linalg.norm(D))
            D_used, D = D, D_new
            if t % record_every == 0 or t == n_updates - 1:
                # R was computed with the dictionary the codes were inferred with
                r2 = np.einsum("ij,ij->i", R, R)
                if l0_penalty:
                    penalty = 0.5 * lam**2 * np.count_nonzero(A, axis=1)
                elif prior == "l1":
                    penalty = lam * np.abs(A).sum(axis=1)
                else:
                    penalty = lam * np.log1p((A / sigma) ** 2).sum(axis=1)
                energy = 0.5 * r2 + penalty
                active = (np.count_nonzero(A) / A.size if prior == "l1"
                          else np.mean(np.abs(A) > sigma))
                rel = relative_error(r2, np.einsum("ij,ij->i", batch, batch))
                record = (t, energy.mean(), rel.mean(), np.abs(A).mean(), active, rate, change)
                if prior == "cauchy":  # the lengths the gain adaptation gave the coding atoms
                    record += (float(np.median(np.linalg.norm(D_used, axis=1))),)
                if prior == "l1" or inference == "map":
                    record += (n_unconverged,)
                records.append(record)
                if not np.isfinite(energy.mean()):
                    raise FloatingPointError(
                        f"learning diverged at update {t} (objective {energy.mean()}); "
                        f"lower lr={lr}"
                    )
                bar.set_postfix(err=f"{rel.mean():.3f}", active=f"{active:.3f}", refresh=False)
    tally.warn(n_updates)
    _warn_if_unsettled(records, lr)
    _warn_duplicated_atoms(D, D0 is not None, n_updates, X.shape[0])
    history = _history(records, dict(
        n_atoms=n_atoms, n_features=p, lam=lam,
        # the L1 (and L0) penalty weighs codes in units of X, the Cauchy one a pure number
        lam_units=lam_units(prior), prior=prior, threshold=threshold,
        tau=tau, n_updates=n_updates, batch_size=batch_size, lr=lr, lr_final=lr_final,
        inference=(inference if prior == "l1" else "L-BFGS MAP" if inference == "map"
                   else f"sparsenet: CG, {SPARSENET_CG_STEPS} iterations"),
        init=init if D0 is None else "D0",
        penalty=("lam^2/2 ||a||_0" if l0_penalty else "lam ||a||_1" if prior == "l1"
                 else "lam sum log(1 + (a/sigma)^2)"),
        # the Cauchy prior's scale and gain adaptation: "None" under the L1 prior, which
        # uses neither (recorded as if used before 2026-12-07)
        **{name: value if prior == "cauchy" else "None" for name, value in (
            ("sigma", sigma), ("var_goal", var_goal), ("gain_rate", gain_rate),
            ("var_eta", var_eta))},
        n_training_samples=n,
        seed=seed_record, record_every=record_every,
        # the solver settings actually used, defaults included (set by _l1_encoder)
        **(flatten_nested({"inference_params": inference_params}) if prior == "l1" else {}),
    ))
    if prior == "cauchy":
        history["code_var"] = ("atom", code_var, dict(
            long_name="running variance of each coefficient after the last update (gain "
                      "adaptation; learn_dictionary(code_var=...) continues from it)",
            # the gains carry the units of X and hold this at var_goal: Cauchy codes have
            # none (as mean_abs_code); X ten times larger leaves it at var_goal
            units="1"))
    return D, history


#: mean relative change of the dictionary per update, over the last quarter of the
#: updates, above which learning is said not to settle (see _warn_if_unsettled)
UNSETTLED_CHANGE = 0.5
#: fewer recorded updates tell nothing: the first steps from the initial dictionary are large
MIN_UPDATES_JUDGED = 20


def _warn_if_unsettled(records, lr):
    """Warn when the step still replaces most of the dictionary at the end.

    A step ``lr <a r^T>`` far larger than the atoms throws them to new
    directions every update, and renormalisation keeps them finite, so no
    error stops it: measured on 20,000 whitened 8x8 patches (64 atoms, lam 0.1,
    300 updates), the mean change ||D_new - D|| / ||D|| over the last quarter
    was 0.0007, 0.006 and 0.06 at lr = 0.3, 3 and 30 (the error falling), and
    1.0, 1.3 and 1.35 at lr = 300, 3000 and 1e6 (random unit atoms differ by
    sqrt 2 = 1.41), the error at 0.44-0.62 against 0.24: nothing learned.
    """
    changes = np.array([r[6] for r in records])
    last = changes[len(changes) - len(changes) // 4:]
    if len(changes) < MIN_UPDATES_JUDGED or last.mean() <= UNSETTLED_CHANGE:
        return
    warnings.warn(
        f"the dictionary changed by {last.mean():.2g} of its norm per update over the last "
        f"{len(last)} recorded updates (settled runs: below 0.1): every step replaces most of "
        f"it, and nothing is learned; lower lr={lr:g} (the step lr * <a r^T> scales with lr)",
        UserWarning, stacklevel=user_stacklevel())


#: atoms at least this close (|cosine|) are reported as duplicates after learning: the
#: other learners' duplicate_tol default (KSVD-Box's, see v1model.learning._atoms)
DUPLICATE_COSINE = 0.99


def _warn_duplicated_atoms(D, from_d0, n_updates, n_samples):
    """Warn when the learned ``D`` has atoms at ``|cosine| >= DUPLICATE_COSINE``.

    Under a caller's :func:`~v1model.inference._common.solver_settings` (a study,
    whose user sets neither ``D0``, ``init`` nor the learner), the remedy names the
    caller's settings that help, those its ``names`` give for ``"n_updates"``,
    ``"n_samples"`` (the rows of ``X``: only when fewer than the atoms) and
    ``"n_atoms"``, with its advice; else that they are fixed there.

    The rule re-seeds no atom. Exact copies get the same update (with L1 codes, whatever
    split of the coefficient the solver makes, the step moves both along the same
    residual) and stay copies: a D0 with atom 5 a copy of 3 and 9 of -2 (32 atoms, 16
    features, 200 updates, FISTA) ended with both pairs at |cosine| 1.0, unreported (the
    hard LCA's duplicate warning is off inside a learner's run; the other learners
    re-seed duplicates). Near copies separate slowly: ``init="data"`` drew samples
    with replacement (plus 1% noise) before 2026-12-07, and 48 atoms from 100 samples
    (16 features, lam 0.1, batch 50, seed 0) had 14 pairs after 2 updates, 1 after 100,
    none after 400; it now reuses a sample only when there are fewer samples than
    atoms."""
    from ..inference._common import caller_settings, describe_pairs, duplicate_pairs

    pairs = duplicate_pairs(D, DUPLICATE_COSINE)
    if not pairs:
        return
    caller = caller_settings()
    if caller is None:
        start = ("replace one atom of each pair in D0" if from_d0 else
                 "draw the initial atoms from more samples than atoms (init='data' reuses "
                 "samples only when it has fewer)")
        remedy = (f"run more updates, {start}, or learn with learn_online, learn_mod or "
                  f"learn_ksvd, which re-seed duplicated atoms (duplicate_tol)")
    else:
        remedy = _study_duplicates_remedy(caller, n_updates, n_samples, D.shape[0])
    warnings.warn(
        f"the learned dictionary has {len(pairs)} duplicated pair(s) of atoms, "
        f"{describe_pairs(pairs)} (|cosine| >= {DUPLICATE_COSINE}), one unit of each pair "
        f"wasted: the Olshausen-Field rule re-seeds no atom, exact copies get the same "
        f"update and stay copies, and near ones separate only slowly; {remedy}",
        # in a study, whose parameters the remedy names: the line that called it
        UserWarning, stacklevel=user_stacklevel(() if caller is None else caller.skip))


def _study_duplicates_remedy(caller, n_updates, n_samples, n_atoms) -> str:
    """:func:`_warn_duplicated_atoms`' remedy in ``caller``'s settings: the learner,
    its ``init`` and ``D0`` (which the first remedies named) are the caller's choice, not
    its user's."""
    helps = [("raise", "n_updates", n_updates)]
    if n_samples < n_atoms:  # init="data" reused samples: near copies from the start
        helps.append(("raise", "n_samples", n_samples))
    helps.append(("lower", "n_atoms", n_atoms))
    named = [f"{way} {caller.setting(name, value)}" for way, name, value in helps
             if caller.names.get(name) is not None]  # named by the caller: its user's
    if not named:
        return f"the learner and its settings are fixed here{caller.advice}"
    return f"{', '.join(named[:-1])}{' or ' if len(named) > 1 else ''}{named[-1]}{caller.advice}"


def _check_some_code_nonzero(X, D, lam, positive, iht=False, chunk=4096):
    """Raise if no sample of ``X`` drives any atom of ``D`` above its threshold.

    Called when the first batch has only zero codes: with a dictionary no
    sample drives past the threshold every code stays zero, the update
    ``a (x - D^T a)^T`` is zero and the dictionary never changes. The threshold
    is ``lam``, or for IHT ``lam * sqrt(L)``: its first step from zero, ``b / L``
    (``L`` = 1.0001 lambda_max(D D^T)), keeps an atom only past ``lam / sqrt(L)``.
    """
    root, note = 1.0, ""
    if iht:
        from ..inference._common import STEP_MARGIN, spectral_norm_gram

        # lam alone let through a lam whose IHT codes were all zero at every update:
        # nothing learned, no error
        root = float(np.sqrt(spectral_norm_gram(D) * STEP_MARGIN))
        note = (f" over sqrt(L) = {root:.3g} (IHT keeps an atom only past lam * sqrt(L), "
                "L = 1.0001 lambda_max(D D^T))")
    top = 0.0
    for start in range(0, X.shape[0], chunk):
        B = X[start : start + chunk] @ D.T
        top = max(top, float(B.max() if positive else np.abs(B).max()))
        if top > lam * root:
            return
    raise ValueError(
        f"lam={lam!r} is at least the largest drive {'' if positive else '|'}<d_i, x>"
        f"{'' if positive else '|'} = {top:.3g}{note} of the initial dictionary over all "
        f"{X.shape[0]} samples of X: every code is zero, so the dictionary would never change; "
        f"lower lam below {top / root:.3g}, rescale X, or start from another dictionary")


def _l1_encoder(inference, threshold, tau, params):
    from .. import inference as inf

    # progress=False below: the learning's own bar covers every minibatch, none of the
    # solver's (a slow minibatch drew one, with progress=False too); not put in params,
    # which the history records as the solver settings a user can give. Called inside
    # the loop's bypassing_cache (_dictionary_cache): D changes at every update
    if inference == "lca":
        # the Euler tolerance stop's: the ivp path, and n_steps (a fixed count), warned
        # of it at every update
        if params.get("integrator", "euler") != "ivp" and params.get("n_steps") is None:
            params.setdefault("tol", 1e-4)

        def encode(batch, D, lam):
            return inf.lca(batch, D, lam, threshold=threshold, tau=tau, dtype=np.float64,
                           progress=False, **params).astype(np.float64)
    elif inference == "fista":
        params.setdefault("tol", 1e-4)

        def encode(batch, D, lam):
            return inf.fista(batch, D, lam, positive=threshold == "nonneg", dtype=np.float64,
                             progress=False, **params).astype(np.float64)
    else:  # float64 as lca and fista (float32 refused data that those learn from)
        def encode(batch, D, lam):
            return np.asarray(inf.encode(batch, D, method=inference, lam=lam,
                                         positive=threshold == "nonneg", dtype=np.float64,
                                         progress=False, **params),
                              dtype=np.float64)
    return encode


def _history(records, attrs):
    cols = list(zip(*records))
    cauchy = attrs.get("prior") == "cauchy"
    names = ["objective", "reconstruction_error", "mean_abs_code", "fraction_active",
             "learning_rate", "dictionary_change"]
    long = [
        # the Cauchy energy changes with the atoms' lengths, which the gain adaptation sets
        "mean energy per patch" + (", at the atom lengths of its update" if cauchy else ""),
        "mean over the minibatch of ||x - D^T a||^2 / ||x||^2 (per-patch relative error)",
        "mean |a|", "fraction of coefficients active", "learning rate",
        "relative change of the dictionary",
    ]
    if cauchy:
        names.append("median_atom_norm")
        long.append("median length of the atoms that coded the minibatch (gain adaptation)")
    # the solver's shortfall: L1's, and the Cauchy MAP's (sparsenet's inference stops at a
    # fixed count by design: never short of its own rule)
    if len(names) < len(cols) - 1:
        names.append(UNCONVERGED_HISTORY[0])
        long.append(UNCONVERGED_HISTORY[1]["long_name"])
    ds = xr.Dataset(
        {nm: ("update", np.asarray(c, dtype=np.int64 if nm == UNCONVERGED_HISTORY[0]
                                   else float))
         for nm, c in zip(names, cols[1:])},
        coords={"update": count_coord("update", cols[0], UPDATES_BEFORE)},
    )
    # the energy is in (units of X)^2 under either prior (lam = beta * noise variance for
    # Cauchy); L1 codes of unit-norm atoms are in units of X, Cauchy codes are relative to
    # basis functions whose gains (the atoms' lengths) carry the units
    units = dict(objective="(units of X)^2", median_atom_norm="units of X",
                 mean_abs_code="units of X" if attrs.get("prior") == "l1" else "1")
    for nm, ln in zip(names, long):
        ds[nm].attrs.update(long_name=ln, units=units.get(nm, "1"))
    ds.attrs.update(clean_attrs(attrs))  # netCDF-safe: None, bools (plain to_netcdf works)
    return ds
