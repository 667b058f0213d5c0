"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): real and generated images alike are translated and cut out
before D, and G's gradient flows through the augmentation. `remedy=diff_augment` gives it to
the discriminator as its `augment` argument, so every image D sees, real, generated or
interpolated (a gradient penalty's), is augmented afresh."""

import torch
from torch import nn

from gan.errors import ConfigError


class DiffAugmentLayer(nn.Module):
    """Images (B, C, H, W) -> the same shape: each shifted by up to `translation` of its size
    (zero padding) and with a zero square of `cutout` of its size at a random place; a fresh
    draw per image per call, all on the device (no host reads). Refuses translation outside
    [0, 0.5) and cutout outside [0, 1)."""

    not_stackable = "diff_augment draws its shifts and cut-outs inside D's forward"

    def __init__(self, translation: float = 0.125, cutout: float = 0.5) -> None:
        super().__init__()
        if not (0 <= translation < 0.5 and 0 <= cutout < 1):
            raise ConfigError(f"remedy.diff_augment needs 0 <= translation < 0.5 and "
                              f"0 <= cutout < 1, got {translation} and {cutout}")
        self.translation, self.cutout = translation, cutout

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Translate, then cut out."""
        return self._cut_out(self._translate(images))

    def _translate(self, images: torch.Tensor) -> torch.Tensor:
        """Each image moved by (dy, dx) in [-s, s] pixels, zeros coming in."""
        batch, _, height, width = images.shape
        s = int(self.translation * height + 0.5)
        if s == 0:
            return images
        padded = nn.functional.pad(images, (s, s, s, s))  # (B, C, H + 2s, W + 2s)
        dy, dx = torch.randint(0, 2 * s + 1, (2, batch, 1, 1), device=images.device)
        rows = dy + torch.arange(height, device=images.device)[None, :, None]  # (B, H, 1)
        cols = dx + torch.arange(width, device=images.device)[None, None, :]  # (B, 1, W)
        index = torch.arange(batch, device=images.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)

    def _cut_out(self, images: torch.Tensor) -> torch.Tensor:
        """A (cutout * H) x (cutout * W) square of zeros centred at a random pixel."""
        batch, _, height, width = images.shape
        half_h, half_w = int(self.cutout * height / 2), int(self.cutout * width / 2)
        if half_h == 0 or half_w == 0:
            return images
        centre = torch.rand(2, batch, 1, 1, device=images.device)
        y = torch.arange(height, device=images.device)[None, :, None]  # (1, H, 1)
        x = torch.arange(width, device=images.device)[None, None, :]  # (1, 1, W)
        inside = (((y - centre[0] * height).abs() < half_h)
                  & ((x - centre[1] * width).abs() < half_w))  # (B, H, W)
        return images * (~inside).unsqueeze(1).to(images.dtype)
