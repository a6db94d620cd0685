"""zylberberg-2011-sailnet, from a user's walk-through: a network of one unit is
refused before the learning, under the parameter's name (its pairs of units are
what the study compares: W_ij against the receptive-field overlap)."""

import pytest

from studies import get_study
from v1model.sweep import SpecError, check_points, parse_spec


def test_one_unit_is_refused_before_the_learning(monkeypatch):
    import stimuli.images

    def no_work(*args, **kwargs):
        raise AssertionError("images loaded (for the learning) before n_neurons=1 was refused")

    monkeypatch.setattr(stimuli.images, "load_whitened", no_work)
    with pytest.raises(ValueError, match=r"n_neurons must be >= 2 .*pairs of units.*got 1"):
        get_study("zylberberg-2011-sailnet").run(quick=True, n_neurons=1, n_updates=5,
                                                 n_brian2=0, progress=False)
    # a sweep's pre-flight refuses it too, with the same message
    spec = parse_spec({"study": "zylberberg-2011-sailnet", "sweep": {"n_neurons": [1, 2]},
                       "quick": True, "executor": {"kind": "serial"}})
    with pytest.raises(SpecError, match=r"n_neurons must be >= 2 .*got 1"):
        check_points(spec)
    # two units are a network: accepted by the pre-flight
    check_points(parse_spec({"study": "zylberberg-2011-sailnet", "sweep": {"n_neurons": [2]},
                             "quick": True, "executor": {"kind": "serial"}}))


def test_the_held_out_counts_carry_the_units_sailnet_inference_gives_them(smallest):
    """The study labelled ``eval_counts`` "spikes/image", a rate, while
    :func:`~v1model.spiking.sailnet_inference` labels the same numbers "spikes": each is
    the count of one neuron's spikes for one held-out patch (sample, neuron), integers
    from 0 to n_steps; the rates (``rate``, the history's ``mean_rate``), means over
    patches, keep "spikes/image"."""
    import warnings

    import numpy as np
    import xarray as xr

    from v1model.spiking import sailnet_inference

    name = "zylberberg-2011-sailnet"
    ds = get_study(name).run(quick=True, seed=0, progress=False,
                             **smallest(name, brian2=False))
    counts = ds["eval_counts"]
    assert counts.dims == ("sample", "neuron")
    assert np.issubdtype(counts.dtype, np.integer)
    assert counts.min() >= 0 and counts.max() <= ds.attrs["n_steps"]
    # the library's label of counts of this network (one patch, labelled: a DataArray out)
    patch = xr.DataArray(np.ones((1, ds["Q"][0].size)), dims=("sample", "feature"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a flat patch may fire nothing
        reference = sailnet_inference(patch, ds["Q"], ds["W"], ds["theta"])
    assert counts.attrs["units"] == reference.attrs["units"] == "spikes"
    assert ds["rate"].attrs["units"] == ds["mean_rate"].attrs["units"] == "spikes/image"
