"""Adam (Kingma & Ba 2015): the minibatch optimiser of :class:`~v1model.amortized.LISTA`."""

from __future__ import annotations

import numpy as np


class Adam:
    """Adam updates of a list of arrays, in place.

    Parameters
    ----------
    params : list of ndarray
        The arrays to optimise; updated in place by :meth:`step`.
    learning_rate : float
        Step size (units of the parameters).
    beta1, beta2 : float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the root of the second moment.
    """

    def __init__(self, params, learning_rate, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.learning_rate = learning_rate
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.n_steps = 0

    def step(self, grads):
        """One update with the gradients ``grads`` (same order as ``params``)."""
        self.n_steps += 1
        b1, b2 = self.beta1, self.beta2
        # bias corrections folded into the step size
        rate = self.learning_rate * np.sqrt(1 - b2**self.n_steps) / (1 - b1**self.n_steps)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= (rate * m / (np.sqrt(v) + self.eps)).astype(p.dtype, copy=False)
