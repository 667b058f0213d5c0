"""The shipped evaluator classifiers: load offline, reach their recorded accuracy."""

from functools import partial
from pathlib import Path

import pytest
import torch
import torchvision

from gan.errors import UserError
from gan.metrics.classifier import (
    FEATURE_DIM,
    WEIGHTS_DIR,
    Classifier,
    load_classifier,
    recorded_accuracy,
)
from gan.metrics.fitting import accuracy
from gan.run.data import ImageSource

PROMISED = {"mnist": 0.99, "fashion_mnist": 0.90}
TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def test_outputs_logits_and_penultimate_features() -> None:
    classifier = Classifier().eval()
    images = torch.rand(4, 1, 28, 28)
    assert classifier(images).shape == (4, 10)
    assert classifier.features(images).shape == (4, FEATURE_DIM)


@pytest.mark.parametrize("dataset", sorted(PROMISED))
def test_weights_ship_inside_the_package_and_are_small(dataset: str) -> None:
    path = WEIGHTS_DIR / f"{dataset}.pt"
    assert 100_000 < path.stat().st_size < 2_500_000
    assert recorded_accuracy(dataset)["test_accuracy"] >= PROMISED[dataset]


@pytest.mark.parametrize("dataset", sorted(PROMISED))
def test_shipped_weights_reach_the_recorded_accuracy(data_root: Path, dataset: str) -> None:
    source = ImageSource(dataset, partial(getattr(torchvision.datasets, TORCHVISION[dataset])),
                         str(data_root), download=False)
    images, labels = source.labelled(torch.device("cpu"), train=False)
    classifier = load_classifier(dataset)
    assert not classifier.training
    recorded = recorded_accuracy(dataset)["test_accuracy"]
    # Other thread counts or builds may round a borderline image the other way.
    assert accuracy(classifier, images, labels) == pytest.approx(recorded, abs=5e-4)


def test_corrupt_weights_name_the_command_that_retrains_them(tmp_path: Path) -> None:
    (tmp_path / "mnist.pt").write_bytes(b"not weights")
    with pytest.raises(UserError, match="do not load .*train_classifier dataset=mnist"):
        load_classifier("mnist", weights_dir=tmp_path)


def test_unknown_dataset_names_the_command_that_trains_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="gan.train_classifier dataset=cifar"):
        load_classifier("cifar", weights_dir=tmp_path)
