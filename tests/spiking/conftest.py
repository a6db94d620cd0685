"""Fixtures of the spiking tests."""

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
