"""The evaluator network: a small CNN classifier of the real data, and its shipped weights."""

import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from gan.errors import UserError, first_line

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FEATURE_DIM = 128  # the penultimate layer, whose statistics the Fréchet distance compares


class Classifier(nn.Module):
    """(B, 1, 28, 28) images in [0, 1] -> 10 class logits, with the penultimate features exposed.

    conv 3x3x16, ReLU, max-pool, conv 3x3x32, ReLU, max-pool, FC 128, ReLU, FC 10: about 0.2 M
    parameters and 1.2 M multiply-adds per image, so 10,000 samples classify in about a second on
    two CPU cores.
    """

    def __init__(self, n_classes: int = 10, channels: tuple[int, int] = (16, 32),
                 feature_dim: int = FEATURE_DIM, dropout: float = 0.3) -> None:
        super().__init__()
        first, second = channels
        self.conv1 = nn.Conv2d(1, first, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(first, second, kernel_size=3, padding=1)
        self.hidden = nn.Linear(second * 7 * 7, feature_dim)
        self.dropout = nn.Dropout(p=dropout)
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, feature_dim) of images (B, 1, 28, 28)."""
        x = F.max_pool2d(F.relu(self.conv1(images)), 2)  # (B, 16, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 32, 7, 7)
        return F.relu(self.hidden(x.flatten(1)))  # (B, 128)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10)."""
        return self.head(self.dropout(self.features(images)))


def weights_path(dataset: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Where the shipped weights for a dataset (by its config name) live."""
    return weights_dir / f"{dataset}.pt"


def load_classifier(dataset: str, device: torch.device | str = "cpu",
                    weights_dir: Path = WEIGHTS_DIR) -> Classifier:
    """The trained classifier for a dataset, in eval mode, read offline from its weights file."""
    path = weights_path(dataset, weights_dir)
    if not path.exists():
        shipped = sorted(p.stem for p in weights_dir.glob("*.pt"))
        raise UserError(f"no evaluator classifier for dataset {dataset!r} ({path} is missing; "
                        f"shipped: {', '.join(shipped) or 'none'}). Train one with "
                        f"`python -m gan.train_classifier dataset={dataset}`")
    with torch.device("meta"):  # no random initialisation: it would move the global RNG
        classifier = Classifier()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        classifier.load_state_dict(state, assign=True)
    except Exception as error:  # corrupt file, or weights of another architecture
        retrain = f"python -m gan.train_classifier dataset={dataset}"
        raise UserError(f"the evaluator weights {path} do not load ({first_line(error)}); "
                        f"retrain them with `{retrain}`") from None
    # Channels-last convolutions run about twice as fast on the CPU (oneDNN) as NCHW ones.
    classifier = classifier.to(device, memory_format=torch.channels_last)
    return classifier.eval().requires_grad_(False)


def recorded_accuracy(dataset: str, weights_dir: Path = WEIGHTS_DIR) -> dict:
    """The record written beside the weights: test accuracy, seed, epochs, torch version."""
    return json.loads(weights_path(dataset, weights_dir).with_suffix(".json").read_text())
