"""The sweep summary: one row per job, completed jobs best first, failures last with reasons."""

import csv
import fcntl
import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from gan.report.summary import LOCK_NAME, summarise
from gan.run.loop import Recorder
from gan.sweep.summary import SweepSummary
from tests.conftest import compose_config


def job(sweep_dir: Path, num: int, overrides: list[str], metrics: dict | None) -> None:
    """A job directory as Hydra and train.py leave it (metrics None: the job left none)."""
    directory = sweep_dir / f"{num}_{','.join(overrides)}"
    (directory / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"hydra": {"job": {"num": num}}}),
                   directory / ".hydra" / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(overrides), directory / ".hydra" / "overrides.yaml")
    if metrics is not None:
        (directory / "metrics.json").write_text(json.dumps(metrics))


def completed(fid: float, modes: int) -> dict:
    """A completed job's metrics.json."""
    return {"status": "completed", "final_loss_g": 1.0, "final_loss_d": 0.5, "fid": fid,
            "class_kl": 0.1, "modes_covered": modes, "classifier_score": 9.0,
            "wall_seconds": 12.0}


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """Five jobs: three completed, one diverged, one killed before it wrote anything."""
    job(tmp_path, 0, ["lr=1", "steps=5"], completed(fid=30.0, modes=9))
    job(tmp_path, 1, ["lr=2", "steps=5"], {"status": "diverged", "wall_seconds": 2.0,
                                           "reason": "training diverged at step 100: ..."})
    job(tmp_path, 2, ["lr=3", "steps=5"], completed(fid=10.0, modes=7))
    job(tmp_path, 3, ["lr=4", "steps=5"], None)
    job(tmp_path, 4, ["lr=5", "steps=5"], completed(fid=20.0, modes=10))
    (tmp_path / ".submitit").mkdir()  # a launcher's own folder is not a job
    return tmp_path


def test_rows_are_sorted_by_the_objective_failures_last(sweep_dir: Path) -> None:
    rows = summarise(sweep_dir, "fid")
    assert [row["job"] for row in rows] == [2, 4, 0, 1, 3]
    assert [row["status"] for row in rows] == ["completed"] * 3 + ["diverged", "unknown"]
    assert rows[3]["reason"].startswith("training diverged at step 100")
    assert "no metrics.json" in rows[4]["reason"]


def test_a_higher_is_better_objective_sorts_descending(sweep_dir: Path) -> None:
    assert [row["job"] for row in summarise(sweep_dir, "modes_covered")][:3] == [4, 0, 2]


def test_csv_and_markdown_hold_every_job(sweep_dir: Path) -> None:
    summarise(sweep_dir, "fid")
    with open(sweep_dir / "summary.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["job"] for row in rows] == ["2", "4", "0", "1", "3"]
    assert rows[0]["overrides"] == "lr=3 steps=5" and float(rows[0]["fid"]) == 10.0
    assert rows[0]["directory"] == "2_lr=3,steps=5" and rows[0]["wall_seconds"] == "12.0"
    text = (sweep_dir / "summary.md").read_text()
    assert "5 jobs: 3 completed, 1 diverged, 1 unknown" in text
    assert "Every job: `steps=5`" in text  # said once, not in every row
    table = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert [line.split(" | ")[2] for line in table] == [
        "`lr=3`", "`lr=5`", "`lr=1`", "`lr=2`", "`lr=4`"]


def test_the_callback_fails_the_sweep_when_a_job_failed(sweep_dir: Path) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}},
                               "eval": {"objective": "fid"}})
    with pytest.raises(SystemExit, match="2 of 5 jobs did not complete"):
        SweepSummary().on_multirun_end(config)
    assert (sweep_dir / "summary.md").exists()


def test_the_callback_passes_a_sweep_without_failures(tmp_path: Path) -> None:
    job(tmp_path, 0, ["lr=1"], completed(fid=1.0, modes=10))
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}},
                               "eval": {"objective": "fid"}})
    SweepSummary().on_multirun_end(config)
    assert (tmp_path / "summary.csv").exists()


def test_a_sweep_that_does_not_return_is_summarised_on_its_way_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A joblib worker killed ends the sweep with joblib's error: Hydra calls no
    # on_multirun_end, and the other workers are killed with no record of their own.
    at_exit: list[Any] = []
    monkeypatch.setattr("gan.sweep.summary.atexit.register", at_exit.append)
    monkeypatch.setattr("gan.sweep.summary.atexit.unregister", at_exit.remove)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}},
                               "eval": {"objective": "fid"}})
    callback = SweepSummary()
    callback.on_multirun_start(config)
    job(tmp_path, 0, ["lr=1"], completed(fid=1.0, modes=10))
    job(tmp_path, 1, ["lr=2"], {"status": "interrupted", "reason": "interrupted by SIGTERM"})
    job(tmp_path, 2, ["lr=3"], None)  # killed with the sweep
    [on_exit] = at_exit
    on_exit()
    assert "3 jobs: 1 completed, 1 interrupted, 1 unknown." in (
        tmp_path / "summary.md").read_text()
    with pytest.raises(SystemExit):  # a sweep that returns: summarised there, not again
        callback.on_multirun_end(config)
    assert at_exit == []


