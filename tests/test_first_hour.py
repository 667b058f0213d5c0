"""A newcomer's first hour: the set-up command on a fresh clone, where a run is, what --help
says, Ctrl-C at any moment, relative paths, and sweep jobs' console lines and cores."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA, find_data_root

pytestmark = pytest.mark.slow


def train(*args: str, cwd: Path, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess:
    """train.py in a subprocess, with the given environment (default: this one's)."""
    return subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=cwd,
                          env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=600)


def without_data_variable() -> dict[str, str]:
    """This environment without GAN_DATA_DIR, as on a newcomer's machine."""
    return {key: value for key, value in os.environ.items() if key != "GAN_DATA_DIR"}


@pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(),
                    reason="needs shared/data beside the checkout, as CI places it")
def test_the_readme_training_command_finds_the_data_beside_the_checkout(tmp_path: Path) -> None:
    result = train("train.steps=2", "eval.every=0", "train.device=cpu", cwd=tmp_path,
                   env=without_data_variable())
    assert result.returncode == 0, result.stderr
    config = next(tmp_path.glob("outputs/*/*/config.yaml")).read_text()
    assert f"root: {SHARED_DATA.resolve()}" in config or f"root: {SHARED_DATA}" in config


def test_a_run_says_where_it_is_at_the_start_and_the_end(tmp_path: Path) -> None:
    data = find_data_root() or pytest.skip("no data")
    result = train("train.steps=2", "eval.every=0", "train.device=cpu", f"dataset.root={data}",
                   "hydra.run.dir=runs/first", cwd=tmp_path)
    lines = result.stdout.splitlines()
    run_dir = tmp_path / "runs" / "first"
    assert lines[0] == f"Run directory: {run_dir}" and lines[-1] == f"Done: {run_dir}"


def test_a_resumed_run_says_where_it_goes_on_and_times_every_part(tmp_path: Path) -> None:
    data = find_data_root() or pytest.skip("no data")
    common = ("eval.every=0", "train.device=cpu", f"dataset.root={data}")
    train("train.steps=4", *common, "hydra.run.dir=run", cwd=tmp_path)
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())
    result = train("resume=run", "train.steps=7", cwd=tmp_path)
    assert "resuming from step 4 of 7" in result.stdout
    assert "resuming from step 4 of 7" in (tmp_path / "run" / "train.log").read_text()
    # Each part says what it computed on (what a rerun must match), and the log keeps both.
    assert (tmp_path / "run" / "train.log").read_text().count("computing on cpu, ") == 2
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    part = metrics["last_part"]
    assert part["from_step"] == 4
    assert metrics["wall_seconds"] > part["wall_seconds"] > 0
    assert metrics["loop_seconds"] > part["loop_seconds"] > 0
    assert metrics["wall_seconds"] > first["wall_seconds"] * 0.5  # the first part counts


