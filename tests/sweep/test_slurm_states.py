"""How a SLURM sweep follows its jobs (gan/sweep/slurm_states.py), against stand-in `sacct` and
`squeue` commands: no cluster needed (tests/sweep/test_slurm.py runs on a real one)."""

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("submitit")

from submitit.core.utils import UncompletedJobError  # noqa: E402

from gan.sweep.slurm_states import (  # noqa: E402
    ENDED,
    SUBMITIT_HANDLERS,
    QueueWatcher,
    one_line_each,
    without_result,
)

NO_ACCOUNTING = 'echo "Slurm accounting storage is disabled" >&2; exit 1'
SQUEUE_HEADER = "JOBID|STATE|NODELIST"


@pytest.fixture
def commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH for stand-in commands; each call is noted in calls.txt."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def command(bin_dir: Path, name: str, body: str) -> None:
    """A stand-in for `name` that notes its call, then runs the shell body."""
    path = bin_dir / name
    path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> {bin_dir / "calls.txt"}\n{body}\n')
    path.chmod(0o755)


def calls(bin_dir: Path) -> list[str]:
    """The stand-in commands run so far, in order."""
    path = bin_dir / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def watching(*jobs: str) -> QueueWatcher:
    """A watcher with the jobs registered, as submitit registers the tasks of an array."""
    watcher = QueueWatcher()
    for job in jobs:
        watcher.register_job(job)
    return watcher


def test_without_accounting_the_jobs_are_followed_with_squeue_and_that_is_said_once(
        commands: Path, caplog: pytest.LogCaptureFixture) -> None:
    command(commands, "sacct", NO_ACCOUNTING)
    command(commands, "squeue", f'echo "{SQUEUE_HEADER}"; echo "7_0|RUNNING|vm"; '
                                'echo "7_1|PENDING|"')
    watcher = watching("7_0", "7_1")
    with caplog.at_level(logging.INFO):
        for _ in range(3):  # three polls
            watcher.update()
    assert [call.split()[0] for call in calls(commands)] == ["sacct", "squeue", "squeue",
                                                             "squeue"]
    assert "--jobs=7" in calls(commands)[1]
    assert [record.getMessage() for record in caplog.records] == [
        "sacct gives no job states on this cluster (Slurm accounting storage is disabled): "
        "the sweep follows its jobs with squeue"]
    assert [watcher.get_state(job, mode="cache") for job in ("7_0", "7_1")] == ["RUNNING",
                                                                                "PENDING"]
    assert not watcher.is_done("7_1", mode="cache")


def test_a_job_squeue_no_longer_lists_has_ended(commands: Path) -> None:
    command(commands, "sacct", NO_ACCOUNTING)
    command(commands, "squeue", f'echo "{SQUEUE_HEADER}"; echo "7_0|CANCELLED|vm"')
    watcher = watching("7_0", "7_1")
    watcher.update()
    assert [watcher.get_state(job, mode="cache") for job in ("7_0", "7_1")] == ["CANCELLED",
                                                                                ENDED]
    assert all(watcher.is_done(job, mode="cache") for job in ("7_0", "7_1"))
    # None of them known any more: squeue says so in an error of its own.
    command(commands, "squeue", 'echo "slurm_load_jobs error: Invalid job id specified" >&2; '
                                "exit 1")
    later = watching("8_0")
    later.update()
    assert later.get_state("8_0", mode="cache") == ENDED


def test_where_sacct_answers_squeue_is_not_asked(commands: Path) -> None:
    command(commands, "sacct", 'echo "JobID|State|NodeList"; echo "7_0|COMPLETED|vm"; '
                               'echo "7_1|RUNNING|vm"')
    command(commands, "squeue", "exit 1")
    watcher = watching("7_0", "7_1")
    watcher.update()
    watcher.update()  # 7_1 only, still running
    assert [call.split()[0] for call in calls(commands)] == ["sacct", "sacct"]
    assert [watcher.get_state(job, mode="cache") for job in ("7_0", "7_1")] == ["COMPLETED",
                                                                                "RUNNING"]


def test_a_controller_that_does_not_answer_is_said_once_and_asked_again(
        commands: Path, caplog: pytest.LogCaptureFixture) -> None:
    command(commands, "sacct", NO_ACCOUNTING)
    command(commands, "squeue", 'echo "squeue: error: Unable to contact slurm controller" >&2; '
                                "exit 1")
    watcher = watching("7_0")
    with caplog.at_level(logging.INFO):
        watcher.update()
        watcher.update()
    said = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert said == ["the sweep's jobs cannot be followed for now (squeue: error: Unable to "
                    "contact slurm controller); trying again"]
    assert watcher.get_state("7_0", mode="cache") == "UNKNOWN"  # not taken for ended


@pytest.fixture
def submitit_logger() -> Iterator[logging.Logger]:
    """submitit's logger, its handlers put back afterwards."""
    import submitit  # noqa: F401  (configures its logger on import)
    logger = logging.getLogger("submitit")
    handlers = list(logger.handlers)
    yield logger
    logger.handlers[:] = handlers


def test_submitit_says_each_thing_once(submitit_logger: logging.Logger) -> None:
    # submitit's own handlers print each record to stdout and stderr, and the root logger's
    # (Hydra's console) a third time.
    assert sorted(h.get_name() for h in submitit_logger.handlers) == sorted(SUBMITIT_HANDLERS)
    one_line_each()
    assert submitit_logger.handlers == [] and submitit_logger.propagate  # root's alone


def test_a_job_without_result_is_said_in_one_line() -> None:
    error = UncompletedJobError(
        "Job 10_1 (task: 0) with path /s/.submitit/10_1/10_1_0_result.pkl\n"
        "has not produced any output (state: CANCELLED)\nError stream produced:\n----\nsrun: ...")
    assert without_result(error) == ("SLURM job 10_1 ended without a result (CANCELLED; its "
                                     "log: /s/.submitit/10_1/10_1_0_log.err)")
    assert without_result(UncompletedJobError("something else\nand more")) == "something else"
