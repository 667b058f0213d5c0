"""Conditional runs from the config: every method on every image network, labels from the data,
the class grid, the conditional scores in metrics.json, a resume, `gan.sample label=K`, and the
combinations refused in one line."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig
from PIL import Image

from gan.core.conditioning import ConditionalGenerator
from gan.errors import ConfigError, UserError
from gan.run.build import build_step
from gan.run.config import check_config, options
from gan.run.loop import run
from gan.run.saved import resumed_config
from gan.sample import main as sample_main
from tests.conftest import compose_config
from tests.fakes import use_fake_data, with_needs

CPU = torch.device("cpu")
METHODS = ("concat", "acgan", "projection")
NETWORKS = {"fc": (), "cnn": ("discriminator=cnn",),
            "dcgan": ("generator=dcgan", "discriminator=dcgan", "generator.channels=8",
                      "discriminator.channels=8")}


def fake_cfg(*overrides: str) -> DictConfig:
    """A composed config on FakeMNIST (random pixels, labels 0-9 in turn), checked."""
    cfg = compose_config(*overrides)
    use_fake_data(cfg)
    check_config(cfg)
    return cfg


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("network", NETWORKS)
def test_every_method_trains_on_every_image_network(method: str, network: str,
                                                    tmp_path: Path) -> None:
    cfg = fake_cfg(f"conditioning={method}", *NETWORKS[network], "train.steps=3",
                   "train.batch_size=8", "train.sample_every=2", "train.n_samples=20")
    metrics = run(cfg, tmp_path)
    assert metrics["status"] == "completed"
    assert np.isfinite([metrics["final_loss_g"], metrics["final_loss_d"]]).all()
    grid = Image.open(tmp_path / "samples" / "step_000002.png")  # 10 rows (classes) x 2
    assert grid.size == (2 * 30 + 2, 10 * 30 + 2)
    assert len(list((tmp_path / "samples" / "final").glob("[0-9].png"))) == 10


def test_the_default_is_unconditional_and_builds_no_label_modules(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg(), CPU)
    assert not isinstance(step.generator, ConditionalGenerator)
    assert step.objective.terms == []
    assert all("label" not in name and "projection" not in name and "class_head" not in name
               for name in step.discriminator.state_dict())


def test_the_generator_is_asked_for_the_datas_label_frequencies_when_told(
        tmp_path: Path) -> None:
    from gan.run.loop import begin, build_setup, train_settings

    cfg = fake_cfg("conditioning=concat", "conditioning.labels=data", "train.batch_size=8")
    setup = build_setup(cfg, CPU)
    setup.labels = torch.tensor([3] * 60 + [4] * 4)  # FakeMNIST's 64 images, relabelled
    running = begin(setup, train_settings(cfg), tmp_path, 0.0, None, {}, None)  # type: ignore
    asked = torch.cat([running.draw()[2].fake.clone() for _ in range(50)])  # one buffer
    assert set(asked.tolist()) <= {3, 4} and asked.eq(3).float().mean() > 0.85


def test_a_conditional_run_resumes_to_the_uninterrupted_run(tmp_path: Path) -> None:
    overrides = ("conditioning=acgan", "train.steps=12", "train.batch_size=8",
                 "train.checkpoint_every=5", "remedy=[ema]")
    expected = run(fake_cfg(*overrides), tmp_path / "whole")
    first = fake_cfg(*overrides)
    first.train.steps = 7
    run(first, tmp_path / "part")
    metrics = run(resumed_config(tmp_path / "part", ["train.steps=12"]), tmp_path / "part")
    assert (metrics["final_loss_g"], metrics["final_loss_d"]) == (
        expected["final_loss_g"], expected["final_loss_d"])
    assert metrics["final_terms"] == expected["final_terms"]


@pytest.mark.usefixtures("data_root")
def test_a_conditional_evaluation_scores_each_class_beside_real_images(tmp_path: Path) -> None:
    cfg = compose_config("conditioning=projection", "train.steps=2", "eval.every=2",
                         "eval.n=200", "eval.objective=min_class_accuracy")
    metrics = run(cfg, tmp_path)
    for name in ("conditional_accuracy", "min_class_accuracy", "intra_fid", "min_class_recall"):
        assert name in metrics and f"real_{name}" in metrics
    assert len(metrics["class_accuracy"]) == len(metrics["class_recall"]) == 10
    assert metrics["real_conditional_accuracy"] > 0.95  # real digits as their own labels
    assert metrics["best"]["objective"] == "min_class_accuracy"


@pytest.mark.parametrize(("overrides", "message"), [
    (("experiment=ring8", "conditioning=concat"),
     "conditioning=concat needs labels from the dataset, and dataset ring8 serves none"),
    (("conditioning=projection", "remedy=[feature_matching]",
      "remedy.feature_matching.replace=true"),
     "FeatureMatching replaces G's adversarial loss, the only part of it that carries the "
     "label under conditioning=projection"),
    (("conditioning=concat", "conditioning.embedding=onehot", "conditioning.embedding_dim=4"),
     "conditioning.embedding_dim=4 sets a learned embedding's width"),
    (("conditioning=concat", "+dataset.classes=5"),
     "dataset mnist has labels 0 to 9, outside dataset.classes=5"),
    (("conditioning=acgan", "remedy=[packing]"),
     "conditioning=acgan gives each sample one label, but remedy=packing"),
    (("conditioning=projection", "remedy=[packing]"),
     "conditioning=projection gives each sample one label"),
    (("eval.objective=conditional_accuracy",),
     "eval.objective=conditional_accuracy scores a conditional run, and this one is "
     "unconditional"),
])
def test_what_cannot_be_conditioned_is_refused_in_one_line(overrides: tuple[str, ...],
                                                           message: str) -> None:
    from gan.run.loop import build_setup

    with pytest.raises(ConfigError, match=message):
        build_setup(fake_cfg(*overrides), CPU)  # the step, the data and its labels


def test_sample_draws_the_class_asked_for_and_a_class_grid_otherwise(tmp_path: Path,
                                                                    capsys) -> None:
    run(fake_cfg("conditioning=concat", "train.steps=2", "train.batch_size=8"), tmp_path)
    sample_main([f"run_dir={tmp_path}", "n=30", "label=7", f"out={tmp_path / 'sevens'}"])
    assert np.load(tmp_path / "sevens_labels.npy").tolist() == [7] * 30
    assert np.load(tmp_path / "sevens.npy").shape == (30, 28, 28)
    sample_main([f"run_dir={tmp_path}", "n=30", f"out={tmp_path / 'all'}"])
    assert np.load(tmp_path / "all_labels.npy").tolist() == [k % 10 for k in range(30)]
    assert Image.open(tmp_path / "all.png").size == (10 * 30 + 2, 10 * 30 + 2)  # 10 x 10
    assert "class grid of 10 x 10" in capsys.readouterr().out
    with pytest.raises(UserError, match="label must be between 0 and 9"):
        sample_main([f"run_dir={tmp_path}", "n=3", "label=10"])


def test_an_unconditional_run_takes_no_label(tmp_path: Path) -> None:
    run(fake_cfg("train.steps=2", "train.batch_size=8"), tmp_path)
    with pytest.raises(UserError, match="unconditional .* takes no label"):
        sample_main([f"run_dir={tmp_path}", "n=3", "label=1"])


@pytest.mark.usefixtures("data_root")
def test_evaluate_scores_a_conditional_run_class_by_class(tmp_path: Path, capsys) -> None:
    from gan.evaluate import main as evaluate_main

    run(compose_config("conditioning=acgan", "train.steps=2"), tmp_path)
    evaluate_main([f"run_dir={tmp_path}", "n=300"])
    printed = capsys.readouterr().out
    assert "conditional_accuracy" in printed and "class_recall 9" in printed
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert len(saved["class_accuracy"]) == 10 and saved["real_conditional_accuracy"] > 0.95


def one_step(cfg: DictConfig) -> dict[str, float]:
    """One conditional step of cfg's set-up on FakeMNIST-shaped data; its logged values."""
    from gan.core.objective import Labels
    from gan.run.loop import build_setup

    setup = build_setup(cfg, CPU)
    real = torch.rand(8 * setup.adversarial.real_batches, 1, 28, 28)
    z = torch.rand(8 * setup.adversarial.noise_batches, setup.generator.noise_dim)
    labels = Labels(torch.arange(len(real)) % 10, torch.arange(len(z)) % 10)
    return setup.adversarial(real, z, labels).scalars()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("loss", options("loss"))
