"""Generated images as pictures: grids and digits, dark ink on white, as PNG files."""

from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image


def ink_on_paper(images: torch.Tensor) -> torch.Tensor:
    """Invert [0, 1] pixels so digits are dark on white, like the seed's cmap='gray_r'."""
    return 1.0 - images


def grid(images: torch.Tensor, scale: int = 1, nrow: int | None = None) -> torch.Tensor:
    """A (3, H', W') picture of images (n, C, H, W), nrow per row (about sqrt(n)), ink on paper."""
    nrow = nrow or max(1, round(len(images) ** 0.5))
    picture = make_grid(ink_on_paper(images.detach().float().cpu()), nrow=nrow, padding=2,
                        pad_value=1.0)
    return upscale(picture, scale)


def upscale(picture: torch.Tensor, scale: int) -> torch.Tensor:
    """Nearest-neighbour enlargement of a (C, H, W) picture, so 28-pixel digits stay crisp."""
    return picture.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def save_grid(images: torch.Tensor, path: Path, scale: int = 1,
              nrow: int | None = None) -> torch.Tensor:
    """Write the grid of images (n, C, H, W) as a PNG and return it for TensorBoard."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = grid(images, scale, nrow)
    save_image(picture, path)
    return picture


def save_digits(images: torch.Tensor, folder: Path, scale: int = 4) -> None:
    """Write each image as folder/0.png, 1.png, ... (the seed's final digits) and grid.png."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(ink_on_paper(images.detach().float().cpu())):
        save_image(upscale(image, scale), folder / f"{index}.png")
    save_grid(images, folder / "grid.png", scale, nrow=5)  # ten digits: two rows of five
