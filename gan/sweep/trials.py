"""A search's trials as jobs: checked before any of them runs, and what each returned.

Hydra imports the Optuna sweeper, and so this module, at every start-up: what imports torch is
imported where it is used.
"""

import math
from collections.abc import Sequence

from hydra.core.config_loader import ConfigLoader
from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from gan.errors import ConfigError


def check_trials(loader: ConfigLoader, config: DictConfig, batch: Sequence[Sequence[str]]) -> None:
    """Compose each job of the batch from the sweep's config, as Hydra's own check does (a key
    that only some options of a searched group have fails here), then check it as the job will
    (`check_choices`, `check_config`) and that it can return its objective
    (`unreachable_objective`): a search whose trials would be refused, or would return no
    value, is refused in one line instead of running them all. Raises HydraException."""
    from gan.run.build import unmeasured_objective  # imports torch: not at Hydra's start-up
    from gan.run.config import check_choices, check_config

    for overrides in batch:
        cfg = loader.load_sweep_config(config, list(overrides))
        choices = cfg.hydra.runtime.choices
        with open_dict(cfg):
            del cfg.hydra  # the job's own settings, as the job checks them
        try:
            check_choices(choices)  # contradicting presets, before what they leave (as a job)
            check_config(cfg)
        except ConfigError as error:
            raise HydraException(f"a trial of this search cannot run: {error}") from None
        # A search needs a value from every trial: an objective its dataset never measures
        # (optuna_lr's fid on ring8) is refused, typed or not.
        reason = OmegaConf.to_object(cfg.eval).unreachable_objective() or unmeasured_objective(cfg)
        if reason is not None:
            raise HydraException(f"no trial of this search can return its objective: {reason}")


def objective_value(job: JobReturn) -> tuple[float | None, str]:
    """What a job returned as a trial's value, or None and why the trial failed (the job's
    metrics.json and the sweep summary say more)."""
    try:
        value = job.return_value  # re-raises what the job raised
    except Exception as error:
        return None, f"raised {type(error).__name__}: {error}"
    if value is None:
        return None, "returned None (a score objective with eval.every=0?)"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"returned {value!r}, not a number"
    if not math.isfinite(number):
        return None, f"returned {number} (its metrics.json says why)"
    return number, ""
