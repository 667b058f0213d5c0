"""Continuing a sweep: `python train.py -m resume=SWEEP_DIR` runs the sweep saved in SWEEP_DIR
again, into the same directory, with the same jobs in the same order; each job then goes on
from where it stopped (`job_plan`): done jobs are not trained again, stopped ones continue from
their checkpoints, the rest start.
"""

import shlex
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from gan.errors import UserError, first_line
from gan.run.config import absolute
from gan.run.directory import MULTIRUN_FILE, hydra_quoted, is_sweep, resume_command
from gan.run.saved import RESUME_FIXED, RESUME_FREE
from gan.sweep.optuna_store import STUDY_FILE, has_study

MULTIRUN_FLAGS = ("-m", "--multirun")
PARAMS_DROPPED = "hydra.sweeper.params=null"  # a preset's sweeper params as they are now


def continued_argv(argv: list[str]) -> list[str]:
    """train.py's arguments with `-m resume=SWEEP_DIR` replaced by the sweep's own command:
    its saved Hydra and task overrides, its directory, this command's changes of when to stop
    and what to report, and `resume=SWEEP_DIR` for each job to see. Any other argv is returned
    as it is. Raises UserError (one line) for a change that would make its jobs other jobs."""
    if not any(flag in argv for flag in MULTIRUN_FLAGS):
        return argv
    resume = next((word for word in argv[1:] if word.startswith("resume=")), None)
    if resume is None:
        _refuse_used_sweep_dir(argv)
        return argv
    sweep_dir = absolute(_value(resume))
    if not is_sweep(sweep_dir):
        _refuse_run(sweep_dir, argv, resume)
    saved_hydra = yaml.safe_load((sweep_dir / MULTIRUN_FILE).read_text())["hydra"]  # as written
    _check_search(saved_hydra.get("sweeper") or {}, sweep_dir)
    changes = [word for word in argv[1:] if word not in (*MULTIRUN_FLAGS, resume)]
    keys = _changed_keys(changes, sweep_dir)
    task = [word for word in saved_hydra["overrides"]["task"]
            if _key(word) not in keys and _key(word) != "resume"]
    sweeper = saved_hydra.get("sweeper") or {}
    task = [*_saved_params(sweeper, task), *task]
    # Only the saved params are swept: a key an edited preset added since would renumber jobs.
    dropped = [PARAMS_DROPPED] if _is_basic(sweeper) else []
    hydra = [word for word in saved_hydra["overrides"]["hydra"] if not word.startswith(
        ("hydra.sweep.dir=", "hydra.sweep.subdir=", "hydra.mode=",
         "hydra.job.config.override_dirname.exclude_keys=")) and word not in dropped]
    hydra = [*dropped, *hydra]
    subdir = saved_hydra["sweep"]["subdir"]  # a continued sweep's already finds each job's
    if not subdir.startswith("${continued_subdir:"):
        subdir = f"${{continued_subdir:${{hydra.sweep.dir}},${{hydra.job.num}},{subdir}}}"
    where = hydra_quoted(str(sweep_dir))
    return [argv[0], "-m", *hydra, f"hydra.sweep.dir={where}",
            f"hydra.sweep.subdir='{subdir}'", *task, *changes, f"resume={where}"]


def _is_basic(sweeper: dict[str, Any]) -> bool:
    """Whether a saved sweeper config is Hydra's basic sweeper's."""
    return str(sweeper.get("_target_", "")).endswith(".BasicSweeper")


def _saved_params(sweeper: dict[str, Any], task: list[str]) -> list[str]:
    """The basic sweeper's config-defined values (an experiment preset's `hydra.sweeper.params`)
    as the sweep saved them, as overrides: a preset edited since the sweep started (another
    set-up added to its list) must not renumber the sweep's jobs, which its job directories
    are found by. Keys the saved command sets itself are left to it."""
    if not _is_basic(sweeper):
        return []
    given = {_key(word) for word in task}
    return [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()
            if key not in given]


