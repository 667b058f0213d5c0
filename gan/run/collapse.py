"""Telling, while a run trains, that its evaluations show a collapse: the classes the generator
covers falling sharply, or the discriminator's loss vanishing. A GAN can fail in any set-up;
the run says so in its log and metrics.json, with the step, and keeps its best generator
(`gan.run.evaluation`) to fall back on.

The thresholds, and why:

- **collapse**: classes covered at or below half the most covered at an earlier evaluation
  (10 -> 5 or fewer). Seeds of a healthy set-up move by a class or two between evaluations;
  a collapse (the DCGAN preset at 20,001 steps: 10 classes at step 5,000, 1 at step 10,000)
  loses most of them at once.
- **D's loss vanished**: D's adversarial loss below 1e-3 at an evaluation step, i.e. D tells
  real from generated apart almost perfectly (for BCE: mean D(G(z)) near 0), where the
  generator's gradient carries little information (Arjovsky and Bottou 2017). Losses that are
  not bounded below by 0 (the Wasserstein critic's) never count as vanished.
"""

import math
from dataclasses import asdict, dataclass
from typing import Any

COLLAPSED_FRACTION = 0.5  # classes covered at or below this share of the most seen earlier
VANISHED_D_LOSS = 1e-3  # D's adversarial loss below this (and >= 0) has vanished


@dataclass
class Alarm:
    """A sign of failure seen at an evaluation: its step, its kind and a sentence."""

    step: int
    kind: str  # "collapse" or "d_loss_vanished"
    message: str


class CollapseWatch:
    """Each evaluation's classes covered and D's loss, against what the run reached before.
    Each kind of alarm is raised once, at the first evaluation that shows it."""

    def __init__(self) -> None:
        self.most_modes = 0  # the most classes covered at an evaluation so far
        self.most_step = -1  # where
        self.alarms: list[Alarm] = []

    def observe(self, step: int, modes_covered: int, d_loss: float,
                fid: float | None = None) -> list[Alarm]:
        """The alarms this evaluation raises (none, one or both kinds), also kept in `alarms`."""
        raised = []
        said = {alarm.kind for alarm in self.alarms}
        fell = self.most_modes >= 2 and modes_covered <= COLLAPSED_FRACTION * self.most_modes
        if fell and "collapse" not in said:
            detail = "" if fid is None or not math.isfinite(fid) else f", FID {fid:.1f}"
            raised.append(Alarm(step, "collapse", (
                f"collapse at step {step}: classes covered fell to {modes_covered} from "
                f"{self.most_modes} at step {self.most_step}{detail}")))
        if 0 <= d_loss < VANISHED_D_LOSS and "d_loss_vanished" not in said:
            raised.append(Alarm(step, "d_loss_vanished", (
                f"D's loss vanished at step {step}: {d_loss:.2g} (D tells real from generated "
                "apart; the generator learns little from here)")))
        if modes_covered > self.most_modes:
            self.most_modes, self.most_step = modes_covered, step
        self.alarms.extend(raised)
        return raised

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps, so a resumed run compares with the whole run so far."""
        return {"most_modes": self.most_modes, "most_step": self.most_step,
                "alarms": [asdict(alarm) for alarm in self.alarms]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what `state_dict` kept (a checkpoint without it: nothing seen yet)."""
        self.most_modes = state.get("most_modes", 0)
        self.most_step = state.get("most_step", -1)
        self.alarms = [Alarm(**alarm) for alarm in state.get("alarms", [])]
