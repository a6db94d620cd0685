"""A sweep folder records the defaults of the study's parameters that its spec leaves
unset, and a resume refuses to run points beside finished ones that ran with other
defaults (an upgrade of v1model changed one: olshausen-field-1997's learning_tol went
from 1e-2 to 0.2). The points of both were mixed unsaid: ``sweep resume`` compared the
spec alone."""

import json

import pytest

from v1model.sweep import SpecError, SweepWarning, resume, run
from v1model.sweep.studyref import StudyRef

STUDY = '''
import xarray as xr

TOL = 0.01
_UNSET = object()


def run(quick=False, seed=0, x=1.0, tol=TOL, label="a", marker=_UNSET):
    return xr.Dataset({"y": ((), x * tol)}, attrs={"tol": tol})
'''


@pytest.fixture()
def begun(tmp_path):
    """``(output, study_function)``: a finished two-point sweep whose point 1 file was
    removed (to run again, as after a crash), under the default tol = 0.01."""
    path = tmp_path / "study_with_tol.py"
    path.write_text(STUDY)
    ref = f"{path}:run"
    out = tmp_path / "out"
    run(ref, {"x": [1.0, 2.0]}, params={"label": "b"}, output=out, executor="serial",
        progress=False)
    (out / "points" / "000001.nc").unlink()
    (out / "sweep.nc").unlink()
    return out, StudyRef(ref).function()


def _manifest(out):
    return json.loads((out / "sweep.json").read_text())


def test_the_folder_records_the_defaults_of_the_parameters_left_unset(begun):
    out, _ = begun
    # x is swept and label fixed: their defaults play no part; the sentinel has no value
    assert _manifest(out)["study_defaults"] == {"tol": "0.01"}


def test_a_changed_default_is_refused_naming_it(begun, monkeypatch):
    out, func = begun
    monkeypatch.setattr(func, "__defaults__", (False, 0, 1.0, 0.2, "a", object()))
    with pytest.raises(SpecError, match=r"^output: .*the study's defaults changed since the "
                                        r"sweep began \(tol: 0\.01 when the sweep began, "
                                        r"0\.2 now\), and its 1 finished point"):
        resume(out, progress=False)
    assert sorted(p.name for p in (out / "points").glob("*.nc")) == ["000000.nc"]
    # allowed: the point to run gets the new default, the finished one keeps the old
    with pytest.warns(SweepWarning, match=r"tol: 0\.01 when the sweep began, 0\.2 now"):
        ds = resume(out, progress=False, allow_changed_defaults=True)
    assert ds["y"].values.tolist() == pytest.approx([1.0 * 0.01, 2.0 * 0.2])


def test_the_command_line_refuses_it_and_allows_it_with_a_flag(begun, monkeypatch, capsys):
    from v1model.cli import main

    out, func = begun
    monkeypatch.setattr(func, "__defaults__", (False, 0, 1.0, 0.2, "a", object()))
    assert main(["sweep", "resume", str(out), "--no-progress"]) == 2
    assert "tol: 0.01 when the sweep began, 0.2 now" in capsys.readouterr().err
    # the dry run, which checks all a run would, says so too
    assert main(["sweep", "run", str(out / "spec.toml"), "--dry-run"]) == 0
    assert "tol: 0.01 then, 0.2 now" in capsys.readouterr().out
    assert main(["sweep", "resume", str(out), "--no-progress",
                 "--allow-changed-defaults"]) == 0
    assert "v1model: warning: " in capsys.readouterr().err  # the changed default, named


def test_with_no_point_finished_the_new_defaults_are_recorded(begun, monkeypatch):
    out, func = begun
    (out / "points" / "000000.nc").unlink()
    monkeypatch.setattr(func, "__defaults__", (False, 0, 1.0, 0.2, "a", object()))
    ds = resume(out, progress=False)
    assert ds["y"].values.tolist() == pytest.approx([0.2, 0.4])
    assert _manifest(out)["study_defaults"] == {"tol": "0.2"}