def test_every_method_takes_every_loss(method: str, loss: str) -> None:
    values = one_step(fake_cfg(f"conditioning={method}", f"loss={loss}"))
    assert all(np.isfinite(value) for value in values.values())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("remedy", options("remedy"))
def test_every_method_takes_every_remedy_or_says_why_not(method: str, remedy: str) -> None:
    try:
        selection, needs = with_needs([remedy])  # slot_norm: with packing and batch_norm
        cfg = fake_cfg(f"conditioning={method}", selection, *needs, "train.batch_size=8")
        values = one_step(cfg)
    except ConfigError as refusal:
        assert (remedy, method) in {(packed, refused) for packed in ("packing", "slot_norm")
                                    for refused in ("acgan", "projection")}
        assert "\n" not in str(refusal)
        return
    assert all(np.isfinite(value) for value in values.values())


def test_conditional_runs_train_as_one_stack_as_they_train_alone(tmp_path: Path) -> None:
    from gan.run.stacked import StackedJob, train_stacked

    overrides = ("conditioning=projection", "train.steps=4", "train.batch_size=8")
    alone = [run(fake_cfg(*overrides, f"train.seed={seed}"), tmp_path / f"alone{seed}")
             for seed in (0, 1)]
    jobs = [StackedJob(fake_cfg(*overrides, f"train.seed={seed}"), tmp_path / f"stack{seed}")
            for seed in (0, 1)]
    stacked = train_stacked(jobs)
    for single, together in zip(alone, stacked, strict=True):
        assert together["stacked_runs"] == 2
        assert together["final_loss_d"] == pytest.approx(single["final_loss_d"], rel=1e-4)
        assert together["final_loss_g"] == pytest.approx(single["final_loss_g"], rel=1e-4)


def test_a_resumed_conditional_run_may_change_to_a_conditional_objective(tmp_path: Path) -> None:
    # The command composes the default (unconditional) config: the run's own decides.
    import os

    from tests.conftest import train_command

    run_dir = tmp_path / "part"
    first = fake_cfg("conditioning=concat", "train.steps=2", "train.batch_size=8",
                     "eval.every=0")
    run(first, run_dir)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert train_command(f"resume={run_dir}", "train.steps=3",
                             "eval.objective=min_class_accuracy") is None
        refused = train_command(f"resume={run_dir}", "train.steps=4",
                                "eval.objective=high_quality")
    finally:
        os.chdir(here)
    assert str(refused).startswith("error: eval.objective=high_quality is never measured by a "
                                   "conditional run on dataset mnist")
