"""Lazy, headless matplotlib, and the real-valued arrays the plots take."""

import numpy as np


def pyplot():
    """``matplotlib.pyplot``, imported on first use with the headless Agg backend.

    The backend is switched to Agg unless it is Agg or the inline backend
    already; an interactive backend that is running is left as it is.

    Returns
    -------
    module
        The ``matplotlib.pyplot`` module.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # noqa: BLE001 - an interactive backend is already running
            pass
    import matplotlib.pyplot as plt

    return plt


def as_real(values, name, dtype=float):
    """``values`` as a real array of ``dtype``; a TypeError naming ``name`` for
    complex values (numpy would drop the imaginary part with only a warning) and,
    for an integer ``dtype``, for values that are not whole numbers.

    Parameters
    ----------
    values : array_like
        Real numeric values, any shape.
    name : str
        Argument name used in error messages.
    dtype : dtype
        Target dtype (default float, i.e. float64).

    Returns
    -------
    ndarray
        A new array of ``dtype``, of the shape of ``values``.

    Raises
    ------
    TypeError
        For None, complex or non-numeric values, or, for an integer ``dtype``,
        float values that are not whole numbers.
    """
    if values is None:  # np.asarray(None).astype(float) is NaN: drawn as nothing, unsaid
        raise TypeError(f"{name} must be an array, got None")
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got a complex array of shape {arr.shape}")
    try:
        out = arr.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got an array of {arr.dtype}") from exc
    if np.dtype(dtype).kind in "iu" and arr.dtype.kind == "f" and np.any(out != arr):
        raise TypeError(f"{name} must hold whole numbers (unit indices), got values such as "
                        f"{arr[out != arr].flat[0]!r}")
    return out


def plain_log_ticks(axis):
    """Major ticks at 1-2-5 on a log ``axis`` with plain labels (0.002, 200, 1000),
    not 2×10⁻³ mathtext, and no labels on the minor ticks.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        ``ax.xaxis`` or ``ax.yaxis`` of a log-scaled Axes; changed in place.
    """
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())