def test_summaries_written_at_once_take_turns_after_every_record(tmp_path: Path) -> None:
    # Two joblib workers stopped together: one writes its record while the other summarises.
    # The summary that waited for the lock reads the records as they are once it has it.
    job(tmp_path, 0, ["lr=1"], completed(fid=1.0, modes=10))
    job(tmp_path, 1, ["lr=2"], None)
    with open(tmp_path / LOCK_NAME, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer's turn
        waiting = threading.Thread(target=summarise, args=(tmp_path, "fid"))
        waiting.start()
        waiting.join(timeout=0.3)
        assert waiting.is_alive() and not (tmp_path / "summary.md").exists()
        (next(tmp_path.glob("1_*")) / "metrics.json").write_text(
            json.dumps({"status": "interrupted", "reason": "interrupted by SIGINT"}))
    waiting.join(timeout=10)
    assert "2 jobs: 1 completed, 1 interrupted." in (tmp_path / "summary.md").read_text()


def test_an_unreadable_metrics_file_and_a_pipe_do_not_break_the_summary(tmp_path: Path) -> None:
    job(tmp_path, 0, ["remedy=[a|b]"], None)
    job(tmp_path, 1, ["remedy=[]"], completed(fid=1.0, modes=10))
    (tmp_path / "0_remedy=[a|b]" / "metrics.json").write_text('{"status": "comp')
    rows = summarise(tmp_path, "fid")
    assert rows[1]["status"] == "unknown" and "unreadable metrics.json" in rows[1]["reason"]
    assert "`remedy=[a\\|b]`" in (tmp_path / "summary.md").read_text()


def test_precision_not_computed_is_a_dash_with_its_reason_never_a_number(tmp_path: Path) -> None:
    note = ("precision and recall not computed: 200 samples against 200 real images, and they "
            "mean something only from 10000 (see gan/metrics/manifold.py)")
    job(tmp_path, 0, ["eval.n=200"], completed(fid=5.0, modes=1) | {
        "precision": None, "recall": None, "manifold_note": note})
    job(tmp_path, 1, ["eval.n=10000"], completed(fid=9.0, modes=10) | {
        "precision": 0.85, "recall": 0.88, "manifold_note": None})
    rows = summarise(tmp_path, "precision")
    assert [row["job"] for row in rows] == [1, 0]  # no precision: after the one that has it
    text = (tmp_path / "summary.md").read_text()
    table = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")]
    columns = [table[0].index(name) for name in ("precision", "recall")]
    assert [[line[i] for i in columns] for line in table[1:]] == [["0.85", "0.88"], ["—", "—"]]
    assert text.endswith(f"\n\n—: {note}\n")
    with open(tmp_path / "summary.csv", newline="") as file:
        written = list(csv.DictReader(file))
    assert [(row["precision"], row["recall"]) for row in written] == [("0.85", "0.88"), ("", "")]


def test_no_sweep_directory_means_no_summary_and_no_error(tmp_path: Path) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "never")}},
                               "eval": {"objective": "fid"}})
    SweepSummary().on_multirun_end(config)
    assert not (tmp_path / "never").exists()


def resumed(directory: Path, stamp: str, overrides: list[str]) -> None:
    """What a continued sweep adds to a job it goes on with: its command in .hydra/resumed-*."""
    (directory / ".hydra" / f"resumed-{stamp}").mkdir()
    OmegaConf.save(OmegaConf.create(overrides),
                   directory / ".hydra" / f"resumed-{stamp}" / "overrides.yaml")


def test_the_summary_shows_each_job_as_it_now_stands(tmp_path: Path) -> None:
    # A sweep of 20 steps killed in job 0, continued for 30 (`-m resume=... train.steps=30`):
    # job 0 goes on, job 1 starts in the continued sweep with its resume= among its overrides.
    sweep = tmp_path / "sweep"
    job(sweep, 0, ["lr=1", "train.steps=20"], completed(fid=30.0, modes=9))
    resumed(next(sweep.glob("0_*")), "2026-12-04_10-00-00-000000",
            ["lr=1", "train.steps=30", f"resume={sweep}"])
    job(sweep, 1, ["lr=2", "train.steps=30", f"resume={sweep}"], completed(fid=20.0, modes=9))
    rows = summarise(sweep, "fid")
    assert [row["overrides"] for row in rows] == [["lr=2", "train.steps=30"],
                                                  ["lr=1", "train.steps=30"]]
    assert "Every job: `train.steps=30`" in (sweep / "summary.md").read_text()
    assert "resume=" not in (sweep / "summary.md").read_text()


