"""A sweep's finished runs kept small (`python -m gan.archive SWEEP_DIR ARCHIVE_DIR`): what the
results page and a continued sweep read of each run, without its checkpoint, event files and
intermediate sample grids, so a study that takes many sittings can keep what it has done in the
repository (`docs/runs/<discriminator>`) between machines that keep nothing else.

A run is kept once it is done as a continued sweep sees it (`job_plan`, with the run's own
`train.steps`): completed, or failed in a way a rerun would repeat (diverged, or refused as bad
input). Kept are its `metrics.json`, `config.yaml`, `train.log`, `.hydra/` (with the records of
the resumes before it finished, not of a later sweep's that found it done), final digits
(`samples/final/grid.png`; a 2D mixture's `scatter.png`) and evaluations over training, read
from its event files into `eval_history.json` (which `gan.report.history` reads where there are
no event files); beside the runs, the sweep's `multirun.yaml`, `step_cost.json` and Optuna study
(`optuna.db`). A kept sweep copied back continues with `python train.py -m resume=DIR`: the kept
runs are done, the others start; without their checkpoints, kept runs cannot go on to more
steps. Keeping again replaces each kept run with what its run directory holds now and adds what
finished since.
"""

import json
import shutil
from pathlib import Path

import yaml

from gan.errors import UserError
from gan.report.history import HISTORY_FILE, eval_history
from gan.report.runs import find
from gan.report.saved import read_yaml, select
from gan.report.study_cost import COST_FILE
from gan.report.summary import key
from gan.run.directory import (
    MULTIRUN_FILE,
    RESUME_FIXED,
    RESUME_FREE,
    STUDY_FILE,
    is_sweep,
    job_plan,
)
from gan.run.files import write_atomically

FILES = ("config.yaml", "train.log", "samples/final/grid.png",
         "samples/final/scatter.png")  # a run's own, as they are; the pages show the final ones
SWEEP_FILES = (MULTIRUN_FILE, COST_FILE, STUDY_FILE)  # the sweep's own, beside its runs
RESUMED = "resumed-*"  # .hydra/resumed-<stamp>/: Hydra's record of one resume of the run


def archive(sweep_dir: Path, archive_dir: Path) -> tuple[list[Path], list[Path]]:
    """Keep sweep_dir's done runs under archive_dir, each at the same relative path, with the
    sweep's own files; returns the runs kept and those left (not done: still training,
    interrupted, crashed), as found under sweep_dir. Raises UserError (one line) when sweep_dir
    is not a sweep's directory, archive_dir lies inside it or keeps another sweep, or a run
    cannot be read or kept."""
    sweep_dir, archive_dir = sweep_dir.resolve(), archive_dir.resolve()
    check_places(sweep_dir, archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    for name in SWEEP_FILES:
        if (sweep_dir / name).is_file():
            shutil.copyfile(sweep_dir / name, archive_dir / name)
    kept, left = [], []
    for run_dir in find(sweep_dir):
        if not is_done(run_dir):
            left.append(run_dir)
            continue
        try:
            keep_run(run_dir, archive_dir / run_dir.relative_to(sweep_dir))
        except (OSError, ValueError) as error:
            raise UserError(f"cannot keep {run_dir}: {error}") from None
        kept.append(run_dir)
    return kept, left


def check_places(sweep_dir: Path, archive_dir: Path) -> None:
    """Refuse (UserError) what is not a sweep, an archive inside it, or an archive of another
    sweep (`docs/runs` where `docs/runs/cnn` was meant would mix the studies' runs)."""
    if not is_sweep(sweep_dir):
        raise UserError(f"{sweep_dir} is not a sweep's directory (no {MULTIRUN_FILE})")
    if archive_dir == sweep_dir or sweep_dir in archive_dir.parents:
        raise UserError(f"{archive_dir} is inside the sweep {sweep_dir}: keep it elsewhere")
    kept = archive_dir / MULTIRUN_FILE
    if kept.is_file() and task(kept) != task(sweep_dir / MULTIRUN_FILE):
        raise UserError(f"{archive_dir} keeps another sweep (its {MULTIRUN_FILE} has other "
                        "overrides): give each sweep its own archive")


def task(multirun_file: Path) -> list[str]:
    """The overrides that make a sweep's jobs what they are, as its multirun.yaml saved them:
    without those a continued sweep adds or may change (`resume=`, train.* and eval.* values,
    where the data lies), so the same sweep continued is still the same sweep."""
    saved = yaml.safe_load(multirun_file.read_text()) or {}
    words = (saved.get("hydra") or {}).get("overrides", {}).get("task") or []
    return [word for word in words if not (key(word) == "resume" or (
        key(word).startswith(RESUME_FREE) and key(word) not in RESUME_FIXED))]


def is_done(run_dir: Path) -> bool:
    """Whether a continued sweep would not train the run again, with its own train.steps."""
    config = run_dir / "config.yaml"
    steps = select(read_yaml(config), "train.steps") if config.is_file() else None
    return job_plan(run_dir, -1 if steps is None else int(steps))[0] == "done"


def keep_run(run_dir: Path, kept_dir: Path) -> None:
    """One done run's small files and evaluations (`eval_history.json`, from its event files or
    the one it has if it was kept before) written beside kept_dir, then put in its place whole,
    so an archive stopped midway never holds half a run. Raises OSError or ValueError (an
    unreadable `eval_history.json`)."""
    building = kept_dir.with_name(kept_dir.name + ".keeping")
    shutil.rmtree(building, ignore_errors=True)
    for name in FILES:
        if (run_dir / name).is_file():
            (building / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir / name, building / name)
    copy_hydra(run_dir, building / ".hydra")
    history = {name: [list(point) for point in series]
               for name, series in eval_history(run_dir).items()}
    write_atomically(building / HISTORY_FILE, json.dumps(history) + "\n")
    shutil.copyfile(run_dir / "metrics.json", building / "metrics.json")
    shutil.rmtree(kept_dir, ignore_errors=True)
    building.rename(kept_dir)


def copy_hydra(run_dir: Path, kept: Path) -> None:
    """The run's `.hydra/` files and the records of the resumes made before it finished; a
    later continued sweep's, which found the run done and trained nothing, are left behind."""
    hydra = run_dir / ".hydra"
    kept.mkdir(parents=True, exist_ok=True)
    if not hydra.is_dir():
        return
    finished = (run_dir / "metrics.json").stat().st_mtime
    for path in hydra.iterdir():
        if path.is_file():
            shutil.copyfile(path, kept / path.name)
        elif path.match(RESUMED) and path.stat().st_mtime <= finished:
            shutil.copytree(path, kept / path.name)
