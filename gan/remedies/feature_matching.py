"""Feature matching (Salimans et al. 2016): G matches the mean of D's features on real data."""

from typing import TYPE_CHECKING

import torch

from gan.remedies.base import Remedy

if TYPE_CHECKING:
    from gan.step import AdversarialStep, Forward


class FeatureMatching(Remedy):
    """G's loss gains weight * ||mean f(x) - mean f(G(z))||^2 over D's last hidden layer f;
    with `replace`, it is G's whole loss, as in the paper."""

    def __init__(self, weight: float = 1.0, replace: bool = False) -> None:
        self.weight = weight
        self.replace = replace

    @staticmethod
    def distance(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
        """Squared distance between the batch means of features (B, F); D's side is fixed."""
        return (real_features.detach().mean(dim=0) - fake_features.mean(dim=0)).square().sum()

    def generator_loss(self, forward: "Forward", loss: torch.Tensor,
                       step: "AdversarialStep") -> torch.Tensor:
        """The usual G loss (unless replaced) plus the weighted feature distance."""
        term = self.weight * self.distance(forward.real_features, forward.fake_features)
        return term if self.replace else loss + term
