"""Sample grids and the final digits."""

from pathlib import Path

import torch
from PIL import Image

from gan.core.networks import FCGenerator, generate
from gan.run.pictures import ink_on_paper, save_digits, save_grid


def test_generate_leaves_the_generator_in_its_mode() -> None:
    generator = FCGenerator().train()
    images = generate(generator, torch.zeros(2, 100))
    assert generator.training and not images.requires_grad
    assert images.shape == (2, 1, 28, 28)


def test_ink_is_dark_on_white() -> None:
    assert ink_on_paper(torch.tensor([0.0, 1.0])).tolist() == [1.0, 0.0]


def test_grid_and_digits_are_written(tmp_path: Path) -> None:
    images = torch.zeros(10, 1, 28, 28)  # blank paper
    picture = save_grid(images, tmp_path / "g" / "grid.png")
    assert picture.shape == (3, 4 * 30 + 2, 3 * 30 + 2)  # about sqrt(10) per row: 3 x 4
    save_digits(images, tmp_path / "final", scale=4)
    digit = Image.open(tmp_path / "final" / "3.png")
    assert digit.size == (112, 112)
    assert set(digit.convert("L").getextrema()) == {255}  # white paper
    assert Image.open(tmp_path / "final" / "grid.png").size == (5 * 30 * 4 + 8, 2 * 30 * 4 + 8)
