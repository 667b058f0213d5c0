"""The study presets (experiment=study_fc, study_cnn, study_dcgan) and their named set-ups
(conf/setup/): every set-up in every study, three seeds each, and each one builds."""

import pytest
import torch
from omegaconf import OmegaConf

from gan.run.build import build_step
from tests.conftest import CONF_DIR, compose_config

# The set-ups of the literature's benchmarks (experiment=study_ring8, ...): PacGAN's packing at
# its batch, and the modern baseline, not in the MNIST studies.
BENCHMARK_SETUPS = {"pacgan2", "pacgan3", "pacgan4", "pacdcgan2", "pacdcgan3", "pacdcgan4", "r3gan",
                    "pacgan4_r3gan", "pacdcgan4_r3gan", "pacgan2_slot_norm", "joint_bn",
                    "pacdcgan4_joint_bn", "r3gan_adam"}
SETUPS = sorted(path.stem for path in (CONF_DIR / "setup").glob("*.yaml")
                if path.stem not in BENCHMARK_SETUPS)
STUDIES = {"fc": ("fc", 40001), "cnn": ("cnn", 10001), "dcgan": ("dcgan", 10001)}


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_sweeps_every_set_up_over_three_seeds(study: str) -> None:
    cfg = compose_config(f"experiment=study_{study}", hydra=True)
    params = cfg.hydra.sweeper.params
    assert sorted(params.setup.split(",")) == SETUPS and len(SETUPS) == 19
    assert params["train.seed"] == "0,1,2"
    assert cfg.hydra.sweep.dir == f"multirun/study/{study}"
    assert cfg.hydra.launcher._target_.endswith(".BasicLauncher")  # stacking measured no faster
    discriminator, steps = STUDIES[study]
    assert cfg.discriminator._target_.lower().endswith(f".{discriminator}discriminator")
    assert cfg.train.steps == steps
    preset = OmegaConf.load(CONF_DIR / "experiment" / f"study_{study}.yaml")
    assert preset.eval.every == 2000  # (compose_config turns evaluation off)


@pytest.mark.parametrize(("setup", "equivalent"), [
    ("none", ()),
    ("feature_matching", ("remedy=[feature_matching]",)),
    ("hinge", ("loss=hinge",)),
    ("wgan_gp", ("loss=wasserstein", "remedy=[gradient_penalty]")),
    ("r1_lr4", ("remedy=[r1]", "optimizer.lr=4e-4")),
    ("wgan_gp_ema", ("loss=wasserstein", "remedy=[gradient_penalty,ema]")),
])
def test_a_set_up_is_its_loss_remedies_and_settings(setup: str,
                                                    equivalent: tuple[str, ...]) -> None:
    assert compose_config(f"setup={setup}") == compose_config(*equivalent)


@pytest.mark.parametrize("study", STUDIES)
def test_every_set_up_of_every_study_builds(study: str) -> None:
    for setup in SETUPS:
        step = build_step(compose_config(f"experiment=study_{study}", f"setup={setup}"),
                          torch.device("cpu"), cuda_graph=False)
        assert step.generator is not None, setup


@pytest.mark.parametrize("mixture", ["ring8", "grid25"])
def test_the_benchmark_studies_run_the_papers_set_ups_and_gan_labs(mixture: str) -> None:
    published = compose_config(f"experiment=study_{mixture}", hydra=True)
    params = published.hydra.sweeper.params
    assert list(params) == ["train.seed", "setup"]  # seeds outermost: every set-up early
    assert params["train.seed"] == "0,1,2,3,4"  # the paper's set-ups: at least five seeds
    assert params.setup == "none,pacgan2,pacgan3,pacgan4"
    assert published.hydra.sweep.dir == f"multirun/study/{mixture}/published"
    assert published.train.steps == 400000 and published.eval.n == 2500  # the protocol's
    assert published.dataset.name == mixture
    cures = compose_config(f"experiment=study_{mixture}_cures", hydra=True)
    assert cures.hydra.sweeper.params["train.seed"] == "0,1,2"
    # r1 first: the ring's job 0 (r1, seed 0) is kept in docs/runs under that number.
    assert cures.hydra.sweeper.params.setup.split(",") == [
        "r1", "r1_ema", "spectral_norm", "r3gan", "pacgan4_r3gan", "minibatch_discrimination"]
    assert cures.hydra.sweep.dir == f"multirun/study/{mixture}/cures"


