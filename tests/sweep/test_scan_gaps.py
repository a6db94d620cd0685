"""DirectoryStore.scan on hand-made folders: which failure records and results count."""

import json

import numpy as np
import xarray as xr

from v1model.io import save_dataset
from v1model.sweep.storage import DirectoryStore


def test_a_failure_record_filed_under_another_points_name_is_corrupt(tmp_path):
    store = DirectoryStore(tmp_path, "fp", 3)
    (tmp_path / "failed").mkdir()
    store.failure_path(1).write_text(json.dumps({"index": 2}), encoding="utf-8")
    store.failure_path(0).write_text(json.dumps({"index": 0}), encoding="utf-8")
    state = store.scan(repair=False)
    assert set(state.failed) == {0}
    assert [p.name for p in state.corrupt] == [store.failure_path(1).name]
    assert state.pending == [1, 2]


def _result(store, n_pending):
    ds = xr.Dataset({"status": ("x", np.array(["ok", "failed", "ok"], dtype=object)),
                     "error": ("x", np.array(["", "boom", ""], dtype=object))},
                    coords={"x": [1.0, 2.0, 3.0]}, attrs={"sweep_n_pending": n_pending})
    save_dataset(ds, store.path / "sweep.nc")


def test_only_a_result_with_no_pending_point_stands_for_removed_points(tmp_path):
    store = DirectoryStore(tmp_path, "fp", 3)
    _result(store, n_pending=0)
    state = store.scan(repair=False)
    assert state.kept == {0, 2} and set(state.failed) == {1} and state.pending == []
    # a result assembled while a point was still pending holds no verdict on any of them
    _result(store, n_pending=1)
    state = store.scan(repair=False)
    assert state.kept == set() and state.failed == {} and state.pending == [0, 1, 2]
