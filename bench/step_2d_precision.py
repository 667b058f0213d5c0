"""The 2D mixtures' step as shipped (float32, eager) against the same step under bfloat16
autocast (this CPU's AMX tiles multiply bfloat16 about 3x faster than float32) and with its
forward and losses compiled (`torch.compile`, inductor's fused C++ kernels): does either make
the 400,000-step protocol cheaper here?

    python bench/step_2d_precision.py [steps=100] [rounds=3] [threads=1]

All three are experiment=ring8's networks (MLP generator, maxout discriminator), BCE, Adam,
simultaneous updates, batch 100, built in this one process from the same weights and timed in
alternating blocks against the shipped step; prints ms/step of each and its ratio to the
shipped, the median over rounds. The compiled step's compile time is printed, not timed.
"""

import sys
import time
from collections.abc import Callable

import torch
from timing import ms_per_call, paired_medians

from gan.core import mlp
from gan.core.losses import BCELoss
from gan.core.objective import Objective
from gan.core.step import SimultaneousStep

BATCH = 100


def step_of(variant: str) -> Callable[[], object]:
    """One step of the ring8 networks: `shipped`, `bf16` (under CPU autocast) or `compiled`."""
    torch.manual_seed(0)
    generator, discriminator = mlp.MLPGenerator(), mlp.MaxoutDiscriminator()
    step = SimultaneousStep(
        generator, discriminator,
        torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.8, 0.999), fused=True),
        torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=(0.8, 0.999), fused=True),
        Objective(BCELoss()))
    if variant == "compiled":
        step.both_losses = torch.compile(step.both_losses)  # the networks' forward and losses
    real, z = torch.randn(BATCH, 2), torch.randn(BATCH, 2)
    if variant != "bf16":
        return lambda: step(real, z)

    def autocast() -> object:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return step(real, z)
    return autocast


def main(argv: list[str]) -> None:
    """Time each variant against the shipped step in alternating blocks; print a table."""
    options = dict(word.split("=", 1) for word in argv)
    steps, rounds = int(options.get("steps", 100)), int(options.get("rounds", 3))
    torch.set_num_threads(int(options.get("threads", 1)))
    cpu = torch.device("cpu")
    shipped = step_of("shipped")
    ms_per_call(shipped, 20, cpu)  # warm-up
    print(f"cpu, {torch.get_num_threads()} thread(s), batch {BATCH}, median of {rounds}, "
          f"{torch.backends.cpu.get_cpu_capability()}")
    print("| step | ms/step | shipped's ms/step | ratio |\n|---|---|---|---|")
    compile_seconds = 0.0
    for variant in ("bf16", "compiled"):
        call = step_of(variant)
        started = time.perf_counter()
        ms_per_call(call, 20, cpu)  # warm-up (and, compiled, the compile)
        warm = time.perf_counter() - started
        mine, base = paired_medians(call, shipped, steps, rounds, cpu)
        print(f"| {variant} | {mine:.2f} | {base:.2f} | {mine / base:.2f}x |")
        compile_seconds = warm if variant == "compiled" else compile_seconds
    print(f"compiled: {compile_seconds:.0f} s to compile and warm up (less where inductor's "
          "cache holds it)")


if __name__ == "__main__":
    main(sys.argv[1:])
