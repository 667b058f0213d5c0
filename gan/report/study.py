"""A sweep's run directories as set-ups pooled over seeds, and their verdicts against no
remedy: the numbers behind a results page such as `docs/results.md` (written by
`gan.report.study_page`; the command is `python -m gan.study SWEEP_DIR OUT.md`).

A set-up is what a run did apart from its seed. Its discriminator gives it a section of its
own. Within a section, set-ups are told apart by their named set-up (`setup=wgan_gp`, one of
conf/setup/; `setup=none` is no remedy) or else their remedies (read from the run's config:
`feature_matching + historical_averaging`, `none` for no remedy), and by every other override
(`.hydra/overrides.yaml`) whose value differs between the section's runs, `train.seed` aside.
A value is compared as the run's config has it, so `optimizer.lr=1e-4` and a run left at that
default agree. Those overrides join the label (`none, optimizer.lr=0.0001`); where no run of a
section has a remedy, the label is the differing overrides alone (`optimizer.lr=0.0001`). Runs
of one set-up are pooled: mean ± std over their seeds.

A set-up with remedies is judged against the `none` set-up with the same other overrides: it
helps or hurts only when its mean FID and class KL move beyond the larger of the two set-ups'
standard deviations over seeds; it changes nothing when every seed ends exactly where that
baseline's does. Without such a baseline the page says so instead of a verdict.

There is nothing to pool, and the sweep is refused in one line, when no set-up has completed
runs of two or more different seeds: every set-up is then one draw, with no spread over seeds
to tell a real difference from chance.

Every number in the output is read from the runs' `metrics.json` and `config.yaml`; the
threads of each part of a run continued after a stop from its `metrics.json`'s `parts` (from
its `train.log` for runs from before they were recorded).
"""

import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan.errors import UserError
from gan.metrics.names import FINAL_LOSSES, LABELS
from gan.report.runs import find
from gan.report.saved import read_yaml, select
from gan.report.study_cost import StepCost
from gan.report.summary import METRICS, key, read_job

COLUMNS = ("modes_covered", "class_kl", "fid", "precision", "recall", "ms_per_step",
           *FINAL_LOSSES)  # the table's, in this order
DIGITS = dict(zip(COLUMNS, (1, 3, 1, 3, 3, 2, 3, 3), strict=True))  # decimals shown
HEADINGS = LABELS | {"ms_per_step": "ms per step"}
DISCRIMINATORS = {"FCDiscriminator": "fc", "CNNDiscriminator": "cnn", "DCGANDiscriminator": "dcgan"}
SEED = "train.seed"  # the override whose runs are pooled
# Overrides that change where or how fast a run computes, not what: never another set-up.
WHERE = ("dataset.root", "train.device", "train.threads", "eval.batch_size",
         "resume")  # resume=: a continued sweep's or run's, where it went on from
REMEDY = "remedy"  # its override is read back from the config, as the remedies' names
SETUP = "setup"  # a named set-up (conf/setup/): it names the run's remedies, loss and settings
NONE = "none"  # the remedies of a run without any: the baseline
# What a set-up reads of each run's metrics.json (through the sweep summary's reader).
RECORDED = (*METRICS, "steps", "loop_seconds", "steps_per_second", "device", "threads",
            "parts", "class_histogram")
# train.log's line for each part of a run (`gan.run.loop.continued`): its threads, for runs
# from before metrics.json recorded its parts.
PART_THREADS = re.compile(r"computing on .*?\b(\d+) threads?\b")
COUNTED = ("completed", "diverged")  # runs a set-up reports: scored, or failed as it would again


@dataclass
class SetUp:
    """The runs of one set-up: a discriminator, remedies and the other overrides that differ
    in its section; `label` names it in the page."""

    discriminator: str
    remedies: str
    others: tuple[str, ...]
    label: str
    runs: list[dict[str, Any]]
    cost: StepCost | None = None  # its step against no remedy's, timed in pairs (if it was)

    def values(self, name: str) -> list[float]:
        """A metric of every completed run that has it."""
        return [run[name] for run in self.completed if run.get(name) is not None]

    @property
    def completed(self) -> list[dict[str, Any]]:
        """The runs that completed (the rest diverged)."""
        return [run for run in self.runs if run["status"] == "completed"]


