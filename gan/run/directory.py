"""What a run directory holds, before a command writes into it: whether a run is there already,
what a refused command must take back, a sweep job's directory name, and the command that
continues the run, and what a continued sweep does with a job. Torch-free and Hydra-free (but
`jobs_in_sweep`, which parses a sweep's overrides): the report commands read run directories
through it."""

import contextlib
import hashlib
import json
import math
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

HYDRA_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}  # what Hydra writes into .hydra/
# What a run writes once it trains: its checkpoint, metrics, sample grids and TensorBoard events
# (prefix; the loop's first act). Not its config.yaml and log lines, which a run refused or
# stopped before its first step leaves too (a stacked sweep's jobs before they run one by one),
# nor Hydra's `.hydra/`, which a command writes before its run starts.
CHECKPOINT_NAME = "checkpoint.pt"
RUN_FILES = (CHECKPOINT_NAME, "metrics.json", "samples")
EVENTS_PREFIX = "events.out.tfevents."
LOG_NAME = "train.log"
MULTIRUN_FILE = "multirun.yaml"  # what Hydra writes into a sweep directory before its jobs
STUDY_FILE = "optuna.db"  # an Optuna search's study in its sweep directory (gan.sweep.optuna_store)
# What a resume may change (train.*, eval.*, where the data lies) but for what makes the run
# what it is; anything else makes another run.
RESUME_FIXED = ("train.seed", "train.batch_size", "train.n_samples")
RESUME_FREE = ("train.", "eval.", "dataset.root", "dataset.download")
FINAL = ("diverged", "bad_input")  # failures that would come back the same if run again


def is_sweep(path: Path) -> bool:
    """Whether a directory is a sweep's (Hydra wrote its multirun.yaml there)."""
    return (path / MULTIRUN_FILE).is_file()


def run_files(directory: Path) -> list[str]:
    """The names of the files in `directory` that a run wrote once it trained (`RUN_FILES`,
    TensorBoard events); none for a directory that does not exist, is empty, or holds only what
    a command writes before its first step."""
    if not directory.is_dir():
        return []
    return [path.name for path in sorted(directory.iterdir())
            if path.name in RUN_FILES or path.name.startswith(EVENTS_PREFIX)]


def made_by_hydra_now(run_dir: Path) -> bool:
    """Whether run_dir holds only what Hydra makes as a job starts (`.hydra/` with its three
    files, an empty train.log): a directory this command made, before the task wrote into it."""
    hydra, log = run_dir / ".hydra", run_dir / LOG_NAME
    if not hydra.is_dir() or (log.exists() and log.stat().st_size > 0):
        return False
    return ({path.name for path in run_dir.iterdir()} <= {".hydra", LOG_NAME}
            and {path.name for path in hydra.iterdir()} <= HYDRA_FILES)


def remove_traces(run_dir: Path, output_subdir: str | None, made_now: bool,
                  start: Path) -> None:
    """Undo what a refused run left. A run directory this command made (`made_by_hydra_now` when
    it started) goes, with every folder above it left empty, up to `start`, the directory the
    command started from; in an existing directory only a resume's own `.hydra/resumed-*`
    goes, and everything else stays."""
    with contextlib.suppress(OSError):  # another process writing there: leave it be
        if not made_now:
            if output_subdir and "resumed-" in output_subdir:
                shutil.rmtree(run_dir / output_subdir)
            return
        shutil.rmtree(run_dir)
        start, folder = start.resolve(), run_dir.resolve().parent
        while folder != start and start in folder.parents and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


JOB_NAME_BYTES = 100  # a job directory's name at most: readable, and far below the 255 allowed
# A float literal standing alone in an override's value (`0.00012345678901234567`, `1e-4`,
# `[0.5,2.5]`'s items), not a digit inside a key or a word.
FLOAT = re.compile(r"(?<![\w.+-])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?(?![\w.])")
OVERRIDE_START = re.compile(r",(?=[+~]?[\w./@-]+=)")  # a comma before `key=`: not one in a list
LONG_FLOAT_DIGITS = 6  # a float with more significant digits was printed by a program


def job_dir_name(number: int, overrides: str) -> str:
    """hydra.sweep.subdir: `<number>_<overrides>` (Hydra's `hydra.job.override_dirname`), made
    a valid, readable directory name. A float of more than LONG_FLOAT_DIGITS significant digits
    (an Optuna trial's `optimizer.lr=0.00012345678901234567`) is written with 4
    (`short_float`); a `/` becomes `_` (one name, not a path). A name still over
    JOB_NAME_BYTES bytes (a sweep of five remedies and their settings: 259 characters, past
    what file systems allow) shows, in their order, the whole overrides that fit, then `...`
    and a hash of all of them (the same whenever the overrides are). Those with a sampled float
    are taken first (they are what differs between a search's trials), then the others in
    order, so the short ones a sweep varies (`train.seed=1`) fit past a long list. The job's
    overrides stay whole in its `.hydra/overrides.yaml` and the summary; the number alone finds
    the directory again when the sweep is continued (`continued_subdir`)."""
    name = f"{number}_{_shown(overrides)}"
    if len(name.encode()) <= JOB_NAME_BYTES:
        return name
    digest = hashlib.sha256(overrides.encode()).hexdigest()[:8]
    room = JOB_NAME_BYTES - len(f"{number}_,...{digest}".encode())
    pieces = OVERRIDE_START.split(overrides)  # one override each
    items = [_shown(piece) for piece in pieces]
    sampled = [item != piece.replace("/", "_") for item, piece in zip(items, pieces, strict=True)]
    kept: set[int] = set()
    for index in sorted(range(len(items)), key=lambda index: not sampled[index]):
        if len(",".join(items[i] for i in sorted({*kept, index})).encode()) <= room:
            kept.add(index)
    shown = ",".join(items[i] for i in sorted(kept))
    if not shown:  # not one whole override fits: the first, cut, never inside a character
        shown = items[0].encode()[:room].decode(errors="ignore")
    return f"{number}_{shown},...{digest}"


