"""The tuning figure names its units; each sparseness histogram says what it counts."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from v1model.analysis import sparseness  # noqa: E402
from v1model.plotting import plot_sparseness_histograms, plot_tuning_curves  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_tuning_curves_have_a_legend_of_atom_labels():
    """Up to 12 coloured curves had no legend: each drawn unit is named by its atom
    label (not its position), in the colour of its curve; a silent unit is left out."""
    o = np.linspace(0, np.pi, 8, endpoint=False)
    f = np.geomspace(0.05, 0.4, 5)
    curves = np.exp(np.cos(2 * (o[None, :] - o[:3, None])))
    curves[1] = 0.0  # silent: not drawn, not in the legend
    tuning = xr.Dataset(
        {"orientation_tuning": (("atom", "orientation"), curves),
         "frequency_tuning": (("atom", "frequency"), np.ones((3, 5))),
         "peak_orientation": ("atom", o[:3]), "max_response": ("atom", curves.max(1)),
         "circular_variance": ("atom", [0.3] * 3), "orientation_bandwidth": ("atom", [0.3] * 3)},
        coords={"orientation": o, "frequency": f, "atom": [7, 11, 42]})
    fig = plot_tuning_curves(tuning, units=[0, 1, 2])
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["unit 7", "unit 42"]
    curve_colours = [line.get_color() for line in fig.axes[0].lines[:2]]
    assert [h.get_color() for h in legend.legend_handles] == curve_colours


@pytest.mark.parametrize("time", [False, True])
def test_every_sparseness_histogram_says_what_it_counts(time):
    """Only the first panel had a y label ("count"), though the panels count stimuli
    (active count, population sparseness) and units (lifetime sparseness, kurtosis)."""
    codes = np.random.default_rng(0).laplace(size=(50, 6))
    codes[np.abs(codes) < 1] = 0.0
    if time:
        codes = xr.DataArray(codes, dims=("time", "atom"))
    fig = plot_sparseness_histograms(sparseness(codes))
    rows = "time bins" if time else "stimuli"
    assert [ax.get_ylabel() for ax in fig.axes] == [
        f"number of {rows}", "number of units", f"number of {rows}", "number of units"]
