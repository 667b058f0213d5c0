"""An exponential moving average of the generator's weights, for samples and metrics."""

import copy
from typing import TYPE_CHECKING

import torch

from gan.models import Generator
from gan.remedies.base import Remedy

if TYPE_CHECKING:
    from gan.step import AdversarialStep


class EMA(Remedy):
    """After each step: ema <- decay * ema + (1 - decay) * weights. Samples, metrics and
    `gan.sample` / `gan.evaluate` then use the average; training still updates the generator."""

    def __init__(self, decay: float = 0.999) -> None:
        self.decay = decay
        self.generator: Generator | None = None

    def attach(self, step: "AdversarialStep") -> None:
        """Start the average at the generator's initial weights."""
        self.generator = copy.deepcopy(step.generator).requires_grad_(False)
        self.pairs = list(zip(self.generator.parameters(), step.generator.parameters(),
                              strict=True))
        self.buffers = list(zip(self.generator.buffers(), step.generator.buffers(), strict=True))

    @torch.no_grad()
    def after_update(self, step: "AdversarialStep") -> None:
        """Move the average towards the current weights; copy buffers (batch-norm statistics)."""
        averages, weights = zip(*self.pairs, strict=True)
        torch._foreach_lerp_(list(averages), list(weights), 1.0 - self.decay)
        for average, current in self.buffers:
            average.copy_(current)

    def sampler(self) -> Generator | None:
        """The averaged generator."""
        return self.generator
