"""Method of Optimal Directions (Engan, Aase & Husøy 1999).

Alternates sparse coding with the dictionary held fixed and the dictionary
that minimises the reconstruction error for the codes held fixed, in closed
form:

    D = argmin_D ||X - A D||_F^2 = (A^T A)^{-1} A^T X

followed by renormalising every atom to unit length. A small ridge on
``A^T A`` keeps the solve well posed when an atom is unused (its row of
``A^T A`` is zero); such an atom collapses to zero and is re-seeded.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..inference._common import RANGE_HEADROOM
from ..validation import CODE_DIMS, DATA_DIMS, check_array, check_positive
from ._coding import make_coder
from ._loop import run_batch_learner

__all__ = ["learn_mod", "mod_dictionary"]


def mod_dictionary(X, A, ridge=1e-6) -> np.ndarray:
    """Least-squares dictionary for fixed codes: ``(A^T A + r I)^{-1} A^T X``.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    A : array_like, shape (n_samples, n_atoms)
        Codes of ``X``.
    ridge : float, default 1e-6
        ``r = ridge * mean(diag(A^T A))`` (relative, so that it does not
        depend on the scale of the codes), > 0.

    Returns
    -------
    ndarray, shape (n_atoms, n_features), float64
        Rows are not renormalised; an atom no sample uses comes back zero.
    """
    X = check_array(X, "X", ndim=2, dims=DATA_DIMS)
    A = check_array(A, "A", ndim=2, dims=CODE_DIMS)
    if A.shape[0] != X.shape[0]:
        raise ValueError(f"A must have one row of codes per sample of X ({X.shape[0]}), got "
                         f"shape {A.shape}")
    _check_sums_in_range(X, A)
    return _mod_dictionary(X, A, check_positive(ridge, "ridge"))


def _check_sums_in_range(X, A) -> None:
    """Refuse codes whose sums over samples ``A^T A`` and ``A^T X`` overflow float64 (they
    failed inside SciPy's solve, "array must not contain infs or NaNs")."""
    a_max, x_max = float(np.abs(A).max()), float(np.abs(X).max())
    if a_max == 0:
        return
    with np.errstate(divide="ignore"):  # x_max = 0: log10 is -inf, no bound from X
        worst = np.log10(len(X)) + np.log10(a_max) + max(np.log10(a_max), np.log10(x_max))
    limit = np.log10(float(np.finfo(np.float64).max) * RANGE_HEADROOM)
    if worst > limit:
        raise ValueError(
            f"X and A: codes up to |A| = {a_max:.3g} and data up to |X| = {x_max:.3g} over "
            f"{len(X)} samples make A^T A and A^T X reach ~1e{worst:.0f}, beyond what float64 "
            f"holds safely; rescale A (the dictionary scales with |X| / |A|) or X")


def _mod_dictionary(X, A, ridge):
    AtA = A.T @ A
    AtX = A.T @ X
    scale = float(np.mean(np.diag(AtA)))
    AtA[np.diag_indices_from(AtA)] += ridge * (scale if scale > 0 else 1.0)
    D = scipy.linalg.solve(AtA, AtX, assume_a="pos", overwrite_a=True, overwrite_b=True)
    # with one feature scipy returns a read-only view; the learners renormalise in place
    return D if D.flags.writeable else D.copy()


def learn_mod(
    X,
    n_atoms: int,
    *,
    method: str = "fista",
    lam: float | None = None,
    n_nonzero: int | None = None,
    positive: bool | None = None,
    method_params: dict | None = None,
    n_updates: int = 30,
    batch_size: int | None = None,
    ridge: float = 1e-6,
    init="data",
    reseed_patience: int | None = 1,
    min_usage: int = 1,
    duplicate_tol: float | None = 0.99,
    dtype=np.float32,
    seed=None,
    progress: bool | None = True,
):
    """Learn a dictionary with the Method of Optimal Directions.

    Minimises ``sum_i 0.5 ||x_i - a_i D||^2 + penalty(a_i)`` over codes and
    unit-norm atoms by alternating sparse coding (any method of
    :func:`v1model.inference.encode`) and the closed-form least-squares
    dictionary :func:`mod_dictionary`.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Training signals (e.g. whitened image patches, flattened).
    n_atoms : int
        Number of atoms.
    method : {"fista", "ista", "lca", "omp", "mp", "iht", "cd", "active_set"}, default "fista"
        Sparse-inference method.
    lam : float, optional
        L1 penalty (L1 methods) or hard threshold (``"iht"``), units of ``X``.
    n_nonzero : int, optional
        Non-zeros per code (``"omp"``, ``"mp"``, ``"iht"``).
    positive : bool or None, default None
        Non-negative codes. None: False, except with ``method="lca"`` and a
        ``threshold`` in ``method_params``, whose codes follow it (``"nonneg"``:
        non-negative); given with one, the two must agree (``True`` with
        ``"nonneg"``, ``False`` with ``"soft"`` or ``"hard"``), as in
        :func:`v1model.inference.encode`.
    method_params : dict, optional
        Extra keyword arguments for ``encode`` (e.g. ``{"tol": 1e-5}``,
        ``{"max_iter": 200}``); during learning FISTA defaults to ``tol=1e-2``,
        ISTA and LCA to ``1e-3`` (``LEARNING_TOL``). A warm start ``A0`` /
        ``u0`` is refused: every update codes a different batch. Samples the
        solver leaves short of ``tol`` are warned of once at the end of the
        run (a ``ConvergenceWarning`` counting the updates and samples,
        naming these keys), not at every update.
    n_updates : int, default 30
        Number of code/dictionary alternations. Enough to lower the objective
        on natural patches. How many recover planted atoms depends on how
        sparse the codes are, not on MOD's update (30 atoms, 20 features,
        2,000 samples of 3, coefficients +-U(1, 2); within |cos| 0.99; seeds 1
        and 2): with ``lam=0.1`` a code holds 11-16 of the 30 atoms in each of
        the first 30 updates and 10-20% of the atoms are recovered after 30,
        87-93% after 60, all after 100 (as scikit-learn's
        ``DictionaryLearning`` after its 100 iterations); with ``lam=0.3``
        (at most 10 atoms a code, 3-4 by the 30th update) 90-100% after 30,
        and with OMP codes of the planted sparsity (``method="omp",
        n_nonzero=3``, the MOD of Engan et al. and of Aharon et al.'s
        comparison) 93% after 30. On Aharon et al.'s setup (50 atoms, 20
        features, 1,500 samples of 3, Gaussian coefficients; mean of seeds
        0-3) FISTA codes at ``lam=0.1`` recover 90% (noiseless) and 85% (20
        dB) after 30 updates, 99% after 80 (scikit-learn's
        ``DictionaryLearning``, ``alpha=0.1``: 98.5%), OMP codes (3 atoms) 91%
        and 90% after 30, 94% after 80 and after 200, as K-SVD with them.
        Give 80-100 updates to recover atoms (2026-12-07, README "Recovering
        planted atoms").
    batch_size : int, optional
        Code a random minibatch of this many samples per update (stochastic
        MOD) instead of all of ``X``. Each update is the least-squares
        dictionary of that minibatch alone, with no memory of earlier ones
        (:func:`v1model.learning.learn_online` averages over batches), so the
        batch must be several times ``n_atoms``: on a planted problem with 24
        atoms (16 features, 3 per sample, 60 updates, FISTA codes at
        ``lam=0.3``) batches of 100 recovered 96-100% of the atoms over four
        seeds, batches of 50 from 50% to 100%; at ``lam=0.1`` batches of 100
        recovered 21-75%, and OMP codes (``n_nonzero=3``) in batches of 50
        none (2026-12-06).
    ridge : float, default 1e-6
        Relative ridge added to ``A^T A`` (times its mean diagonal).
    init : {"data", "random"} or array_like, shape (n_atoms, n_features), default "data"
        Initial dictionary: random samples, Gaussian atoms, or given atoms
        (renormalised).
        Atoms as images (n_atoms, height, width) are flattened row-major, as
        patches are (:func:`~v1model.validation.flatten_image_atoms`).
    reseed_patience : int or None, default 1
        Re-seed an atom that fewer than ``min_usage`` codes used in this many
        consecutive updates; None never re-seeds unused or rarely used atoms.
    min_usage : int, default 1
        An atom fewer samples than this use (among those coded in the update)
        counts as unused; 1: only atoms no sample uses (4: K-SVD's toolbox,
        :func:`v1model.learning.learn_ksvd`). Refused above the samples an
        update codes, and above 1 with ``reseed_patience=None``.
    duplicate_tol : float or None, default 0.99
        Also re-seed an atom whose |cosine| with an earlier atom exceeds this
        (with ``positive`` its cosine: ``d`` and ``-d`` are two atoms then).
    dtype : {float32, float64}, default float32
        Precision of the sparse coding (dictionary algebra is float64); also
        the dtype of the returned dictionary. The two precisions learn atoms
        that agree to the solver's tolerance, not to float32 rounding: the
        codes of an update differ within ``tol`` and the next updates carry
        that on (24 planted atoms, 16 features, 1,000 samples, 5 updates,
        ``lam=0.3``, 8 seeds: up to 1.1e-3 apart with FISTA at its learning
        ``tol=1e-2``, 6e-5 with ``method_params={"tol": 1e-4}``, 5e-6 with
        1e-6; the active set 4e-5 at its default, 4e-7 at 1e-6). Tighten
        ``tol`` for closer agreement.
    seed : int, Generator or None
        Recorded in the history's ``attrs["seed"]`` before anything draws (a
        Generator as its state): :func:`v1model.io.seed_from_attr` re-runs it.
    progress : bool or None, default True
        Show a tqdm bar over the updates (None: once the call has run 2 s,
        :mod:`v1model.progress`).

    Returns
    -------
    D : ndarray, shape (n_atoms, n_features)
        Unit-norm atoms.
    history : xarray.Dataset
        Over ``update``: ``objective``, ``reconstruction_error``,
        ``mean_abs_code``, ``fraction_active``, ``n_reseeded``,
        ``n_samples``, ``n_unconverged`` (the samples the solver left short of
        ``tol``, warned of once: ``method_params``), ``wall_time`` (s);
        parameters in ``attrs``
        (``batch_size``: the samples coded per update, at most ``n_samples``;
        ``batch_size_requested``: the argument, None for all of ``X``). Statistics
        are those of the codes inferred with the dictionary before the update.

    References
    ----------
    Engan, K., Aase, S. O. & Husøy, J. H. (1999). Method of optimal directions
    for frame design. Proc. ICASSP 5, 2443-2446.

    Examples
    --------
    >>> import numpy as np
    >>> from v1model.learning import learn_mod
    >>> X = np.random.default_rng(0).standard_normal((200, 16))
    >>> D, history = learn_mod(X, 24, lam=0.5, n_updates=5, seed=0, progress=False)
    >>> D.shape, history.sizes["update"]
    ((24, 16), 5)
    """
    coder = make_coder(method, lam, n_nonzero, positive, dtype, method_params)
    ridge = check_positive(ridge, "ridge")

    def step(batch, A, D):
        return _mod_dictionary(batch, A, ridge), A

    return run_batch_learner(
        "mod", step, X, n_atoms, coder, n_updates=n_updates, batch_size=batch_size, init=init,
        reseed_patience=reseed_patience, duplicate_tol=duplicate_tol, seed=seed,
        progress=progress, attrs={"ridge": ridge}, min_usage=min_usage,
    )
