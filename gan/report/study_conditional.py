"""A class-conditional study's page (`python -m gan.study SWEEP_DIR OUT.md [unconditional_fid=F]`
on runs whose metrics.json has `conditional_accuracy`): the set-ups, told apart by their
`conditioning` (and any other override that differs), pooled over `train.seed` as
`gan.report.study` pools them (mean ± std over seeds); which is best by intra-FID; issue 38's
targets, each met or missed, beside what real data scores; per-class accuracy and recall; each
set-up's final class grid. Every number is read from the runs' metrics.json and config.yaml,
but the unconditional FID the intra-FID target is drawn from, which is given on the command line.

The targets (issue 38), never lowered: conditional accuracy at least 99 % in every class on
MNIST (95 % on Fashion-MNIST), intra-FID within 2x of the best unconditional preset's FID, and
every class's recall at least 0.8 (no collapse inside a class). A set-up meets one only where
every completed seed does. Beside each stands what real images requested as their own labels
score (each run's `real_` references: `eval.n` training images, scored against the test set as
its samples are): the evaluator's
classifier reads some real classes below 99 % itself (MNIST test digits 0.985-0.99 in the worst
classes, Fashion-MNIST shirts about 0.72-0.8; see `gan.metrics.conditional`), and a class's FID
is of one class's share of the samples, so biased upwards against a whole-set FID; the page says so
plainly wherever a target asks for more than real data reaches.
"""

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan.errors import UserError
from gan.metrics.names import CONDITIONAL_SCORES, LABELS, SHOWN_CLASSES
from gan.report.runs import conditioning, find, named_conditioning
from gan.report.saved import select
from gan.report.study import RECORDED, SEED, SetUp, cell, collect, spread
from gan.report.study_answer import pooled
from gan.report.study_page import (
    grids,
    in_progress,
    left_out,
    pictures_folder,
    provenance,
    remove_stale,
    unrun,
)
from gan.report.summary import key, read_metrics

ARGUMENT = "unconditional_fid"  # gan.study's key=value argument: the intra-FID target's base
PER_CLASS = ("class_accuracy", "class_recall")  # the per-class tables, lists of K in metrics.json
RECORDED_HERE = (*RECORDED, *CONDITIONAL_SCORES, *PER_CLASS, "class_manifold_note",
                 *(f"real_{name}" for name in (*CONDITIONAL_SCORES, "fid", "class_kl",
                                               *PER_CLASS)))
COLUMNS = (*CONDITIONAL_SCORES, "fid", "class_kl", "ms_per_step")  # the table's, in this order
DIGITS = dict(zip(COLUMNS, (3, 3, 1, 3, 1, 3, 2), strict=True))  # decimals shown
HEADINGS = LABELS | {"ms_per_step": "ms per step"}
# The targets: conditional accuracy in every class, by dataset (config.yaml's
# dataset.name); every class's recall; intra-FID within this many times the unconditional FID.
ACCURACY = {"mnist": 0.99, "fashion_mnist": 0.95}
RECALL = 0.8
FID_TIMES = 2.0
CLASS_NAMES = {"fashion_mnist": ("T-shirt/top", "trouser", "pullover", "dress", "coat",
                                 "sandal", "shirt", "sneaker", "bag", "ankle boot")}
REAL = "real images (reference)"  # the real-data row of the tables
EACH = ("each run's eval.n training images requested as their own labels, scored against the "
        "test set as its samples are")  # what the real_ references are (gan.run.loop)


@dataclass(frozen=True)
class Reference:
    """The best unconditional FID the intra-FID target is drawn from, and where it came from,
    in words for the page."""

    fid: float
    source: str


def reference(value: str) -> Reference:
    """`unconditional_fid=`'s value: an FID, or a run directory (or its metrics.json) whose final
    FID is taken and named on the page. Raises UserError for anything else."""
    try:
        fid = float(value)
        source = f"given on the command line as `{ARGUMENT}={value}`"
    except ValueError:
        path = Path(value)
        metrics = path if path.suffix == ".json" else path / "metrics.json"
        if not metrics.is_file():
            raise UserError(f"{ARGUMENT}={value}: neither an FID nor a run directory with a "
                            "metrics.json") from None
        fid = read_metrics(metrics).get("fid")
        if not isinstance(fid, int | float):
            raise UserError(f"{ARGUMENT}={value}: {metrics} has no final FID") from None
        source = f"the final FID of the run `{metrics.parent}` (`{ARGUMENT}={value}`)"
    if not math.isfinite(fid) or fid <= 0:
        raise UserError(f"{ARGUMENT}={value}: an FID is a positive number")
    return Reference(float(fid), source)


