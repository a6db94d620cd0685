"""Executors with the real thing: serial, a local process pool and a dask
LocalCluster give identical Datasets; a killed worker's point runs again and
every point finishes exactly once; dask-jobqueue job scripts carry the
requested resources."""

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from v1model.sweep import DaskExecutor, LocalExecutor, load_spec, point_seed, run
from v1model.sweep.executors import JobQueueExecutor, make_executor

GRID = {"x": [1.0, 2.0, 3.0], "label": ["a", "bb"]}


def comparable(ds):
    """Drop what legitimately differs between executors: timings and the
    executor description."""
    ds = ds.drop_vars(["duration", "cpu_time"])
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "sweep_executor"}
    return ds


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    """The small sweep run serially in this process, saved to a sweep folder."""
    out = tmp_path_factory.mktemp("serial") / "sweep"
    return run(f"{Path(__file__).with_name('_studies.py')}:tiny", GRID, n_seeds=2, seed=5,
               executor="serial", output=out, progress=False)


def test_serial_result_matches_independent_reference(serial_reference):
    ds = serial_reference
    assert dict(ds.sizes) == {"x": 3, "label": 2, "replicate": 2, "k": 3}
    assert ds["x"].attrs["units"] == "m"  # from the study's PARAMETER_UNITS
    assert (ds["status"] == "ok").all()
    for i, (x, label, r) in enumerate(np.ndindex(3, 2, 2)):
        seed = point_seed(5, i)
        rng = np.random.default_rng(seed)
        point = ds.isel(x=x, label=label, replicate=r)
        assert int(point["point_seed"]) == seed
        xv = GRID["x"][x]
        assert float(point["y"]) == xv * rng.normal()
        np.testing.assert_array_equal(point["v"].values, xv + np.arange(3) + rng.uniform(size=3))
        assert point["name"].item() == f"{GRID['label'][label]}3"
    assert ds["count"].dtype == np.int64
    assert "boom" not in "".join(ds["error"].values.ravel())


def test_local_pool_and_dask_give_identical_datasets(serial_reference, dask_cluster, study,
                                                     tmp_path):
    local = run(study(), GRID, n_seeds=2, seed=5, output=tmp_path / "local",
                executor={"kind": "local", "workers": 2}, progress=False)
    # a running dask cluster, by its scheduler address
    dask = run(study(), GRID, n_seeds=2, seed=5, output=tmp_path / "dask",
               executor={"kind": "dask", "address": dask_cluster.scheduler_address},
               progress=False)
    in_memory = run(study(), GRID, n_seeds=2, seed=5, executor="serial", progress=False)
    reference = comparable(serial_reference)
    for ds in (local, dask, in_memory):
        xr.testing.assert_identical(comparable(ds), reference)
    # and the saved result files hold the same
    saved = xr.open_dataset(tmp_path / "dask" / "sweep.nc", engine="h5netcdf").load()
    xr.testing.assert_identical(comparable(saved), reference)
    assert '"kind": "dask"' in dask.attrs["sweep_executor"]


def _kill_first_started(log_dir, killed, timeout=60):
    """Thread body: SIGKILL the process that started the first point."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        started = sorted(Path(log_dir).glob("start-*"))
        if started:
            pid = int(started[0].read_text())
            killed.append((started[0].name, pid))
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.005)


def test_a_cluster_without_workers_is_reported_and_waited_for(serial_reference, study,
                                                              tmp_path, monkeypatch, capsys):
    """A cluster given by address whose workers are all gone would keep the
    sweep waiting without a word: the sweep says so, and goes on when a worker
    joins."""
    distributed = pytest.importorskip("distributed")
    import logging

    from v1model.sweep import worker_watch

    monkeypatch.setattr(DaskExecutor, "queue_poll", 0.5)
    # the worker is started once the sweep has said it waits (a worker started after a
    # fixed 3 s joined before the first look when the sweep took longer to start, on a
    # loaded machine, and nothing was said); a sweep that never says so still gets it,
    # after 60 s, and fails the check of its notice below rather than waiting for ever
    noticed = threading.Event()
    say = worker_watch._say
    monkeypatch.setattr(worker_watch, "_say", lambda text: (say(text), noticed.set()))
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        threading.Thread(target=lambda: (noticed.wait(60), cluster.scale(1)),
                         daemon=True).start()
        ds = run(study(), GRID, n_seeds=2, seed=5, output=tmp_path / "out", progress=False,
                 executor={"kind": "dask", "address": cluster.scheduler_address})
    xr.testing.assert_identical(comparable(ds), comparable(serial_reference))
    said = capsys.readouterr().err
    assert re.search(r"no worker connected to the dask scheduler tcp://\S+ for \d s; 12 point\(s\) "
                     r"left wait for one", said), said


@pytest.mark.parametrize("kind", ["dask", "local"])
def test_killed_worker_point_reruns_and_every_point_finishes_once(kind, dask_client, study,
                                                                 calls, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    killed = []
    killer = threading.Thread(target=_kill_first_started, args=(log, killed))
    executor = (DaskExecutor(client=dask_client) if kind == "dask"
                else LocalExecutor(workers=2))
    killer.start()
    ds = run(study(), {"x": [1.0, 2.0, 3.0, 4.0]}, n_seeds=2,
             params={"log_dir": str(log), "sleep": 0.4}, output=tmp_path / "out",
             executor=executor, progress=False)
    killer.join()
    assert killed and killed[0][1] != os.getpid()
    assert (ds["status"] == "ok").all(), ds["error"].values
    finished, started = calls(log, "finish"), calls(log, "start")
    assert len(finished) == 8
    if kind == "dask":  # only the dead worker's point runs again: each finishes once
        assert set(finished.values()) == {1}
    # (a broken local pool also stops its other worker, whose point reruns and could,
    # in a millisecond window, have finished already; it is still stored once)
    killed_tag = killed[0][0][len("start-"): killed[0][0].rindex("-")]
    assert started[killed_tag] == 2  # it ran again elsewhere
    assert len(list((tmp_path / "out" / "points").glob("*.nc"))) == 8
    # the re-run point's value is the same as a clean run's
    clean = run(study(), {"x": [1.0, 2.0, 3.0, 4.0]}, n_seeds=2, executor="serial",
                progress=False)
    np.testing.assert_array_equal(ds["y"].values, clean["y"].values)


def test_point_that_keeps_killing_its_worker_fails_alone(study, calls, tmp_path):
    """A point whose process dies every time is failed after max_attempts;
    the points that shared the pool with it are re-run without penalty."""
    log = tmp_path / "log"
    log.mkdir()
    ds = run(study("crashing"), {"x": [1.0, 2.0, 3.0, 4.0, 5.0]},
             params={"crash_x": 2.0, "log_dir": str(log), "sleep": 0.3},
             executor=LocalExecutor(workers=2, max_attempts=2), output=tmp_path / "out",
             progress=False)
    status = dict(zip(ds["x"].values.tolist(), ds["status"].values.tolist()))
    errors = dict(zip(ds["x"].values.tolist(), ds["error"].values.tolist()))
    assert status == {1.0: "ok", 2.0: "failed", 3.0: "ok", 4.0: "ok", 5.0: "ok"}, (
        errors, calls(log, "start"), calls(log, "finish"))
    assert ds["error"].sel(x=2.0).item().startswith("WorkerDied: the worker process died 2 times")
    # a bystander may have finished just as the pool broke and run again (its
    # result never arrived); it is stored once either way
    finished = calls(log, "finish")
    assert sorted(t.split("-")[0] for t in finished) == ["1.0", "3.0", "4.0", "5.0"]
    assert len(list((tmp_path / "out" / "points").glob("[0-9]*.nc"))) == 4
    assert len(list((tmp_path / "out" / "failed").glob("*.json"))) == 1
    assert [n for t, n in calls(log, "start").items() if t.startswith("2.0-")] == [2]
    np.testing.assert_array_equal(ds["y"].sel(x=[1.0, 3.0]).values, [1.0, 3.0])


def test_the_failure_record_counts_every_death_of_its_worker(study, tmp_path):
    """A point whose worker died 3 times was recorded with ``"attempts": 1`` beside its
    error "the worker process died 3 times"."""
    ds = run(study("crashing"), {"x": [2.0]}, params={"crash_x": 2.0},
             executor=LocalExecutor(workers=1, max_attempts=3), output=tmp_path / "out",
             progress=False)
    record = json.loads((tmp_path / "out" / "failed" / "000000.json").read_text())
    assert record["error"].startswith("WorkerDied: the worker process died 3 times")
    assert record["attempts"] == 3
    assert ds["status"].values.tolist() == ["failed"]


def test_a_pool_that_broke_between_two_points_is_replaced(study):
    """A pool worker killed while no point of it was in flight (between two points, or
    just after its point's result came back) broke the pool before the next submission:
    ``submit`` raised BrokenProcessPool out of the sweep, where a death mid-point
    restarts the pool and runs the point again."""
    from v1model.sweep.spec import parse_spec

    spec = parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0, 3.0]}})
    with LocalExecutor(workers=1) as executor:
        first = list(executor.map([spec.task(0)]))
        pool = executor._pool
        for process in list(pool._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not pool._broken and time.monotonic() < deadline:  # the pool notices
            time.sleep(0.05)
        assert pool._broken
        rest = list(executor.map([spec.task(1), spec.task(2)]))
    outcomes = {o.index: o for o in first + rest}
    assert sorted(outcomes) == [0, 1, 2] and all(o.ok for o in outcomes.values())
    task = spec.task(2)
    expected = spec.study.function()(seed=task.seed, **task.params)
    assert outcomes[2].dataset["y"].item() == expected["y"].item()


def test_a_worker_that_exits_with_status_0_mid_point_fails_that_point_alone(study, tmp_path):
    # exit code 0 was taken for "cannot tell": every point in flight counted an attempt,
    # and the innocent ones failed with "the worker process died 2 times while this point
    # was running"
    ds = run(study("crashing"), {"x": [1.0, 2.0, 3.0, 4.0, 5.0]},
             params={"crash_x": 2.0, "sleep": 0.6, "exit_code": 0},
             executor=LocalExecutor(workers=2, max_attempts=2), output=tmp_path / "out",
             progress=False)
    status = dict(zip(ds["x"].values.tolist(), ds["status"].values.tolist()))
    assert status == {1.0: "ok", 2.0: "failed", 3.0: "ok", 4.0: "ok", 5.0: "ok"}, (
        ds["error"].values)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sweeps"


def example_copy(tmp_path, name="lca_sweep_slurm.toml", replace=()):
    """The example spec, copied next to tmp_path so relative paths land there."""
    text = (EXAMPLES / name).read_text()
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_slurm_job_script_has_the_requested_resources(tmp_path, monkeypatch):
    """The README's SLURM example: the script dask-jobqueue would submit."""
    monkeypatch.setenv("USER", "ada")
    spec = load_spec(example_copy(tmp_path))
    assert spec.output == Path("/scratch/ada/v1model/lca-sweep")
    executor = make_executor(spec.executor)
    assert isinstance(executor, JobQueueExecutor) and executor.adapt == {
        "minimum_jobs": 0, "maximum_jobs": 10}
    script = executor.job_script()
    for line in ["#SBATCH -p compute", "#SBATCH -A v1lab", "#SBATCH -n 1",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --mem=15G", "#SBATCH -t 02:00:00",
                 "#SBATCH --constraint=skylake", "#SBATCH --qos=normal",
                 "module load python/3.11", "source ~/venvs/v1model/bin/activate",
                 f"#SBATCH -e {tmp_path}/dask-logs/"]:
        assert line in script, f"{line!r} missing from\n{script}"
    # one thread per point, numba's too (a point of encode(method="cd") took every CPU of
    # the job), before the user's prologue, which may set other counts
    assert script.index(EXPORTS) < script.index("module load python/3.11")
    assert "--nworkers 4" in script and "--nthreads 2" in script
    assert "--memory-limit 3.73GiB" in script  # 16 GB / 4 processes
    assert "--lifetime 110m" in script and '--local-directory "${TMPDIR:-/tmp}"' in script


def _worker_arguments(script, env):
    """The arguments the job's shell gives the dask worker, under environment ``env``."""
    import subprocess

    line = next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)
    command = "printf '%s\\n'" + line.split(" -m distributed.cli.dask_worker", 1)[1]
    done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.splitlines()


@pytest.mark.parametrize("tmpdir, expected", [(None, "/tmp"), ("/local/job 7", "/local/job 7")])
def test_the_example_local_directory_stays_one_argument(tmpdir, expected, tmp_path,
                                                        monkeypatch):
    """The README's local_directory was "$TMPDIR", written unquoted: on a node without
    TMPDIR the worker ran with `--local-directory --lifetime 110m` and every job died on
    "Got unexpected extra argument (110m)"; a TMPDIR with a space split in two."""
    monkeypatch.setenv("USER", "ada")
    script = make_executor(load_spec(example_copy(tmp_path)).executor).job_script()
    env = {"PATH": os.environ["PATH"], **({"TMPDIR": tmpdir} if tmpdir else {})}
    args = _worker_arguments(script, env)
    assert args[args.index("--local-directory") + 1] == expected
    assert args[args.index("--lifetime") + 1] == "110m" and args[-2:] == [
        "--lifetime-stagger", "5m"]


