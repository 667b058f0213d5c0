"""One job of `train.py`, from its directory's lock to its metrics: checked, prepared and
trained while this process is the directory's only writer (`gan.run.sole_writer`)."""

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from gan.run.compose import run
from gan.run.config import absolute
from gan.run.sole_writer import sole_writer
from gan.run.validate import check_config
from gan.sweep.job import prepared, record_failure
from gan.sweep.summary import summarise_after_job


def train_job(cfg: DictConfig, hydra_cfg: DictConfig, run_dir: Path, threads: int,
              started: float, in_sweep: bool) -> tuple[DictConfig, dict[str, Any]]:
    """The job's config as it trained, and its metrics (a continued sweep's done job: the
    metrics it has). The lock comes first: a continued sweep's job reads its directory (done,
    resume or start: `gan.sweep.continuation.job_plan`) only once the process that trained
    there last has let go, so it goes on from that process's last checkpoint, not from step 0
    over it. A failure is recorded (`record_failure`) before the lock is let go, then raised:
    Busy where another process held the directory too long, Interrupted where a signal or a
    time limit stopped the run, or what ended the run. In a sweep, the sweep's summary is
    written after the job's record, however the job ended."""
    objective = cfg.eval.objective  # the sweep's, as its command says
    with ExitStack() as held:
        try:
            check_config(cfg)  # a mistyped setting is refused at once, not after a wait
            held.enter_context(sole_writer(run_dir))
            cfg, hparams, done = prepared(cfg, hydra_cfg)  # checked; resume= reads the run's own
            return cfg, done or run(cfg, run_dir, threads, hparams)  # done: nothing to train
        except Exception as error:
            record_failure(error, run_dir, time.perf_counter() - started, in_sweep)
            raise
        finally:  # here, not in Hydra's on_job_end, which a job stopped by a signal never sees
            if in_sweep:
                summarise_after_job(absolute(hydra_cfg.sweep.dir), objective)
