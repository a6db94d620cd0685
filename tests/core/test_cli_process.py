"""The ``v1model`` command as a process: SIGTERM and ``python -m v1model``.

SIGTERM (``kill``, a batch system at the end of the walltime) stops ``v1model study
run`` as Ctrl-C does: a one-line message, exit code 130, and no folder left behind by a
run that saved nothing. Python's default ended it at once and without a word (exit code
-15), leaving the folder made for the result with only its ``.lock`` in it."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import v1model

ROOT = Path(v1model.__file__).resolve().parents[1]

# the study's run replaced by one that says it started and waits to be stopped
SCRIPT = """
import functools, sys, time
from studies import get_study
from v1model import cli
study = get_study("lewicki-2002-speech")

@functools.wraps(study.run)
def wait(**kwargs):
    print("started", flush=True)
    time.sleep(120)

study.run = wait
sys.exit(cli.main(sys.argv[1:]))
"""


def test_sigterm_in_a_study_run_is_an_interrupt(tmp_path):
    out = tmp_path / "new" / "folder"
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "study", "run", "lewicki-2002-speech", "--quick",
         "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "started":
                break
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr[-2000:]
    assert stderr.strip() == "v1model: interrupted"
    assert not (tmp_path / "new").exists()


def test_python_m_v1model_is_the_command():
    """``python -m v1model`` (no console script on PATH: ``pip install --user`` on a
    cluster) failed with "No module named v1model.__main__"."""
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    out = subprocess.run([sys.executable, "-m", "v1model", "--version"], capture_output=True,
                         text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.strip() == f"v1model {v1model.__version__}"


class _SignalOnFinalising:
    """Sends ``signum`` (SIGTERM by default) to this process from its finaliser, where
    the handler's KeyboardInterrupt is raised and, by Python, dropped ("Exception ignored
    in")."""

    def __init__(self, signum=signal.SIGTERM):
        self.signum = signum

    def __del__(self):
        os.kill(os.getpid(), self.signum)
        sum(range(1000))  # bytecode after the kill: the handler runs here, in __del__


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupt_met_in_a_finaliser_while_plotting_still_interrupts(
        signum, tmp_path, monkeypatch, capsys, default_sigint):
    """A SIGTERM whose KeyboardInterrupt was raised in a finaliser (3 of 60 SIGTERMs at
    random times in rozell-2008-lca's plot met one of matplotlib's weakref callbacks) was
    dropped with "Exception ignored in ...": the plot went on and the command said
    "done", exit code 0. It is sent again from outside the finaliser; the result is
    saved, as for any interrupt while plotting. So is a Ctrl-C (SIGINT), whose
    KeyboardInterrupt Python drops alike (before 2026-12-07 only SIGTERM was sent again:
    a Ctrl-C met there was lost, exit code 0)."""
    import functools
    import time

    import xarray as xr

    from studies import get_study
    from v1model import cli
    from v1model.io import load_dataset

    study = get_study("lewicki-2002-speech")

    @functools.wraps(study.run)
    def run(**kwargs):
        return xr.Dataset({"v": ("x", [1.0, 2.0])})

    def plot(ds, outdir):
        _SignalOnFinalising(signum)  # collected at once, its finaliser runs here
        for _ in range(200):  # 2 s unless stopped: the signal sent again ends it
            time.sleep(0.01)
        return []

    monkeypatch.setattr(study, "run", run)
    monkeypatch.setattr(study, "plot", plot)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), \
        sys.unraisablehook
    code = cli.main(["study", "run", "lewicki-2002-speech", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 130, err
    assert err.strip() == "v1model: interrupted"  # no "Exception ignored" either
    assert load_dataset(tmp_path / "lewicki-2002-speech.nc")["v"].values.tolist() == [1, 2]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT),
            sys.unraisablehook) == before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_sent_again_as_the_block_ends_is_raised_after_it_restoring_everything(
        signum, monkeypatch, default_sigint):
    """The SIGTERM (or SIGINT) sent again (from a timer thread, 50 ms after the finaliser
    dropped its KeyboardInterrupt) may arrive while the block is ending: its
    KeyboardInterrupt was raised inside the block's finally, which it left before putting
    back SIGTERM's handler and ``sys.unraisablehook``, so that a later step of the same
    process (another ``cli.main`` call, a notebook's) still turned SIGTERM into
    KeyboardInterrupt. Here the timer's send is made to land just there,
    deterministically: the lock the finally takes first lets the pending timer send it."""
    import threading

    from v1model import cli

    pending = []
    real_lock = threading.Lock  # threading is patched below, for cli's use of it

    class TimerNow:
        """A Timer that waits to be run by the lock below (no thread, no race)."""

        def __init__(self, interval, function):
            self.function = function

        def start(self):
            pending.append(self.function)

    class LockThatLetsTheTimerIn:
        """A lock that, when taken with a timer pending, runs that timer first (as if it
        held the lock while the block's finally waited for it)."""

        def __init__(self):
            self.lock = real_lock()

        def __enter__(self):
            while pending:
                pending.pop()()  # os.kill(signum): the handler runs at the next bytecode
            self.lock.acquire()
            return self

        def __exit__(self, *exc):
            self.lock.release()

    monkeypatch.setattr(cli.threading, "Timer", TimerNow)
    monkeypatch.setattr(cli.threading, "Lock", LockThatLetsTheTimerIn)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), \
        sys.unraisablehook
    interrupted = False
    try:
        with cli._sigterm_as_interrupt():
            _SignalOnFinalising(signum)  # its KeyboardInterrupt dropped: a timer pending
            assert len(pending) == 1
    except KeyboardInterrupt:
        interrupted = True
    after = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), \
        sys.unraisablehook
    signal.signal(signal.SIGTERM, before[0])  # the next tests' own, whatever happened
    signal.signal(signal.SIGINT, before[1])
    sys.unraisablehook = before[2]
    assert interrupted  # the signal still stops the command
    assert after == before


def test_an_ignored_sigint_stays_ignored_in_the_block(default_sigint):
    """SIGINT is taken over only from Python's own handler: a process started with it
    ignored (``nohup``, a shell's background job) must not be stopped by it."""
    from v1model import cli

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with cli._sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
