"""A new loss, regulariser and network are each one module and one YAML file, touching nothing
else (docs/architecture.md, "Where a new piece goes"): here all three live in a temporary
folder, a module put on sys.path and YAML files in a config folder added to Hydra's search
path, and `python train.py` trains with them as with the shipped ones."""

import json
import textwrap
from pathlib import Path

import pytest

from gan.run.checkpoint import load_checkpoint
from tests.conftest import train_command

pytestmark = pytest.mark.usefixtures("data_root")

MODULE = '''
"""A toy loss, a toy regulariser and a toy network, from outside the package."""

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from gan.core.networks import Discriminator
from gan.core.objective import Terms
from gan.core.objective import Forward
from gan.core.remedies import Remedy


class ToyLoss:
    """The least-squares loss with its own name: D aims real at 1 and fake at 0."""

    probability = None

    def discriminator_loss(self, forward: Forward) -> torch.Tensor:
        return ((forward.real_logits - 1).square().mean() + forward.fake_logits.square().mean())

    def generator_loss(self, forward: Forward) -> torch.Tensor:
        return (forward.fake_logits - 1).square().mean()


class ToyPenalty(Remedy):
    """D's loss gains `toy_penalty` = weight * mean(D(x)^2) on the real batch."""

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = weight

    def discriminator_terms(self, forward: Forward) -> Terms:
        return {"toy_penalty": self.weight * forward.real_logits.square().mean()}


class ToyDiscriminator(Discriminator):
    """Flatten, Linear, Tanh; takes what remedy presets give a discriminator."""

    def __init__(self, hidden_dim: int = 32, image_shape: Sequence[int] = (1, 28, 28),
                 packing: int = 1, augment: nn.Module | None = None,
                 batch_layer: Callable[[int], nn.Module] | None = None) -> None:
        body = nn.Sequential(nn.Flatten(),
                             nn.Linear(packing * math.prod(image_shape), hidden_dim), nn.Tanh())
        super().__init__(body, hidden_dim, packing=packing, augment=augment,
                         batch_layer=batch_layer)
'''

CONFIGS = {
    "loss/toy.yaml": "_target_: toy_pieces.ToyLoss\n",
    "remedy/toy_penalty.yaml": "toy_penalty:\n  _target_: toy_pieces.ToyPenalty\n  weight: 0.1\n",
    "discriminator/toy.yaml": "_target_: toy_pieces.ToyDiscriminator\nhidden_dim: 32\n"
                              "image_shape: [1, 28, 28]\n",
}


def test_a_loss_a_regulariser_and_a_network_from_a_folder_of_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pieces").mkdir()
    (tmp_path / "pieces" / "toy_pieces.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path / "pieces"))
    for name, text in CONFIGS.items():
        (tmp_path / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "conf" / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert train_command(
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "loss=toy", "discriminator=toy",
        "remedy=[toy_penalty,minibatch_discrimination,packing]", "remedy.toy_penalty.weight=0.5",
        "train.steps=3", "train.batch_size=16", "train.device=cpu", "eval.every=0",
        f"hydra.run.dir={run_dir}") is None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["steps"] == 3
    assert set(metrics["final_terms"]) == {"toy_penalty"}
    discriminator = load_checkpoint(run_dir / "checkpoint.pt")["discriminator"]
    assert discriminator["body.1.weight"].shape == (32, 2 * 28 * 28)  # packing: 2 images
    assert discriminator["batch_layer.tensor"].shape == (32, 50 * 5)  # the minibatch layer
    # A typo in the new regulariser's setting is refused as for a shipped one.
    assert train_command(
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "remedy=[toy_penalty]",
        "+remedy.toy_penalty.wieght=1", "train.device=cpu", f"hydra.run.dir={run_dir}2") == (
        "error: remedy.toy_penalty.wieght is not a setting gan-lab reads (did you mean "
        "remedy.toy_penalty.weight?)")
