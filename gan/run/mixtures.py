"""The 2D mixtures of Gaussians the mode-collapse literature measures on (VEEGAN, Srivastava et
al. 2017; PacGAN, Lin et al. 2018; Unrolled GAN, Metz et al. 2017): `ring` (8 modes on the unit
circle, std 0.01) and `grid` (25 modes at {-4, -2, 0, 2, 4}^2, std 0.05), as a dataset `Source`:
a training set of points drawn once from the mixture (its own seeded stream), batches drawn
from it as from images, the protocol's scorer (`gan.metrics.mixtures`), and a scatter of
samples over the modes instead of an image grid."""

import itertools
import math
from pathlib import Path

import torch

from gan.errors import ConfigError
from gan.metrics.mixtures import MixtureScorer
from gan.run.data import DeviceBatcher, real_subset
from gan.run.pictures import save_picture, scatter


class GaussianMixture:
    """Equal-weight isotropic Gaussians of standard deviation `std` at `centres` (k, 2)."""

    def __init__(self, name: str, centres: list[list[float]], std: float, size: int = 100000,
                 seed: int = 0, extent: float = 2.0) -> None:
        """`size` training points, drawn from their own stream seeded by `seed`; `extent`: the
        half-width of the square a scatter shows."""
        if not std > 0 or size < 1 or not centres:
            raise ConfigError(f"dataset {name}: std must be positive and size >= 1, with at "
                              f"least one mode; got std={std}, size={size}, {len(centres)} modes")
        self.name = name
        self.centres = torch.tensor(centres, dtype=torch.float32)  # (k, 2)
        self.std = std
        self.size = size
        self.seed = seed
        self.extent = extent

    @property
    def shape(self) -> tuple[int, ...]:
        """One sample: a point (D,)."""
        return (self.centres.shape[1],)

    def draw(self, n: int, seed: int) -> torch.Tensor:
        """n points (n, D) of the mixture from a stream seeded by `seed`: a mode chosen
        uniformly, then its Gaussian."""
        stream = torch.Generator().manual_seed(seed)
        modes = torch.randint(len(self.centres), (n,), generator=stream)
        return self.centres[modes] + self.std * torch.randn(n, self.shape[0], generator=stream)

    def images(self, device: torch.device, train: bool = True) -> torch.Tensor:
        """The training points (size, D) on the device (another draw for `train=False`)."""
        return self.draw(self.size, self.seed if train else self.seed + 1).to(device)

    classes = 0  # unlabelled: a conditional run is refused
    measures = MixtureScorer.measures
    conditional_measures = ()

    def batcher(self, data: torch.Tensor, batch_size: int,
                labels: torch.Tensor | None = None) -> DeviceBatcher:
        """Batches drawn by index, a fresh permutation each pass, as for images."""
        return DeviceBatcher(data, batch_size, labels)

    def real(self, data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
        """n training points (n, D) drawn without replacement by a seeded permutation."""
        return real_subset(data, n, seed)

    def scorer(self, device: torch.device, batch_size: int, seed: int) -> MixtureScorer:
        """The protocol's scorer: modes captured, high-quality fraction, reverse KL."""
        return MixtureScorer(self.centres.to(device), self.std, batch_size)

    def picture(self, samples: torch.Tensor, columns: int | None = None) -> torch.Tensor:
        """A scatter of the points over the modes (red crosses); `columns` means nothing
        here."""
        return scatter(samples, self.centres, self.extent)

    final_samples = 2500  # the protocol's pictures show 2,500 points

    def save_final(self, samples: torch.Tensor, folder: Path) -> None:
        """The final points as folder/scatter.png."""
        save_picture(self.picture(samples), folder / "scatter.png")


def ring(name: str = "ring8", modes: int = 8, radius: float = 1.0, std: float = 0.01,
         size: int = 100000, seed: int = 0) -> GaussianMixture:
    """`modes` Gaussians evenly on a circle of `radius`, the first at (radius, 0)."""
    angles = [2 * math.pi * i / modes for i in range(modes)]
    centres = [[radius * math.cos(a), radius * math.sin(a)] for a in angles]
    return GaussianMixture(name, centres, std, size, seed, extent=1.5 * radius)


def grid(name: str = "grid25", side: int = 5, spacing: float = 2.0, std: float = 0.05,
         size: int = 100000, seed: int = 0) -> GaussianMixture:
    """side x side Gaussians on a square grid `spacing` apart, centred on the origin
    ({-4, -2, 0, 2, 4}^2 for the protocol's 5 and 2)."""
    offsets = [spacing * (i - (side - 1) / 2) for i in range(side)]
    centres = [[x, y] for x, y in itertools.product(offsets, offsets)]
    return GaussianMixture(name, centres, std, size, seed, extent=1.5 * max(offsets))
