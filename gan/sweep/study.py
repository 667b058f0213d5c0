"""Turn a sweep's run directories into a results page such as `docs/results.md`: per
discriminator, a table of set-ups pooled over seeds, verdicts against no remedy, sample grids
(the command is `python -m gan.study SWEEP_DIR OUT.md`).

A set-up is what a run did apart from its seed. Its discriminator gives it a section of its
own. Within a section, set-ups are told apart by their remedies (read from the run's config:
`feature_matching + historical_averaging`, `none` for no remedy) and by every other override
(`.hydra/overrides.yaml`) whose value differs between the section's runs, `train.seed` aside.
A value is compared as the run's config has it, so `optimizer.lr=1e-4` and a run left at that
default agree. Those overrides join the label (`none, optimizer.lr=0.0001`); where no run of a
section has a remedy, the label is the differing overrides alone (`optimizer.lr=0.0001`). Runs
of one set-up are pooled: mean ± std over their seeds.

A set-up with remedies is judged against the `none` set-up with the same other overrides: it
helps or hurts only when its mean FID and class KL move beyond the larger of the two set-ups'
standard deviations over seeds. Without such a baseline the page says so instead of a verdict.

There is nothing to pool, and the sweep is refused in one line, when no set-up has completed
runs of two or more different seeds: every set-up is then one draw, with no spread over seeds
to tell a real difference from chance.

Every number in the output is read from the runs' `metrics.json` and `config.yaml`.
"""

import re
import shutil
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from gan.errors import UserError
from gan.metrics.names import FINAL_LOSSES, LABELS
from gan.sweep.runs import find, key
from gan.sweep.summary import read_job

COLUMNS = ("modes_covered", "class_kl", "fid", *FINAL_LOSSES)  # the table's, in this order
DIGITS = dict(zip(COLUMNS, (1, 3, 1, 3, 3), strict=True))  # decimals shown
DISCRIMINATORS = {"FCDiscriminator": "fc", "CNNDiscriminator": "cnn"}
SEED = "train.seed"  # the override whose runs are pooled
# Overrides that change where or how fast a run computes, not what: never another set-up.
WHERE = ("dataset.root", "train.device", "train.threads", "eval.batch_size")
REMEDY = "remedy"  # its override is read back from the config, as the remedies' names
NONE = "none"  # the remedies of a run without any: the baseline


@dataclass
class SetUp:
    """The runs of one set-up: a discriminator, remedies and the other overrides that differ
    in its section; `label` names it in the page."""

    discriminator: str
    remedies: str
    others: tuple[str, ...]
    label: str
    runs: list[dict[str, Any]]

    def values(self, name: str) -> list[float]:
        """A metric of every run that has it."""
        return [run[name] for run in self.runs if run[name] is not None]


