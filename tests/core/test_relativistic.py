"""The relativistic pairing loss (RpGAN, as R3GAN uses it): its values by hand, its sign, and
both step kinds giving G's loss D's logits on the real batch, the updated D's where D moves
first."""

import math
from collections.abc import Callable

import pytest
import torch
from omegaconf import DictConfig

from gan.core.losses import BCELoss, RelativisticLoss
from gan.core.objective import Forward, Loss
from gan.run.build import build_step
from tests.fakes import forward_of

CPU = torch.device("cpu")


def softplus(value: float) -> float:
    """log(1 + e^value), by hand."""
    return math.log1p(math.exp(value))


def test_the_losses_are_the_mean_softplus_of_the_paired_differences() -> None:
    real, fake = [2.0, -1.0, 0.5], [0.0, 1.0, 0.5]
    forward = forward_of(torch.tensor(real, dtype=torch.float64),
                         torch.tensor(fake, dtype=torch.float64))
    loss = RelativisticLoss()
    d_expected = sum(softplus(f - r) for r, f in zip(real, fake, strict=True)) / 3
    g_expected = sum(softplus(r - f) for r, f in zip(real, fake, strict=True)) / 3
    assert loss.discriminator_loss(forward).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.generator_loss(forward).item() == pytest.approx(g_expected, rel=1e-12)
    assert loss.discriminator_loss(forward_of(torch.zeros(4), torch.zeros(4))).item() == \
        pytest.approx(math.log(2.0))  # D cannot tell the pairs apart: log 2 each
    assert loss.probability is None and loss.pairs_real_and_fake


def test_d_loss_falls_as_d_ranks_real_above_fake_and_g_loss_rises() -> None:
    loss, fake = RelativisticLoss(), torch.zeros(5)
    margins = [-2.0, 0.0, 1.0, 4.0]  # D(x) - D(G(z)) on every pair
    d_losses = [loss.discriminator_loss(forward_of(fake + m, fake)).item() for m in margins]
    g_losses = [loss.generator_loss(forward_of(fake + m, fake)).item() for m in margins]
    assert d_losses == sorted(d_losses, reverse=True) and len(set(d_losses)) == 4
    assert g_losses == sorted(g_losses) and len(set(g_losses)) == 4


def test_only_the_pairs_differences_count() -> None:
    real, fake = torch.randn(6), torch.randn(6)
    loss = RelativisticLoss()
    shifted = forward_of(real + 3.0, fake + 3.0)  # a constant added to D: nothing changes
    torch.testing.assert_close(loss.discriminator_loss(shifted),
                               loss.discriminator_loss(forward_of(real, fake)))


def captured_g_forwards(step: object) -> list[Forward]:
    """Every Forward the step's objective computes G's loss on, from now on."""
    seen: list[Forward] = []
    own = step.objective.generator_loss

    def record(forward: Forward) -> Loss:
        seen.append(forward)
        return own(forward)

    step.objective.generator_loss = record
    return seen


@pytest.mark.parametrize("kind", ["simultaneous", "alternating"])
def test_both_step_kinds_give_g_loss_d_on_the_real_batch(make_cfg: Callable[..., DictConfig],
                                                         kind: str) -> None:
    torch.manual_seed(0)
    step = build_step(make_cfg("loss=relativistic", f"step={kind}", "discriminator=cnn"), CPU)
    seen = captured_g_forwards(step)
    real, z = torch.rand(8, 1, 28, 28), torch.rand(8, 100) * 2 - 1
    before = step.discriminator(real).detach()
    step(real, z)
    (forward,) = seen
    # Simultaneous: D before its update (one forward serves both); alternating: D after it,
    # which the G update then holds fixed (R3GAN's G phase runs the updated D on x).
    expected = before if kind == "simultaneous" else step.discriminator(real).detach()
    torch.testing.assert_close(forward.real_logits.detach(), expected)
    if kind == "alternating":
        assert not torch.allclose(before, expected)  # D did move: the check has teeth


def test_bce_steps_do_not_recompute_d_on_the_real_batch(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg("step=alternating"), CPU)
    assert isinstance(step.objective.loss, BCELoss) and not step.pairs_real_and_fake


def test_a_batch_norm_d_sees_the_real_batch_once_per_g_update(
        make_cfg: Callable[..., DictConfig]) -> None:
    """Its running statistics count each forward: the G update's forward already runs D on the
    real batch beside the fake one, so it is not run again."""
    step = build_step(make_cfg("loss=relativistic", "step=alternating", "discriminator=dcgan"),
                      CPU)
    norms = [m for m in step.discriminator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    step(torch.rand(8, 1, 28, 28), torch.rand(8, 100) * 2 - 1)
    assert norms and all(int(norm.num_batches_tracked) == 2 for norm in norms)  # D's, then G's
