"""`python -m gan.archive SWEEP_DIR ARCHIVE_DIR`: a sweep's finished runs kept small, read by
the results page as the sweep is, and continued as a sweep once copied back."""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from torchvision.utils import save_image

from gan.archive import main
from gan.errors import UserError
from gan.report.archive import archive
from gan.report.history import eval_history
from gan.report.study_page import write
from tests.report.test_study import study, study_run
from tests.test_train import train


def sweep(root: Path) -> Path:
    """A study sweep as train.py leaves it: the study's runs, each with a checkpoint and an
    intermediate grid beside its final digits, and the sweep's own files."""
    study(root)
    (root / "multirun.yaml").write_text("hydra: {}\n")
    (root / "step_cost.json").write_text(json.dumps({
        "discriminator": "fc", "device": "cpu", "threads": 1, "steps": 20, "rounds": 3,
        "command": "python bench/setup_cost.py discriminator=fc",
        "ms_per_step": {"none": 4.0, "r1_lr4": 6.6}, "ratio": {"none": 1.0, "r1_lr4": 1.65}}))
    for run in root.glob("*_setup=*"):
        (run / "checkpoint.pt").write_bytes(b"0" * 1000)
        (run / "train.log").write_text("Epoch:0 Generator Loss:1.0 Discriminator Loss:1.0\n")
        save_image(torch.rand(3, 8, 8), run / "samples" / "step_000000.png")
    return root


def files(folder: Path) -> set[str]:
    """Every file under folder, relative to it."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_a_finished_run_keeps_what_the_page_and_a_resume_read(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep" / "fc")
    kept, left = archive(source, tmp_path / "kept")
    assert len(kept) == 15 and left == []
    run = "0_setup=none,train.seed=0"
    assert files(tmp_path / "kept" / run) == {  # no checkpoint, event files or intermediate grids
        "metrics.json", "config.yaml", "train.log", ".hydra/overrides.yaml",
        "samples/final/grid.png", "eval_history.json"}
    assert (tmp_path / "kept" / "multirun.yaml").is_file()
    assert (tmp_path / "kept" / "step_cost.json").is_file()
    assert eval_history(tmp_path / "kept" / run) == eval_history(source / run)
    assert eval_history(tmp_path / "kept" / run)["fid"] == [(0, 700.0), (50, 425.0),
                                                           (100, 150.0)]


def job(source: Path, number: int, metrics: dict | None) -> Path:
    """A copy of the sweep's first run as job `number`, with these metrics (None: none yet)."""
    run = source / f"{number}_setup=none,train.seed={number}"
    shutil.copytree(source / "0_setup=none,train.seed=0", run)
    if metrics is None:
        (run / "metrics.json").unlink()
    else:
        (run / "metrics.json").write_text(json.dumps(metrics))
    return run.resolve()


