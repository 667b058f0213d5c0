"""The seed's networks: sizes, initialisation, shapes."""

import math

import pytest
import torch
from torch import nn

from gan.core.networks import CNNDiscriminator, FCDiscriminator, FCGenerator, seed_normal_


def count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(("network", "expected"), [
    (FCGenerator(), 227_344),
    (FCDiscriminator(), 201_217),
    (CNNDiscriminator(), 803_745),
])
def test_parameter_counts_match_the_seed(network: nn.Module, expected: int) -> None:
    assert count(network) == expected


def test_dense_init_std_is_one_over_sqrt_half_fan_in() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(784, 2048)
    seed_normal_(layer)
    assert layer.weight.mean().abs() < 0.002
    assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(784 / 2), rel=0.01)
    assert torch.all(layer.bias == 0)


def test_conv_init_follows_the_seeds_shape0_rule() -> None:
    # The seed's weight_init([5, 5, 1, 16]) divides by shape[0] = 5 (the kernel height).
    torch.manual_seed(0)
    layer = nn.Conv2d(1, 4096, 5)
    seed_normal_(layer)
    assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(5 / 2), rel=0.01)
    assert torch.all(layer.bias == 0)


@pytest.mark.parametrize("network", [FCGenerator(), FCDiscriminator(), CNNDiscriminator()])
def test_every_layer_is_seed_initialised(network: nn.Module) -> None:
    layers = [m for m in network.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    assert len(layers) >= 2
    for layer in layers:
        fan = layer.in_features if isinstance(layer, nn.Linear) else layer.kernel_size[0]
        assert torch.all(layer.bias == 0)
        # Small layers (256 -> 1, the 400-weight conv) have few weights: allow sampling noise.
        tolerance = 0.25 if layer.weight.numel() < 1000 else 0.05
        assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(fan / 2), rel=tolerance)


def test_generator_maps_noise_to_images_in_unit_interval() -> None:
    z = torch.empty(8, 100).uniform_(-1, 1)
    images = FCGenerator()(z)
    assert images.shape == (8, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("discriminator", [FCDiscriminator(), CNNDiscriminator()])
def test_discriminators_give_one_logit_per_image(discriminator: nn.Module) -> None:
    images = torch.rand(8, 1, 28, 28)
    assert discriminator(images).shape == (8,)
    assert discriminator.features(images).shape == (8, 256)


def test_cnn_pool_then_relu_equals_the_seeds_relu_then_pool() -> None:
    torch.manual_seed(0)
    cnn = CNNDiscriminator()
    images = torch.rand(4, 1, 28, 28)
    conv, pool = cnn.body[0], cnn.body[1]
    seed_order = pool(torch.relu(conv(images)))
    ours = cnn.body[:3](images)
    assert seed_order.shape == (4, 16, 14, 14)
    torch.testing.assert_close(ours, seed_order)


def test_sizes_are_configurable() -> None:
    generator = FCGenerator(noise_dim=10, hidden_dim=32)
    cnn = CNNDiscriminator(filters=4, kernel_size=3, hidden_dim=8)
    assert generator(torch.zeros(2, 10)).shape == (2, 1, 28, 28)
    assert cnn(torch.zeros(2, 1, 28, 28)).shape == (2,)
    assert count(cnn) == (3 * 3 * 4 + 4) + (4 * 14 * 14 * 8 + 8) + 9


def test_cnn_reads_state_dicts_saved_before_the_hwc_flatten() -> None:
    torch.manual_seed(0)
    current = CNNDiscriminator()
    # What the version-1 model (nn.Flatten, (C, H, W) order) saved for the same function.
    old = current.state_dict()
    columns = torch.arange(3136).view(14, 14, 16)  # (H, W, C) positions of the new columns
    old["body.4.weight"] = old["body.4.weight"][:, columns.permute(2, 0, 1).flatten()]
    old._metadata[""]["version"] = 1
    loaded = CNNDiscriminator()
    loaded.load_state_dict(old)
    images = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(loaded(images), current(images))
    fresh = CNNDiscriminator()
    fresh.load_state_dict(current.state_dict())  # the current version loads unchanged
    torch.testing.assert_close(fresh(images), current(images))
