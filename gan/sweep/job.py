"""One Hydra job's side of a sweep: its share of the CPU, and how it ended when it failed."""

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from gan.errors import UserError, message_lines
from gan.run.checkpoint import CHECKPOINT_NAME
from gan.run.config import absolute
from gan.run.directory import is_sweep
from gan.run.divergence import Diverged
from gan.run.files import write_atomically
from gan.run.hparams import HParam, hyperparameters
from gan.run.interrupts import Interrupted
from gan.run.saved import resumed_config
from gan.run.sole_writer import Busy
from gan.run.validate import check_config
from gan.sweep.continuation import job_plan, own_overrides

log = logging.getLogger(__name__)


@dataclass
class Failure:
    """Why a job stopped: a status for the sweep summary and a one-line reason."""

    status: str  # interrupted, diverged, out_of_memory, bad_input, busy or crashed
    reason: str
    expected: bool  # the reason says it all; no traceback is needed


def classify(error: Exception) -> Failure:
    """The status and reason of an exception that ended a job."""
    text = " ".join(message_lines(error)) or type(error).__name__  # all of it, on one line
    if isinstance(error, Interrupted):
        return Failure("interrupted", text, expected=True)
    if isinstance(error, Diverged):
        return Failure("diverged", text, expected=True)
    if _out_of_memory(error):
        return Failure("out_of_memory", f"{text[:300]} (try a smaller train.batch_size or "
                       "eval.batch_size)", expected=True)
    if isinstance(error, Busy):  # before UserError: not this run's settings, not final
        return Failure("busy", text, expected=True)
    if isinstance(error, UserError):
        return Failure("bad_input", text, expected=True)
    return Failure("crashed", f"{type(error).__name__}: {text}", expected=False)


def _out_of_memory(error: Exception) -> bool:
    """Whether the device or the host ran out of memory (PyTorch reports the CPU's case as a
    plain RuntimeError)."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in text
                                                or "can't allocate memory" in text)


def prepared(cfg: DictConfig, hydra_cfg: DictConfig
             ) -> tuple[DictConfig, dict[str, HParam], dict[str, Any] | None]:
    """A job's config checked (one-line refusals), its hyper-parameters for TensorBoard, and,
    for `resume=RUN_DIR`, the run's own saved config in its place. In a continued sweep
    (`resume=SWEEP_DIR`) the job's directory decides (`job_plan`): a job that is done returns
    its metrics as the third item (None for every job that trains)."""
    check_config(cfg)
    hparams = hyperparameters(cfg, hydra_cfg.runtime.choices, hydra_cfg.overrides.task)
    if cfg.resume is None:
        return cfg, hparams, None
    resume = absolute(cfg.resume)
    if not is_sweep(resume):  # the run's own config, as it was saved
        return resumed_config(resume, hydra_cfg.overrides.task), hparams, None
    run_dir = Path(hydra_cfg.runtime.output_dir)
    plan, metrics = job_plan(run_dir, cfg.train.steps)
    if plan == "resume":
        changes = own_overrides(run_dir, list(hydra_cfg.overrides.task))
        return resumed_config(run_dir, changes), hparams, None
    if plan == "done" and metrics is not None:  # said: a sweep with nothing left shows it
        steps = "" if metrics.get("steps") is None else f" after {metrics['steps']} steps"
        on_console(f"not run again: this job has ended ({metrics.get('status')}{steps})")
    cfg.resume = None  # "start": a job that never began; "done": nothing to train
    return cfg, hparams, metrics


def record_failure(error: Exception, run_dir: Path, seconds: float, in_sweep: bool) -> Failure:
    """Write the failure into the job's metrics.json (what the sweep summary reads) and, in a
    sweep, into its log, where a crash keeps its traceback."""
    failure = classify(error)
    record = {"status": failure.status, "reason": failure.reason, "wall_seconds": seconds}
    path = run_dir / "metrics.json"
    existing = path.exists() or (run_dir / CHECKPOINT_NAME).exists()
    if keeps_record(failure.status, in_sweep, existing):
        with contextlib.suppress(OSError):  # an unwritable run directory may be the failure
            write_atomically(path, json.dumps(record, indent=2) + "\n")
    if in_sweep:
        log.error(f"job {failure.status}: {failure.reason}", exc_info=not failure.expected)
    return failure


def keeps_record(status: str, in_sweep: bool, existing: bool) -> bool:
    """Whether a failure goes into metrics.json. A refused single run leaves nothing (train.py
    removes its traces); a refused sweep job keeps its record for the summary unless it would
    overwrite a run's (a resume refused); a job refused because another process trains in its
    directory writes nothing there: the files are that process's."""
    if status == "busy":
        return False
    return status != "bad_input" or (in_sweep and not existing)


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


def jobs_in_sweep(sweep_dir: Path | None) -> int | None:
    """The number of jobs Hydra's basic sweeper runs, from the multirun.yaml it writes into the
    sweep directory before launching; None where it cannot tell (another sweeper: the Optuna
    search caps the jobs at once by its own n_jobs)."""
    path = None if sweep_dir is None else sweep_dir / "multirun.yaml"
    if path is None or not path.is_file():
        return None
    try:
        cfg = OmegaConf.load(path)
        if not str(OmegaConf.select(cfg, "hydra.sweeper._target_")).endswith(".BasicSweeper"):
            return None
        params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
        words = [*(f"{key}={value}" for key, value in params.items()),
                 *OmegaConf.select(cfg, "hydra.overrides.task", default=[])]
        parsed = OverridesParser.create().parse_overrides(words)
        last = {override.get_key_element(): override for override in parsed}  # the command wins
        count = 1
        for override in last.values():
            if override.is_sweep_override():
                count *= len(list(override.sweep_string_iterator()))
        return count
    except Exception:  # another sweeper's settings, or an unreadable file: no cap
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
