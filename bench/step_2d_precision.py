"""The 2D mixtures' step as shipped (float32, eager) against the same step under bfloat16
autocast (this CPU's AMX tiles multiply bfloat16 about 3x faster than float32) and with its
forward and losses compiled (`torch.compile`, inductor's fused C++ kernels): does either make
the 400,000-step protocol cheaper here?

    python bench/step_2d_precision.py [steps=100] [rounds=3] [threads=1]

All three are experiment=ring8's step as training builds it (`build_step`, in a process set up
by `configure_process`: MLP generator, maxout discriminator, BCE, the shipped Adam, batch 100),
built in this one process from the same weights and timed in alternating blocks against the
shipped step; prints ms/step of each and its ratio to the
shipped, the median over rounds. The compiled step's compile time is printed, not timed.
"""

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from timing import ms_per_call, paired_medians

from gan.run.acceleration import configure_process
from gan.run.build import build_step
from gan.run.config import register_configs

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
BATCH = 100  # the protocol's


def step_of(variant: str) -> Callable[[], object]:
    """One step of experiment=ring8 as `build_step` makes it for training (the shipped
    optimizers included): `shipped`, `bf16` (under CPU autocast) or `compiled` (its forward
    and losses through `torch.compile`)."""
    torch.manual_seed(0)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        step = build_step(compose("config", overrides=["experiment=ring8"]),
                          torch.device("cpu"))
    if variant == "compiled":
        step.both_losses = torch.compile(step.both_losses)  # the networks' forward and losses
    real = torch.randn(BATCH * step.real_batches, 2)  # (B, 2) points
    z = torch.randn(BATCH * step.noise_batches, 2)  # (B, 2), the protocol's normal prior
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
    register_configs()
    configure_process(int(options.get("threads", 1)))  # as a training process starts
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
