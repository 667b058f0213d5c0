"""The gradient penalty of WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein
GANs"): D's input gradient is pushed to norm 1 between the real and the generated images."""

import torch

from gan.core.layers import twice_differentiable
from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms
from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


def input_gradient(discriminator: torch.nn.Module, images: torch.Tensor,
                   labels: torch.Tensor | None = None) -> torch.Tensor:
    """d sum D(x) / dx at images (B, C, H, W), kept differentiable (D's weights get the
    penalty's gradient); works where grad mode is off too (the final losses). A conditional
    D reads the images with their labels (B,), held fixed.

    Inside `torch.func.vmap`, where K stacked runs compute their losses, `torch.autograd.grad`
    cannot run: there `torch.func.grad` gives the same gradient (it cannot update a batch
    norm's running statistics, which stacked runs do not have)."""
    images = images.detach()
    judge = discriminator if labels is None else lambda x: discriminator(x, labels)
    with torch.enable_grad():
        if torch._C._functorch.is_batchedtensor(images):
            return torch.func.grad(lambda x: judge(x).sum())(images)
        images.requires_grad_(True)
        (gradient,) = torch.autograd.grad(judge(images).sum(), images, create_graph=True)
    return gradient  # (B, C, H, W)


class GradientPenalty(Remedy):
    """D's loss gains `gradient_penalty` = weight * mean((||grad D(x_hat)||_2 - 1)^2), at
    x_hat = eps x + (1 - eps) G(z) with eps ~ U[0, 1] drawn per sample."""

    per_run = ("weight",)

    def __init__(self, weight: float = 10.0) -> None:
        if not weight > 0:
            raise ConfigError(f"remedy.gradient_penalty.weight must be positive, got {weight}")
        self.weight = weight

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Make every layer of D twice differentiable, in place (a flag on each layer)."""
        twice_differentiable(discriminator)

    def draws(self, real: torch.Tensor) -> Terms:
        """The interpolation weights eps (B, 1, 1, 1) ~ U[0, 1), one per sample."""
        return {"gradient_penalty_eps": torch.rand(len(real), 1, 1, 1, device=real.device,
                                                   dtype=real.dtype)}

    def discriminator_terms(self, forward: Forward) -> Terms:
        """The penalty at random interpolates of the batch, a () tensor (the weights drawn
        here where the step drew none beforehand)."""
        real, fake = forward.real.detach(), forward.fake.detach()  # (B, C, H, W)
        eps = forward.draws.get("gradient_penalty_eps")
        eps = self.draws(real)["gradient_penalty_eps"] if eps is None else eps
        # A conditional D judges each interpolate with its real endpoint's label: the fake
        # endpoint was asked for an independently drawn class, so for a different class the
        # interpolate lies off the real (x, y) pairs (G is not asked for the real labels here).
        labels = None if forward.labels is None else forward.labels.real
        gradient = input_gradient(forward.discriminator, torch.lerp(fake, real, eps), labels)
        norms = gradient.flatten(1).square().sum(dim=1).add(1e-12).sqrt()  # (B,), finite at 0
        return {"gradient_penalty": self.weight * (norms - 1.0).square().mean()}
