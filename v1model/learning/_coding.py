"""The sparse-coding step shared by every dictionary learner.

A :class:`Coder` holds one inference setting (method, lam or n_nonzero,
positivity, precision, extra solver parameters), validated once, and calls
:func:`v1model.inference.encode` with it; it also knows which objective the
codes minimise, so that every learner records the same quantities.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..inference import L1_METHODS, METHODS, encode
from ..inference._common import check_threshold_positive, lam_units
from ..inference.encode import check_method_params
from ..validation import check_bool, check_choice, check_dtype, check_int, check_positive

#: solver tolerance used during learning when the caller gives none. A
#: dictionary step averages over a whole batch, so codes much less exact than a
#: one-off inference serve as well: on 16x16 whitened patches (256 atoms),
#: FISTA at tol=1e-2 gives the same held-out objective per update as 1e-4 at
#: half the cost (benchmarks/bench_dictionary_learning.py). The tolerance
#: also changes which atoms are learned, not only the cost: on Olshausen's
#: whitened 8x8 patches (online learner at its default forget_factor 10, 256
#: atoms, lam 0.15, 200 updates, seed 0; the olshausen-field-1997 study's counts
#: are at forget_factor 30) FISTA at tol=0.2 stopped after ~6 iterations with
#: denser codes and gave 202 Gabor-like atoms (r2 >= 0.8) against 149, at a
#: held-out objective 0.6% higher; on the embedded photographs 247 against 206 at 2.9% higher, on
#: 64-sample speech segments (lam 0.5) 30-35% more residual error. Kept at 1e-2.
LEARNING_TOL = {"fista": 1e-2, "ista": 1e-3, "lca": 1e-3}


@dataclass(frozen=True)
class Coder:
    """One validated inference setting; ``encode(X, D, rng)`` gives codes.

    Use :func:`make_coder` to build one from user arguments.
    """

    method: str
    lam: float | None
    n_nonzero: int | None
    positive: bool  # resolved: an LCA "nonneg" threshold makes it True
    dtype: np.dtype
    params: dict = field(default_factory=dict)

    def encode(self, X, D, rng=None, progress=False, float64=True) -> np.ndarray:
        """Codes (n_samples, n_atoms) of ``X`` in ``D``, float64 (``float64=False``:
        in the solver's ``dtype``, no float64 copy). No bar of the
        solver's by default: a learner's own bar covers its minibatches (a slow one
        drew the solver's, with the learner's progress=False too). A learner codes
        inside :func:`~v1model.inference._dictionary_cache.bypassing_cache` (its ``D``
        changes at every update: nothing of it is kept, and the user's stays)."""
        A = encode(
            X, D, self.method, lam=self.lam, n_nonzero=self.n_nonzero,
            positive=self.positive, dtype=self.dtype, seed=rng, progress=progress,
            **self.params,
        )
        # arrays: encode labels the codes of a DataArray X, and the learners compute with them
        return np.asarray(A, dtype=np.float64 if float64 else None)

    @property
    def residual_tol(self) -> float | None:
        """The squared-residual ``tol`` of ``"mp"`` / ``"omp"`` (None for the other
        methods, or without one): a sample with ``||x||^2 <= tol`` gets no atom."""
        return self.params.get("tol") if self.method in ("mp", "omp") else None

    @property
    def penalty_kind(self) -> str | None:
        """"soft" (lam ||a||_1), "hard" (lam^2/2 ||a||_0) or None (data term only)."""
        if self.lam is None:
            return None
        if self.method in L1_METHODS:
            return "hard" if self.params.get("threshold") == "hard" else "soft"
        if self.method == "iht" and self.n_nonzero is None:
            return "hard"
        return None

    def objective(self, X, D, A, R=None) -> np.ndarray:
        """Per-sample objective (float64): 0.5||x - aD||^2 + penalty(a)."""
        if R is None:
            R = X - A @ D
        value = 0.5 * np.einsum("ij,ij->i", R, R)
        kind = self.penalty_kind
        if kind == "soft":
            value += self.lam * np.abs(A).sum(axis=1)
        elif kind == "hard":
            value += 0.5 * self.lam**2 * np.count_nonzero(A, axis=1)
        return value

    def describe(self) -> dict:
        """Parameters for a Dataset's attrs (``lam_units`` with a ``lam``)."""
        described = {
            "method": self.method, "lam": self.lam, "n_nonzero": self.n_nonzero,
            "positive": bool(self.positive), "dtype": str(self.dtype),
            "method_params": dict(self.params),
        }
        if self.lam is not None:
            # the objective is in (units of X)^2 and the codes of unit-norm atoms in units
            # of X (encode's), so lam |a| and lam^2/2 ||a||_0 both make lam one of X's
            described["lam_units"] = lam_units("l1")
        return described


def make_coder(method, lam=None, n_nonzero=None, positive=None, dtype=np.float32,
               method_params=None, learning=True, names=("method", "method_params")) -> Coder:
    """Validate an inference setting and return a :class:`Coder`.

    L1 methods (``"lca"``, ``"fista"``, ``"ista"``, ``"active_set"``, ``"cd"``) need
    ``lam``; ``"mp"`` and ``"omp"`` need ``n_nonzero``; ``"iht"`` needs one of the two. With
    ``learning`` the iterative solvers default to the looser ``LEARNING_TOL``. ``names``
    are the caller's names of ``method`` and ``method_params``, used in the messages.
    ``positive=None`` follows an LCA ``threshold`` in ``method_params`` (``"nonneg"``:
    non-negative), else False; a bool given with one must agree with it, as in
    :func:`~v1model.inference.encode`.
    """
    method_name, params_name = names
    method = check_choice(method, method_name, METHODS)
    if lam is not None:
        lam = check_positive(lam, "lam")
    if n_nonzero is not None:
        n_nonzero = check_int(n_nonzero, "n_nonzero", minimum=1)
    if method in L1_METHODS and lam is None:
        raise ValueError(f"{method_name}={method!r} minimises an L1 objective and needs "
                         "lam > 0, got lam=None")
    if method in ("mp", "omp") and lam is not None:
        # refused by encode at the first minibatch anyway; without n_nonzero it was
        # refused here as "got neither", naming nothing of the lam that was given
        raise ValueError(f"{method_name}={method!r} does not use lam (got lam={lam!r}): give "
                         f"n_nonzero or a tol in {params_name}, or an L1 method (e.g. "
                         f"{method_name}='fista') to learn with lam")
    if method in ("mp", "omp") and n_nonzero is None and (method_params or {}).get("tol") is None:
        raise ValueError(f"{method_name}={method!r} needs n_nonzero (number of atoms per "
                         f"sample) or a tol in {params_name}, got neither")
    if method == "iht" and lam is None and n_nonzero is None:
        raise ValueError(f"{method_name}='iht' needs n_nonzero or lam (hard threshold), got "
                         "neither")
    if method == "iht" and lam is not None and n_nonzero is not None:
        raise ValueError(f"{method_name}='iht' takes n_nonzero or lam (hard threshold), not "
                         f"both; got n_nonzero={n_nonzero}, lam={lam}")
    if positive is not None:
        check_bool(positive, "positive")
    dtype = check_dtype(dtype)
    if method_params is not None and not isinstance(method_params, dict):
        raise TypeError(f"{params_name} must be a dict or None, got "
                        f"{type(method_params).__name__}")
    params = dict(method_params or {})
    for reserved in ("lam", "n_nonzero", "positive", "dtype", "seed"):
        if reserved in params:
            raise ValueError(f"{params_name} must not contain {reserved!r}; pass it as the "
                             f"learner's own argument")
    # they make encode return a tuple (LCA's trajectory: the codes and a Dataset)
    for extra in ("return_history", "return_n_iter", "return_trajectory"):
        if extra in params:
            raise ValueError(f"{params_name} must not contain {extra!r}, got "
                             f"{extra}={params[extra]!r}: the learner uses the codes alone")
    for start in ("A0", "u0"):  # a warm start fits one batch of rows only
        if start in params:
            raise ValueError(f"{params_name} must not contain {start!r} (a warm start, "
                             f"shape {np.shape(params[start])}): it holds one start per "
                             f"sample of a single batch, but the learner codes minibatches "
                             f"and new data of other sizes and rows; the solver starts "
                             f"from zero codes")
    check_method_params(method, params, params_name)
    if method == "lca" and "threshold" in params:
        if positive is not None:
            # positive=False with threshold="nonneg" learned non-negative codes, unsaid
            check_threshold_positive(params["threshold"], positive,
                                     f"{params_name}['threshold']")
        positive = isinstance(params["threshold"], str) and params["threshold"] == "nonneg"
    if learning and method in LEARNING_TOL:
        params.setdefault("tol", LEARNING_TOL[method])
    return Coder(method, lam, n_nonzero, bool(positive), dtype, params)  # None: False



def check_lam_below_data(X, coder, n_atoms) -> None:
    """Refuse a threshold ``lam`` that zeroes every code of ``X`` in any dictionary.

    With unit-norm atoms a sample's largest drive ``|<d, x>|`` is at most
    ``||x||``, and an L1 (soft) or L0 (hard) LCA code is all-zero when every
    drive is at most ``lam``. A ``lam`` at or above the largest sample norm
    therefore leaves every code zero whatever the dictionary, re-seeded atoms
    included: the run would end with nothing learned and no error.

    IHT at ``lam`` (``n_nonzero`` not given) zeroes more: its first step from
    zero keeps an atom only when its drive exceeds ``lam * sqrt(lambda_max(D
    D^T))``, and ``lambda_max >= n_atoms / n_features`` for any ``n_atoms``
    unit-norm atoms (the trace ``n_atoms`` spread over at most ``n_features``
    eigenvalues), so its bound is ``max ||x|| / sqrt(max(1, n_atoms /
    n_features))``.

    MP and OMP with a squared-residual ``tol`` (in ``method_params``) give a
    sample no atom when ``||x||^2 <= tol``: a ``tol`` at or above the largest
    squared sample norm zeroes every code too, with ``n_nonzero`` or without;
    one below the resolution of every sample is refused as well, and one below
    that of some samples warned of (:func:`check_tol_resolution`).
    """
    tol = coder.residual_tol
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        tol = None  # not a number ("1e-3"): the solver refuses it by name at its first call
    if coder.penalty_kind is None and tol is None:  # n_nonzero codes are never all zero
        return
    # X in its own dtype: "same_kind", as the default "safe" refused a longdouble X
    top2 = float(np.einsum("ij,ij->i", X, X, dtype=np.float64, casting="same_kind").max())
    if tol is not None:
        if tol >= top2:
            raise ValueError(
                f"tol={tol!r} in method_params is at least the largest squared sample norm "
                f"max ||x||^2 = {top2:.3g} of X: {coder.method!r} gives a sample no atom once "
                f"its squared residual is at most tol (units of X squared, not relative), so "
                f"every code is zero whatever the dictionary and nothing can be learned; "
                f"lower tol well below {top2:.3g} or give n_nonzero alone")
        check_tol_resolution(X, coder)
        return
    top = float(np.sqrt(top2))
    bound, why = top, f"the largest sample norm max ||x|| = {top:.3g} of X"
    if coder.lam < top and coder.method == "iht" and n_atoms > X.shape[1]:
        ratio = n_atoms / X.shape[1]
        bound = top / np.sqrt(ratio)
        why = (f"max ||x|| / sqrt(n_atoms / n_features) = {top:.3g} / sqrt({n_atoms} / "
               f"{X.shape[1]}) = {bound:.3g} (IHT keeps an atom only past lam * "
               f"sqrt(lambda_max(D D^T)), and lambda_max >= {ratio:.3g} for any "
               f"{n_atoms} unit-norm atoms)")
    if coder.lam >= bound:
        raise ValueError(lam_zeroes_every_code(
            coder.lam, why, bound, "whatever the unit-norm dictionary, so nothing can be "
                                   "learned"))


def lam_zeroes_every_code(lam, why, bound, outcome) -> str:
    """The message for a ``lam`` at or above ``bound``, the largest drive that ``why``
    describes, so that every code is zero: one wording for the learners' refusal
    (:func:`check_lam_below_data`) and the network's warning on ``encode``.
    ``outcome``: what follows for the caller (nothing learned, zero codes returned)."""
    return (f"lam={lam!r} is at least {why}: every code is zero {outcome}; lower lam well "
            f"below {bound:.3g} or rescale X")


def check_tol_resolution(X, coder) -> None:
    """Refuse an MP / OMP ``tol`` (in ``method_params``) below the resolution of the
    coder's dtype for every sample of ``X``, and warn of the rows of ``X`` it is below
    when others can meet it, as the solver does, but on all of the caller's ``X``
    before the first minibatch (whose solver calls are not checked again, so that a
    minibatch of only such rows is not refused mid-run): the solver's own refusal named the
    row of a minibatch as "row i of X" (row 3 for row 123 of the learner's X) and
    came only at the first minibatch that drew a large enough sample, after the
    updates before it had run."""
    tol = coder.residual_tol
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or tol < 0:
        return  # not a tol the solver takes: it refuses it by name at its first call
    from ..inference.pursuit import _check_tol_resolution

    solver = "orthogonal_mp" if coder.method == "omp" else "matching_pursuit"
    _check_tol_resolution(X, float(tol), coder.dtype, solver, "method_params['tol']")