def test_a_local_directory_keeps_its_variables_home_and_quotes(tmp_path):
    pytest.importorskip("dask_jobqueue")
    for value, expected in [("$TMPDIR", ""), ('~/dask "w"', f"{tmp_path}/dask \"w\""),
                            ("/x/`echo a`", "/x/`echo a`")]:
        script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                                "local_directory": value}).job_script()
        args = _worker_arguments(script, {"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
        assert args[args.index("--local-directory") + 1] == expected, value


def test_slurm_job_name_and_log_directory_with_spaces_are_quoted(tmp_path):
    """`#SBATCH -e /tmp/cl work/logs/...` and `#SBATCH -J my job`: sbatch splits an
    #SBATCH line at white space (honouring quotes, like a shell), so it read
    `-e /tmp/cl`, `-J my` and stray arguments."""
    import shlex

    pytest.importorskip("dask_jobqueue")
    logs = tmp_path / "cl work" / "logs"
    script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                            "job_name": "my job", "log_directory": str(logs),
                            "job_extra_directives": ["--comment=as-is"]}).job_script()
    directives = [shlex.split(line[len("#SBATCH"):]) for line in script.splitlines()
                  if line.startswith("#SBATCH")]
    assert ["-J", "my job"] in directives
    assert ["-e", f"{logs}/my job-%J.err"] in directives
    assert ["-o", f"{logs}/my job-%J.out"] in directives
    assert "#SBATCH --comment=as-is" in script
    # without spaces, the lines are dask-jobqueue's own
    script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                            "job_name": "v1", "log_directory": str(tmp_path)}).job_script()
    assert f"#SBATCH -J v1\n#SBATCH -e {tmp_path}/v1-%J.err" in script


def test_worker_extra_args_stay_one_argument_each(tmp_path):
    """dask-jobqueue joins ``worker_extra_args`` with spaces as they are: ``["--resources",
    "GPU=1 MEM=2"]`` gave the worker ``--resources GPU=1`` and a stray ``MEM=2``."""
    pytest.importorskip("dask_jobqueue")
    extra = ["--resources", "GPU=1 MEM=2", "--name-suffix", "a'b", "$SCRATCH/w"]
    script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                            "worker_extra_args": extra}).job_script()
    args = _worker_arguments(script, {"PATH": os.environ["PATH"], "SCRATCH": "/s 1"})
    # each item one argument, a variable still expanded on the node
    assert args[-5:] == ["--resources", "GPU=1 MEM=2", "--name-suffix", "a'b", "/s 1/w"]
    assert script.rstrip().endswith('--resources "GPU=1 MEM=2" --name-suffix "a\'b" '
                                    '"$SCRATCH/w"')


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_worker_extra_args_that_override_the_job_scripts_split_are_refused(kind):
    """dask's worker takes the last of an option given twice, and dask-jobqueue writes
    ``worker_extra_args`` after its own: ``["--nthreads", "8"]`` with cores = 8 and
    processes = 4 ran 4 x 8 points at once on the job's 8 CPUs, without a word (also from
    Python and from dask's jobqueue config, which the spec's check does not see)."""
    import dask

    from v1model.sweep import SpecError

    pytest.importorskip("dask_jobqueue")
    table = {"kind": kind, "cores": 8, "processes": 4, "memory": "16GB", "jobs": 1}
    said = {
        ("--nthreads", "8"): "'--nthreads 8' overrides the job script's --nthreads (the "
                             "threads of each worker process, one point each: cores // "
                             "processes); set cores and processes instead",
        ("--lifetime", "1h", "--nworkers=2"): "'--nworkers=2' overrides the job script's "
                                              "--nworkers (the worker processes of each job: "
                                              "processes); set processes instead",
        ("--memory-limit", "16GB"): "'--memory-limit 16GB' overrides the job script's "
                                    "--memory-limit (the memory of each worker process: "
                                    "memory / processes); set memory and processes instead",
        ("--name",): "'--name' overrides the job script's --name (the name by which "
                     "dask-jobqueue tells which job a worker belongs to, and so which jobs "
                     "have ended); leave it out",
    }
    for args, message in said.items():
        with pytest.raises(SpecError, match=rf"^executor\.worker_extra_args: "
                                            rf"{re.escape(message)}$"):
            make_executor({**table, "worker_extra_args": list(args)})
        options = {k: v for k, v in table.items() if k != "kind"}
        with pytest.raises(SpecError, match=re.escape(message)):  # built in Python
            JobQueueExecutor(kind, worker_extra_args=list(args), **options).job_script()
    with dask.config.set({f"jobqueue.{kind}.worker-extra-args": ["--death-timeout", "5"]}):
        with pytest.raises(SpecError, match=rf"^jobqueue\.{kind}\.worker-extra-args \(dask "
                                            rf"config\): '--death-timeout 5' overrides the job "
                                            rf"script's --death-timeout \(death_timeout, 60 s "
                                            rf"by default\); set death_timeout instead$"):
            make_executor({k: v for k, v in table.items()}).check_can_start()
    # options the job script does not give pass, as written (--name-suffix is no --name)
    extra = ["--lifetime", "110m", "--lifetime-stagger", "5m", "--name-suffix", "x",
             "--resources", "GPU=1"]
    script = make_executor({**table, "worker_extra_args": extra}).job_script()
    assert script.rstrip().endswith(" ".join(extra))
    assert len(re.findall(r"--nthreads 2 ", script)) == 1


def test_slurm_log_directory_percent_is_escaped(tmp_path):
    """sbatch reads ``%`` in ``#SBATCH -e/-o`` as a filename pattern (``%x`` the job
    name, ``%j`` the job id): the logs of ``.../100%x`` went to ``.../100<job name>``.
    ``%%`` is sbatch's literal ``%``; dask-jobqueue's own ``%J`` stays a pattern."""
    import shlex

    pytest.importorskip("dask_jobqueue")
    logs = tmp_path / "100%x"
    script = make_executor({"kind": "slurm", "cores": 1, "memory": "1GB", "jobs": 1,
                            "job_name": "v%1", "log_directory": str(logs)}).job_script()
    directives = [shlex.split(line[len("#SBATCH"):]) for line in script.splitlines()
                  if line.startswith("#SBATCH")]
    assert ["-e", f"{tmp_path}/100%%x/v%%1-%J.err"] in directives
    assert ["-o", f"{tmp_path}/100%%x/v%%1-%J.out"] in directives
    assert ["-J", "v%1"] in directives  # a job name is no filename pattern


def test_pbs_job_name_and_log_directory_with_spaces_are_refused(tmp_path, monkeypatch):
    """qsub cannot take them in a #PBS line (a PBS job name may hold no space): refused
    when the spec is read, naming the option, instead of a job that never starts."""
    from v1model.sweep import SpecError

    with pytest.raises(SpecError, match=r"executor.job_name: 'my job' holds white space"):
        make_executor({"kind": "pbs", "cores": 1, "memory": "1GB", "jobs": 1,
                       "job_name": "my job"})
    # a relative log_directory under a spec folder with a space, found once expanded
    folder = tmp_path / "my sweeps"
    folder.mkdir()
    monkeypatch.setenv("USER", "ada")
    path = example_copy(folder, replace=[('kind = "slurm"', 'kind = "pbs"')])
    with pytest.raises(SpecError, match=r"executor.log_directory: '.*my sweeps/dask-logs' "
                                        r"holds white space"):
        load_spec(path)


def test_pbs_job_script_has_the_requested_resources(tmp_path, monkeypatch):
    monkeypatch.setenv("USER", "ada")  # the example's output is /scratch/$USER/...
    path = example_copy(tmp_path, replace=[
        ('kind = "slurm"', 'kind = "pbs"'),
        ('job_extra_directives = ["--constraint=skylake", "--qos=normal"]',
         'job_extra_directives = ["-m abe"]'),
    ])
    script = make_executor(load_spec(path).executor).job_script()
    for line in ["#PBS -q compute", "#PBS -A v1lab", "#PBS -l select=1:ncpus=8:mem=15GB",
                 "#PBS -l walltime=02:00:00", "#PBS -m abe", "module load python/3.11"]:
        assert line in script, f"{line!r} missing from\n{script}"
    # PBS starts a job in $HOME: the workers go where the sweep was started, as on SLURM,
    # before the user's prologue; one thread per point (as on SLURM) before it too
    assert script.index('cd "$PBS_O_WORKDIR"') < script.index(EXPORTS) < script.index(
        "module load python/3.11")


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_a_python_path_with_a_space_is_quoted_in_the_job_script(kind, tmp_path, monkeypatch):
    """The job runs the worker with this interpreter: dask-jobqueue wrote its path as it
    is, and under "/home/ada/My Projects/venv" every job died on "/home/ada/My: No such
    file or directory" before its worker could start."""
    import shlex
    import sys

    pytest.importorskip("dask_jobqueue")
    python = str(tmp_path / "My Projects" / "venv" / "bin" / "python")
    monkeypatch.setattr(sys, "executable", python)
    script = make_executor({"kind": kind, "cores": 1, "memory": "1GB",
                            "jobs": 1}).job_script()
    command = [line for line in script.splitlines() if "distributed.cli.dask_worker" in line]
    assert len(command) == 1, script
    assert shlex.split(command[0])[:3] == [python, "-m", "distributed.cli.dask_worker"]
    # a python given in the spec is the user's command line, written as it is
    script = make_executor({"kind": kind, "cores": 1, "memory": "1GB", "jobs": 1,
                            "python": "$HOME/venv/bin/python"}).job_script()
    assert "\n$HOME/venv/bin/python -m distributed.cli.dask_worker" in script


FAKE_SBATCH = """#!/bin/sh
# a fake SLURM: --test-only accepts or refuses the script; a submission runs it in the background
echo "$@" >> "$FAKE_SLURM/calls"
if [ "$1" = "--test-only" ]; then
  if [ -e "$FAKE_SLURM/refuse" ]; then
    why="Invalid account or account/partition combination specified"
    echo "sbatch: error: Batch job submission failed: $why" >&2
    exit 1
  fi
  echo "sbatch: Job 1 to start at 2026-01-01T00:00:00 using 1 processors on nodes n1" >&2
  exit 0
fi
id=$(( $(date +%s%N) % 100000000 ))
cp "$1" "$FAKE_SLURM/job-$id.sh"
# the job's output files as SLURM names them (#SBATCH -o/-e, %J the job id)
out=$(sed -n 's/^#SBATCH -o //p' "$1" | sed "s/%J/$id/")
err=$(sed -n 's/^#SBATCH -e //p' "$1" | sed "s/%J/$id/")
[ -n "$out" ] || out="$FAKE_SLURM/job-$id.out"
[ -n "$err" ] || err="$out"
# "hold": the job stays pending until squeue has answered about it; "broken": the
# worker cannot start on the node
wait=":"
if [ -e "$FAKE_SLURM/hold" ]; then
  wait="until [ -e $FAKE_SLURM/asked ]; do sleep 0.2; done"
fi
if [ -e "$FAKE_SLURM/broken" ]; then
  job='echo "/opt/conda/bin/python: No module named distributed" >&2; exit 1'
else
  job="sh $FAKE_SLURM/job-$id.sh"
fi
# SLURM_JOB_ID: as SLURM sets it in the job's environment
nohup env SLURM_JOB_ID="$id" sh -c "$wait; touch $FAKE_SLURM/job-$id.started; $job" \
  > "$out" 2> "$err" &
echo $! > "$FAKE_SLURM/job-$id.pid"
echo "Submitted batch job $id"
"""
FAKE_SQUEUE = r"""#!/bin/sh
# a fake squeue --noheader --format=... --jobs a,b: "id STATE reason" while a job lives
echo "squeue $@" >> "$FAKE_SLURM/calls"
for id in $(echo "$@" | sed -n 's/.*--jobs \([0-9,]*\).*/\1/p' | tr , ' '); do
  if kill -0 "$(cat "$FAKE_SLURM/job-$id.pid")" 2>/dev/null; then
    if [ -e "$FAKE_SLURM/job-$id.started" ]; then
      echo "$id RUNNING None"
    else
      echo "$id PENDING Priority"
    fi
  fi
done
touch "$FAKE_SLURM/asked"  # releases held jobs once the queue has been asked (and answered)
"""
FAKE_SCANCEL = """#!/bin/sh
for id in "$@"; do
  pkill -TERM -P "$(cat "$FAKE_SLURM/job-$id.pid")" 2>/dev/null
  kill "$(cat "$FAKE_SLURM/job-$id.pid")" 2>/dev/null
  echo "$id" >> "$FAKE_SLURM/cancelled"
done
"""


@pytest.fixture()
def fake_slurm(tmp_path, monkeypatch):
    """A directory with fake ``sbatch`` / ``scancel`` on PATH (real dask workers run
    the job scripts on this machine); returns the directory of their records."""
    return _fake_batch_system(tmp_path, monkeypatch, "FAKE_SLURM", {
        "sbatch": FAKE_SBATCH, "scancel": FAKE_SCANCEL, "squeue": FAKE_SQUEUE})


def _fake_batch_system(tmp_path, monkeypatch, variable, commands, records_scripts=None):
    """Put ``commands`` (name -> shell script) on PATH and point ``variable`` at a
    fresh records folder, which also gets ``records_scripts``; returns that folder."""
    pytest.importorskip("dask_jobqueue")
    bin_dir, records = tmp_path / "bin", tmp_path / variable.lower()
    bin_dir.mkdir()
    records.mkdir()
    scripts = [(bin_dir, name, text) for name, text in commands.items()]
    scripts += [(records, name, text) for name, text in (records_scripts or {}).items()]
    for folder, name, text in scripts:
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(variable, str(records))
    return records


SLURM = {"kind": "slurm", "cores": 1, "memory": "1GB", "walltime": "00:10:00",
         "scheduler_options": {"dashboard_address": ":0"}}


