"""Stand-ins for real data, so unit tests need nothing on disk."""

import torch
from omegaconf import DictConfig


class FakeMNIST:
    """Looks like torchvision.datasets.MNIST to `ImageSource`: random pixels, cycling labels."""

    def __init__(self, root: str, train: bool = True, download: bool = False,
                 size: int = 64) -> None:
        generator = torch.Generator().manual_seed(0 if train else 1)
        self.data = torch.randint(0, 256, (size, 28, 28), dtype=torch.uint8,
                                  generator=generator)  # (N, H, W)
        self.targets = torch.arange(size) % 10  # (N,)


def use_fake_data(cfg: DictConfig) -> None:
    """Point a composed config's dataset at FakeMNIST (in place)."""
    cfg.dataset.make_dataset = {"_target_": "tests.fakes.FakeMNIST", "_partial_": True}
