"""The matching-pursuit SAE: backward pass and encode memory, against references.

``v1model.sae.pursuit.pursuit_backward`` scatters each pursuit step's
contribution into the rows of the atoms it selected. The reference is the
same gradient written as a dense product with the one-hot selection matrix
(n_samples, n_atoms), what a straightforward array program (and the first
version of this module) computes: 2 n n_atoms n_features flops a step, as
much as the forward pass. Both run in the same process, alternately, on the
same trace, and must agree to rounding; the forward pass is timed beside
them for scale.

Memory: the peak Python-visible allocation (tracemalloc) of ``encode`` of a
trained MP autoencoder, against a TopK autoencoder of the same size (the
residual trace of the backward pass, k x rows x n_features, is not kept at
inference).

Routes: ``encode`` (20,000 rows) and one training step's loss and gradients
(a batch of 4,096) of an MP autoencoder of 4,096 latents on 512 features, k = 32,
with the Gram route (correlations updated from one Gram row a step,
``v1model.sae.pursuit.pursuit_gram``) and with the plain route (one product with
the decoder a step, forced by ``GRAM_MAX_BYTES = 0``), in the same process, with
one product ``X @ W^T`` for scale; the two must select the same atoms on >= 99.9%
of the rows of a planted problem.

    python benchmarks/bench_sae_pursuit.py            # 8,192 atoms, d 768, k 32
    python benchmarks/bench_sae_pursuit.py --quick    # 2,048 atoms, d 256, k 16
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


def one_hot_backward(G, D, trace):
    """The reference: ``pursuit_backward``'s gradient, each step's contributions added
    through a dense one-hot product (the package's own step, so that only the
    accumulation differs)."""
    from v1model.sae.pursuit import backward_step

    n, k = trace[0].shape
    sq = np.einsum("ij,ij->i", D, D)
    dD = np.zeros_like(D)
    rows = np.arange(n)
    for t in range(k - 1, -1, -1):
        j, used, contribution, G = backward_step(G, D, sq, trace, t)
        onehot = np.zeros((n, D.shape[0]), D.dtype)
        onehot[rows[used], j[used]] = 1
        dD += onehot.T @ np.where(used[:, None], contribution, 0)
    return dD, G


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def backward_table(n_atoms, d, k, batch, repeats, rng):
    from v1model.sae.pursuit import pursuit_backward, pursuit_forward

    D = rng.standard_normal((n_atoms, d)).astype(np.float32)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    R = rng.standard_normal((batch, d)).astype(np.float32)
    forward_s, (_, residual, trace) = best_of(lambda: pursuit_forward(R, D, k), repeats)
    G = 2 * residual / batch
    scatter, reference = [], []
    for _ in range(repeats):  # alternately: the machine's load weighs on both alike
        t0 = time.perf_counter()
        dD, dR = pursuit_backward(G, D, trace)
        t1 = time.perf_counter()
        dD_ref, dR_ref = one_hot_backward(G, D, trace)
        scatter.append(t1 - t0)
        reference.append(time.perf_counter() - t1)
    scale = float(np.abs(dD_ref).max())
    agree = float(np.abs(dD - dD_ref).max()) / scale
    print(f"\nbackward, {n_atoms} atoms, d {d}, k {k}, batch {batch}, float32 "
          f"(best of {repeats}):")
    print("| pass | s | vs one-hot |")
    print("|---|---|---|")
    print(f"| forward (k correlations with D) | {forward_s:.3f} | |")
    print(f"| backward, one-hot products (reference) | {min(reference):.3f} | 1.00x |")
    print(f"| backward, scattered (package) | {min(scatter):.3f} | "
          f"{min(reference) / min(scatter):.1f}x faster |")
    print(f"dD agrees with the reference to {agree:.1e} of its largest entry; dR to "
          f"{float(np.abs(dR - dR_ref).max()):.1e}")
    if agree > 1e-4:
        raise SystemExit("the scattered gradient differs from the reference")


def encode_memory(n_atoms, d, k, rows, rng):
    from v1model.sae import SparseAutoencoder

    X = rng.standard_normal((rows, d)).astype(np.float32)
    print(f"\nencode of {rows:,} x {d} float32 rows, {n_atoms} latents, k {k}: peak "
          "allocation beyond the result (tracemalloc)")
    print("| activation | extra MB | result MB |")
    print("|---|---|---|")
    for act in ("topk", "mp"):
        sae = SparseAutoencoder(n_atoms, act, k=k, n_steps=2, batch_size=256, seed=0,
                                progress=False).fit(X[:4096])
        tracemalloc.start()
        try:
            Z = sae.encode(X)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        print(f"| {act} | {(peak - Z.nbytes) / 2**20:.0f} | {Z.nbytes / 2**20:.0f} |")
        del Z


def routes_table(n_atoms, d, k, batch, rows, rng):
    import v1model.sae.pursuit as pursuit
    from v1model.sae import SparseAutoencoder
    from v1model.sae.objective import Objective, loss_and_gradients

    D = rng.standard_normal((n_atoms, d)).astype(np.float32)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((rows, n_atoms), np.float32)  # 16 planted atoms a row
    for i in range(rows):
        codes[i, rng.choice(n_atoms, 16, replace=False)] = rng.uniform(0.5, 2, 16)
    X = (codes @ D + 0.01 * rng.standard_normal((rows, d))).astype(np.float32)
    del codes
    sae = SparseAutoencoder(n_atoms, "mp", k=k, n_steps=1, batch_size=256, seed=0,
                            progress=False).fit(X[:512])
    sae._params["decoder"][...] = D  # the planted dictionary: supports that mean something
    sae._params["b_dec"][...] = 0
    params, objective = {"decoder": D, "b_dec": np.zeros(d, np.float32)}, Objective("mp", k=k)
    product_s = best_of(lambda: X @ D.T, 1)[0]
    # the compiled kernel loaded before timing
    pursuit.pursuit_forward(X[:2], D, k, gram=pursuit.pursuit_gram(D, 10**6, k))
    bound, times = pursuit.GRAM_MAX_BYTES, {}
    try:
        for route, limit in (("gram", bound), ("plain", 0)):
            pursuit.GRAM_MAX_BYTES = limit
            times[route] = (best_of(lambda: sae.encode(X), 1),
                            best_of(lambda: loss_and_gradients(params, X[:batch], objective), 1))
    finally:
        pursuit.GRAM_MAX_BYTES = bound
    (enc_g, Z_g), (step_g, (_, grads_g, _)) = times["gram"]
    (enc_p, Z_p), (step_p, (_, grads_p, _)) = times["plain"]
    same = float(np.all((Z_g != 0) == (Z_p != 0), axis=1).mean())
    print(f"\nMP SAE routes, {n_atoms} latents, d {d}, k {k}, float32: encode of {rows:,} "
          f"rows, a training step (loss and gradients) on a batch of {batch:,}")
    print("| | plain (reference) s | Gram s | faster |")
    print("|---|---|---|---|")
    print(f"| encode | {enc_p:.2f} | {enc_g:.2f} | {enc_p / enc_g:.1f}x |")
    print(f"| training step | {step_p:.2f} | {step_g:.2f} | {step_p / step_g:.1f}x |")
    print(f"| one X @ W^T ({rows:,} rows), for scale | {product_s:.2f} | | |")
    dec = float(np.abs(grads_g["decoder"] - grads_p["decoder"]).max()
                / np.abs(grads_p["decoder"]).max())
    print(f"same supports on {same:.4%} of the rows; codes differ by "
          f"{float(np.abs(Z_g - Z_p).max() / np.abs(Z_p).max()):.1e} of the largest, "
          f"decoder gradients by {dec:.1e}")
    if same < 0.999:
        raise SystemExit("the Gram route selects other atoms than the plain route")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,048 atoms, d 256, k 16")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine_line())
    rng = np.random.default_rng(0)
    if args.quick:
        backward_table(2048, 256, 16, 256, args.repeats, rng)
        encode_memory(512, 256, 16, 8192, rng)
        routes_table(1024, 128, 16, 1024, 4096, rng)
    else:
        backward_table(8192, 768, 32, 256, args.repeats, rng)
        encode_memory(512, 768, 32, 20_000, rng)
        routes_table(4096, 512, 32, 4096, 20_000, rng)


if __name__ == "__main__":
    main()
