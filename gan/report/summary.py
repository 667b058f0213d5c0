"""A sweep's summary: one row per job, best first by the objective, read from the job
directories (summary.csv and summary.md in the sweep directory). When it is written: after each
job's own record, and when the sweep ends (`gan.sweep.summary`).

A sweep where any job is class-conditional (its metrics.json has `conditional_accuracy`, ...)
gets the conditional scores' columns too (`CONDITIONAL_SCORES`, after the other scores); a
sweep without one keeps the columns it always had."""

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gan.metrics.names import (
    CONDITIONAL_SCORES,
    FINAL_LOSSES,
    LABELS,
    MANIFOLD,
    MAXIMISED,
    SCORE_NAMES,
)
from gan.report.saved import read_yaml, select
from gan.run.files import write_atomically

try:
    import fcntl
except ImportError:  # Windows: no flock; summaries written at once may then race
    fcntl = None

LOCK_NAME = ".summary.lock"  # in the sweep directory: one summary writer at a time
METRICS = (*FINAL_LOSSES, *SCORE_NAMES, "wall_seconds")
BEST = ("best", "best_step", "alarms")  # the best evaluation's value and step; the alarms
COLUMNS = ("job", "status", "overrides", *METRICS, *BEST, "reason", "directory")
HEADINGS = ("#", "status", "overrides", *(LABELS.get(name, "time (s)") for name in METRICS),
            "best (step)", "alarms", "reason")
# A conditional sweep's metrics: the conditional scores join the others, before the wall time.
CONDITIONAL_METRICS = (*FINAL_LOSSES, *SCORE_NAMES, *CONDITIONAL_SCORES, "wall_seconds")


def metrics_of(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The metrics a sweep's tables show: `CONDITIONAL_METRICS` where any row has a conditional
    score, else `METRICS` (the columns an unconditional sweep always had)."""
    conditional = any(row.get(name) is not None for row in rows for name in CONDITIONAL_SCORES)
    return CONDITIONAL_METRICS if conditional else METRICS


def read_job(directory: Path, sweep_dir: Path,
             metrics: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """A job directory's row: its number, overrides, and how it ended (its metrics.json); the
    values of `metrics` are copied from that file (None where it has none), and so is why its
    precision and recall are absent (`manifold_note`, None where they are not) and, for a
    conditional run, what its per-class precision and recall were measured on
    (`class_manifold_note`)."""
    hydra_dir = directory / ".hydra"
    hydra_file = hydra_dir / "hydra.yaml"
    hydra = read_yaml(hydra_file) if hydra_file.is_file() else {}
    recorded = read_metrics(directory / "metrics.json")
    return {"job": select(hydra, "hydra.job.num", default=-1),
            "overrides": overrides_now(directory)[1],
            "status": recorded.get("status", "completed"), "reason": recorded.get("reason", ""),
            "directory": str(directory.relative_to(sweep_dir)),
            "manifold_note": recorded.get("manifold_note"),
            "class_manifold_note": recorded.get("class_manifold_note"),
            } | {name: recorded.get(name) for name in metrics} | best_and_alarms(recorded)


def best_and_alarms(recorded: dict[str, Any]) -> dict[str, Any]:
    """A run's best evaluation (its value of the run's `eval.objective` and its step: where
    best.pt was written) and its alarms in short (`collapse at 10000; d_loss_vanished at
    10000`), from its metrics.json; None and "" for a run without them."""
    best = recorded.get("best") or {}
    alarms = "; ".join(f"{alarm['kind']} at {alarm['step']}"
                       for alarm in recorded.get("alarms") or [])
    return {"best": best.get("value"), "best_step": best.get("step"), "alarms": alarms}


def read_overrides(hydra_dir: Path) -> list[str]:
    """The overrides Hydra recorded in a `.hydra` folder (its overrides.yaml); none without it."""
    path = hydra_dir / "overrides.yaml"
    return [str(o) for o in read_yaml(path) or []] if path.is_file() else []


def overrides_now(directory: Path) -> tuple[list[str], list[str]]:
    """A run's first command's overrides (`.hydra`), and its overrides as it now stands: those
    with each later resume's (`.hydra/resumed-*`, oldest first) in their place, the last word
    per key (`train.steps=80000` of an extended run or sweep). Never `resume=`, which says how
    a command went on (a job a continued sweep started first has it), not what the run is."""
    first = [word for word in read_overrides(directory / ".hydra") if key(word) != "resume"]
    now = {key(word): word for word in first}
    for resume in sorted((directory / ".hydra").glob("resumed-*")):
        now |= {key(word): word for word in read_overrides(resume) if key(word) != "resume"}
    return first, list(now.values())


def key(override: str) -> str:
    """An override's key: `optimizer.lr` of `optimizer.lr=1e-4`, `a.b` of `+a.b=1` or `~a.b`."""
    return override.split("=", 1)[0].lstrip("+~")


