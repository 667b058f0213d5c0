"""Networks: the `Generator` and `Discriminator` interfaces the step and the metrics use, and
the seed's fully connected generator and FC or CNN discriminators. A new architecture is a
subclass of either, here or in a module of its own beside this one."""

import functools
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from gan.core.layers import FlattenHWC, SameConv2d
from gan.errors import ConfigError


def seed_normal_(layer: nn.Linear | nn.Conv2d) -> None:
    """Initialise as the seed: weights normal(0, 1/sqrt(n/2)), biases zero.

    The seed's `weight_init(shape)` divides by `shape[0]` of the TensorFlow-shaped weight: that
    is fan_in for a dense layer ([in, out]), but the kernel height for a convolution
    ([kh, kw, in, out]); we keep that literally so the CNN starts where the seed's did.
    """
    n = layer.in_features if isinstance(layer, nn.Linear) else layer.kernel_size[0]
    nn.init.normal_(layer.weight, mean=0.0, std=1.0 / math.sqrt(n / 2.0))
    nn.init.zeros_(layer.bias)


Initialiser = Callable[[nn.Module], None]  # initialises one layer's own parameters in place


def seed_init(layer: nn.Module) -> None:
    """The seed's initialisation of one layer: dense and convolutional layers as `seed_normal_`,
    batch norm as scale 1 and shift 0; a layer of any other kind with parameters is refused
    (its initialisation would otherwise be PyTorch's default, silently)."""
    if isinstance(layer, nn.Linear | nn.Conv2d):
        seed_normal_(layer)
    elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
        nn.init.ones_(layer.weight)
        nn.init.zeros_(layer.bias)
    elif any(True for _ in layer.parameters(recurse=False)):
        raise TypeError(f"the seed's initialisation has no rule for {type(layer).__name__}")


def initialise(network: nn.Module, initialiser: Initialiser) -> None:
    """Apply a network's initialiser to each of its layers, in order (the order the seed's
    random draws come in)."""
    for layer in network.modules():
        initialiser(layer)


