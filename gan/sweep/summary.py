"""When a sweep's summary is written (`gan.report.summary` reads the jobs and writes it): each
job's process writes it after the job's own record (its metrics.json), however the job ended:
completed, failed, or stopped by a signal or a time limit (`gan.sweep.job`; the stacked launcher
after each stack); the sweep's process writes it at the end, and on its way out when the sweep
ends any other way (a stopped job, a worker's crash): see `SweepSummary`."""

import atexit
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from gan.report.summary import summarise

log = logging.getLogger(__name__)


def summarise_after_job(sweep_dir: Path, objective: str) -> None:
    """The summary written by a job's process once the job's record is in its directory; a
    summary that cannot be written (an unwritable sweep directory) is logged, and the job's
    own ending (its result, its stop message) goes on."""
    try:
        summarise(sweep_dir, objective)
    except OSError as error:
        log.warning(f"no sweep summary: {error}")


class SweepSummary(Callback):
    """Hydra callback: summary.csv and summary.md in the sweep directory when the sweep ends,
    which fails if any job did not complete. Each job writes it too, after its record (see the
    module); Hydra calls neither `on_job_end` nor `on_multirun_end` for a job or sweep that
    ends by raising (a job stopped by Ctrl-C exits with 130 from inside the sweep).

    A sweep that ends any other way than returning (a job stopped in this process; a joblib
    worker killed, which ends the sweep and the other workers with it) is summarised on the
    sweep process's way out (`atexit`), after the jobs that process ran have recorded how they
    ended: jobs killed before writing anything are listed `unknown`."""

    def __init__(self) -> None:
        self.on_exit: Callable[[], None] | None = None  # registered while the sweep runs

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise on the way out, should the sweep not return."""
        sweep_dir, objective = Path(config.hydra.sweep.dir), str(config.eval.objective)

        def on_exit() -> None:
            if sweep_dir.is_dir():
                summarise_after_job(sweep_dir, objective)

        self.on_exit = on_exit
        atexit.register(on_exit)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the sweep and say where; fail the sweep if a job failed."""
        if self.on_exit is not None:
            atexit.unregister(self.on_exit)
            self.on_exit = None
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            log.warning(f"no sweep summary: {sweep_dir} does not exist (no job started)")
            return
        rows = summarise(sweep_dir, config.eval.objective)
        log.info(f"Sweep summary: {sweep_dir / 'summary.md'} (and summary.csv)")
        failed = [row for row in rows if row["status"] != "completed"]
        if failed:  # SystemExit passes through Hydra's callback guard: the exit code says it
            sys.exit(f"error: {len(failed)} of {len(rows)} jobs did not complete "
                     f"({', '.join(sorted({row['status'] for row in failed}))}); see "
                     f"{sweep_dir / 'summary.md'}")
