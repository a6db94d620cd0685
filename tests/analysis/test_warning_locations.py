"""The warnings of v1model.analysis name the user's line, whether the user called the
public function directly or through another function of the package.

They had fixed stack levels (``stacklevel=2``, ``3`` from a helper): right for a direct
call only. Called from a function of the package, they named that function's line,
inside v1model; :func:`v1model._frames.user_stacklevel` finds the first frame outside it.
"""

import numpy as np
import pytest

from stimuli import gabor_patch
from v1model.analysis import (contrast_response, fit_gabor, grating_responses,
                              map_receptive_fields, sparseness, tuning_curves)

#: one unit-norm 8x8 Gabor atom, and a rectified linear unit on it (the "encoder")
ATOM = gabor_patch(8, 0.0, 0.25, 0.0, 1.5, 2.5).reshape(1, -1)
ATOM = ATOM / np.linalg.norm(ATOM)


def relu(X):
    return np.maximum(X @ ATOM.T, 0.0)


#: the calls, each of which warns once, and the start of its message
WARNING_CALLS = {
    "fit_gabor: a constant atom": (
        fit_gabor, (np.zeros((1, 8, 8)),), {}, RuntimeWarning, "1 constant atom"),
    "map_receptive_fields: fewer stimuli than pixels": (
        map_receptive_fields, (relu, (8, 8)),
        dict(method="regression", ridge=0.0, n_stimuli=20, seed=0, progress=False),
        UserWarning, r"method='regression' with ridge=0: n_stimuli=20"),
    "map_receptive_fields: a singular stimulus covariance": (
        map_receptive_fields, (relu, (8, 8)),
        dict(noise="sparse", n_pixels=1, method="regression", ridge=0.0, n_stimuli=100,
             seed=0, progress=False),
        UserWarning, r"method='regression' with ridge=0: the stimulus covariance"),
    "sparseness: one stimulus": (
        sparseness, (np.ones((1, 3)),), {}, UserWarning, r"codes has shape \(1, 3\)"),
    "tuning_curves: an uneven orientation grid": (
        tuning_curves,
        (grating_responses(relu, 8, orientations=np.linspace(0, np.pi, 4), frequencies=[0.25],
                           phases=4, progress=False),), {},
        UserWarning, r"responses\['orientation'\]"),
    "contrast_response: too few contrasts": (
        contrast_response, (relu, 8, 0.0, 0.25), dict(contrasts=[0.5, 1.0], progress=False),
        UserWarning, "contrasts has 2 distinct positive values"),
}

@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_analysis_warnings_name_the_callers_file(case, nested, call_from_the_package):
    function, args, kwargs, category, match = WARNING_CALLS[case]
    with pytest.warns(category, match=match) as record:
        if nested:
            call_from_the_package(function, *args, **kwargs)
        else:
            function(*args, **kwargs)
    assert [w.filename for w in record] == [__file__]
