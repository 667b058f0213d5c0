"""The training loop: steps, and what is recorded at their intervals."""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gan.acceleration import CudaGraphStep
from gan.checkpoint import (
    CHECKPOINT_NAME,
    rng_states,
    save_checkpoint,
    set_rng_states,
    steps_done,
    write_atomically,
)
from gan.config import TrainConfig
from gan.data import DeviceBatcher
from gan.divergence import DivergenceGuard
from gan.errors import UserError
from gan.hparams import HParam
from gan.interrupts import Interrupted, InterruptWatch
from gan.metrics.chart import histogram_chart
from gan.metrics.evaluator import SCORE_NAMES, Evaluator
from gan.models import Generator
from gan.monitor import Monitor
from gan.noise import UniformNoise, uniform_noise
from gan.samples import generate, save_digits, save_grid
from gan.step import AdversarialStep, StepOutput

log = logging.getLogger(__name__)
Event = Callable[[int, StepOutput, bool], None]  # (step, its output, whether it is the last)


@dataclass
class Experiment:
    """Everything the loop trains, built from the config by `gan.builder.build`."""

    step: AdversarialStep | CudaGraphStep  # owns both networks, their optimizers and the loss
    images: torch.Tensor  # (N, C, H, W) in [0, 1], on the training device
    sampler: Generator | None = None  # a weight average (the ema remedy) to sample from

    @property
    def generator(self) -> Generator:
        """The generator that samples and metrics come from: the average, else the trained."""
        return self.sampler if self.sampler is not None else self.step.generator

    @property
    def device(self) -> torch.device:
        """Where the data and the networks live."""
        return self.images.device


@dataclass
class Periodic:
    """An action run every `every` steps (from step 0) and after the last step."""

    every: int
    action: Callable[[int, StepOutput], None]

    def due(self, step: int, last: bool) -> bool:
        """Whether the action runs at this step."""
        return step % self.every == 0 or last

    def __call__(self, step: int, output: StepOutput, last: bool) -> None:
        """Run the action when this step is due."""
        if self.due(step, last):
            self.action(step, output)


@dataclass
class BeforeAny:
    """An action run at every step where any of `events` is due, before them."""

    events: list[Periodic]
    action: Callable[[int, StepOutput], None]

    def __call__(self, step: int, output: StepOutput, last: bool) -> None:
        """Run the action when any of the events is due."""
        if any(event.due(step, last) for event in self.events):
            self.action(step, output)


class Evaluation:
    """The generator's mode-collapse metrics at intervals, beside the real-data reference."""

    def __init__(self, evaluator: Evaluator, z: torch.Tensor, real: dict[str, Any],
                 every: int, setup_seconds: float = 0.0) -> None:
        self.evaluator = evaluator
        self.z = z  # (n, noise_dim), fixed, so every evaluation scores the same inputs
        self.real = real  # the scores of n real training images: what a perfect G would reach
        self.every = every
        self.seconds = setup_seconds  # time spent evaluating, set-up included (its cost)
        self.latest: dict[str, Any] = {}

    def events(self, generator: Generator, monitor: Monitor) -> list[Periodic]:
        """Scoring at its interval (and after the last step)."""
        return [Periodic(self.every, lambda step, output: self.record(generator, monitor, step))]

    def record(self, generator: Generator, monitor: Monitor, step: int) -> None:
        """Score the generator; log the scores, the reference and the class histogram."""
        started = time.perf_counter()
        scores = self.evaluator.score_generator(generator, self.z)  # ends with a host read
        monitor.scalars(step, {f"eval/{name}": scores[name] for name in SCORE_NAMES}
                        | {f"eval/real_{name}": self.real[name] for name in SCORE_NAMES})
        title = (f"step {step}: {scores['modes_covered']}/{len(scores['class_histogram'])} "
                 f"modes, class KL {scores['class_kl']:.3f}")
        monitor.image("eval/class_histogram", histogram_chart(scores["class_histogram"], title),
                      step)
        monitor.print(f"Eval:{step} modes_covered:{scores['modes_covered']} "
                      f"class_kl:{scores['class_kl']:.4f} "
                      f"classifier_score:{scores['classifier_score']:.3f} fid:{scores['fid']:.4f}")
        self.latest = scores
        self.seconds += time.perf_counter() - started

    def results(self) -> dict[str, Any]:
        """The last scores and the reference, flat, for metrics.json."""
        return ({"eval_n": self.latest["n"], "eval_seconds": self.seconds,
                 "class_histogram": self.latest["class_histogram"]}
                | {name: self.latest[name] for name in SCORE_NAMES}
                | {f"real_{name}": self.real[name] for name in SCORE_NAMES})


