"""A run's time across its resumes: the part this process trains, and the parts before it."""

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Clock:
    """Wall time (set-up included) and loop time of this part of a run, plus those of the parts
    before it, which a resumed run reads from its checkpoint (`whole()` is what it saves); and
    each part's first step, device and CPU threads, so a run records what every part ran on."""

    started: float  # time.perf_counter() when this part began
    earlier_wall: float = 0.0  # seconds, of the parts before this one
    earlier_loop: float = 0.0
    loop_started: float | None = None
    loop_stopped: float | None = None
    earlier_parts: list[dict[str, Any]] = field(default_factory=list)  # as `whole()` saved them
    from_step: int = 0  # this part's first step
    device: str | None = None  # what this part computes on (`begin_part`)
    threads: int | None = None

    def resume(self, saved: dict[str, Any]) -> None:
        """Count the parts before this one (a checkpoint without them counts as none; one from
        before parts were recorded gives their time, not their list)."""
        self.earlier_wall = saved.get("wall_seconds", 0.0)
        self.earlier_loop = saved.get("loop_seconds", 0.0)
        self.earlier_parts = list(saved.get("parts", []))

    def begin_part(self, from_step: int, device: str, threads: int) -> None:
        """Say where this part starts and what it computes on (its CPU threads)."""
        self.from_step, self.device, self.threads = from_step, device, threads

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

    def whole(self) -> dict[str, Any]:
        """The run's wall_seconds and loop_seconds so far, every part included, and `parts`:
        each part's from_step, device, threads, wall_seconds and loop_seconds, in order."""
        part = self.part()
        this = {"from_step": self.from_step, "device": self.device, "threads": self.threads}
        return {"wall_seconds": self.earlier_wall + part["wall_seconds"],
                "loop_seconds": self.earlier_loop + part["loop_seconds"],
                "parts": [*self.earlier_parts, this | part]}