def test_a_folder_begun_before_the_defaults_were_recorded_resumes_with_a_note(
        begun, monkeypatch):
    out, func = begun
    info = _manifest(out)
    del info["study_defaults"]
    (out / "sweep.json").write_text(json.dumps(info))
    monkeypatch.setattr(func, "__defaults__", (False, 0, 1.0, 0.2, "a", object()))
    with pytest.warns(SweepWarning, match="begun before sweeps recorded the study's defaults"):
        ds = resume(out, progress=False)
    assert ds["y"].values.tolist() == pytest.approx([0.01, 0.4])


def test_an_unchanged_study_resumes_without_a_word(begun, recwarn):
    out, _ = begun
    ds = resume(out, progress=False)
    assert ds["y"].values.tolist() == pytest.approx([0.01, 0.02])
    assert not [w for w in recwarn if issubclass(w.category, SweepWarning)]


VARIANT_STUDY = '''
import xarray as xr

QUICK_DEFAULTS = {"n_updates": (40, 2000)}


def run(quick=False, seed=0, x=1.0, n_updates=None):
    n_updates = (QUICK_DEFAULTS["n_updates"][0 if quick else 1] if n_updates is None
                 else n_updates)
    return xr.Dataset({"y": ((), x * n_updates)}, attrs={"n_updates": n_updates})
'''


@pytest.fixture()
def begun_quick(tmp_path):
    """``(output, study_module)``: a finished quick two-point sweep whose point 1 file
    was removed, the study's n_updates=None being 40 when quick (its QUICK_DEFAULTS)."""
    path = tmp_path / "study_with_variants.py"
    path.write_text(VARIANT_STUDY)
    ref = f"{path}:run"
    out = tmp_path / "out"
    run(ref, {"x": [1.0, 2.0]}, quick=True, output=out, executor="serial", progress=False)
    (out / "points" / "000001.nc").unlink()
    (out / "sweep.nc").unlink()
    return out, StudyRef(ref).module()


def test_a_default_the_study_chooses_by_variant_is_recorded_and_its_change_refused(
        begun_quick, monkeypatch):
    # n_updates=None, replaced inside run by 40 (quick) or 2000, was recorded as "None":
    # a change of the 40 went unseen on resume
    out, module = begun_quick
    assert _manifest(out)["study_defaults"] == {"n_updates": "40"}
    monkeypatch.setitem(module.QUICK_DEFAULTS, "n_updates", (50, 2000))
    with pytest.raises(SpecError, match=r"n_updates: 40 when the sweep began, 50 now"):
        resume(out, progress=False)
    monkeypatch.setitem(module.QUICK_DEFAULTS, "n_updates", (40, 3000))  # the full one
    ds = resume(out, progress=False)
    assert ds["y"].values.tolist() == [40.0, 80.0]


def test_a_folder_that_recorded_none_for_a_variant_default_resumes(begun_quick, recwarn):
    out, _ = begun_quick
    info = _manifest(out)
    info["study_defaults"] = {"n_updates": "None"}  # begun before QUICK_DEFAULTS were read
    (out / "sweep.json").write_text(json.dumps(info))
    ds = resume(out, progress=False)
    assert ds["y"].values.tolist() == [40.0, 80.0]
    assert not [w for w in recwarn if issubclass(w.category, SweepWarning)]


def test_a_quick_defaults_of_another_shape_is_refused(tmp_path):
    path = tmp_path / "bad_variants.py"
    path.write_text(VARIANT_STUDY.replace("(40, 2000)", "40"))
    with pytest.raises(SpecError, match=r"^study: .*QUICK_DEFAULTS must be a dict of "
                                        r"parameter name to \(quick default, full default\)"):
        StudyRef(f"{path}:run").defaults(quick=True)



@pytest.mark.parametrize("quick", [True, False])
@pytest.mark.parametrize("name, per_pixel", [("olshausen-field-1996", (1, 1)),
                                             ("spiking-lca", (1, 1)),
                                             ("gregor-lecun-2010-lista", (2, 4))])