def test_slurm_sweep_runs_on_submitted_jobs(fake_slurm, serial_reference, study, tmp_path):
    """The whole SLURM path (job script, submission, workers joining the
    scheduler, cancellation at the end) against the serial reference."""
    ds = run(study(), GRID, n_seeds=2, seed=5, output=tmp_path / "out", progress=False,
             executor={**SLURM, "adapt": {"minimum_jobs": 0, "maximum_jobs": 2},
                       "log_directory": str(tmp_path / "logs")})
    xr.testing.assert_identical(comparable(ds), comparable(serial_reference))
    calls = (fake_slurm / "calls").read_text().splitlines()
    assert calls[0].startswith("--test-only ")
    submitted = [c for c in calls if not c.startswith(("--test-only", "squeue"))]
    assert 1 <= len(submitted) <= 2
    # every submitted job was cancelled when the sweep closed its cluster (dask-jobqueue
    # < 0.8.3 cancels each job twice)
    assert len(set((fake_slurm / "cancelled").read_text().split())) == len(submitted)


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_the_batch_schedulers_dashboard_takes_no_fixed_port(kind, monkeypatch):
    """The scheduler runs on the login node, where dask's default dashboard port 8787 is
    often taken or forbidden: a run's cluster asks for any free port (":0"), as the job
    script did; a dashboard_address of the spec (or of dask's jobqueue config) is kept."""
    import dask

    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    made = []

    class Recorder:  # stands in for SLURMCluster / PBSCluster: records its arguments
        job_cls = getattr(dask_jobqueue, f"{kind.upper()}Cluster").job_cls

        def __init__(self, **options):
            made.append(options)

    monkeypatch.setattr(dask_jobqueue, f"{kind.upper()}Cluster", Recorder)
    options = {"cores": 1, "memory": "1GB", "walltime": "00:10:00"}
    JobQueueExecutor(kind, jobs=1, **options)._make_cluster()
    assert made[-1]["scheduler_options"] == {"dashboard_address": ":0"}
    JobQueueExecutor(kind, jobs=1, scheduler_options={"dashboard_address": ":8790",
                                                      "idle_timeout": 60},
                     **options)._make_cluster()
    assert made[-1]["scheduler_options"] == {"dashboard_address": ":8790", "idle_timeout": 60}
    with dask.config.set({f"jobqueue.{kind}.scheduler-options": {"idle_timeout": 30}}):
        JobQueueExecutor(kind, jobs=1, **options)._make_cluster()
    assert made[-1]["scheduler_options"] == {"dashboard_address": ":0", "idle_timeout": 30}


THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
#: the line of every SLURM / PBS job script that gives each point one thread
EXPORTS = ("export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 "
           "NUMBA_NUM_THREADS=1")


def test_the_example_prologue_sets_no_thread_variable_alone():
    """The README example exported OMP_NUM_THREADS=2 alone, which left numpy's
    OpenBLAS on the one thread dask gives its workers (OPENBLAS_NUM_THREADS=1): it
    changed nothing but OpenMP code, on top of the 2 points each worker runs."""
    # tomllib is Python 3.11's; read_toml falls back on tomli on Python 3.10
    from v1model.sweep.tomlio import read_toml

    prologue = read_toml(EXAMPLES / "lca_sweep_slurm.toml")["executor"]["job_script_prologue"]
    readme = (EXAMPLES.parents[1] / "README.md").read_text()
    for line in prologue:
        assert f'"{line}"' in readme  # the README shows the same prologue
    found = {name: re.findall(rf"\b{name}=(\S+)", " ".join(prologue)) for name in THREADS}
    assert all(found.values()) or not any(found.values()), found


@pytest.mark.parametrize("exported, threads", [
    ("OMP_NUM_THREADS=2", 1),  # dask's OPENBLAS_NUM_THREADS=1 wins in numpy's BLAS
    # the README's way: the prologue's values win over the job script's own
    ("OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 NUMBA_NUM_THREADS=2", 2),
])
def test_blas_threads_of_the_points_on_slurm_workers(exported, threads, fake_slurm, study,
                                                     tmp_path):
    ds = run(study("blas_threads"), {"x": [0.0]}, output=tmp_path / "out", progress=False,
             executor={**SLURM, "jobs": 1, "job_script_prologue": [f"export {exported}"]})
    assert ds["status"].values.tolist() == ["ok"], ds["error"].values
    assert ds["omp_num_threads"].item() == "2"
    assert ds["blas_threads"].item() == threads
    # numba's threads, which dask does not set: the job script's one per point, or the
    # prologue's
    assert ds["numba_num_threads"].item() == str(threads)
    assert ds["numba_threads"].item() == threads


def test_slurm_refusal_is_an_error_before_any_job(fake_slurm, study, tmp_path):
    """A job script SLURM refuses (here: the account) fails the run at once with
    SLURM's message, instead of a log line while the sweep waits for workers."""
    from v1model.sweep import ExecutorStartError

    (fake_slurm / "refuse").touch()
    with pytest.raises(ExecutorStartError, match=r"sbatch --test-only` refused the job "
                                                  r"script .*Invalid account"):
        run(study(), {"x": [1.0]}, output=tmp_path / "out", progress=False,
            executor={**SLURM, "jobs": 1})
    calls = (fake_slurm / "calls").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("--test-only ")
    # nothing ran: the new folder is gone, and the corrected spec can use it
    assert not (tmp_path / "out").exists()


def test_a_log_directory_that_cannot_be_created_is_named_and_leaves_no_folder(
        fake_slurm, study, tmp_path):
    """dask-jobqueue creates log_directory when the cluster starts: a folder it cannot
    create failed the run with a bare "[Errno 20] Not a directory" naming no option, and
    left the new sweep folder behind."""
    from v1model.sweep import ExecutorStartError

    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(ExecutorStartError, match=r"executor.log_directory: cannot create "
                                                  r"'.*afile/logs', where the jobs write"):
        run(study(), {"x": [1.0]}, output=tmp_path / "out", progress=False,
            executor={**SLURM, "jobs": 1, "log_directory": str(tmp_path / "afile" / "logs")})
    assert not (tmp_path / "out").exists()
    assert not (fake_slurm / "calls").exists()  # nothing submitted, not even checked


def test_jobs_that_end_without_a_worker_stop_the_sweep(fake_slurm, study, tmp_path,
                                                        monkeypatch):
    """A worker that cannot start on the compute node (here: its Python lacks
    distributed) ends the job; the sweep, which would otherwise wait for ever,
    stops at the next look at the queue and shows the end of the job's log."""
    from v1model.sweep import ExecutorStartError

    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 1.0)
    (fake_slurm / "broken").touch()
    with pytest.raises(ExecutorStartError, match=r"(?s)all 2 worker job\(s\) .* left the queue "
                                                  r"within \d+ s without a worker joining.*"
                                                  r"No module named distributed"):
        run(study(), {"x": [1.0, 2.0]}, output=tmp_path / "out", progress=False,
            executor={**SLURM, "jobs": 2, "log_directory": str(tmp_path / "logs")})
    # (how long the stop took is not asserted: a sweep that waited for ever would
    # never reach this line, and a wall-clock bound only fails on a loaded machine)
    calls = (fake_slurm / "calls").read_text().splitlines()
    submitted = [c for c in calls if not c.startswith(("--test-only", "squeue"))]
    assert len(submitted) == 2, calls  # the 2 jobs asked for, none replaced
    assert any(c.startswith("squeue ") for c in calls)
    assert not list((tmp_path / "out" / "points").glob("*.nc"))


def test_pending_jobs_are_reported_and_the_sweep_waits_for_them(fake_slurm, serial_reference,
                                                               study, tmp_path, monkeypatch,
                                                               capsys):
    """Jobs pending in the queue are worth waiting for: the sweep says so, then
    runs every point when the job starts."""
    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    monkeypatch.setattr(JobQueueExecutor, "notice_every", 0.0)
    (fake_slurm / "hold").touch()
    ds = run(study(), GRID, n_seeds=2, seed=5, output=tmp_path / "out", progress=False,
             executor={**SLURM, "jobs": 1})
    xr.testing.assert_identical(comparable(ds), comparable(serial_reference))
    notices = [line for line in capsys.readouterr().err.splitlines()
               if "no worker has joined after" in line]
    assert any(re.search(r"1 job\(s\) submitted \(\d+\): 1 PENDING \(Priority\)", line)
               for line in notices), notices


def test_jobs_that_end_at_their_walltime_are_replaced(fake_slurm, serial_reference, study,
                                                       tmp_path, monkeypatch, capsys):
    """Jobs whose workers retire (``--lifetime``, as before a walltime) end with
    points left; dask-jobqueue submits no new ones (at a fixed scale, and with
    several worker processes per job), so the sweep used to wait for ever. The
    watch submits new jobs and every point finishes, as in the serial run."""
    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    # on the first job, each of the 2 processes finishes one point, then retires its worker
    # as --lifetime would (once the sweep has its result) and holds the next point until
    # it is gone: in this order however loaded the machine (a --lifetime 10s raced the
    # workers' start and first point, and under load the sweep stopped: WorkersLostError)
    log = tmp_path / "log"
    log.mkdir()
    ds = run(study("retiring"), GRID, params={"log_dir": str(log)}, n_seeds=2,
             seed=5, output=tmp_path / "out", progress=False,
             executor={**SLURM, "jobs": 1, "cores": 2, "processes": 2})
    assert ds.attrs["sweep_n_ok"] == 12 and ds.attrs["sweep_n_failed"] == 0
    for name in ["y", "v", "count", "name", "point_seed"]:
        xr.testing.assert_identical(ds[name], serial_reference[name])
    calls = (fake_slurm / "calls").read_text().splitlines()
    submitted = [c for c in calls if not c.startswith(("--test-only", "squeue"))]
    assert len(submitted) >= 2, calls
    said = capsys.readouterr().err
    assert re.search(r"all 1 worker job\(s\) ended \(1 GONE\) after \d+ point\(s\) finished; "
                     r"submitting new job\(s\)", said), said


def test_jobs_that_end_before_any_point_finishes_stop_the_sweep(fake_slurm, study, tmp_path,
                                                                 monkeypatch):
    """A point longer than the jobs' walltime cannot finish on any job: instead
    of submitting job after job, the sweep stops and says why."""
    from v1model.sweep import WorkersLostError

    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    with pytest.raises(WorkersLostError, match=r"all 1 worker job\(s\) \(\d+\) ended \(1 GONE\) "
                                               r"before any point finished on them: a point may "
                                               r"take longer than the jobs' walltime of 00:10:00"):
        # a point that lasts until its worker retires (a fixed 60 s one kept the job
        # alive for ~15 s after the retirement, while the worker waited for it)
        run(study("outliving"), {"x": [1.0]}, output=tmp_path / "out",
            progress=False, executor={**SLURM, "jobs": 1, "worker_extra_args": ["--lifetime",
                                                                              "4s"]})
    # stopped, not submitting job after job (no wall-clock bound: see above)
    calls = (fake_slurm / "calls").read_text().splitlines()
    submitted = [c for c in calls if not c.startswith(("--test-only", "squeue"))]
    assert len(submitted) == 1, calls
    assert not list((tmp_path / "out" / "points").glob("*.nc"))


def test_a_job_that_retires_before_the_sweep_took_its_results_finished_them(
        fake_slurm, study, tmp_path, monkeypatch, capsys):
    """The watch counted only the results the sweep had received: a job whose worker
    retired (``--lifetime``) after finishing its point, before the sweep took the result
    (then: while it saved other points; now: in the moment before the fetch, which this
    test stretches), took the result with it, and the sweep stopped with "ended
    before any point finished on them: a point may take longer than the jobs' walltime"
    (WorkersLostError). The scheduler saw the point finish: the job is replaced, and the
    point, whose result dask lost with the worker, runs again there."""
    import distributed

    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    result, late = distributed.Future.result, []

    def busy_sweep(future, *args, **kwargs):
        # the first result is taken only once its worker has retired as --lifetime retires
        # it (a result left on a retiring worker with no other to take it is lost): events,
        # not a wall clock; each wait at most 60 s
        if not late:
            late.append(future.key)
            future.client.run(lambda dask_worker: dask_worker.loop.add_callback(
                dask_worker.close_gracefully, reason="worker-lifetime-reached"))
            scheduler, deadline = future.client.cluster.scheduler, time.monotonic() + 60
            while scheduler.workers and time.monotonic() < deadline:
                time.sleep(0.02)
        return result(future, *args, **kwargs)

    monkeypatch.setattr(distributed.Future, "result", busy_sweep)
    ds = run(study(), {"x": [1.0]}, seed=5, output=tmp_path / "out", progress=False,
             executor={**SLURM, "jobs": 1})
    assert late and ds.attrs["sweep_n_ok"] == 1
    reference = run(study(), {"x": [1.0]}, seed=5, executor="serial", progress=False)
    xr.testing.assert_identical(ds["y"], reference["y"])
    said = capsys.readouterr().err
    assert re.search(r"all 1 worker job\(s\) ended \(1 GONE\) after 1 point\(s\) finished; "
                     r"submitting new job\(s\)", said), said
    calls = (fake_slurm / "calls").read_text().splitlines()
    assert len([c for c in calls if not c.startswith(("--test-only", "squeue"))]) == 2, calls


def test_resubmitted_jobs_take_names_no_ended_job_had(fake_slurm, tmp_path):
    """dask closes the job of a worker's name ``distributed.deploy.lost-worker-timeout``
    (15 s) after that worker left. The jobs that replaced ended ones took their names, and
    one whose worker had not joined by then (pending in the queue; here, once, a worker
    that took 20 s to start) was cancelled: the sweep stopped with WorkersLostError."""
    executor = make_executor({**SLURM, "jobs": 2, "log_directory": str(tmp_path / "logs")})
    executor.start()
    try:
        ended = set(executor.cluster.worker_spec)
        executor.resubmit()
        names = set(executor.cluster.worker_spec)
    finally:
        executor.close()
    assert len(ended) == len(names) == 2 and not ended & names, (ended, names)


