"""Class-conditional GANs: how a label y conditions both networks (`conditioning=...`).

A conditional run trains G(z, y) and D(x, y). Every method feeds G the label the same way, as
Mirza and Osindero's conditional GAN (2014) does: an embedding of y (learned, or one-hot)
joins z, so the wrapped generator is the configured one built with a wider input
(`ConditionalGenerator`). They differ in how D reads y:

- `Concat` (Mirza and Osindero 2014): y joins D's input, as extra channels of the image
  (one learned H x W map, or K constant one-hot maps) or extra coordinates of a point.
- `ACGAN` (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs"):
  D reads the image alone and also classifies it; the cross-entropy of its class logits joins
  D's loss on real and generated samples and G's loss on generated ones.
- `Projection` (Miyato and Koyama 2018, "cGANs with Projection Discriminator"): D's logit
  gains <embed(y), phi(x)>, the inner product of a learned label embedding with D's features.

A conditioning is a term of the objective (`gan.core.objective.Term`; only ACGAN's adds
anything), and puts its label modules into the built networks (`attach`) before the optimizers
are made, so they train with their network and their checkpoint keeps them.
"""

import math

import torch
from torch import nn

from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms
from gan.errors import ConfigError

LABEL_PRIORS = ("uniform", "data")  # the generator's labels: uniform over classes, or as the data
EMBEDDINGS = ("learned", "onehot")  # how a label becomes a vector


class OneHot(nn.Module):
    """Labels (B,) int64 -> one-hot rows (B, classes) float: a fixed embedding."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        """(B,) -> (B, classes)."""
        return nn.functional.one_hot(labels, self.classes).float()


def label_embedding(kind: str, classes: int, dim: int) -> nn.Module:
    """A label's vector (B,) -> (B, dim): learned (`nn.Embedding`, normal(0, 1)) or one-hot
    (then dim is the number of classes). Raises ConfigError for another kind."""
    if kind == "onehot":
        return OneHot(classes)
    if kind == "learned":
        return nn.Embedding(classes, dim)
    raise ConfigError(f"conditioning.embedding must be one of {', '.join(EMBEDDINGS)}, got "
                      f"{kind!r}")


class ConditionalGenerator(Generator):
    """G(z, y) = G'(concat(z, embed(y))): the configured generator G', built for an input of
    noise_dim + the embedding's width, behind a label embedding. z (B, noise_dim), labels (B,)
    int64 in [0, classes) -> samples (B, *image_shape)."""

    def __init__(self, generator: Generator, embedding: nn.Module, noise_dim: int,
                 classes: int) -> None:
        super().__init__(noise_dim, generator.image_shape)
        self.generator = generator
        self.embedding = embedding
        self.classes = classes
        self.prior = generator.prior

    @property
    def not_stackable(self) -> str:
        """Why K runs of it cannot stack: the wrapped generator's reason."""
        return self.generator.not_stackable

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Samples (B, *image_shape) of the requested classes (B,) from noise (B, noise_dim)."""
        return self.generator(torch.cat([z, self.embedding(labels)], dim=1))


class LabelMaps(nn.Module):
    """D's input with the label joined as extra channels: images (B, C, H, W) and labels (B,)
    -> (B, C + e, H, W), where the label's vector (B, e * H * W) is laid out as e maps of H x W
    (a learned embedding: e = 1, one map per class; one-hot: e = classes constant maps). Points
    (B, D) get e extra coordinates."""

    def __init__(self, embedding: nn.Module, maps: int, sample_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.embedding = embedding
        self.maps = maps
        self.plane = sample_shape[1:]  # (H, W) of an image; () of a point

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W), (B,) -> (B, C + maps, H, W)."""
        vectors = self.embedding(labels)  # (B, maps * H * W) learned, or (B, classes) one-hot
        if isinstance(self.embedding, OneHot) and self.plane:  # a constant map per class
            maps = vectors[:, :, None, None].expand(-1, -1, *self.plane)
        else:
            maps = vectors.view(len(labels), self.maps, *self.plane)
        return torch.cat([images, maps.to(images.dtype)], dim=1)


