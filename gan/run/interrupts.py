"""SIGINT and SIGTERM as a request to stop after the current step, with a checkpoint; and a
scheduler's USR signal (submitit's, before a time limit) the same, where one handles it."""

import multiprocessing
import os
import signal
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# submitit's warning of a time limit or a pre-emption: watched only where a handler (submitit's
# requeue) is installed, and handed back to it once the run has checkpointed (`hand_back`).
SCHEDULER_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


class Interrupted(Exception):
    """The run stopped on a signal after writing a checkpoint; it can be resumed."""

    def __init__(self, steps_done: int, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name} after {steps_done} "
                         "steps; checkpoint.pt holds them all")
        self.steps_done = steps_done
        self.signum = signum
        self.exit_code = 128 + signum  # the shell's convention: 130 for Ctrl-C, 143 for TERM

    def hand_back(self) -> None:
        """A scheduler's signal goes on to its own handler now (submitit: requeue the job)."""
        if self.signum in SCHEDULER_SIGNALS:
            signal.raise_signal(self.signum)


class InterruptWatch:
    """While active, SIGINT and SIGTERM are noted instead of ending the process; the loop asks
    `received` after each step. A second signal ends the process at once, as usual. A signal the
    process was started ignoring (`python train.py &` from a script ignores SIGINT) stays
    ignored, as Python itself leaves it: the run goes on, as whoever started it asked.

    In a worker process of a sweep (joblib's loky workers), the sweep's own process going away
    (killed, by any signal) counts as a SIGTERM too: the worker is orphaned, and a run that went
    on would later meet the continued sweep's copy of itself in the same directory."""

    def __init__(self) -> None:
        self.noted: int | None = None
        self.previous: dict[int, object] = {}
        parent = multiprocessing.parent_process()  # None outside a multiprocessing worker
        self.parent_pid = None if parent is None else parent.pid

    @property
    def received(self) -> int | None:
        """The signal noted, SIGTERM once an orphaned worker's parent is gone, else None: one
        getppid call a step in a worker, none elsewhere; never a device read."""
        if self.noted is None and self.parent_pid is not None and orphaned(self.parent_pid):
            self.noted = signal.SIGTERM
        return self.noted

    def __enter__(self) -> "InterruptWatch":
        if threading.current_thread() is threading.main_thread():  # signals reach only it
            watched = [*(signum for signum in SIGNALS  # an ignored one was meant to be
                         if signal.getsignal(signum) is not signal.SIG_IGN),
                       *(signum for signum in SCHEDULER_SIGNALS if callable(
                           signal.getsignal(signum)))]  # a handler of the scheduler's: listening
            self.previous = {signum: signal.signal(signum, self._note) for signum in watched}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._restore()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        """Remember the signal; hand the next one back to the previous handlers."""
        self.noted = signum
        self._restore()

    def _restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}


def orphaned(parent_pid: int) -> bool:
    """Whether this process's parent (pid `parent_pid` when it started this one) has gone: the
    kernel then hands the process to init or a subreaper, whose pid is another."""
    return os.getppid() != parent_pid
