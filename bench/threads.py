"""The CPU step's speed by thread policy, on an idle machine and beside one busy process.

    python bench/threads.py [seconds=6] [rounds=3] [discriminator=fc]

OpenMP's worker threads spin while they wait for work (OMP_WAIT_POLICY=active, GNU OpenMP's
default for a while after each parallel region). On an idle machine that saves a wake-up per
operator; where another process wants a core, a spinning thread takes its time slices and the
threads of one step wait for each other: the step collapses. This times the FC step (as
`bench/speed.py` builds it: the loop's fast path, batch 128, random images of MNIST's shape) in
a fresh process per policy, so each sets its OpenMP environment before torch starts:

- `threads=1`: one thread, nothing to wait for;
- `threads=N, active`: PyTorch's default count (one per physical core), OpenMP's default wait;
- `threads=N, passive`: the same count, waiting threads sleep (OMP_WAIT_POLICY=passive);
- `threads=N, default` and `spin K`: OpenMP's own policy, and GNU OpenMP's spin count K;
- `train.py's choice`: what a run takes where `train.threads=0`, the cores that other work
  leaves free as it starts (`gan.run.acceleration.threads_for_now`), with OpenMP's defaults.

each idle and beside one busy process (a pure-Python spin, one core's worth of other work), in
alternating order over `rounds`, and prints the median steps/s of each, and each policy's ratio
to the best idle speed and to `threads=1` in the same condition.
"""

import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
N_IMAGES, BATCH = 60_000, 128
CHOSEN = -1  # the count train.py's run chooses as it starts (gan.run.acceleration)
POLICIES = {"train.py's choice": (CHOSEN, {}),
            "threads=1": (1, {}), "threads=N, active": (0, {"OMP_WAIT_POLICY": "active"}),
            "threads=N, passive": (0, {"OMP_WAIT_POLICY": "passive"}),
            "threads=N, default": (0, {}),
            **{f"threads=N, spin {count}": (0, {"GOMP_SPINCOUNT": str(count)})
               for count in (1000, 10000, 100000)}}


def worker(threads: int, environment: dict[str, str], overrides: list[str], seconds: float,
           connection: Connection) -> None:
    """Steps/s of the step for `seconds`, after a warm-up, under one thread policy (its OpenMP
    environment set before torch is imported: OpenMP reads it once)."""
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):  # only what the policy sets
        os.environ.pop(name, None)
    os.environ.update(environment)
    import torch
    from hydra import compose, initialize_config_dir

    from gan.core.networks import UniformNoise
    from gan.run.acceleration import configure_process, threads_for_now
    from gan.run.build import build_step
    from gan.run.config import register_configs
    from gan.run.data import DeviceBatcher

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    configure_process(threads_for_now() if threads == CHOSEN else threads)  # as train.py's
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    step = build_step(cfg, cpu)
    images = torch.rand(N_IMAGES, 1, 28, 28)
    batcher, noise = DeviceBatcher(images, BATCH), UniformNoise(BATCH, 100, cpu)
    for _ in range(20):  # warm-up: lazy set-up, optimizer state, allocator
        step(batcher.next(), noise.next())
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step(batcher.next(), noise.next())
        steps += 1
    connection.send((steps / (time.perf_counter() - started), torch.get_num_threads()))


def measure(policy: str, overrides: list[str], seconds: float, busy: bool) -> tuple[float, int]:
    """Steps/s and thread count of one policy, idle or beside one spinning process."""
    threads, environment = POLICIES[policy]
    spinner = (subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None)
    try:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=worker,
                                  args=(threads, environment, overrides, seconds, child))
        process.start()
        result = parent.recv()
        process.join()
        return result
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def main(argv: list[str]) -> None:
    """Measure every policy in both conditions, alternating, and print one table."""
    options = dict(word.split("=", 1) for word in argv)
    seconds, rounds = float(options.pop("seconds", 6)), int(options.pop("rounds", 3))
    overrides = [f"{key}={value}" for key, value in options.items()] or ["discriminator=fc"]
    rates: dict[tuple[str, bool], list[float]] = {}
    counts: dict[tuple[str, bool], int] = {}
    for round_ in range(rounds):
        order = list(POLICIES) if round_ % 2 == 0 else list(reversed(POLICIES))
        for busy in (False, True):
            for policy in order:
                rate, counts[(policy, busy)] = measure(policy, overrides, seconds, busy)
                rates.setdefault((policy, busy), []).append(rate)
    median = {key: statistics.median(values) for key, values in rates.items()}
    best_idle = max(median[(policy, False)] for policy in POLICIES)
    print(f"{' '.join(overrides)}, {os.cpu_count()} CPUs, median of {rounds} rounds of "
          f"{seconds:g} s")
    print("| policy | threads idle / busy | idle steps/s | / best idle | beside 1 busy process | "
          "/ threads=1 there |")
    print("|---|---|---|---|---|---|")
    for policy in POLICIES:
        idle, busy = median[(policy, False)], median[(policy, True)]
        print(f"| {policy} | {counts[(policy, False)]} / {counts[(policy, True)]} | {idle:.0f} | "
              f"{idle / best_idle:.2f} | "
              f"{busy:.0f} | {busy / median[('threads=1', True)]:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
