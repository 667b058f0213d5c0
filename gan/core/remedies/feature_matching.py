"""Feature matching (Salimans et al. 2016): G matches the mean of D's features on real data."""

import torch

from gan.core.objective import Forward, Terms
from gan.core.remedies.base import Remedy


class FeatureMatching(Remedy):
    """G's loss gains `feature_matching` = weight * ||mean f(x) - mean f(G(z))||^2 over D's last
    hidden layer f; with `replace`, it takes the adversarial loss's place, as in the paper (other
    remedies' terms still count)."""

    per_run = ("weight",)

    def __init__(self, weight: float = 1.0, replace: bool = False) -> None:
        self.weight = weight
        self.replaces_generator_loss = replace

    @staticmethod
    def distance(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
        """Squared distance between the batch means of features (B, F); D's side is fixed."""
        return (real_features.detach().mean(dim=0) - fake_features.mean(dim=0)).square().sum()

    def generator_terms(self, forward: Forward) -> Terms:
        """The weighted feature distance, a () tensor."""
        return {"feature_matching":
                self.weight * self.distance(forward.real_features, forward.fake_features)}
