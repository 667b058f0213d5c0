"""Fitting an evaluator classifier to a dataset's labelled images, and recording its weights
(`python -m gan.train_classifier` is the command)."""

import json
import logging
import math
import platform
from pathlib import Path

import torch
from torch.nn import functional as F

from gan.metrics.classifier import Classifier, weights_path

log = logging.getLogger(__name__)


def shifted(images: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Each image (B, 1, H, W) moved by its own random offset of up to `pixels` each way."""
    batch, _, height, width = images.shape
    padded = F.pad(images, (pixels,) * 4)  # (B, 1, H + 2p, W + 2p), zero (background) border
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, batch, 1), generator=generator)
    rows = (dy + torch.arange(height))[:, :, None]  # (B, H, 1)
    cols = (dx + torch.arange(width))[:, None, :]  # (B, 1, W)
    return padded[torch.arange(batch)[:, None, None], 0, rows, cols].unsqueeze(1)


@torch.no_grad()
def accuracy(classifier: Classifier, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 2000) -> float:
    """Fraction of images (N, 1, H, W) whose predicted class is their label (N,)."""
    classifier.eval()
    correct = sum(int((classifier(images[i:i + batch_size]).argmax(1)
                       == labels[i:i + batch_size]).sum())
                  for i in range(0, len(images), batch_size))
    return correct / len(images)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int, batch_size: int,
                     lr: float, shift: int, seed: int) -> Classifier:
    """A classifier fitted to images (N, 1, H, W) and labels (N,): Adam, cosine-decayed learning
    rate, random shifts of up to `shift` pixels; deterministic given the seed (on the CPU)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # shuffling and shifts
    classifier = Classifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    for epoch in range(epochs):
        classifier.train()
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch_size):
            index = order[start:start + batch_size]
            batch = shifted(images[index], generator, shift)  # (B, 1, 28, 28)
            loss = F.cross_entropy(classifier(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        log.info(f"epoch {epoch + 1}/{epochs}: last batch loss {loss.item():.4f}")
    return classifier.eval()


def record(classifier: Classifier, accuracy_on_test: float, settings: dict, seconds: float,
           dataset: str, out: Path) -> Path:
    """Write out/<dataset>.pt (the weights) and out/<dataset>.json (what they reached, and how)."""
    out.mkdir(parents=True, exist_ok=True)
    path = weights_path(dataset, out)
    torch.save(classifier.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps({
        "dataset": dataset, "test_accuracy": accuracy_on_test, **settings,
        "parameters": sum(p.numel() for p in classifier.parameters()),
        "train_seconds": round(seconds, 1), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "machine": platform.machine()}, indent=2) + "\n")
    return path
