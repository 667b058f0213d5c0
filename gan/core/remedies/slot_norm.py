"""Batch norm per packed slot: G's batch norm normalises each of PacGAN's m slots apart, as the
paper's code does by running G once per slot (Lin et al. 2018, PacGAN; its public code,
`synthetic_data_experiments` and `stacked_MNIST_experiments`: m calls of G on a batch each, the
m outputs packed side by side). gan-lab's packing runs G once over the step's m * B samples, so
its batch norm normalises all of them together; `remedy=[packing,slot_norm]` normalises as the
paper's code."""

import torch
from torch import nn
from torch.nn import functional

from gan.core.networks import Discriminator, Generator
from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


class PerSlot:
    """A batch norm layer that, in training, normalises samples n = i * slots + j (the j-th of
    every group of `slots`, the j-th slot of D's packs) apart for each j, with the layer's one
    scale and shift; its running statistics move by `momentum` towards the mean of the slots'
    statistics (the paper's code merges the slots' updates so). In eval mode, and with one
    slot, it is the plain layer (in eval mode the running statistics normalise every sample).
    Source: Ioffe and Szegedy 2015 per slot; the running average as PacGAN's Blocks code."""

    slots: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) or (N, C, H, W) -> the same shape, N a multiple of `slots`."""
        if not self.training or self.slots == 1:
            return super().forward(x)  # type: ignore[misc]
        batch, channels = x.shape[0], self.num_features
        if batch % self.slots:
            raise ValueError(f"a batch of {batch} samples does not split into {self.slots} "
                             "slots: train.batch_size must be divisible by remedy.packing.samples")
        # (N, C, ...) -> (N / m, m * C, ...): slot j's channel c is channel j * C + c, so one
        # batch norm over the channels of the view normalises each slot by its own statistics.
        grouped = x.reshape(batch // self.slots, self.slots * channels, *x.shape[2:])
        running = self.track_running_stats and self.running_mean is not None
        mean = self.running_mean.repeat(self.slots) if running else None  # (m * C,)
        variance = self.running_var.repeat(self.slots) if running else None
        normalised = functional.batch_norm(
            grouped, mean, variance, _repeated(self.weight, self.slots),
            _repeated(self.bias, self.slots), training=True, momentum=self._factor(),
            eps=self.eps)
        if running:
            with torch.no_grad():  # each slot's update made from the same old value: average
                self.running_mean.copy_(mean.view(self.slots, channels).mean(0))
                self.running_var.copy_(variance.view(self.slots, channels).mean(0))
                self.num_batches_tracked.add_(1)
        return normalised.reshape(x.shape)

    def _factor(self) -> float:
        """How far the running statistics move this step: `momentum`, or with momentum None a
        cumulative average (PyTorch's rule)."""
        if self.momentum is not None:
            return self.momentum
        return 1.0 / (float(self.num_batches_tracked) + 1.0)


def _repeated(parameter: torch.Tensor | None, times: int) -> torch.Tensor | None:
    """A scale or shift (C,) for every slot: (m * C,), its gradient summed over the slots."""
    return None if parameter is None else parameter.repeat(times)


class SlotBatchNorm1d(PerSlot, nn.BatchNorm1d):
    """`nn.BatchNorm1d` normalising per packed slot (`PerSlot`)."""


class SlotBatchNorm2d(PerSlot, nn.BatchNorm2d):
    """`nn.BatchNorm2d` normalising per packed slot (`PerSlot`)."""


PER_SLOT: dict[type, type] = {nn.BatchNorm1d: SlotBatchNorm1d, nn.BatchNorm2d: SlotBatchNorm2d}
PLAIN = {per_slot: plain for plain, per_slot in PER_SLOT.items()}


def normalise_per_slot(network: nn.Module, slots: int) -> int:
    """Make every batch norm layer of `network` normalise per slot, in place: each layer
    becomes its per-slot class, with its parameters and buffers the same objects and its
    state_dict unchanged (a checkpoint loads either way). Returns the number of layers."""
    layers = [m for m in network.modules() if type(m) in PER_SLOT or isinstance(m, PerSlot)]
    for layer in layers:
        if not isinstance(layer, PerSlot):
            layer.__class__ = PER_SLOT[type(layer)]  # the same object: nothing to copy or move
        layer.slots = slots
    return len(layers)


def plain_batch_norm(network: nn.Module) -> nn.Module:
    """Undo `normalise_per_slot`, in place: every per-slot layer its plain class again (a copy
    that is sampled, never trained: an EMA's average). Returns the network."""
    for layer in network.modules():
        if isinstance(layer, PerSlot):
            layer.__class__ = PLAIN[type(layer)]
    return network


class SlotNorm(Remedy):
    """G's batch norm normalises each of D's packed slots apart (module docstring): with
    `remedy.packing.samples` m, G's m * B samples a step are m batches of B to its batch norm,
    sample i * m + j in slot j, as PacGAN's code runs G once per slot. Needs packing and a
    generator with batch norm; refused otherwise, in one line."""

    not_stackable = "slot_norm is on G's batch norm, whose running statistics update in place"

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Turn G's batch norm layers into per-slot ones for D's packing."""
        slots = getattr(discriminator, "packing", 1)
        if slots < 2:
            raise ConfigError("remedy=slot_norm normalises G's samples per packed slot, and D "
                              "packs none: add remedy=packing (or a setup=pacgan2 ... preset)")
        if not normalise_per_slot(generator, slots):
            raise ConfigError(f"remedy=slot_norm changes G's batch norm, and generator "
                              f"{type(generator).__name__} has none (remedy=batch_norm adds it "
                              "where the generator has that option)")
