"""The warnings of the atom and coefficient figures name the user's line, whether the user
called the figure directly or through another function: :func:`plot_atoms` tiling the
atoms with :func:`tile_atoms`, a study's ``plot`` drawing its dictionary.

They had ``stacklevel=2``: through :func:`plot_atoms` the NaN atoms were said to be at a
line of v1model/plotting/atoms.py, and through a study's figure too.
"""

import numpy as np
import pytest
import xarray as xr

from v1model.plotting import (plot_atoms, plot_coefficient_histogram, plot_gabor_tiling,
                              plot_nx_ny, plot_sparseness_tradeoff)
from v1model.plotting.atoms import tile_atoms

#: four 3x3 atoms, one of which holds a NaN
ATOMS = np.random.default_rng(0).standard_normal((4, 9))
ATOMS[2, 4] = np.nan

#: a Gabor fit of no atom (a study's selection of reliable fits that left none)
EMPTY_FIT = xr.Dataset({v: ("atom", np.zeros(0)) for v in (
    "r2", "orientation", "frequency", "x0", "y0", "sigma_x", "sigma_y", "nx", "ny")})

#: the calls, each of which warns once, and the start of its message
WARNING_CALLS = {
    "tile_atoms: a NaN atom": (tile_atoms, (ATOMS,), r"D: 1 of 4 atoms hold NaN or inf"),
    "plot_atoms: a NaN atom": (plot_atoms, (ATOMS,), r"D: 1 of 4 atoms hold NaN or inf"),
    "plot_coefficient_histogram: a NaN code": (
        plot_coefficient_histogram, (np.array([[0.5, np.nan, 0.0, -1.0]]),),
        r"codes: 1 of 4 coefficients are NaN or inf"),
    "plot_sparseness_tradeoff: a failed point": (
        plot_sparseness_tradeoff, ([0.1, 0.2], [0.3, np.nan], [0.1, 0.2]),
        r"NaN or inf \(a failed point\?\): activity_ratio at λ = 0\.2"),
    "plot_gabor_tiling: no atom reaches min_r2": (
        plot_gabor_tiling, (EMPTY_FIT, 0.8), r"plot_gabor_tiling: no atom of fit has R² ≥ "
                                             r"min_r2=0\.8 \(the fit holds no atom\)"),
    "plot_nx_ny: no atom reaches min_r2": (
        plot_nx_ny, (EMPTY_FIT,), r"plot_nx_ny: no atom has R² ≥ min_r2=0\.8 in 'set 0'"),
}


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_figure_warnings_name_the_callers_file(case, nested, call_from_the_package):
    function, args, match = WARNING_CALLS[case]
    with pytest.warns(RuntimeWarning, match=match) as record:
        if nested:
            call_from_the_package(function, *args)
        else:
            function(*args)
    assert [w.filename for w in record if w.category is RuntimeWarning] == [__file__]


def test_a_studys_figure_names_the_studys_line(tmp_path):
    """A study's line is where its figure was chosen (v1model._frames): lca-sweep's
    ``plot`` of a point whose dictionary holds a NaN atom names its own file."""
    import studies.lca_sweep as study

    ds = xr.Dataset({"dictionary": (("atom", "y", "x"), ATOMS.reshape(4, 3, 3)),
                     "reconstruction_error": ((), 0.5), "activity_ratio": ((), 0.1)},
                    attrs={"lam": 0.1, "n_atoms": 4, "n_updates": 0, "overcompleteness": 1})
    with pytest.warns(RuntimeWarning, match=r"D: 1 of 4 atoms hold NaN or inf") as record:
        paths = study.plot(ds, tmp_path)
    assert [p.exists() for p in paths] == [True]
    assert [w.filename for w in record if w.category is RuntimeWarning] == [study.__file__]
