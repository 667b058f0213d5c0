"""Every option of every config group composes and builds; bad settings fail early."""

from collections.abc import Callable

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

from gan.builder import build, resolve_device, train_settings
from gan.errors import ConfigError
from gan.losses import BCELoss
from gan.models import CNNDiscriminator, FCDiscriminator, FCGenerator
from tests.conftest import CONF_DIR

CPU = torch.device("cpu")


def options(group: str) -> list[str]:
    """The option names of a config group, from its folder."""
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))


def test_groups_hold_the_promised_options() -> None:
    assert options("generator") == ["fc"]
    assert options("discriminator") == ["cnn", "fc"]
    assert options("optimizer") == ["adam", "sgd"]
    assert options("dataset") == ["fashion_mnist", "mnist"]
    assert options("loss") == ["bce"]
    assert options("experiment") == ["seed_cnn", "seed_fc"]


@pytest.mark.parametrize("discriminator", options("discriminator"))
@pytest.mark.parametrize("optimizer", options("optimizer"))
@pytest.mark.parametrize("generator", options("generator"))
@pytest.mark.parametrize("loss", options("loss"))
def test_every_model_option_builds(make_cfg: Callable[..., DictConfig], generator: str,
                                   discriminator: str, optimizer: str, loss: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_cfg(f"generator={generator}", f"discriminator={discriminator}",
                   f"optimizer={optimizer}", f"loss={loss}")
    cfg.dataset = {"_target_": "torch.rand", "_args_": [16, 1, 28, 28]}  # no data needed here
    experiment = build(cfg, CPU)
    fake = experiment.generator(torch.rand(4, experiment.generator.noise_dim) * 2 - 1)
    assert experiment.discriminator(fake).shape == (4,)
    assert experiment.g_optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


@pytest.mark.parametrize("dataset", options("dataset"))
def test_every_dataset_builds_on_the_device(make_cfg: Callable[..., DictConfig],
                                            dataset: str) -> None:
    experiment = build(make_cfg(f"dataset={dataset}"), CPU)
    assert experiment.images.shape == (60_000, 1, 28, 28)
    assert experiment.device == CPU


def test_defaults_are_the_seeds_part_one(make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg()
    cfg.dataset = {"_target_": "torch.rand", "_args_": [16, 1, 28, 28]}
    experiment = build(cfg, CPU)
    assert isinstance(experiment.generator, FCGenerator)
    assert type(experiment.discriminator) is FCDiscriminator
    assert isinstance(experiment.loss, BCELoss)
    adam = experiment.d_optimizer
    assert isinstance(adam, torch.optim.Adam)
    assert adam.param_groups[0]["lr"] == 2e-4 and adam.param_groups[0]["betas"] == (0.9, 0.999)
    settings = train_settings(cfg)
    assert (settings.steps, settings.batch_size, settings.print_every) == (40001, 128, 2000)


@pytest.mark.parametrize(("preset", "discriminator"), [
    ("seed_fc", FCDiscriminator), ("seed_cnn", CNNDiscriminator)])
def test_presets_select_the_seed_setups(make_cfg: Callable[..., DictConfig], preset: str,
                                        discriminator: type) -> None:
    cfg = make_cfg(f"experiment={preset}")
    cfg.dataset = {"_target_": "torch.rand", "_args_": [16, 1, 28, 28]}
    assert type(build(cfg, CPU).discriminator) is discriminator
    assert train_settings(cfg).steps == 40001


def test_a_wrongly_typed_setting_fails_at_compose_time(
        make_cfg: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigCompositionException, match="train.steps"):
        make_cfg("train.steps=abc")


@pytest.mark.parametrize("override", ["train.steps=0", "train.batch_size=-1",
                                      "train.log_every=0", "train.device=tpu"])
def test_impossible_settings_are_refused_before_training(
        make_cfg: Callable[..., DictConfig], override: str) -> None:
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        train_settings(make_cfg(override))


def test_auto_device_is_cpu_without_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == CPU
