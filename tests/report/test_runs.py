"""`python -m gan.runs`: every run under outputs and multirun, completed best first, failures
last and marked, in a table that fits 100 columns."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gan.report.runs import collect, listing
from gan.runs import main
from tests.conftest import REPO


def run(directory: Path, overrides: list[str], metrics: dict | None) -> Path:
    """A run directory as train.py leaves it (metrics None: still training, or killed)."""
    (directory / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), directory / ".hydra" / "overrides.yaml")
    (directory / "samples").mkdir()
    if metrics is not None:
        (directory / "metrics.json").write_text(json.dumps(metrics))
    return directory


def completed(fid: float | None, steps: int = 40001, seconds: float = 283.4) -> dict:
    """A completed run's metrics.json (fid None: it did not evaluate)."""
    scores = {} if fid is None else {"fid": fid, "modes_covered": 8, "class_kl": 0.6}
    return {"status": "completed", "final_loss_g": 3.0, "final_loss_d": 0.5, "steps": steps,
            "wall_seconds": seconds, **scores}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Single runs under outputs, a sweep's jobs under multirun, of every kind."""
    sweep = tmp_path / "multirun" / "2026-11-26" / "12-00-00"
    run(sweep / "0_optimizer.lr=0.0001", ["optimizer.lr=0.0001"], completed(fid=240.0))
    run(sweep / "1_optimizer.lr=1", ["optimizer.lr=1"], {
        "status": "diverged", "wall_seconds": 2.0,
        "reason": "training diverged at step 100: the discriminator loss is not finite"})
    run(sweep / "2_optimizer.lr=0.0002", ["optimizer.lr=0.0002"], completed(fid=190.0))
    (sweep / ".submitit").mkdir()  # a launcher's own folder holds no run
    (sweep / "summary.md").write_text("")
    outputs = tmp_path / "outputs" / "2026-11-26"
    run(outputs / "13-00-00", ["discriminator=cnn", "train.seed=2"], completed(fid=795.0) | {
        "best": {"step": 5000, "objective": "fid", "value": 33.5, "checkpoint": "best.pt"},
        "alarms": [{"step": 10000, "kind": "collapse", "message": "collapse at step 10000: ..."},
                   {"step": 12000, "kind": "d_loss_vanished", "message": "D's loss ..."}]})
    run(outputs / "14-00-00", ["train.steps=201", "eval.every=0"],
        completed(fid=None, steps=201, seconds=4.2))
    run(outputs / "15-00-00", ["train.steps=80000"], None)  # still training
    return tmp_path


def machine(threads: int) -> dict:
    """What train.py records in metrics.json of the process that computed a run on the CPU."""
    return {"device": "cpu", "threads": threads, "cpu_capability": "AVX512",
            "cpu": "Intel(R) Xeon(R) Platinum 8488C", "torch": "2.14.1+cu130"}


def test_runs_that_computed_alike_say_it_once_and_others_each_their_own(tmp_path: Path) -> None:
    """The issue's runs: seed 1, 1,000 steps, G 3.85341 on 1 thread and 3.85369 on 2: the same
    command, not the same computation, and the listing shows why."""
    for threads, loss in ((1, 3.85341215133667), (2, 3.8536877632141113)):
        run(tmp_path / "outputs" / f"t{threads}", ["train.seed=1", f"train.threads={threads}"],
            completed(fid=None, steps=1000) | {"final_loss_g": loss} | machine(threads))
    lines = listing([tmp_path / "outputs"]).splitlines()
    described = "AVX512 (Intel(R) Xeon(R) Platinum 8488C), torch 2.14.1+cu130"
    below = {line.strip(): lines[i + 1].strip() for i, line in enumerate(lines[:-1])}
    assert below[str(tmp_path / "outputs" / "t1")] == f"on: cpu, 1 thread, {described}"
    assert below[str(tmp_path / "outputs" / "t2")] == f"on: cpu, 2 threads, {described}"
    assert not any(line.startswith("Computed on:") for line in lines)
    alike = run(tmp_path / "alike" / "a", ["train.seed=1"], completed(fid=None) | machine(1))
    run(tmp_path / "alike" / "b", ["train.seed=2"], completed(fid=None) | machine(1))
    run(tmp_path / "alike" / "c", ["train.seed=3"], None)  # still training: nothing recorded
    lines = listing([alike.parent]).splitlines()
    assert f"Computed on: cpu, 1 thread, {described}" in lines[:3]
    assert not any(line.strip().startswith("on: ") for line in lines)


