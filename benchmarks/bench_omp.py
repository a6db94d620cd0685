"""Orthogonal Matching Pursuit: v1model's batched OMP against scikit-learn's
``orthogonal_mp_gram`` (Batch-OMP with the Gram matrix precomputed, one
Cholesky-updated loop per sample).

Same patches and learned dictionary as ``bench_lasso.py``; k atoms per patch.
Accuracy: fraction of patches with exactly scikit-learn's support and the
largest relative difference of the residual norms.

    python benchmarks/bench_omp.py            # 10,000 patches, k = 10
    python benchmarks/bench_omp.py --quick    # 2,000 patches
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import best_time, load_problem, machine_line  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 patches, faster setup")
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("-k", "--n-nonzero", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from sklearn.linear_model import orthogonal_mp_gram

    from v1model.inference import matching_pursuit, orthogonal_mp

    n = args.n_samples or (2000 if args.quick else 10000)
    k = args.n_nonzero
    print(machine_line())
    X, D, info = load_problem(n)
    print(info)

    t0 = time.perf_counter()
    G = D @ D.T
    Xy = (X @ D.T).T
    ref = orthogonal_mp_gram(G, Xy, n_nonzero_coefs=k, norms_squared=np.sum(X**2, axis=1)).T
    t_sk = time.perf_counter() - t0
    r_ref = np.linalg.norm(X - ref @ D, axis=1)

    rows = [("scikit-learn orthogonal_mp_gram (float64, incl. Gram)", t_sk, ref)]
    t32, A32 = best_time(lambda: orthogonal_mp(X, D, k), args.repeats)
    rows.append(("v1model orthogonal_mp (float32)", t32, A32))
    t64, A64 = best_time(lambda: orthogonal_mp(X, D, k, dtype=np.float64), args.repeats)
    rows.append(("v1model orthogonal_mp (float64)", t64, A64))
    t_nn, A_nn = best_time(lambda: orthogonal_mp(X, D, k, positive=True), 1)
    rows.append(("v1model orthogonal_mp positive=True (float32)", t_nn, A_nn))
    t_mp, A_mp = best_time(lambda: matching_pursuit(X, D, k), args.repeats)
    rows.append(("v1model matching_pursuit (float32)", t_mp, A_mp))

    print(f"{n} patches, {D.shape[0]} atoms, k = {k}")
    print()
    print("| method | time (s) | speed-up vs scikit-learn | same support as scikit-learn | "
          "max rel. residual difference | mean rel. residual |")
    print("|---|---|---|---|---|---|")
    for name, t, A in rows:
        r = np.linalg.norm(X - A @ D, axis=1)
        same = np.mean(np.all((A != 0) == (ref != 0), axis=1))
        diff = np.max(np.abs(r - r_ref) / r_ref)
        rel = np.mean(r / np.linalg.norm(X, axis=1))
        print(f"| {name} | {t:.3f} | {t_sk / t:.1f}x | {100 * same:.1f}% | {diff:.1e} | "
              f"{rel:.3f} |")
    print()
    print(machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