def read_run(run_dir: Path, job: dict[str, Any]) -> dict[str, Any]:
    """One run: its overrides and final metrics (`job`, as the sweep summary reads a job) with
    its set-up from its config: discriminator, remedies, seed, steps."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    target = cfg.discriminator._target_
    remedies = sorted((cfg.get("remedy") or {}).keys())
    return job | {
        "config": cfg, "run_dir": run_dir, "seed": int(cfg.train.seed),
        "steps": int(cfg.train.steps), "eval_n": OmegaConf.select(cfg, "eval.n"),
        "discriminator": DISCRIMINATORS.get(target.rsplit(".", 1)[-1], target),
        "remedies": " + ".join(remedies) or NONE}


def collect(root: Path) -> list[SetUp]:
    """The completed runs under root as set-ups; unfinished and failed runs (a metrics.json
    whose status is not completed, or none) are left out, and said so on stderr."""
    if not root.is_dir():
        raise UserError(f"{root} is not a directory")
    runs = []
    for run_dir in find(root):
        job = read_job(run_dir, root)
        status = job["status"]
        if status == "completed" and not (run_dir / "config.yaml").is_file():
            status = "no config.yaml"
        if status != "completed":
            print(f"left out: {run_dir} ({status})", file=sys.stderr)
            continue
        runs.append(read_run(run_dir, job))
    if not runs:
        raise UserError(f"no finished runs (metrics.json) under {root}")
    return setups(runs)


def setups(runs: list[dict[str, Any]]) -> list[SetUp]:
    """Runs grouped by discriminator, remedies and the other overrides that differ within
    their discriminator's section."""
    sections: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        sections[run["discriminator"]].append(run)
    found: dict[tuple[str, str, tuple[str, ...]], SetUp] = {}
    for discriminator, section in sections.items():
        names = sorted({key(o) for run in section for o in run["overrides"]}
                       - {SEED, REMEDY, *WHERE})
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
    value = OmegaConf.select(run["config"], name, default=None)
    if value is not None and not OmegaConf.is_config(value):
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
    """Helps, hurts or no clear change against no remedy, judged on FID and class KL together."""
    changes, numbers = [], []
    for name in ("fid", "class_kl"):
        if not setup.values(name) or not base.values(name):
            return "not judged", (f"**{setup.label}** is not judged: it or `{base.label}` has no "
                                  f"{name} (no evaluation)")
        (mean, std), (base_mean, base_std) = spread(setup.values(name)), spread(base.values(name))
        margin = max(std, base_std)
        changes.append(-1 if mean < base_mean - margin else 1 if mean > base_mean + margin else 0)
        numbers.append(f"{name} {base_mean:.3g} -> {mean:.3g}")
    said = ", ".join(numbers)
    if all(change <= 0 for change in changes) and any(changes):
        return "helps", f"**{setup.label}** helps ({said}, beyond the seeds' spread)"
    if all(change >= 0 for change in changes) and any(changes):
        return "hurts", f"**{setup.label}** hurts ({said}, beyond the seeds' spread)"
    return "no clear difference", (f"**{setup.label}** makes no clear difference ({said}; within "
                                   "the seeds' spread, or mixed)")