def test_only_runs_a_continued_sweep_would_not_train_again_are_kept(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep")
    running = job(source, 15, None)  # still training: a checkpoint, no metrics.json
    interrupted = job(source, 16, {"status": "interrupted", "reason": "SIGTERM"})
    longer = job(source, 17, {"status": "completed", "steps": 50})  # resumed to go on to 101
    diverged = job(source, 18, {"status": "diverged", "reason": "NaN at step 7"})
    refused = job(source, 19, {"status": "bad_input", "reason": "unknown key"})
    kept, left = archive(source, tmp_path / "kept")
    assert left == [running, interrupted, longer]
    assert {run.name for run in (tmp_path / "kept").iterdir() if run.is_dir()} == {
        path.name for path in source.iterdir() if path.is_dir()} - {
        running.name, interrupted.name, longer.name}
    assert json.loads((tmp_path / "kept" / diverged.name / "metrics.json").read_text()
                      )["status"] == "diverged"
    assert (tmp_path / "kept" / refused.name).is_dir()


def test_keeping_again_replaces_a_run_with_what_it_holds_now(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep")
    run = source / "0_setup=none,train.seed=0"
    archive(source, tmp_path / "kept")
    (run / "samples" / "final" / "grid.png").unlink()  # trained again, and diverged
    (run / "metrics.json").write_text(json.dumps({"status": "diverged", "reason": "NaN"}))
    archive(source, tmp_path / "kept")
    assert not (tmp_path / "kept" / run.name / "samples").exists()
    assert not list((tmp_path / "kept").glob("*.keeping"))


def test_a_later_sweeps_resume_records_are_not_kept(tmp_path: Path) -> None:
    # A continued sweep gives each job it finds done a .hydra/resumed-<stamp>/ too: keeping
    # those would grow every kept run at every sitting and count resumes that trained nothing.
    source = sweep(tmp_path / "sweep")
    run = source / "0_setup=none,train.seed=0"
    before = run / ".hydra" / "resumed-2026-12-01_09-00-00-000000"
    before.mkdir()  # the resume that finished the run
    (before / "overrides.yaml").write_text("- resume=x\n")
    os.utime(before, (0, 0))
    after = run / ".hydra" / "resumed-2026-12-02_09-00-00-000000"
    after.mkdir()
    (after / "overrides.yaml").write_text("- resume=x\n")
    archive(source, tmp_path / "kept")
    kept = tmp_path / "kept" / run.name / ".hydra"
    assert (kept / before.name / "overrides.yaml").is_file() and not (kept / after.name).exists()


def test_the_sweeps_own_files_are_kept(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep")
    (source / "optuna.db").write_bytes(b"SQLite format 3\x00")  # a search continues from it
    archive(source, tmp_path / "kept")
    assert {path.name for path in (tmp_path / "kept").iterdir() if path.is_file()} == {
        "multirun.yaml", "step_cost.json", "optuna.db"}


def test_an_unreadable_kept_history_is_one_clear_error(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep")
    archive(source, tmp_path / "kept")
    (tmp_path / "kept" / "0_setup=none,train.seed=0" / "eval_history.json").write_text("[1]")
    with pytest.raises(UserError, match=r"^cannot keep .*eval_history.json is not a run's "):
        archive(tmp_path / "kept", tmp_path / "copy")


def test_the_page_reads_an_archive_as_it_reads_the_sweep(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep" / "fc")
    archive(source, tmp_path / "kept" / "fc")
    write(tmp_path / "sweep", tmp_path / "from_sweep" / "results.md")
    write(tmp_path / "kept", tmp_path / "from_archive" / "results.md")
    from_sweep = (tmp_path / "from_sweep" / "results.md").read_text()
    from_archive = (tmp_path / "from_archive" / "results.md").read_text()
    for folder in ("sweep", "kept", "from_sweep", "from_archive"):  # where each was said
        name = "OUT" if folder.startswith("from") else "ROOT"
        from_sweep = from_sweep.replace(str(tmp_path / folder), name)
        from_archive = from_archive.replace(str(tmp_path / folder), name)
    assert from_archive == from_sweep
    assert "Not on this page" not in from_archive
    assert (tmp_path / "from_archive" / "results_pictures" / "fc_curves.png").is_file()


def test_keeping_again_adds_what_finished_since(tmp_path: Path) -> None:
    source = sweep(tmp_path / "sweep")
    archive(source, tmp_path / "kept")
    study_run(source, 15, "none", 3)
    kept, _ = archive(source, tmp_path / "kept")
    assert len(kept) == 16 and (tmp_path / "kept" / "15_setup=none,train.seed=3").is_dir()
    again, _ = archive(tmp_path / "kept", tmp_path / "copy")  # a kept run keeps its history
    assert len(again) == 16
    assert eval_history(tmp_path / "copy" / "15_setup=none,train.seed=3")["fid"][-1] == (
        100, 150.0)


def test_what_is_not_a_sweep_or_would_archive_into_it_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a sweep's directory"):
        archive(tmp_path, tmp_path.parent / "kept")
    source = sweep(tmp_path / "sweep")
    with pytest.raises(UserError, match="inside the sweep"):
        archive(source, source / "kept")


def test_an_archive_of_another_sweep_is_refused(tmp_path: Path) -> None:
    # `docs/runs` where `docs/runs/cnn` was meant: the FC and CNN studies' runs would mix.
    fc, cnn = sweep(tmp_path / "fc"), sweep(tmp_path / "cnn")
    (fc / "multirun.yaml").write_text("hydra: {overrides: {task: [experiment=study_fc]}}\n")
    (cnn / "multirun.yaml").write_text("hydra: {overrides: {task: [experiment=study_cnn]}}\n")
    archive(fc, tmp_path / "runs")
    with pytest.raises(UserError, match="keeps another sweep"):
        archive(cnn, tmp_path / "runs")


def test_the_same_sweep_continued_is_kept_in_its_archive(tmp_path: Path) -> None:
    # `-m resume=DIR` saves the sweep's multirun.yaml again with resume= and any new train.*
    # or eval.* value: still the same sweep, so keeping it again goes on into its archive.
    source = sweep(tmp_path / "cnn")
    (source / "multirun.yaml").write_text(
        "hydra: {overrides: {task: [experiment=study_cnn, train.threads=1]}}\n")
    archive(source, tmp_path / "runs")
    (source / "multirun.yaml").write_text(
        f"hydra: {{overrides: {{task: [experiment=study_cnn, train.threads=1, eval.every=500, "
        f"'resume={source}']}}}}\n")
    kept, _ = archive(source, tmp_path / "runs")
    assert len(kept) == 15


def test_the_command_says_what_it_kept(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = sweep(tmp_path / "sweep")
    main([str(source), str(tmp_path / "kept")])
    assert capsys.readouterr().out.startswith("kept 15 done runs of ")
    with pytest.raises(SystemExit, match="^usage: python -m gan.archive SWEEP_DIR ARCHIVE_DIR$"):
        main([str(source)])
    with pytest.raises(SystemExit, match="^error: .* is not a sweep's directory"):
        main([str(tmp_path), str(tmp_path / "elsewhere")])


@pytest.mark.slow
def test_a_sweep_copied_back_from_its_archive_continues_without_retraining(
        data_root: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "multirun" / "lr"
    first = train("-m", "optimizer.lr=1e-4,2e-4,5e-4", "train.steps=20", "eval.every=0",
                  "train.device=cpu", f"hydra.sweep.dir={sweep_dir}", data_root=data_root,
                  cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    archive(sweep_dir, tmp_path / "kept")
    assert not list((tmp_path / "kept").rglob("checkpoint.pt"))
    shutil.rmtree(sweep_dir)  # a new machine: only the archive is left
    shutil.copytree(tmp_path / "kept", sweep_dir)
    shutil.rmtree(next(sweep_dir.glob("2_*")))  # a job that had not finished when it was kept
    kept_metrics = [p.read_text() for p in sorted(sweep_dir.glob("[01]_*/metrics.json"))]
    again = train("-m", f"resume={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [p.read_text() for p in sorted(sweep_dir.glob("[01]_*/metrics.json"))] == kept_metrics
    assert not list(sweep_dir.glob("[01]_*/checkpoint.pt"))  # the kept jobs did not train
    third = json.loads(next(sweep_dir.glob("2_*/metrics.json")).read_text())
    assert third["status"] == "completed" and third["steps"] == 20
    kept, left = archive(sweep_dir, tmp_path / "kept")  # the continued sweep, kept again
    assert len(kept) == 3 and left == []
