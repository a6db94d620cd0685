"""Adam (Kingma & Ba 2015), in place on a dict of NumPy arrays: the minibatch
optimiser of the sparse autoencoders (:mod:`v1model.sae`) and of LISTA
(:mod:`v1model.amortized`)."""

from __future__ import annotations

import numpy as np

from ._numba import cached_njit

__all__ = ["Adam"]

#: what :func:`_check_gradient` finds
_FINITE, _NOT_FINITE, _SQUARE_OVERFLOWS = 0, 1, 2


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
        # C order whatever the parameter's: the compiled update walks all four arrays
        # (parameter, gradient, moments) in one flat order
        self.m = {name: np.zeros(np.shape(p), np.asarray(p).dtype) for name, p in params.items()}
        self.v = {name: np.zeros(np.shape(p), np.asarray(p).dtype) for name, p in params.items()}
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
            ``params``, same shapes and dtypes; not modified.

        Raises
        ------
        FloatingPointError
            When a gradient is not finite or its square overflows its dtype;
            nothing is updated then.
        ValueError
            When a gradient's shape is not its parameter's.
        """
        flat = {}
        for name in params:  # all checked before any update: a refused step changes nothing
            p, g = params[name], grads[name]
            if np.shape(g) != p.shape:  # the compiled update reads g and p element by element
                raise ValueError(f"Adam: the gradient of {name!r} has shape {np.shape(g)}, "
                                 f"the parameter {p.shape}")
            g = np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)
            status = _check_gradient(g)
            if status == _NOT_FINITE:  # computing it overflowed: inf * inf raises nothing
                raise FloatingPointError(f"Adam: the gradient of {name!r} is not finite (it "
                                         f"overflowed {g.dtype} where it was computed)")
            if status == _SQUARE_OVERFLOWS:  # an infinite v would freeze p without a sign
                raise FloatingPointError(
                    f"Adam: the squared gradient of {name!r} overflows {g.dtype} "
                    f"(gradient entries up to {float(np.max(np.abs(g))):.3g})")
            flat[name] = g
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        for name, p in params.items():
            # one compiled pass: the formulas above in the order and the precision NumPy
            # evaluates them (each constant in the parameter's dtype), without the
            # full-size temporaries of NumPy's expressions (~30% of an SAE step)
            work = np.ascontiguousarray(p)  # p itself unless it is not C-contiguous
            for moments in (self.m, self.v):  # e.g. restored from a file in another layout
                if not (moments[name].flags.c_contiguous and moments[name].flags.writeable):
                    moments[name] = np.array(moments[name], dtype=p.dtype, order="C")
            c = p.dtype.type
            rate = self.lr * self.rates.get(name, 1.0) / c1
            # NumPy takes lr * m in float64 when lr is a NumPy float64 (the SAEs' rates,
            # from an array) and in the moment's dtype for a Python float (LISTA's)
            rate = np.result_type(rate, self.m[name]).type(rate)
            _update(work.reshape(-1), flat[name], self.m[name].reshape(-1),
                    self.v[name].reshape(-1), c(self.beta1), c(1.0 - self.beta1),
                    c(self.beta2), c(1.0 - self.beta2), c(c2), c(self.eps), rate)
            if work is not p:
                p[...] = work


@cached_njit(nogil=True, error_model="numpy", fastmath={"reassoc"})
def _check_gradient(g):
    """:data:`_NOT_FINITE` if ``g`` (1-D) has a NaN or an infinity, else
    :data:`_SQUARE_OVERFLOWS` if some ``g * g`` overflows its dtype, else
    :data:`_FINITE`.

    ``x - x`` is 0 for a finite ``x`` and NaN otherwise, and NaN survives any
    order of summation, so the two sums may be reordered (``reassoc``, what lets
    the loop run on SIMD lanes); no other fast-math licence is given, so the
    compiler may not assume the values finite.
    """
    not_finite = g.dtype.type(0.0)
    square_not_finite = not_finite
    for i in range(g.size):
        x = g[i]
        not_finite += x - x
        y = x * x
        square_not_finite += y - y
    if np.isnan(not_finite):
        return _NOT_FINITE
    return _SQUARE_OVERFLOWS if np.isnan(square_not_finite) else _FINITE


@cached_njit(nogil=True, error_model="numpy")
def _update(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, c2, eps, rate):
    """Adam's update of ``p``, ``m`` and ``v`` (1-D, in place) from ``g``; no fastmath
    (no reordering, no fused multiply-add): every operation rounds as in NumPy, the
    step in the precision of ``rate`` (``p``'s or float64), rounded to ``p``'s dtype
    before it is subtracted. (``error_model="numpy"``: no zero-division check, which
    would keep the loop off SIMD lanes; the denominator is at least ``eps``.)"""
    for i in range(p.size):
        gi = g[i]
        mi = m[i] * beta1 + gi * one_minus_beta1
        vi = v[i] * beta2 + (gi * gi) * one_minus_beta2
        m[i] = mi
        v[i] = vi
        p[i] -= p.dtype.type((mi * rate) / (np.sqrt(vi / c2) + eps))
