"""A run's evaluations over training, read back from its TensorBoard event files (every run
writes them, so a finished sweep needs nothing more to draw its curves), or, for a run kept
without them (`python -m gan.archive`), from the `eval_history.json` kept in their place."""

import json
import logging
from pathlib import Path

HISTORY_FILE = "eval_history.json"  # a kept run's evaluations: {name: [[step, value], ...]}
EVENTS = "events.out.tfevents.*"  # TensorBoard's event files, as a glob
PREFIX = "eval/"  # the evaluations' scalars in TensorBoard


def eval_history(run_dir: Path, names: tuple[str, ...] | None = None
                 ) -> dict[str, list[tuple[int, float]]]:
    """Each `eval/<name>` scalar of the run as (step, value) pairs in step order; a name the
    run never logged maps to [], and names=None gives every evaluation it logged. Read from
    the run's event files; where it has none, from its `eval_history.json` (a kept run). A
    resumed run's events are read as TensorBoard shows them: what a killed run logged after
    its last checkpoint was purged when it resumed. Raises ValueError for an unreadable
    `eval_history.json`."""
    kept = run_dir / HISTORY_FILE
    logged = (_from_file(kept) if not any(run_dir.glob(EVENTS)) and kept.is_file()
              else _from_events(run_dir))
    return {name: logged.get(name, []) for name in (sorted(logged) if names is None else names)}


def _from_file(path: Path) -> dict[str, list[tuple[int, float]]]:
    """A kept run's `eval_history.json`; ValueError where it is not {name: [[step, value]]}."""
    try:
        saved = json.loads(path.read_text())
        return {str(name): [(int(step), float(value)) for step, value in series]
                for name, series in saved.items()}
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a run's evaluations ({{name: [[step, value], ...]}}): "
                         f"{error}") from None


def _from_events(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every `eval/<name>` scalar in the run's event files, by name, in step order."""
    # TensorBoard's reader here, not above: the report commands start at once.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})  # 0: keep them all
    quiet = logging.getLogger("tensorboard")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a resumed run's purge is expected, not worth a warning
    try:
        events.Reload()
    finally:
        quiet.setLevel(level)
    tags = [tag for tag in events.Tags().get("scalars", []) if tag.startswith(PREFIX)]
    return {tag.removeprefix(PREFIX): sorted((event.step, event.value)
                                             for event in events.Scalars(tag)) for tag in tags}