def read_metrics(path: Path) -> dict[str, Any]:
    """A job's metrics.json, or what its absence says."""
    if not path.is_file():
        return {"status": "unknown", "reason": "no metrics.json: killed, or still running"}
    try:
        recorded = json.loads(path.read_text())
    except ValueError as error:
        return {"status": "unknown", "reason": f"unreadable metrics.json: {error}"}
    if not isinstance(recorded, dict):
        return {"status": "unknown", "reason": "unreadable metrics.json: not a JSON object"}
    return recorded


def rank(row: dict[str, Any], objective: str) -> tuple[int, float]:
    """Where a row stands: 0 completed with the objective (then the signed value, so smaller is
    better), 1 completed without it, 2 any other status."""
    value = row.get(objective)
    scored = row["status"] == "completed" and value is not None and not math.isnan(value)
    if not scored:
        return (1 if row["status"] == "completed" else 2), 0.0
    return 0, -value if objective in MAXIMISED else value


def ordered(rows: list[dict[str, Any]], objective: str) -> list[dict[str, Any]]:
    """Completed jobs best first by the objective (those without it after them), then the
    rest by job number."""
    return sorted(rows, key=lambda row: (*rank(row, objective), row["job"]))


def summarise(sweep_dir: Path, objective: str) -> list[dict[str, Any]]:
    """Read every job under sweep_dir; write summary.csv and summary.md there; return the rows
    in their order."""
    with _one_writer(sweep_dir):
        rows = ordered([read_job(path.parent.parent, sweep_dir, CONDITIONAL_METRICS) for path in
                        sweep_dir.glob("**/.hydra/overrides.yaml")], objective)
        metrics = metrics_of(rows)
        columns = ("job", "status", "overrides", *metrics, *BEST, "reason", "directory")
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=columns, extrasaction="ignore")  # note: .md
        writer.writeheader()
        writer.writerows({**row, "overrides": " ".join(row["overrides"])} for row in rows)
        # Readers never see half a file.
        write_atomically(sweep_dir / "summary.csv", table.getvalue())
        write_atomically(sweep_dir / "summary.md", markdown(rows, objective))
    return rows


@contextmanager
def _one_writer(sweep_dir: Path) -> Iterator[None]:
    """Hold the sweep's summary lock (POSIX `flock`, let go when the process ends, however):
    jobs that end at once (joblib's workers stopped together) take turns reading the records
    and writing the summary, so the summary written last was read after every record that any
    writer made before it, never an older view written over a newer one."""
    if fcntl is None:
        yield
        return
    with open(sweep_dir / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # for milliseconds: one read and two small writes
        yield


def markdown(rows: list[dict[str, Any]], objective: str) -> str:
    """The rows as a Markdown table (with the conditional scores where any row has one:
    `metrics_of`); the overrides every job shares are said once above it, and below it why a
    precision or recall shown as `—` is absent and what a conditional run's per-class recall
    was measured on (each said once)."""
    shared = set.intersection(*(set(row["overrides"]) for row in rows)) if rows else set()
    statuses = ", ".join(f"{count} {status}" for status, count in
                         Counter(row["status"] for row in rows).items())
    better = "higher" if objective in MAXIMISED else "lower"
    lines = ["# Sweep summary", "",
             f"{len(rows)} jobs: {statuses or 'none yet'}. Sorted by `{objective}` ({better} "
             "is better).", ""]
    if shared:
        lines += [f"Every job: `{' '.join(sorted(shared))}`", ""]
    metrics = metrics_of(rows)
    headings = ("#", "status", "overrides",
                *(LABELS.get(name, "time (s)") for name in metrics), *HEADINGS[-3:])
    lines += ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for row in rows:
        overrides = " ".join(o for o in row["overrides"] if o not in shared)
        cells = [str(row["job"]), row["status"], f"`{overrides}`" if overrides else "",
                 *("—" if name in MANIFOLD and row["manifold_note"] else number(row.get(name))
                   for name in metrics), best_cell(row), row["alarms"], row["reason"]]
        cells = [cell.replace("|", "\\|") for cell in cells]  # a | would end the cell
        lines.append("| " + " | ".join(cells) + " |")
    for marker, name in (("—", "manifold_note"), (LABELS["min_class_recall"],
                                                  "class_manifold_note")):
        notes = dict.fromkeys(row.get(name) for row in rows if row.get(name))
        lines += ["", *(f"{marker}: {note}" for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def best_cell(row: dict[str, Any]) -> str:
    """`value (step)` of a row's best evaluation; empty where it has none."""
    return "" if row["best"] is None else f"{number(row['best'])} ({row['best_step']})"


def number(value: float | int | None) -> str:
    """A metric for the table: four significant digits; empty when the job has none."""
    return "" if value is None else f"{value:.4g}"
