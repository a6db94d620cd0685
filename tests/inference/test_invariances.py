"""Invariances a user relies on without saying so: a sample's code does not depend
on the other samples of its batch, on the order of the samples or of the atoms, on
the scale or sign of the data, on the working precision or on the memory layout.

Tolerances: the LASSO methods stop at a tolerance, and a bit-level difference in
a product (another batch size takes another BLAS kernel) can move a sample's stop
within it; so the LASSO tests compare each sample's objective, not its codes,
against the method's documented accuracy at its default ``tol`` (``RTOL``). The
greedy methods and the hard-threshold LCA have no such slack: their squared
residuals must agree to float32 rounding (``GREEDY_RTOL``).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v1model.inference import ConvergenceWarning, encode, max_stable_dt, objective

N = 12
LAM = 0.1

#: per-sample relative objective difference allowed between two runs of a LASSO
#: method, from each one's documented accuracy at its default tol (measured worst
#: differences over batch mates, orders, scales and dtypes in brackets): lca 1e-3
#: (doc: gap 1e-3; measured 4e-5), fista 1e-4 (doc: gap 1e-4; 9e-8 since its step test
#: is confirmed by the duality gap, 3e-6 before), ista 1e-3 (its
#: doc: 1.7e-4 summed with a constant step, per sample more; 2.5e-6, 1.8e-4 before), active_set 1e-5
#: (doc: 1.4e-6 for one sample; 3.4e-7), cd 1e-4 (doc: ~1e-5 summed; 2.7e-5)
RTOL = {"lca": 1e-3, "fista": 1e-4, "ista": 1e-3, "active_set": 1e-5, "cd": 1e-4}
#: squared residuals of the greedy methods (and of the hard LCA, whose fixed points are
#: least-squares codes on a support): the same support gives the same residual to
#: float32 rounding (measured at most 6e-7 relative)
GREEDY_RTOL = 1e-4


def _lasso_cases():
    cases = []
    for method in ("lca", "fista", "ista", "active_set", "cd"):
        cases.append((method, {"lam": LAM}))
        cases.append((method, {"lam": LAM, "positive": True}))
    cases.append(("fista", {"lam": LAM, "step": "constant"}))
    cases.append(("lca", {"lam": LAM, "dt": "fixed"}))  # the fixed-step Euler path
    return cases


LASSO_CASES = _lasso_cases()
GREEDY_CASES = [("mp", {"n_nonzero": 6}), ("mp", {"n_nonzero": 6, "positive": True}),
                ("omp", {"n_nonzero": 6}), ("omp", {"n_nonzero": 6, "positive": True}),
                ("omp", {"tol": 0.5}), ("iht", {"n_nonzero": 6}), ("iht", {"lam": 0.5}),
                ("lca", {"lam": 0.3, "threshold": "hard"})]
ALL_CASES = LASSO_CASES + GREEDY_CASES


def _ids(cases):
    return ["-".join([m] + [f"{k}={v}" for k, v in p.items()]) for m, p in cases]


@pytest.fixture(scope="module")
def problem(natural_patches, patch_dictionary):
    return natural_patches[:N], patch_dictionary


def _run(method, params, X, D, **kw):
    p = {**params, **kw}
    if p.get("dt") == "fixed":
        p["dt"] = 0.5 * max_stable_dt(D, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return np.asarray(encode(X, D, method, **p), dtype=np.float64)


def _assert_same(method, params, X, D, A, A_ref, what):
    """Per-sample objectives (LASSO) or squared residuals (greedy) of ``A`` and ``A_ref``
    agree within the method's tolerance."""
    if params.get("threshold") == "hard" or method not in RTOL:
        f = ((X - A @ D) ** 2).sum(axis=1)
        f_ref = ((X - A_ref @ D) ** 2).sum(axis=1)
        rtol = GREEDY_RTOL
        np.testing.assert_array_equal((A != 0).sum(axis=1), (A_ref != 0).sum(axis=1),
                                      err_msg=f"{what}: supports of other sizes")
    else:
        f = objective(X, D, A, LAM)
        f_ref = objective(X, D, A_ref, LAM)
        rtol = RTOL[method]
    worst = np.max(np.abs(f - f_ref) / f_ref)
    assert worst <= rtol, f"{what}: a sample's objective moved by {worst:.2g} > {rtol:g}"


