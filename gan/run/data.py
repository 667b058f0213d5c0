"""Training images as one tensor on the training device, and batches drawn from it by index."""

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from gan.errors import ConfigError, DataNotFoundError, first_line

DATA_ENV = "GAN_DATA_DIR"


@dataclass
class ImageSource:
    """A torchvision MNIST-style dataset on disk: its name, where it lives and how to read it."""

    name: str  # the config option (mnist, fashion_mnist); picks the evaluator classifier
    make_dataset: Callable[..., Dataset]  # e.g. partial(torchvision.datasets.MNIST)
    root: str  # a folder holding <Dataset>/raw/
    download: bool = True  # only tried when the files are missing

    def labelled(self, device: torch.device,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 1, H, W) as floats in [0, 1] and labels (N,) int64, both on device."""
        dataset = self._open(train)
        pixels = dataset.data  # (N, H, W) uint8, no per-sample transforms
        images = (pixels.to(device).unsqueeze(1).float() / 255.0).contiguous()
        return images, torch.as_tensor(dataset.targets, dtype=torch.long, device=device)

    def images(self, device: torch.device, train: bool = True) -> torch.Tensor:
        """Images (N, 1, H, W) as floats in [0, 1] on device (the training set by default)."""
        return self.labelled(device, train)[0]

    def _open(self, train: bool) -> Dataset:
        """The torchvision dataset, or a message that says where it was looked for; a lookup
        that fails leaves no folders behind (torchvision makes <root>/<Name>/raw to download)."""
        missing = Path(os.path.abspath(self.root)) / self._class_name() / "raw"
        made = []  # the folders a download would make: raw/ and every missing one above it
        while not missing.exists():
            made.append(missing)
            missing = missing.parent
        try:
            return self.make_dataset(root=self.root, train=train, download=self.download)
        except (RuntimeError, OSError) as error:
            for folder in made:  # deepest first; only those left empty
                with contextlib.suppress(OSError):  # not empty, or gone: leave it be
                    folder.rmdir()
            raise self._not_found(error) from error

    def _class_name(self) -> str:
        """The torchvision class's name (MNIST, FashionMNIST): its folder under the root."""
        return getattr(self.make_dataset, "func", self.make_dataset).__name__

    def _not_found(self, error: Exception) -> DataNotFoundError:
        """What is missing, where, and the two ways to fix it."""
        name = self._class_name()
        cause = first_line(error).rstrip(":")
        return DataNotFoundError(
            f"{name} was not found under {os.path.abspath(self.root)} and could not be "
            f"{'downloaded' if self.download else 'loaded (dataset.download=false)'}. Point the "
            f"environment variable {DATA_ENV} (or dataset.root=...) at a folder that holds "
            f"{name}/raw/ with the four uncompressed files train-images-idx3-ubyte, "
            f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte "
            f"(torchvision's layout), or run once where the network is reachable so torchvision "
            f"can fetch them. (torchvision said: {cause})")


def check_batch_size(batch_size: int, images: int) -> None:
    """Refuse batches larger than the training set (one pass must hold a batch)."""
    if batch_size > images:
        raise ConfigError(f"train.batch_size={batch_size} exceeds the {images} training images")


class DeviceBatcher:
    """Mini-batches drawn by index from a device-resident tensor, a fresh permutation each pass.

    Like the seed's `next_batch`: a batch that runs past the end of a pass takes the rest of it
    and the start of the next shuffled pass, so every image is seen once per pass.
    """

    def __init__(self, images: torch.Tensor, batch_size: int) -> None:
        check_batch_size(batch_size, len(images))
        self.images = images  # (N, C, H, W)
        self.batch_size = batch_size
        self.order = self._permutation()
        self.position = 0
        self.batch = images.new_empty(batch_size, *images.shape[1:])  # (B, C, H, W), reused

    def _permutation(self) -> torch.Tensor:
        """A fresh shuffle of all indices, made on the images' device."""
        return torch.randperm(len(self.images), device=self.images.device)

    def next(self) -> torch.Tensor:
        """The next (B, C, H, W) batch, written into one reused buffer; no copy to or from the
        host and no sync."""
        end = self.position + self.batch_size
        if end <= len(self.order):
            index = self.order[self.position:end]
            self.position = end
        else:
            rest = self.order[self.position:]
            self.order = self._permutation()
            self.position = self.batch_size - len(rest)
            index = torch.cat([rest, self.order[:self.position]])
        return torch.index_select(self.images, 0, index, out=self.batch)

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        """The pass's order and position, so a resumed run draws the same batches."""
        return {"order": self.order, "position": self.position}

    def load_state_dict(self, state: dict[str, torch.Tensor | int]) -> None:
        """Continue from a saved order and position."""
        self.order = state["order"].to(self.images.device)
        self.position = int(state["position"])
