"""Stopping a run whose losses or weights have become NaN or infinite: it cannot recover."""

import torch
from torch import nn

from gan.core.step import StepOutput


class Diverged(RuntimeError):
    """Training produced a NaN or an infinity."""

    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"training diverged at step {step}: {what} not finite (NaN or inf)")
        self.step = step


class DivergenceGuard:
    """Checks that both losses and every weight are finite, at the steps it is called."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        self.networks = {"the generator's weights": generator,
                         "the discriminator's weights": discriminator}

    def __call__(self, step: int, output: StepOutput) -> None:
        """Raise `Diverged`, naming the step and what went bad, if anything is not finite."""
        checks = [torch.isfinite(output.g_loss), torch.isfinite(output.d_loss)]
        for network in self.networks.values():
            checks.append(torch.stack([p.isfinite().all() for p in network.parameters()]).all())
        finite = torch.stack(checks).tolist()  # one device read for all of it
        names = ["the generator loss", "the discriminator loss", *self.networks]
        bad = [name for name, ok in zip(names, finite, strict=True) if not ok]
        if len(bad) == 1:
            raise Diverged(step, f"{bad[0]} is")
        if bad:
            raise Diverged(step, f"{', '.join(bad[:-1])} and {bad[-1]} are")