def _refuse_run(path: Path, argv: list[str], resume: str) -> None:
    """Raise UserError for `-m resume=PATH` where PATH is no sweep's directory: a run's (which
    a sweep would copy into a new sweep instead of continuing it in place), or nothing."""
    if not path.is_dir():
        raise UserError(f"-m resume={path}: {path} does not exist")
    rest = [shlex.quote(word) for word in argv[1:] if word not in (*MULTIRUN_FLAGS, resume)]
    command = " ".join([resume_command(path), *rest])
    raise UserError(f"-m resume={path}: {path} is a run, not a sweep (no {MULTIRUN_FILE}); -m "
                    f"would train a copy of it in a new sweep: continue it in place, without "
                    f"-m, with `{command}`")


def _refuse_used_sweep_dir(argv: list[str]) -> None:
    """Raise UserError where a new sweep (`-m` without `resume=`) is pointed by
    `hydra.sweep.dir=` at a sweep's directory: its jobs' runs would be replaced."""
    word = next((word for word in reversed(argv[1:]) if word.startswith("hydra.sweep.dir=")),
                None)
    path = None if word is None else absolute(_value(word))
    if path is not None and is_sweep(path):
        raise UserError(f"{word}: {path} already holds a sweep ({MULTIRUN_FILE}); a new sweep "
                        f"would replace its runs: continue it with "
                        f"`{resume_command(path, sweep=True)}`, or choose another directory")


def _value(word: str) -> str:
    """An override's value as Hydra reads it: `resume='multirun/a=b,c'` names multirun/a=b,c
    (the quoting `resume_command` prints); a word Hydra cannot parse is taken as it is."""
    try:
        return str(OverridesParser.create().parse_override(word).value())
    except Exception:  # noqa: BLE001 (Hydra's grammar errors: the job refuses it later)
        return word.partition("=")[2]


def _check_search(sweeper: dict[str, Any], sweep_dir: Path) -> None:
    """An Optuna search continues from the study it keeps in the sweep directory (storage
    null; `gan.sweep.optuna_store`). One whose study is in a storage of its own (shared with
    other searches) is refused, and so is one without a stored study (made before searches
    kept theirs) unless it was seeded: that one continues by asking its trials again, which
    with the same seed and the same results told are the same trials."""
    if not str(sweeper.get("_target_", "")).endswith("OptunaSearch"):
        return
    if sweeper.get("storage") is not None:
        raise UserError(f"resume={sweep_dir} continues an Optuna search whose study is in its "
                        f"sweep directory (hydra.sweeper.storage: null); this one's is in "
                        f"{sweeper['storage']}: run the search again with that storage and "
                        "study_name to go on with new trials")
    if sweeper.get("seed") is None and not has_study(sweep_dir):
        raise UserError(f"resume={sweep_dir}: this Optuna search kept no study ({STUDY_FILE}) "
                        "and had no hydra.sweeper.seed, so its trials cannot be asked again")


def _key(word: str) -> str:
    """An override's key (`train.steps` of `train.steps=5`, `remedy` of `remedy=[a]`)."""
    return word.partition("=")[0].lstrip("+~")


def _changed_keys(changes: list[str], sweep_dir: Path) -> list[str]:
    """The keys this command changes; each must be one a resumed run may change."""
    try:
        parsed = OverridesParser.create().parse_overrides(changes)
    except Exception as error:  # Hydra's grammar errors
        raise UserError(first_line(error)) from None
    for override in parsed:
        key = override.key_or_group
        if not key.startswith(RESUME_FREE) or key in RESUME_FIXED or override.is_sweep_override():
            raise UserError(f"resume={sweep_dir} continues that sweep with its saved jobs; "
                            f"{override.input_line} would make its jobs other jobs (only single "
                            f"train.* and eval.* values other than {', '.join(RESUME_FIXED)}, "
                            "and dataset.root and dataset.download, may change)")
    return [override.key_or_group for override in parsed]




def own_overrides(run_dir: Path, overrides: list[str]) -> list[str]:
    """This command's overrides that the job did not have when it first ran (from its
    `.hydra/overrides.yaml`), without `resume=`: what its resume changes."""
    path = run_dir / ".hydra" / "overrides.yaml"
    first = set(OmegaConf.load(path)) if path.is_file() else set()
    return [word for word in overrides if word not in first and _key(word) != "resume"]
