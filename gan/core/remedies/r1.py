"""The R1 penalty (Mescheder et al. 2018, "Which Training Methods for GANs do actually
Converge?"): D's input gradient on real images is pushed to zero."""

from gan.core.layers import twice_differentiable
from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms
from gan.core.remedies.base import Remedy
from gan.core.remedies.gradient_penalty import input_gradient
from gan.errors import ConfigError


class R1(Remedy):
    """D's loss gains `r1` = gamma / 2 * mean ||grad D(x)||^2 over the real batch, every step
    (no lazy interval: a step captured as a CUDA graph computes the same work every time)."""

    per_run = ("gamma",)

    def __init__(self, gamma: float = 10.0) -> None:
        if not gamma > 0:
            raise ConfigError(f"remedy.r1.gamma must be positive, got {gamma}")
        self.gamma = gamma

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Make every layer of D twice differentiable, in place (a flag on each layer)."""
        twice_differentiable(discriminator)

    def discriminator_terms(self, forward: Forward) -> Terms:
        """The penalty on the real batch, a () tensor."""
        labels = None if forward.labels is None else forward.labels.real  # (B,), conditional
        gradient = input_gradient(forward.discriminator, forward.real, labels)  # (B, C, H, W)
        return {"r1": self.gamma / 2 * gradient.flatten(1).square().sum(dim=1).mean()}
