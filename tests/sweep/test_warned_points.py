"""What a sweep keeps of its points' warnings: each warning one entry of the
``warnings`` variable, however many lines its message has, and ``sweep status``
counting the points done that warned.

A message of several lines was joined into the "one per line" text as it was, so its
second line read as another warning (one that names no category, or, for a message
quoting a warning, a false one); and ``status`` listed the points whose solver did not
converge among the done, without a word.
"""

import json
import re
import shutil
import sys
import warnings

from v1model.sweep import load, run, status


def _run(study, name, values, out, **params):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        return run(study(name), {"x": values}, params=params or None, executor="serial",
                   output=out, progress=False)


def test_a_message_of_several_lines_stays_one_warning_in_the_saved_result(study, tmp_path):
    out = tmp_path / "sweep"
    _run(study, "warns_lines", [1.0], out)
    text = str(load(out)["warnings"].values[0])
    # each warning begins a line with no indent, its message's other lines indented
    starts = [line for line in text.split("\n") if not line.startswith(" ")]
    assert len(starts) == 2, text
    assert starts[0].startswith("UserWarning: table at x=1.0:")
    assert starts[1].startswith("RuntimeWarning: x=1.0 is fine")
    assert text.splitlines() == text.split("\n")  # the "\r\n" is one break, not two
    # and read back whole, the message's own lines (and the row's own indent) as raised
    from v1model.sweep import split_warnings

    first, second = split_warnings(text)
    assert re.fullmatch(r"UserWarning: table at x=1\.0:\nUserWarning: not a warning\n"
                        r"  indented row \(at .*_studies\.py:\d+\)", first), first
    assert re.fullmatch(r"RuntimeWarning: x=1\.0 is fine \(at .*_studies\.py:\d+\)",
                        second), second
    assert split_warnings("") == []
    # and `sweep status` lists the point by its first warning's first line
    assert "  warned point 0 (x=1.0): UserWarning: table at x=1.0: ... (and 1 more)" in \
        status(out).summary().splitlines()


def test_status_counts_the_points_done_that_warned(study, tmp_path):
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    # x=1 silent, x=2 warns, x=3 warns then fails
    _run(study, "warns_some", [1.0, 2.0, 3.0], out, fail_flag=str(flag))
    st = status(out)
    assert st.done == {0, 1} and set(st.failed) == {2}
    assert set(st.warned) == {1}
    assert re.fullmatch(r"RuntimeWarning: solver did not converge at x=2\.0 \(at .*\)",
                        st.warned[1])
    assert "did not converge at x=3.0" in st.failed[2]["warnings"]  # in its record
    lines = st.summary().splitlines()
    assert "  warned   1 of the done (the `warnings` variable of the result)" in lines
    assert any(line.startswith("  warned point 1 (x=2.0): RuntimeWarning: solver did not "
                               "converge at x=2.0") for line in lines), lines


def test_status_json_and_a_finished_sweep_without_its_point_files_keep_them(
        study, tmp_path, capsys):
    from v1model.cli import main

    out = tmp_path / "sweep"
    _run(study, "warns_some", [1.0, 2.0, 3.0], out)
    shutil.rmtree(out / "points")  # to save quota: the result stands for them
    st = status(out)
    assert st.complete and st.removed == {0, 1, 2}
    assert sorted(st.warned) == [1, 2]
    capsys.readouterr()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    warned = json.loads(capsys.readouterr().out)["warned"]
    assert sorted(warned) == ["1", "2"]
    assert "did not converge at x=3.0" in warned["2"]


def _replicated(study, out, fail_flag, **kw):
    # two replicates of x in (1, 2, 3): x=2 warns, x=3 warns then fails
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        return run(study("warns_some"), {"x": [1.0, 2.0, 3.0]}, n_seeds=2,
                   params={"fail_flag": str(fail_flag)}, executor="serial", output=out,
                   progress=False, **kw)