def test_a_later_resume_sets_a_key_back_to_its_first_value(tmp_path: Path) -> None:
    job(tmp_path, 0, ["lr=1", "train.steps=20"], completed(fid=30.0, modes=9))
    directory = next(tmp_path.glob("0_*"))
    resumed(directory, "2026-12-04_10-00-00-000000", ["train.steps=30"])
    resumed(directory, "2026-12-04_11-00-00-000000", ["train.steps=20"])
    assert summarise(tmp_path, "fid")[0]["overrides"] == ["lr=1", "train.steps=20"]


# The sweep (300 steps, a checkpoint every 100) cut to 60 steps: the signal comes at step
# 50, after a checkpoint, and the job before it trains to its end.
STOPPED_SWEEP = ("train.steps=60", "train.checkpoint_every=20", "eval.every=0",
                 "eval.objective=final_loss_g", "train.device=cpu")


def sweep_job(sweep_dir: Path, num: int, overrides: list[str]) -> tuple[DictConfig, Path]:
    """Job `num` of a `-m` sweep as Hydra hands it to train.py: its config (its HydraConfig set)
    and its directory with Hydra's record of it."""
    cfg = compose_config(*overrides, hydra=True)
    run_dir = sweep_dir / f"{num}_{','.join(overrides)}"
    with open_dict(cfg):
        cfg.hydra.mode, cfg.hydra.job.num = RunMode.MULTIRUN, num
        cfg.hydra.sweep.dir, cfg.hydra.runtime.output_dir = str(sweep_dir), str(run_dir)
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"hydra": {"job": {"num": num}}}),
                   run_dir / ".hydra" / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra  # @hydra.main hands the task the config without it
    return cfg, run_dir


@pytest.mark.parametrize(("signum", "stopped_job"), [(signal.SIGINT, 0), (signal.SIGTERM, 1)])
def test_a_sweep_stopped_by_a_signal_is_summarised_with_the_stopped_job(
        signum: int, stopped_job: int, data_root: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The sweep (train.seed=0,1), signalled at step 50 of job `stopped_job`: Hydra calls
    # no on_job_end for a job that exits with 130 or 143, so the summary was missing (job 0) or
    # said "1 jobs: 1 completed." (job 1). The job writes it itself after its metrics.json.
    import train as entry  # the module `python train.py` runs

    sweep_dir = tmp_path / "sweep"
    stop_if_interrupted = Recorder.stop_if_interrupted

    def signalled(recorder: Recorder, step: int, output: Any, last: bool) -> None:
        if step == 50 and recorder.run_dir.name.startswith(f"{stopped_job}_"):
            signal.raise_signal(signum)  # as a terminal or a scheduler would send it
        stop_if_interrupted(recorder, step, output, last)

    monkeypatch.setattr(Recorder, "stop_if_interrupted", signalled)
    for num in range(stopped_job + 1):
        cfg, run_dir = sweep_job(sweep_dir, num, [f"train.seed={num}", *STOPPED_SWEEP])
        if num < stopped_job:
            assert entry.main.__wrapped__(cfg) is not None  # the function under @hydra.main
            continue
        with pytest.raises(SystemExit) as stop:
            entry.main.__wrapped__(cfg)
    assert stop.value.code == 128 + signum
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    rows = summarise_rows(sweep_dir)
    assert [(row["job"], row["status"]) for row in rows] == [
        *((str(num), "completed") for num in range(stopped_job)), (str(stopped_job), "interrupted")]
    assert rows[-1]["reason"].startswith(f"interrupted by {signal.Signals(signum).name} after 51")
    said = {0: "1 jobs: 1 interrupted.", 1: "2 jobs: 1 completed, 1 interrupted."}[stopped_job]
    assert said in (sweep_dir / "summary.md").read_text()


def summarise_rows(sweep_dir: Path) -> list[dict[str, str]]:
    """summary.csv's rows as the sweep left them."""
    with open(sweep_dir / "summary.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_the_summary_shows_each_jobs_best_and_its_alarms(tmp_path: Path) -> None:
    # The collapsed preset run: FID 33.5 at step 5,000 (best.pt), 634 at the end.
    job(tmp_path, 0, ["train.seed=0"], completed(fid=634.0, modes=1) | {
        "best": {"step": 5000, "objective": "fid", "value": 33.5, "checkpoint": "best.pt"},
        "alarms": [{"step": 10000, "kind": "collapse", "message": "collapse at step 10000"}]})
    job(tmp_path, 1, ["train.seed=1"], completed(fid=60.0, modes=10))
    summarise(tmp_path, "fid")
    with open(tmp_path / "summary.csv", newline="") as file:
        rows = {row["job"]: row for row in csv.DictReader(file)}
    assert (rows["0"]["best"], rows["0"]["best_step"], rows["0"]["alarms"]) == (
        "33.5", "5000", "collapse at 10000")
    assert (rows["1"]["best"], rows["1"]["alarms"]) == ("", "")
    table = [line for line in (tmp_path / "summary.md").read_text().splitlines()
             if line.startswith("| ")]
    assert "| best (step) | alarms | reason |" in table[0]
    assert "| 33.5 (5000) | collapse at 10000 |" in table[-1]
