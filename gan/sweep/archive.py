"""A sweep's finished runs kept small (`python -m gan.archive SWEEP_DIR ARCHIVE_DIR`): what the
results page and a continued sweep read of each run, without its checkpoint, event files and
intermediate sample grids, so a study that takes many sittings can keep what it has done in the
repository (`docs/results/runs/`) between machines that keep nothing else.

A run is kept once it is finished as a continued sweep sees it (`job_plan`): completed, or
failed in a way a rerun would repeat (diverged). Kept are its `metrics.json`, `config.yaml`,
`train.log`, `.hydra/`, final digits (`samples/final/grid.png`) and evaluations over training,
read from its event files into `eval_history.json` (which `gan.sweep.history` reads where there
are no event files); beside the runs, the sweep's `multirun.yaml` and `step_cost.json`. A kept
sweep copied back (`cp -r`) continues with `python train.py -m resume=DIR`: the kept runs are
done, the others start. Keeping again copies what finished since and leaves the rest as kept.
"""

import json
import shutil
from pathlib import Path

from gan.errors import UserError
from gan.run.files import write_atomically
from gan.sweep.continuation import FINAL, MULTIRUN_FILE, is_sweep
from gan.sweep.history import HISTORY_FILE, eval_history
from gan.sweep.runs import find
from gan.sweep.study_cost import COST_FILE
from gan.sweep.summary import read_metrics

FINISHED = ("completed", *FINAL)  # statuses a continued sweep does not train again
FILES = ("metrics.json", "config.yaml", "train.log",
         "samples/final/grid.png")  # a run's own, as they are; the page shows the final grid
FOLDERS = (".hydra",)  # copied whole: Hydra's record of the job (small YAML files)
SWEEP_FILES = (MULTIRUN_FILE, COST_FILE)  # the sweep's own, beside its runs


def archive(sweep_dir: Path, archive_dir: Path) -> tuple[list[Path], list[Path]]:
    """Keep sweep_dir's finished runs under archive_dir, each at the same relative path, with
    the sweep's own files; returns the runs kept and those left (unfinished), as found under
    sweep_dir. Raises UserError (one line) when sweep_dir is not a sweep's directory or
    archive_dir lies inside it."""
    sweep_dir, archive_dir = sweep_dir.resolve(), archive_dir.resolve()
    if not is_sweep(sweep_dir):
        raise UserError(f"{sweep_dir} is not a sweep's directory (no {MULTIRUN_FILE})")
    if archive_dir == sweep_dir or sweep_dir in archive_dir.parents:
        raise UserError(f"{archive_dir} is inside the sweep {sweep_dir}: keep it elsewhere")
    archive_dir.mkdir(parents=True, exist_ok=True)
    for name in SWEEP_FILES:
        if (sweep_dir / name).is_file():
            shutil.copyfile(sweep_dir / name, archive_dir / name)
    kept, left = [], []
    for run_dir in find(sweep_dir):
        if read_metrics(run_dir / "metrics.json").get("status", "completed") not in FINISHED:
            left.append(run_dir)
            continue
        keep_run(run_dir, archive_dir / run_dir.relative_to(sweep_dir))
        kept.append(run_dir)
    return kept, left


def keep_run(run_dir: Path, kept_dir: Path) -> None:
    """One finished run's small files copied to kept_dir, and its evaluations written there as
    `eval_history.json` (from its event files, or the one it has if it was kept before)."""
    kept_dir.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if (run_dir / name).is_file():
            (kept_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_dir / name, kept_dir / name)
    for name in FOLDERS:
        if (run_dir / name).is_dir():
            shutil.copytree(run_dir / name, kept_dir / name, dirs_exist_ok=True)
    history = {name: [list(point) for point in series]
               for name, series in eval_history(run_dir).items()}
    write_atomically(kept_dir / HISTORY_FILE, json.dumps(history) + "\n")
