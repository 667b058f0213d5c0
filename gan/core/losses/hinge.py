"""The hinge loss (Lim and Ye 2017, "Geometric GAN"; Miyato et al. 2018 with spectral norm)."""

import torch
import torch.nn.functional as F

from gan.core.objective import Forward


class HingeLoss:
    """D: mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))); G: -mean(D(G(z))), with D's raw
    outputs (logits, not probabilities): D stops pushing a sample once it is beyond the margin."""

    probability = None  # D's output is a score

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """The hinge on real (B,) and generated (B,) outputs, a () tensor."""
        return (F.relu(1.0 - forward.real_logits).mean()
                + F.relu(1.0 + forward.fake_logits).mean())

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """-mean(D(G(z))), a () tensor."""
        return -forward.fake_logits.mean()
