"""Stacked MNIST (Metz et al. 2017, "Unrolled Generative Adversarial Networks"; PacGAN's
stacked_MNIST_experiments, Lin et al. 2018) as a dataset `Source`: each sample is three MNIST
training digits drawn independently and uniformly (with replacement) into the three channels
of one 28 x 28 image, so the data has 10 ** 3 = 1,000 equally likely modes. Samples are made
on the fly from the MNIST training set held on the device (read by `gan.run.data.ImageSource`),
scored by `gan.metrics.stacked_mnist`, and pictured as an RGB grid.

Its labels are its modes: a sample's three digits' labels read as one number, 100 d0 + 10 d1 +
d2 (0 to 999, the first channel the most significant, as `stacked_modes` reads them), so a
conditional run asks for three digits at once (`label=427`: a 4 in red, a 2 in green, a 7 in
blue)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision.utils import make_grid

from gan.core.conditioning import balanced_labels
from gan.core.conditioning import label_frequencies as class_shares
from gan.errors import ConfigError
from gan.metrics.classifier import load_classifier
from gan.metrics.stacked_mnist import DIGITS, StackedMNISTScorer, mode_digits, stacked_modes
from gan.run.data import ImageSource
from gan.run.pictures import save_picture, upscale

CHANNELS = 3  # digits per sample: one per colour channel


def stack(digits: torch.Tensor, index: torch.Tensor,
          out: torch.Tensor | None = None) -> torch.Tensor:
    """Samples (n, C, H, W) from grey digits (N, 1, H, W) and indices (n, C) into them: channel
    c of sample i is digit index[i, c]. Written into `out` where given (no allocation)."""
    n, channels = index.shape
    flat = digits.view(len(digits), *digits.shape[2:])  # (N, H, W)
    if out is None:
        out = digits.new_empty(n, channels, *flat.shape[1:])
    torch.index_select(flat, 0, index.reshape(-1), out=out.view(n * channels, *flat.shape[1:]))
    return out


class StackedBatcher:
    """Batches (B, 3, H, W) of independent digits drawn with replacement, as the protocol draws
    them: each call draws (B, 3) indices with `torch.randint` on the digits' device, from the
    global stream, and gathers into one reused buffer; no host sync. A batch may be larger
    than the digits it draws from (with replacement, there are no passes). Given the digits'
    labels (N,), `next_labelled` also gives each sample's mode (B,) (`stacked_modes`, into a
    second reused buffer), from the same single draw: labelled or not, a batch consumes the
    same random numbers. Its state is the global random state, which a checkpoint keeps
    (gan.run.checkpoint.rng_states): a resumed run draws the same batches, so `state_dict` is
    empty."""

    def __init__(self, digits: torch.Tensor, batch_size: int,
                 labels: torch.Tensor | None = None) -> None:
        if not len(digits):  # drawn with replacement: any batch size, but not from nothing
            raise ConfigError("Stacked MNIST has no digits to draw from")
        self.digits = digits  # (N, 1, H, W)
        self.labels = labels  # (N,) int64 digits 0-9, a conditional run's; None: unlabelled
        self.batch_size = batch_size
        self.batch = digits.new_empty(batch_size, CHANNELS, *digits.shape[2:])  # reused
        self.label_batch = (None if labels is None
                            else labels.new_empty(batch_size))  # (B,) modes, reused likewise

    def next(self) -> torch.Tensor:
        """The next batch (B, 3, H, W), written into the reused buffer."""
        return stack(self.digits, self._index(), out=self.batch)

    def next_labelled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch (B, 3, H, W) and its modes (B,) int64, 0 to 999, from the same
        draw."""
        index = self._index()  # (B, 3)
        return (stack(self.digits, index, out=self.batch),
                stacked_modes(self.labels[index], out=self.label_batch))

    def _index(self) -> torch.Tensor:
        """The next batch's digit indices (B, 3), drawn from the global stream."""
        return torch.randint(len(self.digits), (self.batch_size, CHANNELS),
                             device=self.digits.device)

    def state_dict(self) -> dict[str, Any]:
        """Nothing: the draws come from the global random state, which checkpoints keep."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Accept the empty state; refuse another batcher's (a checkpoint of another dataset)."""
        if state:
            raise ValueError(f"Stacked MNIST's batcher keeps no state; got one with "
                             f"{', '.join(sorted(state))} (a checkpoint of another dataset?)")


