"""The divergence guard: a NaN or inf in a loss or a weight stops the run, naming the step."""

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from gan.core.step import StepOutput
from gan.run.checkpoint import load_checkpoint
from gan.run.divergence import Diverged, DivergenceGuard
from gan.run.loop import run
from tests.conftest import compose_config


def output(g_loss: float = 1.0, d_loss: float = 1.0) -> StepOutput:
    """A step's output with these losses."""
    g_loss, d_loss = torch.tensor(g_loss), torch.tensor(d_loss)
    return StepOutput(g_loss, d_loss, g_loss, d_loss, torch.zeros(2), torch.zeros(2), {})


def test_finite_losses_and_weights_pass() -> None:
    DivergenceGuard(nn.Linear(2, 2), nn.Linear(2, 1))(3, output())


@pytest.mark.parametrize(("bad", "named"), [
    ({"g_loss": math.nan}, "the generator loss is"),
    ({"d_loss": math.inf}, "the discriminator loss is"),
    ({"g_loss": math.nan, "d_loss": -math.inf},
     "the generator loss and the discriminator loss are")])
def test_a_bad_loss_is_named_with_its_step(bad: dict[str, float], named: str) -> None:
    with pytest.raises(Diverged, match=f"at step 7: {named} not finite") as caught:
        DivergenceGuard(nn.Linear(2, 2), nn.Linear(2, 1))(7, output(**bad))
    assert caught.value.step == 7


def test_a_bad_weight_is_caught_though_the_losses_are_finite() -> None:
    discriminator = nn.Linear(2, 1)
    with torch.no_grad():
        discriminator.bias.fill_(math.nan)
    with pytest.raises(Diverged, match="the discriminator's weights is not finite"):
        DivergenceGuard(nn.Linear(2, 2), discriminator)(0, output())


@pytest.mark.usefixtures("data_root")
@pytest.mark.parametrize("checkpoint_every", [1000, 3])
def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(
        tmp_path: Path, checkpoint_every: int) -> None:
    # SGD at lr 1e20 overflows the weights within the first few steps.
    cfg = compose_config("train.steps=50", "train.device=cpu", "train.log_every=10",
                         f"train.checkpoint_every={checkpoint_every}", "optimizer=sgd",
                         "optimizer.lr=1e20")
    with pytest.raises(Diverged) as caught:
        run(cfg, tmp_path)
    assert caught.value.step <= 10  # at the first log point, or a checkpoint before it
    # Checkpoints are checked too (every 3 steps is off the log points): none holds a NaN.
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["step"] <= caught.value.step
    for network in ("generator", "discriminator"):
        assert all(torch.isfinite(w).all() for w in state[network].values())