class _StandInCluster:
    """Stands in for a dask-jobqueue cluster in :meth:`JobQueueExecutor.resubmit`: its jobs
    by name, no worker left, and scale() recorded."""

    def __init__(self, names):
        self.worker_spec = dict.fromkeys(names)
        self.workers, self.scaled = {}, []

    def _new_worker_name(self, number):
        return f"SLURMCluster-{number}"

    def scale(self, jobs):
        self.scaled.append(jobs)
        if jobs == 0:
            self.worker_spec = {}


def test_resubmit_says_once_what_is_lost_without_dasks_worker_counter():
    """``resubmit`` gives new jobs names no ended job had by advancing SpecCluster's private
    counter ``_i``; a dask without it made names as it would, silently. It warns, once a
    sweep, of what can follow; with the counter, it advances it past the ended names."""
    import warnings

    from v1model.sweep import SweepWarning

    executor = JobQueueExecutor("slurm", jobs=2)
    executor.cluster = cluster = _StandInCluster(["SLURMCluster-0", "SLURMCluster-1"])
    cluster._i = 1
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        executor.resubmit()
        assert cluster._i == 2 and cluster.scaled == [0, 2] and not said
        del cluster._i  # a dask version without it
        executor.resubmit()
        executor.resubmit()
    assert cluster.scaled == [0, 2, 0, 2, 0, 2]
    assert [w.category for w in said] == [SweepWarning]  # once
    assert re.fullmatch(
        r"executor kind 'slurm': this dask's _StandInCluster has no SpecCluster._i counter "
        r"to give the new jobs names no ended job had: a new job that takes an ended job's "
        r"name is cancelled by dask \(distributed.deploy.lost-worker-timeout, 15 s, after "
        r"that job's worker left\) unless its worker has joined by then, and a sweep whose "
        r"new jobs wait in the queue stops \(WorkersLostError; resume it\)",
        str(said[0].message)), said[0].message


def test_jobs_whose_workers_left_between_two_looks_are_not_said_never_to_start(
        fake_slurm, study, tmp_path, monkeypatch):
    """The watch looks at the workers every ``queue_poll`` s: a job whose workers joined
    and were gone before the next look (killed at the first point: out of memory, a short
    walltime; here a 1 s --lifetime) was reported as a worker that could not start on the
    compute node ("is the job script's Python installed there?"), an ExecutorStartError."""
    from v1model.sweep import WorkersLostError

    # every look falls when no worker is connected (as most looks 15 s apart did, at
    # the cost of 15 s or more per run): only the scheduler's record of the join is left
    monkeypatch.setattr(JobQueueExecutor, "connected_workers", lambda self: 0)
    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    with pytest.raises(WorkersLostError, match=r"all 1 worker job\(s\) \(\d+\) ended \(1 GONE\) "
                                               r"before any point finished on them"):
        run(study("outliving"), {"x": [1.0]}, output=tmp_path / "out",
            progress=False, executor={**SLURM, "jobs": 1, "worker_extra_args": ["--lifetime",
                                                                              "1s"]})
    calls = (fake_slurm / "calls").read_text().splitlines()
    assert len([c for c in calls if not c.startswith(("--test-only", "squeue"))]) == 1, calls


def test_job_watch_survives_a_scheduler_that_does_not_answer_for_a_while(capsys):
    """A look at the workers that fails (a scheduler busy past its timeout) is
    said once and retried; only ``max_failures`` failures in a row end the
    watch, and the sweep goes on unwatched."""
    from v1model.sweep.worker_watch import JobWatch

    class Executor:
        kind, queue_poll, notice_every, finished, cluster_options = "slurm", 0.01, 600, 0, {}

        def __init__(self, failing):
            self.failing, self.looks = failing, 0

        def job_ids(self):
            return []

        def connected_workers(self):
            self.looks += 1
            if self.looks <= self.failing:
                raise OSError("Timed out during handshake")
            return 1

    errors = []
    flaky = Executor(failing=3)
    watch = JobWatch(flaky, errors.append)
    watch.start()
    deadline = time.monotonic() + 10
    while flaky.looks < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watch.is_alive() and flaky.looks >= 8
    watch.stop()
    watch.join(5)
    said = capsys.readouterr().err.splitlines()
    assert said == ["v1model: warning: could not check the worker jobs (OSError: Timed out "
                    "during handshake)"]

    gone = Executor(failing=10 ** 6)
    watch = JobWatch(gone, errors.append)
    watch.start()
    watch.join(10)
    assert not watch.is_alive() and gone.looks == JobWatch.max_failures and not errors
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "; the sweep goes on without that check")


def test_queue_states_of_pbs_jobs(tmp_path, monkeypatch):
    """qstat's table (Torque/PBS Pro) read per job; a job it no longer knows, or (PBS
    Pro keeping job history) says has finished, has ended; a qstat that fails
    otherwise leaves the state unknown (None)."""
    from v1model.sweep.batch_queue import describe_states, has_ended, job_states

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "qstat").write_text("""#!/bin/sh
if [ -e "$QSTAT_DOWN" ]; then echo "qstat: cannot connect to server pbs01" >&2; exit 2; fi
echo "Job id            Name             User            Time Use S Queue"
echo "----------------  ---------------- --------------- -------- - -----"
echo "123.pbs01         dask-worker      alice           00:00:07 R batch"
rc=0
for id in "$@"; do
  case "$id" in
    124*) echo "qstat: Unknown Job Id 124.pbs01" >&2; rc=153 ;;
    125*) echo "125.pbs01         dask-worker      alice                  0 Q batch" ;;
    126*) echo "qstat: 126.pbs01 Job has finished, use -x or -H to obtain historical job" \
               "information" >&2
          rc=35 ;;
  esac
done
exit $rc
""")
    (bin_dir / "qstat").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("QSTAT_DOWN", str(tmp_path / "down"))
    states = job_states("pbs", ["123.pbs01", "124.pbs01", "125"])
    assert states == {"123.pbs01": ("R", ""), "124.pbs01": ("GONE", ""), "125": ("Q", "")}
    assert [has_ended("pbs", s) for s, _ in states.values()] == [False, True, False]
    assert describe_states(states) == "1 R, 1 GONE, 1 Q"
    assert job_states("pbs", ["123", "126"]) == {"123": ("R", ""), "126": ("GONE", "")}
    (tmp_path / "down").touch()
    assert job_states("pbs", ["123.pbs01"]) is None


@pytest.mark.parametrize("kind, command", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_batch_executor_without_its_submit_command(kind, command, study, tmp_path,
                                                   monkeypatch):
    """Started where the batch system is missing (a laptop, a compute node): a
    clear error at once instead of a sweep that waits for ever."""
    pytest.importorskip("dask_jobqueue")
    from v1model.sweep import ExecutorStartError

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExecutorStartError, match=rf"kind '{kind}' submits its workers with "
                                                  rf"`{command}`, which is not on PATH"):
        run(study(), {"x": [1.0]}, output=tmp_path / "out", progress=False,
            executor={"kind": kind, "cores": 1, "memory": "1GB", "jobs": 1})


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_processes_from_dask_config_or_python_must_divide_cores(kind, study, tmp_path,
                                                                 monkeypatch, capsys):
    """A spec's `processes = 3` with `cores = 8` is refused (6 points on 8 CPUs), but the
    same 3 from dask's `jobqueue.<kind>.processes` config, which dask-jobqueue reads when
    the spec gives none, or from a JobQueueExecutor built in Python, went unchecked: the
    job script said `--nworkers 3 --nthreads 2`. Both are refused now with the spec's
    message, before the sweep folder is made or a job script printed."""
    import dask

    pytest.importorskip("dask_jobqueue")
    from v1model.cli import main
    from v1model.sweep import SpecError

    message = (r"\(3\) does not divide cores \(8\): each worker process runs cores // "
               r"processes = 2 point\(s\) at a time, 6 in all, and 2 of the job's 8 CPUs "
               r"would stay idle; give a processes that divides cores")
    executor = {"kind": kind, "cores": 8, "memory": "4GB", "jobs": 1}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # refused before sbatch is sought
    with dask.config.set({f"jobqueue.{kind}.processes": 3}):
        with pytest.raises(SpecError, match=rf"^jobqueue\.{kind}\.processes \(dask "
                                            rf"config\): {message}$"):
            make_executor(executor).job_script()
        with pytest.raises(SpecError, match=message):
            run(study(), {"x": [1.0]}, output=tmp_path / "out", progress=False,
                executor=executor)
        assert not (tmp_path / "out").exists()
        spec = tmp_path / "s.toml"
        spec.write_text(f'study = "{study()}"\n[sweep]\nx = [1.0]\n[executor]\n'
                        f'kind = "{kind}"\ncores = 8\nmemory = "4GB"\njobs = 1\n')
        assert main(["sweep", "jobscript", str(spec)]) == 2
        assert f"jobqueue.{kind}.processes (dask config): (3) does not divide cores (8)" \
            in capsys.readouterr().err
        # the spec's own processes (a divisor) is the one dask-jobqueue takes
        script = make_executor({**executor, "processes": 4}).job_script()
        assert "--nworkers 4" in script and "--nthreads 2" in script
    with pytest.raises(SpecError, match=rf"^executor\.processes: {message}$"):
        JobQueueExecutor(kind, cores=8, processes=3, memory="4GB", jobs=1).check_can_start()
    with pytest.raises(SpecError, match=r"^executor\.processes: \(16\) cannot exceed cores "
                                        r"\(8\)$"):
        JobQueueExecutor(kind, cores=8, processes=16, memory="4GB", jobs=1).job_script()


def test_job_cpu_below_cores_from_dask_config_or_python_is_refused(tmp_path, monkeypatch):
    """`job_cpu = 4` with `cores = 8` asked SLURM for 4 CPUs (--cpus-per-task=4) and ran 8
    points at a time on them, each slower, without a word: refused, from the spec (see
    test_spec), from dask's `jobqueue.slurm.job-cpu` config and from Python. Above cores
    it is the README's way to give each point 2 threads."""
    import dask

    pytest.importorskip("dask_jobqueue")
    from v1model.sweep import SpecError

    message = (r"\(4\) is below cores \(8\): each job runs cores = 8 point\(s\) at a time "
               r"on the 4 CPU\(s\) SLURM gives it \(--cpus-per-task\), each slower; give a "
               r"job_cpu >= cores, or leave it out \(it defaults to cores\)$")
    executor = {"kind": "slurm", "cores": 8, "memory": "4GB", "jobs": 1}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # refused before sbatch is sought
    with dask.config.set({"jobqueue.slurm.job-cpu": 4}):
        with pytest.raises(SpecError, match=rf"^jobqueue\.slurm\.job-cpu \(dask config\): "
                                            rf"{message}"):
            make_executor(executor).job_script()
    with pytest.raises(SpecError, match=rf"^executor\.job_cpu: {message}"):
        JobQueueExecutor("slurm", cores=8, job_cpu=4, memory="4GB", jobs=1).check_can_start()
    script = make_executor({**executor, "cores": 4, "processes": 4, "job_cpu": 8}).job_script()
    assert "--cpus-per-task=8" in script and "--nthreads 1" in script, script


def test_job_mem_below_memory_from_dask_config_or_python_is_refused(tmp_path, monkeypatch):
    """`job_mem = "3G"` with `memory = "4GB"` asked SLURM for 3 GiB (--mem=3G) while the
    workers' memory limits added up to 4 GB: SLURM's OOM killer ended the jobs before dask
    spilled to disk. Refused, from the spec (see test_spec), from dask's
    `jobqueue.slurm.job-mem` config and from Python; --mem=0 (the whole node), enough
    memory and a text SLURM alone can read pass."""
    import dask

    pytest.importorskip("dask_jobqueue")
    from v1model.sweep import SpecError

    message = (r"\(3000 = 3145728000 bytes\) is below memory \('4GB' = 4000000000 bytes\): "
               r"SLURM gives each job 2.93 GiB \(--mem\) while its workers count on 3.73 GiB "
               r"together \(their memory limits, when they spill to disk\), so SLURM's OOM "
               r"killer ends the jobs before dask spills; give a job_mem >= memory, or leave "
               r"it out \(it defaults to memory\)$")
    executor = {"kind": "slurm", "cores": 2, "memory": "4GB", "jobs": 1}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # refused before sbatch is sought
    with dask.config.set({"jobqueue.slurm.job-mem": 3000}):  # a bare number: MiB
        with pytest.raises(SpecError, match=rf"^jobqueue\.slurm\.job-mem \(dask config\): "
                                            rf"{message}"):
            make_executor(executor).job_script()
    with pytest.raises(SpecError, match=r"^executor\.job_mem: \('3814M' = 3999268864 bytes\)"):
        JobQueueExecutor("slurm", cores=2, job_mem="3814M", memory="4GB",
                         jobs=1).check_can_start()
    with dask.config.set({"jobqueue.slurm.memory": "4GiB"}):  # memory from dask config too
        with pytest.raises(SpecError, match=r"^executor\.job_mem: \('4000M' = 4194304000 "
                                            r"bytes\) is below memory \('4GiB' = 4294967296"):
            JobQueueExecutor("slurm", cores=2, job_mem="4000M", jobs=1).job_script()
    for job_mem in ("0", "3815M", "4g", "4 GB please"):  # 0: the whole node; sbatch judges
        script = make_executor({**executor, "job_mem": job_mem}).job_script()
        assert f"--mem={job_mem}" in script, script
    # SLURM's str_to_mbytes: a bare number is MiB, K/M/G/T (+ an optional B) binary,
    # KiB rounded up to whole MiB
    from v1model.sweep.executor_config import slurm_mem_bytes

    assert slurm_mem_bytes("1025K") == 2 * 2**20 and slurm_mem_bytes("2t") == 2 * 2**40
    assert slurm_mem_bytes("4GB") == slurm_mem_bytes("4g") == slurm_mem_bytes(4096) == 2**32
    assert slurm_mem_bytes("1.5G") is slurm_mem_bytes("4 G") is slurm_mem_bytes("4GiB") is None


