"""Where an Optuna search keeps its study, so that `-m resume=SWEEP_DIR` can continue it.

By default (`hydra.sweeper.storage: null`) the study lives in the sweep directory, in SQLite
(`optuna.db`, through the installed SQLAlchemy), beside the sampler as it was after its last ask
(`optuna_sampler.pkl`): continued with that sampler, the search asks what the uninterrupted one
would have asked next (Optuna's documented way to resume a seeded study: pickle its sampler).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from hydra.errors import HydraException

from gan.run.directory import STUDY_FILE

if TYPE_CHECKING:  # Optuna is imported only where a search runs
    from types import ModuleType

    from optuna.samplers import BaseSampler

SAMPLER_FILE = "optuna_sampler.pkl"


def import_optuna() -> ModuleType:
    """Optuna, imported now (a search runs), its log lines going to Hydra's log as ours do.
    Raises HydraException naming the extra to install when it is missing."""
    try:
        import optuna
    except ImportError:
        raise HydraException("hydra/sweeper=optuna_search needs Optuna: "
                             "pip install -e '.[optuna]'") from None
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    return optuna


def sweep_storage(sweep_dir: Path) -> str:
    """The SQLAlchemy URL of the study file in `sweep_dir` (absolute: four slashes)."""
    return f"sqlite:///{(sweep_dir / STUDY_FILE).resolve()}"


def has_study(sweep_dir: Path) -> bool:
    """Whether a search already stored its study in `sweep_dir`."""
    return (sweep_dir / STUDY_FILE).is_file()


def save_sampler(sampler: BaseSampler, asked: int, sweep_dir: Path) -> None:
    """Pickle the sampler (its random state included) and the number of trials it has asked
    into `sweep_dir`, atomically: a kill mid-write leaves the previous one whole."""
    path = sweep_dir / SAMPLER_FILE
    part = path.with_name(path.name + ".part")
    with part.open("wb") as file:
        pickle.dump((sampler, asked), file)
        file.flush()
        os.fsync(file.fileno())
    part.replace(path)


def load_sampler(sweep_dir: Path) -> tuple[BaseSampler, int] | None:
    """The sampler `save_sampler` left in `sweep_dir` and the trials it had asked (written by
    this sweep's own search, so unpickling it is as trusted as the sweep directory), or None
    if there is none."""
    path = sweep_dir / SAMPLER_FILE
    if not path.is_file():
        return None
    with path.open("rb") as file:
        return pickle.load(file)  # noqa: S301 - our own file, see above