def conditional_under(root: Path) -> bool:
    """Whether any run under root is class-conditional: its metrics.json has
    `conditional_accuracy` (an unconditional run's has no such key), or, before it has one,
    its config.yaml names a conditioning."""
    return any("conditional_accuracy" in read_metrics(run_dir / "metrics.json")
               or conditioning(run_dir) for run_dir in find(root))


def relabel(setups: list[SetUp]) -> None:
    """Name each set-up by its conditioning (its config's, `none` for an unconditional one) and
    the other overrides that differ (`projection, optimizer.lr=0.0001`), its discriminator
    first where the sweep has several."""
    several = len({setup.discriminator for setup in setups}) > 1
    for setup in setups:
        named = named_conditioning(setup.runs[0]["config"]) or "none"
        others = [o for o in setup.others  # `conditioning by default`: left at none
                  if key(o).removesuffix(" by default") != "conditioning"]
        setup.label = ", ".join([f"{setup.discriminator}: {named}" if several else named,
                                 *others])


def dataset(setups: list[SetUp]) -> str:
    """The one dataset the runs are of (config.yaml's dataset.name). Raises UserError where
    they are of several: one page each."""
    names = {str(select(run["config"], "dataset.name")) for s in setups for run in s.runs}
    if len(names) > 1:
        raise UserError(f"the runs are of {len(names)} datasets ({', '.join(sorted(names))}): "
                        "one page each, from each one's folder "
                        "(multirun/study/conditional/<dataset>)")
    return names.pop()


def mean_or_none(setup: SetUp, name: str) -> float | None:
    """The mean over seeds of a metric, or None where no completed run has it."""
    values = setup.values(name)
    return statistics.fmean(values) if values else None


def per_class_mean(runs: list[dict[str, Any]], name: str) -> list[float | None]:
    """The mean over runs of a per-class list, class by class (a class None in a run, with too
    few samples, is left out of its mean; None where no run has it)."""
    lists = [run[name] for run in runs if run.get(name)]
    classes = max((len(values) for values in lists), default=0)
    found = [[values[k] for values in lists if k < len(values) and values[k] is not None]
             for k in range(classes)]
    return [statistics.fmean(values) if values else None for values in found]


def class_name(k: int, data: str) -> str:
    """Class k as the dataset names it: `7` for a digit, `6 (shirt)` on Fashion-MNIST, `007`
    for a mode of Stacked MNIST (its three digits)."""
    if data == "stacked_mnist":
        return f"{k:03d}"
    names = CLASS_NAMES.get(data)
    return f"{k} ({names[k]})" if names and k < len(names) else str(k)


def plural(count: int, noun: str) -> str:
    """`1 seed`, `3 seeds`."""
    return f"{count} {noun}{'s' * (count != 1)}"


def completed_runs(setups: list[SetUp]) -> list[dict[str, Any]]:
    """Every completed run of the study: the real-data references are read from them."""
    return [run for setup in setups for run in setup.completed]


