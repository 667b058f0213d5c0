"""A study's results page (`python -m gan.study SWEEP_DIR OUT.md`): the answer first, in plain
sentences per discriminator, then per discriminator where its numbers came from, a table
(mean ± std over seeds), verdicts against no remedy and pictures: FID and classes covered over
training and the final class histograms (with the `plots` extra), and each set-up's final
digits. Every number is read from the runs (`gan.report.study`); nothing is written by hand.
"""

import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from gan.errors import UserError
from gan.report import study_plots
from gan.report.history import eval_history
from gan.report.runs import find
from gan.report.study import (
    COLUMNS,
    DIGITS,
    HEADINGS,
    NONE,
    SEED,
    SetUp,
    baseline,
    cell,
    collect,
    spread,
    threads_said,
    verdict,
)
from gan.report.study_answer import answer, headline
from gan.report.study_cost import read_costs
from gan.run.directory import is_sweep, jobs_in_sweep

PICTURES = "_pictures"  # page X.md keeps its pictures in X_pictures/ beside it
CURVES = ("fid", "modes_covered")  # the metrics drawn against step


def table(section: list[SetUp]) -> list[str]:
    """One markdown table: a row per set-up, those without remedies first, then by mean FID;
    `runs` counts the completed ones and says how many diverged."""
    def mean_fid(setup: SetUp) -> float:  # set-ups without FID last
        return spread(setup.values("fid"))[0] if setup.values("fid") else float("inf")

    timed = any(setup.cost for setup in section)  # bench/setup_cost.py's column
    lines = ["| set-up | runs | " + " | ".join(HEADINGS[name] for name in COLUMNS)
             + (" | step vs none" if timed else "") + " |",
             "|---|---|" + "---|" * (len(COLUMNS) + timed)]
    for setup in sorted(section, key=lambda s: (s.remedies != NONE, mean_fid(s), s.label)):
        cells = " | ".join(cell(setup.values(name), DIGITS[name]) for name in COLUMNS)
        if timed:
            cells += f" | {setup.cost.ratio:.2f}x" if setup.cost else " | –"
        diverged = len(setup.runs) - len(setup.completed)
        runs = f"{len(setup.completed)}" + (f" ({diverged} diverged)" if diverged else "")
        lines.append(f"| {setup.label.replace('|', chr(92) + '|')} | {runs} | {cells} |")
    return lines


def grids(section: list[SetUp], folder: Path) -> list[str]:
    """Each set-up's final digits from its lowest completed seed, copied beside the page."""
    lines = []
    for setup in sorted(section, key=lambda s: s.label):
        if not setup.completed:
            continue
        first = min(setup.completed, key=lambda run: run["seed"])
        grid = first["run_dir"] / "samples" / "final" / "grid.png"
        if not grid.is_file():
            lines.append(f"**{setup.label}** (seed {first['seed']}): no final digits in "
                         f"{first['run_dir']}.\n")
            continue
        name = f"{setup.discriminator}_{file_name(setup.label)}.png"
        shutil.copyfile(grid, folder / name)
        alt = re.sub(r"[\[\]]", "", f"{setup.discriminator} {setup.label}")
        lines.append(f"**{setup.label}** (seed {first['seed']}):\n\n"
                     f"![{alt}]({link(folder, name)})\n")
    return lines


def figures(section: list[SetUp], folder: Path) -> list[str]:
    """The curves and histograms of a section as PNGs beside the page, and their markdown; a
    line saying what is missing where matplotlib is not installed."""
    discriminator = section[0].discriminator
    ordered = sorted(section, key=lambda s: (s.remedies != NONE, s.label))
    baseline = next((s.label for s in ordered if s.remedies == NONE and not s.others), None)
    finals = {s.label: histogram for s in ordered if (histogram := mean_histogram(s))}
    curves, drawn = curve_data(ordered), []
    try:
        if curves:
            study_plots.curves(curves, baseline, f"discriminator={discriminator}: mean over "
                               "seeds, band from the lowest to the highest",
                               folder / f"{discriminator}_curves.png")
            drawn.append(("curves", "FID and classes covered against step"))
        if finals:
            study_plots.histograms(finals, f"discriminator={discriminator}: final class "
                                   "histograms (mean over seeds)",
                                   folder / f"{discriminator}_histograms.png")
            drawn.append(("histograms", "final class histograms"))
    except UserError as error:
        print(f"no curves or histograms: {error}", file=sys.stderr)
        return [f"(No curves or histograms: {error}.)", ""]
    return [line for kind, alt in drawn for line in (
        f"![{discriminator}: {alt}]({link(folder, f'{discriminator}_{kind}.png')})", "")]


