"""Balance between D and G: several updates of one per update of the other. (Their own
learning rates, the two time-scale update rule, are `lr.discriminator` and `lr.generator`.)"""

from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


class Balance(Remedy):
    """`d_steps` D updates and `g_steps` G updates per step."""

    def __init__(self, d_steps: int = 1, g_steps: int = 1) -> None:
        if d_steps < 1 or g_steps < 1:
            raise ConfigError(f"remedy.balance.d_steps and g_steps must be >= 1, got "
                              f"{d_steps} and {g_steps}")
        self.d_steps, self.g_steps = d_steps, g_steps
