"""The warnings of the sweep's runner and executors name the user's line, whether the user
called the public function directly or through another function of the package.

They had fixed stack levels, each right for one way in at most: ``resume`` and ``run``
named a line of v1model/sweep/runner.py (levels counted from ``run_spec``), a direct
``check_can_start`` the line above the user's, ``DaskExecutor.check_submission`` a line of
executors.py, and ``load`` or ``LocalExecutor.check_submission`` called by the package
the package's line; :func:`v1model._frames.user_stacklevel` finds the first frame outside
the package. (``JobQueueExecutor.resubmit``'s warning keeps its fixed level: the sweep's
watch thread calls it, and no frame of that thread is the user's.)
"""

import json
import os
import shutil
from contextlib import nullcontext

import pytest

from v1model.sweep import DaskExecutor, LocalExecutor, SweepWarning, load, make_executor, \
    resume, run
from v1model.sweep.studyref import StudyRef

#: a study whose default ``tol`` a test changes (an upgrade of v1model changing a default)
STUDY_WITH_TOL = '''
import xarray as xr


def run(quick=False, seed=0, x=1.0, tol=0.01):
    return xr.Dataset({"y": ((), x * tol)}, attrs={"tol": tol})
'''


def _finished(study, tmp_path, ref=None):
    """A finished two-point sweep folder of ``ref`` (the tiny test study by default)."""
    out = tmp_path / "out"
    run(ref or study(), {"x": [1.0, 2.0]}, output=out, executor="serial", progress=False)
    return out


def _cut_short(out):
    data = (out / "sweep.nc").read_bytes()
    (out / "sweep.nc").write_bytes(data[: len(data) // 3])  # an interrupted copy
    return out


def _points_removed_and_result_damaged(out):
    shutil.rmtree(out / "points")
    os.truncate(out / "sweep.nc", 100)
    return out


def _oversubscribed(monkeypatch, executor):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    return executor.check_submission, (), {}  # what `sweep run --dry-run` calls


def _lifetime_past_walltime(monkeypatch, tmp_path):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # stops at sbatch, after the checks
    executor = make_executor({"kind": "slurm", "cores": 2, "memory": "1GB", "jobs": 1,
                              "walltime": "01:00:00",
                              "worker_extra_args": ["--lifetime", "110m"]})
    return executor.check_can_start, (), {}


def _cut_short_read_only(tmp_path, study, monkeypatch):
    out = _cut_short(_finished(study, tmp_path))
    # os.access says the folder cannot be written (the tests may run as root)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: mode != os.W_OK)
    return resume, (out,), dict(progress=False)


def _begun_with_tol(tmp_path, monkeypatch, changed):
    """A sweep folder of STUDY_WITH_TOL with one point left to run, its study's default
    tol changed since it began (``changed``) or its record of the defaults removed."""
    path = tmp_path / "study_with_tol.py"
    path.write_text(STUDY_WITH_TOL)
    out = _finished(None, tmp_path, ref=f"{path}:run")
    (out / "points" / "000001.nc").unlink()
    (out / "sweep.nc").unlink()
    if changed:
        monkeypatch.setattr(StudyRef(f"{path}:run").function(), "__defaults__",
                            (False, 0, 1.0, 0.2))
    else:
        info = json.loads((out / "sweep.json").read_text())
        del info["study_defaults"]
        (out / "sweep.json").write_text(json.dumps(info))
    return out


#: name -> (make(tmp_path, study, monkeypatch) -> (function, args, kwargs), the start of
#: the message, an error the call raises after warning or None)
WARNING_CALLS = {
    "LocalExecutor.check_submission: more threads than CPUs": (
        lambda tmp_path, study, mp: _oversubscribed(
            mp, LocalExecutor(workers=2, threads_per_worker=2)),
        r"executor kind 'local': workers \(2\) x threads_per_worker \(2\)", None),
    "DaskExecutor.check_submission: more threads than CPUs": (
        lambda tmp_path, study, mp: _oversubscribed(
            mp, DaskExecutor(n_workers=1, threads_per_worker=3)),
        r"executor kind 'dask': n_workers \(1\) x threads_per_worker \(3\)", None),
    "JobQueueExecutor.check_can_start: a lifetime past the walltime": (
        lambda tmp_path, study, mp: _lifetime_past_walltime(mp, tmp_path),
        r"executor\.worker_extra_args: --lifetime 110m retires the workers", "not on PATH"),
    "load: a result cut short": (
        lambda tmp_path, study, mp: (load, (_cut_short(_finished(study, tmp_path)),), {}),
        r".*; the result is assembled from the points \(`v1model sweep resume`", None),
    "load: a damaged result and no point file": (
        lambda tmp_path, study, mp: (
            load, (_points_removed_and_result_damaged(_finished(study, tmp_path)),), {}),
        r".*: the assembled result is damaged and no point file is left .* are pending",
        None),
    "resume: a result cut short": (
        lambda tmp_path, study, mp: (
            resume, (_cut_short(_finished(study, tmp_path)),), dict(progress=False)),
        r".*; it was moved to corrupt/ and is assembled again from the points", None),
    "resume: a damaged result and no point file": (
        lambda tmp_path, study, mp: (
            resume, (_points_removed_and_result_damaged(_finished(study, tmp_path)),),
            dict(progress=False)),
        r".*: the assembled result is damaged .* 2 point\(s\) run again", None),
    "resume: a result cut short in a folder it cannot write": (
        _cut_short_read_only, r".*; the result is assembled from the points$", None),
    "resume: a folder begun before the defaults were recorded": (
        lambda tmp_path, study, mp: (
            resume, (_begun_with_tol(tmp_path, mp, changed=False),), dict(progress=False)),
        r".*: this sweep folder was begun before sweeps recorded the study's defaults",
        None),
    "resume: changed defaults, allowed": (
        lambda tmp_path, study, mp: (
            resume, (_begun_with_tol(tmp_path, mp, changed=True),),
            dict(progress=False, allow_changed_defaults=True)),
        r".*: the study's defaults changed since the sweep began \(tol: 0\.01", None),
    # run into the folder of the same sweep: the missing points only, through run_spec
    "run: an unreadable point file": (
        lambda tmp_path, study, mp: (
            run, (study(), {"x": [1.0, 2.0]}),
            dict(output=_unreadable_point(_finished(study, tmp_path)), executor="serial",
                 progress=False)),
        r"1 unreadable or incomplete file\(s\) in .* were moved to corrupt/", None),
}


def _unreadable_point(out):
    (out / "points" / "000001.nc").write_bytes(b"\x89HDF\r\n\x1a\n half a file")
    return out


@pytest.mark.parametrize("nested", [False, True], ids=["direct", "through the package"])
@pytest.mark.parametrize("case", list(WARNING_CALLS))
def test_sweep_warnings_name_the_callers_file(case, nested, call_from_the_package, study,
                                              tmp_path, monkeypatch):
    make, match, error = WARNING_CALLS[case]
    function, args, kwargs = make(tmp_path, study, monkeypatch)
    with pytest.warns(SweepWarning, match=match) as record:
        with pytest.raises(Exception, match=error) if error else nullcontext():
            if nested:
                call_from_the_package(function, *args, **kwargs)
            else:
                function(*args, **kwargs)
    assert [w.filename for w in record if w.category is SweepWarning] == [__file__]