def curve_data(setups: list[SetUp]) -> dict[str, dict[str, list[list[tuple[int, float]]]]]:
    """label -> metric -> one (step, value) series per completed seed, from the runs'
    TensorBoard events; set-ups that logged no evaluation are left out."""
    found = {}
    for setup in setups:
        runs = [eval_history(run["run_dir"], CURVES) for run in setup.completed]
        metrics = {name: [run[name] for run in runs] for name in CURVES}
        if any(series for seeds in metrics.values() for series in seeds):
            found[setup.label] = metrics
    return found


def mean_histogram(setup: SetUp) -> list[float]:
    """The mean over a set-up's completed seeds of its final class histogram ([] if none)."""
    histograms = [run["class_histogram"] for run in setup.completed
                  if run.get("class_histogram")]
    return ([sum(shares) / len(histograms) for shares in zip(*histograms, strict=True)]
            if histograms else [])


def file_name(label: str) -> str:
    """A label as part of a file name: `balance+ema`, `none_optimizer.lr=0.0001`."""
    return re.sub(r"[^\w.+=-]", "_", label.replace(" + ", "+").replace(", ", "_"))


def provenance(section: list[SetUp]) -> str:
    """Where a section's numbers came from: runs, steps, device and threads, machine time."""
    runs = [run for setup in section for run in setup.runs]
    steps = ", ".join(f"{n:,}" for n in sorted({run["steps"] for run in runs}))
    devices = ", ".join(sorted({f"{run.get('device')} ({threads_said(run['threads_by_part'])} a "
                                "run)" for run in runs}))
    hours = sum(run.get("wall_seconds") or 0 for run in runs) / 3600
    samples = sorted({run["eval_n"] for run in runs if run["eval_n"] and run["fid"] is not None})
    measured = (f"the metrics of the last evaluation ({', '.join(f'{n:,}' for n in samples)} "
                "samples)" if samples else "no evaluation, so no metrics but the losses")
    timed = next((setup.cost.source for setup in section if setup.cost), None)
    return (f"{len(runs)} runs of {steps} steps on {devices}, {hours:.1f} h of machine time in "
            f"all (the sum of the runs' wall times); mean ± std over seeds; {measured}; ms per "
            "step is the training loop's wall time per step over the whole run (every part of one "
            "continued after a stop), evaluations included, as measured while the runs ran (beside "
            "whatever shared the machine)"
            + (f"; step vs none is the training step's time against no remedy's, timed in "
               f"alternating blocks on random images by {timed}." if timed else "."))


def section_text(section: list[SetUp], folder: Path) -> str:
    """Provenance, table, verdicts and pictures for one discriminator."""
    verdicts = [f"- {verdict(setup, base)[1]}" if (base := baseline(setup, section)) else
                f"- **{setup.label}** is not judged: no `none` set-up with the same overrides "
                "to judge it against" for setup in sorted(section, key=lambda s: s.label)
                if setup.remedies != NONE and setup.completed]
    return "\n".join([f"## discriminator={section[0].discriminator}", "", provenance(section),
                      "", *table(section), "", *verdicts, *([""] if verdicts else []),
                      *figures(section, folder), *grids(section, folder)])


def write(root: Path, out: Path) -> str:
    """Collect the runs under root and write the results page to out and its pictures to the
    page's own folder beside it (`pictures_folder`), which keeps only what the page shows; say
    what was written, in a line. Refuse (UserError) a sweep with nothing to pool (no set-up
    with completed runs of two or more seeds) and a pictures folder that holds anything but
    pictures."""
    all_setups, left = collect(root)
    costs = read_costs(root)
    for setup in all_setups:
        setup.cost = costs.get(setup.discriminator, {}).get(setup.label)
    if not any(len({run["seed"] for run in setup.completed}) > 1 for setup in all_setups):
        raise UserError(f"nothing to pool under {root}: no set-up has completed runs of two or "
                        f"more seeds ({len(all_setups)} set-ups, one seed each); sweep "
                        f"{SEED} too, e.g. {SEED}=0,1,2")
    by_discriminator: dict[str, list[SetUp]] = defaultdict(list)
    for setup in all_setups:
        by_discriminator[setup.discriminator].append(setup)
    order = {"fc": 0, "cnn": 1, "dcgan": 2}
    sections = [by_discriminator[d] for d in sorted(by_discriminator,
                                                    key=lambda d: (order.get(d, 3), d))]
    folder = pictures_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    texts = [section_text(section, folder) for section in sections]
    waiting = unrun(root)
    page = "\n".join(headline(root, out, sections) + in_progress(waiting)
                     + answer(sections, running=bool(waiting))
                     + texts + left_out(root, left, waiting)) + "\n"
    out.write_text(page)
    remove_stale(folder, page)
    runs = sum(len(setup.runs) for setup in all_setups)
    count = len(all_setups)
    return (f"wrote {out}: {runs} run{'s' * (runs != 1)} in {count} set-up{'s' * (count != 1)}"
            f"{f', {len(left)} left out' if left else ''}, pictures in {folder}")


