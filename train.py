"""Train a GAN: `python train.py [group=option ...] [key=value ...]` (see README.md)."""

# Ctrl-C while the heavy imports below load: one line and exit 130, not a traceback of them.
import os
import signal
import sys

_previous = signal.getsignal(signal.SIGINT)
if _previous is signal.default_int_handler:  # not where the caller ignores it (nohup, ...)
    signal.signal(signal.SIGINT, lambda *_: (sys.stderr.write("interrupted\n"), os._exit(130)))

from gan.errors import require_torch  # noqa: E402

require_torch()  # a broken torch or torchvision: one line naming it and the fix, no traceback

import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from gan.cli import literal_paths, one_line_errors  # noqa: E402
from gan.errors import UserError  # noqa: E402
from gan.run.config import CONF_DIR, absolute, register_configs  # noqa: E402
from gan.run.directory import made_by_hydra_now, remove_traces  # noqa: E402
from gan.run.help import register_help  # noqa: E402
from gan.run.interrupts import Interrupted  # noqa: E402
from gan.sweep.continuation import continued_argv, stopped  # noqa: E402
from gan.sweep.job import classify, label_console, threads_per_job  # noqa: E402
from gan.sweep.train_job import train_job  # noqa: E402
from gan.sweep.workers import end_process, refuse_if_orphaned  # noqa: E402

signal.signal(signal.SIGINT, _previous)  # from here on: KeyboardInterrupt, as before
register_configs()
register_help()


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    """Compose, check, build, train; every output goes to Hydra's run directory. Returns the
    metric named by `eval.objective`, for sweepers (None when evaluation is off and it is a
    score).

    A job of a sweep that fails (diverges, runs out of memory, raises) returns NaN, a failed
    trial, and the sweep goes on; its metrics.json says why, and so does the sweep's summary.
    A single run refused before its first step leaves nothing behind.
    """
    started, hydra_cfg = time.perf_counter(), HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    threads = (threads_per_job(OmegaConf.to_container(hydra_cfg.launcher),
                               OmegaConf.to_container(hydra_cfg.sweeper),
                               absolute(hydra_cfg.sweep.dir)) if in_sweep else 0)
    if in_sweep:
        label_console(hydra_cfg.job.num)
        refuse_if_orphaned()  # queued to a worker before the sweep was stopped: not now
    made_now = made_by_hydra_now(run_dir)  # only then may a refusal remove the directory
    try:  # the failure is in metrics.json already (train_job)
        cfg, metrics = train_job(cfg, hydra_cfg, run_dir, threads, started, in_sweep)
    except Interrupted as stop:  # a sweep stops too: the signal was meant for all of it
        print(stopped(stop, run_dir, absolute(hydra_cfg.sweep.dir) if in_sweep else None),
              file=sys.stderr)
        stop.hand_back()  # a scheduler's time-limit signal: submitit requeues the job now
        end_process(stop.exit_code)  # a joblib worker too: it takes no more of the sweep's jobs
    except Exception as error:
        failure = classify(error)
        if failure.status == "bad_input" and not in_sweep:  # refused: leave no trace
            # Only a resume has a subdir of its own to take back (.hydra/resumed-*).
            subdir = hydra_cfg.output_subdir if cfg.get("resume") is not None else ".hydra"
            remove_traces(run_dir, subdir, made_now, Path(hydra_cfg.runtime.cwd))
        if in_sweep:
            return math.nan
        if failure.expected:
            sys.exit(f"error: {failure.reason}")  # one line and a non-zero exit, no traceback
        raise
    return metrics.get(cfg.eval.objective)


def command_line() -> None:
    """`python train.py ARGS` (sys.argv): a path given to `resume=` read as typed, a continued
    sweep's command rebuilt, then `main` through Hydra, every refusal one `error:` line."""
    try:  # resume=PATH as typed; -m resume=SWEEP_DIR: the sweep's own command, continued
        sys.argv = continued_argv(literal_paths(sys.argv))
    except UserError as error:
        sys.exit(f"error: {error}")
    one_line_errors(main)


if __name__ == "__main__":
    command_line()
