"""`python -m gan.evaluate run_dir=DIR [checkpoint=last|best] [n=N] [seed=S] [device=auto]
[data_root=PATH]`

Scores a run's checkpointed generator with the dataset's evaluator classifier: prints a table
beside the real-data reference and writes DIR/eval.json and DIR/eval_class_histogram.png
(`checkpoint=best`: the generator where the run scored its best, best.pt, into
DIR/eval_best.json and DIR/eval_best_class_histogram.png). n and
seed default to the run's eval.n and eval.seed (10,000 and 0). The real test set is read from
data_root, else $GAN_DATA_DIR, else the root the run recorded.

A conditional run's generator is asked for every class in turn, and the table adds the
conditional scores its dataset's scorer measures (MNIST's: conditional accuracy, intra-FID, ...;
Stacked MNIST's: the accuracy of its modes) and each class's accuracy and recall (past
SHOWN_CLASSES classes, eval.json alone keeps them), beside real images requested as their own
labels (gan/metrics/conditional.py).
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf
from torchvision.utils import save_image

from gan.cli import parse_args, run_command
from gan.core.conditioning import balanced_labels
from gan.errors import ConfigError, UserError
from gan.metrics.chart import histogram_chart
from gan.metrics.evaluator import evaluation_noise
from gan.metrics.names import CONDITIONAL_SCORES, SCORE_NAMES, SHOWN_CLASSES
from gan.run.acceleration import resolve_device
from gan.run.build import build_evaluator, build_source
from gan.run.config import EvalConfig
from gan.run.data import DATA_ENV
from gan.run.saved import SavedRun, load_run, rebuild

PER_CLASS = ("class_accuracy", "class_fid", "class_precision", "class_recall")  # conditional
USAGE = ("python -m gan.evaluate run_dir=DIR [checkpoint=last|best] [n=N] [seed=S] "
         "[device=auto] [data_root=PATH]")


@dataclass
class EvaluateArgs:
    """The command's arguments."""

    run_dir: str = MISSING
    checkpoint: str = "last"  # the last generator (checkpoint.pt), or the best (best.pt)
    n: int | None = None  # generated samples; default: the run's eval.n (else 10,000)
    seed: int | None = None  # of the evaluation noise; default: the run's eval.seed (else 0)
    device: str = "auto"
    data_root: str | None = None
    batch_size: int | None = None  # images per classifier call; default: the run's


def table(scores: dict[str, Any], real: dict[str, Any]) -> str:
    """The scores beside the reference, one metric per line, and why a score is absent (`—`)."""
    lines = [f"{'metric':<22}{'generated':>12}{'real data':>12}"]
    for name in (*SCORE_NAMES, *CONDITIONAL_SCORES):
        if name in scores:  # what this dataset's scorer measures (and a conditional run's)
            lines.append(f"{name:<22}{_number(scores[name])}{_number(real.get(name))}")
    for name in ("class_accuracy", "class_recall"):  # a conditional run's, class by class
        values = scores.get(name, [])
        if len(values) > SHOWN_CLASSES:  # Stacked MNIST's 1,000 modes: in eval.json only
            lines.append(f"{name}: {len(values)} classes, each in the json file")
            continue
        for k, value in enumerate(values):
            lines.append(f"{f'{name} {k}':<22}{_number(value)}{_number(real[name][k])}")
    if scores["manifold_note"]:
        lines.append(f"—: {scores['manifold_note']}")
    if scores.get("class_manifold_note"):
        lines.append(f"class recall: {scores['class_manifold_note']}")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    """A count as an integer, a measurement to four decimals, `—` for none, right-aligned
    in 12."""
    if value is None:
        return f"{'—':>12}"
    return f"{value:>12d}" if isinstance(value, int) else f"{value:>12.4f}"


def settings(args: EvaluateArgs, run: SavedRun) -> EvalConfig:
    """n, seed and batch size: the arguments, else the run's own eval settings, else defaults."""
    saved = OmegaConf.select(run.cfg, "eval", default=None) or {}
    chosen = {name: getattr(args, name) for name in ("n", "seed", "batch_size")
              if getattr(args, name) is not None}
    try:
        return EvalConfig(**{name: saved[name] for name in ("n", "seed", "batch_size")
                             if name in saved} | chosen)
    except ConfigError as error:
        raise UserError(str(error).replace("eval.", "")) from None


def main(argv: list[str]) -> None:
    """Parse, load the run and the evaluator, score, print, write eval.json."""
    args = parse_args(EvaluateArgs, argv, USAGE)
    device = resolve_device(args.device, "device")
    run_dir = Path(args.run_dir)
    run = load_run(run_dir, device, args.checkpoint)
    chosen = settings(args, run)
    dataset = run.cfg.dataset
    if "root" in dataset:  # a dataset read from disk (the 2D mixtures are drawn)
        dataset.root = args.data_root or os.environ.get(DATA_ENV) or dataset.root
    source = rebuild(run_dir / "config.yaml", lambda: build_source(dataset))
    evaluator = build_evaluator(source, device, chosen.batch_size, chosen.seed)
    z = evaluation_noise(chosen.n, run.generator.noise_dim, chosen.seed, device,
                         run.generator.prior)
    classes = getattr(run.generator, "classes", 0)  # a conditional run's: every class in turn
    if classes:
        images, labels = source.labelled(device)
        scores = evaluator.score_generator(run.generator, z,
                                           balanced_labels(chosen.n, classes, device))
        real = evaluator.score_conditional(*source.real_labelled(images, labels, chosen.n,
                                                                 chosen.seed))
    else:
        scores = evaluator.score_generator(run.generator, z)
        real = evaluator.score(source.real(source.images(device), chosen.n, chosen.seed))
    which = "" if args.checkpoint == "last" else f" ({args.checkpoint}.pt)"
    print(f"{run_dir}{which} after {run.step} steps, {chosen.n} samples (seed {chosen.seed}):")
    print(table(scores, real))
    result = scores | {"steps": run.step, "seed": chosen.seed, "checkpoint": args.checkpoint} | {
        f"real_{name}": real[name] for name in (*SCORE_NAMES, *CONDITIONAL_SCORES, *PER_CLASS)
        if name in real}
    stem = "eval" if args.checkpoint == "last" else f"eval_{args.checkpoint}"
    (run_dir / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    title = (f"after {run.step} steps: {scores['modes_covered']} modes, class KL "
             f"{_number(scores['class_kl']).strip()}")
    save_image(histogram_chart(scores["class_histogram"], title),
               run_dir / f"{stem}_class_histogram.png")


if __name__ == "__main__":
    run_command(main, USAGE, __doc__)
