"""Sounds labelled with their sample rate (a DataArray's ``attrs["sample_rate_hz"]`` or
``time`` coordinate in s or ms) meet the rate of the kernels: learned kernels carry it, and
kernels for another rate are refused rather than applied as other filters."""

import warnings

import numpy as np
import pytest
import xarray as xr

from v1model.analysis import auditory_tuning
from v1model.convolutional import (ConvolutionalNetwork, encode, learn_kernels,
                                   matching_pursuit, objective)

from .conftest import unit_kernels

N_TIMES = 200


def sounds(rate, labelled_by="coordinate", seed=0):
    """Three noise sounds of N_TIMES samples at ``rate`` Hz, labelled by a ``time``
    coordinate in s or by ``attrs["sample_rate_hz"]``."""
    X = np.random.default_rng(seed).standard_normal((3, N_TIMES))
    if labelled_by == "coordinate":
        return xr.DataArray(X, dims=("sample", "time"), coords={
            "time": ("time", np.arange(N_TIMES) / rate, {"units": "s"})})
    return xr.DataArray(X, dims=("sample", "time"), attrs={"sample_rate_hz": rate})


def kernels_at(rate, seed=1):
    """Four unit-norm kernels of 12 taps whose ``lag`` is in s at ``rate`` Hz."""
    k = unit_kernels(np.random.default_rng(seed), (4, 12))
    return xr.DataArray(k, dims=("kernel", "lag"), coords={
        "lag": ("lag", np.arange(12) / rate, {"units": "s"})})


LEARN = dict(lam=0.1, n_updates=2, batch_size=2, crop_size=48, seed=0, progress=False)


