"""The Brian2 boundary: code-generation targets, devices, clocks and seeds.

Everything Brian2-specific that is not a model equation lives here, so that
the model modules read as equations plus NumPy. Quantities with units exist
only between :func:`seconds` and the end of a run; everything that comes out is
a plain float in SI units.

Global Brian2 state is touched in three places only:

- ``target="cpp_standalone"`` switches Brian2's *device* (a global) to C++
  standalone with a build folder in a fresh temporary directory, and resets it
  to the previous device afterwards (:func:`simulation_device`; a project given a
  ``reuse_key`` is kept, on a device of its own, for the next call of that key, and of
  the same network on fewer samples, padded: :func:`kept_batch_key`);
- when Brian2's Cython cache folder cannot be written (a read-only home
  folder), its preference ``codegen.runtime.cython.cache_dir`` is pointed at
  a temporary folder, once, with a warning (:func:`ensure_cython_cache`);
- a run that draws Brian2 random numbers (membrane noise) calls
  ``brian2.seed`` right before the run with an integer drawn from the caller's
  ``numpy.random.Generator``. In runtime mode Brian2 draws from NumPy's
  *global* RandomState, so that state is saved before and restored after the
  run (:func:`brian2_seed`): user code that relies on ``np.random`` is not
  disturbed.

While a run builds, a handler on the logger of Brian2's Cython extension manager
watches for modules it is about to compile (:func:`build_notice`); it is removed when
the run ends.

The first and the last are held by one lock per process (:data:`GLOBAL_STATE_LOCK`)
from the switch or the seed to the end of the run: the threads of a dask worker (a
sweep's points, two per worker in the README's SLURM example) each ran their point
with the others' seed, so that a noisy point's spikes depended on what else ran. Runs
on the runtime targets hold it too (:func:`simulation_device`): one started beside a
standalone run built its objects on the standalone device. Brian2 runs of one process
therefore run one at a time.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import logging
import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from .._frames import user_stacklevel

TARGETS = ("cython", "numpy", "cpp_standalone")

#: held while a run uses Brian2's global device (every run) or random state (re-entrant:
#: a noisy run takes it twice), so that runs in other threads wait for it
GLOBAL_STATE_LOCK = threading.RLock()

#: peak bytes per synapse while Brian2 builds a Synapses object (indices, weights and
#: Brian2's own bookkeeping; measured on a 100 x 256 batch, ~0.45 GB for 6.5 M synapses)
SYNAPSE_BYTES = 65


def import_brian2():
    """Import Brian2 lazily (the ODE code paths never need it).

    Brian2's first import sends every later warning of the process to its
    logger (``logging.captureWarnings(True)``), which prints it as
    ``WARNING    file:line: Category: message``, the source line and
    ``[py.warnings]``, in place of ``warnings.showwarning`` as the caller had
    set it: the ``v1model`` command printed the spiking LCA's second warning
    of a run that way, after the first as its own one-line message. The
    caller's ``warnings.showwarning`` is put back.
    """
    import warnings

    shown = warnings.showwarning
    try:
        import brian2
    except ImportError as exc:  # pragma: no cover - brian2 is a dependency
        raise ImportError(
            "the spiking simulators need Brian2: pip install 'brian2>=2.7'"
        ) from exc
    warnings.showwarning = shown
    return brian2


def codeobj_class(target):
    """The runtime CodeObject class for ``target`` (None under standalone).

    Passing it to each group keeps the choice local to our objects instead of
    changing the global ``prefs.codegen.target``.
    """
    if target == "numpy":
        from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

        return NumpyCodeObject
    if target == "cython":
        from brian2.codegen.runtime.cython_rt import CythonCodeObject

        ensure_cython_cache()
        return CythonCodeObject
    return None


def ensure_cython_cache():
    """Point Brian2's Cython cache at a temporary folder when its own cannot be made.

    Brian2 keeps the compiled code under ``~/.cython/brian_extensions`` (or
    ``CYTHON_CACHE_DIR``, ``XDG_CACHE_HOME``); with that not writable (a
    read-only or missing home folder on a cluster node) every cython run
    failed with Brian2's "Couldn't create Cython cache directory". Only then
    is Brian2's preference ``codegen.runtime.cython.cache_dir`` set (a global,
    left set: the next runs reuse the compiled code), with one warning.

    Returns
    -------
    str
        The cache folder the cython target uses.
    """
    import os
    import warnings

    brian2 = import_brian2()
    from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

    folder = os.path.expanduser(get_cython_cache_dir())
    if brian2.prefs["codegen.runtime.cython.cache_dir"] is not None or _writable_folder(folder):
        return folder  # the user's own choice, or a cache that works
    fallback = os.path.join(tempfile.gettempdir(), f"v1model_brian_extensions_{os.getuid()}"
                            if hasattr(os, "getuid") else "v1model_brian_extensions")
    if not _writable_folder(fallback):
        return folder  # Brian2's own error names the folder and the preference
    brian2.prefs["codegen.runtime.cython.cache_dir"] = fallback
    warnings.warn(f"Brian2's Cython cache {folder!r} cannot be created or written; the "
                  f"compiled code goes to {fallback!r} instead (set CYTHON_CACHE_DIR to a "
                  "writable folder to choose it)", UserWarning, stacklevel=user_stacklevel())
    return fallback


#: what the bar of a run says while Brian2 builds the network and generates (for cython
#: and cpp_standalone, compiles) its code, until the simulation starts
BUILD_NOTES = {
    "numpy": "Brian2 builds the network",
    "cython": "Brian2 builds the network",
    "cpp_standalone": "Brian2 builds, compiles and runs a C++ project (about a minute; "
                      "no progress until it ends)",
}
#: what it says while a ``cpp_standalone`` project kept from an earlier call of the same
#: model runs again (:func:`simulation_device`'s ``reuse_key``)
RERUN_NOTE = "Brian2 runs the C++ project an earlier call compiled (no progress until it ends)"
#: what it says once Brian2 is about to compile a Cython module its cache does not hold
COMPILE_NOTE = ("Brian2 compiles the network's code (a model's first run: one to a few "
                "minutes, then cached in {cache})")


def simulated_time_bar(progress, duration, desc):
    """The bar over the simulated time of a run (disabled for ``progress=False``), with
    room for :func:`build_notice`'s note."""
    from ..progress import progress_bar

    return progress_bar(progress, total=duration, desc=desc,
                        bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} s simulated "
                                   "[{elapsed}<{remaining}]{postfix}")


