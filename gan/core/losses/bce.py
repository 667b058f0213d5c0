"""The seed's loss: binary cross-entropy of D's logits (the non-saturating GAN)."""

import torch
import torch.nn.functional as F

from gan.core.objective import Forward


class BCELoss:
    """The seed's losses, computed from logits so they stay finite when D saturates.

    D: -mean(log D(x) + log(1 - D(G(z)))), G: -mean(log D(G(z))) (non-saturating), with
    -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l) (Goodfellow et al.
    2014). `real_target` below 1 is one-sided label smoothing (Salimans et al. 2016), which
    `remedy=label_smoothing` sets.
    """

    probability = staticmethod(torch.sigmoid)  # D(x) = sigmoid(logit)

    def __init__(self, real_target: float = 1.0) -> None:
        self.real_target = real_target

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """BCE of D(x) against the real target (1, or 0.9 smoothed) and of D(G(z)) against 0;
        a () tensor from logits (B,)."""
        real_term = F.softplus(-forward.real_logits).mean()  # -mean(log D(x))
        if self.real_target != 1.0:  # a constant of the loss, not a branch on tensor values
            real_term = (self.real_target * real_term
                         + (1.0 - self.real_target) * F.softplus(forward.real_logits).mean())
        return real_term + F.softplus(forward.fake_logits).mean()

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """-mean(log D(G(z))), a () tensor from logits (B,)."""
        return F.softplus(-forward.fake_logits).mean()
