"""K runs of one set-up trained together in one process as one stacked step
(`gan.core.stacking`), each still a run: its own directory with what a single run leaves there
(config.yaml, train.log, TensorBoard events, sample grids, final digits, metrics.json and a
checkpoint that `gan.sample`, `gan.evaluate` and `resume=` read as a single run's).

Each run is built as its single run would be, from its own seed, and draws its data order,
noise and every other random number from its own stream (`RunRandom`), in the order its single
run would: K stacked runs reproduce K single runs to float rounding. A run that diverges is
recorded as diverged and stops updating; the others go on.
"""

import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from gan.core.noise import UniformNoise
from gan.core.records import StepOutput
from gan.core.stacking.step import NotStackable, RunRandom, stack
from gan.core.step import AdversarialStep
from gan.run.acceleration import configure_process
from gan.run.build import build_source
from gan.run.checkpoint import RESUME_KEYS, read_checkpoint
from gan.run.clock import Clock
from gan.run.config import EvalConfig, TrainConfig
from gan.run.data import DeviceBatcher, check_batch_size
from gan.run.device import resolve_device
from gan.run.directory import CHECKPOINT_NAME
from gan.run.divergence import Diverged
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.files import write_atomically
from gan.run.interrupts import Interrupted, InterruptWatch
from gan.run.job import sole_writer
from gan.run.loop import (
    Recorder,
    TrainingSetup,
    build_evaluation,
    build_setup,
    completed,
    continued,
    finish,
    settle,
)
from gan.run.machine import computed_on
from gan.run.monitor import HParam, Monitor

FILE_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's train.log lines
# What may differ between the runs of one stack: each run's seed, and its optimizer's settings
# (each run's own optimizer updates its slice); `resume` (each its own directory) and
# `eval.objective` (what a job returns) change no computation; each remedy adds its own
# (`Remedy.per_run`, see `per_run_settings`). Anything else must be equal.
PER_RUN_SETTINGS = ("train.seed", "lr.generator", "lr.discriminator", "optimizer.lr",
                    "optimizer.betas", "optimizer.eps", "optimizer.weight_decay",
                    "optimizer.momentum", "resume", "eval.objective")


def per_run_settings(cfg: DictConfig) -> list[str]:
    """`PER_RUN_SETTINGS` and the selected remedies' own (`Remedy.per_run`: a penalty's weight,
    EMA's decay, ...), as config keys."""
    keys = list(PER_RUN_SETTINGS)
    for name, node in (OmegaConf.select(cfg, "remedy", default=None) or {}).items():
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        remedy = get_object(target) if target else None
        keys += [f"remedy.{name}.{setting}" for setting in getattr(remedy, "per_run", ())]
    return keys


def stack_key(cfg: DictConfig) -> str:
    """What a run shares with the others of its stack: its config, resolved, without the
    settings each run may have its own (`per_run_settings`) and without Hydra's node."""
    task = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    shared = OmegaConf.to_container(task, resolve=True)
    for key in per_run_settings(cfg):
        *path, leaf = key.split(".")
        node = shared
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return OmegaConf.to_yaml(OmegaConf.create(shared), sort_keys=True)


@dataclass
class StackedJob:
    """One run of a stack: its composed config (a resume's already applied), its directory,
    its hyper-parameters for TensorBoard, and the label its console lines carry."""

    cfg: DictConfig
    run_dir: Path
    hparams: dict[str, HParam] = field(default_factory=dict)
    label: str = "run"


@dataclass
class Member:
    """A run while it trains in the stack."""

    job: StackedJob
    settings: TrainConfig
    setup: TrainingSetup
    batcher: DeviceBatcher
    noise: UniformNoise
    clock: Clock
    logger: logging.Logger
    evaluation: Evaluation | NoEvaluation
    start: int
    fixed_z: torch.Tensor
    resumed: bool
    events: list = field(default_factory=list)
    failure: Exception | None = None


