"""A joblib sweep stopped by a signal: its running jobs checkpoint, and no worker process goes on
to a queued job (found in the study: a SIGTERM to the sweep's process left its workers running
the old sweep's jobs for hours, beside the continued sweep's copies in the same directories)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gan.run.interrupts import InterruptWatch
from gan.sweep.workers import LeaveJobsToCheckpoint, end_process, in_worker, refuse_if_orphaned
from tests.conftest import REPO
from tests.sweep.test_sweeps import group_alive, summary

# Four jobs, two at a time; long enough that a worker left running would still be at it when
# the test looks (a few hundred steps a second on one thread).
JOBS = ("optimizer.lr=1e-4,2e-4,5e-4,1e-3", "train.steps=20000", "train.checkpoint_every=50",
        "eval.every=0", "train.threads=1", "train.device=cpu", "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2")


def test_the_sweeps_signal_handlers_are_given_back_when_it_ends(tmp_path: Path) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "launcher": {
        "_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}}})
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    callback = LeaveJobsToCheckpoint()
    try:
        callback.on_multirun_start(config)
        assert all(signal.getsignal(signum) is not handler for signum, handler in before.items())
    finally:
        callback.on_multirun_end(config)
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_a_worker_whose_parent_is_gone_hears_sigterm() -> None:
    watch = InterruptWatch()
    assert watch.parent_pid is None and watch.received is None  # not a worker: never orphaned
    watch.parent_pid = os.getppid()  # a worker whose parent lives
    assert watch.received is None
    watch.parent_pid = os.getppid() + 1  # the parent that started it is gone
    assert watch.received == signal.SIGTERM


def test_outside_a_worker_the_process_ends_as_usual() -> None:
    assert not in_worker()
    refuse_if_orphaned()  # no parent process to lose: nothing happens
    with pytest.raises(SystemExit) as stop:
        end_process(143)
    assert stop.value.code == 143


@pytest.mark.slow
@pytest.mark.parametrize("signum,whom", [(signal.SIGTERM, "parent"), (signal.SIGINT, "group")],
                         ids=["sigterm-to-the-sweep", "ctrl-c"])
def test_a_stopped_joblib_sweep_checkpoints_its_jobs_and_leaves_no_worker(
        signum: int, whom: str, data_root: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "GAN_DATA_DIR": str(data_root)}
    process = subprocess.Popen(  # a session of its own: its group is the sweep's processes
        [sys.executable, str(REPO / "train.py"), "-m", *JOBS, f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while len(list(sweep_dir.glob("*/checkpoint.pt"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        if whom == "parent":
            process.send_signal(signum)
        else:
            os.killpg(process.pid, signum)
        stderr = process.communicate(timeout=60)[1]
        deadline = time.monotonic() + 60
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_alive(process.pid), "a worker went on after the sweep stopped"
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 128 + signum
    assert f"python train.py -m resume={sweep_dir}" in stderr
    statuses = {path.parent.name[0]: json.loads(path.read_text())["status"]
                for path in sweep_dir.glob("*/metrics.json")}
    assert statuses == {"0": "interrupted", "1": "interrupted"}  # jobs 2 and 3 never trained
    # Each worker wrote the summary after its record (the sweep's process was gone at once).
    assert [(row["job"], row["status"]) for row in summary(sweep_dir)] == [
        ("0", "interrupted"), ("1", "interrupted")]
    assert sorted(path.parent.name[0] for path in sweep_dir.glob("*/checkpoint.pt")) == ["0", "1"]