@pytest.mark.parametrize("resource_spec, refused", [
    # PBS gives each chunk its own mem; the workers run on the first chunk's node
    ("select=1:ncpus=8+1:mem=2gb", False),  # the second chunk's 2gb was checked
    ("select=1:ncpus=8:mem=8gb+2:ncpus=4:mem=2gb", False),
    ("select=1:ncpus=8:mem=2gb+2:ncpus=4:mem=8gb", True),
    ("select=1:ncpus=8,mem=2gb", True),  # a job-wide mem: the first node has at most it
    ("nodes=1:ppn=8+2:ppn=4,mem=2gb", True),
    ("nodes=1:ppn=8:mem=8gb+1:ppn=4,mem=2gb", False),  # the first chunk's own comes first
    ("select=1:ncpus=8", False),
])
def test_resource_spec_mem_is_the_first_chunks(resource_spec, refused):
    """check_resource_spec_mem took the first `mem` of any chunk, though its docstring said
    the first chunk's: `select=1:ncpus=8+1:mem=2gb` was refused for the second chunk's 2gb
    below memory='4GB', while the workers' node (the first chunk's) asked for none."""
    from v1model.sweep import SpecError
    from v1model.sweep.executor_config import check_resource_spec_mem

    if refused:
        with pytest.raises(SpecError, match=r"asks for mem=2gb \(= 2147483648 bytes\), below "
                                            r"memory \('4GB'"):
            check_resource_spec_mem("4GB", resource_spec)
    else:
        check_resource_spec_mem("4GB", resource_spec)


def test_memory_requests_beside_job_mem_and_resource_spec_are_checked(tmp_path, monkeypatch):
    """A memory request given otherwise than job_mem went unchecked: SLURM's `--mem` in
    job_extra_directives came after the script's own `--mem` line and overrode job_mem
    (sbatch takes the last: `--mem=1G` gave 4 GB workers 1 GiB), `--mem-per-cpu`
    contradicted it; PBS's `-l mem=` made a second request beside `#PBS -l
    select=...:mem=`, and the mem of resource_spec was never compared with memory.
    Refused from the spec (see test_spec), from Python and from dask's config; what asks
    for no memory (`--mem-bind`, `-l walltime=`) and a resource_spec with enough mem pass
    into the job script as written."""
    import dask

    pytest.importorskip("dask_jobqueue")
    from v1model.sweep import SpecError
    from v1model.sweep.executor_config import pbs_mem_bytes

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # refused before qsub is sought
    slurm = {"cores": 2, "memory": "4GB", "jobs": 1}
    with pytest.raises(SpecError, match=r"^executor\.job_extra_directives: '--mem 1G' asks "
                                        r"SLURM for the job's memory beside"):
        JobQueueExecutor("slurm", job_extra_directives=["--mem 1G"],
                         **slurm).check_can_start()
    with dask.config.set({"jobqueue.slurm.job-extra-directives": ["--mem-per-c=1G"]}):
        with pytest.raises(SpecError, match=r"^jobqueue\.slurm\.job-extra-directives \(dask "
                                            r"config\): '--mem-per-c=1G' asks SLURM"):
            JobQueueExecutor("slurm", **slurm).job_script()
    with pytest.raises(SpecError, match=r"^executor\.resource_spec: \('nodes=1:ppn=2,"
                                        r"mem=3800mb'\) asks for mem=3800mb \(= 3984588800 "
                                        r"bytes\), below memory \('4GB' = 4000000000 bytes\)"):
        JobQueueExecutor("pbs", resource_spec="nodes=1:ppn=2,mem=3800mb",
                         **slurm).check_can_start()
    with dask.config.set({"jobqueue.pbs.resource-spec": "select=1:ncpus=2:mem=3gb"}):
        with pytest.raises(SpecError, match=r"^jobqueue\.pbs\.resource-spec \(dask config\):"
                                            r" \('select=1:ncpus=2:mem=3gb'\) asks for mem=3gb"):
            JobQueueExecutor("pbs", **slurm).job_script()
    with dask.config.set({"jobqueue.pbs.job-extra-directives": ["-lselect=1:mem=8gb"]}):
        with pytest.raises(SpecError, match=r"^jobqueue\.pbs\.job-extra-directives \(dask "
                                            r"config\): '-lselect=1:mem=8gb' asks PBS"):
            JobQueueExecutor("pbs", **slurm).job_script()
    script = make_executor({"kind": "slurm", **slurm, "job_mem": "4G",
                            "job_extra_directives": ["--mem-bind=local"]}).job_script()
    assert "#SBATCH --mem=4G\n" in script and "#SBATCH --mem-bind=local" in script, script
    script = make_executor({"kind": "pbs", **slurm, "resource_spec": "select=1:ncpus=2:mem=4gb",
                            "job_extra_directives": ["-l walltime=01:00:00"]}).job_script()
    assert "#PBS -l select=1:ncpus=2:mem=4gb\n" in script, script
    assert "#PBS -l walltime=01:00:00" in script, script
    # qsub's sizes: binary, bytes without a suffix; words left to qsub
    assert pbs_mem_bytes("4gb") == pbs_mem_bytes("4GB") == pbs_mem_bytes(4 * 2**30) == 2**32
    assert pbs_mem_bytes("1.5gb") is pbs_mem_bytes("4w") is None


def test_a_worker_lifetime_past_the_walltime_is_warned_of(tmp_path, monkeypatch):
    """The README's `--lifetime 110m --lifetime-stagger 5m` retires workers before a 2 h
    walltime, so that no point is cut off; with `walltime = "01:00:00"` (or none: dask-
    jobqueue's 30 minutes) SLURM killed the jobs first and nothing said that the lifetime
    could never act. A SweepWarning says so before the sweep folder is made."""
    import warnings

    import dask

    pytest.importorskip("dask_jobqueue")
    from v1model.sweep import ExecutorStartError, SweepWarning
    from v1model.sweep.executor_config import walltime_seconds

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # stops at sbatch, after the checks
    base = {"kind": "slurm", "cores": 2, "memory": "1GB", "jobs": 1,
            "worker_extra_args": ["--lifetime", "110m", "--lifetime-stagger", "5m"]}

    def check(times=1, **options):
        executor = make_executor({**base, **options})
        for _ in range(times):  # a run checks before its folder is made, and at start
            with pytest.raises(ExecutorStartError, match="not on PATH"):
                executor.check_can_start()

    with pytest.warns(SweepWarning, match=r"^executor\.worker_extra_args: --lifetime 110m "
                      r"\(\+ --lifetime-stagger 5m\) retires the workers after up to 6900 s, "
                      r"not before the jobs' walltime '01:00:00' \(executor\.walltime, 3600 "
                      r"s\): the batch system ends the jobs first") as said:
        check(times=2, walltime="01:00:00")
    assert len([w for w in said if w.category is SweepWarning]) == 1, "warned once"
    with dask.config.set({"jobqueue.slurm.walltime": "00:30:00"}):
        with pytest.warns(SweepWarning, match=r"--lifetime 35m retires the workers after up "
                          r"to 2100 s, not before the jobs' walltime '00:30:00' \(jobqueue\."
                          r"slurm\.walltime \(dask config\), 1800 s\)"):
            check(worker_extra_args=["--lifetime=35m"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)
        check(walltime="02:00:00")  # the README's example: retired 5 minutes before
        check(walltime="1-00")  # SLURM's days-hours
        # no value to read (the worker refuses it, in its job's log): IndexError: string
        # index out of range, from dask's parse_timedelta(""), naming nothing
        check(worker_extra_args=["--lifetime"], walltime="02:00:00")
        check(worker_extra_args=["--lifetime="], walltime="02:00:00")
    # SLURM reads a lone number as minutes, PBS as seconds
    assert walltime_seconds("90", "slurm") == 5400 and walltime_seconds("90", "pbs") == 90
    assert walltime_seconds("1-02:30", "slurm") == 95400
    assert walltime_seconds("02:00:00", "pbs") == walltime_seconds("120:00", "slurm") == 7200
    assert walltime_seconds("2h", "slurm") is None


def test_a_slurm_walltime_of_zero_is_no_limit():
    """SLURM: "a time limit of zero requests that no time limit be imposed". A walltime
    of "0" was read as 0 s, and every worker --lifetime warned of as past it."""
    import warnings

    from v1model.sweep import SweepWarning
    from v1model.sweep.executor_config import walltime_seconds, warn_lifetime_past_walltime

    assert walltime_seconds("0", "slurm") is walltime_seconds("0-0", "slurm") is None
    assert walltime_seconds("00:00:00", "slurm") is None and walltime_seconds("0", "pbs") == 0
    assert walltime_seconds("0:30", "slurm") == 30
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)
        warn_lifetime_past_walltime(["--lifetime", "110m"], "0", "slurm", "args", "walltime")
    with pytest.warns(SweepWarning, match=r"^args: --lifetime 110m .* walltime '0' "
                                          r"\(walltime, 0 s\)"):
        warn_lifetime_past_walltime(["--lifetime", "110m"], "0", "pbs", "args", "walltime")


def test_a_dry_run_checks_the_executor_as_a_run_would(fake_slurm, study, tmp_path,
                                                      monkeypatch, capsys):
    """`sweep run --dry-run` said a spec was fine that the run then refused at once:
    no `sbatch` on PATH, or a job script SLURM refuses. It checks both now, and
    submits nothing."""
    from v1model.cli import main

    out = tmp_path / "out"
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "{out}"\n[sweep]\nx = [1.0, 2.0]\n'
                    '[executor]\nkind = "slurm"\ncores = 1\nmemory = "1GB"\njobs = 1\n')
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 0
    assert "`sbatch --test-only` accepts the job script" in capsys.readouterr().out
    calls = (fake_slurm / "calls").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("--test-only ")  # nothing submitted
    (fake_slurm / "refuse").touch()
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 1
    assert "refused the job script (exit code 1): sbatch: error: Batch job submission " \
           "failed: Invalid account" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["sweep", "run", str(spec), "--dry-run"]) == 1
    assert "`sbatch`, which is not on PATH" in capsys.readouterr().err
    assert not out.exists()
    assert len((fake_slurm / "calls").read_text().splitlines()) == 2


def test_a_dry_run_connects_to_the_dask_scheduler_as_a_run_would(study, tmp_path, capsys):
    """`sweep run --dry-run --address tcp://...` passed with no scheduler at that address,
    and the run then failed at once ("cannot connect to the dask scheduler"). It
    connects now (and only connects: no point, no folder), as the run does."""
    import logging
    import socket

    import dask
    distributed = pytest.importorskip("distributed")
    from v1model.cli import main

    out = tmp_path / "out"
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "{out}"\n[sweep]\nx = [1.0, 2.0]\n')
    with socket.socket() as free:  # a port on this machine that nothing listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    # nothing listens there: refused at once, retried until this timeout
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        assert main(["sweep", "run", str(spec), "--address", address, "--dry-run"]) == 1
    assert capsys.readouterr().err.startswith(
        f"v1model: error: executor.address: cannot connect to the dask scheduler at "
        f"{address!r}: ")
    # a scheduler there (no worker needed to connect): accepted
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                  silence_logs=logging.ERROR) as cluster:
        assert main(["sweep", "run", str(spec), "--address", cluster.scheduler_address,
                     "--dry-run"]) == 0, capsys.readouterr().err
        assert f'"address": "{cluster.scheduler_address}"' in capsys.readouterr().out
    assert not out.exists()


def test_jobscript_does_not_need_the_output_folder(tmp_path, monkeypatch, capsys):
    """`env -u USER v1model sweep jobscript examples/sweeps/lca_sweep_slurm.toml` was
    refused for `output = "/scratch/$USER/..."`, which the job script does not use."""
    pytest.importorskip("dask_jobqueue")
    from v1model.cli import main

    monkeypatch.delenv("USER", raising=False)
    assert main(["sweep", "jobscript", str(example_copy(tmp_path))]) == 0
    assert "#SBATCH -A v1lab" in capsys.readouterr().out
    # log_directory, which it does use, is still expanded and checked
    path = example_copy(tmp_path, replace=[('log_directory = "dask-logs"',
                                            'log_directory = "/scratch/$USER/logs"')])
    assert main(["sweep", "jobscript", str(path)]) == 2
    assert "executor.log_directory: '/scratch/$USER/logs' uses the environment variable " \
           "USER, which is not set\n" in capsys.readouterr().err


def test_a_sweep_without_sbatch_leaves_no_folder_to_refuse_the_corrected_spec(
        study, tmp_path, monkeypatch, capsys):
    """The executor's pre-flight runs before the sweep folder is made: a run
    refused for want of `sbatch` leaves nothing behind, so the corrected spec
    (here: another fixed parameter) is refused for the same reason, not as
    "another sweep", and there is no sweep folder to report on."""
    pytest.importorskip("dask_jobqueue")
    from v1model.cli import main

    out = tmp_path / "results" / "out"
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "{out}"\n[params]\nn = 3\n'
                    '[sweep]\nx = [1.0, 2.0]\n[executor]\nkind = "slurm"\ncores = 1\n'
                    'memory = "1GB"\njobs = 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    from v1model.sweep.storage import DirectoryStore

    def made(*args):  # the pre-flight comes first: not even made and then removed
        raise AssertionError("the sweep folder was created")

    monkeypatch.setattr(DirectoryStore, "create_or_open", made)
    for n in (3, 4):
        spec.write_text(spec.read_text().replace(f"n = {n - 1}", f"n = {n}"))
        assert main(["sweep", "run", str(spec), "--no-progress"]) == 1
        assert "`sbatch`, which is not on PATH" in capsys.readouterr().err
        assert not (tmp_path / "results").exists()
    assert main(["sweep", "status", str(out)]) == 2
    assert f"output: {str(out)!r} does not exist" in capsys.readouterr().err


