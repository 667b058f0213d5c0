"""`hydra/launcher=slurm` on a real SLURM cluster: the single-node one `.ci/slurm.sh` brings up on
this machine (CI runs it before the tests). Skipped, with the reason, where no cluster answers.

The cluster keeps no accounting, as small clusters often do: sacct fails there, and the sweep
follows its jobs with squeue (`gan.sweep.slurm_states`)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO
from tests.sweep.test_continuation import finals, mtimes, steps_lasting
from tests.sweep.test_sweeps import summary
from tests.test_train import train

pytestmark = pytest.mark.slow
# A job of the CPU cluster: one core, no GPU (the preset asks for one), a little memory.
ON_CLUSTER = ("hydra/launcher=slurm", "hydra.launcher.gpus_per_node=0",
              "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1")


@pytest.fixture(scope="module")
def cluster() -> None:
    """A SLURM cluster whose node takes jobs, else the tests are skipped, saying why."""
    if shutil.which("sinfo") is None:
        pytest.skip("no SLURM here (no sinfo): `.ci/slurm.sh`, as root, brings up a cluster")
    try:
        answer = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True,
                                text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.skip("sinfo did not answer within 60 s: is slurmctld up? (.ci/slurm.sh)")
    if answer.returncode != 0 or not re.search(r"^(idle|mix|alloc)", answer.stdout, re.M):
        said = (answer.stderr or answer.stdout).strip().splitlines()
        pytest.skip(f"no SLURM node takes jobs ({said[-1] if said else 'sinfo lists none'}): "
                    "`.ci/slurm.sh`, as root, brings up a cluster")


def console_is_readable(output: str) -> None:
    """Without accounting, sacct's failure is said once, not three times at every poll."""
    assert "Bypassing sacct error" not in output
    assert output.count("accounting storage is disabled") <= 1, output
    assert "Traceback" not in output, output


@pytest.mark.usefixtures("cluster")
def test_a_sweep_of_two_jobs_runs_on_the_cluster(data_root: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = train("-m", *ON_CLUSTER, "train.seed=0,1", "train.steps=20", "eval.every=20",
                   "eval.n=200", "train.device=cpu", f"hydra.sweep.dir={sweep_dir}",
                   data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    console_is_readable(result.stdout + result.stderr)
    assert [row["status"] for row in summary(sweep_dir)] == ["completed", "completed"]
    assert "2 jobs: 2 completed." in (sweep_dir / "summary.md").read_text()
    # One SLURM job array, a task for each job: submitit's folders are named by their ids.
    names = " ".join(path.name for path in (sweep_dir / ".submitit").iterdir())
    tasks = sorted(re.findall(r"\b(\d+)_(\d+)\b", names))
    assert len(tasks) == 2 and tasks[0][0] == tasks[1][0], names  # tasks 0 and 1 of one array
    assert all(json.loads(path.read_text())["threads"] == 1  # cpus_per_task
               for path in sweep_dir.glob("*/metrics.json"))


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The generator's and discriminator's weights in a run's checkpoint."""
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    return {f"{net}.{name}": value for net in ("generator", "discriminator")
            for name, value in state[net].items()}


@pytest.mark.usefixtures("cluster")
def test_a_job_past_its_time_limit_is_requeued_and_ends_as_if_never_stopped(
        data_root: Path, tmp_path: Path) -> None:
    # SLURM looks at time limits every 30 s, and sends the warning (USR2) at the first look
    # less than signal_delay_s + 30 s before the limit: 10 to 40 s into a 1-minute job. The
    # job trains for about 45 s at the speed this machine shows now, so it is still training
    # when warned; it ends in as many parts as that takes.
    settings = ("train.checkpoint_every=1000000", "eval.every=0", "train.threads=1")
    run = (f"train.steps={steps_lasting(45, settings, data_root, tmp_path)}", *settings)
    sweep_dir = tmp_path / "sweep"
    with ThreadPoolExecutor(max_workers=2) as both:  # the uninterrupted run meanwhile
        sweep = both.submit(train, "-m", *ON_CLUSTER, "hydra.launcher.timeout_min=1",
                            "hydra.launcher.signal_delay_s=20",
                            "hydra.launcher.max_num_timeout=10", *run,
                            f"hydra.sweep.dir={sweep_dir}", data_root=data_root, cwd=tmp_path)
        single = both.submit(train, *run, f"hydra.run.dir={tmp_path / 'single'}",
                             data_root=data_root, cwd=tmp_path)
        result, alone = sweep.result(), single.result()
    assert result.returncode == 0, result.stderr
    assert alone.returncode == 0, alone.stderr
    console_is_readable(result.stdout + result.stderr)
    job = next(sweep_dir.glob("0_*"))
    log = (job / "train.log").read_text()
    assert "interrupted by SIGUSR2 after" in log and "resuming from step" in log
    assert "Requeued job" in log  # by SLURM (scontrol requeue), not started afresh
    assert finals(sweep_dir) == finals(tmp_path)  # the whole run's, bit for bit
    mine, theirs = weights(job), weights(tmp_path / "single")
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[name], theirs[name]) for name in mine)