@pytest.mark.parametrize("labelled_by", ["coordinate", "attrs"])
def test_kernels_learned_from_labelled_sounds_carry_their_rate(labelled_by):
    """The rate was dropped: kernels learned from sounds at 16 kHz had their lag in
    samples and no sample_rate_hz, so their tuning needed the rate again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few FISTA steps of 2 updates end short
        ds = learn_kernels(sounds(16000.0, labelled_by), 2, 8, **LEARN)
    assert ds.attrs["sample_rate_hz"] == 16000.0 and ds.attrs["time_units"] == "s"
    np.testing.assert_allclose(ds["lag"].values, np.arange(8) / 16000.0, rtol=1e-12)
    # the rate reaches the analysis: the tuning of the learned kernels is in Hz of 16 kHz
    assert auditory_tuning(ds["kernels"]).attrs["sample_rate"] == 16000.0


def test_a_rate_given_against_the_sounds_own_is_refused():
    """sample_rate=8000 beside sounds labelled 16 kHz was recorded as the kernels' rate:
    every frequency of their tuning half the true one."""
    with pytest.raises(ValueError, match=r"sample_rate=8000.*contradicts.*'time' "
                                         r"coordinate of images.*16000 Hz"):
        learn_kernels(sounds(16000.0), 2, 8, sample_rate=8000.0, **LEARN)


@pytest.mark.parametrize("call", [
    lambda X, k: encode(X, k, 0.1, method="fista"),
    lambda X, k: matching_pursuit(X, k, n_nonzero=3),
    lambda X, k: objective(X, np.zeros((3, 4, N_TIMES + 11)), k, 0.1),
], ids=["encode", "matching_pursuit", "objective"])
@pytest.mark.parametrize("labelled_by", ["coordinate", "attrs"])
def test_sounds_at_another_rate_than_the_kernels_are_refused(call, labelled_by):
    """8 kHz sounds were coded with kernels learned at 16 kHz, unsaid: at 8 kHz every
    kernel is another filter, at half its frequencies."""
    with pytest.raises(ValueError, match=r"X is sampled at 8000 Hz.*kernels are for "
                                         r"16000 Hz.*resample X to 16000 Hz"):
        call(sounds(8000.0, labelled_by), kernels_at(16000.0))
    # the same rate, or sounds or kernels without one, code as before
    same = call(sounds(16000.0, labelled_by), kernels_at(16000.0))
    unlabelled = call(sounds(16000.0, labelled_by).values, kernels_at(16000.0))
    np.testing.assert_array_equal(same, unlabelled)
    np.testing.assert_array_equal(call(sounds(8000.0, labelled_by), kernels_at(16000.0).values),
                                  unlabelled)


def test_network_refuses_sounds_at_another_rate_and_adopts_the_rate_it_learns_from():
    """The network hands its kernels to the solvers as an array, without its rate: 8 kHz
    sounds were coded by a 16 kHz network; and a network learning from sounds labelled
    16 kHz kept no rate, saving its kernels' lag in samples."""
    k = kernels_at(16000.0).values
    net = ConvolutionalNetwork(k, lam=0.1, sample_rate=16000.0)
    with pytest.raises(ValueError, match=r"X is sampled at 8000 Hz.*network's kernels are "
                                         r"for 16000 Hz"):
        net.encode(sounds(8000.0), method="fista")
    np.testing.assert_array_equal(net.encode(sounds(16000.0), method="fista"),
                                  encode(sounds(16000.0).values, k, 0.1, method="fista"))
    fresh = ConvolutionalNetwork(n_kernels=2, kernel_shape=8, lam=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = fresh.learn(sounds(16000.0), n_updates=2, batch_size=2, crop_size=48, seed=0,
                              progress=False)
    assert fresh.sample_rate == 16000.0
    assert history.attrs["sample_rate_hz"] == 16000.0


def test_spiking_code_of_labelled_sounds_refuses_another_rate_before_building():
    """sample_rate=8000 beside sounds labelled 16 kHz gave the spiking Dataset onsets at
    8 kHz, unsaid (the kernels, an array, carry no rate to check it against). Refused
    before Brian2 builds anything, so this needs no compiler."""
    from v1model.spiking import spiking_convolutional_lca

    with pytest.raises(ValueError, match=r"^sample_rate=8000.*contradicts the 'time' "
                                         r"coordinate of X.*16000 Hz"):
        spiking_convolutional_lca(sounds(16000.0), kernels_at(16000.0).values, 0.1,
                                  duration=0.01, target="numpy", sample_rate=8000)


def sounds_in_ms(rate, seed=0):
    """:func:`sounds` with their ``time`` coordinate in ms, as auditory data often is."""
    X = sounds(rate, seed=seed)
    return X.assign_coords(time=("time", X["time"].values * 1e3, {"units": "ms"}))


@pytest.mark.parametrize("call", [
    lambda X, k: encode(X, k, 0.1, method="fista"),
    lambda X, k: matching_pursuit(X, k, n_nonzero=3),
], ids=["encode", "matching_pursuit"])
def test_sounds_with_their_time_in_ms_meet_the_kernels_rate(call):
    """A time coordinate in ms carried no rate: sounds at 8 kHz so labelled were coded
    with kernels for 16 kHz unsaid (other filters, every frequency halved), where the
    same sounds with their time in s were refused."""
    with pytest.raises(ValueError, match=r"X is sampled at 8000 Hz.*kernels are for "
                                         r"16000 Hz"):
        call(sounds_in_ms(8000.0), kernels_at(16000.0))
    np.testing.assert_array_equal(call(sounds_in_ms(16000.0), kernels_at(16000.0)),
                                  call(sounds(16000.0), kernels_at(16000.0)))


def test_kernels_learned_from_sounds_in_ms_carry_their_rate():
    """The same sounds with their time in ms gave kernels whose lag was in samples
    (``time_units`` "samples (no sample_rate given)"), with their time in s kernels at
    16 kHz."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few FISTA steps of 2 updates end short
        ds = learn_kernels(sounds_in_ms(16000.0), 2, 8, **LEARN)
    assert ds.attrs["sample_rate_hz"] == 16000.0 and ds.attrs["time_units"] == "s"
    np.testing.assert_allclose(ds["lag"].values, np.arange(8) / 16000.0, rtol=1e-12)


def test_init_kernels_for_another_rate_are_refused_and_their_own_rate_is_kept():
    """learn_kernels went on from kernels learned at 16 kHz on sounds at 8 kHz (given
    as sample_rate or carried by the sounds) unsaid, and from such kernels on unlabelled
    sounds returned kernels whose lag had lost the rate (in samples), where every other
    call refuses kernels at another rate and keeps the rate they carry."""
    init = kernels_at(16000.0)
    with pytest.raises(ValueError, match=r"^init: the kernels are for 16000 Hz.*sounds are "
                                         r"at 8000 Hz.*other filters"):
        learn_kernels(sounds(8000.0).values, 4, 12, sample_rate=8000.0, init=init, **LEARN)
    with pytest.raises(ValueError, match=r"^init: the kernels are for 16000 Hz.*sounds are "
                                         r"at 8000 Hz"):
        learn_kernels(sounds(8000.0, "attrs"), 4, 12, init=init, **LEARN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few FISTA steps of 2 updates end short
        kept = learn_kernels(sounds(16000.0).values, 4, 12, init=init, **LEARN)
        same = learn_kernels(sounds(16000.0), 4, 12, init=init, **LEARN)
    assert kept.attrs["sample_rate_hz"] == 16000.0 and kept.attrs["time_units"] == "s"
    np.testing.assert_allclose(kept["lag"].values, np.arange(12) / 16000.0, rtol=1e-12)
    # the rate does not change what is learned
    np.testing.assert_array_equal(kept["kernels"].values, same["kernels"].values)


def test_a_dictionary_rate_set_by_hand_is_checked():
    """``phi.sample_rate``, documented as the rate codes_dataset uses, took any value:
    -3 labelled every onset with a negative time, and 8000 on images was kept."""
    from v1model.convolutional import ConvolutionalDictionary

    phi = ConvolutionalDictionary(kernels_at(16000.0).values, (N_TIMES,))
    for bad, error, match in ((-3, ValueError, r"sample_rate must be a positive finite "
                               r"number, got -3"),
                              ("8k", TypeError, r"sample_rate must be a real number")):
        with pytest.raises(error, match=match):
            phi.sample_rate = bad
    assert phi.sample_rate is None  # unchanged by the refused values
    phi.sample_rate = 16000
    ds = phi.codes_dataset(np.zeros((1, 4) + phi.code_shape))
    np.testing.assert_allclose(ds["time"].values, (np.arange(N_TIMES + 11) - 11) / 16000.0,
                               rtol=1e-12)
    images = ConvolutionalDictionary(np.ones((2, 3, 3)), (8, 8))
    with pytest.raises(ValueError, match=r"sample_rate=8000.* applies to sounds"):
        images.sample_rate = 8000.0
