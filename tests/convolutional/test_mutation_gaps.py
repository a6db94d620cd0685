"""Gaps found by mutation testing of v1model/convolutional, closed against independent
references: textbook ISTA/FISTA/LCA iterations on the explicit matrix, SciPy's
correlate, hand-written gradients and crops."""

import numpy as np
import pytest
from scipy import signal

from v1model.convolutional import ConvolutionalDictionary, encode

from .conftest import unit_kernels


def _problem(kshape=(3, 6), signal_shape=(30,), stride=2, boundary="full", n=3, seed=0):
    """Unit kernels, Gaussian signals (float64 dictionary) and lam = 0.3 max|Φᵀx|."""
    rng = np.random.default_rng(seed)
    phi = ConvolutionalDictionary(unit_kernels(rng, kshape), signal_shape, stride=stride,
                                  boundary=boundary, dtype=np.float64)
    X = rng.standard_normal((n,) + signal_shape)
    M = phi.as_matrix()
    lam = 0.3 * float(np.abs(X.reshape(n, -1) @ M.T).max())
    return phi, X, M, lam


def _threshold(u, lam, kind):
    """The LCA / ISTA nonlinearities as Rozell et al. (2008) define them."""
    if kind == "soft":
        return np.sign(u) * np.maximum(np.abs(u) - lam, 0.0)
    if kind == "nonneg":
        return np.maximum(u - lam, 0.0)
    return np.where(np.abs(u) > lam, u, 0.0)


def _textbook(method, M, X, lam, L, n_steps, kind="soft", start=None):
    """Iterates of ISTA (a backtracked step 1/L_i per signal, Beck & Teboulle 2009:
    L_i from L/8, 10% smaller every step, doubled up to L while ||M^T d||^2 >
    1.001 L_i ||d||^2), FISTA (step 1/L) with gradient restart (O'Donoghue & Candès
    2015) or the LCA's Euler steps (dt / tau = 1 / max(L, 1), encode's default) on the
    explicit matrix ``M`` (n_coefficients, n_features), float64; one row per signal.
    Returns the codes after every step, shape (n_steps, n_signals, n_coefficients)."""
    x = X.reshape(len(X), -1)
    z = np.zeros((len(x), len(M))) if start is None else start.copy()
    y, t = z.copy(), np.ones(len(x))
    Li = np.full(len(x), L / 8)
    out = []
    for _ in range(n_steps):
        if method == "lca":
            a = _threshold(z, lam, kind)
            z = z + ((x - a @ M) @ M.T + a - z) / max(L, 1.0)
            out.append(_threshold(z, lam, kind))
            continue
        if method == "ista":
            Li = np.maximum(0.9 * Li, 1e-3 * L)
            g = (x - z @ M) @ M.T
            z = z.copy()
            for i in range(len(x)):
                while True:
                    new = _threshold(z[i] + g[i] / Li[i], lam / Li[i], kind)
                    d = new - z[i]
                    if Li[i] >= L or np.sum((d @ M) ** 2) <= 1.001 * Li[i] * np.sum(d * d):
                        break
                    Li[i] = min(2 * Li[i], L)
                z[i] = new
            out.append(z)
            continue
        new = _threshold(y + (x - y @ M) @ M.T / L, lam / L, kind)
        if method == "fista":
            restart = np.sum((y - new) * (new - z), axis=1) > 0
            t[restart] = 1.0
            t_new = (1 + np.sqrt(1 + 4 * t**2)) / 2
            y = new + ((t - 1) / t_new)[:, None] * (new - z)
            t = t_new
        else:
            y = new
        z = new
        out.append(z)
    return np.array(out)


CASES = [("ista", "soft"), ("fista", "soft"), ("fista", "nonneg"), ("lca", "soft"),
         ("lca", "nonneg"), ("lca", "hard")]


@pytest.mark.parametrize("geometry", [((3, 6), (30,), 2, "full"),
                                      ((2, 3, 4), (9, 10), (2, 1), "valid")])
