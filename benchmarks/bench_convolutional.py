"""Convolutional sparse coding: our operator and solvers against FFTs, scikit-learn
and the dense FISTA, all in the same run.

Data: whitened natural-image crops (Olshausen's pre-whitened images from
../shared/data when present, else scikit-image's photographs whitened by
``stimuli.whiten``); kernels: random Gabor patches (``stimuli.gabor_patch``,
random orientation, frequency 0.1-0.3 cycles/pixel, phase and envelope), unit
norm; boundary "full".

(a) One analysis ``Φᵀx`` and one synthesis ``Φa`` of a batch of crops, our
    im2col / overlap-add maps against an FFT reference written here (batched
    ``scipy.fft.rfftn``, the sum over kernels taken in the frequency domain)
    and against ``scipy.signal.fftconvolve`` / ``oaconvolve`` broadcast over
    signals and kernels (their outputs strided by slicing); the largest
    relative difference of every output to ours is printed.
(b) ``encode(method="fista")`` at its default tolerance on small crops against
    scikit-learn's ``Lasso`` (alpha = lam / n_features) and v1model's dense
    ``inference.fista`` on the explicit ``as_matrix()``; gap = relative gap of
    the summed objective to the lowest one found.
(c) LCA against FISTA (both convolutional) to gaps 1e-3 and 1e-4 on 64x64
    crops: the step count each needs (from one recorded run against a tight
    float64 FISTA optimum), the time of exactly that many steps (``n_steps``),
    and the time and gap of a call at the default tolerance.

Times are the best of ``--repeats`` calls (in (a) after one untimed call of
each map). ``--quick`` runs the same three comparisons, each with its
references in the same run, at small sizes and best of 1: (a) on 4 crops,
(b) as by default, (c) on 2 crops of 32x32 (the LCA needs ~2,700 steps for
gap 1e-3 there).

    python benchmarks/bench_convolutional.py           # ~9 min on a loaded box (README)
    python benchmarks/bench_convolutional.py --quick   # small sizes, under 3 min
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import best_time, machine_line  # noqa: E402

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "olshausen" / "images"


def load_crops(n, size, seed):
    """``n`` whitened crops of ``size`` x ``size`` and the name of their source."""
    from stimuli.images import load_whitened

    if SHARED.exists():
        images, _ = load_whitened(str(SHARED))
        source = "Olshausen's 10 pre-whitened 512x512 images"
    else:
        images, _ = load_whitened("skimage")
        source = "scikit-image photographs, whitened"
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(images), n)
    r = rng.integers(0, images.shape[1] - size + 1, n)
    c = rng.integers(0, images.shape[2] - size + 1, n)
    crops = np.stack([images[a, y:y + size, x:x + size] for a, y, x in zip(i, r, c)])
    return crops / crops.std(), source


def gabor_kernels(n, size, seed):
    from stimuli import gabor_patch

    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.15, 0.3, n) * size
    k = gabor_patch(size, rng.uniform(0, np.pi, n), rng.uniform(0.1, 0.3, n),
                    rng.uniform(0, 2 * np.pi, n), sigma_x=sigma, sigma_y=sigma * 1.3)
    return k / np.linalg.norm(k.reshape(n, -1), axis=1)[:, None, None]


# -- (a) FFT references for boundary="full" --------------------------------------------

def fft_analyze(X, kernels, stride):
    """Φᵀx by rfftn: correlation = convolution with the flipped kernels, full length
    N + k - 1 (no wrap), then every ``stride``-th position."""
    from scipy import fft

    N, k = X.shape[1:], kernels.shape[1:]
    shape = tuple(n + kk - 1 for n, kk in zip(N, k))
    fast = tuple(fft.next_fast_len(s, real=True) for s in shape)
    Xf = fft.rfftn(X, fast, axes=(1, 2))
    Hf = fft.rfftn(kernels[:, ::-1, ::-1], fast, axes=(1, 2))
    out = fft.irfftn(Xf[:, None] * Hf[None], fast, axes=(2, 3))
    return out[:, :, :shape[0]:stride, :shape[1]:stride]


def fft_synthesize(A, kernels, signal_shape, stride):
    """Φa by rfftn: codes upsampled by the stride, products summed over kernels in
    the frequency domain, one inverse transform per signal, cropped."""
    from scipy import fft

    n, K = A.shape[:2]
    k = kernels.shape[1:]
    up_shape = tuple((m - 1) * stride + 1 for m in A.shape[2:])
    shape = tuple(u + kk - 1 for u, kk in zip(up_shape, k))
    fast = tuple(fft.next_fast_len(s, real=True) for s in shape)
    if stride == 1:
        U = A
    else:
        U = np.zeros((n, K) + up_shape, A.dtype)
        U[:, :, ::stride, ::stride] = A
    Uf = fft.rfftn(U, fast, axes=(2, 3))
    Hf = fft.rfftn(kernels, fast, axes=(1, 2))
    out = fft.irfftn(np.einsum("nkij,kij->nij", Uf, Hf), fast, axes=(1, 2))
    return out[:, k[0] - 1:k[0] - 1 + signal_shape[0], k[1] - 1:k[1] - 1 + signal_shape[1]]


def scipy_analyze(conv, X, kernels, stride):
    out = conv(X[:, None], kernels[None, :, ::-1, ::-1], mode="full", axes=(2, 3))
    return out[:, :, ::stride, ::stride]


def scipy_synthesize(conv, A, kernels, signal_shape, stride):
    n, K = A.shape[:2]
    k = kernels.shape[1:]
    U = np.zeros((n, K) + tuple((m - 1) * stride + 1 for m in A.shape[2:]), A.dtype)
    U[:, :, ::stride, ::stride] = A
    out = conv(U, kernels[None], mode="full", axes=(2, 3)).sum(axis=1)
    return out[:, k[0] - 1:k[0] - 1 + signal_shape[0], k[1] - 1:k[1] - 1 + signal_shape[1]]


def warm_best_time(fn, repeats):
    """``best_time`` after one untimed call: first-call costs (imports, FFT plans) left
    out, which a best of 1 (``--quick``) would time."""
    fn()
    return best_time(fn, repeats)


def rel_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def part_a(args, X, kernels):
    from scipy.signal import fftconvolve, oaconvolve

    from v1model.convolutional import ConvolutionalDictionary

    print(f"\n### (a) one analysis and one synthesis: {len(X)} crops of {X.shape[1]}x"
          f"{X.shape[2]}, {len(kernels)} kernels of {kernels.shape[1]}x{kernels.shape[2]},"
          " float32, full\n")
    print("| stride | map | ours (ms) | rfftn, sum in frequency (ms) | fftconvolve (ms) | "
          "oaconvolve (ms) | rfftn / ours | fftconvolve / ours | oaconvolve / ours | "
          "max rel. diff to ours |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    X32, k32 = X.astype(np.float32), kernels.astype(np.float32)
    for s in args.strides:
        phi = ConvolutionalDictionary(k32, X.shape[1:], stride=s)
        t_ours, drive = warm_best_time(lambda: phi.analyze(X32), args.repeats)
        t_fft, d_fft = warm_best_time(lambda: fft_analyze(X32, k32, s), args.repeats)
        t_fc, d_fc = warm_best_time(lambda: scipy_analyze(fftconvolve, X32, k32, s),
                                    args.repeats)
        t_oa, d_oa = warm_best_time(lambda: scipy_analyze(oaconvolve, X32, k32, s),
                                    args.repeats)
        diff = max(rel_diff(d, drive) for d in (d_fft, d_fc, d_oa))
        print(f"| {s} | analyze | {1e3 * t_ours:.1f} | {1e3 * t_fft:.1f} | {1e3 * t_fc:.1f} | "
              f"{1e3 * t_oa:.1f} | {t_fft / t_ours:.2f} | {t_fc / t_ours:.2f} | "
              f"{t_oa / t_ours:.2f} | {diff:.1e} |")
        A = drive
        t_ours, sig = warm_best_time(lambda: phi.synthesize(A), args.repeats)
        t_fft, s_fft = warm_best_time(lambda: fft_synthesize(A, k32, X.shape[1:], s),
                                      args.repeats)
        t_fc, s_fc = warm_best_time(
            lambda: scipy_synthesize(fftconvolve, A, k32, X.shape[1:], s), args.repeats)
        t_oa, s_oa = warm_best_time(
            lambda: scipy_synthesize(oaconvolve, A, k32, X.shape[1:], s), args.repeats)
        diff = max(rel_diff(d, sig) for d in (s_fft, s_fc, s_oa))
        print(f"| {s} | synthesize | {1e3 * t_ours:.1f} | {1e3 * t_fft:.1f} | "
              f"{1e3 * t_fc:.1f} | {1e3 * t_oa:.1f} | {t_fft / t_ours:.2f} | "
              f"{t_fc / t_ours:.2f} | {t_oa / t_ours:.2f} | {diff:.1e} |")


# -- (b) against scikit-learn and the dense FISTA on the explicit matrix ----------------

def summed_objective(M, X, A, lam):
    X = X.reshape(len(X), -1)
    A = np.asarray(A, dtype=np.float64).reshape(len(A), -1)
    R = X - A @ M
    return 0.5 * float((R * R).sum()) + lam * float(np.abs(A).sum())


def part_b(args, X, kernels):
    from sklearn.linear_model import Lasso

    from v1model.convolutional import ConvolutionalDictionary, encode
    from v1model.inference import fista

    n, size = len(X), X.shape[1]
    print(f"\n### (b) FISTA on {n} crops of {size}x{size}, {len(kernels)} kernels of "
          f"{kernels.shape[1]}x{kernels.shape[2]}, full: convolutional vs the explicit "
          "matrix\n")
    print("| stride | matrix | lam | solver | time (s) | gap | time / conv. FISTA |")
    print("|---|---|---|---|---|---|---|")
    for s in args.strides_b:
        phi = ConvolutionalDictionary(kernels, (size, size), stride=s, dtype=np.float64)
        lam = args.lam_frac * float(np.abs(phi.analyze(X)).max())
        t_conv, A_conv = best_time(lambda: encode(X, kernels, lam, method="fista", stride=s),
                                   args.repeats)
        t_mat, M = best_time(phi.as_matrix, 1)
        X2 = X.reshape(n, -1)
        t_dense, A_dense = best_time(lambda: fista(X2, M, lam), args.repeats)
        lasso = Lasso(alpha=lam / X2.shape[1], fit_intercept=False, tol=args.sk_tol,
                      max_iter=100000)
        t_sk, A_sk = best_time(lambda: lasso.fit(M.T, X2.T).coef_.reshape(n, -1), 1)
        rows = [("`encode(method='fista')` (float32, default tol)", t_conv, A_conv),
                ("`inference.fista` on `as_matrix()` (float32, default tol)", t_dense, A_dense),
                (f"scikit-learn `Lasso` on `as_matrix()` (tol={args.sk_tol:g})", t_sk, A_sk)]
        f = [summed_objective(M, X, A, lam) for _, _, A in rows]
        f_star = min(f)
        for (name, t, _), fi in zip(rows, f):
            print(f"| {s} | {M.shape[0]}x{M.shape[1]} | {lam:.3g} | {name} | {t:.3f} | "
                  f"{(fi - f_star) / f_star:.1e} | {t / t_conv:.1f} |")
        print(f"| {s} | | | (`as_matrix()` itself) | {t_mat:.3f} | | |")


# -- (c) LCA against FISTA to a given gap ------------------------------------------------

def part_c(args, X, kernels):
    from v1model.convolutional import ConvolutionalDictionary, encode
    from v1model.inference import ConvergenceWarning

    s = args.stride_c
    phi = ConvolutionalDictionary(kernels, X.shape[1:], stride=s, dtype=np.float64)
    lam = args.lam_frac * float(np.abs(phi.analyze(X)).max())
    print(f"\n### (c) LCA vs FISTA: {len(X)} crops of {X.shape[1]}x{X.shape[2]}, "
          f"{len(kernels)} kernels of {kernels.shape[1]}x{kernels.shape[2]}, stride {s}, full, "
          f"lam = {lam:.3g}, float32\n")
    t0 = time.perf_counter()
    A_star = encode(X, kernels, lam, method="fista", stride=s, tol=1e-7, max_iter=20000,
                    dtype=np.float64)
    f_star = float(objective_sum(X, A_star, kernels, lam, s))
    print(f"optimum: FISTA float64, tol 1e-7, {time.perf_counter() - t0:.1f} s; "
          f"{np.count_nonzero(A_star) / len(X):.0f} active coefficients per crop of "
          f"{phi.n_coefficients}\n")
    print("| method | steps to gap 1e-3 | time (s) | steps to gap 1e-4 | time (s) | "
          "default tol: time (s) | default tol: gap | time / FISTA's (1e-3, 1e-4) |")
    print("|---|---|---|---|---|---|---|---|")
    times = {}
    for method in ("fista", "lca"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, hist = encode(X, kernels, lam, method=method, stride=s, tol=1e-6,
                             max_iter=args.max_steps, return_history=True)
        gaps = (hist.objective.values - f_star) / f_star
        cells = []
        for target in (1e-3, 1e-4):
            hit = np.flatnonzero(gaps <= target)
            if not len(hit):
                cells += [f"> {len(gaps)}", "–"]
                times[method, target] = np.nan
                continue
            steps = int(hit[0]) + 1
            t, _ = best_time(lambda: encode(X, kernels, lam, method=method, stride=s,
                                            n_steps=steps), args.repeats)
            times[method, target] = t
            cells += [str(steps), f"{t:.2f}"]
        # the LCA's ConvergenceWarning (crops short of the default tol at max_iter) went
        # between the table's rows: its message goes into the row instead
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t_def, A_def = best_time(lambda: encode(X, kernels, lam, method=method, stride=s),
                                     args.repeats)
        short = "".join(f" ({w.message})" for w in caught[-1:])
        gap_def = (objective_sum(X, A_def, kernels, lam, s) - f_star) / f_star
        ratio = " / ".join("–" if np.isnan(times[method, g]) else
                           f"{times[method, g] / times['fista', g]:.2f}" for g in (1e-3, 1e-4))
        print(f"| {method} | {' | '.join(cells)} | {t_def:.2f}{short} | {gap_def:.1e} | "
              f"{ratio} |")


def objective_sum(X, A, kernels, lam, stride):
    from v1model.convolutional import objective

    return float(objective(X, A, kernels, lam, stride=stride).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, every part, best of 1: (a) 4 crops, (b) 2 crops, "
                             "(c) 2 crops of 32x32")
    parser.add_argument("--kernels", type=int, default=48, help="kernels in (a) and (c)")
    parser.add_argument("--kernel-size", type=int, default=10)
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--strides-b", type=int, nargs="+", default=[4],
                        help="strides of (b); 2 builds a 12800-atom matrix (dense FISTA ~35 s)")
    parser.add_argument("--stride-c", type=int, default=2)
    parser.add_argument("--lam-frac", type=float, default=0.1,
                        help="lam as a fraction of the largest drive max|Φᵀx|")
    parser.add_argument("--sk-tol", type=float, default=1e-6)
    parser.add_argument("--max-steps", type=int, default=3000,
                        help="steps of the recorded runs in (c)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="best of N calls (default 3; --quick: 1)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c"])
    args = parser.parse_args(argv)
    from v1model.progress import quiet_auto_bars

    # the solvers' bars (progress=None: drawn once a call ran 2 s) came between the rows
    # of (b) and (c), and stayed in a log
    with quiet_auto_bars():
        _run(args)


def _run(args):
    import scipy
    import sklearn

    print(machine_line())
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
          f"{sklearn.__version__}")
    args.repeats = args.repeats or (1 if args.quick else 3)
    n_a = 4 if args.quick else 16
    X64, source = load_crops(n_a, 64, seed=0)
    print(f"data: {source}; crops scaled to unit variance")
    kernels = gabor_kernels(args.kernels, args.kernel_size, seed=1)
    if "a" not in args.skip:
        part_a(args, X64, kernels)
    if "b" not in args.skip:
        Xb, _ = load_crops(2 if args.quick else 4, 32, seed=2)
        part_b(args, Xb, gabor_kernels(32, 8, seed=3))
    if "c" not in args.skip:
        # --quick: the float64 optimum and the LCA's default-tol run of 4 crops of 64x64
        # took minutes (42 s and 144 s on a loaded box)
        Xc = load_crops(2, 32, seed=4)[0] if args.quick else X64[:8]
        part_c(args, Xc, kernels)
    print("\n" + machine_line())


if __name__ == "__main__":
    main()
