"""What the training loop trains, as `gan.run.compose.build_setup` makes it from the config."""

from dataclasses import dataclass

import torch

from gan.core.networks import Generator
from gan.core.step import AdversarialStep
from gan.run.acceleration import CudaGraphStep


@dataclass
class TrainingSetup:
    """The adversarial step (both networks, their optimizers, the objective), the training
    images and the generator samples come from."""

    adversarial: AdversarialStep | CudaGraphStep
    images: torch.Tensor  # (N, C, H, W) in [0, 1], on the training device
    sampler: Generator | None = None  # a weight average (the ema remedy) to sample from

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
