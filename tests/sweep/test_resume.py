"""Nothing lost: interrupted sweeps resume without recomputing finished points,
failed points are recorded and retried alone, corrupt point files are
detected and recomputed; and the `v1model sweep` commands."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import v1model
from v1model.cli import main
from v1model.sweep import (ExecutorStartError, SerialExecutor, SpecError, SweepWarning,
                           WorkersLostError, load, resume, retry_failed, run, status)

#: the folder the packages under test are imported from (the checkout, or site-packages
#: after ``pip install .``): the current directory of the ``python -m v1model.cli``
#: processes, which the checkout made run its own copy whatever was under test
ROOT = Path(v1model.__file__).resolve().parents[1]
#: y's one chunk file in a zarr store: y/c/0 with zarr 3, y/0 with zarr 2 (Python 3.10)
Y_CHUNK = "y/c/0" if int(zarr.__version__.split(".")[0]) >= 3 else "y/0"


def comparable(ds):
    ds = ds.drop_vars(["duration", "cpu_time"])
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "sweep_executor"}
    return ds


def running(pid) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def saved_points(folder):
    """Finished point files (not the hidden temporary files of a write in progress)."""
    return sorted(p for p in Path(folder).glob("*.nc") if not p.name.startswith("."))


def write_spec(path, study, log_dir, output, n_x=8, sleep=0.0, executor="serial", extra=""):
    xs = ", ".join(f"{float(i + 1)}" for i in range(n_x))
    path.write_text(f"""
study = "{study()}"
output = "{output}"
seed = 11
[params]
log_dir = "{log_dir}"
sleep = {sleep}
{extra}
[sweep]
x = [{xs}]
[executor]
kind = "{executor}"
""")
    return path


def test_killed_run_resumes_without_recomputing_finished_points(study, calls, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out"
    spec = write_spec(tmp_path / "spec.toml", study, log, out, sleep=0.15)
    # the uninterrupted reference, in memory
    reference = run(study(), {"x": [float(i + 1) for i in range(8)]}, seed=11,
                    params={"log_dir": str(log), "sleep": 0.15}, executor="serial",
                    progress=False)
    for f in log.iterdir():
        f.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "v1model.cli", "sweep", "run", str(spec), "--no-progress"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    points = out / "points"
    t0 = time.monotonic()
    while len(saved_points(points)) < 3 and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # the hardest stop: no clean-up at all
    proc.wait()
    saved = saved_points(points)
    assert 3 <= len(saved) < 8
    before = calls(log, "start")
    saved_tags = [f"{float(int(p.stem) + 1)}-a-" for p in saved]

    st = status(out)
    assert len(st.done) == len(saved) and len(st.pending) == 8 - len(saved)
    assert not st.complete and st.result is None

    ds = resume(out, executor={"kind": "local", "workers": 2}, progress=False)
    after = calls(log, "start")
    for tag, n in after.items():
        if any(tag.startswith(t) for t in saved_tags):
            assert n == before[tag] == 1, tag  # finished before the kill: not run again
    assert sum(after.values()) - sum(before.values()) == 8 - len(saved)
    xr.testing.assert_identical(comparable(ds), comparable(reference))
    assert (out / "sweep.nc").exists() and status(out).complete
    # a finished sweep does nothing when run or resumed again
    n_calls = sum(after.values())
    again = resume(out, progress=False)
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 0
    assert sum(calls(log, "start").values()) == n_calls
    xr.testing.assert_identical(comparable(again), comparable(reference))


def test_failed_point_is_recorded_others_finish_and_retry_runs_it_alone(study, calls,
                                                                        tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    flag = tmp_path / "fail_now"
    flag.write_text("")
    out = tmp_path / "out"
    params = {"log_dir": str(log), "fail_flag": str(flag), "fail_x": 2.0}
    grid = {"x": [1.0, 2.0, 3.0]}
    ds = run(study(), grid, n_seeds=2, params=params, output=out, executor="serial",
             progress=False)
    status_ = ds["status"].values
    assert (status_[1] == "failed").all() and (status_[[0, 2]] == "ok").all()
    assert all(e == "ValueError: boom at x=2.0" for e in ds["error"].values[1])
    assert np.isnan(ds["y"].values[1]).all() and np.isfinite(ds["y"].values[[0, 2]]).all()
    assert ds["count"].dtype == np.float64  # int output with NaN at failed points
    assert ds.attrs["sweep_n_failed"] == 2
    record = json.loads(next((out / "failed").glob("*.json")).read_text())
    assert record["params"] == {"x": 2.0} and "ValueError: boom" in record["traceback"]
    assert record["attempts"] == 1

    st = status(out)
    assert sorted(st.failed) == [2, 3] and not st.pending
    assert "boom at x=2.0" in st.summary() and "retry-failed" in st.summary()
    # resume does not touch failed points; retry-failed runs them alone
    before = calls(log, "start")
    resume(out, progress=False)
    assert calls(log, "start") == before
    flag.unlink()
    fixed = retry_failed(out, executor="serial", progress=False)
    after = calls(log, "start")
    diff = {tag: after[tag] - before.get(tag, 0) for tag in after if after[tag] != before.get(tag)}
    assert len(diff) == 2 and all(t.startswith("2.0-") and n == 1 for t, n in diff.items())
    assert (fixed["status"] == "ok").all() and not list((out / "failed").glob("*.json"))
    clean = run(study(), grid, n_seeds=2, executor="serial", progress=False)
    np.testing.assert_array_equal(fixed["y"].values, clean["y"].values)


def test_the_commands_suggested_for_a_folder_with_a_space_can_be_copied(study, tmp_path,
                                                                       capsys):
    """`status` and `sweep run` end with the command that carries on; with the folder's
    path unquoted, "/scratch/my sweeps/out" split into two arguments."""
    import shlex

    flag = tmp_path / "fail_now"
    flag.write_text("")
    spec = write_spec(tmp_path / "spec.toml", study, tmp_path, tmp_path / "my sweeps" / "out",
                      n_x=2, extra=f'fail_flag = "{flag}"\nfail_x = 2.0')
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
    out = str(tmp_path / "my sweeps" / "out")
    said = capsys.readouterr().out
    command = said.split("run them again with `")[1].split("`")[0]
    assert shlex.split(command) == ["v1model", "sweep", "retry-failed", out]
    line = status(out).summary().splitlines()[-1]
    assert shlex.split(line.split(": ", 1)[1]) == ["v1model", "sweep", "retry-failed", out]


def test_a_sweep_folder_copied_with_its_study_file_resumes_there(study, calls, tmp_path):
    """README: to finish on a cluster a sweep begun on a laptop, copy the folder and edit
    its spec.toml. A "file.py:function" study is recorded by its absolute path, which
    entered the folder's fingerprint: with the study's new path given, the folder was
    refused as "another sweep" (naming no difference), whatever the user did."""
    import shutil

    laptop, cluster = tmp_path / "laptop", tmp_path / "cluster"
    laptop.mkdir()
    source = Path(study().rsplit(":", 1)[0])
    shutil.copy(source, laptop / "my_study.py")
    log = tmp_path / "log"
    log.mkdir()
    grid = {"x": [1.0, 2.0, 3.0]}
    run(f"{laptop / 'my_study.py'}:tiny", grid, params={"log_dir": str(log)},
        output=laptop / "out", executor="serial", progress=False)
    for name in ("points/000002.nc", "sweep.nc"):  # stopped before its last point
        (laptop / "out" / name).unlink()
    laptop.rename(cluster)
    spec = cluster / "out" / "spec.toml"
    spec.write_text(spec.read_text().replace(str(laptop), str(cluster)))
    before = calls(log, "start")
    ds = resume(cluster / "out", progress=False)
    started = calls(log, "start") - before
    assert list(started) == ["3.0-a-" + str(int(ds["point_seed"].values[2]))]  # only the last
    assert not (cluster / "out" / "corrupt").exists()
    clean = run(study(), grid, executor="serial", progress=False)
    np.testing.assert_array_equal(ds["y"].values, clean["y"].values)
    assert (load(cluster / "out")["status"] == "ok").all()
    # a study of that name still at the folder's former path is another study
    laptop.mkdir()
    shutil.copy(source, laptop / "my_study.py")
    spec.write_text(spec.read_text().replace(str(cluster / "my_study.py"),
                                             str(tmp_path / "my_study.py")))
    shutil.copy(source, tmp_path / "my_study.py")
    with pytest.raises(SpecError, match="its spec.toml was edited"):
        resume(cluster / "out", progress=False)


def test_the_result_carries_the_fingerprint_of_its_folder(study, tmp_path, old_null_sweep):
    """The assembled result's ``sweep_fingerprint`` is the one in the folder's sweep.json
    (which its points carry): it was the spec's, another one for a "file.py:function"
    study that moved, or a folder begun with "null" before the texts for None hashed
    alike."""
    import shutil

    from v1model.sweep import SweepSpec

    def folder_fingerprint(out):
        return json.loads((out / "sweep.json").read_text())["fingerprint"]

    laptop, cluster = tmp_path / "laptop", tmp_path / "cluster"
    laptop.mkdir()
    shutil.copy(Path(study().rsplit(":", 1)[0]), laptop / "my_study.py")
    run(f"{laptop / 'my_study.py'}:tiny", {"x": [1.0, 2.0]}, output=laptop / "out",
        executor="serial", progress=False)
    (laptop / "out" / "points" / "000001.nc").unlink()
    (laptop / "out" / "sweep.nc").unlink()
    laptop.rename(cluster)
    spec = cluster / "out" / "spec.toml"
    spec.write_text(spec.read_text().replace(str(laptop), str(cluster)))
    expected = folder_fingerprint(cluster / "out")
    resumed = resume(cluster / "out", progress=False)
    assert resumed.attrs["sweep_fingerprint"] == expected
    saved = xr.load_dataset(cluster / "out" / "sweep.nc")
    assert saved.attrs["sweep_fingerprint"] == expected
    (cluster / "out" / "sweep.nc").unlink()  # load assembles from the points
    assert load(cluster / "out").attrs["sweep_fingerprint"] == expected

    old = tmp_path / "old"
    old_null_sweep(old)  # a folder begun before the texts were spelled alike
    (old / "points" / "000001.nc").unlink()
    (old / "sweep.nc").unlink()
    resumed = resume(old, progress=False)
    expected = folder_fingerprint(old)
    assert expected != SweepSpec.fingerprint(_open_spec(old))  # the two differ here
    assert resumed.attrs["sweep_fingerprint"] == expected
    assert xr.load_dataset(old / "sweep.nc").attrs["sweep_fingerprint"] == expected


def _open_spec(out):
    from v1model.sweep.spec import load_spec

    return load_spec(out / "spec.toml", output=out)


def test_a_folder_whose_spec_toml_was_edited_says_so(study, tmp_path):
    """`resume` reads the folder's spec.toml: edited in a field that sets the points, it
    was "another sweep ... its spec differs from this one. ... resume that sweep with
    `v1model sweep resume FOLDER`", the very command that had failed."""
    out = tmp_path / "out"
    run(study(), {"x": [1.0, 2.0]}, params={"n": 3}, output=out, executor="serial",
        progress=False)
    spec = out / "spec.toml"
    spec.write_text(spec.read_text().replace("n = 3", "n = 4"))
    with pytest.raises(SpecError, match=r"its spec.toml was edited after the sweep began, in "
                                        r"what determines the points .*: undo that edit"):
        resume(out, progress=False)