def bar_report(bar, started, target):
    """Brian2's ``report`` callback advancing ``bar`` (None for a disabled bar and for
    ``cpp_standalone``, which takes none); its first call (the run has started) calls
    ``started`` (:func:`build_notice`'s)."""
    if bar.disable or target == "cpp_standalone":
        return None

    def report(elapsed, completed, start, total):
        started()
        bar.update(float(completed) * bar.total - bar.n)  # update() honours the bar's delay

    return report


@contextmanager
def build_notice(bar, target, rerun=False):
    """Say on ``bar`` what Brian2 does before its first progress report.

    Brian2 builds the objects and compiles their Cython code (115 s on a model's
    first run of 64 atoms, 2 cores at load 10, 2026-12-07) before the simulation
    starts: a first call ran 2 min with nothing on the screen, then showed its bar
    at 0%. The note is shown as
    the bar's postfix when the bar appears (at once for ``progress=True``,
    after its delay otherwise, from a timer thread), at once when Brian2 is
    about to compile a Cython module that is not in its cache (the compiler
    holds the GIL: the timer thread waited for it) and for ``cpp_standalone``
    (which compiles a new project, or runs a kept one: ``rerun``), and cleared by
    ``started()``, which the run's first report calls.

    Parameters
    ----------
    bar : tqdm.tqdm
        The run's bar (disabled: nothing is shown).
    target : str
        One of :data:`TARGETS`.
    rerun : bool, default False
        A kept ``cpp_standalone`` project runs again, uncompiled: :data:`RERUN_NOTE`.

    Yields
    ------
    callable
        ``started()``: clears the note (no-op once cleared).
    """
    lock = threading.Lock()
    state = {"running": bar.disable}

    building = RERUN_NOTE if rerun else BUILD_NOTES[target]

    def show(note=building):
        with lock:
            if not state["running"]:
                bar.set_postfix_str(note)

    def started():
        with lock:
            if not state["running"]:
                state["running"] = True
                if bar.postfix:
                    bar.set_postfix_str("", refresh=False)  # the next update redraws

    def compiling():
        bar.delay = 0  # a minute or more ahead: show the bar now
        show(COMPILE_NOTE.format(cache=ensure_cython_cache()) if target == "cython"
             else building)

    timer = watch = None
    if not bar.disable:
        if bar.delay <= 0:
            show()
        elif target == "cpp_standalone":
            # a new project compiles for a minute or more, and Brian2 sends the
            # terminal's output to its log meanwhile: a timer's note was lost there
            compiling()
        else:
            # a hair past the bar's own delay, which holds back earlier refreshes
            timer = threading.Timer(bar.delay + 0.1, show)
            timer.daemon = True
            timer.start()
        if target == "cython":
            watch = _CompileWatch(compiling)
            logging.getLogger(_CompileWatch.LOGGER).addHandler(watch)
    try:
        yield started
    finally:
        if timer is not None:
            timer.cancel()
        if watch is not None:
            logging.getLogger(_CompileWatch.LOGGER).removeHandler(watch)
        started()


