"""One entry point for every sparse-inference method.

``encode(X, D, method, ...)`` validates the arguments that all methods share
and dispatches to the solver; the solvers stay importable on their own.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..progress import check_progress
from ..validation import as_generator, check_bool, check_choice, check_dtype, did_you_mean
from ._common import check_threshold_positive, labelled_codes
from .active_set import lasso_active_set
from .coordinate_descent import lasso_cd
from .fista import fista
from .iht import iht
from .lca import lca
from .pursuit import matching_pursuit, orthogonal_mp

__all__ = ["encode", "check_method_params", "METHODS", "L1_METHODS", "GREEDY_METHODS"]

#: methods that minimise the LASSO objective 0.5 ||x - D^T a||^2 + lam ||a||_1
#: ("lca" with threshold="hard" minimises the L0-penalised one instead)
L1_METHODS = ("lca", "fista", "ista", "active_set", "cd")
#: greedy / L0 methods driven by a number of atoms (or a residual tolerance)
GREEDY_METHODS = ("mp", "omp", "iht")
#: every method ``encode`` accepts
METHODS = L1_METHODS + GREEDY_METHODS


#: the solver behind each method
SOLVERS = {"lca": lca, "fista": fista, "ista": fista, "active_set": lasso_active_set,
           "cd": lasso_cd, "mp": matching_pursuit, "omp": orthogonal_mp, "iht": iht}
#: arguments every method gets from encode itself (or that select the method)
_SET_BY_ENCODE = {"X", "D", "lam", "n_nonzero", "positive", "dtype", "return_history",
                  "accelerated", "progress"}
#: the names of an iteration limit, which differ with what a solver iterates
_ITERATION_LIMITS = ("max_iter", "max_steps", "max_sweeps", "max_rounds", "n_iter")


def check_method_params(method: str, params, name: str = "method_params") -> None:
    """Raise a TypeError naming the parameters ``method``'s solver does not take.

    The message lists the solver's own parameters and, for an iteration limit
    under another solver's name (``max_iter`` for ``"lca"``), the right one.

    Parameters
    ----------
    method : str
        A method name of :func:`encode` (a key of ``SOLVERS``).
    params : dict or iterable of str
        Extra solver parameters, by name (only the names are checked).
    name : str, default "method_params"
        Name of ``params`` in the message.

    Returns
    -------
    None

    Raises
    ------
    TypeError
        For the first name the solver does not take, a private one of the
        solver's (``_stats``, ``_names``: they start with ``_``) too.
    """
    solver = inspect.signature(SOLVERS[method]).parameters
    own = sorted(p for p in solver if p not in _SET_BY_ENCODE and not p.startswith("_"))
    if method == "lca":
        own.append("threshold")
    for key in params:
        if key in own:
            continue
        limit = [p for p in own if p in _ITERATION_LIMITS]
        if key in _ITERATION_LIMITS and limit:
            hint = f" (its iteration limit is {limit[0]!r})"
        elif key.startswith("_") and key in solver:
            # the package's own (a caller's names for X and D, a benchmark's counters):
            # passed on from a user, they renamed X in errors or filled a dict, unsaid
            hint = " (a private parameter, for the package's own calls)"
        else:
            hint = did_you_mean(key, own)
        raise TypeError(f"{name}: method={method!r} takes no parameter {key!r}{hint}; its "
                        f"parameters are {', '.join(sorted(set(own)))}")


def encode(X, D, method: str = "fista", *, lam=None, n_nonzero=None, tol=None,
           positive: bool | None = None, dtype=np.float32, return_history: bool = False, seed=None,
           progress: bool | None = None, **method_params):
    """Sparse codes of ``X`` in the dictionary ``D`` by any method.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_features,)
        Signals, one per row (with atoms as images, also patches
        ``(n_samples, height, width)`` of their shape).
    D : array_like, shape (n_atoms, n_features) or (n_atoms, height, width)
        Dictionary, one (normally unit-norm) atom per row; atoms as images
        (e.g. a network's ``ds["dictionary"]`` (atom, y, x), read by dim name)
        are flattened row-major, as patches are, by every method
        (:func:`~v1model.validation.flatten_image_atoms`).
    method : str, default "fista"
        One of :data:`METHODS`:

        - ``"lca"``: Locally Competitive Algorithm (neural dynamics; Euler
          integration), :func:`~v1model.inference.lca`;
        - ``"fista"`` / ``"ista"``: proximal gradient,
          :func:`~v1model.inference.fista`;
        - ``"active_set"``: LASSO by exact support solves, KKT-checked to
          ``tol * lam``, at about FISTA's speed,
          :func:`~v1model.inference.lasso_active_set`;
        - ``"cd"``: coordinate descent compiled with numba, the fastest LASSO
          solver here, :func:`~v1model.inference.lasso_cd`;
        - ``"mp"`` / ``"omp"``: (orthogonal) matching pursuit,
          :func:`~v1model.inference.matching_pursuit`,
          :func:`~v1model.inference.orthogonal_mp`;
        - ``"iht"``: iterative hard thresholding, :func:`~v1model.inference.iht`.
    lam : float, optional
        Sparseness penalty. Required by the L1 methods (LASSO weight, in the
        units of ``X``; for ``lca`` with ``threshold="hard"`` the threshold). The
        data term is not divided by the number of features: ``lam`` is
        scikit-learn's ``alpha`` in ``sparse_encode`` and ``SparseCoder``, and
        ``alpha = lam / n_features`` in ``Lasso`` and ``LassoLars``
        (``fit_intercept=False``, fitted to ``D.T``); for ``"iht"`` the
        weight of the same L0 energy (alternative to ``n_nonzero``; its codes
        are much sparser than the hard LCA's at equal ``lam`` on overcomplete
        dictionaries, :func:`~v1model.inference.iht` Notes); not used by
        mp/omp.
    n_nonzero : int, optional
        Atoms per sample for mp/omp/iht (at most ``n_atoms``; for omp at most
        ``n_features``).
    tol : float, optional
        The method's stopping tolerance (its own default when None): the
        relative change for iht, and for fista/ista with the duality gap
        at most ``tol * ||x||^2`` too, the relative membrane change for
        lca (its Euler path: with ``integrator="ivp"``, which stops by
        ``rtol``/``atol`` at the last ``t_eval``, a ``tol`` is warned of as
        ignored, :func:`~v1model.inference.lca`), the KKT tolerance
        (relative to ``lam``) for active_set and cd, and the
        squared residual norm for mp/omp. Each sample is tested on its own,
        but at float32 its rounding depends on which samples share the call,
        and that can move the iteration at which fista/ista stop it (a
        sample coded alone can stop earlier, meeting the step rule at a
        larger objective gap: :func:`~v1model.inference.fista`, ``tol``).
    positive : bool or None, default None
        Non-negative codes (LCA: rectified threshold ``"nonneg"``). None: False,
        except for ``"lca"`` given a ``threshold``, whose codes follow it
        (``"nonneg"`` is non-negative); given with a ``threshold`` the two must
        agree (``True`` with ``"nonneg"``, ``False`` with ``"soft"`` or
        ``"hard"``), as in ``SparseCodingNetwork.encode``.
    dtype : {float32, float64}, default float32
        Working precision and dtype of the codes (except ``"lca"`` with
        ``integrator="ivp"``, which SciPy integrates in float64 and returns
        as float64).
    return_history : bool, default False
        Also return an ``xarray.Dataset`` over ``iteration`` with
        ``objective``, ``data_term``, ``penalty`` (summed over samples) and
        ``n_active`` (mean non-zeros per sample).
    seed : int, Generator or None, optional
        Accepted for a uniform interface; every method here is deterministic.
    progress : bool or None, default None
        A tqdm bar over the samples, for every method (cd and mp code the
        samples in chunks for it, bit-identical to one chunk; omp in the
        blocks that bound its memory, with or without the bar): None shows it
        once the call has run 2 s (:mod:`v1model.progress`), True at once,
        False never. The codes of a sample can differ at rounding level
        between calls on different sets of rows (BLAS may round a row's
        product differently for another number of rows).
    **method_params
        Passed to the solver (e.g. ``n_warm`` for active_set, ``tau``,
        ``threshold`` or ``n_steps`` for lca). The iteration limit is
        ``max_iter`` for fista/ista/iht/mp, ``max_steps`` for lca,
        ``max_sweeps`` for cd and ``max_rounds`` for active_set; a parameter
        the method does not take (a solver's private one, starting with ``_``,
        too) is a TypeError that lists the ones it does.

    Returns
    -------
    codes : ndarray or xarray.DataArray, shape (n_samples, n_atoms), ``dtype``
        Sparse codes, one row per sample (a single sample of shape
        ``(n_features,)`` gives ``(1, n_atoms)``). For a DataArray ``X``, a
        DataArray over (sample, atom) with ``X``'s sample labels, the atom
        labels of a DataArray ``D`` (else 0, 1, ...), ``units`` (``X``'s) and
        the settings (``method``, ``lam`` or ``n_nonzero``, ``tol``,
        ``positive``, ``dtype``; with ``lam``, ``lam_units``, ``X``'s units as
        the codes') in attrs; for an array ``X``, an ndarray.
    history : xarray.Dataset, optional
        Per-iteration history (dim ``iteration``), with ``return_history``.

    Raises
    ------
    ValueError
        For an unknown ``method`` or ``dtype``, an L1 method without ``lam``
        or with ``n_nonzero``, mp/omp with ``lam``, a ``positive`` that
        contradicts the LCA ``threshold`` (``True`` with one other than
        ``"nonneg"``, ``False`` with ``"nonneg"``), or invalid ``X``/``D``.
    TypeError
        For a non-bool ``positive``/``return_history``, or ``X``/``D``
        also given in ``method_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.inference import encode
    >>> D = np.eye(3)
    >>> encode(np.array([[2.0, -0.2, 0.5]]), D, "omp", n_nonzero=1)
    array([[2., 0., 0.]], dtype=float32)
    """
    return encode_with_names(("X", "D"), X, D, method, lam=lam, n_nonzero=n_nonzero, tol=tol,
                             positive=positive, dtype=dtype, return_history=return_history,
                             seed=seed, progress=progress, **method_params)


def encode_with_names(names, X, D, method: str = "fista", *, lam=None, n_nonzero=None,
                      tol=None, positive: bool | None = None, dtype=np.float32,
                      return_history: bool = False, seed=None, progress: bool | None = None,
                      **method_params):
    """:func:`encode`, calling ``X`` and ``D`` ``names`` in its messages: a caller's own
    names for them (``SparseCodingNetwork.encode``'s ``("X", "dictionary")``), given
    here rather than as the solvers' private ``_names`` among ``method_params``, where
    :func:`check_method_params` refuses it as a user's key.

    Parameters
    ----------
    names : tuple of (str, str)
        What the messages call ``X`` and ``D``.
    X, D, method, lam, n_nonzero, tol, positive, dtype, return_history, seed, progress
        As for :func:`encode`.
    **method_params
        As for :func:`encode`: the solver's parameters, checked by
        :func:`check_method_params`.

    Returns
    -------
    codes : ndarray or xarray.DataArray, shape (n_samples, n_atoms)
        And the history with ``return_history``, as :func:`encode` returns them.
    """
    method = check_choice(method, "method", METHODS)
    dtype = check_dtype(dtype)
    as_generator(seed)  # validated for a uniform interface; no method draws numbers
    if positive is not None:
        check_bool(positive, "positive")
    check_bool(return_history, "return_history")
    for name in ("X", "D"):
        if name in method_params:
            raise TypeError(f"encode() got {name!r} twice")
    if method in L1_METHODS:
        if lam is None:
            raise ValueError(f"method={method!r} needs lam (the sparseness penalty), got None")
        if n_nonzero is not None:
            raise ValueError(f"n_nonzero is for the greedy methods {GREEDY_METHODS}; "
                             f"method={method!r} is controlled by lam")
    elif method in ("mp", "omp"):
        if lam is not None:
            raise ValueError(f"method={method!r} does not use lam; give n_nonzero or tol")
    check_method_params(method, method_params, "encode")
    params = dict(method_params)
    if tol is not None:
        params["tol"] = tol
    check_progress(progress)
    params["progress"] = progress  # every solver draws a bar
    common = dict(dtype=dtype, return_history=return_history, _names=names)

    settings = dict(method=method, lam=lam, n_nonzero=n_nonzero, tol=tol,
                    positive=_resolved_positive(method, positive, params),
                    threshold=params.get("threshold"))
    out = _solve(X, D, method, lam, n_nonzero, positive, params, common)
    # labelled in, labelled out: the codes of a DataArray X keep its samples' labels, and
    # a DataArray D's atom labels (they came back as a bare array, rows by position)
    return labelled_codes(out, X, D, **settings)


def _resolved_positive(method, positive, params):
    """Whether ``encode``'s codes are non-negative: ``positive``, or for ``"lca"``
    without one, whether its ``threshold`` is ``"nonneg"``."""
    if method == "lca" and positive is None:
        return params.get("threshold") == "nonneg"
    return bool(positive)


def _solve(X, D, method, lam, n_nonzero, positive, params, common):
    """The solver of ``method`` on the arguments :func:`encode` has checked."""
    if method == "lca":
        # an explicit positive=False with threshold="nonneg" ran non-negative, unsaid
        if positive is not None and "threshold" in params:
            check_threshold_positive(params["threshold"], positive)
        threshold = params.pop("threshold", "nonneg" if positive else "soft")
        return lca(X, D, lam, threshold=threshold, **common, **params)
    positive = bool(positive)  # None: signed codes
    if method in ("fista", "ista"):
        if method == "ista":
            params.setdefault("max_iter", 20000)
        return fista(X, D, lam, positive=positive, accelerated=method == "fista", **params,
                     **common)
    if method == "active_set":
        return lasso_active_set(X, D, lam, positive=positive, **params, **common)
    if method == "cd":
        return lasso_cd(X, D, lam, positive=positive, **params, **common)
    if method == "mp":
        return matching_pursuit(X, D, n_nonzero, positive=positive, **params, **common)
    if method == "omp":
        return orthogonal_mp(X, D, n_nonzero, positive=positive, **params, **common)
    return iht(X, D, n_nonzero, lam=lam, positive=positive, **params, **common)
