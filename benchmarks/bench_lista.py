"""Learned ISTA against the iterative solvers it approximates: wall time to code
held-out patches to the same error to the optimal LASSO code.

LISTA (``v1model.amortized.LISTA``, Gregor & LeCun 2010) with T layers is
trained once on other patches (of the columns the dictionary was learned on,
``_inference_setup.training_patches``); on the held-out patches (the right 20% of
the columns of every image, ``_inference_setup.load_problem``) its error
``0.5 mean ||z - z*||^2`` is set against ISTA and FISTA (constant step, from
zero codes, the same float32) run for the fewest iterations that reach it,
and against FISTA run with the package's default stopping rule. The
references run in the same process on the same data; the float32 matmul
``X W_e^T`` (LISTA's first layer alone) is timed as the floor.

A second table compares the LASSO objective ``0.5 ||x - z D||^2 + lam ||z||_1``
(mean per held-out patch, minus that of z*) at equal depth T: ISTA, FISTA,
LISTA trained on z* (Gregor & LeCun), LISTA trained on the objective itself
(``objective="lasso"``, no z* needed; Sprechmann et al. 2015) and Step-LISTA
(``parametrization="step"``, one learned ISTA step per layer; Ablin et al.
2019), with the iterations ISTA and FISTA need to match Step-LISTA and its
learned steps in units of 1/L.

    python benchmarks/bench_lista.py             # 10,000 8x8 patches, 128 atoms
    python benchmarks/bench_lista.py --quick     # 2,000 patches, fewer training steps
    python benchmarks/bench_lista.py --patch 16 --atoms 512 --lam 0.25   # bench_lasso's problem

The progress bars of the solvers and of LISTA's training are switched off
(``v1model.progress.quiet_auto_bars``): they came between the rows of the
tables and stayed in logs.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import (best_time, load_problem, machine_line,  # noqa: E402
                              training_patches)


def main(argv=None):
    from v1model.progress import quiet_auto_bars

    # every call here has progress=None: its bar, drawn once the call ran 2 s (training,
    # z*, the default FISTA), came between the rows of the tables, and stayed in a log
    with quiet_auto_bars():
        return _run(argv)


def _run(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 patches, 500 steps")
    parser.add_argument("--n-samples", type=int, default=None, help="held-out patches")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--patch", type=int, default=8)
    parser.add_argument("--atoms", type=int, default=128)
    parser.add_argument("--lam", type=float, default=0.3)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--objective-depths", type=int, nargs="+", default=[1, 2, 3, 5, 10],
                        help="depths of the LASSO-objective table")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps per network")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    # fixed iteration counts on purpose: the solvers' "not converged" warnings are expected
    warnings.filterwarnings("ignore", message=".* not converged")
    from v1model.amortized import LISTA, optimal_codes, solver_error_by_iteration
    from v1model.inference import fista

    n = args.n_samples or (2000 if args.quick else 10000)
    steps = args.steps or (500 if args.quick else 2000)
    lam = args.lam
    print(machine_line())
    X, D, info = load_problem(n, n_atoms=args.atoms, patch=args.patch)
    print(info)
    X = X.astype(np.float32)
    # LISTA learns on the dictionary's training columns, not on the held-out ones that
    # its test patches come from (it drew both from load_problem's patches until
    # 2026-12-07)
    X_train = training_patches(args.n_train, patch=args.patch).astype(np.float32)

    t0 = time.perf_counter()
    z_train = optimal_codes(X_train, D, lam, dtype=np.float32)
    z_star = optimal_codes(X, D, lam, dtype=np.float32)
    t_targets = time.perf_counter() - t0
    max_iter = 200
    curve = solver_error_by_iteration(X, D, lam, max_iter, target=z_star)
    err = curve["prediction_error"]
    zero = float(curve["zero_code_error"])
    print(f"{n} held-out patches of {X.shape[1]} pixels, {D.shape[0]} atoms, lam={lam}; "
          f"targets z* by FISTA to tol 1e-8 (float64) for {args.n_train} + {n} patches: "
          f"{t_targets:.1f} s; all-zero codes' error {zero:.4f}")

    W = np.ascontiguousarray(D / np.linalg.eigvalsh(D @ D.T)[-1], dtype=np.float32)
    t_mm, _ = best_time(lambda: X @ W.T, args.repeats)
    t_def, A_def = best_time(lambda: fista(X, D, lam), 1)
    e_def = 0.5 * float(np.mean(np.sum((A_def - z_star) ** 2, axis=1)))
    print()
    print("| coder | error to z* | time (s) | LISTA's speed-up | ")
    print("|---|---|---|---|")
    print(f"| matmul X W_e^T (float32, the floor) | - | {t_mm:.4f} | - |")
    print(f"| FISTA, default stopping rule (tol 1e-4) | {e_def:.4f} | {t_def:.3f} | - |")
    supervised = {}
    for T in args.depths:
        t0 = time.perf_counter()
        net = LISTA(T, lam, n_steps=steps).fit(X_train, D, seed=0, target=z_train)
        t_fit = time.perf_counter() - t0
        supervised[T] = net
        t_net, Z = best_time(lambda: net.encode(X), args.repeats)
        e_net = net.loss(X, z_star)
        print(f"| LISTA, {T} layer(s) ({steps} Adam steps: {t_fit:.1f} s once) | {e_net:.4f} "
              f"| {t_net:.4f} | 1x |")
        for solver, accelerated in (("ista", False), ("fista", True)):
            reached = np.flatnonzero(err.sel(solver=solver).values <= e_net)
            if reached.size == 0:
                print(f"| {solver.upper()}: not within {max_iter} iterations | - | - | - |")
                continue
            iters = int(curve["iteration"].values[reached[0]])
            t_it, A = best_time(lambda: fista(X, D, lam, max_iter=iters, tol=1e-12,
                                              step="constant", accelerated=accelerated),
                                args.repeats)
            e_it = 0.5 * float(np.mean(np.sum((A - z_star) ** 2, axis=1)))
            print(f"| {solver.upper()}, {iters} iterations | {e_it:.4f} | {t_it:.4f} | "
                  f"{t_it / t_net:.1f}x |")
    print()
    objective_table(X, X_train, D, lam, z_star, z_train, curve, supervised,
                    args.objective_depths, steps)
    print()
    print(machine_line())
    return 0


def objective_table(X, X_train, D, lam, z_star, z_train, curve, supervised, depths, steps):
    """The LASSO objective at equal depth (gap to z*'s), and Step-LISTA's learned steps."""
    from v1model.amortized import LISTA

    gap_curve = curve["objective"] - curve["optimal_objective"]
    L = np.linalg.eigvalsh(D.astype(np.float64) @ D.T.astype(np.float64))[-1] * 1.0001
    L_S = [np.linalg.eigvalsh(D[z != 0].astype(np.float64) @ D[z != 0].T)[-1]
           for z in z_star if np.any(z)]
    q = np.percentile(L / np.array(L_S), [25, 50, 75])
    print(f"LASSO objective minus z*'s (mean per patch; z*: "
          f"{float(curve['optimal_objective']):.4f}); in brackets the ratio to ISTA's; "
          f"{steps} Adam steps per network; L / L_S over z*'s supports: median {q[1]:.2f} "
          f"(quartiles {q[0]:.2f}-{q[2]:.2f})")
    print()
    print("| T | ISTA | FISTA | LISTA, z* loss | LISTA, objective loss | Step-LISTA, objective "
          "loss | ISTA / FISTA iterations to match Step-LISTA | Step-LISTA's steps x L |")
    print("|---|---|---|---|---|---|---|---|")
    for T in depths:
        nets, times = {}, {}
        if T not in supervised:
            supervised[T] = LISTA(T, lam, n_steps=steps).fit(X_train, D, seed=0, target=z_train)
        nets["sup"] = supervised[T]
        for name, kind in (("full", "full"), ("step", "step")):
            t0 = time.perf_counter()
            nets[name] = LISTA(T, lam, parametrization=kind, objective="lasso",
                               n_steps=steps).fit(X_train, D, seed=0)
            times[name] = time.perf_counter() - t0
        optimum = float(curve["optimal_objective"])
        gaps = {name: net.lasso_objective(X) - optimum for name, net in nets.items()}
        ista = float(gap_curve.sel(solver="ista", iteration=T))
        fista = float(gap_curve.sel(solver="fista", iteration=T))
        match = []
        for solver in ("ista", "fista"):
            reached = np.flatnonzero(gap_curve.sel(solver=solver).values <= gaps["step"])
            match.append(str(int(curve["iteration"][reached[0]])) if reached.size
                         else f"> {curve.sizes['iteration']}")
        cells = [f"{g:.4f} ({g / ista:.2f})" for g in (fista, gaps["sup"], gaps["full"])]
        learned = " ".join(f"{a:.2f}" for a in nets["step"].step_size_ * L)
        print(f"| {T} | {ista:.4f} | {' | '.join(cells)} | {gaps['step']:.4f} "
              f"({gaps['step'] / ista:.2f}; trained in {times['step']:.1f} s) | "
              f"{' / '.join(match)} | {learned} |")


if __name__ == "__main__":
    sys.exit(main())
