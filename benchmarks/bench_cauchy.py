"""Cauchy-prior MAP inference and learning (Olshausen & Field 1996): the
package's settings against the ways they replaced, in one run.

Rows, on whitened 16x16 patches of the embedded photographs and 256 atoms
drawn from other patches (unit norm), lam = 0.022, sigma = 0.316 (sparsenet),
tol = 1e-6:

1. ``cauchy_inference(tol=tol)`` as shipped: groups of 10 samples, one BLAS
   thread; L-BFGS-B stops a group when no coefficient's energy gradient
   exceeds ``tol * c``, c the power of two just below the group's largest
   ``|x|`` (0.5-2 on these patches: thresholds 5e-7 to 2e-6);
2. one minimisation over the whole batch stopped at the absolute ``tol``
   (largest gradient <= 1e-6, up to 20,000 iterations), one BLAS thread;
3. the same with BLAS's own threads (the behaviour before threadpoolctl);
4. ``learn_dictionary(prior="cauchy")`` with sparsenet's codes (the default: ten
   conjugate-gradient steps per batch, no tolerance);
5. the same with the MAP codes (``inference="map"``: L-BFGS-B per batch until
   the largest gradient is <= 1e-5, the energy's relative decrease is below
   SciPy's default ``ftol`` or 200 iterations: the learner's
   ``CAUCHY_MAP_TOL`` and ``CAUCHY_MAP_MAX_ITER``), one BLAS thread;
6. the MAP codes with BLAS's own threads.

Rows 1-3 switch off L-BFGS-B's stop on the relative decrease, so that the
gradient threshold decides. Each row reports wall time, its stopping rule
(the thresholds of this run) and, for 1-3, the largest energy gradient left.
Under ``OMP_NUM_THREADS=1`` (or another limit) rows 3 and 6 run with one
thread too: a line starting "WARNING:" says so. Usage:
``python benchmarks/bench_cauchy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import blas_threads, machine_line  # noqa: E402


def stopping_rules(X, tol):
    """What each row's solver stops at, in the order of the rows (module docstring).

    ``cauchy_inference`` scales ``tol`` by each group's power of two (its
    docstring: the gradient grows with ``X``); the whole-batch rows take ``tol``
    as it is; the learners stop as ``learn_dictionary`` calls them.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        The patches of the inference rows.
    tol : float
        The ``tol`` given to ``cauchy_inference`` and to the whole-batch rows.

    Returns
    -------
    list of str
        Six descriptions, with this run's thresholds.
    """
    import inspect

    from scipy.optimize import fmin_l_bfgs_b

    import v1model.learning.olshausen_field as of
    from v1model.scaling import pow2_scale

    group = of.CAUCHY_GROUP
    scales = [float(pow2_scale(X[i:i + group])) for i in range(0, len(X), group)]
    # the learner's own limits, not copies: a change there changes what this row says;
    # it leaves ftol to SciPy, whose default is factr * eps (fmin_l_bfgs_b's docstring)
    ftol = inspect.signature(fmin_l_bfgs_b).parameters["factr"].default * np.finfo(float).eps
    learner_map = (f"largest gradient <= {of.CAUCHY_MAP_TOL:g}, relative decrease < "
                   f"{ftol:.1e} (SciPy's ftol) or {of.CAUCHY_MAP_MAX_ITER} iterations, "
                   "per batch")
    grouped = (f"largest gradient <= tol x c, per group of {group} (c = {min(scales):g} to "
               f"{max(scales):g} here: {tol * min(scales):.0e} to {tol * max(scales):.0e})")
    return [grouped,
            f"largest gradient <= {tol:.0e}, over the batch",
            f"largest gradient <= {tol:.0e}, over the batch",
            f"{of.SPARSENET_CG_STEPS} CG steps per batch (no tolerance)",
            learner_map, learner_map]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 patches, 10 updates")
    args = parser.parse_args(argv)

    from stimuli import load_images, sample_patches, whiten
    import v1model.learning.olshausen_field as of

    n = 100 if args.quick else 200
    n_updates = 10 if args.quick else 40
    lam, sigma, tol = 0.022, 0.316, 1e-6
    _, limited = blas_threads()  # rows 3 and 6 keep BLAS's threads: are there more than 1?
    images = whiten(load_images())
    X = sample_patches(images, 16, n, seed=1)
    D = sample_patches(images, 16, 256, seed=7)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X_train = sample_patches(images, 16, 20000, seed=2)
    G, B = D @ D.T, X @ D.T

    def max_gradient(A):
        return float(np.abs(A @ G - B + lam * 2 * A / (sigma**2 + A * A)).max())

    def one_batch():
        return of._cauchy_map(X, D, lam, sigma, None, tol, 20000, "L-BFGS-B", ftol=0.0)

    stops = stopping_rules(X, tol)

    rows = []
    t0 = time.perf_counter()
    A = of.cauchy_inference(X, D, lam, sigma, tol=tol, progress=False)
    rows.append(("cauchy_inference (groups of 10, one BLAS thread)", time.perf_counter() - t0,
                 max_gradient(A)))
    with of.threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        A = one_batch()
        rows.append(("one minimisation over the batch, one BLAS thread",
                     time.perf_counter() - t0, max_gradient(A)))
    t0 = time.perf_counter()
    A = one_batch()
    rows.append(("one minimisation over the batch, BLAS threads (before)",
                 time.perf_counter() - t0, max_gradient(A)))

    def learn(inference="map"):
        t0 = time.perf_counter()
        of.learn_dictionary(X_train, 256, prior="cauchy", lam=lam, sigma=sigma,
                            n_updates=n_updates, batch_size=100, seed=0, progress=False,
                            inference=inference)
        return time.perf_counter() - t0

    # the default since 2026-12-04: sparsenet's ten CG steps per batch, not the MAP
    rows.append((f"learn_dictionary(prior='cauchy'), {n_updates} updates, sparsenet codes "
                 "(the default)", learn("sparsenet"), np.nan))
    rows.append((f"learn_dictionary(prior='cauchy', inference='map'), {n_updates} updates, "
                 "one BLAS thread", learn(), np.nan))
    shipped = of.threadpool_limits
    # the learner's threadpool_limits(1, "blas") replaced by a no-op: BLAS keeps its threads
    of.threadpool_limits = lambda **_: contextlib.nullcontext()
    try:
        rows.append((f"learn_dictionary(prior='cauchy', inference='map'), {n_updates} "
                     "updates, BLAS threads (before)", learn(), np.nan))
    finally:
        of.threadpool_limits = shipped

    print(f"{n} patches 16x16, 256 atoms, lam={lam}, sigma={sigma}, tol={tol}")
    if limited:
        print(limited)
    print()
    print("| run | stops at | wall time (s) | ratio to the package's | largest gradient left |")
    print("|---|---|---|---|---|")
    for i, ((name, t, g), stop) in enumerate(zip(rows, stops)):
        ref = rows[0][1] if i < 3 else rows[3][1]
        grad = "" if np.isnan(g) else f"{g:.1e}"
        print(f"| {name} | {stop} | {t:.2f} | {t / ref:.1f}x | {grad} |")
    print()
    print(machine_line())
    if limited:
        print(limited)
    return 0


if __name__ == "__main__":
    sys.exit(main())