class _CompileWatch(logging.Handler):
    """Calls ``on_compile()`` when Brian2's Cython extension manager is about to load a
    module that its cache folder does not hold (it compiles it then, in this thread).

    Brian2 logs ``"<owner>" using Cython module "<name>"`` (level DIAGNOSTIC) before it
    loads or compiles each module; a message of another form is ignored.
    """

    LOGGER = "brian2.codegen.runtime.cython_rt.extension_manager"
    MODULE = re.compile(r'using Cython module "([^"]+)"')

    def __init__(self, on_compile):
        super().__init__(level=1)
        self.on_compile = on_compile

    def emit(self, record):
        match = self.MODULE.search(str(record.msg))
        if match is None:
            return
        from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

        folder = os.path.expanduser(get_cython_cache_dir())
        if not any(os.path.isfile(os.path.join(folder, match.group(1) + suffix))
                   for suffix in importlib.machinery.EXTENSION_SUFFIXES):
            self.on_compile()


def compile_failure(exc):
    """The compiler's error in the chain of ``exc`` (distutils', setuptools' or Cython's),
    or None when ``exc`` is not the failure of a compilation."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if any(cls.__module__.split(".")[0] in ("distutils", "setuptools", "Cython")
               for cls in type(exc).__mro__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@contextmanager
def explain_compile_failure(target):
    """Re-raise a failure to compile Brian2's code for ``target="cython"`` as a
    RuntimeError that names ``target="numpy"``; other errors pass unchanged.

    Brian2's traceback ends on the compiler's error (after its 'unexpected error'
    banner) and says nothing of the target that needs no compiler.
    """
    try:
        yield
    except Exception as exc:
        failure = compile_failure(exc) if target == "cython" else None
        if failure is None:
            raise
        raise RuntimeError(
            f"target='cython' could not compile Brian2's code ({type(failure).__name__}: "
            f"{failure}): it needs a working C++ compiler and the Python headers; "
            f"target='numpy' needs neither (slower for long runs)") from exc


def _writable_folder(folder) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be created in it."""
    import os

    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


