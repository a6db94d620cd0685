"""Executors with the real thing: serial, a local process pool and a dask
LocalCluster give identical Datasets; a killed worker's point runs again and
every point finishes exactly once; dask-jobqueue job scripts carry the
requested resources."""

import os
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
    assert "--nworkers 4" in script and "--nthreads 2" in script
    assert "--memory-limit 3.73GiB" in script  # 16 GB / 4 processes
    assert "--lifetime 110m" in script and "--local-directory $TMPDIR" in script


def test_pbs_job_script_has_the_requested_resources(tmp_path):
    path = example_copy(tmp_path, replace=[
        ('kind = "slurm"', 'kind = "pbs"'),
        ('job_extra_directives = ["--constraint=skylake", "--qos=normal"]',
         'job_extra_directives = ["-m abe"]'),
    ])
    script = make_executor(load_spec(path).executor).job_script()
    for line in ["#PBS -q compute", "#PBS -A v1lab", "#PBS -l select=1:ncpus=8:mem=15GB",
                 "#PBS -l walltime=02:00:00", "#PBS -m abe", "module load python/3.11"]:
        assert line in script, f"{line!r} missing from\n{script}"