def run_logger(job: StackedJob) -> logging.Logger:
    """The run's own logger: its train.log, and the console with its label in front."""
    logger = logging.getLogger(f"{__name__}.{job.label.replace(' ', '_')}")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False  # not into another run's train.log through the root's handlers
    file = logging.FileHandler(job.run_dir / "train.log")
    file.setFormatter(logging.Formatter(FILE_FORMAT))
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(f"[{job.label}] %(message)s"))
    logger.addHandler(file)
    logger.addHandler(console)
    return logger


def join(job: StackedJob, k: int, random: RunRandom, images: torch.Tensor, device: torch.device,
         threads: int, started: float, shared: Evaluation | NoEvaluation | None) -> Member:
    """Build run k as its single run would (`gan.run.loop.run`, `gan.run.loop.train`), in
    the same order of random draws, from its own stream."""
    settings, evaluation_settings = settle(job.cfg, job.run_dir, threads)
    logger, clock = run_logger(job), Clock(started)
    with random.run(k):
        torch.manual_seed(settings.seed)
        checkpoint = (None if job.cfg.get("resume") is None else read_checkpoint(
            Path(job.cfg.resume) / CHECKPOINT_NAME, device, RESUME_KEYS))
        setup = build_setup(job.cfg, device, images, cuda_graph=False)
        adversarial = setup.adversarial
        check_batch_size(settings.batch_size * adversarial.real_batches, len(images))
        logger.info(f"Run directory: {job.run_dir}")
        evaluation = evaluation_of(job.cfg, evaluation_settings, setup, shared)
        write_atomically(job.run_dir / "config.yaml", OmegaConf.to_yaml(job.cfg, resolve=True))
        batcher = DeviceBatcher(images, settings.batch_size * adversarial.real_batches)
        noise = UniformNoise(settings.batch_size * adversarial.noise_batches,
                             setup.generator.noise_dim, device)
        start, fixed_z = continued(setup, batcher, checkpoint, settings, clock, evaluation,
                                   logger)
    return Member(job, settings, setup, batcher, noise, clock, logger, evaluation, start,
                  fixed_z, checkpoint is not None)


def evaluation_of(cfg: DictConfig, settings: EvalConfig, setup: TrainingSetup,
                  shared: Evaluation | NoEvaluation | None) -> Evaluation | NoEvaluation:
    """The run's scoring: the first run's classifier, noise and real reference, shared (the
    runs' evaluation settings are the same), with its own record of scores."""
    if shared is None:
        return build_evaluation(cfg, settings, setup)
    return shared.fresh()


def train_stacked(jobs: Sequence[StackedJob], threads: int = 0) -> list[dict[str, Any] | Exception]:
    """Train the jobs' runs as one stack; returns each run's metrics, or the error that ended
    it (Diverged). Raises NotStackable (one line) where their set-ups cannot stack, before any
    step; Interrupted after every run has checkpointed on SIGINT or SIGTERM."""
    started = time.perf_counter()
    first = jobs[0].cfg.train
    configure_process(threads if threads and not first.threads else first.threads)
    device = resolve_device(first.device)
    images = build_source(jobs[0].cfg.dataset).images(device)
    random = RunRandom(len(jobs), device)
    members: list[Member] = []
    with ExitStack() as writers:  # each run directory's only writer (gan.run.job)
        try:
            for k, job in enumerate(jobs):
                writers.enter_context(sole_writer(job.run_dir))
                members.append(join(job, k, random, images, device, threads, started,
                                    members[0].evaluation if members else None))
            stacked = stacked_step(members, random)
            real, z = train_together(members, stacked, random)
            return [member.failure or end(member, k, random, real[k], z[k])
                    for k, member in enumerate(members)]
        finally:
            close_logs(members)


def close_logs(members: list[Member]) -> None:
    """Close each run's train.log."""
    for member in members:
        for handler in list(member.logger.handlers):
            member.logger.removeHandler(handler)
            handler.close()


