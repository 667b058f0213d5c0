"""Resuming: a run killed or interrupted at any point continues to exactly the weights and
losses of the same run uninterrupted, and TensorBoard shows one curve per tag."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan.run.checkpoint import load_checkpoint
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("data_root")]
STEPS = 500
# Every remedy with state of its own (running means, a weight average) rides along. One thread:
# the same arithmetic in every process.
RUN = ("train.device=cpu", "train.threads=1", "train.checkpoint_every=25", "train.log_every=10",
       "train.print_every=100", "train.sample_every=500", "eval.every=0",
       "remedy=[historical_averaging,ema]")


def start(run_dir: Path, *args: str, data_root: Path) -> subprocess.Popen:
    """`python train.py ...` writing into run_dir, in the background."""
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0"}
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *args,
                             f"hydra.run.dir='{run_dir}'"], cwd=run_dir.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    """Wait for a process; its exit code and output (killed if it outlives the wait, so it does
    not train on beside the other tests)."""
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        process.kill()  # a no-op once it has exited
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def resume(run_dir: Path, *args: str, data_root: Path) -> subprocess.CompletedProcess:
    """`python train.py resume=run_dir ...`, to its end."""
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, str(REPO / "train.py"), f"resume={run_dir}", *args],
                          cwd=run_dir.parent, env=env, capture_output=True, text=True,
                          timeout=300)


def wait_for_checkpoint(run_dir: Path, process: subprocess.Popen, steps: int) -> None:
    """Until the run has checkpointed `steps` steps (it must still be running then)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, finish(process).stderr
        try:
            if load_checkpoint(run_dir / "checkpoint.pt")["step"] >= steps:
                return
        except (FileNotFoundError, RuntimeError):  # not written yet
            pass
        time.sleep(0.02)
    raise AssertionError("no checkpoint came")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """The run uninterrupted."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = finish(start(run_dir, f"train.steps={STEPS}", *RUN, data_root=data_root))
    assert result.returncode == 0, result.stderr
    return run_dir


def assert_same_run(run_dir: Path, reference: Path,
                    logged: list[int] | None = None) -> None:
    """Bit-identical final losses, weights, optimizer and remedy states; one curve per tag,
    logged at these steps (by default the reference's)."""
    ours, theirs = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, reference))
    assert ours["status"] == "completed"
    assert (ours["final_loss_g"], ours["final_loss_d"]) == (
        theirs["final_loss_g"], theirs["final_loss_d"])
    mine, expected = (load_checkpoint(d / "checkpoint.pt") for d in (run_dir, reference))
    for key in ("generator", "discriminator", "sampler", "g_optimizer", "d_optimizer",
                "remedies", "batcher", "fixed_z"):
        assert_equal(mine[key], expected[key], key)
    events = EventAccumulator(str(run_dir))
    events.Reload()  # what TensorBoard shows: the killed run's later steps are purged
    steps = [event.step for event in events.Scalars("loss/generator")]
    assert steps == (logged or [*range(0, STEPS, 10), STEPS - 1])


def assert_equal(mine: Any, expected: Any, where: str) -> None:
    """Nested dicts, lists and tensors exactly equal."""
    if isinstance(expected, dict):
        assert mine.keys() == expected.keys(), where
        for key in expected:
            assert_equal(mine[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(mine) == len(expected), where
        for index, (a, b) in enumerate(zip(mine, expected, strict=True)):
            assert_equal(a, b, f"{where}[{index}]")
    elif isinstance(expected, torch.Tensor):
        assert torch.equal(mine, expected), where
    else:
        assert mine == expected, where


def test_a_run_killed_at_any_point_resumes_to_the_same_run(reference: Path, data_root: Path,
                                                           tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    process = start(run_dir, f"train.steps={STEPS}", *RUN, data_root=data_root)
    wait_for_checkpoint(run_dir, process, 100)
    time.sleep(random.uniform(0, 0.2))  # anywhere between two checkpoints
    process.send_signal(signal.SIGKILL)
    assert finish(process).returncode == -signal.SIGKILL
    result = resume(run_dir, data_root=data_root)
    assert result.returncode == 0, result.stderr
    assert_same_run(run_dir, reference)
    assert (run_dir / ".hydra" / "overrides.yaml").read_text().count("remedy") == 1  # kept
    assert len(list((run_dir / ".hydra").glob("resumed-*/overrides.yaml"))) == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_checkpoints_says_how_to_resume_and_exits_non_zero(
        reference: Path, data_root: Path, tmp_path: Path, signum: int) -> None:
    run_dir = tmp_path / "3_optimizer.lr=0.0002,train.seed=0"  # named like a sweep's job
    process = start(run_dir, f"train.steps={STEPS}", *RUN, data_root=data_root)
    wait_for_checkpoint(run_dir, process, 100)
    process.send_signal(signum)
    result = finish(process)
    assert result.returncode == 128 + signum
    done = load_checkpoint(run_dir / "checkpoint.pt")["step"]
    assert 100 <= done < STEPS
    name = signal.Signals(signum).name
    assert f"interrupted by {name} after {done} steps" in result.stderr
    assert "Traceback" not in result.stderr
    status = json.loads((run_dir / "metrics.json").read_text())["status"]
    assert status == "interrupted"
    if signum == signal.SIGINT:  # one of the two is enough to show the resume
        command = result.stderr.split("Resume with:")[1].strip()  # as printed, shell-quoted
        assert command.startswith("python train.py ")
        command = command.replace("python train.py", f"{sys.executable} {REPO / 'train.py'}", 1)
        env = {**os.environ, "GAN_DATA_DIR": str(data_root)}
        resumed = subprocess.run(command, shell=True, cwd=tmp_path, env=env, timeout=300,
                                 capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        assert_same_run(run_dir, reference)


def test_a_finished_run_extends_to_the_longer_run(reference: Path, data_root: Path,
                                                  tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert finish(start(run_dir, "train.steps=300", *RUN, data_root=data_root)).returncode == 0
    refused = resume(run_dir, data_root=data_root)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("error: the run has done 300 steps and train.steps=300: "
                                      "nothing to resume (raise train.steps to extend it)")
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert not list((run_dir / ".hydra").glob("resumed-*"))  # a refused resume leaves no trace
    result = resume(run_dir, f"train.steps={STEPS}", data_root=data_root)
    assert result.returncode == 0, result.stderr
    assert len(list((run_dir / ".hydra").glob("resumed-*"))) == 1
    # The first part's last step was logged too, as every run's is.
    logged = [*range(0, 300, 10), 299, *range(300, STEPS, 10), STEPS - 1]
    assert_same_run(run_dir, reference, logged)
