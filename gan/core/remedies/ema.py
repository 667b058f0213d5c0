"""An exponential moving average of the generator's weights, for samples and metrics."""

import copy

import torch

from gan.core.networks import Discriminator, Generator
from gan.core.remedies.base import Remedy


class EMA(Remedy):
    """After each step: ema <- decay * ema + (1 - decay) * weights. Samples, metrics and
    `gan.sample` / `gan.evaluate` then use the average; training still updates the generator."""

    per_run = ("decay",)  # read by each run's own `after_update`, outside the vmap

    def __init__(self, decay: float = 0.999) -> None:
        self.decay = decay
        self.generator: Generator | None = None

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Start the average at the generator's initial weights."""
        self.generator = copy.deepcopy(generator).requires_grad_(False)
        self.pairs = list(zip(self.generator.parameters(), generator.parameters(), strict=True))
        self.buffers = list(zip(self.generator.buffers(), generator.buffers(), strict=True))

    @torch.no_grad()
    def after_update(self) -> None:
        """Move the average towards the current weights; copy buffers (batch-norm statistics)."""
        averages, weights = zip(*self.pairs, strict=True)
        torch._foreach_lerp_(list(averages), list(weights), 1.0 - self.decay)
        for average, current in self.buffers:
            average.copy_(current)

    def sampler(self) -> Generator | None:
        """The averaged generator."""
        return self.generator
