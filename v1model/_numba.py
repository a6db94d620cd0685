"""numba's ``njit`` with its on-disk cache where one can be written.

``numba.njit(cache=True)`` looks for a writable folder when the function is
*decorated*, that is when its module is imported: ``__pycache__`` next to the
source, else numba's user-wide cache (``~/.cache/numba``), or
``NUMBA_CACHE_DIR`` when set. With none of them writable (a read-only install,
such as a shared site-packages or a cluster module, and a read-only or missing
home folder) it raises ``RuntimeError: cannot cache function ...: no locator
available``, and ``import v1model.inference`` failed with it. Here such a
kernel is compiled without the disk cache instead (in every process that
calls it: a few seconds each), with one warning that says how to keep it.
"""

from __future__ import annotations

import warnings

import numba

from ._frames import user_stacklevel

__all__ = ["cached_njit"]

#: whether the warning that kernels are not cached on disk was given
_WARNED = False


def cached_njit(**options):
    """``numba.njit(cache=True, **options)``, without the disk cache where no
    folder can hold it.

    Parameters
    ----------
    **options
        numba's ``njit`` options (``fastmath``, ``nogil``, ``parallel``, ...).

    Returns
    -------
    decorator : callable
        Turns a Python function into a numba dispatcher.

    Warns
    -----
    UserWarning
        Once per process, when a kernel cannot be cached on disk.
    """
    def decorate(func):
        global _WARNED
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
        if not _WARNED:
            _WARNED = True
            warnings.warn(
                f"numba cannot cache v1model's compiled kernels: no writable folder for "
                f"{func.__code__.co_filename!r} (its __pycache__, numba's user cache "
                "or NUMBA_CACHE_DIR); they are compiled again in every process (a few "
                "seconds each). Set NUMBA_CACHE_DIR to a writable folder to keep them",
                UserWarning, stacklevel=user_stacklevel())
        return numba.njit(cache=False, **options)(func)

    return decorate
