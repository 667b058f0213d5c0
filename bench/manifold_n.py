"""How precision and recall move with the number of samples: why they need `manifold.MIN_N`.

    python train.py train.steps=40 eval.every=0 train.threads=1 hydra.run.dir=outputs/c40
    python bench/manifold_n.py run_dir=outputs/c40 [ns=200,1000,2000,5000,10000] [seeds=0,1,2]

For each seed and n: the median 3rd-neighbour radius of n test images' features, and the
precision and recall against them (computed as the evaluator would, whatever n) of the run's
generator on n samples of `eval.seed`-style noise, of n uniform-noise images and of n real
training images. A 40-step generator covers one class: a sound precision would be near 0 at
every n. Needs the real MNIST under $GAN_DATA_DIR. The numbers in `gan/metrics/manifold.py`
came from this, on the FC generator above, seeds 0-5.
"""

import os
import sys
from pathlib import Path

import torch

from gan.core.conditioning import balanced_labels
from gan.core.networks import generate
from gan.metrics.evaluator import Evaluator, evaluation_noise, real_subset
from gan.metrics.manifold import precision_recall
from gan.run.build import build_evaluator, build_source
from gan.run.saved import load_run

CPU = torch.device("cpu")


def arguments(argv: list[str]) -> dict[str, str]:
    """key=value arguments over the defaults."""
    chosen = {"run_dir": "", "ns": "200,1000,2000,5000,10000", "seeds": "0,1,2"}
    chosen |= dict(arg.split("=", 1) for arg in argv)
    if not chosen["run_dir"]:
        sys.exit(f"error: run_dir= is required\n{__doc__}")
    return chosen


def manifold_scores(evaluator: Evaluator, features: torch.Tensor) -> str:
    """`P=... R=...` of features (n, D) against n test images, with no minimum n."""
    real, radii = evaluator.manifold(len(features))
    precision, recall = precision_recall(real, features[:len(real)], real_radii=radii)
    return f"P={precision:.3f} R={recall:.3f}"


def main(argv: list[str]) -> None:
    """Print one line per seed and n."""
    args = arguments(argv)
    run = load_run(Path(args["run_dir"]), CPU)
    run.cfg.dataset.root = os.environ.get("GAN_DATA_DIR") or run.cfg.dataset.root
    source = build_source(run.cfg.dataset)
    train = source.images(CPU)
    for seed in map(int, args["seeds"].split(",")):
        evaluator = build_evaluator(source, CPU, 500, seed)
        for n in map(int, args["ns"].split(",")):
            with torch.no_grad():
                z = evaluation_noise(n, run.generator.noise_dim, seed, CPU, run.generator.prior)
                classes = getattr(run.generator, "classes", 0)  # a conditional run's: in turn
                labels = balanced_labels(n, classes, CPU) if classes else None
                generated = evaluator.outputs(generate(run.generator, z, labels))[1]
            noise = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
            real = real_subset(train, n, seed)
            radius = evaluator.manifold(n)[1].median()
            print(f"seed {seed} n {n:>5}  radius {radius:6.3f}  "
                  f"generator {manifold_scores(evaluator, generated)}  "
                  f"noise {manifold_scores(evaluator, evaluator.outputs(noise)[1])}  "
                  f"real {manifold_scores(evaluator, evaluator.outputs(real)[1])}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
