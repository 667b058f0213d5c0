"""The class histogram as a bar-chart picture, for TensorBoard and for files."""

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gan.metrics.scores import MODE_THRESHOLD

WIDTH, HEIGHT = 360, 240
MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM = 36, 24, 20
COVERED, MISSED, UNIFORM = (52, 101, 164), (204, 0, 0), (120, 120, 120)


def histogram_chart(histogram: Sequence[float], title: str) -> torch.Tensor:
    """A (3, H, W) picture in [0, 1]: one bar per class on a fixed 0-100% axis, a grey line at
    the uniform share, red bars for classes under the 1% that counts as a covered mode."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw, font = ImageDraw.Draw(picture), ImageFont.load_default()
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    bottom = HEIGHT - MARGIN_BOTTOM
    slot = (WIDTH - MARGIN_LEFT - 8) / len(histogram)
    for tick in (0.0, 0.5, 1.0):  # the axis is fixed so frames compare across steps
        y = bottom - tick * plot_height
        draw.line([(MARGIN_LEFT - 4, y), (MARGIN_LEFT, y)], fill="black")
        draw.text((2, y - 6), f"{tick:.0%}", fill="black", font=font)
    for index, share in enumerate(histogram):
        left = MARGIN_LEFT + index * slot + slot * 0.15
        top = bottom - share * plot_height
        colour = COVERED if share >= MODE_THRESHOLD else MISSED
        draw.rectangle([(left, top), (left + slot * 0.7, bottom)], fill=colour)
        draw.text((left + slot * 0.2, bottom + 4), str(index), fill="black", font=font)
    uniform = bottom - plot_height / len(histogram)
    draw.line([(MARGIN_LEFT, uniform), (WIDTH - 8, uniform)], fill=UNIFORM, width=1)
    draw.line([(MARGIN_LEFT, bottom), (WIDTH - 8, bottom)], fill="black")
    draw.text((MARGIN_LEFT, 6), title, fill="black", font=font)
    return torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1).float() / 255.0