def test_a_run_from_before_the_machine_was_recorded_shows_what_it_has(tmp_path: Path) -> None:
    run(tmp_path / "old", [], completed(fid=None) | {"device": "cpu", "threads": 2})
    assert "Computed on: cpu, 2 threads" in listing([tmp_path]).splitlines()


def test_completed_runs_come_best_first_and_failed_ones_last(
        runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(runs)
    _, rows = collect()
    assert [(row["directory"], row["status"]) for row in rows] == [
        ("multirun/2026-11-26/12-00-00/2_optimizer.lr=0.0002", "completed"),
        ("multirun/2026-11-26/12-00-00/0_optimizer.lr=0.0001", "completed"),
        ("outputs/2026-11-26/13-00-00", "completed"),
        ("outputs/2026-11-26/14-00-00", "completed"),  # no FID: after those with one
        ("outputs/2026-11-26/15-00-00", "unknown"),  # no metrics.json yet
        ("multirun/2026-11-26/12-00-00/1_optimizer.lr=1", "diverged")]


def test_the_table_shows_each_run_and_marks_failures(
        runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(runs)
    main([])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("6 runs in outputs, multirun: 4 completed, 1 unknown, 1 diverged. "
                        "Best first by FID (lower is better).")
    assert lines[2].split() == ["#", "FID", "best", "(step)", "steps", "time", "status",
                                "overrides"]
    assert lines[3].split() == ["1", "190", "40001", "4m43s", "completed", "optimizer.lr=0.0002"]
    assert lines[4].strip() == "multirun/2026-11-26/12-00-00/2_optimizer.lr=0.0002"
    # The collapsed run: its final FID, its best (where best.pt is) and its alarms.
    assert lines[7].split() == ["3", "795", "33.5", "(5000)", "40001", "4m43s", "completed",
                                "discriminator=cnn", "train.seed=2"]
    assert lines[9].strip() == "alarms: collapse at 10000; d_loss_vanished at 12000"
    assert lines[10].split() == ["4", "201", "4.2s", "completed", "train.steps=201",
                                 "eval.every=0"]  # no FID
    assert lines[12].split() == ["5", "unknown", "train.steps=80000"]
    assert lines[14].strip() == "reason: no metrics.json: killed, or still running"
    assert lines[-3].split() == ["6", "2.0s", "diverged", "optimizer.lr=1"]
    assert lines[-1].strip() == ("reason: training diverged at step 100: the discriminator loss "
                                 "is not finite")


def test_runs_not_yet_evaluated_are_listed_by_what_their_configs_rank_by(tmp_path: Path) -> None:
    """The reported listing: a Stacked MNIST job before its first evaluation said "Best first
    by FID", a score its dataset never has; it ranks by the class KL its config names."""
    stacked = run(tmp_path / "stacked" / "2_setup=pacdcgan4_joint_bn", ["train.seed=1"], None)
    OmegaConf.save(OmegaConf.create({"eval": {"every": 5000, "objective": "class_kl"}}),
                   stacked / "config.yaml")
    lines = listing([tmp_path / "stacked"]).splitlines()
    assert lines[0].endswith("Best first by class KL (lower is better).")
    assert lines[2].split()[:2] == ["#", "class"]
    mnist = run(tmp_path / "mnist" / "a", [], None)  # an MNIST run: FID, as before
    OmegaConf.save(OmegaConf.create({"eval": {"objective": "fid"}}), mnist / "config.yaml")
    run(tmp_path / "mnist" / "b", [], None)  # no config.yaml yet
    assert listing([tmp_path / "mnist"]).splitlines()[0].endswith("Best first by FID (lower is "
                                                                  "better).")
    both = listing([tmp_path / "stacked", tmp_path / "mnist"]).splitlines()[0]
    assert both.endswith("by FID (lower is better).")  # they disagree: the default


def test_long_override_lists_are_shortened_to_fit(tmp_path: Path) -> None:
    overrides = [f"remedy.historical_averaging.setting_{i}=value_{i}" for i in range(8)]
    run(tmp_path / "a", ["experiment=stable_cnn", *overrides], completed(fid=100.0))
    run(tmp_path / "b", ["experiment=stable_cnn", "x=" + "y" * 200], completed(fid=200.0))
    text = listing([tmp_path])
    lines = text.splitlines()
    assert lines[1] == "Every run: experiment=stable_cnn"  # said once, not in every row
    rows = [line for line in lines if line.startswith(("1  ", "2  "))]
    assert all(len(line) <= 100 for line in rows), rows
    assert rows[0].endswith("... (+7)") and "setting_0=value_0" in rows[0]
    assert rows[1].endswith("yyy...")


def test_a_resumed_run_says_what_its_resume_changed(tmp_path: Path) -> None:
    directory = run(tmp_path / "outputs" / "a", ["discriminator=cnn"], completed(fid=100.0))
    resumed = directory / ".hydra" / "resumed-2026-11-27_10-00-00-000000"
    resumed.mkdir()  # what `python train.py resume=... train.steps=80000` adds
    OmegaConf.save(OmegaConf.create([f"resume={directory}", "train.steps=80000"]),
                   resumed / "overrides.yaml")
    (directory / "samples" / "nested" / ".hydra").mkdir(parents=True)  # nothing under a run
    (directory / "samples" / "nested" / "metrics.json").write_text("{}")
    _, rows = collect([tmp_path / "outputs"])
    assert len(rows) == 1
    assert "discriminator=cnn (resumed: train.steps=80000)" in listing([tmp_path / "outputs"])


def test_a_continued_sweeps_job_says_what_the_continuation_changed_and_no_resume(
        tmp_path: Path) -> None:
    # A continued sweep's resume records the whole sweep's command, not only what it changed;
    # a job it started first has resume= among its first overrides.
    sweep = tmp_path / "multirun" / "s"
    again = run(sweep / "0_lr=1", ["lr=1", "train.steps=20"], completed(fid=100.0))
    for stamp, steps in (("2026-12-04_10-00-00-000000", 20), ("2026-12-04_11-00-00-000000", 30)):
        (again / ".hydra" / f"resumed-{stamp}").mkdir()
        OmegaConf.save(OmegaConf.create(["lr=1", f"train.steps={steps}", f"resume={sweep}"]),
                       again / ".hydra" / f"resumed-{stamp}" / "overrides.yaml")
    run(sweep / "1_lr=2", ["lr=2", "train.steps=30", f"resume={sweep}"], completed(fid=90.0))
    text = listing([tmp_path / "multirun"])
    assert "lr=1 train.steps=20 (resumed 2x: train.steps=30)" in text
    assert "lr=2 train.steps=30\n" in text
    assert "resume=" not in text


def test_no_runs_is_one_line_saying_where_it_looked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    main([])  # neither outputs nor multirun exists here: not an error
    assert capsys.readouterr().out == (f"no runs found in {tmp_path / 'outputs'}, "
                                       f"{tmp_path / 'multirun'}\n")
    (tmp_path / "outputs").mkdir()
    main(["outputs"])
    assert capsys.readouterr().out == f"no runs found in {tmp_path / 'outputs'}\n"


def test_a_missing_directory_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="^error: nowhere does not exist$"):
        main(["nowhere"])
    result = subprocess.run([sys.executable, "-m", "gan.runs", "outputs", "nowhere"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert result.stderr == "error: outputs does not exist\n" and result.stdout == ""


def test_help_prints_the_usage(capsys: pytest.CaptureFixture) -> None:
    main(["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m gan.runs [DIR ...]")
    with pytest.raises(SystemExit, match="error: unknown option -x"):
        main(["-x"])


@pytest.mark.slow
def test_a_real_run_is_listed(data_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "PYTHONPATH": str(REPO)}
    run_dir = tmp_path / "outputs" / "2026-11-26" / "12-00-00"
    trained = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "train.steps=2", "train.device=cpu",
         "eval.every=0", "train.threads=1", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr
    listed = subprocess.run([sys.executable, "-m", "gan.runs"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("1 run in outputs, multirun: 1 completed.")
    assert lines[1].startswith("Computed on: cpu, 1 thread, ")  # what a rerun must match
    assert lines[4].split() == ["1", "2", *lines[4].split()[2:3], "completed", "train.steps=2",
                                "train.device=cpu", "eval.every=0", "train.threads=1"]
    assert lines[5].strip() == "outputs/2026-11-26/12-00-00"
