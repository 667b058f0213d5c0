"""One training run, top to bottom: from its config to the objects it trains (`run`, with
`gan.run.build`), the loop (`train`; `train_runs`, the one loop, trains a stack of runs
too: `gan.run.stacked`), what it leaves in its directory at its intervals while it
trains (`Recorder`: scalars, console lines, sample grids, checkpoints, evaluations, with the
divergence guard and the interrupt check, when `gan.run.schedule` says), and its final
results (`finish`, `completed`).

A run's directory is locked by its job (`gan.run.job`) before `run` reads it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from gan.core.conditioning import (
    Conditioning,
    LabelDraw,
    balanced_labels,
    class_grid,
    grid_labels,
    grid_rows,
)
from gan.core.networks import Generator, UniformNoise, generate, uniform_noise
from gan.core.objective import Labels
from gan.core.step import AdversarialStep, StepOutput
from gan.metrics.evaluator import evaluation_noise
from gan.run.acceleration import CudaGraphStep, configure_process, resolve_device, threads_for_now
from gan.run.build import build_source, build_step, check_shapes, conditioning_of
from gan.run.checkpoint import (
    BEST_NAME,
    RESUME_KEYS,
    best_state,
    checkpoint_state,
    read_checkpoint,
    restore,
    save_checkpoint,
)
from gan.run.clock import Clock
from gan.run.config import EvalConfig, TrainConfig, absolute
from gan.run.data import Batcher, Source, check_batch_size
from gan.run.directory import CHECKPOINT_NAME
from gan.run.divergence import Diverged, DivergenceGuard
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.files import write_atomically
from gan.run.interrupts import Interrupted, InterruptWatch
from gan.run.machine import computed_on, described
from gan.run.monitor import HParam, Monitor, hyperparameters
from gan.run.pictures import save_picture
from gan.run.schedule import BeforeAny, Event, Periodic

log = logging.getLogger(__name__)


@dataclass
class TrainingSetup:
    """The adversarial step (both networks, their optimizers, the objective), the training
    images and the generator samples come from."""

    adversarial: AdversarialStep | CudaGraphStep
    images: torch.Tensor  # the source's data (N, C, H, W) in [0, 1] or (N, 2), on the device
    source: Source  # the dataset: its batches, real reference, scorer and pictures
    sampler: Generator | None = None  # a weight average (the ema remedy) to sample from
    conditioning: Conditioning | None = None  # a conditional run's (its G takes labels)
    labels: torch.Tensor | None = None  # the training images' labels (N,), a conditional run's

    @property
    def classes(self) -> int:
        """How many classes a conditional run's generator is asked for; 0: unconditional."""
        return 0 if self.conditioning is None else self.source.classes

    @property
    def generator(self) -> Generator:
        """The generator that samples and metrics come from: the average, else the trained."""
        return self.sampler if self.sampler is not None else self.adversarial.generator

    def before_sampling(self) -> None:
        """Bring `generator` up to date before it is read (the ema remedy's batch-norm
        statistics, measured for its averaged weights)."""
        for remedy in self.adversarial.remedies:
            remedy.before_sampling()

    @property
    def device(self) -> torch.device:
        """Where the data and the networks live."""
        return self.images.device


def train_settings(cfg: DictConfig) -> TrainConfig:
    """The typed loop settings; `TrainConfig.__post_init__` refuses impossible values."""
    return OmegaConf.to_object(cfg.train)


def eval_settings(cfg: DictConfig) -> EvalConfig:
    """The typed evaluation settings, checked the same way."""
    return OmegaConf.to_object(cfg.eval)


def build_setup(cfg: DictConfig, device: torch.device, images: torch.Tensor | None = None,
                cuda_graph: bool = True, labels: torch.Tensor | None = None) -> TrainingSetup:
    """The step (see `gan.run.build.build_step`) and the device-resident training images and,
    for a conditional run, their labels (those given: stacked runs share one copy);
    `cuda_graph` false keeps the step eager."""
    cuda_graph = cuda_graph and train_settings(cfg).cuda_graph
    source = build_source(cfg.dataset)
    check_shapes(cfg, source)  # before anything is built or loaded: one line, not a traceback
    adversarial = build_step(cfg, device, cuda_graph=cuda_graph)
    sampler = next((s for r in adversarial.remedies if (s := r.sampler()) is not None), None)
    conditioning = conditioning_of(adversarial)
    if images is None and conditioning is not None:
        images, labels = source.labelled(device)
    elif images is None:
        images = source.images(device)
    return TrainingSetup(adversarial=adversarial, images=images, source=source, sampler=sampler,
                         conditioning=conditioning, labels=labels)


