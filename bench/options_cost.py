"""The per-step CPU (or GPU) cost of each loss, regulariser and network against the plain step.

    python bench/options_cost.py [device=cpu] [steps=20] [rounds=3]

Each option's step and the plain step (the default config: FC networks, BCE, batch 128) are
built in this one process and timed in alternating blocks on random images of MNIST's shape;
prints ms/step and the ratio to the plain step, the median over rounds.
"""

import sys
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from timing import ms_per_call, paired_medians

from gan.core.objective import Labels
from gan.run.acceleration import configure_process, resolve_device
from gan.run.build import build_step, conditioning_of
from gan.run.config import register_configs

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
BATCH = 128
OPTIONS = [("loss=hinge",), ("loss=wasserstein",), ("loss=least_squares",),
           ("loss=relativistic",), ("remedy=gradient_penalty",), ("remedy=r1",), ("remedy=r2",),
           ("experiment=r3gan",), ("remedy=spectral_norm",),
           ("remedy=packing",), ("remedy=diff_augment",),
           ("discriminator=cnn",), ("discriminator=cnn", "remedy=gradient_penalty"),
           ("discriminator=dcgan",), ("generator=dcgan", "discriminator=dcgan"),
           ("conditioning=concat",), ("conditioning=acgan",), ("conditioning=projection",)]


def call_of(step: object, device: torch.device) -> Callable[[], object]:
    """One call of the step on fixed random images and noise of MNIST's shape (and, for a
    conditional step, labels of both: the classes in turn)."""
    real = torch.rand(BATCH * step.real_batches, 1, 28, 28, device=device)
    z = torch.rand(BATCH * step.noise_batches, 100, device=device) * 2 - 1
    if conditioning_of(step) is None:
        return lambda: step(real, z)
    labels = Labels(torch.arange(len(real), device=device) % 10,
                    torch.arange(len(z), device=device) % 10)
    return lambda: step(real, z, labels)


def main(argv: list[str]) -> None:
    """Time every option against the plain step; print a Markdown table."""
    options = dict(word.split("=", 1) for word in argv)
    device = resolve_device(options.get("device", "cpu"))
    steps, rounds = int(options.get("steps", 20)), int(options.get("rounds", 3))
    register_configs()
    configure_process(0)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        plain = build_step(compose("config"), device)
        builds = {" ".join(o): build_step(compose("config", overrides=list(o)), device)
                  for o in OPTIONS}
    plain = call_of(plain, device)
    builds = {name: call_of(step, device) for name, step in builds.items()}
    for call in (plain, *builds.values()):
        ms_per_call(call, 3, device)  # warm-up: allocations, lazy initialisation, capture
    print(f"{device.type}, {torch.get_num_threads()} threads, batch {BATCH}, median of {rounds}")
    print("| option | ms/step | plain step | ratio |\n|---|---|---|---|")
    for name, call in builds.items():
        mine, base = paired_medians(call, plain, steps, rounds, device)
        print(f"| `{name}` | {mine:.2f} | {base:.2f} | {mine / base:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
