"""What ``sweep status`` reads of a sweep folder, and what it does not.

It imported the folder's study to name its points (a ``file.py`` study was executed just
to print the status), opened every point file for its marker (1,200 points: 1.4 s of a
2.9 s status), read a ``.lock.pid`` left on a file system without flock by a run that
died on another host as "running" for ever, and met a manifest whose ``shape`` is not a
list with a bare TypeError.
"""

import json
import os
import re
import shutil
import socket
import sys
import time
import warnings

import pytest

from v1model.sweep import run, status
from v1model.sweep import storage
from v1model.sweep.errors import SpecError

STUDY = '''
import pathlib
import warnings

import xarray as xr

pathlib.Path(__file__).with_name("imported").touch()  # executed: the module was imported


def run(quick=False, seed=0, x=1.0):
    if x >= 2:
        warnings.warn(f"solver did not converge at x={x}", RuntimeWarning)
    if x == 3:
        raise ValueError(f"diverged at x={x}")
    return xr.Dataset({"y": ((), float(x))})
'''


def _sweep(tmp_path, n_seeds=2):
    """A sweep of a file.py study that leaves a file ``imported`` beside it when it is
    imported: x in (1, 2, 3) x n_seeds, x=2 warns, x=3 warns and fails."""
    source = tmp_path / "study_here.py"
    source.write_text(STUDY)
    out = tmp_path / "sweep"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        run(f"{source}:run", {"x": [1.0, 2.0, 3.0]}, n_seeds=n_seeds, executor="serial",
            output=out, progress=False)
    return source, out


def _forget(source, monkeypatch):
    """As a new process: the study module imported by the run forgotten, its mark gone."""
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == str(source.resolve()):
            monkeypatch.delitem(sys.modules, name)
    (source.parent / "imported").unlink(missing_ok=True)


NAMED = {2: {"x": 2.0, "replicate": 0}, 3: {"x": 2.0, "replicate": 1},
         4: {"x": 3.0, "replicate": 0}, 5: {"x": 3.0, "replicate": 1}}


def test_status_names_the_points_without_running_the_study(tmp_path, monkeypatch):
    source, out = _sweep(tmp_path)
    _forget(source, monkeypatch)
    assert status(out).coordinates == NAMED
    assert not (tmp_path / "imported").exists()  # the study was not run
    from v1model.sweep.labels import manifest_grid

    info = json.loads((out / "sweep.json").read_text())
    assert info["axes"] == [{"dim": "x", "params": {"x": [1.0, 2.0, 3.0]}}]
    assert info["n_seeds"] == 2
    # a folder begun before the manifest held the values: read from spec.toml, no study
    del info["axes"], info["n_seeds"]
    (out / "sweep.json").write_text(json.dumps(info))
    assert manifest_grid(info) is None
    assert status(out).coordinates == NAMED
    assert not (tmp_path / "imported").exists()
    # and the next run into it records them (it imports the study: it runs it)
    run(f"{source}:run", {"x": [1.0, 2.0, 3.0]}, n_seeds=2, executor="serial", output=out,
        progress=False)
    info = json.loads((out / "sweep.json").read_text())
    assert info["axes"] == [{"dim": "x", "params": {"x": [1.0, 2.0, 3.0]}}]
    assert manifest_grid(info).coordinates(5) == NAMED[5]


def test_a_manifest_grid_that_disagrees_with_its_dims_is_not_used(tmp_path):
    from v1model.sweep.labels import manifest_grid

    _, out = _sweep(tmp_path)
    info = json.loads((out / "sweep.json").read_text())
    assert manifest_grid(info).shape == (3, 2)
    for key, value in (("dims", ["x"]), ("n_points", 5), ("n_seeds", 0),
                       ("axes", [{"dim": "x", "params": {"x": []}}]), ("axes", "x"),
                       ("axes", [{"dim": "x", "params": {}}]), ("axes", [{"params": {}}])):
        assert manifest_grid({**info, key: value}) is None, (key, value)