def has_batch_norm(network: nn.Module) -> bool:
    """Whether any layer of the network is batch norm."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())


def running_state(network: nn.Module) -> str:
    """Why K copies of a network cannot train as one stack: "" where it keeps no buffers,
    else the layers whose running state (batch norm's statistics, ...) updates in place."""
    kinds = sorted({type(m).__name__ for m in network.modules()
                    if any(True for _ in m.buffers(recurse=False))})
    return f"{type(network).__name__} keeps running state ({', '.join(kinds)})" if kinds else ""


PRIORS = ("uniform", "normal")  # what z may be drawn from: uniform(-1, 1) or normal(0, 1)


class Generator(nn.Module):
    """Maps noise (B, noise_dim) to samples (B, *image_shape): images (B, C, H, W) in [0, 1], or
    points (B, 2) of a 2D mixture. The loop reads `noise_dim`, and `prior`, the distribution z
    is drawn from: the seed's uniform(-1, 1) unless a subclass sets "normal" (the mode-collapse
    benchmarks' protocols draw z from a standard normal)."""

    prior: str = "uniform"

    @property
    def not_stackable(self) -> str:
        """Why K runs of this network cannot stack ("" if they can): `running_state`."""
        return running_state(self)

    def __init__(self, noise_dim: int, image_shape: Sequence[int]) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.image_shape = tuple(image_shape)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images (n, C, H, W) in [0, 1] from noise (n, noise_dim), in eval mode; a conditional
    generator's of the requested classes `labels` (n,)."""
    was_training = generator.training
    generator.eval()
    images = generator(z) if labels is None else generator(z, labels)
    generator.train(was_training)
    return images


def pack(images: torch.Tensor, m: int) -> torch.Tensor:
    """(B, C, H, W) -> (B / m, m * C, H, W): each m consecutive images as one input; points
    (B, D) -> (B / m, m * D) alike (PacGAN's packing of 2D samples)."""
    batch, channels, *rest = images.shape
    if batch % m:
        raise ValueError(f"a batch of {batch} images does not pack into groups of {m}: "
                         f"train.batch_size must be divisible by remedy.packing.samples")
    return images.reshape(batch // m, m * channels, *rest)


def hidden_norm(hidden_dim: int, batch_norm: bool) -> list[nn.Module]:
    """Batch normalization of a hidden layer (remedy=batch_norm sets it), or nothing."""
    return [nn.BatchNorm1d(hidden_dim)] if batch_norm else []


class FCGenerator(Generator):
    """Noise (B, noise_dim) -> image (B, C, H, W) in [0, 1]: Linear, [BatchNorm], ReLU, Linear,
    Sigmoid."""

    def __init__(self, noise_dim: int = 100, hidden_dim: int = 256,
                 image_shape: Sequence[int] = (1, 28, 28), batch_norm: bool = False) -> None:
        super().__init__(noise_dim, image_shape)
        self.net = nn.Sequential(
            nn.Linear(noise_dim, hidden_dim),
            *hidden_norm(hidden_dim, batch_norm),
            nn.ReLU(),
            nn.Linear(hidden_dim, math.prod(self.image_shape)),
            nn.Sigmoid(),
        )
        initialise(self, seed_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map noise (B, noise_dim) to images (B, C, H, W)."""
        return self.net(z).view(-1, *self.image_shape)


BatchLayer = Callable[[int], nn.Module]  # feature_dim -> a layer adding `extra` features


class Discriminator(nn.Module):
    """A feature body then one linear logit; D(x) = sigmoid(logit) is left to the loss.
    `initialiser` initialises each layer (the seed's by default). What a remedy supplies, D
    takes as arguments (a subclass passes them on): with `packing` m (PacGAN), D judges m
    images at once: the body takes m times the image's channels, and a batch of B gives B/m
    logits; `augment` (images -> images of the same shape, DiffAugment) comes before
    everything; `batch_layer` makes, from `feature_dim`, a layer between the features and the
    logit that appends `extra` features of its own (minibatch discrimination)."""

    def __init__(self, body: nn.Module, feature_dim: int,
                 initialiser: Initialiser = seed_init, packing: int = 1,
                 augment: nn.Module | None = None, batch_layer: BatchLayer | None = None) -> None:
        super().__init__()
        if packing < 1:
            raise ConfigError(f"discriminator.packing must be >= 1, got {packing}")
        self.augment: nn.Module = augment if augment is not None else nn.Identity()
        self.body = body
        self.feature_dim = feature_dim
        self.initialiser = initialiser
        self.packing = packing
        self.batch_layer: nn.Module = nn.Identity()
        self.head = nn.Linear(feature_dim, out_features=1)
        initialise(self, initialiser)
        if batch_layer is not None:
            self._add_batch_layer(batch_layer)
        # A conditional run's label modules (`gan.core.conditioning` puts them in place); none
        # in an unconditional D, whose layers and state dict stay as they were.
        self.label_input: nn.Module | None = None  # (B, C, H, W), (B,) -> (B, C + e, H, W)
        self.projection: nn.Module | None = None  # labels (B,) -> (B, feature_dim)
        self.class_head: nn.Module | None = None  # features (B, feature_dim) -> (B, classes)

    def _add_batch_layer(self, make: BatchLayer) -> None:
        """Put `make(feature_dim)` before the logit, with a logit layer that reads its output.
        Made after the rest is initialised, and the logit layer drawn anew, because that is the
        order the random draws came in when a remedy added the layer to a built D: a seeded run
        starts from the same weights as it did then."""
        self.batch_layer = make(self.feature_dim)
        self.head = nn.Linear(self.feature_dim + self.batch_layer.extra, out_features=1)
        self.initialiser(self.head)

    @functools.cached_property
    def has_batch_norm(self) -> bool:
        """Whether any layer is batch norm; looked up once (layers are fixed once D is built)."""
        return has_batch_norm(self)

    @property
    def not_stackable(self) -> str:
        """Why K runs of this network cannot stack ("" if they can): its augmentation's reason
        (one that draws inside the forward), else `running_state`."""
        return getattr(self.augment, "not_stackable", "") or running_state(self)

    @property
    def batch_statistics(self) -> bool:
        """Whether D normalises by batch statistics (batch norm in training): then the step
        gives it real and generated images as one batch."""
        return self.training and self.has_batch_norm

    def features(self, images: torch.Tensor, labels: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """The last hidden layer's activations (B / packing, feature_dim) of images (B, C, H, W),
        augmented first where D has an augmentation; a conditional D (`label_input`) then
        joins the labels (B,) to its input."""
        images = self.augment(images)
        if self.label_input is not None:
            images = self.label_input(images, labels)  # (B, C + e, H, W)
        if self.packing > 1:
            images = pack(images, self.packing)
        return self.body(images)

    def classify(self, features: torch.Tensor, labels: torch.Tensor | None = None
                 ) -> torch.Tensor:
        """Logits (B,) from the last hidden layer's activations (B, feature_dim); a projection
        D adds <embed(y), features> for the labels (B,) (Miyato and Koyama 2018)."""
        logits = self.head(self.batch_layer(features)).squeeze(1)
        if self.projection is not None:
            logits = logits + (self.projection(labels) * features).sum(dim=1)
        return logits

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Logits (B,) for images (B, C, H, W) (and their labels (B,), where D is
        conditional)."""
        return self.classify(self.features(images, labels), labels)


class FCDiscriminator(Discriminator):
    """Image -> flatten -> Linear -> [BatchNorm] -> ReLU -> logit; `packing`, `augment` and
    `batch_layer` as `Discriminator`'s."""

    def __init__(self, hidden_dim: int = 256, image_shape: Sequence[int] = (1, 28, 28),
                 batch_norm: bool = False, packing: int = 1, augment: nn.Module | None = None,
                 batch_layer: BatchLayer | None = None) -> None:
        body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(packing * math.prod(image_shape), hidden_dim),
            *hidden_norm(hidden_dim, batch_norm),
            nn.ReLU(),
        )
        super().__init__(body, hidden_dim, packing=packing, augment=augment,
                         batch_layer=batch_layer)


class CNNDiscriminator(Discriminator):
    """Image -> conv k x k (SAME, stride 1) -> max-pool 2x2/2 -> ReLU -> Linear -> [BatchNorm] ->
    ReLU -> logit.

    The seed applies ReLU before the pooling; max and ReLU commute, so pooling first gives the
    same output on a quarter of the elements. Features are flattened in (H, W, C) order, as
    the seed's TensorFlow flattens its NHWC tensors. `packing`, `augment` and `batch_layer` as
    `Discriminator`'s.
    """

    def __init__(self, filters: int = 16, kernel_size: int = 5, hidden_dim: int = 256,
                 image_shape: Sequence[int] = (1, 28, 28), batch_norm: bool = False,
                 packing: int = 1, augment: nn.Module | None = None,
                 batch_layer: BatchLayer | None = None) -> None:
        channels, height, width = image_shape
        body = nn.Sequential(
            SameConv2d(packing * channels, filters, kernel_size),  # (B, F, H, W), stride 1
            nn.MaxPool2d(kernel_size=2, stride=2),  # (B, F, H/2, W/2)
            nn.ReLU(),
            FlattenHWC(),  # (B, H/2 * W/2 * F), 3136 for the seed
            nn.Linear(filters * (height // 2) * (width // 2), hidden_dim),
            *hidden_norm(hidden_dim, batch_norm),
            nn.ReLU(),
        )
        super().__init__(body, hidden_dim, packing=packing, augment=augment,
                         batch_layer=batch_layer)
        self.pooled_shape = (filters, height // 2, width // 2)

    # Version 2 flattens in (H, W, C) order; version 1 (no version recorded) in (C, H, W).
    _version = 2

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              *args: object) -> None:
        """Read a version-1 state dict by permuting its hidden layer's columns to (H, W, C)."""
        key = f"{prefix}body.4.weight"
        if local_metadata.get("version", 1) < 2 and key in state_dict:
            filters, height, width = self.pooled_shape
            columns = torch.arange(filters * height * width).view(filters, height, width)
            state_dict[key] = state_dict[key][:, columns.permute(1, 2, 0).flatten()]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)


# The generator's input: the seed's uniform(-1, 1) noise, or a standard normal (`Generator.prior`).

def check_prior(prior: str) -> str:
    """The prior's name, refused in one line unless it is one of `PRIORS`."""
    if prior not in PRIORS:
        raise ConfigError(f"generator.prior must be one of {', '.join(PRIORS)}, got {prior!r}")
    return prior


def fill_noise(buffer: torch.Tensor, prior: str = "uniform") -> torch.Tensor:
    """Redraw `buffer` in place from the prior (global stream) and return it."""
    return buffer.normal_() if prior == "normal" else buffer.uniform_(-1.0, 1.0)


def uniform_noise(n: int, noise_dim: int, device: torch.device,
                  prior: str = "uniform") -> torch.Tensor:
    """A fresh (n, noise_dim) draw from uniform(-1, 1) (or the `prior` named)."""
    return fill_noise(torch.empty(n, noise_dim, device=device), prior)


def seeded_uniform_noise(n: int, noise_dim: int, seed: int, device: torch.device,
                         prior: str = "uniform") -> torch.Tensor:
    """A fixed (n, noise_dim) uniform(-1, 1) (or `prior`) draw from its own CPU stream: the
    same on every device for a given seed, and the global random state is left as it was."""
    stream = torch.Generator().manual_seed(seed)
    if prior == "normal":
        return torch.randn(n, noise_dim, generator=stream).to(device)
    return (torch.rand(n, noise_dim, generator=stream) * 2 - 1).to(device)


class UniformNoise:
    """Per-step noise refilled in place in one buffer, so the loop allocates nothing for it;
    drawn from uniform(-1, 1), or from the generator's `prior` where one is named."""

    def __init__(self, batch_size: int, noise_dim: int, device: torch.device,
                 prior: str = "uniform") -> None:
        self.buffer = torch.empty(batch_size, noise_dim, device=device)  # (B, noise_dim)
        self.prior = check_prior(prior)

    def next(self) -> torch.Tensor:
        """Redraw the buffer from the prior and return it."""
        return fill_noise(self.buffer, self.prior)
