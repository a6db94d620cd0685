"""Online dictionary learning (Mairal et al. 2009)."""

import numpy as np
import pytest

from v1model.learning._atoms import AtomUsage
from v1model.learning._coding import make_coder
from v1model.learning.estimator import SparseDictionaryLearner
from v1model.learning.online import OnlineState, block_coordinate_update, learn_online


def test_online_recovers_planted_dictionary(planted, recovery_score):
    X, D_true, _ = planted
    D, history = learn_online(X, 24, lam=0.3, n_updates=200, batch_size=100, seed=0,
                              progress=False)
    assert recovery_score(D, D_true) >= 0.9
    obj = history["objective"].values
    assert obj[-20:].mean() < 0.8 * obj[:5].mean()
    assert history.attrs["learner"] == "online" and history.attrs["forget_factor"] == 10.0


def test_block_coordinate_update_separable_case(rng):
    # diagonal A: each atom's problem is min 0.5 c ||d||^2 - <d, b> on the sphere -> b / ||b||
    A = np.diag(rng.uniform(0.5, 2.0, 6))
    B = rng.standard_normal((6, 10))
    D = rng.standard_normal((6, 10))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    block_coordinate_update(D, A, B)
    np.testing.assert_allclose(D, B / np.linalg.norm(B, axis=1, keepdims=True), atol=1e-12)


