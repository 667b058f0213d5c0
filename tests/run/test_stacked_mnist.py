"""Stacked MNIST as a dataset source: batches of three independent digits drawn on the fly,
seeded real samples, resumed draws, the picture, and the preset that sets the protocol."""

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from gan.core.unrolled_dcgan import UnrolledDCGANDiscriminator, UnrolledDCGANGenerator
from gan.metrics.stacked_mnist import StackedMNISTScorer
from gan.run.build import build_source
from gan.run.checkpoint import load_checkpoint, rng_states, set_rng_states
from gan.run.data import DeviceBatcher
from gan.run.loop import build_setup
from gan.run.stacked_mnist import StackedBatcher, StackedMNIST, stack
from tests.conftest import compose_config
from tests.fakes import use_fake_data
from tests.run.test_resume import assert_equal, finish, resume, start

CPU = torch.device("cpu")


def numbered(n: int) -> torch.Tensor:
    """n 'digits' (n, 1, 2, 2), digit i filled with the value i: a sample's channels say which
    digits they are."""
    return torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(-1, -1, 2, 2).clone()


def which(samples: torch.Tensor) -> torch.Tensor:
    """The digit behind each channel (n, 3) of samples stacked from `numbered`."""
    assert torch.all(samples == samples[..., :1, :1])  # each channel one whole digit
    return samples[:, :, 0, 0].long()


def test_stack_puts_the_indexed_digits_in_the_channels() -> None:
    index = torch.tensor([[0, 1, 2], [4, 4, 3]])
    assert which(stack(numbered(5), index)).tolist() == index.tolist()


def test_batches_are_three_independent_uniform_digits_in_one_buffer() -> None:
    torch.manual_seed(0)
    batcher = StackedBatcher(numbered(5), batch_size=400)
    batches = [batcher.next() for _ in range(5)]
    assert batches[0].shape == (400, 3, 2, 2)
    assert len({batch.data_ptr() for batch in batches}) == 1  # one reused buffer
    digits = torch.cat([which(batcher.next()) for _ in range(5)])  # (2000, 3)
    for channel in range(3):  # each channel uniform over the 5 digits: 400 each
        counts = torch.bincount(digits[:, channel], minlength=5)
        assert counts.min() > 300 and counts.max() < 500
    for a, b in [(0, 1), (0, 2), (1, 2)]:  # independent: equal 1 time in 5, with replacement
        same = (digits[:, a] == digits[:, b]).float().mean()
        assert 0.16 < same < 0.24


def test_a_resumed_run_draws_the_same_batches() -> None:
    # The batcher draws from the global stream, which a checkpoint keeps (gan.run.checkpoint).
    torch.manual_seed(1)
    first = StackedBatcher(numbered(50), batch_size=8)
    for _ in range(3):
        first.next()
    saved = {"batcher": first.state_dict(), "rng": rng_states()}
    expected = torch.stack([first.next().clone() for _ in range(4)])
    torch.manual_seed(2)  # a new process: another state
    second = StackedBatcher(numbered(50), batch_size=8)
    second.load_state_dict(saved["batcher"])
    set_rng_states(saved["rng"])
    torch.testing.assert_close(torch.stack([second.next().clone() for _ in range(4)]),
                               expected)


def test_another_batchers_state_is_refused() -> None:
    images = numbered(10)
    with pytest.raises(ValueError, match="order, position"):
        StackedBatcher(images, 4).load_state_dict(DeviceBatcher(images, 4).state_dict())


def source(root: Path | str = "unused") -> StackedMNIST:
    """Stacked MNIST read from root."""
    return StackedMNIST(partial(torchvision.datasets.MNIST), str(root), download=False)