@pytest.mark.parametrize("method, kind", CASES)
def test_every_step_is_the_textbook_iteration(method, kind, geometry):
    """n_steps steps give the textbook iterate (ISTA: backtracked; FISTA: 1/L, momentum, restart;
    the LCA's Euler step), and the history records its objective terms per step."""
    kshape, signal_shape, stride, boundary = geometry
    phi, X, M, lam = _problem(kshape, signal_shape, stride, boundary)
    L = phi.lipschitz()
    n_steps = 12
    ref = _textbook(method, M, X, lam, L, n_steps, kind)
    A, hist = encode(X, phi, lam, method=method, threshold=kind, n_steps=n_steps,
                     return_history=True)
    scale = np.abs(ref[-1]).max()
    assert scale > 0
    np.testing.assert_allclose(A.reshape(len(X), -1), ref[-1], rtol=0, atol=1e-10 * scale)
    R = X.reshape(1, len(X), -1) - ref @ M
    data = 0.5 * (R**2).sum(axis=(1, 2))
    count = np.count_nonzero(ref, axis=(1, 2))
    pen = (0.5 * lam**2 * count if kind == "hard"
           else lam * np.abs(ref).sum(axis=(1, 2)))
    np.testing.assert_allclose(hist["data_term"], data, rtol=1e-9)
    np.testing.assert_allclose(hist["penalty"], pen, rtol=1e-9)
    np.testing.assert_allclose(hist["objective"], data + pen, rtol=1e-9)
    np.testing.assert_allclose(hist["n_active"], count / len(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["ista", "fista", "lca"])
def test_warm_start_continues_the_textbook_iteration(method):
    """codes0 is the starting point (the LCA's membrane state u)."""
    phi, X, M, lam = _problem(seed=1)
    start = np.random.default_rng(2).standard_normal((len(X), len(M)))
    ref = _textbook(method, M, X, lam, phi.lipschitz(), 5, start=start)
    A = encode(X, phi, lam, method=method, n_steps=5,
               codes0=start.reshape((len(X), phi.n_kernels) + phi.code_shape))
    np.testing.assert_allclose(A.reshape(len(X), -1), ref[-1], rtol=0,
                               atol=1e-10 * np.abs(ref[-1]).max())


@pytest.mark.parametrize("method", ["ista", "fista", "lca"])
def test_each_signal_stops_at_the_first_step_meeting_the_tolerance(method):
    """The documented stopping rules, per signal: the LCA stops when max|τ du/dt| <=
    tol max|Φᵀx|, (F)ISTA when its largest code change <= tol times its largest code;
    each signal's codes are the textbook iterate of that step."""
    phi, X, M, lam = _problem(seed=3, n=3)
    X[1] *= 0.05  # a signal that stops much earlier than the others
    tol = 1e-3
    L = phi.lipschitz()
    n_max = 400
    ref = _textbook(method, M, X, lam, L, n_max)
    x = X.reshape(len(X), -1)
    A = encode(X, phi, lam, method=method, tol=tol, max_iter=n_max)
    stops = []
    for i in range(len(X)):
        if method == "lca":
            # du of step k (from state k-1): (u_k - u_{k-1}) * max(L, 1), u from the codes
            # is not enough (a subthreshold u is hidden): rerun the state
            u = np.zeros(len(M))
            drive = np.abs(M @ x[i]).max()
            for k in range(n_max):
                a = _threshold(u, lam, "soft")
                du = (x[i] - a @ M) @ M.T + a - u
                u = u + du / max(L, 1.0)
                if np.abs(du).max() <= tol * drive:
                    break
        else:
            for k in range(n_max):
                prev = ref[k - 1, i] if k else np.zeros(len(M))
                if np.abs(ref[k, i] - prev).max() <= tol * np.abs(ref[k, i]).max():
                    break
        assert k < n_max - 1, "the reference did not stop"
        stops.append(k)
        np.testing.assert_allclose(A[i].ravel(), ref[k, i], rtol=0,
                                   atol=1e-9 * np.abs(ref[k, i]).max())
    assert stops[1] < min(stops[0], stops[2])  # the quiet signal stopped on its own


# -- the kernel gradient, against positions and windows written out by hand -----------

def _starts(n, k, s, boundary):
    """Per axis, the first sample of every copy (the module docstring's geometry)."""
    if boundary == "full":
        return np.arange(-(k - 1), n, s)
    if boundary == "valid":
        return np.arange(0, n - k + 1, s)
    return np.arange(0, n, s)


def _window(R, start, k_shape, boundary):
    """The samples of the signal ``R`` under a copy starting at ``start`` (zero outside
    the signal, wrapped for "circular")."""
    idx = [np.arange(a, a + k) for a, k in zip(start, k_shape)]
    if boundary == "circular":
        idx = [i % n for i, n in zip(idx, R.shape)]
        return R[np.ix_(*idx)]
    ok = [(i >= 0) & (i < n) for i, n in zip(idx, R.shape)]
    out = np.zeros(k_shape)
    sub = R[np.ix_(*[np.clip(i, 0, n - 1) for i, n in zip(idx, R.shape)])]
    mask = np.ix_(*ok)
    out[mask] = sub[mask]
    return out


def _gradient_reference(R, A, k_shape, stride, boundary):
    """-d/d kernels of 0.5 ||x - Φa||²: sum over copies of code times residual window."""
    n_kernels = A.shape[1]
    grad = np.zeros((n_kernels,) + k_shape)
    for r, a in zip(R, A):
        starts = [_starts(n, k, s, boundary) for n, k, s in zip(r.shape, k_shape, stride)]
        for pos in np.ndindex(*a.shape[1:]):
            w = _window(r, [st[p] for st, p in zip(starts, pos)], k_shape, boundary)
            grad += a[(slice(None),) + pos].reshape((-1,) + (1,) * len(k_shape)) * w
    return grad


@pytest.mark.parametrize("window_elements", [None, 1])
@pytest.mark.parametrize("kshape, signal_shape, stride, boundary", [
    ((2, 5), (17,), (2,), "full"), ((2, 4), (16,), (2,), "circular"),
    ((2, 3, 4), (8, 9), (2, 3), "full"), ((2, 3, 2), (7, 6), (1, 2), "valid"),
    ((2, 4, 3), (8, 6), (2, 3), "circular")])
def test_kernel_gradient_is_the_sum_of_codes_times_residual_windows(
        kshape, signal_shape, stride, boundary, window_elements, monkeypatch):
    """kernel_gradient_last against the gradient written out copy by copy (also in
    blocks of one signal: the memory bound on the gathered windows)."""
    from v1model.convolutional import operator

    if window_elements is not None:
        monkeypatch.setattr(operator, "_WINDOW_ELEMENTS", window_elements)
    rng = np.random.default_rng(7)
    phi = ConvolutionalDictionary(rng.standard_normal(kshape), signal_shape, stride=stride,
                                  boundary=boundary, dtype=np.float64)
    R = rng.standard_normal((3,) + signal_shape)
    A = rng.standard_normal((3, kshape[0]) + phi.code_shape)
    got = phi.kernel_gradient_last(R, np.moveaxis(A, 1, -1))
    want = _gradient_reference(R, A, kshape[1:], stride, boundary)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("kshape, signal_shape, stride", [
    ((3, 5, 4), (11, 9), (2, 1)), ((2, 150), (300,), (1,)), ((2, 12, 12), (20, 18), (1, 1))])
def test_maps_in_blocks_of_one_signal_match_scipy(kshape, signal_shape, stride,
                                                  monkeypatch):
    """The adjoint, the synthesis and as_matrix work in blocks of samples when the
    gathered windows (or the FFTs' spectra) would exceed their memory bound: with one
    signal per block they must still be SciPy's correlation and its transpose."""
    from v1model.convolutional import operator

    rng = np.random.default_rng(8)
    kernels = rng.standard_normal(kshape)
    X = rng.standard_normal((3,) + signal_shape)
    monkeypatch.setattr(operator, "_WINDOW_ELEMENTS", 1)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, dtype=np.float64)
    want = np.stack([np.stack([signal.correlate(x, h, mode="full", method="direct")[
        tuple(slice(None, None, s) for s in stride)] for h in kernels]) for x in X])
    got = phi.analyze(X)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(want).max())
    M = phi.as_matrix()
    np.testing.assert_allclose(X.reshape(3, -1) @ M.T, want.reshape(3, -1), rtol=0,
                               atol=1e-9 * np.abs(want).max())
    codes = rng.standard_normal((3, kshape[0]) + phi.code_shape)
    made = phi.synthesize(codes)
    np.testing.assert_allclose(made.reshape(3, -1), codes.reshape(3, -1) @ M, rtol=0,
                               atol=1e-9 * np.abs(made).max())