class NoEvaluation:
    """Evaluation turned off (`eval.every=0`): no events, nothing added to the metrics."""

    def events(self, generator: Generator, monitor: Monitor) -> list[Periodic]:
        """None."""
        return []

    def results(self) -> dict[str, Any]:
        """Nothing."""
        return {}


class Recorder:
    """The run directory's contents: scalars, console lines, sample grids, checkpoints."""

    def __init__(self, experiment: Experiment, batcher: DeviceBatcher, monitor: Monitor,
                 run_dir: Path, fixed_z: torch.Tensor, evaluation: Evaluation | NoEvaluation,
                 interrupts: InterruptWatch) -> None:
        self.experiment = experiment
        self.evaluation = evaluation
        self.batcher = batcher
        self.monitor = monitor
        self.run_dir = run_dir
        self.fixed_z = fixed_z  # (n_samples, noise_dim), drawn once so grids compare over time
        step = experiment.step
        self.guard = DivergenceGuard(step.generator, step.discriminator)
        self.interrupts = interrupts

    def log_scalars(self, step: int, output: StepOutput) -> None:
        """Losses and mean D outputs to TensorBoard (one device read)."""
        values = output.scalars()
        self.monitor.scalars(step, values)
        self.monitor.losses(values["loss/generator"], values["loss/discriminator"])

    def print_losses(self, step: int, output: StepOutput) -> None:
        """The seed's console line."""
        g_loss, d_loss = torch.stack([output.g_loss, output.d_loss]).tolist()
        self.monitor.print(f"Epoch:{step} Generator Loss:{g_loss} Discriminator Loss:{d_loss}")

    def sample(self, step: int, output: StepOutput) -> None:
        """A grid from the fixed noise, as a PNG and in TensorBoard."""
        images = generate(self.experiment.generator, self.fixed_z)
        picture = save_grid(images, self.run_dir / "samples" / f"step_{step:06d}.png")
        self.monitor.image("samples", picture, step)

    def checkpoint(self, step: int, output: StepOutput) -> None:
        """Everything needed to sample from or continue the run after `step`."""
        self.monitor.flush()  # the logged steps it covers are on disk before it is
        adversarial = self.experiment.step
        state = {
            "step": step + 1,  # steps completed
            "generator": adversarial.generator.state_dict(),
            "discriminator": adversarial.discriminator.state_dict(),
            "g_optimizer": adversarial.g_optimizer.state_dict(),
            "d_optimizer": adversarial.d_optimizer.state_dict(),
            "fixed_z": self.fixed_z,
            "batcher": self.batcher.state_dict(),
            "rng": rng_states(),
            "remedies": [remedy.state_dict() for remedy in adversarial.remedies],
        }
        sampler = self.experiment.sampler  # a weight average samples come from (ema), if any
        state |= {} if sampler is None else {"sampler": sampler.state_dict()}
        save_checkpoint(state, self.run_dir / CHECKPOINT_NAME)

    def stop_if_interrupted(self, step: int, output: StepOutput, last: bool) -> None:
        """After a SIGINT or SIGTERM: checkpoint this step, then stop the run (unless this
        was its last step: then it ends as usual)."""
        if self.interrupts.received is not None and not last:
            self.guard(step, output)
            self.checkpoint(step, output)
            raise Interrupted(step + 1, self.interrupts.received)

    def events(self, settings: TrainConfig) -> list[Event]:
        """The periodic actions at their configured intervals."""
        events = [
            Periodic(settings.log_every, self.log_scalars),
            Periodic(settings.print_every, self.print_losses),
            Periodic(settings.sample_every, self.sample),
            *self.evaluation.events(self.experiment.generator, self.monitor),
            Periodic(settings.checkpoint_every, self.checkpoint),
        ]
        # The guard goes first wherever anything reads or saves the networks: nothing is
        # logged, scored or checkpointed from NaNs, and the last checkpoint stays a good one.
        return [BeforeAny(events, self.guard), *events,
                self.stop_if_interrupted]  # a flag read: no device work unless set


