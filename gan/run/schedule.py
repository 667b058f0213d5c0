"""When the loop's actions run: every N steps from step 0, after the last step, or wherever
another action is due."""

from collections.abc import Callable
from dataclasses import dataclass

from gan.core.step import StepOutput

Action = Callable[[int, StepOutput], None]  # (step, its output)
Event = Callable[[int, StepOutput, bool], None]  # (step, its output, whether it is the last)


@dataclass
class Periodic:
    """An action run every `every` steps (from step 0) and after the last step."""

    every: int
    action: Action

    def due(self, step: int, last: bool) -> bool:
        """Whether the action runs at this step."""
        return step % self.every == 0 or last

    def __call__(self, step: int, output: StepOutput, last: bool) -> None:
        """Run the action when this step is due."""
        if self.due(step, last):
            self.action(step, output)


@dataclass
class BeforeAny:
    """An action run at every step where any of `events` is due, before them."""

    events: list[Periodic]
    action: Action

    def __call__(self, step: int, output: StepOutput, last: bool) -> None:
        """Run the action when any of the events is due."""
        if any(event.due(step, last) for event in self.events):
            self.action(step, output)
