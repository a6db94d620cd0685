"""The autoencoder as a scikit-learn transformer: ``transform``, ``fit_transform`` and
``inverse_transform`` (before 2026-12-07 it had none, and ``Pipeline`` refused it as a
step: "All intermediate steps should be transformers")."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from v1model.sae import SparseAutoencoder

SETTINGS = dict(n_steps=30, batch_size=100, seed=0, progress=False)


@pytest.mark.parametrize("activation, sparsity", [("topk", dict(k=3)),
                                                  ("relu", dict(lam=0.1))])
def test_a_pipeline_step_codes_as_encode(planted, activation, sparsity):
    # the classifier of the pipeline is the one fitted by hand on encode's latents
    X = planted[0][:600]
    y = (planted[2][:600, 0] > 0).astype(int)  # is the first planted atom active
    pipe = make_pipeline(SparseAutoencoder(48, activation, **sparsity, **SETTINGS),
                         LogisticRegression(max_iter=1000))
    pipe.fit(X, y)
    by_hand = SparseAutoencoder(48, activation, **sparsity, **SETTINGS).fit(X)
    np.testing.assert_array_equal(pipe[0].components_, by_hand.components_)
    Z = by_hand.encode(X)
    reference = LogisticRegression(max_iter=1000).fit(Z, y)
    np.testing.assert_allclose(pipe.predict_proba(X), reference.predict_proba(Z),
                               rtol=0, atol=1e-12)
    # and clone gives an unfitted step with the same settings
    assert clone(pipe)[0].get_params() == pipe[0].get_params()


def test_transform_fit_transform_and_inverse_transform_are_encode_and_decode(planted):
    X = planted[0][:400]
    sae = SparseAutoencoder(48, "topk", k=3, **SETTINGS)
    Z = sae.fit_transform(X)
    fitted = SparseAutoencoder(48, "topk", k=3, **SETTINGS).fit(X)
    np.testing.assert_array_equal(Z, fitted.encode(X))
    np.testing.assert_array_equal(sae.transform(X[:50]), sae.encode(X[:50]))
    assert Z.dtype == np.float32 and np.all(np.count_nonzero(Z, axis=1) == 3)
    np.testing.assert_array_equal(sae.inverse_transform(Z), sae.reconstruct(X))
    # fit_transform's seed overrides the constructor's, as fit's does
    other = SparseAutoencoder(48, "topk", k=3, **SETTINGS).fit_transform(X, seed=1)
    np.testing.assert_array_equal(
        other, SparseAutoencoder(48, "topk", k=3, **SETTINGS).fit(X, seed=1).encode(X))
    assert not np.array_equal(other, Z)


def test_transformer_tags_preserve_the_models_dtype():
    tags = SparseAutoencoder(8, "topk", k=2, dtype="float64").__sklearn_tags__()
    assert tags.transformer_tags.preserves_dtype == ["float64"]
    assert SparseAutoencoder(8, "topk", k=2).__sklearn_tags__().transformer_tags \
        .preserves_dtype == ["float32"]


def test_transform_before_fit_names_fit():
    with pytest.raises(ValueError, match="not fitted yet; call 'fit' first"):
        SparseAutoencoder(8, "topk", k=2).transform(np.ones((3, 4)))
