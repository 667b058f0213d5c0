"""The objective: the adversarial loss and every extra term, on one `Forward`, as one interface.

Each network's loss is the adversarial loss's value plus every term's named values, summed in
order. A term is any object with `discriminator_terms` and `generator_terms` (a remedy, a
regulariser): it sees the same context as the adversarial loss, both networks' outputs, the
real and generated images and the discriminator itself, and returns named device scalars,
which the run logs as `loss/<name>` at its log points.

`Forward` is what every part of the objective reads (both networks on one batch), `Loss` what
it gives each network. This module imports nothing else from the package, so a loss or a
remedy reads these records without importing the step.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

import torch
from torch import nn

Terms = dict[str, torch.Tensor]  # name -> () device scalar, as added to a network's loss
RESERVED = ("generator", "discriminator")  # the whole losses' names (loss/generator, ...)


class Labels(NamedTuple):
    """A conditional step's labels: of the real batch (from the data) and the classes
    requested of the generator, each (B,) int64."""

    real: torch.Tensor  # (B,)
    fake: torch.Tensor  # (B,)


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
    labels: Labels | None = None  # a conditional run's; None: unconditional


class Loss(NamedTuple):
    """One network's loss on a batch: the whole of it (what the network descends), the
    adversarial part alone, and the objective's extra terms by name, each as added."""

    total: torch.Tensor  # ()
    adversarial: torch.Tensor  # ()
    terms: dict[str, torch.Tensor]  # name -> ()


class AdversarialLoss(Protocol):
    """What the step asks of an adversarial loss (`gan.core.losses`)."""

    # Maps D's logits to D(x) where the loss makes D's output a probability (BCE: sigmoid), so
    # the run logs the mean D(x) on real and generated batches; None where it does not.
    probability: Callable[[torch.Tensor], torch.Tensor] | None

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """D's adversarial loss, a () tensor."""
        ...

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """G's adversarial loss, a () tensor."""
        ...


class Term(Protocol):
    """An extra part of the objective: named () tensors added to D's and to G's loss.

    Values stay on the device (no host read: the step may be captured as a CUDA graph), and a
    term's names are unique across both networks (they become TensorBoard tags).
    `replaces_generator_loss`: G's loss is the terms alone, every term's, without the
    adversarial loss (feature matching as Salimans et al. 2016 define it).
    """

    replaces_generator_loss: bool

    def draws(self, real: torch.Tensor) -> Terms:
        """The random tensors this term's D part uses on the real batch (B, C, H, W), drawn
        before the forward so that each of K stacked runs draws from its own stream; they
        reach the term as `forward.draws` (empty: none)."""
        ...

    def discriminator_terms(self, forward: Forward) -> Terms:
        """What this term adds to D's loss, by name (empty: nothing)."""
        ...

    def generator_terms(self, forward: Forward) -> Terms:
        """What this term adds to G's loss, by name (empty: nothing)."""
        ...


class Objective:
    """Both networks' losses: the adversarial loss, then each term's values, in order."""

    def __init__(self, loss: AdversarialLoss, terms: Sequence[Term] = ()) -> None:
        self.loss = loss
        self.terms = list(terms)
        self.adversarial_g = not any(term.replaces_generator_loss for term in self.terms)

    # Without terms (the seed's objective) each loss is the adversarial loss itself, with no
    # term bookkeeping: the step runs these every call, so Python's share of it counts.

    def draws(self, real: torch.Tensor) -> Terms:
        """Every term's random tensors for one D loss on the real batch (B, C, H, W), in order
        (a term without `draws` draws nothing)."""
        if not self.terms:
            return {}
        return _named(term.draws(real) for term in self.terms if hasattr(term, "draws"))

    def discriminator_loss(self, forward: Forward) -> Loss:
        """D's loss: whole, adversarial alone, and its extra terms by name."""
        if not self.terms:
            adversarial = self.loss.discriminator_loss(forward)
            return Loss(adversarial, adversarial, {})
        terms = _named(term.discriminator_terms(forward) for term in self.terms)
        adversarial = self.loss.discriminator_loss(forward)
        return Loss(_total([adversarial, *terms.values()]), adversarial, terms)

    def generator_loss(self, forward: Forward) -> Loss:
        """G's loss: whole, adversarial alone (reported even where a term replaces it), and its
        extra terms by name."""
        if not self.terms:
            adversarial = self.loss.generator_loss(forward)
            return Loss(adversarial, adversarial, {})
        terms = _named(term.generator_terms(forward) for term in self.terms)
        adversarial = self.loss.generator_loss(forward)
        counted = [adversarial] if self.adversarial_g else []
        return Loss(_total([*counted, *terms.values()]), adversarial, terms)


def _named(parts: Iterable[Terms]) -> Terms:
    """The terms' values in one mapping; a name given twice is a mistake in a term."""
    merged: Terms = {}
    for part in parts:
        repeated = (merged.keys() | set(RESERVED)) & part.keys()
        if repeated:
            raise ValueError(f"two terms of the objective are named {', '.join(sorted(repeated))}"
                             f" (generator and discriminator name the whole losses)")
        merged |= part
    return merged


def _total(values: Sequence[torch.Tensor]) -> torch.Tensor:
    """values[0] + values[1] + ..., left to right (the order fixes the float rounding)."""
    if not values:
        raise ValueError("the generator's loss is empty: a term replaces the adversarial loss "
                         "but adds nothing")
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total

