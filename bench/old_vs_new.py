"""This tree's training step against other trees' (older commits), in one run.

    git worktree add --detach ../old <commit>
    python bench/old_vs_new.py old=../old [NAME=../tree ...] [new=.] [threads=2] [steps=50]
        [rounds=6] [only=discriminator=cnn]   # only: the set-ups whose overrides contain it

Each tree's step runs in its own process, imported from that tree (`PYTHONPATH`) and built and
driven as `bench/speed.py` drives it (device-resident batches, in-place noise, freed memory
kept), all with the same fixed thread count; further `NAME=PATH` options add trees (the new
one before a change, say). The naive loop of `bench/reference.py` runs in a process of its
own. All are timed in blocks, the naive loop first and the trees in an order that rotates
each round, so a machine shared with other work slows them alike. Set-ups: `discriminator=fc`
and `discriminator=cnn` (the default simultaneous step, batch 128; the CNN runs steps/5 per
block), and the FC step on networks too small to compute much (hidden 8, batch 2; steps*10
per block), which leaves the step's overhead: Python, operator dispatch, the autograd engine.

Prints the median ms/step, each tree's speed-up over the naive loop (the ratio
`bench/speed.py` prints) and old / new, by the wall clock and by the CPU time each process
spent, which other processes disturb less (with threads=1 a step's CPU time is its work; the
wall clock also counts the time it waited for a core). CPU only: on CUDA the step is a graph.
"""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
N_IMAGES, BATCH = 60_000, 128
SETUPS = (["discriminator=fc"], ["discriminator=cnn"],
          # The same step on networks too small to compute much: what is left is the step's
          # overhead (Python, operator dispatch, the autograd engine), against no naive loop.
          ["discriminator=fc", "generator.hidden_dim=8", "discriminator.hidden_dim=8",
           "train.batch_size=2"])


def tree_step(overrides: list[str], threads: int) -> Callable[[], object]:
    """The step of the tree on `PYTHONPATH`, as its loop drives it, on random MNIST-shaped
    images; the imports follow that tree's layout (before and after the layering move)."""
    from hydra import compose, initialize_config_dir

    import gan
    configure_process = imported("configure_process", "gan.run.acceleration", "gan.acceleration")
    build_step = imported("build_step", "gan.run.build", "gan.builder")
    register_configs = imported("register_configs", "gan.run.config", "gan.config")
    DeviceBatcher = imported("DeviceBatcher", "gan.run.data", "gan.data")  # noqa: N806
    UniformNoise = imported("UniformNoise", "gan.core.networks", "gan.core.noise",  # noqa: N806
                            "gan.noise")
    register_configs()
    conf = Path(gan.__file__).resolve().parents[1] / "conf"  # the tree's own config targets
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    configure_process(threads=threads)
    pixels = torch.randint(0, 256, (N_IMAGES, 28, 28), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    images = (pixels.unsqueeze(1).float() / 255).contiguous()  # (N, 1, 28, 28)
    torch.manual_seed(0)
    step = build_step(cfg, torch.device("cpu"))
    batch = cfg.train.batch_size  # 128 unless the set-up says
    batcher = DeviceBatcher(images, batch)
    noise = UniformNoise(batch, cfg.generator.noise_dim, torch.device("cpu"))
    return lambda: step(batcher.next(), noise.next())


def imported(name: str, *modules: str) -> object:
    """`name` from the first of `modules` that has it: each tree's own layout (the flat package
    before 9e82bd9, gan.core and gan.run after it, the noise in gan.core.networks since issue
    36)."""
    import importlib

    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"no {name} in {', '.join(modules)}")


