"""The commands' edge: a command Hydra cannot compose is one line that says what is wrong, and
never advises a form (`+key=value`) that is then refused."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException

from gan.cli import compose_message, repeated
from gan.errors import ConfigError
from gan.run.config import check_config
from tests.conftest import CONF_DIR, compose_config, train_command


def refusal(*overrides: str) -> str:
    """compose_message of what Hydra raises composing `python train.py OVERRIDES`."""
    with (initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"),
          pytest.raises(HydraException) as raised):
        compose("config", overrides=list(overrides))
    return compose_message(raised.value)


@pytest.mark.parametrize(("overrides", "expected"), [
    (("discriminator.filters=32",),  # the issue's: filters is the CNN's, fc is the default
     "discriminator.filters is a setting of discriminator=cnn, not of discriminator=dcgan, fc "
     "(selected), maxout or unrolled_dcgan"),
    (("optimizer.momentum=0.9",),  # Adam has no momentum
     "optimizer.momentum is a setting of optimizer=sgd, not of optimizer=adam (selected)"),
    (("optimizer=sgd", "optimizer.betas=[0.5,0.9]"),
     "optimizer.betas is a setting of optimizer=adam, not of optimizer=sgd (selected)"),
    (("discriminator=dcgan", "discriminator.hidden_dim=64"),
     "discriminator.hidden_dim is a setting of discriminator=cnn, fc and maxout, not of "
     "discriminator=dcgan (selected) or unrolled_dcgan"),
    (("lr=1e-4",),
     "lr is a group of settings (lr.generator, lr.discriminator), not one value: set one of "
     "them, as lr.generator=1e-4, or optimizer.lr=1e-4, which they all follow unless set"),
    (("train=5",),
     "train is a group of settings (train.steps, train.batch_size, train.seed, ...), not one "
     "value: set one of them, as train.steps=5"),
    (("train.stepz=3",), "train.stepz is not a setting gan-lab reads (did you mean train.steps?)"),
    (("foo=1",), "foo is not a setting gan-lab reads"),
    (("remedy.balance.d_steps=2",),
     "remedy.balance.d_steps: remedy balance is not selected; add it with remedy=[...,balance] "
     "(its settings are then remedy.balance.*)"),
])
def test_a_key_hydra_cannot_set_is_explained_in_one_line(overrides: tuple[str, ...],
                                                         expected: str) -> None:
    assert refusal(*overrides) == expected


@pytest.mark.parametrize("override", ["optimizer.weight_decay=0.1", "generator.batch_norm=true",
                                      "discriminator.filters=32", "optimizer.momentum=0.9",
                                      "lr.gen=1e-4", "train.stepz=3"])
def test_advice_to_add_a_key_with_plus_is_given_only_where_it_is_accepted(
        override: str) -> None:
    message = refusal(override)
    if f"+{override}" in message:  # Hydra's advice stands: the class takes the key
        check_config(compose_config(f"+{override}"))
    else:  # the `+` form is refused with the same line
        with pytest.raises(ConfigError) as raised:
            check_config(compose_config(f"+{override}"))
        assert str(raised.value) == message



@pytest.mark.parametrize("argv", [("experiment=ring8", "experiment=r3gan"),
                                  ("train.steps=5", "+train.steps=6"),
                                  ("-m", "optimizer.lr=1e-4,2e-4", "optimizer.lr=5e-4")])
def test_a_key_given_twice_is_noted_hydra_keeps_the_last(argv: tuple[str, ...]) -> None:
    name = argv[-1].partition("=")[0].lstrip("+")
    (note,) = repeated(["train.py", *argv])
    assert note.startswith(f"note: {name} is given twice (") and f"{name}=[a,b]" in note
    assert repeated(["train.py", "experiment=[ring8,r3gan]", "train.steps=5"]) == []


def test_the_note_is_printed_and_the_last_value_trains(tmp_path, capsys) -> None:
    assert train_command("experiment=ring8", "experiment=grid25", "train.steps=1",
                         "eval.every=0", f"hydra.run.dir={tmp_path / 'r'}") is None
    assert "note: experiment is given twice" in capsys.readouterr().err
    assert "name: grid25" in (tmp_path / "r" / "config.yaml").read_text()


def test_presets_combine_as_a_list_of_the_group(tmp_path) -> None:
    assert train_command("experiment=[ring8,r3gan]", "train.steps=1", "eval.every=0",
                         f"hydra.run.dir={tmp_path / 'r'}") is None
    config = (tmp_path / "r" / "config.yaml").read_text()
    assert "name: ring8" in config and "RelativisticLoss" in config
