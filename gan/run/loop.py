"""The training loop: steps, the recorder's events at their intervals, the final results."""

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from gan.core.networks import generate
from gan.core.noise import UniformNoise, uniform_noise
from gan.run.checkpoint import restore
from gan.run.clock import Clock
from gan.run.config import TrainConfig
from gan.run.data import DeviceBatcher
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.files import write_atomically
from gan.run.hparams import HParam
from gan.run.interrupts import InterruptWatch
from gan.run.machine import computed_on, described
from gan.run.monitor import Monitor
from gan.run.pictures import save_digits
from gan.run.recorder import Recorder, loss_line
from gan.run.setup import TrainingSetup

log = logging.getLogger(__name__)


def finish(setup: TrainingSetup, real: torch.Tensor, z: torch.Tensor,
           run_dir: Path, logger: logging.Logger = log) -> dict[str, float]:
    """The seed's ending: the losses on the last batch after the last update (adversarial as
    "generator" and "discriminator", then each term), and ten digits from fresh noise."""
    final = setup.adversarial.losses(real, z)
    logger.info(f"Final: {loss_line(final)}")
    setup.before_sampling()
    save_digits(generate(setup.generator, uniform_noise(10, setup.generator.noise_dim,
                                                        setup.device)),
                run_dir / "samples" / "final")
    return final


def timings(clock: Clock, steps: int, start: int) -> dict[str, Any]:
    """The whole run's wall and loop seconds, this part's (`last_part`, from step `start`), and
    this part's loop speed over its `steps` steps."""
    part = clock.part()
    return clock.whole() | {"steps_per_second": steps / part["loop_seconds"],
                            "last_part": {"from_step": start, **part}}


def continued(setup: TrainingSetup, batcher: DeviceBatcher, checkpoint: dict[str, Any] | None,
              settings: TrainConfig, clock: Clock, evaluation: Evaluation | NoEvaluation,
              logger: logging.Logger = log) -> tuple[int, torch.Tensor]:
    """Where the run starts, and the fixed noise behind its grids (n_samples, noise_dim): step
    0 and a fresh draw, or a checkpoint put back (its time so far goes into the clock, its time
    evaluating into the evaluation's). Says first what this part computes on, so train.log
    keeps each part's (what a rerun must match)."""
    logger.info(f"computing on {described(computed_on(setup.device))}")
    fixed_z = uniform_noise(settings.n_samples, setup.generator.noise_dim, setup.device)
    if checkpoint is None:
        return 0, fixed_z
    start, fixed_z = restore(setup.adversarial, setup.sampler, batcher, checkpoint,
                             settings.steps)
    clock.resume(checkpoint.get("seconds", {}))
    evaluation.resume(checkpoint.get("seconds", {}))
    evaluation.load_state_dict(checkpoint.get("evaluation", {}))
    logger.info(f"resuming from step {start} of {settings.steps}")
    return start, fixed_z


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
    clock = Clock(time.perf_counter() if started is None else started)
    evaluation = evaluation or NoEvaluation()
    noise_dim, device = setup.generator.noise_dim, setup.device
    adversarial = setup.adversarial  # a call may take several batches (the balance remedy)
    batcher = DeviceBatcher(setup.images, settings.batch_size * adversarial.real_batches)
    noise = UniformNoise(settings.batch_size * adversarial.noise_batches, noise_dim, device)
    start, fixed_z = continued(setup, batcher, checkpoint, settings, clock, evaluation)
    with Monitor(run_dir, settings.steps, start) as monitor, InterruptWatch() as interrupts:
        monitor.hyperparameters(hyperparameters or {}, new_session=checkpoint is None)
        recorder = Recorder(setup, batcher, monitor, run_dir, fixed_z, evaluation, interrupts,
                            clock)
        events = recorder.events(settings)
        clock.start_loop()
        for step in range(start, settings.steps):
            real, z = batcher.next(), noise.next()  # (B, C, H, W), (B, noise_dim)
            output = adversarial(real, z)
            monitor.advance()
            for event in events:
                event(step, output, last=step == settings.steps - 1)
    clock.stop_loop()
    final = finish(setup, real, z, run_dir)
    return completed(final, settings, clock, start, evaluation, run_dir,
                     **computed_on(device))


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