def table(section: list[SetUp]) -> list[str]:
    """One markdown table: a row per set-up, those without remedies first, then by mean FID."""
    def mean_fid(setup: SetUp) -> float:  # set-ups without FID last
        return spread(setup.values("fid"))[0] if setup.values("fid") else float("inf")

    lines = ["| set-up | runs | " + " | ".join(LABELS[name] for name in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for setup in sorted(section, key=lambda s: (s.remedies != NONE, mean_fid(s), s.label)):
        cells = " | ".join(cell(setup.values(name), DIGITS[name]) for name in COLUMNS)
        lines.append(f"| {setup.label.replace('|', chr(92) + '|')} | {len(setup.runs)} | {cells} |")
    return lines


def pictures(section: list[SetUp], out: Path) -> list[str]:
    """Each set-up's final digits from its lowest seed, copied beside the results."""
    folder = out.parent / "results"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for setup in sorted(section, key=lambda s: s.label):
        first = min(setup.runs, key=lambda run: run["seed"])
        grid = first["run_dir"] / "samples" / "final" / "grid.png"
        if not grid.is_file():
            lines.append(f"**{setup.label}** (seed {first['seed']}): no final digits in "
                         f"{first['run_dir']}.\n")
            continue
        name = f"{setup.discriminator}_{file_name(setup.label)}.png"
        shutil.copyfile(grid, folder / name)
        alt = re.sub(r"[\[\]]", "", f"{setup.discriminator} {setup.label}")
        lines.append(f"**{setup.label}** (seed {first['seed']}):\n\n![{alt}](results/{name})\n")
    return lines


def file_name(label: str) -> str:
    """A label as part of a file name: `balance+ema`, `none_optimizer.lr=0.0001`."""
    return re.sub(r"[^\w.+=-]", "_", label.replace(" + ", "+").replace(", ", "_"))


def section_text(section: list[SetUp], out: Path) -> str:
    """Table, verdicts (or that a set-up has no baseline) and pictures for one discriminator."""
    runs = [run for setup in section for run in setup.runs]
    steps = ", ".join(map(str, sorted({run["steps"] for run in runs})))
    samples = sorted({run["eval_n"] for run in runs if run["eval_n"] and run["fid"] is not None})
    measured = (f"the metrics of the last evaluation ({', '.join(f'{n:,}' for n in samples)} "
                "samples)" if samples else "no evaluation, so no metrics but the losses")
    verdicts = [f"- {verdict(setup, base)[1]}" if (base := baseline(setup, section)) else
                f"- **{setup.label}** is not judged: no `none` set-up with the same overrides "
                "to judge it against" for setup in sorted(section, key=lambda s: s.label)
                if setup.remedies != NONE]
    return "\n".join([f"## discriminator={section[0].discriminator}", "",
                      f"{len(runs)} runs of {steps} steps; mean ± std over seeds; {measured}.",
                      "", *table(section), "", *verdicts, *([""] if verdicts else []),
                      *pictures(section, out)])


def answer(sections: list[list[SetUp]]) -> list[str]:
    """The report's question answered in a line per discriminator (and per other overrides),
    from the verdicts; or, plainly, why there is no answer."""
    lines = ["## The answer", ""]
    for section in sections:
        discriminator = section[0].discriminator
        judged = [setup for setup in section if setup.remedies != NONE]
        baselines = sorted((s for s in section if s.remedies == NONE), key=lambda s: s.others)
        if not judged:
            lines.append(f"- **{discriminator}**: these runs try no remedy, so nothing is judged "
                         "against `none`; the table ranks the set-ups by FID.")
            continue
        if not baselines:
            lines.append(f"- **{discriminator}**: no `none` set-up (the same runs without a "
                         "remedy) to judge the remedies against, so no verdicts; the table "
                         "ranks the set-ups by FID.")
            continue
        for base in baselines:
            kinds: dict[str, list[str]] = defaultdict(list)
            for setup in sorted(judged, key=lambda s: s.label):
                if setup.others == base.others:
                    kinds[verdict(setup, base)[0]].append(setup.remedies)
            if not kinds:
                continue
            name = ", ".join([discriminator, *base.others])
            modes = base.values("modes_covered")
            covered = f" (no remedy covers {spread(modes)[0]:.1f} of 10 modes)" if modes else ""
            said = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in sorted(kinds.items()))
            lines.append(f"- **{name}**{covered}: {said}.")
        alone = [setup.label for setup in judged if baseline(setup, section) is None]
        if alone:
            lines.append(f"- **{discriminator}**: no `none` set-up with the same overrides to "
                         f"judge {', '.join(f'**{label}**' for label in sorted(alone))} against.")
    return [*lines, ""]


def header(root: Path, out: Path, sections: list[list[SetUp]]) -> list[str]:
    """The page's title and how to read it."""
    all_setups = [setup for section in sections for setup in section]
    runs = [run for setup in all_setups for run in setup.runs]
    remedies = any(setup.remedies != NONE for setup in all_setups)
    experiments = list(dict.fromkeys(o for run in runs for o in run["overrides"]
                                     if key(o) == "experiment"))
    source = (f"the runs of `python train.py -m {experiments[0]}`"
              + "".join(f" and `{name}`" for name in experiments[1:]) + " (see the README)"
              if experiments else f"the {len(runs)} completed runs under `{root}`")
    text = (f"Generated by `python -m gan.study {root} {out}` from {source}. Lower FID and class "
            "KL are better; 10 modes is full coverage. Runs that differ only in `train.seed` "
            "are pooled.")
    if remedies:
        paired = any(setup.others for setup in all_setups)
        text += (" A remedy helps or hurts here only when its mean moves beyond the larger of "
                 "the two set-ups' standard deviations over seeds"
                 + (" (against no remedy with the same other overrides)." if paired else "."))
    return [f"# {'Which remedies fix the collapse?' if remedies else 'How the set-ups compare'}",
            "", text, ""]


def write(root: Path, out: Path) -> None:
    """Collect the runs under root and write the results page to out; refuse a sweep with
    nothing to pool (no set-up with runs of two or more seeds)."""
    all_setups = collect(root)
    if not any(len({run["seed"] for run in setup.runs}) > 1 for setup in all_setups):
        raise UserError(f"nothing to pool under {root}: no set-up has completed runs of two or "
                        f"more seeds ({len(all_setups)} set-ups, one seed each); sweep "
                        f"{SEED} too, e.g. {SEED}=0,1,2")
    by_discriminator: dict[str, list[SetUp]] = defaultdict(list)
    for setup in all_setups:
        by_discriminator[setup.discriminator].append(setup)
    sections = [by_discriminator[d] for d in sorted(by_discriminator, key=lambda d: (d != "fc", d))]
    out.parent.mkdir(parents=True, exist_ok=True)
    texts = [section_text(section, out) for section in sections]
    out.write_text("\n".join(header(root, out, sections) + answer(sections) + texts) + "\n")
