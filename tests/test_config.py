"""The typed loop settings: wrong types fail at compose time, impossible values before step 0."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from gan.builder import train_settings
from gan.config import TrainConfig
from gan.errors import ConfigError
from tests.conftest import compose_config


def test_defaults_are_the_seeds_loop() -> None:
    settings = train_settings(compose_config())
    assert isinstance(settings, TrainConfig)
    assert (settings.steps, settings.batch_size, settings.print_every) == (40001, 128, 2000)
    assert settings.device == "auto"


def test_a_wrongly_typed_setting_fails_at_compose_time() -> None:
    with pytest.raises(ConfigCompositionException, match="train.steps"):
        compose_config("train.steps=abc")


def test_an_unknown_setting_fails_at_compose_time() -> None:
    with pytest.raises(ConfigCompositionException, match="stepz"):
        compose_config("train.stepz=3")


@pytest.mark.parametrize("override", ["train.steps=0", "train.batch_size=-1",
                                      "train.log_every=0", "train.checkpoint_every=-5",
                                      "train.device=tpu", "train.device=cuda:abc"])
def test_impossible_settings_are_refused_before_training(override: str) -> None:
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        train_settings(compose_config(override))


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_device_names_are_accepted(device: str) -> None:
    assert TrainConfig(device=device).device == device


def test_schema_and_yaml_agree() -> None:
    # The loop's defaults live only in the schema: config.yaml adds none of its own.
    composed = OmegaConf.to_container(compose_config().train)
    assert composed == OmegaConf.to_container(OmegaConf.structured(TrainConfig))