def test_block_coordinate_update_leaves_atoms_with_negligible_statistics(rng):
    # diagonal A as above: atoms with A_jj at or below 1e-10 max(A_kk) keep their values
    # (the docstring's floor), the others move to b_j / ||b_j||
    A = np.diag([1.0, 1e-10, 0.0, 2e-10, 0.5])
    B = rng.standard_normal((5, 8))
    D = rng.standard_normal((5, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    before = D.copy()
    block_coordinate_update(D, A, B)
    kept, moved = [1, 2], [0, 3, 4]
    np.testing.assert_array_equal(D[kept], before[kept])
    np.testing.assert_allclose(D[moved], B[moved] / np.linalg.norm(B[moved], axis=1,
                                                                     keepdims=True), atol=1e-12)


def test_block_coordinate_update_reaches_stationary_point(rng):
    # surrogate of least squares: A = C^T C, B = C^T X; at a stationary point of
    # 0.5 tr(D^T A D) - tr(D^T B) on unit spheres the gradient of each row is
    # parallel to the row (analytic KKT condition), and every pass lowers the surrogate
    C = rng.standard_normal((200, 8)) * (rng.random((200, 8)) < 0.3)
    X = rng.standard_normal((200, 12))
    A, B = C.T @ C, C.T @ X
    D = rng.standard_normal((8, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)

    def surrogate(D):
        return 0.5 * np.trace(D.T @ A @ D) - np.trace(D.T @ B)

    values = [surrogate(D)]
    for _ in range(300):
        block_coordinate_update(D, A, B)
        values.append(surrogate(D))
    assert np.all(np.diff(values) <= 1e-9)
    G = A @ D - B
    tangential = G - np.sum(G * D, axis=1, keepdims=True) * D
    assert np.abs(tangential).max() < 1e-6 * np.abs(G).max()



def test_block_coordinate_update_n_passes_sweeps_that_many_times(rng):
    # n_passes=300 in one call is 300 sweeps: it reaches the stationary point of the
    # surrogate (each row's gradient parallel to the row, the analytic KKT condition
    # on the sphere), which a single sweep from a random start is far from
    C = rng.standard_normal((200, 8)) * (rng.random((200, 8)) < 0.3)
    X = rng.standard_normal((200, 12))
    A, B = C.T @ C, C.T @ X
    D = rng.standard_normal((8, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    block_coordinate_update(D, A, B, n_passes=300)
    G = A @ D - B
    tangential = G - np.sum(G * D, axis=1, keepdims=True) * D
    assert np.abs(tangential).max() < 1e-6 * np.abs(G).max()


class _ConstantCoder:
    """Codes filled with one value per batch, to check the statistics recursion."""

    def __init__(self, values):
        self.values = list(values)
        self.lam = None
        self.positive = False
        self.params = {}  # no solver settings (named by a shortfall's warning)

    def encode(self, X, D, rng=None):  # Coder.encode's arguments
        return np.full((X.shape[0], D.shape[0]), self.values.pop(0))

    def objective(self, X, D, A, R=None):
        return np.zeros(X.shape[0])


@pytest.mark.parametrize("rho, expected", [(0.0, 2.5), (1.0, 3.0)])
def test_forgetting_weights(rho, expected):
    # batch codes 1 then 2: A averages 1 and 4 with weights (1, 1) for rho = 0
    # and beta_2 = (1 - 1/2)**1 = 1/2 -> weights (1/2, 1) for rho = 1
    D = np.eye(3)
    usage = AtomUsage(3, None, None)
    state = OnlineState(D, _ConstantCoder([1.0, 2.0]), rho, 1, usage, np.random.default_rng(0))
    X = np.ones((4, 3))
    state.step(X)
    state.step(X)
    np.testing.assert_allclose(state.A, expected)
    assert state.n_samples_seen == 8 and state.n_updates == 2


def test_steps_follow_mairal_2010_with_forgetting(planted):
    # Mairal et al. (2010), Alg. 1 with the mini-batch extension (Sec. 3.4.3) and the
    # scaling of the past (Sec. 3.4.2), transcribed with plain sums:
    # A_t = beta_t A_{t-1} + sum a a^T, B_t = beta_t B_{t-1} + sum a x^T,
    # beta_t = (1 - 1/t)^rho, then one Gauss-Seidel pass of
    # u_j = d_j + (b_j - A_j D) / A_jj, d_j = u_j / ||u_j|| (the unit sphere, as documented).
    # The learner keeps weighted averages instead of sums: the same dictionary.
    X = planted[0][:300]
    rho, n_atoms, batch = 3.0, 20, 30
    coder = make_coder("fista", 0.1, dtype=np.float64, method_params={"tol": 1e-10})
    D0 = X[:n_atoms] / np.linalg.norm(X[:n_atoms], axis=1, keepdims=True)
    state = OnlineState(D0.copy(), coder, rho, 1, AtomUsage(n_atoms, None, None),
                        np.random.default_rng(0))
    D, A, B = D0.copy(), np.zeros((n_atoms, n_atoms)), np.zeros((n_atoms, X.shape[1]))
    for t in range(1, 11):
        xb = X[(t - 1) * batch : t * batch]
        state.step(xb)
        codes = coder.encode(xb, D)
        beta = (1.0 - 1.0 / t) ** rho
        A = beta * A + codes.T @ codes
        B = beta * B + codes.T @ xb
        for j in range(n_atoms):
            if A[j, j] > 0:
                u = D[j] + (B[j] - A[j] @ D) / A[j, j]
                D[j] = u / np.linalg.norm(u)
    np.testing.assert_allclose(state.D, D, atol=1e-9)
    np.testing.assert_allclose(state.A * state.weight, A, rtol=1e-9, atol=1e-9)


def test_partial_fit_on_chunks_equals_fit_without_shuffle(planted):
    # same initial dictionary (fit draws it from all of X, partial_fit from the first chunk)
    X, _, _ = planted
    D0 = np.random.default_rng(3).standard_normal((24, 16))
    params = dict(lam=0.3, batch_size=50, shuffle=False, seed=3, init=D0)
    fitted = SparseDictionaryLearner(24, n_updates=8, **params).fit(X[:400])
    streamed = SparseDictionaryLearner(24, **params)
    for start in range(0, 400, 100):
        streamed.partial_fit(X[start : start + 100])
    assert streamed.n_iter_ == fitted.n_iter_ == 8
    np.testing.assert_array_equal(streamed.components_, fitted.components_)
    np.testing.assert_array_equal(streamed.history_["objective"], fitted.history_["objective"])


def test_partial_fit_stream_close_to_fit(planted, recovery_score):
    # fit on X and a stream of chunks drawn from the same distribution reach the same quality
    X, D_true, _ = planted
    fitted = SparseDictionaryLearner(24, lam=0.3, batch_size=100, n_updates=200, seed=0).fit(X)
    streamed = SparseDictionaryLearner(24, lam=0.3, batch_size=100, seed=0)
    draw = np.random.default_rng(7)
    for _ in range(40):
        streamed.partial_fit(X[draw.integers(0, len(X), 500)])
    assert streamed.n_iter_ == 200
    held_out = X[:300]
    assert streamed.score(held_out) == pytest.approx(fitted.score(held_out), rel=0.05)
    assert recovery_score(streamed.components_, D_true) >= 0.9


def test_streaming_memory_does_not_grow(planted):
    X, _, _ = planted
    learner = SparseDictionaryLearner(24, lam=0.3, batch_size=50, seed=0)
    learner.partial_fit(X[:100])
    state = learner._state
    sizes = {name: getattr(state, name).nbytes for name in ("A", "B", "D")}
    for _ in range(10):
        learner.partial_fit(X)
    assert {name: getattr(state, name).nbytes for name in ("A", "B", "D")} == sizes
    assert state.n_samples_seen == 100 + 10 * len(X)
    # the only per-update memory is one history row
    assert learner.history_.sizes["update"] == learner.n_iter_ == 2 + 10 * 20


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"forget_factor": -1.0}, "forget_factor must be a non-negative"),
        ({"n_passes": 0}, "n_passes must be >= 1"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"lam": -0.1}, "lam must be a positive"),
    ],
)
def test_online_bad_arguments(planted, kwargs, match):
    X, _, _ = planted
    args = dict(lam=0.3, n_updates=1, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        learn_online(X[:50], 8, **args)


@pytest.mark.parametrize("shuffle", ["no", 0, None])
def test_online_shuffle_must_be_a_bool(planted, shuffle):
    # "no" is truthy: bool() shuffled the minibatches; SparseDictionaryLearner refused it
    X, _, _ = planted
    with pytest.raises(TypeError, match=f"shuffle must be a bool, got {shuffle!r}"):
        learn_online(X[:50], 8, lam=0.3, n_updates=1, shuffle=shuffle, progress=False)


def test_online_with_lca_codes(planted):
    # any inference method plugs in: LCA codes give a comparable dictionary step
    X, _, _ = planted
    coder = make_coder("lca", lam=0.3)
    assert coder.params["tol"] == 1e-3
    D, h = learn_online(X, 24, method="lca", lam=0.3, n_updates=20, batch_size=100, seed=0,
                        progress=False)
    assert h.attrs["method"] == "lca"
    assert h["objective"].values[-5:].mean() < h["objective"].values[0]


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"D": np.ones((4, 5), dtype=np.float32)}, TypeError, "D must be a float64 numpy array"),
        ({"D": [[1.0, 0.0]] * 4}, TypeError, "D must be a float64 numpy array"),
        ({"A": np.eye(3)}, ValueError, r"A must have shape \(4, 4\), got \(3, 3\)"),
        ({"B": np.ones((4, 6))}, ValueError, r"B must have shape \(4, 5\), got \(4, 6\)"),
        ({"B": np.full((4, 5), np.nan)}, ValueError, "B contains 20 non-finite"),
        ({"n_passes": 0}, ValueError, "n_passes must be >= 1"),
        # updated in place: a read-only D failed at the first write, not naming D
        ({"D": np.broadcast_to(np.eye(1, 5), (4, 5))}, ValueError,
         r"D must be writable \(it is updated in place\), got a read-only array of shape "
         r"\(4, 5\)"),
    ],
)
def test_block_coordinate_update_bad_input(change, error, match):
    args = {"D": np.eye(4, 5), "A": np.eye(4), "B": np.ones((4, 5)), "n_passes": 1}
    args.update(change)
    with pytest.raises(error, match=match):
        block_coordinate_update(**args)


def test_online_warns_of_the_solvers_shortfall_once_per_run_naming_method_params(planted):
    # every update's minibatch warned "fista stopped ... (rows 0, 1, ..., 9, ... of X);
    # raise max_iter": rows of a shuffled minibatch, not of X, a knob that learn_online
    # does not take, and again at every update (30 warnings here)
    from v1model.inference import ConvergenceWarning

    X, _, _ = planted
    message = (r"^fista stopped after 2 iterations with samples not converged in 30 of 30 "
               r"updates \(\d+ of the 3000 samples coded in them\); raise "
               r"method_params\['max_iter'\] \(now 2\) or loosen method_params\['tol'\] "
               r"\(now 0\.01\)$")
    with pytest.warns(ConvergenceWarning, match=message) as record:
        learn_online(X, 24, lam=0.1, batch_size=100, n_updates=30,
                     method_params={"max_iter": 2}, seed=0, progress=False)
    caught = [w for w in record if w.category is ConvergenceWarning]
    assert len(caught) == 1 and caught[0].filename == __file__
    assert "of X" not in str(caught[0].message)
