"""The training-data check's single pass: its mean and spread against numpy's."""

import numpy as np
import pytest

from v1model.learning._data import _BLOCK_ELEMENTS, check_training_rows


@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("n_features, dtype", [(7, np.float64), (256, np.float32),
                                               (1, np.float64)])
def test_one_pass_mean_and_spread_match_numpy(offset, n_features, dtype):
    # several blocks of rows and a partial last one; features of different scales and
    # means, far from zero with the offset (where sum(x^2) - n mean^2 would cancel)
    rows = _BLOCK_ELEMENTS // n_features
    rng = np.random.default_rng(n_features)
    X = (rng.standard_normal((3 * rows + 17, n_features)) * rng.uniform(0.1, 3, n_features)
         + rng.uniform(-2, 2, n_features) + offset).astype(dtype)
    before = X.copy()
    same, stats = check_training_rows(X, moments=True)
    assert same is X
    np.testing.assert_array_equal(X, before)  # a float64 X's blocks are views: untouched
    X64 = X.astype(np.float64)
    mean = X64.mean(axis=0)
    spread = np.sqrt(np.mean((X64 - mean) ** 2))  # numpy's two passes
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-10, atol=0)
    assert stats.spread == pytest.approx(spread, rel=1e-10)
    assert stats.max_abs == np.abs(X64).max()


def test_moments_of_small_and_integer_data():
    X = np.arange(12).reshape(4, 3)  # integers: read as float64, dtype kept
    same, stats = check_training_rows(X, moments=True)
    assert same.dtype.kind == "i"
    np.testing.assert_allclose(stats.mean, [4.5, 5.5, 6.5], rtol=1e-15)
    # every feature: 0, 3, 6, 9 around its mean, variance 11.25
    assert stats.spread == pytest.approx(np.sqrt(11.25), rel=1e-15)
    one = check_training_rows(np.ones((1, 3)) * 2.0, moments=True)[1]
    assert one.spread == 0 and list(one.mean) == [2.0, 2.0, 2.0]
    assert check_training_rows(X).shape == (4, 3)  # without moments: X alone


def test_minibatches_in_order_use_every_sample():
    # shuffle=False: a batch running past the end continues from the start (the last
    # n % batch_size samples were skipped in every epoch)
    from v1model.learning._data import Minibatches

    batches = Minibatches(120, 50, False, np.random.default_rng(0))
    drawn = [batches.next() for _ in range(12)]
    np.testing.assert_array_equal(drawn[2], np.r_[100:120, 0:30])
    np.testing.assert_array_equal(np.bincount(np.concatenate(drawn)), np.full(120, 5))


@pytest.mark.parametrize("X", [
    np.ones((5, 4)) * 1j,  # complex: fit raised a ValueError, encode a TypeError
    "abc",  # fit: "X must have 2 dimensions (n_samples, n_features), got 0"
    np.ones((5, 4)).astype(str),
    [[1.0, 2.0, 3.0, 4.0], [1.0]],  # fit: numpy's "inhomogeneous shape", naming no argument
    {"a": 1},  # fit: "2 dimensions, got 0"
], ids=["complex", "string", "strings", "ragged", "dict"])
def test_fit_refuses_data_as_encode_does(X):
    """The learners' data check raises the exception encode's check_array raises for data
    that is not real numbers, with the same message (scikit-learn's words appended for
    complex data, which its check_complex_data wants as a ValueError: both, then)."""
    from v1model.inference import encode
    from v1model.learning import SparseDictionaryLearner

    with pytest.raises(TypeError) as by_encode:
        encode(X, np.eye(4), "fista", lam=0.1, progress=False)
    learner = SparseDictionaryLearner(2, lam=0.1, n_updates=1, seed=0, progress=False)
    with pytest.raises(TypeError) as by_fit:
        learner.fit(X)
    assert type(by_fit.value) is type(by_encode.value)
    assert str(by_fit.value).startswith(str(by_encode.value))
    assert str(by_fit.value).startswith("X must be ")
    if isinstance(X, np.ndarray) and X.dtype.kind == "c":
        from v1model.validation import ComplexDataError

        assert isinstance(by_fit.value, ComplexDataError)
        assert isinstance(by_fit.value, ValueError)  # scikit-learn's check_complex_data
        assert str(by_fit.value).endswith("; Complex data not supported")
        with pytest.raises(ComplexDataError, match=r"^X must be real, got complex values "
                                                   r"\(array of shape \(5, 4\) and dtype "
                                                   r"complex128\)$"):
            encode(X, np.eye(4), "fista", lam=0.1, progress=False)


def test_a_dataframe_with_text_is_described_by_shape_and_dtypes():
    # its repr was pasted onto one line: "got a b 0 x 0.0 1 x 1.0 2 x 2.0: could not ..."
    pd = pytest.importorskip("pandas")
    from v1model.learning._data import check_training_data

    X = pd.DataFrame({"a": ["x", "y", "z"], "b": [0.0, 1.0, 2.0]})
    with pytest.raises(TypeError) as refused:
        check_training_data(X)
    message = str(refused.value)
    assert message.startswith("X must be a numeric array, got pandas DataFrame of shape "
                              "(3, 2) with dtypes {'a': ")
    assert "'b': float64}" in message
    assert "0 x 0.0" not in message


@pytest.mark.parametrize("X", [True, np.bool_(False), np.array(True)])
def test_a_bare_bool_is_refused_as_check_array_refuses_it(X):
    # it was told "X must have 2 dimensions (n_samples, n_features), got 0" (a ValueError)
    from v1model.learning._data import check_training_data
    from v1model.validation import check_array

    with pytest.raises(TypeError) as by_check_array:
        check_array(X, "X")
    with pytest.raises(TypeError, match=r"^X must be a number or an array of numbers, got "
                                        r"(True|False) \(a bool\)$") as by_fit:
        check_training_data(X)
    assert str(by_fit.value) == str(by_check_array.value)
