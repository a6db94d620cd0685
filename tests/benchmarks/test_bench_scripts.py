"""The benchmark scripts' options and output (not their timings: those are never tested)."""

import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name):
    """The script ``benchmarks/<name>.py`` as a module (its folder on sys.path, as
    when it runs)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCHMARKS.glob("bench_*.py")))
def test_help_shows_the_whole_first_paragraph(name, capsys, monkeypatch):
    """``--help`` exits 0 and describes the script by its docstring's first
    paragraph, not a first line cut mid-sentence ("... (Olshausen & Field 1996): the")."""
    module = load(name)
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--help"])
    with pytest.raises(SystemExit) as stop:
        module.main()
    assert stop.value.code == 0
    words = "".join(capsys.readouterr().out.split())  # argparse wraps, also at hyphens
    assert "".join(module.__doc__.split("\n\n")[0].split()) in words


def test_blas_threads_warns_under_a_thread_limit(monkeypatch):
    """Under OMP_NUM_THREADS=1 (the suite's conftest limits BLAS to one thread)
    "every thread" is one thread: the warning names the limit and the cores."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if cores() < 2:
        pytest.skip("one core: no limit to warn of")
    setup = load("_inference_setup")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with threadpool_limits(1, "blas"):
        threads, warning = setup.blas_threads()
        assert threads == max(i["num_threads"] for i in threadpool_info()
                              if i["user_api"] == "blas") == 1
    assert warning.startswith(f"WARNING: BLAS is limited to 1 thread(s) of {cores()} cores "
                              "(OMP_NUM_THREADS=1")
    assert "compare one thread with one" in warning
    with threadpool_limits(cores(), "blas"):
        if setup.blas_threads()[0] < cores():
            pytest.skip("this BLAS cannot raise its threads at run time")
        assert setup.blas_threads() == (cores(), None)


@pytest.mark.parametrize("name", ["bench_sae", "bench_learning_threads"])
def test_thread_benchmarks_print_the_warning(name, capsys, monkeypatch):
    """The "1 thread vs all" tables say when "all" is one thread (tiny sizes)."""
    if cores() < 2:
        pytest.skip("one core: no limit to warn of")
    module = load(name)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if name == "bench_sae":
        monkeypatch.setattr(module, "SIZES", ((8, 16, 32),))
        module.main(["--steps", "2"])
    else:
        monkeypatch.setattr(module, "SIZES", ((4, 8),))
        module.main(["--updates", "1"])
    out = capsys.readouterr().out
    assert out.count("WARNING: BLAS is limited to 1 thread(s)") == 2  # above and below
    assert "| 1 thread vs all |" in out


def test_sae_quick_is_a_smoke_run_that_keeps_both_thread_counts(monkeypatch, capsys):
    """--quick took ~4 min (300 s at load 4-9, 184 s of it the 768 x 4,096 size): it now
    times one fit of 20 steps per size without that one, after an untimed warm-up fit,
    still with one thread and every thread for each size and their ratio; the full
    run keeps every size, 200 steps and best of two fits."""
    module = load("bench_sae")
    calls = []

    def steps_per_second(X, n_latents, batch, n_steps, threads, fits=2):
        calls.append((X.shape[1], n_latents, batch, n_steps, threads, fits))
        return 10.0 if threads == 1 else 5.0

    monkeypatch.setattr(module, "steps_per_second", steps_per_second)
    monkeypatch.setattr(module, "blas_threads", lambda: (2, None))
    module.main(["--quick"])
    warm_up, timed = calls[0], calls[1:]
    assert warm_up[3:] == (2, 1, 1)
    sizes = [(64, 128, 256), (144, 288, 256), (64, 512, 1024), (256, 1024, 1024)]
    assert timed == [size + (20, threads, 1) for size in sizes for threads in (1, 2)]
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(sizes) and all(r.endswith("| 2.00x |") for r in rows[1:])
    calls.clear()
    module.main([])
    assert calls == [size + (200, threads, 2) for size in sizes + [(768, 4096, 1024)]
                     for threads in (1, 2)]


def test_cauchy_stopping_rules_name_each_rows_threshold():
    """cauchy_inference stops each group of 10 at tol times the power of two
    below its largest |x|; the whole-batch rows at tol itself (not "the same tol")."""
    module = load("bench_cauchy")
    X = np.zeros((30, 4))
    X[0, 0], X[10, 1], X[20, 2] = 0.7, -1.5, 3.9  # groups' powers of two: 0.5, 1, 2
    rules = module.stopping_rules(X, 1e-6)
    assert len(rules) == 6
    assert "c = 0.5 to 2 here: 5e-07 to 2e-06" in rules[0]
    assert rules[1] == rules[2] == "largest gradient <= 1e-06, over the batch"
    assert rules[3] == "10 CG steps per batch (no tolerance)"


def test_cauchy_map_rows_say_the_learners_own_limits(monkeypatch):
    """The MAP learner's row said "1e-5 ... 200 iterations" from a copy: with other
    limits in the learner it still said so. Both now come from the constants that
    learn_dictionary(inference="map") hands to each batch's minimisation."""
    import v1model.learning.olshausen_field as of

    monkeypatch.setattr(of, "CAUCHY_MAP_TOL", 3e-4)
    monkeypatch.setattr(of, "CAUCHY_MAP_MAX_ITER", 7)
    seen = []
    shipped = of._cauchy_map
    monkeypatch.setattr(of, "_cauchy_map", lambda X, D, lam, sigma, A0, tol, max_iter, method,
                        **kw: seen.append((tol, max_iter, method))
                        or shipped(X, D, lam, sigma, A0, tol, max_iter, method, **kw))
    X = np.random.default_rng(0).standard_normal((20, 4))
    of.learn_dictionary(X, 3, prior="cauchy", inference="map", n_updates=1, batch_size=5,
                        seed=0, progress=False)
    assert seen == [(3e-4, 7, "L-BFGS-B")]
    rules = load("bench_cauchy").stopping_rules(X, 1e-6)
    assert rules[4] == rules[5] == ("largest gradient <= 0.0003, relative decrease < 2.2e-09 "
                                    "(SciPy's ftol) or 7 iterations, per batch")


def test_lista_benchmark_draws_no_progress_bar(capsys, monkeypatch):
    """Bars shown at once (delay 0) would come between the table rows: none is drawn."""
    import v1model.progress

    module = load("bench_lista")
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    monkeypatch.setattr(module, "load_problem",
                        lambda n, **_: (rng.standard_normal((n, 16)), D, "random"))
    monkeypatch.setattr(module, "training_patches", lambda n, **_: rng.standard_normal((n, 16)))
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    module.main(["--n-samples", "40", "--n-train", "60", "--steps", "3", "--depths", "1",
                 "--objective-depths", "1", "--repeats", "1", "--lam", "0.3"])
    captured = capsys.readouterr()
    assert "it/s" not in captured.err and "%|" not in captured.err
    rows = [line for line in captured.out.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| coder |") and rows[-1].startswith("| 1 |")


def test_convolutional_quick_runs_every_part_small(monkeypatch):
    """--quick keeps (a), (b) and (c) with their references, on small sizes and
    best of 1: (c) on 2 crops of 32x32 (4 of 64x64 took minutes: the float64
    optimum 42 s, the LCA at its default tolerance 144 s)."""
    module = load("bench_convolutional")
    seen = {}
    for part in "abc":
        monkeypatch.setattr(module, f"part_{part}",
                            lambda args, X, kernels, part=part: seen.update(
                                {part: (X.shape, args.repeats, args.max_steps)}))
    monkeypatch.setattr(module, "load_crops",
                        lambda n, size, seed: (np.zeros((n, size, size)), "zeros"))
    module.main(["--quick"])
    assert seen == {"a": ((4, 64, 64), 1, 3000), "b": ((2, 32, 32), 1, 3000),
                    "c": ((2, 32, 32), 1, 3000)}
    module.main([])
    assert seen["a"] == ((16, 64, 64), 3, 3000) and seen["c"] == ((8, 64, 64), 3, 3000)


def test_convolutional_pursuit_quick_keeps_the_parts_on_fewer_sizes(monkeypatch):
    """--quick: (a) without the 4,000-sample sounds, (c) without the 256,000- and
    1,024,000-sample ones (the full run's ~2 min)."""
    module = load("bench_convolutional_pursuit")
    seen = {}
    for part in "abc":
        monkeypatch.setattr(module, f"part_{part}",
                            lambda args, part=part: seen.update(
                                {part: (args.sounds, args.long)}))
    module.main(["--quick"])
    assert seen["a"] == seen["b"] == seen["c"] == ([(8, 256), (8, 1024)], [16_000, 64_000])
    module.main(["--long", "32000"])
    assert seen["c"] == ([(8, 256), (8, 1024), (8, 4000), (32, 4000)], [32_000])


def _copies(X, Y):
    """How many rows of ``X`` are exact copies of a row of ``Y``."""
    seen = {row.tobytes() for row in np.ascontiguousarray(Y)}
    return sum(row.tobytes() in seen for row in np.ascontiguousarray(X))


def test_inference_problem_tests_patches_of_columns_it_did_not_learn_on(monkeypatch,
                                                                       tmp_path):
    """load_problem drew its test patches from the images its dictionary was learned on
    (8x8, 500 test patches against the 50,000 training ones: 48 copies; 16x16 and 2,000:
    149). Now they come from the held-out columns (studies._held_out.held_out_split):
    no copy, and the cache of a dictionary learned on the whole images, at the old
    file name, is not loaded in place of one learned on the training columns."""
    import tempfile

    import v1model.learning.olshausen_field as olshausen_field

    setup = load("_inference_setup")
    learned = {}

    def learn_stub(X, n_atoms, **_):
        learned["X"] = np.array(X)
        D = np.eye(n_atoms, X.shape[1])
        return D, None

    monkeypatch.setattr(olshausen_field, "learn_dictionary", learn_stub)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / "v1model_bench_dictionary_16x8x8_lam0.25_u300_s0.npy"
    np.save(stale, np.full((16, 64), 7.0))  # learned on the whole images
    X, D, info = setup.load_problem(500, n_atoms=16, patch=8)
    assert X.shape == (500, 64) and learned["X"].shape == (50000, 64)
    assert _copies(X, learned["X"]) == 0
    np.testing.assert_array_equal(D, np.eye(16, 64))  # learned again, not the stale file
    cached = sorted(p.name for p in tmp_path.glob("*.npy") if p != stale)
    assert cached == ["v1model_bench_dictionary_16x8x8_lam0.25_u300_s0_cols0-205of256.npy"]
    assert "left 205 of the 256 columns" in info and "right 51" in info
    # the next call loads that cache; LISTA's training patches come from the same
    # training columns, none a copy of a test patch
    again, D2, info2 = setup.load_problem(500, n_atoms=16, patch=8)
    np.testing.assert_array_equal(again, X)
    assert "cached in" in info2 and np.array_equal(D2, D)
    assert _copies(X, setup.training_patches(5000, patch=8)) == 0


def test_dictionary_learning_benchmark_holds_out_columns(monkeypatch):
    """bench_dictionary_learning's "held-out" patches were drawn from the images it
    learned on (3 of --quick's 500, 75 of the full run's 2,000 were copies of training
    patches): none now. Stopped at the first held-out objective, before any learning."""
    module = load("bench_dictionary_learning")
    seen = {}

    class Stop(Exception):
        pass

    def reference(X, lam, fit_algorithm, epochs, seed):
        seen["X"] = np.array(X)
        return np.eye(module.N_ATOMS), 0.0, 0

    def objective(D, X_test, lam):
        seen["X_test"] = np.array(X_test)
        raise Stop

    monkeypatch.setattr(module, "run_sklearn", reference)
    monkeypatch.setattr(module, "heldout_objective", objective)
    with pytest.raises(Stop):
        module.main(["--quick", "--references", "cd:1"])
    assert seen["X"].shape == (1280, 256) and seen["X_test"].shape == (500, 256)
    assert _copies(seen["X_test"], seen["X"]) == 0


def _random_problem(rng, n_atoms=12, n_features=16):
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return lambda n, **_: (rng.standard_normal((n, n_features)), D, "random")


def test_lasso_benchmark_draws_no_progress_bar(capsys, monkeypatch):
    """`bench_lasso.py --quick --no-lca > log 2>&1` had two "sample/s" bars before the
    table (lasso_active_set's, drawn inside the timed calls): none now, even shown at
    once (delay 0)."""
    import v1model.progress

    module = load("bench_lasso")
    monkeypatch.setattr(module, "load_problem", _random_problem(np.random.default_rng(0)))
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    module.main(["--quick", "--no-lca", "--n-samples", "30", "--repeats", "1",
                 "--sk-repeats", "1", "--lam", "0.3"])
    captured = capsys.readouterr()
    assert "sample/s" not in captured.err and "%|" not in captured.err
    rows = [line for line in captured.out.splitlines() if line.startswith("| v1model")]
    assert any("lasso_active_set" in row for row in rows)


def test_lasso_benchmark_dense_rows_compare_at_one_gap(capsys, monkeypatch):
    """--dense (small lam: lasso_active_set's converged-FISTA start, DENSE_* in
    active_set.py) had no benchmark, only timings in a docstring. Each lam gets
    scikit-learn's reference, the active set and FISTA with their gaps to the run's best
    optimum; the active set (float64) meets the compared gap. Rank 64 >= DENSE_MIN_RANK
    so the dense path runs."""
    from v1model.inference.active_set import DENSE_MIN_RANK

    module = load("bench_lasso")
    rng = np.random.default_rng(0)
    monkeypatch.setattr(module, "load_problem", _random_problem(rng, 96, DENSE_MIN_RANK))
    module.main(["--dense", "--quick", "--n-samples", "4", "--repeats", "1",
                 "--sk-repeats", "1", "--dense-lams", "0.05", "0.02"])
    out = capsys.readouterr().out
    assert "relative objective gap compared at: 1e-06" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| 0.0")]
    assert len(rows) == 2 * 7
    for lam in ("0.05", "0.02"):
        mine = {row[2]: row for row in rows if row[0].startswith(f"| {lam} (")}
        assert mine["scikit-learn sparse_encode lasso_cd, max_iter 1000, default (float64)"][4] \
            == "1.0x"  # the reference
        exact = mine["v1model lasso_active_set, default tol (float64)"]
        assert float(exact[5]) <= 1e-6 and exact[6] == "yes |"
        active = float(exact[1].split("%")[0])
        assert 10 < active <= 100  # dense: far above the 5-10% of lam 0.25


def test_gabor_benchmark_draws_no_progress_bar(capsys, monkeypatch):
    """fit_gabor's bars came in the log before the table, drawn inside the timed calls."""
    import v1model.progress

    module = load("bench_gabor")
    monkeypatch.setattr(v1model.progress, "PROGRESS_DELAY", 0.0)
    module.main(["--n-atoms", "4", "--n-ref", "2", "--jobs", "1"])
    captured = capsys.readouterr()
    assert "atom/s" not in captured.err and "%|" not in captured.err
    rows = [line for line in captured.out.splitlines() if line.startswith("| gabor |")]
    assert rows[0].startswith("| gabor | fit_gabor (4 starts) |") and len(rows) == 4


def test_sweep_quick_is_its_smallest_mode(monkeypatch, capsys):
    """bench_sweep.py had no --quick (its smallest mode was `--points 4 --target 1
    --skip-dask`): --quick means that; explicit --points and --target still win."""
    module = load("bench_sweep")
    seen = {}

    def efficiency(n_points, target, workdir):
        seen["efficiency"] = (n_points, target)
        return dict.fromkeys(("n_updates", "point_mean", "pool_point_mean", "utilisation",
                              "cpu_share_serial", "cpu_share_pool", "t_serial", "t_pool",
                              "efficiency", "max_difference"), 1.0)

    def overhead(executor, workdir, label, sizes=(100, 300)):
        seen.setdefault("overhead", []).append(label)
        return {"label": label, "t_small": 1.0, "t_large": 2.0, "marginal": 0.005,
                "fixed": 0.5}

    def status_times(n_points, workdir, repeats=3):
        seen["status"] = n_points
        return {"n_points": n_points, "now": 0.1, "before": 1.0, "failed": 1, "warned": 1}

    monkeypatch.setattr(module, "efficiency", efficiency)
    monkeypatch.setattr(module, "overhead", overhead)
    monkeypatch.setattr(module, "status_times", status_times)
    module.main(["--quick"])
    # no dask
    assert seen == {"efficiency": (4, 1.0), "overhead": ["serial", "local"], "status": 100}
    seen.clear()
    module.main(["--quick", "--points", "6", "--target", "2"])
    assert seen == {"efficiency": (6, 2.0), "overhead": ["serial", "local"], "status": 100}
    seen.clear()
    module.main(["--skip-dask"])
    assert seen["efficiency"] == (16, 5.0) and seen["status"] == 1200
    assert "4 lca-sweep points" in capsys.readouterr().out


def test_readme_commands_show_quick_for_every_script_that_has_it():
    """README's list of benchmark commands showed bench_gabor.py without the --quick it
    has, as the only one: a reader took it for a script with a single (full) mode."""
    import re

    readme = (BENCHMARKS.parent / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^python benchmarks/(bench_\w+)\.py(.*)$", readme, flags=re.MULTILINE)
    assert any(name == "bench_gabor" for name, _ in lines)
    for name, rest in lines:
        if '"--quick"' in (BENCHMARKS / f"{name}.py").read_text(encoding="utf-8"):
            assert rest.split("#")[0].split()[:1] == ["--quick"], (name, rest)


@pytest.mark.parametrize("argv, message", [
    (["--quick", "--repeats", "0"], "--repeats must be >= 1, got 0"),
    (["--quick", "--reuse", "--standalone"], "--reuse times cpp_standalone itself"),
])
def test_spiking_benchmark_refuses_options_it_cannot_run(argv, message, capsys):
    """``--repeats 0`` learned a dictionary and solved the LASSO, then stopped on "min() arg
    is an empty sequence"; ``--reuse`` (which times cpp_standalone itself) with
    ``--standalone`` ignored the latter. Both are refused before any work, by name."""
    module = load("bench_spiking")
    with pytest.raises(SystemExit) as stop:
        module.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_spiking_benchmark_times_the_ode_default_call_warm(monkeypatch):
    """``--quick --repeats 1`` timed the process's first ``lca`` call, which compiles the
    solver's kernels: "ODE LCA, default call" 8.0 s, 270x the fixed-step run it is 0.2x
    of when warm. One untimed call comes first."""
    import brian2

    import v1model.inference

    real = v1model.inference.lca
    default_calls = []

    def lca(*args, **kwargs):
        if "dt" not in kwargs:
            default_calls.append(kwargs)
        return real(*args, **kwargs)

    class Stop(Exception):
        pass

    def stop(*args):  # the first thing after the timed default call
        raise Stop

    module = load("bench_spiking")
    monkeypatch.setattr(v1model.inference, "lca", lca)
    monkeypatch.setattr(module, "relative_error", stop)
    level = brian2.prefs["logging.console_log_level"]  # the script sets it for its process
    try:
        with pytest.raises(Stop):
            module.main(["--quick", "--repeats", "1"])
    finally:
        brian2.prefs["logging.console_log_level"] = level
    assert len(default_calls) == 2  # one to warm, one timed


def test_spiking_benchmark_leaves_no_half_written_dictionary_cache(monkeypatch, tmp_path):
    """The learned dictionary was cached with np.save straight to its final name: a run
    stopped while saving left a truncated .npy that every later run loaded and failed
    on. It is written under a temporary name and renamed."""
    import tempfile

    import brian2

    import stimuli
    import v1model

    def save_half_then_stop(file, arr, *args, **kwargs):
        with open(file, "wb") as f:
            f.write(b"\x93NUMPY")  # the magic string, then the run is stopped
        raise KeyboardInterrupt

    module = load("bench_spiking")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(v1model.SparseCodingNetwork, "learn", lambda self, *a, **k: None)
    pictures = np.random.default_rng(0).standard_normal((2, 32, 32))  # not the photographs
    monkeypatch.setattr(stimuli, "load_images", lambda *a, **k: pictures)
    monkeypatch.setattr(np, "save", save_half_then_stop)
    level = brian2.prefs["logging.console_log_level"]  # the script sets it for its process
    try:
        with pytest.raises(KeyboardInterrupt):
            module.main(["--quick"])
    finally:
        brian2.prefs["logging.console_log_level"] = level
    assert list(tmp_path.iterdir()) == []


@pytest.mark.brian2
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyparsing")
def test_spiking_convolutional_per_call_part_checks_both_paths(capsys, monkeypatch):
    """Part (c) times the old weights (the lil round trip) against the kept ones in the
    same run: it says whether they are the same CSR arrays, and whether a tiny Brian2 run
    gives the same spikes both ways (both must hold)."""
    module = load("bench_spiking_convolutional")
    rng = np.random.default_rng(0)  # crops without loading the photographs
    monkeypatch.setattr(module, "load_crops", lambda n, size, seed: (
        rng.standard_normal((n, size, size)), "noise"))
    module.main(["--parts", "c", "--sizes", "12", "--calls", "2", "--kernels", "4",
                 "--kernel-size", "4"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| 12x12 |"))
    assert row.rstrip().endswith("| True |"), row
    assert "same spike trains and counts: True" in out
    assert "(a) lateral weights" not in out  # the other parts were not asked for
    # the identity step alone, both ways (the README's numbers for it)
    step = next(line for line in out.splitlines() if line.startswith("12x12: the identity"))
    old_ms, new_ms = (float(v) for v in re.findall(r"(\d+\.\d+) ms", step))
    assert old_ms > 0 and new_ms > 0, step