def test_real_samples_are_seeded_and_leave_the_global_stream_alone() -> None:
    data = numbered(100)
    state = torch.get_rng_state()
    first = source().real(data, 50, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (50, 3, 2, 2)
    torch.testing.assert_close(source().real(data, 50, seed=3), first)
    assert not torch.equal(source().real(data, 50, seed=4), first)


def test_picture_is_an_rgb_grid_not_inverted() -> None:
    samples = torch.zeros(9, 3, 28, 28)
    samples[:, 0] = 1.0  # red everywhere
    picture = source().picture(samples)
    assert picture.shape == (3, 3 * 28 + 4 * 2, 3 * 28 + 4 * 2)  # three by three, padding 2
    assert picture.min() >= 0 and picture.max() <= 1
    assert picture[0, 2, 2] == 1 and picture[1, 2, 2] == 0  # red stays red: no ink on paper


def test_final_samples_are_saved_as_a_grid(tmp_path: Path) -> None:
    stacked = source()
    stacked.save_final(torch.rand(stacked.final_samples, 3, 28, 28), tmp_path / "final")
    assert (tmp_path / "final" / "grid.png").exists()


def test_reads_mnist_and_scores_with_the_shipped_classifier(data_root: Path) -> None:
    stacked = source(data_root)
    digits = stacked.images(CPU)
    assert stacked.shape == (3, 28, 28) and digits.shape == (60000, 1, 28, 28)
    assert stacked.batcher(digits[:300], 16).next().shape == (16, 3, 28, 28)
    scorer = stacked.scorer(CPU, batch_size=100, seed=0)
    assert isinstance(scorer, StackedMNISTScorer)
    scores = scorer.score(stacked.real(digits[:300], 500, seed=0))
    assert scores["n"] == 500 and scores["modes_covered"] > 350  # ~394 expected of 1,000


def test_the_preset_sets_the_protocol_and_builds() -> None:
    cfg = compose_config("experiment=stacked_mnist", "train.batch_size=16")
    assert cfg.dataset.name == "stacked_mnist" and cfg.loss._target_.endswith("BCELoss")
    assert list(cfg.optimizer.betas) == [0.5, 0.99]
    assert (cfg.lr.discriminator, cfg.lr.generator) == (2e-4, 1e-4)
    assert cfg.eval.n == 26000 and cfg.eval.objective == "class_kl"
    assert isinstance(build_source(cfg.dataset), StackedMNIST)
    use_fake_data(cfg)
    setup = build_setup(cfg, CPU)
    assert isinstance(setup.adversarial.generator, UnrolledDCGANGenerator)
    assert isinstance(setup.adversarial.discriminator, UnrolledDCGANDiscriminator)
    assert setup.adversarial.generator.prior == "normal"
    batch = setup.source.batcher(setup.images, 16).next()
    output = setup.adversarial(batch, torch.randn(16, 256))
    assert torch.isfinite(torch.stack([output.g_loss, output.d_loss])).all()


def test_packing_builds_pacdcgan() -> None:
    cfg = compose_config("experiment=stacked_mnist", "remedy=[packing]",
                         "remedy.packing.samples=2", "train.batch_size=16")
    use_fake_data(cfg)
    setup = build_setup(cfg, CPU)
    assert setup.adversarial.discriminator.packing == 2
    output = setup.adversarial(setup.source.batcher(setup.images, 32).next(),
                               torch.randn(32, 256))
    assert torch.isfinite(output.d_loss)


@pytest.mark.slow
@pytest.mark.parametrize("conditioning", ["none", "concat"])
def test_a_resumed_training_run_ends_where_the_straight_run_ends(
        data_root: Path, tmp_path: Path, conditioning: str) -> None:
    # train.py end to end: 20 steps then resumed to 40 gives the 40-step run's weights, so the
    # resumed run drew the same batches (and noise), and, asked for modes, the same modes.
    run = ("experiment=stacked_mnist", f"conditioning={conditioning}", "train.device=cpu",
           "train.threads=1", "train.batch_size=32", "train.checkpoint_every=10",
           "train.sample_every=100", "eval.every=0")
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert finish(start(straight, "train.steps=40", *run, data_root=data_root)).returncode == 0
    assert finish(start(resumed, "train.steps=20", *run, data_root=data_root)).returncode == 0
    result = resume(resumed, "train.steps=40", data_root=data_root)
    assert result.returncode == 0, result.stderr
    mine, expected = (load_checkpoint(d / "checkpoint.pt") for d in (resumed, straight))
    for key in ("generator", "discriminator", "d_optimizer", "g_optimizer", "rng"):
        assert_equal(mine[key], expected[key], key)


# Labels: a sample's mode, its three digits' labels read as one number (100 d0 + 10 d1 + d2).

def test_labelled_batches_carry_each_samples_mode() -> None:
    torch.manual_seed(2)
    digits, labels = numbered(30), torch.arange(30) % 10  # digit i is labelled i mod 10
    batcher = StackedBatcher(digits, batch_size=64, labels=labels)
    batch, modes = batcher.next_labelled()
    channel_labels = which(batch) % 10  # (64, 3): each channel's digit's label
    assert modes.tolist() == (channel_labels @ torch.tensor([100, 10, 1])).tolist()
    assert modes.dtype == torch.long and int(modes.min()) >= 0 and int(modes.max()) < 1000


def test_labelled_batches_reuse_their_buffers() -> None:
    # As DeviceBatcher's: no allocation per step for the images or the modes.
    digits, labels = numbered(30), torch.arange(30) % 10
    batcher = StackedBatcher(digits, batch_size=16, labels=labels)
    pairs = [batcher.next_labelled() for _ in range(5)]
    assert len({batch.data_ptr() for batch, _ in pairs}) == 1
    assert len({modes.data_ptr() for _, modes in pairs}) == 1


def test_labelled_or_not_a_batch_is_the_same_draw() -> None:
    # A resumed conditional run draws the batches the straight one drew: the labels cost no
    # random numbers of their own.
    digits, labels = numbered(30), torch.arange(30) % 10
    torch.manual_seed(4)
    plain = StackedBatcher(digits, batch_size=16).next().clone()
    after_plain = torch.get_rng_state()
    torch.manual_seed(4)
    labelled, _ = StackedBatcher(digits, batch_size=16, labels=labels).next_labelled()
    assert torch.equal(labelled, plain) and torch.equal(torch.get_rng_state(), after_plain)


def test_real_labelled_samples_are_reals_of_every_mode_equally_often() -> None:
    # A conditional run's reference is asked for its modes as the generator is: every mode
    # n / 1,000 times, not a uniform draw that leaves some modes with one or two samples.
    source, digits = StackedMNIST(torchvision.datasets.MNIST, "."), numbered(30)
    labels = (torch.arange(30) * 7) % 10
    images, modes = source.real_labelled(digits, labels, n=2000, seed=3)
    assert torch.bincount(modes, minlength=1000).tolist() == [2] * 1000
    channel_labels = labels[which(images)]  # (2000, 3): the real digits drawn
    assert modes.tolist() == (channel_labels @ torch.tensor([100, 10, 1])).tolist()
    assert len(which(images).unique()) == 30  # every image of a digit can be drawn
    again, _ = source.real_labelled(digits, labels, n=2000, seed=3)
    assert torch.equal(images, again)  # seeded: the same reference at every evaluation


def test_a_reference_without_images_of_a_digit_is_refused() -> None:
    source, digits = StackedMNIST(torchvision.datasets.MNIST, "."), numbered(30)
    with pytest.raises(ValueError, match=r"none is labelled \[9\]"):
        source.real_labelled(digits, torch.arange(30) % 9, n=10, seed=0)


def test_the_datas_mode_frequencies_are_the_product_of_its_digits() -> None:
    source = StackedMNIST(torchvision.datasets.MNIST, ".")
    labels = torch.tensor([4] * 5 + [2] * 3 + [7] * 2)  # shares 0.5, 0.3, 0.2
    frequencies = source.label_frequencies(labels)
    assert frequencies.shape == (1000,) and float(frequencies.sum()) == pytest.approx(1.0)
    assert float(frequencies[427]) == pytest.approx(0.5 * 0.3 * 0.2)
    assert float(frequencies[742]) == pytest.approx(0.2 * 0.5 * 0.3)
    assert float(frequencies[111]) == 0.0


@pytest.mark.parametrize("method", ["concat", "acgan", "projection",
                                    "concat conditioning.labels=data"])
def test_a_conditional_run_asks_for_modes_and_scores_them(method: str, tmp_path: Path) -> None:
    from gan.run.loop import run

    cfg = compose_config("experiment=stacked_mnist", *f"conditioning={method}".split(),
                         "train.steps=2", "train.batch_size=8", "train.sample_every=1",
                         "train.n_samples=20", "eval.every=2", "eval.n=60")
    use_fake_data(cfg)
    metrics = run(cfg, tmp_path)
    assert metrics["status"] == "completed"
    for name in ("conditional_accuracy", "min_class_accuracy"):
        assert 0 <= metrics[name] <= 1 and f"real_{name}" in metrics
    assert "intra_fid" not in metrics  # no features, so no per-class FID
    assert len(metrics["class_accuracy"]) == 1000
    assert metrics["best"]["objective"] == "class_kl"  # the dataset's own objective
    picture = Image.open(tmp_path / "samples" / "step_000001.png")  # 10 modes x 2 columns
    assert picture.size == (2 * 30 + 2, 10 * 30 + 2)


def test_a_thousand_modes_accuracies_stay_out_of_tensorboard_and_the_table(
        tmp_path: Path, capsys) -> None:
    from gan.evaluate import main as evaluate_main
    from gan.run.evaluation import per_class
    from gan.run.loop import run
    from gan.sample import main as sample_main

    cfg = compose_config("experiment=stacked_mnist", "conditioning=concat", "train.steps=1",
                         "train.batch_size=8", "eval.every=0")
    use_fake_data(cfg)
    run(cfg, tmp_path)
    evaluate_main([f"run_dir={tmp_path}", "n=40"])
    printed = capsys.readouterr().out
    sample_main([f"run_dir={tmp_path}", "n=30", f"out={tmp_path / 'drawn'}"])
    assert np.load(tmp_path / "drawn_labels.npy").tolist() == [k * 1000 // 30 for k in range(30)]
    columns = 100 // 10  # gan.sample's grid of 100: ten modes (000, ..., 999) x ten columns
    assert Image.open(tmp_path / "drawn.png").size == (columns * 30 + 2, 10 * 30 + 2)
    assert "conditional_accuracy" in printed and "class_accuracy: 1000 classes" in printed
    assert "class_accuracy 0 " not in printed
    assert per_class({"class_accuracy": [0.5] * 1000}) == {}  # 1,000 curves: none
    assert len(per_class({"class_accuracy": [0.5] * 10})) == 10


def test_an_objective_a_conditional_run_here_never_measures_is_named() -> None:
    from gan.run.build import unmeasured_objective

    cfg = compose_config("experiment=stacked_mnist", "conditioning=concat",
                         "eval.objective=intra_fid")
    assert unmeasured_objective(cfg) == (
        "eval.objective=intra_fid is never measured by a conditional run on dataset "
        "stacked_mnist, which scores modes_covered, class_kl, conditional_accuracy, "
        "min_class_accuracy; choose one of them (or a final loss)")
    cfg.eval.objective = "min_class_accuracy"
    assert unmeasured_objective(cfg) is None