STEPS = 1000  # some seconds: the second job is cancelled well before its end
SWEEP = ("train.seed=0,1", f"train.steps={STEPS}", "train.checkpoint_every=100", "eval.every=0",
         "train.threads=1")


def cancelled_during_second_job(sweep_dir: Path, data_root: Path) -> subprocess.CompletedProcess:
    """The two-job sweep, one job at a time, its SLURM jobs cancelled (`scancel`) once the
    second job trains; what the sweep printed."""
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, str(REPO / "train.py"), "-m", *ON_CLUSTER,
               "hydra.launcher.array_parallelism=1", *SWEEP, f"hydra.sweep.dir={sweep_dir}"]
    process = subprocess.Popen(command, cwd=sweep_dir.parent, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list(sweep_dir.glob("1_*/checkpoint.pt")) and time.monotonic() < deadline:
            time.sleep(0.02)  # its first checkpoint: it trains
        array = next((sweep_dir / ".submitit").glob("*_1")).name.split("_")[0]
        subprocess.run(["scancel", array], check=True, timeout=60)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.usefixtures("cluster")
def test_a_cancelled_sweep_goes_on_where_it_stopped(data_root: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "cancelled"
    sweep_dir.mkdir()
    with ThreadPoolExecutor(max_workers=2) as both:  # the second job alone, uninterrupted
        single = both.submit(train, *SWEEP[1:], "train.seed=1",
                             f"hydra.run.dir={tmp_path / 'single'}", data_root=data_root,
                             cwd=tmp_path)
        stopped = cancelled_during_second_job(sweep_dir, data_root)
        assert single.result().returncode == 0, single.result().stderr
    said = stopped.stdout + stopped.stderr
    assert stopped.returncode == 1, said
    assert re.search(r"SLURM job \d+_1 ended without a result \(CANCELLED", said), said
    assert f"Continue the sweep with:\n  python train.py -m resume={sweep_dir}" in said
    console_is_readable(said)
    assert [row["status"] for row in summary(sweep_dir)] == ["completed", "interrupted"]
    first, second = next(sweep_dir.glob("0_*")), next(sweep_dir.glob("1_*"))
    before = mtimes(first)

    result = train("-m", f"resume={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    console_is_readable(result.stdout + result.stderr)
    # The completed job is not trained again: its weights, metrics and samples are as they
    # were (submitit's own lines go on in its train.log, and a resume leaves its config).
    after = mtimes(first)
    assert {k: v for k, v in after.items() if k in before and k != "train.log"} == {
        k: v for k, v in before.items() if k != "train.log"}
    assert f"not run again: this job has ended (completed after {STEPS} steps)" in "".join(
        path.read_text() for path in sweep_dir.glob(".submitit/*/*_log.out"))
    # The cancelled one goes on from its checkpoint, once, to the same end as the run alone.
    log = (second / "train.log").read_text()
    resumed = re.findall(rf"resuming from step (\d+) of {STEPS}", log)
    assert len(resumed) == 1 and int(resumed[0]) > 0, resumed
    assert [row["status"] for row in summary(sweep_dir)] == ["completed", "completed"]
    assert finals(sweep_dir)[1] == finals(tmp_path)[0]  # bit for bit
