"""Data-frame input and output for the scikit-learn estimator protocol.

scikit-learn records the column names of a pandas DataFrame passed to
``fit`` as ``feature_names_in_``, checks them again in ``transform``, and
returns DataFrames when ``set_output(transform="pandas")`` (or the global
``sklearn.set_config(transform_output="pandas")``) asks for them. The
estimator here does the same without importing scikit-learn: the messages
are scikit-learn's own, so that its estimator checks and users' pipelines
see the behaviour they expect.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .._frames import user_stacklevel

#: accepted values of ``set_output(transform=...)``
OUTPUTS = ("default", "pandas", "polars")


def feature_names(X) -> np.ndarray | None:
    """Column names of a data frame ``X`` as an object array, or None.

    None for arrays and for frames whose names are not all strings (the
    default integer column labels); mixed string and non-string names are
    refused, as scikit-learn does.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "shape"):
        return None
    names = np.asarray(list(columns), dtype=object)
    is_str = np.array([isinstance(name, str) for name in names], dtype=bool)
    if names.size == 0 or not is_str.any():
        return None
    if not is_str.all():
        kinds = sorted({type(name).__name__ for name in names})
        raise TypeError("Feature names are only supported if all input features have string "
                        f"names, but your input has {kinds} as feature name / column name "
                        "types. Convert all column names to str (X.columns = "
                        "X.columns.astype(str)).")
    return names


def check_feature_names(estimator, X, fitted_names) -> None:
    """Compare the column names of ``X`` with those seen by ``fit``.

    Mismatched names raise ValueError; names on one side only warn (the
    columns are then matched by position).
    """
    names = feature_names(X)
    cls = type(estimator).__name__
    if names is None and fitted_names is None:
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      "feature names", UserWarning, stacklevel=user_stacklevel())
        return
    if fitted_names is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=user_stacklevel())
        return
    if len(names) == len(fitted_names) and np.all(names == fitted_names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unseen = sorted(set(names) - set(fitted_names))
    missing = sorted(set(fitted_names) - set(names))

    def listing(items, limit=5):
        shown = "".join(f"- {item}\n" for item in items[:limit])
        return shown + ("- ...\n" if len(items) > limit else "")

    if unseen:
        message += "Feature names unseen at fit time:\n" + listing(unseen)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listing(missing)
    if not unseen and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_output(transform):
    """Validated ``set_output(transform=...)`` value (None keeps the current one)."""
    if transform is None or (isinstance(transform, str) and transform in OUTPUTS):
        return transform
    raise ValueError(f"transform must be one of {', '.join(map(repr, OUTPUTS))} or None, "
                     f"got {transform!r}")


def transform_output(estimator) -> str | None:
    """The ``set_output(transform=...)`` setting of ``estimator``, None when it was
    never set (scikit-learn's global ``transform_output`` then applies)."""
    return getattr(estimator, "_sklearn_output_config", {}).get("transform")


def saved_transform_output(attrs) -> str | None:
    """The ``set_output(transform=...)`` setting a saved estimator's ``attrs`` hold
    (``attrs["transform_output"]``), None when they hold none (a file from before
    the setting was saved, or of an estimator that never had one).

    Raises
    ------
    ValueError
        Naming ``ds.attrs['transform_output']`` and its value, when that is not one of
        :data:`OUTPUTS`: ``set_output``'s own message named its argument
        ``transform``, which the caller of ``load`` never gave, and showed a
        number saved there as text (``'3'``).
    """
    if "transform_output" not in attrs:
        return None
    value = attrs["transform_output"]
    if not (isinstance(value, str) and value in OUTPUTS):
        shown = value.item() if isinstance(value, np.generic) else value  # 3, not np.int64(3)
        raise ValueError(f"ds.attrs['transform_output'] holds {shown!r}, which is no "
                         f"set_output(transform=...) setting ({', '.join(map(repr, OUTPUTS))}); "
                         "the file was edited or damaged: delete the attr to load the model "
                         "with the default output")
    return str(value)


def set_transform_output(estimator, transform):
    """``estimator.set_output(transform=transform)``, shared by the estimators:
    ``transform`` validated (:func:`check_output`) and kept where scikit-learn
    keeps it on its own estimators (``_sklearn_output_config``); None keeps the
    current setting. Returns ``estimator``."""
    transform = check_output(transform)
    if transform is not None:
        estimator._sklearn_output_config = {"transform": transform}
    return estimator


def requested_output(local) -> str:
    """The container asked for: the estimator's own ``set_output`` setting,
    else scikit-learn's global ``transform_output`` when scikit-learn is
    already imported (never imported here), else ``"default"``."""
    if local is not None and local != "default":
        return local
    if local is None and "sklearn" in sys.modules:
        value = sys.modules["sklearn"].get_config().get("transform_output", "default")
        return value if value in OUTPUTS else "default"
    return "default"


def wrap_output(codes, X, columns, output):
    """``codes`` (n_samples, n_atoms) as the container ``output`` asks for,
    with the code columns named ``columns`` and, for pandas, the index of
    ``X`` when ``X`` is a pandas DataFrame."""
    if output == "default":
        return codes
    if output == "pandas":
        import pandas as pd  # installed with xarray

        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(codes, columns=list(columns), index=index, copy=False)
    try:
        import polars as pl
    except ImportError as err:
        raise ImportError("set_output(transform='polars') needs polars, which is not "
                          "installed (pip install polars)") from err
    return pl.DataFrame(codes, schema=list(columns), orient="row")


def output_feature_names(estimator, n_outputs, input_features=None) -> np.ndarray:
    """Names of the ``n_outputs`` output columns of a fitted ``estimator``
    (``get_feature_names_out``): its class name in lower case and the column index,
    ``sparsedictionarylearner0`` ... as scikit-learn names them. ``input_features``
    (optional) is only checked against the input columns (``n_features_in_`` and,
    when set, ``feature_names_in_``): the outputs are atoms or latents, not inputs."""
    if input_features is not None:
        given = np.asarray(input_features, dtype=object)
        if given.ndim != 1 or given.size != estimator.n_features_in_:
            raise ValueError(f"input_features should have length equal to number of "
                             f"features ({estimator.n_features_in_}), got shape {given.shape}")
        fitted = getattr(estimator, "feature_names_in_", None)
        if fitted is not None and not np.array_equal(given, fitted):
            raise ValueError("input_features is not equal to feature_names_in_")
    prefix = type(estimator).__name__.lower()
    return np.asarray([f"{prefix}{i}" for i in range(n_outputs)], dtype=object)
