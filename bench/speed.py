"""The training step's speed against a naive loop, FLOPs and the compute floor.

    python bench/speed.py [device=auto|cpu|cuda] [steps=50] [rounds=5]

For `discriminator=fc` and `discriminator=cnn`, each with the default simultaneous step and
with `step=alternating` (the naive loop's order, so the same work per step), and the default
config otherwise (batch 128, Adam 2e-4), times gan-lab's step as the loop runs it (device-resident
batches, in-place noise, the fast path of `gan.run.build.build_step`) and the naive loop of
`bench/reference.py`, each in its own process (so each has its own process settings: gan-lab
keeps freed memory as `train.py` does, the naive loop runs on the defaults), in alternating
blocks, on random images of MNIST's shape (speed does not depend on pixel values). Prints
ms/step, the ratio, the FLOPs of one step, the measured fp32 matmul rate, the step's floor at
that rate, and gan-lab's peak memory. (The CNN runs steps/5 per block on a CPU.)
"""

import multiprocessing
import resource
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/reference.py
from reference import NaiveLoop  # noqa: E402

from gan.core.networks import UniformNoise  # noqa: E402
from gan.run.acceleration import (
    configure_process,  # noqa: E402
    resolve_device,  # noqa: E402
)
from gan.run.build import build_step  # noqa: E402
from gan.run.config import register_configs  # noqa: E402
from gan.run.data import DeviceBatcher  # noqa: E402

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
N_IMAGES, BATCH = 60_000, 128


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer reads finished steps."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ms_per_call(call: Callable[[], object], steps: int, device: torch.device) -> float:
    """Mean milliseconds of `call()` over `steps` calls (the device drained before and after)."""
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        call()
    sync(device)
    return (time.perf_counter() - started) / steps * 1e3


def matmul_gflops(device: torch.device) -> float:
    """The fp32 matrix-product rate this device sustains (GFLOP/s)."""
    size = 4096 if device.type == "cuda" else 1024
    a, b = (torch.randn(size, size, device=device) for _ in range(2))
    ms_per_call(lambda: a @ b, 3, device)
    seconds = ms_per_call(lambda: a @ b, 20, device) / 1e3
    return 2 * size ** 3 / seconds / 1e9


def project_step(cfg: DictConfig, device: torch.device,
                 images: torch.Tensor) -> tuple[Callable[[], object], float]:
    """gan-lab's step as the loop drives it, and its MFLOP (counted on one eager CPU step)."""
    torch.manual_seed(0)
    # First after seeding: the same weights as the naive loop's.
    adversarial = build_step(cfg, device)
    batcher, noise = DeviceBatcher(images, BATCH), UniformNoise(BATCH, 100, device)
    cpu = torch.device("cpu")
    with FlopCounterMode(display=False) as counter:  # on the CPU: no GPU memory for it
        build_step(cfg, cpu)(torch.rand(BATCH, 1, 28, 28), torch.rand(BATCH, 100))
    return lambda: adversarial(batcher.next(), noise.next()), counter.get_total_flops() / 1e6


def reference_step(cfg: DictConfig, device: torch.device,
                   pixels: torch.Tensor) -> Callable[[], object]:
    """The naive loop's step, on networks initialised as the project's."""
    torch.manual_seed(0)
    plain = build_step(cfg, torch.device("cpu"), cuda_graph=False)
    return NaiveLoop(plain.generator, plain.discriminator, pixels, BATCH, lr=2e-4,
                     device=device).step


def worker(kind: str, overrides: list[str], device_name: str, connection: Connection) -> None:
    """One contender in its own process, with its own process settings: `ours` keeps freed
    memory as `train.py` does, the naive loop runs on the defaults. Times `n` steps on request."""
    device = torch.device(device_name)
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    pixels = torch.randint(0, 256, (N_IMAGES, 28, 28), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))  # MNIST's shape
    if kind == "ours":
        configure_process(threads=0)  # as train.py's run does
        images = (pixels.to(device).unsqueeze(1).float() / 255).contiguous()  # (N, 1, 28, 28)
        call, mflop = project_step(cfg, device, images)
    else:
        call, mflop = reference_step(cfg, device, pixels), 0.0
    connection.send(mflop)
    while (steps := connection.recv()) is not None:
        connection.send(ms_per_call(call, steps, device))
    connection.send(peak_memory(device))


def contest(overrides: list[str], device: torch.device, steps: int,
            rounds: int) -> tuple[float, float, float, str]:
    """Median ms/step of the naive loop and of gan-lab, each in its own process, timed in
    alternating blocks so that a noisy machine slows both alike; gan-lab's MFLOP and memory."""
    context = multiprocessing.get_context("spawn")
    pipes, processes = {}, []
    for kind in ("naive", "ours"):
        parent, child = context.Pipe()
        process = context.Process(target=worker, args=(kind, overrides, str(device), child))
        process.start()
        pipes[kind], processes = parent, [*processes, process]
    mflop = max(pipe.recv() for pipe in pipes.values())
    times: dict[str, list[float]] = {kind: [] for kind in pipes}
    for round_ in range(rounds + 1):  # round 0 warms up (and captures the CUDA graph)
        for kind, pipe in pipes.items():
            pipe.send(max(steps // 4, 3) if round_ == 0 else steps)
            elapsed = pipe.recv()
            if round_:
                times[kind].append(elapsed)
    memory = ""
    for kind, pipe in pipes.items():
        pipe.send(None)
        memory = pipe.recv() if kind == "ours" else memory
    for process in processes:
        process.join()
    naive, ours = (statistics.median(times[kind]) for kind in ("naive", "ours"))
    return naive, ours, mflop, memory


def peak_memory(device: torch.device) -> str:
    """Peak GPU memory allocated, or the process's peak resident size on the CPU."""
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB RSS"


def main(argv: list[str]) -> None:
    """Measure each set-up against the naive loop and print one table."""
    options = dict(word.split("=", 1) for word in argv)
    device = resolve_device(options.get("device", "auto"))
    steps = int(options.get("steps", 50 if device.type == "cpu" else 500))
    rounds = int(options.get("rounds", 5))
    rate = matmul_gflops(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{name}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"fp32 matmul {rate:,.0f} GFLOP/s, batch {BATCH}, median of {rounds} rounds")
    print("| set-up | naive loop | gan-lab | speed-up | MFLOP/step | floor at that rate | "
          "gan-lab / floor | gan-lab's peak memory |")
    print("|---|---|---|---|---|---|---|---|")
    for overrides in (["discriminator=fc"], ["discriminator=cnn"],
                      ["discriminator=fc", "step=alternating"],
                      ["discriminator=cnn", "step=alternating"]):
        cnn_on_cpu = "discriminator=cnn" in overrides and device.type == "cpu"
        naive, ours, mflop, memory = contest(overrides, device,
                                             steps // 5 if cnn_on_cpu else steps, rounds)
        floor = mflop / rate  # ms: MFLOP / (GFLOP/s)
        print(f"| {' '.join(overrides)} | {naive:.3f} ms | {ours:.3f} ms | {naive / ours:.2f}x | "
              f"{mflop:.0f} | {floor:.3f} ms | {ours / floor:.1f}x | {memory} |")


if __name__ == "__main__":
    main(sys.argv[1:])
