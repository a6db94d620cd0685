"""The online learner against scikit-learn's MiniBatchDictionaryLearning: the same
whitened natural patches, the same lam (its alpha), minibatch size and number of
minibatch updates; the held-out LASSO objective of each dictionary is measured with
scikit-learn's own coordinate-descent codes, on patches from columns of the photographs
that no training patch touches."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from v1model.learning import SparseDictionaryLearner  # noqa: E402

LAM = 0.15


def _heldout_objective(D, X_test):
    """Mean 0.5 ||x - a D||^2 + LAM ||a||_1 over ``X_test``, a from scikit-learn's lasso_cd."""
    from sklearn.decomposition import sparse_encode

    D = np.asarray(D, dtype=np.float64)
    A = sparse_encode(X_test, D, algorithm="lasso_cd", alpha=LAM, max_iter=5000)
    R = X_test - A @ D
    return float(np.mean(0.5 * np.einsum("ij,ij->i", R, R) + LAM * np.abs(A).sum(axis=1)))


def _compare(whitened_images, n_train, n_atoms, batch_size, n_updates, seed):
    """(ours, scikit-learn's, the zero dictionary's) held-out objective."""
    from sklearn.decomposition import MiniBatchDictionaryLearning

    from stimuli import sample_patches, split_images

    train, held_out = split_images(whitened_images, 0.2)
    X = sample_patches(train, 8, n_train, seed=0)
    X_test = sample_patches(held_out, 8, 300, seed=1)
    with warnings.catch_warnings():  # its lasso_cd codes stop at max_iter on some batches
        warnings.simplefilter("ignore")
        reference = MiniBatchDictionaryLearning(
            n_atoms, alpha=LAM, batch_size=batch_size, max_iter=n_updates * batch_size // n_train,
            fit_algorithm="cd", tol=0.0, max_no_improvement=None, random_state=seed).fit(X)
    assert reference.n_steps_ == n_updates
    ours = SparseDictionaryLearner(n_atoms, lam=LAM, batch_size=batch_size, n_updates=n_updates,
                                   seed=seed).fit(X)
    # unit-norm atoms: a longer atom would lower the L1 term for free
    np.testing.assert_allclose(np.linalg.norm(ours.components_, axis=1), 1.0, atol=1e-5)
    zero = float(np.mean(0.5 * np.einsum("ij,ij->i", X_test, X_test)))
    return (_heldout_objective(ours.components_, X_test),
            _heldout_objective(reference.components_, X_test), zero)


def test_online_learner_reaches_sklearn_minibatch_heldout_objective(whitened_images):
    # 32 atoms, 24 minibatches of 128 on 1,024 patches (3 epochs). 2026-12-07, seeds 0-3:
    # ours 0.915, 0.905, 0.894, 0.916; scikit-learn 1.9's 0.937, 0.929, 0.931, 0.933
    # (ours 2-4% lower); the zero dictionary's 2.58
    ours, reference, zero = _compare(whitened_images, 1024, 32, 128, 24, seed=0)
    assert reference < 0.5 * zero  # the reference learned something
    assert ours <= 1.0 * reference


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_online_learner_beats_sklearn_minibatch_heldout_objective(whitened_images, seed):
    # 64 atoms, 60 minibatches of 256 on 3,000 patches (5 epochs). 2026-12-07: ours 0.754,
    # 0.752, 0.754; scikit-learn 1.9's 0.787, 0.784, 0.794 (ours 4-5% lower, learned in
    # 2-4 s where scikit-learn took 9-13 s, loaded 2-core machine)
    ours, reference, zero = _compare(whitened_images, 3000, 64, 256, 60, seed)
    assert reference < 0.5 * zero
    assert ours <= 0.98 * reference