def test_status_names_the_failed_and_warned_points_by_their_values(study, tmp_path, capsys):
    """The failed replicates of one combination were listed alike (``failed point 4
    (x=3.0)`` and ``failed point 5 (x=3.0)``: no replicate), and a warned point by its
    index alone (``warned point 2: ...``)."""
    from v1model.cli import main

    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    _replicated(study, out, flag)
    st = status(out)
    assert set(st.failed) == {4, 5} and set(st.warned) == {2, 3}
    lines = st.summary().splitlines()
    for index, replicate in ((4, 0), (5, 1)):
        assert f"  failed point {index} (x=3.0, replicate={replicate}): ValueError: " \
               "diverged at x=3.0" in lines, lines
    for index, replicate in ((2, 0), (3, 1)):
        assert f"  warned point {index} (x=2.0, replicate={replicate}): RuntimeWarning: " \
               "solver did not converge at x=2.0" in " ".join(lines), lines
    # each the point of the result that holds it
    ds = load(out)
    for index, values in st.coordinates.items():
        assert ds["status"].sel(values).item() == ("failed" if index in st.failed else "ok")
    capsys.readouterr()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coordinates"] == {
        "2": {"x": 2.0, "replicate": 0}, "3": {"x": 2.0, "replicate": 1},
        "4": {"x": 3.0, "replicate": 0}, "5": {"x": 3.0, "replicate": 1}}


def test_status_of_a_folder_whose_study_is_not_here_still_names_the_replicate(
        study, tmp_path, monkeypatch):
    """A sweep folder copied from the cluster, its study file left there: its points are
    named by the values its manifest records (the warned ones too: they had no name)."""
    flag = tmp_path / "fail"
    flag.touch()
    moved = tmp_path / "cluster" / "_studies.py"
    moved.parent.mkdir()
    shutil.copy(study("warns_some").rsplit(":", 1)[0], moved)
    out = tmp_path / "sweep"
    _replicated(lambda name: f"{moved}:{name}", out, flag)
    moved.unlink()
    for name, module in list(sys.modules.items()):  # as in a new `v1model sweep status`
        if getattr(module, "__file__", None) == str(moved.resolve()):
            monkeypatch.delitem(sys.modules, name)
    lines = status(out).summary().splitlines()
    assert "  failed point 5 (x=3.0, replicate=1): ValueError: diverged at x=3.0" in lines
    assert any(line.startswith("  warned point 3 (x=2.0, replicate=1): RuntimeWarning:")
               for line in lines), lines


def test_status_names_the_points_of_a_folder_moved_with_its_study_file(study, tmp_path):
    """README: a sweep begun on a laptop is finished on a cluster by copying the folder
    with its study file and giving the file's new path in its spec.toml, which `resume`
    accepts; `status` took that spec for one edited since, and listed the warned points
    by index alone, the replicates of one combination alike."""
    flag = tmp_path / "fail"
    flag.touch()
    laptop, cluster = tmp_path / "laptop", tmp_path / "cluster"
    laptop.mkdir()
    shutil.copy(study("warns_some").rsplit(":", 1)[0], laptop / "my_study.py")
    _replicated(lambda name: f"{laptop / 'my_study.py'}:{name}", laptop / "out", flag)
    laptop.rename(cluster)
    spec = cluster / "out" / "spec.toml"
    spec.write_text(spec.read_text().replace(str(laptop), str(cluster)))
    st = status(cluster / "out")
    assert st.coordinates == {2: {"x": 2.0, "replicate": 0}, 3: {"x": 2.0, "replicate": 1},
                              4: {"x": 3.0, "replicate": 0}, 5: {"x": 3.0, "replicate": 1}}
    lines = st.summary().splitlines()
    assert any(line.startswith("  warned point 3 (x=2.0, replicate=1): RuntimeWarning: ")
               for line in lines), lines


