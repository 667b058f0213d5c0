"""A sweep's summary: one row per job, best first by the objective, written when it ends."""

import csv
import io
import json
import logging
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan.metrics.names import FINAL_LOSSES, LABELS, MANIFOLD, MAXIMISED, SCORE_NAMES
from gan.run.files import write_atomically

log = logging.getLogger(__name__)
METRICS = (*FINAL_LOSSES, *SCORE_NAMES, "wall_seconds")
COLUMNS = ("job", "status", "overrides", *METRICS, "reason", "directory")
HEADINGS = ("#", "status", "overrides", *(LABELS.get(name, "time (s)") for name in METRICS),
            "reason")


def read_job(directory: Path, sweep_dir: Path,
             metrics: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """A job directory's row: its number, overrides, and how it ended (its metrics.json); the
    values of `metrics` are copied from that file (None where it has none), and so is why its
    precision and recall are absent (`manifold_note`, None where they are not)."""
    hydra_dir = directory / ".hydra"
    hydra_file = hydra_dir / "hydra.yaml"
    hydra = OmegaConf.load(hydra_file) if hydra_file.is_file() else OmegaConf.create()
    recorded = read_metrics(directory / "metrics.json")
    return {"job": OmegaConf.select(hydra, "hydra.job.num", default=-1),
            "overrides": overrides_now(directory)[1],
            "status": recorded.get("status", "completed"), "reason": recorded.get("reason", ""),
            "directory": str(directory.relative_to(sweep_dir)),
            "manifold_note": recorded.get("manifold_note")
            } | {name: recorded.get(name) for name in metrics}


def read_overrides(hydra_dir: Path) -> list[str]:
    """The overrides Hydra recorded in a `.hydra` folder (its overrides.yaml); none without it."""
    path = hydra_dir / "overrides.yaml"
    return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []


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
    rows = ordered([read_job(path.parent.parent, sweep_dir) for path in
                    sweep_dir.glob("**/.hydra/overrides.yaml")], objective)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=COLUMNS, extrasaction="ignore")  # the note: in .md
    writer.writeheader()
    writer.writerows({**row, "overrides": " ".join(row["overrides"])} for row in rows)
    # Jobs running at once each rewrite the summary: readers never see half a file.
    write_atomically(sweep_dir / "summary.csv", table.getvalue())
    write_atomically(sweep_dir / "summary.md", markdown(rows, objective))
    return rows


def markdown(rows: list[dict[str, Any]], objective: str) -> str:
    """The rows as a Markdown table; the overrides every job shares are said once above it,
    and below it why a precision or recall shown as `—` is absent."""
    shared = set.intersection(*(set(row["overrides"]) for row in rows)) if rows else set()
    statuses = ", ".join(f"{count} {status}" for status, count in
                         Counter(row["status"] for row in rows).items())
    better = "higher" if objective in MAXIMISED else "lower"
    lines = ["# Sweep summary", "",
             f"{len(rows)} jobs: {statuses or 'none yet'}. Sorted by `{objective}` ({better} "
             "is better).", ""]
    if shared:
        lines += [f"Every job: `{' '.join(sorted(shared))}`", ""]
    lines += ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
    for row in rows:
        overrides = " ".join(o for o in row["overrides"] if o not in shared)
        cells = [str(row["job"]), row["status"], f"`{overrides}`" if overrides else "",
                 *("—" if name in MANIFOLD and row["manifold_note"] else number(row[name])
                   for name in METRICS), row["reason"]]
        cells = [cell.replace("|", "\\|") for cell in cells]  # a | would end the cell
        lines.append("| " + " | ".join(cells) + " |")
    notes = dict.fromkeys(row["manifold_note"] for row in rows if row["manifold_note"])
    lines += ["", *(f"—: {note}" for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def number(value: float | int | None) -> str:
    """A metric for the table: four significant digits; empty when the job has none."""
    return "" if value is None else f"{value:.4g}"


class SweepSummary(Callback):
    """Hydra callback: summary.csv and summary.md in the sweep directory after each job (so a
    sweep that aborts still has one) and at the end, which fails if any job did not complete."""

    def on_job_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The summary so far, written from the job's own process (any launcher)."""
        if config.hydra.mode == RunMode.MULTIRUN:
            summarise(Path(config.hydra.sweep.dir), config.eval.objective)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the sweep and say where; fail the sweep if a job failed."""
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir():
            log.warning(f"no sweep summary: {sweep_dir} does not exist (no job started)")
            return
        rows = summarise(sweep_dir, config.eval.objective)
        log.info(f"Sweep summary: {sweep_dir / 'summary.md'} (and summary.csv)")
        failed = [row for row in rows if row["status"] != "completed"]
        if failed:  # SystemExit passes through Hydra's callback guard: the exit code says it
            sys.exit(f"error: {len(failed)} of {len(rows)} jobs did not complete "
                     f"({', '.join(sorted({row['status'] for row in failed}))}); see "
                     f"{sweep_dir / 'summary.md'}")
