"""One adversarial step: each loss updates only its own network, in the configured order."""

import pytest
import torch

from gan.losses import BCELoss
from gan.models import FCDiscriminator, FCGenerator
from gan.step import AdversarialStep, AlternatingStep, SimultaneousStep, StepOutput

STEPS = [SimultaneousStep, AlternatingStep]


def make_step(kind: type[AdversarialStep], lr: float = 1e-3) -> AdversarialStep:
    """A step of this kind on small CPU networks with Adam."""
    torch.manual_seed(0)
    generator, discriminator = FCGenerator(noise_dim=8, hidden_dim=16), FCDiscriminator(16)
    return kind(generator, discriminator, torch.optim.Adam(generator.parameters(), lr=lr),
                torch.optim.Adam(discriminator.parameters(), lr=lr), BCELoss())


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """A real batch (4, 1, 28, 28) and noise (4, 8)."""
    return torch.rand(4, 1, 28, 28), torch.rand(4, 8) * 2 - 1


@pytest.mark.parametrize("kind", STEPS)
def test_step_updates_both_networks_once(kind: type[AdversarialStep]) -> None:
    step = make_step(kind)
    g_before = [p.clone() for p in step.generator.parameters()]
    d_before = [p.clone() for p in step.discriminator.parameters()]
    step(*batch())
    for before, network in ((g_before, step.generator), (d_before, step.discriminator)):
        for old, new in zip(before, network.parameters(), strict=True):
            assert not torch.equal(old, new)
    assert step.d_optimizer.state_dict()["state"][0]["step"] == 1
    assert step.g_optimizer.state_dict()["state"][0]["step"] == 1


@pytest.mark.parametrize("kind", STEPS)
def test_d_gradients_come_from_the_d_loss_alone(kind: type[AdversarialStep]) -> None:
    step = make_step(kind, lr=0.0)  # lr 0: parameters stay, gradients remain to be read
    real, z = batch()
    step(real, z)
    d_loss = step.loss.discriminator_loss(step.discriminator(real),
                                          step.discriminator(step.generator(z).detach()))
    expected = torch.autograd.grad(d_loss, list(step.discriminator.parameters()))
    for parameter, gradient in zip(step.discriminator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)
        assert parameter.requires_grad


def test_simultaneous_g_gradient_is_the_g_loss_at_the_old_d() -> None:
    step = make_step(SimultaneousStep)
    real, z = batch()
    g_loss = step.loss.generator_loss(step.discriminator(step.generator(z)))
    expected = torch.autograd.grad(g_loss, list(step.generator.parameters()))
    output = step(real, z)
    torch.testing.assert_close(output.g_loss, g_loss.detach())  # the pre-update value
    for parameter, gradient in zip(step.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_alternating_g_update_sees_the_updated_d() -> None:
    step = make_step(AlternatingStep)
    real, z = batch()
    before = step.loss.generator_loss(step.discriminator(step.generator(z))).item()
    output = step(real, z)
    assert output.g_loss.item() != before  # D moved between the two updates


def test_simultaneous_and_alternating_agree_on_the_d_update() -> None:
    real, z = batch()
    outputs = [make_step(kind)(real, z) for kind in STEPS]
    torch.testing.assert_close(outputs[0].d_loss, outputs[1].d_loss)


def test_g_update_leaves_no_gradient_on_g_from_the_d_loss() -> None:
    # The alternating step's D update must not touch G: G's gradients are the G loss's alone.
    step = make_step(AlternatingStep, lr=0.0)
    real, z = batch()
    step(real, z)
    g_loss = step.loss.generator_loss(step.discriminator(step.generator(z)))
    expected = torch.autograd.grad(g_loss, list(step.generator.parameters()))
    for parameter, gradient in zip(step.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_losses_measure_without_updating() -> None:
    step = make_step(SimultaneousStep)
    before = [p.clone() for p in step.generator.parameters()]
    g_loss, d_loss = step.losses(*batch())
    assert isinstance(g_loss, float) and isinstance(d_loss, float)
    for old, new in zip(before, step.generator.parameters(), strict=True):
        assert torch.equal(old, new)


def test_output_scalars_are_the_logged_tags() -> None:
    output = StepOutput(torch.tensor(1.0), torch.tensor(2.0), torch.zeros(4), torch.zeros(4))
    assert output.scalars() == {"loss/generator": 1.0, "loss/discriminator": 2.0,
                                "d/real": 0.5, "d/fake": 0.5}
