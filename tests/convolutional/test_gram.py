"""gram_matrix: ΦᵀΦ of every geometry against the explicit matrix."""

import numpy as np
import pytest

from v1model.convolutional import ConvolutionalDictionary
from v1model.convolutional.gram import gram_matrix

from .test_pursuit import PROBLEMS, make_problem


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_gram_matrix_equals_the_explicit_product(name):
    phi, _ = make_problem(name)
    M = phi.as_matrix()
    G = gram_matrix(phi)
    np.testing.assert_allclose(G.toarray(), M @ M.T, atol=1e-12)
    # only overlapping copies are stored
    assert G.nnz == np.count_nonzero(np.abs(M @ M.T) > 1e-12)


def test_float32_dictionary_gives_the_float64_gram():
    phi, _ = make_problem("2d-full-s12")
    phi32 = ConvolutionalDictionary(phi.kernels, phi.signal_shape, stride=phi.stride,
                                    boundary="full", dtype=np.float32)
    G = gram_matrix(phi32)
    assert G.dtype == np.float64
    np.testing.assert_allclose(G.toarray(), gram_matrix(phi).toarray(), atol=1e-6)


def test_refuses_anything_but_a_dictionary():
    with pytest.raises(TypeError, match="phi must be a ConvolutionalDictionary"):
        gram_matrix(np.eye(3))
