"""A benchmark's page (`python -m gan.study SWEEP_DIR OUT.md` on runs of ring8, grid25 or
stacked_mnist): PacGAN's published rows (Lin et al. 2018, "PacGAN: The power of two samples in
generative adversarial networks", Table 1 for the 2D mixtures, Table 3 with D = 1/4 G for Stacked
MNIST) beside gan-lab's runs of the same set-ups and of its own, as the paper reports them:
mean ± standard error over seeds. Then the issue's two targets, judged on the numbers (the
reproduction: each published set-up within two published standard errors; beyond: the best
set-up's modes, KL and quality), each row's budget and hardware, and the pictures. Every number
of gan-lab's rows is read from the runs; the published ones are the paper's, typed here once.
"""

import math
import shutil
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gan.errors import UserError
from gan.report.history import eval_history
from gan.report.runs import conditioning, find
from gan.report.saved import read_yaml, select
from gan.report.study import COUNTED, RECORDED, read_run, threads_said
from gan.report.study_conditional import plural
from gan.report.study_page import unrun
from gan.report.summary import read_job


@dataclass(frozen=True)
class Published:
    """A row of the paper's table: mean and standard error of each metric over its trials
    (None where the table has no such column)."""

    label: str
    modes: tuple[float, float]
    kl: tuple[float, float]
    quality: tuple[float, float] | None = None  # high-quality samples, in percent


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's protocol and the paper's rows, by gan-lab's set-up name."""

    title: str
    source: str
    trials: int
    steps: int  # the protocol's budget
    samples: int  # generated samples each score is of
    modes: int
    rows: dict[str, Published]
    target: str  # the "beyond" target, in words
    quality: bool = True  # whether the benchmark measures high-quality samples
    error_digits: int = 1  # decimals of the published modes' standard errors
    # gan-lab set-ups that run a published set-up another way, judged against its row
    variants: dict[str, str] = field(default_factory=dict)

    def paper(self, setup: str) -> Published | None:
        """The published row a set-up runs, itself or as a variant (None for gan-lab's own)."""
        return self.rows.get(self.variants.get(setup, setup))


PACGAN = "Lin et al. 2018, PacGAN"
# PacGAN2 with G's batch norm per packed slot, as PacGAN's code runs G once per slot
SLOT_NORM = {"pacgan2_slot_norm": "pacgan2"}
BENCHMARKS = {
    "ring8": Benchmark(
        "The ring: 8 Gaussians on the unit circle", f"{PACGAN}, Table 1 (ring)", 10, 400000,
        2500, 8, {
            "none": Published("GAN", (6.3, 0.5), (0.45, 0.09), (98.2, 0.2)),
            "pacgan2": Published("PacGAN2", (7.9, 0.1), (0.07, 0.03), (95.6, 2.0)),
            "pacgan3": Published("PacGAN3", (7.8, 0.1), (0.10, 0.02), (97.7, 0.3)),
            "pacgan4": Published("PacGAN4", (7.8, 0.1), (0.07, 0.02), (95.9, 1.4))},
        "all 8 modes, reverse KL below 0.04, high-quality samples at least 95%",
        variants=SLOT_NORM),
    "grid25": Benchmark(
        "The grid: 25 Gaussians at {-4, -2, 0, 2, 4}^2", f"{PACGAN}, Table 1 (grid)", 10, 400000,
        2500, 25, {
            "none": Published("GAN", (17.3, 0.8), (0.70, 0.07), (94.8, 0.7)),
            "pacgan2": Published("PacGAN2", (23.8, 0.7), (0.13, 0.04), (91.3, 0.8)),
            "pacgan3": Published("PacGAN3", (24.6, 0.4), (0.06, 0.02), (94.2, 0.4)),
            "pacgan4": Published("PacGAN4", (24.8, 0.2), (0.04, 0.01), (93.6, 0.6))},
        "all 25 modes, reverse KL below 0.04, high-quality samples at least 95%",
        variants=SLOT_NORM),
    "stacked_mnist": Benchmark(
        "Stacked MNIST: 1,000 modes", f"{PACGAN}, Table 3 (D = 1/4 G)", 50, 500000, 26000, 1000, {
            "none": Published("DCGAN", (78.5, 17.56), (5.21, 0.19)),
            "pacdcgan2": Published("PacDCGAN2", (484.5, 32.99), (2.61, 0.22)),
            "pacdcgan3": Published("PacDCGAN3", (601.3, 32.18), (2.00, 0.17)),
            "pacdcgan4": Published("PacDCGAN4", (667.4, 29.00), (1.81, 0.15))},
        "at least 990 of 1,000 modes and KL below 0.1", quality=False, error_digits=2),
}
SETUP = "setup"  # the override naming a run's set-up (conf/setup/)