#: the compiled C++ project of the last ``cpp_standalone`` run given a ``reuse_key``
#: (:func:`simulation_device`): ``key``, ``device``, ``directory`` and what the run stored
_STANDALONE_PROJECT: dict = {}


def forget_standalone_project():
    """Delete the kept ``cpp_standalone`` project (its folder and Brian2 objects), if any.

    Called when another model replaces it and when the process exits."""
    with GLOBAL_STATE_LOCK:
        project = dict(_STANDALONE_PROJECT)
        _STANDALONE_PROJECT.clear()
        if project:
            project["device"].reinit()
            shutil.rmtree(project["directory"], ignore_errors=True)


atexit.register(forget_standalone_project)


def run_kept_project(project, run_args):
    """Run the kept ``cpp_standalone`` project of an earlier call again, uncompiled.

    Parameters
    ----------
    project : dict
        :func:`simulation_device`'s project, compiled by an earlier call of its key.
    run_args : dict
        The values that changed since that call (``{group.variable: array}``), set when
        the run starts (Brian2's ``run_args``).

    Returns
    -------
    float
        The run's wall time, in s.
    """
    import time

    device = project["device"]
    t0 = time.perf_counter()
    device.run(directory=project["directory"], with_output=False, run_args=run_args)
    run_time = time.perf_counter() - t0
    # Brian2 writes the values to files of the project (and an empty lock file beside
    # each): one set per call would pile up there
    device.delete(code=False, data=False, run_args=True, directory=False)
    for name in device.run_args_arrays:
        lock = os.path.join(project["directory"], "static_arrays", name + ".lock")
        if os.path.exists(lock):
            os.remove(lock)
    return run_time


def weights_digest(weights) -> str:
    """A digest of a dense or ``scipy.sparse`` weight matrix for a project's ``reuse_key``.

    A sparse matrix is hashed by its shape and CSR parts: its bytes as a NumPy array are
    those of a pointer to the object (equal weights gave other keys, and a freed matrix's
    address reused by other weights the same key). Values are hashed as float64, whatever
    the dtype they come in.
    """
    import hashlib

    digest = hashlib.sha1()
    if weights is None:
        return digest.hexdigest()
    if hasattr(weights, "tocsr"):
        csr = weights.tocsr(copy=True)  # sorted here, not the caller's
        csr.sort_indices()
        parts = [np.asarray(csr.shape, np.int64), csr.indptr.astype(np.int64),
                 csr.indices.astype(np.int64), csr.data.astype(np.float64)]
        digest.update(b"sparse")
    else:
        # as float64, the values Brian2 builds from: the raw bytes of an int64 [[1, 2]]
        # were those of a float64 [[5e-324, 1e-323]], and float32 weights equal to float64
        # ones gave another key for the same network
        weights = np.asarray(weights, dtype=np.float64)
        parts = [np.asarray(weights.shape, np.int64), weights]
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


class StandaloneKey(NamedTuple):
    """The ``reuse_key`` of a ``cpp_standalone`` project (:func:`standalone_key`)."""

    #: the kind of network (its equations and the names of its objects)
    model: str
    #: stimuli of the batch: copies of the network in the project
    n_samples: int
    #: the digest of one copy's weights, the other settings compiled in, Brian2's preferences
    network: tuple


