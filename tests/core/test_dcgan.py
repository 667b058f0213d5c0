"""DCGAN's networks: shapes, range, DCGAN's initialisation on every layer, and the refusals."""

import pytest
import torch
from torch import nn

from gan.core.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init
from gan.core.networks import seed_init
from gan.errors import ConfigError


def test_the_generator_draws_28_by_28_images_in_0_1() -> None:
    torch.manual_seed(0)
    images = DCGANGenerator()(torch.rand(5, 100) * 2 - 1)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    layers = [type(m) for m in DCGANGenerator().net if isinstance(m, nn.ConvTranspose2d)]
    assert len(layers) == 2  # 7 -> 14 -> 28


def test_the_discriminator_gives_one_logit_per_image_from_strided_convolutions() -> None:
    discriminator = DCGANDiscriminator()
    features = discriminator.features(torch.rand(3, 1, 28, 28))
    assert features.shape == (3, 128 * 7 * 7) == (3, discriminator.feature_dim)
    assert discriminator(torch.rand(3, 1, 28, 28)).shape == (3,)
    strides = [m.stride for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2), (2, 2)]
    assert any(isinstance(m, nn.LeakyReLU) for m in discriminator.modules())


@pytest.mark.parametrize("network", [DCGANGenerator, DCGANDiscriminator])
def test_every_layer_has_dcgans_initialisation(network: type[nn.Module]) -> None:
    torch.manual_seed(0)
    built = network(channels=128)
    for layer in built.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            assert layer.weight.std().item() == pytest.approx(0.02, rel=0.2), layer
            assert torch.count_nonzero(layer.bias) == 0
        elif isinstance(layer, nn.BatchNorm2d):
            assert layer.weight.mean().item() == pytest.approx(1.0, abs=0.01)


def test_an_initialiser_refuses_a_layer_it_has_no_rule_for() -> None:
    # PyTorch's default would otherwise stay, silently (a transposed convolution under the
    # seed's rule, which knows only dense and convolutional layers).
    with pytest.raises(TypeError, match="no rule for ConvTranspose2d"):
        seed_init(nn.ConvTranspose2d(2, 2, 4))
    with pytest.raises(TypeError, match="no rule for Bilinear"):
        dcgan_init(nn.Bilinear(2, 2, 2))


def test_image_sides_must_divide_by_four() -> None:
    with pytest.raises(ConfigError, match="divisible by 4, got 30 x 30"):
        DCGANGenerator(image_shape=(1, 30, 30))


def test_batch_norm_can_be_left_out() -> None:
    for network in (DCGANGenerator(batch_norm=False), DCGANDiscriminator(batch_norm=False)):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in network.modules())