@pytest.mark.parametrize("bound", ["one signal", "below one signal"])
def test_encode_and_mp_in_blocks_of_one_signal_give_the_same_codes(bound, monkeypatch):
    """Signals are solved in blocks that bound the work arrays: blocks of one signal
    (also when one signal alone exceeds the bound) give every signal the codes it gets
    in one block (each solver, tolerance stop; matching pursuit)."""
    from v1model.convolutional import inference, matching_pursuit, pursuit

    phi, X, M, lam = _problem(n=4, seed=4)
    X[2] *= 0.1
    whole = {m: encode(X, phi, lam, method=m) for m in ("lca", "fista", "ista")}
    spikes = matching_pursuit(X, phi, n_nonzero=5)
    size = phi.n_coefficients if bound == "one signal" else 1
    monkeypatch.setattr(inference, "_BLOCK_ELEMENTS", size)
    monkeypatch.setattr(pursuit, "_BLOCK_ELEMENTS", size)
    # to rounding, not bit for bit: BLAS may sum a product of one row in another order
    # than one of four on another CPU (a block error moves codes by their own size)
    for method, A in whole.items():
        np.testing.assert_allclose(encode(X, phi, lam, method=method), A, rtol=0,
                                   atol=1e-3 * np.abs(A).max(), err_msg=method)
    np.testing.assert_allclose(matching_pursuit(X, phi, n_nonzero=5), spikes, rtol=0,
                               atol=1e-3 * np.abs(spikes).max())


