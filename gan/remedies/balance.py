"""Balance between D and G: several updates of one per update of the other, and their own
learning rates (the two time-scale update rule)."""

from typing import Any

from gan.errors import ConfigError
from gan.remedies.base import Remedy


class Balance(Remedy):
    """`d_steps` D updates and `g_steps` G updates per step; `d_lr`/`g_lr` (None: the
    optimizer's lr) for each network."""

    def __init__(self, d_steps: int = 1, g_steps: int = 1, d_lr: float | None = None,
                 g_lr: float | None = None) -> None:
        if d_steps < 1 or g_steps < 1:
            raise ConfigError(f"remedy.balance.d_steps and g_steps must be >= 1, got "
                              f"{d_steps} and {g_steps}")
        self.d_steps, self.g_steps = d_steps, g_steps
        self.learning_rates = {"discriminator": d_lr, "generator": g_lr}

    def optimizer_options(self, network: str) -> dict[str, Any]:
        """This network's learning rate, where one is set."""
        lr = self.learning_rates[network]
        return {} if lr is None else {"lr": lr}
