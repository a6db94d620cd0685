"""Shared fixtures: reference data location, small whitened patch sets."""

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

# One BLAS thread per test process: the suite's matrices are small, the sweep
# tests start worker processes of their own, and oversubscribed BLAS threads
# on a 2-core machine are several times slower than one. NumPy is already
# loaded by pytest's plugins, so limit the running pools with threadpoolctl
# (installed with scikit-learn) and set the variables for child processes.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))
except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
    pass

# the reference data (README there): ../shared/data beside the checkout, or wherever
# V1MODEL_SHARED_DATA points (a checkout elsewhere skipped every test that needs it);
# set here, before any test module reads it
os.environ.setdefault("V1MODEL_SHARED_DATA",
                      str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
SHARED_DATA = Path(os.environ["V1MODEL_SHARED_DATA"])


# Hypothesis draws the same examples on every run (a seed from each test, no example
# database): a property test failed on one CI run and not the next when it drew new
# examples each time, and its 200 ms deadline failed tests of a loaded machine.
# HYPOTHESIS_PROFILE=explore draws new examples, for a search on purpose.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("v1model", derandomize=True, deadline=None,
                                          database=None)
    _hypothesis_settings.register_profile("explore", deadline=None)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "v1model"))
except ImportError:  # pragma: no cover - hypothesis comes with the test extras
    pass


# optional: without pytest-xdist (../conftest.py), pytest refused the unknown hook
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """Workers for ``-n auto`` (pyproject.toml): the CPUs this process may run on (in a
    container, ``os.cpu_count()`` counts the host's), at most 8, as each worker imports
    NumPy, xarray and Brian2 anew (about 0.3 GB) and builds the session fixtures."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):  # xdist's own override, kept
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    usable = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
              else os.cpu_count() or 1)
    return max(1, min(usable, 8))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test left open: a test that stubs ``save_figure`` (which
    closes them) keeps every figure of a study's plot, and past 20 open matplotlib
    warned in a later test."""
    yield
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def shared_path(*parts) -> Path:
    """Path inside ../shared/data; the test is skipped when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


@pytest.fixture(scope="session")
def whitened_images():
    """The embedded photographs, whitened (10, 256, 256)."""
    from stimuli import load_images, whiten

    return whiten(load_images("skimage"))


@pytest.fixture(scope="session")
def natural_patches(whitened_images):
    """300 whitened 8x8 natural patches (300, 64), float64."""
    from stimuli import sample_patches

    return sample_patches(whitened_images, 8, 300, seed=1)


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt) for the test: another test's
    (dask_jobqueue's runner installs one calling sys.exit) may be left in place."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture()
def rng():
    return np.random.default_rng(12345)


@pytest.fixture()
def shared_data():
    """Function ``shared_data(*parts) -> Path`` into ../shared/data; skips when absent."""
    return shared_path


def _central_differences(f, params: dict, step: float, skip=()) -> dict:
    """Central-difference gradient of the scalar ``f(params)`` with respect to every
    array of ``params`` not in ``skip`` (each entry perturbed in place, then restored)."""
    grads = {}
    for name, p in params.items():
        if name in skip:
            continue
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + step
            up = f(params)
            p[idx] = old - step
            down = f(params)
            p[idx] = old
            g[idx] = (up - down) / (2 * step)
        grads[name] = g
    return grads


@pytest.fixture(scope="session")
def central_differences():
    """``central_differences(f, params, step, skip=())``: the numerical gradient
    (dict of arrays) that analytic gradients are checked against."""
    return _central_differences


def _peak_memory(func, repeats=3, warm_up=True):
    """``func()``'s result and the least, over ``repeats`` calls, of the peak of memory
    (bytes above what was traced when the call began) that tracemalloc saw while it ran.

    One call first, not measured (``warm_up``), so that one-off allocations (imports,
    caches, FFT plans, numba compilations) are not counted. The least of several, as
    tracemalloc counts every thread's allocations: a background thread left by an earlier
    test in the same worker only ever adds to a peak (CI: 1.51x against a 1.5x bound
    where a quiet run read 1.14x), while the code's own peak is in every measure. A call
    that cannot be repeated, or is expensive, takes ``repeats=1, warm_up=False``.
    """
    import tracemalloc

    if repeats < 1:
        raise ValueError(f"peak_memory: repeats must be at least 1, got {repeats!r}")
    if warm_up:
        func()
    peaks = []
    for _ in range(repeats):
        result = None  # the previous call's result is not held through this one
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            result = func()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()
    return result, min(peaks)


@pytest.fixture(scope="session")
def peak_memory():
    """``peak_memory(func, repeats=3, warm_up=True) -> (func(), peak bytes)``: the least
    of ``repeats`` tracemalloc peaks of ``func()`` after one unmeasured call (NumPy
    reports its buffers to tracemalloc)."""
    return _peak_memory


@pytest.fixture()
def record_bars(monkeypatch):
    """Function ``record_bars(*fields) -> bars``: replaces ``tqdm.auto.tqdm`` (the bars of
    :func:`v1model.progress.progress_bar`) by a subclass that appends, for every bar made
    from then on, the list of its ``fields`` to ``bars``, in the order the bars are made:
    ``"desc"``, ``"total"``, ``"disable"`` and ``"delay"`` as the bar was given them, and
    ``"n"``, the units it counted, kept current while it runs (by ``update``, which a
    disabled bar does not count itself; at ``close`` at least the bar's own count, which a
    bar over an iterable advances without ``update``)."""
    import tqdm.auto

    known = ("desc", "total", "disable", "delay", "n")

    def record(*fields):
        unknown = [f for f in fields if f not in known]
        assert not unknown, f"record_bars: fields {unknown} are not among {known}"
        made = []

        class Recording(tqdm.auto.tqdm):
            def __init__(self, *args, **kwargs):
                self._counted = 0
                given = {"desc": kwargs.get("desc"), "total": kwargs.get("total"),
                         "disable": kwargs.get("disable", False),
                         "delay": kwargs.get("delay", 0.0), "n": 0}
                self._record = [given[f] for f in fields]
                made.append(self._record)
                super().__init__(*args, **kwargs)

            def _count(self, n):
                self._counted = n
                if "n" in fields:
                    self._record[fields.index("n")] = n

            def update(self, n=1):  # a disabled tqdm does not count
                self._count(self._counted + n)
                return super().update(n)

            def close(self):
                self._count(max(self._counted, getattr(self, "n", 0)))
                return super().close()

        monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
        return made

    return record


@pytest.fixture()
def study_figures(monkeypatch, tmp_path):
    """Function ``study_figures(name, ds) -> {file name: Figure}``: the figures a
    study's ``plot()`` draws from ``ds``, kept open and not written."""
    import v1model.io
    from studies import get_study

    def draw(name, ds):
        figures = {}

        def keep(fig, path, dpi=120):
            figures[path.name] = fig
            return path

        monkeypatch.setattr(v1model.io, "save_figure", keep)
        get_study(name).plot(ds, tmp_path)
        return figures

    return draw


