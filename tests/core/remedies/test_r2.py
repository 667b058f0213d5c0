"""R2, the zero-centred penalty on generated images (the twin of R1): its value against autograd
by hand on a tiny D, zero where D is constant in its input, and G held out of it."""

import pytest
import torch
from torch import nn

from gan.core.objective import Forward
from gan.core.remedies import R1, R2
from gan.errors import ConfigError


class TinyCritic(nn.Module):
    """D(x) = w2 . tanh(W1 x): nonlinear, so its input gradient differs from sample to sample."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(12, 5)
        self.out = nn.Linear(5, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(images.flatten(1)))).squeeze(1)  # (B,)


def forward_for(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> Forward:
    """A Forward of these images for this D (the penalties read no logits)."""
    empty = torch.empty(0)
    return Forward(real, fake, empty, empty, empty, empty, discriminator)


def test_r2_is_gamma_half_the_mean_squared_input_gradient_on_fakes() -> None:
    torch.manual_seed(0)
    critic = TinyCritic()
    real, fake = torch.rand(4, 3, 2, 2), torch.rand(4, 3, 2, 2)
    term = R2(gamma=3.0).discriminator_terms(forward_for(critic, real, fake))["r2"]
    by_hand = []
    for sample in fake:  # one sample at a time: d D(x) / dx, its squared norm
        x = sample.clone().unsqueeze(0).requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(x).sum(), x)
        by_hand.append(gradient.square().sum())
    torch.testing.assert_close(term, 3.0 / 2 * torch.stack(by_hand).mean())
    r1 = R1(gamma=3.0).discriminator_terms(forward_for(critic, fake, real))["r1"]
    torch.testing.assert_close(term, r1)  # the twin: R1 where the real batch were these fakes


def test_r2_is_zero_where_d_is_constant_in_its_input() -> None:
    class Constant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.tensor(0.7))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return 0.0 * images.flatten(1).sum(dim=1) + self.bias

    term = R2().discriminator_terms(forward_for(Constant(), torch.rand(3, 1, 4, 4),
                                                torch.rand(3, 1, 4, 4)))["r2"]
    assert term.item() == 0.0


def test_r2_trains_d_not_g() -> None:
    torch.manual_seed(1)
    critic, weight = TinyCritic(), nn.Parameter(torch.ones(1))
    fake = weight * torch.rand(4, 3, 2, 2)  # "G(z)", differentiable in G's weight
    term = R2().discriminator_terms(forward_for(critic, torch.rand(4, 3, 2, 2), fake))["r2"]
    term.backward()
    assert weight.grad is None and critic.hidden.weight.grad.abs().sum() > 0


def test_r2_refuses_a_gamma_that_is_not_positive() -> None:
    with pytest.raises(ConfigError, match=r"remedy.r2.gamma must be positive, got 0"):
        R2(gamma=0)
    assert R2.per_run == ("gamma",)  # stacked runs may each have their own
