"""The warnings a point raises reach the sweep's user naming the point, from any executor.

From the local pool they went to the worker's stderr as Python prints them, naming no
point and, for a warning whose ``stacklevel`` passes over the study, a line of
concurrent/futures/process.py; from the serial executor a line of
v1model/sweep/runner.py. They are now caught around each point, carried back with its
outcome and raised again in the sweep's process, at the user's line, led by
``point I (x=...)``.
"""

import re
import threading
import warnings

import pytest
import xarray as xr

from v1model.sweep import SpecError, SweepWarning, load, retry_failed, run
from v1model.sweep.point_warnings import MAX_POINT_WARNINGS, collect_warnings, portable


def _sweep(study, executor, **params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        ds = run(study("warns"), {"x": [1.0, 2.0]}, params=params or None,
                 executor=executor, progress=False)
    assert list(ds["status"].values) == ["ok", "ok"]
    return caught


@pytest.mark.parametrize("executor", ["serial", {"kind": "local", "workers": 1}])
def test_each_point_warning_names_the_point_and_the_users_line(study, executor):
    caught = _sweep(study, executor)
    texts = sorted(str(w.message) for w in caught)
    assert len(texts) == 6, texts  # 3 warnings of each of the 2 points, none lost
    for index, x in enumerate([1.0, 2.0]):
        mine = [w for w in caught if str(w.message).startswith(f"point {index} (x={x!r}): ")]
        assert len(mine) == 3, texts
        large = [w for w in mine if f"x={x} is large" in str(w.message)]
        # the study file's own class is not importable where the sweep runs: its base
        assert len(large) == 1 and large[0].category is RuntimeWarning
        # the study's own line is named after the message; the line past it is not
        assert "_studies.py:" in str(large[0].message)
        below = [w for w in mine if "from below the study" in str(w.message)]
        assert len(below) == 1 and str(below[0].message).endswith("from below the study")
    # every one at the line that started the sweep (in _sweep, above)
    assert {w.filename for w in caught} == {__file__}


def test_the_users_line_is_judged_where_the_point_ran(monkeypatch):
    """A pool worker may import v1model from another folder than the sweep's process
    (the checkout beside an installed copy, as in a fresh CI venv): a library line the
    worker caught was judged against the parent's folders and shown as the user's line
    ("from below the study (at .../v1model/sweep/point.py:157)")."""
    from v1model.sweep import point_warnings
    from v1model.sweep.point import PointOutcome

    library_line = point_warnings.__file__.replace("point_warnings.py", "point.py")
    caught = [(UserWarning, "from below", library_line, 157),
              (UserWarning, "mine", "/home/me/my_study.py", 8)]
    kept, dropped = portable(caught)  # in the worker
    assert [w.filename for w in kept] == ["", "/home/me/my_study.py"] and dropped == 0
    # the sweep's process imported the library from elsewhere
    monkeypatch.setattr(point_warnings, "_LIBRARY_DIRS", ("/site-packages/v1model",))

    class Grid:
        def coordinates(self, index):
            return {"x": 1.0}

    outcome = PointOutcome(index=0, ok=True, warnings=kept)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        point_warnings.show_point_warnings(outcome, Grid())
    assert [str(w.message) for w in shown] == [
        "point 0 (x=1.0): from below", "point 0 (x=1.0): mine (at /home/me/my_study.py:8)"]


def test_repeats_merged_and_a_point_with_many_warnings_is_cut_short(study):
    caught = _sweep(study, "serial", n_distinct=MAX_POINT_WARNINGS + 5, repeats=3)
    point0 = [str(w.message) for w in caught if str(w.message).startswith("point 0 ")]
    # 25 distinct messages, each 3 times, + 2 more: the first 20 distinct, then a count
    assert len(point0) == MAX_POINT_WARNINGS + 1
    assert len(set(point0)) == len(point0)
    cut = [w for w in caught if "more warning(s) not shown" in str(w.message)]
    assert len(cut) == 2 and all(w.category is SweepWarning for w in cut)
    assert "point 0 (x=1.0): 7 more warning(s) not shown" in str(cut[0].message)


def test_showwarning_is_restored_after_the_sweep(study):
    before = warnings.showwarning
    _sweep(study, "serial")
    assert warnings.showwarning is before


def test_points_running_at_once_in_threads_each_keep_their_warning():
    """A dask worker runs points in threads of one process: a warning of one point
    went to the other's list, or was hidden by the other's having shown it."""
    barrier = threading.Barrier(2)
    results = {}

    def point(name):
        with collect_warnings() as caught:
            barrier.wait()
            warnings.warn("the same warning, at the same line", UserWarning)
            barrier.wait()  # both have warned before either stops collecting
        results[name] = portable(caught)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        threads = [threading.Thread(target=point, args=(name,)) for name in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    for name in "ab":
        kept, dropped = results[name]
        assert [w.message for w in kept] == ["the same warning, at the same line"]
        assert dropped == 0


def test_warning_outside_a_point_passes_through_while_points_collect():
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda *args, **kw: shown.append(str(args[0]))
        ready, done = threading.Event(), threading.Event()

        def point():
            with collect_warnings():
                ready.set()
                done.wait(10)

        t = threading.Thread(target=point)
        t.start()
        ready.wait(10)
        warnings.warn("not a point's", UserWarning)
        done.set()
        t.join(10)
    assert shown == ["not a point's"]


def test_a_hook_put_back_after_the_points_ended_passes_warnings_on():
    """A catch_warnings that began while a point collected (another thread's) puts the
    hook back when it ends, after the point: it then has no point to collect for."""
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda *args, **kw: shown.append(str(args[0]))
        with collect_warnings():
            inner = warnings.catch_warnings()
            inner.__enter__()  # saves the hook
        inner.__exit__(None, None, None)  # and puts it back, the point over
        warnings.warn("after the points", UserWarning)
    assert shown == ["after the points"]


def test_a_warning_repeated_in_a_loop_is_kept_once_while_the_point_runs():
    """Each repeat was appended while the point ran (Python's memory of what was shown
    is forgotten at every warning, so that points in threads each see theirs): a study
    warning at every step of a loop of 10^6 held 10^6 tuples and messages until the
    point ended, portable() then keeping one. A repeat is now kept once, as it comes;
    distinct warnings are all kept, in order, and portable() counts them as before."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        with collect_warnings() as caught:
            for step in range(5000):
                warnings.warn("step did not converge", UserWarning)
                if step < 3:
                    warnings.warn(f"step {step} is odd", UserWarning)
    assert [message for _, message, _, _ in caught] == [
        "step did not converge", "step 0 is odd", "step 1 is odd", "step 2 is odd"]
    kept, dropped = portable(caught)
    assert [w.message for w in kept] == [message for _, message, _, _ in caught]
    assert dropped == 0


# -- kept in the result: which points warned, after the terminal is gone --------------

def _converge_text(x):
    """The line a ``warns_some`` point keeps for its warning (its study line named)."""
    return (rf"RuntimeWarning: solver did not converge at x={x} "
            rf"\(at .*_studies\.py:\d+\)")


def _assert_kept(ds, failed_too=True):
    kept = [str(v) for v in ds["warnings"].values]
    assert ds["warnings"].dims == ("x",)
    assert kept[0] == ""  # a point that raised none
    assert re.fullmatch(_converge_text(2.0), kept[1]), kept
    if failed_too:  # raised before the point failed: kept with its error
        assert list(ds["status"].values) == ["ok", "ok", "failed"]
        assert re.fullmatch(_converge_text(3.0), kept[2]), kept
    # text has no units: "1" said the texts were dimensionless numbers
    assert not {"units"} & (set(ds["warnings"].attrs) | set(ds["status"].attrs)
                            | set(ds["error"].attrs))
    assert ds["warnings"].attrs["long_name"].startswith("warnings the point raised")


@pytest.mark.parametrize("fmt, engine", [("netcdf", "h5netcdf"), ("netcdf", "netcdf4"),
                                         ("zarr", None)])
def test_each_points_warnings_are_kept_in_the_saved_result(study, tmp_path, fmt, engine):
    """The warnings were shown as the points finished, then lost: a user reloading
    sweep.nc could not tell which points warned (a solver that did not converge)."""
    if engine is not None:
        pytest.importorskip(engine.replace("netcdf4", "netCDF4"))
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        ds = run(study("warns_some"), {"x": [1.0, 2.0, 3.0]}, params={"fail_flag": str(flag)},
                 executor="serial", output=out, format=fmt, progress=False)
    _assert_kept(ds)
    # and read back from the file, by either netCDF library (netCDF-C's too), and by
    # sweep.load
    if engine is not None:
        with xr.open_dataset(out / "sweep.nc", engine=engine) as saved:
            _assert_kept(saved.load())
            assert saved["warnings"].values.tolist() == ds["warnings"].values.tolist()
    _assert_kept(load(out))


def test_a_result_whose_text_has_units_reloads_without_them(study, tmp_path):
    """sweep.nc written before the text variables lost their units "1" reloads with
    none, as one assembled now, its texts unchanged."""
    from v1model.io import save_dataset

    out = tmp_path / "sweep"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        run(study("warns_some"), {"x": [1.0, 2.0]}, executor="serial", output=out,
            progress=False)
    with xr.open_dataset(out / "sweep.nc") as saved:
        old = saved.load()
    for name in ("status", "error", "warnings"):
        old[name].attrs["units"] = "1"
    save_dataset(old, out / "sweep.nc")
    with xr.open_dataset(out / "sweep.nc") as saved:
        assert saved["status"].attrs["units"] == "1"  # an old file indeed
    back = load(out)
    _assert_kept(back, failed_too=False)
    assert back["status"].values.tolist() == ["ok", "ok"]


def test_warnings_kept_without_an_output_folder(study):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        ds = run(study("warns_some"), {"x": [1.0, 2.0]}, executor="serial", progress=False)
    _assert_kept(ds, failed_too=False)


def test_warnings_of_points_from_two_runs_are_merged_on_retry(study, tmp_path):
    """retry-failed assembles the points saved by the first run (their warnings read
    from their files) with the one it runs again."""
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        run(study("warns_some"), {"x": [1.0, 2.0, 3.0]}, params={"fail_flag": str(flag)},
            executor="serial", output=out, progress=False)
        flag.unlink()
        ds = retry_failed(out, progress=False)
    assert list(ds["status"].values) == ["ok", "ok", "ok"]
    _assert_kept(ds, failed_too=False)
    assert re.fullmatch(_converge_text(3.0), str(ds["warnings"].values[2]))
    _assert_kept(load(out), failed_too=False)


def test_a_point_with_many_warnings_keeps_the_first_and_a_count(study):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        ds = run(study("warns"), {"x": [1.0]}, params={"n_distinct": MAX_POINT_WARNINGS + 5},
                 executor="serial", progress=False)
    lines = str(ds["warnings"].values[0]).split("\n")
    # 25 messages + the study's own 2: the first 20, then how many more
    assert len(lines) == MAX_POINT_WARNINGS + 1
    assert lines[0].startswith("UserWarning: message 0 (at ")
    assert lines[-1] == "and 7 more warning(s)"


def test_a_parameter_named_warnings_cannot_be_swept(study):
    # it would be a coordinate of the same name as the per-point variable
    with pytest.raises(SpecError, match=r"^sweep.warnings: 'warnings' cannot be swept"):
        run(study("kwargs_study"), {"warnings": [1.0, 2.0]}, executor="serial",
            progress=False)
