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
    assert "  warned point 0: UserWarning: table at x=1.0: ... (and 1 more)" in \
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
    assert any(line.startswith("  warned point 1: RuntimeWarning: solver did not converge "
                               "at x=2.0") for line in lines), lines


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