class Conditioning:
    """How labels condition the networks; subclasses say how D reads them (see the module).

    `labels`: where the generator's labels come from, "uniform" over the classes or "data"
    (the training set's label frequencies). `embedding`: how G (and `Concat`'s D) turn a label
    into a vector, "learned" (`embedding_dim` wide; default the number of classes) or "onehot".
    Raises ConfigError for an unknown `labels` or `embedding`, or a non-positive width.
    """

    replaces_generator_loss = False
    packable = True  # whether D may judge m packed samples at once (remedy=packing)
    # Whether G's loss reads the label in a term of its own (AC-GAN's class term): then a
    # remedy may replace the adversarial loss (feature matching's `replace`) and G still
    # learns the classes; otherwise only the adversarial loss carries the condition.
    generator_term = False
    not_stackable = ""

    def __init__(self, labels: str = "uniform", embedding: str = "learned",
                 embedding_dim: int | None = None) -> None:
        if labels not in LABEL_PRIORS:
            raise ConfigError(f"conditioning.labels must be one of {', '.join(LABEL_PRIORS)}, "
                              f"got {labels!r}")
        if embedding not in EMBEDDINGS:
            raise ConfigError(f"conditioning.embedding must be one of {', '.join(EMBEDDINGS)}, "
                              f"got {embedding!r}")
        if embedding_dim is not None and embedding_dim < 1:
            raise ConfigError(f"conditioning.embedding_dim must be >= 1, got {embedding_dim}")
        if embedding_dim is not None and embedding == "onehot":
            raise ConfigError(f"conditioning.embedding_dim={embedding_dim} sets a learned "
                              "embedding's width; a one-hot one is as wide as the classes "
                              "(set conditioning.embedding=learned, or drop embedding_dim)")
        self.labels = labels
        self.embedding = embedding
        self.embedding_dim = embedding_dim
        self.classes = 0  # set by `attach`

    @property
    def name(self) -> str:
        """The option's name (concat, acgan, projection)."""
        return type(self).__name__.lower()

    def label_width(self, classes: int) -> int:
        """How many numbers G's label vector adds to z."""
        if self.embedding == "onehot":
            return classes
        return self.embedding_dim or classes

    def generator_input(self, noise_dim: int, classes: int) -> int:
        """The width of the configured generator's input: z and the label's vector."""
        return noise_dim + self.label_width(classes)

    def discriminator_channels(self, classes: int) -> int:
        """Channels (coordinates, for points) D's input gains per sample: none unless `Concat`."""
        return 0

    def check_terms(self, terms: list) -> None:
        """Refuse, in one line, a term that replaces G's adversarial loss (feature matching
        with `replace`) where only that loss tells G which class it was asked for."""
        replacing = [type(t).__name__ for t in terms if t.replaces_generator_loss]
        if replacing and not self.generator_term:
            raise ConfigError(f"{', '.join(replacing)} replaces G's adversarial loss, the only "
                              f"part of it that carries the label under conditioning="
                              f"{self.name}: G would no longer learn the classes asked of it "
                              "(use conditioning=acgan, or a term that adds to the loss)")

    def wrap_generator(self, generator: Generator, noise_dim: int,
                       classes: int) -> ConditionalGenerator:
        """G(z, y) around the configured generator built for `generator_input`."""
        embedding = label_embedding(self.embedding, classes, self.label_width(classes))
        return ConditionalGenerator(generator, embedding, noise_dim, classes)

    def attach(self, discriminator: Discriminator, classes: int,
               sample_shape: tuple[int, ...]) -> None:
        """Put D's label modules in place (before the optimizers are made); `sample_shape` is
        one sample's (C, H, W) or (D,). Raises ConfigError where D packs samples and this
        method cannot judge a packed group's labels."""
        self.classes = classes
        if discriminator.packing > 1 and not self.packable:
            raise ConfigError(f"conditioning={self.name} gives each sample one label, but "
                              f"remedy=packing makes D judge {discriminator.packing} samples "
                              "at once; use conditioning=concat with packing")

    # The objective's Term interface: nothing unless ACGAN.

    def draws(self, real: torch.Tensor) -> Terms:
        """No random tensors."""
        return {}

    def discriminator_terms(self, forward: Forward) -> Terms:
        """Nothing added to D's loss."""
        return {}

    def generator_terms(self, forward: Forward) -> Terms:
        """Nothing added to G's loss."""
        return {}


class Concat(Conditioning):
    """D reads the label joined to its input (`LabelMaps`): Mirza and Osindero 2014."""

    def discriminator_channels(self, classes: int) -> int:
        """One learned map, or a constant one-hot map per class."""
        return classes if self.embedding == "onehot" else 1

    def attach(self, discriminator: Discriminator, classes: int,
               sample_shape: tuple[int, ...]) -> None:
        """D's input gains the label maps (its body was built for the wider input)."""
        super().attach(discriminator, classes, sample_shape)
        maps = self.discriminator_channels(classes)
        embedding = label_embedding(self.embedding, classes, maps * math.prod(sample_shape[1:]))
        discriminator.label_input = LabelMaps(embedding, maps, sample_shape)


class Projection(Conditioning):
    """D's logit gains <embed(y), phi(x)> over its features phi(x) (B, F): Miyato and Koyama
    2018, eq. 3 (their psi(phi(x)) is D's existing logit layer)."""

    packable = False

    def attach(self, discriminator: Discriminator, classes: int,
               sample_shape: tuple[int, ...]) -> None:
        """D gains the projection embedding (classes, F), drawn normal(0, 0.02) so the logit
        starts near the unconditional one."""
        super().attach(discriminator, classes, sample_shape)
        projection = nn.Embedding(classes, discriminator.feature_dim)
        nn.init.normal_(projection.weight, std=0.02)
        discriminator.projection = projection


