"""Every run on disk in one table, best first (the command is `python -m gan.runs [DIR ...]`).

A run directory is any directory holding `.hydra/overrides.yaml` or `metrics.json`: a single run
under `outputs/DATE/TIME`, a sweep job under `multirun/DATE/TIME/N_overrides`, wherever
`hydra.run.dir` put it. Each is read as the sweep summary reads a job (`gan.sweep.summary`):
its overrides, how it ended, its metrics. Completed runs come first, best first by FID (lower
is better), those without FID after them (where no run has an FID, as the 2D mixtures' and
Stacked MNIST's runs, by their reverse KL, `class_kl`, also before their first evaluation);
then runs without a metrics.json (still training, or killed); then those that failed, with
their status and reason.

A class-conditional run (its config's `conditioning`) says its conditioning under its directory
(`conditioning: projection`), and where any run has them the table gains its intra-FID and its
conditional accuracy (the share of samples the evaluator assigns to the class requested); a
listing without such a run is as it always was.
"""

import os
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from gan.errors import UserError
from gan.metrics.names import LABELS
from gan.report.saved import read_yaml, select
from gan.report.summary import METRICS, best_cell, number, overrides_now, rank, read_job
from gan.run.machine import COMPUTED_ON, described

DEFAULT_ROOTS = ("outputs", "multirun")  # where train.py puts runs, relative to where it ran
OBJECTIVE = "fid"  # the ranking, lower is better
UNLESS = "class_kl"  # the ranking where no run has an FID (the 2D mixtures' runs)
WIDTH = 100  # the table's lines fit this many columns (a long directory may not)
HEADINGS = ("#", "FID", "best (step)", "steps", "time", "status", "overrides")
CONDITIONAL = {"intra_fid": "intra-FID", "conditional_accuracy": "accuracy"}  # their columns


def objective(rows: list[dict[str, Any]]) -> str:
    """What the rows rank by: FID, unless no row has one and some are scored as the 2D
    mixtures and Stacked MNIST are (then their reverse KL), or none has a score yet and every
    run's config ranks its evaluations by the reverse KL (`eval.objective`): a Stacked MNIST
    sweep before its first evaluation is not listed "by FID"."""
    if any(row.get(OBJECTIVE) is not None for row in rows):
        return OBJECTIVE
    mixtures = any(row.get(name) is not None for row in rows for name in (UNLESS, "high_quality"))
    configured = {row.get("configured_objective") for row in rows}
    return UNLESS if mixtures or configured == {UNLESS} else OBJECTIVE


def find(root: Path) -> list[Path]:
    """The run directories under root, root itself included, sorted. Hidden folders (`.hydra`,
    a launcher's `.submitit`) are not searched, nor is anything inside a run."""
    found = []
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        if "metrics.json" in files or (here / ".hydra" / "overrides.yaml").is_file():
            found.append(here)
            subdirs.clear()  # samples/, .hydra/: a run holds no other run
        else:
            subdirs[:] = [name for name in subdirs if not name.startswith(".")]
    return sorted(found)


def read(directory: Path) -> dict[str, Any]:
    """One run as a row: the sweep summary's (status, reason, metrics), its steps, what it
    computed on (`computed_on`, what a rerun must match: empty where it recorded none), its first
    command's overrides and what its later resumes changed (`overrides_now`), and the directory
    as found (so it can be pasted)."""
    row = read_job(directory, directory, metrics=(*METRICS, *CONDITIONAL, "steps", *COMPUTED_ON))
    first, now = overrides_now(directory)
    config = saved_config(directory)
    return row | {"overrides": first, "directory": str(directory),
                  "conditioning": named_conditioning(config),
                  "configured_objective": select(config, "eval.objective"),
                  "computed_on": described(row),
                  "resumes": len(list((directory / ".hydra").glob("resumed-*"))),
                  "resumed": [word for word in now if word not in first]}  # what they changed


def conditioning(directory: Path) -> str | None:
    """A conditional run's conditioning, read from its config.yaml (`named_conditioning`); None
    for an unconditional run, or one whose config.yaml is missing or unreadable."""
    return named_conditioning(saved_config(directory))


def saved_config(directory: Path) -> Any:
    """A run's config.yaml as plain data (its conditioning, `eval.objective`); None where the
    file is missing or unreadable (half a file: the listing still shows the run)."""
    path = directory / "config.yaml"
    try:
        return read_yaml(path) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return None


