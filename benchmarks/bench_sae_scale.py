"""Sparse autoencoders at the sizes of interpretability work: d_model 768,
8,192-16,384 latents, activations streamed from a ``.npy`` opened with
``mmap_mode="r"``.

For each activation and number of latents, in one process: tokens per second
of ``fit`` over the memmap (its one checking pass over the whole file timed
apart) and of ``partial_fit`` over consecutive chunks, against the same
training step written as bare NumPy (encoder GEMM, the activation, decoder
GEMM, the gradient GEMMs, the parallel-gradient removal, an in-place Adam and
the row renormalisation; no AuxK) on the same rows, chunk for chunk
alternately with ``partial_fit`` so that the load of a shared machine weighs
on both alike; ``encode`` of many rows
(sparse output) and of fewer rows (dense); ``save`` / ``load`` of the model
with its training state. Peak memory is the largest anonymous resident set
(``RssAnon``: pages of the memmap that are read count as ``RssFile``, which
the kernel can drop) sampled every 2 ms during each phase, above what the
process held before it.

The data (written once to ``--workdir``, reused if present): a sparse
superposition of 32,768 unit directions in ``d`` dimensions, 24 active per
vector with Zipf-distributed frequencies and Pareto magnitudes, plus a
low-rank anisotropic part, a mean with a few large ("massive") dimensions and
a little isotropic noise: norms of about 60, like residual-stream activations.

    python benchmarks/bench_sae_scale.py --quick    # ~1-2 min: d 256, 2,048 latents
    python benchmarks/bench_sae_scale.py            # d 768, 8,192 and 16,384 latents,
                                                    # 1M vectors (3 GB in --workdir)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np


def make_activations(path, n, d, *, n_dirs=32_768, active=24, seed=0, chunk=20_000):
    """Write ``n`` synthetic activation vectors of ``d`` float32 to the ``.npy`` ``path``."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n_dirs, d)).astype(np.float32)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    p = rng.permutation(1.0 / np.arange(1, n_dirs + 1) ** 0.8)
    p /= p.sum()
    feature_scale = rng.lognormal(0.0, 0.5, n_dirs).astype(np.float32) * 4
    mean = rng.standard_normal(d).astype(np.float32) * 0.5
    mean[rng.choice(d, 4, replace=False)] = [40, -25, 18, 12]
    U = np.linalg.qr(rng.standard_normal((d, 16)))[0].T.astype(np.float32)
    low_rank_sd = np.geomspace(6, 1, 16).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        idx = rng.choice(n_dirs, size=(m, active), p=p)
        mag = (rng.pareto(3.0, (m, active)) + 0.2).astype(np.float32) * feature_scale[idx]
        S = sp.csr_matrix((mag.ravel(), idx.ravel(), np.arange(0, m * active + 1, active)),
                          shape=(m, n_dirs))
        X = np.asarray(S @ F, dtype=np.float32)
        X += (rng.standard_normal((m, 16)).astype(np.float32) * low_rank_sd) @ U
        X += mean
        X += 0.05 * rng.standard_normal((m, d)).astype(np.float32)
        out[s:s + m] = X
    out.flush()
    del out


class Memory:
    """Largest ``RssAnon`` (and ``RssFile``) of this process, sampled every 2 ms
    between :meth:`start` and :meth:`stop`; MB above the values at ``start``."""

    def __init__(self):
        self._run = False

    @staticmethod
    def now():
        values = {}
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("RssAnon", "RssFile")):
                    key, kb = line.split()[:2]
                    values[key.rstrip(":")] = int(kb) / 1024
        return values

    def start(self):
        self.base = self.now()
        self.peak = dict(self.base)
        self._run = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while self._run:
            for key, value in self.now().items():
                self.peak[key] = max(self.peak[key], value)
            time.sleep(0.002)

    def stop(self):
        self._run = False
        self._thread.join()
        return {key: self.peak[key] - self.base[key] for key in self.peak}


