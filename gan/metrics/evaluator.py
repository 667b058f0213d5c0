"""Scores of generated (or real) images against a dataset's real test set, by its classifier."""

from typing import Any

import torch
from torch import nn

from gan.core.networks import generate, seeded_uniform_noise
from gan.metrics.classifier import Classifier
from gan.metrics.manifold import knn_radii, precision_recall, too_few
from gan.metrics.names import SCORE_NAMES
from gan.metrics.scores import (
    class_histogram,
    class_kl,
    classifier_score,
    feature_statistics,
    frechet_distance,
    modes_covered,
)


def evaluation_noise(n: int, noise_dim: int, seed: int, device: torch.device,
                     prior: str = "uniform") -> torch.Tensor:
    """A fixed (n, noise_dim) uniform(-1, 1) draw (or the generator's `prior`), the same on
    every device for a given seed."""
    return seeded_uniform_noise(n, noise_dim, seed, device, prior)


def real_subset(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n images (n, C, H, W) drawn without replacement by a seeded permutation."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images[order[:n].to(images.device)]


def check_grey(images: torch.Tensor) -> None:
    """Refuse, in one line, samples the grey-image classifiers cannot read: they take
    (N, 1, H, W) images."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"the evaluator's classifier reads grey images (N, 1, H, W); got samples "
                         f"of shape {tuple(images.shape)} (a 3-channel or 2D dataset is scored "
                         "by its own dataset's scorer)")


class Evaluator:
    """Classifies images in chunks and compares their features with the real test set's."""

    default_objective = "fid"  # what a run keeps its best generator by, unless told another
    measures = tuple(name for name in SCORE_NAMES if name != "high_quality")  # what it scores

    def __init__(self, classifier: Classifier, test_images: torch.Tensor,
                 batch_size: int = 2000, seed: int = 0) -> None:
        self.classifier = classifier
        self.batch_size = batch_size
        test_features = self.outputs(test_images)[1]  # (N_test, D)
        # Mean (D,) and covariance (D, D) of the test set's features, computed once.
        self.reference = feature_statistics(test_features)
        # Precision and recall compare sets of one size (the paper's protocol): n scored images
        # meet n test images, the first n of a seeded order, whose radii are computed once per n.
        order = torch.randperm(len(test_features), generator=torch.Generator().manual_seed(seed))
        self.test_features = test_features[order.to(test_features.device)]
        self._radii: dict[int, torch.Tensor] = {}

    def manifold(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n test-set features (n, D), at most all of them, and their k-NN radii (n,)."""
        real = self.test_features[:n]
        if len(real) not in self._radii:
            self._radii[len(real)] = knn_radii(real)
        return real, self._radii[len(real)]

    @torch.no_grad()
    def outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class probabilities (N, K) and penultimate features (N, D) of images (N, 1, H, W).
        Raises ValueError for samples of another shape (three channels, 2D points)."""
        chunks = [self._classify(images[i:i + self.batch_size])
                  for i in range(0, len(images), self.batch_size)]
        return torch.cat([p for p, _ in chunks]), torch.cat([f for _, f in chunks])

    def _classify(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities and features of one chunk (refused unless grey images)."""
        check_grey(images)
        features = self.classifier.features(images)  # (B, D)
        return self.classifier.head(features).double().softmax(dim=1), features

    def score(self, images: torch.Tensor) -> dict[str, Any]:
        """n, the scores and the class histogram of images (N, 1, H, W) in [0, 1]
        (`score_outputs`)."""
        probabilities, features = self.outputs(images)
        return self.score_outputs(probabilities, features)

    def score_outputs(self, probabilities: torch.Tensor,
                      features: torch.Tensor) -> dict[str, Any]:
        """The scores from classifier outputs (N, K) and (N, D). Precision and recall are None
        below `manifold.MIN_N` samples, and `manifold_note` says why (None when computed)."""
        histogram = class_histogram(probabilities)
        # As many of each (more scored images than test images: a seeded subset of them).
        compared = min(len(features), len(self.test_features))
        note = too_few(compared)
        precision = recall = None
        if note is None:
            real, radii = self.manifold(compared)
            precision, recall = precision_recall(real, features[:compared], real_radii=radii)
        return {"n": len(probabilities),
                "modes_covered": modes_covered(histogram),
                "class_kl": class_kl(histogram),
                "classifier_score": classifier_score(probabilities),
                "fid": frechet_distance(*feature_statistics(features), *self.reference),
                "precision": precision, "recall": recall, "manifold_note": note,
                "class_histogram": histogram.tolist()}

    @torch.no_grad()
    def score_generator(self, generator: nn.Module, z: torch.Tensor) -> dict[str, Any]:
        """Scores of the generator's images from noise z (n, noise_dim), generated in chunks."""
        chunks = [self._classify(generate(generator, z[i:i + self.batch_size]))
                  for i in range(0, len(z), self.batch_size)]
        return self.score_outputs(torch.cat([p for p, _ in chunks]),
                                  torch.cat([f for _, f in chunks]))