def test_full_disk_stops_the_sweep_and_resume_finishes_it(study, tmp_path, monkeypatch,
                                                          capsys):
    """A point that cannot be saved for lack of space is not a failed point:
    every later one would be lost the same way. The sweep stops (CLI exit 1)
    with the saved points kept, and resume completes it."""
    import errno

    from v1model.sweep import OutputWriteError
    from v1model.sweep.storage import DirectoryStore

    real, saved = DirectoryStore.write_point, []

    def write_point(self, outcome, seed):
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(outcome.index)
        return real(self, outcome, seed)

    monkeypatch.setattr(DirectoryStore, "write_point", write_point)
    out, grid = tmp_path / "out", {"x": [1.0, 2.0, 3.0]}
    with pytest.raises(OutputWriteError, match=rf"cannot save point \d in {out}: No space left "
                                               rf"on device; the sweep stops, keeping the 2 "
                                               rf"points saved so far: make room, then "
                                               rf"`v1model sweep resume {out}`"):
        run(study(), grid, n_seeds=2, output=out, executor="serial", progress=False)
    st = status(out)
    assert len(st.done) == 2 and not st.failed and len(st.pending) == 4
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 1
    # the message alone: no "[Errno 28]", nor the "path: cannot write" of v1model.io
    assert "v1model: error: cannot save point" in capsys.readouterr().err
    monkeypatch.setattr(DirectoryStore, "write_point", real)
    done = resume(out, executor="serial", progress=False)
    clean = run(study(), grid, n_seeds=2, executor="serial", progress=False)
    assert (done["status"] == "ok").all()
    np.testing.assert_array_equal(done["y"].values, clean["y"].values)


