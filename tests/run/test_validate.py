"""Every key is one that something reads, and every typed value has its type: checked before
anything runs, in one line that names the key the user wrote."""

import time
from collections.abc import Callable

import pytest
from omegaconf import DictConfig

from gan.errors import ConfigError
from gan.run.clock import Clock
from gan.run.config import check_config, options
from tests.conftest import compose_config

REFUSED = [  # the inputs and their kin -> the line that refuses them
    (("+train.stepz=3", "train.steps=11"),
     "train.stepz is not a setting gan-lab reads (did you mean train.steps?)"),
    (("+eval.n_samples=5",),
     "eval.n_samples is not a setting gan-lab reads (did you mean train.n_samples?)"),
    (("+checkpoint_every=1000",),
     "checkpoint_every is not a setting gan-lab reads (did you mean train.checkpoint_every?)"),
    (("+generator.hiden_dim=64",),
     "generator.hiden_dim is not a setting gan-lab reads (did you mean generator.hidden_dim?)"),
    (("remedy=feature_matching", "+remedy.feature_matching.wieght=2"),
     "remedy.feature_matching.wieght is not a setting gan-lab reads (did you mean "
     "remedy.feature_matching.weight?)"),
    (("+optimizer.momentum=0.9",),  # Adam has no momentum: SGD's
     "optimizer.momentum is a setting of optimizer=sgd, not of optimizer=adam (selected)"),
    (("+discriminator.filters=8",),  # the issue's: the CNN's, not the default FC's
     "discriminator.filters is a setting of discriminator=cnn, not of discriminator=dcgan, fc "
     "(selected), maxout or unrolled_dcgan"),
    (("optimizer.lr=fast",),
     "optimizer.lr must be a float, got 'fast' (lr.generator follows it unless set)"),
    (("optimizer.lr=-1e-4",),
     "optimizer.lr must be positive and finite, got -0.0001 (lr.generator follows it unless "
     "set)"),
    (("lr.discriminator=-1e-4",), "lr.discriminator must be positive and finite, got -0.0001"),
    (("eval.objective=loss",), "eval.objective must be one of"),
    (("+remedy.balance.d_steps=2",), "remedy.balance.d_steps: remedy balance is not selected; "
                                     "add it with remedy=[...,balance]"),
    # A class's argument of the wrong type, before the class is built (a review's inputs).
    (("conditioning=acgan", "conditioning.weight=abc"),
     "conditioning.weight must be a float, got 'abc'"),
    (("conditioning=concat", "conditioning.embedding_dim=2.5"),
     "conditioning.embedding_dim must be an int, got 2.5"),
    (("remedy=[r1]", "remedy.r1.gamma=abc"), "remedy.r1.gamma must be a float, got 'abc'"),
    (("generator.hidden_dim=abc",), "generator.hidden_dim must be an int, got 'abc'"),
]


@pytest.mark.parametrize(("overrides", "message"), REFUSED, ids=[" ".join(o) for o, _ in REFUSED])
def test_refused_in_one_line_naming_the_key(make_cfg: Callable[..., DictConfig],
                                            overrides: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError) as refusal:
        check_config(make_cfg(*overrides))
    assert str(refusal.value).startswith(message)
    assert "\n" not in str(refusal.value)


GROUPS = ["generator", "discriminator", "optimizer", "dataset", "loss", "step", "remedy",
          "conditioning", "experiment", "hparams_search"]


@pytest.mark.parametrize("override", [f"{group}={option}" for group in GROUPS
                                      for option in options(group)])
def test_every_option_and_preset_passes(make_cfg: Callable[..., DictConfig],
                                        override: str) -> None:
    check_config(make_cfg(override))


def test_every_remedy_together_and_their_settings_pass(
        make_cfg: Callable[..., DictConfig]) -> None:
    check_config(make_cfg(f"remedy=[{','.join(options('remedy'))}]",
                          "remedy.feature_matching.weight=2", "lr.generator=1e-4",
                          "optimizer=sgd", "optimizer.momentum=0.5", "train.threads=1"))


def test_a_key_the_selected_class_takes_may_be_added() -> None:
    check_config(compose_config("+optimizer.weight_decay=0.01", "+generator.batch_norm=true"))


def test_the_clock_counts_every_part_and_stops_the_loop_before_the_ending() -> None:
    clock = Clock(started=time.perf_counter() - 2.0)
    clock.resume({"wall_seconds": 10.0, "loop_seconds": 8.0})
    clock.start_loop()
    clock.stop_loop()
    frozen = clock.part()["loop_seconds"]
    time.sleep(0.05)  # the final losses and digits: not loop time
    assert clock.part()["loop_seconds"] == frozen
    whole = clock.whole()
    assert whole["wall_seconds"] >= 12.0 and whole["loop_seconds"] == 8.0 + frozen
