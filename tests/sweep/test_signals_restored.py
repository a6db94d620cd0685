"""The sweep's Ctrl-C and SIGTERM handlers are put back, also ones Python cannot name."""

import signal

import pytest


def test_sweep_restores_the_default_for_handlers_installed_outside_python(
        handlers_from_outside_python):
    """``signal.signal`` returns None for a handler of the host's (an embedding host, a
    job launcher): putting None back raised TypeError when the sweep ended."""
    from v1model.sweep.runner import _catch_interrupts

    with pytest.raises(KeyboardInterrupt), _catch_interrupts(sigterm=True) as stop:
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert stop.requested
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL


def test_held_sigint_restores_the_default_for_a_handler_installed_outside_python(
        handlers_from_outside_python):
    from v1model.sweep.executors import _sigint_held

    with _sigint_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
