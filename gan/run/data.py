"""What a run trains on: a dataset `Source` (the data held on the training device, the batches
drawn from it, real samples for the metrics' reference, the scorer of generated samples, and
how samples are pictured), and `ImageSource`, the MNIST-style image datasets. The 2D mixtures
(`gan.run.mixtures`) and Stacked MNIST (`gan.run.stacked_mnist`) are sources too."""

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import Dataset

from gan.core.conditioning import label_frequencies
from gan.errors import ConfigError, DataNotFoundError, first_line
from gan.metrics.classifier import load_classifier
from gan.metrics.evaluator import Evaluator, real_subset
from gan.run.pictures import grid, save_digits

DATA_ENV = "GAN_DATA_DIR"


class Batcher(Protocol):
    """Mini-batches for the loop, with a state a checkpoint keeps (so a resumed run draws the
    same batches)."""

    def next(self) -> torch.Tensor:
        """The next batch (B, *shape), on the data's device, without a host sync."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict`'s state."""
        ...


class Scorer(Protocol):
    """Scores generated (or real) samples: a dict with "n", the scores of
    `gan.metrics.names.SCORE_NAMES` this benchmark measures (the others absent), the
    "class_histogram" (fractions per mode or class) and "manifold_note" (None, or why
    precision and recall were not computed)."""

    default_objective: str  # the score a run keeps its best generator by, unless told another
    measures: tuple[str, ...]  # the names of SCORE_NAMES its scores hold
    # The names of CONDITIONAL_SCORES its conditional scores hold: () for an unlabelled
    # source's scorer (a 2D mixture's), which is never asked for `score_conditional`.
    conditional_measures: tuple[str, ...]

    def score(self, samples: torch.Tensor) -> dict[str, Any]:
        """The scores of samples (n, *shape)."""
        ...

    def score_conditional(self, samples: torch.Tensor, requested: torch.Tensor
                          ) -> dict[str, Any]:
        """`score`'s scores of samples (n, *shape) and the conditional scores of the classes
        they were requested as (n,) int64 (only asked of a labelled source's scorer)."""
        ...

    def score_generator(self, generator: nn.Module, z: torch.Tensor,
                        labels: torch.Tensor | None = None) -> dict[str, Any]:
        """The scores of the generator's samples from noise z (n, noise_dim); a conditional
        generator's asked for `labels` (n,), with the conditional scores too."""
        ...


