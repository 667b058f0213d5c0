"""One-sided label smoothing (Salimans et al. 2016): D's target for real images drops below 1;
the target for generated images stays 0."""

from typing import Any

from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


class LabelSmoothing(Remedy):
    """Asks the loss for `real_target` (a loss that has no such target refuses the remedy)."""

    def __init__(self, real_target: float = 0.9) -> None:
        if not 0.0 < real_target <= 1.0:
            raise ConfigError(f"remedy.label_smoothing.real_target must be in (0, 1], got "
                              f"{real_target}")
        self.real_target = real_target

    def options(self) -> dict[str, dict[str, Any]]:
        """The loss's target for real images."""
        return {"loss": {"real_target": self.real_target}}
