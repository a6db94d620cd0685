"""Sparse-autoencoder training speed with one BLAS thread against all of them.

A TopK SAE's training step is a few matrix products of a minibatch
(batch, n_features) with the encoder and decoder (n_latents, n_features).
For small models, OpenBLAS's threads cost more than they bring (and collapse
when other processes share the cores); for large ones they pay. This times
Adam steps per second of ``v1model.sae.SparseAutoencoder`` for several model
sizes, with ``threadpool_limits(1, "blas")`` and with every thread, in the
same run, on random data (the speed does not depend on the data); the
package's own choice (``v1model._blas``) is switched off for both.

"Every thread" is BLAS's current limit (threadpoolctl): under
``OMP_NUM_THREADS=1`` (or another limit) it is one thread, and a line starting
"WARNING:" says that the comparison then measures nothing.

    python benchmarks/bench_sae.py            # 200 steps per size, best of two fits
    python benchmarks/bench_sae.py --quick    # smoke run: 20 steps, one fit, no 768 x 4,096

``--quick`` is a smoke run (23 s at load 8.4): it leaves out the LLM-layer size,
whose fits of 50 steps were 184 of the 300 s the former quick run took (load 4-9),
and times one fit of 20 steps after an untimed warm-up fit (the first fit
compiles the Adam step); both thread counts still run for every size it keeps,
with their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import blas_threads, machine_line  # noqa: E402

#: (n_features, n_latents, batch_size): from the studies' sizes to an LLM layer's
SIZES = ((64, 128, 256), (144, 288, 256), (64, 512, 1024), (256, 1024, 1024),
         (768, 4096, 1024))
#: --quick: every size but the LLM layer's (1-1.4 steps/s, most of a quick run's time)
QUICK_SIZES = SIZES[:-1]


def steps_per_second(X, n_latents, batch, n_steps, threads, fits=2):
    """Training steps per second with ``threads`` BLAS threads (best of ``fits``
    fits, with the package's own choice of threads switched off)."""
    from contextlib import nullcontext
    from unittest import mock

    from threadpoolctl import threadpool_limits

    from v1model.sae import SparseAutoencoder

    best = 0.0
    with mock.patch("v1model.sae.autoencoder.blas_threads_for_step",
                    lambda flops: nullcontext()), \
            threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(fits):
            sae = SparseAutoencoder(n_latents, "topk", k=8, n_steps=n_steps,
                                    batch_size=batch, seed=0, progress=False)
            t0 = time.perf_counter()
            sae.fit(X)
            best = max(best, n_steps / (time.perf_counter() - t0))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 steps, one fit, without the largest size")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args(argv)
    n_steps = args.steps or (20 if args.quick else 200)
    sizes, fits = (QUICK_SIZES, 1) if args.quick else (SIZES, 2)
    n_threads, limited = blas_threads()
    print(machine_line())
    print(f"BLAS threads available: {n_threads}; {n_steps} Adam steps per run, best of "
          f"{fits} fit(s), TopK k = 8")
    if limited:
        print(limited, flush=True)
    print()
    print("| n_features | n_latents | batch | GFLOP per step | steps/s, 1 thread | "
          f"steps/s, {n_threads} threads | 1 thread vs all |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    if fits == 1:  # else the first row's only fit would time the Adam step's compilation
        steps_per_second(rng.standard_normal((64, 8)).astype(np.float32), 16, 32, 2, 1,
                         fits=1)
    for n_features, n_latents, batch in sizes:
        X = rng.standard_normal((max(4 * batch, 4096), n_features)).astype(np.float32)
        # forward: 2 products; backward: 4 (encoder, decoder, their inputs): 2 flops each
        gflop = 6 * 2 * batch * n_latents * n_features / 1e9
        one = steps_per_second(X, n_latents, batch, n_steps, 1, fits)
        every = steps_per_second(X, n_latents, batch, n_steps, n_threads, fits)
        print(f"| {n_features} | {n_latents} | {batch} | {gflop:.3f} | {one:.0f} | {every:.0f} "
              f"| {one / every:.2f}x |")
    print()
    print(machine_line())
    if limited:
        print(limited)
    return 0


if __name__ == "__main__":
    sys.exit(main())
