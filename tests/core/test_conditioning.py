"""Conditioning: G(z, y) and the three ways D reads y (concat, AC-GAN, projection), the labels
the generator is asked for, and a conditional step on both step kinds."""

import pytest
import torch
from torch import nn

from gan.core.conditioning import (
    ACGAN,
    Concat,
    Conditioning,
    LabelDraw,
    Projection,
    balanced_labels,
    class_grid,
    grid_classes,
    grid_labels,
    grid_rows,
    label_frequencies,
)
from gan.core.losses import BCELoss
from gan.core.networks import CNNDiscriminator, FCDiscriminator, FCGenerator
from gan.core.objective import Labels, Objective
from gan.core.remedies import R1, R2, GradientPenalty
from gan.core.stacking.step import RunRandom, stack
from gan.core.step import AdversarialStep, AlternatingStep, SimultaneousStep
from gan.errors import ConfigError

CLASSES, NOISE, SHAPE = 10, 8, (1, 28, 28)


def conditional_networks(conditioning: Conditioning, cnn: bool = False, packing: int = 1
                         ) -> tuple[nn.Module, nn.Module]:
    """G(z, y) and D(x, y) as the builder makes them, small."""
    torch.manual_seed(0)
    generator = conditioning.wrap_generator(
        FCGenerator(noise_dim=conditioning.generator_input(NOISE, CLASSES), hidden_dim=16),
        NOISE, CLASSES)
    channels = SHAPE[0] + conditioning.discriminator_channels(CLASSES)
    image_shape = (channels, *SHAPE[1:])
    discriminator = (CNNDiscriminator(filters=4, hidden_dim=16, image_shape=image_shape,
                                      packing=packing) if cnn
                     else FCDiscriminator(16, image_shape=image_shape, packing=packing))
    conditioning.attach(discriminator, CLASSES, SHAPE)
    return generator, discriminator


METHODS = [Concat, ACGAN, Projection]


def test_the_generator_takes_z_and_the_label() -> None:
    generator, _ = conditional_networks(Concat())
    z = torch.rand(4, NOISE).repeat(2, 1)
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    images = generator(z, labels)
    assert images.shape == (8, *SHAPE) and generator.noise_dim == NOISE
    assert not torch.allclose(images[:4], images[4:])  # same z, other classes: other images
    assert torch.equal(generator(z[:4], labels[:4]), images[:4])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cnn", [False, True])
def test_d_reads_the_label(method: type[Conditioning], cnn: bool) -> None:
    _, discriminator = conditional_networks(method(), cnn=cnn)
    images = torch.rand(4, *SHAPE)
    one, other = torch.zeros(4, dtype=torch.long), torch.full((4,), 3)
    if method is ACGAN:  # D's logit reads the image alone; its class head reads the label
        assert torch.equal(discriminator(images, one), discriminator(images, other))
        assert discriminator.class_head(discriminator.features(images)).shape == (4, CLASSES)
    else:
        assert not torch.allclose(discriminator(images, one), discriminator(images, other))


def test_the_projection_adds_the_inner_product_of_the_label_embedding_and_the_features() -> None:
    _, discriminator = conditional_networks(Projection())
    images, labels = torch.rand(4, *SHAPE), torch.tensor([1, 2, 3, 4])
    features = discriminator.features(images)
    plain = discriminator.head(features).squeeze(1)
    projected = (discriminator.projection(labels) * features).sum(dim=1)
    torch.testing.assert_close(discriminator(images, labels), plain + projected)


def test_concat_joins_one_learned_map_or_ten_one_hot_maps() -> None:
    _, learned = conditional_networks(Concat())
    joined = learned.label_input(torch.rand(2, *SHAPE), torch.tensor([1, 2]))
    assert joined.shape == (2, 2, 28, 28)
    _, onehot = conditional_networks(Concat(embedding="onehot"))
    joined = onehot.label_input(torch.rand(2, *SHAPE), torch.tensor([1, 2]))
    assert joined.shape == (2, 11, 28, 28)
    assert joined[0, 2].eq(1).all() and joined[0, 1].eq(0).all()  # channel 1 + label 1


def test_concat_packs_labels_with_their_samples_and_the_others_refuse_packing() -> None:
    _, discriminator = conditional_networks(Concat(), packing=2)
    assert discriminator(torch.rand(4, *SHAPE), torch.arange(4)).shape == (2,)
    for method in (ACGAN, Projection):
        with pytest.raises(ConfigError, match=f"conditioning={method.__name__.lower()} gives "
                                              "each sample one label.*packing"):
            conditional_networks(method(), packing=2)