# -- one kernel update of learn_kernels, written out --------------------------------

def _smooth_signal_and_kernels():
    """One smooth 1-D signal (Gaussian bumps) and two unit kernels: a bump, which codes
    it, and an alternating one, whose drive is far below lam (never used)."""
    rng = np.random.default_rng(9)
    t = np.arange(48)
    x = sum(a * np.exp(-0.5 * ((t - c) / 2.0) ** 2) for a, c in
            zip(rng.uniform(0.5, 1.5, 5) * rng.choice([-1, 1], 5), [6, 15, 24, 33, 41]))
    bump = np.exp(-0.5 * ((np.arange(6) - 2.3) / 1.5) ** 2)
    alternating = (-1.0) ** np.arange(6)
    kernels = np.stack([bump / np.linalg.norm(bump),
                        alternating / np.linalg.norm(alternating)])
    return x[None], kernels


def _fista_steps(M, x, lam, L, n_steps):
    return _textbook("fista", M, x, lam, L, n_steps)[-1]


@pytest.mark.parametrize("learning_rate", [0.5, 1.5])
def test_kernel_update_is_the_preconditioned_step(learning_rate):
    """Two updates on crops that are the whole signal (one signal, so every crop is it):
    each is d_k + eta sum_p a_k[p] r[p] / sum_p a_k[p]^2 then unit norm, from FISTA codes
    (max_iter steps: tol is never met), an unused kernel stays as it was, and the history
    holds the objective, error, activity, change and unconverged count of the update."""
    from v1model.convolutional import learn_kernels

    x, kernels = _smooth_signal_and_kernels()
    batch, n_steps, stride = 2, 30, 2
    X = np.repeat(x, batch, axis=0)
    lam = 0.1
    ds = learn_kernels(x, 2, 6, stride=stride, lam=lam, n_updates=2, batch_size=batch,
                       crop_size=48, learning_rate=learning_rate, max_iter=n_steps,
                       tol=1e-14, init=kernels, reseed_patience=None, duplicate_tol=None,
                       seed=0, dtype=np.float64, progress=False)
    d = kernels.copy()
    for update in range(2):
        phi = ConvolutionalDictionary(d, (48,), stride=stride, dtype=np.float64)
        M = phi.as_matrix()
        A = _fista_steps(M, X, lam, phi.lipschitz(), n_steps)
        R = X - A @ M
        A_maps = A.reshape((batch, 2) + phi.code_shape)
        grad = _gradient_reference(R, A_maps, (6,), (stride,), "full")
        usage = (A_maps**2).sum(axis=(0, 2))
        assert usage[0] > 0 and usage[1] == 0  # the alternating kernel is never used
        new = d.copy()
        new[0] += learning_rate * grad[0] / usage[0]
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        err, energy = float((R**2).sum()), float((X**2).sum())
        assert float(ds["objective"][update]) == pytest.approx(
            (0.5 * err + lam * np.abs(A).sum()) / batch, rel=1e-9)
        assert float(ds["reconstruction_error"][update]) == pytest.approx(err / energy,
                                                                          rel=1e-9)
        assert float(ds["fraction_active"][update]) == pytest.approx(
            np.count_nonzero(A) / A.size, rel=1e-12)
        assert float(ds["kernel_change"][update]) == pytest.approx(
            np.linalg.norm(new - d, axis=1).max(), rel=1e-7)
        d = new
    np.testing.assert_allclose(ds["kernels"].values, d, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ds["kernels"].values[1], kernels[1])
    assert ds["n_unconverged"].values.tolist() == [batch, batch]
    assert ds["n_reseeded"].values.tolist() == [0, 0]


