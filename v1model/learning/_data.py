"""Training data for the learners: validation and minibatch order."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .._frames import user_stacklevel
from ..validation import (DATA_DIMS, by_dim_names, check_array, check_dense, check_no_missing,
                          describe, numeric_kind, pandas_labels, refuse_bare_bool,
                          smallest_safe_value)


#: elements per block of the blockwise value checks (float64 temporaries of 512 kB)
_BLOCK_ELEMENTS = 2**16


def check_training_data(X, name: str = "X", allow_zero: bool = False,
                        dtype=np.float32) -> np.ndarray:
    """2-D finite real float64 array (n_samples, n_features), non-empty, with
    some non-zero sample unless ``allow_zero``.

    Sparse matrices, masked arrays with masked values and complex data are
    refused with a message that says so (silently densifying, dropping the
    mask or dropping imaginary parts would hide a mistake); values that are
    not real numbers with the exception and message of
    :func:`~v1model.validation.check_array`, which the solvers' ``encode``
    raises (complex ones: a :class:`~v1model.validation.ComplexDataError`,
    also a ValueError). The messages also contain the phrases
    scikit-learn's estimator checks look for. ``dtype`` is the working
    precision whose range the values must fit. The values are checked in
    blocks of rows, so that the only copy is the float64 conversion (none for
    float64 input).
    """
    source = X  # as given: a DataFrame's labels name the place of a NaN
    X = check_array(_real_2d(X, name), name, ndim=2, finite=False)
    _check_values(X, name, allow_zero, dtype, source=source)
    return X


def check_training_rows(X, name: str = "X", allow_zero: bool = False,
                        dtype=np.float32, moments: bool = False):
    """:func:`check_training_data` without the copy: ``X`` as a 2-D array of
    its own real dtype (an ``np.memmap`` stays one), its values checked in
    blocks of rows.

    For learners that convert each minibatch to ``dtype`` themselves: the
    extra memory is one block (about 1 MB), not a float64 copy of ``X``.
    With ``moments``, returns ``(X, stats)``, the :class:`DataStatistics`
    (largest ``|x|``, mean of each feature, spread) measured in the same
    single pass over ``X`` as the check.
    """
    source = X
    X = _real_2d(X, name)
    stats = _check_values(X, name, allow_zero, dtype, moments, source=source)
    return (X, stats) if moments else X


def _real_2d(X, name) -> np.ndarray:
    """``X`` as a 2-D non-empty ndarray of a real numeric dtype (no copy of an ndarray)."""
    if X is None:
        raise TypeError(f"{name} must be an array of shape (n_samples, n_features), got None")
    refuse_bare_bool(X, name)  # as check_array: it was told "2 dimensions, got 0"
    check_dense(X, name)  # scipy.sparse, and masks that np.asarray would drop
    X = by_dim_names(X, DATA_DIMS, name)  # a DataArray (feature, sample) was read as samples
    # the solvers' type checks first (check_array's): a string was told "2 dimensions, got
    # 0", complex data was a ValueError where encode raises a TypeError, and a ragged list
    # gave numpy's message, naming no argument
    converted, kind = numeric_kind(X, name, complex_note="; Complex data not supported")
    raw = np.asarray(converted)
    if kind not in "fiub":
        try:
            raw = raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            check_no_missing(X, name)  # a nullable pandas column's pd.NA does not convert
            # numpy's reason kept: scikit-learn's check_dtype_object looks for it
            raise TypeError(f"{name} must be a numeric array, got {describe(X)}: "
                            f"{exc}") from exc
    if raw.ndim != 2:
        # scikit-learn's hint (its check_estimator looks for it) fits 1-D data only: a stack
        # of patches or images (n, height, width) was told to reshape(-1, 1), one pixel each
        hint = ("Reshape your data with X.reshape(-1, 1) if it has one feature or "
                "X.reshape(1, -1) if it is one sample" if raw.ndim < 2 else
                f"flatten a stack of patches (n, height, width) with {name}.reshape(len("
                f"{name}), -1), or cut patches from images with stimuli.sample_patches")
        raise ValueError(f"{name} must have 2 dimensions (n_samples, n_features), got "
                         f"{raw.ndim} (shape {raw.shape}); {hint}")
    if raw.shape[0] < 1:
        raise ValueError(f"{name} has 0 sample(s) (shape={raw.shape}) while a minimum of 1 is "
                         "required.")
    if raw.shape[1] < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape={raw.shape}) while a minimum of 1 is "
                         "required.")
    return raw


class DataStatistics(NamedTuple):
    """What one blockwise pass over the training data measured (float64).

    ``max_abs``: largest ``|x|``; with ``moments``, ``mean``: the mean over
    samples of each feature, shape (n_features,), ``spread``: the root
    mean square of ``X - mean`` over samples and features (0 for one
    sample; for identical samples, 0 or a rounding error of the mean), and
    ``low``, ``high``: the smallest and largest value of each feature, shape
    (n_features,) (the samples are all alike where they are equal); None
    without.
    """

    max_abs: float
    mean: np.ndarray | None = None
    spread: float | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def _check_values(X, name, allow_zero, dtype, moments=False, source=None) -> DataStatistics:
    """Finite values, some non-zero (unless ``allow_zero``), within ``dtype``'s range;
    read once, in blocks of rows converted to float64 in a buffer reused from
    block to block.

    With ``moments``, the same pass also gives the mean of each feature and
    the spread: each block's mean and sum of squared deviations from it
    (``M2``) are merged into the running ones as in Chan, Golub & LeVeque
    (1979), which is free of the cancellation of ``sum(x^2) - n mean^2``
    for data far from zero.

    ``source``, the input as given, names the labels of a DataFrame's first
    non-finite value (:func:`~v1model.validation.pandas_labels`).
    """
    n_bad = 0
    x_max = 0.0
    n_samples, n_features = X.shape
    rows = min(n_samples, max(1, _BLOCK_ELEMENTS // n_features))
    # fresh 512 kB temporaries per block were each a new mmap of the allocator, their
    # page faults most of the pass's time: buffers reused for every block
    buffer = np.empty((rows, n_features))
    running = _Moments(n_features)
    for start in range(0, n_samples, rows):
        block = buffer[:min(rows, n_samples - start)]
        np.copyto(block, X[start:start + rows])
        high, low = float(block.max()), float(block.min())  # NaN or inf if any is
        if np.isfinite(high) and np.isfinite(low):
            x_max = max(x_max, high, -low)
            if moments and not n_bad:
                with np.errstate(over="ignore", invalid="ignore"):  # huge X: refused below
                    running.merge(block)
        else:
            finite = np.isfinite(block)
            if not n_bad:  # the first one's place, as check_array gives it
                row, col = (int(i) for i in np.argwhere(~finite)[0])
                first = (f", the first at index ({start + row}, {col}) ({block[row, col]})"
                         f"{pandas_labels(source, (start + row, col))}")
            n_bad += block.size - int(np.count_nonzero(finite))
    if n_bad:
        raise ValueError(f"{name} contains {n_bad} non-finite value(s) (NaN or inf){first}")
    if not allow_zero and x_max == 0:
        raise ValueError(f"{name}: every sample is zero; there is nothing to learn from")
    # a sample's squared norm must fit the working dtype with room for the sums over
    # samples and updates that the learners accumulate (a factor 1e6)
    dtype = np.dtype(dtype)
    limit = float(np.finfo(dtype).max) * 1e-6
    if x_max > 0 and 2 * np.log10(x_max) + np.log10(X.shape[1]) > np.log10(limit):
        raise ValueError(
            f"{name}: values up to {x_max:.3g} overflow {dtype.name} squared norms of "
            f"{X.shape[1]} features (~{limit:.1e} at most); rescale {name}, e.g. "
            f"{name} / {name}.std()" + (" or use dtype=float64" if dtype == np.float32 else "")
        )
    # and the other end: products of such values underflow (the solvers' limit too)
    if 0 < x_max < smallest_safe_value(dtype):
        raise ValueError(
            f"{name}: values of at most {x_max:.3g} are too small for {dtype.name} (their "
            f"products underflow its smallest normal number {np.finfo(dtype).tiny:.1e}); "
            f"rescale {name}, e.g. {name} / {name}.std()"
            + (" or use dtype=float64" if dtype == np.float32 else "")
        )
    if not moments:
        return DataStatistics(x_max)
    return DataStatistics(x_max, running.mean, running.spread(), running.low, running.high)


class _Moments:
    """Running count, mean of each feature and total ``M2`` (sum over samples
    and features of the squared deviations from the feature means), merged
    block by block (Chan, Golub & LeVeque 1979), and the smallest and largest
    value of each feature."""

    def __init__(self, n_features):
        self.count, self.mean, self.m2 = 0, np.zeros(n_features), 0.0
        self.low, self.high = np.full(n_features, np.inf), np.full(n_features, -np.inf)

    def merge(self, block):
        """Merge the float64 ``block`` (n, n_features), a C-contiguous scratch copy
        (centred in place)."""
        n = block.shape[0]
        np.minimum(self.low, block.min(axis=0), out=self.low)
        np.maximum(self.high, block.max(axis=0), out=self.high)
        block_mean = block.sum(axis=0) / n
        centred = np.subtract(block, block_mean, out=block).ravel()
        delta = block_mean - self.mean
        total = self.count + n
        self.mean += delta * (n / total)
        # einsum, not the BLAS dot: no BLAS threads (they stall under load) for this
        self.m2 += float(np.einsum("i,i->", centred, centred)) + float(
            np.einsum("i,i->", delta, delta)) * (self.count * n / total)
        self.count = total

    def spread(self):
        """Root mean square of ``X - mean`` over samples and features."""
        return float(np.sqrt(self.m2 / (self.count * self.mean.size)))


class Minibatches:
    """Endless minibatch indices over ``n`` samples: consecutive slices of a
    fresh permutation each epoch (``shuffle``; the ``n % batch_size`` left at
    the end of one sit that epoch out), or of ``0..n-1`` in order, wrapping
    around (a batch that runs past the end continues from the start, so that
    every sample is used)."""

    def __init__(self, n, batch_size, shuffle, rng):
        self.n, self.batch_size, self.shuffle, self.rng = n, min(batch_size, n), shuffle, rng
        self._order = self._new_order()
        self._pos = 0

    def _new_order(self):
        return self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def next(self) -> np.ndarray:
        if not self.shuffle:  # in order: the same tail would be skipped every epoch
            idx = (self._pos + np.arange(self.batch_size)) % self.n
            self._pos = (self._pos + self.batch_size) % self.n
            return idx
        if self._pos + self.batch_size > self.n:
            self._order = self._new_order()
            self._pos = 0
        idx = self._order[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx


def warn_if_more_atoms_than_samples(n_atoms, n_samples, when, samples="training samples"):
    """Warn that ``n_samples`` training rows cannot use ``n_atoms`` distinct atoms.

    ``when`` says how often the learner re-seeds the unused and duplicate atoms
    (MOD, K-SVD: "every update"; online: by its ``reseed_patience`` and
    ``duplicate_tol``); ``samples`` names the rows (a stream's "samples of the first
    chunk").
    """
    if n_atoms <= n_samples:
        return
    # (MOD: D = (A^T A)^-1 A^T X = A^T W, so atoms that only one sample uses come out
    # parallel, and the residuals of a few samples give few new directions)
    warnings.warn(
        f"n_atoms={n_atoms} is more than the {n_samples} {samples}: so few samples "
        f"cannot use that many distinct atoms, and the unused and duplicate ones are "
        f"re-seeded {when} (n_reseeded in the history); use fewer atoms or more samples",
        UserWarning, stacklevel=user_stacklevel())