class Reference:
    """The training step of the package as bare NumPy, float32, same initial point."""

    def __init__(self, params, activation, k, lam=0.0, theta=None):
        self.p = {name: params[name].copy() for name in ("encoder", "b_enc", "decoder", "b_dec")}
        self.m = {name: np.zeros_like(a) for name, a in self.p.items()}
        self.v = {name: np.zeros_like(a) for name, a in self.p.items()}
        self.activation, self.k, self.lam, self.theta, self.t = activation, k, lam, theta, 0

    def step(self, x, lr=1e-4, b1=0.9, b2=0.999, eps=1e-8):
        P = self.p
        W, be, D, bd = P["encoder"], P["b_enc"], P["decoder"], P["b_dec"]
        n, m = x.shape[0], W.shape[0]
        xc = x - bd
        pre = xc @ W.T
        pre += be
        if self.activation == "topk":
            idx = np.argpartition(pre, m - self.k, axis=1)[:, m - self.k:]
            z = np.zeros_like(pre)
            np.put_along_axis(z, idx, np.maximum(np.take_along_axis(pre, idx, 1), 0), 1)
        elif self.activation == "batchtopk":
            keep = self.k * n
            idx = np.argpartition(pre.ravel(), pre.size - keep)[pre.size - keep:]
            z = np.zeros_like(pre)
            z.ravel()[idx] = np.maximum(pre.ravel()[idx], 0)
        elif self.activation == "relu":
            z = np.maximum(pre, 0)
        else:
            z = np.where(pre > self.theta, pre, 0).astype(pre.dtype)
        g = z @ D
        g += bd
        g -= x
        g *= 2.0 / n  # dL/dx_hat
        grads = {"decoder": z.T @ g}
        dz = g @ D.T
        if self.activation == "relu":
            dz += self.lam / n
        dz *= z > 0
        grads["encoder"] = dz.T @ xc
        grads["b_enc"] = dz.sum(axis=0)
        grads["b_dec"] = g.sum(axis=0) - grads["b_enc"] @ W
        gD = grads["decoder"]
        gD -= np.einsum("ij,ij->i", gD, D)[:, None] * D
        self.t += 1
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for name, p in P.items():
            gr, mo, ve = grads[name], self.m[name], self.v[name]
            mo *= b1
            mo += (1 - b1) * gr
            ve *= b2
            gr *= gr
            gr *= 1 - b2
            ve += gr
            np.divide(ve, c2, out=gr)
            np.sqrt(gr, out=gr)
            gr += eps
            np.divide(mo, gr, out=gr)
            gr *= lr / c1
            p -= gr
        D /= np.linalg.norm(D, axis=1, keepdims=True)


def timed(memory, fn):
    memory.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, memory.stop()