def test_an_unconditional_d_has_no_label_modules_in_its_state() -> None:
    keys = set(FCDiscriminator(16).state_dict())
    assert keys == {"body.1.weight", "body.1.bias", "head.weight", "head.bias"}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"labels": "often"}, "conditioning.labels must be one of uniform, data"),
    ({"embedding": "sparse"}, "conditioning.embedding must be one of learned, onehot"),
    ({"embedding_dim": 0}, "conditioning.embedding_dim must be >= 1"),
])
def test_bad_settings_are_refused_in_one_line(arguments: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Concat(**arguments)


def test_acgan_refuses_a_weight_that_is_not_positive() -> None:
    with pytest.raises(ConfigError, match="conditioning.weight must be positive"):
        ACGAN(weight=0.0)


def make_step(method: type[Conditioning], kind: type, remedies: tuple = ()) -> object:
    """A conditional step of this kind on small CPU networks."""
    conditioning = method()
    generator, discriminator = conditional_networks(conditioning)
    for remedy in remedies:
        remedy.attach(generator, discriminator)
    return kind(generator, discriminator, torch.optim.Adam(generator.parameters(), lr=1e-3),
                torch.optim.Adam(discriminator.parameters(), lr=1e-3),
                Objective(BCELoss(), [conditioning, *remedies]), remedies)


def batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor, Labels]:
    """Real images, noise and both labels."""
    return (torch.rand(n, *SHAPE), torch.rand(n, NOISE) * 2 - 1,
            Labels(torch.arange(n) % CLASSES, (torch.arange(n) + 3) % CLASSES))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", [SimultaneousStep, AlternatingStep])
def test_a_conditional_step_updates_every_label_module(method: type[Conditioning],
                                                       kind: type) -> None:
    step = make_step(method, kind)
    before = {name: p.clone() for network in (step.generator, step.discriminator)
              for name, p in network.named_parameters(prefix=type(network).__name__)}
    output = step(*batch())
    after = {name: p for network in (step.generator, step.discriminator)
             for name, p in network.named_parameters(prefix=type(network).__name__)}
    assert torch.isfinite(output.g_loss) and torch.isfinite(output.d_loss)
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert moved == set(before)  # embeddings, projection and class head included
    if method is ACGAN:
        assert set(output.terms) == {"class_real", "class_fake", "class_generated"}


def test_acgan_adds_the_cross_entropy_of_the_true_and_the_requested_classes() -> None:
    step = make_step(ACGAN, SimultaneousStep)
    real, z, labels = batch()
    d_loss, g_loss, _, _ = step.both_losses(real, z, {}, labels)
    head, discriminator = step.discriminator.class_head, step.discriminator
    fake = step.generator(z, labels.fake)
    expected_real = nn.functional.cross_entropy(head(discriminator.features(real)), labels.real)
    expected_fake = nn.functional.cross_entropy(head(discriminator.features(fake)), labels.fake)
    torch.testing.assert_close(d_loss.terms["class_real"], expected_real)
    torch.testing.assert_close(d_loss.terms["class_fake"], expected_fake)
    torch.testing.assert_close(g_loss.terms["class_generated"], expected_fake)


def test_the_penalties_differentiate_d_at_the_labels_of_their_samples() -> None:
    step = make_step(Projection, SimultaneousStep,
                     (R1(gamma=1.0), R2(gamma=1.0), GradientPenalty(weight=1.0)))
    real, z, labels = batch()
    d_loss, _, _, _ = step.both_losses(real, z, step.draws(real), labels)
    assert {"r1", "r2", "gradient_penalty"} <= set(d_loss.terms)
    swapped = Labels(labels.fake, labels.real)
    d_swapped, _, _, _ = step.both_losses(real, z, step.draws(real), swapped)
    assert not torch.allclose(d_loss.terms["r1"], d_swapped.terms["r1"])


def test_several_d_updates_a_call_take_each_batch_with_its_labels() -> None:
    step = make_step(Concat, SimultaneousStep)
    step.d_steps, step.g_steps = 2, 2  # the balance remedy's settings
    real, z, labels = batch(12)  # as the loop draws them: 2 real and 3 noise batches of 4
    output = step(real[:8], z, Labels(labels.real[:8], labels.fake))
    assert output.real_logits.shape == (4,)


