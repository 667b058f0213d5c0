"""The Wasserstein loss (Arjovsky et al. 2017, "Wasserstein GAN")."""

import torch

from gan.core.objective import Forward


class WassersteinLoss:
    """D (the critic): mean(D(G(z))) - mean(D(x)); G: -mean(D(G(z))). The critic's outputs are
    unbounded scores, so the estimate of the Wasserstein distance needs D kept 1-Lipschitz:
    pair it with `remedy=gradient_penalty` (Gulrajani et al. 2017) or `remedy=spectral_norm`."""

    probability = None  # D's output is a score

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """The negative distance estimate on real (B,) and generated (B,) outputs, a () tensor."""
        return forward.fake_logits.mean() - forward.real_logits.mean()

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """-mean(D(G(z))), a () tensor."""
        return -forward.fake_logits.mean()