def table(setups: list[SetUp]) -> list[str]:
    """A row per set-up, best intra-FID first (those without one last), with mean ± std over
    seeds; then the real images' row (their `real_` references, mean over the runs)."""
    lines = ["| set-up | runs | " + " | ".join(HEADINGS[name] for name in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    first = ranked(setups)
    for setup in first + [s for s in setups if s not in first]:
        diverged = len(setup.runs) - len(setup.completed)
        runs = f"{len(setup.completed)}" + (f" ({diverged} diverged)" if diverged else "")
        cells = " | ".join(cell(setup.values(name), DIGITS[name]) for name in COLUMNS)
        lines.append(f"| {setup.label.replace('|', chr(92) + '|')} | {runs} | {cells} |")
    runs = completed_runs(setups)
    real = [cell([run[f"real_{name}"] for run in runs if run.get(f"real_{name}") is not None],
                 DIGITS[name]) if name != "ms_per_step" else "–" for name in COLUMNS]
    lines.append(f"| {REAL} | {len(runs)} | {' | '.join(real)} |")
    return lines


def ranked(setups: list[SetUp]) -> list[SetUp]:
    """The set-ups with an intra-FID, lowest mean first."""
    return sorted((s for s in setups if s.values("intra_fid")),
                  key=lambda s: (spread(s.values("intra_fid"))[0], s.label))


def reached(setup: SetUp) -> str:
    """What a set-up reaches, in words: intra-FID, conditional accuracy and its worst class,
    the worst class's recall, FID; the means over its seeds."""
    parts = [f"{HEADINGS[name]} {value:.{DIGITS[name]}f}"
             for name in ("intra_fid", "conditional_accuracy", "min_class_accuracy",
                          "min_class_recall", "fid")
             if (value := mean_or_none(setup, name)) is not None]
    seeds = len(setup.completed)
    return f"{', '.join(parts)} (mean of {seeds} seed{'s' * (seeds != 1)})"


UNFEATURED = ("stacked_mnist",)  # datasets scored without the evaluator's features: no FID


def best(setups: list[SetUp], data: str) -> list[str]:
    """Which set-up is best by intra-FID, in words, and whether by more than the seeds'
    spread: only set-ups run over two seeds or more are named best."""
    if data in UNFEATURED:
        return [f"Runs on {data} measure no intra-FID (it is scored by its channels' digits, "
                "without the evaluator's features), so none is named best by it; compare "
                "their conditional accuracy below.", ""]
    candidates = ranked(pooled(setups))
    if not candidates:
        return ["No set-up has an intra-FID over two seeds or more yet, so none is named best.",
                ""]
    first, rest = candidates[0], candidates[1:]
    text = f"Best by intra-FID: **{first.label}**: {reached(first)}."
    (mean, std), clear = spread(first.values("intra_fid")), []
    for other in rest:
        other_mean, other_std = spread(other.values("intra_fid"))
        beyond = other_mean - mean > max(std, other_std)
        clear.append(beyond)
        where = "beyond the seeds' spread" if beyond else "within the seeds' spread"
        text += (f" Against **{other.label}** (intra-FID {other_mean:.1f} ± {other_std:.1f}): "
                 f"lower by {other_mean - mean:.1f}, {where}.")
    if rest and not all(clear):
        text += (" So it is not clearly best: the set-ups within the spread may swap places "
                 "with other seeds.")
    elif not rest:
        text += " It is the only set-up with an intra-FID over two seeds or more."
    return [text, ""]


def worst_per_seed(setup: SetUp, name: str, least: str) -> list[tuple[int, int | None, float]]:
    """(seed, class, value) of each completed seed's worst class in a per-class list `name`
    (the class None where only the run's minimum `least` is recorded); a seed with neither is
    left out."""
    found = []
    for run in setup.completed:
        values = [(value, k) for k, value in enumerate(run.get(name) or []) if value is not None]
        if values:
            value, k = min(values)
            found.append((run["seed"], k, value))
        elif run.get(least) is not None:
            found.append((run["seed"], None, run[least]))
    return found


def at_least(setup: SetUp, name: str, least: str, target: float, data: str) -> tuple[bool, str]:
    """Whether every completed seed of a set-up has every class at `target` or above, and the
    numbers behind the verdict in words."""
    worst = worst_per_seed(setup, name, least)
    if not worst:
        return False, f"**{setup.label}**: not measured (no {LABELS[least]} in its runs)"
    seed, k, value = min(worst, key=lambda found: found[2])
    where = "" if k is None else f"class {class_name(k, data)} at "
    each = ", ".join(f"{found[2]:.3f} (seed {found[0]})" for found in sorted(worst))
    missing = len(setup.completed) - len(worst)
    met = value >= target and not missing
    below = sum(found[2] < target for found in worst)
    said = ("**met** in every seed" if met else
            f"missed in {below} of {plural(len(setup.completed), 'seed')}" if below else
            f"missed: {missing} seed{'s' * (missing != 1)} not measured")
    return met, (f"**{setup.label}**: {said} (worst: {where}{value:.3f}, seed {seed}; each "
                 f"seed's worst class: {each})")


def real_classes(runs: list[dict[str, Any]], name: str, target: float, data: str,
                 what: str) -> str:
    """What real images requested as their own labels score per class, against a target:
    plainly, the classes where the target is above what real data reaches."""
    real = [(value, k) for k, value in enumerate(per_class_mean(runs, f"real_{name}"))
            if value is not None]
    if not real:
        return f"No real-data reference in these runs (no `real_{name}` in their metrics.json)."
    low, high = min(real), max(real)
    below = sorted((k, value) for value, k in real if value < target)
    scored = (f"{low[0]:.3f} in every class" if low[0] == high[0] else
              f"{low[0]:.3f}-{high[0]:.3f} per class")
    said = (f"Real images requested as their own labels score {what} {scored} (mean over the "
            f"references of {plural(len(runs), 'run')})")
    if not below:
        return (f"{said}: they reach the target in every class (worst: class "
                f"{class_name(low[1], data)} at {low[0]:.3f}).")
    classes = ", ".join(f"{class_name(k, data)}: {value:.3f}" for k, value in below)
    return (f"{said}: **the target is above what real data reaches** in "
            f"{len(below)} class{'es' * (len(below) != 1)} ({classes}). There a generator meets "
            "it only where the evaluator reads its samples better than it reads real ones.")


def accuracy_target(setups: list[SetUp], data: str) -> tuple[list[str], set[str]]:
    """The conditional-accuracy target in lines, and the set-ups that meet it."""
    target = ACCURACY.get(data)
    if target is None:
        return [f"- Conditional accuracy in every class: **no target** for dataset {data} (the "
                "issue sets 99 % on MNIST, 95 % on Fashion-MNIST)."], set()
    return every_class_target(setups, data, f"- Conditional accuracy at least {target:.0%} in "
                              f"every class ({data}), in every seed:", "class_accuracy",
                              "min_class_accuracy", target, "conditional accuracy")


def recall_target(setups: list[SetUp], data: str) -> tuple[list[str], set[str]]:
    """The per-class recall target in lines, and the set-ups that meet it."""
    lines, met = every_class_target(setups, data, f"- Every class's recall at least {RECALL} "
                                    "(no collapse inside a class), in every seed:",
                                    "class_recall", "min_class_recall", RECALL, "recall")
    notes = dict.fromkeys(run["class_manifold_note"] for run in completed_runs(setups)
                          if run.get("class_manifold_note"))
    return lines + [f"  - Measured as: {note}" for note in notes], met


def every_class_target(setups: list[SetUp], data: str, heading: str, per_class: str,
                       worst: str, target: float, what: str) -> tuple[list[str], set[str]]:
    """A target every class must reach (`per_class`, its worst `worst`) in lines: each judged
    set-up met or missed, then what real images score; and the set-ups that meet it."""
    lines, met = [heading], set()
    for setup in judged(setups):
        passed, said = at_least(setup, per_class, worst, target, data)
        lines.append(f"  - {said}")
        met |= {setup.label} if passed else set()
    lines.append("  - " + real_classes(completed_runs(setups), per_class, target, data, what))
    return lines, met


def fid_target(setups: list[SetUp], unconditional: Reference | None) -> tuple[list[str], set[str]]:
    """The intra-FID target in lines, and the set-ups that meet it: every seed's intra-FID at
    most FID_TIMES the unconditional FID; not checked where none was given."""
    if unconditional is None:
        return [f"- Intra-FID within {FID_TIMES:g}x of the best unconditional FID: **not "
                "checked**, no unconditional FID given; give the best unconditional preset's FID "
                f"as `{ARGUMENT}=F` (a number, or that run's directory)."], set()
    limit = FID_TIMES * unconditional.fid
    lines, met = [f"- Intra-FID within {FID_TIMES:g}x of the best unconditional FID, "
                  f"{unconditional.fid:g} ({unconditional.source}): at most {limit:.1f}, in "
                  "every seed:"], set()
    for setup in judged(setups):
        values = sorted(setup.values("intra_fid"))
        if not values:
            lines.append(f"  - **{setup.label}**: not measured (no intra-FID in its runs)")
            continue
        above = sum(value > limit for value in values)
        passed = not above and len(values) == len(setup.completed)
        said = ("**met** in every seed" if passed else f"missed in {above} of "
                f"{plural(len(setup.completed), 'seed')}" if above else
                "missed: a seed not measured")
        lines.append(f"  - **{setup.label}**: {said} (intra-FID {cell(values, 1)}; each seed: "
                     f"{', '.join(f'{value:.1f}' for value in values)})")
        met |= {setup.label} if passed else set()
    return lines + ["  - " + real_fid(completed_runs(setups), limit)], met


def real_fid(runs: list[dict[str, Any]], limit: float) -> str:
    """What real images requested as their own labels score in intra-FID against the
    limit, beside their whole-set FID: a class's FID is of fewer images, so biased upwards."""
    intra = [run["real_intra_fid"] for run in runs if run.get("real_intra_fid") is not None]
    if not intra:
        return "No real-data reference in these runs (no `real_intra_fid` in their metrics.json)."
    whole = [run["real_fid"] for run in runs if run.get("real_fid") is not None]
    real = statistics.fmean(intra)
    said = (f"Real images requested as their own labels score intra-FID {real:.1f} (mean over "
            f"the references of {plural(len(intra), 'run')})"
            + (f", against a whole-set FID of {statistics.fmean(whole):.1f}: a class's FID is "
               "of one class's share of the images, so biased upwards" if whole else ""))
    if real > limit:
        return (f"{said}. **The target is below what real data reaches**: real images "
                f"themselves score above {limit:.1f} at these sample counts.")
    return f"{said}; within the limit."


def judged(setups: list[SetUp]) -> list[SetUp]:
    """The conditional set-ups with completed runs, best intra-FID first, in the targets'
    order."""
    conditional = [s for s in setups if s.completed and s.values("conditional_accuracy")]
    first = [s for s in ranked(setups) if s in conditional]
    return first + sorted((s for s in conditional if s not in first), key=lambda s: s.label)


def targets(setups: list[SetUp], data: str, unconditional: Reference | None) -> list[str]:
    """Issue 38's targets, each met or missed per set-up beside what real data scores, and the
    set-ups that meet all three."""
    checks = [accuracy_target(setups, data), fid_target(setups, unconditional),
              recall_target(setups, data)]
    lines = [line for said, _ in checks for line in said]
    everywhere = set.intersection(*(met for _, met in checks))
    labels = [s.label for s in judged(setups) if s.label in everywhere]
    verdict = (f"Every target met, in every seed: {', '.join(f'**{label}**' for label in labels)}."
               if labels else "No set-up meets every target in every seed.")
    return ["## Targets", "", "Issue 38's targets, as the issue sets them, each judged on every "
            f"completed seed; beside each, what real images ({EACH}) score, since a target "
            "above that asks the generator to beat real data.", "",
            *lines, "", verdict, ""]


def per_class(setups: list[SetUp], name: str, target: float | None, data: str,
              title: str) -> list[str]:
    """A per-class table of `name` (mean over seeds), a row per set-up and the real test
    images' row; a mean below `target` in bold."""
    runs = completed_runs(setups)
    real = per_class_mean(runs, f"real_{name}")
    rows = [(setup.label, per_class_mean(setup.completed, name)) for setup in judged(setups)]
    classes = max([len(real), *(len(values) for _, values in rows)], default=0)
    if not classes:
        return []
    if classes > SHOWN_CLASSES:  # Stacked MNIST's 1,000 modes: no table, the worst of each
        return worst_classes(rows + [(REAL, real)], classes, data, title, target)

    def shown(value: float | None) -> str:
        return "–" if value is None else against(value, target)

    lines = [f"### {title}", "", "| set-up | " + " | ".join(class_name(k, data)
                                                           for k in range(classes)) + " |",
             "|---|" + "---|" * classes]
    for label, values in [*rows, (REAL, real)]:
        padded = values + [None] * (classes - len(values))
        lines.append(f"| {label} | " + " | ".join(shown(value) for value in padded) + " |")
    return [*lines, ""]


ROUNDING = 1e-9  # a mean of per-seed shares this close to a target is on it


def against(value: float, target: float | None) -> str:
    """`value` to 3 decimals, in bold when below `target`; a value below it that 3 decimals would
    round up to it (recall 0.7997 against 0.8) gets the decimals that show it is below. A mean
    off the target by float rounding alone (0.99 as 0.98999999999) is on it."""
    if target is None or value >= target - ROUNDING:
        return f"{value:.3f}"
    decimals = 3
    while round(value, decimals) >= target:
        decimals += 1
    return f"**{value:.{decimals}f}**"


WORST_SHOWN = 10  # classes listed per row where there are too many for a table


def worst_classes(rows: list[tuple[str, list[float | None]]], classes: int, data: str,
                  title: str, target: float | None) -> list[str]:
    """Each row's WORST_SHOWN lowest classes (of more than SHOWN_CLASSES), lowest first; a
    value below `target` in bold, as `per_class` shows it."""
    lines = [f"### {title}", "", f"{classes:,} classes are too many for a table: each row's "
             f"{WORST_SHOWN} lowest (mean over seeds).", "", "| set-up | lowest classes |",
             "|---|---|"]
    for label, values in rows:
        lowest = sorted((value, k) for k, value in enumerate(values) if value is not None)
        shown = ", ".join(f"{class_name(k, data)}: {against(value, target)}"
                          for value, k in lowest[:WORST_SHOWN])
        lines.append(f"| {label} | {shown or '–'} |")
    return [*lines, ""]


def headline(root: Path, out: Path, data: str, runs: list[dict[str, Any]],
             unconditional: Reference | None) -> list[str]:
    """The page's title and how to read it."""
    experiments = list(dict.fromkeys(o for run in runs for o in run["overrides"]
                                     if key(o) == "experiment"))
    source = (f"the runs of `python train.py -m {experiments[0]}`"
              + "".join(f" and `{name}`" for name in experiments[1:])
              if experiments else f"the {len(runs)} runs under `{root}`")
    given = f" {ARGUMENT}={unconditional.fid:g}" if unconditional else ""
    return [f"# Class-conditional GANs on {data}: which conditioning?", "",
            f"Generated by `python -m gan.study {root} {out}{given}` from {source}. Runs that "
            f"differ only in `{SEED}` are pooled: mean ± std over seeds. Conditional accuracy is "
            "the share of samples the evaluator's classifier assigns to the class requested "
            "(higher is better; min class accuracy: its worst class); intra-FID is the mean "
            "over classes of each class's FID against that class's real test images, and min "
            "class recall the worst class's recall (lower intra-FID, higher recall are better).",
            ""]


def write(root: Path, out: Path, unconditional: Reference | None = None) -> str:
    """Collect the conditional runs under root and write their page to out and their class
    grids to the page's folder beside it; say what was written, in a line. Refuse (UserError)
    runs of several datasets. A study with one seed of each set-up so far (its sweep runs a
    seed of every set-up first) gets its page: the targets are judged seed by seed, and no
    set-up is named best until two seeds of it are in (`best`)."""
    setups, left = collect(root, RECORDED_HERE)
    relabel(setups)
    data = dataset(setups)
    folder = pictures_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    waiting = unrun(root)
    runs = [run for setup in setups for run in setup.runs]
    accuracy = ACCURACY.get(data)
    page = "\n".join([
        *headline(root, out, data, runs, unconditional), *in_progress(waiting),
        "## The answer", "", *best(setups, data), *targets(setups, data, unconditional),
        "## The numbers", "", provenance(setups), "", *table(setups), "",
        "## Per class", "", "Mean over seeds; in bold, a class below the target "
        f"({'no accuracy target for ' + data if accuracy is None else f'{accuracy:.0%}'} "
        f"accuracy, {RECALL} recall). The last row is real images ({EACH}).", "",
        *per_class(setups, "class_accuracy", accuracy, data, "Conditional accuracy per class"),
        *per_class(setups, "class_recall", RECALL, data, "Recall per class"),
        "## Final class grids", "", "One row per class, one noise vector per column.", "",
        *grids(setups, folder), *left_out(root, left, waiting)]) + "\n"
    out.write_text(page)
    remove_stale(folder, page)
    count = len(setups)
    return (f"wrote {out}: {len(runs)} run{'s' * (len(runs) != 1)} in {count} "
            f"set-up{'s' * (count != 1)}{f', {len(left)} left out' if left else ''}, pictures "
            f"in {folder}")