def _outputs(out, capsys):
    from v1model.cli import main

    capsys.readouterr()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    return status(out).summary(), json.loads(capsys.readouterr().out)


def test_status_reads_the_point_files_only_when_they_changed(tmp_path, monkeypatch, capsys):
    """The markers kept in points/.markers.json give the status of a full read: counts,
    failed and warned points, --json; a file changed since is read."""
    _, out = _sweep(tmp_path, n_seeds=3)
    (out / "points" / "000099.nc").write_bytes(b"not a point")  # outside the grid
    opened = []
    marker = storage._point_marker
    monkeypatch.setattr(storage, "_point_marker", lambda path: opened.append(path.name)
                        or marker(path))
    fast = _outputs(out, capsys)
    assert opened == []  # 6 point files, none opened
    monkeypatch.setattr(storage.DirectoryStore, "_read_markers", lambda self: {})
    full = _outputs(out, capsys)  # every file opened, as before the markers were kept
    assert len(opened) == 2 * 6  # by `sweep status --json` and by status()
    assert fast == full
    assert full[1]["done"] == 6 and sorted(full[1]["failed"]) == ["6", "7", "8"]
    assert sorted(full[1]["warned"]) == ["3", "4", "5"]
    assert full[1]["corrupt"] == [str(out / "points" / "000099.nc")]
    monkeypatch.undo()
    # a point file replaced since (another point's, a file cut short): read, not trusted
    points = out / "points"
    shutil.copy(points / "000000.nc", points / "000001.nc")
    os.utime(points / "000001.nc", ns=(1, 1))
    (points / "000002.nc").write_bytes((points / "000002.nc").read_bytes()[:100])
    st = status(out)
    assert st.corrupt == [points / "000001.nc", points / "000002.nc", points / "000099.nc"]
    assert st.done == {0, 3, 4, 5}
    # markers of another sweep, or unreadable ones, are not used
    for text in ('{"fingerprint": "0", "points": {}}', "{", '{"points": 3}'):
        (points / ".markers.json").write_text(text)
        assert status(out).done == {0, 3, 4, 5}


def test_a_lock_of_a_run_on_another_host_untouched_for_long_is_possibly_stale(
        tmp_path, capsys):
    """On a file system without flock, a .lock.pid left by a run that died on another
    host read as "running" for ever."""
    from v1model.cli import main
    from v1model.locking import stale_pid_lock, touch_pid_lock

    _, out = _sweep(tmp_path, n_seeds=1)
    lock = out / ".lock.pid"
    lock.write_text("pid 4242 on not-this-host-b38\n")
    assert status(out).running == "pid 4242 on not-this-host-b38"  # touched just now
    assert status(out).stale_lock is None
    then = time.time() - 2 * 3600
    os.utime(lock, (then, then))
    st = status(out)
    since = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(then))
    assert st.stale_lock == f"possibly stale (host not-this-host-b38, pid 4242, since {since})"
    # still held: a script polling `running` read None as free while resume was refused
    assert st.running == "pid 4242 on not-this-host-b38"
    lines = st.summary().splitlines()
    assert lines[-1].startswith(f"  lock     possibly stale (host not-this-host-b38, pid "
                                f"4242, since {since}): a run on another host"), lines
    assert not any("running now" in line for line in lines)
    capsys.readouterr()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["running"] == "pid 4242 on not-this-host-b38"
    assert shown["stale_lock"] == st.stale_lock
    # another process's lock is not this one's to touch (nor to delete)
    touch_pid_lock(out)
    assert lock.stat().st_mtime == pytest.approx(then, abs=1)
    assert lock.read_text() == "pid 4242 on not-this-host-b38\n"
    # its holder touches it while it holds the folder: alive again
    os.utime(lock)
    assert stale_pid_lock(out, 3600) is None
    assert status(out).running == "pid 4242 on not-this-host-b38"
    # this host's: tested as before, never "possibly stale"
    lock.write_text(f"pid {os.getpid()} on {socket.gethostname()}\n")
    os.utime(lock, (then, then))
    assert stale_pid_lock(out, 3600) is None
    assert status(out).running == f"pid {os.getpid()} on {socket.gethostname()}"