def read_run(run_dir: Path, job: dict[str, Any]) -> dict[str, Any]:
    """One run: its overrides and final metrics (`job`, as the sweep summary reads a job) with
    its set-up from its config: discriminator, remedies, seed, steps."""
    cfg = read_yaml(run_dir / "config.yaml")
    target = cfg["discriminator"]["_target_"]
    named = [o.split("=", 1)[1] for o in job["overrides"] if key(o) == SETUP]
    remedies = named[-1:] or sorted((cfg.get("remedy") or {}).keys())
    return job | {
        "config": cfg, "run_dir": run_dir, "seed": int(cfg["train"]["seed"]),
        "steps": int(cfg["train"]["steps"]), "eval_n": select(cfg, "eval.n"),
        "discriminator": DISCRIMINATORS.get(target.rsplit(".", 1)[-1], target),
        "remedies": " + ".join(remedies) or NONE, "ms_per_step": ms_per_step(job),
        "threads_by_part": threads_by_part(run_dir, job)}


def ms_per_step(job: dict[str, Any]) -> float | None:
    """The training loop's wall time per step over the whole run, every part of a resumed run
    and the evaluations included (metrics.json's loop_seconds over its steps); a record without
    loop_seconds gives its last part's (steps_per_second), the only speed it kept."""
    if job.get("loop_seconds") and job.get("steps"):
        return 1000 * job["loop_seconds"] / job["steps"]
    speed = job.get("steps_per_second")
    return 1000 / speed if speed else None


def threads_by_part(run_dir: Path, job: dict[str, Any]) -> tuple[int, ...]:
    """The CPU threads of each part of a run, a resumed run's in order (one entry where a
    part kept the previous part's count): as its metrics.json's `parts` record them (runs
    since they are recorded); else as its train.log says them; else its metrics.json's
    `threads` (the last part's), or none."""
    recorded = job.get("parts") or []
    if recorded and recorded[0].get("from_step") == 0 and all(
            part.get("threads") for part in recorded):
        said = [int(part["threads"]) for part in recorded]
    else:
        log = run_dir / "train.log"
        said = [int(found.group(1)) for line in
                (log.read_text(errors="replace").splitlines() if log.is_file() else [])
                if (found := PART_THREADS.search(line))]
    parts = [count for k, count in enumerate(said) if k == 0 or said[k - 1] != count]
    last = job.get("threads")
    return tuple(parts) or ((last,) if last else ())


def threads_said(parts: tuple[int, ...]) -> str:
    """A run's threads in words: `1 thread`, `2 threads`, `1, then 2 threads` (a run resumed
    on another count), `? threads` where none were recorded."""
    if not parts:
        return "? threads"
    counts = ", then ".join(str(count) for count in parts)
    return f"{counts} thread{'' if parts == (1,) else 's'}"


def collect(root: Path, recorded: tuple[str, ...] = RECORDED
            ) -> tuple[list[SetUp], list[tuple[Path, str]]]:
    """The completed and diverged runs under root as set-ups (a diverged run is counted, not
    scored), each with the values of `recorded` from its metrics.json, and the runs left out
    with why: unfinished and other failed runs (a metrics.json whose status is neither, or
    none, or no config.yaml), each also said on stderr."""
    if not root.is_dir():
        raise UserError(f"{root} is not a directory")
    runs, left = [], []
    for run_dir in find(root):
        job = read_job(run_dir, root, recorded)
        status = job["status"]
        if status in COUNTED and not (run_dir / "config.yaml").is_file():
            status = f"{status}, no config.yaml"
        if status not in COUNTED:
            reason = str(job.get("reason") or "").strip().splitlines()
            left.append((run_dir, f"{status}: {reason[0]}" if reason else status))
            print(f"left out: {run_dir} ({left[-1][1]})", file=sys.stderr)
            continue
        runs.append(read_run(run_dir, job))
    if not runs:
        raise UserError(f"no finished runs (metrics.json) under {root}")
    return setups(runs), left


def setups(runs: list[dict[str, Any]]) -> list[SetUp]:
    """Runs grouped by discriminator, remedies and the other overrides that differ within
    their discriminator's section."""
    sections: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        sections[run["discriminator"]].append(run)
    found: dict[tuple[str, str, tuple[str, ...]], SetUp] = {}
    for discriminator, section in sections.items():
        names = sorted({key(o) for run in section for o in run["overrides"]}
                       - {SEED, REMEDY, SETUP, *WHERE})
        values = [{name: setting(run, name) for name in names} for run in section]
        differing = [name for name in names if len({named[name] for named in values}) > 1]
        any_remedy = any(run["remedies"] != NONE for run in section)
        for run, named in zip(section, values, strict=True):
            others = tuple(named[name] for name in differing)
            label = ", ".join(([run["remedies"]] if any_remedy else []) + list(others)) or NONE
            setup = found.setdefault((discriminator, run["remedies"], others),
                                     SetUp(discriminator, run["remedies"], others, label, []))
            setup.runs.append(run)
    return list(found.values())


