"""Scores of generated (or real) images against a dataset's real test set, by its classifier."""

from typing import Any

import torch
from torch import nn

from gan.core.networks import generate, seeded_uniform_noise
from gan.metrics.classifier import Classifier
from gan.metrics.conditional import conditional_scores
from gan.metrics.manifold import knn_radii, precision_recall, too_few
from gan.metrics.names import CONDITIONAL_SCORES, SCORE_NAMES
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


def generate_conditional(generator: nn.Module, z: torch.Tensor,
                         labels: torch.Tensor) -> torch.Tensor:
    """Images (n, C, H, W) in [0, 1] from noise (n, noise_dim) and requested labels (n,) int64,
    `generator(z, labels)` in eval mode (its training mode restored after), as
    `gan.core.networks.generate` does without labels."""
    was_training = generator.training
    generator.eval()
    images = generator(z, labels)
    generator.train(was_training)
    return images


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
    conditional_measures = CONDITIONAL_SCORES  # what it adds for samples requested as classes

    def __init__(self, classifier: Classifier, test_images: torch.Tensor,
                 batch_size: int = 2000, seed: int = 0,
                 test_labels: torch.Tensor | None = None) -> None:
        """`test_images` (N_test, 1, H, W) in [0, 1] are the reference; `test_labels` (N_test,)
        int64, their classes, are what conditional scores need (`score_conditional`). Raises
        ValueError for labels of another length."""
        if test_labels is not None and len(test_labels) != len(test_images):
            raise ValueError(f"test labels must be one per test image: got {len(test_labels)} "
                             f"for {len(test_images)} images")
        self.classifier = classifier
        self.batch_size = batch_size
        test_features = self.outputs(test_images)[1]  # (N_test, D)
        # Mean (D,) and covariance (D, D) of the test set's features, computed once.
        self.reference = feature_statistics(test_features)
        # Precision and recall compare sets of one size (the paper's protocol): n scored images
        # meet n test images, the first n of a seeded order, whose radii are computed once per n.
        order = torch.randperm(len(test_features), generator=torch.Generator().manual_seed(seed))
        order = order.to(test_features.device)
        self.test_features = test_features[order]
        # Their labels in the same order: each class's first m test images meet m samples of it.
        self.test_labels = (None if test_labels is None
                            else test_labels.to(test_features.device)[order])
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

    def score_conditional(self, images: torch.Tensor, requested: torch.Tensor) -> dict[str, Any]:
        """Everything `score` returns for images (N, 1, H, W) in [0, 1] (the unconditional scores
        of the label-mixed samples), and the conditional scores of their requested labels (N,)
        int64 (`score_conditional_outputs`). Raises ValueError without test labels or for
        labels of another length."""
        self.check_conditional(len(images), requested)
        return self.score_conditional_outputs(*self.outputs(images), requested)

    def score_conditional_outputs(self, probabilities: torch.Tensor, features: torch.Tensor,
                                  requested: torch.Tensor) -> dict[str, Any]:
        """`score_outputs` of classifier outputs (N, K) and (N, D), and
        `gan.metrics.conditional.conditional_scores` of the requested labels (N,) int64 against
        the test set's features and labels. Raises ValueError as `score_conditional` does."""
        self.check_conditional(len(probabilities), requested)
        return self.score_outputs(probabilities, features) | conditional_scores(
            probabilities, features, requested, self.test_features, self.test_labels)

    def check_conditional(self, n: int, requested: torch.Tensor) -> None:
        """Refuse, in one line, conditional scoring without the test set's labels, or with
        requested labels that are not one per sample."""
        if self.test_labels is None:
            raise ValueError("conditional scores need the test set's labels: this evaluator was "
                             "built without test_labels")
        if requested.dim() != 1 or len(requested) != n:
            raise ValueError(f"requested labels must be one per sample: got "
                             f"{tuple(requested.shape)} for {n} samples")

    @torch.no_grad()
    def score_generator(self, generator: nn.Module, z: torch.Tensor,
                        labels: torch.Tensor | None = None) -> dict[str, Any]:
        """Scores of the generator's images from noise z (n, noise_dim), generated in chunks;
        with requested labels (n,) int64, from `generator(z, labels)` and with the conditional
        scores too (`score_conditional`). Raises ValueError for labels as it does."""
        if labels is not None:
            self.check_conditional(len(z), labels)
        chunks = [self._classify(self._generate(generator, z, labels, i))
                  for i in range(0, len(z), self.batch_size)]
        probabilities = torch.cat([p for p, _ in chunks])
        features = torch.cat([f for _, f in chunks])
        if labels is None:
            return self.score_outputs(probabilities, features)
        return self.score_conditional_outputs(probabilities, features, labels)

    def _generate(self, generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None,
                  start: int) -> torch.Tensor:
        """The chunk of images from z[start:start + batch_size] (and its labels, if any)."""
        chunk = slice(start, start + self.batch_size)
        if labels is None:
            return generate(generator, z[chunk])
        return generate_conditional(generator, z[chunk], labels[chunk])
