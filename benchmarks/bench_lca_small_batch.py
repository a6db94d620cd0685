"""LCA's adaptive step on small batches: this tree's loop against an earlier revision's.

A call of ``lca(X, D, lam)`` on 100 samples runs as many Euler steps as its slowest
sample needs (hundreds to thousands with coherent atoms), each step a small product
(100 x n_atoms by the Gram matrix) between compiled element-wise passes: the time per
step is mostly Python and NumPy overhead, not BLAS. This times, in the same run:

- ``lca(X[:100], D, lam)``, float32 (the default), on whitened patches: 12x12 patches of
  Olshausen's images with his A144 basis (``--data``, skipped when absent) and 8x8
  patches of the embedded images with a 128-atom dictionary learned on other patches;
- ``learn_dictionary(..., inference="lca")``, 60 updates of 100 samples of the planted
  problem of ``tests/learning/test_olshausen_field.py`` (24 atoms, 16 features, float64,
  the learner's tol 1e-4), where one slow sample keeps a batch going for thousands of steps;

each with ``--before``'s ``v1model/inference/lca_adaptive.py`` (read with ``git show``,
default ``HEAD``: the committed loop against the working tree's) and with this tree's,
and reports the ratio, the steps and products per batch (equal when the stop rule is
unchanged), the largest code difference, and the references of the same run: ``fista``
on the same batches and the float32 matmul rate (with the time the products alone
would take at that rate). The duality-gap checks of the other small-batch loops are
timed the same way, with ``--before``'s ``confirm_by_gap`` (``_common.py``: both FISTA
step rules) and fixed-step Euler block (``lca.py``) against this tree's:

- ``lca(X[:100], D, lam, dt=0.9 * max_stable_dt(D, tau))`` (the fixed step, as with an
  explicit ``dt``) on the two batches above;
- ``learn_dictionary`` on the planted problem with ``inference="fista"`` (60 updates, the
  default backtracking step; also ``step="constant"``) and ``inference="lca"`` with a
  fixed ``dt`` (20 updates);
- with ``--of1996``, the quick ``olshausen-field-1996`` study (~20 s CPU each side).

With ``--per-call`` it times instead what a call costs besides its steps, for loops that
encode one image, one sweep point or one spiking comparison at a time with one
dictionary: ``lca(X, D, lam)`` (the adaptive step), ``threshold="hard"`` and
``n_steps=100`` (the fixed step) on 1 and 32 samples of a 256 x 64 dictionary and 1 and
100 samples of a 1024 x 256 one (random unit atoms, samples of ~5 atoms each, float64 in,
the default float32 working precision), and ``SparseCodingNetwork.encode``, each as
``--before``'s ``lca.py`` (which built the Gram matrix and its top eigenvalue at every
call; imported beside this tree's other modules) and this tree's (which keeps them for
the next call with the same dictionary, ``v1model/inference/_dictionary_cache.py``), with
this tree's with the cache off (every call a miss) as the reference of the same run, and
the largest code difference (0: the same codes to the bit). ``--per-call-solvers`` times
the same way ``encode(X, D, method)`` for fista, iht, cd, omp and active_set on 1 and 32
samples of both dictionaries, in float32 and float64, with ``--before``'s solver modules
(which built the Gram matrix, and fista's, iht's and the active set's top eigenvalue, at
every call) against this tree's. ``--per-call-spiking`` times the same way
``spiking_lca(X, D, lam)`` on Brian2's numpy target (10 ms simulated at dt = 0.1 ms: a
short run, where the per-call work shows) on 1 and 4 samples of both dictionaries, with
``--before``'s ``v1model/spiking/lca.py`` (which built the lateral weights ``D D^T - I``
at every call) against this tree's (which keeps them in the same cache), and the largest
difference of the codes (rate * tau_m; 0: the same spike counts).

With ``--learners`` it times the dictionary learners, whose dictionary changes at every
update, with the solvers' cache bypassed (this tree: their loop inside
``bypassing_cache()``, nothing kept) against the cache path they took before (the learners'
``bypassing_cache`` made a no-op: every minibatch's dictionary compared, copied and its
values kept for nothing), in the same run: CPU per update of ``learn_dictionary`` (256 atoms
on 16x16 whitened patches, FISTA and LCA), ``learn_mod``, ``learn_ksvd`` and
``learn_online`` (64 atoms on 8x8 patches), with the largest difference of the learned
dictionaries (0: the same to the bit); then one call of ``encode(x, D_user)`` (one sample,
1024 x 256 atoms) right after a 2-update learning run, which evicted ``D_user`` before (its
Gram matrix built again) and leaves it kept now.

Times are CPU seconds of this process (``time.process_time``,
best of ``--repeats``, of ``--learn-repeats`` for learning; less sensitive than wall time
to other jobs on the machine) and wall seconds.

    python benchmarks/bench_lca_small_batch.py                 # HEAD against the tree
    python benchmarks/bench_lca_small_batch.py --before abc123 --repeats 5
    python benchmarks/bench_lca_small_batch.py --per-call   # per-call overheads
    python benchmarks/bench_lca_small_batch.py --per-call-solvers   # other solvers'
    python benchmarks/bench_lca_small_batch.py --per-call-spiking   # the spiking LCA's
    python benchmarks/bench_lca_small_batch.py --learners   # learners and the cache
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _inference_setup import load_problem, machine_line, matmul_gflops  # noqa: E402

#: the reference data beside the checkout, or where V1MODEL_SHARED_DATA points (as the tests)
DEFAULT_DATA = Path(os.environ.get("V1MODEL_SHARED_DATA", ROOT.parent / "shared" / "data")
                    ) / "olshausen"


def main(argv=None):
    from v1model.progress import quiet_auto_bars

    with quiet_auto_bars(), warnings.catch_warnings():
        # the planted problem's learning has a sample at max_steps (its test says why)
        warnings.filterwarnings("ignore", message="lca stopped after")
        return _run(argv)


def _run(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD",
                        help="git revision whose lca_adaptive.py is the 'before' loop")
    parser.add_argument("--repeats", type=int, default=3, help="best of N")
    parser.add_argument("--updates", type=int, default=60, help="learning updates")
    parser.add_argument("--learn-repeats", type=int, default=1,
                        help="best of N for the learning runs (~30 s each before)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with A144.mat and images/ (Olshausen's)")
    parser.add_argument("--of1996", action="store_true",
                        help="also time the quick olshausen-field-1996 study")
    parser.add_argument("--per-call", action="store_true",
                        help="time only the per-call overheads of lca and network.encode "
                             "with one dictionary (--before's lca.py against this tree's)")
    parser.add_argument("--per-call-solvers", action="store_true",
                        help="time the per-call overheads of encode's fista, iht, cd, omp "
                             "and active_set with one dictionary (--before's solver "
                             "modules against this tree's)")
    parser.add_argument("--per-call-spiking", action="store_true",
                        help="time the per-call overheads of spiking_lca (numpy target) "
                             "with one dictionary (--before's spiking/lca.py against this "
                             "tree's)")
    parser.add_argument("--learners", action="store_true",
                        help="time the dictionary learners with the solvers' cache bypassed "
                             "against the cache path, and the user's dictionary coded after "
                             "a learning run")
    args = parser.parse_args(argv)
    if args.learners:
        return _run_learners(args.repeats)
    if args.per_call_spiking:
        return _run_per_call_spiking(args.before, args.repeats)
    if args.per_call_solvers:
        return _run_per_call_solvers(args.before, args.repeats)
    if args.per_call:
        return _run_per_call(args.before, args.repeats)
    from v1model.inference import lca_adaptive

    before = _load_revision(args.before)
    loops = {"before": before._euler_adaptive_block,
             "after": lca_adaptive._euler_adaptive_block}
    gap_checks = _gap_checks(args.before)
    print(machine_line())
    print(f"before: lca_adaptive.py, _common.confirm_by_gap and lca._euler_block at "
          f"{args.before}; after: this tree")
    rows, problems = [], list(_problems(args.data))
    for name, X, D, lam in problems:
        rows.append(_time_encode(name, X, D, lam, loops, args.repeats))
    rows.append(_time_learning(loops, args.updates, args.learn_repeats))
    for name, X, D, lam in problems:
        rows.append(_time_fixed_step(name, X, D, lam, gap_checks, args.repeats))
    rows += _time_gap_learning(gap_checks, args.updates, args.learn_repeats)
    if args.of1996:
        rows.append(_time_of1996(gap_checks))
    print()
    print("| problem | before: CPU s (wall) | after: CPU s (wall) | ratio | steps per batch "
          "| products per sample | max code diff | reference in the same run |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    lca_adaptive._euler_adaptive_block = loops["after"]
    gap_checks["after"]()


def _gap_checks(rev):
    """``{"before": use, "after": use}``: each puts ``rev``'s or this tree's
    ``confirm_by_gap`` into both FISTA loops and fixed-step Euler block into ``lca``."""
    import importlib

    modules = {name: importlib.import_module(f"v1model.inference.{name}")
               for name in ("fista", "fista_backtracking", "lca")}
    old_common = _load_revision(rev, "_common")
    old_lca = _load_revision(rev, "lca")

    def use(confirm, block):
        def put():
            modules["fista"].confirm_by_gap = confirm
            modules["fista_backtracking"].confirm_by_gap = confirm
            modules["lca"]._euler_block = block
        return put

    return {"before": use(old_common.confirm_by_gap, old_lca._euler_block),
            "after": use(modules["fista"].confirm_by_gap, modules["lca"]._euler_block)}


def _load_revision(rev, module="lca_adaptive", package="inference"):
    """``v1model/<package>/<module>.py`` at ``rev``, imported as a module of the
    package (its relative imports resolve against this tree's modules)."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:v1model/{package}/"
                          f"{module}.py"], check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="v1model_bench_lca_"))
    path = folder / f"{module}_before.py"
    path.write_text(src)
    name = f"v1model.{package}._{module}_before"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the module by name
    spec.loader.exec_module(module)
    return module


