"""Minibatch discrimination (Salimans et al. 2016), and the cheaper minibatch standard deviation:
D sees how each sample relates to the rest of its batch, so a collapsed batch gives itself away.
`remedy=minibatch_discrimination` gives `minibatch_layer` to the discriminator as its
`batch_layer` argument: the layer sits between D's last hidden layer and its logit."""

import torch
from torch import nn

from gan.errors import ConfigError


class MinibatchFeatures(nn.Module):
    """Features (N, A) -> (N, A + kernels): each of `kernels` learned projections to `dims`
    values, and for each sample the sum over the batch of exp(-L1 distance) to the others."""

    def __init__(self, in_features: int, kernels: int = 50, dims: int = 5) -> None:
        super().__init__()
        self.kernels, self.dims = kernels, dims
        self.tensor = nn.Parameter(torch.randn(in_features, kernels * dims) * 0.05)
        self.extra = kernels

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Append the minibatch features."""
        m = (features @ self.tensor).view(-1, self.kernels, self.dims).transpose(0, 1)  # (K,N,D)
        distances = torch.cdist(m, m, p=1)  # (K, N, N) L1; 4x faster than broadcasting here
        closeness = torch.exp(-distances).sum(dim=2) - 1.0  # (K, N), oneself excluded
        return torch.cat([features, closeness.T], dim=1)


class MinibatchStddev(nn.Module):
    """Features (N, A) -> (N, A + 1): the mean over features of their standard deviation across
    the batch, the same for every sample (Karras et al. 2018)."""

    extra = 1

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Append the batch's mean feature deviation."""
        spread = features.std(dim=0, unbiased=False).mean()  # ()
        return torch.cat([features, spread.expand(len(features), 1)], dim=1)


def minibatch_layer(in_features: int, kind: str = "learned", kernels: int = 50,
                    dims: int = 5) -> MinibatchFeatures | MinibatchStddev:
    """The minibatch layer for D's features (N, in_features): `learned` (kernels x dims
    projections, `MinibatchFeatures`) or `stddev` (`MinibatchStddev`); another kind is refused."""
    if kind not in ("learned", "stddev"):
        raise ConfigError(f"remedy.minibatch_discrimination.kind must be learned or stddev, "
                          f"got {kind!r}")
    return MinibatchFeatures(in_features, kernels, dims) if kind == "learned" else MinibatchStddev()
