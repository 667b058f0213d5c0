"""One adversarial step: each loss updates only its own network, in the configured order."""

import pytest
import torch
from torch import nn

from gan.core.losses import BCELoss
from gan.core.networks import CNNDiscriminator, FCDiscriminator, FCGenerator
from gan.core.objective import Forward, Objective
from gan.core.step import AdversarialStep, AlternatingStep, SimultaneousStep, StepOutput
from tests.fakes import forward_of

STEPS = [SimultaneousStep, AlternatingStep]


def make_step(kind: type[AdversarialStep], lr: float = 1e-3) -> AdversarialStep:
    """A step of this kind on small CPU networks with Adam."""
    torch.manual_seed(0)
    generator, discriminator = FCGenerator(noise_dim=8, hidden_dim=16), FCDiscriminator(16)
    return kind(generator, discriminator, torch.optim.Adam(generator.parameters(), lr=lr),
                torch.optim.Adam(discriminator.parameters(), lr=lr), Objective(BCELoss()))


def g_loss_of(step: AdversarialStep, z: torch.Tensor) -> torch.Tensor:
    """G's BCE loss through the step's current networks."""
    return BCELoss().generator_loss(forward_of(fake_logits=step.discriminator(step.generator(z))))


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
    d_loss = BCELoss().discriminator_loss(
        forward_of(step.discriminator(real), step.discriminator(step.generator(z).detach())))
    expected = torch.autograd.grad(d_loss, list(step.discriminator.parameters()))
    for parameter, gradient in zip(step.discriminator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)
        assert parameter.requires_grad


def test_simultaneous_g_gradient_is_the_g_loss_at_the_old_d() -> None:
    step = make_step(SimultaneousStep)
    real, z = batch()
    g_loss = g_loss_of(step, z)
    expected = torch.autograd.grad(g_loss, list(step.generator.parameters()))
    output = step(real, z)
    torch.testing.assert_close(output.g_loss, g_loss.detach())  # the pre-update value
    for parameter, gradient in zip(step.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_alternating_g_update_sees_the_updated_d() -> None:
    step = make_step(AlternatingStep)
    real, z = batch()
    before = g_loss_of(step, z).item()
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
    g_loss = g_loss_of(step, z)
    expected = torch.autograd.grad(g_loss, list(step.generator.parameters()))
    for parameter, gradient in zip(step.generator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_losses_measure_without_updating() -> None:
    step = make_step(SimultaneousStep)
    before = [p.clone() for p in step.generator.parameters()]
    losses = step.losses(*batch())
    assert set(losses) == {"generator", "discriminator"}
    assert all(isinstance(value, float) for value in losses.values())
    for old, new in zip(before, step.generator.parameters(), strict=True):
        assert torch.equal(old, new)


def test_output_scalars_are_the_logged_tags() -> None:
    # The whole losses (1.5 and 2) hold the term; the adversarial ones (1 and 2) are logged.
    output = StepOutput(torch.tensor(1.5), torch.tensor(2.0), torch.tensor(1.0),
                        torch.tensor(2.0), torch.zeros(4), torch.zeros(4),
                        {"feature_matching": torch.tensor(0.5)})
    assert output.scalars(torch.sigmoid) == {"loss/generator": 1.0, "loss/discriminator": 2.0,
                                             "loss/feature_matching": 0.5,
                                             "d/real": 0.5, "d/fake": 0.5}
    # A loss whose D outputs a score, not a probability, logs no d/real or d/fake.
    assert set(output.scalars(None)) == {"loss/generator", "loss/discriminator",
                                         "loss/feature_matching"}


class Penalty:
    """A term of the objective that sees the discriminator: a stand-in for a gradient
    penalty, D's mean squared logit on images halfway between real and generated."""

    replaces_generator_loss = False

    def discriminator_terms(self, forward: Forward) -> dict[str, torch.Tensor]:
        middle = (forward.real + forward.fake.detach()) / 2
        return {"penalty": forward.discriminator(middle).square().mean()}

    def generator_terms(self, forward: Forward) -> dict[str, torch.Tensor]:
        return {}


@pytest.mark.parametrize("kind", STEPS)
def test_a_term_reaches_d_through_the_step_and_reports_its_value(
        kind: type[AdversarialStep]) -> None:
    step = make_step(kind, lr=0.0)
    step.objective = Objective(BCELoss(), [Penalty()])
    real, z = batch()
    output = step(real, z)
    fake = step.generator(z).detach()
    adversarial = BCELoss().discriminator_loss(
        forward_of(step.discriminator(real), step.discriminator(fake)))
    penalty = step.discriminator((real + fake) / 2).square().mean()
    torch.testing.assert_close(output.terms["penalty"], penalty.detach())
    torch.testing.assert_close(output.d_loss, (adversarial + penalty).detach())
    expected = torch.autograd.grad(adversarial + penalty, list(step.discriminator.parameters()))
    for parameter, gradient in zip(step.discriminator.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_two_terms_of_one_name_are_refused() -> None:
    step = make_step(SimultaneousStep)
    step.objective = Objective(BCELoss(), [Penalty(), Penalty()])
    with pytest.raises(ValueError, match="two terms of the objective are named penalty"):
        step(*batch())


class Named:
    """A term that takes a whole loss's name."""

    replaces_generator_loss = False

    def discriminator_terms(self, forward: Forward) -> dict[str, torch.Tensor]:
        return {"generator": forward.real_logits.mean()}

    def generator_terms(self, forward: Forward) -> dict[str, torch.Tensor]:
        return {}


def test_a_term_may_not_take_a_whole_losss_name() -> None:
    step = make_step(SimultaneousStep)
    step.objective = Objective(BCELoss(), [Named()])
    with pytest.raises(ValueError, match="generator and discriminator name the whole losses"):
        step(*batch())


@pytest.mark.parametrize("discriminator", [FCDiscriminator, CNNDiscriminator])
def test_a_batch_norm_d_sees_what_a_whole_generated_batch_shares(
        discriminator: type[nn.Module]) -> None:
    # Normalised apart from the real batch, a generated batch 0.3 brighter gave D logits that
    # differed by at most 1e-5: D was blind to it, and G never learned the background.
    torch.manual_seed(0)
    generator = FCGenerator(noise_dim=8, hidden_dim=16)
    network = discriminator(batch_norm=True)
    step = SimultaneousStep(generator, network, torch.optim.Adam(generator.parameters()),
                            torch.optim.Adam(network.parameters()), Objective(BCELoss()))
    real, fake = torch.rand(16, 1, 28, 28), 0.5 * torch.rand(16, 1, 28, 28)
    shifted = step.forward(real, fake + 0.3).fake_logits - step.forward(real, fake).fake_logits
    assert shifted.abs().max() > 0.05
