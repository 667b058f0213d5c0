"""An Optuna search as a Hydra sweeper: each trial is one job of the configured launcher.

The search space is written in Hydra's override grammar, in `hydra.sweeper.params` or on the
command line (`lr.generator='tag(log, interval(1e-5, 1e-3))'`); every other override is passed
to each trial unchanged. Trials are asked for in batches of `n_jobs`, launched together, and
told back: a job that returns NaN, inf or None, or raises, is a failed trial, and the search
goes on. At the end the best completed trial is logged and saved as `optimization_results.yaml`
in the sweep directory; a search with no completed trial exits with one `error:` line.

The study is kept in the sweep directory (`gan.sweep.optuna_store`) unless `storage` names
another: `python train.py -m resume=SWEEP_DIR` then continues the search to `n_trials` in all,
finishing the trials it was running (their jobs resume from their checkpoints) and asking the
rest from the sampler as it was, so a seeded search asks what it would have asked uninterrupted.

Hydra imports this module at every start-up (through `hydra_plugins.gan_lab`), with or without
the `optuna` extra installed, so Optuna is imported only when a search runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from gan.errors import ConfigError, first_line
from gan.sweep.optuna_resume import Pending, running_trials
from gan.sweep.optuna_store import (
    STUDY_FILE,
    has_study,
    import_optuna,
    load_sampler,
    save_sampler,
    sweep_storage,
)
from gan.sweep.search_space import SearchSpace, search_space
from gan.sweep.trials import check_trials, objective_value

if TYPE_CHECKING:  # Optuna's types only; the package is imported where it is used
    from optuna import Study

log = logging.getLogger(__name__)
RESULTS_NAME = "optimization_results.yaml"
DIRECTIONS = ("minimize", "maximize")


def check_settings(direction: str, n_trials: Any, n_jobs: Any, max_failure_rate: Any) -> None:
    """Refuse settings a search cannot run with, naming the key, before any trial starts."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"hydra.sweeper.direction must be minimize or maximize, "
                          f"got {direction!r}")
    for key, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"hydra.sweeper.{key} must be a positive integer, got {value!r}")
    if (isinstance(max_failure_rate, bool) or not isinstance(max_failure_rate, int | float)
            or not 0 <= max_failure_rate <= 1):
        raise ConfigError(f"hydra.sweeper.max_failure_rate must be between 0 and 1, "
                          f"got {max_failure_rate!r}")


