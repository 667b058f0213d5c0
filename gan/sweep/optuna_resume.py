"""Continuing an Optuna search kept in its sweep directory (`python train.py -m
resume=SWEEP_DIR`): the trials a kill left running are launched again as the same trials.

The sampler is saved after each batch's asks, with the number of trials asked then. A kill
during a batch's jobs leaves that batch's trials running, all asked before the save: the
continued search launches them and goes on from the saved sampler, asking what the
uninterrupted search would have asked. A kill while a batch was being asked (rare: the asks
take milliseconds to a second) leaves trials asked after the save, which the saved sampler
cannot account for: those asked whole are launched, one cut off mid-ask is told failed (it
never ran), and a seeded sampler is reseeded past every stored trial, so no trial is asked
twice, though the later ones are no longer the uninterrupted search's (the log says so).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hydra.errors import HydraException

from gan.sweep.optuna_store import import_optuna
from gan.sweep.search_space import SearchSpace

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

log = logging.getLogger(__name__)
Pending = list[tuple[int, dict[str, Any]]]  # (trial number, its parameters)


def running_trials(study: Study, space: SearchSpace, asked: int, seed: int | None) -> Pending:
    """The trials a kill left running, to launch again, by number; [] when none. `asked`: the
    trials asked when the sampler was saved. Raises HydraException (one line) when they were
    asked from another search space."""
    from optuna.trial import TrialState

    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    _check_space(running, space)
    whole = [trial for trial in running if set(trial.params) == set(space.distributions)]
    for trial in running:
        if trial not in whole:
            study.tell(trial.number, state=TrialState.FAIL)
            log.warning(f"Trial {trial.number} was cut off while being asked; told as failed "
                        "(it never ran)")
    if any(trial.number >= asked for trial in running):
        log.warning("The search was killed while asking for trials: the trials after them "
                    "are new draws, not those the uninterrupted search would have asked")
        if seed is not None:
            study.sampler = import_optuna().samplers.TPESampler(seed=seed + len(study.trials))
    return [(trial.number, trial.params) for trial in whole]


def _check_space(trials: list[FrozenTrial], space: SearchSpace) -> None:
    """Each running trial's distributions must be the search space's (a preset edited since
    would launch them with values the space no longer holds)."""
    for trial in trials:
        for name, distribution in trial.distributions.items():
            if space.distributions.get(name) != distribution:
                raise HydraException(
                    f"trial {trial.number} of the stored study was asked {name} from "
                    f"{distribution}, and the search space now gives "
                    f"{space.distributions.get(name)}: continue it with the search space it had")
