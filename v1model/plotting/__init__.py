"""Figures (matplotlib, imported lazily so that numerics never need a display).

Every function takes data (arrays or xarray Datasets) and returns a
``matplotlib.figure.Figure``; saving is :func:`v1model.io.save_figure`.
"""

from .atoms import plot_atoms, plot_coefficient_histogram, plot_learning_curve

__all__ = ["plot_atoms", "plot_learning_curve", "plot_coefficient_histogram"]
