"""Fixtures of the spiking tests."""

import numpy as np
import pytest


@pytest.fixture
def brian2_networks(monkeypatch):
    """The list of every ``brian2.Network`` run during the test, in order; holding
    them keeps each network's objects alive, as a reference cycle would."""
    import brian2

    runs, run = [], brian2.Network.run

    def recording_run(self, *args, **kwargs):
        runs.append(self)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(brian2.Network, "run", recording_run)
    return runs


class StopBeforeBrian2(Exception):
    """Raised by :func:`reuse_key_of`'s device in place of a Brian2 run."""


@pytest.fixture
def reuse_key_of(monkeypatch):
    """``reuse_key_of(function, *args, **kwargs)``: the ``reuse_key`` a spiking function
    gives Brian2's device for that call (nothing is built or run)."""
    from contextlib import contextmanager

    from v1model.spiking import _brian

    keys = []

    @contextmanager
    def spy(target, reuse_key=None):
        keys.append(reuse_key)
        raise StopBeforeBrian2
        yield  # a generator: the contextmanager's protocol

    monkeypatch.setattr(_brian, "simulation_device", spy)

    def key(function, *args, **kwargs):
        with pytest.raises(StopBeforeBrian2):
            function(*args, **kwargs)
        return keys[-1]

    return key


@pytest.fixture
def padded_batches(monkeypatch):
    """``padded_batches(extra)``: every later spiking call of the test runs its batch
    padded with ``extra`` silent samples, on any target, as a kept ``cpp_standalone``
    project of a larger batch runs a smaller one (nothing is compiled)."""
    from v1model.spiking import _brian

    def pad(extra):
        def padded_key(target, model, n_samples, weights, /, **settings):
            return _brian.StandaloneKey(model, n_samples + extra, ())

        monkeypatch.setattr(_brian, "standalone_key", padded_key)

    return pad


@pytest.fixture
def kept_project(monkeypatch):
    """``kept_project(key)``: a kept ``cpp_standalone`` project of ``key`` as far as the
    keys of later calls can tell (no device, no folder; gone after the test)."""
    from v1model.spiking import _brian

    def keep(key):
        monkeypatch.setitem(_brian._STANDALONE_PROJECT, "key", key)

    return keep


@pytest.fixture
def stub_networks(monkeypatch):
    """``stub_networks(module)``: the weights each later call of ``module``'s spiking
    function hands to its network, in a list, in order; nothing is built or run (a
    silent run's counts come back)."""

    def stub(module):
        seen = []

        def record(drive, weights, *args, **kwargs):
            seen.append(weights)
            return {"counts": np.zeros(drive.shape, np.int64), "n_synapses": 0,
                    "build_time": 0.0, "run_time": 0.0, "brian2_seed": -1}

        monkeypatch.setattr(module, "_run_network", record)
        return seen

    return stub