def test_the_default_number_of_atoms_follows_the_swept_patch_size(name, per_pixel, quick,
                                                                   monkeypatch):
    """n_atoms defaulted to a number fixed per variant whatever the patch (64 or 256;
    LISTA's 128 or 400): a sweep over patch_size = 8, 12, 16 learned 64 atoms at each
    size in its quick variant, undercomplete dictionaries of 0.44x and 0.25x where the
    studies' are complete (LISTA's 2x became 0.89x at 12x12), and its sweep.json
    recorded that default as though it did not depend on the patch. The default is
    the variant's atoms per pixel times patch_size**2 at every size (the same numbers
    as before at the default patches)."""
    import v1model
    import v1model.learning.olshausen_field as of
    from studies import get_study
    from v1model.sweep import parse_spec
    from v1model.sweep.spec import changed_defaults

    built = []

    class Stop(Exception):
        pass

    def network(*args, n_atoms, patch_shape, **kwargs):  # stops before any image loads
        built.append((n_atoms, patch_shape[0] * patch_shape[1]))
        raise Stop

    def learn(X, n_atoms, **kwargs):  # LISTA's first step with its number of atoms
        built.append((n_atoms, X.shape[1]))
        raise Stop

    monkeypatch.setattr(v1model, "SparseCodingNetwork", network)
    monkeypatch.setattr(of, "learn_dictionary", learn)
    run = get_study(name).run
    for params in ({}, {"patch_size": 12}, {"patch_size": 12, "n_atoms": 100}):
        with pytest.raises(Stop):
            run(quick=quick, progress=False, **params)
    side = get_study(name).QUICK_DEFAULTS["patch_size"][0 if quick else 1]
    ratio = per_pixel[0 if quick else 1]
    assert built == [(ratio * side**2, side**2), (ratio * 144, 144), (100, 144)]
    # a sweep that leaves the patch size alone records the default the points get; one
    # over the patch size no single default (the points' own n_atoms tell it), so that
    # a folder begun with the fixed 64 is not resumed with 144 atoms at 12x12 unsaid
    spec = parse_spec({"study": name, "quick": quick, "sweep": {"lam": [0.1, 0.2]}})
    assert spec.study_defaults()["n_atoms"] == str(ratio * side**2)
    spec = parse_spec({"study": name, "quick": quick, "sweep": {"patch_size": [8, 12, 16]}})
    assert spec.study_defaults()["n_atoms"] == "None"
    # and the refusal to resume such a folder names how it is found now (it said
    # "n_atoms: 64 when the sweep began, None now", as though n_atoms had no value)
    assert changed_defaults({"n_atoms": str(ratio * 8**2)}, spec) == {
        "n_atoms": (str(ratio * 8**2), "computed from patch_size")}


@pytest.mark.parametrize("quick", [True, False])
def test_the_default_number_of_sailnet_units_follows_the_swept_patch_size(quick, monkeypatch):
    """SAILnet's n_neurons stayed 64 (quick) or 256 whatever the patch: a sweep over
    patch_size = 8, 12, 16 of zylberberg-2011-sailnet ran 64 units on 144 and 256 pixels
    (0.44x, 0.25x) where the study's own networks have one unit per pixel (the authors'
    256 units on 16x16 patches), and recorded 64 as a default that did not depend on the
    patch. It is patch_size**2 at any size now, as the LCA studies' n_atoms."""
    import studies.zylberberg_2011_sailnet as sailnet
    from v1model.sweep import parse_spec
    from v1model.sweep.spec import changed_defaults

    built = []

    class Stop(Exception):
        pass

    def checks(patch_size, n_neurons, *args):  # the learning's checks, before any image
        built.append((n_neurons, patch_size))
        raise Stop

    monkeypatch.setattr(sailnet, "_check_learning_parameters", checks)
    for params in ({}, {"patch_size": 12}, {"patch_size": 12, "n_neurons": 100}):
        with pytest.raises(Stop):
            sailnet.run(quick=quick, progress=False, **params)
    side = sailnet.QUICK_DEFAULTS["patch_size"][0 if quick else 1]
    assert built == [(side**2, side), (144, 12), (100, 12)]
    assert sailnet.QUICK_DEFAULTS["n_neurons"][0 if quick else 1] == side**2
    name = "zylberberg-2011-sailnet"
    spec = parse_spec({"study": name, "quick": quick, "sweep": {"p": [0.05, 0.1]}})
    assert spec.study_defaults()["n_neurons"] == str(side**2)
    spec = parse_spec({"study": name, "quick": quick, "sweep": {"patch_size": [8, 12, 16]}})
    assert spec.study_defaults()["n_neurons"] == "None"
    assert changed_defaults({"n_neurons": "64"}, spec) == {
        "n_neurons": ("64", "computed from patch_size")}


