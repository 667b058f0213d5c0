"""`hydra/launcher=stacked`: a sweep's jobs trained together as stacks, each still a run."""

import json
import re
from pathlib import Path

import pytest

from tests.conftest import compose_config
from tests.sweep.test_sweeps import job_metrics, summary, sweep
from tests.test_train import train

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("data_root")]
# 20 steps of stacked and single runs agree to float rounding (measured: ~1e-7 relative).
CLOSE = {"rel": 1e-4}


def stacked_sweep(*args: str, data_root: Path, tmp_path: Path) -> tuple[Path, str]:
    """A stacked sweep that completed; its directory and its console."""
    sweep_dir, result = sweep("hydra/launcher=stacked", *args, data_root=data_root,
                              tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return sweep_dir, result.stdout + result.stderr


@pytest.fixture(scope="module")
def lr_sweep(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> tuple[Path, str]:
    """Two learning rates by two seeds: one stack of four."""
    return stacked_sweep("optimizer.lr=1e-4,5e-4", "train.seed=0,1", data_root=data_root,
                         tmp_path=tmp_path_factory.mktemp("stacked"))


def test_jobs_that_differ_in_seed_and_rate_train_as_one_stack(lr_sweep: tuple[Path, str]
                                                             ) -> None:
    sweep_dir, console = lr_sweep
    assert "Launching 4 jobs in 1 stacks of 4" in console
    assert [row["status"] for row in summary(sweep_dir)] == ["completed"] * 4
    for job in sorted(path for path in sweep_dir.iterdir() if path.is_dir()):
        for name in ("metrics.json", "checkpoint.pt", "config.yaml", "train.log",
                     ".hydra/overrides.yaml", "samples/step_000000.png", "samples/final"):
            assert (job / name).exists(), f"{job.name} has no {name}"
        assert any(job.glob("events.out.tfevents.*"))
        assert "Epoch:0 Generator Loss:" in (job / "train.log").read_text()


def test_each_stacked_job_ends_where_its_single_run_ends(lr_sweep: tuple[Path, str],
                                                         data_root: Path, tmp_path: Path
                                                         ) -> None:
    single_dir, result = sweep("optimizer.lr=1e-4,5e-4", "train.seed=0,1", data_root=data_root,
                               tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for stacked, single in zip(job_metrics(lr_sweep[0]), job_metrics(single_dir), strict=True):
        for key in ("final_loss_g", "final_loss_d", "fid", "class_kl"):
            assert stacked[key] == pytest.approx(single[key], **CLOSE), key
        assert stacked["stacked_runs"] == 4


def test_a_stacked_job_resumes_as_a_single_run(lr_sweep: tuple[Path, str], data_root: Path,
                                               tmp_path: Path) -> None:
    job = next(path for path in sorted(lr_sweep[0].iterdir()) if path.name.startswith("3_"))
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    for path in job.rglob("*"):  # a copy, so the module's sweep stays as it was
        if path.is_file():
            (resumed / path.relative_to(job)).parent.mkdir(parents=True, exist_ok=True)
            (resumed / path.relative_to(job)).write_bytes(path.read_bytes())
    result = train(f"resume={resumed}", "train.steps=30", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    longer = train("optimizer.lr=5e-4", "train.seed=1", "train.steps=30", "eval.every=20",
                   "eval.n=200", "train.log_every=5", f"hydra.run.dir={tmp_path / 'single'}",
                   data_root=data_root, cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    mine, theirs = (json.loads((d / "metrics.json").read_text())
                    for d in (resumed, tmp_path / "single"))
    assert mine["final_loss_g"] == pytest.approx(theirs["final_loss_g"], **CLOSE)
    assert mine["steps"] == 30


def test_jobs_with_other_settings_form_their_own_stacks(data_root: Path, tmp_path: Path) -> None:
    # Two set-ups (batch sizes) by three seeds, at most two to a stack; 2 steps, no scoring:
    # the grouping is the claim (which configs share a stack: tests/run/test_stacked.py).
    _, console = stacked_sweep("train.batch_size=8,16", "train.seed=0,1,2",
                               "hydra.launcher.max_stack=2", "train.steps=2", "eval.every=0",
                               "eval.objective=final_loss_g", data_root=data_root,
                               tmp_path=tmp_path)
    assert "Launching 6 jobs in 4 stacks of 2, 1, 2, 1" in console


def test_a_set_up_that_cannot_stack_runs_job_by_job(data_root: Path, tmp_path: Path) -> None:
    sweep_dir, console = stacked_sweep("remedy=[spectral_norm]", "train.seed=0,1",
                                       data_root=data_root, tmp_path=tmp_path)
    assert re.search(r"these 2 jobs run one by one: .*power iteration", console), console
    assert [row["status"] for row in summary(sweep_dir)] == ["completed"] * 2
    assert all("stacked_runs" not in metrics for metrics in job_metrics(sweep_dir))


def test_a_run_that_diverges_in_a_stack_leaves_the_others_to_finish(data_root: Path,
                                                                    tmp_path: Path) -> None:
    sweep_dir, result = sweep("hydra/launcher=stacked", "optimizer=sgd",
                              "optimizer.lr=0.01,1e20", data_root=data_root, tmp_path=tmp_path)
    assert "1 of 2 jobs did not complete (diverged)" in result.stderr, result.stderr
    rows = {row["overrides"].split()[-1]: row for row in summary(sweep_dir)}
    assert rows["optimizer.lr=1e+20"]["status"] == "diverged"
    assert rows["optimizer.lr=0.01"]["status"] == "completed"
    single = train("optimizer=sgd", "optimizer.lr=0.01", "train.steps=20", "eval.every=0",
                   f"hydra.run.dir={tmp_path / 'single'}", data_root=data_root, cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    expected = json.loads((tmp_path / "single" / "metrics.json").read_text())
    completed = json.loads((sweep_dir / rows["optimizer.lr=0.01"]["directory"]
                            / "metrics.json").read_text())
    assert completed["final_loss_d"] == pytest.approx(expected["final_loss_d"], **CLOSE)


def test_a_job_refused_as_it_enrols_leaves_the_others_of_its_stack_to_train(
        data_root: Path, tmp_path: Path) -> None:
    # Refused before the stack trains (here its settings; a directory another process holds
    # takes the same path): its trial fails, the sweep goes on, the other job trains.
    sweep_dir, result = sweep("hydra/launcher=stacked", "optimizer.lr=2e-4,-1",
                              "train.seed=0,1", data_root=data_root, tmp_path=tmp_path)
    assert "2 of 4 jobs did not complete (bad_input)" in result.stderr, result.stderr
    assert "Error executing job" not in result.stderr
    rows = {tuple(row["overrides"].split()[-2:]): row["status"] for row in summary(sweep_dir)}
    assert sorted(rows.values()) == ["bad_input", "bad_input", "completed", "completed"], rows


def test_a_refused_job_beside_jobs_that_cannot_stack_leaves_them_to_train(
        data_root: Path, tmp_path: Path) -> None:
    # Spectral norm cannot stack: the jobs that enrolled run one by one. The refused one was
    # rerun with them, found its own bad_input metrics.json, and stopped the whole sweep.
    sweep_dir, result = sweep("hydra/launcher=stacked", "remedy=[spectral_norm]",
                              "optimizer.lr=2e-4,-1", data_root=data_root, tmp_path=tmp_path)
    assert "already holds a run" not in result.stderr, result.stderr
    assert "1 of 2 jobs did not complete (bad_input)" in result.stderr, result.stderr
    rows = {row["overrides"].split()[-1]: row["status"] for row in summary(sweep_dir)}
    assert rows == {"optimizer.lr=0.0002": "completed", "optimizer.lr=-1": "bad_input"}, rows


def test_an_optuna_search_trains_each_batch_of_trials_stacked(data_root: Path,
                                                              tmp_path: Path) -> None:
    sweep_dir, console = stacked_sweep("hparams_search=optuna_lr", "hydra.sweeper.n_trials=4",
                                       "hydra.sweeper.n_jobs=2", data_root=data_root,
                                       tmp_path=tmp_path)
    assert console.count("jobs in 1 stacks of 2") == 2
    assert [row["status"] for row in summary(sweep_dir)] == ["completed"] * 4


def test_the_launcher_preset_composes() -> None:
    cfg = compose_config("hydra/launcher=stacked", hydra=True)
    assert cfg.hydra.launcher.max_stack == 16
    assert cfg.hydra.launcher._target_.endswith("StackedLauncher")
