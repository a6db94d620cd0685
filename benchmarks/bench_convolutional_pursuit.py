"""Convolutional matching pursuit: our local-update MP against the two ways a user
would write it otherwise, in the same run.

- **naive**: MP that recomputes every correlation after each spike with one
  analysis ``Φᵀr`` of the residual (the operator's own im2col / FFT maps, so
  the comparison isolates the algorithm, not the convolution code);
- **dense**: v1model's batched dense ``inference.matching_pursuit`` on the
  explicit matrix ``as_matrix()`` (MP over a dictionary of every kernel copy),
  where that matrix fits (small signals only).

Every run checks that the three give the same residual (relative difference of
the reconstructions printed). All three use every kernel copy
(``min_coverage=0``: the dictionary of ``as_matrix``).

(a) Sounds: spoken digits (FSDD from ../shared/data when present, else
    ``stimuli.audio.harmonic_ensemble``), unit RMS, coded to 10 dB SNR with 32
    gammatone kernels of 64 taps (8 ms at 8 kHz), stride 1, boundary "full".
(b) Images: whitened crops of 64x64 (24x24 for the dense reference), 32 Gabor
    kernels of 10x10, strides 1 and 2, 100 spikes per crop.
(c) Long sounds, one at a time (2 s to 2 min at 8 kHz: pieces of spoken digits
    end to end), the kernels of (a) to 10 dB: ours against the same MP with one
    segment, i.e. an argmax over every position at each step (the code before
    the running maximum was kept in segments). Same picks: the codes must be
    identical.

Times are the best of ``--repeats`` calls. ``--quick`` runs the same three
parts with the same references on fewer sizes: (a) 8 sounds of 256 and 1,024
samples, (b) as by default, (c) sounds of 16,000 and 64,000 samples.

    python benchmarks/bench_convolutional_pursuit.py            # ~2 min idle
    python benchmarks/bench_convolutional_pursuit.py --quick    # 63 s at load 12
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import best_time, machine_line  # noqa: E402
from bench_convolutional import gabor_kernels, load_crops  # noqa: E402

FSDD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fsdd"


def load_sounds(n, length, seed):
    """``n`` unit-RMS pieces of ``length`` samples at 8 kHz and their source."""
    from stimuli.audio import harmonic_ensemble, load_wav_folder, sample_segments

    if FSDD.exists():
        waves, _rate = load_wav_folder(str(FSDD))[:2]
        X = sample_segments(waves, length, n, seed=seed, min_rms=0.05)
        source = f"FSDD spoken digits ({len(waves)} files)"
    else:
        X = harmonic_ensemble(n, length, seed=seed)
        source = "stimuli.audio.harmonic_ensemble (no FSDD in ../shared/data)"
    X = X / np.sqrt((X**2).mean(axis=1, keepdims=True))
    return X, source


def gammatone_kernels(n, taps, rate=8000.0):
    """Unit-norm gammatone impulse responses (order 4, ERB bandwidths)."""
    t = np.arange(taps) / rate
    f = np.geomspace(100, 3500, n)
    k = (t**3 * np.exp(-2 * np.pi * 1.019 * (24.7 + 0.108 * f[:, None]) * t)
         * np.cos(2 * np.pi * f[:, None] * t))
    return k / np.linalg.norm(k, axis=1, keepdims=True)


def naive_mp(X, phi, n_nonzero=None, snr_db=None, max_iter=100000):
    """MP recomputing ``Φᵀr`` over the whole signal after every spike."""
    X = phi.check_signals(X)
    A = np.zeros((len(X),) + phi.code_shape + (phi.n_kernels,), phi.dtype)
    # squared norm of every (truncated) copy: direct sums of squares (the FFT path could
    # round a one-sample copy's to zero or below)
    from scipy.signal import correlate

    ones = np.ones(phi.signal_shape)
    step = tuple(slice(None, None, s) for s in phi.stride)
    norm2 = np.stack([correlate(ones, k.astype(np.float64) ** 2, mode="full",
                                method="direct")[step] for k in phi.kernels], axis=-1)
    inv_norm = np.where(norm2 > 0, 1 / np.sqrt(np.maximum(norm2, 1e-300)), 0)
    energy = (X.reshape(len(X), -1).astype(np.float64) ** 2).sum(axis=1)
    target = energy * 10 ** (-snr_db / 10) if snr_db is not None else np.zeros(len(X))
    for i in range(len(X)):
        res2, count = energy[i], 0
        for _ in range(max_iter):
            if res2 <= target[i] or (n_nonzero is not None and count >= n_nonzero):
                break
            R = X[i:i + 1] - phi.synthesize_last(A[i:i + 1])
            C = phi.analyze_last(R)[0]
            j = np.unravel_index(np.argmax(np.abs(C) * inv_norm), C.shape)
            z = C[j] / norm2[j]
            count += A[(i,) + j] == 0
            A[(i,) + j] += z
            res2 -= float(z) ** 2 * float(norm2[j])
    return np.moveaxis(A, -1, 1)


def rel_diff(phi, a, b):
    ra, rb = phi.synthesize(a).astype(np.float64), phi.synthesize(b).astype(np.float64)
    return float(np.abs(ra - rb).max() / np.abs(rb).max())


def report(label, t_ours, t_ref, diff, extra=""):
    print(f"| {label} | {t_ours * 1e3:.1f} | {t_ref * 1e3:.1f} | {t_ref / t_ours:.1f}x | "
          f"{diff:.1e} |{extra}")


def part_a(args):
    from v1model.convolutional import ConvolutionalDictionary, matching_pursuit
    from v1model.inference import matching_pursuit as dense_mp

    K = gammatone_kernels(32, 64)
    print("\n(a) sounds to 10 dB SNR, 32 gammatone kernels of 64 taps, stride 1, full")
    print("| signals x samples | ours (ms) | reference (ms) | speed-up | residual diff | spikes "
          "per signal |")
    print("|---|---|---|---|---|---|")
    for n, length in args.sounds:
        X, source = load_sounds(n, length, seed=0)
        phi = ConvolutionalDictionary(K, (length,), dtype=np.float32)
        t_ours, ours = best_time(
            lambda: matching_pursuit(X, phi, snr_db=10.0, min_coverage=0.0), args.repeats)
        spikes = np.count_nonzero(ours) / n
        t_naive, naive = best_time(lambda: naive_mp(X, phi, snr_db=10.0), 1)
        report(f"{n} x {length}, naive", t_ours, t_naive, rel_diff(phi, ours, naive),
               f" {spikes:.0f} |")
        if phi.n_coefficients <= 12_000:  # the dense MP holds the n_coef² Gram matrix
            # the dense solver takes one absolute tol for all signals: both get the
            # quietest signal's 10 dB residual. The explicit matrix is exact (float64
            # window products, then float32); copies with no energy inside the signal
            # (a gammatone's first tap is 0) are zero rows, which the dense MP refuses:
            # they are left out, and never picked by ours either
            M64 = phi.as_matrix()
            keep = (M64**2).sum(axis=1) > 0
            M = M64[keep].astype(np.float32)
            tol = 0.1 * float((X.astype(np.float64) ** 2).sum(axis=1).min())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_tol, ours_tol = best_time(
                    lambda: matching_pursuit(X, phi, tol=tol, min_coverage=0.0), args.repeats)
                t_dense, dense = best_time(lambda: dense_mp(X, M, tol=tol), args.repeats)
            full = np.zeros((n, phi.n_coefficients), np.float32)
            full[:, keep] = dense
            report(f"{n} x {length}, dense (same tol)", t_tol, t_dense,
                   rel_diff(phi, ours_tol, full.reshape(ours_tol.shape)),
                   f" {np.count_nonzero(ours_tol) / n:.0f} |")
    print(f"data: {source}")


def part_b(args):
    from v1model.convolutional import ConvolutionalDictionary, matching_pursuit
    from v1model.inference import matching_pursuit as dense_mp

    K = gabor_kernels(32, 10, seed=1)
    print("\n(b) whitened crops, 100 spikes each, 32 Gabor kernels of 10x10, full")
    print("| crops, stride | ours (ms) | reference (ms) | speed-up | residual diff |")
    print("|---|---|---|---|---|")
    for size, n, stride in ((64, 8, 1), (64, 8, 2), (24, 8, 2)):
        X, source = load_crops(n, size, seed=0)
        phi = ConvolutionalDictionary(K, (size, size), stride=stride, dtype=np.float32)
        t_ours, ours = best_time(
            lambda: matching_pursuit(X, phi, n_nonzero=100, min_coverage=0.0), args.repeats)
        if phi.n_coefficients > 12_000:
            t_naive, naive = best_time(lambda: naive_mp(X, phi, n_nonzero=100), 1)
            report(f"{n} of {size}x{size}, s{stride}, naive", t_ours, t_naive,
                   rel_diff(phi, ours, naive))
        else:  # the dense MP holds the n_coef² Gram matrix
            M = phi.as_matrix().astype(np.float32)
            t_dense, dense = best_time(lambda: dense_mp(X.reshape(n, -1), M, n_nonzero=100),
                                       args.repeats)
            report(f"{n} of {size}x{size}, s{stride}, dense", t_ours, t_dense,
                   rel_diff(phi, ours, dense.reshape(ours.shape)))
    print(f"data: {source}")


def part_c(args):
    import v1model.convolutional.pursuit as pursuit
    from v1model.convolutional import ConvolutionalDictionary, matching_pursuit

    K = gammatone_kernels(32, 64)
    print("\n(c) one long sound to 10 dB SNR, kernels of (a): segments vs one segment")
    print("| samples | ours (s) | one segment (s) | speed-up | codes identical | spikes | "
          "us per spike (ours / one segment) |")
    print("|---|---|---|---|---|---|---|")
    segment_length = pursuit._segment_length
    try:
        for length in args.long:
            pieces, source = load_sounds(max(1, length // 4000), 4000, seed=0)
            X = pieces.reshape(1, -1)[:, :length]
            phi = ConvolutionalDictionary(K, X.shape[1:], dtype=np.float32)
            repeats = args.repeats if length <= 64_000 else 1
            pursuit._segment_length = segment_length
            t_ours, ours = best_time(lambda: matching_pursuit(X, phi, snr_db=10.0), repeats)
            pursuit._segment_length = lambda shape: shape[-1]
            t_ref, ref = best_time(lambda: matching_pursuit(X, phi, snr_db=10.0), repeats)
            spikes = np.count_nonzero(ours)
            print(f"| {X.shape[1]:,} | {t_ours:.2f} | {t_ref:.2f} | {t_ref / t_ours:.1f}x | "
                  f"{np.array_equal(ours, ref)} | {spikes:,} | {1e6 * t_ours / spikes:.0f} / "
                  f"{1e6 * t_ref / spikes:.0f} |", flush=True)
    finally:
        pursuit._segment_length = segment_length
    print(f"data: {source}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes: sounds 8x256 8x1024 in (a), 16000 64000 in (c)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sounds", type=lambda s: tuple(map(int, s.split("x"))), nargs="+",
                        default=None, help="signals x samples, e.g. 8x1024 (default 8x256 "
                        "8x1024 8x4000 32x4000)")
    parser.add_argument("--long", type=int, nargs="+", default=None,
                        help="samples of the long sounds of (c) (default 16000 64000 256000 "
                        "1024000)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c"])
    args = parser.parse_args(argv)
    if args.sounds is None:
        args.sounds = [(8, 256), (8, 1024)] + ([] if args.quick else [(8, 4000), (32, 4000)])
    if args.long is None:
        args.long = [16_000, 64_000] + ([] if args.quick else [256_000, 1_024_000])
    import scipy

    print(machine_line())
    print(f"numpy {np.__version__}, scipy {scipy.__version__}")
    # warm-up: first-call costs (scipy.signal's import, 2-5 s) stay out of the tables;
    # with --repeats 1 they made the first row of (a) a 0.1x "speed-up"
    from v1model.convolutional import matching_pursuit

    matching_pursuit(np.ones((1, 256)), gammatone_kernels(32, 64), n_nonzero=1,
                     min_coverage=0.0)
    if "a" not in args.skip:
        part_a(args)
    if "b" not in args.skip:
        part_b(args)
    if "c" not in args.skip:
        part_c(args)
    print("\n" + machine_line())


if __name__ == "__main__":
    main()
