"""Per-run time of K runs trained as one stack against one run, in one process.

    python bench/stacked.py [device=cpu] [ks=1,4,16,64] [steps=20] [rounds=3] [threads=0]
                            [overrides=discriminator=cnn]

Each timed step is what the loop does per step: draw each run's batch and noise (from its own
random stream for the stack) and one training step. The single run and each stack are timed in
alternating blocks; prints ms per step, ms per run-step (the stack's over K) and its ratio to
the single run's, the median over rounds. Extra config overrides go in `overrides=` (commas).
"""

import sys
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from timing import ms_per_call, paired_medians

from gan.core.networks import UniformNoise
from gan.core.stacking.step import RunRandom, stack
from gan.run.acceleration import configure_process, resolve_device
from gan.run.build import build_step
from gan.run.config import register_configs
from gan.run.data import DeviceBatcher

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
BATCH, IMAGES = 128, 2048


def single(cfg: object, images: torch.Tensor) -> Callable[[], object]:
    """One run's step as the loop drives it (CUDA-graph replay on a GPU)."""
    step = build_step(cfg, images.device)
    batcher = DeviceBatcher(images, BATCH)
    noise = UniformNoise(BATCH, 100, images.device)
    return lambda: step(batcher.next(), noise.next())


def stacked(cfgs: list, images: torch.Tensor) -> Callable[[], object]:
    """K runs' step as `gan.run.stacked` drives it: each run's draws, then one stacked step."""
    random = RunRandom(len(cfgs), images.device)
    runs, batchers, noises = [], [], []
    for k, cfg in enumerate(cfgs):
        with random.run(k):
            torch.manual_seed(k)
            runs.append(build_step(cfg, images.device, cuda_graph=False))
            batchers.append(DeviceBatcher(images, BATCH))
            noises.append(UniformNoise(BATCH, 100, images.device))
    step = stack(runs, random)

    def call() -> object:
        reals, zs = [], []
        for k in range(len(cfgs)):
            with random.run(k):
                reals.append(batchers[k].next())
                zs.append(noises[k].next())
        return step(torch.stack(reals), torch.stack(zs))
    return call


def main(argv: list[str]) -> None:
    """Time the single run against each stack size; print a Markdown table."""
    options = dict(word.split("=", 1) for word in argv)
    device = resolve_device(options.get("device", "cpu"))
    steps, rounds = int(options.get("steps", 20)), int(options.get("rounds", 3))
    ks = [int(k) for k in options.get("ks", "1,4,16,64").split(",")]
    overrides = [o for o in options.get("overrides", "").split(",") if o]
    register_configs()
    configure_process(int(options.get("threads", 0)))
    images = torch.rand(IMAGES, 1, 28, 28, device=device)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfgs = [compose("config", overrides=[*overrides, f"train.seed={k}"])
                for k in range(max(ks))]
    one = single(cfgs[0], images)
    stacks = {k: stacked(cfgs[:k], images) for k in ks}
    for call in (one, *stacks.values()):
        ms_per_call(call, 3, device)  # warm-up: allocations, lazy initialisation, capture
    print(f"{device.type}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"{' '.join(overrides) or 'the default set-up'}, median of {rounds}")
    print("| K | stack ms/step | ms per run-step | single run ms/step | per run vs single |")
    print("|---|---|---|---|---|")
    for k, call in stacks.items():
        mine, base = paired_medians(call, one, steps, rounds, device)
        print(f"| {k} | {mine:.2f} | {mine / k:.2f} | {base:.2f} | {mine / k / base:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