def stacked_step(members: list[Member], random: RunRandom) -> AdversarialStep:
    """The runs' steps as one (a resumed run's own optimizer holds its saved state). Raises
    NotStackable where they cannot stack."""
    if len({member.start for member in members}) > 1:
        raise NotStackable("stacked runs must resume from one step; these were at steps "
                           f"{sorted({member.start for member in members})}")
    return stack([member.setup.adversarial for member in members], random)


class StackedRecorder(Recorder):
    """A run's recorder in a stack: its checkpoint holds the run's own random stream (its
    optimizer holds its own state already), so it is a single run's checkpoint."""

    def __init__(self, *args: Any, k: int, random: RunRandom, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.k, self.random = k, random

    def checkpoint(self, step: int, output: StepOutput) -> None:
        with self.random.run(self.k):  # the run's own random state goes into its checkpoint
            super().checkpoint(step, output)


def run_slice(output: StepOutput, k: int) -> StepOutput:
    """Run k's part of a stacked step's output."""
    return StepOutput(output.g_loss[k], output.d_loss[k], output.g_adversarial[k],
                      output.d_adversarial[k], output.real_logits[k], output.fake_logits[k],
                      {name: value[k] for name, value in output.terms.items()})


def train_together(members: list[Member], stacked: AdversarialStep, random: RunRandom
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The loop of `gan.run.loop.train`, for every run at once: one stacked step, then each
    run's events on its slice; returns the last batch and noise (the final losses' inputs)."""
    settings, start = members[0].settings, members[0].start
    with ExitStack() as context:
        interrupts = context.enter_context(InterruptWatch())
        for k, member in enumerate(members):
            monitor = context.enter_context(Monitor(member.job.run_dir, settings.steps, start,
                                                    logger=member.logger))
            monitor.hyperparameters(member.job.hparams, new_session=not member.resumed)
            recorder = StackedRecorder(member.setup, member.batcher, monitor, member.job.run_dir,
                                       member.fixed_z, member.evaluation, interrupts,
                                       member.clock, k=k, random=random)
            member.events = recorder.events(settings)
            member.clock.start_loop()
        for step in range(start, settings.steps):
            real, z = draw(members, random)  # (K, B, C, H, W), (K, B, noise_dim)
            output = stacked(real, z)
            stopped = [after_step(member, k, step, output, stacked) for k, member in
                       enumerate(members) if member.failure is None]
            if any(stopped):
                raise next(stop for stop in stopped if stop)
    for member in members:
        member.clock.stop_loop()
    return real, z


def draw(members: list[Member], random: RunRandom) -> tuple[torch.Tensor, torch.Tensor]:
    """Each run's batch and noise, from its own stream, stacked."""
    reals, zs = [], []
    for k, member in enumerate(members):
        with random.run(k):
            reals.append(member.batcher.next())
            zs.append(member.noise.next())
    return torch.stack(reals), torch.stack(zs)


def after_step(member: Member, k: int, step: int, output: StepOutput,
               stacked: AdversarialStep) -> Interrupted | None:
    """Run k's events on its slice; a divergence ends run k alone (its slice stops updating),
    an interrupt is returned once the run has checkpointed."""
    last = step == member.settings.steps - 1
    try:
        for event in member.events:
            event(step, run_slice(output, k), last=last)
    except Diverged as error:
        member.failure = error
        member.logger.error(f"run diverged: {error}")
        stacked.g_optimizer.stop_run(k)
        stacked.d_optimizer.stop_run(k)
    except Interrupted as stop:
        return stop
    return None


def end(member: Member, k: int, random: RunRandom, real: torch.Tensor,
        z: torch.Tensor) -> dict[str, Any]:
    """Run k's final losses on its last batch (B, C, H, W) and noise, its digits (from its
    stream), and its metrics.json."""
    with random.run(k):
        final = finish(member.setup, real, z, member.job.run_dir, member.logger)
    return completed(final, member.settings, member.clock, member.start, member.evaluation,
                     member.job.run_dir, member.logger, **computed_on(member.setup.device),
                     stacked_runs=random.runs)
