"""The least-squares loss (Mao et al. 2017, "Least Squares Generative Adversarial Networks")."""

import torch

from gan.core.objective import Forward


class LeastSquaresLoss:
    """D: 1/2 mean((D(x) - b)^2) + 1/2 mean(D(G(z))^2); G: 1/2 mean((D(G(z)) - 1)^2), with D's
    raw outputs and the paper's 0-1-1 coding (a = 0 for fake, b = c = 1); `real_target` below 1
    is b, one-sided label smoothing, which `remedy=label_smoothing` sets."""

    probability = None  # D's output is a score aimed at 0 and 1, not a probability

    def __init__(self, real_target: float = 1.0) -> None:
        self.real_target = real_target

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """Squared distances of real outputs (B,) from b and generated ones (B,) from 0."""
        return 0.5 * ((forward.real_logits - self.real_target).square().mean()
                      + forward.fake_logits.square().mean())

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """Squared distance of generated outputs (B,) from 1."""
        return 0.5 * (forward.fake_logits - 1.0).square().mean()
