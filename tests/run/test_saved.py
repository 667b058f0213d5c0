"""Reading a run back to resume it: its own config, and every way a resume is refused."""

import re
from pathlib import Path

import pytest
import torch

from gan.errors import UserError
from gan.run.loop import run
from gan.run.saved import resumed_config
from tests.conftest import compose_config

pytestmark = pytest.mark.usefixtures("data_root")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 5-step run."""
    directory = tmp_path_factory.mktemp("run")
    run(compose_config("train.steps=5", "train.device=cpu", "discriminator=cnn"), directory)
    return directory


def test_a_run_resumes_with_its_own_config_and_new_stopping_point(run_dir: Path) -> None:
    cfg = resumed_config(run_dir, ["resume=x", "train.steps=8", "eval.every=4",
                                   "train.print_every=1"])
    assert cfg.discriminator._target_.endswith("CNNDiscriminator")  # saved, not the default fc
    assert (cfg.train.steps, cfg.eval.every, cfg.train.print_every) == (8, 4, 1)
    assert cfg.resume == str(run_dir)
    moved = resumed_config(run_dir, ["dataset.root=/data/elsewhere", "train.steps=8"])
    assert moved.dataset.root == "/data/elsewhere"  # where the data is may change


@pytest.mark.parametrize("override", ["discriminator=fc", "optimizer.lr=0.1", "train.seed=1",
                                      "train.batch_size=64", "remedy=[ema]"])
def test_what_would_make_another_run_is_refused(run_dir: Path, override: str) -> None:
    with pytest.raises(UserError, match=f"{re.escape(override)} would make it another run"):
        resumed_config(run_dir, [override, "train.steps=8"])


def test_nothing_left_to_do_is_refused(run_dir: Path) -> None:
    with pytest.raises(UserError, match="has done 5 steps and train.steps=5: nothing to resume"):
        resumed_config(run_dir, [])


@pytest.mark.parametrize(("damage", "message"), [
    ("missing", "has no checkpoint.pt yet"),
    ("truncated", "is not a readable checkpoint .corrupt or truncated"),
    ("foreign", "is not a gan-lab checkpoint .* it holds no step, generator"),
    ("older", "it holds no remedies")])
def test_a_checkpoint_that_cannot_be_continued_is_refused(run_dir: Path, tmp_path: Path,
                                                          damage: str, message: str) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "config.yaml").write_bytes((run_dir / "config.yaml").read_bytes())
    data = (run_dir / "checkpoint.pt").read_bytes()
    if damage == "truncated":
        (copy / "checkpoint.pt").write_bytes(data[:len(data) // 3])
    elif damage == "foreign":
        torch.save({"weights": torch.ones(3)}, copy / "checkpoint.pt")
    elif damage == "older":  # written before remedies kept state
        state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
        del state["remedies"]
        torch.save(state, copy / "checkpoint.pt")
    with pytest.raises(UserError, match=message):
        resumed_config(copy, ["train.steps=10"])


def test_a_missing_run_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        resumed_config(tmp_path / "nothing", [])


def test_a_resumed_run_reports_the_whole_runs_evaluation_time(tmp_path: Path) -> None:
    """Like wall and loop time, evaluation time counts every part of a resumed run: the
    checkpoint carries it (set here to 1000 s, far above this run's own), and the last part
    adds its own."""
    evaluated = ("train.device=cpu", "eval.every=3", "eval.n=200", "train.checkpoint_every=3")
    first = run(compose_config("train.steps=6", *evaluated), tmp_path)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert 0 < state["seconds"]["eval_seconds"] <= first["eval_seconds"]
    state["seconds"]["eval_seconds"] = 1000.0
    torch.save(state, tmp_path / "checkpoint.pt")
    whole = run(resumed_config(tmp_path, ["train.steps=9"]), tmp_path)
    assert whole["last_part"]["from_step"] == 6
    assert 1000.0 < whole["eval_seconds"] < 1000.0 + whole["last_part"]["wall_seconds"]


def test_a_resumed_run_records_each_parts_first_step_device_and_threads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """metrics.json's `parts` (each checkpoint carries them): the part that ran steps 0-3 on
    this process's threads, then the resume from step 4 on another count (7, patched in)."""
    first = run(compose_config("train.steps=4", "train.device=cpu"), tmp_path)
    assert [(part["from_step"], part["threads"]) for part in first["parts"]] == [
        (0, first["threads"])]
    monkeypatch.setattr(torch, "get_num_threads", lambda: 7)
    whole = run(resumed_config(tmp_path, ["train.steps=6"]), tmp_path)
    assert [(part["from_step"], part["device"], part["threads"]) for part in whole["parts"]] == [
        (0, "cpu", first["threads"]), (4, "cpu", 7)]
    assert sum(part["loop_seconds"] for part in whole["parts"]) == pytest.approx(
        whole["loop_seconds"])
    assert whole["parts"][-1]["wall_seconds"] == whole["last_part"]["wall_seconds"]
