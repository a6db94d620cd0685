"""One BLAS thread around loops of small matrix products.

Gradient training of the sparse autoencoders and of LISTA is thousands of
steps, each a few products of a minibatch with the weights. When those
products are small, OpenBLAS's threads cost more than they bring, and when
other processes share the cores they collapse (``benchmarks/bench_sae.py``:
a 64-feature, 128-latent TopK SAE, batch 256, trained 1.9x faster on one
thread on an idle 2-core box and 5x faster on a loaded one).
"""

from __future__ import annotations

from contextlib import nullcontext

#: below this many floating-point operations per training step, one BLAS thread
#: (0.4 GFLOP per step was break-even on 2 cores: benchmarks/bench_sae.py)
SMALL_STEP_FLOPS = 4e8


def blas_threads_for_step(flops_per_step: float):
    """``threadpool_limits(1, "blas")`` when a step of ``flops_per_step``
    floating-point operations is small, else a context that changes nothing."""
    if flops_per_step >= SMALL_STEP_FLOPS:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