@pytest.mark.parametrize("sign", [1, -1])
def test_unused_kernel_is_reseeded_from_the_worst_residual_window(sign):
    """reseed_patience=1: the kernel no code used is replaced, after the first update,
    by the unit-norm residual window (under a copy) of the largest energy, whatever
    the sign of its samples."""
    from v1model.convolutional import learn_kernels

    x, kernels = _smooth_signal_and_kernels()
    x = sign * x
    lam, n_steps, stride = 0.1, 30, 2
    ds = learn_kernels(x, 2, 6, stride=stride, lam=lam, n_updates=1, batch_size=1,
                       crop_size=48, max_iter=n_steps, tol=1e-14, init=kernels,
                       reseed_patience=1, duplicate_tol=None, seed=0, dtype=np.float64,
                       progress=False)
    phi = ConvolutionalDictionary(kernels, (48,), stride=stride, dtype=np.float64)
    M = phi.as_matrix()
    R = (x - _fista_steps(M, x, lam, phi.lipschitz(), n_steps) @ M)[0]
    windows = np.array([_window(R, [p], (6,), "full") for p in _starts(48, 6, stride, "full")])
    worst = windows[np.argmax((windows**2).sum(axis=1))]
    assert ds["n_reseeded"].values.tolist() == [1]
    np.testing.assert_allclose(ds["kernels"].values[1], worst / np.linalg.norm(worst),
                               rtol=0, atol=1e-10)


def test_random_crops_are_windows_at_every_place_of_every_image():
    """Each crop is images[i, r:r+h, c:c+w] for some image i and corner (r, c), and all
    images and all corners (0 .. size - crop) occur."""
    from v1model.convolutional.learning import _random_crops

    images = np.arange(3 * 7 * 6, dtype=float).reshape(3, 7, 6)
    crops = _random_crops(images, (4, 2), 1000, np.random.default_rng(0))
    assert crops.shape == (1000, 4, 2)
    seen = set()
    for crop in crops:
        i, r, c = np.unravel_index(int(crop[0, 0]), images.shape)
        np.testing.assert_array_equal(crop, images[i, r:r + 4, c:c + 2])
        seen.add((i, r, c))
    assert seen == {(i, r, c) for i in range(3) for r in range(4) for c in range(5)}


@pytest.mark.parametrize("kshape, signal_shape, stride, boundary, dims, first", [
    ((2, 5), (12,), (2,), "full", ("time",), [-4]),
    ((2, 2, 3, 2), (5, 6, 4), (1, 3, 2), "valid", ("z", "y", "x"), [0, 0, 0])])
def test_codes_dataset_of_sounds_and_volumes(kshape, signal_shape, stride, boundary, dims,
                                             first):
    """1-D codes are over (sample, kernel, time) and 3-D over (z, y, x), each position
    coordinate the first sample of its copy: every stride samples from -(k-1) ("full")
    or 0 ("valid")."""
    rng = np.random.default_rng(10)
    kernels = rng.standard_normal(kshape)
    phi = ConvolutionalDictionary(kernels, signal_shape, stride=stride, boundary=boundary,
                                  dtype=np.float64)
    codes = rng.standard_normal((2, kshape[0]) + phi.code_shape)
    ds = phi.codes_dataset(codes)
    assert ds["codes"].dims == ("sample", "kernel") + dims
    assert ds["kernels"].dims[0] == "kernel" and len(ds["kernels"].dims) == len(kshape)
    for dim, f, s, m in zip(dims, first, stride, phi.code_shape):
        assert ds[dim].values.tolist() == list(range(f, f + s * m, s))
    np.testing.assert_array_equal(ds["codes"].values, codes)


