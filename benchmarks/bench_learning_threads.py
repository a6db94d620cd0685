"""Minibatch dictionary learning with one BLAS thread against all of them.

Each update of the Olshausen-Field rule and of online dictionary learning
codes a minibatch (100 patches) with FISTA: hundreds of iterations, each a
product of the minibatch with the dictionary and with its Gram matrix, a few
MFLOP. OpenBLAS's threads bring little there and collapse when another
process wants a core. This times updates per second of ``learn_dictionary``
and ``learn_online`` on whitened patches of the embedded photographs, with
``threadpool_limits(1, "blas")`` and with every thread, in the same run; the
package's own choice (``v1model._blas``, one thread below 0.4 GFLOP per
inference iteration) is switched off for both columns. Run it on an idle
machine and beside a busy process (e.g. ``python -c "while 1: pass" &``).

"Every thread" is BLAS's current limit (threadpoolctl): under
``OMP_NUM_THREADS=1`` (or another limit) it is one thread, and a line starting
"WARNING:" says that the comparison then measures nothing.

    python benchmarks/bench_learning_threads.py            # 40 updates per size
    python benchmarks/bench_learning_threads.py --quick    # 10 updates
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import blas_threads, machine_line  # noqa: E402

#: (patch size, n_atoms): the quick and full studies' sizes, complete and overcomplete
SIZES = ((8, 64), (8, 128), (16, 256), (16, 512))
#: where the learners pick their BLAS threads
CHOOSERS = ("v1model.learning.olshausen_field", "v1model.learning._loop",
            "v1model.learning.online")
BATCH = 100


def updates_per_second(learn, X, n_atoms, n_updates, threads):
    """Updates per second of ``learn`` with ``threads`` BLAS threads (best of two
    runs; the package's own choice of threads switched off)."""
    from contextlib import ExitStack

    from threadpoolctl import threadpool_limits

    best = 0.0
    with ExitStack() as stack:
        for module in CHOOSERS:
            stack.enter_context(mock.patch(f"{module}.blas_threads_for_step",
                                           lambda flops: nullcontext()))
        stack.enter_context(threadpool_limits(limits=threads, user_api="blas"))
        for _ in range(2):
            t0 = time.perf_counter()
            learn(X, n_atoms, n_updates)
            best = max(best, n_updates / (time.perf_counter() - t0))
    return best


def _olshausen_field(X, n_atoms, n_updates):
    from v1model.learning import learn_dictionary

    learn_dictionary(X, n_atoms, lam=0.1, n_updates=n_updates, batch_size=BATCH, seed=0,
                     progress=False)


def _online(X, n_atoms, n_updates):
    from v1model.learning import learn_online

    learn_online(X, n_atoms, lam=0.1, n_updates=n_updates, batch_size=BATCH, seed=0,
                 progress=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 updates per size")
    parser.add_argument("--updates", type=int, default=None)
    args = parser.parse_args(argv)
    from stimuli.images import load_images, sample_patches, whiten
    from v1model._blas import coding_iteration_flops

    n_updates = args.updates or (10 if args.quick else 40)
    n_threads, limited = blas_threads()
    images = whiten(load_images("skimage"))
    print(machine_line())
    print(f"BLAS threads available: {n_threads}; {n_updates} updates of {BATCH} patches per "
          "run, lam = 0.1, best of two runs")
    if limited:
        print(limited, flush=True)
    print()
    print(f"| learner | patch | n_atoms | MFLOP per inference iteration | updates/s, 1 thread "
          f"| updates/s, {n_threads} threads | 1 thread vs all |")
    print("|---|---|---|---|---|---|---|")
    for name, learn in (("learn_dictionary (fista)", _olshausen_field),
                        ("learn_online", _online)):
        for size, n_atoms in SIZES:
            X = sample_patches(images, size, 20_000, seed=0)
            mflop = coding_iteration_flops(BATCH, n_atoms, size * size) / 1e6
            one = updates_per_second(learn, X, n_atoms, n_updates, 1)
            every = updates_per_second(learn, X, n_atoms, n_updates, n_threads)
            print(f"| {name} | {size}x{size} | {n_atoms} | {mflop:.1f} | {one:.1f} | "
                  f"{every:.1f} | {one / every:.2f}x |", flush=True)
    print()
    print(machine_line())
    if limited:
        print(limited)
    return 0


if __name__ == "__main__":
    sys.exit(main())
