"""One process at a time trains into a run directory: an exclusive lock (POSIX `flock`) on
RUN_DIR/.writer for as long as it does. A second one (a sweep continued while the stopped
sweep's last jobs still write their checkpoints, the same `resume=RUN_DIR` typed twice) waits
for the first to end, then reads what it left; one that waits too long is refused.

The lock is the process's: a block that asks again for a directory this process already holds
(a sweep's job that locks before it reads its directory, then trains) goes straight in."""

import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gan.errors import UserError
from gan.run.interrupts import orphaned

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
_held: dict[Path, int] = {}  # resolved run directory -> pid that holds it (a fork copies this)


@contextmanager
def sole_writer(run_dir: Path, wait_s: float = 120.0, poll_s: float = 0.1) -> Iterator[None]:
    """Make run_dir and hold its lock while the block runs; the lock file goes with it. Where
    this process holds it already, the block just runs (the outer block lets go).

    Waits while another live process holds the lock (it is let go when that process ends, even
    by SIGKILL), saying once who; raises Busy (a UserError) after `wait_s` seconds of that, or
    at once where this process is a worker whose sweep's process has gone."""
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_dir.resolve()
    if fcntl is None or _held.get(key) == os.getpid():
        yield
        return
    descriptor = acquire(run_dir / LOCK_NAME, wait_s, poll_s)
    _held[key] = os.getpid()
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        yield
    finally:
        del _held[key]
        with contextlib.suppress(FileNotFoundError):  # before letting go: a waiter then
            os.unlink(run_dir / LOCK_NAME)  # finds it gone and opens the next holder's file
        os.close(descriptor)


def acquire(path: Path, wait_s: float, poll_s: float) -> int:
    """An open descriptor of `path` holding its exclusive lock; the file is the one at `path`
    now (not one its last holder unlinked while this process waited on it). Raises Busy after
    `wait_s` seconds of another holder, or once this worker's parent has gone."""
    deadline, said = time.monotonic() + wait_s, False
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            holder = holder_of(path)
            if parent_gone():
                raise Busy(f"{path.parent} is being trained by another process (pid "
                           f"{holder}) and this worker's sweep has ended; continuing the sweep "
                           "runs this job") from None
            if time.monotonic() > deadline:
                raise Busy(f"{path.parent} is being trained by another process (pid "
                           f"{holder}); stop it, or wait for it to end") from None
            if not said:
                log.warning(f"waiting for process {holder} to finish writing {path.parent}")
                said = True
            time.sleep(poll_s)
            continue
        if same_file(path, descriptor):
            return descriptor
        os.close(descriptor)  # locked a file its holder had already removed: try the new one


def same_file(path: Path, descriptor: int) -> bool:
    """Whether `path` still names the file open at `descriptor` (not removed, not replaced)."""
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:  # its holder removed it between our open and this look
        return False


def parent_gone() -> bool:
    """Whether this is a worker process (joblib's loky) whose parent, the sweep, has ended: the
    job it waits for was stopped with the sweep, and the continued sweep will run it."""
    parent = multiprocessing.parent_process()
    return parent is not None and orphaned(parent.pid)


def holder_of(path: Path) -> str:
    """The pid the lock's holder wrote, or "?" (not written yet, or just removed)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"