def test_duplicate_kernels_are_reseeded_every_patience_updates():
    """Two identical kernels code the signal equally (both are used), so only the
    duplicate check re-seeds one: the later one, at updates patience, 2 patience, ..."""
    from v1model.convolutional import learn_kernels
    from v1model.convolutional.learning import shifted_duplicates

    x, kernels = _smooth_signal_and_kernels()
    same = np.stack([kernels[0], kernels[0]])
    ds = learn_kernels(x, 2, 6, stride=2, lam=0.1, n_updates=3, batch_size=1,
                       crop_size=48, max_iter=30, init=same, reseed_patience=2,
                       duplicate_tol=0.95, seed=0, dtype=np.float64, progress=False)
    assert ds["fraction_active"].min() > 0
    assert ds["n_reseeded"].values.tolist() == [0, 1, 0]
    learned = ds["kernels"].values
    np.testing.assert_allclose(np.linalg.norm(learned, axis=1), 1.0, rtol=1e-12)
    assert shifted_duplicates(learned, (2,), 0.95).size == 0
    # the first kernel is never replaced: still the bump, up to the small updates
    assert abs(float(learned[0] @ kernels[0])) > 0.9


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
def test_convergence_warning_counts_the_signals_left_and_n_steps_never_warns(method):
    """max_iter too small for the two loud signals (the zero one stops at once): the
    ConvergenceWarning names 2 of 3; n_steps is no tolerance stop and never warns."""
    import warnings

    from v1model.inference import ConvergenceWarning

    phi, X, M, lam = _problem(n=3, seed=5)
    X[1] = 0.0
    with pytest.warns(ConvergenceWarning, match=rf"convolutional {method} stopped after 3 "
                                                r"iterations with 2 of 3 samples"):
        encode(X, phi, lam, method=method, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode(X, phi, lam, method=method, n_steps=3)


@pytest.mark.parametrize("method", ["lca", "fista", "ista"])
@pytest.mark.parametrize("one_per_block", [False, True])
def test_convergence_warning_names_the_rows_left(method, one_per_block, monkeypatch):
    """The warning counted the signals left; it names their rows of X, as the dense
    solvers do (rows 1 and 3 are zero and stop at once; blocks of one signal check
    that the rows are numbered in X, not in their block)."""
    from v1model.convolutional import inference
    from v1model.inference import ConvergenceWarning

    phi, X, M, lam = _problem(n=5, seed=5)
    X[[1, 3]] = 0.0
    if one_per_block:
        monkeypatch.setattr(inference, "_BLOCK_ELEMENTS", phi.n_coefficients)
    with pytest.warns(ConvergenceWarning, match=rf"^convolutional {method} stopped after 3 "
                                                r"iterations with 3 of 5 samples not "
                                                r"converged \(rows 0, 2, 4 of X\); raise "
                                                r"max_iter or loosen tol$"):
        encode(X, phi, lam, method=method, max_iter=3)


# -- matching pursuit --------------------------------------------------------------

@pytest.mark.parametrize("kshape, signal_shape, boundary", [
    ((3, 2, 7), (6, 24), "valid"), ((2, 2, 6), (5, 20), "circular")])
def test_mp_windows_wider_along_the_last_axis_than_the_first(kshape, signal_shape,
                                                              boundary, monkeypatch):
    """Kernels much wider than tall (update windows 3 x 13 copies): with segments of 3
    positions a pick's window touches 5-7 segments of the last axis, whose running
    maxima must all be refreshed to pick as the textbook MP does."""
    import v1model.convolutional.pursuit as pursuit
    from v1model.convolutional import matching_pursuit

    from .test_pursuit import textbook_mp

    monkeypatch.setattr(pursuit, "_segment_length", lambda shape: min(shape[-1], 3))
    rng = np.random.default_rng(11)
    phi = ConvolutionalDictionary(unit_kernels(rng, kshape), signal_shape,
                                  boundary=boundary, dtype=np.float64)
    X = rng.standard_normal((4,) + signal_shape)
    M = phi.as_matrix()
    ref, _ = textbook_mp(X, M, 12)
    codes = matching_pursuit(X, phi, n_nonzero=12, max_iter=12, min_coverage=0.0)
    np.testing.assert_allclose(codes.reshape(4, -1), ref, rtol=0, atol=1e-10)


def test_mp_default_max_iter_is_ten_steps_per_spike():
    """Two correlated atoms (cos 0.9) and a signal outside their span: MP alternates
    between them (2 distinct spikes, never 3) until the default limit of 10 n_nonzero
    steps; the residual's component outside the span is never removed."""
    from v1model.convolutional import matching_pursuit

    theta = np.arccos(0.9)
    kernels = np.array([[1.0, 0, 0, 0], [np.cos(theta), np.sin(theta), 0, 0],
                        [0, 0, 1.0, 0]])
    x = np.array([[1.0, 1.0, 0.0, 1.0]])
    codes, hist = matching_pursuit(x, kernels, n_nonzero=3, boundary="valid",
                                   return_history=True, dtype=np.float64)
    assert hist.sizes["iteration"] == 1 + 10 * 3
    assert np.count_nonzero(codes) == 2 and codes[0, 2, 0] == 0
    res2 = 2 * hist["data_term"].values
    # the residual in the atoms' plane shrinks by cos(theta) per step after the first
    np.testing.assert_allclose(res2[-1] - 1.0, (res2[1] - 1.0) * 0.81 ** 29, rtol=1e-9)


def test_positive_mp_never_picks_a_copy_below_min_coverage():
    """The only positive correlation of an edge impulse is with the "full" copy that
    covers it with a 0.1 tap (1% of the kernel's energy, below min_coverage): positive
    MP picks nothing, the residual stays the signal (no NaN), and the warning says no
    copy with a positive coefficient is left."""
    import warnings

    from v1model.convolutional import matching_pursuit

    kernel = np.array([[0.1, -0.995]])
    x = np.zeros((1, 12))
    x[0, -1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(UserWarning, match=r"1 of 1 signals end short of snr_db=10.*"
                                             r"lowers the residual with a positive "
                                             r"coefficient"):
            codes, hist = matching_pursuit(x, kernel, snr_db=10.0, positive=True,
                                           max_iter=5, return_history=True,
                                           dtype=np.float64)
    assert np.count_nonzero(codes) == 0
    np.testing.assert_array_equal(hist["data_term"].values, 0.5)


@pytest.mark.parametrize("scale, match", [
    (1e25, r"^X and kernels: values up to \|X\| = .* beyond what float32 holds"),
    (1e-25, r"^X and kernels: values of at most \|X\| = .* are too small for float32"),
])
def test_mp_refuses_signals_whose_products_leave_float32(scale, match):
    """As encode: products of signals of 1e25 overflow float32 (inf / NaN spikes), and
    squared residuals of 1e-25 underflow (no spikes, no word)."""
    from v1model.convolutional import matching_pursuit

    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=match):
        matching_pursuit(rng.standard_normal((2, 32)) * scale, rng.standard_normal((2, 5)),
                         n_nonzero=2)


# -- learn_kernels: duplicates, bad arguments ---------------------------------------

@pytest.mark.parametrize("stride, expected", [(2, []), (3, []), (1, [1]), (5, [1])])
@pytest.mark.parametrize("swap", [False, True])
def test_shifted_duplicates_only_at_multiples_of_the_stride(stride, expected, swap):
    """Two 6-tap kernels concentrated at opposite ends correlate 0.99 at a shift of
    +-5 taps and at most 0.2 elsewhere: duplicates when 5 is a multiple of the stride
    (1 or 5), not for strides 2 and 3 (scipy.signal.correlate gives the shifts)."""
    from v1model.convolutional.learning import shifted_duplicates

    a = np.array([0.1, 0, 0, 0, 0, 1.0])
    kernels = np.stack([a, a[::-1]]) / np.linalg.norm(a)
    if swap:
        kernels = kernels[::-1].copy()
    c = signal.correlate(kernels[0], kernels[1], mode="full")
    shifts = np.arange(-5, 6)
    assert np.abs(c[shifts % stride == 0]).max() < 0.8 or expected
    assert shifted_duplicates(kernels, (stride,), 0.8).tolist() == expected


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=0.0), r"learning_rate must be a positive"),
    (dict(learning_rate=-0.5), r"learning_rate must be a positive"),
    (dict(crop_size=0), r"crop_size must be >= 1"),
    (dict(init=np.stack([np.ones((4, 4)), np.zeros((4, 4)), np.ones((4, 4))])),
     r"init: kernel 1 is all zeros"),
])
def test_learn_kernels_refuses(kwargs, match):
    from v1model.convolutional import learn_kernels

    X = np.random.default_rng(0).standard_normal((2, 16, 16))
    with pytest.raises(ValueError, match=match):
        learn_kernels(X, 3, 4, n_updates=1, progress=False, **kwargs)