def run(args):
    from threadpoolctl import threadpool_info

    from v1model.sae import SparseAutoencoder

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"acts_{args.n_samples}x{args.d}.npy"
    if not path.exists():
        t0 = time.perf_counter()
        make_activations(path, args.n_samples, args.d)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - t0:.0f} s")
    X = np.load(path, mmap_mode="r")
    n, d = X.shape
    blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"X: memmap {X.shape} {X.dtype} ({X.nbytes / 1e9:.2f} GB); BLAS {blas}; "
          f"load average {os.getloadavg()}")
    memory = Memory()
    rows = []
    batch, steps, chunk = args.batch_size, args.steps, args.chunk
    k = args.k
    for n_latents in args.latents:
        for act in args.activations:
            extra = {"k": k} if act in ("topk", "batchtopk") else {"lam": args.lam}
            n_steps = steps if act in ("topk", "batchtopk") else max(3, steps // 3)
            load = os.getloadavg()[0]

            def new():
                return SparseAutoencoder(n_latents, act, n_steps=n_steps, batch_size=batch,
                                         seed=0, progress=False, lr=1e-4,
                                         dead_after=args.dead_after, **extra)

            # fit over the whole memmap: one checking pass, then n_steps minibatches
            sae, fit_s, fit_mem = timed(memory, lambda: new().fit(X))
            train_s = float(sae.history_["wall_time"][-1])
            # partial_fit over consecutive chunks of the memmap, interleaved chunk by chunk
            # with the bare NumPy step on the same rows (same starting point), so that the
            # load of a shared machine weighs on both alike
            sae_p = new()
            init = new()
            init.n_steps = 1
            init.fit(X[:batch])  # one step: initial parameters of the package's own shapes
            theta = float(np.exp(init._params["log_theta"][0])) if act == "jumprelu" else None
            ref = Reference(init._params, act, k, args.lam, theta)
            _, _, ref_mem = timed(memory, lambda: ref.step(np.asarray(X[:batch])))
            n_chunks = max(1, n_steps * batch // chunk)
            pf_s = ref_s = 0.0
            memory.start()
            for i in range(n_chunks):
                rows_i = X[i * chunk:(i + 1) * chunk]
                t0 = time.perf_counter()
                sae_p.partial_fit(rows_i)
                t1 = time.perf_counter()
                data = np.asarray(rows_i)
                for b in range(0, data.shape[0], batch):
                    ref.step(data[b:b + batch])
                pf_s += t1 - t0
                ref_s += time.perf_counter() - t1
            pf_mem = memory.stop()
            pf_tokens = ref_tokens = n_chunks * min(chunk, n)
            # encode: many rows, sparse; fewer rows, dense
            # relu and jumprelu codes of a few steps are far from sparse: fewer rows
            encode_rows = args.encode_rows if act in ("topk", "batchtopk") else args.dense_rows
            enc = X[:encode_rows]
            try:
                codes, enc_s, enc_mem = timed(memory, lambda: sae.encode(enc, sparse=True))
                nnz = codes.nnz
            except TypeError:  # a v1model without sparse=True
                codes, enc_s, enc_mem, nnz = None, float("nan"), {"RssAnon": float("nan")}, 0
            del codes
            dense_x = X[:args.dense_rows]
            codes, dense_s, dense_mem = timed(memory, lambda: sae.encode(dense_x))
            dense_out_mb = codes.nbytes / 2**20
            del codes
            # save / load with the training state
            target = work / "sae.nc"
            _, save_s, _ = timed(memory, lambda: sae.save(target))
            size_mb = target.stat().st_size / 2**20
            loaded, load_s, _ = timed(memory, lambda: SparseAutoencoder.load(target))
            same = bool(np.array_equal(loaded.encode(X[:64]), sae.encode(X[:64])))
            target.unlink()
            rows.append(dict(
                act=act, m=n_latents, load=load,
                check_s=fit_s - train_s,
                fit=n_steps * batch / train_s, fit_mem=fit_mem["RssAnon"],
                pf=pf_tokens / pf_s, pf_mem=pf_mem["RssAnon"],
                ref=ref_tokens / ref_s, ref_mem=ref_mem["RssAnon"],
                enc=encode_rows / enc_s, enc_rows=encode_rows, enc_mem=enc_mem["RssAnon"],
                nnz_mb=nnz * 8 / 2**20,
                dense=args.dense_rows / dense_s, dense_mem=dense_mem["RssAnon"],
                dense_out=dense_out_mb, save_s=save_s, load_s=load_s, size=size_mb,
                n_dead=int(sae_p.history_["n_dead"][-1]), same=same))
            r = rows[-1]
            print(f"  {act} m={n_latents}: fit {r['fit']:.0f} tok/s, partial_fit {r['pf']:.0f}, "
                  f"bare NumPy {r['ref']:.0f}; encode {r['enc']:.0f} tok/s", flush=True)
    print(f"\nd={d}, batch_size={batch}, k={k} (topk/batchtopk), lam={args.lam} (relu/jumprelu);"
          f" dead_after={args.dead_after}; partial_fit chunks of {chunk}; encode "
          f"{args.encode_rows} rows sparse, "
          f"{args.dense_rows} dense; memory: peak RssAnon above the phase's start, MB\n")
    head = ("| activation | latents | load | fit tok/s | partial_fit tok/s | bare NumPy tok/s | "
            "ratio bare/partial_fit | fit check pass s | mem fit / pf / bare MB | encode tok/s "
            "(sparse, rows) | mem MB (nnz MB) | dense encode tok/s | mem MB (result MB) | "
            "save s / load s / MB | reload same | n_dead |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        print(f"| {r['act']} | {r['m']} | {r['load']:.1f} | {r['fit']:.0f} | {r['pf']:.0f} | "
              f"{r['ref']:.0f} | {r['ref'] / r['pf']:.2f} | {r['check_s']:.1f} | "
              f"{r['fit_mem']:.0f} / {r['pf_mem']:.0f} / {r['ref_mem']:.0f} | {r['enc']:.0f} | "
              f"{r['enc_mem']:.0f} ({r['nnz_mb']:.0f}) | {r['dense']:.0f} | "
              f"{r['dense_mem']:.0f} ({r['dense_out']:.0f}) | {r['save_s']:.2f} / "
              f"{r['load_s']:.2f} / {r['size']:.0f} | {r['same']} | {r['n_dead']} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS (ru_maxrss, memmap pages included): {peak:.0f} MB; "
          f"load average at the end {os.getloadavg()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="d 256, 2,048 latents, 100k vectors, few steps (~1-2 min)")
    parser.add_argument("--workdir", default=None,
                        help="where the .npy goes (default: a temporary folder, deleted)")
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=768)
    parser.add_argument("--latents", type=int, nargs="+", default=[8192, 16384])
    parser.add_argument("--activations", nargs="+",
                        default=["topk", "batchtopk", "relu", "jumprelu"])
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--dead-after", type=int, default=2048,
                        help="samples; low, so that AuxK runs in the few steps timed")
    parser.add_argument("--lam", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--encode-rows", type=int, default=200_000)
    parser.add_argument("--dense-rows", type=int, default=20_000)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.d, args.latents = 100_000, 256, [2048]
        args.steps, args.encode_rows, args.dense_rows, args.chunk = 12, 50_000, 10_000, 1024
    temporary = args.workdir is None
    if temporary:
        args.workdir = tempfile.mkdtemp(prefix="bench_sae_scale_")
    try:
        with warnings.catch_warnings():
            if "jumprelu" in args.activations:
                # a few timed steps at lr 1e-4 from theta_init "auto" (0.001 times the
                # spread): the thresholds cannot reach the pre-activations (46,052 steps
                # away), so fit and partial_fit warn that lam had no effect (three times
                # a run, 2026-12-07); the timing does not depend on it: said once here
                print("jumprelu: timed over a few steps whose thresholds gate nothing yet "
                      "(lam has no effect so soon; the warning fit and partial_fit give of "
                      "it is silenced)")
                warnings.filterwarnings("ignore", message="activation='jumprelu': the median "
                                        "threshold", category=UserWarning)
            run(args)
    finally:
        if temporary:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
