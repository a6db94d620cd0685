"""The Gram matrix ``ΦᵀΦ`` of a convolutional dictionary, column by column.

Copy ``(k, p)`` (kernel k at code position p) overlaps only the copies within
one kernel of it, and for copies inside the signal their inner product
depends only on the lag: ``G[k*, Δ, k] = <d_k(· - Δs), d_k*>``, the kernels'
cross-correlation at lags that are multiples of the stride (computed once).
``"full"`` copies that stick out of the signal are truncated; their columns
use the truncated kernel. ``"circular"`` grids shorter than the window fold
the lags (a copy meets another twice). Matching pursuit updates its
correlations with these columns; the spiking convolutional LCA wires its
lateral inhibition from them.
"""

from __future__ import annotations

import numpy as np

from .operator import ConvolutionalDictionary

__all__ = ["gram_matrix"]


def gram_matrix(phi: ConvolutionalDictionary):
    """``ΦᵀΦ`` as a sparse matrix over the flattened codes.

    Parameters
    ----------
    phi : ConvolutionalDictionary

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_coefficients, n_coefficients), float64
        Entry ``(i, j)`` is the inner product of copies ``i`` and ``j`` in
        the order of :meth:`ConvolutionalDictionary.as_matrix` (kernel, then
        position in C order); only copies that overlap are stored.
    """
    import scipy.sparse as sp

    if not isinstance(phi, ConvolutionalDictionary):
        raise TypeError(f"phi must be a ConvolutionalDictionary, got {type(phi).__name__}")
    gram = CopyGram(phi.astype(np.float64))
    M, K, d = phi.code_shape, phi.n_kernels, phi.ndim
    rows, cols, vals = [], [], []
    index = np.int32 if phi.n_coefficients < 2**31 else np.int64
    for k in range(K):  # one kernel at a time bounds the memory to one window per copy
        pos = tuple(a.ravel() for a in np.indices(M))
        kern = np.full(pos[0].size, k)
        values = gram.columns(pos, kern)  # (n, W..., K)
        targets = gram.window_positions(pos)
        shape = values.shape
        inside = np.ones(shape[:-1], bool)
        flat = np.zeros(shape[:-1], np.int64)
        for axis, t in enumerate(targets):
            view = [len(t)] + [1] * d
            view[axis + 1] = t.shape[1]
            t = t.reshape(view)
            inside &= (t >= 0) & (t < M[axis])
            flat = flat * M[axis] + t
        src = k * int(np.prod(M)) + np.ravel_multi_index(pos, M)
        col = np.broadcast_to(src.reshape((-1,) + (1,) * d), shape[:-1])
        row = flat[..., None] + (np.arange(K) * int(np.prod(M)))
        keep = np.broadcast_to(inside[..., None], shape) & (values != 0)
        rows.append(row[keep].astype(index))
        cols.append(np.broadcast_to(col[..., None], shape)[keep].astype(index))
        vals.append(values[keep])
    n = phi.n_coefficients
    out = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(n, n))
    out.sum_duplicates()
    return out


