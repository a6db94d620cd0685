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


def _study_spec(folder, study, params, sweep="lam = [0.5]"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sw.toml"
    lines = "".join(f'{name} = "{value}"\n' for name, value in params.items())
    path.write_text(f'study = "{study}"\n[params]\n{lines}[sweep]\n{sweep}\n')
    return path


def test_a_text_option_named_like_a_folder_beside_the_spec_is_no_path(tmp_path,
                                                                       monkeypatch):
    """olshausen-field-1996 declares its path parameters: its prior = "cauchy" stays
    "cauchy" with a folder named cauchy beside the spec (it was made absolute, which
    the study refused, and the sweep's fingerprint hung on what the folder held), and
    images = "skimage" beside a folder skimage stays the bundled photographs."""
    path = _study_spec(tmp_path, "olshausen-field-1996",
                       {"prior": "cauchy", "images": "skimage"})
    monkeypatch.chdir(tmp_path)
    before = load_spec(path)
    (tmp_path / "cauchy").mkdir()
    (tmp_path / "skimage").mkdir()
    after = load_spec(path)
    assert after.params == {"prior": "cauchy", "images": "skimage"}
    # the fingerprint of the spec as written: nothing was resolved
    assert after.fingerprint() == before.fingerprint() == \
        load_spec(path, resolve_paths=False).fingerprint()


def test_a_declared_path_parameter_is_resolved_whatever_lies_beside_the_spec(tmp_path,
                                                                             monkeypatch):
    """A relative value of a declared path parameter is a path, existing or not and
    with or without a "/" (it was passed as written unless something of its name
    existed beside the spec); the texts it declares as no path are passed as written,
    also beside a folder of their name."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    path = _study_spec(tmp_path / "a", "olshausen-field-1996", {"images": "photos"})
    spec = load_spec(path)
    assert spec.params["images"] == str(tmp_path / "a" / "photos")
    # a folder begun when "photos" was passed as written is still this sweep
    assert load_spec(path, resolve_paths=False).fingerprint() in spec.fingerprints()
    (tmp_path / "b" / "synthetic").mkdir(parents=True)
    path = _study_spec(tmp_path / "b", "lewicki-2002-speech",
                       {"audio_dir": "synthetic", "pattern": "*/*.wav"})
    assert load_spec(path).params == {"audio_dir": "synthetic", "pattern": "*/*.wav"}
    path = _study_spec(tmp_path / "c", "ringach-2002",
                       {"reference": "False", "dictionary": "none", "images": "../imgs"},
                       sweep="n_starts = [1]")
    assert load_spec(path).params == {"reference": "False", "dictionary": "none",
                                      "images": str(tmp_path / "imgs")}


def test_a_study_of_ones_own_declares_its_path_parameters(tmp_path, monkeypatch):
    """With PATH_PARAMETERS, only those parameters are paths: a text option that holds a
    "/" (mode = "fast/exact") is passed as written (the guess made it absolute)."""
    (tmp_path / "mine.py").write_text(
        'PATH_PARAMETERS = ("data",)\n\n\n'
        'def run(quick=False, seed=0, lam=1.0, data: str = "", mode: str = "fast"):\n'
        '    raise NotImplementedError\n')
    path = _study_spec(tmp_path, "mine.py:run", {"data": "d", "mode": "fast/exact"})
    monkeypatch.chdir(tmp_path)
    assert load_spec(path).params == {"data": str(tmp_path / "d"), "mode": "fast/exact"}


def test_a_path_parameters_declaration_of_another_shape_is_refused(tmp_path):
    import pytest

    from v1model.sweep import SpecError

    (tmp_path / "mine.py").write_text(
        'PATH_PARAMETERS = "data"\n\n\n'
        'def run(quick=False, seed=0, lam=1.0, data: str = ""):\n'
        '    raise NotImplementedError\n')
    path = _study_spec(tmp_path, "mine.py:run", {"data": "d"})
    with pytest.raises(SpecError, match=r"^study: mine:run: PATH_PARAMETERS must be a tuple "
                                        r"of parameter names.*got 'data'$"):
        load_spec(path)


def test_every_study_declares_its_path_parameters():
    """No built-in study is left to the guess: each declares PATH_PARAMETERS, naming
    parameters it takes, and a text default of one (images = "skimage") is among the
    texts it declares as no path (else a spec that writes the default would have it
    made a path)."""
    import inspect

    from studies import list_studies, study_parameters

    for name, module in list_studies().items():
        declared = getattr(module, "PATH_PARAMETERS", None)
        assert isinstance(declared, dict), name
        parameters = study_parameters(name)
        for parameter, texts in declared.items():
            assert parameter in parameters, (name, parameter)
            default = parameters[parameter]
            if isinstance(default, str):
                assert default in texts, (name, parameter, default)
        # a path parameter takes text
        for p in inspect.signature(module.run).parameters.values():
            if p.name in declared:
                assert "str" in str(p.annotation), (name, p.name)


def test_a_dollar_that_is_no_variable_is_part_of_a_path_beside_the_spec(tmp_path,
                                                                        monkeypatch):
    """Only $NAME and ${NAME} are variables (those check_path expands): "data$1/imgs" was
    passed as written, as if it held one, and read from the current directory, while
    check_path takes such a name as written; now beside the spec as any relative path."""
    (tmp_path / "mine.py").write_text(
        'PATH_PARAMETERS = ("data",)\n\n\n'
        'def run(quick=False, seed=0, lam=1.0, data: str = ""):\n'
        '    raise NotImplementedError\n')
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    study = str(tmp_path / "mine.py") + ":run"
    for value in ("data$1/imgs", "a$/b", "$$", "cost$.nc"):
        spec = load_spec(_study_spec(tmp_path / "a", study, {"data": value}))
        assert spec.params["data"] == str(tmp_path / "a" / value), value
    # a variable, set or not, and a "${" check_path refuses as written, stay as written
    for value in ("$SCRATCH/imgs", "d/${_RUN}", "data/${RUN"):
        assert load_spec(_study_spec(tmp_path / "a", study, {"data": value})
                         ).params["data"] == value
