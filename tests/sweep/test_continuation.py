"""`python train.py -m resume=SWEEP_DIR`: a killed sweep goes on where it stopped."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from gan.errors import UserError
from gan.run.directory import job_plan, resume_command, stopped
from gan.run.interrupts import Interrupted
from gan.sweep.continuation import continued_argv
from tests.conftest import REPO
from tests.sweep.test_sweeps import summary
from tests.test_train import train

JOBS = ("optimizer.lr=1e-4,2e-4,5e-4", "train.steps=300", "train.checkpoint_every=50",
        "eval.every=0", "train.threads=1", "train.device=cpu")


def killed_during_second_job(sweep_dir: Path, data_root: Path, *extra: str) -> None:
    """Start the three-job sweep and kill -9 it (all its processes) once its second job has
    written a checkpoint."""
    env = {**os.environ, "GAN_DATA_DIR": str(data_root)}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "-m", *JOBS, *extra,
         f"hydra.sweep.dir={sweep_dir}"], cwd=sweep_dir.parent, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(sweep_dir.glob("1_*/checkpoint.pt")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def mtimes(job: Path) -> dict[str, float]:
    """Every file of a job directory and when it was last written."""
    return {str(path.relative_to(job)): path.stat().st_mtime for path in job.rglob("*")
            if path.is_file()}


def finals(sweep_dir: Path) -> list[tuple[float, float]]:
    """Each job's final losses, by job number."""
    return [(m["final_loss_g"], m["final_loss_d"]) for m in
            (json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/metrics.json")))]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [(), ("hydra/launcher=joblib", "hydra.launcher.n_jobs=1"),
                                      ("hydra/launcher=stacked",)],
                         ids=["basic", "joblib", "stacked"])
