"""One writer per run directory: a second process waits for the first, or is refused."""

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan.errors import UserError
from gan.run.sole_writer import LOCK_NAME, sole_writer
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def holder(run_dir: Path, seconds: float) -> subprocess.Popen:
    """Another process holding run_dir's lock for `seconds`, once it says so."""
    code = ("import sys, time; from pathlib import Path; from gan.run.sole_writer import "
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
