"""One writer per run directory: a second process waits for the first, or is refused."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan.errors import UserError
from gan.run import job as sole_writer_module
from gan.run.job import LOCK_NAME, Busy, same_file, sole_writer
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def holder(run_dir: Path, seconds: float) -> subprocess.Popen:
    """Another process holding run_dir's lock for `seconds`, once it says so."""
    code = ("import sys, time; from pathlib import Path; from gan.run.job import "
            f"sole_writer\nwith sole_writer(Path({str(run_dir)!r})):\n"
            f"    print('held', flush=True); time.sleep({seconds})")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_the_writer_holds_a_lock_file_with_its_pid_and_removes_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with sole_writer(run_dir):  # made if missing
        assert (run_dir / LOCK_NAME).read_text().isdigit()
    assert list(run_dir.iterdir()) == []  # nothing left behind


def test_a_second_writer_waits_for_the_first_to_end(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    first = holder(tmp_path, 1.0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), sole_writer(tmp_path, wait_s=30):
        waited = time.monotonic() - started
    assert first.wait() == 0 and waited > 0.5
    assert f"waiting for process {first.pid} to finish writing {tmp_path}" in caplog.text


def test_a_writer_that_does_not_end_refuses_the_second(tmp_path: Path) -> None:
    first = holder(tmp_path, 60)
    try:
        with pytest.raises(UserError, match=rf"being trained by another process \(pid "
                                            rf"{first.pid}\)"), sole_writer(tmp_path, wait_s=0.3):
            pass
    finally:
        first.kill()
        first.wait()


def test_a_killed_writer_lets_go_at_once(tmp_path: Path) -> None:
    first = holder(tmp_path, 60)
    first.send_signal(signal.SIGKILL)  # no chance to remove its file
    first.wait()
    assert (tmp_path / LOCK_NAME).exists()
    with sole_writer(tmp_path, wait_s=0):  # the kernel let go of its lock as it died
        assert (tmp_path / LOCK_NAME).read_text() != str(first.pid)


def test_the_lock_is_the_processs_own_a_nested_block_goes_straight_in(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with sole_writer(run_dir, wait_s=0):
        with sole_writer(tmp_path / "run" / ".." / "run", wait_s=0):  # same directory
            pass  # would be Busy at once if it took the lock again
        assert (run_dir / LOCK_NAME).exists()  # the outer block still holds it
        refused = subprocess.run([sys.executable, "-c", WAIT_NONE.format(run_dir=str(run_dir))],
                                 cwd=REPO, capture_output=True, text=True)
        assert "Busy" in refused.stderr
    assert not (run_dir / LOCK_NAME).exists()


WAIT_NONE = ("from pathlib import Path; from gan.run.job import sole_writer\n"
             "with sole_writer(Path({run_dir!r}), wait_s=0): pass")


def test_a_worker_whose_sweep_has_gone_stops_waiting_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A job queued to a worker before the sweep was stopped waits on the stopped job's lock:
    # the continued sweep runs it, so it gives up instead of training beside it.
    assert not sole_writer_module.parent_gone()  # pytest's own process is no worker
    first = holder(tmp_path, 60)
    monkeypatch.setattr(sole_writer_module, "parent_gone", lambda: True)
    started = time.monotonic()
    try:
        with pytest.raises(Busy, match="sweep has ended"), sole_writer(tmp_path, wait_s=60):
            pass
    finally:
        first.kill()
        first.wait()
    assert time.monotonic() - started < 10


def test_a_lock_file_removed_under_the_waiter_is_not_taken_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        assert same_file(path, descriptor)
        path.unlink()  # its holder let go meanwhile
        assert not same_file(path, descriptor)
        path.write_text("next holder")
        assert not same_file(path, descriptor)
    finally:
        os.close(descriptor)