def test_sweep_run_ends_saying_how_many_points_warned(study, tmp_path, capsys):
    """`v1model sweep run` ended "3 ok, 0 failed, 0 pending of 3 points" after two points
    whose solver did not converge: their warnings had scrolled away up the job's log."""
    from v1model.cli import main

    out = tmp_path / "sweep"
    spec = tmp_path / "spec.toml"
    for values, folder in (("1.0, 2.0, 3.0", out), ("0.5, 1.0", tmp_path / "silent")):
        spec.write_text(f'study = "{study("warns_some")}"\noutput = "{folder}"\n'
                        f'[sweep]\nx = [{values}]\n[executor]\nkind = "serial"\n')
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("default")
            assert main(["sweep", "run", str(spec), "--no-progress", "--no-plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"3 ok, 0 failed, 0 pending of 3 points; 2 of the ok points warned "
                        f"(`v1model sweep status {out}` lists them)"), lines
    # and a sweep whose points did not warn ends as before
    assert "2 ok, 0 failed, 0 pending of 2 points" in lines, lines


def test_status_does_not_name_points_by_a_spec_edited_since(study, tmp_path):
    """A spec.toml whose grid was edited after the sweep began (which `resume` refuses)
    would give its points other values: their records' values are named instead."""
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    _replicated(study, out, flag)
    spec = out / "spec.toml"
    assert "x = [1.0, 2.0, 3.0]" in spec.read_text()
    spec.write_text(spec.read_text().replace("x = [1.0, 2.0, 3.0]", "x = [1.0, 2.0, 4.0]"))
    lines = status(out).summary().splitlines()
    assert "  failed point 5 (x=3.0, replicate=1): ValueError: diverged at x=3.0" in lines
    assert not any("x=4.0" in line for line in lines), lines


def test_status_of_a_manifest_without_the_grid_shape_names_no_replicate(study, tmp_path):
    """The fallback labels took the replicate from the manifest's shape, whose last entry
    a manifest with dims but no shape (none that v1model wrote: both came in together;
    one edited or written by hand) lacks: status raised an IndexError. In a folder begun
    before the manifest recorded the grid's values, with its spec.toml edited since, its
    failed points are named by their records' values, without a replicate it cannot know,
    once the assembled result is gone; with it, every point (the warned ones too, left
    unnamed) by the result's coordinates."""
    flag = tmp_path / "fail"
    flag.touch()
    out = tmp_path / "sweep"
    _replicated(study, out, flag)
    spec = out / "spec.toml"  # edited since: the labels come from the fallback
    spec.write_text(spec.read_text().replace("x = [1.0, 2.0, 3.0]", "x = [1.0, 2.0, 4.0]"))
    manifest = out / "sweep.json"
    info = json.loads(manifest.read_text())
    assert info["dims"] == ["x", "replicate"] and info["shape"] == [3, 2]
    info.pop("axes", None), info.pop("n_seeds", None)  # a folder begun before they were kept
    named = {2: {"x": 2.0, "replicate": 0}, 3: {"x": 2.0, "replicate": 1},
             4: {"x": 3.0, "replicate": 0}, 5: {"x": 3.0, "replicate": 1}}
    for shape in (None, [], [3], [3, 0], [3, "two"]):  # absent, short, or not a count
        if shape is None:
            info.pop("shape", None)
        else:
            info["shape"] = shape
        manifest.write_text(json.dumps(info))
        st = status(out)
        assert st.coordinates == named, (shape, st.coordinates)
        assert "  failed point 5 (x=3.0, replicate=1): ValueError: diverged at x=3.0" in \
            st.summary().splitlines()
    (out / "sweep.nc").rename(tmp_path / "set-aside.nc")
    st = status(out)
    assert st.coordinates == {4: {"x": 3.0}, 5: {"x": 3.0}}, st.coordinates
    assert "  failed point 5 (x=3.0): ValueError: diverged at x=3.0" in \
        st.summary().splitlines()
