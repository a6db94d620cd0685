"""One BLAS thread around loops of small matrix products.

Gradient training of the sparse autoencoders and of LISTA, and dictionary
learning on minibatches, are thousands of steps, each a few products of a
minibatch with the weights or the dictionary. When those
products are small, OpenBLAS's threads bring little on an idle machine and
collapse as soon as another process wants a core (``benchmarks/bench_sae.py``
on 2 cores, TopK SAEs of 0.03-0.13 GFLOP per step: one thread ran at
0.80-1.09x the speed of two on an idle box, 2.4-3.1x beside one other busy
process and 5-10x under a load of 6). Above 0.4 GFLOP per step BLAS keeps
its threads (idle: one thread 0.61-0.77x; beside a busy process 1.0-2.5x).
Minibatch dictionary learning (``benchmarks/bench_learning_threads.py``)
behaves the same way: its inference iterations are products of 100 samples
with a dictionary of a few hundred atoms. So do the iterations of ``lca`` and
``fista`` themselves (a block of up to 2,048 samples times the Gram matrix:
1,000 samples on 256 atoms ran 10x faster on one thread than on two under a
load of 6; the studies' quick runs of ``rozell-2008-lca`` and
``zhu-rozell-2013-ncrf`` took 30-40% less CPU time).
"""

from __future__ import annotations

from contextlib import nullcontext

#: below this many floating-point operations per training step, one BLAS thread
#: (benchmarks/bench_sae.py; the tables are in benchmarks/README.md)
SMALL_STEP_FLOPS = 4e8


def blas_threads_for_step(flops_per_step: float):
    """``threadpool_limits(1, "blas")`` when a step of ``flops_per_step``
    floating-point operations is small, else a context that changes nothing."""
    if flops_per_step >= SMALL_STEP_FLOPS:
        return nullcontext()
    return _controller().limit(limits=1, user_api="blas")


_CACHE: dict = {}


def _controller():
    """A ``threadpoolctl.ThreadpoolController``, found again only when modules
    were imported since (a new one may have loaded another BLAS): finding the
    libraries took 0.2-3 ms per call, which a stream of small ``partial_fit``
    calls paid every time; limiting through the kept one takes 4 µs."""
    import sys

    n_modules = len(sys.modules)
    if _CACHE.get("n_modules") != n_modules:
        from threadpoolctl import ThreadpoolController

        _CACHE["controller"] = ThreadpoolController()
        _CACHE["n_modules"] = len(sys.modules)
    return _CACHE["controller"]


def coding_iteration_flops(n_samples: int, n_atoms: int, n_features: int) -> float:
    """Floating-point operations of one iteration of a sparse-coding solver on
    ``n_samples`` samples: the product with the dictionary (``X D^T``, or the
    residual's) and with the Gram matrix (``A D D^T``)."""
    return 2.0 * n_samples * n_atoms * (n_features + n_atoms)
