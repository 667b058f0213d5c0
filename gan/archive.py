"""`python -m gan.archive SWEEP_DIR ARCHIVE_DIR`: a sweep's finished runs kept small, for the
repository; see `gan.report.archive`."""

import sys
from pathlib import Path

from gan.errors import UserError
from gan.report.archive import archive

USAGE = """usage: python -m gan.archive SWEEP_DIR ARCHIVE_DIR

Copies each done run of the sweep in SWEEP_DIR (completed, diverged, or refused as bad input:
what a continued sweep would not train again) to the same place under ARCHIVE_DIR, without its
checkpoint, event files or intermediate sample grids: its metrics.json, config.yaml, train.log,
.hydra/, final digits' grid and evaluations over training (eval_history.json), and the sweep's
multirun.yaml, step_cost.json and optuna.db. Runs not done are left out; keeping again replaces
the kept runs and adds those done since. python -m gan.study reads an archive as it reads the
sweep; copied back, the sweep continues with python train.py -m resume=DIR (kept runs cannot
go on to more steps: their checkpoints are not kept)."""


def main(argv: list[str]) -> None:
    """Keep the runs and say how many; a mistake is one line and exit 1."""
    if "-h" in argv or "--help" in argv:
        print(USAGE)
        return
    if len(argv) != 2 or any(arg.startswith("-") for arg in argv):
        sys.exit(USAGE.splitlines()[0])
    try:
        kept, left = archive(Path(argv[0]), Path(argv[1]))
    except UserError as error:
        sys.exit(f"error: {error}")
    print(f"kept {len(kept)} done run{'' if len(kept) == 1 else 's'} of {argv[0]} in "
          f"{argv[1]}; {len(left)} not done left out")


if __name__ == "__main__":
    main(sys.argv[1:])
