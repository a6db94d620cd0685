"""Co-active Babel of sparse codes against the plain computation, in the same run.

``v1model.analysis.coactive_babel(codes, D)`` measures, per code, how much the
atoms of its support overlap with the best atom outside it (the sum of the
support's ``|<d_i, d_j>|``) and with each other. The reference is the plain
array program (what the package did before 2026-12-06): the 0/1 support mask
multiplied densely with the Gram matrix (``n k^2`` flops for ``n`` codes of
``k`` atoms) and each code's own submatrix gathered in a Python loop. Both
run in the same process on the same codes and must agree to rounding
(rtol 1e-12); the Gram matrix alone is timed beside them for scale.

Codes: a TopK-like code, ``active`` atoms of ``n_atoms`` per code at random,
positive values, as a TopK or matching-pursuit autoencoder gives.

    python benchmarks/bench_coactive_babel.py           # 4,096 atoms, 32 active, 5,000 codes
    python benchmarks/bench_coactive_babel.py --quick   # 512 atoms, 16 active, 2,000 codes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import best_time, machine_line  # noqa: E402


def plain_coactive_babel(codes, D):
    """The reference: per code, the largest summed ``|G_ij|`` from the support to an
    atom outside it (dense mask product) and the largest ``|G_ij|`` inside it (a loop
    over the codes), with the package's own Gram matrix (zero diagonal)."""
    from v1model.analysis.coherence import gram_abs

    G = gram_abs(D)
    M = (np.abs(codes) > 0).astype(np.float64)
    sums = M @ G
    sums[M > 0] = -np.inf
    outside = sums.max(axis=1)
    inside = np.zeros(len(M))
    for n, row in enumerate(M):
        idx = np.flatnonzero(row)
        if idx.size > 1:
            inside[n] = G[np.ix_(idx, idx)].max()
    return outside, inside


def table(n_atoms, n_features, active, n_codes, repeats, rng):
    from v1model.analysis import coactive_babel
    from v1model.analysis.coherence import gram_abs

    D = rng.standard_normal((n_atoms, n_features))
    codes = np.zeros((n_codes, n_atoms))
    support = np.argsort(rng.random((n_codes, n_atoms)), axis=1)[:, :active]
    np.put_along_axis(codes, support, rng.uniform(0.5, 2.0, (n_codes, active)), axis=1)
    # warm-up: imports (scipy.sparse) and first-call costs out of the timed calls
    coactive_babel(codes[:10], D, progress=False), plain_coactive_babel(codes[:10], D)
    t_gram, _ = best_time(lambda: gram_abs(D), repeats)
    t_ours, ds = best_time(lambda: coactive_babel(codes, D, progress=False), repeats)
    t_plain, (outside, inside) = best_time(lambda: plain_coactive_babel(codes, D), repeats)
    np.testing.assert_allclose(ds["coactive_babel"].values, outside, rtol=1e-12)
    np.testing.assert_allclose(ds["coactive_coherence"].values, inside, rtol=1e-12)
    print(f"\n{n_codes:,} codes of {active} active among {n_atoms:,} atoms "
          f"({n_features} features), best of {repeats}; values equal to rtol 1e-12\n")
    print("| computation | time (s) | ms per code | vs plain |")
    print("|---|---|---|---|")
    for name, t in (("plain: dense mask product + loop per code (reference)", t_plain),
                    ("`coactive_babel` (sparse product, batched gathers)", t_ours),
                    ("the Gram matrix alone, for scale", t_gram)):
        print(f"| {name} | {t:.3f} | {1e3 * t / n_codes:.3f} | {t_plain / t:.1f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="512 atoms, 16 active, 2,000 codes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine_line())
    rng = np.random.default_rng(0)
    if args.quick:
        table(512, 64, 16, 2000, args.repeats, rng)
    else:
        table(4096, 512, 32, 5000, args.repeats, rng)
        table(512, 64, 16, 5000, args.repeats, rng)


if __name__ == "__main__":
    main()