@pytest.mark.parametrize("key", ["shape", "dims"])
def test_a_manifest_whose_shape_is_not_a_list_is_refused_by_name(tmp_path, capsys, key):
    from v1model.cli import main

    _, out = _sweep(tmp_path, n_seeds=1)
    manifest = out / "sweep.json"
    info = json.loads(manifest.read_text())
    for value in (3, "3x2", {"x": 3}):
        manifest.write_text(json.dumps({**info, key: value}))
        with pytest.raises(SpecError) as caught:
            status(out)
        message = str(caught.value)
        assert str(manifest) in message and repr(key) in message, message
        assert message.endswith(f"must be a list, got {json.dumps(value)}"), message
    capsys.readouterr()
    assert main(["sweep", "status", str(out)]) == 2
    assert f"'{key}' must be a list, got" in capsys.readouterr().err


LONG_POINT = '''
import os
import re
import time

import xarray as xr

LOCK = {lock!r}


def run(quick=False, seed=0, x=1.0):
    """Ages the run's own lock, then runs on: touched while the point runs?"""
    then = time.time() - 2 * 3600
    os.utime(LOCK, (then, then))
    deadline = time.monotonic() + 3.0
    while os.stat(LOCK).st_mtime < then + 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    return xr.Dataset({{"touched": ((), float(os.stat(LOCK).st_mtime > then + 60))}})
'''


def _no_flock(monkeypatch):
    """As on a file system without flock (Lustre without -o flock): a .lock.pid holds."""
    import errno
    import fcntl

    def no_flock(fh, how):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)


def test_a_point_longer_than_the_stale_age_does_not_age_the_lock(tmp_path, monkeypatch):
    """The .lock.pid was touched only as points finished: a live sweep whose point ran
    longer than an hour read "possibly stale" on another host, with advice to delete its
    lock (and a resume then ran beside it). Its holder touches it while it runs."""
    from v1model import locking

    _no_flock(monkeypatch)
    monkeypatch.setattr(locking, "PID_LOCK_BEAT", 0.02, raising=False)
    out = tmp_path / "sweep"
    source = tmp_path / "long_point.py"
    source.write_text(LONG_POINT.format(lock=str(out / ".lock.pid")))
    result = run(f"{source}:run", {"x": [1.0]}, executor="serial", output=out,
                 progress=False)
    assert float(result["touched"].item()) == 1.0
    assert not (out / ".lock.pid").exists()  # released


