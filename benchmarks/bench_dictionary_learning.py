"""Online dictionary learning against scikit-learn's MiniBatchDictionaryLearning.

Both learn 256 atoms on the same 16x16 whitened natural patches
(``stimuli.whiten(stimuli.load_images())``, ``stimuli.sample_patches``) of the
left columns of every image; the held-out patches come from the right 20%
(``studies._held_out.held_out_split``, as the studies draw theirs), so that none
shares a pixel with a training patch. Both learn for
the same objective ``0.5 ||x - a D||^2 + lam ||a||_1`` (scikit-learn's
``alpha`` is our ``lam``), batches of 256 patches.

1. Speed. scikit-learn runs with its defaults (``fit_algorithm="lars"``;
   also ``"cd"``) for one pass over the training patches, and (full run)
   with ``"cd"`` for five passes without early stopping; each final
   dictionary's held-out objective is a target. Ours
   (:class:`v1model.learning.SparseDictionaryLearner`, online, FISTA codes)
   streams the same patches with ``partial_fit``; only the time inside
   ``partial_fit`` is counted. The held-out objective of every dictionary is
   measured the same way: FISTA to ``tol=1e-6`` in float64 on held-out
   patches (and, for the final dictionaries, cross-checked with
   scikit-learn's ``sparse_encode(algorithm="lasso_cd")``). Reported: time
   for ours to reach each target and the speed-up.
2. Memory. Peak traced memory (``tracemalloc``: every NumPy buffer, not
   BLAS's private workspace) while streaming N patches in chunks of 2,560
   (drawn on the fly with ``sample_patches``) through ``partial_fit``, for
   growing N.

Usage::

    python benchmarks/bench_dictionary_learning.py            # full (~10 min)
    python benchmarks/bench_dictionary_learning.py --quick    # ~1 min
    python benchmarks/bench_dictionary_learning.py --threads 1

scikit-learn and threadpoolctl (a scikit-learn dependency) are needed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc
import warnings

import numpy as np

PATCH = 16
N_ATOMS = 256
BATCH = 256


def heldout_objective(D, X_test, lam):
    """Mean per-patch LASSO objective of ``X_test`` in ``D`` (FISTA, tol 1e-6, float64)."""
    from v1model.inference import fista

    D = np.asarray(D, dtype=np.float64)
    A = fista(X_test, D, lam, tol=1e-6, max_iter=20000, dtype=np.float64)
    R = X_test - A @ D
    return float(np.mean(0.5 * np.einsum("ij,ij->i", R, R) + lam * np.abs(A).sum(axis=1)))


def sklearn_objective(D, X_test, lam):
    """The same objective with scikit-learn's own coordinate-descent codes."""
    from sklearn.decomposition import sparse_encode

    D = np.asarray(D, dtype=np.float64)
    A = sparse_encode(X_test, D, algorithm="lasso_cd", alpha=lam, max_iter=5000)
    R = X_test - A @ D
    return float(np.mean(0.5 * np.einsum("ij,ij->i", R, R) + lam * np.abs(A).sum(axis=1)))


def run_sklearn(X, lam, fit_algorithm, epochs, seed):
    """scikit-learn's defaults for ``epochs == 1``; for more epochs its early
    stopping is switched off so that it really runs them all."""
    from sklearn.decomposition import MiniBatchDictionaryLearning

    extra = {} if epochs == 1 else {"tol": 0.0, "max_no_improvement": None}
    model = MiniBatchDictionaryLearning(n_components=N_ATOMS, alpha=lam, batch_size=BATCH,
                                        fit_algorithm=fit_algorithm, max_iter=epochs,
                                        random_state=seed, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - start
    return model.components_, seconds, int(model.n_steps_)


def run_ours(X, X_test, lam, targets, budget, seed, chunk_batches):
    """Stream epochs of ``X`` through partial_fit until every target is met or
    ``budget`` seconds of learning are spent; returns the trajectory."""
    from v1model.learning.estimator import SparseDictionaryLearner

    learner = SparseDictionaryLearner(N_ATOMS, lam=lam, batch_size=BATCH, seed=seed)
    rng = np.random.default_rng(seed)
    chunk = chunk_batches * BATCH
    elapsed, trajectory = 0.0, []
    best = np.inf
    while elapsed < budget and best > min(targets):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - chunk + 1, chunk):
            t0 = time.perf_counter()
            learner.partial_fit(X[order[start : start + chunk]])
            elapsed += time.perf_counter() - t0
            best = heldout_objective(learner.components_, X_test, lam)
            trajectory.append((learner.n_iter_, elapsed, best))
            if elapsed >= budget or best <= min(targets):
                break
    return learner, trajectory


def time_to(trajectory, target):
    for n_iter, seconds, objective in trajectory:
        if objective <= target:
            return n_iter, seconds
    return None, None


