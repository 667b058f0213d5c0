"""The 2D mixtures' step with maxout by `max(dim).values` (gan.core.mlp.Maxout) against the
same step by `amax`, whose backward compares every piece with the maximum and divides among ties.

    python bench/maxout.py [steps=200] [rounds=3] [threads=1]

Both steps are experiment=ring8's networks (MLP generator, maxout discriminator), BCE, Adam,
simultaneous updates, batch 100, built in this one process and timed in alternating blocks;
prints ms/step of each and their ratio, the median over rounds.
"""

import sys
from collections.abc import Callable

import torch
from timing import ms_per_call, paired_medians

from gan.core import mlp
from gan.core.losses import BCELoss
from gan.core.objective import Objective
from gan.core.step import SimultaneousStep

BATCH = 100


def by_amax(self: mlp.Maxout, x: torch.Tensor) -> torch.Tensor:
    """The former forward: the largest piece by `amax`."""
    return self.linear(x).view(-1, self.features, self.pieces).amax(dim=2)


def call_of(maxout: Callable[..., torch.Tensor] | None) -> Callable[[], object]:
    """One step of the ring8 networks whose maxout layers use `maxout` (None: the shipped)."""
    torch.manual_seed(0)
    generator, discriminator = mlp.MLPGenerator(), mlp.MaxoutDiscriminator()
    if maxout is not None:
        for layer in discriminator.modules():
            if isinstance(layer, mlp.Maxout):
                layer.forward = maxout.__get__(layer)
    step = SimultaneousStep(
        generator, discriminator,
        torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.8, 0.999), fused=True),
        torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=(0.8, 0.999), fused=True),
        Objective(BCELoss()))
    real, z = torch.randn(BATCH, 2), torch.randn(BATCH, 2)
    return lambda: step(real, z)


def main(argv: list[str]) -> None:
    """Time both steps in alternating blocks; print a Markdown table."""
    options = dict(word.split("=", 1) for word in argv)
    steps, rounds = int(options.get("steps", 200)), int(options.get("rounds", 3))
    torch.set_num_threads(int(options.get("threads", 1)))
    cpu = torch.device("cpu")
    shipped, former = call_of(None), call_of(by_amax)
    for call in (shipped, former):
        ms_per_call(call, 20, cpu)  # warm-up
    mine, base = paired_medians(shipped, former, steps, rounds, cpu)
    print(f"cpu, {torch.get_num_threads()} thread(s), batch {BATCH}, median of {rounds}")
    print("| maxout by | ms/step |\n|---|---|")
    print(f"| `max(dim).values` (shipped) | {mine:.2f} |\n| `amax` | {base:.2f} |")
    print(f"ratio: {mine / base:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
