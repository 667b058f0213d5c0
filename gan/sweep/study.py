"""Turn a remedies study's run directories into `docs/results.md`: tables, samples, a verdict
(the command is `python -m gan.study SWEEP_DIR OUT.md`).

Every number in the output is read from the runs' `metrics.json` and `config.yaml`.
"""

import json
import shutil
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from gan.errors import UserError
from gan.metrics.names import FINAL_LOSSES, LABELS

COLUMNS = ("modes_covered", "class_kl", "fid", *FINAL_LOSSES)  # the table's, in this order
DIGITS = dict(zip(COLUMNS, (1, 3, 1, 3, 3), strict=True))  # decimals shown
DISCRIMINATORS = {"FCDiscriminator": "fc", "CNNDiscriminator": "cnn"}


def read_run(run_dir: Path) -> dict[str, Any]:
    """One run's set-up (discriminator, remedies, seed, steps) and final metrics."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    remedies = sorted((cfg.get("remedy") or {}).keys())
    return {"discriminator": DISCRIMINATORS.get(cfg.discriminator._target_.rsplit(".", 1)[-1],
                                                cfg.discriminator._target_),
            "setup": " + ".join(remedies) or "none", "seed": int(cfg.train.seed),
            "steps": int(cfg.train.steps), "run_dir": run_dir,
            **{name: metrics.get(name) for name in COLUMNS}}


def collect(root: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Completed runs under root grouped by (discriminator, set-up); unfinished and failed runs
    (a metrics.json whose status is not completed) are left out, and said so on stderr."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for metrics in sorted(root.rglob("metrics.json")):
        status = json.loads(metrics.read_text()).get("status", "completed")
        if status != "completed":
            print(f"left out: {metrics.parent} ({status})", file=sys.stderr)
            continue
        run = read_run(metrics.parent)
        groups[(run["discriminator"], run["setup"])].append(run)
    if not groups:
        raise UserError(f"no finished runs (metrics.json) under {root}")
    return groups


def spread(values: list[float]) -> tuple[float, float]:
    """Mean and standard deviation (0 for a single run)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(values: list[float], digits: int) -> str:
    """mean ± std to `digits` decimals."""
    mean, std = spread(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def verdict(setup: str, runs: list[dict], baseline: list[dict]) -> tuple[str, str]:
    """Helps, hurts or no clear change against no remedy, judged on FID and class KL together."""
    changes, numbers = [], []
    for name in ("fid", "class_kl"):
        (mean, std), (base_mean, base_std) = (spread([run[name] for run in group])
                                              for group in (runs, baseline))
        margin = max(std, base_std)
        changes.append(-1 if mean < base_mean - margin else 1 if mean > base_mean + margin else 0)
        numbers.append(f"{name} {base_mean:.3g} -> {mean:.3g}")
    said = ", ".join(numbers)
    if all(change <= 0 for change in changes) and any(changes):
        return "helps", f"**{setup}** helps ({said}, beyond the seeds' spread)"
    if all(change >= 0 for change in changes) and any(changes):
        return "hurts", f"**{setup}** hurts ({said}, beyond the seeds' spread)"
    return "no clear difference", (f"**{setup}** makes no clear difference ({said}; within the "
                                   "seeds' spread, or mixed)")


def table(groups: dict[tuple[str, str], list[dict]], discriminator: str) -> list[str]:
    """One markdown table: a row per set-up, none first, then by mean FID."""
    setups = {setup: runs for (disc, setup), runs in groups.items() if disc == discriminator}
    order = sorted(setups, key=lambda s: (s != "none", spread([r["fid"] for r in setups[s]])[0]))
    lines = ["| set-up | runs | " + " | ".join(LABELS[name] for name in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for setup in order:
        runs = setups[setup]
        cells = " | ".join(cell([run[name] for run in runs], DIGITS[name]) for name in COLUMNS)
        lines.append(f"| {setup} | {len(runs)} | {cells} |")
    return lines


def pictures(groups: dict[tuple[str, str], list[dict]], discriminator: str,
             out: Path) -> list[str]:
    """Each set-up's final digits from its lowest seed, copied beside the results."""
    folder = out.parent / "results"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for (disc, setup), runs in sorted(groups.items()):
        if disc != discriminator:
            continue
        first = min(runs, key=lambda run: run["seed"])
        name = f"{disc}_{setup.replace(' + ', '+')}.png"
        shutil.copyfile(first["run_dir"] / "samples" / "final" / "grid.png", folder / name)
        lines.append(f"**{setup}** (seed {first['seed']}):\n\n![{disc} {setup}](results/{name})\n")
    return lines


def section(groups: dict[tuple[str, str], list[dict]], discriminator: str, out: Path) -> str:
    """Table, verdicts and pictures for one discriminator."""
    runs = [run for (disc, _), group in groups.items() if disc == discriminator for run in group]
    steps = sorted({run["steps"] for run in runs})
    baseline = groups.get((discriminator, "none"))
    verdicts = [f"- {verdict(setup, group, baseline)[1]}"
                for (disc, setup), group in sorted(groups.items())
                if disc == discriminator and setup != "none" and baseline]
    return "\n".join([f"## discriminator={discriminator}", "",
                      f"{len(runs)} runs of {', '.join(map(str, steps))} steps; mean ± std over "
                      "seeds; the metrics of the last evaluation (10,000 samples).", "",
                      *table(groups, discriminator), "", *verdicts, "",
                      *pictures(groups, discriminator, out)])


def answer(groups: dict[tuple[str, str], list[dict]], discriminators: list[str]) -> list[str]:
    """The report's question answered in one line per discriminator, from the verdicts."""
    lines = ["## The answer", ""]
    for discriminator in discriminators:
        baseline = groups.get((discriminator, "none"))
        if not baseline:
            continue
        kinds: dict[str, list[str]] = defaultdict(list)
        for (disc, setup), runs in sorted(groups.items()):
            if disc == discriminator and setup != "none":
                kinds[verdict(setup, runs, baseline)[0]].append(setup)
        modes = spread([run["modes_covered"] for run in baseline])[0]
        said = "; ".join(f"{kind}: {', '.join(setups)}" for kind, setups in sorted(kinds.items()))
        lines.append(f"- **{discriminator}** (no remedy covers {modes:.1f} of 10 modes): {said}.")
    return [*lines, ""]


def write(root: Path, out: Path) -> None:
    """Collect the runs under root and write the results page to out."""
    groups = collect(root)
    discriminators = sorted({disc for disc, _ in groups}, key=lambda d: (d != "fc", d))
    header = ["# Which remedies fix the collapse?", "",
              f"Generated by `python -m gan.study {root} {out}` from the runs of "
              "`python train.py -m experiment=remedy_study_fc` and `experiment=remedy_study_cnn`"
              " (see the README). Lower FID and class KL are better; 10 modes is full coverage. "
              "A remedy helps or hurts here only when its mean moves beyond the larger of the two "
              "set-ups' standard deviations over seeds.", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    sections = [section(groups, d, out) for d in discriminators]
    out.write_text("\n".join(header + answer(groups, discriminators) + sections) + "\n")