def _shown(overrides: str) -> str:
    """Overrides as a job directory's name shows them: long floats short, no `/`."""
    return FLOAT.sub(lambda match: short_float(match.group()), overrides).replace("/", "_")


def short_float(text: str) -> str:
    """A float literal with more than LONG_FLOAT_DIGITS significant digits in 4, or as many
    more as keep its power of ten (0.99995123 as 0.99995, not 1); any other as it is."""
    digits = len(re.sub(r"[eE].*|[^0-9]", "", text).lstrip("0"))
    value = float(text)
    if digits <= LONG_FLOAT_DIGITS or not math.isfinite(value) or value == 0:
        return text
    power = math.floor(math.log10(abs(value)))
    for kept in range(4, 18):
        short = f"{value:.{kept}g}"
        if math.floor(math.log10(abs(float(short)))) == power:
            return short
    return text


def resume_command(run_dir: Path, sweep: bool = False) -> str:
    """The shell command that resumes run_dir (a run), or with `sweep` continues every job of
    the sweep in run_dir (`-m resume=SWEEP_DIR`). train.py reads `resume=`'s value as a path,
    `=` and `,` included (`gan.cli.literal_paths`), so only the shell's quoting is needed."""
    return f"python train.py {'-m ' if sweep else ''}resume={shlex.quote(str(run_dir))}"


def stopped(stop: object, run_dir: Path | None, sweep_dir: Path | None = None) -> str:
    """What a run or sweep stopped by a signal prints: the command that resumes the run, or,
    in a sweep, first the command that continues the whole sweep (every job goes on where it
    stopped), then the one that resumes this job alone (none where no one job is meant)."""
    if sweep_dir is None:
        return f"{stop}. Resume with:\n  {resume_command(run_dir)}"
    alone = "" if run_dir is None else (f"\nor resume this job alone with:\n  "
                                        f"{resume_command(run_dir)}")
    return f"{stop}. Continue the sweep with:\n  {resume_command(sweep_dir, sweep=True)}{alone}"


def hydra_quoted(value: str) -> str:
    """A string as the value of a Hydra override: quoted unless it is a plain path of letters,
    digits and `_./:-` (a sweep job's directory name has `=` and `,`, which Hydra's grammar reads
    as syntax, and a path may hold spaces, `~`, `#`, `&` or quotes)."""
    if re.fullmatch(r"[\w./:-]+", value):
        return value
    # Hydra reads a backslash as an escape only before a quote or at the end of the string.
    escaped = re.sub(r"(\\*)('|$)", _escaped, value)
    return f"'{escaped}'"


def _escaped(match: re.Match[str]) -> str:
    """Backslashes before a quote or the end, doubled; the quote escaped."""
    backslashes, quote = match.group(1), match.group(2)
    return backslashes * 2 + ("\\'" if quote else "")


def job_plan(run_dir: Path, steps: int) -> tuple[str, dict[str, Any] | None]:
    """What a job of a continued sweep does, from what its directory holds: ("done", its
    metrics) if it completed `steps` steps or failed in a way a rerun would repeat (its metrics
    then hold no score: a failed trial), ("resume", None) if it has a checkpoint, else
    ("start", None)."""
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text())
        except ValueError:
            metrics = {}
        done = metrics.get("status") == "completed" and metrics.get("steps") == steps
        if done or metrics.get("status") in FINAL:
            return "done", metrics
    if (run_dir / CHECKPOINT_NAME).is_file():
        return "resume", None
    return "start", None


def jobs_in_sweep(sweep_dir: Path | None) -> int | None:
    """The number of jobs Hydra's basic sweeper runs, from the multirun.yaml it writes into the
    sweep directory before launching; None where it cannot tell (another sweeper: the Optuna
    search caps the jobs at once by its own n_jobs)."""
    # Hydra's own parser reads the sweep's overrides: imported here, not above, so that the
    # report commands, which read run directories through this module, start at once.
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    path = None if sweep_dir is None else sweep_dir / "multirun.yaml"
    if path is None or not path.is_file():
        return None
    try:
        cfg = OmegaConf.load(path)
        if not str(OmegaConf.select(cfg, "hydra.sweeper._target_")).endswith(".BasicSweeper"):
            return None
        params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
        words = [*(f"{key}={value}" for key, value in params.items()),
                 *OmegaConf.select(cfg, "hydra.overrides.task", default=[])]
        parsed = OverridesParser.create().parse_overrides(words)
        last = {override.get_key_element(): override for override in parsed}  # the command wins
        count = 1
        for override in last.values():
            if override.is_sweep_override():
                count *= len(list(override.sweep_string_iterator()))
        return count
    except Exception:  # another sweeper's settings, or an unreadable file: no cap
        return None