def naive_step(overrides: list[str], threads: int) -> Callable[[], object]:
    """The naive loop's step (`bench/reference.py`), built as `bench/speed.py` builds it."""
    sys.path.insert(0, str(BENCH))
    from hydra import compose, initialize_config_dir
    from speed import reference_step

    from gan.run.config import register_configs
    register_configs()
    with initialize_config_dir(config_dir=str(BENCH.parent / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    torch.set_num_threads(threads)
    pixels = torch.randint(0, 256, (N_IMAGES, 28, 28), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    return reference_step(cfg, torch.device("cpu"), pixels)


def serve(kind: str, threads: int, overrides: list[str]) -> None:
    """A worker: build the step, say "ready", then time `n` steps per line read from stdin and
    answer "wall_ms cpu_ms" per step (the process's CPU time: all its threads')."""
    call = (naive_step if kind == "naive" else tree_step)(overrides, threads)
    print("ready", flush=True)
    for line in sys.stdin:
        steps = int(line)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            call()
        print((time.perf_counter() - wall) / steps * 1e3,
              (time.process_time() - cpu) / steps * 1e3, flush=True)


def start(kind: str, tree: Path, threads: int, overrides: list[str]) -> subprocess.Popen:
    """A worker process importing `gan` from `tree`."""
    env = os.environ | {"PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads),
                        "PYTHONWARNINGS": "ignore"}  # an installed Hydra plugin may not import
    worker = subprocess.Popen([sys.executable, __file__, "worker", kind, str(threads),
                               *overrides], env=env, cwd=tree, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if worker.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {kind} worker in {tree} did not start")
    return worker


def timed(worker: subprocess.Popen, steps: int) -> tuple[float, float]:
    """Wall and CPU ms/step of one block of `steps` steps in a worker."""
    worker.stdin.write(f"{steps}\n")
    worker.stdin.flush()
    wall, cpu = worker.stdout.readline().split()
    return float(wall), float(cpu)


def contest(trees: dict[str, Path], overrides: list[str], threads: int, steps: int,
            rounds: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU ms/step of the naive loop and of each tree's step, timed in
    alternating blocks."""
    overhead = any(word.startswith("train.batch_size") for word in overrides)
    workers = {} if overhead else {"naive": start("naive", trees["new"], threads, overrides)}
    workers |= {name: start("tree", tree, threads, overrides) for name, tree in trees.items()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in workers}
    names = list(trees)
    for round_ in range(rounds + 1):  # round 0 warms up
        turn = round_ % len(names)
        for name in [*workers.keys() - trees.keys(), *names[turn:], *names[:turn]]:
            elapsed = timed(workers[name], max(steps // 4, 3) if round_ == 0 else steps)
            if round_:
                times[name].append(elapsed)
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()
    return {name: (statistics.median(wall for wall, _ in values),
                   statistics.median(cpu for _, cpu in values))
            for name, values in times.items()}


def main(argv: list[str]) -> None:
    """Time both trees' steps on each set-up and print one table."""
    if argv[:1] == ["worker"]:
        serve(argv[1], int(argv[2]), argv[3:])
        return
    options = dict(word.split("=", 1) for word in argv)
    settings = {name: options.pop(name) for name in ("threads", "steps", "rounds", "only")
                if name in options}
    options.setdefault("new", str(BENCH.parent))  # every other option names a tree
    trees = {name: Path(path).resolve() for name, path in options.items()}
    threads = int(settings.get("threads", 2))
    steps, rounds = int(settings.get("steps", 50)), int(settings.get("rounds", 6))
    print("; ".join(f"{name} {tree}" for name, tree in trees.items()))
    print(f"CPU, torch {torch.__version__}, {threads} threads, batch {BATCH} where the set-up "
          f"does not say, median of {rounds} rounds")
    print(f"| set-up | clock | naive loop | {' | '.join(trees)} | "
          f"{' | '.join(f'{name} speed-up' for name in trees)} | old / new |")
    print("|---" * (4 + 2 * len(trees)) + "|")
    for overrides in SETUPS:
        if settings.get("only", " ".join(overrides)) not in " ".join(overrides):
            continue
        cnn = "discriminator=cnn" in overrides
        small = any(word.startswith("train.batch_size") for word in overrides)
        calls = steps // 5 if cnn else steps * 10 if small else steps  # blocks of ~0.1-1 s
        ms = contest(trees, overrides, threads, calls, rounds)
        for clock, index in (("wall", 0), ("CPU", 1)):
            naive = ms["naive"][index] if "naive" in ms else float("nan")
            times = " | ".join(f"{ms[name][index]:.3f} ms" for name in trees)
            speed_ups = " | ".join(f"{naive / ms[name][index]:.2f}x" for name in trees)
            ratio = ms["old"][index] / ms["new"][index]
            print(f"| {' '.join(overrides)} | {clock} | {naive:.3f} ms | {times} | {speed_ups} | "
                  f"{ratio:.3f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