class ACGAN(Conditioning):
    """D also classifies its input (a linear layer on its features, K logits); the
    cross-entropy of the true class joins D's loss on real and generated samples, and of the
    requested class G's loss on generated ones, each times `weight` (Odena et al. 2017, eq. 2:
    D maximises L_S + L_C, G maximises L_C - L_S)."""

    packable = False
    generator_term = True  # class_generated: G learns the classes from it alone

    def __init__(self, weight: float = 1.0, labels: str = "uniform", embedding: str = "learned",
                 embedding_dim: int | None = None) -> None:
        super().__init__(labels, embedding, embedding_dim)
        if not weight > 0:
            raise ConfigError(f"conditioning.weight must be positive, got {weight}")
        self.weight = weight

    def attach(self, discriminator: Discriminator, classes: int,
               sample_shape: tuple[int, ...]) -> None:
        """D gains its class head: Linear(F, classes), initialised as D's other layers."""
        super().attach(discriminator, classes, sample_shape)
        head = nn.Linear(discriminator.feature_dim, classes)
        discriminator.initialiser(head)
        discriminator.class_head = head

    def discriminator_terms(self, forward: Forward) -> Terms:
        """`class_real` + `class_fake`: D's cross-entropy on the real batch's labels and on
        the generated batch's requested ones."""
        head = forward.discriminator.class_head
        labels = forward.labels
        real = nn.functional.cross_entropy(head(forward.real_features), labels.real)
        fake = nn.functional.cross_entropy(head(forward.fake_features), labels.fake)
        return {"class_real": self.weight * real, "class_fake": self.weight * fake}

    def generator_terms(self, forward: Forward) -> Terms:
        """`class_generated`: the cross-entropy of D's class logits on G's samples against
        the classes requested of it."""
        head = forward.discriminator.class_head
        loss = nn.functional.cross_entropy(head(forward.fake_features), forward.labels.fake)
        return {"class_generated": self.weight * loss}


class LabelDraw:
    """The classes requested of the generator each step, refilled in place in one buffer (B,)
    int64 (the loop allocates nothing for them): uniform over `classes`, or, given the data's
    label `frequencies` (classes,), drawn as often as the data has them."""

    def __init__(self, batch_size: int, classes: int, device: torch.device,
                 frequencies: torch.Tensor | None = None) -> None:
        self.buffer = torch.empty(batch_size, dtype=torch.long, device=device)  # (B,)
        self.classes = classes
        self.frequencies = None if frequencies is None else frequencies.to(device).double()

    def next(self) -> torch.Tensor:
        """Redraw the buffer and return it."""
        if self.frequencies is None:
            return self.buffer.random_(0, self.classes)
        return torch.multinomial(self.frequencies, len(self.buffer), replacement=True,
                                 out=self.buffer)


def label_frequencies(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """The fraction of each class among the data's labels (N,): (classes,) summing to 1."""
    counts = torch.bincount(labels, minlength=classes).double()  # (classes,)
    return counts / counts.sum()


GRID_ROWS = 10  # a class grid's rows at most: every class of MNIST's, ten of more


def grid_classes(classes: int, device: torch.device | None = None) -> torch.Tensor:
    """The classes (R,) int64 a class grid shows, one per row: every class where there are at
    most GRID_ROWS, else GRID_ROWS evenly spaced from the first to the last (Stacked MNIST's
    1,000 modes: 000, 111, ..., 999, each digit in all three channels)."""
    if classes <= GRID_ROWS:
        return torch.arange(classes, device=device)
    return torch.linspace(0, classes - 1, GRID_ROWS, device=device).round().long()


def grid_rows(classes: int) -> int:
    """How many rows a class grid of `classes` has (`grid_classes`)."""
    return min(classes, GRID_ROWS)


def class_grid(z: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A class grid's inputs from one noise vector per column z (C, noise_dim): row r asks
    for the r-th of `grid_classes` with every column's z, so a column shows one style across
    the classes. Returns z (R * C, noise_dim) and labels (R * C,), row by row."""
    rows = grid_classes(classes, z.device)
    return z.repeat(len(rows), 1), rows.repeat_interleave(len(z))


def grid_labels(n: int, classes: int, device: torch.device) -> torch.Tensor:
    """The labels (n,) of a class grid of n = R * C samples (`class_grid`'s)."""
    return grid_classes(classes, device).repeat_interleave(n // grid_rows(classes))


def balanced_labels(n: int, classes: int, device: torch.device) -> torch.Tensor:
    """n labels (n,) cycling through the classes (0, 1, ..., K-1, 0, ...): every class asked
    for as often as the others (to within one), as a conditional run is scored. Fewer labels
    than classes are spread evenly over them instead (k * K // n: Stacked MNIST's 100 final
    samples ask for 000, 010, ..., 990, not 000 to 099)."""
    if n < classes:
        return torch.arange(n, device=device) * classes // n
    return torch.arange(n, device=device) % classes
