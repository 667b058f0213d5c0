"""`hydra/launcher=stacked`: a sweep's jobs that differ only in what each run of a stack may have
its own (seed, learning rates, betas: `gan.run.stacked.PER_RUN_SETTINGS`) train together in
this process as one stacked model (`gan.run.stacked`); every other job runs as an ordinary job.

Each job is still a Hydra job: its directory, its `.hydra` files and callbacks come from Hydra's
`run_job`, its files from the run, and the sweeper gets one return per job (its
`eval.objective`; NaN for a run that failed, as `train.py` returns in a sweep).

An option, not a default: per run a stack measured no faster than a single run on this 2-core
CPU (0.96-1.03x its time at K = 4, 16, 64: `bench/stacked.py`, docs/sweeps.md), so the study
presets use Hydra's basic launcher; on a GPU it is unmeasured.
"""

import logging
import math
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from gan.core.stacking.step import NotStackable
from gan.run.interrupts import Interrupted
from gan.run.job import claimed, record_failure
from gan.run.stacked import StackedJob, stack_key, train_stacked
from gan.sweep.job import prepared_in_sweep, stop_sweep
from gan.sweep.summary import summarise_after_job

log = logging.getLogger(__name__)


def enroll(cfg: DictConfig, writers: ExitStack) -> StackedJob | dict[str, Any]:
    """A job's task inside Hydra's `run_job`: its directory locked into `writers` (held until
    its stack has trained), then checked and prepared as `train.py` would, not yet trained (its
    stack trains once every job of it has enrolled); a continued sweep's job that is done gives
    its metrics instead. Raises UserError for a job `claimed` refuses, Busy where another
    process holds the directory too long."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    cfg, hparams, done = claimed(cfg, hydra_cfg, run_dir, writers, prepared_in_sweep)
    if done is not None:
        return done
    return StackedJob(cfg, run_dir, hparams, label=f"job {hydra_cfg.job.num}")


def stacks(configs: Sequence[DictConfig], max_stack: int) -> list[list[int]]:
    """The jobs by index in groups that train together, in order of their first job: those
    with one `stack_key`, at most `max_stack` to a group."""
    keyed: dict[str, list[int]] = {}
    for index, cfg in enumerate(configs):
        keyed.setdefault(stack_key(cfg), []).append(index)
    return [group[start:start + max_stack] for group in keyed.values()
            for start in range(0, len(group), max_stack)]


class StackedLauncher(Launcher):
    """Trains each batch of jobs from the sweeper in stacks of up to `max_stack` runs."""

    def __init__(self, max_stack: int = 16) -> None:
        if max_stack < 1:
            raise ValueError(f"hydra.launcher.max_stack must be >= 1, got {max_stack}")
        self.max_stack = max_stack
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        """Compose every job, group them, and train each group as one stack."""
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        configs = [self._job_config(overrides, initial_job_idx + index)
                   for index, overrides in enumerate(job_overrides)]
        groups = stacks(configs, self.max_stack)
        log.info(f"Launching {len(configs)} jobs in {len(groups)} stacks of "
                 f"{', '.join(str(len(group)) for group in groups)}")
        returns: list[JobReturn | None] = [None] * len(configs)
        for group in groups:
            for index, job_return in zip(group, self._group([configs[i] for i in group]),
                                         strict=True):
                returns[index] = job_return
        return returns

    def _job_config(self, overrides: Sequence[str], number: int) -> DictConfig:
        """One job's composed config with its number, as Hydra's basic launcher makes it."""
        log.info(f"\t#{number} : {' '.join(filter_overrides(overrides))}")
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = cfg.hydra.job.num = number
        return cfg

    def _run(self, cfg: DictConfig, task: TaskFunction) -> JobReturn:
        """Hydra's own `run_job` for one job (its directory, .hydra files, logs, callbacks)."""
        job_return = run_job(hydra_context=self.hydra_context, task_function=task, config=cfg,
                             job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return job_return

    def _group(self, configs: list[DictConfig]) -> list[JobReturn]:
        """One stack's jobs: a single one runs as an ordinary job, and so does every job of a
        stack that cannot train together (the reason logged). Each job's directory is this
        process's from its enrolment until the group is done; one held by another process is
        refused (busy) and the others train. The sweep's summary follows the group's records,
        however it ended (stopped by a signal too: the sweep then exits); a single job's
        process (`train.py`) writes its own."""
        if len(configs) == 1:
            return [self._run(configs[0], self.task_function)]
        with ExitStack() as writers:
            try:
                return self._enrolled(configs, writers)
            finally:
                summarise_after_job(Path(str(self.config.hydra.sweep.dir)).resolve(),
                                    str(configs[0].eval.objective))

    def _enrolled(self, configs: list[DictConfig], writers: ExitStack) -> list[JobReturn]:
        """`_group`'s work while `writers` holds the jobs' directories."""
        enrolled = [self._run(cfg, lambda cfg: enroll(cfg, writers)) for cfg in configs]
        ready = [r for r in enrolled if r.status == JobStatus.COMPLETED
                 and isinstance(r.return_value, StackedJob)]
        for job_return, cfg in zip(enrolled, configs, strict=True):
            if job_return.status != JobStatus.COMPLETED:  # refused: recorded as train.py does
                _failed(job_return, refusal(job_return), 0.0)
            elif isinstance(job_return.return_value, dict):  # done in an earlier sweep
                job_return.return_value = job_return.return_value.get(cfg.eval.objective)
        try:
            self._train([r.return_value for r in ready], ready)
        except NotStackable as reason:
            log.warning(f"these {len(ready)} jobs run one by one: {reason}")
            # Only those that enrolled: a refused job's failure is recorded (rerun, it would
            # find its own metrics.json and stop the sweep), and a done one's is kept.
            alone = {id(r) for r in ready}
            return [self._run(cfg, self.task_function) if id(r) in alone else r
                    for r, cfg in zip(enrolled, configs, strict=True)]
        return enrolled

    def _train(self, jobs: list[StackedJob], returns: list[JobReturn]) -> None:
        """Train the stack; each job's return is its objective, or NaN where its run failed."""
        started = time.perf_counter()
        if not jobs:
            return
        try:
            results: list[Any] = train_stacked(jobs)
        except NotStackable:
            raise
        except Interrupted as stop:  # the signal was meant for the whole sweep
            for job, job_return in zip(jobs, returns, strict=True):
                _failed(job_return, stop, time.perf_counter() - started, job.run_dir)
            stop_sweep(stop, None, Path(str(self.config.hydra.sweep.dir)).resolve())
        except Exception as error:  # noqa: BLE001 (every run of the stack ends with it)
            results = [error] * len(jobs)
        for job, job_return, result in zip(jobs, returns, results, strict=True):
            if isinstance(result, Exception):
                _failed(job_return, result, time.perf_counter() - started, job.run_dir)
            else:
                job_return.return_value = result.get(job.cfg.eval.objective)


def refusal(job_return: JobReturn) -> BaseException:
    """What a failed job raised. Hydra's `JobReturn.return_value` raises it again instead (so
    one refused job would end the whole sweep); the field behind it holds it."""
    return job_return._return_value  # noqa: SLF001


def _failed(job_return: JobReturn, error: BaseException, seconds: float,
            run_dir: Path | None = None) -> None:
    """Record a job's failure in its metrics.json; the sweeper gets NaN, a failed trial."""
    run_dir = run_dir or Path(job_return.hydra_cfg.hydra.runtime.output_dir)
    if isinstance(error, Exception):
        record_failure(error, run_dir, seconds, in_sweep=True)
    job_return.return_value = math.nan
    job_return.status = JobStatus.COMPLETED
