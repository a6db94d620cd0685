"""A LISTA file saved before the history recorded ``record_every`` (v1model before the
per-call settings) continues with the setting its calls had.

Such a history lacked ``attrs["record_every"]``, so one more ``partial_fit`` listed
the earlier call's as unknown, ``record_every_per_call == ["None", 3]`` (or
``["None", 2]``), and dropped ``record_every`` from the attrs, though the saved
network's ``record_every`` was the setting of its call and the recorded steps show it.
The "old" file is a new one with the attr deleted, as the old code wrote it.
"""

import numpy as np
import pytest

from v1model.amortized import LISTA
from v1model.io import load_dataset, save_dataset


def _old_file(tmp_path, record_every, n_steps):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((40, 8))
    net = LISTA(2, 0.3, n_steps=n_steps, batch_size=10, record_every=record_every,
                progress=False).fit(X, D, seed=0)
    ds = load_dataset(net.save(tmp_path / "new.nc"))
    del ds.attrs["history_record_every"]
    return X, save_dataset(ds, tmp_path / "old.nc")


@pytest.mark.parametrize("later, expected", [(3, None), (2, [3, 2])])
def test_an_old_files_calls_keep_their_record_every(tmp_path, later, expected):
    X, path = _old_file(tmp_path, record_every=3, n_steps=7)  # steps 0, 3, 6, 7
    net = LISTA.load(path)
    assert net.history_.attrs["record_every"] == 3  # the saved network's, its call's
    net.record_every = later
    net.partial_fit(X, seed=1)
    attrs = LISTA.load(net.save(tmp_path / "continued.nc")).history_.attrs
    assert attrs["record_every"] == 3  # the first call's, as in a new file's history
    if expected is None:
        assert "record_every_per_call" not in attrs
    else:
        assert list(attrs["record_every_per_call"]) == expected
    assert list(attrs["steps_per_call"]) == [7, 7]
    # the rows the calls recorded: every 3 steps, then every `later` (and each call's end)
    second = [7 + s for s in range(later, 7, later)] + [14]
    np.testing.assert_array_equal(net.history_["step"], [0, 3, 6, 7] + second)


def test_an_old_history_spaced_wider_than_the_saved_setting_is_unknown(tmp_path):
    # the setting was changed after the call (net.record_every = 2, then save): the steps
    # (every 5) show that 2 was not the call's, which stays unknown rather than wrong
    X, path = _old_file(tmp_path, record_every=5, n_steps=10)
    ds = load_dataset(path)
    ds.attrs["param_record_every"] = 2
    net = LISTA.load(save_dataset(ds, tmp_path / "changed.nc"))
    assert net.history_.attrs["record_every"] == "None"
    net.partial_fit(X, seed=1)
    assert net.history_.attrs["record_every_per_call"] == '["None", 2]'
