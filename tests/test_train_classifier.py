"""Training the evaluator classifier: deterministic by seed, and the command writes its record."""

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from gan.metrics.classifier import load_classifier
from gan.metrics.fitting import accuracy, shifted, train_classifier
from gan.train_classifier import fit
from tests.conftest import CONF_DIR
from tests.fakes import use_fake_data


def toy_data() -> tuple[torch.Tensor, torch.Tensor]:
    """256 images whose class is which of ten vertical bands is lit."""
    labels = torch.arange(256) % 10
    images = torch.zeros(256, 1, 28, 28)
    for index, label in enumerate(labels.tolist()):
        images[index, 0, :, 2 + 2 * label:4 + 2 * label] = 1.0
    return images, labels


def test_training_is_deterministic_given_the_seed() -> None:
    images, labels = toy_data()
    first, again, other = (train_classifier(images, labels, epochs=1, batch_size=64, lr=2e-3,
                                            shift=1, seed=seed) for seed in (0, 0, 1))
    for name, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name
    assert not torch.equal(first.head.weight, other.head.weight)


def test_training_learns_a_separable_toy_problem() -> None:
    images, labels = toy_data()
    classifier = train_classifier(images, labels, epochs=15, batch_size=32, lr=3e-3, shift=0,
                                  seed=0)
    assert accuracy(classifier, images, labels) > 0.9


def test_shifts_move_each_image_by_at_most_the_limit() -> None:
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 14, 14] = 1.0
    moved = shifted(image.expand(200, -1, -1, -1), torch.Generator().manual_seed(0), pixels=2)
    rows, cols = moved[:, 0].flatten(1).argmax(1).div(28, rounding_mode="floor"), \
        moved[:, 0].flatten(1).argmax(1) % 28
    assert moved.shape == (200, 1, 28, 28) and moved.sum() == 200  # nothing lost
    assert set(rows.tolist()) == set(range(12, 17)) and set(cols.tolist()) == set(range(12, 17))


def test_command_writes_weights_and_record_that_load(tmp_path: Path) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("classifier", overrides=["classifier.epochs=1", f"out={tmp_path}"])
    use_fake_data(cfg)
    path = fit(cfg)
    assert not torch.are_deterministic_algorithms_enabled()  # restored for the rest
    assert path == tmp_path / "mnist.pt"
    record = json.loads((tmp_path / "mnist.json").read_text())
    assert record["dataset"] == "mnist" and 0 <= record["test_accuracy"] <= 1
    assert record["epochs"] == 1 and record["seed"] == 0
    assert load_classifier("mnist", weights_dir=tmp_path)(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_a_dataset_without_an_evaluator_is_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["train_classifier", "dataset=ring8"])
    monkeypatch.delitem(sys.modules, "gan.train_classifier")  # run afresh, as `python -m` does
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("gan.train_classifier", run_name="__main__")
    said = str(stop.value.code)
    assert said.startswith("error: In 'classifier': Could not find 'classifier/ring8'")
    assert "fashion_mnist, mnist" in said and len(said.splitlines()) == 1
