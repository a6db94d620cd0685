"""The bounds of the scalar checks, at and either side of each edge.

Every public argument check goes through these helpers, so an off-by-one here
(``<`` for ``<=``, a dropped finiteness test) would silently widen or narrow what
every function accepts.
"""

import numpy as np
import pytest

from v1model import validation
from v1model.validation import (
    check_axis,
    check_fits_in_memory,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)


def test_check_int_bounds_are_inclusive():
    assert check_int(1, "n", minimum=1) == 1
    assert check_int(5, "n", maximum=5) == 5
    with pytest.raises(ValueError, match=r"n must be >= 1, got 0"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match=r"n must be <= 5, got 6"):
        check_int(6, "n", maximum=5)


def test_check_probability_closed_interval_takes_its_ends():
    assert check_probability(0, "p", open_interval=False) == 0.0
    assert check_probability(1, "p", open_interval=False) == 1.0
    for value in (0, 1, float("nan")):
        with pytest.raises(ValueError, match=r"p must be in \(0, 1\)"):
            check_probability(value, "p")
    for value in (-1e-12, 1 + 1e-12, float("nan")):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
            check_probability(value, "p", open_interval=False)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1e-300])
def test_check_nonnegative_refuses_infinite_nan_and_negative(value):
    with pytest.raises(ValueError, match="lam must be a non-negative finite number"):
        check_nonnegative(value, "lam")


def test_check_nonnegative_and_positive_at_zero():
    assert check_nonnegative(0, "lam") == 0.0
    with pytest.raises(ValueError, match="tau must be a positive finite number"):
        check_positive(0.0, "tau")
    with pytest.raises(ValueError, match="tau must be a positive finite number"):
        check_positive(float("inf"), "tau")
    assert check_positive(float("inf"), "tau", allow_inf=True) == float("inf")


def test_check_axis_range_is_minus_ndim_to_ndim_minus_one():
    assert check_axis(-3, 3) == -3 and check_axis(2, 3) == 2
    for axis in (3, -4):
        with pytest.raises(ValueError, match=r"axis must be in \[-3, 2\]"):
            check_axis(axis, 3)


def test_check_fits_in_memory_refuses_just_over_and_says_how_many_fit(monkeypatch):
    monkeypatch.setattr(validation, "physical_memory", lambda: 8000.0)
    check_fits_in_memory((1000,), np.float64, "n", 1000, "values")  # exactly 8000 bytes
    with pytest.raises(ValueError, match=r"n=1001 values would take 8008 bytes.*at most 1000 "
                                         r"would fit"):
        check_fits_in_memory((1001,), np.float64, "n", 1001, "values")
    with pytest.raises(ValueError, match=r"at most 250 would fit"):  # 4 float32 per row
        check_fits_in_memory((251, 8), np.float32, "n", 251, "rows")


def test_check_fits_in_memory_counts_bytes_held_beside_the_rows(monkeypatch):
    # a model's weights beside a batch (the SAE's training step): in the total, not in
    # the rows that would fit
    monkeypatch.setattr(validation, "physical_memory", lambda: 8000.0)
    check_fits_in_memory((900,), np.float64, "n", 900, "values", plus=800)  # exactly 8000
    with pytest.raises(ValueError, match=r"^n=901 values would take 8008 bytes .*at most 900 "
                                         r"would fit\)$"):
        check_fits_in_memory((901,), np.float64, "n", 901, "values", plus=800)
    with pytest.raises(ValueError, match=r"^n=1 values would take 9008 bytes .*at most 0 "
                                         r"would fit\)$"):  # the rest alone does not fit
        check_fits_in_memory((1,), np.float64, "n", 1, "values", plus=9000)
    for shape in ((5, 0), (0, 3)):  # rows of no bytes, or none: the rest alone (was 1/0)
        with pytest.raises(ValueError, match=r"^n=\(\d, \d\) values would take 9000 bytes "
                                             r".*at most 0 would fit\)$"):
            check_fits_in_memory(shape, np.float64, "n", shape, "values", plus=9000)


def test_check_array_copy_empty_and_finite_switches():
    from v1model.validation import check_array

    a = np.arange(6.0).reshape(2, 3)
    assert check_array(a, "X") is a  # already float64: no copy asked, none made
    b = check_array(a, "X", copy=True)
    assert b is not a and not np.shares_memory(a, b)
    np.testing.assert_array_equal(b, a)
    with pytest.raises(ValueError, match=r"X must not be empty, got shape \(0, 3\)"):
        check_array(np.zeros((0, 3)), "X")
    assert check_array(np.zeros((0, 3)), "X", allow_empty=True).shape == (0, 3)
    bad = np.array([1.0, np.nan, np.inf])
    with pytest.raises(ValueError, match=r"X contains 2 non-finite value\(s\)"):
        check_array(bad, "X")
    np.testing.assert_array_equal(check_array(bad, "X", finite=False), bad)
