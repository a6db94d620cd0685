"""Analysis figures take the analysis functions' outputs as they come."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from v1model.plotting import plot_nx_ny, plot_rf_comparison, plot_sparseness_tradeoff  # noqa: E402,E501


def test_rf_comparison_takes_a_flat_dictionary_of_non_square_atoms():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rfs = rng.standard_normal((50, 8, 12))
    flat = rfs.reshape(50, 96)  # as given to map_receptive_fields(dictionary=...)
    fig = plot_rf_comparison(flat, rfs, similarity=np.ones(50))
    left, right = (ax.get_images()[0].get_array() for ax in fig.axes[:2])
    np.testing.assert_array_equal(left, right)  # same atoms, tiled the same way
    assert left.shape[0] < left.shape[1] * 2  # 8x12 tiles, not 96-pixel strips
    plt.close(fig)
    with pytest.raises(ValueError, match="not a square patch"):
        plot_rf_comparison(flat[:, :90], rfs)  # sizes that do not match stay an error


def test_sparseness_tradeoff_shades_a_silent_code():
    import matplotlib.pyplot as plt

    lam = np.array([0.1, 1.0, 10.0])
    fig = plot_sparseness_tradeoff(lam, [0.3, 0.05, 0.0], [0.1, 0.4, 1.0],
                                   classes=["dense", "local", "silent"])
    assert "silent λ∈[10, 10]" in fig._suptitle.get_text()
    plt.close(fig)


def test_nx_ny_counts_the_points_beyond_its_axes():
    import matplotlib.pyplot as plt
    import xarray as xr

    nx = np.r_[np.linspace(0.1, 0.6, 60), 5.0]  # one outlier far beyond the 98th percentile
    fit = xr.Dataset({"nx": ("atom", nx), "ny": ("atom", nx), "r2": ("atom", np.ones(61))})
    fig = plot_nx_ny(fit, labels=["learned"])
    text = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert "n=61" in text and "1 off the axes" in text
    plt.close(fig)


def test_complex_values_and_fractional_unit_indices_are_refused():
    # numpy's float conversion dropped the imaginary part with only a ComplexWarning, and
    # int() drew spike_unit 1.7 in row 1
    from v1model.plotting import plot_atoms, plot_code_scatter, plot_raster

    with pytest.raises(TypeError, match=r"D must be real, got a complex array of shape \(2, 16\)"):
        plot_atoms(np.ones((2, 16)) + 1j)
    with pytest.raises(TypeError, match=r"code must be real"):
        plot_code_scatter(np.ones(4) + 1j, np.ones(4))
    with pytest.raises(TypeError, match=r"spike_unit must hold whole numbers \(unit indices\), "
                                        r"got values such as np.float64\(1.7\)"):
        plot_raster([0.1, 0.2], [0, 1.7])
    fig = plot_raster([0.1, 0.2], [0.0, 1.0])  # whole numbers as floats are indices
    assert fig is not None
