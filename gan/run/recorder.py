"""What a run leaves in its directory while it trains: scalars, console lines, sample grids,
checkpoints, each at its interval, with the divergence guard and the interrupt check."""

from pathlib import Path

import torch

from gan.core.networks import generate
from gan.core.records import StepOutput
from gan.run.checkpoint import (
    BEST_NAME,
    CHECKPOINT_NAME,
    best_state,
    checkpoint_state,
    save_checkpoint,
)
from gan.run.clock import Clock
from gan.run.config import TrainConfig
from gan.run.data import DeviceBatcher
from gan.run.divergence import DivergenceGuard
from gan.run.evaluation import Evaluation, NoEvaluation
from gan.run.interrupts import Interrupted, InterruptWatch
from gan.run.monitor import Monitor
from gan.run.pictures import save_grid
from gan.run.schedule import BeforeAny, Event, Periodic
from gan.run.setup import TrainingSetup


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

    def __init__(self, setup: TrainingSetup, batcher: DeviceBatcher, monitor: Monitor,
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
        images = generate(self.setup.generator, self.fixed_z)
        picture = save_grid(images, self.run_dir / "samples" / f"step_{step:06d}.png")
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
