"""The regularisers: the gradient penalty, R1 and spectral normalisation against their closed
forms and through the CNN's fast convolution (second derivatives); packing and DiffAugment."""

import copy

import pytest
import torch
from torch import nn

from gan.core.dcgan import DCGANDiscriminator
from gan.core.layers import SameConv2d
from gan.core.networks import CNNDiscriminator, FCDiscriminator
from gan.core.objective import Forward
from gan.core.remedies import R1, DiffAugmentLayer, GradientPenalty, SpectralNorm, minibatch_layer


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)  # (1, 28, 28)
        self.b = nn.Parameter(torch.tensor(0.5))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images * self.w).flatten(1).sum(dim=1) + self.b  # (B,)


def images_forward(discriminator: nn.Module, batch: int = 6) -> Forward:
    """A Forward of random real and generated images for this D."""
    real, fake = torch.rand(batch, 1, 28, 28), torch.rand(batch, 1, 28, 28)
    empty = torch.empty(0)
    return Forward(real, fake, empty, empty, empty, empty, discriminator)


def test_the_gradient_penalty_is_zero_where_the_gradient_norm_is_one() -> None:
    w = torch.randn(1, 28, 28)
    unit = LinearCritic(w / w.norm())
    penalty = GradientPenalty(weight=10.0).discriminator_terms(images_forward(unit))
    assert penalty["gradient_penalty"].item() == pytest.approx(0.0, abs=1e-8)
    twice = LinearCritic(2 * w / w.norm())  # norm 2: (2 - 1)^2 at every interpolate
    penalty = GradientPenalty(weight=10.0).discriminator_terms(images_forward(twice))
    assert penalty["gradient_penalty"].item() == pytest.approx(10.0, rel=1e-5)


def test_r1_is_its_closed_form_on_a_linear_d() -> None:
    w = torch.randn(1, 28, 28)
    term = R1(gamma=4.0).discriminator_terms(images_forward(LinearCritic(w)))["r1"]
    assert term.item() == pytest.approx(4.0 / 2 * w.square().sum().item(), rel=1e-5)


def test_the_penalties_train_d_and_work_where_grad_mode_is_off() -> None:
    critic = LinearCritic(torch.randn(1, 28, 28))
    term = R1().discriminator_terms(images_forward(critic))["r1"]
    (gradient,) = torch.autograd.grad(term, [critic.w])
    torch.testing.assert_close(gradient, 10.0 * critic.w.detach())  # d/dw gamma/2 ||w||^2
    with torch.no_grad():  # the final losses are measured so
        assert GradientPenalty().discriminator_terms(images_forward(critic))["gradient_penalty"]


@pytest.mark.parametrize("with_minibatch", [False, True])
def test_spectral_norm_bounds_every_layer_by_one(with_minibatch: bool) -> None:
    torch.manual_seed(0)
    discriminator = CNNDiscriminator()
    if with_minibatch:  # a layer added by another remedy, before or after: still normalised
        discriminator = CNNDiscriminator(batch_layer=minibatch_layer)
    SpectralNorm(power_iterations=1).attach(nn.Identity(), discriminator)
    for _ in range(30):  # power iteration converges over training forwards
        discriminator(torch.rand(8, 1, 28, 28))
    matrices = [module.weight for module in discriminator.modules()
                if isinstance(module, nn.Linear | nn.Conv2d)]
    if with_minibatch:
        matrices.append(discriminator.batch_layer.tensor)
    assert len(matrices) == (4 if with_minibatch else 3)
    for matrix in matrices:
        largest = torch.linalg.matrix_norm(matrix.detach().flatten(1), ord=2).item()
        assert largest == pytest.approx(1.0, abs=0.05)


def test_penalties_differentiate_twice_through_the_fast_convolution() -> None:
    torch.manual_seed(0)
    fast = CNNDiscriminator()
    plain = copy.deepcopy(fast)
    for name, module in list(plain.body.named_children()):  # PyTorch's own convolution
        if isinstance(module, SameConv2d):
            conv = nn.Conv2d(1, 16, 5, padding="same")
            conv.load_state_dict(module.state_dict())
            plain.body[int(name)] = conv
    GradientPenalty().attach(nn.Identity(), fast)  # the remedy's hook: second derivatives
    forward = images_forward(fast)
    terms = [R1().discriminator_terms(forward._replace(discriminator=d))["r1"]
             for d in (fast, plain)]
    gradients = [torch.autograd.grad(term, list(d.parameters()), allow_unused=True)
                 for term, d in zip(terms, (fast, plain), strict=True)]
    for mine, reference in zip(*gradients, strict=True):  # None: the head's bias, unused
        assert (mine is None) == (reference is None)
        if mine is not None:
            torch.testing.assert_close(mine, reference, rtol=1e-4, atol=1e-5)
    assert gradients[0][0] is not None  # the first convolution's weight: second order
    layer = SameConv2d(1, 2, 3).double()
    layer.second_order = True
    assert torch.autograd.gradgradcheck(layer, (torch.rand(2, 1, 6, 6, dtype=torch.float64,
                                                           requires_grad=True),))


def test_fc_d_takes_the_penalties_too() -> None:
    forward = images_forward(FCDiscriminator())
    assert set(GradientPenalty().discriminator_terms(forward)) == {"gradient_penalty"}
    assert set(R1().discriminator_terms(forward)) == {"r1"}


@pytest.mark.parametrize(("network", "first"), [(FCDiscriminator, nn.Linear),
                                                (CNNDiscriminator, nn.Conv2d),
                                                (DCGANDiscriminator, nn.Conv2d)])
def test_packing_feeds_d_m_images_at_once(network: type, first: type) -> None:
    packed = network(packing=3)
    layer = next(m for m in packed.body.modules() if isinstance(m, first))
    single = next(m for m in network().body.modules() if isinstance(m, first))
    assert layer.weight.shape[1] == 3 * single.weight.shape[1]  # 3 images' worth of input
    assert packed(torch.rand(6, 1, 28, 28)).shape == (2,)
    with pytest.raises(ValueError, match="train.batch_size must be divisible by"):
        packed(torch.rand(4, 1, 28, 28))


def test_diff_augment_is_differentiable_and_changes_each_draw() -> None:
    layer = DiffAugmentLayer(translation=0.125, cutout=0.5)
    images = torch.rand(4, 1, 28, 28, requires_grad=True)
    augmented = layer(images)
    assert augmented.shape == images.shape and not torch.equal(augmented, images)
    (gradient,) = torch.autograd.grad(augmented.sum(), [images])
    assert gradient.abs().sum() > 0  # G's gradient flows through it
    assert not torch.equal(layer(images), layer(images))  # a fresh draw each call


def test_diff_augment_reaches_real_and_generated_images_alike() -> None:
    seen = []

    class Spy(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            seen.append(images.detach().clone())
            return images

    discriminator = FCDiscriminator(augment=nn.Sequential(Spy(), DiffAugmentLayer()))
    real, fake = torch.zeros(2, 1, 28, 28), torch.ones(2, 1, 28, 28)
    discriminator.features(real), discriminator.features(fake)
    assert torch.equal(seen[0], real) and torch.equal(seen[1], fake)
