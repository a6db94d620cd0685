"""Shared setup of the inference benchmarks: whitened 16x16 natural patches and
a 512-atom dictionary learned on other patches of the same images."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def load_problem(n_samples, n_atoms=512, patch=16, lam_learn=0.25, n_updates=300, seed=0):
    """Return (X, D, info): test patches, learned dictionary and how it was made.

    The dictionary is cached in the temporary folder (learning it takes
    minutes on a loaded 2-core machine); delete the file to learn it again.
    """
    from stimuli import load_images, sample_patches, whiten
    from v1model.learning.olshausen_field import learn_dictionary

    rng = np.random.default_rng(seed)
    images = whiten(load_images())
    X_train = sample_patches(images, patch, 50000, seed=rng)
    X = sample_patches(images, patch, n_samples, seed=rng)
    cache = Path(tempfile.gettempdir()) / (
        f"v1model_bench_dictionary_{n_atoms}x{patch}x{patch}_lam{lam_learn}_u{n_updates}"
        f"_s{seed}.npy")
    t0 = time.perf_counter()
    if cache.exists():
        D = np.load(cache)
        how = f"cached in {cache}"
    else:
        D, _ = learn_dictionary(X_train, n_atoms, lam=lam_learn, n_updates=n_updates,
                                batch_size=100, seed=rng, progress=False)
        np.save(cache, D)
        how = f"{time.perf_counter() - t0:.0f} s"
    info = (f"dictionary: {n_atoms} atoms learned by v1model.learning.olshausen_field."
            f"learn_dictionary (L1 prior, FISTA codes, lam={lam_learn}, {n_updates} updates of "
            f"100 patches; {how}) on 50,000 other patches of the same images")
    return X, D, info


def matmul_gflops(n, k, repeats=5):
    """Best float32 GFLOP/s of an (n, k) x (k, k) product on this machine now."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, k)).astype(np.float32)
    G = rng.standard_normal((k, k)).astype(np.float32)
    A @ G
    best = min(_time(lambda: A @ G) for _ in range(repeats))
    return 2.0 * n * k * k / best / 1e9


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_time(fn, repeats):
    """(best wall time, last result) over ``repeats`` calls."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


#: environment variables that cap BLAS's threads from the start of the process
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def blas_threads():
    """BLAS's threads now, and a warning line when they are fewer than the cores.

    The thread benchmarks time one BLAS thread against "all" of them, taken from
    threadpoolctl's current limits: under ``OMP_NUM_THREADS=1`` (or any variable
    of :data:`THREAD_VARIABLES`, or an outer ``threadpool_limits``) "all" is one
    thread too and those columns compare one thread with one.

    Returns
    -------
    threads : int
        The largest ``num_threads`` of the loaded BLAS libraries (1 when none is
        loaded).
    warning : str or None
        A line starting "WARNING:" naming the limit and the variables set, or
        None when BLAS may use every core this process may run on.
    """
    from threadpoolctl import threadpool_info

    threads = max((i.get("num_threads", 1) for i in threadpool_info()
                   if i.get("user_api") == "blas"), default=1)
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or 1)
    if threads >= cores:
        return threads, None
    limits = ", ".join(f"{name}={os.environ[name]}" for name in THREAD_VARIABLES
                       if name in os.environ) or "no thread variable set: threadpool_limits"
    compared = ("one thread with one" if threads == 1
                else f"one thread with {threads}, not with {cores}")
    return threads, (f"WARNING: BLAS is limited to {threads} thread(s) of {cores} cores "
                     f"({limits}): the runs with every BLAS thread compare {compared}; "
                     "unset the limit to measure BLAS's threads")


def machine_line():
    load = os.getloadavg()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (f"{os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
            f" (1/5/15 min), OMP_NUM_THREADS={threads}")