# A fake PBS server on this machine, after PBS Pro (and Torque): qsub prints the job id
# "<sequence number>.<server>" and hands the job to a fake MOM, which runs it the way PBS
# does (see FAKE_PBS_MOM); qstat <ids> prints PBS's table, and "Unknown Job Id" (exit
# 153) for a job the server no longer has. Files in $FAKE_PBS change the server: "refuse"
# (qsub refuses every job), "hold" (jobs queued until qstat has been asked), "broken"
# (the job's Python is missing on the node), "stageout" (the output takes 1.5 s to be
# delivered, state E), "history" (PBS Pro's job_history_enable: qstat says "Job has
# finished" for ended jobs, exit 35), "torque" (Torque's qstat: ended jobs listed as C).
FAKE_QSUB = r"""#!/bin/sh
echo "qsub $*" >> "$FAKE_PBS/calls"
server=pbs01
if [ -e "$FAKE_PBS/refuse" ]; then  # a queue the server does not have
  echo "qsub: Unknown queue" >&2
  exit 170
fi
id=$(flock "$FAKE_PBS/seq.lock" sh -c \
  'n=$(( $(cat "$FAKE_PBS/seq" 2>/dev/null || echo 4100) + 1 ))
   echo $n > "$FAKE_PBS/seq"; echo $n')
job="$FAKE_PBS/jobs/$id"
mkdir -p "$job/tmp" "$FAKE_PBS/spool" "$FAKE_PBS/home"
cp "$1" "$job/script.sh"
name=$(sed -n 's/^#PBS -N //p' "$1" | tail -n 1)
[ -n "$name" ] || name=$(basename "$1")
echo "$name" > "$job/name"
# where the output goes when the job ends (-o / -e, relative to the submission folder):
# a folder gets the spool file "<job id>.OU" / ".ER"; no path, "<job name>.o<seq>" here
dest() {
  p=$(sed -n "s/^#PBS $1 //p" "$job/script.sh" | tail -n 1)
  case "$p" in ""|/*) ;; *) p="$PWD/$p" ;; esac
  if [ -z "$p" ]; then echo "$PWD/$name.$2$id"
  elif [ -d "$p" ] || [ "${p%/}" != "$p" ]; then echo "${p%/}/$id.$server.$3"
  else echo "$p"; fi
}
dest -o o OU > "$job/out"
dest -e e ER > "$job/err"
if [ -e "$FAKE_PBS/broken" ]; then  # the compute node has no such Python
  sed -i -E 's#^[^ ]*/python[0-9.]* -m #/opt/missing/bin/python3 -m #' "$job/script.sh"
fi
nohup "$FAKE_PBS/pbs_mom" "$id" "$server" "$PWD" > /dev/null 2>&1 &
echo "$id.$server"
"""
FAKE_PBS_MOM = r"""#!/bin/sh
# runs job $1 as a PBS MOM does: in the user's home, in a session of its own, with PBS's
# variables instead of the submitter's environment, its output spooled until it ends
id=$1 server=$2 workdir=$3
job="$FAKE_PBS/jobs/$id"
if [ -e "$FAKE_PBS/hold" ]; then  # queued until qstat has been asked
  until grep -q '^qstat' "$FAKE_PBS/calls" || [ -e "$job/deleted" ]; do sleep 0.2; done
fi
if [ ! -e "$job/deleted" ]; then
  touch "$job/started"
  # PBS Pro sets NCPUS and OMP_NUM_THREADS to the ncpus of the job's (first) chunk
  ncpus=$(sed -n 's/^#PBS -l select=.*ncpus=\([0-9]*\).*/\1/p' "$job/script.sh" | head -n 1)
  ncpus=${ncpus:-1}
  setsid env -i HOME="$FAKE_PBS/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    SHELL=/bin/bash USER="$(id -un)" LOGNAME="$(id -un)" TMPDIR="$job/tmp" \
    PBS_JOBID="$id.$server" PBS_JOBNAME="$(cat "$job/name")" PBS_O_WORKDIR="$workdir" \
    PBS_ENVIRONMENT=PBS_BATCH PBS_QUEUE=workq NCPUS="$ncpus" OMP_NUM_THREADS="$ncpus" \
    sh -c 'cd "$HOME" && exec bash "$0"' "$job/script.sh" \
    > "$FAKE_PBS/spool/$id.$server.OU" 2> "$FAKE_PBS/spool/$id.$server.ER" &
  echo $! > "$job/pid"
  wait
  touch "$job/exiting"  # state E while the output is delivered ("stageout": slowly)
  if [ -e "$FAKE_PBS/stageout" ]; then sleep 1.5; fi
  cp "$FAKE_PBS/spool/$id.$server.OU" "$(cat "$job/out")"
  cp "$FAKE_PBS/spool/$id.$server.ER" "$(cat "$job/err")"
fi
touch "$job/done"
"""
FAKE_QSTAT = r"""#!/bin/sh
# qstat <job id>...: the table of the jobs the server knows, an error for each other one
server=pbs01
rc=0
header=
for arg in "$@"; do
  case "$arg" in -*) continue ;; esac
  id=${arg%%.*}
  job="$FAKE_PBS/jobs/$id"
  state=
  if [ -e "$job/done" ]; then
    if [ -e "$FAKE_PBS/torque" ]; then  # Torque lists completed jobs a while (keep_completed)
      state=C
    elif [ -e "$FAKE_PBS/history" ]; then  # PBS Pro with job_history_enable
      echo "qstat: $id.$server Job has finished, use -x or -H to obtain historical job" \
           "information" >&2
      rc=35
      continue
    fi
  elif [ -e "$job/exiting" ]; then state=E
  elif [ -e "$job/started" ]; then state=R
  elif [ -d "$job" ]; then state=Q
  fi
  if [ -z "$state" ]; then
    if [ -e "$FAKE_PBS/torque" ]; then
      echo "qstat: Unknown Job Id Error $id.$server" >&2
    else
      echo "qstat: Unknown Job Id $id.$server" >&2
    fi
    rc=153
    continue
  fi
  if [ -z "$header" ]; then
    header=1
    if [ -e "$FAKE_PBS/torque" ]; then
      echo "Job ID                    Name             User            Time Use S Queue"
      echo "------------------------- ---------------- --------------- -------- - -----"
    else
      echo "Job id            Name             User              Time Use S Queue"
      echo "----------------  ---------------- ----------------  -------- - -----"
    fi
  fi
  use=00:00:01
  [ "$state" = Q ] && use=0
  printf "%-17s %-16.16s %-17.17s %8s %s %s\n" "$id.$server" "$(cat "$job/name")" \
    "$(id -un)" "$use" "$state" workq
done
echo "qstat $*" >> "$FAKE_PBS/calls"  # once answered: "hold" releases the jobs
exit $rc
"""
FAKE_QDEL = r"""#!/bin/sh
# qdel <job id>...: SIGTERM to the job's session; a job the server no longer has is an error
echo "qdel $*" >> "$FAKE_PBS/calls"
rc=0
for arg in "$@"; do
  id=${arg%%.*}
  job="$FAKE_PBS/jobs/$id"
  if [ ! -d "$job" ] || [ -e "$job/done" ] || [ -e "$job/deleted" ]; then
    echo "qdel: Unknown Job Id $id.pbs01" >&2
    rc=153
    continue
  fi
  touch "$job/deleted"
  echo "$id" >> "$FAKE_PBS/deleted"
  if [ -e "$job/started" ]; then
    until [ -s "$job/pid" ]; do sleep 0.05; done
    kill -TERM -- "-$(cat "$job/pid")" 2>/dev/null
  fi
done
exit $rc
"""


@pytest.fixture()
def fake_pbs(tmp_path, monkeypatch):
    """Fake ``qsub`` / ``qstat`` / ``qdel`` on PATH (real dask workers run the job scripts
    on this machine, the way a PBS MOM would); returns the directory of their records."""
    return _fake_batch_system(tmp_path, monkeypatch, "FAKE_PBS", {
        "qsub": FAKE_QSUB, "qstat": FAKE_QSTAT, "qdel": FAKE_QDEL}, {"pbs_mom": FAKE_PBS_MOM})


PBS = {"kind": "pbs", "cores": 1, "memory": "1GB", "walltime": "00:10:00",
       "scheduler_options": {"dashboard_address": ":0"}}


def test_pbs_sweep_runs_on_submitted_jobs(fake_pbs, serial_reference, study, tmp_path,
                                          monkeypatch, capsys):
    """The whole PBS path against the serial reference: adaptive jobs pending in the
    queue (reported, from qstat's table), then running every point, and deleted with
    qdel at the end. PBS starts the jobs in the user's home without the submitter's
    environment: the study, a module found through a relative PYTHONPATH, is found
    by the workers too (every point used to fail with ModuleNotFoundError)."""
    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    monkeypatch.setattr(JobQueueExecutor, "notice_every", 0.0)
    (fake_pbs / "hold").touch()
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "pbs_tiny_study.py").write_text(Path(study().rsplit(":", 1)[0])
                                                         .read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", "mods")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    ds = run("pbs_tiny_study:tiny", GRID, n_seeds=2, seed=5, output=tmp_path / "out",
             progress=False, executor={**PBS, "adapt": {"minimum_jobs": 0, "maximum_jobs": 2},
                                       "log_directory": str(tmp_path / "logs")})
    assert (ds["status"] == "ok").all(), ds["error"].values
    for name in ["y", "v", "count", "name", "point_seed"]:
        xr.testing.assert_identical(ds[name], serial_reference[name])
    calls = (fake_pbs / "calls").read_text().splitlines()
    submitted = [c for c in calls if c.startswith("qsub ")]
    assert 1 <= len(submitted) <= 2
    # qsub printed "4101.pbs01": dask-jobqueue keeps the number, which qdel takes
    assert sorted(set((fake_pbs / "deleted").read_text().split())) == [
        str(4101 + k) for k in range(len(submitted))]
    notices = [line for line in capsys.readouterr().err.splitlines()
               if "no worker has joined after" in line]
    assert any(re.search(r"job\(s\) submitted \(410[12](, 410[12])?\): [12] Q;", line)
               for line in notices), notices


def test_pbs_pros_omp_num_threads_does_not_reach_the_points(fake_pbs, study, tmp_path,
                                                           monkeypatch):
    """PBS Pro starts every job with OMP_NUM_THREADS set to its ncpus, and dask's worker
    keeps a variable the job's environment holds (its own 1 is a default): every point
    ran OpenMP code on all the job's CPUs, and numba, which dask does not set, as many.
    The job script's exports come after PBS set the job's environment."""
    monkeypatch.chdir(tmp_path)  # the jobs' output files land where qsub ran
    ds = run(study("blas_threads"), {"x": [0.0]}, output=tmp_path / "out", progress=False,
             executor={**PBS, "jobs": 1, "cores": 2, "processes": 1})
    assert ds["status"].values.tolist() == ["ok"], ds["error"].values
    assert [ds[name.lower()].item() for name in THREADS] == ["1"] * 4
    assert ds["numba_threads"].item() == 1


@pytest.mark.parametrize("flavor", ["pbspro-history", "torque"])
def test_pbs_jobs_whose_worker_cannot_start_stop_the_sweep(flavor, fake_pbs, study, tmp_path,
                                                           monkeypatch):
    """A job script whose Python is missing on the node: the sweep stops and quotes the
    job's error file, under PBS's names for it: ``<id>.<server>.ER`` in the
    log_directory (delivered while the job is exiting, state E), else
    ``<job name>.e<seq>`` in the submission folder. PBS Pro keeping job history says
    "Job has finished" instead of "Unknown Job Id" (the sweep used to wait for ever);
    Torque lists the ended jobs as C."""
    from v1model.sweep import ExecutorStartError

    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 1.0)
    monkeypatch.chdir(tmp_path)  # where qsub runs: PBS_O_WORKDIR
    (fake_pbs / "broken").touch()
    if flavor == "torque":
        (fake_pbs / "torque").touch()
        options, log = {}, r"dask-worker\.e410[12]"
    else:
        (fake_pbs / "history").touch()
        (fake_pbs / "stageout").touch()
        options, log = {"log_directory": str(tmp_path / "logs")}, r"logs/410[12]\.pbs01\.ER"
    stopped = (rf"(?s)all 2 worker job\(s\) \(410[12], 410[12]\) left the queue .*the end of "
               rf"the job's log:\n.*{log}:\n.*/opt/missing/bin/python3: No such file")
    with pytest.raises(ExecutorStartError, match=stopped):
        run(study(), {"x": [1.0, 2.0]}, output=tmp_path / "out", progress=False,
            executor={**PBS, "jobs": 2, **options})
    assert not list((tmp_path / "out" / "points").glob("*.nc"))