def test_the_lock_beat_touches_only_its_own_lock_and_stops_with_it(tmp_path, monkeypatch):
    """While held, the .lock.pid is kept fresh; deleted by hand (the advice for a dead
    run), it is not made again, and another run's lock that replaced it is neither
    touched nor deleted at the end (it was); the thread ends with the lock."""
    import threading

    from v1model import locking

    _no_flock(monkeypatch)
    monkeypatch.setattr(locking, "PID_LOCK_BEAT", 0.02, raising=False)
    lock, then = tmp_path / ".lock.pid", time.time() - 2 * 3600

    def touched(timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if lock.stat().st_mtime > then + 60:
                return True
            time.sleep(0.01)
        return False

    with locking.folder_lock(tmp_path):
        os.utime(lock, (then, then))
        assert touched()
        lock.unlink()
        time.sleep(0.1)
        assert not lock.exists()
        lock.write_text("pid 4242 on not-this-host-b38\n")
        os.utime(lock, (then, then))
        assert not touched(0.2)
    # nor deleted: that run holds the folder now
    assert lock.read_text() == "pid 4242 on not-this-host-b38\n"
    assert not any(t.name == "v1model-lock-beat" for t in threading.enumerate())


@pytest.mark.parametrize("max_age", [0, -1.0, float("nan"), float("inf"), "3600", True])
def test_stale_pid_lock_refuses_a_max_age_by_name(tmp_path, max_age):
    from v1model.locking import stale_pid_lock

    with pytest.raises(ValueError, match=rf"max_age must be a number of seconds > 0, got "
                                         rf"{re.escape(repr(max_age))}"):
        stale_pid_lock(tmp_path, max_age)


ZIP_STUDY = '''
import xarray as xr


def run(quick=False, seed=0, x=1.0, y=1.0, tau=1.0):
    if x == 3:
        raise ValueError(f"diverged at x={x}")
    return xr.Dataset({"v": ((), float(x * y))})
'''


def test_an_old_folder_s_spec_toml_gives_parse_spec_s_grid(tmp_path):
    """The grid read from an old folder's spec.toml (no axes in sweep.json) repeated part
    of parse_spec: units were left out (and no case for zipped groups) and could drift."""
    from v1model.sweep import zipped
    from v1model.sweep.labels import _spec_file_grid
    from v1model.sweep.spec import parse_spec
    from v1model.sweep.tomlio import read_toml

    source = tmp_path / "zip_study.py"
    source.write_text(ZIP_STUDY)
    out = tmp_path / "sweep"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        run(f"{source}:run", {"xy": zipped(x=[1.0, 2.0, 3.0], y=[4.0, 5.0, 6.0]),
                              "tau": [10.0, 20.0]},
            units={"tau": "ms", "y": "mV"}, executor="serial", output=out, progress=False)
    info = storage.read_manifest(out)
    for key in ("axes", "n_seeds", "seed", "common_seeds"):  # as written before 0456da5
        info.pop(key, None)
    (out / storage.MANIFEST).write_text(json.dumps(info, indent=2), encoding="utf-8")
    expected = parse_spec(read_toml(out / "spec.toml"), out / "spec.toml",
                          resolve_paths=False).grid
    grid = _spec_file_grid(out, info)
    assert grid == expected
    assert grid.units == {"tau": "ms", "y": "mV"}
    assert [a.dim for a in grid.axes] == ["xy", "tau"] and grid.axes[0].zipped
    assert status(out).coordinates == {4: {"x": 3.0, "y": 6.0, "tau": 10.0},
                                       5: {"x": 3.0, "y": 6.0, "tau": 20.0}}


def test_sweep_json_writes_each_value_list_on_one_line(tmp_path):
    """indent=2 put each value of an axis on its own line: 100,000 values made a sweep.json
    of 3.0 MB in 100,012 lines."""
    import numpy as np

    from v1model.sweep.grid import Grid, make_axis
    from v1model.sweep.labels import grid_fields, manifest_grid

    grid = Grid((make_axis("lam", list(np.linspace(0.01, 1.0, 100_000)), "sweep.lam"),),
                1, 0, False)
    info = {"fingerprint": "0123456789abcdef", "n_points": 100_000, "dims": ["lam"],
            "shape": [100_000],
            **grid_fields(grid), "study_defaults": {"n": "3"}}
    storage.write_manifest(tmp_path, info)
    text = (tmp_path / storage.MANIFEST).read_text(encoding="utf-8")
    assert len(text.splitlines()) == len(info) + 2  # one top-level key a line
    # each float as json writes it (about 20 characters), with ", " between them
    assert len(text) < 100_000 * 23
    assert storage.read_manifest(tmp_path) == info
    assert manifest_grid(storage.read_manifest(tmp_path)).axes == grid.axes
    # a sweep's own, and an old one written with indent=2 still reads
    _, out = _sweep(tmp_path, n_seeds=1)
    lines = (out / storage.MANIFEST).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(storage.read_manifest(out)) + 2
    assert lines[0] == "{" and lines[-1] == "}"
    before = status(out)
    (out / storage.MANIFEST).write_text(json.dumps(storage.read_manifest(out), indent=2))
    again = status(out)
    assert (again.done, again.failed.keys(), again.coordinates) == \
        (before.done, before.failed.keys(), before.coordinates)
    assert again.coordinates == {1: {"x": 2.0}, 2: {"x": 3.0}}
