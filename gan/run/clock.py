"""A run's time across its resumes: the part this process trains, and the parts before it."""

import time
from dataclasses import dataclass


@dataclass
class Clock:
    """Wall time (set-up included) and loop time of this part of a run, plus those of the parts
    before it, which a resumed run reads from its checkpoint (`whole()` is what it saves)."""

    started: float  # time.perf_counter() when this part began
    earlier_wall: float = 0.0  # seconds, of the parts before this one
    earlier_loop: float = 0.0
    loop_started: float | None = None
    loop_stopped: float | None = None

    def resume(self, saved: dict[str, float]) -> None:
        """Count the parts before this one (a checkpoint without them counts as none)."""
        self.earlier_wall = saved.get("wall_seconds", 0.0)
        self.earlier_loop = saved.get("loop_seconds", 0.0)

    def start_loop(self) -> None:
        """Mark where this part's training loop begins."""
        self.loop_started = time.perf_counter()

    def stop_loop(self) -> None:
        """Mark where it ends: what follows (the final losses, the digits) is not loop time."""
        self.loop_stopped = time.perf_counter()

    def part(self) -> dict[str, float]:
        """This part's wall_seconds and loop_seconds so far."""
        now = time.perf_counter()
        end = now if self.loop_stopped is None else self.loop_stopped
        loop = 0.0 if self.loop_started is None else end - self.loop_started
        return {"wall_seconds": now - self.started, "loop_seconds": loop}

    def whole(self) -> dict[str, float]:
        """The run's wall_seconds and loop_seconds so far, every part included."""
        part = self.part()
        return {"wall_seconds": self.earlier_wall + part["wall_seconds"],
                "loop_seconds": self.earlier_loop + part["loop_seconds"]}
