"""GAN losses as small pure functions of discriminator logits."""

from typing import Protocol

import torch
import torch.nn.functional as F


class GANLoss(Protocol):
    """What the training step asks of a loss: one value per network from D's logits."""

    def discriminator_loss(self, real_logits: torch.Tensor,
                           fake_logits: torch.Tensor) -> torch.Tensor:
        """D's loss (a scalar) from logits on real (B,) and generated (B,) images."""
        ...

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """G's loss (a scalar) from D's logits on generated images (B,)."""
        ...


class BCELoss:
    """The seed's losses, computed from logits so they stay finite when D saturates.

    D: -mean(log D(x) + log(1 - D(G(z)))), G: -mean(log D(G(z))) (non-saturating), with
    -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l).
    """

    def __init__(self, real_target: float = 1.0) -> None:
        self.real_target = real_target  # below 1: one-sided label smoothing (the remedy)

    def discriminator_loss(self, real_logits: torch.Tensor,
                           fake_logits: torch.Tensor) -> torch.Tensor:
        """BCE of D(x) against the real target (1, or 0.9 smoothed) and of D(G(z)) against 0;
        logits are (B,)."""
        real_term = F.softplus(-real_logits).mean()  # -mean(log D(x))
        if self.real_target != 1.0:  # a constant of the loss, not a branch on tensor values
            real_term = (self.real_target * real_term
                         + (1.0 - self.real_target) * F.softplus(real_logits).mean())
        return real_term + F.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """-mean(log D(G(z))); logits are (B,)."""
        return F.softplus(-fake_logits).mean()
