"""Remedies ask the networks and the loss for options through the builder, and never write into
another group's config; a part that lacks an option refuses the remedy in one line."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from gan.core.losses import BCELoss
from gan.core.remedies import Remedy
from gan.errors import ConfigError
from gan.run.build import build_generator, build_step, remedy_options
from tests.conftest import CONF_DIR, REPO

CPU = torch.device("cpu")
REMEDIES = sorted(path.stem for path in (CONF_DIR / "remedy").glob("*.yaml"))
PARTS = ("generator", "discriminator", "loss", "optimizer", "step", "dataset", "train", "lr")


@pytest.mark.parametrize("remedy", REMEDIES)
def test_no_remedy_writes_into_another_group(make_cfg: Callable[..., DictConfig],
                                             remedy: str) -> None:
    plain, chosen = make_cfg(), make_cfg(f"remedy=[{remedy}]")
    assert {part: chosen[part] for part in PARTS} == {part: plain[part] for part in PARTS}
    assert "_target_" in chosen.remedy[remedy]  # every remedy is an object


def test_label_smoothing_and_batch_norm_reach_the_parts(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg("remedy=[label_smoothing,batch_norm]"), CPU)
    assert isinstance(step.objective.loss, BCELoss) and step.objective.loss.real_target == 0.9
    for network in (step.generator, step.discriminator):
        assert any(isinstance(m, torch.nn.BatchNorm1d) for m in network.modules())


def test_a_loss_without_the_option_refuses_label_smoothing(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("remedy=label_smoothing", "loss._target_=tests.fakes.ScoreLoss")
    with pytest.raises(ConfigError, match=r"^remedy=label_smoothing needs the loss's "
                                          r"real_target option, which loss "
                                          r"tests.fakes.ScoreLoss does not have$"):
        build_step(cfg, CPU)
    assert build_step(make_cfg("loss._target_=tests.fakes.ScoreLoss"), CPU)  # alone it builds


def test_a_network_without_the_option_refuses_batch_norm(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("remedy=batch_norm", "generator._target_=tests.fakes.PlainGenerator")
    with pytest.raises(ConfigError, match="remedy=batch_norm needs the generator's batch_norm "
                                          "option, which generator tests.fakes.PlainGenerator"):
        build_generator(cfg, CPU)
    only_d = make_cfg("remedy=batch_norm", "remedy.batch_norm.generator=false",
                      "generator._target_=tests.fakes.PlainGenerator")
    assert build_step(only_d, CPU)


def test_a_remedy_node_must_name_a_remedy_class(make_cfg: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match="remedy.smoothing is not a remedy: it has no "
                                          "_target_"):
        build_step(make_cfg("+remedy.smoothing.real_target=0.9"), CPU)
    with pytest.raises(ConfigError, match="remedy.other: torch.nn.Identity is not a "
                                          "gan.core.remedies.Remedy"):
        build_step(make_cfg("+remedy.other._target_=torch.nn.Identity"), CPU)


def test_two_remedies_setting_one_option_differently_are_refused(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("remedy=label_smoothing", "+remedy.more._target_=gan.core.remedies."
                   "LabelSmoothing", "+remedy.more.real_target=0.8")
    with pytest.raises(ConfigError, match="remedy=more and remedy=label_smoothing set loss's "
                                          "real_target differently"):
        build_step(cfg, CPU)


def test_a_score_loss_logs_no_probabilities(make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg("loss._target_=tests.fakes.ScoreLoss"), CPU)
    output = step(torch.rand(8, 1, 28, 28), torch.rand(8, 100) * 2 - 1)
    assert set(output.scalars(step.objective.loss.probability)) == {"loss/generator",
                                                                    "loss/discriminator"}


@pytest.mark.slow  # train.py in a subprocess
def test_the_refusal_is_one_line_from_the_command_line(data_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0"}
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "remedy=label_smoothing",
         "loss._target_=tests.fakes.ScoreLoss", "train.steps=2", "train.device=cpu",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: remedy=label_smoothing needs the loss's real_target option, which loss "
        "tests.fakes.ScoreLoss does not have")


def test_a_value_the_config_sets_otherwise_is_refused_not_overridden(
        make_cfg: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match=r"remedy=label_smoothing sets loss.real_target=0.9, "
                                          r"but the config sets loss.real_target=0.8"):
        build_step(make_cfg("remedy=label_smoothing", "+loss.real_target=0.8"), CPU)
    with pytest.raises(ConfigError, match="remedy=batch_norm sets generator.batch_norm=True"):
        build_generator(make_cfg("remedy=batch_norm", "+generator.batch_norm=false"), CPU)
    # The same value twice is no conflict (run directories written before this layout).
    assert build_step(make_cfg("remedy=label_smoothing", "+loss.real_target=0.9"), CPU)


def test_targets_are_looked_up_only_when_a_remedy_asks(
        make_cfg: Callable[..., DictConfig]) -> None:
    # A factory function is a valid _target_; with no option asked, nothing inspects it.
    assert build_step(make_cfg("loss._target_=tests.fakes.make_score_loss"), CPU)
    with pytest.raises(ConfigError, match="^cannot build tests.fakes.NoSuchLoss: "):
        build_step(make_cfg("remedy=label_smoothing", "loss._target_=tests.fakes.NoSuchLoss"),
                   CPU)


class AsksTheOptimizer(Remedy):
    """A remedy that asks an option of a part remedies may not ask."""

    def options(self) -> dict[str, dict[str, object]]:
        return {"optimizer": {"lr": 1.0}}


def test_a_remedy_may_ask_only_the_networks_and_the_loss() -> None:
    with pytest.raises(ConfigError, match="remedy=odd asks an option of 'optimizer'"):
        remedy_options({"odd": AsksTheOptimizer()})
