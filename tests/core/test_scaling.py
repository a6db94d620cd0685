"""v1model.scaling: exact power-of-two rescaling."""

import numpy as np

from v1model.scaling import pow2_scale


def test_pow2_scale_brings_the_largest_magnitude_into_one_to_two():
    """max |values| / scale lies in [1, 2) for floats and for integers, whose most
    negative value |int16(-32768)| wraps to itself (the peak became 100, scale 64)."""
    cases = [np.array([0.3, -5.0]), np.array([1e-310, 0.0]), np.array([1e-40], np.float32),
             np.array([-32768, 100], np.int16), np.array([-128, 5], np.int8),
             np.array([3, 200], np.uint8)]
    for values in cases:
        ratio = float(np.abs(values.astype(np.float64)).max()) / pow2_scale(values)
        assert 1 <= ratio < 2, (values, ratio)
    np.testing.assert_array_equal(
        pow2_scale(np.array([[-32768, 1], [0, 3]], np.int16), axis=1), [32768.0, 2.0])
    assert pow2_scale(np.zeros(3)) == 0.5