def unrun(root: Path) -> list[tuple[Path, int, int]]:
    """The sweeps under root (a multirun.yaml in root or in a folder just under it) with jobs
    not here yet, as (sweep folder, jobs it plans, jobs with no run folder); a sweep
    whose plan cannot be told from its multirun.yaml (an Optuna search) is not listed."""
    sweeps = [root, *sorted(path for path in root.iterdir() if path.is_dir())]
    waiting = []
    for folder in sweeps:
        planned = jobs_in_sweep(folder)
        missing = 0 if planned is None else planned - len(own_runs(folder))
        if missing > 0:
            waiting.append((folder, planned, missing))
    return waiting


def own_runs(sweep: Path) -> list[Path]:
    """The runs under a sweep's folder less those of sweeps inside it (a study's second sweep
    kept in a subfolder, as `multirun/study/stacked_mnist/joint_bn`), which plan their own."""
    return [run for run in find(sweep)
            if not any(is_sweep(folder) for folder in run.parents if sweep in folder.parents)]


def in_progress(waiting: list[tuple[Path, int, int]]) -> list[str]:
    """A line above the answer when a sweep has jobs still to run: the answer is so far."""
    if not waiting:
        return []
    said = "; ".join(f"`{folder}` holds {planned - missing} of the {planned} jobs its "
                     "multirun.yaml plans"
                     for folder, planned, missing in waiting)
    return [f"**A study still running.** {said}. The answer below is the answer so far, from the "
            "set-ups finished; it may change as the rest finish (see *Not on this page*).", ""]


def left_out(root: Path, left: list[tuple[Path, str]],
             waiting: list[tuple[Path, int, int]]) -> list[str]:
    """What the page does not count, so a page written while a study still runs says so: the
    runs left out, by folder under root and reason, and the jobs not here yet by sweep
    (none of either: nothing)."""
    if not left and not waiting:
        return []
    counts = Counter((str(root / run_dir.parent.relative_to(root)), said) for run_dir, said in left)
    return ["## Not on this page", "", *(
        f"- {n} run{'s' if n > 1 else ''} under `{folder}` ({said})"
        for (folder, said), n in sorted(counts.items())), *(
        f"- {missing} job{'s' if missing > 1 else ''} of `{folder}` not here yet: not started, "
        f"or not kept before it finished (its multirun.yaml plans {planned})"
        for folder, planned, missing in waiting), ""]


def pictures_folder(out: Path) -> Path:
    """The folder of page out's pictures: named after the page, beside it (`docs/results_cnn.md`
    -> `docs/results_cnn_pictures/`), so two pages in one folder never draw over each other's
    pictures, even where they cover the same discriminator. Raises UserError when that folder
    holds anything but PNGs (a folder of other things, which the page must not clean up)."""
    folder = out.parent / f"{out.stem}{PICTURES}"
    if folder.exists() and (not folder.is_dir() or any(
            not (path.is_file() and path.suffix == ".png") for path in folder.iterdir())):
        raise UserError(f"{folder}, where the page {out.name} keeps its pictures, holds other "
                        "things: name the page otherwise")
    return folder


def link(folder: Path, name: str) -> str:
    """The page's link to a picture in its folder, relative to the page."""
    return f"{quote(folder.name, safe='+=')}/{quote(name, safe='+=')}"  # as file_name keeps


def remove_stale(folder: Path, page: str) -> None:
    """Delete the pictures in the page's folder that the page does not show (an earlier
    version's set-ups), saying so on stderr."""
    shown = set(re.findall(rf"\]\({re.escape(link(folder, ''))}([^)/]+\.png)\)", page))
    for picture in sorted(folder.glob("*.png")):
        if quote(picture.name, safe="+=") not in shown:
            picture.unlink()
            print(f"removed {picture}: not on the page", file=sys.stderr)
