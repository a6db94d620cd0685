"""``v1model sweep ...`` commands: run, status, resume, retry-failed, jobscript.

Exit codes: 0 every point ok; 1 some points failed (see ``status``); 2 bad
spec or output; 130 interrupted (finished points are kept: ``resume``; while the
figures were drawn, the result is saved and ``resume`` draws them).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

__all__ = ["add_sweep_parser"]

#: units that mean "no unit": not printed with the parameter
DIMENSIONLESS = ("", "1", "dimensionless")


def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``sweep`` and its subcommands to the top-level ``v1model`` parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``sweep`` parser.
    """
    sweep = subparsers.add_parser(
        "sweep", help="run a study over a parameter grid (local, dask, SLURM, PBS)",
        description="Run a study over a grid of parameters, save every point as it finishes, "
                    "resume after a crash, retry failed points.",
    )
    sub = sweep.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND")
    sub.required = True

    def executor_options(p):
        p.add_argument("--executor", choices=("local", "serial", "dask", "slurm", "pbs"),
                       help="override the spec's executor kind (its other options are dropped "
                            "unless the kind is the same)")
        p.add_argument("--workers", type=int, help="local: worker processes; dask: workers "
                                                   "of the LocalCluster started for the run")
        p.add_argument("--address", help="dask: scheduler address of a running cluster "
                                         "(implies --executor dask)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument("--no-plot", action="store_true",
                       help="do not draw the study's sweep figures at the end")
        p.add_argument("--allow-changed-defaults", action="store_true",
                       help="run the points of a sweep folder although the study's defaults "
                            "changed since it began (an upgrade of v1model): its finished "
                            "points keep the old ones")

    run = sub.add_parser("run", help="run a sweep spec (TOML)",
                         description="Run the sweep described by SPEC.toml. Running it again "
                                     "runs only the points that are missing.")
    run.add_argument("spec", help="sweep spec file (TOML)")
    run.add_argument("--output", help="override the spec's output folder")
    run.add_argument("--quick", action="store_true",
                     help="run every point in its quick variant (a different sweep: give "
                          "another --output)")
    run.add_argument("--dry-run", action="store_true",
                     help="check the spec, the output folder, the swept values and the "
                          "executor (slurm: `sbatch --test-only`; pbs: `qsub` on PATH; dask: "
                          "connects to --address), print the grid; run and submit nothing")
    executor_options(run)
    run.set_defaults(func=_cmd_run)

    st = sub.add_parser("status", help="show done (warned) / failed / pending points of a "
                                       "sweep folder",
                        description="Show the progress of a sweep folder (reads only).")
    st.add_argument("output", help="sweep folder")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(func=_cmd_status)

    res = sub.add_parser("resume", help="run the points of a sweep folder not yet run",
                         description="Run the points of a sweep folder that are not finished, "
                                     "with the spec stored in the folder.")
    res.add_argument("output", help="sweep folder")
    executor_options(res)
    res.set_defaults(func=_cmd_resume)

    retry = sub.add_parser("retry-failed", help="run only the failed points again",
                           description="Run again only the points recorded as failed.")
    retry.add_argument("output", help="sweep folder")
    executor_options(retry)
    retry.set_defaults(func=_cmd_retry)

    job = sub.add_parser("jobscript", help="print the SLURM / PBS job script of a spec",
                         description="Print the batch script one dask-jobqueue job of the "
                                     "spec's slurm or pbs executor would submit.")
    job.add_argument("spec", help="sweep spec file (TOML)")
    job.set_defaults(func=_cmd_jobscript)
    return sweep


# ----------------------------------------------------------------------------- helpers
def _executor_override(args, current: dict):
    if args.executor is None and args.workers is None and args.address is None:
        return None
    kind = args.executor or ("dask" if args.address else current.get("kind", "local"))
    config = dict(current) if kind == current.get("kind") else {"kind": kind}
    if args.workers is not None:
        if kind == "local":
            config["workers"] = args.workers
        elif kind == "dask":
            config["n_workers"] = args.workers
        else:
            raise ValueError(f"--workers applies to the local and dask executors, not {kind!r}")
    if args.address is not None:
        if kind != "dask":
            raise ValueError(f"--address needs the dask executor, not {kind!r}")
        config["address"] = args.address
    return config