_ALONE = {}


def _alone(method, params, X, D):
    """Each sample coded on its own (the reference for batch mates), cached."""
    key = (method, tuple(sorted(params.items())))
    if key not in _ALONE:
        _ALONE[key] = np.vstack([_run(method, params, X[i:i + 1], D) for i in range(len(X))])
    return _ALONE[key]


# ---------------------------------------------------------------- batch mates

def test_cd_least_squares_does_not_depend_on_batch_mates():
    """lam = 0 (least squares): cd's tolerance was tol * 1e-3 * max|D x| over the whole
    batch, so a sample beside one 1e4 times larger stopped early: here 3e-3 off the
    least-squares codes (12% on whitened 8x8 patches with a complete dictionary, 1.3%
    of the energy left in the residual). Now each sample's tolerance follows its own
    drive: with or without the large mate, the codes are the least-squares ones to
    float32 rounding (measured 6e-7; asserted 1e-5)."""
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((16, 16)))[0]
    D = Q + 0.05 * rng.standard_normal((16, 16))  # well conditioned (cond ~1.7)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((4, 16))
    A_ls = np.linalg.solve(D @ D.T, D @ X.T).T
    for dtype in (np.float32, np.float64):
        alone = encode(X, D, "cd", lam=0.0, dtype=dtype)
        mates = encode(np.vstack([X, 1e4 * rng.standard_normal((1, 16))]), D, "cd", lam=0.0,
                       dtype=dtype)[:4]
        for A in (alone, mates):
            err = np.linalg.norm(A - A_ls, axis=1) / np.linalg.norm(A_ls, axis=1)
            assert err.max() < 1e-5, err


@pytest.mark.parametrize("method, params", ALL_CASES, ids=_ids(ALL_CASES))
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_code_does_not_depend_on_batch_mates(problem, method, params, data):
    """A sample coded in a batch, shuffled, beside a sample 1e-3 to 1e3 times as large
    and an all-zero one, gets the code it gets alone (within RTOL / GREEDY_RTOL)."""
    X, D = problem
    alone = _alone(method, params, X, D)
    scale = 10.0 ** data.draw(st.floats(-3, 3), label="log10 mate scale")
    other = data.draw(st.integers(0, N - 1), label="mate")
    batch = np.vstack([X, scale * X[other:other + 1], np.zeros((1, X.shape[1]))])
    perm = np.asarray(data.draw(st.permutations(range(len(batch))), label="order"))
    A = _run(method, params, batch[perm], D)[np.argsort(perm)][:N]
    _assert_same(method, params, X, D, A, alone, "batch vs alone")


@pytest.mark.parametrize("method, params", ALL_CASES, ids=_ids(ALL_CASES))
def test_duplicates_layouts_and_one_sample(problem, method, params):
    """Identical rows get the same codes; F-ordered, strided and 1-D inputs give the
    codes of the C-ordered 2-D array exactly (validation copies to C order once)."""
    X, D = problem
    A = _run(method, params, X, D)
    dup = _run(method, params, np.vstack([X[:3], X[:3]]), D)
    # within the method's tolerance, not bit for bit: BLAS may round the rows of a tile's
    # edge otherwise, and a solver that stops at a tolerance then stops elsewhere (codes
    # 8.9e-4 apart on an AMD EPYC)
    _assert_same(method, params, X[:3], D, dup[3:], dup[:3], "duplicated rows")
    X32 = X.astype(np.float32)
    A32 = _run(method, params, X32, D)
    np.testing.assert_array_equal(_run(method, params, np.asfortranarray(X32), D), A32)
    np.testing.assert_array_equal(_run(method, params, np.repeat(X32, 2, axis=1)[:, ::2], D),
                                  A32)
    np.testing.assert_array_equal(_run(method, params, X[3], D), _run(method, params,
                                                                       X[3:4], D))
    assert np.isfinite(A).all()


# ---------------------------------------------------------------- symmetries

