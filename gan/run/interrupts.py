"""SIGINT and SIGTERM as a request to stop after the current step, with a checkpoint."""

import signal
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run stopped on a signal after writing a checkpoint; it can be resumed."""

    def __init__(self, steps_done: int, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name} after {steps_done} "
                         "steps; checkpoint.pt holds them all")
        self.steps_done = steps_done
        self.exit_code = 128 + signum  # the shell's convention: 130 for Ctrl-C, 143 for TERM


class InterruptWatch:
    """While active, SIGINT and SIGTERM are noted instead of ending the process; the loop asks
    `received` after each step. A second signal ends the process at once, as usual."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> "InterruptWatch":
        if threading.current_thread() is threading.main_thread():  # signals reach only it
            self.previous = {signum: signal.signal(signum, self._note) for signum in SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._restore()

    def _note(self, signum: int, frame: FrameType | None) -> None:
        """Remember the signal; hand the next one back to the previous handlers."""
        self.received = signum
        self._restore()

    def _restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}
