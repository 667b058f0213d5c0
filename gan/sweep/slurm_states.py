"""Where a sweep's SLURM jobs stand, on any cluster, with one console line for each thing said.

submitit follows a sweep's jobs with `sacct`, which reads the cluster's accounting. Where a
cluster keeps none (`AccountingStorageType=accounting_storage/none`, as small clusters and
single machines often do), every poll fails: sacct prints "Slurm accounting storage is
disabled", submitit warns of it, and its warning is printed three times (its own stdout and
stderr handlers, then Hydra's root logger); and a job that ends without a result (cancelled,
killed) is never seen to end, so the sweep waits on it for ever. Here the first failing sacct is
said once and `squeue` answers instead: it lists a job while the controller remembers it
(`MinJobAge`, 300 s by default), and a job it no longer lists has ended. A job that ended without
a result (`scancel`) stops the sweep as a signal does: once the other jobs have ended, the sweep
is summarised and the command that continues it printed, in a few lines, not a traceback.

Imported only where submitit is installed (`hydra_plugins.gan_lab.requeue`).
"""

import logging
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

from submitit.core.utils import UncompletedJobError
from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob

from gan.report.summary import summarise
from gan.run.directory import stopped

log = logging.getLogger(__name__)

# The state of a job that squeue no longer lists: it ended, how only accounting could say.
ENDED = "ENDED"
# submitit's own console handlers (submitit/core/logger.py): each of its records goes to both,
# and on to the root logger's handlers too.
SUBMITIT_HANDLERS = ("submitit_out", "submitit_err")
POLL_S = 5  # how often the jobs left are looked at, once one has ended without a result


class QueueWatcher(SlurmInfoWatcher):
    """submitit's poller of job states (one for all jobs of a process): sacct's answer where
    it gives one, squeue's from the first poll it fails on, for the rest of the process."""

    def __init__(self, delay_s: int = 600) -> None:
        super().__init__(delay_s=delay_s)
        self.sacct_fails: str | None = None  # why sacct gives no states here, once it failed
        self.said: set[str] = set()  # what this poller has said: each once

    def update(self) -> None:
        """submitit's poll of the jobs not yet ended, from sacct or squeue. Errors of the
        commands are logged (each once), never raised: the next poll tries again."""
        unfinished = self._registered - self._finished
        if not unfinished:
            return
        self._num_calls += 1
        states = self._sacct() if self.sacct_fails is None else None
        if states is None:
            states = self._squeue(unfinished)
        if states is not None:
            self._info_dict.update(states)
        self._last_status_check = time.time()
        for job in unfinished:
            if self.is_done(job, mode="cache"):
                self._finished.add(job)

    def _sacct(self) -> dict[str, dict[str, str]] | None:
        """sacct's states, as submitit reads them; None where it failed (said once)."""
        command = self._make_command()
        answer = run(command) if command else None
        if answer is None or answer.returncode != 0:
            self.sacct_fails = why(answer, "sacct")
            self.say(f"sacct gives no job states on this cluster ({self.sacct_fails}): the "
                     "sweep follows its jobs with squeue", logging.INFO)
            return None
        return self.read_info(answer.stdout)

    def _squeue(self, unfinished: set[str]) -> dict[str, dict[str, str]] | None:
        """squeue's states of the jobs, each listed array task apart; a job it no longer lists
        has ENDED. None where squeue failed (said once)."""
        ids = sorted({job.split("_")[0] for job in unfinished})
        answer = run(["squeue", "--array", "--states=all", "--format=%i|%T|%N",
                      f"--jobs={','.join(ids)}"])
        if answer is not None and answer.returncode == 0:
            _, _, rows = answer.stdout.partition("\n")  # squeue's header: JOBID|STATE|NODELIST
            states = self.read_info(f"JobID|State|NodeList\n{rows}")
        elif answer is not None and "Invalid job id" in answer.stderr:
            states = {}  # none of them is known any more
        else:
            self.say(f"the sweep's jobs cannot be followed for now ({why(answer, 'squeue')}); "
                     "trying again", logging.WARNING)
            return None
        for job in unfinished:
            states.setdefault(job, {"JobID": job, "State": ENDED})
        return states

    def say(self, message: str, level: int) -> None:
        """Log the message, the first time only."""
        if message not in self.said:
            self.said.add(message)
            log.log(level, message)


def run(command: list[str]) -> subprocess.CompletedProcess | None:
    """The command's answer, its output and errors kept; None where it cannot be started."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def why(answer: subprocess.CompletedProcess | None, name: str) -> str:
    """A command's failure in a few words: the last line it printed to stderr."""
    if answer is None:
        return f"{name} could not be run"
    lines = [line.strip() for line in answer.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"{name} exited with status {answer.returncode}"


def follow_slurm_jobs() -> None:
    """Jobs submitted from now on (by this process) are followed by one QueueWatcher."""
    if not isinstance(SlurmJob.watcher, QueueWatcher):
        SlurmJob.watcher = QueueWatcher()


def one_line_each() -> None:
    """submitit's log records printed once, by the handlers of the root logger (Hydra's
    console), instead of three times."""
    submitit_log = logging.getLogger("submitit")
    for handler in list(submitit_log.handlers):
        if handler.get_name() in SUBMITIT_HANDLERS:
            submitit_log.removeHandler(handler)


def stop_sweep(error: UncompletedJobError, sweep_dir: Path, objective: str) -> NoReturn:
    """A job ended without a result (cancelled, killed): once the sweep's other jobs have
    ended too, summarise the sweep and stop it with the command that continues it (exit 1)."""
    watcher = SlurmJob.watcher
    if watcher._registered - watcher._finished:
        log.info("waiting for the sweep's other jobs to end")
    while watcher._registered - watcher._finished:
        time.sleep(POLL_S)
        watcher.update()
    if sweep_dir.is_dir():
        summarise(sweep_dir, objective)
        log.info(f"Sweep summary: {sweep_dir / 'summary.md'} (and summary.csv)")
    sys.exit(stopped(without_result(error), None, sweep_dir))


def without_result(error: UncompletedJobError) -> str:
    """submitit's many-line complaint of a job that ended without a result, in one line: the
    job, its state and where its log is."""
    found = re.search(r"Job (\S+) .*? with path (\S+)\s+has not produced any output "
                      r"\(state: ([^)]*)\)", str(error), flags=re.DOTALL)
    if found is None:
        return str(error).splitlines()[0]
    job, result, state = found.groups()
    log_file = result.removesuffix("_result.pkl") + "_log.err"
    return f"SLURM job {job} ended without a result ({state}; its log: {log_file})"
