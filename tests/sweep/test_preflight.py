"""A sweep refuses the values its study refuses before any point runs."""

import pytest

from v1model.cli import main
from v1model.sweep import SpecError, parse_spec, run
from v1model.sweep.preflight import _probe_indices, check_points


def _spec(study, grid, **extra):
    return parse_spec({"study": study, "sweep": grid, "executor": {"kind": "serial"}, **extra})


def test_probes_one_point_per_swept_value(study):
    spec = _spec(study("checked"), {"x": [1.0, 2.0, 3.0], "log_dir": ["a", "b"]}, n_seeds=4)
    assert spec.grid.shape == (3, 2, 4)
    indices = _probe_indices(spec.grid)
    assert len(indices) == 1 + 2 + 1 + 3  # the first point, then the other values of each axis
    probed = {(spec.grid.parameters(i)["x"], spec.grid.parameters(i)["log_dir"],
               spec.grid.replicate(i)) for i in indices}
    assert {p[0] for p in probed} == {1.0, 2.0, 3.0} and {p[1] for p in probed} == {"a", "b"}
    assert {p[2] for p in probed} == {0, 1, 2, 3}


def test_refused_value_fails_before_any_point(study, tmp_path, calls):
    log = tmp_path / "log"
    log.mkdir()
    out = tmp_path / "out"
    with pytest.raises(SpecError, match=r"point 2 \(x=-1.0\) is refused by the study: "
                                        r"ValueError: x must be > 0, got -1.0"):
        run(study("checked"), {"x": [1.0, 2.0, -1.0]}, params={"log_dir": str(log)},
            output=out, executor="serial", progress=False)
    assert not out.exists() and not calls(log, "work")
    # the pre-flight never does the work; the run does it once per point
    ds = run(study("checked"), {"x": [1.0, 2.0]}, params={"log_dir": str(log)},
             output=out, executor="serial", progress=False)
    assert ds["y"].values.tolist() == [2.0, 4.0]
    assert sum(calls(log, "work").values()) == 2


def test_unmarked_study_is_not_called(study, tmp_path, calls):
    log = tmp_path / "log"
    log.mkdir()
    spec = _spec(study("tiny"), {"x": [1.0, 2.0]}, params={"log_dir": str(log)})
    assert check_points(spec) == 0
    assert not calls(log, "start")


def test_marked_study_that_does_the_work_is_a_bug(study):
    with pytest.raises(RuntimeError, match="without calling parameters_checked"):
        check_points(_spec(study("forgets_checkpoint"), {"x": [1.0]}))


def test_dry_run_checks_the_values_of_a_real_study(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('study = "lca-sweep"\noutput = "out"\n[sweep]\nlam = [0.1, -0.2]\n'
                    'overcompleteness = [1, 2]\n')
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 2
    assert ("point 2 (lam=-0.2, overcompleteness=1) is refused by the study: ValueError: lam"
            in capsys.readouterr().err)
    spec.write_text(spec.read_text().replace("-0.2", "0.2"))
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 0
    assert "accepts every swept value (3 points checked)" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, params", [
    ("olshausen-field-1996", {"lam": -1.0}),
    ("olshausen-field-1996", {"prior": "gauss"}),
    ("olshausen-field-1997", {"n_updates": 0}),
    ("rozell-2008-lca", {"tau": 0.0}),
    ("activity-ratio", {"n_updates": 0}),
    ("receptive-field-mapping", {"dictionary": "/no/such/file.nc"}),
    ("ringach-2002", {"n_starts": 0}),
    ("zylberberg-2011-sailnet", {"n_neurons": 0}),
    ("spiking-lca", {"n_patches": 0}),
    ("lca-sweep", {"patch_size": 1}),
    ("zhu-rozell-2013-ncrf", {"margin": -1.0}),
    # against the patch the full run learns (16x16), before it is learned
    ("receptive-field-mapping", {"sparse_pixels": 300}),
    ("zhu-rozell-2013-ncrf", {"margin": 10.0}),
])
def test_every_study_checks_before_its_work(name, params):
    # the pre-flight returns within the checks: no images are loaded, nothing is learned
    first = next(iter(params))
    with pytest.raises(SpecError, match=f"refused by the study: .*{first}"):
        check_points(_spec(name, {first: [params[first]]}))


def test_study_file_that_does_not_import_is_a_spec_error(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("def run(quick=False, seed=0, x=1:\n    pass\n")
    spec = tmp_path / "s.toml"
    spec.write_text('study = "broken.py:run"\noutput = "out"\n[sweep]\nx = [1, 2]\n')
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 2
    assert ("study: cannot load" in (err := capsys.readouterr().err)
            and "SyntaxError: invalid syntax (broken.py, line 1)" in err)
