"""What a solver derives from its dictionary alone, kept for the next call with the same
dictionary.

Users encode in loops (an image at a time, a sweep point at a time, beside a spiking
run), each call with the same ``D``: LCA built the Gram matrix ``D D^T`` and took its
top eigenvalue (the stable Euler step) at every call, ~80% of the CPU of a one-sample
call on a 1024 x 256 dictionary (14.2 ms per call before, 2.8 ms with the cache,
2026-12-07, ``benchmarks/README.md``). The other solvers did the same: fista, iht and
lasso_active_set built the Gram matrix and its top eigenvalue, lasso_cd and the pursuits
the Gram matrix (:func:`gram_of`, :func:`spectral_norm_of`; iht keeps its iteration
matrix ``I - mu D D^T`` instead, which it built in place of ``G``), and so did the
spiking LCA its lateral weights ``D D^T - I`` (``v1model.spiking.lca._lateral_weights``),
and the spiking convolutional LCA its sparse ``ΦᵀΦ - I``, keyed on the kernels with the
stride, boundary and signal shape in the value's name
(``v1model.spiking.convolutional._lateral_weights``; 226 ms of CPU per call on 16x16 crops
before, 3.8 ms kept, 2026-12-07).
:func:`values_of` keeps such values for the last dictionary coded with (when they fit
the bound below), one entry shared by all the solvers.

The key is the dictionary's content, not ``id(D)``: the cache holds its own copy of
``D`` (read-only) and a call hits only when its ``D`` has the same shape and values, so
a dictionary changed in place between calls misses, and the same values in another
array (a slice, a reloaded file) hit. The values are computed from that copy, never
from the caller's array, so that a value is always the one of its key, even when the
caller's array changes while it is computed. One dictionary at a time, with its values
within :data:`MAX_CACHE_BYTES`; a lock guards the entry, so that threads coding with
one dictionary share it.

A dictionary learner changes its dictionary at every update, so that a kept value would
never be read again, and keeping it would evict the dictionary a user codes with between
learning runs, whose Gram matrix the next call then built again (a one-sample OMP call
on 1024 x 256 atoms right after a 2-update learning run: 7.8 ms of CPU, 1.6 ms now,
2026-12-07, ``benchmarks/README.md``). The learners run their loop inside
:func:`bypassing_cache`: there :func:`values_of` computes the values for each call alone,
the same way, and the entry is left as it was. The bypass is a context variable, so that
it holds for the thread (or asyncio task) that entered it alone: a learner in one thread
leaves the cache on for the others, and the solvers need no argument of their own for it.

A dictionary is kept once one of its values is: a call whose values all exceed the bound
(the spiking convolutional LCA's lateral weights of many kernels on a large signal) leaves
the kept dictionary and its values in place, where it evicted them for a key kept alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading

import numpy as np

__all__ = ["values_of", "gram_of", "spectral_norm_of", "shared_sparse", "bypassing_cache",
           "clear_dictionary_cache", "MAX_CACHE_BYTES"]

#: bytes the cache may hold: the copy of the dictionary (its key) and the values derived
#: from it. A dictionary whose copy does not fit is not kept (every call computes its
#: values); a value that does not fit beside it is computed and not kept. 128 MB: a
#: 4096 x 1024 float64 dictionary (32 MB) with its float32 Gram matrix (64 MB). A bound
#: per dictionary: the kept one stays until a new one keeps its first value, so that while
#: that value is computed both are held, up to twice this (a switch between two 2048 x 1024
#: float64 dictionaries, float32 Gram matrices: 72 MB at the peak, 48 MB when the new one
#: replaced the kept one at once, before 2026-12-08; tracemalloc, 2026-12-08)
MAX_CACHE_BYTES = 128 * 2**20
#: elements compared at a time when a call's dictionary is matched with the key: the
#: comparison's booleans stay at 1 MB, and a change in the first rows ends it early
_COMPARE_BLOCK = 2**20

_LOCK = threading.Lock()
_entry = None  # the last dictionary's _Entry; replaced whole under _LOCK
#: how many times :func:`clear_dictionary_cache` ran: an entry made before the last clear
#: is not kept (its call began before it, and would have filled the cache it emptied)
_clears = 0
#: True inside :func:`bypassing_cache`: a context variable, so that each thread (each
#: asyncio task) has its own, and one learner's bypass is not another thread's
_BYPASSED = contextvars.ContextVar("v1model_dictionary_cache_bypassed", default=False)


class _Entry:
    """A read-only copy of a dictionary and the values derived from it (by name); it
    becomes the kept entry when it keeps its first value."""

    __slots__ = ("key", "values", "nbytes", "installed", "clears")

    def __init__(self, D):
        self.key = np.array(D, order="C", copy=True)
        self.key.flags.writeable = False
        self.values = {}
        self.nbytes = self.key.nbytes
        self.installed = False
        self.clears = _clears  # kept only if no clear_dictionary_cache comes before

    def matches(self, D):
        """Whether ``D`` has the key's shape and values (compared a block of rows at a
        time)."""
        if D.shape != self.key.shape:
            return False
        # a row: an atom, or a convolutional kernel (all its axes)
        rows = max(1, _COMPARE_BLOCK // max(int(np.prod(D.shape[1:])), 1))
        return all(np.array_equal(self.key[i:i + rows], D[i:i + rows])
                   for i in range(0, D.shape[0], rows))

    def get(self, name, compute):
        """``compute(key)``, computed at the first call with ``name`` and kept when it
        fits within :data:`MAX_CACHE_BYTES` (see :func:`values_of`)."""
        with _LOCK:
            if name in self.values:
                return self.values[name]
        # computed outside the lock: threads with other names (or dictionaries) go on;
        # two threads may compute the same value, of the same key, once each
        value = compute(self.key)
        size = _freeze(value)
        global _entry
        with _LOCK:
            if name not in self.values and self.nbytes + size <= MAX_CACHE_BYTES:
                self.values[name] = value
                self.nbytes += size
                if not self.installed and self.clears == _clears:
                    # the last dictionary with a value kept replaces the one before; one
                    # whose values do not fit leaves it (kept alone, its key evicted a
                    # user's dictionary for nothing); one made before a clear, whose
                    # value came after it, is this call's alone (it filled the cache again)
                    _entry, self.installed = self, True
            return self.values.get(name, value)


def _freeze(value):
    """Make the arrays of ``value`` (an array, a compressed ``scipy.sparse`` matrix, or a
    tuple holding them: iht's step matrix with its step size) read-only; return their
    bytes. A sparse matrix's are those of its ``data``, ``indices`` and ``indptr`` (the
    spiking convolutional LCA's lateral weights: counted as 0 bytes, they would not have
    been bounded); hand it out through :func:`shared_sparse`, whose attributes a caller
    may replace without reaching the kept one."""
    size = 0
    for item in value if isinstance(value, tuple) else (value,):
        if hasattr(item, "tocsr") and not hasattr(item, "indptr"):
            # COO, LIL, DOK: counted as 0 bytes (unbounded) and left writable
            raise TypeError(f"a kept sparse value must be CSR, CSC or BSR (arrays data, "
                            f"indices, indptr), got {type(item).__name__}: convert it")
        parts = (item.data, item.indices, item.indptr) if hasattr(item, "indptr") else (item,)
        for array in parts:
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
                size += array.nbytes
    return size


def shared_sparse(matrix):
    """A new CSR/CSC matrix object on the read-only arrays of a kept ``matrix`` (no copy):
    what writes into its arrays fails (setting a stored entry, ``eliminate_zeros``, ``*=``;
    ValueError, read-only), and what scipy replaces instead (the arrays grown by a new
    entry or ``setdiag``, sorted-index flags) changes this object alone, never the kept
    one that later calls get."""
    return type(matrix)((matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape,
                        copy=False)


def values_of(D):
    """The values derived from dictionary ``D`` (those of an earlier call with the same
    values, if it was the last dictionary kept), as an object whose ``get(name,
    compute)`` returns ``compute(D)``, computed once per dictionary; inside
    :func:`bypassing_cache`, computed for the object returned alone.

    ``D`` is compared with the kept copy here, once (at memory speed: 0.07 ms for a
    1024 x 256 float64 dictionary in cache, 10 ms for 4096 x 1024); a ``D`` changed in
    place after this call is not seen by the object returned, which stands for ``D`` as
    it was.

    Parameters
    ----------
    D : ndarray, shape (n_atoms, n_features) or (n_kernels, *kernel_shape)
        A validated dictionary (finite, any float dtype), or convolutional kernels (the
        spiking convolutional LCA's: the geometry its values depend on goes in their
        names); only an array of the same shape matches it.

    Returns
    -------
    object
        With ``get(name, compute)``: ``name`` (hashable, e.g. ``("gram_off",
        "float32")``) says what ``compute(D) -> value`` derives, a function of the
        values of ``D`` alone; it is given the cache's read-only copy of ``D``, whose
        dtype is that of the call that kept it (a float32 ``D`` and its float64 copy
        match: an estimator's ``transform`` and ``score`` share the entry), so
        ``compute`` casts it to the dtype its value is for. An array it returns is made
        read-only (callers share it: they must not change it).
    """
    if _BYPASSED.get():  # a learner's dictionary: never seen again, and the user's stays
        return _Uncached(D)
    entry = _entry  # one read: another thread may replace it meanwhile
    if entry is not None and entry.matches(D):
        return entry
    if D.nbytes > MAX_CACHE_BYTES:  # too large to keep: computed at every call
        return _Uncached(D)
    return _Entry(D)  # kept (replacing the entry) once it keeps a value


@contextlib.contextmanager
def bypassing_cache():
    """Within this block, in this thread (or asyncio task) alone, :func:`values_of`
    neither compares ``D`` with the kept dictionary nor copies it: each call's values are
    computed for that call (once per name, read-only as kept ones, to the bit the same),
    and the kept dictionary and its values stay in place.

    For the dictionary learners, whose dictionary changes at every update: they enter it
    around their loop, so that the solvers they call keep nothing of theirs and the
    dictionary a user codes with before and after a learning run stays kept. Nestable;
    other threads keep the cache (a context variable, not a global flag); a thread
    started inside the block starts with the cache on (CPython's default: threads do not
    inherit their parent's context).

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.inference import _dictionary_cache as cache
    >>> D_user, D_learned = np.eye(3), 2 * np.eye(3)
    >>> G_user = cache.gram_of(cache.values_of(D_user), np.float64)  # kept
    >>> with cache.bypassing_cache():  # a learner's update
    ...     G = cache.gram_of(cache.values_of(D_learned), np.float64)  # this call's
    >>> bool(np.array_equal(cache._entry.key, D_user)), float(G[0, 0])
    (True, 4.0)
    """
    token = _BYPASSED.set(True)
    try:
        yield
    finally:
        _BYPASSED.reset(token)


def gram_of(values, dtype):
    """``D D^T`` (n_atoms, n_atoms) in ``dtype``, read-only, of the dictionary of
    ``values`` (:func:`values_of`): ``D`` cast to ``dtype`` (C order) and multiplied by its
    transpose, as the solvers built it at every call, so the same values to the bit.
    A solver that changes its Gram matrix in place must copy it (or cache what it makes
    of it, as iht its step matrix)."""
    dtype = np.dtype(dtype)

    def gram(D):
        Dw = np.ascontiguousarray(D, dtype=dtype)
        return Dw @ Dw.T

    return values.get(("gram", dtype.name), gram)


def spectral_norm_of(values, dtype, G=None):
    """:func:`~v1model.inference._common.spectral_norm_gram` of the dictionary of
    ``values`` cast to ``dtype``, with ``G`` its :func:`gram_of` in ``dtype`` (the value
    the solvers computed at every call from their ``D`` and ``G``: for ``n_atoms <=
    n_features`` the top eigenvalue of ``G`` itself, in float64)."""
    from ._common import spectral_norm_gram

    dtype = np.dtype(dtype)

    def top_eigenvalue(D):
        return spectral_norm_gram(np.ascontiguousarray(D, dtype=dtype), G)

    return values.get(("spectral_norm_gram", dtype.name), top_eigenvalue)


class _Uncached:
    """:func:`values_of` for a dictionary not kept (too large, or in
    :func:`bypassing_cache`): each value is computed at its first ``get`` and held by this
    object alone, one call's."""

    __slots__ = ("key", "values")

    def __init__(self, D):
        self.key = D
        self.values = {}

    def get(self, name, compute):
        if name not in self.values:
            # read-only as a kept value: the solvers get the same arrays either way
            value = compute(self.key)
            _freeze(value)
            self.values[name] = value
        return self.values[name]


def clear_dictionary_cache():
    """Drop the dictionary kept by :func:`values_of` and its values (memory back); a call
    under way in another thread keeps nothing of its own afterwards (only calls that start
    after this one keep a dictionary)."""
    global _entry, _clears
    with _LOCK:
        _entry = None
        _clears += 1
