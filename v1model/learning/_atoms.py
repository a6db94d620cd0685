"""Atom housekeeping shared by the learners: the initial dictionary, unit-norm
rows, and the detection and re-seeding of dead and duplicate atoms.

An atom that no sample uses gets no gradient (MOD, online) or no update
(K-SVD) and stays dead forever; two identical atoms share their work and, with
an L1 code, stay identical forever. Both waste a unit. They are replaced by the
normalised residual of the worst-reconstructed samples, so that the new atom
starts where the dictionary does worst. Aharon et al. (2006) and Rubinstein's
KSVD-Box (``cleardict``) replace an atom by the worst-represented *sample*
itself, normalised; the residual used here is the part of that sample the
other atoms miss. Both also replace an atom that fewer than 4 samples use
(``min_usage=4``; its default, 1, re-seeds only unused atoms) and one above
|cosine| 0.99 to another (``duplicate_tol``'s default); ``reseed_patience``
counts the consecutive updates in which an atom was so under-used (KSVD-Box: 1).
"""

from __future__ import annotations

import numpy as np

from ..validation import (check_dictionary, check_int, check_probability,
                          flatten_image_atoms, image_atom_shape)

#: an atom whose norm falls below this is treated as having no direction
_TINY = 1e-12

#: a re-seeding residual's |cosine| (cosine when signed) with every kept atom and with
#: the other new ones is at most this (or ``duplicate_tol``, if lower). At ``duplicate_tol`` itself
#: (0.99) a new atom at 0.984 to a kept one was pulled onto it within one K-SVD sweep
#: (0.993), re-seeded again from the same sample, and so in 72 of 80 updates, while the
#: directions no atom covered stayed uncovered (Aharon et al.'s planted setup: 50 atoms,
#: 20 features, 1,500 samples, 3 per sample; 2026-12-07)
RESEED_MAX_COSINE = 0.9


def initial_dictionary(X, n_atoms, init, rng) -> np.ndarray:
    """Validated initial dictionary (n_atoms, n_features), float64, unit rows.

    ``init`` is ``"data"`` (random samples plus a little noise), ``"random"``
    (Gaussian atoms) or an array of shape (n_atoms, n_features), renormalised, or
    of atoms as images (n_atoms, height, width) with ``height * width ==
    n_features``, flattened row-major as patches are
    (:func:`~v1model.validation.flatten_image_atoms`).
    """
    n_features = X.shape[1]
    if isinstance(init, str):
        if init not in ("data", "random"):
            raise ValueError(f"init must be 'data', 'random' or an array of shape "
                             f"({n_atoms}, {n_features}), got {init!r}")
        from .olshausen_field import _init_dictionary

        # samples plus 1% noise (so a zero sample still gives a direction), unit rows
        return np.ascontiguousarray(_init_dictionary(X, n_atoms, init, rng), dtype=np.float64)
    # atoms as images, as the solvers take them (were refused: "2 dimension(s), got 3")
    image_shape = image_atom_shape(init, "init")
    _, init = flatten_image_atoms(None, init, d_name="init")
    D = check_dictionary(init, "init", normalized=True)
    if D.shape != (n_atoms, n_features):
        given = "" if image_shape is None else f" (atoms as images of shape {image_shape})"
        raise ValueError(f"init must have shape ({n_atoms}, {n_features}) (n_atoms, n_features), "
                         f"got {D.shape}{given}")
    return np.array(D, dtype=np.float64)


def check_reseeding(reseed_patience, duplicate_tol):
    """Validate the two re-seeding settings (None disables each)."""
    if reseed_patience is not None:
        reseed_patience = check_int(reseed_patience, "reseed_patience", minimum=1)
    if duplicate_tol is not None:
        duplicate_tol = check_probability(duplicate_tol, "duplicate_tol")
    return reseed_patience, duplicate_tol


def check_min_usage(min_usage, reseed_patience, n_coded) -> int:
    """Validate ``min_usage``: an atom fewer samples than this use in an update counts
    as unused (1: only atoms no sample uses). Refused above ``n_coded``, the samples
    an update codes (every atom then counted unused in every update: 100 with 60
    samples re-seeded all 20 atoms at each update, unsaid), and above 1 with
    ``reseed_patience=None``, which re-seeds no atom for its usage (it was ignored)."""
    min_usage = check_int(min_usage, "min_usage", minimum=1)
    if min_usage > 1 and reseed_patience is None:
        raise ValueError(f"min_usage={min_usage} with reseed_patience=None: no atom is "
                         f"re-seeded for its usage; give reseed_patience (e.g. 1), or drop "
                         f"min_usage")
    if min_usage > n_coded:
        raise ValueError(f"min_usage={min_usage} but an update codes {n_coded} samples "
                         f"(batch_size, or all of X): every atom would count as unused and "
                         f"be re-seeded at every update; give min_usage <= {n_coded}")
    return min_usage


def duplicate_atoms(D, tol, signed=False) -> np.ndarray:
    """Indices of atoms whose |cosine| with an earlier atom exceeds ``tol``;
    with ``signed`` (non-negative codes) their cosine: a code that cannot
    change sign cannot use ``d`` for ``-d``, so an ON/OFF pair is two atoms."""
    G = D @ D.T
    if not signed:
        G = np.abs(G)
    close = np.triu(G > tol, k=1)
    return np.flatnonzero(close.any(axis=0))