def setting(run: dict[str, Any], name: str) -> str:
    """What a run had for an override's key, as `key=value`: the value in its config where that
    is one value (so `optimizer.lr=1e-4` and `optimizer.lr=0.0001` agree, and so does a run that
    left it at that default), else its override (`experiment=...`, a config group), else that
    it left it at its default."""
    value = select(run["config"], name)
    if value is not None and not isinstance(value, dict | list):
        return f"{name}={value}"
    given = [o for o in run["overrides"] if key(o) == name]
    return given[-1] if given else f"{name} by default"


def spread(values: list[float]) -> tuple[float, float]:
    """Mean and standard deviation (0 for a single run)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(values: list[float], digits: int) -> str:
    """mean ± std to `digits` decimals; a single run's value alone; `–` for none."""
    if len(values) < 2:
        return f"{values[0]:.{digits}f}" if values else "–"
    mean, std = spread(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def baseline(setup: SetUp, section: list[SetUp]) -> SetUp | None:
    """The `none` set-up of its section that a set-up with remedies is judged against: the one
    with the same other overrides."""
    return next((other for other in section if other.remedies == NONE
                 and other.others == setup.others), None)


def verdict(setup: SetUp, base: SetUp) -> tuple[str, str]:
    """Helps, hurts or no clear change against no remedy, judged on FID and class KL together;
    changes nothing where every seed ends exactly where no remedy's does (`same_ends`: a remedy
    asking for what the networks already have); not judged where either set-up has fewer than
    two completed runs (no spread to judge by)."""
    changes, numbers = [], []
    if min(len(setup.completed), len(base.completed)) < 2:
        return "not judged", (f"**{setup.label}** is not judged: it or `{base.label}` has fewer "
                              "than two completed runs, so no spread over seeds to judge by")
    for name in ("fid", "class_kl"):
        if not setup.values(name) or not base.values(name):
            return "not judged", (f"**{setup.label}** is not judged: it or `{base.label}` has no "
                                  f"{name} (no evaluation)")
    if same_ends(setup, base):
        return "changes nothing", (f"**{setup.label}** changes nothing here: every seed ends "
                                   f"exactly where `{base.label}` does, to the last digit of FID "
                                   "and class KL, so it changed nothing these runs compute")
    for name in ("fid", "class_kl"):
        (mean, std), (base_mean, base_std) = spread(setup.values(name)), spread(base.values(name))
        margin = max(std, base_std)
        changes.append(-1 if mean < base_mean - margin else 1 if mean > base_mean + margin else 0)
        numbers.append(f"{name} {base_mean:.3g} -> {mean:.3g}")
    if all(change <= 0 for change in changes) and any(changes):
        return "helps", f"**{setup.label}** helps ({moved(numbers, changes)})"
    if all(change >= 0 for change in changes) and any(changes):
        return "hurts", f"**{setup.label}** hurts ({moved(numbers, changes)})"
    return "no clear difference", (f"**{setup.label}** makes no clear difference "
                                   f"({', '.join(numbers)}; within the seeds' spread, or mixed)")


def same_ends(setup: SetUp, base: SetUp) -> bool:
    """Whether two set-ups' completed runs are the same seeds and end, seed for seed, at the
    same FID and class KL to the last digit: the remedy changed nothing in these runs."""
    ends = [{run["seed"]: (run.get("fid"), run.get("class_kl")) for run in s.completed}
            for s in (setup, base)]
    return ends[0] == ends[1]


def moved(numbers: list[str], changes: list[int]) -> str:
    """The metrics of a verdict, each saying whether it moved beyond the seeds' spread: a set-up
    helps when one moves and the other stays within it, and the page says which."""
    if all(changes):
        return f"{', '.join(numbers)}, beyond the seeds' spread"
    where = {True: "beyond the seeds' spread", False: "within it"}
    return "; ".join(f"{said} {where[bool(change)]}"
                     for said, change in zip(numbers, changes, strict=True))