def test_pbs_refused_jobs_stop_the_sweep(fake_pbs, study, tmp_path, monkeypatch):
    """PBS has no dry run like ``sbatch --test-only``: a job qsub refuses (here: its
    queue) was only a log line of dask-jobqueue while the sweep waited for ever."""
    from v1model.sweep import ExecutorStartError

    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 1.0)
    monkeypatch.chdir(tmp_path)
    (fake_pbs / "refuse").touch()
    with pytest.raises(ExecutorStartError, match=r"kind 'pbs': `qsub` refused the worker job "
                                                  r"\(exit code 170\): qsub: Unknown queue"):
        run(study(), {"x": [1.0]}, output=tmp_path / "out", progress=False,
            executor={**PBS, "queue": "nosuchqueue", "jobs": 1})
    assert (fake_pbs / "calls").read_text().startswith("qsub ")


def test_pbs_jobs_that_end_at_their_lifetime_are_replaced(fake_pbs, study, tmp_path,
                                                          monkeypatch, capsys):
    """Workers retiring at --lifetime end their job with points left; with PBS Pro's
    job history qstat says "Job has finished" for them. New jobs are submitted and
    every point finishes as in a serial run."""
    monkeypatch.setattr(JobQueueExecutor, "queue_poll", 0.5)
    monkeypatch.chdir(tmp_path)  # the jobs' output files land where qsub ran
    (fake_pbs / "history").touch()
    # on the first job, each of the 2 processes finishes one point, then retires its worker
    # as --lifetime would (once the sweep has its result) and holds the next point until
    # it is gone: in this order however loaded the machine (a --lifetime 10s raced the
    # workers' start and first point, and under load the sweep stopped: WorkersLostError)
    grid = {"x": [1.0, 2.0], "label": ["a", "bb"]}
    log = tmp_path / "log"
    log.mkdir()
    ds = run(study("retiring"), grid, params={"log_dir": str(log)}, seed=5,
             output=tmp_path / "out", progress=False,
             executor={**PBS, "jobs": 1, "cores": 2, "processes": 2})
    serial = run(study(), grid, params={"sleep": 0.0}, seed=5, executor="serial",
                 progress=False)
    assert ds.attrs["sweep_n_ok"] == 4
    for name in ["y", "v", "count", "name", "point_seed"]:
        xr.testing.assert_identical(ds[name], serial[name])
    submitted = [c for c in (fake_pbs / "calls").read_text().splitlines()
                 if c.startswith("qsub ")]
    assert len(submitted) >= 2
    said = capsys.readouterr().err
    # the ended job is seen either while PBS finishes it (E, or C on Torque) or once gone
    assert re.search(r"all 1 worker job\(s\) ended \(1 (GONE|E|C)\) after \d+ point\(s\) "
                     r"finished; submitting new job\(s\)", said), said


def test_every_point_gets_its_own_copy_of_the_fixed_parameters():
    # the serial executor ran every point on one shared list: a study that appended to
    # it saw 1, 2, 3 entries at the three points (a local pool: 1, 1, 1)
    study = f"{Path(__file__).with_name('_studies.py')}:appends"
    given = {"sizes": [0]}
    ds = run(study, {"x": [1.0, 2.0, 3.0]}, params=given, executor="serial", progress=False)
    np.testing.assert_array_equal(ds["n_sizes"].values.ravel(), [1, 1, 1])
    assert given == {"sizes": [0]}


def test_the_per_point_variables_and_the_replicate_have_units():
    # status, error, point_seed and the replicate coordinate had a long_name but no units
    ds = run(f"{Path(__file__).with_name('_studies.py')}:tiny", {"x": [1.0, 2.0]}, n_seeds=2,
             executor="serial", progress=False)
    for name in ("point_seed", "duration", "cpu_time", "replicate"):
        assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
    # text has a long_name and no units (they said "1" until 2026-12-07)
    for name in ("status", "error"):
        assert "units" not in ds[name].attrs and "long_name" in ds[name].attrs, name
    assert ds["point_seed"].attrs["units"] == "1" and ds["duration"].attrs["units"] == "s"


def test_studies_run_without_their_own_progress_bars_unless_asked():
    # every worker drew its study's bars on the sweep's terminal (or cluster job log)
    study = f"{Path(__file__).with_name('_studies.py')}:records_progress"
    quiet = run(study, {"x": [1.0, 2.0]}, executor="serial", progress=False)
    np.testing.assert_array_equal(quiet["progress_on"].values, [0, 0])
    asked = run(study, {"x": [1.0, 2.0]}, params={"progress": True}, executor="serial",
                progress=False)
    np.testing.assert_array_equal(asked["progress_on"].values, [1, 1])


def test_point_that_keeps_killing_its_dask_worker_fails_alone_and_is_counted(
        dask_cluster, dask_client, study, calls, tmp_path, monkeypatch):
    """dask gives up on a task after ``allowed-failures`` dead workers (KilledWorker):
    that point is failed with dask's message, the others are stored, and the
    executor counts it as finished (the count behind the watch's "N point(s) left")."""
    log = tmp_path / "log"
    log.mkdir()
    # the shared cluster (its nannies restart a killed worker), with the scheduler's
    # distributed.scheduler.allowed-failures, which it reads when a worker dies, at 0
    monkeypatch.setattr(dask_cluster.scheduler, "allowed_failures", 0)
    executor = DaskExecutor(client=dask_client)
    ds = run(study("crashing"), {"x": [1.0, 2.0, 3.0]},
             params={"crash_x": 2.0, "log_dir": str(log), "sleep": 0.3},
             executor=executor, output=tmp_path / "out", progress=False)
    status = dict(zip(ds["x"].values.tolist(), ds["status"].values.tolist()))
    assert status == {1.0: "ok", 2.0: "failed", 3.0: "ok"}, ds["error"].values
    # dask's own message, not the (type, value, traceback) tuple as_completed hands over
    assert ds["error"].sel(x=2.0).item().startswith(
        "KilledWorker: Attempted to run task 'v1model-sweep-"), ds["error"].sel(x=2.0).item()
    assert (executor.finished, executor.n_tasks) == (3, 3)
    assert [n for t, n in calls(log, "start").items() if t.startswith("2.0-")] == [1]
    assert len(list((tmp_path / "out" / "points").glob("[0-9]*.nc"))) == 2
    np.testing.assert_array_equal(ds["y"].sel(x=[1.0, 3.0]).values, [1.0, 3.0])


def test_the_failure_record_counts_the_dask_workers_a_point_killed(dask_cluster, dask_client,
                                                                   study, tmp_path,
                                                                   monkeypatch):
    """dask runs a point that kills its worker on ``allowed-failures + 1`` workers: its
    failure record counts them all (it said 1)."""
    monkeypatch.setattr(dask_cluster.scheduler, "allowed_failures", 1)  # see above
    run(study("crashing"), {"x": [2.0]}, params={"crash_x": 2.0},
        executor=DaskExecutor(client=dask_client), output=tmp_path / "out", progress=False)
    record = json.loads((tmp_path / "out" / "failed" / "000000.json").read_text())
    assert record["error"].startswith("KilledWorker: Attempted to run task 'v1model-sweep-")
    assert " on 2 different workers" in record["error"]
    assert record["attempts"] == 2


def test_a_dask_point_whose_result_cannot_travel_back_fails_alone(dask_client, study, tmp_path):
    # as_completed(with_results=True) raised the result's deserialization error in its
    # background task: that point never came out and the sweep waited for ever
    import threading

    out = {}

    def sweep():
        out["ds"] = run(study("unpicklable"), {"x": [1.0, 2.0, 3.0]},
                        executor=DaskExecutor(client=dask_client), output=tmp_path / "out",
                        progress=False)

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the sweep hangs on a result that cannot be sent back"
    ds = out["ds"]
    status = dict(zip(ds["x"].values.tolist(), ds["status"].values.tolist()))
    assert status == {1.0: "ok", 2.0: "failed", 3.0: "ok"}, ds["error"].values
    assert "serialize" in ds["error"].sel(x=2.0).item()


def test_a_result_is_taken_as_its_point_finishes_not_when_the_sweep_asks(study, calls,
                                                                         tmp_path, monkeypatch):
    """The sweep took a point's result from its worker only once it had saved the points
    before it: a worker that retired meanwhile (``--lifetime``, adaptive scaling, the end
    of its job) took the finished result with it, and dask computed the point again on
    the next worker. Here the only worker retires while the sweep saves the first point,
    once the second has finished (and, taken at once, left the worker's memory; else
    after 10 s): that point runs once."""
    distributed = pytest.importorskip("distributed")
    import logging

    from v1model.sweep.storage import DirectoryStore

    log = tmp_path / "log"
    log.mkdir()
    write_point, retired = DirectoryStore.write_point, []

    def slow_save(self, outcome, seed):
        if not retired:
            retired.append(outcome.index)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (
                    len(calls(log, "finish")) < 2
                    or any(client.run(lambda dask_worker: len(dask_worker.data)).values())):
                time.sleep(0.05)
            client.run(lambda dask_worker: dask_worker.loop.add_callback(
                dask_worker.close_gracefully, reason="worker-lifetime-reached"))
            deadline = time.monotonic() + 60
            while cluster.scheduler.workers and time.monotonic() < deadline:
                time.sleep(0.02)
            cluster.scale(2)  # a new worker (a new job), where a lost point would run again
        return write_point(self, outcome, seed)

    monkeypatch.setattr(DirectoryStore, "write_point", slow_save)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}
                                  ) as cluster, distributed.Client(cluster) as client:
        ds = run(study(), {"x": [1.0, 2.0]}, seed=5, params={"log_dir": str(log)},
                 output=tmp_path / "out", progress=False,
                 executor={"kind": "dask", "address": cluster.scheduler_address})
    assert retired and ds.attrs["sweep_n_ok"] == 2
    assert set(calls(log, "finish").values()) == {1}, calls(log, "finish")
    reference = run(study(), {"x": [1.0, 2.0]}, seed=5, executor="serial", progress=False)
    xr.testing.assert_identical(ds["y"], reference["y"])


def _recording_queue(monkeypatch, held):
    """Make :meth:`DaskExecutor.map`'s result queue note its size after every put."""
    import queue
    import types

    from v1model.sweep import executors

    class Recording(queue.Queue):
        def put(self, item, block=True, timeout=None):
            super().put(item, block, timeout)
            held.append(self.qsize())

    monkeypatch.setattr(executors, "queue",
                        types.SimpleNamespace(Queue=Recording, Full=queue.Full))


def _save_once_all_finished(monkeypatch, calls, log, n, then=None):
    """The sweep's first save waits (at most 60 s) until all ``n`` points have finished
    on the workers, and a moment more, then calls ``then()`` (or saves)."""
    from v1model.sweep.storage import DirectoryStore

    write_point, waited = DirectoryStore.write_point, []

    def slow_save(self, outcome, seed):
        if not waited:
            waited.append(outcome.index)
            deadline = time.monotonic() + 60
            while sum(calls(log, "finish").values()) < n and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the result thread takes what it may meanwhile
            if then is not None:
                then()
        return write_point(self, outcome, seed)

    monkeypatch.setattr(DirectoryStore, "write_point", slow_save)
    return waited


def test_a_slow_save_keeps_the_finished_results_on_the_workers(dask_client, study, calls,
                                                              tmp_path, monkeypatch):
    """The result thread took every finished point's result into an unbounded queue: a
    sweep that saved more slowly than its cluster ran (a slow file system, big points)
    held all their Datasets in its memory. It takes at most RESULTS_AHEAD ahead of the
    saving; the rest wait on the workers, and every point is saved all the same."""
    from v1model.sweep import executors

    monkeypatch.setattr(executors, "RESULTS_AHEAD", 2)
    held, log, xs = [], tmp_path / "log", [float(x) for x in range(1, 9)]
    log.mkdir()
    _recording_queue(monkeypatch, held)
    waited = _save_once_all_finished(monkeypatch, calls, log, len(xs))
    ds = run(study(), {"x": xs}, seed=5, params={"log_dir": str(log)},
             executor=DaskExecutor(client=dask_client), output=tmp_path / "out",
             progress=False)
    assert waited and ds.attrs["sweep_n_ok"] == len(xs)
    assert max(held) == 2, held  # it filled the queue, and no more, while the save waited
    reference = run(study(), {"x": xs}, seed=5, executor="serial", progress=False)
    xr.testing.assert_identical(ds["y"], reference["y"])


def test_a_stopped_sweep_leaves_no_result_thread_waiting_for_room(dask_client, study, calls,
                                                                 tmp_path, monkeypatch):
    """A sweep stopped by an error in saving (or by Ctrl-C) while its full result queue
    held the thread back: the thread returns (a bounded queue must not keep it waiting
    for a sweep that takes nothing more)."""
    import errno

    from v1model.sweep import executors
    from v1model.sweep.errors import OutputWriteError

    monkeypatch.setattr(executors, "RESULTS_AHEAD", 1)
    held, log = [], tmp_path / "log"
    log.mkdir()
    _recording_queue(monkeypatch, held)

    def disk_full():
        raise OSError(errno.ENOSPC, "No space left on device")

    _save_once_all_finished(monkeypatch, calls, log, 4, then=disk_full)
    before = set(threading.enumerate())
    with pytest.raises(OutputWriteError, match="No space left"):
        run(study(), {"x": [1.0, 2.0, 3.0, 4.0]}, params={"log_dir": str(log)},
            executor=DaskExecutor(client=dask_client), output=tmp_path / "out",
            progress=False)
    assert held and max(held) == 1  # the thread waited for room when the sweep stopped
    takers = [t for t in set(threading.enumerate()) - before
              if t.name == "v1model-sweep-results"]
    for thread in takers:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in takers), "the result thread waits for ever"


