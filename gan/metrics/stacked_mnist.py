"""Stacked MNIST's mode-collapse metrics (Metz et al. 2017, as PacGAN's public code computes
them in `log_metrics`, Lin et al. 2018): each channel of a sample is classified as a digit by an
MNIST classifier (here the shipped evaluator's), the sample's mode is the three digits read as
one number (100 d0 + 10 d1 + d2, of 1,000), a mode is covered where at least one sample falls
in it, and the spread is KL(mode histogram || uniform) in nats.

A conditional run asks for a mode (its three digits as one label, 0 to 999): its samples score
the share read as the mode requested (`gan.metrics.conditional.prediction_scores`: all three
digits right), over all samples and in the worst mode. Stacked MNIST has no features-based
scores (no FID), so no intra-FID or per-class recall either."""

from typing import Any

import torch
from torch import nn

from gan.core.networks import generate
from gan.metrics.classifier import Classifier
from gan.metrics.conditional import prediction_scores
from gan.metrics.scores import class_kl

DIGITS = 10  # classes per channel: MNIST's digits


def places(channels: int, device: torch.device) -> torch.Tensor:
    """Each channel's place value in a mode (C,) int64, the first the most significant:
    100, 10, 1 for three channels."""
    return DIGITS ** torch.arange(channels - 1, -1, -1, device=device)


def stacked_modes(digits: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Each sample's mode (n,) int64 from its channels' digits (n, C), the first channel the
    most significant: 100 d0 + 10 d1 + d2 for three channels, 0 to 999. Written into `out`
    (n,) int64 where given."""
    # not `@`: CUDA has no int64 matmul
    return torch.sum(digits.long() * places(digits.shape[1], digits.device), dim=1, out=out)


def mode_digits(modes: torch.Tensor, channels: int) -> torch.Tensor:
    """Each mode's channels' digits (n, C) from modes (n,) int64: `stacked_modes` undone (427
    -> 4, 2, 7 for three channels)."""
    return (modes[:, None] // places(channels, modes.device)) % DIGITS


def mode_scores(modes: torch.Tensor, n_modes: int) -> dict[str, Any]:
    """The protocol's scores of n samples' modes (n,) int64 in [0, n_modes): `modes_covered`,
    the modes with at least one sample (0 to n_modes: not the 1 % threshold that
    `gan.metrics.scores.modes_covered` uses for 10 classes, which 1,000 modes could never
    reach); `class_kl`, KL(histogram || uniform) in nats (0 for a perfect spread, ln n_modes
    for a single mode); and the histogram, as fractions."""
    counts = torch.bincount(modes, minlength=n_modes)
    histogram = counts.double() / len(modes)
    return {"n": len(modes), "modes_covered": int((counts > 0).sum()),
            "class_kl": class_kl(histogram), "class_histogram": histogram.tolist(),
            "manifold_note": None}


class StackedMNISTScorer:
    """Scores of generated (or real) Stacked MNIST samples (N, C, H, W) in [0, 1]: each of the
    C channels classified by a grey-image digit classifier, `batch_size` samples (C times as
    many images) per call, then `mode_scores` over the DIGITS ** C modes."""

    default_objective = "class_kl"  # lower where more modes are evenly covered
    measures = ("modes_covered", "class_kl")
    conditional_measures = ("conditional_accuracy", "min_class_accuracy")  # of requested modes

    def __init__(self, classifier: Classifier, batch_size: int = 500, channels: int = 3) -> None:
        self.classifier = classifier
        self.batch_size = batch_size
        self.channels = channels  # digits per sample: 3 for the protocol's 1,000 modes

    @property
    def n_modes(self) -> int:
        """DIGITS ** channels: 1,000 for three channels."""
        return DIGITS ** self.channels

    def check(self, samples: torch.Tensor) -> None:
        """Refuse, in one line, samples with another number of channels (a grey dataset's
        images, 2D points): the classifier reads one digit per channel."""
        if samples.dim() != 4 or samples.shape[1] != self.channels:
            raise ValueError(f"Stacked MNIST's scorer reads one digit per channel of samples "
                             f"(N, {self.channels}, H, W) with its 1-channel classifier; got "
                             f"samples of shape {tuple(samples.shape)}")

    @torch.no_grad()
    def modes(self, samples: torch.Tensor) -> torch.Tensor:
        """The modes (N,) int64 of samples (N, C, H, W) (`stacked_modes` of each channel's
        most likely digit). Raises ValueError for samples of another shape."""
        self.check(samples)
        return torch.cat([self._modes(samples[i:i + self.batch_size])
                          for i in range(0, len(samples), self.batch_size)])

    def _modes(self, samples: torch.Tensor) -> torch.Tensor:
        """The modes (B,) of one chunk (B, C, H, W): its B * C channels as grey images."""
        batch, channels, *side = samples.shape
        grey = samples.reshape(batch * channels, 1, *side)  # sample-major: channels in order
        logits = self.classifier.head(self.classifier.features(grey))  # (B * C, 10)
        return stacked_modes(logits.argmax(dim=1).view(batch, channels))

    def score(self, samples: torch.Tensor) -> dict[str, Any]:
        """The scores of samples (N, C, H, W) in [0, 1] (`mode_scores`)."""
        return mode_scores(self.modes(samples), self.n_modes)

    def score_conditional(self, samples: torch.Tensor, requested: torch.Tensor
                          ) -> dict[str, Any]:
        """`score`'s scores of samples (N, C, H, W) and the accuracy of their modes against the
        modes requested (N,) int64 in [0, n_modes) (`prediction_scores`). Raises ValueError for
        samples of another shape or labels not one per sample in range."""
        modes = self.modes(samples)
        return mode_scores(modes, self.n_modes) | prediction_scores(
            modes, requested.to(modes.device), self.n_modes)

    @torch.no_grad()
    def score_generator(self, generator: nn.Module, z: torch.Tensor,
                        labels: torch.Tensor | None = None) -> dict[str, Any]:
        """The scores of the generator's samples from noise z (n, noise_dim), generated and
        classified `batch_size` at a time, in eval mode (the samples are never all held); a
        conditional generator's of the modes `labels` (n,) int64, with the accuracy scores
        too (`score_conditional`)."""
        modes = []
        for i in range(0, len(z), self.batch_size):
            chunk = slice(i, i + self.batch_size)
            samples = generate(generator, z[chunk], None if labels is None else labels[chunk])
            self.check(samples)
            modes.append(self._modes(samples))
        scores = mode_scores(torch.cat(modes), self.n_modes)
        if labels is None:
            return scores
        return scores | prediction_scores(torch.cat(modes), labels.to(modes[0].device),
                                          self.n_modes)
