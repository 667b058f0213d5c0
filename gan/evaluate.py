"""`python -m gan.evaluate run_dir=DIR [n=10000] [seed=0] [device=auto] [data_root=PATH]`

Scores a run's checkpointed generator with the dataset's evaluator classifier: prints a table
beside the real-data reference and writes DIR/eval.json and DIR/eval_class_histogram.png. The
real test set is read from data_root, else $GAN_DATA_DIR, else the root the run recorded.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import MISSING
from torchvision.utils import save_image

from gan.builder import build_evaluator, build_source, load_run, resolve_device
from gan.cli import parse_args, run_command
from gan.data import DATA_ENV
from gan.errors import UserError
from gan.metrics.chart import histogram_chart
from gan.metrics.evaluator import SCORE_NAMES, evaluation_noise, real_subset

USAGE = ("python -m gan.evaluate run_dir=DIR [n=10000] [seed=0] [device=auto] "
         "[data_root=PATH]")


@dataclass
class EvaluateArgs:
    """The command's arguments."""

    run_dir: str = MISSING
    n: int = 10000  # generated samples, from the fixed evaluation noise of `seed`
    seed: int = 0  # the same default as training's eval.seed, so the numbers match its last eval
    device: str = "auto"
    data_root: str | None = None
    batch_size: int = 500  # images per classifier call


def table(scores: dict[str, Any], real: dict[str, Any]) -> str:
    """The scores beside the reference, one metric per line."""
    lines = [f"{'metric':<18}{'generated':>12}{'real data':>12}"]
    for name in SCORE_NAMES:
        lines.append(f"{name:<18}{_number(scores[name])}{_number(real[name])}")
    return "\n".join(lines)


def _number(value: float) -> str:
    """A count as an integer, a measurement to four decimals, right-aligned in 12."""
    return f"{value:>12d}" if isinstance(value, int) else f"{value:>12.4f}"


def main(argv: list[str]) -> None:
    """Parse, load the run and the evaluator, score, print, write eval.json."""
    args = parse_args(EvaluateArgs, argv, USAGE)
    if args.n < 2 or args.batch_size <= 0:
        raise UserError(f"n must be >= 2 and batch_size positive, got n={args.n}, "
                        f"batch_size={args.batch_size}")
    device = resolve_device(args.device)
    run_dir = Path(args.run_dir)
    run = load_run(run_dir, device)
    dataset = run.cfg.dataset
    dataset.root = args.data_root or os.environ.get(DATA_ENV) or dataset.root
    evaluator = build_evaluator(dataset, device, args.batch_size)
    z = evaluation_noise(args.n, run.generator.noise_dim, args.seed, device)
    scores = evaluator.score_generator(run.generator, z)
    real = evaluator.score(real_subset(build_source(dataset).images(device), args.n, args.seed))
    print(f"{run_dir} after {run.step} steps, {args.n} samples (seed {args.seed}):")
    print(table(scores, real))
    result = scores | {"steps": run.step, "seed": args.seed} | {
        f"real_{name}": real[name] for name in SCORE_NAMES}
    (run_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    title = (f"after {run.step} steps: {scores['modes_covered']} modes, class KL "
             f"{scores['class_kl']:.3f}")
    save_image(histogram_chart(scores["class_histogram"], title),
               run_dir / "eval_class_histogram.png")


if __name__ == "__main__":
    run_command(main, USAGE, __doc__)
