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


@pytest.fixture(scope="session")
def dask_cluster():
    """A LocalCluster with 2 worker processes of 1 thread (real dask, no mocks)."""
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    yield cluster
    cluster.close()


@pytest.fixture()
def dask_client(dask_cluster):
    from distributed import Client

    with Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client