def _spec_executor(path) -> dict:
    """The ``[executor]`` table of the spec file ``path`` as written (unchecked; {} when
    it has none, or none that is a table: :func:`load_spec` reports that)."""
    from pathlib import Path

    from .tomlio import read_toml

    table = read_toml(Path(path).expanduser()).get("executor", {})
    if isinstance(table, str):  # a kind name
        return {"kind": table}
    return dict(table) if isinstance(table, dict) else {}


def _execute(spec, args, only) -> int:
    from .errors import (ExecutorStartError, OutputLockedError, OutputWriteError,
                         WorkersLostError)
    from .runner import run_spec, status

    progress = not args.no_progress
    figures = spec.output / "figures" if spec.output is not None else None
    if figures is not None and not args.no_plot and figures.exists() and not figures.is_dir():
        # found now, not after the last point
        raise ValueError(f"output: {str(figures)!r}, where the sweep's figures go, is a file; "
                         "remove it or pass --no-plot")
    result = None
    if spec.output is not None:
        result = spec.output / ("sweep.nc" if spec.format == "netcdf" else "sweep.zarr")
    before = _modified(result)
    plot_failed = False
    try:
        ds = run_spec(spec, only=only, progress=progress, stop_on_sigterm=True,
                      allow_changed_defaults=args.allow_changed_defaults)
    except KeyboardInterrupt:
        from .storage import count_point_files, is_sweep_folder

        if not is_sweep_folder(spec.output):
            # stopped in the pre-flight checks of a new sweep, before its folder was made:
            # "continue with `v1model sweep resume FOLDER`" named a folder that did not exist
            return _interrupted_before("began")
        # how far it got: the job log said "finished points are saved" of none or of all
        done = f"{count_point_files(spec.output)} of {spec.grid.n_points} points done"
        print(f"\ninterrupted: finished points are saved in {spec.output} ({done}); continue "
              f"with `v1model sweep resume {shlex.quote(str(spec.output))}`",
              file=sys.stderr)
        return 130
    except OutputLockedError as exc:
        print(f"v1model: error: {exc}", file=sys.stderr)
        return 2
    except (ExecutorStartError, OutputWriteError, WorkersLostError) as exc:
        print(f"v1model: error: {exc}", file=sys.stderr)
        return 1
    n_ok, n_failed = int(ds.attrs["sweep_n_ok"]), int(ds.attrs["sweep_n_failed"])
    n_pending = int(ds.attrs["sweep_n_pending"])
    # the points that warned were shown as they came, hundreds of lines up a job's log:
    # the last lines said nothing of them
    n_warned = int(((ds["status"] == "ok") & (ds["warnings"] != "")).sum()) \
        if "warnings" in ds else 0
    warned = ""
    if n_warned:
        warned = f"; {n_warned} of the ok points warned"
        if spec.output is not None:
            warned += f" (`v1model sweep status {shlex.quote(str(spec.output))}` lists them)"
    print(f"{n_ok} ok, {n_failed} failed, {n_pending} pending of {ds.attrs['sweep_n_points']} "
          f"points{warned}")
    if not n_pending and result is not None:
        # a finished sweep in a folder it cannot write (read-only) is loaded, not refused
        writable = os.access(spec.output, os.W_OK)
        if not writable:
            print(f"loaded {result} (the folder cannot be written here: nothing was run or "
                  f"written, and the figures were not drawn again)")
        elif before is not None and _modified(result) == before:
            # a resume of a finished sweep runs nothing and only loads the result: it
            # said "wrote" of a file it had not touched
            print(f"loaded {result} (every point was already finished: nothing was run or "
                  f"written)")
        else:
            print(f"wrote {result}")
            # the previous result's figures go with it (as in `v1model study run`): a plot
            # that fails, is skipped or interrupted must not leave them beside the new one
            if (spec.output / "figures").is_dir():
                for old in (spec.output / "figures").glob("*.png"):
                    old.unlink(missing_ok=True)
        if not args.no_plot and n_ok and writable:
            plotter = spec.study.sweep_plotter()
            if plotter is not None:
                try:
                    figures = plotter(ds, spec.output / "figures")
                except ValueError as exc:  # a grid the study's figure is not made for
                    print(f"v1model: warning: no sweep figure: {exc}", file=sys.stderr)
                    figures = []
                except Exception as exc:  # the figures are lost, not the result
                    # a traceback (exit 1) after "wrote sweep.nc" did not say it was saved
                    folder = shlex.quote(str(spec.output))
                    print(f"v1model: error: plotting failed ({type(exc).__name__}: {exc}); "
                          f"the result is saved in {result}; draw the figures again with "
                          f"`v1model sweep resume {folder}` (it runs no point)",
                          file=sys.stderr)
                    figures, plot_failed = [], True
                except KeyboardInterrupt:
                    # Ctrl-C or SIGTERM here said only "interrupted", as if the run were lost
                    folder = shlex.quote(str(spec.output))
                    print(f"\ninterrupted while drawing the sweep's figures: the result is "
                          f"saved in {result}, but the figures in {spec.output / 'figures'} "
                          f"were not all drawn; draw them with `v1model sweep resume "
                          f"{folder}` (it runs no point)", file=sys.stderr)
                    return 130
                for fig in figures:
                    print(f"wrote {fig}")
    if n_failed:
        folder = shlex.quote(str(spec.output))  # a command to copy: a space stays in the path
        if spec.output is not None and status(spec.output).removed:
            # retry-failed is refused then: it would assemble a result without them
            print(f"failed points: `v1model sweep status {folder}`; retry-failed needs the "
                  f"point files removed from {folder}/points: restore them first")
        else:
            print(f"failed points: `v1model sweep status {folder}`; run them again with "
                  f"`v1model sweep retry-failed {folder}`")
        return 1
    return 1 if plot_failed else 0


