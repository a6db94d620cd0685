"""Fixtures of the analysis tests."""

import pytest


@pytest.fixture
def refuses_bad_zero_tol():
    """``refuses_bad_zero_tol(call)``: ``call(zero_tol=...)`` refuses a negative
    ``zero_tol`` and one of 1 or more, with the messages every summary gives."""

    def check(call):
        with pytest.raises(ValueError, match=r"zero_tol must be a non-negative finite number, "
                                             r"got -1e-09"):
            call(zero_tol=-1e-9)
        with pytest.raises(ValueError, match=r"zero_tol must be below 1, got 1\.0"):
            call(zero_tol=1.0)

    return check
