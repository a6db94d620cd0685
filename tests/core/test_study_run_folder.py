"""`v1model study run` into a folder that holds an earlier result or another run."""

import os

import numpy as np
import pytest
import xarray as xr

from v1model.cli import main
from v1model.io import load_dataset


def test_a_plot_that_stops_leaves_no_figure_of_the_previous_result(tmp_path, monkeypatch):
    import studies.olshausen_field_1996 as study

    out = tmp_path / "res"
    out.mkdir()
    (out / f"{study.NAME}.nc").write_text("the previous result")
    for name in ("atoms", "learning_curve", "coefficients"):
        (out / f"{study.NAME}_{name}.png").write_bytes(b"previous figure")
        os.utime(out / f"{study.NAME}_{name}.png", (1e9, 1e9))
    (out / "notes.png").write_bytes(b"the user's own file")
    result = xr.Dataset({"d": ("atom", np.arange(3.0))})
    monkeypatch.setattr(study, "run", lambda **kwargs: result)

    def plot(ds, outdir):
        (outdir / f"{study.NAME}_atoms.png").write_bytes(b"new figure")
        raise KeyboardInterrupt  # Ctrl-C while the second figure is drawn

    monkeypatch.setattr(study, "plot", plot)
    assert main(["study", "run", study.NAME, "--out", str(out)]) == 130  # interrupted
    xr.testing.assert_identical(load_dataset(out / f"{study.NAME}.nc").drop_attrs(), result)
    # the new result may stand with its own figure, never beside the old run's
    assert sorted(p.name for p in out.iterdir()) == [
        ".lock", "notes.png", f"{study.NAME}.nc", f"{study.NAME}_atoms.png"]
    assert (out / f"{study.NAME}_atoms.png").read_bytes() == b"new figure"


