"""Historical averaging (Salimans et al. 2016): a penalty on straying from the mean of past
parameters, kept as a running mean without storing the history."""

from typing import TYPE_CHECKING, Any

import torch

from gan.errors import ConfigError
from gan.remedies.base import Remedy

if TYPE_CHECKING:
    from gan.step import AdversarialStep, Forward

NETWORKS = ("discriminator", "generator", "both")


class HistoricalAveraging(Remedy):
    """Each chosen network's loss gains weight * ||theta - mean of past theta||^2."""

    def __init__(self, weight: float = 0.001, networks: str = "discriminator") -> None:
        if networks not in NETWORKS:
            raise ConfigError(f"remedy.historical_averaging.networks must be one of "
                              f"{', '.join(NETWORKS)}, got {networks!r}")
        self.weight = weight
        self.networks = networks
        self.averages: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def attach(self, step: "AdversarialStep") -> None:
        """Averages start at the initial parameters; `count` snapshots are in each."""
        chosen = {"discriminator": step.d_parameters, "generator": step.g_parameters}
        for name, parameters in chosen.items():
            if self.networks in (name, "both"):
                self.averages[name] = [(p, p.detach().clone()) for p in parameters]
        device = step.d_parameters[0].device
        self.count = torch.ones((), device=device)  # on the device: updated inside the graph

    def penalty(self, name: str) -> torch.Tensor | float:
        """weight * sum ||theta - average||^2 over the network's parameters (0 if not chosen)."""
        pairs = self.averages.get(name, [])
        return self.weight * sum((p - average).square().sum() for p, average in pairs)

    def discriminator_loss(self, forward: "Forward", loss: torch.Tensor,
                           step: "AdversarialStep") -> torch.Tensor:
        """D's loss plus its penalty."""
        return loss + self.penalty("discriminator")

    def generator_loss(self, forward: "Forward", loss: torch.Tensor,
                       step: "AdversarialStep") -> torch.Tensor:
        """G's loss plus its penalty."""
        return loss + self.penalty("generator")

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
    def after_update(self, step: "AdversarialStep") -> None:
        """Fold the new parameters into the running mean: avg += (theta - avg) / count."""
        self.count += 1
        for pairs in self.averages.values():
            for parameter, average in pairs:
                average.add_((parameter - average) / self.count)