def train(experiment: Experiment, settings: TrainConfig, run_dir: Path,
          started: float | None = None, evaluation: Evaluation | NoEvaluation | None = None,
          hyperparameters: dict[str, HParam] | None = None,
          checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train up to `settings.steps` steps, fill `run_dir`, and return the final metrics.

    `started` is the `time.perf_counter()` at which the run began (set-up included); default now.
    `evaluation`, when given, scores the generator at its interval and after the last step.
    `hyperparameters` are recorded for TensorBoard's HParams dashboard.
    `checkpoint`, a run's saved state, continues that run exactly where it was written.
    """
    started = time.perf_counter() if started is None else started
    evaluation = evaluation or NoEvaluation()
    noise_dim, device = experiment.generator.noise_dim, experiment.device
    step = experiment.step  # a call may take several batches (the balance remedy)
    batcher = DeviceBatcher(experiment.images, settings.batch_size * step.real_batches)
    noise = UniformNoise(settings.batch_size * step.noise_batches, noise_dim, device)
    fixed_z = uniform_noise(settings.n_samples, noise_dim, device)
    start, fixed_z = ((0, fixed_z) if checkpoint is None else
                      restore(experiment, batcher, checkpoint, settings.steps))
    with Monitor(run_dir, settings.steps, start) as monitor, InterruptWatch() as interrupts:
        monitor.hyperparameters(hyperparameters or {}, new_session=checkpoint is None)
        recorder = Recorder(experiment, batcher, monitor, run_dir, fixed_z, evaluation,
                            interrupts)
        events = recorder.events(settings)
        loop_start = time.perf_counter()
        for step in range(start, settings.steps):
            real, z = batcher.next(), noise.next()  # (B, C, H, W), (B, noise_dim)
            output = experiment.step(real, z)
            monitor.advance()
            for event in events:
                event(step, output, last=step == settings.steps - 1)
    loop_seconds = time.perf_counter() - loop_start
    final_g, final_d = experiment.step.losses(real, z)  # after the last update, as the seed
    log.info(f"Final: Generator Loss:{final_g} Discriminator Loss:{final_d}")
    save_digits(generate(experiment.generator, uniform_noise(10, noise_dim, device)),
                run_dir / "samples" / "final")
    metrics = {"status": "completed", "final_loss_g": final_g, "final_loss_d": final_d,
               "steps": settings.steps, "wall_seconds": time.perf_counter() - started,
               "loop_seconds": loop_seconds,
               "steps_per_second": (settings.steps - start) / loop_seconds,
               "device": str(device), "threads": torch.get_num_threads()}
    metrics |= evaluation.results()
    write_atomically(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def restore(experiment: Experiment, batcher: DeviceBatcher, state: dict[str, Any],
            steps: int) -> tuple[int, torch.Tensor]:
    """Put a checkpoint back, in place: weights, optimizers, remedies, the data order and every
    RNG; returns the steps it had done, where the loop goes on, and its fixed noise."""
    done = steps_done(state, steps)
    step = experiment.step
    for name in ("generator", "discriminator", "g_optimizer", "d_optimizer"):
        getattr(step, name).load_state_dict(state[name])
    if experiment.sampler is not None:
        if "sampler" not in state:
            raise UserError("the checkpoint holds no EMA weights (sampler) for the ema remedy")
        experiment.sampler.load_state_dict(state["sampler"])
    for remedy, remedy_state in zip(step.remedies, state["remedies"], strict=True):
        remedy.load_state_dict(remedy_state)
    batcher.load_state_dict(state["batcher"])
    set_rng_states(state["rng"])  # last: building the objects above drew from them
    return done, state["fixed_z"]