class CopyGram:
    """Norms of the copies and columns of ``ΦᵀΦ`` for one dictionary.

    Attributes
    ----------
    norm2 : ndarray, shape (*code_shape, n_kernels), float64
        Squared norm of every copy (truncated ``"full"`` copies: the part
        inside the signal).
    full_norm2 : ndarray, shape (n_kernels,)
        Squared norm of each kernel.
    inside : ndarray of bool, shape code_shape, or None
        ``"full"``: copies entirely inside the signal (None: all are).
    lags : list of ndarray
        Per axis, the lags (in copies) of a column's window.
    """

    def __init__(self, phi: ConvolutionalDictionary):
        self.phi = phi
        d, K = phi.ndim, phi.n_kernels
        k_shape, stride, M = phi.kernel_shape, phi.stride, phi.code_shape
        self.b = b = tuple(-(-k // s) for k, s in zip(k_shape, stride))
        # squared norm of every copy, as sums of squares (no cancellation: a copy that
        # covers one small sample keeps its exact norm)
        sq = phi.kernels.astype(np.float64) ** 2
        self.full_norm2 = sq.reshape(K, -1).sum(axis=1)
        if phi.boundary == "full":
            inside = np.ones(M, bool)
            masks, which = [], []
            for axis, (p, k, n) in enumerate(zip(phi.positions(), k_shape, phi.signal_shape)):
                # the distinct overlaps [lo, hi) of a copy with the signal along this axis
                # (every interior copy shares one), so that the sums below cost the
                # border, not the signal
                lo, hi = np.clip(-p, 0, k), np.clip(n - p, 0, k)
                key, inverse = np.unique(lo * (k + 1) + hi, return_inverse=True)
                taps = np.arange(k)
                masks.append(((taps >= (key // (k + 1))[:, None])
                              & (taps < (key % (k + 1))[:, None])).astype(np.float64))
                which.append(inverse.reshape(-1))
                shape = [1] * d
                shape[axis] = len(p)
                inside &= ((p >= 0) & (p + k <= n)).reshape(shape)
            letters = "abc"[:d]
            spec = (f"z{letters},"
                    + ",".join(f"{m}{a}" for m, a in zip("ijl"[:d], letters))
                    + f"->{'ijl'[:d]}z")
            self.norm2 = np.einsum(spec, sq, *masks, optimize=True)[np.ix_(*which)]
            self.inside = inside
            # the adjoint over one window, for the truncated copies
            self.window_phi = ConvolutionalDictionary(
                phi.kernels, tuple(k + 2 * (bi - 1) * s for k, bi, s in zip(k_shape, b, stride)),
                stride=stride, boundary="valid", dtype=phi.dtype)
        else:
            self.norm2 = np.broadcast_to(self.full_norm2, M + (K,))
            self.inside = None
        self.circular = phi.boundary == "circular"
        G = _copy_gram(phi.kernels.astype(np.float64), stride, b)  # (K*, W..., K)
        lags = []
        for axis in range(d):
            W = 2 * b[axis] - 1
            if self.circular and W > M[axis]:
                G = _fold_axis(G, 1 + axis, M[axis], b[axis] - 1)
                lags.append(np.arange(M[axis]))
            else:
                lags.append(np.arange(-(b[axis] - 1), b[axis]))
        self.G = G.astype(phi.dtype)
        self.lags = lags

    def columns(self, pos, kern):
        """Columns of ``ΦᵀΦ`` for the copies ``(pos, kern)``, over their windows.

        Parameters
        ----------
        pos : tuple of ndarray of int, each shape (n,)
            Code positions per axis.
        kern : ndarray of int, shape (n,)

        Returns
        -------
        ndarray, shape (n, W_0, ..., W_{d-1}, n_kernels)
            ``<copy(k, pos + lag), copy(kern, pos)>`` for the lags of
            :meth:`window_positions`; exact for truncated ``"full"`` copies.
        """
        delta = self.G[kern]
        if self.inside is not None:
            border = ~self.inside[pos]
            if border.any():
                delta[border] = self._border_gram(tuple(p[border] for p in pos), kern[border])
        return delta

    def window_positions(self, pos):
        """Per axis, the code positions of each copy's window, shape (n, W_axis):
        negative or past the grid where a non-circular window leaves it."""
        M = self.phi.code_shape
        out = []
        for axis, lags in enumerate(self.lags):
            target = pos[axis][:, None] + lags[None, :]
            out.append(target % M[axis] if self.circular else target)
        return out

    def _border_gram(self, pos, kern):
        """The Gram rows of ``"full"`` copies that stick out of the signal: every
        kernel correlated with the truncated picked one (the residual changes
        only inside the signal); shape (n_picked, W_0, ..., K)."""
        phi, d = self.phi, self.phi.ndim
        k_shape, stride, b = phi.kernel_shape, phi.stride, self.b
        n = len(kern)
        start = tuple(phi.positions()[axis][pos[axis]] for axis in range(d))
        mask = np.ones((n,) + k_shape, bool)
        for axis in range(d):
            t = start[axis][:, None] + np.arange(k_shape[axis])[None, :]
            ok = (t >= 0) & (t < phi.signal_shape[axis])
            shape = [n] + [1] * d
            shape[axis + 1] = k_shape[axis]
            mask &= ok.reshape(shape)
        cut = np.where(mask, phi.kernels[kern], 0).astype(phi.dtype)
        # <d_k(· - Δs), cut>: the adjoint of the cut kernel padded by (b-1)s per side
        widths = [(0, 0)] + [((bi - 1) * s, (bi - 1) * s) for bi, s in zip(b, stride)]
        return self.window_phi.analyze_last(np.pad(cut, widths))


def _copy_gram(kernels, stride, b):
    """``G[k*, Δ, k] = sum_u d_k[u] d_k*[u + Δ s]`` for lags ``|Δ| < b`` per axis.

    Parameters
    ----------
    kernels : ndarray, shape (K, *kernel_shape), float64
    stride, b : tuple of int
        Stride and ``ceil(kernel / stride)`` per axis.

    Returns
    -------
    ndarray, shape (K, 2 b_0 - 1, ..., K)
    """
    from scipy.signal import fftconvolve

    d = kernels.ndim - 1
    axes = tuple(range(2, 2 + d))
    flipped = kernels[(slice(None),) + (slice(None, None, -1),) * d]
    # convolving d_k* with the flipped d_k correlates them: index i is the lag i - (k-1)
    full = fftconvolve(kernels[:, None], flipped[None, :], axes=axes)  # (K*, K, 2k-1...)
    pick = (slice(None), slice(None)) + tuple(
        k - 1 + s * np.arange(-(bi - 1), bi) for k, s, bi in zip(kernels.shape[1:], stride, b))
    G = full[np.ix_(*[np.arange(n) if isinstance(p, slice) else p
                      for n, p in zip(full.shape, pick)])]
    return np.moveaxis(G, 1, -1)


def _fold_axis(G, axis, m, first):
    """Sum lags congruent modulo ``m`` along ``axis`` (lags ``-first ...``), onto
    lags ``0 .. m-1``: a circular grid of ``m`` copies shorter than the window."""
    out = np.zeros(G.shape[:axis] + (m,) + G.shape[axis + 1:], G.dtype)
    for i in range(G.shape[axis]):
        lag = (i - first) % m
        src = [slice(None)] * G.ndim
        dst = [slice(None)] * G.ndim
        src[axis], dst[axis] = i, lag
        out[tuple(dst)] += G[tuple(src)]
    return out
