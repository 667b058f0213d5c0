"""Checkpoints: atomic writes, safe loads, RNG states."""

from pathlib import Path

import pytest
import torch

from gan.checkpoint import load_checkpoint, rng_states, save_checkpoint, set_rng_states


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