def standalone_key(target, model, n_samples, weights, /, *, random=False, **settings):
    """What the C++ project of a ``cpp_standalone`` run depends on: its ``reuse_key``.

    The generated code holds the batch size, the connectivity and weights, the constants
    (time step, number of steps, thresholds, time constants), the monitors and Brian2's
    preferences: every one of them is in the key, as the code holds it (a duration as the
    steps it rounds to, no weights when there is no synapse), so that two calls that
    build the same code share a key. What a compiled project takes as ``run_args``
    (drives, initial potentials, thresholds of a ``(constant)`` variable) must not be: a
    call that changes only those runs the kept project again.

    Parameters
    ----------
    target : str
        One of :data:`TARGETS`; a runtime target builds no project (None).
    model : str
        The kind of network, e.g. ``"spiking LCA"``: its equations and object names.
    n_samples : int
        Stimuli of the batch (copies of the network, :func:`block_diagonal_pairs`).
    weights : ndarray, scipy.sparse matrix or None, shape (n_units, n_units)
        One copy's lateral weights (:func:`weights_digest`); None for a network without
        synapses, whose number of units is then among the ``settings``.
    random : bool, default False
        The run draws Brian2 random numbers: their seed, drawn from the caller's, is
        compiled in, so the project is not reused (None).
    **settings
        Everything else the generated code holds, as it holds it (step counts, not the
        times that round to them); an array counts by its shape, dtype and values.

    Returns
    -------
    StandaloneKey or None
        None for a runtime target and for a ``random`` run.
    """
    if target != "cpp_standalone" or random:
        return None
    fixed = tuple(sorted((name, _hashable(value)) for name, value in settings.items()))
    return StandaloneKey(model, int(n_samples), (weights_digest(weights), fixed,
                                                 import_brian2().prefs.as_file))


def _hashable(value):
    """``value``, or for an array its shape, dtype and a digest of its values."""
    import hashlib

    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return (data.shape, data.dtype.str, hashlib.sha1(data.tobytes()).hexdigest())
    return value


def kept_batch_key(key):
    """``key``, or that of the kept project when it runs the same network on more samples.

    A run cut into batches ends on a smaller one: its key differed by ``n_samples``
    only, and the project was compiled again for it (40-115 s). The kept project runs it
    instead, its batch padded to the project's size with samples whose results the
    caller drops (:func:`padded_rows`): the copies of the network share no synapse, so
    the padding cannot change the real samples' results. Should another thread's run
    replace the kept project first, this call compiles a project of the padded size
    (the same results).

    Parameters
    ----------
    key : StandaloneKey or None
        :func:`standalone_key`'s key of this call.

    Returns
    -------
    StandaloneKey or None
        The key to run under; its ``n_samples`` is the batch size to pad to.
    """
    if key is None:
        return None
    with GLOBAL_STATE_LOCK:
        kept = _STANDALONE_PROJECT.get("key")
    if (isinstance(kept, StandaloneKey) and kept.n_samples > key.n_samples
            and kept._replace(n_samples=key.n_samples) == key):
        return kept
    return key


def padded_rows(values, n_rows, fill=0.0):
    """``values`` with rows of ``fill`` appended up to ``n_rows`` rows (as given when it
    has as many already).

    Parameters
    ----------
    values : ndarray, shape (n, ...)
    n_rows : int
    fill : float, default 0.0

    Returns
    -------
    ndarray, shape (max(n, n_rows), ...), the dtype of ``values``
    """
    values = np.asarray(values)
    if len(values) >= n_rows:
        return values
    padding = np.full((n_rows - len(values),) + values.shape[1:], fill, dtype=values.dtype)
    return np.concatenate([values, padding])


def check_silent_padding(counts, n, what="samples", recorded=None):
    """``counts`` of a batch padded to ``len(counts)`` rows (:func:`padded_rows`) for
    its first ``n`` (the real ones); a spike of the padding, which cannot happen, raises.

    The padding is silent: its drive and potential 0 stay below the threshold, and the
    copies of the network share no synapse. A spike of it means that the padded run is
    not the unpadded one: refused rather than cut off unseen.

    Parameters
    ----------
    counts : ndarray, shape (n_run, ...)
        The padded run's spike counts, the real rows first.
    n : int
        How many rows are real.
    what : str, default "samples"
        What a row is, for the message (``"stimuli"`` for SAILnet).
    recorded : int or None, default None
        How many spikes of the padding a spike monitor recorded (None: no monitor).

    Returns
    -------
    ndarray, shape (n, ...)
        ``counts[:n]``.

    Raises
    ------
    RuntimeError
        When the padding spiked (counted or recorded).
    """
    n_run = len(counts)
    if n_run == n:
        return counts
    counted = int(counts[n:].sum())
    if counted or recorded:
        seen = "" if recorded is None else f", {recorded} recorded"
        raise RuntimeError(f"the {n_run - n} silent {what} that pad a batch of {n} to the "
                           f"kept cpp_standalone project's {n_run} spiked ({counted} counted "
                           f"spikes{seen}): their drive and potential 0 cannot reach the "
                           "threshold, so the padded run is not the unpadded one; please "
                           "report this")
    return counts[:n]


