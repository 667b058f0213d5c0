"""The R2 penalty (Mescheder et al. 2018 name it; R3GAN, Huang et al. 2024, pairs it with R1 and
the relativistic loss): D's input gradient on generated images is pushed to zero, the twin of
R1 on real ones (`gan.core.remedies.r1`)."""

from gan.core.layers import twice_differentiable
from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms
from gan.core.remedies.base import Remedy
from gan.core.remedies.gradient_penalty import input_gradient
from gan.errors import ConfigError


class R2(Remedy):
    """D's loss gains `r2` = gamma / 2 * mean ||grad D(x)||^2 at x = G(z), detached (G held
    fixed: the penalty shapes D alone), every step, as R1 does on the real batch."""

    per_run = ("gamma",)

    def __init__(self, gamma: float = 10.0) -> None:
        if not gamma > 0:
            raise ConfigError(f"remedy.r2.gamma must be positive, got {gamma}")
        self.gamma = gamma

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Make every layer of D twice differentiable, in place (a flag on each layer)."""
        twice_differentiable(discriminator)

    def discriminator_terms(self, forward: Forward) -> Terms:
        """The penalty on the generated batch, a () tensor."""
        labels = None if forward.labels is None else forward.labels.fake  # (B,), conditional
        gradient = input_gradient(forward.discriminator, forward.fake, labels)  # (B, C, H, W)
        return {"r2": self.gamma / 2 * gradient.flatten(1).square().sum(dim=1).mean()}
