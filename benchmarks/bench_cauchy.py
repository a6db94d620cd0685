"""Cauchy-prior MAP inference and learning (Olshausen & Field 1996): the
package's settings against the ways they replaced, in one run.

Rows, on whitened 16x16 patches of the embedded photographs and 256 atoms
drawn from other patches (unit norm), lam = 0.022, sigma = 0.316 (sparsenet):

1. ``cauchy_inference`` as shipped: groups of 10 samples, one BLAS thread;
2. the same tolerance as one minimisation over the whole batch, one BLAS thread;
3. the same with BLAS's own threads (the behaviour before threadpoolctl);
4. ``learn_dictionary(prior="cauchy")`` with sparsenet's codes (the default: ten
   conjugate-gradient steps per batch);
5. the same with the MAP codes (``inference="map"``), one BLAS thread;
6. the MAP codes with BLAS's own threads.

Each row reports wall time and the largest energy gradient left (the same
``tol`` for all). Usage: ``python benchmarks/bench_cauchy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import numpy as np

from _inference_setup import machine_line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 patches, 10 updates")
    args = parser.parse_args(argv)

    from stimuli import load_images, sample_patches, whiten
    import v1model.learning.olshausen_field as of

    n = 100 if args.quick else 200
    n_updates = 10 if args.quick else 40
    lam, sigma, tol = 0.022, 0.316, 1e-6
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

    rows = []
    t0 = time.perf_counter()
    A = of.cauchy_inference(X, D, lam, sigma, tol=tol)
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
    print()
    print("| run | wall time (s) | ratio to the package's | largest gradient left |")
    print("|---|---|---|---|")
    for i, (name, t, g) in enumerate(rows):
        ref = rows[0][1] if i < 3 else rows[3][1]
        grad = "" if np.isnan(g) else f"{g:.1e}"
        print(f"| {name} | {t:.2f} | {t / ref:.1f}x | {grad} |")
    print()
    print(machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
