"""Sparse inference with one BLAS thread against all of them, idle and beside a busy process.

Each iteration of LCA, FISTA, ISTA or IHT multiplies the codes of the batch
by the Gram matrix (and the data by the dictionary): ``coding_iteration_flops``
(n_samples x n_atoms x (n_features + n_atoms) x 2). For a few hundred
patches that is tens of MFLOP, where OpenBLAS's threads bring little on an
idle machine and collapse when another process wants a core (the same effect
as in ``bench_sae.py`` and ``bench_learning_threads.py``). This times
``v1model.inference.encode`` for several batch sizes, with
``threadpool_limits(1, "blas")`` and with every thread, in the same run: on an
idle machine, beside a busy process that this script starts itself (a Python
loop on one core), and beside another BLAS job (a loop of float32 matrix
products), where two threads collapse. (The solvers themselves use every
thread BLAS has: on an idle machine that is 1.4-1.6x faster even for 50
patches with this dictionary; see benchmarks/README.md.) Data: the whitened
16x16 patches and the 512-atom dictionary of ``bench_lasso.py``
(``_inference_setup.load_problem``), lam = 0.25.

"Every thread" is BLAS's current limit (threadpoolctl): under
``OMP_NUM_THREADS=1`` (or another limit) it is one thread, and a line starting
"WARNING:" says that the comparison then measures nothing.

    python benchmarks/bench_inference_threads.py            # best of 3
    python benchmarks/bench_inference_threads.py --quick    # best of 1, fewer sizes
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import blas_threads, load_problem, machine_line  # noqa: E402

METHODS = ("lca", "fista")
SIZES = (50, 200, 1000, 4000)
LAM = 0.25


def seconds(method, X, D, threads, repeats):
    """Best wall time of ``encode(X, D, method, lam=LAM)`` with ``threads`` BLAS threads."""
    from threadpoolctl import threadpool_limits

    from v1model.inference import encode

    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            # no bar: drawn after 2 s (1,000 patches beside a busy process), it came
            # between the rows of the table and stayed in a log
            encode(X, D, method, lam=LAM, progress=False)
            best = min(best, time.perf_counter() - t0)
    return best


def table(X_all, D, sizes, n_threads, repeats):
    from v1model._blas import coding_iteration_flops

    print(f"| method | patches | MFLOP per iteration | 1 thread (s) | {n_threads} threads (s) "
          "| 1 thread vs all (speed) |")
    print("|---|---|---|---|---|---|")
    for method in METHODS:
        for n in sizes:
            X = X_all[:n]
            mflop = coding_iteration_flops(n, D.shape[0], D.shape[1]) / 1e6
            one = seconds(method, X, D, 1, repeats)
            every = seconds(method, X, D, n_threads, repeats)
            print(f"| {method} | {n} | {mflop:.0f} | {one:.3f} | {every:.3f} | "
                  f"{every / one:.2f}x |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="best of 1, three sizes")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = SIZES[:3] if args.quick else SIZES
    n_threads, limited = blas_threads()
    X, D = load_problem(max(sizes))[:2]
    # warm-up: first-call costs stay out of the tables; with --quick (best of 1) they
    # made the first cell, lca on 50 patches with one thread, 5x slower than the next
    from v1model.inference import encode

    for method in METHODS:
        encode(X[:sizes[0]], D, method, lam=LAM, progress=False)
    print(machine_line())
    print(f"BLAS threads available: {n_threads}; encode(X, D, method, lam={LAM}), "
          f"{D.shape[0]} atoms on {D.shape[1]} features, best of {repeats}")
    if limited:
        print(limited, flush=True)
    print("\n(a) idle machine")
    table(X, D, sizes, n_threads, repeats)
    for title, code in (("(b) beside a busy process (one core spinning in Python)",
                         "while True: pass"),
                        ("(c) beside another BLAS job (float32 1500x1500 products on every "
                         "core: a second test run, a notebook)",
                         "import numpy as np\na = np.ones((1500, 1500), 'f4')\n"
                         "while True: a @ a")):
        print("\n" + title)
        busy = subprocess.Popen([sys.executable, "-c", code])
        try:
            time.sleep(2.0)
            table(X, D, sizes, n_threads, repeats)
        finally:
            busy.kill()
            busy.wait()
    print()
    print(machine_line())
    if limited:
        print(limited)
    return 0


if __name__ == "__main__":
    sys.exit(main())
