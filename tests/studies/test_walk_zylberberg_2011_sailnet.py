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
