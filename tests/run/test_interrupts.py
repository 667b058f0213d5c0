"""SIGINT and SIGTERM while training: noted, not fatal, once; the second one ends the process."""

import os
import signal

import pytest

from gan.run.interrupts import Interrupted, InterruptWatch


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_is_noted_and_the_handlers_come_back(signum: int) -> None:
    before = signal.getsignal(signum)
    with InterruptWatch() as watch:
        os.kill(os.getpid(), signum)  # delivered before kill returns, in this (main) thread
        assert watch.received == signum
    assert signal.getsignal(signum) is before


def test_a_second_ctrl_c_interrupts_at_once() -> None:
    with pytest.raises(KeyboardInterrupt), InterruptWatch() as watch:
        os.kill(os.getpid(), signal.SIGINT)
        assert watch.received == signal.SIGINT
        os.kill(os.getpid(), signal.SIGINT)


def test_interrupted_says_how_far_and_exits_as_the_shell_expects() -> None:
    stop = Interrupted(120, signal.SIGTERM)
    assert str(stop) == "interrupted by SIGTERM after 120 steps; checkpoint.pt holds them all"
    assert stop.exit_code == 143 and Interrupted(1, signal.SIGINT).exit_code == 130
