"""Stand-ins for real data and for parts a config may name, so unit tests need nothing on disk."""

from collections.abc import Sequence

import torch
from omegaconf import DictConfig
from torch import nn

from gan.core.networks import FCGenerator
from gan.core.objective import Forward


class FakeMNIST:
    """Looks like torchvision.datasets.MNIST to `ImageSource`: random pixels, cycling labels."""

    def __init__(self, root: str, train: bool = True, download: bool = False,
                 size: int = 64) -> None:
        generator = torch.Generator().manual_seed(0 if train else 1)
        self.data = torch.randint(0, 256, (size, 28, 28), dtype=torch.uint8,
                                  generator=generator)  # (N, H, W)
        self.targets = torch.arange(size) % 10  # (N,)


def use_fake_data(cfg: DictConfig) -> None:
    """Point a composed config's dataset at FakeMNIST (in place), where it reads images from
    disk (the 2D mixtures are drawn: nothing to fake)."""
    if "make_dataset" in cfg.dataset:
        cfg.dataset.make_dataset = {"_target_": "tests.fakes.FakeMNIST", "_partial_": True}


def forward_of(real_logits: torch.Tensor | None = None,
               fake_logits: torch.Tensor | None = None) -> Forward:
    """A `Forward` holding just D's logits (B,), for the losses that read only them."""
    empty = torch.empty(0)
    return Forward(empty, empty, empty, empty,
                   empty if real_logits is None else real_logits,
                   empty if fake_logits is None else fake_logits, nn.Identity())


class ScoreLoss:
    """An adversarial loss with no `real_target` option, whose D outputs a score (a hinge)."""

    probability = None

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
        return (torch.relu(1 - forward.real_logits).mean()
                + torch.relu(1 + forward.fake_logits).mean())

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        """-mean(D(G(z)))."""
        return -forward.fake_logits.mean()


class PlainGenerator(FCGenerator):
    """A generator with no `batch_norm` option."""

    def __init__(self, noise_dim: int = 100, hidden_dim: int = 256,
                 image_shape: Sequence[int] = (1, 28, 28)) -> None:
        super().__init__(noise_dim, hidden_dim, image_shape)


def make_score_loss() -> ScoreLoss:
    """A loss made by a factory function, as a `_target_` may name one."""
    return ScoreLoss()


# What a remedy needs beside it to be a valid selection: slot_norm splits G's batch norm by D's
# packed slots, so it needs packing and a generator with batch norm (it is refused otherwise).
REMEDY_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "slot_norm": (("packing", "batch_norm"), ()),
}


def with_needs(remedies: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """`remedy=[...]` for these remedies, with the remedies each needs added, and the overrides
    they need (`REMEDY_NEEDS`)."""
    names, overrides = list(remedies), []
    for remedy in remedies:
        extra, settings = REMEDY_NEEDS.get(remedy, ((), ()))
        names = [*[name for name in extra if name not in names], *names]
        overrides += [setting for setting in settings if setting not in overrides]
    return f"remedy=[{','.join(names)}]", tuple(overrides)
