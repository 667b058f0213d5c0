"""Stacked MNIST's networks (the Unrolled GAN setting, D = 1/4 G, as PacGAN's code builds them):
shapes, parameter counts against the protocol's, padding and initialisation."""

import math

import pytest
import torch
from torch import nn

from gan.core.unrolled_dcgan import (
    STD,
    SameConvTranspose2d,
    StridedSameConv2d,
    UnrolledDCGANDiscriminator,
    UnrolledDCGANGenerator,
    same_padding,
)
from gan.errors import ConfigError


def protocol_generator_parameters() -> int:
    """The trainable variables of the protocol's generator (model.py's 'g_' variables), by
    hand: linear 256 -> 4*4*64 with bias; deconvolutions 3x3 64 -> 32 -> 16 -> 8 and the 3x3
    convolution 8 -> 3, each with biases; batch norm's gamma and beta on 64, 32, 16 and 8."""
    linear = 256 * 4 * 4 * 64 + 4 * 4 * 64
    convolutions = sum(3 * 3 * c_in * c_out + c_out
                       for c_in, c_out in [(64, 32), (32, 16), (16, 8), (8, 3)])
    norms = 2 * (64 + 32 + 16 + 8)
    return linear + convolutions + norms  # 263,168 + 24,467 + 240


def protocol_discriminator_parameters(packing: int) -> int:
    """The protocol's 'd_' variables for PacDCGAN-m: 3x3 stride-2 convolutions 3m -> 2 -> 4 -> 8
    with biases, batch norm on 2, 4 and 8, and the linear logit from 4*4*8."""
    convolutions = sum(3 * 3 * c_in * c_out + c_out
                       for c_in, c_out in [(3 * packing, 2), (2, 4), (4, 8)])
    return convolutions + 2 * (2 + 4 + 8) + 4 * 4 * 8 + 1


def count(network: nn.Module) -> int:
    """The trainable parameters of a network."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)


def test_parameter_counts_are_the_protocols() -> None:
    assert protocol_generator_parameters() == 287875
    assert count(UnrolledDCGANGenerator()) == protocol_generator_parameters()
    for packing in (1, 2, 3, 4):  # 585, 639, 693, 747
        assert (count(UnrolledDCGANDiscriminator(packing=packing))
                == protocol_discriminator_parameters(packing))


@pytest.mark.parametrize("tensorflow_padding", [False, True])
def test_generator_makes_three_channel_images_in_the_unit_interval(
        tensorflow_padding: bool) -> None:
    torch.manual_seed(0)
    generator = UnrolledDCGANGenerator(tensorflow_padding=tensorflow_padding)
    assert generator.prior == "normal" and generator.noise_dim == 256
    images = generator(torch.randn(5, 256))
    assert images.shape == (5, 3, 28, 28)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("tensorflow_padding", [False, True])
def test_feature_maps_have_the_protocols_sizes(tensorflow_padding: bool) -> None:
    generator = UnrolledDCGANGenerator(tensorflow_padding=tensorflow_padding)
    x = generator.project(torch.randn(2, 256))
    sizes = [tuple(x.shape[1:])]
    for layer in generator.net:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(64, 4, 4), (32, 7, 7), (16, 14, 14), (8, 28, 28)]
    discriminator = UnrolledDCGANDiscriminator(tensorflow_padding=tensorflow_padding)
    x, sizes = torch.rand(2, 3, 28, 28), []
    for layer in discriminator.body:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(2, 14, 14), (4, 7, 7), (8, 4, 4)]


def test_discriminator_gives_one_logit_per_sample_or_per_pack() -> None:
    images = torch.rand(8, 3, 28, 28)
    assert UnrolledDCGANDiscriminator()(images).shape == (8,)
    packed = UnrolledDCGANDiscriminator(packing=2)
    assert packed.body[1].in_channels == 6
    assert packed(images).shape == (4,)


def test_discriminator_reads_the_protocols_range() -> None:
    discriminator = UnrolledDCGANDiscriminator()
    images = torch.rand(3, 3, 28, 28)
    torch.testing.assert_close(discriminator.body[0](images), images * 2 - 1)


def test_tensorflow_same_padding_puts_the_odd_pixel_after() -> None:
    assert same_padding(28, 3, 2) == (0, 1)
    assert same_padding(14, 3, 2) == (0, 1)
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(28, 3, 1) == (1, 1)


@pytest.mark.parametrize(("large", "small"), [(7, 4), (14, 7), (28, 14)])
def test_tensorflow_transposed_convolution_is_the_convolutions_adjoint(large: int,
                                                                       small: int) -> None:
    # conv2d_transpose is the gradient of conv2d: <conv(a), b> = <a, conv_transpose(b)>.
    torch.manual_seed(0)
    convolution = StridedSameConv2d(2, 3, 3, stride=2, bias=False)
    transposed = SameConvTranspose2d(3, 2, 3, stride=2, size=(large, large))
    nn.init.zeros_(transposed.bias)
    transposed.weight.data.copy_(convolution.weight.data)
    a, b = torch.randn(1, 2, large, large), torch.randn(1, 3, small, small)
    assert convolution(a).shape == b.shape
    torch.testing.assert_close((convolution(a) * b).sum(), (a * transposed(b)).sum())


def test_initialisation_is_dcgan_tensorflows() -> None:
    torch.manual_seed(0)
    generator, discriminator = UnrolledDCGANGenerator(), UnrolledDCGANDiscriminator()
    for layer in [*generator.modules(), *discriminator.modules()]:
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            assert torch.all(layer.weight == 1) and torch.all(layer.bias == 0)
            assert layer.momentum == 0.1 and layer.eps == 1e-5
        elif isinstance(layer, nn.Conv2d):  # truncated at two standard deviations
            assert layer.weight.abs().max() <= 2 * STD and torch.all(layer.bias == 0)
        elif isinstance(layer, nn.Linear | nn.ConvTranspose2d):
            assert torch.all(layer.bias == 0)
    assert math.isclose(float(generator.project[0].weight.detach().std()), STD, rel_tol=0.05)


def test_samples_of_another_shape_are_refused() -> None:
    with pytest.raises(ConfigError, match="images"):
        UnrolledDCGANGenerator(image_shape=(2,))
    with pytest.raises(ConfigError, match="images"):
        UnrolledDCGANDiscriminator(image_shape=(2,))


def test_batch_norm_sees_real_and_generated_apart_unless_joint() -> None:
    # The protocol's code calls D(real) and D(G(z)) apart; the step joins them only where
    # D's batch_statistics says so.
    apart, joint = UnrolledDCGANDiscriminator(), UnrolledDCGANDiscriminator(joint_batch_norm=True)
    assert not apart.batch_statistics and joint.batch_statistics
    assert not joint.eval().batch_statistics


def test_batch_norm_can_be_dropped() -> None:
    plain = UnrolledDCGANDiscriminator(batch_norm=False)
    assert not plain.has_batch_norm and not plain.batch_statistics
    # 585 parameters with batch norm, less its 2 * (2 + 4 + 8) scales and shifts
    assert sum(p.numel() for p in plain.parameters()) == 585 - 28
    images = torch.rand(4, 3, 28, 28)
    # no batch statistics: each image's logit is the same alone as in a batch
    torch.testing.assert_close(plain(images)[:1], plain(images[:1]))
