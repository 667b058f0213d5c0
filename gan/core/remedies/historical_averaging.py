"""Historical averaging (Salimans et al. 2016): a penalty on straying from the mean of past
parameters, kept as a running mean without storing the history."""

from typing import Any

import torch

from gan.core.networks import Discriminator, Generator
from gan.core.objective import Forward, Terms
from gan.core.remedies.base import Remedy
from gan.errors import ConfigError

NETWORKS = ("discriminator", "generator", "both")


class HistoricalAveraging(Remedy):
    """Each chosen network's loss gains weight * ||theta - mean of past theta||^2, named
    `historical_averaging_d` and `historical_averaging_g`."""

    not_stackable = "historical_averaging's terms read each run's own running averages"

    def __init__(self, weight: float = 0.001, networks: str = "discriminator") -> None:
        if networks not in NETWORKS:
            raise ConfigError(f"remedy.historical_averaging.networks must be one of "
                              f"{', '.join(NETWORKS)}, got {networks!r}")
        self.weight = weight
        self.networks = networks
        self.averages: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Averages start at the initial parameters; `count` snapshots are in each."""
        chosen = {"discriminator": discriminator, "generator": generator}
        for name, network in chosen.items():
            if self.networks in (name, "both"):
                self.averages[name] = [(p, p.detach().clone()) for p in network.parameters()]
        device = next(discriminator.parameters()).device
        self.count = torch.ones((), device=device)  # on the device: updated inside the graph

    def penalty(self, name: str) -> Terms:
        """{historical_averaging_<d|g>: weight * sum ||theta - average||^2} over the network's
        parameters; nothing when the network is not chosen."""
        if name not in self.averages:
            return {}
        total = sum((p - average).square().sum() for p, average in self.averages[name])
        return {f"historical_averaging_{name[0]}": self.weight * total}

    def discriminator_terms(self, forward: Forward) -> Terms:
        """D's penalty."""
        return self.penalty("discriminator")

    def generator_terms(self, forward: Forward) -> Terms:
        """G's penalty."""
        return self.penalty("generator")

    def state_dict(self) -> dict[str, Any]:
        """The running means and how many snapshots are in them."""
        return {"count": self.count} | {name: [average for _, average in pairs]
                                        for name, pairs in self.averages.items()}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy saved means and count into the attached ones."""
        self.count.copy_(state["count"])
        for name, pairs in self.averages.items():
            for (_, average), saved in zip(pairs, state[name], strict=True):
                average.copy_(saved)

    @torch.no_grad()
    def after_update(self) -> None:
        """Fold the new parameters into the running mean: avg += (theta - avg) / count."""
        self.count += 1
        for pairs in self.averages.values():
            for parameter, average in pairs:
                average.add_((parameter - average) / self.count)
