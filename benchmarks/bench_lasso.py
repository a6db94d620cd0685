"""LASSO inference: v1model's solvers against scikit-learn's coordinate descent.

Problem: whitened 16x16 natural patches, a learned 512-atom dictionary, the
objective 0.5 ||x - D^T a||^2 + lam ||a||_1 (scikit-learn's
``sparse_encode(algorithm="lasso_cd", alpha=lam)`` minimises the same one).
Every solver is timed on the same data in the same run; the accuracy column
is the relative gap of the summed objective to the best optimum found
(``lasso_active_set`` in float64 with a tight KKT tolerance, or scikit-learn's
result if lower). The matmul line measures this machine's float32 GEMM rate
now; a solver's rate is its counted floating-point operations per second
(coordinate descent: two per atom for every coordinate move, plus the products
that form D X and D D^T; active set: products and padded solves).
Times are the best of several calls (``--repeats``, ``--sk-repeats``).
scikit-learn runs single-threaded by default (one joblib job); the
``n_jobs=2`` row gives it both cores, as v1model's solvers have.

    python benchmarks/bench_lasso.py            # 10,000 patches
    python benchmarks/bench_lasso.py --quick    # 2,000 patches, smaller dictionary run
    python benchmarks/bench_lasso.py --dense    # dense codes: lam 0.01 and 0.0025, 40 patches

``--dense`` is the regime of small ``lam`` (28-34% of the atoms active on the 10
patches of ``--quick``), where ``lasso_active_set`` starts its exact solves from a
converged FISTA support (``DENSE_*`` in ``v1model/inference/active_set.py``). Its
table gives, per ``lam``, each solver's time, speed-up over scikit-learn's
``sparse_encode`` (lasso_cd) and relative objective gap to the best optimum of the
run, and whether the gap is within ``--dense-gap`` (default 1e-6, the common accuracy
the times are compared at).

The solvers' progress bars are switched off (``v1model.progress.quiet_auto_bars``):
they came in the log before the table, and drawing them cost time inside the timed
calls.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import best_time, load_problem, machine_line, matmul_gflops  # noqa: E402


#: --dense: lam values (in the units of --lam) whose codes are dense on the benchmark's
#: patches, and the relative objective gap the solvers are compared at
DENSE_LAMS = (0.01, 0.0025)
DENSE_GAP = 1e-6


def main(argv=None):
    from v1model.progress import quiet_auto_bars

    # every solver here has progress=None: lasso_active_set's bar, drawn once a call ran
    # 2 s, stayed in the log before the table and was drawn inside the timing
    with quiet_auto_bars():
        return _run(argv)


def _run(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 patches, faster setup")
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--lam", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for v1model's solvers")
    parser.add_argument("--sk-repeats", type=int, default=2,
                        help="best of N for scikit-learn (7-9 s per call)")
    parser.add_argument("--no-lca", action="store_true",
                        help="skip the LCA rows (the fixed-step one takes ~40 s)")
    parser.add_argument("--dense", action="store_true",
                        help="dense codes instead: --dense-lams on 40 patches (--quick: 10)")
    parser.add_argument("--dense-lams", type=float, nargs="+", default=DENSE_LAMS,
                        metavar="LAM", help="lam values of --dense (default: 0.01 0.0025)")
    parser.add_argument("--dense-gap", type=float, default=DENSE_GAP,
                        help="relative objective gap the --dense rows are compared at")
    args = parser.parse_args(argv)
    if args.dense:
        return _run_dense(args)
    from sklearn.decomposition import sparse_encode

    from v1model.inference import (fista, lasso_active_set, lasso_cd, lasso_objective, lca,
                                   max_stable_dt)

    n = args.n_samples or (2000 if args.quick else 10000)
    lam = args.lam
    print(machine_line())
    X, D, info = load_problem(n)
    print(info)
    k = D.shape[0]

    # reference optimum
    A_ref = lasso_active_set(X, D, lam, tol=1e-6, dtype=np.float64)
    f_star = lasso_objective(X, D, A_ref, lam)
    density = np.count_nonzero(A_ref) / A_ref.size
    print(f"{n} patches of {X.shape[1]} pixels, lam={lam}: {100 * density:.1f}% of atoms active "
          f"({density * k:.1f} per patch)")

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sk, A_sk = best_time(lambda: sparse_encode(X, D, algorithm="lasso_cd", alpha=lam),
                               args.sk_repeats)
    f_sk = lasso_objective(X, D, A_sk, lam)
    f_star = min(f_star, f_sk)
    rows.append(("scikit-learn sparse_encode lasso_cd (float64)", t_sk, f_sk, ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        A_sk2 = sparse_encode(X, D, algorithm="lasso_cd", alpha=lam, n_jobs=2)
        t_sk2 = time.perf_counter() - t0
    rows.append(("scikit-learn sparse_encode lasso_cd, n_jobs=2 (float64)", t_sk2,
                 lasso_objective(X, D, A_sk2, lam), ""))

    gemm = matmul_gflops(n, k)
    lasso_cd(X[:10], D, lam)  # compile (or load the cached kernel) outside the timing
    lasso_cd(X[:10], D, lam, dtype=np.float64)
    for tol in (1e-2, 1e-4):
        cd_stats = {}
        t_cd, (A, sweeps) = best_time(
            lambda: lasso_cd(X, D, lam, tol=tol, return_n_iter=True, _stats=cd_stats),
            args.repeats)
        rate = cd_stats["flops"] / t_cd / 1e9
        default = ", default" if tol == 1e-2 else ""
        rows.append((f"v1model lasso_cd, tol {tol:g}{default} (float32)", t_cd,
                     lasso_objective(X, D, A, lam),
                     f"{rate:.0f} GFLOP/s = {rate / gemm:.2f} x matmul; "
                     f"{cd_stats['updates'] / n:.0f} moves and {cd_stats['sweeps'] / n:.1f} "
                     f"sweeps per patch (max {sweeps})"))
    t_cd64, A = best_time(lambda: lasso_cd(X, D, lam, dtype=np.float64), 1)
    rows.append(("v1model lasso_cd (float64)", t_cd64, lasso_objective(X, D, A, lam), ""))
    stats = {}
    t_as, A = best_time(lambda: lasso_active_set(X, D, lam, _stats=stats), args.repeats)
    rate = stats["flops"] / t_as / 1e9
    rows.append(("v1model lasso_active_set (float32)", t_as, lasso_objective(X, D, A, lam),
                 f"{rate:.0f} GFLOP/s = {rate / gemm:.2f} x matmul"))
    t_as64, A = best_time(lambda: lasso_active_set(X, D, lam, dtype=np.float64), 1)
    rows.append(("v1model lasso_active_set (float64)", t_as64, lasso_objective(X, D, A, lam), ""))
    fista(X[:10], D, lam)  # compile (or load the cached kernels) outside the timing
    for step, tol in (("backtracking", 1e-4), ("backtracking", 1e-3), ("constant", 1e-4),
                      ("constant", 1e-3)):
        f_stats = {}
        t_f, (A, it) = best_time(
            lambda: fista(X, D, lam, tol=tol, step=step, return_n_iter=True, _stats=f_stats),
            args.repeats)
        rate = f_stats["flops"] / t_f / 1e9  # counts of the last call (all calls alike: cold)
        default = ", default" if tol == 1e-4 and step == "backtracking" else ""
        rows.append((f"v1model fista, {step} step, tol {tol:g}{default} (float32)", t_f,
                     lasso_objective(X, D, A, lam),
                     f"{rate:.0f} GFLOP/s = {rate / gemm:.2f} x matmul; {it} iterations "
                     f"(slowest block)"))
    if not args.no_lca:
        # the default (a step per sample) and the fixed step tau / lambda_max it starts from
        dt_fixed = 0.5 * max_stable_dt(D, 0.01)
        for name, kwargs, reps in (("adaptive step, default", {}, args.repeats),
                                   ("fixed step tau/lambda_max", {"dt": dt_fixed}, 1)):
            l_stats = {}
            t_l, A = best_time(lambda: lca(X, D, lam, _stats=l_stats, **kwargs), reps)
            flops = 2.0 * l_stats["products"] * k * k + 2.0 * n * k * X.shape[1] \
                + 2.0 * k * k * X.shape[1]
            rate = flops / t_l / 1e9
            rows.append((f"v1model lca, {name} (Euler, tol 1e-3, float32)", t_l,
                         lasso_objective(X, D, A, lam),
                         f"{rate:.0f} GFLOP/s = {rate / gemm:.2f} x matmul; "
                         f"{l_stats['products'] / n:.0f} products per patch, "
                         f"{l_stats['steps']} steps"))

    print(f"float32 matmul ({n} x {k}) x ({k} x {k}): {gemm:.0f} GFLOP/s")
    print(f"active set: {stats['n_solves']} batched solves, {stats['flops'] / 1e9:.1f} GFLOP")
    print()
    print("| solver | time (s) | speed-up vs scikit-learn | relative objective gap | notes |")
    print("|---|---|---|---|---|")
    for name, t, f, note in rows:
        gap = (f - f_star) / f_star
        print(f"| {name} | {t:.3f} | {t_sk / t:.1f}x | {gap:.1e} | {note} |")
    print()
    print(machine_line())
    return 0


def _run_dense(args):
    """The --dense table: active set, FISTA and scikit-learn on codes with small lam."""
    from sklearn.decomposition import sparse_encode

    from v1model.inference import fista, lasso_active_set, lasso_objective

    n = args.n_samples or (10 if args.quick else 40)
    print(machine_line())
    X, D, info = load_problem(n)
    print(info)
    k = D.shape[0]
    drive = np.median(np.abs(X @ D.T).max(axis=1))
    for dtype in (np.float32, np.float64):  # compile (or load the cached kernels) untimed
        fista(X[:2], D, args.dense_lams[0], dtype=dtype)
        lasso_active_set(X[:2], D, args.dense_lams[0], dtype=dtype)
    print(f"relative objective gap compared at: {args.dense_gap:g} (of the summed objective, "
          "to the lowest of the run and of lasso_active_set in float64 with tol 1e-6)")
    print()
    print("| lam (fraction of median max abs(D x)) | active atoms | solver | time (s) | "
          "speed-up vs scikit-learn | relative objective gap | within gap |")
    print("|---|---|---|---|---|---|---|")
    for lam in args.dense_lams:
        A_ref = lasso_active_set(X, D, lam, tol=1e-6, dtype=np.float64)
        f_star = lasso_objective(X, D, A_ref, lam)
        density = np.count_nonzero(A_ref) / A_ref.size
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its ConvergenceWarning: the gap column says it
            for max_iter in (1000, 10000):
                default = ", default" if max_iter == 1000 else ""
                t, A = best_time(lambda: sparse_encode(X, D, algorithm="lasso_cd", alpha=lam,
                                                       max_iter=max_iter), args.sk_repeats)
                rows.append((f"scikit-learn sparse_encode lasso_cd, max_iter {max_iter}"
                             f"{default} (float64)", t, lasso_objective(X, D, A, lam)))
            for dtype in (np.float32, np.float64):
                t, A = best_time(lambda: lasso_active_set(X, D, lam, dtype=dtype),
                                 args.repeats)
                rows.append((f"v1model lasso_active_set, default tol ({np.dtype(dtype).name})",
                             t, lasso_objective(X, D, A, lam)))
            for tol in (1e-4, 1e-5, 1e-6):
                default = ", default" if tol == 1e-4 else ""
                t, A = best_time(lambda: fista(X, D, lam, tol=tol, max_iter=20000),
                                 args.repeats)
                rows.append((f"v1model fista, tol {tol:g}{default}, max_iter 20000 (float32)",
                             t, lasso_objective(X, D, A, lam)))
        f_star = min([f_star] + [f for _, _, f in rows])
        t_sk = rows[0][1]
        for name, t, f in rows:
            gap = (f - f_star) / f_star
            print(f"| {lam:g} ({lam / drive:.3f}) | {100 * density:.1f}% "
                  f"({density * k:.0f} per patch) | {name} | {t:.3f} | {t_sk / t:.1f}x | "
                  f"{gap:.1e} | {'yes' if gap <= args.dense_gap else 'no'} |")
    print()
    print(f"{n} patches of {X.shape[1]} pixels, {k} atoms")
    print(machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
