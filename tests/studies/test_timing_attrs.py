"""Two runs of one seed give the same data and the same attrs but for the wall
clock, and every attr that differs is documented as a wall-clock time in the
study's docstring, with its units for a sweep (where an attr that varies between
points becomes a variable over the grid: ``wall_time`` became one without units
and undocumented, so a sweep of one spec run twice differed beyond ``duration``
and ``cpu_time``, which the README documents)."""

import pytest
import xarray as xr

from studies import get_study

#: the attrs that hold a wall clock, by study (sizes: SMALL in tests/studies/conftest.py)
CLOCKS = {"zylberberg-2011-sailnet": {"wall_time"}, "spiking-lca": {"spiking_run_time"},
          "smith-lewicki-2006-convolutional": {"wall_time"}}


# sizes this small leave solvers short of convergence or rates too coarse: warned, not
# what is checked here
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(CLOCKS))
def test_only_documented_wall_clock_attrs_differ_between_runs_of_one_seed(name, smallest,
                                                                          same):
    params, clocks = smallest(name, brian2=False), CLOCKS[name]
    study = get_study(name)
    a = study.run(quick=True, seed=2, progress=False, **params)
    b = study.run(quick=True, seed=2, progress=False, **params)
    xr.testing.assert_equal(a, b)  # data and coordinates
    differ = {k for k in set(a.attrs) | set(b.attrs)
              if not same(a.attrs.get(k), b.attrs.get(k))}
    assert differ <= clocks, differ - clocks
    doc = " ".join(study.run.__doc__.split())
    for key in clocks:
        assert f"``{key}``" in doc or f'attrs["{key}"]' in doc, key
        assert "wall-clock" in doc
        assert study.PARAMETER_UNITS[key] == "s"
        assert a.attrs[key] > 0
