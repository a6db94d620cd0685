"""v1model._blas: small training steps run on one BLAS thread, large ones
leave BLAS alone, and the limit is lifted afterwards."""

import numpy as np
from threadpoolctl import threadpool_info

from v1model._blas import SMALL_STEP_FLOPS, blas_threads_for_step


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_small_steps_use_one_blas_thread_and_large_ones_all():
    before = _blas_threads()
    with blas_threads_for_step(SMALL_STEP_FLOPS / 10):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
    with blas_threads_for_step(SMALL_STEP_FLOPS * 10):
        assert _blas_threads() == before


def test_sae_and_lista_training_run_inside_the_limit(monkeypatch):
    """Both trainers ask for the limit with their step's size (a 128-latent SAE
    on 64 features in batches of 256 is small: 2.5e7 flops per step)."""
    import v1model.amortized.lista as lista_module
    import v1model.sae.autoencoder as sae_module
    from v1model.amortized import LISTA
    from v1model.sae import SparseAutoencoder

    seen = []

    def record(flops):
        seen.append(flops)
        return blas_threads_for_step(flops)

    monkeypatch.setattr(sae_module, "blas_threads_for_step", record)
    monkeypatch.setattr(lista_module, "blas_threads_for_step", record)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 64))
    SparseAutoencoder(128, k=4, n_steps=2, progress=False).fit(X, seed=0)
    D = rng.standard_normal((128, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    LISTA(2, 0.5, n_steps=2, batch_size=100).fit(X, D, seed=0)
    assert seen[0] == 12 * 256 * 128 * 64 < SMALL_STEP_FLOPS
    assert seen[1] == 6 * 100 * 128 * (64 + 128) < SMALL_STEP_FLOPS


def test_minibatch_dictionary_learning_runs_on_one_blas_thread(monkeypatch):
    """The Olshausen-Field rule, the batch learners (MOD, K-SVD) and online
    learning (function and estimator partial_fit) code their minibatches
    inside the limit, asked with one inference iteration's work
    2 n m (p + m); a full batch of 10,000 samples keeps BLAS's threads."""
    import v1model.learning._loop as loop_module
    import v1model.learning.estimator as estimator_module
    import v1model.learning.olshausen_field as of_module
    import v1model.learning.online as online_module
    from v1model._blas import coding_iteration_flops
    from v1model.learning import (SparseDictionaryLearner, learn_dictionary, learn_mod,
                                  learn_online)

    seen, threads = [], []

    def record(flops):
        seen.append(flops)
        return blas_threads_for_step(flops)

    for module in (loop_module, estimator_module, of_module, online_module):
        monkeypatch.setattr(module, "blas_threads_for_step", record)
    real_step = online_module.OnlineState.step

    def step(self, X, **kwargs):  # the threads BLAS has while a minibatch is coded
        threads.append(max(_blas_threads()))
        return real_step(self, X, **kwargs)

    monkeypatch.setattr(online_module.OnlineState, "step", step)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 36))
    learn_dictionary(X, 48, lam=0.1, n_updates=2, batch_size=100, seed=0, progress=False)
    learn_mod(X, 48, lam=0.1, n_updates=1, batch_size=50, seed=0, progress=False)
    learn_online(X, 48, lam=0.1, n_updates=2, batch_size=64, seed=0, progress=False)
    SparseDictionaryLearner(48, lam=0.1, batch_size=32, seed=0).partial_fit(X[:100])
    assert seen == [coding_iteration_flops(100, 48, 36), coding_iteration_flops(50, 48, 36),
                    coding_iteration_flops(64, 48, 36), coding_iteration_flops(32, 48, 36)]
    assert seen[0] == 2 * 100 * 48 * (36 + 48) < SMALL_STEP_FLOPS
    assert threads and all(n == 1 for n in threads)
    assert coding_iteration_flops(10_000, 512, 256) > SMALL_STEP_FLOPS


def test_lca_and_fista_iterate_on_one_blas_thread_when_small(monkeypatch):
    """lca (adaptive, fixed-step with a trajectory, ivp) and fista ask for the
    limit with one iteration's work on their block of rows and iterate inside it
    (two BLAS threads on such products ran 5-20x slower beside other processes
    on 2 cores); the codes are those computed with BLAS's threads."""
    import sys

    from threadpoolctl import threadpool_limits

    from v1model._blas import coding_iteration_flops
    from v1model.inference import fista, lca

    # the package's lca and fista are the functions, not their modules
    lca_module = sys.modules["v1model.inference.lca"]
    fista_module = sys.modules["v1model.inference.fista"]
    seen, threads = [], []

    def record(flops):
        seen.append(flops)
        return blas_threads_for_step(flops)

    def watch(module, name):
        real = getattr(module, name)

        def inner(*args, **kwargs):  # the threads BLAS has while the solver iterates
            threads.append(max(_blas_threads()))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, inner)

    monkeypatch.setattr(lca_module, "blas_threads_for_step", record)
    monkeypatch.setattr(fista_module, "blas_threads_for_step", record)
    for module, name in ((lca_module, "euler_adaptive"), (lca_module, "_euler"),
                         (lca_module, "_ivp"), (fista_module, "fista_iterate")):
        watch(module, name)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((48, 36))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((300, 36))
    with threadpool_limits(2, "blas"):
        got = [lca(X, D, 0.5, progress=False, dtype=np.float64),
               lca(X[:20], D, 0.5, n_steps=50, return_trajectory=True, progress=False)[0],
               lca(X[:5], D, 0.5, integrator="ivp", progress=False),
               fista(X, D, 0.5, progress=False, dtype=np.float64)]
        monkeypatch.setattr("v1model._blas.SMALL_STEP_FLOPS", 0.0)  # keep BLAS's threads
        kept = [lca(X, D, 0.5, progress=False, dtype=np.float64),
                lca(X[:20], D, 0.5, n_steps=50, return_trajectory=True, progress=False)[0],
                lca(X[:5], D, 0.5, integrator="ivp", progress=False),
                fista(X, D, 0.5, progress=False, dtype=np.float64)]
    assert seen[:4] == [coding_iteration_flops(300, 48, 36), coding_iteration_flops(20, 48, 36),
                        coding_iteration_flops(5, 48, 36), coding_iteration_flops(300, 48, 36)]
    assert threads[:4] == [1, 1, 1, 1]
    for a, b in zip(got, kept):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)
    # a block of 2,048 samples on 512 atoms of 256 pixels keeps the threads
    assert coding_iteration_flops(2048, 512, 256) > SMALL_STEP_FLOPS


def test_solver_error_by_iteration_runs_on_one_blas_thread(monkeypatch):
    """ISTA's and FISTA's error curves (gregor-lecun-2010-lista) iterate inside the
    limit, asked with one iteration's work on all the samples."""
    import v1model.amortized.compare as compare_module
    from v1model._blas import coding_iteration_flops
    from v1model.amortized import solver_error_by_iteration

    seen, threads = [], []

    def record(flops):
        seen.append(flops)
        return blas_threads_for_step(flops)

    real = compare_module.fista_iterate

    def inner(*args, **kwargs):
        threads.append(max(_blas_threads()))
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_module, "blas_threads_for_step", record)
    monkeypatch.setattr(compare_module, "fista_iterate", inner)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((48, 36))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((50, 36))
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2, "blas"):
        ds = solver_error_by_iteration(X, D, 0.5, 5, progress=False)
    assert coding_iteration_flops(50, 48, 36) in seen
    assert threads == [1, 1] and ds["prediction_error"].shape == (2, 5)
