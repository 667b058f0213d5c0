"""The ema remedy's average is sampled with batch-norm statistics of its own weights."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from torch import nn

from gan.core.dcgan import DCGANGenerator
from gan.core.networks import FCGenerator, Generator, seeded_uniform_noise
from gan.core.remedies import EMA
from gan.core.remedies.ema import STATISTICS_SEED, spread_labels, standing_statistics
from gan.run.checkpoint import load_checkpoint, save_checkpoint
from gan.run.loop import run
from gan.run.saved import load_run

CPU = torch.device("cpu")
TINY_DCGAN = ("generator=dcgan", "discriminator=dcgan", "generator.channels=4",
              "discriminator.channels=4", "train.batch_size=16", "eval.every=0",
              "train.device=cpu")


def first_norm_input(generator: DCGANGenerator, z: torch.Tensor) -> torch.Tensor:
    """What the projection's batch norm normalises for noise z: (B, 4c, 7, 7)."""
    return generator.project[1](generator.project[0](z))


def test_standing_statistics_are_the_weights_own_over_fixed_noise() -> None:
    torch.manual_seed(0)
    generator = DCGANGenerator(noise_dim=8, channels=4)
    norm = generator.project[2]
    random_state = torch.get_rng_state()
    standing_statistics(generator, batches=4, batch_size=32)
    assert torch.equal(torch.get_rng_state(), random_state)  # training's stream untouched
    z = seeded_uniform_noise(128, 8, STATISTICS_SEED, CPU).view(4, 32, 8)
    with torch.no_grad():
        inputs = [first_norm_input(generator, batch) for batch in z]  # 4 x (32, 16, 7, 7)
    means = torch.stack([x.mean(dim=(0, 2, 3)) for x in inputs]).mean(dim=0)  # (16,)
    variances = torch.stack([x.var(dim=(0, 2, 3)) for x in inputs]).mean(dim=0)  # unbiased
    torch.testing.assert_close(norm.running_mean, means)
    torch.testing.assert_close(norm.running_var, variances)
    assert generator.training  # left in the mode it was in


def test_standing_statistics_leave_a_generator_without_batch_norm_as_it_was() -> None:
    generator = FCGenerator(noise_dim=8)
    before = {name: value.clone() for name, value in generator.state_dict().items()}
    standing_statistics(generator)
    assert all(torch.equal(value, before[name]) for name, value in
               generator.state_dict().items())


def test_an_averaged_dcgan_generator_is_sampled_with_its_own_statistics() -> None:
    # The DCGAN study's ema: the average was sampled with the trained generator's batch-norm
    # statistics (copied every step), which describe other weights; seed 0 scored FID 127
    # where the average's own statistics give 102. They must be its weights' own.
    torch.manual_seed(0)
    generator = DCGANGenerator(noise_dim=8, channels=4)
    remedy = EMA(decay=0.5)
    remedy.attach(generator, nn.Identity())
    optimizer = torch.optim.SGD(generator.parameters(), lr=0.5)
    for _ in range(3):  # the trained generator moves, its running statistics with it
        optimizer.zero_grad()
        generator(torch.rand(16, 8) * 2 - 1).mean().backward()
        optimizer.step()
        remedy.after_update()
    remedy.before_sampling()
    average = remedy.sampler()
    expected = DCGANGenerator(noise_dim=8, channels=4)
    expected.load_state_dict(average.state_dict())
    standing_statistics(expected)
    for name, value in average.named_buffers():
        torch.testing.assert_close(value, dict(expected.named_buffers())[name])
    trained = generator.project[2].running_mean
    assert not torch.allclose(average.project[2].running_mean, trained)


@pytest.mark.usefixtures("data_root")
def test_an_ema_runs_checkpoint_holds_the_averages_own_statistics(
        make_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    run(make_cfg("remedy=ema", "remedy.ema.decay=0.5", "train.steps=3", *TINY_DCGAN), tmp_path)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    average = DCGANGenerator(channels=4)
    average.load_state_dict(state["sampler"])
    saved = {name: value.clone() for name, value in average.named_buffers()}
    standing_statistics(average)
    for name, value in average.named_buffers():
        torch.testing.assert_close(saved[name], value)
    # A checkpoint written before the fix held the trained generator's statistics in its
    # average: reading it back measures the average's own.
    stale = state | {"sampler": state["sampler"] | {
        name: value for name, value in state["generator"].items() if "running" in name}}
    save_checkpoint(stale, tmp_path / "checkpoint.pt")
    loaded = load_run(tmp_path, CPU).generator
    for name, value in loaded.named_buffers():
        torch.testing.assert_close(saved[name], value)


def test_a_conditional_generators_statistics_ask_for_every_class_of_more_than_a_batch() -> None:
    # Stacked MNIST's 1,000 modes against batches of 32: the 4 x 32 samples ask for 128
    # classes spread over all 1,000 (0, 7, 15, ..., 992), not 0 to 31 four times, nor only
    # 0 to 127.
    from gan.core.conditioning import Concat

    asked = []

    class Normed(Generator):  # the wrapped generator: one batch norm over z's first two
        def __init__(self) -> None:
            super().__init__(noise_dim=2, image_shape=(2,))
            self.norm = nn.BatchNorm1d(2)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.norm(z[:, :2])

    generator = Concat().wrap_generator(Normed(), noise_dim=2, classes=1000)
    generator.embedding.register_forward_hook(lambda _, inputs, __: asked.append(inputs[0]))
    standing_statistics(generator, batches=4, batch_size=32)
    assert sorted(torch.cat(asked).tolist()) == [k * 1000 // 128 for k in range(128)]
    assert all(int(batch.min()) < 32 and int(batch.max()) > 960 for batch in asked)


@pytest.mark.parametrize("classes", [10, 1000])
def test_every_batch_of_the_statistics_spans_the_classes(classes: int) -> None:
    # At the defaults (16 x 128 = 2,048 samples) every class is asked for 2,048 / K times
    # (to within one), and no batch is a run of neighbouring classes: batch norm averages
    # within-batch moments, so such runs would leave out the spread between them.
    labels = spread_labels(16, 128, classes, CPU)
    counts = torch.bincount(labels, minlength=classes)
    assert int(counts.min()) >= 2048 // classes and int(counts.max()) <= -(-2048 // classes)
    for batch in labels.view(16, 128):
        if classes == 10:
            assert batch.unique().tolist() == list(range(10))  # every digit in every batch
        else:
            assert int(batch.min()) < 16 and int(batch.max()) > 980
