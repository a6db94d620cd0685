"""Spiking convolutional LCA: wiring the lateral inhibition from the copies' Gram
columns against the dense spiking LCA on the explicit matrix, in the same run.

For whitened image crops and random Gabor kernels (stride 2, boundary "full"):

(a) the lateral weights alone: ``gram_matrix(phi)`` (sparse, one window per
    copy) against ``M @ M.T`` on ``as_matrix()`` — time and peak memory
    (tracemalloc), and that both hold the same non-zero weights;
(b) the whole simulation (Brian2, ``--target``; default numpy, no compiler):
    ``spiking_convolutional_lca`` against ``spiking_lca`` on the explicit
    matrix, same seed — build and run times (from the Datasets' attrs) and
    the largest difference of the spike counts.

    python benchmarks/bench_spiking_convolutional.py
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import machine_line  # noqa: E402
from bench_convolutional import gabor_kernels, load_crops  # noqa: E402


def peak(fn):
    """(result, seconds, peak MB of Python-tracked allocations) of ``fn()``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, top / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32, 64])
    parser.add_argument("--kernels", type=int, default=16)
    parser.add_argument("--kernel-size", type=int, default=8)
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--duration", type=float, default=0.2)
    parser.add_argument("--target", default="numpy")
    parser.add_argument("--dense-limit", type=int, default=5000,
                        help="largest n_coefficients simulated densely")
    args = parser.parse_args(argv)
    from v1model.convolutional import ConvolutionalDictionary
    from v1model.convolutional.gram import gram_matrix
    from v1model.spiking import spiking_convolutional_lca, spiking_lca

    print(machine_line())
    K = gabor_kernels(args.kernels, args.kernel_size, seed=1)
    print(f"{args.kernels} Gabor kernels of {args.kernel_size}x{args.kernel_size}, stride "
          f"{args.stride}, full; 2 whitened crops per size; Brian2 target {args.target}, "
          f"{args.duration} s simulated")
    # warm-up: imports and first-call costs stay out of the tables
    small = ConvolutionalDictionary(K, (12, 12), stride=args.stride, dtype=np.float64)
    gram_matrix(small)
    Xs = np.ones((1, 12, 12))
    spiking_convolutional_lca(Xs, K, 0.1, stride=args.stride, duration=0.01,
                              target=args.target, seed=0)
    spiking_lca(Xs.reshape(1, -1), small.as_matrix(), 0.1, duration=0.01, target=args.target,
                seed=0)
    print("\n(a) lateral weights")
    print("| crop | units per crop | gram_matrix (s) | peak (MB) | M Mᵀ (s) | peak (MB) | "
          "time ratio | memory ratio | same weights |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        phi = ConvolutionalDictionary(K, (size, size), stride=args.stride, dtype=np.float64)
        G, t_sparse, m_sparse = peak(lambda: gram_matrix(phi))
        n = phi.n_coefficients
        if n * n * 8 > 4 * 2**30 or n * size * size > 50_000_000:
            print(f"| {size}x{size} | {n} | {t_sparse:.3f} | {m_sparse:.1f} | (dense "
                  f"{n * n * 8 / 2**30:.1f} GB: not run) | | | | |")
            continue

        def dense():
            M = phi.as_matrix()
            return M @ M.T

        D, t_dense, m_dense = peak(dense)
        same = np.allclose(G.toarray(), D, atol=1e-12)
        print(f"| {size}x{size} | {n} | {t_sparse:.3f} | {m_sparse:.1f} | {t_dense:.3f} | "
              f"{m_dense:.1f} | {t_dense / t_sparse:.1f}x | {m_dense / m_sparse:.1f}x | "
              f"{same} |")
    print("\n(b) simulation, same seed")
    print("| crop | units (2 crops) | synapses | local: build (s) | run (s) | dense: build "
          "(s) | run (s) | max spike-count diff |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        phi = ConvolutionalDictionary(K, (size, size), stride=args.stride, dtype=np.float64)
        if phi.n_coefficients > args.dense_limit:
            continue
        X, _ = load_crops(2, size, seed=0)
        lam = 0.2 * float(np.abs(phi.analyze(X)).max())
        kw = dict(duration=args.duration, target=args.target, seed=0)
        t0 = time.perf_counter()
        local = spiking_convolutional_lca(X, K, lam, stride=args.stride, **kw)
        t_local = time.perf_counter() - t0
        t0 = time.perf_counter()
        dense = spiking_lca(X.reshape(2, -1), phi.as_matrix(), lam, **kw)
        t_dense = time.perf_counter() - t0
        diff = np.abs(local["spike_count"].values.reshape(2, -1)
                      - dense["spike_count"].values).max()
        print(f"| {size}x{size} | {local.attrs['n_neurons']} | {local.attrs['n_synapses']} | "
              f"{t_local - local.attrs['run_time']:.2f} | {local.attrs['run_time']:.2f} | "
              f"{t_dense - dense.attrs['run_time']:.2f} | {dense.attrs['run_time']:.2f} | "
              f"{diff} |")
    print("\n" + machine_line())


if __name__ == "__main__":
    main()
