"""Packing (Lin et al. 2018, "PacGAN: The power of two samples in generative adversarial
networks"): D judges m samples at once, so a collapsed batch is easier to tell apart."""

from typing import Any

from gan.core.remedies.base import Remedy
from gan.errors import ConfigError


class Packing(Remedy):
    """Asks the discriminator for `packing` = samples: it takes `samples` images stacked along
    the channels and gives one logit for them (train.batch_size must divide by `samples`; a
    discriminator without the option refuses the remedy)."""

    def __init__(self, samples: int = 2) -> None:
        if samples < 2:
            raise ConfigError(f"remedy.packing.samples must be >= 2, got {samples}")
        self.samples = samples

    def options(self) -> dict[str, dict[str, Any]]:
        """The discriminator's packing."""
        return {"discriminator": {"packing": self.samples}}