def _problems(data):
    from stimuli import load_images, sample_patches

    if (data / "A144.mat").exists() and (data / "images").is_dir():
        import scipy.io

        A = scipy.io.loadmat(data / "A144.mat")["A"]
        # one basis function per column, 12x12 column-major (the README of the data)
        D = A.T.reshape(144, 12, 12).transpose(0, 2, 1).reshape(144, 144)
        D = D / np.linalg.norm(D, axis=1, keepdims=True)
        images = load_images(data / "images")  # pre-whitened: not whitened again
        X = sample_patches(images, 12, 100, seed=0)
        yield "A144 (144 x 144), 100 12x12 patches of Olshausen's images, lam 0.1", X, D, 0.1
    else:
        print(f"(no A144.mat and images/ in {data}: the A144 row is skipped)")
    X, D, _ = load_problem(100, n_atoms=128, patch=8, lam_learn=0.1, n_updates=300)
    yield "learned 128 x 64, 100 8x8 whitened patches, lam 0.1", X, D, 0.1


def _best(fn, repeats):
    cpu, wall, out = np.inf, np.inf, None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, out


def _time_encode(name, X, D, lam, loops, repeats):
    from v1model.inference import fista, lca, lca_adaptive

    results = {}
    for which, loop in loops.items():
        lca_adaptive._euler_adaptive_block = loop
        lca(X, D, lam)  # compiles this loop's kernels (cached on disk after the first run)
        stats = {}
        cpu, wall, A = _best(lambda: lca(X, D, lam, _stats=stats), repeats)
        results[which] = cpu, wall, A, dict(stats)
    fista(X, D, lam)
    f_cpu, f_wall, _ = _best(lambda: fista(X, D, lam), repeats)
    k = D.shape[0]
    rate = matmul_gflops(X.shape[0], k)
    s = results["after"][3]
    products_s = 2.0 * s["products"] * k * k / (rate * 1e9)
    ref = (f"fista {f_cpu:.4f} CPU s ({f_wall:.4f}); products alone {products_s:.4f} s at "
           f"the float32 matmul rate, {rate:.0f} GFLOP/s")
    return _row(name, results, X.shape[0], ref)


