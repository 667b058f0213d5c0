"""Conditional scores: accuracy against the requested class, per-class FID and manifold, on
known tensors, through the evaluator, and on the real MNIST test set."""

from functools import partial
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from gan.metrics.classifier import load_classifier
from gan.metrics.conditional import (
    FEWEST,
    class_accuracy,
    class_fid,
    class_manifold,
    class_manifold_note,
    conditional_accuracy,
    conditional_scores,
)
from gan.metrics.evaluator import Evaluator, evaluation_noise
from gan.metrics.manifold import MIN_N
from gan.metrics.names import CONDITIONAL_SCORES, LABELS, MAXIMISED, OBJECTIVES, SCORE_NAMES
from gan.run.data import ImageSource

CPU = torch.device("cpu")


def one_hot(predicted: list[int], classes: int = 3) -> torch.Tensor:
    """Probabilities (N, classes) certain of each predicted class."""
    return nn.functional.one_hot(torch.tensor(predicted), classes).double()


def clusters(per_class: int, classes: int = 3, dim: int = 4, seed: int = 0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (classes * per_class, dim) around one centre per class (10 apart), and labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class)
    centres = 10.0 * torch.eye(classes, dim)
    return centres[labels] + torch.randn(len(labels), dim, generator=generator), labels


def test_accuracy_counts_the_samples_classified_as_requested() -> None:
    probabilities = one_hot([0, 0, 1, 2, 2, 1])
    requested = torch.tensor([0, 1, 1, 2, 2, 2])
    assert conditional_accuracy(probabilities, requested) == pytest.approx(4 / 6)
    assert class_accuracy(probabilities, requested) == pytest.approx([1.0, 0.5, 2 / 3])


def test_a_class_nobody_requested_has_no_accuracy_and_the_minimum_skips_it() -> None:
    real, labels = clusters(per_class=20)
    probabilities = one_hot([0] * 20 + [1] * 19 + [0])
    requested = torch.tensor([0] * 20 + [1] * 20)
    scores = conditional_scores(probabilities, real[:40], requested, real, labels)
    assert scores["class_accuracy"] == [1.0, 0.95, None]
    assert scores["min_class_accuracy"] == 0.95 and scores["conditional_accuracy"] == 39 / 40
    assert scores["class_fid"][2] is None and scores["class_recall"][2] is None


