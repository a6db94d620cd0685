"""A relative path in a spec's [params] is relative to the spec file, as ``output`` is,
and the sweep folder records it absolute: a ``sweep resume`` from another directory
reads the files the sweep began with. It was passed as written: read from the current
directory, so that ``cd /tmp && v1model sweep run /tmp/a/sw.toml`` failed with "no such
folder: '../odd'" and a resume elsewhere could read another folder unsaid."""

from v1model.sweep import load_spec, parse_spec, resume
from v1model.sweep.storage import DirectoryStore
from v1model.sweep.tomlio import read_toml


def _folder(path, n_files):
    path.mkdir(parents=True)
    for i in range(n_files):
        (path / f"f{i}.wav").write_bytes(b"")
    return path


def test_a_relative_param_path_is_relative_to_the_spec_and_recorded_absolute(
        study, tmp_path, monkeypatch):
    data = _folder(tmp_path / "data", 3)  # beside the spec's folder
    _folder(tmp_path / "elsewhere" / "data", 1)  # what "../data" is from the cwd below
    (tmp_path / "a").mkdir()
    spec_path = tmp_path / "a" / "sw.toml"
    spec_path.write_text(f"""
study = "{study('reads_folder')}"
output = "out"
[params]
folder = "../data"
[sweep]
x = [1.0, 2.0]
[executor]
kind = "serial"
""")
    monkeypatch.chdir(_folder(tmp_path / "elsewhere" / "cwd", 0))
    spec = load_spec(spec_path)
    assert spec.params["folder"] == str(data)
    # the sweep begins (its folder is made), is stopped before any point, and is
    # resumed from yet another directory
    DirectoryStore.create_or_open(spec.output, spec)
    saved = read_toml(tmp_path / "a" / "out" / "spec.toml")
    assert saved["params"]["folder"] == str(data)
    monkeypatch.chdir(tmp_path / "elsewhere")
    ds = resume(tmp_path / "a" / "out", progress=False)
    assert (ds["status"] == "ok").all()
    assert ds["n_files"].values.tolist() == [3, 3]


def test_text_that_is_not_a_path_is_passed_as_written(study, tmp_path, monkeypatch):
    # a name (images = "skimage") holds no "/" and names nothing beside the spec
    monkeypatch.chdir(tmp_path)
    spec = load_spec(_spec(tmp_path, study, "skimage"))
    assert spec.params["folder"] == "skimage"
    # a name beside the spec is a path; an absolute one stays as it is
    _folder(tmp_path / "cwd" / "data", 2)
    spec = load_spec(_spec(tmp_path / "cwd", study, "data"))
    assert spec.params["folder"] == str(tmp_path / "cwd" / "data")
    spec = load_spec(_spec(tmp_path, study, "/no/such/folder"))
    assert spec.params["folder"] == "/no/such/folder"


def test_python_sweeps_resolve_against_the_current_directory(study, tmp_path, monkeypatch):
    _folder(tmp_path / "data", 2)
    monkeypatch.chdir(tmp_path)
    spec = parse_spec({"study": study("reads_folder"), "sweep": {"x": [1.0]},
                       "params": {"folder": "./data"}})
    assert spec.params["folder"] == str(tmp_path / "data")


def test_a_folder_begun_with_the_path_as_written_is_the_same_sweep(study, tmp_path,
                                                                   monkeypatch):
    """A sweep folder created before the paths of [params] were made absolute holds the
    fingerprint of the path as written: running the same spec into it again carries on
    (it was refused as "holds another sweep")."""
    from v1model.sweep import run_spec

    _folder(tmp_path / "data", 2)
    spec_path = _spec(tmp_path / "a", study, "../data")
    with open(spec_path, "a") as f:
        f.write('[executor]\nkind = "serial"\n')
    monkeypatch.chdir(tmp_path / "a")  # where the old sweep ran: "../data" read the same
    old = load_spec(spec_path, output=tmp_path / "out", resolve_paths=False)
    assert old.params["folder"] == "../data"
    DirectoryStore.create_or_open(old.output, old)
    new = load_spec(spec_path, output=tmp_path / "out")
    assert new.params["folder"] == str(tmp_path / "data")
    assert DirectoryStore.check_folder(new.output, new)
    ds = run_spec(new, progress=False)
    assert ds["n_files"].values.tolist() == [2]


def _spec(folder, study, value):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sw.toml"
    path.write_text(f'study = "{study("reads_folder")}"\n[params]\nfolder = "{value}"\n'
                    '[sweep]\nx = [1.0]\n')
    return path


def test_a_glob_pattern_is_passed_as_written(tmp_path, monkeypatch):
    # pattern is relative to audio_dir: made absolute against the spec's folder, the
    # study refused it ("pattern must be a glob pattern relative to audio_dir")
    (tmp_path / "wavs" / "speaker").mkdir(parents=True)
    path = tmp_path / "sw.toml"
    path.write_text('study = "lewicki-2002-speech"\n[params]\naudio_dir = "wavs"\n'
                    'pattern = "*/*.wav"\n[sweep]\nlam = [0.5]\n')
    monkeypatch.chdir(tmp_path / "wavs")
    spec = load_spec(path)
    assert spec.params["pattern"] == "*/*.wav"
    assert spec.params["audio_dir"] == str(tmp_path / "wavs")


def test_resolve_paths_must_be_a_bool(tmp_path):
    import pytest

    from v1model.sweep import SpecError

    with pytest.raises((TypeError, ValueError, SpecError), match="resolve_paths"):
        parse_spec({"study": "olshausen-field-1996", "sweep": {"lam": [0.1]}},
                   resolve_paths="no")
