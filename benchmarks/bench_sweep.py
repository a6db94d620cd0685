"""Sweep executors: parallel efficiency and per-point overhead.

1. Parallel efficiency: 16 points of the ``lca-sweep`` study of about 5 s each
   (``n_updates`` calibrated on this machine), run serially in this process
   and on a local pool of 2 workers, in the same run:
   ``efficiency = T_serial / (2 * T_pool)`` (target >= 0.85).
2. Per-point overhead of each executor for trivial points (a study that
   returns one number): wall time for 100 and for 300 points, saved to a sweep
   folder; the marginal cost per point is ``(T300 - T100) / 200`` and the fixed
   cost (pool / cluster start) is what remains (target < 50 ms per point
   locally).
3. ``sweep status`` of a finished folder of 1,200 trivial points (13 failed, 14 warned;
   ``--status-points``): as it reads now (markers from ``points/.markers.json``, one
   ``stat`` per point; point values from ``sweep.json``) and as it read before, in the
   same run: every point file opened for its marker and the folder's spec loaded, its
   study imported, to name the failed and warned points. Best of 3, after one call that
   pays the imports.

The machine's load is printed with the figures: on a shared machine the
numbers move with it. Run from the project root::

    python benchmarks/bench_sweep.py [--points 16] [--target 5] [--skip-dask]
    python benchmarks/bench_sweep.py --quick    # --points 4 --target 1 --skip-dask,
                                                # --status-points 100
    python benchmarks/bench_sweep.py --skip-efficiency --skip-overhead   # status only
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve()


def noop(quick=False, seed=0, x=0):
    """A trivial point."""
    return xr.Dataset({"y": ((), float(x))})


def sometimes(quick=False, seed=0, x=0):
    """A trivial point that warns at x % 89 == 3 and fails at x % 97 == 5."""
    import warnings

    if x % 97 == 5:
        raise ValueError(f"fails at x={x}")
    if x % 89 == 3:
        warnings.warn(f"warns at x={x}", RuntimeWarning)
    return xr.Dataset({"y": ((), float(x))})


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    return time.perf_counter() - t0, out


def calibrate(target: float) -> int:
    """n_updates for which one lca-sweep point takes about ``target`` seconds
    on one thread."""
    import studies.lca_sweep as study

    params = dict(lam=0.2, overcompleteness=1, gabor=False, n_test=300)
    study.run(seed=0, n_updates=5, **params)  # warm caches (images, imports)
    t, _ = timed(study.run, seed=0, n_updates=100, **params)
    t0, _ = timed(study.run, seed=0, n_updates=1, **params)
    per_update = max((t - t0) / 99, 1e-4)
    return max(1, int(round((target - t0) / per_update)))


def efficiency(n_points: int, target: float, workdir: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from v1model import sweep

    with threadpool_limits(1):  # the pool's workers get one BLAS thread each too
        n_updates = calibrate(target)
    params = dict(lam=0.2, overcompleteness=1, gabor=False, n_test=300, n_updates=n_updates)
    grid = {"lam": [0.2]}
    kwargs = dict(params={k: v for k, v in params.items() if k != "lam"}, n_seeds=n_points,
                  progress=False)
    with threadpool_limits(1):
        t_serial, serial = timed(sweep.run, "lca-sweep", grid, executor="serial",
                                 output=workdir / "serial", **kwargs)
    t_pool, pooled = timed(sweep.run, "lca-sweep", grid,
                           executor={"kind": "local", "workers": 2},
                           output=workdir / "pool", **kwargs)
    # BLAS results can differ in the last bits between processes; learning amplifies that
    same = max(float(np.max(np.abs(serial[v].values - pooled[v].values)))
               for v in ("reconstruction_error", "activity_ratio"))
    return {
        "n_updates": n_updates,
        "point_mean": float(serial["duration"].mean()),
        "pool_point_mean": float(pooled["duration"].mean()),
        # fraction of the workers' wall time spent inside points: the executor's share
        "utilisation": float(pooled["duration"].sum()) / (2 * t_pool),
        # CPU a point got per second of wall time: below 1 the machine, not the pool, is short
        "cpu_share_serial": float(serial["cpu_time"].sum() / serial["duration"].sum()),
        "cpu_share_pool": float(pooled["cpu_time"].sum() / pooled["duration"].sum()),
        "t_serial": t_serial,
        "t_pool": t_pool,
        "efficiency": t_serial / (2 * t_pool),
        "max_difference": same,
    }


def overhead(executor, workdir: Path, label: str, sizes=(100, 300)) -> dict:
    from v1model import sweep

    times = []
    for n in sizes:
        out = workdir / f"{label}-{n}"
        t, ds = timed(sweep.run, f"{HERE}:noop", {"x": list(range(n))}, executor=executor,
                      output=out, progress=False)
        assert int(ds.attrs["sweep_n_ok"]) == n
        times.append(t)
    marginal = (times[1] - times[0]) / (sizes[1] - sizes[0])
    return {"label": label, "t_small": times[0], "t_large": times[1], "marginal": marginal,
            "fixed": times[0] - sizes[0] * marginal}


def status_times(n_points: int, workdir: Path, repeats: int = 3) -> dict:
    """Seconds of ``sweep.status`` of a finished folder of ``n_points`` trivial points, as
    it reads now and as it read before (every marker read from its file, the study
    imported through the folder's spec), best of ``repeats``."""
    import warnings

    from v1model import sweep
    from v1model.sweep import runner
    from v1model.sweep.storage import DirectoryStore

    out = workdir / f"status-{n_points}"
    with warnings.catch_warnings(record=True):  # recorded by the points, not shown
        warnings.simplefilter("default")
        sweep.run(f"{HERE}:sometimes", {"x": list(range(n_points))}, executor="serial",
                  output=out, progress=False)
    read = DirectoryStore._read_markers

    def before():
        DirectoryStore._read_markers = lambda self: {}  # every file opened
        try:
            st = sweep.status(out)
            runner._open_folder(out)  # what named the failed and warned points
            return st
        finally:
            DirectoryStore._read_markers = read

    now, then = sweep.status(out), before()  # the imports, once
    assert now.summary() == then.summary()
    t_now = min(timed(sweep.status, out)[0] for _ in range(repeats))
    t_before = min(timed(before)[0] for _ in range(repeats))
    return {"n_points": n_points, "now": t_now, "before": t_before,
            "failed": len(now.failed), "warned": len(now.warned)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the smallest mode: --points 4 --target 1 --skip-dask")
    parser.add_argument("--points", type=int, default=None, help="default 16 (quick: 4)")
    parser.add_argument("--target", type=float, default=None,
                        help="seconds per point, default 5 (quick: 1)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-efficiency", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--status-points", type=int, default=None,
                        help="points of the folder whose `sweep status` is timed, default "
                             "1200 (quick: 100; 0: none)")
    args = parser.parse_args(argv)
    # as the other scripts' --quick: smaller defaults, options given explicitly still win
    if args.points is None:
        args.points = 4 if args.quick else 16
    if args.target is None:
        args.target = 1.0 if args.quick else 5.0
    args.skip_dask = args.skip_dask or args.quick
    if args.status_points is None:
        args.status_points = 100 if args.quick else 1200

    workdir = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        print(f"before: {load()}")
        if not args.skip_efficiency:
            r = efficiency(args.points, args.target, workdir)
            print(f"\n{args.points} lca-sweep points, n_updates={r['n_updates']} "
                  f"(mean point {r['point_mean']:.2f} s serial)")
            print(f"  serial (this process, 1 thread)  {r['t_serial']:7.1f} s")
            print(f"  local pool, 2 workers            {r['t_pool']:7.1f} s")
            print(f"  parallel efficiency              {r['efficiency']:7.2f}   (target >= 0.85)")
            print(f"  max |serial - pool| of the outputs {r['max_difference']:.2g}")
            print(f"  mean point: serial {r['point_mean']:.2f} s, in the pool "
                  f"{r['pool_point_mean']:.2f} s")
            print(f"  CPU per wall second of a point: serial {r['cpu_share_serial']:.2f}, "
                  f"pool {r['cpu_share_pool']:.2f}")
            print(f"  worker utilisation (time in points / 2 T_pool) {r['utilisation']:.3f}")
            print(f"  {load()}")

        if args.status_points:
            r = status_times(args.status_points, workdir)
            print(f"\nsweep status of {r['n_points']} finished points ({r['failed']} failed, "
                  f"{r['warned']} warned), best of 3")
            print(f"  now (markers file, values from sweep.json)  {r['now']:7.3f} s")
            print(f"  before (every point file, study imported)   {r['before']:7.3f} s")
            print(f"  {load()}")
        if args.skip_overhead:
            print(f"\nafter: {load()}")
            return
        from v1model.sweep import DaskExecutor

        rows = [overhead("serial", workdir, "serial"),
                overhead({"kind": "local", "workers": 2}, workdir, "local")]
        if not args.skip_dask:
            import logging

            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            with Client(cluster) as client:
                rows.append(overhead(DaskExecutor(client=client), workdir, "dask (running)"))
            cluster.close()
            rows.append(overhead({"kind": "dask", "n_workers": 2}, workdir, "dask (started)"))
        print("\ntrivial points, saved to a sweep folder (marginal = (T300 - T100) / 200)")
        print(f"  {'executor':<16}{'T100 (s)':>10}{'T300 (s)':>10}{'per point (ms)':>16}"
              f"{'fixed (s)':>11}")
        for r in rows:
            print(f"  {r['label']:<16}{r['t_small']:>10.2f}{r['t_large']:>10.2f}"
                  f"{1e3 * r['marginal']:>16.1f}{r['fixed']:>11.2f}")
        print(f"\nafter: {load()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
