"""Signal handlers installed for a block are put back, also one Python cannot name."""

import signal

import pytest


def test_swap_handler_gives_back_what_python_names():
    from v1model._signals import swap_handler

    before = signal.getsignal(signal.SIGTERM)
    try:
        assert swap_handler(signal.SIGTERM, signal.SIG_IGN) is before
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before)


def test_cli_restores_the_default_for_a_sigterm_handler_installed_outside_python(
        handlers_from_outside_python):
    """``signal.signal`` returns None for a handler of the host's: putting None back raised
    TypeError at the end of every command (after a SIGTERM, in place of the interrupt)."""
    from v1model.cli import _sigterm_as_interrupt

    with _sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    # interrupted: the KeyboardInterrupt, not a TypeError of the restore
    with pytest.raises(KeyboardInterrupt), _sigterm_as_interrupt():
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