@contextmanager
def simulation_device(target, reuse_key=None):
    """Run the body on the device ``target`` needs; restore Brian2's device after.

    For ``"cpp_standalone"`` the project is generated, compiled and run in a
    temporary folder that is deleted afterwards; results must be copied out
    of the Brian2 objects *inside* the ``with`` block. Every target holds
    :data:`GLOBAL_STATE_LOCK` for the body: runs in other threads wait.

    A second call of the same model took 36 s, compiling its project again (64 atoms x 4
    samples, 0.1 s simulated, 2 cores at load 15, 2026-12-07): ``reuse_key`` keeps the
    project (its connectivity stays in memory; timed against the numpy and Cython targets
    by ``benchmarks/bench_spiking.py --reuse``). Given one, a
    ``cpp_standalone`` project is built on a device of its own and kept, with the objects
    the body stores in the yielded dict, until a call with another key (or the process)
    ends; a call with the same key gets that dict back, device and folder untouched, and
    runs the compiled project again (``project["device"].run(..., run_args=...)`` with
    the values that changed). The key must therefore hold everything the generated
    code depends on (sizes, constants, connectivity, monitors, Brian2's preferences):
    :func:`standalone_key`. A batch smaller than the kept project's runs under its key,
    padded (:func:`kept_batch_key`).

    Parameters
    ----------
    target : str
        One of :data:`TARGETS`.
    reuse_key : hashable, optional
        For ``"cpp_standalone"``: what the project depends on (None: built, run and
        deleted).

    Yields
    ------
    dict or None
        With a ``reuse_key`` on ``cpp_standalone``: the project, holding ``"key"``,
        ``"device"`` and ``"directory"`` when it was compiled by an earlier call and what
        that call stored in it; empty for a new project (stored items keep it; an empty
        one is deleted after the body). None otherwise.
    """
    brian2 = import_brian2()
    if target != "cpp_standalone":
        # the device is global: a runtime run in another thread while a standalone one
        # held it built its objects on the standalone device
        with GLOBAL_STATE_LOCK:
            yield None
        return
    from brian2.devices.device import reset_device

    with GLOBAL_STATE_LOCK:  # the device is global: one standalone run at a time
        if reuse_key is not None and _STANDALONE_PROJECT.get("key") == reuse_key:
            project = _STANDALONE_PROJECT
            brian2.set_device(project["device"], directory=project["directory"],
                              build_on_run=True, with_output=False)
            try:
                yield project
            except BaseException:
                reset_device()
                forget_standalone_project()  # its results folder may be half-written
                raise
            reset_device()
            return
        if reuse_key is not None:
            forget_standalone_project()
        build_dir = tempfile.mkdtemp(prefix="v1model_brian2_standalone_")
        if reuse_key is None:
            device = "cpp_standalone"
        else:
            # a device of its own: another run's reinit of Brian2's shared one would
            # empty the kept objects
            from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

            device = CPPStandaloneDevice()
        brian2.set_device(device, directory=build_dir, build_on_run=True,
                          with_output=False)
        project = None if reuse_key is None else {}
        kept = False
        try:
            yield project
            if project:
                _STANDALONE_PROJECT.update(project, key=reuse_key,
                                           device=brian2.get_device(), directory=build_dir)
                kept = True
        finally:
            if not kept:
                brian2.get_device().reinit()
            reset_device()
            if not kept:
                shutil.rmtree(build_dir, ignore_errors=True)


