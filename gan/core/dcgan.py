"""DCGAN's networks (Radford et al. 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks"), sized for 28 x 28 images, with DCGAN's own
initialisation: every weight normal(0, 0.02), batch norm's scale normal(1, 0.02)."""

import math
from collections.abc import Sequence

import torch
from torch import nn

from gan.core.layers import FlattenHWC
from gan.core.networks import BatchLayer, Discriminator, Generator, initialise
from gan.errors import ConfigError


def dcgan_init(layer: nn.Module) -> None:
    """DCGAN's initialisation of one layer; a layer of another kind with parameters is refused."""
    if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(layer.weight, mean=0.0, std=0.02)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
        nn.init.normal_(layer.weight, mean=1.0, std=0.02)
        nn.init.zeros_(layer.bias)
    elif any(True for _ in layer.parameters(recurse=False)):
        raise TypeError(f"DCGAN's initialisation has no rule for {type(layer).__name__}")


def _quarter(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """(C, H/4, W/4): two stride-2 stages each way; refused unless H and W divide by 4."""
    channels, height, width = image_shape
    if height % 4 or width % 4:
        raise ConfigError(f"the dcgan networks need image sides divisible by 4, got "
                          f"{height} x {width}")
    return channels, height // 4, width // 4


def _norm(channels: int, batch_norm: bool) -> list[nn.Module]:
    """Batch norm of a feature map, or nothing."""
    return [nn.BatchNorm2d(channels)] if batch_norm else []


class DCGANGenerator(Generator):
    """Noise (B, noise_dim) -> Linear to (B, 4c, H/4, W/4), [BN], ReLU -> ConvT 4x4/2 to 2c at
    H/2, [BN], ReLU -> ConvT 4x4/2 to C at H -> Sigmoid: images (B, C, H, W) in [0, 1]."""

    def __init__(self, noise_dim: int = 100, channels: int = 64,
                 image_shape: Sequence[int] = (1, 28, 28), batch_norm: bool = True) -> None:
        super().__init__(noise_dim, image_shape)
        out_channels, height, width = _quarter(image_shape)
        self.start = (4 * channels, height, width)
        self.project = nn.Sequential(nn.Linear(noise_dim, math.prod(self.start)),
                                     nn.Unflatten(1, self.start),
                                     *_norm(4 * channels, batch_norm), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * channels, 2 * channels, 4, stride=2, padding=1),  # (B,2c,H/2)
            *_norm(2 * channels, batch_norm), nn.ReLU(),
            nn.ConvTranspose2d(2 * channels, out_channels, 4, stride=2, padding=1),  # (B, C, H)
            nn.Sigmoid(),
        )
        initialise(self, dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map noise (B, noise_dim) to images (B, C, H, W)."""
        return self.net(self.project(z))


class DCGANDiscriminator(Discriminator):
    """Image (B, C, H, W) -> Conv 4x4/2 to c, LeakyReLU(0.2) -> Conv 4x4/2 to 2c, [BN],
    LeakyReLU(0.2) -> features (B, 2c * H/4 * W/4), flattened channels fastest -> logit.
    (DCGAN leaves batch norm out of D's first layer.)"""

    def __init__(self, channels: int = 64, image_shape: Sequence[int] = (1, 28, 28),
                 batch_norm: bool = True, packing: int = 1, augment: nn.Module | None = None,
                 batch_layer: BatchLayer | None = None) -> None:
        in_channels, height, width = _quarter(image_shape)
        body = nn.Sequential(
            nn.Conv2d(packing * in_channels, channels, 4, stride=2, padding=1),  # (B, c, H/2)
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1),  # (B, 2c, H/4, W/4)
            *_norm(2 * channels, batch_norm),
            nn.LeakyReLU(0.2),
            FlattenHWC(),
        )
        super().__init__(body, 2 * channels * height * width, initialiser=dcgan_init,
                         packing=packing, augment=augment, batch_layer=batch_layer)
