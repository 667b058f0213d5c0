"""Train a GAN: `python train.py [group=option ...] [key=value ...]` (see README.md)."""

import math
import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan.cli import one_line_errors
from gan.run.compose import run
from gan.run.config import register_configs
from gan.run.hparams import hyperparameters
from gan.run.interrupts import Interrupted
from gan.run.saved import resume_command, resumed_config
from gan.sweep.job import record_failure, threads_per_job

register_configs()


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    """Compose, build, train; every output goes to Hydra's run directory. Returns the metric
    named by `eval.objective`, for sweepers (None when evaluation is off and it is a score).

    A job of a sweep that fails (diverges, runs out of memory, raises) returns NaN, a failed
    trial, and the sweep goes on; its metrics.json says why, and so does the sweep's summary.
    """
    started, job = time.perf_counter(), HydraConfig.get()
    run_dir, in_sweep = Path(job.runtime.output_dir), job.mode == RunMode.MULTIRUN
    threads = (threads_per_job(OmegaConf.to_container(job.launcher),
                               OmegaConf.to_container(job.sweeper)) if in_sweep else 0)
    try:
        hparams = hyperparameters(cfg, job.runtime.choices, job.overrides.task)
        if cfg.resume is not None:  # the run's own config, as it was saved
            cfg = resumed_config(Path(cfg.resume), job.overrides.task)
        metrics = run(cfg, run_dir, threads, hparams)
    except Interrupted as stop:  # a sweep stops too: the signal was meant for all of it
        record_failure(stop, run_dir, time.perf_counter() - started, in_sweep)
        print(f"{stop}. Resume with:\n  {resume_command(run_dir)}", file=sys.stderr)
        sys.exit(stop.exit_code)
    except Exception as error:
        failure = record_failure(error, run_dir, time.perf_counter() - started, in_sweep)
        if cfg.resume is not None and failure.status == "bad_input":  # refused: leave no trace
            shutil.rmtree(run_dir / job.output_subdir, ignore_errors=True)
        if in_sweep:
            return math.nan
        if failure.expected:
            sys.exit(f"error: {failure.reason}")  # one line and a non-zero exit, no traceback
        raise
    return metrics.get(cfg.eval.objective)


if __name__ == "__main__":
    one_line_errors(main)