class OptunaSearch(Sweeper):
    """Hydra sweeper: Optuna's TPE sampler asks for trials, the launcher runs them as jobs,
    and each job's return value (`eval.objective`) is told back; a failed job is a failed
    trial. Configured in conf/hydra/sweeper/optuna_search.yaml."""

    def __init__(self, direction: str = "minimize", study_name: str | None = None,
                 storage: str | None = None, n_trials: int = 20, n_jobs: int = 1,
                 seed: int | None = None, max_failure_rate: float = 1.0,
                 params: Mapping[str, str] | None = None) -> None:
        """Keep the settings (their meaning is in the YAML file); refuse impossible ones."""
        super().__init__()
        check_settings(direction, n_trials, n_jobs, max_failure_rate)
        self.direction, self.study_name, self.storage = direction, study_name, storage
        self.n_trials, self.n_jobs, self.seed = n_trials, n_jobs, seed
        self.max_failure_rate = max_failure_rate
        self.params = dict(params or {})
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.asked = 0  # trials the saved sampler had asked (a continued search's)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        """Build the configured launcher, as Hydra's basic sweeper does."""
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        """Run `n_trials` trials, `n_jobs` at a time; then report the best completed one.
        Continued (`resume=` among the arguments), a search stored in its sweep directory
        first finishes the trials it was running, then asks for the rest. Raises SystemExit
        with one `error:` line when none completed."""
        assert self.config is not None
        space = self._search_space(arguments)
        self.validate_batch_is_legal(space.each_choice())  # refused now, not after trials ran
        sweep_dir = Path(self.config.hydra.sweep.dir)
        continuing = any(word.startswith("resume=") for word in arguments)
        study = self._study(sweep_dir, continuing)  # before multirun.yaml: it may refuse
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns: list[Sequence[JobReturn]] = []
        for trials in self._unfinished(study, space):  # the killed batch's
            returns.append(self._launch(study, space, trials)[0])
        ran, failed = self._counted(study)
        while ran < self.n_trials and not self._too_many_failures(ran, failed):
            size = min(self.n_jobs, self.n_trials - ran)
            jobs, batch_failed = self._run_batch(study, space, size, sweep_dir)
            returns.append(jobs)
            ran, failed = ran + len(jobs), failed + batch_failed
        self._report(study, sweep_dir, ran, failed)
        return returns

    def _search_space(self, arguments: list[str]) -> SearchSpace:
        """`hydra.sweeper.params`, then the command line's overrides, as one search space."""
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        space = search_space(parser.parse_overrides([*params, *arguments]))
        if not space.distributions:
            raise HydraException("nothing to search: give hydra.sweeper.params or an override "
                                 "such as 'optimizer.lr=tag(log, interval(1e-5, 1e-3))'")
        return space

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Each job of the batch composes, passes the run's checks and can return its
        objective (`gan.sweep.trials.check_trials`), or the search is refused in one line."""
        assert self.hydra_context is not None and self.config is not None
        check_trials(self.hydra_context.config_loader, self.config, batch)

    def _too_many_failures(self, ran: int, failed: int) -> bool:
        """Whether more than `max_failure_rate` of the trials so far failed (1.0: never), which
        stops the search early: a search whose every trial fails for the same mistake need
        not run them all."""
        if not ran or failed / ran <= self.max_failure_rate:
            return False
        log.error(f"Stopping the search: {failed} of {ran} trials failed, more than "
                  f"max_failure_rate={self.max_failure_rate}")
        return True

    def _study(self, sweep_dir: Path, continuing: bool) -> Study:
        """The search's study: in the sweep directory (storage null; continued only with
        resume=, with the sampler as it was), or in the configured storage, where a study of
        that name goes on with new trials. Sampled by TPE with the configured seed."""
        optuna = import_optuna()
        stored = has_study(sweep_dir)
        if self.storage is None and stored and not continuing:
            raise HydraException(f"{sweep_dir} already holds a search's study ({STUDY_FILE}); "
                                 f"continue it with python train.py -m resume={sweep_dir}, or "
                                 "give another hydra.sweep.dir")
        sweep_dir.mkdir(parents=True, exist_ok=True)
        storage = self.storage or sweep_storage(sweep_dir)
        saved = load_sampler(sweep_dir) if self.storage is None and stored else None
        sampler, self.asked = saved or (None, 0)
        try:
            study = optuna.create_study(
                study_name=self._study_name(storage, stored), storage=storage,
                direction=self.direction, load_if_exists=True,
                sampler=sampler or optuna.samplers.TPESampler(seed=self.seed))
        except Exception as error:  # a storage URL SQLAlchemy cannot open, another direction
            raise HydraException(f"hydra.sweeper.storage={self.storage}, study_name="
                                 f"{self.study_name}: {first_line(error)}") from None
        if study.direction.name.lower() != self.direction:  # Optuna keeps the stored one
            raise HydraException(f"the stored study {study.study_name} in {storage} is to "
                                 f"{study.direction.name.lower()}, not to {self.direction}")
        if self.storage is not None and self.seed is not None and study.trials:  # a shared
            # study goes on: new trials, not the first ones again (TPE's first trials are
            # random draws from the seed)
            study.sampler = optuna.samplers.TPESampler(seed=self.seed + len(study.trials))
        return study

    def _study_name(self, storage: str, stored: bool) -> str | None:
        """The configured name; for a continued study in the sweep directory without one, the
        name Optuna gave it."""
        if self.study_name is not None or self.storage is not None or not stored:
            return self.study_name
        names = import_optuna().get_all_study_names(storage)
        return names[0] if len(names) == 1 else None

    def _unfinished(self, study: Study, space: SearchSpace) -> list[Pending]:
        """The trials a kill left running (`gan.sweep.optuna_resume`), in runs of consecutive
        numbers (each launched as one batch of jobs numbered as its trials); none for a shared
        study, whose running trials may be another search's."""
        if self.storage is not None:
            return []
        pending = running_trials(study, space, self.asked, self.seed)
        runs: list[Pending] = []
        for number, params in sorted(pending, key=lambda trial: trial[0]):
            if runs and runs[-1][-1][0] == number - 1:
                runs[-1].append((number, params))
            else:
                runs.append([(number, params)])
        return runs

    def _counted(self, study: Study) -> tuple[int, int]:
        """Trials this search has finished, and how many of them failed: in the sweep
        directory's study every trial is this search's; a shared study's earlier ones are
        other searches'."""
        if self.storage is not None:
            return 0, 0
        from optuna.trial import TrialState

        finished = study.get_trials(deepcopy=False,
                                    states=(TrialState.COMPLETE, TrialState.FAIL))
        return len(finished), sum(trial.state == TrialState.FAIL for trial in finished)

    def _run_batch(self, study: Study, space: SearchSpace, size: int,
                   sweep_dir: Path) -> tuple[Sequence[JobReturn], int]:
        """Ask for `size` trials, keep the sampler as it now is (a study in the sweep directory
        continues from it), and launch them (`_launch`)."""
        asked = [study.ask(space.distributions) for _ in range(size)]
        if self.storage is None:
            save_sampler(study.sampler, len(study.trials), sweep_dir)
        return self._launch(study, space, [(trial.number, trial.params) for trial in asked])

    def _launch(self, study: Study, space: SearchSpace,
                trials: Pending) -> tuple[Sequence[JobReturn], int]:
        """Launch trials of consecutive numbers as one batch of jobs, and tell each outcome.
        Returns the jobs and how many of their trials failed. A refused batch's trials fail;
        an interrupted batch's stay running in the sweep directory's study (resume= finishes
        them) and fail in a shared one (no other search would)."""
        assert self.launcher is not None
        batch = [space.overrides(params) for _, params in trials]
        try:
            self.validate_batch_is_legal(batch)  # a mistyped key fails here, before training
            # Job numbers follow trial numbers, so job N's directory is trial N of the study.
            jobs = self.launcher.launch(batch, initial_job_idx=trials[0][0])
        except HydraException:
            self._fail(study, trials)
            raise
        except BaseException:
            if self.storage is not None:
                self._fail(study, trials)
            raise
        completed = [self._tell(study, trial, job) for trial, job in zip(trials, jobs, strict=True)]
        return jobs, completed.count(False)

    @staticmethod
    def _fail(study: Study, trials: Pending) -> None:
        """Tell each trial that it failed."""
        from optuna.trial import TrialState

        for number, _ in trials:
            study.tell(number, state=TrialState.FAIL)

    @staticmethod
    def _tell(study: Study, trial: tuple[int, dict[str, Any]], job: JobReturn) -> bool:
        """Tell Optuna a job's value, or that its trial failed; log either. True if completed."""
        from optuna.trial import TrialState

        (number, params), (value, why) = trial, objective_value(job)
        if value is None:
            study.tell(number, state=TrialState.FAIL)
            log.warning(f"Trial {number} failed: the job {why}; the search goes on")
            return False
        study.tell(number, value)
        log.info(f"Trial {number}: {value:.6g} with {params}")
        return True

    def _report(self, study: Study, sweep_dir: Path, ran: int, failed: int) -> None:
        """Log the best completed trial and save it in optimization_results.yaml; exit with one
        `error:` line if no trial of the study ever completed."""
        from optuna.trial import TrialState

        if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            raise SystemExit(f"error: all {ran} trials failed; see {sweep_dir / 'summary.md'}")
        best = study.best_trial  # of the whole study: a stored one may hold earlier trials
        log.info(f"{ran - failed} of {ran} trials completed; the best is trial {best.number}")
        log.info(f"Best parameters: {best.params}")
        log.info(f"Best value: {best.value}")
        results = {"name": study.study_name, "best_trial": best.number,
                   "best_params": best.params, "best_value": best.value}
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_NAME)
        log.info(f"Saved in {sweep_dir / RESULTS_NAME}")
