"""Each adversarial loss equals its formula by hand; the seed's stays finite where the seed's
own would not."""

import pytest
import torch

from gan.core.losses import BCELoss, HingeLoss, LeastSquaresLoss, WassersteinLoss
from tests.fakes import forward_of


def seed_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The seed's -mean(log D(x) + log(1 - D(G(z)))) on probabilities."""
    return -torch.mean(torch.log(d_real) + torch.log(1 - d_fake))


def seed_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The seed's -mean(log D(G(z))) on probabilities."""
    return -torch.mean(torch.log(d_fake))


def test_losses_equal_the_seeds_formulas() -> None:
    d_real = torch.tensor([0.9, 0.6, 0.3, 0.99], dtype=torch.float64)
    d_fake = torch.tensor([0.1, 0.5, 0.7, 0.02], dtype=torch.float64)
    loss = BCELoss()
    forward = forward_of(torch.logit(d_real), torch.logit(d_fake))
    torch.testing.assert_close(loss.discriminator_loss(forward), seed_d_loss(d_real, d_fake))
    torch.testing.assert_close(loss.generator_loss(forward), seed_g_loss(d_fake))


def test_d_outputs_of_exactly_one_and_zero() -> None:
    # float32 sigmoid(+-120) is exactly 1.0 / 0.0: the seed's logs would give 0 or inf.
    logits = torch.tensor([120.0, -120.0])
    assert torch.sigmoid(logits).tolist() == [1.0, 0.0]
    loss = BCELoss()
    # The confident, correct side: D(x) = 1 and D(G(z)) = 0 cost exactly what the seed says, 0.
    good = loss.discriminator_loss(forward_of(logits[:1], logits[1:]))
    assert good.item() == seed_d_loss(torch.sigmoid(logits[:1]), torch.sigmoid(logits[1:])) == 0
    # The wrong side: the seed's formula is inf; ours is finite and the exact value, |logit|.
    bad = loss.discriminator_loss(forward_of(logits[1:], logits[:1]))
    assert torch.isinf(seed_d_loss(torch.sigmoid(logits[1:]), torch.sigmoid(logits[:1])))
    assert torch.isfinite(bad) and bad.item() == 240.0
    assert loss.generator_loss(forward_of(fake_logits=logits[1:])).item() == 120.0
    assert loss.generator_loss(forward_of(fake_logits=logits[:1])).item() == 0.0


def test_gradients_stay_finite_when_d_saturates() -> None:
    logits = torch.tensor([-200.0, 200.0], requires_grad=True)
    loss = BCELoss()
    forward = forward_of(logits, logits)
    (loss.discriminator_loss(forward) + loss.generator_loss(forward)).backward()
    assert torch.isfinite(logits.grad).all()


REAL = torch.tensor([2.0, -0.5, 1.0, 0.0])  # D's raw outputs on a real batch
FAKE = torch.tensor([-3.0, 0.5, -1.0, 1.0])  # and on a generated batch


def test_hinge_by_hand() -> None:
    forward = forward_of(REAL, FAKE)
    # D: relu(1 - real) = [0, 1.5, 0, 1] -> 0.625; relu(1 + fake) = [0, 1.5, 0, 2] -> 0.875
    assert HingeLoss().discriminator_loss(forward).item() == 0.625 + 0.875
    assert HingeLoss().generator_loss(forward).item() == -(-3.0 + 0.5 - 1.0 + 1.0) / 4
    assert HingeLoss.probability is None  # D outputs a score: no d/real, d/fake


def test_wasserstein_by_hand() -> None:
    forward = forward_of(REAL, FAKE)
    assert WassersteinLoss().discriminator_loss(forward).item() == -0.625 - 0.625
    assert WassersteinLoss().generator_loss(forward).item() == 0.625


def test_least_squares_by_hand_and_its_real_target() -> None:
    forward = forward_of(REAL, FAKE)
    # (real - 1)^2 = [1, 2.25, 0, 1] -> 1.0625; fake^2 = [9, 0.25, 1, 1] -> 2.8125
    assert LeastSquaresLoss().discriminator_loss(forward).item() == 0.5 * (1.0625 + 2.8125)
    # (fake - 1)^2 = [16, 0.25, 4, 0] -> 5.0625
    assert LeastSquaresLoss().generator_loss(forward).item() == 0.5 * 5.0625
    smoothed = LeastSquaresLoss(real_target=0.0).discriminator_loss(forward).item()
    assert smoothed == 0.5 * ((REAL**2).mean().item() + 2.8125)


@pytest.mark.parametrize("loss", [BCELoss(), HingeLoss(), WassersteinLoss()])
def test_d_and_g_pull_d_s_outputs_opposite_ways(loss: object) -> None:
    # (Least squares pulls each output towards its target instead: tested by hand above.)
    real, fake = REAL.clone().requires_grad_(), FAKE.clone().requires_grad_()
    forward = forward_of(real, fake)
    d_real, d_fake = torch.autograd.grad(loss.discriminator_loss(forward), [real, fake])
    (g_fake,) = torch.autograd.grad(loss.generator_loss(forward), [fake])
    # D's descent raises its outputs on real data and lowers them on generated data (where
    # not saturated); G's descent raises D's outputs on generated data.
    assert (d_real <= 0).all() and (d_fake >= 0).all() and (g_fake <= 0).all()