@pytest.mark.parametrize("method, params", ALL_CASES, ids=_ids(ALL_CASES))
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_atom_order_and_sign(problem, method, params, data):
    """Atoms permuted (and, without ``positive``, sign-flipped): the codes follow them."""
    X, D = problem
    A = _run(method, params, X, D)
    p = np.asarray(data.draw(st.permutations(range(D.shape[0])), label="atom order"))
    s = np.ones(D.shape[0])
    if not params.get("positive"):
        flips = data.draw(st.lists(st.booleans(), min_size=D.shape[0], max_size=D.shape[0]))
        s[np.asarray(flips)] = -1
    Ap = _run(method, params, X, D[p] * s[p, None])[:, np.argsort(p)] * s
    _assert_same(method, params, X, D, Ap, A, "atoms permuted / flipped")


@pytest.mark.parametrize("method, params", [c for c in ALL_CASES if not c[1].get("positive")],
                         ids=_ids([c for c in ALL_CASES if not c[1].get("positive")]))
def test_sign_of_the_data(problem, method, params):
    """encode(-X) = -encode(X): every solver here is odd in X (soft / hard thresholds,
    |correlation| picks); measured exact, asserted to 1e-6 of the largest code."""
    X, D = problem
    A = _run(method, params, X, D)
    np.testing.assert_allclose(-_run(method, params, -X, D), A, rtol=0,
                               atol=1e-6 * np.abs(A).max())


@pytest.mark.parametrize("method, params", ALL_CASES, ids=_ids(ALL_CASES))
@settings(max_examples=3, deadline=None)
@given(log_c=st.floats(-12, 12), dtype=st.sampled_from([np.float32, np.float64]))
def test_scale_equivariance_and_dtype(problem, method, params, log_c, dtype):
    """encode(c X, lam = c lam) = c encode(X, lam) for c in 1e-12 .. 1e12, in float32 and
    float64 (every stopping test is relative; an absolute one would stop tiny data at
    once and never stop huge data), and float32 agrees with float64."""
    X, D = problem
    c = 10.0 ** log_c
    A = _run(method, params, X, D, dtype=np.float64)
    kw = {"dtype": dtype}
    if "lam" in params:
        kw["lam"] = c * params["lam"]
    if "tol" in params:  # a squared residual
        kw["tol"] = c * c * params["tol"]
    Ac = _run(method, params, c * X, D, **kw) / c
    _assert_same(method, params, X, D, Ac, A, f"c={c:.3g}, {np.dtype(dtype).name}")


# ---------------------------------------------------------------- duplicated atoms

@pytest.mark.parametrize("params", [{"n_nonzero": 8}, {"tol": 0.3},
                                    {"n_nonzero": 8, "positive": True}])
def test_omp_with_a_duplicated_atom(problem, params):
    """A duplicated atom makes the Gram matrix singular: OMP never selects the copy
    (its residual correlation is zero once the original is in) and returns the codes
    of the dictionary without it, to float32 rounding (measured equal)."""
    X, D = problem
    base = _run("omp", params, X, D)
    used = np.argsort(-(base != 0).sum(axis=0))[:4]  # the most used atoms
    Dd = np.vstack([D, D[used]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no LinAlgWarning / RuntimeWarning either
        A = np.asarray(encode(X, Dd, "omp", **params), dtype=np.float64)
    assert np.isfinite(A).all()
    np.testing.assert_allclose(((X - A @ Dd) ** 2).sum(axis=1),
                               ((X - base @ D) ** 2).sum(axis=1), rtol=GREEDY_RTOL)


@pytest.mark.parametrize("method", ["fista", "active_set", "cd", "lca"])
def test_lasso_with_a_duplicated_atom(problem, method):
    """Duplicated atoms split a coefficient between the copies but leave the LASSO
    optimum's value unchanged: the objective matches the one without copies within the
    method's tolerance (active_set solves on singular supports)."""
    X, D = problem
    base = _run(method, {"lam": LAM}, X, D)
    used = np.argsort(-(base != 0).sum(axis=0))[:4]
    Dd = np.vstack([D, D[used], -D[used]])
    A = _run(method, {"lam": LAM}, X, Dd)
    assert np.isfinite(A).all()
    f, f_ref = objective(X, Dd, A, LAM), objective(X, D, base, LAM)
    # both runs are within RTOL of the same optimum
    assert np.max(np.abs(f - f_ref) / f_ref) <= 2 * RTOL[method]
