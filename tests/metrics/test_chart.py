"""The class-histogram picture."""

import torch

from gan.metrics.chart import COVERED, MISSED, histogram_chart


def colour_count(picture: torch.Tensor, colour: tuple[int, int, int]) -> int:
    """Pixels of exactly this colour in a (3, H, W) picture in [0, 1]."""
    target = torch.tensor(colour, dtype=torch.float32)[:, None, None] / 255.0
    return int(torch.isclose(picture, target, atol=1e-3).all(dim=0).sum())


def test_chart_is_an_rgb_picture_with_bar_heights_by_share() -> None:
    uniform = histogram_chart([0.1] * 10, "uniform")
    collapsed = histogram_chart([1.0] + [0.0] * 9, "collapsed")
    assert uniform.shape == collapsed.shape and uniform.shape[0] == 3
    assert uniform.min() >= 0 and uniform.max() <= 1
    # One full-height bar paints more than ten tenth-height bars together.
    assert colour_count(collapsed, COVERED) > colour_count(uniform, COVERED)


def test_classes_under_one_percent_are_drawn_red() -> None:
    assert colour_count(histogram_chart([0.1] * 10, ""), MISSED) == 0
    assert colour_count(histogram_chart([0.5, 0.495, 0.005] + [0.0] * 7, ""), MISSED) > 0