def test_a_plot_that_fails_keeps_the_result_and_says_so(tmp_path, monkeypatch, capsys):
    """A failing plot was reported as a refused argument (exit 2, "error: ..."), without
    the result it had saved: the run's own failure is exit 1, and the result is named."""
    import studies.olshausen_field_1996 as study

    out = tmp_path / "res"
    result = xr.Dataset({"d": ("atom", np.arange(3.0))})
    monkeypatch.setattr(study, "run", lambda **kwargs: result)

    def plot(ds, outdir):
        raise ValueError("no finite value to draw")

    monkeypatch.setattr(study, "plot", plot)
    assert main(["study", "run", study.NAME, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert f"wrote {out / study.NAME}.nc" in captured.out, captured.out
    assert "plotting failed (ValueError: no finite value to draw); the result is saved" \
        in captured.err, captured.err
    xr.testing.assert_identical(load_dataset(out / f"{study.NAME}.nc").drop_attrs(), result)


def test_a_held_folder_names_the_run_that_holds_it(tmp_path, capsys):
    from v1model.locking import folder_lock

    out = tmp_path / "shared-out"
    with folder_lock(out, field="--out", what="run of sae-natural-patches"):
        assert main(["study", "run", "sae-amortization-gap", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sae-natural-patches" in err, err
    assert "run of sae-amortization-gap" not in err, err


def test_check_can_create_and_folder_lock_word_one_cause_alike(tmp_path, monkeypatch):
    # the dry run's check named the folder in full ('/tmp/.../afile/out') where the run's
    # lock named it as given ('afile/out'), and a folder that is a file "Not a
    # directory" where the lock said "is a file"
    from v1model.locking import check_can_create, folder_lock

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    for path, message in (("afile/out", "--out: cannot write in 'afile/out': Not a directory"),
                          ("afile", "--out: 'afile' is a file; a sweep run writes into a "
                                    "folder")):
        for call in (lambda: check_can_create(path, field="--out"),
                     lambda: folder_lock(path, field="--out").__enter__()):
            with pytest.raises(ValueError) as info:
                call()
            assert str(info.value) == message


def test_a_busy_folder_without_flock_names_the_holder_as_a_run(tmp_path, monkeypatch):
    # on a file system without flock the message called the holder "another run of
    # sae-amortization-gap", this run's own kind, whatever the holder ran
    import errno
    import fcntl
    import socket

    from v1model.locking import OutputLockedError, folder_lock

    def no_flock(fh, how):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = tmp_path / "out"
    out.mkdir()
    other = "node17" if socket.gethostname() != "node17" else "node18"
    (out / ".lock.pid").write_text(f"pid 4242 on {other}\n")
    with pytest.raises(OutputLockedError) as info, \
            folder_lock(out, field="--out", what="run of sae-amortization-gap"):
        pass
    assert str(info.value) == (
        f"--out: {str(out)!r} is in use by another run (pid 4242 on {other}); wait for it to "
        f"finish or stop it; this file system has no flock, so the lock is the file "
        f"{str(out / '.lock.pid')!r}: delete it if that run is no longer running")


def test_a_refused_parameter_leaves_none_of_the_folders_it_created(tmp_path):
    out = tmp_path / "results" / "mine" / "ar"
    assert main(["study", "run", "activity-ratio", "--quick", "--out", str(out),
                 "-p", "n_lams=1"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_repeated_contrasts_are_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "zr"
    assert main(["study", "run", "zhu-rozell-2013-ncrf", "--quick", "--out", str(out),
                 "-p", "contrasts=[0.1,0.5,1.0,1.0]"]) == 2
    assert "contrasts must not repeat" in capsys.readouterr().err
    assert not out.exists()


def test_the_image_source_is_recorded_as_an_absolute_path(tmp_path, monkeypatch):
    from studies._checks import image_source_attr

    (tmp_path / "imgs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert image_source_attr("imgs") == str(tmp_path / "imgs")
    assert image_source_attr("skimage") == "skimage"


# imageio, trying its plugins on the damaged file, loads one that warns of its own deprecation
@pytest.mark.filterwarnings("ignore:The legacy `DICOM` plugin:DeprecationWarning")
def test_a_damaged_png_is_called_damaged_not_a_missing_plugin(tmp_path):
    from stimuli import load_images

    # a web page saved under an image's name: the usual "image" that is none
    (tmp_path / "broken.png").write_bytes(b"<html><body>404 Not Found</body></html>")
    with pytest.raises(ValueError, match="broken.png.*not a readable image") as info:
        load_images(tmp_path / "broken.png")
    assert "pip install" not in str(info.value)


def test_a_folder_that_turns_read_only_during_the_run_keeps_the_result(tmp_path, monkeypatch,
                                                                        capsys):
    """The output folder made read-only while the study ran (a remount, a quota, changed
    permissions): removing the previous result raised first, and the result computed in
    memory was lost without a word. It goes to the temporary folder, named."""
    import errno
    import re
    from pathlib import Path

    import studies.olshausen_field_1996 as study
    import v1model.io

    out = tmp_path / "res"
    out.mkdir()
    (out / f"{study.NAME}.nc").write_text("the previous result")
    result = xr.Dataset({"d": ("atom", np.arange(3.0))})
    monkeypatch.setattr(study, "run", lambda **kwargs: result)
    monkeypatch.setattr(study, "plot", lambda ds, outdir: [])

    def read_only(path):
        return OSError(errno.EROFS, "Read-only file system", str(path))

    real_unlink, real_save = Path.unlink, v1model.io.save_dataset

    def unlink(self, missing_ok=False):
        if self.parent == out and self.name != ".lock":
            raise read_only(self)
        return real_unlink(self, missing_ok=missing_ok)

    def save_dataset(ds, path):
        if Path(path).parent == out:
            raise read_only(path)
        return real_save(ds, path)

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr(v1model.io, "save_dataset", save_dataset)
    assert main(["study", "run", study.NAME, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    found = re.search(r"Read-only file system.*the result was saved to '(.+\.nc)' instead", err)
    assert found, err
    kept = Path(found.group(1))
    try:
        xr.testing.assert_identical(load_dataset(kept).drop_attrs(), result)
    finally:
        real_unlink(kept)


def test_out_and_recorded_paths_expand_environment_variables(tmp_path, monkeypatch, capsys):
    # --out '$SCRATCH/res' (quoted, or from a script) made a folder literally named
    # "$SCRATCH" in the current one; an unset variable is refused, naming it
    import studies.olshausen_field_1996 as study
    from studies._checks import image_source_attr

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("V1MODEL_TEST_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.delenv("V1MODEL_TEST_UNSET", raising=False)
    result = xr.Dataset({"d": ("atom", np.arange(3.0))})
    monkeypatch.setattr(study, "run", lambda **kwargs: result)
    monkeypatch.setattr(study, "plot", lambda ds, outdir: [])
    assert main(["study", "run", study.NAME, "--out", "$V1MODEL_TEST_SCRATCH/res"]) == 0
    assert (tmp_path / "scratch" / "res" / f"{study.NAME}.nc").is_file()
    assert main(["study", "run", study.NAME, "--out", "${V1MODEL_TEST_UNSET}/res"]) == 2
    assert capsys.readouterr().err == (
        "v1model: error: --out: '${V1MODEL_TEST_UNSET}/res' uses the environment variable "
        "V1MODEL_TEST_UNSET, which is not set\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch"]
    # a result's attrs name the folder the variable stood for
    (tmp_path / "scratch" / "imgs").mkdir()
    assert image_source_attr("$V1MODEL_TEST_SCRATCH/imgs") == str(tmp_path / "scratch" / "imgs")


def test_o_is_short_for_out(tmp_path, monkeypatch):
    """`-o DIR` was refused as an unrecognized argument (two walks of the studies reached for
    it first); it is ``--out``."""
    import studies.olshausen_field_1996 as study

    result = xr.Dataset({"d": ("atom", np.arange(3.0))})
    monkeypatch.setattr(study, "run", lambda **kwargs: result)
    monkeypatch.setattr(study, "plot", lambda ds, outdir: [])
    assert main(["study", "run", study.NAME, "-o", str(tmp_path / "short")]) == 0
    xr.testing.assert_identical(
        load_dataset(tmp_path / "short" / f"{study.NAME}.nc").drop_attrs(), result)
