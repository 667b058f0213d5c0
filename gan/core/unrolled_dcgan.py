"""Stacked MNIST's networks: the small DCGAN of the Unrolled GAN setting (Metz et al. 2017,
"Unrolled Generative Adversarial Networks", appendix) with the discriminator a quarter of the
generator, as PacGAN's public code builds it (Lin et al. 2018; fjxmlzn/PacGAN,
stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G/model.py, Table 3's "D = 1/4 G").

Both are the protocol's functions of the protocol's data: its generator ends in tanh on
[-1, 1] and its discriminator reads [-1, 1]; gan-lab's images are in [0, 1], so the generator's
output is (tanh + 1) / 2 and the discriminator first maps x to 2x - 1.

Feature maps have the protocol's sizes (28 -> 14 -> 7 -> 4 and back). Where TensorFlow's 'SAME'
padding is odd (stride 2 on 28 and 14 pixels), TensorFlow puts the extra row and column after
the image and PyTorch's padding=1 pads both sides: the same layers, with the sampling grid one
pixel apart. PyTorch's padding is the default, since TensorFlow's costs a pad (D) or a crop (G)
per layer: G's forward and backward took about 1.4x as long on this project's CPU;
`tensorflow_padding=True` pads exactly as the protocol's code does.

Initialisation as DCGAN-tensorflow's ops (which the protocol's code uses): convolution weights
truncated normal(0, 0.02) (cut at two standard deviations, as TensorFlow's), transposed
convolution and linear weights normal(0, 0.02), biases zero, batch norm's scale 1 and shift 0;
batch norm's running statistics decay by 0.9 a step (PyTorch's momentum 0.1) with eps 1e-5.
"""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gan.core.layers import FlattenHWC
from gan.core.networks import BatchLayer, Discriminator, Generator, check_prior, initialise
from gan.errors import ConfigError

STD = 0.02  # every weight's initial standard deviation (DCGAN-tensorflow's `stddev`)
LEAK = 0.3  # the discriminator's LeakyReLU slope (the protocol's `lrelu(..., leak=0.3)`)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding (before, after) of one side of `size` pixels: the output
    has ceil(size / stride) pixels, and the odd pixel of padding goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class StridedSameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's 'SAME': (B, C, H, W) -> (B, O, ceil(H / s),
    ceil(W / s)). With stride 2 on 28 pixels that is 14 with the padding after the image,
    where PyTorch's padding=1 would give 14 by padding both sides (a one-pixel shift)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad as 'SAME' for this input's size, then convolve unpadded."""
        (kernel_h, kernel_w), (stride_h, stride_w) = self.kernel_size, self.stride
        top, bottom = same_padding(x.shape[-2], kernel_h, stride_h)
        left, right = same_padding(x.shape[-1], kernel_w, stride_w)
        return super().forward(F.pad(x, (left, right, top, bottom)))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """A transposed convolution to a given output size, as TensorFlow's `conv2d_transpose`
    with 'SAME' padding: the exact adjoint of `StridedSameConv2d` from `size` to the input's
    size. The unpadded result ((H - 1) s + k pixels) is cropped by the 'SAME' padding of `size`:
    4 -> 7 -> 14 -> 28 for the protocol's generator."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *,
                 stride: int, size: tuple[int, int]) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride)
        self.size = size  # (H, W) of the output
        self.crop = [same_padding(side, kernel_size, stride)[0] for side in size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, O, *size)."""
        (top, left), (height, width) = self.crop, self.size
        full = super().forward(x)  # (B, O, (h - 1) s + k, (w - 1) s + k)
        if full.shape[-2] < top + height or full.shape[-1] < left + width:
            raise ValueError(f"a transposed convolution to {height} x {width} got an input of "
                             f"{tuple(x.shape[-2:])}, too small")
        return full[..., top:top + height, left:left + width]


def unrolled_init(layer: nn.Module) -> None:
    """The protocol's initialisation of one layer (DCGAN-tensorflow's ops; module docstring);
    a layer of another kind with parameters is refused."""
    if isinstance(layer, nn.ConvTranspose2d | nn.Linear):  # before Conv2d: not a subclass
        nn.init.normal_(layer.weight, mean=0.0, std=STD)
    elif isinstance(layer, nn.Conv2d):
        nn.init.trunc_normal_(layer.weight, mean=0.0, std=STD, a=-2 * STD, b=2 * STD)
    elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
        nn.init.ones_(layer.weight)
    elif any(True for _ in layer.parameters(recurse=False)):
        raise TypeError(f"the unrolled_dcgan initialisation has no rule for "
                        f"{type(layer).__name__}")
    bias = getattr(layer, "bias", None)
    if isinstance(bias, torch.Tensor):
        nn.init.zeros_(bias)


def upsample(in_channels: int, out_channels: int, size_in: tuple[int, int],
             size: tuple[int, int], tensorflow_padding: bool) -> nn.Module:
    """A 3x3 stride-2 transposed convolution from `size_in` to `size` (each side 2n - 1 or 2n
    of n): TensorFlow's 'SAME' padding, or PyTorch's padding=1 with the output_padding that
    gives `size` (module docstring)."""
    if tensorflow_padding:
        return SameConvTranspose2d(in_channels, out_channels, 3, stride=2, size=size)
    extra = tuple(side - (2 * side_in - 1) for side_in, side in zip(size_in, size, strict=True))
    return nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                              output_padding=extra)


def downsample(in_channels: int, out_channels: int, tensorflow_padding: bool) -> nn.Module:
    """A 3x3 stride-2 convolution, n -> ceil(n / 2) pixels a side: TensorFlow's 'SAME' padding,
    or PyTorch's padding=1 (module docstring)."""
    if tensorflow_padding:
        return StridedSameConv2d(in_channels, out_channels, 3, stride=2)
    return nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)