class StackedMNIST:
    """Stacked MNIST as a dataset `Source`. MNIST is read by an `ImageSource` made from the
    same settings as conf/dataset/mnist.yaml's (`make_dataset`, `root`, `download`), so
    `dataset.root=...` and `dataset.download=false` mean what they mean for dataset=mnist."""

    def __init__(self, make_dataset: Callable[..., Dataset], root: str, download: bool = True,
                 name: str = "stacked_mnist") -> None:
        self.mnist = ImageSource("mnist", make_dataset, root, download=download)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        """One sample: (3, H, W), three of MNIST's (1, H, W)."""
        return (CHANNELS, *self.mnist.shape[1:])

    def images(self, device: torch.device, train: bool = True) -> torch.Tensor:
        """MNIST's digits (N, 1, H, W) in [0, 1] on the device (the training set by default):
        what batches and real samples are stacked from."""
        return self.mnist.images(device, train)

    classes = DIGITS ** CHANNELS  # its labels are its 1,000 modes
    measures = StackedMNISTScorer.measures
    conditional_measures = StackedMNISTScorer.conditional_measures

    def labelled(self, device: torch.device,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """MNIST's digits (N, 1, H, W) and their labels (N,) int64, 0 to 9, on the device:
        what labelled batches and real samples are stacked from (their modes are made then)."""
        return self.mnist.labelled(device, train)

    def batcher(self, data: torch.Tensor, batch_size: int,
                labels: torch.Tensor | None = None) -> StackedBatcher:
        """Batches (batch_size, 3, H, W) stacked on the fly (`StackedBatcher`), with their
        modes where the digits' `labels` (N,) are given."""
        return StackedBatcher(data, batch_size, labels)

    def real(self, data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        """n real samples (n, 3, H, W), drawn as the batches are but from a stream of their
        own seeded by `seed` (the global stream is left as it was)."""
        return stack(data, self._real_index(data, n, seed))

    def real_labelled(self, data: torch.Tensor, labels: torch.Tensor, n: int,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A conditional run's reference: n real samples (n, 3, H, W) of the modes (n,) int64
        its generator is asked for (`balanced_labels`: each of the 1,000 modes n / 1,000 times),
        each channel a training digit of its mode's digit drawn uniformly (data (N, 1, H, W)
        and its labels (N,), 0 to 9) from a stream of their own seeded by `seed`. Not `real`'s
        uniform draw: at 10 samples a mode on average, some modes would get one or two, and
        the reference's worst-mode accuracy would measure that luck. Raises ValueError where a
        digit has no image to draw."""
        modes = balanced_labels(n, self.classes, labels.device)  # (n,)
        wanted = mode_digits(modes, CHANNELS)  # (n, 3) each channel's digit
        counts = torch.bincount(labels, minlength=DIGITS)  # (10,) images of each digit
        if not bool(counts.all()):
            missing = [digit for digit, count in enumerate(counts.tolist()) if not count]
            raise ValueError(f"Stacked MNIST's reference needs images of every digit; none "
                             f"is labelled {missing}")
        grouped = torch.argsort(labels, stable=True)  # (N,) the digits' indices, by label
        starts = torch.cumsum(counts, dim=0) - counts  # (10,) each digit's first in `grouped`
        stream = torch.Generator().manual_seed(seed)
        share = torch.rand(wanted.shape, generator=stream).to(labels.device)  # (n, 3) in [0, 1)
        within = (share * counts[wanted]).long().clamp(max=counts[wanted] - 1)  # (n, 3)
        return stack(data, grouped[starts[wanted] + within]), modes

    @staticmethod
    def _real_index(data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        """The digits (n, 3) behind `real`'s samples, seeded, on the data's device."""
        stream = torch.Generator().manual_seed(seed)
        return torch.randint(len(data), (n, CHANNELS), generator=stream).to(data.device)

    def label_frequencies(self, labels: torch.Tensor) -> torch.Tensor:
        """Each mode's share (1000,) when every channel draws a digit as the data has them:
        the product of the three digits' shares (the digits' labels (N,), 0 to 9)."""
        digit = class_shares(labels, DIGITS)  # (10,)
        return torch.kron(torch.kron(digit, digit), digit)  # mode 100 a + 10 b + c: a's first

    def scorer(self, device: torch.device, batch_size: int, seed: int) -> StackedMNISTScorer:
        """The protocol's scorer with the shipped MNIST classifier (`seed` is unused: no
        reference set is subsampled)."""
        return StackedMNISTScorer(load_classifier("mnist", device), batch_size, CHANNELS)

    def picture(self, samples: torch.Tensor, columns: int | None = None) -> torch.Tensor:
        """A grid (3, H', W') of the samples as RGB images (each channel a digit), `columns`
        (about sqrt(n)) per row, on black: not inverted, so a digit's colour says which
        channels hold ink there."""
        nrow = columns or max(1, round(len(samples) ** 0.5))
        return make_grid(samples.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=2,
                         pad_value=0.0)

    final_samples = 100  # a 10 x 10 grid

    def save_final(self, samples: torch.Tensor, folder: Path) -> None:
        """The final samples' grid, twice enlarged, as folder/grid.png."""
        save_picture(upscale(self.picture(samples), 2), folder / "grid.png")
