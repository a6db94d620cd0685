"""The step-size bound of convolutional coding, ``ConvolutionalDictionary.lipschitz()``,
on long signals: the grid of ``64 (b - 1)`` frequencies per long axis (with its
Bernstein factor) against the signal's own grid (the method before, the reference),
in the same run.

``encode`` and ``learn_kernels`` compute the bound on every call: its cost on the
signal's own grid grew with the signal (a million samples: seconds and a GB).
For each case: the time of both, the speed-up, and the ratio of the bounds (the
coarse grid's is never below; a larger bound only shortens the solvers' steps).
Then one FISTA ``encode`` of the longest sound (5 iterations), with each bound.

    python benchmarks/bench_convolutional_lipschitz.py [--repeats 3]
    python benchmarks/bench_convolutional_lipschitz.py --quick    # best of 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from v1model.convolutional import ConvolutionalDictionary, encode
from v1model.convolutional import operator as operator_module

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _inference_setup import best_time, machine_line  # noqa: E402

CASES = [  # (label, kernels shape, signal shape, stride, boundary)
    ("sound 0.5 s at 8 kHz, 32 x 64 taps", (32, 64), (4000,), 1, "full"),
    ("sound 2 min at 8 kHz, 32 x 64 taps", (32, 64), (1_000_000,), 1, "full"),
    ("sound 2 min, stride 4, valid", (32, 64), (1_000_000,), 4, "valid"),
    ("image 64 x 64, 32 x 8 x 8", (32, 8, 8), (64, 64), 1, "full"),
    ("image 1024 x 1024, 32 x 12 x 12", (32, 12, 12), (1024, 1024), 1, "full"),
]


def own_grid(phi):
    """lipschitz() on the signal's own grid along every axis (the reference)."""
    saved = operator_module._LIPSCHITZ_GRID
    operator_module._LIPSCHITZ_GRID = 10**12
    try:
        return phi.lipschitz()
    finally:
        operator_module._LIPSCHITZ_GRID = saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="best of 1 call (same cases)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="best of N calls (default 3; --quick: 1)")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    print(machine_line() + "\n")
    rng = np.random.default_rng(0)
    print("| case | boundary, stride | own grid (s, reference) | coarse grid (s) | speed-up "
          "| bound coarse / own |")
    print("|---|---|---|---|---|---|")
    for label, kshape, sshape, stride, boundary in CASES:
        phi = ConvolutionalDictionary(rng.standard_normal(kshape), sshape, stride=stride,
                                      boundary=boundary)
        t_own, L_own = best_time(lambda: own_grid(phi), args.repeats)
        t_new, L_new = best_time(phi.lipschitz, args.repeats)
        print(f"| {label} | {boundary}, {stride} | {t_own:.4f} | {t_new:.4f} | "
              f"{t_own / t_new:.0f}x | {L_new / L_own:.5f} |")
    kernels = rng.standard_normal((32, 64)).astype(np.float32)
    kernels /= np.linalg.norm(kernels, axis=1, keepdims=True)
    x = rng.standard_normal((1, 1_000_000)).astype(np.float32)
    phi = ConvolutionalDictionary(kernels, (1_000_000,))

    def run():
        return encode(x, phi, 0.5, method="fista", max_iter=5, progress=False)

    saved = operator_module._LIPSCHITZ_GRID
    operator_module._LIPSCHITZ_GRID = 10**12
    try:
        t_own, _ = best_time(run, 1)
    finally:
        operator_module._LIPSCHITZ_GRID = saved
    t_new, _ = best_time(run, 1)
    print(f"\nencode(FISTA, 5 iterations) of one 1,000,000-sample sound, 32 x 64 taps, "
          f"float32: {t_own:.2f} s with the own-grid bound, {t_new:.2f} s now "
          f"({t_own / t_new:.1f}x)")


if __name__ == "__main__":
    import warnings

    from v1model.inference import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # 5 iterations stop short on purpose
    main()