def _time_learning(loops, n_updates, repeats):
    from v1model.inference import lca_adaptive
    from v1model.learning.olshausen_field import learn_dictionary

    X = _planted_problem()
    results = {}
    for which, loop in loops.items():
        stats = dict(products=0, steps=0, calls=0)

        def counted(*a, _loop=loop, _stats=stats):
            p, s, left = _loop(*a)
            _stats["products"] += p
            _stats["steps"] += s
            _stats["calls"] += 1
            return p, s, left

        lca_adaptive._euler_adaptive_block = counted

        def learn(updates=n_updates):
            stats.update(products=0, steps=0, calls=0)
            return learn_dictionary(X, 24, lam=0.05, n_updates=updates, batch_size=100,
                                    lr=1.5, inference="lca", seed=1, progress=False)[0]

        # compiles the loop's kernels outside the timing (a --before loop's cache is in a
        # new temporary folder every run: its compilation was timed with it)
        learn(2)
        cpu, wall, D = _best(learn, repeats)
        per_batch = dict(products=stats["products"] / stats["calls"],
                         steps=stats["steps"] / stats["calls"])
        results[which] = cpu, wall, D, per_batch
    f_cpu, f_wall, _ = _best(lambda: learn_dictionary(
        X, 24, lam=0.05, n_updates=n_updates, batch_size=100, lr=1.5, inference="fista",
        seed=1, progress=False), repeats)
    ref = f"inference='fista' {f_cpu:.2f} CPU s ({f_wall:.2f})"
    return _row(f"learn_dictionary(inference='lca'), {n_updates} updates of 100, planted "
                "24 x 16 (float64, tol 1e-4); diff: of the dictionaries", results, 100, ref)


