"""Batch normalization of the networks' hidden layers (Ioffe and Szegedy 2015; Radford et al.
2016 credit it with keeping G from collapsing)."""

from typing import Any

from gan.core.remedies.base import Remedy


class BatchNorm(Remedy):
    """Asks each chosen network for `batch_norm=True` (a network without that option refuses
    the remedy)."""

    not_stackable = "batch_norm's running statistics are updated in place every forward"

    def __init__(self, generator: bool = True, discriminator: bool = True) -> None:
        self.networks = {"generator": generator, "discriminator": discriminator}

    def options(self) -> dict[str, dict[str, Any]]:
        """`batch_norm` for each network it is on for."""
        return {name: {"batch_norm": True} for name, chosen in self.networks.items() if chosen}
