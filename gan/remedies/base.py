"""What a remedy may change: each hook leaves things as they are unless a remedy overrides it."""

from typing import TYPE_CHECKING, Any

import torch

from gan.models import Discriminator, Generator

if TYPE_CHECKING:
    from gan.step import AdversarialStep, Forward


class Remedy:
    """A trick against mode collapse, plugged into the step at fixed points.

    Hooks run inside the captured CUDA-graph step, so they keep to tensor work (no host reads).
    """

    d_steps: int = 1  # D updates per call (balance)
    g_steps: int = 1  # G updates per call (balance)

    def discriminator(self, discriminator: Discriminator) -> Discriminator:
        """The discriminator with this remedy's layers (before the optimizers are made)."""
        return discriminator

    def attach(self, step: "AdversarialStep") -> None:
        """Set up state that reads the built step's parameters."""

    def discriminator_loss(self, forward: "Forward", loss: torch.Tensor,
                           step: "AdversarialStep") -> torch.Tensor:
        """D's loss with this remedy's term."""
        return loss

    def generator_loss(self, forward: "Forward", loss: torch.Tensor,
                       step: "AdversarialStep") -> torch.Tensor:
        """G's loss with this remedy's term."""
        return loss

    def after_update(self, step: "AdversarialStep") -> None:
        """Run after each call's updates (in place: running averages)."""

    def state_dict(self) -> dict[str, Any]:
        """State a checkpoint must keep to continue the run exactly (tensors, lists, numbers)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict`'s state, in place (a captured CUDA graph holds the tensors)."""

    def sampler(self) -> Generator | None:
        """A generator to draw samples and metrics from instead of the trained one, if any."""
        return None
