"""The scores as pure functions of probabilities, histograms and features."""

import math

import pytest
import torch

from gan.metrics.scores import (
    class_histogram,
    class_kl,
    classifier_score,
    feature_statistics,
    frechet_distance,
    modes_covered,
)


def one_hot(classes: list[int], k: int = 10) -> torch.Tensor:
    """Certain predictions (N, K) of the given classes."""
    return torch.nn.functional.one_hot(torch.tensor(classes), k).double()


def test_histogram_counts_the_most_likely_class() -> None:
    histogram = class_histogram(one_hot([0, 0, 3, 9]))
    assert histogram.tolist() == [0.5, 0, 0, 0.25, 0, 0, 0, 0, 0, 0.25]


def test_uniform_classes_are_ten_modes_and_zero_kl() -> None:
    histogram = class_histogram(one_hot(list(range(10)) * 5))
    assert modes_covered(histogram) == 10
    assert class_kl(histogram) == pytest.approx(0.0, abs=1e-12)


def test_one_class_is_one_mode_and_kl_ln10() -> None:
    histogram = class_histogram(one_hot([4] * 50))
    assert modes_covered(histogram) == 1
    assert class_kl(histogram) == pytest.approx(math.log(10))


def test_a_mode_needs_one_percent_of_the_samples() -> None:
    histogram = torch.tensor([0.5, 0.485, 0.01, 0.005] + [0.0] * 6, dtype=torch.float64)
    assert modes_covered(histogram) == 3


def test_classifier_score_is_k_for_confident_uniform_and_1_for_collapse() -> None:
    assert classifier_score(one_hot(list(range(10)) * 3)) == pytest.approx(10.0)
    assert classifier_score(one_hot([2] * 30)) == pytest.approx(1.0)
    assert classifier_score(torch.full((30, 10), 0.1)) == pytest.approx(1.0)  # unsure


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances() -> None:
    mean_a, mean_b = torch.zeros(3), torch.tensor([1.0, 2.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    expected = 5.0 + float(((var_a.sqrt() - var_b.sqrt()) ** 2).sum())  # 5 + 1 + 1 + 0
    distance = frechet_distance(mean_a, torch.diag(var_a), mean_b, torch.diag(var_b))
    assert distance == pytest.approx(expected, abs=1e-9)


def test_frechet_distance_uses_the_square_root_of_the_covariance_product() -> None:
    # Covariances that do not commute: sqrt(C_a C_b) is not sqrt(C_a) sqrt(C_b) here.
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(6, 6, generator=generator, dtype=torch.float64) for _ in range(2))
    cov_a, cov_b = a @ a.T + 0.1 * torch.eye(6), b @ b.T + 0.1 * torch.eye(6)
    mean_a, mean_b = (torch.randn(6, generator=generator, dtype=torch.float64) for _ in "ab")
    # tr((C_a C_b)^(1/2)) from the eigenvalues of the (non-symmetric) product itself.
    trace_root = torch.linalg.eigvals(cov_a @ cov_b).real.clamp_min(0).sqrt().sum()
    expected = float((mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace()
                     - 2 * trace_root)
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_features_with_themselves_is_zero() -> None:
    features = torch.randn(500, 32, generator=torch.Generator().manual_seed(0))
    stats = feature_statistics(features)
    assert stats[0].dtype == torch.float64
    assert frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_handles_singular_covariances() -> None:
    features = torch.randn(5, 32, generator=torch.Generator().manual_seed(0))  # rank 4 < 32
    other = features + 1.0
    distance = frechet_distance(*feature_statistics(features), *feature_statistics(other))
    assert distance == pytest.approx(32.0, rel=1e-6)  # only the means differ
