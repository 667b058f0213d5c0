"""The losses equal the seed's formulas, and stay finite where the seed's would not."""

import torch

from gan.core.losses import BCELoss
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
