"""Two runs of one seed give the same data and the same attrs but for the wall
clock, and every attr that differs is documented as a wall-clock time in the
study's docstring, with its units for a sweep (where an attr that varies between
points becomes a variable over the grid: ``wall_time`` became one without units
and undocumented, so a sweep of one spec run twice differed beyond ``duration``
and ``cpu_time``, which the README documents)."""

import numpy as np
import pytest
import xarray as xr

from studies import get_study

#: smallest sizes (tests/studies/test_progress_false.py), and the attrs that hold a wall clock
CASES = {
    "zylberberg-2011-sailnet": (dict(patch_size=4, n_neurons=8, n_updates=3, n_eval=5,
                                     n_brian2=0), {"wall_time"}),
    "spiking-lca": (dict(patch_size=4, n_atoms=16, n_patches=3, dictionary_updates=3,
                         duration=0.02, target="numpy"), {"spiking_run_time"}),
    "smith-lewicki-2006-convolutional": (dict(audio_dir=("fsdd",), kernel_size=16, n_kernels=4,
                                              n_excerpts=10, n_updates=2, control_updates=2,
                                              n_eval=2, max_iter=20), {"wall_time"}),
}


def _same(a, b):
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except TypeError:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))


# sizes this small leave solvers short of convergence or rates too coarse: warned, not
# what is checked here
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(CASES))
def test_only_documented_wall_clock_attrs_differ_between_runs_of_one_seed(name, shared_data):
    params, clocks = CASES[name]
    params = dict(params)
    if params.get("audio_dir") == ("fsdd",):
        params["audio_dir"] = str(shared_data("fsdd"))
    study = get_study(name)
    a = study.run(quick=True, seed=2, progress=False, **params)
    b = study.run(quick=True, seed=2, progress=False, **params)
    xr.testing.assert_equal(a, b)  # data and coordinates
    differ = {k for k in set(a.attrs) | set(b.attrs)
              if not _same(a.attrs.get(k), b.attrs.get(k))}
    assert differ <= clocks, differ - clocks
    doc = " ".join(study.run.__doc__.split())
    for key in clocks:
        assert f"``{key}``" in doc or f'attrs["{key}"]' in doc, key
        assert "wall-clock" in doc
        assert study.PARAMETER_UNITS[key] == "s"
        assert a.attrs[key] > 0