class Source(Protocol):
    """A dataset as a run uses it (`dataset=...` builds one; nothing is loaded until asked)."""

    name: str  # the config option (mnist, ring8, stacked_mnist, ...)
    classes: int  # how many classes its labels take (a conditional run's); 0: no labels
    # What its scorer measures (its class's `measures`, `conditional_measures`), known before
    # anything is loaded: an `eval.objective` outside them is refused (gan.run.build).
    measures: tuple[str, ...]
    conditional_measures: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """One sample's shape: (C, H, W) for images, (2,) for points."""
        ...

    def images(self, device: torch.device, train: bool = True) -> torch.Tensor:
        """The data held on the training device (N, ...), what `batcher` draws from."""
        ...

    def labelled(self, device: torch.device,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """`images`' data and its labels (N,) int64 (only asked of a source with `classes`)."""
        ...

    def batcher(self, data: torch.Tensor, batch_size: int,
                labels: torch.Tensor | None = None) -> Batcher:
        """Batches (batch_size, *shape) drawn from `images`' data (with their `labels`, where
        given: `DeviceBatcher.next_labelled`)."""
        ...

    def real(self, data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        """n real samples (n, *shape), seeded (its own stream): the metrics' reference."""
        ...

    def real_labelled(self, data: torch.Tensor, labels: torch.Tensor, n: int,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`real`'s n samples and their labels (n,) int64 in [0, classes), from `labelled`'s
        data and labels: a conditional run's reference (only asked of a source with
        `classes`)."""
        ...

    def label_frequencies(self, labels: torch.Tensor) -> torch.Tensor:
        """The share of each class (classes,) among the samples drawn from `labelled`'s data
        with labels (N,): what a generator asked for classes as the data has them draws."""
        ...

    def scorer(self, device: torch.device, batch_size: int, seed: int) -> Scorer:
        """What scores samples of this dataset (`batch_size` samples per call; `seed` orders
        any reference set it subsamples)."""
        ...

    def picture(self, samples: torch.Tensor, columns: int | None = None) -> torch.Tensor:
        """Samples (n, *shape) as one (3, H, W) picture in [0, 1] (a grid, `columns` samples
        per row where given; a scatter)."""
        ...

    @property
    def final_samples(self) -> int:
        """How many samples a finished run leaves in samples/final/ (the seed's ten digits)."""
        ...

    def save_final(self, samples: torch.Tensor, folder: Path) -> None:
        """Write a finished run's `final_samples` samples (n, *shape) into folder."""
        ...


@dataclass
class ImageSource:
    """A torchvision MNIST-style dataset on disk: its name, where it lives and how to read it."""

    name: str  # the config option (mnist, fashion_mnist); picks the evaluator classifier
    make_dataset: Callable[..., Dataset]  # e.g. partial(torchvision.datasets.MNIST)
    root: str  # a folder holding <Dataset>/raw/
    download: bool = True  # only tried when the files are missing
    image_shape: Sequence[int] = (1, 28, 28)  # (C, H, W) of one image
    classes: int = 10  # its labels' classes (digits, garments)
    measures = Evaluator.measures
    conditional_measures = Evaluator.conditional_measures

    @property
    def shape(self) -> tuple[int, ...]:
        """One image's shape (C, H, W)."""
        return tuple(self.image_shape)

    def batcher(self, data: torch.Tensor, batch_size: int,
                labels: torch.Tensor | None = None) -> "DeviceBatcher":
        """Batches drawn by index, a fresh permutation each pass (`DeviceBatcher`)."""
        return DeviceBatcher(data, batch_size, labels)

    def real(self, data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        """n training images (n, C, H, W) drawn without replacement by a seeded permutation."""
        return real_subset(data, n, seed)

    def real_labelled(self, data: torch.Tensor, labels: torch.Tensor, n: int,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`real`'s n images and their labels (n,), by the same permutation."""
        return real_subset(data, n, seed), real_subset(labels, n, seed)

    def label_frequencies(self, labels: torch.Tensor) -> torch.Tensor:
        """Each class's share of the labels (N,): (classes,), summing to 1."""
        return label_frequencies(labels, self.classes)

    def scorer(self, device: torch.device, batch_size: int, seed: int) -> Evaluator:
        """The dataset's shipped classifier, with the statistics of its real test set and its
        labels, for the conditional scores (`seed` orders the test images that precision and
        recall compare with fewer samples)."""
        images, labels = self.labelled(device, train=False)
        return Evaluator(load_classifier(self.name, device), images, batch_size, seed,
                         test_labels=labels)

    def picture(self, samples: torch.Tensor, columns: int | None = None) -> torch.Tensor:
        """A grid of images, dark ink on white paper (`columns` per row; about sqrt(n))."""
        return grid(samples, nrow=columns)

    final_samples = 10  # the seed's ten digits

    def save_final(self, samples: torch.Tensor, folder: Path) -> None:
        """Each image as folder/0.png, 1.png, ... and their grid.png (`save_digits`)."""
        save_digits(samples, folder)

    def labelled(self, device: torch.device,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 1, H, W) as floats in [0, 1] and labels (N,) int64, both on device."""
        dataset = self._open(train)
        pixels = dataset.data  # (N, H, W) uint8, no per-sample transforms
        images = (pixels.to(device).unsqueeze(1).float() / 255.0).contiguous()
        labels = torch.as_tensor(dataset.targets, dtype=torch.long)  # (N,), on the CPU first
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < self.classes:
            raise ConfigError(f"dataset {self.name} has labels {int(labels.min())} to "
                              f"{int(labels.max())}, outside dataset.classes={self.classes}")
        return images, labels.to(device)

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

    def __init__(self, images: torch.Tensor, batch_size: int,
                 labels: torch.Tensor | None = None) -> None:
        check_batch_size(batch_size, len(images))
        self.images = images  # (N, C, H, W)
        self.labels = labels  # (N,) int64, a conditional run's; None: unlabelled
        self.label_batch = (None if labels is None
                            else labels.new_empty(batch_size))  # (B,), reused like `batch`
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
        return torch.index_select(self.images, 0, self._next_index(), out=self.batch)

    def next_labelled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch (B, C, H, W) and its labels (B,), drawn by the same indices."""
        index = self._next_index()
        return (torch.index_select(self.images, 0, index, out=self.batch),
                torch.index_select(self.labels, 0, index, out=self.label_batch))

    def _next_index(self) -> torch.Tensor:
        """The next batch's indices (B,) into the data."""
        end = self.position + self.batch_size
        if end <= len(self.order):
            index = self.order[self.position:end]
            self.position = end
            return index
        rest = self.order[self.position:]
        self.order = self._permutation()
        self.position = self.batch_size - len(rest)
        return torch.cat([rest, self.order[:self.position]])

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        """The pass's order and position, so a resumed run draws the same batches."""
        return {"order": self.order, "position": self.position}

    def load_state_dict(self, state: dict[str, torch.Tensor | int]) -> None:
        """Continue from a saved order and position."""
        self.order = state["order"].to(self.images.device)
        self.position = int(state["position"])
