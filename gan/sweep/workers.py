"""A sweep whose jobs run in worker processes (joblib's loky workers) stopped by a signal: each
running job checkpoints and ends, and no worker goes on to the jobs still queued.

Three ways the sweep is stopped, one outcome:

- Ctrl-C, or SIGTERM to the whole process group (a scheduler): every process hears it. The
  workers' jobs checkpoint and stop (`gan.run.interrupts`); the sweep's own process leaves at
  once (`LeaveJobsToCheckpoint`) instead of letting joblib SIGKILL the workers mid-checkpoint.
- SIGTERM (or SIGKILL) to the sweep's own process only: the workers are orphaned; each job
  notices after its current step (`InterruptWatch.received`) and stops as if sent SIGTERM.
- Either way a worker then ends itself (`end_process`) rather than return to loky, which would
  hand it the next queued job (one already sent down its queue when the sweep stopped), and a
  job an orphaned worker picks up ends before it trains (`refuse_if_orphaned`).
"""

import logging
import multiprocessing
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from gan.run.directory import stopped
from gan.run.interrupts import SIGNALS, orphaned

SIGTERM_EXIT = 128 + signal.SIGTERM  # 143: the shell's code for a process ended by SIGTERM


def in_worker() -> bool:
    """Whether this process is a multiprocessing worker (joblib's loky launcher): it has a
    parent process that started it to take jobs from a queue."""
    return multiprocessing.parent_process() is not None


def end_process(code: int) -> NoReturn:
    """Exit with `code`. A worker ends outright (after flushing its logs and consoles): loky
    catches SystemExit and would hand the worker the sweep's next queued job, though the signal
    that stopped this one was meant for the whole sweep."""
    if not in_worker():
        sys.exit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def refuse_if_orphaned() -> None:
    """End this worker before its job trains if the sweep's process is already gone (the job was
    queued to it before the sweep stopped); `python train.py -m resume=SWEEP_DIR` runs it."""
    parent = multiprocessing.parent_process()
    if parent is not None and orphaned(parent.pid):
        print("interrupted: the sweep's process is gone; this job did not start", file=sys.stderr)
        end_process(SIGTERM_EXIT)


class LeaveJobsToCheckpoint(Callback):
    """Hydra callback: in a joblib sweep's own process, Ctrl-C or SIGTERM ends that process at
    once (130, 143) and leaves the workers, who heard the signal too or find themselves orphaned,
    to checkpoint and stop. Without it a Ctrl-C raises KeyboardInterrupt inside joblib, which
    SIGKILLs the workers, maybe before they have checkpointed."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}  # signal -> the handler before the sweep's

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Watch the signals, where the launcher runs jobs in workers and the signal is heard."""
        if not str(config.hydra.launcher.get("_target_", "")).endswith(".JoblibLauncher"):
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        for signum in SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's choice stands
                self.previous[signum] = signal.signal(
                    signum, lambda number, frame: leave(number, frame, sweep_dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Give the signals back their handlers once the sweep's jobs have all returned (a
        program that runs a sweep in its own process goes on as before). Hydra calls this only
        when the sweep returns; one that raises leaves the sweep's handlers, on its way out."""
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()


def leave(signum: int, frame: FrameType | None, sweep_dir: Path) -> NoReturn:
    """Say what happens to the jobs and how to go on; exit without waiting for joblib."""
    print(stopped(f"interrupted by {signal.Signals(signum).name}: each running job checkpoints "
                  "and stops", None, sweep_dir), file=sys.stderr)
    sys.stderr.flush()
    os._exit(128 + signum)
