"""The modern baseline as options: experiment=r3gan and setup=r3gan compose on every network
here, R2's gamma follows R1's, they train on both step kinds, alone and stacked with packing, and
the remedies that make no sense with the relativistic loss are refused in one line."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from gan.core.losses import RelativisticLoss
from gan.core.remedies import R1, R2
from gan.core.stacking.step import RunRandom, stack
from gan.errors import ConfigError
from gan.run.build import build_step
from gan.run.config import check_config, setup_conflict
from tests.conftest import train_command

CPU = torch.device("cpu")
GAMMA = 0.05  # R3GAN's CIFAR-10 preset (conf/setup/r3gan.yaml)


def penalties(step: object) -> dict[str, float]:
    """R1's and R2's gamma in a built step, by term name."""
    return {type(term).__name__: term.gamma for term in step.objective.terms
            if isinstance(term, R1 | R2)}


@pytest.mark.parametrize("overrides", [
    ("experiment=r3gan",),
    ("experiment=seed_cnn", "setup=r3gan"),
    ("experiment=seed_cnn", "setup=r3gan", "discriminator=dcgan", "generator=dcgan"),
    ("experiment=ring8", "setup=r3gan"),
])
def test_the_preset_composes_and_builds_on_every_network(make_cfg: Callable[..., DictConfig],
                                                        overrides: tuple[str, ...]) -> None:
    cfg = make_cfg(*overrides)
    check_config(cfg)
    step = build_step(cfg, CPU)
    assert isinstance(step.objective.loss, RelativisticLoss)
    assert penalties(step) == {"R1": GAMMA, "R2": GAMMA}


def test_the_experiment_is_the_set_up(make_cfg: Callable[..., DictConfig]) -> None:
    assert make_cfg("experiment=r3gan") == make_cfg("setup=r3gan")
    assert make_cfg("setup=r3gan") == make_cfg(
        "loss=relativistic", "remedy=[r1,r2]", f"remedy.r1.gamma={GAMMA}",
        "remedy.r2.gamma=${remedy.r1.gamma}")


def test_one_gamma_sets_both_penalties(make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg("experiment=r3gan", "remedy.r1.gamma=0.4"), CPU)
    assert penalties(step) == {"R1": 0.4, "R2": 0.4}
    step = build_step(make_cfg("experiment=r3gan", "remedy.r2.gamma=2"), CPU)  # apart, if asked
    assert penalties(step) == {"R1": GAMMA, "R2": 2.0}


@pytest.mark.parametrize("kind", ["simultaneous", "alternating"])
@pytest.mark.parametrize("packing", [(), ("remedy=[r1,r2,packing]",)])
def test_it_trains_on_both_step_kinds(make_cfg: Callable[..., DictConfig], kind: str,
                                      packing: tuple[str, ...]) -> None:
    torch.manual_seed(0)
    step = build_step(make_cfg("experiment=r3gan", f"step={kind}", "discriminator=fc",
                               *packing), CPU)
    for _ in range(3):
        output = step(torch.rand(8, 1, 28, 28), torch.rand(8, 100) * 2 - 1)
    assert set(output.terms) == {"r1", "r2"}
    assert all(torch.isfinite(value) for value in (output.g_loss, output.d_loss,
                                                   *output.terms.values()))
    assert output.real_logits.shape == output.fake_logits.shape == (8 // (2 if packing else 1),)


@pytest.mark.parametrize("kind", ["simultaneous", "alternating"])
def test_it_stacks_with_packing_and_each_run_its_own_gamma(
        make_cfg: Callable[..., DictConfig], kind: str) -> None:
    runs = []
    for seed, gamma in ((0, 0.05), (1, 1.0)):
        torch.manual_seed(seed)
        runs.append(build_step(make_cfg("experiment=r3gan", "remedy=[r1,r2,packing]",
                                        f"remedy.r1.gamma={gamma}", f"step={kind}",
                                        "train.batch_size=8"), CPU))
    stacked = stack(runs, RunRandom(2, CPU))
    for _ in range(2):
        output = stacked(torch.rand(2, 8, 1, 28, 28), torch.rand(2, 8, 100))
    assert output.d_loss.shape == (2,) and torch.isfinite(output.d_loss).all()
    assert torch.isfinite(output.terms["r2"]).all()


def test_train_py_runs_it_for_three_steps(tmp_path: Path, data_root: Path) -> None:
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert train_command("experiment=r3gan", "step=alternating", "train.steps=3",
                             "eval.every=0", f"dataset.root={data_root}",
                             "dataset.download=false", "train.threads=1") is None
    finally:
        os.chdir(here)


@pytest.mark.parametrize(("overrides", "refused"), [
    (("remedy=[r1,r2,label_smoothing]",),
     "remedy=label_smoothing needs the loss's real_target option, which loss "
     "gan.core.losses.RelativisticLoss does not have"),
    (("remedy=[r1,r2,feature_matching]", "remedy.feature_matching.replace=true"),
     "remedy=feature_matching replaces G's adversarial loss, so the loss "
     "gan.core.losses.RelativisticLoss would never train G on its pairs of real and generated "
     "samples; drop one of them (or set remedy.feature_matching.replace=false)"),
])
def test_remedies_that_fight_the_pairing_are_refused_in_one_line(
        make_cfg: Callable[..., DictConfig], overrides: tuple[str, ...], refused: str) -> None:
    with pytest.raises(ConfigError) as error:
        check_config(make_cfg("experiment=r3gan", *overrides))
    assert str(error.value) == refused


def test_feature_matching_added_to_the_pairing_is_kept(
        make_cfg: Callable[..., DictConfig]) -> None:
    check_config(make_cfg("experiment=r3gan", "remedy=[r1,r2,feature_matching]"))
    check_config(make_cfg("remedy=[feature_matching]", "remedy.feature_matching.replace=true"))


def test_another_set_up_beside_the_experiment_is_refused_naming_both(tmp_path: Path) -> None:
    # experiment=r3gan is setup=r3gan's objective: setup=hinge beside it merged both, and was
    # refused as "remedy.r1.gamma: remedy r1 is not selected", which named neither.
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        refused = train_command("experiment=r3gan", "setup=hinge", "train.steps=1")
    finally:
        os.chdir(here)
    assert refused == ("error: experiment=r3gan sets the objective as setup=r3gan does, and "
                       "setup=hinge sets another; drop one of them (setup=hinge alone, or "
                       "experiment=r3gan alone)")
    assert not any(tmp_path.iterdir())  # refused before the run directory was made
    assert setup_conflict({"experiment": "r3gan", "setup": "r3gan"}) is None
    assert setup_conflict({"experiment": "ring8", "setup": "hinge"}) is None
    assert setup_conflict({"experiment": None, "setup": "hinge"}) is None


def test_a_set_up_that_builds_on_the_experiments_is_refused_as_including_it() -> None:
    # setup=r3gan_adam is setup=r3gan plus betas: it was refused as setting "another" objective.
    assert setup_conflict({"experiment": "r3gan", "setup": "r3gan_adam"}) == (
        "setup=r3gan_adam already includes setup=r3gan, the objective experiment=r3gan sets; "
        "drop experiment=r3gan (setup=r3gan_adam alone)")
