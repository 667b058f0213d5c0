"""The 2D mixtures' mode-collapse metrics (VEEGAN's protocol, Srivastava et al. 2017, as
PacGAN's public code computes them, Lin et al. 2018): each sample is assigned to its nearest
mode, and counts as high quality where it lies within `THRESHOLD` standard deviations of it.
Pure functions of tensors."""

import math
from typing import Any

import torch
from torch import nn

from gan.core.networks import generate
from gan.metrics.scores import class_kl

THRESHOLD = 3.0  # standard deviations: within it of its nearest mode, a sample is high quality


def nearest_modes(points: torch.Tensor, centres: torch.Tensor,
                  std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point's nearest mode (n,) int64 and its distance to it in standard deviations (n,),
    for points (n, 2) and mode centres (k, 2) of isotropic Gaussians of standard deviation
    `std`. Non-finite points get distance inf."""
    distances = torch.cdist(points.double(), centres.double()) / std  # (n, k)
    distance, mode = distances.min(dim=1)
    return mode, torch.where(torch.isfinite(distance), distance, math.inf)


def mode_counts(points: torch.Tensor, centres: torch.Tensor, std: float,
                threshold: float = THRESHOLD) -> torch.Tensor:
    """How many high-quality points (within `threshold` std of their nearest mode) each mode
    has: (k,) int64, PacGAN's "detail of coverage"."""
    mode, distance = nearest_modes(points, centres, std)
    return torch.bincount(mode[distance < threshold], minlength=len(centres))


def mixture_scores(points: torch.Tensor, centres: torch.Tensor, std: float,
                   threshold: float = THRESHOLD) -> dict[str, Any]:
    """The protocol's scores of points (n, 2): `modes_covered`, the modes with at least one
    high-quality point (0 to k); `high_quality`, the fraction of points within `threshold` std
    of their nearest mode (0 to 1); `class_kl`, KL(histogram of the high-quality points over
    the modes || uniform) in nats, the paper's reverse KL (None where no point is high quality:
    the histogram is undefined); and that histogram, as fractions (zeros where undefined)."""
    counts = mode_counts(points, centres, std, threshold)
    captured = int(counts.sum())
    histogram = counts.double() / captured if captured else counts.double()
    return {"n": len(points), "modes_covered": int((counts > 0).sum()),
            "high_quality": captured / len(points),
            "class_kl": class_kl(histogram) if captured else None,
            "class_histogram": histogram.tolist(), "manifold_note": None}


class MixtureScorer:
    """Scores of generated (or real) points against a mixture's modes (`mixture_scores`)."""

    default_objective = "class_kl"  # the reverse KL: lower where more modes are evenly covered
    measures = ("modes_covered", "class_kl", "high_quality")
    conditional_measures: tuple[str, ...] = ()  # a mixture's points carry no labels

    def __init__(self, centres: torch.Tensor, std: float, batch_size: int = 2500) -> None:
        self.centres = centres  # (k, 2)
        self.std = std
        self.batch_size = batch_size

    def score(self, points: torch.Tensor) -> dict[str, Any]:
        """The scores of points (n, 2)."""
        if points.dim() != 2 or points.shape[1] != self.centres.shape[1]:
            raise ValueError(f"a 2D mixture scores points (n, {self.centres.shape[1]}); got "
                             f"samples of shape {tuple(points.shape)}")
        return mixture_scores(points, self.centres.to(points.device), self.std)

    @torch.no_grad()
    def score_generator(self, generator: nn.Module, z: torch.Tensor,
                        labels: torch.Tensor | None = None) -> dict[str, Any]:
        """The scores of the generator's points from noise z (n, noise_dim), in eval mode.
        Raises ValueError for labels: a mixture has no classes to ask for."""
        if labels is not None:
            raise ValueError("a 2D mixture's points have no classes: its generator is asked "
                             "for none")
        points = torch.cat([generate(generator, z[i:i + self.batch_size])
                            for i in range(0, len(z), self.batch_size)])
        return self.score(points)
