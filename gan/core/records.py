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
    # The terms' random tensors, drawn before the forward (`Objective.draws`), by name.
    draws: dict[str, torch.Tensor] = {}  # noqa: RUF012 (a NamedTuple's default, never mutated)


class Loss(NamedTuple):
    """One network's loss on a batch: the whole of it (what the network descends), the
    adversarial part alone, and the objective's extra terms by name, each as added."""

    total: torch.Tensor  # ()
    adversarial: torch.Tensor  # ()
    terms: dict[str, torch.Tensor]  # name -> ()


class StepOutput(NamedTuple):
    """What a step leaves behind, detached and still on the device (reading them syncs).

    `g_loss`, `d_loss` are the whole losses; `g_adversarial`, `d_adversarial` the adversarial
    losses alone, comparable between runs whatever their extra terms; `terms` the objective's
    named extra terms (feature matching, a penalty, ...) of both networks.
    """

    g_loss: torch.Tensor  # ()
    d_loss: torch.Tensor  # ()
    g_adversarial: torch.Tensor  # ()
    d_adversarial: torch.Tensor  # ()
    real_logits: torch.Tensor  # (B,)
    fake_logits: torch.Tensor  # (B,)
    terms: dict[str, torch.Tensor]  # name -> ()

    @classmethod
    def detached(cls, g_loss: Loss, d_loss: Loss, real_logits: torch.Tensor,
                 fake_logits: torch.Tensor) -> "StepOutput":
        """The step's tensors cut from the graph, so holding them keeps no activations alive;
        a term name on both networks' sides is a mistake in a term."""
        terms: dict[str, torch.Tensor] = {}
        if d_loss.terms or g_loss.terms:  # none in the seed's objective: nothing to merge
            repeated = d_loss.terms.keys() & g_loss.terms.keys()
            if repeated:
                raise ValueError(f"two terms of the objective are named "
                                 f"{', '.join(sorted(repeated))}")
            terms = {name: value.detach() for name, value in (d_loss.terms | g_loss.terms).items()}
        return cls(g_loss.total.detach(), d_loss.total.detach(), g_loss.adversarial.detach(),
                   d_loss.adversarial.detach(), real_logits.detach(), fake_logits.detach(), terms)

    def scalars(self, probability: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> dict[str, float]:
        """The logged values by tag, read from the device in one transfer: the adversarial
        losses as `loss/generator` and `loss/discriminator` (the same in every run), each term
        as `loss/<name>` and, where `probability` maps D's logits to D(x) (a loss whose D outputs
        a probability), the means `d/real` and `d/fake`."""
        tags = ["loss/generator", "loss/discriminator", *(f"loss/{name}" for name in self.terms)]
        values = [self.g_adversarial, self.d_adversarial, *self.terms.values()]
        if probability is not None:
            tags += ["d/real", "d/fake"]
            values += [probability(self.real_logits).mean(), probability(self.fake_logits).mean()]
        return dict(zip(tags, torch.stack(values).tolist(), strict=True))
