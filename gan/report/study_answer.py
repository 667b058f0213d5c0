"""The top of a study's results page: its title and how to read it, then the answer in plain
sentences per discriminator (what no remedy reaches, the cure and its cost, the best on FID, the
set-ups that cover every class, the report's six remedies with their verdicts), then every
verdict by kind. Every number is read from the runs (`gan.report.study`)."""

from collections import defaultdict
from pathlib import Path

from gan.report.study import NONE, SetUp, baseline, spread, verdict
from gan.report.summary import key

# The six remedies the seed's report listed without trying them, by their names here.
REPORT = ("feature_matching", "minibatch_discrimination", "label_smoothing",
          "historical_averaging", "batch_norm", "balance")


def mean(setup: SetUp, name: str) -> float | None:
    """The mean over seeds of a metric, or None where no completed run has it."""
    values = setup.values(name)
    return spread(values)[0] if values else None


def scores(setup: SetUp) -> str:
    """What a set-up reaches, in words: classes covered, class KL, FID, precision, recall, and
    how many of its runs diverged (the means are of the others)."""
    parts = [f"{name} {value:.{digits}f}" for name, digits in (
        ("class KL", 3), ("FID", 1), ("precision", 2), ("recall", 2))
        if (value := mean(setup, {"class KL": "class_kl", "FID": "fid"}.get(name, name)))
        is not None]
    diverged = len(setup.runs) - len(setup.completed)
    if diverged:
        parts.append(f"{diverged} of {len(setup.runs)} runs diverged")
    return f"covers {mean(setup, 'modes_covered') or 0:.1f} of 10 classes ({', '.join(parts)})"


def covered(setup: SetUp) -> tuple[float, float]:
    """How well a set-up fixes the collapse, smaller is better: the share of its runs (diverged
    ones counted) that cover all 10 classes, negated, then its mean class KL (none: worst)."""
    full = sum(run.get("modes_covered") == 10 for run in setup.completed) / len(setup.runs)
    kl = mean(setup, "class_kl")
    return -full, float("inf") if kl is None else kl


def times(before: float | None, after: float | None) -> str | None:
    """How a lower-is-better number moved, in words (`2.7x lower`, `1.3x higher`, `0.1 -> 0`);
    None where either is missing."""
    if before is None or after is None:
        return None
    if 0 in (before, after):
        return f"{before:.3g} -> {after:.3g}"
    return f"{before / after:.1f}x lower" if after <= before else f"{after / before:.1f}x higher"


def pooled(setups: list[SetUp]) -> list[SetUp]:
    """The set-ups run over two seeds or more: one seed's luck names no cure, best or
    every-seed set-up (a study still running has set-ups of one seed so far)."""
    return [setup for setup in setups if len(setup.runs) >= 2]


def cure(base: SetUp, judged: list[SetUp]) -> tuple[SetUp | None, str]:
    """The set-up that fixes the collapse best (`covered`) among the `pooled` ones, and in words
    by how much and at what cost per step; or None, and that none covers the classes better."""
    candidates = pooled(judged)
    best = min(candidates, key=covered) if candidates else None
    if best is None or covered(best) >= covered(base):
        return None, (" No set-up covers the classes better than no remedy"
                      + (" over two seeds or more" if len(candidates) < len(judged) else ""))
    moved = [f"{name} {change}" for name, change in (
        ("class KL", times(mean(base, "class_kl"), mean(best, "class_kl"))),
        ("FID", times(mean(base, "fid"), mean(best, "fid")))) if change]
    return best, (f" The cure, **{best.label}**, {scores(best)}: {', '.join(moved)}"
                  + cost(best, base))


def cost(setup: SetUp, base: SetUp) -> str:
    """What a set-up's step costs against no remedy's: timed in pairs where
    `bench/setup_cost.py` did (`SetUp.cost`), else as the runs measured their own loops."""
    if setup.cost is not None:
        return (f", at {setup.cost.ratio:.2f}x the time of no remedy's step "
                f"({setup.cost.ms:.2f} ms against {setup.cost.none_ms:.2f}, timed in pairs)")
    costs = mean(setup, "ms_per_step"), mean(base, "ms_per_step")
    if None in costs:
        return ""
    return (f", at {costs[0]:.2f} ms per step against {costs[1]:.2f} as the runs measured "
            f"their loops ({costs[0] / costs[1]:.1f}x; not timed in pairs)")