@pytest.mark.parametrize("requested, match", [
    (torch.tensor([0, 1]), r"one per sample: got \(2,\) for 3 samples"),
    (torch.tensor([0.0, 1.0, 2.0]), "int64 class indices, got torch.float32"),
    (torch.tensor([0, 1, 3]), r"in \[0, 3\), got 0 to 3"),
])
def test_requested_labels_that_do_not_fit_are_refused_in_one_line(
        requested: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        conditional_accuracy(one_hot([0, 1, 2]), requested)


def test_class_fid_is_zero_for_the_class_itself_and_the_squared_shift_when_moved() -> None:
    real, labels = clusters(per_class=50)
    by_class = [real[labels == k] for k in range(3)]
    assert class_fid(by_class, by_class) == pytest.approx([0.0] * 3, abs=1e-9)
    shifted = [features + torch.tensor([0.0, 3.0, 0.0, 4.0]) for features in by_class]
    assert class_fid(shifted, by_class) == pytest.approx([25.0] * 3, rel=1e-6)  # |(0,3,0,4)|^2


def test_a_class_collapsed_to_one_sample_keeps_its_accuracy_but_loses_its_recall() -> None:
    real, labels = clusters(per_class=100)
    fake = real.clone()
    fake[labels == 1] = real[labels == 1][0]  # every requested 1 is the same 1
    probabilities = one_hot(labels.tolist())  # each sample classified as requested
    scores = conditional_scores(probabilities, fake, labels, real, labels)
    assert scores["class_accuracy"] == [1.0, 1.0, 1.0]
    assert scores["class_recall"] == [1.0, 1 / 100, 1.0]  # its balls hold one real point
    assert scores["min_class_recall"] == 1 / 100
    assert scores["class_fid"][1] > 10 * max(scores["class_fid"][0], scores["class_fid"][2], 1e-9)


def test_a_class_compares_as_many_samples_as_real_images_and_too_few_are_not_scored() -> None:
    real, labels = clusters(per_class=30)
    by_class = [real[labels == k] for k in range(3)]
    fake = [by_class[0][:10], by_class[1], by_class[2][:FEWEST - 1]]
    precision, recall, compared = class_manifold(fake, by_class)
    assert compared == [10, 30, FEWEST - 1]
    assert precision[2] is None and recall[2] is None and class_fid(fake, by_class)[2] is None
    assert precision[1] == recall[1] == 1.0  # the class itself, all of it


def test_the_note_says_how_many_were_compared_and_is_none_from_min_n() -> None:
    note = class_manifold_note([980, 1135])
    assert "0: 980, 1: 1135" in note and f"below the whole-set protocol's {MIN_N}" in note
    assert class_manifold_note([MIN_N, MIN_N + 1]) is None


def test_conditional_scores_are_objectives_apart_from_the_scores_every_run_logs() -> None:
    assert set(CONDITIONAL_SCORES) <= set(OBJECTIVES) and set(CONDITIONAL_SCORES) <= set(LABELS)
    assert not set(CONDITIONAL_SCORES) & set(SCORE_NAMES)
    assert {name for name in CONDITIONAL_SCORES if name in MAXIMISED} == {
        "conditional_accuracy", "min_class_accuracy", "min_class_recall"}
    assert not set(CONDITIONAL_SCORES) & set(Evaluator.measures)


class Conditional(nn.Module):
    """A tiny conditional generator: noise (B, 8) and labels (B,) -> images (B, 1, 28, 28)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(10, 8)
        self.body = nn.Sequential(nn.Linear(8, 784), nn.Dropout(0.5), nn.Sigmoid(),
                                  nn.Unflatten(1, (1, 28, 28)))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(z + self.embedding(labels))


@pytest.fixture(scope="module")
def small() -> Evaluator:
    """The shipped MNIST classifier against 200 noise images labelled 0-9 (no data needed)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(200, 1, 28, 28, generator=generator)
    return Evaluator(load_classifier("mnist"), images, batch_size=64,
                     test_labels=torch.arange(10).repeat(20))


def test_the_generator_is_scored_by_its_labels_in_eval_mode_and_chunks(small: Evaluator) -> None:
    torch.manual_seed(0)
    generator = Conditional()  # in training mode: its dropout must be off while scored
    z = evaluation_noise(150, 8, seed=0, device=CPU)
    labels = torch.arange(10).repeat(15)
    streamed = small.score_generator(generator, z, labels)  # chunks of 64
    assert generator.training
    generator.eval()
    with torch.no_grad():
        direct = small.score_conditional(generator(z, labels), labels)
    assert set(CONDITIONAL_SCORES) | set(Evaluator.measures) <= set(streamed)
    assert streamed["class_accuracy"] == direct["class_accuracy"]
    assert streamed["intra_fid"] == pytest.approx(direct["intra_fid"], rel=1e-6)
    assert streamed["fid"] == pytest.approx(direct["fid"], rel=1e-6)
    assert streamed["class_compared"] == [15] * 10


def test_conditional_scoring_without_test_labels_or_with_too_few_labels_is_refused(
        small: Evaluator) -> None:
    images = torch.rand(20, 1, 28, 28)
    unlabelled = Evaluator(small.classifier, images)
    with pytest.raises(ValueError, match="need the test set's labels"):
        unlabelled.score_conditional(images, torch.zeros(20, dtype=torch.long))
    with pytest.raises(ValueError, match=r"one per sample: got \(19,\) for 20 samples"):
        small.score_conditional(images, torch.zeros(19, dtype=torch.long))
    with pytest.raises(ValueError, match="one per test image: got 3 for 20 images"):
        Evaluator(small.classifier, images, test_labels=torch.zeros(3, dtype=torch.long))


def test_unconditional_scores_do_not_change_with_test_labels(small: Evaluator) -> None:
    images = torch.rand(100, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    unlabelled = Evaluator(small.classifier, torch.rand(200, 1, 28, 28,
                                                        generator=torch.Generator().manual_seed(0)),
                           batch_size=64)
    assert unlabelled.score(images) == small.score(images)
    mixed = small.score_conditional(images, torch.arange(10).repeat(10))
    assert {name: mixed[name] for name in small.score(images)} == small.score(images)


@pytest.fixture(scope="module")
def mnist(data_root: Path) -> ImageSource:
    """The real MNIST on disk."""
    return ImageSource("mnist", partial(torchvision.datasets.MNIST), str(data_root), False)


def test_real_test_digits_score_as_requested_and_nothing_when_the_labels_shift(
        mnist: ImageSource) -> None:
    """All 10,000 test images, requested as their own labels: the classifier's accuracy
    (measured 0.9927, the worst class 0.985), every class its own reference (intra-FID 0,
    recall 1). Requested as the next class: accuracy 0.0006, intra-FID 1059."""
    evaluator = mnist.scorer(CPU, 2000, 0)  # the scorer passes the test set's labels
    images, labels = mnist.labelled(CPU, train=False)
    outputs = evaluator.outputs(images)
    own = evaluator.score_conditional_outputs(*outputs, labels)
    assert own["conditional_accuracy"] > 0.98 and own["min_class_accuracy"] > 0.98
    assert own["intra_fid"] == pytest.approx(0.0, abs=1e-6)
    assert own["min_class_recall"] == 1.0 and min(own["class_precision"]) == 1.0
    assert own["fid"] == pytest.approx(0.0, abs=1e-6) and own["recall"] == 1.0
    assert "0: 980, 1: 1135" in own["class_manifold_note"]
    # The conditional scores only: the unconditional ones are those of the same images.
    shifted = conditional_scores(*outputs, (labels + 1) % 10, evaluator.test_features,
                                 evaluator.test_labels)
    assert shifted["conditional_accuracy"] < 0.01
    assert shifted["intra_fid"] > 100 and shifted["min_class_recall"] < 0.05