def test_a_killed_sweep_goes_on_where_it_stopped(launcher: tuple[str, ...], data_root: Path,
                                                 tmp_path: Path) -> None:
    # One at a time, the first job is done when the second is killed; stacked, the three
    # train together and all three are killed after their first checkpoint.
    whole = train("-m", *JOBS, *launcher, f"hydra.sweep.dir={tmp_path / 'whole'}",
                  data_root=data_root, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    sweep_dir = tmp_path / "killed"
    sweep_dir.mkdir()
    killed_during_second_job(sweep_dir, data_root, *launcher)
    first = next(sweep_dir.glob("0_*"))
    before = mtimes(first)
    assert not list(sweep_dir.glob("1_*/metrics.json"))  # killed before it ended
    result = train("-m", f"resume={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming from step" in result.stdout + result.stderr
    if "hydra/launcher=stacked" not in launcher:
        assert {k: v for k, v in mtimes(first).items()
                if not k.startswith(".hydra/resumed")} == before
    assert [row["status"] for row in summary(sweep_dir)] == ["completed"] * 3
    if "hydra/launcher=stacked" not in launcher:
        assert finals(sweep_dir) == finals(tmp_path / "whole")  # bit for bit
    else:  # killed between two runs' checkpoints, the runs go on from different steps: one
        # by one, unstacked, which rounds differently; over 300 steps the final losses of the
        # seed's FC set-up drifted apart by up to 1.5e-4 (relative)
        for mine, theirs in zip(finals(sweep_dir), finals(tmp_path / "whole"), strict=True):
            assert mine == pytest.approx(theirs, rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [(), ("hydra/launcher=submitit_local",)],
                         ids=["basic", "submitit_local"])
def test_a_continued_sweep_may_go_on_for_longer(launcher: tuple[str, ...], data_root: Path,
                                                tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    first = train("-m", *launcher, "optimizer.lr=1e-4,2e-4", "train.steps=20", "eval.every=0",
                  f"hydra.sweep.dir={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = train("-m", f"resume={sweep_dir}", "train.steps=30", data_root=data_root,
                  cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    logs = "".join(path.read_text() for path in sweep_dir.glob("*/train.log"))
    assert logs.count("resuming from step 20 of 30") == 2
    assert len(list(sweep_dir.glob("*_*"))) == 2  # the same two job directories
    assert all(json.loads(p.read_text())["steps"] == 30 for p in sweep_dir.glob("*/metrics.json"))
    assert "Every job: `eval.every=0 train.steps=30`" in (sweep_dir / "summary.md").read_text()
    done = train("-m", f"resume={sweep_dir}", "train.steps=30", data_root=data_root,
                 cwd=tmp_path)  # nothing left to do, and it says so (submitit: in its logs)
    said = done.stdout + done.stderr + "".join(
        path.read_text() for path in sweep_dir.glob(".submitit/*/*_log.out"))
    assert said.count("not run again: this job has ended (completed after 30 steps)") == 2, said


HOLD_THEN_CHECKPOINT = """
import os, shutil, sys, time
from pathlib import Path
from gan.run.job import sole_writer
jobs, saved = [Path(p) for p in sys.argv[1:-1]], Path(sys.argv[-1])
held = [sole_writer(job) for job in jobs]
for lock in held:
    lock.__enter__()
print("held", flush=True)
for job, lock in zip(jobs, held):  # in the order the continued sweep reaches them
    deadline = time.monotonic() + 100
    while (f"waiting for process {os.getpid()}" not in (job / "train.log").read_text()
           and time.monotonic() < deadline):
        time.sleep(0.05)
    shutil.move(saved / job.name, job / "checkpoint.pt")  # the last, written as it ends
    lock.__exit__(None, None, None)
"""


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [(), ("hydra/launcher=stacked",)], ids=["basic", "stacked"])
def test_a_job_waiting_for_its_stopped_writer_goes_on_from_its_last_checkpoint(
        launcher: tuple[str, ...], data_root: Path, tmp_path: Path) -> None:
    # The stopped sweep's worker still writes when the continued sweep reaches the job: what
    # the job does (start, resume, done) is read once the worker has let go, not before.
    sweep_dir, saved = tmp_path / "sweep", tmp_path / "saved"
    first = train("-m", *launcher, "optimizer.lr=1e-4,2e-4", "train.steps=20", "eval.every=0",
                  "train.threads=1", f"hydra.sweep.dir={sweep_dir}", data_root=data_root,
                  cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    jobs = sorted(path for path in sweep_dir.glob("*_*") if path.is_dir())
    saved.mkdir()
    for job in jobs:  # as if each were killed just before its last checkpoint
        (job / "checkpoint.pt").rename(saved / job.name)
        (job / "metrics.json").unlink()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THEN_CHECKPOINT, *map(str, jobs),
                               str(saved)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    again = train("-m", f"resume={sweep_dir}", "train.steps=30", data_root=data_root,
                  cwd=tmp_path)
    assert holder.wait() == 0 and again.returncode == 0, again.stderr
    logs = "".join(path.read_text() for path in sweep_dir.glob("*/train.log"))
    assert logs.count("resuming from step 20 of 30") == 2  # not from step 0 over it
    assert [json.loads((job / "metrics.json").read_text())["steps"] for job in jobs] == [30, 30]


def test_continuing_a_sweep_with_other_jobs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra: []\n    task: ['optimizer.lr=1e-4,2e-4']\n"
        "  sweep:\n    subdir: ${hydra.job.num}\n")
    for change in ("optimizer.lr=1", "train.seed=3", "train.steps=10,20"):
        with pytest.raises(UserError, match=f"{change.split('=')[0]}.*would make its jobs other"):
            continued_argv(["train.py", "-m", f"resume={tmp_path}", change])


def test_the_continued_command_is_the_sweeps_own(tmp_path: Path) -> None:
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra: [hydra/launcher=joblib, hydra.sweep.dir=old]\n"
        "    task: ['optimizer.lr=1e-4,2e-4', train.steps=10]\n"
        "  sweep:\n    subdir: ${hydra.job.num}\n")
    argv = continued_argv(["train.py", "-m", f"resume={tmp_path}", "train.steps=20"])
    assert argv[:4] == ["train.py", "-m", "hydra/launcher=joblib", f"hydra.sweep.dir={tmp_path}"]
    assert argv[5:] == ["optimizer.lr=1e-4,2e-4", "train.steps=20", f"resume={tmp_path}"]
    assert continued_argv(["train.py", "resume=x"]) == ["train.py", "resume=x"]  # one run


def basic_sweep(sweep_dir: Path, task: str, params: str) -> None:
    """A multirun.yaml as the basic sweeper saves it: the command's task overrides (`a=1, b=2`)
    and the preset's `hydra.sweeper.params` (YAML lines, indented six spaces)."""
    (sweep_dir / "multirun.yaml").write_text(
        f"hydra:\n  overrides:\n    hydra: []\n    task: [{task}]\n"
        "  sweep:\n    subdir: ${hydra.job.num}\n"
        "  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        f"    params:\n{params}")


def test_a_continued_sweep_keeps_the_jobs_its_preset_listed_when_it_started(
        tmp_path: Path) -> None:
    # The study's preset listed two set-ups when the sweep started; a third added since must
    # not renumber its jobs (job 1 is seed 0's r1, whose directory `1_...` holds its run).
    basic_sweep(tmp_path, "experiment=study, train.steps=10",
                "      train.seed: 0,1\n      setup: none,r1\n      train.steps: 5\n")
    argv = continued_argv(["train.py", "-m", f"resume={tmp_path}"])
    assert argv[2] == "hydra.sweeper.params=null"  # the preset's list now: not swept
    assert argv[5:] == ["train.seed=0,1", "setup=none,r1", "experiment=study", "train.steps=10",
                        f"resume={tmp_path}"]
    parsed = OverridesParser.create().parse_overrides(argv[5:7])
    assert [list(o.sweep_string_iterator()) for o in parsed] == [["0", "1"], ["none", "r1"]]
    again = continued_argv(["train.py", "-m", f"resume={tmp_path}"])
    assert again.count("hydra.sweeper.params=null") == 1


def test_a_continued_sweep_does_not_sweep_a_key_its_preset_added_since(tmp_path: Path) -> None:
    """The preset, edited since its sweep started, now also sweeps `train.steps`: the continued
    sweep still runs the four jobs it saved, in their order, and nothing more."""
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "config.yaml").write_text("defaults:\n  - _self_\n  - experiment: null\n"
                                      "seed: 0\nsetup: none\nsteps: 1\n")
    (conf / "experiment" / "study.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      seed: 0,1\n"
        "      setup: none,r1\n      steps: 5,10\n")  # steps: added after the sweep started
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    basic_sweep(sweep, "experiment=study", "      seed: 0,1\n      setup: none,r1\n")
    argv = continued_argv(["train.py", "-m", f"resume={sweep}"])
    words = [word for word in argv[2:] if not word.startswith(("hydra.sweep.", "resume="))]
    hydra_words = [word for word in words if word.startswith("hydra.")]
    task = [word for word in words if not word.startswith("hydra.")]
    parser = OverridesParser.create()
    fixed = [word for word in task if not parser.parse_override(word).is_sweep_override()]
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):  # as the sweep would
        cfg = compose("config", overrides=[*hydra_words, *fixed], return_hydra_config=True)
    params = [f"{key}={value}" for key, value in (cfg.hydra.sweeper.params or {}).items()]
    jobs = BasicSweeper.split_arguments(parser.parse_overrides([*params, *task]), None)[0]
    assert [[word for word in job if not word.startswith("experiment=")] for job in jobs] == [
        ["seed=0", "setup=none"], ["seed=0", "setup=r1"],
        ["seed=1", "setup=none"], ["seed=1", "setup=r1"]]


def test_the_printed_continue_command_finds_a_sweep_whose_name_hydra_would_parse(
        tmp_path: Path) -> None:
    sweep_dir = tmp_path / "lr=1e-4,2e-4"  # `hydra.sweep.dir=` as the user named it
    sweep_dir.mkdir()
    (sweep_dir / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra: []\n    task: ['optimizer.lr=1e-4,2e-4']\n"
        "  sweep:\n    subdir: ${hydra.job.num}\n")
    argv = shlex.split(resume_command(sweep_dir, sweep=True))[1:]  # as pasted into a shell
    assert argv[:2] == ["train.py", "-m"]
    continued = continued_argv(argv)
    words = {word.partition("=")[0]: word for word in continued[2:]}
    parser = OverridesParser.create()
    for key in ("hydra.sweep.dir", "resume"):  # as Hydra reads them for the jobs
        assert parser.parse_override(words[key]).value() == str(sweep_dir)


def test_a_stopped_sweep_job_prints_how_to_continue_the_sweep_and_the_job(
        tmp_path: Path) -> None:
    job_dir = tmp_path / "sweep" / "0_optimizer.lr=1e-4"
    said = stopped(Interrupted(12, signal.SIGTERM), job_dir, tmp_path / "sweep")
    assert f"Continue the sweep with:\n  python train.py -m resume={tmp_path / 'sweep'}\n" in said
    assert said.endswith(f"this job alone with:\n  {resume_command(job_dir)}")
    alone = stopped(Interrupted(12, signal.SIGTERM), tmp_path / "run")
    assert alone.endswith(f"Resume with:\n  python train.py resume={tmp_path / 'run'}")


def test_each_job_plans_from_its_directory(tmp_path: Path) -> None:
    assert job_plan(tmp_path, 10) == ("start", None)
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    assert job_plan(tmp_path, 10) == ("resume", None)
    (tmp_path / "metrics.json").write_text('{"status": "completed", "steps": 10, "fid": 3}')
    assert job_plan(tmp_path, 10)[0] == "done"
    assert job_plan(tmp_path, 20) == ("resume", None)  # longer now: it goes on
    (tmp_path / "metrics.json").write_text('{"status": "diverged", "reason": "NaN"}')
    assert job_plan(tmp_path, 20) == ("done", {"status": "diverged", "reason": "NaN"})
    (tmp_path / "metrics.json").write_text('{"status": "interrupted"}')
    assert job_plan(tmp_path, 20) == ("resume", None)


@pytest.mark.slow
def test_a_killed_optuna_search_goes_on_to_its_trials(data_root: Path, tmp_path: Path) -> None:
    search = ("hparams_search=optuna_lr", "hydra.sweeper.n_trials=4", "train.steps=200",
              "train.checkpoint_every=20", "eval.every=200", "eval.n=200", "train.threads=1")
    whole = train("-m", *search, f"hydra.sweep.dir={tmp_path / 'whole'}", data_root=data_root,
                  cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    sweep_dir = tmp_path / "killed"
    env = {**os.environ, "GAN_DATA_DIR": str(data_root)}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "train.py"), "-m", *search, f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(sweep_dir.glob("2_*/checkpoint.pt")) and time.monotonic() < deadline:
        time.sleep(0.02)  # two trials done, the third under way
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    told = {job: mtimes(job) for job in (*sweep_dir.glob("0_*"), *sweep_dir.glob("1_*"))}
    result = train("-m", f"resume={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert told == {job: mtimes(job) for job in told}  # told trials: not run again
    assert len(summary(sweep_dir)) == 4  # exactly n_trials, none repeated
    study = optuna.load_study(study_name="optuna_lr", storage=f"sqlite:///{sweep_dir}/optuna.db")
    assert [trial.state.name for trial in study.trials] == ["COMPLETE"] * 4
    best = [yaml.safe_load((d / "optimization_results.yaml").read_text())
            for d in (sweep_dir, tmp_path / "whole")]
    assert best[0]["best_params"] == best[1]["best_params"]
    assert best[0]["best_value"] == best[1]["best_value"]


def saved_search(sweep_dir: Path, seed: str, storage: str) -> None:
    """A multirun.yaml of an Optuna search with that seed and storage."""
    (sweep_dir / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra: []\n    task: []\n  sweep:\n    subdir: x\n"
        "  sweeper:\n    _target_: hydra_plugins.gan_lab.optuna_search.OptunaSearch\n"
        f"    seed: {seed}\n    storage: {storage}\n")


def test_an_optuna_search_that_kept_its_study_continues_seeded_or_not(tmp_path: Path) -> None:
    saved_search(tmp_path, seed="null", storage="null")
    (tmp_path / "optuna.db").write_bytes(b"")
    assert continued_argv(["train.py", "-m", f"resume={tmp_path}"])[-1] == f"resume={tmp_path}"


def test_an_optuna_search_without_its_study_or_a_seed_is_not_continued(tmp_path: Path) -> None:
    saved_search(tmp_path, seed="null", storage="null")
    with pytest.raises(UserError, match="kept no study .* and had no hydra.sweeper.seed"):
        continued_argv(["train.py", "-m", f"resume={tmp_path}"])


def test_an_optuna_search_in_a_shared_storage_is_not_continued(tmp_path: Path) -> None:
    saved_search(tmp_path, seed="0", storage="sqlite:///study.db")
    with pytest.raises(UserError, match="this one's is in sqlite:///study.db: run the search "
                                        "again with that storage and study_name"):
        continued_argv(["train.py", "-m", f"resume={tmp_path}"])


def steps_lasting(seconds: float, settings: tuple[str, ...], data_root: Path,
                  tmp_path: Path) -> int:
    """How many steps of a run with these settings train for about that long at the speed
    this machine shows now (measured over 500 steps; 4,000 at least)."""
    calibration = tmp_path / "calibration" / "run"
    measured = train("train.steps=500", *settings, f"hydra.run.dir={calibration}",
                     data_root=data_root, cwd=tmp_path)
    assert measured.returncode == 0, measured.stderr
    speed = json.loads((calibration / "metrics.json").read_text())["steps_per_second"]
    return max(4000, round(seconds * speed))


@pytest.mark.slow
def test_a_job_at_its_time_limit_checkpoints_is_requeued_and_resumes(data_root: Path,
                                                                     tmp_path: Path) -> None:
    # submitit's local executor warns 30 s before a 1-minute limit. The job trains for about
    # 75 s at the speed this machine shows now (a fixed step count finished before the warning
    # on an idle machine), so the warning comes before its end; it ends in as many parts as it
    # takes.
    settings = ("train.checkpoint_every=1000000", "eval.every=0", "train.threads=1")
    run = (f"train.steps={steps_lasting(75, settings, data_root, tmp_path)}", *settings)
    sweep_dir = tmp_path / "sweep"
    result = train("-m", "hydra/launcher=local", "hydra.launcher.timeout_min=1",
                   "hydra.launcher.max_num_timeout=10", *run,
                   f"hydra.sweep.dir={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = next(sweep_dir.glob("0_*/train.log")).read_text()
    assert "interrupted by SIGUSR2 after" in log and "resuming from step" in log
    single = train(*run, f"hydra.run.dir={tmp_path / 'single'}", data_root=data_root,
                   cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    assert finals(sweep_dir) == finals(tmp_path)  # the whole run's, bit for bit
