"""The relativistic pairing loss (RpGAN; Jolicoeur-Martineau 2019, "The relativistic
discriminator: a key element missing from standard GAN"), as R3GAN uses it (Huang et al. 2024,
"The GAN is dead; long live the GAN! A Modern GAN Baseline")."""

import torch
import torch.nn.functional as F

from gan.core.objective import Forward


class RelativisticLoss:
    """D: mean f(D(G(z_i)) - D(x_i)), G: mean f(D(x_i) - D(G(z_i))), f(t) = softplus(t) =
    -log sigmoid(-t), over the batch's pairs i (real image i with generated image i).

    D judges whether a real image is more real than its generated partner, not whether each is
    real on its own: a generator that drops a mode leaves real images of that mode paired with
    fakes D can tell apart, so the loss keeps pulling G there (the paper's argument against
    mode dropping). Both losses need D(x): the step gives G's loss D's logits on the real batch
    (`pairs_real_and_fake`). With packing, the i-th pair is the i-th pack of each.
    """

    probability = None  # D's output is a score; sigmoid of a difference is no D(x)
    # G's loss reads D(x): a step whose G update reuses stale real features recomputes them.
    pairs_real_and_fake = True

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """mean softplus(D(G(z)) - D(x)) over the pairs, a () tensor from logits (B,)."""
        return F.softplus(forward.fake_logits - forward.real_logits).mean()

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """mean softplus(D(x) - D(G(z))) over the pairs, a () tensor from logits (B,)."""
        return F.softplus(forward.real_logits - forward.fake_logits).mean()
