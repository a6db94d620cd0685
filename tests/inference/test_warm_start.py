"""One calling convention for warm starts (``A0``, LCA's ``u0``) across the solvers:
a negative start of a non-negative problem is projected onto it, and a single sample's
start may be 1-D as the sample itself may be."""

import numpy as np
import pytest

from v1model.inference import fista, iht, ista, lasso_active_set, lasso_cd, lca

LAM = 0.2  # about 10% of the 128 atoms active on the 8x8 patches

#: the solvers taking ``A0`` and ``positive``; iht by a count of atoms
SOLVERS = {
    "fista": lambda X, D, **kw: fista(X, D, LAM, tol=1e-6, **kw),
    "ista": lambda X, D, **kw: ista(X, D, LAM, tol=1e-6, max_iter=3000, **kw),
    "active_set": lambda X, D, **kw: lasso_active_set(X, D, LAM, **kw),
    "cd": lambda X, D, **kw: lasso_cd(X, D, LAM, tol=1e-4, **kw),
    "iht": lambda X, D, **kw: iht(X, D, 8, **kw),
}
LASSO = ("fista", "ista", "active_set", "cd")


@pytest.mark.parametrize("name", list(SOLVERS))
def test_negative_warm_start_of_a_positive_problem_is_clipped(name, natural_patches,
                                                              patch_dictionary,
                                                              lasso_reference, relative_gap):
    """lasso_cd refused a negative ``A0`` with ``positive=True`` while fista, ista,
    lasso_active_set and iht clipped it in their first step. Now every solver sets its
    negative entries to zero at the boundary: a signed warm start (the unconstrained
    codes) gives exactly the codes of its projection, and the LASSO solvers reach
    scikit-learn's non-negative optimum from it."""
    X, D = natural_patches[:20].astype(np.float64), patch_dictionary
    signed = lasso_reference(X, D, LAM)
    assert (signed < 0).sum() > 20  # the start really has negative entries
    solve = SOLVERS[name]
    A = solve(X, D, positive=True, A0=signed, dtype=np.float64)
    np.testing.assert_array_equal(
        A, solve(X, D, positive=True, A0=np.maximum(signed, 0), dtype=np.float64))
    assert A.min() >= 0
    if name in LASSO:
        A_ref = lasso_reference(X, D, LAM, positive=True)
        assert abs(relative_gap(X, D, A, A_ref, LAM)) <= 1e-5


def test_negative_warm_start_is_not_modified_in_place(patch_dictionary):
    A0 = -np.ones((2, 128))
    lasso_cd(np.ones((2, 64)), patch_dictionary, LAM, A0=A0, positive=True)
    assert (A0 == -1).all()


@pytest.mark.parametrize("name", list(SOLVERS))
def test_one_dimensional_warm_start_of_one_sample(name, natural_patches, patch_dictionary):
    """``X`` may be one sample ``(n_features,)`` but ``A0`` had to be 2-D
    (``A0 must have 2 dimension(s), got 1``): a ``(n_atoms,)`` start of a 1-D sample gives
    the codes of the ``(1, n_atoms)`` start; for several samples it is refused, naming
    the shapes."""
    x, D = natural_patches[3], patch_dictionary
    a0 = np.linspace(-0.1, 0.1, 128)
    solve = SOLVERS[name]
    A = solve(x, D, A0=a0, dtype=np.float64)
    assert A.shape == (1, 128)
    np.testing.assert_array_equal(A, solve(x[None], D, A0=a0[None], dtype=np.float64))
    with pytest.raises(ValueError, match=r"A0 is 1-D \(shape \(128,\)\).*X has 3 samples: "
                                         r"A0 must have shape \(3, 128\)"):
        solve(natural_patches[:3], D, A0=a0)


def test_one_dimensional_membrane_state_of_one_sample(natural_patches, patch_dictionary):
    """LCA's ``u0`` follows the same rule, and is never clipped (a state, not codes)."""
    x, D = natural_patches[3], patch_dictionary
    u0 = np.linspace(-0.1, 0.1, 128)
    kw = dict(n_steps=20, threshold="nonneg", dtype=np.float64)
    A = lca(x, D, LAM, u0=u0, **kw)
    np.testing.assert_array_equal(A, lca(x[None], D, LAM, u0=u0[None], **kw))
    # a negative state relaxes back from below the threshold: not the same as from zero
    assert not np.array_equal(A, lca(x[None], D, LAM, u0=np.maximum(u0, 0)[None], **kw))