@pytest.mark.parametrize(("combination", "packed", "objective"), [
    ("pacgan4_r3gan", "pacgan4", "r3gan"), ("pacdcgan4_r3gan", "pacdcgan4", "r3gan")])
def test_a_combination_is_packing_under_the_modern_baselines_objective(
        combination: str, packed: str, objective: str) -> None:
    both = compose_config(f"setup={combination}")
    pac, modern = compose_config(f"setup={packed}"), compose_config(f"setup={objective}")
    assert both.loss == modern.loss and both.train.batch_size == pac.train.batch_size
    assert both.remedy == {**pac.remedy, **modern.remedy}


@pytest.mark.parametrize(("m", "base", "setup"), [(2, 100, "pacgan2"), (4, 100, "pacgan4"),
                                                   (3, 128, "pacdcgan3")])
def test_pacgan_packs_m_samples_into_the_papers_batch_of_packed_samples(
        m: int, base: int, setup: str) -> None:
    cfg = compose_config(f"setup={setup}")
    assert cfg.remedy.packing.samples == cfg.discriminator.packing == m
    assert cfg.train.batch_size == m * base  # D still judges `base` packed samples a step


def test_the_stacked_mnist_study_runs_the_issues_set_ups_at_the_cpus_budget() -> None:
    cfg = compose_config("experiment=study_stacked_mnist", hydra=True)
    params = cfg.hydra.sweeper.params
    assert list(params) == ["train.seed", "setup"] and params["train.seed"] == "0,1,2"
    assert {"none", "pacdcgan4", "r3gan", "pacdcgan4_r3gan"} <= set(params.setup.split(","))
    assert cfg.train.steps == 50000 and cfg.eval.n == 26000  # at least 50,000 on this CPU
    assert cfg.dataset.name == "stacked_mnist"
    assert cfg.hydra.sweep.dir == "multirun/study/stacked_mnist"


def test_the_slot_norm_study_is_pacgan2_with_its_slots_normalised_apart() -> None:
    study = compose_config("experiment=study_ring8_slot_norm", hydra=True)
    assert study.hydra.sweeper.params == {"train.seed": "0,1,2,3,4", "setup": "pacgan2_slot_norm"}
    assert study.hydra.sweep.dir == "multirun/study/ring8/slot_norm"
    assert study.train.steps == 400000 and study.dataset.name == "ring8"
    apart = compose_config("setup=pacgan2_slot_norm")
    assert apart == compose_config("setup=pacgan2", "remedy=[packing,slot_norm]")


def test_the_joint_batch_norm_study_is_the_protocols_networks_with_d_normalising_both_at_once(
        ) -> None:
    study = compose_config("experiment=study_stacked_mnist_joint_bn", hydra=True)
    assert study.hydra.sweeper.params == {"train.seed": "0,1,2",
                                          "setup": "pacdcgan4_joint_bn,joint_bn"}
    assert study.hydra.sweep.dir == "multirun/study/stacked_mnist/joint_bn"  # on its page
    assert study.train.steps == 50000 and study.dataset.name == "stacked_mnist"
    stacked = ("experiment=stacked_mnist",)
    for setup, protocol in (("pacdcgan4_joint_bn", "pacdcgan4"), ("joint_bn", "none")):
        joint = compose_config(*stacked, f"setup={setup}")
        assert joint == compose_config(*stacked, f"setup={protocol}",
                                       "discriminator.joint_batch_norm=true")
        assert build_step(joint, torch.device("cpu")).discriminator.batch_statistics


def test_the_r3gan_adam_study_is_the_modern_baseline_with_r3gans_betas() -> None:
    study = compose_config("experiment=study_stacked_mnist_r3gan_adam", hydra=True)
    assert study.hydra.sweeper.params == {"train.seed": "0,1,2", "setup": "r3gan_adam"}
    assert study.hydra.sweep.dir == "multirun/study/stacked_mnist/r3gan_adam"  # on its page
    assert study.train.steps == 50000 and study.dataset.name == "stacked_mnist"
    for benchmark in ("stacked_mnist", "ring8"):  # the setup's betas win over the protocol's
        adam = compose_config(f"experiment={benchmark}", "setup=r3gan_adam")
        assert list(adam.optimizer.betas) == [0.0, 0.99]
        assert adam == compose_config(f"experiment={benchmark}", "setup=r3gan",
                                      "optimizer.betas=[0.0,0.99]")
