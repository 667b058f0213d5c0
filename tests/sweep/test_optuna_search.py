"""The Optuna search sweeper: its search space in Hydra's grammar, the ask/tell loop with failed
trials (through a stand-in launcher, no training), and searches through train.py."""

import json
import logging
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from gan.cli import compose_message
from gan.errors import ConfigError
from gan.sweep.job import threads_per_job
from gan.sweep.optuna_search import OptunaSearch, check_settings
from gan.sweep.search_space import SearchSpace, distribution, search_space
from gan.sweep.trials import objective_value
from tests.conftest import REPO, compose_config

PARSER = OverridesParser.create()


def space(*overrides: str) -> SearchSpace:
    """The search space of overrides as they would come from params and the command line."""
    return search_space(PARSER.parse_overrides(list(overrides)))


# The search space ---------------------------------------------------------------------------

@pytest.mark.parametrize(("override", "expected"), [
    ("tag(log, interval(1e-5, 1e-3))", FloatDistribution(1e-5, 1e-3, log=True)),
    ("interval(0, 1)", FloatDistribution(0.0, 1.0)),
    ("tag(int, interval(1, 10))", IntDistribution(1, 10)),
    ("tag(log, int, interval(1, 1024))", IntDistribution(1, 1024, log=True)),
    ("range(1, 10, 2)", IntDistribution(1, 9, step=2)),  # stop excluded, as in Python
    ("range(5)", IntDistribution(0, 4)),
    ("range(10, 0, -3)", IntDistribution(1, 10, step=3)),  # 10, 7, 4, 1
    ("range(0.1, 1.0, 0.2)", FloatDistribution(0.1, 0.9, step=0.2)),
    ("range(0.5, 0, -0.1)", FloatDistribution(0.1, 0.5, step=0.1)),
    ("choice(64, 100000)", CategoricalDistribution((64, 100000))),
    ("adam,sgd", CategoricalDistribution(("adam", "sgd"))),
])
@pytest.mark.filterwarnings("error")  # Optuna warns when it moves a range's end: ours are exact
def test_each_sweep_becomes_its_distribution(override: str, expected: Any) -> None:
    found, _ = distribution(PARSER.parse_override(f"key={override}"))
    assert found == expected