@contextmanager
def brian2_seed(rng, needed=True):
    """Seed Brian2's random numbers from ``rng`` for one run.

    Brian2's seed is global state: it is set right before the run and NumPy's
    global RandomState (which Brian2 uses in runtime mode) is restored
    afterwards.
    """
    if not needed:
        yield None
        return
    brian2 = import_brian2()
    value = int(rng.integers(0, 2**31 - 1))
    # the seed is global: another thread's seed or draws in between changed this run's
    with GLOBAL_STATE_LOCK:
        saved = np.random.get_state()
        brian2.seed(value)
        try:
            yield value
        finally:
            np.random.set_state(saved)


def seconds(value):
    """A float in seconds as a Brian2 quantity."""
    return value * import_brian2().second


def check_synapses_fit(n_blocks, nnz, name, value, what) -> None:
    """Refuse a block-diagonal Brian2 network of ``n_blocks * nnz`` synapses that
    would not fit in memory (:data:`SYNAPSE_BYTES` each), before it is built.

    Parameters
    ----------
    n_blocks : int
        Copies of the connectivity (one per stimulus).
    nnz : int
        Synapses per copy (non-zero weights).
    name, value : str, object
        The argument that sets ``n_blocks`` and its value, named in the message.
    what : str
        What one block is, e.g. ``"stimuli (rows of X) of nnz(W)=65280 synapses"``.

    Raises
    ------
    ValueError
        When the synapses' bytes exceed :func:`v1model.validation.physical_memory`.
    """
    from ..validation import check_fits_in_memory

    check_fits_in_memory((n_blocks, nnz * SYNAPSE_BYTES), np.uint8, name, value,
                         f"{what}, ~{SYNAPSE_BYTES} bytes per synapse while Brian2 builds them,")


def block_diagonal_pairs(weights, n_blocks):
    """Flat presynaptic/postsynaptic indices and weights of ``n_blocks`` copies of ``weights``.

    Neuron ``s * k + a`` is atom ``a`` of sample ``s``; a synapse connects two
    neurons of the same sample only. Zero weights are not connected.

    Parameters
    ----------
    weights : ndarray or scipy.sparse matrix, shape (k, k)
        ``weights[post, pre]``: effect of a spike of ``pre`` on ``post``
        (sparse: only the stored non-zero entries are connected).
    n_blocks : int

    Returns
    -------
    i, j : ndarray of int32, shape (n_synapses,)
        Presynaptic and postsynaptic neuron indices, grouped by presynaptic
        neuron (each spike then reads a contiguous run of synapses: 3.5x
        faster spike delivery on the spiking benchmark than in
        postsynaptic order).
    w : ndarray of float64, shape (n_synapses,)
    """
    k = weights.shape[0]
    if hasattr(weights, "tocsr"):  # scipy.sparse: rows of the transpose are presynaptic
        # a copy: the transpose of a CSC matrix is CSR on its arrays, which tocsr() returned
        # as they were, and the two calls below sorted them and dropped zeros in the
        # caller's matrix (in a kept one's read-only arrays: ValueError)
        by_pre = weights.T.tocsr(copy=True)
        by_pre.eliminate_zeros()
        by_pre.sort_indices()
        pre = np.repeat(np.arange(k), np.diff(by_pre.indptr))
        post = by_pre.indices
        w_block = by_pre.data.astype(np.float64)
    else:
        pre, post = np.nonzero(weights.T)  # by presynaptic neuron: see Returns
        w_block = weights[post, pre].astype(np.float64)
    offsets = (np.arange(n_blocks, dtype=np.int64) * k)[:, None]
    i = (offsets + pre[None, :]).ravel().astype(np.int32)
    j = (offsets + post[None, :]).ravel().astype(np.int32)
    w = np.tile(w_block, n_blocks)
    return i, j, w
