"""An exponential moving average of the generator's weights, for samples and metrics."""

import copy

import torch
from torch.optim.swa_utils import update_bn

from gan.core.networks import Discriminator, Generator, has_batch_norm, seeded_uniform_noise
from gan.core.remedies.base import Remedy
from gan.core.remedies.slot_norm import plain_batch_norm

STATISTICS_SEED = 0  # of the noise the average's batch-norm statistics are measured on


@torch.no_grad()
def standing_statistics(generator: Generator, batches: int = 16, batch_size: int = 128) -> None:
    """Measure the batch-norm running statistics of `generator`'s own weights, in place: reset,
    then the cumulative average over `batches` forwards of (batch_size, noise_dim) uniform
    noise in training mode (`torch.optim.swa_utils.update_bn`; "standing statistics", Brock
    et al. 2019). The noise is a fixed draw from its own stream, so the statistics depend on
    the weights alone and the global random state is untouched. No-op without batch norm.

    Why: an average of weights is not the network whose activations the trained generator's
    statistics describe, and in eval mode a batch-norm layer normalises by its statistics, so
    the average sampled with the trained one's is off its own scale (see docs/remedies.md, EMA)."""
    if not has_batch_norm(generator):
        return
    device = next(generator.parameters()).device
    z = seeded_uniform_noise(batches * batch_size, generator.noise_dim, STATISTICS_SEED, device,
                             generator.prior)
    classes = getattr(generator, "classes", 0)  # a conditional generator: every class in turn
    model = (generator if not classes else _AskingForEveryClass(
        generator, spread_labels(batches, batch_size, classes, device)))
    update_bn(z.view(batches, batch_size, -1), model)  # (batches, B, noise_dim)


def spread_labels(batches: int, batch_size: int, classes: int,
                  device: torch.device) -> torch.Tensor:
    """Labels (batches * batch_size,) for `batches` batches in turn, each batch spread evenly
    over all the classes and every class asked for as often as the others (to within one):
    sample j of batch b asks for ((j * batches + b) * K) // n. Batch norm's statistics are
    averaged over batches of within-batch moments, so a batch asking for a run of neighbouring
    classes (Stacked MNIST's 128 modes sharing a red digit) would leave out the spread between
    the runs."""
    n = batches * batch_size
    spread = torch.arange(n, device=device) * classes // n  # (n,) ascending, each class n / K
    return spread.view(batch_size, batches).T.reshape(-1)  # batch b: spread[b::batches]


class _AskingForEveryClass(torch.nn.Module):
    """A conditional generator as `update_bn` calls it, with z (B, noise_dim) alone: its
    batches ask for `labels` (n,) in order (`spread_labels`: every class in every batch where
    a batch holds them all)."""

    def __init__(self, generator: Generator, labels: torch.Tensor) -> None:
        super().__init__()
        self.generator = generator
        self.train(generator.training)  # update_bn puts back the mode it finds
        self.labels = labels  # (n,), consumed in order
        self.asked = 0  # how many of them the batches so far took

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, noise_dim) -> samples (B, *image_shape), asking for the next B labels."""
        labels = self.labels[self.asked:self.asked + len(z)]
        self.asked += len(z)
        return self.generator(z, labels)


class EMA(Remedy):
    """After each step: ema <- decay * ema + (1 - decay) * weights. Samples, metrics and
    `gan.sample` / `gan.evaluate` then use the average, its batch-norm statistics measured for
    its own weights before each read (`standing_statistics`); training still updates the
    generator. Source: the average of Yazıcı et al. 2019, "The unusual effectiveness of
    averaging in GAN training"."""

    per_run = ("decay",)  # read by each run's own `after_update`, outside the vmap

    def __init__(self, decay: float = 0.999) -> None:
        self.decay = decay
        self.generator: Generator | None = None

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Start the average at the generator's initial weights. The average is sampled, never
        trained, so its batch norm is the plain layer whatever the remedies' order
        (`remedy=slot_norm` normalises the trained generator's packed slots apart)."""
        self.generator = plain_batch_norm(copy.deepcopy(generator)).requires_grad_(False)
        self.pairs = list(zip(self.generator.parameters(), generator.parameters(), strict=True))

    @torch.no_grad()
    def after_update(self) -> None:
        """Move the average towards the current weights."""
        averages, weights = zip(*self.pairs, strict=True)
        torch._foreach_lerp_(list(averages), list(weights), 1.0 - self.decay)

    def before_sampling(self) -> None:
        """The average's batch-norm statistics, measured for its weights as they now are."""
        if self.generator is not None:
            standing_statistics(self.generator)

    def sampler(self) -> Generator | None:
        """The averaged generator."""
        return self.generator
