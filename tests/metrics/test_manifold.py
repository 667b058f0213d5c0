"""Improved precision and recall on synthetic features, where the answer is known."""

import pytest
import torch

from gan.metrics.manifold import inside, knn_radii, precision_recall


def test_each_radius_reaches_the_kth_nearest_other_point() -> None:
    points = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(points, k=1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radii(points, k=2).tolist() == [3.0, 2.0, 3.0, 5.0]


def test_the_radii_need_more_points_than_k() -> None:
    with pytest.raises(ValueError, match="k=3 nearest neighbours need more than 3 points, got 3"):
        knn_radii(torch.zeros(3, 2))


def test_a_query_counts_inside_when_some_ball_holds_it() -> None:
    points, radii = torch.tensor([[0.0, 0.0], [10.0, 0.0]]), torch.tensor([1.0, 2.0])
    queries = torch.tensor([[0.5, 0.0], [11.9, 0.0], [5.0, 0.0], [0.0, 1.0]])
    assert inside(queries, points, radii) == 0.75  # the ball's edge counts


def test_the_same_set_is_all_precision_and_all_recall() -> None:
    features = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert precision_recall(features, features.flip(0)) == (1.0, 1.0)


def test_far_apart_sets_share_nothing() -> None:
    real = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    assert precision_recall(real, real + 100) == (0.0, 0.0)


def test_collapse_onto_one_of_two_modes_keeps_precision_and_halves_recall() -> None:
    draw = torch.Generator().manual_seed(0)
    modes = torch.tensor([[0.0] * 4, [50.0] * 4])
    real = torch.cat([modes[0] + torch.randn(1000, 4, generator=draw),
                      modes[1] + torch.randn(1000, 4, generator=draw)])
    fake = modes[0] + torch.randn(2000, 4, generator=draw)  # every sample in the first mode
    precision, recall = precision_recall(real, fake)
    assert precision > 0.95
    assert 0.45 < recall <= 0.5  # only the first mode's real samples are reached


def test_given_radii_are_used_and_give_the_same_answer() -> None:
    draw = torch.Generator().manual_seed(1)
    real, fake = torch.randn(2500, 4, generator=draw), torch.randn(2500, 4, generator=draw) * 1.5
    assert precision_recall(real, fake, real_radii=knn_radii(real)) == precision_recall(real, fake)


def test_one_distance_matrix_gives_the_papers_two_shares() -> None:
    """Precision and recall read one fake-to-real matrix in blocks; each must still be the
    paper's share: fakes inside the real manifold, reals inside the fake one (sets of unequal
    size, more than one block)."""
    draw = torch.Generator().manual_seed(2)
    real, fake = torch.randn(1800, 6, generator=draw), torch.randn(2500, 6, generator=draw) + 0.3
    precision, recall = precision_recall(real, fake)
    # One point at a ball's very edge may fall either way with the operands' order: 1 of n.
    assert precision == pytest.approx(inside(fake, real, knn_radii(real)), abs=1 / len(fake))
    assert recall == pytest.approx(inside(real, fake, knn_radii(fake)), abs=1 / len(real))
    assert 0.2 < precision < 0.95 and 0.2 < recall < 0.95  # neither all nor nothing
