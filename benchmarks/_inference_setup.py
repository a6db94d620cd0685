"""Shared setup of the inference benchmarks: whitened 16x16 natural patches and
a 512-atom dictionary learned on patches of other columns of the same images.

As the studies do (``studies._held_out.held_out_split``, ``stimuli.split_images``), the
dictionary is learned on the left columns of every image and the test patches come
from the right 20%: none shares a pixel with a training patch. Until 2026-12-07 both
were drawn from the whole images: 149 of the 2,000 test patches of ``--quick`` (846 of
10,000) were copies of training patches."""

from __future__ import annotations

import functools
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def load_problem(n_samples, n_atoms=512, patch=16, lam_learn=0.25, n_updates=300, seed=0):
    """Return (X, D, info): held-out test patches, learned dictionary and how it was made.

    ``X`` (``n_samples`` patches) comes from the held-out columns of every image, the
    dictionary's 50,000 training patches from the others (:func:`split_for_patches`).
    The dictionary is cached in the temporary folder (learning it takes minutes on a
    loaded 2-core machine); delete the file to learn it again. The file's name says
    which columns it was learned on, so that a dictionary learned on the whole images
    (before the split) is not taken for it.
    """
    from stimuli import sample_patches
    from v1model.io import atomic_path
    from v1model.learning.olshausen_field import learn_dictionary

    rng = np.random.default_rng(seed)
    train, held_out, _ = split_for_patches(patch)
    width = train.shape[2] + held_out.shape[2]
    X_train = sample_patches(train, patch, 50000, seed=rng)
    X = sample_patches(held_out, patch, n_samples, seed=rng)
    cache = Path(tempfile.gettempdir()) / (
        f"v1model_bench_dictionary_{n_atoms}x{patch}x{patch}_lam{lam_learn}_u{n_updates}"
        f"_s{seed}_cols0-{train.shape[2]}of{width}.npy")
    t0 = time.perf_counter()
    if cache.exists():
        D = np.load(cache)
        how = f"cached in {cache}"
    else:
        D, _ = learn_dictionary(X_train, n_atoms, lam=lam_learn, n_updates=n_updates,
                                batch_size=100, seed=rng, progress=False)
        # a temporary name, then a rename: a run stopped while saving leaves no
        # half-written cache for the next one to load
        with atomic_path(cache) as tmp:
            np.save(tmp, D)
        how = f"{time.perf_counter() - t0:.0f} s"
    info = (f"dictionary: {n_atoms} atoms learned by v1model.learning.olshausen_field."
            f"learn_dictionary (L1 prior, FISTA codes, lam={lam_learn}, {n_updates} updates of "
            f"100 patches; {how}) on 50,000 patches of the left {train.shape[2]} of the "
            f"{width} columns of every image; test patches from the right "
            f"{held_out.shape[2]} (none shares a pixel with a training patch)")
    return X, D, info


@functools.lru_cache(maxsize=4)
def split_for_patches(patch=16):
    """``(train, held_out, attrs)``: the whitened embedded images cut by the studies'
    :func:`studies._held_out.held_out_split` for ``patch`` x ``patch`` patches (views
    of one array, read only; kept for the next call: loading the pictures takes ~0.6 s
    of CPU)."""
    from stimuli import load_images, whiten
    from studies._held_out import held_out_split

    images = whiten(load_images())
    images.flags.writeable = False  # shared by every call that gets them from the cache
    return held_out_split(images, patch)


def training_patches(n_samples, patch=16, seed=0):
    """``n_samples`` patches of the training columns of :func:`load_problem`'s images
    (where its dictionary was learned), drawn by a generator of their own: for a
    benchmark that fits something besides the dictionary (LISTA) and tests it on
    :func:`load_problem`'s held-out ``X``."""
    from stimuli import sample_patches

    train, _, _ = split_for_patches(patch)
    # a stream of its own: seed 0 here does not repeat load_problem's first patches
    rng = np.random.default_rng([seed, 1])
    return sample_patches(train, patch, n_samples, seed=rng)


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


def best_time(fn, repeats, cold=True):
    """(best wall time, last result) over ``repeats`` calls.

    ``cold`` (default) empties v1model's dictionary cache before every call, outside
    the timing: each call builds its Gram matrix (and step size) as the first call on a
    dictionary does, and as scikit-learn does on every call. Without it the repeats
    after the first reuse the cached Gram, and the solvers' flop counts, which include
    building it, would overstate their rate."""
    from v1model.inference._dictionary_cache import clear_dictionary_cache

    best, out = np.inf, None
    for _ in range(repeats):
        if cold:
            clear_dictionary_cache()
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