def settle(cfg: DictConfig, run_dir: Path, threads: int) -> tuple[TrainConfig, EvalConfig]:
    """The typed settings; the run directory made; where `train.threads` is 0, a launcher's
    share of the cores or as many as other work leaves free (`threads_for_now`), and the
    absolute data root, written into cfg, as config.yaml keeps them for `gan.evaluate` and
    resume."""
    settings, evaluation_settings = train_settings(cfg), eval_settings(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not settings.threads:  # saved, so a resume computes with as many (rounding)
        # A launcher's share of the cores, else as many as other work leaves free now.
        cfg.train.threads = settings.threads = threads or threads_for_now()
    # The data root the user meant, wherever the job runs (hydra.job.chdir).
    if "root" in cfg.dataset:  # a dataset read from disk (the 2D mixtures are drawn)
        cfg.dataset.root = str(absolute(cfg.dataset.root))
    return settings, evaluation_settings


def build_evaluation(cfg: DictConfig, settings: EvalConfig,
                     setup: TrainingSetup) -> Evaluation | NoEvaluation:
    """Scoring during training, or none when `eval.every=0` turns it off (a search that needs
    a score from every trial refuses that before its first: `EvalConfig.unreachable_objective`)."""
    if settings.every == 0:
        return NoEvaluation()
    started = time.perf_counter()
    device, source = setup.device, setup.source
    evaluator = source.scorer(device, settings.batch_size, settings.seed)
    z = evaluation_noise(settings.n, setup.generator.noise_dim, settings.seed, device,
                         setup.generator.prior)
    # A conditional generator is asked for every class equally often.
    labels = balanced_labels(settings.n, setup.classes, device) if setup.classes else None
    if labels is None:
        real = evaluator.score(source.real(setup.images, settings.n, settings.seed))
    else:  # the reference of a conditional run: real images requested as their own labels
        real = evaluator.score_conditional(*source.real_labelled(setup.images, setup.labels,
                                                                 settings.n, settings.seed))
    return Evaluation(evaluator, z, real, settings.every, time.perf_counter() - started,
                      objective=settings.objective, labels=labels)


def run(cfg: DictConfig, run_dir: Path, threads: int = 0,
        hparams: dict[str, HParam] | None = None) -> dict[str, Any]:
    """Settings, seed, objects, then the training loop into run_dir; returns the metrics.
    `threads` applies where `train.threads` is 0 (a launcher's share of the cores); `hparams`
    default to `hyperparameters(cfg)`. The caller holds run_dir's lock (`gan.run.job`): the
    checkpoint read is the last writer's, complete."""
    started = time.perf_counter()
    settings, evaluation_settings = settle(cfg, run_dir, threads)
    torch.manual_seed(settings.seed)
    configure_process(settings.threads)  # process-wide: this process is the run
    device = resolve_device(settings.device)
    setup, evaluation, checkpoint = prepare(cfg, run_dir, settings, evaluation_settings, device)
    return train(setup, settings, run_dir, started, evaluation,
                 hyperparameters(cfg) if hparams is None else hparams, checkpoint)


def prepare(cfg: DictConfig, run_dir: Path, settings: TrainConfig,
            evaluation_settings: EvalConfig, device: torch.device,
            images: torch.Tensor | None = None, cuda_graph: bool = True,
            shared: Evaluation | NoEvaluation | None = None, logger: logging.Logger = log,
            labels: torch.Tensor | None = None
            ) -> tuple[TrainingSetup, Evaluation | NoEvaluation, dict[str, Any] | None]:
    """A settled run's objects, in the order of its random draws: the checkpoint it continues
    (`resume`, else None), its set-up (`build_setup`: `images`, `cuda_graph` and `labels` as
    there), its evaluation (`shared`'s classifier and references with a record of its own,
    where a stack's first run built them; else `build_evaluation`); then its config.yaml.
    Raises UserError for a batch larger than the data."""
    checkpoint = (None if cfg.get("resume") is None else  # continue it (gan.run.saved)
                  read_checkpoint(Path(cfg.resume) / CHECKPOINT_NAME, device, RESUME_KEYS))
    setup = build_setup(cfg, device, images, cuda_graph, labels)
    check_batch_size(settings.batch_size * setup.adversarial.real_batches, len(setup.images))
    logger.info(f"Run directory: {run_dir}")  # once the data is found and the networks built
    evaluation = (build_evaluation(cfg, evaluation_settings, setup) if shared is None
                  else shared.fresh())
    # The config with every interpolation (data root, ...) resolved, beside Hydra's raw copy,
    # written once the run can start (a refused one leaves an existing run's as it was).
    write_atomically(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    return setup, evaluation, checkpoint


log = logging.getLogger(__name__)


def finish(setup: TrainingSetup, real: torch.Tensor, z: torch.Tensor,
           run_dir: Path, logger: logging.Logger = log,
           labels: Labels | None = None) -> dict[str, float]:
    """The seed's ending: the losses on the last batch after the last update (adversarial as
    "generator" and "discriminator", then each term), and samples from fresh noise (ten digits;
    the source's `final_samples`; a conditional run's ask for classes spread evenly,
    `balanced_labels`: 0, 1, 2, ... on MNIST, 000, 010, ..., 990 on Stacked MNIST) in
    samples/final/."""
    final = setup.adversarial.losses(real, z, labels)
    logger.info(f"Final: {loss_line(final)}")
    setup.before_sampling()
    generator, source = setup.generator, setup.source
    z_final = uniform_noise(source.final_samples, generator.noise_dim, setup.device,
                            generator.prior)
    asked = (balanced_labels(source.final_samples, setup.classes, setup.device)
             if setup.classes else None)
    source.save_final(generate(generator, z_final, asked), run_dir / "samples" / "final")
    return final


def timings(clock: Clock, steps: int, start: int) -> dict[str, Any]:
    """The whole run's wall and loop seconds and its `parts` (`Clock.whole`), this part's again
    as `last_part` (from step `start`), and this part's loop speed over its `steps` steps."""
    whole = clock.whole()
    part = whole["parts"][-1]  # this part, timed with the whole at one instant
    return whole | {"steps_per_second": steps / part["loop_seconds"],
                    "last_part": {"from_step": start, "wall_seconds": part["wall_seconds"],
                                  "loop_seconds": part["loop_seconds"]}}


def continued(setup: TrainingSetup, batcher: Batcher, checkpoint: dict[str, Any] | None,
              settings: TrainConfig, clock: Clock, evaluation: Evaluation | NoEvaluation,
              logger: logging.Logger = log) -> tuple[int, torch.Tensor]:
    """Where the run starts, and the fixed noise behind its grids (n_samples, noise_dim): step
    0 and a fresh draw, or a checkpoint put back (its time so far goes into the clock, its time
    evaluating into the evaluation's). Says first what this part computes on, so train.log
    keeps each part's (what a rerun must match), and the clock records it with the part."""
    on = computed_on(setup.device)
    logger.info(f"computing on {described(on)}")
    fixed_z = grid_noise(setup, settings.n_samples)
    if checkpoint is None:
        clock.begin_part(0, on["device"], on["threads"])
        return 0, fixed_z
    start, fixed_z = restore(setup.adversarial, setup.sampler, batcher, checkpoint,
                             settings.steps)
    clock.resume(checkpoint.get("seconds", {}))
    clock.begin_part(start, on["device"], on["threads"])
    evaluation.resume(checkpoint.get("seconds", {}))
    evaluation.load_state_dict(checkpoint.get("evaluation", {}))
    logger.info(f"resuming from step {start} of {settings.steps}")
    return start, fixed_z


def grid_noise(setup: TrainingSetup, n_samples: int) -> torch.Tensor:
    """The fixed noise behind a run's grids (n_samples, noise_dim); a conditional run's is a
    class grid's (`class_grid`: one row per class shown, n_samples // rows columns, one z per
    column)."""
    generator, classes = setup.generator, setup.classes
    columns = max(1, n_samples // grid_rows(classes)) if classes else n_samples
    z = uniform_noise(columns, generator.noise_dim, setup.device, generator.prior)
    return class_grid(z, classes)[0] if classes else z


@dataclass
class Running:
    """A run while it trains: its set-up, settings and directory, what feeds it (batches and
    noise), its clock and evaluation, the step it starts from, its grids' fixed noise, and, once
    the loop opens them, its monitor and events. A single run trains one; a stack
    (`gan.run.stacked`) several, through the same loop (`train_runs`)."""

    setup: TrainingSetup
    settings: TrainConfig
    run_dir: Path
    batcher: Batcher
    noise: UniformNoise
    clock: Clock
    evaluation: Evaluation | NoEvaluation
    start: int
    fixed_z: torch.Tensor  # (n_samples, noise_dim)
    resumed: bool
    hyperparameters: dict[str, HParam] = field(default_factory=dict)
    # A stacked run's own logger (its train.log, its label, no progress bar); None: this
    # module's, with a progress bar on a terminal.
    logger: logging.Logger | None = None
    monitor: Monitor | None = None
    events: list[Event] = field(default_factory=list)
    failure: Exception | None = None  # a stacked run that diverged; the others go on
    label_draw: LabelDraw | None = None  # the classes asked of a conditional run's generator

    @property
    def log(self) -> logging.Logger:
        """Where its lines go."""
        return self.logger or log

    def draw(self) -> tuple[torch.Tensor, torch.Tensor, Labels | None]:
        """Its next batch (B, C, H, W) and noise (B, noise_dim), and a conditional run's labels
        of each (B,) (None: unconditional)."""
        if self.label_draw is None:
            return self.batcher.next(), self.noise.next(), None
        real, real_labels = self.batcher.next_labelled()
        return real, self.noise.next(), Labels(real_labels, self.label_draw.next())


def begin(setup: TrainingSetup, settings: TrainConfig, run_dir: Path, started: float,
          evaluation: Evaluation | NoEvaluation, hyperparameters: dict[str, HParam],
          checkpoint: dict[str, Any] | None, logger: logging.Logger | None = None) -> Running:
    """The run about to train: its clock from `started` (`time.perf_counter()`), its batches
    and noise, and where it starts (`continued`: step 0, or `checkpoint` put back)."""
    clock = Clock(started)
    adversarial = setup.adversarial  # a call may take several batches (the balance remedy)
    batcher = setup.source.batcher(setup.images, settings.batch_size * adversarial.real_batches,
                                   setup.labels)
    noise = UniformNoise(settings.batch_size * adversarial.noise_batches,
                         setup.generator.noise_dim, setup.device, setup.generator.prior)
    start, fixed_z = continued(setup, batcher, checkpoint, settings, clock, evaluation,
                               logger or log)
    return Running(setup, settings, run_dir, batcher, noise, clock, evaluation, start, fixed_z,
                   checkpoint is not None, hyperparameters, logger,
                   label_draw=label_draw(setup, settings.batch_size * adversarial.noise_batches))


def label_draw(setup: TrainingSetup, batch_size: int) -> LabelDraw | None:
    """What asks a conditional run's generator for classes: uniformly, or as often as the
    training labels have them (`conditioning.labels=data`); None: unconditional."""
    if setup.conditioning is None or setup.labels is None:
        return None
    frequencies = (setup.source.label_frequencies(setup.labels)
                   if setup.conditioning.labels == "data" else None)
    return LabelDraw(batch_size, setup.classes, setup.device, frequencies)


def train(setup: TrainingSetup, settings: TrainConfig, run_dir: Path,
          started: float | None = None, evaluation: Evaluation | NoEvaluation | None = None,
          hyperparameters: dict[str, HParam] | None = None,
          checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train up to `settings.steps` steps, fill `run_dir`, and return the final metrics.

    `started` is the `time.perf_counter()` at which the run began (set-up included); default now.
    `evaluation`, when given, scores the generator at its interval and after the last step.
    `hyperparameters` are recorded for TensorBoard's HParams dashboard.
    `checkpoint`, a run's saved state, continues that run exactly where it was written.
    """
    running = begin(setup, settings, run_dir,
                    time.perf_counter() if started is None else started,
                    evaluation or NoEvaluation(), hyperparameters or {}, checkpoint)
    real, z, labels = train_runs([running], setup.adversarial, running.draw)
    return ended(running, real, z, labels=labels)


def recorder_of(running: Running, interrupts: InterruptWatch, k: int) -> Recorder:
    """A single run's recorder (`k`, its place in a stack, unused)."""
    return Recorder(running.setup, running.batcher, running.monitor, running.run_dir,
                    running.fixed_z, running.evaluation, interrupts, running.clock)


def train_runs(runs: Sequence[Running], adversarial: AdversarialStep | CudaGraphStep,
               draw: Callable[[], tuple[torch.Tensor, torch.Tensor, Labels | None]],
               recorder: Callable[[Running, InterruptWatch, int], Recorder] = recorder_of,
               part: Callable[[StepOutput, int], StepOutput] = lambda output, k: output,
               stop_run: Callable[[int], None] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, Labels | None]:
    """The loop, for one run or a stack of them (all from one step to one step): each step
    draws (`draw`: the batch, noise and a conditional run's labels), trains every run in one
    call of `adversarial`, then gives each run its part of the output (`part(output, k)`) for
    its events (`recorder`'s, at its intervals). Returns the last batch, noise and labels, the
    final losses' inputs.

    A run that diverges raises Diverged, unless `stop_run` is given (a stack: run k updates no
    more, its failure is kept in `Running.failure`, the others go on). A signal raises
    Interrupted once every run has checkpointed."""
    settings, start = runs[0].settings, runs[0].start
    with ExitStack() as context:
        for running in runs:
            running.monitor = context.enter_context(
                Monitor(running.run_dir, settings.steps, running.start, logger=running.logger))
        interrupts = context.enter_context(InterruptWatch())
        for k, running in enumerate(runs):
            running.monitor.hyperparameters(running.hyperparameters,
                                            new_session=not running.resumed)
            running.events = recorder(running, interrupts, k).events(settings)
        for running in runs:
            running.clock.start_loop()
        for step in range(start, settings.steps):
            real, z, labels = draw()  # (B, C, H, W), (B, noise_dim); a stack's (K, B, ...)
            output = adversarial(real, z, labels)  # labels: None unless conditional
            last = step == settings.steps - 1
            stops = [after_step(running, k, step, part(output, k), last, stop_run)
                     for k, running in enumerate(runs) if running.failure is None]
            stop = next((stop for stop in stops if stop is not None), None)
            if stop is not None:
                raise stop
    for running in runs:
        running.clock.stop_loop()
    return real, z, labels


def after_step(running: Running, k: int, step: int, output: StepOutput, last: bool,
               stop_run: Callable[[int], None] | None) -> Interrupted | None:
    """Run k's events after `step` on its output; returns the Interrupted of a signal (the run
    has checkpointed). A divergence is raised, or, with `stop_run`, ends run k alone."""
    running.monitor.advance()
    try:
        for event in running.events:
            event(step, output, last=last)
    except Diverged as error:
        if stop_run is None:
            raise
        running.failure = error
        running.log.error(f"run diverged: {error}")
        stop_run(k)
    except Interrupted as stop:
        return stop
    return None


def ended(running: Running, real: torch.Tensor, z: torch.Tensor, labels: Labels | None = None,
          **extra: Any) -> dict[str, Any]:
    """The run's final losses on its last batch, noise and labels, its digits, and its
    metrics.json (with `extra`)."""
    final = finish(running.setup, real, z, running.run_dir, running.log, labels)
    return completed(final, running.settings, running.clock, running.start, running.evaluation,
                     running.run_dir, running.log, **computed_on(running.setup.device), **extra)


def completed(final: dict[str, float], settings: TrainConfig, clock: Clock, start: int,
              evaluation: Evaluation | NoEvaluation, run_dir: Path,
              logger: logging.Logger = log, **extra: Any) -> dict[str, Any]:
    """A finished run's metrics (its final losses, times and last scores, and any `extra`),
    written to its metrics.json and returned."""
    metrics = {"status": "completed", "final_loss_g": final.pop("generator"),
               "final_loss_d": final.pop("discriminator"), "final_terms": final,
               "steps": settings.steps} | timings(clock, settings.steps - start, start)
    metrics |= extra
    metrics |= evaluation.results()
    write_atomically(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    logger.info(f"Done: {run_dir}")
    return metrics


def loss_line(values: dict[str, float]) -> str:
    """The seed's `Generator Loss:g Discriminator Loss:d` (adversarial), then `name:value` for
    each term, from `StepOutput.scalars()` or `AdversarialStep.losses()` values."""
    values = {tag.removeprefix("loss/"): value for tag, value in values.items()}
    terms = " ".join(f"{name}:{value}" for name, value in values.items()
                     if name not in ("generator", "discriminator") and "/" not in name)
    line = f"Generator Loss:{values['generator']} Discriminator Loss:{values['discriminator']}"
    return f"{line} {terms}" if terms else line


class Recorder:
    """The run directory's contents: scalars, console lines, sample grids, checkpoints."""

    def __init__(self, setup: TrainingSetup, batcher: Batcher, monitor: Monitor,
                 run_dir: Path, fixed_z: torch.Tensor, evaluation: Evaluation | NoEvaluation,
                 interrupts: InterruptWatch, clock: Clock) -> None:
        self.setup = setup
        self.evaluation = evaluation
        self.batcher = batcher
        self.monitor = monitor
        self.run_dir = run_dir
        self.fixed_z = fixed_z  # (n_samples, noise_dim), drawn once so grids compare over time
        adversarial = setup.adversarial
        # D(x) from D's logits where the loss makes it a probability; None: D outputs a score.
        self.probability = getattr(adversarial.objective.loss, "probability", None)
        self.guard = DivergenceGuard(adversarial.generator, adversarial.discriminator)
        self.interrupts = interrupts
        self.clock = clock  # the run's time so far goes into each checkpoint

    def log_scalars(self, step: int, output: StepOutput) -> None:
        """Losses, the objective's terms and mean D outputs to TensorBoard (one device read)."""
        values = output.scalars(self.probability)
        self.monitor.scalars(step, values)
        self.monitor.losses(values["loss/generator"], values["loss/discriminator"])

    def print_losses(self, step: int, output: StepOutput) -> None:
        """The seed's console line: the adversarial losses, then each term by its name."""
        values = output.scalars()
        self.monitor.print(f"Epoch:{step} {loss_line(values)}")

    def sample(self, step: int, output: StepOutput) -> None:
        """A grid from the fixed noise, as a PNG and in TensorBoard."""
        classes = self.setup.classes
        if classes:  # a class grid: one row per class shown
            labels = grid_labels(len(self.fixed_z), classes, self.fixed_z.device)
            samples = generate(self.setup.generator, self.fixed_z, labels)
            picture = self.setup.source.picture(samples,
                                                columns=len(self.fixed_z) // grid_rows(classes))
        else:
            picture = self.setup.source.picture(generate(self.setup.generator, self.fixed_z))
        picture = save_picture(picture, self.run_dir / "samples" / f"step_{step:06d}.png")
        self.monitor.image("samples", picture, step)

    def checkpoint(self, step: int, output: StepOutput) -> None:
        """Everything needed to sample from or continue the run after `step`."""
        self.monitor.flush()  # the logged steps it covers are on disk before it is
        state = checkpoint_state(self.setup.adversarial, self.setup.sampler, self.batcher,
                                 self.fixed_z, steps=step + 1,
                                 seconds=self.clock.whole() | self.evaluation.elapsed(),
                                 evaluation=self.evaluation.state_dict())
        save_checkpoint(state, self.run_dir / CHECKPOINT_NAME)

    def keep_best(self, step: int, output: StepOutput) -> None:
        """The generator after `step`, where it scored its best so far, as best.pt."""
        state = best_state(self.setup.adversarial.generator, self.setup.sampler, step + 1,
                           self.evaluation.best)
        save_checkpoint(state, self.run_dir / BEST_NAME)

    def stop_if_interrupted(self, step: int, output: StepOutput, last: bool) -> None:
        """After a SIGINT or SIGTERM: checkpoint this step, then stop the run (unless this
        was its last step: then it ends as usual)."""
        if self.interrupts.received is not None and not last:
            self.guard(step, output)
            self.setup.before_sampling()
            self.checkpoint(step, output)
            raise Interrupted(step + 1, self.interrupts.received)

    def events(self, settings: TrainConfig) -> list[Event]:
        """The periodic actions at their configured intervals."""
        reads = [  # the events that read the generator samples come from
            Periodic(settings.sample_every, self.sample),
            *self.evaluation.events(self.setup.generator, self.monitor, self.keep_best),
            Periodic(settings.checkpoint_every, self.checkpoint),
        ]
        events = [Periodic(settings.log_every, self.log_scalars),
                  Periodic(settings.print_every, self.print_losses), *reads]
        # The guard goes first wherever anything reads or saves the networks: nothing is
        # logged, scored or checkpointed from NaNs, and the last checkpoint stays a good one.
        # Then, once a step, the sampled generator is brought up to date for the reads.
        return [BeforeAny(events, self.guard), BeforeAny(reads, self.before_sampling), *events,
                self.stop_if_interrupted]  # a flag read: no device work unless set

    def before_sampling(self, step: int, output: StepOutput) -> None:
        """`TrainingSetup.before_sampling`, as an event's action."""
        self.setup.before_sampling()
