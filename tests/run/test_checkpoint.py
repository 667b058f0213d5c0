"""Checkpoints: atomic writes, safe loads, RNG states, and a run resumed from one."""

from pathlib import Path

import pytest
import torch

from gan.run.checkpoint import load_checkpoint, rng_states, save_checkpoint, set_rng_states
from gan.run.loop import run
from gan.run.saved import resumed_config
from tests.conftest import compose_config
from tests.fakes import use_fake_data


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    state = {"step": 3, "weights": torch.arange(4.0), "nested": {"a": torch.ones(2)}}
    save_checkpoint(state, tmp_path / "checkpoint.pt")
    loaded = load_checkpoint(tmp_path / "checkpoint.pt")
    assert loaded["step"] == 3 and torch.equal(loaded["weights"], torch.arange(4.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temporary left


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"step": 1}, path)
    with pytest.raises(Exception):  # noqa: B017 (whatever torch.save raises on a lambda)
        save_checkpoint({"step": 2, "bad": lambda: None}, path)
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no temporary left


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "obj": Path("x")}, path)  # an arbitrary class, not plain data
    with pytest.raises(Exception, match="weights_only"):
        load_checkpoint(path)


def test_rng_states_restore_the_same_draws() -> None:
    states = rng_states()
    first = torch.rand(5)
    set_rng_states(states)
    assert torch.equal(torch.rand(5), first)


@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                         reason="needs a CUDA GPU"))])
def test_a_run_resumes_in_process_on_its_device(tmp_path: Path, device: str) -> None:
    # Random images, so this runs where there is no dataset (the GPU machine).
    overrides = ("train.steps=30", "train.batch_size=16", "train.checkpoint_every=10",
                 f"train.device={device}",
                 "remedy=[ema,historical_averaging]")
    whole, first = compose_config(*overrides), compose_config(*overrides)
    for cfg in (whole, first):
        use_fake_data(cfg)
    expected = run(whole, tmp_path / "whole")
    first.train.steps = 21
    run(first, tmp_path / "part")  # its last checkpoint: after 21 steps
    resumed = resumed_config(tmp_path / "part", ["train.steps=30"])
    metrics = run(resumed, tmp_path / "part")
    assert metrics["status"] == "completed" and metrics["steps"] == 30
    if device == "cpu":  # CUDA's arithmetic is not promised bit-identical
        assert (metrics["final_loss_g"], metrics["final_loss_d"]) == (
            expected["final_loss_g"], expected["final_loss_d"])
