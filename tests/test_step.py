"""One adversarial step: D then G, each updating only its own network."""

import torch

from gan.losses import BCELoss
from gan.models import FCDiscriminator, FCGenerator
from gan.step import AdversarialStep, StepOutput, frozen
from gan.training import Periodic


def make_step(lr: float = 1e-3) -> AdversarialStep:
    """A seed step on small CPU networks."""
    torch.manual_seed(0)
    generator, discriminator = FCGenerator(noise_dim=8, hidden_dim=16), FCDiscriminator(16)
    return AdversarialStep(generator, discriminator,
                           torch.optim.Adam(generator.parameters(), lr=lr),
                           torch.optim.Adam(discriminator.parameters(), lr=lr), BCELoss())


def test_step_updates_both_networks_once() -> None:
    step = make_step()
    g_before = [p.clone() for p in step.generator.parameters()]
    d_before = [p.clone() for p in step.discriminator.parameters()]
    step(torch.rand(4, 1, 28, 28), torch.rand(4, 8) * 2 - 1)
    for before, network in ((g_before, step.generator), (d_before, step.discriminator)):
        for old, new in zip(before, network.parameters(), strict=True):
            assert not torch.equal(old, new)
    assert step.d_optimizer.state_dict()["state"][0]["step"] == 1
    assert step.g_optimizer.state_dict()["state"][0]["step"] == 1


def test_d_gradients_come_from_the_d_loss_alone() -> None:
    step = make_step(lr=0.0)  # lr 0: parameters stay, gradients remain to be read
    real, z = torch.rand(4, 1, 28, 28), torch.rand(4, 8) * 2 - 1
    step(real, z)
    d_loss = step.loss.discriminator_loss(step.discriminator(real),
                                          step.discriminator(step.generator(z).detach()))
    expected = torch.autograd.grad(d_loss, list(step.discriminator.parameters()))
    for parameter, gradient in zip(step.discriminator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)
        assert parameter.requires_grad


def test_frozen_restores_requires_grad() -> None:
    network = FCDiscriminator(4)
    network.head.bias.requires_grad_(False)
    with frozen(network):
        assert not any(p.requires_grad for p in network.parameters())
    assert [p.requires_grad for p in network.parameters()] == [True, True, True, False]


def test_output_scalars_are_the_logged_tags() -> None:
    output = StepOutput(torch.tensor(1.0), torch.tensor(2.0), torch.zeros(4), torch.zeros(4))
    assert output.scalars() == {"loss/generator": 1.0, "loss/discriminator": 2.0,
                                "d/real": 0.5, "d/fake": 0.5}


def test_periodic_fires_from_step_zero_and_after_the_last() -> None:
    fired: list[int] = []
    event = Periodic(every=4, action=lambda step, output: fired.append(step))
    for step in range(10):
        event(step, None, last=step == 9)
    assert fired == [0, 4, 8, 9]
