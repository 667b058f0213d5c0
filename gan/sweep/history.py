"""A run's evaluations over training, read back from its TensorBoard event files (every run
writes them, so a finished sweep needs nothing more to draw its curves)."""

import logging
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def eval_history(run_dir: Path, names: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    """Each `eval/<name>` scalar of the run as (step, value) pairs in step order; a name the
    run never logged maps to []. A resumed run's events are read as TensorBoard shows them:
    what a killed run logged after its last checkpoint was purged when it resumed."""
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})  # 0: keep them all
    quiet = logging.getLogger("tensorboard")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a resumed run's purge is expected, not worth a warning
    try:
        events.Reload()
    finally:
        quiet.setLevel(level)
    logged = set(events.Tags().get("scalars", []))
    return {name: sorted((event.step, event.value) for event in events.Scalars(f"eval/{name}"))
            if f"eval/{name}" in logged else [] for name in names}
