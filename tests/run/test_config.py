"""The typed loop settings: wrong types fail at compose time, impossible values before step 0."""

import re
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf, open_dict

from gan.errors import ConfigError
from gan.run.build import learning_rates
from gan.run.config import ClassifierConfig, EvalConfig, TrainConfig
from gan.run.directory import JOB_NAME_BYTES, job_dir_name, short_float
from gan.run.loop import eval_settings, train_settings
from gan.sweep.continuation import continued_argv
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


FIVE_REMEDIES = ("remedy=[feature_matching,minibatch_discrimination,label_smoothing,"
                 "historical_averaging,ema]", "remedy.feature_matching.weight=0.5",
                 "remedy.historical_averaging.weight=0.002",
                 "remedy.label_smoothing.real_target=0.85", "remedy.ema.decay=0.99",
                 "train.steps=20")  # the sweep, with train.seed=0,1


def job_dir(number: int, *overrides: str) -> str:
    """hydra.sweep.subdir of job `number` of a sweep with `overrides`, as Hydra resolves it."""
    cfg = compose_config(*overrides, hydra=True)
    with open_dict(cfg):
        cfg.hydra.job.num = number
    return cfg.hydra.sweep.subdir


def test_a_sweep_job_with_long_overrides_gets_a_short_stable_directory_name() -> None:
    names = [job_dir(seed, *FIVE_REMEDIES, f"train.seed={seed}") for seed in (0, 1)]
    for number, name in enumerate(names):  # was 259 characters and more: past the 255 allowed
        assert len(name.encode()) <= JOB_NAME_BYTES and "/" not in name
        assert name.startswith(f"{number}_dataset.download=false,eval.every=0,remedy.ema.decay"
                               "=0.99,")  # compose_config's two overrides, then the issue's
        assert f",train.seed={number},train.steps=20,..." in name  # what differs: whole, kept
        assert re.search(r",\.\.\.[0-9a-f]{8}$", name)  # some left out: a hash of all
    assert names[0][-8:] != names[1][-8:]  # the hash is of all the overrides
    assert job_dir(0, *FIVE_REMEDIES, "train.seed=0") == names[0]  # the same every time
    assert job_dir(0, "optimizer.lr=1e-4", "train.steps=3") == (
        "0_dataset.download=false,eval.every=0,optimizer.lr=1e-4,train.steps=3")  # short: whole


def test_an_optuna_trials_directory_shows_its_sampled_floats_in_four_digits() -> None:
    # As the search writes a trial's overrides: each sampled float in full (repr).
    trial = ("optimizer.lr=0.00012345678901234567", "lr.discriminator=0.0009876543210987654")
    name = job_dir(7, *trial)
    assert name == "7_dataset.download=false,eval.every=0,lr.discriminator=0.0009877,"\
                   "optimizer.lr=0.0001235"
    cfg = compose_config(*trial)
    assert cfg.optimizer.lr == 0.00012345678901234567  # the trial trains with its value
    # `-m hparams_search=optuna_lr train.steps=20 eval.every=0 eval.objective=final_loss_g`:
    # 157 characters; too long even shortened, it keeps the rates, what differs.
    assert job_dir_name(0, "eval.every=0,eval.objective=final_loss_g,hparams_search=optuna_lr,"
                           "lr.discriminator=0.0002693883019285409,lr.generator="
                           "0.00012520653814999459,train.steps=20") == (
        "0_eval.every=0,lr.discriminator=0.0002694,lr.generator=0.0001252,train.steps=20,"
        "...10a4af10")


def test_a_name_of_one_long_override_is_cut_between_characters() -> None:
    name = job_dir_name(3, "x=" + "é" * 200)  # two bytes each
    assert name.startswith("3_x=ééé")
    assert len(name.encode()) <= JOB_NAME_BYTES and re.search(r"é,\.\.\.[0-9a-f]{8}$", name)


@pytest.mark.parametrize(("text", "shown"), [
    ("0.00012345678901234567", "0.0001235"), ("-2.0000000000000001e-04", "-0.0002"),
    ("0.99995123456", "0.99995"),  # not 1: it keeps its power of ten
    ("1e-4", "1e-4"), ("0.85", "0.85"), ("0.123456", "0.123456"),  # as a person typed them
])
def test_only_a_programs_long_floats_are_shortened(text: str, shown: str) -> None:
    assert short_float(text) == shown
    assert job_dir_name(0, f"x=[{text},1]") == f"0_x=[{shown},1]"


def test_a_continued_sweep_finds_a_shortened_job_directory(tmp_path: Path) -> None:
    # `-m resume=SWEEP_DIR train.steps=30`: the job's overrides, and so its fresh name and
    # hash, are not those it was named by; its number finds it.
    first = job_dir(0, *FIVE_REMEDIES, "train.seed=0")
    (tmp_path / first).mkdir()
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {
        "overrides": {"hydra": [], "task": [*FIVE_REMEDIES, "train.seed=0,1"]},
        "sweep": {"subdir": "${job_dir:${hydra.job.num},${hydra.job.override_dirname}}"}}}))
    argv = continued_argv(["train.py", "-m", f"resume={tmp_path}", "train.steps=30"])
    hydra = [word for word in argv if word.startswith("hydra.sweep.")]
    assert job_dir(0, *hydra, *FIVE_REMEDIES, "train.seed=0", "train.steps=30") == first
    assert job_dir(0, *FIVE_REMEDIES, "train.seed=0", "train.steps=30") != first  # a new sweep's
