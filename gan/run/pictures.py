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


def save_picture(picture: torch.Tensor, path: Path) -> torch.Tensor:
    """Write a (3, H, W) picture in [0, 1] as a PNG (its folder made) and return it for
    TensorBoard."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(picture, path)
    return picture


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


def scatter(points: torch.Tensor, centres: torch.Tensor | None = None,
            extent: float | None = None, size: int = 400) -> torch.Tensor:
    """Points (n, 2) drawn as grey dots on white, darker where they pile up, over the
    `centres` (k, 2) of a mixture's modes as red crosses: a (3, size, size) picture of the
    square [-extent, extent]^2 (default: the points' and centres' largest coordinate, plus a
    tenth), y upwards. Drawn with torch alone (no plotting library in the training loop)."""
    points = points.detach().float().cpu()
    shown = points if centres is None else torch.cat([points, centres.float().cpu()])
    if extent is None:
        finite = shown[torch.isfinite(shown).all(dim=1)]
        extent = 1.1 * float(finite.abs().max()) if len(finite) else 1.0
    picture = torch.ones(3, size, size)
    columns, rows = _pixels(points, extent, size)
    ink = torch.zeros(size * size).index_add_(0, rows * size + columns,
                                              torch.ones(len(rows)))  # dots per pixel
    shade = (0.7 ** ink).view(size, size)  # each dot darkens its pixel by 30%
    picture *= shade
    if centres is not None:
        _crosses(picture, *_pixels(centres.float().cpu(), extent, size))
    return picture


def _pixels(points: torch.Tensor, extent: float, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (column, row) pixel of each point inside the square, rows counted from the top."""
    inside = (points.abs() <= extent).all(dim=1) & torch.isfinite(points).all(dim=1)
    scaled = ((points[inside] + extent) / (2 * extent) * (size - 1)).round().long()
    return scaled[:, 0], (size - 1) - scaled[:, 1]


def _crosses(picture: torch.Tensor, columns: torch.Tensor, rows: torch.Tensor,
             arm: int = 5) -> None:
    """Red crosses of `arm` pixels each way at the given pixels, in place."""
    size = picture.shape[-1]
    red = torch.tensor([0.85, 0.1, 0.1]).view(3, 1)
    for offset in range(-arm, arm + 1):
        for dc, dr in ((offset, 0), (0, offset)):
            c, r = (columns + dc).clamp(0, size - 1), (rows + dr).clamp(0, size - 1)
            picture[:, r, c] = red
