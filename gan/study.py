"""`python -m gan.study SWEEP_DIR OUT.md`: a sweep's runs as a results page (the answer first,
set-ups pooled over seeds, verdicts against no remedy, curves, histograms and sample grids);
see `gan.report.study_page`. The curves and histograms need the `plots` extra (matplotlib)."""

import sys
from pathlib import Path

from gan.errors import UserError
from gan.report.study_page import write

USAGE = "usage: python -m gan.study SWEEP_DIR OUT.md"


def main(argv: list[str]) -> None:
    """Write OUT.md from the runs under SWEEP_DIR and say so in a line; a mistake is one line
    and exit 1."""
    if len(argv) != 2:
        sys.exit(USAGE)
    try:
        print(write(Path(argv[0]), Path(argv[1])))
    except UserError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
