"""What a set-up's training step costs against no remedy's, as `bench/setup_cost.py` timed it
in pairs (`step_cost.json` in a study's folder): the runs' own wall time per step depends on
whatever shared the machine while they ran, so the answer and the table prefer this."""

import json
from dataclasses import dataclass
from pathlib import Path

from gan.errors import UserError

COST_FILE = "step_cost.json"  # where `python bench/setup_cost.py ... out=` writes it


@dataclass(frozen=True)
class StepCost:
    """One set-up's step against no remedy's: `ratio` (of the medians of paired blocks), both
    in milliseconds (no remedy's from the blocks paired with this set-up's), and the command
    that timed them (with its device and threads)."""

    ratio: float
    ms: float
    none_ms: float
    source: str


def read_costs(root: Path) -> dict[str, dict[str, StepCost]]:
    """discriminator -> set-up name -> its StepCost, from every COST_FILE under root (the first
    by path where two time one discriminator). Raises UserError naming an unreadable file."""
    found: dict[str, dict[str, StepCost]] = {}
    for path in sorted(root.rglob(COST_FILE)):
        try:
            timed = json.loads(path.read_text())
            source = (f"`{timed['command']}` ({timed['device']}, {timed['threads']} thread"
                      f"{'' if timed['threads'] == 1 else 's'}, the median of "
                      f"{timed['rounds']} paired blocks of {timed['steps']} steps)")
            paired = timed.get("none_ms_per_step", {})  # none's in the same blocks
            costs = {name: StepCost(ratio, timed["ms_per_step"][name],
                                    paired.get(name, timed["ms_per_step"]["none"]), source)
                     for name, ratio in timed["ratio"].items()}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"{path} is not a step cost file of bench/setup_cost.py "
                            f"({type(error).__name__}: {error})") from None
        found.setdefault(timed["discriminator"], costs)
    return found