def test_a_defaults_follow_of_another_shape_is_refused(tmp_path):
    path = tmp_path / "bad_follow.py"
    path.write_text(VARIANT_STUDY + '\nDEFAULTS_FOLLOW = {"n_updates": "x"}\n')
    with pytest.raises(SpecError, match=r"^study: .*DEFAULTS_FOLLOW must be a dict of "
                                        r"parameter name to a tuple"):
        StudyRef(f"{path}:run").defaults_follow()


@pytest.mark.parametrize("quick", [True, False])
def test_rozell_declares_the_atoms_and_the_time_its_none_defaults_stand_for(quick,
                                                                            monkeypatch):
    """rozell-2008-lca's n_atoms (2 * patch_size**2: 128 quick, 288 full, its docstring)
    and t_max (30 or 40 tau) were computed in run, undeclared: `study show` printed
    ``n_atoms = None`` and a sweep recorded "None" for both. They are QUICK_DEFAULTS now,
    following patch_size and tau, and run takes them from there."""
    import studies._checks as checks
    import studies.rozell_2008_lca as rozell
    import v1model.validation as validation
    from v1model.sweep import parse_spec

    seen = {}

    class Stop(Exception):
        pass

    def positive(value, name, *args, **kwargs):
        seen[name] = value
        return value

    def memory(n_atoms, n_features, *args):  # the last check before any image loads
        seen["n_atoms"], seen["n_features"] = n_atoms, n_features
        raise Stop

    monkeypatch.setattr(validation, "check_positive", positive)
    monkeypatch.setattr(checks, "check_dictionary_memory", memory)
    variant = 0 if quick else 1
    side = rozell.QUICK_DEFAULTS["patch_size"][variant]
    assert rozell.QUICK_DEFAULTS["n_atoms"] == (128, 288)  # the docstring's
    assert rozell.QUICK_DEFAULTS["t_max"] == pytest.approx((0.3, 0.4), rel=1e-12)
    for params, atoms, t_max in (({}, 2 * side**2, rozell.QUICK_DEFAULTS["t_max"][variant]),
                                 ({"patch_size": 10, "tau": 0.02}, 200,
                                  (30, 40)[variant] * 0.02),
                                 ({"n_atoms": 50, "t_max": 0.1}, 50, 0.1)):
        with pytest.raises(Stop):
            rozell.run(quick=quick, progress=False, **params)
        assert (seen["n_atoms"], seen["t_max"]) == (atoms, pytest.approx(t_max, rel=1e-12))
    assert rozell.QUICK_DEFAULTS["n_atoms"][variant] == 2 * side**2
    name = rozell.NAME
    recorded = parse_spec({"study": name, "quick": quick,
                           "sweep": {"lam": [0.1, 0.2]}}).study_defaults()
    assert recorded["n_atoms"] == str(2 * side**2)
    assert recorded["t_max"] == repr(rozell.QUICK_DEFAULTS["t_max"][variant])
    recorded = parse_spec({"study": name, "quick": quick,
                           "sweep": {"tau": [0.01, 0.02]}}).study_defaults()
    assert recorded["t_max"] == "None" and recorded["n_atoms"] == str(2 * side**2)
