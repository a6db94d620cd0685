"""Figures (matplotlib, imported lazily so that numerics never need a display).

Every function takes data (arrays or xarray Datasets) and returns a
``matplotlib.figure.Figure``; saving is :func:`v1model.io.save_figure`.
"""

from .atoms import plot_atoms, plot_coefficient_histogram, plot_learning_curve

__all__ = ["plot_atoms", "plot_learning_curve", "plot_coefficient_histogram"]
from .analysis import (plot_babel_curves, plot_gabor_tiling, plot_nx_ny,
                       plot_orientation_frequency, plot_rf_comparison, plot_sparseness_histograms,
                       plot_sparseness_tradeoff, plot_tuning_curves)
__all__ += ["plot_gabor_tiling", "plot_orientation_frequency", "plot_nx_ny", "plot_tuning_curves",
            "plot_sparseness_histograms", "plot_babel_curves", "plot_rf_comparison",
            "plot_sparseness_tradeoff"]
from .spiking import (plot_code_scatter, plot_error_vs_time, plot_inhibition_vs_overlap,
                      plot_raster, plot_rate_distribution)
__all__ += ["plot_raster", "plot_code_scatter", "plot_error_vs_time", "plot_rate_distribution",
            "plot_inhibition_vs_overlap"]
