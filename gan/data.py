"""Training images as one tensor on the training device, and batches drawn from it by index."""

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

from gan.errors import ConfigError, DataNotFoundError

DATA_ENV = "GAN_DATA_DIR"


def load_images(make_dataset: Callable[..., Dataset], root: str, download: bool,
                device: torch.device) -> torch.Tensor:
    """Load a torchvision MNIST-style training set as floats in [0, 1], (N, 1, H, W) on device."""
    try:
        dataset = make_dataset(root=root, train=True, download=download)
    except (RuntimeError, OSError) as error:
        name = getattr(make_dataset, "func", make_dataset).__name__  # MNIST, FashionMNIST
        cause = (str(error) or type(error).__name__).splitlines()[0].rstrip(":")
        raise DataNotFoundError(
            f"{name} was not found under {Path(root).resolve()} and could not be "
            f"{'downloaded' if download else 'loaded (dataset.download=false)'}. Point the "
            f"environment variable {DATA_ENV} (or dataset.root=...) at a folder that holds "
            f"{name}/raw/ with the four uncompressed files train-images-idx3-ubyte, "
            f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte "
            f"(torchvision's layout), or run once where the network is reachable so torchvision "
            f"can fetch them. (torchvision said: {cause})"
        ) from error
    pixels = dataset.data  # (N, H, W) uint8, no per-sample transforms
    return (pixels.to(device).unsqueeze(1).float() / 255.0).contiguous()


class DeviceBatcher:
    """Mini-batches drawn by index from a device-resident tensor, a fresh permutation each pass.

    Like the seed's `next_batch`: a batch that runs past the end of a pass takes the rest of it
    and the start of the next shuffled pass, so every image is seen once per pass.
    """

    def __init__(self, images: torch.Tensor, batch_size: int) -> None:
        if batch_size > len(images):
            raise ConfigError(f"train.batch_size={batch_size} exceeds the {len(images)} "
                              "training images")
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