def test_losing_the_dask_scheduler_is_a_workers_lost_error(study, tmp_path):
    # the points the lost scheduler cancelled ended the run with a bare RuntimeError,
    # which the command line printed as a traceback instead of its one-line error
    distributed = pytest.importorskip("distributed")
    import logging
    import threading

    from v1model.sweep.errors import WorkersLostError

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL)
    points = tmp_path / "out" / "points"

    def close_after_first_point():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(points.glob("[0-9]*.nc")):
            time.sleep(0.05)
        cluster.close()

    closer = threading.Thread(target=close_after_first_point, daemon=True)
    closer.start()
    with pytest.raises(WorkersLostError, match="resume"):
        run(study(), {"x": [1.0, 2.0, 3.0, 4.0]}, params={"sleep": 1.0},
            executor={"kind": "dask", "address": cluster.scheduler_address},
            output=tmp_path / "out", progress=False)
    closer.join(timeout=30)


def test_the_dask_schedulers_log_lines_stay_out_of_the_sweeps_output(study, tmp_path):
    """A point that kills its worker is recorded as failed by the sweep; the scheduler of
    the sweep's own LocalCluster (in the sweep's process) also wrote "distributed.scheduler
    - ERROR - Task ... marked as failed because 1 workers died" and "Couldn't gather
    keys" on the terminal, and with port 8787 in use (another sweep, a notebook's
    cluster) dask's "Port 8787 is already in use" for a dashboard the sweep does not
    start. In a process of its own: pytest's logging plugin hides the log lines."""
    import socket
    import subprocess
    import sys

    pytest.importorskip("distributed")
    script = tmp_path / "sweep_script.py"
    script.write_text(
        "import dask\n"
        "from v1model.sweep import run\n"
        "if __name__ == '__main__':\n"
        "    with dask.config.set({'distributed.scheduler.allowed-failures': 0}):\n"
        f"        ds = run({study('crashing')!r}, {{'x': [1.0, 2.0]}}, params={{'crash_x': 2.0}},\n"
        "                 executor={'kind': 'dask', 'n_workers': 1}, progress=False)\n"
        "    print(ds['status'].values.tolist(), [e[:13] for e in ds['error'].values])\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with socket.socket() as busy:
        try:
            busy.bind(("127.0.0.1", 8787))
            busy.listen()
        except OSError:
            pass  # in use already
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    # the crashing point is recorded; the other is too when it was queued on the one
    # worker the crash took down (a race on a loaded machine), else it is ok
    assert out.stdout.strip() in ("['ok', 'failed'] ['', 'KilledWorker:']",
                                  "['failed', 'failed'] ['KilledWorker:', 'KilledWorker:']"), \
        out.stdout
    assert "distributed." not in out.stderr and "8787" not in out.stderr, out.stderr


@pytest.mark.parametrize("config, preload, argv", [
    # one preload given as text, as dask takes it: its letters were preloaded as modules
    ({"distributed.worker.preload": "site_setup"},
     ["site_setup", "v1model.sweep.executors"], None),
    # one argument list per preload: one list fewer than the preloads, dask refused it
    ({"distributed.worker.preload": ["site_setup"],
      "distributed.worker.preload-argv": [["--level", "2"]]},
     ["site_setup", "v1model.sweep.executors"], [["--level", "2"], []]),
    ({"distributed.worker.preload": [], "distributed.worker.preload-argv": []},
     ["v1model.sweep.executors"], None),
])
def test_the_sweeps_worker_preload_keeps_the_users_dask_config(monkeypatch, config, preload,
                                                               argv):
    distributed = pytest.importorskip("distributed")
    import dask
    from distributed.preloading import process_preloads

    made = {}
    monkeypatch.setattr(distributed, "LocalCluster", lambda **kwargs: made.update(kwargs))
    with dask.config.set(config):
        DaskExecutor(n_workers=1)._make_cluster()
        assert made["preload"] == preload
        assert made.get("preload_argv") == argv
        # what each worker does with them (a module it cannot import aside): no error
        monkeypatch.setattr("distributed.preloading.Preload.__init__",
                            lambda self, server, name, argv, file_dir: None)
        process_preloads(None, made["preload"], made.get("preload_argv")
                         or dask.config.get("distributed.worker.preload-argv"))


def test_the_sweeps_local_cluster_gives_each_point_one_numba_thread(study, tmp_path,
                                                                    monkeypatch):
    """dask's workers get OMP, OpenBLAS and MKL at 1 thread (distributed.nanny.
    pre-spawn-environ) but not numba: a point running encode(method="cd") took every
    CPU of the machine, beside the other workers' points. Each point limits numba
    itself: numba's variable in pre-spawn-environ was written by each nanny into the
    sweep's own os.environ for good, and the sweep process's numba, its threads
    launched at another count, raised on its next compile."""
    pytest.importorskip("distributed")
    pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    ds = run(study("blas_threads"), {"x": [0.0, 1.0]}, output=tmp_path / "out",
             progress=False, executor={"kind": "dask", "n_workers": 1})
    assert ds["status"].values.tolist() == ["ok", "ok"], ds["error"].values
    assert ds["numba_threads"].values.tolist() == [1, 1]
    assert ds["blas_threads"].values.tolist() == [1, 1]
    assert "NUMBA_NUM_THREADS" not in os.environ  # the sweep's own process untouched


def test_a_ctrl_c_while_the_cluster_starts_is_held_with_other_threads_running(default_sigint):
    """``_sigint_held`` blocked SIGINT in the main thread only: with any other thread
    running (NumPy's BLAS threads, one per core, unless OMP_NUM_THREADS=1) the kernel gave
    the signal to that thread and the KeyboardInterrupt was raised at once, in the middle
    of LocalCluster, which was left half-made. Held, it is raised when the block ends."""
    from v1model.sweep.executors import _sigint_held

    done = threading.Event()
    other = threading.Thread(target=done.wait, args=(30,), daemon=True)
    other.start()  # a thread started before the hold, SIGINT not blocked in it
    reached = []
    try:
        with pytest.raises(KeyboardInterrupt), _sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(20):  # Python's handler runs within a few bytecodes
                time.sleep(0.01)
            reached.append(True)
    finally:
        done.set()
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_ctrl_c_hold_works_without_signal_masks(monkeypatch, default_sigint):
    """Windows has no ``signal.pthread_sigmask`` (nor multiprocessing's resource tracker,
    which spawns with POSIX's _posixsubprocess): ``_sigint_held`` called both, and every
    start of the sweep's own dask LocalCluster there failed (ExecutorStartError:
    ModuleNotFoundError). Without masks, the Ctrl-C is held by the handler alone."""
    from multiprocessing import resource_tracker

    from v1model.sweep.executors import _sigint_held

    def posix_only():
        raise ModuleNotFoundError("No module named '_posixsubprocess'")

    monkeypatch.delattr(signal, "pthread_sigmask")
    monkeypatch.setattr(resource_tracker, "ensure_running", posix_only)
    reached = []
    with pytest.raises(KeyboardInterrupt), _sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(20):
            time.sleep(0.01)
        reached.append(True)
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_points_on_a_cluster_of_the_users_own_run_with_one_numba_and_blas_thread(
        dask_cluster, study, tmp_path, monkeypatch):
    """The sweep cannot set the environment of the workers of a cluster given by
    address: dask's nanny sets the BLAS variables to 1 but not numba's, and each point
    ran numba's parallel kernels on every CPU of the worker. The point limits them
    itself while it runs; a variable the worker's environment sets is kept, and the
    sweep's own LocalCluster and local pool keep theirs (threads_per_worker)."""
    numba = pytest.importorskip("numba")
    workers = dask_cluster.scheduler_address
    from distributed import Client

    with Client(workers) as client:
        seen = client.run(lambda: (os.environ.get("NUMBA_NUM_THREADS"),
                                   __import__("numba").config.NUMBA_NUM_THREADS))
    if any(env is not None or n < 2 for env, n in seen.values()):
        pytest.skip(f"workers' numba has 1 thread or its variable set: {seen}")
    ds = run(study("blas_threads"), {"x": [0.0, 1.0]}, output=tmp_path / "out",
             progress=False, executor={"kind": "dask", "address": workers})
    assert ds["status"].values.tolist() == ["ok", "ok"], ds["error"].values
    assert ds["numba_threads"].values.tolist() == [1, 1]
    assert ds["numba_num_threads"].values.tolist() == ["", ""]  # the worker's env unset
    assert ds["blas_threads"].values.tolist() == [1, 1]
    # the limit lasts the point only: the worker's own numba threads are as they were
    from v1model.sweep.point import point_threads

    before = numba.get_num_threads()
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    with point_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    # a value the worker's environment sets is the cluster owner's choice
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(before))
    with point_threads(1):
        assert numba.get_num_threads() == before
    # the local pool's threads_per_worker are not lowered by it
    pool = run(study("blas_threads"), {"x": [0.0]}, output=tmp_path / "pool",
               progress=False,
               executor={"kind": "local", "workers": 1, "threads_per_worker": 2})
    assert pool["numba_threads"].item() == 2


@pytest.mark.parametrize("kind, options, said", [
    ("local", {"workers": 2, "threads_per_worker": 2},
     "executor kind 'local': workers (2) x threads_per_worker (2) = 4 threads of points "
     "(BLAS, OpenMP, numba) at once, on the 2 CPU(s) this process may use "
     "(os.sched_getaffinity): they share them, each slower; ask for at most 2 unless the "
     "points wait on I/O"),
    # one worker process of 3 threads: the start of a second one cost seconds, not a check
    ("dask", {"n_workers": 1, "threads_per_worker": 3},
     "executor kind 'dask': n_workers (1) x threads_per_worker (3) = 3 points at once, on "
     "the 2 CPU(s) this process may use (os.sched_getaffinity): they share them, each "
     "slower; ask for at most 2 unless the points wait on I/O"),
    ("local", {"workers": 1, "threads_per_worker": 2}, None),  # 2 on 2: nothing to say
])
def test_more_threads_at_once_than_cpus_are_warned_of_once_before_any_point(
        kind, options, said, study, tmp_path, monkeypatch):
    """The job-queue executors refuse processes that do not divide cores, but the sweep's
    own pools were never compared with the CPUs it may use: ``n_workers=2,
    threads_per_worker=2`` on 2 CPUs ran 4 points at once, each slower, without a word.
    A warning, not a refusal (points that wait on I/O may share CPUs on purpose), given
    once, before any point ran."""
    import warnings

    from v1model.sweep import SweepWarning

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    out = tmp_path / "out"
    shown = []  # (message, points saved by then)

    def show(message, category, *args, **kwargs):
        if category is SweepWarning:
            shown.append((str(message), list((out / "points").glob("*.nc"))))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "showwarning", show)
        ds = run(study(), {"x": [1.0, 2.0, 3.0]}, output=out, progress=False,
                 executor={"kind": kind, **options})
    assert ds.attrs["sweep_n_ok"] == 3
    assert shown == ([(said, [])] if said else [])


@pytest.mark.parametrize("options, said", [
    (["--workers", "3"], "executor kind 'local': workers (3) x threads_per_worker (1) = 3 "
                         "threads of points (BLAS, OpenMP, numba) at once, on the 2 CPU(s)"),
    (["--executor", "dask", "--workers", "3"],
     "executor kind 'dask': n_workers (3) x threads_per_worker (1) = 3 points at once, on "
     "the 2 CPU(s)"),
    (["--workers", "2"], None),
])
def test_a_dry_run_warns_of_more_threads_than_cpus_as_the_run_would(
        options, said, study, tmp_path, monkeypatch, capsys):
    """`sweep run --dry-run --workers 3` on 2 CPUs said nothing of the 3 points sharing
    them, which the run then warned of: a user planning the run with a dry run should see
    it before. Once, and nothing started (no pool, no LocalCluster, no folder)."""
    from v1model.cli import main

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    out = tmp_path / "out"
    spec = tmp_path / "s.toml"
    spec.write_text(f'study = "{study()}"\noutput = "{out}"\n[sweep]\nx = [1.0, 2.0]\n')
    assert main(["sweep", "run", str(spec), "--dry-run", *options]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "SweepWarning" in line]
    assert err == ([f"v1model: warning: {said} this process may use (os.sched_getaffinity): "
                    "they share them, each slower; ask for at most 2 unless the points wait "
                    "on I/O (SweepWarning)"] if said else [])
    assert not out.exists()


def test_the_local_pool_starts_its_processes_with_ctrl_c_held(monkeypatch, default_sigint):
    """The pool starts its processes inside submit() as points come (the first also starts
    the fork server): started while a Ctrl-C of the process group could reach them before
    they ignored SIGINT, each printed a KeyboardInterrupt traceback (see test_resume's
    subprocess test). Those submits now run with SIGINT blocked (inherited by the
    processes), and a Ctrl-C met meanwhile stops the sweep once the submit is done; the
    submits after every worker started are not held."""
    from concurrent.futures import Future
    from types import SimpleNamespace

    from v1model.sweep.point import PointOutcome

    held = []

    class StartingPool:  # ProcessPoolExecutor's bookkeeping: a process per submit
        def __init__(self):
            self._processes = {}

        def submit(self, fn, task):
            held.append(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))
            if len(self._processes) < 2:
                self._processes[len(self._processes)] = None
            if task.index == 9:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a process starts
            future = Future()
            future.set_result(PointOutcome(task.index, True))
            return future

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    executor = LocalExecutor(workers=2)
    monkeypatch.setattr(executor, "_new_pool", StartingPool)
    tasks = [SimpleNamespace(index=i) for i in range(5)]
    assert sorted(o.index for o in executor.map(tasks)) == list(range(5))
    executor.close()
    assert held == [True, True, False, False, False]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    reached = []
    with pytest.raises(KeyboardInterrupt):
        for outcome in executor.map([SimpleNamespace(index=9)]):
            reached.append(outcome.index)
    assert reached == []  # raised as the submit that started a process ended
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