def named_conditioning(config: Any) -> str | None:
    """The conditioning a run's config names, as its option of conf/conditioning/
    (`conditioning._target_: gan.core.conditioning.Projection` -> `projection`); None where it
    has none (`conditioning=none`, or a run from before conditioning)."""
    target = select(config, "conditioning._target_")
    return str(target).rsplit(".", 1)[-1].lower() if target else None


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completed runs best first by FID (those without it after them; `objective`), then runs
    without a metrics.json, then failed runs; each kind by directory."""
    by = objective(rows)
    return sorted(rows, key=lambda row: (*rank(row, by), row["status"] != "unknown",
                                         row["directory"]))


def collect(roots: list[Path] | None = None) -> tuple[list[Path], list[dict[str, Any]]]:
    """The directories searched and every run under them, ordered. Directories that were asked
    for must exist; of the default ones (`outputs`, `multirun` here), those that exist are
    searched."""
    if roots:
        for root in roots:
            if not root.exists():
                raise UserError(f"{root} does not exist")
            if not root.is_dir():
                raise UserError(f"{root} is not a directory")
    else:
        roots = [Path(name) for name in DEFAULT_ROOTS]
    found = {directory for root in roots if root.is_dir() for directory in find(root)}
    return roots, ordered([read(directory) for directory in found])


def listing(roots: list[Path] | None = None) -> str:
    """The runs under roots (default: outputs and multirun) as plain text: a line saying how
    many and how they ended, the overrides every run shares, then the table; or one line saying
    where it looked when there are none."""
    roots, rows = collect(roots)
    if not rows:
        return f"no runs found in {', '.join(str(root.resolve()) for root in roots)}"
    shared = (set.intersection(*(set(row["overrides"]) for row in rows)) if len(rows) > 1
              else set())
    statuses = ", ".join(f"{count} {status}" for status, count in
                         Counter(row["status"] for row in rows).items())
    runs = f"{len(rows)} run{'s' if len(rows) > 1 else ''}"
    by = objective(rows)
    lines = [f"{runs} in {', '.join(map(str, roots))}: {statuses}. Best first by "
             f"{LABELS[by]} (lower is better)."]
    if conditional(rows):
        lines.append("intra-FID: lower is better; accuracy: the share of samples classified "
                     "as the class asked for.")
    if shared:
        common = [override for override in rows[0]["overrides"] if override in shared]
        lines.append(shorten(common, WIDTH - len("Every run: "), "Every run: "))
    machines = {row["computed_on"] for row in rows if row["computed_on"]}
    if len(machines) == 1:  # said once; else each run says its own under its directory
        lines.append(f"Computed on: {machines.pop()}")
    return "\n".join([*lines, "", *table(rows, shared, each_machine=len(machines) > 1)])


def conditional(rows: list[dict[str, Any]]) -> bool:
    """Whether any row has a conditional score: the table then shows them (`CONDITIONAL`)."""
    return any(row.get(name) is not None for row in rows for name in CONDITIONAL)


def table(rows: list[dict[str, Any]], shared: set[str], each_machine: bool = False) -> list[str]:
    """One line per run (rank, FID, intra-FID and conditional accuracy where any run has them,
    the best evaluation where any run has one, steps, wall time, status, its overrides less the
    shared ones, shortened to fit), its directory below it, then its conditioning, its alarms,
    what it computed on where runs differ in that (`each_machine`) and, if it did not complete,
    the reason."""
    by = objective(rows)
    scores = list(CONDITIONAL) if conditional(rows) else []
    cells = [[str(place), number(row[by]), *(number(row.get(name)) for name in scores),
              best_cell(row), "" if row["steps"] is None else str(row["steps"]),
              duration(row["wall_seconds"]), row["status"]] for place, row in enumerate(rows, 1)]
    headings = [HEADINGS[0], LABELS[by], *(CONDITIONAL[name] for name in scores), *HEADINGS[2:]]
    right = [True] * (len(headings) - 2) + [False]  # numbers right, status left
    if not any(row["best"] is not None for row in rows):  # none evaluated: room for overrides
        for columns in (headings, right, *cells):
            del columns[2 + len(scores)]
    widths = [max(len(heading), *(len(cell[i]) for cell in cells))
              for i, heading in enumerate(headings[:-1])]

    def line(values: list[str]) -> str:
        return "  ".join(value.rjust(width) if align else value.ljust(width)
                         for value, width, align in zip(values, widths, right, strict=True))

    indent = " " * (widths[0] + 2)  # directory and reason sit under the FID
    room = max(30, WIDTH - len(line(cells[0])) - 2)
    lines = [f"{line(headings[:-1])}  {headings[-1]}"]
    for row, values in zip(rows, cells, strict=True):
        overrides = [override for override in row["overrides"] if override not in shared]
        if row["resumes"]:
            times = "" if row["resumes"] == 1 else f" {row['resumes']}x"
            overrides.append(f"(resumed{times}{': ' if row['resumed'] else ''}"
                             f"{' '.join(row['resumed'])})")
        lines.append(f"{line(values)}  {shorten(overrides, room)}".rstrip())
        lines.append(f"{indent}{row['directory']}")
        if row.get("conditioning"):  # G(z, y): the config's, whatever set it (a preset too)
            lines.append(f"{indent}conditioning: {row['conditioning']}")
        if row["alarms"]:  # a collapse the run's evaluations showed, with its step
            lines.append(shorten([row["alarms"]], WIDTH - len(indent) - 8, f"{indent}alarms: "))
        if each_machine and row["computed_on"]:
            lines.append(shorten([row["computed_on"]], WIDTH - len(indent) - 4, f"{indent}on: "))
        if row["status"] != "completed" and row["reason"]:
            prefix = f"{indent}reason: "
            lines.append(shorten([row["reason"]], WIDTH - len(prefix), prefix))
    return lines


def shorten(items: list[str], width: int, prefix: str = "") -> str:
    """The items joined by spaces in at most `width` characters (after the prefix): cut after
    the last item that fits, saying how many were left out; an item too long alone is cut."""
    text = " ".join(items)
    if len(text) <= width:
        return prefix + text
    for kept in range(len(items) - 1, 0, -1):
        head, tail = " ".join(items[:kept]), f"... (+{len(items) - kept})"
        if len(head) + 1 + len(tail) <= width:
            return f"{prefix}{head} {tail}"
    tail = f" (+{len(items) - 1})" if len(items) > 1 else ""
    return f"{prefix}{items[0][:max(0, width - len(tail) - 3)]}...{tail}"


def duration(seconds: float | None) -> str:
    """Wall time for the table: 0.5s, 42s, 6m52s, 1h03m; empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    minutes, whole = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{whole:02d}s" if minutes else f"{whole}s"
