"""The 2D mixtures' networks (VEEGAN's protocol as PacGAN's public code builds them, Lin et al.
2018): a fully connected ReLU generator with batch norm, and a maxout discriminator (Goodfellow
et al. 2013), every weight drawn from normal(0, 0.02), biases zero."""

from collections.abc import Sequence

import torch
from torch import nn

from gan.core.networks import BatchLayer, Discriminator, Generator, check_prior, initialise
from gan.errors import ConfigError


def normal_init(layer: nn.Module) -> None:
    """The protocol's initialisation of one layer: weights normal(0, 0.02), biases zero, batch
    norm's scale 1 and shift 0; a layer of another kind with parameters is refused."""
    if isinstance(layer, nn.Linear):
        nn.init.normal_(layer.weight, mean=0.0, std=0.02)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
        nn.init.ones_(layer.weight)
        nn.init.zeros_(layer.bias)
    elif any(True for _ in layer.parameters(recurse=False)):
        raise TypeError(f"the mixtures' initialisation has no rule for {type(layer).__name__}")


class MLPGenerator(Generator):
    """Noise (B, noise_dim) -> `layers` x [Linear (no bias), BatchNorm, ReLU] of `hidden_dim`
    -> Linear: points (B, D), unbounded. The protocol: z of 2 from a standard normal, 4 hidden
    layers of 400; batch norm's running statistics move by 0.05 a step, as the protocol's."""

    def __init__(self, noise_dim: int = 2, hidden_dim: int = 400, layers: int = 4,
                 image_shape: Sequence[int] = (2,), prior: str = "normal",
                 batch_norm: bool = True) -> None:
        super().__init__(noise_dim, image_shape)
        if len(self.image_shape) != 1:
            raise ConfigError(f"generator=mlp makes points (D,), not samples of shape "
                              f"{self.image_shape}")
        self.prior = check_prior(prior)
        widths = [noise_dim, *[hidden_dim] * layers]
        hidden = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            # No bias where batch norm follows: its shift is the bias.
            hidden += [nn.Linear(width_in, width_out, bias=not batch_norm),
                       *([nn.BatchNorm1d(width_out, momentum=0.05)] if batch_norm else []),
                       nn.ReLU()]
        self.net = nn.Sequential(*hidden, nn.Linear(widths[-1], self.image_shape[0]))
        initialise(self, normal_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map noise (B, noise_dim) to points (B, D)."""
        return self.net(z)


class Maxout(nn.Module):
    """A linear layer to `features * pieces` units, then the largest of each `pieces`
    consecutive ones: (B, in) -> (B, features) (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, features: int, pieces: int) -> None:
        super().__init__()
        self.features, self.pieces = features, pieces
        self.linear = nn.Linear(in_features, features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in) -> (B, features). `max` rather than `amax`: its backward scatters the
        gradient to the one winning piece by index, where `amax`'s compares every piece with the
        maximum and divides among ties (ties have measure zero); a 2D step is ~14% faster."""
        return self.linear(x).view(-1, self.features, self.pieces).max(dim=2).values


class MaxoutDiscriminator(Discriminator):
    """Points (B, D) -> `layers` maxout layers of `hidden_dim` units x `pieces` -> logit. The
    protocol: 3 layers of 200 units x 5 pieces. `packing` m judges m points at once (PacGAN),
    `batch_layer` as `Discriminator`'s."""

    def __init__(self, hidden_dim: int = 200, pieces: int = 5, layers: int = 3,
                 image_shape: Sequence[int] = (2,), packing: int = 1,
                 augment: nn.Module | None = None,
                 batch_layer: BatchLayer | None = None) -> None:
        if len(image_shape) != 1:
            raise ConfigError(f"discriminator=maxout judges points (D,), not samples of shape "
                              f"{tuple(image_shape)}")
        widths = [packing * image_shape[0], *[hidden_dim] * layers]
        body = nn.Sequential(*(Maxout(width_in, width_out, pieces) for width_in, width_out
                               in zip(widths[:-1], widths[1:], strict=True)))
        super().__init__(body, hidden_dim, initialiser=normal_init, packing=packing,
                         augment=augment, batch_layer=batch_layer)