def test_learn_kernels_refuses_a_bad_progress():
    from v1model.convolutional import learn_kernels

    with pytest.raises(TypeError, match=r"progress must be True, False or None"):
        learn_kernels(np.ones((2, 16)), 2, 4, n_updates=1, progress="yes")


@pytest.mark.parametrize("kwargs, short", [
    (dict(snr_db=40.0, max_iter=2), 2),  # 2 spikes cannot reach 40 dB
    (dict(snr_db=1.0, max_iter=50), 0),  # 1 dB is reached
    (dict(n_nonzero=3, max_iter=2), 2),  # fewer than 3 spikes in 2 steps
    (dict(n_nonzero=1, snr_db=40.0, max_iter=2), 0),  # stopped by its 1 spike, on time
])
@pytest.mark.parametrize("sign", [1, -1])
def test_mp_learning_counts_crops_short_of_their_target(kwargs, short, sign):
    """n_unconverged of method="mp": crops whose pursuit hit max_iter before their
    target (the SNR, or n_nonzero spikes; with both, neither), for either sign of the
    signal."""
    from v1model.convolutional import learn_kernels

    x, kernels = _smooth_signal_and_kernels()
    x = sign * x
    ds = learn_kernels(x, 2, 6, method="mp", n_updates=1, batch_size=2, crop_size=48,
                       init=kernels, reseed_patience=None, duplicate_tol=None, seed=0,
                       dtype=np.float64, progress=False, **kwargs)
    assert ds["n_unconverged"].values.tolist() == [short]


# -- the network: the spec it hands to each simulator ------------------------------

