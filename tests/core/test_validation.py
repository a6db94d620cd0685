"""The boundary checks every public function shares."""

import numpy as np
import pytest

from v1model.validation import as_generator, check_array, check_dictionary, check_int


def test_complex_values_are_refused_not_truncated():
    # numpy would drop the imaginary part with only a ComplexWarning
    with pytest.raises(TypeError, match="X must be real, got complex values"):
        check_array(np.ones(3) + 1j, "X")
    with pytest.raises(TypeError, match="X must be real"):
        check_array([1 + 2j, 3], "X")


def test_bools_are_not_integers_or_seeds():
    for value in (True, np.True_):
        with pytest.raises(TypeError, match="n_nonzero must be an integer, got (np.)?True"):
            check_int(value, "n_nonzero", minimum=1)
    with pytest.raises(TypeError, match="seed must be None, an int"):
        as_generator(True)
    assert check_int(np.int64(3), "k") == 3 and check_int(4.0, "k") == 4


def test_dictionary_checks_hold_at_any_scale(rng):
    D = rng.standard_normal((6, 5))
    unit = D / np.linalg.norm(D, axis=1, keepdims=True)
    # the norm of a row of 1e200 overflows float64; the scaled computation does not
    for scale in (1e-200, 1e-13, 1.0, 1e200):
        np.testing.assert_allclose(check_dictionary(scale * D, normalized=True), unit,
                                   rtol=1e-12)
    # a tiny atom still has a direction; only an all-zero one is refused
    tiny = D.copy()
    tiny[2] *= 1e-14
    np.testing.assert_allclose(check_dictionary(tiny, normalized=True), unit, rtol=1e-12)
    tiny[2] = 0.0
    with pytest.raises(ValueError, match="1 atom\\(s\\) \\(rows\\) with zero norm, e.g. row 2"):
        check_dictionary(tiny)


def test_finite_values_beyond_float32_are_named_as_such():
    # 1e300 is finite: the cast to float32 overflows, which is not a NaN in the input
    with pytest.raises(ValueError, match=r"X has values up to 1e\+300, beyond the range of "
                                         r"float32 \(largest 3.4e\+38\); rescale X"):
        check_array(np.array([1.0, -1e300]), "X", dtype=np.float32)
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value\(s\)"):
        check_array(np.array([1e300, np.nan]), "X", dtype=np.float32)
    np.testing.assert_array_equal(check_array([1e38], "X", dtype=np.float32), [np.float32(1e38)])