@pytest.mark.parametrize("after", [0.3, 1.0])
def test_ctrl_c_while_starting_is_one_line_and_exit_130(tmp_path: Path, after: float) -> None:
    process = subprocess.Popen([sys.executable, str(REPO / "train.py"), "train.device=cpu"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        time.sleep(after)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()  # a run that never heard Ctrl-C must not train on beside the other tests
    assert process.returncode == 130
    assert err.strip() == "interrupted", err


def test_a_run_started_ignoring_ctrl_c_trains_to_the_end(tmp_path: Path) -> None:
    # `python train.py &` in a script: SIGINT is ignored from the start, so Ctrl-C (meant for
    # the script) reaches the run at every moment, set-up and loop alike, and must not stop it.
    data = find_data_root() or pytest.skip("no data")
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "train.device=cpu", "train.steps=200",
         "eval.every=0", "hydra.run.dir=run"], cwd=tmp_path, text=True,
        env={**os.environ, "GAN_DATA_DIR": str(data)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            process.send_signal(signal.SIGINT)
            time.sleep(0.1)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["steps"] == 200


def test_relative_paths_mean_the_start_directory_with_chdir(tmp_path: Path) -> None:
    data = find_data_root() or pytest.skip("no data")
    (tmp_path / "mydata").symlink_to(data)
    chdir = ("hydra.job.chdir=true", "eval.every=0", "train.device=cpu")
    env = {**without_data_variable(), "GAN_DATA_DIR": "mydata"}
    first = train("train.steps=3", *chdir, "hydra.run.dir=runs/x", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    config = (tmp_path / "runs" / "x" / "config.yaml").read_text()
    assert f"root: {tmp_path / 'mydata'}" in config  # absolute, as read
    resumed = train("resume=runs/x", "train.steps=5", "hydra.job.chdir=true", cwd=tmp_path,
                    env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from step 3 of 5" in resumed.stdout
    moved = train("train.steps=2", *chdir, "dataset.root=mydata", "hydra.run.dir=runs/y",
                  cwd=tmp_path, env=without_data_variable())
    assert moved.returncode == 0, moved.stderr


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_jobs_at_once_share_the_cores_and_label_their_lines(tmp_path: Path,
                                                            launcher: str) -> None:
    data = find_data_root() or pytest.skip("no data")
    result = train("-m", f"hydra/launcher={launcher}", "train.seed=0,1", "train.steps=2",
                   "train.print_every=1", "eval.every=0", "train.device=cpu",
                   f"dataset.root={data}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cores = len(os.sched_getaffinity(0))
    for metrics in (tmp_path / "sweep").glob("*/metrics.json"):
        assert json.loads(metrics.read_text())["threads"] == max(1, cores // 2)
    if launcher == "joblib":  # submitit_local keeps each job's console in its own log
        epochs = [line for line in result.stdout.splitlines() if "Epoch:" in line]
        assert epochs and all(line.startswith(("[job 0] ", "[job 1] ")) for line in epochs)


def test_a_sweep_job_with_a_bad_value_keeps_its_record(tmp_path: Path) -> None:
    data = find_data_root() or pytest.skip("no data")
    result = train("-m", "optimizer.lr=fast,1e-4", "train.steps=2", "eval.every=0",
                   "eval.objective=final_loss_g", "train.device=cpu", f"dataset.root={data}",
                   f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert result.returncode == 1  # the summary: one job did not complete
    record = json.loads(next((tmp_path / "sweep").glob("0_*/metrics.json")).read_text())
    assert record["status"] == "bad_input"
    assert record["reason"] == ("optimizer.lr must be a float, got 'fast' (lr.generator "
                                "follows it unless set)")
    assert "Traceback" not in result.stdout + result.stderr


def test_a_refusal_in_an_existing_directory_removes_nothing_of_it(tmp_path: Path) -> None:
    data = find_data_root() or pytest.skip("no data")
    done = train("train.steps=2", "eval.every=0", "train.device=cpu", f"dataset.root={data}",
                 "hydra.run.dir=run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    for refused in ("optimizer.lr=fast", "train.device=cuda:99", "train.batch_size=100000"):
        result = train(refused, "train.steps=2", f"dataset.root={data}", "hydra.run.dir=run",
                       cwd=tmp_path)
        assert result.returncode == 1 and result.stderr.startswith("error: "), refused
    after = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    assert after == before  # the finished run is whole: config, metrics, log, checkpoint
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.yaml").write_text("the user's own\n")
    train("optimizer.lr=fast", "hydra.run.dir=.", cwd=tmp_path / "mine")
    assert (tmp_path / "mine" / "config.yaml").read_text() == "the user's own\n"


def test_a_broken_torchvision_is_one_line_naming_it_and_the_fix(tmp_path: Path) -> None:
    # A stand-in for a CUDA torchvision beside a CPU torch, found before the installed one.
    stub = tmp_path / "stub" / "torchvision"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        'raise RuntimeError("operator torchvision::nms does not exist")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), str(REPO)]),
           "HYDRA_FULL_ERROR": "0"}
    result = train("train.steps=2", "eval.every=0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: torchvision cannot be imported (RuntimeError: "
                                    "operator torchvision::nms does not exist; installed: ")
    assert result.stderr.count("\n") == 1 and "pip install --force-reinstall" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stub"]  # no outputs/