def _interrupted_before(what: str) -> int:
    """Say that a Ctrl-C (or SIGTERM) stopped the command before the sweep ``what``
    ("began", "resumed"), with nothing run or saved; return the exit code, 130."""
    print(f"\ninterrupted before the sweep {what}: nothing was run or saved", file=sys.stderr)
    return 130


def _modified(path):
    """``path``'s inode and modification time, or None when it does not exist: the result
    is saved under a temporary name and renamed (:func:`v1model.io.atomic_path`), so a
    new one (file or zarr folder) changes them."""
    if path is None:
        return None
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        # NotADirectoryError: an output that is a file, which the run refuses by name
        # ("output: ... is a file"); raised here it was "[Errno 20]", exit 1
        return None
    return info.st_ino, info.st_mtime_ns


def _describe_grid(spec) -> str:
    g = spec.grid
    lines = [f"study     {spec.study.ref}", f"output    {spec.output}",
             f"executor  {json.dumps(spec.executor)}",
             f"grid      {' x '.join(f'{d}={s}' for d, s in zip(g.dims, g.shape))} = "
             f"{g.n_points} points (root seed {g.root_seed})"]
    for axis in g.axes:
        for name, values in axis.params.items():
            unit = axis.units.get(name, "")
            # "1" (the study's mark for dimensionless) would read like an index
            unit = "" if unit in DIMENSIONLESS else f" [{unit}]"
            lines.append(f"  {name}{unit}: {list(values)}")
    if spec.params:
        lines.append(f"fixed     {spec.params}")
    for i in range(min(g.n_points, 3)):
        lines.append(f"point {i}: {g.parameters(i)} seed={g.seed(i)}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- commands
def _cmd_run(args) -> int:
    # a Ctrl-C while the spec was read (its study imported: seconds for a study with heavy
    # imports) or checked said "v1model: interrupted", one in the values' checks
    # "interrupted before the sweep began": the same pre-flight, now told one way
    try:
        spec = _run_spec(args)
        if args.dry_run:
            return _dry_run(spec)
    except KeyboardInterrupt:
        return _interrupted_before("began")
    return _execute(spec, args, "pending")


def _run_spec(args):
    """The spec of ``sweep run``, with the command line's overrides."""
    from .spec import load_spec

    quick = True if args.quick else None
    # the override is made from the [executor] table as written, not from the spec checked
    # with it: `--executor local` was refused for the options it drops (a SLURM spec's
    # `log_directory = "$SCRATCH/logs"` on a laptop without $SCRATCH)
    override = _executor_override(args, _spec_executor(args.spec))
    spec = load_spec(args.spec, output=args.output, executor=override, quick=quick)
    if spec.output is None:
        raise ValueError("output: missing; give `output = \"FOLDER\"` in the spec or --output")
    return spec


def _dry_run(spec) -> int:
    """``sweep run --dry-run``: check what a run checks before its first point, print the
    grid; run and submit nothing."""
    from .storage import DirectoryStore

    from .preflight import check_points

    from .errors import ExecutorStartError
    from .executors import JobQueueExecutor, make_executor

    resumes = DirectoryStore.check_folder(spec.output, spec)  # refused folders fail here
    try:  # as the run's lock would refuse it (a read-only file system)
        from ..locking import check_can_create

        check_can_create(spec.output)
    except ValueError:
        from .runner import _finished_read_only

        # but a finished sweep there is loaded, not resumed: its run writes nothing
        if not resumes or _finished_read_only(spec, "pending") is None:
            raise
    n_checked = check_points(spec)  # refused values fail here
    executor = make_executor(spec.executor)
    try:  # as a real run would before it starts: no `sbatch`, a job SLURM refuses
        executor.check_submission()
    except ExecutorStartError as exc:
        print(f"v1model: error: {exc}", file=sys.stderr)
        return 1
    print(_describe_grid(spec))
    if isinstance(executor, JobQueueExecutor):
        print(f"jobs      `{executor.submit_command()}` is on PATH" +
              (" and `sbatch --test-only` accepts the job script"
               if executor.kind == "slurm" else " (PBS has no dry run of the job script)"))
    if n_checked:
        print(f"values    the study accepts every swept value ({n_checked} points checked)")
    else:
        print("values    not checked: the study does not check its parameters up front "
              "(v1model.sweep.checks_parameters)")
    if resumes:
        print(f"{spec.output} holds this sweep already: running it resumes it")
        from .spec import changed_defaults
        from .storage import read_manifest

        changed = changed_defaults(read_manifest(spec.output).get("study_defaults") or {},
                                   spec)
        if changed:  # a real run refuses it once a point has finished
            print("defaults  the study's defaults changed since the sweep began: " +
                  "; ".join(f"{name}: {then} then, {now} now"
                            for name, (then, now) in changed.items()) +
                  " (running it needs --allow-changed-defaults once a point finished)")
    return 0


def _load_folder(args):
    from .runner import _open_folder
    from .spec import load_spec

    output, spec = _open_folder(args.output)
    override = _executor_override(args, spec.executor)
    if override is not None:
        spec = load_spec(output / "spec.toml", output=output, executor=override,
                         resolve_paths=False)
    return spec


def _cmd_resume(args) -> int:
    return _execute_folder(args, "pending")


def _cmd_retry(args) -> int:
    return _execute_folder(args, "failed")


def _execute_folder(args, only) -> int:
    try:  # reading the folder's spec imports its study, as `sweep run`'s does
        spec = _load_folder(args)
    except KeyboardInterrupt:
        return _interrupted_before("resumed")
    return _execute(spec, args, only)


def _cmd_status(args) -> int:
    from .runner import status

    st = status(args.output)
    if args.json:
        print(json.dumps({
            "path": str(st.path), "study": st.study, "dims": list(st.dims),
            "shape": list(st.shape), "n_points": st.n_points, "done": len(st.done),
            "failed": {str(k): v.get("error", "") for k, v in sorted(st.failed.items())},
            "warned": {str(k): v for k, v in sorted(st.warned.items())},
            # the values of those points: the indices alone said nothing of them
            "coordinates": {str(k): v for k, v in sorted(st.coordinates.items())},
            "pending": len(st.pending), "corrupt": [str(p) for p in st.corrupt],
            "result": str(st.result) if st.result else None,
            "removed": len(st.removed), "damaged": st.damaged, "lost": st.lost,
            "running": st.running, "read_only": st.read_only, "stale_lock": st.stale_lock,
        }, indent=2))
    else:
        print(st.summary())
    return 0


def _cmd_jobscript(args) -> int:
    from pathlib import Path

    from .errors import ExecutorStartError
    from .executors import make_executor
    from .spec import parse_spec
    from .tomlio import read_toml

    path = Path(args.spec).expanduser()
    data = read_toml(path)
    # the job script does not use the output folder: an `output` with a variable unset
    # here ("/scratch/$USER/...") refused a script that needs none of it
    data.pop("output", None)
    spec = parse_spec(data, source=path)
    if spec.executor["kind"] not in ("slurm", "pbs"):
        raise ValueError(f"executor.kind: a job script needs kind 'slurm' or 'pbs', the spec "
                         f"has {spec.executor['kind']!r}")
    try:
        script = make_executor(spec.executor).job_script()
    except ExecutorStartError as exc:  # e.g. a log_directory that cannot be created
        print(f"v1model: error: {exc}", file=sys.stderr)
        return 1
    print(script)
    return 0

