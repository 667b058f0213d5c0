"""One Hydra job's side of a sweep: how a sweep's job trains (`sweep_job`, through the run's own
`gan.run.job.train_job`), what a continued sweep does with it, its share of the CPU, and its
console lines labelled with its number."""

import logging
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf

from gan.run.config import absolute
from gan.run.directory import is_sweep, job_plan, jobs_in_sweep, stopped
from gan.run.interrupts import Interrupted
from gan.run.job import prepared, train_job
from gan.run.monitor import HParam
from gan.run.saved import resumed_config
from gan.sweep.continuation import own_overrides
from gan.sweep.summary import summarise_after_job
from gan.sweep.workers import end_process, refuse_if_orphaned

log = logging.getLogger(__name__)


def sweep_job(cfg: DictConfig, hydra_cfg: DictConfig, started: float) -> float | None:
    """One job of `python train.py -m ...`: trained with its share of the cores, its console
    lines labelled, the sweep's summary written after its record however it ended; returns the
    metric named by `eval.objective` (None when evaluation is off and it is a score). A job that
    fails (diverges, runs out of memory, raises) returns NaN, a failed trial, and the sweep goes
    on; its metrics.json says why, and so does the sweep's summary. A signal stops the whole
    sweep: the commands that continue it are printed and the process ends."""
    run_dir, sweep_dir = Path(hydra_cfg.runtime.output_dir), absolute(hydra_cfg.sweep.dir)
    threads = threads_per_job(OmegaConf.to_container(hydra_cfg.launcher),
                              OmegaConf.to_container(hydra_cfg.sweeper), sweep_dir)
    label_console(hydra_cfg.job.num)
    refuse_if_orphaned()  # queued to a worker before the sweep was stopped: not now
    objective = cfg.eval.objective  # the sweep's, as its command says
    try:
        cfg, metrics = train_job(cfg, hydra_cfg, run_dir, threads, started, in_sweep=True,
                                 prepare=prepared_in_sweep,
                                 after=lambda: summarise_after_job(sweep_dir, objective))
    except Interrupted as stop:  # the sweep stops too: the signal was meant for all of it
        stop_sweep(stop, run_dir, sweep_dir)
    except Exception:  # in metrics.json and the job's log already (train_job)
        return math.nan
    return metrics.get(cfg.eval.objective)


def stop_sweep(stop: Interrupted, run_dir: Path | None, sweep_dir: Path) -> NoReturn:
    """End the sweep after a signal stopped its job (`run_dir`; None: a stack's jobs, each
    recorded): the commands that continue it are printed, and the process ends with the
    signal's exit code."""
    print(stopped(stop, run_dir, sweep_dir), file=sys.stderr)
    stop.hand_back()  # a scheduler's time-limit signal: submitit requeues the job now
    end_process(stop.exit_code)  # a joblib worker too: it takes no more of the sweep's jobs


def prepared_in_sweep(cfg: DictConfig, hydra_cfg: DictConfig
                      ) -> tuple[DictConfig, dict[str, HParam], dict[str, Any] | None]:
    """`gan.run.job.prepared` for a sweep's job; in a continued sweep (`resume=SWEEP_DIR`) the
    job's directory decides (`job_plan`): a job that is done returns its metrics as the third
    item (None for every job that trains), one with a checkpoint resumes with this command's
    changes, one that never began starts."""
    if cfg.resume is None or not is_sweep(absolute(cfg.resume)):
        return prepared(cfg, hydra_cfg)
    cfg.resume = None  # the job's own directory, not the sweep's, is what it continues
    cfg, hparams, _ = prepared(cfg, hydra_cfg)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    plan, metrics = job_plan(run_dir, cfg.train.steps)
    if plan == "resume":
        changes = own_overrides(run_dir, list(hydra_cfg.overrides.task))
        return resumed_config(run_dir, changes), hparams, None
    if plan == "done" and metrics is not None:  # said: a sweep with nothing left shows it
        steps = "" if metrics.get("steps") is None else f" after {metrics['steps']} steps"
        on_console(f"not run again: this job has ended ({metrics.get('status')}{steps})")
    return cfg, hparams, metrics if plan == "done" else None


def threads_per_job(launcher: Mapping[str, Any], sweeper: Mapping[str, Any] | None = None,
                    sweep_dir: Path | None = None, cores: int | None = None) -> int:
    """CPU threads for each job, so jobs running at once share the cores instead of fighting
    over them: what the launcher gives a task (submitit's cpus_per_task), else the cores over
    the jobs running at once; 0 (PyTorch's default) where jobs run one at a time."""
    cores = cores or _cores()
    if launcher.get("cpus_per_task"):
        return int(launcher["cpus_per_task"])
    concurrent = _at_once(launcher, cores)
    if concurrent is None:
        return 0
    sweeper = sweeper or {}
    # Fewer jobs at a time where the sweeper hands over smaller batches (Optuna's n_jobs, the
    # basic sweeper's max_batch_size) or the sweep holds fewer jobs.
    for cap in (sweeper.get("n_jobs"), sweeper.get("max_batch_size"), jobs_in_sweep(sweep_dir)):
        concurrent = min(concurrent, cap) if cap else concurrent
    return max(1, cores // max(1, concurrent))


def _at_once(launcher: Mapping[str, Any], cores: int) -> int | None:
    """How many jobs the launcher runs at once on this machine; None: one at a time, or each
    on a machine of its own."""
    n_jobs = launcher.get("n_jobs")  # joblib: n_jobs at once; -1 all cores, -2 all but one
    if n_jobs is not None:
        return n_jobs if n_jobs > 0 else cores + 1 + n_jobs
    if str(launcher.get("_target_", "")).endswith(".LocalLauncher"):  # submitit_local: a batch
        return cores  # at least; capped by the batch and the sweep below
    return None


def on_console(message: str) -> None:
    """A line for the terminal alone (an INFO record to the console handlers): a continued
    sweep's finished job says it is not run again, and leaves its train.log as it was."""
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:  # the console, not train.log
            handler.handle(record)


def label_console(job: int) -> None:
    """Put the job's number in front of its console lines: jobs running at once (joblib,
    submitit) share one terminal. The handler's own pattern is kept on it, so the jobs that one
    process runs in turn each get one label, whether or not Hydra rebuilds the handlers."""
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:  # the console, not train.log
            if not hasattr(handler, "unlabelled_format"):
                handler.unlabelled_format = (handler.formatter._fmt if handler.formatter
                                             else "%(message)s")
            handler.setFormatter(logging.Formatter(f"[job {job}] {handler.unlabelled_format}"))


def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere all the machine's
    return len(affinity(0)) if affinity else os.cpu_count() or 1