@dataclass
class Row:
    """gan-lab's runs of one set-up at one budget."""

    setup: str
    steps: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    def values(self, name: str, scale: float = 1.0) -> list[float]:
        """A metric of every completed run that has it, times `scale`."""
        return [run[name] * scale for run in self.completed if run.get(name) is not None]

    @property
    def completed(self) -> list[dict[str, Any]]:
        """The runs that completed (the rest diverged)."""
        return [run for run in self.runs if run["status"] == "completed"]


def mean_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and standard error (std / sqrt(n)) of values; no error for one value."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def shown(values: list[float], digits: int) -> str:
    """`mean ± se` to `digits` decimals; one value alone; `–` for none."""
    if not values:
        return "–"
    mean, error = mean_se(values)
    return f"{mean:.{digits}f}" + ("" if error is None else f" ± {error:.{digits}f}")


def published(pair: tuple[float, float] | None, digits: int, error_digits: int | None = None
              ) -> str:
    """A published `mean ± se` as the paper prints it (the error to `error_digits` decimals
    where it has more than the mean: Table 3's 78.5 ± 17.56), or `–`."""
    if pair is None:
        return "–"
    return f"{pair[0]:.{digits}f} ± {pair[1]:.{digits if error_digits is None else error_digits}f}"


def dataset_of(run_dir: Path) -> str | None:
    """The benchmark a run is of (its config's dataset name), or None."""
    path = run_dir / "config.yaml"
    return select(read_yaml(path), "dataset.name") if path.is_file() else None


def benchmarks_under(root: Path) -> set[str]:
    """The benchmarks the unconditional runs under root are of: a sweep of conditional runs
    alone (Stacked MNIST asked for its modes) has no row of a paper's table, and gets the
    conditional page instead."""
    return {name for run_dir in find(root)
            if (name := dataset_of(run_dir)) in BENCHMARKS and conditioning(run_dir) is None}


def setup_of(job: dict[str, Any], remedies: str) -> str:
    """A run's set-up: its `setup=` override, else its remedies."""
    named = [o.split("=", 1)[1] for o in job["overrides"] if o.split("=", 1)[0] == SETUP]
    return named[-1] if named else remedies


UNFINISHED = ("unknown", "interrupted")  # a run still training, or stopped to be resumed


def progress(run_dir: Path, job: dict[str, Any]) -> dict[str, Any] | None:
    """An unfinished run's last evaluation, from its event files: its set-up, seed, the step
    after which it was scored, its planned steps and scores; None where it has none yet."""
    cfg = read_yaml(run_dir / "config.yaml") if (run_dir / "config.yaml").is_file() else {}
    history = eval_history(run_dir, ("modes_covered", "class_kl", "high_quality"))
    if not cfg or not history["modes_covered"]:
        return None
    step = history["modes_covered"][-1][0]
    scores = {name: next((value for at, value in series if at == step), None)
              for name, series in history.items()}
    remedies = " + ".join(sorted((cfg.get("remedy") or {}).keys())) or "none"
    return {"setup": setup_of(job, remedies), "seed": select(cfg, "train.seed"),
            "step": step + 1, "steps": select(cfg, "train.steps"), **scores}


