"""The spiking convolutional LCA keeps the labels of its signals' samples (numpy target):
a labelled subset of sounds and of images against the same run of the plain arrays."""

import numpy as np
import pytest
import xarray as xr

from v1model.spiking import spiking_convolutional_lca

pytestmark = [pytest.mark.brian2,
              pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")]

RUN = dict(duration=0.05, dt=1e-4, target="numpy", seed=0, record_spikes=True)


def _kernels(n_kernels, kernel_shape, seed=0):
    """Unit-norm Gaussian kernels."""
    K = np.random.default_rng(seed).standard_normal((n_kernels,) + kernel_shape)
    return K / np.linalg.norm(K.reshape(n_kernels, -1), axis=1).reshape(
        (-1,) + (1,) * len(kernel_shape))


def _check_same_run(ds, plain, samples):
    """``ds`` is ``plain`` with its samples labelled ``samples``, spikes named by label."""
    np.testing.assert_array_equal(ds["sample"].values, samples)
    for name in ("spike_count", "code", "drive", "spike_time", "spike_kernel",
                 "spike_position"):
        np.testing.assert_array_equal(ds[name].values, plain[name].values, err_msg=name)
    assert plain["spike_time"].size > 20  # spikes enough to tell positions from labels
    assert np.unique(plain["spike_sample"].values).size == len(samples)
    np.testing.assert_array_equal(ds["spike_sample"].values,
                                  np.asarray(samples)[plain["spike_sample"].values])


def test_a_subset_of_sounds_keeps_its_labels_and_class_coordinate():
    rng = np.random.default_rng(1)
    X = xr.DataArray(3 * rng.standard_normal((3, 24)), dims=("sample", "time"),
                     coords={"sample": [10, 11, 12], "word": ("sample", ["a", "b", "c"])})
    K = _kernels(2, (6,))
    sub = X.isel(sample=[2, 0])
    ds = spiking_convolutional_lca(sub, K, 0.5, **RUN)
    plain = spiking_convolutional_lca(sub.values, K, 0.5, **RUN)
    # was: samples [0 1] and spike_sample 0 / 1, joined back to sounds 10 and 11
    _check_same_run(ds, plain, [12, 10])
    np.testing.assert_array_equal(ds["word"].values, ["c", "a"])
    # joined by label, the counts of a sample are those of the plain run's row
    np.testing.assert_array_equal(ds["spike_count"].sel(sample=10).values,
                                  plain["spike_count"].values[1])


def test_images_along_an_image_dim_keep_their_labels():
    rng = np.random.default_rng(2)
    X = xr.DataArray(3 * rng.standard_normal((2, 8, 8)), dims=("image", "y", "x"),
                     coords={"image": ["cat", "owl"]})
    K = _kernels(2, (3, 3))
    ds = spiking_convolutional_lca(X, K, 0.5, inhibition=False, **RUN)
    plain = spiking_convolutional_lca(X.values, K, 0.5, inhibition=False, **RUN)
    _check_same_run(ds, plain, ["cat", "owl"])
    assert ds["code"].dims[0] == "sample"  # codes_dataset's name for the rows
