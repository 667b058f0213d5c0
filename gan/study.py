"""`python -m gan.study SWEEP_DIR OUT.md`: a sweep's runs as a results page (the answer first,
set-ups pooled over seeds, verdicts against no remedy, curves, histograms and sample grids);
see `gan.report.study_page`. The curves and histograms need the `plots` extra (matplotlib).
Runs of a literature benchmark (ring8, grid25, stacked_mnist) get its page instead: the paper's
published rows beside them (`gan.report.benchmark`)."""

import sys
from pathlib import Path

from gan.errors import UserError
from gan.report.benchmark import benchmarks_under
from gan.report.benchmark import write as benchmark_page
from gan.report.study_page import write

USAGE = "usage: python -m gan.study SWEEP_DIR OUT.md"


def main(argv: list[str]) -> None:
    """Write OUT.md from the runs under SWEEP_DIR and say so in a line; a mistake is one line
    and exit 1."""
    if len(argv) != 2:
        sys.exit(USAGE)
    root, out = Path(argv[0]), Path(argv[1])
    try:
        found = benchmarks_under(root) if root.is_dir() else set()
        if len(found) > 1:
            raise UserError(f"{root} holds runs of {len(found)} benchmarks "
                            f"({', '.join(sorted(found))}): one page each, from each one's "
                            f"folder (multirun/study/<benchmark>)")
        print(benchmark_page(root, out, found.pop()) if found else write(root, out))
    except UserError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