def in_progress(runs: list[dict[str, Any]], quality: bool) -> list[str]:
    """The unfinished runs' last evaluations, a row each: not yet counted in any mean."""
    if not runs:
        return []
    lines = ["## In progress", "",
             "Unfinished runs, at their last evaluation (not in the tables above until they "
             "finish):", "",
             "| set-up | seed | step | modes | " + ("high quality (%) | " if quality else "")
             + "reverse KL |", "|---|---|---|---|" + ("---|" if quality else "") + "---|"]
    for run in sorted(runs, key=lambda r: (r["setup"], r["seed"])):
        kl = "–" if run["class_kl"] is None else f"{run['class_kl']:.3f}"
        hq = ("–" if run["high_quality"] is None else f"{100 * run['high_quality']:.1f}")
        lines.append(f"| `setup={run['setup']}` | {run['seed']} | {run['step']:,} of "
                     f"{run['steps']:,} | {run['modes_covered']:.0f} | "
                     + (f"{hq} | " if quality else "") + f"{kl} |")
    return [*lines, ""]


def collect_rows(root: Path, name: str
                 ) -> tuple[list[Row], list[dict[str, Any]], list[tuple[Path, str]]]:
    """The completed and diverged runs of benchmark `name` under root by set-up and budget,
    the unfinished ones' last evaluations (`progress`), and the runs not counted otherwise
    (failed, or not scored yet; class-conditional runs, which the paper's protocol has none
    of) with why."""
    rows: dict[tuple[str, int], Row] = {}
    running, left = [], []
    for run_dir in find(root):
        if dataset_of(run_dir) != name:
            continue
        job = read_job(run_dir, root, RECORDED)
        asked = conditioning(run_dir)
        if asked is not None:  # asked for each mode: no row of an unconditional table
            left.append((run_dir, f"conditional (conditioning={asked}): asked for their modes, "
                                  "which the protocol's generators are not"))
            continue
        if job["status"] not in COUNTED or not (run_dir / "config.yaml").is_file():
            # Still running (no metrics.json) or stopped to be continued: its last evaluation.
            scored = progress(run_dir, job) if job["status"] in UNFINISHED else None
            if scored is not None:
                running.append(scored)
            else:
                left.append((run_dir, f"{job['status']} (unfinished or failed)"))
            continue
        run = read_run(run_dir, job)
        setup = setup_of(job, run["remedies"])
        rows.setdefault((setup, run["steps"]), Row(setup, run["steps"])).runs.append(run)
    return list(rows.values()), running, left


def order(benchmark: Benchmark, rows: list[Row]) -> list[Row]:
    """The paper's set-ups first, in its order, each followed by its variants; then gan-lab's by
    name; the longer budget first."""
    places = {name: i for i, name in enumerate(benchmark.rows)}
    places |= {variant: places[setup] for variant, setup in benchmark.variants.items()}
    return sorted(rows, key=lambda r: (places.get(r.setup, len(places)),
                                       r.setup in benchmark.variants, r.setup, -r.steps))


