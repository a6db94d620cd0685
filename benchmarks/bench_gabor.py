"""Gabor fitting of 1,024 16x16 atoms: v1model.analysis.fit_gabor against plain
per-atom scipy.optimize.least_squares, in one run.

Problems (1,024 atoms of 16x16 each):

- ``gabor``: random Gabors (orientation, frequency 0.05-0.35 cycles/pixel,
  envelope 1-4 x 1-6 px, centre anywhere in the middle 10x10) plus white
  noise of s.d. 10% of the peak: the realistic case;
- ``noise``: white-noise atoms, the worst case (nothing to fit, every fit
  runs to its iteration limits).

Methods:

- ``fit_gabor``: the package (vectorised multi-start Levenberg-Marquardt over
  all atoms, then one bounded ``least_squares`` polish per atom), 4 starts;
- ``lsq x4``: the same 4 initial guesses per atom, each refined by
  ``scipy.optimize.least_squares`` (TRF, bounds, analytic Jacobian), best
  kept: the same search without the vectorised stage;
- ``lsq x1 fd``: one start (the first guess), finite-difference Jacobian:
  what a user writes first.

References run on a random subset of ``--n-ref`` atoms; their time is scaled
to 1,024 atoms. Quality: median R^2, fraction with R^2 > 0.8, and the
fraction of subset atoms where fit_gabor's R^2 is at least the reference's
minus 1e-3.

Usage::

    python benchmarks/bench_gabor.py            # 1,024 atoms, 128-atom reference subset
    python benchmarks/bench_gabor.py --quick    # 256 atoms, 32-atom subset

fit_gabor's progress bars are switched off (``v1model.progress.quiet_auto_bars``):
they came in the log before the table, and drawing them cost time inside the timed
calls.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from stimuli import gabor_patch
from v1model.analysis import fit_gabor
from v1model.analysis import gabor as G

SIZE = 16


def make_atoms(kind, n, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.standard_normal((n, SIZE, SIZE))
    th = rng.uniform(0, np.pi, n)
    f = rng.uniform(0.05, 0.35, n)
    ph = rng.uniform(-np.pi, np.pi, n)
    sx = rng.uniform(1.0, 4.0, n)
    sy = rng.uniform(1.0, 6.0, n)
    c = rng.uniform(3, 12, (n, 2))
    atoms = np.stack([gabor_patch(SIZE, th[i], f[i], ph[i], sx[i], sy[i], center=c[i])
                      for i in range(n)])
    return atoms + 0.1 * rng.standard_normal(atoms.shape)


def r2_of(z, cost):
    return 1.0 - cost / ((z - z.mean()) ** 2).sum()


def reference_fits(atoms, n_starts, analytic):
    """Per-atom least_squares from the package's own initial guesses."""
    from scipy.optimize import least_squares

    n = len(atoms)
    X, Y = G._grid(SIZE, SIZE)
    lo, hi = G._bounds(SIZE, SIZE, 0.5, float(SIZE), 0.5)
    Z = (atoms - atoms.mean(axis=(1, 2), keepdims=True)) / atoms.std(axis=(1, 2), keepdims=True)
    starts = G._initial_guesses(Z, X, Y, n_starts, lo, hi)
    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    r2 = np.empty(n)
    for i in range(n):
        z = Z[i].ravel()
        best = np.inf
        for s in range(n_starts):
            x0 = np.clip(starts[i, s], lo + 1e-9 * span, hi - 1e-9 * span)
            fun = lambda p: G._evaluate(p[None], X, Y)[0] - z  # noqa: E731
            jac = (lambda p: G._evaluate(p[None], X, Y, jac=True)[1][0].T) if analytic \
                else "2-point"
            res = least_squares(fun, x0, jac=jac, bounds=(lo, hi), method="trf",
                                x_scale="jac" if analytic else 1.0, max_nfev=200)
            best = min(best, 2 * res.cost)
        r2[i] = r2_of(z, best)
    return r2


def main(argv=None):
    from v1model.progress import quiet_auto_bars

    # fit_gabor has progress=None here: its bar, drawn once a call ran 2 s, stayed in the
    # log before the table and was drawn inside the timing
    with quiet_auto_bars():
        return _run(argv)


def _run(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-atoms", type=int, default=None)
    parser.add_argument("--n-ref", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2,
                        help="processes of the fit_gabor(n_jobs=...) row (default 2)")
    args = parser.parse_args(argv)
    n = args.n_atoms or (256 if args.quick else 1024)
    n_ref = args.n_ref or (32 if args.quick else 128)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"# {n} atoms of {SIZE}x{SIZE}; references on {n_ref} atoms, times scaled to {n}")
    fit_gabor(make_atoms("gabor", 4, seed=99))  # imports, caches
    # starts the worker pool (reused by later calls, as in a session that fits repeatedly)
    fit_gabor(make_atoms("gabor", 64 * args.jobs, seed=98), n_jobs=args.jobs)
    rows = []
    for kind in ("gabor", "noise"):
        atoms = make_atoms(kind, n)
        t0, c0 = time.perf_counter(), time.process_time()
        ds = fit_gabor(atoms)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ours = ds.r2.values
        sub = np.random.default_rng(1).choice(n, n_ref, replace=False)
        rows.append((kind, "fit_gabor (4 starts)", wall, cpu, ours, None))
        t0 = time.perf_counter()
        par = fit_gabor(atoms, n_jobs=args.jobs).r2.values
        if not np.array_equal(par, ours, equal_nan=True):
            raise SystemExit("fit_gabor(n_jobs) gave other fits than one process")
        rows.append((kind, f"fit_gabor, n_jobs={args.jobs} (same fits)",
                     time.perf_counter() - t0, None, par, None))
        for label, n_starts, analytic in (("lsq x4, analytic jac", 4, True),
                                          ("lsq x1, finite diff", 1, False)):
            t0, c0 = time.perf_counter(), time.process_time()
            ref = reference_fits(atoms[sub], n_starts, analytic)
            scale = n / n_ref
            rows.append((kind, label, (time.perf_counter() - t0) * scale,
                         (time.process_time() - c0) * scale, ref,
                         float(np.mean(ours[sub] >= ref - 1e-3))))
    print()
    print(f"| atoms | method | wall s ({n:,} atoms) | CPU s | ratio to fit_gabor | median R² | "
          "R² > 0.8 | fit_gabor ≥ ref |")
    print("|---|---|---|---|---|---|---|---|")
    base = {}
    for kind, label, wall, cpu, r2, agree in rows:
        base.setdefault(kind, wall)  # the first row of each kind: fit_gabor in one process
        ratio = wall / base[kind]
        cpu = "–" if cpu is None else f"{cpu:.1f}"  # the workers' CPU is not this process's
        print(f"| {kind} | {label} | {wall:.1f} | {cpu} | {ratio:.1f}x | "
              f"{np.median(r2):.3f} | {np.mean(r2 > 0.8):.1%} | "
              f"{'' if agree is None else f'{agree:.1%}'} |")


if __name__ == "__main__":
    main()
