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


def test_pipeline_set_output_pandas_gives_the_latents_as_a_frame(planted):
    # Pipeline.set_output(transform="pandas") refused the model ("Unable to configure
    # output ... because `set_output` is not available"); the dictionary learner's way
    pd = pytest.importorskip("pandas")
    from sklearn.preprocessing import StandardScaler

    X = planted[0][:600]
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])],
                         index=[f"patch{i}" for i in range(600)])
    pipe = make_pipeline(StandardScaler(), SparseAutoencoder(48, "topk", k=3, **SETTINGS))
    Z = pipe.set_output(transform="pandas").fit_transform(frame)
    sae = pipe[-1]
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.index) == list(frame.index)
    assert list(Z.columns) == [f"sparseautoencoder{i}" for i in range(48)]
    np.testing.assert_array_equal(sae.feature_names_in_, frame.columns)
    plain = sae.set_output(transform="default").transform(pipe[0].transform(frame))
    np.testing.assert_array_equal(Z.to_numpy(), plain)
    np.testing.assert_array_equal(plain, sae.encode(pipe[0].transform(frame).to_numpy()))
    # refitting on an array forgets the names
    assert not hasattr(sae.fit(X), "feature_names_in_")


def test_set_output_and_feature_names_refuse_bad_values(planted):
    sae = SparseAutoencoder(48, "topk", k=3, **SETTINGS)
    with pytest.raises(ValueError, match="transform must be one of 'default', 'pandas', "
                                         "'polars' or None, got 'xarray'"):
        sae.set_output(transform="xarray")
    with pytest.raises(ValueError, match="not fitted yet"):
        sae.get_feature_names_out()
    sae.fit(planted[0][:400])
    with pytest.raises(ValueError, match=r"input_features should have length equal to number "
                                         r"of features \(64\), got shape \(3,\)"):
        sae.get_feature_names_out(["a", "b", "c"])


# scikit-learn runs these on its own estimators only (test_common), as for the learner
@pytest.mark.parametrize("check_name", [
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
])
def test_sklearn_set_output_checks(check_name):
    import warnings

    from sklearn.utils import estimator_checks

    pytest.importorskip("pandas")
    sae = SparseAutoencoder(8, "topk", k=2, n_steps=5, batch_size=16, dtype="float64", seed=0,
                            progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        getattr(estimator_checks, check_name)("SparseAutoencoder", sae)


def _frame(X, names=None):
    pd = pytest.importorskip("pandas")
    names = [f"pixel{i}" for i in range(X.shape[1])] if names is None else names
    return pd.DataFrame(X, columns=names)


def test_transform_checks_a_frames_columns_as_scikit_learns_transformers(planted):
    # before 2026-12-07 renamed or reordered columns coded silently, matched by position;
    # scikit-learn's StandardScaler is the reference for what is refused and warned
    from sklearn.preprocessing import StandardScaler

    X = planted[0][:400]
    frame = _frame(X)
    sae = SparseAutoencoder(48, "topk", k=3, **SETTINGS).fit(frame)
    scaler = StandardScaler().fit(frame)
    renamed = _frame(X, ["pixel0", "other"] + list(frame.columns[2:]))
    reordered = frame[list(frame.columns[::-1])]
    for bad in (renamed, reordered):
        with pytest.raises(ValueError) as expected:
            scaler.transform(bad)
        with pytest.raises(ValueError) as got:
            sae.transform(bad)
        assert str(got.value) == str(expected.value)
    # the same columns code as encode; an array is warned of, and coded by position
    np.testing.assert_array_equal(sae.transform(frame), sae.encode(X))
    with pytest.warns(UserWarning, match="X does not have valid feature names, but "
                                         "SparseAutoencoder was fitted with feature names"):
        np.testing.assert_array_equal(sae.transform(X), sae.encode(X))
    plain = SparseAutoencoder(48, "topk", k=3, **SETTINGS).fit(X)
    with pytest.warns(UserWarning, match="X has feature names, but SparseAutoencoder was "
                                         "fitted without feature names"):
        plain.transform(frame)


def test_a_stream_refuses_a_chunk_with_other_columns_and_is_left_as_it_was(planted):
    X = planted[0][:400]
    sae = SparseAutoencoder(48, "topk", k=3, batch_size=100, seed=0,
                            progress=False).partial_fit(_frame(X[:200]))
    before = sae.components_.copy()
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- other"):
        sae.partial_fit(_frame(X[200:], ["other"] + [f"pixel{i}" for i in range(1, 64)]))
    np.testing.assert_array_equal(sae.components_, before)
    assert sae.history_.sizes["step"] == 2
    sae.partial_fit(_frame(X[200:]))  # the same columns continue the stream
    assert sae.history_.sizes["step"] == 4