def test_the_generator_is_asked_for_classes_uniformly_or_as_often_as_the_data() -> None:
    torch.manual_seed(0)
    uniform = torch.cat([LabelDraw(1000, CLASSES, torch.device("cpu")).next().clone()
                         for _ in range(10)])
    assert torch.bincount(uniform, minlength=CLASSES).min() > 800
    data = torch.tensor([0] * 90 + [1] * 10)
    frequencies = label_frequencies(data, 2)
    assert frequencies.tolist() == [0.9, 0.1]
    drawn = LabelDraw(10000, 2, torch.device("cpu"), frequencies).next()
    assert 0.87 < drawn.eq(0).float().mean() < 0.93


def test_a_class_grid_has_one_row_per_class_and_one_noise_vector_per_column() -> None:
    z = torch.rand(3, NOISE)
    grid_z, labels = class_grid(z, 4)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert torch.equal(grid_z[3:6], z) and torch.equal(grid_z[9:], z)
    assert torch.equal(grid_labels(12, 4, torch.device("cpu")), labels)
    assert balanced_labels(5, 3, torch.device("cpu")).tolist() == [0, 1, 2, 0, 1]


def test_a_grid_of_many_classes_shows_ten_evenly_spaced() -> None:
    # Stacked MNIST's 1,000 modes: 000, 111, ..., 999 (each digit in all three channels).
    assert grid_classes(1000).tolist() == [111 * k for k in range(10)]
    assert grid_classes(10).tolist() == list(range(10)) and grid_rows(1000) == 10
    z = torch.rand(2, NOISE)
    grid_z, labels = class_grid(z, 1000)
    assert labels.tolist() == [111 * k for k in range(10) for _ in range(2)]
    assert torch.equal(grid_labels(20, 1000, torch.device("cpu")), labels)


def test_fewer_labels_than_classes_are_spread_over_them() -> None:
    # Stacked MNIST's 100 final samples: 000, 010, ..., 990, a red digit per row of ten.
    assert balanced_labels(100, 1000, torch.device("cpu")).tolist() == list(range(0, 1000, 10))
    assert balanced_labels(4, 10, torch.device("cpu")).tolist() == [0, 2, 5, 7]
    assert balanced_labels(12, 10, torch.device("cpu")).tolist() == [*range(10), 0, 1]


@pytest.mark.parametrize("method", METHODS)
def test_stacked_conditional_runs_reproduce_single_runs(method: type[Conditioning]) -> None:
    def build(seed: int) -> AdversarialStep:
        torch.manual_seed(seed)
        return make_step(method, AlternatingStep)

    def data(seed: int, steps: int = 4) -> list[tuple[torch.Tensor, torch.Tensor, Labels]]:
        torch.manual_seed(100 + seed)
        return [batch() for _ in range(steps)]

    singles = []
    for k in range(2):
        single = build(k)
        for real, z, labels in data(k):
            output = single(real, z, labels)
        singles.append((single, output))
    random = RunRandom(2, torch.device("cpu"))
    runs = []
    for k in range(2):
        runs.append(build(k))
        random.capture(k)
    stacked = stack(runs, random)
    batches = [data(k) for k in range(2)]
    for t in range(4):
        real, z, labels = zip(*(batches[k][t] for k in range(2)), strict=True)
        output = stacked(torch.stack(real), torch.stack(z),
                         Labels(torch.stack([y.real for y in labels]),
                                torch.stack([y.fake for y in labels])))  # (K, B, ...)
    for k, (single, single_output) in enumerate(singles):
        for mine, theirs in zip(runs[k].discriminator.parameters(),
                                single.discriminator.parameters(), strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(output.d_loss[k], single_output.d_loss, rtol=1e-4, atol=1e-4)


def test_spectral_norm_leaves_concats_label_maps_as_they_are() -> None:
    from torch.nn.utils import parametrize

    from gan.core.remedies import SpectralNorm

    generator, discriminator = conditional_networks(Concat())
    SpectralNorm().attach(generator, discriminator)
    assert not parametrize.is_parametrized(discriminator.label_input.embedding)
    assert parametrize.is_parametrized(discriminator.head)
    _, projected = conditional_networks(Projection())
    SpectralNorm().attach(generator, projected)
    assert parametrize.is_parametrized(projected.projection)  # as Miyato and Koyama's V