#: a function of a module of the package (its ``__name__`` under ``v1model``) that calls
#: another, as a public function built on a warning one does (a network's ``encode``
#: calling a simulator, a figure calling another); compiled under a file name of its own,
#: which a warning with a fixed stack level named
_INSIDE_THE_PACKAGE = compile("def call_from_the_package(function, *args, **kwargs):\n"
                              "    return function(*args, **kwargs)\n",
                              "<a module of v1model>", "exec")


@pytest.fixture(scope="session")
def call_from_the_package():
    """``call_from_the_package(function, *args, **kwargs)``: ``function(*args, **kwargs)``
    called from a function of a module of v1model, whose caller (the test) is then the
    user: a warning that names the user's line names the test's file
    (:func:`v1model._frames.user_stacklevel`), one with a fixed stack level
    ``"<a module of v1model>"``."""
    namespace = {"__name__": "v1model._a_caller_in_the_package"}
    exec(_INSIDE_THE_PACKAGE, namespace)
    return namespace["call_from_the_package"]


@pytest.fixture()
def forbid_catch_warnings(monkeypatch):
    """``forbid_catch_warnings(*modules)``: from then on, ``warnings.catch_warnings``
    raises in the code of ``modules`` (each module's ``warnings`` is replaced by a copy
    whose ``catch_warnings`` raises). Library code must not enter one: it swaps the
    process's filters and ``showwarning``, so that every other thread's warnings are
    hidden, recorded or filtered by it meanwhile (a sweep's points in threads)."""
    import types
    import warnings

    def refuse(*args, **kwargs):
        raise AssertionError("warnings.catch_warnings entered by library code: it swaps the "
                             "warning filters of the whole process, every thread's")

    def forbid(*modules):
        for module in modules:
            copy = types.SimpleNamespace(**{name: getattr(warnings, name)
                                            for name in dir(warnings)
                                            if not name.startswith("__")})
            copy.catch_warnings = refuse
            # a module that no longer imports warnings enters no catch_warnings through it
            monkeypatch.setattr(module, "warnings", copy, raising=False)

    return forbid


@pytest.fixture(scope="session")
def with_a_neighbour():
    """``with_a_neighbour(function, text, category=UserWarning) -> wrapped``: ``function``
    that first has another thread warn ``text`` (``category``) and waits for it, as
    another point of a sweep in threads would while ``function`` runs. Put in place of a
    call the code under test makes, the neighbour's warning must reach the test's
    ``catch_warnings`` as it was given: a library's own ``catch_warnings`` around the call,
    one per process, hid it (or took it for its own)."""
    import functools
    import threading
    import warnings

    def wrap(function, text, category=UserWarning):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            neighbour = threading.Thread(target=lambda: warnings.warn(text, category))
            neighbour.start()
            neighbour.join()
            return function(*args, **kwargs)

        return wrapped

    return wrap


@pytest.fixture()
def handlers_from_outside_python(monkeypatch):
    """``signal.signal`` answers None for the first handler it replaces of each signal, as
    for one an embedding host or a job launcher installed outside Python (Python cannot
    name it); the handlers of before the test are put back after it."""
    import signal

    install = signal.signal
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    replaced = set()

    def from_outside(signum, handler):
        previous = install(signum, handler)
        if signum in replaced:
            return previous
        replaced.add(signum)
        return None

    monkeypatch.setattr(signal, "signal", from_outside)
    yield
    for sig, handler in before.items():
        install(sig, handler)