def sentences(section: list[SetUp], running: bool = False) -> list[str]:
    """The answer for one discriminator in a few sentences, or none where its set-ups have no
    plain `none` baseline with FID to compare against: what no remedy reaches, the cure (the
    most even coverage), the best on FID where that is another set-up, and the set-ups that
    cover every class in every seed (of two or more). running: the study has jobs still to
    run, so a remedy with no runs is "not run yet" rather than "not run here"."""
    base = next((s for s in section if s.remedies == NONE and not s.others), None)
    judged = [s for s in section if s.remedies != NONE and not s.others and s.values("fid")]
    if base is None or not base.values("fid") or not judged:
        return []
    cured, said = cure(base, judged)
    text = f"**{section[0].discriminator}**: with no remedy the generator {scores(base)}.{said}."
    sharpest = min([base, *pooled(judged)], key=lambda s: mean(s, "fid") or float("inf"))
    if sharpest is base:
        text += " No set-up beats no remedy on FID."
    elif sharpest is not cured:
        text += (f" Best on FID: **{sharpest.label}** (FID {mean(sharpest, 'fid'):.1f}, "
                 f"{times(mean(base, 'fid'), mean(sharpest, 'fid'))}, covering "
                 f"{mean(sharpest, 'modes_covered') or 0:.1f} classes).")
    full = [s.label for s in sorted(pooled([base, *judged]), key=lambda s: mean(s, "fid") or 0.0)
            if len(s.completed) == len(s.runs) and min(s.values("modes_covered") or [0]) == 10]
    text += (f" Every class in every seed: {', '.join(f'**{label}**' for label in full)}."
             if full else " No set-up covers every class in every seed.")
    return [text, "", remedies_said(section, base, running), ""]


def remedies_said(section: list[SetUp], base: SetUp, running: bool = False) -> str:
    """Each of the report's six remedies with its verdict against no remedy (on FID and class
    KL together) and the classes it covers, which the verdict alone does not say; one with no
    runs is "not run yet" while the study is running, else "not run here"."""
    unrun = "not run yet" if running else "not run here"
    said = []
    for name in REPORT:
        setup = next((s for s in section if s.remedies == name and not s.others), None)
        if setup is None or not setup.completed:
            said.append(f"{name} {'diverged in every seed' if setup else unrun}")
            continue
        said.append(f"{name} {verdict(setup, base)[0]} ({numbers(setup)})")
    return ("The report's six remedies, each alone against no remedy "
            f"({numbers(base, ' of 10')}), judged on FID and class KL together: "
            + "; ".join(said) + ".")


def numbers(setup: SetUp, of: str = "") -> str:
    """Classes covered (`7.0 classes`, or with of=" of 10" `7.0 of 10 classes`), FID and class
    KL: the means over seeds of those its runs have."""
    parts = []
    if (classes := mean(setup, "modes_covered")) is not None:
        parts.append(f"{classes:.1f}{of} classes")
    if (fid := mean(setup, "fid")) is not None:
        parts.append(f"FID {fid:.1f}")
    if (kl := mean(setup, "class_kl")) is not None:
        parts.append(f"class KL {kl:.3f}")
    return ", ".join(parts)


def answer(sections: list[list[SetUp]], running: bool = False) -> list[str]:
    """The report's question answered in a line per discriminator (and per other overrides),
    from the verdicts; or, plainly, why there is no answer. running: the study has jobs still
    to run (see `sentences`)."""
    lines = ["## The answer", "",
             *(line for section in sections for line in sentences(section, running))]
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


def headline(root: Path, out: Path, sections: list[list[SetUp]]) -> list[str]:
    """The page's title and how to read it."""
    all_setups = [setup for section in sections for setup in section]
    runs = [run for setup in all_setups for run in setup.runs]
    remedies = any(setup.remedies != NONE for setup in all_setups)
    experiments = list(dict.fromkeys(o for run in runs for o in run["overrides"]
                                     if key(o) == "experiment"))
    source = (f"the runs of `python train.py -m {experiments[0]}`"
              + "".join(f" and `{name}`" for name in experiments[1:]) + " (see the README)"
              if experiments else f"the {len(runs)} runs under `{root}`")
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
