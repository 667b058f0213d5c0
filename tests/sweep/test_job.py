"""A sweep job's side: how a failure is classified and recorded, and its share of the cores."""

import json
import logging
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from gan.errors import ConfigError
from gan.run.directory import CHECKPOINT_NAME, job_plan, jobs_in_sweep
from gan.run.divergence import Diverged
from gan.run.job import Busy, classify, record_failure
from gan.sweep.job import label_console, threads_per_job


@pytest.mark.parametrize(("error", "status", "expected"), [
    (Diverged(12, "the generator loss is"), "diverged", True),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
     "out_of_memory", True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:119] DefaultCPUAllocator: can't allocate "
                  "memory: you tried to allocate 400000000000 bytes."), "out_of_memory", True),
    (MemoryError(), "out_of_memory", True),
    (ConfigError("train.steps must be positive, got 0"), "bad_input", True),
    (Busy("RUN is being trained by another process (pid 7)"), "busy", True),
    (ValueError("a bug"), "crashed", False)])
def test_each_failure_has_its_status(error: Exception, status: str, expected: bool) -> None:
    failure = classify(error)
    assert (failure.status, failure.expected) == (status, expected)
    assert "\n" not in failure.reason


def test_a_real_cpu_allocation_failure_is_out_of_memory() -> None:
    with pytest.raises(RuntimeError) as caught:
        torch.empty(10**15, dtype=torch.uint8)  # a petabyte: refused at once, nothing touched
    failure = classify(caught.value)
    assert failure.status == "out_of_memory" and "train.batch_size" in failure.reason


def test_a_failure_is_recorded_in_metrics_json(tmp_path: Path) -> None:
    failure = record_failure(Diverged(3, "the discriminator loss is"), tmp_path, 1.5,
                             in_sweep=True)
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record == {"status": "diverged", "reason": failure.reason, "wall_seconds": 1.5}
    assert failure.reason.startswith("training diverged at step 3")


def test_a_job_refused_for_another_writer_writes_nothing_into_its_directory(
        tmp_path: Path) -> None:
    # The other process's metrics.json (none yet, here) must not say "busy": a continued sweep
    # would then take the job as done.
    failure = record_failure(Busy("another process"), tmp_path, 120.0, in_sweep=True)
    assert failure.status == "busy" and list(tmp_path.iterdir()) == []


def test_a_busy_job_leaves_the_stopped_runs_record_and_checkpoint_to_resume(
        tmp_path: Path) -> None:
    interrupted = json.dumps({"status": "interrupted", "reason": "SIGTERM", "wall_seconds": 9})
    (tmp_path / "metrics.json").write_text(interrupted)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"the stopped run's")
    record_failure(Busy("another process"), tmp_path, 120.0, in_sweep=True)
    assert (tmp_path / "metrics.json").read_text() == interrupted
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == b"the stopped run's"
    assert job_plan(tmp_path, 100) == ("resume", None)  # the continued sweep goes on from it


def test_recording_into_an_unwritable_directory_does_not_raise(tmp_path: Path) -> None:
    failure = record_failure(ValueError("x"), tmp_path / "missing", 0.0, in_sweep=False)
    assert failure.status == "crashed"


@pytest.mark.parametrize(("launcher", "threads"), [
    ({"_target_": "BasicLauncher"}, 0),  # one job at a time: PyTorch's default
    ({"n_jobs": -1}, 1),  # joblib, a job per core
    ({"n_jobs": 2}, 4),
    ({"n_jobs": 3}, 2),
    ({"n_jobs": -2}, 1),  # all cores but one: 7 jobs
    ({"n_jobs": 16}, 1),  # more jobs than cores: still at least one thread
    ({"cpus_per_task": 4}, 4),  # submitit: what each task was given
    ({"cpus_per_task": None}, 0)])
def test_concurrent_jobs_never_oversubscribe_the_cores(launcher: dict, threads: int) -> None:
    assert threads_per_job(launcher, cores=8) == threads


def test_a_sweeper_launching_fewer_jobs_at_once_leaves_each_more_cores() -> None:
    assert threads_per_job({"n_jobs": -1}, {"n_jobs": 2}, cores=8) == 4  # Optuna, 2 trials
    assert threads_per_job({"n_jobs": 8}, {"max_batch_size": 4}, cores=8) == 2  # basic
    assert threads_per_job({"n_jobs": 2}, {"n_jobs": 4}, cores=8) == 4  # the launcher caps


def test_a_basic_sweeps_jobs_cap_the_threads_shared(tmp_path: Path) -> None:
    hydra = {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                         "params": {"train.seed": "0,1,2"}},
             "overrides": {"task": ["train.seed=0,1", "optimizer.lr=1e-4,2e-4"]}}
    OmegaConf.save({"hydra": hydra}, tmp_path / "multirun.yaml")
    assert jobs_in_sweep(tmp_path) == 4  # the command line's train.seed replaces params'
    assert threads_per_job({"n_jobs": -1}, {}, tmp_path, cores=16) == 4  # 16 cores, 4 jobs
    local = {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"}
    assert threads_per_job(local, {}, tmp_path, cores=16) == 4
    assert threads_per_job(local, {}, None, cores=16) == 1  # unknown sweep: all cores at once
    hydra["sweeper"]["_target_"] = "hydra_plugins.gan_lab.optuna_search.OptunaSearch"
    OmegaConf.save({"hydra": hydra}, tmp_path / "multirun.yaml")
    assert jobs_in_sweep(tmp_path) is None  # its n_jobs caps the jobs at once instead


def test_jobs_run_in_turn_by_one_process_get_one_label_each(
        capsys: pytest.CaptureFixture) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger()
    logger.addHandler(handler)
    try:
        for job in range(3):
            label_console(job)
        logging.getLogger("gan.test").warning("hello")
    finally:
        logger.removeHandler(handler)
    assert capsys.readouterr().out == "[job 2] hello\n"
