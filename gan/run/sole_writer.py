"""One process at a time trains into a run directory: an exclusive lock (POSIX `flock`) on
RUN_DIR/.writer for as long as it does. A second one (a sweep continued while the stopped
sweep's last jobs still write their checkpoints, the same `resume=RUN_DIR` typed twice) waits
for the first to end, then reads what it left; one that waits too long is refused."""

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gan.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not guarded
    fcntl = None

log = logging.getLogger(__name__)


class Busy(UserError):
    """Another process trains into the run directory: a refusal that says nothing of this
    run's settings (a sweep's job refused so writes nothing there and runs again when the sweep
    is continued)."""


LOCK_NAME = ".writer"  # holds the writing process's pid, for the message of whoever waits


@contextmanager
def sole_writer(run_dir: Path, wait_s: float = 120.0, poll_s: float = 0.1) -> Iterator[None]:
    """Make run_dir and hold its lock while the block runs; the lock file goes with it.

    Waits while another live process holds the lock (it is let go when that process ends, even
    by SIGKILL), saying once who; raises Busy (a UserError) after `wait_s` seconds of that."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    descriptor = acquire(run_dir / LOCK_NAME, wait_s, poll_s)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):  # before letting go: a waiter then
            os.unlink(run_dir / LOCK_NAME)  # finds it gone and opens the next holder's file
        os.close(descriptor)


def acquire(path: Path, wait_s: float, poll_s: float) -> int:
    """An open descriptor of `path` holding its exclusive lock; the file is the one at `path`
    now (not one its last holder unlinked while this process waited on it)."""
    deadline, said = time.monotonic() + wait_s, False
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            holder = holder_of(path)
            if time.monotonic() > deadline:
                raise Busy(f"{path.parent} is being trained by another process (pid "
                                f"{holder}); stop it, or wait for it to end") from None
            if not said:
                log.warning(f"waiting for process {holder} to finish writing {path.parent}")
                said = True
            time.sleep(poll_s)
            continue
        if path.exists() and os.stat(path).st_ino == os.fstat(descriptor).st_ino:
            return descriptor
        os.close(descriptor)  # locked a file its holder had already removed: try the new one


def holder_of(path: Path) -> str:
    """The pid the lock's holder wrote, or "?" (not written yet, or just removed)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"
