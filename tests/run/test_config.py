"""The typed loop settings: wrong types fail at compose time, impossible values before step 0."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from gan.errors import ConfigError
from gan.run.build import learning_rates
from gan.run.compose import eval_settings, train_settings
from gan.run.config import ClassifierConfig, EvalConfig, TrainConfig
from tests.conftest import CONF_DIR, compose_config


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
                                      "train.device=tpu", "train.device=cuda:abc",
                                      "train.threads=-1"])
def test_impossible_settings_are_refused_before_training(override: str) -> None:
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        train_settings(compose_config(override))


def test_each_network_follows_optimizer_lr_unless_set() -> None:
    rates = learning_rates(compose_config("optimizer.lr=0.001"))
    assert (rates.generator, rates.discriminator) == (0.001, 0.001)
    rates = learning_rates(compose_config("optimizer=sgd", "lr.discriminator=0.05"))
    assert (rates.generator, rates.discriminator) == (0.01, 0.05)


@pytest.mark.parametrize(("override", "refused"), [
    ("optimizer.lr=0", "lr.generator"), ("lr.discriminator=-1e-4", "lr.discriminator"),
    ("lr.generator=nan", "lr.generator")])
def test_a_learning_rate_that_cannot_train_is_refused(override: str, refused: str) -> None:
    with pytest.raises(ConfigError, match=refused):
        learning_rates(compose_config(override))


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_device_names_are_accepted(device: str) -> None:
    assert TrainConfig(device=device).device == device


def test_schema_and_yaml_agree() -> None:
    # The loop's defaults live only in the schema: config.yaml adds none of its own.
    composed = OmegaConf.to_container(compose_config().train)
    assert composed == OmegaConf.to_container(OmegaConf.structured(TrainConfig))


def test_evaluation_defaults() -> None:
    settings = eval_settings(compose_config("eval.every=5000"))
    assert isinstance(settings, EvalConfig)
    assert (settings.every, settings.n, settings.objective) == (5000, 10000, "fid")


@pytest.mark.parametrize("override", ["eval.every=-1", "eval.n=0", "eval.n=1", "eval.batch_size=0",
                                      "eval.objective=accuracy"])
def test_impossible_evaluation_settings_are_refused(override: str) -> None:
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        eval_settings(compose_config(override))


@pytest.mark.parametrize("objective", ["precision", "recall"])
def test_precision_or_recall_as_objective_needs_enough_samples(objective: str) -> None:
    """Below MIN_N they are not computed: a sweep on them would get None from every trial."""
    with pytest.raises(ConfigError, match=f"eval.objective={objective} needs eval.n >= 10000"):
        eval_settings(compose_config(f"eval.objective={objective}", "eval.n=200"))
    assert eval_settings(compose_config(f"eval.objective={objective}")).n == 10000


@pytest.mark.parametrize("override", ["classifier.epochs=0", "classifier.lr=0",
                                      "classifier.shift=-1"])
def test_impossible_classifier_settings_are_refused(override: str) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("classifier", overrides=[override])
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        OmegaConf.to_object(cfg.classifier)


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_each_dataset_picks_its_own_classifier_settings(dataset: str) -> None:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("classifier", overrides=[f"dataset={dataset}"])
    settings = OmegaConf.to_object(cfg.classifier)
    assert isinstance(settings, ClassifierConfig)
    assert cfg.dataset.name == dataset
    assert settings.shift == (2 if dataset == "mnist" else 0)
