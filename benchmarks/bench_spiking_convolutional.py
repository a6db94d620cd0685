"""Spiking convolutional LCA: wiring the lateral inhibition from the copies' Gram
columns against the dense spiking LCA on the explicit matrix, in the same run.

For whitened image crops and random Gabor kernels (stride 2, boundary "full"):

(a) the lateral weights alone: ``gram_matrix(phi)`` (sparse, one window per
    copy) against ``M @ M.T`` on ``as_matrix()`` — time and peak memory
    (tracemalloc), and that both hold the same non-zero weights;
(b) the whole simulation (Brian2, ``--target``; default numpy, no compiler):
    ``spiking_convolutional_lca`` against ``spiking_lca`` on the explicit
    matrix, same seed — build and run times (from the Datasets' attrs) and
    the largest difference of the spike counts;
(c) a loop of calls on crops of one size: the CPU of a ``spiking_convolutional_lca`` call
    outside Brian2 (the network's build and run stubbed out: validation, drive, lateral
    weights, Dataset), with the weights built as before at every call (``gram_matrix``
    and a ``tolil``/``setdiag``/``tocsr`` round trip) against now (identity subtracted in
    CSR; kept for the next call: the first call cold, the others warm), in the same run,
    and that the weights are the same CSR arrays; the identity step alone both ways (best
    of 3); then one tiny problem on Brian2's numpy target, whose spikes must be the same
    both ways.

    python benchmarks/bench_spiking_convolutional.py
    python benchmarks/bench_spiking_convolutional.py --parts c --sizes 16 32
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
    parser.add_argument("--parts", nargs="+", choices=("a", "b", "c"),
                        default=["a", "b", "c"])
    parser.add_argument("--calls", type=int, default=6,
                        help="(c): calls per crop size and path")
    args = parser.parse_args(argv)
    from v1model.convolutional import ConvolutionalDictionary
    from v1model.convolutional.gram import gram_matrix
    from v1model.spiking import spiking_convolutional_lca, spiking_lca

    print(machine_line())
    K = gabor_kernels(args.kernels, args.kernel_size, seed=1)
    print(f"{args.kernels} Gabor kernels of {args.kernel_size}x{args.kernel_size}, stride "
          f"{args.stride}, full; 2 whitened crops per size; Brian2 target {args.target}, "
          f"{args.duration} s simulated")
    if "c" in args.parts:
        per_call(K, args)
    if not {"a", "b"} & set(args.parts):
        print("\n" + machine_line())
        return
    # warm-up: imports and first-call costs stay out of the tables
    small = ConvolutionalDictionary(K, (12, 12), stride=args.stride, dtype=np.float64)
    gram_matrix(small)
    Xs = np.ones((1, 12, 12))
    spiking_convolutional_lca(Xs, K, 0.1, stride=args.stride, duration=0.01,
                              target=args.target, seed=0)
    spiking_lca(Xs.reshape(1, -1), small.as_matrix(), 0.1, duration=0.01, target=args.target,
                seed=0)
    if "a" in args.parts:
        lateral_weights_table(K, args)
    if "b" in args.parts:
        simulation_table(K, args)
    print("\n" + machine_line())


def lateral_weights_table(K, args):
    """Part (a): ``gram_matrix`` against ``M Mᵀ`` on the explicit matrix."""
    from v1model.convolutional import ConvolutionalDictionary
    from v1model.convolutional.gram import gram_matrix

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


def simulation_table(K, args):
    """Part (b): the local network against the dense one on the explicit matrix."""
    from v1model.convolutional import ConvolutionalDictionary
    from v1model.spiking import spiking_convolutional_lca, spiking_lca

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


def round_trip_weights(phi):
    """The lateral weights as every call built them before the cache (the "before"
    path): the Gram matrix through lil, its diagonal less 1, back to CSR."""
    from v1model.convolutional.gram import gram_matrix

    return round_trip_identity(gram_matrix(phi))


def round_trip_identity(gram):
    """``gram - I`` as the round trip built it (lil, diagonal less 1, CSR)."""
    weights = gram.tolil()
    weights.setdiag(weights.diagonal() - 1.0)
    weights = weights.tocsr()
    weights.data[np.abs(weights.data) < 1e-12] = 0.0
    weights.eliminate_zeros()
    return weights


def identity_step(phi):
    """CPU (ms, best of 3) of subtracting the identity from ``phi``'s Gram matrix: the
    round trip against ``_weights_of_gram`` (the step the cold call no longer pays)."""
    from v1model.convolutional.gram import gram_matrix
    from v1model.spiking.convolutional import _weights_of_gram

    gram = gram_matrix(phi)
    best = []
    for step in (round_trip_identity, _weights_of_gram):
        cpu = []
        for _ in range(3):
            t0 = time.process_time()
            step(gram)
            cpu.append(time.process_time() - t0)
        best.append(1e3 * min(cpu))
    return tuple(best)


def per_call(K, args):
    """Part (c): the CPU of a call outside Brian2, before and after, in the same run."""
    import warnings

    from v1model.convolutional import ConvolutionalDictionary
    from v1model.inference._dictionary_cache import clear_dictionary_cache
    from v1model.spiking import convolutional as module

    originals = module._lateral_weights, module._run_network
    seen = []

    def stub(drive, weights, *rest):  # no Brian2: a silent run's counts
        seen.append(weights)
        return {"counts": np.zeros(drive.shape, np.int64), "n_synapses": 0,
                "build_time": 0.0, "run_time": 0.0, "brian2_seed": -1}

    def calls(X, lam, n):
        cpu = []
        for _ in range(n):
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the stub's silent run
                module.spiking_convolutional_lca(X, K, lam, stride=args.stride,
                                                 duration=args.duration, target="numpy",
                                                 seed=0, progress=False)
            cpu.append(time.process_time() - t0)
        return cpu

    print(f"\n(c) CPU of one call outside Brian2 (build and run stubbed), {args.calls} calls "
          "per path on 2 crops of one size; before: weights rebuilt (lil round trip) at "
          "every call; after: the first call cold, the others warm (kept)")
    print("| crop | units (2 crops) | weights | CSR (MiB) | before: median (ms) | after: cold "
          "(ms) | warm median (ms) | before / cold | before / warm | same CSR arrays |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    module._run_network = stub
    identity = []
    try:
        calls(np.ones((2, 12, 12)), 0.1, 1)  # warm-up: imports
        for size in args.sizes:
            phi = ConvolutionalDictionary(K, (size, size), stride=args.stride,
                                          dtype=np.float64)
            X, _ = load_crops(2, size, seed=0)
            lam = 0.2 * float(np.abs(phi.analyze(X)).max())
            seen.clear()
            module._lateral_weights = round_trip_weights
            before = calls(X, lam, args.calls)
            module._lateral_weights = originals[0]
            clear_dictionary_cache()
            after = calls(X, lam, args.calls)
            old, new = seen[0], seen[-1]
            same = all(np.array_equal(getattr(old, a), getattr(new, a))
                       for a in ("indptr", "indices", "data"))
            mb = (new.data.nbytes + new.indices.nbytes + new.indptr.nbytes) / 2**20
            b, cold, warm = np.median(before), after[0], np.median(after[1:])
            print(f"| {size}x{size} | {2 * phi.n_coefficients} | {new.nnz} | {mb:.1f} | "
                  f"{1e3 * b:.1f} | {1e3 * cold:.1f} | {1e3 * warm:.1f} | {b / cold:.1f}x | "
                  f"{b / warm:.1f}x | {same} |")
            identity.append((size,) + identity_step(phi))
    finally:
        module._lateral_weights, module._run_network = originals
        clear_dictionary_cache()
    for size, old_ms, new_ms in identity:
        print(f"{size}x{size}: the identity subtracted from the Gram matrix, best of 3: "
              f"lil round trip {old_ms:.1f} ms, CSR {new_ms:.1f} ms ({old_ms / new_ms:.0f}x)")
    # one tiny problem through Brian2's numpy target: the spikes both ways
    phi = ConvolutionalDictionary(K[:4], (12, 12), stride=args.stride, dtype=np.float64)
    X, _ = load_crops(2, 12, seed=0)
    lam = 0.2 * float(np.abs(phi.analyze(X)).max())

    def spikes():
        ds = module.spiking_convolutional_lca(X, K[:4], lam, stride=args.stride,
                                              duration=0.05, target="numpy", seed=0,
                                              record_spikes=True, progress=False)
        return [ds[v].values for v in ("spike_time", "spike_sample", "spike_kernel",
                                       "spike_position", "spike_count")]

    module._lateral_weights = round_trip_weights
    try:
        old = spikes()
    finally:
        module._lateral_weights = originals[0]
    new, kept = spikes(), spikes()
    same = all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(old, new, kept))
    print(f"Brian2 numpy target, 4 kernels on 2 crops of 12x12, 0.05 s: {int(old[4].sum())} "
          f"spikes; before, after (cold) and after (kept) the same spike trains and counts: "
          f"{same}")


if __name__ == "__main__":
    main()