def _time_fixed_step(name, X, D, lam, gap_checks, repeats):
    """``lca`` with a fixed ``dt`` (0.9 of the stability limit) on one batch."""
    from v1model.inference import lca, max_stable_dt

    dt = 0.9 * max_stable_dt(D, 0.01)
    results = {}
    for which, use in gap_checks.items():
        use()
        lca(X, D, lam, dt=dt)  # compiles
        stats = {}
        cpu, wall, A = _best(lambda: lca(X, D, lam, dt=dt, _stats=stats), repeats)
        results[which] = cpu, wall, A, dict(stats)
    a_cpu, a_wall, _ = _best(lambda: lca(X, D, lam), repeats)
    ref = f"lca's adaptive step {a_cpu:.4f} CPU s ({a_wall:.4f})"
    return _row(f"lca(dt=0.9 max_stable_dt), {name}", results, X.shape[0], ref)


def _time_gap_learning(gap_checks, n_updates, repeats):
    """``learn_dictionary`` on the planted problem with FISTA (both steps) and the
    fixed-step LCA: the dictionaries compared, steps and products left blank."""
    from v1model.learning.olshausen_field import learn_dictionary

    X = _planted_problem()
    rows = []
    for label, kwargs, updates in (
            ("inference='fista'", dict(inference="fista"), n_updates),
            ("inference='fista', step='constant'",
             dict(inference="fista", inference_params=dict(step="constant")), n_updates),
            ("inference='lca', dt=0.0025 (fixed step)",
             dict(inference="lca", inference_params=dict(dt=0.0025)), n_updates // 3)):
        results = {}
        for which, use in gap_checks.items():
            use()

            def learn(n=updates, kwargs=kwargs):
                return learn_dictionary(X, 24, lam=0.05, n_updates=n, batch_size=100, lr=1.5,
                                        seed=1, progress=False, **kwargs)[0]

            learn(2)  # compiles, outside the timing
            cpu, wall, D = _best(learn, repeats)
            results[which] = cpu, wall, D, dict(steps=np.nan, products=np.nan)
        rows.append(_row(f"learn_dictionary({label}), {updates} updates of 100, planted "
                         "24 x 16 (float64); diff: of the dictionaries", results, 100, ""))
    return rows


def _time_of1996(gap_checks):
    """The quick olshausen-field-1996 study (FISTA learning, 1,500 updates of 100)."""
    from studies import olshausen_field_1996

    results = {}
    for which, use in gap_checks.items():
        use()
        cpu, wall, ds = _best(lambda: olshausen_field_1996.run(quick=True, seed=0), 1)
        results[which] = cpu, wall, ds["dictionary"].values, dict(steps=np.nan,
                                                                   products=np.nan)
    return _row("olshausen-field-1996 study, quick (FISTA learning); diff: of the "
                "dictionaries", results, 100, "")


def _row(name, results, n, ref):
    (c0, w0, A0, s0), (c1, w1, A1, s1) = results["before"], results["after"]
    steps = (f"{s0['steps']:.0f} / {s1['steps']:.0f}" if np.isfinite(s0["steps"]) else "-")
    products = (f"{s0['products'] / n:.1f} / {s1['products'] / n:.1f}"
                if np.isfinite(s0["products"]) else "-")
    diff = float(np.abs(np.asarray(A1, np.float64) - A0).max() / np.abs(A0).max())
    line = (f"| {name} | {c0:.4f} ({w0:.4f}) | {c1:.4f} ({w1:.4f}) | {c0 / c1:.2f}x | "
            f"{steps} | {products} | {diff:.1e} | {ref} |")
    print(line, flush=True)
    return line


#: the per-call problems: (n_atoms, n_features, n_samples)
PER_CALL_PROBLEMS = ((256, 64, 1), (256, 64, 32), (1024, 256, 1), (1024, 256, 100))
#: the per-call settings of lca: the adaptive step, the hard threshold, the fixed step
PER_CALL_SETTINGS = {"default": {}, "hard": dict(threshold="hard"),
                     "n_steps=100": dict(n_steps=100)}


def _run_per_call(rev, repeats):
    """The per-call table (``--per-call``): ``rev``'s ``lca`` against this tree's, cached
    and with the cache off, per call."""
    import importlib

    from v1model.inference import _dictionary_cache, lca

    encode_module = importlib.import_module("v1model.inference.encode")  # not the function

    before = _load_revision(rev, "lca").lca
    print(machine_line())
    print(f"before: lca.py at {rev}; after: this tree, the dictionary kept between calls; "
          f"cache off: this tree with MAX_CACHE_BYTES = 0")
    _print_per_call_header()
    kept = _dictionary_cache.MAX_CACHE_BYTES
    for k, p, n in PER_CALL_PROBLEMS:
        X, D = _unit_problem(k, p, n)
        for label, kwargs in PER_CALL_SETTINGS.items():
            def solvers(kwargs=kwargs):
                return {"before": lambda: before(X, D, 0.1, progress=False, **kwargs),
                        "after": lambda: lca(X, D, 0.1, progress=False, **kwargs)}
            _per_call_row(f"lca({label}), {k} x {p}, {n} sample{'s' * (n > 1)}", solvers(),
                          repeats, _dictionary_cache, kept)
    from v1model.network import SparseCodingNetwork

    X, D = _unit_problem(256, 64, 1)
    net = SparseCodingNetwork(D, lam=0.1)
    after_lca = encode_module.lca

    def network_encode(which):
        def run():
            encode_module.lca = before if which == "before" else after_lca
            try:
                return net.encode(X, progress=False)
            finally:
                encode_module.lca = after_lca
        return run

    _per_call_row("SparseCodingNetwork.encode, 256 x 64, 1 sample",
                  {w: network_encode(w) for w in ("before", "after")}, repeats,
                  _dictionary_cache, kept)


#: the per-call problems of the other solvers: (n_atoms, n_features, n_samples)
PER_CALL_SOLVER_PROBLEMS = ((256, 64, 1), (256, 64, 32), (1024, 256, 1), (1024, 256, 32))
#: encode's methods timed by --per-call-solvers: (solver module, its names in encode,
#: encode's arguments)
PER_CALL_METHODS = {
    "fista": ("fista", ("fista",), dict(lam=0.1)),
    "iht": ("iht", ("iht",), dict(n_nonzero=5)),
    "cd": ("coordinate_descent", ("lasso_cd",), dict(lam=0.1)),
    "omp": ("pursuit", ("orthogonal_mp", "matching_pursuit"), dict(n_nonzero=5)),
    "active_set": ("active_set", ("lasso_active_set",), dict(lam=0.1)),
}


def _run_per_call_solvers(rev, repeats):
    """The per-call table of the other solvers (``--per-call-solvers``): ``encode`` with
    ``rev``'s solver modules against this tree's, cached and with the cache off."""
    import importlib
    import warnings

    from v1model.inference import _dictionary_cache, encode

    encode_module = importlib.import_module("v1model.inference.encode")  # not the function
    print(machine_line())
    print(f"before: the solver modules at {rev} (imported beside this tree's other modules) "
          "behind this tree's encode; after: this tree, the dictionary kept between calls; "
          "cache off: this tree with MAX_CACHE_BYTES = 0")
    _print_per_call_header()
    kept = _dictionary_cache.MAX_CACHE_BYTES
    for method, (module, names, kwargs) in PER_CALL_METHODS.items():
        old = _load_revision(rev, module)
        swaps = {name: (getattr(encode_module, name), getattr(old, name)) for name in names}

        def use(which, method=method, kwargs=kwargs, swaps=swaps, X=None, D=None, dt=None):
            def run():
                # encode calls the solvers by their module-level names and SOLVERS
                saved = dict(encode_module.SOLVERS)
                for name, (new, before) in swaps.items():
                    fn = before if which == "before" else new
                    setattr(encode_module, name, fn)
                    for key, value in saved.items():
                        if value is new:
                            encode_module.SOLVERS[key] = fn
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # convergence: timing only
                        return encode(X, D, method, dtype=dt, progress=False, **kwargs)
                finally:
                    for name, (new, _) in swaps.items():
                        setattr(encode_module, name, new)
                    encode_module.SOLVERS.update(saved)
            return run

        for k, p, n in PER_CALL_SOLVER_PROBLEMS:
            X, D = _unit_problem(k, p, n)
            for dt in (np.float32, np.float64):
                solvers = {w: use(w, X=X, D=D, dt=dt) for w in ("before", "after")}
                _per_call_row(f"{method}, {k} x {p}, {n} sample{'s' * (n > 1)}, "
                              f"{np.dtype(dt).name}", solvers, repeats, _dictionary_cache,
                              kept)


#: the per-call problems of the spiking LCA: (n_atoms, n_features, n_samples)
PER_CALL_SPIKING_PROBLEMS = ((256, 64, 1), (256, 64, 4), (1024, 256, 1), (1024, 256, 4))


def _run_per_call_spiking(rev, repeats):
    """The per-call table of the spiking LCA (``--per-call-spiking``): ``rev``'s
    ``spiking_lca`` against this tree's, cached and with the cache off, on Brian2's numpy
    target (no compiler)."""
    from v1model.inference import _dictionary_cache
    from v1model.spiking import spiking_lca

    before = _load_revision(rev, "lca", "spiking").spiking_lca
    print(machine_line())
    print(f"before: spiking/lca.py at {rev}; after: this tree, the lateral weights kept "
          "between calls; cache off: this tree with MAX_CACHE_BYTES = 0; Brian2's numpy "
          "target, 10 ms simulated at dt = 0.1 ms, lam 0.1, seed 0")
    _print_per_call_header()
    kept = _dictionary_cache.MAX_CACHE_BYTES
    for k, p, n in PER_CALL_SPIKING_PROBLEMS:
        X, D = _unit_problem(k, p, n)
        X = 4.0 * X  # drives worth a few spikes in the 7 ms window

        def call(simulator, X=X, D=D):
            def run():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # few spikes: timing
                    return simulator(X, D, 0.1, duration=0.01, target="numpy", seed=0,
                                     progress=False)["code"].values
            return run

        _per_call_row(f"spiking_lca, {k} x {p}, {n} sample{'s' * (n > 1)}",
                      {"before": call(before), "after": call(spiking_lca)}, repeats,
                      _dictionary_cache, kept)


#: updates per learning run of ``--learners``
LEARNER_UPDATES = 20
#: the learner modules that enter ``bypassing_cache`` around their updates
BYPASSING_LEARNER_MODULES = ("_loop", "olshausen_field", "online")


@contextlib.contextmanager
def _cache_path_forced():
    """The learners' ``bypassing_cache`` made a no-op: their minibatch dictionaries are
    compared, copied and kept, as before the learners bypassed the cache (the "before"
    of ``--learners``)."""
    import importlib

    modules = [importlib.import_module(f"v1model.learning.{name}")
               for name in BYPASSING_LEARNER_MODULES]
    saved = [module.bypassing_cache for module in modules]
    for module in modules:
        module.bypassing_cache = contextlib.nullcontext
    try:
        yield
    finally:
        for module, bypassing_cache in zip(modules, saved):
            module.bypassing_cache = bypassing_cache


def _learner_runs():
    """(name, n_updates, run() -> learned dictionary) of ``--learners``."""
    from _inference_setup import training_patches

    from v1model.learning import learn_dictionary, learn_ksvd, learn_mod, learn_online

    X16, X8, n = training_patches(4000, 16), training_patches(4000, 8), LEARNER_UPDATES
    common = dict(seed=0, progress=False)
    yield ("learn_dictionary, fista, 256 atoms, 16x16, batch 100", n,
           lambda: learn_dictionary(X16, 256, lam=0.15, n_updates=n, batch_size=100,
                                    **common)[0])
    yield ("learn_dictionary, lca, 256 atoms, 16x16, batch 100", n // 2,
           lambda: learn_dictionary(X16, 256, lam=0.15, inference="lca", n_updates=n // 2,
                                    batch_size=100, **common)[0])
    yield ("learn_mod, fista, 64 atoms, 8x8, batch 256", n,
           lambda: learn_mod(X8, 64, lam=0.15, n_updates=n, batch_size=256, **common)[0])
    yield ("learn_ksvd, omp (4 atoms), 64 atoms, 8x8, batch 256", n,
           lambda: learn_ksvd(X8, 64, method="omp", n_nonzero=4, n_updates=n,
                              batch_size=256, **common)[0])
    yield ("learn_online, fista, 64 atoms, 8x8, batch 256", n,
           lambda: learn_online(X8, 64, lam=0.15, n_updates=n, batch_size=256,
                                **common)[0])


def _run_learners(repeats):
    """The tables of ``--learners`` (module docstring)."""
    from _inference_setup import training_patches

    from v1model.inference import _dictionary_cache, encode
    from v1model.learning import learn_dictionary

    print(machine_line())
    print("before: the solvers' cache path (the learners' bypassing_cache a no-op); after: "
          f"this tree (the learners bypass the cache); {LEARNER_UPDATES} updates (lca: "
          f"{LEARNER_UPDATES // 2}), best of {repeats}")
    print()
    print("| learner | before: ms per update, CPU (wall) | after | ratio (CPU) "
          "| max dictionary diff |")
    print("|---|---|---|---|---|")
    for name, n, run in _learner_runs():
        results = {}
        for which in ("before", "after"):
            with _cache_path_forced() if which == "before" else contextlib.nullcontext():
                _dictionary_cache.clear_dictionary_cache()
                cpu, wall, D = _best(run, repeats)
            results[which] = 1e3 * cpu / n, 1e3 * wall / n, np.asarray(D, np.float64)
        (c0, w0, D0), (c1, w1, D1) = results["before"], results["after"]
        print(f"| {name} | {c0:.2f} ({w0:.2f}) | {c1:.2f} ({w1:.2f}) | {c0 / c1:.2f}x | "
              f"{float(np.abs(D1 - D0).max()):.1e} |", flush=True)

    X8 = training_patches(1000, 8)
    x, D_user = _unit_problem(1024, 256, 1, seed=1)
    print()
    print("encode(x, D_user), one sample, 1024 x 256 float64 atoms, right after "
          "learn_dictionary(64 atoms, 8x8, 2 updates): ms, CPU (wall), best of "
          f"{repeats}; warm = the same call with D_user kept (no learning run between)")
    print()
    print("| call | before: after a learning run | after: after a learning run "
          "| ratio (CPU) | warm | max code diff |")
    print("|---|---|---|---|---|---|")
    for method, kwargs in (("fista", dict(lam=0.1)), ("lca", dict(lam=0.1)),
                           ("omp", dict(n_nonzero=5)), ("cd", dict(lam=0.1))):
        def call(method=method, kwargs=kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence: timing only
                return np.asarray(encode(x, D_user, method, progress=False, **kwargs))

        def learn_then_call(call=call):
            learn_dictionary(X8, 64, lam=0.15, n_updates=2, batch_size=100, seed=0,
                             progress=False)
            c0, w0 = time.process_time(), time.perf_counter()
            A = call()
            return time.process_time() - c0, time.perf_counter() - w0, A

        results = {}
        for which in ("before", "after"):
            with _cache_path_forced() if which == "before" else contextlib.nullcontext():
                call()  # D_user kept (and kernels compiled)
                times = [learn_then_call() for _ in range(repeats)]
            results[which] = (1e3 * min(t[0] for t in times),
                              1e3 * min(t[1] for t in times), times[-1][2])
        call()
        warm_cpu, warm_wall, _ = _best(call, repeats)
        (c0, w0, A0), (c1, w1, A1) = results["before"], results["after"]
        print(f"| {method} | {c0:.2f} ({w0:.2f}) | {c1:.2f} ({w1:.2f}) | {c0 / c1:.2f}x | "
              f"{1e3 * warm_cpu:.2f} ({1e3 * warm_wall:.2f}) | "
              f"{float(np.abs(A1 - A0).max()):.1e} |", flush=True)


def _print_per_call_header():
    """The header of a per-call table (:func:`_per_call_row`'s columns)."""
    print()
    print("| problem | before: ms per call, CPU (wall) | after | ratio (CPU) | cache off "
          "| max code diff |")
    print("|---|---|---|---|---|---|")


#: CPU seconds of calls per timing of the per-call table (at least 2 calls)
PER_CALL_SECONDS = 0.5


def _per_call_row(name, solvers, repeats, cache, kept):
    """One row of the per-call table: each of ``solvers`` ("before", "after") and "after"
    with the cache off, as many calls per timing as take :data:`PER_CALL_SECONDS` before,
    best of ``repeats``."""
    results, calls = {}, None
    for which, solve in (("before", solvers["before"]), ("after", solvers["after"]),
                         ("off", solvers["after"])):
        cache.MAX_CACHE_BYTES = 0 if which == "off" else kept
        cache.clear_dictionary_cache()
        solve()  # the first call: kernels compiled, the dictionary's values kept
        if calls is None:
            c0 = time.process_time()
            solve()
            calls = max(2, int(PER_CALL_SECONDS / max(time.process_time() - c0, 1e-4)))

        def loop(solve=solve):
            for _ in range(calls):
                out = solve()
            return out

        cpu, wall, A = _best(loop, repeats)
        results[which] = 1e3 * cpu / calls, 1e3 * wall / calls, A
    cache.MAX_CACHE_BYTES = kept
    (c0, w0, A0), (c1, w1, A1), (c2, w2, A2) = (results[w] for w in ("before", "after",
                                                                      "off"))
    diff = max(float(np.abs(np.asarray(A1, np.float64) - A0).max()),
               float(np.abs(np.asarray(A2, np.float64) - A0).max()))
    line = (f"| {name} | {c0:.2f} ({w0:.2f}) | {c1:.2f} ({w1:.2f}) | {c0 / c1:.2f}x | "
            f"{c2:.2f} ({w2:.2f}) | {diff:.1e} |")
    print(line, flush=True)
    return line


def _unit_problem(n_atoms, n_features, n_samples, seed=0):
    """Random unit atoms and samples of ~5 of them each, plus noise (float64)."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.where(rng.random((n_samples, n_atoms)) < 5 / n_atoms,
                 rng.standard_normal((n_samples, n_atoms)), 0.0)
    return A @ D + 0.01 * rng.standard_normal((n_samples, n_features)), D


def _planted_problem(n_atoms=24, n_features=16, n_samples=6000, k=3, noise=0.01, seed=0):
    """``planted_problem()`` of tests/learning/test_olshausen_field.py (same draws)."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        idx = rng.choice(n_atoms, k, replace=False)
        A[i, idx] = rng.laplace(0, 1, k) + np.sign(rng.standard_normal(k)) * 0.5
    return A @ D + noise * rng.standard_normal((n_samples, n_features))


if __name__ == "__main__":
    main()