@pytest.mark.parametrize("threshold", ["soft", "nonneg"])
def test_spiking_backend_receives_the_spec(threshold, monkeypatch):
    """backend="spiking" passes the kernels (soft: ON and OFF units, [K; -K]), lam,
    stride, boundary and tau (the network's own unless given) as tau to
    spiking_convolutional_lca, and a soft code is ON minus OFF rates."""
    import xarray as xr

    import v1model.spiking as spiking
    from v1model.convolutional import ConvolutionalNetwork

    calls = []

    def fake(X, kernels, lam, **kwargs):
        calls.append((np.asarray(kernels), lam, kwargs))
        code = np.arange(2 * len(kernels) * 9, dtype=float).reshape(2, len(kernels), 9)
        return xr.Dataset({"code": (("sample", "kernel", "x"), code)})

    monkeypatch.setattr(spiking, "spiking_convolutional_lca", fake)
    kernels = unit_kernels(np.random.default_rng(0), (3, 4))
    net = ConvolutionalNetwork(kernels, stride=2, boundary="valid", lam=0.4,
                               threshold=threshold, tau=0.02)
    X = np.zeros((2, 20))
    codes = net.encode(X, backend="spiking", duration=0.5)
    net.encode(X, backend="spiking", tau=0.03, lam=0.7)
    (k1, lam1, kw1), (k2, lam2, kw2) = calls
    want = kernels if threshold == "nonneg" else np.concatenate([kernels, -kernels])
    np.testing.assert_array_equal(k1, want)
    assert (lam1, lam2) == (0.4, 0.7)
    # as tau, the alias of tau_m, so that an error about it names the network's tau
    assert kw1 == dict(stride=(2,), boundary="valid", duration=0.5, tau=0.02)
    assert kw2 == dict(stride=(2,), boundary="valid", tau=0.03)
    rates = np.arange(2 * len(k1) * 9, dtype=float).reshape(2, len(k1), 9)
    expected = rates if threshold == "nonneg" else rates[:, :3] - rates[:, 3:]
    np.testing.assert_array_equal(codes, expected)


def test_network_of_3d_kernels_round_trips(tmp_path):
    """Volumes (kernels over kz, ky, kx) are saved and loaded like images."""
    from v1model.convolutional import ConvolutionalNetwork

    net = ConvolutionalNetwork(unit_kernels(np.random.default_rng(0), (2, 2, 3, 2)),
                               stride=(1, 2, 1), lam=0.2)
    back = ConvolutionalNetwork.load(net.save(tmp_path / "net.nc"))
    np.testing.assert_array_equal(back.kernels, net.kernels)
    assert back.params() == net.params()
    with pytest.raises(TypeError, match=r"ds must be an xarray.Dataset, got dict"):
        ConvolutionalNetwork.from_dataset({"kernels": net.kernels})
    flat = net.to_dataset().stack(tap=("kz", "ky", "kx")).reset_index("tap", drop=True)
    with pytest.raises(ValueError, match=r"ds\['kernels'\] has dims \('kernel', 'tap'\), "
                                         r"expected \('kernel', 'lag'\)"):
        ConvolutionalNetwork.from_dataset(flat)
    one = net.to_dataset().isel(kz=0, ky=0, kx=0)
    with pytest.raises(ValueError, match=r"has dims \('kernel',\), expected one of "
                                         r"\[\('kernel', 'lag'\), \('kernel', 'ky', 'kx'\)"):
        ConvolutionalNetwork.from_dataset(one)


def test_objective_refuses_codes_of_another_number_of_signals():
    """One signal's codes against three signals broadcast into three objectives."""
    from v1model.convolutional import objective

    phi, X, M, lam = _problem(n=3)
    codes = np.zeros((1, phi.n_kernels) + phi.code_shape)
    with pytest.raises(ValueError, match=r"codes hold 1 signals but X holds 3"):
        objective(X, codes, phi, lam)


# the last update's batch may be the zero crop, whose codes are all zero: warned of
@pytest.mark.filterwarnings("ignore:every code of the last")
def test_reconstruction_error_of_an_all_zero_batch_is_zero():
    """A batch of zero crops is coded exactly (zero codes): its relative error is 0, and
    the other batches' is ||x - Φa||² / ||x||² > 0."""
    from v1model.convolutional import learn_kernels

    x, kernels = _smooth_signal_and_kernels()
    images = np.concatenate([np.zeros_like(x), x])
    ds = learn_kernels(images, 2, 6, stride=2, lam=0.1, n_updates=6, batch_size=1,
                       crop_size=48, max_iter=20, init=kernels, reseed_patience=None,
                       duplicate_tol=None, seed=1, dtype=np.float64, progress=False)
    zero = ds["objective"].values == 0
    assert 0 < zero.sum() < 6
    np.testing.assert_array_equal(ds["reconstruction_error"].values[zero], 0.0)
    assert np.all(ds["reconstruction_error"].values[~zero] > 0)
