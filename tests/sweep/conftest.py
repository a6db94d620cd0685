"""Fixtures of the sweep tests: the tiny test studies and one dask LocalCluster
(two worker processes) shared by the tests that need real dask."""

from collections import Counter
from pathlib import Path

import pytest

STUDIES = Path(__file__).resolve().with_name("_studies.py")


def _study(name: str = "tiny") -> str:
    return f"{STUDIES}:{name}"


def _calls(log_dir, kind: str) -> Counter:
    out = Counter()
    for path in Path(log_dir).glob(f"{kind}-*"):
        out[path.name[len(kind) + 1 : path.name.rindex("-")]] += 1
    return out


@pytest.fixture(scope="session")
def study():
    """``study(name="tiny")``: reference string "path/_studies.py:name" of a test study."""
    return _study


@pytest.fixture(scope="session")
def calls():
    """``calls(log_dir, "start" | "finish")``: Counter of calls per point tag
    ("x-label-seed") across all processes."""
    return _calls


@pytest.fixture()
def old_null_sweep(monkeypatch, study):
    """``old_null_sweep(output)``: run a two-point sweep with ``rate = "null"`` into
    ``output`` as a folder begun before the texts for None were spelled alike
    (its fingerprint hashes the spec as written)."""
    from v1model.sweep import run
    from v1model.sweep.spec import SweepSpec

    fingerprint = SweepSpec.fingerprint

    def begin(output):
        with monkeypatch.context() as m:
            m.setattr(SweepSpec, "fingerprint",
                      lambda self, study=None, as_written=False: fingerprint(self, study, True))
            return run(study("optional"), {"x": [1.0, 2.0]}, params={"rate": "null"},
                       output=output, executor="serial", progress=False)

    return begin


@pytest.fixture(scope="session")
def dask_cluster():
    """A LocalCluster with 2 worker processes of 1 thread (real dask, no mocks)."""
    distributed = pytest.importorskip("distributed")
    import logging

    # the scheduler's HTTP server on any free port, as the package's own LocalCluster:
    # with 8787 taken (another cluster on the machine) dask warned "Port 8787 is already
    # in use" into the test run
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.ERROR)
    yield cluster
    cluster.close()


@pytest.fixture()
def dask_client(dask_cluster):
    from distributed import Client

    with Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client