def table(benchmark: Benchmark, rows: list[Row]) -> list[str]:
    """The published rows, then gan-lab's: modes, high quality (%), KL, runs and steps."""
    quality = benchmark.quality
    head = ["set-up", "source", "runs", "steps", f"modes (of {benchmark.modes})",
            *(["high quality (%)"] if quality else []), "reverse KL"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for setup, row in benchmark.rows.items():
        cells = [f"{row.label} (`setup={setup}`)", "published", str(benchmark.trials),
                 f"{benchmark.steps:,}", published(row.modes, 1, benchmark.error_digits),
                 *([published(row.quality, 1)] if quality else []), published(row.kl, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    for row in order(benchmark, rows):
        diverged = len(row.runs) - len(row.completed)
        runs = f"{len(row.completed)}" + (f" ({diverged} diverged)" if diverged else "")
        cells = [f"`setup={row.setup}`", "gan-lab", runs, f"{row.steps:,}",
                 counted(row, "modes_covered", 1),
                 *([counted(row, "high_quality", 1, 100.0)] if quality else []),
                 counted(row, "class_kl", 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def counted(row: Row, name: str, digits: int, scale: float = 1.0) -> str:
    """A row's `mean ± se` of a metric, saying over how many seeds where some completed runs
    lack it (reverse KL, where no sample lands within 3 std of a mode)."""
    values = row.values(name, scale)
    cell = shown(values, digits)
    if 0 < len(values) < len(row.completed) or (not values and row.completed):
        cell += f" ({len(values)} of {len(row.completed)} seeds)"
    return cell


def two_figures(value: float) -> str:
    """A positive value to two significant figures, never in e-notation: 124 -> `120`."""
    return f"{round(value, 1 - math.floor(math.log10(value))):g}"


def reproduced(benchmark: Benchmark, row: Row) -> str | None:
    """Whether a published set-up's gan-lab row lies within two published standard errors of
    each published mean (None for gan-lab's own set-ups); a variant of a published set-up
    (`Benchmark.variants`) is judged against that set-up's row."""
    paper = benchmark.paper(row.setup)
    if paper is None or not row.completed:
        return None
    checks = [("modes", paper.modes, row.values("modes_covered")),
              ("reverse KL", paper.kl, row.values("class_kl"))]
    if benchmark.quality and paper.quality is not None:
        checks.append(("high quality", paper.quality, row.values("high_quality", 100.0)))
    said = []
    for name, (mean, error), ours in checks:
        if not ours:
            said.append(f"{name}: no value")
            continue
        gap = abs(statistics.fmean(ours) - mean) / error
        # The paper's trials spread by SE * sqrt(trials); a mean of n seeds by that / sqrt(n).
        ours_error = error * math.sqrt(benchmark.trials / len(ours))
        said.append(f"{name} {statistics.fmean(ours):.3g} vs {mean:g}: {gap:.1f} SE "
                    + ("(within 2)" if gap <= 2 else
                       f"(**beyond 2**; a mean of {plural(len(ours), 'seed')} "
                       f"varies by about {two_figures(ours_error)} from the trials' spread alone)"))
    budget = "" if row.steps == benchmark.steps else (
        f"; at {row.steps:,} of the protocol's {benchmark.steps:,} steps, not a reproduction")
    seeds = len(row.completed)
    run_as = "run as " if row.setup in benchmark.variants else ""
    return (f"- {paper.label} ({run_as}`setup={row.setup}`, {plural(seeds, 'seed')}): "
            f"{'; '.join(said)}{budget}")


def meets(benchmark: Benchmark, row: Row) -> bool:
    """Whether every completed seed of a row meets the issue's "beyond" target: all modes (99%
    of Stacked MNIST's), reverse KL below 0.04 (0.1 on Stacked MNIST) and, on the mixtures, at
    least 95% high-quality samples."""
    modes, kls = row.values("modes_covered"), row.values("class_kl")
    seeds = len(row.completed)
    every = len(modes) == seeds and all(
        m >= benchmark.modes * (1.0 if benchmark.quality else 0.99) for m in modes)
    kl_ok = len(kls) == seeds and all(kl < (0.04 if benchmark.quality else 0.1) for kl in kls)
    quality_ok = not benchmark.quality or all(q >= 0.95 for q in row.values("high_quality"))
    return seeds > 0 and every and kl_ok and quality_ok


def beyond(benchmark: Benchmark, rows: list[Row]) -> list[str]:
    """The issue's target judged row by row on every seed, then gan-lab's best set-up beside
    the best published row."""
    lines = [f"Target: {benchmark.target}, in every seed."]
    if not any(row.completed for row in rows):
        lines.append("No set-up has finished runs yet.")
    for row in order(benchmark, rows):
        if not row.completed:
            continue
        seeds = len(row.completed)
        lines.append(f"- `setup={row.setup}` at {row.steps:,} steps, {plural(seeds, 'seed')}: "
                     f"{'**met**' if meets(benchmark, row) else 'missed'}"
                     f" ({'; '.join(seed_scores(benchmark, run) for run in by_seed(row))})")
    return [*lines, *([""] + best(benchmark, rows) if any(r.completed for r in rows) else [])]


def by_seed(row: Row) -> list[dict[str, Any]]:
    """A row's completed runs in the order of their seeds (a run without one last)."""
    return sorted(row.completed, key=lambda run: (run.get("seed") is None, run.get("seed") or 0))


def seed_scores(benchmark: Benchmark, run: dict[str, Any]) -> str:
    """One run's scores together, so none is read against another seed's: `seed 1: 8 modes, KL
    0.006, 90.1% high quality` (the quality on the mixtures only; `?` for a score not kept)."""
    modes, kl, quality = (run.get(name) for name in ("modes_covered", "class_kl", "high_quality"))
    said = [f"{'?' if modes is None else f'{modes:g}'} modes",
            f"KL {'?' if kl is None else f'{kl:.3f}'}"]
    if benchmark.quality:
        said.append(f"{'?' if quality is None else f'{100 * quality:.1f}%'} high quality")
    return f"seed {run.get('seed', '?')}: {', '.join(said)}"


def best(benchmark: Benchmark, rows: list[Row]) -> list[str]:
    """gan-lab's best set-up so far, in words, beside the paper's best row: those meeting the
    target in every seed first, then the lowest mean reverse KL (the measure of collapse both
    tables report), then the most modes."""
    def rank(row: Row) -> tuple[bool, float, float]:
        kls, modes = row.values("class_kl"), row.values("modes_covered")
        return (not meets(benchmark, row), statistics.fmean(kls) if kls else math.inf,
                -statistics.fmean(modes) if modes else 0.0)
    first = min((row for row in rows if row.completed), key=rank)
    paper_setup, paper = min(benchmark.rows.items(), key=lambda item: item[1].kl[0])
    seeds = len(first.completed)
    quality = (f", high quality {shown(first.values('high_quality', 100.0), 1)}%"
               if benchmark.quality else "")
    return [f"gan-lab's best set-up so far: **`setup={first.setup}`** at {first.steps:,} steps "
            f"({plural(seeds, 'seed')}): modes {shown(first.values('modes_covered'), 1)}"
            f", reverse KL {shown(first.values('class_kl'), 3)}{quality}. The best published "
            f"row, {paper.label} (`setup={paper_setup}`): modes "
            f"{published(paper.modes, 1, benchmark.error_digits)}, reverse KL "
            f"{published(paper.kl, 2)}" + (f", high quality {published(paper.quality, 1)}%"
                                           if benchmark.quality else "")
            + f". The target is {'**met**' if meets(benchmark, first) else 'missed'}."]


def budgets(rows: list[Row]) -> list[str]:
    """Each row's budget and hardware: steps, ms per step (each run's whole loop time over its
    steps, evaluations included), device and threads (of every part of a resumed run), hours."""
    if not rows:
        return ["No finished runs yet."]
    lines = ["| set-up | steps | ms per step | computed on | hours (all seeds) |",
             "|---|---|---|---|---|"]
    for row in rows:
        speeds = [run["ms_per_step"] for run in row.completed if run.get("ms_per_step")]
        ms = shown(speeds, 1) if speeds else "–"
        machines = sorted({f"{run.get('device') or '?'}, {threads_said(run['threads_by_part'])}"
                           for run in row.completed})
        hours = sum(run.get("wall_seconds") or 0 for run in row.completed) / 3600
        lines.append(f"| `{row.setup}` | {row.steps:,} | {ms} | {'; '.join(machines) or '–'} | "
                     f"{hours:.1f} |")
    return lines


def pictures(rows: list[Row], folder: Path) -> list[str]:
    """Each set-up's final samples of its first seed (the scatter, or the grid), copied beside
    the page (`gan.archive` keeps both)."""
    lines = []
    for row in rows:
        if not row.completed:
            continue
        run = min(row.completed, key=lambda r: r["seed"])
        final = run["run_dir"] / "samples" / "final"
        source = next((path for path in (final / "scatter.png", final / "grid.png")
                       if path.is_file()), None)
        if source is None:
            continue
        name = f"{row.setup}_{row.steps}.png"
        shutil.copyfile(source, folder / name)
        link = f"{quote(folder.name)}/{quote(name)}"
        lines.append(f"- `setup={row.setup}`, seed {run['seed']}, {row.steps:,} steps: "
                     f"![{row.setup}]({link})")
    return lines


def scored(benchmark: Benchmark, rows: list[Row]) -> str:
    """How many samples gan-lab's runs were scored on, as their configs say (the protocol's
    number where no run has finished), and whether that is the protocol's."""
    sizes = sorted({run["eval_n"] for row in rows for run in row.completed if run.get("eval_n")})
    said = " or ".join(f"{n:,}" for n in sizes or [benchmark.samples]) + " generated samples"
    return said if sizes in ([], [benchmark.samples]) else (
        f"{said} (the protocol scores {benchmark.samples:,})")


def write(root: Path, out: Path, name: str) -> str:
    """The page of benchmark `name` from the runs under root; returns what was written."""
    benchmark = BENCHMARKS[name]
    rows, running, left = collect_rows(root, name)
    if not rows and not running:
        raise UserError(f"no runs of {name} under {root} finished or evaluated yet")
    folder = out.parent / f"{out.stem}_pictures"
    folder.mkdir(parents=True, exist_ok=True)
    ordered = order(benchmark, rows)
    checks = [line for row in ordered if (line := reproduced(benchmark, row))]
    checks += [f"- {paper.label} (`setup={setup}`): no finished gan-lab run"
               for setup, paper in benchmark.rows.items()
               if not any(row.setup == setup and row.completed for row in rows)]
    page = [f"# {benchmark.title}: {benchmark.source}, beside gan-lab", "",
            f"Written by `python -m gan.study {root} {out}` from the runs under `{root}`; the "
            f"published rows are the paper's ({benchmark.trials} trials each, mean ± standard "
            f"error, {benchmark.steps:,} steps). gan-lab's rows: mean ± standard error over its "
            f"seeds, each scored on {scored(benchmark, rows)} after its last step (`eval.n`).",
            "", *table(benchmark, rows), "",
            "## Reproduction: the published set-ups within two published standard errors", "",
            *(checks or ["No published set-up has finished runs yet."]), "",
            "## Beyond the paper", "", *beyond(benchmark, rows), "",
            "## Budget and hardware of every number", "", *budgets(ordered), "",
            "## Pictures", "", *pictures(ordered, folder), "",
            *in_progress(running, benchmark.quality), *not_started(root)]
    if left:
        counts: dict[str, int] = defaultdict(int)
        for _, status in left:
            counts[status] += 1
        page += ["## Not on this page", "", *(f"- {n} run(s) {status}"
                                              for status, n in sorted(counts.items())), ""]
    out.write_text("\n".join(page))
    count = sum(len(row.runs) for row in rows)
    return (f"wrote {out}: {count} run{'s' * (count != 1)} of {name}"
            f"{f', {len(running)} in progress' if running else ''}, pictures in {folder}")


def not_started(root: Path) -> list[str]:
    """The sweeps under root whose multirun.yaml plans jobs that have no run folder yet."""
    waiting = unrun(root)
    if not waiting:
        return []
    return ["## Not started yet", "", *(
        f"- {missing} of the {planned} jobs of `{folder}`: continue it with `python train.py -m "
        f"resume={folder}`" for folder, planned, missing in waiting), ""]
