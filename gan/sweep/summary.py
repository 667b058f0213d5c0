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

from gan.metrics.names import FINAL_LOSSES, LABELS, MAXIMISED, SCORE_NAMES
from gan.run.files import write_atomically

log = logging.getLogger(__name__)
METRICS = (*FINAL_LOSSES, *SCORE_NAMES, "wall_seconds")
COLUMNS = ("job", "status", "overrides", *METRICS, "reason", "directory")
HEADINGS = ("#", "status", "overrides", *(LABELS.get(name, "time (s)") for name in METRICS),
            "reason")


def read_job(directory: Path, sweep_dir: Path) -> dict[str, Any]:
    """A job directory's row: its number, overrides, and how it ended (its metrics.json)."""
    hydra_dir = directory / ".hydra"
    hydra = OmegaConf.load(hydra_dir / "hydra.yaml") if (hydra_dir / "hydra.yaml").is_file() else {}
    metrics = _metrics(directory / "metrics.json")
    return {"job": OmegaConf.select(hydra, "hydra.job.num", default=-1),
            "overrides": [str(o) for o in OmegaConf.load(hydra_dir / "overrides.yaml")],
            "status": metrics.get("status", "completed"), "reason": metrics.get("reason", ""),
            "directory": str(directory.relative_to(sweep_dir))
            } | {name: metrics.get(name) for name in METRICS}


def _metrics(path: Path) -> dict[str, Any]:
    """A job's metrics.json, or what its absence says."""
    if not path.is_file():
        return {"status": "unknown", "reason": "no metrics.json: killed, or still running"}
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        return {"status": "unknown", "reason": f"unreadable metrics.json: {error}"}


def ordered(rows: list[dict[str, Any]], objective: str) -> list[dict[str, Any]]:
    """Completed jobs best first by the objective (those without it after them), then the
    rest by job number."""
    sign = -1 if objective in MAXIMISED else 1

    def key(row: dict[str, Any]) -> tuple[int, float, int]:
        value = row.get(objective)
        scored = row["status"] == "completed" and value is not None and not math.isnan(value)
        rank = 0 if scored else 1 if row["status"] == "completed" else 2
        return rank, sign * value if scored else 0.0, row["job"]

    return sorted(rows, key=key)


def summarise(sweep_dir: Path, objective: str) -> list[dict[str, Any]]:
    """Read every job under sweep_dir; write summary.csv and summary.md there; return the rows
    in their order."""
    rows = ordered([read_job(path.parent.parent, sweep_dir) for path in
                    sweep_dir.glob("**/.hydra/overrides.yaml")], objective)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows({**row, "overrides": " ".join(row["overrides"])} for row in rows)
    # Jobs running at once each rewrite the summary: readers never see half a file.
    write_atomically(sweep_dir / "summary.csv", table.getvalue())
    write_atomically(sweep_dir / "summary.md", markdown(rows, objective))
    return rows


def markdown(rows: list[dict[str, Any]], objective: str) -> str:
    """The rows as a Markdown table; the overrides every job shares are said once above it."""
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
                 *(_number(row[name]) for name in METRICS), row["reason"]]
        cells = [cell.replace("|", "\\|") for cell in cells]  # a | would end the cell
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _number(value: float | int | None) -> str:
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
