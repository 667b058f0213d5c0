"""The 2D mixtures' metrics, as PacGAN's code computes them, on hand-made point sets."""

import math

import pytest
import torch

from gan.metrics.mixtures import MixtureScorer, mixture_scores, mode_counts, nearest_modes

CENTRES = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
STD = 0.01


def test_a_point_within_three_std_of_its_nearest_mode_is_high_quality() -> None:
    points = torch.tensor([[1.0 + 2.9 * STD, 0.0],  # 2.9 std off mode 0: counts
                           [0.0, 1.0 + 3.1 * STD],  # 3.1 std off mode 1: does not
                           [0.4, 0.4]])  # between modes: does not
    mode, distance = nearest_modes(points, CENTRES, STD)
    assert mode.tolist()[:2] == [0, 1]
    assert distance[:2].tolist() == pytest.approx([2.9, 3.1], rel=1e-4)  # float32 points
    assert mode_counts(points, CENTRES, STD).tolist() == [1, 0, 0, 0]


def test_scores_of_an_even_spread_a_collapse_and_nothing() -> None:
    even = CENTRES.repeat(25, 1)  # 25 points on every mode
    scores = mixture_scores(even, CENTRES, STD)
    assert (scores["modes_covered"], scores["high_quality"]) == (4, 1.0)
    assert scores["class_kl"] == pytest.approx(0.0)
    collapsed = torch.cat([CENTRES[:1].repeat(90, 1), torch.full((10, 2), 5.0)])
    scores = mixture_scores(collapsed, CENTRES, STD)
    assert (scores["modes_covered"], scores["high_quality"]) == (1, 0.9)
    assert scores["class_kl"] == pytest.approx(math.log(4))  # all mass on one of 4 modes
    assert scores["class_histogram"] == [1.0, 0.0, 0.0, 0.0]
    nowhere = torch.full((10, 2), 5.0)
    scores = mixture_scores(nowhere, CENTRES, STD)
    assert (scores["modes_covered"], scores["high_quality"], scores["class_kl"]) == (0, 0.0, None)


def test_the_reverse_kl_is_of_the_high_quality_points_histogram() -> None:
    # Modes 0 and 1 with 3:1 high-quality points (and far-off points that do not count).
    points = torch.cat([CENTRES[:1].repeat(3, 1), CENTRES[1:2], torch.full((4, 2), 9.0)])
    histogram = torch.tensor([0.75, 0.25])
    expected = float((histogram * (histogram * 4).log()).sum())  # KL(p || uniform over 4)
    scores = mixture_scores(points, CENTRES, STD)
    assert scores["class_kl"] == pytest.approx(expected)
    assert scores["high_quality"] == 0.5


def test_non_finite_points_are_never_high_quality() -> None:
    points = torch.tensor([[float("nan"), 0.0], [1.0, 0.0]])
    assert mixture_scores(points, CENTRES, STD)["high_quality"] == 0.5


def test_the_scorer_refuses_samples_that_are_not_points() -> None:
    with pytest.raises(ValueError, match=r"scores points \(n, 2\); got samples of shape "
                                         r"\(3, 1, 28, 28\)"):
        MixtureScorer(CENTRES, STD).score(torch.rand(3, 1, 28, 28))


def test_the_scorer_has_no_classes_to_ask_for() -> None:
    # The Scorer protocol's conditional side: a mixture measures nothing conditional, and a
    # generator asked for labels is refused rather than scored as if unasked.
    scorer = MixtureScorer(CENTRES, STD)
    assert scorer.conditional_measures == ()
    with pytest.raises(ValueError, match="have no classes"):
        scorer.score_generator(torch.nn.Linear(2, 2), torch.rand(4, 2), torch.zeros(4).long())
