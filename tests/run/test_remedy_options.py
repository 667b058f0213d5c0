"""A remedy that only sets an option of another part is a preset (conf/remedy/*.yaml, `# @package
_global_`): what it writes into the networks, the loss or the step follows its own settings
(`remedy.<name>.*`); a remedy class writes nothing into another group. A part that lacks an
option a preset sets refuses the remedy in one line, and so does a config that sets the option
otherwise."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from gan.core.losses import BCELoss
from gan.errors import ConfigError
from gan.run.build import build_generator, build_step
from gan.run.config import check_config, remedies_followed
from tests.conftest import CONF_DIR, REPO

CPU = torch.device("cpu")
REMEDIES = sorted(path.stem for path in (CONF_DIR / "remedy").glob("*.yaml"))
PARTS = ("generator", "discriminator", "loss", "optimizer", "step", "dataset", "train", "lr")


@pytest.mark.parametrize("remedy", REMEDIES)
def test_a_remedy_writes_into_another_group_only_what_follows_its_settings(
        make_cfg: Callable[..., DictConfig], remedy: str) -> None:
    plain, chosen = make_cfg(), make_cfg(f"remedy=[{remedy}]")
    before, after = (OmegaConf.to_container(cfg, resolve=False) for cfg in (plain, chosen))
    changed = {(part, key) for part in PARTS for key in after[part]
               if after[part][key] != before[part].get(key)}
    if "_target_" in chosen.remedy[remedy]:  # a class: behaviour, nothing written elsewhere
        assert not changed
    else:  # a preset: every value it sets follows one of its settings
        assert changed
        for part, key in changed:
            assert set(remedies_followed(chosen[part], key)) == {remedy}, (part, key)


def test_label_smoothing_and_batch_norm_reach_the_parts(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg("remedy=[label_smoothing,batch_norm]"), CPU)
    assert isinstance(step.objective.loss, BCELoss) and step.objective.loss.real_target == 0.9
    for network in (step.generator, step.discriminator):
        assert any(isinstance(m, torch.nn.BatchNorm1d) for m in network.modules())


def test_a_loss_without_the_option_refuses_label_smoothing(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("remedy=label_smoothing", "loss._target_=tests.fakes.ScoreLoss")
    for check in (check_config, lambda cfg: build_step(cfg, CPU)):  # before building, and in it
        with pytest.raises(ConfigError, match=r"^remedy=label_smoothing needs the loss's "
                                              r"real_target option, which loss "
                                              r"tests.fakes.ScoreLoss does not have$"):
            check(cfg)
    assert build_step(make_cfg("loss._target_=tests.fakes.ScoreLoss"), CPU)  # alone it builds


def test_a_network_without_the_option_refuses_batch_norm(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("remedy=batch_norm", "generator._target_=tests.fakes.PlainGenerator")
    with pytest.raises(ConfigError, match="remedy=batch_norm needs the generator's batch_norm "
                                          "option, which generator tests.fakes.PlainGenerator"):
        build_generator(cfg, CPU)
    with pytest.raises(ConfigError, match="remedy=batch_norm needs the generator's batch_norm "
                                          "option, which generator tests.fakes.PlainGenerator"):
        check_config(cfg)


def test_a_remedy_node_must_name_a_remedy_class_or_be_read(
        make_cfg: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match="remedy.smoothing.real_target is not a setting "
                                          "gan-lab reads"):
        check_config(make_cfg("+remedy.smoothing.real_target=0.9"))
    with pytest.raises(ConfigError, match="remedy.other: torch.nn.Identity is not a "
                                          "gan.core.remedies.Remedy"):
        build_step(make_cfg("+remedy.other._target_=torch.nn.Identity"), CPU)
    with pytest.raises(ConfigError, match=r"^remedy.smooth: gan.core.remedies.LabelSmoothing is "
                                          r"no class any more; select the preset "
                                          r"remedy=\[...,label_smoothing\]"):
        build_step(make_cfg("+remedy.smooth._target_=gan.core.remedies.LabelSmoothing"), CPU)


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
    with pytest.raises(ConfigError, match=r"^remedy=label_smoothing sets loss.real_target=0.9, "
                                          r"but the config sets loss.real_target=0.8; drop one "
                                          r"of them$"):
        check_config(make_cfg("remedy=label_smoothing", "loss.real_target=0.8"))
    with pytest.raises(ConfigError, match="remedy=batch_norm sets generator.batch_norm=True"):
        check_config(make_cfg("remedy=batch_norm", "generator.batch_norm=false"))
    with pytest.raises(ConfigError, match="remedy=balance sets step.d_steps=2, but the config "
                                          "sets step.d_steps=3"):
        check_config(make_cfg("remedy=balance", "step.d_steps=3"))
    # The same value twice is no conflict; the remedy's own setting is the way to change it.
    check_config(make_cfg("remedy=label_smoothing", "loss.real_target=0.9"))
    check_config(make_cfg("remedy=label_smoothing", "remedy.label_smoothing.real_target=0.8"))


def test_targets_are_looked_up_only_when_a_remedy_asks(
        make_cfg: Callable[..., DictConfig]) -> None:
    # A factory function is a valid _target_; with no option asked, nothing inspects it.
    assert build_step(make_cfg("loss._target_=tests.fakes.make_score_loss"), CPU)
    with pytest.raises(ConfigError, match="^cannot build tests.fakes.NoSuchLoss: "):
        build_step(make_cfg("remedy=label_smoothing", "loss._target_=tests.fakes.NoSuchLoss"),
                   CPU)


@pytest.mark.parametrize(("overrides", "refusal"), [
    (("remedy=label_smoothing", "remedy.label_smoothing.real_target=1.5"),
     "remedy.label_smoothing.real_target must be in (0, 1], got 1.5"),
    (("remedy=packing", "remedy.packing.samples=1"), "remedy.packing.samples must be >= 2, got 1"),
    (("remedy=packing", "remedy.packing.samples=two"),
     "remedy.packing.samples must be a number >= 2, got 'two'"),
    (("remedy=balance", "remedy.balance.g_steps=0"), "remedy.balance.g_steps must be >= 1, got 0"),
])
def test_a_preset_setting_out_of_its_range_is_refused_by_its_name(
        make_cfg: Callable[..., DictConfig], overrides: tuple[str, ...], refusal: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_config(make_cfg(*overrides))
    assert str(refused.value) == refusal
