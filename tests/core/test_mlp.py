"""The 2D mixtures' networks: the protocol's shapes, sizes and initialisation."""

import pytest
import torch

from gan.core.mlp import Maxout, MaxoutDiscriminator, MLPGenerator
from gan.errors import ConfigError


def count(module: torch.nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in module.parameters())


def test_the_generator_maps_normal_noise_to_points() -> None:
    generator = MLPGenerator()
    assert generator.prior == "normal" and generator.noise_dim == 2
    assert generator(torch.randn(5, 2)).shape == (5, 2)
    # The protocol's: 4 hidden layers of 400 without bias (batch norm shifts), a biased output.
    assert count(generator) == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + 400 * 2 + 2
    linear = [m for m in generator.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.bias is None for m in linear] == [True] * 4 + [False]
    assert 0.015 < linear[1].weight.std() < 0.025  # normal(0, 0.02)


def test_maxout_takes_the_largest_of_each_group_of_pieces() -> None:
    layer = Maxout(1, features=2, pieces=3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [3.0], [2.0], [-1.0], [-4.0], [0.5]]))
        layer.linear.bias.zero_()
    assert layer(torch.tensor([[1.0], [-1.0]])).tolist() == [[3.0, 0.5], [-1.0, 4.0]]


def test_maxout_sends_the_gradient_to_the_winning_piece_only() -> None:
    layer = Maxout(1, features=2, pieces=3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [3.0], [2.0], [-1.0], [-4.0], [0.5]]))
        layer.linear.bias.zero_()
    layer(torch.tensor([[1.0]])).sum().backward()  # winners: piece 1 of unit 0, piece 2 of unit 1
    assert layer.linear.bias.grad.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_the_discriminator_judges_points_and_packs_them() -> None:
    discriminator = MaxoutDiscriminator()
    assert discriminator(torch.randn(6, 2)).shape == (6,)
    # 3 maxout layers of 200 units x 5 pieces, then the logit.
    assert count(discriminator) == (2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    packed = MaxoutDiscriminator(packing=3)
    assert packed(torch.randn(6, 2)).shape == (2,)  # 6 points judged 3 at a time


@pytest.mark.parametrize("make", [lambda: MLPGenerator(image_shape=(1, 28, 28)),
                                  lambda: MaxoutDiscriminator(image_shape=(1, 28, 28))])
def test_the_networks_refuse_images(make) -> None:
    with pytest.raises(ConfigError, match="points"):
        make()
