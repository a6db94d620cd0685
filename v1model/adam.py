"""Adam (Kingma & Ba 2015), in place on a dict of NumPy arrays: the minibatch
optimiser of the sparse autoencoders (:mod:`v1model.sae`) and of LISTA
(:mod:`v1model.amortized`)."""

from __future__ import annotations

import numpy as np

__all__ = ["Adam"]


class Adam:
    """Adam optimiser with bias correction.

    For each parameter ``p`` with gradient ``g`` at step ``t`` (from 1)::

        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        p -= lr * rate_p * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    with ``rate_p`` the factor ``rates`` gives ``p`` (1 by default).

    Parameters
    ----------
    params : dict of ndarray
        The arrays to optimise; the moments take their shapes and dtypes.
    lr : float, default 1e-3
        Learning rate (units of the parameters per step).
    beta1, beta2 : float
        Decay rates of the first and second moments (defaults 0.9 and 0.999).
    eps : float, default 1e-8
        Added to the root of the second moment.
    rates : dict of float, optional
        Factor of ``lr`` for some of the arrays (by name; 1 for the others),
        for parameters of different units (the biases of an autoencoder move
        in units of the data, its weights have none).

    Raises
    ------
    FloatingPointError
        From :meth:`step`, when a gradient is not finite or its square
        overflows its dtype (the second moment would become infinite and the
        parameter stop moving);
        the refused step leaves the parameters and moments as they were.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, rates=None):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.rates = dict(rates or {})
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}
        self.t = 0

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (same keys).

        Parameters
        ----------
        params : dict of ndarray
            The arrays given to the constructor (same names, shapes and
            dtypes); updated in place.
        grads : dict of ndarray
            The gradient of the loss with respect to each array of
            ``params``, same shapes.

        Raises
        ------
        FloatingPointError
            When a gradient is not finite or its square overflows its dtype;
            nothing is updated then.
        """
        squares = {}
        for name in params:  # all checked before any update: a refused step changes nothing
            g = grads[name]
            if not np.all(np.isfinite(g)):  # computing it overflowed: inf * inf raises nothing
                raise FloatingPointError(f"Adam: the gradient of {name!r} is not finite (it "
                                         f"overflowed {g.dtype} where it was computed)")
            with np.errstate(over="raise"):  # an infinite v would freeze p without a sign
                try:
                    squares[name] = g * g
                except FloatingPointError:
                    raise FloatingPointError(
                        f"Adam: the squared gradient of {name!r} overflows {g.dtype} "
                        f"(gradient entries up to {float(np.max(np.abs(g))):.3g})") from None
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for name, p in params.items():
            g = grads[name]
            m, v = self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * squares[name]
            step = (self.lr * self.rates.get(name, 1.0) / c1) * m / (np.sqrt(v / c2) + self.eps)
            p -= step.astype(p.dtype, copy=False)