def test_the_presets_space_is_both_rates_log_uniform() -> None:
    cfg = compose_config("hparams_search=optuna_lr", hydra=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.gan_lab.optuna_search.OptunaSearch"
    assert (sweeper.direction, sweeper.n_trials, sweeper.n_jobs, sweeper.seed) == (
        "minimize", 20, 1, 0)
    found = space(*(f"{key}={value}" for key, value in sweeper.params.items()))
    assert found.distributions == {name: FloatDistribution(1e-5, 1e-3, log=True)
                                   for name in ("lr.generator", "lr.discriminator")}


def test_plain_overrides_reach_every_trial_and_the_command_line_wins() -> None:
    found = space("lr.generator=tag(log, interval(1e-5, 1e-3))", "lr.discriminator=interval(0, 1)",
                  "hparams_search=optuna_lr", "train.steps=5", "+extra='a b'",
                  "lr.generator=choice(0.01, 1e20)",  # replaces the params entry
                  "lr.discriminator=0.001")  # a plain value fixes a searched key
    assert found.distributions == {"lr.generator": CategoricalDistribution((0.01, 1e20))}
    assert found.fixed == ["lr.discriminator=0.001", "hparams_search=optuna_lr", "train.steps=5",
                           "+extra='a b'"]


def test_a_trials_overrides_parse_back_to_its_values() -> None:
    found = space("a=choice('x y', true, 64)", "b=tag(log, interval(1e-5, 1e-3))",
                  "c=range(1, 10, 2)", "train.steps=5")
    for params in ({"a": "x y", "b": 1.2345e-05, "c": 3}, {"a": True, "b": 1e-3, "c": 9},
                   {"a": 64, "b": 0.000123456789, "c": 1}):
        overrides = found.overrides(params)
        assert overrides[0] == "train.steps=5"
        parsed = {o.key_or_group: o.value() for o in PARSER.parse_overrides(overrides[1:])}
        assert parsed == params


@pytest.mark.parametrize(("override", "message"), [
    ("key=interval(1e-3, 1e-5)", "cannot search key=interval(1e-3, 1e-5): `low <= high`"),
    ("key=tag(log, interval(0, 1))", "cannot search key=tag(log, interval(0, 1)): `low > 0`"),
    ("key=range(3, 3)", "cannot search key=range(3, 3): the range is empty"),
    ("key=range(1, 5, 0)", "cannot search key=range(1, 5, 0): the step is 0"),
])
def test_an_impossible_space_is_refused_naming_the_key(override: str, message: str) -> None:
    with pytest.raises(HydraException) as caught:
        space(override)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("settings", "message"), [
    (("best", 5, 1, 1.0), "hydra.sweeper.direction must be minimize or maximize, got 'best'"),
    (("minimize", 0, 1, 1.0), "hydra.sweeper.n_trials must be a positive integer, got 0"),
    (("minimize", "abc", 1, 1.0), "hydra.sweeper.n_trials must be a positive integer"),
    (("maximize", 5, -1, 1.0), "hydra.sweeper.n_jobs must be a positive integer, got -1"),
    (("maximize", 5, 1, 1.5), "hydra.sweeper.max_failure_rate must be between 0 and 1"),
])
def test_impossible_settings_are_refused(settings: tuple, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        check_settings(*settings)


def test_hydra_finds_the_sweeper_under_hydra_plugins() -> None:
    # Hydra instantiates only plugin classes it registered from the hydra_plugins package.
    found = {f"{c.__module__}.{c.__name__}": c for c in Plugins.instance().discover(Sweeper)}
    plugin = found["hydra_plugins.gan_lab.optuna_search.OptunaSearch"]
    assert isinstance(plugin(direction="maximize").search, OptunaSearch)  # the search, made


def test_jobs_share_the_cores_by_the_sweepers_n_jobs() -> None:
    cfg = compose_config("hparams_search=optuna_lr", "hydra/launcher=joblib",
                         "hydra.sweeper.n_jobs=2", hydra=True)
    launcher, sweeper = (OmegaConf.to_container(node) for node in (cfg.hydra.launcher,
                                                                  cfg.hydra.sweeper))
    assert threads_per_job(launcher, sweeper, cores=4) == 2  # 2 trials at once, not 4 jobs


# What a job returns ---------------------------------------------------------------------------

def job(value: Any, status: JobStatus = JobStatus.COMPLETED) -> JobReturn:
    """A finished job that returned (or, failed, raised) value."""
    result = JobReturn(overrides=[], status=status)
    result.return_value = value
    return result


@pytest.mark.parametrize(("returned", "expected"), [
    (job(1.5), (1.5, "")),
    (job(3), (3.0, "")),
    (job(math.nan), (None, "returned nan (its metrics.json says why)")),
    (job(math.inf), (None, "returned inf (its metrics.json says why)")),
    (job(None), (None, "returned None (a score objective with eval.every=0?)")),
    (job("fid"), (None, "returned 'fid', not a number")),
    (job(RuntimeError("boom"), JobStatus.FAILED), (None, "raised RuntimeError: boom")),
])
def test_only_a_finite_number_completes_a_trial(returned: JobReturn, expected: tuple) -> None:
    assert objective_value(returned) == expected


# The ask/tell loop, with a stand-in launcher --------------------------------------------------

class StandInLauncher(Launcher):
    """Runs no training: each job returns objective(its overrides as a dict), or raises."""

    def __init__(self, objective: Callable[[dict[str, str]], Any]) -> None:
        self.objective = objective
        self.batches: list[tuple[int, int]] = []  # (jobs, initial_job_idx) per launch
        self.jobs: list[tuple[dict[str, str], Any]] = []

    def setup(self, **kwargs: Any) -> None:
        """Nothing to set up."""

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        """Every job of the batch, one after the other."""
        self.batches.append((len(job_overrides), initial_job_idx))
        results = []
        for overrides in job_overrides:
            values = dict(override.split("=", 1) for override in overrides)
            try:
                results.append(job(self.objective(values)))
            except Exception as error:
                results.append(job(error, JobStatus.FAILED))
            self.jobs.append((values, results[-1]._return_value))
        return results


class UncheckedSearch(OptunaSearch):
    """The sweeper without Hydra's composition check (there is no config to compose here)."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Every batch is legal."""


def run_search(tmp_path: Path, objective: Callable[[dict[str, str]], Any],
               *arguments: str, **settings: Any) -> StandInLauncher:
    """Sweep `arguments` with the stand-in launcher into tmp_path; returns the launcher."""
    sweeper = UncheckedSearch(**{"seed": 0, **settings})
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    sweeper.hydra_context = HydraContext(config_loader=None, callbacks=None)
    sweeper.launcher = launcher = StandInLauncher(objective)
    sweeper.sweep(list(arguments))
    return launcher


def diverges_above_half(values: dict[str, str]) -> float:
    """x as the objective, NaN (a failed job) where x > 0.5."""
    x = float(values["x"])
    return math.nan if x > 0.5 else x


def results(sweep_dir: Path) -> dict[str, Any]:
    """optimization_results.yaml."""
    return yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())