def _norm(channels: int) -> nn.BatchNorm2d:
    """Batch norm as the protocol's (decay 0.9, eps 1e-5)."""
    return nn.BatchNorm2d(channels, momentum=0.1, eps=1e-5)


def halvings(image_shape: Sequence[int], times: int = 3) -> list[tuple[int, int]]:
    """The (H, W) sizes of the protocol's feature maps, from the image down by stride-2 'SAME'
    steps: [(28, 28), (14, 14), (7, 7), (4, 4)] for 28 x 28. Refused unless (C, H, W)."""
    if len(image_shape) != 3:
        raise ConfigError(f"the unrolled_dcgan networks make and judge images (C, H, W), not "
                          f"samples of shape {tuple(image_shape)}")
    sizes = [tuple(image_shape[1:])]
    for _ in range(times):
        sizes.append(tuple(math.ceil(side / 2) for side in sizes[-1]))
    return sizes


class UnrolledDCGANGenerator(Generator):
    """Noise (B, noise_dim) -> Linear to (B, 8c, 4, 4), BN, ReLU -> [ConvT 3x3/2, BN, ReLU] to
    4c at 7x7, 2c at 14x14, c at 28x28 -> Conv 3x3/1 to C -> (tanh + 1) / 2: images
    (B, C, H, W) in [0, 1]. The protocol: z of 256 from a standard normal, c = 8 (64, 32, 16,
    8 channels), C = 3; 287,875 parameters. `tensorflow_padding`: pad as the protocol's code
    (module docstring)."""

    def __init__(self, noise_dim: int = 256, channels: int = 8,
                 image_shape: Sequence[int] = (3, 28, 28), prior: str = "normal",
                 tensorflow_padding: bool = False) -> None:
        super().__init__(noise_dim, image_shape)
        self.prior = check_prior(prior)
        sizes = halvings(self.image_shape)[::-1]  # [(4, 4), (7, 7), (14, 14), (28, 28)]
        widths = [8 * channels, 4 * channels, 2 * channels, channels]
        self.start = (widths[0], *sizes[0])
        self.project = nn.Sequential(nn.Linear(noise_dim, math.prod(self.start)),
                                     nn.Unflatten(1, self.start), _norm(widths[0]), nn.ReLU())
        upsampling = []
        for width_in, width_out, size_in, size in zip(widths[:-1], widths[1:], sizes[:-1],
                                                      sizes[1:], strict=True):
            upsampling += [upsample(width_in, width_out, size_in, size, tensorflow_padding),
                           _norm(width_out), nn.ReLU()]
        self.net = nn.Sequential(
            *upsampling,  # (B, c, H, W)
            nn.Conv2d(channels, self.image_shape[0], 3, padding=1),  # stride 1: 'SAME' is 1, 1
            nn.Tanh(),
        )
        initialise(self, unrolled_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map noise (B, noise_dim) to images (B, C, H, W) in [0, 1]."""
        return (self.net(self.project(z)) + 1) / 2


class Signed(nn.Module):
    """Images in [0, 1] -> [-1, 1] (2x - 1): the range the protocol's discriminator reads."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the same shape."""
        return images * 2 - 1


class UnrolledDCGANDiscriminator(Discriminator):
    """Images (B, C, H, W) in [0, 1] -> 2x - 1 -> [Conv 3x3/2, BN, LeakyReLU(0.3)] to c,
    2c, 4c channels (28 -> 14 -> 7 -> 4) -> features (B, 4c * 4 * 4), channels fastest ->
    logit. The protocol's D = 1/4 G is c = 2 (2, 4, 8 channels, 585 parameters on 3 channels);
    D = 1/2 G is c = 4. `tensorflow_padding`: pad as the protocol's code (module docstring).
    `joint_batch_norm`: normalise real and generated images as one batch, as gan-lab's other
    batch-norm discriminators do; the protocol's code runs D on each apart (`batch_statistics`).
    `batch_norm=False` drops the batch norms (R3GAN's networks have none: a zero-centred
    gradient penalty through batch norm is of a function of the whole batch, not of each image).
    `packing`, `augment` and `batch_layer` as `Discriminator`'s (with
    packing m, the first convolution reads m * C channels: PacDCGAN-m)."""

    def __init__(self, channels: int = 2, image_shape: Sequence[int] = (3, 28, 28),
                 tensorflow_padding: bool = False, joint_batch_norm: bool = False,
                 batch_norm: bool = True, packing: int = 1,
                 augment: nn.Module | None = None,
                 batch_layer: BatchLayer | None = None) -> None:
        sizes = halvings(image_shape)
        widths = [packing * image_shape[0], channels, 2 * channels, 4 * channels]
        layers: list[nn.Module] = [Signed()]
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [downsample(width_in, width_out, tensorflow_padding),
                       _norm(width_out) if batch_norm else nn.Identity(), nn.LeakyReLU(LEAK)]
        body = nn.Sequential(*layers, FlattenHWC())  # (B, 4c * 4 * 4)
        super().__init__(body, widths[-1] * math.prod(sizes[-1]), initialiser=unrolled_init,
                         packing=packing, augment=augment, batch_layer=batch_layer)
        self.joint_batch_norm = joint_batch_norm

    @property
    def batch_statistics(self) -> bool:
        """Whether the step gives D real and generated images as one batch (2B): only with
        `joint_batch_norm`. By default, as the protocol's code (separate D(real) and D(fake)
        calls, each normalised by its own batch's statistics; G's update sees the generated
        batch alone), the step runs D on each apart."""
        return self.joint_batch_norm and super().batch_statistics