class AtomUsage:
    """Counts, per atom, the consecutive updates in which fewer than ``min_usage``
    codes used it (an update of a short minibatch counts for its ``share``, see
    :meth:`to_reseed`)."""

    #: a class default, so that states pickled before it existed unpickle as before
    min_usage = 1

    def __init__(self, n_atoms, patience, duplicate_tol, min_usage=1):
        self.patience = patience
        self.duplicate_tol = duplicate_tol
        self.min_usage = min_usage
        self.unused = np.zeros(n_atoms)

    def to_reseed(self, A, D, count_silent=True, share=1.0, signed=False) -> np.ndarray:
        """Record this update's codes ``A`` and return the atoms to re-seed.

        Without ``count_silent``, an update in which no code is non-zero at all
        leaves the idle counts as they are: a quiet stretch of a stream says
        nothing about which atoms are useful, and counting it re-seeded every
        atom of a learned dictionary after ``patience`` silent minibatches.
        ``share`` (at most 1) is the update's part of a full minibatch: a stream
        fed one sample at a time idles a rarely used atom by 1 / batch_size per
        sample, not by a whole update (which re-seeded atoms that ten samples
        in a row had not used), and such an update counts an atom as used when
        at least ``min_usage * share`` of its codes use it (so any use, for
        ``min_usage=1``). ``signed``: codes are non-negative, see
        :func:`duplicate_atoms`.
        """
        # a short minibatch asks for its share of min_usage (every use counts at 1)
        used = np.count_nonzero(A, axis=0) >= self.min_usage * share * (1 - 1e-9)
        if count_silent or np.any(A != 0):
            self.unused[used] = 0
            self.unused[~used] += share
        # a relative margin: shares of 1/3 add up to 9.999... for 10
        dead = (np.flatnonzero(self.unused >= self.patience * (1 - 1e-9))
                if self.patience is not None else np.empty(0, dtype=np.int64))
        if self.duplicate_tol is not None:
            dead = np.union1d(dead, duplicate_atoms(D, self.duplicate_tol, signed))
        return dead

    def reset(self, idx):
        self.unused[idx] = 0


def reseed(D, idx, X, A, rng, duplicate_tol=None, signed=False) -> None:
    """Replace atoms ``idx`` of ``D`` (in place) by the normalised residuals of
    the worst-reconstructed samples of ``X`` (codes ``A``); Gaussian noise
    atoms when there are fewer samples with a residual than atoms to fill.

    With ``duplicate_tol``, a residual whose cosine (absolute unless
    ``signed``, see :func:`duplicate_atoms`) with a kept atom or an atom already
    re-seeded exceeds ``min(duplicate_tol, RESEED_MAX_COSINE)`` is passed over
    for the next worst sample: the residual of a sample that used a duplicate
    atom lies along the copy that stays, and re-seeding from it re-created the
    duplicate straight after the check (or, from just under ``duplicate_tol``,
    one update later).

    Codes of the re-seeded atoms are set to zero in ``A`` (in place).
    """
    if len(idx) == 0:
        return
    A[:, idx] = 0.0
    R = X - A @ D
    err = np.einsum("ij,ij->i", R, R)
    order = np.argsort(err)[::-1]
    order = order[err[order] > _TINY * max(float(err.max()), _TINY)]
    if duplicate_tol is None:
        worst = order[: len(idx)]
    else:
        worst = _distinct_residuals(R, order, np.delete(D, idx, axis=0), len(idx),
                                    min(duplicate_tol, RESEED_MAX_COSINE), signed)
    new = np.empty((len(idx), D.shape[1]))
    new[: len(worst)] = R[worst]
    if len(worst) < len(idx):
        new[len(worst):] = rng.standard_normal((len(idx) - len(worst), D.shape[1]))
    D[idx] = new / np.linalg.norm(new, axis=1, keepdims=True)


def _distinct_residuals(R, order, kept, n, tol, signed) -> np.ndarray:
    """The first (up to) ``n`` samples of ``order`` whose residual directions are
    within cosine ``tol`` neither of an atom of ``kept`` nor of one another."""
    U = R[order] / np.linalg.norm(R[order], axis=1, keepdims=True)
    C = U @ kept.T
    fresh = (C if signed else np.abs(C)).max(axis=1, initial=-np.inf) <= tol
    chosen = []
    for i in np.flatnonzero(fresh):
        c = U[chosen] @ U[i]
        if not np.any((c if signed else np.abs(c)) > tol):
            chosen.append(i)
            if len(chosen) == n:
                break
    return order[np.array(chosen, dtype=np.int64)]


def normalize_rows(D, previous) -> np.ndarray:
    """Unit-norm rows of ``D`` (in place); a row that collapsed to zero keeps
    its ``previous`` value (it will be flagged unused and re-seeded)."""
    norms = np.linalg.norm(D, axis=1)
    dead = norms < _TINY
    norms[dead] = 1.0
    D /= norms[:, None]
    if dead.any():
        D[dead] = previous[dead]
    return D