@pytest.mark.parametrize("code, folder, advice", [
    ("ENOSPC", "points", "make room, then `v1model sweep resume {out}`"),
    ("EROFS", "points", ("once the file system is writable again, `v1model sweep resume "
                         "{out}`; or copy the folder to a writable one and resume the copy")),
    ("EACCES", "points", ("make it writable for you (`chmod -R u+w {out}`), then `v1model "
                          "sweep resume {out}`; or copy the folder to one you can write and "
                          "resume the copy")),
    ("EROFS", "failed", ("once the file system is writable again, `v1model sweep resume "
                         "{out}`; or copy the folder to a writable one and resume the copy")),
])
def test_a_folder_that_cannot_be_written_gets_the_advice_of_its_errno(
        study, tmp_path, monkeypatch, capsys, code, folder, advice):
    """"make room, then resume" was said for every write error, a read-only folder's and a
    refused permission's too, after the text of v1model.io ("path: cannot write ..."),
    which names an argument the user never gave. The failure record of a point that
    failed raised the bare OSError."""
    import errno
    import tempfile

    code = getattr(errno, code)
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        # point 1's file (points/ holds point 0's), or the first failure record
        if dir is not None and Path(dir).name == folder and (
                folder == "failed" or list(Path(dir).iterdir())):
            raise OSError(code, os.strerror(code), str(Path(dir) / ".x.tmp"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "out"
    fails = "fail_x = 2.0" if folder == "failed" else ""  # point 1 (x = 2) fails
    spec = write_spec(tmp_path / "s.toml", study, tmp_path, out, n_x=3,
                      extra=f'fail_flag = "{flag}"\n{fails}')
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
    err = capsys.readouterr().err
    what = "point 1" if folder == "points" else "the failure record of point 1"
    assert err.strip() == (f"v1model: error: cannot save {what} in {out}: "
                           f"{os.strerror(code)}; the sweep stops, keeping the 1 point saved "
                           f"so far: {advice.format(out=out)}"), err
    st = status(out)
    assert sorted(st.done) == [0] and not st.failed


@pytest.mark.parametrize("code, advice", [
    ("ENOSPC", ("make room, then `v1model sweep resume {out}`, which runs no point and "
                "assembles the result from them")),
    ("EROFS", ("once the file system is writable again, `v1model sweep resume {out}`, which "
               "runs no point and assembles the result from them; or copy the folder to a "
               "writable one and resume the copy")),
])
def test_a_result_that_cannot_be_saved_says_the_points_are_safe(study, tmp_path, monkeypatch,
                                                                capsys, code, advice):
    """A full disk at sweep.nc, after the last point, printed "[Errno 28] cannot write
    '.../sweep.nc'" without a word of the points, all saved, nor of the resume that
    assembles the result from them."""
    import errno

    from v1model.sweep.storage import DirectoryStore

    code = getattr(errno, code)
    real = DirectoryStore.save_result

    def save_result(self, ds, fmt):
        raise OSError(code, f"path: cannot write {str(self.result_path(fmt))!r}")

    monkeypatch.setattr(DirectoryStore, "save_result", save_result)
    out = tmp_path / "out"
    spec = write_spec(tmp_path / "s.toml", study, tmp_path, out, n_x=3)
    assert main(["sweep", "run", str(spec), "--no-progress", "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"v1model: error: cannot save the assembled result sweep.nc in "
                           f"{out}: {os.strerror(code)}; every point has run and is saved "
                           f"(the 3 finished ones in {out / 'points'}): "
                           f"{advice.format(out=out)}"), err
    st = status(out)
    assert sorted(st.done) == [0, 1, 2] and st.result is None
    monkeypatch.setattr(DirectoryStore, "save_result", real)
    assert main(["sweep", "resume", str(out), "--no-progress", "--no-plot"]) == 0
    clean = run(study(), {"x": [1.0, 2.0, 3.0]}, seed=11, params={"log_dir": str(tmp_path)},
                executor="serial", progress=False)
    np.testing.assert_array_equal(load(out)["y"].values, clean["y"].values)


def test_cli_says_why_the_executor_lost_its_workers(study, tmp_path, monkeypatch, capsys):
    """Batch jobs that end before finishing any point stop `sweep run` with exit
    1 and the watch's message, not a traceback (the watch itself is tested
    against a stand-in SLURM in test_executors)."""
    from v1model.sweep import WorkersLostError
    from v1model.sweep import runner

    def lost(*args, **kwargs):
        raise WorkersLostError("executor kind 'slurm': all 2 worker job(s) (11, 12) ended "
                               "(2 TIMEOUT) before any point finished on them")

    monkeypatch.setattr(runner, "run_spec", lost)
    spec = write_spec(tmp_path / "s.toml", study, tmp_path, tmp_path / "out", n_x=2)
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
    assert ("v1model: error: executor kind 'slurm': all 2 worker job(s) (11, 12) ended "
            "(2 TIMEOUT)") in capsys.readouterr().err


def test_corrupt_point_files_are_detected_and_recomputed(study, calls, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out"
    grid = {"x": [1.0, 2.0, 3.0, 4.0]}
    params = {"log_dir": str(log)}
    first = run(study(), grid, params=params, output=out, executor="serial", progress=False)
    points = out / "points"
    (points / "000001.nc").write_bytes(b"\x89HDF\r\n\x1a\n half a file")  # truncated
    # a readable netCDF file without the completion marker
    xr.Dataset({"y": ((), 0.0)}).to_netcdf(points / "000002.nc", engine="h5netcdf")
    (points / ".000003.nc.abc.tmp.nc").write_bytes(b"left over by a crash")
    (out / "sweep.nc").unlink()
    # temporaries of the result, a failure record and a figure cut short by a kill
    (out / ".sweep.nc.k2j4.tmp.nc").write_bytes(b"half a result")
    (out / "failed").mkdir(exist_ok=True)
    (out / "failed" / ".000001.json.x1.tmp.json").write_text("{")
    (out / "figures").mkdir(exist_ok=True)
    (out / "figures" / ".summary.png.q9.tmp.png").write_bytes(b"\x89PNG")

    st = status(out)
    assert sorted(st.done) == [0, 3] and sorted(st.pending) == [1, 2] and len(st.corrupt) == 2
    before = calls(log, "start")
    with pytest.warns(SweepWarning, match="2 unreadable or incomplete"):
        again = resume(out, progress=False)
    after = calls(log, "start")
    changed = sorted(t.split("-")[0] for t in after if after[t] != before[t])
    assert changed == ["2.0", "3.0"]  # points 1 and 2, once each
    assert sum(after.values()) == sum(before.values()) + 2
    xr.testing.assert_identical(comparable(again), comparable(first))
    assert len(list((out / "corrupt").iterdir())) == 2
    assert not [p for p in out.rglob(".*") if ".tmp" in p.name]


def test_outputs_with_varying_dims_are_padded(study):
    # `v` has coordinate k of length n: aligned on k (outer join)
    ds = run(study(), {"n": [2, 3]}, executor="serial", progress=False)
    assert ds.sizes["k"] == 3 and ds.attrs["sweep_padded_dims"] == "k"
    assert np.isnan(ds["v"].sel(n=2, k=2)) and np.isfinite(ds["v"].sel(n=3)).all()
    # `w` has no coordinate: padded by position, int -> float with NaN
    ds = run(study("unindexed"), {"n": [1, 3]}, executor="serial", progress=False)
    np.testing.assert_array_equal(ds["w"].values, [[1, np.nan, np.nan], [1, 2, 3]])


@pytest.mark.parametrize("order", [[1, 2], [2, 1]])
def test_padded_text_and_late_indexes_match_the_file(study, tmp_path, order):
    # padded text is "" in the returned Dataset as in the file (was NaN in memory), and an
    # output's index is kept when the first point lacks that output (was dropped)
    ds = run(study("labelled"), {"n": order}, output=tmp_path / "s", executor="serial",
             progress=False)
    assert ds["tag"].sel(n=1).values.tolist() == ["L0", ""]
    assert ds["name"].sel(n=1).values.tolist() == ["k0", ""]
    assert ds["j"].values.tolist() == [5, 6, 7]
    np.testing.assert_array_equal(ds["extra"].sel(n=2).values, [0.0, 2.0, 4.0])
    saved = xr.load_dataset(tmp_path / "s" / "sweep.nc")
    xr.testing.assert_identical(comparable(saved), comparable(ds))


def test_bad_outputs_fail_their_point_with_a_clear_error(study):
    ds = run(study("not_a_dataset"), {"x": [1, 2]}, executor="serial", progress=False)
    assert (ds["status"] == "failed").all()
    assert ds["error"].values[0] == "TypeError: study returned dict, expected an xarray.Dataset"
    ds = run(study("clashing_twice"), {"x": [1]}, executor="serial", progress=False)
    assert "uses the name(s) ['status']" in ds["error"].values[0]
    assert "and also ['status_output']" in ds["error"].values[0]


@pytest.mark.parametrize("output", [None, "s"])
def test_an_output_that_is_text_at_one_point_and_a_number_at_another_is_named(study,
                                                                             tmp_path, output):
    # was xarray's "unable to infer dtype on variable 'y'; object array contains mixed
    # native types: str, int" at the write (and an object array in memory)
    with pytest.raises(ValueError, match=r"output 'y' is text at one point \(x index 1\) "
                                         r"and a number at another \(x index 0\)"):
        run(study("mixed_kinds"), {"x": [1.0, 2.0, 3.0]}, executor="serial", progress=False,
            output=None if output is None else tmp_path / output)


@pytest.mark.parametrize("call", [lambda: run("lca-sweep", {"lam": [0.1]}, output=3),
                                  lambda: status(3), lambda: resume(None), lambda: load(3.5),
                                  lambda: retry_failed(["a"])])
def test_a_folder_that_is_not_a_path_is_named(call):
    with pytest.raises(TypeError, match=r"^output must be a folder path \(str or os.PathLike\), "
                                        r"got "):
        call()


def test_outputs_named_like_a_swept_parameter_are_renamed(study):
    # e.g. activity-ratio's `dictionary` variable in a sweep over dictionary=FILE.nc
    ds = run(study("own_name"), {"x": [1.0, 2.0]}, executor="serial", progress=False)
    assert (ds["status"] == "ok").all()
    assert ds["x_output"].dims == ("x", "atom") and ds["w"].dims == ("x", "x_output")
    np.testing.assert_array_equal(ds["x_output"].values, [[1.0, 2.0], [2.0, 3.0]])
    np.testing.assert_array_equal(ds["x"].values, [1.0, 2.0])


def test_outputs_named_like_a_per_point_variable_are_renamed(study, tmp_path):
    # schultz-2014-replicating-kernels reports an `error` (config, eval_lam): every point
    # failed with "study output uses the name(s) ['error']"
    ds = run(study("clashing"), {"x": [1.0, 2.0]}, output=tmp_path / "s", executor="serial",
             progress=False)
    assert (ds["status"] == "ok").all() and (ds["error"] == "").all()
    assert ds["error_output"].dims == ("x", "eval")
    np.testing.assert_array_equal(ds["error_output"].values, [[0.5, 1.0], [0.5, 2.0]])
    np.testing.assert_array_equal(ds["status_output"].values, [1.0, 1.0])
    saved = xr.load_dataset(tmp_path / "s" / "sweep.nc")
    xr.testing.assert_identical(comparable(saved), comparable(ds))


def test_zarr_result(study, tmp_path):
    ds = run(study(), {"x": [1.0, 2.0], "label": ["a", "bb"]}, output=tmp_path / "z",
             format="zarr", executor="serial", progress=False)
    saved = xr.open_zarr(tmp_path / "z" / "sweep.zarr").load()
    assert saved.attrs.pop("v1model_zarr_all_chunks") == 1  # load_dataset checks, then drops
    xr.testing.assert_identical(comparable(saved), comparable(ds))
    reloaded = load(tmp_path / "z")
    xr.testing.assert_identical(comparable(reloaded), comparable(ds))
    # zarr v3 reads strings as NumPy's StringDType: load gives the dtypes a netCDF
    # reload has (fixed-width unicode)
    strings = [k for k, v in reloaded.variables.items() if v.dtype.kind not in "iuf"]
    assert sorted(strings) == ["error", "label", "name", "status", "warnings"]
    assert all(reloaded[k].dtype.kind == "U" for k in strings)
    assert reloaded["label"].dtype == np.dtype("<U2")


def test_a_zarr_result_with_a_chunk_file_missing_is_not_a_finished_result(study, tmp_path,
                                                                           capsys):
    """A chunk file of sweep.zarr removed (a copy cut short): zarr reads it as NaN, and
    `status`, `load` and `resume` took the result as finished, its values NaN without a
    word. `status` now says which file is missing, `load` warns and assembles the result
    from the points, `resume` sets the store aside in corrupt/ and writes it again."""
    out = tmp_path / "z"
    ds = run(study(), {"x": [1.0, 2.0]}, output=out, format="zarr", executor="serial",
             progress=False)
    (out / "sweep.zarr" / Y_CHUNK).unlink()  # y: one chunk over the grid
    st = status(out)
    assert st.complete and st.result is None
    assert st.damaged == f"{out / 'sweep.zarr'} is incomplete (variable 'y': 1 chunk " \
                         f"file(s) missing, e.g. {Y_CHUNK})"
    assert main(["sweep", "status", str(out)]) == 0
    assert "variable 'y': 1 chunk file(s) missing" in capsys.readouterr().out
    with pytest.warns(SweepWarning, match=r"variable 'y': 1 chunk file\(s\) missing, e\.g\. "
                                          rf"'{Y_CHUNK}'.*assembled from the points"):
        loaded = load(out)
    np.testing.assert_array_equal(loaded["y"].values, ds["y"].values)
    assert np.isfinite(loaded["y"].values).all()
    with pytest.warns(SweepWarning, match="variable 'y'.*moved to corrupt/"):
        resumed = resume(out, progress=False)
    np.testing.assert_array_equal(resumed["y"].values, ds["y"].values)
    assert [p.name.split(".zarr")[0] for p in (out / "corrupt").iterdir()] == ["sweep"]
    assert status(out).damaged is None and status(out).result == out / "sweep.zarr"
    np.testing.assert_array_equal(load(out)["y"].values, ds["y"].values)


def test_status_says_a_truncated_netcdf_result_is_damaged_from_its_header(
        study, tmp_path, capsys, monkeypatch):
    """`truncate -s 100 OUT/sweep.nc`: status only checked that the file existed and
    listed it as the result. It opens the header (HDF5 checks the file's length), and
    reads no data: the variables are never loaded."""
    out = tmp_path / "n"
    ds = run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    result = out / "sweep.nc"
    assert status(out).damaged is None and status(out).result == result  # whole: listed
    # a copy cut short just before its end: HDF5's own check on opening
    os.truncate(result, result.stat().st_size - 10)
    loaded = []
    monkeypatch.setattr(xr.Dataset, "load", lambda self, **kw: loaded.append(1) or self)
    st = status(out)
    assert not loaded  # the header, not the data
    monkeypatch.undo()
    assert st.complete and st.result is None
    assert st.damaged.startswith(f"{result} cannot be read as a netCDF file (")
    assert "truncated file" in st.damaged and not st.lost  # its points are whole
    assert main(["sweep", "status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cannot be read as a netCDF file" in printed and "resume` writes it again" in printed
    with pytest.warns(SweepWarning, match="moved to corrupt/"):
        resumed = resume(out, progress=False)
    xr.testing.assert_identical(comparable(resumed), comparable(ds))
    assert status(out).damaged is None and status(out).result == result


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_a_damaged_result_whose_points_were_removed_is_set_aside_with_a_warning(
        study, tmp_path, capsys, fmt):
    """After `rm -r OUT/points` of a finished sweep, a damaged result (cut short, a chunk
    file missing) made resume delete it and run every point again without a word. The
    points it held are lost: status says so, resume warns and moves it to corrupt/."""
    import shutil

    out, log = tmp_path / "out", tmp_path / "log"
    log.mkdir()
    ds = run(study(), {"x": [1.0, 2.0, 3.0]}, params={"log_dir": str(log)}, output=out,
             format=fmt, executor="serial", progress=False)
    shutil.rmtree(out / "points")
    if fmt == "zarr":
        result = out / "sweep.zarr"
        (result / Y_CHUNK).unlink()
    else:
        result = out / "sweep.nc"
        os.truncate(result, 100)
    st = status(out)
    assert st.pending == [0, 1, 2] and st.result is None and st.lost
    assert st.damaged.startswith(str(result))
    assert "no point file is left" in st.summary() and "moves it to corrupt/" in st.summary()
    with pytest.warns(SweepWarning, match="damaged and no point file is left"):
        assert (load(out)["status"] == "pending").all()
    with pytest.warns(SweepWarning, match=r"the assembled result is damaged and no point "
                                          r"file is left .*so 3 point\(s\) run again; the "
                                          r"damaged result was moved to corrupt/"):
        resumed = resume(out, progress=False)
    xr.testing.assert_identical(comparable(resumed), comparable(ds))
    aside = list((out / "corrupt").iterdir())
    assert [p.name.split(".")[0] for p in aside] == ["sweep"]  # kept, not deleted
    if fmt == "netcdf":
        assert aside[0].stat().st_size == 100
    st = status(out)
    assert st.damaged is None and not st.lost and st.result == result


def test_cli_run_status_retry_and_errors(study, tmp_path, capsys):
    log = tmp_path / "log"
    log.mkdir()
    flag = tmp_path / "flag"
    flag.write_text("")
    out = tmp_path / "out"
    spec = write_spec(tmp_path / "s.toml", study, log, out, n_x=3,
                      extra=f'fail_flag = "{flag}"\nfail_x = 3.0')
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 0
    assert "x=3 = 3 points" in capsys.readouterr().out and not out.exists()
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
    text = capsys.readouterr().out
    assert "2 ok, 1 failed" in text and "retry-failed" in text
    assert main(["sweep", "status", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["done"] == 2 and report["failed"] == {"2": "ValueError: boom at x=3.0"}
    flag.unlink()
    assert main(["sweep", "retry-failed", str(out), "--no-progress"]) == 0
    assert "3 ok, 0 failed" in capsys.readouterr().out
    # a dry run checks the output folder too: this one resumes, a foreign one is refused
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 0
    assert "holds this sweep already" in capsys.readouterr().out
    other = write_spec(tmp_path / "other.toml", study, log, out, n_x=2)
    assert main(["sweep", "run", str(other), "--dry-run"]) == 2
    assert "holds another sweep" in capsys.readouterr().err
    # errors name the field and exit with 2
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text().replace("[sweep]", "[sweep]\ncolour = [1]"))
    assert main(["sweep", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sweep.colour: study '_studies:tiny' has no parameter 'colour'" in err
    assert main(["sweep", "status", str(tmp_path)]) == 2
    assert "output:" in capsys.readouterr().err
    assert main(["sweep", "jobscript", str(spec)]) == 2
    assert "executor.kind: a job script needs" in capsys.readouterr().err
    # where the figures go is checked before the points, not after the last one
    fresh = write_spec(tmp_path / "fresh.toml", study, log, tmp_path / "fresh", n_x=2)
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "figures").write_text("not a folder")
    assert main(["sweep", "run", str(fresh), "--no-progress"]) == 2
    assert "figures', where the sweep's figures go, is a file" in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "points").exists()


def _pool_sweep_with_two_saved_points(study, tmp_path, name="tiny", new_session=False,
                                      executor="local", sleep=0.3):
    """A 12-point sweep of study ``name`` on a local pool of 2 workers (or a dask
    LocalCluster of 2, ``executor="dask"``), points of ``sleep`` s, in a process of its
    own (in a session and process group of its own with ``new_session``, as a terminal
    runs it), returned once 2 points are saved: (process, output folder, worker log
    folder)."""
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out"
    spec = write_spec(tmp_path / "spec.toml", lambda: study(name), log, out, n_x=12,
                      sleep=sleep, executor=executor)
    proc = subprocess.Popen(
        [sys.executable, "-m", "v1model.cli", "sweep", "run", str(spec), "--workers", "2",
         "--no-progress"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=new_session,
    )
    t0 = time.monotonic()
    while len(saved_points(out / "points")) < 2 and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    return proc, out, log


def test_ctrl_c_stops_the_local_pool_and_keeps_finished_points(study, calls, tmp_path):
    proc, out, log = _pool_sweep_with_two_saved_points(study, tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume" in err
    # workers may take a moment to exit after the parent: poll (generous limit)
    deadline = time.monotonic() + 10
    while True:
        worker_pids = {int(p.read_text()) for p in log.glob("start-*")}
        alive = {pid for pid in worker_pids if running(pid)}
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert worker_pids and not alive, alive
    st = status(out)
    assert len(st.done) >= 2 and st.pending


def test_ctrl_c_of_the_process_group_is_quiet(study, calls, tmp_path):
    """Ctrl-C in a terminal signals the whole process group: the sweep says
    "interrupted:" and nothing more. Each worker's first tqdm bar (a disabled one, as the
    studies make) made a named semaphore that the worker, stopped with SIGTERM, never
    unregistered: the resource tracker warned of "2 leaked semaphore objects"."""
    proc, out, log = _pool_sweep_with_two_saved_points(study, tmp_path, name="with_bar",
                                                       new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    # stderr ends once every process holding it has: the workers, the fork server and
    # the resource tracker (which warns as it exits) too
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().startswith("interrupted:") and len(err.strip().splitlines()) == 1, err


def test_ctrl_c_of_the_process_group_is_quiet_on_a_dask_cluster(study, calls, tmp_path):
    """The same with the sweep's own dask LocalCluster (`--executor dask`): every worker
    process got the terminal's SIGINT too and printed a KeyboardInterrupt traceback
    ("Process Dask Worker process (from Nanny): ...") after the "interrupted:" line."""
    pytest.importorskip("distributed")
    proc, out, _ = _pool_sweep_with_two_saved_points(study, tmp_path, new_session=True,
                                                     executor="dask", sleep=1.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().startswith("interrupted:") and len(err.strip().splitlines()) == 1, err
    assert 2 <= len(status(out).done) < 12


def _process_group(pgid) -> dict:
    """{pid: command line} of the live (not zombie) processes of process group ``pgid``."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
            if fields[0] == b"Z" or int(fields[2]) != pgid:
                continue
            # another user's arguments need not be UTF-8 (a latin-1 path: UnicodeDecodeError)
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone meanwhile
            continue
        out[int(stat.parent.name)] = cmd.decode(errors="replace")
    return out


def test_process_group_skips_processes_with_arguments_not_in_utf8():
    """_process_group read every process's command line as UTF-8: any process on the
    machine with a latin-1 argument (another user's "r\xe9sultats" folder) made the Ctrl-C
    tests fail with a UnicodeDecodeError."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)",
                              "r\xe9sultats".encode("latin-1")], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while ("sultats" not in _process_group(other.pid).get(other.pid, "")
               and time.monotonic() < deadline):
            time.sleep(0.05)  # until it runs python (before, the fork holds ours)
        assert "r\ufffdsultats" in _process_group(other.pid)[other.pid]
        assert other.pid not in _process_group(os.getpgid(0))
    finally:
        other.kill()
        other.wait()


def _ctrl_c_of_the_group_while_workers_start(study, tmp_path, executor, starting,
                                             sleep=0.0):
    """Run a 4-point sweep on ``executor`` with one worker, in a process group of its own
    (as a terminal runs it); once a process of the group is ``starting(pid, command
    line)``, send the group SIGINT; check the one "interrupted:" line, exit code 130, no
    point begun and no process left."""
    log = tmp_path / "log"
    log.mkdir()
    spec = write_spec(tmp_path / "spec.toml", study, log, tmp_path / "out", n_x=4,
                      sleep=sleep, executor=executor)
    proc = subprocess.Popen(
        [sys.executable, "-m", "v1model.cli", "sweep", "run", str(spec), "--workers", "1",
         "--no-progress"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    deadline = time.monotonic() + 60
    while (not any(starting(pid, cmd) for pid, cmd in _process_group(proc.pid).items())
           and proc.poll() is None and time.monotonic() < deadline):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().startswith("interrupted:") and len(err.strip().splitlines()) == 1, err
    assert not list(log.glob("start-*"))  # stopped before any point began
    deadline = time.monotonic() + 10
    while _process_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _process_group(proc.pid)


def test_ctrl_c_while_the_dask_cluster_starts_is_quiet(study, calls, tmp_path):
    """Ctrl-C of the process group while the sweep's own dask LocalCluster started (its
    worker processes still importing) printed their KeyboardInterrupt tracebacks ("Fatal
    Python error: init_import_site") and, at exit, that of the half-made cluster's close,
    around the "interrupted:" line; now as a later Ctrl-C: that line alone, exit code 130,
    no process left."""
    pytest.importorskip("distributed")
    # the worker process is spawned: a fresh interpreter, importing for a second or more
    _ctrl_c_of_the_group_while_workers_start(
        study, tmp_path, "dask", lambda pid, cmd: "multiprocessing.spawn" in cmd, sleep=1.0)


def test_ctrl_c_in_the_pre_flight_names_no_folder_to_resume(tmp_path, capsys):
    """Ctrl-C while a new sweep's values were being checked (a study whose checks read
    images takes seconds) said "finished points are saved in OUT; continue with
    `v1model sweep resume OUT`", but OUT was never made: the resume it suggested failed."""
    study = tmp_path / "checks.py"
    study.write_text(
        "from v1model.sweep import checks_parameters, parameters_checked\n\n"
        "@checks_parameters\n"
        "def run(quick=False, seed=0, *, x=1.0):\n"
        "    raise KeyboardInterrupt  # Ctrl-C during the study's input checks\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'study = "{study}:run"\noutput = "out"\n[sweep]\nx = [1.0, 2.0]\n'
                    '[executor]\nkind = "serial"\n')
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted before the sweep began: nothing was run or saved", err
    assert not (tmp_path / "out").exists()


def _sweep_run_terminated_at(spec, flag, sig=signal.SIGTERM):
    """Run ``v1model sweep run SPEC`` in a subprocess and send it ``sig`` once the file
    ``flag`` exists (the study touches it where the signal should land); returns the exit
    code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "v1model.cli", "sweep", "run", str(spec), "--no-progress"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_sigterm_in_the_pre_flight_is_an_interrupt(tmp_path):
    """SIGTERM (what a batch system sends before it kills a job) while a new sweep's
    values were checked ended `v1model sweep run` at once, without a word, with exit code
    143; in the point loop it was taken as Ctrl-C (exit 130, a message)."""
    flag = tmp_path / "checking"
    study = tmp_path / "slow_checks.py"
    study.write_text(
        "import time\nfrom pathlib import Path\n"
        "from v1model.sweep import checks_parameters, parameters_checked\n\n"
        "@checks_parameters\n"
        "def run(quick=False, seed=0, *, x=1.0):\n"
        f"    Path({str(flag)!r}).touch()\n"
        "    time.sleep(60)  # checks that read images for seconds\n"
        "    parameters_checked()\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'study = "{study}:run"\noutput = "{tmp_path / "out"}"\n[sweep]\n'
                    'x = [1.0, 2.0]\n[executor]\nkind = "serial"\n')
    returncode, err = _sweep_run_terminated_at(spec, flag)
    assert returncode == 130, err
    assert err.strip() == "interrupted before the sweep began: nothing was run or saved", err
    assert not (tmp_path / "out").exists()


def test_ctrl_c_while_the_spec_is_read_says_the_sweep_did_not_begin(tmp_path):
    """Ctrl-C while `sweep run` read its spec, importing the study (seconds for one with
    heavy imports), said "v1model: interrupted", and a moment later, in the values'
    checks, "interrupted before the sweep began: ...": the same pre-flight now says the
    latter, with exit code 130 and no folder made."""
    flag = tmp_path / "importing"
    study = tmp_path / "slow_import.py"
    study.write_text(
        "import time\nfrom pathlib import Path\n\n"
        f"Path({str(flag)!r}).touch()\n"
        "time.sleep(60)  # imports that take seconds\n\n\n"
        "def run(quick=False, seed=0, *, x=1.0):\n"
        "    raise AssertionError('never run')\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'study = "{study}:run"\noutput = "{tmp_path / "out"}"\n[sweep]\n'
                    'x = [1.0, 2.0]\n[executor]\nkind = "serial"\n')
    returncode, err = _sweep_run_terminated_at(spec, flag, signal.SIGINT)
    assert returncode == 130, err
    assert err.strip() == "interrupted before the sweep began: nothing was run or saved", err
    assert not (tmp_path / "out").exists()


def test_ctrl_c_before_a_command_or_a_resume_begins_exits_130(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the command line's parser was built (before main's handlers) left a
    KeyboardInterrupt traceback and an exit by SIGINT; while a resume read its folder's
    spec (importing the study) it said "v1model: interrupted". Exit code 130 and one
    line, as for the points."""
    import v1model.cli as cli
    import v1model.sweep.runner as runner

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cli, "build_parser", ctrl_c)
        try:
            code = main(["sweep", "status", str(tmp_path)])
        except KeyboardInterrupt:
            pytest.fail("a Ctrl-C while the parser was built left main() as a traceback")
    assert code == 130
    assert capsys.readouterr().err.strip() == "v1model: interrupted"
    for command in ("resume", "retry-failed"):
        with monkeypatch.context() as patch:
            patch.setattr(runner, "_open_folder", ctrl_c)
            assert main(["sweep", command, str(tmp_path), "--no-progress"]) == 130
        err = capsys.readouterr().err.strip()
        assert err == "interrupted before the sweep resumed: nothing was run or saved", err


def test_ctrl_c_while_the_sweep_folder_is_made_leaves_none(study, tmp_path, monkeypatch,
                                                           capsys):
    """A Ctrl-C between the new folder's spec.toml and its sweep.json left a folder the
    corrected (or the same) run then refused: "exists, is not empty and is not a sweep
    folder (no sweep.json)". The half-made folder is removed, and the run again works."""
    import v1model.sweep.storage as storage

    def ctrl_c():
        raise KeyboardInterrupt  # sweep.json's v1model_version: after spec.toml is written

    out = tmp_path / "new" / "out"
    spec = write_spec(tmp_path / "spec.toml", study, tmp_path, out, n_x=2)
    with monkeypatch.context() as patch:
        patch.setattr(storage, "_version", ctrl_c)
        assert main(["sweep", "run", str(spec), "--no-progress", "--no-plot"]) == 130
    err = capsys.readouterr().err.strip()
    assert err == "interrupted before the sweep began: nothing was run or saved", err
    assert not (tmp_path / "new").exists()
    assert main(["sweep", "run", str(spec), "--no-progress", "--no-plot"]) == 0, \
        capsys.readouterr().err
    assert len(status(out).done) == 2


@pytest.mark.slow  # ~2-5 s; quick variant: test_executors' ..._with_ctrl_c_held
def test_ctrl_c_while_the_local_pool_starts_is_quiet(study, calls, tmp_path):
    """Ctrl-C of the process group while the local pool's fork server imported its
    preload (a second or more) printed its KeyboardInterrupt traceback ("File
    ".../multiprocessing/forkserver.py", ... __import__(modname)"), and a worker still
    importing printed its own, after the "interrupted:" line; now that line alone, exit
    code 130, no process left."""

    def importing(pid, cmd):  # the fork server's preload imports numpy, for a second or more
        try:
            return "forkserver" in cmd and "numpy" in Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            return False

    _ctrl_c_of_the_group_while_workers_start(study, tmp_path, "local", importing)


def test_sigterm_while_the_result_is_assembled_is_an_interrupt(study, tmp_path):
    """SIGTERM after the last point, while sweep.nc was assembled, killed the command
    silently (exit 143): it says that the points are saved and how to continue."""
    out = tmp_path / "out"
    spec = write_spec(tmp_path / "spec.toml", study, tmp_path, out, n_x=2)
    script = (
        "import os, signal, sys, time\n"
        "from v1model.sweep import runner\n"
        "real = runner.assemble\n"
        "def assemble(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(60)  # the signal arrives here\n"
        "    return real(*args, **kwargs)\n"
        "runner.assemble = assemble\n"
        "from v1model.cli import main\n"
        f"sys.exit(main(['sweep', 'run', {str(spec)!r}, '--no-progress']))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 130, proc.stderr
    # and how far it got (it said "finished points are saved" of none or of all alike)
    assert proc.stderr.strip() == (f"interrupted: finished points are saved in {out} (2 of 2 "
                                   f"points done); continue with `v1model sweep resume "
                                   f"{out}`"), proc.stderr
    st = status(out)
    assert len(st.done) == 2 and st.result is None and not (out / "sweep.nc").exists()
    assert (resume(out, progress=False)["status"] == "ok").all()


def test_sigterm_while_the_figures_are_drawn_says_the_result_is_saved(tmp_path, capsys):
    """SIGTERM (or Ctrl-C) while the sweep's figures were drawn, after "wrote sweep.nc",
    said only "v1model: interrupted": the result is saved, and `resume` draws them."""
    slow, plotting = tmp_path / "slow", tmp_path / "plotting"
    study = tmp_path / "slow_plot.py"
    study.write_text(
        "import time\nfrom pathlib import Path\nimport xarray as xr\n\n"
        "def run(quick=False, seed=0, *, x=1.0):\n"
        "    return xr.Dataset({'y': ((), 2.0 * x)})\n\n"
        "def plot_sweep(ds, outdir):\n"
        f"    if Path({str(slow)!r}).exists():\n"
        f"        Path({str(plotting)!r}).touch()\n"
        "        time.sleep(60)  # a figure that takes long to draw\n"
        "    Path(outdir).mkdir(parents=True, exist_ok=True)\n"
        "    fig = Path(outdir) / 'y.png'\n"
        "    fig.write_text(str(ds['y'].values.tolist()))\n"
        "    return [fig]\n")
    out = tmp_path / "out"
    spec = tmp_path / "spec.toml"
    spec.write_text(f'study = "{study}:run"\noutput = "{out}"\n[sweep]\nx = [1.0, 2.0]\n'
                    '[executor]\nkind = "serial"\n')
    slow.touch()
    returncode, err = _sweep_run_terminated_at(spec, plotting)
    assert returncode == 130, err
    assert err.strip() == (f"interrupted while drawing the sweep's figures: the result is "
                           f"saved in {out / 'sweep.nc'}, but the figures in "
                           f"{out / 'figures'} were not all drawn; draw them with `v1model "
                           f"sweep resume {out}` (it runs no point)"), err
    np.testing.assert_array_equal(load(out)["y"].values, [2.0, 4.0])
    assert not (out / "figures" / "y.png").exists()
    slow.unlink()
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 0  # as the message says
    assert f"wrote {out / 'figures' / 'y.png'}" in capsys.readouterr().out
    assert (out / "figures" / "y.png").read_text() == "[2.0, 4.0]"


def test_killed_sweep_leaves_no_pool_workers_behind(study, calls, tmp_path):
    """SIGKILL gives the sweep no chance to stop its pool: the workers end by
    themselves within a few seconds instead of idling on with their memory."""
    proc, out, log = _pool_sweep_with_two_saved_points(study, tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    worker_pids = {int(p.read_text()) for p in log.glob("start-*")}
    assert worker_pids
    deadline = time.monotonic() + 30
    while {pid for pid in worker_pids if running(pid)} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not {pid for pid in worker_pids if running(pid)}
    assert len(status(out).done) >= 2  # and the saved points are intact


def test_unguarded_script_gets_the_guard_hint(tmp_path):
    # the study lives in the script itself: loading it imports the script, whose
    # unguarded sweep.run would start a sweep inside the import
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import xarray as xr\n"
        "from v1model import sweep\n\n"
        "def tiny(quick=False, seed=0, x=0):\n"
        "    return xr.Dataset({'y': ((), float(x))})\n\n"
        "sweep.run('unguarded.py:tiny', {'x': [1, 2]}, executor='serial', progress=False)\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0
    assert "put the sweep.run(...) call under `if __name__ == \"__main__\":`" in proc.stderr


def test_directory_store_scan_trusts_only_complete_matching_points(tmp_path):
    """A point counts as done only if its file says complete, carries this sweep's
    fingerprint and its own index, and the index is inside the grid; a failure record of a
    done point is ignored."""
    import json

    import xarray as xr

    from v1model.io import save_dataset
    from v1model.sweep.storage import DirectoryStore

    store = DirectoryStore(tmp_path, "fp", 5)
    (tmp_path / "points").mkdir()
    (tmp_path / "failed").mkdir()

    def write(path_index, **attrs):
        base = dict(sweep_point_index=path_index, sweep_fingerprint="fp", sweep_complete=1)
        base.update(attrs)
        save_dataset(xr.Dataset({"v": ("x", [1.0])}, attrs=base), store.point_path(path_index))

    write(0)                            # done
    write(1, sweep_point_index=2)       # a file under another point's name
    write(2, sweep_fingerprint="other")  # another sweep's point
    write(3, sweep_complete=0)          # an interrupted write
    write(5)                            # outside the 5-point grid
    store.failure_path(0).write_text(json.dumps({"index": 0}), encoding="utf-8")
    store.failure_path(4).write_text(json.dumps({"index": 4}), encoding="utf-8")
    state = store.scan(repair=False)
    assert state.done == {0}
    assert set(state.failed) == {4}
    assert state.pending == [1, 2, 3]


def test_a_held_folder_is_refused_with_its_holder(study, tmp_path):
    """Two runs into one folder: the second stops at once, naming the first
    (flock; the lock is taken before the folder is checked or created)."""
    import fcntl

    from v1model.sweep import OutputLockedError

    out = tmp_path / "new" / "out"
    out.mkdir(parents=True)
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 4242 on node17\n")
        fh.flush()
        with pytest.raises(OutputLockedError, match=r"in use by another run \(pid 4242 "
                                                    r"on node17\)"):
            run(study(), {"x": [1.0]}, output=out, executor="serial", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written
    assert run(study(), {"x": [1.0]}, output=out, executor="serial",
               progress=False)["status"].values.tolist() == ["ok"]


def test_status_of_a_folder_held_by_a_run_says_it_is_running(study, tmp_path, capsys):
    """`sweep status` said "finish with: v1model sweep resume OUT" of a sweep another
    process was running, a command that would be refused ("in use by another run")."""
    import fcntl

    from v1model.sweep.spec import parse_spec
    from v1model.sweep.storage import DirectoryStore

    out = tmp_path / "out"
    spec = parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]}, "output": str(out)})
    DirectoryStore.create_or_open(out, spec)  # a sweep folder, both points pending
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 4242 on node17, sweep run\n")
        fh.flush()
        assert status(out).running == "pid 4242 on node17, sweep run"
        assert main(["sweep", "status", str(out)]) == 0
        shown = capsys.readouterr().out
        assert shown.splitlines()[-1] == ("  running  the sweep is running now (held by pid "
                                          "4242 on node17, sweep run): wait for it to "
                                          "finish, or stop it, before resuming it"), shown
        assert "resume" not in shown.replace("before resuming it", "")
        assert main(["sweep", "status", str(out), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["running"] == "pid 4242 on node17, sweep run"
    # the name of a run that was killed stays in .lock, but nothing holds it any more
    assert (out / ".lock").read_text().strip() == "pid 4242 on node17, sweep run"
    st = status(out)
    assert st.running is None
    assert st.summary().splitlines()[-1] == f"  finish with:     v1model sweep resume {out}"


def test_a_status_testing_the_lock_does_not_refuse_a_run_starting(study, tmp_path):
    """`sweep status` (folder_holder) takes the folder's lock for an instant to test it:
    a run starting at that instant was refused "in use by another run (unknown
    process)"."""
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("")
    with open(out / ".lock", encoding="utf-8") as reader:
        fcntl.flock(reader, fcntl.LOCK_SH | fcntl.LOCK_NB)  # folder_holder's test, mid-way
        letgo = threading.Timer(0.01, lambda: fcntl.flock(reader, fcntl.LOCK_UN))
        letgo.start()
        try:
            ds = run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial",
                     progress=False)
        finally:
            letgo.join()
    assert ds["status"].values.tolist() == ["ok", "ok"]
    assert status(out).running is None


def test_without_flock_a_lock_file_holds_the_folder(study, tmp_path, monkeypatch):
    """On file systems without flock (Lustre without -o flock, some NFS), runs
    used to go unlocked; a .lock.pid file now holds the folder, and one left by
    a run that died on this host is taken over."""
    import errno
    import fcntl
    import socket

    from v1model.sweep import OutputLockedError
    from v1model.sweep.storage import DirectoryStore

    def no_flock(fh, how):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out, host = tmp_path / "out", socket.gethostname()
    seen = []
    real = DirectoryStore.write_point

    def write_point(self, outcome, seed):
        seen.append((out / ".lock.pid").read_text())
        return real(self, outcome, seed)

    monkeypatch.setattr(DirectoryStore, "write_point", write_point)
    grid = {"x": [1.0, 2.0]}
    run(study(), grid, output=out, executor="serial", progress=False)
    assert seen == [f"pid {os.getpid()} on {host}\n"] * 2
    assert not (out / ".lock.pid").exists()  # released
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock.pid").write_text(f"pid {sleeper.pid} on {host}\n")
        with pytest.raises(OutputLockedError, match=r"\(pid \d+ on .*; this file system has no "
                                                    r"flock, so the lock is the file .*\.lock\."
                                                    r"pid'"):
            resume(out, executor="serial", progress=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder is gone: its lock file is stale and taken over
    assert (resume(out, executor="serial", progress=False)["status"] == "ok").all()
    assert not (out / ".lock.pid").exists()


class _StartFails(SerialExecutor):
    """Runs ``runs`` points (none by default), then fails like a refused job."""

    def __init__(self, runs=0, error=ExecutorStartError):
        self.runs, self.error = runs, error

    def start(self):
        if not self.runs:
            raise self.error("the batch system refused the job")

    def map(self, tasks):
        for n, outcome in enumerate(super().map(tasks)):
            if n == self.runs:
                raise ExecutorStartError("the workers are gone")
            yield outcome


def _run(study, output, executor, x=(1.0, 2.0)):
    return run(study(), {"x": list(x)}, output=output, executor=executor, progress=False)


def test_a_sweep_that_fails_to_start_removes_only_what_it_created(study, tmp_path):
    """A new sweep whose executor fails before any point leaves no sweep (it would
    refuse the corrected spec); finished points, and folders the user made, stay."""
    # a new folder (and the parents made for it) goes
    with pytest.raises(ExecutorStartError, match="refused the job"):
        _run(study, tmp_path / "a" / "b" / "out", _StartFails())
    assert not (tmp_path / "a").exists()
    # an empty folder of the user's stays, without the sweep's files
    (tmp_path / "mine").mkdir()
    with pytest.raises(ExecutorStartError, match="refused the job"):
        _run(study, tmp_path / "mine", _StartFails())
    assert [p.name for p in (tmp_path / "mine").iterdir() if not p.name.startswith(".")] == []
    _run(study, tmp_path / "mine", "serial", x=(5.0,))  # the corrected spec runs there
    # a new sweep that saved a point before its executor failed keeps it
    with pytest.raises(ExecutorStartError, match="workers are gone"):
        _run(study, tmp_path / "one", _StartFails(runs=1))
    assert status(tmp_path / "one").done == {0}
    # lost workers are not a failed start: their message says to resume the sweep
    with pytest.raises(WorkersLostError, match="refused the job"):
        _run(study, tmp_path / "lost", _StartFails(error=WorkersLostError))
    assert status(tmp_path / "lost").pending == [0, 1]
    # an earlier sweep's folder is kept whole
    _run(study, tmp_path / "old", "serial")
    (tmp_path / "old" / "points" / "000001.nc").unlink()
    with pytest.raises(ExecutorStartError, match="refused the job"):
        _run(study, tmp_path / "old", _StartFails())
    assert status(tmp_path / "old").done == {0}


@pytest.mark.parametrize("call", [status, resume, retry_failed, load])
def test_a_missing_sweep_folder_is_said_to_be_missing(call, tmp_path):
    with pytest.raises(SpecError, match=rf"output: '{tmp_path}/nope' does not exist"):
        call(tmp_path / "nope")
    with pytest.raises(SpecError, match=r"is not a sweep folder \(no sweep.json\)"):
        call(tmp_path)


def test_dry_run_prints_units_but_not_dimensionless_ones(study, tmp_path, capsys):
    # "label [1]" would read like an index
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "out"\n[sweep]\nx = [1.0, 2.0]\n'
                    'label = ["a", "b"]\n[units]\nlabel = "1"\n')
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  x [m]: [1.0, 2.0]" in lines  # the study's PARAMETER_UNITS
    assert "  label: ['a', 'b']" in lines


def test_a_finished_sweep_in_a_read_only_folder_is_loaded_not_refused(study, tmp_path,
                                                                      monkeypatch, capsys):
    """`sweep resume` of a finished sweep copied read-only (or another user's) has
    nothing to run nor to write: it was refused with "cannot write in ...". One with
    points left to run is still refused."""
    from v1model.sweep import runner

    out = tmp_path / "out"
    ds = run(study(), {"x": [1.0, 2.0]}, executor="serial", output=out, progress=False)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    # what a read-only mount does (as root, chmod would not stop the writes)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if (
        mode & os.W_OK and str(path).startswith(str(out))) else real_access(path, mode, **kw))

    def read_only(path, *args, **kwargs):
        raise ValueError(f"output: cannot write in {str(path)!r}: Read-only file system")

    monkeypatch.setattr(runner, "folder_lock", read_only)
    xr.testing.assert_identical(resume(out, progress=False), ds)
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "2 ok, 0 failed, 0 pending" in text and f"loaded {out / 'sweep.nc'}" in text
    assert main(["sweep", "retry-failed", str(out), "--no-progress"]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing written
    (out / "points" / "000001.nc").unlink()  # a point left to run: refused as before
    (out / "sweep.nc").unlink()
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 2
    assert "cannot write in" in capsys.readouterr().err


def test_status_of_an_unfinished_read_only_sweep_says_to_resume_a_copy(study, tmp_path,
                                                                       monkeypatch, capsys):
    """`sweep status` of an unfinished sweep in a read-only folder said "finish with: v1model
    sweep resume OUT", which was then refused with "cannot write in ...": it says the folder
    cannot be written, and to resume a writable copy."""
    out, flag = tmp_path / "out", tmp_path / "fail"
    flag.touch()
    run(study(), {"x": [1.0, 2.0]}, params={"fail_x": 2.0, "fail_flag": str(flag)},
        executor="serial", output=out, progress=False)
    (out / "points" / "000000.nc").unlink()  # one pending, one failed
    (out / "sweep.nc").unlink()
    real_access = os.access  # what a read-only mount does (as root, chmod would not)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if (
        mode & os.W_OK and str(path).startswith(str(out))) else real_access(path, mode, **kw))
    assert main(["sweep", "status", str(out)]) == 0
    text = capsys.readouterr().out
    assert "resume " + str(out) not in text and "retry-failed" not in text
    assert (f"  read-only folder: cannot write in {str(out)!r}: Permission denied: to finish "
            f"the sweep, copy the folder to one you can write (cp -r {out} COPY) and resume "
            "the copy (v1model sweep resume COPY)") in text.splitlines()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    assert "cannot write in" in json.loads(capsys.readouterr().out)["read_only"]
    monkeypatch.setattr(os, "access", real_access)  # writable again: resume it here
    assert status(out).read_only is None
    assert f"finish with:     v1model sweep resume {out}" in status(out).summary()


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_resuming_a_finished_sweep_says_it_loaded_the_result_not_that_it_wrote_it(
        study, tmp_path, capsys, fmt):
    """A finished sweep resumed runs nothing and only loads its result (README: "writing
    it only if missing"): the command said "wrote sweep.nc" of a file it had not touched.
    Once the result is missing, it is written again and said so."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "out"\nformat = "{fmt}"\n'
                    '[sweep]\nx = [1.0, 2.0]\n[executor]\nkind = "serial"\n')
    out = tmp_path / "out"
    result = out / ("sweep.nc" if fmt == "netcdf" else "sweep.zarr")
    assert main(["sweep", "run", str(spec), "--no-progress"]) == 0
    assert f"wrote {result}" in capsys.readouterr().out
    before = result.stat().st_mtime_ns
    for command in (["sweep", "resume", str(out)], ["sweep", "run", str(spec)],
                    ["sweep", "retry-failed", str(out)]):
        assert main([*command, "--no-progress"]) == 0
        text = capsys.readouterr().out
        assert f"loaded {result}" in text and "wrote" not in text, (command, text)
    assert result.stat().st_mtime_ns == before
    if fmt == "netcdf":
        result.unlink()
    else:
        import shutil

        shutil.rmtree(result)
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 0
    assert f"wrote {result}" in capsys.readouterr().out and result.exists()


def test_a_finished_sweep_whose_result_was_cut_short_is_assembled_again(study, tmp_path):
    """A sweep folder copied with its sweep.nc cut short (an interrupted scp): every point
    is whole, so load() assembles them and resume() sets the file aside and writes it
    again, rather than both failing on the truncated file."""
    out = tmp_path / "out"
    ds = run(study(), {"x": [1.0, 2.0, 3.0]}, output=out, executor="serial", progress=False)
    data = (out / "sweep.nc").read_bytes()
    (out / "sweep.nc").write_bytes(data[: len(data) // 3])
    with pytest.warns(SweepWarning, match="cannot read .*assembled from the points"):
        loaded = load(out)
    xr.testing.assert_identical(comparable(loaded), comparable(ds))
    with pytest.warns(SweepWarning, match="moved to corrupt/"):
        resumed = resume(out, progress=False)
    xr.testing.assert_identical(comparable(resumed), comparable(ds))
    xr.testing.assert_identical(comparable(xr.load_dataset(out / "sweep.nc")), comparable(ds))
    assert [p.name.split(".")[0] for p in (out / "corrupt").iterdir()] == ["sweep"]


def test_a_cut_short_result_in_a_folder_that_cannot_be_written_is_assembled(study, tmp_path,
                                                                             monkeypatch):
    """The same in a read-only copy (os.access says so: the tests may run as root), where
    resume only loads and reports the result: it is assembled from the points."""
    out = tmp_path / "out"
    ds = run(study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    data = (out / "sweep.nc").read_bytes()
    (out / "sweep.nc").write_bytes(data[: len(data) // 3])
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode != os.W_OK)
    with pytest.warns(SweepWarning, match="cannot read .*assembled from the points"):
        resumed = resume(out, progress=False)
    xr.testing.assert_identical(comparable(resumed), comparable(ds))
    assert len((out / "sweep.nc").read_bytes()) == len(data) // 3  # untouched


def test_a_finished_sweep_whose_points_were_removed_stays_finished(study, tmp_path, capsys):
    """`rm -r OUTPUT/points` after a sweep (to save quota): status said "not assembled
    yet" and resume deleted the finished sweep.nc and ran every point again. The result
    stands for the removed files: complete, nothing run, nothing written; a retry that
    would need the removed points to assemble is refused, the result kept."""
    import shutil

    out, flag = tmp_path / "out", tmp_path / "fail"
    flag.touch()
    ds = run(study(), {"x": [1.0, 2.0, 3.0]}, params={"fail_x": 2.0, "fail_flag": str(flag)},
             executor="serial", output=out, progress=False)
    assert list(ds["status"].values) == ["ok", "failed", "ok"]
    result = out / "sweep.nc"
    before = result.stat().st_mtime_ns
    shutil.rmtree(out / "points")
    shutil.rmtree(out / "failed")
    st = status(out)
    assert (sorted(st.done), sorted(st.failed), st.pending) == ([0, 2], [1], [])
    assert st.complete and st.result == result and st.removed == {0, 2}
    assert st.failed[1]["params"] == {"x": 2.0} and "boom at x=2.0" in st.failed[1]["error"]
    assert "not assembled yet" not in st.summary() and "2 done points removed" in st.summary()
    assert "retry-failed needs the removed files" in st.summary()
    xr.testing.assert_identical(resume(out, progress=False), ds)
    xr.testing.assert_identical(load(out), ds)
    assert main(["sweep", "resume", str(out), "--no-progress", "--no-plot"]) == 1
    printed = capsys.readouterr().out
    assert f"loaded {result}" in printed
    # the command it suggested would be refused
    assert "retry-failed needs the point files" in printed and "run them again" not in printed
    with pytest.raises(SpecError, match="only sweep.nc holds them"):
        retry_failed(out, progress=False)
    assert result.stat().st_mtime_ns == before and not (out / "points").exists()