def memory_profile(images, lam, sizes, chunk, seed):
    """Peak traced memory while streaming ``n`` patches through partial_fit."""
    from stimuli import sample_patches
    from v1model.learning.estimator import SparseDictionaryLearner

    rows = []
    for n in sizes:
        rng = np.random.default_rng(seed)
        tracemalloc.start()
        learner = SparseDictionaryLearner(N_ATOMS, lam=lam, batch_size=BATCH, seed=seed)
        streamed = 0
        start = time.perf_counter()
        while streamed < n:
            X = sample_patches(images, PATCH, min(chunk, n - streamed), seed=rng)
            learner.partial_fit(X)
            streamed += len(X)
            del X
        seconds = time.perf_counter() - start
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((n, learner.n_iter_, peak / 2**20, current / 2**20, seconds))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (~1 min)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both learners (default: the environment's)")
    parser.add_argument("--lam", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--references", default=None,
                        help="comma-separated fit_algorithm:epochs of the scikit-learn runs "
                             "(default lars:1,cd:1 and, unless --quick, cd:5)")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    if args.threads is not None:
        threadpool_limits(args.threads)

    import sklearn
    from stimuli import load_images, sample_patches, whiten
    from studies._held_out import held_out_split

    n_train = 1280 if args.quick else 20480
    n_test = 500 if args.quick else 2000
    # from two chunks on, the learner's state exists while a chunk is drawn
    stream_sizes = (10240, 40960) if args.quick else (10240, 40960, 163840)
    # the studies' split: training patches from the left columns of every image, held-out
    # ones from the right 20% (they were drawn from the whole images until 2026-12-07: 75
    # of the 2,000 held-out patches, 3 of --quick's 500, were copies of training ones)
    train, held_out, split = held_out_split(whiten(load_images()), PATCH)
    X = sample_patches(train, PATCH, n_train, seed=args.seed)
    X_test = sample_patches(held_out, PATCH, n_test, seed=args.seed + 1)
    lam = args.lam
    print(f"# Dictionary learning: {N_ATOMS} atoms, {PATCH}x{PATCH} whitened patches, "
          f"lam={lam}, batch {BATCH}, {n_train} training / {n_test} held-out patches")
    print(f"# {split['held_out']}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, threads={args.threads or 'default'}")

    spec = args.references or ("lars:1,cd:1" if args.quick else "lars:1,cd:1,cd:5")
    refs = []
    for item in spec.split(","):
        algo, _, epochs = item.partition(":")
        epochs = int(epochs or 1)
        D, seconds, steps = run_sklearn(X, lam, algo, epochs, args.seed)
        obj = heldout_objective(D, X_test, lam)
        refs.append((algo, epochs, seconds, steps, obj, sklearn_objective(D, X_test, lam)))
        print(f"sklearn {algo}, {epochs} epoch(s): {seconds:.1f} s, {steps} steps, held-out "
              f"objective {obj:.4f}", flush=True)

    budget = max(r[2] for r in refs)
    learner, traj = run_ours(X, X_test, lam, [r[4] for r in refs], budget, args.seed,
                             chunk_batches=2 if args.quick else 5)
    final = traj[-1]
    print(f"ours: {final[0]} updates, {final[1]:.2f} s, held-out objective {final[2]:.4f} "
          f"(scikit-learn lasso_cd codes: "
          f"{sklearn_objective(learner.components_, X_test, lam):.4f})", flush=True)

    print("\n| reference: MiniBatchDictionaryLearning | its time (s) | its held-out objective "
          "(lasso_cd check) | ours: updates to reach it | ours: time (s) | speed-up |")
    print("|---|---|---|---|---|---|")
    for algo, epochs, seconds, steps, obj, obj_cd in refs:
        n_iter, t = time_to(traj, obj)
        name = f"`{algo}`, {epochs} epoch{'s' if epochs > 1 else ''} ({steps} steps)"
        if t is None:
            print(f"| {name} | {seconds:.1f} | {obj:.4f} ({obj_cd:.4f}) | not reached in "
                  f"{final[0]} | > {final[1]:.2f} | < {seconds / final[1]:.1f}x |")
        else:
            print(f"| {name} | {seconds:.1f} | {obj:.4f} ({obj_cd:.4f}) | {n_iter} | "
                  f"{t:.2f} | {seconds / t:.0f}x |")

    rows = memory_profile(train, lam, stream_sizes, chunk=2560, seed=args.seed)
    print("\n| patches streamed | updates | peak traced memory (MiB) | retained after (MiB) "
          "| time (s) |")
    print("|---|---|---|---|---|")
    for n, updates, peak, current, seconds in rows:
        print(f"| {n} | {updates} | {peak:.2f} | {current:.2f} | {seconds:.1f} |")
    growth = rows[-1][2] - rows[0][2]
    print(f"\npeak memory change from {rows[0][0]} to {rows[-1][0]} patches: {growth:+.3f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
