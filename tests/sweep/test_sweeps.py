"""Sweeps as users run them: Hydra's launcher and sweeper plugins, the summary, failures,
and TensorBoard's server over a finished sweep."""

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, compose_config
from tests.test_train import train

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("data_root")]
TINY = ("train.steps=20", "train.log_every=5", "train.device=cpu", "eval.every=20", "eval.n=200")


def sweep(*args: str, data_root: Path, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """`python train.py -m ARGS` into tmp_path/sweep."""
    sweep_dir = tmp_path / "sweep"
    result = train("-m", *TINY, *args, f"hydra.sweep.dir={sweep_dir}", data_root=data_root,
                   cwd=tmp_path)
    return sweep_dir, result


def summary(sweep_dir: Path) -> list[dict[str, str]]:
    """summary.csv's rows, in order."""
    with open(sweep_dir / "summary.csv", newline="") as file:
        return list(csv.DictReader(file))


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def job_metrics(sweep_dir: Path) -> list[dict[str, Any]]:
    """Every job's metrics.json, by job number."""
    return [json.loads(path.read_text()) for path in sorted(sweep_dir.glob("*/metrics.json"))]


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """Two jobs run at once by hydra-joblib-launcher."""
    tmp_path = tmp_path_factory.mktemp("joblib")
    sweep_dir, result = sweep("hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                              "optimizer.lr=1e-4,2e-4", data_root=data_root, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return sweep_dir


def test_joblib_runs_jobs_in_parallel_processes_sharing_the_cores(joblib_sweep: Path) -> None:
    rows = summary(joblib_sweep)
    assert [row["status"] for row in rows] == ["completed", "completed"]
    assert sorted(row["overrides"].split()[-1] for row in rows) == [
        "optimizer.lr=0.0001", "optimizer.lr=0.0002"]
    # Two workers, each with its share of the cores: 2 jobs x threads <= cores.
    cores = len(os.sched_getaffinity(0))
    assert [m["threads"] for m in job_metrics(joblib_sweep)] == [max(1, cores // 2)] * 2
    for config in joblib_sweep.glob("*/config.yaml"):  # saved, so a resume uses the same
        assert yaml.safe_load(config.read_text())["train"]["threads"] == max(1, cores // 2)
    writers = {path.name.split(".")[-2] for path in joblib_sweep.glob("*/events.out.tfevents.*")}
    assert len(writers) == 2  # the event files' names end in their process ids


def test_summary_is_sorted_by_the_objective(joblib_sweep: Path) -> None:
    fids = [float(row["fid"]) for row in summary(joblib_sweep)]
    assert fids == sorted(fids)
    assert (joblib_sweep / "summary.md").read_text().startswith("# Sweep summary")


def test_submitit_local_runs_a_sweep(data_root: Path, tmp_path: Path) -> None:
    sweep_dir, result = sweep("hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1",
                              "hydra.launcher.timeout_min=5", "train.seed=0,1",
                              data_root=data_root, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["status"] for row in summary(sweep_dir)] == ["completed", "completed"]
    assert [m["threads"] for m in job_metrics(sweep_dir)] == [1, 1]  # cpus_per_task
    assert (sweep_dir / ".submitit").is_dir()  # submitit's own logs, beside the jobs


def test_optuna_searches_both_learning_rates(data_root: Path, tmp_path: Path) -> None:
    sweep_dir, result = sweep("hparams_search=optuna_lr", "hydra.sweeper.n_trials=3",
                              data_root=data_root, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Best parameters: {'lr.generator'" in result.stdout + result.stderr
    best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"lr.generator", "lr.discriminator"}
    rows = summary(sweep_dir)
    assert len(rows) == 3 and float(rows[0]["fid"]) == pytest.approx(best["best_value"])
    for row in rows:  # each trial trained with the rates it was given
        config = yaml.safe_load((sweep_dir / row["directory"] / "config.yaml").read_text())
        assert f"lr.generator={config['lr']['generator']}" in row["overrides"]
        assert 1e-5 <= config["lr"]["discriminator"] <= 1e-3


def test_failing_jobs_do_not_stop_the_sweep(data_root: Path, tmp_path: Path) -> None:
    # lr 1e20 diverges; a 10^14-sample noise batch cannot be allocated.
    sweep_dir, result = sweep("optimizer=sgd", "optimizer.lr=0.01,1e20",
                              "train.n_samples=16,100000000000000", data_root=data_root,
                              tmp_path=tmp_path)
    assert result.returncode != 0
    assert re.search(r"error: 3 of 4 jobs did not complete \(diverged, out_of_memory\)",
                     result.stderr), result.stderr
    rows = {" ".join(row["overrides"].split()[-2:]): row for row in summary(sweep_dir)}
    assert {jobs: row["status"] for jobs, row in rows.items()} == {
        "optimizer.lr=0.01 train.n_samples=16": "completed",
        "optimizer.lr=1e+20 train.n_samples=16": "diverged",
        "optimizer.lr=0.01 train.n_samples=100000000000000": "out_of_memory",
        "optimizer.lr=1e+20 train.n_samples=100000000000000": "out_of_memory"}
    assert next(iter(rows.values()))["status"] == "completed"  # failures after it
    assert rows["optimizer.lr=1e+20 train.n_samples=16"]["reason"].startswith(
        "training diverged at step")
    assert "can't allocate memory" in rows["optimizer.lr=0.01 train.n_samples=100000000000000"][
        "reason"]


@pytest.mark.parametrize(("launcher", "stop"), [
    (("hydra/launcher=stacked",), "ctrl-c"),  # both jobs train in one stack
    (("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"), "kill-a-worker"),
], ids=["stacked-ctrl-c", "joblib-worker-killed"])
def test_a_stopped_sweep_is_summarised_with_every_job_it_started(
        launcher: tuple[str, ...], stop: str, data_root: Path, tmp_path: Path) -> None:
    # The stacked sweep's own process records its stack's jobs, then exits with 130; a joblib
    # worker killed ends the sweep with joblib's error and the other worker with it: neither
    # returns to Hydra's on_multirun_end, and no job's on_job_end runs.
    sweep_dir = tmp_path / "sweep"
    process = subprocess.Popen(  # a session of its own: its group is the sweep's processes
        [sys.executable, str(REPO / "train.py"), "-m", *launcher, "train.seed=0,1",
         "train.steps=20000", "train.checkpoint_every=50", "eval.every=0", "train.threads=1",
         "eval.objective=final_loss_g", f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env={**os.environ, "GAN_DATA_DIR": str(data_root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while len(list(sweep_dir.glob("*/checkpoint.pt"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        if stop == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        else:  # the worker training job 1: the pid in its directory's lock
            os.kill(int(next(sweep_dir.glob("1_*/.writer")).read_text()), signal.SIGKILL)
        process.wait(timeout=120)
        deadline = time.monotonic() + 60
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)  # a worker that outlives the sweep records and summarises too
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    recorded = [json.loads((job / "metrics.json").read_text())["status"]
                if (job / "metrics.json").is_file() else "unknown"
                for job in sorted(sweep_dir.glob("[0-9]*_*"))]
    assert [(row["job"], row["status"]) for row in summary(sweep_dir)] == [
        ("0", recorded[0]), ("1", recorded[1])]
    assert recorded == (["interrupted"] * 2 if stop == "ctrl-c" else [recorded[0], "unknown"])


@pytest.mark.parametrize("launcher", ["slurm", "submitit_slurm"])
def test_slurm_presets_compose(launcher: str) -> None:
    cfg = compose_config(f"hydra/launcher={launcher}", "hydra.launcher.partition=gpu",
                         hydra=True)
    settings = cfg.hydra.launcher
    assert settings._target_.endswith("SlurmLauncher") and settings.partition == "gpu"
    if launcher == "slurm":  # ours: a GPU, four cores and four hours per job
        assert (settings.gpus_per_node, settings.cpus_per_task, settings.timeout_min) == (
            1, 4, 240)


def test_the_slurm_preset_reaches_sbatch(data_root: Path, tmp_path: Path) -> None:
    # No cluster here: a stand-in `sbatch` keeps the job script submitit wrote, then refuses.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = tmp_path / "job.sbatch"
    (bin_dir / "sbatch").write_text(f'#!/usr/bin/env bash\ncp "${{@: -1}}" {script}\n'
                                    'echo "sbatch: error: not a cluster" >&2\nexit 1\n')
    (bin_dir / "srun").write_text("#!/usr/bin/env bash\nexit 1\n")  # only looked for
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "GAN_DATA_DIR": str(data_root),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "-m", "hydra/launcher=slurm",
         "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=30", "train.seed=0,1",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "sbatch: error: not a cluster" in result.stderr
    directives = set(re.findall(r"#SBATCH (\S+)", script.read_text()))
    assert {"--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=4", "--mem=16GB",
            "--time=30", "--array=0-1%2"} <= directives  # two jobs, both at once


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tensorboard(joblib_sweep: Path) -> Iterator[str]:
    """The real `tensorboard` server over the finished sweep; its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("tensorboard")), "--logdir", str(joblib_sweep),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def fetch(url: str, body: dict | None = None) -> Any:
    """GET (or POST body as JSON) and decode the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def runs_when_loaded(base: str, expected: set[str], seconds: float = 90) -> list[str]:
    """The server's runs once it has loaded the expected ones (it loads in the background)."""
    deadline, runs = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        try:
            runs = fetch(f"{base}/data/runs")
            if expected <= set(runs):
                return runs
        except OSError:  # not listening yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"tensorboard served {runs}, expected {expected}")


def test_tensorboard_serves_every_job_and_its_hparams(joblib_sweep: Path, tensorboard: str) -> None:
    jobs = {path.name for path in joblib_sweep.iterdir() if (path / "metrics.json").exists()}
    runs = runs_when_loaded(tensorboard, jobs)
    assert set(runs) == jobs  # one run per job: no phantom hparams runs
    for run in runs:
        query = urllib.parse.urlencode({"run": run, "tag": "loss/generator"})
        series = fetch(f"{tensorboard}/data/plugin/scalars/scalars?{query}")
        assert [step for _, step, _ in series] == [0, 5, 10, 15, 19]
    groups = fetch(f"{tensorboard}/data/plugin/hparams/session_groups", {
        "experimentName": "", "allowedStatuses": ["STATUS_SUCCESS"], "colParams": [],
        "startIndex": 0, "sliceSize": 10})["sessionGroups"]
    assert sorted(group["hparams"]["optimizer.lr"] for group in groups) == [1e-4, 2e-4]
    for group in groups:
        assert {"loss/generator", "eval/fid"} <= {m["name"]["tag"] for m in group["metricValues"]}
