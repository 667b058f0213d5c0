"""`python -m gan.study SWEEP_DIR OUT.md`: a sweep's runs as a results page (the answer first,
set-ups pooled over seeds, verdicts against no remedy, curves, histograms and sample grids);
see `gan.report.study_page`. The curves and histograms need the `plots` extra (matplotlib).
Unconditional runs of a literature benchmark (ring8, grid25, stacked_mnist) get its page
instead: the paper's published rows beside them (`gan.report.benchmark`). Class-conditional runs
(their metrics.json has `conditional_accuracy`; Stacked MNIST's too, where no unconditional run
is beside them) get theirs: the conditionings pooled over seeds, per-class accuracy
and recall, and issue 38's targets met or missed (`gan.report.study_conditional`), the intra-FID
target against the unconditional FID given as `unconditional_fid=F` (a number or a run
directory)."""

import sys
from pathlib import Path

from gan.errors import UserError
from gan.report.benchmark import benchmarks_under
from gan.report.benchmark import write as benchmark_page
from gan.report.study_conditional import ARGUMENT, conditional_under, reference
from gan.report.study_conditional import write as conditional_page
from gan.report.study_page import write

USAGE = f"usage: python -m gan.study SWEEP_DIR OUT.md [{ARGUMENT}=FID]"


def main(argv: list[str]) -> None:
    """Write OUT.md from the runs under SWEEP_DIR and say so in a line; a mistake is one line
    and exit 1."""
    if len(argv) not in (2, 3):
        sys.exit(USAGE)
    root, out = Path(argv[0]), Path(argv[1])
    try:
        given = option(argv[2:])
        found = benchmarks_under(root) if root.is_dir() else set()
        if len(found) > 1:
            raise UserError(f"{root} holds runs of {len(found)} benchmarks "
                            f"({', '.join(sorted(found))}): one page each, from each one's "
                            f"folder (multirun/study/<benchmark>)")
        conditional = not found and root.is_dir() and conditional_under(root)
        if given is not None and not conditional:
            raise UserError(f"{ARGUMENT}= is for a page of class-conditional runs, and {root} "
                            "holds none")
        if found:
            print(benchmark_page(root, out, found.pop()))
        elif conditional:
            print(conditional_page(root, out, None if given is None else reference(given)))
        else:
            print(write(root, out))
    except UserError as error:
        sys.exit(f"error: {error}")


def option(words: list[str]) -> str | None:
    """The value of the one optional argument, `unconditional_fid=`, or None where it is not
    given. Raises UserError for any other word."""
    if not words:
        return None
    name, _, value = words[0].partition("=")
    if name != ARGUMENT or not value:
        raise UserError(f"unknown argument {words[0]!r}; {USAGE}")
    return value


if __name__ == "__main__":
    main(sys.argv[1:])
