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

from gan.core.objective import Labels
from gan.core.stacking.step import NotStackable, RunRandom, stack
from gan.core.step import AdversarialStep, StepOutput
from gan.run.acceleration import configure_process, resolve_device
from gan.run.build import build_conditioning, build_source
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.job import sole_writer
from gan.run.loop import Recorder, Running, begin, ended, prepare, settle, train_runs
from gan.run.monitor import HParam

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


def join(job: StackedJob, k: int, random: RunRandom,
         data: tuple[torch.Tensor, torch.Tensor | None], device: torch.device, threads: int,
         started: float, shared: Evaluation | NoEvaluation | None) -> Running:
    """Run k, built as its single run would be (`gan.run.loop.run`: `settle`, `prepare`,
    `begin`), in the same order of random draws, from its own stream, and eager (its step is
    one of the stack's); `shared`: the first run's evaluation, whose classifier and references
    the others use (the runs' evaluation settings are the same); `data`: the images all runs
    share and, for conditional runs, their labels."""
    settings, evaluation_settings = settle(job.cfg, job.run_dir, threads)
    logger = run_logger(job)
    with random.run(k):
        torch.manual_seed(settings.seed)
        setup, evaluation, checkpoint = prepare(job.cfg, job.run_dir, settings,
                                                evaluation_settings, device, data[0],
                                                cuda_graph=False, shared=shared, logger=logger,
                                                labels=data[1])
        return begin(setup, settings, job.run_dir, started, evaluation, job.hparams, checkpoint,
                     logger)


def train_stacked(jobs: Sequence[StackedJob], threads: int = 0) -> list[dict[str, Any] | Exception]:
    """Train the jobs' runs as one stack; returns each run's metrics, or the error that ended
    it (Diverged). Raises NotStackable (one line) where their set-ups cannot stack, before any
    step; Interrupted after every run has checkpointed on SIGINT or SIGTERM."""
    started = time.perf_counter()
    first = jobs[0].cfg.train
    configure_process(threads if threads and not first.threads else first.threads)
    device = resolve_device(first.device)
    data = shared_data(jobs[0].cfg, device)  # one copy for all the runs
    random = RunRandom(len(jobs), device)
    runs: list[Running] = []
    with ExitStack() as writers:  # each run directory's only writer (gan.run.job)
        try:
            for k, job in enumerate(jobs):
                writers.enter_context(sole_writer(job.run_dir))
                runs.append(join(job, k, random, data, device, threads, started,
                                 runs[0].evaluation if runs else None))
            stacked = stacked_step(runs, random)
            real, z, labels = train_runs(
                runs, stacked, lambda: draw(runs, random),
                recorder=lambda running, interrupts, k: StackedRecorder(
                    running.setup, running.batcher, running.monitor, running.run_dir,
                    running.fixed_z, running.evaluation, interrupts, running.clock, k=k,
                    random=random),
                part=run_slice, stop_run=lambda k: stop_run(stacked, k))
            return [running.failure or end(running, k, random, real[k], z[k],
                                           None if labels is None
                                           else Labels(labels.real[k], labels.fake[k]))
                    for k, running in enumerate(runs)]
        finally:
            close_logs(runs)


def close_logs(runs: list[Running]) -> None:
    """Close each run's train.log."""
    for running in runs:
        for handler in list(running.log.handlers):
            running.log.removeHandler(handler)
            handler.close()


def stacked_step(runs: list[Running], random: RunRandom) -> AdversarialStep:
    """The runs' steps as one (a resumed run's own optimizer holds its saved state). Raises
    NotStackable where they cannot stack."""
    if len({running.start for running in runs}) > 1:
        raise NotStackable("stacked runs must resume from one step; these were at steps "
                           f"{sorted({running.start for running in runs})}")
    return stack([running.setup.adversarial for running in runs], random)


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


def draw(runs: list[Running], random: RunRandom
         ) -> tuple[torch.Tensor, torch.Tensor, Labels | None]:
    """Each run's batch and noise (and a conditional run's labels), from its own stream,
    stacked: (K, B, C, H, W), (K, B, noise_dim) and (K, B)."""
    reals, zs, labels = [], [], []
    for k, running in enumerate(runs):
        with random.run(k):
            real, z, run_labels = running.draw()
            reals.append(real)
            zs.append(z)
            labels.append(run_labels)
    if labels[0] is None:
        return torch.stack(reals), torch.stack(zs), None
    return (torch.stack(reals), torch.stack(zs),
            Labels(torch.stack([run.real for run in labels]),
                   torch.stack([run.fake for run in labels])))


def shared_data(cfg: DictConfig, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The training images every run of the stack reads, and their labels where the runs are
    conditional (None: they are not)."""
    source = build_source(cfg.dataset)
    if build_conditioning(cfg) is None:
        return source.images(device), None
    return source.labelled(device)


def stop_run(stacked: AdversarialStep, k: int) -> None:
    """Run k (diverged) updates no more: its learning rates go to 0; the others go on."""
    stacked.g_optimizer.stop_run(k)
    stacked.d_optimizer.stop_run(k)


def end(running: Running, k: int, random: RunRandom, real: torch.Tensor,
        z: torch.Tensor, labels: Labels | None = None) -> dict[str, Any]:
    """Run k's ending (`gan.run.loop.ended`) on its last batch (B, C, H, W), noise and labels,
    its digits drawn from its own stream; its metrics say how many runs trained together."""
    with random.run(k):
        return ended(running, real, z, labels, stacked_runs=random.runs)
