"""`python -m gan.runs [DIR ...]`: every run under the DIRs (default `outputs` and `multirun`)
in one table, best first; see `gan.report.runs`."""

import os
import sys
from pathlib import Path

from gan.errors import UserError
from gan.report.runs import listing

USAGE = """usage: python -m gan.runs [DIR ...]

Lists every run under the DIRs (default: outputs and multirun, here): its rank, FID, steps,
wall time, status and overrides, then its directory (a class-conditional run also its intra-FID,
conditional accuracy and conditioning). Completed runs come first, best first by FID (lower is
better), runs without FID after them; then runs that left no metrics.json (still training, or
killed); then failed runs, with their reason. A run directory is any directory
holding .hydra/overrides.yaml or metrics.json."""


def main(argv: list[str]) -> None:
    """Print the runs; a missing directory or an unknown option is one line and exit 1."""
    if "-h" in argv or "--help" in argv:
        show(USAGE)
        return
    options = [arg for arg in argv if arg.startswith("-")]
    if options:
        sys.exit(f"error: unknown option {options[0]} ({USAGE.splitlines()[0]})")
    try:
        text = listing([Path(arg) for arg in argv])
    except UserError as error:
        sys.exit(f"error: {error}")
    show(text)


def show(text: str) -> None:
    """Print text; a reader that stops early (`| head`) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit


if __name__ == "__main__":
    main(sys.argv[1:])