def test_failed_trials_are_told_and_the_search_goes_on(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        launcher = run_search(tmp_path, diverges_above_half, "x=interval(0, 1)", n_trials=8)
    assert len(launcher.jobs) == 8
    returned = [value for _, value in launcher.jobs]
    failed = [math.isnan(value) for value in returned]
    assert 0 < sum(failed) < 8  # both kinds, with this seed
    assert caplog.text.count("failed: the job returned nan") == sum(failed)
    best = min(value for value in returned if not math.isnan(value))
    found = results(tmp_path)
    assert found["best_params"] == {"x": best} and found["best_value"] == best
    assert found["best_trial"] == returned.index(best)
    assert f"Best parameters: {{'x': {best}}}" in caplog.text


def test_a_raising_job_is_a_failed_trial_too(tmp_path: Path) -> None:
    def objective(values: dict[str, str]) -> float:
        if float(values["x"]) > 0.5:
            raise RuntimeError("crashed")
        return float(values["x"])

    launcher = run_search(tmp_path, objective, "x=interval(0, 1)", n_trials=6)
    assert len(launcher.jobs) == 6
    assert results(tmp_path)["best_value"] <= 0.5


def test_a_search_with_no_completed_trial_ends_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run_search(tmp_path, lambda values: math.nan, "x=interval(0, 1)", n_trials=3)
    assert caught.value.code == f"error: all 3 trials failed; see {tmp_path / 'summary.md'}"
    assert not (tmp_path / "optimization_results.yaml").exists()


def test_trials_are_launched_n_jobs_at_a_time_and_numbered_as_trials(tmp_path: Path) -> None:
    launcher = run_search(tmp_path, lambda values: float(values["x"]), "x=interval(0, 1)",
                          "train.steps=5", n_trials=5, n_jobs=2)
    assert launcher.batches == [(2, 0), (2, 2), (1, 4)]
    assert all(values["train.steps"] == "5" for values, _ in launcher.jobs)


def test_max_failure_rate_stops_a_failing_search_early(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="error: all 2 trials failed"):
        run_search(tmp_path, lambda values: math.nan, "x=interval(0, 1)", n_trials=10,
                   n_jobs=2, max_failure_rate=0.5)


def test_maximize_keeps_the_highest(tmp_path: Path) -> None:
    launcher = run_search(tmp_path, lambda values: float(values["x"]), "x=interval(0, 1)",
                          n_trials=4, direction="maximize")
    assert results(tmp_path)["best_value"] == max(value for _, value in launcher.jobs)


def test_a_stored_study_goes_on_with_new_trials(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = run_search(tmp_path / "first", lambda values: float(values["x"]),
                       "x=interval(0, 1)", n_trials=3, storage=storage, study_name="s")
    second = run_search(tmp_path / "second", lambda values: float(values["x"]),
                        "x=interval(0, 1)", n_trials=2, storage=storage, study_name="s")
    assert second.batches == [(1, 3), (1, 4)]  # job numbers go on from the stored trials
    assert not {v["x"] for v, _ in first.jobs} & {v["x"] for v, _ in second.jobs}
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 5
    assert results(tmp_path / "second")["best_value"] == study.best_value


def test_a_stored_study_keeps_its_direction(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    run_search(tmp_path / "first", lambda values: float(values["x"]), "x=interval(0, 1)",
               n_trials=1, storage=storage, study_name="s")
    with pytest.raises(HydraException, match="the stored study s in .* is to minimize, not to "
                                             "maximize"):
        run_search(tmp_path / "second", lambda values: float(values["x"]), "x=interval(0, 1)",
                   n_trials=1, storage=storage, study_name="s", direction="maximize")


def test_an_unusable_storage_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(HydraException, match="hydra.sweeper.storage=nonsense, study_name=None: "):
        run_search(tmp_path, lambda values: 0.0, "x=interval(0, 1)", storage="nonsense")


def test_nothing_to_search_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HydraException, match="nothing to search"):
        run_search(tmp_path, lambda values: 0.0, "train.steps=5", n_trials=1)


# Each trial's config checked before the first trial, with the real config --------------------

LR_SPACE = {"lr.generator": "tag(log, interval(1e-5, 1e-3))"}


def composed_search(tmp_path: Path, launcher: StandInLauncher, *arguments: str,
                    **settings: Any) -> None:
    """`python train.py -m ARGUMENTS` with the sweeper's `settings`, as Hydra sets it up (the
    real config and its loader; sweep overrides, the words with a comma, go only to the
    sweeper), into tmp_path, each trial run by the stand-in `launcher`."""
    fixed = [word for word in arguments if "," not in word]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        sweeper = OptunaSearch(**{"seed": 0, "params": LR_SPACE, **settings})
        sweeper.config = compose("config", overrides=[*fixed, f"hydra.sweep.dir={tmp_path}"],
                                 return_hydra_config=True)
        sweeper.hydra_context = HydraContext(
            config_loader=GlobalHydra.instance().config_loader(), callbacks=None)
        sweeper.launcher = launcher
        sweeper.sweep(list(arguments))


NO_SCORE = ("eval.every=0 turns evaluation off; set eval.every > 0, or "
            "eval.objective=final_loss_g or final_loss_d")


@pytest.mark.parametrize(("arguments", "objective"), [
    (("hparams_search=optuna_lr", "eval.every=0", "train.steps=20"), "fid"),  # the issue's
    (("eval.objective=precision", "eval.every=0"), "precision"),
    (("eval.every=0,1000",), "fid"),  # the trials with eval.every=0 would return none
])
def test_a_search_whose_trials_can_return_no_score_is_refused_before_any_trial(
        tmp_path: Path, arguments: tuple[str, ...], objective: str) -> None:
    launcher = StandInLauncher(lambda values: 1.0)
    with pytest.raises(HydraException) as refusal:
        composed_search(tmp_path / "sweep", launcher, *arguments, n_trials=2)
    assert str(refusal.value) == (f"no trial of this search can return its objective: "
                                  f"eval.objective={objective} is a score and {NO_SCORE}")
    assert launcher.jobs == [] and not (tmp_path / "sweep").exists()


def test_a_search_for_a_score_its_dataset_never_measures_is_refused_before_any_trial(
        tmp_path: Path) -> None:
    # optuna_lr's FID (set after experiment=ring8's class_kl) on the 2D ring: every trial would
    # return None. Not typed, so a single run would be kept by the ring's class_kl instead.
    launcher = StandInLauncher(lambda values: 1.0)
    with pytest.raises(HydraException) as refusal:
        composed_search(tmp_path / "sweep", launcher, "hparams_search=optuna_lr",
                        "experiment=ring8", n_trials=2)
    assert str(refusal.value) == (
        "no trial of this search can return its objective: eval.objective=fid is never "
        "measured by a run on dataset ring8, which scores modes_covered, class_kl, "
        "high_quality; choose one of them (or a final loss)")
    assert launcher.jobs == []


@pytest.mark.parametrize(("arguments", "message"), [
    (("eval.objective=loss",), "eval.objective must be one of "),
    (("optimizer.lr=interval(0, 1e-3)",),  # its lowest value cannot train
     "optimizer.lr must be positive and finite, got 0.0 (lr.discriminator follows it unless "
     "set)"),
    (("+discriminator.filters=8",), "discriminator.filters is a setting of discriminator=cnn"),
    # named as the job would name it, not by what the two merged presets leave over
    (("experiment=r3gan", "setup=hinge"), "experiment=r3gan sets the objective as setup=r3gan "
     "does, and setup=hinge sets another"),
])
def test_a_search_whose_trials_would_be_refused_is_refused_before_any_trial(
        tmp_path: Path, arguments: tuple[str, ...], message: str) -> None:
    launcher = StandInLauncher(lambda values: 1.0)
    with pytest.raises(HydraException) as refusal:
        composed_search(tmp_path / "sweep", launcher, *arguments, n_trials=2)
    assert str(refusal.value).startswith(f"a trial of this search cannot run: {message}")
    assert launcher.jobs == [] and not (tmp_path / "sweep").exists()


def test_a_search_of_a_loss_without_evaluation_runs(tmp_path: Path) -> None:
    launcher = StandInLauncher(lambda values: 1.0)
    composed_search(tmp_path, launcher, "eval.every=0", "eval.objective=final_loss_g", n_trials=2)
    assert len(launcher.jobs) == 2


def test_a_key_only_some_searched_options_have_is_refused_before_any_trial(
        tmp_path: Path) -> None:
    launcher = StandInLauncher(lambda values: 1.0)
    # The default fc has hidden_dim, so the sweep's own config composes; dcgan has none.
    with pytest.raises(HydraException) as refusal:
        composed_search(tmp_path / "sweep", launcher, "discriminator=fc,dcgan",
                        "discriminator.hidden_dim=64", "eval.objective=final_loss_g", n_trials=4)
    assert compose_message(refusal.value) == (
        "discriminator.hidden_dim is a setting of discriminator=cnn, fc and maxout, not of "
        "discriminator=dcgan (selected) or unrolled_dcgan")
    assert launcher.jobs == [] and not (tmp_path / "sweep").exists()


# Searches through train.py ----------------------------------------------------------------------

def train_search(*args: str, data_root: Path,
                 tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """`python train.py -m ARGS` on the CPU into tmp_path/sweep; no evaluation."""
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0"}
    result = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "-m", *args, "train.device=cpu",
         f"hydra.sweep.dir={sweep_dir}"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600)
    return sweep_dir, result


def statuses(sweep_dir: Path) -> dict[int, str]:
    """Each job's status by its number (the trial's), from its metrics.json."""
    return {int(path.parent.name.split("_")[0]): json.loads(path.read_text())["status"]
            for path in sweep_dir.glob("*/metrics.json")}


@pytest.mark.slow
def test_the_issues_search_runs_every_failing_trial_and_ends_in_one_line(
        data_root: Path, tmp_path: Path) -> None:
    # The issue's command: train.batch_size=100000 is more than MNIST has, so every trial fails.
    sweep_dir, result = train_search("hparams_search=optuna_lr", "hydra.sweeper.n_trials=2",
                                     "train.batch_size=100000", "train.steps=1",
                                     data_root=data_root, tmp_path=tmp_path)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Values cannot be specified" not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: all 2 trials failed; see {sweep_dir / 'summary.md'}"]
    assert statuses(sweep_dir) == {0: "bad_input", 1: "bad_input"}  # both trials ran
    assert (sweep_dir / "summary.md").is_file()
    assert not (sweep_dir / "optimization_results.yaml").exists()


@pytest.mark.slow
def test_a_search_whose_first_trial_diverges_reports_the_completed_one(
        data_root: Path, tmp_path: Path) -> None:
    # With seed 0, TPE's first three draws are 1e20, 0.01, 1e20: SGD at 1e20 diverges.
    sweep_dir, result = train_search(
        "hydra/sweeper=optuna_search", "hydra.sweeper.n_trials=3", "hydra.sweeper.seed=0",
        "optimizer=sgd", "optimizer.lr=choice(0.01, 1e20)", "train.steps=5",
        "eval.every=0", "eval.objective=final_loss_g", data_root=data_root, tmp_path=tmp_path)
    assert statuses(sweep_dir) == {0: "diverged", 1: "completed", 2: "diverged"}, result.stderr
    best = results(sweep_dir)
    assert best["best_params"] == {"optimizer.lr": 0.01} and best["best_trial"] == 1
    completed = json.loads(next(sweep_dir.glob("1_*/metrics.json")).read_text())
    assert best["best_value"] == pytest.approx(completed["final_loss_g"])
    assert "Best parameters: {'optimizer.lr': 0.01}" in result.stdout + result.stderr
    # The summary callback still says that jobs failed, in one line, and the exit code.
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: 2 of 3 jobs did not complete (diverged); see {sweep_dir / 'summary.md'}"]


@pytest.mark.slow
def test_a_search_keeps_its_study_in_sqlite(data_root: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    sweep_dir, result = train_search(
        "hparams_search=optuna_lr", "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage={storage}",
        "train.steps=1", "eval.every=0", "eval.objective=final_loss_g",
        data_root=data_root, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    study = optuna.load_study(study_name="optuna_lr", storage=storage)
    assert [trial.state.name for trial in study.trials] == ["COMPLETE", "COMPLETE"]
    assert results(sweep_dir)["best_value"] == study.best_value
    assert statuses(sweep_dir) == {0: "completed", 1: "completed"}


def test_an_interrupted_batch_leaves_no_trial_of_a_shared_study_running(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def interrupted(values: dict[str, str]) -> float:
        raise KeyboardInterrupt  # Ctrl-C while the batch runs: it ends the search

    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path, interrupted, "x=interval(0, 1)", n_trials=2, n_jobs=2,
                   storage=storage, study_name="s")
    states = {trial.state for trial in optuna.load_study(study_name="s", storage=storage).trials}
    assert states == {optuna.trial.TrialState.FAIL}


# A search kept in its sweep directory, killed and continued ----------------------------------

def killed_at(call: int) -> Callable[[dict[str, str]], float]:
    """x as the objective, NaN where x > 0.5; the `call`-th job (from 0) is killed."""
    calls = iter(range(10**6))

    def objective(values: dict[str, str]) -> float:
        if next(calls) == call:
            raise KeyboardInterrupt  # what the sweeper sees of a kill: nothing told
        return diverges_above_half(values)
    return objective


def trials(sweep_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Each trial's state and parameters, from the study in the sweep directory."""
    storage = f"sqlite:///{sweep_dir / 'optuna.db'}"
    name, = optuna.get_all_study_names(storage)
    return [(trial.state.name, trial.params)
            for trial in optuna.load_study(study_name=name, storage=storage).trials]


def test_the_study_and_its_sampler_are_kept_in_the_sweep_directory(tmp_path: Path) -> None:
    run_search(tmp_path, lambda values: float(values["x"]), "x=interval(0, 1)", n_trials=3)
    assert [state for state, _ in trials(tmp_path)] == ["COMPLETE"] * 3
    assert (tmp_path / "optuna_sampler.pkl").is_file()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_killed_search_continues_to_n_trials_asking_what_it_would_have(
        tmp_path: Path, n_jobs: int) -> None:
    search = ("x=interval(0, 1)",)
    whole = run_search(tmp_path / "whole", diverges_above_half, *search, n_trials=7,
                       n_jobs=n_jobs)
    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path / "killed", killed_at(2), *search, n_trials=7, n_jobs=n_jobs)
    states = [state for state, _ in trials(tmp_path / "killed")]
    assert states[2] == "RUNNING" and states.count("RUNNING") == n_jobs  # the killed batch
    resumed = run_search(tmp_path / "killed", diverges_above_half, *search,
                         f"resume={tmp_path / 'killed'}", n_trials=7, n_jobs=n_jobs)
    assert resumed.batches[0] == (n_jobs, 2)  # the killed batch again, as the same trials
    assert len(resumed.jobs) == 7 - 2  # told trials are not run again
    assert trials(tmp_path / "killed") == trials(tmp_path / "whole")  # failed ones too
    best = [{key: value for key, value in results(tmp_path / run).items() if key != "name"}
            for run in ("killed", "whole")]  # Optuna names an unnamed study at random
    assert best[0] == best[1]
    assert [values["x"] for values, _ in resumed.jobs] == [
        values["x"] for values, _ in whole.jobs[2:]]


def test_an_unseeded_search_continues_without_repeating_a_trial(tmp_path: Path) -> None:
    """Unseeded, x is drawn afresh each time: the continuation's objective never fails, or in
    about one draw of 16 all its trials would diverge and the search would rightly exit."""
    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path, killed_at(2), "x=interval(0, 1)", n_trials=4, seed=None)
    before = trials(tmp_path)
    run_search(tmp_path, lambda values: float(values["x"]), "x=interval(0, 1)",
               f"resume={tmp_path}", n_trials=4, seed=None)
    after = trials(tmp_path)
    assert len(after) == 4 and "RUNNING" not in {state for state, _ in after}
    assert [params for _, params in after[:3]] == [params for _, params in before]


def test_a_new_search_into_a_directory_with_a_study_is_refused(tmp_path: Path) -> None:
    run_search(tmp_path, lambda values: 0.0, "x=interval(0, 1)", n_trials=1)
    with pytest.raises(HydraException, match=f"{tmp_path} already holds a search's study "
                                             r"\(optuna.db\); continue it with python train.py "
                                             f"-m resume={tmp_path}"):
        run_search(tmp_path, lambda values: 0.0, "x=interval(0, 1)", n_trials=1)


def killed_asking(monkeypatch: pytest.MonkeyPatch, call: int, partial: str | None = None) -> None:
    """Kill the search at its `call`-th ask (from 0), before it asks; with `partial`, after
    that ask has drawn only the parameter `partial` (a kill mid-ask)."""
    original, calls = optuna.Study.ask, iter(range(10**6))

    def ask(study: optuna.Study, fixed_distributions: dict | None = None) -> Any:
        if next(calls) == call:
            if partial is not None:
                original(study, {partial: fixed_distributions[partial]})
            raise KeyboardInterrupt
        return original(study, fixed_distributions)

    monkeypatch.setattr(optuna.Study, "ask", ask)


def test_a_search_killed_while_asking_continues_without_asking_a_trial_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    search = ("x=interval(0, 1)", "y=interval(0, 1)")
    with monkeypatch.context() as patch:
        killed_asking(patch, 4, partial="x")  # batch 2: trial 3 asked whole, 4 cut off mid-ask
        with pytest.raises(KeyboardInterrupt):
            run_search(tmp_path, diverges_above_half, *search, n_trials=7, n_jobs=3)
    assert [state for state, _ in trials(tmp_path)][3:] == ["RUNNING"] * 2
    with caplog.at_level(logging.WARNING):
        resumed = run_search(tmp_path, diverges_above_half, *search, f"resume={tmp_path}",
                             n_trials=7, n_jobs=3)
    assert resumed.batches[0] == (1, 3)  # the one asked whole, as the same trial
    after = trials(tmp_path)
    assert after[4][0] == "FAIL" and set(after[4][1]) == {"x"}  # cut off: failed, never ran
    assert "Trial 4 was cut off while being asked" in caplog.text
    assert "not those the uninterrupted search would have asked" in caplog.text
    drawn = [params["x"] for _, params in after if "y" in params]
    assert len(drawn) == len(set(drawn)) == 6  # no trial asked twice
    assert len(after) == 7 and "RUNNING" not in {state for state, _ in after}


def test_a_search_continued_with_another_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_search(tmp_path, killed_at(1), "x=interval(0, 1)", n_trials=3)
    with pytest.raises(HydraException, match=r"trial 1 of the stored study was asked x from "
                                             r"FloatDistribution\(.*high=1.0.*continue it with "
                                             "the search space it had"):
        run_search(tmp_path, diverges_above_half, "x=interval(0, 2)", f"resume={tmp_path}",
                   n_trials=3)


def test_a_new_search_ignores_a_sampler_left_without_its_study(tmp_path: Path) -> None:
    (tmp_path / "optuna_sampler.pkl").write_bytes(b"not a sampler")
    run_search(tmp_path, lambda values: float(values["x"]), "x=interval(0, 1)", n_trials=2)
    assert [state for state, _ in trials(tmp_path)] == ["COMPLETE"] * 2


@pytest.mark.parametrize("params", [
    {"conditioning.weight": "interval(0, 2)"},  # checked at its lowest value, 0, which AC-GAN
    {"dataset.std": "interval(0, 0.1)"},  # or the ring refuses when built: the trial says why
])
def test_judging_the_objective_builds_nothing_a_searched_value_could_refuse(
        tmp_path: Path, params: dict[str, str]) -> None:
    # The objective check built the dataset and the conditioning from the lowest values: a
    # traceback (ConfigError outside the check's one-line refusals) before any trial.
    launcher = StandInLauncher(lambda values: 1.0)
    base = (("conditioning=acgan",) if "conditioning.weight" in params
            else ("experiment=ring8", "eval.objective=class_kl"))
    composed_search(tmp_path / "sweep", launcher, *base, n_trials=1,
                    params={**LR_SPACE, **params})
    assert len(launcher.jobs) == 1
