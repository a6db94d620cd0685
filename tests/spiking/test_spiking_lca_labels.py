"""The spiking LCA keeps the labels of its inputs' samples and atoms (numpy target):
a subset, string labels, the spike and trace records, windowed_rates and a file, each
against the same run of the plain arrays."""

import numpy as np
import pytest
import xarray as xr

from v1model.io import load_dataset, save_dataset
from v1model.spiking import spiking_lca, windowed_rates

pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]

RUN = dict(duration=0.05, dt=1e-4, tau_m=0.01, target="numpy", seed=0, record_spikes=True,
           progress=False)


def _labelled(sample_labels, atom_labels, f=8, seed=0):
    """X (sample, feature) and a unit-norm D (atom, feature), labelled as given."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((len(atom_labels), f))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = 2 * rng.standard_normal((len(sample_labels), f))
    return (xr.DataArray(X, dims=("sample", "feature"), coords={"sample": sample_labels}),
            xr.DataArray(D, dims=("atom", "feature"), coords={"atom": atom_labels}))


def _check_same_run(ds, plain, samples, atoms):
    """``ds`` is ``plain`` (the run of the unlabelled arrays) with its samples and atoms
    labelled ``samples`` and ``atoms``: same numbers, every record named by label."""
    np.testing.assert_array_equal(ds["sample"].values, samples)
    np.testing.assert_array_equal(ds["atom"].values, atoms)
    for name in ("spike_count", "code", "drive", "spike_time"):
        np.testing.assert_array_equal(ds[name].values, plain[name].values, err_msg=name)
    assert plain["spike_time"].size > 20  # spikes enough to tell positions from labels
    np.testing.assert_array_equal(ds["spike_sample"].values,
                                  np.asarray(samples)[plain["spike_sample"].values])
    np.testing.assert_array_equal(ds["spike_atom"].values,
                                  np.asarray(atoms)[plain["spike_atom"].values])


def test_a_subset_of_samples_and_atoms_keeps_its_labels():
    X, D = _labelled(np.arange(4), np.arange(10))
    sub_x, sub_d = X.isel(sample=[2, 0]), D.isel(atom=[5, 9, 1, 7])
    ds = spiking_lca(sub_x, sub_d, 0.1, record_v=[(1, 0), (0, 2)], **RUN)
    plain = spiking_lca(sub_x.values, sub_d.values, 0.1, record_v=[(1, 0), (0, 2)], **RUN)
    # was: samples 0, 1 and atoms 0 ... 3, joined back to other stimuli and atoms
    _check_same_run(ds, plain, [2, 0], [5, 9, 1, 7])
    np.testing.assert_array_equal(ds["unit_sample"].values, [0, 2])
    np.testing.assert_array_equal(ds["unit_atom"].values, [5, 1])
    np.testing.assert_array_equal(ds["v"].values, plain["v"].values)
    # joined by label, the drive is that of the stimulus and atom of the same labels
    ref = xr.dot(X, D, dim="feature").sel(sample=ds["sample"], atom=ds["atom"])
    np.testing.assert_allclose(ds["drive"].values, ref.values, rtol=1e-12)


def test_string_labels_survive_a_file(tmp_path):
    X, D = _labelled(["cat", "dog", "owl"], [f"gabor{i}" for i in range(6)])
    ds = spiking_lca(X, D, 0.1, record_v=[1], **RUN)
    plain = spiking_lca(X.values, D.values, 0.1, record_v=[1], **RUN)
    _check_same_run(ds, plain, ["cat", "dog", "owl"], [f"gabor{i}" for i in range(6)])
    np.testing.assert_array_equal(ds["unit_sample"].values, ["cat", "dog", "owl"])
    np.testing.assert_array_equal(ds["unit_atom"].values, ["gabor1"] * 3)
    loaded = load_dataset(save_dataset(ds, tmp_path / "spikes.nc"))
    for name in ("sample", "atom", "spike_sample", "spike_atom", "unit_sample", "unit_atom",
                 "spike_count"):
        np.testing.assert_array_equal(loaded[name].values, ds[name].values, err_msg=name)
    np.testing.assert_array_equal(windowed_rates(loaded, [0.03, 0.05]).values,
                                  windowed_rates(plain, [0.03, 0.05]).values)


def test_windowed_rates_of_a_labelled_run_equal_the_unlabelled_ones():
    X, D = _labelled([30, 10, 20], [4, 2, 0, 3, 1, 5])
    ds = spiking_lca(X, D, 0.1, **RUN)
    plain = spiking_lca(X.values, D.values, 0.1, **RUN)
    t_stop = [0.02, 0.035, 0.05]
    rates, ref = windowed_rates(ds, t_stop), windowed_rates(plain, t_stop)
    np.testing.assert_array_equal(rates.values, ref.values)
    assert rates.values[-1].sum() > 0  # a run with codes to get wrong
    np.testing.assert_array_equal(rates.isel(t_stop=-1).values, ds["code"].values)
    np.testing.assert_array_equal(rates["sample"].values, [30, 10, 20])
    np.testing.assert_array_equal(rates["atom"].values, [4, 2, 0, 3, 1, 5])
    # a subset by label counts the spikes of those samples and atoms only
    sub = ds.sel(sample=[20, 30], atom=[1, 4])
    np.testing.assert_array_equal(windowed_rates(sub, t_stop).values,
                                  ref.values[:, [2, 0]][:, :, [4, 0]])


def _raster_points(fig):
    """The (time, row) of every dot of the raster ``fig``."""
    return np.asarray(fig.axes[0].collections[0].get_offsets())


def test_raster_of_a_labelled_subset_draws_the_rows_of_the_unlabelled_run():
    from v1model.plotting import plot_raster

    X, D = _labelled(np.arange(3), np.arange(10))
    sub_x, sub_d = X.isel(sample=[2, 0]), D.isel(atom=[3, 9, 1])
    ds = spiking_lca(sub_x, sub_d, 0.1, **RUN)
    plain = spiking_lca(sub_x.values, sub_d.values, 0.1, **RUN)
    assert set(plain["spike_atom"].values) == {0, 1, 2}  # every row has spikes to misplace
    ref = _raster_points(plot_raster(plain["spike_time"], plain["spike_atom"], n_units=3))
    # was: atoms 3, 9, 1 drawn on rows 3, 9, 1 of 10, and refused with n_units=3
    drawn = plot_raster(ds["spike_time"], ds["spike_atom"], labels=ds["atom"])
    np.testing.assert_array_equal(_raster_points(drawn), ref)
    assert drawn.axes[0].get_ylim() == (-0.5, 2.5)  # three rows, as the atoms
    # an order counts rows, as for the unlabelled run
    ordered = plot_raster(ds["spike_time"], ds["spike_atom"], labels=ds["atom"],
                          order=[2, 0, 1])
    np.testing.assert_array_equal(
        _raster_points(ordered),
        _raster_points(plot_raster(plain["spike_time"], plain["spike_atom"],
                                   order=[2, 0, 1])))
    with pytest.raises(ValueError, match=r"spike_unit holds unit 9, not among labels"):
        plot_raster(ds["spike_time"], ds["spike_atom"], labels=[3, 1, 7])
    with pytest.raises(ValueError, match=r"labels must be .* unique"):
        plot_raster(ds["spike_time"], ds["spike_atom"], labels=[3, 9, 9, 1])
