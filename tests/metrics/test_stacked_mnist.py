"""Stacked MNIST's metrics (PacGAN's `log_metrics`): modes from each channel's digit, modes
covered (at least one sample), KL against the uniform over 1,000 modes."""

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from gan.metrics.classifier import load_classifier
from gan.metrics.stacked_mnist import StackedMNISTScorer, mode_digits, mode_scores, stacked_modes
from gan.run.data import ImageSource


class PixelDigits(nn.Module):
    """A stand-in classifier: an image's digit is its top-left pixel times 10, rounded."""

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> the digit (B, 1)."""
        return (images[:, :, 0, 0] * 10).round()

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """One-hot logits (B, 10)."""
        return nn.functional.one_hot(features[:, 0].long(), 10).float()


def samples_of(digits: list[list[int]]) -> torch.Tensor:
    """Samples (n, 3, 28, 28) whose channels PixelDigits reads as the given digits."""
    values = torch.tensor(digits, dtype=torch.float32) / 10  # (n, 3)
    return values[:, :, None, None].expand(-1, -1, 28, 28).clone()


def test_a_samples_mode_reads_its_channels_as_one_number() -> None:
    assert stacked_modes(torch.tensor([[1, 2, 3], [0, 0, 7], [9, 9, 9]])).tolist() == [123, 7,
                                                                                      999]


def test_a_modes_digits_undo_its_reading() -> None:
    modes = torch.tensor([427, 9, 990, 0])
    assert mode_digits(modes, 3).tolist() == [[4, 2, 7], [0, 0, 9], [9, 9, 0], [0, 0, 0]]
    every = torch.arange(1000)
    assert torch.equal(stacked_modes(mode_digits(every, 3)), every)


def test_one_mode_covers_one_and_scores_ln_1000() -> None:
    scores = mode_scores(torch.full((500,), 42), 1000)
    assert scores["n"] == 500 and scores["modes_covered"] == 1
    assert math.isclose(scores["class_kl"], math.log(1000))
    assert len(scores["class_histogram"]) == 1000 and scores["class_histogram"][42] == 1.0


def test_every_mode_once_covers_all_and_scores_zero() -> None:
    scores = mode_scores(torch.arange(1000), 1000)
    assert scores["modes_covered"] == 1000 and abs(scores["class_kl"]) < 1e-12


def test_half_the_modes_evenly_score_ln_2_and_one_sample_covers_a_mode() -> None:
    scores = mode_scores(torch.arange(0, 1000, 2).repeat(3), 1000)
    assert scores["modes_covered"] == 500
    assert math.isclose(scores["class_kl"], math.log(2))
    # No 1 % threshold: one sample of 10,001 still covers its mode.
    assert mode_scores(torch.cat([torch.zeros(10000, dtype=torch.long),
                                  torch.tensor([999])]), 1000)["modes_covered"] == 2


def test_scorer_classifies_each_channel_in_chunks() -> None:
    digits = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 0], [3, 2, 1]]
    scorer = StackedMNISTScorer(PixelDigits(), batch_size=2)  # three chunks
    assert scorer.modes(samples_of(digits)).tolist() == [123, 456, 789, 0, 321]
    scores = scorer.score(samples_of(digits))
    assert scores["modes_covered"] == 5 and scores["manifold_note"] is None
    assert scorer.default_objective == "class_kl"
    assert set(scorer.measures) <= set(scores)


def test_a_generator_of_one_sample_is_collapsed() -> None:
    class Constant(nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return samples_of([[5, 0, 5]]).expand(len(z), -1, -1, -1)

    scores = StackedMNISTScorer(PixelDigits(), batch_size=7).score_generator(
        Constant(), torch.randn(20, 4))
    assert scores["n"] == 20 and scores["modes_covered"] == 1
    assert math.isclose(scores["class_kl"], math.log(1000))
    assert scores["class_histogram"][505] == 1.0


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 2), (4, 6, 28, 28)])
def test_samples_without_three_channels_are_refused_in_one_line(shape: tuple[int, ...]) -> None:
    scorer = StackedMNISTScorer(PixelDigits())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*1-channel") as error:
        scorer.score(torch.rand(shape))
    assert str(shape) in str(error.value) and "\n" not in str(error.value)


def test_the_shipped_classifier_reads_real_stacked_digits(data_root: Path) -> None:
    from torchvision.datasets import MNIST
    images, labels = ImageSource("mnist", MNIST, str(data_root), download=False).labelled(
        torch.device("cpu"), train=False)
    index = torch.randint(len(images), (300, 3), generator=torch.Generator().manual_seed(0))
    samples = images[index, 0]  # (300, 3, 28, 28)
    scorer = StackedMNISTScorer(load_classifier("mnist"), batch_size=128)
    agree = scorer.modes(samples) == stacked_modes(labels[index])
    assert agree.float().mean() > 0.95  # each digit about 99 % right: three, about 97 %


def test_requested_modes_score_the_share_read_as_asked() -> None:
    digits = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 0]]
    scorer = StackedMNISTScorer(PixelDigits(), batch_size=3)
    assert set(scorer.conditional_measures) == {"conditional_accuracy", "min_class_accuracy"}
    right = scorer.score_conditional(samples_of(digits), torch.tensor([123, 456, 789, 0]))
    assert right["conditional_accuracy"] == 1.0 and right["min_class_accuracy"] == 1.0
    assert right["modes_covered"] == 4  # the unconditional scores too
    # One digit of three wrong is a wrong mode: the third sample asked for 788, read as 789.
    half = scorer.score_conditional(samples_of(digits), torch.tensor([123, 456, 788, 1]))
    assert half["conditional_accuracy"] == 0.5 and half["min_class_accuracy"] == 0.0
    accuracy = half["class_accuracy"]
    assert len(accuracy) == 1000 and accuracy[123] == 1.0 and accuracy[788] == 0.0
    assert accuracy[789] is None  # nothing asked for it


def test_requested_modes_outside_the_thousand_are_refused() -> None:
    scorer = StackedMNISTScorer(PixelDigits())
    with pytest.raises(ValueError, match=r"must lie in \[0, 1000\)"):
        scorer.score_conditional(samples_of([[1, 2, 3]]), torch.tensor([1000]))


def test_a_conditional_generator_is_scored_on_the_modes_asked_of_it() -> None:
    class Asked(nn.Module):  # draws exactly the mode it is asked for
        def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            digits = torch.stack([labels // 100, labels // 10 % 10, labels % 10], dim=1)
            return samples_of(digits.tolist())

    scorer = StackedMNISTScorer(PixelDigits(), batch_size=7)
    labels = torch.arange(20) * 37  # 0, 37, ..., 703
    scores = scorer.score_generator(Asked(), torch.zeros(20, 2), labels)
    assert scores["conditional_accuracy"] == 1.0 and scores["modes_covered"] == 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_modes_are_read_on_a_gpu() -> None:
    # CUDA has no int64 matrix product: modes are a sum of products, on every device.
    digits = torch.tensor([[4, 2, 7], [0, 0, 9]], device="cuda")
    assert stacked_modes(digits).tolist() == [427, 9]
    assert mode_digits(torch.tensor([427, 9], device="cuda"), 3).tolist() == [[4, 2, 7], [0, 0, 9]]
