"""The records the step, the objective's terms and the run all read: what one forward pass of
both networks produced, and what a training step leaves behind.

This module imports nothing else from the package, so every layer can read these records
without importing the step (no import cycle between the step and the remedies).
"""

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn


class Forward(NamedTuple):
    """Both networks on one batch: the context every part of the objective reads.

    The discriminator itself is here so a term can run it on other inputs (a gradient penalty
    differentiates D at interpolated images).
    """

    real: torch.Tensor  # (B, C, H, W)
    fake: torch.Tensor  # (B, C, H, W), G(z); detached where only D is updated
    real_features: torch.Tensor  # (B, F), D's last hidden layer
    fake_features: torch.Tensor  # (B, F)
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)
    discriminator: nn.Module


class StepOutput(NamedTuple):
    """What a step leaves behind, detached and still on the device (reading them syncs).

    `terms` are the objective's named extra terms (feature matching, a penalty, ...), each the
    value it added to its network's loss; `g_loss` and `d_loss` are the whole losses.
    """

    g_loss: torch.Tensor  # ()
    d_loss: torch.Tensor  # ()
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)
    terms: dict[str, torch.Tensor]  # name -> ()

    @classmethod
    def detached(cls, g_loss: torch.Tensor, d_loss: torch.Tensor, real_logits: torch.Tensor,
                 fake_logits: torch.Tensor,
                 terms: dict[str, torch.Tensor] | None = None) -> "StepOutput":
        """The step's tensors cut from the graph, so holding them keeps no activations alive."""
        return cls(g_loss.detach(), d_loss.detach(), real_logits.detach(), fake_logits.detach(),
                   {name: value.detach() for name, value in (terms or {}).items()})

    def scalars(self, probability: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> dict[str, float]:
        """The logged values by tag, read from the device in one transfer: `loss/generator`,
        `loss/discriminator`, `loss/<name>` for each term and, where `probability` maps D's
        logits to D(x) (a loss whose D outputs a probability), the means `d/real`, `d/fake`."""
        tags = ["loss/generator", "loss/discriminator", *(f"loss/{name}" for name in self.terms)]
        values = [self.g_loss, self.d_loss, *self.terms.values()]
        if probability is not None:
            tags += ["d/real", "d/fake"]
            values += [probability(self.real_logits).mean(), probability(self.fake_logits).mean()]
        return dict(zip(tags, torch.stack(values).tolist(), strict=True))
